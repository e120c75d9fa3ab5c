"""Adamax (Kingma & Ba 2015, section 7.1: Adam with the infinity norm), as torch.optim.Adamax."""
from .. import backend as B
from .optimizer import Optimizer, _check, _check_nonnegative, _direction, _lerp_, _number


def adamax_update(param, grad, exp_avg, exp_inf, *, step, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                  weight_decay=0.0, maximize=False):
    """One Adamax step on arrays, in place (param, exp_avg, exp_inf); grad is only read. step counts from 1.

        g = -grad if maximize else grad;  g = g + weight_decay * param
        m = m + (1 - beta1) (g - m);   u = max(beta2 u, |g| + eps)
        param = param - lr / (1 - beta1^step) * m / u
    """
    xp = B.xp
    d, _ = _direction(param, grad, weight_decay, maximize)
    tmp = xp.empty_like(param)
    _lerp_(exp_avg, d, 1 - beta1, tmp)
    exp_inf *= beta2
    xp.abs(d, out=tmp)
    tmp += eps
    xp.maximum(exp_inf, tmp, out=exp_inf)
    xp.divide(exp_avg, exp_inf, out=tmp)
    tmp *= lr / (1 - beta1 ** step)
    param -= tmp


class Adamax(Optimizer):
    """Adamax: Adam whose second moment is an exponentially weighted infinity norm (a running max of |g|).

    For each parameter p with gradient g at step t (t = 1, 2, ...):

        g <- -g if maximize;   g <- g + lambda p          (weight_decay lambda)
        m <- beta1 m + (1 - beta1) g                     u <- max(beta2 u, |g| + eps)
        p <- p - lr / (1 - beta1^t) * m / u

    As torch: eps is added to |g| inside the max (the paper has no eps), so u > 0 from the first step.

    Args: lr (2e-3), betas (0.9, 0.999), eps (1e-8), weight_decay (0), maximize (False).
    State per parameter: step, exp_avg (m), exp_inf (u).

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0]))
        >>> opt = rd.optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                # the first step moves each element by lr
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_betas(group)

    def _state_names(self, group):
        return ("exp_avg", "exp_inf")

    def _update(self, group, param, grad, bufs, step, first):
        beta1, beta2 = group["betas"]
        adamax_update(param, grad, bufs["exp_avg"], bufs["exp_inf"], step=step, lr=group["lr"], beta1=beta1,
                      beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"], maximize=group["maximize"])


def _check_betas(group):
    """lr, eps >= 0, 0 <= beta < 1, weight_decay >= 0: the checks of the Adam family, with torch's messages."""
    _check_nonnegative(group, "lr", "eps")
    betas = group["betas"] = tuple(_number(b, "betas") for b in group["betas"])
    _check(betas[0], 0.0 <= betas[0] < 1.0, "Invalid beta parameter at index 0")
    _check(betas[1], 0.0 <= betas[1] < 1.0, "Invalid beta parameter at index 1")
    _check_nonnegative(group, "weight_decay")
