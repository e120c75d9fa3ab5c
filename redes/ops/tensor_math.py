"""TensorMath: the math namespace of backward under create_graph=True.

Same names as autograd.ArrayMath, but each call is a recorded Tensor op, so a gradient computed
with it can be differentiated again. Only backward formulas use this module.
"""
from .. import backend as B
from .. import autograd as _ag
from ..tensor import Tensor, where
from . import movement as mv
from . import reduce as rd


class TensorMath:
    sum = staticmethod(lambda a, axis=None, keepdims=False: a.sum(axis, keepdims))
    reshape = staticmethod(lambda a, shape: a.reshape(shape))
    broadcast_to = staticmethod(lambda a, shape: a.expand(shape))
    transpose = staticmethod(lambda a, axes: a.permute(axes))
    swapaxes = staticmethod(lambda a, i, j: a.transpose(i, j))
    matmul = staticmethod(lambda a, b: a @ b)
    zeros = staticmethod(lambda shape, dtype: Tensor._wrap(B.xp.zeros(shape, dtype)))
    getitem = staticmethod(lambda a, index: mv.GetItem.apply(a, index=index))
    index_add = staticmethod(lambda shape, index, src: mv.IndexAdd.apply(src, shape=shape, index=index))
    gather = staticmethod(lambda a, dim, index: mv.Gather.apply(a, axis=dim, index=index))
    flip = staticmethod(lambda a, axes: mv.Flip.apply(a, axes=axes))
    roll = staticmethod(lambda a, shifts, axes: mv.Roll.apply(a, shifts=shifts, axes=axes))
    cumsum = staticmethod(lambda a, axis: rd.Cumsum.apply(a, axis=axis))
    tril = staticmethod(lambda a, k: a.tril(k))
    triu = staticmethod(lambda a, k: a.triu(k))
    cat = staticmethod(lambda arrays, axis: mv.Cat.apply(*arrays, axis=axis))
    pad_constant = staticmethod(lambda a, widths: mv.ConstantPad.apply(a, widths=widths))
    cast = staticmethod(lambda a, dtype: a.to(dtype))
    to_device = staticmethod(lambda a, device: a.to(device))
    maximum = staticmethod(lambda a, b: a.maximum(b) if isinstance(a, Tensor) else b.maximum(a))
    minimum = staticmethod(lambda a, b: a.minimum(b) if isinstance(a, Tensor) else b.minimum(a))

    where = staticmethod(where)

    @staticmethod
    def scatter_add(shape, dim, index, src):
        return mv.ScatterAdd.apply(Tensor._wrap(B.xp.zeros(shape, src.dtype)), src, axis=dim, index=index)


for _name in ("exp", "log", "sqrt", "sin", "cos", "tanh", "sign", "abs", "square", "erf", "sigmoid"):
    setattr(TensorMath, _name, staticmethod(lambda a, _n=_name: getattr(a, _n)()))


_ag.register(tensor_math=TensorMath)     # create_graph backward computes with it (autograd sits below Tensor)
