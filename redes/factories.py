"""Creating tensors: rd.tensor and the factories (zeros, ones, arange, randn, ...), as in PyTorch.

Python floats become the default dtype (float32); NumPy arrays keep their dtype; Python ints become int64.
"""
import builtins

import numpy as np

from . import backend as B
from . import dtypes as _dt
from . import devices as _devices
from .random import default_rng
from .tensor import Tensor, _shape_arg, _to_array  # noqa: F401 (_to_array: kept importable here)


def tensor(data, dtype=None, requires_grad=False, device=None):
    """A new tensor holding a copy of `data` (a number, nested lists, a NumPy array or a Tensor).

    Example:
        >>> rd.tensor([[1.0, 2.0], [3.0, 4.0]]).dtype
        dtype('float32')
    """
    _check_device(device, "tensor")
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def as_tensor(data, dtype=None):
    if isinstance(data, Tensor) and (dtype is None or data.dtype == _dt.as_dtype(dtype)):
        return data
    if isinstance(data, B.xp.ndarray) and (dtype is None or data.dtype == _dt.as_dtype(dtype)):
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


def _check_device(device, caller):
    """device=None or the active backend's device (as torch: asking for "cuda" here is an error, never ignored)."""
    if device is not None:
        _devices.check(device, caller)


def _make(array, requires_grad):
    t = Tensor._wrap(B.xp.asarray(array))
    return t.requires_grad_(True) if requires_grad else t


def _float_dtype(dtype):
    return _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()


def zeros(*size, dtype=None, requires_grad=False, device=None):
    _check_device(device, "zeros")
    return _make(B.xp.zeros(_shape_arg(size), _float_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False, device=None):
    _check_device(device, "ones")
    return _make(B.xp.ones(_shape_arg(size), _float_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False, device=None):
    _check_device(device, "empty")
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False, device=None):
    _check_device(device, "full")
    if dtype is None:       # inferred from the value, as torch.full
        dtype = (_dt.bool if isinstance(fill_value, builtins.bool) else
                 _dt.int64 if isinstance(fill_value, builtins.int) else _dt.get_default_dtype())
    return _make(B.xp.full(_shape_arg((size,)), fill_value, _dt.as_dtype(dtype)), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None):
    """Values from start to end (excluded) by step; int64 unless an argument is a float."""
    _check_device(device, "arange")
    if end is None:
        start, end = 0, start
    if dtype is None:
        floats = any(isinstance(v, builtins.float) for v in (start, end, step))
        dtype = _dt.get_default_dtype() if floats else _dt.int64
    return _make(B.xp.arange(start, end, step, dtype=_dt.as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False, device=None):
    _check_device(device, "linspace")
    return _make(B.xp.linspace(start, end, steps, dtype=_float_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False, device=None):
    _check_device(device, "eye")
    return _make(B.xp.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Uniform draws on [0, 1) from the global generator (seeded by rd.manual_seed)."""
    _check_device(device, "rand")
    a = (generator or default_rng()).random(_shape_arg(size))
    return _make(a.astype(_float_dtype(dtype)), requires_grad)


def randn(*size, dtype=None, requires_grad=False, generator=None, device=None):
    """Standard normal draws from the global generator (seeded by rd.manual_seed)."""
    _check_device(device, "randn")
    a = (generator or default_rng()).standard_normal(_shape_arg(size))
    return _make(a.astype(_float_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None, device=None):
    """Integers in [low, high) (int64), as torch.randint(low=0, high, size) and torch.randint(high, size)."""
    _check_device(device, "randint")
    if isinstance(high, (tuple, list)) and size == ():        # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    a = (generator or default_rng()).integers(low, high, _shape_arg((size,)))
    return _make(a.astype(_dt.as_dtype(dtype) if dtype is not None else _dt.int64), False)


def randperm(n, dtype=None, generator=None, device=None):
    _check_device(device, "randperm")
    a = (generator or default_rng()).permutation(n)
    return _make(a.astype(_dt.as_dtype(dtype) if dtype is not None else _dt.int64), False)


def _like(t, dtype):
    return _dt.as_dtype(dtype) if dtype is not None else t.dtype


def zeros_like(t, dtype=None, requires_grad=False):
    return _make(B.xp.zeros(t.shape, _like(t, dtype)), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return _make(B.xp.ones(t.shape, _like(t, dtype)), requires_grad)


def empty_like(t, dtype=None, requires_grad=False):
    return zeros_like(t, dtype, requires_grad)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return _make(B.xp.full(t.shape, fill_value, _like(t, dtype)), requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(t.shape, dtype=_like(t, dtype), requires_grad=requires_grad)
