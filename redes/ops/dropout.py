"""Dropout as one op whose forward draws the mask (so a replay by rd.compile draws a new one each call)."""
from .. import backend as B
from ..autograd import Function
from ..random import rng_for


class DropoutOp(Function):
    """y = x * mask, mask = (u >= p) / (1 - p) with u uniform in mask_shape (broadcast over x); zeros for p = 1.

    Backward: dx = dy * mask. The mask comes from `generator` or, read at each call, redes' global generator.
    """
    def forward(self, x, p=0.5, mask_shape=(), generator=None):
        if p == 1.0:
            mask = B.xp.zeros(mask_shape, x.dtype)
        else:
            rng = rng_for(generator)
            dtype = x.dtype if x.dtype.kind == "f" and x.dtype.itemsize >= 4 else "float64"
            u = rng.random(mask_shape, dtype=dtype)
            mask = B.xp.asarray((u >= p).astype(x.dtype) * (1.0 / (1.0 - p)))
        self.mask = mask
        return x * mask

    def backward(self, m, dy, y, x):
        return (dy * self.mask,)


OPS = {"dropout": DropoutOp}
