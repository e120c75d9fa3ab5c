"""One converter per redes op (and per layer exported whole): recorded op -> ONNX nodes.

A converter gets a Call `c` (the recorded op: c.fn is the Function object with what its forward saved,
c.opt its options, c.x(i) the ONNX name of input i, c.shape(i) / c.dyn(i) its shape and which dims are
dynamic) and returns the ONNX name(s) of the op's output(s). `CONVERTERS` maps op classes to converters;
its keys are the exportable ops, listed in docs/exchange.md. The graph being built and the Call
are in graph.py.
"""
import math

import numpy as np

from ..ops import attention as _att, conv as _conv, elementwise as _ew, embedding as _emb, linalg as _la
from ..ops import loss as _loss, movement as _mv, norm as _norm, pooling as _pool, reduce as _red
from ..tensor import Tensor
from .graph import _BIG, _onnx_type

# ------------------------------------------------------------------------------------------ elementwise
def _binary(op_type):
    return lambda c: c.node(op_type, [c.x(0), c.x(1)])


def _unary(op_type, **attrs):
    return lambda c: c.node(op_type, [c.x(0)], **attrs)


def _add_scalar(c, x, v):
    return c.node("Add", [x, c.g.scalar(v, c.dtype)])


def _mul_scalar(c, x, v):
    return c.node("Mul", [x, c.g.scalar(v, c.dtype)])


def _gelu(c):
    x = c.x(0)
    if c.opt.get("approximate", "none") == "tanh":      # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = c.node("Mul", [c.node("Mul", [x, x]), x])
        inner = _mul_scalar(c, c.node("Add", [x, _mul_scalar(c, cube, 0.044715)]), math.sqrt(2 / math.pi))
        return c.node("Mul", [_mul_scalar(c, x, 0.5), _add_scalar(c, c.node("Tanh", [inner]), 1.0)])
    erf = c.node("Erf", [_mul_scalar(c, x, 1 / math.sqrt(2))])           # 0.5 x (1 + erf(x / sqrt 2))
    return c.node("Mul", [_mul_scalar(c, x, 0.5), _add_scalar(c, erf, 1.0)])


def _softplus(c):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as torch)."""
    x, beta, threshold = c.x(0), float(c.opt.get("beta", 1.0)), float(c.opt.get("threshold", 20.0))
    bx = _mul_scalar(c, x, beta)
    sp = _mul_scalar(c, c.node("Softplus", [bx]), 1 / beta)
    return c.node("Where", [c.node("Greater", [bx, c.g.scalar(threshold, c.dtype)]), x, sp])


def _clamp(c):
    """Clip for number bounds; Max / Min for array bounds (which broadcast against x)."""
    lo, hi = c.opt.get("min"), c.opt.get("max")
    if np.ndim(lo) or np.ndim(hi):
        y = c.x(0)
        if lo is not None:
            y = c.node("Max", [y, c.g.value(lo, None, c)])
        return y if hi is None else c.node("Min", [y, c.g.value(hi, None, c)])
    bounds = [None if v is None else c.g.scalar(float(v), c.dtype) for v in (lo, hi)]
    return c.node("Clip", [c.x(0), *bounds])


def _cast(c):
    from onnx import helper
    return c.node("Cast", [c.x(0)], to=helper.np_dtype_to_tensor_dtype(np.dtype(c.dtype)))


# ------------------------------------------------------------------------------------------ movement
def _reshape_spec(c, target_shape, target_dyn):
    """Reshape target that runs at any size of the dynamic dims: 0 copies the input's dim, -1 infers one."""
    if not any(target_dyn):
        return list(target_shape)
    in_shape, in_dyn = c.shape(0), c.dyn(0)
    spec, inferred = [], False
    for j, (s, d) in enumerate(zip(target_shape, target_dyn)):
        if not d:
            spec.append(s)
        elif j < len(in_shape) and in_dyn[j] and in_shape[j] == s and c.op2.args[0].shape[j] == c.op2.outs[0].shape[j]:
            spec.append(0)
        elif not inferred:
            spec.append(-1)
            inferred = True
        else:
            c.fail(f"cannot express reshape {in_shape} -> {target_shape} with dynamic dims {target_dyn}")
    return spec


def _reshape(c):
    return c.node("Reshape", [c.x(0), c.g.ints(_reshape_spec(c, c.out_shape(), c.out_dyn()))])


def _expand(c):
    out, dyn, ins, in_dyn = c.out_shape(), c.out_dyn(), c.shape(0), c.dyn(0)
    spec = list(out)
    for j, d in enumerate(dyn):
        k = j - (len(out) - len(ins))
        if d:
            if k < 0 or not in_dyn[k]:
                c.fail(f"cannot expand {ins} -> {out} along a dynamic dim the input does not have")
            spec[j] = 1                               # Expand broadcasts: 1 keeps the input's (dynamic) size
    return c.node("Expand", [c.x(0), c.g.ints(spec)])


def _flip(c):
    axes = list(c.opt["axes"])
    n = len(axes)
    return c.node("Slice", [c.x(0), c.g.ints([-1] * n), c.g.ints([-_BIG] * n), c.g.ints(axes), c.g.ints([-1] * n)])


def _stack(c):
    axis = c.opt.get("axis", 0)
    parts = [c.node("Unsqueeze", [c.x(i), c.g.ints([axis])]) for i in range(len(c.op.args))]
    return c.node("Concat", parts, axis=axis)


def _pad(c):
    widths = c.opt["widths"]
    pads = [int(lo) for lo, hi in widths] + [int(hi) for lo, hi in widths]
    return c.node("Pad", [c.x(0), c.g.ints(pads), c.g.scalar(c.opt.get("value", 0.0), c.dtype)], mode="constant")


def _getitem(c):
    index = c.opt["index"]
    index = index if isinstance(index, tuple) else (index,)
    nd = len(c.shape(0))
    if any(i is Ellipsis for i in index):
        k = index.index(Ellipsis)
        rest = sum(1 for i in index if i is not None and i is not Ellipsis)
        index = index[:k] + (slice(None),) * (nd - rest) + index[k + 1:]
    arrays = [i for i in index if isinstance(i, (np.ndarray, list, Tensor))]
    if arrays:
        pos = [k for k, i in enumerate(index) if isinstance(i, (np.ndarray, list, Tensor))]
        if len(arrays) == 1 and all(i == slice(None) for k, i in enumerate(index) if k != pos[0]):
            idx = np.asarray(arrays[0].array if isinstance(arrays[0], Tensor) else arrays[0])
            if idx.dtype.kind in "iu":
                return c.node("Gather", [c.x(0), c.g.const(idx.astype(np.int64), "index")], axis=pos[0])
        c.fail(f"indexing with {index!r:.80} (boolean or several index arrays) is not exportable; index with "
               "ints, slices, None or one integer array")
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for i in index:
        if i is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(i, (int, np.integer)):
            starts.append(int(i))
            ends.append(int(i) + 1 if int(i) != -1 else _BIG)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        elif isinstance(i, slice):
            step = 1 if i.step is None else int(i.step)
            if i != slice(None):
                starts.append(int(i.start) if i.start is not None else (0 if step > 0 else -1))
                ends.append(int(i.stop) if i.stop is not None else (_BIG if step > 0 else -_BIG))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:
            c.fail(f"cannot export the index {i!r}")
        axis += 1
    y = c.x(0)
    if axes:
        y = c.node("Slice", [y, c.g.ints(starts), c.g.ints(ends), c.g.ints(axes), c.g.ints(steps)])
    if squeeze:
        y = c.node("Squeeze", [y, c.g.ints(squeeze)])
    if unsqueeze:
        y = c.node("Unsqueeze", [y, c.g.ints(unsqueeze)])
    return y if y != c.x(0) else c.node("Identity", [y])


def _masked_fill(c):
    mask = c.value(c.opt["mask"], c.op2.options["mask"] if c.op2 is not None else None)
    return c.node("Where", [mask, c.g.scalar(c.opt.get("value", 0.0), c.dtype), c.x(0)])


def _gather(c):
    idx = c.opt["index"]
    name = c.value(idx, c.op2.options["index"] if c.op2 is not None else None)
    if np.asarray(idx).dtype != np.int64:
        name = c.node("Cast", [name], to=7)
    return c.node("GatherElements", [c.x(0), name], axis=c.opt.get("axis", 0))


# ------------------------------------------------------------------------------------------ reductions
def _reduce(op_type):
    return lambda c: c.g.reduce(op_type, c.x(0), c.opt.get("axis"), c.opt.get("keepdim", False))


def _var(sqrt):
    def conv(c):
        x, axis, keep = c.x(0), c.opt.get("axis"), c.opt.get("keepdim", False)
        axes = range(len(c.shape(0))) if axis is None else (axis if isinstance(axis, (tuple, list)) else (axis,))
        if any(c.dyn(0)[a] for a in axes):
            c.fail("the variance's count runs over a dynamic dim; reduce over fixed dims only")
        d = c.node("Sub", [x, c.g.reduce("ReduceMean", x, axis, True)])
        ss = c.g.reduce("ReduceSum", c.node("Mul", [d, d]), axis, keep)
        div = max(int(np.prod([c.shape(0)[a] for a in axes])) - c.opt.get("correction", 1), 0)
        y = c.node("Div", [ss, c.g.scalar(div, c.dtype)])
        return c.node("Sqrt", [y]) if sqrt else y
    return conv


def _softmax(op_type):
    return lambda c: c.node(op_type, [c.x(0)], axis=c.opt.get("axis", -1))


# ------------------------------------------------------------------------------------------ linear, conv, pooling
def _linear(c):
    x, w, b = c.x(0), c.x(1), c.x(2)
    if len(c.shape(0)) == 2:
        return c.node("Gemm", [x, w] + ([b] if b else []), transB=1)
    y = c.node("MatMul", [x, c.node("Transpose", [w], perm=[1, 0])])
    return c.node("Add", [y, b]) if b else y


def _conv_attrs(c, spatial):
    stride, padding, dilation, groups = c.opt["stride"], c.opt["padding"], c.opt["dilation"], c.opt["groups"]
    k = len(stride) - spatial
    pads = [int(p[0]) for p in padding[k:]] + [int(p[1]) for p in padding[k:]]
    return dict(strides=list(stride[k:]), pads=pads, dilations=list(dilation[k:]), group=int(groups))


def _convolution(c):
    spatial = len(c.shape(0)) - 2
    return c.node("Conv", [c.x(0), c.x(1), c.x(2)], **_conv_attrs(c, spatial))


def _conv_transpose(c):
    spatial = len(c.shape(0)) - 2
    attrs = _conv_attrs(c, spatial)
    ks = c.shape(1)[2:]
    # output_padding: what torch adds at the end to reach the recorded output size
    pads = zip(attrs["pads"][:spatial], attrs["pads"][spatial:])
    extra = [o - ((i - 1) * s - p0 - p1 + d * (k - 1) + 1) for o, i, s, (p0, p1), d, k in
             zip(c.out_shape()[2:], c.shape(0)[2:], attrs["strides"], pads, attrs["dilations"], ks)]
    return c.node("ConvTranspose", [c.x(0), c.x(1), c.x(2)], output_padding=extra, **attrs)


def _pool_attrs(c):
    spatial = len(c.shape(0)) - 2
    kernel, stride, padding = c.opt["kernel"], c.opt["stride"], c.opt["padding"]
    k = len(kernel) - spatial
    pads = [int(p) for p in padding[k:]] * 2
    return dict(kernel_shape=list(kernel[k:]), strides=list(stride[k:]), pads=pads,
                ceil_mode=int(bool(c.opt.get("ceil_mode", False)))), k


def _maxpool(c):
    attrs, k = _pool_attrs(c)
    return c.node("MaxPool", [c.x(0)], dilations=list(c.opt.get("dilation", (1, 1))[k:]), **attrs)


def _avgpool(c):
    if c.opt.get("divisor_override") is not None:
        c.fail("divisor_override has no ONNX AveragePool equivalent")
    attrs, _ = _pool_attrs(c)
    return c.node("AveragePool", [c.x(0)], count_include_pad=int(bool(c.opt.get("count_include_pad", True))), **attrs)


def _adaptive_avg(c):
    if len(c.shape(0)) != 4:
        c.fail("adaptive average pooling is exported for 4-D inputs only")
    ah, aw = c.g.const(c.fn.ah, "adaptive_rows"), c.g.const(np.ascontiguousarray(c.fn.aw.T), "adaptive_cols")
    return c.node("MatMul", [c.node("MatMul", [ah, c.x(0)]), aw])            # A_h x A_w^T, per (n, c)


def _adaptive_max(c):
    if tuple(c.opt.get("output_size", ())) != (1, 1) or len(c.shape(0)) != 4:
        c.fail("adaptive max pooling is exported for output size 1 (GlobalMaxPool) on 4-D inputs only")
    return c.node("GlobalMaxPool", [c.x(0)])


# ------------------------------------------------------------------------------------------ normalisation, embedding
def _ones_or(c, name, shape, value):
    return name if name else c.g.const(np.full(shape, value, c.dtype), "ones" if value else "zeros")


def _batch_norm_eval(c):
    ch = c.shape(0)[1]
    mean = c.g.const(c.opt["mean"], "running_mean")
    var = c.g.const(c.opt["var"], "running_var")
    return c.node("BatchNormalization", [c.x(0), _ones_or(c, c.x(1), ch, 1.0), _ones_or(c, c.x(2), ch, 0.0), mean, var],
                  epsilon=float(c.opt.get("eps", 1e-5)))


def _layer_norm(c):
    dims = c.opt.get("dims", 1)
    shape = c.shape(0)[len(c.shape(0)) - dims:]
    return c.node("LayerNormalization", [c.x(0), _ones_or(c, c.x(1), shape, 1.0), _ones_or(c, c.x(2), shape, 0.0)],
                  axis=-dims, epsilon=float(c.opt.get("eps", 1e-5)))


def _group_norm(c):
    """(N, C, *) -> (N, G, rest) -> InstanceNormalization (statistics per group) -> back -> * w + b per channel."""
    x, groups, nd = c.x(0), c.opt.get("groups", 1), len(c.shape(0))
    grouped = c.node("Reshape", [x, c.g.ints([0, groups, -1])])
    normed = c.node("InstanceNormalization", [grouped, c.g.const(np.ones(groups, c.dtype), "ones"),
                                              c.g.const(np.zeros(groups, c.dtype), "zeros")],
                    epsilon=float(c.opt.get("eps", 1e-5)))
    y = c.node("Reshape", [normed, c.node("Shape", [x])])
    per_channel = list(range(1, nd - 1))
    if c.x(1):
        y = c.node("Mul", [y, c.node("Unsqueeze", [c.x(1), c.g.ints(per_channel)])])
    if c.x(2):
        y = c.node("Add", [y, c.node("Unsqueeze", [c.x(2), c.g.ints(per_channel)])])
    return y


def _embedding(c):
    idx = c.x(1)
    if np.asarray(c.raw(1)).dtype != np.int64:
        idx = c.node("Cast", [idx], to=7)
    return c.node("Gather", [c.x(0), idx], axis=0)


# ------------------------------------------------------------------------------------------ attention
def _attend(c, q, k, v, bias, scale, k_rank):
    perm = list(range(k_rank))
    perm[-1], perm[-2] = perm[-2], perm[-1]
    s = c.node("MatMul", [q, c.node("Transpose", [k], perm=perm)])
    s = c.node("Mul", [s, c.g.scalar(scale, c.dtype)])
    if bias is not None:
        s = c.node("Add", [s, bias])
    return c.node("MatMul", [c.node("Softmax", [s], axis=-1), v])


def _sdpa(c):
    if c.opt.get("dropout_p", 0.0):
        c.fail("attention dropout is not exported; export in eval mode or with dropout_p=0")
    return _attend(c, c.x(0), c.x(1), c.x(2), c.x(3), float(c.opt.get("scale", 1.0)), len(c.shape(1)))


def _mha_core(c):
    """Packed projections -> per-head q, k, v (N, H, T, D) -> attention -> back to the input's layout."""
    E, H, bf = c.opt["embed_dim"], c.opt["heads"], c.opt["batch_first"]
    if c.opt.get("dropout_p", 0.0):
        c.fail("attention dropout is not exported; export in eval mode")
    heads = []
    for src, col in c.opt["where"]:
        part = c.node("Slice", [c.x(1 + src), c.g.ints([col]), c.g.ints([col + E]), c.g.ints([2])])
        part = c.node("Reshape", [part, c.g.ints([0, 0, H, E // H])])
        heads.append(c.node("Transpose", [part], perm=[0, 2, 1, 3] if bf else [1, 2, 0, 3]))
    y = _attend(c, *heads, c.x(0), float(c.opt.get("scale", 1.0)), 4)
    y = c.node("Transpose", [y], perm=[0, 2, 1, 3] if bf else [2, 0, 1, 3])
    return c.node("Reshape", [y, c.g.ints([0, 0, E])])


# ------------------------------------------------------------------------------------------ losses
def _reduction(c, loss, weights=None, reduction=None):
    r = reduction or c.opt.get("reduction", "mean")
    if r == "none":
        return loss
    if r == "sum":
        return c.g.reduce("ReduceSum", loss, None, False)
    if weights is not None:
        total = c.g.reduce("ReduceSum", loss, None, False)
        return c.node("Div", [total, c.g.reduce("ReduceSum", weights, None, False)])
    return c.g.reduce("ReduceMean", loss, None, False)


def _mse(c):
    d = c.node("Sub", [c.x(0), c.x(1)])
    return _reduction(c, c.node("Mul", [d, d]))


def _class_loss(op_type):
    def conv(c):
        target = c.raw(1)
        if np.asarray(target.array if isinstance(target, Tensor) else target).dtype.kind not in "iu":
            c.fail("class-probability targets are not exported; give class indices")
        if c.opt.get("label_smoothing", 0.0):
            c.fail("label_smoothing is not exported")
        t = c.x(1)
        if np.asarray(target.array if isinstance(target, Tensor) else target).dtype != np.int64:
            t = c.node("Cast", [t], to=7)
        w = c.value(c.opt.get("weight"), None)
        return c.node(op_type, [c.x(0), t] + ([w] if w else []), reduction=c.opt.get("reduction", "mean"),
                      ignore_index=int(c.opt.get("ignore_index", -100)))
    return conv


def _bce(c):
    """-(t log x + (1 - t) log(1 - x)), each log clamped at -100 (as torch), times weight."""
    x, t = c.x(0), c.x(1)
    floor = c.g.scalar(-100.0, c.dtype)
    one = c.g.scalar(1.0, c.dtype)
    lx = c.node("Max", [c.node("Log", [x]), floor])
    l1 = c.node("Max", [c.node("Log", [c.node("Sub", [one, x])]), floor])
    loss = c.node("Neg", [c.node("Add", [c.node("Mul", [t, lx]), c.node("Mul", [c.node("Sub", [one, t]), l1])])])
    w = c.value(c.opt.get("weight"), None)
    return _reduction(c, c.node("Mul", [loss, w]) if w else loss)


def _bce_logits(c):
    """(1 - t) x + (1 + (pw - 1) t) (log(1 + exp(-|x|)) + max(-x, 0)), times weight (torch's stable form)."""
    x, t = c.x(0), c.x(1)
    one = c.g.scalar(1.0, c.dtype)
    soft = c.node("Add", [c.node("Log", [c.node("Add", [one, c.node("Exp", [c.node("Neg", [c.node("Abs", [x])])])])]),
                          c.node("Relu", [c.node("Neg", [x])])])
    pw = c.value(c.opt.get("pos_weight"), None)
    coef = c.node("Add", [one, c.node("Mul", [c.node("Sub", [pw, one]), t])]) if pw else one
    loss = c.node("Add", [c.node("Mul", [c.node("Sub", [one, t]), x]), c.node("Mul", [coef, soft])])
    w = c.value(c.opt.get("weight"), None)
    return _reduction(c, c.node("Mul", [loss, w]) if w else loss)


# ------------------------------------------------------------------------------------------ comparisons and logic
_NOGRAD = {"equal": "Equal", "not_equal": "Equal", "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
           "greater_equal": "GreaterOrEqual", "logical_and": "And", "logical_or": "Or", "logical_xor": "Xor",
           "logical_not": "Not", "isnan": "IsNaN"}


def _nograd(c):
    name = c.fn.func.__name__
    y = c.node(_NOGRAD[name], [c.x(i) for i in range(len(c.op.args))])
    return c.node("Not", [y]) if name == "not_equal" else y


# ------------------------------------------------------------------------------------------ layers exported whole
def _prelu(c):
    w, nd = c.g.const(c.fn.module.weight.array), len(c.shape(0))
    n = c.fn.module.weight.array.size
    shape = [n] + [1] * (nd - 2) if n > 1 else [1]
    return c.node("PRelu", [c.x(0), c.node("Reshape", [w, c.g.ints(shape)])])


def _hardtanh(c):
    m = c.fn.module
    return c.node("Clip", [c.x(0), c.g.scalar(m.min_val, c.dtype), c.g.scalar(m.max_val, c.dtype)])


def _smooth_l1(huber):
    def conv(c):
        m = c.fn.module
        width = float(m.delta if huber else m.beta)
        d = c.node("Abs", [c.node("Sub", [c.x(0), c.x(1)])])
        if not huber and width == 0:
            return _reduction(c, d, reduction=m.reduction)
        sq = _mul_scalar(c, c.node("Mul", [d, d]), 0.5 if huber else 0.5 / width)
        lin = _add_scalar(c, d, -0.5 * width)
        lin = _mul_scalar(c, lin, width) if huber else lin
        return _reduction(c, c.node("Where", [c.node("Less", [d, c.g.scalar(width, c.dtype)]), sq, lin]),
                          reduction=m.reduction)
    return conv


def _kl_div(c):
    """target (log target - input), 0 where target = 0 (as torch); batchmean divides the sum by the batch."""
    m, x, t = c.fn.module, c.x(0), c.x(1)
    if m.log_target:
        loss = c.node("Mul", [c.node("Exp", [t]), c.node("Sub", [t, x])])
    else:
        zero = c.node("Equal", [t, c.g.scalar(0.0, c.dtype)])
        safe = c.node("Where", [zero, c.g.scalar(1.0, c.dtype), t])
        t_log_t = c.node("Where", [zero, c.g.scalar(0.0, c.dtype), c.node("Mul", [t, c.node("Log", [safe])])])
        loss = c.node("Sub", [t_log_t, c.node("Mul", [t, x])])
    if m.reduction == "batchmean":
        total = c.g.reduce("ReduceSum", loss, None, False)
        n = c.node("Cast", [c.node("Gather", [c.node("Shape", [x]), c.g.const(np.array(0, np.int64))], axis=0)],
                   to=_onnx_type(c.dtype))
        return c.node("Div", [total, n])
    return _reduction(c, loss, reduction=m.reduction)


# ------------------------------------------------------------------------------------------ recurrent layers (whole)
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}   # torch -> ONNX order


def _recurrent(c):
    """RNN / LSTM / GRU as ONNX RNN / LSTM / GRU per layer (both directions in one node)."""
    m, mode = c.fn.module, c.fn.module.mode
    if m.proj_size:
        c.fail("LSTM with proj_size has no ONNX equivalent")
    args = list(c.op.args) + [c.fn.kwargs.get("hx")] * (len(c.op.args) < 2)
    x_t, hx = args[0], args[1]
    if x_t.ndim != 3:
        c.fail("unbatched (2-D) input is not exported; give (T, N, C) or (N, T, C)")
    x = c.x(0)
    if m.batch_first:
        x = c.node("Transpose", [x], perm=[1, 0, 2])
    states = [] if hx is None else (list(hx) if isinstance(hx, (tuple, list)) else [hx])
    hx2 = c.op2.args[1] if c.op2 is not None and len(c.op2.args) > 1 else None
    states2 = [] if hx2 is None else (list(hx2) if isinstance(hx2, (tuple, list)) else [hx2])
    state_names = [c.value(s, states2[i] if states2 else None) for i, s in enumerate(states)]
    dirs, H = m.num_directions, m.hidden_size
    per = len(m._weight_names) // (m.num_layers * dirs)
    flat = m._flat_weights
    hs, cs = [], []
    for layer in range(m.num_layers):
        ws = [flat[(layer * dirs + d) * per:(layer * dirs + d + 1) * per] for d in range(dirs)]
        init = [c.node("Slice", [s, c.g.ints([layer * dirs]), c.g.ints([(layer + 1) * dirs]), c.g.ints([0])])
                for s in state_names]
        outs = _onnx_layer(c, mode, x, ws, H, m.bias, init, f"l{layer}")
        hs.append(outs[1])
        if mode == "LSTM":
            cs.append(outs[2])
        y = c.node("Transpose", [outs[0]], perm=[0, 2, 1, 3])      # (T, D, N, H) -> (T, N, D, H)
        x = c.node("Reshape", [y, c.g.ints([0, 0, dirs * H])])
    out = c.node("Transpose", [x], perm=[1, 0, 2]) if m.batch_first else x
    h_n = c.node("Concat", hs, axis=0) if len(hs) > 1 else c.node("Identity", hs)
    if mode != "LSTM":
        return [out, h_n]
    return [out, h_n, c.node("Concat", cs, axis=0) if len(cs) > 1 else c.node("Identity", cs)]


def _recurrent_cell(c):
    """An RNNCell / LSTMCell / GRUCell step as the one-step sequence of the ONNX layer."""
    m = c.fn.module
    if len(c.shape(0)) != 2:
        c.fail("unbatched (1-D) input is not exported; give (N, input_size)")
    simple = "RNN_RELU" if getattr(m, "nonlinearity", "") == "relu" else "RNN_TANH"
    mode = {"LSTMCell": "LSTM", "GRUCell": "GRU"}.get(type(m).__name__, simple)
    hx = c.op.args[1] if len(c.op.args) > 1 else c.fn.kwargs.get("hx")
    hx2 = c.op2.args[1] if len(c.op2.args) > 1 else c.op2.fn.kwargs.get("hx")
    states = [] if hx is None else (list(hx) if isinstance(hx, (tuple, list)) else [hx])
    states2 = [] if hx2 is None else (list(hx2) if isinstance(hx2, (tuple, list)) else [hx2])
    zero = c.g.ints([0])
    x = c.node("Unsqueeze", [c.x(0), zero])
    init = [c.node("Unsqueeze", [c.value(s, s2), zero]) for s, s2 in zip(states, states2)]
    weights = [m.weight_ih, m.weight_hh] + ([m.bias_ih, m.bias_hh] if m.bias else [])
    outs = _onnx_layer(c, mode, x, [weights], m.hidden_size, m.bias, init, "cell")
    h = c.node("Squeeze", [outs[1], zero])
    return [h, c.node("Squeeze", [outs[2], zero])] if mode == "LSTM" else [h]


def _onnx_layer(c, mode, x, ws, H, bias, init, tag):
    """One ONNX RNN/LSTM/GRU node over x (T, N, C); ws holds each direction's torch weights. Outputs Y, Y_h(, Y_c)."""
    order, dirs = _GATE_ORDER[mode], len(ws)
    op_type = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")

    def reorder(a):
        return np.concatenate([a[g * H:(g + 1) * H] for g in order], axis=0)
    ins = [x, c.g.const(np.stack([reorder(w[0].numpy()) for w in ws]), f"{op_type}_W_{tag}"),
           c.g.const(np.stack([reorder(w[1].numpy()) for w in ws]), f"{op_type}_R_{tag}")]
    ins.append(c.g.const(np.stack([np.concatenate([reorder(w[2].numpy()), reorder(w[3].numpy())]) for w in ws]),
                         f"{op_type}_B_{tag}") if bias else None)
    ins.append(None)                                           # sequence_lens: every sequence is full length
    ins.extend(init)
    attrs = dict(hidden_size=H, direction="bidirectional" if dirs == 2 else "forward")
    if mode == "GRU":
        attrs["linear_before_reset"] = 1                         # torch applies r after W_hn h + b_hn
    if op_type == "RNN":
        attrs["activations"] = ["Relu" if mode == "RNN_RELU" else "Tanh"] * dirs
    return c.node(op_type, ins, outputs=3 if mode == "LSTM" else 2, **attrs)


CONVERTERS = {
    _ew.AddOp: _binary("Add"), _ew.Sub: _binary("Sub"), _ew.Mul: _binary("Mul"), _ew.Div: _binary("Div"),
    _ew.Pow: _binary("Pow"), _ew.Maximum: _binary("Max"), _ew.Minimum: _binary("Min"),
    _ew.Where: lambda c: c.node("Where", [c.x(0), c.x(1), c.x(2)]),
    _ew.Neg: _unary("Neg"), _ew.Abs: _unary("Abs"), _ew.Sign: _unary("Sign"), _ew.Exp: _unary("Exp"),
    _ew.Log: _unary("Log"), _ew.Sqrt: _unary("Sqrt"), _ew.Sin: _unary("Sin"), _ew.Cos: _unary("Cos"),
    _ew.TanhOp: _unary("Tanh"), _ew.SigmoidOp: _unary("Sigmoid"), _ew.Erf: _unary("Erf"), _ew.ReLUOp: _unary("Relu"),
    _ew.Log1p: lambda c: c.node("Log", [_add_scalar(c, c.x(0), 1.0)]),
    _ew.Expm1: lambda c: _add_scalar(c, c.node("Exp", [c.x(0)]), -1.0),
    _ew.Rsqrt: lambda c: c.node("Reciprocal", [c.node("Sqrt", [c.x(0)])]),
    _ew.Square: lambda c: c.node("Mul", [c.x(0), c.x(0)]),
    _ew.LeakyReLUOp: lambda c: c.node("LeakyRelu", [c.x(0)], alpha=float(c.opt.get("negative_slope", 0.01))),
    _ew.ELUOp: lambda c: c.node("Elu", [c.x(0)], alpha=float(c.opt.get("alpha", 1.0))),
    _ew.SELUOp: _unary("Selu"),                 # ONNX's default alpha and gamma are torch's constants
    _ew.GELUOp: _gelu, _ew.SiLUOp: lambda c: c.node("Mul", [c.x(0), c.node("Sigmoid", [c.x(0)])]),
    _ew.SoftplusOp: _softplus, _ew.Clamp: _clamp, _ew.Cast: _cast,
    _mv.Reshape: _reshape, _mv.Expand: _expand,
    _mv.Permute: lambda c: c.node("Transpose", [c.x(0)], perm=[int(a) for a in c.opt["axes"]]),
    _mv.Tile: lambda c: c.node("Tile", [c.x(0), c.g.ints(c.opt["reps"])]),
    _mv.Clone: _unary("Identity"), _mv.Flip: _flip,
    _mv.Cat: lambda c: c.node("Concat", [c.x(i) for i in range(len(c.op.args))], axis=c.opt.get("axis", 0)),
    _mv.Stack: _stack, _mv.ConstantPad: _pad, _mv.GetItem: _getitem, _mv.Gather: _gather,
    _mv.MaskedFill: _masked_fill,
    _mv.Tril: lambda c: c.node("Trilu", [c.x(0), c.g.const(np.array(c.opt.get("k", 0), np.int64))], upper=0),
    _mv.Triu: lambda c: c.node("Trilu", [c.x(0), c.g.const(np.array(c.opt.get("k", 0), np.int64))], upper=1),
    _red.Sum: _reduce("ReduceSum"), _red.Mean: _reduce("ReduceMean"), _red.Prod: _reduce("ReduceProd"),
    _red.Amax: _reduce("ReduceMax"), _red.Amin: _reduce("ReduceMin"), _red.LogSumExp: _reduce("ReduceLogSumExp"),
    _red.Norm2: _reduce("ReduceL2"), _red.MaxDim: _reduce("ReduceMax"), _red.MinDim: _reduce("ReduceMin"),
    _red.Var: _var(False), _red.Std: _var(True),
    _red.Cumsum: lambda c: c.node("CumSum", [c.x(0), c.g.const(np.array(c.opt.get("axis", 0), np.int64))]),
    _red.SoftmaxOp: _softmax("Softmax"), _red.LogSoftmaxOp: _softmax("LogSoftmax"),
    _la.MatMul: _binary("MatMul"), _la.LinearOp: _linear,
    _conv.Conv1dOp: _convolution, _conv.Conv2dOp: _convolution,
    _conv.ConvTranspose1dOp: _conv_transpose, _conv.ConvTranspose2dOp: _conv_transpose,
    _pool.MaxPool1dOp: _maxpool, _pool.MaxPool2dOp: _maxpool, _pool.AvgPool1dOp: _avgpool, _pool.AvgPool2dOp: _avgpool,
    _pool.AdaptiveAvgPool2dOp: _adaptive_avg, _pool.AdaptiveMaxPool2dOp: _adaptive_max,
    _norm.BatchNormEval: _batch_norm_eval, _norm.LayerNormOp: _layer_norm, _norm.GroupNormOp: _group_norm,
    _emb.EmbeddingOp: _embedding,
    _att.SDPA: _sdpa, _att.MHACore: _mha_core,
    _loss.MSELossOp: _mse, _loss.CrossEntropy: _class_loss("SoftmaxCrossEntropyLoss"),
    _loss.NLLLossOp: _class_loss("NegativeLogLikelihoodLoss"), _loss.BinaryCrossEntropy: _bce,
    _loss.BinaryCrossEntropyWithLogits: _bce_logits,
}


def _module_converters():
    """Layers exported whole: recurrent ones (ONNX has them as operators) and those that compare raw arrays."""
    from ..nn import activation as act, losses
    from ..nn.recurrent import RNNBase, RNNCellBase
    return {RNNBase: _recurrent, RNNCellBase: _recurrent_cell, act.PReLU: _prelu, act.Hardtanh: _hardtanh,
            losses.SmoothL1Loss: _smooth_l1(False), losses.HuberLoss: _smooth_l1(True), losses.KLDivLoss: _kl_div}


MODULE_CONVERTERS = _module_converters()


def converter_for(fn):
    """The converter of a recorded entry: by op class, by module class (layers recorded whole), or for a
    comparison by its NumPy function; None when there is none."""
    if hasattr(fn, "kwargs") and hasattr(fn, "module"):
        return next((v for k, v in MODULE_CONVERTERS.items() if isinstance(fn.module, k)), None)
    if hasattr(fn, "func"):
        return _nograd if getattr(fn.func, "__name__", None) in _NOGRAD else None
    return CONVERTERS.get(type(fn))
