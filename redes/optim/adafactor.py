"""Adafactor (Shazeer & Stern 2018, "Adafactor: adaptive learning rates with sublinear memory cost"), as
torch.optim.Adafactor: the second moment of a matrix is kept as one row and one column of running means."""
import math

import numpy as np

from .. import backend as B
from ..tensor import Tensor
from .optimizer import Optimizer, _lerp_, _number


def adafactor_update(param, grad, row_var=None, col_var=None, variance=None, *, step, lr=1e-2, beta2_decay=-0.8,
                     eps1=None, eps2=1e-3, d=1.0, weight_decay=0.0, maximize=False):
    """One Adafactor step on arrays, in place (param and its state); grad is only read. step counts from 1.

        g = -grad if maximize else grad;   w = step^beta2_decay  (the weight of the new squared gradient)
        alpha = max(eps2, rms(param)) * min(lr, 1 / sqrt(step));   param = param * (1 - lr * weight_decay)
        matrix (ndim > 1): r = r + w (mean(g^2 over the last dim) - r);  c = c + w (mean(g^2 over dim -2) - c)
                           v = r c / max(mean(r over dim -2), eps1)       (a rank-1 estimate of E[g^2])
        vector:            v = v + w (g^2 - v)
        u = g / sqrt(max(v, eps1^2));   param = param - alpha / max(1, rms(u) / d) * u
    eps1 defaults to the machine epsilon of param's dtype.
    """
    xp = B.xp
    g = -grad if maximize else grad
    if eps1 is None:
        eps1 = float(np.finfo(param.dtype).eps)
    w = step ** beta2_decay
    alpha = max(eps2, float(xp.linalg.norm(param.reshape(-1))) / math.sqrt(param.size)) * min(lr, 1 / step ** 0.5)
    if weight_decay != 0:
        param *= 1 - lr * weight_decay
    if g.ndim > 1:
        row_mean = xp.linalg.norm(g, axis=-1, keepdims=True) ** 2 / g.shape[-1]
        _lerp_(row_var, row_mean, w, xp.empty_like(row_var))
        col_mean = xp.linalg.norm(g, axis=-2, keepdims=True) ** 2 / g.shape[-2]
        _lerp_(col_var, col_mean, w, xp.empty_like(col_var))
        v = row_var @ col_var
        v /= xp.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
    else:
        _lerp_(variance, g * g, w, xp.empty_like(variance))
        v = variance.copy()
    xp.maximum(v, eps1 * eps1, out=v)
    update = 1 / xp.sqrt(v)
    update *= g
    denom = max(1.0, float(xp.linalg.norm(update.reshape(-1))) / (math.sqrt(update.size) * d))
    update *= -alpha / denom
    param += update


class Adafactor(Optimizer):
    """Adafactor: Adam-like steps without first moment, whose second moment costs O(rows + cols) for a matrix.

    For each parameter p with gradient g at step t (t = 1, 2, ...):

        g <- -g if maximize;   w_t = t^beta2_decay;   rho_t = min(lr, 1 / sqrt(t))
        alpha_t = max(eps2, RMS(p)) rho_t                 (relative step size: scaled by the weights' size)
        p <- p (1 - lr lambda)                            (decoupled weight decay lambda)
        matrices: R <- R + w_t (row means of g^2 - R),  C <- C + w_t (column means of g^2 - C),
                  V = R C / max(mean(R), eps1)        vectors: V <- V + w_t (g^2 - V)
        U = g / sqrt(max(V, eps1^2));   p <- p - alpha_t / max(1, RMS(U) / d) U

    As torch's version (not the paper's defaults): no first moment, eps = (eps1 = machine epsilon of the
    dtype when None, eps2), d the update clipping threshold. Tensors of more than 2 dims factor their last two.

    Args: lr (1e-2), beta2_decay (-0.8), eps ((None, 1e-3)), d (1.0), weight_decay (0.0), maximize (False).
    State per parameter: step, row_var and col_var (ndim > 1) or variance (vectors).

    Example:
        >>> w = rd.nn.Parameter(rd.tensor([[1.0, -2.0], [0.5, 3.0]]))
        >>> opt = rd.optim.Adafactor([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.shape
        (2, 2)
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _check_group(self, group):
        group["lr"] = _number(group["lr"], "lr")
        checks = [("Learning rate should be >= 0", group["lr"], group["lr"] >= 0),
                  ("beta2_decay should be <= 0", group["beta2_decay"], group["beta2_decay"] <= 0),
                  ("epsilon1 should be >= 0", group["eps"][0], group["eps"][0] is None or group["eps"][0] >= 0),
                  ("epsilon2 should be >= 0", group["eps"][1], group["eps"][1] >= 0),
                  ("Clipping threshold d should be >= 1", group["d"], group["d"] >= 1),
                  ("weight_decay should be >= 0", group["weight_decay"], group["weight_decay"] >= 0)]
        for message, value, ok in checks:
            if not ok:
                raise ValueError(f"Adafactor: {message} but is: {value}")

    def _step_group(self, group):
        """Per parameter: the factored state has other shapes than the parameter, so no flat buffers."""
        xp = B.xp
        for p in group["params"]:
            if p.grad is None:
                continue
            g = p.grad.array
            st = self.state[p]
            if not st:
                st["step"] = 0
                if g.ndim > 1:
                    st["row_var"] = Tensor._wrap(xp.zeros(g.shape[:-1] + (1,), g.dtype))
                    st["col_var"] = Tensor._wrap(xp.zeros(g.shape[:-2] + (1, g.shape[-1]), g.dtype))
                else:
                    st["variance"] = Tensor._wrap(xp.zeros_like(g))
            st["step"] += 1
            arrays = {k: st[k].array for k in ("row_var", "col_var", "variance") if k in st}
            adafactor_update(p.array, g, **arrays, step=st["step"], lr=group["lr"],
                             beta2_decay=group["beta2_decay"], eps1=group["eps"][0], eps2=group["eps"][1],
                             d=group["d"], weight_decay=group["weight_decay"], maximize=group["maximize"])

    def load_state_dict(self, state_dict):
        """As Optimizer.load_state_dict; row_var and col_var keep their own (factored) shapes."""
        from ..nn.module import _as_array
        factored = {}
        trimmed = {"param_groups": state_dict["param_groups"], "state": {}}
        for key, entry in state_dict["state"].items():
            trimmed["state"][key] = {k: v for k, v in entry.items() if k not in ("row_var", "col_var")}
            factored[int(key)] = {k: v for k, v in entry.items() if k in ("row_var", "col_var")}
        id_map = {int(k): p for g, s in zip(self.param_groups, state_dict["param_groups"])
                  for k, p in zip(s["params"], g["params"])}
        super().load_state_dict(trimmed)
        for i, entry in factored.items():
            p = id_map.get(i)
            for name, value in entry.items() if p is not None else ():
                self.state[p][name] = Tensor._wrap(B.xp.array(_as_array(value), dtype=p.dtype))
        for group in self.param_groups:
            group["eps"] = tuple(group["eps"])
