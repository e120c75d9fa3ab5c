"""ASGD: averaged stochastic gradient descent (Polyak & Juditsky 1992; Bottou 2012's schedule), as torch.optim.ASGD."""
from .. import backend as B
from .. import cpu_tuning as _cpu
from ._scalars import DerivedStateMixin, rounded
from .optimizer import Optimizer, _check_nonnegative, _direction


def asgd_eta(lr, lambd, alpha, step):
    """The step size after `step` steps: lr / (1 + lambd lr step)^alpha, in torch's scalar dtype."""
    return rounded(lr / ((1 + lambd * lr * step) ** alpha))


def asgd_mu(t0, step):
    """The averaging weight after `step` steps: 1 / max(1, step - t0), in torch's scalar dtype."""
    return rounded(1 / max(1, step - t0))


def asgd_update(param, grad, ax, *, step, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                maximize=False):
    """One ASGD step on arrays, in place (param and its average ax); grad is only read. step counts from 1.

        g = -grad if maximize else grad;  g = g + weight_decay * param
        eta = lr / (1 + lambd lr (step - 1))^alpha;   mu = 1 / max(1, step - 1 - t0)   (both from the last step)
        param = param (1 - lambd eta) - eta g
        ax = param if mu == 1 else ax + mu (param - ax)
    """
    xp = B.xp
    d, _ = _direction(param, grad, weight_decay, maximize)
    eta = asgd_eta(lr, lambd, alpha, step - 1)
    mu = asgd_mu(t0, step - 1)
    param *= 1 - lambd * eta
    _cpu.axpy(-eta, d, param)
    if mu != 1:
        tmp = xp.subtract(param, ax)
        tmp *= mu
        ax += tmp
    else:
        ax[...] = param


class ASGD(DerivedStateMixin, Optimizer):
    """ASGD: SGD with a slowly decaying step size, and a running average of the iterates (state "ax").

    For each parameter p with gradient g at step t (t = 1, 2, ...):

        g <- -g if maximize;   g <- g + lambda_wd p
        eta_t = lr / (1 + lambd lr (t - 1))^alpha            mu_t = 1 / max(1, t - 1 - t0)
        p <- p (1 - lambd eta_t) - eta_t g                   (lambd: the decay term of Bottou's schedule)
        ax <- p if mu_t == 1 else ax + mu_t (p - ax)         (averaging starts after t0 steps)

    The averaged parameters ax are what Polyak averaging returns; copy them into the model to use them.
    As torch: eta and mu are the values computed after the previous step, in torch's scalar dtype;
    redes derives them from the step count with the group's current lr (torch keeps the lr of the last step).

    Args: lr (1e-2), lambd (1e-4), alpha (0.75), t0 (1e6), weight_decay (0), maximize (False).
    State per parameter: step, eta, mu (both derived from step), ax.

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0], dtype=rd.float64))
        >>> opt = rd.optim.ASGD([w], lr=0.1, lambd=0.0)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.8, -1.6]
    """

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0, foreach=None,
                 maximize=False, differentiable=False, capturable=False):
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_nonnegative(group, "lr", "weight_decay")

    def _state_names(self, group):
        return ("ax",)

    def _derived(self, group, step):
        return {"eta": asgd_eta(group["lr"], group["lambd"], group["alpha"], step), "mu": asgd_mu(group["t0"], step)}

    def _update(self, group, param, grad, bufs, step, first):
        asgd_update(param, grad, bufs["ax"], step=step, lr=group["lr"], lambd=group["lambd"], alpha=group["alpha"],
                    t0=group["t0"], weight_decay=group["weight_decay"], maximize=group["maximize"])
