"""Helpers shared by the composite modules: wrapping arrays as constants, joining, and replacing a region."""
import numpy as np

from .. import backend as B
from ..ops import movement as _mv
from ..tensor import Tensor


def _wrap(array):
    return Tensor._wrap(B.xp.asarray(array))


def _long(array):
    return Tensor._wrap(B.xp.asarray(array, dtype=np.int64))


def _is_seq(xs):
    return len(xs) == 1 and isinstance(xs[0], (list, tuple))


def _flat_args(xs):
    return list(xs[0]) if _is_seq(xs) else list(xs)


def _cat(tensors, dim):
    return _mv.Cat.apply(*tensors, axis=dim)


def _replace_at(x, index, src):
    """x with x[index] replaced by src (broadcast to x[index]'s shape): gradients to x (outside) and src."""
    mask = B.xp.zeros(x.shape, bool)
    mask[index] = True
    part = x.array[index].shape
    src = src if isinstance(src, Tensor) else Tensor._wrap(B.xp.asarray(src, dtype=x.dtype))
    if src.shape != part:
        src = src.expand(part)
    return x.masked_fill(mask, 0) + _mv.IndexAdd.apply(src.to(x.dtype), shape=x.shape, index=index)
