"""Gradient clipping and parameter <-> vector helpers, as torch.nn.utils.

Clipping rebinds `p.grad` to a new Tensor instead of scaling it in place: gradient arrays may be shared
(backward hands the same array to both inputs of an add), so writing into one could change another.

Typical use, between backward and the optimizer step:

    loss.backward()
    total_norm = rd.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""
import types
import warnings

import numpy as np

from ... import backend as B
from ... import dtypes as _dt
from ...tensor import Tensor
from . import rnn  # noqa: E402  (rd.nn.utils.rnn.pad_sequence, as torch)

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
           "parameters_to_vector", "vector_to_parameters"]


def _as_list(parameters, name):
    if isinstance(parameters, Tensor):
        return [parameters]
    is_generator = isinstance(parameters, types.GeneratorType)
    parameters = list(parameters)
    if is_generator and not parameters:
        warnings.warn(f"{name}: `parameters` is an empty generator, no gradient clipping will occur", stacklevel=3)
    for i, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameters[{i}] is {type(p).__name__}, expected a Tensor")
    return parameters


def _vector_norm(a, p):
    """||a||_p of all elements of an array, as a 0-d array of a's dtype (torch.linalg.vector_norm)."""
    xp = B.xp
    if p == 2.0:
        flat = a.reshape(-1)
        return xp.sqrt(xp.dot(flat, flat))
    if p == float("inf"):
        return xp.max(xp.abs(a)) if a.size else xp.zeros((), a.dtype)
    if p == float("-inf"):
        return xp.min(xp.abs(a))
    if p == 0:
        return xp.asarray(xp.count_nonzero(a), dtype=a.dtype)
    if p == 1.0:
        return xp.add.reduce(xp.abs(a), axis=None)
    return xp.add.reduce(xp.abs(a) ** p, axis=None) ** (1.0 / p)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The p-norm of all the tensors together, as if concatenated: ||(||t_1||_p, ||t_2||_p, ...)||_p.

    Returns a 0-d Tensor (0.0 when there are no tensors). `foreach` is accepted for torch compatibility.
    """
    tensors = _as_list(tensors, "get_total_norm")
    norm_type = float(norm_type)
    if not tensors:
        return Tensor._wrap(B.xp.asarray(0.0, dtype=_dt.get_default_dtype()))
    xp = B.xp
    norms = [_vector_norm(t.array, norm_type) for t in tensors]
    total = _vector_norm(xp.stack([xp.asarray(n, dtype=xp.result_type(*norms)) for n in norms]), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    return Tensor._wrap(xp.asarray(total))


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale every p.grad by min(1, max_norm / (total_norm + 1e-6)) (rebinding p.grad; the arrays are not touched)."""
    parameters = _as_list(parameters, "clip_grads_with_norm_")
    total = total_norm.array if isinstance(total_norm, Tensor) else B.xp.asarray(total_norm)
    coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)
    if coef == 1.0:
        return                                   # x * 1.0 == x exactly: skip the copies
    with np.errstate(invalid="ignore"):                 # an infinite gradient times 0 is nan, as in torch
        for p in parameters:
            if p.grad is not None:
                g = p.grad.array
                p.grad = Tensor._wrap(g * g.dtype.type(coef))


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Rescale gradients so that their total norm is at most max_norm; return the total norm before clipping.

    total = ||(||g_1||_p, ||g_2||_p, ...)||_p over the parameters that have a gradient (p = norm_type, 'inf'
    allowed), then each g_i *= min(1, max_norm / (total + 1e-6)), as torch. The gradients are rebound to new
    Tensors, never scaled in place (gradient arrays may be shared).

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. model.parameters()).
        max_norm: the largest allowed total norm. norm_type: p of the p-norm (default 2).
        error_if_nonfinite: raise if the total norm is nan or inf (otherwise the gradients become nan).
    Returns:
        the total norm, a 0-d Tensor.

    Example:
        >>> w = rd.nn.Parameter(rd.zeros(2)); w.grad = rd.tensor([3.0, 4.0])
        >>> rd.nn.utils.clip_grad_norm_([w], 1.0).item()
        5.0
    """
    parameters = _as_list(parameters, "clip_grad_norm_")
    grads = [p.grad for p in parameters if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Deprecated alias of clip_grad_norm_ (as in torch)."""
    warnings.warn("clip_grad_norm is deprecated in favor of clip_grad_norm_", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element into [-clip_value, clip_value] (rebinding p.grad to a new Tensor)."""
    parameters = _as_list(parameters, "clip_grad_value_")
    v = float(clip_value)
    for p in parameters:
        if p.grad is not None:
            p.grad = Tensor._wrap(B.xp.clip(p.grad.array, -v, v))


def parameters_to_vector(parameters):
    """All parameters flattened and joined into one 1-D Tensor (differentiable, as torch's)."""
    from ...functions import cat
    parameters = _as_list(parameters, "parameters_to_vector")
    if not parameters:
        raise ValueError("parameters_to_vector: expected at least one parameter")
    return cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Make each parameter's .array a view of its slice of `vec` (the inverse of parameters_to_vector).

    As in torch, the parameters then share memory with vec.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got {type(vec).__name__}")
    parameters = _as_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: vec has shape {tuple(vec.shape)}, expected ({total},): the parameters "
                         "hold that many elements")
    start = 0
    for p in parameters:
        n = p.numel()
        p.array = vec.array[start:start + n].reshape(p.shape)
        start += n
