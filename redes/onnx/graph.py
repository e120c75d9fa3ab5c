"""The ONNX graph under construction (Graph) and what a converter sees of one recorded op (Call).

Names: graph inputs are the user's input_names; parameters and buffers keep their state_dict names as
initializers; every other value gets `<OpType>_<n>`. A value an op reads is, in this order: the output of an
earlier op, a graph input (also when the op got the input's raw array, or an equal copy of it, such as a class
target cast to intp), a parameter or buffer, or else a constant, which is refused when it differs between the
two recordings (it was computed from the inputs outside redes' ops).
"""
import numpy as np

from ..tensor import Tensor

_BIG = 2 ** 62                    # "to the end" in Slice


class ExportError(RuntimeError):
    """The model cannot be written as ONNX (an op without a converter, a value-dependent shape, ...)."""


def op_name(fn):
    return type(fn.module).__name__ if hasattr(fn, "module") and hasattr(fn, "kwargs") else fn.op


def module_path(model, module):
    if module is None:
        return "the top-level function"
    for name, m in (model.named_modules() if hasattr(model, "named_modules") else ()):
        if m is module:
            return f"'{name}' ({type(m).__name__})" if name else f"the model ({type(m).__name__})"
    return f"a {type(module).__name__} outside the model"


class Graph:
    """The ONNX graph being built: nodes, initializers, and the ONNX name of every recorded Tensor."""

    def __init__(self, model, opset):
        self.model, self.opset = model, opset
        self.nodes, self.inits, self.inputs, self.outputs = [], [], [], []
        self.names, self.arg_data, self.arg_data2, self.count, self.keep = {}, {}, {}, 0, []
        self.input_values = []          # (name, first-run array, second-run array) per input
        self.array_names = {}
        self.params = {}
        if hasattr(model, "named_parameters"):
            for n, p in list(model.named_parameters()) + list(model.named_buffers()):
                self.params.setdefault(id(p.array), (n, p.array))
        self.init_names = {}

    # ---------------------------------------------------------------- building blocks
    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def node(self, op_type, inputs, outputs=1, **attrs):
        from onnx import helper
        outs = [self.fresh(op_type) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, ["" if i is None else i for i in inputs], outs,
                                           name=self.fresh(op_type + "_node"), **attrs))
        return outs[0] if outputs == 1 else outs

    def const(self, array, hint="const"):
        """An initializer holding `array` (parameters and buffers keep their state_dict names, once each)."""
        from onnx import numpy_helper
        array = np.asarray(array)
        key = id(array)
        if key in self.init_names:
            return self.init_names[key]
        pname = self.params.get(key)
        name = pname[0] if pname is not None and pname[1] is array else self.fresh(hint)
        contiguous = array if array.flags.c_contiguous else array.copy(order="C")    # (ascontiguousarray makes 0-d 1-d)
        self.inits.append(numpy_helper.from_array(contiguous, name))
        self.keep.append(array)                # keeps ids unique while the graph is built
        self.init_names[key] = name
        return name

    def ints(self, values):
        return self.const(np.array(list(values), np.int64), "ints")

    def scalar(self, value, dtype):
        return self.const(np.array(value, dtype=dtype), "scalar")

    def reduce(self, op_type, x, axes, keepdims):
        """Reduce* over `axes` (None: all): axes is an attribute before opset 18 (ReduceSum: 13), an input after."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.node(op_type, [x], keepdims=keep)
        axes = [int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]
        if op_type == "ReduceSum" or self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes)], keepdims=keep)
        return self.node(op_type, [x], axes=axes, keepdims=keep)

    # ---------------------------------------------------------------- inputs, ops, outputs
    def add_input(self, t, t2, name, dims):
        from onnx import helper
        self.names[id(t)] = name
        self.arg_data[id(t.array)] = name
        self.arg_data2[id(t2.array)] = (name, t.array)
        self.input_values.append((name, t.array, t2.array))
        shape = [dims.get(a, s) if a in dims else s for a, s in enumerate(t.shape)]
        self.inputs.append(helper.make_tensor_value_info(name, _onnx_type(t.dtype), shape))

    def add_output(self, t, name, dims):
        from onnx import helper
        src = self.names.get(id(t))
        if src is None:
            src = self.const(t.array, "output")
        self.nodes.append(helper.make_node("Identity", [src], [name], name=self.fresh("output")))
        shape = [dims[a] if a in dims else s for a, s in enumerate(t.shape)]
        self.outputs.append(helper.make_tensor_value_info(name, _onnx_type(t.dtype), shape))

    def convert(self, op, op2, conv):
        """Add the nodes of one recorded op (op2: the same op in the second recording) through `conv`."""
        call = Call(self, op, op2)
        fn = op.fn
        if conv is None:
            kind = "" if type(fn).__name__.startswith("_") else f" ({type(fn).__name__})"
            raise ExportError(f"export: op '{op_name(fn)}'{kind}, run by {call.path}, has no ONNX converter; "
                              "exportable ops are listed in docs/exchange.md")
        outs = conv(call)
        outs = [outs] if isinstance(outs, str) else list(outs)
        for t, name in zip(op.outs, outs):
            self.names[id(t)] = name
            self.array_names[id(t.array)] = name        # ops also take results as raw arrays (a where's condition)
            self.keep.append(t.array)

    def value(self, x, x2, call):
        """The ONNX name for an op's input x (x2: the same input in the second recording)."""
        if isinstance(x, Tensor):
            name = self.names.get(id(x))
            if name is not None:
                return name
            if id(x.array) in self.params:
                return self.const(x.array)
            return self._constant(x.array, x2.array if isinstance(x2, Tensor) else x2, call)
        if isinstance(x, np.ndarray):
            name = self.arg_data.get(id(x)) or self.array_names.get(id(x))
            if name is not None:
                return name
            if id(x) in self.params:
                return self.const(x)
            return self._constant(x, x2, call)
        raise ExportError(f"export: {call.what}: cannot use a {type(x).__name__} as a graph value")

    def _constant(self, a, a2, call):
        a2_array = a2.array if isinstance(a2, Tensor) else a2
        linked = self.arg_data2.get(id(a2_array))
        if linked is not None and np.shape(a) == np.shape(linked[1]) and np.array_equal(a, linked[1]):
            # the first run used a value equal to an input (the transformer swaps a causal float mask for its
            # cached twin); the second run used the input itself: so the graph reads the input
            return linked[0]
        for name, v1, v2 in self.input_values:
            # a copy of an input (a class target cast to intp): equal to it in both runs, so it is the input
            if (a2_array is not None and np.shape(a) == v1.shape and np.shape(a2_array) == v2.shape
                    and np.array_equal(a, v1) and np.array_equal(a2_array, v2)):
                return name if np.asarray(a).dtype == v1.dtype else self.node(
                    "Cast", [name], to=_onnx_type(np.asarray(a).dtype))
        if a2 is not None and (np.shape(a) != np.shape(a2) or not np.array_equal(np.asarray(a), np.asarray(a2),
                                                                                  equal_nan=True)):
            raise ExportError(f"export: {call.what} reads a value computed from the inputs outside redes' ops "
                              f"(e.g. a comparison, or a bool mask turned into a float one): it would be frozen as a "
                              f"constant of shape {np.shape(a)}; pass it in the form the op uses (a float mask) or "
                              "compute it with tensor ops")
        return self.const(a)

    def to_proto(self, helper, onnx):
        graph = helper.make_graph(self.nodes, "redes", self.inputs, self.outputs, self.inits)
        used = {i for n in self.nodes for i in n.input}
        unused = [i.name for i in self.inputs if i.name not in used]
        if unused:
            raise ExportError(f"export: input(s) {unused} are not used by any exported op: the forward used them "
                              "outside redes' ops (e.g. a bool mask converted in Python); pass float masks (0 / -inf)")
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)],
                                 producer_name="redes", ir_version=min(onnx.IR_VERSION, 10))


def _onnx_type(dtype):
    from onnx import helper
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


class Call:
    """What a converter sees of one recorded op."""

    def __init__(self, g, op, op2):
        self.g, self.op, self.op2, self.fn, self.opt = g, op, op2, op.fn, op.options
        self.path = module_path(g.model, op.module)
        self.what = f"'{op_name(op.fn)}' in {self.path}"
        self.dtype = op.outs[0].dtype if op.outs else None

    def raw(self, i):
        return self.op.args[i] if i < len(self.op.args) else None

    def x(self, i):
        a = self.raw(i)
        if a is None:
            return None
        a2 = self.op2.args[i] if self.op2 is not None else None
        if isinstance(a, (Tensor, np.ndarray)):
            return self.g.value(a, a2, self)
        if isinstance(a, (bool, int, float, np.generic)):            # a number operand: a constant of the op's dtype
            return self.g.scalar(a, self.dtype if self.dtype.kind != "b" else self.operand_dtype())
        raise ExportError(f"export: {self.what}: input {i} is a {type(a).__name__}")

    def operand_dtype(self):
        """The dtype of the op's first array operand (a comparison's number is compared in it)."""
        return next((np.asarray(a.array if isinstance(a, Tensor) else a).dtype for a in self.op.args
                     if isinstance(a, (Tensor, np.ndarray))), self.dtype)

    def value(self, a, a2):
        return None if a is None else self.g.value(a, a2, self)

    def shape(self, i):
        return tuple(np.shape(self.raw(i)))

    def dyn(self, i):
        if self.op2 is None:
            return (False,) * len(self.shape(i))
        return tuple(s != t for s, t in zip(self.shape(i), np.shape(self.op2.args[i])))

    def out_shape(self, j=0):
        return tuple(self.op.outs[j].shape)

    def out_dyn(self, j=0):
        if self.op2 is None:
            return (False,) * len(self.out_shape(j))
        return tuple(s != t for s, t in zip(self.out_shape(j), self.op2.outs[j].shape))

    def fail(self, why):
        raise ExportError(f"export: {self.what}: {why}")

    def node(self, *a, **k):
        return self.g.node(*a, **k)
