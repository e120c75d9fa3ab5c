"""Distances and normalisation as torch.nn.functional: cosine_similarity, pairwise_distance, pdist, normalize.

All are compositions of Tensor ops (norms, sums, divisions), so their gradients come from those ops.
"""
import numpy as np

from ... import backend as B
from ...tensor import Tensor

__all__ = ["cosine_similarity", "pairwise_distance", "pdist", "normalize"]


def _check(op, **tensors):
    for name, t in tensors.items():
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(t).__name__}")


def _broadcast(op, x1, x2):
    try:
        shape = np.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise RuntimeError(f"{op}: x1 of shape {tuple(x1.shape)} and x2 of shape {tuple(x2.shape)} do not "
                           "broadcast") from None
    return x1.expand(*shape), x2.expand(*shape)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 * x2, dim) / (max(||x1||, eps) * max(||x2||, eps)), x1 and x2 broadcast together.

    Example:
        >>> F.cosine_similarity(rd.tensor([[1.0, 0.0]]), rd.tensor([[1.0, 1.0]])).item()  # doctest: +ELLIPSIS
        0.7071...
    """
    _check("cosine_similarity", x1=x1, x2=x2)
    x1, x2 = _broadcast("cosine_similarity", x1, x2)
    # each vector is divided by its own clamped norm first (as torch), which keeps the product in range
    n1 = x1.norm(2, dim, keepdim=True).clamp_min(eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp_min(eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dim (eps keeps the gradient finite when x1 == x2).

    Shape: (N, D) and (N, D) (or broadcastable, or (D,)) -> (N,)
    """
    _check("pairwise_distance", x1=x1, x2=x2)
    if p < 0:
        raise ValueError(f"pairwise_distance: p must be non-negative, got {p}")
    x1, x2 = _broadcast("pairwise_distance", x1, x2)
    if x1.ndim == 0:
        raise RuntimeError("pairwise_distance: inputs must have at least 1 dim")
    return (x1 - x2 + eps).norm(p, -1, keepdim)


def pdist(input, p=2):
    """The p-norm distance between every pair of rows i < j of a (N, M) input, in row-major order.

    Shape: (N, M) -> (N (N - 1) / 2,)
    Example:
        >>> F.pdist(rd.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]], dtype=rd.float64)).tolist()
        [5.0, 1.0, 4.24264068711928...]
    """
    _check("pdist", input=input)
    if input.ndim != 2:
        raise RuntimeError(f"pdist: expected a 2-D input (N, M), got shape {tuple(input.shape)}")
    if p < 0:
        raise RuntimeError(f"pdist: only supports non-negative p values, got {p}")
    i, j = B.xp.triu_indices(input.shape[0], 1)
    return (input[B.xp.asarray(i)] - input[B.xp.asarray(j)]).norm(p, 1)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along dim (each vector scaled to unit p-norm).

    Example:
        >>> F.normalize(rd.tensor([[3.0, 4.0]], dtype=rd.float64)).tolist()
        [[0.6, 0.8]]
    """
    _check("normalize", input=input)
    if out is not None:
        raise ValueError("normalize: out= is not supported; use the returned tensor")
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
