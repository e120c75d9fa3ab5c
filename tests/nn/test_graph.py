"""nn.Input / nn.Model: the acyclic topology as a model (Keras-style functional API on redes modules)."""
import numpy as np
import pytest

import redes as rd
from redes import nn


def _counter(module):
    """Count forward calls of a module with a forward hook."""
    calls = [0]
    module.register_forward_hook(lambda m, i, o: calls.__setitem__(0, calls[0] + 1))
    return calls


def _two_input_two_output():
    """a (3,) and b (2,): h = relu(enc(a)); g = cat(h, proj(b)); y1 = head1(g); y2 = head2(h) * sigmoid(gate(b))."""
    enc, proj, head1, head2, gate = nn.Linear(3, 4), nn.Linear(2, 4), nn.Linear(8, 1), nn.Linear(4, 2), nn.Linear(2, 2)
    a, b = nn.Input((3,), name="a"), nn.Input((2,), name="b")
    h = enc(a, name="encoder").relu()
    g = nn.Concat(dim=1)(h, proj(b))
    y1 = head1(g)
    y2 = nn.Multiply()([head2(h), gate(b).sigmoid()])
    model = nn.Model(inputs=[a, b], outputs=[y1, y2])

    def by_hand(a, b):
        h = enc(a).relu()
        g = rd.cat([h, proj(b)], 1)
        return head1(g), head2(h) * gate(b).sigmoid()
    return model, by_hand


def test_multi_input_multi_output_matches_hand_written():
    model, by_hand = _two_input_two_output()
    model.double()
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((5, 3)), rng.standard_normal((5, 2))]
    w = [rng.uniform(0.5, 1.5, (5, 1)), rng.uniform(0.5, 1.5, (5, 2))]
    grads = []
    for fn in (model, by_hand):
        model.zero_grad()
        xs = [rd.tensor(a, requires_grad=True) for a in arrays]
        outs = fn(*xs)
        ((outs[0] * rd.tensor(w[0])).sum() + (outs[1] * rd.tensor(w[1])).sum()).backward()
        grads.append([o.numpy() for o in outs] + [x.grad.numpy() for x in xs] +
                     [p.grad.numpy() for p in model.parameters()])
    assert len(grads[0]) == 2 + 2 + 10
    for ours, ref in zip(*grads):
        np.testing.assert_array_equal(ours, ref)
    assert isinstance(model(*[rd.tensor(a) for a in arrays]), tuple)


def test_shared_trunk_computed_once_per_call():
    trunk = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    calls = _counter(trunk)
    x = nn.Input((4,))
    h = trunk(x)
    model = nn.Model(x, [nn.Linear(8, 1)(h), nn.Linear(8, 2)(h), h.tanh()])
    assert calls[0] == 0, "building the graph computes nothing"
    for k in range(1, 4):
        model(rd.randn(2, 4))
        assert calls[0] == k, "three branches read the trunk, it runs once per call"


def test_shared_layer_on_two_inputs_shares_weights():
    """A Siamese pair: one layer called on two nodes runs twice per call, with one set of weights whose
    gradient is the sum over both uses."""
    enc = nn.Linear(3, 2).double()
    calls = _counter(enc)
    a, b = nn.Input((3,)), nn.Input((3,))
    model = nn.Model([a, b], ((enc(a) - enc(b)) ** 2).sum(1))
    assert list(model.state_dict()) == ["layers.linear_0.weight", "layers.linear_0.bias"]
    xa, xb = rd.randn(4, 3, dtype=rd.float64), rd.randn(4, 3, dtype=rd.float64)
    model(xa, xb).sum().backward()
    assert calls[0] == 2
    g = enc.weight.grad.numpy().copy()
    enc.zero_grad()
    ((enc(xa) - enc(xb)) ** 2).sum().backward()
    np.testing.assert_allclose(g, enc.weight.grad.numpy(), rtol=1e-12)


def test_execution_follows_topological_order():
    order = []
    layers = [nn.Linear(2, 2) for _ in range(5)]
    for i, layer in enumerate(layers):
        layer.register_forward_hook(lambda m, inp, out, i=i: order.append(i))
    x = nn.Input((2,))
    n0 = layers[0](x)
    n1 = layers[1](n0)
    n2 = layers[2](x)
    n3 = layers[3](nn.Add()(n1, n2))
    n4 = layers[4](nn.Add()(n3, n0))
    model = nn.Model(x, [n4, n2])          # outputs listed out of order: execution is still topological
    model(rd.randn(1, 2))
    assert order == [0, 1, 2, 3, 4]


def test_names_given_and_automatic_state_dict_round_trip(tmp_path):
    def build():
        x = nn.Input((4,))
        h = nn.Linear(4, 8)(x, name="dense1").relu()
        h = nn.Linear(8, 8)(h)
        return nn.Model(x, nn.Linear(8, 2)(h))
    model = build()
    keys = list(model.state_dict())
    assert keys == ["layers.dense1.weight", "layers.dense1.bias", "layers.linear_0.weight", "layers.linear_0.bias",
                    "layers.linear_1.weight", "layers.linear_1.bias"]
    other = build()
    assert list(other.state_dict()) == keys, "the same graph built again gets the same names"
    x = rd.randn(3, 4)
    assert not np.allclose(model(x).numpy(), other(x).numpy())
    other.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())
    path = tmp_path / "dag.model"                          # rd.save stores the graph as JSON, weights as safetensors
    rd.save(model, path)
    loaded = rd.load(path)
    np.testing.assert_array_equal(model(x).numpy(), loaded(x).numpy())
    assert list(loaded.state_dict()) == keys


def test_save_load_with_node_operations(tmp_path):
    x = nn.Input((6,), name="x")
    h = nn.Linear(6, 4)(x)
    y = nn.Concat(dim=1)([(1 - h.sigmoid()) * 2, h.T.T, -h[:, 1:3]]).flatten(1)
    model = nn.Model(x, [y, h])
    rd.save(model, tmp_path / "ops.model")
    loaded = rd.load(tmp_path / "ops.model")
    t = rd.randn(2, 6)
    for a, b in zip(model(t), loaded(t)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    lam = nn.Model(x, nn.Lambda(lambda t: t * 3)(x))
    with pytest.raises(ValueError, match=r"Lambda\(lambda\) wraps a Python function"):
        rd.save(lam, tmp_path / "lambda.model")


def test_model_trains():
    rd.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)
    x = nn.Input((3,))
    h = nn.Linear(3, 16)(x).tanh()
    model = nn.Model(x, nn.Add()(nn.Linear(16, 1)(h), nn.Linear(3, 1)(x)))
    opt = rd.optim.Adam(model.parameters(), lr=0.05)
    xs, ys = rd.tensor(X), rd.tensor(Y)
    first = None
    for _ in range(150):
        opt.zero_grad()
        loss = ((model(xs) - ys) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first / 100, (first, loss.item())


def test_nested_model_and_recurrent_layer():
    inner_in = nn.Input((5, 3))
    out = nn.LSTM(3, 4, batch_first=True)(inner_in)[0]   # (output, (h, c)): index the tuple node
    inner = nn.Model(inner_in, out[:, -1])
    x = nn.Input((5, 3))
    model = nn.Model(x, nn.Linear(4, 1)(inner(x)))
    assert list(model.layers) == ["model_0", "linear_0"]
    assert model(rd.randn(2, 5, 3)).shape == (2, 1)
    assert out.shape == (None, 5, 4)


def test_node_shapes_summary_and_modes():
    x = nn.Input((4,), name="x")
    h = nn.Linear(4, 8)(x, name="dense")
    d = nn.Dropout(0.5)(h) if hasattr(nn, "Dropout") else h
    y = nn.Linear(8, 2)(d.relu())
    assert x.shape == (None, 4) and y.shape == (None, 2) and h.dtype == rd.float32
    model = nn.Model(x, y)
    text = model.summary()
    assert "dense (Linear)" in text and "(None, 8)" in text and "Total params: 58" in text
    assert model.training and all(m.training for m in model.modules()), "shape inference restores train mode"
    model.eval()
    assert not any(m.training for m in model.modules())
    assert "Node Lambda(relu)" in repr(d.relu()) and "shape=(None, 8)" in repr(h)


def test_normal_tensor_path_is_untouched():
    layer = nn.Linear(2, 3)
    out = layer(rd.randn(4, 2))
    assert isinstance(out, rd.Tensor) and out.shape == (4, 3)
    assert isinstance(layer(nn.Input((2,))), nn.Node)


def test_errors():
    x, other = nn.Input((3,), name="x"), nn.Input((2,), name="other")
    h = nn.Linear(3, 2)(x)
    with pytest.raises(TypeError, match=r"Model: outputs\[0\] must be a Node"):
        nn.Model(x, rd.zeros(2))
    with pytest.raises(ValueError, match=r"inputs\[0\] is the output of Linear, not an nn.Input"):
        nn.Model(h, h)
    with pytest.raises(ValueError, match=r"depend on an Input \(other, shape \(None, 2\)\) that is not listed"):
        nn.Model(x, nn.Add()(h, other))
    model = nn.Model(x, h)
    with pytest.raises(ValueError, match=r"input 0 \(x\) expects shape \(None, 3\) \(None = any size\), got \(2, 4\)"):
        model(rd.zeros(2, 4))
    with pytest.raises(TypeError, match=r"expected 1 input\(s\) \(x\), got 2"):
        model(rd.zeros(2, 3), rd.zeros(2, 3))
    with pytest.raises(TypeError, match="cannot be iterated"):
        a, b = h
    with pytest.raises(ValueError, match="name must be a Python identifier"):
        nn.Linear(3, 2)(x, name="my layer")
    with pytest.raises(ValueError, match="two different layers are both named 'd'"):
        nn.Model(x, nn.Linear(2, 2)(nn.Linear(3, 2)(x, name="d"), name="d"))
    with pytest.raises(AttributeError, match="Node has no attribute 'nonsense'"):
        h.nonsense
    with pytest.raises(ValueError, match="Input: shape must be a tuple of non-negative ints"):
        nn.Input((3, -1))


def test_docstring_examples_run():
    import doctest

    import redes.nn.graph as module
    result = doctest.testmod(module, extraglobs={"rd": rd}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 5 and result.failed == 0
