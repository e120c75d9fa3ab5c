"""Reductions (sum, mean, prod, max, var, logsumexp, norm, cumsum) and softmax / log_softmax.

`axis` is a normalised tuple of non-negative dims, or None for all dims (see tensor._dims).
"""
from .. import backend as B
from ..autograd import Function


def _keep_shape(shape, axis):
    """The shape of a reduction result taken with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else s for i, s in enumerate(shape))


def _count(shape, axis):
    n = 1
    for i, s in enumerate(shape):
        if axis is None or i in axis:
            n *= s
    return n


def _expand(m, dy, shape, axis, keepdim):
    """Broadcast a reduction's gradient back over the reduced dims."""
    if not keepdim:
        dy = m.reshape(dy, _keep_shape(shape, axis))
    return m.broadcast_to(dy, shape)


def _kept(m, y, shape, axis, keepdim):
    return y if keepdim else m.reshape(y, _keep_shape(shape, axis))


class Sum(Function):
    """y = sum of x over axis.  Backward: dx = dy broadcast back over the summed dims."""
    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        return B.xp.add.reduce(x, axis=axis, keepdims=keepdim)

    def backward(self, m, dy, y, x):
        return (_expand(m, dy, x.shape, self.axis, self.keepdim),)


class Mean(Function):
    """y = mean of x over axis.  Backward: dx = dy / n broadcast back."""
    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        self.n = _count(x.shape, axis)
        total = B.xp.add.reduce(x, axis=axis, keepdims=keepdim)
        return total / self.n if self.n else total * float("nan")     # mean of nothing is nan, as torch

    def backward(self, m, dy, y, x):
        return (_expand(m, dy / self.n, x.shape, self.axis, self.keepdim),)


class Prod(Function):
    """y = product of x over axis.  Backward: dx_i = dy * prod_{j != i} x_j (exact with zeros)."""
    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        return B.xp.multiply.reduce(x, axis=axis, keepdims=keepdim)

    def backward(self, m, dy, y, x):
        dyk = _expand(m, dy, x.shape, self.axis, self.keepdim)
        if m.__name__ == "ArrayMath":
            return (dyk * _prod_of_others(x, self.axis),)
        if not (x.array == 0).any():                      # graph mode: y / x is exact when no x is 0
            return (dyk * _kept(m, y, x.shape, self.axis, self.keepdim) / x,)
        return (dyk * _prod_of_others_graph(x, self.axis),)


def _prod_of_others_graph(x, axis):
    """prod_{j != i} x_j as recorded Tensor ops (create_graph with zeros in x, where y / x is nan).

    Row i of an n x n grid is x with x_i replaced by 1; its product is the i-th "others" product.
    O(n^2) memory in the n reduced elements, so it is used only when some x is 0.
    """
    axes = tuple(range(x.ndim)) if axis is None else axis
    order = tuple(i for i in range(x.ndim) if i not in axes) + axes
    xt = x.permute(order)
    flat = xt.reshape(xt.shape[:x.ndim - len(axes)] + (-1,))
    n = flat.shape[-1]
    grid = flat.unsqueeze(-2).expand(flat.shape[:-1] + (n, n)).masked_fill(B.xp.eye(n, dtype=bool), 1.0)
    inverse = [0] * len(order)
    for i, a in enumerate(order):
        inverse[a] = i
    return grid.prod(-1).reshape(xt.shape).permute(inverse)


def _prod_of_others(x, axis):
    """prod_{j != i} x_j along the reduced dims, from exclusive cumulative products (no division)."""
    xp = B.xp
    if x.size == 0:
        return x.copy()
    axes = tuple(range(x.ndim)) if axis is None else axis
    rest = tuple(i for i in range(x.ndim) if i not in axes)
    xt = x.transpose(rest + axes)
    flat = xt.reshape(xt.shape[:len(rest)] + (-1,))
    ones = xp.ones(flat.shape[:-1] + (1,), x.dtype)
    left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], -1), -1)
    right = xp.flip(xp.cumprod(xp.concatenate([ones, xp.flip(flat, -1)[..., :-1]], -1), -1), -1)
    others = (left * right).reshape(xt.shape)
    return others.transpose(tuple(int(i) for i in xp.argsort(xp.asarray(rest + axes))))


class Amax(Function):
    """y = max of x over axis.  Backward: dy shared evenly by the elements equal to the max (as torch amax)."""
    reduce_name = "maximum"

    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        if x.size == 0:                     # empty is fine unless a reduced dim is (torch: amax over (1, 0) dim 0)
            dims = range(x.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
            if x.ndim == 0 or any(x.shape[d] == 0 for d in dims):
                raise RuntimeError(f"{self.op}: cannot reduce an empty tensor of shape {x.shape} over dim "
                                   f"{axis} (no identity)")
        return getattr(B.xp, self.reduce_name).reduce(x, axis=axis, keepdims=keepdim)

    def backward(self, m, dy, y, x):
        mask = x == _kept(m, y, x.shape, self.axis, self.keepdim)
        count = m.sum(m.cast(mask, dy.dtype), self.axis, True)
        return (m.where(mask, _expand(m, dy, x.shape, self.axis, self.keepdim) / count, 0.0),)


class Amin(Amax):
    """y = min of x over axis.  Backward: dy shared evenly by the elements equal to the min."""
    reduce_name = "minimum"


class MaxDim(Function):
    """values = max of x along one dim (indices kept on the node).  Backward: dy goes to the argmax only."""
    arg_name = "argmax"

    def forward(self, x, axis=0, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        if x.shape[axis] == 0:
            raise IndexError(f"{self.op}: cannot reduce dim {axis} of size 0 (shape {x.shape})")
        idx = getattr(B.xp, self.arg_name)(x, axis=axis)
        self.index = B.xp.expand_dims(idx, axis)
        values = B.xp.take_along_axis(x, self.index, axis=axis)
        return values if keepdim else values.squeeze(axis)

    def backward(self, m, dy, y, x):
        dyk = dy if self.keepdim else m.reshape(dy, _keep_shape(x.shape, (self.axis,)))
        return (m.scatter_add(x.shape, self.axis, self.index, dyk),)


class MinDim(MaxDim):
    """values = min of x along one dim.  Backward: dy goes to the argmin only."""
    arg_name = "argmin"


class Var(Function):
    """y = sum((x - mean)^2) / (n - correction).  Backward: dx = dy * 2 (x - mean) / (n - correction)."""
    def forward(self, x, axis=None, correction=1, keepdim=False):
        return self._var(x, axis, correction, keepdim).astype(x.dtype, copy=False)

    def _var(self, x, axis, correction, keepdim):
        """The variance, in float64 for float32 x (as torch accumulates): std of [1e30, 0] stays finite."""
        self.axis, self.keepdim = axis, keepdim
        self.n = _count(x.shape, axis)
        self.div = max(self.n - correction, 0)
        xp = B.xp
        if x.dtype == xp.float32:
            x = x.astype(xp.float64)
        xc = x - xp.add.reduce(x, axis=axis, keepdims=True) / self.n
        # NOTE: the rounded mean is off by up to half an ulp of the values (4 at 1e8 in float32): the deviations'
        # own mean measures that offset and removes it (corrected two-pass, Chan, Golub & LeVeque 1983)
        xc -= xp.add.reduce(xc, axis=axis, keepdims=True) / self.n
        return xp.add.reduce(xc * xc, axis=axis, keepdims=keepdim) / self.div

    def backward(self, m, dy, y, x):
        xc = x - m.sum(x, self.axis, True) / self.n
        scale = 2 / self.div if self.div else float("inf")         # n <= correction: inf/nan, as torch
        return (_expand(m, dy, x.shape, self.axis, self.keepdim) * xc * scale,)


class Std(Var):
    """y = sqrt(var).  Backward: dx = dy * (x - mean) / ((n - correction) y)."""
    def forward(self, x, axis=None, correction=1, keepdim=False):
        return B.xp.sqrt(self._var(x, axis, correction, keepdim)).astype(x.dtype, copy=False)

    def backward(self, m, dy, y, x):
        xc = x - m.sum(x, self.axis, True) / self.n
        yk = _kept(m, y, x.shape, self.axis, self.keepdim)
        return (_expand(m, dy, x.shape, self.axis, self.keepdim) * xc / (yk * self.div),)


class LogSumExp(Function):
    """y = log(sum(exp(x))) (shifted by the max for stability).  Backward: dx = dy * exp(x - y)."""
    def forward(self, x, axis=None, keepdim=False):
        xp = B.xp
        self.axis, self.keepdim = axis, keepdim
        mx = xp.maximum.reduce(x, axis=axis, keepdims=True) if x.size else xp.zeros(_keep_shape(x.shape, axis), x.dtype)
        mx = xp.where(xp.isfinite(mx), mx, 0)            # all -inf (or inf) rows: shift by 0, as torch
        y = xp.log(xp.add.reduce(xp.exp(x - mx), axis=axis, keepdims=True)) + mx
        return y if keepdim else y.reshape(B.xp.add.reduce(x, axis=axis).shape)

    def backward(self, m, dy, y, x):
        yk = _kept(m, y, x.shape, self.axis, self.keepdim)
        return (_expand(m, dy, x.shape, self.axis, self.keepdim) * m.exp(x - yk),)


class Norm2(Function):
    """y = sqrt(sum(x^2)).  Backward: dx = dy * x / y (0 where y = 0, as torch)."""
    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        xp = B.xp
        if x.size == 0 or x.dtype.kind != "f":
            return xp.sqrt(xp.add.reduce(x * x, axis=axis, keepdims=keepdim))
        # NOTE: scaled by the largest |x| (as BLAS nrm2), so x^2 neither overflows (1e30 in float32) nor underflows
        s = xp.maximum.reduce(xp.abs(x), axis=axis, keepdims=True)
        s = xp.where(xp.isfinite(s) & (s > 0), s, xp.ones((), x.dtype))
        xs = x / s
        y = xp.sqrt(xp.add.reduce(xs * xs, axis=axis, keepdims=True)) * s
        return y if keepdim else y.reshape(xp.add.reduce(xs, axis=axis).shape)

    def backward(self, m, dy, y, x):
        yk = _kept(m, y, x.shape, self.axis, self.keepdim)
        dyk = _kept(m, dy, x.shape, self.axis, self.keepdim)
        scale = m.where(yk == 0, 0.0, dyk / m.where(yk == 0, 1.0, yk))
        return (x * scale,)


class Cumsum(Function):
    """y_i = sum_{j <= i} x_j along axis.  Backward: dx = reversed cumsum of dy."""
    def forward(self, x, axis=0):
        self.axis = axis
        return B.xp.cumsum(x, axis=axis)

    def backward(self, m, dy, y, x):
        a = self.axis
        return (m.flip(m.cumsum(m.flip(dy, (a,)), a), (a,)),)


class SoftmaxOp(Function):
    """y = exp(x - max) / sum(exp(x - max)) along axis.  Backward: dx = y * (dy - sum(dy * y))."""
    def forward(self, x, axis=-1):
        self.axis = axis
        xp = B.xp
        if x.size == 0:                     # the max of an empty row has no identity
            return x.copy()
        e = xp.exp(x - xp.maximum.reduce(x, axis=axis, keepdims=True))
        e /= xp.add.reduce(e, axis=axis, keepdims=True)
        return e

    def backward(self, m, dy, y, x):
        return (y * (dy - m.sum(dy * y, self.axis, True)),)


class LogSoftmaxOp(Function):
    """y = x - max - log(sum(exp(x - max))) along axis.  Backward: dx = dy - exp(y) * sum(dy)."""
    def forward(self, x, axis=-1):
        self.axis = axis
        xp = B.xp
        if x.size == 0:
            return x.copy()
        s = x - xp.maximum.reduce(x, axis=axis, keepdims=True)
        s -= xp.log(xp.add.reduce(xp.exp(s), axis=axis, keepdims=True))
        return s

    def backward(self, m, dy, y, x):
        return (dy - m.exp(y) * m.sum(dy, self.axis, True),)


OPS = {"sum": Sum, "mean": Mean, "prod": Prod, "amax": Amax, "amin": Amin, "max": MaxDim,
       "min": MinDim, "var": Var, "std": Std, "logsumexp": LogSumExp, "norm2": Norm2,
       "cumsum": Cumsum, "softmax": SoftmaxOp, "log_softmax": LogSoftmaxOp}
