"""F.scaled_dot_product_attention, F.multi_head_attention_forward and nn.MultiheadAttention against torch.

Outputs, attention weights, input gradients and every parameter gradient, float64 tight and float32 loose,
over masks (none, causal, bool, float, key padding, 3-D), layouts, need_weights / average_attn_weights and
kdim / vdim; gradcheck of the fused op; errors; init; deep copies.
"""
import copy
import math

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from redes.ops.attention import MHACore, SDPA
from tests.nn.helpers import assert_close, compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
DTYPES = [np.float64, np.float32]
# a bool key_padding_mask with a float attn_mask warns in both libraries (tested once below)
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")


def _causal_bool(L, S):             # sdpa convention: True = takes part
    return np.tril(np.ones((L, S), bool))


# ----------------------------------------------------------------------------------- scaled_dot_product_attention
SDPA_CASES = [
    # (batch dims, L, S, E, Ev, mask kind, kwargs)
    ((), 4, 4, 3, 3, None, {}),
    ((2,), 5, 3, 4, 6, None, {}),
    ((2, 3), 4, 6, 5, 2, None, {"scale": 0.7}),
    ((2, 3), 5, 5, 4, 4, "causal", {}),
    ((2, 3), 3, 5, 4, 4, "causal", {}),            # L < S: torch's top-left causal alignment
    ((2, 3), 4, 6, 4, 3, "bool", {}),
    ((2, 3), 4, 6, 4, 3, "bool_bcast", {}),
    ((2, 3), 4, 6, 4, 3, "float", {}),             # a float mask gets its own gradient
    ((2, 3), 4, 6, 4, 3, "float_bcast", {}),
]


def _sdpa_inputs(batch, L, S, E, Ev, mask, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=batch + (L, E)), rng.normal(size=batch + (S, E)), rng.normal(size=batch + (S, Ev))]
    kw = {}
    if mask == "causal":
        kw["is_causal"] = True
    elif mask == "bool":
        m = rng.uniform(size=batch + (L, S)) > 0.3
        m[..., 0] = True                            # every row keeps one position
        arrays.append(m)
    elif mask == "bool_bcast":
        arrays.append(_causal_bool(L, S) | (np.arange(S) == S - 1))
    elif mask == "float":
        arrays.append(rng.normal(size=batch + (L, S)))
    elif mask == "float_bcast":
        arrays.append(rng.normal(size=(1, L, S)))
    return arrays, kw


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch, L, S, E, Ev, mask, kw", SDPA_CASES,
                         ids=[f"{len(c[0])}b-L{c[1]}S{c[2]}-{c[5]}" for c in SDPA_CASES])
def test_sdpa_vs_torch(dtype, batch, L, S, E, Ev, mask, kw):
    arrays, extra = _sdpa_inputs(batch, L, S, E, Ev, mask)
    kw = {**kw, **extra}

    def run(f):
        return lambda q, k, v, *m: f(q, k, v, *m, **kw)
    compare_functional_with_torch(run(F.scaled_dot_product_attention), run(TF.scaled_dot_product_attention),
                                  arrays, dtype)


def test_sdpa_broadcast_batch_dims_vs_torch():
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 3, 4, 5)), rng.normal(size=(1, 3, 6, 5)), rng.normal(size=(3, 6, 2))
    compare_functional_with_torch(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, [q, k, v])


def test_sdpa_fully_masked_row_is_zero_as_torch():
    rng = np.random.default_rng(2)
    m = np.ones((4, 5), bool)
    m[1] = False                                   # query 1 sees nothing
    arrays = [rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3)), m]
    ours, _ = compare_functional_with_torch(F.scaled_dot_product_attention, TF.scaled_dot_product_attention, arrays)
    assert np.all(ours[0].numpy()[:, 1] == 0)


def test_sdpa_gqa_vs_torch():
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(2, 6, 4, 3)), rng.normal(size=(2, 2, 5, 3)), rng.normal(size=(2, 2, 5, 3))]
    compare_functional_with_torch(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True), arrays)


@pytest.mark.parametrize("mask", [None, "causal", "bool", "float"])
def test_sdpa_gradcheck(mask):
    arrays, kw = _sdpa_inputs((2,), 3, 4 if mask != "causal" else 3, 2, 3, mask, seed=4)
    assert rd.gradcheck(lambda q, k, v, *m: F.scaled_dot_product_attention(q, k, v, *m, **kw), arrays)


def test_sdpa_dropout_gradcheck_and_statistics():
    rng = np.random.default_rng(5)
    q, k, v = rng.normal(size=(2, 3, 2)), rng.normal(size=(2, 4, 2)), rng.normal(size=(2, 4, 3))

    def f(q, k, v):
        rd.manual_seed(7)                           # the same dropout mask at every evaluation
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.4)
    assert rd.gradcheck(f, [q, k, v])
    # same mask -> the output is the no-dropout weights, masked and rescaled; weights keep their mean
    ones = rd.tensor(np.eye(64)[None].repeat(8, 0).astype(np.float32))
    x = rd.zeros(8, 64, 4)
    w = F.scaled_dot_product_attention(x, x, ones, dropout_p=0.25)      # = dropped-out uniform weights
    vals = w.numpy() * 64
    assert np.all(np.isclose(vals, 0) | np.isclose(vals, 1 / 0.75, rtol=1e-5))
    assert abs((w.numpy() == 0).mean() - 0.25) < 0.03
    assert np.all(F.scaled_dot_product_attention(x, x, ones, dropout_p=1.0).numpy() == 0)


def test_sdpa_keeps_dtype_and_needs_no_grad():
    x = rd.randn(2, 3, 4)
    out = F.scaled_dot_product_attention(x, x, x, is_causal=True)
    assert out.dtype == np.float32 and out.grad_fn is None
    x64 = rd.randn(2, 3, 4, dtype=rd.float64)
    assert F.scaled_dot_product_attention(x64, x64, x64, attn_mask=rd.zeros(3, 3)).dtype == np.float64


def test_sdpa_errors():
    q, k = rd.randn(2, 4, 3), rd.randn(2, 5, 3)
    with pytest.raises(RuntimeError, match=r"attn_mask of shape \(4, 4\).*\(2, 4, 5\)"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=rd.zeros(4, 4))
    with pytest.raises(RuntimeError, match="is_causal"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=rd.zeros(4, 5), is_causal=True)
    with pytest.raises(RuntimeError, match="last dim E=3"):
        F.scaled_dot_product_attention(q, rd.randn(2, 5, 2), k)
    with pytest.raises(RuntimeError, match="same sequence length"):
        F.scaled_dot_product_attention(q, k, rd.randn(2, 6, 3))
    with pytest.raises(RuntimeError, match="dtype"):
        F.scaled_dot_product_attention(q, k, k.double())
    with pytest.raises(ValueError, match="dropout_p"):
        F.scaled_dot_product_attention(q, k, k, dropout_p=1.5)
    with pytest.raises(RuntimeError, match="multiple of key/value heads"):
        F.scaled_dot_product_attention(rd.randn(1, 3, 2, 2), rd.randn(1, 2, 2, 2), rd.randn(1, 2, 2, 2),
                                       enable_gqa=True)


# ------------------------------------------------------------------------------------------ MultiheadAttention
E, H, L, S, N = 8, 2, 5, 6, 3


class _Call:
    """Wraps an MHA (either library) so that compare_with_torch can call it with fixed masks and flags."""
    @staticmethod
    def make(lib, mha, mode, kwargs, masks):
        base = lib.nn.Module

        class Wrapper(base):
            def __init__(self):
                super().__init__()
                self.m = mha

            def forward(self, *xs):
                kw = dict(kwargs)
                kw.update({k: lib.tensor(v) for k, v in masks.items()})
                if mode == "self":
                    x, = xs
                    out = self.m(x, x, x, **kw)
                elif mode == "cross":                  # key is value, query differs (encoder-decoder)
                    q, kv = xs
                    out = self.m(q, kv, kv, **kw)
                else:
                    out = self.m(*xs, **kw)
                return out if out[1] is not None else out[0]
        return Wrapper()


def _mask_arrays(kind, batch_first, L, S, N, H, rng, unbatched=False):
    """Masks in torch's MHA convention (bool True = masked out)."""
    masks = {}
    if kind in ("causal_bool", "causal_bool_hint"):
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
    elif kind in ("causal_float", "causal_hint"):
        masks["attn_mask"] = np.triu(np.full((L, S), -np.inf), 1)
    elif kind == "float":
        masks["attn_mask"] = rng.normal(size=(L, S))
    elif kind == "float3d":
        masks["attn_mask"] = rng.normal(size=((1 if unbatched else N) * H, L, S))
    elif kind == "bool3d":
        m = rng.uniform(size=((1 if unbatched else N) * H, L, S)) > 0.6
        m[..., 0] = False
        masks["attn_mask"] = m
    elif kind in ("kpm", "kpm_causal"):
        kpm = np.zeros(S if unbatched else (N, S), bool)
        kpm[..., -2:] = True
        if not unbatched:
            kpm[0, 1] = True
        masks["key_padding_mask"] = kpm
        if kind == "kpm_causal":
            masks["attn_mask"] = np.triu(np.full((L, S), -np.inf), 1)
    elif kind == "kpm_float":
        masks["key_padding_mask"] = np.where(rng.uniform(size=(N, S)) > 0.7, -np.inf, rng.normal(size=(N, S)))
        masks["key_padding_mask"][:, 0] = 0.0
        masks["attn_mask"] = rng.normal(size=(L, S))
    return masks


def _mha_twins(E=E, H=H, **kw):
    torch.manual_seed(0)
    return rd.nn.MultiheadAttention(E, H, **kw), torch.nn.MultiheadAttention(E, H, **kw)


def _compare_mha(mode, mask, batch_first, need_weights, average, dtype=np.float64, train=True, mha_kw=None,
                 unbatched=False, seed=0):
    rng = np.random.default_rng(seed)
    mha_kw = dict(mha_kw or {})
    ours, ref = _mha_twins(batch_first=batch_first, **mha_kw)
    Lq, Sk = (L, L) if mode == "self" else (L, S)
    kdim, vdim = mha_kw.get("kdim") or E, mha_kw.get("vdim") or E

    def shape(T, C):
        if unbatched:
            return (T, C)
        return (N, T, C) if batch_first else (T, N, C)
    if mode == "self":
        inputs = [rng.normal(size=shape(Lq, E))]
    elif mode == "cross":
        inputs = [rng.normal(size=shape(Lq, E)), rng.normal(size=shape(Sk, E))]
    else:
        inputs = [rng.normal(size=shape(Lq, E)), rng.normal(size=shape(Sk, kdim)), rng.normal(size=shape(Sk, vdim))]
    kwargs = {"need_weights": need_weights, "average_attn_weights": average}
    if mask.endswith("hint"):
        kwargs["is_causal"] = True
    if mask == "kpm_causal":
        kwargs["is_causal"] = True
    masks = _mask_arrays(mask, batch_first, Lq, Sk, N, H, rng, unbatched)
    if dtype == np.float32:
        masks = {k: v.astype(np.float32) if v.dtype.kind == "f" else v for k, v in masks.items()}
    return compare_with_torch(_Call.make(rd, ours, mode, kwargs, masks), _Call.make(torch, ref, mode, kwargs, masks),
                              inputs=inputs, dtype=dtype, train=train)


MASKS = [None, "causal_bool", "causal_float", "causal_hint", "float", "float3d", "bool3d", "kpm", "kpm_causal",
         "kpm_float"]


@pytest.mark.parametrize("need_weights, average", [(False, True), (True, True), (True, False)],
                         ids=["no_weights", "avg_weights", "head_weights"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("mask", MASKS, ids=[str(m) for m in MASKS])
def test_mha_self_attention_vs_torch(mask, batch_first, need_weights, average):
    _compare_mha("self", str(mask), batch_first, need_weights, average)


@pytest.mark.parametrize("mode", ["cross", "separate"])
@pytest.mark.parametrize("mask", [None, "float", "kpm", "causal_bool"], ids=str)
@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_mha_cross_attention_vs_torch(mode, mask, need_weights, batch_first):
    _compare_mha(mode, str(mask), batch_first, need_weights, True)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", [None, "kpm", "float"], ids=str)
def test_mha_kdim_vdim_vs_torch(need_weights, batch_first, mask):
    _compare_mha("separate", str(mask), batch_first, need_weights, False, mha_kw={"kdim": 3, "vdim": 5})


@pytest.mark.parametrize("mode", ["self", "separate"])
@pytest.mark.parametrize("mask", [None, "kpm", "float3d", "causal_float"], ids=str)
@pytest.mark.parametrize("need_weights, average", [(False, True), (True, True), (True, False)])
def test_mha_unbatched_vs_torch(mode, mask, need_weights, average):
    _compare_mha(mode, str(mask), False, need_weights, average, unbatched=True)


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("mask", [None, "causal_float", "kpm"], ids=str)
def test_mha_float32_vs_torch(need_weights, mask):
    _compare_mha("self", str(mask), True, need_weights, True, dtype=np.float32)
    _compare_mha("cross", str(mask), False, need_weights, True, dtype=np.float32)


@pytest.mark.parametrize("need_weights", [False, True])
def test_mha_no_bias_and_eval_mode_vs_torch(need_weights):
    _compare_mha("self", "kpm", True, need_weights, True, mha_kw={"bias": False})
    # eval mode switches the attention dropout off, in both libraries
    _compare_mha("self", "causal_float", False, need_weights, True, train=False, mha_kw={"dropout": 0.5})


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_mha_fully_masked_rows_as_torch():
    """Padding every key: the fused path (need_weights=False) gives zeros, the weights path nan, as torch."""
    ours, ref = _mha_twins()
    ours.load_state_dict(ref.state_dict())
    x = np.random.default_rng(0).normal(size=(L, 1, E)).astype(np.float32)
    kpm = np.ones((1, L), bool)
    for need in (False, True):
        o = ours(rd.tensor(x), rd.tensor(x), rd.tensor(x), key_padding_mask=rd.tensor(kpm), need_weights=need)
        t = ref(torch.tensor(x), torch.tensor(x), torch.tensor(x), key_padding_mask=torch.tensor(kpm),
                need_weights=need)
        np.testing.assert_array_equal(np.isnan(o[0].numpy()), np.isnan(t[0].detach().numpy()))
        np.testing.assert_allclose(o[0].numpy(), t[0].detach().numpy(), atol=1e-6)


def test_mha_float_mask_gets_a_gradient_as_torch():
    rng = np.random.default_rng(1)
    x, m = rng.normal(size=(L, N, E)), rng.normal(size=(L, L))
    ours, ref = _mha_twins()
    ours.double().load_state_dict(ref.double().state_dict())
    for need in (False, True):
        xr, mr = rd.tensor(x), rd.tensor(m, requires_grad=True)
        xt, mt = torch.tensor(x), torch.tensor(m, requires_grad=True)
        w = rng.normal(size=(L, N, E))
        (ours(xr, xr, xr, attn_mask=mr, need_weights=need)[0] * rd.tensor(w)).sum().backward()
        (ref(xt, xt, xt, attn_mask=mt, need_weights=need)[0] * torch.tensor(w)).sum().backward()
        assert_close(mr.grad, mt.grad, np.float64, "attn_mask gradient")


def test_mha_dropout_in_training():
    mha = rd.nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = rd.randn(2, L, E)
    _, w = mha(x, x, x, average_attn_weights=False)
    assert (w.numpy() == 0).mean() > 0.3                 # weights are returned after dropout, as torch
    mha.eval()
    _, w = mha(x, x, x, average_attn_weights=False)
    np.testing.assert_allclose(w.numpy().sum(-1), 1, rtol=1e-5)
    mha.train()                                          # the fused path: backward uses the same mask

    def f(x):
        rd.manual_seed(3)
        return mha(x, x, x, need_weights=False)[0]
    mha.double()
    assert rd.gradcheck(f, [np.random.default_rng(0).normal(size=(2, 3, E))])


def test_mha_core_gradcheck():
    rng = np.random.default_rng(2)
    for bf in (False, True):
        qkv = rng.normal(size=(3, 2, 12))                # (L, N, 3E) or (N, L, 3E)
        bias = rng.normal(size=(3, 1, 2, 2) if bf else (2, 1, 3, 3))
        assert rd.gradcheck(lambda x, b: MHACore.apply(b, x, where=((0, 0), (0, 4), (0, 8)), embed_dim=4, heads=2,
                                                       batch_first=bf, scale=0.6), [qkv, bias])
        q, kv = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 8))
        assert rd.gradcheck(lambda a, b: MHACore.apply(None, a, b, where=((0, 0), (1, 0), (1, 4)), embed_dim=4,
                                                       heads=2, batch_first=bf), [q, kv])


def test_mha_state_dict_and_init_as_torch():
    ours, ref = _mha_twins(kdim=3, vdim=5)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert ours.in_proj_weight is None and ours.bias_k is None
    rd.manual_seed(0)
    mha = rd.nn.MultiheadAttention(64, 4)
    w = mha.in_proj_weight.numpy()
    bound = math.sqrt(6 / (64 + 192))                    # xavier_uniform_ on (3E, E)
    assert w.shape == (192, 64) and w.dtype == np.float32
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.03 * bound
    assert not mha.in_proj_bias.numpy().any() and not mha.out_proj.bias.numpy().any()
    assert np.abs(mha.out_proj.weight.numpy()).max() <= 1 / 8            # nn.Linear's U(+-1/sqrt(E))
    assert rd.nn.MultiheadAttention(8, 2, bias=False).in_proj_bias is None
    a = rd.nn.MultiheadAttention(8, 2, rng=np.random.default_rng(4)).in_proj_weight.numpy()
    b = rd.nn.MultiheadAttention(8, 2, rng=np.random.default_rng(4)).in_proj_weight.numpy()
    np.testing.assert_array_equal(a, b)


def test_mha_errors():
    with pytest.raises(ValueError, match=r"embed_dim \(10\) must be divisible by num_heads \(3\)"):
        rd.nn.MultiheadAttention(10, 3)
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        rd.nn.MultiheadAttention(8, 2, add_bias_kv=True)
    mha = rd.nn.MultiheadAttention(E, H)
    x = rd.randn(L, N, E)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(4, 4\), but should be \(5, 5\)"):
        mha(x, x, x, attn_mask=rd.zeros(4, 4))
    with pytest.raises(RuntimeError, match=r"3D attn_mask is \(2, 5, 5\), but should be \(6, 5, 5\)"):
        mha(x, x, x, attn_mask=rd.zeros(2, 5, 5))
    with pytest.raises(RuntimeError, match=r"key_padding_mask shape of \(3, 5\)"):
        mha(x, x, x, key_padding_mask=rd.zeros(5, 3).bool())
    with pytest.raises(RuntimeError, match="embedding dimension of 8, but got 4"):
        y = rd.randn(L, N, 4)
        mha(y, y, y)
    with pytest.raises(RuntimeError, match="need attn_mask"):
        mha(x, x, x, is_causal=True)
    with pytest.raises(RuntimeError, match="only bool and floating"):
        mha(x, x, x, attn_mask=rd.zeros(5, 5).long())
    with pytest.raises(RuntimeError, match="batched .3-D. query, expected key and value to be 3-D"):
        mha(x, x[0], x[0])


def test_mha_mismatched_mask_types_warn_as_torch():
    mha = rd.nn.MultiheadAttention(E, H)
    x = rd.randn(L, N, E)
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        mha(x, x, x, key_padding_mask=rd.zeros(N, L).bool(), attn_mask=rd.zeros(L, L))


def test_mha_deepcopy_is_independent():
    mha = rd.nn.MultiheadAttention(E, H)
    twin = copy.deepcopy(mha)
    assert twin.in_proj_weight is not mha.in_proj_weight
    assert isinstance(twin.in_proj_weight, rd.nn.Parameter) and twin.in_proj_weight.requires_grad
    np.testing.assert_array_equal(twin.in_proj_weight.numpy(), mha.in_proj_weight.numpy())
    with rd.no_grad():
        twin.in_proj_weight.add_(1.0)
    assert not np.allclose(twin.in_proj_weight.numpy(), mha.in_proj_weight.numpy())


def test_ops_registered():
    from redes.ops import OPS
    assert OPS["scaled_dot_product_attention"] is SDPA and OPS["multi_head_attention"] is MHACore


@pytest.mark.parametrize("dtype", DTYPES)
def test_sdpa_rows_far_apart_in_scale_as_torch(dtype):
    """The fused softmax shifts by a block's max; a row ~1e3 below it is redone with its own max (no underflow)."""
    rng = np.random.default_rng(9)
    q, k, v = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5, 3))
    bias = rng.normal(size=(2, 4, 5))
    bias[:, 1] -= 1000.0                        # row 1 sits far below the others: exp(s - block max) underflows
    bias[0, 2] += 500.0
    ours, _ = compare_functional_with_torch(F.scaled_dot_product_attention, TF.scaled_dot_product_attention,
                                            [q, k, v, bias], dtype)
    assert np.isfinite(ours[0].numpy()).all()
