"""Adam and AdamW (Kingma & Ba 2015; Loshchilov & Hutter 2019), as torch.optim.Adam / AdamW."""
import math

from .. import backend as B
from .optimizer import Optimizer, _check, _check_nonnegative, _direction, _lerp_, _number


def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq=None, *, step, lr, beta1=0.9, beta2=0.999,
                eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False, decoupled_weight_decay=False):
    """One Adam step on arrays, in place (param and the moment arrays); grad is only read. step counts from 1.

        g = -grad if maximize else grad
        decoupled (AdamW): param = param * (1 - lr * weight_decay);   else: g = g + weight_decay * param
        m = m + (1 - beta1) (g - m);   v = beta2 v + (1 - beta2) g^2;   v_max = max(v_max, v) (amsgrad)
        param = param - lr / (1 - beta1^step) * m / (sqrt(v or v_max) / sqrt(1 - beta2^step) + eps)
    """
    xp = B.xp
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1 - lr * weight_decay
        d, _ = _direction(param, grad, 0, maximize)
    else:
        d, _ = _direction(param, grad, weight_decay, maximize)
    k = None if amsgrad else B.fused(param, d, exp_avg, exp_avg_sq)
    if k is not None:                               # the lines below in one compiled pass, same order of operations
        k.adam(param, d, exp_avg, exp_avg_sq, 1 - beta1, beta2, 1 - beta2, math.sqrt(1 - beta2 ** step), eps,
               lr / (1 - beta1 ** step))
        return
    tmp = xp.empty_like(param)
    _lerp_(exp_avg, d, 1 - beta1, tmp)                       # m.lerp_(g, 1 - beta1)
    exp_avg_sq *= beta2
    xp.multiply(d, 1 - beta2, out=tmp)                       # v.addcmul_(g, g, value=1 - beta2)
    tmp *= d
    exp_avg_sq += tmp
    if amsgrad:
        xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    xp.sqrt(max_exp_avg_sq if amsgrad else exp_avg_sq, out=tmp)
    tmp /= math.sqrt(1 - beta2 ** step)
    tmp += eps
    xp.divide(exp_avg, tmp, out=tmp)
    tmp *= lr / (1 - beta1 ** step)
    param -= tmp


class Adam(Optimizer):
    """Adam: per-element step sizes from running averages of the gradient and of its square.

    For each parameter p with gradient g at step t (t = 1, 2, ...):

        g <- -g if maximize;   g <- g + lambda p   (weight_decay lambda: an L2 penalty, coupled to the moments)
        m <- beta1 m + (1 - beta1) g                v <- beta2 v + (1 - beta2) g^2
        v_hat <- max(v_hat, v) if amsgrad else v
        p <- p - lr / (1 - beta1^t) * m / (sqrt(v_hat) / sqrt(1 - beta2^t) + eps)

    As torch: eps is added after the bias correction of sqrt(v). decoupled_weight_decay=True is AdamW.

    Args:
        lr (1e-3), betas (beta1, beta2) = (0.9, 0.999), eps (1e-8), weight_decay (0), amsgrad (False),
        maximize (False), decoupled_weight_decay (False).
    State per parameter: step, exp_avg (m), exp_avg_sq (v), max_exp_avg_sq (amsgrad).

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([1.0, -2.0]))
        >>> opt = rd.optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()                        # the first Adam step moves each element by about lr
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, foreach=None, fused=None, decoupled_weight_decay=False):
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)

    def _check_group(self, group):
        _check_nonnegative(group, "lr", "eps")
        betas = group["betas"] = tuple(_number(b, "betas") for b in group["betas"])
        if len(betas) != 2:
            raise IndexError(f"{type(self).__name__}: betas must be a pair (beta1, beta2), got {betas}")
        _check(betas[0], 0.0 <= betas[0] < 1.0, "Invalid beta parameter at index 0")
        _check(betas[1], 0.0 <= betas[1] < 1.0, "Invalid beta parameter at index 1")
        _check_nonnegative(group, "weight_decay")

    def _state_names(self, group):
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")

    def _update_many(self, group, params, grads, bufs, step, first):
        k = B.fused(bufs["exp_avg"], bufs["exp_avg_sq"])     # a float32 group (the kernel checks each array)
        wd, lr = group["weight_decay"], group["lr"]
        if k is None or group["amsgrad"] or group["maximize"] or (wd != 0 and not group["decoupled_weight_decay"]):
            return False
        beta1, beta2 = group["betas"]
        decay = 1 - lr * wd if wd != 0 else 1.0         # AdamW's decoupled decay, as adam_update applies it
        return k.adam_many(params, grads, bufs["exp_avg"], bufs["exp_avg_sq"], decay, 1 - beta1, beta2, 1 - beta2,
                           math.sqrt(1 - beta2 ** step), group["eps"], lr / (1 - beta1 ** step))

    def _update(self, group, param, grad, bufs, step, first):
        beta1, beta2 = group["betas"]
        adam_update(param, grad, bufs["exp_avg"], bufs["exp_avg_sq"], bufs.get("max_exp_avg_sq"), step=step,
                    lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"], weight_decay=group["weight_decay"],
                    amsgrad=group["amsgrad"], maximize=group["maximize"],
                    decoupled_weight_decay=group["decoupled_weight_decay"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): p <- p (1 - lr lambda) before the Adam step.

    The decay shrinks the weights directly instead of entering the moment estimates as an L2 gradient,
    so its strength does not depend on the gradient's scale. Default weight_decay = 1e-2 (as torch).
    Everything else as Adam.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, foreach=foreach,
                         fused=fused, decoupled_weight_decay=True)
