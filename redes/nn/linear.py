"""Affine layers: Linear and Bilinear (Identity lives in module.py)."""
import math

from .. import backend as B
from .. import dtypes as _dt
from ..ops.linalg import LinearOp as _LinearOp
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Parameter, Module

__all__ = ["Linear", "Bilinear"]


def _empty_param(shape, dtype=None):
    """An uninitialised Parameter (reset_parameters fills it) of `dtype`, the default float dtype if None."""
    dtype = _dt.as_dtype(dtype) or _dt.get_default_dtype()
    return Parameter(Tensor._wrap(B.xp.empty(shape, dtype)))


def _check_positive(layer, **sizes):
    for name, v in sizes.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{layer}: {name} must be a non-negative integer, got {name}={v!r}")


class Linear(Module):
    """Affine map y = x @ weight^T + bias, as torch.nn.Linear.

    Args: in_features / out_features: size of the input's / output's last dim. bias: learn a bias (default True).
          dtype: parameter dtype (default float32). rng: numpy Generator for the initialisation (default: the
          global stream of redes.manual_seed).
    Init (as torch): weight ~ U(-1/sqrt(in_features), 1/sqrt(in_features)) (kaiming_uniform_ with a=sqrt(5)),
          bias ~ U(-1/sqrt(in_features), 1/sqrt(in_features)).
    Shape: (*, in_features) -> (*, out_features)
    Example:
        >>> rd.nn.Linear(3, 4)(rd.zeros(2, 3)).shape
        (2, 4)
    """
    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None, *, rng=None):
        _check_positive("Linear", in_features=in_features, out_features=out_features)
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = _empty_param((out_features, in_features), dtype)
        self.bias = _empty_param((out_features,), dtype) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=rng)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, input):
        x = input.array if isinstance(input, Tensor) else None
        if x is None or x.ndim == 0 or x.shape[-1] != self.in_features:
            if x is None:
                return F.linear(input, self.weight, self.bias)      # its TypeError names what was given
            raise RuntimeError(f"Linear: expected input with last dim in_features={self.in_features} "
                               f"(shape (*, {self.in_features})), got {tuple(input.shape)}")
        w, b = self.weight, self.bias
        # F.linear's checks, on the arrays in one test (a layer call per step on small models): the op directly
        if isinstance(w, Tensor) and w.array.ndim == 2 and (b is None or (isinstance(b, Tensor) and b.array.ndim == 1
                                                                         and b.array.shape[0] == w.array.shape[0])):
            return _LinearOp.apply(input, w) if b is None else _LinearOp.apply(input, w, b)
        return F.linear(input, w, b)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y_k = x1^T weight_k x2 + bias_k, as torch.nn.Bilinear.

    Args: in1_features, in2_features, out_features; bias (default True); dtype; rng.
    Init (as torch): weight and bias ~ U(-1/sqrt(in1_features), 1/sqrt(in1_features)).
    Shape: (*, in1_features), (*, in2_features) -> (*, out_features)
    Example:
        >>> rd.nn.Bilinear(3, 5, 4)(rd.zeros(2, 3), rd.zeros(2, 5)).shape
        (2, 4)
    """
    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None, *, rng=None):
        _check_positive("Bilinear", in1_features=in1_features, in2_features=in2_features, out_features=out_features)
        super().__init__()
        self.in1_features, self.in2_features, self.out_features = in1_features, in2_features, out_features
        self.weight = _empty_param((out_features, in1_features, in2_features), dtype)
        self.bias = _empty_param((out_features,), dtype) if bias else None
        self.reset_parameters(rng)

    def reset_parameters(self, rng=None):
        bound = 1 / math.sqrt(self.weight.shape[1]) if self.weight.shape[1] > 0 else 0
        init.uniform_(self.weight, -bound, bound, generator=rng)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound, generator=rng)

    def forward(self, input1, input2):
        return F.bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
