"""Vision functions as torch.nn.functional: pixel_shuffle / pixel_unshuffle, channel_shuffle, unfold / fold,
interpolate (and the deprecated upsample*), affine_grid and grid_sample.

All are compositions of Tensor ops (reshape, permute, gather, weighted sums), so the gradients with
respect to the input (and to the sampling grid of grid_sample) come from those ops.
"""
import math
import warnings

import numpy as np

from ... import backend as B
from ...functions import where
from ...tensor import Tensor
from .conv import _ntuple
from .window import window_geometry, windows

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "unfold", "fold",
           "interpolate", "upsample", "upsample_nearest", "upsample_bilinear", "affine_grid", "grid_sample"]


def _check(input, op, min_dims=0):
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < min_dims:
        raise RuntimeError(f"{op}: expected an input of at least {min_dims} dims, got shape {tuple(input.shape)}")
    return input


def _positive_int(value, name, op):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{op}: {name} must be a positive integer, got {value!r}")


# ----------------------------------------------------------------------------------- rearrangements
def pixel_shuffle(input, upscale_factor):
    """(*, C r^2, H, W) -> (*, C, H r, W r): each group of r^2 channels becomes an r x r block (Shi et al. 2016).

    Example:
        >>> F.pixel_shuffle(rd.ones(1, 8, 3, 3), 2).shape
        (1, 2, 6, 6)
    """
    _check(input, "pixel_shuffle", 3)
    _positive_int(upscale_factor, "upscale_factor", "pixel_shuffle")
    r = upscale_factor
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle: the channel dim ({c}) of input {tuple(input.shape)} must be divisible "
                           f"by upscale_factor^2 = {r * r}")
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    k = len(lead)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """(*, C, H r, W r) -> (*, C r^2, H, W): the inverse of pixel_shuffle."""
    _check(input, "pixel_unshuffle", 3)
    _positive_int(downscale_factor, "downscale_factor", "pixel_unshuffle")
    r = downscale_factor
    *lead, c, h, w = input.shape
    if h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle: height ({h}) and width ({w}) of input {tuple(input.shape)} must be "
                           f"divisible by downscale_factor={r}")
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    k = len(lead)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def channel_shuffle(input, groups):
    """(N, C, *) -> same shape, channels reordered g-major -> c-major (ShuffleNet, Zhang et al. 2017)."""
    _check(input, "channel_shuffle", 3)
    _positive_int(groups, "groups", "channel_shuffle")
    n, c, *rest = input.shape
    if c % groups:
        raise RuntimeError(f"channel_shuffle: number of channels ({c}) must be divisible by groups={groups}")
    return input.reshape(n, groups, c // groups, *rest).transpose(1, 2).reshape(n, c, *rest)


native_channel_shuffle = channel_shuffle


# ----------------------------------------------------------------------------------- unfold / fold
def _fold_args(kernel_size, dilation, padding, stride, op):
    k, d = _ntuple(2, kernel_size, "kernel_size", op), _ntuple(2, dilation, "dilation", op)
    p, s = _ntuple(2, padding, "padding", op), _ntuple(2, stride, "stride", op)
    if min(k) < 1 or min(d) < 1 or min(s) < 1 or min(p) < 0:
        raise RuntimeError(f"{op}: kernel_size, dilation and stride must be positive and padding non-negative, "
                           f"got kernel_size={k}, dilation={d}, padding={p}, stride={s}")
    return k, d, p, s


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """im2col: every (kh x kw) patch of a (N, C, H, W) input as a column.

    Shape: (N, C, H, W) -> (N, C kh kw, L), L = the number of patch positions; (C, H, W) -> (C kh kw, L).
    Example:
        >>> F.unfold(rd.ones(1, 3, 4, 4), 2).shape
        (1, 12, 9)
    """
    _check(input, "unfold")
    if input.ndim not in (3, 4):
        raise RuntimeError(f"unfold: expected a 3-D or 4-D input (N, C, H, W), got shape {tuple(input.shape)}")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride, "unfold")
    x = input.unsqueeze(0) if input.ndim == 3 else input
    n, c = x.shape[:2]
    for size, kk, dd, pp in zip(x.shape[2:], k, d, p):
        if size + 2 * pp < dd * (kk - 1) + 1:
            raise RuntimeError(f"unfold: padded input {tuple(x.shape[2:])} (padding {p}) is smaller than the "
                               f"dilated kernel {k} (dilation {d})")
    w, out, _ = windows(x, k, s, p, d)                            # (N, C, oh, ow, K)
    y = w.reshape(n, c, out[0] * out[1], k[0] * k[1]).transpose(2, 3).reshape(n, c * k[0] * k[1], -1)
    return y.squeeze(0) if input.ndim == 3 else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """col2im, the adjoint of unfold: columns summed back into an image (overlaps add up).

    Shape: (N, C kh kw, L) -> (N, C, *output_size); (C kh kw, L) -> (C, *output_size).
    """
    _check(input, "fold")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-D or 3-D input (N, C*kh*kw, L), got shape {tuple(input.shape)}")
    size = _ntuple(2, output_size, "output_size", "fold")
    k, d, p, s = _fold_args(kernel_size, dilation, padding, stride, "fold")
    x = input.unsqueeze(0) if input.ndim == 2 else input
    n, ck, length = x.shape
    kk = k[0] * k[1]
    out, padded, flat, hi = window_geometry(size, k, s, p, d)
    if ck % kk:
        raise RuntimeError(f"fold: expected size of input's dim 1 ({ck}) to be divisible by the product of "
                           f"kernel_size {k} = {kk}")
    if length != out[0] * out[1]:
        raise RuntimeError(f"fold: expected input's dim 2 to match the number of blocks {out[0]} x {out[1]} = "
                           f"{out[0] * out[1]} for output_size={size}, kernel_size={k}, got {length}")
    c = ck // kk
    cols = x.reshape(n, c, kk, length).transpose(2, 3).reshape(n, c, length * kk)
    index = B.xp.broadcast_to(B.xp.asarray(flat.reshape(-1)), (n, c, length * kk))
    img = Tensor._wrap(B.xp.zeros((n, c, int(np.prod(padded))), x.dtype)).scatter_add(2, index, cols)
    img = img.reshape(n, c, *padded)[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return img.squeeze(0) if input.ndim == 2 else img


# ----------------------------------------------------------------------------------- interpolate
_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area")
_MODE_DIMS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def _output_sizes(input, size, scale_factor, recompute_scale_factor, op):
    """(output sizes, scales handed to the index formula or None per dim), as torch's interpolate."""
    n = input.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: exactly one of size or scale_factor must be given, got size={size!r}, "
                         f"scale_factor={scale_factor!r}")
    if size is not None:
        sizes = tuple(size) if isinstance(size, (list, tuple)) else (size,) * n
        if len(sizes) != n:
            raise ValueError(f"{op}: size must have {n} elements for a {input.ndim}-D input, got {size!r}")
        if any(not isinstance(v, int) or v < 1 for v in sizes):
            raise ValueError(f"{op}: size must hold positive ints, got {size!r}")
        return sizes, (None,) * n
    scales = tuple(scale_factor) if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * n
    if len(scales) != n:
        raise ValueError(f"{op}: scale_factor must have {n} elements for a {input.ndim}-D input, got "
                         f"{scale_factor!r}")
    if any(v <= 0 for v in scales):
        raise ValueError(f"{op}: scale_factor must be positive, got {scale_factor!r}")
    sizes = tuple(int(math.floor(float(s) * f)) for s, f in zip(input.shape[2:], scales))
    if min(sizes) < 1:
        raise RuntimeError(f"{op}: input {tuple(input.shape)} with scale_factor={scale_factor!r} gives output size "
                           f"{sizes}: too small")
    return sizes, (None,) * n if recompute_scale_factor else tuple(float(f) for f in scales)


def _ratio(n_in, n_out, scale, align_corners):
    """Source step per output step (torch's area_pixel_compute_scale)."""
    if align_corners:
        return (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _along(x, dim, index):
    """x gathered at `index` (1-D integer array) along dim."""
    return x.index_select(dim, Tensor._wrap(B.xp.asarray(index)))


def _weight(values, dim, ndim, dtype):
    shape = [1] * ndim
    shape[dim] = len(values)
    return B.xp.asarray(B.xp.asarray(values, dtype).reshape(shape))


def _cubic_weights(t, a=-0.75):
    """Keys' cubic convolution weights of the taps at -1, 0, 1, 2 for fractional offset t (a = -0.75, as torch)."""
    def near(z):                # |z| <= 1
        return ((a + 2) * z - (a + 3)) * z * z + 1

    def far(z):                 # 1 < |z| < 2
        return ((a * z - 5 * a) * z + 8 * a) * z - 4 * a
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _apply_matrix(x, dim, m):
    """x resized along dim by the (n_out, n_in) interpolation matrix m: one matmul (and its transpose backward).

    No transposes: the dims after `dim` are folded into one, so m multiplies contiguous (n_in, rest) blocks
    (a strided operand would send NumPy's matmul to a slow non-BLAS loop).
    """
    shape = tuple(x.shape)
    mt = Tensor._wrap(B.xp.asarray(m, dtype=x.dtype))
    if dim == x.ndim - 1:
        return x @ Tensor._wrap(B.xp.ascontiguousarray(m.T, dtype=x.dtype))
    rest = math.prod(shape[dim + 1:])
    y = mt @ x.reshape(*shape[:dim], shape[dim], rest)
    return y.reshape(*shape[:dim], m.shape[0], *shape[dim + 1:])


def _antialias_matrix(n_in, n_out, r, mode):
    """torch's antialiased weights (as PIL): when shrinking, the filter (triangle, or Keys' cubic with a = -0.5)
    is stretched by the scale, so every input under an output pixel contributes; each row is normalised."""
    def triangle(z):
        return B.xp.maximum(0.0, 1.0 - B.xp.abs(z))

    def cubic(z, a=-0.5):
        z = B.xp.abs(z)
        return B.xp.where(z < 1, ((a + 2) * z - (a + 3)) * z * z + 1,
                          B.xp.where(z < 2, ((a * z - 5 * a) * z + 8 * a) * z - 4 * a, 0.0))
    filt, width = (triangle, 1.0) if mode != "bicubic" else (cubic, 2.0)
    support = width * r if r >= 1.0 else width
    invscale = 1.0 / r if r >= 1.0 else 1.0
    m = B.xp.zeros((n_out, n_in))
    for o in range(n_out):
        center = r * (o + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n_in)
        w = filt((B.xp.arange(lo, hi) - center + 0.5) * invscale)
        m[o, lo:hi] = w / w.sum() if w.sum() != 0 else w
    return m


def _resize_dim(x, dim, n_out, scale, mode, align_corners, antialias=False):
    n_in = x.shape[dim]
    o = B.xp.arange(n_out, dtype=np.float64)
    if mode in ("nearest", "nearest-exact"):
        r = _ratio(n_in, n_out, scale, False)
        src = B.xp.floor((o + 0.5) * r) if mode == "nearest-exact" else B.xp.floor(o * r)
        src = B.xp.minimum(src.astype(np.int64), n_in - 1)
        k = n_out // n_in
        if n_out == k * n_in and (src == B.xp.arange(n_out) // k).all():
            # an integer upscale repeats each element k times: expand + reshape (its gradient is a sum)
            shape = tuple(x.shape)
            y = x.unsqueeze(dim + 1).expand(*shape[:dim + 1], k, *shape[dim + 1:])
            return y.reshape(*shape[:dim], n_out, *shape[dim + 1:])
        return _along(x, dim, src)
    # linear and cubic modes: each output is a fixed weighted sum of inputs, so one (n_out, n_in) matrix
    r = _ratio(n_in, n_out, scale, align_corners)
    if antialias:
        return _apply_matrix(x, dim, _antialias_matrix(n_in, n_out, r, mode))
    src = o * r if align_corners else (o + 0.5) * r - 0.5
    m = B.xp.zeros((n_out, n_in))
    rows = B.xp.arange(n_out)
    if mode == "bicubic":
        i0 = B.xp.floor(src).astype(np.int64)
        for t, w in zip(range(-1, 3), _cubic_weights(src - i0)):
            B.xp.add.at(m, (rows, B.xp.clip(i0 + t, 0, n_in - 1)), w)        # taps beyond the edge reuse it
        return _apply_matrix(x, dim, m)
    src = B.xp.maximum(src, 0.0)                                   # linear modes clamp below at 0 (as torch)
    i0 = B.xp.minimum(B.xp.floor(src).astype(np.int64), n_in - 1)
    i1 = B.xp.minimum(i0 + 1, n_in - 1)
    lam = src - i0
    B.xp.add.at(m, (rows, i0), 1 - lam)
    B.xp.add.at(m, (rows, i1), lam)
    return _apply_matrix(x, dim, m)


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dims of a (N, C, *spatial) input, as torch.nn.functional.interpolate.

    mode: 'nearest' (src = floor(dst * in/out)), 'nearest-exact' (floor((dst + 0.5) in/out)), 'linear' (3-D),
    'bilinear' / 'bicubic' (4-D), 'trilinear' (5-D) or 'area' (adaptive average pooling). antialias (bilinear,
    bicubic) widens the filter when shrinking, as torch and PIL. align_corners (linear modes only) maps the
    corner pixels' centres onto each other. Each dim is resized in turn (the modes are separable): a gather
    for nearest, one (n_out, n_in) matrix product for the others, so gradients come from those ops.
    Shape: (N, C, *in) -> (N, C, *size), size = floor(in * scale_factor) when scale_factor is given.
    Example:
        >>> F.interpolate(rd.ones(1, 3, 4, 4), scale_factor=2, mode="bilinear").shape
        (1, 3, 8, 8)
    """
    _check(input, "interpolate")
    if mode not in _MODES:
        raise NotImplementedError(f"interpolate: mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if input.ndim < 3:
        raise ValueError(f"interpolate: expected a 3-D, 4-D or 5-D input (N, C, *spatial), got shape "
                         f"{tuple(input.shape)}")
    need = _MODE_DIMS.get(mode)
    if need is not None and input.ndim - 2 != need:
        raise NotImplementedError(f"interpolate: mode {mode!r} needs a {need + 2}-D input, got shape "
                                  f"{tuple(input.shape)}")
    if align_corners is not None and need is None:
        raise ValueError(f"interpolate: align_corners option can only be set with the interpolating modes: "
                         f"linear | bilinear | bicubic | trilinear, got mode {mode!r}")
    if antialias and mode not in ("bilinear", "bicubic"):
        raise ValueError(f"interpolate: anti-alias option is restricted to bilinear and bicubic modes and requires a "
                         f"4-D tensor as input, got mode {mode!r}")
    sizes, scales = _output_sizes(input, size, scale_factor, recompute_scale_factor, "interpolate")
    if mode == "area":
        from . import pooling
        fn = {1: pooling.adaptive_avg_pool1d, 2: pooling.adaptive_avg_pool2d}.get(input.ndim - 2)
        if fn is None:
            from .pooling_nd import adaptive_avg_pool3d as fn
        return fn(input, sizes)
    out = input
    for d, (n_out, scale) in enumerate(zip(sizes, scales)):
        out = _resize_dim(out, d + 2, n_out, scale, mode, bool(align_corners), antialias)
    return out


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (torch warns the same)."""
    warnings.warn("nn.functional.upsample is deprecated. Use nn.functional.interpolate instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated: interpolate(input, size, scale_factor, mode='nearest')."""
    warnings.warn("nn.functional.upsample_nearest is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated: interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)."""
    warnings.warn("nn.functional.upsample_bilinear is deprecated. Use nn.functional.interpolate instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ----------------------------------------------------------------------------------- affine_grid / grid_sample
def _base_coords(n, align_corners, dtype):
    c = B.xp.linspace(-1.0, 1.0, n, dtype=np.float64) if n > 1 else B.xp.zeros(1)
    return (c if align_corners else c * (n - 1) / n).astype(dtype)


def affine_grid(theta, size, align_corners=None):
    """Sampling grid for grid_sample: the base grid of normalised (x, y[, z]) coordinates mapped by theta.

    theta (N, 2, 3) with size (N, C, H, W) -> grid (N, H, W, 2); theta (N, 3, 4) with size (N, C, D, H, W)
    -> grid (N, D, H, W, 3). align_corners=False (default) puts -1 and 1 on the outer pixels' edges.
    """
    _check(theta, "affine_grid")
    size = tuple(size)
    if len(size) not in (4, 5):
        raise ValueError(f"affine_grid: size must be (N, C, H, W) or (N, C, D, H, W), got {size}")
    k = len(size) - 2
    if theta.dtype.kind != "f" or tuple(theta.shape) != (size[0], k, k + 1):
        raise ValueError(f"affine_grid: expected a floating theta of shape ({size[0]}, {k}, {k + 1}) for size "
                         f"{size}, got {tuple(theta.shape)} {theta.dtype}")
    ac = bool(align_corners)
    axes = [_base_coords(s, ac, theta.dtype) for s in size[2:]]            # (D,) H, W
    mesh = B.xp.meshgrid(*axes, indexing="ij")                              # each (D,) H, W
    base = B.xp.stack(list(mesh[::-1]) + [B.xp.ones_like(mesh[0])], -1)            # x (W) first, then y, z, 1
    base = B.xp.asarray(base.reshape(1, -1, k + 1))
    grid = Tensor._wrap(base) @ theta.transpose(1, 2)                    # (N, P, k)
    return grid.reshape(size[0], *size[2:], k)


def _unnormalize(coord, size, align_corners):
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord, low2, high2):
    """Reflect coordinates into [low2 / 2, high2 / 2] (torch's reflect_coordinates)."""
    if low2 == high2:
        return coord * 0
    lo, span = low2 / 2, (high2 - low2) / 2
    c = (coord - lo).abs()
    flips = B.xp.floor(c.array / span)
    extra = c - flips * span
    return where(Tensor._wrap(B.xp.asarray(flips % 2 == 0)), extra + lo, (extra * -1) + (span + lo))


def _source_coord(coord, size, padding_mode, align_corners):
    c = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        c = c.clamp(0, size - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        c = c.clamp(0, size - 1)
    return c


def _tap(flat, index, sizes):
    """Values of flat (N, C, prod(sizes)) at integer positions index = [per spatial dim (N, *out)], zero
    outside the input: (N, C, *out)."""
    n, c = flat.shape[:2]
    inside = B.xp.ones(index[0].shape, bool)
    for i, size in zip(index, sizes):
        inside &= (i >= 0) & (i < size)
    pos = B.xp.zeros(index[0].shape, B.xp.int64)
    for i, size in zip(index, sizes):
        pos = pos * size + B.xp.clip(i, 0, size - 1)
    pos = B.xp.where(inside, pos, 0)
    out = pos.shape[1:]
    gathered = flat.gather(2, B.xp.broadcast_to(pos.reshape(n, 1, -1), (n, c, pos[0].size)))
    return gathered.reshape(n, c, *out) * B.xp.asarray(inside[:, None].astype(flat.dtype))


def grid_sample(input, grid, mode="bilinear", padding_mode="zeros", align_corners=None):
    """Sample the input at the normalised positions of grid (-1 = the left/top/front edge, 1 = the other one).

    4-D: input (N, C, H, W), grid (N, Ho, Wo, 2) holding (x, y); 5-D: input (N, C, D, H, W), grid
    (N, Do, Ho, Wo, 3) holding (x, y, z). mode 'bilinear' (trilinear in 5-D) | 'nearest' | 'bicubic' (4-D only);
    padding_mode 'zeros' | 'border' | 'reflection' (what lies outside the input); align_corners as in
    interpolate (default False). Differentiable in input and grid.
    Shape: (N, C, *in), (N, *out, k) -> (N, C, *out)
    """
    _check(input, "grid_sample")
    _check(grid, "grid_sample")
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"grid_sample: mode must be 'bilinear', 'nearest' or 'bicubic', got {mode!r}")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"grid_sample: padding_mode must be 'zeros', 'border' or 'reflection', got {padding_mode!r}")
    k = input.ndim - 2
    if input.ndim not in (4, 5) or grid.ndim != input.ndim or grid.shape[-1] != k or grid.shape[0] != input.shape[0]:
        raise RuntimeError(f"grid_sample: expected input (N, C, H, W) with grid (N, Ho, Wo, 2), or input "
                           f"(N, C, D, H, W) with grid (N, Do, Ho, Wo, 3), the same N, got input {tuple(input.shape)} "
                           f"and grid {tuple(grid.shape)}")
    if mode == "bicubic" and k == 3:
        raise RuntimeError("grid_sample: bicubic interpolation only supports 4-D input (as torch)")
    ac = bool(align_corners)
    n, c, *sizes = input.shape
    flat = input.reshape(n, c, math.prod(sizes))
    coords = [grid[..., k - 1 - d] for d in range(k)]                 # per input dim: z (D), y (H), x (W)
    if mode == "bicubic":
        # taps at floor - 1 .. floor + 2; border / reflection are applied to each tap's integer position
        pos = [_unnormalize(g, size, ac) for g, size in zip(coords, sizes)]
        base = [B.xp.floor(p.array) for p in pos]
        weights = [_cubic_weights(p - b) for p, b in zip(pos, base)]
        out = None
        for i in range(4):
            for j in range(4):
                iy, ix = base[0] + i - 1, base[1] + j - 1
                if padding_mode != "zeros":
                    iy, ix = _bounded(iy, sizes[0], padding_mode, ac), _bounded(ix, sizes[1], padding_mode, ac)
                term = _tap(flat, [iy.astype(np.int64), ix.astype(np.int64)], sizes)
                term = term * (weights[0][i] * weights[1][j]).unsqueeze(1)
                out = term if out is None else out + term
        return out
    pos = [_source_coord(g, size, padding_mode, ac) for g, size in zip(coords, sizes)]
    if mode == "nearest":
        index = [B.xp.rint(p.array).astype(np.int64) for p in pos]                     # half to even, as torch
        zero = pos[0] * 0
        for p in pos[1:]:
            zero = zero + p * 0
        return _tap(flat, index, sizes) + zero.unsqueeze(1)         # the grid gets a zero gradient, as torch
    base = [B.xp.floor(p.array) for p in pos]
    frac = [(p - b).unsqueeze(1) for p, b in zip(pos, base)]
    base = [b.astype(np.int64) for b in base]
    out = None
    for corner in range(2 ** k):                                     # the 4 (8) neighbours, weights multiplied
        bits = [(corner >> (k - 1 - d)) & 1 for d in range(k)]
        term = _tap(flat, [b + bit for b, bit in zip(base, bits)], sizes)
        for f, bit in zip(frac, bits):
            term = term * (f if bit else 1 - f)
        out = term if out is None else out + term
    return out


def _bounded(i, size, padding_mode, align_corners):
    """An integer tap position moved inside the image by border or reflection padding (bicubic taps)."""
    i = i.astype(np.float64)
    if padding_mode == "reflection":
        low2, high2 = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        if low2 != high2:
            lo, span = low2 / 2, (high2 - low2) / 2
            cc = B.xp.abs(i - lo)
            flips = B.xp.floor(cc / span)
            extra = cc - flips * span
            i = B.xp.where(flips % 2 == 0, extra + lo, span - extra + lo)
        else:
            i = B.xp.zeros_like(i)
    return B.xp.clip(i, 0, size - 1)
