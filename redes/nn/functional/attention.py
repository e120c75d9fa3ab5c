"""Attention as torch.nn.functional: scaled_dot_product_attention and multi_head_attention_forward.

Both run the attention core as one fused op (redes.ops.attention): scores, mask, softmax, dropout and the
product with v, forward and backward. Mask conventions follow torch, and they differ between the two:
  scaled_dot_product_attention: bool attn_mask True = the position TAKES PART; a float mask is added.
  multi_head_attention_forward (and nn.MultiheadAttention, nn.Transformer*): bool True = the position is
  MASKED OUT (key_padding_mask True = padding); a float mask is added.
"""
import math
import warnings

import numpy as np

from ... import backend as B
from ...ops.attention import MHACore, SDPA, causal_bias
from ...random import rng_for
from ...tensor import Tensor
from .linear import linear

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _as_tensor(x):
    return x if isinstance(x, Tensor) or x is None else Tensor._wrap(B.xp.asarray(x))


def _is_float(t):
    return t.dtype.kind == "f"


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
                                 enable_gqa=False):
    """softmax(query key^T * scale + mask) @ value, with dropout on the attention weights (one fused op).

    Args:
        query (..., L, E), key (..., S, E), value (..., S, Ev): leading (batch, head) dims broadcast.
        attn_mask: bool (True = take part) or float (added to the scores), broadcastable to (..., L, S).
        dropout_p: probability of zeroing an attention weight (applied whenever > 0, as torch: pass 0.0 in eval).
        is_causal: mask the upper triangle (query i sees keys 0..i); attn_mask must then be None.
        scale: score scale, default 1 / sqrt(E).
        enable_gqa: grouped-query attention: key/value may have fewer heads (dim -3) than query, repeated
            to match (query heads must be a multiple of key heads).
    Shape: (..., L, E), (..., S, E), (..., S, Ev) -> (..., L, Ev)
    Rows whose every position is masked give zeros (as torch).
    Example:
        >>> q = rd.randn(2, 4, 5, 8)
        >>> F.scaled_dot_product_attention(q, q, q, is_causal=True).shape
        (2, 4, 5, 8)
    """
    name = "scaled_dot_product_attention"
    for arg, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {arg} must be a Tensor, got {type(t).__name__}")
        if t.ndim < 2:
            raise RuntimeError(f"{name}: {arg} must have at least 2 dims (..., seq, features), got shape "
                               f"{tuple(t.shape)}")
    if not (query.dtype == key.dtype == value.dtype) or not _is_float(query):
        raise RuntimeError(f"{name}: query, key and value must share one floating dtype, got "
                           f"{query.dtype}, {key.dtype}, {value.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{name}: query's last dim E={query.shape[-1]} must equal key's, got key shape "
                           f"{tuple(key.shape)} for query shape {tuple(query.shape)}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{name}: key and value must have the same sequence length S (dim -2), got key "
                           f"{tuple(key.shape)} and value {tuple(value.shape)}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    if enable_gqa:
        key, value = _repeat_kv(query, key, name), _repeat_kv(query, value, name)
    try:
        batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise RuntimeError(f"{name}: batch dims do not broadcast: query {tuple(query.shape)}, key "
                           f"{tuple(key.shape)}, value {tuple(value.shape)}") from None
    L, S = query.shape[-2], key.shape[-2]
    bias = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError(f"{name}: attn_mask must be None when is_causal=True (the causal mask is built "
                               "from L and S)")
        bias = causal_bias(L, S, query.dtype)
    elif attn_mask is not None:
        attn_mask = _as_tensor(attn_mask)
        expected = tuple(batch) + (L, S)
        try:
            ok = np.broadcast_shapes(attn_mask.shape, expected) == expected
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"{name}: attn_mask of shape {tuple(attn_mask.shape)} does not broadcast to the "
                               f"scores' shape {expected} (batch dims + (L={L}, S={S}))")
        if attn_mask.dtype.kind == "b":
            bias = B.xp.where(attn_mask.array, 0.0, -math.inf).astype(query.dtype)
        elif _is_float(attn_mask):
            bias = attn_mask.to(query.dtype)
        else:
            raise RuntimeError(f"{name}: attn_mask must be bool or floating, got {attn_mask.dtype}")
    if scale is None:
        scale = 1.0 / math.sqrt(query.shape[-1])
    return SDPA.apply(query, key, value, bias, scale=float(scale), dropout_p=float(dropout_p))


def _repeat_kv(query, kv, name):
    """Repeat each of kv's heads (dim -3) to match query's head count (repeat_interleave, as torch's GQA)."""
    if query.ndim < 3 or kv.ndim < 3:
        raise RuntimeError(f"{name}: enable_gqa needs (..., heads, seq, features) inputs, got query "
                           f"{tuple(query.shape)} and {tuple(kv.shape)}")
    hq, hk = query.shape[-3], kv.shape[-3]
    if hq == hk:
        return kv
    if hq % hk:
        raise RuntimeError(f"{name}: with enable_gqa, query heads ({hq}) must be a multiple of key/value heads ({hk})")
    g = hq // hk
    shape = kv.shape[:-3] + (hk, g) + kv.shape[-2:]
    return kv.unsqueeze(-3).expand(shape).reshape(kv.shape[:-3] + (hq,) + kv.shape[-2:])


# ------------------------------------------------------------------------------------------ masks
def _canonical_mask(mask, mask_name, other_type, other_name, target_type, check_other=True):
    """torch's mask canonicalisation: a bool mask (True = masked out) becomes 0 / -inf of target_type."""
    if mask is None:
        return None
    mask = _as_tensor(mask)
    if mask.dtype.kind != "b" and not _is_float(mask):
        raise RuntimeError(f"only bool and floating types of {mask_name} are supported, got {mask.dtype}")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=3)
    if mask.dtype.kind == "b":
        return Tensor._wrap(B.xp.where(mask.array, -math.inf, 0.0).astype(target_type))
    return mask


def _none_or_dtype(t):
    return None if t is None else t.dtype


def _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads):
    """True for batched (3-D) input, False for unbatched (2-D); errors name the expected shapes (as torch)."""
    name = "multi_head_attention_forward"
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise RuntimeError(f"{name}: for batched (3-D) query, expected key and value to be 3-D but found "
                               f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise RuntimeError(f"{name}: for batched (3-D) query, expected key_padding_mask to be None or 2-D "
                               f"(N, S) but found a {key_padding_mask.ndim}-D tensor")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise RuntimeError(f"{name}: for batched (3-D) query, expected attn_mask to be None, 2-D (L, S) or "
                               f"3-D (N*num_heads, L, S) but found a {attn_mask.ndim}-D tensor")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise RuntimeError(f"{name}: for unbatched (2-D) query, expected key and value to be 2-D but found "
                               f"{key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise RuntimeError(f"{name}: for unbatched (2-D) query, expected key_padding_mask to be None or 1-D "
                               f"(S,) but found a {key_padding_mask.ndim}-D tensor")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise RuntimeError(f"{name}: for unbatched (2-D) query, expected attn_mask to be None, 2-D or 3-D "
                                   f"but found a {attn_mask.ndim}-D tensor")
            if attn_mask.ndim == 3:
                expected = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected:
                    raise RuntimeError(f"{name}: expected attn_mask shape to be {expected} (num_heads, L, S) but "
                                       f"got {tuple(attn_mask.shape)}")
        return False
    raise RuntimeError(f"{name}: query should be unbatched 2-D or batched 3-D, got a {query.ndim}-D tensor of shape "
                       f"{tuple(query.shape)}")


# ------------------------------------------------------------------------------------------ multi-head attention
def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False, *, batch_first=False):
    """Multi-head attention, as torch.nn.functional.multi_head_attention_forward (the math of nn.MultiheadAttention).

    out = concat_h(softmax(q_h k_h^T / sqrt(d) + mask) v_h) W_o^T + b_o, with q, k, v = the input
    projections (one GEMM when query is key is value).
    Args: as torch. Masks: bool True = masked out, float = added. attn_mask (L, S) or (N*num_heads, L, S);
        key_padding_mask (N, S). is_causal: a hint that attn_mask is the causal mask (then, without
        key_padding_mask and need_weights, the causal mask is used whatever attn_mask holds, as torch).
        batch_first (redes extension, keyword-only): inputs and output are (N, L, E) instead of (L, N, E).
    Returns: (output (L, N, E), weights (N, L, S) averaged over heads, (N, num_heads, L, S), or None).
        Unbatched inputs (L, E) give (L, E) and (L, S) / (num_heads, L, S).
    """
    name = "multi_head_attention_forward"
    if bias_k is not None or bias_v is not None:
        raise NotImplementedError(f"{name}: add_bias_kv (bias_k, bias_v) is not supported by redes")
    if add_zero_attn:
        raise NotImplementedError(f"{name}: add_zero_attn=True is not supported by redes")
    if static_k is not None or static_v is not None:
        raise NotImplementedError(f"{name}: static_k / static_v are not supported by redes")
    self_attn, kv_same = query is key and key is value, key is value
    key_padding_mask, attn_mask = _as_tensor(key_padding_mask), _as_tensor(attn_mask)
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:                       # (L, E) -> (1, L, E), batch first
        query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
        batch_first = True
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    t_ax = 1 if batch_first else 0
    L, N, E = query.shape[t_ax], query.shape[1 - t_ax], query.shape[2]
    S = key.shape[t_ax]
    if E != embed_dim_to_check:
        raise RuntimeError(f"{name}: was expecting embedding dimension of {embed_dim_to_check}, but got {E} "
                           f"(query shape {tuple(query.shape)})")
    head_dim = E // num_heads
    if head_dim * num_heads != E:
        raise ValueError(f"{name}: embed_dim ({E}) must be divisible by num_heads ({num_heads})")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise RuntimeError(f"{name}: key's sequence and batch dims {tuple(key.shape[:2])} do not match "
                               f"value's {tuple(value.shape[:2])}")
    elif tuple(key.shape) != tuple(value.shape):
        raise RuntimeError(f"{name}: key shape {tuple(key.shape)} does not match value shape {tuple(value.shape)}")
    if key.shape[1 - t_ax] != N:
        raise RuntimeError(f"{name}: key has batch size {key.shape[1 - t_ax]} but query has {N}")

    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask), "attn_mask",
                                       query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError(f"{name}: need attn_mask if specifying the is_causal hint; build it with "
                           "nn.Transformer.generate_square_subsequent_mask(L)")
    causal = False
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask, causal = None, True                    # the hint: SDPA's own causal mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (L, S):
                raise RuntimeError(f"{name}: the shape of the 2D attn_mask is {tuple(attn_mask.shape)}, but should "
                                   f"be {(L, S)} (L, S)")
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (N * num_heads, L, S):
                raise RuntimeError(f"{name}: the shape of the 3D attn_mask is {tuple(attn_mask.shape)}, but should "
                                   f"be {(N * num_heads, L, S)} (N*num_heads, L, S)")
            attn_mask = attn_mask.reshape(N, num_heads, L, S)
        else:
            raise RuntimeError(f"{name}: attn_mask's dimension {attn_mask.ndim} is not supported")
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (N, S):
            raise RuntimeError(f"{name}: expecting key_padding_mask shape of {(N, S)} (N, S), but got "
                               f"{tuple(key_padding_mask.shape)}")
    bias = attn_mask
    if key_padding_mask is not None:
        kpm = key_padding_mask.reshape(N, 1, 1, S)
        bias = kpm if bias is None else bias + kpm
    if bias is not None and bias.dtype != query.dtype:
        bias = bias.to(query.dtype)
    if causal:
        bias = causal_bias(L, S, query.dtype)
    if not training:
        dropout_p = 0.0

    srcs, where = _in_projection(query, key, value, E, in_proj_weight, in_proj_bias, self_attn, kv_same,
                                 use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight)
    scale = 1.0 / math.sqrt(head_dim)
    weights = None
    if need_weights:
        attn, weights = _attention_with_weights(srcs, where, E, num_heads, batch_first, bias, scale, dropout_p)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            weights = weights.squeeze(0)
    else:
        attn = MHACore.apply(bias, *srcs, where=where, embed_dim=E, heads=num_heads, batch_first=batch_first,
                             scale=scale, dropout_p=float(dropout_p))
    out = linear(attn, out_proj_weight, out_proj_bias)
    return (out if batched else out.squeeze(0)), weights


def _in_projection(query, key, value, E, w, b, self_attn, kv_same, separate, wq, wk, wv):
    """The q, k, v projections as few GEMMs as the inputs allow: (sources, (source, first column) of q, k, v)."""
    if not separate:
        if self_attn:
            return [linear(query, w, b)], ((0, 0), (0, E), (0, 2 * E))
        if kv_same:
            bq, bkv = (None, None) if b is None else (b[:E], b[E:])
            return [linear(query, w[:E], bq), linear(key, w[E:], bkv)], ((0, 0), (1, 0), (1, E))
        wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
    bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
    return [linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)], ((0, 0), (1, 0), (2, 0))


def _attention_with_weights(srcs, where, E, heads, batch_first, bias, scale, dropout_p):
    """The attention core as separate ops, so the (dropped-out) weights are a differentiable output too.

    As torch's need_weights path: a plain softmax, so a fully masked row is nan (SDPA's path gives zeros).
    """
    perm = (0, 2, 1, 3) if batch_first else (1, 2, 0, 3)
    q, k, v = (srcs[i][..., o:o + E] for i, o in where)
    q, k, v = (t.reshape(t.shape[:2] + (heads, E // heads)).permute(perm) for t in (q, k, v))
    scores = (q * scale) @ k.transpose(-1, -2)
    if bias is not None:
        scores = scores + bias
    weights = scores.softmax(-1)
    if dropout_p > 0.0:
        keep = rng_for(None, weights.array).random(weights.shape, dtype=np.float32) >= dropout_p
        drop = B.xp.asarray(keep).astype(weights.dtype) * (1.0 / (1.0 - dropout_p) if dropout_p < 1.0 else 0.0)
        weights = weights * Tensor._wrap(drop)
    out = (weights @ v).permute((0, 2, 1, 3) if batch_first else (2, 0, 1, 3))    # back to the input layout
    return out.reshape(out.shape[:2] + (E,)), weights
