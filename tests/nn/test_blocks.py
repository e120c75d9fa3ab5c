"""Residual, BasicBlock and Inception: shapes, the identity path's gradient, parameter counts, and agreement with
the same block built from torch.nn layers and the same weights."""
import numpy as np
import pytest

import redes as rd
from redes import nn
from tests.nn.helpers import compare_with_torch

torch = pytest.importorskip("torch")
tnn = torch.nn


class TorchBasicBlock(tnn.Module):
    """torchvision's BasicBlock, written out (torchvision is not a dependency)."""
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(cout)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride, bias=False), tnn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchInception(tnn.Module):
    def __init__(self, cin, c1, c3r, c3, c5r, c5, pp):
        super().__init__()
        self.branch1 = tnn.Sequential(tnn.Conv2d(cin, c1, 1), tnn.ReLU())
        self.branch2 = tnn.Sequential(tnn.Conv2d(cin, c3r, 1), tnn.ReLU(),
                                      tnn.Conv2d(c3r, c3, 3, padding=1), tnn.ReLU())
        self.branch3 = tnn.Sequential(tnn.Conv2d(cin, c5r, 1), tnn.ReLU(),
                                      tnn.Conv2d(c5r, c5, 5, padding=2), tnn.ReLU())
        self.branch4 = tnn.Sequential(tnn.MaxPool2d(3, 1, 1), tnn.Conv2d(cin, pp, 1), tnn.ReLU())

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


class TorchResidual(tnn.Module):
    def __init__(self, body, shortcut=None):
        super().__init__()
        self.body, self.shortcut = body, shortcut if shortcut is not None else tnn.Identity()

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


@pytest.mark.parametrize("cin, cout, stride", [(4, 4, 1), (4, 6, 1), (4, 6, 2), (3, 3, 2)])
@pytest.mark.parametrize("train", [True, False])
def test_basic_block_vs_torch_float64(cin, cout, stride, train):
    compare_with_torch(nn.BasicBlock(cin, cout, stride), TorchBasicBlock(cin, cout, stride), (2, cin, 7, 7),
                       np.float64, train=train, steps=2)


def test_basic_block_vs_torch_float32():
    compare_with_torch(nn.BasicBlock(3, 5, 2), TorchBasicBlock(3, 5, 2), (4, 3, 8, 8), np.float32, steps=2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_inception_vs_torch(dtype):
    args = (6, 3, 2, 4, 2, 3, 2)
    rd_out, _ = compare_with_torch(nn.Inception(*args), TorchInception(*args), (2, 6, 6, 6), dtype)
    assert rd_out[0].shape == (2, 3 + 4 + 3 + 2, 6, 6)


def test_residual_vs_torch():
    compare_with_torch(nn.Residual(nn.Sequential(nn.Linear(5, 5), nn.Tanh()), nn.Linear(5, 5)),
                       TorchResidual(tnn.Sequential(tnn.Linear(5, 5), tnn.Tanh()), tnn.Linear(5, 5)), (3, 5))
    compare_with_torch(nn.Residual(nn.Sequential(nn.Linear(5, 5), nn.Tanh())),
                       TorchResidual(tnn.Sequential(tnn.Linear(5, 5), tnn.Tanh())), (3, 5))


def test_shapes():
    assert nn.BasicBlock(8, 8)(rd.randn(2, 8, 6, 6)).shape == (2, 8, 6, 6)
    assert nn.BasicBlock(8, 16, stride=2)(rd.randn(2, 8, 7, 7)).shape == (2, 16, 4, 4)
    assert nn.Inception(192, 64, 96, 128, 16, 32, 32)(rd.randn(1, 192, 5, 5)).shape == (1, 256, 5, 5)
    assert nn.Residual(nn.Linear(3, 3))(rd.randn(4, 3)).shape == (4, 3)


def test_identity_path_passes_dy():
    """With a body whose output does not depend on x (zero weights), dL/dx is exactly dL/dy: the skip path."""
    body = nn.Linear(4, 4).double()
    with rd.no_grad():
        body.weight.zero_()
    block = nn.Residual(body)
    x = rd.randn(3, 4, dtype=rd.float64, requires_grad=True)
    dy = rd.randn(3, 4, dtype=rd.float64)
    block(x).backward(dy)
    np.testing.assert_array_equal(x.grad.numpy(), dy.numpy())
    # and with a live body: dx = dy + (body's Jacobian)^T dy
    body = nn.Sequential(nn.Linear(4, 4), nn.Tanh()).double()
    x.grad = None
    nn.Residual(body)(x).backward(dy)
    x2 = rd.tensor(x.numpy(), requires_grad=True)
    body(x2).backward(dy)
    np.testing.assert_allclose(x.grad.numpy(), dy.numpy() + x2.grad.numpy(), rtol=1e-12)


def test_parameter_counts_by_hand():
    # conv1 3*3*16*32 + bn1 2*32 + conv2 3*3*32*32 + bn2 2*32 + downsample 1*1*16*32 + bn 2*32
    assert nn.BasicBlock(16, 32, stride=2).num_parameters() == 4608 + 64 + 9216 + 64 + 512 + 64
    assert nn.BasicBlock(16, 16).num_parameters() == 2 * (9 * 16 * 16 + 32)         # no downsample
    assert nn.BasicBlock(16, 16).downsample is None
    # inception (3a): 1x1: 192*64+64; 3x3: 192*96+96 + 9*96*128+128; 5x5: 192*16+16 + 25*16*32+32; pool: 192*32+32
    assert nn.Inception(192, 64, 96, 128, 16, 32, 32).num_parameters() == (
        12352 + (18528 + 110720) + (3088 + 12832) + 6176)
    assert nn.Residual(nn.Linear(3, 3), nn.Linear(3, 3)).num_parameters() == 24


def test_names_as_torchvision_and_repr():
    keys = list(nn.BasicBlock(4, 8, 2).state_dict())
    assert keys[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"] and "downsample.0.weight" in keys
    assert "downsample.1.running_mean" in keys
    assert repr(nn.BasicBlock(4, 8, 2)).startswith("BasicBlock(\n  4, 8, stride=2")     # torch's layout


def test_errors():
    with pytest.raises(RuntimeError, match=r"Residual: body output \(2, 3\) and shortcut output \(2, 4\) differ"):
        nn.Residual(nn.Linear(4, 3))(rd.randn(2, 4))
    with pytest.raises(TypeError, match="Residual: body must be a Module"):
        nn.Residual(lambda x: x)
    with pytest.raises(ValueError, match="BasicBlock: stride must be a positive integer, got stride=0"):
        nn.BasicBlock(3, 4, stride=0)
    with pytest.raises(ValueError, match="Inception: ch5x5 must be a positive integer"):
        nn.Inception(3, 1, 1, 1, 1, 0, 1)


def test_blocks_in_a_graph_model():
    x = nn.Input((3, 8, 8))
    h = nn.BasicBlock(3, 8, 2)(x)
    y = nn.Concat(dim=1)(nn.Inception(8, 2, 2, 2, 2, 2, 2)(h), h)
    model = nn.Model(x, y)
    assert y.shape == (None, 16, 4, 4)
    assert model(rd.randn(2, 3, 8, 8)).shape == (2, 16, 4, 4)


def test_docstring_examples_run():
    import doctest

    import redes.nn.blocks as module
    result = doctest.testmod(module, extraglobs={"rd": rd}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0
