"""Elementwise math beyond the basics: trigonometric and hyperbolic functions and their inverses, the special
functions (erfc, erfinv, lgamma, digamma, polygamma, sinc) and the binary atan2 / fmod / remainder.

Each docstring gives y = f(x) and the backward formula. `m` in backward is the math namespace (arrays, or
Tensors under create_graph): functions m lacks (cosh, digamma, ...) go through `_call`, which applies the op
itself in graph mode, so every gradient here can be differentiated again.
"""
import math

from .. import backend as B
from ..autograd import ArrayMath, Function
from .elementwise import _broadcast_error, _grads


def _scipy(name):
    """A SciPy special function for the current device's arrays (NumPy: scipy.special; CuPy: cupyx.scipy.special)."""
    return getattr(B.current().special, name)


def _call(m, op, x, **options):
    """op's forward on an array (plain backward), or op applied to a Tensor (create_graph: recorded)."""
    return op().forward(x, **options) if m is ArrayMath else op.apply(x, **options)


def _const(x):
    """The values of x (array, number or Tensor) as a constant: for factors whose gradient is zero (floor, trunc)."""
    return getattr(x, "array", x)


class Tan(Function):
    """y = tan(x).  Backward: dx = dy (1 + y^2)."""
    def forward(self, x):
        return B.xp.tan(x)

    def backward(self, m, dy, y, x):
        return (dy * (y * y + 1),)


class Asin(Function):
    """y = asin(x).  Backward: dx = dy / sqrt(1 - x^2)."""
    def forward(self, x):
        return B.xp.arcsin(x)

    def backward(self, m, dy, y, x):
        return (dy / m.sqrt(1 - x * x),)


class Acos(Function):
    """y = acos(x).  Backward: dx = -dy / sqrt(1 - x^2)."""
    def forward(self, x):
        return B.xp.arccos(x)

    def backward(self, m, dy, y, x):
        return (-dy / m.sqrt(1 - x * x),)


class Atan(Function):
    """y = atan(x).  Backward: dx = dy / (1 + x^2)."""
    def forward(self, x):
        return B.xp.arctan(x)

    def backward(self, m, dy, y, x):
        return (dy / (x * x + 1),)


class Sinh(Function):
    """y = sinh(x).  Backward: dx = dy cosh(x)."""
    def forward(self, x):
        return B.xp.sinh(x)

    def backward(self, m, dy, y, x):
        return (dy * _call(m, Cosh, x),)


class Cosh(Function):
    """y = cosh(x).  Backward: dx = dy sinh(x)."""
    def forward(self, x):
        return B.xp.cosh(x)

    def backward(self, m, dy, y, x):
        return (dy * _call(m, Sinh, x),)


class Asinh(Function):
    """y = asinh(x).  Backward: dx = dy / sqrt(x^2 + 1)."""
    def forward(self, x):
        return B.xp.arcsinh(x)

    def backward(self, m, dy, y, x):
        return (dy / m.sqrt(x * x + 1),)


class Acosh(Function):
    """y = acosh(x) (x >= 1).  Backward: dx = dy / sqrt(x^2 - 1)."""
    def forward(self, x):
        return B.xp.arccosh(x)

    def backward(self, m, dy, y, x):
        return (dy / m.sqrt(x * x - 1),)


class Atanh(Function):
    """y = atanh(x) (|x| < 1).  Backward: dx = dy / (1 - x^2)."""
    def forward(self, x):
        return B.xp.arctanh(x)

    def backward(self, m, dy, y, x):
        return (dy / (1 - x * x),)


class Erfc(Function):
    """y = 1 - erf(x), accurate where erf(x) is near 1.  Backward: dx = -dy 2/sqrt(pi) exp(-x^2)."""
    def forward(self, x):
        return _scipy("erfc")(x)

    def backward(self, m, dy, y, x):
        return (dy * m.exp(-(x * x)) * (-2 / math.sqrt(math.pi)),)


class Erfinv(Function):
    """y = erf^-1(x) (|x| < 1).  Backward: dx = dy sqrt(pi)/2 exp(y^2)."""
    def forward(self, x):
        return _scipy("erfinv")(x)

    def backward(self, m, dy, y, x):
        return (dy * m.exp(y * y) * (math.sqrt(math.pi) / 2),)


class Lgamma(Function):
    """y = log|Gamma(x)|.  Backward: dx = dy digamma(x)."""
    def forward(self, x):
        return _scipy("gammaln")(x)

    def backward(self, m, dy, y, x):
        return (dy * _call(m, Polygamma, x, n=0),)


class Polygamma(Function):
    """y = psi^(n)(x), the n-th derivative of digamma (n = 0: digamma).  Backward: dx = dy psi^(n+1)(x)."""
    def forward(self, x, n=0):
        self.n = n
        if n == 0:
            return _scipy("digamma")(x)
        return _scipy("polygamma")(n, x).astype(x.dtype, copy=False)

    def backward(self, m, dy, y, x):
        return (dy * _call(m, Polygamma, x, n=self.n + 1),)


class Sinc(Function):
    """y = sin(pi x) / (pi x), 1 at x = 0.  Backward: dx = dy (cos(pi x) - y) / x, 0 at x = 0 (as torch)."""
    def forward(self, x):
        return B.xp.sinc(x)

    def backward(self, m, dy, y, x):
        zero = x == 0
        safe = m.where(zero, 1.0, x)                # NOTE: the x = 0 branch must not divide by 0 (nan * 0 = nan)
        return (m.where(zero, 0.0, dy * (m.cos(safe * math.pi) - y) / safe),)


class Atan2(Function):
    """z = atan2(a, b), the angle of the point (b, a).  Backward: da = dz b / (a^2 + b^2), db = -dz a / (a^2 + b^2)."""
    def forward(self, a, b):
        try:
            return B.xp.arctan2(a, b)
        except ValueError as e:
            raise _broadcast_error("atan2", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        r2 = a * a + b * b
        n = self.needs
        return _grads(self, m, dz * b / r2 if n[0] else None, -dz * a / r2 if n[1] else None, a, b)


class Fmod(Function):
    """z = a - trunc(a / b) b (C's fmod: the sign of a).  Backward: da = dz, db = -dz trunc(a / b)."""
    def forward(self, a, b):
        try:
            return B.xp.fmod(a, b)
        except ValueError as e:
            raise _broadcast_error("fmod", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        q = B.xp.trunc(_const(a) / _const(b))           # piecewise constant: no gradient of its own
        return _grads(self, m, dz if self.needs[0] else None, -dz * q if self.needs[1] else None, a, b)


class Remainder(Function):
    """z = a - floor(a / b) b (Python's %: the sign of b).  Backward: da = dz, db = -dz floor(a / b)."""
    def forward(self, a, b):
        try:
            return B.xp.remainder(a, b)
        except ValueError as e:
            raise _broadcast_error("remainder", e, a, b) from None

    def backward(self, m, dz, z, a, b):
        q = B.xp.floor(_const(a) / _const(b))
        return _grads(self, m, dz if self.needs[0] else None, -dz * q if self.needs[1] else None, a, b)


OPS = {"tan": Tan, "asin": Asin, "acos": Acos, "atan": Atan, "sinh": Sinh, "cosh": Cosh, "asinh": Asinh,
       "acosh": Acosh, "atanh": Atanh, "erfc": Erfc, "erfinv": Erfinv, "lgamma": Lgamma, "polygamma": Polygamma,
       "sinc": Sinc, "atan2": Atan2, "fmod": Fmod, "remainder": Remainder}
