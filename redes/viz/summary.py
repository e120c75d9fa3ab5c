"""rd.summary(model, input_shape): a table of layers, output shapes, parameters, multiply-adds and memory.

The model runs once on zeros of `input_shape` (in eval mode, restored afterwards) with forward hooks on
every module; multiply-adds are counted from the ops recorded in that forward (matmul, linear, conv:
one multiply-add per weight per output element; recurrent layers: per weight per step and sample),
and the activation memory is the size of every tensor the graph keeps for backward.
"""

from .. import autograd as _ag
from ..tensor import Tensor
from .walk import _flatten, collect


def _prod(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def op_macs(t):
    """Multiply-adds of the op that made tensor t (0 for ops that are not products with weights)."""
    fn = t.grad_fn
    op, ins = fn.op, fn.inputs
    out = int(t.array.size)
    if op == "matmul":
        return out * int(ins[0].shape[-1])
    if op == "linear":
        return out * int(ins[1].shape[-1])
    if op == "bilinear":
        return out * int(ins[-1].shape[-1]) * int(ins[-1].shape[-2]) if len(ins) > 2 else 0
    if op.startswith("conv") and len(ins) > 1 and hasattr(ins[1], "shape") and len(ins[1].shape) >= 3:
        w = ins[1].shape
        if "transpose" in op:
            return int(ins[0].array.size) * _prod(w[1:])
        return out * _prod(w[1:])
    return 0


def _recurrent_macs(module, inputs):
    """Per step and sample, one multiply-add per element of each weight matrix (RNN/LSTM/GRU and cells)."""
    x = next((a for a in inputs if isinstance(a, Tensor)), None)
    if x is None:
        return 0
    weights = sum(int(p.array.size) for p in module.parameters() if p.ndim == 2)
    if hasattr(module, "num_layers"):                   # a sequence layer: (T, B, I), (B, T, I) or (T, I)
        return _prod(x.shape[:-1]) * weights            # (both directions' weights are in the sum)
    return _prod(x.shape[:-1]) * weights               # a cell: (B, I) or (I,)


def _fmt_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024


def _shape_of(out):
    if isinstance(out, Tensor):
        return tuple(out.shape)
    if isinstance(out, (tuple, list)) and out:
        return _shape_of(out[0])
    return None


class ModelSummary:
    """The result of rd.summary: `.rows` (dicts), totals as attributes, and the table as str()."""

    def __init__(self, model_name, rows, totals):
        self.model_name, self.rows = model_name, rows
        for k, v in totals.items():
            setattr(self, k, v)

    def __str__(self):
        head = ("Layer (type)", "Output shape", "Param #", "Trainable", "Mult-adds")
        lines = [(r["label"], str(r["output_shape"]) if r["output_shape"] is not None else "—",
                  r["params_text"], r["trainable"], f"{r['mult_adds']:,}" if r["mult_adds"] else "—") for r in self.rows]
        widths = [max(len(h), *(len(l[i]) for l in lines)) if lines else len(h) for i, h in enumerate(head)]
        align = ("<", "<", ">", "^", ">")

        def fmt(cells):
            return "  ".join(f"{c:{a}{w}}" for c, a, w in zip(cells, align, widths)).rstrip()
        rule = "=" * len(fmt(head))
        out = [rule, fmt(head), rule] + [fmt(l) for l in lines] + [rule]
        out += [f"Total params: {self.total_params:,}",
                f"Trainable params: {self.trainable_params:,}",
                f"Frozen params: {self.frozen_params:,}"]
        if self.shared_params:
            out.append(f"Shared params: {self.shared_params:,} (counted once; rows marked * reuse them)")
        out += [f"Total mult-adds: {self.mult_adds:,}", rule,
                f"Input size: {_fmt_bytes(self.input_bytes)}",
                f"Parameters size: {_fmt_bytes(self.param_bytes)}",
                f"Activations size (kept for backward): {_fmt_bytes(self.activation_bytes)}",
                f"Estimated total: {_fmt_bytes(self.input_bytes + self.param_bytes + self.activation_bytes)}", rule]
        return "\n".join(out)

    __repr__ = __str__


def summary(model, input_shape=None, dtype=None, input_data=None):
    """A table of the model's layers: output shapes, parameter counts, trainable/frozen, multiply-adds, memory.

    Args:
        model: an nn.Module.
        input_shape: the input's shape including the batch dim, e.g. (1, 3); a list of shapes for a model
            with several inputs. The model runs on zeros of this shape.
        dtype: the input dtype (default: the default float dtype; use rd.int64 for token ids).
        input_data: instead of input_shape, the actual input Tensor(s).

    Returns: ModelSummary (print it for the table; totals as attributes: total_params, trainable_params,
        frozen_params, shared_params, mult_adds, param_bytes, activation_bytes, input_bytes).

    Example:
        >>> net = rd.nn.Sequential(rd.nn.Linear(3, 4), rd.nn.ReLU(), rd.nn.Linear(4, 2))
        >>> rd.summary(net, (1, 3)).total_params
        26
    """
    from .. import dtypes as _dt
    from .. import factories
    from ..nn.module import Module
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be an nn.Module, got {type(model).__name__}")
    if input_data is None:
        if input_shape is None:
            raise TypeError("summary: give input_shape (with the batch dim, e.g. (1, 3)) or input_data")
        shapes = [input_shape] if all(isinstance(s, int) for s in input_shape) else list(input_shape)
        for s in shapes:
            if not all(isinstance(d, int) and d >= 0 for d in s):
                raise ValueError(f"summary: input_shape must be a tuple of non-negative ints (or a list of them), "
                                 f"got {input_shape!r}")
        dt = dtype if dtype is not None else _dt.get_default_dtype()
        device = next((p.device for p in model.parameters()), None)       # the model's device
        inputs = [factories.zeros(*s, dtype=dt, device=device) for s in shapes]
    else:
        inputs = [input_data] if isinstance(input_data, Tensor) else list(input_data)

    calls, handles = {}, []

    def hook(m, args, out):
        rec = calls.setdefault(id(m), {"n": 0, "shape": None, "inputs": []})
        rec["n"] += 1
        rec["shape"] = _shape_of(out)
        rec["inputs"].append(args)

    for _, m in model.named_modules():
        handles.append(m.register_forward_hook(hook))
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with _ag.enable_grad():
            out = model(*inputs)
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes:
            m.training = mode
    outputs = [t for t in _flatten(out) if isinstance(t, Tensor) and t.grad_fn is not None]
    tensors = collect(outputs)[0] if outputs else []
    macs, activation_bytes = {}, 0
    for t in tensors:
        if t.grad_fn is None:
            continue
        activation_bytes += int(t.array.nbytes)
        m = t.grad_fn.module
        macs[id(m)] = macs.get(id(m), 0) + op_macs(t)
    recurrent = {}
    for name, m in model.named_modules():
        if hasattr(m, "weight_ih") or hasattr(m, "weight_ih_l0"):
            recurrent[id(m)] = sum(_recurrent_macs(m, a) for a in calls.get(id(m), {"inputs": []})["inputs"])

    def subtree_macs(m):
        return sum(recurrent.get(id(s), macs.get(id(s), 0)) for s in m.modules())

    rows, seen = [], set()
    mods = list(model.named_modules())
    for i, (name, m) in enumerate(mods):
        level = name.count(".") + 1 if name else 0
        own = [p for _, p in m.named_parameters(recurse=False)]
        new = [p for p in own if id(p) not in seen]
        shared = [p for p in own if id(p) in seen]
        seen.update(id(p) for p in own)
        children = next(iter(m.children()), None) is not None
        n_new, n_shared = sum(int(p.array.size) for p in new), sum(int(p.array.size) for p in shared)
        if children and not own:
            total = sum(int(p.array.size) for p in m.parameters())
            params_text = f"({total:,})" if total else "—"
        else:
            params_text = f"{n_new:,}" + (f" +{n_shared:,}*" if n_shared else "") if own else "—"
        sub = list(m.parameters())
        trainable = "" if not sub else ("yes" if all(p.requires_grad for p in sub) else
                                        "no" if not any(p.requires_grad for p in sub) else "partly")
        rec = calls.get(id(m), {"n": 0, "shape": None})
        label = ("  " * (level - 1) + ("└─ " if level else "") + f"{name.split('.')[-1]} " if level else "") \
            + f"({type(m).__name__})" + (f" ×{rec['n']}" if rec["n"] > 1 else "")
        rows.append({"name": name, "type": type(m).__name__, "label": label, "depth": level,
                     "output_shape": rec["shape"], "calls": rec["n"], "params": n_new, "shared_params": n_shared,
                     "params_text": params_text, "trainable": trainable,
                     "mult_adds": subtree_macs(m) if children else recurrent.get(id(m), macs.get(id(m), 0))})
    unique = list(model.parameters())
    totals = {
        "total_params": sum(int(p.array.size) for p in unique),
        "trainable_params": sum(int(p.array.size) for p in unique if p.requires_grad),
        "frozen_params": sum(int(p.array.size) for p in unique if not p.requires_grad),
        "shared_params": sum(r["shared_params"] for r in rows),
        "mult_adds": sum(recurrent.get(id(m), 0) for _, m in mods) + sum(
            v for k, v in macs.items() if k not in recurrent),
        "param_bytes": sum(int(p.array.nbytes) for p in unique) + sum(int(b.array.nbytes) for b in model.buffers()),
        "activation_bytes": activation_bytes,
        "input_bytes": sum(int(t.array.nbytes) for t in inputs if isinstance(t, Tensor)),
    }
    return ModelSummary(type(model).__name__, rows, totals)


def summary_text(model, input_shape=None, dtype=None, input_data=None):
    """The summary table as a string (what `redes summary MODEL` prints)."""
    return str(summary(model, input_shape, dtype, input_data))
