"""Embedding layers, as torch.nn.Embedding and torch.nn.EmbeddingBag: lookup tables of learned vectors."""
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import _empty_param
from .module import Module, Parameter

__all__ = ["Embedding", "EmbeddingBag"]


class Embedding(Module):
    """A table of num_embeddings vectors of size embedding_dim; forward looks rows up by integer index.

    Args: num_embeddings, embedding_dim; padding_idx: a row initialised to zeros that gets no gradient (e.g.
          for padding tokens); max_norm, norm_type: rescale looked-up rows to at most max_norm (in place, as
          torch); scale_grad_by_freq: divide gradients by the index counts in the batch; sparse must be False;
          _weight: an initial weight (num_embeddings, embedding_dim); _freeze: make it not trainable; dtype; rng.
    Init (as torch): weight ~ N(0, 1), padding row zero.
    Shape: (*) integer -> (*, embedding_dim)
    Example:
        >>> rd.nn.Embedding(10, 3)(rd.tensor([[1, 2], [4, 9]])).shape
        (2, 2, 3)
    """
    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None, *,
                 rng=None):
        for name, v in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"Embedding: {name} must be a non-negative integer, got {v!r}")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(f"Embedding: padding_idx must be within num_embeddings ({num_embeddings}), "
                                 f"got {padding_idx}")
            padding_idx %= num_embeddings
        if sparse:
            raise NotImplementedError("Embedding: sparse=True is not supported in redes (gradients are dense)")
        super().__init__()
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = _empty_param((num_embeddings, embedding_dim), dtype)
            self.reset_parameters(rng)
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight must have shape ({num_embeddings}, {embedding_dim}), got "
                                 f"{tuple(_weight.shape)}")
            self.weight = Parameter(_weight if isinstance(_weight, Tensor) else Tensor(_weight),
                                    requires_grad=not _freeze)

    def reset_parameters(self, rng=None):
        init.normal_(self.weight, generator=rng)
        if self.padding_idx is not None:
            self.weight.array[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding holding `embeddings` (2-D), not trained when freeze=True (as torch)."""
        if embeddings.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}")
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse, _weight=embeddings,
                   _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s


class EmbeddingBag(Embedding):
    """Sums, means or maxima of bags of embedding rows (F.embedding_bag), as torch.nn.EmbeddingBag.

    forward(input, offsets=None, per_sample_weights=None): input (B, L) of B bags, or 1-D with offsets (B,).
    Example:
        >>> rd.nn.EmbeddingBag(10, 3, mode="sum")(rd.tensor([[1, 2], [4, 9]])).shape
        (2, 3)
    """
    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                 mode="mean", sparse=False, _weight=None, include_last_offset=False, padding_idx=None, device=None,
                 dtype=None, *, rng=None):
        if mode not in ("sum", "mean", "max"):
            raise ValueError(f"EmbeddingBag: mode has to be one of sum, mean or max, got {mode!r}")
        super().__init__(num_embeddings, embedding_dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                         _weight, dtype=dtype, rng=rng)
        self.mode, self.include_last_offset = mode, include_last_offset

    def forward(self, input, offsets=None, per_sample_weights=None):
        return F.embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type, self.scale_grad_by_freq,
                               self.mode, self.sparse, per_sample_weights, self.include_last_offset, self.padding_idx)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
                        mode="mean", sparse=False, include_last_offset=False, padding_idx=None):
        """An EmbeddingBag holding `embeddings` (2-D), not trained when freeze=True (as torch)."""
        if embeddings.ndim != 2:
            raise ValueError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got {tuple(embeddings.shape)}")
        bag = cls(*embeddings.shape, max_norm, norm_type, scale_grad_by_freq, mode, sparse, embeddings,
                  include_last_offset, padding_idx)
        bag.weight.requires_grad_(not freeze)
        return bag

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        s += f", mode={self.mode!r}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
