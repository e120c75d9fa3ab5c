"""The `rd.` functions: each Tensor method as a function (rd.exp(x) == x.exp()), plus the ops that take
several tensors (cat, stack, where) and pad / one_hot."""
import builtins

from . import backend as B
from . import dtypes as _dt
from .ops import movement as _mv
from .tensor import Tensor, _arr, _dim, set_printoptions, where  # noqa: F401 (rd.set_printoptions; rd.where, defined beside Tensor.where)

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
        if builtins.any(lo < 0 or hi < 0 for lo, hi in widths):
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


# ---------------------------------------------------------------------------------- PyTorch API coverage (issue 13)
# torch.X(input, ...) is Tensor.X: the methods serve as the functions, as the loop at the top does for the basics.
from .composite import (atleast_1d, atleast_2d, atleast_3d, block_diag, broadcast_shapes,  # noqa: E402
                        broadcast_tensors, cartesian_prod, column_stack, combinations, cumulative_trapezoid, dstack, einsum, gradient,
                        hstack, meshgrid, searchsorted, bucketize, tensordot, trapezoid, trapz, tril_indices,
                        triu_indices, vander, vstack, cdist, histogram)
from .sampling import binomial, normal, poisson, randint_like  # noqa: E402
from .random import initial_seed  # noqa: E402,F401

row_stack = vstack
T_ = Tensor
acos, asin, atan, acosh, asinh, atanh = T_.acos, T_.asin, T_.atan, T_.acosh, T_.asinh, T_.atanh
arccos, arcsin, arctan, arccosh, arcsinh, arctanh = acos, asin, atan, acosh, asinh, atanh
atan2 = arctan2 = T_.atan2
tan, sinh, cosh, erfc, erfinv, lgamma, digamma, sinc = T_.tan, T_.sinh, T_.cosh, T_.erfc, T_.erfinv, T_.lgamma, \
    T_.digamma, T_.sinc
mvlgamma, logit, xlogy, hypot, copysign, fmod, remainder = T_.mvlgamma, T_.logit, T_.xlogy, T_.hypot, T_.copysign, \
    T_.fmod, T_.remainder
log2, log10, exp2, deg2rad, rad2deg, trunc, fix, frac, sgn = T_.log2, T_.log10, T_.exp2, T_.deg2rad, T_.rad2deg, \
    T_.trunc, T_.fix, T_.frac, T_.sgn
absolute, positive, signbit, nan_to_num, fmax, fmin, heaviside = T_.abs, T_.positive, T_.signbit, T_.nan_to_num, \
    T_.fmax, T_.fmin, T_.heaviside
i0, igamma, igammac, nextafter, ldexp, frexp, gcd, lcm = T_.i0, T_.igamma, T_.igammac, T_.nextafter, T_.ldexp, \
    T_.frexp, T_.gcd, T_.lcm
logaddexp, logaddexp2, lerp, float_power, floor_divide = T_.logaddexp, T_.logaddexp2, T_.lerp, T_.float_power, \
    T_.floor_divide
clamp_min, clamp_max = T_.clamp_min, T_.clamp_max
greater, greater_equal, less, less_equal, not_equal = T_.gt, T_.ge, T_.lt, T_.le, T_.ne
isclose, isposinf, isneginf = T_.isclose, T_.isposinf, T_.isneginf
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = T_.bitwise_and, T_.bitwise_or, T_.bitwise_xor, T_.bitwise_not
bitwise_left_shift, bitwise_right_shift = T_.bitwise_left_shift, T_.bitwise_right_shift
all, any = T_.all, T_.any                                                                   # noqa: A001
aminmax, nansum, nanmean, count_nonzero = T_.aminmax, T_.nansum, T_.nanmean, T_.count_nonzero
sort, argsort, msort, topk, kthvalue, median, nanmedian, mode = T_.sort, T_.argsort, T_.msort, T_.topk, \
    T_.kthvalue, T_.median, T_.nanmedian, T_.mode
quantile, nanquantile, cumprod, logcumsumexp, cummax, cummin = T_.quantile, T_.nanquantile, T_.cumprod, \
    T_.logcumsumexp, T_.cummax, T_.cummin
diff, dist, renorm, cov, corrcoef = T_.diff, T_.dist, T_.renorm, T_.cov, T_.corrcoef
unique, unique_consecutive, bincount, histc = T_.unique, T_.unique_consecutive, T_.bincount, T_.histc
nonzero, nonzero_static, argwhere = T_.nonzero, T_.nonzero_static, T_.argwhere
movedim, moveaxis, tensor_split, hsplit, vsplit, dsplit = T_.movedim, T_.moveaxis, T_.tensor_split, T_.hsplit, \
    T_.vsplit, T_.dsplit
fliplr, flipud, rot90, repeat_interleave, select, take, take_along_dim = T_.fliplr, T_.flipud, T_.rot90, \
    T_.repeat_interleave, T_.select, T_.take, T_.take_along_dim
scatter, scatter_reduce, index_add, index_copy, index_fill, index_put, index_reduce, put = T_.scatter, \
    T_.scatter_reduce, T_.index_add, T_.index_copy, T_.index_fill, T_.index_put, T_.index_reduce, T_.put
masked_select, masked_scatter = T_.masked_select, T_.masked_scatter
diagonal, diag, diag_embed, diagflat, trace = T_.diagonal, T_.diag, T_.diag_embed, T_.diagflat, T_.trace
diagonal_scatter, select_scatter, slice_scatter = T_.diagonal_scatter, T_.select_scatter, T_.slice_scatter
mm, bmm, mv, dot, vdot, inner, outer, ger = T_.mm, T_.bmm, T_.mv, T_.dot, T_.vdot, T_.inner, T_.outer, T_.outer
addmm, addmv, addbmm, baddbmm, addr, addcmul, addcdiv = T_.addmm, T_.addmv, T_.addbmm, T_.baddbmm, T_.addr, \
    T_.addcmul, T_.addcdiv
kron, cross, inverse, det, logdet, slogdet = T_.kron, T_.cross, T_.inverse, T_.det, T_.logdet, T_.slogdet
matrix_exp, cholesky_inverse, cholesky_solve, pinverse = T_.matrix_exp, T_.cholesky_inverse, T_.cholesky_solve, \
    T_.pinverse
multinomial, bernoulli = T_.multinomial, T_.bernoulli
ravel, numel, is_floating_point, is_nonzero, is_same_size, is_signed = T_.ravel, T_.numel, T_.is_floating_point, \
    T_.is_nonzero, T_.is_same_size, T_.is_signed
split_with_sizes, unsafe_split, unsafe_chunk, unsafe_split_with_sizes = T_.split_with_sizes, T_.unsafe_split, \
    T_.unsafe_chunk, T_.unsafe_split_with_sizes
sum_to_size, adjoint, narrow_copy = T_.sum_to_size, T_.adjoint, T_.narrow_copy
del T_


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over dim, as torch.std_mean."""
    return input.std(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over dim, as torch.var_mean."""
    return input.var(dim, unbiased, keepdim, correction=correction), input.mean(dim, keepdim)


def matrix_power(input, n):
    """input @ input @ ... (n times; n < 0 uses the inverse, n = 0 the identity)."""
    from .composite import matrix_power as _power
    return _power(input, n)


def polygamma(n, input):
    """The n-th derivative of digamma at input (torch's argument order: n first)."""
    return input.polygamma(n)


def is_tensor(obj):
    return isinstance(obj, Tensor)


def rsub(input, other, *, alpha=1):
    """other - alpha * input."""
    return other - (input * alpha if alpha != 1 else input)


def fill(input, value):
    """A new tensor shaped like input, every element value (torch.fill, out of place)."""
    return Tensor._wrap(B.xp.full(input.shape, _arr(value), input.dtype))


def scalar_tensor(s, *, dtype=None, requires_grad=False, device=None):
    return Tensor(s, dtype=dtype or _dt.get_default_dtype(), requires_grad=requires_grad)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=False):
    """A tensor from obj, sharing memory with a Tensor or NumPy array when dtype allows (copy=True: always a copy)."""
    if copy:
        t = Tensor(obj, dtype=dtype)
    elif isinstance(obj, Tensor) and (dtype is None or obj.dtype == _dt.as_dtype(dtype)):
        t = obj
    elif isinstance(obj, B.xp.ndarray) and (dtype is None or obj.dtype == _dt.as_dtype(dtype)):
        t = Tensor._wrap(obj)
    else:
        t = Tensor(obj, dtype=dtype)
    return t.requires_grad_() if requires_grad else t


def logspace(start, end, steps, base=10.0, *, dtype=None, requires_grad=False, device=None):
    """steps values from base**start to base**end, evenly spaced in the exponent."""
    t = Tensor._wrap((base ** B.xp.linspace(start, end, steps)).astype(_dt.as_dtype(dtype) or _dt.get_default_dtype()))
    return t.requires_grad_() if requires_grad else t


def isin(elements, test_elements, *, assume_unique=False, invert=False):
    return Tensor._wrap(B.xp.isin(_arr(elements), _arr(test_elements), assume_unique=assume_unique, invert=invert))


def unravel_index(indices, shape):
    """The coordinates of flat indices in a tensor of the given shape (a tuple of int64 tensors)."""
    return tuple(Tensor._wrap(B.xp.asarray(c, dtype=_dt.int64))
                 for c in B.xp.unravel_index(_arr(indices), tuple(shape)))


def get_device(input):
    return input.get_device()


def promote_types(type1, type2):
    """The dtype torch's arithmetic gives two tensors of these dtypes: a float meeting an integer keeps the float
    (NumPy would widen int64 + float32 to float64); otherwise the smallest dtype holding both."""
    a, b = _dt.as_dtype(type1), _dt.as_dtype(type2)
    if a.kind == "f" and b.kind in "iub":
        return a
    if b.kind == "f" and a.kind in "iub":
        return b
    return B.xp.promote_types(a, b)


def can_cast(from_, to):
    """Whether torch's casting rules allow from_ -> to in an in-place op: never to a lower category
    (bool < integers < floats), whatever the sizes (int64 -> int8 and int8 -> uint8 are allowed)."""
    rank = {"b": 0, "u": 1, "i": 1, "f": 2}
    return rank[_dt.as_dtype(from_).kind] <= rank[_dt.as_dtype(to).kind]


def result_type(tensor1, tensor2):
    """The dtype of an arithmetic op on two operands (tensors or Python numbers), by torch's rules: a Python
    number or a 0-D tensor only raises the kind (int -> float), and then to the default float dtype for a number."""
    def kind_rank(x):
        return {"b": 0, "u": 1, "i": 1, "f": 2}[x.dtype.kind if isinstance(x, Tensor) else
                                                 "b" if isinstance(x, builtins.bool) else
                                                 "i" if isinstance(x, builtins.int) else "f"]
    dims = [t for t in (tensor1, tensor2) if isinstance(t, Tensor) and t.ndim > 0]
    zero = [t for t in (tensor1, tensor2) if isinstance(t, Tensor) and t.ndim == 0]
    numbers = [t for t in (tensor1, tensor2) if not isinstance(t, Tensor)]
    for group in (dims, zero):
        if group:
            dtype = group[0].dtype if len(group) == 1 else promote_types(group[0].dtype, group[1].dtype)
            break
    else:
        dtype = None
    rank = -1 if dtype is None else {"b": 0, "u": 1, "i": 1, "f": 2}[dtype.kind]
    for t in zero if dims else []:
        if kind_rank(t) > rank:
            dtype, rank = t.dtype, kind_rank(t)
    for n in numbers:
        if kind_rank(n) > rank:
            dtype = _dt.get_default_dtype() if kind_rank(n) == 2 else _dt.int64 if kind_rank(n) == 1 else _dt.bool
            rank = kind_rank(n)
    return dtype


_DETERMINISTIC = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode, *, warn_only=False):
    """Recorded for torch compatibility: every redes op is already deterministic (NumPy on the CPU runs the same
    operations in the same order on every call), so the flag changes no result."""
    _DETERMINISTIC.update(mode=builtins.bool(mode), warn_only=builtins.bool(warn_only))


def are_deterministic_algorithms_enabled():
    return _DETERMINISTIC["mode"]


def is_deterministic_algorithms_warn_only_enabled():
    return _DETERMINISTIC["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    """0 / 'default', 1 / 'warn', 2 / 'error': the same switch as use_deterministic_algorithms, as torch."""
    level = {"default": 0, "warn": 1, "error": 2}.get(debug_mode, debug_mode)
    if level not in (0, 1, 2):
        raise RuntimeError("set_deterministic_debug_mode: expected 0, 1, 2 or 'default', 'warn', 'error', "
                           f"got {debug_mode!r}")
    use_deterministic_algorithms(level > 0, warn_only=level == 1)


def get_deterministic_debug_mode():
    return 0 if not _DETERMINISTIC["mode"] else 1 if _DETERMINISTIC["warn_only"] else 2
