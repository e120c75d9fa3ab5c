"""Tensor functions built from the differentiable ops: PyTorch's sorting, scanning, indexing, shape and linear
algebra functions (torch.sort, torch.topk, torch.cumprod, torch.index_copy, torch.kron, ...).

Each is a composition, so its gradient (and second derivative) comes from ops already checked against PyTorch:
positions are found on the arrays (argsort, nonzero, ...), then values are read with gather / indexing, which
route the gradient back. Tensor methods and the rd.* functions both call these.
"""
import builtins
import itertools
import math
from collections import namedtuple

import numpy as np

from . import backend as B
from . import dtypes as _dt
from .ops import matrix as _mx
from .ops import movement as _mv
from .tensor import Tensor, _arr, _dim, _dims, _index_array

SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])
KthvalueResult = namedtuple("kthvalue", ["values", "indices"])
MedianResult = namedtuple("median", ["values", "indices"])
ModeResult = namedtuple("mode", ["values", "indices"])
CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])
AminmaxResult = namedtuple("aminmax", ["min", "max"])
SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])
HistogramResult = namedtuple("histogram", ["hist", "bin_edges"])
FrexpResult = namedtuple("frexp", ["mantissa", "exponent"])


def _wrap(array):
    return Tensor._wrap(B.xp.asarray(array))


def _long(array):
    return Tensor._wrap(B.xp.asarray(array, dtype=np.int64))


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
        raise ValueError(f"{op}: interpolation must be linear, lower, higher, midpoint or nearest, got {interpolation!r}")
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


# ------------------------------------------------------------------------------------- shape
def movedim(x, source, destination):
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: source {source} and destination {destination} must have the same length")
    src = [_dim(s, x.ndim, "movedim") for s in src]
    dst = [_dim(s, x.ndim, "movedim") for s in dst]
    order = [i for i in range(x.ndim) if i not in src]
    for s, t in sorted(zip(dst, src)):
        order.insert(s, t)
    return x.permute(order) if order != list(range(x.ndim)) else x


def tensor_split(x, indices_or_sections, dim=0):
    """Split into n nearly equal parts (the first n % size parts one longer), or at the given indices."""
    d = _dim(dim, x.ndim, "tensor_split")
    n = x.shape[d]
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        k = indices_or_sections
        if k <= 0:
            raise RuntimeError(f"tensor_split: number of sections must be larger than 0, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = list(itertools.accumulate([0] + sizes))
    else:
        bounds = [0] + [builtins.min(builtins.max(int(i) if i >= 0 else n + int(i), 0), n) for i in indices_or_sections] + [n]
    lead = (slice(None),) * d
    return tuple(x[lead + (slice(a, builtins.max(a, b)),)] for a, b in zip(bounds[:-1], bounds[1:]))


def _split_dim(x, sections, dim, op, min_ndim):
    if x.ndim < min_ndim:
        raise RuntimeError(f"{op}: requires a tensor with at least {min_ndim} dims, got {x.ndim}")
    if isinstance(sections, int) and x.shape[dim] % sections:
        raise RuntimeError(f"{op}: dim {dim} of size {x.shape[dim]} is not divisible by {sections} sections")
    return tensor_split(x, sections, dim)


def hsplit(x, sections):
    return _split_dim(x, sections, 1 if x.ndim > 1 else 0, "hsplit", 1)


def vsplit(x, sections):
    return _split_dim(x, sections, 0, "vsplit", 2)


def dsplit(x, sections):
    return _split_dim(x, sections, 2, "dsplit", 3)


def atleast_1d(*xs):
    out = [x.reshape(1) if x.ndim == 0 else x for x in _flat_args(xs)]
    return out[0] if len(out) == 1 and not _is_seq(xs) else tuple(out)


def atleast_2d(*xs):
    out = [x.reshape(1, 1) if x.ndim == 0 else x.unsqueeze(0) if x.ndim == 1 else x for x in _flat_args(xs)]
    return out[0] if len(out) == 1 and not _is_seq(xs) else tuple(out)


def atleast_3d(*xs):
    def three(x):
        if x.ndim == 0:
            return x.reshape(1, 1, 1)
        if x.ndim == 1:
            return x.reshape(1, -1, 1)
        return x.unsqueeze(-1) if x.ndim == 2 else x
    out = [three(x) for x in _flat_args(xs)]
    return out[0] if len(out) == 1 and not _is_seq(xs) else tuple(out)


def _is_seq(xs):
    return len(xs) == 1 and isinstance(xs[0], (list, tuple))


def _flat_args(xs):
    return list(xs[0]) if _is_seq(xs) else list(xs)


def _cat(tensors, dim):
    return _mv.Cat.apply(*tensors, axis=dim)


def hstack(tensors):
    ts = atleast_1d(list(tensors))
    return _cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    return _cat(atleast_2d(list(tensors)), 0)


def dstack(tensors):
    return _cat(atleast_3d(list(tensors)), 2)


def column_stack(tensors):
    ts = [t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors]
    return _cat(ts, 1)


def fliplr(x):
    if x.ndim < 2:
        raise RuntimeError(f"fliplr: input must be >= 2-d, got {x.ndim}-d")
    return x.flip(1)


def flipud(x):
    if x.ndim < 1:
        raise RuntimeError("flipud: input must be >= 1-d")
    return x.flip(0)


def rot90(x, k=1, dims=(0, 1)):
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected 2 dims, got {len(dims)}")
    d0, d1 = _dim(dims[0], x.ndim, "rot90"), _dim(dims[1], x.ndim, "rot90")
    if d0 == d1:
        raise RuntimeError(f"rot90: the two dims must differ, got {dims}")
    k %= 4
    if k == 1:
        return x.flip(d1).transpose(d0, d1)
    if k == 2:
        return x.flip(d0, d1)
    if k == 3:
        return x.transpose(d0, d1).flip(d1)
    return x.clone()


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None):
    """Each element (or slice along dim) repeated repeats times (an int, or one count per element)."""
    if repeats is None:                         # torch.repeat_interleave(counts): the indices repeated
        counts = _index_array(x, "repeat_interleave")
        return _long(B.xp.repeat(B.xp.arange(counts.shape[0]), counts))
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = _dim(dim, x.ndim, "repeat_interleave")
    reps = _arr(repeats)
    n = x.shape[d]
    if B.xp.ndim(reps) and reps.shape[0] not in (1, n):
        raise RuntimeError(f"repeat_interleave: repeats must have {n} values (the size of dim {d}), got {reps.shape[0]}")
    return x.index_select(d, _long(B.xp.repeat(B.xp.arange(n), reps)))


def unfold(x, dimension, size, step):
    """Every slice of `size` along `dimension`, `step` apart, as a new last dim (torch.Tensor.unfold)."""
    d = _dim(dimension, x.ndim, "unfold")
    n = x.shape[d] if x.ndim else 1
    if size > n or step <= 0:
        raise RuntimeError(f"unfold: size {size} must be <= {n} (dim {d}) and step {step} positive")
    starts = B.xp.arange(0, n - size + 1, step)
    windows = starts[:, None] + B.xp.arange(size)[None, :]              # (count, size)
    out = x.movedim(d, -1)[..., windows]                                 # (..., count, size)
    return out.movedim(-2, d)


def select(x, dim, index):
    d = _dim(dim, x.ndim, "select")
    return x[(slice(None),) * d + (index,)]


def take(x, index):
    idx = _index_array(index, "take")
    return x.reshape(-1)[idx]


def take_along_dim(x, indices, dim=None):
    idx = _index_array(indices, "take_along_dim")
    if dim is None:
        return x.reshape(-1).gather(0, _long(idx.reshape(-1)))
    d = _dim(dim, x.ndim, "take_along_dim")
    shape = list(B.xp.broadcast_shapes(tuple(x.shape[:d] + (1,) + x.shape[d + 1:]),
                                       tuple(idx.shape[:d] + (1,) + idx.shape[d + 1:])))
    xs, ishape = list(shape), list(shape)
    xs[d], ishape[d] = x.shape[d], idx.shape[d]
    return x.expand(xs).gather(d, _long(B.xp.broadcast_to(idx, ishape)))


def _replace_at(x, index, src):
    """x with x[index] replaced by src (broadcast to x[index]'s shape): gradients to x (outside) and src."""
    mask = B.xp.zeros(x.shape, bool)
    mask[index] = True
    part = x.array[index].shape
    src = src if isinstance(src, Tensor) else Tensor._wrap(B.xp.asarray(src, dtype=x.dtype))
    if src.shape != part:
        src = src.expand(part)
    return x.masked_fill(mask, 0) + _mv.IndexAdd.apply(src.to(x.dtype), shape=x.shape, index=index)


def index_add(x, dim, index, source, *, alpha=1):
    d = _dim(dim, x.ndim, "index_add")
    idx = _index_array(index, "index_add")
    src = source * alpha if alpha != 1 else source
    return x + _mv.IndexAdd.apply(src, shape=x.shape, index=(slice(None),) * d + (idx,))


def index_copy(x, dim, index, source):
    d = _dim(dim, x.ndim, "index_copy")
    return _replace_at(x, (slice(None),) * d + (_index_array(index, "index_copy"),), source)


def index_fill(x, dim, index, value):
    d = _dim(dim, x.ndim, "index_fill")
    idx = _index_array(index, "index_fill")
    value = value.item() if isinstance(value, Tensor) else value
    mask = B.xp.zeros(x.shape, bool)
    mask[(slice(None),) * d + (idx,)] = True
    return x.masked_fill(mask, value)


def index_put(x, indices, values, accumulate=False):
    index = tuple(_arr(i) for i in indices)
    if accumulate:
        values = values if isinstance(values, Tensor) else Tensor._wrap(B.xp.asarray(values, dtype=x.dtype))
        part = x.array[index].shape
        return x + _mv.IndexAdd.apply(values.expand(part) if values.shape != part else values, shape=x.shape,
                                      index=index)
    return _replace_at(x, index, values)


def put(x, index, source, accumulate=False):
    flat = index_put(x.reshape(-1), (_index_array(index, "put").reshape(-1),), source.reshape(-1), accumulate)
    return flat.reshape(x.shape)


def masked_select(x, mask):
    m = _arr(mask)
    shape = B.xp.broadcast_shapes(tuple(x.shape), tuple(m.shape))
    return x.expand(shape)[B.xp.broadcast_to(m, shape)]


def masked_scatter(x, mask, source):
    """x with the places where mask is True filled, in order, by the first elements of source."""
    m = B.xp.broadcast_to(_arr(mask), x.shape)
    where = B.xp.nonzero(m)
    k = where[0].shape[0] if where else int(m.any())
    if source.numel() < k:
        raise RuntimeError(f"masked_scatter: mask selects {k} places but source has only {source.numel()} elements")
    if x.ndim == 0:
        return x.masked_fill(m, 0) + source.reshape(-1)[:k].sum() if k else x.clone()
    return _replace_at(x, where, source.reshape(-1)[:k])


def scatter(x, dim, index, src=None, value=None, *, reduce=None):
    """x with x[index[i][j]][j] = src[i][j] (dim 0); with reduce='add'/'multiply', combined instead."""
    if src is None:
        src = value
    if reduce is not None:
        return scatter_reduce(x, dim, index, src, {"add": "sum", "multiply": "prod"}[reduce])
    d = _dim(dim, x.ndim, "scatter")
    idx = _index_array(index, "scatter")
    positions = list(B.xp.indices(idx.shape, sparse=True))
    positions[d] = idx
    positions = tuple(B.xp.broadcast_to(p, idx.shape) for p in positions)
    if isinstance(src, Tensor):
        src = src[tuple(slice(0, s) for s in idx.shape)]
    return _replace_at(x, positions, src)


def scatter_reduce(x, dim, index, src, reduce, *, include_self=True):
    """Combine src into x at index along dim with sum, prod, mean, amax or amin (torch.scatter_reduce)."""
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(f"scatter_reduce: reduce must be sum, prod, mean, amax or amin, got {reduce!r}")
    d = _dim(dim, x.ndim, "scatter_reduce")
    idx = _index_array(index, "scatter_reduce")
    src = src if isinstance(src, Tensor) else Tensor._wrap(B.xp.full(idx.shape, src, x.dtype))
    src = src[tuple(slice(0, s) for s in idx.shape)]
    positions = list(B.xp.indices(idx.shape, sparse=True))
    positions[d] = idx
    positions = tuple(B.xp.broadcast_to(p, idx.shape) for p in positions)
    hit = B.xp.zeros(x.shape, bool)
    hit[positions] = True
    flat = B.xp.ravel_multi_index(positions, x.shape).reshape(-1)        # each source's target, as a flat index
    size = x.numel()
    base = x if include_self else x.masked_fill(hit, 0.0)
    if reduce in ("sum", "mean"):
        total = base + _mv.IndexAdd.apply(src, shape=x.shape, index=positions)
        if reduce == "sum":
            return total
        count = B.xp.zeros(size, x.dtype)
        B.xp.add.at(count, flat, 1)
        count = count.reshape(x.shape) + (1 if include_self else 0)
        return total / Tensor._wrap(B.xp.where(hit, count, 1).astype(x.dtype))
    # prod / amax / amin: gather every candidate of a target into one padded row, then reduce the rows
    cand = [x.reshape(-1, 1)] if include_self else []
    order = B.xp.argsort(flat, kind="stable")
    counts = B.xp.bincount(flat, minlength=size)
    width = int(counts.max()) if counts.size else 0
    slot = B.xp.arange(flat.size) - B.xp.repeat(B.xp.cumsum(counts) - counts, counts)     # rank within its target
    fill = {"prod": 1.0, "amax": -math.inf, "amin": math.inf}[reduce]
    grid = Tensor._wrap(B.xp.full((size, builtins.max(width, 1)), fill, x.dtype))
    placed = _replace_at(grid, (flat[order], slot), src.reshape(-1)[_long(order)])
    rows = _mv.Cat.apply(*(cand + [placed]), axis=1)
    out = {"prod": lambda r: r.prod(1), "amax": lambda r: r.amax(1), "amin": lambda r: r.amin(1)}[reduce](rows)
    out = out.reshape(x.shape)
    if include_self:
        return out
    return x.masked_fill(hit, 0) + out.masked_fill(~hit, 0)          # targets no source reaches keep x


def nonzero(x, *, as_tuple=False):
    where = B.xp.nonzero(x.array) if x.ndim else B.xp.nonzero(x.array.reshape(1))
    if as_tuple:
        return tuple(_long(w) for w in where)
    return _long(B.xp.stack(where, axis=1) if x.ndim else B.xp.zeros((len(where[0]), 0), np.int64))


def argwhere(x):
    return nonzero(x)


# ------------------------------------------------------------------------------------- triangles and diagonals
def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = B.xp.tril_indices(row, offset, col)
    return Tensor._wrap(B.xp.stack([r, c]).astype(_dt.as_dtype(dtype) or np.int64))


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    r, c = B.xp.triu_indices(row, offset, col)
    return Tensor._wrap(B.xp.stack([r, c]).astype(_dt.as_dtype(dtype) or np.int64))


def _diag_positions(n_rows, n_cols, offset):
    k = builtins.max(0, builtins.min(n_rows + builtins.min(offset, 0), n_cols - builtins.max(offset, 0)))
    i = B.xp.arange(k)
    return i - builtins.min(offset, 0), i + builtins.max(offset, 0)


def diagonal(x, offset=0, dim1=0, dim2=1):
    """The diagonal of the (dim1, dim2) planes, as a new last dim."""
    d1, d2 = _dim(dim1, x.ndim, "diagonal"), _dim(dim2, x.ndim, "diagonal")
    if d1 == d2:
        raise RuntimeError(f"diagonal: dim1 and dim2 must differ, got {dim1} and {dim2}")
    planes = movedim(x, (d1, d2), (-2, -1))
    rows, cols = _diag_positions(planes.shape[-2], planes.shape[-1], offset)
    return planes[..., rows, cols]


_diagonal_of = diagonal          # diag's argument is named `diagonal`, as torch's


def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    """Each last-dim vector of x placed on the diagonal of a new (dim1, dim2) plane."""
    n = x.shape[-1] + abs(offset)
    rows, cols = _diag_positions(n, n, offset)
    out = _mv.IndexAdd.apply(x, shape=x.shape[:-1] + (n, n), index=(Ellipsis, rows, cols))
    d1, d2 = _dim(dim1, out.ndim, "diag_embed"), _dim(dim2, out.ndim, "diag_embed")
    return movedim(out, (-2, -1), (d1, d2))


def diag(x, diagonal=0):
    """1-D: a square matrix with x on the given diagonal; 2-D: that diagonal of x."""
    if x.ndim == 1:
        return diag_embed(x, diagonal)
    if x.ndim == 2:
        return _diagonal_of(x, diagonal)
    raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got {x.ndim}-D")


def diagflat(x, offset=0):
    return diag_embed(x.reshape(-1), offset)


def trace(x):
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, got {x.ndim}-D")
    return diagonal(x).sum()


def diagonal_scatter(x, src, offset=0, dim1=0, dim2=1):
    d1, d2 = _dim(dim1, x.ndim, "diagonal_scatter"), _dim(dim2, x.ndim, "diagonal_scatter")
    planes = movedim(x, (d1, d2), (-2, -1))
    rows, cols = _diag_positions(planes.shape[-2], planes.shape[-1], offset)
    return movedim(_replace_at(planes, (Ellipsis, rows, cols), src), (-2, -1), (d1, d2))


def select_scatter(x, src, dim, index):
    return _replace_at(x, (slice(None),) * _dim(dim, x.ndim, "select_scatter") + (index,), src)


def slice_scatter(x, src, dim=0, start=None, end=None, step=1):
    return _replace_at(x, (slice(None),) * _dim(dim, x.ndim, "slice_scatter") + (slice(start, end, step),), src)


# ------------------------------------------------------------------------------------- products
def _need(x, ndim, op, name="input"):
    if x.ndim != ndim:
        raise RuntimeError(f"{op}: {name} must be {ndim}-D, got shape {tuple(x.shape)}")


def mm(a, b):
    _need(a, 2, "mm", "self")
    _need(b, 2, "mm", "mat2")
    return a @ b


def bmm(a, b):
    _need(a, 3, "bmm", "self")
    _need(b, 3, "bmm", "mat2")
    if a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: batch sizes differ: {a.shape[0]} and {b.shape[0]}")
    return a @ b


def mv(a, v):
    _need(a, 2, "mv", "self")
    _need(v, 1, "mv", "vec")
    return a @ v


def dot(a, b):
    _need(a, 1, "dot", "self")
    _need(b, 1, "dot", "other")
    if a.shape != b.shape:
        raise RuntimeError(f"dot: 1-D tensors of different sizes: {a.shape[0]} and {b.shape[0]}")
    return (a * b).sum()


vdot = dot                                   # real tensors: no conjugate to take


def inner(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([-1], [-1]))


def outer(a, b):
    _need(a, 1, "outer", "self")
    _need(b, 1, "outer", "vec2")
    return a.unsqueeze(1) * b.unsqueeze(0)


def _scaled(x, k):
    return x if k == 1 else x * k


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    return _scaled(input, beta) + _scaled(mm(mat1, mat2), alpha) if beta != 0 else _scaled(mm(mat1, mat2), alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _scaled(input, beta) + _scaled(mv(mat, vec), alpha) if beta != 0 else _scaled(mv(mat, vec), alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    total = bmm(batch1, batch2).sum(0)
    return _scaled(input, beta) + _scaled(total, alpha) if beta != 0 else _scaled(total, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _scaled(input, beta) + _scaled(bmm(batch1, batch2), alpha) if beta != 0 else _scaled(bmm(batch1, batch2), alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    return _scaled(input, beta) + _scaled(outer(vec1, vec2), alpha) if beta != 0 else _scaled(outer(vec1, vec2), alpha)


def addcmul(input, tensor1, tensor2, *, value=1):
    return input + _scaled(tensor1 * tensor2, value)


def addcdiv(input, tensor1, tensor2, *, value=1):
    return input + _scaled(tensor1 / tensor2, value)


def tensordot(a, b, dims=2):
    """Sum of products over dims of a and b: dims=n (a's last n with b's first n) or ([a dims], [b dims])."""
    if isinstance(dims, int):
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = ([dims[0]] if isinstance(dims[0], int) else list(dims[0])), \
                 ([dims[1]] if isinstance(dims[1], int) else list(dims[1]))
    da = [_dim(d, a.ndim, "tensordot") for d in da]
    db = [_dim(d, b.ndim, "tensordot") for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            raise RuntimeError(f"tensordot: contracted dims differ: a dim {i} has {a.shape[i]}, b dim {j} has {b.shape[j]}")
    ra = [i for i in range(a.ndim) if i not in da]
    rb = [i for i in range(b.ndim) if i not in db]
    k = math.prod(a.shape[i] for i in da)
    a2 = a.permute(ra + da).reshape(math.prod(a.shape[i] for i in ra), k)
    b2 = b.permute(db + rb).reshape(k, math.prod(b.shape[i] for i in rb))
    return (a2 @ b2).reshape(tuple(a.shape[i] for i in ra) + tuple(b.shape[i] for i in rb))


def kron(a, b):
    """The Kronecker product: every element of a times the whole of b, laid out block by block."""
    n = builtins.max(a.ndim, b.ndim)
    a = a.reshape((1,) * (n - a.ndim) + tuple(a.shape))
    b = b.reshape((1,) * (n - b.ndim) + tuple(b.shape))
    inter_a = tuple(v for s in a.shape for v in (s, 1))
    inter_b = tuple(v for s in b.shape for v in (1, s))
    return (a.reshape(inter_a) * b.reshape(inter_b)).reshape(tuple(p * q for p, q in zip(a.shape, b.shape)))


def cross(a, b, dim=None):
    """The cross product of 3-vectors along dim (default: the first dim of size 3)."""
    if a.shape != b.shape:
        shape = B.xp.broadcast_shapes(tuple(a.shape), tuple(b.shape))
        a, b = a.expand(shape), b.expand(shape)
    if dim is None:
        dims = [i for i, s in enumerate(a.shape) if s == 3]
        if not dims:
            raise RuntimeError(f"cross: no dim of size 3 in shape {tuple(a.shape)}")
        dim = dims[0]
    d = _dim(dim, a.ndim, "cross")
    if a.shape[d] != 3:
        raise RuntimeError(f"cross: dim {d} must have size 3, got {a.shape[d]}")
    return a.roll(-1, d) * b.roll(-2, d) - a.roll(-2, d) * b.roll(-1, d)


def cdist(x1, x2, p=2.0, compute_mode=None):
    """Pairwise p-norm distances between the rows of x1 (..., P, M) and of x2 (..., R, M): (..., P, R)."""
    if x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: x1 and x2 must have the same last dim, got {x1.shape[-1]} and {x2.shape[-1]}")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)


def dist(a, b, p=2):
    return (a - b).norm(p)


def einsum(equation, *operands):
    """Sums of products named by subscripts ('ij,jk->ik' is a matrix product); '...' stands for leading dims.

    Example:
        >>> rd.einsum("i,i->", rd.tensor([1.0, 2.0]), rd.tensor([3.0, 4.0]))
        tensor(11.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return _mx.Einsum.apply(*operands, equation=equation)


def block_diag(*tensors):
    ts = [t.reshape(1, -1) if t.ndim < 2 else t for t in (x.reshape(1, 1) if x.ndim == 0 else x for x in tensors)]
    cols = builtins.sum(t.shape[1] for t in ts)
    rows, left = [], 0
    from .functions import pad
    for t in ts:
        rows.append(pad(t, (left, cols - left - t.shape[1])))
        left += t.shape[1]
    return _cat(rows, 0)


def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    from .functions import stack
    return stack([g.reshape(-1) for g in grids], dim=1)


def meshgrid(*tensors, indexing="ij"):
    ts = _flat_args(tensors)
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    shape = [t.numel() for t in ts]
    if indexing == "xy" and len(ts) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, t in enumerate(ts):
        axis = 1 - i if indexing == "xy" and i < 2 and len(ts) >= 2 else i
        view = [1] * len(ts)
        view[axis] = t.numel()
        out.append(t.reshape(view).expand(shape))
    return tuple(out)


def combinations(x, r=2, with_replacement=False):
    _need(x, 1, "combinations")
    pick = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    idx = list(pick(range(x.shape[0]), r))
    if not idx:
        return x.new_zeros((0,) if r == 0 else (0, r))
    from .functions import stack
    cols = B.xp.asarray(idx, dtype=np.int64)
    return stack([x.index_select(0, _long(cols[:, j])) for j in range(r)], dim=1)


def matrix_power(x, n):
    if n == 0:
        return Tensor._wrap(B.xp.broadcast_to(B.xp.eye(x.shape[-1], dtype=x.dtype), x.shape).copy())
    base = x if n > 0 else inverse(x)
    out = base
    for _ in range(abs(n) - 1):
        out = out @ base
    return out


def matrix_exp(x):
    """exp(X) = sum_k X^k / k!, by scaling and squaring: exp(X) = exp(X / 2^s)^(2^s), with ||X / 2^s|| <= 1/2
    and the Taylor series to degree 18 (remainder below 1e-22). Built from matmuls, so it is differentiable."""
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"matrix_exp: expected a batch of square matrices (..., n, n), got shape {tuple(x.shape)}")
    norm = float(B.xp.abs(x.array).sum(-2).max()) if x.numel() else 0.0        # the 1-norm bounds the spectral radius
    s = builtins.max(0, math.ceil(math.log2(norm / 0.5))) if norm > 0.5 else 0
    a = x / (2.0 ** s) if s else x
    eye = Tensor._wrap(B.xp.broadcast_to(B.xp.eye(x.shape[-1], dtype=x.dtype), x.shape).copy())
    term, total = eye, eye
    for k in range(1, 19):
        term = (term @ a) / k
        total = total + term
    for _ in range(s):
        total = total @ total
    return total


def cholesky_inverse(L, upper=False):
    """(L L^T)^-1 from a Cholesky factor L (upper=True: U^T U)."""
    return inverse(L.mT @ L if upper else L @ L.mT)


def cholesky_solve(b, L, upper=False):
    """X solving (L L^T) X = b, from a Cholesky factor L (upper=True: U^T U)."""
    return cholesky_inverse(L, upper) @ b


def inverse(x):
    return _mx.Inverse.apply(x)


def det(x):
    return _mx.Det.apply(x)


def slogdet(x):
    d = det(x)
    return SlogdetResult(Tensor._wrap(B.xp.sign(d.array)), d.abs().log())


def logdet(x):
    return det(x).log()


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
        x = x.narrow(d, 1, x.shape[d] - 1) - x.narrow(d, 0, x.shape[d] - 1) if x.dtype.kind != "b" else \
            Tensor._wrap(x.array[(slice(None),) * d + (slice(1, None),)] ^ x.array[(slice(None),) * d + (slice(None, -1),)])
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
        return ((xc @ xc.T) / builtins.max(n - correction, 0)).squeeze() if x.ndim < 2 else (xc @ xc.T) / (n - correction)
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
    from .tensor import _shape_arg
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
