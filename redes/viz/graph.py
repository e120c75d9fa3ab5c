"""Walk a recorded graph and draw it at the tensors scale, in both nomenclatures.

    E = (4*x2 + x2**2 + 3*x3) + (x1*x2 + 3*x3)     # the lecture's f, summed
    rd.viz.graph(E)                          # values as nodes, functions on the edges (style="dataflow")
    rd.viz.graph(E, style="functions")       # functions as nodes, values on the edges
    rd.viz.graph(E, scale="numbers")         # every element a node (small graphs)
    rd.viz.graph(model, x, scale="layers")   # a node per layer

walk.py turns the outputs into a Scene (tensors in creation order, names, kinds, gradients); this file draws it.
After backward() the graph is still drawn: the values of the tensors still alive and the gradients backward left.
"""
from .. import autograd as _ag
from .. import backend as B
from ..tensor import Tensor
from . import render as R
from .layers import draw_layers
from .neurons import draw_neurons
from .numbers import expand
from .walk import FREED_VALUES, _flatten, as_outputs, build_scene

STYLES = ("dataflow", "functions", "neurons")
SCALES = ("tensors", "numbers", "layers")
# Argument names of ops whose inputs play different roles (drawn on the edges).
ROLES = {"sub": ("a", "b"), "div": ("num", "den"), "pow": ("base", "exp"), "matmul": ("a", "b"),
         "linear": ("x", "W", "b"), "where": ("cond", "a", "b"), "maximum": ("a", "b"), "minimum": ("a", "b")}

# ----------------------------------------------------------------------------------- drawing
def _node_label(scene, t, max_values):
    kind, name = scene.kinds[id(t)], scene.names[id(t)]
    what = t.grad_fn.op if t.grad_fn is not None else {"param": "parameter", "input": "input"}.get(kind, "leaf")
    shape = str(t.dtype) if scene.scalars and t.ndim == 0 else R.fmt_shape(t.shape, t.dtype)
    if id(t) in scene.freed:
        shape = "freed by backward"
    rows = [[(name,)], [(shape if what == name else f"{what} · {shape}", R.MUTED)]]
    value = _values(scene, t, max_values)
    g = scene.grad(t)
    if g is None:
        rows.append([(value,)])
    else:
        glines = R.fmt_values(g, max_values)
        rows.append([(value,), (["grad " + glines[0]] + glines[1:], R.GRAD_COLOR)])
    return R.table(rows, kind)


def _edge_label(op, index, n_tensor_inputs):
    sym = R.SYMBOL.get(op, op)
    roles = ROLES.get(op)
    if roles and n_tensor_inputs > 1 and index < len(roles):
        return f"{sym} {roles[index]}"
    return sym


def draw_dataflow(scene, max_values=16, title=None, rankdir="TB"):
    """Values as nodes, functions as the (labelled) edges between them."""
    ids = {id(t): f"n{i}" for i, t in enumerate(scene.tensors)}
    body, nodes, edges = [], {}, []
    for t in scene.tensors:
        nid, kind = ids[id(t)], scene.kinds[id(t)]
        nodes[nid] = {"kind": kind, "name": scene.names[id(t)], "tensor": t}
        body.append(f"{nid} {R.attrs(label=_node_label(scene, t, max_values), shape='none', margin=0, cls=kind)};")
    c = 0
    for src, dst, i in scene.edges:
        fn = dst.grad_fn
        n_t = sum(isinstance(a, Tensor) for a in scene.inputs[id(dst)])
        label = _edge_label(fn.op, i, n_t)
        if isinstance(src, Tensor):
            a = ids[id(src)]
        else:
            a = f"c{c}"
            c += 1
            text = R.fmt_values(B.to_numpy(src) if hasattr(src, "shape") else src, max_values)
            style = R.attrs(label=" ".join(text), shape="ellipse", style="filled", fillcolor=R.FILL["const"],
                            color=R.BORDER["const"], fontsize=10, cls="const")
            body.append(f"{a} {style};")
            nodes[a] = {"kind": "const", "name": " ".join(text), "tensor": None}
        body.append(f"{a} -> {ids[id(dst)]} {R.attrs(label=label, fontcolor=R.MUTED)};")
        edges.append((a, ids[id(dst)], label))
    return R.Graph(R.digraph(body, rankdir, title), nodes, edges)


def _values(scene, t, max_values):
    """The value lines of a node: none for a tensor that backward() let go."""
    v = scene.value(t)
    return [""] if v is None else R.fmt_values(v, max_values)


def _value_label(scene, t, max_values, with_name=True):
    values = _values(scene, t, max_values)
    if id(t) in scene.freed:                         # a stand-in: its name and op only
        lines = [scene.names[id(t)]] if with_name else [t.grad_fn.op]
    elif t.ndim == 0:                                # a number: "x1+x2 = 3"
        lines = [(scene.names[id(t)] + " = " if with_name else "") + values[0]]
    else:
        lines = ([scene.names[id(t)]] if with_name else []) + [R.fmt_shape(t.shape, t.dtype)] + values
    text = "<BR/>".join(R.esc(x) for x in lines)
    g = scene.grad(t)
    if g is not None:
        glines = R.fmt_values(g, max_values)
        text += f'<BR/><FONT COLOR="{R.GRAD_COLOR}">' + "<BR/>".join(R.esc(x) for x in ["grad " + glines[0]] + glines[1:]) + "</FONT>"
    return f"<{text}>"


def draw_functions(scene, max_values=16, title=None, rankdir="TB"):
    """Functions as nodes, values (with gradients) on the edges: the inverse nomenclature."""
    body, nodes, edges = [], {}, []
    ids = {}
    for i, t in enumerate(scene.tensors):
        key, kind = id(t), scene.kinds[id(t)]
        if t.grad_fn is None:                                    # a leaf: where a value enters
            nid = ids[key] = f"s{i}"
            body.append(f"{nid} {R.attrs(label=scene.names[key], shape='plaintext', fontcolor=R.BORDER[kind], cls=kind)};")
            nodes[nid] = {"kind": kind, "name": scene.names[key], "tensor": t}
        else:
            nid = ids[key] = f"f{i}"
            op = t.grad_fn.op
            sym = R.SYMBOL.get(op, op)
            label = (f'<<FONT POINT-SIZE="15"><B>{R.esc(sym)}</B></FONT><BR/>'
                     f'<FONT POINT-SIZE="8" COLOR="{R.MUTED}">{R.esc(op)}</FONT>>')
            shape = "circle" if len(sym) <= 2 else "box"
            style = R.attrs(label=label, shape=shape, style="rounded,filled", fillcolor=R.FILL["op"],
                            color=R.BORDER["op"], cls="op")
            body.append(f"{nid} {style};")
            nodes[nid] = {"kind": "op", "name": op, "tensor": t}
    c = 0
    for src, dst, i in scene.edges:
        if isinstance(src, Tensor):
            a = ids[id(src)]
            label = _value_label(scene, src, max_values, with_name=src.grad_fn is not None)   # leaves: named at the source
        else:
            a = f"c{c}"
            c += 1
            text = " ".join(R.fmt_values(B.to_numpy(src) if hasattr(src, "shape") else src, max_values))
            body.append(f"{a} {R.attrs(label=text, shape='plaintext', fontcolor=R.MUTED, cls='const')};")
            nodes[a] = {"kind": "const", "name": text, "tensor": None}
            label = None
        body.append(f"{a} -> {ids[id(dst)]} {R.attrs(label=label)};")
        edges.append((a, ids[id(dst)], label))
    for k, t in enumerate(scene.outputs):                        # where the outputs leave
        if t.grad_fn is None:
            continue
        sink = f"o{k}"
        body.append(f"{sink} {R.attrs(label=scene.names[id(t)], shape='plaintext', fontcolor=R.BORDER['output'], cls='output')};")
        nodes[sink] = {"kind": "output", "name": scene.names[id(t)], "tensor": t}
        body.append(f"{ids[id(t)]} -> {sink} {R.attrs(label=_value_label(scene, t, max_values, with_name=False))};")
        edges.append((ids[id(t)], sink, None))
    return R.Graph(R.digraph(body, rankdir, title), nodes, edges)


# ----------------------------------------------------------------------------------- entry point
def graph(E, *inputs, style="dataflow", scale="tensors", grads=None, model=None, max_values=16,
          max_nodes=500, depth=None, sample=0, title=None, rankdir=None):
    """Draw a recorded computation graph; returns a `Graph` (`.source` DOT text, `.save('g.png')`).

    Args:
        E: the output Tensor (e.g. the loss E), a list of output Tensors, or a Module followed by its
            inputs (`graph(model, x)` runs the forward and draws it).
        style: "dataflow" (values as nodes, functions as edges), "functions" (functions as nodes, values
            on the edges) or "neurons" (a small dense network as neurons and synapses).
        scale: "tensors" (one node per tensor op), "numbers" (every element a node: small graphs only)
            or "layers" (one node per module call).
        grads: show dE/dx at every node. Default: True when E is one scalar that requires grad. The
            gradients are computed with rd.grad(..., retain_graph=True): the graph stays usable.
            False: show only the `.grad` that leaves already hold.
        model: the Module that made E (names its parameters; the root of scale="layers").
        max_values: tensors with at most this many elements show their values, larger ones statistics.
        max_nodes: scale="numbers" refuses graphs that expand to more scalar nodes than this.
        depth: scale="layers": collapse to modules this deep (1 = the model's children); None = leaf modules.
        sample: style="neurons": which batch row's activations to show.

    Example:
        >>> x1 = rd.tensor(1.0, requires_grad=True); x1.name = "x1"
        >>> g = rd.viz.graph(x1 * 3)
        >>> "x1" in g.source
        True
    """
    if style not in STYLES:
        raise ValueError(f"graph: style must be one of {STYLES}, got {style!r}")
    if scale not in SCALES:
        raise ValueError(f"graph: scale must be one of {SCALES}, got {scale!r}")
    from ..nn.module import Module
    if isinstance(E, Module):
        model = E
        if not inputs:
            raise TypeError("graph(model, *inputs): give the model's inputs too, e.g. graph(model, x)")
        xs = [t if isinstance(t, Tensor) else Tensor(t) for t in inputs]
        # float inputs join the graph, so every op on them is recorded (a layer's own reshapes included)
        xs = [x.detach().requires_grad_() if x.grad_fn is None and x.dtype.kind == "f" and not x.requires_grad
              else x for x in xs]
        for x, given in zip(xs, inputs):
            x.name = getattr(given, "name", None)
        with _ag.enable_grad():
            E = E(*xs)
        if isinstance(E, tuple):
            E = [t for t in _flatten(E) if isinstance(t, Tensor)]
    elif inputs:
        raise TypeError("graph: extra positional arguments are only taken after a Module: graph(model, x)")
    outputs = as_outputs(E)
    if style == "neurons":
        scene = build_scene(outputs, grads, model)
        if scene.freed:
            op = next(t.grad_fn.op for t in scene.tensors if id(t) in scene.freed)
            raise RuntimeError(FREED_VALUES.format(what="style='neurons'", op=op))
        return draw_neurons(scene, sample=sample, title=title)
    if scale == "layers":
        return draw_layers(build_scene(outputs, grads, model), model=model, depth=depth, title=title,
                           rankdir=rankdir or "TB")
    if scale == "numbers":
        outputs, names, kinds = expand(outputs, max_nodes=max_nodes, model=model)
        scene = build_scene(outputs, grads, None, names, kinds)
        scene.scalars = True
    else:
        scene = build_scene(outputs, grads, model)
    draw = draw_dataflow if style == "dataflow" else draw_functions
    return draw(scene, max_values=max_values, title=title, rankdir=rankdir or ("LR" if scale == "numbers" else "TB"))
