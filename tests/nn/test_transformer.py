"""nn.TransformerEncoderLayer / Encoder / DecoderLayer / Decoder / Transformer against torch, plus a learning test.

Same weights (torch's state_dict loaded into redes), dropout 0 in training mode (or eval), then outputs, input
gradients and every parameter gradient over batch_first, norm_first, activation and masks.
"""
import math
import time

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
D, NH, FF, L, T, N = 8, 2, 16, 5, 4, 3


def _wrap(lib, module, call):
    """A module of `lib` whose forward is call(module, *inputs), so compare_with_torch can pass masks and flags."""
    class Wrapper(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = module

        def forward(self, *xs):
            return call(lib, self.m, *xs)
    return Wrapper()


def _compare(make, call, inputs, dtype=np.float64, train=True):
    torch.manual_seed(0)
    ours, ref = make(rd), make(torch)
    return compare_with_torch(_wrap(rd, ours, call), _wrap(torch, ref, call), inputs=inputs, dtype=dtype, train=train)


def _seq(rng, T, batch_first, unbatched=False):
    if unbatched:
        return rng.normal(size=(T, D))
    return rng.normal(size=(N, T, D) if batch_first else (T, N, D))


def _masks(kind, T, S, rng):
    """(attn mask, key padding mask, is_causal) in torch's Transformer convention (bool True = masked out)."""
    if kind == "causal_float":
        return np.triu(np.full((T, S), -np.inf), 1), None, None
    if kind == "causal_bool":
        return np.triu(np.ones((T, S), bool), 1), None, None
    if kind == "causal_hint":
        return np.triu(np.full((T, S), -np.inf), 1), None, True
    if kind == "float":
        return rng.normal(size=(T, S)), None, None
    if kind == "kpm":
        kpm = np.zeros((N, S), bool)
        kpm[1, -2:] = True
        return None, kpm, None
    if kind == "kpm_causal":
        kpm = np.zeros((N, S), np.float64)
        kpm[0, -1] = -np.inf
        return np.triu(np.full((T, S), -np.inf), 1), kpm, None
    return None, None, None


def _t(lib, a):
    return None if a is None else lib.tensor(a)


def _act(lib, activation):
    if activation == "silu_fn":
        return lib.nn.functional.silu
    if activation == "gelu_module":
        return lib.nn.GELU()
    return activation


# ------------------------------------------------------------------------------------------ encoder layer
ENC_MASKS = [None, "causal_float", "causal_bool", "causal_hint", "float", "kpm", "kpm_causal"]


@pytest.mark.parametrize("activation", ["relu", "gelu", "silu_fn", "gelu_module"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_encoder_layer_vs_torch(batch_first, norm_first, activation):
    rng = np.random.default_rng(0)
    def make(lib):
        return lib.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, activation=_act(lib, activation),
                                              batch_first=batch_first, norm_first=norm_first)
    mask, kpm, _ = _masks("kpm_causal" if norm_first else "causal_float", L, L, rng)
    call = lambda lib, m, x: m(x, src_mask=_t(lib, mask), src_key_padding_mask=_t(lib, kpm))  # noqa: E731
    _compare(make, call, [_seq(rng, L, batch_first)])


@pytest.mark.parametrize("mask", ENC_MASKS, ids=str)
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
def test_encoder_layer_masks_vs_torch(mask, norm_first):
    rng = np.random.default_rng(1)
    make = lambda lib: lib.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, batch_first=True,  # noqa: E731
                                                        norm_first=norm_first)
    attn, kpm, causal = _masks(mask, L, L, rng)
    call = lambda lib, m, x: m(x, src_mask=_t(lib, attn), src_key_padding_mask=_t(lib, kpm),  # noqa: E731
                               is_causal=bool(causal))
    _compare(make, call, [_seq(rng, L, True)])


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_float32_eval_unbatched_no_bias_vs_torch(norm_first):
    rng = np.random.default_rng(2)
    mask = np.triu(np.full((L, L), -np.inf, np.float32), 1)
    make = lambda lib: lib.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, activation="gelu",  # noqa: E731
                                                        batch_first=True, norm_first=norm_first)
    call = lambda lib, m, x: m(x, src_mask=_t(lib, mask))  # noqa: E731
    _compare(make, call, [_seq(rng, L, True)], dtype=np.float32)
    make_drop = lambda lib: lib.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.3,  # noqa: E731
                                                             norm_first=norm_first)
    _compare(make_drop, call, [_seq(rng, L, False)], train=False)                   # eval: dropout off
    _compare(make, lambda lib, m, x: m(x), [_seq(rng, L, True, unbatched=True)])   # unbatched (L, E)
    make_nb = lambda lib: lib.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, bias=False,  # noqa: E731
                                                           norm_first=norm_first)
    _compare(make_nb, call, [_seq(rng, L, False)])


# ------------------------------------------------------------------------------------------ encoder stack
@pytest.mark.parametrize("mask", [None, "causal_float", "causal_bool", "kpm"], ids=str)
@pytest.mark.parametrize("final_norm", [False, True])
def test_encoder_vs_torch(mask, final_norm):
    rng = np.random.default_rng(3)

    def make(lib):
        layer = lib.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.0, activation="gelu", batch_first=True,
                                               norm_first=True)
        return lib.nn.TransformerEncoder(layer, 2, norm=lib.nn.LayerNorm(D) if final_norm else None,
                                         enable_nested_tensor=False)
    attn, kpm, _ = _masks(mask, L, L, rng)
    call = lambda lib, m, x: m(x, mask=_t(lib, attn), src_key_padding_mask=_t(lib, kpm))  # noqa: E731
    _compare(make, call, [_seq(rng, L, True)])


def test_encoder_clones_are_independent_and_keys_match_torch():
    layer = rd.nn.TransformerEncoderLayer(D, NH, FF)
    enc = rd.nn.TransformerEncoder(layer, 3)
    ref = torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D, NH, FF), 3, enable_nested_tensor=False)
    assert [(k, tuple(v.shape)) for k, v in enc.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert list(enc.state_dict())[0] == "layers.0.self_attn.in_proj_weight"
    params = [p for m in enc.layers for p in m.parameters()]
    assert len({id(p) for p in params}) == len(params) == 3 * len(list(layer.parameters()))
    assert all(p is not q for p, q in zip(enc.layers[0].parameters(), layer.parameters()))
    np.testing.assert_array_equal(enc.layers[1].linear1.weight.numpy(), layer.linear1.weight.numpy())
    with rd.no_grad():
        enc.layers[0].linear1.weight.add_(1.0)
    assert not np.allclose(enc.layers[0].linear1.weight.numpy(), enc.layers[1].linear1.weight.numpy())
    assert sum(p.numel() for p in enc.parameters()) == sum(p.numel() for p in ref.parameters())


def test_is_causal_detection():
    from redes.nn.transformer import _detect_is_causal_mask
    m = rd.nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(m) and _detect_is_causal_mask(m == float("-inf"))
    assert not _detect_is_causal_mask(rd.zeros(4, 4)) and not _detect_is_causal_mask(None)
    assert _detect_is_causal_mask(None, True) and not _detect_is_causal_mask(m, False)


# ------------------------------------------------------------------------------------------ decoder
DEC_MASKS = [None, "causal", "causal_memkpm", "float_all"]


def _dec_masks(kind, rng):
    tgt_mask = np.triu(np.full((T, T), -np.inf), 1) if kind != "none" and kind is not None else None
    mem_mask = rng.normal(size=(T, L)) if kind == "float_all" else None
    tgt_kpm = mem_kpm = None
    if kind == "causal_memkpm":
        mem_kpm = np.zeros((N, L), bool)
        mem_kpm[2, -3:] = True
    if kind == "float_all":
        tgt_kpm = np.zeros((N, T))
        tgt_kpm[0, -1] = -np.inf
    return tgt_mask, mem_mask, tgt_kpm, mem_kpm


@pytest.mark.parametrize("mask", DEC_MASKS, ids=str)
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_norm", "pre_norm"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_decoder_layer_vs_torch(batch_first, norm_first, mask):
    rng = np.random.default_rng(4)
    make = lambda lib: lib.nn.TransformerDecoderLayer(D, NH, FF, dropout=0.0, activation="gelu",  # noqa: E731
                                                        batch_first=batch_first, norm_first=norm_first)
    tm, mm, tk, mk = _dec_masks(mask, rng)
    call = lambda lib, m, tgt, mem: m(tgt, mem, tgt_mask=_t(lib, tm), memory_mask=_t(lib, mm),  # noqa: E731
                                      tgt_key_padding_mask=_t(lib, tk), memory_key_padding_mask=_t(lib, mk))
    _compare(make, call, [_seq(rng, T, batch_first), _seq(rng, L, batch_first)])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_vs_torch(norm_first):
    rng = np.random.default_rng(5)

    def make(lib):
        layer = lib.nn.TransformerDecoderLayer(D, NH, FF, dropout=0.0, norm_first=norm_first)
        return lib.nn.TransformerDecoder(layer, 2, norm=lib.nn.LayerNorm(D))
    tm, _, _, mk = _dec_masks("causal_memkpm", rng)
    call = lambda lib, m, tgt, mem: m(tgt, mem, tgt_mask=_t(lib, tm), memory_key_padding_mask=_t(lib, mk),  # noqa: E731
                                      tgt_is_causal=True)
    _compare(make, call, [_seq(rng, T, False), _seq(rng, L, False)])
    _compare(make, call, [_seq(rng, T, False), _seq(rng, L, False)], dtype=np.float32)


# ------------------------------------------------------------------------------------------ full Transformer
@pytest.mark.parametrize("batch_first, norm_first", [(False, False), (True, True)])
def test_transformer_vs_torch(batch_first, norm_first):
    rng = np.random.default_rng(6)
    make = lambda lib: lib.nn.Transformer(D, NH, 2, 2, FF, dropout=0.0, activation="gelu",  # noqa: E731
                                          batch_first=batch_first, norm_first=norm_first)
    src_kpm = np.zeros((N, L), bool)
    src_kpm[1, -1] = True

    def call(lib, m, src, tgt):
        tgt_mask = lib.nn.Transformer.generate_square_subsequent_mask(T)
        return m(src, tgt, tgt_mask=tgt_mask, src_key_padding_mask=_t(lib, src_kpm),
                 memory_key_padding_mask=_t(lib, src_kpm))
    _compare(make, call, [_seq(rng, L, batch_first), _seq(rng, T, batch_first)])


def test_transformer_init_and_mask():
    rd.manual_seed(0)
    model = rd.nn.Transformer(16, 4, 1, 1, 32)
    ref = torch.nn.Transformer(16, 4, 1, 1, 32)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    w = model.encoder.layers[0].linear1.weight.numpy()               # xavier_uniform_ on every 2-D parameter
    bound = math.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(model.decoder.layers[0].multihead_attn.out_proj.weight.numpy()).max() > 1 / 4   # > Linear's bound
    np.testing.assert_array_equal(model.encoder.norm.weight.numpy(), 1)
    assert not model.encoder.layers[0].self_attn.in_proj_bias.numpy().any()
    m = rd.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(m.numpy(), torch.nn.Transformer.generate_square_subsequent_mask(5).numpy())
    assert m.dtype == np.float32
    assert rd.nn.Transformer.generate_square_subsequent_mask(3, dtype=rd.float64).dtype == np.float64


def test_transformer_errors():
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not 'tanh'"):
        rd.nn.TransformerEncoderLayer(D, NH, FF, activation="tanh")
    with pytest.raises(ValueError, match=r"embed_dim \(8\) must be divisible by num_heads \(3\)"):
        rd.nn.TransformerEncoderLayer(D, 3, FF)
    model = rd.nn.Transformer(D, NH, 1, 1, FF)
    with pytest.raises(RuntimeError, match="batch number of src and tgt must be equal"):
        model(rd.randn(L, 2, D), rd.randn(T, 3, D))
    with pytest.raises(RuntimeError, match="feature number of src and tgt must be equal to d_model=8"):
        model(rd.randn(L, 2, D), rd.randn(T, 2, 4))
    layer = rd.nn.TransformerEncoderLayer(D, NH, FF)
    with pytest.raises(RuntimeError, match=r"2D attn_mask is \(3, 3\), but should be \(5, 5\)"):
        layer(rd.randn(L, N, D), src_mask=rd.zeros(3, 3))


# ------------------------------------------------------------------------------------------ learning
TEXT = ("the quick brown fox jumps over the lazy dog. a small transformer learns this line by heart, "
        "one character at a time, and then it can say it back: the quick brown fox jumps over the lazy dog!")


def test_char_transformer_overfits_a_short_text():
    """A 2-layer causal transformer memorises a 200-character text: loss from ~3.7 to < 0.3 (about 25 AdamW steps,
    ~1 s on an idle machine; the limit is 30 s)."""
    rd.manual_seed(0)
    chars = sorted(set(TEXT))
    ids = np.array([chars.index(c) for c in TEXT])
    V, SEQ, DM = len(chars), 32, 32
    starts = np.arange(0, len(ids) - SEQ - 1, 8)
    x = rd.tensor(np.stack([ids[s:s + SEQ] for s in starts]))
    y = rd.tensor(np.stack([ids[s + 1:s + SEQ + 1] for s in starts]).reshape(-1))

    class CharLM(rd.nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = rd.nn.Embedding(V, DM)
            self.pos = rd.nn.Embedding(SEQ, DM)
            layer = rd.nn.TransformerEncoderLayer(DM, 4, 4 * DM, dropout=0.0, activation="gelu", batch_first=True,
                                                  norm_first=True)
            self.encoder = rd.nn.TransformerEncoder(layer, 2)
            self.head = rd.nn.Linear(DM, V)

        def forward(self, idx):
            h = self.tok(idx) + self.pos(rd.arange(idx.shape[1]))
            mask = rd.nn.Transformer.generate_square_subsequent_mask(idx.shape[1])
            return self.head(self.encoder(h, mask=mask, is_causal=True))

    model = CharLM()
    opt = rd.optim.AdamW(model.parameters(), lr=1e-2)
    start, losses = time.perf_counter(), []
    for _ in range(150):
        opt.zero_grad()
        loss = F.cross_entropy(model(x).reshape(-1, V), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if loss.item() < 0.3:
            break
    elapsed = time.perf_counter() - start
    assert losses[0] > 2.5, losses[0]
    assert losses[-1] < 0.3, f"loss only fell from {losses[0]:.3f} to {losses[-1]:.3f} in {len(losses)} steps"
    assert elapsed < 30, f"took {elapsed:.1f} s"


def test_linear_on_3d_input_regression():
    """Engine fix: F.linear folds (N, L, in) into one (N*L, in) GEMM; results, gradients (also second order) hold."""
    rng = np.random.default_rng(7)
    w, b = rng.normal(size=(5, 4)), rng.normal(size=5)
    for shape in [(2, 3, 4), (2, 1, 3, 4), (0, 3, 4), (4,)]:
        compare_functional_with_torch(F.linear, TF.linear, [rng.normal(size=shape), w, b])
    x = rng.normal(size=(2, 3, 4))
    xr, wr = rd.tensor(x, requires_grad=True), rd.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    gr, = rd.grad((F.linear(xr, wr) ** 2).sum(), [xr], create_graph=True)
    gt, = torch.autograd.grad((TF.linear(xt, wt) ** 2).sum(), [xt], create_graph=True)
    (gr * gr).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(wr.grad.numpy(), wt.grad.numpy(), rtol=1e-10)


def test_gelu_backward_reuses_cdf_regression():
    """Engine change: GELU keeps Phi(x) from forward for backward; first and second order still match torch."""
    x = np.random.default_rng(8).normal(size=(3, 4)) * 2
    xr, xt = rd.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    gr, = rd.grad(F.gelu(xr).sum(), [xr], create_graph=True)
    gt, = torch.autograd.grad(TF.gelu(xt).sum(), [xt], create_graph=True)
    np.testing.assert_allclose(gr.detach().numpy(), gt.detach().numpy(), rtol=1e-12)
    (gr * gr).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(xr.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    y = F.gelu(rd.tensor(x, requires_grad=True))
    y.backward(rd.ones(3, 4), retain_graph=True)           # the kept Phi(x) survives a retained graph
    y.backward(rd.ones(3, 4))


def test_dropout_rng_and_dtype_arguments():
    layer = rd.nn.TransformerEncoderLayer(D, NH, FF, dropout=0.5, batch_first=True)
    x = rd.randn(2, L, D, requires_grad=True)
    a, b = layer(x), layer(x)
    assert not np.allclose(a.numpy(), b.numpy())                 # training: fresh dropout masks
    a.sum().backward()
    assert x.grad is not None and all(p.grad is not None for p in layer.parameters())
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())
    w = [rd.nn.Transformer(D, NH, 1, 1, FF, rng=np.random.default_rng(3)).state_dict() for _ in range(2)]
    for k in w[0]:
        np.testing.assert_array_equal(w[0][k].numpy(), w[1][k].numpy(), err_msg=k)
    dec = rd.nn.TransformerDecoderLayer(D, NH, FF, dtype=rd.float64)
    assert all(p.dtype == np.float64 for p in dec.parameters())
    assert dec(rd.randn(T, N, D, dtype=rd.float64), rd.randn(L, N, D, dtype=rd.float64)).dtype == np.float64
