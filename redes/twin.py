"""The "twin" device: a second device on the CPU, so the device plumbing is proven on machines without a GPU.

Its arrays are `TwinArray`s, a class of their own (not numpy.ndarray, not a subclass) that holds a NumPy
array and computes with NumPy, but behaves like CuPy's arrays towards NumPy:
  - NumPy refuses them: a ufunc or function of NumPy given one raises TypeError, and so does an implicit
    conversion (np.asarray(t)); the way to the host is explicit (`.get()`, `asnumpy`), as in CuPy;
  - its own functions (the `twin` module, NumPy's names) refuse NumPy arrays, except the transfers
    `asarray`/`array`, so an op that mixes devices or slips back to NumPy fails on it;
  - reductions and scalar indexing give 0-d arrays, never NumPy scalars (as CuPy).
`rd.zeros(3, device="twin")`, `t.to("twin")` and `model.to("twin")` put tensors there; the test suite runs
the op table, the layer comparisons and a training run on it (tests/devices).

    x = rd.randn(3, device="twin"); x.device        # device(type='twin')
"""
import operator

import numpy

_NDARRAY = numpy.ndarray
_TRANSFERS = frozenset({"asarray", "array", "asanyarray"})     # the functions that may take a host array


class TwinArray:
    """An array of the twin device: a NumPy array inside, NumPy's array API outside, no implicit way back."""
    __slots__ = ("_a", "_base")
    __array_ufunc__ = None          # np.exp(twin), ndarray + twin: NumPy hands over or raises TypeError
    __hash__ = None

    def __init__(self, a, base=None):
        self._a, self._base = a, base

    def _result(self, r):
        """A method's result: self when NumPy gave back self's own array (astype(copy=False), asarray); a view
        knows the TwinArray that owns its memory (`.base`, as CuPy's views do); anything else is wrapped."""
        if r is self._a:
            return self
        if isinstance(r, _NDARRAY) and r.base is not None and (r.base is self._a or r.base is self._a.base):
            return TwinArray(r, self if self._a.base is None else self._base)
        return _wrap(r)

    def __array_function__(self, func, types, args, kwargs):
        return NotImplemented       # np.concatenate([twin]) and friends: TypeError from NumPy

    def __array__(self, dtype=None, copy=None):
        raise TypeError("twin device: implicit conversion of a TwinArray to NumPy; use .get() or "
                        "redes.twin.asnumpy() (as CuPy asks for .get())")

    def get(self):
        """A NumPy copy on the host (CuPy's name)."""
        return self._a.copy()

    # attributes read on the hot path, without __getattr__
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    strides = property(lambda self: self._a.strides)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    flags = property(lambda self: self._a.flags)
    T = property(lambda self: self._result(self._a.T))
    mT = property(lambda self: self._result(self._a.swapaxes(-1, -2)))
    real = property(lambda self: self._result(self._a.real))
    imag = property(lambda self: self._result(self._a.imag))

    @property
    def base(self):
        return self._base if self._a.base is not None else None

    @property
    def device(self):
        return "twin"

    @property
    def ctypes(self):
        raise AttributeError("twin device: a TwinArray has no host pointer (.ctypes), as CuPy's arrays")

    def __getattr__(self, attr):        # the other ndarray methods: unwrap the arguments, wrap the results
        if attr in ("_a", "_base") or attr.startswith("__"):     # __array_interface__ & co: no silent way to NumPy
            raise AttributeError(attr)
        value = getattr(self._a, attr)
        if not callable(value):
            return self._result(value)
        return lambda *args, **kwargs: self._result(value(*_unwrap(args), **_unwrap(kwargs)))

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (TwinArray(numpy.asarray(r)) for r in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return operator.index(self._a)

    def __complex__(self):
        return complex(self._a)

    def __repr__(self):
        return "twin:" + repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    def __copy__(self):
        return TwinArray(self._a.copy())

    def __deepcopy__(self, memo):
        return TwinArray(self._a.copy())

    def __getitem__(self, index):
        return self._result(self._a[_unwrap(index)])

    def __setitem__(self, index, value):
        self._a[_unwrap(index)] = _unwrap(value)

    def __reduce__(self):
        raise TypeError("twin device: a TwinArray is not pickled (move it to the host with .get())")


def _binary(op, reflected=False):
    if reflected:
        return lambda self, other: _wrap(op(_unwrap(other), self._a))
    return lambda self, other: _wrap(op(self._a, _unwrap(other)))


def _inplace(op):
    def method(self, other):
        op(self._a, _unwrap(other))
        return self
    return method


for _name, _op in (("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv), ("mod", operator.mod),
                   ("pow", operator.pow), ("matmul", operator.matmul), ("and", operator.and_),
                   ("or", operator.or_), ("xor", operator.xor), ("lshift", operator.lshift),
                   ("rshift", operator.rshift)):
    setattr(TwinArray, f"__{_name}__", _binary(_op))
    setattr(TwinArray, f"__r{_name}__", _binary(_op, reflected=True))
    setattr(TwinArray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(TwinArray, f"__{_name}__", _binary(getattr(operator, _name)))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(TwinArray, f"__{_name}__", (lambda op: lambda self: TwinArray(op(self._a)))(getattr(operator, _name)))


def _unwrap(x):
    """The NumPy values behind a twin computation's operands and arguments (inside lists, tuples and dicts too);
    a host array is refused (a device mix)."""
    if type(x) is TwinArray:
        return x._a
    if isinstance(x, _NDARRAY):
        raise TypeError(f"twin device: a NumPy array (shape {x.shape}, {x.dtype}) was given to a twin-device "
                        "computation: move it with .to('twin') (CuPy raises alike for host arrays)")
    if type(x) in (list, tuple):
        return type(x)(_unwrap(v) for v in x)
    if type(x) is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _wrap(x):
    """Results of a twin function: NumPy arrays and scalars become TwinArrays (0-d for scalars, as CuPy)."""
    if isinstance(x, _NDARRAY):
        return TwinArray(x)
    if isinstance(x, numpy.generic):
        return TwinArray(numpy.asarray(x))
    if type(x) in (list, tuple):
        return type(x)(_wrap(v) for v in x)
    return x


class _Function:
    """A NumPy function (or ufunc) on the twin device: unwrap, compute with NumPy, wrap."""
    __slots__ = ("f", "name", "transfer")

    def __init__(self, f, name):
        self.f, self.name, self.transfer = f, name, name in _TRANSFERS

    def __call__(self, *args, **kwargs):
        if self.transfer:           # asarray(host array): the explicit copy to the device, as CuPy's
            args = tuple(a.copy() if isinstance(a, _NDARRAY) and type(a) is not TwinArray else _unwrap(a)
                         for a in args)
            kwargs = _unwrap(kwargs)
            out = self.f(*args, **kwargs)
            return TwinArray(numpy.asarray(out))
        return _wrap(self.f(*_unwrap(args), **_unwrap(kwargs)))

    def __getattr__(self, attr):    # ufunc methods: add.reduce, add.at, maximum.accumulate, ...
        return _Function(getattr(self.f, attr), f"{self.name}.{attr}")

    def __repr__(self):
        return f"<twin {self.name}>"


class _Namespace:
    """The twin array module: NumPy's names (np.linalg, np.fft, ... too), on TwinArrays."""

    def __init__(self, module, name):
        self._module, self.__name__ = module, name

    def __getattr__(self, attr):
        value = getattr(self._module, attr)
        if attr == "ndarray":
            value = TwinArray
        elif isinstance(value, type(numpy)):
            value = _Namespace(value, f"{self.__name__}.{attr}")
        elif isinstance(value, numpy.ufunc) or (callable(value) and not isinstance(value, type)):
            value = _Function(value, attr)
        setattr(self, attr, value)          # looked up once
        return value

    def __repr__(self):
        return f"<array module {self.__name__}>"


xp = _Namespace(numpy, "redes.twin")
xp.asnumpy = lambda a: a.get() if type(a) is TwinArray else numpy.asarray(a)
xp.get_array_module = lambda *args: xp if any(type(a) is TwinArray for a in args) else numpy
xp.from_dlpack = lambda obj: TwinArray(numpy.from_dlpack(obj))


class Generator:
    """The twin device's random generator: NumPy's, its draws made TwinArrays (same numbers for the same seed)."""

    def __init__(self, seed):
        self.np = numpy.random.default_rng(seed)

    def __getattr__(self, attr):
        f = getattr(self.np, attr)
        return (lambda *args, **kwargs: _wrap(f(*_unwrap(args), **_unwrap(kwargs)))) if callable(f) else f


def special():
    """scipy.special on TwinArrays (as cupyx.scipy.special on CuPy's)."""
    import scipy.special
    return _Namespace(scipy.special, "redes.twin.special")


asnumpy = xp.asnumpy


def from_host(a):
    return TwinArray(numpy.array(a))
