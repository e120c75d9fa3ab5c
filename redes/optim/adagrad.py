"""Adagrad (Duchi, Hazan & Singer 2011), as torch.optim.Adagrad."""
from .. import backend as B
from ..tensor import Tensor
from .optimizer import Optimizer, _check_nonnegative, _direction


def adagrad_update(param, grad, state_sum, *, step, lr=1e-2, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                   maximize=False):
    """One Adagrad step on arrays, in place; grad is only read. step counts from 1.

        g = -grad if maximize else grad;  g = g + weight_decay * param
        sum = sum + g^2;   param = param - lr / (1 + (step - 1) lr_decay) * g / (sqrt(sum) + eps)
    """
    xp = B.xp
    d, _ = _direction(param, grad, weight_decay, maximize)
    tmp = xp.multiply(d, d)
    state_sum += tmp
    xp.sqrt(state_sum, out=tmp)
    tmp += eps
    xp.divide(d, tmp, out=tmp)
    tmp *= lr / (1 + (step - 1) * lr_decay)
    param -= tmp


class Adagrad(Optimizer):
    """Adagrad: per-element learning rates that shrink with the sum of all past squared gradients.

    For each parameter p with gradient g at step t (t = 1, 2, ...):

        g <- -g if maximize;   g <- g + lambda p
        s <- s + g^2           (s starts at initial_accumulator_value)
        p <- p - lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)

    Args: lr (1e-2), lr_decay (0), weight_decay (0), initial_accumulator_value (0), eps (1e-10), maximize.
    State per parameter (created at construction, as torch): step, sum.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
                 maximize=False, foreach=None, fused=None):
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize, foreach=foreach,
                        fused=fused)
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p].update(self._new_state(p, group))

    def _check_group(self, group):
        _check_nonnegative(group, "lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")

    def _state_names(self, group):
        return ("sum",)

    def _new_state(self, p, group):
        return {"step": 0, "sum": Tensor._wrap(B.xp.full_like(p.array, group["initial_accumulator_value"]))}

    def _update(self, group, param, grad, bufs, step, first):
        adagrad_update(param, grad, bufs["sum"], step=step, lr=group["lr"], lr_decay=group["lr_decay"],
                       weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"])
