"""Dropout layers, as torch.nn: Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout (active in train
mode, identity in eval)."""
from . import _checks
from . import functional as F
from .module import Module

__all__ = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]


class _DropoutNd(Module):
    def __init__(self, p=0.5, inplace=False):
        _checks.number(type(self).__name__, "p", p)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 and 1, but got {p}")
        super().__init__()
        self.p, self.inplace = p, inplace

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p in training, scaling the rest by 1 / (1 - p) (Srivastava et al. 2014).

    Masks come from redes' global generator (reproducible with rd.manual_seed). Eval mode: identity.
    Shape: any -> same.
    Example:
        >>> rd.nn.Dropout(0.1)
        Dropout(p=0.1, inplace=False)
    """
    def forward(self, input):
        return F.dropout(input, self.p, self.training)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) inputs with probability p in training. Shape: (N, C, L) or (C, L)."""
    def forward(self, input):
        return F.dropout1d(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Zero whole channels (feature maps) of (N, C, H, W) inputs with probability p in training."""
    def forward(self, input):
        return F.dropout2d(input, self.p, self.training)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) inputs with probability p in training."""
    def forward(self, input):
        return F.dropout3d(input, self.p, self.training)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks: keeps zero mean and unit variance (see F.alpha_dropout)."""
    def forward(self, input):
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    """AlphaDropout of whole channels of (N, C, *) inputs."""
    def forward(self, input):
        return F.feature_alpha_dropout(input, self.p, self.training)
