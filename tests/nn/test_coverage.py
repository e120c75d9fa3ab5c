"""torch.nn coverage: every torch.nn Module class and every torch.nn.functional function has a redes twin of
the same name, except the exclusions below (each with its reason). Guards against regressions."""
import redes.nn as rnn
import redes.nn.functional as rF
from tests.nn.helpers import torch

# names in torch.nn.functional that are not functions of tensors, or need hardware redes does not target
EXCLUDED_F = {
    "Callable": "typing re-export", "Optional": "typing re-export", "Tensor": "the Tensor class re-exported",
    "DType": "typing alias", "ScalingType": "enum for scaled_mm", "SwizzleType": "enum for scaled_mm",
    "assert_int_or_pair": "torch-internal argument helper", "boolean_dispatch": "torch-internal TorchScript helper",
    "handle_torch_function": "__torch_function__ override machinery",
    "has_torch_function": "__torch_function__ override machinery",
    "has_torch_function_unary": "__torch_function__ override machinery",
    "has_torch_function_variadic": "__torch_function__ override machinery",
    "scaled_mm": "low-precision (FP8/MX) GEMM for CUDA tensor cores",
    "scaled_grouped_mm": "low-precision grouped GEMM for CUDA tensor cores",
    "grouped_mm": "grouped GEMM kernel for CUDA (MoE)",
}
# torch.nn classes provided by another part of issue 13 (nn/module.py, nn.parallel); absent until merged
ELSEWHERE = {"DataParallel", "ParameterList", "ParameterDict"}


def _torch_modules():
    return sorted(n for n in dir(torch.nn) if isinstance(getattr(torch.nn, n), type)
                  and issubclass(getattr(torch.nn, n), torch.nn.Module))


def _torch_functions():
    F = torch.nn.functional
    return sorted(n for n in dir(F) if not n.startswith("_") and callable(getattr(F, n)))


def test_every_torch_nn_module_has_a_twin():
    missing = [n for n in _torch_modules() if not hasattr(rnn, n)]
    assert set(missing) <= ELSEWHERE, f"torch.nn modules missing in redes.nn: {sorted(set(missing) - ELSEWHERE)}"
    provided = len(_torch_modules()) - len(missing)
    assert provided / len(_torch_modules()) >= 0.95


def test_every_torch_functional_has_a_twin():
    names = _torch_functions()
    missing = [n for n in names if not hasattr(rF, n) and n not in EXCLUDED_F]
    assert not missing, f"torch.nn.functional names missing in redes.nn.functional: {missing}"
    stale = [n for n in EXCLUDED_F if n not in names]
    assert not stale, f"exclusions torch no longer has: {stale}"

