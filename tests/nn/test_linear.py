"""nn.Linear, nn.Bilinear, F.linear, F.bilinear against torch; init statistics; errors; repr."""
import math

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3), (3,)], ids=["2d", "3d", "1d"])
def test_linear_vs_torch(dtype, bias, shape):
    compare_with_torch(rd.nn.Linear(3, 4, bias=bias), torch.nn.Linear(3, 4, bias=bias), shape, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_vs_torch(dtype, bias):
    x1, x2 = np.random.default_rng(0).normal(size=(2, 5, 3)), np.random.default_rng(1).normal(size=(2, 5, 4))
    compare_with_torch(rd.nn.Bilinear(3, 4, 6, bias=bias), torch.nn.Bilinear(3, 4, 6, bias=bias),
                       inputs=[x1, x2], dtype=dtype)


def test_functional_linear_and_bilinear_vs_torch():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(6, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    compare_functional_with_torch(F.linear, torch.nn.functional.linear, [x, w, b])
    compare_functional_with_torch(F.linear, torch.nn.functional.linear, [x, w])
    x2, w2 = rng.normal(size=(6, 5)), rng.normal(size=(4, 3, 5))
    compare_functional_with_torch(F.bilinear, torch.nn.functional.bilinear, [x, x2, w2, b])


def test_gradcheck():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=4)
    assert rd.gradcheck(F.linear, [x, w, b])
    assert rd.gradcheck(F.bilinear, [x, rng.normal(size=(3, 3)), rng.normal(size=(2, 2, 3)), rng.normal(size=2)])


def test_init_distribution_matches_torch_formula():
    rd.manual_seed(0)
    layer = rd.nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    assert w.dtype == np.float32 and w.shape == (300, 400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound      # U(-b, b) has std b / sqrt(3)
    assert np.abs(b).max() <= bound
    rd.manual_seed(0)
    np.testing.assert_array_equal(rd.nn.Linear(400, 300).weight.numpy(), w)          # reproducible
    g = np.random.default_rng(5)
    np.testing.assert_array_equal(rd.nn.Linear(4, 3, rng=np.random.default_rng(5)).weight.numpy(),
                                  g.uniform(-0.5, 0.5, (3, 4)).astype(np.float32))


def test_dtype_argument_and_state_dict_keys():
    layer = rd.nn.Linear(3, 2, dtype=rd.float64)
    assert layer.weight.dtype == np.float64 and layer(rd.zeros(1, 3, dtype=rd.float64)).dtype == np.float64
    assert list(rd.nn.Linear(3, 2, bias=False).state_dict()) == ["weight"]


def test_repr():
    assert repr(rd.nn.Linear(3, 4)) == repr(torch.nn.Linear(3, 4))
    assert repr(rd.nn.Linear(3, 4, bias=False)) == repr(torch.nn.Linear(3, 4, bias=False))
    assert repr(rd.nn.Bilinear(3, 4, 5)) == repr(torch.nn.Bilinear(3, 4, 5))


def test_errors():
    with pytest.raises(RuntimeError, match=r"Linear: expected input with last dim in_features=3.*got \(2, 5\)"):
        rd.nn.Linear(3, 4)(rd.zeros(2, 5))
    with pytest.raises(ValueError, match="in_features must be a non-negative integer"):
        rd.nn.Linear(-1, 4)
    with pytest.raises(RuntimeError, match="linear: bias must have shape"):
        F.linear(rd.zeros(2, 3), rd.zeros(4, 3), rd.zeros(5))
    with pytest.raises(RuntimeError, match="bilinear: expected input1"):
        rd.nn.Bilinear(3, 4, 5)(rd.zeros(2, 3), rd.zeros(2, 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("layout", ["contiguous", "row_view", "column_step"])
def test_linear_products_are_matmuls_bit_for_bit(dtype, layout):
    """The 2-D fast paths of LinearOp's forward and plain backward give the products' numbers exactly."""
    rng = np.random.default_rng(0)
    big = rng.normal(size=(20, 40)).astype(dtype)
    x = {"contiguous": big[:8, :12].copy(), "row_view": big[2:10, 5:17], "column_step": big[:8, ::3][:, :12]}[layout]
    layer = rd.nn.Linear(12, 5, dtype=dtype)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    xt = rd.tensor(x, requires_grad=True)
    y = layer(xt)
    assert np.array_equal(y.detach().numpy(), np.matmul(x, w.T) + b)
    dy = rng.normal(size=(8, 5)).astype(dtype)
    y.backward(rd.tensor(dy))
    assert np.array_equal(xt.grad.numpy(), np.matmul(dy, w))
    assert np.array_equal(layer.weight.grad.numpy(), np.matmul(dy.T, x))
    assert np.array_equal(layer.bias.grad.numpy(), np.add.reduce(dy, axis=0))


def test_layer_fast_paths_keep_the_functional_errors():
    """nn.Linear / nn.ReLU call their op directly only after the checks F.linear / F.relu would make."""
    layer = rd.nn.Linear(3, 4)
    with pytest.raises(TypeError, match="linear: input and weight must be Tensors, got ndarray"):
        layer(np.zeros((2, 3)))
    layer.bias = rd.nn.Parameter(rd.zeros(5))
    with pytest.raises(RuntimeError, match=r"linear: bias must have shape \(4,\)"):
        layer(rd.zeros(2, 3))
    with pytest.raises(TypeError, match="relu: input must be a Tensor, got list"):
        rd.nn.ReLU()([1.0, -1.0])


def test_docstring_examples_run():
    """The Example blocks of every feed-forward module and F file run as doctests."""
    import doctest
    import importlib
    mods = ["linear", "activation", "conv", "pooling", "norm", "dropout", "embedding", "init"]
    names = [f"redes.nn.{m}" for m in mods] + [f"redes.nn.functional.{m}" for m in mods if m != "init"]
    for name in names:
        result = doctest.testmod(importlib.import_module(name), extraglobs={"rd": rd, "F": F})
        assert result.failed == 0, f"{name}: {result.failed} docstring example(s) failed"
