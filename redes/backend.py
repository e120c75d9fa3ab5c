"""The array-module seam: every op does its array math through `backend.xp`.

NumPy is the backend today. A CuPy backend only has to provide the same names (`xp`, `erf`), so the
ops never import a device-specific module themselves. Ops read `backend.xp` at call time (not
`from backend import xp`), so `set_backend` takes effect everywhere at once.
"""
import os
import sys

import numpy

xp = numpy
name = "numpy"


def _numpy_erf(a):
    """erf on NumPy arrays. NumPy has no erf; SciPy's is exact to float64 rounding. Imported on first use:
    SciPy's import costs a CLI call ~0.2 s."""
    from scipy.special import erf as scipy_erf
    return scipy_erf(a)


erf = _numpy_erf


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow: exp only ever sees -|x| (shared by the ops and the engine)."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _load_kernels():
    """The compiled float32 kernels (redes/_kernels.c), or None where the install could not build them (no C
    compiler). Every op that uses one keeps its NumPy code as the fallback."""
    try:
        from . import _kernels
    except ImportError:
        return None
    return _kernels


_compiled = _load_kernels()
_enabled = os.environ.get("REDES_KERNELS", "1") != "0"           # REDES_KERNELS=0: NumPy code only
kernels = _compiled if _enabled else None       # what ops use: None on the CuPy backend or when turned off


def set_kernels(enabled: bool) -> bool:
    """Turn the compiled kernels on or off (tests run both paths); returns whether they were on before."""
    global kernels, _enabled
    was = _enabled
    _enabled = bool(enabled)
    kernels = _compiled if _enabled and name == "numpy" else None
    return was


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


def set_backend(backend_name: str) -> None:
    """Switch the array module: 'numpy' (CPU) or 'cupy' (CUDA GPU, needs the cupy package)."""
    global xp, erf, name, kernels
    if backend_name == "numpy":
        xp, erf = numpy, _numpy_erf
        kernels = _compiled if _enabled else None
    elif backend_name == "cupy":
        try:
            import cupy
            from cupyx.scipy.special import erf as cupy_erf
        except ImportError as exc:
            raise ImportError("set_backend('cupy') needs CuPy: pip install 'redes[gpu]'") from exc
        xp, erf = cupy, cupy_erf
        kernels = None
    else:
        raise ValueError(f"set_backend: unknown backend {backend_name!r}; expected 'numpy' or 'cupy'")
    name = backend_name


def _numpy_blas():
    """axpy, scal and axpby from NumPy's own OpenBLAS (the library its matmul runs on), or None.

    NumPy has no function for these level-1 BLAS calls. SciPy's would do, but SciPy bundles a second
    OpenBLAS whose thread pool fights NumPy's: mlp_large's GEMMs ran 2x slower after one SciPy axpy. So the
    symbols are taken from the OpenBLAS in NumPy's wheel (numpy.libs); with any other BLAS (a system or MKL
    build, another platform) this returns None and the callers use NumPy expressions.
    """
    if os.environ.get("REDES_NUMPY_BLAS", "1") == "0":
        return None
    import ctypes
    import glob
    folder = os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "lib*openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_cblas_", "64_"), ("cblas_", "64_"), ("cblas_", "")):
            try:
                found = {(op, char): getattr(lib, f"{prefix}{c}{op}{suffix}")         # keyed by NumPy's dtype.char
                         for op in ("axpy", "scal") for char, c in (("f", "s"), ("d", "d"))}
            except AttributeError:
                continue
            for char, c in (("f", "s"), ("d", "d")):                 # y = a x + b y: an OpenBLAS extension
                if hasattr(lib, f"{prefix}{c}axpby{suffix}"):
                    found["axpby", char] = getattr(lib, f"{prefix}{c}axpby{suffix}")
            n = ctypes.c_int64 if suffix else ctypes.c_int
            args = {"axpy": lambda r, p: [n, r, p, n, p, n], "scal": lambda r, p: [n, r, p, n],
                    "axpby": lambda r, p: [n, r, p, n, r, p, n]}
            for (op, char), f in found.items():
                f.restype = None
                f.argtypes = args[op](ctypes.c_float if char == "f" else ctypes.c_double, ctypes.c_void_p)
            return found
    return None


_blas = None            # NumPy's BLAS level-1 functions, looked up on first use (False: there are none)
# OpenBLAS runs axpy/scal on one thread up to 2^20 values; there, with its other thread spinning on the second
# core, a whole SGD momentum update (scal + two axpy) was 2.5x slower than NumPy's expressions here (and 3-4x
# faster above, on both threads). One piece is the exception: y += a x with a != 1, which NumPy runs as a
# temporary a x and an add. From 2^16 values BLAS's one pass was 1.3-3.8x faster, cache-warm or right after a
# GEMM (2^15: 18% slower after a GEMM); through SGD's parameter update, mlp_small's step got 7-10% faster (A/B).
BLAS_MIN_SIZE = (1 << 20) + 1
AXPY_MIN_SIZE = 1 << 16


def _blas_for(y, x=None, min_size=BLAS_MIN_SIZE):
    """The BLAS functions to use on y (and x), or None: large C-contiguous NumPy float32/float64 arrays only."""
    global _blas
    if (xp is not numpy or type(y) is not numpy.ndarray or y.size < min_size or y.dtype.char not in "fd"
            or not y.flags.c_contiguous):
        return None
    if x is not None and (type(x) is not numpy.ndarray or x.dtype != y.dtype or x.shape != y.shape
                          or not x.flags.c_contiguous):
        return None
    if _blas is None:
        _blas = _numpy_blas() or False
    return _blas or None


def axpy(alpha, x, y):
    """y += alpha * x, in place (x and y of one shape and dtype).

    Large contiguous float arrays go to BLAS axpy: one pass over memory on NumPy's BLAS threads, where the
    NumPy expression makes alpha * x first (a temporary as large as y, and a second pass). Measured on the
    6.3M-parameter SGD momentum step of mlp_large: 6.4 ms in NumPy, 2.2 ms with axpy and scal.
    """
    if alpha == 1 and y.size < BLAS_MIN_SIZE:
        y += x                                  # one NumPy pass, no temporary
        return
    blas = _blas_for(y, x, AXPY_MIN_SIZE)
    if blas is not None:
        blas["axpy", y.dtype.char](y.size, alpha, x.ctypes.data, 1, y.ctypes.data, 1)
    elif alpha == 1:
        y += x
    else:
        y += alpha * x


def axpby(alpha, x, beta, y):
    """y = alpha * x + beta * y, in place: one BLAS pass (OpenBLAS's axpby) where axpy is used, else scal + axpy."""
    blas = _blas_for(y, x, AXPY_MIN_SIZE)
    if blas is not None and ("axpby", y.dtype.char) in blas:
        blas["axpby", y.dtype.char](y.size, alpha, x.ctypes.data, 1, beta, y.ctypes.data, 1)
    else:
        scal(beta, y)
        axpy(alpha, x, y)


def scal(alpha, y):
    """y *= alpha, in place (BLAS scal for large contiguous float arrays, as axpy)."""
    blas = _blas_for(y)
    if blas is not None:
        blas["scal", y.dtype.char](y.size, alpha, y.ctypes.data, 1)
    else:
        y *= alpha


_ONES = {}      # (backend, dtype) -> a read-only vector of ones, grown as needed


def ones(n, dtype):
    """n ones (read-only, a view of a cached vector): the operand that turns a column sum into a GEMV.

    xp.ones is a Python-level wrapper (~1-3 us a call), a cost that shows on small models' backward."""
    if n > 1 << 20:
        return xp.ones(n, dtype)                # not kept: a cache this large would stay for the whole run
    key = (name, numpy.dtype(dtype).char)
    vec = _ONES.get(key)
    if vec is None or vec.shape[0] < n:
        vec = xp.ones(max(n, 1024), dtype)
        if isinstance(vec, numpy.ndarray):
            vec.flags.writeable = False
        _ONES[key] = vec
    return vec[:n]


def to_numpy(a):
    """A NumPy copy-or-view of a backend array (for printing, saving, comparing)."""
    if isinstance(a, numpy.ndarray):
        return a
    return numpy.asarray(a) if isinstance(a, numpy.generic) else xp.asnumpy(a)


def _tune_malloc():
    """Keep freed memory in the process instead of handing it back to the OS after every step.

    NumPy frees each step's temporaries and allocates them again the next step. With glibc's defaults,
    mid-size arrays come from fresh mmap'd pages each time: ~5,000 minor page faults per CNN training
    step, a third of its time. Raising BOTH the mmap and the trim thresholds removes them (setting only
    one switches off glibc's self-adjustment and was measured to slow large GEMM models by 30%).
    Set REDES_MALLOC_TUNING=0 to leave malloc alone.
    """
    if os.environ.get("REDES_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3        # from glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20) and libc.mallopt(m_trim_threshold, 256 * 2**20))
    except (OSError, AttributeError):                      # not glibc (musl, ...): nothing to tune
        return False


malloc_tuned = _tune_malloc()
