"""Normalisation functions as torch.nn.functional: batch_norm, layer_norm, group_norm.

Each is one fused op of redes.ops.norm; batch_norm also updates the running statistics in place, as torch.
"""
import math

from ... import autograd as _ag
from ...ops import norm as _N
from ...tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm"]


def _vector(t, n, name, op):
    if t is not None and tuple(t.shape) != (n,):
        raise RuntimeError(f"{op}: {name} must have shape ({n},) (one value per channel), got {tuple(t.shape)}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel (dim 1).

    training=True: mean and var of this batch (over every dim but 1; var biased); running_mean/var (if given)
    are updated in place: r = (1 - momentum) r + momentum * stat, with the UNBIASED batch var, as torch.
    training=False: the running statistics are used.
    Shape: (N, C) or (N, C, *) -> same.
    Example:
        >>> x = rd.randn(8, 3)
        >>> F.batch_norm(x, None, None, training=True).mean(0).abs().max().item() < 1e-5
        True
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise RuntimeError(f"batch_norm: expected an input of at least 2 dims (N, C, ...), got {tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        _vector(t, c, name, "batch_norm")
    if not training:
        if running_mean is None or running_var is None:
            raise RuntimeError("batch_norm: running_mean and running_var must be given when training=False")
        return _N.BatchNormEval.apply(input, weight, bias, mean=running_mean.array, var=running_var.array, eps=eps)
    count = input.array.size // c
    if count <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape "
                         f"{tuple(input.shape)}")
    fn = _N.BatchNorm()
    y = fn.run((input, weight, bias), {"eps": eps})
    if running_mean is not None or running_var is not None:
        _ag.side_effect("batch_norm in training mode updates running statistics outside its op")
        with _ag.no_grad():
            if running_mean is not None:
                running_mean.array *= 1.0 - momentum
                running_mean.array += momentum * fn.mean
            if running_var is not None:
                running_var.array *= 1.0 - momentum
                running_var.array += (momentum * count / (count - 1)) * fn.var     # unbiased, as torch
    return y


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics over the last len(normalized_shape) dims.

    Args: normalized_shape: int or tuple, must equal input.shape[-len(normalized_shape):]; weight/bias of
          that shape or None; var is biased (as torch).
    Example:
        >>> F.layer_norm(rd.randn(2, 5, 8), (8,)).shape
        (2, 5, 8)
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not isinstance(input, Tensor):
        raise TypeError(f"layer_norm: input must be a Tensor, got {type(input).__name__}")
    if len(shape) == 0 or tuple(input.shape[input.ndim - len(shape):]) != shape or input.ndim < len(shape):
        raise RuntimeError(f"layer_norm: expected input with shape (*, {', '.join(map(str, shape))}), "
                           f"got {tuple(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: {name} must have shape {shape}, got {tuple(t.shape)}")
    return _N.LayerNorm.apply(input, weight, bias, dims=len(shape), eps=eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, statistics per sample over groups of C / num_groups
    channels (and all spatial positions); weight/bias per channel.

    Shape: (N, C, *) -> same.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"group_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2 or input.shape[1] % num_groups:
        raise RuntimeError(f"group_norm: expected input (N, C, *) with C divisible by num_groups={num_groups}, "
                           f"got {tuple(input.shape)}")
    if input.shape[0] * input.shape[1] // num_groups * math.prod(input.shape[2:]) == 1:     # torch's check
        raise ValueError(f"group_norm: expected more than 1 value per group to normalise, got input size "
                         f"{list(input.shape)} with num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        _vector(t, input.shape[1], name, "group_norm")
    return _N.GroupNorm.apply(input, weight, bias, groups=num_groups, eps=eps)
