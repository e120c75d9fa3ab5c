"""redes.utils.checkpoint against torch.utils.checkpoint and against redes without checkpointing (float64)."""
import numpy as np
import pytest

import redes as rd
from redes.utils.checkpoint import checkpoint


def block_weights(d=6, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.4, s) for s in [(2 * d, d), (2 * d,), (d, 2 * d), (d,), (d,), (d,)]]


def block(lib, ws):
    """A transformer-style MLP block: x + W2 gelu(W1 layer_norm(x)), written with lib (redes or torch)."""
    F = lib.nn.functional
    w1, b1, w2, b2, g, beta = ws

    def f(x):
        h = F.layer_norm(x, (x.shape[-1],), g, beta)
        return x + F.linear(F.gelu(F.linear(h, w1, b1)), w2, b2)
    return f


def grads(lib, use_checkpoint, x0, ws0, seed=1):
    ws = [lib.tensor(w, requires_grad=True) for w in ws0]
    x = lib.tensor(x0, requires_grad=True)
    f = block(lib, ws)
    if use_checkpoint:
        cp = checkpoint if lib is rd else __import__("torch.utils.checkpoint").utils.checkpoint.checkpoint
        y = cp(f, cp(f, x, use_reentrant=False), use_reentrant=False)
    else:
        y = f(f(x))
    weight = lib.tensor(np.random.default_rng(seed).uniform(0.5, 1.5, tuple(y.shape)))
    (y * weight).sum().backward()
    return [np.asarray(t.grad.detach().numpy() if lib is not rd else t.grad.numpy()) for t in [x] + ws]


def test_gradients_match_torch_checkpoint_and_plain_backward():
    torch = pytest.importorskip("torch")
    x0 = np.random.default_rng(2).normal(size=(3, 4, 6))
    ws0 = block_weights()
    ours = grads(rd, True, x0, ws0)
    plain = grads(rd, False, x0, ws0)
    ref = grads(torch, True, x0, ws0)
    for i, (a, b, c) in enumerate(zip(ours, plain, ref)):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12, err_msg=f"input {i}: checkpoint vs torch")
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=f"input {i}: checkpoint vs plain")


def test_the_graph_keeps_only_the_inputs():
    net = rd.nn.Sequential(rd.nn.Linear(4, 8), rd.nn.Tanh(), rd.nn.Linear(8, 4))
    x = rd.randn(2, 4, requires_grad=True)
    y = checkpoint(net, x, use_reentrant=False)
    node = y.grad_fn
    assert node.next_functions == (None,)          # one node over the whole block; its input is x itself
    assert len(node.inputs) == 1 and node.inputs[0] is x


def test_parameters_get_gradients_when_no_input_requires_grad():
    net = rd.nn.Linear(3, 2)
    x = rd.randn(5, 3)
    checkpoint(net, x).pow(2).sum().backward()
    w = net.weight.grad.numpy()
    net.zero_grad()
    net(x).pow(2).sum().backward()
    np.testing.assert_allclose(w, net.weight.grad.numpy(), rtol=1e-6)


def test_dropout_is_recomputed_with_the_same_mask():
    rd.manual_seed(0)
    net = rd.nn.Sequential(rd.nn.Linear(16, 16), rd.nn.Dropout(0.5))
    x = rd.randn(8, 16, requires_grad=True)
    rd.manual_seed(7)
    checkpoint(net, x).sum().backward()
    g_cp = x.grad.numpy()
    x.grad = None
    rd.manual_seed(7)
    net(x).sum().backward()
    np.testing.assert_array_equal(g_cp, x.grad.numpy())


def test_no_grad_runs_the_function_plainly():
    net = rd.nn.Linear(3, 2)
    with rd.no_grad():
        y = checkpoint(net, rd.randn(1, 3))
    assert y.grad_fn is None and not y.requires_grad


def test_errors():
    with pytest.raises(TypeError, match="checkpoint: function must be callable, got int"):
        checkpoint(3, rd.randn(2))
    with pytest.raises(TypeError, match="checkpoint: function must return one Tensor, got tuple"):
        checkpoint(lambda x: (x, x), rd.randn(2, requires_grad=True))
    with pytest.raises(ValueError, match="use_reentrant must be True or False, got 'yes'"):
        checkpoint(lambda x: x, rd.randn(2), use_reentrant="yes")


def test_billion_example_runs_small_and_checkpointing_changes_no_number():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "examples" / "billion.py"
    spec = importlib.util.spec_from_file_location("billion_example", path)
    billion = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(billion)
    small = ["--layers", "2", "--d-model", "32", "--heads", "4", "--seq", "8", "--vocab", "16", "--steps", "2"]
    with_cp = billion.main(small)
    without = billion.main(small + ["--no-checkpoint"])
    d, v, s, layers = 32, 16, 8, 2
    assert with_cp["parameters"] == layers * (12 * d * d + 13 * d) + v * d + s * d + 2 * d + d * v + v
    np.testing.assert_allclose(with_cp["losses"], without["losses"], rtol=1e-6)
    assert with_cp["losses"][1] < with_cp["losses"][0]
