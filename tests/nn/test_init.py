"""nn.init: gains and fans as torch; distributions by statistics on large tensors; orthogonality;
exact reproducibility with rd.manual_seed and generator=."""
import math

import numpy as np
import pytest

import redes as rd
from redes.nn import init
from tests.nn.helpers import torch


@pytest.mark.parametrize("name, param", [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
                                         ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                                         ("conv_transpose1d", None)])
def test_calculate_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


@pytest.mark.parametrize("shape", [(3, 5), (4, 3, 5), (8, 2, 3, 3), (6, 1, 2, 2, 2)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(rd.empty(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))


def _stats(fill, shape=(400, 300, 3), **kw):
    rd.manual_seed(0)
    t = rd.empty(*shape, dtype=rd.float64)
    out = fill(t, **kw)
    assert out is t
    return t.numpy()


def test_uniform_normal_constant():
    u = _stats(init.uniform_, a=-2.0, b=3.0)
    assert u.min() >= -2 and u.max() < 3 and abs(u.mean() - 0.5) < 0.01 and abs(u.std() - 5 / math.sqrt(12)) < 0.01
    n = _stats(init.normal_, mean=1.0, std=2.0)
    assert abs(n.mean() - 1) < 0.01 and abs(n.std() - 2) < 0.01
    assert (_stats(init.constant_, val=0.25) == 0.25).all()
    assert (_stats(init.ones_) == 1).all() and (_stats(init.zeros_) == 0).all()


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(rd.empty(*shape))
    std = 1.5 * math.sqrt(2.0 / (fan_in + fan_out))
    u = _stats(init.xavier_uniform_, shape, gain=1.5)
    assert np.abs(u).max() <= math.sqrt(3) * std and abs(u.std() - std) < 0.02 * std
    n = _stats(init.xavier_normal_, shape, gain=1.5)
    assert abs(n.std() - std) < 0.02 * std and abs(n.mean()) < 0.02 * std


@pytest.mark.parametrize("a, mode, nonlinearity", [(0, "fan_in", "relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
                                                   (0.1, "fan_out", "leaky_relu"), (0, "fan_out", "tanh")])
def test_kaiming(a, mode, nonlinearity):
    shape = (64, 32, 3, 3)
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(rd.empty(*shape))
    std = init.calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)
    u = _stats(init.kaiming_uniform_, shape, a=a, mode=mode, nonlinearity=nonlinearity)
    assert np.abs(u).max() <= math.sqrt(3) * std and np.abs(u).max() > 0.99 * math.sqrt(3) * std
    assert abs(u.std() - std) < 0.02 * std
    n = _stats(init.kaiming_normal_, shape, a=a, mode=mode, nonlinearity=nonlinearity)
    assert abs(n.std() - std) < 0.02 * std


def test_trunc_normal():
    t = _stats(init.trunc_normal_, mean=0.5, std=2.0, a=-1.0, b=3.0)
    assert t.min() >= -1 and t.max() <= 3
    ref = torch.nn.init.trunc_normal_(torch.empty(400, 300, 3, dtype=torch.float64), 0.5, 2.0, -1.0, 3.0).numpy()
    assert abs(t.mean() - ref.mean()) < 0.02 and abs(t.std() - ref.std()) < 0.02


@pytest.mark.parametrize("shape", [(30, 50), (50, 30), (8, 4, 3, 3)])
def test_orthogonal(shape):
    q = _stats(init.orthogonal_, shape, gain=2.0).reshape(shape[0], -1)
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q
    np.testing.assert_allclose(gram, 4.0 * np.eye(min(rows, cols)), atol=1e-10)


def test_eye_and_dirac():
    np.testing.assert_array_equal(init.eye_(rd.empty(3, 5)).numpy(), np.eye(3, 5))
    w = init.dirac_(rd.empty(4, 2, 3, 3), groups=2)
    x = rd.randn(1, 2, 6, 6)
    y = rd.nn.functional.conv2d(x.repeat(1, 2, 1, 1), w, padding=1, groups=2)
    np.testing.assert_allclose(y.numpy()[:, [0, 2]], x.numpy()[:, [0, 0]])   # channel 0 of each group copied


def test_reproducible_with_seed_and_generator():
    for fill in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_, init.orthogonal_,
                 init.trunc_normal_):
        a, b = _stats(fill, (20, 30)), _stats(fill, (20, 30))
        np.testing.assert_array_equal(a, b)
    g1 = init.normal_(rd.empty(5), generator=np.random.default_rng(1)).numpy()
    np.testing.assert_array_equal(g1, np.random.default_rng(1).normal(0, 1, 5).astype(np.float32))


def test_fills_parameters_without_graph_and_keeps_dtype():
    p = rd.nn.Parameter(rd.zeros(3, 4))
    init.kaiming_uniform_(p)
    assert p.requires_grad and p.grad_fn is None and p.dtype == np.float32 and p.numpy().any()


def test_errors():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(rd.empty(5))
    with pytest.raises(ValueError, match="mode 'fan_avg' not supported"):
        init.kaiming_uniform_(rd.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "a")
    with pytest.raises(ValueError, match="only tensors with 2 or more dimensions"):
        init.orthogonal_(rd.empty(3))
    with pytest.warns(UserWarning, match="zero-element"):
        init.kaiming_uniform_(rd.empty(0, 3))
