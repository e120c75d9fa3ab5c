"""scale="numbers": a small tensor graph expanded into its scalar operations, with the engine's own values."""
import numpy as np
import pytest

import redes as rd
from viz_dot import Dot


def linear_2x3():
    """A Linear(3 -> 2) layer (weight 2x3) on one input row, E = sum of the outputs."""
    layer = rd.nn.Linear(3, 2)
    layer.weight.data[...] = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]], np.float32)
    layer.bias.data[...] = np.array([0.5, -1.0], np.float32)
    x = rd.tensor([1.0, 2.0, 3.0])
    x.name = "x"
    E = layer(x).sum()
    E.name = "E"
    return layer, x, E


def first_lines(dot):
    return {k: v["text"].strip().split("\n")[0] for k, v in dot.nodes.items()}


def test_linear_2x3_expands_into_products_and_sums():
    layer, x, E = linear_2x3()
    dot = Dot(rd.viz.graph(E, scale="numbers", model=layer).source)
    names = first_lines(dot)
    kinds = {k: v["class"] for k, v in dot.nodes.items()}
    inputs = sorted(names[k] for k in kinds if kinds[k] == "input")
    params = sorted(names[k] for k in kinds if kinds[k] == "param")
    assert inputs == ["x[0]", "x[1]", "x[2]"]
    assert params == ["b[0]", "b[1]"] + [f"w[{i},{j}]" for i in range(2) for j in range(3)]
    products = [k for k in names if "*" in names[k]]
    sums = [k for k in names if names[k] == "sum"]
    assert len(products) == 6 and len(sums) == 2
    assert len(dot.nodes) == 3 + 6 + 2 + 6 + 2 + 1               # x, w, b, products, one Σ per output, E
    assert len(dot.edges) == 6 * 2 + 2 * 4 + 2
    for s in sums:                                                # each output: 3 products + the bias
        ins = [names[e[0]] for e in dot.in_edges(s)]
        assert sum("*" in n for n in ins) == 3 and sum(n.startswith("b[") for n in ins) == 1
        assert all(e[2]["text"] == "Σ" for e in dot.in_edges(s))
    y = layer(x).numpy()
    sum_values = sorted(float(dot.nodes[s]["text"].split("\n")[2]) for s in sums)
    np.testing.assert_allclose(sum_values, sorted(y), rtol=1e-5)
    # dE/dw[i,j] = x[j]; dE/db = 1: the same numbers as the tensor-scale backward
    for k in kinds:
        if names[k].startswith("w["):
            i, j = map(int, names[k][2:-1].split(","))
            assert f"grad {j + 1}" in dot.nodes[k]["text"]
    assert dot.nodes[[k for k in names if names[k] == "E"][0]]["class"] == "output"


def test_numbers_gradients_match_tensor_backward():
    rd.manual_seed(3)
    net = rd.nn.Sequential(rd.nn.Linear(3, 2), rd.nn.Tanh(), rd.nn.Linear(2, 1))
    x = rd.randn(2, 3)
    target = rd.tensor([[0.5], [-0.5]])
    E = ((net(x) - target) ** 2).mean()
    g = rd.viz.graph(E, scale="numbers", model=net)
    E.backward()
    w = net[0].weight.grad.numpy()
    dot = Dot(g.source)
    for k, v in dot.nodes.items():
        name = v["text"].strip().split("\n")[0]
        if name.startswith("0.w["):
            i, j = map(int, name[4:-1].split(","))
            shown = float(v["text"].split("grad ")[1].split("\n")[0])
            assert shown == pytest.approx(float(w[i, j]), rel=1e-3, abs=1e-6)
    means = [k for k, v in dot.nodes.items() if v["text"].strip().split("\n")[0] == "mean"]
    assert len(means) == 1 and len(dot.in_edges(means[0])) == 2      # mean over the two rows


def test_elementwise_broadcast_and_shared_scalars():
    a = rd.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    a.name = "a"
    s = rd.tensor(10.0, requires_grad=True)
    s.name = "s"
    E = (a * s).sum()
    dot = Dot(rd.viz.graph(E, scale="numbers").source)
    names = {k: v["text"].strip().split("\n")[0] for k, v in dot.nodes.items()}
    s_node = [k for k in names if names[k] == "s"][0]
    assert len(dot.out_edges(s_node)) == 4                          # one scalar, broadcast to four products
    assert "grad 10" in dot.nodes[[k for k in names if names[k] == "a[1,1]"][0]]["text"]
    assert "grad 10" in dot.nodes[s_node]["text"]                     # 1 + 2 + 3 + 4


def test_movement_ops_add_no_nodes():
    x = rd.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    x.name = "x"
    E = x.T.reshape(6)[1:4].relu().sum()
    dot = Dot(rd.viz.graph(E, scale="numbers").source)
    names = sorted(v["text"].strip().split("\n")[0] for v in dot.nodes.values())
    assert names.count("sum") == 1 and sum(n.startswith("relu(") for n in names) == 3
    assert [n for n in names if n.startswith("x[")] == ["x[0,1]", "x[1,0]", "x[1,1]"]   # 4, 2, 5: only those reach E


def test_functions_style_at_numbers_scale():
    layer, x, E = linear_2x3()
    dot = Dot(rd.viz.graph(E, scale="numbers", style="functions", model=layer).source)
    ops = sorted(v["text"].split("\n")[1] for v in dot.with_class("op").values())
    assert ops.count("mul") == 6 and ops.count("sum") == 3


def test_numbers_scale_refuses_large_graphs_and_unknown_ops():
    x = rd.randn(30, 30, requires_grad=True)
    with pytest.raises(ValueError, match=r"max_nodes=500"):
        rd.viz.graph((x @ x).sum(), scale="numbers")
    y = rd.randn(4, requires_grad=True)
    with pytest.raises(ValueError, match="cannot expand the op 'softmax'"):
        rd.viz.graph(y.softmax(0).sum(), scale="numbers")
