"""Counting and binning (unique, bincount, histc, histogram, searchsorted), frexp and vander, and differences
and integrals (diff, trapezoid, gradient), covariance and renorm.
"""
import builtins
from collections import namedtuple

import numpy as np

from .. import backend as B
from ..tensor import Tensor, _arr, _dim, _index_array
from ._common import _cat, _long
from .linalg import diagonal

HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])
FrexpResult = namedtuple("frexp", ["mantissa", "exponent"])


# ------------------------------------------------------------------------------------- numbers and counting


def unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):
    a = x.array
    if dim is None:
        vals, inv, counts = B.xp.unique(a.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(a.shape)
    else:
        d = _dim(dim, x.ndim, "unique")
        vals, inv, counts = B.xp.unique(a, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = [Tensor._wrap(vals)]
    if return_inverse:
        out.append(_long(inv))
    if return_counts:
        out.append(_long(counts))
    return out[0] if len(out) == 1 else tuple(out)


def unique_consecutive(x, return_inverse=False, return_counts=False, dim=None):
    a = x.array if dim is None else B.xp.moveaxis(x.array, _dim(dim, x.ndim, "unique_consecutive"), 0)
    flat = a.reshape(-1) if dim is None else a.reshape(a.shape[0], -1)
    if flat.shape[0] == 0:
        change = B.xp.zeros(0, bool)
    else:
        diff = flat[1:] != flat[:-1]
        change = B.xp.concatenate([[True], diff if dim is None else diff.any(axis=1)])
    starts = B.xp.nonzero(change)[0]
    vals = a[starts] if dim is not None else flat[starts]
    if dim is not None:
        vals = B.xp.moveaxis(vals, 0, _dim(dim, x.ndim, "unique_consecutive"))
    out = [Tensor._wrap(vals)]
    if return_inverse:
        inv = B.xp.cumsum(change) - 1
        out.append(_long(inv.reshape(x.shape) if dim is None else inv))
    if return_counts:
        out.append(_long(B.xp.diff(B.xp.append(starts, flat.shape[0]))))
    return out[0] if len(out) == 1 else tuple(out)


def bincount(x, weights=None, minlength=0):
    a = _index_array(x, "bincount")
    if a.ndim != 1 or (a.size and a.min() < 0):
        raise RuntimeError("bincount: input must be a 1-D tensor of non-negative integers")
    w = None if weights is None else _arr(weights)
    out = B.xp.bincount(a, w, minlength)
    if w is not None and w.dtype == np.float32:
        out = out.astype(np.float32)
    return Tensor._wrap(out)


def histc(x, bins=100, min=0, max=0):
    a = x.array
    lo, hi = float(min), float(max)
    if lo == hi and a.size:
        lo, hi = float(a.min()), float(a.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    counts, _ = B.xp.histogram(a, bins=bins, range=(lo, hi))
    return Tensor._wrap(counts.astype(x.dtype))


def histogram(x, bins=100, *, range=None, weight=None, density=False):
    b = _arr(bins)
    counts, edges = B.xp.histogram(x.array, bins=b, range=range, weights=None if weight is None else _arr(weight),
                                   density=density)
    return HistogramResult(Tensor._wrap(counts.astype(x.dtype)), Tensor._wrap(edges.astype(x.dtype)))


def searchsorted(sorted_sequence, values, *, out_int32=False, right=False, side=None, sorter=None):
    s = _arr(sorted_sequence)
    v = B.xp.asarray(_arr(values))
    side = side or ("right" if right else "left")
    if sorter is not None:
        s = B.xp.take_along_axis(s, _arr(sorter), -1)
    if s.ndim == 1:
        out = B.xp.searchsorted(s, v, side=side)
    else:
        flat_s, flat_v = s.reshape(-1, s.shape[-1]), v.reshape(-1, v.shape[-1])
        out = B.xp.stack([B.xp.searchsorted(r, q, side=side) for r, q in zip(flat_s, flat_v)]).reshape(v.shape)
    return Tensor._wrap(B.xp.asarray(out, dtype=np.int32 if out_int32 else np.int64))


def bucketize(input, boundaries, *, out_int32=False, right=False):
    return searchsorted(boundaries, input, out_int32=out_int32, side="left" if not right else "right")


def frexp(x):
    mantissa, exponent = B.xp.frexp(x.array)
    return FrexpResult(Tensor._wrap(mantissa), Tensor._wrap(exponent.astype(np.int32)))


def vander(x, N=None, increasing=False):
    n = x.shape[0] if N is None else N
    powers = B.xp.arange(n) if increasing else B.xp.arange(n - 1, -1, -1)
    if x.dtype.kind in "iub":
        return Tensor._wrap(x.array[:, None] ** powers[None, :])
    return x.unsqueeze(1) ** Tensor._wrap(powers.astype(x.dtype))


# ------------------------------------------------------------------------------------- differences and integrals


def diff(x, n=1, dim=-1, prepend=None, append=None):
    d = _dim(dim, x.ndim, "diff")
    parts = [t for t in (prepend, x, append) if t is not None]
    if len(parts) > 1:
        x = _cat([p if isinstance(p, Tensor) else Tensor._wrap(B.xp.asarray(p, dtype=x.dtype)) for p in parts], d)
    for _ in range(n):
        later, earlier = x.narrow(d, 1, x.shape[d] - 1), x.narrow(d, 0, x.shape[d] - 1)
        x = later - earlier if x.dtype.kind != "b" else later ^ earlier           # bool: torch's diff is xor
    return x


def trapezoid(y, x=None, *, dx=None, dim=-1):
    d = _dim(dim, y.ndim, "trapezoid")
    n = y.shape[d]
    mid = y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)
    if x is None:
        return (mid * (0.5 * (1 if dx is None else dx))).sum(d)
    widths = diff(x, dim=-1 if x.ndim == 1 else d)
    if x.ndim == 1:
        widths = widths.reshape((-1,) + (1,) * (y.ndim - 1 - d))
    return (mid * widths * 0.5).sum(d)


trapz = trapezoid


def cumulative_trapezoid(y, x=None, *, dx=None, dim=-1):
    d = _dim(dim, y.ndim, "cumulative_trapezoid")
    n = y.shape[d]
    mid = y.narrow(d, 1, n - 1) + y.narrow(d, 0, n - 1)
    if x is None:
        return (mid * (0.5 * (1 if dx is None else dx))).cumsum(d)
    widths = diff(x, dim=-1 if x.ndim == 1 else d)
    if x.ndim == 1:
        widths = widths.reshape((-1,) + (1,) * (y.ndim - 1 - d))
    return (mid * widths * 0.5).cumsum(d)


def gradient(input, *, spacing=1, dim=None, edge_order=1):
    """Central differences inside, one-sided at the edges (edge_order=1), one tensor per dim."""
    if edge_order != 1:
        raise NotImplementedError("gradient: only edge_order=1 is implemented")
    dims = list(range(input.ndim)) if dim is None else ([dim] if isinstance(dim, int) else list(dim))
    steps = spacing if isinstance(spacing, (list, tuple)) else [spacing] * len(dims)
    out = []
    for d, h in zip(dims, steps):
        d = _dim(d, input.ndim, "gradient")
        n = input.shape[d]
        if n < 2:
            raise RuntimeError(f"gradient: dim {d} needs at least 2 points, got {n}")
        h = float(h.item() if isinstance(h, Tensor) else h)
        first = (input.narrow(d, 1, 1) - input.narrow(d, 0, 1)) / h
        last = (input.narrow(d, n - 1, 1) - input.narrow(d, n - 2, 1)) / h
        inner_ = (input.narrow(d, 2, n - 2) - input.narrow(d, 0, n - 2)) / (2 * h)
        out.append(_cat([first, inner_, last], d))
    return tuple(out)


def cov(x, *, correction=1, fweights=None, aweights=None):
    """Covariance of the variables in the rows of x (observations in columns)."""
    x2 = x.reshape(1, -1) if x.ndim < 2 else x
    n = x2.shape[1]
    w = None
    if fweights is not None:
        w = fweights.to(x.dtype)
    if aweights is not None:
        w = aweights if w is None else w * aweights
    if w is None:
        mean = x2.mean(1, keepdim=True)
        xc = x2 - mean
        c = (xc @ xc.T) / builtins.max(n - correction, 0)
        return c.squeeze() if x.ndim < 2 else c
    wsum = w.sum()
    mean = (x2 * w).sum(1, keepdim=True) / wsum
    xc = x2 - mean
    norm = wsum - correction * ((w * aweights).sum() / wsum if aweights is not None else 1)
    c = (xc * w) @ xc.T / norm
    return c.squeeze() if x.ndim < 2 else c


def corrcoef(x):
    c = cov(x)
    if c.ndim == 0:
        return c / c
    d = diagonal(c).sqrt()
    return (c / d.unsqueeze(1) / d.unsqueeze(0)).clamp(-1, 1)


def renorm(x, p, dim, maxnorm):
    """Each slice along dim rescaled to p-norm at most maxnorm."""
    d = _dim(dim, x.ndim, "renorm")
    others = tuple(i for i in range(x.ndim) if i != d)
    norms = x.norm(p, dim=others, keepdim=True)
    big = norms.array > maxnorm
    scale = Tensor._wrap(B.xp.ones_like(norms.array)).masked_fill(big, 0) + \
        (maxnorm / (norms + 1e-7)).masked_fill(~big, 0)
    return x * scale


def sum_to_size(x, *size):
    from ..tensor import _shape_arg
    shape = _shape_arg(size)
    lead = x.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
    out = x.sum(dims, keepdim=True) if dims else x
    return out.reshape(shape)


def broadcast_tensors(*tensors):
    shape = B.xp.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def broadcast_shapes(*shapes):
    return tuple(B.xp.broadcast_shapes(*(tuple(s) if isinstance(s, (tuple, list)) else (s,) for s in shapes)))
