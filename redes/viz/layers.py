"""The layers scale: the recorded graph collapsed into the module calls that produced it.

Each op remembers the module whose forward was running (`grad_fn.module`). Ops are grouped by that
module (its leaf modules by default, or its ancestors `depth` levels below the model), and one group
is split into calls where another module ran in between or where a weight is used a second time, so a
layer applied twice (a shared cell, tied weights) is drawn twice and its shared weights are marked.
Ops that a container runs itself (the `+` of a residual block) stay as small op nodes, so DAG and
residual branches are visible. Recurrent layers (RNN, LSTM, GRU) are drawn unrolled over time.
"""
import numpy as np

from .. import autograd as _ag
from ..tensor import Tensor
from . import render as R


class _Node:
    """One drawn node: a module call, a standalone op, an input or an output."""
    def __init__(self, key, kind, module=None, name=""):
        self.key, self.kind, self.module, self.name = key, kind, module, name
        self.ops, self.params, self.call, self.calls = [], {}, 1, 1
        self.shared = False


def _find_root(scene, model):
    """The model to name modules from: `model`, else the last outermost module that ran, if it holds them all."""
    if model is not None:
        return model
    root = _ag.state.root
    mods = {id(t.grad_fn.module) for t in scene.tensors if t.grad_fn is not None and t.grad_fn.module is not None}
    if root is not None and mods <= {id(m) for m in root.modules()}:
        return root
    return None


def _short_repr(module, limit=36):
    try:
        extra = module.extra_repr()
    except Exception:          # a user module's extra_repr must not break a drawing
        extra = ""
    for noise in ("in_features=", "out_features=", ", bias=True"):    # Linear(3, 4) reads like the call
        extra = extra.replace(noise, "")
    text = f"{type(module).__name__}({extra})"
    return text if len(text) <= limit else text[:limit - 2] + "…)"


def _is_recurrent(module):
    return all(hasattr(module, a) for a in ("mode", "hidden_size", "num_layers", "batch_first")) and \
        getattr(module, "mode", None) in ("LSTM", "GRU", "RNN_TANH", "RNN_RELU")


def _param_count(params):
    return sum(int(p.array.size) for p in params)


def collapse(scene, model=None, depth=None):
    """Group the scene's ops into layer nodes. Returns (nodes in order, tensor-owner map, root)."""
    from ..nn.module import Parameter
    root = _find_root(scene, model)
    paths = {id(m): n for n, m in root.named_modules()} if root is not None else {}
    by_path = {n: m for n, m in root.named_modules()} if root is not None else {}

    def is_leaf(m):
        return next(iter(m.children()), None) is None

    def group(m):
        """The module whose node an op of module m belongs to, or None for a standalone op."""
        if m is None or m is root:
            return None
        if id(m) not in paths:                   # a module outside the model (a loss module, say)
            return m if is_leaf(m) else None
        name = paths[id(m)]
        level = name.count(".") + 1
        if depth is not None and level >= depth:
            return by_path[".".join(name.split(".")[:depth])]
        return m if is_leaf(m) else None

    nodes, owner = [], {}                        # owner: id(tensor) -> node that produced it
    current, last_group, used = {}, None, {}
    calls = {}
    for t in scene.tensors:
        fn = t.grad_fn
        if fn is None:
            continue
        g = group(fn.module)
        if g is None:
            node = _Node(("op", id(t)), "op", fn.module, fn.op)
            nodes.append(node)
        else:
            node = current.get(id(g))
            reuse = [(fn.op, id(a), i) for i, a in enumerate(fn.inputs) if isinstance(a, Parameter)]
            if node is None or last_group is not g or any(r in used[id(node)] for r in reuse):
                node = _Node(("call", id(g), len(nodes)), "layer", g, paths.get(id(g)) or type(g).__name__)
                current[id(g)] = node
                used[id(node)] = set()
                calls.setdefault(id(g), []).append(node)
                nodes.append(node)
            used[id(node)].update(reuse)
        last_group = g
        node.ops.append(t)
        owner[id(t)] = node
        for a in fn.inputs:
            if isinstance(a, Parameter):
                node.params[id(a)] = a
    for group_calls in calls.values():
        for i, node in enumerate(group_calls):
            node.call, node.calls = i + 1, len(group_calls)
    users = {}
    for node in nodes:
        for k in node.params:
            users.setdefault(k, []).append(node)
    for us in users.values():
        if len(us) > 1:
            for node in us:
                node.shared = True
    return nodes, owner, root, users


def _layer_label(scene, node, root):
    m = node.module
    own = list(m.parameters()) if m is not None and node.kind == "layer" else list(node.params.values())
    n_params = _param_count(own)
    if node.kind == "layer":
        rows = [[(node.name,)], [(_short_repr(m), R.MUTED)]]
    else:
        sym = R.SYMBOL.get(node.name, node.name)
        rows = [[(node.name if sym == node.name else f"{sym}  {node.name}",)]]
        if m is not None:
            rows.append([(f"op in {type(m).__name__}.forward", R.MUTED)])
    line = f"out {R.fmt_shape(node.ops[-1].shape)}"      # the call's last op makes its output
    if n_params:
        frozen = not any(p.requires_grad for p in own)
        line = f"params {n_params:,}{' (frozen)' if frozen else ''} · " + line
    rows.append([(line,)])
    grads = [scene.grads.get(id(p)) for p in own]
    grads = [g for g in grads if g is not None]
    if grads:
        norm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads)))
        rows.append([(f"‖grad‖ {R.fmt_number(norm)}", R.GRAD_COLOR)])
    notes = []
    if node.calls > 1:
        notes.append(f"call {node.call} of {node.calls}")
    if node.shared:
        notes.append("shared weights")
    if notes:
        rows.append([(" · ".join(notes), R.BORDER["param"])])
    return R.table(rows, "layer" if node.kind == "layer" else "op")


def _unrolled(node, nid, steps, body):
    """A recurrent layer as a cluster of cells over time; returns (entry id, exit id)."""
    m = node.module
    kind = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(m.mode, m.mode)
    shown = list(range(1, steps + 1)) if steps <= 5 else [1, 2, 3, None, steps]
    carry = "h, c" if kind == "LSTM" else "h"
    body.append(f"subgraph cluster_{nid} {{")
    label = f"{node.name} ({kind}): unrolled over {steps} time step{'s' if steps != 1 else ''}, the same weights at every step"
    body.append(f"  label={R.quote(label)}; style=\"rounded,dashed\"; color=\"{R.BORDER['layer']}\"; fontsize=11;")
    entry, exit_ = f"{nid}_in", f"{nid}_out"
    body.append(f"  {entry} {R.attrs(label='x → x_1 … x_T', shape='box', style='rounded', fontsize=9, cls='op', ordering='out')};")
    body.append(f"  {exit_} {R.attrs(label='h_1 … h_T → output', shape='box', style='rounded', fontsize=9, cls='op')};")
    direction = " (both directions)" if getattr(m, "bidirectional", False) else ""
    for layer in range(m.num_layers):
        names = [n for n in getattr(m, "_weight_names", []) if n.endswith(f"_l{layer}") or f"_l{layer}_" in n]
        params = [getattr(m, n) for n in names]
        wid = f"{nid}_w{layer}"
        wlabel = R.table([[(f"weights of layer {layer}",)],
                          [(", ".join(names) or "weight_ih, weight_hh", R.MUTED)],
                          [(f"params {_param_count(params):,} · shared by all {steps} steps", R.BORDER["param"])]], "param")
        body.append(f"  {wid} {R.attrs(label=wlabel, shape='none', margin=0, cls='param', ordering='out')};")
        row = []
        for t in shown:
            cid = f"{nid}_l{layer}_t{t or 'dots'}"
            if t is None:
                body.append(f"  {cid} {R.attrs(label='…', shape='plaintext', fontsize=16)};")
            else:
                lab = R.table([[(f"{kind} cell",)], [(f"layer {layer} · t={t}{direction}", R.MUTED)]], "layer")
                body.append(f"  {cid} {R.attrs(label=lab, shape='none', margin=0, cls='layer')};")
                body.append(f"  {wid} -> {cid} [style=dashed, color=\"{R.BORDER['param']}\", arrowhead=none];")
            row.append(cid)
            src = entry if layer == 0 else f"{nid}_l{layer - 1}_t{t or 'dots'}"
            body.append(f"  {src} -> {cid} {R.attrs(label=f'x_{t}' if layer == 0 and t else None, fontsize=9)};")
            if layer == m.num_layers - 1:
                body.append(f"  {cid} -> {exit_};")
        for a, b in zip(row, row[1:]):
            body.append(f"  {a} -> {b} {R.attrs(label=carry, fontsize=9, penwidth=1.6)};")   # t -> t+1: one rank down
    body.append("}")
    return entry, exit_


def draw_layers(scene, model=None, depth=None, title=None, rankdir="TB", inputs=None):
    """One node per module call (plus inputs, outputs and the ops containers run themselves)."""
    from ..nn.module import Parameter
    nodes, owner, root, users = collapse(scene, model, depth)
    internal = set()                 # buffers and parameters live inside their layer node
    mods = [root] if root is not None else []
    mods += [n.module for n in nodes if n.module is not None]
    for m in mods:
        internal.update(id(b) for b in m.buffers())
        internal.update(id(p) for p in m.parameters())
    body, drawn, edges = [], {}, []
    ids = {}
    for i, t in enumerate(scene.tensors):       # the data that enters: non-parameter leaves
        if t.grad_fn is None and not isinstance(t, Parameter) and id(t) not in internal:
            nid = ids[("in", id(t))] = f"i{i}"
            label = R.table([[(scene.names[id(t)],)], [(f"input {R.fmt_shape(t.shape, t.dtype)}", R.MUTED)]], "input")
            body.append(f"{nid} {R.attrs(label=label, shape='none', margin=0, cls='input')};")
            drawn[nid] = {"kind": "input", "name": scene.names[id(t)], "tensor": t}
    entry, exit_ = {}, {}
    for k, node in enumerate(nodes):
        nid = f"L{k}"
        ids[id(node)] = nid
        m = node.module
        seq = None
        if node.kind == "layer" and _is_recurrent(m):    # the output sequence, as the layer returns it
            width = (m.proj_size or m.hidden_size) * (2 if m.bidirectional else 1) if hasattr(m, "proj_size") else None
            seq = next((t for t in reversed(node.ops) if t.ndim in (2, 3) and t.shape[-1] == width and (
                id(t) in scene.out_ids or any(owner.get(id(c)) is not node for c in scene.consumers[id(t)]))), None)
        if seq is not None:
            steps = seq.shape[1] if (m.batch_first and seq.ndim == 3) else seq.shape[0]
            entry[nid], exit_[nid] = _unrolled(node, nid, steps, body)
            drawn[nid] = {"kind": "layer", "name": node.name, "module": m, "unrolled": steps}
            continue
        kind = "layer" if node.kind == "layer" else "op"
        body.append(f"{nid} {R.attrs(label=_layer_label(scene, node, root), shape='none', margin=0, cls=kind)};")
        drawn[nid] = {"kind": kind, "name": node.name, "module": node.module, "call": node.call,
                      "calls": node.calls, "shared": node.shared}
    seen = set()

    def source_of(a):
        if id(a) in owner:
            nid = ids[id(owner[id(a)])]
            return exit_.get(nid, nid)
        return ids.get(("in", id(a)))

    for src, dst, _ in scene.edges:
        if not isinstance(src, Tensor):
            continue
        if owner.get(id(src)) is owner[id(dst)]:
            continue                                 # inside one layer
        a = source_of(src)
        b = ids[id(owner[id(dst)])]
        b = entry.get(b, b)
        if a is None or a == b or (a, b) in seen:
            continue
        seen.add((a, b))
        body.append(f"{a} -> {b} {R.attrs(label=R.fmt_shape(src.shape), fontcolor=R.MUTED)};")
        edges.append((a, b, R.fmt_shape(src.shape)))
    for k, t in enumerate(scene.outputs):
        oid = f"o{k}"
        label = R.table([[(scene.names[id(t)] if t.name else ("output" if len(scene.outputs) == 1 else f"output {k}"),)],
                         [(R.fmt_shape(t.shape, t.dtype), R.MUTED)]], "output")
        body.append(f"{oid} {R.attrs(label=label, shape='none', margin=0, cls='output')};")
        drawn[oid] = {"kind": "output", "name": scene.names[id(t)], "tensor": t}
        a = source_of(t)
        if a is not None:
            body.append(f"{a} -> {oid} {R.attrs(label=R.fmt_shape(t.shape), fontcolor=R.MUTED)};")
            edges.append((a, oid, R.fmt_shape(t.shape)))
    for us in users.values():                     # shared weights: dashed links between their users
        for u, v in zip(us, us[1:]):
            a, b = ids[id(u)], ids[id(v)]
            if a != b and (a, b, "shared") not in seen:
                seen.add((a, b, "shared"))
                body.append(f"{a} -> {b} [style=dashed, dir=none, constraint=false, color=\"{R.BORDER['param']}\", "
                            f"label=\"shared weights\", fontcolor=\"{R.BORDER['param']}\", class=\"shared\"];")
    return R.Graph(R.digraph(body, rankdir, title), drawn, edges)
