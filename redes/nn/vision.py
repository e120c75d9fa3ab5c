"""Vision layers, as torch.nn: PixelShuffle, PixelUnshuffle, ChannelShuffle, Upsample (+ UpsamplingNearest2d,
UpsamplingBilinear2d), Fold and Unfold, each over its F function."""
from . import functional as F
from .module import Module

__all__ = ["PixelShuffle", "PixelUnshuffle", "ChannelShuffle", "Upsample", "UpsamplingNearest2d",
           "UpsamplingBilinear2d", "Fold", "Unfold"]


def _positive(value, name, layer):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    return value


class PixelShuffle(Module):
    """(N, C r^2, H, W) -> (N, C, H r, W r) (sub-pixel convolution upsampling).

    Example:
        >>> rd.nn.PixelShuffle(3)(rd.ones(1, 9, 4, 4)).shape
        (1, 1, 12, 12)
    """
    def __init__(self, upscale_factor):
        super().__init__()
        self.upscale_factor = _positive(upscale_factor, "upscale_factor", "PixelShuffle")

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self):
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(N, C, H r, W r) -> (N, C r^2, H, W), the inverse of PixelShuffle."""
    def __init__(self, downscale_factor):
        super().__init__()
        self.downscale_factor = _positive(downscale_factor, "downscale_factor", "PixelUnshuffle")

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self):
        return f"downscale_factor={self.downscale_factor}"


class ChannelShuffle(Module):
    """Reorders the channels of (N, C, *) from groups x (C / groups) to (C / groups) x groups."""
    def __init__(self, groups):
        super().__init__()
        self.groups = _positive(groups, "groups", "ChannelShuffle")

    def forward(self, input):
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self):
        return f"groups={self.groups}"


class Upsample(Module):
    """F.interpolate as a layer: give size or scale_factor; mode 'nearest' (default), 'linear', 'bilinear',
    'bicubic', 'trilinear', 'nearest-exact' or 'area'.

    Example:
        >>> rd.nn.Upsample(scale_factor=2, mode="nearest")(rd.ones(1, 1, 2, 2)).shape
        (1, 1, 4, 4)
    """
    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        name = type(self).__name__
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{name}: give exactly one of size or scale_factor, got size={size!r}, "
                             f"scale_factor={scale_factor!r}")
        modes = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
        if mode not in modes:
            raise ValueError(f"{name}: mode must be one of {', '.join(modes)}, got {mode!r}")
        if align_corners is not None and mode not in ("linear", "bilinear", "bicubic", "trilinear"):
            raise ValueError(f"{name}: align_corners can only be set with the interpolating modes linear, bilinear, "
                             f"bicubic and trilinear, got mode={mode!r}")
        self.name = name
        self.size = size
        if isinstance(scale_factor, (list, tuple)):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return what + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Upsample(mode='nearest') for 4-D inputs."""
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Upsample(mode='bilinear', align_corners=True) for 4-D inputs."""
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class Unfold(Module):
    """im2col: (N, C, H, W) -> (N, C kh kw, L), every sliding block as a column."""
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride
        F.vision._fold_args(kernel_size, dilation, padding, stride, "Unfold")

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
                f"stride={self.stride}")


class Fold(Unfold):
    """col2im: (N, C kh kw, L) -> (N, C, *output_size), overlapping blocks summed."""
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__(kernel_size, dilation, padding, stride)
        self.output_size = output_size

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return f"output_size={self.output_size}, " + super().extra_repr()
