"""rd.accelerator: torch.accelerator's questions; the accelerator is a CUDA GPU reached through CuPy.

    device = rd.accelerator.current_accelerator() or rd.device("cpu")
"""
from . import backend as B
from .devices import device as _device


def is_available():
    """True when device "cuda" works here (CuPy and a GPU)."""
    return B.cuda_available()


def current_accelerator(check_available=False):
    """rd.device('cuda') where a GPU is reachable, else None (as torch on a CPU-only machine)."""
    return _device("cuda") if is_available() else None


def device_count():
    return 1 if is_available() else 0
