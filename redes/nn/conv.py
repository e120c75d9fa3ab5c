"""Convolution layers, as torch.nn: Conv1d/2d/3d, ConvTranspose1d/2d/3d.

Each layer owns weight and bias (same names, shapes and initialisation as torch) and calls one F function.
padding_mode 'reflect' / 'replicate' / 'circular' pads with F.pad first, as torch does.
"""
import math

from . import _checks
from . import functional as F
from . import init
from .functional.conv import _ntuple, conv_padding, transposed_out_size
from .linear import _empty_param
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"]

_MODES = ("zeros", "reflect", "replicate", "circular")


class _ConvNd(Module):
    """Shared constructor, init, checks and repr of the conv layers (n = number of spatial dims)."""
    n = 2
    transposed = False

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", output_padding=0, device=None, dtype=None, rng=None):
        name, n = type(self).__name__, self.n
        for arg, v in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {v!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _MODES:
            raise ValueError(f"{name}: padding_mode must be one of {list(_MODES)}, got {padding_mode!r}")
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = _checks.int_tuple(name, "kernel_size", kernel_size, n, 1)
        self.stride = _checks.int_tuple(name, "stride", stride, n, 1)
        self.dilation = _checks.int_tuple(name, "dilation", dilation, n, 1)
        # resolves and checks 'same' / 'valid' / ints now, so a bad argument fails at construction as in torch
        pads = conv_padding(padding, self.kernel_size, self.dilation, self.stride, name)
        self.padding = padding if isinstance(padding, str) else _ntuple(n, padding, "padding", name)
        self._pads = pads
        self._reversed_padding_repeated_twice = tuple(v for lo_hi in reversed(pads) for v in lo_hi)
        self.output_padding = _checks.int_tuple(name, "output_padding", output_padding, n, 0)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{name}: output_padding must be smaller than either stride or dilation, got "
                             f"output_padding={output_padding!r}, stride={stride!r}, dilation={dilation!r}")
        self.groups, self.padding_mode = groups, padding_mode
        shape = ((in_channels, out_channels // groups) if self.transposed else
                 (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = _empty_param(shape, dtype)
        self.bias = _empty_param((out_channels,), dtype) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        """As torch: weight ~ kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)); bias ~ U(+-1/sqrt(fan_in))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=rng)
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def _check_input(self, input):
        n, name = self.n, type(self).__name__
        dims = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[n]
        if input.ndim not in (n + 1, n + 2):
            raise RuntimeError(f"{name}: expected a {n + 1}-D (C, {', '.join(dims)}) or {n + 2}-D "
                               f"(N, C, {', '.join(dims)}) input, got shape {tuple(input.shape)}")
        c = input.shape[-n - 1]
        if c != self.in_channels:
            raise RuntimeError(f"{name}: expected input with {self.in_channels} channels (shape "
                               f"(N, {self.in_channels}, {', '.join(dims)})), got {tuple(input.shape)}")

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self.n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self.n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1,
                 bias=True, padding_mode="zeros", device=None, dtype=None, *, rng=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, 0, device, dtype, rng)

    def forward(self, input):
        self._check_input(input)
        fn = (F.conv1d, F.conv2d, F.conv3d)[self.n - 1]
        if self.padding_mode != "zeros":
            input = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return fn(input, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return fn(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L), as torch.nn.Conv1d.

    Args: in_channels, out_channels, kernel_size; stride=1; padding=0 (int, 'valid' or 'same'); dilation=1;
          groups=1; bias=True; padding_mode='zeros' ('reflect', 'replicate', 'circular'); dtype; rng.
    Init (as torch): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels/groups * k.
    Shape: (N, C_in, L) -> (N, C_out, (L + 2p - d(k-1) - 1) // s + 1)
    Example:
        >>> rd.nn.Conv1d(3, 8, 5, padding="same")(rd.zeros(2, 3, 20)).shape
        (2, 8, 20)
    """
    n = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C_in, H, W), as torch.nn.Conv2d.

    Args: in_channels, out_channels, kernel_size (int or pair); stride=1; padding=0 (int, pair, 'valid' or
          'same'); dilation=1; groups=1; bias=True; padding_mode='zeros' ('reflect', 'replicate',
          'circular'); dtype; rng (numpy Generator for the initialisation).
    Init (as torch): weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels/groups * kh*kw.
    Shape: (N, C_in, H, W) -> (N, C_out, (H + 2p - d(kh-1) - 1) // s + 1, (W + ...) // s + 1)
    Example:
        >>> rd.nn.Conv2d(1, 16, 3, padding=1)
        Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    """
    n = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C_in, D, H, W), as torch.nn.Conv3d (same arguments as Conv2d, triples).

    Shape: (N, C_in, D, H, W) -> (N, C_out, (D + 2p - d(kd-1) - 1) // s + 1, ...)
    Example:
        >>> rd.nn.Conv3d(2, 4, 3, padding=1)(rd.zeros(1, 2, 4, 4, 4)).shape
        (1, 4, 4, 4, 4)
    """
    n = 3


class _ConvTranspose(_ConvNd):
    transposed = True

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, output_padding=0, groups=1,
                 bias=True, dilation=1, padding_mode="zeros", device=None, dtype=None, *, rng=None):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}, got {padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
                         padding_mode, output_padding, device, dtype, rng)

    def _output_padding(self, input, output_size):
        """output_padding from a requested output_size (torch's rule: within [min, min + stride - 1])."""
        if output_size is None:
            return self.output_padding
        n = self.n
        output_size = tuple(output_size)[-n:]
        if len(output_size) != n:
            raise ValueError(f"{type(self).__name__}: output_size must have {n} or {n + 2} elements, got {output_size}")
        pads = []
        for i in range(n):
            lo = transposed_out_size(input.shape[-n + i], self.kernel_size[i], self.stride[i], self.padding[i], 0,
                                     self.dilation[i])
            hi = lo + self.stride[i] - 1
            if not lo <= output_size[i] <= hi:
                raise ValueError(f"{type(self).__name__}: requested output size {output_size}, but valid sizes "
                                 f"range from {lo} to {hi} in dim {i} (for an input of shape {tuple(input.shape)})")
            pads.append(output_size[i] - lo)
        return tuple(pads)

    def forward(self, input, output_size=None):
        self._check_input(input)
        out_pad = self._output_padding(input, output_size)
        fn = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[self.n - 1]
        return fn(input, self.weight, self.bias, self.stride, self.padding, out_pad, self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution, as torch.nn.ConvTranspose1d (weight (C_in, C_out/groups, k)).

    Shape: (N, C_in, L) -> (N, C_out, (L - 1) s - 2p + d (k - 1) + output_padding + 1)
    """
    n = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution ("deconvolution"), as torch.nn.ConvTranspose2d.

    Args: in_channels, out_channels, kernel_size; stride=1; padding=0; output_padding=0; groups=1; bias=True;
          dilation=1; padding_mode='zeros' (the only one, as torch); dtype; rng.
    Init (as torch): kaiming_uniform_(a=sqrt(5)) on weight (C_in, C_out/groups, kh, kw), whose fan_in is
          C_out/groups * kh * kw; bias ~ U(+-1/sqrt(fan_in)).
    Shape: (N, C_in, H, W) -> (N, C_out, (H - 1) s - 2p + d (kh - 1) + output_padding + 1, ...)
    forward(input, output_size=None): output_size picks output_padding, as torch.
    Example:
        >>> rd.nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)(rd.zeros(1, 8, 7, 7)).shape
        (1, 4, 14, 14)
    """
    n = 2


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution, as torch.nn.ConvTranspose3d (weight (C_in, C_out/groups, kd, kh, kw)).

    Shape: (N, C_in, D, H, W) -> (N, C_out, (D - 1) s - 2p + d (kd - 1) + output_padding + 1, ...)
    """
    n = 3
