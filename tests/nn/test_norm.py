"""BatchNorm1d/2d, LayerNorm, GroupNorm and F.* against torch: train/eval, running statistics, momentum None,
affine/track_running_stats variants, layouts, gradcheck, errors, reprs."""

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
DTYPES = [np.float64, np.float32]
BN_ARGS = [dict(), dict(momentum=None), dict(momentum=0.3, eps=1e-3), dict(affine=False), dict(bias=False),
           dict(track_running_stats=False), dict(affine=False, track_running_stats=False)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("args", BN_ARGS, ids=str)
@pytest.mark.parametrize("cls, shape", [("BatchNorm1d", (6, 3)), ("BatchNorm1d", (4, 3, 5)),
                                        ("BatchNorm2d", (4, 3, 5, 6))])
def test_batchnorm_train_then_eval(cls, shape, args, dtype):
    rd_m, t_m = getattr(rd.nn, cls)(3, **args), getattr(torch.nn, cls)(3, **args)
    assert repr(rd_m) == repr(t_m)
    # three training steps (running statistics, num_batches_tracked, momentum=None's cumulative average) ...
    compare_with_torch(rd_m, t_m, shape, dtype, train=True, steps=3, low=-1, high=3)
    # ... then eval mode on the statistics both accumulated (weights reloaded from torch: same values)
    rd_m.eval()
    t_m.eval()
    compare_with_torch(rd_m, t_m, shape, dtype, train=False, seed=7, low=-1, high=3)


def test_batchnorm_running_stats_values():
    """Unbiased variance in the running estimate; momentum=None is the plain average of the batch stats."""
    bn = rd.nn.BatchNorm1d(2, momentum=None).double()
    xs = [np.random.default_rng(i).normal(i, 1 + i, (5, 2)) for i in range(3)]
    for x in xs:
        bn(rd.tensor(x))
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([x.mean(0) for x in xs], 0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean([x.var(0, ddof=1) for x in xs], 0), rtol=1e-12)
    assert bn.num_batches_tracked.dtype == np.int64 and int(bn.num_batches_tracked) == 3


def test_batchnorm_channels_last_input():
    """BatchNorm2d after a conv: NHWC memory under an NCHW shape goes through the GEMV path."""
    def net(nn, bias=True):
        return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=bias), nn.BatchNorm2d(4), nn.ReLU())
    compare_with_torch(net(rd.nn), net(torch.nn), (3, 2, 5, 5), steps=2)
    # NOTE: a conv bias in front of train-mode BatchNorm has a gradient of exactly 0 (the mean is subtracted):
    # in float32 both libraries return rounding noise of ~1e-5 there, so that run uses the usual bias=False
    compare_with_torch(net(rd.nn, False), net(torch.nn, False), (3, 2, 5, 5), np.float32)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, norm, args", [((4, 7), 7, {}), ((2, 3, 8), 8, {}), ((2, 3, 4, 5), (4, 5), {}),
                                               ((3, 6), 6, {"bias": False}), ((3, 6), 6, {"elementwise_affine": False}),
                                               ((2, 5, 6), (5, 6), {"eps": 1e-2})])
def test_layernorm(shape, norm, args, dtype):
    rd_m, t_m = rd.nn.LayerNorm(norm, **args), torch.nn.LayerNorm(norm, **args)
    assert repr(rd_m) == repr(t_m)
    with torch.no_grad():           # non-trivial affine parameters
        for p in t_m.parameters():
            p.uniform_(0.5, 1.5)
    compare_with_torch(rd_m, t_m, shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups, channels, shape, args", [(2, 4, (3, 4, 5, 6), {}), (1, 6, (2, 6, 7), {}),
                                                          (6, 6, (2, 6, 3, 3), {"eps": 1e-3}),
                                                          (3, 6, (4, 6, 3), {"affine": False}),
                                                          (2, 4, (2, 4, 3), {"bias": False})])
def test_groupnorm(groups, channels, shape, args, dtype):
    rd_m, t_m = rd.nn.GroupNorm(groups, channels, **args), torch.nn.GroupNorm(groups, channels, **args)
    assert repr(rd_m) == repr(t_m)
    with torch.no_grad():
        for p in t_m.parameters():
            p.uniform_(0.5, 1.5)
    compare_with_torch(rd_m, t_m, shape, dtype)


def test_functional_forms():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(4, 3, 5)), rng.uniform(0.5, 2, 3), rng.normal(size=3)
    rm, rv = rng.normal(size=3), rng.uniform(0.5, 2, 3)
    compare_functional_with_torch(lambda *a: F.batch_norm(a[0], rd.tensor(rm), rd.tensor(rv), a[1], a[2]),
                                  lambda *a: TF.batch_norm(a[0], torch.tensor(rm), torch.tensor(rv), a[1], a[2]),
                                  [x, w, b])
    compare_functional_with_torch(lambda a: F.batch_norm(a, None, None, training=True, eps=0.1),
                                  lambda a: TF.batch_norm(a, None, None, training=True, eps=0.1), [x])
    compare_functional_with_torch(lambda *a: F.layer_norm(a[0], (3, 5), *a[1:]),
                                  lambda *a: TF.layer_norm(a[0], (3, 5), *a[1:]),
                                  [x, rng.normal(size=(3, 5)), rng.normal(size=(3, 5))])
    compare_functional_with_torch(lambda *a: F.group_norm(a[0], 3, *a[1:]), lambda *a: TF.group_norm(a[0], 3, *a[1:]),
                                  [x, w, b])


def test_gradcheck():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(3, 2, 4)), rng.uniform(0.5, 2, 2), rng.normal(size=2)
    assert rd.gradcheck(lambda *a: F.batch_norm(a[0], None, None, a[1], a[2], training=True), [x, w, b])
    rm, rv = rd.tensor(rng.normal(size=2)), rd.tensor([0.5, 2.0], dtype=rd.float64)
    assert rd.gradcheck(lambda *a: F.batch_norm(a[0], rm, rv, a[1], a[2]), [x, w, b])
    assert rd.gradcheck(lambda *a: F.layer_norm(a[0], (4,), *a[1:]), [x, rng.normal(size=4), rng.normal(size=4)])
    assert rd.gradcheck(lambda *a: F.group_norm(a[0], 2, *a[1:]), [x, w, b])
    assert rd.gradcheck(lambda a: F.layer_norm(a, (2, 4)), [x])


def test_every_norm_op_is_gradchecked():
    from redes.ops import norm as N
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(3, 4, 2)), rng.uniform(0.5, 2, 4), rng.normal(size=4)
    cases = {"batch_norm": (lambda *a: N.BatchNorm.apply(*a, eps=1e-3), [x, w, b]),
             "batch_norm_eval": (lambda *a: N.BatchNormEval.apply(*a, mean=np.arange(4.0), var=np.full(4, 2.0)),
                                 [x, w, b]),
             "layer_norm": (lambda *a: N.LayerNormOp.apply(*a, dims=2), [x, w.reshape(4, 1) * [1, 2], b.reshape(4, 1)
                                                                         * [1, -1]]),
             "group_norm": (lambda *a: N.GroupNormOp.apply(*a, groups=2), [x, w, b])}
    assert set(cases) == set(N.OPS)
    for name, (fn, inputs) in cases.items():
        assert rd.gradcheck(fn, inputs), name


def test_running_stats_keep_dtype_and_eval_uses_them():
    bn = rd.nn.BatchNorm2d(3)
    bn(rd.randn(4, 3, 2, 2) * 3 + 1)
    assert bn.running_mean.dtype == np.float32 and bn.running_var.dtype == np.float32
    bn.eval()
    x = rd.randn(2, 3, 2, 2)
    mean, var = bn.running_mean.numpy()[:, None, None], bn.running_var.numpy()[:, None, None]
    expected = (x.numpy() - mean) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(bn(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked) == 1         # eval does not count batches


def test_errors():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input, got 3D"):
        rd.nn.BatchNorm2d(3)(rd.zeros(2, 3, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d: expected input with 3 channels \(shape \(N, 3\)\), "
                                         r"got \(2, 4\)"):
        rd.nn.BatchNorm1d(3)(rd.zeros(2, 4))
    with pytest.raises(ValueError, match="expected more than 1 value per channel when training"):
        rd.nn.BatchNorm1d(3)(rd.zeros(1, 3))
    with pytest.raises(RuntimeError, match=r"layer_norm: expected input with shape \(\*, 4\)"):
        rd.nn.LayerNorm(4)(rd.zeros(2, 5))
    with pytest.raises(ValueError, match="num_channels .* must be divisible by num_groups"):
        rd.nn.GroupNorm(3, 4)
    with pytest.raises(ValueError, match="GroupNorm: expected input with 4 channels"):
        rd.nn.GroupNorm(2, 4)(rd.zeros(2, 6, 3))
