"""F.embedding: look up rows of an embedding matrix by integer index (one fused op, sort-based backward)."""
from ... import autograd as _ag
from ... import backend as B
from ...ops.embedding import EmbeddingOp as _Embedding
from ...tensor import Tensor

__all__ = ["embedding"]


def _renorm_(weight, idx, max_norm, norm_type):
    """torch's embedding_renorm_: rows looked up whose p-norm exceeds max_norm are rescaled in place."""
    _ag.side_effect("embedding with max_norm rescales weight rows in place outside its op")
    xp = B.xp
    rows = xp.unique(idx)
    w = weight.array[rows]
    if norm_type == float("inf"):
        norms = xp.abs(w).max(axis=1)
    else:
        norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    weight.array[rows] = w * scale[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0, scale_grad_by_freq=False,
              sparse=False):
    """y[..., :] = weight[input[...], :]: each integer index picks a row.

    Args: input: integer indices of any shape, in [0, num_embeddings); weight (num_embeddings, embedding_dim);
          padding_idx: this row gets no gradient; max_norm: rows looked up with a norm_type-norm above it are
          rescaled in place to max_norm (as torch); scale_grad_by_freq: divide each row's gradient by its
          count in the batch. sparse=True is not supported (redes gradients are dense).
    Shape: (*) -> (*, embedding_dim)
    Example:
        >>> F.embedding(rd.tensor([[0, 2], [1, 0]]), rd.randn(3, 4)).shape
        (2, 2, 4)
    """
    if sparse:
        raise NotImplementedError("embedding: sparse=True is not supported in redes (gradients are dense); "
                                  "use sparse=False, whose gradient has the same values")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise RuntimeError(f"embedding: weight must be a 2-D Tensor (num_embeddings, embedding_dim), got "
                           f"{getattr(weight, 'shape', type(weight).__name__)}")
    idx = input.array if isinstance(input, Tensor) else B.xp.asarray(input)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be an integer tensor (int64 or int32), got {idx.dtype}")
    n = weight.shape[0]
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise IndexError(f"embedding: index out of range: indices span [{int(idx.min())}, {int(idx.max())}], "
                         f"but num_embeddings={n}")
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n}), got {padding_idx}")
        padding_idx %= n
    if max_norm is not None and idx.size:
        _renorm_(weight, idx, max_norm, norm_type)
    return _Embedding.apply(weight, idx, padding_idx=padding_idx, scale_grad_by_freq=scale_grad_by_freq)
