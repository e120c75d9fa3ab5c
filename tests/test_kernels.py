"""The compiled float32 kernels (redes/_kernels.c): every op that uses one matches torch in float32 with the
kernel (a spy proves it ran) and matches its own NumPy path; the kernels reject bad arguments clearly."""
import os

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from redes import backend as B
from redes.ops.attention import _in_two_halves as _real_halves
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch

torch = pytest.importorskip("torch")
tF = torch.nn.functional
F32 = np.float32


class _Spy:
    """Stands in for the kernel module and counts the calls of each kernel."""

    def __init__(self, module):
        self.module, self.calls, self.returned = module, {}, {}

    def __getattr__(self, name):
        fn = getattr(self.module, name)

        def counted(*args):
            self.calls[name] = self.calls.get(name, 0) + 1
            result = fn(*args)
            self.returned.setdefault(name, []).append(result)
            return result
        return counted


@pytest.fixture
def spy(monkeypatch):
    """Kernels on, behind a spy; the test asserts which kernels its op called."""
    if B._compiled is None:
        pytest.fail("redes._kernels is not built: `pip install -e .` compiles it (needs a C compiler)")
    s = _Spy(B._compiled)
    monkeypatch.setattr(B, "kernels", s)
    return s


@pytest.fixture
def numpy_path():
    """Kernels off for the test's duration (the NumPy fallback)."""
    was = B.set_kernels(False)
    yield
    B.set_kernels(was)


def test_kernels_are_built_by_the_install():
    if os.environ.get("REDES_KERNELS", "1") == "0":
        pytest.skip("turned off by REDES_KERNELS=0")
    assert B._compiled is not None and B.kernels is B._compiled


def test_set_kernels_switches_the_fast_path(numpy_path):
    assert B.kernels is None and B.fused(np.zeros(3, F32)) is None
    B.set_kernels(True)
    assert B.fused(np.zeros(3, F32)) is B._compiled
    assert B.fused(np.zeros(3)) is None                        # float64: NumPy code
    assert B.fused(np.zeros((3, 4), F32).T) is None             # not C-contiguous
    B.set_kernels(False)


def test_non_native_byte_order_stays_on_numpy(spy):
    """A big-endian float32 array has dtype.char 'f' too: the ops must not hand it to a kernel."""
    x = (np.random.default_rng(13).standard_normal((3, 70)) * 2).astype(">f4")
    ref = tF.gelu(torch.tensor(x.astype(F32))).numpy()
    np.testing.assert_allclose(F.gelu(rd.tensor(x)).numpy(), ref, rtol=1e-5, atol=2e-6)
    assert B.fused(x) is None and B.fused_copy(x)[0] is None and "gelu" not in spy.calls


def _both_paths(fn):
    """fn() with kernels on, then off: both results as NumPy arrays."""
    out = []
    for on in (True, False):
        was = B.set_kernels(on)
        try:
            out.append([np.asarray(a) for a in fn()])
        finally:
            B.set_kernels(was)
    return out


def _grads(f, *arrays):
    """f's output and the gradients of a fixed weighted sum of it, wrt each array."""
    ts = [rd.tensor(a, requires_grad=True) for a in arrays]
    y = f(*ts)
    w = np.random.default_rng(9).standard_normal(y.shape).astype(y.numpy().dtype)
    (y * rd.tensor(w)).sum().backward()
    return [y.numpy()] + [t.grad.numpy() for t in ts]


# --------------------------------------------------------------------------- finite differences, in float32
def _fd_check(spy, kernels, fn, shapes, eps=1e-2, seed=14, samples=40):
    """The kernel path's gradients against central differences of the same float32 function, at `samples`
    random elements of each input.

    float64 gradchecks (rd.gradcheck) run the NumPy code, so this one stays in float32: a step of 1e-2 and the
    weighted sum taken in float64 keep the difference quotient within ~1e-3 of the derivative, enough to catch
    a wrong formula, factor or transposition."""
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape).astype(F32) for shape in shapes]
    ts = [rd.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    w = rng.uniform(0.5, 1.5, out.shape)
    (out * rd.tensor(w.astype(F32))).sum().backward()
    assert set(kernels) <= set(spy.calls), f"kernels not run: {set(kernels) - set(spy.calls)}"
    declined = {k for k in kernels if False in spy.returned[k]}       # (kernels that may decline return False)
    assert not declined, f"kernels declined: {declined}"

    def loss(values):
        with rd.no_grad():
            return float((fn(*[rd.tensor(v) for v in values]).numpy().astype(np.float64) * w).sum())
    for i, (a, t) in enumerate(zip(arrays, ts)):
        where = rng.choice(a.size, min(samples, a.size), replace=False)
        numeric = np.empty(where.size)
        for n, j in enumerate(where):
            hi, lo = [v.copy() for v in arrays], [v.copy() for v in arrays]
            hi[i].flat[j] += eps
            lo[i].flat[j] -= eps
            numeric[n] = (loss(hi) - loss(lo)) / (2 * eps)
        np.testing.assert_allclose(t.grad.numpy().reshape(-1)[where], numeric, rtol=2e-2, atol=2e-3,
                                   err_msg=f"input {i} vs central differences")


def _lstm_out(x):
    rd.manual_seed(2)
    return rd.nn.LSTM(3, 4)(x)[0]


def _mha_out(q, kv):
    rd.manual_seed(4)
    mask = rd.tensor(np.triu(np.full((3, 4), -np.inf, F32), 1))
    return rd.nn.MultiheadAttention(8, 2, batch_first=True)(q, kv, kv, attn_mask=mask, need_weights=False)[0]


def _gru_out(x, h0):
    rd.manual_seed(3)
    return rd.nn.GRU(3, 4)(x, h0)[0]


_W = np.random.default_rng(15).standard_normal((2, 4, 3, 3)).astype(F32)


def _conv_relu_pool(x):
    """ReLU's dy and y both in the conv's NHWC layout. The weights are constants: nudging a weight moves
    thousands of pre-activations across ReLU's and the pool's kinks, where differences say nothing."""
    return F.max_pool2d(F.relu(F.conv2d(x, rd.tensor(_W), padding=1)), 2)


FD_CASES = [
    ("gelu", ["gelu"], lambda x: F.gelu(x * 2), [(3, 5)]),
    ("layer_norm", ["layer_norm_forward", "layer_norm_backward"],
     lambda x, w, b: F.layer_norm(x, (6,), w, b), [(4, 6), (6,), (6,)]),
    ("attention", ["softmax_rows", "softmax_backward_rows"],
     lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [(1, 2, 3, 2)] * 3),
    ("max_pool", ["maxpool2d_forward", "maxpool2d_backward"], lambda x: F.max_pool2d(x, 2), [(1, 2, 4, 4)]),
    ("conv", ["im2col", "col2im"], lambda x, w: F.conv2d(x, w, stride=(1, 2), padding=1), [(2, 4, 5, 6), (3, 4, 3, 3)]),
    ("conv_small", ["conv_small_forward", "conv_small_dweight"],
     lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1), [(2, 3, 5, 6), (4, 3, 3, 2), (4,)]),
    ("conv_relu_pool", ["im2col", "col2im", "relu_backward", "maxpool2d_backward"], _conv_relu_pool,
     [(2, 4, 30, 35)]),
    ("lstm", ["lstm_forward_fm", "lstm_backward_fm"], _lstm_out, [(3, 2, 3)]),
    ("linear", ["linear_forward", "linear_backward"], F.linear, [(4, 6), (5, 6), (5,)]),
    ("linear_3d", ["linear_forward", "linear_backward"], F.linear, [(2, 3, 6), (5, 6), (5,)]),
    ("multihead_attention", ["attention_forward", "attention_backward"], _mha_out, [(2, 3, 8), (2, 4, 8)]),
    ("gru", ["gru_cell_forward", "gru_cell_backward"], _gru_out, [(3, 2, 3), (1, 2, 4)]),
    ("batch_norm", ["batch_norm_forward", "batch_norm_backward"],
     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(3, 4, 2, 5), (4,), (4,)]),
]


@pytest.mark.parametrize("kernels, fn, shapes", [c[1:] for c in FD_CASES], ids=[c[0] for c in FD_CASES])
def test_kernel_paths_match_central_differences(spy, kernels, fn, shapes):
    _fd_check(spy, kernels, fn, shapes)


# ------------------------------------------------------------------------------------------------ GELU
@pytest.mark.parametrize("shape", [(4, 37), (2, 3, 70001), ()])
def test_gelu_matches_torch(spy, shape):
    x = (np.random.default_rng(0).standard_normal(shape) * 3).astype(F32)
    compare_functional_with_torch(F.gelu, tF.gelu, [x], F32, rtol=1e-5, atol=2e-6)
    assert spy.calls["gelu"] >= 1


def test_gelu_kernel_equals_the_numpy_formula_with_edge_values():
    x = np.concatenate([np.linspace(-14, 14, 10001), [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30]]).astype(F32)
    def y_and_slope():                                          # dy = 1: the gradient is the slope itself
        t = rd.tensor(x, requires_grad=True)
        y = t.gelu()
        y.backward(rd.ones_like(y))
        return [y.numpy(), t.grad.numpy()]
    with np.errstate(invalid="ignore"):                         # inf * 0 in the slope, on both paths
        on, off = _both_paths(y_and_slope)
    for a, b in zip(on, off):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7, equal_nan=True)
    assert np.signbit(on[0][10002]) and np.isnan(on[0][-3])          # gelu(-0) = -0; NaN stays NaN


def test_gelu_kernel_forward_and_backward_against_float64_torch(spy):
    """The kernel's y (forward) and dx (backward, recomputed from x) against torch in float64. Bound: A&S 7.1.26's
    7.5e-8 in Phi, times |x|, plus float32 rounding: |y - y64| <= 2.5e-7 (1 + |x|), |dx - dx64| <= 5e-7 |dy| (1 + |x|)."""
    rng = np.random.default_rng(3)
    x = np.concatenate([np.linspace(-12, 12, 20001), rng.standard_normal(5000) * 3]).astype(F32)
    dy = rng.standard_normal(x.shape).astype(F32)
    t = rd.tensor(x, requires_grad=True)
    y = F.gelu(t)
    y.backward(rd.tensor(dy))
    assert spy.calls["gelu"] == 2
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ty = tF.gelu(tx)
    ty.backward(torch.tensor(dy.astype(np.float64)))
    assert np.all(np.abs(y.numpy() - ty.detach().numpy()) <= 2.5e-7 * (1 + np.abs(x)))
    assert np.all(np.abs(t.grad.numpy() - tx.grad.numpy()) <= 5e-7 * np.abs(dy) * (1 + np.abs(x)))


def test_gelu_backward_with_a_non_contiguous_gradient_uses_the_numpy_slope(spy):
    """dy that the kernel cannot take (a transposed view): the slope is recomputed by the NumPy formula."""
    x = np.random.default_rng(5).standard_normal((6, 7)).astype(F32)
    dy = np.random.default_rng(6).standard_normal((7, 6)).astype(F32).T
    t = rd.tensor(x, requires_grad=True)
    F.gelu(t).backward(rd.tensor(dy))
    tx = torch.tensor(x, requires_grad=True)
    tF.gelu(tx).backward(torch.tensor(dy))
    np.testing.assert_allclose(t.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=2e-6)


# ------------------------------------------------------------------------------------------- Embedding
@pytest.mark.parametrize("idx_shape, padding_idx", [((32, 64), None), ((50,), 3), ((4, 5, 6), None)])
def test_embedding_backward_kernel_against_float64_torch_and_numpy(spy, idx_shape, padding_idx):
    """The scatter-add sums each index's rows in float32, in row order: within 1e-6 (relative, of the sum of |dy|
    over the row's uses) of torch's float64 gradient; the NumPy path (sort, reduceat) agrees to float32 rounding."""
    rng = np.random.default_rng(7)
    w = rng.standard_normal((11, 16)).astype(F32)
    idx = rng.integers(0, 11, idx_shape)
    dy = rng.standard_normal(idx_shape + (16,)).astype(F32)

    def grad():
        wt = rd.tensor(w, requires_grad=True)
        F.embedding(rd.tensor(idx), wt, padding_idx=padding_idx).backward(rd.tensor(dy))
        return wt.grad.numpy()
    on = grad()
    assert spy.calls["embedding_backward"] == 1
    was = B.set_kernels(False)
    try:
        off = grad()
    finally:
        B.set_kernels(was)
    wt = torch.tensor(w.astype(np.float64), requires_grad=True)
    tF.embedding(torch.tensor(idx), wt, padding_idx=padding_idx).backward(torch.tensor(dy.astype(np.float64)))
    scale = np.zeros_like(w, dtype=np.float64)
    np.add.at(scale, idx.reshape(-1), np.abs(dy.reshape(-1, 16)))
    assert np.all(np.abs(on - wt.grad.numpy()) <= 1e-6 * (scale + 1e-30))
    np.testing.assert_allclose(on, off, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("shape, normalized, kw", [((6, 5, 32), (32,), {}), ((4, 3, 8), (3, 8), {}),
                                                  ((7, 16), (16,), dict(elementwise_affine=False)),
                                                  ((5, 16), (16,), dict(bias=False, eps=1e-3))])
def test_layer_norm_matches_torch(spy, shape, normalized, kw):
    compare_with_torch(rd.nn.LayerNorm(normalized, **kw), torch.nn.LayerNorm(normalized, **kw), shape, F32)
    assert spy.calls["layer_norm_forward"] == 1 and spy.calls["layer_norm_backward"] == 1


def test_layer_norm_kernel_many_rows_offset_and_strided_gradient(spy):
    """70 rows (two blocks of 32 summed in float, then 6) far from zero (1e4 + noise: the corrected two-pass
    statistics), xhat recomputed in backward from x, and a gradient that arrives transposed (not C-contiguous),
    against torch in float64; the kernels switched off between forward and backward do not matter."""
    rng = np.random.default_rng(4)
    x = (1e4 + rng.standard_normal((70, 24))).astype(F32)
    w, b = rng.standard_normal(24).astype(F32), rng.standard_normal(24).astype(F32)
    up = rng.standard_normal((24, 70)).astype(F32)
    ts = [rd.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = (F.layer_norm(*ts[:1], (24,), ts[1], ts[2]).T * rd.tensor(up)).sum()
    was = B.set_kernels(False)
    try:
        out.backward()
    finally:
        B.set_kernels(was)
    tt = [torch.tensor(a.astype(np.float64), requires_grad=True) for a in (x, w, b)]
    (tF.layer_norm(tt[0], (24,), tt[1], tt[2]).T * torch.tensor(up.astype(np.float64))).sum().backward()
    for got, ref, name in zip(ts, tt, ("x", "weight", "bias")):
        np.testing.assert_allclose(got.grad.numpy(), ref.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=name)
    assert spy.calls["layer_norm_forward"] == 1 and spy.calls["layer_norm_backward"] == 1


def test_layer_norm_weight_grad_only(spy):
    """Input not requiring grad: the kernel computes dw, db and no dx."""
    ln, ref = rd.nn.LayerNorm(8), torch.nn.LayerNorm(8)
    rd.manual_seed(1)
    x = np.random.default_rng(2).standard_normal((5, 8)).astype(F32)
    ln(rd.tensor(x)).pow(2).sum().backward()
    ref(torch.tensor(x)).pow(2).sum().backward()
    np.testing.assert_allclose(ln.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ln.bias.grad.numpy(), ref.bias.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert spy.calls["layer_norm_backward"] == 1


# ------------------------------------------------------------------------------------------- BatchNorm
class _ChannelsLast:
    """Feeds the wrapped norm its input in channels-last memory under the NCHW shape, as a redes conv's output."""

    def __init__(self, m):
        self.m = m

    def __getattr__(self, name):
        return getattr(self.m, name)

    def __call__(self, x):
        if isinstance(x, rd.Tensor):
            x = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)
            assert not x.array.flags.c_contiguous
        return self.m(x)


BN_CASES = [("2d", lambda nn: nn.BatchNorm2d(5), (3, 5, 7, 9), False),
            ("2d_channels_last", lambda nn: nn.BatchNorm2d(5), (3, 5, 7, 9), True),
            ("2d_channels_last_wide", lambda nn: nn.BatchNorm2d(37, momentum=0.3), (2, 37, 5, 3), True),
            ("1d_rows", lambda nn: nn.BatchNorm1d(6), (11, 6), False),
            ("1d_sequence", lambda nn: nn.BatchNorm1d(4, eps=1e-3), (3, 4, 13), False),
            ("3d", lambda nn: nn.BatchNorm3d(3), (2, 3, 4, 5, 3), False),
            ("no_affine", lambda nn: nn.BatchNorm2d(4, affine=False), (2, 4, 5, 5), True),
            ("cumulative_average", lambda nn: nn.BatchNorm2d(4, momentum=None), (2, 4, 6, 5), False),
            ("no_running_stats", lambda nn: nn.BatchNorm2d(3, track_running_stats=False), (4, 3, 3, 3), True)]


@pytest.mark.parametrize("make, shape, channels_last", [c[1:] for c in BN_CASES], ids=[c[0] for c in BN_CASES])
def test_batch_norm_kernel_matches_torch(spy, make, shape, channels_last):
    """Both memory layouts, running statistics over 3 steps (compare_with_torch checks the buffers), then eval."""
    ours, ref = make(rd.nn), make(torch.nn)
    wrap = _ChannelsLast if channels_last else (lambda m: m)
    compare_with_torch(wrap(ours), wrap(ref), shape, F32, steps=3, low=-1.0, high=3.0)
    assert spy.calls["batch_norm_forward"] == 3 and spy.calls["batch_norm_backward"] == 3
    compare_with_torch(wrap(ours), wrap(ref), shape, F32, train=False)       # eval: the running statistics


def test_batch_norm_float64_and_other_layouts_use_numpy(spy):
    compare_with_torch(rd.nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3), (2, 3, 4, 4), np.float64)
    x = rd.tensor(np.random.default_rng(3).standard_normal((4, 6, 3, 5)).astype(F32))[:, ::2]     # strided
    assert x.array.base is not None and not x.array.flags.c_contiguous
    np.testing.assert_allclose(F.batch_norm(x, None, None, training=True).numpy(),
                               tF.batch_norm(torch.tensor(x.numpy()), None, None, training=True).numpy(), atol=1e-5)
    assert "batch_norm_forward" not in spy.calls


def test_batch_norm_kernel_with_dy_in_another_layout(spy):
    """x channels-last, dy channels-first (a consumer that made its gradient contiguous): dy is copied over."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 8, 5, 6)).astype(F32)
    g = rng.standard_normal(x.shape).astype(F32)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(rng.standard_normal(8).astype(F32), requires_grad=True)
    (tF.batch_norm(xt, None, None, wt, None, training=True) * torch.tensor(g)).sum().backward()
    xr = rd.tensor(np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2), requires_grad=True)
    wr = rd.tensor(wt.detach().numpy(), requires_grad=True)
    y = F.batch_norm(xr, None, None, wr, None, training=True)
    assert y.array.strides == xr.array.strides                         # the output keeps x's layout
    (y.contiguous() * rd.tensor(g)).sum().backward()
    np.testing.assert_allclose(xr.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(wr.grad.numpy(), wt.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert spy.calls["batch_norm_backward"] == 1


def test_batch_norm_kernel_equals_the_numpy_path_at_edge_values():
    """A channel far from 0 (mean 1e4: the two-float mean), a constant one (var 0), a tiny one and a NaN one."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 5, 4, 7))
    x[:, 0] = x[:, 0] * 0.5 + 1e4
    x[:, 1] = 2.5
    x[:, 2] *= 1e-20
    x[2, 3, 1, 1] = np.nan
    w, b = rng.standard_normal(5), rng.standard_normal(5)
    for layout in (x, np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)):
        on, off = _both_paths(lambda: _grads(lambda t, w, b: F.batch_norm(t, None, None, w, b, training=True),
                                             layout.astype(F32), w.astype(F32), b.astype(F32)))
        for what, a, ref in zip(("y", "dx", "dw", "db"), on, off):
            assert np.array_equal(np.isnan(a), np.isnan(ref)), what
            np.testing.assert_allclose(a, ref, rtol=2e-4, atol=2e-4, equal_nan=True, err_msg=what)
        assert np.all(on[0][:, 1] == b[1].astype(F32))                     # a constant channel gives b exactly


# ------------------------------------------------------------------------------------ attention softmax
def _sdpa(mask_shape, causal=False):
    def ours(q, k, v, *m):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=m[0] if m else None, is_causal=causal)

    def ref(q, k, v, *m):
        return tF.scaled_dot_product_attention(q, k, v, attn_mask=m[0] if m else None, is_causal=causal)
    return ours, ref


@pytest.mark.parametrize("mask_shape, causal", [(None, False), (None, True), ((5, 7), False), ((3, 5, 7), False),
                                                ((1, 1, 5, 7), False), ((2, 1, 5, 7), False)])
def test_attention_softmax_matches_torch(spy, mask_shape, causal):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s).astype(F32) for s in ((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)))
    arrays = [q, k, v] + ([rng.standard_normal(mask_shape).astype(F32)] if mask_shape else [])
    if causal:
        arrays = [q, k[:, :, :5], v[:, :, :5]]
    compare_functional_with_torch(*_sdpa(mask_shape, causal), arrays, F32)
    # a mask that varies over the batch dim does not repeat over s's rows: the NumPy path handles it
    tiles = mask_shape is None or mask_shape[0] == 1 or len(mask_shape) < 4
    assert spy.calls.get("softmax_rows", 0) == (1 if tiles else 0)
    assert spy.calls.get("softmax_backward_rows", 0) == 1


_ONE_CPU = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 if hasattr(os, "sched_getaffinity") else
                              (os.cpu_count() or 1) < 2, reason="attention splits its batch only with 2+ CPUs")


@_ONE_CPU
@pytest.mark.parametrize("with_mask", [False, True])
def test_attention_in_two_halves_matches_torch(spy, with_mask, monkeypatch):
    """A batch large enough for two threads (8 x 4 x 64 x 64 x 32 multiply-adds): each half runs the softmax
    kernels once. A mask that requires grad sends backward to the one-thread path."""
    from redes.ops import attention
    monkeypatch.setattr(attention, "_SPLIT_MIN_WORK", 1 << 22)     # as with REDES_ATTENTION_THREADS=1
    rng = np.random.default_rng(21)
    arrays = [rng.standard_normal((8, 4, 64, 32)).astype(F32) for _ in range(3)]
    if with_mask:
        arrays.append(rng.standard_normal((64, 64)).astype(F32))
    compare_functional_with_torch(*_sdpa((64, 64) if with_mask else None, not with_mask), arrays, F32)
    assert spy.calls["softmax_rows"] == 2
    assert spy.calls["softmax_backward_rows"] == (1 if with_mask else 2)


@_ONE_CPU
def test_multihead_attention_in_two_halves_equals_one_thread(monkeypatch):
    """The benchmark's attention shape, split over two threads or not: the same products per head, the same bits."""
    from redes.ops import attention
    monkeypatch.setattr(attention, "_SPLIT_MIN_WORK", 1 << 22)
    monkeypatch.setattr(attention, "_KERNEL_HEAD_MAX", 0)          # the NumPy path (the kernel: tests below)
    rd.manual_seed(4)
    mha = rd.nn.MultiheadAttention(128, 4, batch_first=True)
    rng = np.random.default_rng(22)
    x = rng.standard_normal((16, 64, 128)).astype(F32)
    g = rng.standard_normal((16, 64, 128)).astype(F32)
    mask = rd.tensor(np.triu(np.full((64, 64), -np.inf, F32), 1))

    def run():
        t = rd.tensor(x, requires_grad=True)
        y, _ = mha(t, t, t, attn_mask=mask, need_weights=False)
        y.backward(rd.tensor(g))
        grads = [t.grad.numpy()] + [p.grad.numpy().copy() for p in mha.parameters()]
        mha.zero_grad()
        return [y.numpy()] + grads
    calls = []
    monkeypatch.setattr(attention, "_in_two_halves", lambda fn, n: calls.append(n) or _real_halves(fn, n))
    split = run()
    assert calls == [16, 16]                                   # forward and backward each ran in two halves
    monkeypatch.setattr(attention, "_SPLIT_MIN_WORK", 1 << 62)
    whole = run()
    assert calls == [16, 16]
    for a, b in zip(split, whole):
        np.testing.assert_array_equal(a, b)


def test_attention_halves_raise_the_worker_threads_error():
    def fn(a, b):
        if a == 0:
            raise ValueError("first half failed")
    with pytest.raises(ValueError, match="first half failed"):
        _real_halves(fn, 4)


def test_attention_with_dropout_equals_the_numpy_path():
    """Dropout after the compiled softmax: the same seed gives the same mask, so both paths agree."""
    rng = np.random.default_rng(12)
    q, k, v = (rng.standard_normal((2, 3, 6, 4)).astype(F32) for _ in range(3))

    def run():
        rd.manual_seed(3)
        return _grads(lambda *t: F.scaled_dot_product_attention(*t, dropout_p=0.3, is_causal=True), q, k, v)
    on, off = _both_paths(run)
    assert (on[0] == 0).any()                                   # dropout did drop
    for a, b in zip(on, off):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_softmax_kernel_masked_rows_and_extremes():
    """Fully masked rows give zeros, +inf gives NaN where torch's exact softmax does, large scores don't overflow."""
    s = np.array([[-np.inf, -np.inf, -np.inf], [1e30, 0.0, -1e30], [np.inf, 1.0, 0.0], [np.nan, 0.0, 1.0],
                  [88.0, 87.0, -100.0]], F32)
    ours = s.copy()
    B._compiled.softmax_rows(ours, None, 3, 1.0)
    ref = torch.softmax(torch.tensor(s), -1).numpy()
    ref[0] = 0.0                                          # torch's SDPA, like redes, gives a masked row zeros
    ref[2] = [np.nan, 0.0, 0.0]                           # as the exact NumPy path: exp(inf - 0) / inf
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_softmax_kernel_accuracy_against_float64():
    s = (np.random.default_rng(4).standard_normal((300, 64)) * 20).astype(F32)
    ours = s.copy()
    B._compiled.softmax_rows(ours, None, 64, 1.0)
    e = np.exp(s.astype(np.float64) - s.max(1, keepdims=True))
    np.testing.assert_allclose(ours, e / e.sum(1, keepdims=True), rtol=3e-6, atol=1e-12)


def test_softmax_kernels_scale_the_scores_against_float64():
    """softmax_rows(s, bias, cols, scale) = softmax(s * scale + bias); softmax_backward_rows(ds, p, cols, scale) is
    the gradient of the unscaled s: scale * p (ds - rowsum(ds p)). Both against float64 within float32 rounding."""
    rng = np.random.default_rng(8)
    s = (rng.standard_normal((6, 40, 40)) * 10).astype(F32)
    bias = np.triu(np.full((40, 40), -np.inf, F32), 1)
    ours = s.copy()
    B._compiled.softmax_rows(ours, bias, 40, 0.125)
    z = s.astype(np.float64) * 0.125 + bias
    e = np.exp(z - z.max(-1, keepdims=True))
    p64 = e / e.sum(-1, keepdims=True)
    np.testing.assert_allclose(ours, p64, rtol=3e-6, atol=1e-12)
    dp = rng.standard_normal(s.shape).astype(F32)
    ds = dp.copy()
    B._compiled.softmax_backward_rows(ds, ours, 40, 0.125)
    p = ours.astype(np.float64)
    ref = 0.125 * p * (dp - (dp * p).sum(-1, keepdims=True))
    np.testing.assert_allclose(ds, ref, rtol=1e-5, atol=1e-7)


def test_transformer_layer_float32_matches_torch(spy):
    """The whole pre-norm encoder layer of the benchmark (GELU, LayerNorm, causal attention) in float32."""
    kw = dict(d_model=16, nhead=4, dim_feedforward=32, dropout=0.0, activation="gelu", batch_first=True,
              norm_first=True)
    mask = np.triu(np.full((6, 6), -np.inf, F32), 1)
    compare_with_torch(rd.nn.TransformerEncoderLayer(**kw), torch.nn.TransformerEncoderLayer(**kw),
                       inputs=[np.random.default_rng(5).standard_normal((3, 6, 16)), mask], dtype=F32)
    # the mask is an input that needs its gradient here: backward after the attention kernel is the NumPy path's
    assert {"gelu", "layer_norm_forward", "layer_norm_backward", "attention_forward", "softmax_backward_rows"} <= set(
        spy.calls) and "attention_backward" not in spy.calls


# ---------------------------------------------------------------------------------- max pool, conv, ReLU
@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1),
                                    dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)),
                                    dict(kernel_size=3, stride=2, ceil_mode=True)])
def test_max_pool_matches_torch(spy, kwargs):
    compare_with_torch(rd.nn.MaxPool2d(**kwargs), torch.nn.MaxPool2d(**kwargs), (2, 5, 9, 8), F32)
    assert spy.calls["maxpool2d_forward"] == 1 and spy.calls["maxpool2d_backward"] == 1


def test_max_pool1d_matches_torch(spy):
    compare_with_torch(rd.nn.MaxPool1d(3, stride=2, padding=1), torch.nn.MaxPool1d(3, stride=2, padding=1), (2, 5, 11),
                       F32)
    assert spy.calls["maxpool2d_forward"] == 1 and spy.calls["maxpool2d_backward"] == 1


def test_max_pool_kernel_ties_nans_and_indices(spy):
    x = np.random.default_rng(6).integers(-2, 3, (2, 3, 8, 8)).astype(F32)      # many ties
    x[0, 0, 0, 1] = x[1, 2, 5, 5] = x[1, 2, 4, 4] = np.nan
    rd_y, rd_i = F.max_pool2d(rd.tensor(x), 2, return_indices=True)
    t_y, t_i = tF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(rd_y.numpy(), t_y.numpy())
    np.testing.assert_array_equal(rd_i.numpy(), t_i.numpy())
    on, off = _both_paths(lambda: _grads(lambda t: F.max_pool2d(t, 3, 2, 1), x))
    np.testing.assert_array_equal(on[0], off[0])
    np.testing.assert_allclose(on[1], off[1], rtol=1e-6)        # overlapping windows: sums in another order


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(stride=2, padding=2, dilation=2), dict(padding=(0, 1))])
def test_conv_im2col_col2im_match_torch(spy, kwargs):
    compare_with_torch(rd.nn.Conv2d(8, 6, 3, **kwargs), torch.nn.Conv2d(8, 6, 3, **kwargs), (2, 8, 9, 10), F32)
    assert spy.calls["im2col"] == 1 and spy.calls["col2im"] == 1


@pytest.mark.parametrize("chunk_rows", [50, 200])       # 90 output pixels an image: 1 image a chunk, then 2 (+1)
def test_conv_in_chunks_of_images_matches_torch(spy, monkeypatch, chunk_rows):
    from redes.ops import conv
    monkeypatch.setattr(conv, "_CHUNK_ROWS", chunk_rows)
    compare_with_torch(rd.nn.Conv2d(8, 6, 3, padding=1), torch.nn.Conv2d(8, 6, 3, padding=1), (5, 8, 9, 10), F32)
    chunks = 5 if chunk_rows == 50 else 3
    assert spy.calls["im2col"] == chunks and spy.calls["col2im"] == chunks


@pytest.mark.parametrize("make, shape", [
    (lambda nn: nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1), (2, 8, 5, 6)),
    (lambda nn: nn.ConvTranspose2d(6, 8, (2, 3), dilation=(2, 1)), (2, 6, 4, 5)),
    (lambda nn: nn.Conv1d(8, 6, 3, padding=1, stride=2), (2, 8, 11))])
def test_conv_transpose_and_conv1d_use_the_kernels_and_match_torch(spy, make, shape):
    """ConvTranspose2d runs col2im forward and im2col backward; Conv1d runs as a conv over (N, C, 1, L)."""
    compare_with_torch(make(rd.nn), make(torch.nn), shape, F32)
    assert spy.calls["im2col"] == 1 and spy.calls["col2im"] == 1


@pytest.mark.parametrize("make, shape", [
    (lambda nn: nn.Conv2d(1, 16, 3, padding=1), (3, 1, 9, 8)),
    (lambda nn: nn.Conv2d(3, 20, (2, 3), stride=2), (2, 3, 10, 11)),                  # 20: a block of 16, then 4
    (lambda nn: nn.Conv2d(2, 33, 3, padding=2, dilation=2, bias=False), (2, 2, 12, 7)),
    (lambda nn: nn.Conv2d(3, 5, 3, stride=(2, 1), padding=(0, 1), padding_mode="reflect"), (1, 3, 8, 9)),
    (lambda nn: nn.Conv1d(1, 4, 5, padding=2), (3, 1, 13))])
def test_small_window_conv_runs_direct_and_matches_torch(spy, make, shape):
    """Fewer than 4 channels and at most 32 values a window: the direct kernels, no columns (the input's own
    gradient still goes through the tap-by-tap GEMMs)."""
    compare_with_torch(make(rd.nn), make(torch.nn), shape, F32)
    assert spy.calls["conv_small_forward"] == 1 and spy.calls["conv_small_dweight"] == 1
    assert "im2col" not in spy.calls


def test_small_window_conv_backward_after_the_kernels_are_switched_off(spy):
    """The direct path's dW uses the kernels its forward used, even when they are turned off in between."""
    conv = rd.nn.Conv2d(1, 4, 3, padding=1)
    ref = torch.nn.Conv2d(1, 4, 3, padding=1)
    conv.load_state_dict({k: v.clone() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(8).standard_normal((2, 1, 6, 7)).astype(F32)
    out = conv(rd.tensor(x)).sum()
    was = B.set_kernels(False)
    try:
        out.backward()
    finally:
        B.set_kernels(was)
    ref(torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(conv.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert spy.calls["conv_small_dweight"] == 1


def test_small_window_conv_of_the_benchmark_shape_matches_torch(spy):
    """dW sums 50,176 pixels (64 images of 28 x 28): float32 sums per image, added in double."""
    compare_with_torch(rd.nn.Conv2d(1, 16, 3, padding=1), torch.nn.Conv2d(1, 16, 3, padding=1), (64, 1, 28, 28), F32)
    assert spy.calls["conv_small_dweight"] == 1


def test_small_window_conv_transpose_runs_direct_backward(spy):
    """A transposed conv to 3 channels: its backward is a conv over dy's 3 channels (direct), and its dW the
    direct dW with x in dy's place."""
    def make(nn):
        return nn.ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=1)
    compare_with_torch(make(rd.nn), make(torch.nn), (2, 8, 5, 6), F32)
    assert spy.calls["conv_small_forward"] == 1 and spy.calls["conv_small_dweight"] == 1


def test_large_window_few_channel_conv_stays_on_columns(spy):
    """3 channels of 5 x 5 (75 values a window) keep im2col's GEMM, the faster path for deep windows."""
    compare_with_torch(rd.nn.Conv2d(3, 8, 5, padding=2), torch.nn.Conv2d(3, 8, 5, padding=2), (2, 3, 9, 9), F32)
    assert "conv_small_forward" not in spy.calls and "conv_small_dweight" not in spy.calls


def test_cnn_block_float32_matches_torch(spy):
    """The benchmark's conv-relu-pool chain: the kernels see conv outputs in their NHWC memory layout."""
    def block(nn):
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                             nn.ReLU(), nn.MaxPool2d(2))
    compare_with_torch(block(rd.nn), block(torch.nn), (4, 3, 16, 16), F32)     # (16: both ReLUs above the threshold)
    assert spy.calls["relu_backward"] == 2 and spy.calls["maxpool2d_backward"] == 2 and spy.calls["col2im"] == 1


def test_relu_backward_kernel_keeps_nan_and_layout(spy):
    y = np.random.default_rng(7).standard_normal((4, 8, 16, 16)).astype(F32).transpose(0, 3, 1, 2)   # NHWC memory
    dy = np.ascontiguousarray(np.random.default_rng(8).standard_normal(y.shape).astype(F32).transpose(0, 2, 3, 1)
                              ).transpose(0, 3, 1, 2)
    dy[0, 0, 0, :3] = np.nan
    from redes.autograd import ArrayMath
    from redes.ops.elementwise import ReLUOp, _relu_backward_compiled
    dx = _relu_backward_compiled(dy, y)
    assert dx is not None and dx.strides == y.strides
    np.testing.assert_array_equal(dx, dy * (y > 0))
    assert _relu_backward_compiled(np.ascontiguousarray(dy), y) is None      # layouts differ: NumPy path
    np.testing.assert_array_equal(ReLUOp.backward(None, ArrayMath, dy, y, y)[0], dy * (y > 0))
    assert spy.calls["relu_backward"] == 2


@pytest.mark.parametrize("layout", ["contiguous", "nhwc", "strided"])
def test_relu_forward_kernel_matches_maximum_and_keeps_layout(spy, layout):
    """NaN stays NaN, -inf and -0.0 give zeros; a conv's NHWC memory under the NCHW shape keeps its layout; a
    strided view (not a permutation of contiguous memory) stays on NumPy's maximum."""
    x = np.random.default_rng(5).standard_normal((4, 8, 16, 16)).astype(F32)
    x[0, 0, 0, :4] = [np.nan, -np.inf, np.inf, -0.0]
    if layout == "nhwc":
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    elif layout == "strided":
        x = np.repeat(x, 2, axis=3)[..., ::2]
    from redes.ops.elementwise import ReLUOp
    y = ReLUOp.forward(None, x)
    np.testing.assert_array_equal(y, np.maximum(x, 0))          # (array_equal counts NaN equal to NaN)
    assert y[0, 0, 0, 3] == 0 and not np.signbit(y[0, 0, 0, 3])
    assert spy.calls.get("relu_forward", 0) == (layout != "strided")
    if layout == "nhwc":
        assert y.strides == x.strides


def test_relu_backward_kernel_on_small_contiguous_arrays(spy):
    """Below the layout path's size threshold, C-contiguous float32 arrays still take the kernel: an MLP's
    (8, 16) activation matches torch, and zeros, NaN and -0.0 in y pass or stop the gradient as dy * (y > 0)."""
    rng = np.random.default_rng(9)
    compare_functional_with_torch(F.relu, tF.relu, [rng.standard_normal((8, 16)).astype(F32)], dtype=F32,
                                  rtol=0, atol=0)
    assert spy.calls["relu_backward"] == 1
    from redes.autograd import ArrayMath
    from redes.ops.elementwise import ReLUOp
    y = np.array([[0.0, -0.0, 1.0, np.nan], [2.0, 0.0, 3.0, 1e-45]], F32)
    dy = np.array([[1.0, 2.0, np.nan, 4.0], [np.inf, 6.0, -7.0, 8.0]], F32)
    np.testing.assert_array_equal(ReLUOp.backward(None, ArrayMath, dy, y, y)[0], dy * (y > 0))
    assert spy.calls["relu_backward"] == 2


# ------------------------------------------------------------------------------------------------ LSTM
@pytest.mark.parametrize("kwargs, with_state", [(dict(), False), (dict(), True), (dict(bidirectional=True), True),
                                                (dict(num_layers=2, batch_first=True), False)])
def test_lstm_float32_matches_torch(spy, kwargs, with_state):
    ours, ref = rd.nn.LSTM(5, 7, **kwargs), torch.nn.LSTM(5, 7, **kwargs)
    d = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    steps = 3 if kwargs.get("batch_first") else 4
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 3, 5)) * 2
    inputs = [x] + ([rng.standard_normal((d * layers, 3, 7)), rng.standard_normal((d * layers, 3, 7))]
                    if with_state else [])

    class Wrap:                      # LSTM takes (x, (h0, c0)): adapt to compare_with_torch's flat inputs
        def __init__(self, m):
            self.m = m

        def __getattr__(self, name):
            return getattr(self.m, name)

        def __call__(self, x, *state):
            out, (h, c) = self.m(x, tuple(state) if state else None)
            return out, h, c
    compare_with_torch(Wrap(ours), Wrap(ref), inputs=inputs, dtype=F32)
    # each layer and direction: its whole time loop (GEMMs and cells) in one call
    assert spy.returned["lstm_forward_fm"] == spy.returned["lstm_backward_fm"] == [True] * d * layers
    assert "lstm_cell_forward" not in spy.calls and steps > 1


class _NoSequenceKernels(_Spy):
    """The kernels, with the LSTM's whole-sequence loops declining (as without BLAS): the per-step path runs."""

    def __getattr__(self, name):
        if name in ("lstm_forward_fm", "lstm_backward_fm"):
            return lambda *args: False
        return super().__getattr__(name)


@pytest.mark.parametrize("kwargs, with_state, steps, hidden, batch", [
    (dict(), False, 4, 7, 3), (dict(bidirectional=True), True, 4, 7, 3), (dict(batch_first=True), True, 1, 7, 3),
    (dict(bias=False), True, 3, 7, 3), (dict(), True, 3, 64, 64)], ids=["plain", "bidirectional", "one_step",
                                                                     "no_bias", "cell_split_on_the_pool"])
def test_lstm_sequence_kernels_equal_the_per_step_path(monkeypatch, kwargs, with_state, steps, hidden, batch):
    """lstm_forward_fm / lstm_backward_fm run the GEMMs and cell loops the per-step path calls, in the same order:
    the same bits, in both directions, with and without (h0, c0), for one step too, and with the forward cell
    split over the pool's threads (4096 values a step)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((batch, steps, 5) if kwargs.get("batch_first") else (steps, batch, 5)).astype(F32)
    d = 2 if kwargs.get("bidirectional") else 1
    state = [rng.standard_normal((d, batch, hidden)).astype(F32) for _ in range(2)] if with_state else []

    def run():
        rd.manual_seed(3)
        lstm = rd.nn.LSTM(5, hidden, **kwargs)
        ts = [rd.tensor(a, requires_grad=True) for a in [x] + state]
        out, (h, c) = lstm(ts[0], tuple(ts[1:]) if state else None)
        (out * 1.5).sum().backward(retain_graph=True)
        (h.sum() + (c * c).sum()).backward()
        return [out.numpy(), h.numpy(), c.numpy()] + [t.grad.numpy() for t in ts] + [
            p.grad.numpy() for p in lstm.parameters()]
    spy = _Spy(B._compiled)
    monkeypatch.setattr(B, "kernels", spy)
    whole = run()
    assert spy.returned["lstm_forward_fm"] == [True] * d
    monkeypatch.setattr(B, "kernels", _NoSequenceKernels(B._compiled))
    for a, b in zip(whole, run()):
        _assert_bits(a, b)


def test_lstm_sequence_kernels_check_their_arrays():
    K = B._compiled
    act, w = np.zeros((2, 8, 3), F32), np.zeros((8, 2), F32)
    cs = tcs = hs = np.zeros((2, 2, 3), F32)
    assert K.lstm_forward_fm(act, w, None, None, cs, tcs, hs, None, 2, 2, 3, 0) is True
    with pytest.raises(ValueError, match=r"lstm_forward_fm: hs has 6 elements, expected 12"):
        K.lstm_forward_fm(act, w, None, None, cs, tcs, hs[:1], None, 2, 2, 3, 0)
    with pytest.raises(ValueError, match=r"lstm_forward_fm: bias has 8 elements, expected 24"):
        K.lstm_forward_fm(act, w, None, None, cs, tcs, hs, np.zeros(8, F32), 2, 2, 3, 0)
    with pytest.raises(ValueError, match=r"lstm_backward_fm: T, H and N must be >= 1"):
        K.lstm_backward_fm(act, cs, tcs, None, w.T.copy(), hs, hs[0], act, None, 0, 2, 3, 0)


def test_lstm_kernel_saturated_gates_match_the_numpy_path():
    """Large pre-activations (saturated sigmoid and tanh) and tiny ones (tanh's polynomial branch)."""
    rng = np.random.default_rng(11)
    m = rd.nn.LSTM(3, 4)
    x = np.concatenate([rng.standard_normal((3, 2, 3)) * 40, rng.standard_normal((3, 2, 3)) * 1e-3]).astype(F32)
    on, off = _both_paths(lambda: _grads(lambda t: m(t)[0], x))
    for a, b in zip(on, off):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_kernel_sigmoid_and_tanh_accuracy():
    """The vectorised math inside the kernels (exp, sigmoid, tanh), read back through lstm_cell_forward, which
    writes the gate activations into its input: i, f, o = sigmoid(2 z), g = tanh(z), against float64 math."""
    z = np.concatenate([np.linspace(-60, 60, 400001), np.geomspace(1e-30, 0.3, 2001), -np.geomspace(1e-30, 0.3, 2001),
                        [0.0, np.inf, -np.inf, np.nan]]).astype(F32)
    hid = z.size
    a = np.tile(z, 4)                                        # one row: the four gates read the same z
    c, tc, h = (np.empty(hid, F32) for _ in range(3))
    B._compiled.lstm_cell_forward(a, None, None, c, tc, h, hid)
    zd = z.astype(np.float64)
    with np.errstate(over="ignore"):
        sig = 1 / (1 + np.exp(-2 * zd))
    normal = sig > np.finfo(F32).tiny                         # below, float32 holds subnormals (or 0)
    for gate in (0, 1, 3):
        got = a[gate * hid:(gate + 1) * hid]
        np.testing.assert_allclose(got[normal], sig[normal], rtol=3e-7, atol=0, err_msg=f"gate {gate}")
        assert (np.abs(got[~normal & ~np.isnan(zd)]) <= np.finfo(F32).tiny).all()
        assert np.isnan(got[-1])
    g = a[2 * hid:3 * hid]
    np.testing.assert_allclose(g[:-1], np.tanh(zd[:-1]), rtol=3e-7, atol=0)
    assert np.isnan(g[-1]) and g[-3] == 1 and g[-2] == -1
    np.testing.assert_allclose(tc[:-1], np.tanh((a[:hid] * g)[:-1].astype(np.float64)), rtol=3e-7, atol=0)


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_lstm_with_projection_uses_the_numpy_backward(spy):
    kw = dict(proj_size=3)
    ours, ref = rd.nn.LSTM(4, 6, **kw), torch.nn.LSTM(4, 6, **kw)

    class First:
        def __init__(self, m):
            self.m = m

        def __getattr__(self, name):
            return getattr(self.m, name)

        def __call__(self, x):
            return self.m(x)[0]
    compare_with_torch(First(ours), First(ref), (5, 2, 4), F32)
    assert spy.calls["lstm_cell_forward"] == 5 and "lstm_cell_backward" not in spy.calls


# ------------------------------------------------------------------------------------------------- GRU
class _Flat:
    """An RNN module with its state as flat inputs and outputs, for compare_with_torch."""

    def __init__(self, m):
        self.m = m

    def __getattr__(self, name):
        return getattr(self.m, name)

    def __call__(self, x, *state):
        out, h = self.m(x, state[0] if state else None)
        return out, h


@pytest.mark.parametrize("kwargs, with_state", [(dict(), False), (dict(), True), (dict(bidirectional=True), True),
                                                (dict(num_layers=2, batch_first=True), False),
                                                (dict(bias=False), True)])
def test_gru_float32_matches_torch(spy, kwargs, with_state):
    ours, ref = rd.nn.GRU(5, 7, **kwargs), torch.nn.GRU(5, 7, **kwargs)
    d = 2 if kwargs.get("bidirectional") else 1
    layers = kwargs.get("num_layers", 1)
    steps = 3 if kwargs.get("batch_first") else 4
    rng = np.random.default_rng(12)
    inputs = [rng.standard_normal((4, 3, 5)) * 2] + ([rng.standard_normal((d * layers, 3, 7))] if with_state else [])
    compare_with_torch(_Flat(ours), _Flat(ref), inputs=inputs, dtype=F32)
    assert spy.calls["gru_cell_forward"] == spy.calls["gru_cell_backward"] == steps * d * layers


@pytest.mark.parametrize("make", [lambda nn: nn.GRUCell(5, 6), lambda nn: nn.LSTMCell(5, 6),
                                  lambda nn: nn.GRUCell(5, 6, bias=False)])
def test_cells_float32_match_torch(spy, make):
    """A cell is a sequence of one step: the feature-major loop with T = 1, state given."""
    rng = np.random.default_rng(17)
    ours, ref = make(rd.nn), make(torch.nn)
    lstm = isinstance(ours, rd.nn.LSTMCell)
    state = [rng.standard_normal((3, 6))] * (2 if lstm else 1)

    class Flat:
        def __init__(self, m):
            self.m = m

        def __getattr__(self, name):
            return getattr(self.m, name)

        def __call__(self, x, *s):
            return self.m(x, tuple(s) if lstm else s[0])
    compare_with_torch(Flat(ours), Flat(ref), inputs=[rng.standard_normal((3, 5))] + state, dtype=F32)
    if lstm:                                        # the sequence kernels, over one step
        assert spy.returned["lstm_forward_fm"] == spy.returned["lstm_backward_fm"] == [True]
    else:
        assert spy.calls["gru_cell_forward"] == spy.calls["gru_cell_backward"] == 1


def test_gru_kernel_saturated_gates_match_the_numpy_path():
    """Large pre-activations (saturated sigmoid and tanh), tiny ones, and a gradient at every step and the state."""
    rng = np.random.default_rng(16)
    m = rd.nn.GRU(3, 4)
    x = np.concatenate([rng.standard_normal((3, 2, 3)) * 40, rng.standard_normal((3, 2, 3)) * 1e-3]).astype(F32)
    h0 = rng.standard_normal((1, 2, 4)).astype(F32)
    on, off = _both_paths(lambda: _grads(lambda t, h: m(t, h)[0], x, h0))
    for a, b in zip(on, off):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


# ---------------------------------------------------------------------------------------- bad arguments
def test_kernels_name_the_kernel_and_argument_on_bad_input():
    K = B._compiled
    x = np.zeros(8, F32)
    with pytest.raises(TypeError, match=r"gelu: x must be float32, got format 'd'"):
        K.gelu(np.zeros(8), x, x, np.zeros(5, F32), 1.0)
    with pytest.raises(ValueError, match=r"gelu: out has 7 elements, expected 8"):
        K.gelu(x, None, np.zeros(7, F32), np.zeros(5, F32), 1.0)
    with pytest.raises(ValueError, match=r"gelu: dy has 7 elements, expected 8"):
        K.gelu(x, np.zeros(7, F32), x.copy(), np.zeros(5, F32), 1.0)
    with pytest.raises(ValueError, match=r"gelu: out must be a C-contiguous writable array"):
        K.gelu(x, None, np.zeros((4, 4), F32)[:, 0], np.zeros(5, F32), 1.0)
    with pytest.raises(IndexError, match=r"embedding_backward: index 3 is outside \[0, 3\)"):
        K.embedding_backward(np.array([0, 3]), np.zeros(4, F32), np.zeros(6, F32))
    with pytest.raises(ValueError, match=r"embedding_backward: dy has 5 elements and dw 6, not rows of one width"):
        K.embedding_backward(np.array([0, 1]), np.zeros(5, F32), np.zeros(6, F32))
    with pytest.raises(TypeError, match=r"embedding_backward: idx must be int64, got format 'i'"):
        K.embedding_backward(np.array([0, 1], np.int32), np.zeros(4, F32), np.zeros(6, F32))
    with pytest.raises(TypeError, match=r"gelu takes 5 arguments, got 2"):
        K.gelu(x, x)
    with pytest.raises(ValueError, match=r"layer_norm_forward: x has 8 elements, not a multiple of k = 3"):
        K.layer_norm_forward(x, None, None, x.copy(), np.zeros(4, F32), np.zeros(2, F32), 3, 1e-5)
    with pytest.raises(ValueError, match=r"layer_norm_forward: stats has 3 elements, expected 4"):
        K.layer_norm_forward(x, None, None, x.copy(), np.zeros(3, F32), np.zeros(2, F32), 4, 1e-5)
    with pytest.raises(ValueError, match=r"layer_norm_backward: x has 7 elements, expected 8"):
        K.layer_norm_backward(x, np.zeros(7, F32), np.zeros(4, F32), np.zeros(2, F32), None, None, None, None, 4)
    with pytest.raises(ValueError, match=r"softmax_rows: integer argument 0 must be >= 1, got 0"):
        K.softmax_rows(x, None, 0, 1.0)
    with pytest.raises(TypeError, match=r"softmax_rows takes 4 arguments, got 3"):
        K.softmax_rows(x, None, 8)
    with pytest.raises(ValueError, match=r"maxpool2d_backward: overwrite needs windows that tile"):
        K.maxpool2d_backward(x, np.zeros(8, np.int16), x.copy(), 1, 1, 3, 3, 1, 1, 1, 2, 2, 1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"maxpool2d_backward: arg holds tap 9, outside 0..3"):
        K.maxpool2d_backward(np.zeros(1, F32), np.full(1, 9, np.int16), np.zeros(4, F32), 0, 1, 2, 2, 1, 1, 1, 2, 2,
                             1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"conv_small_forward: windows reach outside the \(3, 3\) input"):
        K.conv_small_forward(np.zeros(9, F32), np.zeros(9, F32), None, np.zeros(4, F32), 1, 1, 3, 3, 1, 2, 2, 3, 3,
                             1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"conv_small_forward: w has 8 elements, expected 9"):
        K.conv_small_forward(np.zeros(9, F32), np.zeros(8, F32), None, np.zeros(1, F32), 1, 1, 3, 3, 1, 1, 1, 3, 3,
                             1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"conv_small_dweight: dy has 2 elements, expected 1"):
        K.conv_small_dweight(np.zeros(9, F32), np.zeros(2, F32), np.zeros(9, F32), 1, 1, 3, 3, 1, 1, 1, 3, 3,
                             1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"im2col: windows reach outside the \(3, 3\) input"):
        K.im2col(np.zeros(9, F32), np.zeros(36, F32), 1, 3, 3, 1, 2, 2, 3, 3, 1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"batch_norm_forward: stats has 4 elements, expected 6"):
        K.batch_norm_forward(np.zeros(6, F32), None, None, np.zeros(6, F32), np.zeros(4),
                             np.zeros(3, F32), 2, 3, 1, 1e-5)
    with pytest.raises(TypeError, match=r"batch_norm_backward: stats must be float64, got format 'f'"):
        K.batch_norm_backward(x, x, np.zeros(4, F32), np.zeros(2, F32), None, None, np.zeros(2, F32),
                              np.zeros(2, F32), 2, 2, 2)
    with pytest.raises(ValueError, match=r"gru_cell_forward: a has 8 elements, not rows of 3 \* 2"):
        K.gru_cell_forward(x, None, None, None, np.zeros(2, F32), np.zeros(2, F32), 2)
    with pytest.raises(ValueError, match=r"gru_cell_backward: act has 8 elements, expected 6"):
        K.gru_cell_backward(np.zeros(2, F32), None, np.zeros(2, F32), x, np.zeros(2, F32), None, np.zeros(6, F32),
                            np.zeros(6, F32), 2)
    with pytest.raises(TypeError, match=r"maxpool2d_forward: arg must be int16"):
        K.maxpool2d_forward(np.zeros(4, F32), np.zeros(1, F32), np.zeros(1, np.int32), 1, 2, 2, 1, 1, 1, 2, 2, 1, 1,
                            1, 1)


# ------------------------------------------------------------------------------------------ optimizers
OPTIM_CASES = [("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.5)),
               ("SGD", dict(lr=0.1, momentum=0.8, weight_decay=0.05, maximize=True)),
               ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.02, betas=(0.3, 0.8), eps=1e-3)),
               ("Adam", dict(lr=0.01, weight_decay=0.1)), ("AdamW", dict(lr=0.01, weight_decay=0.1)),
               ("AdamW", dict(lr=0.01, maximize=True))]


@pytest.mark.parametrize("name, kw", OPTIM_CASES, ids=[f"{n}-{kw}" for n, kw in OPTIM_CASES])
def test_optimizer_kernels_match_torch_float32(spy, name, kw):
    from tests.optim.test_optimizers import Twin, _data
    init, grads = _data(np.float32)
    twin = Twin(name, kw, init)
    twin.run(grads)
    twin.check(f"{name} {kw} float32 with kernels", rtol=1e-5, atol=1e-6)
    kernel = "sgd_momentum" if name == "SGD" else "adam"
    many = spy.calls.get(kernel + "_many", 0)
    # every step of both groups but SGD's first (buf = d), one call per group: the foreach kernel (the groups' arrays
    # in their own storage) unless maximize or a coupled weight decay sends them to the gathering path
    assert spy.calls.get(kernel, 0) + many >= len(grads) * 2 - 2
    gathers = kw.get("maximize") or (kw.get("weight_decay") and name != "AdamW")
    assert many == 0 if gathers else many >= len(grads) * 2 - 2


@pytest.mark.parametrize("name, kw", [("Adam", dict(lr=0.01)), ("AdamW", dict(lr=0.02, betas=(0.3, 0.8))),
                                      ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3))])
def test_optimizer_kernels_equal_their_numpy_code(name, kw):
    """Adam's kernel does the NumPy code's float32 operations in the same order: the same values, bit for bit.
    SGD's NumPy path is BLAS axpby/axpy, which may fuse multiply-adds: each update can differ in its last bit,
    so after 20 steps the parameters agree to a few float32 ulps."""
    from tests.optim.test_optimizers import Twin, _data
    init, grads = _data(np.float32, shapes=[[(300, 7), (7,)], [(50,)]])

    def run():
        twin = Twin(name, kw, init)
        twin.run(grads, theirs=False)
        return [p.numpy() for group in twin.ps for p in group]
    on, off = _both_paths(run)
    for a, b in zip(on, off):
        if name == "SGD":
            np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(a, b)


def test_foreach_kernels_change_nothing_when_an_array_does_not_qualify():
    """sgd_momentum_many / adam_many check every array first: a float64 gradient, a non-contiguous or read-only
    parameter returns False with every array untouched (the optimizer then gathers); a size mismatch raises."""
    K = B._compiled
    rng = np.random.default_rng(3)
    ps = [rng.standard_normal(6).astype(F32), rng.standard_normal((2, 3)).astype(F32)]
    gs = [rng.standard_normal(6).astype(F32), rng.standard_normal((2, 3)).astype(F32)]
    readonly = ps[1].copy()
    readonly.flags.writeable = False
    for bad_ps, bad_gs in [(ps, [gs[0], gs[1].astype(np.float64)]), ([ps[0], np.zeros((3, 2), F32).T], gs),
                           ([ps[0], readonly], gs)]:
        before = [p.copy() for p in bad_ps]
        buf, m, v = (rng.standard_normal(12).astype(F32) for _ in range(3))
        state = [buf.copy(), m.copy(), v.copy()]
        assert K.sgd_momentum_many(bad_ps, bad_gs, buf, 0.1, 0.9, 1.0) is False
        assert K.adam_many(bad_ps, bad_gs, m, v, 0.99, 0.1, 0.999, 0.001, 0.5, 1e-8, 0.1) is False
        for a, b in zip(before + state, bad_ps + [buf, m, v]):
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"sgd_momentum_many: buf has 11 elements, the parameters 12"):
        K.sgd_momentum_many(ps, gs, np.zeros(11, F32), 0.1, 0.9, 1.0)
    with pytest.raises(ValueError, match=r"adam_many: grads\[1\] has 5 elements, its parameter 6"):
        K.adam_many(ps, [gs[0], np.zeros(5, F32)], np.zeros(12, F32), np.zeros(12, F32), 1.0, 0.1, 0.999, 0.001,
                    0.5, 1e-8, 0.1)
    with pytest.raises(TypeError, match=r"sgd_momentum_many: params and grads must be lists of the same length"):
        K.sgd_momentum_many(ps, gs[:1], np.zeros(12, F32), 0.1, 0.9, 1.0)


def test_foreach_kernel_equals_per_array_updates():
    """One sgd_momentum_many call updates each parameter in its own storage exactly as sgd_momentum on it
    with its slice of the flat buffer."""
    K = B._compiled
    rng = np.random.default_rng(4)
    shapes = [(4, 3), (3,), (2, 5)]
    ps = [rng.standard_normal(s).astype(F32) for s in shapes]
    gs = [rng.standard_normal(s).astype(F32) for s in shapes]
    buf = rng.standard_normal(sum(p.size for p in ps)).astype(F32)
    ref_ps, ref_buf = [p.copy() for p in ps], buf.copy()
    storage = [p.__array_interface__["data"][0] for p in ps]
    assert K.sgd_momentum_many(ps, gs, buf, 0.05, 0.9, 0.7) is True
    at = 0
    for p, g in zip(ref_ps, gs):
        K.sgd_momentum(p.reshape(-1), g.reshape(-1), ref_buf[at:at + p.size], 0.05, 0.9, 0.7)
        at += p.size
    for a, b in zip(ps + [buf], ref_ps + [ref_buf]):
        np.testing.assert_array_equal(a, b)
    assert [p.__array_interface__["data"][0] for p in ps] == storage


def test_optimizer_with_a_float64_gradient_on_float32_parameters_gathers():
    """A gradient of another dtype makes the foreach kernel decline: the gathering path casts it, as before."""
    rng = np.random.default_rng(5)
    init = [rng.standard_normal(s).astype(F32) for s in [(3, 2), (2,)]]
    grads = [rng.standard_normal(a.shape) for a in init]
    results = []
    for cast in (False, True):
        ps = [rd.nn.Parameter(rd.tensor(a.copy())) for a in init]
        opt = rd.optim.SGD(ps, lr=0.1, momentum=0.9)
        for _ in range(3):
            for p, g in zip(ps, grads):
                p.grad = rd.tensor(g.astype(F32) if cast else g)
            opt.step()
        results.append([p.numpy() for p in ps])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------ cross-entropy
CE_CASES = [((8, 10), {}), ((64, 10), dict(reduction="sum")), ((5, 3), dict(ignore_index=7)),
            ((33, 65), dict(reduction="mean"))]


@pytest.mark.parametrize("shape, kw", CE_CASES, ids=[f"{s}-{kw}" for s, kw in CE_CASES])
def test_cross_entropy_kernel_matches_torch(spy, shape, kw):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape).astype(F32) * 3
    t = rng.integers(0, shape[1], size=shape[0])
    compare_functional_with_torch(lambda a, b: F.cross_entropy(a, b, **kw), lambda a, b: tF.cross_entropy(a, b, **kw),
                                  [x, t], dtype=F32, rtol=1e-5, atol=1e-6)
    assert spy.calls["cross_entropy_forward"] == 1 and spy.calls["cross_entropy_backward"] == 1


@pytest.mark.parametrize("kw", [dict(ignore_index=2), dict(label_smoothing=0.1), dict(reduction="none"),
                                dict(weight=np.linspace(0.5, 2, 4).astype(F32))], ids=str)
def test_cross_entropy_options_the_kernel_does_not_cover_take_the_numpy_path(spy, kw):
    """Class weights, label smoothing, no reduction and an ignore_index inside [0, C) run the NumPy code."""
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((6, 4)).astype(F32), rng.integers(0, 4, size=6)
    t[1] = 2
    tkw = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    rkw = {k: rd.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    compare_functional_with_torch(lambda a, b: F.cross_entropy(a, b, **rkw), lambda a, b: tF.cross_entropy(a, b, **tkw),
                                  [x, t], dtype=F32, rtol=1e-5, atol=1e-6)
    assert "cross_entropy_forward" not in spy.calls


def test_cross_entropy_kernel_hands_ignored_and_bad_targets_to_the_numpy_path(spy):
    """A target equal to the default ignore_index (-100) counts as ignored; one outside [0, C) raises as before."""
    rng = np.random.default_rng(8)
    x = rng.standard_normal((5, 4)).astype(F32)
    t = np.array([0, -100, 3, 1, -100])
    compare_functional_with_torch(F.cross_entropy, tF.cross_entropy, [x, t], dtype=F32, rtol=1e-5, atol=1e-6)
    assert spy.calls["cross_entropy_forward"] == 1 and "cross_entropy_backward" not in spy.calls
    with pytest.raises(IndexError, match="cross_entropy: target value 4 is out of range for 4 classes"):
        F.cross_entropy(rd.tensor(x), rd.tensor(np.array([0, 4, 1, 1, 2])))


def test_cross_entropy_kernel_equals_the_numpy_path_at_extremes():
    """Huge logits, -inf logits and a NaN row: the kernel and the NumPy code give the same loss and gradient."""
    x = np.array([[1e30, -1e30, 0.0], [-np.inf, 0.0, 1.0], [np.nan, 1.0, 2.0], [88.0, -88.0, 0.5]], F32)
    t = np.array([0, 2, 1, 1])
    for reduction in ("mean", "sum"):
        x2 = x[[0, 1, 3]]
        for xs, ts in ((x, t), (x2, t[[0, 1, 3]])):
            on, off = _both_paths(lambda: _grads(lambda a: F.cross_entropy(a, rd.tensor(ts), reduction=reduction), xs))
            for a, b in zip(on, off):
                np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_cross_entropy_kernel_errors():
    K = B._compiled
    x, t = np.zeros(6, F32), np.zeros(2, np.int64)
    with pytest.raises(TypeError, match=r"cross_entropy_forward: target must be int64, got format 'i'"):
        K.cross_entropy_forward(x, t.astype(np.int32), x.copy(), 3)
    with pytest.raises(ValueError, match=r"cross_entropy_forward: target has 3 elements, expected 2"):
        K.cross_entropy_forward(x, np.zeros(3, np.int64), x.copy(), 3)
    with pytest.raises(IndexError, match=r"cross_entropy_backward: target\[1\] = 3 is outside \[0, 3\)"):
        K.cross_entropy_backward(x, np.array([0, 3]), x.copy(), 1.0, 3)
    assert K.cross_entropy_forward(x, np.array([0, -1]), x.copy(), 3) is None


def test_a_stale_kernel_build_is_not_used(monkeypatch):
    """A build of an older redes/_kernels.c (its API number differs) is refused with a warning: the ops run their
    NumPy code instead of failing at the first kernel the old build lacks."""
    from redes import backend as B
    kernels = pytest.importorskip("redes._kernels")
    assert kernels.API == B.KERNELS_API
    monkeypatch.setattr(kernels, "API", B.KERNELS_API - 1)
    with pytest.warns(RuntimeWarning, match="compiled kernels are out of date"):
        assert B._load_kernels() is None


# --------------------------------------------------------------------------------------------- linear
LINEAR_SHAPES = [(2, 2, 2), (8, 64, 16), (5, 3, 7), (64, 256, 10), (200, 37, 300), (256, 512, 129)]


@pytest.mark.parametrize("n, i, o", LINEAR_SHAPES, ids=[f"{n}x{i}x{o}" for n, i, o in LINEAR_SHAPES])
def test_linear_kernels_are_numpys_gemms_to_the_bit(n, i, o):
    """linear_forward / linear_backward make the cblas_sgemm calls NumPy's matmul makes: the same bits, with the
    bias added after the product and the bias gradient summed row by row as add.reduce does."""
    K = B._compiled
    rng = np.random.default_rng(n + i + o)
    x, w, b, dy = (rng.standard_normal(s).astype(F32) for s in ((n, i), (o, i), (o,), (n, o)))
    y = np.empty((n, o), F32)
    assert K.linear_forward(x, w, b, y, n, i, o) is True
    _assert_bits(y, np.matmul(x, w.T) + b)
    assert K.linear_forward(x, w, None, y, n, i, o) is True
    _assert_bits(y, np.matmul(x, w.T))
    dx, dw, db = np.empty((n, i), F32), np.empty((o, i), F32), np.empty(o, F32)
    assert K.linear_backward(dy, x, w, dx, dw, db, n, i, o) is True
    _assert_bits(dx, np.matmul(dy, w))
    _assert_bits(dw, np.matmul(dy.T, x))
    _assert_bits(db, np.add.reduce(dy, axis=0))
    dw2 = np.empty((o, i), F32)
    assert K.linear_backward(dy, x, w, None, dw2, None, n, i, o) is True          # only what is asked for
    _assert_bits(dw2, dw)


def _assert_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_linear_kernels_decline_what_numpy_computes_otherwise():
    """False (the op then runs its NumPy code) for other dtypes and layouts, a bias NumPy would broadcast, and the
    shapes where NumPy's matmul leaves gemm (a dimension of 1, x @ x.T)."""
    K = B._compiled
    x, w = np.ones((4, 3), F32), np.ones((5, 3), F32)
    y = np.empty((4, 5), F32)
    assert K.linear_forward(x.astype(np.float64), w, None, y, 4, 3, 5) is False
    assert K.linear_forward(np.ones((3, 4), F32).T, w, None, y, 4, 3, 5) is False
    assert K.linear_forward(x, w, np.ones(1, F32), y, 4, 3, 5) is False
    assert K.linear_forward(x, w, None, y.T.copy().T, 4, 3, 5) is False
    assert K.linear_forward(x[:1], w, None, y[:1], 1, 3, 5) is False
    assert K.linear_forward(x, x, None, np.empty((4, 4), F32), 4, 3, 4) is False
    assert K.linear_forward(x, w, None, y, 4, 3, 6) is False                       # sizes that do not match
    assert K.linear_backward(np.ones((4, 5)), x, w, None, None, None, 4, 3, 5) is False
    assert K.linear_backward(y, x, w, np.empty((4, 3)), None, None, 4, 3, 5) is False
    with pytest.raises(TypeError, match="linear_forward takes 7 arguments, got 3"):
        K.linear_forward(x, w, None)
    with pytest.raises(ValueError, match=r"linear_backward: integer argument 0 must be >= 0"):
        K.linear_backward(y, x, w, None, None, None, -1, 3, 5)


@pytest.mark.parametrize("shape", [(8, 64, 16), (64, 256, 256), (1, 5, 3), (6, 4, 1), (3, 1, 4)], ids=str)
def test_linear_layer_with_the_kernels_equals_its_numpy_path_and_torch(spy, shape):
    """nn.Linear in float32: the kernel path gives the NumPy path's bits (both GEMMs are NumPy's) and torch's
    values; a dimension of 1 goes to NumPy, as its matmul takes another route there."""
    n, i, o = shape
    rng = np.random.default_rng(21)
    x = rng.standard_normal((n, i)).astype(F32)

    def run():
        rd.manual_seed(0)
        layer = rd.nn.Linear(i, o)
        return _grads(layer, x) + [layer.weight.grad.numpy(), layer.bias.grad.numpy()]
    compare_with_torch(rd.nn.Linear(i, o), torch.nn.Linear(i, o), (n, i), dtype=F32, rtol=1e-5, atol=1e-5)
    used = min(shape) >= 2                          # (the kernels return False where they decline)
    assert spy.returned["linear_forward"] == [used] and spy.returned["linear_backward"] == [used]
    on, off = _both_paths(run)                      # (sets the kernels: after the spy's count)
    for a, b in zip(on, off):
        _assert_bits(a, b)


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_linear_on_a_3d_input_takes_the_kernels_on_its_folded_rows(spy, layout):
    """(batch, time, features) inputs are folded to rows for one GEMM: the kernels take the rows (a transposed
    input is copied first, as NumPy's reshape does), same bits as the NumPy path, torch's values."""
    rng = np.random.default_rng(22)
    x = rng.standard_normal((4, 7, 12) if layout == "contiguous" else (7, 4, 12)).astype(F32)

    def fn(layer):
        return (lambda a: layer(a)) if layout == "contiguous" else (lambda a: layer(a.transpose(0, 1)))

    def run():
        rd.manual_seed(0)
        layer = rd.nn.Linear(12, 9)
        return _grads(fn(layer), x) + [layer.weight.grad.numpy(), layer.bias.grad.numpy()]
    rd.manual_seed(0)
    layer = rd.nn.Linear(12, 9)
    t_layer = torch.nn.Linear(12, 9)
    with torch.no_grad():
        t_layer.weight.copy_(torch.tensor(layer.weight.numpy()))
        t_layer.bias.copy_(torch.tensor(layer.bias.numpy()))
    got = _grads(fn(layer), x)
    assert spy.returned["linear_forward"] == [True] and spy.returned["linear_backward"] == [True]
    xt = torch.tensor(x, requires_grad=True)
    yt = t_layer(xt if layout == "contiguous" else xt.transpose(0, 1))
    (yt * torch.tensor(np.random.default_rng(9).standard_normal(yt.shape).astype(F32))).sum().backward()
    for a, b in zip(got + [layer.weight.grad.numpy(), layer.bias.grad.numpy()],
                    [yt.detach().numpy(), xt.grad.numpy(), t_layer.weight.grad.numpy(), t_layer.bias.grad.numpy()]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    on, off = _both_paths(run)
    for a, b in zip(on, off):
        _assert_bits(a, b)


# ------------------------------------------------------------------------------------------ attention
ATTN_CASES = [dict(batch_first=True, mask="causal"), dict(batch_first=False, mask=None),
              dict(batch_first=True, mask="per_head"), dict(batch_first=True, mask=None, cross=True),
              dict(batch_first=False, mask="causal", kdim=12, vdim=20)]


def _mha_twins(batch_first, kdim=None, vdim=None, **_):
    rd.manual_seed(5)
    mha = rd.nn.MultiheadAttention(32, 4, batch_first=batch_first, kdim=kdim, vdim=vdim)
    tmha = torch.nn.MultiheadAttention(32, 4, batch_first=batch_first, kdim=kdim, vdim=vdim)
    tmha.load_state_dict({k: torch.tensor(v.numpy()) for k, v in mha.state_dict().items()})
    return mha, tmha


def _mha_inputs(case, rng, n=3, length=10):
    source = 7 if case.get("cross") or case.get("kdim") else length
    shape = (lambda t, e: (n, t, e)) if case["batch_first"] else (lambda t, e: (t, n, e))
    q = rng.standard_normal(shape(length, 32)).astype(F32)
    k = rng.standard_normal(shape(source, case.get("kdim") or 32)).astype(F32) if source != length else q
    v = rng.standard_normal(shape(source, case.get("vdim") or 32)).astype(F32) if source != length else q
    if case.get("cross"):
        v = k
    mask = None
    if case["mask"] == "causal":
        mask = np.triu(np.full((length, source), -np.inf, F32), 1)
    elif case["mask"] == "per_head":
        mask = rng.standard_normal((n * 4, length, source)).astype(F32)
    return q, k, v, mask


def _mha_run(mha, q, k, v, mask, lib):
    tensors = [lib.tensor(a, requires_grad=True) for a in {id(a): a for a in (q, k, v)}.values()]
    by_id = dict(zip({id(a): a for a in (q, k, v)}, tensors))
    y, _ = mha(by_id[id(q)], by_id[id(k)], by_id[id(v)], attn_mask=None if mask is None else lib.tensor(mask),
               need_weights=False)
    g = np.random.default_rng(30).standard_normal(tuple(y.shape)).astype(F32)
    (y * lib.tensor(g)).sum().backward()
    return [y.detach().numpy() if lib is torch else y.numpy()] + [t.grad.numpy() for t in tensors] + [
        p.grad.numpy() for p in mha.parameters()]


@pytest.mark.parametrize("case", ATTN_CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
def test_attention_kernel_matches_torch_and_the_numpy_path(spy, case, monkeypatch):
    """MultiheadAttention's core by the attention kernel (each batch and head in cache, heads on the pool): torch's
    outputs and gradients, and the NumPy path's, for both layouts, causal / per-head / no masks, cross-attention
    and separate key and value sizes."""
    from redes.ops import attention
    q, k, v, mask = _mha_inputs(case, np.random.default_rng(31))
    mha, tmha = _mha_twins(**case)
    got = _mha_run(mha, q, k, v, mask, rd)
    assert spy.returned["attention_forward"] == [True] and spy.returned["attention_backward"] == [True]
    for a, b in zip(got, _mha_run(tmha, q, k, v, mask, torch)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=2e-6)
    monkeypatch.setattr(attention, "_KERNEL_HEAD_MAX", 0)
    mha.zero_grad()
    for a, b in zip(got, _mha_run(mha, q, k, v, mask, rd)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_attention_cases_the_kernel_does_not_take(spy):
    """Dropout, a key padding mask (not rows repeating over the scores) and a mask that needs its gradient run the
    NumPy path; so does backward when the mask needs a gradient."""
    rng = np.random.default_rng(32)
    x = rd.tensor(rng.standard_normal((2, 6, 32)).astype(F32))
    rd.manual_seed(6)
    mha = rd.nn.MultiheadAttention(32, 4, batch_first=True, dropout=0.5)
    mha(x, x, x, need_weights=False)
    mha.eval()
    pad = rd.tensor(np.array([[False] * 5 + [True]] * 2))
    mha(x, x, x, key_padding_mask=pad, need_weights=False)
    assert "attention_forward" not in spy.calls
    mask = rd.tensor(rng.standard_normal((6, 6)).astype(F32), requires_grad=True)
    y, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    y.sum().backward()
    assert mask.grad is not None and "attention_backward" not in spy.calls


def test_attention_kernel_gives_the_same_bits_on_one_thread_and_many():
    q, k, v, mask = _mha_inputs(ATTN_CASES[0], np.random.default_rng(33), n=8, length=16)
    mha, _ = _mha_twins(**ATTN_CASES[0])
    was = B._compiled.set_threads(1)
    try:
        one = _mha_run(mha, q, k, v, mask, rd)
        B._compiled.set_threads(4)
        mha.zero_grad()
        many = _mha_run(mha, q, k, v, mask, rd)
    finally:
        B._compiled.set_threads(was)
    for a, b in zip(one, many):
        _assert_bits(a, b)


def test_attention_kernel_checks_its_views():
    K = B._compiled
    qkv, out, p = np.zeros((2, 5, 24), F32), np.zeros((2, 5, 8), F32), np.zeros((2, 2, 5, 5), F32)
    g = np.array([[0, 120, 4, 24], [8, 120, 4, 24], [16, 120, 4, 24], [0, 40, 4, 8]], np.int64)
    assert K.attention_forward(qkv, qkv, qkv, out, g, p, 2, 2, 5, 5, 4, 4, 0.5, None) is True
    bad = g.copy()
    bad[2, 0] = 17                                  # v's last head would end past the array
    with pytest.raises(ValueError, match="attention_forward: the heads of v reach outside its 240 elements"):
        K.attention_forward(qkv, qkv, qkv, out, bad, p, 2, 2, 5, 5, 4, 4, 0.5, None)
    with pytest.raises(ValueError, match="bias .3 elements. is not rows of 5"):
        K.attention_forward(qkv, qkv, qkv, out, g, p, 2, 2, 5, 5, 4, 4, 0.5, np.zeros(3, F32))
    with pytest.raises(ValueError, match="attention_backward: geometry has 16 elements, expected 28"):
        K.attention_backward(qkv, qkv, qkv, out, None, None, None, g, p, 2, 2, 5, 5, 4, 4, 0.5)
