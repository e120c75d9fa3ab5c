"""Convolutions as torch.nn.functional: conv1d, conv2d, conv_transpose1d, conv_transpose2d.

Each is one fused op of redes.ops.conv (im2col + one GEMM, channels-last inside); these functions check the
arguments, resolve padding ('valid', 'same', ints, tuples) and accept unbatched inputs as torch does.
"""
from ...ops import conv as _C
from ...tensor import Tensor

__all__ = ["conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d"]


def _ntuple(n, value, name, op):
    """An int or an n-sequence of ints -> an n-tuple of ints (torch's _single/_pair)."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{op}: {name} must be an int or a {n}-tuple, got {tuple(value)}")
        out = tuple(value)
    else:
        out = (value,) * n
    for v in out:
        if not isinstance(v, int) or isinstance(v, bool):
            raise TypeError(f"{op}: {name} must hold ints, got {value!r}")
    return out


def _single(value, name="argument", op="conv1d"):
    return _ntuple(1, value, name, op)


def _pair(value, name="argument", op="conv2d"):
    return _ntuple(2, value, name, op)


def conv_padding(padding, kernel, dilation, stride, op):
    """Padding as ((lo, hi), ...) per spatial dim, from an int, a tuple, 'valid' or 'same' (torch's rules).

    'same' pads d*(k-1) in total, the extra one on the high side when it is odd (as torch); strided convs
    cannot be 'same'.
    """
    n = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * n
        if padding != "same":
            raise ValueError(f"{op}: invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
        if any(s != 1 for s in stride):
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions (stride={stride})")
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    pads = _ntuple(n, padding, "padding", op)
    if any(p < 0 for p in pads):
        raise ValueError(f"{op}: padding must be non-negative, got {padding}")
    return tuple((p, p) for p in pads)


def _batched(input, weight, spatial, op):
    """Check ranks and dtypes; returns (input with a batch dim, whether one was added)."""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{op}: input and weight must be Tensors, got {type(input).__name__} and "
                        f"{type(weight).__name__}")
    if weight.ndim != spatial + 2:
        raise RuntimeError(f"{op}: weight must be {spatial + 2}-D, got shape {tuple(weight.shape)}")
    if input.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"{op}: expected {spatial + 1}-D (unbatched) or {spatial + 2}-D (batched) input, "
                           f"got input of shape {tuple(input.shape)}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"{op}: input is {input.dtype} but weight is {weight.dtype}; convert one with .to(dtype)")
    if input.ndim == spatial + 1:
        return input.unsqueeze(0), True
    return input, False


def _check_bias(bias, n, op):
    if bias is not None and tuple(bias.shape) != (n,):
        raise RuntimeError(f"{op}: bias must have shape ({n},), got {tuple(bias.shape)}")


def _check_conv_shapes(x, weight, bias, groups, pads, kernel, dilation, op):
    """Groups, channels, bias and the padded input against the dilated kernel, with the shapes in each message."""
    c, cg, o = x.shape[1], weight.shape[1], weight.shape[0]
    if not isinstance(groups, int) or groups < 1 or o % groups:
        raise RuntimeError(f"{op}: groups={groups} must be a positive divisor of out_channels={o}")
    if c != cg * groups:
        raise RuntimeError(f"{op}: given groups={groups}, weight of shape {tuple(weight.shape)} expects input with "
                           f"{cg * groups} channels, got input of shape {tuple(x.shape)}")
    _check_bias(bias, o, op)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], pads))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < e for p, e in zip(padded, extent)):
        raise RuntimeError(f"{op}: padded input size per channel {padded} is smaller than the dilated kernel {extent} "
                           f"(input {tuple(x.shape)}, weight {tuple(weight.shape)})")


def _transposed_args(stride, dilation, padding, output_padding, n, op):
    """A transposed conv's stride, dilation, padding and output_padding as n-tuples, checked as torch does."""
    stride, dilation = _ntuple(n, stride, "stride", op), _ntuple(n, dilation, "dilation", op)
    pads, out_pad = _ntuple(n, padding, "padding", op), _ntuple(n, output_padding, "output_padding", op)
    if min(stride) < 1 or min(dilation) < 1 or min(pads) < 0:
        raise ValueError(f"{op}: stride and dilation must be positive and padding non-negative, got "
                         f"stride={stride}, dilation={dilation}, padding={pads}")
    for o_p, s, d in zip(out_pad, stride, dilation):
        if not 0 <= o_p < max(s, d):
            raise ValueError(f"{op}: output padding must be smaller than either stride or dilation, got "
                             f"output_padding={out_pad}, stride={stride}, dilation={dilation}")
    return stride, dilation, pads, out_pad


def _conv(input, weight, bias, stride, padding, dilation, groups, spatial, op):
    x, unbatched = _batched(input, weight, spatial, op)
    to_t = _single if spatial == 1 else _pair
    kernel = tuple(weight.shape[2:])
    stride, dilation = to_t(stride, "stride", op), to_t(dilation, "dilation", op)
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride and dilation must be positive, got stride={stride}, dilation={dilation}")
    pads = conv_padding(padding, kernel, dilation, stride, op)
    _check_conv_shapes(x, weight, bias, groups, pads, kernel, dilation, op)
    if spatial == 1:
        stride, dilation, pads = (1,) + stride, (1,) + dilation, ((0, 0),) + pads
    op_cls = _C.Conv1dOp if spatial == 1 else _C.Conv2dOp
    y = op_cls.apply(x, weight, bias, stride=stride, padding=pads, dilation=dilation, groups=groups)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation: y[n, o, l] = b[o] + sum_{c, t} W[o, c, t] x[n, g(o) + c, l*s + t*d - p].

    Args: input (N, C_in, L) or (C_in, L); weight (C_out, C_in / groups, k); bias (C_out) or None;
          stride, padding (int, 'valid' or 'same'), dilation, groups as torch.
    Shape: (N, C_in, L) -> (N, C_out, (L + 2p - d(k-1) - 1) // s + 1)
    Example:
        >>> F.conv1d(rd.ones(2, 3, 10), rd.ones(4, 3, 3)).shape
        (2, 4, 8)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation: y[n, o, i, j] = b[o] + sum_{c, u, v} W[o, c, u, v] x[n, g(o) + c, i*s + u*d - p, ...].

    Args: input (N, C_in, H, W) or (C_in, H, W); weight (C_out, C_in / groups, kh, kw); bias (C_out) or None;
          stride (int or pair), padding (int, pair, 'valid' or 'same'), dilation (int or pair), groups.
    Shape: (N, C_in, H, W) -> (N, C_out, (H + 2p - d(kh-1) - 1) // s + 1, ...)
    Example:
        >>> F.conv2d(rd.ones(2, 1, 28, 28), rd.ones(16, 1, 3, 3), padding=1).shape
        (2, 16, 28, 28)
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def transposed_out_size(size, k, s, p, op_, d):
    """(size - 1) s - 2p + d (k - 1) + output_padding + 1: the input size of the conv this transposes."""
    return (size - 1) * s - 2 * p + d * (k - 1) + op_ + 1


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, spatial, op):
    x, unbatched = _batched(input, weight, spatial, op)
    kernel = tuple(weight.shape[2:])
    stride, dilation, pads, out_pad = _transposed_args(stride, dilation, padding, output_padding, spatial, op)
    c = x.shape[1]
    if not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        raise RuntimeError(f"{op}: groups={groups} must be a positive divisor of in_channels={weight.shape[0]}")
    if c != weight.shape[0]:
        raise RuntimeError(f"{op}: weight of shape {tuple(weight.shape)} expects input with {weight.shape[0]} "
                           f"channels, got input of shape {tuple(x.shape)}")
    _check_bias(bias, weight.shape[1] * groups, op)
    out_hw = tuple(transposed_out_size(*a) for a in zip(x.shape[2:], kernel, stride, pads, out_pad, dilation))
    if min(out_hw) < 1:
        raise RuntimeError(f"{op}: output size {out_hw} is too small (input {tuple(x.shape)}, padding {pads})")
    if spatial == 1:
        stride, dilation, pads, out_hw = (1,) + stride, (1,) + dilation, (0,) + pads, (1,) + out_hw
    y = (_C.ConvTranspose1dOp if spatial == 1 else _C.ConvTranspose2dOp).apply(
        x, weight, bias, stride=stride, padding=tuple((p, p) for p in pads), dilation=dilation, groups=groups,
        out_hw=out_hw)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """1-D transposed convolution (the gradient of conv1d with respect to its input).

    Args: input (N, C_in, L); weight (C_in, C_out / groups, k); bias (C_out) or None.
    Shape: (N, C_in, L) -> (N, C_out, (L - 1) s - 2p + d (k - 1) + output_padding + 1)
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input; "deconvolution").

    Args: input (N, C_in, H, W); weight (C_in, C_out / groups, kh, kw); bias (C_out) or None; stride, padding,
          output_padding (extra rows/cols at the end, < stride or dilation), groups, dilation.
    Shape: (N, C_in, H, W) -> (N, C_out, (H - 1) s - 2p + d (kh - 1) + output_padding + 1, ...)
    Example:
        >>> F.conv_transpose2d(rd.ones(1, 4, 7, 7), rd.ones(4, 2, 3, 3), stride=2, padding=1, output_padding=1).shape
        (1, 2, 14, 14)
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")
