"""BatchNorm3d, SyncBatchNorm, InstanceNorm1/2/3d (+ F.instance_norm), LocalResponseNorm / CrossMapLRN2d
(+ F.local_response_norm) and RMSNorm (+ F.rms_norm) against torch: outputs, gradients, running statistics
over several steps, train and eval, float64."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name, c, kw, shape", [
    ("BatchNorm3d", 4, {}, (3, 4, 2, 3, 2)), ("BatchNorm3d", 4, {"momentum": None, "affine": False}, (3, 4, 2, 3, 2)),
    ("SyncBatchNorm", 4, {}, (3, 4, 5)), ("SyncBatchNorm", 4, {"eps": 1e-3}, (3, 4, 2, 3, 2)),
    ("InstanceNorm1d", 4, {}, (3, 4, 6)),
    ("InstanceNorm1d", 4, {"affine": True, "track_running_stats": True}, (3, 4, 6)),
    ("InstanceNorm1d", 4, {"affine": True}, (4, 6)),
    ("InstanceNorm2d", 3, {"affine": True, "track_running_stats": True, "momentum": 0.3}, (2, 3, 4, 5)),
    ("InstanceNorm3d", 3, {"track_running_stats": True}, (2, 3, 2, 3, 4)),
    ("InstanceNorm3d", 3, {"affine": True}, (3, 2, 3, 4)),
])
def test_batch_and_instance_norm_layers(name, c, kw, shape, train):
    ours, ref = getattr(rd.nn, name)(c, **kw), getattr(torch.nn, name)(c, **kw)
    assert repr(ours) == repr(ref)
    if ref.weight is not None:                                # non-trivial affine parameters
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5)
            ref.bias.uniform_(-0.5, 0.5)
    if not train and ref.running_mean is not None:            # non-trivial running statistics
        ref.running_mean.uniform_(-1, 1)
        ref.running_var.uniform_(0.5, 2)
    compare_with_torch(ours, ref, shape, train=train, steps=3)


@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_function(use_input_stats):
    x, w, b = rng.normal(size=(3, 4, 5)), rng.uniform(0.5, 1.5, 4), rng.normal(size=4)
    rm, rv = rng.normal(size=4), rng.uniform(0.5, 2, 4)
    ours_rm, ours_rv, ref_rm, ref_rv = rd.tensor(rm), rd.tensor(rv), torch.tensor(rm), torch.tensor(rv)
    compare_functional_with_torch(
        lambda a, ww, bb: F.instance_norm(a, ours_rm, ours_rv, ww, bb, use_input_stats, 0.2),
        lambda a, ww, bb: TF.instance_norm(a, ref_rm, ref_rv, ww, bb, use_input_stats, 0.2), [x, w, b])
    np.testing.assert_allclose(ours_rm.numpy(), ref_rm.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_rv.numpy(), ref_rv.numpy(), rtol=1e-12)


@pytest.mark.parametrize("size, shape", [(3, (2, 6, 5)), (2, (2, 5, 3, 4)), (5, (1, 7, 2, 3, 2)), (1, (2, 3, 4))])
def test_local_response_norm(size, shape):
    kw = {"alpha": 0.5, "beta": 0.6, "k": 1.5}
    compare_functional_with_torch(lambda a: F.local_response_norm(a, size, **kw),
                                  lambda a: TF.local_response_norm(a, size, **kw), [rng.normal(size=shape)])
    ours, ref = rd.nn.LocalResponseNorm(size, **kw), torch.nn.LocalResponseNorm(size, **kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, shape)


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_cross_map_lrn2d(size):
    """The forward equals torch's; torch's hand-written backward is not the derivative of that forward (it
    differentiates a window without the channel-0 term, and fails for size 1), so the gradient is checked
    against central differences instead."""
    ours, ref = rd.nn.CrossMapLRN2d(size, 0.3, 0.7, 2), torch.nn.CrossMapLRN2d(size, 0.3, 0.7, 2)
    assert repr(ours) == repr(ref)
    x = rng.normal(size=(2, 5, 3, 3))
    with torch.no_grad():
        np.testing.assert_allclose(ours(rd.tensor(x)).numpy(), ref(torch.tensor(x)).numpy(), rtol=1e-12)
    assert rd.gradcheck(ours, [rd.tensor(x, requires_grad=True)])


@pytest.mark.parametrize("shape, norm, eps", [((3, 4), (4,), None), ((2, 3, 4), (3, 4), 1e-3), ((5,), 5, 0.1)])
def test_rms_norm(shape, norm, eps):
    n = (norm,) if isinstance(norm, int) else norm
    compare_functional_with_torch(lambda a, w: F.rms_norm(a, n, w, eps), lambda a, w: TF.rms_norm(a, n, w, eps),
                                  [rng.normal(size=shape), rng.uniform(0.5, 1.5, n)])
    compare_functional_with_torch(lambda a: F.rms_norm(a, n, eps=eps), lambda a: TF.rms_norm(a, n, eps=eps),
                                  [rng.normal(size=shape)], np.float32)
    for affine in (True, False):
        ours, ref = rd.nn.RMSNorm(norm, eps, affine), torch.nn.RMSNorm(norm, eps, affine)
        assert repr(ours) == repr(ref)
        compare_with_torch(ours, ref, shape)


def test_convert_sync_batchnorm_keeps_parameters():
    model = rd.nn.Sequential(rd.nn.Conv2d(2, 3, 1), rd.nn.BatchNorm2d(3))
    w = model[1].weight
    converted = rd.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    assert type(converted[1]) is rd.nn.SyncBatchNorm and converted[1].weight is w


def test_errors():
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected 3D \(unbatched\) or 4D input, got 2D"):
        rd.nn.InstanceNorm2d(3)(rd.ones(3, 4))
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(3\), but got: 2"):
        rd.nn.InstanceNorm1d(3, affine=True)(rd.ones(1, 2, 4))
    with pytest.raises(RuntimeError, match=r"rms_norm: expected input with shape \(\*, 3\), got \(2, 4\)"):
        F.rms_norm(rd.ones(2, 4), 3)
    with pytest.raises(ValueError, match="BatchNorm3d: expected 5D input, got 4D"):
        rd.nn.BatchNorm3d(2)(rd.ones(2, 2, 2, 2))
