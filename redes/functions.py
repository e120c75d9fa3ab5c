"""The `rd.` functions: each Tensor method as a function (rd.exp(x) == x.exp()), plus the ops that take
several tensors (cat, stack, where) and pad / one_hot."""
import builtins

from . import backend as B
from . import dtypes as _dt
from .ops import elementwise as _ew
from .ops import movement as _mv
from .tensor import Tensor, _arr, _dim

_METHODS = ("add sub mul div pow matmul neg abs sign exp log log1p expm1 sqrt rsqrt square reciprocal sin cos tanh "
            "sigmoid erf relu selu silu clamp clip maximum minimum eq ne lt le gt ge logical_and logical_or "
            "logical_xor logical_not isnan isinf isfinite sum mean prod amax amin max min argmax argmin var std "
            "logsumexp norm cumsum softmax log_softmax reshape flatten unflatten squeeze unsqueeze permute "
            "transpose swapaxes swapdims t expand broadcast_to tile flip roll split chunk unbind narrow gather "
            "scatter_add index_select masked_fill tril triu clone detach allclose equal floor ceil round").split()
for _name in _METHODS:
    globals()[_name] = getattr(Tensor, _name)
subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg     # noqa: F821 (set just above)


def leaky_relu(x, negative_slope=0.01):
    return x.leaky_relu(negative_slope)


def elu(x, alpha=1.0):
    return x.elu(alpha)


def gelu(x, approximate="none"):
    return x.gelu(approximate)


def softplus(x, beta=1.0, threshold=20.0):
    return x.softplus(beta, threshold)


def _tensors(tensors, op):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{op}: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: element {i} is {type(t).__name__}, expected a Tensor")
    return tensors


def cat(tensors, dim=0):
    """Join tensors along an existing dim (their other dims must match)."""
    tensors = _tensors(tensors, "cat")
    tensors = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)] or tensors[:1]   # torch skips empty 1-D
    return _mv.Cat.apply(*tensors, axis=_dim(dim, tensors[0].ndim, "cat"))


concat = concatenate = cat


def stack(tensors, dim=0):
    """Join same-shape tensors along a new dim."""
    tensors = _tensors(tensors, "stack")
    return _mv.Stack.apply(*tensors, axis=_dim(dim, tensors[0].ndim + 1, "stack"))


def where(condition, input, other):
    """input where condition else other (broadcasting); gradients flow to input and other."""
    cond = _arr(condition)
    if cond.dtype.kind != "b":
        raise RuntimeError(f"where: condition must be a bool tensor, got {cond.dtype}")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        return Tensor._wrap(B.xp.where(cond, input, other).astype(_dt.get_default_dtype()))
    return _ew.Where.apply(cond, input, other)


def pad(input, pad, mode="constant", value=0.0):
    """Pad the last len(pad)//2 dims: pad = (left, right) for the last dim, then the one before, ... (as F.pad).

    mode: 'constant' (negative widths crop), 'reflect' (mirror without the edge), 'replicate' (repeat the
    edge) or 'circular' (wrap around).
    """
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ValueError(f"pad: pad must have an even length of at most 2*ndim={2 * input.ndim}, got {tuple(pad)}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    if mode == "constant":
        crop = tuple(slice(builtins.max(-lo, 0), s - builtins.max(-hi, 0)) for (lo, hi), s in zip(widths, input.shape))
        if any(lo < 0 or hi < 0 for lo, hi in widths):
            input = input[crop]
        return _mv.ConstantPad.apply(input, widths=tuple((builtins.max(lo, 0), builtins.max(hi, 0)) for lo, hi in widths), value=value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    out = input
    for d, (lo, hi) in enumerate(widths):
        if lo or hi:
            out = out.index_select(d, Tensor._wrap(_pad_index(mode, input.shape[d], lo, hi, d)))
    return out


def _pad_index(mode, n, lo, hi, dim):
    """Source positions for each output position of one padded dim."""
    i = B.xp.arange(-lo, n + hi)
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise ValueError(f"pad: reflect padding ({lo}, {hi}) must be smaller than dim {dim}'s size {n}")
        i = B.xp.abs(i)
        return B.xp.where(i > n - 1, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return B.xp.clip(i, 0, n - 1)
    return i % n


def one_hot(tensor, num_classes=-1):
    """int64 tensor with a trailing dim of num_classes: 1 at each index, 0 elsewhere."""
    idx = _arr(tensor)
    if idx.dtype.kind not in "iu":
        raise RuntimeError(f"one_hot: expected an integer (class index) tensor, got {idx.dtype}")
    n = int(idx.max()) + 1 if num_classes == -1 and idx.size else builtins.max(num_classes, 0)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise RuntimeError(f"one_hot: class values must be in [0, {n}), got min {int(idx.min())}, max {int(idx.max())}")
    return Tensor._wrap(B.xp.eye(n, dtype=_dt.int64)[idx])
