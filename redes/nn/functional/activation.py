"""Activation functions as in torch.nn.functional: F.relu, F.gelu, F.softmax, ...

The element-wise math is the Tensor ops of redes.ops.elementwise (one fused op each); these functions add
torch's signatures. `inplace=` is accepted for compatibility and ignored: redes never overwrites an input.
"""
import warnings

from ... import autograd as _ag
from ...ops.elementwise import Where as _Where
from ... import backend as B
from ...tensor import Tensor

__all__ = ["relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "sigmoid", "logsigmoid", "tanh",
           "softplus", "softsign", "hardtanh", "prelu", "softmax", "softmin", "log_softmax", "celu", "glu",
           "hardshrink", "softshrink", "tanhshrink", "hardsigmoid", "hardswish", "threshold", "rrelu",
           "gumbel_softmax", "relu_", "elu_", "leaky_relu_", "hardtanh_", "selu_", "celu_", "rrelu_", "threshold_"]


def _check(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    return input


def relu(input, inplace=False):
    """y = max(x, 0). Gradient 0 at x = 0 (as torch)."""
    return _check(input, "relu").relu()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """y = x if x > 0 else negative_slope * x."""
    return _check(input, "leaky_relu").leaky_relu(negative_slope)


def elu(input, alpha=1.0, inplace=False):
    """y = x if x > 0 else alpha * (exp(x) - 1)."""
    return _check(input, "elu").elu(alpha)


def selu(input, inplace=False):
    """y = scale * elu(x, alpha), scale = 1.0507..., alpha = 1.6733... (Klambauer et al. 2017)."""
    return _check(input, "selu").selu()


def gelu(input, approximate="none"):
    """y = x * Phi(x) (approximate='none', exact with erf) or its tanh approximation (approximate='tanh')."""
    return _check(input, "gelu").gelu(approximate)


def silu(input, inplace=False):
    """y = x * sigmoid(x) (also called swish)."""
    return _check(input, "silu").silu()


def mish(input, inplace=False):
    """y = x * tanh(softplus(x)) (Misra 2019)."""
    return _check(input, "mish") * input.softplus().tanh()


def sigmoid(input):
    """y = 1 / (1 + exp(-x))."""
    return _check(input, "sigmoid").sigmoid()


def logsigmoid(input):
    """y = log(sigmoid(x)) = -softplus(-x), stable for large |x|."""
    return -(-_check(input, "logsigmoid")).softplus()


def tanh(input):
    """y = tanh(x)."""
    return _check(input, "tanh").tanh()


def softplus(input, beta=1.0, threshold=20.0):
    """y = log(1 + exp(beta x)) / beta, and y = x where beta x > threshold (for numerical stability)."""
    return _check(input, "softplus").softplus(beta, threshold)


def softsign(input):
    """y = x / (1 + |x|)."""
    return _check(input, "softsign") / (input.abs() + 1)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """y = clamp(x, min_val, max_val). Gradient passes only strictly inside (min_val, max_val), as torch."""
    _check(input, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    x = input.array
    inside = (x > min_val) & (x < max_val)
    # NOTE: clamp's gradient includes the bounds; torch's hardtanh excludes them, hence where(inside, x, const)
    return _Where.apply(inside, input, B.xp.clip(x, min_val, max_val))


def relu6(input, inplace=False):
    """y = min(max(x, 0), 6) (hardtanh(x, 0, 6))."""
    return hardtanh(input, 0.0, 6.0)


def prelu(input, weight):
    """y = x if x > 0 else weight * x; weight has 1 element or one per channel (dim 1 of the input)."""
    _check(input, "prelu")
    n = weight.numel()
    if n != 1:
        if input.ndim < 2 or input.shape[1] != n:
            raise RuntimeError(f"prelu: weight has {n} elements, expected 1 or the input's channel count "
                               f"(dim 1 of input {tuple(input.shape)})")
        weight = weight.reshape((n,) + (1,) * (input.ndim - 2))
    elif weight.ndim:
        weight = weight.reshape(())
    return _Where.apply(input.array > 0, input, weight * input)


def _softmax_dim(name, ndim, stacklevel):
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X "
                  "as an argument.", stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


def _prepared(input, dim, dtype, name, stacklevel):
    _check(input, name)
    if dim is None:
        dim = _softmax_dim(name, input.ndim, stacklevel + 1)
    if dtype is not None:
        input = input.to(dtype)
    return input, dim


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """y_i = exp(x_i) / sum_j exp(x_j) along dim (one fused, max-shifted op)."""
    input, dim = _prepared(input, dim, dtype, "softmax", _stacklevel)
    return input.softmax(dim)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """y = softmax(-x) along dim."""
    input, dim = _prepared(input, dim, dtype, "softmin", _stacklevel)
    return (-input).softmax(dim)


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """y_i = x_i - log(sum_j exp(x_j)) along dim (fused and stable)."""
    input, dim = _prepared(input, dim, dtype, "log_softmax", _stacklevel)
    return input.log_softmax(dim)


def celu(input, alpha=1.0, inplace=False):
    """y = x if x > 0 else alpha * (exp(x / alpha) - 1)  (= alpha * elu(x / alpha); Barron 2017)."""
    _check(input, "celu")
    if alpha == 0:
        raise ValueError("celu: alpha must be non-zero (it divides x), got 0")
    return (input / alpha).elu(1.0) * alpha


def glu(input, dim=-1):
    """Gated linear unit: a * sigmoid(b), where a, b are the two halves of the input along dim.

    Shape: (*, 2n, *) -> (*, n, *).
    Example:
        >>> F.glu(rd.ones(2, 4)).shape
        (2, 2)
    """
    _check(input, "glu")
    if input.ndim == 0 or input.shape[dim] % 2:
        raise RuntimeError(f"glu: halving dimension must be even, but dimension {dim} of input "
                           f"{tuple(input.shape)} is not")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def hardshrink(input, lambd=0.5):
    """y = x if |x| > lambd else 0."""
    _check(input, "hardshrink")
    return _Where.apply(B.xp.abs(input.array) > lambd, input, 0.0)


def softshrink(input, lambd=0.5):
    """y = x - lambd if x > lambd, x + lambd if x < -lambd, else 0."""
    _check(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"softshrink: lambda must be greater or equal to 0, but found to be {lambd}")
    x = input.array
    return _Where.apply(x > lambd, input - lambd, _Where.apply(x < -lambd, input + lambd, 0.0))


def tanhshrink(input):
    """y = x - tanh(x)."""
    return _check(input, "tanhshrink") - input.tanh()


def hardsigmoid(input, inplace=False):
    """y = relu6(x + 3) / 6: 0 below -3, 1 above 3, linear in between (gradient 1/6 strictly inside)."""
    return hardtanh(_check(input, "hardsigmoid") + 3.0, 0.0, 6.0) / 6.0


def hardswish(input, inplace=False):
    """y = x * relu6(x + 3) / 6 (Howard et al. 2019, MobileNetV3)."""
    return _check(input, "hardswish") * hardsigmoid(input)


def threshold(input, threshold, value, inplace=False):
    """y = x if x > threshold else value (the gradient passes where x > threshold)."""
    _check(input, "threshold")
    return _Where.apply(input.array > threshold, input, value)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False, *, generator=None):
    """Randomized leaky ReLU (Xu et al. 2015): y = x if x >= 0 else a * x.

    Training: a ~ U(lower, upper), one draw per element (redes' global generator, or `generator=`);
    evaluation: a = (lower + upper) / 2.
    """
    _check(input, "rrelu")
    if lower > upper:
        raise ValueError(f"rrelu: lower bound ({lower}) must be <= upper bound ({upper})")
    if not training:
        return input.leaky_relu((lower + upper) / 2)
    from ...random import rng_for
    rng = rng_for(generator, input.array)
    slope = rng.uniform(lower, upper, tuple(input.shape)).astype(input.dtype)
    return _Where.apply(input.array >= 0, input, input * B.xp.asarray(slope))


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1, *, generator=None):
    """A sample from the Gumbel-softmax (Concrete) distribution (Jang et al. 2016; Maddison et al. 2016):
    softmax((logits + g) / tau) with g = -log(Exponential(1)) noise from redes' generator (or `generator`).

    hard=True returns the one-hot argmax in the forward pass and the soft sample's gradient (straight-through).
    eps is accepted for compatibility (unused, as in torch).
    """
    _check(logits, "gumbel_softmax")
    from ...random import default_rng
    rng = generator if generator is not None else default_rng()
    gumbels = B.xp.asarray(-B.xp.log(rng.exponential(size=tuple(logits.shape))).astype(logits.dtype))
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = B.xp.argmax(y_soft.array, axis=dim)
    y_hard = (B.xp.arange(logits.shape[dim]).reshape((-1,) + (1,) * (logits.ndim - 1 - dim % logits.ndim))
              == B.xp.expand_dims(index, dim % logits.ndim)).astype(logits.dtype)
    return y_soft - y_soft.detach() + y_hard             # forward: y_hard; gradient: y_soft's


def _in_place(fn, name):
    """torch's F.relu_ and friends: compute fn and write the result into the input (returned).

    redes does not differentiate through an overwritten tensor, so an input that requires grad is refused;
    call the out-of-place function (F.relu) in a graph.
    """
    def inplace_fn(input, *args, **kwargs):
        _check(input, name)
        if input.requires_grad and _ag.state.grad_enabled:
            raise RuntimeError(f"{name}: the input requires grad; redes does not differentiate through in-place "
                               f"ops, use F.{name[:-1]} instead")
        return input.copy_(fn(input, *args, **kwargs))
    inplace_fn.__name__ = name
    inplace_fn.__doc__ = f"In-place {fn.__name__}: writes {fn.__name__}(input) into input and returns it."
    return inplace_fn


relu_ = _in_place(relu, "relu_")
elu_ = _in_place(elu, "elu_")
leaky_relu_ = _in_place(leaky_relu, "leaky_relu_")
hardtanh_ = _in_place(hardtanh, "hardtanh_")
selu_ = _in_place(selu, "selu_")
celu_ = _in_place(celu, "celu_")
rrelu_ = _in_place(rrelu, "rrelu_")
threshold_ = _in_place(threshold, "threshold_")
