"""Random sampling with torch's signatures: multinomial, bernoulli, normal, poisson, binomial, randint_like.

Every draw comes from the global generator (seeded by rd.manual_seed) unless a `generator` (a
np.random.Generator) is passed. Results are constants: sampling has no gradient, as in torch.
"""
import numpy as np

from . import backend as B
from . import dtypes as _dt
from .random import default_rng, rng_for
from .tensor import Tensor, _arr, _shape_arg


def _rng(generator):
    return generator if generator is not None else default_rng()


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from each row of `input` (non-negative weights, not necessarily summing to 1).

    Without replacement every draw removes its category, so num_samples may not exceed the number of
    categories with a non-zero weight. Returns int64 of shape (num_samples,) or (rows, num_samples).

    Example:
        >>> rd.multinomial(rd.tensor([0.0, 1.0, 0.0]), 2, replacement=True)      # only category 1 has weight
        tensor([1, 1])
    """
    p = B.to_numpy(_arr(input)).astype(np.float64)
    if p.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {p.ndim}")
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: num_samples must be positive, got {num_samples}")
    rows = p.reshape(-1, p.shape[-1])
    if (rows < 0).any() or not np.isfinite(rows).all():
        raise RuntimeError("multinomial: probability tensor contains either inf, nan or element < 0")
    if (rows.sum(1) == 0).any():
        raise RuntimeError("multinomial: invalid distribution: a row sums to 0")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError(f"multinomial: cannot sample num_samples={num_samples} > {rows.shape[1]} categories "
                           "without replacement")
    g = _rng(generator)
    if replacement:
        out = np.stack([g.choice(rows.shape[1], num_samples, p=r / r.sum()) for r in rows])
    else:
        # NOTE: exponential race (Efraimidis-Spirakis): the smallest E_i / p_i win, in order; this is weighted
        # sampling without replacement. Zero weights give inf and come last, in random order, as torch's do.
        with np.errstate(divide="ignore"):
            keys = g.exponential(size=rows.shape) / rows
        out = np.lexsort((g.random(rows.shape), keys), axis=-1)[:, :num_samples]
    return Tensor._wrap(B.xp_of(_arr(input)).asarray(out.reshape(p.shape[:-1] + (num_samples,)), dtype=np.int64))


def bernoulli(input, p=None, *, generator=None):
    """1 with probability input (or p), else 0, in input's dtype."""
    prob = _arr(input) if p is None else p
    if ((B.xp.asarray(prob) < 0) | (B.xp.asarray(prob) > 1)).any():
        raise RuntimeError("bernoulli: probabilities must be in [0, 1]")
    xp = B.xp_of(_arr(input))
    draws = xp.asarray(rng_for(generator, _arr(input)).random(tuple(input.shape))) < prob
    return Tensor._wrap(draws.astype(input.dtype))


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, requires_grad=False):
    """Normal draws: tensor means and/or stds (broadcast), or floats with a size."""
    m, s = _arr(mean), _arr(std)
    if size is None:
        shape = B.xp.broadcast_shapes(B.xp.shape(m), B.xp.shape(s))
        if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
            raise TypeError("normal: give a size when mean and std are numbers")
    else:
        shape = _shape_arg((size,))
    if (B.xp.asarray(s) < 0).any():
        raise RuntimeError(f"normal: std must be >= 0, got {std!r:.60}")
    like = mean if isinstance(mean, Tensor) else std if isinstance(std, Tensor) else None
    dt = _dt.as_dtype(dtype) or (like.dtype if like is not None else _dt.get_default_dtype())
    xp = B.xp_of(like.array) if like is not None else B.xp
    out = Tensor._wrap(xp.asarray(_rng(generator).normal(B.to_numpy(B.xp.asarray(m)), B.to_numpy(B.xp.asarray(s)),
                                                              shape)).astype(dt))
    return out.requires_grad_() if requires_grad else out


def poisson(input, generator=None):
    draws = _rng(generator).poisson(B.to_numpy(input.array))
    return Tensor._wrap(B.xp_of(input.array).asarray(draws).astype(input.dtype))


def binomial(count, prob, generator=None):
    n = B.to_numpy(count.array).astype(np.int64)
    draws = _rng(generator).binomial(n, B.to_numpy(_arr(prob)))
    return Tensor._wrap(B.xp_of(count.array).asarray(draws).astype(count.dtype))


def randint_like(input, low=0, high=None, *, dtype=None, generator=None, requires_grad=False):
    if high is None:
        low, high = 0, low
    draws = _rng(generator).integers(low, high, tuple(input.shape))
    return Tensor._wrap(B.xp_of(input.array).asarray(draws).astype(_dt.as_dtype(dtype) or input.dtype))


import sys  # noqa: E402
from .tensor import register_compositions  # noqa: E402
register_compositions(sampling=sys.modules[__name__])   # Tensor's composite methods call this module
