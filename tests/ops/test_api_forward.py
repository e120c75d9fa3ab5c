"""The PyTorch API functions without a gradient to check (indices, counts, integer and boolean math, predicates,
factories, NaN handling), compared with torch's forward: values (NaN where torch has NaN), dtype and shape, for
every output. One table drives them all; each case runs the same lambda on redes and on torch."""
import math

import numpy as np
import pytest

import redes as rd

from .cases_api import FIRST_ORDER_CASES
from .helpers import assert_close, input_grads, inputs, lib, torch

pytestmark = pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")

R = np.random.default_rng(7)
F34 = R.uniform(-2, 2, (3, 4))
F35 = R.uniform(-2, 2, (3, 5))
TIES = np.array([[1.0, 3.0, 3.0, -2.0, 1.0], [2.0, 2.0, 0.0, 2.0, 0.0], [-1.0, -1.0, -1.0, -1.0, -1.0]])
NANS = np.array([[1.0, np.nan, 3.0, -2.0], [np.nan, np.nan, np.nan, np.nan], [0.5, 2.0, np.inf, -np.inf]])
I34 = R.integers(-6, 7, (3, 4))
POS = np.array([[12, 18, 7, 0], [4, 6, 9, 15]])
BOOL = np.array([[True, False, True], [False, False, True]])
COUNTS = np.array([2, 0, 3, 1])
SORTED = np.array([1.0, 2.0, 2.0, 3.5, 5.0])
SMALL = np.array([[1, 2, 2, 3, 3, 3], [4, 4, 1, 1, 2, 2]])

CASES = [
    # (name, fn, inputs as arrays): fn(*tensors) for redes and torch alike
    ("sort_indices", lambda a: a.sort(1).indices, [F34]),
    ("sort_ties_stable", lambda a: a.sort(dim=1, stable=True), [TIES]),
    ("sort_ties_descending_stable", lambda a: a.sort(dim=1, descending=True, stable=True), [TIES]),
    ("sort_int", lambda a: lib(a).sort(a, 0), [I34]),
    ("sort_nan", lambda a: a.sort(1), [NANS]),
    ("sort_nan_descending", lambda a: a.sort(1, descending=True), [NANS]),
    ("argsort", lambda a: a.argsort(0, descending=True), [F34]),
    ("argsort_stable_fn", lambda a: lib(a).argsort(a, stable=True), [TIES]),
    ("msort_int", lambda a: a.msort(), [I34]),
    ("topk", lambda a: a.topk(3), [F35]),
    ("topk_smallest", lambda a: a.topk(2, 0, largest=False), [F34]),
    ("topk_k0", lambda a: a.topk(0), [F34]),
    ("topk_int", lambda a: lib(a).topk(a, 2, dim=0), [I34]),
    ("kthvalue", lambda a: a.kthvalue(2), [F35]),
    ("kthvalue_keepdim", lambda a: a.kthvalue(1, 0, True), [F34]),
    ("median_all_int", lambda a: a.median(), [I34]),
    ("median_dim", lambda a: a.median(1), [F34]),
    ("median_nan", lambda a: a.median(1).values, [NANS]),
    ("median_all_nan", lambda a: a.median(), [NANS]),
    ("nanmedian", lambda a: a.nanmedian(1).values, [NANS]),
    ("nanmedian_all", lambda a: a.nanmedian(), [NANS]),
    ("mode_values", lambda a: a.mode(1).values, [SMALL]),
    ("mode_values_float", lambda a: a.mode(0).values, [TIES]),
    ("quantile_nan", lambda a: a.quantile(0.5, dim=1), [NANS]),
    ("nanquantile_nan", lambda a: a.nanquantile(0.5, dim=1), [NANS]),
    ("quantile_nearest", lambda a: a.quantile(0.4, dim=1, interpolation="nearest"), [F35]),
    ("quantile_higher", lambda a: a.quantile(0.4, dim=1, interpolation="higher"), [F35]),
    ("quantile_tensor_q", lambda a, q: a.quantile(q, dim=1, keepdim=True), [F35, np.array([0.1, 0.5, 0.9])]),
    ("quantile_all_keepdim", lambda a, q: a.quantile(q, keepdim=True), [F35, np.array([0.2, 0.7])]),
    ("quantile_all_keepdim_scalar", lambda a: lib(a).quantile(a, 0.3, keepdim=True), [F35]),
    ("quantile_dim0_tensor_q", lambda a, q: a.quantile(q, dim=0), [F35, np.array([0.2, 0.7])]),
    ("cummax", lambda a: a.cummax(1), [F35]),
    ("cummax_ties", lambda a: a.cummax(1), [TIES]),
    ("cummin_ties", lambda a: lib(a).cummin(a, 1), [TIES]),
    ("cummax_int", lambda a: a.cummax(0), [I34]),
    ("cumprod_int", lambda a: a.cumprod(1), [I34]),
    ("cumprod_zeros", lambda a: a.cumprod(1), [np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 1.0]])]),
    ("logcumsumexp_inf", lambda a: a.logcumsumexp(1), [np.array([[-np.inf, 0.0, -np.inf], [1000.0, 1000.0, 0.0]])]),
    ("aminmax_int", lambda a: tuple(a.aminmax(dim=0, keepdim=True)), [I34]),
    ("nansum", lambda a: a.nansum(1), [NANS]),
    ("nanmean", lambda a: a.nanmean(), [NANS[:1]]),
    ("nansum_int", lambda a: lib(a).nansum(a), [I34]),
    ("count_nonzero", lambda a: a.count_nonzero(), [I34]),
    ("count_nonzero_dims", lambda a: lib(a).count_nonzero(a, dim=(0, 1)), [BOOL]),
    ("all_dim_fn", lambda a: lib(a).all(a, 1), [BOOL]),
    ("any_fn", lambda a: lib(a).any(a), [BOOL]),
    # ------------------------------------------------------------------ integer and rounding math
    ("trunc", lambda a: a.trunc(), [F34 * 3]),
    ("fix_fn", lambda a: lib(a).fix(a), [F34 * 3]),
    ("frac", lambda a: a.frac(), [F34 * 3]),
    ("round_decimals", lambda a: a.round(decimals=2), [F34]),
    ("round_negative_decimals", lambda a: lib(a).round(a * 100, decimals=-1), [F34]),
    ("sgn_int", lambda a: a.sgn(), [I34]),
    ("signbit", lambda a: a.signbit(), [np.array([-1.0, -0.0, 0.0, 2.0])]),
    ("floor_divide", lambda a, b: a.floor_divide(b), [I34, np.array([2, -3, 4, -5])]),
    ("remainder_int", lambda a, b: a.remainder(b), [I34, np.array([2, -3, 4, -5])]),
    ("fmod_int", lambda a, b: lib(a).fmod(a, b), [I34, np.array([2, -3, 4, -5])]),
    ("remainder_number", lambda a: a.remainder(1.5), [F34]),
    ("float_power", lambda a: a.float_power(2), [I34]),
    ("float_power_f32", lambda a: lib(a).float_power(a, 1.5), [np.abs(F34).astype(np.float32)]),
    ("gcd", lambda a, b: a.gcd(b), [POS, POS[::-1]]),
    ("lcm", lambda a, b: lib(a).lcm(a, b), [POS, POS[::-1]]),
    ("ldexp", lambda a, b: a.ldexp(b), [F34, np.array([1, -2, 0, 3])]),
    ("frexp", lambda a: tuple(a.frexp()), [F34 * 10]),
    ("nextafter", lambda a, b: a.nextafter(b), [F34, np.zeros(4)]),
    ("heaviside", lambda a, b: a.heaviside(b), [np.array([-1.0, 0.0, 2.0]), np.array([0.5])]),
    ("i0", lambda a: a.i0(), [F34]),
    ("igamma", lambda a, b: a.igamma(b), [np.abs(F34) + 0.1, np.abs(F34.T[:1].T) + 0.5]),
    ("igammac", lambda a, b: lib(a).igammac(a, b), [np.abs(F34) + 0.1, np.abs(F34) + 0.5]),
    ("nan_to_num", lambda a: a.nan_to_num(), [NANS]),
    ("nan_to_num_values", lambda a: lib(a).nan_to_num(a, nan=0.5, posinf=9.0, neginf=-9.0), [NANS]),
    ("nan_to_num_f32", lambda a: a.nan_to_num(), [NANS.astype(np.float32)]),
    ("fmax_nan", lambda a, b: a.fmax(b), [NANS, NANS[::-1]]),
    ("fmin_nan", lambda a, b: lib(a).fmin(a, b), [NANS, NANS[:, ::-1]]),
    ("xlogy_zero", lambda a, b: a.xlogy(b), [np.array([0.0, 0.0, 2.0, 0.0]), np.array([0.0, 3.0, 0.5, np.nan])]),
    ("sinc_zero", lambda a: a.sinc(), [np.array([0.0, 1.0, -0.5])]),
    ("log2_int", lambda a: a.log2(), [np.array([1, 2, 8])]),
    ("atan2_int", lambda a, b: a.atan2(b), [np.array([1, -2, 0]), np.array([1, 1, -1])]),
    ("copysign_zero", lambda a, b: a.copysign(b), [np.array([1.0, 2.0, -3.0]), np.array([-0.0, 0.0, 1.0])]),
    # ------------------------------------------------------------------ comparisons and bits
    ("isclose", lambda a, b: a.isclose(b, rtol=0, atol=0.5), [F34, F34[::-1]]),
    ("isclose_nan", lambda a, b: lib(a).isclose(a, b, equal_nan=True), [NANS, NANS]),
    ("isposinf", lambda a: a.isposinf(), [NANS]),
    ("isneginf", lambda a: lib(a).isneginf(a), [NANS]),
    ("bitwise_and", lambda a, b: a.bitwise_and(b), [POS, POS[::-1]]),
    ("bitwise_or_fn", lambda a, b: lib(a).bitwise_or(a, b), [POS, POS[::-1]]),
    ("bitwise_xor_bool", lambda a, b: a.bitwise_xor(b), [BOOL, BOOL[::-1]]),
    ("bitwise_not", lambda a: a.bitwise_not(), [I34]),
    ("bitwise_not_bool", lambda a: a.bitwise_not(), [BOOL]),
    ("left_shift", lambda a: a.bitwise_left_shift(2), [POS]),
    ("right_shift_op", lambda a: a >> 1, [POS]),
    ("greater_fn", lambda a, b: lib(a).greater(a, b), [F34, F34[::-1]]),
    ("isin", lambda a, b: lib(a).isin(a, b), [I34, np.array([0, 1, 2])]),
    ("isin_invert", lambda a, b: lib(a).isin(a, b, invert=True), [I34, np.array([0, 1, 2])]),
    # ------------------------------------------------------------------ positions and counting
    ("nonzero", lambda a: a.nonzero(), [I34]),
    ("nonzero_as_tuple", lambda a: lib(a).nonzero(a, as_tuple=True), [BOOL]),
    ("nonzero_static", lambda a: a.nonzero_static(size=5), [BOOL]),
    ("argwhere", lambda a: lib(a).argwhere(a), [BOOL]),
    ("unique", lambda a: a.unique(), [SMALL]),
    ("unique_inverse_counts", lambda a: lib(a).unique(a, return_inverse=True, return_counts=True), [SMALL]),
    ("unique_dim", lambda a: a.unique(dim=1, return_counts=True), [np.array([[1, 2, 1, 3], [0, 5, 0, 5]])]),
    ("unique_consecutive", lambda a: a.unique_consecutive(return_inverse=True, return_counts=True), [SMALL[0]]),
    ("unique_consecutive_flat", lambda a: lib(a).unique_consecutive(a), [SMALL]),
    ("unique_consecutive_dim", lambda a: a.unique_consecutive(dim=1), [np.array([[1, 1, 2, 2], [3, 3, 4, 5]])]),
    ("bincount", lambda a: a.bincount(), [np.array([1, 3, 3, 0, 7])]),
    ("bincount_weights_minlength", lambda a, w: lib(a).bincount(a, w, minlength=9),
     [np.array([1, 3, 3, 0]), np.array([0.5, 1.0, 2.0, 0.25])]),
    ("histc", lambda a: a.histc(bins=4), [F34]),
    ("histc_range", lambda a: lib(a).histc(a, bins=5, min=-1, max=1), [F34]),
    ("histogram", lambda a: tuple(a.histogram(4)), [F34]),
    ("histogram_range_weight", lambda a, w: tuple(lib(a).histogram(a, 3, range=(-1.0, 1.0), weight=w)),
     [F34.reshape(-1), np.abs(F34.reshape(-1))]),
    ("bucketize", lambda a, b: lib(a).bucketize(a, b), [F34, SORTED]),
    ("bucketize_right_int32", lambda a, b: lib(a).bucketize(a, b, right=True, out_int32=True),
     [np.array([2.0, 3.5, 0.0]), SORTED]),
    ("searchsorted", lambda s, v: lib(s).searchsorted(s, v), [SORTED, np.array([2.0, 6.0, -1.0])]),
    ("searchsorted_right_2d", lambda s, v: lib(s).searchsorted(s, v, right=True),
     [np.sort(F34, 1), F34[:, :2]]),
    ("searchsorted_side", lambda s, v: lib(s).searchsorted(s, v, side="right"), [SORTED, np.array([2.0, 5.0])]),
    ("repeat_interleave_counts", lambda a: lib(a).repeat_interleave(a), [COUNTS]),
    ("repeat_interleave_int", lambda a: a.repeat_interleave(2, dim=0), [I34]),
    ("combinations_int", lambda a: lib(a).combinations(a, 2, with_replacement=True), [np.array([3, 1, 2])]),
    ("combinations_too_many", lambda a: lib(a).combinations(a, 4), [np.array([1.0, 2.0])]),
    ("cartesian_prod_int", lambda a, b: lib(a).cartesian_prod(a, b), [np.array([1, 2]), np.array([5, 6, 7])]),
    ("diff_bool", lambda a: a.diff(dim=1), [BOOL]),
    ("diff_int", lambda a: lib(a).diff(a, 2, 0), [I34]),
    ("vander_int", lambda a: lib(a).vander(a, 3), [np.array([1, 2, 3])]),
    ("take_int", lambda a: a.take(lib(a).tensor([0, 5, 11])), [I34]),
    ("masked_select_int", lambda a, m: a.masked_select(m), [I34[:2, :3], BOOL]),
    ("diagonal_int", lambda a: a.diagonal(1), [I34]),
    ("trace_int", lambda a: a.trace(), [I34]),
    ("tensor_split_indices", lambda a: lib(a).tensor_split(a, [1, 6], dim=1), [I34]),
    ("tensor_split_int_sections", lambda a: a.tensor_split(3, 1), [I34]),
    ("hsplit_1d", lambda a: lib(a).hsplit(a, 2), [COUNTS]),
    ("scatter_reduce_int", lambda a, s: a.scatter_reduce(0, lib(a).tensor([[0, 1, 0, 2], [0, 0, 2, 2]]), s, "amax"),
     [I34, I34[:2]]),
    ("scatter_add_reduce", lambda a, s: a.scatter(0, lib(a).tensor([[0, 1, 0, 2]]), s, reduce="add"), [F34, F34[:1]]),
    ("index_fill_int", lambda a: a.index_fill(0, lib(a).tensor([1]), 9), [I34]),
    ("fill_diagonal_", lambda a: a.clone().fill_diagonal_(7.0), [F34]),
    ("fill_diagonal_wrap", lambda a: a.clone().fill_diagonal_(7.0, wrap=True), [np.zeros((7, 3))]),
    ("tril_indices", lambda a: lib(a).tril_indices(3, 4, 1), [F34]),
    ("triu_indices", lambda a: lib(a).triu_indices(4, 3, -1), [F34]),
    ("unravel_index", lambda a: lib(a).unravel_index(a, (3, 4)), [np.array([0, 5, 11])]),
    ("broadcast_shapes", lambda a: lib(a).tensor(lib(a).broadcast_shapes((3, 1), (4,), (2, 1, 1))), [F34]),
    ("slogdet_sign", lambda a: lib(a).slogdet(a).sign, [F34[:, :3]]),
    ("meshgrid_int", lambda a, b: lib(a).meshgrid(a, b, indexing="xy"), [np.array([1, 2]), np.array([5, 6, 7])]),
    # ------------------------------------------------------------------ conversions, factories, attributes
    ("byte", lambda a: a.byte(), [POS]),
    ("char", lambda a: a.char(), [I34]),
    ("short", lambda a: a.short(), [I34]),
    ("new_zeros", lambda a: a.new_zeros(2, 3), [I34]),
    ("new_ones_dtype", lambda a: a.new_ones((2,), dtype=lib(a).float64), [BOOL]),
    ("new_full", lambda a: a.new_full((2, 2), 1.5), [F34.astype(np.float32)]),
    ("new_tensor", lambda a: a.new_tensor([1, 2, 3]), [F34]),
    ("new_empty_shape", lambda a: a.new_empty(3, 1).shape == (3, 1), [F34]),
    ("rsub", lambda a, b: lib(a).rsub(a, b, alpha=2), [F34, F34[::-1]]),
    ("fill", lambda a: lib(a).fill(a, 2.5), [F34]),
    ("scalar_tensor", lambda a: lib(a).scalar_tensor(3), [F34]),
    ("logspace", lambda a: lib(a).logspace(-1, 2, 4), [F34]),
    ("logspace_base2", lambda a: lib(a).logspace(0, 3, 4, base=2.0, dtype=lib(a).float64), [F34]),
    ("contiguous_copy", lambda a: a.T.contiguous().is_contiguous(), [F34]),
    ("is_contiguous_T", lambda a: a.T.is_contiguous(), [F34]),
    ("stride", lambda a: lib(a).tensor(a.stride()), [np.zeros((2, 3, 4))]),
    ("stride_T", lambda a: a.T.stride(1), [np.zeros((2, 3, 4))]),
    ("itemsize_nbytes", lambda a: lib(a).tensor([a.itemsize, a.nbytes, a.ndimension(), a.nelement()]), [F34]),
    ("is_signed", lambda a: a.is_signed(), [POS.astype(np.uint8)]),
    ("is_nonzero", lambda a: lib(a).is_nonzero(a), [np.array([0.0])]),
    ("is_same_size", lambda a, b: a.is_same_size(b), [F34, F34.T]),
    ("is_floating_point_fn", lambda a: lib(a).is_floating_point(a), [I34]),
    ("numel_fn", lambda a: lib(a).numel(a), [F34]),
    ("is_tensor", lambda a: lib(a).is_tensor(a) and not lib(a).is_tensor(3), [F34]),
    ("format_0d", lambda a: format(a.sum(), "+.2f"), [F34]),
    ("format_int_0d", lambda a: f"{a[0, 0]:>5d}", [I34]),
]


def _np(x):
    if isinstance(x, (bool, int, float, str, tuple)) and not hasattr(x, "shape"):
        return x
    return x.detach().numpy() if torch is not None and isinstance(x, torch.Tensor) else x.numpy()


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _dtype_name(x):
    return str(x.dtype).replace("torch.", "")


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name, fn, arrays", CASES, ids=[c[0] for c in CASES])
def test_forward_vs_torch(name, fn, arrays):
    ours = _outputs(fn(*[rd.tensor(np.array(a)) for a in arrays]))
    ref = _outputs(fn(*[torch.tensor(np.array(a)) for a in arrays]))
    assert len(ours) == len(ref), f"{name}: {len(ours)} outputs vs torch {len(ref)}"
    for k, (o, r) in enumerate(zip(ours, ref)):
        if not hasattr(r, "shape"):                    # Python values: bool, str, number
            assert o == r, f"{name}: output {k} is {o!r}, torch gives {r!r}"
            continue
        assert _dtype_name(o) == _dtype_name(r), f"{name}: output {k} dtype {o.dtype} vs torch {r.dtype}"
        a, b = _np(o), _np(r)
        assert a.shape == b.shape, f"{name}: output {k} shape {a.shape} vs torch {b.shape}"
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12, equal_nan=True, err_msg=f"{name}: output {k}")
        else:
            np.testing.assert_array_equal(a, b, err_msg=f"{name}: output {k}")


def test_mode_index_points_at_the_mode():
    x = rd.tensor(SMALL)
    values, indices = x.mode(1)
    assert (x.gather(1, indices.unsqueeze(1)).squeeze(1) == values).all()


# ---------------------------------------------------------------------------------- errors, as torch raises them
ERRORS = [
    ("topk_k_too_large", lambda a: a.topk(9), [F34], "topk"),
    ("kthvalue_k_zero", lambda a: a.kthvalue(0), [F34], "kthvalue"),
    ("mm_1d", lambda a: a.mm(a), [F34[0]], "mm"),
    ("bmm_batches", lambda a, b: a.bmm(b), [np.zeros((2, 3, 4)), np.zeros((3, 4, 5))], "bmm"),
    ("dot_sizes", lambda a, b: a.dot(b), [np.zeros(3), np.zeros(4)], "dot"),
    ("cross_size", lambda a, b: a.cross(b, dim=1), [F34, F34], "cross"),
    ("inverse_not_square", lambda a: a.inverse(), [F34], "inverse"),
    ("multinomial_negative", lambda a: a.multinomial(1), [np.array([0.5, -0.1])], "multinomial"),
    ("multinomial_too_many", lambda a: a.multinomial(4), [np.array([0.5, 0.5, 0.0])], "multinomial"),
    ("sin_on_int_in_place", lambda a: a.sin_(), [I34], "sin_"),
]


@pytest.mark.parametrize("name, fn, arrays, op", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_as_torch(name, fn, arrays, op):
    with pytest.raises(RuntimeError):
        fn(*[torch.tensor(np.array(a)) for a in arrays])
    with pytest.raises(RuntimeError, match=op):
        fn(*[rd.tensor(np.array(a)) for a in arrays])


# ---------------------------------------------------------------------------------- in-place forms
IN_PLACE = [
    ("sin_", lambda t: t.sin_()), ("exp2_", lambda t: t.exp2_()), ("clamp_min_", lambda t: t.clamp_min_(0.1)),
    ("atan2_", lambda t: t.atan2_(t * 2)), ("fmod_", lambda t: t.fmod_(0.3)), ("lerp_", lambda t: t.lerp_(t * 0, 0.5)),
    ("nan_to_num_", lambda t: t.nan_to_num_()), ("tril_", lambda t: t.tril_(-1)), ("cumsum_", lambda t: t.cumsum_(1)),
    ("index_fill_", lambda t: t.index_fill_(1, t.new_tensor([0, 2]).long(), 5.0)),
    ("scatter_", lambda t: t.scatter_(1, t.new_tensor([[1], [0], [3]]).long(), 2.0)),
    ("squeeze_", lambda t: t.unsqueeze_(0).squeeze_(0)), ("t_", lambda t: t.t_()),
    ("gt_", lambda t: t.gt_(0.0)), ("logical_not_", lambda t: t.logical_not_()),
    ("addmm_", lambda t: t.addmm_(t * 1, t.T * 1, beta=0.5)), ("round_", lambda t: t.round_(decimals=1)),
]


@pytest.mark.parametrize("name, fn", IN_PLACE, ids=[c[0] for c in IN_PLACE])
def test_in_place_matches_torch_and_keeps_identity(name, fn):
    x = rd.tensor(F34 if name != "addmm_" else F34[:, :3])
    ref = torch.tensor(F34 if name != "addmm_" else F34[:, :3])
    assert fn(x) is x
    fn(ref)
    assert x.shape == tuple(ref.shape) and _dtype_name(x) == _dtype_name(ref)
    np.testing.assert_allclose(x.numpy(), ref.numpy(), rtol=1e-7, atol=1e-12, equal_nan=True)


def test_in_place_on_a_leaf_requiring_grad_is_refused():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="exp_: a leaf tensor that requires grad"):
        x.exp_()
    with rd.no_grad():
        x.exp_()                                            # allowed without a graph, as torch
    np.testing.assert_allclose(x.detach().numpy(), np.exp([1.0, 2.0]).astype(np.float32), rtol=1e-6)


def test_in_place_writes_through_views():
    base = rd.tensor(F34)
    base[0].sin_()
    ref = torch.tensor(F34)
    ref[0].sin_()
    np.testing.assert_allclose(base.numpy(), ref.numpy(), rtol=1e-12)


def test_in_place_with_a_grad_argument_joins_the_graph():
    w = rd.tensor(F34[0], requires_grad=True)
    x = rd.zeros(4, dtype=rd.float64)
    x.mul_(2)                                       # plain tensors stay plain
    assert not x.requires_grad
    y = rd.zeros(4, dtype=rd.float64).lerp_(w, 0.5)
    (y * y).sum().backward()
    tw = torch.tensor(F34[0], requires_grad=True)
    ty = torch.zeros(4, dtype=torch.float64).lerp_(tw, 0.5)
    (ty * ty).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), rtol=1e-12)


def test_format_of_a_tensor_with_elements_needs_an_empty_spec():
    with pytest.raises(TypeError):
        format(rd.tensor([1.0, 2.0]), ".2f")
    assert format(rd.tensor([1.0, 2.0]), "") == str(rd.tensor([1.0, 2.0]))
    assert f"{rd.tensor(math.pi, dtype=rd.float64):.3f}" == "3.142"


@pytest.mark.parametrize("name, fn, shapes, torch_grad", FIRST_ORDER_CASES, ids=[c[0] for c in FIRST_ORDER_CASES])
def test_first_order_vs_torch_and_central_differences(name, fn, shapes, torch_grad):
    xs = inputs(name, shapes)
    outs, grads = input_grads(fn, xs, rd)
    assert_close(outs[0], fn(*[torch.tensor(x) for x in xs]).numpy(), 1e-7, 1e-10, f"{name}: output vs torch")
    if torch_grad:
        for k, (g, r) in enumerate(zip(grads, input_grads(fn, xs, torch)[1])):
            assert_close(g, r, 1e-7, 1e-10, f"{name}: gradient of input {k} vs torch")
    assert rd.gradcheck(fn, [rd.tensor(x, requires_grad=True) for x in xs], eps=1e-6, atol=1e-5, rtol=1e-3)


DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def test_promote_types_and_can_cast_match_torch_for_every_pair():
    for a in DTYPES:
        for b in DTYPES:
            ta, tb = getattr(torch, a), getattr(torch, b)
            assert str(rd.promote_types(a, b)) == _dtype_name(torch.zeros(0, dtype=torch.promote_types(ta, tb))), (a, b)
            assert rd.can_cast(a, b) == torch.can_cast(ta, tb), (a, b)


RESULT_TYPE = [(np.array([1, 2]), np.array(1.0)), (np.array([1, 2], np.int32), np.array(7)), (np.array([1, 2]), 2.5),
               (np.array([1.0, 2.0], np.float32), np.array([1, 2])), (np.array([True]), 3),
               (np.array([1, 2], np.int8), np.array([3], np.int16)), (np.array(2.0, np.float32), np.array([1, 2])),
               (np.array(2.0), np.array([1.0, 2.0], np.float32)), (np.array([1, 2], np.uint8), -1)]


@pytest.mark.parametrize("a, b", RESULT_TYPE)
def test_result_type_matches_torch(a, b):
    def as_lib(x, lib_):
        return lib_.tensor(x) if isinstance(x, np.ndarray) else x
    assert str(rd.result_type(as_lib(a, rd), as_lib(b, rd))) == _dtype_name(
        torch.zeros(0, dtype=torch.result_type(as_lib(a, torch), as_lib(b, torch))))


def test_apply_and_map_match_torch():
    x, y = rd.tensor(F34), torch.tensor(F34)
    x.apply_(lambda v: v * 2 + 1)
    y.apply_(lambda v: v * 2 + 1)
    x.map_(rd.tensor(F34[0]), lambda a, b: a - b)
    y.map_(torch.tensor(F34[0]), lambda a, b: a - b)
    np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-12)
    assert rd.tensor(F34).get_device() == torch.tensor(F34).get_device() == -1


@pytest.mark.parametrize("options", [dict(precision=2), dict(profile="short"), dict(precision=6),
                                     dict(precision=3, linewidth=30)])
def test_set_printoptions_matches_torch(options):
    x = np.random.default_rng(0).uniform(-2, 2, (3, 4)).astype(np.float32)
    try:
        rd.set_printoptions(**options)
        torch.set_printoptions(**options)
        assert repr(rd.tensor(x)) == repr(torch.tensor(x))
    finally:
        rd.set_printoptions(profile="default")
        torch.set_printoptions(profile="default")


def test_set_printoptions_threshold_sci_mode_and_reset():
    x = rd.tensor(np.linspace(0.5, 1.5, 12, dtype=np.float32))
    try:
        rd.set_printoptions(threshold=5, edgeitems=2)
        assert repr(x) == "tensor([0.5000, 0.5909, ..., 1.4091, 1.5000])"
        rd.set_printoptions(sci_mode=True)
        assert "e-01" in repr(x)
        rd.set_printoptions(profile="full")
        assert "..." not in repr(rd.zeros(2000))
    finally:
        rd.set_printoptions(profile="default")
    assert "..." not in repr(x) and "e-01" not in repr(x)
    with pytest.raises(ValueError, match="profile"):
        rd.set_printoptions(profile="long")


def test_deterministic_switches_round_trip_as_torch():
    try:
        for mode in (2, 1, 0, "error"):
            rd.set_deterministic_debug_mode(mode)
            torch.set_deterministic_debug_mode(mode)
            assert rd.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert rd.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
            assert (rd.is_deterministic_algorithms_warn_only_enabled()
                    == torch.is_deterministic_algorithms_warn_only_enabled())
    finally:
        rd.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(False)


# ---------------------------------------------------------------------------------- every in-place method vs torch's
U34 = F34 * 0.45                                  # inside (-1, 1): asin, atanh, erfinv, logit
P34 = np.abs(F34) + 0.5                           # positive: log, sqrt, lgamma, acosh (shifted below)
IDX2 = np.array([2, 0])


def _f(lib_, a):
    return lib_.tensor(np.array(a))


# name -> (input array, args(lib) -> positional args, kwargs); no entry for an argument-less unary form on F34
IN_PLACE_ARGS = {
    "acos_": (U34, None), "arccos_": (U34, None), "asin_": (U34, None), "arcsin_": (U34, None),
    "atanh_": (U34, None), "arctanh_": (U34, None), "erfinv_": (U34, None), "logit_": (U34 * 0 + 0.3, None),
    "acosh_": (P34 + 1, None), "arccosh_": (P34 + 1, None), "log_": (P34, None), "log2_": (P34, None),
    "log10_": (P34, None), "log1p_": (P34, None), "sqrt_": (P34, None), "rsqrt_": (P34, None),
    "lgamma_": (P34, None), "digamma_": (P34, None), "mvlgamma_": (P34 + 1, lambda L: ((2,), {})),
    "polygamma_": (P34, lambda L: ((1,), {})), "i0_": (F34, None), "tan_": (U34, None),
    "add_": (F34, lambda L: ((_f(L, F34[0]),), {"alpha": 2})), "sub_": (F34, lambda L: ((_f(L, F34[0]),), {})),
    "subtract_": (F34, lambda L: ((_f(L, F34[0]),), {"alpha": 0.5})),
    "mul_": (F34, lambda L: ((_f(L, F34[1]),), {})), "multiply_": (F34, lambda L: ((3.0,), {})),
    "div_": (F34, lambda L: ((_f(L, P34[0]),), {})), "divide_": (F34, lambda L: ((_f(L, P34[0]),), {})),
    "true_divide_": (F34, lambda L: ((2.0,), {})), "floor_divide_": (I34, lambda L: ((3,), {})),
    "pow_": (P34, lambda L: ((1.5,), {})), "float_power_": (P34, lambda L: ((2.0,), {})),
    "fmod_": (F34, lambda L: ((0.7,), {})), "remainder_": (I34, lambda L: ((-4,), {})),
    "atan2_": (F34, lambda L: ((_f(L, P34),), {})), "arctan2_": (F34, lambda L: ((_f(L, -P34),), {})),
    "copysign_": (F34, lambda L: ((_f(L, F34[::-1]),), {})), "hypot_": (F34, lambda L: ((_f(L, F34[0]),), {})),
    "xlogy_": (F34, lambda L: ((_f(L, P34),), {})), "lerp_": (F34, lambda L: ((_f(L, P34), 0.25), {})),
    "ldexp_": (F34, lambda L: ((_f(L, np.array([1, 2, -1, 0])),), {})),
    "nextafter_": (F34, lambda L: ((_f(L, np.zeros(4)),), {})),
    "heaviside_": (F34, lambda L: ((_f(L, np.array([0.5])),), {})),
    "igamma_": (P34, lambda L: ((_f(L, P34[::-1]),), {})), "igammac_": (P34, lambda L: ((_f(L, P34[::-1]),), {})),
    "gcd_": (POS, lambda L: ((_f(L, POS[::-1]),), {})), "lcm_": (POS, lambda L: ((_f(L, POS[::-1]),), {})),
    "clamp_": (F34, lambda L: ((-0.5, 0.5), {})), "clip_": (F34, lambda L: ((None, 0.5), {})),
    "clamp_min_": (F34, lambda L: ((0.1,), {})), "clamp_max_": (F34, lambda L: ((0.1,), {})),
    "round_": (F34, lambda L: ((), {"decimals": 1})), "nan_to_num_": (NANS, lambda L: ((), {"posinf": 5.0})),
    "addcmul_": (F34, lambda L: ((_f(L, F34), _f(L, P34)), {"value": 0.5})),
    "addcdiv_": (F34, lambda L: ((_f(L, F34), _f(L, P34)), {"value": 2})),
    "addmm_": (F34[:, :3], lambda L: ((_f(L, F34), _f(L, F34.T[:, :3])), {"beta": 0.5, "alpha": 2})),
    "addmv_": (F34[:, 0], lambda L: ((_f(L, F34), _f(L, F34[0])), {"alpha": 2})),
    "addbmm_": (F34[:, :2], lambda L: ((_f(L, np.stack([F34, F34])), _f(L, np.stack([F34.T[:, :2]] * 2))), {})),
    "baddbmm_": (np.stack([F34[:, :2]] * 2), lambda L: ((_f(L, np.stack([F34, F34])),
                                                           _f(L, np.stack([F34.T[:, :2]] * 2))), {"beta": 2})),
    "addr_": (F34, lambda L: ((_f(L, F34[:, 0]), _f(L, F34[0])), {})),
    "cumsum_": (F34, lambda L: ((1,), {})), "cumprod_": (F34, lambda L: ((0,), {})),
    "renorm_": (F34, lambda L: ((2, 0, 1.0), {})), "tril_": (F34, lambda L: ((1,), {})),
    "triu_": (F34, lambda L: ((-1,), {})),
    "masked_fill_": (F34, lambda L: ((_f(L, F34 > 0), 0.5), {})),
    "masked_scatter_": (F34, lambda L: ((_f(L, F34 > 0), _f(L, P34)), {})),
    "index_add_": (F34, lambda L: ((0, _f(L, IDX2), _f(L, P34[:2])), {"alpha": 2})),
    "index_copy_": (F34, lambda L: ((0, _f(L, IDX2), _f(L, P34[:2])), {})),
    "index_fill_": (F34, lambda L: ((1, _f(L, IDX2), -1.0), {})),
    "index_put_": (F34, lambda L: (((_f(L, IDX2), _f(L, np.array([1, 3]))), _f(L, np.array([5.0, 6.0]))), {})),
    "index_reduce_": (F34, lambda L: ((0, _f(L, np.array([0, 0, 2])), _f(L, P34), "amax"), {})),
    "put_": (F34, lambda L: ((_f(L, np.array([1, 7])), _f(L, np.array([5.0, 6.0]))), {"accumulate": True})),
    "scatter_": (F34, lambda L: ((1, _f(L, np.array([[1], [0], [3]])), _f(L, P34)), {})),
    "scatter_add_": (F34, lambda L: ((0, _f(L, np.array([[1, 0, 2, 2]])), _f(L, P34)), {})),
    "scatter_reduce_": (F34, lambda L: ((0, _f(L, np.array([[1, 0, 2, 2]])), _f(L, P34), "prod"), {})),
    "fill_diagonal_": (F34, lambda L: ((2.0,), {})),
    "eq_": (I34, lambda L: ((0,), {})), "ne_": (I34, lambda L: ((0,), {})), "lt_": (F34, lambda L: ((0.0,), {})),
    "le_": (F34, lambda L: ((0.0,), {})), "gt_": (F34, lambda L: ((0.0,), {})), "ge_": (F34, lambda L: ((0.0,), {})),
    "not_equal_": (I34, lambda L: ((1,), {})), "less_": (F34, lambda L: ((0.5,), {})),
    "less_equal_": (F34, lambda L: ((0.5,), {})), "greater_": (F34, lambda L: ((0.5,), {})),
    "greater_equal_": (F34, lambda L: ((0.5,), {})),
    "logical_and_": (BOOL, lambda L: ((_f(L, BOOL[::-1]),), {})),
    "logical_or_": (BOOL, lambda L: ((_f(L, BOOL[::-1]),), {})),
    "logical_xor_": (BOOL, lambda L: ((_f(L, BOOL[::-1]),), {})), "logical_not_": (BOOL, None),
    "bitwise_and_": (POS, lambda L: ((_f(L, POS[::-1]),), {})),
    "bitwise_or_": (POS, lambda L: ((_f(L, POS[::-1]),), {})),
    "bitwise_xor_": (POS, lambda L: ((_f(L, POS[::-1]),), {})), "bitwise_not_": (I34, None),
    "bitwise_left_shift_": (POS, lambda L: ((2,), {})), "bitwise_right_shift_": (POS, lambda L: ((1,), {})),
    "squeeze_": (F34[:1], lambda L: ((0,), {})), "unsqueeze_": (F34, lambda L: ((1,), {})),
    "transpose_": (F34, lambda L: ((0, 1), {})), "swapaxes_": (F34, lambda L: ((1, 0), {})),
    "swapdims_": (F34, lambda L: ((0, 1), {})), "t_": (F34, None),
}
# tested elsewhere: random fillers (test_sampling.py), apply_/map_ (above), and the engine's own in-place methods
NOT_IN_TABLE = {"bernoulli_", "cauchy_", "exponential_", "geometric_", "log_normal_", "normal_", "random_",
                "uniform_", "apply_", "map_", "map2_", "copy_", "fill_", "zero_", "detach_", "requires_grad_"}
IN_PLACE_NAMES = sorted(n for n in dir(rd.Tensor)
                        if n.endswith("_") and not n.startswith("_") and n not in NOT_IN_TABLE)


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", IN_PLACE_NAMES)
def test_every_in_place_method_matches_torch(name):
    array, make_args = IN_PLACE_ARGS.get(name, (F34, None))
    outs = []
    for lib_ in (rd, torch):
        x = _f(lib_, array)
        args, kwargs = make_args(lib_) if make_args else ((), {})
        assert getattr(x, name)(*args, **kwargs) is x, f"{name} must return the tensor itself"
        outs.append(x)
    ours, ref = outs
    assert tuple(ours.shape) == tuple(ref.shape) and _dtype_name(ours) == _dtype_name(ref), name
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-7, atol=1e-12, equal_nan=True, err_msg=name)
