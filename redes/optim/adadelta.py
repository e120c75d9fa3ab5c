"""Adadelta (Zeiler 2012, "ADADELTA: an adaptive learning rate method"), as torch.optim.Adadelta."""
from .. import backend as B
from .optimizer import Optimizer, _check, _check_nonnegative, _direction


def adadelta_update(param, grad, square_avg, acc_delta, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0,
                    maximize=False):
    """One Adadelta step on arrays, in place (param, square_avg, acc_delta); grad is only read.

        g = -grad if maximize else grad;  g = g + weight_decay * param
        s = rho s + (1 - rho) g^2
        delta = sqrt(a + eps) / sqrt(s + eps) * g
        a = rho a + (1 - rho) delta^2
        param = param - lr * delta
    """
    xp = B.xp
    d, _ = _direction(param, grad, weight_decay, maximize)
    tmp = xp.empty_like(param)
    square_avg *= rho
    xp.multiply(d, 1 - rho, out=tmp)                         # s.addcmul_(g, g, value=1 - rho)
    tmp *= d
    square_avg += tmp
    std = square_avg + eps
    xp.sqrt(std, out=std)
    xp.add(acc_delta, eps, out=tmp)
    xp.sqrt(tmp, out=tmp)
    tmp /= std
    tmp *= d                                                 # tmp = delta
    acc_delta *= rho
    xp.multiply(tmp, 1 - rho, out=std)                       # a.addcmul_(delta, delta, value=1 - rho)
    std *= tmp
    acc_delta += std
    tmp *= lr
    param -= tmp


class Adadelta(Optimizer):
    """Adadelta: steps scaled by the ratio of running RMS of past updates to running RMS of gradients.

    For each parameter p with gradient g:

        g <- -g if maximize;   g <- g + lambda p          (weight_decay lambda)
        s <- rho s + (1 - rho) g^2
        delta <- sqrt(a + eps) / sqrt(s + eps) * g
        a <- rho a + (1 - rho) delta^2
        p <- p - lr delta

    Zeiler's method has no learning rate (lr = 1, torch's default); torch adds lr as a scale.

    Args: lr (1.0), rho (0.9), eps (1e-6), weight_decay (0), maximize (False).
    State per parameter: step, square_avg (s), acc_delta (a).

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0], dtype=rd.float64))
        >>> opt = rd.optim.Adadelta([w])
        >>> (w * w).sum().backward()
        >>> opt.step()                # first step: sqrt(eps) / sqrt(0.1 g^2 + eps) * g, about 0.003 each
        >>> [round(v, 5) for v in w.tolist()]
        [0.99684, -1.99684]
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_nonnegative(group, "lr")
        _check(group["rho"], 0.0 <= group["rho"] <= 1.0, "Invalid rho value")
        _check_nonnegative(group, "eps", "weight_decay")

    def _state_names(self, group):
        return ("square_avg", "acc_delta")

    def _update(self, group, param, grad, bufs, step, first):
        adadelta_update(param, grad, bufs["square_avg"], bufs["acc_delta"], lr=group["lr"], rho=group["rho"],
                        eps=group["eps"], weight_decay=group["weight_decay"], maximize=group["maximize"])
