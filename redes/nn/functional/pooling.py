"""Pooling as torch.nn.functional: max/avg pooling (1-D, 2-D) and adaptive avg/max pooling.

Each is one fused op of redes.ops.conv working on strided window views (channels-last inside); these
functions check the arguments with torch's rules and accept unbatched inputs.
"""
from ...ops import pooling as _P
from ...ops.windows import out_size
from ...tensor import Tensor
from .conv import _ntuple

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]


def _batched(input, spatial, op):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    dims = "(C, L) or (N, C, L)" if spatial == 1 else "(C, H, W) or (N, C, H, W)"
    if input.ndim not in (spatial + 1, spatial + 2) or 0 in input.shape[-spatial:]:
        raise RuntimeError(f"{op}: expected a {spatial + 1}-D or {spatial + 2}-D input {dims} with non-zero "
                           f"spatial size, got shape {tuple(input.shape)}")
    if input.dtype.kind != "f":
        raise RuntimeError(f"{op}: expected a floating-point input, got {input.dtype}")
    return (input.unsqueeze(0), True) if input.ndim == spatial + 1 else (input, False)


def _window_args(kernel_size, stride, padding, dilation, spatial, op, max_pool):
    """(kernel, stride, padding, dilation) as 2-tuples (1-D: a leading 1), checked as torch does."""
    k = _ntuple(spatial, kernel_size, "kernel_size", op)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) else \
        _ntuple(spatial, stride, "stride", op)
    p, d = _ntuple(spatial, padding, "padding", op), _ntuple(spatial, dilation, "dilation", op)
    if min(k) < 1 or min(s) < 1 or min(d) < 1 or min(p) < 0:
        raise ValueError(f"{op}: kernel_size, stride and dilation must be positive and padding non-negative, got "
                         f"kernel_size={k}, stride={s}, padding={p}, dilation={d}")
    for kk, pp, dd in zip(k, p, d):
        if pp > kk // 2:                    # torch counts the kernel, not the dilated window
            raise ValueError(f"{op}: pad should be at most half of kernel size, but got pad={pp}, kernel_size={kk}"
                             + (f" and dilation={dd}" if max_pool else ""))
    if spatial == 1:
        k, s, p, d = (1,) + k, (1,) + s, (0,) + p, (1,) + d
    return k, s, p, d


def _check_out(x4, k, s, p, d, ceil_mode, op):
    out = tuple(out_size(n, pp, pp, kk, ss, dd, ceil_mode) for n, kk, ss, pp, dd in zip(x4.shape[2:], k, s, p, d))
    if min(out) < 1:
        raise RuntimeError(f"{op}: input of spatial size {tuple(x4.shape[2:])} with kernel {k}, stride {s}, padding "
                           f"{p}, dilation {d} gives output size {out}: too small")


def _pooled(fn, y, unbatched, return_indices, spatial):
    """A max-pool's result as torch returns it: y (unbatched again if the input was), and the argmax
    indices from the op node `fn` when asked."""
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    idx = fn.indices()
    idx = idx[:, :, 0] if spatial == 1 else idx
    return y, Tensor._wrap(idx[0] if unbatched else idx)


def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, spatial, op):
    x, unbatched = _batched(input, spatial, op)
    k, s, p, d = _window_args(kernel_size, stride, padding, dilation, spatial, op, True)
    x4 = x if spatial == 2 else x.unsqueeze(2)
    _check_out(x4, k, s, p, d, ceil_mode, op)
    fn = (_P.MaxPool1dOp if spatial == 1 else _P.MaxPool2dOp)()
    y = fn.run((x,), {"kernel": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil_mode})
    return _pooled(fn, y, unbatched, return_indices, spatial)


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """y[n, c, l] = max over the window x[n, c, l*s - p + t*d], t < kernel_size (padding is -inf).

    Args as torch: stride defaults to kernel_size; ceil_mode rounds the output size up; return_indices also
    returns each max's position in the input (for max_unpool).
    Shape: (N, C, L) -> (N, C, (L + 2p - d(k-1) - 1) / s + 1) (floor, or ceil with ceil_mode)
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 1, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """y[n, c, i, j] = max over the (dilated) window at (i*s - p, j*s - p); the gradient goes to the argmax.

    Ties: the first max in window order gets the gradient, as torch.
    Shape: (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H + 2p - d(k-1) - 1) / s + 1 (floor, or ceil with ceil_mode)
    Example:
        >>> F.max_pool2d(rd.ones(1, 16, 28, 28), 2).shape
        (1, 16, 14, 14)
    """
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, 2, "max_pool2d")


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, spatial, op):
    x, unbatched = _batched(input, spatial, op)
    k, s, p, d = _window_args(kernel_size, stride, padding, 1, spatial, op, False)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override <= 0):
        raise ValueError(f"{op}: divisor_override must be a positive integer, got {divisor_override!r}")
    x4 = x if spatial == 2 else x.unsqueeze(2)
    _check_out(x4, k, s, p, d, ceil_mode, op)
    y = (_P.AvgPool1dOp if spatial == 1 else _P.AvgPool2dOp).apply(
        x, kernel=k, stride=s, padding=p, ceil_mode=ceil_mode, count_include_pad=count_include_pad,
        divisor_override=divisor_override)
    return y.squeeze(0) if unbatched else y


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    """y = mean over each window (zero padding counted when count_include_pad, as torch).

    Shape: (N, C, L) -> (N, C, (L + 2p - k) / s + 1)
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """y = sum over each window / divisor: the window size (count_include_pad=True), its part inside the
    input (False), or divisor_override.

    Shape: (N, C, H, W) -> (N, C, (H + 2p - kh) / s + 1, (W + 2p - kw) / s + 1)
    Example:
        >>> F.avg_pool2d(rd.ones(1, 3, 8, 8), 2).shape
        (1, 3, 4, 4)
    """
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2,
                     "avg_pool2d")


def _adaptive_size(output_size, in_sizes, spatial, op):
    sizes = _ntuple(spatial, output_size, "output_size", op) if not isinstance(output_size, (list, tuple)) or \
        all(v is not None for v in output_size) else tuple(output_size)
    if len(sizes) != spatial:
        raise ValueError(f"{op}: output_size must have {spatial} elements, got {output_size!r}")
    sizes = tuple(n if o is None else o for o, n in zip(sizes, in_sizes))
    if min(sizes) < 1:
        raise ValueError(f"{op}: output_size must be positive, got {output_size!r}")
    return sizes


def _adaptive(input, output_size, spatial, op, is_max, return_indices=False):
    x, unbatched = _batched(input, spatial, op)
    out = _adaptive_size(output_size, x.shape[2:], spatial, op)
    if spatial == 1:
        out = (1,) + out
    in_hw = (1,) + tuple(x.shape[2:]) if spatial == 1 else tuple(x.shape[2:])
    if all(n % o == 0 for n, o in zip(in_hw, out)) and not (is_max and return_indices):
        k = tuple(n // o for n, o in zip(in_hw, out))      # evenly divisible: a plain pool is faster
        if is_max:
            y = (_P.MaxPool1dOp if spatial == 1 else _P.MaxPool2dOp).apply(x, kernel=k, stride=k, padding=(0, 0),
                                                                       dilation=(1, 1), ceil_mode=False)
        else:
            y = (_P.AvgPool1dOp if spatial == 1 else _P.AvgPool2dOp).apply(x, kernel=k, stride=k, padding=(0, 0))
        return y.squeeze(0) if unbatched else y
    fn = (_P.AdaptiveMaxPool2dOp if is_max else _P.AdaptiveAvgPool2dOp)()
    y = fn.run((x,), {"output_size": out})
    return _pooled(fn, y, unbatched, return_indices, spatial)


def adaptive_avg_pool1d(input, output_size):
    """Mean over output_size windows [floor(i L / out), ceil((i+1) L / out)). Shape: (N, C, L) -> (N, C, out)."""
    return _adaptive(input, output_size, 1, "adaptive_avg_pool1d", False)


def adaptive_avg_pool2d(input, output_size):
    """Mean over adaptive windows per dim (output_size: int, pair, or None in a dim to keep its size).

    Shape: (N, C, H, W) -> (N, C, *output_size)
    Example:
        >>> F.adaptive_avg_pool2d(rd.ones(2, 8, 7, 7), 1).shape
        (2, 8, 1, 1)
    """
    return _adaptive(input, output_size, 2, "adaptive_avg_pool2d", False)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over adaptive windows. Shape: (N, C, L) -> (N, C, output_size)."""
    return _adaptive(input, output_size, 1, "adaptive_max_pool1d", True, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over adaptive windows per dim; return_indices gives the argmax's flat position h * W + w."""
    return _adaptive(input, output_size, 2, "adaptive_max_pool2d", True, return_indices)
