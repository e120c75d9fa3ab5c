"""Sliding windows over the spatial dims of (N, C, *spatial), by composition: pad, then one gather.

`windows(x, ...)` returns (N, C, *out, K), K = prod(kernel), as one constant pad and one advanced-index
read of the flattened spatial dims; its gradient is that read's scatter-add (overlapping windows add up),
so every layer built on it (3-D pooling, conv3d, unfold/fold, ...) gets its backward from existing ops.
"""
import numpy as np

from ... import backend as B
from ...functions import pad
from ...ops.conv import out_size


def window_geometry(sizes, kernel, stride, padding, dilation, ceil_mode=False):
    """(out sizes, padded sizes, flat index (*out, K) into the padded spatial block, high-side pads).

    padding: one int per dim (both sides); with ceil_mode the last windows may run past the high pad, so
    the high side gets the extra cells they need.
    """
    out = tuple(out_size(n, p, p, k, s, d, ceil_mode)
                for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation))
    hi = tuple(max(p, (o - 1) * s + d * (k - 1) + 1 - n - p)
               for n, o, k, s, p, d in zip(sizes, out, kernel, stride, padding, dilation))
    padded = tuple(n + p + h for n, p, h in zip(sizes, padding, hi))
    n = len(sizes)
    place = B.xp.cumprod((1,) + padded[::-1])[:-1][::-1]           # row-major strides of the padded block
    flat = B.xp.zeros(out + tuple(kernel), np.int64)
    for d in range(n):
        pos = B.xp.arange(out[d])[:, None] * stride[d] + B.xp.arange(kernel[d])[None, :] * dilation[d]
        shape = [1] * (2 * n)
        shape[d], shape[n + d] = out[d], kernel[d]
        flat += pos.reshape(shape) * place[d]                    # broadcasts over the other dims
    flat = flat.reshape(out + (-1,))
    return out, padded, flat, hi


def windows(x, kernel, stride, padding, dilation, value=0.0, ceil_mode=False):
    """(N, C, *spatial) -> (N, C, *out, K): every window's values (cells outside the input = value)."""
    n = len(kernel)
    sizes = tuple(x.shape[2:])
    out, padded, flat, hi = window_geometry(sizes, kernel, stride, padding, dilation, ceil_mode)
    pads = []
    for p, h in zip(padding[::-1], hi[::-1]):
        pads += [p, h]
    if any(pads):
        x = pad(x, pads, value=value)
    xf = x.reshape(tuple(x.shape[:2]) + (int(np.prod(padded)),))
    return xf[:, :, B.xp.asarray(flat)], out, n
