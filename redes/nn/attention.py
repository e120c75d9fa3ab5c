"""nn.MultiheadAttention, as torch.nn.MultiheadAttention (same parameters, names, init and forward)."""
from .. import backend as B
from .. import dtypes as _dt
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


def _param(shape, dtype):
    return Parameter(Tensor._wrap(B.xp.zeros(shape, _dt.as_dtype(dtype) or _dt.get_default_dtype())))


class MultiheadAttention(Module):
    """Multi-head attention: out = concat_h(softmax(q_h k_h^T / sqrt(head_dim) + mask) v_h) W_o^T + b_o.

    q = query W_q^T + b_q, k = key W_k^T + b_k, v = value W_v^T + b_v, with W_q, W_k, W_v the three row
    blocks of `in_proj_weight` (3E, E); self-attention (query is key is value) does all three as one GEMM,
    and the attention core is one fused op (see redes.ops.attention).

    Args:
        embed_dim: E, the model width; num_heads: H (E must be divisible by H; head_dim = E / H).
        dropout: dropout on the attention weights in training (default 0.0). bias: learn in/out biases.
        add_bias_kv, add_zero_attn: not supported (must be False).
        kdim, vdim: key / value feature sizes (default E); when they differ from E the projections are
            `q_proj_weight` (E, E), `k_proj_weight` (E, kdim), `v_proj_weight` (E, vdim) instead of in_proj_weight.
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).
        rng: numpy Generator for the initialisation (default: redes' global stream).
    Init (as torch): xavier_uniform_ on in_proj_weight (or each of q/k/v_proj_weight), zero in_proj_bias and
        out_proj.bias, out_proj.weight as nn.Linear.
    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
            average_attn_weights=True, is_causal=False) -> (output, weights or None)
        Masks: bool True = masked out, float = added. key_padding_mask (N, S); attn_mask (L, S) or
        (N*H, L, S). weights: (N, L, S) averaged over heads, or (N, H, L, S).
    Shape: query (L, N, E) / (N, L, E) / unbatched (L, E); key (S, N, kdim); value (S, N, vdim) -> like query.
    Example:
        >>> mha = rd.nn.MultiheadAttention(16, 4, batch_first=True)
        >>> x = rd.randn(2, 5, 16)
        >>> out, w = mha(x, x, x)
        >>> out.shape, w.shape
        ((2, 5, 16), (2, 5, 5))
    """
    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None, *, rng=None):
        for arg, v in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"MultiheadAttention: {arg} must be a positive integer, got {arg}={v!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                             f"({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv=True and add_zero_attn=True are not supported "
                                      "by redes")
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads, self.dropout, self.batch_first = num_heads, dropout, batch_first
        self.head_dim = embed_dim // num_heads
        if not self._qkv_same_embed_dim:                 # attributes in torch's order: state_dict keys match
            self.q_proj_weight = _param((embed_dim, embed_dim), dtype)
            self.k_proj_weight = _param((embed_dim, self.kdim), dtype)
            self.v_proj_weight = _param((embed_dim, self.vdim), dtype)
            self.in_proj_weight = None
        else:
            self.in_proj_weight = _param((3 * embed_dim, embed_dim), dtype)
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        self.in_proj_bias = _param((3 * embed_dim,), dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dtype, rng=rng)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters(rng)

    def _reset_parameters(self, rng=None):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight, generator=rng)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w, generator=rng)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        return F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=not self._qkv_same_embed_dim,
            q_proj_weight=self.q_proj_weight, k_proj_weight=self.k_proj_weight, v_proj_weight=self.v_proj_weight,
            average_attn_weights=average_attn_weights, is_causal=is_causal,
            batch_first=self.batch_first and query.ndim == 3)

    def extra_repr(self):
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, "
                f"batch_first={self.batch_first}")
