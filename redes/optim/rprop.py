"""Rprop (Riedmiller & Braun 1993, resilient backpropagation; the iRprop- variant), as torch.optim.Rprop."""
from .. import backend as B
from ..tensor import Tensor
from .optimizer import Optimizer, _check, _check_nonnegative, _number


def rprop_update(param, grad, prev, step_size, *, etaminus=0.5, etaplus=1.2, step_size_min=1e-6, step_size_max=50.0,
                 maximize=False):
    """One Rprop step on arrays, in place (param, prev, step_size); grad is only read.

        g = -grad if maximize else grad;   s = sign(g * prev)
        step_size = clip(step_size * (etaplus if s > 0, etaminus if s < 0, 1 if s == 0), min, max)
        g = 0 where s < 0          (a sign change: skip this step, and forget the sign for the next)
        param = param - sign(g) * step_size;   prev = g
    """
    xp = B.xp
    d = -grad if maximize else grad
    s = xp.sign(d * prev)
    factor = xp.where(s > 0, etaplus, xp.where(s < 0, etaminus, 1.0)).astype(step_size.dtype, copy=False)
    step_size *= factor
    xp.clip(step_size, step_size_min, step_size_max, out=step_size)
    d = xp.where(s < 0, 0, d)
    param -= xp.sign(d) * step_size
    prev[...] = d


class Rprop(Optimizer):
    """Rprop: each element moves by its own step size, grown while the gradient keeps its sign, shrunk when it flips.

    For each parameter p with gradient g (only the sign of g is used):

        g <- -g if maximize;   s = sign(g * g_prev)
        step <- clip(step * eta+ (s > 0) or eta- (s < 0) or 1 (s = 0), step_min, step_max)
        g <- 0 where s < 0;   p <- p - sign(g) * step;   g_prev <- g

    Step sizes start at lr; later changes of lr (a scheduler) do not reach them, as in torch.
    Made for full-batch training: the signs of minibatch gradients are noisy.

    Args: lr (1e-2: the initial step size), etas (eta-, eta+) = (0.5, 1.2), step_sizes (min, max) = (1e-6, 50),
        maximize (False).
    State per parameter: step, prev (the last gradient used), step_size.

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0]))
        >>> opt = rd.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                        # each element moves by lr against its gradient's sign
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, capturable=False, foreach=None,
                 maximize=False, differentiable=False):
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_nonnegative(group, "lr")
        etas = group["etas"] = tuple(_number(e, "etas") for e in group["etas"])
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]} (need 0 < eta- < 1 < eta+)")
        sizes = group["step_sizes"] = tuple(_number(s, "step_sizes") for s in group["step_sizes"])
        _check(sizes, 0.0 <= sizes[0] <= sizes[1], "Invalid step_sizes (need 0 <= min <= max)")

    def _state_names(self, group):
        return ("prev", "step_size")

    def _new_state(self, p, group):
        return {"step": 0, "prev": Tensor._wrap(B.xp.zeros_like(p.array)),
                "step_size": Tensor._wrap(B.xp.full_like(p.array, group["lr"]))}

    def _update(self, group, param, grad, bufs, step, first):
        (etaminus, etaplus), (smin, smax) = group["etas"], group["step_sizes"]
        rprop_update(param, grad, bufs["prev"], bufs["step_size"], etaminus=etaminus, etaplus=etaplus,
                     step_size_min=smin, step_size_max=smax, maximize=group["maximize"])
