"""rd.accelerator: torch.accelerator's questions; on the NumPy backend there is no accelerator.

    device = rd.accelerator.current_accelerator() or rd.device("cpu")
"""
from . import backend as B
from .devices import device as _device


def is_available():
    """True only when the CuPy backend is active."""
    return B.name == "cupy"


def current_accelerator(check_available=False):
    """rd.device('cuda') with the CuPy backend, else None (as torch on a CPU-only machine)."""
    return _device("cuda") if is_available() else None


def device_count():
    return 1 if is_available() else 0
