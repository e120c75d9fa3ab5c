"""rd.cuda: torch.cuda's questions answered honestly on a machine where redes computes with NumPy.

    device = "cuda" if rd.cuda.is_available() else "cpu"      # the common idiom picks "cpu"

redes reaches a GPU only through the CuPy backend (rd.backend.set_backend("cupy")); is_available()
says whether that backend is the active one. The seeding functions exist so that programs which seed
"every generator" run unchanged: as in torch, they seed only CUDA generators and leave the CPU one as it was.
"""
import types

from . import backend as B


def is_available():
    """True only when the CuPy backend is active (never on the NumPy backend)."""
    return B.name == "cupy"


def device_count():
    """Number of GPUs redes computes on: 0 on NumPy, 1 with CuPy."""
    return 1 if is_available() else 0


def current_device():
    if not is_available():
        raise RuntimeError("cuda.current_device: no CUDA here (redes runs on NumPy); "
                           "torch says 'Torch not compiled with CUDA enabled'")
    return 0


def is_initialized():
    return is_available()


def manual_seed(seed):
    """Seed the CUDA generator: a no-op without CUDA, as in torch (the CPU generator is untouched)."""
    int(seed)


def manual_seed_all(seed):
    """Seed every CUDA generator: a no-op without CUDA, as in torch (the CPU generator is untouched)."""
    int(seed)


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
