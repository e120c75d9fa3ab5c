"""Conv1d/Conv2d/ConvTranspose1d/2d and F.conv* against torch over a grid of arguments; gradcheck; errors."""
import itertools
import math

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from redes.ops import conv as C
from redes.ops import pooling as P
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")   # torch's own note

GRID_2D = [(s, p, d, g, b) for s, p, d, g, b in itertools.product([1, 2], [0, 1, "same"], [1, 2], [1, 2], [True, False])
           if not (p == "same" and s != 1)]


@pytest.mark.parametrize("stride, padding, dilation, groups, bias", GRID_2D)
def test_conv2d_grid_float64(stride, padding, dilation, groups, bias):
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    compare_with_torch(rd.nn.Conv2d(4, 6, (3, 2), **args), torch.nn.Conv2d(4, 6, (3, 2), **args), (2, 4, 9, 8))


@pytest.mark.parametrize("stride, padding, dilation, groups, bias", GRID_2D[::3])
def test_conv2d_grid_float32(stride, padding, dilation, groups, bias):
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    compare_with_torch(rd.nn.Conv2d(4, 6, 3, **args), torch.nn.Conv2d(4, 6, 3, **args), (3, 4, 10, 9), np.float32)


@pytest.mark.parametrize("kernel, dilation", [((2, 4), 1), (4, 1), ((2, 3), (3, 1)), (1, 1)])
def test_conv2d_same_padding_even_kernels(kernel, dilation):
    # even kernels pad one more on the high side (torch's asymmetric 'same')
    args = dict(padding="same", dilation=dilation)
    compare_with_torch(rd.nn.Conv2d(3, 5, kernel, **args), torch.nn.Conv2d(3, 5, kernel, **args), (2, 3, 7, 6))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("padding", [1, (2, 1), "same"])
def test_conv2d_padding_modes(mode, padding):
    args = dict(padding=padding, padding_mode=mode)
    rd_m, t_m = rd.nn.Conv2d(2, 3, (3, 4), **args), torch.nn.Conv2d(2, 3, (3, 4), **args)
    assert repr(rd_m) == repr(t_m)
    compare_with_torch(rd_m, t_m, (2, 2, 6, 7))


@pytest.mark.parametrize("stride, padding, dilation, groups, bias, mode",
                         [(s, p, d, g, b, m) for s, p, d, g, b, m in itertools.product(
                             [1, 2], [0, 2, "same"], [1, 3], [1, 2], [True, False], ["zeros", "circular"])
                          if not (p == "same" and s != 1)][::2])
def test_conv1d_grid(stride, padding, dilation, groups, bias, mode):
    args = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias, padding_mode=mode)
    compare_with_torch(rd.nn.Conv1d(4, 6, 3, **args), torch.nn.Conv1d(4, 6, 3, **args), (2, 4, 13))


def test_conv1d_float32_and_reflect():
    args = dict(padding=2, padding_mode="reflect")
    compare_with_torch(rd.nn.Conv1d(3, 5, 4, **args), torch.nn.Conv1d(3, 5, 4, **args), (4, 3, 11), np.float32)


GRID_T = [(s, p, op, g, d, b) for s, p, op, g, d, b in itertools.product([1, 2, 3], [0, 1], [0, 1], [1, 2], [1, 2],
                                                                       [True, False]) if op < max(s, d)]


@pytest.mark.parametrize("stride, padding, output_padding, groups, dilation, bias", GRID_T)
def test_conv_transpose2d_grid(stride, padding, output_padding, groups, dilation, bias):
    args = dict(stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation,
                bias=bias)
    rd_m, t_m = rd.nn.ConvTranspose2d(4, 6, (3, 2), **args), torch.nn.ConvTranspose2d(4, 6, (3, 2), **args)
    assert repr(rd_m) == repr(t_m)
    compare_with_torch(rd_m, t_m, (2, 4, 5, 4))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_transpose1d_and_float32(dtype):
    args = dict(stride=2, padding=1, output_padding=1, groups=2)
    compare_with_torch(rd.nn.ConvTranspose1d(4, 6, 3, **args), torch.nn.ConvTranspose1d(4, 6, 3, **args),
                       (3, 4, 7), dtype)
    compare_with_torch(rd.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1),
                       torch.nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), (3, 4, 5, 5), dtype)


def test_conv_transpose2d_output_size():
    rd_m = rd.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    t_m = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    rd_m.load_state_dict(t_m.state_dict())
    x = np.random.default_rng(0).normal(size=(1, 3, 4, 4)).astype(np.float32)
    for size in [(7, 7), (8, 8), (1, 2, 8, 7)]:
        ours = rd_m(rd.tensor(x), output_size=size)
        ref = t_m(torch.tensor(x), output_size=size)
        np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="requested output size"):
        rd_m(rd.tensor(x), output_size=(9, 9))


def test_cnn_stack_vs_torch():
    """conv -> relu -> pool -> conv -> relu -> pool -> flatten -> linear: NHWC memory flows between ops."""
    def net(nn):
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 3, padding=1),
                             nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 3 * 3, 5))
    compare_with_torch(net(rd.nn), net(torch.nn), (4, 1, 12, 12))
    compare_with_torch(net(rd.nn), net(torch.nn), (4, 1, 12, 12), np.float32)


def test_functional_forms_and_unbatched():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 4, 6, 5)), rng.normal(size=(6, 2, 3, 3)), rng.normal(size=6)
    compare_functional_with_torch(lambda *a: F.conv2d(*a, stride=(2, 1), padding=(1, 2), groups=2),
                                  lambda *a: TF.conv2d(*a, stride=(2, 1), padding=(1, 2), groups=2), [x, w, b])
    compare_functional_with_torch(lambda *a: F.conv2d(*a, padding="valid"), lambda *a: TF.conv2d(*a, padding="valid"),
                                  [x[0], rng.normal(size=(3, 4, 2, 2))])          # unbatched (C, H, W)
    compare_functional_with_torch(lambda *a: F.conv1d(*a, padding="same", dilation=2),
                                  lambda *a: TF.conv1d(*a, padding="same", dilation=2),
                                  [x[:, :, 0], rng.normal(size=(3, 4, 4))])
    compare_functional_with_torch(lambda *a: F.conv_transpose2d(*a, stride=2, output_padding=1, dilation=2),
                                  lambda *a: TF.conv_transpose2d(*a, stride=2, output_padding=1, dilation=2),
                                  [x, rng.normal(size=(4, 3, 2, 3)), rng.normal(size=3)])
    compare_functional_with_torch(lambda *a: F.conv_transpose1d(*a, stride=3),
                                  lambda *a: TF.conv_transpose1d(*a, stride=3),
                                  [x[0, :, 0], rng.normal(size=(4, 2, 3))])       # unbatched (C, L)


def test_gradcheck_fused_ops():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 4, 5, 4)), rng.normal(size=(4, 2, 3, 2)), rng.normal(size=4)
    assert rd.gradcheck(lambda *a: F.conv2d(*a, stride=2, padding=1, dilation=(1, 2), groups=2), [x, w, b])
    assert rd.gradcheck(lambda *a: F.conv1d(*a, padding="same", groups=2), [x[:, :, 0], w[:, :, 0], b])
    assert rd.gradcheck(lambda *a: F.conv_transpose2d(*a, stride=2, padding=1, output_padding=1, groups=2),
                        [x, w, b])


_X4 = np.random.default_rng(1).normal(size=(2, 2, 5, 4))
_W = np.random.default_rng(2).normal(size=(2, 1, 2, 3))
# every op of redes.ops.conv, called directly on tiny float64 inputs (the F wrappers are checked against torch)
OP_CASES = {
    "conv1d": (lambda x, w: C.Conv1dOp.apply(x, w, None, stride=(1, 2), padding=((0, 0), (1, 0)), dilation=(1, 1),
                                          groups=2), [_X4[:, :, 0], _W[:, :, 0]]),
    "conv2d": (lambda x, w: C.Conv2dOp.apply(x, w, None, stride=(2, 1), padding=((1, 1), (0, 2)), dilation=(1, 2),
                                          groups=2), [_X4, _W]),
    "conv_transpose1d": (lambda x, w: C.ConvTranspose1dOp.apply(x, w, None, stride=(1, 2), padding=((0, 0), (1, 1)),
                                                              dilation=(1, 1), groups=1, out_hw=(1, 9)),
                         [_X4[:, :, 0], _W[:, :, 0]]),
    "conv_transpose2d": (lambda x, w: C.ConvTranspose2dOp.apply(x, w, None, stride=(2, 2), padding=((1, 1), (0, 0)),
                                                              dilation=(1, 1), groups=2, out_hw=(9, 10)), [_X4, _W]),
    "max_pool1d": (lambda x: P.MaxPool1dOp.apply(x, kernel=(1, 2), stride=(1, 1), padding=(0, 1), dilation=(1, 1)),
                   [_X4[:, :, 0]]),
    "max_pool2d": (lambda x: P.MaxPool2dOp.apply(x, kernel=(2, 2), stride=(1, 2), padding=(1, 0), dilation=(1, 1),
                                               ceil_mode=True), [_X4]),
    "avg_pool1d": (lambda x: P.AvgPool1dOp.apply(x, kernel=(1, 3), stride=(1, 1), padding=(0, 1)), [_X4[:, :, 0]]),
    "avg_pool2d": (lambda x: P.AvgPool2dOp.apply(x, kernel=(3, 2), stride=(2, 1), padding=(1, 1), ceil_mode=True,
                                               count_include_pad=False), [_X4]),
    "adaptive_avg_pool2d": (lambda x: P.AdaptiveAvgPool2dOp.apply(x, output_size=(3, 3)), [_X4]),
    "adaptive_max_pool2d": (lambda x: P.AdaptiveMaxPool2dOp.apply(x, output_size=(3, 3)), [_X4]),
}


def test_every_conv_op_has_a_gradcheck_case():
    assert set(OP_CASES) == set(C.OPS) | set(P.OPS)


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_gradcheck_each_op(name):
    fn, inputs = OP_CASES[name]
    assert rd.gradcheck(fn, inputs)


def test_output_memory_is_channels_last_and_dtype_kept():
    y = rd.nn.Conv2d(3, 8, 3)(rd.randn(2, 3, 6, 6))
    assert y.dtype == np.float32 and y.shape == (2, 8, 4, 4)
    assert y.numpy().transpose(0, 2, 3, 1).flags.c_contiguous       # NHWC memory under an NCHW shape


def test_init_matches_torch_formula():
    rd.manual_seed(0)
    conv = rd.nn.Conv2d(16, 32, 3, groups=2)
    fan_in = 8 * 9
    bound = 1 / math.sqrt(fan_in)
    w = conv.weight.numpy()
    assert w.shape == (32, 8, 3, 3) and np.abs(w).max() <= bound and np.abs(w).max() > 0.98 * bound
    assert np.abs(conv.bias.numpy()).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    t = rd.nn.ConvTranspose2d(4, 6, 3, groups=2)            # weight (4, 3, 3, 3): fan_in = 3 * 9, as torch
    assert t.weight.shape == (4, 3, 3, 3) and np.abs(t.weight.numpy()).max() <= 1 / math.sqrt(27)
    rd.manual_seed(3)
    a = rd.nn.Conv1d(2, 3, 4).weight.numpy()
    rd.manual_seed(3)
    np.testing.assert_array_equal(a, rd.nn.Conv1d(2, 3, 4).weight.numpy())


REPRS = [lambda nn: nn.Conv2d(1, 16, 3, padding=1), lambda nn: nn.Conv2d(4, 8, (3, 5), stride=2, bias=False),
         lambda nn: nn.Conv2d(4, 8, 3, padding="valid", dilation=2, groups=4),
         lambda nn: nn.Conv1d(3, 6, 5, padding="same", padding_mode="replicate"),
         lambda nn: nn.ConvTranspose1d(3, 6, 5, stride=2), lambda nn: nn.ConvTranspose2d(4, 8, 3, dilation=2, groups=2)]


@pytest.mark.parametrize("make", REPRS)
def test_repr_and_state_dict_like_torch(make):
    ours, ref = make(rd.nn), make(torch.nn)
    assert repr(ours) == repr(ref)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert repr(rd.nn.Conv2d(1, 16, 3, padding=1)) == "Conv2d(1, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"


def test_errors():
    conv = rd.nn.Conv2d(16, 32, 3)
    with pytest.raises(RuntimeError, match=r"Conv2d: expected input with 16 channels \(shape \(N, 16, H, W\)\), "
                                           r"got \(8, 3, 28, 28\)"):
        conv(rd.zeros(8, 3, 28, 28))
    with pytest.raises(RuntimeError, match=r"Conv2d: expected a 3-D \(C, H, W\) or 4-D"):
        conv(rd.zeros(8, 16))
    with pytest.raises(RuntimeError, match=r"Conv1d: expected input with 2 channels \(shape \(N, 2, L\)\)"):
        rd.nn.Conv1d(2, 3, 3)(rd.zeros(1, 4, 9))
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        rd.nn.Conv2d(1, 2, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="in_channels .* must be divisible by groups"):
        rd.nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        rd.nn.Conv2d(3, 6, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="invalid padding string"):
        F.conv2d(rd.zeros(1, 1, 5, 5), rd.zeros(1, 1, 3, 3), padding="full")
    with pytest.raises(RuntimeError, match="smaller than the dilated kernel"):
        F.conv2d(rd.zeros(1, 1, 2, 2), rd.zeros(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="conv2d: input is float64 but weight is float32"):
        F.conv2d(rd.zeros(1, 1, 5, 5, dtype=rd.float64), rd.zeros(1, 1, 3, 3))
    with pytest.raises(RuntimeError, match="expects input with 4 channels"):
        F.conv2d(rd.zeros(1, 3, 5, 5), rd.zeros(2, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="output padding must be smaller than either stride or dilation"):
        F.conv_transpose2d(rd.zeros(1, 2, 3, 3), rd.zeros(2, 2, 3, 3), output_padding=1)
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        rd.nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")


def test_ops_registered():
    from redes.ops import OPS
    for name in ("conv1d", "conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d"):
        assert OPS[name] is {**C.OPS, **P.OPS}[name]


def test_create_graph_through_conv_is_refused():
    x = rd.randn(1, 1, 4, 4, dtype=rd.float64, requires_grad=True)
    y = F.conv2d(x, rd.randn(1, 1, 3, 3, dtype=rd.float64)).sum()
    with pytest.raises(RuntimeError, match="not differentiable"):
        rd.grad(y, x, create_graph=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_small_weight_gradient_over_many_rows_is_summed_in_chunks(dtype):
    """A first conv (1 input channel) over 10,800 output pixels: dW is summed over row chunks (_conv_dweight)."""
    from redes.ops import conv
    assert 3 * 60 * 60 > 2 * conv._CHUNK_ROWS and 4 * 9 <= conv._SMALL_DW
    compare_with_torch(rd.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Conv2d(1, 4, 3, padding=1), (3, 1, 60, 60), dtype)
