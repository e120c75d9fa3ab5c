"""RMSprop (Hinton, lecture 6e of "Neural Networks for Machine Learning"), as torch.optim.RMSprop."""
from .. import backend as B
from .optimizer import Optimizer, _check_nonnegative, _direction, _lerp_


def rmsprop_update(param, grad, square_avg, grad_avg=None, momentum_buffer=None, *, lr, alpha=0.99, eps=1e-8,
                   weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    """One RMSprop step on arrays, in place; grad is only read.

        g = -grad if maximize else grad;  g = g + weight_decay * param
        s = alpha s + (1 - alpha) g^2;  a = (1 - alpha) g + alpha a (centered);  den = sqrt(s - a^2 or s) + eps
        momentum > 0: b = momentum b + g / den, param = param - lr b;   else param = param - lr g / den
    """
    xp = B.xp
    d, _ = _direction(param, grad, weight_decay, maximize)
    tmp = xp.empty_like(param)
    square_avg *= alpha
    xp.multiply(d, 1 - alpha, out=tmp)                       # s.addcmul_(g, g, value=1 - alpha)
    tmp *= d
    square_avg += tmp
    if centered:
        _lerp_(grad_avg, d, 1 - alpha, tmp)
        xp.multiply(grad_avg, grad_avg, out=tmp)
        xp.subtract(square_avg, tmp, out=tmp)
        xp.sqrt(tmp, out=tmp)
    else:
        xp.sqrt(square_avg, out=tmp)
    tmp += eps
    xp.divide(d, tmp, out=tmp)
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += tmp
        xp.multiply(momentum_buffer, lr, out=tmp)
    else:
        tmp *= lr
    param -= tmp


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    For each parameter p with gradient g:

        g <- -g if maximize;   g <- g + lambda p
        s <- alpha s + (1 - alpha) g^2
        centered: a <- alpha a + (1 - alpha) g,  den = sqrt(s - a^2) + eps;   else den = sqrt(s) + eps
        momentum mu > 0: b <- mu b + g / den,  p <- p - lr b;   else p <- p - lr g / den

    As torch: eps is added outside the square root.

    Args: lr (1e-2), alpha (0.99), eps (1e-8), weight_decay (0), momentum (0), centered (False), maximize (False).
    State per parameter: step, square_avg, momentum_buffer (momentum > 0), grad_avg (centered).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False, foreach=None):
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, maximize=maximize, foreach=foreach)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_nonnegative(group, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _state_names(self, group):
        return ("square_avg",) + (("momentum_buffer",) if group["momentum"] > 0 else ()) + \
            (("grad_avg",) if group["centered"] else ())

    def _update(self, group, param, grad, bufs, step, first):
        rmsprop_update(param, grad, bufs["square_avg"], bufs.get("grad_avg"), bufs.get("momentum_buffer"),
                       lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                       momentum=group["momentum"], centered=group["centered"], maximize=group["maximize"])
