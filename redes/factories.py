"""Creating tensors: rd.tensor and the factories (zeros, ones, arange, randn, ...), as in PyTorch.

Python floats become the default dtype (float32); NumPy arrays keep their dtype; Python ints become int64.
"""
import builtins

import numpy as np

from . import backend as B
from . import dtypes as _dt
from . import devices as _devices
from .random import device_rng
from .tensor import Tensor, _shape_arg, _to_array  # noqa: F401 (_to_array: kept importable here)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of `data` (a number, nested lists, a NumPy array or a Tensor).

    Example:
        >>> rd.tensor([[1.0, 2.0], [3.0, 4.0]]).dtype
        dtype('float32')
    """
    b = _on(device, "tensor")
    t = Tensor(data, dtype=dtype)
    if B.multi and B.backend_of(t.array) is not b:
        t = Tensor._wrap(B.move(t.array, b.type))
    return t.requires_grad_(True) if requires_grad else t


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or data.dtype == _dt.as_dtype(dtype)):
        return data
    if type(data) in B.array_types and (dtype is None or data.dtype == _dt.as_dtype(dtype)):
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype)


def from_numpy(array):
    """A tensor sharing memory with a NumPy array (no copy): writes through either show in the other.

    Example:
        >>> a = np.zeros(3); t = rd.from_numpy(a); a[0] = 5.0; t[0].item()
        5.0
    """
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._wrap(array)


def from_dlpack(obj):
    """A tensor sharing memory with any DLPack producer (a torch tensor, a NumPy array, a redes Tensor), no copy.

    Example:
        >>> a = np.arange(3.0); t = rd.from_dlpack(a); a[1] = 7.0; t.tolist()
        [0.0, 7.0, 2.0]
    """
    if isinstance(obj, Tensor):
        return Tensor._wrap(obj._own())
    if not hasattr(obj, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ (a torch tensor, a NumPy array), "
                        f"got {type(obj).__name__}")
    return Tensor._wrap(B.xp.from_dlpack(obj))


def _on(device, caller):
    """The Backend a factory creates its tensor on: device= (checked, as torch: "cuda" without a GPU is an error,
    never silently a CPU tensor), else the default device."""
    return B.default if device is None else B.get(_devices.check(device, caller).type)


def _make(b, array, requires_grad):
    if type(array) is not b.array_type:      # a host draw from a user's generator, a NumPy scalar: moved there
        array = b.from_host(array) if b is not B.CPU else np.asarray(array)
    t = Tensor._wrap(array)
    return t.requires_grad_(True) if requires_grad else t


def _float_dtype(dtype):
    return _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()


def _rng(b, generator):
    """A user's generator (it draws on the host), else the global stream of device b."""
    return generator if generator is not None else device_rng(b)


def zeros(*size, dtype=None, requires_grad=False, device=None):
    b = _on(device, "zeros")
    return _make(b, b.xp.zeros(_shape_arg(size), _float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    b = _on(device, "ones")
    return _make(b, b.xp.ones(_shape_arg(size), _float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    _on(device, "empty")
    return zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    b = _on(device, "full")
    if dtype is None:       # inferred from the value, as torch.full
        dtype = (_dt.bool if isinstance(fill_value, builtins.bool) else
                 _dt.int64 if isinstance(fill_value, builtins.int) else _dt.get_default_dtype())
    return _make(b, b.xp.full(_shape_arg((size,)), fill_value, _dt.as_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from start to end (excluded) by step; int64 unless an argument is a float."""
    b = _on(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, builtins.float) for v in (start, end, step))
        dtype = _dt.get_default_dtype() if floats else _dt.int64
    return _make(b, b.xp.arange(start, end, step, dtype=_dt.as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    b = _on(device, "linspace")
    return _make(b, b.xp.linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    b = _on(device, "eye")
    return _make(b, b.xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Uniform draws on [0, 1) from the device's global generator (seeded by rd.manual_seed)."""
    b = _on(device, "rand")
    a = _rng(b, generator).random(_shape_arg(size))
    return _make(b, a.astype(_float_dtype(dtype)), requires_grad)


def randn(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Standard normal draws from the device's global generator (seeded by rd.manual_seed)."""
    b = _on(device, "randn")
    a = _rng(b, generator).standard_normal(_shape_arg(size))
    return _make(b, a.astype(_float_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None, device=None):
    """Integers in [low, high) (int64), as torch.randint(low=0, high, size) and torch.randint(high, size)."""
    b = _on(device, "randint")
    if isinstance(high, (tuple, list)) and size == ():        # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    a = _rng(b, generator).integers(low, high, _shape_arg((size,)))
    return _make(b, a.astype(_dt.as_dtype(dtype) if dtype is not None else _dt.int64), False)


def randperm(n, dtype=None, generator=None, device=None):
    b = _on(device, "randperm")
    a = _rng(b, generator).permutation(n)
    return _make(b, a.astype(_dt.as_dtype(dtype) if dtype is not None else _dt.int64), False)


def _like(t, dtype, device, caller):
    """(the Backend, the dtype) of a *_like factory: t's device and dtype unless given."""
    b = B.backend_of(t.array) if device is None else _on(device, caller)
    return b, (_dt.as_dtype(dtype) if dtype is not None else t.dtype)


def zeros_like(t, dtype=None, requires_grad=False, device=None):
    b, dtype = _like(t, dtype, device, "zeros_like")
    return _make(b, b.xp.zeros(t.shape, dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False, device=None):
    b, dtype = _like(t, dtype, device, "ones_like")
    return _make(b, b.xp.ones(t.shape, dtype), requires_grad)


def empty_like(t, dtype=None, requires_grad=False, device=None):
    return zeros_like(t, dtype, requires_grad, device)


def full_like(t, fill_value, dtype=None, requires_grad=False, device=None):
    b, dtype = _like(t, dtype, device, "full_like")
    return _make(b, b.xp.full(t.shape, fill_value, dtype), requires_grad)


def rand_like(t, dtype=None, requires_grad=False, device=None):
    b, dtype = _like(t, dtype, device, "rand_like")
    return rand(t.shape, dtype=dtype, requires_grad=requires_grad, device=b.type)


def randn_like(t, dtype=None, requires_grad=False, device=None):
    b, dtype = _like(t, dtype, device, "randn_like")
    return randn(t.shape, dtype=dtype, requires_grad=requires_grad, device=b.type)
