"""redes.viz: see the network. Computation graphs (DOT/SVG/PNG), model summaries and training curves.

    g = rd.viz.graph(E)                                  # the recorded graph of E, with dE/dx at every node
    g.save("E.png"); g.source                            # PNG/SVG via graphviz's dot; the DOT text
    rd.viz.graph(E, style="functions")                   # functions as nodes, values on the edges
    rd.viz.graph(E, scale="numbers")                     # every element a node (small graphs)
    rd.viz.graph(model, x, scale="layers")               # a node per layer
    rd.viz.graph(E, style="neurons")                     # neurons and synapses of a small dense network
    print(rd.summary(model, (1, 3)))                     # layers, shapes, parameters, mult-adds, memory
    rd.viz.plot_history({"loss": [...]}, "loss.png")     # training curves
"""
from .callbacks import GradientStats
from .curves import plot_grad_stats, plot_history
from .graph import graph
from .render import Graph, GraphvizNotFound
from .summary import ModelSummary, summary, summary_text

__all__ = ["graph", "Graph", "GraphvizNotFound", "summary", "summary_text", "ModelSummary",
           "plot_history", "plot_grad_stats", "GradientStats"]
