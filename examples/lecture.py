"""The lecture, runnable: f(x1, x2, x3) by hand and by backward, its graph in both nomenclatures, then the
student-table network (Estudio, Edad, Promedio -> N1, N2) trained and drawn as layers, neurons and numbers.

    python examples/lecture.py [OUT_DIR] [--epochs 150]      (later: redes demo lecture)

The lecture's f is a small network of numbers with a shared sub-network, 3*x3, computed once:
    f(x1, x2, x3) = (y1, y2) = (4*x2 + x2**2 + 3*x3,  x1*x2 + 3*x3),   E = y1 + y2
At (x1, x2, x3) = (1, 2, 2) it gives (y1, y2) = (18, 8). By the chain rule, with s = 3*x3:
dE/dx1 = x2 = 2,  dE/dx2 = (4 + 2*x2) + x1 = 9,  dE/ds = 1 + 1 = 2,  dE/dx3 = 3 * dE/ds = 6.
Pictures go to OUT_DIR (default runs/lecture/): PNG and SVG; they need graphviz's `dot` (the DOT text is
always written, as .dot files).
"""
import argparse
import os
import sys

import numpy as np

import redes as rd

HERE = os.path.dirname(os.path.abspath(__file__))
STUDENTS = os.path.join(HERE, "data", "students.csv")


def lecture_f(x1=1.0, x2=2.0, x3=2.0):
    """The lecture's f at numbers scale: each value is a 0-D Tensor (a number), named as on the slide."""
    x = [rd.tensor(v, requires_grad=True) for v in (x1, x2, x3)]
    for i, t in enumerate(x):
        t.name = f"x{i + 1}"
    x1, x2, x3 = x
    s = 3 * x3                                  # drawn as the node "3*x3", with two consumers
    y1 = 4 * x2 + x2 ** 2 + s
    y2 = x1 * x2 + s
    y1.name, y2.name = "y1", "y2"
    E = y1 + y2
    E.name = "E"
    return E, (y1, y2), tuple(x)


def save(graph, out, name, formats):
    """Write the DOT text always, and each picture format when graphviz's dot is installed."""
    written = [graph.save(os.path.join(out, f"{name}.dot"))]
    for fmt in formats:
        try:
            written.append(graph.save(os.path.join(out, f"{name}.{fmt}")))
        except rd.viz.GraphvizNotFound as e:
            print(f"  ({name}.{fmt} not drawn: {str(e).splitlines()[0]})")
            break
    return written


def part1_numbers(out, formats):
    print("1. f(x1, x2, x3) at numbers scale")
    E, (y1, y2), xs = lecture_f()
    print(f"   forward:  y1 = 4*x2 + x2**2 + 3*x3 = {y1.item():g},  y2 = x1*x2 + 3*x3 = {y2.item():g},  "
          f"E = y1 + y2 = {E.item():g}")
    grads = rd.grad(E, list(xs), retain_graph=True)
    print("   backward: " + ",  ".join(f"dE/d{x.name} = {g.item():g}" for x, g in zip(xs, grads)))
    save(rd.viz.graph(E, title="E = y1 + y2: values as nodes, functions on the edges"), out, "f_dataflow", formats)
    save(rd.viz.graph(E, style="functions", title="the same graph: functions as nodes, values on the edges"),
         out, "f_functions", formats)
    return E


def student_model():
    return rd.nn.Sequential(rd.nn.Linear(3, 4), rd.nn.Tanh(), rd.nn.Linear(4, 2))


def part2_students(out, formats, epochs):
    from redes.data import read_table
    from redes.datasets import LECTURE_ROWS
    print("2. the student table: Estudio, Edad, Promedio -> N1, N2")
    table = read_table(STUDENTS, targets=["N1", "N2"])
    model = student_model()
    print(rd.viz.summary_text(model, (1, table.n_features)))
    stats = rd.viz.GradientStats(os.path.join(out, "gradients.png") if "png" in formats else None, every=5)
    history = rd.fit(model, table, loss="mse", optimizer="adam", lr=0.02, epochs=epochs, batch_size=32,
                     seed=0, callbacks=[stats], verbose=False)
    losses = history["loss"]
    print(f"   trained {epochs} epochs: loss (standardised units) {losses[0]:.3f} -> {losses[-1]:.3f}")
    if "png" in formats:
        rd.viz.plot_history(history, os.path.join(out, "history.png"))
    rows = {"Estudio": [r[0] for r in LECTURE_ROWS], "Edad": [r[1] for r in LECTURE_ROWS],
            "Promedio": [r[2] for r in LECTURE_ROWS]}
    X = rd.tensor(np.asarray(table.preprocessor.transform(rows), dtype=np.float32))
    model.eval()
    with rd.no_grad():
        grades = table.preprocessor.inverse_targets(model(X))
    for (est, edad, prom), (n1, n2) in zip(LECTURE_ROWS, np.asarray(grades)):
        print(f"   Estudio {est:4g} h, Edad {edad}, Promedio {prom:4g}  ->  N1 {n1:5.1f}, N2 {n2:5.1f}")
    # the pictures: one lecture row, with its error, so every node shows its gradient too
    target = rd.tensor(np.asarray(table.preprocessor.transform_targets(
        {"N1": [14.9], "N2": [14.0]}), dtype=np.float32))
    x = X[:1]
    x.name, target.name = "x", "t"
    E = ((model(x) - target) ** 2).sum() / 2
    E.name = "E"
    save(rd.viz.graph(E, model=model, scale="layers", title="the student network, a node per layer"),
         out, "students_layers", formats)
    save(rd.viz.graph(E, model=model, style="neurons", title="neurons and synapses (weights, with dE/dw)"),
         out, "students_neurons", formats)
    save(rd.viz.graph(E, model=model, scale="numbers", title="the same network, one number per node"),
         out, "students_numbers", formats)
    return model, history


def main(argv=None):
    parser = argparse.ArgumentParser(prog="redes demo lecture", description=__doc__.split("\n")[0])
    parser.add_argument("out", nargs="?", default=os.path.join("runs", "lecture"), help="output folder")
    parser.add_argument("--epochs", type=int, default=150, help="training epochs for the student network")
    parser.add_argument("--format", action="append", choices=["png", "svg", "pdf"],
                        help="picture formats (default: png and svg)")
    args = parser.parse_args(argv)
    formats = args.format or ["png", "svg"]
    os.makedirs(args.out, exist_ok=True)
    part1_numbers(args.out, formats)
    part2_students(args.out, formats, args.epochs)
    print(f"pictures in {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
