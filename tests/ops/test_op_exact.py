"""Exact values where random inputs cannot go: kinks (relu'(0), abs'(0), clamp bounds), ties (max, maximum),
zeros (prod, norm, pow); plus the ops without gradient (comparisons, logic, argmax, one_hot) and random
broadcast shapes for every binary op. All against torch."""
import numpy as np
import pytest

import redes as rd

from .helpers import F, assert_close, input_grads, lib, sample, torch

pytestmark = pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")

TIES = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 2.0, 0.0, 2.0], [-1.0, -1.0, -1.0, -1.0]])
KINK_CASES = [
    # (name, fn, exact inputs): the gradient at the kink is torch's convention, checked exactly
    ("relu_at_0", lambda a: a.relu(), [[-1.0, 0.0, 2.0]]),
    ("abs_at_0", lambda a: a.abs(), [[-1.0, 0.0, 2.0]]),
    ("sign_at_0", lambda a: a.sign(), [[-1.0, 0.0, 2.0]]),
    ("leaky_relu_at_0", lambda a: F(a).leaky_relu(a, 0.1), [[-1.0, 0.0, 2.0]]),
    ("elu_at_0", lambda a: F(a).elu(a, 0.5), [[-1.0, 0.0, 2.0]]),
    ("selu_at_0", lambda a: F(a).selu(a), [[-1.0, 0.0, 2.0]]),
    ("softplus_at_threshold", lambda a: F(a).softplus(a, beta=2.0, threshold=1.0), [[0.25, 0.5, 0.75]]),
    ("clamp_at_bounds", lambda a: a.clamp(-0.5, 0.5), [[-1.0, -0.5, 0.0, 0.5, 1.0]]),
    ("clamp_min_at_bound", lambda a: a.clamp(min=0.0), [[-1.0, 0.0, 1.0]]),
    ("maximum_ties_halves", lambda a, b: a.maximum(b), [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    ("minimum_ties_halves", lambda a, b: a.minimum(b), [[1.0, 2.0, 3.0], [1.0, 0.0, 3.0]]),
    ("maximum_ties_bcast", lambda a, b: a.maximum(b), [[[1.0], [2.0]], [1.0, 2.0, 2.0]]),
    ("max_all_ties", lambda a: a.max(), [TIES]),
    ("min_all_ties", lambda a: a.min(), [TIES]),
    ("amax_ties", lambda a: a.amax(1), [TIES]),
    ("amin_ties", lambda a: a.amin(1), [TIES]),
    ("amax_ties_dims", lambda a: a.amax((0, 1)), [TIES]),
    ("max_dim_ties", lambda a: a.max(1).values, [TIES]),
    ("min_dim_ties", lambda a: a.min(1).values, [TIES]),
    ("max_dim0_ties", lambda a: a.max(0).values, [TIES]),
    ("norm_inf_ties", lambda a: a.norm(float("inf"), dim=1), [TIES]),
    ("norm_at_zero", lambda a: a.norm(dim=1), [[[0.0, 0.0], [3.0, 4.0]]]),
    ("norm_p1_at_zero", lambda a: a.norm(1), [[0.0, -2.0, 1.0]]),
    ("prod_one_zero", lambda a: a.prod(1), [[[2.0, 0.0, 3.0], [1.0, 2.0, 4.0]]]),
    ("prod_two_zeros", lambda a: a.prod(), [[2.0, 0.0, 3.0, 0.0]]),
    ("prod_all_one_zero", lambda a: a.prod(), [[2.0, 0.0, 3.0, -1.5]]),
    ("pow_base_zero", lambda a: a ** 2, [[0.0, 1.0, -2.0]]),
    ("pow_base_zero_exponent_zero", lambda a: a ** 0, [[0.0, 1.0, -2.0]]),
    ("pow_tensor_base_zero", lambda a, b: a ** b, [[0.0, 0.0, 2.0], [2.0, 0.0, 0.5]]),
    ("pow_tensor_base_zero_negative_exponent", lambda a, b: a ** b, [[0.0, 1.0], [-1.0, 2.0]]),
    ("rpow_base_zero", lambda b: 0.0 ** b, [[1.0, 2.0, 0.5]]),
    ("sqrt_at_0", lambda a: a.sqrt(), [[0.0, 1.0]]),
    ("where_same_tensor", lambda a: lib(a).where(a > 0, a, a * 2), [[-1.0, 0.0, 2.0]]),
    ("softmax_large", lambda a: a.softmax(-1), [[1000.0, 0.0, -1000.0]]),
    ("log_softmax_large", lambda a: a.log_softmax(-1), [[1000.0, 0.0, -1000.0]]),
    ("logsumexp_large", lambda a: a.logsumexp(0), [[1000.0, 999.0, -1000.0]]),
    ("logsumexp_all_neg_inf", lambda a: a.logsumexp(1), [[[-np.inf, -np.inf], [0.0, 1.0]]]),
    ("sigmoid_extremes", lambda a: a.sigmoid(), [[-800.0, 0.0, 800.0]]),
    ("softplus_extremes", lambda a: F(a).softplus(a), [[-800.0, 0.0, 800.0]]),
    ("tanh_extremes", lambda a: a.tanh(), [[-800.0, 0.0, 800.0]]),
    # degenerate sizes: nan/inf where torch gives them, empty results, 0-D tensors with dim=0
    ("var_single_element", lambda a: a.var(), [[2.0]]),
    ("std_single_element", lambda a: a.std(), [[2.0]]),
    ("var_correction_equals_n", lambda a: a.var(1, correction=3), [[[1.5, -2.0, 0.0], [3.0, 0.5, -1.0]]]),
    ("mean_empty", lambda a: a.mean(), [np.zeros(0)]),
    ("norm_p0", lambda a: a.norm(0), [[1.5, 0.0, -2.0]]),
    ("cumsum_0d", lambda a: a.cumsum(0), [2.0]),
    ("sum_dim_0d", lambda a: a.sum(0), [2.0]),
    ("amax_dim_0d", lambda a: a.amax(-1), [2.0]),
    ("mean_dim_0d_keepdim", lambda a: a.mean(0, keepdim=True), [2.0]),
    ("max_dim_0d", lambda a: a.max(0).values, [2.0]),
    ("softmax_0d", lambda a: a.softmax(0), [2.0]),
    ("softmax_empty_dim", lambda a: a.softmax(1), [np.zeros((2, 0))]),
    ("log_softmax_empty_dim", lambda a: a.log_softmax(-1), [np.zeros((2, 0))]),
    ("logsumexp_empty_dim", lambda a: a.logsumexp(1), [np.zeros((2, 0))]),
    ("prod_empty_dim", lambda a: a.prod(1), [np.zeros((2, 0))]),
    ("sum_empty_dim", lambda a: a.sum(1), [np.zeros((2, 0))]),
    ("norm_empty_dim", lambda a: a.norm(dim=1), [np.zeros((2, 0))]),
]


@pytest.mark.filterwarnings("ignore:.*degrees of freedom is <= 0:UserWarning")      # torch's, on var of 1 value
@pytest.mark.parametrize("name, fn, values", KINK_CASES, ids=[c[0] for c in KINK_CASES])
def test_kinks_and_edges_vs_torch(name, fn, values):
    xs = [np.asarray(v, dtype=np.float64) for v in values]
    with np.errstate(all="ignore"):
        outs, grads = input_grads(fn, xs, rd)
    ref_outs, ref_grads = input_grads(fn, xs, torch)
    for k, (o, r) in enumerate(zip(outs, ref_outs)):
        assert_close(o, r, 1e-12, 0, f"{name}: output {k} vs torch")
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        assert_close(g, r, 1e-12, 0, f"{name}: gradient of input {i} vs torch")


def test_relu_exact():
    x = rd.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_abs_exact():
    x = rd.tensor([-2.0, 0.0, 3.0], requires_grad=True)
    x.abs().sum().backward()
    assert x.grad.tolist() == [-1.0, 0.0, 1.0]


def test_max_ties_split_evenly():
    x = rd.tensor([1.0, 3.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0, 1 / 3, 1 / 3, 1 / 3])


def test_maximum_ties_split_in_halves():
    a = rd.tensor([1.0, 2.0], requires_grad=True)
    b = rd.tensor([1.0, 1.0], requires_grad=True)
    a.maximum(b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0] and b.grad.tolist() == [0.5, 0.0]


# --------------------------------------------------------------------------- (values, indices) of max/min(dim)
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim, keepdim", [(0, False), (1, False), (-1, True), (1, True)])
@pytest.mark.parametrize("data", ["ties", "random"])
def test_max_min_dim_indices(op, dim, keepdim, data):
    x = TIES if data == "ties" else np.random.default_rng(3).normal(size=(3, 4))
    ours = getattr(rd.tensor(x), op)(dim, keepdim=keepdim)
    ref = getattr(torch.tensor(x), op)(dim, keepdim=keepdim)
    assert ours.indices.dtype == rd.int64
    assert_close(ours.values.numpy(), ref.values.numpy(), 0, 0, "values")
    assert_close(ours.indices.numpy(), ref.indices.numpy(), 0, 0, "indices")
    assert ours[0] is ours.values and ours[1] is ours.indices      # a named tuple, as torch


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("args", [{}, {"dim": 0}, {"dim": 1}, {"dim": -1, "keepdim": True},
                                  {"dim": None, "keepdim": True}])
def test_argmax_argmin(op, args):
    for x in (TIES, np.random.default_rng(4).normal(size=(3, 4))):
        ours, ref = getattr(rd.tensor(x), op)(**args), getattr(torch.tensor(x), op)(**args)
        assert ours.dtype == rd.int64 and not ours.requires_grad
        assert_close(ours.numpy(), ref.numpy(), 0, 0, f"{op}({args})")


# --------------------------------------------------------------------------- no-gradient ops
CMP = [("eq", lambda a, b: a == b), ("ne", lambda a, b: a != b), ("lt", lambda a, b: a < b),
       ("le", lambda a, b: a <= b), ("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b),
       ("eq_method", lambda a, b: a.eq(b)), ("gt_method", lambda a, b: a.gt(b)),
       ("lt_number", lambda a, b: a < 0.5), ("ge_number", lambda a, b: a >= 1),
       ("and", lambda a, b: (a > 0) & (b > 0)), ("or", lambda a, b: (a > 0) | (b > 0)),
       ("xor", lambda a, b: (a > 0) ^ (b > 0)), ("invert", lambda a, b: ~(a > 0)),
       ("logical_and", lambda a, b: a.logical_and(b)), ("logical_or", lambda a, b: a.logical_or(b)),
       ("logical_xor", lambda a, b: a.logical_xor(b)), ("logical_not", lambda a, b: a.logical_not()),
       ("isnan", lambda a, b: (a / b).isnan()), ("isinf", lambda a, b: (a / b).isinf()),
       ("isfinite", lambda a, b: (a / b).isfinite()),
       ("any", lambda a, b: (a > 1).any()), ("all_dim", lambda a, b: (a > -3).all(1))]


@pytest.mark.parametrize("name, fn", CMP, ids=[c[0] for c in CMP])
def test_comparisons_and_logic(name, fn):
    a = np.array([[0.0, 1.0, -1.0, 2.0], [1.0, 1.0, 0.0, -2.0], [0.5, 3.0, 0.0, 0.0]])
    b = np.array([0.0, 1.0, 0.5, 0.0])                                          # broadcast, with 0/0 and x/0
    with np.errstate(all="ignore"):
        ours = fn(rd.tensor(a, requires_grad=True), rd.tensor(b, requires_grad=True))
    ref = fn(torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True))
    assert ours.dtype == rd.bool and not ours.requires_grad and ours.grad_fn is None
    assert_close(ours.numpy(), ref.numpy(), 0, 0, name)


def test_integer_bitwise_ops():
    a, b = np.array([1, 2, 6]), np.array([3, 3, 3])
    for fn in (lambda x, y: x & y, lambda x, y: x | y, lambda x, y: x ^ y, lambda x, y: ~x):
        ours, ref = fn(rd.tensor(a), rd.tensor(b)), fn(torch.tensor(a), torch.tensor(b))
        assert ours.dtype == rd.int64
        assert_close(ours.numpy(), ref.numpy(), 0, 0, "bitwise")


@pytest.mark.parametrize("values, num_classes", [([0, 2, 1, 2], -1), ([0, 2, 1], 5), ([[1, 0], [3, 3]], -1),
                                                 ([], 3)])
def test_one_hot(values, num_classes):
    x = np.array(values, dtype=np.int64)
    ours = rd.nn.functional.one_hot(rd.tensor(x), num_classes)
    ref = torch.nn.functional.one_hot(torch.tensor(x), num_classes)
    assert ours.dtype == rd.int64
    assert_close(ours.numpy(), ref.numpy(), 0, 0, "one_hot")


def test_one_hot_errors():
    with pytest.raises(RuntimeError, match=r"one_hot: class values must be in \[0, 3\)"):
        rd.one_hot(rd.tensor([0, 3]), 3)
    with pytest.raises(RuntimeError, match="one_hot: expected an integer"):
        rd.one_hot(rd.tensor([0.0, 1.0]))


# --------------------------------------------------------------------------- random broadcast shapes
BINARY = [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b), ("mul", lambda a, b: a * b),
          ("div", lambda a, b: a / (b.abs() + 0.5)), ("pow", lambda a, b: (a.abs() + 0.5) ** b),
          ("maximum", lambda a, b: a.maximum(b)), ("minimum", lambda a, b: a.minimum(b)),
          ("where", lambda a, b: lib(a).where(a > b, a, b * 2))]


def _broadcast_pair(rng):
    """Two shapes that broadcast: 1-4 dims of size 0-3, some set to 1 in one operand, leading dims dropped."""
    full = tuple(int(s) for s in rng.choice([0, 1, 2, 3], size=rng.integers(1, 5), p=[0.05, 0.25, 0.35, 0.35]))
    a = tuple(1 if rng.random() < 0.3 else s for s in full)
    b = tuple(1 if rng.random() < 0.3 else s for s in full)
    if rng.random() < 0.4:
        a = a[rng.integers(1, len(a) + 1):]
    elif rng.random() < 0.4:
        b = b[rng.integers(1, len(b) + 1):]
    return a, b


@pytest.mark.parametrize("name, fn", BINARY, ids=[c[0] for c in BINARY])
def test_random_broadcast_shapes(name, fn):
    rng = np.random.default_rng(7)
    for _ in range(25):
        sa, sb = _broadcast_pair(rng)
        xs = [sample(sa, rng), sample(sb, rng)]
        outs, grads = input_grads(fn, xs, rd, layout="F" if rng.random() < 0.5 else "C")
        ref_outs, ref_grads = input_grads(fn, xs, torch)
        what = f"{name} {sa} with {sb}"
        assert_close(outs[0], ref_outs[0], 1e-7, 1e-10, what)
        for i in range(2):
            assert_close(grads[i], ref_grads[i], 1e-7, 1e-10, f"{what}: gradient of input {i}")


def test_random_matmul_shapes():
    """Batch dims broadcast (incl. size 0 and 1), and 1-D operands on either side."""
    rng = np.random.default_rng(8)
    for _ in range(40):
        ba, bb = _broadcast_pair(rng)
        n, k, m = (int(v) for v in rng.integers(1, 4, 3))
        sa = (k,) if rng.random() < 0.2 else ba + (n, k)
        sb = (k,) if rng.random() < 0.2 else bb + (k, m)
        xs = [sample(sa, rng), sample(sb, rng)]
        outs, grads = input_grads(lambda a, b: a @ b, xs, rd, layout="F" if rng.random() < 0.5 else "C")
        ref_outs, ref_grads = input_grads(lambda a, b: a @ b, xs, torch)
        assert_close(outs[0], ref_outs[0], 1e-7, 1e-10, f"matmul {sa} @ {sb}")
        for i in range(2):
            assert_close(grads[i], ref_grads[i], 1e-7, 1e-10, f"matmul {sa} @ {sb}: gradient of input {i}")


def test_scatter_add_src_larger_than_index():
    """torch reads only src's corner of index's shape; its own backward rejects that case, so check by hand."""
    idx = np.array([[0, 1, 0], [2, 2, 0]])
    x, src = sample((3, 4), np.random.default_rng(5)), sample((3, 5), np.random.default_rng(6))
    ours = rd.tensor(x).scatter_add(0, rd.tensor(idx), rd.tensor(src))
    ref = torch.tensor(x).scatter_add(0, torch.tensor(idx), torch.tensor(src))
    assert_close(ours.numpy(), ref.numpy(), 1e-12, 0, "scatter_add forward")
    xt, st = rd.tensor(x, requires_grad=True), rd.tensor(src, requires_grad=True)
    assert rd.gradcheck(lambda a, s: a.scatter_add(0, rd.tensor(idx), s), [xt, st])
    xt.scatter_add(0, rd.tensor(idx), st).sum().backward()
    expected = np.zeros((3, 5))
    expected[:2, :3] = 1.0                       # only the elements the index reads get a gradient
    assert_close(st.grad.numpy(), expected, 0, 0, "d src")


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "strided"])
def test_relu_in_every_layout_and_at_infinities(layout):
    """ReLU's forward compares with zeros laid out like x (cached), or 0 where x is not a permuted block."""
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    x[0, 0, 0, :3] = [-np.inf, np.inf, np.nan]
    x = {"contiguous": x, "channels_last": np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2),
         "strided": x[:, :, ::2]}[layout]
    ours = rd.tensor(x).relu().numpy()
    ref = torch.relu(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(ours, ref)
    for v in (-np.inf, np.inf, np.nan, -0.5, 0.0, 2.0):          # the numbers scale (0-D)
        np.testing.assert_array_equal(rd.tensor(v).relu().numpy(), torch.relu(torch.tensor(v)).numpy())
