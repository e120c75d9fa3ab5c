"""Convolution and pooling primitives (fused ops): conv1d/conv2d, conv_transpose2d, max/avg/adaptive pooling.

Tensors are NCHW at the API (as torch); the work is done channels-last (NHWC), chosen by measurement:
  - im2col: one copy of the padded NHWC input into cols (N*Ho*Wo, kh*kw*C) through a strided window view,
    then ONE GEMM with the weight (O, kh*kw*C). Rows hold contiguous runs of C, so the copy streams.
  - the output is the GEMM's (N*Ho*Wo, O) result viewed as (N, O, Ho, Wo): NHWC memory under an NCHW
    shape. Element-wise ops keep that memory order, so the next conv/pool reads NHWC without a transpose.
  - dW = dy^T @ cols (cols kept from forward), db = ones @ dy (a GEMV: 10x faster than a column sum).
  - dx: one small GEMM per kernel offset, dy (M, O) @ W[:, :, i, j] (O, C), added into a strided slice of
    the padded input gradient (9 slice-adds over (N, H, W, C)); measured 2x faster than one big GEMM plus
    col2im and than a transposed-conv im2col of dy. A gradient is an NHWC view too.
Groups run as batched GEMMs over a (g, rows, cols) view of the same buffers. 1-D ops are the 2-D ones on
(N, C, 1, L). No op here has a differentiable backward (create_graph through a conv raises clearly).

Pooling works on strided window views of the NHWC input; max pooling keeps the argmax (first max on ties,
as torch) and its backward adds dy at the argmax, one kernel offset at a time.
"""
import numpy as np

from .. import backend as B
from ..autograd import Function


def _strided(a, shape, strides):
    return B.xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def _nhwc(x):
    """(N, C, H, W) -> (N, H, W, C) view: contiguous when x came from a redes conv or pool."""
    return x.transpose(0, 2, 3, 1)


def _nchw(xh):
    return xh.transpose(0, 3, 1, 2)


def out_size(size, pad_lo, pad_hi, k, s, d, ceil_mode=False):
    """Output length of a window of k taps (dilation d) at stride s over size + pads (torch's formula)."""
    span = size + pad_lo + pad_hi - d * (k - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + pad_lo:        # the last window must start inside the input or left padding
            out -= 1
        return out
    return span // s + 1


def _pad(xh, pads, value=0.0):
    """(N, H, W, C) padded to (N, H+pt+pb, W+pl+pr, C) with value: a new array, borders written once."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return xh
    n, h, w, c = xh.shape
    out = B.xp.empty((n, h + pt + pb, w + pl + pr, c), xh.dtype)
    out[:, :pt] = value
    out[:, pt + h:] = value
    out[:, pt:pt + h, :pl] = value
    out[:, pt:pt + h, pl + w:] = value
    out[:, pt:pt + h, pl:pl + w] = xh
    return out


def _tap(a, i, j, stride, dil, ho, wo):
    """The (N, ho, wo, C) slice of padded a read by kernel tap (i, j): a[:, i*dh + sh*oh, j*dw + sw*ow]."""
    (sh, sw), (dh, dw) = stride, dil
    return a[:, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw]


def _windows(xp_, k, stride, dil, ho, wo):
    """Strided view (N, ho, wo, C, kh, kw) of the windows of padded NHWC xp_ (no copy)."""
    n, _, _, c = xp_.shape
    s_n, s_h, s_w, s_c = xp_.strides
    (kh, kw), (sh, sw), (dh, dw) = k, stride, dil
    return _strided(xp_, (n, ho, wo, c, kh, kw), (s_n, sh * s_h, sw * s_w, s_c, dh * s_h, dw * s_w))


# ----------------------------------------------------------------------------------- convolution core
def _im2col(xp_, g, k, stride, dil, ho, wo):
    """cols (N*ho*wo, g, kh*kw*Cg): for each output pixel and group, its window ordered (kh, kw, Cg)."""
    n, _, _, c = xp_.shape
    cg = c // g
    (kh, kw), (sh, sw), (dh, dw) = k, stride, dil
    cols = B.xp.empty((n, ho, wo, g, kh, kw, cg), xp_.dtype)
    if cg < 4:
        # NOTE: few channels: kh*kw slice copies beat one copy through a 7-D view (measured 5x for C=1)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, :, :, i, j, :] = _tap(xp_, i, j, stride, dil, ho, wo).reshape(n, ho, wo, g, cg)
    else:
        s_n, s_h, s_w, s_c = xp_.strides
        cols[...] = _strided(xp_, cols.shape, (s_n, sh * s_h, sw * s_w, cg * s_c, dh * s_h, dw * s_w, s_c))
    return cols.reshape(n * ho * wo, g, kh * kw * cg)


def _weight_matrix(w, g):
    """(O, Cg, kh, kw) -> (g, Og, kh*kw*Cg), columns in the (kh, kw, Cg) order of the cols."""
    o = w.shape[0]
    return w.transpose(0, 2, 3, 1).reshape(g, o // g, -1)


def _gemm_groups(a, b, g):
    """(M, g, K) x (g, K', ...) helpers: a @ b per group, as one 2-D GEMM when g == 1."""
    if g == 1:
        return B.xp.matmul(a[:, 0], b[0])[:, None]
    return B.xp.matmul(a.transpose(1, 0, 2), b).transpose(1, 0, 2)


def _conv_forward(xh, w, b, stride, pads, dil, g):
    """y2 (N*ho*wo, O) = im2col(pad(xh)) @ W^T + b; returns (y2, cols, ho, wo)."""
    n, h, wd, _ = xh.shape
    o, _, kh, kw = w.shape
    ho = out_size(h, *pads[0], kh, stride[0], dil[0])
    wo = out_size(wd, *pads[1], kw, stride[1], dil[1])
    xpad = _pad(xh, pads)
    kern, xc = B.fused_copy(xpad) if g == 1 and xh.shape[3] >= 4 else (None, xpad)    # (fewer channels: _im2col)
    if kern is not None:
        y2, cols = _conv_forward_compiled(kern, xc, w, b, stride, dil, ho, wo)
        return y2, cols, ho, wo
    cols = _im2col(xpad, g, (kh, kw), stride, dil, ho, wo)
    y2 = _gemm_groups(cols, _weight_matrix(w, g).transpose(0, 2, 1), g).reshape(-1, o)
    if b is not None:
        y2 += b
    return y2, cols, ho, wo


_CHUNK_ROWS = 4096      # output pixels per chunk: columns still in cache for the GEMM, GEMMs not yet too small
_SMALL_DW = 1024        # dW of at most this many values is summed over row chunks (see _conv_dweight)


def _conv_forward_compiled(kern, xc, w, b, stride, dil, ho, wo):
    """_conv_forward for groups = 1 with the compiled im2col, a few images at a time: each chunk's columns go
    from im2col to the GEMM while in cache (the benchmark CNN's conv2 forward: 1.15 -> 1.02 ms; chunks of
    1024 rows were slower, their GEMMs too small). Returns (y2, cols), cols (N*ho*wo, 1, kh*kw*C) kept for dW."""
    n, hp, wp, c = xc.shape
    o, _, kh, kw = w.shape
    k = kh * kw * c
    cols = B.xp.empty((n, ho, wo, kh, kw, c), xc.dtype)
    y2 = B.xp.empty((n * ho * wo, o), xc.dtype)
    wt = B.xp.ascontiguousarray(_weight_matrix(w, 1)[0].T)            # (K, O)
    per = max(1, _CHUNK_ROWS // (ho * wo))
    for s in range(0, n, per):
        e = min(n, s + per)
        kern.im2col(xc[s:e], cols[s:e], e - s, hp, wp, c, ho, wo, kh, kw, *stride, *dil)
        rows = y2[s * ho * wo:e * ho * wo]
        B.xp.matmul(cols[s:e].reshape(-1, k), wt, out=rows)
        if b is not None:
            rows += b
    return y2, cols.reshape(n * ho * wo, 1, k)


def _conv_dweight(dy2, cols, w_shape, g):
    """dW (O, Cg, kh, kw) = dy^T @ cols, per group."""
    o, cg, kh, kw = w_shape
    m = dy2.shape[0]
    if g == 1 and o * cols.shape[2] <= _SMALL_DW and m > 2 * _CHUNK_ROWS:
        # NOTE: a tiny dW over very many rows (a first conv: 16 x 9 from 50,176 pixels) ran 2.4x faster as a sum of
        # GEMMs over row chunks than as one GEMM; for larger dW (conv2's 32 x 144) chunks gained nothing
        dw = B.xp.matmul(dy2[:_CHUNK_ROWS].T, cols[:_CHUNK_ROWS, 0])
        for s in range(_CHUNK_ROWS, m, _CHUNK_ROWS):
            dw += B.xp.matmul(dy2[s:s + _CHUNK_ROWS].T, cols[s:s + _CHUNK_ROWS, 0])
    elif g == 1:
        dw = B.xp.matmul(dy2.T, cols[:, 0])
    else:
        dw = B.xp.matmul(dy2.reshape(m, g, o // g).transpose(1, 2, 0), cols.transpose(1, 0, 2))
    return B.xp.ascontiguousarray(dw.reshape(o, kh, kw, cg).transpose(0, 3, 1, 2))


def _conv_dinput(dy2, w, x_hw, out_hw, stride, pads, dil, g, n):
    """dx (N, H, W, C) of a conv, from dy2 (N*ho*wo, O): per kernel tap, dy @ W_tap added into its slice."""
    o, cg, kh, kw = w.shape
    (h, wd), (ho, wo) = x_hw, out_hw
    (pt, pb), (pl, pr) = pads
    c = cg * g
    dxp = B.xp.zeros((n, h + pt + pb, wd + pl + pr, c), dy2.dtype)
    # (dy2 only feeds the GEMMs, in any layout; the kernel writes dxp.) With fewer channels, slices are faster.
    kern = B.fused(dxp) if g == 1 and c >= 4 else None
    if kern is not None:            # a few images at a time: one GEMM for all taps, then col2im (a smaller buffer)
        wm = _weight_matrix(w, 1)[0]                                   # (O, kh*kw*C)
        per = max(1, _CHUNK_ROWS // (ho * wo))
        dcols = B.xp.empty((min(per, n) * ho * wo, wm.shape[1]), dy2.dtype)      # reused by every chunk
        for s in range(0, n, per):
            e = min(n, s + per)
            part = dcols[:(e - s) * ho * wo]
            B.xp.matmul(dy2[s * ho * wo:e * ho * wo], wm, out=part)
            kern.col2im(dxp[s:e], part, e - s, *dxp.shape[1:], ho, wo, kh, kw, *stride, *dil)
        return dxp[:, pt:pt + h, pl:pl + wd]
    wt = w.transpose(2, 3, 0, 1)                                  # (kh, kw, O, Cg)
    dyg = dy2.reshape(-1, g, o // g)
    for i in range(kh):
        for j in range(kw):
            if g == 1:
                t = B.xp.matmul(dy2, wt[i, j])
            else:
                t = B.xp.matmul(dyg.transpose(1, 0, 2), wt[i, j].reshape(g, o // g, cg)).transpose(1, 0, 2)
            _tap(dxp, i, j, stride, dil, ho, wo)[...] += t.reshape(n, ho, wo, c)
    # NOTE: windows that stop short of the padded end (stride remainder) leave those rows zero, as they should
    return dxp[:, pt:pt + h, pl:pl + wd]


def _fit(size, pad_lo, k, s, d, out):
    """(rows to keep, high padding) so that a conv over size + pads gives exactly `out` outputs."""
    hi = (out - 1) * s + d * (k - 1) + 1 - pad_lo - size
    return (size, hi) if hi >= 0 else (size + hi, 0)


def _as_2d(x, w):
    """1-D ops run as 2-D on (N, C, 1, L) views."""
    return (x[:, :, None, :], w[:, :, None, :]) if x.ndim == 3 else (x, w)


class Conv2d(Function):
    """y = conv(x, W) + b, cross-correlation over (N, C, H, W) (or (N, C, L) for conv1d), as torch.

    Options: stride (sh, sw), padding ((top, bottom), (left, right)) of zeros, dilation (dh, dw), groups.
    Backward: dW = dy^T im2col(x); db = sum of dy over (N, H, W); dx = sum over taps of dy @ W_tap into x's slices.
    """
    differentiable_backward = False

    def forward(self, x, w, b=None, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1):
        self.opts = (stride, padding, dilation, groups)
        x4, w4 = _as_2d(x, w)
        y2, cols, ho, wo = _conv_forward(_nhwc(x4), w4, b, stride, padding, dilation, groups)
        self.cols = cols
        y = _nchw(y2.reshape(x.shape[0], ho, wo, w.shape[0]))
        return y[:, :, 0] if x.ndim == 3 else y

    def backward(self, m, dy, y, x, w, b=None):
        stride, pads, dil, g = self.opts
        x4, w4 = _as_2d(x, w)
        dy4 = dy[:, :, None] if dy.ndim == 3 else dy
        n, _, ho, wo = dy4.shape
        dy2 = _nhwc(dy4).reshape(-1, w.shape[0])
        dx = dw = db = None
        if self.needs[0]:
            dx = _nchw(_conv_dinput(dy2, w4, x4.shape[2:], (ho, wo), stride, pads, dil, g, n))
            dx = dx[:, :, 0] if x.ndim == 3 else dx
        if self.needs[1]:
            dw = _conv_dweight(dy2, self.cols, w4.shape, g).reshape(w.shape)
        if b is not None and self.needs[2]:
            db = B.xp.matmul(B.ones(dy2.shape[0], dy2.dtype), dy2)
        return dx, dw, db


class Conv1d(Conv2d):
    """conv2d on (N, C, 1, L): the same op, named for graphs."""


class ConvTranspose2d(Function):
    """y = conv_transpose(x, W) + b: the gradient of conv2d with respect to its input, as torch.

    W is (C_in, C_out / groups, kh, kw). Options: stride, padding ((top, bottom), (left, right)), dilation,
    groups, out_hw (the output's (H, W), which carries output_padding).
    Backward: dx = conv2d(dy, W); dW = x^T im2col(dy) (the roles of conv2d's dW swapped); db = sum of dy.
    """
    differentiable_backward = False

    def forward(self, x, w, b=None, stride=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1,
                out_hw=(1, 1)):
        self.opts = (stride, padding, dilation, groups)
        x4, w4 = _as_2d(x, w)
        n, c_in, h, wd = x4.shape
        x2 = _nhwc(x4).reshape(-1, c_in)
        yh = _conv_dinput(x2, w4, out_hw, (h, wd), stride, padding, dilation, groups, n)
        if b is not None:
            yh = yh + b                               # the padded buffer's slice: add into a fresh array
        y = _nchw(yh)
        return y[:, :, 0] if x.ndim == 3 else y

    def backward(self, m, dy, y, x, w, b=None):
        stride, pads, dil, g = self.opts
        x4, w4 = _as_2d(x, w)
        dy4 = dy[:, :, None] if dy.ndim == 3 else dy
        n, c_in, h, wd = x4.shape
        dx = dw = db = None
        if self.needs[0] or self.needs[1]:
            # output_padding may leave rows/cols of dy that no input pixel reaches: crop them off
            (rh, ph), (rw, pw) = (_fit(dy4.shape[2 + a], pads[a][0], w4.shape[2 + a], stride[a], dil[a], (h, wd)[a])
                                  for a in (0, 1))
            dyh = _nhwc(dy4)[:, :rh, :rw]
            fit = ((pads[0][0], ph), (pads[1][0], pw))
            dx2, cols, _, _ = _conv_forward(dyh, w4, None, stride, fit, dil, g)
            if self.needs[0]:
                dx = _nchw(dx2.reshape(n, h, wd, c_in))
                dx = dx[:, :, 0] if x.ndim == 3 else dx
            if self.needs[1]:
                dw = _conv_dweight(_nhwc(x4).reshape(-1, c_in), cols, w4.shape, g).reshape(w.shape)
        if b is not None and self.needs[2]:
            dyh = _nhwc(dy4).reshape(-1, dy4.shape[1])
            db = B.xp.matmul(B.ones(dyh.shape[0], dyh.dtype), dyh)
        return dx, dw, db


class ConvTranspose1d(ConvTranspose2d):
    """conv_transpose2d on (N, C, 1, L)."""


# ----------------------------------------------------------------------------------- pooling
def _pool_geometry(hw, k, stride, pad, dil, ceil_mode):
    """Output (ho, wo) and padding ((top, bottom), (left, right)) that make every window complete.

    The high side gets whatever the last window needs: more than `pad` in ceil mode, less (nothing) when
    the stride skips the input's last rows.
    """
    outs, pads = [], []
    for a in (0, 1):
        o = out_size(hw[a], pad[a], pad[a], k[a], stride[a], dil[a], ceil_mode)
        hi = (o - 1) * stride[a] + dil[a] * (k[a] - 1) + 1 - pad[a] - hw[a]
        outs.append(o)
        pads.append((pad[a], max(hi, 0)))
    return tuple(outs), tuple(pads)


def _taps(k):
    return [(i, j) for i in range(k[0]) for j in range(k[1])]


def _scatter_taps(dxp, k, stride, dil, ho, wo, values):
    """dxp[tap slice] += values(t) for each kernel tap t (= when windows cannot overlap: one write per cell)."""
    disjoint = dil == (1, 1) and stride[0] >= k[0] and stride[1] >= k[1]
    for t, (i, j) in enumerate(_taps(k)):
        view = _tap(dxp, i, j, stride, dil, ho, wo)
        if disjoint:
            values(t, view)
        else:
            view += values(t, None)


def _unpad(xh_shape, pads, dxp):
    (pt, _), (pl, _) = pads
    return dxp[:, pt:pt + xh_shape[1], pl:pl + xh_shape[2]]


def _as_4d(x):
    return x[:, :, None, :] if x.ndim == 3 else x


def _like_input(y, x):
    return y[:, :, 0] if x.ndim == 3 else y


class MaxPool2d(Function):
    """y = max over each window (kernel, stride, padding with -inf, dilation, ceil_mode), as torch.

    Forward keeps the argmax as a kernel-tap number (the first max on ties, NaN counts as the max).
    Backward: dx = dy added at each window's argmax.
    """
    differentiable_backward = False

    def forward(self, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), dilation=(1, 1), ceil_mode=False):
        x4 = _as_4d(x)
        xh = _nhwc(x4)
        (ho, wo), pads = _pool_geometry(xh.shape[1:3], kernel, stride, padding, dilation, ceil_mode)
        self.geom = (kernel, stride, dilation, pads, (ho, wo), xh.shape)
        xp_ = _pad(xh, pads, -float("inf"))
        taps = _taps(kernel)
        kern, xc = B.fused_copy(xp_) if len(taps) < 32768 else (None, xp_)
        if kern is not None:                    # the compiled loop: max, argmax and the NaN rule in one pass
            best = B.xp.empty((xc.shape[0], ho, wo, xc.shape[3]), xc.dtype)
            self.arg = B.xp.empty(best.shape, B.xp.int16)
            kern.maxpool2d_forward(xc, best, self.arg, *xc.shape, ho, wo, *kernel, *stride, *dilation)
            return _like_input(_nchw(best), x)
        best = _tap(xp_, 0, 0, stride, dilation, ho, wo).copy()
        arg = B.xp.zeros(best.shape, B.xp.int16 if len(taps) < 32000 else B.xp.int32)
        for t, (i, j) in enumerate(taps[1:], 1):
            v = _tap(xp_, i, j, stride, dilation, ho, wo)
            better = v > best                          # strict >: ties keep the first max, as torch
            B.xp.maximum(best, v, out=best)
            arg -= better * (arg - t)                  # arg = t where better (~10x faster than copyto/where)
        if B.xp.isnan(best).any():
            self._nan_argmax(xp_, taps, arg)
        self.arg = arg
        return _like_input(_nchw(best), x)

    def _nan_argmax(self, xp_, taps, arg):
        """torch's rule where NaNs are present: a NaN is the max (the last NaN of the window wins)."""
        kernel, stride, dil, pads, (ho, wo), shape = self.geom
        for t, (i, j) in enumerate(taps):
            nan = B.xp.isnan(_tap(xp_, i, j, stride, dil, ho, wo))
            arg -= nan * (arg - t)

    def indices(self):
        """torch's return_indices: for each output, the argmax's flat position h * W + w in the input plane."""
        kernel, stride, dil, pads, (ho, wo), shape = self.geom
        i, j = B.xp.divmod(self.arg.astype(B.xp.int64), kernel[1])
        h = (B.xp.arange(ho) * stride[0] - pads[0][0])[:, None, None] + i * dil[0]
        w = (B.xp.arange(wo) * stride[1] - pads[1][0])[None, :, None] + j * dil[1]
        return _nchw(h * shape[2] + w)

    def backward(self, m, dy, y, x):
        kernel, stride, dil, pads, (ho, wo), shape = self.geom
        dyh = _nhwc(_as_4d(dy))
        dx_shape = (shape[0], shape[1] + sum(pads[0]), shape[2] + sum(pads[1]), shape[3])
        kern, dyc = B.fused_copy(dyh) if self.arg.dtype == B.xp.int16 else (None, dyh)
        if kern is not None:
            # windows that tile the input (the usual 2x2 pool) write every cell: no zeroing pass first
            tiled = kernel == stride and dil == (1, 1) and (ho * stride[0], wo * stride[1]) == dx_shape[1:3]
            dxp = (B.xp.empty if tiled else B.xp.zeros)(dx_shape, dy.dtype)
            kern.maxpool2d_backward(dyc, self.arg, dxp, int(tiled), *dx_shape, ho, wo, *kernel, *stride, *dil)
            return (_like_input(_nchw(_unpad(shape, pads, dxp)), x),)
        dxp = B.xp.zeros(dx_shape, dy.dtype)

        def values(t, out):
            hit = self.arg == t
            return B.xp.multiply(dyh, hit, out=out) if out is not None else dyh * hit      # not where(): 10x faster
        _scatter_taps(dxp, kernel, stride, dil, ho, wo, values)
        return (_like_input(_nchw(_unpad(shape, pads, dxp)), x),)


class MaxPool1d(MaxPool2d):
    """max_pool2d on (N, C, 1, L)."""


def _avg_divisor(hw, k, stride, pad, out_hw, count_include_pad, divisor_override, dtype):
    """torch's avg_pool divisor per output cell: the window clipped to input + padding (count_include_pad)
    or to the input alone; a Python float when it is the same everywhere."""
    if divisor_override:
        return float(divisor_override)
    sizes = []
    for a in (0, 1):
        start = np.arange(out_hw[a]) * stride[a] - pad[a]                # host-side: window geometry
        end = np.minimum(start + k[a], hw[a] + pad[a])                    # host-side
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, hw[a])     # host-side
        sizes.append(end - start)
    div = sizes[0][:, None] * sizes[1][None, :]
    if (div == div.flat[0]).all():
        return float(div.flat[0])
    return B.xp.asarray(div[:, :, None].astype(dtype))


class AvgPool2d(Function):
    """y = sum over each window / divisor (zero padding; torch's count_include_pad and divisor_override).

    Backward: dx = dy / divisor added to every cell of the window.
    """
    differentiable_backward = False

    def forward(self, x, kernel=(1, 1), stride=(1, 1), padding=(0, 0), ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        x4 = _as_4d(x)
        xh = _nhwc(x4)
        (ho, wo), pads = _pool_geometry(xh.shape[1:3], kernel, stride, padding, (1, 1), ceil_mode)
        self.geom = (kernel, stride, pads, (ho, wo), xh.shape)
        self.div = _avg_divisor(xh.shape[1:3], kernel, stride, padding, (ho, wo), count_include_pad,
                                divisor_override, x.dtype)
        xp_ = _pad(xh, pads)
        total = _tap(xp_, 0, 0, stride, (1, 1), ho, wo).copy()
        for i, j in _taps(kernel)[1:]:
            total += _tap(xp_, i, j, stride, (1, 1), ho, wo)
        total /= self.div
        return _like_input(_nchw(total), x)

    def backward(self, m, dy, y, x):
        kernel, stride, pads, (ho, wo), shape = self.geom
        g = _nhwc(_as_4d(dy)) / self.div
        dxp = B.xp.zeros((shape[0], shape[1] + sum(pads[0]), shape[2] + sum(pads[1]), shape[3]), dy.dtype)

        def values(t, out):
            if out is None:
                return g
            out[...] = g
        _scatter_taps(dxp, kernel, stride, (1, 1), ho, wo, values)
        return (_like_input(_nchw(_unpad(shape, pads, dxp)), x),)


class AvgPool1d(AvgPool2d):
    """avg_pool2d on (N, C, 1, L)."""


def adaptive_windows(size, out):
    """torch's adaptive windows along one dim: [floor(i*size/out), ceil((i+1)*size/out)) for i < out."""
    i = np.arange(out)                      # host-side: window bounds
    return (i * size) // out, -((-(i + 1) * size) // out)


class AdaptiveAvgPool2d(Function):
    """y = mean over adaptive windows, as separable averaging matrices: y = A_h x A_w^T per (n, c).

    Backward: dx = A_h^T dy A_w. (Evenly divisible sizes go through avg_pool2d, which is faster.)
    """
    differentiable_backward = False

    def forward(self, x, output_size=(1, 1)):
        x4 = _as_4d(x)
        mats = []
        for size, out in zip(x4.shape[2:], output_size):
            start, end = adaptive_windows(size, out)
            a = np.zeros((out, size))                             # host-side, moved below
            for o in range(out):
                a[o, start[o]:end[o]] = 1.0 / (end[o] - start[o])
            mats.append(B.xp.asarray(a.astype(x.dtype)))
        self.ah, self.aw = mats
        y = B.xp.matmul(B.xp.matmul(self.ah, x4), self.aw.T)        # (N, C, Ho, Wo)
        return _like_input(y, x)

    def backward(self, m, dy, y, x):
        dx = B.xp.matmul(B.xp.matmul(self.ah.T, _as_4d(dy)), self.aw)
        return (_like_input(dx, x),)


class AdaptiveMaxPool2d(Function):
    """y = max over adaptive windows (torch's floor/ceil bounds); the argmax is kept (first max on ties).

    Windows are gathered tap by tap with clipped indices (a clipped tap repeats the window's last cell,
    which never wins a strict comparison). Backward: dx = dy added at the argmax (np.add.at: windows may
    overlap).
    """
    differentiable_backward = False

    def forward(self, x, output_size=(1, 1)):
        x4 = _as_4d(x)
        xh = _nhwc(x4)
        idx = []
        for size, out in zip(xh.shape[1:3], output_size):
            start, end = adaptive_windows(size, out)
            k = int((end - start).max())
            idx.append(B.xp.asarray(np.minimum(start[:, None] + np.arange(k)[None, :], end[:, None] - 1)))  # host-side
        ih, iw = idx
        kh, kw = ih.shape[1], iw.shape[1]
        best = pos_h = pos_w = None
        for a in range(kh):
            rows = xh[:, ih[:, a]]
            for b in range(kw):
                v = rows[:, :, iw[:, b]]
                if best is None:
                    best = v.copy()
                    pos_h = B.xp.broadcast_to(ih[:, a][None, :, None, None], v.shape).copy()
                    pos_w = B.xp.broadcast_to(iw[:, b][None, None, :, None], v.shape).copy()
                    continue
                better = (v > best) | (v != v)
                B.xp.copyto(best, v, where=better)
                B.xp.copyto(pos_h, ih[:, a][None, :, None, None], where=better)
                B.xp.copyto(pos_w, iw[:, b][None, None, :, None], where=better)
        self.pos = (pos_h, pos_w)
        self.shape = xh.shape
        return _like_input(_nchw(best), x)

    def indices(self):
        pos_h, pos_w = self.pos
        return _nchw(pos_h.astype(B.xp.int64) * self.shape[2] + pos_w)

    def backward(self, m, dy, y, x):
        n, h, w, c = self.shape
        dxh = B.xp.zeros(self.shape, dy.dtype)
        pos_h, pos_w = self.pos
        nn_ = B.xp.arange(n)[:, None, None, None]
        cc = B.xp.arange(c)[None, None, None, :]
        B.xp.add.at(dxh, (nn_, pos_h, pos_w, cc), _nhwc(_as_4d(dy)))
        return (_like_input(_nchw(dxh), x),)


OPS = {"conv1d": Conv1d, "conv2d": Conv2d, "conv_transpose1d": ConvTranspose1d, "conv_transpose2d": ConvTranspose2d,
       "max_pool1d": MaxPool1d, "max_pool2d": MaxPool2d, "avg_pool1d": AvgPool1d, "avg_pool2d": AvgPool2d,
       "adaptive_avg_pool2d": AdaptiveAvgPool2d, "adaptive_max_pool2d": AdaptiveMaxPool2d}
