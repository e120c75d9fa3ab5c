"""NAdam (Dozat 2016, "Incorporating Nesterov momentum into Adam"), as torch.optim.NAdam."""
from .. import backend as B
from ._scalars import DerivedStateMixin, scalar_dtype
from .adamax import _check_betas
from .optimizer import Optimizer, _check_nonnegative, _direction, _lerp_

_PRODUCTS = {}      # (beta1, momentum_decay, scalar dtype) -> [mu_product after step 0, 1, 2, ...]


def _mu(beta1, momentum_decay, step):
    """The momentum schedule mu_t = beta1 (1 - 0.5 * 0.96^(t psi))."""
    return beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))


def mu_product(beta1, momentum_decay, step):
    """prod_{i<=step} mu_i, multiplied step by step in torch's scalar dtype (as torch's 0-d state tensor)."""
    dtype = scalar_dtype()
    seq = _PRODUCTS.setdefault((beta1, momentum_decay, dtype), [dtype(1.0)])
    while len(seq) <= step:
        seq.append(dtype(seq[-1] * dtype(_mu(beta1, momentum_decay, len(seq)))))
    return float(seq[step])


def nadam_update(param, grad, exp_avg, exp_avg_sq, *, step, lr=2e-3, beta1=0.9, beta2=0.999, eps=1e-8,
                 weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False):
    """One NAdam step on arrays, in place (param and the moments); grad is only read. step counts from 1.

        g = -grad if maximize else grad
        decoupled: param = param * (1 - lr * weight_decay);   else: g = g + weight_decay * param
        mu_t = beta1 (1 - 0.5 * 0.96^(t momentum_decay));   P_t = mu_1 ... mu_t
        m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2;   den = sqrt(v / (1 - beta2^t)) + eps
        param = param - lr (1 - mu_t) / (1 - P_t) * g / den - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / den
    """
    xp = B.xp
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        d, _ = _direction(param, grad, 0, maximize)
    else:
        d, _ = _direction(param, grad, weight_decay, maximize)
    mu, mu_next = _mu(beta1, momentum_decay, step), _mu(beta1, momentum_decay, step + 1)
    product = mu_product(beta1, momentum_decay, step)
    tmp = xp.empty_like(param)
    _lerp_(exp_avg, d, 1 - beta1, tmp)
    exp_avg_sq *= beta2
    xp.multiply(d, 1 - beta2, out=tmp)
    tmp *= d
    exp_avg_sq += tmp
    den = exp_avg_sq / (1 - beta2 ** step)
    xp.sqrt(den, out=den)
    den += eps
    xp.divide(d, den, out=tmp)
    tmp *= -lr * (1.0 - mu) / (1.0 - product)
    param += tmp
    xp.divide(exp_avg, den, out=tmp)
    tmp *= (-lr * mu_next) / (1.0 - product * mu_next)
    param += tmp


class NAdam(DerivedStateMixin, Optimizer):
    """NAdam: Adam with Nesterov momentum, and a momentum that warms up (momentum_decay psi).

    For each parameter p with gradient g at step t (t = 1, 2, ...):

        g <- -g if maximize
        decoupled_weight_decay: p <- p (1 - lr lambda);   else g <- g + lambda p
        mu_t = beta1 (1 - 0.5 * 0.96^(t psi));   P_t = mu_1 mu_2 ... mu_t
        m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2;   den = sqrt(v / (1 - beta2^t)) + eps
        p <- p - lr (1 - mu_t) / (1 - P_t) * g / den - lr mu_{t+1} / (1 - P_t mu_{t+1}) * m / den

    As torch: P_t (state "mu_product") is accumulated in torch's scalar dtype (see _scalars.py).

    Args: lr (2e-3), betas (0.9, 0.999), eps (1e-8), weight_decay (0), momentum_decay psi (4e-3),
        decoupled_weight_decay (False: NAdamW when True), maximize (False).
    State per parameter: step, mu_product (derived from step), exp_avg (m), exp_avg_sq (v).

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0]))
        >>> opt = rd.optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 3) for v in w.tolist()]
        [0.894, -1.894]
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_betas(group)
        _check_nonnegative(group, "momentum_decay")

    def _state_names(self, group):
        return ("exp_avg", "exp_avg_sq")

    def _derived(self, group, step):
        return {"mu_product": mu_product(group["betas"][0], group["momentum_decay"], int(step))}

    def _update(self, group, param, grad, bufs, step, first):
        beta1, beta2 = group["betas"]
        nadam_update(param, grad, bufs["exp_avg"], bufs["exp_avg_sq"], step=step, lr=group["lr"], beta1=beta1,
                     beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                     momentum_decay=group["momentum_decay"], decoupled_weight_decay=group["decoupled_weight_decay"],
                     maximize=group["maximize"])
