"""Shape and indexing: movedim, splits and stacks, flips and rotations, repeat_interleave, unfold, take,
the index_* / scatter / put families and nonzero. The index ops write with IndexAdd, whose backward reads back.
"""
import builtins
import itertools
import math

import numpy as np

from .. import backend as B
from ..ops import movement as _mv
from ..tensor import Tensor, _arr, _dim, _index_array
from ._common import _cat, _flat_args, _is_seq, _long, _replace_at


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
        inner = [builtins.min(builtins.max(int(i) if i >= 0 else n + int(i), 0), n) for i in indices_or_sections]
        bounds = [0] + inner + [n]
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
        raise RuntimeError(f"repeat_interleave: repeats must have {n} values (the size of dim {d}), "
                           f"got {reps.shape[0]}")
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
