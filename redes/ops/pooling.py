"""Pooling primitives (fused ops): max/avg pooling (1-D and 2-D) and adaptive avg/max pooling.

Pooling works on strided window views of the NHWC input (see windows.py); max pooling keeps the argmax (first
max on ties, as torch) and its backward adds dy at the argmax, one kernel offset at a time. 1-D ops are the
2-D ones on (N, C, 1, L). No op here has a differentiable backward.
"""
import numpy as np

from .. import backend as B
from ..autograd import Function
from .windows import _nchw, _nhwc, _pad, _tap, out_size


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


class MaxPool2dOp(Function):
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


class MaxPool1dOp(MaxPool2dOp):
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


class AvgPool2dOp(Function):
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


class AvgPool1dOp(AvgPool2dOp):
    """avg_pool2d on (N, C, 1, L)."""


def adaptive_windows(size, out):
    """torch's adaptive windows along one dim: [floor(i*size/out), ceil((i+1)*size/out)) for i < out."""
    i = np.arange(out)                      # host-side: window bounds
    return (i * size) // out, -((-(i + 1) * size) // out)


class AdaptiveAvgPool2dOp(Function):
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


class AdaptiveMaxPool2dOp(Function):
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


OPS = {"max_pool1d": MaxPool1dOp, "max_pool2d": MaxPool2dOp, "avg_pool1d": AvgPool1dOp, "avg_pool2d": AvgPool2dOp,
       "adaptive_avg_pool2d": AdaptiveAvgPool2dOp, "adaptive_max_pool2d": AdaptiveMaxPool2dOp}
