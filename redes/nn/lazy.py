"""Lazy layers, as torch.nn: LazyLinear, LazyConv{1,2,3}d, LazyConvTranspose{1,2,3}d, LazyBatchNorm{1,2,3}d
and LazyInstanceNorm{1,2,3}d. Their input size (in_features / in_channels / num_features) is read from the
first input; the layer then becomes its ordinary class (LazyLinear -> Linear) with freshly initialised
parameters, as torch's cls_to_become does.

Example:
    >>> layer = rd.nn.LazyLinear(4)
    >>> layer(rd.ones(2, 7)).shape, type(layer).__name__, layer.in_features
    ((2, 4), 'Linear', 7)
"""
import warnings

from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from .linear import Linear
from .module import Module
from .norm import BatchNorm1d, BatchNorm2d, BatchNorm3d, InstanceNorm1d, InstanceNorm2d, InstanceNorm3d

__all__ = ["LazyLinear", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
           "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "LazyInstanceNorm1d",
           "LazyInstanceNorm2d", "LazyInstanceNorm3d", "Container"]


class _LazyModule(Module):
    """Holds the constructor arguments until the first forward, which infers the missing size, turns the
    module into cls_to_become and initialises it with that size first."""
    cls_to_become = None

    def __init__(self, *args, **kwargs):
        super().__init__()
        self._lazy_args = (args, kwargs)

    def has_uninitialized_params(self):
        return True

    def _infer_size(self, input):
        raise NotImplementedError

    def initialize_parameters(self, input):
        """Become cls_to_become, built with the size read from `input` (what the first forward does)."""
        size = self._infer_size(input)
        args, kwargs = self._lazy_args
        del self._lazy_args
        target = self.cls_to_become
        self.__class__ = target
        target.__init__(self, size, *args, **kwargs)

    def forward(self, input, *rest, **kwargs):
        self.initialize_parameters(input)
        return self(input, *rest, **kwargs)

    def extra_repr(self):
        args, kwargs = self._lazy_args
        return ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])


def _channels(n):
    """Channel count of a batched (N, C, *n dims) or unbatched (C, *n dims) input."""
    def infer(self, input):
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{type(self).__name__}: expected a {n + 1}-D or {n + 2}-D input, got shape "
                             f"{tuple(input.shape)}")
        return input.shape[-n - 1]
    return infer


def _lazy(name, target, infer, doc):
    return type(name, (_LazyModule,), {"cls_to_become": target, "_infer_size": infer, "__module__": __name__,
                                       "__doc__": doc})


LazyLinear = _lazy("LazyLinear", Linear, lambda self, input: input.shape[-1],
                   "Linear whose in_features is the last dim of the first input: LazyLinear(out_features, bias=True).")
LazyConv1d, LazyConv2d, LazyConv3d = (
    _lazy(f"LazyConv{n}d", cls, _channels(n), f"Conv{n}d whose in_channels is read from the first input: "
          f"LazyConv{n}d(out_channels, kernel_size, ...).") for n, cls in ((1, Conv1d), (2, Conv2d), (3, Conv3d)))
LazyConvTranspose1d, LazyConvTranspose2d, LazyConvTranspose3d = (
    _lazy(f"LazyConvTranspose{n}d", cls, _channels(n), f"ConvTranspose{n}d whose in_channels is read from the first "
          "input.") for n, cls in ((1, ConvTranspose1d), (2, ConvTranspose2d), (3, ConvTranspose3d)))


class _LazyNorm(_LazyModule):
    """The lazy norms' arguments, with torch's defaults: affine and tracked running statistics (for the
    instance norms too, unlike InstanceNorm*d's own defaults)."""
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, device=None, dtype=None, *,
                 bias=True):
        super().__init__(eps, momentum, affine, track_running_stats, device, dtype, bias=bias)


def _lazy_norm(name, target, infer, doc):
    return type(name, (_LazyNorm,), {"cls_to_become": target, "_infer_size": infer, "__module__": __name__,
                                     "__doc__": doc})


LazyBatchNorm1d, LazyBatchNorm2d, LazyBatchNorm3d = (
    _lazy_norm(f"LazyBatchNorm{n}d", cls, lambda self, input: input.shape[1],
               f"BatchNorm{n}d whose num_features is dim 1 of the first input.")
    for n, cls in ((1, BatchNorm1d), (2, BatchNorm2d), (3, BatchNorm3d)))
LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d = (
    _lazy_norm(f"LazyInstanceNorm{n}d", cls, _channels(n), f"InstanceNorm{n}d whose num_features is read from the "
               "first input (affine and tracking running statistics by default, as torch's).")
    for n, cls in ((1, InstanceNorm1d), (2, InstanceNorm2d), (3, InstanceNorm3d)))


class Container(Module):
    """Deprecated (as in torch): a Module holding the keyword arguments as children. Use Module or Sequential."""
    def __init__(self, **kwargs):
        super().__init__()
        warnings.warn("nn.Container is deprecated. All of it's functionality is now implemented in nn.Module. "
                      "Subclass that instead.", stacklevel=2)
        for key, value in kwargs.items():
            setattr(self, key, value)
