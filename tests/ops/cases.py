"""THE table of op cases: (name, fn, shapes). Every differentiable op of the engine appears here.

fn takes one Tensor per shape (redes or torch: see helpers.lib / F / const) and returns a Tensor or a tuple.
A shape is a tuple (values in [-2, 2] kept off the kinks), pos(shape) (values in [0.5, 2]) or nz(shape)
(0.5 <= |x| <= 2). test_op_cases.py runs each case against torch in float64 and float32, through
rd.gradcheck, and through second derivatives (create_graph=True).
"""
import numpy as np

import redes as rd

from .helpers import F, const, is_torch, lib, nz, pos

INF = float("inf")
TARGET = np.array([4, 0, 2])                                # class indices for (3, 5) logits
EMB_IDX = np.array([[0, 4, 4], [2, 1, 0]])                  # rows of a (5, 3) table; row 4 used twice
RUN_MEAN, RUN_VAR = np.array([0.1, -0.2, 0.3]), np.array([1.5, 0.5, 2.0])
MASK_34 = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
ROWS = np.array([True, False, True])
IDX_GATHER1 = np.array([[0, 3], [1, 1], [2, 0]])            # (3, 2) into dim 1 of (3, 4); a repeat in row 1
IDX_GATHER0 = np.array([[2, 0, 0, 1], [0, 0, 2, 2]])         # (2, 4) into dim 0 of (3, 4)
IDX_SCATTER = np.array([[0, 1, 0, 2], [2, 2, 0, 0]])         # repeated targets: contributions add up


def _cat(*xs, dim=0):
    return lib(xs[0]).cat(list(xs), dim=dim)


def _stack(*xs, dim=0):
    return lib(xs[0]).stack(list(xs), dim=dim)


def NF(x):
    """The functional namespace of x's library: torch.nn.functional or redes.nn.functional."""
    return lib(x).nn.functional


def _recurrent(name):
    """torch.lstm / torch.gru / torch.rnn_tanh, and redes' functional twins (same arguments, as torch._VF)."""
    def run(x, h, *ws):
        hx = (h, ws[0]) if name == "lstm" else h        # lstm: (h0, c0); c0 comes first in ws
        params = list(ws[1:] if name == "lstm" else ws)
        f = getattr(lib(x) if is_torch(x) else rd.nn.functional, name)
        return f(x, hx, params, True, 1, 0.0, True, False, False)
    return run


def _mha(q, k, w_in, b_in, w_out, b_out):
    return NF(q).multi_head_attention_forward(q, k, k, 4, 2, w_in, b_in, None, None, False, 0.0, w_out, b_out,
                                              training=False, need_weights=False)[0]


def _linear(x, w, b=None):
    return (lib(x).nn.functional if is_torch(x) else rd.nn.functional).linear(x, w, b)


CASES = [
    # ------------------------------------------------------------------ arithmetic (broadcasting, reflected)
    ("add", lambda a, b: a + b, [(3, 4), (3, 4)]),
    ("add_bcast", lambda a, b: a + b, [(3, 1), (1, 4)]),
    ("add_bcast_rank", lambda a, b: a + b, [(2, 3, 4), (4,)]),
    ("add_0d", lambda a, b: a + b, [(3, 4), ()]),
    ("add_0d_0d", lambda a, b: a + b, [(), ()]),
    ("add_zero_size", lambda a, b: a + b, [(0, 4), (1, 4)]),
    ("add_int", lambda a: a + 2, [(3,)]),
    ("radd", lambda a: 2.5 + a, [(3, 4)]),
    ("sub", lambda a, b: a - b, [(2, 3, 1), (3, 4)]),
    ("rsub", lambda a: 2.5 - a, [(3, 4)]),
    ("mul", lambda a, b: a * b, [(3, 4), (3, 4)]),
    ("mul_bcast", lambda a, b: a * b, [(3, 1), (1, 4)]),
    ("mul_same_input", lambda a: a * a, [(5,)]),
    ("rmul", lambda a: 3.0 * a, [(3, 4)]),
    ("div", lambda a, b: a / b, [(3, 4), nz((3, 4))]),
    ("div_bcast", lambda a, b: a / b, [(2, 1, 4), nz((3, 1))]),
    ("rdiv", lambda b: 2.0 / b, [nz((3, 4))]),
    ("div_number", lambda a: a / 4.0, [(3, 4)]),
    ("pow_int", lambda a: a ** 3, [(3, 4)]),
    ("pow_float", lambda a: a ** 2.5, [pos((3, 4))]),
    ("pow_negative", lambda a: a ** -1.5, [pos((3, 4))]),
    ("pow_half", lambda a: a ** 0.5, [pos((4,))]),
    ("pow_tensor", lambda a, b: a ** b, [pos((3, 4)), (3, 4)]),
    ("pow_tensor_bcast", lambda a, b: a ** b, [pos((3, 1)), (1, 4)]),
    ("rpow", lambda b: 2.0 ** b, [(3, 4)]),
    ("neg", lambda a: -a, [(3, 4)]),
    ("neg_method", lambda a: a.neg(), [(2, 3)]),
    ("add_method", lambda a, b: a.add(b), [(3, 4), (4,)]),
    ("sub_method", lambda a, b: a.sub(b), [(3, 4), (4,)]),
    ("mul_method", lambda a, b: a.mul(b), [(3, 4), (4,)]),
    ("div_method", lambda a, b: a.div(b), [(3, 4), nz((4,))]),
    ("pow_method", lambda a: a.pow(2), [(3, 4)]),
    # ------------------------------------------------------------------ unary math
    ("abs", lambda a: a.abs(), [(3, 4)]),
    ("abs_builtin", lambda a: abs(a), [(5,)]),
    ("sign", lambda a: a.sign() * a, [(3, 4)]),
    ("exp", lambda a: a.exp(), [(3, 4)]),
    ("log", lambda a: a.log(), [pos((3, 4))]),
    ("log1p", lambda a: a.log1p(), [pos((3, 4))]),
    ("expm1", lambda a: a.expm1(), [(3, 4)]),
    ("sqrt", lambda a: a.sqrt(), [pos((3, 4))]),
    ("rsqrt", lambda a: a.rsqrt(), [pos((3, 4))]),
    ("square", lambda a: a.square(), [(3, 4)]),
    ("reciprocal", lambda a: a.reciprocal(), [nz((3, 4))]),
    ("sin", lambda a: a.sin(), [(3, 4)]),
    ("cos", lambda a: a.cos(), [(3, 4)]),
    ("tanh", lambda a: a.tanh(), [(3, 4)]),
    ("sigmoid", lambda a: a.sigmoid(), [(3, 4)]),
    ("erf", lambda a: a.erf(), [(3, 4)]),
    ("exp_zero_size", lambda a: a.exp(), [(0, 3)]),
    ("tanh_0d", lambda a: a.tanh(), [()]),
    # ------------------------------------------------------------------ activations
    ("relu", lambda a: a.relu(), [(3, 4)]),
    ("leaky_relu", lambda a: F(a).leaky_relu(a), [(3, 4)]),
    ("leaky_relu_slope", lambda a: F(a).leaky_relu(a, 0.2), [(3, 4)]),
    ("elu", lambda a: F(a).elu(a), [(3, 4)]),
    ("elu_alpha", lambda a: F(a).elu(a, 0.5), [(3, 4)]),
    ("selu", lambda a: F(a).selu(a), [(3, 4)]),
    ("gelu", lambda a: F(a).gelu(a), [(3, 4)]),
    ("gelu_tanh", lambda a: F(a).gelu(a, approximate="tanh"), [(3, 4)]),
    ("silu", lambda a: F(a).silu(a), [(3, 4)]),
    ("softplus", lambda a: F(a).softplus(a), [(3, 4)]),
    ("softplus_beta_threshold", lambda a: F(a).softplus(a, beta=2.0, threshold=1.0), [(3, 4)]),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), [(3, 4)]),
    ("clamp_min", lambda a: a.clamp(min=-0.5), [(3, 4)]),
    ("clamp_max", lambda a: a.clamp(max=0.5), [(3, 4)]),
    ("clamp_tensor_bounds", lambda a, lo: a.clamp(lo, lo + 1.0), [(3, 4), (4,)]),
    ("clip", lambda a: a.clip(-0.5, 0.5), [(3, 4)]),
    ("maximum", lambda a, b: a.maximum(b), [(3, 4), (3, 4)]),
    ("maximum_bcast", lambda a, b: a.maximum(b), [(3, 1), (4,)]),
    ("max_other", lambda a, b: a.max(b), [(3, 4), (3, 4)]),
    ("minimum", lambda a, b: a.minimum(b), [(3, 4), (3, 4)]),
    ("minimum_bcast", lambda a, b: a.minimum(b), [(2, 1, 4), (3, 1)]),
    ("where", lambda a, b: lib(a).where(const(a, MASK_34), a, b), [(3, 4), (3, 4)]),
    ("where_bcast", lambda a, b: lib(a).where(const(a, MASK_34), a, b), [(1, 4), (3, 1)]),
    ("where_number", lambda a: lib(a).where(const(a, MASK_34), a, 0.0), [(3, 4)]),
    # ------------------------------------------------------------------ reductions
    ("sum", lambda a: a.sum(), [(3, 4)]),
    ("sum_dim", lambda a: a.sum(1), [(3, 4)]),
    ("sum_dim_neg_keepdim", lambda a: a.sum(-1, keepdim=True), [(2, 3, 4)]),
    ("sum_dims", lambda a: a.sum((0, 2)), [(2, 3, 4)]),
    ("sum_dims_neg_keepdim", lambda a: a.sum((-1, 0), keepdim=True), [(2, 3, 4)]),
    ("sum_zero_size", lambda a: a.sum(0), [(0, 3)]),
    ("sum_0d", lambda a: a.sum(), [()]),
    ("sum_all_zero_size", lambda a: a.sum(), [(2, 0)]),
    ("mean", lambda a: a.mean(), [(3, 4)]),
    ("mean_dim", lambda a: a.mean(0), [(3, 4)]),
    ("mean_dims_keepdim", lambda a: a.mean((0, -1), keepdim=True), [(2, 3, 4)]),
    ("prod", lambda a: a.prod(), [(2, 3)]),
    ("prod_dim", lambda a: a.prod(1), [(3, 4)]),
    ("prod_dim_neg_keepdim", lambda a: a.prod(-2, keepdim=True), [(2, 3, 4)]),
    ("max", lambda a: a.max(), [(3, 4)]),
    ("max_dim", lambda a: a.max(1).values, [(3, 4)]),
    ("max_dim_neg_keepdim", lambda a: a.max(-1, keepdim=True)[0], [(2, 3, 4)]),
    ("max_dim_zero_size", lambda a: a.max(1).values, [(0, 3)]),
    ("min", lambda a: a.min(), [(3, 4)]),
    ("min_dim", lambda a: a.min(0).values, [(3, 4)]),
    ("min_dim_keepdim", lambda a: a.min(1, keepdim=True).values, [(2, 3, 4)]),
    ("amax", lambda a: a.amax(), [(3, 4)]),
    ("amax_dim", lambda a: a.amax(1), [(3, 4)]),
    ("amax_dims_keepdim", lambda a: a.amax((0, -1), keepdim=True), [(2, 3, 4)]),
    ("amin", lambda a: a.amin(), [(3, 4)]),
    ("amin_dims", lambda a: a.amin((1, 2)), [(2, 3, 4)]),
    ("var", lambda a: a.var(), [(3, 4)]),
    ("var_dim", lambda a: a.var(1), [(3, 4)]),
    ("var_biased", lambda a: a.var(0, unbiased=False), [(3, 4)]),
    ("var_correction", lambda a: a.var((0, 2), correction=2, keepdim=True), [(2, 3, 4)]),
    ("std", lambda a: a.std(), [(3, 4)]),
    ("std_dim_keepdim", lambda a: a.std(-1, keepdim=True), [(3, 4)]),
    ("std_biased", lambda a: a.std(0, unbiased=False), [(3, 4)]),
    ("std_correction", lambda a: a.std((0, 1), correction=0), [(2, 3, 4)]),
    ("logsumexp", lambda a: a.logsumexp(1), [(3, 4)]),
    ("logsumexp_dims_keepdim", lambda a: a.logsumexp((0, -1), keepdim=True), [(2, 3, 4)]),
    ("norm", lambda a: a.norm(), [(3, 4)]),
    ("norm_dim", lambda a: a.norm(2, dim=1), [(3, 4)]),
    ("norm_fro_keepdim", lambda a: a.norm("fro", dim=(0, 1), keepdim=True), [(3, 4)]),
    ("norm_p1", lambda a: a.norm(1, dim=0, keepdim=True), [(3, 4)]),
    ("norm_inf", lambda a: a.norm(INF, dim=-1), [(3, 4)]),
    ("norm_p3", lambda a: a.norm(3, dim=1), [(3, 4)]),
    ("norm_p1_all", lambda a: a.norm(1), [(3, 4)]),
    ("cumsum", lambda a: a.cumsum(0), [(3, 4)]),
    ("cumsum_neg", lambda a: a.cumsum(-1), [(2, 3, 4)]),
    ("softmax", lambda a: a.softmax(-1), [(3, 4)]),
    ("softmax_dim0", lambda a: a.softmax(0), [(3, 4)]),
    ("softmax_3d", lambda a: a.softmax(1), [(2, 3, 4)]),
    ("softmax_zero_size", lambda a: a.softmax(-1), [(0, 4)]),
    ("log_softmax", lambda a: a.log_softmax(-1), [(3, 4)]),
    ("log_softmax_dim1", lambda a: a.log_softmax(1), [(2, 3, 4)]),
    # ------------------------------------------------------------------ matmul
    ("matmul", lambda a, b: a @ b, [(3, 4), (4, 5)]),
    ("matmul_method", lambda a, b: a.matmul(b), [(3, 4), (4, 2)]),
    ("matmul_batched", lambda a, b: a @ b, [(2, 3, 4), (2, 4, 5)]),
    ("matmul_bcast_batch", lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
    ("matmul_2d_3d", lambda a, b: a @ b, [(3, 4), (2, 4, 5)]),
    ("matmul_3d_2d", lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    ("matmul_1d_1d", lambda a, b: a @ b, [(4,), (4,)]),
    ("matmul_1d_2d", lambda a, b: a @ b, [(4,), (4, 5)]),
    ("matmul_2d_1d", lambda a, b: a @ b, [(3, 4), (4,)]),
    ("matmul_1d_3d", lambda a, b: a @ b, [(4,), (2, 4, 5)]),
    ("matmul_3d_1d", lambda a, b: a @ b, [(2, 3, 4), (4,)]),
    ("matmul_transposed", lambda a, b: a.T @ b, [(4, 3), (4, 5)]),
    ("matmul_same_input", lambda a: a @ a, [(3, 3)]),
    ("matmul_zero_inner", lambda a, b: a @ b, [(3, 0), (0, 4)]),
    ("matmul_zero_rows", lambda a, b: a @ b, [(0, 4), (4, 2)]),
    ("linear", lambda x, w, b: _linear(x, w, b), [(2, 3, 4), (5, 4), (5,)]),
    ("linear_no_bias", lambda x, w: _linear(x, w), [(3, 4), (2, 4)]),
    ("linear_1d_input", lambda x, w, b: _linear(x, w, b), [(4,), (3, 4), (3,)]),
    ("linear_zero_rows", lambda x, w, b: _linear(x, w, b), [(0, 4), (3, 4), (3,)]),
    # ------------------------------------------------------------------ movement
    ("reshape", lambda a: a.reshape(2, 6), [(3, 4)]),
    ("reshape_tuple_infer", lambda a: a.reshape((4, -1)), [(2, 3, 2)]),
    ("reshape_to_0d", lambda a: a.reshape(()), [(1,)]),
    ("reshape_zero_size", lambda a: a.reshape(3, 0), [(0, 3)]),
    ("view", lambda a: a.view(-1), [(3, 4)]),
    ("flatten", lambda a: a.flatten(), [(2, 3, 4)]),
    ("flatten_start", lambda a: a.flatten(1), [(2, 3, 4)]),
    ("flatten_range", lambda a: a.flatten(0, 1), [(2, 3, 4)]),
    ("unflatten", lambda a: a.unflatten(1, (2, 2)), [(3, 4)]),
    ("squeeze", lambda a: a.squeeze(), [(3, 1, 4, 1)]),
    ("squeeze_dim", lambda a: a.squeeze(1), [(3, 1, 4, 1)]),
    ("squeeze_neg_dim", lambda a: a.squeeze(-1), [(3, 1, 4, 1)]),
    ("squeeze_dims", lambda a: a.squeeze((1, 3)), [(3, 1, 4, 1)]),
    ("squeeze_noop", lambda a: a.squeeze(0), [(3, 4)]),
    ("unsqueeze", lambda a: a.unsqueeze(0), [(3, 4)]),
    ("unsqueeze_neg", lambda a: a.unsqueeze(-1), [(3, 4)]),
    ("transpose", lambda a: a.transpose(0, 1), [(3, 4)]),
    ("transpose_neg", lambda a: a.transpose(-1, -3), [(2, 3, 4)]),
    ("permute", lambda a: a.permute(2, 0, 1), [(2, 3, 4)]),
    ("swapaxes", lambda a: a.swapaxes(0, 2), [(2, 3, 4)]),
    ("T", lambda a: a.T, [(3, 4)]),
    ("expand", lambda a: a.expand(3, 4), [(3, 1)]),
    ("expand_new_dims", lambda a: a.expand(2, -1, 4), [(3, 1)]),
    ("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), [(3, 1)]),
    ("repeat", lambda a: a.repeat(2, 3), [(2, 3)]),
    ("repeat_new_dim", lambda a: a.repeat(2, 1, 2), [(3, 2)]),
    ("tile", lambda a: a.tile((2,)), [(2, 3)]),
    ("flip", lambda a: a.flip(0), [(3, 4)]),
    ("flip_dims", lambda a: a.flip(0, -1), [(2, 3, 4)]),
    ("roll", lambda a: a.roll(1, 0), [(3, 4)]),
    ("roll_dims", lambda a: a.roll((1, -2), (0, 1)), [(3, 4)]),
    ("roll_flat", lambda a: a.roll(5), [(3, 4)]),
    ("cat", lambda a, b: _cat(a, b), [(2, 3), (4, 3)]),
    ("cat_neg_dim", lambda a, b, c: _cat(a, b, c, dim=-1), [(2, 3, 1), (2, 3, 2), (2, 3, 1)]),
    ("cat_zero_size", lambda a, b: _cat(a, b, dim=0), [(0, 3), (2, 3)]),
    ("stack", lambda a, b: _stack(a, b), [(3, 4), (3, 4)]),
    ("stack_neg_dim", lambda a, b, c: _stack(a, b, c, dim=-1), [(3, 4), (3, 4), (3, 4)]),
    ("split", lambda a: a.split(2, dim=1), [(3, 5)]),
    ("split_sections", lambda a: a.split([1, 3], dim=0), [(4, 3)]),
    ("chunk", lambda a: a.chunk(3, dim=1), [(2, 7)]),
    ("pad", lambda a: F(a).pad(a, (1, 2)), [(3, 4)]),
    ("pad_2d_value", lambda a: F(a).pad(a, (1, 1, 2, 0), value=0.5), [(2, 3, 4)]),
    ("pad_negative", lambda a: F(a).pad(a, (-1, 2, 1, -1)), [(3, 4)]),
    ("pad_reflect", lambda a: F(a).pad(a, (2, 1), mode="reflect"), [(2, 3, 5)]),
    ("pad_reflect_2d", lambda a: F(a).pad(a, (1, 2, 2, 1), mode="reflect"), [(1, 2, 4, 5)]),
    ("pad_replicate", lambda a: F(a).pad(a, (3, 1), mode="replicate"), [(2, 3, 4)]),
    ("pad_replicate_2d", lambda a: F(a).pad(a, (1, 2, 2, 1), mode="replicate"), [(1, 2, 3, 4)]),
    ("pad_circular", lambda a: F(a).pad(a, (2, 1), mode="circular"), [(2, 3, 4)]),
    ("pad_circular_2d", lambda a: F(a).pad(a, (1, 2, 2, 1), mode="circular"), [(1, 2, 3, 4)]),
    ("gather", lambda a: a.gather(1, const(a, IDX_GATHER1)), [(3, 4)]),
    ("gather_dim0", lambda a: a.gather(0, const(a, IDX_GATHER0)), [(3, 4)]),
    ("scatter_add", lambda a, s: a.scatter_add(0, const(a, IDX_SCATTER), s), [(3, 4), (2, 4)]),
    ("index_select", lambda a: a.index_select(0, const(a, [2, 0, 2])), [(3, 4)]),
    ("index_select_dim1", lambda a: a.index_select(1, const(a, [3, 3, 1])), [(3, 4)]),
    ("masked_fill", lambda a: a.masked_fill(const(a, MASK_34), 0.5), [(3, 4)]),
    ("masked_fill_bcast", lambda a: a.masked_fill(const(a, MASK_34[:1]), -1.0), [(2, 3, 4)]),
    ("tril", lambda a: a.tril(), [(3, 4)]),
    ("tril_neg", lambda a: a.tril(-1), [(2, 4, 3)]),
    ("triu", lambda a: a.triu(), [(4, 3)]),
    ("triu_pos", lambda a: a.triu(1), [(2, 3, 3)]),
    ("clone", lambda a: a.clone(), [(3, 4)]),
    # ------------------------------------------------------------------ indexing
    ("getitem_int", lambda a: a[1], [(3, 4)]),
    ("getitem_neg_int", lambda a: a[-1, -2], [(3, 4)]),
    ("getitem_slice", lambda a: a[1:3], [(4, 3)]),
    ("getitem_slice_step", lambda a: a[::2, 1::2], [(5, 4)]),
    ("getitem_neg_slice", lambda a: a[-3:-1, :-1], [(4, 3)]),
    ("getitem_none", lambda a: a[None, 1, :, None], [(3, 4)]),
    ("getitem_ellipsis", lambda a: a[..., 1], [(2, 3, 4)]),
    ("getitem_ellipsis_none", lambda a: a[1, ..., None], [(2, 3, 4)]),
    ("getitem_bool_mask", lambda a: a[const(a, MASK_34)], [(3, 4)]),
    ("getitem_bool_rows", lambda a: a[const(a, ROWS)], [(3, 4)]),
    ("getitem_int_array_repeated", lambda a: a[const(a, [0, 0, 2, 0])], [(3, 4)]),
    ("getitem_int_arrays_repeated", lambda a: a[const(a, [0, 2, 0]), const(a, [1, 1, 1])], [(3, 4)]),
    ("getitem_int_array_2d", lambda a: a[const(a, [[1, 1], [0, 2]])], [(3, 4)]),
    ("getitem_int_array_negative", lambda a: a[-2:, const(a, [1, -1, -1])], [(3, 4)]),
    ("getitem_slice_and_array", lambda a: a[:, const(a, [2, 0, 2])], [(2, 3, 4)]),
    ("getitem_list", lambda a: a[[2, 2, 0]], [(3, 4)]),
    ("getitem_empty_slice", lambda a: a[2:2], [(3, 4)]),
    ("getitem_zero_size_input", lambda a: a[:, 1], [(0, 3)]),
    # ------------------------------------------------------------------ compositions (a value used several ways)
    ("mlp_like", lambda x, w, b: ((x @ w + b).tanh() @ w.T).softmax(-1), [(2, 3), (3, 3), (3,)]),
    # ------------------------------------------------------------------ convolution and pooling (fused ops)
    ("conv1d", lambda x, w, b: NF(x).conv1d(x, w, b, stride=2, padding=1, groups=2), [(2, 4, 7), (6, 2, 3), (6,)]),
    ("conv2d", lambda x, w, b: NF(x).conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
     [(2, 4, 5, 6), (6, 2, 3, 2), (6,)]),
    ("conv2d_1x1", lambda x, w: NF(x).conv2d(x, w), [(2, 5, 3, 3), (4, 5, 1, 1)]),
    ("conv_transpose1d", lambda x, w, b: NF(x).conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1,
                                                                 groups=2), [(2, 4, 5), (4, 3, 3), (6,)]),
    ("conv_transpose2d", lambda x, w, b: NF(x).conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
     [(2, 3, 4, 3), (3, 2, 3, 3), (2,)]),
    ("max_pool1d", lambda x: NF(x).max_pool1d(x, 3, stride=2, padding=1), [(2, 3, 9)]),
    ("max_pool2d", lambda x: NF(x).max_pool2d(x, (2, 3), stride=(2, 1), padding=1, ceil_mode=True), [(2, 3, 5, 6)]),
    ("max_pool2d_dilated", lambda x: NF(x).max_pool2d(x, 2, stride=1, dilation=2), [(1, 2, 5, 5)]),
    ("avg_pool1d", lambda x: NF(x).avg_pool1d(x, 3, stride=2, padding=1), [(2, 3, 9)]),
    ("avg_pool2d", lambda x: NF(x).avg_pool2d(x, (3, 2), stride=(2, 1), padding=1, ceil_mode=True,
                                              count_include_pad=False), [(2, 3, 5, 6)]),
    ("adaptive_avg_pool2d", lambda x: NF(x).adaptive_avg_pool2d(x, (3, 2)), [(2, 3, 7, 5)]),
    ("adaptive_max_pool2d", lambda x: NF(x).adaptive_max_pool2d(x, (3, 2)), [(2, 3, 7, 5)]),
    # ------------------------------------------------------------------ normalization, embedding
    ("batch_norm", lambda x, w, b: NF(x).batch_norm(x, None, None, w, b, training=True), [(4, 3, 2, 2), (3,), (3,)]),
    ("batch_norm_eval", lambda x, w, b: NF(x).batch_norm(x, const(x, RUN_MEAN).to(x.dtype), const(x, RUN_VAR).to(x.dtype), w, b),
     [(4, 3, 2), (3,), (3,)]),
    ("layer_norm", lambda x, w, b: NF(x).layer_norm(x, (3, 4), w, b), [(2, 3, 4), (3, 4), (3, 4)]),
    ("group_norm", lambda x, w, b: NF(x).group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    ("embedding", lambda w: NF(w).embedding(const(w, EMB_IDX), w), [(5, 3)]),
    # ------------------------------------------------------------------ losses (fused ops)
    ("mse_loss", lambda a, b: NF(a).mse_loss(a, b), [(3, 4), (3, 4)]),
    ("mse_loss_sum", lambda a, b: NF(a).mse_loss(a, b, reduction="sum"), [(3, 4), (3, 4)]),
    ("cross_entropy", lambda x: NF(x).cross_entropy(x, const(x, TARGET)), [(3, 5)]),
    ("cross_entropy_smoothing", lambda x: NF(x).cross_entropy(x, const(x, TARGET), label_smoothing=0.2,
                                                              reduction="sum"), [(3, 5)]),
    ("nll_loss", lambda x: NF(x).nll_loss(x, const(x, TARGET)), [(3, 5)]),
    ("binary_cross_entropy", lambda x: NF(x).binary_cross_entropy(x.sigmoid(), const(x, MASK_34).to(x.dtype)),
     [(3, 4)]),
    ("binary_cross_entropy_with_logits", lambda x, t: NF(x).binary_cross_entropy_with_logits(x, t.sigmoid()),
     [(3, 4), (3, 4)]),
    # ------------------------------------------------------------------ attention and recurrent layers (fused ops)
    ("scaled_dot_product_attention", lambda q, k, v: NF(q).scaled_dot_product_attention(q, k, v, is_causal=True),
     [(2, 3, 4), (2, 3, 4), (2, 3, 4)]),
    ("multi_head_attention", _mha, [(3, 2, 4), (5, 2, 4), (12, 4), (12,), (4, 4), (4,)]),
    ("lstm", _recurrent("lstm"), [(4, 2, 3), (1, 2, 5), (1, 2, 5), (20, 3), (20, 5), (20,), (20,)]),
    ("gru", _recurrent("gru"), [(4, 2, 3), (1, 2, 5), (15, 3), (15, 5), (15,), (15,)]),
    ("rnn_tanh", _recurrent("rnn_tanh"), [(4, 2, 3), (1, 2, 5), (5, 3), (5, 5), (5,), (5,)]),
]

# Cases whose ops have no differentiable backward in redes (fused ops: create_graph through them raises clearly
# instead of computing a wrong second derivative). Every other case is checked to second order against torch.
FIRST_ORDER_ONLY = {"conv1d", "conv2d", "conv2d_1x1", "conv_transpose1d", "conv_transpose2d", "max_pool1d",
                    "max_pool2d", "max_pool2d_dilated", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool2d",
                    "adaptive_max_pool2d", "batch_norm", "batch_norm_eval", "layer_norm", "group_norm", "embedding",
                    "cross_entropy", "cross_entropy_smoothing", "nll_loss", "binary_cross_entropy",
                    "binary_cross_entropy_with_logits", "scaled_dot_product_attention", "multi_head_attention",
                    "lstm", "gru", "rnn_tanh"}

from .cases_api import API_CASES  # noqa: E402  (issue 13's PyTorch API functions: same checks, their own file)
CASES += API_CASES
