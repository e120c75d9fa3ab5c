"""The activations added for torch.nn coverage (CELU, GLU, shrinks, hard sigmoid/swish, Threshold, RReLU,
Softmax2d, the in-place F.*_ functions) against torch: outputs and gradients, float64 and float32."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional

MODULES = [
    ("celu", lambda m: m.CELU()), ("celu_0.5", lambda m: m.CELU(alpha=0.5)), ("glu", lambda m: m.GLU()),
    ("glu_dim1", lambda m: m.GLU(dim=0)), ("hardshrink", lambda m: m.Hardshrink()),
    ("hardshrink_1", lambda m: m.Hardshrink(1.0)), ("softshrink", lambda m: m.Softshrink()),
    ("softshrink_1", lambda m: m.Softshrink(lambd=1.5)), ("tanhshrink", lambda m: m.Tanhshrink()),
    ("hardsigmoid", lambda m: m.Hardsigmoid()), ("hardswish", lambda m: m.Hardswish()),
    ("threshold", lambda m: m.Threshold(0.3, -2.0)), ("rrelu_eval", lambda m: m.RReLU(0.1, 0.3)),
    ("softmax2d", lambda m: m.Softmax2d()),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("make", [c[1] for c in MODULES], ids=[c[0] for c in MODULES])
def test_module_vs_torch(make, dtype):
    rd_mod, t_mod = make(rd.nn), make(torch.nn)
    assert repr(rd_mod) == repr(t_mod)
    compare_with_torch(rd_mod, t_mod, (4, 6, 3, 4), dtype, train=False, low=-4, high=4)


FUNCTIONS = [
    ("celu", F.celu, TF.celu, {"alpha": 2.0}), ("glu", F.glu, TF.glu, {"dim": 1}),
    ("hardshrink", F.hardshrink, TF.hardshrink, {"lambd": 0.7}), ("softshrink", F.softshrink, TF.softshrink, {}),
    ("tanhshrink", F.tanhshrink, TF.tanhshrink, {}), ("hardsigmoid", F.hardsigmoid, TF.hardsigmoid, {}),
    ("hardswish", F.hardswish, TF.hardswish, {}),
    ("threshold", F.threshold, TF.threshold, {"threshold": 1.0, "value": 5.0}),
    ("rrelu", F.rrelu, TF.rrelu, {"lower": 0.2, "upper": 0.4}),
]


@pytest.mark.parametrize("name, ours, ref, kw", FUNCTIONS, ids=[c[0] for c in FUNCTIONS])
def test_functional_vs_torch(name, ours, ref, kw):
    x = np.random.default_rng(0).uniform(-6, 6, (3, 4, 2))
    compare_functional_with_torch(lambda a: ours(a, **kw), lambda a: ref(a, **kw), [x])


def test_rrelu_training_draws_slopes_in_range():
    rd.manual_seed(0)
    x = rd.tensor(-np.linspace(0.5, 2.0, 1000), requires_grad=True)
    y = F.rrelu(x, 0.1, 0.3, training=True)
    slope = (y / x).detach().numpy()
    assert slope.min() >= 0.1 and slope.max() <= 0.3 and slope.std() > 0.03   # random, inside [lower, upper]
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slope)                      # dy/dx is the drawn slope
    pos = rd.tensor([1.0, 2.0])
    np.testing.assert_array_equal(F.rrelu(pos, training=True).numpy(), [1.0, 2.0])


@pytest.mark.parametrize("name, kw", [("relu_", {}), ("elu_", {"alpha": 0.5}), ("leaky_relu_", {"negative_slope": 0.2}),
                                      ("hardtanh_", {"min_val": -0.5, "max_val": 0.5}), ("selu_", {}),
                                      ("celu_", {"alpha": 1.5}), ("threshold_", {"threshold": 0.1, "value": 9.0}),
                                      ("rrelu_", {})])
def test_inplace_functions_write_into_input(name, kw):
    x = np.random.default_rng(1).uniform(-2, 2, (5, 3))
    ours, ref = rd.tensor(x), torch.tensor(x)
    out = getattr(F, name)(ours, **kw)
    getattr(TF, name)(ref, **kw)
    assert out is ours
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-12)
    with pytest.raises(RuntimeError, match=f"{name}: the input requires grad"):
        getattr(F, name)(rd.tensor(x, requires_grad=True), **kw)


def test_bad_arguments():
    with pytest.raises(RuntimeError, match="glu: halving dimension must be even"):
        F.glu(rd.ones(3, 5))
    with pytest.raises(RuntimeError, match="softshrink: lambda must be greater or equal to 0, but found to be -1"):
        F.softshrink(rd.ones(2), -1)
    with pytest.raises(ValueError, match="Softshrink: lambd must be >= 0, got -0.5"):
        rd.nn.Softshrink(-0.5)
    with pytest.raises(ValueError, match=r"RReLU: lower \(0.5\) must be <= upper \(0.1\)"):
        rd.nn.RReLU(0.5, 0.1)
    with pytest.raises(ValueError, match="Softmax2d: expected a 3-D"):
        rd.nn.Softmax2d()(rd.ones(2, 3))
    with pytest.raises(ValueError, match="CELU: alpha must be non-zero"):
        rd.nn.CELU(0)
