"""AdaptiveLogSoftmaxWithLoss (Grave et al. 2016, "Efficient softmax approximation for GPUs"), as torch.nn.

Frequent classes (below cutoffs[0]) sit in the head with one extra logit per cluster of rarer classes; each
cluster has a small two-layer projection. log p(class) = log p_head(class or its cluster) + log p_cluster(class).
"""
from collections import namedtuple

import numpy as np

from .. import backend as B
from ..functions import cat
from ..tensor import Tensor
from .linear import Linear
from .module import Module, ModuleList, Sequential

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: forward(input (N, in_features), target (N,)) -> (output, loss), output[i] = log p(target_i).

    Args: in_features; n_classes; cutoffs (increasing ints in (0, n_classes)); div_value (cluster i's projection
          has in_features // div_value^(i+1) units); head_bias.
    Example:
        >>> asm = rd.nn.AdaptiveLogSoftmaxWithLoss(16, 10, [4, 8])
        >>> asm(rd.randn(3, 16), rd.tensor([0, 5, 9])).output.shape
        (3,)
    """
    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("AdaptiveLogSoftmaxWithLoss: cutoffs should be a sequence of unique, positive integers "
                             f"sorted in an increasing order, where each value is between 1 and n_classes-1, got "
                             f"{cutoffs} with n_classes={n_classes}")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, dtype=dtype),
                                        Linear(hsz, osz, bias=False, dtype=dtype)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def forward(self, input, target):
        name = type(self).__name__
        unbatched = input.ndim == 1
        if unbatched:
            if target.ndim != 0:
                raise RuntimeError(f"{name}: 1-D input needs a 0-D target, got target {tuple(target.shape)}")
            input, target = input.unsqueeze(0), target.unsqueeze(0)
        elif input.ndim != 2 or target.ndim != 1 or input.shape[0] != target.shape[0]:
            raise RuntimeError(f"{name}: expected input (N, in_features) and target (N,), got input "
                               f"{tuple(input.shape)} and target {tuple(target.shape)}")
        t = B.xp.asarray(target.array).astype(np.int64)
        if t.size and (t.min() < 0 or t.max() >= self.n_classes):
            raise RuntimeError(f"{name}: target values should be in [0, {self.n_classes - 1}], but values in range "
                               f"[{t.min()}, {t.max()}] were found")
        n = t.shape[0]
        head_index = t.copy()                   # the head's class: the target itself, or its cluster's logit
        output = None
        for i in range(self.n_clusters):
            lo, hi = self.cutoffs[i], self.cutoffs[i + 1]
            rows = B.xp.nonzero((t >= lo) & (t < hi))[0]
            if rows.size == 0:
                continue
            head_index[rows] = self.shortlist_size + i
            logprob = self.tail[i](input[B.xp.asarray(rows)]).log_softmax(1)
            local = logprob.gather(1, B.xp.asarray((t[rows] - lo)[:, None])).reshape(-1)
            part = Tensor._wrap(B.xp.zeros(n, input.dtype)).scatter_add(0, B.xp.asarray(rows), local)
            output = part if output is None else output + part
        head = self.head(input).log_softmax(1).gather(1, B.xp.asarray(head_index[:, None])).reshape(-1)
        output = head if output is None else head + output
        loss = (-output).mean()
        return _ASMoutput(output.squeeze(0) if unbatched else output, loss)

    def _full_log_prob(self, input, head_output):
        head_logprob = head_output.log_softmax(1)
        parts = [head_logprob[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = self.tail[i](input).log_softmax(1)
            parts.append(cluster + head_logprob[:, self.shortlist_size + i].unsqueeze(1))
        return cat(parts, 1)

    def log_prob(self, input):
        """log p(c) for every class: (N, in_features) -> (N, n_classes)."""
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most probable class of each row: (N, in_features) -> (N,) (the argmax of log_prob)."""
        return self.log_prob(input).argmax(1)
