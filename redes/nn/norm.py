"""Normalisation layers, as torch.nn: BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm.

Same parameters and buffers as torch (weight, bias, running_mean, running_var, num_batches_tracked int64),
so state_dicts load across; each layer calls one F function (one fused op).
"""
from .. import backend as B
from .. import dtypes as _dt
from ..tensor import Tensor
from . import _checks
from . import functional as F
from . import init
from .linear import _empty_param
from .module import Module

__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm", "InstanceNorm1d",
           "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm", "CrossMapLRN2d", "RMSNorm"]


def _buffer(shape, value, dtype):
    return Tensor._wrap(B.xp.full(shape, value, dtype))



def _reset_affine(module):
    """weight = 1 and bias = 0 (the identity affine map), where the module has them, as torch's norms."""
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)

class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d: parameters, running statistics, the momentum rule and repr."""
    dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None,
                 dtype=None, *, bias=True):
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive integer, got {num_features!r}")
        _checks.positive(type(self).__name__, "eps", eps)
        if momentum is not None:                        # None: the cumulative average of the batch statistics
            _checks.number(type(self).__name__, "momentum", momentum, 0.0, 1.0)
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = _empty_param((num_features,), dtype) if affine else None
        self.bias = _empty_param((num_features,), dtype) if affine and bias else None
        if track_running_stats:
            fdt = _dt.as_dtype(dtype) or _dt.get_default_dtype()
            self.register_buffer("running_mean", _buffer((num_features,), 0.0, fdt))
            self.register_buffer("running_var", _buffer((num_features,), 1.0, fdt))
            self.register_buffer("num_batches_tracked", _buffer((), 0, _dt.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean.array[...] = 0
            self.running_var.array[...] = 1
            self.num_batches_tracked.array[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        _reset_affine(self)

    def _check_input(self, input):
        name = type(self).__name__
        if input.ndim not in self.dims:
            want = " or ".join(f"{d}D" for d in self.dims)
            raise ValueError(f"{name}: expected {want} input, got {input.ndim}D input of shape {tuple(input.shape)}")
        if input.shape[1] != self.num_features:
            layout = {2: "(N, {c})", 3: "(N, {c}, L)", 4: "(N, {c}, H, W)",
                      5: "(N, {c}, D, H, W)"}.get(input.ndim, "(N, {c}, *)").format(c=self.num_features)
            raise ValueError(f"{name}: expected input with {self.num_features} channels (shape {layout}), "
                             f"got {tuple(input.shape)}")

    def forward(self, input):
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            if self.momentum is None:                       # cumulative moving average, as torch
                factor = 1.0 / float(self.num_batches_tracked.array)
        use_batch = self.training or self.running_mean is None
        track = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if track else None, self.running_var if track else None,
                            self.weight, self.bias, use_batch, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) inputs (Ioffe & Szegedy 2015), as torch.nn.BatchNorm1d.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, per channel. Training: batch statistics (biased var),
    and running_mean/var <- (1 - momentum) running + momentum * batch stat (unbiased var); momentum=None uses
    the cumulative average 1/num_batches_tracked. Eval: the running statistics (when tracked).
    Args: num_features (C); eps=1e-5; momentum=0.1; affine=True (learn weight=1 and, with bias=True, bias=0);
          track_running_stats=True; dtype.
    Shape: (N, C) or (N, C, L) -> same.
    Example:
        >>> rd.nn.BatchNorm1d(4)
        BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """
    dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) inputs, statistics per channel over (N, H, W); see BatchNorm1d.

    Shape: (N, C, H, W) -> same.
    Example:
        >>> rd.nn.BatchNorm2d(16)(rd.randn(8, 16, 5, 5)).shape
        (8, 16, 5, 5)
    """
    dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W) inputs, statistics per channel over (N, D, H, W).

    Shape: (N, C, D, H, W) -> same.
    """
    dims = (5,)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation whose statistics would be synchronised across processes; redes runs one process, where
    it is exactly BatchNorm over any (N, C, *) input. process_group is accepted and unused.
    """
    dims = (2, 3, 4, 5, 6, 7, 8)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)
        self.process_group = process_group

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """Every BatchNorm*d inside module replaced by a SyncBatchNorm holding the same parameters and buffers."""
        if isinstance(module, _BatchNorm) and not isinstance(module, (SyncBatchNorm, _InstanceNorm)):
            out = cls.__new__(cls)
            out.__dict__.update(module.__dict__)
            out.process_group = process_group
            return out
        for name, child in list(module.named_children()):
            setattr(module, name, cls.convert_sync_batchnorm(child, process_group))
        return module


class _InstanceNorm(_BatchNorm):
    """Shared by InstanceNorm1d/2d/3d: no running statistics and no affine map by default (as torch)."""
    spatial = 1

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False, track_running_stats=False, device=None,
                 dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias)

    def forward(self, input):
        name, n = type(self).__name__, self.spatial
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{name}: expected {n + 1}D (unbatched) or {n + 2}D input, got {input.ndim}D input of "
                             f"shape {tuple(input.shape)}")
        channels = input.shape[-n - 1]
        if channels != self.num_features:
            if self.affine:
                raise ValueError(f"{name}: expected input's size at dim={input.ndim - n - 1} to match num_features "
                                 f"({self.num_features}), but got: {channels}.")
            import warnings
            warnings.warn(f"{name}: input's size at dim={input.ndim - n - 1} does not match num_features. You can "
                          "silence this warning by not passing in num_features, which is not used because "
                          "affine=False", stacklevel=2)
        x = input.unsqueeze(0) if input.ndim == n + 1 else input
        use_stats = self.training or not self.track_running_stats
        y = F.instance_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_stats,
                            0.1 if self.momentum is None else self.momentum, self.eps)
        return y.squeeze(0) if input.ndim == n + 1 else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) (or (C, L)): statistics per sample and channel over L.

    Example:
        >>> rd.nn.InstanceNorm1d(3)(rd.randn(2, 3, 8)).shape
        (2, 3, 8)
    """
    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) (or (C, H, W)): statistics per sample and channel over (H, W)."""
    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) (or (C, D, H, W)): statistics per sample and channel."""
    spatial = 3


class LocalResponseNorm(Module):
    """Local response normalisation across channels: x / (k + alpha / size * sum of x^2 over size channels)^beta.

    Shape: (N, C, *) -> same.
    """
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"{type(self).__name__}: size must be a positive int, got {size!r}")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(LocalResponseNorm):
    """Lua Torch's cross-map LRN of a 4-D input, exactly as torch's port computes it:
    y_c = x_c (k + alpha / size * sum_{j in W(c)} x_j^2)^-beta, W(c) = channels within pre_pad - 1 of c,
    pre_pad = int((size - 1) / 2 + 1), plus channel 0 always (torch's running sum never drops it).
    For odd size and the channels away from 0 this is LocalResponseNorm.
    """
    def __init__(self, size, alpha=1e-4, beta=0.75, k=1):
        super().__init__(size, alpha, beta, k)

    def forward(self, input):
        if input.ndim != 4:
            raise ValueError(f"CrossMapLRN2d: expected a 4-D input (N, C, H, W), got shape {tuple(input.shape)}")
        c = input.shape[1]
        pre_pad = int((self.size - 1) / 2 + 1)
        j, i = B.xp.arange(c)[None, :], B.xp.arange(c)[:, None]
        window = ((j >= i - pre_pad + 1) & (j <= i + pre_pad - 1)) | (j == 0)           # (c out, c in)
        sq = (input * input).transpose(1, -1)                                            # channels last
        scale = (sq @ B.xp.asarray(window.T.astype(input.dtype))).transpose(1, -1)
        return input * (scale * (self.alpha / self.size) + self.k) ** -self.beta


class RMSNorm(Module):
    """Root-mean-square layer normalisation (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight over the
    trailing normalized_shape; eps=None uses the dtype's machine epsilon.

    Example:
        >>> rd.nn.RMSNorm(8)
        RMSNorm((8,), eps=None, elementwise_affine=True)
    """
    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or any(not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(f"RMSNorm: normalized_shape must be a positive int or a tuple of them, "
                             f"got {normalized_shape!r}")
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = _empty_param(shape, dtype) if elementwise_affine else None
        self.reset_parameters()

    def reset_parameters(self):
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class LayerNorm(Module):
    """Layer normalisation (Ba et al. 2016) over the last dims, as torch.nn.LayerNorm.

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, statistics over normalized_shape (biased var).
    Args: normalized_shape (int or tuple: the trailing shape); eps=1e-5; elementwise_affine=True (weight=1);
          bias=True (bias=0, only with elementwise_affine); dtype.
    Shape: (*, *normalized_shape) -> same.
    Example:
        >>> rd.nn.LayerNorm(8)
        LayerNorm((8,), eps=1e-05, elementwise_affine=True, bias=True)
    """
    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True, device=None, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        if not shape or any(not isinstance(s, int) or s <= 0 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must be a positive int or a tuple of them, "
                             f"got {normalized_shape!r}")
        _checks.positive("LayerNorm", "eps", eps)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = _empty_param(shape, dtype) if elementwise_affine else None
        self.bias = _empty_param(shape, dtype) if elementwise_affine and bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018), as torch.nn.GroupNorm: statistics per sample over groups of
    num_channels / num_groups channels; weight/bias per channel.

    Args: num_groups; num_channels (divisible by num_groups); eps=1e-5; affine=True (learn weight=1 and,
          with bias=True, bias=0); dtype.
    Shape: (N, C, *) -> same.
    Example:
        >>> rd.nn.GroupNorm(4, 16)(rd.randn(2, 16, 5, 5)).shape
        (2, 16, 5, 5)
    """
    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None, dtype=None, *, bias=True):
        if not isinstance(num_groups, int) or num_groups <= 0 or num_channels % num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        _checks.positive("GroupNorm", "eps", eps)
        super().__init__()
        self.num_groups, self.num_channels, self.eps, self.affine = num_groups, num_channels, eps, affine
        self.weight = _empty_param((num_channels,), dtype) if affine else None
        self.bias = _empty_param((num_channels,), dtype) if affine and bias else None
        self.reset_parameters()

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise ValueError(f"GroupNorm: expected input with {self.num_channels} channels (shape (N, "
                             f"{self.num_channels}, *)), got {tuple(input.shape)}")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")
