"""style="neurons": a small dense network drawn as neurons (activations) and synapses (weights).

The chain of `linear` ops in the recorded graph gives the layers: each layer's neurons show the
activation of one sample (after the activation function that follows the linear op) and dE/da;
each synapse j -> i is weight W[i, j], drawn blue when positive and orange when negative, its width
growing with |W[i, j]|, labelled with the weight and its gradient when the network is small.
"""
import numpy as np

from ..tensor import Tensor
from . import render as R

ACTIVATIONS = {"relu", "tanh", "sigmoid", "gelu", "silu", "elu", "selu", "leaky_relu", "softplus", "exp",
               "softmax", "log_softmax", "clamp", "dropout", "mish", "hardtanh"}
POSITIVE, NEGATIVE = "#3b73b9", "#d9822b"


def _layers(scene):
    """[(activation tensor, activation names, weight (out, in) array, weight tensor, bias tensor)] along the chain."""
    lin = [t for t in scene.tensors if t.grad_fn is not None and (t.grad_fn.op == "linear" or (
        t.grad_fn.op == "matmul" and isinstance(t.grad_fn.inputs[1], Tensor) and t.grad_fn.inputs[1].grad_fn is None
        and t.grad_fn.inputs[1].ndim == 2))]
    if not lin:
        raise ValueError("graph(style='neurons') draws dense networks, and this graph has no linear layer "
                         "(nn.Linear / F.linear, or x @ W with W a 2-D leaf); use style='dataflow'")
    x = lin[0].grad_fn.inputs[0]
    chain, current = [(x, [], None, None, None)], x
    for z in lin:
        fn = z.grad_fn
        if fn.inputs[0] is not current:
            raise ValueError("graph(style='neurons') needs a plain chain of dense layers (each linear layer taking "
                             f"the previous layer's activations); linear layer {len(chain)} takes another tensor. "
                             "Use scale='layers' for other architectures")
        w = fn.inputs[1]
        weight = w.array if fn.op == "linear" else w.array.T
        bias = fn.inputs[2] if fn.op == "linear" and len(fn.inputs) > 2 else None
        a, acts = z, []
        while len(scene.consumers.get(id(a), ())) == 1:
            nxt = scene.consumers[id(a)][0]
            if nxt.grad_fn.op not in ACTIVATIONS:
                break
            acts.append(nxt.grad_fn.op)
            a = nxt
        chain.append((a, acts, np.asarray(weight), w, bias))
        current = a
    return chain


def _row(a, sample):
    v = np.asarray(a)
    if v.ndim == 1:
        return v
    if v.ndim == 2:
        return v[sample]
    raise ValueError(f"graph(style='neurons') draws activations of shape (units,) or (batch, units), got {v.shape}")


def draw_neurons(scene, sample=0, title=None, max_units=400, max_synapses=5000, label_synapses=40):
    """Neurons and synapses of a dense network (see module docstring)."""
    chain = _layers(scene)
    units = sum(t.shape[-1] for t, *_ in chain)
    synapses = sum(w.size for _, _, w, _, _ in chain[1:])
    if units > max_units or synapses > max_synapses:
        raise ValueError(f"graph(style='neurons') draws networks of up to {max_units} units and {max_synapses} "
                         f"synapses; this one has {units} units and {synapses} synapses. Use scale='layers'")
    batch = chain[0][0].shape[0] if chain[0][0].ndim == 2 else None
    if batch is not None and not 0 <= sample < batch:
        raise ValueError(f"graph(style='neurons'): sample={sample} is out of range for a batch of {batch}")
    body, nodes, edges = [], {}, []
    show_labels = synapses <= label_synapses
    for k, (a, acts, w, wt, bt) in enumerate(chain):
        values = _row(scene.value(a), sample)
        g = scene.grad(a)
        grads = _row(g, sample) if g is not None else None
        bias = np.asarray(bt.array) if bt is not None else None
        last = k == len(chain) - 1
        what = "input" if k == 0 else ("output" if last else f"hidden {k}")
        kind = "input" if k == 0 else ("output" if last else "hidden")
        how = "" if k == 0 else " · linear" + "".join(f" → {x}" for x in acts)
        body.append(f"subgraph cluster_{k} {{")
        body.append(f"  label={R.quote(f'{what} ({values.size}){how}')}; color=\"#dddddd\"; style=rounded; fontsize=11;")
        for i, v in enumerate(values):
            nid = f"u{k}_{i}"
            text = f"<B>{R.esc(R.fmt_number(v, 3))}</B>"
            if bias is not None:
                text += f'<BR/><FONT POINT-SIZE="8" COLOR="{R.MUTED}">b {R.esc(R.fmt_number(bias[i], 3))}</FONT>'
            if grads is not None:
                text += f'<BR/><FONT POINT-SIZE="8" COLOR="{R.GRAD_COLOR}">grad {R.esc(R.fmt_number(grads[i], 3))}</FONT>'
            style = R.attrs(label=f"<{text}>", shape="circle", style="filled", fillcolor=R.FILL[kind],
                            color=R.BORDER[kind], width=0.85, fixedsize="true", fontsize=10, cls=kind)
            body.append(f"  {nid} {style};")
            nodes[nid] = {"kind": kind, "layer": k, "unit": i, "value": float(v)}
        body.append("}")
        if k == 0:
            continue
        wg = scene.grad(wt)
        if wg is not None and wg.shape != w.shape:
            wg = wg.T                                         # x @ W: the gradient is laid out as W
        scale = float(np.abs(w).max()) or 1.0
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                wij = float(w[i, j])
                tip = f"w[{i},{j}] = {R.fmt_number(wij)}" + (f", grad {R.fmt_number(wg[i, j])}" if wg is not None else "")
                label = None
                if show_labels:
                    label = f"<{R.esc(R.fmt_number(wij, 2))}" + (
                        f'<BR/><FONT COLOR="{R.GRAD_COLOR}">{R.esc(R.fmt_number(wg[i, j], 2))}</FONT>' if wg is not None else "") + ">"
                color = POSITIVE if wij >= 0 else NEGATIVE
                width = f"{0.4 + 2.6 * abs(wij) / scale:.2f}"                   # thicker for larger |w|
                style = R.attrs(label=label, color=color, penwidth=width, tooltip=tip, arrowsize=0.4, fontsize=8,
                                cls="synapse")
                body.append(f"u{k - 1}_{j} -> u{k}_{i} {style};")
                edges.append((f"u{k - 1}_{j}", f"u{k}_{i}", tip))
    sub = f"sample {sample} of a batch of {batch}" if batch is not None and batch > 1 else None
    heading = " — ".join(x for x in (title, sub) if x) or None
    return R.Graph(R.digraph(body, "LR", heading, extra=["ranksep=1.2;"]), nodes, edges)
