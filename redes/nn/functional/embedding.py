"""F.embedding: look up rows of an embedding matrix by integer index (one fused op, sort-based backward);
F.embedding_bag: sums, means or maxima of bags of looked-up rows, composed over it."""
from ... import autograd as _ag
from ... import backend as B
from ...ops.embedding import EmbeddingOp as _Embedding
from ...tensor import Tensor

__all__ = ["embedding", "embedding_bag"]


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


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2, scale_grad_by_freq=False, mode="mean",
                  sparse=False, per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sum, mean or max of the embedding rows of each bag of indices, without the (bags, length, dim) tensor.

    Bags: a 2-D input (B, L) holds B bags of L indices; a 1-D input with offsets (B,) holds the bags
    input[offsets[i]:offsets[i+1]] (include_last_offset: offsets has B + 1 entries, the last one the end).
    per_sample_weights (input's shape) scale each row (mode 'sum' only). Rows at padding_idx are left out
    (and not counted by 'mean'); an empty bag gives zeros.
    Shape: (B, L) or (N,) with offsets (B,) -> (B, embedding_dim)
    Example:
        >>> F.embedding_bag(rd.tensor([1, 2, 4, 5, 4, 3]), rd.randn(10, 3), rd.tensor([0, 4])).shape
        (2, 3)
    """
    name = "embedding_bag"
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"{name}: mode has to be one of sum, mean or max, got {mode!r}")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        got = getattr(weight, "shape", type(weight).__name__)
        raise ValueError(f"{name}: weight has to be a 2-D Tensor, got {got}")
    idx = B.xp.asarray(input.array if isinstance(input, Tensor) else input)
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"{name}: per_sample_weights was not None. per_sample_weights is only "
                                      f"supported for mode='sum' (got mode={mode!r})")
        if tuple(per_sample_weights.shape) != tuple(idx.shape):
            raise ValueError(f"{name}: per_sample_weights has shape {tuple(per_sample_weights.shape)}, expected the "
                             f"input's {tuple(idx.shape)}")
    if idx.ndim == 2:
        if offsets is not None:
            raise ValueError(f"{name}: if input is 2-D, offsets has to be None (each row is a bag), got offsets")
        bags, length = idx.shape
        starts = B.xp.arange(bags) * length
        flat, psw = idx.reshape(-1), None if per_sample_weights is None else per_sample_weights.reshape(-1)
    elif idx.ndim == 1:
        if offsets is None:
            raise ValueError(f"{name}: offsets has to be a 1-D Tensor when input is 1-D, got None")
        starts = B.xp.asarray(offsets.array if isinstance(offsets, Tensor) else offsets).astype(B.xp.int64)
        if starts.ndim != 1 or (starts.size and starts[0] != 0):
            raise ValueError(f"{name}: offsets has to be a 1-D Tensor starting with 0, got {starts.tolist()}")
        if include_last_offset:
            starts = starts[:-1]
        flat, psw = idx, per_sample_weights
    else:
        raise ValueError(f"{name}: input has to be 1-D or 2-D, got shape {tuple(idx.shape)}")
    n, bags = flat.shape[0], starts.shape[0]
    bag_of = B.xp.searchsorted(starts, B.xp.arange(n), side="right") - 1            # each index's bag
    keep = B.xp.ones(n, bool) if padding_idx is None else flat != padding_idx % weight.shape[0]
    rows = embedding(Tensor._wrap(flat), weight, padding_idx, max_norm, norm_type, scale_grad_by_freq)  # (n, D)
    mask = B.xp.asarray(keep.astype(weight.dtype))[:, None]
    if psw is not None:
        rows = rows * psw.reshape(n, 1)
    if mode == "max":
        out = []
        for b in range(bags):
            members = B.xp.nonzero((bag_of == b) & keep)[0]
            if members.size == 0:
                out.append(Tensor._wrap(B.xp.zeros((1, weight.shape[1]), weight.dtype)))
                continue
            block = rows[members]
            first = B.xp.argmax(block.array, axis=0)[None, :]                        # the gradient goes to the max
            out.append(block.gather(0, first))
        from ...functions import cat
        return cat(out, 0)
    index = B.xp.broadcast_to(bag_of[:, None], rows.shape)
    total = Tensor._wrap(B.xp.zeros((bags, weight.shape[1]), weight.dtype)).scatter_add(0, index, rows * mask)
    if mode == "sum":
        return total
    counts = B.xp.zeros(bags, weight.dtype)
    B.xp.add.at(counts, bag_of[keep], 1)
    return total / B.xp.maximum(counts, 1)[:, None]
