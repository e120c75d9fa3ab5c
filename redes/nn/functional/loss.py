"""Loss functions as in torch.nn.functional: F.mse_loss, F.cross_entropy, F.binary_cross_entropy, ...

Each takes `reduction='mean' | 'sum' | 'none'` (and torch's deprecated `size_average` / `reduce`).
cross_entropy (class indices), nll_loss, mse_loss and the two binary cross-entropies are one fused op
each (redes/ops/loss.py); the others are short compositions of Tensor ops, so their gradients come free.
Arguments are checked here, at the API boundary, so errors name the loss, the shapes and the dtypes.
"""
import warnings

import numpy as np

from ...ops import loss as _L
from ...tensor import Tensor

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div", "cosine_embedding_loss",
           "margin_ranking_loss"]

_REDUCTIONS = ("none", "mean", "sum")


# ----------------------------------------------------------------------------------- argument checks
def _reduction(name, reduction, size_average=None, reduce=None, allowed=_REDUCTIONS):
    """The reduction string; the legacy pair (size_average, reduce) maps to it as in torch."""
    if size_average is not None or reduce is not None:
        warnings.warn(f"{name}: size_average and reduce are deprecated, use reduction= instead", stacklevel=3)
        size_average = True if size_average is None else size_average
        reduce = True if reduce is None else reduce
        reduction = "mean" if size_average and reduce else "sum" if reduce else "none"
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction must be one of {', '.join(map(repr, allowed))}, got {reduction!r}")
    return reduction


def _tensor(name, arg, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {arg} must be a Tensor, got {type(x).__name__}")
    return x


def _float_input(name, x, arg="input"):
    _tensor(name, arg, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: {arg} must be floating point, got {x.dtype} (use .float())")
    return x


def _like_input(name, input, target):
    """target cast to input's dtype (integer targets of a regression loss become floats, as torch)."""
    _tensor(name, "target", target)
    return target if target.dtype == input.dtype else target.to(input.dtype)


def _broadcast_pair(name, input, target):
    """Check input/target for an elementwise loss; warn as torch when their shapes differ but broadcast."""
    _float_input(name, input)
    _tensor(name, "target", target)
    if target.dtype != input.dtype:
        if target.dtype.kind == "f" and target.dtype.itemsize > input.dtype.itemsize:
            input = input.to(target.dtype)                 # float32 input, float64 target -> float64 (as torch)
        else:
            target = target.to(input.dtype)
    if input.shape != target.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"{name}: target shape {tuple(target.shape)} does not match input shape "
                             f"{tuple(input.shape)} and cannot be broadcast to it") from None
        warnings.warn(f"{name}: using a target size ({tuple(target.shape)}) that is different to the input size "
                      f"({tuple(input.shape)}). This will likely lead to incorrect results due to broadcasting. "
                      "Please ensure they have the same size.", stacklevel=3)
    return input, target


def _same_shape(name, input, target):
    if input.shape != target.shape:
        raise ValueError(f"{name}: target shape {tuple(target.shape)} must be the same as input shape "
                         f"{tuple(input.shape)}")


def _weight_array(name, weight, input, arg="weight"):
    """weight (a Tensor, never differentiated, as in torch) as an array of input's dtype broadcastable to input."""
    _tensor(name, arg, weight)
    try:
        ok = np.broadcast_shapes(tuple(weight.shape), tuple(input.shape)) == tuple(input.shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name}: {arg} has shape {tuple(weight.shape)}, which does not broadcast to the input "
                         f"shape {tuple(input.shape)}")
    return weight.array.astype(input.dtype, copy=False)


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _weighted(name, loss, weight, input, reduction, normalise=True):
    """torch's weighted regression losses: loss * weight, and 'mean' = sum / sum(weight) (or a plain mean)."""
    _tensor(name, "weight", weight)
    if weight.shape != input.shape:
        raise ValueError(f"{name}: weight has shape {tuple(weight.shape)} but must have the input's shape "
                         f"{tuple(input.shape)}")
    loss = loss * weight
    if reduction == "mean" and normalise:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------------- regression losses
def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: loss = mean((input - target)^2) (or sum, or elementwise with reduction='none').

    One fused op: the mean is a single dot product of the difference with itself.
    With `weight` (input's shape): loss = sum(weight * err) / sum(weight) for 'mean', as torch.
    Shape: input (*), target broadcastable to input (torch warns when the shapes differ; so does redes).

    Example:
        >>> F.mse_loss(rd.tensor([1.0, 2.0]), rd.tensor([1.0, 4.0])).item()
        2.0
    """
    reduction = _reduction("mse_loss", reduction, size_average, reduce)
    input, target = _broadcast_pair("mse_loss", input, target)
    if weight is not None:
        return _weighted("mse_loss", (input - target).square(), weight, input, reduction)
    return _L.MSELossOp.apply(input, target, reduction=reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error: loss = mean(|input - target|). Gradient sign(input - target) (0 at a tie).

    With `weight` (input's shape): 'mean' = sum(weight * err) / sum(weight), as torch.
    """
    reduction = _reduction("l1_loss", reduction, size_average, reduce)
    input, target = _broadcast_pair("l1_loss", input, target)
    err = (input - target).abs()
    return _weighted("l1_loss", err, weight, input, reduction) if weight is not None else _reduce(err, reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1: with d = |input - target|, loss = 0.5 d^2 / beta if d < beta else d - 0.5 beta.

    beta = 0 is the L1 loss. Gradient: (input - target) / beta inside the band, sign(input - target) outside.
    """
    reduction = _reduction("smooth_l1_loss", reduction, size_average, reduce)
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    input, target = _broadcast_pair("smooth_l1_loss", input, target)
    d = (input - target).abs()
    if beta == 0:
        return _reduce(d, reduction)
    return _reduce(_band(d, beta, d * d * (0.5 / beta), d - 0.5 * beta), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber: with d = |input - target|, loss = 0.5 d^2 if d < delta else delta (d - 0.5 delta).

    Equals delta * smooth_l1_loss(beta=delta). With `weight` (input's shape): loss * weight, and 'mean'
    is the plain mean of that (as torch).
    """
    reduction = _reduction("huber_loss", reduction)
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _broadcast_pair("huber_loss", input, target)
    d = (input - target).abs()
    loss = _band(d, delta, d * d * 0.5, (d - 0.5 * delta) * delta)
    if weight is not None:
        return _weighted("huber_loss", loss, weight, input, reduction, normalise=False)
    return _reduce(loss, reduction)


def _band(d, width, inside, outside):
    from ...functions import where
    return where(d < width, inside, outside)


# ----------------------------------------------------------------------------------- binary classification
def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None, reduction="mean"):
    """Binary cross-entropy of probabilities: loss = -weight (t log(x) + (1 - t) log(1 - x)).

    Each log is clamped at -100, as torch, so x = 0 or 1 gives a finite loss. Prefer
    binary_cross_entropy_with_logits, which takes logits and never overflows.
    Shape: input (*) in [0, 1], target the same shape; weight broadcastable to input.
    """
    name = "binary_cross_entropy"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    target = _like_input(name, input, target)
    _same_shape(name, input, target)
    x = input.array
    if x.size:
        lo, hi = float(x.min()), float(x.max())
        if lo < 0 or hi > 1:
            raise RuntimeError(f"{name}: all elements of input should be between 0 and 1, got min {lo:g}, max {hi:g} "
                               "(for logits, use binary_cross_entropy_with_logits)")
    w = None if weight is None else _weight_array(name, weight, input)
    return _L.BinaryCrossEntropy.apply(input, target, weight=w, reduction=reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None, reduce=None, reduction="mean",
                                     pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable op: loss = w ((1 - t) x + l softplus(-x)), l = 1 + (p - 1) t.

    `pos_weight` p (broadcast over the last dims, e.g. shape (C,)) weighs positive examples; `weight`
    weighs each element. Finite loss and gradients for any logit (softplus computed as max(-x, 0) +
    log1p(exp(-|x|))). Shape: input (*), target the same shape.
    """
    name = "binary_cross_entropy_with_logits"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    target = _like_input(name, input, target)
    _same_shape(name, input, target)
    w = None if weight is None else _weight_array(name, weight, input)
    pw = None if pos_weight is None else _weight_array(name, pos_weight, input, arg="pos_weight")
    return _L.BinaryCrossEntropyWithLogits.apply(input, target, weight=w, pos_weight=pw, reduction=reduction)


# ----------------------------------------------------------------------------------- multi-class classification
def _class_layout(name, input, target):
    """(input as (M, C), target as (M,), output shape for 'none') for losses over class indices.

    input (N, C) or (N, C, d1, d2, ...) with target (N,) or (N, d1, d2, ...); or unbatched (C,) with target ().
    """
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have at least 1 dim (C,) or (N, C, ...), got a 0-d tensor")
    if input.ndim == 1:
        expected, c = (), input.shape[0]
    else:
        expected, c = (input.shape[0],) + tuple(input.shape[2:]), input.shape[1]
    if tuple(target.shape) != expected:
        raise ValueError(f"{name}: target has shape {tuple(target.shape)} but expected {expected} for input "
                         f"{tuple(input.shape)} with class indices")
    if input.ndim == 1:
        return input.reshape(1, c), target.array.reshape(1), expected
    if input.ndim > 2:                                    # classes last, then one row per (sample, position)
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, c)
    return input, target.array.reshape(-1), expected


def _class_weight(name, weight, input):
    if weight is None:
        return None
    _tensor(name, "weight", weight)
    c = input.shape[1] if input.ndim > 1 else input.shape[0]
    if tuple(weight.shape) != (c,):
        raise ValueError(f"{name}: weight has shape {tuple(weight.shape)}, expected ({c},): one weight per class")
    return weight.array.astype(input.dtype, copy=False)


def _check_index_target(name, target):
    _tensor(name, "target", target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got {target.dtype} (use target.long())")


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
    """Negative log-likelihood: loss_i = -weight[t_i] * input[i, t_i], for log-probabilities `input`.

    'mean' divides by the sum of weight[t_i] over targets that are not ignore_index (torch's weighted mean).
    Shape: input (N, C) or (N, C, d1, ...) or (C,); target (N,) or (N, d1, ...) or () of class indices.
    """
    name = "nll_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _check_index_target(name, target)
    w = _class_weight(name, weight, input)
    x, t, shape = _class_layout(name, input, target)
    out = _L.NLLLossOp.apply(x, t, weight=w, ignore_index=int(ignore_index), reduction=reduction)
    return out.reshape(shape) if reduction == "none" else out


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits: loss_i = -weight[t_i] * log_softmax(input_i)[t_i]  (class-index targets).

    Class indices: one fused op (log-softmax, pick, reduce; backward = softmax - one_hot, scaled), finite
    for any logits. 'mean' divides by the sum of weight[t_i] over targets that are not ignore_index.
    Probability targets (a float target of the input's shape): loss_i = -sum_c weight_c t_ic log p_ic,
    and 'mean' divides by the number of samples. label_smoothing ls mixes the target with the uniform
    distribution: (1 - ls) * target + ls / C.
    Shape: input (N, C), (N, C, d1, d2, ...) or unbatched (C,); target (N,) / (N, d1, ...) / () of class
    indices, or probabilities of the input's shape.

    Example:
        >>> logits = rd.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]])
        >>> round(F.cross_entropy(logits, rd.tensor([0, 2])).item(), 4)
        0.1755
    """
    if (weight is None and reduction == "mean" and size_average is None and reduce is None and ignore_index == -100
            and label_smoothing == 0.0 and isinstance(input, Tensor) and isinstance(target, Tensor)):
        x, t = input.array, target.array        # the common case, (N, C) logits and (N,) indices, checked in one test
        if x.ndim == 2 and x.dtype.kind == "f" and t.dtype.kind in "iu" and t.shape == x.shape[:1]:
            return _L.CrossEntropy.apply(input, t)      # the op's defaults are these options
    name = "cross_entropy"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _tensor(name, "target", target)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be between 0.0 and 1.0, got {label_smoothing}")
    w = _class_weight(name, weight, input)
    if target.dtype.kind == "f":
        if target.shape != input.shape:
            raise ValueError(f"{name}: target has dtype {target.dtype} and shape {tuple(target.shape)}: class-index "
                             f"targets must be integers (use target.long()) and probability targets must have the "
                             f"input's shape {tuple(input.shape)}")
        return _cross_entropy_probs(input, _like_input(name, input, target), w, reduction, label_smoothing)
    _check_index_target(name, target)
    x, t, shape = _class_layout(name, input, target)
    out = _L.CrossEntropy.apply(x, t, weight=w, ignore_index=int(ignore_index), label_smoothing=float(label_smoothing),
                                reduction=reduction)
    return out.reshape(shape) if reduction == "none" else out


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing):
    """torch's cross_entropy with class-probability targets (a composition: gradients for input and target)."""
    dim = 1 if input.ndim > 1 else 0
    c = input.shape[dim]
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    prod = input.log_softmax(dim) * target
    if weight is not None:
        prod = prod * Tensor._wrap(weight.reshape((c,) + (1,) * (input.ndim - dim - 1)))
    loss = -prod.sum(dim)
    if reduction == "mean":
        return loss.sum() / (input.numel() // c) if input.numel() else loss.sum() * float("nan")
    return _reduce(loss, reduction)


# ----------------------------------------------------------------------------------- distributions and ranking
def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence, input given as log-probabilities: loss = target (log target - input).

    log_target=True: target is log-probabilities too, loss = exp(target) (target - input).
    reduction='batchmean' divides the sum by the batch size (the true KL per sample); 'mean' divides by
    every element (torch warns about it; so does redes). Terms with target = 0 are 0.
    """
    name = "kl_div"
    if size_average is None and reduce is None and reduction == "mean":
        warnings.warn("kl_div: reduction='mean' divides the total loss by both the batch size and the support "
                      "size; 'batchmean' divides only by the batch size, and aligns with the KL div math "
                      "definition", stacklevel=2)
    reduction = _reduction(name, reduction, size_average, reduce, _REDUCTIONS + ("batchmean",))
    input, target = _broadcast_pair(name, input, target)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        from ...functions import where
        zero = target.array == 0
        safe = where(Tensor._wrap(zero), 1.0, target)      # log(1) = 0 where target = 0, and no nan gradient
        loss = where(Tensor._wrap(zero), 0.0, target * safe.log()) - target * input
    if reduction == "batchmean":
        return loss.sum() / input.shape[0] if input.ndim else loss.sum()
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """loss = 1 - cos(x1, x2) where target = 1, max(0, cos(x1, x2) - margin) where target = -1.

    cos = x1.x2 / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)) (torch's epsilon). Shape: inputs (N, D) with
    target (N,), or (D,) with target ().
    """
    name = "cosine_embedding_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input1, "input1")
    _float_input(name, input2, "input2")
    _tensor(name, "target", target)
    if input1.shape != input2.shape or input1.ndim not in (1, 2):
        raise ValueError(f"{name}: input1 and input2 must have the same shape (N, D) or (D,), got "
                         f"{tuple(input1.shape)} and {tuple(input2.shape)}")
    if tuple(target.shape) != tuple(input1.shape[:-1]):
        raise ValueError(f"{name}: target has shape {tuple(target.shape)}, expected {tuple(input1.shape[:-1])} for "
                         f"inputs of shape {tuple(input1.shape)}")
    from ...functions import where
    dim = input1.ndim - 1
    eps = 1e-12
    cos = (input1 * input2).sum(dim) / (((input1 * input1).sum(dim) + eps) * ((input2 * input2).sum(dim) + eps)).sqrt()
    t = target.array
    pos = where(Tensor._wrap(t == 1), 1.0 - cos, 0.0)
    neg = where(Tensor._wrap(t == -1), (cos - margin).clamp_min(0.0), 0.0)
    loss = pos + neg
    return _reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None, reduction="mean"):
    """loss = max(0, -target (input1 - input2) + margin): input1 should rank higher where target = 1.

    Shape: input1, input2, target all (N,) (or all ()).
    """
    name = "margin_ranking_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input1, "input1")
    _float_input(name, input2, "input2")
    target = _like_input(name, input1, target)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ValueError(f"{name}: input1, input2 and target must have the same number of dims, got shapes "
                         f"{tuple(input1.shape)}, {tuple(input2.shape)} and {tuple(target.shape)}")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0.0), reduction)
