"""Likelihood losses as torch.nn.functional: poisson_nll_loss, gaussian_nll_loss, ctc_loss and
linear_cross_entropy.

Compositions of Tensor ops (so the gradients come from those ops). ctc_loss runs the CTC forward
(alpha) recursion in log space over time, vectorised over the batch and the extended label sequence.
"""
import math

import numpy as np

from ... import backend as B
from ...functions import cat, stack, where
from ...tensor import Tensor
from .linear import linear
from .loss import _float_input, _reduce, _reduction, _tensor, cross_entropy

__all__ = ["poisson_nll_loss", "gaussian_nll_loss", "ctc_loss", "linear_cross_entropy"]


def _mask(a):
    return Tensor._wrap(B.xp.asarray(a))


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                     reduction="mean"):
    """Negative log-likelihood of a Poisson target: exp(x) - y x (log_input) or x - y log(x + eps).

    full=True adds Stirling's approximation of log(y!): y log y - y + log(2 pi y) / 2, for y > 1.
    Example:
        >>> round(F.poisson_nll_loss(rd.tensor([0.0, 1.0]), rd.tensor([1.0, 2.0])).item(), 4)
        0.8591
    """
    name = "poisson_nll_loss"
    reduction = _reduction(name, reduction, size_average, reduce)
    _float_input(name, input)
    _tensor(name, "target", target)
    y = target.to(input.dtype)
    loss = input.exp() - y * input if log_input else input - y * (input + eps).log()
    if full:
        big = _mask(y.array > 1)
        ys = where(big, y, _mask(B.xp.ones((), y.dtype)))          # y where the term applies (differentiable)
        stirling = ys * ys.log() - ys + (ys * (2 * math.pi)).log() * 0.5
        loss = loss + where(big, stirling, _mask(B.xp.zeros((), y.dtype)))
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of a Gaussian target: (log(max(var, eps)) + (input - target)^2 / max(var, eps)) / 2.

    var has the input's shape, or lacks its last dim, or has 1 there (one variance per sample), or is a
    float (homoscedastic). As torch, the clamp at eps does not stop var's gradient. full adds log(2 pi) / 2.
    """
    name = "gaussian_nll_loss"
    reduction = _reduction(name, reduction)
    _float_input(name, input)
    _tensor(name, "target", target)
    if not isinstance(var, Tensor):
        var = Tensor._wrap(B.xp.full(tuple(input.shape), float(var), input.dtype))
    if tuple(var.shape) != tuple(input.shape):
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (tuple(input.shape[:-1]) == tuple(var.shape[:-1]) and var.shape[-1] == 1):
            raise ValueError(f"{name}: var of shape {tuple(var.shape)} is of incorrect size for input "
                             f"{tuple(input.shape)}")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{name}: {reduction} is not a valid value for reduction")
    if B.xp.any(var.array < 0):
        raise ValueError(f"{name}: var has negative entry/entries")
    # clamp the value only: the gradient still reaches var where it was clamped (torch clamps under no_grad)
    var = var + _mask(B.xp.maximum(var.array, eps) - var.array)
    loss = 0.5 * (var.log() + (input - target.to(input.dtype)) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


_NEG = -1e30    # log(0) stand-in: finite, so logsumexp and its gradient stay finite on impossible paths


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean", zero_infinity=False):
    """Connectionist temporal classification (Graves et al. 2006): -log of the total probability of all
    alignments of each target sequence to its input.

    log_probs (T, N, C) (or (T, C)) are log-softmax outputs; targets (N, S) padded or 1-D concatenated;
    input_lengths, target_lengths (N,). 'mean' divides each loss by its target length, then averages over
    the batch (as torch). Impossible alignments give inf (or 0 with zero_infinity=True).
    Example:
        >>> lp = rd.randn(6, 1, 4).log_softmax(2)
        >>> F.ctc_loss(lp, rd.tensor([[1, 2]]), rd.tensor([6]), rd.tensor([2])).shape
        ()
    """
    name = "ctc_loss"
    reduction = _reduction(name, reduction)
    _float_input(name, log_probs, "log_probs")
    unbatched = log_probs.ndim == 2
    lp = log_probs.unsqueeze(1) if unbatched else log_probs
    if lp.ndim != 3:
        raise RuntimeError(f"{name}: log_probs must be (T, N, C) or (T, C), got {tuple(log_probs.shape)}")
    t_max, n, c = lp.shape
    in_len = B.xp.asarray(input_lengths.array if isinstance(input_lengths, Tensor) else input_lengths).reshape(-1)
    tg_len = B.xp.asarray(target_lengths.array if isinstance(target_lengths, Tensor) else target_lengths).reshape(-1)
    tg = B.xp.asarray(targets.array if isinstance(targets, Tensor) else targets)
    if unbatched and tg.ndim == 1 and tg_len.size == 1:
        tg = tg[None, :]
    if in_len.shape != (n,) or tg_len.shape != (n,):
        raise RuntimeError(f"{name}: input_lengths and target_lengths must have {n} values, got "
                           f"{in_len.shape} and {tg_len.shape}")
    if (in_len > t_max).any() or (in_len < 0).any():
        raise RuntimeError(f"{name}: input_lengths must be in [0, {t_max}], got {in_len.tolist()}")
    if not 0 <= blank < c:
        raise RuntimeError(f"{name}: blank must be in label range [0, {c}), got {blank}")
    if tg.ndim == 2:
        seqs = [tg[i, :tg_len[i]] for i in range(n)]
    else:
        ends = B.xp.cumsum(tg_len)
        seqs = [tg[e - k:e] for e, k in zip(ends, tg_len)]
    s_max = 2 * int(tg_len.max(initial=0)) + 1
    ext = B.xp.full((n, s_max), blank, np.int64)              # blank, l1, blank, l2, ..., blank
    skip = B.xp.zeros((n, s_max), bool)                       # may come from s - 2 (a label differing from s - 2's)
    valid = B.xp.zeros((n, s_max), bool)
    for i, seq in enumerate(seqs):
        ext[i, 1:2 * len(seq):2] = seq
        valid[i, :2 * len(seq) + 1] = True
        for s in range(3, 2 * len(seq), 2):
            skip[i, s] = ext[i, s] != ext[i, s - 2]
    dtype = lp.dtype
    neg = _mask(B.xp.full((), _NEG, dtype))
    emit = lp.gather(2, B.xp.asarray(B.xp.broadcast_to(ext, (t_max, n, s_max))))        # (T, N, S')
    pad = _mask(B.xp.full((n, 1), _NEG, dtype))
    start = B.xp.zeros((n, s_max), bool)
    start[:, :2] = True
    alpha = where(_mask(start & valid), emit[0], neg)
    for t in range(1, t_max):
        a1 = alpha
        a2 = cat([pad, alpha[:, :-1]], 1) if s_max > 1 else pad.expand(n, s_max)
        a2 = where(_mask(valid), a2, neg)
        a3 = where(_mask(skip), cat([pad, pad, alpha[:, :-2]], 1), neg) if s_max > 2 else \
            neg.expand(n, s_max)
        new = stack([a1, a2, a3], 0).logsumexp(0) + emit[t]
        alpha = where(_mask((t < in_len)[:, None] & valid), new, where(_mask(valid), alpha, neg))
    last = 2 * tg_len                                           # the final blank and the final label
    ends = stack([alpha.gather(1, B.xp.asarray(last[:, None])),
                  alpha.gather(1, B.xp.asarray(B.xp.maximum(last - 1, 0)[:, None]))], 1).reshape(n, 2)
    ends = where(_mask(B.xp.stack([B.xp.ones(n, bool), tg_len > 0], 1)), ends, neg)
    loss = -ends.logsumexp(1)
    impossible = loss.array > -_NEG / 2
    if impossible.any():
        loss = where(_mask(impossible), loss * 0 + (0.0 if zero_infinity else math.inf), loss)
    if (in_len == 0).any():
        loss = where(_mask(in_len == 0), loss * 0 + _mask(B.xp.where(tg_len == 0, 0.0, 0.0 if zero_infinity else
                                                                    math.inf).astype(dtype)), loss)
    if reduction == "mean":
        return (loss / _mask(B.xp.maximum(tg_len, 1).astype(dtype))).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None, reduction="mean",
                         ignore_index=None, label_smoothing=0.0, options=None):
    """cross_entropy(linear(input, linear_weight, linear_bias), target, ...) in one call.

    linear_weight (C, in) or (C, d1, ..., dK, in) for a K-dimensional loss (logits (N, C, d1, ..., dK));
    ignore_index None means -100, as torch. options (torch's chunking hints) are accepted and unused.
    """
    name = "linear_cross_entropy"
    _tensor(name, "linear_weight", linear_weight)
    if linear_weight.ndim < 2:
        raise RuntimeError(f"{name}: linear_weight must be (C, in) or (C, d1, ..., in), got "
                           f"{tuple(linear_weight.shape)}")
    out_shape = tuple(linear_weight.shape[:-1])
    w2 = linear_weight.reshape(-1, linear_weight.shape[-1])
    b = None if linear_bias is None else linear_bias.reshape(-1)
    logits = linear(input, w2, b)
    if len(out_shape) > 1:
        logits = logits.reshape(*input.shape[:-1], *out_shape)
    return cross_entropy(logits, target, weight, ignore_index=-100 if ignore_index is None else ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)
