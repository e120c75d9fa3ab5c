"""Walk a recorded graph and draw it at the tensors scale, in both nomenclatures.

    E = (4*x2 + x2**2 + 3*x3) + (x1*x2 + 3*x3)     # the lecture's f, summed
    rd.viz.graph(E)                          # values as nodes, functions on the edges (style="dataflow")
    rd.viz.graph(E, style="functions")       # functions as nodes, values on the edges
    rd.viz.graph(E, scale="numbers")         # every element a node (small graphs)
    rd.viz.graph(model, x, scale="layers")   # a node per layer

The walk follows `grad_fn.inputs` from the outputs with an explicit stack (graphs can be deep) and orders
the nodes by creation (`Tensor._seq`), as backward does. Gradients come from `rd.grad(E, nodes,
retain_graph=True)`, so drawing never consumes the graph.
"""
from .. import autograd as _ag
from .. import backend as B
from ..tensor import Tensor
from . import render as R

STYLES = ("dataflow", "functions", "neurons")
SCALES = ("tensors", "numbers", "layers")
# Argument names of ops whose inputs play different roles (drawn on the edges).
ROLES = {"sub": ("a", "b"), "div": ("num", "den"), "pow": ("base", "exp"), "matmul": ("a", "b"),
         "linear": ("x", "W", "b"), "where": ("cond", "a", "b"), "maximum": ("a", "b"), "minimum": ("a", "b")}
_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}
EXPR_MAX = 16          # auto names like "3*x3" or "x[0]*w[1,2]" stay short; longer ones fall back to the op name

FREED = ("graph: the graph through '{op}' was freed by backward(), so it cannot be drawn. Draw before "
         "calling backward() (rd.viz.graph computes the gradients itself, without consuming the graph), "
         "or call backward(retain_graph=True).")


class Scene:
    """What a drawing needs: tensors in creation order, edges, names, kinds, values and gradients.

    tensors: list of Tensors (leaves first, in order of first use, then ops by _seq)
    edges:   list of (source, consumer Tensor, argument index); source is a Tensor or a constant
    consumers: id(tensor) -> list of consumer Tensors (one entry per use)
    """
    def __init__(self, outputs, tensors, edges):
        self.outputs, self.tensors, self.edges = outputs, tensors, edges
        self.out_ids = {id(t) for t in outputs}
        self.consumers = {id(t): [] for t in tensors}
        for src, dst, _ in edges:
            if isinstance(src, Tensor):
                self.consumers[id(src)].append(dst)
        self.names, self.kinds, self.grads = {}, {}, {}
        self.scalars = False            # the numbers scale: every node is a number, so say "float32", not "scalar"

    def value(self, t):
        return B.to_numpy(t.array)

    def grad(self, t):
        return self.grads.get(id(t))


def collect(outputs):
    """Every tensor reachable from `outputs` through grad_fn.inputs, and the edges between them."""
    seen, stack, nonleaf, leaves = set(), list(outputs), [], []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        fn = t.grad_fn
        if fn is None:
            leaves.append(t)
            continue
        if fn.inputs is None:
            raise RuntimeError(FREED.format(op=fn.op))
        nonleaf.append(t)
        stack.extend(a for a in fn.inputs if isinstance(a, Tensor) and id(a) not in seen)
    nonleaf.sort(key=lambda t: t._seq)
    edges, order, placed = [], [], set()
    for t in nonleaf:
        for i, a in enumerate(t.grad_fn.inputs):
            if a is None:
                continue
            edges.append((a, t, i))
            if isinstance(a, Tensor) and a.grad_fn is None and id(a) not in placed:
                placed.add(id(a))
                order.append(a)                      # leaves in order of first use: x1, x2, x3
    order += [t for t in leaves if id(t) not in placed]   # an output that is itself a leaf
    return order + nonleaf, edges


def as_outputs(E):
    if isinstance(E, Tensor):
        return [E]
    if isinstance(E, (list, tuple)) and E and all(isinstance(t, Tensor) for t in E):
        return list(E)
    raise TypeError(f"graph: expected a Tensor, a list of Tensors or a Module (with its inputs), got {type(E).__name__}")


def build_scene(outputs, grads=None, model=None, names=None, kinds=None):
    """Walk the graph from `outputs` and gather names, kinds and gradients (see `graph` for `grads`)."""
    for i, t in enumerate(outputs):
        if t.grad_fn is None and not t.requires_grad:
            raise ValueError(f"graph: output {i} has no recorded graph (shape {tuple(t.shape)}): it was computed "
                             "under no_grad, or from tensors none of which has requires_grad=True")
    tensors, edges = collect(outputs)
    scene = Scene(outputs, tensors, edges)
    scene.names = name_tensors(tensors, model, names)
    scene.kinds = classify(scene, kinds)
    scene.grads = gradients(scene, grads)
    return scene


# ----------------------------------------------------------------------------------- names and kinds
def parameter_names(tensors, model=None):
    """id(param) -> dotted name ('0.weight'), from `model`, else from the modules recorded on the nodes."""
    from ..nn.module import Parameter
    params = {id(t) for t in tensors if isinstance(t, Parameter)}
    found = {}
    roots = [model] if model is not None else []
    root = _ag.state.root
    if root is not None and root not in roots:
        roots.append(root)
    for t in tensors:
        m = t.grad_fn.module if t.grad_fn is not None else None
        if m is not None and m not in roots:
            roots.append(m)
    for r in roots:
        if not params - found.keys():
            break
        for name, p in r.named_parameters():
            if id(p) in params and id(p) not in found:
                found[id(p)] = name if r is model or r is root else f"{type(r).__name__}.{name}"
    return found


def name_tensors(tensors, model=None, given=None):
    """A label for every tensor: Tensor.name, a parameter's dotted name, 'x' for inputs, or a short expression."""
    from ..nn.module import Parameter
    given = given or {}
    pnames = parameter_names(tensors, model)
    names = {}
    n_inputs = sum(1 for t in tensors if t.grad_fn is None and not isinstance(t, Parameter)
                   and t.name is None and id(t) not in given)
    k = 0
    for t in tensors:
        key = id(t)
        if key in given:
            names[key] = given[key]
        elif t.name is not None:
            names[key] = str(t.name)
        elif t.grad_fn is None:
            if key in pnames:
                names[key] = pnames[key]
            elif isinstance(t, Parameter):
                names[key] = "parameter"
            else:
                names[key] = "x" if n_inputs == 1 else f"x{k}"
                k += 1
        else:
            names[key] = _expression(t, names) or t.grad_fn.op
    return names


def _expression(t, names):
    """'3*x3', 'x1+x2', 'exp(a)' when short, else None (the node is then named after its op)."""
    fn = t.grad_fn
    parts = []
    for a in fn.inputs:
        if a is None:
            continue
        if isinstance(a, Tensor):
            n = names.get(id(a))
            if n is None or n == (a.grad_fn.op if a.grad_fn is not None else None):
                return None                       # an unnamed input: no readable expression
            parts.append(f"({n})" if any(c in n for c in "+-*/@ ") and a.grad_fn is not None else n)
        elif isinstance(a, (int, float)):
            parts.append(R.fmt_number(a))
        else:
            return None
    if fn.op in _INFIX and len(parts) == 2:
        text = _INFIX[fn.op].join(parts)
    elif fn.op == "neg" and len(parts) == 1:
        text = "-" + parts[0]
    elif len(parts) == 1:
        text = f"{fn.op}({parts[0]})"
    else:
        return None
    return text if len(text) <= EXPR_MAX else None


def classify(scene, given=None):
    """input / param / hidden / output for every tensor (given overrides, e.g. for the numbers scale)."""
    from ..nn.module import Parameter
    given = given or {}
    kinds = {}
    for t in scene.tensors:
        key = id(t)
        if key in given:
            kinds[key] = given[key]
        elif key in scene.out_ids:
            kinds[key] = "output"
        elif t.grad_fn is not None:
            kinds[key] = "hidden"
        else:
            kinds[key] = "param" if isinstance(t, Parameter) else "input"
    return kinds


def gradients(scene, grads):
    """id -> gradient array. grads=True: dE/dx of every node via rd.grad (E must be one scalar);
    grads=False: only the `.grad` already held by leaves (and retained intermediates)."""
    outs = scene.outputs
    scalar = len(outs) == 1 and outs[0].array.size == 1 and outs[0].requires_grad
    if grads is None:
        grads = scalar and outs[0].grad_fn is not None
    found = {}
    if grads:
        if not scalar:
            raise ValueError("graph: grads=True needs one scalar output E that requires grad (got "
                             f"{len(outs)} output(s), shapes {[tuple(t.shape) for t in outs]}); pass the loss, "
                             "or grads=False")
        targets = [t for t in scene.tensors if t.requires_grad]
        gs = _ag.grad(outs[0], targets, retain_graph=True, allow_unused=True)
        for t, g in zip(targets, gs):
            if g is not None:
                found[id(t)] = B.to_numpy(g.array)
    else:
        for t in scene.tensors:
            if t.grad is not None:
                found[id(t)] = B.to_numpy(t.grad.array)
    return found


# ----------------------------------------------------------------------------------- drawing
def _node_label(scene, t, max_values):
    kind, name = scene.kinds[id(t)], scene.names[id(t)]
    what = t.grad_fn.op if t.grad_fn is not None else {"param": "parameter", "input": "input"}.get(kind, "leaf")
    shape = str(t.dtype) if scene.scalars and t.ndim == 0 else R.fmt_shape(t.shape, t.dtype)
    rows = [[(name,)], [(shape if what == name else f"{what} · {shape}", R.MUTED)]]
    value = R.fmt_values(scene.value(t), max_values)
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
        n_t = sum(isinstance(a, Tensor) for a in fn.inputs)
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


def _value_label(scene, t, max_values, with_name=True):
    values = R.fmt_values(scene.value(t), max_values)
    if t.ndim == 0:                                  # a number: "x1+x2 = 3"
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
        from .neurons import draw_neurons
        return draw_neurons(build_scene(outputs, grads, model), sample=sample, title=title)
    if scale == "layers":
        from .layers import draw_layers
        return draw_layers(build_scene(outputs, grads, model), model=model, depth=depth, title=title,
                           rankdir=rankdir or "TB")
    if scale == "numbers":
        from .numbers import expand
        outputs, names, kinds = expand(outputs, max_nodes=max_nodes, model=model)
        scene = build_scene(outputs, grads, None, names, kinds)
        scene.scalars = True
    else:
        scene = build_scene(outputs, grads, model)
    draw = draw_dataflow if style == "dataflow" else draw_functions
    return draw(scene, max_values=max_values, title=title, rankdir=rankdir or ("LR" if scale == "numbers" else "TB"))


def _flatten(x):
    if isinstance(x, (tuple, list)):
        for v in x:
            yield from _flatten(v)
    else:
        yield x
