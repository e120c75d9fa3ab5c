"""3-D pooling, *_with_indices, LP pooling, max_unpool and fractional max pooling (functions and layers)
against torch: outputs, indices and gradients, float64."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)
X3 = rng.normal(size=(2, 3, 5, 6, 7))


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3, 2), "stride": (1, 2, 2), "padding": 1},
                                {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                                {"kernel_size": 2, "dilation": (2, 1, 2), "stride": 1}])
def test_max_pool3d(kw):
    out = compare_functional_with_torch(lambda a: F.max_pool3d(a, return_indices=True, **kw),
                                        lambda a: TF.max_pool3d(a, return_indices=True, **kw), [X3])
    np.testing.assert_array_equal(out[0][1].numpy(), out[1][1].numpy())
    compare_functional_with_torch(lambda a: F.max_pool3d(a, **kw), lambda a: TF.max_pool3d(a, **kw), [X3[0]])
    ours, ref = rd.nn.MaxPool3d(**kw), torch.nn.MaxPool3d(**kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[X3])


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
                                {"kernel_size": (2, 3, 3), "stride": 2, "padding": (1, 0, 1), "ceil_mode": True},
                                {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True,
                                 "count_include_pad": False},
                                {"kernel_size": 2, "divisor_override": 3}])
def test_avg_pool3d(kw):
    compare_functional_with_torch(lambda a: F.avg_pool3d(a, **kw), lambda a: TF.avg_pool3d(a, **kw), [X3])
    ours, ref = rd.nn.AvgPool3d(**kw), torch.nn.AvgPool3d(**kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[X3])


@pytest.mark.parametrize("size", [2, (3, 4, 5), (None, 2, 3), 1])
def test_adaptive_3d(size):
    compare_functional_with_torch(lambda a: F.adaptive_avg_pool3d(a, size), lambda a: TF.adaptive_avg_pool3d(a, size),
                                  [X3])
    out = compare_functional_with_torch(lambda a: F.adaptive_max_pool3d(a, size, True),
                                        lambda a: TF.adaptive_max_pool3d(a, size, True), [X3])
    np.testing.assert_array_equal(out[0][1].numpy(), out[1][1].numpy())
    for name in ("AdaptiveAvgPool3d", "AdaptiveMaxPool3d"):
        ours, ref = getattr(rd.nn, name)(size), getattr(torch.nn, name)(size)
        assert repr(ours) == repr(ref)
        compare_with_torch(ours, ref, inputs=[X3[1]])


def test_with_indices_variants():
    x1, x2 = rng.normal(size=(2, 3, 9)), rng.normal(size=(2, 3, 7, 8))
    for name, x, args in (("max_pool1d_with_indices", x1, (3, 2, 1)), ("max_pool2d_with_indices", x2, (2,)),
                          ("max_pool3d_with_indices", X3, (2, 1)), ("adaptive_max_pool1d_with_indices", x1, (4,)),
                          ("adaptive_max_pool2d_with_indices", x2, ((3, 5),)),
                          ("adaptive_max_pool3d_with_indices", X3, (2,))):
        out = compare_functional_with_torch(lambda a: getattr(F, name)(a, *args), lambda a: getattr(TF, name)(a, *args),
                                            [x])
        np.testing.assert_array_equal(out[0][1].numpy(), out[1][1].numpy(), err_msg=name)


@pytest.mark.parametrize("p", [2.0, 3.0, 1.5])
def test_lp_pool(p):
    x1, x2 = rng.uniform(0.2, 2, size=(2, 3, 9)), rng.uniform(0.2, 2, size=(2, 3, 7, 8))
    x3 = rng.uniform(0.2, 2, size=(1, 2, 5, 6, 4))
    for n, x, kw in ((1, x1, {"kernel_size": 3, "stride": 2}), (2, x2, {"kernel_size": (2, 3)}),
                     (2, x2, {"kernel_size": 3, "stride": 2, "ceil_mode": True}), (3, x3, {"kernel_size": 2})):
        compare_functional_with_torch(lambda a: getattr(F, f"lp_pool{n}d")(a, p, **kw),
                                      lambda a: getattr(TF, f"lp_pool{n}d")(a, p, **kw), [x])
        ours, ref = getattr(rd.nn, f"LPPool{n}d")(p, **kw), getattr(torch.nn, f"LPPool{n}d")(p, **kw)
        assert repr(ours) == repr(ref)
        compare_with_torch(ours, ref, inputs=[x])


@pytest.mark.parametrize("n, shape, kw", [(1, (2, 3, 8), {"kernel_size": 2}),
                                          (2, (2, 3, 6, 8), {"kernel_size": 3, "stride": 2, "padding": 1}),
                                          (3, (1, 2, 4, 6, 4), {"kernel_size": 2})])
def test_max_unpool(n, shape, kw):
    x = rng.normal(size=shape)
    pooled, idx = getattr(TF, f"max_pool{n}d")(torch.tensor(x), return_indices=True, **kw)
    out_size = shape[2:]
    if "padding" not in kw:                              # the default output size is then the input's
        compare_functional_with_torch(lambda a: getattr(F, f"max_unpool{n}d")(a, rd.tensor(idx.numpy()), **kw),
                                      lambda a: getattr(TF, f"max_unpool{n}d")(a, idx, **kw), [pooled.numpy()])
    compare_functional_with_torch(
        lambda a: getattr(F, f"max_unpool{n}d")(a, rd.tensor(idx.numpy()), output_size=out_size, **kw),
        lambda a: getattr(TF, f"max_unpool{n}d")(a, idx, output_size=out_size, **kw), [pooled.numpy()])
    ours, ref = getattr(rd.nn, f"MaxUnpool{n}d")(**kw), getattr(torch.nn, f"MaxUnpool{n}d")(**kw)
    assert repr(ours) == repr(ref)
    if "padding" not in kw:
        compare_with_torch(ours, ref, inputs=[pooled.numpy(), idx.numpy()])


@pytest.mark.parametrize("n, shape, kw", [(2, (2, 3, 9, 10), {"kernel_size": 2, "output_size": (4, 5)}),
                                          (2, (2, 3, 9, 10), {"kernel_size": (3, 2), "output_ratio": (0.5, 0.5)}),
                                          (3, (1, 2, 7, 8, 9), {"kernel_size": 2, "output_size": 3}),
                                          (3, (1, 2, 7, 8, 9),
                                           {"kernel_size": (2, 3, 2), "output_ratio": (0.5, 0.6, 0.4)})])
def test_fractional_max_pool(n, shape, kw):
    x, samples = rng.normal(size=shape), rng.uniform(size=shape[:2] + (n,))
    fn, ref = getattr(F, f"fractional_max_pool{n}d"), getattr(TF, f"fractional_max_pool{n}d")
    out = compare_functional_with_torch(
        lambda a: fn(a, return_indices=True, _random_samples=rd.tensor(samples), **kw),
        lambda a: ref(a, return_indices=True, _random_samples=torch.tensor(samples), **kw), [x])
    np.testing.assert_array_equal(out[0][1].numpy(), out[1][1].numpy())
    ours = getattr(rd.nn, f"FractionalMaxPool{n}d")(_random_samples=rd.tensor(samples), **kw)
    theirs = getattr(torch.nn, f"FractionalMaxPool{n}d")(_random_samples=torch.tensor(samples), **kw)
    compare_with_torch(ours, theirs, inputs=[x])
    rd.manual_seed(0)
    y = fn(rd.tensor(x), **kw)                          # random starts: the right shape, values from the input
    assert y.shape == out[1][0].shape and np.isin(y.numpy(), x).all()


def test_errors():
    with pytest.raises(ValueError, match="max_pool3d: pad should be at most half of effective kernel size"):
        F.max_pool3d(rd.ones(1, 1, 4, 4, 4), 2, padding=2)
    with pytest.raises(RuntimeError, match="max_unpool2d: found an invalid max index"):
        F.max_unpool2d(rd.ones(1, 1, 2, 2), rd.tensor(np.full((1, 1, 2, 2), 99)), 2)
    with pytest.raises(ValueError, match="FractionalMaxPool2d requires specifying either an output size"):
        rd.nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="LPPool2d: norm_type must be a positive number, got 0"):
        rd.nn.LPPool2d(0, 2)


def test_constructors_validate():
    with pytest.raises(ValueError, match="MaxPool3d: kernel_size must be positive, got 0"):
        rd.nn.MaxPool3d(0)
    with pytest.raises(ValueError, match=r"AvgPool3d: kernel_size must be an int or a 3-tuple, got \(2, 2\)"):
        rd.nn.AvgPool3d((2, 2))
    with pytest.raises(ValueError, match="MaxUnpool2d: padding must be non-negative, got -1"):
        rd.nn.MaxUnpool2d(2, padding=-1)
    with pytest.raises(ValueError, match="LPPool1d: stride must be positive, got 0"):
        rd.nn.LPPool1d(2, 3, stride=0)
    with pytest.raises(ValueError, match="Upsample: mode must be one of"):
        rd.nn.Upsample(scale_factor=2, mode="cubic")


def test_max_unpool_op_vs_central_differences():
    """The one new op class (ops/unpool.py), second reference: central differences. Only for distinct indices:
    with repeated ones the forward keeps one writer while the backward (as torch's) gives every writer the
    gradient, which the torch comparison above covers."""
    x = rd.tensor(rng.normal(size=(1, 2, 6, 6)))
    _, idx = F.max_pool2d(x, 2, return_indices=True)
    pooled = rd.tensor(rng.normal(size=tuple(idx.shape)), requires_grad=True)
    assert rd.gradcheck(lambda a: F.max_unpool2d(a, idx, 2), [pooled])
