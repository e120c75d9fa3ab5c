"""Margin and embedding losses as torch.nn.functional: soft_margin_loss, multilabel_soft_margin_loss,
multilabel_margin_loss, multi_margin_loss, hinge_embedding_loss, triplet_margin_loss and
triplet_margin_with_distance_loss.

Each is a composition of Tensor ops (so the gradients come from those ops); the arguments are checked
here with torch's rules, and `reduction` is 'mean' | 'sum' | 'none' (legacy size_average / reduce map onto it).
"""
from ... import backend as B
from ...functions import where
from ...tensor import Tensor
from .distance import pairwise_distance
from .loss import _float_input, _reduce, _reduction, _tensor

__all__ = ["soft_margin_loss", "multilabel_soft_margin_loss", "multilabel_margin_loss", "multi_margin_loss",
           "hinge_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss"]


def _const(a, dtype):
    return B.xp.asarray(B.xp.asarray(a, dtype))


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Two-class logistic loss: log(1 + exp(-y x)), y in {-1, 1}.

    Example:
        >>> round(F.soft_margin_loss(rd.tensor([2.0, -1.0]), rd.tensor([1.0, -1.0])).item(), 4)
        0.2201
    """
    name = "soft_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _tensor(name, "target", target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{name}: target shape {tuple(target.shape)} must be the input shape {tuple(input.shape)}")
    z = -(input * target.to(input.dtype))
    return _reduce(z.softplus(1.0, float("inf")), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Multi-label one-versus-all logistic loss: -mean_c [y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)].

    Shape: input (N, C) or (C,), target of the same shape (0/1), weight (C,) per class; 'none' gives (N,).
    """
    name = "multilabel_soft_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _tensor(name, "target", target)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"{name}: target shape {tuple(target.shape)} must be the input shape {tuple(input.shape)}")
    y = target.to(input.dtype)
    loss = -(y * -(-input).softplus(1.0, float("inf")) + (1 - y) * -input.softplus(1.0, float("inf")))
    if weight is not None:
        loss = loss * weight.to(input.dtype)
    loss = loss.sum(-1) / input.shape[-1]
    return _reduce(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss: sum over target classes j and non-target classes i of max(0, 1 - (x_j - x_i)) / C.

    target holds class indices, ended by the first -1 (as torch): [3, 0, -1, 1] means classes {3, 0}.
    Shape: input (C,) or (N, C); target the same shape (int64); 'none' gives () or (N,).
    """
    name = "multilabel_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _tensor(name, "target", target)
    if input.ndim > 2 or tuple(target.shape) != tuple(input.shape) or target.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected input (C,) or (N, C) and an integer target of the same shape, got "
                           f"input {tuple(input.shape)} and target {tuple(target.shape)} {target.dtype}")
    x = input if input.ndim == 2 else input.unsqueeze(0)
    t = B.xp.asarray(target.array).reshape(x.shape)
    n, c = x.shape
    counts = B.xp.zeros((n, c))                   # counts[n, j]: how often j is listed before the first -1
    for row in range(n):
        for j in t[row]:
            if j < 0:
                break
            if j >= c:
                raise RuntimeError(f"{name}: target index {j} is out of range for {c} classes")
            counts[row, j] += 1
    pairs = counts[:, :, None] * (counts[:, None, :] == 0)           # (N, j, i): j a target, i not
    margins = (1 - x.unsqueeze(2) + x.unsqueeze(1)).relu()            # 1 - (x_j - x_i)
    loss = (margins * _const(pairs, x.dtype)).sum((1, 2)) / c
    if input.ndim == 1:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                      reduction="mean"):
    """Multi-class hinge loss: sum over i != y of w_y max(0, margin - x_y + x_i)^p / C (p = 1 or 2).

    Shape: input (N, C) or (C,); target (N,) or () class indices; weight (C,).
    """
    name = "multi_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _tensor(name, "target", target)
    if p not in (1, 2):
        raise ValueError(f"{name}: only p == 1 and p == 2 supported, got p={p}")
    x = input if input.ndim == 2 else input.reshape(1, -1)
    t = B.xp.asarray(target.array).reshape(-1)
    n, c = x.shape
    if input.ndim > 2 or t.shape != (n,) or target.dtype.kind not in "iu":
        raise RuntimeError(f"{name}: expected input (N, C) or (C,) and integer target (N,) or (), got input "
                           f"{tuple(input.shape)} and target {tuple(target.shape)} {target.dtype}")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise RuntimeError(f"{name}: target values must be in [0, {c}), got {t.min()}..{t.max()}")
    xy = x.gather(1, B.xp.asarray(t.reshape(n, 1)))                                   # (N, 1)
    h = (x - xy + margin).relu()
    if p == 2:
        h = h * h
    if weight is not None:
        if tuple(weight.shape) != (c,):
            raise ValueError(f"{name}: weight must have shape ({c},), got {tuple(weight.shape)}")
        h = h * _const(weight.array[t].reshape(n, 1), x.dtype)
    not_target = _const(B.xp.arange(c)[None, :] != t[:, None], x.dtype)
    loss = (h * not_target).sum(1) / c
    if input.ndim < 2:
        loss = loss.squeeze(0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None, reduction="mean"):
    """loss = x where y == 1, max(0, margin - x) where y == -1 (x is usually a distance).

    As torch: terms for y != 1 use the margin part and terms for y != -1 the x part (other y values add both).
    """
    name = "hinge_embedding_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _tensor(name, "target", target)
    y = B.xp.broadcast_to(B.xp.asarray(target.array), tuple(input.shape))
    zero = _const(0.0, input.dtype)
    loss = where(Tensor._wrap(B.xp.asarray(y != 1)), (margin - input).clamp_min(0), zero) + \
        where(Tensor._wrap(B.xp.asarray(y != -1)), input, zero)
    return _reduce(loss, reduction)


def _triplet_checks(name, anchor, positive, negative):
    for arg, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _float_input(name, t, arg)
    if not anchor.ndim == positive.ndim == negative.ndim or anchor.ndim not in (1, 2):
        raise RuntimeError(f"{name}: anchor, positive and negative must all be 1-D (D,) or 2-D (N, D), got "
                           f"{tuple(anchor.shape)}, {tuple(positive.shape)} and {tuple(negative.shape)}")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, size_average=None,
                        reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)), d = pairwise_distance with norm p (Schroff et al. 2015, FaceNet).

    swap=True uses min(d(a, n), d(p, n)) as the negative distance (Balntas et al. 2016).
    Shape: (N, D) each (or (D,)) -> (N,) with 'none', else a scalar.
    """
    name = "triplet_margin_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _triplet_checks(name, anchor, positive, negative)
    if margin <= 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None, margin=1.0,
                                      swap=False, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) for any distance_function (default pairwise_distance)."""
    name = "triplet_margin_with_distance_loss"
    reduction = _reduction(name, reduction)
    _triplet_checks(name, anchor, positive, negative)
    if margin <= 0:
        raise ValueError(f"{name}: margin must be greater than 0, got {margin}")
    dist = distance_function if distance_function is not None else pairwise_distance
    d_pos, d_neg = dist(anchor, positive), dist(anchor, negative)
    if swap:
        d_neg = d_neg.minimum(dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)
