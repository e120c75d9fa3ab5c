"""Convolution primitives (fused ops): conv1d/conv2d and conv_transpose1d/2d.

Tensors are NCHW at the API (as torch); the work is done channels-last (NHWC), chosen by measurement:
  - im2col: one copy of the padded NHWC input into cols (N*Ho*Wo, kh*kw*C) through a strided window view,
    then ONE GEMM with the weight (O, kh*kw*C). Rows hold contiguous runs of C, so the copy streams.
  - the output is the GEMM's (N*Ho*Wo, O) result viewed as (N, O, Ho, Wo): NHWC memory under an NCHW
    shape. Element-wise ops keep that memory order, so the next conv/pool reads NHWC without a transpose.
  - dW = dy^T @ cols (cols kept from forward), db = ones @ dy (a GEMV: 10x faster than a column sum).
  - dx, with the compiled kernels (float32/float64, ungrouped, 4+ channels): ONE GEMM dy (M, O) @ W (O, kh*kw*C)
    per chunk of images into a column buffer, then col2im adds each column into its place in the padded input
    gradient. Without them (or with groups, or few channels): one small GEMM per kernel tap, added into a
    strided slice of the padded input gradient; NumPy has no col2im, and a Python col2im is the same slice-adds.
    A gradient is an NHWC view too.
Groups run as batched GEMMs over a (g, rows, cols) view of the same buffers. 1-D ops are the 2-D ones on
(N, C, 1, L). No op here has a differentiable backward (create_graph through a conv raises clearly).
Pooling is in pooling.py; the window helpers both use are in windows.py.
"""
from .. import backend as B
from ..autograd import Function
from .windows import _nchw, _nhwc, _pad, _strided, _tap, out_size


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
    c = xh.shape[3]
    kern, xc = B.fused_copy(xpad) if g == 1 and (c >= 4 or c * kh * kw <= _DIRECT_MAX_K) else (None, xpad)
    if kern is not None and c < 4:
        return _conv_forward_direct(kern, xc, w, b, stride, dil, ho, wo), (kern, xc, stride, dil), ho, wo
    if kern is not None:
        y2, cols = _conv_forward_compiled(kern, xc, w, b, stride, dil, ho, wo)
        return y2, cols, ho, wo
    cols = _im2col(xpad, g, (kh, kw), stride, dil, ho, wo)
    y2 = _gemm_groups(cols, _weight_matrix(w, g).transpose(0, 2, 1), g).reshape(-1, o)
    if b is not None:
        y2 += b
    return y2, cols, ho, wo


# A conv on fewer than 4 channels whose window holds at most this many values runs the compiled direct kernels
# (forward and dW), without im2col: the benchmark CNN's first conv (1 channel, 3x3, 16 out) forward 1.16 -> 0.3 ms,
# dW 0.41 -> 0.29 ms.
_DIRECT_MAX_K = 32
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


def _conv_forward_direct(kern, xc, w, b, stride, dil, ho, wo):
    """y2 (N*ho*wo, O) of a conv with a small window (few channels, groups = 1), straight from the padded
    float32 NHWC input xc: no columns are made (dW reads xc again, _conv_dweight)."""
    n, hp, wp, c = xc.shape
    o, _, kh, kw = w.shape
    y2 = B.xp.empty((n * ho * wo, o), xc.dtype)
    wk = B.xp.ascontiguousarray(_weight_matrix(w, 1)[0].T)            # (kh*kw*C, O)
    bias = None if b is None else B.xp.ascontiguousarray(b)
    kern.conv_small_forward(xc, wk, bias, y2, o, n, hp, wp, c, ho, wo, kh, kw, *stride, *dil)
    return y2


def _conv_dweight(dy2, cols, w_shape, g):
    """dW (O, Cg, kh, kw) = dy^T @ cols, per group. cols: the columns _conv_forward kept, or its direct path's
    (kernels, padded input, stride, dilation)."""
    o, cg, kh, kw = w_shape
    m = dy2.shape[0]
    if type(cols) is tuple:
        kern, xc, stride, dil = cols
        n, hp, wp, c = xc.shape
        ho, wo = out_size(hp, 0, 0, kh, stride[0], dil[0]), out_size(wp, 0, 0, kw, stride[1], dil[1])
        dw = B.xp.empty((kh * kw * c, o), xc.dtype)
        kern.conv_small_dweight(xc, B.xp.ascontiguousarray(dy2, xc.dtype), dw, o, n, hp, wp, c, ho, wo, kh, kw,
                                *stride, *dil)
        return B.xp.ascontiguousarray(dw.reshape(kh, kw, cg, o).transpose(3, 2, 0, 1))
    if g == 1 and o * cols.shape[2] <= _SMALL_DW and m > 2 * _CHUNK_ROWS:
        # NOTE: a tiny dW over very many rows (a first conv: 16 x 9 from 50,176 pixels) ran 2.4x faster as a sum of
        # GEMMs over row chunks than as one GEMM; for larger dW (conv2's 32 x 144) chunks gained nothing
        dw = B.xp.matmul(dy2[:_CHUNK_ROWS].T, cols[:_CHUNK_ROWS, 0])
        for s in range(_CHUNK_ROWS, m, _CHUNK_ROWS):
            dw += B.xp.matmul(dy2[s:s + _CHUNK_ROWS].T, cols[s:s + _CHUNK_ROWS, 0])
    elif g == 1:
        # NOTE: as (cols^T dy)^T: OpenBLAS ran the (K, M) @ (M, O) product 1.4x faster than (O, M) @ (M, K) on the
        # benchmark CNN's second conv (0.75 vs 1.07 ms)
        dw = B.xp.matmul(cols[:, 0].T, dy2).T
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


class Conv2dOp(Function):
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


class Conv1dOp(Conv2dOp):
    """conv2d on (N, C, 1, L): the same op, named for graphs."""


class ConvTranspose2dOp(Function):
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


class ConvTranspose1dOp(ConvTranspose2dOp):
    """conv_transpose2d on (N, C, 1, L)."""


OPS = {"conv1d": Conv1dOp, "conv2d": Conv2dOp, "conv_transpose1d": ConvTranspose1dOp, "conv_transpose2d": ConvTranspose2dOp}
