"""rd.onnx.export: a model's forward, recorded op by op, written as an ONNX graph with the `onnx` package.

How it goes (compare redes/compile.py, which records a forward the same way to replay it):
  1. the model is put in eval mode and run once under no_grad with a recorder installed in autograd's
     `state.recorder`: every op (its Function object, holding what forward saved, its inputs and options,
     its output and the module that ran it) is noted, and so are comparisons and logic on Tensors (which run
     without a Function). The layers in converters.MODULE_CONVERTERS are recorded whole, as one entry:
     recurrent layers and cells (ONNX has them as operators), and PReLU, Hardtanh and the SmoothL1 / Huber /
     KL-divergence losses (they compare raw arrays inside, which no recorder sees).
  2. the forward runs a second time on other inputs: one longer along each axis `dynamic_axes` names, and
     with floating values shifted. A dim that differs between the two runs is dynamic: Reshape targets
     write it as 0 (copy) or -1 (infer), so the graph runs at any size. A value an op reads that was made
     outside the recorded ops and differs between the runs (a comparison, a mask built in Python) would be
     frozen as a constant: ExportError. So does a different sequence of ops (control flow on values).
  3. each recorded op becomes ONNX nodes through the converter registered for its class (converters.py);
     parameters and buffers become initializers named by their state_dict names.
An op without a converter raises ExportError naming the op and the module path that ran it.
"""
import sys

import numpy as np

from .. import backend as B
from ..autograd import no_grad, state
from ..tensor import Tensor
from .converters import MODULE_CONVERTERS, converter_for
from .graph import ExportError, Graph


class _Op:
    __slots__ = ("fn", "args", "options", "outs", "module")

    def __init__(self, fn, args, options, outs, module):
        self.fn, self.args, self.options, self.outs, self.module = fn, args, options, outs, module


class _ModuleCall:
    """The Function-like entry of a module recorded whole (an LSTM): its converter is looked up by module class."""

    def __init__(self, module, kwargs):
        self.module, self.kwargs = module, kwargs


class _NoGrad:
    """The entry of a comparison or logical op (Tensor.__gt__, ...), which runs without a Function."""

    def __init__(self, func):
        self.func, self.op = func, getattr(func, "__name__", "op")


class _Recorder:
    def __init__(self):
        self.ops, self.keep, self.paused = [], [], 0       # keep: outputs stay alive, so no id is reused

    def record(self, fn, args, options, out, binary):
        if not self.paused:
            self.ops.append(_Op(fn, args, options, [out], state.module))
            self.keep.append(out)


def _kind(fn):
    """What must agree between the two recordings: the op class, the layer recorded whole, the comparison."""
    return type(fn), id(getattr(fn, "module", None)), getattr(fn, "func", None)


def _flatten(out):
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flatten(o)]
    if out is None:
        return []
    raise ExportError(f"export: the model returned a {type(out).__name__}; expected Tensors (or tuples of them)")


def _record(model, args):
    """Run model(*args) once in no_grad, recording every op; returns (recorder, flat outputs)."""
    rec = _Recorder()
    _tensor = sys.modules[Tensor.__module__]        # redes.tensor (rd.tensor is the factory function)
    nograd = _tensor._nograd

    def noting_nograd(func, *a):          # comparisons and logic run outside Functions: record them too
        out = nograd(func, *a)
        if not rec.paused:
            rec.ops.append(_Op(_NoGrad(func), a, {}, [out], state.module))
            rec.keep.append(out)
        return out

    wrapped = []
    for m in model.modules() if hasattr(model, "modules") else ():
        if isinstance(m, tuple(MODULE_CONVERTERS)):
            wrapped.append(m)
            m.forward = _whole(m, type(m).forward.__get__(m), rec)
    prev, state.recorder = state.recorder, rec
    _tensor._nograd = noting_nograd
    try:
        with no_grad():
            out = model(*args)
    finally:
        state.recorder = prev
        _tensor._nograd = nograd
        for m in wrapped:
            del m.forward
    return rec, _flatten(out)


def _whole(module, forward, rec):
    def run(*args, **kwargs):
        rec.paused += 1
        try:
            out = forward(*args, **kwargs)
        finally:
            rec.paused -= 1
        outs = _flatten(out)
        if not rec.paused:
            rec.ops.append(_Op(_ModuleCall(module, kwargs), args, {}, outs, module))
            rec.keep.extend(outs)
        return out
    return run


def _second_inputs(flat, dynamic):
    """The second recording's inputs: one longer along each dynamic axis (the first slice repeated), floats shifted."""
    out, seen = [], {}
    for i, a in enumerate(flat):
        if id(a) in seen:                       # the same tensor passed twice (self-attention's q, k, v)
            out.append(seen[id(a)])
            continue
        arr = B.to_numpy(a.array)
        for axis in dynamic.get(i, {}):
            arr = np.concatenate([arr, np.take(arr, [0], axis=axis)], axis=axis)
        if arr.dtype.kind == "f":
            arr = arr * 0.75 + 0.125            # finite values stay finite; -inf mask entries stay -inf
        seen[id(a)] = Tensor._wrap(B.xp_of(a.array).asarray(arr))        # on the input's device
        out.append(seen[id(a)])
    return out


def _leaves(args):
    """The Tensors of nested args (a tuple (h0, c0) counts as two inputs), NumPy arrays made Tensors."""
    out = []
    for a in args:
        if isinstance(a, (tuple, list)):
            out.extend(_leaves(a))
        elif isinstance(a, np.ndarray):
            out.append(Tensor._wrap(a))
        elif isinstance(a, Tensor):
            out.append(a)
        else:
            raise TypeError(f"export: args must be Tensors, NumPy arrays or tuples of them, got {type(a).__name__}")
    return out


def _on_cpu(args):
    """args with every Tensor copied to the CPU (nested tuples and lists kept)."""
    return type(args)(_on_cpu(a) if isinstance(a, (tuple, list)) else a.detach().cpu() if isinstance(a, Tensor) else a
                      for a in args)


def _rebuild(args, flat):
    """args with its leaves replaced, in order, by those of `flat` (an iterator)."""
    return tuple(tuple(_rebuild(a, flat)) if isinstance(a, tuple) else list(_rebuild(a, flat))
                 if isinstance(a, list) else next(flat) for a in args)


def _dynamic_map(dynamic_axes, names, who):
    """{position: {axis: dim name}} for the names in `names` (torch accepts {axis: name} or [axes])."""
    out = {}
    for name, axes in (dynamic_axes or {}).items():
        if name not in names:
            continue
        if isinstance(axes, (list, tuple)):
            axes = {int(a): f"{name}_dim{a}" for a in axes}
        elif not isinstance(axes, dict):
            raise TypeError(f"export: dynamic_axes[{name!r}] must be a dict {{axis: name}} or a list of axes, "
                            f"got {type(axes).__name__}")
        out[names.index(name)] = {int(a): str(n) for a, n in axes.items()}
    unknown = [n for n in (dynamic_axes or {}) if n not in who]
    if unknown:
        raise ValueError(f"export: dynamic_axes names {unknown}, which are neither input_names nor output_names "
                         f"({list(who)})")
    return out


def export(model, args, f, input_names=None, output_names=None, dynamic_axes=None, opset_version=17,
           export_params=True, verbose=False):
    """Write `model` as an ONNX file, traced on `args`, with torch.onnx.export's argument names.

    Args:
        model: an nn.Module (or any callable of Tensors made of redes ops). Exported in eval mode.
        args: a Tensor or a tuple of Tensors (integer Tensors for embeddings or class targets); a nested tuple
            such as an LSTM's (h0, c0) gives one graph input per Tensor, in order.
        f: a path or a binary file object.
        input_names / output_names: names of the graph's inputs and outputs (default input_0..., output_0...).
        dynamic_axes: {name: {axis: "dim name"}} or {name: [axes]}: axes left free (e.g. the batch).
        opset_version: ONNX opset, 17 or later (17 has LayerNormalization).
        export_params: must be True (the weights are stored in the file as initializers).
        verbose: print the graph.
    Returns: the onnx.ModelProto written.
    Example:
        >>> model = rd.nn.Sequential(rd.nn.Linear(3, 8), rd.nn.ReLU(), rd.nn.Linear(8, 2))
        >>> proto = rd.onnx.export(model, rd.randn(1, 3), "mlp.onnx", input_names=["x"], output_names=["y"],
        ...                        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
        >>> [node.op_type for node in proto.graph.node]  # doctest: +ELLIPSIS
        [...'Relu'...]
    """
    import onnx
    from onnx import helper

    if not export_params:
        raise ValueError("export: export_params=False is not supported; the weights are always stored in the file")
    if not isinstance(opset_version, int) or not 17 <= opset_version <= onnx.defs.onnx_opset_version():
        raise ValueError(f"export: opset_version must be an int from 17 to {onnx.defs.onnx_opset_version()}, "
                         f"got {opset_version!r}")
    args = (args,) if not isinstance(args, (tuple, list)) else tuple(args)
    home = next((p.device for p in model.parameters()), None) if hasattr(model, "parameters") else None
    if B.multi and (home not in (None, "cpu") or any(isinstance(a, Tensor) and a.device != "cpu" for a in _leaves(args))):
        # another device: traced on the CPU (ONNX stores host arrays), the model moved back afterwards
        model.to("cpu")
        try:
            return export(model, _on_cpu(args), f, input_names, output_names, dynamic_axes, opset_version,
                          export_params, verbose)
        finally:
            if home is not None:
                model.to(home)
    flat = _leaves(args)
    twice = [i for i, a in enumerate(flat) if any(a is b for b in flat[:i])]
    if twice:
        raise ValueError(f"export: input {twice[0]} is the same Tensor as an earlier input; each graph input needs "
                         "its own tensor (for self-attention, wrap the layer so that it takes x once)")
    args = _rebuild(args, iter(flat))
    input_names = list(input_names or [f"input_{i}" for i in range(len(flat))])
    if len(input_names) != len(flat):
        raise ValueError(f"export: {len(input_names)} input_names for {len(flat)} input tensors")

    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    for m, _ in modes:
        m.training = False
    try:
        rec, outs = _record(model, args)
        output_names = list(output_names or [f"output_{i}" for i in range(len(outs))])
        if len(output_names) != len(outs):
            raise ValueError(f"export: {len(output_names)} output_names for {len(outs)} outputs")
        dyn_in = _dynamic_map(dynamic_axes, input_names, input_names + output_names)
        dyn_out = _dynamic_map(dynamic_axes, output_names, input_names + output_names)
        flat2 = _second_inputs(flat, dyn_in)
        rec2, outs2 = _record(model, _rebuild(args, iter(flat2)))
    finally:
        for m, training in modes:
            m.training = training

    if len(rec.ops) != len(rec2.ops) or any(_kind(a.fn) != _kind(b.fn) for a, b in zip(rec.ops, rec2.ops)):
        raise ExportError("export: the model ran other ops on other inputs (its ops depend on the input's values "
                          "or size); export cannot capture that control flow")
    g = Graph(model, opset_version)
    for i, (a, a2, name) in enumerate(zip(flat, flat2, input_names)):
        g.add_input(a, a2, name, dyn_in.get(i, {}))
    for op, op2 in zip(rec.ops, rec2.ops):
        g.convert(op, op2, converter_for(op.fn))
    for i, (t, name) in enumerate(zip(outs, output_names)):
        dims = dict(dyn_out.get(i, {}))
        for axis, (s1, s2) in enumerate(zip(t.shape, outs2[i].shape)):
            if s1 != s2 and axis not in dims:
                dims[axis] = f"{name}_dim{axis}"
        g.add_output(t, name, dims)
    proto = g.to_proto(helper, onnx)
    onnx.checker.check_model(proto)
    if verbose:
        print(helper.printable_graph(proto.graph))
    if hasattr(f, "write"):
        f.write(proto.SerializeToString())
    else:
        from ..io.atomic import atomic_write
        atomic_write(f, lambda tmp: onnx.save(proto, tmp))
    return proto
