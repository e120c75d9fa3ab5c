"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay (as torch.optim.SGD)."""
from .. import backend as B
from .. import cpu_tuning as _cpu
from ..tensor import Tensor
from .optimizer import Optimizer, _check_nonnegative, _direction


def sgd_update(param, grad, momentum_buffer=None, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, maximize=False, first=False):
    """One SGD step on arrays, in place: param (and momentum_buffer) are updated; grad is only read.

        g = -grad if maximize else grad;  g = g + weight_decay * param
        b = g on the first step, else b = momentum * b + (1 - dampening) * g
        g = g + momentum * b if nesterov else b                  (only when momentum != 0)
        param = param - lr * g
    """
    d, own = _direction(param, grad, weight_decay, maximize)
    if momentum != 0 and not first and not nesterov:
        k = B.fused(param, d, momentum_buffer)
        if k is not None:                           # both updates in one compiled pass
            k.sgd_momentum(param, d, momentum_buffer, lr, momentum, 1 - dampening)
            return
    if momentum != 0:
        buf = momentum_buffer
        if first:
            buf[...] = d
        else:
            _cpu.axpby(1 - dampening, d, momentum, buf)
        if nesterov:
            d = d + buf * momentum
            own = True
        else:
            d, own = buf, False
    if own:
        d *= lr
        param -= d
    else:
        _cpu.axpy(-lr, d, param)


class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum), with torch's momentum convention.

    For each parameter p with gradient g, with lr, momentum mu, dampening tau, weight_decay lambda:

        g <- -g if maximize;   g <- g + lambda p
        b <- g (first step),   else b <- mu b + (1 - tau) g
        g <- g + mu b (nesterov),  else g <- b
        p <- p - lr g

    Convention (as torch.optim.SGD): the learning rate multiplies the whole velocity at each step,
    p <- p - lr b. Sutskever et al. (2013) instead keep v <- mu v + lr g, p <- p - v; the two agree for
    a constant lr but differ when lr changes (a scheduler), because here lr also scales the past velocity.

    Args:
        params: parameters or parameter groups (dicts). lr: learning rate (default 1e-3).
        momentum: mu (default 0). dampening: tau (default 0). weight_decay: L2 penalty lambda (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0). maximize: ascend instead.
    State per parameter: momentum_buffer (when momentum != 0).

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0]))
        >>> opt = rd.optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()          # dw = 2w = [2, -4]
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.8, -1.6]
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, fused=None):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, fused=fused)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_nonnegative(group, "lr", "momentum", "weight_decay")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def _state_names(self, group):
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _new_state(self, p, group):
        return {"momentum_buffer": Tensor._wrap(B.xp.zeros_like(p.array))} if group["momentum"] != 0 else {}

    def _update_many(self, group, params, grads, bufs, step, first):
        if first or group["momentum"] == 0 or group["nesterov"] or group["weight_decay"] != 0 or group["maximize"]:
            return False
        k = B.fused(bufs["momentum_buffer"])      # a float32 group (the kernel checks each parameter and gradient)
        if k is None:
            return False
        return k.sgd_momentum_many(params, grads, bufs["momentum_buffer"], group["lr"], group["momentum"],
                                   1 - group["dampening"])

    def _update(self, group, param, grad, bufs, step, first):
        sgd_update(param, grad, bufs.get("momentum_buffer"), lr=group["lr"], momentum=group["momentum"],
                   dampening=group["dampening"], weight_decay=group["weight_decay"], nesterov=group["nesterov"],
                   maximize=group["maximize"], first=first)
