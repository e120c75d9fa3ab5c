"""The global random stream: every random draw in redes (init, dropout, shuffling) comes from here.

`manual_seed(n)` makes a whole run reproducible, as torch.manual_seed does.
"""
import numpy as np

from . import backend as B

_initial = [np.random.SeedSequence().entropy & (2 ** 64 - 1)]     # a fresh 64-bit seed per process, as torch
_rng = [np.random.default_rng(_initial[0])]


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed the global generator; returns it."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: expected a non-negative integer, got {seed!r}")
    _initial[0] = int(seed)
    _rng[0] = np.random.default_rng(int(seed))
    _device_rngs.clear()                    # every device's stream restarts from the seed too, as torch
    return _rng[0]


seed = manual_seed


def initial_seed() -> int:
    """The seed of the global generator: the last manual_seed(n), or the one drawn at start-up."""
    return _initial[0]


def default_rng() -> np.random.Generator:
    """The generator redes draws from (reseeded by manual_seed)."""
    return _rng[0]


_device_rngs = {}       # device type -> the generator drawing that device's arrays (made from the seed on first use)


def device_rng(backend):
    """The generator that draws arrays of `backend`'s device: the global one for the CPU, else the device's own
    stream, seeded by manual_seed (so a seeded run draws the same numbers on the twin device as on the CPU)."""
    if backend.type == "cpu":
        return _rng[0]
    rng = _device_rngs.get(backend.type)
    if rng is None:
        rng = _device_rngs[backend.type] = backend.new_rng(_initial[0])
    return rng


def seed_device(kind, seed):
    """Restart one device's stream (rd.cuda.manual_seed): the CPU's and the others' are untouched."""
    if kind in B._backends:
        _device_rngs[kind] = B._backends[kind].new_rng(int(seed))


def rng_for(generator=None, like=None):
    """The generator a random draw uses: the user's (it draws on the host), else the global stream of the device
    of `like` (an array), or of the running op when like is None."""
    if generator is not None:
        return generator
    if not B.multi:
        return _rng[0]
    return device_rng((B.backend_of(like) if like is not None else None) or B.current())


def get_rng_state() -> dict:
    """The generator's state as a JSON-serialisable dict (for checkpoints)."""
    return _rng[0].bit_generator.state


_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def set_rng_state(state: dict) -> None:
    """Restore a state from get_rng_state (e.g. a checkpoint's): only NumPy's bit generators are looked up."""
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise ValueError(f"set_rng_state: unknown bit generator {name!r}; expected one of {list(_BIT_GENERATORS)}")
    bg = getattr(np.random, name)()
    bg.state = state
    _rng[0] = np.random.Generator(bg)
