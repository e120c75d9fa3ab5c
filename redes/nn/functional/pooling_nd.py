"""Pooling built on gathered windows (redes.nn.functional.window): 3-D max/avg/adaptive pooling, the
*_with_indices variants, LP pooling, max_unpool and fractional max pooling, as torch.nn.functional.

Each is a composition: gather every window's values, then a max (the first maximum in window order gets
the gradient, as torch) or a sum; so the backward passes come from gather/scatter ops.
"""
import math

import numpy as np

from ... import backend as B
from ...ops.unpool import MaxUnpool as _MaxUnpool
from ...tensor import Tensor
from . import pooling as _P
from .conv import _ntuple
from .window import window_geometry, windows

__all__ = ["max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices", "lp_pool1d", "lp_pool2d",
           "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d", "fractional_max_pool2d",
           "fractional_max_pool3d", "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]


def _batched(input, spatial, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (spatial + 1, spatial + 2) or 0 in input.shape[-spatial:]:
        raise RuntimeError(f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input with non-zero spatial size, "
                           f"got shape {tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    return (input.unsqueeze(0), True) if input.ndim == spatial + 1 else (input, False)


def _max_of(win, flat_index, unbatched, return_indices):
    """The max of each window (N, C, *out, K) and, if asked, its flat position (from flat_index)."""
    am = B.xp.argmax(win.array, axis=-1)[..., None]                   # first maximum, as torch
    y = win.gather(win.ndim - 1, am).squeeze(-1)
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    idx = B.xp.take_along_axis(B.xp.broadcast_to(flat_index, win.shape), am, -1)[..., 0].astype(np.int64)
    return y, Tensor._wrap(B.xp.asarray(idx[0] if unbatched else idx))


# ----------------------------------------------------------------------------------- 3-D max / avg
def _window_args(kernel_size, stride, padding, dilation, n, op, max_pool):
    k = _ntuple(n, kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else \
        _ntuple(n, stride, "stride", op)
    p, d = _ntuple(n, padding, "padding", op), _ntuple(n, dilation, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding non-negative, got "
                         f"kernel_size={k}, stride={s}, padding={p}, dilation={d}")
    for kk, pp, dd in zip(k, p, d):
        if pp > (dd * (kk - 1) + 1) // 2:
            raise ValueError(f"{op}: pad should be at most half of {'effective ' if max_pool else ''}kernel size, "
                             f"but got pad={pp}, kernel_size={kk}" + (f" and dilation={dd}" if max_pool else ""))
    return k, s, p, d


def _check_out(sizes, k, s, p, d, ceil_mode, op):
    from ...ops.conv import out_size
    out = tuple(out_size(n, pp, pp, kk, ss, dd, ceil_mode) for n, kk, ss, pp, dd in zip(sizes, k, s, p, d))
    if min(out) < 1:
        raise RuntimeError(f"{op}: input of spatial size {sizes} with kernel {k}, stride {s}, padding {p}, "
                           f"dilation {d} gives output size {out}: too small")


def _unpadded_index(flat, padded, padding, sizes):
    """Flat positions in the padded block -> flat positions in the input (padding cells never win a max)."""
    coords = B.xp.unravel_index(flat, padded)
    coords = tuple(B.xp.clip(c - p, 0, n - 1) for c, p, n in zip(coords, padding, sizes))
    return B.xp.ravel_multi_index(coords, sizes)


def _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, n, op):
    x, unbatched = _batched(input, n, op)
    k, s, p, d = _window_args(kernel_size, stride, padding, dilation, n, op, True)
    sizes = tuple(x.shape[2:])
    _check_out(sizes, k, s, p, d, ceil_mode, op)
    win, out, _ = windows(x, k, s, p, d, value=-math.inf, ceil_mode=ceil_mode)
    _, padded, flat, _ = window_geometry(sizes, k, s, p, d, ceil_mode)
    return _max_of(win, _unpadded_index(flat, padded, p, sizes), unbatched, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Max over (kd, kh, kw) windows of a (N, C, D, H, W) input (padding is -inf); the gradient goes to the first
    maximum of each window, as torch.

    Shape: (N, C, D, H, W) -> (N, C, Do, Ho, Wo), Do = (D + 2p - d(k-1) - 1) / s + 1 (floor, or ceil with ceil_mode)
    Example:
        >>> F.max_pool3d(rd.ones(1, 2, 4, 4, 4), 2).shape
        (1, 2, 2, 2, 2)
    """
    return _max_pool_nd(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 3, "max_pool3d")


def _divisors(sizes, out, k, s, p, count_include_pad):
    """torch's avg-pool divisor per output: the window clipped to the padded input, or to the input itself."""
    total = B.xp.ones(out)
    for dim, (n, o, kk, ss, pp) in enumerate(zip(sizes, out, k, s, p)):
        start = B.xp.arange(o) * ss - pp
        end = B.xp.minimum(start + kk, n + pp)
        size = end - start if count_include_pad else B.xp.minimum(end, n) - B.xp.maximum(start, 0)
        shape = [1] * len(out)
        shape[dim] = o
        total = total * size.reshape(shape)
    return total


def avg_pool3d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """Window sums of a (N, C, D, H, W) input divided by the window size (count_include_pad=True), its part inside
    the input (False), or divisor_override.

    Shape: (N, C, D, H, W) -> (N, C, (D + 2p - kd) / s + 1, ...)
    """
    op = "avg_pool3d"
    x, unbatched = _batched(input, 3, op)
    k, s, p, d = _window_args(kernel_size, stride, padding, 1, 3, op, False)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override <= 0):
        raise ValueError(f"{op}: divisor_override must be a positive integer, got {divisor_override!r}")
    sizes = tuple(x.shape[2:])
    _check_out(sizes, k, s, p, d, ceil_mode, op)
    win, out, _ = windows(x, k, s, p, d, ceil_mode=ceil_mode)
    div = divisor_override if divisor_override is not None else _divisors(sizes, out, k, s, p, count_include_pad)
    y = win.sum(-1) / B.xp.asarray(B.xp.asarray(div, x.dtype))
    return y.squeeze(0) if unbatched else y


# ----------------------------------------------------------------------------------- adaptive 3-D
def _adaptive_bounds(n, o):
    i = B.xp.arange(o)
    return (i * n) // o, -((-(i + 1) * n) // o)          # floor(i n / o), ceil((i + 1) n / o)


def adaptive_avg_pool3d(input, output_size):
    """Mean over adaptive windows [floor(i D / out), ceil((i + 1) D / out)) per dim.

    A box mean is a mean per dim in turn, each one a matmul with an averaging matrix.
    Shape: (N, C, D, H, W) -> (N, C, *output_size) (None in output_size keeps that dim).
    """
    op = "adaptive_avg_pool3d"
    x, unbatched = _batched(input, 3, op)
    out = _P._adaptive_size(output_size, x.shape[2:], 3, op)
    y = x
    for dim, o in enumerate(out):
        n = x.shape[2 + dim]
        lo, hi = _adaptive_bounds(n, o)
        j = B.xp.arange(n)
        avg = ((j >= lo[:, None]) & (j < hi[:, None])) / (hi - lo)[:, None]          # (o, n)
        y = (y.transpose(2 + dim, -1) @ B.xp.asarray(avg.T.astype(x.dtype))).transpose(2 + dim, -1)
    return y.squeeze(0) if unbatched else y


def _adaptive_max(input, output_size, return_indices, n, op):
    x, unbatched = _batched(input, n, op)
    sizes = tuple(x.shape[2:])
    out = _P._adaptive_size(output_size, sizes, n, op)
    # every window padded to the largest one by repeating its last cell (a repeat never changes the max,
    # and the first maximum stays the first)
    pos = []
    for size, o in zip(sizes, out):
        lo, hi = _adaptive_bounds(size, o)
        width = int((hi - lo).max())
        pos.append(B.xp.minimum(lo[:, None] + B.xp.arange(width)[None, :], hi[:, None] - 1))
    grids = []
    for dim, p in enumerate(pos):
        shape = [1] * (2 * n)
        shape[dim], shape[n + dim] = p.shape
        grids.append(p.reshape(shape))
    flat = B.xp.ravel_multi_index(B.xp.broadcast_arrays(*grids), sizes).reshape(out + (-1,))
    win = x.reshape(*x.shape[:2], -1)[:, :, B.xp.asarray(flat)]
    return _max_of(win, flat, unbatched, return_indices)


def adaptive_max_pool3d(input, output_size, return_indices=False):
    """Max over adaptive windows per dim. Shape: (N, C, D, H, W) -> (N, C, *output_size)."""
    return _adaptive_max(input, output_size, return_indices, 3, "adaptive_max_pool3d")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """max_pool1d returning (output, indices) always."""
    return _P.max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """max_pool2d returning (output, indices) always."""
    return _P.max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                            return_indices=False):
    """max_pool3d returning (output, indices) always."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool1d returning (output, indices) always."""
    return _P.adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool2d returning (output, indices) always."""
    return _P.adaptive_max_pool2d(input, output_size, True)


def adaptive_max_pool3d_with_indices(input, output_size, return_indices=False):
    """adaptive_max_pool3d returning (output, indices) always."""
    return adaptive_max_pool3d(input, output_size, True)


# ----------------------------------------------------------------------------------- LP pooling
def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, n, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if not isinstance(norm_type, (int, float)) or norm_type <= 0:
        raise ValueError(f"{op}: norm_type must be a positive number, got {norm_type!r}")
    k = _ntuple(n, kernel_size, "kernel_size", op)
    pool = {1: _P.avg_pool1d, 2: _P.avg_pool2d, 3: avg_pool3d}[n]
    out = pool(input ** norm_type, kernel_size, stride, 0, ceil_mode)
    # as torch: (sign(out) * relu(|out|)) * window size, then the 1/p power
    return (out.sign() * out.abs().relu() * math.prod(k)) ** (1.0 / norm_type)


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """Power-average pooling: (sum over each window of x^p)^(1/p) (p = inf is max pooling, p = 1 sum pooling).

    Shape: (N, C, L) -> (N, C, (L - k) / s + 1)
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each (kh, kw) window of x^p)^(1/p). Shape: (N, C, H, W) -> (N, C, Ho, Wo)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode=False):
    """(sum over each (kd, kh, kw) window of x^p)^(1/p). Shape: (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")


# ----------------------------------------------------------------------------------- max_unpool
def _max_unpool(input, indices, kernel_size, stride, padding, output_size, n, op):
    x, unbatched = _batched(input, n, op)
    if not isinstance(indices, Tensor) or indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer Tensor (from max_pool with return_indices=True)")
    idx = indices.array if not unbatched else indices.array[None]
    if idx.shape != tuple(x.shape):
        raise RuntimeError(f"{op}: indices of shape {tuple(indices.shape)} must match input of shape "
                           f"{tuple(input.shape)}")
    k = _ntuple(n, kernel_size, "kernel_size", op)
    s = k if stride is None else _ntuple(n, stride, "stride", op)
    p = _ntuple(n, padding, "padding", op)
    default = tuple((i - 1) * ss - 2 * pp + kk for i, kk, ss, pp in zip(x.shape[2:], k, s, p))
    if output_size is None:
        out = default
    else:
        out = tuple(output_size)[-n:]
        if len(tuple(output_size)) not in (n, n + 1, n + 2) or len(out) != n:
            raise ValueError(f"{op}: output_size must have {n}, {n + 1} or {n + 2} elements, got {output_size!r}")
        for o, dflt, ss in zip(out, default, s):
            if not dflt - ss < o < dflt + ss:
                raise ValueError(f"{op}: invalid output_size {tuple(output_size)} (dim size {o} must be between "
                                 f"{dflt - ss + 1} and {dflt + ss - 1})")
    total = math.prod(out)
    if idx.size and (idx.min() < 0 or idx.max() >= total):
        raise RuntimeError(f"{op}: found an invalid max index {int(idx.max())} (output volumes are of size "
                           f"{'x'.join(map(str, out))})")
    nb, c = x.shape[:2]
    y = _MaxUnpool.apply(x.reshape(nb, c, -1), index=idx.reshape(nb, c, -1), size=total).reshape(nb, c, *out)
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d: each value written at its index, zeros elsewhere.

    Shape: (N, C, L) -> (N, C, (L - 1) s - 2p + k) (or output_size)
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1, "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: values put back at their argmax positions, zeros elsewhere.

    Example:
        >>> y, i = F.max_pool2d(rd.randn(1, 1, 4, 4), 2, return_indices=True)
        >>> F.max_unpool2d(y, i, 2).shape
        (1, 1, 4, 4)
    """
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2, "max_unpool2d")


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool3d. Shape: (N, C, D, H, W) -> (N, C, Do, Ho, Wo)."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3, "max_unpool3d")


# ----------------------------------------------------------------------------------- fractional max pooling
def _intervals(sample, n_in, n_out, pool, dtype):
    """torch's generate_intervals: window starts from one uniform sample (Graham 2014, pseudo-random)."""
    seq = B.xp.empty(n_out, np.int64)
    if n_out > 1:
        alpha = dtype.type(n_in - pool) / dtype.type(n_out - 1)
        i = B.xp.arange(n_out - 1, dtype=dtype)
        seq[:-1] = ((i + sample) * alpha).astype(np.int64) - np.int64(dtype.type(sample * alpha))
    seq[-1] = n_in - pool
    return seq


def _fractional(input, kernel_size, output_size, output_ratio, return_indices, samples, n, op):
    x, unbatched = _batched(input, n, op)
    sizes = tuple(x.shape[2:])
    k = _ntuple(n, kernel_size, "kernel_size", op)
    if (output_size is None) == (output_ratio is None):
        raise ValueError(f"{op} requires specifying either an output_size or an output_ratio (exactly one), got "
                         f"output_size={output_size!r}, output_ratio={output_ratio!r}")
    if output_size is None:
        ratio = output_ratio if isinstance(output_ratio, (list, tuple)) else (output_ratio,) * n
        if len(ratio) != n or not all(0 < r < 1 for r in ratio):
            raise ValueError(f"{op}: output_ratio must be in (0, 1), one per dim, got {output_ratio!r}")
        out = tuple(int(sz * r) for sz, r in zip(sizes, ratio))
    else:
        out = _ntuple(n, output_size, "output_size", op)
    for sz, o, kk in zip(sizes, out, k):
        if o < 1 or o + kk - 1 > sz:
            raise RuntimeError(f"{op}: output size {out} with kernel_size {k} is too large for input {sizes} "
                               "(output + kernel_size - 1 must be <= input)")
    nb, c = x.shape[:2]
    if samples is None:
        from ...random import rng_for
        samples = Tensor._wrap(B.xp_of(x.array).asarray(rng_for(None, x.array).random((nb, c, n)).astype(x.dtype)))
    u = B.xp.asarray(samples.array if isinstance(samples, Tensor) else samples, x.dtype)
    if u.shape != (nb, c, n):
        raise RuntimeError(f"{op}: _random_samples must have shape {(nb, c, n)}, got {u.shape}")
    # per plane, per dim: window starts; torch pairs sample 0 with the last dim (W), then H (and T first in 3-D)
    order = list(range(n - 1, -1, -1)) if n == 2 else list(range(n))
    flat = B.xp.empty((nb, c) + out + (math.prod(k),), np.int64)
    taps = B.xp.stack(B.xp.meshgrid(*[B.xp.arange(kk) for kk in k], indexing="ij"), 0).reshape(n, -1)   # (n, K)
    for b in range(nb):
        for ch in range(c):
            starts = [_intervals(u[b, ch, order.index(d)], sizes[d], out[d], k[d], u.dtype) for d in range(n)]
            grid = B.xp.meshgrid(*starts, indexing="ij")                                     # n arrays of out
            coords = [g[..., None] + taps[d] for d, g in enumerate(grid)]                  # (*out, K)
            flat[b, ch] = B.xp.ravel_multi_index(coords, sizes)
    vals = x.reshape(nb, c, -1).gather(2, B.xp.asarray(flat.reshape(nb, c, -1))).reshape(*flat.shape)
    return _max_of(vals, flat, unbatched, return_indices)


def fractional_max_pool2d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Fractional max pooling (Graham 2014): (kh, kw) windows at pseudo-random starts that shrink the input to
    output_size (or output_ratio * input size). _random_samples (N, C, 2) in [0, 1) fixes the starts; else they
    are drawn from redes' generator.

    Shape: (N, C, H, W) -> (N, C, *output_size)
    """
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 2,
                       "fractional_max_pool2d")


def fractional_max_pool3d(input, kernel_size, output_size=None, output_ratio=None, return_indices=False,
                          _random_samples=None):
    """Fractional max pooling over (kt, kh, kw) windows; _random_samples has shape (N, C, 3)."""
    return _fractional(input, kernel_size, output_size, output_ratio, return_indices, _random_samples, 3,
                       "fractional_max_pool3d")


def fractional_max_pool2d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """fractional_max_pool2d returning (output, indices) always."""
    return fractional_max_pool2d(input, kernel_size, output_size, output_ratio, True, _random_samples)


def fractional_max_pool3d_with_indices(input, kernel_size, output_size=None, output_ratio=None,
                                       return_indices=False, _random_samples=None):
    """fractional_max_pool3d returning (output, indices) always."""
    return fractional_max_pool3d(input, kernel_size, output_size, output_ratio, True, _random_samples)
