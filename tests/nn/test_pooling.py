"""Max/avg/adaptive pooling (1-D and 2-D) against torch over a grid of arguments; ties; indices; errors."""
import itertools

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional


def _valid(k, p, d=1):
    return p <= (d * (k - 1) + 1) // 2


MAX_GRID = [(k, s, p, d, c) for k, s, p, d, c in itertools.product([2, 3], [None, 1, 2], [0, 1], [1, 2], [False, True])
            if _valid(k, p, d)]


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", MAX_GRID)
def test_max_pool2d_grid(kernel, stride, padding, dilation, ceil_mode):
    args = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    rd_m, t_m = rd.nn.MaxPool2d(**args), torch.nn.MaxPool2d(**args)
    assert repr(rd_m) == repr(t_m)
    compare_with_torch(rd_m, t_m, (2, 3, 9, 8))


@pytest.mark.parametrize("kernel, stride, padding, dilation, ceil_mode", MAX_GRID[::3])
def test_max_pool1d_grid_and_indices(kernel, stride, padding, dilation, ceil_mode):
    args = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode,
                return_indices=True)
    ours, ref = compare_with_torch(rd.nn.MaxPool1d(**args), torch.nn.MaxPool1d(**args), (2, 3, 11))
    np.testing.assert_array_equal(ours[1].numpy(), ref[1].numpy())
    assert ours[1].dtype == np.int64


@pytest.mark.parametrize("args", [dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
                                  dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1)), dict(kernel_size=2)])
def test_max_pool2d_return_indices(args):
    ours, ref = compare_with_torch(rd.nn.MaxPool2d(return_indices=True, **args),
                                   torch.nn.MaxPool2d(return_indices=True, **args), (2, 3, 7, 9))
    np.testing.assert_array_equal(ours[1].numpy(), ref[1].numpy())


def test_max_pool_ties_gradient_goes_to_first_max():
    x = np.ones((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 2, 3] = 0.5
    for args in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=2, stride=1)]:
        compare_functional_with_torch(lambda a: F.max_pool2d(a, **args), lambda a: TF.max_pool2d(a, **args), [x])
        compare_functional_with_torch(lambda a: F.max_pool1d(a, **args), lambda a: TF.max_pool1d(a, **args), [x[0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(3, 4, 6, 8), (2, 3, 7, 5)])          # even, and odd (a row/column left out)
def test_max_pool_2x2_tournament_ties_and_indices(shape, dtype):
    """The 2x2 / stride 2 fast path: values from {0, 1, 2} make every kind of tie (within a pair, between the
    pairs, all four); gradient and indices must pick torch's first max. Also on channels-last memory."""
    x = np.random.default_rng(3).integers(0, 3, shape).astype(dtype)
    run = (lambda a: F.max_pool2d(a, 2, return_indices=True), lambda a: TF.max_pool2d(a, 2, return_indices=True))
    ours, ref = compare_functional_with_torch(*run, [x], dtype=dtype)
    np.testing.assert_array_equal(ours[1].numpy(), ref[1].numpy())
    relu_first = (lambda a: F.max_pool2d(F.relu(F.conv2d(a, w_rd)), 2), lambda a: TF.max_pool2d(TF.relu(TF.conv2d(a, w_t)), 2))
    w = np.random.default_rng(4).standard_normal((5, shape[1], 3, 3)).astype(dtype)
    w_rd, w_t = rd.tensor(w), torch.tensor(w)
    compare_functional_with_torch(*relu_first, [x - 1], dtype=dtype)   # input in a conv's channels-last layout


def test_max_pool_propagates_nan_like_torch():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 0] = x[0, 0, 1, 0] = x[0, 0, 3, 3] = np.nan
    for args in [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)]:
        ours, ref = compare_functional_with_torch(lambda a: F.max_pool2d(a, return_indices=True, **args),
                                                  lambda a: TF.max_pool2d(a, return_indices=True, **args), [x])
        np.testing.assert_array_equal(ours[1].numpy(), ref[1].numpy())   # the last NaN of a window wins


AVG_GRID = [(k, s, p, c, inc, div) for k, s, p, c, inc, div in itertools.product(
    [2, 3], [None, 1, 2], [0, 1], [False, True], [True, False], [None, 5]) if _valid(k, p)]


@pytest.mark.parametrize("kernel, stride, padding, ceil_mode, count_include_pad, divisor_override", AVG_GRID)
def test_avg_pool2d_grid(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    args = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad, divisor_override=divisor_override)
    rd_m, t_m = rd.nn.AvgPool2d(**args), torch.nn.AvgPool2d(**args)
    assert repr(rd_m) == repr(t_m)
    compare_with_torch(rd_m, t_m, (2, 3, 8, 7))


@pytest.mark.parametrize("kernel, stride, padding, ceil_mode, count_include_pad, divisor_override",
                         [a for a in AVG_GRID if a[-1] is None][::2])
def test_avg_pool1d_grid(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    args = dict(kernel_size=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode,
                count_include_pad=count_include_pad)
    rd_m, t_m = rd.nn.AvgPool1d(**args), torch.nn.AvgPool1d(**args)
    assert repr(rd_m) == repr(t_m)
    compare_with_torch(rd_m, t_m, (2, 3, 10))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pools_float32_and_unbatched(dtype):
    compare_with_torch(rd.nn.MaxPool2d(3, 2, 1), torch.nn.MaxPool2d(3, 2, 1), (3, 9, 9), dtype)      # (C, H, W)
    compare_with_torch(rd.nn.AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1), (2, 4, 9, 9), dtype)
    compare_with_torch(rd.nn.AvgPool1d(2), torch.nn.AvgPool1d(2), (4, 9), dtype)


@pytest.mark.parametrize("out", [1, 2, 3, (2, 5), (4, None), (7, 9)])
@pytest.mark.parametrize("kind", ["avg", "max"])
def test_adaptive_pool2d(out, kind):
    rd_cls = rd.nn.AdaptiveAvgPool2d if kind == "avg" else rd.nn.AdaptiveMaxPool2d
    t_cls = torch.nn.AdaptiveAvgPool2d if kind == "avg" else torch.nn.AdaptiveMaxPool2d
    assert repr(rd_cls(out)) == repr(t_cls(out))
    compare_with_torch(rd_cls(out), t_cls(out), (2, 3, 6, 7))
    compare_with_torch(rd_cls(out), t_cls(out), (3, 6, 7), np.float32)
    if kind == "max":
        ours, ref = compare_with_torch(rd_cls(out, return_indices=True), t_cls(out, return_indices=True), (2, 3, 6, 7))
        np.testing.assert_array_equal(ours[1].numpy(), ref[1].numpy())


@pytest.mark.parametrize("out", [1, 3, 4, 10])
def test_adaptive_pool1d(out):
    compare_with_torch(rd.nn.AdaptiveAvgPool1d(out), torch.nn.AdaptiveAvgPool1d(out), (2, 3, 8))
    ours, ref = compare_with_torch(rd.nn.AdaptiveMaxPool1d(out, True), torch.nn.AdaptiveMaxPool1d(out, True), (2, 3, 8))
    np.testing.assert_array_equal(ours[1].numpy(), ref[1].numpy())


def test_gradcheck():
    x = np.random.default_rng(0).normal(size=(2, 2, 5, 6))
    assert rd.gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1, ceil_mode=True), [x])
    assert rd.gradcheck(lambda a: F.max_pool2d(a, 2, 1, dilation=2), [x])
    assert rd.gradcheck(lambda a: F.avg_pool2d(a, 3, 2, 1, ceil_mode=True, count_include_pad=False), [x])
    assert rd.gradcheck(lambda a: F.avg_pool1d(a, 2, 1, 1), [x[:, :, 0]])
    assert rd.gradcheck(lambda a: F.adaptive_avg_pool2d(a, (3, 4)), [x])
    assert rd.gradcheck(lambda a: F.adaptive_max_pool2d(a, (3, 4)), [x])


def test_errors():
    with pytest.raises(ValueError, match="pad should be at most half of kernel size"):
        F.max_pool2d(rd.zeros(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(ValueError, match="pad should be at most half of kernel size"):
        rd.nn.AvgPool2d(3, padding=2)(rd.zeros(1, 1, 5, 5))
    with pytest.raises(RuntimeError, match=r"max_pool2d: expected a 3-D or 4-D input .* got shape \(5, 5\)"):
        rd.nn.MaxPool2d(2)(rd.zeros(5, 5))
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool2d(rd.zeros(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="expected a floating-point input"):
        F.avg_pool2d(rd.zeros(1, 1, 4, 4).long(), 2)
    with pytest.raises(ValueError, match="output_size must be positive"):
        F.adaptive_avg_pool2d(rd.zeros(1, 1, 4, 4), 0)
