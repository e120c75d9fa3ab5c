"""The `rd.` functions: each Tensor method as a function (rd.exp(x) == x.exp()), plus the ops that take
several tensors (cat, stack, where) and pad / one_hot."""
import builtins

from . import backend as B
from . import dtypes as _dt
from .ops import movement as _mv
from .tensor import Tensor, _arr, _dim, where  # noqa: F401 (where: rd.where, defined beside Tensor.where)

# Each Tensor method as a function: rd.exp(x) is x.exp() (torch spells both). One line per name, so a grep finds it.
add = Tensor.add
sub = subtract = Tensor.sub
mul = multiply = Tensor.mul
div = divide = true_divide = Tensor.div
pow = Tensor.pow
matmul = Tensor.matmul
neg = negative = Tensor.neg
abs = Tensor.abs
sign = Tensor.sign
exp = Tensor.exp
log = Tensor.log
log1p = Tensor.log1p
expm1 = Tensor.expm1
sqrt = Tensor.sqrt
rsqrt = Tensor.rsqrt
square = Tensor.square
reciprocal = Tensor.reciprocal
sin = Tensor.sin
cos = Tensor.cos
tanh = Tensor.tanh
sigmoid = Tensor.sigmoid
erf = Tensor.erf
relu = Tensor.relu
selu = Tensor.selu
silu = Tensor.silu
clamp = Tensor.clamp
clip = Tensor.clip
maximum = Tensor.maximum
minimum = Tensor.minimum
eq = Tensor.eq
ne = Tensor.ne
lt = Tensor.lt
le = Tensor.le
gt = Tensor.gt
ge = Tensor.ge
logical_and = Tensor.logical_and
logical_or = Tensor.logical_or
logical_xor = Tensor.logical_xor
logical_not = Tensor.logical_not
isnan = Tensor.isnan
isinf = Tensor.isinf
isfinite = Tensor.isfinite
sum = Tensor.sum
mean = Tensor.mean
prod = Tensor.prod
amax = Tensor.amax
amin = Tensor.amin
max = Tensor.max
min = Tensor.min
argmax = Tensor.argmax
argmin = Tensor.argmin
var = Tensor.var
std = Tensor.std
logsumexp = Tensor.logsumexp
norm = Tensor.norm
cumsum = Tensor.cumsum
softmax = Tensor.softmax
log_softmax = Tensor.log_softmax
reshape = Tensor.reshape
flatten = Tensor.flatten
unflatten = Tensor.unflatten
squeeze = Tensor.squeeze
unsqueeze = Tensor.unsqueeze
permute = Tensor.permute
transpose = Tensor.transpose
swapaxes = Tensor.swapaxes
swapdims = Tensor.swapdims
t = Tensor.t
expand = Tensor.expand
broadcast_to = Tensor.broadcast_to
tile = Tensor.tile
flip = Tensor.flip
roll = Tensor.roll
split = Tensor.split
chunk = Tensor.chunk
unbind = Tensor.unbind
narrow = Tensor.narrow
gather = Tensor.gather
scatter_add = Tensor.scatter_add
index_select = Tensor.index_select
masked_fill = Tensor.masked_fill
tril = Tensor.tril
triu = Tensor.triu
clone = Tensor.clone
detach = Tensor.detach
allclose = Tensor.allclose
equal = Tensor.equal
floor = Tensor.floor
ceil = Tensor.ceil
round = Tensor.round


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
