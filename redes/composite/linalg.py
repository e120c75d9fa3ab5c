"""Diagonals and triangles, and products: mm / bmm / addmm / ..., tensordot, kron, cross, cdist, einsum,
meshgrid / cartesian_prod / combinations, and the matrix functions (inverse, det, matrix_exp, ...).
"""
import builtins
import itertools
import math
from collections import namedtuple

import numpy as np

from .. import backend as B
from .. import dtypes as _dt
from ..ops import matrix as _mx
from ..ops import movement as _mv
from ..tensor import Tensor, _dim
from ._common import _cat, _flat_args, _long, _replace_at
from .shape import movedim

SlogdetResult = namedtuple("slogdet", ["sign", "logabsdet"])


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


def _affine(input, product, beta, alpha):
    """beta input + alpha product; beta = 0 ignores input (nan and inf in it included), as torch."""
    out = _scaled(product, alpha)
    return out if beta == 0 else _scaled(input, beta) + out


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    return _affine(input, mm(mat1, mat2), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _affine(input, mv(mat, vec), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _affine(input, bmm(batch1, batch2).sum(0), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _affine(input, bmm(batch1, batch2), beta, alpha)


def addr(input, vec1, vec2, *, beta=1, alpha=1):
    return _affine(input, outer(vec1, vec2), beta, alpha)


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
            raise RuntimeError(f"tensordot: contracted dims differ: a dim {i} has {a.shape[i]}, "
                               f"b dim {j} has {b.shape[j]}")
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
    for t in ts:
        n, w = t.shape[0], t.shape[1]
        rows.append(_cat([t.new_zeros(n, left), t, t.new_zeros(n, cols - left - w)], 1))
        left += w
    return _cat(rows, 0)


def cartesian_prod(*tensors):
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return _cat([g.reshape(-1, 1) for g in grids], 1)


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
    cols = B.xp.asarray(idx, dtype=np.int64)
    return _cat([x.index_select(0, _long(cols[:, j])).unsqueeze(1) for j in range(r)], 1)


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
