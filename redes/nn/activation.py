"""Activation layers, as torch.nn: each one calls its F function (the math is in redes.ops.elementwise).

`inplace=` is accepted for compatibility and ignored (redes never overwrites an input); repr shows it as torch.
"""
from .. import backend as B
from .. import dtypes as _dt
from ..ops.elementwise import ReLUOp as _ReLUOp
from ..tensor import Tensor
from . import _checks
from . import functional as F
from .module import Module, Parameter

__all__ = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Sigmoid", "LogSigmoid", "Tanh",
           "Softplus", "Softsign", "Hardtanh", "PReLU", "Softmax", "Softmin", "LogSoftmax", "CELU", "GLU", "Hardshrink",
           "Softshrink", "Tanhshrink", "Hardsigmoid", "Hardswish", "Threshold", "RReLU", "Softmax2d"]


def _inplace(inplace):
    return "inplace=True" if inplace else ""


class ReLU(Module):
    """y = max(x, 0).  Shape: any -> same.

    Example:
        >>> rd.nn.ReLU()(rd.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        # the op directly for a Tensor (F.relu's check and Tensor.relu are two calls more per layer)
        return _ReLUOp.apply(input) if isinstance(input, Tensor) else F.relu(input)

    def extra_repr(self):
        return _inplace(self.inplace)


class LeakyReLU(Module):
    """y = x if x > 0 else negative_slope * x.  Shape: any -> same."""
    def __init__(self, negative_slope=0.01, inplace=False):
        _checks.number("LeakyReLU", "negative_slope", negative_slope)
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(Module):
    """y = x if x > 0 else alpha * (exp(x) - 1).  Shape: any -> same."""
    def __init__(self, alpha=1.0, inplace=False):
        _checks.number(type(self).__name__, "alpha", alpha)
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class SELU(Module):
    """y = 1.0507 * elu(x, alpha=1.6733) (self-normalising; pair with kaiming_normal_(nonlinearity='linear'))."""
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.selu(input)

    def extra_repr(self):
        return _inplace(self.inplace)


class GELU(Module):
    """y = x * Phi(x) (approximate='none') or 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) ('tanh')."""
    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """y = x * sigmoid(x)."""
    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input)

    def extra_repr(self):
        return _inplace(self.inplace)


class Mish(SiLU):
    """y = x * tanh(softplus(x))."""
    def forward(self, input):
        return F.mish(input)


class Sigmoid(Module):
    """y = 1 / (1 + exp(-x))."""
    def forward(self, input):
        return F.sigmoid(input)


class LogSigmoid(Module):
    """y = log(sigmoid(x))."""
    def forward(self, input):
        return F.logsigmoid(input)


class Tanh(Module):
    """y = tanh(x)."""
    def forward(self, input):
        return F.tanh(input)


class Softsign(Module):
    """y = x / (1 + |x|)."""
    def forward(self, input):
        return F.softsign(input)


class Softplus(Module):
    """y = log(1 + exp(beta x)) / beta (y = x where beta x > threshold)."""
    def __init__(self, beta=1.0, threshold=20.0):
        if _checks.number("Softplus", "beta", beta) == 0:
            raise ValueError("Softplus: beta must be nonzero (the function divides by it), got 0")
        _checks.number("Softplus", "threshold", threshold)
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """y = clamp(x, min_val, max_val); the gradient passes strictly inside the bounds (as torch)."""
    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        _checks.number("Hardtanh", "min_val", min_val)
        _checks.number("Hardtanh", "max_val", max_val)
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    """y = min(max(x, 0), 6)."""
    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return _inplace(self.inplace)


class PReLU(Module):
    """y = x if x > 0 else a * x, with a learned slope a (one, or one per channel = dim 1 of the input).

    Args: num_parameters: 1 or the number of channels. init: initial slope (default 0.25).
    """
    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        _checks.positive_int("PReLU", "num_parameters", num_parameters)
        _checks.number("PReLU", "init", init)
        super().__init__()
        self.num_parameters, self.init = num_parameters, init
        dtype = _dt.as_dtype(dtype) or _dt.get_default_dtype()
        self.weight = Parameter(Tensor._wrap(B.xp.full((num_parameters,), init, dtype)))

    def reset_parameters(self):
        self.weight.array[...] = self.init

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class _SoftmaxBase(Module):
    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_SoftmaxBase):
    """y_i = exp(x_i) / sum_j exp(x_j) along dim.  Example: rd.nn.Softmax(dim=-1)."""
    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)


class Softmin(_SoftmaxBase):
    """y = softmax(-x) along dim."""
    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)


class LogSoftmax(_SoftmaxBase):
    """y_i = x_i - log(sum_j exp(x_j)) along dim."""
    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)


class CELU(Module):
    """y = x if x > 0 else alpha * (exp(x / alpha) - 1).  Shape: any -> same."""
    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        if alpha == 0:
            raise ValueError("CELU: alpha must be non-zero, got 0")
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        return F.celu(input, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class GLU(Module):
    """y = a * sigmoid(b), a and b the halves of the input along dim.  Shape: (*, 2n, *) -> (*, n, *).

    Example:
        >>> rd.nn.GLU()(rd.ones(3, 4)).shape
        (3, 2)
    """
    def __init__(self, dim=-1):
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"GLU: dim must be an int, got {dim!r}")
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class _Shrink(Module):
    def __init__(self, lambd=0.5):
        super().__init__()
        if lambd < 0:
            raise ValueError(f"{type(self).__name__}: lambd must be >= 0, got {lambd}")
        self.lambd = lambd

    def extra_repr(self):
        return f"{self.lambd}"


class Hardshrink(_Shrink):
    """y = x if |x| > lambd else 0."""
    def forward(self, input):
        return F.hardshrink(input, self.lambd)


class Softshrink(_Shrink):
    """y = x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    def forward(self, input):
        return F.softshrink(input, self.lambd)


class Tanhshrink(Module):
    """y = x - tanh(x)."""
    def forward(self, input):
        return F.tanhshrink(input)


class Hardsigmoid(SiLU):
    """y = relu6(x + 3) / 6."""
    def forward(self, input):
        return F.hardsigmoid(input)


class Hardswish(SiLU):
    """y = x * relu6(x + 3) / 6."""
    def forward(self, input):
        return F.hardswish(input)


class Threshold(Module):
    """y = x if x > threshold else value."""
    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class RReLU(Module):
    """Randomized leaky ReLU: slope ~ U(lower, upper) per element in training, (lower + upper) / 2 in eval."""
    def __init__(self, lower=1.0 / 8, upper=1.0 / 3, inplace=False):
        super().__init__()
        if lower > upper:
            raise ValueError(f"RReLU: lower ({lower}) must be <= upper ({upper})")
        self.lower, self.upper, self.inplace = lower, upper, inplace

    def forward(self, input):
        return F.rrelu(input, self.lower, self.upper, self.training)

    def extra_repr(self):
        return f"lower={self.lower}, upper={self.upper}" + (", inplace=True" if self.inplace else "")


class Softmax2d(Module):
    """softmax over channels at each spatial position.  Shape: (N, C, H, W) or (C, H, W) -> same."""
    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"Softmax2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                             f"{tuple(input.shape)}")
        return F.softmax(input, -3)
