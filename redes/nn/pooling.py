"""Pooling layers, as torch.nn: MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d.

Each layer stores its arguments as torch does (so repr matches) and calls one F function.
"""
from . import _checks
from . import functional as F
from .functional.conv import _single
from .functional.pooling import _window_args
from .module import Module

__all__ = ["MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
           "AdaptiveMaxPool1d", "AdaptiveMaxPool2d"]


class _MaxPoolNd(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        _window_args(kernel_size, stride, padding, dilation, self.n, type(self).__name__, True)   # torch: at forward
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
    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        _window_args(kernel_size, stride, padding, 1, 2, "AvgPool2d", False)
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
        _checks.output_size(type(self).__name__, output_size, 2 if type(self).__name__.endswith("2d") else 1)
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
