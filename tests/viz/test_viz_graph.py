"""rd.viz.graph at the tensors scale: structure of the DOT text, values, gradients, both nomenclatures, rendering."""
import struct

import numpy as np
import pytest

import redes as rd
from redes.viz import render
from viz_dot import Dot


def lecture_f():
    """The lecture's f at (1, 2, 2): y1 = 4*x2 + x2**2 + 3*x3 = 18, y2 = x1*x2 + 3*x3 = 8 share s = 3*x3; E = y1 + y2."""
    x1, x2, x3 = (rd.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0))
    x1.name, x2.name, x3.name = "x1", "x2", "x3"
    s = 3 * x3
    y1 = 4 * x2 + x2 ** 2 + s
    y2 = x1 * x2 + s
    y1.name, y2.name = "y1", "y2"
    E = y1 + y2
    E.name = "E"
    return E, (x1, x2, x3)


def label(dot, node):
    return dot.nodes[node]["text"]


def test_lecture_graph_dataflow_structure_values_and_gradients():
    E, (x1, x2, x3) = lecture_f()
    g = rd.viz.graph(E)
    dot = Dot(g.source)
    values = {k: v for k, v in dot.nodes.items() if v.get("class") != "const"}
    assert len(values) == 11          # x1 x2 x3, 3*x3, 4*x2, x2**2, 4*x2+x2**2, y1, x1*x2, y2, E
    assert sorted(v["text"] for v in dot.with_class("const").values()) == ["2", "3", "4"]   # 4*x2, x2**2, 3*x3
    assert len(dot.edges) == 16                               # two inputs for each of the 8 ops
    shared = dot.find("3*x3")
    assert len(shared) == 1
    assert len(dot.out_edges(shared[0])) == 2                 # one node, two consumers
    assert {dot.nodes[e[1]]["text"].split("\n")[0] for e in dot.out_edges(shared[0])} == {"y1", "y2"}
    # values and dE/dx, worked out on paper for E = y1 + y2 at (1, 2, 2):
    # dE/dx1 = x2 = 2; dE/dx2 = (4 + 2*x2) + x1 = 9; dE/ds = 1 + 1 = 2 for s = 3*x3; dE/dx3 = 3 * 2 = 6
    expect = {"x1": ("1", "2"), "x2": ("2", "9"), "x3": ("2", "6"), "3*x3": ("6", "2"), "4*x2": ("8", "1"),
              "x2**2": ("4", "1"), "x1*x2": ("2", "1"), "y1": ("18", "1"), "y2": ("8", "1"), "E": ("26", "1")}
    for name, (value, grad) in expect.items():
        lines = label(dot, dot.find(name)[0]).split("\n")
        assert value in lines and f"grad {grad}" in lines, (name, lines)
    assert dot.nodes[dot.find("E")[0]]["class"] == "output"
    assert {dot.nodes[n]["class"] for n in dot.find("x1") + dot.find("x2") + dot.find("x3")} == {"input"}
    assert dot.nodes[shared[0]]["class"] == "hidden"
    assert "mul" in label(dot, shared[0]) and "scalar float32" in label(dot, shared[0])


def test_lecture_graph_functions_style():
    E, _ = lecture_f()
    dot = Dot(rd.viz.graph(E, style="functions").source)
    ops = dot.with_class("op")
    assert sorted(v["text"].split("\n")[1] for v in ops.values()) == ["add"] * 4 + ["mul"] * 3 + ["pow"]
    mul_of_x3 = [k for k in ops if any(dot.nodes[e[0]]["text"].strip() == "x3" for e in dot.in_edges(k))]
    assert len(mul_of_x3) == 1 and len(dot.out_edges(mul_of_x3[0])) == 2
    assert all("3*x3 = 6" in e[2]["text"] and "grad 2" in e[2]["text"] for e in dot.out_edges(mul_of_x3[0]))
    assert len(dot.with_class("output")) == 1 and len(dot.with_class("input")) == 3


def test_drawing_does_not_consume_the_graph_and_matches_backward():
    E, (x1, x2, x3) = lecture_f()
    rd.viz.graph(E)
    rd.viz.graph(E, style="functions")
    E.backward()                                              # the graph is still whole
    assert (x1.grad.item(), x2.grad.item(), x3.grad.item()) == (2.0, 9.0, 6.0)


def test_the_lecture_graph_is_drawn_after_backward_with_leaves_named_in_creation_order():
    """Forward, backward, then look: the graph survives backward (as torch keeps grad_fn), the unnamed
    x1, x2, x3 are named in the order they were created, and the drawing shows the values still alive
    and the gradients backward computed (worked out on paper: dE/dx = (2, 9, 6))."""
    x1, x2, x3 = (rd.tensor(v, requires_grad=True) for v in (1.0, 2.0, 2.0))
    s = 3 * x3
    y1 = 4 * x2 + x2 ** 2 + s
    E = y1 + (x1 * x2 + s)
    E.backward()
    dot = Dot(rd.viz.graph(E).source)
    assert len(dot.edges) == 16 and len([v for v in dot.nodes.values() if v.get("class") != "const"]) == 11
    for name, value, grad in [("x1", "1", "2"), ("x2", "2", "9"), ("x3", "2", "6")]:
        (node,) = dot.find(name)
        lines = label(dot, node).split("\n")
        assert dot.nodes[node]["class"] == "input" and value in lines and f"grad {grad}" in lines, (name, lines)
    (shared,) = dot.find("3*x3")                       # s is still alive: drawn with its value
    assert "6" in label(dot, shared).split("\n") and len(dot.out_edges(shared)) == 2
    (x1x2,) = dot.find("x1*x2")                        # gone with backward: drawn without a value
    assert "freed by backward" in label(dot, x1x2)
    assert "26" in label(dot, [n for n, v in dot.nodes.items() if v.get("class") == "output"][0]).split("\n")
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        E.backward()                                   # the values are gone: a second backward still refuses


def test_drawings_of_every_value_after_backward_give_a_clear_error():
    E, _ = lecture_f()
    E.backward()
    with pytest.raises(RuntimeError, match=r"scale='numbers'.*before calling backward\(\).*retain_graph=True"):
        rd.viz.graph(E, scale="numbers")
    model = rd.nn.Sequential(rd.nn.Linear(3, 4), rd.nn.ReLU(), rd.nn.Linear(4, 2))
    loss = model(rd.randn(5, 3)).square().mean()
    loss.backward()
    with pytest.raises(RuntimeError, match=r"style='neurons'.*before calling backward\(\).*retain_graph=True"):
        rd.viz.graph(loss, style="neurons", model=model)


def test_after_backward_retain_graph_leaves_show_their_grad():
    E, _ = lecture_f()
    E.backward(retain_graph=True)
    dot = Dot(rd.viz.graph(E, grads=False).source)
    assert "grad 6" in label(dot, dot.find("x3")[0])
    assert "grad" not in label(dot, dot.find("3*x3")[0])      # intermediates keep no .grad


def test_grads_false_shows_no_gradient_before_backward():
    E, _ = lecture_f()
    assert "grad" not in "".join(v.get("text", "") for v in Dot(rd.viz.graph(E, grads=False).source).nodes.values())


def test_large_tensors_show_statistics_with_nan_count():
    x = rd.tensor(np.arange(100.0), requires_grad=True)
    y = (x - 50.0) / 10.0
    y.name = "y"
    with np.errstate(all="ignore"):
        z = y.log()                                           # NaN for the 50 negatives and -inf at 0
    dot = Dot(rd.viz.graph(z.sum(), grads=False).source)
    text = label(dot, dot.find("log(y)")[0])
    assert "(100,) float64" in text and "mean" in text and "std" in text and "min" in text and "max" in text
    assert "NaN 50" in text and "Inf 1" in text
    assert "mean 49.5" in label(dot, dot.find("x")[0])


def test_parameters_hidden_and_several_outputs():
    w = rd.nn.Parameter(np.ones((2, 2)))
    x = rd.ones(3, 2)
    h = x @ w
    out1, out2 = h.relu(), h.sigmoid()
    dot = Dot(rd.viz.graph([out1, out2]).source)
    kinds = sorted(v["class"] for v in dot.nodes.values())
    assert kinds == ["hidden", "input", "output", "output", "param"]
    assert "grad" not in "".join(v.get("text", "") for v in dot.nodes.values())
    with pytest.raises(ValueError, match="grads=True needs one scalar output"):
        rd.viz.graph([out1, out2], grads=True)


def test_parameter_names_come_from_the_model():
    net = rd.nn.Sequential(rd.nn.Linear(3, 2))
    E = net(rd.ones(4, 3)).sum()
    dot = Dot(rd.viz.graph(E, model=net).source)
    assert dot.find("0.weight") and dot.find("0.bias")


def test_errors_at_the_boundary():
    x = rd.tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError, match="style must be one of"):
        rd.viz.graph(x * 2, style="boxes")
    with pytest.raises(ValueError, match="scale must be one of"):
        rd.viz.graph(x * 2, scale="atoms")
    with pytest.raises(ValueError, match="no recorded graph"):
        rd.viz.graph(rd.ones(2) * 2)
    with pytest.raises(TypeError, match="expected a Tensor"):
        rd.viz.graph("E")


def test_deep_graph_is_walked_without_recursion():
    x = rd.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(3000):
        y = y * 1.0
    dot = Dot(rd.viz.graph(y, grads=False).source)
    assert len(dot.with_class("hidden")) == 2999 and len(dot.with_class("const")) == 3000


# ----------------------------------------------------------------------------------- rendering
def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


needs_dot = pytest.mark.skipif(not __import__("shutil").which("dot"), reason="graphviz's dot is not installed")


@needs_dot
def test_render_png_and_svg(tmp_path):
    net = rd.nn.Sequential(rd.nn.Linear(3, 4), rd.nn.Tanh(), rd.nn.Linear(4, 2))
    E = (net(rd.ones(5, 3)) ** 2).mean()
    g = rd.viz.graph(E, model=net)
    png = tmp_path / "sub" / "g.png"
    g.save(png)
    data = png.read_bytes()
    w, h = png_size(data)
    assert 200 < w < 5000 and 200 < h < 5000 and len(data) > 5000
    g.save(tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "0.weight" in svg
    assert "<svg" in g._repr_svg_() and "<svg" in g._repr_html_()
    g.save(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == g.source


def test_missing_dot_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("REDES_DOT", raising=False)
    monkeypatch.setattr(render.shutil, "which", lambda name: None)
    g = rd.viz.graph(rd.tensor(2.0, requires_grad=True) * 3)
    with pytest.raises(rd.viz.GraphvizNotFound, match="apt-get install graphviz"):
        g.save(tmp_path / "g.png")
    html = g._repr_html_()                                   # a notebook shows the reason and the DOT text
    assert html.startswith("<pre>") and "apt-get install graphviz" in html and "digraph" in html
    g.save(tmp_path / "g.dot")                               # the text needs no dot
    assert (tmp_path / "g.dot").exists()
