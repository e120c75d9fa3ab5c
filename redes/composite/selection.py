"""Sorting and selection (sort, topk, kthvalue, median, mode, quantile), scans (cumprod, logcumsumexp,
cummax) and reductions (aminmax, nansum, nanmean): positions found on the arrays, values read with gather.
"""
from collections import namedtuple

import numpy as np

from .. import backend as B
from ..tensor import Tensor, _arr, _dim, _dims
from ._common import _long, _wrap

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])
CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])


# ------------------------------------------------------------------------------------- sorting and selection


def _argsort(a, axis, descending):
    """Stable argsort along axis; descending keeps equal values in their original order (NaN counts as largest)."""
    xp = B.xp
    if not descending:
        return xp.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    flipped = xp.argsort(xp.flip(a, axis), axis=axis, kind="stable")      # ties: later originals first ...
    return xp.flip(n - 1 - flipped, axis)                                    # ... reversed: original order


def sort(x, dim=-1, descending=False, stable=False):
    """(values, indices) of x sorted along dim; values keep the gradient (it goes back to each value's place).

    Example:
        >>> rd.sort(rd.tensor([3.0, 1.0, 2.0]))
        sort(values=tensor([1., 2., 3.]), indices=tensor([1, 2, 0]))
    """
    if x.ndim == 0:
        return SortResult(x.clone(), _long(0))
    d = _dim(dim, x.ndim, "sort")
    idx = _long(_argsort(x.array, d, descending))
    return SortResult(x.gather(d, idx), idx)


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


def msort(x):
    return sort(x, 0).values


def topk(x, k, dim=-1, largest=True, sorted=True):
    """The k largest (or smallest) values along dim and their indices, as torch.topk (values sorted).

    Example:
        >>> rd.topk(rd.tensor([1.0, 5.0, 3.0]), 2)
        topk(values=tensor([5., 3.]), indices=tensor([1, 2]))
    """
    d = _dim(dim, x.ndim, "topk")
    n = x.shape[d] if x.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dim {d} of size {n} (shape {tuple(x.shape)})")
    if x.ndim == 0:
        return TopkResult(x.clone(), _long(0))
    idx = _long(_argsort(x.array, d, largest)).narrow(d, 0, k)
    return TopkResult(x.gather(d, idx), idx)


def kthvalue(x, k, dim=-1, keepdim=False):
    """The k-th smallest value (k from 1) along dim, and its index."""
    d = _dim(dim, x.ndim, "kthvalue")
    n = x.shape[d] if x.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue: k ({k}) must be in 1..{n} for dim {d} of shape {tuple(x.shape)}")
    if x.ndim == 0:
        return KthvalueResult(x.clone(), _long(0))
    idx = _long(_argsort(x.array, d, False)).narrow(d, k - 1, 1)
    values = x.gather(d, idx)
    return KthvalueResult(values, idx) if keepdim else KthvalueResult(values.squeeze(d), idx.squeeze(d))


def _median(x, dim, keepdim, op, ignore_nan):
    if dim is None:
        flat = x.reshape(-1)
        if flat.numel() == 0:
            raise RuntimeError(f"{op}: cannot compute the median of an empty tensor")
        return _median(flat, 0, False, op, ignore_nan).values
    d = _dim(dim, x.ndim, op)
    if x.ndim == 0:
        return MedianResult(x.clone(), _long(0))
    order = _argsort(x.array, d, False)                  # NaN sorts last
    n = x.shape[d]
    if ignore_nan:
        count = (~B.xp.isnan(x.array)).sum(axis=d, keepdims=True)
        pos = B.xp.where(count > 0, (count - 1) // 2, 0)     # all-NaN rows: the first (a NaN), as torch
    else:
        has_nan = B.xp.isnan(x.array).any(axis=d, keepdims=True) if x.dtype.kind == "f" else False
        pos = B.xp.where(has_nan, n - 1, (n - 1) // 2) * B.xp.ones_like(order.take([0], axis=d))
    idx = _long(B.xp.take_along_axis(order, pos, axis=d))
    values = x.gather(d, idx)
    return MedianResult(values, idx) if keepdim else MedianResult(values.squeeze(d), idx.squeeze(d))


def median(x, dim=None, keepdim=False):
    """The lower median (of the flattened tensor, or (values, indices) along dim); NaN if the data has one."""
    return _median(x, dim, keepdim, "median", False)


def nanmedian(x, dim=None, keepdim=False):
    """median ignoring NaN values."""
    return _median(x, dim, keepdim, "nanmedian", True)


def mode(x, dim=-1, keepdim=False):
    """The most frequent value along dim (the smallest among equally frequent ones) and the index of one of them."""
    d = _dim(dim, x.ndim, "mode")
    if x.ndim == 0:
        return ModeResult(x.clone(), _long(0))
    a = B.xp.moveaxis(x.array, d, -1)
    s = B.xp.sort(a, axis=-1)
    n = s.shape[-1]
    new = B.xp.concatenate([B.xp.ones(s.shape[:-1] + (1,), bool), s[..., 1:] != s[..., :-1]], -1)
    start = B.xp.maximum.accumulate(B.xp.where(new, B.xp.arange(n), 0), axis=-1)
    run = B.xp.arange(n) - start + 1                           # length of the run of equal values so far
    best = B.xp.argmax(run, axis=-1)                           # first (smallest value) of the longest runs
    value = B.xp.take_along_axis(s, best[..., None], -1)
    where = B.xp.argmax(a == value, axis=-1)                   # an index holding that value
    idx = _long(B.xp.expand_dims(where, d))
    values = x.gather(d, idx)
    return ModeResult(values, idx) if keepdim else ModeResult(values.squeeze(d), idx.squeeze(d))


def _quantile(x, q, dim, keepdim, interpolation, op, ignore_nan):
    qs = B.xp.asarray(_arr(q), dtype=x.dtype)
    if qs.ndim > 1 or ((qs < 0) | (qs > 1)).any():
        raise RuntimeError(f"{op}: q must be a number or 1-D tensor of values in [0, 1], got {q!r}")
    if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
        raise ValueError(f"{op}: interpolation must be linear, lower, higher, midpoint or nearest, "
                         f"got {interpolation!r}")
    ndim = x.ndim
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = _dim(dim, x.ndim, op)
    values = sort(x, d).values.movedim(d, -1) if x.ndim else x.reshape(1)
    n = values.shape[-1]
    count = (~B.xp.isnan(values.array)).sum(-1, keepdims=True) if ignore_nan else n
    has_nan = B.xp.isnan(values.array).any(-1, keepdims=True)
    pos = qs.reshape((-1,) + (1,) * values.ndim) * (B.xp.asarray(count) - 1)      # (len(q), ..., 1)
    if interpolation == "lower":
        pos = B.xp.floor(pos)
    elif interpolation == "higher":
        pos = B.xp.ceil(pos)
    elif interpolation == "nearest":
        pos = B.xp.round(pos)                           # round half to even, as torch
    lo = B.xp.clip(B.xp.floor(pos), 0, n - 1).astype(np.int64)
    hi = B.xp.clip(B.xp.ceil(pos), 0, n - 1).astype(np.int64)
    frac = pos - B.xp.floor(pos)
    if interpolation == "midpoint":
        frac = B.xp.where(hi > lo, 0.5, 0.0).astype(x.dtype)
    rows = values.unsqueeze(0).expand((len(qs.reshape(-1)),) + values.shape)
    shape = rows.shape[:-1] + (1,)
    a = rows.gather(-1, _long(B.xp.broadcast_to(lo, shape)))
    b = rows.gather(-1, _long(B.xp.broadcast_to(hi, shape)))
    out = a + (b - a) * Tensor._wrap(B.xp.asarray(frac, dtype=x.dtype))
    bad = has_nan if not ignore_nan else (B.xp.asarray(count) == 0)
    out = out.masked_fill(B.xp.broadcast_to(bad, out.shape), float("nan")).squeeze(-1)
    if keepdim:                                     # out is (len(q), *other dims): put the reduced dim(s) back as 1
        out = out.unsqueeze(d + 1) if dim is not None else out.reshape((out.shape[0],) + (1,) * ndim)
    return out.squeeze(0) if qs.ndim == 0 else out


def quantile(x, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(x, q, dim, keepdim, interpolation, "quantile", False)


def nanquantile(x, q, dim=None, keepdim=False, *, interpolation="linear"):
    return _quantile(x, q, dim, keepdim, interpolation, "nanquantile", True)


# ------------------------------------------------------------------------------------- scans


def _prefix_rows(x, d, fill):
    """(..., n, n) with row i = x along d up to i, `fill` after: a scan becomes a reduction over the last dim.

    O(n^2) memory along d, so the gradient (through prod / logsumexp) is exact even at zeros.
    """
    last = x.movedim(d, -1)
    n = last.shape[-1]
    rows = last.unsqueeze(-2).expand(last.shape[:-1] + (n, n))
    return rows.masked_fill(B.xp.triu(B.xp.ones((n, n), bool), 1), fill)


def cumprod(x, dim, dtype=None):
    """y_i = x_0 x_1 ... x_i along dim; gradients exact with zeros (built as prods of prefixes)."""
    x = x if dtype is None else x.to(dtype)
    d = _dim(dim, x.ndim, "cumprod")
    if x.ndim == 0:
        return x.clone()
    return _prefix_rows(x, d, 1).prod(-1).movedim(-1, d)


def logcumsumexp(x, dim):
    """y_i = log(exp(x_0) + ... + exp(x_i)) along dim, without overflow."""
    d = _dim(dim, x.ndim, "logcumsumexp")
    if x.ndim == 0:
        return x.clone()
    return _prefix_rows(x, d, float("-inf")).logsumexp(-1).movedim(-1, d)


def _cumext(x, dim, better, op, result):
    d = _dim(dim, x.ndim, op)
    if x.ndim == 0:
        return result(x.clone(), _long(0))
    a = x.array
    run = better.accumulate(a, axis=d)
    shape = [1] * a.ndim
    shape[d] = a.shape[d]
    pos = B.xp.arange(a.shape[d]).reshape(shape)
    hit = (a == run) | (B.xp.isnan(a) if a.dtype.kind == "f" else False)
    idx = _long(B.xp.maximum.accumulate(B.xp.where(hit, pos, 0), axis=d))     # the latest position of the extreme
    return result(x.gather(d, idx), idx)


def cummax(x, dim):
    return _cumext(x, dim, B.xp.maximum, "cummax", CummaxResult)


def cummin(x, dim):
    return _cumext(x, dim, B.xp.minimum, "cummin", CumminResult)


# ------------------------------------------------------------------------------------- reductions


def aminmax(x, *, dim=None, keepdim=False):
    return AminmaxResult(x.amin(dim, keepdim), x.amax(dim, keepdim))


def nansum(x, dim=None, keepdim=False, *, dtype=None):
    if x.dtype.kind != "f":
        return x.sum(dim, keepdim, dtype=dtype)
    return x.masked_fill(B.xp.isnan(x.array), 0.0).sum(dim, keepdim, dtype=dtype)


def nanmean(x, dim=None, keepdim=False, *, dtype=None):
    if x.dtype.kind != "f":
        raise RuntimeError(f"nanmean: expected a floating point tensor, got {x.dtype}")
    count = (~B.xp.isnan(x.array)).sum(axis=_dims(dim, x.ndim, "nanmean"), keepdims=keepdim)
    return nansum(x, dim, keepdim, dtype=dtype) / _wrap(count.astype(x.dtype if dtype is None else dtype))


def count_nonzero(x, dim=None):
    return _long((x.array != 0).sum(axis=_dims(dim, x.ndim, "count_nonzero")))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return x.var(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim)


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return x.std(dim, unbiased, keepdim, correction=correction), x.mean(dim, keepdim)
