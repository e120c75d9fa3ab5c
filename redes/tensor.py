"""Tensor: an array, its gradient, and the node that made it (`grad_fn`).

A number is a 0-D Tensor: the numbers scale of the lecture is this same engine. Every differentiable
method is one line that applies an op from `redes.ops`; the graph bookkeeping lives in autograd.py.
"""
import builtins
import math
import sys
from collections import namedtuple

import numpy as np

from . import autograd as _ag
from . import backend as B
from . import devices as _device
from . import dtypes as _dt
from .ops import elementwise as _ew
from .ops import linalg as _la
from .ops import movement as _mv
from .ops import reduce as _rd
from .random import rng_for

_new = object.__new__
MaxResult = namedtuple("max", ["values", "indices"])
_PRINT_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
                   "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
                   "full": dict(precision=4, threshold=sys.maxsize, edgeitems=3, linewidth=80)}
PRINT_OPTIONS = dict(_PRINT_PROFILES["default"], sci_mode=None)     # what repr() reads; set by rd.set_printoptions


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """How tensors print, as torch.set_printoptions: digits, the element count above which the middle is
    elided (threshold), the items kept at each edge, the line width; profile 'default', 'short' or 'full'
    sets all four; sci_mode True/False forces or forbids scientific notation (None: automatic)."""
    if profile is not None:
        if profile not in _PRINT_PROFILES:
            raise ValueError(f"set_printoptions: profile must be 'default', 'short' or 'full', got {profile!r}")
        PRINT_OPTIONS.update(_PRINT_PROFILES[profile])
    for key, value in (("precision", precision), ("threshold", threshold), ("edgeitems", edgeitems),
                       ("linewidth", linewidth)):
        if value is not None:
            PRINT_OPTIONS[key] = builtins.int(value) if value != float("inf") else sys.maxsize
    PRINT_OPTIONS["sci_mode"] = sci_mode
MinResult = namedtuple("min", ["values", "indices"])


class Tensor:
    """An n-dimensional array that records the operations applied to it, for backward().

    Create tensors with `rd.tensor(data)` (or the factories `rd.zeros`, `rd.randn`, ...).
    `.array` is the backend array (NumPy today); `.data` is, as in torch, a Tensor sharing that array outside the
    graph (`p.data.add_(...)` updates p); `.grad` is a Tensor filled by backward(); `.grad_fn` is the node (op)
    that computed this tensor, None for leaves.

    Example:
        >>> import redes as rd
        >>> x = rd.tensor([1.0, 2.0], requires_grad=True)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([2., 4.])
    """
    __slots__ = ("array", "grad", "grad_fn", "requires_grad", "_seq", "_retain", "name", "__weakref__")
    __array_priority__ = 1000        # numpy_array * tensor -> Tensor.__rmul__, not an object array

    def __init__(self, data, requires_grad=False, dtype=None):
        self.array = _to_array(data, dtype)
        self.grad = self.grad_fn = self.name = None
        self._retain, self.requires_grad = False, False
        self._seq = next(_ag._seq)       # creation order: rd.viz.graph names unnamed leaves x1, x2, ... by it
        if requires_grad:
            self.requires_grad_(True)

    # A new leaf Tensor around an array (no copy, no checks: the engine's hot path). The array is always a
    # backend array: a 0-D value is a 0-d array, never a NumPy scalar (fast scalar arithmetic stays inside ops).
    _wrap = staticmethod(_ag.wrap)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self):
        return self.array.ndim

    @property
    def device(self):
        """Where the tensor lives, read from its array's type: rd.device('cpu'), 'cuda' or 'twin' (also == the string)."""
        return _device.of(self.array) if B.multi else _CPU

    @property
    def is_cuda(self):
        return B.multi and B.backend_of(self.array).type == "cuda"

    @property
    def is_leaf(self):
        return self.grad_fn is None

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    @property
    def data(self):
        """A Tensor sharing this tensor's array, outside the graph (torch's `.data`): writes through it reach self."""
        return Tensor._wrap(self.array)

    @data.setter
    def data(self, value):
        # NOTE: as torch, `p.data = t` swaps the storage (the shape may change) and keeps p's identity and grad flag
        self.array = value.array if isinstance(value, Tensor) else B.xp.asarray(value)

    def dim(self):
        return self.array.ndim

    def numel(self):
        return int(self.array.size)

    def size(self, dim=None):
        return self.array.shape if dim is None else self.array.shape[_dim(dim, self.ndim, "size")]

    def element_size(self):
        return self.array.itemsize

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.array.shape[0]

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.array.shape[0]))

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a.astype(dtype, copy=False) if dtype is not None else a

    def numpy(self, force=False):
        """The array itself, sharing memory (as torch's on CPU): writes to either side show in the other.

        On another device, as torch: an error, unless force=True (then a host copy).
        """
        a = self.array
        if type(a) is not np.ndarray:
            if not force:
                raise TypeError(f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy "
                                "the tensor to host memory first.")
            a = B.to_numpy(a)
        return a

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """DLPack capsule of the backend array (no copy): torch.from_dlpack(t), np.from_dlpack(t) share memory."""
        return self._own().__dlpack__(stream=stream, max_version=max_version, dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        return self._own().__dlpack_device__()

    def _own(self):
        """self.array (kept for callers from before 0-D arrays were canonical: it always is a real array now)."""
        return self.array

    def item(self):
        if self.array.size != 1:
            raise RuntimeError(f"item: a Tensor with {self.array.size} elements cannot be converted to a Python number")
        return self.array.item()

    def tolist(self):
        return self.array.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self.array.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self.array.size != 1:
            raise RuntimeError(f"Boolean value of a Tensor with {self.array.size} elements is ambiguous; "
                               "use .any() or .all()")
        return builtins.bool(self.array)

    __hash__ = object.__hash__       # == is elementwise, so identity hashing, as torch

    def __repr__(self):
        a = B.to_numpy(self.array)
        finite = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        fixed = a.dtype.kind == "f" and builtins.bool((finite != np.round(finite)).any())   # torch: 1.5000, but 1.
        opt = PRINT_OPTIONS
        sci = {"float_kind": lambda v: f"{v:.{opt['precision']}e}"} if opt["sci_mode"] else None
        body = np.array2string(a, separator=", ", precision=opt["precision"], prefix="tensor(",
                               floatmode="fixed" if fixed else "maxprec", threshold=opt["threshold"],
                               edgeitems=opt["edgeitems"], max_line_width=opt["linewidth"], formatter=sci,
                               suppress_small=opt["sci_mode"] is False)
        extras = [f"size={tuple(a.shape)}"] if a.size == 0 and a.ndim != 1 else []
        default = {"f": _dt.get_default_dtype(), "i": _dt.int64, "b": _dt.bool}.get(self.dtype.kind)
        if self.dtype != default or (a.size == 0 and self.dtype != _dt.get_default_dtype()):
            extras.append(f"dtype=rd.{self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extras)})"

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in "fc":
            raise RuntimeError(f"requires_grad: only floating-point tensors can require gradients, this one is {self.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False): only leaves can stop requiring grad; use .detach()")
        if requires_grad and not self._seq:
            self._seq = next(_ag._seq)   # a leaf made by an op (x.detach().requires_grad_()): numbered now
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        """Keep this intermediate's gradient in `.grad` after backward (leaves keep theirs anyway)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")
        self._retain = self.grad_fn is not None
        return self

    @property
    def retains_grad(self):
        return self._retain

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Backpropagate dself/dx into `.grad` of every leaf (and retained intermediate) that self depends on."""
        retain = create_graph if retain_graph is None else retain_graph
        grads = None if gradient is None else [gradient]
        if inputs is None:
            _ag.run_backward([self], grads, retain, create_graph)
            return
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        for x, g in zip(inputs, _ag.run_backward([self], grads, retain, create_graph, targets=inputs)):
            if g is not None:
                _ag._accumulate(x, g, create_graph)

    def detach(self):
        """A new leaf sharing this tensor's data, cut from the graph."""
        return Tensor._wrap(self.array)

    def detach_(self):
        self.grad_fn, self.requires_grad = None, False
        return self

    def clone(self):
        return _mv.Clone.apply(self)

    def contiguous(self, memory_format=None):
        """self if its array is C-contiguous, else a contiguous copy (differentiable, as torch)."""
        return self if self.array.flags.c_contiguous else self.clone()

    # ------------------------------------------------------------------ dtype / device
    def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False):
        """t.to(dtype), t.to(device), t.to(other) (its dtype and device), t.to(device, dtype), as torch.

        A move to another device copies the array there (a differentiable op: the gradient comes back);
        "cuda" without CuPy or a GPU raises a clear error.
        """
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, _device.device) or (isinstance(a, str) and a.split(":")[0] in _device.TYPES):
                device = a
            else:
                dtype = a
        if device is not None:
            target = _device.check(device, "to")
            if target != self.device:
                moved = _ew.ToDevice.apply(self, device=target.type)
                return moved if dtype is None else moved.to(dtype)
        if dtype is None:
            return self.clone() if copy else self
        dtype = _dt.as_dtype(dtype)
        if dtype == self.dtype and not copy:
            return self
        if self.requires_grad and dtype.kind in "fc":
            return _ew.Cast.apply(self, dtype=dtype)
        return Tensor._wrap(self.array.astype(dtype))

    def astype(self, dtype):
        return self.to(dtype)

    def type(self, dtype=None):
        return str(self.dtype) if dtype is None else self.to(dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(_dt.float32)

    def double(self):
        return self.to(_dt.float64)

    def half(self):
        return self.to(_dt.float16)

    def long(self):
        return self.to(_dt.int64)

    def int(self):
        return self.to(_dt.int32)

    def bool(self):
        return self.to(_dt.bool)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        return self.to(_device.device("cuda" if device is None else device))

    def is_floating_point(self):
        return self.dtype.kind == "f"

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        if type(other) is Tensor and self.array.dtype is other.array.dtype:     # the common case, without _promote
            return _add2(self, other)
        return _add2(*_promote(self, other))

    def __radd__(self, other):
        return _add2(*_promote(other, self))

    def __sub__(self, other):
        if type(other) is Tensor and self.array.dtype is other.array.dtype:     # the common case, without _promote
            return _sub2(self, other)
        return _sub2(*_promote(*_ew.check_bool_sub(self, other)))

    def __rsub__(self, other):                      # other - self
        return _sub2(*_promote(*_ew.check_bool_sub(other, self)))

    def __mul__(self, other):
        if type(other) is Tensor and self.array.dtype is other.array.dtype:     # the common case, without _promote
            return _mul2(self, other)
        return _mul2(*_promote(self, other))

    def __rmul__(self, other):
        return _mul2(*_promote(other, self))

    def __truediv__(self, other):
        a, b = _promote(self, other)
        if a.dtype.kind in "iub" and _kind(b) in "iub":     # int / int is a float division, as torch
            a = a.to(_dt.get_default_dtype())
            b = b.to(a.dtype) if isinstance(b, Tensor) else b
        return _ew.Div.apply(a, b)

    def __rtruediv__(self, other):                  # other / self
        a, b = _promote(other, self)
        if b.dtype.kind in "iub" and _kind(a) in "iub":
            b = b.to(_dt.get_default_dtype())
            a = a.to(b.dtype) if isinstance(a, Tensor) else a
        return _ew.Div.apply(a, b)

    def __pow__(self, other):
        return _ew.Pow.apply(*_promote(self, other))

    def __rpow__(self, other):                      # other ** self
        return _ew.Pow.apply(*_promote(other, self))

    def __matmul__(self, other):
        return _la.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return _la.MatMul.apply(other, self)

    def __neg__(self):
        return _ew.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _ew.Abs.apply(self)

    def __floordiv__(self, other):
        return _nograd(B.xp.floor_divide, self, other)

    def __mod__(self, other):
        return _nograd(B.xp.mod, self, other)

    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__
    subtract, multiply, divide, true_divide = __sub__, __mul__, __truediv__, __truediv__

    # comparisons and logic: no gradient
    def __eq__(self, other):
        return _nograd(B.xp.equal, self, other)

    def __ne__(self, other):
        return _nograd(B.xp.not_equal, self, other)

    def __lt__(self, other):
        return _nograd(B.xp.less, self, other)

    def __le__(self, other):
        return _nograd(B.xp.less_equal, self, other)

    def __gt__(self, other):
        return _nograd(B.xp.greater, self, other)

    def __ge__(self, other):
        return _nograd(B.xp.greater_equal, self, other)

    def __and__(self, other):
        return _nograd(B.xp.logical_and if self.dtype.kind == "b" else B.xp.bitwise_and, self, other)

    def __or__(self, other):
        return _nograd(B.xp.logical_or if self.dtype.kind == "b" else B.xp.bitwise_or, self, other)

    def __xor__(self, other):
        return _nograd(B.xp.logical_xor if self.dtype.kind == "b" else B.xp.bitwise_xor, self, other)

    def __invert__(self):
        return _nograd(B.xp.logical_not if self.dtype.kind == "b" else B.xp.invert, self)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    greater, less, greater_equal, less_equal, not_equal = __gt__, __lt__, __ge__, __le__, __ne__

    def logical_and(self, other):
        return _nograd(B.xp.logical_and, self, other)

    def logical_or(self, other):
        return _nograd(B.xp.logical_or, self, other)

    def logical_xor(self, other):
        return _nograd(B.xp.logical_xor, self, other)

    def logical_not(self):
        return _nograd(B.xp.logical_not, self)

    def isnan(self):
        return _nograd(B.xp.isnan, self)

    def isinf(self):
        return _nograd(B.xp.isinf, self)

    def isfinite(self):
        return _nograd(B.xp.isfinite, self)

    def equal(self, other):
        return builtins.bool(self.shape == other.shape and (self.array == other.array).all())

    def allclose(self, other, rtol=1e-5, atol=1e-8):
        return builtins.bool(B.xp.allclose(self.array, _arr(other), rtol=rtol, atol=atol))

    def any(self, dim=None, keepdim=False):
        return _nograd(lambda a: B.xp.any(a, axis=_dims(dim, self.ndim, "any"), keepdims=keepdim), self)

    def all(self, dim=None, keepdim=False):
        return _nograd(lambda a: B.xp.all(a, axis=_dims(dim, self.ndim, "all"), keepdims=keepdim), self)

    def floor(self):
        return _nograd(B.xp.floor, self)

    def ceil(self):
        return _nograd(B.xp.ceil, self)

    # ------------------------------------------------------------------ elementwise math
    def neg(self):
        return _ew.Neg.apply(self)

    negative = neg

    def abs(self):
        return _ew.Abs.apply(self)

    def sign(self):
        return _ew.Sign.apply(self)

    def exp(self):
        return _ew.Exp.apply(_floaty(self))

    def log(self):
        return _ew.Log.apply(_floaty(self))

    def log1p(self):
        return _ew.Log1p.apply(_floaty(self))

    def expm1(self):
        return _ew.Expm1.apply(_floaty(self))

    def sqrt(self):
        return _ew.Sqrt.apply(_floaty(self))

    def rsqrt(self):
        return _ew.Rsqrt.apply(_floaty(self))

    def square(self):
        return _ew.Square.apply(self)

    def reciprocal(self):
        return 1.0 / _floaty(self)

    def sin(self):
        return _ew.Sin.apply(_floaty(self))

    def cos(self):
        return _ew.Cos.apply(_floaty(self))

    def tanh(self):
        return _ew.TanhOp.apply(_floaty(self))

    def sigmoid(self):
        return _ew.SigmoidOp.apply(_floaty(self))

    def erf(self):
        return _ew.Erf.apply(_floaty(self))

    def relu(self):
        return _ew.ReLUOp.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        return _ew.LeakyReLUOp.apply(self, negative_slope=negative_slope)

    def elu(self, alpha=1.0):
        return _ew.ELUOp.apply(self, alpha=alpha)

    def selu(self):
        return _ew.SELUOp.apply(self)

    def gelu(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return _ew.GELUOp.apply(self, approximate=approximate)

    def silu(self):
        return _ew.SiLUOp.apply(self)

    def softplus(self, beta=1.0, threshold=20.0):
        return _ew.SoftplusOp.apply(self, beta=beta, threshold=threshold)

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):      # tensor bounds: compose, keeps their grads
            out = self if min is None else self.maximum(min)
            return out if max is None else out.minimum(max)
        return _ew.Clamp.apply(self, min=min, max=max)

    clip = clamp

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def maximum(self, other):
        return _ew.Maximum.apply(*_promote(self, other))

    def minimum(self, other):
        return _ew.Minimum.apply(*_promote(self, other))

    def where(self, condition, other):
        return where(condition, self, other)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind == "b":
            x = x.long()
        return _rd.Sum.apply(x, axis=_dims(_alias(dim, axis), self.ndim, "sum"), keepdim=_k(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, dtype=None, *, axis=None, keepdims=None):
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind not in "fc":
            raise RuntimeError(f"mean: input dtype should be floating point, got {x.dtype}; use .float() first")
        return _rd.Mean.apply(x, axis=_dims(_alias(dim, axis), self.ndim, "mean"), keepdim=_k(keepdim, keepdims))

    def prod(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _rd.Prod.apply(self, axis=_dims(_alias(dim, axis), self.ndim, "prod"), keepdim=_k(keepdim, keepdims))

    def amax(self, dim=None, keepdim=False):
        return _rd.Amax.apply(self, axis=_dims(dim, self.ndim, "amax"), keepdim=keepdim)

    def amin(self, dim=None, keepdim=False):
        return _rd.Amin.apply(self, axis=_dims(dim, self.ndim, "amin"), keepdim=keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None):
        """max() -> the largest value; max(dim) -> (values, indices); max(other) -> maximum(other)."""
        dim = _alias(dim, axis)
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:
            return _rd.Amax.apply(self, axis=None, keepdim=False)
        return _max_dim(_rd.MaxDim, MaxResult, self, dim, keepdim)

    def min(self, dim=None, keepdim=False, *, axis=None):
        """min() -> the smallest value; min(dim) -> (values, indices); min(other) -> minimum(other)."""
        dim = _alias(dim, axis)
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            return _rd.Amin.apply(self, axis=None, keepdim=False)
        return _max_dim(_rd.MinDim, MinResult, self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False):
        return _argext(B.xp.argmax, self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _argext(B.xp.argmin, self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _rd.Var.apply(self, axis=_dims(dim, self.ndim, "var"), correction=_correction(unbiased, correction),
                             keepdim=keepdim)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None):
        return _rd.Std.apply(self, axis=_dims(dim, self.ndim, "std"), correction=_correction(unbiased, correction),
                             keepdim=keepdim)

    def logsumexp(self, dim=None, keepdim=False):
        return _rd.LogSumExp.apply(self, axis=_dims(dim, self.ndim, "logsumexp"), keepdim=keepdim)

    def norm(self, p="fro", dim=None, keepdim=False):
        """Vector p-norm over dim (all elements by default): p = 2/'fro', 1, inf, -inf, 0 or any positive number."""
        axis = _dims(dim, self.ndim, "norm")
        if p in ("fro", 2, 2.0):
            return _rd.Norm2.apply(self, axis=axis, keepdim=keepdim)
        if p == float("inf"):
            return self.abs().amax(axis, keepdim)
        if p == float("-inf"):
            return self.abs().amin(axis, keepdim)
        if p == 0:
            return (self != 0).sum(axis, keepdim).to(self.dtype)
        if not isinstance(p, (int, float)) or p < 0:
            raise ValueError(f"norm: p must be 'fro', inf, -inf or a number >= 0, got {p!r}")
        if p == 1:
            return self.abs().sum(axis, keepdim)
        return (self.abs() ** p).sum(axis, keepdim) ** (1.0 / p)

    def cumsum(self, dim, *, axis=None):
        d = _dim(_alias(dim, axis), self.ndim, "cumsum")
        if self.ndim == 0:                  # torch allows it (dim 0 or -1): the value itself
            return self.clone()
        return _rd.Cumsum.apply(self, axis=d)

    def softmax(self, dim=-1):
        return _rd.SoftmaxOp.apply(_floaty(self), axis=_dim(dim, self.ndim, "softmax"))

    def log_softmax(self, dim=-1):
        return _rd.LogSoftmaxOp.apply(_floaty(self), axis=_dim(dim, self.ndim, "log_softmax"))

    # ------------------------------------------------------------------ movement
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if shape == self.array.shape:
            return self
        return _mv.Reshape.apply(self, shape=shape)

    view = reshape

    def view_as(self, other):
        return self.reshape(other.shape)

    reshape_as = view_as

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = _dim(start_dim, self.ndim, "flatten"), _dim(end_dim, self.ndim, "flatten")
        shape = self.shape
        return self.reshape(shape[:s] + (-1 if 0 not in shape[s:e + 1] else 0,) + shape[e + 1:])

    def unflatten(self, dim, sizes):
        d = _dim(dim, self.ndim, "unflatten")
        sizes = tuple(builtins.int(s) for s in sizes)
        known = 1
        for s in sizes:
            known *= s if s != -1 else 1
        if sizes.count(-1) > 1 or (-1 not in sizes and known != self.shape[d]) or \
                (-1 in sizes and (known == 0 or self.shape[d] % known)):
            raise RuntimeError(f"unflatten: sizes {sizes} do not multiply to the size of dim {d} ({self.shape[d]}) "
                               f"of the input of shape {tuple(self.shape)}")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def squeeze(self, dim=None):
        if dim is None:
            return self.reshape(tuple(s for s in self.shape if s != 1))
        dims = _dims(dim, self.ndim, "squeeze")
        return self.reshape(tuple(s for i, s in enumerate(self.shape) if not (i in dims and s == 1)))

    def unsqueeze(self, dim):
        d = _dim(dim, self.ndim + 1, "unsqueeze")
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def permute(self, *dims):
        dims = tuple(_dim(d, self.ndim, "permute") for d in _shape_arg(dims))
        if sorted(dims) != list(range(self.ndim)):
            raise RuntimeError(f"permute: dims {dims} must be a permutation of 0..{self.ndim - 1}")
        return _mv.Permute.apply(self, axes=dims)

    def transpose(self, dim0, dim1):
        axes = list(range(self.ndim))
        a, b = _dim(dim0, self.ndim, "transpose"), _dim(dim1, self.ndim, "transpose")
        axes[a], axes[b] = axes[b], axes[a]
        return _mv.Permute.apply(self, axes=tuple(axes))

    swapaxes = swapdims = transpose

    def t(self):
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with <= 2 dims, got {self.ndim}; use transpose(dim0, dim1)")
        return self.T

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.ndim
        if lead < 0:
            raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least the tensor's dims "
                               f"({self.ndim}); shape {tuple(self.shape)}")
        if -1 in sizes[:lead]:
            raise RuntimeError(f"expand: size -1 is not allowed in a new leading dim (sizes {sizes}, tensor shape "
                               f"{tuple(self.shape)}): -1 keeps an existing dim's size")
        shape = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        return self if shape == self.shape else _mv.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def broadcast_to(self, shape):
        return self.expand(shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller than the "
                               f"tensor's dims ({self.ndim})")
        return _mv.Tile.apply(self, reps=sizes)

    def tile(self, *dims):
        return _mv.Tile.apply(self, reps=_shape_arg(dims))

    def flip(self, *dims):
        return _mv.Flip.apply(self, axes=tuple(_dim(d, self.ndim, "flip") for d in _shape_arg(dims)))

    def roll(self, shifts, dims=None):
        if dims is None:
            return _mv.Roll.apply(self, shifts=shifts, axes=None)
        if isinstance(dims, int):
            return _mv.Roll.apply(self, shifts=shifts, axes=_dim(dims, self.ndim, "roll"))
        return _mv.Roll.apply(self, shifts=tuple(shifts), axes=tuple(_dim(d, self.ndim, "roll") for d in dims))

    def split(self, split_size_or_sections, dim=0):
        d = _dim(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections <= 0:
                raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
            sizes = [min(split_size_or_sections, n - i) for i in range(0, n, split_size_or_sections)] or [0]
        else:
            sizes = list(split_size_or_sections)
            if builtins.sum(sizes) != n:
                raise RuntimeError(f"split: sections {sizes} sum to {builtins.sum(sizes)}, but dim {d} has size {n}")
        out, start, lead = [], 0, (slice(None),) * d
        for s in sizes:
            out.append(self[lead + (slice(start, start + s),)])
            start += s
        return tuple(out)

    def chunk(self, chunks, dim=0):
        n = self.shape[_dim(dim, self.ndim, "chunk")]
        return self.split(max(-(-n // chunks), 1), dim)

    def unbind(self, dim=0):
        d = _dim(dim, self.ndim, "unbind")
        return tuple(self[(slice(None),) * d + (i,)] for i in range(self.shape[d]))

    def narrow(self, dim, start, length):
        d = _dim(dim, self.ndim, "narrow")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def gather(self, dim, index):
        return _mv.Gather.apply(self, axis=_dim(dim, self.ndim, "gather"), index=_index_array(index, "gather"))

    def scatter_add(self, dim, index, src):
        return _mv.ScatterAdd.apply(self, src, axis=_dim(dim, self.ndim, "scatter_add"),
                                    index=_index_array(index, "scatter_add"))

    def index_select(self, dim, index):
        idx = _index_array(index, "index_select")
        if idx.ndim != 1:
            raise RuntimeError(f"index_select: index must be 1-D, got shape {tuple(idx.shape)}")
        return self[(slice(None),) * _dim(dim, self.ndim, "index_select") + (idx,)]

    def masked_fill(self, mask, value):
        mask = _arr(mask)
        if mask.dtype.kind != "b":
            raise RuntimeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
        if isinstance(value, Tensor):
            value = value.item()
        return _mv.MaskedFill.apply(self, mask=mask, value=value)

    def tril(self, diagonal=0):
        return _mv.Tril.apply(self, k=diagonal)

    def triu(self, diagonal=0):
        return _mv.Triu.apply(self, k=diagonal)

    def __getitem__(self, index):
        return _mv.GetItem.apply(self, index=_index(index))

    def __setitem__(self, index, value):
        if self.requires_grad and _ag.modes().grad_enabled:
            raise RuntimeError("setitem: in-place assignment into a tensor that requires grad would corrupt its "
                               "gradient; assign inside rd.no_grad(), or build a new tensor (rd.where, masked_fill)")
        try:
            self._own()[_index(index)] = _arr(value)
        except ValueError as e:
            raise RuntimeError(f"setitem: value of shape {tuple(B.xp.shape(_arr(value)))} cannot be assigned into "
                               f"a tensor of shape {tuple(self.shape)} at {index!r}: {e}") from None

    # ------------------------------------------------------------------ in-place (for init and updates)
    def _inplace(self, name):
        if self.requires_grad and _ag.modes().grad_enabled and self.grad_fn is None:
            raise RuntimeError(f"{name}: a leaf tensor that requires grad is used in an in-place operation; "
                               "wrap it in rd.no_grad()")
        self._own()

    def zero_(self):
        self._inplace("zero_")
        self.array[...] = 0
        return self

    def fill_(self, value):
        self._inplace("fill_")
        self.array[...] = _arr(value)
        return self

    def copy_(self, src):
        self._inplace("copy_")
        self.array[...] = _arr(src)
        return self

    def add_(self, other, alpha=1):
        if _ag.state.grad_enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return self._update("add_", lambda x: x + (other * alpha if alpha != 1 else other))
        self._inplace("add_")
        self.array += _arr(other) * alpha if alpha != 1 else _arr(other)
        return self

    def sub_(self, other, alpha=1):
        return self.add_(other, -alpha)

    def mul_(self, other):
        if _ag.state.grad_enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return self._update("mul_", Tensor.mul, other)
        self._inplace("mul_")
        self.array *= _arr(other)
        return self

    def div_(self, other):
        if _ag.state.grad_enabled and (self.requires_grad or getattr(other, "requires_grad", False)):
            return self._update("div_", Tensor.div, other)
        self._inplace("div_")
        self.array /= _arr(other)
        return self

    def clamp_(self, min=None, max=None):
        if _ag.state.grad_enabled and self.requires_grad:
            return self._update("clamp_", Tensor.clamp, min, max)
        self._inplace("clamp_")
        B.xp.clip(self.array, min, max, out=self.array)
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        return self._fill_random("uniform_", lambda g: g.uniform(a, b, self.shape), generator)

    def normal_(self, mean=0.0, std=1.0, generator=None):
        return self._fill_random("normal_", lambda g: g.normal(mean, std, self.shape), generator)


    # ================================================================== PyTorch API coverage (issue 13)
    # The methods below complete torch.Tensor's surface. Math with a gradient of its own is an op in
    # ops/special.py or ops/matrix.py; everything else is a composition of differentiable ops, most of
    # them in composite.py, so gradients come from ops already checked against torch.

    def __format__(self, spec):
        """format(t, '+.2f') formats a 0-D tensor's value, as torch; other tensors accept only an empty spec."""
        if self.ndim == 0:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    # ------------------------------------------------------------------ attributes and conversions
    @property
    def H(self):
        return self.T                               # real tensors: the conjugate is the tensor itself

    @property
    def mH(self):
        return self.mT

    def adjoint(self):
        return self.mT

    @property
    def is_cpu(self):
        return self.device == "cpu"

    @property
    def itemsize(self):
        return self.array.itemsize

    @property
    def nbytes(self):
        return self.array.nbytes

    def get_device(self):
        """-1 for a CPU tensor, as torch; the device index otherwise."""
        return -1 if self.device == "cpu" else 0

    def ndimension(self):
        return self.ndim

    def nelement(self):
        return self.numel()

    def stride(self, dim=None):
        """Steps in elements (not bytes, as NumPy) between neighbours along each dim."""
        strides = tuple(s // self.array.itemsize for s in self.array.strides)
        return strides if dim is None else strides[_dim(dim, self.ndim, "stride")]

    def is_contiguous(self, memory_format=None):
        return builtins.bool(self.array.flags.c_contiguous)

    def is_signed(self):
        return self.dtype.kind in "fi"

    def is_nonzero(self):
        if self.array.size != 1:
            raise RuntimeError(f"is_nonzero: a Tensor with {self.array.size} elements cannot be converted to a bool")
        return builtins.bool(self.array.reshape(()))

    def is_same_size(self, other):
        return self.shape == other.shape

    def byte(self):
        return self.to(_dt.uint8)

    def char(self):
        return self.to(_dt.int8)

    def short(self):
        return self.to(_dt.int16)

    def new_tensor(self, data, dtype=None, requires_grad=False, device=None):
        """A new tensor from data, with this tensor's dtype unless dtype is given (as torch)."""
        return Tensor(data, requires_grad=requires_grad, dtype=dtype or self.dtype)

    def new_zeros(self, *size, dtype=None, requires_grad=False, device=None):
        return Tensor(B.xp_of(self.array).zeros(_shape_arg(size), dtype or self.dtype), requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False, device=None):
        return Tensor(B.xp_of(self.array).ones(_shape_arg(size), dtype or self.dtype), requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False, device=None):
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
        return Tensor(B.xp_of(self.array).full(_shape_arg((size,)), fill_value, dtype or self.dtype),
                      requires_grad=requires_grad)

    def positive(self):
        return self

    def ravel(self):
        return self.reshape(-1)

    def narrow_copy(self, dim, start, length):
        return self.narrow(dim, start, length).clone()

    def split_with_sizes(self, split_sizes, dim=0):
        return self.split(list(split_sizes), dim)

    unsafe_split, unsafe_chunk = split, chunk
    unsafe_split_with_sizes = split_with_sizes

    # ------------------------------------------------------------------ elementwise math (ops/special.py)
    def tan(self):
        return _sp.Tan.apply(_floaty(self))

    def asin(self):
        return _sp.Asin.apply(_floaty(self))

    def acos(self):
        return _sp.Acos.apply(_floaty(self))

    def atan(self):
        return _sp.Atan.apply(_floaty(self))

    def sinh(self):
        return _sp.Sinh.apply(_floaty(self))

    def cosh(self):
        return _sp.Cosh.apply(_floaty(self))

    def asinh(self):
        return _sp.Asinh.apply(_floaty(self))

    def acosh(self):
        return _sp.Acosh.apply(_floaty(self))

    def atanh(self):
        return _sp.Atanh.apply(_floaty(self))

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def atan2(self, other):
        return _sp.Atan2.apply(*_floats(self, other))

    arctan2 = atan2

    def erfc(self):
        return _sp.Erfc.apply(_floaty(self))

    def erfinv(self):
        return _sp.Erfinv.apply(_floaty(self))

    def lgamma(self):
        return _sp.Lgamma.apply(_floaty(self))

    def digamma(self):
        return _sp.Polygamma.apply(_floaty(self), n=0)

    def polygamma(self, n):
        """polygamma(n, x) as the method x.polygamma(n): the n-th derivative of digamma."""
        if not isinstance(n, builtins.int) or n < 0:
            raise RuntimeError(f"polygamma: n must be a non-negative integer, got {n!r}")
        return _sp.Polygamma.apply(_floaty(self), n=n)

    def mvlgamma(self, p):
        """log of the multivariate gamma function: sum_i lgamma(x - i/2) + p(p-1)/4 log(pi)."""
        x = _floaty(self)
        if builtins.bool((x.array <= (p - 1) / 2).any()):
            raise RuntimeError(f"mvlgamma: all elements must be greater than (p-1)/2 = {(p - 1) / 2}")
        terms = x.unsqueeze(-1) - Tensor._wrap(B.xp.arange(p, dtype=x.dtype) / 2)
        return terms.lgamma().sum(-1) + p * (p - 1) / 4 * math.log(math.pi)

    def sinc(self):
        return _sp.Sinc.apply(_floaty(self))

    def fmod(self, other):
        return _sp.Fmod.apply(*_promote(self, other))

    def remainder(self, other):
        return _sp.Remainder.apply(*_promote(self, other))

    def log2(self):
        return _floaty(self).log() * (1 / math.log(2))

    def log10(self):
        return _floaty(self).log() * (1 / math.log(10))

    def exp2(self):
        return 2.0 ** _floaty(self)

    def deg2rad(self):
        return _floaty(self) * (math.pi / 180)

    def rad2deg(self):
        return _floaty(self) * (180 / math.pi)

    def logit(self, eps=None):
        x = _floaty(self)
        if eps is not None:
            x = x.clamp(eps, 1 - eps)
        return x.log() - (-x).log1p()

    def xlogy(self, other):
        x, y = _floats(self, other)
        y = y if isinstance(y, Tensor) else Tensor._wrap(B.xp_of(x.array).asarray(y, dtype=x.dtype))
        zero = B.xp.broadcast_to(x.array == 0, B.xp.broadcast_shapes(x.shape, y.shape))
        return (x * y.log()).masked_fill(zero & ~B.xp.isnan(B.xp.broadcast_to(y.array, zero.shape)), 0.0)

    def hypot(self, other):
        a, b = _floats(self, other)
        return (a * a + b * b).sqrt()

    def copysign(self, other):
        x = _floaty(self)
        negative = B.xp.signbit(_arr(other))
        return x.abs() * Tensor._wrap(B.xp.where(negative, -1.0, 1.0).astype(x.dtype))

    def logaddexp(self, other):
        a, b = _floats(self, other)
        top = a.maximum(b)
        return top + (-(a - b).abs()).exp().log1p()

    def logaddexp2(self, other):
        a, b = _floats(self, other)
        ln2 = math.log(2)
        return a.maximum(b) + (-(a - b).abs() * ln2).exp().log1p() * (1 / ln2)

    def lerp(self, end, weight):
        return self + (end - self) * weight

    def float_power(self, exponent):
        e = exponent.double() if isinstance(exponent, Tensor) else exponent
        return self.double() ** e

    def frac(self):
        return self - Tensor._wrap(B.xp.trunc(self.array))

    def trunc(self):
        return _nograd(B.xp.trunc, self)

    fix = trunc

    def round(self, decimals=0):
        if decimals == 0:
            return _nograd(B.xp.round, self)
        return _nograd(lambda a: B.xp.round(a, decimals), self)

    def sgn(self):
        return self.sign()

    def signbit(self):
        return _nograd(B.xp.signbit, self)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """NaN -> nan, +inf -> posinf, -inf -> neginf (default: the dtype's largest / lowest finite values)."""
        if self.dtype.kind != "f":
            return self.clone()
        info = B.xp.finfo(self.dtype)
        a = self.array
        out = self.masked_fill(B.xp.isnan(a), nan)
        out = out.masked_fill(B.xp.isposinf(a), info.max if posinf is None else posinf)
        return out.masked_fill(B.xp.isneginf(a), info.min if neginf is None else neginf)

    def fmax(self, other):
        a, b = _promote(self, other)
        bt = b if isinstance(b, Tensor) else Tensor._wrap(B.xp_of(a.array).asarray(b, dtype=a.dtype))
        return a.where(~B.xp.isnan(a.array) | B.xp.isnan(bt.array), bt).maximum(bt.where(~B.xp.isnan(bt.array), a))

    def fmin(self, other):
        a, b = _promote(self, other)
        bt = b if isinstance(b, Tensor) else Tensor._wrap(B.xp_of(a.array).asarray(b, dtype=a.dtype))
        return a.where(~B.xp.isnan(a.array) | B.xp.isnan(bt.array), bt).minimum(bt.where(~B.xp.isnan(bt.array), a))

    def heaviside(self, values):
        return _nograd(B.xp.heaviside, self, values)

    def i0(self):
        return _nograd(B.xp.i0, _floaty(self))

    def igamma(self, other):
        return _nograd(_sp._scipy("gammainc"), *_floats(self, other))

    def igammac(self, other):
        return _nograd(_sp._scipy("gammaincc"), *_floats(self, other))

    def nextafter(self, other):
        return _nograd(B.xp.nextafter, self, other)

    def ldexp(self, other):
        return _floaty(self) * (2.0 ** _floaty(other if isinstance(other, Tensor) else Tensor(other)))

    def frexp(self):
        return _cx.frexp(self)

    def floor_divide(self, other):
        return self // other

    def gcd(self, other):
        return _nograd(B.xp.gcd, self, other)

    def lcm(self, other):
        return _nograd(B.xp.lcm, self, other)

    # ------------------------------------------------------------------ comparisons and bits (no gradient)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _nograd(lambda a, b: B.xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan), self, other)

    def isposinf(self):
        return _nograd(B.xp.isposinf, self)

    def isneginf(self):
        return _nograd(B.xp.isneginf, self)

    def bitwise_and(self, other):
        return _nograd(B.xp.bitwise_and, self, other)

    def bitwise_or(self, other):
        return _nograd(B.xp.bitwise_or, self, other)

    def bitwise_xor(self, other):
        return _nograd(B.xp.bitwise_xor, self, other)

    def bitwise_not(self):
        return _nograd(B.xp.logical_not if self.dtype.kind == "b" else B.xp.invert, self)

    def bitwise_left_shift(self, other):
        return _nograd(B.xp.left_shift, self, other)

    def bitwise_right_shift(self, other):
        return _nograd(B.xp.right_shift, self, other)

    __lshift__, __rshift__ = bitwise_left_shift, bitwise_right_shift

    # ------------------------------------------------------------------ reductions, sorting and scans (composite.py)
    def aminmax(self, *, dim=None, keepdim=False):
        return _cx.aminmax(self, dim=dim, keepdim=keepdim)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return _cx.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return _cx.nanmean(self, dim, keepdim, dtype=dtype)

    def count_nonzero(self, dim=None):
        return _cx.count_nonzero(self, dim)

    def sort(self, dim=-1, descending=False, stable=False):
        return _cx.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _cx.argsort(self, dim, descending, stable)

    def msort(self):
        return _cx.msort(self)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _cx.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return _cx.kthvalue(self, k, dim, keepdim)

    def median(self, dim=None, keepdim=False):
        return _cx.median(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        return _cx.nanmedian(self, dim, keepdim)

    def mode(self, dim=-1, keepdim=False):
        return _cx.mode(self, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _cx.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _cx.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def cumprod(self, dim, dtype=None):
        return _cx.cumprod(self, dim, dtype)

    def logcumsumexp(self, dim):
        return _cx.logcumsumexp(self, dim)

    def cummax(self, dim):
        return _cx.cummax(self, dim)

    def cummin(self, dim):
        return _cx.cummin(self, dim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return _cx.diff(self, n, dim, prepend, append)

    def dist(self, other, p=2):
        return _cx.dist(self, other, p)

    def renorm(self, p, dim, maxnorm):
        return _cx.renorm(self, p, dim, maxnorm)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        return _cx.cov(self, correction=correction, fweights=fweights, aweights=aweights)

    def corrcoef(self):
        return _cx.corrcoef(self)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return _cx.unique(self, sorted, return_inverse, return_counts, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return _cx.unique_consecutive(self, return_inverse, return_counts, dim)

    def bincount(self, weights=None, minlength=0):
        return _cx.bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0):
        return _cx.histc(self, bins, min, max)

    def histogram(self, bins=100, *, range=None, weight=None, density=False):
        return _cx.histogram(self, bins, range=range, weight=weight, density=density)

    def nonzero(self, *, as_tuple=False):
        return _cx.nonzero(self, as_tuple=as_tuple)

    def nonzero_static(self, *, size, fill_value=-1):
        idx = _cx.nonzero(self).array[:size]
        pad = B.xp.full((size - idx.shape[0], idx.shape[1]), fill_value, np.int64)
        return Tensor._wrap(B.xp.concatenate([idx, pad]))

    def argwhere(self):
        return _cx.argwhere(self)

    # ------------------------------------------------------------------ shape and indexing (composite.py)
    def movedim(self, source, destination):
        return _cx.movedim(self, source, destination)

    moveaxis = movedim

    def tensor_split(self, indices_or_sections, dim=0):
        return _cx.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, sections):
        return _cx.hsplit(self, sections)

    def vsplit(self, sections):
        return _cx.vsplit(self, sections)

    def dsplit(self, sections):
        return _cx.dsplit(self, sections)

    def fliplr(self):
        return _cx.fliplr(self)

    def flipud(self):
        return _cx.flipud(self)

    def rot90(self, k=1, dims=(0, 1)):
        return _cx.rot90(self, k, dims)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return _cx.repeat_interleave(self, repeats, dim)

    def unfold(self, dimension, size, step):
        return _cx.unfold(self, dimension, size, step)

    def select(self, dim, index):
        return _cx.select(self, dim, index)

    def take(self, index):
        return _cx.take(self, index)

    def take_along_dim(self, indices, dim=None):
        return _cx.take_along_dim(self, indices, dim)

    def sum_to_size(self, *size):
        return _cx.sum_to_size(self, *size)

    def scatter(self, dim, index, src=None, value=None, *, reduce=None):
        return _cx.scatter(self, dim, index, src, value, reduce=reduce)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return _cx.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)

    def index_add(self, dim, index, source, *, alpha=1):
        return _cx.index_add(self, dim, index, source, alpha=alpha)

    def index_copy(self, dim, index, source):
        return _cx.index_copy(self, dim, index, source)

    def index_fill(self, dim, index, value):
        return _cx.index_fill(self, dim, index, value)

    def index_put(self, indices, values, accumulate=False):
        return _cx.index_put(self, indices, values, accumulate)

    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        """Combine the slices of source into self at index along dim (prod, mean, amax or amin)."""
        d = _dim(dim, self.ndim, "index_reduce")
        idx = _index_array(index, "index_reduce")
        shape = [1] * self.ndim
        shape[d] = idx.shape[0]
        full = B.xp.broadcast_to(idx.reshape(shape), source.shape)
        return _cx.scatter_reduce(self, d, full, source, reduce, include_self=include_self)

    def put(self, index, source, accumulate=False):
        return _cx.put(self, index, source, accumulate)

    def masked_select(self, mask):
        return _cx.masked_select(self, mask)

    def masked_scatter(self, mask, source):
        return _cx.masked_scatter(self, mask, source)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return _cx.diagonal(self, offset, dim1, dim2)

    def diag(self, diagonal=0):
        return _cx.diag(self, diagonal)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return _cx.diag_embed(self, offset, dim1, dim2)

    def diagflat(self, offset=0):
        return _cx.diagflat(self, offset)

    def trace(self):
        return _cx.trace(self)

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        return _cx.diagonal_scatter(self, src, offset, dim1, dim2)

    def select_scatter(self, src, dim, index):
        return _cx.select_scatter(self, src, dim, index)

    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        return _cx.slice_scatter(self, src, dim, start, end, step)

    # ------------------------------------------------------------------ products (composite.py, ops/matrix.py)
    def mm(self, mat2):
        return _cx.mm(self, mat2)

    def bmm(self, mat2):
        return _cx.bmm(self, mat2)

    def mv(self, vec):
        return _cx.mv(self, vec)

    def dot(self, other):
        return _cx.dot(self, other)

    def vdot(self, other):
        return _cx.vdot(self, other)

    def inner(self, other):
        return _cx.inner(self, other)

    def outer(self, vec2):
        return _cx.outer(self, vec2)

    ger = outer

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _cx.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _cx.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _cx.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _cx.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return _cx.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return _cx.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return _cx.addcdiv(self, tensor1, tensor2, value=value)

    def kron(self, other):
        return _cx.kron(self, other)

    def cross(self, other, dim=None):
        return _cx.cross(self, other, dim)

    def inverse(self):
        return _cx.inverse(self)

    def det(self):
        return _cx.det(self)

    def logdet(self):
        return _cx.logdet(self)

    def slogdet(self):
        return _cx.slogdet(self)

    def pinverse(self, rcond=1e-15):
        return _mx.PseudoInverse.apply(self, rcond=rcond)

    def matrix_power(self, n):
        return _cx.matrix_power(self, n)

    def matrix_exp(self):
        return _cx.matrix_exp(self)

    def cholesky_inverse(self, upper=False):
        return _cx.cholesky_inverse(self, upper)

    def cholesky_solve(self, input2, upper=False):
        return _cx.cholesky_solve(self, input2, upper)

    # ------------------------------------------------------------------ activations as methods
    def hardshrink(self, lambd=0.5):
        """x where |x| > lambd, else 0."""
        return self.masked_fill(B.xp.abs(self.array) <= lambd, 0.0)

    def prelu(self, weight):
        """x where x > 0, else weight * x; weight has 1 value or one per channel (dim 1)."""
        w = weight if weight.numel() == 1 or self.ndim < 2 else weight.reshape((-1,) + (1,) * (self.ndim - 2))
        return self.where(Tensor._wrap(self.array > 0), w * self)

    # ------------------------------------------------------------------ random draws (the global generator)
    def multinomial(self, num_samples, replacement=False, *, generator=None):
        return _rnd.multinomial(self, num_samples, replacement, generator=generator)

    def bernoulli(self, p=None, *, generator=None):
        return _rnd.bernoulli(self, p, generator=generator)

    def bernoulli_(self, p=0.5, *, generator=None):
        return self._fill_random("bernoulli_", lambda g: g.random(self.shape) < _arr(p))

    def random_(self, from_=0, to=None, *, generator=None):
        """Integers drawn uniformly from [from_, to) (to: 2**mantissa bits for floats, the dtype's max for ints)."""
        if to is None:
            from_, to = 0, from_ if from_ else (2 ** (B.xp.finfo(self.dtype).nmant + 1) if self.dtype.kind == "f"
                                                else B.xp.iinfo(self.dtype).max)
        return self._fill_random("random_", lambda g: g.integers(from_, to, self.shape), generator)

    def exponential_(self, lambd=1.0, *, generator=None):
        return self._fill_random("exponential_", lambda g: g.exponential(1 / lambd, self.shape), generator)

    def geometric_(self, p, *, generator=None):
        return self._fill_random("geometric_", lambda g: g.geometric(p, self.shape), generator)

    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None):
        return self._fill_random("cauchy_", lambda g: median + sigma * g.standard_cauchy(self.shape), generator)

    def log_normal_(self, mean=1.0, std=2.0, *, generator=None):
        return self._fill_random("log_normal_", lambda g: g.lognormal(mean, std, self.shape), generator)

    def apply_(self, callable):
        """Replace every element x by callable(x), a Python function called once per element (slow, as in torch)."""
        return self._map_in_place("apply_", callable)

    def map_(self, tensor, callable):
        """self[i] = callable(self[i], tensor[i]), tensor broadcast to self's shape."""
        return self._map_in_place("map_", callable, tensor)

    def map2_(self, x, y, callable):
        """self[i] = callable(self[i], x[i], y[i])."""
        return self._map_in_place("map2_", callable, x, y)

    def _map_in_place(self, name, fn, *others):
        if self.requires_grad:
            raise RuntimeError(f"{name}: works only on tensors that do not require grad (it has no gradient)")
        arrays = [B.xp.broadcast_to(_arr(o), self.shape) for o in others]
        out = self._own()
        for i in np.ndindex(self.shape):
            out[i] = fn(out[i].item(), *(a[i].item() for a in arrays))
        return self

    def _fill_random(self, name, draw, generator=None):
        """self[...] = draw(rng): the user's generator (drawn on the host), else the global stream of self's device."""
        self._inplace(name)
        rng = rng_for(generator, self.array)
        self.array[...] = B.xp_of(self.array).asarray(draw(rng))
        return self

    # ------------------------------------------------------------------ in-place variants: x.f_(...) = x.f(...) into x
    def _update(self, name, fn, *args, **kwargs):
        """torch's in-place form: the result of fn(self, ...) replaces self's values, and self keeps its identity.

        A leaf that requires grad is refused (as torch). Without a graph the values are written into the
        array (views of it see them). In a graph, self takes the result's place (its array and grad_fn): the
        result was computed from a stand-in holding self's old value and node, and the old array is left
        intact for the nodes that saved it. (torch would refuse a backward through a node whose saved input
        was modified in place; here that node still sees the value it saved.)
        """
        src = self._stand_in(name)
        out = fn(src, *args, **kwargs)
        if out.shape != self.shape:
            raise RuntimeError(f"{name}: the result's shape {tuple(out.shape)} does not match the tensor's "
                               f"shape {tuple(self.shape)}")
        if out.dtype != self.dtype and not B.xp.can_cast(out.dtype, self.dtype, "same_kind"):
            raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the desired output type {self.dtype}")
        if _ag.state.grad_enabled and (out.requires_grad or self.requires_grad):
            self.array = out.array if out.dtype == self.dtype else out.array.astype(self.dtype)
            self.grad_fn, self.requires_grad, self._seq = out.grad_fn, out.requires_grad, out._seq
            return self
        self._own()[...] = out.array
        return self

    def _stand_in(self, name):
        """self, or (in a graph) a new tensor holding self's array and node: what an in-place op computes from."""
        if not (_ag.state.grad_enabled and self.requires_grad):
            return self
        if self.grad_fn is None:
            raise RuntimeError(f"{name}: a leaf tensor that requires grad is used in an in-place operation; "
                               "wrap it in rd.no_grad()")
        src = Tensor._wrap(self.array)
        src.grad_fn, src.requires_grad, src._seq = self.grad_fn, True, self._seq
        return src

    def _reshape_in_place(self, name, fn, *args):
        """In-place shape ops (squeeze_, t_, ...): self becomes the view (no values change)."""
        out = fn(self._stand_in(name), *args)
        self.array = out.array
        if _ag.state.grad_enabled and out.requires_grad:
            self.grad_fn, self._seq = out.grad_fn, out._seq
        return self

    def abs_(self):
        return self._update("abs_", Tensor.abs)

    absolute = abs

    def absolute_(self):
        return self._update("absolute_", Tensor.abs)

    def neg_(self):
        return self._update("neg_", Tensor.neg)

    negative_ = neg_

    def sign_(self):
        return self._update("sign_", Tensor.sign)

    def sgn_(self):
        return self._update("sgn_", Tensor.sign)

    def exp_(self):
        return self._update("exp_", Tensor.exp)

    def exp2_(self):
        return self._update("exp2_", Tensor.exp2)

    def expm1_(self):
        return self._update("expm1_", Tensor.expm1)

    def log_(self):
        return self._update("log_", Tensor.log)

    def log2_(self):
        return self._update("log2_", Tensor.log2)

    def log10_(self):
        return self._update("log10_", Tensor.log10)

    def log1p_(self):
        return self._update("log1p_", Tensor.log1p)

    def sqrt_(self):
        return self._update("sqrt_", Tensor.sqrt)

    def rsqrt_(self):
        return self._update("rsqrt_", Tensor.rsqrt)

    def square_(self):
        return self._update("square_", Tensor.square)

    def reciprocal_(self):
        return self._update("reciprocal_", Tensor.reciprocal)

    def sin_(self):
        return self._update("sin_", Tensor.sin)

    def cos_(self):
        return self._update("cos_", Tensor.cos)

    def tan_(self):
        return self._update("tan_", Tensor.tan)

    def asin_(self):
        return self._update("asin_", Tensor.asin)

    def acos_(self):
        return self._update("acos_", Tensor.acos)

    def atan_(self):
        return self._update("atan_", Tensor.atan)

    def sinh_(self):
        return self._update("sinh_", Tensor.sinh)

    def cosh_(self):
        return self._update("cosh_", Tensor.cosh)

    def tanh_(self):
        return self._update("tanh_", Tensor.tanh)

    def asinh_(self):
        return self._update("asinh_", Tensor.asinh)

    def acosh_(self):
        return self._update("acosh_", Tensor.acosh)

    def atanh_(self):
        return self._update("atanh_", Tensor.atanh)

    arcsin_, arccos_, arctan_, arcsinh_, arccosh_, arctanh_ = asin_, acos_, atan_, asinh_, acosh_, atanh_

    def atan2_(self, other):
        return self._update("atan2_", Tensor.atan2, other)

    arctan2_ = atan2_

    def sigmoid_(self):
        return self._update("sigmoid_", Tensor.sigmoid)

    def relu_(self):
        return self._update("relu_", Tensor.relu)

    def erf_(self):
        return self._update("erf_", Tensor.erf)

    def erfc_(self):
        return self._update("erfc_", Tensor.erfc)

    def erfinv_(self):
        return self._update("erfinv_", Tensor.erfinv)

    def lgamma_(self):
        return self._update("lgamma_", Tensor.lgamma)

    def digamma_(self):
        return self._update("digamma_", Tensor.digamma)

    def polygamma_(self, n):
        return self._update("polygamma_", Tensor.polygamma, n)

    def mvlgamma_(self, p):
        return self._update("mvlgamma_", Tensor.mvlgamma, p)

    def sinc_(self):
        return self._update("sinc_", Tensor.sinc)

    def i0_(self):
        return self._update("i0_", Tensor.i0)

    def logit_(self, eps=None):
        return self._update("logit_", Tensor.logit, eps)

    def deg2rad_(self):
        return self._update("deg2rad_", Tensor.deg2rad)

    def rad2deg_(self):
        return self._update("rad2deg_", Tensor.rad2deg)

    def floor_(self):
        return self._update("floor_", Tensor.floor)

    def ceil_(self):
        return self._update("ceil_", Tensor.ceil)

    def round_(self, decimals=0):
        return self._update("round_", Tensor.round, decimals)

    def trunc_(self):
        return self._update("trunc_", Tensor.trunc)

    fix_ = trunc_

    def frac_(self):
        return self._update("frac_", Tensor.frac)

    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
        return self._update("nan_to_num_", Tensor.nan_to_num, nan, posinf, neginf)

    def clamp_min_(self, min):
        return self._update("clamp_min_", Tensor.clamp_min, min)

    def clamp_max_(self, max):
        return self._update("clamp_max_", Tensor.clamp_max, max)

    def clip_(self, min=None, max=None):
        return self._update("clip_", Tensor.clamp, min, max)

    def pow_(self, exponent):
        return self._update("pow_", Tensor.pow, exponent)

    def float_power_(self, exponent):
        return self._update("float_power_", Tensor.float_power, exponent)

    def fmod_(self, other):
        return self._update("fmod_", Tensor.fmod, other)

    def remainder_(self, other):
        return self._update("remainder_", Tensor.remainder, other)

    def copysign_(self, other):
        return self._update("copysign_", Tensor.copysign, other)

    def hypot_(self, other):
        return self._update("hypot_", Tensor.hypot, other)

    def xlogy_(self, other):
        return self._update("xlogy_", Tensor.xlogy, other)

    def lerp_(self, end, weight):
        return self._update("lerp_", Tensor.lerp, end, weight)

    def ldexp_(self, other):
        return self._update("ldexp_", Tensor.ldexp, other)

    def nextafter_(self, other):
        return self._update("nextafter_", Tensor.nextafter, other)

    def heaviside_(self, values):
        return self._update("heaviside_", Tensor.heaviside, values)

    def igamma_(self, other):
        return self._update("igamma_", Tensor.igamma, other)

    def igammac_(self, other):
        return self._update("igammac_", Tensor.igammac, other)

    def gcd_(self, other):
        return self._update("gcd_", Tensor.gcd, other)

    def lcm_(self, other):
        return self._update("lcm_", Tensor.lcm, other)

    def floor_divide_(self, other):
        return self._update("floor_divide_", Tensor.floor_divide, other)

    def true_divide_(self, other):
        return self._update("true_divide_", Tensor.true_divide, other)

    divide_ = true_divide_

    def multiply_(self, other):
        return self._update("multiply_", Tensor.mul, other)

    def subtract_(self, other, alpha=1):
        return self._update("subtract_", lambda x: x - (other * alpha if alpha != 1 else other))

    def addcmul_(self, tensor1, tensor2, *, value=1):
        return self._update("addcmul_", Tensor.addcmul, tensor1, tensor2, value=value)

    def addcdiv_(self, tensor1, tensor2, *, value=1):
        return self._update("addcdiv_", Tensor.addcdiv, tensor1, tensor2, value=value)

    def addmm_(self, mat1, mat2, *, beta=1, alpha=1):
        return self._update("addmm_", Tensor.addmm, mat1, mat2, beta=beta, alpha=alpha)

    def addmv_(self, mat, vec, *, beta=1, alpha=1):
        return self._update("addmv_", Tensor.addmv, mat, vec, beta=beta, alpha=alpha)

    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._update("addbmm_", Tensor.addbmm, batch1, batch2, beta=beta, alpha=alpha)

    def baddbmm_(self, batch1, batch2, *, beta=1, alpha=1):
        return self._update("baddbmm_", Tensor.baddbmm, batch1, batch2, beta=beta, alpha=alpha)

    def addr_(self, vec1, vec2, *, beta=1, alpha=1):
        return self._update("addr_", Tensor.addr, vec1, vec2, beta=beta, alpha=alpha)

    def cumsum_(self, dim):
        return self._update("cumsum_", Tensor.cumsum, dim)

    def cumprod_(self, dim):
        return self._update("cumprod_", Tensor.cumprod, dim)

    def renorm_(self, p, dim, maxnorm):
        return self._update("renorm_", Tensor.renorm, p, dim, maxnorm)

    def tril_(self, diagonal=0):
        return self._update("tril_", Tensor.tril, diagonal)

    def triu_(self, diagonal=0):
        return self._update("triu_", Tensor.triu, diagonal)

    def masked_fill_(self, mask, value):
        return self._update("masked_fill_", Tensor.masked_fill, mask, value)

    def masked_scatter_(self, mask, source):
        return self._update("masked_scatter_", Tensor.masked_scatter, mask, source)

    def index_add_(self, dim, index, source, *, alpha=1):
        return self._update("index_add_", Tensor.index_add, dim, index, source, alpha=alpha)

    def index_copy_(self, dim, index, source):
        return self._update("index_copy_", Tensor.index_copy, dim, index, source)

    def index_fill_(self, dim, index, value):
        return self._update("index_fill_", Tensor.index_fill, dim, index, value)

    def index_put_(self, indices, values, accumulate=False):
        return self._update("index_put_", Tensor.index_put, indices, values, accumulate)

    def index_reduce_(self, dim, index, source, reduce, *, include_self=True):
        return self._update("index_reduce_", Tensor.index_reduce, dim, index, source, reduce, include_self=include_self)

    def put_(self, index, source, accumulate=False):
        return self._update("put_", Tensor.put, index, source, accumulate)

    def scatter_(self, dim, index, src=None, value=None, *, reduce=None):
        return self._update("scatter_", Tensor.scatter, dim, index, src, value, reduce=reduce)

    def scatter_add_(self, dim, index, src):
        return self._update("scatter_add_", Tensor.scatter_add, dim, index, src)

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return self._update("scatter_reduce_", Tensor.scatter_reduce, dim, index, src, reduce,
                            include_self=include_self)

    def fill_diagonal_(self, fill_value, wrap=False):
        """Fill the main diagonal (all dims equal for > 2-D); wrap: tall matrices restart it every n + 1 rows."""
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise RuntimeError("fill_diagonal_: expected a matrix or a tensor with all dims equal, "
                               f"got {tuple(self.shape)}")

        def fill(x):
            mask = B.xp.zeros(x.shape, bool)
            if x.ndim == 2:
                B.xp.fill_diagonal(mask, True, wrap=wrap)
            else:
                mask[(B.xp.arange(x.shape[0]),) * x.ndim] = True
            return x.masked_fill(mask, fill_value)
        return self._update("fill_diagonal_", fill)

    def eq_(self, other):
        return self._update("eq_", Tensor.eq, other)

    def ne_(self, other):
        return self._update("ne_", Tensor.ne, other)

    def lt_(self, other):
        return self._update("lt_", Tensor.lt, other)

    def le_(self, other):
        return self._update("le_", Tensor.le, other)

    def gt_(self, other):
        return self._update("gt_", Tensor.gt, other)

    def ge_(self, other):
        return self._update("ge_", Tensor.ge, other)

    not_equal_, less_, less_equal_, greater_, greater_equal_ = ne_, lt_, le_, gt_, ge_

    def logical_and_(self, other):
        return self._update("logical_and_", Tensor.logical_and, other)

    def logical_or_(self, other):
        return self._update("logical_or_", Tensor.logical_or, other)

    def logical_xor_(self, other):
        return self._update("logical_xor_", Tensor.logical_xor, other)

    def logical_not_(self):
        return self._update("logical_not_", Tensor.logical_not)

    def bitwise_and_(self, other):
        return self._update("bitwise_and_", Tensor.bitwise_and, other)

    def bitwise_or_(self, other):
        return self._update("bitwise_or_", Tensor.bitwise_or, other)

    def bitwise_xor_(self, other):
        return self._update("bitwise_xor_", Tensor.bitwise_xor, other)

    def bitwise_not_(self):
        return self._update("bitwise_not_", Tensor.bitwise_not)

    def bitwise_left_shift_(self, other):
        return self._update("bitwise_left_shift_", Tensor.bitwise_left_shift, other)

    def bitwise_right_shift_(self, other):
        return self._update("bitwise_right_shift_", Tensor.bitwise_right_shift, other)

    def squeeze_(self, dim=None):
        return self._reshape_in_place("squeeze_", Tensor.squeeze, dim)

    def unsqueeze_(self, dim):
        return self._reshape_in_place("unsqueeze_", Tensor.unsqueeze, dim)

    def t_(self):
        return self._reshape_in_place("t_", Tensor.t)

    def transpose_(self, dim0, dim1):
        return self._reshape_in_place("transpose_", Tensor.transpose, dim0, dim1)

    swapaxes_ = swapdims_ = transpose_


# ---------------------------------------------------------------------- helpers for the methods above
_CPU = _device.device("cpu")
def _to_array(data, dtype=None):
    """The backend array rd.tensor(data) holds: a copy, a float32 default for Python floats (as torch)."""
    dtype = _dt.as_dtype(dtype)
    if isinstance(data, Tensor):
        return B.xp_of(data.array).array(data.array, dtype=dtype)      # a copy on its device, always a real array
    if type(data) in B.array_types and type(data) is not np.ndarray:   # another device's array stays there
        return B.xp_of(data).array(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)) or type(data).__module__.startswith("cupy"):
        return B.xp.array(data, dtype=dtype)              # keeps a NumPy array's dtype, as torch.tensor
    try:
        a = np.array(data, dtype=dtype)
    except (ValueError, TypeError) as e:
        raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__}: {e}") from None
    if a.dtype.kind in "OUSV":
        raise TypeError(f"tensor: data must be numbers (or nested lists of numbers), got {a.dtype} from {data!r:.80}")
    if dtype is None and a.dtype == np.float64:
        a = a.astype(_dt.get_default_dtype())           # Python floats -> float32
    return B.xp.asarray(a)


def where(condition, input, other):
    """input where condition else other (broadcasting); gradients flow to input and other."""
    cond = _arr(condition)
    if cond.dtype.kind != "b":
        raise RuntimeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        return Tensor._wrap(B.xp.where(cond, input, other).astype(_dt.get_default_dtype()))
    return _ew.Where.apply(cond, input, other)


def _arr(x):
    return x.array if isinstance(x, Tensor) else x


def _kind(x):
    if isinstance(x, Tensor):
        return x.dtype.kind
    if isinstance(x, builtins.bool):
        return "b"
    return "i" if isinstance(x, builtins.int) else "f" if isinstance(x, builtins.float) else B.xp.asarray(x).dtype.kind


def _promote(a, b):
    """PyTorch's type promotion where NumPy's differs, for the two operands of a binary op:
      - a Python float meeting an integer tensor gives the default float dtype (NumPy: float64);
      - an integer tensor meeting a float tensor takes the float dtype (NumPy: int64 + float32 -> float64);
      - a NumPy scalar counts as a Python number (NumPy 2: float32 tensor * np.float64(2) -> float64);
      - a 0-d tensor meeting a tensor with dims of the same kind takes its dtype (float64 0-d + float32 -> float32).
    """
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:                                   # the common case first: two tensors of one dtype
        if a.array.dtype is not b.array.dtype:
            ka, kb = a.array.dtype.kind, b.array.dtype.kind
            if ka == kb or (ka in "iu" and kb in "iu"):
                if not a.array.ndim and b.array.ndim:
                    a = a.to(b.array.dtype)
                elif not b.array.ndim and a.array.ndim:
                    b = b.to(a.array.dtype)
            elif ka == "f" and kb in "iub":
                b = b.to(a.array.dtype)
            elif kb == "f" and ka in "iub":
                a = a.to(b.array.dtype)
        return a, b
    if type(b) is builtins.float and ta and a.array.dtype.kind in "iub":
        a = a.to(_dt.get_default_dtype())
    elif type(a) is builtins.float and tb and b.array.dtype.kind in "iub":
        b = b.to(_dt.get_default_dtype())
    elif isinstance(b, np.generic) or isinstance(a, np.generic):
        return _promote(a.item() if isinstance(a, np.generic) else a, b.item() if isinstance(b, np.generic) else b)
    return a, b


def _floaty(x):
    """Integer tensors become the default float before a transcendental op, as in torch."""
    return x if x.array.dtype.kind in "fc" else x.to(_dt.get_default_dtype())


def _floats(a, b):
    """Both operands of a binary transcendental op as floats (torch: integers become the default float)."""
    a, b = _promote(a, b)
    a = _floaty(a) if isinstance(a, Tensor) else a
    b = _floaty(b) if isinstance(b, Tensor) else b
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.dtype != b.dtype:
        a, b = a.to(B.xp.promote_types(a.dtype, b.dtype)), b.to(B.xp.promote_types(a.dtype, b.dtype))
    return a, b


def _nograd(func, *args):
    arrays = [_arr(a) for a in args]
    try:
        return Tensor._wrap(func(*arrays))
    except ValueError as e:
        raise _ew._broadcast_error(getattr(func, "__name__", "op"), e, *arrays) from None


def _alias(dim, axis):
    return axis if dim is None else dim


def _k(keepdim, keepdims):
    return keepdim if keepdims is None else keepdims


def _correction(unbiased, correction):
    if correction is not None:
        return correction
    return 1 if unbiased is None or unbiased else 0


def _dim(d, ndim, op):
    """One dim, wrapped like torch (-1 is the last); a clear error when out of range."""
    n = max(ndim, 1)
    if not isinstance(d, (builtins.int, np.integer)) or isinstance(d, builtins.bool):
        raise TypeError(f"{op}: dim must be an int, got {d!r}")
    if not -n <= d < n:
        raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims (expected {-n}..{n - 1})")
    return builtins.int(d % n)


def _dims(dim, ndim, op):
    """None (all dims) or a sorted tuple of wrapped dims."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        dims = tuple(sorted({_dim(d, ndim, op) for d in dim}))
    else:
        dims = (_dim(dim, ndim, op),)
    return dims if ndim else None        # a 0-D tensor accepts dim 0 / -1, as torch: nothing to reduce


def _shape_arg(shape):
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(torch.Size) alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    return tuple(builtins.int(s) for s in shape)


def _max_dim(op, result, x, dim, keepdim):
    d = _dim(dim, x.ndim, op.op)
    if x.ndim == 0:
        return result(x, Tensor._wrap(B.xp.asarray(0)))
    fn = op()
    values = fn.run((x,), {"axis": d, "keepdim": keepdim})
    idx = fn.index if keepdim else fn.index.squeeze(d)
    return result(values, Tensor._wrap(idx.astype(np.int64)))


def _argext(func, x, dim, keepdim):
    if x.array.size == 0 and (dim is None or x.array.shape[_dim(dim, x.ndim, func.__name__)] == 0):
        raise IndexError(f"{func.__name__}: cannot take the {func.__name__} of an empty tensor of shape "
                         f"{tuple(x.shape)} over dim {dim} (it has no elements there)")
    if dim is None:
        idx = func(x.array.reshape(-1))
        return Tensor._wrap(B.xp.asarray(idx, dtype=np.int64).reshape((1,) * x.ndim if keepdim else ()))
    d = _dim(dim, x.ndim, func.__name__)
    if x.ndim == 0:
        return Tensor._wrap(B.xp.asarray(0))
    idx = func(x.array, axis=d)
    return Tensor._wrap((B.xp.expand_dims(idx, d) if keepdim else idx).astype(np.int64))


def _index_array(index, op):
    a = _arr(index)
    a = B.xp.asarray(a)
    if a.dtype.kind not in "iu":
        raise RuntimeError(f"{op}: index must be an integer tensor, got {a.dtype}")
    return a


def _index(index):
    """Turn Tensors and lists inside an index into backend arrays; ints, slices, None and ... pass as they are."""
    if type(index) is builtins.int or type(index) is slice:
        return index
    if isinstance(index, tuple):
        return tuple(_index_item(i) for i in index)
    return _index_item(index)


def _index_item(i):
    if isinstance(i, Tensor):
        return i.array
    if isinstance(i, list):
        return B.xp.asarray(i)
    return i


_ag.register(tensor_class=Tensor)      # the engine makes Tensors of this class (autograd sits below tensor.py)
from .ops import matrix as _mx, special as _sp  # noqa: E402
# redes.composite and redes.sampling build on Tensor, so they sit above this file: each hands itself in through
# register_compositions() when imported (redes/__init__ imports both), and the methods below call them from here.
_cx = _rnd = None


def register_compositions(composite=None, sampling=None):
    """Called by redes.composite and redes.sampling on import: the modules the composite Tensor methods call."""
    global _cx, _rnd
    _cx = composite if composite is not None else _cx
    _rnd = sampling if sampling is not None else _rnd


_add2, _sub2, _mul2 = _ew.AddOp.apply2, _ew.Sub.apply2, _ew.Mul.apply2   # bound once: the operators' hot path


def _bind_operators(on=False):
    """Bound once (the operators' hot path), and again when a second device turns on the engine's device checks."""
    global _add2, _sub2, _mul2
    _add2, _sub2, _mul2 = _ew.AddOp.apply2, _ew.Sub.apply2, _ew.Mul.apply2


B._multi_hooks.append(_bind_operators)
