"""Where the data layer gets its randomness: a seed, a given generator, or redes' global one."""

from __future__ import annotations

import numpy as np

from ..random import default_rng


def global_rng():
    """redes' global generator, the one `redes.manual_seed` seeds, so it also fixes the shuffling of loaders
    built without a seed.

    Returns:
        A `numpy.random.Generator`.
    """
    return default_rng()


def resolve_rng(seed=None, generator=None, caller="redes.data"):
    """Pick the generator for a shuffle or split.

    Args:
        seed: an int (or anything `numpy.random.default_rng` takes) for a
            fresh, reproducible generator; `None` for none.
        generator: an object with `permutation(n)`, e.g. a
            `numpy.random.Generator`; `None` for none.
        caller: the function name used in error messages.

    Returns:
        `generator` if given, a new `numpy.random.default_rng(seed)` if
        `seed` is given, else `None`: the caller then draws from
        `global_rng` at each use, so seeding redes later still counts.

    Raises:
        ValueError: if both `seed` and `generator` are given.
        TypeError: if `generator` has no `permutation` method.

    Example:
        >>> resolve_rng(seed=0).permutation(3).tolist()
        [2, 0, 1]
    """
    if seed is not None and generator is not None:
        raise ValueError(f"{caller}: pass seed or generator, not both "
                         f"(got seed={seed!r}, generator={generator!r})")
    if generator is not None:
        if not callable(getattr(generator, "permutation", None)):
            raise TypeError(f"{caller}: generator must have a permutation(n) method, e.g. "
                            f"numpy.random.default_rng(0); got {type(generator).__name__}")
        return generator
    if seed is not None:
        return np.random.default_rng(seed)
    return None
