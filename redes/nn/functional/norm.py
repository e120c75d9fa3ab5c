"""Normalisation functions as torch.nn.functional: batch_norm, layer_norm, group_norm, instance_norm,
local_response_norm, rms_norm.

batch_norm, layer_norm and group_norm are one fused op of redes.ops.norm each (batch_norm also updates the
running statistics in place, as torch); instance_norm reuses batch_norm, and the other two are compositions.
"""
import math

import numpy as np

from ... import autograd as _ag
from ... import backend as B
from ...ops import norm as _N
from ...tensor import Tensor

__all__ = ["batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm", "rms_norm"]


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
    return _N.LayerNormOp.apply(input, weight, bias, dims=len(shape), eps=eps)


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
    return _N.GroupNormOp.apply(input, weight, bias, groups=num_groups, eps=eps)


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None, use_input_stats=True,
                  momentum=0.1, eps=1e-5):
    """Instance normalisation (Ulyanov et al. 2016): batch_norm per (sample, channel) over the spatial dims.

    As torch: the input is read as one sample of N * C channels; running statistics (C,) are updated with the
    mean over the batch of each instance's statistics. use_input_stats=False normalises with the running ones.
    Shape: (N, C, *) -> same.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"instance_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"instance_norm: expected an input (N, C, *) with spatial dims, got {tuple(input.shape)}")
    n, c = input.shape[:2]
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean), ("running_var", running_var)):
        _vector(t, c, name, "instance_norm")
    if use_input_stats and input.array[0, 0].size <= 1:
        raise ValueError(f"instance_norm: expected more than 1 spatial element when training, got input of shape "
                         f"{tuple(input.shape)}")
    x = input.reshape(1, n * c, *input.shape[2:])
    rm = None if running_mean is None else Tensor._wrap(B.xp.tile(running_mean.array, n))
    rv = None if running_var is None else Tensor._wrap(B.xp.tile(running_var.array, n))
    w = None if weight is None else weight.repeat(n)
    b = None if bias is None else bias.repeat(n)
    y = batch_norm(x, rm, rv, w, b, use_input_stats, momentum, eps)
    if use_input_stats:
        with _ag.no_grad():                         # the batch's mean of the per-instance updates, as torch
            if running_mean is not None:
                running_mean.array[...] = rm.array.reshape(n, c).mean(0)
            if running_var is not None:
                running_var.array[...] = rv.array.reshape(n, c).mean(0)
    return y.reshape(input.shape)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """Local response normalisation across channels (Krizhevsky et al. 2012):
    y = x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta (zero beyond the edges).

    Shape: (N, C, *) -> same.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"local_response_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 3:
        raise ValueError(f"local_response_norm: expected 3D or higher dimensionality input, got {input.ndim} "
                         f"dims (shape {tuple(input.shape)})")
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    c = input.shape[1]
    sq = (input * input).transpose(1, -1)                         # channels last, so F.pad pads them
    from ...functions import pad
    sq = pad(sq, (size // 2, (size - 1) // 2))
    total = sq[..., 0:c]
    for i in range(1, size):
        total = total + sq[..., i:i + c]
    div = (total.transpose(1, -1) * (alpha / size) + k) ** beta
    return input / div


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / sqrt(mean(x^2) + eps) * weight, the mean over the last len(normalized_shape) dims (Zhang &
    Sennrich 2019). eps=None uses the machine epsilon of the input's dtype, as torch.

    Example:
        >>> F.rms_norm(rd.tensor([[3.0, 4.0]]), (2,)).tolist()  # doctest: +ELLIPSIS
        [[0.848..., 1.131...]]
    """
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if not isinstance(input, Tensor):
        raise TypeError(f"rms_norm: input must be a Tensor, got {type(input).__name__}")
    if len(shape) == 0 or input.ndim < len(shape) or tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"rms_norm: expected input with shape (*, {', '.join(map(str, shape))}), "
                           f"got {tuple(input.shape)}")
    if weight is not None and tuple(weight.shape) != shape:
        raise RuntimeError(f"rms_norm: weight must have shape {shape}, got {tuple(weight.shape)}")
    if eps is None:
        eps = float(np.finfo(input.dtype).eps)
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    return y * weight if weight is not None else y
