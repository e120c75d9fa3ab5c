"""The array-module seam: every op does its array math through `backend.xp`.

NumPy is the backend today. A CuPy backend only has to provide the same names (`xp`, `erf`), so the
ops never import a device-specific module themselves. Ops read `backend.xp` at call time (not
`from backend import xp`), so `set_backend` takes effect everywhere at once.
"""
import numpy

xp = numpy
name = "numpy"


def _numpy_erf():
    from scipy.special import erf     # NumPy has no erf; SciPy's is exact to float64 rounding
    return erf


erf = _numpy_erf()


def set_backend(backend_name: str) -> None:
    """Switch the array module: 'numpy' (CPU) or 'cupy' (CUDA GPU, needs the cupy package)."""
    global xp, erf, name
    if backend_name == "numpy":
        xp, erf = numpy, _numpy_erf()
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
