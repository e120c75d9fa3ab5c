"""Dropout as torch.nn.functional: dropout (elements), dropout1d / 2d / 3d (whole channels), and the
SELU-preserving alpha_dropout / feature_alpha_dropout.

Masks are drawn from redes' global generator (redes.manual_seed makes them reproducible), or from
`generator=` (a numpy Generator). Kept values are scaled by 1 / (1 - p), so the expectation is unchanged.
The result is x * mask (one Dropout op: the gradient is dy * mask). `inplace` is accepted and ignored.
"""
import math
import warnings

from ... import backend as B

from ...ops.dropout import DropoutOp as _Dropout
from ...tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


def _check(input, p, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")


def _masked(input, p, mask_shape, generator):
    """x * mask, mask = (u >= p) / (1 - p) drawn in mask_shape (broadcast over the rest): one op (ops/dropout.py)."""
    return _Dropout.apply(input, p=p, mask_shape=tuple(mask_shape), generator=generator)


def dropout(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero each element with probability p and scale the rest by 1 / (1 - p) (identity if not training).

    Example:
        >>> y = F.dropout(rd.ones(1000), 0.2)
        >>> sorted(set(y.tolist())) == [0.0, 1.25]
        True
    """
    _check(input, p, "dropout")
    if not training or p == 0.0:
        return input
    return _masked(input, p, input.shape, generator)


def _feature_dropout(input, p, training, generator, batched):
    if not training or p == 0.0:
        return input
    shape = input.shape[:2] if batched else input.shape[:1]
    return _masked(input, p, shape + (1,) * (input.ndim - len(shape)), generator)


def dropout1d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels: each (n, c) row of a (N, C, L) input (or c of (C, L)) with probability p."""
    _check(input, p, "dropout1d")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: expected 2-D or 3-D input (C, L) or (N, C, L), got shape {tuple(input.shape)}")
    return _feature_dropout(input, p, training, generator, input.ndim == 3)


def dropout2d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels (feature maps) of a (N, C, H, W) input with probability p (Tompson et al. 2015).

    As torch, a 3-D input is read as (N, C, L) (with a warning), not as unbatched (C, H, W).
    """
    _check(input, p, "dropout2d")
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d; dropout2d expects 3-D or 4-D "
                      "inputs (channel-wise dropout). Use dropout instead.", stacklevel=2)
    elif input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim "
                      "(as torch). Use dropout1d for that.", stacklevel=2)
    if input.ndim < 2:
        return dropout(input, p, training, generator=generator)
    return _feature_dropout(input, p, training, generator, True)


def dropout3d(input, p=0.5, training=True, inplace=False, *, generator=None):
    """Zero whole channels (volumes) of a (N, C, D, H, W) or (C, D, H, W) input with probability p."""
    _check(input, p, "dropout3d")
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will result "
                      "in an error in a future release. dropout3d expects 4-D (C, D, H, W) or 5-D (N, C, D, H, W) "
                      "inputs.", stacklevel=2)
    if input.ndim < 2:
        return dropout(input, p, training, generator=generator)
    return _feature_dropout(input, p, training, generator, input.ndim != 4)


# SELU's -scale * alpha (Klambauer et al. 2017): the value a dropped unit takes before the affine correction
_ALPHA = 1.7580993408473766


def _alpha_dropout(input, p, training, generator, feature, op):
    _check(input, p, op)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    from ...random import rng_for
    rng = rng_for(generator, input.array)
    shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2) if feature else tuple(input.shape)
    keep = B.xp.asarray((rng.random(shape) >= p).astype(input.dtype))
    # keep the mean and variance of a SELU activation: y = a * (x * keep + alpha' * (1 - keep)) + b
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    shift = (keep - 1) * (_ALPHA * a) + _ALPHA * a * p
    return input * (keep * a) + shift


def alpha_dropout(input, p=0.5, training=False, inplace=False, *, generator=None):
    """Dropout that keeps SELU's zero mean and unit variance: dropped units are set to SELU's negative
    saturation -1.7581, then everything is scaled by a and shifted by b (Klambauer et al. 2017).

    Note training=False by default, as torch.
    """
    return _alpha_dropout(input, p, training, generator, False, "alpha_dropout")


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False, *, generator=None):
    """alpha_dropout of whole channels: one draw per (n, c) of an (N, C, *) input."""
    if input.ndim < 2 if isinstance(input, Tensor) else False:
        raise RuntimeError(f"feature_alpha_dropout: expected an input (N, C, *), got shape {tuple(input.shape)}")
    return _alpha_dropout(input, p, training, generator, True, "feature_alpha_dropout")
