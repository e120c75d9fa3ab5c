"""The array seam: which array library (device) computes, for every op, through `backend.xp`.

A device is a `Backend`: its array module (NumPy for "cpu", CuPy for "cuda", redes.twin for the "twin" test
device), its array type, erf and a random generator. Each tensor knows its device from its array's type
(`backend_of(array)`); ops read `B.xp` at call time, never `from backend import xp`.

Two modes, so that a CPU-only program pays nothing for devices:
  - CPU only (until another device is first used): `xp` is NumPy itself, and the engine runs no device checks;
  - devices (from the first `get("cuda")` / `get("twin")` on): `xp` is a proxy that reads this thread's
    current device, which the engine sets around every op and every backward node from the op's inputs
    (mixing devices in one op raises, naming the op and both devices); outside ops it is the default
    device, where factories create tensors (`set_default_device`; torch.set_default_device).
The CPU tuning (malloc, BLAS threads) lives apart, in cpu_tuning.py.
"""
import contextvars
import os

import numpy


def _scipy_special():
    """scipy.special: NumPy has no erf; SciPy's is exact to float64 rounding. Imported on first use: SciPy's
    import costs a CLI call ~0.2 s."""
    import scipy.special
    return scipy.special


KERNELS_API = 9         # the API number of redes/_kernels.c this code calls (KERNELS_API there)


def _load_kernels():
    """The compiled float32 kernels (redes/_kernels.c), or None where the install could not build them (no C
    compiler). Every op that uses one keeps its NumPy code as the fallback. They run on NumPy arrays only."""
    try:
        from . import _kernels
    except ImportError:
        return None
    if getattr(_kernels, "API", None) != KERNELS_API:      # built from an older redes/_kernels.c
        import warnings
        warnings.warn("redes: the compiled kernels are out of date (rebuild: python setup.py build_ext --inplace, "
                      "or pip install -e . again); running the NumPy code", RuntimeWarning, stacklevel=2)
        return None
    _link_blas(_kernels)
    return _kernels


def bundled_openblas():
    """The OpenBLAS libraries in NumPy's wheel (numpy.libs), loaded: none with another BLAS or platform."""
    import ctypes
    import glob
    folder = os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "lib*openblas*.so*"))):
        try:
            yield ctypes.CDLL(path)
        except OSError:
            continue


def _link_blas(k):
    """Hand the kernels the cblas_sgemm NumPy's matmul calls (its bundled OpenBLAS), so that the linear kernels
    make NumPy's own GEMM calls. Without it (NumPy built on another BLAS) they decline and the NumPy code runs."""
    import ctypes
    for lib in bundled_openblas():
        for name, ilp64 in (("scipy_cblas_sgemm64_", True), ("scipy_cblas_sgemm", False)):
            fn = getattr(lib, name, None)
            if fn is not None:
                k.set_blas(ctypes.cast(fn, ctypes.c_void_p).value, ilp64)
                return True
    return False


class Backend:
    """One device's array library: what the ops need to compute there.

    type: the device type ('cpu', 'cuda', 'twin'); xp: the array module; array_type: its array class;
    load_special(): its scipy.special (erf, gammaln, ...: imported on first use, SciPy's import is slow);
    new_rng(seed): a generator drawing its arrays (.random, .uniform, .normal, ...); to_host(a): a NumPy
    array; from_host(a): an array of this device from a NumPy array.
    """
    def __init__(self, type, xp, array_type, load_special, new_rng, to_host, from_host):  # noqa: A002
        self.type, self.xp, self.array_type, self._load_special = type, xp, array_type, load_special
        self.new_rng, self.to_host, self.from_host = new_rng, to_host, from_host
        self._special = None

    @property
    def special(self):
        if self._special is None:
            self._special = self._load_special()
        return self._special

    def __repr__(self):
        return f"<backend {self.type}: {self.xp.__name__}>"


CPU = Backend("cpu", numpy, numpy.ndarray, _scipy_special, numpy.random.default_rng, numpy.asarray, numpy.asarray)
_backends = {"cpu": CPU}                 # device type -> Backend, filled on first use
_by_type = {numpy.ndarray: CPU}          # array class -> Backend
array_types = frozenset(_by_type)        # the array classes of every device in use
default = CPU                            # where factories create tensors when no device= is given
multi = False                            # has a device other than the CPU been used in this process?
_current = contextvars.ContextVar("redes_device", default=None)   # the device of the op running in this thread
_multi_hooks = []                        # hook(on): called when multi turns on or off (the engine's device checks)

xp = numpy                               # the array module (a per-thread proxy once multi is on)
name = "numpy"                           # the default device's array module name (kept for old callers)
_compiled = _load_kernels()
_enabled = os.environ.get("REDES_KERNELS", "1") != "0"     # REDES_KERNELS=0: NumPy code only
kernels = _compiled if _enabled else None       # what ops use (on NumPy arrays only: see fused())


def current():
    """The Backend of the running op (inside the engine), else the default device's."""
    return _current.get() or default


def call_on(backend, f, *args):
    """f(*args) with `backend` as this thread's current device (the scope ops and backward nodes run in)."""
    token = _current.set(backend)
    try:
        return f(*args)
    finally:
        _current.reset(token)


def erf(a):
    """erf on the current device's arrays."""
    return current().special.erf(a)


def special():
    """The current device's scipy.special (cupyx.scipy.special on CUDA)."""
    return current().special


class _DeviceXP:
    """`xp` once several devices are in use. Inside an op, each attribute is the op's device's (per thread);
    outside ops, a function picks the module from its array arguments when called (cupy.get_array_module's
    rule: another device's array wins, so a mix reaches a module that refuses it), the default device's
    module when it has none (xp.zeros(shape)). Types and constants (xp.float32, xp.pi) are the default's."""
    def __getattr__(self, attr):
        cur = _current.get()
        if cur is not None:
            return getattr(cur.xp, attr)
        value = getattr(default.xp, attr)
        if value is None or isinstance(value, (type, int, float, numpy.dtype)):
            return value
        return _Late((attr,))

    def __repr__(self):
        return f"<redes array module of the current device: {current().xp.__name__}>"


_TRANSFERS = frozenset({"asarray", "array", "asanyarray", "ascontiguousarray"})


class _Late:
    """xp.<path> outside ops: resolved on the module of its arguments' device at call time."""
    __slots__ = ("path",)

    def __init__(self, path):
        self.path = path

    @property
    def __name__(self):
        return self.path[-1]

    def __getattr__(self, attr):            # xp.add.reduce, xp.linalg.norm
        return _Late(self.path + (attr,))

    def __call__(self, *args, **kwargs):
        b = _backend_in(args) or _backend_in(kwargs.values()) or default
        if b is CPU and self.path[0] in _TRANSFERS:
            b = default                     # xp.asarray(host values) makes an array of the default device
        f = b.xp
        for name in self.path:
            f = getattr(f, name)
        return f(*args, **kwargs)


def _backend_in(items, depth=0):
    """The device of the first non-CPU array among items (lists and tuples looked into), else CPU if an
    ndarray is there, else None."""
    cpu = None
    for a in items:
        b = _by_type.get(type(a))
        if b is None and depth < 2 and type(a) in (list, tuple):
            b = _backend_in(a, depth + 1)
        if b is not None:
            if b is not CPU:
                return b
            cpu = b
    return cpu


def backend_of(array):
    """The Backend whose array `array` is (None for Python scalars and unknown types; NumPy scalars: the CPU)."""
    b = _by_type.get(type(array))
    if b is None and isinstance(array, numpy.generic):
        return CPU
    return b


def xp_of(array):
    """The array module of `array`'s device (cupy.get_array_module's role); the current one for scalars."""
    if not multi:
        return numpy
    b = _by_type.get(type(array))
    return b.xp if b is not None else current().xp


def as_array(a):
    """An array as it is when it belongs to a device in use, else (a scalar, a list) one of the current device."""
    return a if type(a) in array_types else current().xp.asarray(a)


def move(a, device):
    """A copy of array `a` on another device (through the host: NumPy is every device's common ground)."""
    target = get(device)
    source = backend_of(a)
    if source is target:
        return a
    return target.from_host(source.to_host(a) if source is not None else numpy.asarray(a))


def get(device):
    """The Backend of a device ('cpu', 'cuda', 'cuda:0', 'twin', or an rd.device), made on first use."""
    kind = device if isinstance(device, str) else getattr(device, "type", None)
    if not isinstance(kind, str):
        raise TypeError(f"device: expected a string or an rd.device, got {device!r}")
    kind = kind.partition(":")[0]
    b = _backends.get(kind)
    if b is None:
        if kind == "cuda":
            b = _cupy_backend()
        elif kind == "twin":
            from . import twin
            b = Backend("twin", twin.xp, twin.TwinArray, twin.special, twin.Generator, twin.asnumpy, twin.from_host)
        else:
            raise RuntimeError(f"device {kind!r}: redes computes on 'cpu' (NumPy), 'cuda' (CuPy) or 'twin' "
                               "(the CPU test device), not on {kind!r}")
        register(b)
    return b


_cuda_probe = []         # [True/False] once asked: is there a GPU that CuPy reaches?


def cuda_available():
    """Whether device "cuda" can be used (CuPy installed and a GPU found); asking does not turn devices on."""
    if not _cuda_probe:
        try:
            _cupy_backend()
            _cuda_probe.append(True)
        except RuntimeError:
            _cuda_probe.append(False)
    return _cuda_probe[0]


def register(b):
    """Add a Backend (a device) and switch the engine to its device-checking mode."""
    global array_types, multi, xp
    _backends[b.type] = b
    _by_type[b.array_type] = b
    array_types = frozenset(_by_type)
    if not multi:
        multi, xp = True, _DeviceXP()
        for hook in _multi_hooks:
            hook(True)


def cpu_only():
    """Back to the CPU-only mode (the test suite calls it after the twin-device tests): forget the other devices."""
    global array_types, multi, xp, default, name
    if not multi:
        return
    for b in list(_backends.values()):
        if b is not CPU:
            del _backends[b.type], _by_type[b.array_type]
    array_types, multi, xp, default, name = frozenset(_by_type), False, numpy, CPU, "numpy"
    for hook in reversed(_multi_hooks):
        hook(False)


def _cupy_backend():
    try:
        import cupy
        import cupyx.scipy.special
    except ImportError as exc:
        raise RuntimeError("device 'cuda': redes computes on a GPU through CuPy, which is not installed here: "
                           "pip install 'redes[gpu]' (cupy-cuda12x) on a machine with an NVIDIA GPU") from exc
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:    # noqa: BLE001  (CuPy raises its own CUDARuntimeError without a driver)
        raise RuntimeError(f"device 'cuda': CuPy is installed but finds no GPU ({exc})") from exc
    return Backend("cuda", cupy, cupy.ndarray, lambda: cupyx.scipy.special, lambda seed: cupy.random.default_rng(seed),
                   cupy.asnumpy, cupy.asarray)


def set_default_device(device):
    """Where factories create tensors from now on (torch.set_default_device): 'cpu', 'cuda' or 'twin'."""
    global default, name
    default = get(device)
    name = {"cpu": "numpy", "cuda": "cupy"}.get(default.type, default.type)


def set_backend(backend_name: str) -> None:
    """The default device by array-library name: 'numpy' (cpu), 'cupy' (cuda) or 'twin' (kept from before devices)."""
    if backend_name not in ("numpy", "cupy", "twin"):
        raise ValueError(f"set_backend: unknown backend {backend_name!r}; expected 'numpy', 'cupy' or 'twin'")
    set_default_device({"numpy": "cpu", "cupy": "cuda"}.get(backend_name, backend_name))


def set_kernels(enabled: bool) -> bool:
    """Turn the compiled kernels on or off (tests run both paths); returns whether they were on before."""
    global kernels, _enabled
    was = _enabled
    _enabled = bool(enabled)
    kernels = _compiled if _enabled else None
    return was


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp only ever sees -|x| (shared by the ops and the engine)."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


_F32 = numpy.dtype(numpy.float32)         # native byte order: a '>f4' array compares unequal and stays on NumPy


def fused(*arrays):
    """The kernel module when every array is a C-contiguous float32 NumPy array (None entries allowed), else None."""
    if kernels is None:
        return None
    for a in arrays:
        if a is not None and (type(a) is not numpy.ndarray or a.dtype != _F32 or not a.flags.c_contiguous):
            return None
    return kernels


def fused_copy(a):
    """(kernels, a C-contiguous copy-or-view of a) for a float32 NumPy array, else (None, a)."""
    if kernels is None or type(a) is not numpy.ndarray or a.dtype != _F32:
        return None, a
    return kernels, numpy.ascontiguousarray(a)


def memory_order(a):
    """a's axes from outermost to innermost in memory when a is a permutation of C-contiguous memory (a conv's
    NHWC output under an NCHW shape), else None: a.transpose(order) is then C-contiguous."""
    order = sorted(range(a.ndim), key=lambda d: -a.strides[d])
    return order if a.transpose(order).flags.c_contiguous else None


_ONES = {}      # (array module, dtype) -> a read-only vector of ones, grown as needed


def ones(n, dtype):
    """n ones (read-only, a view of a cached vector): the operand that turns a column sum into a GEMV.

    xp.ones is a Python-level wrapper (~1-3 us a call), a cost that shows on small models' backward."""
    module = current().xp if multi else numpy
    if n > 1 << 20:
        return module.ones(n, dtype)            # not kept: a cache this large would stay for the whole run
    key = (module.__name__, numpy.dtype(dtype).char)
    vec = _ONES.get(key)
    if vec is None or vec.shape[0] < n:
        vec = module.ones(max(n, 1024), dtype)
        if isinstance(vec, numpy.ndarray):
            vec.flags.writeable = False
        _ONES[key] = vec
    return vec[:n]


def to_numpy(a):
    """A NumPy copy-or-view of any device's array (for printing, saving, comparing)."""
    if isinstance(a, (numpy.ndarray, numpy.generic)):
        return numpy.asarray(a)
    b = backend_of(a)
    if b is None:
        return numpy.asarray(a)
    return b.to_host(a)
