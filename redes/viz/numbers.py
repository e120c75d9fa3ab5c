"""The numbers scale: a small tensor graph rebuilt element by element, with the same engine.

Each element of each tensor becomes a 0-D Tensor, and each tensor op is re-applied to the elements:
an elementwise op once per output element, a matmul/linear output element as the products x_k * w_k
feeding one Σ node (plus the bias), a sum/mean as one Σ (or mean) node over the reduced elements.
Reshapes, transposes, indexing and concatenation only move elements, so they add no node.
The values and gradients shown are then the engine's own, computed on the scalar twin.
"""
import numpy as np

from .. import backend as B
from ..autograd import Function
from ..ops import elementwise as _ew
from ..tensor import Tensor
from .walk import FREED_VALUES, collect, name_tensors


class SumOf(Function):
    """y = x_1 + ... + x_n (the Σ node of a neuron).  Backward: dx_i = dy."""
    op = "sum"

    def forward(self, *xs):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total

    def backward(self, m, dy, y, *xs):
        return tuple(dy if need else None for need in self.needs)


class MeanOf(Function):
    """y = (x_1 + ... + x_n) / n.  Backward: dx_i = dy / n."""
    op = "mean"

    def forward(self, *xs):
        return SumOf.forward(self, *xs) / len(xs)

    def backward(self, m, dy, y, *xs):
        return tuple(dy / len(xs) if need else None for need in self.needs)


# Options that an elementwise op keeps on its node, mapped back to its apply() keywords.
_OPTIONS = {"leaky_relu": lambda fn, t: {"negative_slope": fn.slope},
            "elu": lambda fn, t: {"alpha": fn.alpha},
            "softplus": lambda fn, t: {"beta": fn.beta, "threshold": fn.threshold},
            "clamp": lambda fn, t: {"min": fn.lo, "max": fn.hi},
            "gelu": lambda fn, t: {"approximate": fn.approximate},
            "cast": lambda fn, t: {"dtype": t.dtype}}


def _objects(shape):
    return np.empty(shape, dtype=object)


def _elementwise(fn, t, args):
    cls, opts = type(fn), _OPTIONS.get(fn.op, lambda fn, t: {})(fn, t)
    shape = t.shape
    args = [np.broadcast_to(a, shape) if isinstance(a, np.ndarray) else a for a in args]
    out = _objects(shape)
    for idx in np.ndindex(*shape):
        out[idx] = cls.apply(*[a[idx] if isinstance(a, np.ndarray) else a for a in args], **opts)
    return out


def _dot(row, col, bias=None):
    """Σ_k row_k * col_k (+ bias): the products, then one Σ node."""
    terms = [_ew.Mul.apply(a, b) for a, b in zip(row, col)]
    if bias is not None:
        terms.append(bias)
    return SumOf.apply(*terms)


def _matmul(fn, t, args):
    a, b = (np.asarray(x) if not isinstance(x, np.ndarray) else x for x in args)
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    a2 = np.broadcast_to(a2, batch + a2.shape[-2:])
    b2 = np.broadcast_to(b2, batch + b2.shape[-2:])
    out = _objects(batch + (a2.shape[-2], b2.shape[-1]))
    for idx in np.ndindex(*out.shape):
        *bi, i, j = idx
        out[idx] = _dot(a2[tuple(bi) + (i,)], b2[tuple(bi) + (slice(None), j)])
    return out.reshape(t.shape)


def _linear(fn, t, args):
    x, w = args[0], args[1]
    bias = args[2] if len(args) > 2 and args[2] is not None else None
    out = _objects(t.shape)
    for idx in np.ndindex(*t.shape):
        j = idx[-1]
        out[idx] = _dot(x[idx[:-1]], w[j], None if bias is None else bias[j])
    return out


def _reduce(cls):
    def expand(fn, t, args):
        x = args[0]
        axis = tuple(range(x.ndim)) if fn.axis is None else tuple(fn.axis)
        kept = tuple(i for i in range(x.ndim) if i not in axis)
        moved = x.transpose(kept + axis).reshape(tuple(x.shape[i] for i in kept) + (-1,))
        out = _objects(moved.shape[:-1])
        for idx in np.ndindex(*out.shape):
            out[idx] = cls.apply(*moved[idx])
        return out.reshape(t.shape)
    return expand


def _move(how):
    """Ops that only move elements: the same objects, rearranged (no new node)."""
    return lambda fn, t, args: how(fn, t, args)


EXPANSIONS = {
    "matmul": _matmul, "linear": _linear, "sum": _reduce(SumOf), "mean": _reduce(MeanOf),
    "reshape": _move(lambda fn, t, a: a[0].reshape(t.shape)),
    "expand": _move(lambda fn, t, a: np.broadcast_to(a[0], t.shape)),
    "permute": _move(lambda fn, t, a: a[0].transpose(fn.axes)),
    "clone": _move(lambda fn, t, a: a[0]),
    "flip": _move(lambda fn, t, a: np.flip(a[0], fn.axes)),
    "roll": _move(lambda fn, t, a: np.roll(a[0], fn.shifts, fn.axes)),
    "tile": _move(lambda fn, t, a: np.tile(a[0], fn.reps)),
    "getitem": _move(lambda fn, t, a: a[0][_host_index(fn.index)]),
    "cat": _move(lambda fn, t, a: np.concatenate(a, axis=fn.axis)),
    "stack": _move(lambda fn, t, a: np.stack(a, axis=fn.axis)),
}
for _name in _ew.OPS:
    EXPANSIONS[_name] = _elementwise


def _host_index(index):
    items = index if isinstance(index, tuple) else (index,)
    out = tuple(B.to_numpy(i) if hasattr(i, "shape") else i for i in items)
    return out if isinstance(index, tuple) else out[0]


def _short(name):
    """'0.weight' -> '0.w', 'bias' -> 'b': element names like w[1,0] stay readable."""
    head, _, last = name.rpartition(".")
    last = {"weight": "w", "bias": "b"}.get(last, last)
    return f"{head}.{last}" if head else last


def _count(tensors):
    """How many scalar nodes the expansion makes (elements, plus the products of matmul/linear)."""
    n = 0
    for t in tensors:
        n += t.array.size
        fn = t.grad_fn
        if fn is not None and fn.op in ("matmul", "linear"):
            n += t.array.size * fn.inputs[0].shape[-1]
    return n


def expand(outputs, max_nodes=500, model=None):
    """The scalar twin of the graph ending in `outputs`: (twin outputs, names, kinds) for build_scene."""
    from ..nn.module import Parameter
    tensors, _, _, freed = collect(outputs)
    if freed:
        raise RuntimeError(FREED_VALUES.format(what="scale='numbers'", op=next(t.grad_fn.op for t in tensors if id(t) in freed)))
    n = _count(tensors)
    if n > max_nodes:
        biggest = max(tensors, key=lambda t: t.array.size)
        raise ValueError(f"graph(scale='numbers'): this graph expands to about {n} scalar nodes, more than "
                         f"max_nodes={max_nodes} (largest tensor: {tuple(biggest.shape)}). Draw a smaller example "
                         "(fewer rows or units), raise max_nodes, or use scale='tensors'")
    base = {k: _short(v) for k, v in name_tensors(tensors, model).items()}
    twin, names, kinds = {}, {}, {}
    for t in tensors:
        fn = t.grad_fn
        if fn is None:
            arr = _objects(t.shape)
            kind = "param" if isinstance(t, Parameter) else "input"
            for idx in np.ndindex(*t.shape):
                s = Tensor._wrap(t.array[idx])
                s.requires_grad = t.requires_grad
                arr[idx] = s
                names[id(s)] = base[id(t)] + (f"[{','.join(map(str, idx))}]" if idx else "")
                kinds[id(s)] = kind
            twin[id(t)] = arr
            continue
        how = EXPANSIONS.get(fn.op)
        if how is None:
            raise ValueError(f"graph(scale='numbers') cannot expand the op '{fn.op}' into scalars (it expands "
                             "elementwise ops and activations, matmul/linear, sum/mean, reshapes and indexing); "
                             "draw this graph with scale='tensors'")
        args = [twin[id(a)] if isinstance(a, Tensor) else (B.to_numpy(a) if hasattr(a, "shape") else a)
                for a in fn.inputs]
        arr = np.asarray(how(fn, t, args), dtype=object).reshape(t.shape)
        values = np.array([s.array for s in arr.flat], dtype=t.dtype).reshape(t.shape)
        if not np.allclose(values, B.to_numpy(t.array), rtol=1e-4, atol=1e-6, equal_nan=True):
            raise RuntimeError(f"graph(scale='numbers'): the scalar expansion of '{fn.op}' does not reproduce its "
                               "values (a bug in redes.viz.numbers)")
        if t.name is not None:
            for idx in np.ndindex(*t.shape):
                names.setdefault(id(arr[idx]), str(t.name) + (f"[{','.join(map(str, idx))}]" if idx else ""))
        twin[id(t)] = arr
    outs = []
    for t in outputs:
        outs.extend(twin[id(t)].flat)
    return outs, names, kinds
