"""rd.cuda: torch.cuda's questions, answered honestly.

    device = "cuda" if rd.cuda.is_available() else "cpu"      # the common idiom

redes reaches a GPU through CuPy (the gpu extra): is_available() says whether CuPy is installed and finds a
GPU. The seeding functions exist so that programs which seed "every generator" run unchanged: as in torch,
they leave the CPU generator as it was (rd.manual_seed already restarts every device's stream).
"""
import types

from . import backend as B


def is_available():
    """True when CuPy is installed and finds a GPU (asking does not move anything there)."""
    return B.cuda_available()


def device_count():
    """Number of GPUs redes computes on: CuPy's current device only (0 without one)."""
    return 1 if is_available() else 0


def current_device():
    if not is_available():
        raise RuntimeError("cuda.current_device: no CUDA here (CuPy or a GPU is missing); "
                           "torch says 'Torch not compiled with CUDA enabled'")
    return 0


def is_initialized():
    return is_available()


def manual_seed(seed):
    """Seed the CUDA generator: a no-op without CUDA, as in torch (the CPU generator is untouched)."""
    from .random import seed_device
    seed_device("cuda", seed)


def manual_seed_all(seed):
    """Seed every CUDA generator: a no-op without CUDA, as in torch (the CPU generator is untouched)."""
    manual_seed(seed)


def synchronize(device=None):
    """Wait for the GPU: nothing to wait for on the CPU."""


def empty_cache():
    """Free cached GPU memory: nothing cached on the CPU."""


def is_bf16_supported(including_emulation=True):
    return False


def _grad_scaler(init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000, enabled=True):
    """torch.cuda.amp.GradScaler: rd.amp.GradScaler("cuda", ...), which disables itself without CUDA."""
    from .amp import GradScaler
    return GradScaler("cuda", init_scale, growth_factor, backoff_factor, growth_interval, enabled)


def _autocast(enabled=True, dtype=None, cache_enabled=True):
    """torch.cuda.amp.autocast: rd.amp.autocast("cuda", ...)."""
    from .amp import autocast
    return autocast("cuda", dtype, enabled, cache_enabled)


amp = types.SimpleNamespace(GradScaler=_grad_scaler, autocast=_autocast)   # torch.cuda.amp's two names
