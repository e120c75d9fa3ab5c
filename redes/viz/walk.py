"""From outputs to a Scene: the tensors of a recorded graph in creation order, their names, kinds and gradients.

Every drawing (rd.viz.graph at each scale and style, rd.viz.summary) starts here; graph.py draws a Scene. The walk
follows `grad_fn.inputs` from the outputs with an explicit stack (graphs can be deep) and orders the nodes by
creation (`Tensor._seq`), as backward does. Gradients come from `rd.grad(E, nodes, retain_graph=True)`, so
drawing never consumes the graph; after backward() they are the `.grad` that backward left.
"""
from .. import autograd as _ag
from .. import backend as B
from ..tensor import Tensor
from . import render as R

_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}
EXPR_MAX = 16          # auto names like "3*x3" or "x[0]*w[1,2]" stay short; longer ones fall back to the op name

FREED_VALUES = ("graph: {what} draws every intermediate value, and backward() freed the values of '{op}'. Draw "
                "before calling backward(), or call backward(retain_graph=True).")


class Scene:
    """What a drawing needs: tensors in creation order, edges, names, kinds, values and gradients.

    tensors: list of Tensors (leaves first, in order of first use, then ops by _seq)
    edges:   list of (source, consumer Tensor, argument index); source is a Tensor or a constant
    consumers: id(tensor) -> list of consumer Tensors (one entry per use)
    inputs:  id(tensor) -> its op's inputs as drawn (a node freed by backward stands for its output)
    freed:   ids of the stand-ins for intermediate tensors that backward() let go (drawn without a value)
    """
    def __init__(self, outputs, tensors, edges, inputs=None, freed=()):
        self.outputs, self.tensors, self.edges = outputs, tensors, edges
        self.inputs = inputs if inputs is not None else {id(t): t.grad_fn.inputs for t in tensors if t.grad_fn}
        self.freed = set(freed)
        self.out_ids = {id(t) for t in outputs}
        self.consumers = {id(t): [] for t in tensors}
        for src, dst, _ in edges:
            if isinstance(src, Tensor):
                self.consumers[id(src)].append(dst)
        self.names, self.kinds, self.grads = {}, {}, {}
        self.scalars = False            # the numbers scale: every node is a number, so say "float32", not "scalar"

    def value(self, t):
        return None if id(t) in self.freed else B.to_numpy(t.array)

    def grad(self, t):
        return self.grads.get(id(t))


def _freed_stand_in(node):
    """A Tensor standing for a node's output that backward() let go: it has the node, not the values."""
    t = Tensor._wrap(B.xp.empty(0))
    t.grad_fn, t.requires_grad = node, True
    return t


def collect(outputs):
    """Every tensor reachable from `outputs` through grad_fn.inputs, and the edges between them.

    Returns (tensors, edges, inputs, freed): see Scene. After backward(), a node's input made by another node is
    that node (torch keeps the graph, not the values): it is drawn as its output tensor while someone still holds
    it (node.out), else as a stand-in without values.
    """
    stand_ins, inputs = {}, {}

    def resolve(a):
        if not isinstance(a, _ag.Function):
            return a
        out = getattr(a, "out", None)
        t = out() if out is not None else None
        if t is not None and t.grad_fn is a:
            return t
        if id(a) not in stand_ins:
            stand_ins[id(a)] = _freed_stand_in(a)
        return stand_ins[id(a)]

    seen, stack, nonleaf, leaves = set(), list(outputs), [], []
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.grad_fn is None:
            leaves.append(t)
            continue
        nonleaf.append(t)
        ins = inputs[id(t)] = [resolve(a) for a in t.grad_fn.inputs]
        stack.extend(a for a in ins if isinstance(a, Tensor) and id(a) not in seen)
    order_key = _creation_keys(nonleaf, inputs, {id(t) for t in stand_ins.values()})
    nonleaf.sort(key=lambda t: order_key[id(t)])
    edges, order, placed = [], [], set()
    for t in nonleaf:
        for i, a in enumerate(inputs[id(t)]):
            if a is None:
                continue
            edges.append((a, t, i))
            if isinstance(a, Tensor) and a.grad_fn is None and id(a) not in placed:
                placed.add(id(a))
                order.append(a)                      # leaves in order of first use: x1, x2, x3
    order += [t for t in leaves if id(t) not in placed]   # an output that is itself a leaf
    return order + nonleaf, edges, inputs, [id(t) for t in stand_ins.values()]


def _creation_keys(nonleaf, inputs, freed):
    """Sort keys in creation order: _seq, and for a stand-in (its _seq is gone) just above its inputs' keys,
    which still sorts it before every tensor made from it."""
    keys = {id(t): t._seq for t in nonleaf if id(t) not in freed}
    for start in nonleaf:
        stack = [start]
        while stack:
            t = stack[-1]
            if id(t) in keys:
                stack.pop()
                continue
            todo = [a for a in inputs[id(t)] if isinstance(a, Tensor) and a.grad_fn is not None and id(a) not in keys]
            if todo:
                stack.extend(todo)
                continue
            keys[id(t)] = max((keys.get(id(a), a._seq) for a in inputs[id(t)] if isinstance(a, Tensor)),
                              default=0) + 0.5
            stack.pop()
    return keys


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
    tensors, edges, inputs, freed = collect(outputs)
    scene = Scene(outputs, tensors, edges, inputs, freed)
    scene.names = name_tensors(tensors, model, names, inputs)
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


def name_tensors(tensors, model=None, given=None, inputs=None):
    """A label for every tensor: Tensor.name, a parameter's dotted name, 'x' for inputs, or a short expression.

    Unnamed inputs are x1, x2, ... in the order they were created (one alone is just x), as the lecture writes
    f(x1, x2, x3). `inputs`: id(tensor) -> its op's inputs as drawn (collect's), else grad_fn.inputs.
    """
    from ..nn.module import Parameter
    given = given or {}
    inputs = inputs if inputs is not None else {}
    pnames = parameter_names(tensors, model)
    names = {}
    unnamed = [t for t in tensors if t.grad_fn is None and not isinstance(t, Parameter) and t.name is None
               and id(t) not in given and id(t) not in pnames]
    numbers = {id(t): k for k, t in enumerate(sorted(unnamed, key=lambda t: t._seq), start=1)}
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
                names[key] = "x" if len(unnamed) == 1 else f"x{numbers[key]}"
        else:
            names[key] = _expression(t, names, inputs.get(key, t.grad_fn.inputs)) or t.grad_fn.op
    return names


def _expression(t, names, ins):
    """'3*x3', 'x1+x2', 'exp(a)' when short, else None (the node is then named after its op)."""
    fn = t.grad_fn
    parts = []
    for a in ins:
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
    if grads is None:           # after backward() (saved values freed): the .grad that backward left
        grads = scalar and outs[0].grad_fn is not None and outs[0].grad_fn.arrays is not None
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


def _flatten(x):
    if isinstance(x, (tuple, list)):
        for v in x:
            yield from _flatten(v)
    else:
        yield x
