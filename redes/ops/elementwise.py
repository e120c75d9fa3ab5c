"""Elementwise ops (PyTorch broadcasting). Each docstring gives y = f(x) and the backward formula.

`m` in backward is the math namespace (arrays, or Tensors under create_graph): see autograd.py.
"""
import math

import numpy as np
from numpy import generic as _generic

from .. import backend as B
from ..autograd import ArrayMath, Function, unbroadcast


def _broadcast_error(op, error, *xs):
    """The error of an op whose inputs NumPy refused; built only then, so the success path pays nothing.

    Shapes that do not broadcast give `add: shapes (2, 3) and (4,) cannot be broadcast ...`; any other
    ValueError (e.g. integers to a negative integer power) is returned unchanged.
    """
    shapes = [tuple(B.xp.shape(x)) for x in xs]
    try:
        B.xp.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(map(str, shapes[:-1])) + f" and {shapes[-1]}"
        return RuntimeError(f"{op}: shapes {listed} cannot be broadcast: aligned from the last dim, "
                            "each pair of sizes must be equal or one of them 1")
    return error


def _grads(self, m, da, db, a, b):
    """The (da, db) pair of a binary op, each summed back to its input's shape, None where not needed."""
    n = self.needs                  # the shape tests inline unbroadcast's first line: this is the hot path
    return ((da if da.shape == a.shape else unbroadcast(m, da, a.shape)) if n[0] else None,
            (db if db.shape == b.shape else unbroadcast(m, db, b.shape)) if n[1] else None)


class AddOp(Function):
    """z = a + b.  Backward: da = dz, db = dz (summed over broadcast dims)."""
    __slots__ = ()          # saves nothing: no __dict__ per node (the commonest node of a scalar graph)

    def forward(self, a, b):
        try:
            return a + b
        except ValueError as e:
            raise _broadcast_error("add", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        return _grads(self, m, dz, dz, a, b)


class Sub(Function):
    """z = a - b.  Backward: da = dz, db = -dz."""
    __slots__ = ()

    def forward(self, a, b):
        try:
            return a - b
        except ValueError as e:
            raise _broadcast_error("sub", e, a, b) from None
        except TypeError:                           # NumPy refuses bool - bool from inside itself
            raise RuntimeError(_BOOL_SUB) from None

    def backward(self, m, dz, z, a, b):
        return _grads(self, m, dz, -dz if self.needs[1] else None, a, b)


_BOOL_SUB = ("sub: subtraction, the `-` operator, with a bool tensor is not supported; to invert a mask, use "
             "the `~` or logical_not() operator instead")


def check_bool_sub(a, b):
    """torch refuses `-` when either operand is a bool tensor (NumPy allows int - bool): so does redes."""
    for x in (a, b):
        if getattr(getattr(x, "array", None), "dtype", None) == bool:
            raise RuntimeError(_BOOL_SUB)
    return a, b


class Mul(Function):
    """z = a * b.  Backward: da = dz * b, db = dz * a."""
    __slots__ = ()

    def forward(self, a, b):
        try:
            return a * b
        except ValueError as e:
            raise _broadcast_error("mul", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        n = self.needs
        return _grads(self, m, dz * b if n[0] else None, dz * a if n[1] else None, a, b)


class Div(Function):
    """z = a / b.  Backward: da = dz / b, db = -dz * z / b."""
    def forward(self, a, b):
        try:
            return a / b
        except ValueError as e:
            raise _broadcast_error("div", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        n = self.needs
        return _grads(self, m, dz / b if n[0] else None, -dz * z / b if n[1] else None, a, b)


class Pow(Function):
    """z = a ** b.  Backward: da = dz * b * a**(b-1), db = dz * z * log(a) (0 where a == 0, as torch)."""
    def forward(self, a, b):
        try:
            return a ** b
        except ValueError as e:
            raise _broadcast_error("pow", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        n = self.needs
        da = db = None
        if n[0]:
            # NOTE: b * a**(b-1), not b * z / a: the latter is nan at a == 0
            if isinstance(b, (int, float)):
                da = dz * b * a ** (b - 1) if b != 0 else dz * 0
            else:                                   # b == 0 gives 0, not 0 * 0**-1 = nan at a == 0 (as torch)
                da = dz * m.where(b == 0, 0.0, b * a ** (b - 1))
        if n[1]:
            if isinstance(a, (int, float)):
                db = dz * z * math.log(a) if a > 0 else dz * z * float("nan") if a < 0 else dz * 0
            else:                                   # 0**b log(0) -> 0 for b >= 0 (the limit); b < 0 keeps -inf
                zero = (a == 0) & (b >= 0)
                db = m.where(zero, 0.0, dz * z * m.log(m.where(zero, 1.0, a)))
        return _grads(self, m, da, db, a, b)


class Maximum(Function):
    """z = max(a, b).  Backward: dz goes to the larger input; ties split it in halves (as torch)."""
    def forward(self, a, b):
        try:
            return B.xp.maximum(a, b)
        except ValueError as e:
            raise _broadcast_error("maximum", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        half = m.where(a == b, dz * 0.5, dz)
        n = self.needs
        return _grads(self, m, m.where(a < b, 0.0, half) if n[0] else None,
                      m.where(b < a, 0.0, half) if n[1] else None, a, b)


class Minimum(Function):
    """z = min(a, b).  Backward: dz goes to the smaller input; ties split it in halves (as torch)."""
    def forward(self, a, b):
        try:
            return B.xp.minimum(a, b)
        except ValueError as e:
            raise _broadcast_error("minimum", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        half = m.where(a == b, dz * 0.5, dz)
        n = self.needs
        return _grads(self, m, m.where(a > b, 0.0, half) if n[0] else None,
                      m.where(b > a, 0.0, half) if n[1] else None, a, b)


class Where(Function):
    """z = a where cond else b.  Backward: da = dz where cond, db = dz elsewhere (cond gets none)."""
    def forward(self, cond, a, b):
        try:
            return B.xp.where(cond, a, b)
        except ValueError as e:
            raise _broadcast_error("where", e, cond, a, b) from None

    def backward(self, m, dz, z, cond, a, b):
        n = self.needs
        da = unbroadcast(m, m.where(cond, dz, 0.0), a.shape) if n[1] else None
        db = unbroadcast(m, m.where(cond, 0.0, dz), b.shape) if n[2] else None
        return None, da, db


# --------------------------------------------------------------------------- unary
class Neg(Function):
    """y = -x.  Backward: dx = -dy."""
    def forward(self, x):
        if x.dtype == bool:                         # NumPy raises from inside itself; torch refuses too
            raise RuntimeError("neg: negation, the `-` operator, on a bool tensor is not supported; to invert a "
                               "mask, use the `~` or logical_not() operator instead")
        return -x

    def backward(self, m, dy, y, x):
        return (-dy,)


class Abs(Function):
    """y = |x|.  Backward: dx = dy * sign(x) (0 at x = 0, as torch)."""
    def forward(self, x):
        if x.dtype == bool:
            raise NotImplementedError("abs: not implemented for bool tensors (as torch)")
        return B.xp.abs(x)

    def backward(self, m, dy, y, x):
        return (dy * m.sign(x),)


class Sign(Function):
    """y = sign(x).  Backward: dx = 0 (piecewise constant)."""
    def forward(self, x):
        if x.dtype == bool:                         # NumPy has no bool sign; torch keeps the bools
            return x.copy()
        if x.dtype.kind == "f":                     # (x > 0) - (x < 0): sign(nan) = 0, as torch (NumPy: nan)
            return B.xp.subtract(x > 0, x < 0, dtype=x.dtype)
        return B.xp.sign(x)

    def backward(self, m, dy, y, x):
        return (dy * 0,)


class Exp(Function):
    """y = exp(x).  Backward: dx = dy * y (reuses the output)."""
    def forward(self, x):
        return B.xp.exp(x)

    def backward(self, m, dy, y, x):
        return (dy * y,)


class Log(Function):
    """y = log(x).  Backward: dx = dy / x."""
    def forward(self, x):
        return B.xp.log(x)

    def backward(self, m, dy, y, x):
        return (dy / x,)


class Log1p(Function):
    """y = log(1 + x).  Backward: dx = dy / (1 + x)."""
    def forward(self, x):
        return B.xp.log1p(x)

    def backward(self, m, dy, y, x):
        return (dy / (x + 1),)


class Expm1(Function):
    """y = exp(x) - 1.  Backward: dx = dy * (y + 1)."""
    def forward(self, x):
        return B.xp.expm1(x)

    def backward(self, m, dy, y, x):
        return (dy * (y + 1),)


class Sqrt(Function):
    """y = sqrt(x).  Backward: dx = dy / (2 y)."""
    def forward(self, x):
        return B.xp.sqrt(x)

    def backward(self, m, dy, y, x):
        return (dy / (y * 2),)


class Rsqrt(Function):
    """y = 1 / sqrt(x).  Backward: dx = -dy * y**3 / 2."""
    def forward(self, x):
        return 1 / B.xp.sqrt(x)

    def backward(self, m, dy, y, x):
        return (dy * y * y * y * -0.5,)


class Square(Function):
    """y = x * x.  Backward: dx = 2 x dy."""
    def forward(self, x):
        return x * x if x.dtype != bool else x.astype(B.xp.int64)    # torch: bool squared is int64

    def backward(self, m, dy, y, x):
        return (dy * x * 2,)


class Sin(Function):
    """y = sin(x).  Backward: dx = dy * cos(x)."""
    def forward(self, x):
        return B.xp.sin(x)

    def backward(self, m, dy, y, x):
        return (dy * m.cos(x),)


class Cos(Function):
    """y = cos(x).  Backward: dx = -dy * sin(x)."""
    def forward(self, x):
        return B.xp.cos(x)

    def backward(self, m, dy, y, x):
        return (-dy * m.sin(x),)


class TanhOp(Function):
    """y = tanh(x).  Backward: dx = dy * (1 - y^2)."""
    def forward(self, x):
        return B.xp.tanh(x)

    def backward(self, m, dy, y, x):
        return (dy * (1 - y * y),)


_sigmoid = B.sigmoid     # 1 / (1 + exp(-x)) without overflow


class SigmoidOp(Function):
    """y = 1 / (1 + exp(-x)).  Backward: dx = dy * y * (1 - y)."""
    def forward(self, x):
        return _sigmoid(x)

    def backward(self, m, dy, y, x):
        return (dy * y * (1 - y),)


class Erf(Function):
    """y = erf(x).  Backward: dx = dy * 2/sqrt(pi) * exp(-x^2)."""
    def forward(self, x):
        return B.erf(x)

    def backward(self, m, dy, y, x):
        return (dy * m.exp(-(x * x)) * (2 / math.sqrt(math.pi)),)


_ZEROS = {}                     # dtype char -> a read-only flat array of zeros (see _zeros_in_layout)
_ZEROS_MAX = 1 << 21           # the largest cached buffer: 8 MiB of float32 (16 of float64) for the whole run


def _zeros_in_layout(x):
    """Zeros shaped and laid out like x, as a view of a cached buffer, or the scalar 0.

    NumPy 2's maximum(x, 0) takes a slow loop for the scalar; against an array of zeros with x's memory order
    it runs 2.5-3x faster (ReLU on a 64x256 batch: 9.2 -> 3.6 us). Only for NumPy arrays that are a
    permutation of contiguous memory (conv outputs are NHWC under an NCHW shape) and not too large.
    """
    if type(x) is not np.ndarray or x.size > _ZEROS_MAX or x.dtype.char not in "fd":
        return 0
    zeros = _ZEROS.get(x.dtype.char)
    if zeros is None or zeros.size < x.size:
        zeros = B.xp.zeros(max(x.size, 1 << 16), x.dtype)
        zeros.flags.writeable = False
        _ZEROS[x.dtype.char] = zeros
    if x.flags.c_contiguous:
        return zeros[:x.size].reshape(x.shape)
    order = B.memory_order(x)
    if order is None:
        return 0
    z = zeros[:x.size].reshape(tuple(x.shape[d] for d in order))
    return z.transpose(sorted(range(x.ndim), key=order.__getitem__))


class ReLUOp(Function):
    """y = max(x, 0).  Backward: dx = dy where x > 0."""
    __slots__ = ()

    def forward(self, x):
        if x.ndim == 0 and isinstance(x, _generic):   # a number: np.maximum on a NumPy scalar costs ~1 us more
            return x if x > 0 or x != x else x.dtype.type(0)       # NaN stays NaN, -inf gives 0
        if B.kernels is not None:
            k = B.fused(x)
            if k is not None:       # C-contiguous float32: one pass, no zeros to read (8x16: 1.1 -> 0.5 us)
                y = B.xp.empty_like(x)
                k.relu_forward(x, y)
                return y
            if x.size >= _RELU_KERNEL_MIN and type(x) is np.ndarray and x.dtype == np.float32:
                order = B.memory_order(x)       # a conv's NHWC output under its NCHW shape
                if order is not None:
                    xv = x.transpose(order)
                    y = B.xp.empty_like(xv)
                    B.kernels.relu_forward(xv, y)
                    return y.transpose(sorted(range(x.ndim), key=order.__getitem__))
        return B.xp.maximum(x, _zeros_in_layout(x))

    def backward(self, m, dy, y, x):
        # NOTE: the mask is x > 0, so x = 0 passes no gradient (as torch); maximum's tie rule would pass half.
        # A multiply by the mask, not where(): 12x faster on a CNN activation (a nan dy stays nan under it)
        if m is ArrayMath and B.kernels is not None:
            k = B.fused(dy, y)
            if k is not None:       # C-contiguous float32, any size: 30-60% fewer instructions than dy * (y > 0)
                dx = B.xp.empty_like(y)
                k.relu_backward(dy, y, dx)
                return (dx,)
            if dy.size >= _RELU_KERNEL_MIN:
                dx = _relu_backward_compiled(dy, y)
                if dx is not None:
                    return (dx,)
        return (dy * (y > 0),)


_RELU_KERNEL_MIN = 1 << 12          # below, the layout checks cost more than the pass they save (non-contiguous)


def _relu_backward_compiled(dy, y):
    """dy * (y > 0) in one compiled pass, for float32 dy and y in the same memory layout (else None)."""
    if type(dy) is not type(y) or dy.strides != y.strides or dy.shape != y.shape:
        return None
    order = B.memory_order(y)
    if order is None:
        return None
    yv, dyv = y.transpose(order), dy.transpose(order)
    k = B.fused(dyv, yv)
    if k is None:
        return None
    dx = B.xp.empty_like(yv)
    k.relu_backward(dyv, yv, dx)
    return dx.transpose(sorted(range(y.ndim), key=order.__getitem__))


class LeakyReLUOp(Function):
    """y = x if x > 0 else slope * x.  Backward: dx = dy if x > 0 else slope * dy."""
    def forward(self, x, negative_slope=0.01):
        self.slope = negative_slope
        return B.xp.where(x > 0, x, x * negative_slope)

    def backward(self, m, dy, y, x):
        return (m.where(x > 0, dy, dy * self.slope),)


class ELUOp(Function):
    """y = x if x > 0 else alpha (exp(x) - 1).  Backward: dx = dy if x > 0 else dy * (y + alpha)."""
    def forward(self, x, alpha=1.0):
        self.alpha = alpha
        return B.xp.where(x > 0, x, alpha * B.xp.expm1(B.xp.minimum(x, 0)))

    def backward(self, m, dy, y, x):
        return (m.where(x > 0, dy, dy * (y + self.alpha)),)


_SELU_ALPHA = 1.6732632423543772848170429916717    # Klambauer et al. 2017, "Self-Normalizing Neural Networks"
_SELU_SCALE = 1.0507009873554804934193349852946


class SELUOp(Function):
    """y = scale * (x if x > 0 else alpha (exp(x) - 1)).  Backward: dx = scale dy, or dy (y + scale alpha)."""
    def forward(self, x):
        return _SELU_SCALE * B.xp.where(x > 0, x, _SELU_ALPHA * B.xp.expm1(B.xp.minimum(x, 0)))

    def backward(self, m, dy, y, x):
        return (m.where(x > 0, dy * _SELU_SCALE, dy * (y + _SELU_SCALE * _SELU_ALPHA)),)


_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


_AS_P = 0.3275911            # Abramowitz & Stegun 7.1.26: erfc(z) ~ t(a1 + t(a2 + ... t a5)) exp(-z^2), t = 1/(1 + p z)
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)      # a1 .. a5, |error| < 1.5e-7
# With z = |x| / sqrt 2: t = 1 / (1 + p |x| / sqrt 2) = K u, u = 1 / (K + |x|), K = sqrt 2 / p. The powers of K and the
# 1/2 of Phi = erfc / 2 go into the coefficients, so Phi(-|x|) = u (c1 + u (c2 + ... u c5)) exp(-x^2 / 2).
_AS_K = math.sqrt(2) / _AS_P
_AS_C = tuple(0.5 * a * _AS_K ** (i + 1) for i, a in enumerate(_AS_A))
_AS_C32 = np.asarray(_AS_C, np.float32)     # host-side: the compiled kernel's coefficients (backend.kernels.gelu)
_SIGN = 0x80000000


def _gelu_and_slope(x, y, slope):
    """Into y and slope: GELU y = x Phi(x) and its derivative Phi(x) + x phi(x) (phi the normal density).

    float64: Phi from SciPy's erf (exact). float32: A&S 7.1.26, which shares exp(-x^2 / 2) with phi and
    gives the tail h = Phi(-|x|) directly: absolute error below 7e-7, no cancellation for negative x; then
    Phi(x) = 0.5 + sign(x) (0.5 - h), the sign copied bitwise (np.copysign is 6x slower than a pass).
    Keeping the slope instead of Phi and phi makes backward one multiply.
    """
    xp = B.xp
    e = x * x
    e *= -0.5
    xp.exp(e, out=e)                                # exp(-x^2 / 2): phi's numerator, and erfc's exp(-z^2)
    if x.dtype != xp.float32:
        cdf = B.erf(x * (1 / math.sqrt(2)))
        cdf += 1.0
        cdf *= 0.5
    else:
        a = xp.abs(x)
        u = a + _AS_K
        xp.divide(1.0, u, out=u)                    # (divide: 2x faster than np.reciprocal here)
        cdf = u * _AS_C[4]
        for c in _AS_C[3::-1]:
            cdf += c
            cdf *= u
        cdf *= e                                    # h = Phi(-|x|)
        xp.subtract(0.5, cdf, out=cdf)              # |Phi(x) - 1/2|
        sign = a.view(xp.uint32)
        xp.bitwise_and(x.view(xp.uint32), _SIGN, out=sign)
        bits = cdf.view(xp.uint32)
        bits ^= sign                                # Phi(x) - 1/2, with x's sign
        cdf += 0.5
    xp.multiply(x, cdf, out=y)
    xp.multiply(x, e, out=slope)
    slope *= _INV_SQRT_2PI
    slope += cdf


_BLOCK = 1 << 16        # elements per block: a block's temporaries stay in cache (GELU: 40% faster)


def _blockwise(fn, x, n_out):
    """fn(x, *outs) over cache-sized blocks of x, writing n_out new arrays shaped like x: a multi-pass
    elementwise formula then reads each block from cache instead of streaming the whole array once per
    pass. NumPy backend only (a GPU gains nothing from a Python loop of small kernels)."""
    if x.ndim == 0:                         # NumPy arithmetic on 0-d arrays gives scalars, which out= refuses
        return [o.reshape(()) for o in _blockwise(fn, x.reshape(1), n_out)]
    outs = [B.xp.empty(x.shape, x.dtype) for _ in range(n_out)]
    if x.size <= _BLOCK or type(x) is not np.ndarray:
        fn(x, *outs)
        return outs
    flat = x.reshape(-1)                    # a copy if x is not contiguous: the blocks need one layout
    flats = [o.reshape(-1) for o in outs]
    for s in range(0, x.size, _BLOCK):
        fn(flat[s:s + _BLOCK], *[o[s:s + _BLOCK] for o in flats])
    return outs


class GELUOp(Function):
    """y = x Phi(x) (exact, erf) or 0.5 x (1 + tanh(sqrt(2/pi)(x + 0.044715 x^3))) (approximate='tanh').

    Backward: exact dx = dy (Phi(x) + x phi(x)); tanh: dx = dy (0.5 (1 + t) + 0.5 x (1 - t^2) u'(x)).
    """
    def forward(self, x, approximate="none"):
        self.approximate = approximate
        if approximate == "tanh":
            return 0.5 * x * (1 + B.xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
        k = B.fused(x)
        if k is not None:           # one compiled pass, the same formula; backward recomputes the slope from x
            self.slope = None
            y = B.xp.empty_like(x)
            k.gelu(x, None, y, _AS_C32, _AS_K)
            return y
        y, self.slope = _blockwise(_gelu_and_slope, x, 2)     # the slope is kept: backward is one multiply
        return y

    def backward(self, m, dy, y, x):
        if self.approximate == "tanh":
            t = m.tanh((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
            du = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
            return (dy * ((t + 1) * 0.5 + x * (1 - t * t) * du * 0.5),)
        if m is ArrayMath:
            if self.slope is not None:
                return (dy * self.slope,)
            k = B.fused(x, dy)
            if k is not None:
                dx = B.xp.empty_like(x)
                k.gelu(x, dy, dx, _AS_C32, _AS_K)           # dx = dy (Phi(x) + x phi(x)) in one pass over x and dy
                return (dx,)
            return (dy * _blockwise(_gelu_and_slope, x, 2)[1],)
        cdf = (m.erf(x * (1 / math.sqrt(2))) + 1) * 0.5
        return (dy * (cdf + x * m.exp(x * x * -0.5) * _INV_SQRT_2PI),)


class SiLUOp(Function):
    """y = x sigmoid(x).  Backward: dx = dy s (1 + x (1 - s)), s = sigmoid(x)."""
    def forward(self, x):
        return x * _sigmoid(x)

    def backward(self, m, dy, y, x):
        s = m.sigmoid(x)
        return (dy * s * (x * (1 - s) + 1),)


class SoftplusOp(Function):
    """y = log(1 + exp(beta x)) / beta (y = x where beta x > threshold).  Backward: dx = dy sigmoid(beta x)."""
    def forward(self, x, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold
        xp = B.xp
        bx = x * beta
        soft = (xp.log1p(xp.exp(-xp.abs(bx))) + xp.maximum(bx, 0)) / beta   # stable for large |x|
        return xp.where(bx > threshold, x, soft)

    def backward(self, m, dy, y, x):
        bx = x * self.beta
        return (m.where(bx > self.threshold, dy, dy * m.sigmoid(bx)),)


class Clamp(Function):
    """y = min(max(x, lo), hi).  Backward: dx = dy where lo <= x <= hi (as torch: bounds included)."""
    def forward(self, x, min=None, max=None):
        self.lo, self.hi = min, max
        return B.xp.clip(x, min, max)

    def backward(self, m, dy, y, x):
        if self.lo is not None:
            dy = m.where(x < self.lo, 0.0, dy)
        if self.hi is not None:
            dy = m.where(x > self.hi, 0.0, dy)
        return (dy,)


class Cast(Function):
    """y = x converted to another dtype.  Backward: dx = dy converted back to x's dtype."""
    def forward(self, x, dtype=None):
        return x.astype(dtype)

    def backward(self, m, dy, y, x):
        return (m.cast(dy, x.dtype),)


class ToDevice(Function):
    """y = x copied to another device (Tensor.to).  Backward: dx = dy copied back to x's device."""
    def forward(self, x, device=None):
        self.source = B.backend_of(x).type
        return B.move(x, device)

    def backward(self, m, dy, y, x):
        return (m.to_device(dy, self.source),)


OPS = {"add": AddOp, "sub": Sub, "mul": Mul, "div": Div, "pow": Pow, "maximum": Maximum, "minimum": Minimum,
       "where": Where, "neg": Neg, "abs": Abs, "sign": Sign, "exp": Exp, "log": Log, "log1p": Log1p,
       "expm1": Expm1, "sqrt": Sqrt, "rsqrt": Rsqrt, "square": Square, "sin": Sin, "cos": Cos, "tanh": TanhOp,
       "sigmoid": SigmoidOp, "erf": Erf, "relu": ReLUOp, "leaky_relu": LeakyReLUOp, "elu": ELUOp, "selu": SELUOp,
       "gelu": GELUOp, "silu": SiLUOp, "softplus": SoftplusOp, "clamp": Clamp, "cast": Cast,
       "to_device": ToDevice}
