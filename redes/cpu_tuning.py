"""CPU tuning, separate from the array seam: glibc's malloc settings, the compiled kernels' thread pool as the
threading backend of NumPy's own OpenBLAS, and level-1 BLAS from that OpenBLAS.

Nothing in the engine needs this module: redes/__init__.py calls `enable()` at import (set
REDES_CPU_TUNING=0 to leave the process as it was; REDES_MALLOC_TUNING=0 or REDES_THREAD_POOL=0 for one
part), and the
optimizers call `axpy`/`axpby`/`scal`, which take BLAS for large contiguous NumPy arrays and run the plain
array expression on any other array (another device's too).
"""
import os
import sys

import numpy

from .backend import bundled_openblas as _bundled_openblas


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
    for lib in _bundled_openblas():
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
    if (type(y) is not numpy.ndarray or y.size < min_size or y.dtype.char not in "fd"
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


def set_blas_threads(n):
    """Threads of NumPy's bundled OpenBLAS (its GEMMs) and of redes' kernels: returns the previous count, or None
    with another BLAS."""
    lib = _openblas()
    if lib is None:
        return None
    was = lib.openblas_get_num_threads()
    lib.openblas_set_num_threads(int(n))
    if pool_installed:
        from .backend import _compiled
        _compiled.set_threads(max(1, int(n)))
    return was


def _install_pool():
    """Make the kernels' thread pool (redes/_kernels.c) the threading backend of NumPy's OpenBLAS.

    OpenBLAS keeps its own worker spinning on the second core for ~0.1 s after each GEMM, so a kernel's
    second thread right after a GEMM gained nothing (mlp_large's SGD update: 5.3 ms on one thread, 8.9 on
    two). With one pool for both, the same worker runs the GEMM's half and then the kernel's (2.7 ms). The
    kernels use as many threads as OpenBLAS (OPENBLAS_NUM_THREADS, or set_blas_threads). After its last task a
    worker spins 0.1 s, as OpenBLAS's own (REDES_POOL_SPIN_US sets it). Needs OpenBLAS 0.3.27+
    (openblas_set_threads_callback_function) and the compiled kernels; REDES_THREAD_POOL=0 leaves OpenBLAS's
    threads as they are.
    """
    if os.environ.get("REDES_THREAD_POOL", "1") == "0":
        return False
    from .backend import _compiled
    if _compiled is None or _compiled.blas_callback() is None:
        return False
    import ctypes
    for lib in _bundled_openblas():
        for name in ("scipy_openblas_set_threads_callback_function64_", "openblas_set_threads_callback_function"):
            setter = getattr(lib, name, None)
            if setter is None:
                continue
            threads = _openblas()
            spin = int(os.environ.get("REDES_POOL_SPIN_US", "-1"))         # a worker's spin before it sleeps
            _compiled.set_threads(max(1, int(threads.openblas_get_num_threads())) if threads else 1, spin)
            setter.restype = None
            setter.argtypes = [ctypes.c_void_p]
            setter(_compiled.blas_callback())
            return True
    return False


def _openblas():
    for lib in _bundled_openblas():
        for prefix in ("scipy_", ""):
            get, put = (getattr(lib, f"{prefix}openblas_{w}_num_threads64_", None) or
                        getattr(lib, f"{prefix}openblas_{w}_num_threads", None) for w in ("get", "set"))
            if get is not None and put is not None:
                return type("OpenBLAS", (), {"openblas_get_num_threads": staticmethod(get),
                                             "openblas_set_num_threads": staticmethod(put)})
    return None


malloc_tuned = False
pool_installed = False


def enable():
    """Apply the process-wide CPU settings (malloc, the thread pool shared with OpenBLAS); called once by
    redes/__init__.py unless REDES_CPU_TUNING=0."""
    global malloc_tuned, pool_installed
    if os.environ.get("REDES_CPU_TUNING", "1") != "0":
        malloc_tuned = _tune_malloc()
        pool_installed = _install_pool()
    return malloc_tuned
