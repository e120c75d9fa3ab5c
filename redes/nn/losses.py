"""Loss modules, as torch.nn: MSELoss, CrossEntropyLoss, BCEWithLogitsLoss, ...

Each one stores its options and calls the matching function of redes.nn.functional (F), where the math
and the argument checks live. Class weights are buffers (saved in state_dict, converted by .to()), as torch.

Example:
    >>> loss_fn = rd.nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss_fn(rd.randn(8, 10), rd.randint(0, 10, (8,))).shape
    ()
"""
from . import _checks
from . import functional as F
from .module import Module

__all__ = ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "CrossEntropyLoss",
           "NLLLoss", "KLDivLoss", "CosineEmbeddingLoss", "MarginRankingLoss"]


class _Loss(Module):
    """Holds `reduction` ('mean' | 'sum' | 'none'); torch's legacy size_average / reduce map onto it."""
    def __init__(self, size_average=None, reduce=None, reduction="mean", allowed=F.loss._REDUCTIONS):
        super().__init__()
        self.reduction = F.loss._reduction(type(self).__name__, reduction, size_average, reduce, allowed)


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error, mean((input - target)^2). Shape: input (*), target (*) the same. See F.mse_loss."""
    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, mean(|input - target|). Shape: input (*), target (*) the same. See F.l1_loss."""
    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic for |input - target| < beta, linear beyond (beta = 0: L1). See F.smooth_l1_loss."""
    def __init__(self, size_average=None, reduce=None, reduction="mean", beta=1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = _checks.nonnegative("SmoothL1Loss", "beta", beta)

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic for |input - target| < delta, delta-sloped linear beyond. See F.huber_loss."""
    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction=reduction)
        self.delta = _checks.positive("HuberLoss", "delta", delta)

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] (logs clamped at -100). See F.binary_cross_entropy."""
    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, weight=self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable op, with optional `weight` and `pos_weight` (e.g. (C,)).

    See F.binary_cross_entropy_with_logits. Shape: input (*) logits, target (*) the same, in [0, 1].
    """
    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean", pos_weight=None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, weight=self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class CrossEntropyLoss(_WeightedLoss):
    """Softmax cross-entropy of logits, with class indices or class probabilities as targets.

    Args: weight (C,): per-class weights. ignore_index: target value that contributes nothing (class
          indices only). label_smoothing: mix the target with the uniform distribution. reduction.
    Shape: input (N, C) / (N, C, d1, ...) / (C,); target (N,) / (N, d1, ...) / () of indices, or probabilities
           of the input's shape. See F.cross_entropy.
    """
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(weight, size_average, reduce, reduction)
        _checks.probability("CrossEntropyLoss", "label_smoothing", label_smoothing)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (pair it with log_softmax). See F.nll_loss."""
    def __init__(self, weight=None, size_average=None, ignore_index=-100, reduce=None, reduction="mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class KLDivLoss(_Loss):
    """KL divergence with log-probability input; reduction='batchmean' gives the true KL per sample. See F.kl_div."""
    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__(size_average, reduce, reduction, F.loss._REDUCTIONS + ("batchmean",))
        self.log_target = log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_Loss):
    """1 - cos(x1, x2) for target 1, max(0, cos(x1, x2) - margin) for target -1. See F.cosine_embedding_loss."""
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """max(0, -target (x1 - x2) + margin). See F.margin_ranking_loss."""
    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, margin=self.margin, reduction=self.reduction)
