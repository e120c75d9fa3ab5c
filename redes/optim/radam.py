"""RAdam (Liu et al. 2020, "On the variance of the adaptive learning rate and beyond"), as torch.optim.RAdam."""
import math

from .. import backend as B
from .adamax import _check_betas
from .optimizer import Optimizer, _direction, _lerp_


def radam_update(param, grad, exp_avg, exp_avg_sq, *, step, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.0, decoupled_weight_decay=False, maximize=False):
    """One RAdam step on arrays, in place (param and the moments); grad is only read. step counts from 1.

        g = -grad if maximize else grad
        decoupled: param = param * (1 - lr * weight_decay);   else: g = g + weight_decay * param
        m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2;   m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5: r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t)),
                   param = param - lr m_hat sqrt(1 - beta2^t) / (sqrt(v) + eps) r
        otherwise: param = param - lr m_hat            (plain momentum while the variance estimate is unreliable)
    """
    xp = B.xp
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        d, _ = _direction(param, grad, 0, maximize)
    else:
        d, _ = _direction(param, grad, weight_decay, maximize)
    tmp = xp.empty_like(param)
    _lerp_(exp_avg, d, 1 - beta1, tmp)
    exp_avg_sq *= beta2
    xp.multiply(d, 1 - beta2, out=tmp)
    tmp *= d
    exp_avg_sq += tmp
    bias1, bias2 = 1 - beta1 ** step, 1 - beta2 ** step
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias2
    xp.divide(exp_avg, bias1, out=tmp)
    tmp *= lr
    if rho_t > 5.0:
        rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        den = xp.sqrt(exp_avg_sq)
        den += eps
        xp.divide(bias2 ** 0.5, den, out=den)                # the adaptive learning rate
        tmp *= den
        tmp *= rect
    param -= tmp


class RAdam(Optimizer):
    """RAdam (Liu et al. 2020, "On the variance of the adaptive learning rate and beyond"): Adam with a rectifier.

    For each parameter p with gradient g at step t (t = 1, 2, ...):

        g <- -g if maximize
        decoupled_weight_decay: p <- p (1 - lr lambda);   else g <- g + lambda p
        m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2;   m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1;   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:  r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                    p <- p - lr m_hat r_t sqrt(1 - beta2^t) / (sqrt(v) + eps)
        else:       p <- p - lr m_hat           (the first steps, while v's variance is too large to trust)

    Args: lr (1e-3), betas (0.9, 0.999), eps (1e-8), weight_decay (0), decoupled_weight_decay (False), maximize.
    State per parameter: step, exp_avg (m), exp_avg_sq (v).

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0]))
        >>> opt = rd.optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward()          # dw = [2, -4]; the first step is plain momentum: lr * m_hat = lr * g
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.8, -1.6]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_betas(group)

    def _state_names(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _update(self, group, param, grad, bufs, step, first):
        beta1, beta2 = group["betas"]
        radam_update(param, grad, bufs["exp_avg"], bufs["exp_avg_sq"], step=step, lr=group["lr"], beta1=beta1,
                     beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                     decoupled_weight_decay=group["decoupled_weight_decay"], maximize=group["maximize"])

