"""Fused attention: y = dropout(softmax(q k^T * scale + bias)) @ v as ONE op with a hand-written backward.

Unfused, the attention core is ~8 graph nodes (matmul, scale, mask add, softmax, dropout, matmul, and the
head split/merge around them), each with its own backward pass over (N, H, L, S) arrays. Fused it is ~9
NumPy calls forward and ~10 backward. Two ops share the math (`_attend`, `_attend_backward`):

  SDPA     q (..., L, E), k (..., S, E), v (..., S, Ev): F.scaled_dot_product_attention.
  MHACore  q, k, v read in place out of the input projections' outputs, laid out (L, N, C) or (N, L, C) with
           C = the packed width (3E for one fused QKV GEMM), and the result written straight into (L, N, E) /
           (N, L, E): multi-head attention then needs no split / transpose / merge nodes, and its backward
           writes dq, dk, dv into one packed gradient, the input of the QKV GEMM's backward.

Backward (P = softmax, D = dropout mask scaled by 1/(1-p), Pd = P * D, dY the output gradient):
  dv = Pd^T dY,  dPd = dY v^T,  dP = dPd * D,  dS = P * (dP - rowsum(dP * P)),
  dq = dS k * scale,  dk = dS^T (q * scale),  dbias = dS summed over bias' broadcast dims.
Rows whose every score is masked (-inf) give zeros (and zero gradients), as torch's SDPA does.
"""
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import backend as B
from ..autograd import ArrayMath, Function, unbroadcast
from ..random import rng_for

_CAUSAL = {}


def causal_bias(L, S, dtype):
    """Additive causal mask (L, S): 0 on and below the diagonal, -inf above (cached; read-only)."""
    key = (B.current().type, L, S, np.dtype(dtype).str)
    bias = _CAUSAL.get(key)
    if bias is None:
        bias = B.xp.triu(B.xp.full((L, S), -math.inf, dtype=dtype), 1)
        if hasattr(bias, "flags"):
            bias.flags.writeable = False                  # shared by every caller: nobody may write into it
        if len(_CAUSAL) > 64:
            _CAUSAL.clear()
        _CAUSAL[key] = bias
    return bias


def _scores(qs, k, bias):
    s = B.xp.matmul(qs, k.swapaxes(-1, -2))
    if bias is not None:
        if np.broadcast_shapes(s.shape, bias.shape) == s.shape:     # shapes: host-side math
            s += bias
        else:
            s = s + bias                                  # the mask has more batch dims than q @ k^T
    return s


def _softmax_fast(s):
    """Softmax over the last axis of s, in place, shifted by each (L, S) block's max instead of each row's.

    exp(s - c) / sum(exp(s - c)) is the same softmax for any c per row; NumPy finds a block's max ~10x faster
    than the maxima of short rows, and sums rows ~5x faster as a product with ones. Returns False (s spoiled)
    when a row's sum comes out near underflow (a row far below its block's max, or fully masked): the
    caller then redoes it exactly.
    """
    xp = B.xp
    mx = xp.maximum.reduce(s, axis=(-2, -1), keepdims=True)
    if not xp.isfinite(mx).all():
        return False
    s -= mx
    xp.exp(s, out=s)
    total = xp.matmul(s, xp.ones((s.shape[-1], 1), s.dtype))
    if (total < _low(s.dtype)).any():
        return False
    s /= total
    return True


def _compiled_softmax(q, k, bias, scale):
    """softmax(q k^T * scale + bias) by the compiled kernel (scaled, bias added and each row shifted by its own
    max, in one pass), or None where it does not apply: not float32 NumPy, or a bias that is not a contiguous
    block repeating over s's leading rows (e.g. the (L, S) causal mask)."""
    kern = B.fused(bias)                  # q and k may be any layout: the kernel reads only s = q k^T, a new array
    if (kern is None or type(q) is not np.ndarray or q.dtype != np.float32 or k.dtype != q.dtype or q.ndim < 2
            or k.ndim < 2 or 0 in q.shape[-2:] or 0 in k.shape[-2:]):
        return None
    shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (q.shape[-2], k.shape[-2])     # host-side
    if bias is not None:
        lead = 0
        while lead < bias.ndim - 2 and bias.shape[lead] == 1:
            lead += 1
        if bias.ndim - lead > len(shape) or bias.shape[lead:] != shape[len(shape) - bias.ndim + lead:]:
            return None
    s = B.xp.matmul(q, k.swapaxes(-1, -2))
    if not s.flags.c_contiguous:            # NumPy may lay a product of transposed operands out otherwise
        s = B.xp.ascontiguousarray(s)
    kern.softmax_rows(s, bias, shape[-1], scale)
    return s


def _softmax_exact(s):
    """Softmax over the last axis shifted by each row's max, in place; a fully masked row gives zeros (as torch)."""
    xp = B.xp
    mx = xp.maximum.reduce(s, axis=-1, keepdims=True)
    mx[~xp.isfinite(mx)] = 0.0
    s -= mx
    xp.exp(s, out=s)
    total = xp.add.reduce(s, axis=-1, keepdims=True)
    total[total == 0] = 1.0
    s /= total


_LOW = {}


def _low(dtype):
    """A row sum below this may have lost precision to subnormals: the row is redone with its own max."""
    low = _LOW.get(dtype.char)
    if low is None:
        info = np.finfo(dtype)
        low = _LOW[dtype.char] = float(info.tiny) * 2.0 ** (info.nmant + 1)
    return low


# The attention core is 4-6 batched products of small matrices (e.g. 64 x 64 x 32 per head): each is below
# OpenBLAS's threading threshold, so one core runs all of them while the second core idles. Large enough
# float32 batches are therefore cut in two along their first axis, and one half runs on a worker thread
# (NumPy's matmul and the kernels release the GIL). Only here: elementwise kernels are memory-bound on the
# 2-vCPU machines, where a second thread was measured to gain nothing. Off unless REDES_ATTENTION_THREADS=1: on
# the quiet 2-vCPU Intel host the transformer workload ran 21.9 steps/s with and without it (the BLAS threads
# already keep the second core busy), so a worker thread is not worth its cost by default.
_SPLIT_MIN_WORK = 1 << 22 if os.environ.get("REDES_ATTENTION_THREADS", "0") == "1" else 1 << 62   # multiply-adds
_POOL = [None, None]                # [pid, executor]: made on first use, again in a forked child


def _split_ok(work, batch):
    if work < _SPLIT_MIN_WORK or batch < 2:
        return False
    try:
        return len(os.sched_getaffinity(0)) >= 2
    except AttributeError:                      # not Linux
        return (os.cpu_count() or 1) >= 2


def _in_two_halves(fn, n):
    """fn(0, n // 2) on the worker thread while this thread runs fn(n // 2, n); the worker's exception is raised."""
    if _POOL[0] != os.getpid():                 # a forked child inherits the executor but not its thread
        _POOL[:] = os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="redes-attention")
    half = _POOL[1].submit(fn, 0, n // 2)
    try:
        fn(n // 2, n)
    finally:
        half.result()


def _attend_split(self, q, k, v, bias, scale, out):
    """The kernel path of `_attend` (no dropout) in two halves of the batch, or None where it does not apply."""
    kern = B.fused(bias)
    if (kern is None or q.ndim < 3 or any(type(a) is not np.ndarray or a.dtype != np.float32 for a in (q, k, v))
            or not q.shape[:-2] == k.shape[:-2] == v.shape[:-2] or k.shape[-2] != v.shape[-2]
            or k.shape[-1] != q.shape[-1] or 0 in q.shape or 0 in k.shape or 0 in v.shape[-1:]):
        return None
    L, S, n = q.shape[-2], k.shape[-2], q.shape[0]
    if not _split_ok(math.prod(q.shape[:-1]) * S * max(q.shape[-1], v.shape[-1]), n):
        return None
    if bias is not None:                        # a block repeating over the rows of each half: not along axis 0
        lead = 0
        while lead < bias.ndim - 2 and bias.shape[lead] == 1:
            lead += 1
        if bias.ndim - lead >= q.ndim or bias.shape[lead:] != (q.shape[:-2] + (L, S))[q.ndim - bias.ndim + lead:]:
            return None
    xp = B.xp
    y_shape = q.shape[:-1] + v.shape[-1:]
    if out is None:
        out = xp.empty(y_shape, q.dtype)
    elif out.shape != y_shape or out.dtype != q.dtype:
        return None
    s = xp.empty(q.shape[:-2] + (L, S), q.dtype)

    def half(a, b):
        xp.matmul(q[a:b], k[a:b].swapaxes(-1, -2), out=s[a:b])
        kern.softmax_rows(s[a:b], bias, S, scale)
        xp.matmul(s[a:b], v[a:b], out=out[a:b])
    _in_two_halves(half, n)
    self.qs, self.scale, self.folded, self.split, self.p, self.drop, self.pd = q, scale, True, True, s, None, s
    return out


def _attend_backward_split(self, dy, k, v, want_q, want_k, want_v, dq, dk, dv):
    """`_attend_backward` after `_attend_split` (no bias gradient): each half of the batch on its own thread."""
    xp, p, q, kern = B.xp, self.p, self.qs, B.kernels
    S, scale = p.shape[-1], self.scale
    dq = dq if dq is not None or not want_q else xp.empty(q.shape, q.dtype)
    dk = dk if dk is not None or not want_k else xp.empty(k.shape, k.dtype)
    dv = dv if dv is not None or not want_v else xp.empty(v.shape, v.dtype)
    ds = xp.empty(p.shape, p.dtype) if want_q or want_k else None

    def half(a, b):
        if want_v:
            xp.matmul(p[a:b].swapaxes(-1, -2), dy[a:b], out=dv[a:b])
        if ds is not None:
            xp.matmul(dy[a:b], v[a:b].swapaxes(-1, -2), out=ds[a:b])
            kern.softmax_backward_rows(ds[a:b], p[a:b], S, scale)          # dS times the scale: see below
            if want_q:
                xp.matmul(ds[a:b], k[a:b], out=dq[a:b])
            if want_k:
                xp.matmul(ds[a:b].swapaxes(-1, -2), q[a:b], out=dk[a:b])
    _in_two_halves(half, p.shape[0])
    return dq, dk, dv, None


def _attend(self, q, k, v, bias, scale, dropout_p, out=None):
    """Forward math on arrays (q (..., L, E), k (..., S, E), v (..., S, Ev)); keeps what backward needs on self."""
    xp = B.xp
    self.split = False
    if dropout_p == 0.0:
        y = _attend_split(self, q, k, v, bias, scale, out)
        if y is not None:
            return y
    s = _compiled_softmax(q, k, bias, scale)              # the kernel scales the scores: no pass over q
    folded = s is not None
    qs = q if folded or scale == 1.0 else q * scale       # NumPy: scale the (L, E) side, not the (L, S) scores
    if s is None:
        s = _scores(qs, k, bias)
        if s.size and not _softmax_fast(s):
            s = _scores(qs, k, bias)
            _softmax_exact(s)
    drop = None
    if dropout_p > 0.0:
        keep = rng_for().random(s.shape, dtype=np.float32) >= dropout_p
        drop = xp.asarray(keep).astype(s.dtype) * (1.0 / (1.0 - dropout_p) if dropout_p < 1.0 else 0.0)
        pd = s * drop
    else:
        pd = s
    self.qs, self.scale, self.folded, self.p, self.drop, self.pd = qs, scale, folded, s, drop, pd
    return xp.matmul(pd, v, out=out)


def _attend_backward(self, dy, k, v, bias_shape, want_q, want_k, want_v, want_bias, dq=None, dk=None, dv=None):
    """Gradients of `_attend` on arrays. dq/dk/dv: optional output arrays (views) to write into."""
    xp = B.xp
    if self.split and not want_bias and type(dy) is np.ndarray and dy.dtype == np.float32 and B.kernels is not None:
        return _attend_backward_split(self, dy, k, v, want_q, want_k, want_v, dq, dk, dv)
    gq = gk = gv = gb = None
    if want_v:
        gv = xp.matmul(self.pd.swapaxes(-1, -2), dy, out=dv)
    if not (want_q or want_k or want_bias):
        return gq, gk, gv, gb
    ds = xp.matmul(dy, v.swapaxes(-1, -2))
    if self.drop is not None:
        ds *= self.drop
    p = self.p
    kern = B.fused(ds, p) if ds.shape == p.shape and ds.size else None
    # With the scale folded into the forward's kernel (qs is q), the backward kernel scales dS too: dq = dS k and
    # dk = dS^T q then need no pass of their own. Not when dS is also the bias gradient (that one is unscaled).
    fold = self.folded and kern is not None and not want_bias
    if kern is not None:
        kern.softmax_backward_rows(ds, p, ds.shape[-1], self.scale if fold else 1.0)
    else:
        ds -= xp.einsum("...j,...j->...", ds, p)[..., None]   # rowsum(dP * P): einsum needs no (L, S) temporary
        ds *= p                                               # dS = P * (dP - rowsum(dP * P))
    if want_bias:
        gb = unbroadcast(ArrayMath, ds, bias_shape)
    if want_q:
        gq = xp.matmul(ds, k, out=dq)
        if self.scale != 1.0 and not fold:
            gq *= self.scale
    if want_k:
        gk = xp.matmul(ds.swapaxes(-1, -2), self.qs, out=dk)
        if self.scale != 1.0 and self.folded and not fold:
            gk *= self.scale                                  # qs is the unscaled q here
    return gq, gk, gv, gb


class SDPA(Function):
    """y = dropout(softmax(q k^T * scale + bias)) @ v over the last two dims (batch dims broadcast).

    Backward: see the module docstring; each gradient is summed back over its input's broadcast dims.
    `bias` is an additive float mask (a Tensor that may require grad, an array, or None).
    """
    differentiable_backward = False

    def forward(self, q, k, v, bias=None, scale=1.0, dropout_p=0.0):
        return _attend(self, q, k, v, bias, scale, dropout_p)

    def backward(self, m, dy, y, q, k, v, bias=None):
        n = self.needs
        gq, gk, gv, gb = _attend_backward(self, dy, k, v, None if bias is None else bias.shape,
                                          n[0], n[1], n[2], len(n) > 3 and n[3])
        um = ArrayMath
        return (unbroadcast(um, gq, q.shape) if n[0] else None, unbroadcast(um, gk, k.shape) if n[1] else None,
                unbroadcast(um, gv, v.shape) if n[2] else None, gb)


def _heads(x, heads, batch_first, start=0, width=None):
    """The (N, H, T, D) view of columns start:start+width of x, laid out (T, N, C) or (N, T, C); never a copy."""
    a = x if width is None else x[..., start:start + width]
    a = a.reshape(a.shape[:2] + (heads, a.shape[-1] // heads))     # splits a unit-stride dim: a view
    return a.transpose((0, 2, 1, 3) if batch_first else (1, 2, 0, 3))


class MHACore(Function):
    """Multi-head attention core on packed projections: y = concat_h softmax(q_h k_h^T * scale + bias) v_h.

    Inputs: bias (additive, broadcastable to (N, H, L, S), or None), then 1 to 3 source arrays. `where`
    gives, for q, k and v, (source index, first column); each is E = heads * head_dim columns wide.
    Layout (L, N, C) or (N, L, C) (`batch_first`); the output is (L, N, E) or (N, L, E).
    Backward: as SDPA's, written straight into each source's packed gradient (no split/merge copies).
    """
    differentiable_backward = False

    def forward(self, bias, *srcs, where=(), embed_dim=0, heads=1, batch_first=False, scale=1.0, dropout_p=0.0):
        self.where, self.embed_dim, self.heads, self.batch_first = where, embed_dim, heads, batch_first
        q, k, v = (_heads(srcs[i], heads, batch_first, o, embed_dim) for i, o in where)
        src_q = srcs[where[0][0]]
        out = B.xp.empty(src_q.shape[:2] + (embed_dim,), src_q.dtype)
        out_heads = _heads(out, heads, batch_first)
        self.geometry = None
        if dropout_p == 0.0 and _attention_kernel(self, srcs, q, k, v, bias, out, out_heads, scale):
            return out
        _attend(self, q, k, v, bias, scale, dropout_p, out=out_heads)
        return out

    def backward(self, m, dy, y, bias, *srcs):
        xp, E, H, bf = B.xp, self.embed_dim, self.heads, self.batch_first
        need_src = self.needs[1:]
        grads = [None] * len(srcs)
        for i, src in enumerate(srcs):
            if need_src[i]:
                covered = sum(E for j, _ in self.where if j == i)
                grads[i] = (xp.empty if covered == src.shape[-1] else xp.zeros)(src.shape, src.dtype)
        if self.geometry is not None and not self.needs[0] and B.fused(dy) is not None:
            (iq, _), (ik, _), (iv, _) = self.where
            p, g = self.p, self.geometry
            N, H_, L, S = p.shape
            if B.kernels.attention_backward(srcs[iq], srcs[ik], srcs[iv], dy, grads[iq], grads[ik], grads[iv],
                                            g[[0, 1, 2, 3, 0, 1, 2]], p, N, H_, L, S, g[4, 0], g[4, 1],
                                            float(self.scale)):
                return (None, *grads)
        views = [_heads(grads[i], H, bf, o, E) if grads[i] is not None else None for i, o in self.where]
        k, v = (_heads(srcs[i], H, bf, o, E) for i, o in self.where[1:])
        _, _, _, gb = _attend_backward(self, _heads(dy, H, bf), k, v, None if bias is None else bias.shape,
                                       views[0] is not None, views[1] is not None, views[2] is not None,
                                       self.needs[0], dq=views[0], dk=views[1], dv=views[2])
        return (gb, *grads)


# One head's products (q k^T, p v and backward's) up to this many multiply-adds run on the calling thread in
# OpenBLAS (its threading threshold, 65536 x GEMM_MULTITHREAD_THRESHOLD 4): the attention kernel's heads can then
# run on the pool's threads. Larger heads keep NumPy's batched products, which OpenBLAS threads itself.
_KERNEL_HEAD_MAX = 1 << 18


def _attention_kernel(self, srcs, q, k, v, bias, out, out_heads, scale):
    """MHACore's forward by the attention kernel (float32 NumPy, no dropout), keeping what `_attend` keeps for
    backward plus the heads' geometry; False where it does not apply (the NumPy path then runs)."""
    kern = B.fused(bias, *srcs)
    N, H, L, Dh = q.shape
    S, Dv = k.shape[2], v.shape[3]
    if kern is None or 0 in q.shape or S == 0 or L * S * max(Dh, Dv) > _KERNEL_HEAD_MAX:
        return False
    if bias is not None:                        # rows of S repeating over the scores' rows, as _compiled_softmax
        lead = 0
        while lead < bias.ndim - 2 and bias.shape[lead] == 1:
            lead += 1
        if bias.ndim - lead > 4 or bias.shape[lead:] != (N, H, L, S)[4 - bias.ndim + lead:]:
            return False
    # each view's (offset, batch, head, row) strides in elements of its source, then (Dh, Dv)
    rows = [(o, *(st // 4 for st in view.strides[:3])) for view, (_, o) in zip((q, k, v), self.where)]
    rows += [(0, *(st // 4 for st in out_heads.strides[:3])), (Dh, Dv, 0, 0)]
    geometry = np.array(rows, np.int64)         # host-side: the kernel's arguments (NumPy arrays only, B.fused)
    p = np.empty((N, H, L, S), np.float32)      # host-side
    (iq, _), (ik, _), (iv, _) = self.where
    if not kern.attention_forward(srcs[iq], srcs[ik], srcs[iv], out, geometry[:4], p, N, H, L, S, Dh, Dv,
                                  float(scale), bias):
        return False
    self.qs, self.scale, self.folded, self.split, self.p, self.drop, self.pd = q, scale, True, False, p, None, p
    self.geometry = geometry
    return True


OPS = {"scaled_dot_product_attention": SDPA, "multi_head_attention": MHACore}
