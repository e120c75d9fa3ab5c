"""scale="layers" (a node per module call) and style="neurons" (neurons and synapses)."""
import numpy as np
import pytest

import redes as rd
from viz_dot import Dot

nn = rd.nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) + x          # residual: the + belongs to Block's own forward


class ResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.block, self.out = nn.Linear(3, 4), Block(), nn.Linear(4, 2)

    def forward(self, x):
        return self.out(self.block(self.inp(x)))


def first(dot, k):
    return dot.nodes[k]["text"].split("\n")[0]


def named_edges(dot):
    return sorted((first(dot, a), first(dot, b)) for a, b, attrs in dot.edges if attrs.get("class") != "shared")


def test_residual_model_collapses_to_its_layers():
    net = ResNet()
    dot = Dot(rd.viz.graph(net, rd.ones(5, 3), scale="layers").source)
    assert sorted(first(dot, k) for k in dot.nodes) == sorted(
        ["x", "inp", "block.fc1", "block.act", "block.fc2", "+  add", "out", "output"])
    assert named_edges(dot) == sorted([("x", "inp"), ("inp", "block.fc1"), ("block.fc1", "block.act"),
                                       ("block.act", "block.fc2"), ("block.fc2", "+  add"), ("inp", "+  add"),
                                       ("+  add", "out"), ("out", "output")])
    inp = [k for k in dot.nodes if first(dot, k) == "inp"][0]
    assert "Linear(3, 4)" in dot.nodes[inp]["text"] and "params 16" in dot.nodes[inp]["text"]
    assert "out (5, 4)" in dot.nodes[inp]["text"]
    assert dot.nodes[inp]["class"] == "layer"
    add = [k for k in dot.nodes if first(dot, k) == "+  add"][0]
    assert dot.nodes[add]["class"] == "op" and "op in Block.forward" in dot.nodes[add]["text"]


def test_depth_collapses_the_block():
    net = ResNet()
    dot = Dot(rd.viz.graph(net, rd.ones(5, 3), scale="layers", depth=1).source)
    assert named_edges(dot) == sorted([("x", "inp"), ("inp", "block"), ("block", "out"), ("out", "output")])
    block = [k for k in dot.nodes if first(dot, k) == "block"][0]
    assert "params 40" in dot.nodes[block]["text"]


def test_loss_outside_the_model_and_gradient_norms():
    net = ResNet()
    x, y = rd.ones(5, 3), rd.zeros(5, 2)
    y.name = "y"
    E = ((net(x) - y) ** 2).mean()
    dot = Dot(rd.viz.graph(E, model=net, scale="layers").source)
    names = [first(dot, k) for k in dot.nodes]
    assert "y" in names and "−  sub" in names and "mean" in names
    inp = [k for k in dot.nodes if first(dot, k) == "inp"][0]
    assert "‖grad‖" in dot.nodes[inp]["text"]


class Twice(nn.Module):
    """The same layer applied twice: two calls, shared weights."""
    def __init__(self):
        super().__init__()
        self.f = nn.Linear(3, 3)

    def forward(self, x):
        return self.f(self.f(x))


def test_a_layer_called_twice_is_two_nodes_with_shared_weights():
    dot = Dot(rd.viz.graph(Twice(), rd.ones(2, 3), scale="layers").source)
    calls = [k for k in dot.nodes if first(dot, k) == "f"]
    assert len(calls) == 2
    assert all("shared weights" in dot.nodes[k]["text"] for k in calls)
    assert {"call 1 of 2", "call 2 of 2"} <= {line for k in calls for line in
                                              " · ".join(dot.nodes[k]["text"].split("\n")).split(" · ")}
    assert len([e for e in dot.edges if e[2].get("class") == "shared"]) == 1
    assert named_edges(dot) == sorted([("x", "f"), ("f", "f"), ("f", "output")])


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.LSTM(3, 5, num_layers=2, batch_first=True), nn.Linear(5, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


@pytest.mark.parametrize("steps, cells", [(4, 4), (9, 4)])     # 9 steps: t=1, 2, 3, …, 9
def test_recurrent_layers_are_unrolled_with_shared_weights(steps, cells):
    dot = Dot(rd.viz.graph(Recurrent(), rd.ones(2, steps, 3), scale="layers").source)
    lstm_cells = [k for k, v in dot.nodes.items() if v.get("text", "").startswith("LSTM cell")]
    assert len(lstm_cells) == 2 * cells                               # 2 layers
    weights = [k for k, v in dot.nodes.items() if v.get("text", "").startswith("weights of layer")]
    assert len(weights) == 2
    assert all(f"shared by all {steps} steps" in dot.nodes[w]["text"] for w in weights)
    for w in weights:
        assert len(dot.out_edges(w)) == len(lstm_cells) // 2         # one dashed link to each of its cells
    assert any("t=" + str(steps) in dot.nodes[k]["text"] for k in lstm_cells)


# ----------------------------------------------------------------------------------- neurons
def small_net():
    rd.manual_seed(1)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x = rd.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, 1.0]])
    E = ((net(x) - rd.tensor([[1.0, 0.0], [0.0, 1.0]])) ** 2).mean()
    return net, x, E


def test_neurons_and_synapses():
    net, x, E = small_net()
    dot = Dot(rd.viz.graph(E, style="neurons", sample=1).source)
    units = {k: v for k, v in dot.nodes.items() if v.get("class") in ("input", "hidden", "output")}
    assert len(units) == 3 + 4 + 2
    synapses = [e for e in dot.edges if e[2].get("class") == "synapse"]
    assert len(synapses) == 3 * 4 + 4 * 2
    hidden = np.tanh(x.numpy()[1] @ net[0].weight.numpy().T + net[0].bias.numpy())
    shown = sorted(float(dot.nodes[f"u1_{i}"]["text"].split("\n")[0]) for i in range(4))
    np.testing.assert_allclose(shown, sorted(hidden), rtol=2e-3, atol=1e-3)
    E.backward()
    w, g = net[2].weight.numpy(), net[2].weight.grad.numpy()
    edge = [e for e in synapses if e[0] == "u1_3" and e[1] == "u2_1"][0]
    assert edge[2]["tooltip"] == f"w[1,3] = {float(w[1, 3]):.4g}, grad {float(g[1, 3]):.4g}"
    assert edge[2]["color"] == ("#3b73b9" if w[1, 3] >= 0 else "#d9822b")
    assert "grad" in dot.nodes["u1_0"]["text"] and "b " in dot.nodes["u1_0"]["text"]


def test_neurons_refuse_what_they_cannot_draw():
    with pytest.raises(ValueError, match="no linear layer"):
        rd.viz.graph((rd.ones(3, requires_grad=True) * 2).sum(), style="neurons")
    with pytest.raises(ValueError, match="plain chain"):
        rd.viz.graph(ResNet(), rd.ones(2, 3), style="neurons")
    big = nn.Sequential(nn.Linear(200, 300), nn.ReLU(), nn.Linear(300, 10))
    with pytest.raises(ValueError, match="up to 400 units"):
        rd.viz.graph(big, rd.ones(1, 200), style="neurons")
    net, x, E = small_net()
    with pytest.raises(ValueError, match="out of range"):
        rd.viz.graph(E, style="neurons", sample=5)


@pytest.mark.skipif(not __import__("shutil").which("dot"), reason="graphviz's dot is not installed")
def test_layers_picture_renders(tmp_path):
    import struct
    g = rd.viz.graph(ResNet(), rd.ones(5, 3), scale="layers")
    data = g.save(tmp_path / "net.png") and (tmp_path / "net.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    w, h = struct.unpack(">II", data[16:24])
    assert 150 < w < 3000 and 300 < h < 4000
