"""The acyclic topology as a first-class model: symbolic inputs, layers called on them, and Model, which runs the
resulting directed acyclic graph (DAG) of layers, Keras-style (the functional API).

    x = nn.Input((8,))                               # a symbolic node: shape without the batch dim
    h = nn.Linear(8, 16)(x, name="encoder").relu()    # calling a layer on a node records a new node
    y1, y2 = nn.Linear(16, 1)(h), nn.Linear(16, 3)(h) # two heads share h
    model = nn.Model(inputs=x, outputs=[y1, y2])      # a Module: trains, saves, loads like any other

Calling any Module with a Node as first argument records the call (Module.__call__ dispatches here) instead of
computing. Tensor methods and operators on nodes (`h.relu()`, `a + b`, `h[:, 0]`) record Lambda nodes. Model
executes the nodes in topological order (their creation order), so a node used by several branches is computed
once per call, and a layer called on several nodes (shared weights) is called once per node.
"""
import itertools
import operator

from .. import autograd as _ag
from .. import dtypes as _dt
from ..functions import cat
from ..tensor import Tensor
from . import module as _module
from .module import Module, ModuleDict

__all__ = ["Input", "Node", "Model", "Lambda", "Add", "Multiply", "Concat"]

_ids = itertools.count()


class Node:
    """A symbolic tensor: the output of `layer(*args, **kwargs)` where some args are Nodes, or a model input.

    Build nodes with `nn.Input(shape)` and by calling layers on nodes; pass them to `nn.Model`.
    `shape` is (None, *dims) for inputs; for other nodes it is inferred on first access (by running the layers
    that lead to it on zeros, in eval mode and without gradients; `dtype` is set then too). The first dim is
    shown as None (the batch), whatever the layer's layout.
    """
    __slots__ = ("layer", "args", "kwargs", "name", "dtype", "id", "_shape")

    def __init__(self, layer, args=(), kwargs=None, name=None, shape=None, dtype=None):
        self.layer, self.args, self.kwargs = layer, tuple(args), kwargs or {}
        self.name, self.dtype, self.id = name, dtype, next(_ids)      # id: creation order, a topological order
        self._shape = shape

    @property
    def parents(self):
        """The Nodes this node's layer reads (arguments, or items of a list/tuple argument)."""
        return [a for a in _flat_args(self.args) if type(a) is Node]

    @property
    def shape(self):
        if self._shape is None and self.layer is not None:
            _infer_shapes([self])
        return self._shape

    def __repr__(self):
        what = "Input" if self.layer is None else type(self.layer).__name__
        if isinstance(self.layer, Lambda):
            what += f"({self.layer.name})"
        return f"<Node {what}{' ' + repr(self.name) if self.name else ''} shape={self._shape}>"   # no inference"

    # -------------------------------------------------------------- tensor operations record Lambda nodes
    def __getattr__(self, name):
        attr = getattr(Tensor, name, None) if not name.startswith("_") else None
        if attr is None:
            raise AttributeError(f"Node has no attribute {name!r} (nor has Tensor, whose methods nodes record)")
        if isinstance(attr, property):
            return Lambda(_Call("attr", name))(self)
        return lambda *args, **kwargs: Lambda(_Call("method", name))(self, *args, **kwargs)

    def __iter__(self):
        raise TypeError("a Node cannot be iterated or unpacked (its length is not known while building); "
                        "index it instead: out, state = node[0], node[1]")

    def __getitem__(self, index):
        return Lambda(_Call("op", "getitem"))(self, index)

    def __neg__(self):
        return Lambda(_Call("op", "neg"))(self)


class _Call:
    """A named tensor operation for Lambda nodes, describable in JSON (so such Models save with rd.save).

    kind 'op': operator.<name>(*args); 'rop': the same with the two operands swapped (2 - x);
    'method': args[0].<name>(*args[1:]); 'attr': args[0].<name> (a property such as .T).
    """
    def __init__(self, kind, name):
        if kind not in ("op", "rop", "method", "attr"):
            raise ValueError(f"Lambda: unknown operation kind {kind!r}")
        if kind in ("op", "rop") and not callable(getattr(operator, name, None)):
            raise ValueError(f"Lambda: operator.{name} does not exist")
        self.kind, self.name = kind, name
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        if self.kind == "op":
            return getattr(operator, self.name)(*args)
        if self.kind == "rop":
            return getattr(operator, self.name)(args[1], args[0])
        if self.kind == "method":
            return getattr(args[0], self.name)(*args[1:], **kwargs)
        return getattr(args[0], self.name)


for _name in ("add", "sub", "mul", "truediv", "matmul", "pow"):
    setattr(Node, f"__{_name}__", lambda self, other, _n=_name: Lambda(_Call("op", _n))(self, other))
    setattr(Node, f"__r{_name}__", lambda self, other, _n=_name: Lambda(_Call("rop", _n))(self, other))


def _flat_args(args):
    for a in args:
        if isinstance(a, (list, tuple)):
            yield from a
        else:
            yield a


def Input(shape, dtype=None, name=None):
    """A symbolic model input of one sample's `shape` (without the batch dim), Keras' Input.

    Args: shape: tuple of ints (None for a size known only at call time). dtype: of the tensor fed in
          (default float32; e.g. rd.int64 for token ids). name: shown by summary() and in error messages.
    Returns: a Node; call layers on it, then build nn.Model(inputs=..., outputs=...).
    Example:
        >>> x = rd.nn.Input((4,))
        >>> x.shape
        (None, 4)
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if not all(d is None or (isinstance(d, int) and d >= 0) for d in shape):
        raise ValueError(f"Input: shape must be a tuple of non-negative ints (or None), got {shape!r}")
    return Node(None, (), None, name=name, shape=(None,) + shape,
                dtype=_dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype())


def symbolic_call(layer, args, kwargs):
    """What Module.__call__ does when its first argument is a Node: record a node (name= names the layer)."""
    name = kwargs.pop("name", None)
    if name is not None and (not isinstance(name, str) or not name.isidentifier()):
        raise ValueError(f"{type(layer).__name__}: name must be a Python identifier (it becomes a state_dict key "
                         f"part), got {name!r}")
    return Node(layer, args, kwargs, name=name)


_module.register_symbolic(Node, symbolic_call)     # Module.__call__ hands symbolic inputs to symbolic_call


def _is_symbolic(args):
    return any(type(a) is Node for a in _flat_args(args))


# ----------------------------------------------------------------------------------- merge and wrapper layers
class Lambda(Module):
    """A parameter-free layer y = fn(*inputs): wraps any function of tensors so it can sit in a Model's graph.

    Args: fn: a function of Tensors (and constants). name: the base of its layer name in a Model (default
          fn's name).
    Example:
        >>> x = rd.nn.Input((3,))
        >>> rd.nn.Model(x, rd.nn.Lambda(lambda t: t * 2)(x))(rd.ones(1, 3))
        tensor([[2., 2., 2.]])
    """
    def __init__(self, fn, name=None):
        if not callable(fn):
            raise TypeError(f"Lambda: fn must be callable, got {type(fn).__name__}")
        super().__init__()
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "lambda").strip("<>")

    def forward(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def extra_repr(self):
        return self.name

    def get_config(self):
        """JSON description for rd.save: only Lambdas of named tensor operations (node ops) can be stored."""
        if not isinstance(self.fn, _Call):
            from ..io.architecture import ArchitectureError
            raise ArchitectureError(f"save: Lambda({self.name}) wraps a Python function, which cannot be stored "
                                    "as JSON; write it as a Module subclass, or save only the weights with "
                                    "rd.save_state_dict(model.state_dict(), path)")
        return {"call": [self.fn.kind, self.fn.name], "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(_Call(*config["call"]), name=config["name"])


def _inputs(layer, xs):
    """Merge layers take tensors as separate arguments or as one list."""
    xs = list(xs[0]) if len(xs) == 1 and isinstance(xs[0], (list, tuple)) else list(xs)
    if not xs:
        raise ValueError(f"{layer}: expected at least one input")
    return xs


class Add(Module):
    """y = x1 + x2 + ... (same shapes, or broadcastable): merges branches, e.g. a skip connection in a Model.

    Example:
        >>> rd.nn.Add()(rd.ones(2), rd.ones(2))
        tensor([2., 2.])
    """
    def forward(self, *xs):
        if len(xs) == 1 and _is_symbolic(xs):
            return symbolic_call(self, xs, {})
        xs = _inputs("Add", xs)
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Multiply(Module):
    """y = x1 * x2 * ... elementwise (e.g. a gate from one branch applied to another)."""
    def forward(self, *xs):
        if len(xs) == 1 and _is_symbolic(xs):
            return symbolic_call(self, xs, {})
        xs = _inputs("Multiply", xs)
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(Module):
    """y = cat([x1, x2, ...], dim): joins branches along a dim (channels: dim=1), as in Inception.

    Example:
        >>> rd.nn.Concat(dim=1)(rd.ones(2, 3), rd.zeros(2, 1)).shape
        (2, 4)
    """
    def __init__(self, dim=1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs):
        if len(xs) == 1 and _is_symbolic(xs):
            return symbolic_call(self, xs, {})
        return cat(_inputs("Concat", xs), self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


# ----------------------------------------------------------------------------------- the model
def _ancestors(outputs):
    """Every node the outputs depend on (inputs included)."""
    seen, stack = {}, list(outputs)
    while stack:
        node = stack.pop()
        if node.id not in seen:
            seen[node.id] = node
            stack.extend(node.parents)
    return seen


def _base_name(layer):
    return layer.name if isinstance(layer, Lambda) else type(layer).__name__.lower()


class Model(Module):
    """A model defined by its graph: any DAG of layers from `inputs` to `outputs` (several of each allowed).

    The layers are children in `self.layers` (a ModuleDict), under the names given with `layer(node, name=...)`
    or automatic ones, `<class name lowercased>_<k>` numbered in order of first use (linear_0, linear_1,
    conv2d_0, ...): state_dict keys are `layers.<name>.<parameter>`, stable as long as the graph is built in
    the same order. Execution follows the nodes' creation order (a topological order): every node runs once
    per call, however many branches read it.

    Args:
        inputs: an input Node (nn.Input) or a list of them; the model is called with tensors in this order.
        outputs: a Node or a list/tuple of Nodes; the model returns a Tensor or a tuple, likewise.
    Example:
        >>> a, b = rd.nn.Input((3,)), rd.nn.Input((2,))
        >>> h = rd.nn.Concat(dim=1)(rd.nn.Linear(3, 4)(a), b)
        >>> model = rd.nn.Model([a, b], [rd.nn.Linear(6, 1)(h), h])
        >>> [tuple(t.shape) for t in model(rd.randn(5, 3), rd.randn(5, 2))]
        [(5, 1), (5, 6)]
    """
    def __init__(self, inputs, outputs):
        super().__init__()
        self._single_output = type(outputs) is Node
        inputs = [inputs] if type(inputs) is Node else list(inputs)
        outputs = [outputs] if type(outputs) is Node else list(outputs)
        for what, nodes in (("inputs", inputs), ("outputs", outputs)):
            for i, n in enumerate(nodes):
                if type(n) is not Node:
                    raise TypeError(f"Model: {what}[{i}] must be a Node (from nn.Input or a layer called on one), "
                                    f"got {type(n).__name__}")
        for i, n in enumerate(inputs):
            if n.layer is not None:
                raise ValueError(f"Model: inputs[{i}] is the output of {type(n.layer).__name__}, not an nn.Input")
        if len({n.id for n in inputs}) != len(inputs):
            raise ValueError("Model: the same Input is listed twice in inputs")
        nodes = _ancestors(outputs)
        given = {n.id for n in inputs}
        for n in nodes.values():
            if n.layer is None and n.id not in given:
                raise ValueError(f"Model: the outputs depend on an Input ({n.name or 'unnamed'}, shape {n.shape}) "
                                 "that is not listed in inputs")
        order = sorted((n for n in nodes.values() if n.layer is not None), key=lambda n: n.id)
        self.layers = ModuleDict(self._name_layers(order))
        slot = {n.id: i for i, n in enumerate(inputs + order)}
        self._inputs, self._outputs, self._order = inputs, outputs, order
        self._program = [(n.layer, _compile(n.args, slot), n.kwargs) for n in order]
        self._output_slots = [slot[n.id] for n in outputs]

    @staticmethod
    def _name_layers(order):
        """name -> layer, each distinct layer once, in order of first use; given names first, then automatic."""
        names, taken = {}, {}
        for n in order:
            if n.name is not None:
                if n.name in taken and taken[n.name] is not n.layer:
                    raise ValueError(f"Model: two different layers are both named {n.name!r}")
                if id(n.layer) in names and names[id(n.layer)] != n.name:
                    raise ValueError(f"Model: one {type(n.layer).__name__} is named both "
                                     f"{names[id(n.layer)]!r} and {n.name!r}")
                names[id(n.layer)], taken[n.name] = n.name, n.layer
        counters, result = {}, {}
        for n in order:
            if id(n.layer) not in names:
                base = _base_name(n.layer)
                k = counters.get(base, 0)
                while f"{base}_{k}" in taken:
                    k += 1
                counters[base] = k + 1
                names[id(n.layer)] = f"{base}_{k}"
                taken[f"{base}_{k}"] = n.layer
            result.setdefault(names[id(n.layer)], n.layer)
        return result

    def forward(self, *inputs):
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)) and len(self._inputs) > 1:
            inputs = tuple(inputs[0])
        if len(inputs) != len(self._inputs):
            names = ", ".join(n.name or f"input {i}" for i, n in enumerate(self._inputs))
            raise TypeError(f"Model: expected {len(self._inputs)} input(s) ({names}), got {len(inputs)}")
        values = list(inputs) + [None] * len(self._program)
        for i, (x, node) in enumerate(zip(inputs, self._inputs)):
            _check_input(x, node, i)
        k = len(inputs)
        for layer, args, kwargs in self._program:
            values[k] = layer(*[_fetch(a, values) for a in args], **kwargs)
            k += 1
        if self._single_output:
            return values[self._output_slots[0]]
        return tuple(values[s] for s in self._output_slots)

    def get_config(self):
        """The graph as JSON (for rd.save): inputs, layers by name, nodes as (layer, arguments), outputs."""
        from ..io.architecture import to_config
        index = {n.id: i for i, n in enumerate(self._inputs + self._order)}
        name_of = {id(m): k for k, m in self.layers.items()}
        return {"inputs": [{"shape": list(n._shape[1:]), "dtype": str(n.dtype), "name": n.name} for n in self._inputs],
                "layers": {k: to_config(m) for k, m in self.layers.items()},
                "nodes": [{"layer": name_of[id(n.layer)], "args": _encode(list(n.args), index),
                           "kwargs": {k: _encode(v, index) for k, v in n.kwargs.items()}} for n in self._order],
                "outputs": [index[n.id] for n in self._outputs], "single_output": self._single_output}

    @classmethod
    def from_config(cls, config):
        """Rebuild the graph from get_config's description (same layer names, so the same state_dict keys)."""
        from ..io.architecture import from_config
        layers = {k: from_config(c) for k, c in config["layers"].items()}
        nodes = [Input(tuple(i["shape"]), i["dtype"], i["name"]) for i in config["inputs"]]
        inputs = list(nodes)
        for spec in config["nodes"]:
            kwargs = {k: _decode(v, nodes) for k, v in spec["kwargs"].items()}
            nodes.append(symbolic_call(layers[spec["layer"]], _decode(spec["args"], nodes),
                                       dict(kwargs, name=spec["layer"])))
        outputs = [nodes[i] for i in config["outputs"]]
        return cls(inputs, outputs[0] if config["single_output"] else outputs)

    def summary(self):
        """A table of the layers in execution order: name (type), output shape, parameter count; returns the text."""
        _infer_shapes(self._outputs)                        # every node's shape, in one pass
        rows = [("Layer (type)", "Output shape", "Params")]
        rows += [(f"{n.name or 'input'} (Input)", str(n.shape), "0") for n in self._inputs]
        name_of = {id(m): k for k, m in self.layers.items()}
        counted = set()
        for n in self._order:
            params = sum(p.numel() for p in n.layer.parameters()) if id(n.layer) not in counted else 0
            counted.add(id(n.layer))
            rows.append((f"{name_of[id(n.layer)]} ({type(n.layer).__name__})", str(n._shape), f"{params:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        line = "-" * (sum(widths) + 4)
        text = [line] + [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows[:1]] + [line]
        text += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows[1:]]
        total = self.num_parameters()
        text += [line, f"Total params: {total:,}  (trainable: {self.num_parameters(trainable_only=True):,})"]
        return "\n".join(text)


def _encode(v, index):
    """A node argument as JSON: nodes by index, slices, tuples; other values as rd.save stores them."""
    if type(v) is Node:
        return {"__node__": index[v.id]}
    if isinstance(v, slice):
        return {"__slice__": [_encode(v.start, index), _encode(v.stop, index), _encode(v.step, index)]}
    if v is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(v, tuple):
        return {"__tuple__": [_encode(x, index) for x in v]}
    if isinstance(v, list):
        return [_encode(x, index) for x in v]
    from ..io.architecture import _value
    return _value(v, "Model node argument", Module)


def _decode(v, nodes):
    if isinstance(v, list):
        return [_decode(x, nodes) for x in v]
    if isinstance(v, dict):
        if "__node__" in v:
            return nodes[v["__node__"]]
        if "__slice__" in v:
            return slice(*[_decode(x, nodes) for x in v["__slice__"]])
        if "__ellipsis__" in v:
            return Ellipsis
        if "__tuple__" in v:
            return tuple(_decode(x, nodes) for x in v["__tuple__"])
    from ..io.architecture import _restore
    return _restore(v, ("redes",))


def _compile(args, slot):
    """Arguments as ('node', slot) / ('list', [...]) / ('const', value), resolved at each call by _fetch."""
    out = []
    for a in args:
        if type(a) is Node:
            out.append((0, slot[a.id]))
        elif isinstance(a, (list, tuple)) and any(type(b) is Node for b in a):
            out.append((1, [(0, slot[b.id]) if type(b) is Node else (2, b) for b in a]))
        else:
            out.append((2, a))
    return out


def _fetch(arg, values):
    kind, v = arg
    if kind == 0:
        return values[v]
    if kind == 1:
        return [_fetch(b, values) for b in v]
    return v


def _check_input(x, node, i):
    if not isinstance(x, Tensor):
        raise TypeError(f"Model: input {i} ({node.name or 'unnamed'}) must be a Tensor, got {type(x).__name__}")
    want = node._shape[1:]
    got = tuple(x.shape)
    if len(got) != len(want) + 1 or any(w is not None and w != g for w, g in zip(want, got[1:])):
        raise ValueError(f"Model: input {i} ({node.name or 'unnamed'}) expects shape {node._shape} "
                         f"(None = any size), got {got}")


def _infer_shapes(targets):
    """Run the layers leading to the target nodes on zeros (batch of 1, eval mode, no gradients) and record each node's
    output shape; modules are put back in their previous train/eval mode."""
    nodes = sorted(_ancestors(targets).values(), key=lambda n: n.id)
    if any(n.layer is None and None in n._shape[1:] for n in nodes):
        return                                                   # sizes known only at call time
    modules = {id(m): m for n in nodes if n.layer is not None for m in n.layer.modules()}
    modes = {k: m.training for k, m in modules.items()}
    from ..factories import zeros
    values = {}
    try:
        for m in modules.values():
            m.training = False
        with _ag.no_grad():
            for n in nodes:
                if n.layer is None:
                    values[n.id] = zeros(1, *n._shape[1:], dtype=n.dtype)
                    continue
                slot = {p.id: p.id for p in n.parents}
                out = n.layer(*[_fetch(a, values) for a in _compile(n.args, slot)], **n.kwargs)
                values[n.id] = out
                n._shape = _shape_of(out)
                n.dtype = out.dtype if isinstance(out, Tensor) else None
    finally:
        for k, m in modules.items():
            m.training = modes[k]


def _shape_of(out):
    if isinstance(out, Tensor):
        return (None,) + tuple(out.shape[1:]) if out.ndim else ()
    if isinstance(out, (tuple, list)):
        return tuple(_shape_of(o) for o in out)
    return None
