"""Pooling layers, as torch.nn: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d.

Each layer stores its arguments as torch does (so repr matches) and calls one F function.
"""
from . import _checks
from . import functional as F
from .functional.conv import _ntuple, _single
from .functional.pooling import _window_args
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "MaxPool3d", "AvgPool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d",
           "LPPool1d", "LPPool2d", "LPPool3d", "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d", "FractionalMaxPool2d",
           "FractionalMaxPool3d"]


def _check_window(layer, n, **values):
    """Constructor check: each window argument an int or an n-tuple of them, positive (padding: >= 0), and
    padding at most half the kernel (torch's rule, which torch checks at forward: refused up front here)."""
    sizes = {}
    for arg, v in values.items():
        if v is None:
            continue
        t = sizes[arg] = _ntuple(n, v, arg, layer)
        if min(t) < (0 if arg == "padding" else 1):
            raise ValueError(f"{layer}: {arg} must be {'non-negative' if arg == 'padding' else 'positive'}, got {v!r}")
    for k, p in zip(sizes.get("kernel_size", ()), sizes.get("padding", ())):
        if p > k // 2:
            raise ValueError(f"{layer}: pad should be at most half of kernel size, but got padding={p}, kernel_size={k}")


class _MaxPoolNd(Module):
    n = 1

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        _check_window(type(self).__name__, self.n, kernel_size=kernel_size,
                      stride=None if stride == [] else stride, padding=padding, dilation=dilation)
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """Max over sliding windows of a (N, C, L) input, as torch.nn.MaxPool1d.

    Args: kernel_size; stride (default kernel_size); padding (-inf, at most half the window); dilation;
          return_indices (also return the argmax positions); ceil_mode (round the output size up).
    Shape: (N, C, L) -> (N, C, (L + 2p - d(k-1) - 1) / s + 1)
    """
    n = 1

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class MaxPool2d(_MaxPoolNd):
    n = 2

    """Max over sliding windows of a (N, C, H, W) input, as torch.nn.MaxPool2d.

    Args: kernel_size (int or pair); stride (default kernel_size); padding; dilation; return_indices; ceil_mode.
    Shape: (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H + 2p - d(k-1) - 1) / s + 1 (floor, or ceil with ceil_mode)
    Example:
        >>> rd.nn.MaxPool2d(2)(rd.zeros(1, 16, 28, 28)).shape
        (1, 16, 14, 14)
    """
    n = 2

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool1d(Module):
    """Mean over sliding windows of a (N, C, L) input, as torch.nn.AvgPool1d.

    Args: kernel_size; stride (default kernel_size); padding (zeros); ceil_mode; count_include_pad (divide by
          the full window, padding included; default True).
    """
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        _window_args(kernel_size, stride, padding, 1, 1, "AvgPool1d", False)
        super().__init__()
        self.kernel_size = _single(kernel_size, "kernel_size", "AvgPool1d")
        self.stride = _single(stride if stride is not None and stride != [] else kernel_size, "stride", "AvgPool1d")
        self.padding = _single(padding, "padding", "AvgPool1d")
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """Mean over sliding windows of a (N, C, H, W) input, as torch.nn.AvgPool2d.

    Args: kernel_size; stride (default kernel_size); padding (zeros); ceil_mode; count_include_pad (default
          True); divisor_override (divide every window sum by this instead).
    Shape: (N, C, H, W) -> (N, C, (H + 2p - kh) / s + 1, (W + 2p - kw) / s + 1)
    """
    n = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        _check_window(type(self).__name__, self.n, kernel_size=kernel_size, stride=None if stride == [] else stride,
                      padding=padding)
        if divisor_override is not None:
            _checks.positive_int("AvgPool2d", "divisor_override", divisor_override)
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _AdaptiveNd(Module):
    def __init__(self, output_size, return_indices=False):
        _checks.output_size(type(self).__name__, output_size, int(type(self).__name__[-2]))   # the 1, 2 or 3 of "...3d"
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self):
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveNd):
    """Mean over output_size adaptive windows: (N, C, L) -> (N, C, output_size)."""
    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptiveNd):
    """Mean over adaptive windows: (N, C, H, W) -> (N, C, *output_size) (None keeps that dim).

    Example: rd.nn.AdaptiveAvgPool2d(1) is global average pooling.
    """
    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptiveNd):
    """Max over output_size adaptive windows: (N, C, L) -> (N, C, output_size)."""
    def forward(self, input):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveNd):
    """Max over adaptive windows: (N, C, H, W) -> (N, C, *output_size)."""
    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class MaxPool3d(_MaxPoolNd):
    n = 3

    """Max over (kd, kh, kw) windows of a (N, C, D, H, W) input, as torch.nn.MaxPool3d.

    Example:
        >>> rd.nn.MaxPool3d(2)(rd.zeros(1, 2, 4, 6, 6)).shape
        (1, 2, 2, 3, 3)
    """
    def forward(self, input):
        return F.max_pool3d(input, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)


class AvgPool3d(AvgPool2d):
    """Mean over (kd, kh, kw) windows of a (N, C, D, H, W) input, as torch.nn.AvgPool3d."""
    n = 3

    def forward(self, input):
        return F.avg_pool3d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad, self.divisor_override)


class AdaptiveAvgPool3d(_AdaptiveNd):
    """Mean over adaptive windows: (N, C, D, H, W) -> (N, C, *output_size)."""
    def __init__(self, output_size):
        super().__init__(output_size)

    def forward(self, input):
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(_AdaptiveNd):
    """Max over adaptive windows: (N, C, D, H, W) -> (N, C, *output_size)."""
    def forward(self, input):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class _LPPoolNd(Module):
    n = 1

    def __init__(self, norm_type, kernel_size, stride=None, ceil_mode=False):
        super().__init__()
        if not isinstance(norm_type, (int, float)) or norm_type <= 0:
            raise ValueError(f"{type(self).__name__}: norm_type must be a positive number, got {norm_type!r}")
        _check_window(type(self).__name__, self.n, kernel_size=kernel_size, stride=stride)
        self.norm_type, self.kernel_size, self.stride, self.ceil_mode = norm_type, kernel_size, stride, ceil_mode

    def forward(self, input):
        fn = (F.lp_pool1d, F.lp_pool2d, F.lp_pool3d)[self.n - 1]
        return fn(input, float(self.norm_type), self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self):
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPoolNd):
    """(sum over each window of x^p)^(1/p): (N, C, L) -> (N, C, Lo)."""
    n = 1


class LPPool2d(_LPPoolNd):
    """(sum over each (kh, kw) window of x^p)^(1/p): (N, C, H, W) -> (N, C, Ho, Wo)."""
    n = 2


class LPPool3d(_LPPoolNd):
    """(sum over each (kd, kh, kw) window of x^p)^(1/p): (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    n = 3


class _MaxUnpoolNd(Module):
    n = 1

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        self.kernel_size = _ntuple(self.n, kernel_size, "kernel_size", name)
        self.stride = _ntuple(self.n, stride if stride is not None else kernel_size, "stride", name)
        self.padding = _ntuple(self.n, padding, "padding", name)
        _check_window(name, self.n, kernel_size=kernel_size, stride=stride, padding=padding)

    def forward(self, input, indices, output_size=None):
        fn = (F.max_unpool1d, F.max_unpool2d, F.max_unpool3d)[self.n - 1]
        return fn(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Puts max_pool1d's values back at their indices (zeros elsewhere): (N, C, L) -> (N, C, Lo)."""
    n = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Puts max_pool2d's values back at their indices: (N, C, H, W) -> (N, C, Ho, Wo)."""
    n = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Puts max_pool3d's values back at their indices: (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    n = 3


class _FractionalMaxPoolNd(Module):
    n = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                 _random_samples=None):
        super().__init__()
        name = type(self).__name__
        if (output_size is None) == (output_ratio is None):
            raise ValueError(f"{name} requires specifying either an output size, or a pooling ratio (exactly one), "
                             f"got output_size={output_size!r}, output_ratio={output_ratio!r}")
        ratio = output_ratio if isinstance(output_ratio, (list, tuple)) or output_ratio is None else \
            (output_ratio,) * self.n
        if ratio is not None and not all(0 < r < 1 for r in ratio):
            raise ValueError(f"{name}: output_ratio must be between 0 and 1 (exclusive), got {output_ratio!r}")
        self.kernel_size = _ntuple(self.n, kernel_size, "kernel_size", name)
        self.output_size = output_size if output_size is None else _ntuple(self.n, output_size, "output_size", name)
        self.output_ratio = ratio if ratio is None else tuple(ratio)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)

    def forward(self, input):
        fn = F.fractional_max_pool2d if self.n == 2 else F.fractional_max_pool3d
        return fn(input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
                  _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    """Fractional max pooling (Graham 2014) of (N, C, H, W) to output_size or output_ratio * (H, W)."""
    n = 2


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    """Fractional max pooling of (N, C, D, H, W) to output_size or output_ratio * (D, H, W)."""
    n = 3
