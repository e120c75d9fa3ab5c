"""torch's module layout and device answers on redes (CPU only): rd.device, Tensor.device/is_cuda/to/cpu,
Module.to(device), rd.cuda, rd.backends, rd.accelerator, rd.inference_mode, rd.Generator, nn.DataParallel,
and `redes port` (the import rule)."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import redes as rd
from redes.port import port_source

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def test_device_objects_like_torch():
    for spec in ["cpu", "cuda", "cuda:1", "mps"]:
        ours, ref = rd.device(spec), torch.device(spec)
        assert (ours.type, ours.index, str(ours), repr(ours)) == (ref.type, ref.index, str(ref), repr(ref))
    assert rd.device("cuda", 2) == rd.device("cuda:2") and rd.device(rd.device("cpu")) == rd.device("cpu")
    assert rd.device("cpu") != rd.device("cuda") and hash(rd.device("cpu")) == hash(rd.device("cpu"))
    assert rd.device("cpu") == "cpu"                                 # redes only: torch says False here
    assert rd.device(0) == rd.device("cuda:0")
    with rd.device("cpu"):
        assert rd.zeros(2).device == "cpu"
    with pytest.raises(RuntimeError, match="device: no CUDA here"):
        with rd.device("cuda"):
            pass
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda.* device type at start of device string: foo"):
        rd.device("foo")
    with pytest.raises(RuntimeError, match="Invalid device string: 'cuda:x'"):
        rd.device("cuda:x")


def test_tensor_device_and_moves():
    x = rd.tensor([1.0, 2.0])
    t = torch.tensor([1.0, 2.0])
    assert x.device == rd.device("cpu") and str(x.device) == str(t.device) and x.is_cuda is t.is_cuda is False
    assert x.to("cpu") is x and x.cpu() is x and x.to(rd.device("cpu")) is x and x.to(x.device) is x
    assert x.to("cpu", rd.float64).dtype == rd.float64 and x.to(device="cpu", dtype=rd.float64).dtype == rd.float64
    assert x.to(rd.zeros(1, dtype=rd.float64)).dtype == rd.float64 and x.to("float64").dtype == rd.float64
    for move in (lambda: x.to("cuda"), lambda: x.cuda(), lambda: x.to(rd.device("cuda", 0)), lambda: x.cuda(0)):
        with pytest.raises(RuntimeError, match="to: no CUDA here"):
            move()
    m = rd.nn.Linear(2, 3)
    assert m.to("cpu") is m and m.to(rd.device("cpu")) is m and m.cpu() is m
    m.to(rd.device("cpu"), rd.float64)
    assert m.weight.dtype == rd.float64 and m.to(rd.zeros(1, dtype=rd.float32)).weight.dtype == rd.float32
    with pytest.raises(RuntimeError, match="Module.to: no CUDA here"):
        m.cuda()


def test_cuda_backends_accelerator_answer_like_torch_without_cuda():
    assert rd.cuda.is_available() is torch.cuda.is_available() is False
    assert rd.cuda.device_count() == torch.cuda.device_count() == 0
    assert rd.backends.mps.is_available() is torch.backends.mps.is_available() is False
    assert rd.accelerator.is_available() is torch.accelerator.is_available() is False
    assert rd.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    device = rd.device("cuda" if rd.cuda.is_available() else "cpu")
    assert device.type == "cpu"
    rd.backends.cudnn.deterministic = True                  # settable and read back, as torch's flags
    rd.backends.cudnn.benchmark = False
    assert rd.backends.cudnn.deterministic is True and rd.backends.cudnn.benchmark is False
    assert rd.backends.cudnn.enabled is True and rd.backends.cudnn.is_available() is False
    rd.backends.cudnn.deterministic = False
    rd.backends.cuda.matmul.allow_tf32 = True                # nanoGPT's train.py sets these
    rd.backends.cudnn.allow_tf32 = True
    assert rd.backends.cuda.matmul.allow_tf32 is True and rd.backends.cuda.is_built() is torch.backends.cuda.is_built()
    rd.backends.cuda.matmul.allow_tf32 = False
    # as torch: seeding CUDA does not touch the CPU generator
    rd.manual_seed(0)
    a = rd.rand(3).tolist()
    rd.manual_seed(0)
    rd.cuda.manual_seed_all(123)
    rd.cuda.manual_seed(7)
    assert rd.rand(3).tolist() == a


def test_inference_mode_as_context_and_decorator():
    w = rd.ones(2, requires_grad=True)
    with rd.inference_mode():
        assert not (w * 2).requires_grad and not rd.is_grad_enabled()
    assert rd.is_grad_enabled()
    with rd.inference_mode(False):
        assert (w * 2).requires_grad

    @rd.inference_mode()
    def f(x):
        return w * x

    @rd.inference_mode
    def g(x):
        return w * x
    assert not f(rd.ones(2)).requires_grad and not g(rd.ones(2)).requires_grad and rd.is_grad_enabled()
    assert f.__name__ == "f"


def test_generator_like_torch_generator():
    g = rd.Generator().manual_seed(42)
    assert isinstance(g, np.random.Generator) and g.initial_seed() == 42
    first = rd.randn(4, generator=g).tolist()
    state = g.get_state()
    second = rd.randn(4, generator=g).tolist()
    g.set_state(state)
    assert rd.randn(4, generator=g).tolist() == second != first
    assert rd.randn(4, generator=rd.Generator().manual_seed(42)).tolist() == first
    a, b = rd.utils.data.random_split(range(10), [0.7, 0.3], generator=rd.Generator().manual_seed(1))
    c, d = rd.utils.data.random_split(range(10), [0.7, 0.3], generator=rd.Generator().manual_seed(1))
    assert (len(a), len(b)) == (7, 3) and list(a.indices) == list(c.indices)
    with pytest.raises(ValueError, match="manual_seed: expected a non-negative integer, got -1"):
        g.manual_seed(-1)


def test_data_parallel_is_a_pass_through_with_torchs_keys():
    torch.manual_seed(0)
    ref = torch.nn.DataParallel(torch.nn.Linear(3, 2).double())
    ours = rd.nn.DataParallel(rd.nn.Linear(3, 2))
    assert list(ours.state_dict()) == list(ref.state_dict()) == ["module.weight", "module.bias"]
    ours.load_state_dict(ref.state_dict())
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(ours.to(rd.float64)(rd.tensor(x)).detach().numpy(),
                               ref(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert isinstance(ours.module, rd.nn.Linear) and rd.nn.parallel.DataParallel is rd.nn.DataParallel


def test_torch_module_layout_imports():
    import redes.backends.cudnn  # noqa: F401
    import redes.nn.functional as F
    import redes.nn.init as init
    import redes.optim.lr_scheduler as sched
    import redes.utils.data as data
    from redes.nn.utils import clip_grad_norm_
    assert F.relu and init.kaiming_uniform_ and sched.StepLR and data.DataLoader and clip_grad_norm_


# --------------------------------------------------------------------------- the import rule
SOURCE = '''import os, torch  # uses torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import (DataLoader,
                              TensorDataset)
from torch import optim
import torch.optim
import torchvision
from . import torch_helpers
s = "import torch"


def f():
    from torch.nn import init
    return "é"
'''

PORTED = '''import os; import redes as torch  # uses torch
import redes.nn as nn
import redes.nn.functional as F
from redes.utils.data import (DataLoader,
                              TensorDataset)
from redes import optim
import redes.optim; import redes as torch
import torchvision
from . import torch_helpers
s = "import torch"


def f():
    from redes.nn import init
    return "é"
'''


def test_port_applies_the_rule_to_imports_only():
    assert port_source(SOURCE) == PORTED
    assert port_source(PORTED) == PORTED                       # idempotent
    with pytest.raises(SyntaxError):
        port_source("import torch\nif:\n")


def test_port_command_line(tmp_path):
    src = tmp_path / "prog.py"
    src.write_text("import torch\nimport torch.nn as nn\nprint(type(nn.Linear(2, 3)).__module__)\n")
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "redes", "port", str(src)], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.startswith("import redes as torch\nimport redes.nn as nn\n")
    dest = tmp_path / "prog_redes.py"
    out = subprocess.run([sys.executable, "-m", "redes.port", str(src), "-o", str(dest)], capture_output=True,
                         text=True, env=env)
    assert out.returncode == 0 and dest.read_text() == port_source(src.read_text())
    run = subprocess.run([sys.executable, str(dest)], capture_output=True, text=True, env=env)
    assert run.stdout.strip() == "redes.nn.linear"
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nif:\n")
    out = subprocess.run([sys.executable, "-m", "redes", "port", str(bad)], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "is not valid Python (line 2" in out.stderr


@pytest.mark.parametrize("name", ["redes.devices", "redes.generator", "redes.inference", "redes.port", "redes.amp",
                                  "redes.nn.parallel", "redes.data.samplers", "redes.data.loader",
                                  "redes.optim.adadelta", "redes.optim.adamax", "redes.optim.nadam",
                                  "redes.optim.radam", "redes.optim.asgd", "redes.optim.rprop", "redes.optim.lbfgs",
                                  "redes.optim.adafactor", "redes.optim.lr_scheduler", "redes.nn.module",
                                  "redes.nn.utils.rnn"])
def test_docstring_examples_run(name):
    """The Examples in the docstrings of the modules issue 13 added or changed run as shown."""
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(name), extraglobs={"rd": rd, "np": np})
    assert result.attempted > 0 and result.failed == 0, f"{name}: {result}"


def test_grad_scaler_matches_torch_on_cpu():
    """Loss scaling, unscale_ before clipping, a skipped step on inf, backoff and growth: as torch.amp.GradScaler."""
    results = []
    for lib in (rd, torch):
        w = lib.nn.Parameter(lib.tensor([1.0, 2.0]))
        opt = lib.optim.SGD([w], lr=0.1, momentum=0.5)
        scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=2)
        trace = []
        for g in [1.0, float("inf"), 2.0, 3.0, 4.0, 0.5]:
            opt.zero_grad()
            scaler.scale((w * g).sum()).backward()
            scaler.unscale_(opt)
            lib.nn.utils.clip_grad_norm_([w], 5.0)
            scaler.step(opt)
            scaler.update()
            trace.append([scaler.get_scale(), *w.tolist()])
        results.append((np.array(trace), scaler.state_dict()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    assert results[0][1] == results[1][1]


def test_grad_scaler_without_cuda_and_autocast():
    with pytest.warns(UserWarning, match="CUDA is not available.  Disabling"):
        scaler = rd.cuda.amp.GradScaler(enabled=True)
    w = rd.nn.Parameter(rd.tensor([1.0]))
    opt = rd.optim.SGD([w], lr=0.5)
    loss = (w * 2).sum()
    assert scaler.scale(loss) is loss and not scaler.is_enabled() and scaler.get_scale() == 1.0
    loss.backward()
    scaler.step(opt)
    scaler.update()
    assert w.tolist() == [0.0]
    with rd.autocast("cpu", enabled=False), rd.amp.autocast("cuda", enabled=False):
        assert (w * 2).requires_grad
    with pytest.raises(NotImplementedError, match="redes has no automatic mixed precision"):
        rd.autocast("cpu", dtype=rd.float16)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        s = rd.amp.GradScaler("cpu")
        s.unscale_(opt)
        s.unscale_(opt)


@pytest.mark.parametrize("kw", [dict(), dict(batch_first=True, padding_value=-1.0), dict(padding_side="left")])
def test_pad_sequence_matches_torch(kw):
    from redes.nn.utils.rnn import pad_sequence, unpad_sequence
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(n, 3)) for n in (4, 1, 3)]
    ours = [rd.tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, y_ref = pad_sequence(ours, **kw), torch.nn.utils.rnn.pad_sequence(ref, **kw)
    np.testing.assert_array_equal(y.detach().numpy(), y_ref.detach().numpy())
    weight = rng.normal(size=tuple(y_ref.shape))
    (y * rd.tensor(weight)).sum().backward()
    (y_ref * torch.tensor(weight)).sum().backward()
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())
    if kw.get("padding_side", "right") == "right":
        back = unpad_sequence(y, [4, 1, 3], batch_first=kw.get("batch_first", False))
        assert [tuple(t.shape) for t in back] == [(4, 3), (1, 3), (3, 3)]
    with pytest.raises(ValueError, match="same trailing dims"):
        pad_sequence([rd.ones(2, 3), rd.ones(2, 4)])
