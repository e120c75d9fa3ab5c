"""Distance layers, as torch.nn: CosineSimilarity and PairwiseDistance (over F)."""
from . import functional as F
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class CosineSimilarity(Module):
    """Cosine of the angle between x1 and x2 along dim.  Shape: (*, D, *) twice -> (*, *).

    Example:
        >>> rd.nn.CosineSimilarity(dim=1)(rd.ones(2, 3), rd.ones(2, 3)).shape
        (2,)
    """
    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        if not isinstance(dim, int):
            raise TypeError(f"CosineSimilarity: dim must be an int, got {dim!r}")
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """||x1 - x2 + eps||_p over the last dim.  Shape: (N, D) twice -> (N,) (or (N, 1) with keepdim)."""
    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        if p < 0:
            raise ValueError(f"PairwiseDistance: p must be non-negative, got {p}")
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
