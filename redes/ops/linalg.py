"""Matrix products: matmul (batched, with PyTorch's 1-D rules) and the fused affine map of nn.Linear."""
import math

from numpy import empty as _empty
from numpy import ndarray as _ndarray

from .. import backend as B
from ..autograd import _GEMV_MIN_SIZE, ArrayMath, Function, unbroadcast


def _check_matmul(a, b, op="matmul"):
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"{op}: both arguments need at least 1 dimension, got a{tuple(a.shape)} @ b{tuple(b.shape)}")
    ka, kb = a.shape[-1], b.shape[-2] if b.ndim > 1 else b.shape[0]
    if ka != kb:
        bdim = "b.shape[-2]" if b.ndim > 1 else "b.shape[0]"
        raise RuntimeError(f"{op}: inner dimensions differ: a{tuple(a.shape)} @ b{tuple(b.shape)}; "
                           f"a.shape[-1]={ka} must equal {bdim}={kb}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{op}: dtypes differ: a is {a.dtype}, b is {b.dtype}; convert one with .to(dtype)")


class MatMul(Function):
    """z = a @ b (batch dims broadcast; a 1-D a is a row, a 1-D b a column, as torch.matmul).

    Backward: da = dz @ b^T, db = a^T @ dz, summed over broadcast batch dims.
    """
    def forward(self, a, b):
        _check_matmul(a, b)
        try:
            return B.xp.matmul(a, b)
        except ValueError:
            raise RuntimeError(f"matmul: batch dimensions do not broadcast: a{tuple(a.shape)} @ b{tuple(b.shape)}; "
                               f"a.shape[:-2]={tuple(a.shape[:-2])}, b.shape[:-2]={tuple(b.shape[:-2])}") from None

    def backward(self, m, dz, z, a, b):
        a2 = m.reshape(a, (1,) + a.shape) if a.ndim == 1 else a       # 1-D operands become matrices
        b2 = m.reshape(b, b.shape + (1,)) if b.ndim == 1 else b
        dz2 = dz
        if a.ndim == 1:
            dz2 = m.reshape(dz2, dz2.shape[:-1] + (1,) + dz2.shape[-1:]) if b.ndim > 1 else m.reshape(dz2, (1,) + dz2.shape)
        if b.ndim == 1:
            dz2 = m.reshape(dz2, dz2.shape + (1,))
        da = db = None
        if self.needs[0]:
            da = m.reshape(unbroadcast(m, m.matmul(dz2, m.swapaxes(b2, -1, -2)), a2.shape), a.shape)
        if self.needs[1]:
            db = m.reshape(unbroadcast(m, m.matmul(m.swapaxes(a2, -1, -2), dz2), b2.shape), b.shape)
        return da, db


class LinearOp(Function):
    """y = x @ w^T + b (one GEMM, bias added in place).  Backward: dx = dy @ w, dw = dy^T x, db = sum(dy)."""
    __slots__ = ()          # saves nothing: its nodes need no __dict__

    def forward(self, x, w, b=None):
        if x.ndim == 2 and x.shape[1] == w.shape[-1] and x.dtype == w.dtype:     # the common case in one test
            k = B.kernels
            if k is not None and type(x) is _ndarray and x.dtype.char == "f" and w.ndim == 2:
                y = _linear_forward_kernel(k, x, w, b)
                if y is not None:
                    return y
            y = B.xp.matmul(x, w.T)
            if b is not None:
                y += b
            return y
        if x.ndim == 0 or x.shape[-1] != w.shape[-1]:
            raise RuntimeError(f"linear: input{tuple(x.shape)} does not match weight{tuple(w.shape)}: "
                               f"input.shape[-1] must equal in_features={w.shape[-1]}")
        if x.dtype != w.dtype:
            raise RuntimeError(f"linear: input is {x.dtype} but weight is {w.dtype}; convert one with .to(dtype)")
        # NOTE: a 3-D x @ w.T would be one small GEMM per batch row in NumPy (5x slower): fold the rows into one
        x2 = x.reshape(math.prod(x.shape[:-1]), x.shape[-1]) if x.ndim > 2 else x
        k = B.kernels
        if k is not None and type(x2) is _ndarray and x2.dtype.char == "f" and w.ndim == 2 and x.ndim > 1:
            y = _linear_forward_kernel(k, x2, w, b)
            if y is not None:
                return y.reshape(x.shape[:-1] + (w.shape[0],)) if x.ndim > 2 else y
        y = B.xp.matmul(x2, w.T)
        if b is not None:
            y += b
        return y.reshape(x.shape[:-1] + (w.shape[0],)) if x.ndim > 2 else y

    def backward(self, m, dy, y, x, w, b=None):
        n = self.needs
        if m is ArrayMath and x.ndim == 2:      # plain backward, 2-D input: the same products, without m's calls
            k = B.kernels
            if k is not None and type(dy) is _ndarray and dy.dtype.char == "f" and dy.ndim == 2 and w.ndim == 2:
                grads = _linear_backward_kernel(k, n, dy, x, w)
                if grads is not None:
                    return grads
            matmul = B.xp.matmul
            return (matmul(dy, w) if n[0] else None, matmul(dy.T, x) if n[1] else None,
                    m.sum(dy, 0) if len(n) > 2 and n[2] else None)
        dy2 = m.reshape(dy, (math.prod(dy.shape[:-1]), dy.shape[-1])) if dy.ndim != 2 else dy    # (rows, out)
        if m is ArrayMath and x.ndim > 2 and B.kernels is not None and type(dy2) is _ndarray \
                and dy2.dtype.char == "f" and w.ndim == 2:
            grads = _linear_backward_kernel(B.kernels, n, dy2, x.reshape(dy2.shape[0], x.shape[-1]), w)
            if grads is not None:
                return (None if grads[0] is None else grads[0].reshape(x.shape),) + grads[1:]
        dx = (m.reshape(m.matmul(dy2, w), x.shape) if x.ndim != 2 else m.matmul(dy2, w)) if n[0] else None
        dw = db = None
        if n[1]:
            x2 = m.reshape(x, (math.prod(x.shape[:-1]), x.shape[-1])) if x.ndim != 2 else x
            dw = m.matmul(m.swapaxes(dy2, 0, 1), x2)
        if len(n) > 2 and n[2]:
            db = m.sum(dy2, 0)
        return dx, dw, db


def _linear_forward_kernel(k, x, w, b):
    """x @ w.T (+ b) for a 2-D float32 x in one kernel call (NumPy's own GEMM, same bits), or None where the kernel
    declines."""
    n, o = x.shape[0], w.shape[0]
    y = _empty((n, o), x.dtype)
    return y if k.linear_forward(x, w, b, y, n, x.shape[1], o) else None


def _linear_backward_kernel(k, needs, dy, x, w):
    """LinearOp's 2-D float32 backward in one kernel call (NumPy's own GEMMs, same bits), or None where the kernel
    declines. A large bias gradient stays ArrayMath.sum's GEMV (the kernel's sum is add.reduce's)."""
    n, i = x.shape
    o = dy.shape[1]
    nb = len(needs) > 2 and needs[2]
    small = n * o < _GEMV_MIN_SIZE
    dx = _empty((n, i), dy.dtype) if needs[0] else None
    dw = _empty((o, i), dy.dtype) if needs[1] else None
    db = _empty(o, dy.dtype) if nb and small else None
    if not k.linear_backward(dy, x, w, dx, dw, db, n, i, o):
        return None
    return dx, dw, (ArrayMath.sum(dy, 0) if nb and not small else db)


OPS = {"matmul": MatMul, "linear": LinearOp}
