"""Activation modules and F functions against torch (outputs and gradients), kinks, reprs, gradcheck."""
import warnings

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
DTYPES = [np.float64, np.float32]

# (id, redes module, torch module): built fresh per test
MODULES = [
    ("relu", lambda m: m.ReLU()), ("relu_inplace", lambda m: m.ReLU(inplace=True)), ("relu6", lambda m: m.ReLU6()),
    ("leaky_relu", lambda m: m.LeakyReLU()), ("leaky_relu_0.2", lambda m: m.LeakyReLU(0.2, inplace=True)),
    ("elu", lambda m: m.ELU()), ("elu_0.5", lambda m: m.ELU(alpha=0.5)), ("selu", lambda m: m.SELU()),
    ("gelu", lambda m: m.GELU()), ("gelu_tanh", lambda m: m.GELU(approximate="tanh")), ("silu", lambda m: m.SiLU()),
    ("mish", lambda m: m.Mish()), ("sigmoid", lambda m: m.Sigmoid()), ("logsigmoid", lambda m: m.LogSigmoid()),
    ("tanh", lambda m: m.Tanh()), ("softplus", lambda m: m.Softplus()),
    ("softplus_beta", lambda m: m.Softplus(beta=2.0, threshold=3.0)), ("softsign", lambda m: m.Softsign()),
    ("hardtanh", lambda m: m.Hardtanh()), ("hardtanh_0_2", lambda m: m.Hardtanh(min_val=0.0, max_val=2.0)),
    ("prelu", lambda m: m.PReLU()), ("prelu_channels", lambda m: m.PReLU(num_parameters=3, init=0.1)),
    ("softmax", lambda m: m.Softmax(dim=1)), ("softmax_last", lambda m: m.Softmax(dim=-1)),
    ("softmin", lambda m: m.Softmin(dim=0)), ("log_softmax", lambda m: m.LogSoftmax(dim=1)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make", [c[1] for c in MODULES], ids=[c[0] for c in MODULES])
def test_module_vs_torch(make, dtype):
    rd_mod, t_mod = make(rd.nn), make(torch.nn)
    assert repr(rd_mod) == repr(t_mod)
    if getattr(t_mod, "inplace", False):
        t_mod.inplace = False           # torch cannot run in place on a leaf input; redes ignores inplace anyway
    compare_with_torch(rd_mod, t_mod, (4, 3, 5), dtype, low=-4, high=4)


FUNCTIONS = [
    ("relu", F.relu, TF.relu, {}), ("leaky_relu", F.leaky_relu, TF.leaky_relu, {"negative_slope": 0.3}),
    ("elu", F.elu, TF.elu, {"alpha": 2.0}), ("selu", F.selu, TF.selu, {}), ("silu", F.silu, TF.silu, {}),
    ("gelu", F.gelu, TF.gelu, {}), ("gelu_tanh", F.gelu, TF.gelu, {"approximate": "tanh"}),
    ("sigmoid", F.sigmoid, TF.sigmoid, {}), ("tanh", F.tanh, TF.tanh, {}), ("mish", F.mish, TF.mish, {}),
    ("softplus", F.softplus, TF.softplus, {"beta": 0.5, "threshold": 1.0}), ("softsign", F.softsign, TF.softsign, {}),
    ("logsigmoid", F.logsigmoid, TF.logsigmoid, {}),
    ("hardtanh", F.hardtanh, TF.hardtanh, {"min_val": -0.5, "max_val": 1.5}), ("relu6", F.relu6, TF.relu6, {}),
    ("softmax", F.softmax, TF.softmax, {"dim": 0}), ("log_softmax", F.log_softmax, TF.log_softmax, {"dim": -1}),
    ("softmin", F.softmin, TF.softmin, {"dim": 1}),
    ("softmax_dtype", F.softmax, TF.softmax, {"dim": 1, "dtype": rd.float64}),
]


@pytest.mark.parametrize("name, ours, ref, kw", FUNCTIONS, ids=[c[0] for c in FUNCTIONS])
def test_functional_vs_torch(name, ours, ref, kw):
    x = np.random.default_rng(0).uniform(-8, 8, (3, 4))
    t_kw = dict(kw, dtype=torch.float64) if "dtype" in kw else kw
    compare_functional_with_torch(lambda a: ours(a, **kw), lambda a: ref(a, **t_kw), [x])
    if "dtype" not in kw:
        compare_functional_with_torch(lambda a: ours(a, **kw), lambda a: ref(a, **t_kw), [x], np.float32)


def test_functional_prelu_vs_torch():
    rng = np.random.default_rng(0)
    compare_functional_with_torch(F.prelu, TF.prelu, [rng.normal(size=(2, 3, 4)), rng.uniform(0, 1, 3)])
    compare_functional_with_torch(F.prelu, TF.prelu, [rng.normal(size=(2, 3)), rng.uniform(0, 1, 1)])


@pytest.mark.parametrize("name, ours, ref, kw", FUNCTIONS[:-1], ids=[c[0] for c in FUNCTIONS[:-1]])
def test_gradcheck(name, ours, ref, kw):
    x = np.random.default_rng(1).uniform(-3, 3, (2, 3))
    assert rd.gradcheck(lambda a: ours(a, **kw), [x])


@pytest.mark.parametrize("name, ours, ref, kw, points", [
    ("relu", F.relu, TF.relu, {}, [0.0]),
    ("leaky_relu", F.leaky_relu, TF.leaky_relu, {}, [0.0]),
    ("elu", F.elu, TF.elu, {}, [0.0]),
    ("hardtanh", F.hardtanh, TF.hardtanh, {}, [-1.0, 1.0]),
    ("relu6", F.relu6, TF.relu6, {}, [0.0, 6.0]),
    ("softplus", F.softplus, TF.softplus, {"threshold": 2.0}, [2.0]),
])
def test_kinks_exact(name, ours, ref, kw, points):
    x = np.array(points + [p + 0.5 for p in points] + [p - 0.5 for p in points])
    compare_functional_with_torch(lambda a: ours(a, **kw), lambda a: ref(a, **kw), [x])


def test_prelu_kink_and_weight_grad():
    x = np.array([[-1.0, 0.0, 2.0], [0.0, -3.0, 1.0]])
    compare_functional_with_torch(F.prelu, TF.prelu, [x, np.array([0.25])])


def test_implicit_softmax_dim_warns_like_torch():
    x = rd.randn(2, 3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TF.softmax(torch.tensor(x.numpy()))          # 3-D input: torch picks dim 0
    np.testing.assert_allclose(y.numpy(), ref.numpy(), rtol=1e-6)


def test_dtype_kept_and_errors():
    x = rd.randn(3, dtype=rd.float32)
    for f in (F.relu, F.gelu, F.hardtanh, F.softsign, F.mish, F.logsigmoid, lambda a: F.softmax(a, 0)):
        assert f(x).dtype == np.float32
    with pytest.raises(TypeError, match="relu: input must be a Tensor"):
        F.relu(np.zeros(3))
    with pytest.raises(ValueError, match="GELU: approximate must be"):
        rd.nn.GELU("fast")
    with pytest.raises(ValueError, match="min_val .* cannot be greater than max_val"):
        rd.nn.Hardtanh(2.0, 1.0)
    with pytest.raises(RuntimeError, match="prelu: weight has 4 elements"):
        F.prelu(rd.randn(2, 3), rd.ones(4))
