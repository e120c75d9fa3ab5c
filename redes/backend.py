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


def set_backend(backend_name: str) -> None:
    """Switch the array module: 'numpy' (CPU) or 'cupy' (CUDA GPU, needs the cupy package)."""
    global xp, erf, name
    if backend_name == "numpy":
        xp, erf = numpy, _numpy_erf
    elif backend_name == "cupy":
        try:
            import cupy
            from cupyx.scipy.special import erf as cupy_erf
        except ImportError as exc:
            raise ImportError("set_backend('cupy') needs CuPy: pip install 'redes[gpu]'") from exc
        xp, erf = cupy, cupy_erf
    else:
        raise ValueError(f"set_backend: unknown backend {backend_name!r}; expected 'numpy' or 'cupy'")
    name = backend_name


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
