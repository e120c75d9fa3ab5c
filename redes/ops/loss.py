"""Fused losses: one op per loss, for speed and numerical stability (PyTorch fuses the same ones).

Each forward computes the (reduced) loss in a handful of array calls and keeps what backward needs.
Inputs arrive checked and shaped by redes.nn.functional.loss: class-index losses get a 2-D input
(M, C) and a 1-D integer target (M,); the elementwise ones get same-shape (or broadcastable) arrays.
`reduction` is 'none' | 'mean' | 'sum', as in torch.
"""
import numpy as np

from .. import backend as B
from ..autograd import ArrayMath, Function, unbroadcast

_EPS_BCE = 1e-12        # torch's EPSILON in binary_cross_entropy_backward: keeps x(1-x) away from 0
_INT64 = np.dtype(np.int64)
_ARANGE = {}            # n -> arange(n): row indices for picking each row's target class, reused across calls


def _arange(n):
    """arange(n), cached (a classifier sees the same batch size at every step)."""
    xp = B.xp
    a = _ARANGE.get(n)
    if a is None or type(a) is not xp.ndarray:      # the backend may have switched since it was cached
        if len(_ARANGE) > 32:
            _ARANGE.clear()
        a = _ARANGE[n] = xp.arange(n)
    return a


def _reduce(loss, reduction):
    """Sum or mean of an elementwise loss (mean of nothing is nan, as torch)."""
    if reduction == "none":
        return loss
    total = B.xp.add.reduce(loss, axis=None)
    if reduction == "sum":
        return total
    return total / loss.size if loss.size else total * float("nan")


def _scale(dy, reduction, n):
    """The factor each element's gradient gets from the reduction: dy, dy / n, or dy itself elementwise."""
    return dy / n if reduction == "mean" else dy


class MSELossOp(Function):
    """loss = mean | sum | none of (x - t)^2.  Backward: dx = 2 (x - t) dy (/ n for mean), dt = -dx.

    The mean and sum reduce with one dot product of the difference with itself.
    """

    def forward(self, x, t, reduction="mean"):
        self.reduction = reduction
        d = x - t
        self.d, self.n = d, d.size
        if reduction == "none":
            return d * d
        flat = d.reshape(-1)
        total = B.xp.dot(flat, flat)
        if reduction == "sum":
            return total
        return total / d.size if d.size else total * float("nan")

    def backward(self, m, dy, y, x, t):
        d = self.d if m is ArrayMath else x - t          # under create_graph: recompute as a recorded op
        g = d * (_scale(dy, self.reduction, self.n) * 2.0)
        return (unbroadcast(m, g, x.shape) if self.needs[0] else None,
                unbroadcast(m, -g, t.shape) if self.needs[1] else None)


def _check_targets(name, target, num_classes, ignore_index):
    """(valid mask or None when every target counts, target safe to index with) for class-index losses."""
    xp = B.xp
    if target.size == 0:
        return None, target
    lo, hi = int(target.min()), int(target.max())
    if lo >= 0 and hi < num_classes and not lo <= ignore_index <= hi:
        return None, target                                       # the common case: two reductions
    valid = target != ignore_index
    kept = target[valid]
    if kept.size:
        lo, hi = int(kept.min()), int(kept.max())
        if lo < 0 or hi >= num_classes:
            bad = hi if hi >= num_classes else lo
            raise IndexError(f"{name}: target value {bad} is out of range for {num_classes} classes "
                             f"(expected 0..{num_classes - 1}, or ignore_index={ignore_index})")
    if kept.size == target.size:
        return None, target
    return valid, xp.where(valid, target, 0)


def _sample_weights(weight, target, valid, dtype):
    """w[t_i] (1 without class weights), 0 for ignored targets; None when all are 1."""
    if weight is None:
        return None if valid is None else valid.astype(dtype)
    wt = weight[target]
    return wt if valid is None else wt * valid


def _total(loss, wt, reduction, count):
    """Reduce per-sample losses; 'mean' divides by the sum of the weights of the counted targets (as torch)."""
    if reduction == "none":
        return loss, None
    total = B.xp.add.reduce(loss, axis=None)
    if reduction == "sum":
        return total, None
    denom = B.xp.add.reduce(wt, axis=None) if wt is not None else count
    if denom == 0:
        with np.errstate(invalid="ignore", divide="ignore"):   # all targets ignored: 0/0 = nan, as torch
            return total / denom, denom
    return total / denom, denom                                # (errstate costs ~3 us: only when needed)


class CrossEntropy(Function):
    """Cross-entropy from logits and class indices: log-softmax, pick, weight, smooth and reduce in one op.

    loss_i = (1 - ls) * w[t_i] * -log p_i[t_i] + (ls / C) * sum_c w_c * -log p_ic  (ls = label_smoothing),
    p_i = softmax(x_i); ignored targets contribute 0. 'mean' divides by sum_i w[t_i] over counted targets.
    Backward: dx_ic = g_i * ((1 - ls) w[t_i] (p_ic - [c = t_i]) + (ls / C) (W p_ic - w_c)), W = sum_c w_c,
    where g_i is dy (sum), dy / sum_i w[t_i] (mean) or dy_i (none): softmax minus one-hot, scaled.
    """
    differentiable_backward = False

    def forward(self, x, target, weight=None, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        xp = B.xp
        n, c = x.shape
        self.p = None
        if (weight is None and not label_smoothing and reduction != "none" and n and not 0 <= ignore_index < c
                and target.dtype == _INT64 and target.flags.c_contiguous):
            k = B.fused(x)
            if k is not None:                   # float32: softmax, pick and sum in one pass (a NumPy step is ~12 calls)
                p = xp.empty_like(x)
                total = k.cross_entropy_forward(x, target, p, c)
                if total is not None:           # None: a target outside [0, c), for the checks below
                    self.p, self.kernel, self.t, self.denom, self.reduction = p, k, target, n, reduction
                    return xp.asarray(total / n if reduction == "mean" else total, dtype=x.dtype)
        valid, t = _check_targets("cross_entropy", target, c, ignore_index)
        rows = _arange(n)
        s = x - xp.maximum.reduce(x, axis=1, keepdims=True) if n else x
        e = xp.exp(s)
        se = xp.add.reduce(e, axis=1, keepdims=True)
        lse = xp.log(se).reshape(n)
        wt = _sample_weights(weight, t, valid, x.dtype)
        loss = lse - s[rows, t]                                    # -log p_i[t_i]
        if wt is not None:
            loss *= wt
        if label_smoothing > 0:
            wsum = float(c) if weight is None else float(B.xp.add.reduce(weight))
            smooth = (B.xp.add.reduce(s, axis=1) if weight is None else s @ weight) - lse * wsum
            if valid is not None:
                smooth *= valid
            loss = loss * (1.0 - label_smoothing) - smooth * (label_smoothing / c)
        out, denom = _total(loss, wt, reduction, n)
        self.e, self.se, self.t, self.wt, self.valid, self.denom = e, se, t, wt, valid, denom
        self.weight, self.ls, self.reduction = weight, label_smoothing, reduction
        return out

    def backward(self, m, dy, y, x, target, *_):
        xp = B.xp
        n, c = x.shape
        if self.p is not None:                  # the compiled forward's softmax: dx = g (p - one_hot)
            dx = xp.empty_like(self.p)
            self.kernel.cross_entropy_backward(self.p, self.t, dx, float(dy) / self.denom if self.reduction == "mean"
                                               else float(dy), c)
            return (dx, None)
        # all targets ignored (denom 0): every weight is 0, so the gradient is 0 as in torch, not 0 * inf = nan
        g = dy / self.denom if self.reduction == "mean" and self.denom else dy     # scalar, or (n,) for 'none'
        ls, wt, valid, weight = self.ls, self.wt, self.valid, self.weight
        hit = g if wt is None else g * wt                           # the one-hot term's coefficient per row
        if ls > 0:
            hit = hit * (1.0 - ls)
            wsum = float(c) if weight is None else float(xp.add.reduce(weight))
            spread = g * (ls / c) if valid is None else g * (ls / c) * valid    # (ls/C) g_i, 0 when ignored
            coef = hit + spread * wsum
        else:
            coef = hit
        coef = xp.asarray(coef, dtype=x.dtype)
        dx = self.e * (coef.reshape(-1, 1) / self.se if coef.ndim else coef / self.se)   # g-scaled softmax
        dx[_arange(n), self.t] -= hit
        if ls > 0:
            spread = xp.asarray(spread, dtype=x.dtype)
            w = xp.ones(c, x.dtype) if weight is None else weight
            dx -= (spread.reshape(-1, 1) if spread.ndim else spread) * w
        return (dx, None)


class NLLLossOp(Function):
    """Negative log-likelihood of class indices: loss_i = -w[t_i] x_i[t_i] (0 for ignored targets).

    'mean' divides by sum_i w[t_i] over counted targets. Backward: dx_i[t_i] = -g_i w[t_i], 0 elsewhere.
    """
    differentiable_backward = False

    def forward(self, x, target, weight=None, ignore_index=-100, reduction="mean"):
        n, c = x.shape
        valid, t = _check_targets("nll_loss", target, c, ignore_index)
        wt = _sample_weights(weight, t, valid, x.dtype)
        loss = -x[_arange(n), t]
        if valid is not None:
            loss = B.xp.where(valid, loss, 0.0)       # not inf * 0 = nan when an ignored row holds -inf
        if wt is not None:
            loss *= wt
        out, denom = _total(loss, wt, reduction, n)
        self.t, self.wt, self.denom, self.reduction = t, wt, denom, reduction
        return out

    def backward(self, m, dy, y, x, target, *_):
        xp = B.xp
        g = dy / self.denom if self.reduction == "mean" and self.denom else dy     # denom 0: weights all 0
        coef = g if self.wt is None else g * self.wt
        dx = xp.zeros(x.shape, x.dtype)
        dx[_arange(x.shape[0]), self.t] = -coef
        return (dx, None)


class BinaryCrossEntropy(Function):
    """loss = -w (t log x + (1 - t) log(1 - x)), each log clamped at -100 (as torch, so x = 0 or 1 is finite).

    Backward: dx = g w (x - t) / max(x (1 - x), 1e-12);  dt = g w (log(1 - x) - log x)  (torch's formulas).
    """
    differentiable_backward = False

    def forward(self, x, t, weight=None, reduction="mean"):
        xp = B.xp
        with np.errstate(divide="ignore"):
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log1p(-x), -100.0)
        loss = (t - 1) * log_1mx - t * log_x
        if weight is not None:
            loss = loss * weight
        self.weight, self.reduction = weight, reduction
        return _reduce(loss, reduction)

    def backward(self, m, dy, y, x, t, *_):
        xp = B.xp
        g = _scale(dy, self.reduction, x.size)
        if self.weight is not None:
            g = g * self.weight
        dx = g * (x - t) / xp.maximum((1 - x) * x, _EPS_BCE) if self.needs[0] else None
        dt = None
        if self.needs[1]:
            with np.errstate(divide="ignore"):
                dt = g * (xp.log1p(-x) - xp.log(x))
        return dx, dt


class BinaryCrossEntropyWithLogits(Function):
    """loss = w ((1 - t) x + l softplus(-x)), l = 1 + (pos_weight - 1) t: BCE of sigmoid(x), without overflow.

    softplus(-x) = max(-x, 0) + log1p(exp(-|x|)) is finite for any x.
    Backward: dx = g w (l sigmoid(x) - pos_weight t);  dt = g w ((pos_weight - 1) softplus(-x) - x).
    """
    differentiable_backward = False

    def forward(self, x, t, weight=None, pos_weight=None, reduction="mean"):
        xp = B.xp
        sp = xp.maximum(-x, 0.0) + xp.log1p(xp.exp(-xp.abs(x)))
        self.sp = sp
        if pos_weight is None:
            loss = (1 - t) * x + sp
        else:
            loss = (1 - t) * x + ((pos_weight - 1) * t + 1) * sp
        if weight is not None:
            loss = loss * weight
        self.weight, self.pos_weight, self.reduction = weight, pos_weight, reduction
        return _reduce(loss, reduction)

    def backward(self, m, dy, y, x, t, *_):
        g = _scale(dy, self.reduction, x.size)
        if self.weight is not None:
            g = g * self.weight
        pw = self.pos_weight
        dx = dt = None
        if self.needs[0]:
            s = B.sigmoid(x)
            dx = g * (s - t) if pw is None else g * (((pw - 1) * t + 1) * s - pw * t)
        if self.needs[1]:
            dt = -g * x if pw is None else g * ((pw - 1) * self.sp - x)
        return dx, dt


OPS = {"mse_loss": MSELossOp, "cross_entropy": CrossEntropy, "nll_loss": NLLLossOp,
       "binary_cross_entropy": BinaryCrossEntropy,
       "binary_cross_entropy_with_logits": BinaryCrossEntropyWithLogits}
