"""pixel_shuffle/unshuffle, channel_shuffle, unfold/fold, interpolate (every mode), affine_grid, grid_sample and
their layers against torch: outputs and gradients (input and grid), float64."""
import warnings

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)


def test_pixel_shuffle_roundtrip_and_vs_torch():
    x = rng.normal(size=(2, 12, 3, 4))
    compare_functional_with_torch(lambda a: F.pixel_shuffle(a, 2), lambda a: TF.pixel_shuffle(a, 2), [x])
    compare_functional_with_torch(lambda a: F.pixel_unshuffle(a, 2), lambda a: TF.pixel_unshuffle(a, 2),
                                  [rng.normal(size=(3, 4, 6))])
    compare_functional_with_torch(lambda a: F.channel_shuffle(a, 3), lambda a: TF.channel_shuffle(a, 3), [x])
    np.testing.assert_array_equal(F.native_channel_shuffle(rd.tensor(x), 4).numpy(),     # torch: no backward
                                  TF.native_channel_shuffle(torch.tensor(x), 4).numpy())
    for ours, ref, arg in ((rd.nn.PixelShuffle(2), torch.nn.PixelShuffle(2), x),
                           (rd.nn.PixelUnshuffle(3), torch.nn.PixelUnshuffle(3), rng.normal(size=(1, 2, 6, 9))),
                           (rd.nn.ChannelShuffle(2), torch.nn.ChannelShuffle(2), x)):
        assert repr(ours) == repr(ref)
        compare_with_torch(ours, ref, inputs=[arg])


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3), "stride": 2, "padding": 1},
                                {"kernel_size": 3, "dilation": (2, 1), "padding": (2, 0), "stride": (1, 2)}])
def test_unfold_fold(kw):
    x = rng.normal(size=(2, 3, 7, 8))
    compare_functional_with_torch(lambda a: F.unfold(a, **kw), lambda a: TF.unfold(a, **kw), [x])
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    compare_functional_with_torch(lambda a: F.fold(a, (7, 8), **kw), lambda a: TF.fold(a, (7, 8), **kw), [cols])
    compare_functional_with_torch(lambda a: F.fold(a, (7, 8), **kw), lambda a: TF.fold(a, (7, 8), **kw), [cols[0]])
    ours, ref = rd.nn.Unfold(**kw), torch.nn.Unfold(**kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[x])
    ours, ref = rd.nn.Fold((7, 8), **kw), torch.nn.Fold((7, 8), **kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[cols])


INTERP = [
    ((2, 3, 5), {"scale_factor": 2, "mode": "nearest"}), ((2, 3, 5), {"size": 7, "mode": "nearest"}),
    ((1, 2, 5, 4), {"size": (3, 7), "mode": "nearest"}), ((1, 2, 5, 4), {"scale_factor": 1.7, "mode": "nearest-exact"}),
    ((2, 3, 5), {"size": 8, "mode": "linear"}), ((2, 3, 5), {"size": 3, "mode": "linear", "align_corners": True}),
    ((1, 2, 5, 4), {"scale_factor": (1.5, 2.5), "mode": "bilinear"}),
    ((1, 2, 5, 4), {"size": (7, 3), "mode": "bilinear", "align_corners": True}),
    ((1, 2, 5, 4), {"scale_factor": 1.3, "mode": "bilinear", "recompute_scale_factor": True}),
    ((1, 2, 5, 4), {"size": (9, 6), "mode": "bicubic"}),
    ((1, 2, 5, 4), {"size": (3, 7), "mode": "bicubic", "align_corners": True}),
    ((1, 2, 3, 4, 5), {"scale_factor": 2, "mode": "trilinear"}),
    ((1, 2, 3, 4, 5), {"size": (5, 3, 6), "mode": "trilinear", "align_corners": True}),
    ((1, 2, 3, 4, 5), {"size": (5, 3, 6), "mode": "nearest"}),
    ((2, 3, 9), {"size": 4, "mode": "area"}), ((1, 2, 7, 5), {"size": (3, 2), "mode": "area"}),
    ((1, 2, 6, 7, 5), {"size": (4, 3, 2), "mode": "area"}),
]


@pytest.mark.parametrize("shape, kw", INTERP, ids=[f"{k['mode']}-{i}" for i, (_, k) in enumerate(INTERP)])
def test_interpolate(shape, kw):
    compare_functional_with_torch(lambda a: F.interpolate(a, **kw), lambda a: TF.interpolate(a, **kw),
                                  [rng.normal(size=shape)])


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("align_corners", [False, True])
@pytest.mark.parametrize("size", [(3, 4), (13, 5), (7, 20)])            # shrink, mixed, grow
def test_interpolate_antialias(mode, align_corners, size):
    compare_functional_with_torch(
        lambda a: F.interpolate(a, size=size, mode=mode, align_corners=align_corners, antialias=True),
        lambda a: TF.interpolate(a, size=size, mode=mode, align_corners=align_corners, antialias=True),
        [rng.normal(size=(2, 2, 9, 11))])


def test_upsample_layers_and_deprecated_functions():
    x = rng.normal(size=(1, 2, 4, 5))
    for ours, ref in ((rd.nn.Upsample(scale_factor=2), torch.nn.Upsample(scale_factor=2)),
                      (rd.nn.Upsample(size=(3, 7), mode="bilinear", align_corners=False),
                       torch.nn.Upsample(size=(3, 7), mode="bilinear", align_corners=False)),
                      (rd.nn.UpsamplingNearest2d(scale_factor=3), torch.nn.UpsamplingNearest2d(scale_factor=3)),
                      (rd.nn.UpsamplingBilinear2d(size=(6, 6)), torch.nn.UpsamplingBilinear2d(size=(6, 6)))):
        assert repr(ours) == repr(ref)
        compare_with_torch(ours, ref, inputs=[x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, kw in (("upsample", {"scale_factor": 2, "mode": "bilinear"}), ("upsample_nearest", {"size": 7}),
                         ("upsample_bilinear", {"scale_factor": 2})):
            compare_functional_with_torch(lambda a: getattr(F, name)(a, **kw), lambda a: getattr(TF, name)(a, **kw),
                                          [x])
    with pytest.warns(UserWarning, match="upsample is deprecated"):
        F.upsample(rd.ones(1, 1, 2, 2), scale_factor=2)


@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid(align_corners):
    theta = rng.normal(size=(2, 2, 3))
    compare_functional_with_torch(lambda t: F.affine_grid(t, (2, 3, 4, 5), align_corners),
                                  lambda t: TF.affine_grid(t, (2, 3, 4, 5), align_corners), [theta])
    theta = rng.normal(size=(2, 3, 4))
    compare_functional_with_torch(lambda t: F.affine_grid(t, (2, 3, 3, 4, 5), align_corners),
                                  lambda t: TF.affine_grid(t, (2, 3, 3, 4, 5), align_corners), [theta])


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample(mode, padding_mode, align_corners):
    x = rng.normal(size=(2, 3, 5, 6))
    grid = rng.uniform(-1.4, 1.4, size=(2, 4, 3, 2))       # some points outside the image
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    compare_functional_with_torch(lambda a, g: F.grid_sample(a, g, **kw), lambda a, g: TF.grid_sample(a, g, **kw),
                                  [x, grid])


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_grid_sample_volumetric(mode, padding_mode, align_corners):
    x = rng.normal(size=(2, 2, 3, 4, 5))
    grid = rng.uniform(-1.3, 1.3, size=(2, 2, 3, 2, 3))
    kw = {"mode": mode, "padding_mode": padding_mode, "align_corners": align_corners}
    compare_functional_with_torch(lambda a, g: F.grid_sample(a, g, **kw), lambda a, g: TF.grid_sample(a, g, **kw),
                                  [x, grid])


def test_affine_grid_then_grid_sample_rotates_like_torch():
    angle = 0.3
    theta = np.array([[[np.cos(angle), -np.sin(angle), 0.1], [np.sin(angle), np.cos(angle), -0.2]]])
    x = rng.normal(size=(1, 3, 6, 7))
    compare_functional_with_torch(
        lambda a, t: F.grid_sample(a, F.affine_grid(t, (1, 3, 6, 7), False), align_corners=False),
        lambda a, t: TF.grid_sample(a, TF.affine_grid(t, (1, 3, 6, 7), False), align_corners=False), [x, theta])


def test_errors():
    with pytest.raises(RuntimeError, match=r"pixel_shuffle: the channel dim \(3\)"):
        F.pixel_shuffle(rd.ones(1, 3, 2, 2), 2)
    with pytest.raises(ValueError, match="interpolate: exactly one of size or scale_factor"):
        F.interpolate(rd.ones(1, 1, 2, 2))
    with pytest.raises(NotImplementedError, match="interpolate: mode 'bilinear' needs a 4-D input"):
        F.interpolate(rd.ones(1, 1, 2), size=3, mode="bilinear")
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(rd.ones(1, 1, 2), size=3, align_corners=True)
    with pytest.raises(RuntimeError, match="fold: expected input's dim 2 to match"):
        F.fold(rd.ones(1, 4, 5), (3, 3), 2)
    with pytest.raises(ValueError, match="PixelShuffle: upscale_factor must be a positive integer, got 0"):
        rd.nn.PixelShuffle(0)
