"""Dropout as torch.nn.functional: dropout (elements), dropout1d / dropout2d (whole channels).

Masks are drawn from redes' global generator (redes.manual_seed makes them reproducible), or from
`generator=` (a numpy Generator). Kept values are scaled by 1 / (1 - p), so the expectation is unchanged.
The result is x * mask (one Dropout op: the gradient is dy * mask). `inplace` is accepted and ignored.
"""
import warnings

from ...ops.dropout import DropoutOp as _Dropout
from ...tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d"]


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
