"""3-D convolutions and conv_tbc as torch.nn.functional, by composition: gather every window
(redes.nn.functional.window), then one batched matmul per group. conv_transpose3d scatters each input
position's contribution (x * W) into the output, the adjoint of that gather. Gradients come from the
gather / matmul / scatter ops they are made of.
"""
import math

from ... import backend as B
from ...tensor import Tensor
from .conv import _batched, _check_bias, _check_conv_shapes, _ntuple, _transposed_args, conv1d, conv_padding, transposed_out_size
from .window import windows

__all__ = ["conv3d", "conv_transpose3d", "conv_tbc"]


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """3-D cross-correlation over (N, C_in, D, H, W) (or unbatched (C_in, D, H, W)).

    Args: weight (C_out, C_in / groups, kd, kh, kw); bias (C_out) or None; stride, padding (int, triple, 'valid'
          or 'same'), dilation, groups as torch.
    Shape: (N, C_in, D, H, W) -> (N, C_out, (D + 2p - d(kd-1) - 1) // s + 1, ...)
    Example:
        >>> F.conv3d(rd.ones(1, 2, 5, 5, 5), rd.ones(4, 2, 3, 3, 3)).shape
        (1, 4, 3, 3, 3)
    """
    op = "conv3d"
    x, unbatched = _batched(input, weight, 3, op)
    kernel = tuple(weight.shape[2:])
    stride, dilation = _ntuple(3, stride, "stride", op), _ntuple(3, dilation, "dilation", op)
    if min(stride) < 1 or min(dilation) < 1:
        raise ValueError(f"{op}: stride and dilation must be positive, got stride={stride}, dilation={dilation}")
    pads = conv_padding(padding, kernel, dilation, stride, op)
    n, c = x.shape[:2]
    o, cg = weight.shape[:2]
    _check_conv_shapes(x, weight, bias, groups, pads, kernel, dilation, op)
    if any(lo or hi for lo, hi in pads):
        from ...functions import pad
        x = pad(x, [v for lo_hi in reversed(pads) for v in lo_hi])
    win, out, _ = windows(x, kernel, stride, (0, 0, 0), dilation)       # (N, C, oD, oH, oW, K)
    k, length = math.prod(kernel), math.prod(out)
    cols = win.reshape(n, groups, cg, length, k).permute(0, 1, 3, 2, 4).reshape(n, groups, length, cg * k)
    w = weight.reshape(groups, o // groups, cg * k).transpose(1, 2)       # (G, Cg K, Og)
    y = (cols @ w).permute(0, 1, 3, 2).reshape(n, o, *out)
    if bias is not None:
        y = y + bias.reshape(o, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """3-D transposed convolution (the gradient of conv3d with respect to its input).

    Args: input (N, C_in, D, H, W); weight (C_in, C_out / groups, kd, kh, kw); bias (C_out) or None.
    Shape: (N, C_in, D, H, W) -> (N, C_out, (D - 1) s - 2p + d (kd - 1) + output_padding + 1, ...)
    """
    op = "conv_transpose3d"
    x, unbatched = _batched(input, weight, 3, op)
    kernel = tuple(weight.shape[2:])
    stride, dilation, pads, out_pad = _transposed_args(stride, dilation, padding, output_padding, 3, op)
    n, c = x.shape[:2]
    if not isinstance(groups, int) or groups < 1 or weight.shape[0] % groups:
        raise RuntimeError(f"{op}: groups={groups} must be a positive divisor of in_channels={weight.shape[0]}")
    if c != weight.shape[0]:
        raise RuntimeError(f"{op}: weight of shape {tuple(weight.shape)} expects input with {weight.shape[0]} "
                           f"channels, got input of shape {tuple(x.shape)}")
    og = weight.shape[1]
    o = og * groups
    _check_bias(bias, o, op)
    out = tuple(transposed_out_size(*a) for a in zip(x.shape[2:], kernel, stride, pads, out_pad, dilation))
    if min(out) < 1:
        raise RuntimeError(f"{op}: output size {out} is too small (input {tuple(x.shape)}, padding {pads})")
    full = tuple(v + 2 * p for v, p in zip(out, pads))          # before cropping the padding
    # flat index in `full` of (input position l, tap t): sum over dims of (i * s + t * d) * place
    place = [full[1] * full[2], full[2], 1]
    flat = B.xp.zeros(tuple(x.shape[2:]) + kernel, B.xp.int64)
    for dim in range(3):
        pos = B.xp.arange(x.shape[2 + dim])[:, None] * stride[dim] + B.xp.arange(kernel[dim])[None, :] * dilation[dim]
        shape = [1] * 6
        shape[dim], shape[3 + dim] = x.shape[2 + dim], kernel[dim]
        flat = flat + pos.reshape(shape) * place[dim]
    length, k = math.prod(x.shape[2:]), math.prod(kernel)
    cg = c // groups
    xs = x.reshape(n, groups, cg, length).transpose(2, 3)                           # (N, G, L, Cg)
    w = weight.reshape(groups, cg, og * k)                                          # (G, Cg, Og K)
    cols = (xs @ w).reshape(n, groups, length, og, k).permute(0, 1, 3, 2, 4).reshape(n, o, length * k)
    index = B.xp.broadcast_to(flat.reshape(1, 1, -1), (n, o, length * k))
    y = Tensor._wrap(B.xp.zeros((n, o, math.prod(full)), x.dtype)).scatter_add(2, index, cols).reshape(n, o, *full)
    y = y[:, :, pads[0]:pads[0] + out[0], pads[1]:pads[1] + out[1], pads[2]:pads[2] + out[2]]
    if bias is not None:
        y = y + bias.reshape(o, 1, 1, 1)
    return y.squeeze(0) if unbatched else y


def conv_tbc(input, weight, bias, pad=0):
    """1-D convolution in time-batch-channel layout: input (T, B, C_in), weight (k, C_in, C_out), bias (C_out).

    Shape: (T, B, C_in) -> (T + 2 pad - k + 1, B, C_out)
    """
    for name, t in (("input", input), ("weight", weight), ("bias", bias)):
        if not isinstance(t, Tensor):
            raise TypeError(f"conv_tbc: {name} must be a Tensor, got {type(t).__name__}")
    if input.ndim != 3 or weight.ndim != 3 or bias.ndim != 1:
        raise RuntimeError(f"conv_tbc: expected input (T, B, C_in), weight (k, C_in, C_out) and bias (C_out), got "
                           f"{tuple(input.shape)}, {tuple(weight.shape)} and {tuple(bias.shape)}")
    y = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return y.permute(2, 0, 1)
