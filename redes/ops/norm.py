"""Fused normalisations: batch norm (batch statistics, and running statistics), layer norm, group norm.

One op each, forward and backward on arrays (no differentiable backward: create_graph through them raises).
Sums over many rows go through GEMV (ones @ a), measured ~10x faster than a.sum(axis=0) on tall arrays.
With xhat = (x - mean) * invstd and y = xhat * w + b, every op shares the same backward:
    dw = sum(dy * xhat),  db = sum(dy),
    dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))        (means over the normalised elements)
"""
from .. import backend as B
from ..autograd import Function


def _channel_sum(a):
    """Sum of a (N, C, *) over every dim but the channel dim 1 -> (C,), by GEMV in a's memory order."""
    xp = B.xp
    if a.ndim == 2:
        return xp.matmul(B.ones(a.shape[0], a.dtype), a)
    last = xp.moveaxis(a, 1, -1)
    if last.flags.c_contiguous:                                     # channels-last memory (after a redes conv)
        rows = last.reshape(-1, a.shape[1])
        return xp.matmul(B.ones(rows.shape[0], a.dtype), rows)
    a3 = a.reshape(a.shape[0], a.shape[1], -1)                      # channels-first: (N, C, L) @ ones(L)
    per_sample = xp.matmul(a3, B.ones(a3.shape[2], a.dtype))
    return xp.matmul(B.ones(a.shape[0], a.dtype), per_sample)


def _bshape(a):
    """Shape that broadcasts a (C,) vector along dim 1 of a."""
    return (1, a.shape[1]) + (1,) * (a.ndim - 2)


def _channels3(a):
    """a (N, C, *) as a C-contiguous (outer, C, inner) view of its memory, the layout the compiled batch norm
    reads: (N, C, H*W) for channels-first memory, (N*H*W, C, 1) for channels-last (a redes conv's output);
    None for any other layout."""
    if a.flags.c_contiguous:
        return a.reshape(a.shape[0], a.shape[1], -1)
    last = B.xp.moveaxis(a, 1, -1)
    return last.reshape(-1, a.shape[1], 1) if last.flags.c_contiguous else None


def _empty3(x, x3):
    """(a, a3): a new array shaped as x in x's memory layout, and its (outer, C, inner) view shaped as x3."""
    a3 = B.xp.empty(x3.shape, x3.dtype)
    if x3.shape[2] != 1 or x.flags.c_contiguous:
        return a3.reshape(x.shape), a3
    return B.xp.moveaxis(a3.reshape(B.xp.moveaxis(x, 1, -1).shape), -1, 1), a3


class BatchNorm(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b, with mean and (biased) var per channel (dim 1) over the batch.

    Forward keeps mean and var on the node (`.mean`, `.var`) for the running-statistics update.
    Backward: dw = sum(dy xhat), db = sum(dy), dx = w invstd (dy - db/M - xhat dw/M), M = elements per channel.
    float32 in either memory layout of _channels3 runs the compiled kernels: two passes forward (statistics, y)
    and two backward (sums, dx), with xhat recomputed from x rather than stored.
    """
    differentiable_backward = False

    def forward(self, x, w=None, b=None, eps=1e-5):
        xp = B.xp
        shape = _bshape(x)
        self.count = x.size // x.shape[1]
        x3 = _channels3(x)
        kern = None if x3 is None else B.fused(x3, w, b)
        if kern is not None:
            y, y3 = _empty3(x, x3)                     # x's memory layout, so the next ReLU/pool keeps it
            c = x.shape[1]
            self.stats, self.invstd = xp.empty((2, c)), xp.empty(c, x.dtype)
            kern.batch_norm_forward(x3, w, b, y3, self.stats, self.invstd, *x3.shape, eps)
            self.mean, self.var = self.stats.astype(x.dtype)
            self.xhat, self.kern = None, kern
            return y
        self.mean = _channel_sum(x) / self.count
        xc = x - self.mean.reshape(shape)
        # NOTE: the rounded mean is off by up to half an ulp of the values (5e-4 at 1e4 in float32); the deviations'
        # own mean measures that offset and removes it (corrected two-pass, Chan, Golub & LeVeque 1983)
        shift = _channel_sum(xc) / self.count
        xc -= shift.reshape(shape)
        self.mean += shift
        self.var = _channel_sum(xc * xc) / self.count
        self.invstd = 1.0 / xp.sqrt(self.var + eps)
        xc *= self.invstd.reshape(shape)                 # xc is now xhat, kept for backward
        self.xhat = xc
        y = xc * w.reshape(shape) if w is not None else xc.copy()
        if b is not None:
            y += b.reshape(shape)
        return y

    def backward(self, m, dy, y, x, w=None, b=None):
        shape, xhat, n = _bshape(x), self.xhat, self.needs
        if xhat is None:                                # forward ran the kernel
            return self._backward_compiled(dy, x, w, b)
        db = _channel_sum(dy)
        dw = _channel_sum(dy * xhat)
        dx = None
        if n[0]:
            scale = self.invstd if w is None else self.invstd * w
            dx = xhat * (dw / self.count).reshape(shape)
            B.xp.subtract(dy, dx, out=dx)
            dx -= (db / self.count).reshape(shape)
            dx *= scale.reshape(shape)
        return dx, (dw if w is not None and n[1] else None), (db if b is not None and n[2] else None)

    def _backward_compiled(self, dy, x, w, b):
        xp, n = B.xp, self.needs
        x3, dy3 = _channels3(x), _channels3(dy)
        if dy3 is None or dy3.shape != x3.shape or dy.dtype != x.dtype:       # dy in another layout: copy into x's
            dyc, dy3 = _empty3(x, x3)
            dyc[...] = dy
        dx, dx3 = _empty3(x, x3) if n[0] else (None, None)
        c = x.shape[1]
        dw, db = xp.empty(c, x.dtype), xp.empty(c, x.dtype)
        self.kern.batch_norm_backward(dy3, x3, self.stats, self.invstd, w, dx3, dw, db, *x3.shape)
        return dx, (dw if w is not None and n[1] else None), (db if b is not None and n[2] else None)


class BatchNormEval(Function):
    """y = (x - running_mean) / sqrt(running_var + eps) * w + b = x * scale + shift (statistics are constants).

    Backward: dx = dy * scale, dw = sum(dy (x - mean) invstd), db = sum(dy).
    """
    differentiable_backward = False

    def forward(self, x, w=None, b=None, mean=None, var=None, eps=1e-5):
        shape = _bshape(x)
        self.invstd = 1.0 / B.xp.sqrt(var + eps)
        self.mean = mean
        scale = self.invstd if w is None else self.invstd * w
        self.scale = scale
        y = x * scale.reshape(shape)
        y -= (mean * scale).reshape(shape)
        if b is not None:
            y += b.reshape(shape)
        return y

    def backward(self, m, dy, y, x, w=None, b=None):
        shape, n = _bshape(x), self.needs
        dx = dy * self.scale.reshape(shape) if n[0] else None
        dw = db = None
        if w is not None and n[1]:
            dw = _channel_sum(dy * (x - self.mean.reshape(shape))) * self.invstd
        if b is not None and n[2]:
            db = _channel_sum(dy)
        return dx, dw, db


def _row_sum(a2):
    """(M, K) -> (M,): sums along contiguous rows, as a GEMV with ones (4x faster than add.reduce on rows of 128)."""
    if a2.dtype.char in "fd":
        return B.xp.matmul(a2, B.ones(a2.shape[1], a2.dtype))
    return B.xp.add.reduce(a2, axis=1)


class LayerNormOp(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b, statistics over the last `dims` dims of each sample.

    w and b have the normalised shape. Backward: dx = invstd (g - mean(g) - xhat mean(g xhat)), g = dy * w;
    dw = sum over rows of dy * xhat, db = sum over rows of dy.
    """
    differentiable_backward = False

    def forward(self, x, w=None, b=None, dims=1, eps=1e-5):
        xp = B.xp
        k = 1
        for s in x.shape[x.ndim - dims:]:
            k *= s
        x2 = x.reshape(-1, k)
        kern = B.fused(x2, w, b)
        if kern is not None:        # one compiled pass per row; xhat is not kept: the backward kernel recomputes it
            rows = x2.shape[0]
            y, self.stats, self.invstd = xp.empty_like(x2), xp.empty((rows, 2), x2.dtype), xp.empty(rows, x2.dtype)
            self.xhat, self.k, self.kern = None, k, kern
            kern.layer_norm_forward(x2, w, b, y, self.stats, self.invstd, k, eps)
            return y.reshape(x.shape)
        mean = _row_sum(x2) / k
        xc = x2 - mean[:, None]
        xc -= (_row_sum(xc) / k)[:, None]           # the rounded mean's offset (as in BatchNorm above)
        var = _row_sum(xc * xc) / k
        self.invstd = 1.0 / xp.sqrt(var + eps)
        xc *= self.invstd[:, None]
        self.xhat, self.k = xc, k
        y = xc * w.reshape(-1) if w is not None else xc.copy()
        if b is not None:
            y += b.reshape(-1)
        return y.reshape(x.shape)

    def backward(self, m, dy, y, x, w=None, b=None):
        xp, xhat, k, n = B.xp, self.xhat, self.k, self.needs
        dy2 = dy.reshape(-1, k)
        dw = db = dx = None
        if xhat is None:                            # forward ran the kernel (x: C-contiguous float32, as forward saw)
            kern = self.kern
            dy2 = xp.ascontiguousarray(dy2, dtype=x.dtype)
            dx = xp.empty_like(dy2) if n[0] else None
            dw = xp.empty(k, dy2.dtype) if w is not None and n[1] else None
            db = xp.empty(k, dy2.dtype) if b is not None and n[2] else None
            kern.layer_norm_backward(dy2, x.reshape(-1, k), self.stats, self.invstd, w, dx, dw, db, k)
            return (None if dx is None else dx.reshape(x.shape), None if dw is None else dw.reshape(w.shape),
                    None if db is None else db.reshape(b.shape))
        if w is not None and n[1]:
            dw = xp.matmul(B.ones(dy2.shape[0], dy2.dtype), dy2 * xhat).reshape(w.shape)
        if b is not None and n[2]:
            db = xp.matmul(B.ones(dy2.shape[0], dy2.dtype), dy2).reshape(b.shape)
        if n[0]:
            g = dy2 * w.reshape(-1) if w is not None else dy2
            mg = _row_sum(g) / k
            mgx = _row_sum(g * xhat) / k
            dx = xhat * mgx[:, None]
            xp.subtract(g, dx, out=dx)
            dx -= mg[:, None]
            dx *= self.invstd[:, None]
            dx = dx.reshape(x.shape)
        return dx, dw, db


class GroupNormOp(Function):
    """y = (x - mean) / sqrt(var + eps) * w + b, statistics per sample over each group of C / G channels.

    w and b are per channel (C,). Backward as layer norm within each (sample, group), with g = dy * w.
    """
    differentiable_backward = False

    def forward(self, x, w=None, b=None, groups=1, eps=1e-5):
        xp = B.xp
        n, c = x.shape[:2]
        self.shape3 = (n, groups, -1)
        x3 = x.reshape(self.shape3)
        k = x3.shape[2]
        mean = xp.add.reduce(x3, axis=2) / k
        xc = x3 - mean[:, :, None]
        var = xp.add.reduce(xc * xc, axis=2) / k
        self.invstd = 1.0 / xp.sqrt(var + eps)
        xc *= self.invstd[:, :, None]
        self.xhat = xc.reshape(x.shape)
        shape = _bshape(x)
        y = self.xhat * w.reshape(shape) if w is not None else self.xhat.copy()
        if b is not None:
            y += b.reshape(shape)
        return y

    def backward(self, m, dy, y, x, w=None, b=None):
        xp, xhat, nd = B.xp, self.xhat, self.needs
        shape = _bshape(x)
        dw = db = dx = None
        if w is not None and nd[1]:
            dw = _channel_sum(dy * xhat)
        if b is not None and nd[2]:
            db = _channel_sum(dy)
        if nd[0]:
            g = (dy * w.reshape(shape) if w is not None else dy).reshape(self.shape3)
            xh3 = xhat.reshape(self.shape3)
            k = g.shape[2]
            mg = xp.add.reduce(g, axis=2) / k
            mgx = xp.add.reduce(g * xh3, axis=2) / k
            dx = xh3 * mgx[:, :, None]
            xp.subtract(g, dx, out=dx)
            dx -= mg[:, :, None]
            dx *= self.invstd[:, :, None]
            dx = dx.reshape(x.shape)
        return dx, dw, db


OPS = {"batch_norm": BatchNorm, "batch_norm_eval": BatchNormEval, "layer_norm": LayerNormOp, "group_norm": GroupNormOp}
