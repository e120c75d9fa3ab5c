"""Tensor: an array, its gradient, and the node that made it (`grad_fn`).

A number is a 0-D Tensor: the numbers scale of the lecture is this same engine. Every differentiable
method is one line that applies an op from `redes.ops`; the graph bookkeeping lives in autograd.py.
"""
import builtins
from collections import namedtuple

import numpy as np

from . import autograd as _ag
from . import backend as B
from . import dtypes as _dt

_new = object.__new__
_generic = np.generic
MaxResult = namedtuple("max", ["values", "indices"])
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
        from .factories import _to_array
        self.array = _to_array(data, dtype)
        self.grad = self.grad_fn = self.name = None
        self._seq, self._retain, self.requires_grad = 0, False, False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(array):
        """A new leaf Tensor around a backend array (no copy, no checks: the engine's hot path).

        NOTE: a 0-D result may stay a NumPy scalar (np.float32): scalar arithmetic is ~6x faster than on
        0-d arrays, which is what the numbers scale runs on. Code that writes into `.data` calls _own().
        """
        t = _new(Tensor)
        if type(array) is not B.xp.ndarray and not isinstance(array, _generic):
            array = B.xp.asarray(array)
        t.array = array
        t.grad = t.grad_fn = t.name = None
        t.requires_grad = t._retain = False
        t._seq = 0
        return t

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
        return "cpu" if B.name == "numpy" else "cuda"

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
        return Tensor._wrap(self._own())

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
        a = B.to_numpy(self.array)
        return a.astype(dtype, copy=False) if dtype is not None else a

    def numpy(self):
        """The array itself (shared memory, as torch): call .detach() first if you will modify it."""
        return B.to_numpy(self._own())

    def _own(self):
        """self.array as a real (writable) array: a 0-D result held as a NumPy scalar becomes a 0-d array."""
        if type(self.array) is not B.xp.ndarray:
            self.array = B.xp.asarray(self.array)
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
        body = np.array2string(a, separator=", ", precision=4, prefix="tensor(",
                               floatmode="fixed" if fixed else "maxprec")
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

    def contiguous(self):
        return self

    # ------------------------------------------------------------------ dtype / device
    def to(self, *args, dtype=None, device=None, copy=False):
        """Convert dtype (`t.to(rd.float64)`); devices other than the backend's are refused clearly."""
        for a in args:
            if isinstance(a, Tensor):
                dtype = a.dtype
            elif isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda"):
                device = a
            else:
                dtype = a
        if device is not None and str(device).split(":")[0] != self.device:
            raise RuntimeError(f"to: this tensor lives on {self.device} (backend '{B.name}'); moving to {device!r} "
                               "needs rd.backend.set_backend('cupy') before creating tensors")
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

    def round(self):
        return _nograd(B.xp.round, self)

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
        return _ew.Tanh.apply(_floaty(self))

    def sigmoid(self):
        return _ew.Sigmoid.apply(_floaty(self))

    def erf(self):
        return _ew.Erf.apply(_floaty(self))

    def relu(self):
        return _ew.ReLU.apply(self)

    def leaky_relu(self, negative_slope=0.01):
        return _ew.LeakyReLU.apply(self, negative_slope=negative_slope)

    def elu(self, alpha=1.0):
        return _ew.ELU.apply(self, alpha=alpha)

    def selu(self):
        return _ew.SELU.apply(self)

    def gelu(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return _ew.GELU.apply(self, approximate=approximate)

    def silu(self):
        return _ew.SiLU.apply(self)

    def softplus(self, beta=1.0, threshold=20.0):
        return _ew.Softplus.apply(self, beta=beta, threshold=threshold)

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
        from .functions import where
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
        return _rd.Softmax.apply(_floaty(self), axis=_dim(dim, self.ndim, "softmax"))

    def log_softmax(self, dim=-1):
        return _rd.LogSoftmax.apply(_floaty(self), axis=_dim(dim, self.ndim, "log_softmax"))

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
        if self.requires_grad and _ag.state.grad_enabled:
            raise RuntimeError("setitem: in-place assignment into a tensor that requires grad would corrupt its "
                               "gradient; assign inside rd.no_grad(), or build a new tensor (rd.where, masked_fill)")
        try:
            self._own()[_index(index)] = _arr(value)
        except ValueError as e:
            raise RuntimeError(f"setitem: value of shape {tuple(B.xp.shape(_arr(value)))} cannot be assigned into "
                               f"a tensor of shape {tuple(self.shape)} at {index!r}: {e}") from None

    # ------------------------------------------------------------------ in-place (for init and updates)
    def _inplace(self, name):
        if self.requires_grad and _ag.state.grad_enabled and self.grad_fn is None:
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
        self._inplace("add_")
        self.array += _arr(other) * alpha if alpha != 1 else _arr(other)
        return self

    def sub_(self, other, alpha=1):
        return self.add_(other, -alpha)

    def mul_(self, other):
        self._inplace("mul_")
        self.array *= _arr(other)
        return self

    def div_(self, other):
        self._inplace("div_")
        self.array /= _arr(other)
        return self

    def clamp_(self, min=None, max=None):
        self._inplace("clamp_")
        B.xp.clip(self.array, min, max, out=self.array)
        return self

    def uniform_(self, a=0.0, b=1.0, generator=None):
        from .random import default_rng
        self._inplace("uniform_")
        self.array[...] = B.xp.asarray((generator or default_rng()).uniform(a, b, self.shape))
        return self

    def normal_(self, mean=0.0, std=1.0, generator=None):
        from .random import default_rng
        self._inplace("normal_")
        self.array[...] = B.xp.asarray((generator or default_rng()).normal(mean, std, self.shape))
        return self


# ---------------------------------------------------------------------- helpers for the methods above
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


from .ops import elementwise as _ew, reduce as _rd, linalg as _la, movement as _mv  # noqa: E402
_add2, _sub2, _mul2 = _ew.Add.apply2, _ew.Sub.apply2, _ew.Mul.apply2   # bound once: the operators' hot path
