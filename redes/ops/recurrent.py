"""Fused recurrent layers: one op runs a whole sequence for one layer and one direction.

Each op takes the sequence x (T, N, I) time-major, the layer's weights and the initial state, and
returns every step's hidden state. Inside:
  - the input projection x_t W_ih^T + b for ALL steps is one GEMM before the loop;
  - each step is one GEMM (h_{t-1} W_hh^T) plus a handful of in-place NumPy calls on preallocated
    buffers (no graph nodes per step);
  - backward runs backpropagation through time as a loop over arrays, one GEMM per step for the
    recurrent gradient; the weight gradients are summed over steps afterwards in one GEMM each.
So a layer costs one graph node, whatever the sequence length.

Sigmoid gates are computed as sigmoid(z) = 0.5 + 0.5 tanh(z / 2): the 1/2 is folded into a scaled copy
of the weights (made once per call), so all gates of a step take one tanh call plus one multiply-add,
without overflow for large |z|. Gate order and equations follow torch.nn.LSTM / GRU / RNN exactly.

With the compiled cells (float32), the time loop runs feature-major: every per-step array is (features, N),
h_t^T rather than h_t. OpenBLAS multiplies (4H, H) @ (H, N) and (H, 4H) @ (4H, N) faster than the row-major
(N, H) @ (H, 4H) and (N, 4H) @ (4H, H): 21 against 28 us forward and 23 against 39 us backward for the
benchmark's LSTM step (N 32, H 128; the GRU's 16 against 22 and 18 against 30), and a cell is elementwise, so
the kernels run unchanged on (G, H*N) blocks. The outputs are transposed back once per sequence.

`reverse=True` processes t = T-1 ... 0 (the backward direction of a bidirectional layer) and still
writes each step's output at its own position t.
"""
from .. import backend as B
from ..autograd import Function


def _check(op, x, w_ih, w_hh, gates, h0, hidden, c0=None, cell=None):
    """Shape/dtype checks shared by the ops (the modules check first; these guard direct use)."""
    if x.ndim != 3:
        raise RuntimeError(f"{op}: input must be (T, N, input_size), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise RuntimeError(f"{op}: expected a sequence length larger than 0, got input of shape {tuple(x.shape)}")
    if w_ih.shape[0] != w_hh.shape[0] or w_ih.shape[0] % gates or w_ih.shape[1] != x.shape[2]:
        raise RuntimeError(f"{op}: weight_ih{tuple(w_ih.shape)} does not match input{tuple(x.shape)}: "
                           f"expected ({w_hh.shape[0]}, {x.shape[2]})")
    for name, a in (("weight_ih", w_ih), ("weight_hh", w_hh), ("h0", h0), ("c0", c0)):
        if a is not None and a.dtype != x.dtype:
            raise RuntimeError(f"{op}: input is {x.dtype} but {name} is {a.dtype}; convert one with .to(dtype)")
    for name, a, size in (("h0", h0, hidden), ("c0", c0, cell)):
        if a is not None and a.shape != (x.shape[1], size):
            raise RuntimeError(f"{op}: {name} must have shape {(x.shape[1], size)}, got {tuple(a.shape)}")


def _sum_biases(b_ih, b_hh):
    """b_ih + b_hh (both feed the same pre-activation), or the one given, or None."""
    if b_ih is None or b_hh is None:
        return b_hh if b_ih is None else b_ih
    return b_ih + b_hh


class _RecurrentLayer(Function):
    """Shared pieces: the input projection before the loop and the weight gradients after it."""
    differentiable_backward = False     # BPTT runs on raw arrays: no higher-order gradients

    @property
    def need(self):
        """self.needs padded with False, so trailing optional inputs (biases, h0, c0, w_hr) may be left out."""
        return tuple(self.needs) + (False,) * 8

    @staticmethod
    def _project(x, w_ih, scale, bias):
        """(T*N, G) = x W_ih^T * scale + bias, one GEMM for every step (scale: per-row, or None)."""
        T, N, I = x.shape
        w = w_ih if scale is None else w_ih * scale[:, None]
        a = B.xp.matmul(x.reshape(T * N, I), w.T)
        if bias is not None:
            a += bias
        return a

    def _input_grads(self, dz, x, w_ih):
        """dx = dz W_ih, dW_ih = dz^T x, db = sum(dz), with dz the (T*N, G) pre-activation gradient."""
        n = self.need
        dx = B.xp.matmul(dz, w_ih).reshape(x.shape) if n[0] else None
        dw = B.xp.matmul(dz.T, x.reshape(-1, x.shape[2])) if n[1] else None
        db = B.xp.matmul(B.ones(dz.shape[0], dz.dtype), dz) if n[3] or n[4] else None     # GEMV: 3x add.reduce
        return dx, dw, db

    @staticmethod
    def _project_fm(x, w_ih, scale, bias):
        """(T, G, N) = per step W_ih x_t^T * scale + bias: the input projections, feature-major (module docstring)."""
        a = B.xp.matmul(w_ih * scale[:, None], x.transpose(0, 2, 1))
        if bias is not None:
            a += bias[:, None]
        return a

    def _input_grads_fm(self, d2, x, w_ih):
        """_input_grads from d2 (G, T*N), the pre-activation gradients of every step, feature-major."""
        n = self.need
        dx = B.xp.matmul(d2.T, w_ih).reshape(x.shape) if n[0] else None
        dw = B.xp.matmul(d2, x.reshape(-1, x.shape[2])) if n[1] else None
        db = B.xp.matmul(d2, B.ones(d2.shape[1], d2.dtype)) if n[3] or n[4] else None
        return dx, dw, db

    @staticmethod
    def _hh_grad_fm(dz, hs, h0, reverse):
        """_hh_grad from dz (G, T, N), feature-major: dW_hh = sum_t dz_t h_{t-1}, two GEMMs over views."""
        G, T, N = dz.shape
        P = hs.shape[2]
        body_dz, body_h = (dz[:, :-1], hs[1:]) if reverse else (dz[:, 1:], hs[:-1])
        dw = B.xp.matmul(body_dz.reshape(G, -1), body_h.reshape(-1, P))
        if h0 is not None:
            dw += B.xp.matmul(dz[:, T - 1 if reverse else 0], h0)
        return dw

    @staticmethod
    def _step_grad(dhs, t, upstream, buf, zeros):
        """dhs[t] (N, H) as a feature-major (H, N) array: copied into buf, or zeros where no gradient arrives."""
        if not upstream[t]:
            return zeros
        B.xp.copyto(buf, dhs[t].T)
        return buf

    @staticmethod
    def _shifted(hs, h0, reverse):
        """h_{t-1} for every step t in processing order, as a (T, N, H) array (zeros where h0 is None)."""
        prev = B.xp.empty_like(hs)
        if reverse:
            prev[:-1] = hs[1:]
            prev[-1] = 0 if h0 is None else h0
        else:
            prev[1:] = hs[:-1]
            prev[0] = 0 if h0 is None else h0
        return prev

    @staticmethod
    def _hh_grad(dz, hs, h0, reverse):
        """dW_hh = sum_t dz_t^T h_{t-1}: two GEMMs over the shifted outputs, no copy (h0 term skipped if None)."""
        T, N, P = hs.shape
        dz = dz.reshape(T, N, -1)
        G = dz.shape[2]
        first = T - 1 if reverse else 0                 # the step whose h_{t-1} is h0
        body_dz, body_h = (dz[:-1], hs[1:]) if reverse else (dz[1:], hs[:-1])
        dw = B.xp.matmul(body_dz.reshape(-1, G).T, body_h.reshape(-1, P))
        if h0 is not None:
            dw += B.xp.matmul(dz[first].T, h0)
        return dw


class LSTMLayer(_RecurrentLayer):
    """One LSTM layer (torch gate order i, f, g, o) over a sequence, with optional projection (proj_size).

        z = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh;   i, f, o = sigmoid(z_i, z_f, z_o);   g = tanh(z_g)
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)   (then h_t = h_t W_hr^T when w_hr is given)

    forward(x (T,N,I), w_ih (4H,I), w_hh (4H,P), b_ih, b_hh (4H) or None, h0 (N,P), c0 (N,H) or None,
    w_hr (P,H) or None, reverse=False) -> one flat array: the outputs h_1..h_T (T*N*P values) then c_T (N*H).
    Packing both in one output lets gradients reach c_n through the same node (see functional.recurrent).
    Backward: BPTT with dc_{t-1} = dc_t * f, dz = [dc*g, dc*c_{t-1}, dc*i, dh*tanh(c)] * act'(z).
    """

    def forward(self, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None, reverse=False):
        xp = B.xp
        H, P = w_ih.shape[0] // 4, w_hh.shape[1]
        _check("lstm", x, w_ih, w_hh, 4, h0, P, c0, H)
        if (w_hr is None and P != H) or (w_hr is not None and w_hr.shape != (P, H)):
            hr = "None" if w_hr is None else str(tuple(w_hr.shape))
            raise RuntimeError(f"lstm: weight_hh{tuple(w_hh.shape)} and weight_hr {hr} do not fit hidden_size "
                               f"{H}: expected weight_hh ({4 * H}, {H}) without projection, or ({4 * H}, P) with "
                               f"weight_hr (P, {H})")
        T, N, _ = x.shape
        dt = x.dtype
        half = xp.asarray([0.5, 0.5, 1.0, 0.5], dt)                 # sigmoid gates take tanh(z / 2)
        scale = xp.repeat(half, H)
        bias = _sum_biases(b_ih, b_hh)
        bias = None if bias is None else bias * scale
        kern = B.fused(w_hh)              # float32 NumPy (_check: all inputs share x's dtype); x may be a view
        self.fm, self.kern = kern is not None and w_hr is None, kern
        if self.fm:
            return self._forward_fm(kern, x, w_hh, scale, self._project_fm(x, w_ih, scale, None), bias, h0, c0,
                                    reverse)
        act = self._project(x, w_ih, scale, bias).reshape(T, N, 4, H)   # pre-activations, then activations
        w_hh_t = xp.ascontiguousarray((w_hh * scale[:, None]).T)    # C order: a faster GEMM than the .T view
        w_hr_t = None if w_hr is None else xp.ascontiguousarray(w_hr.T)
        offset = 1 - scale                                          # act = scale * tanh + offset, per column
        out = xp.empty(T * N * P + N * H, dt)
        hs = out[:T * N * P].reshape(T, N, P)
        raw = hs if w_hr is None else xp.empty((T, N, H), dt)      # o * tanh(c), before the projection
        cs, tcs = xp.empty((T, N, H), dt), xp.empty((T, N, H), dt)
        h, c = h0, c0
        kern = B.fused(act, c0)                    # the compiled cell: activations, c, tanh(c), h in one pass
        rec = xp.empty((N, 4 * H), dt) if kern is not None else None          # the recurrent GEMM's output
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            a = act[t]
            a2 = a.reshape(N, 4 * H)                                # a view: act is contiguous
            if kern is not None:
                kern.lstm_cell_forward(a2, None if h is None else xp.matmul(h, w_hh_t, out=rec), c, cs[t], tcs[t],
                                       raw[t], H)
                if w_hr is not None:
                    xp.matmul(raw[t], w_hr_t, out=hs[t])
                h, c = hs[t], cs[t]
                continue
            if h is not None:
                a2 += xp.matmul(h, w_hh_t)
            xp.tanh(a2, out=a2)
            a2 *= scale                                             # a row vector: numpy's fastest broadcast
            a2 += offset
            ct = cs[t]
            if c is None:
                xp.multiply(a[:, 0], a[:, 2], out=ct)
            else:
                xp.multiply(a[:, 1], c, out=ct)
                ct += a[:, 0] * a[:, 2]
            xp.tanh(ct, out=tcs[t])
            xp.multiply(a[:, 3], tcs[t], out=raw[t])
            if w_hr is not None:
                xp.matmul(raw[t], w_hr_t, out=hs[t])
            h, c = hs[t], ct
        out[T * N * P:] = c.reshape(-1)
        self.act, self.cs, self.tcs, self.raw, self.reverse = act, cs, tcs, raw, reverse
        return out

    def _forward_fm(self, kern, x, w_hh, scale, act, bias, h0, c0, reverse):
        """forward with the compiled cell, feature-major: act (T, 4H, N) holds the input projections, without the
        (scaled) bias: the sequence kernel adds it in the cell, the per-step path beforehand, in the same order."""
        xp = B.xp
        T, N, H = x.shape[0], x.shape[1], w_hh.shape[1]
        w_hh_s = w_hh * scale[:, None]                              # (4H, H): rec^T = W_hh h^T in one GEMM
        cs, tcs, hs_t = (xp.empty((T, H, N), x.dtype) for _ in range(3))
        h = None if h0 is None else xp.ascontiguousarray(h0.T)
        c = None if c0 is None else xp.ascontiguousarray(c0.T)
        block = None if bias is None else xp.repeat(bias.astype(x.dtype, copy=False), N).reshape(4 * H, N)
        # the whole time loop in one call (each step's GEMM and cell, no Python between), where BLAS was found
        if not kern.lstm_forward_fm(act, w_hh_s, h, c, cs, tcs, hs_t, block, T, H, N, reverse):
            if block is not None:
                act += block
            rec = xp.empty((4 * H, N), x.dtype)
            for t in (range(T - 1, -1, -1) if reverse else range(T)):
                kern.lstm_cell_forward(act[t], None if h is None else xp.matmul(w_hh_s, h, out=rec), c, cs[t], tcs[t],
                                       hs_t[t], H * N)              # the cell sees one row of 4 blocks of H*N
                h, c = hs_t[t], cs[t]
        c = cs[0 if reverse else T - 1]                             # the last step's cell
        out = xp.empty(T * N * H + N * H, x.dtype)
        out[:T * N * H].reshape(T, N, H)[...] = hs_t.transpose(0, 2, 1)
        out[T * N * H:].reshape(N, H)[...] = c.T
        self.act, self.cs, self.tcs, self.reverse, self.c0t = act, cs, tcs, reverse, None if c0 is None else c0.T
        return out

    def _backward_fm(self, dy, y, x, w_ih, w_hh, h0, c0):
        """backward of _forward_fm: BPTT over (H, N) arrays, dz of every step kept as (4H, T, N) for the GEMMs."""
        xp = B.xp
        act, cs, tcs, reverse, kern = self.act, self.cs, self.tcs, self.reverse, self.kern
        T, G, N = act.shape
        H = G // 4
        dt = act.dtype
        dhs = dy[:T * N * H].reshape(T, N, H)
        dc = xp.ascontiguousarray(dy[T * N * H:].reshape(N, H).T, dtype=dt)     # (H, N), updated in place below
        first = T - 1 if reverse else 0
        need_h0 = h0 is not None and self.need[5]
        c0t = None if c0 is None else xp.ascontiguousarray(self.c0t)
        w_hh_t = xp.ascontiguousarray(w_hh.T)                       # (H, 4H)
        dz = xp.empty((G, T, N), dt)
        dh_rec = xp.empty((H, N), dt) if need_h0 else None          # h0's gradient, (H, N)
        # the whole time loop in one call where BLAS was found (dhs: the outputs' gradients, contiguous)
        flat_dhs = xp.ascontiguousarray(dy[:T * N * H], dtype=dt)
        if not kern.lstm_backward_fm(act, cs, tcs, c0t, w_hh_t, flat_dhs, dc, dz, dh_rec, T, H, N, reverse):
            upstream = xp.any(dhs.reshape(T, -1), axis=1).tolist()     # steps whose output gets a gradient (host)
            dz_t, rec, buf, zeros = (xp.empty((G, N), dt), xp.empty((H, N), dt), xp.empty((H, N), dt),
                                     xp.zeros((H, N), dt))
            dh_rec = None
            for t in (range(T) if reverse else range(T - 1, -1, -1)):
                c_prev = c0t if t == first else cs[t + 1 if reverse else t - 1]
                kern.lstm_cell_backward(self._step_grad(dhs, t, upstream, buf, zeros), dh_rec, dc, act[t], c_prev,
                                        tcs[t], dz_t, H * N)
                dz[:, t] = dz_t
                if t != first or need_h0:
                    dh_rec = xp.matmul(w_hh_t, dz_t, out=rec)
        n = self.need
        dx, dw_ih, db = self._input_grads_fm(dz.reshape(G, T * N), x, w_ih)
        hs = y[:T * N * H].reshape(T, N, H)
        dw_hh = self._hh_grad_fm(dz, hs, h0, reverse) if n[2] else None
        return (dx, dw_ih, dw_hh, db if n[3] else None, db.copy() if n[4] else None,
                dh_rec.T.copy() if need_h0 else None, dc.T.copy() if c0 is not None and n[6] else None, None)

    def backward(self, m, dy, y, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, c0=None, w_hr=None):
        xp = B.xp
        if self.fm:
            return self._backward_fm(dy, y, x, w_ih, w_hh, h0, c0)
        act, cs, tcs, raw, reverse = self.act, self.cs, self.tcs, self.raw, self.reverse
        T, N, _, H = act.shape
        P = w_hh.shape[1]
        hs = y[:T * N * P].reshape(T, N, P)
        dhs = dy[:T * N * P].reshape(T, N, P)
        dc = dy[T * N * P:].reshape(N, H).copy()                   # updated in place below
        first = T - 1 if reverse else 0                             # the step that read h0, c0 (backward's last)
        need_h0 = h0 is not None and self.need[5]
        order = range(T) if reverse else range(T - 1, -1, -1)     # opposite of the forward order
        # Each gate's pre-activation gradient is one factor (dc or dh) times a product known from forward:
        # kz = [g i', c_{t-1} f', i g', tanh(c) o'] with i' = i (1 - i), ..., g' = 1 - g^2. Computed here for all
        # steps at once (a few calls over whole arrays), it makes the time loop 2 calls for dz instead of 5.
        kz = xp.subtract(1, act)
        kz *= act                                                   # sigmoid' = s (1 - s) for i, f, o
        ig, gg = act[:, :, 0], act[:, :, 2]
        xp.multiply(gg, gg, out=kz[:, :, 2])
        xp.subtract(1, kz[:, :, 2], out=kz[:, :, 2])                # tanh' = 1 - g^2
        kz[:, :, 2] *= ig
        kz[:, :, 0] *= gg
        kz[:, :, 3] *= tcs
        kf = kz[:, :, 1]
        if reverse:
            kf[:-1] *= cs[1:]
        else:
            kf[1:] *= cs[:-1]
        if c0 is not None:
            kf[first] *= c0
        else:
            kf[first] = 0
        dc_dh = tcs * tcs                                           # dc_t/dh_t = o * (1 - tanh(c)^2)
        xp.subtract(1, dc_dh, out=dc_dh)
        dc_dh *= act[:, :, 3]
        upstream = xp.any(dhs.reshape(T, -1), axis=1).tolist()     # steps whose output gets a gradient (host)
        dz = kz                                                     # each step's dz overwrites its kz
        dh_all = None if w_hr is None else xp.empty_like(hs)       # dh of every step, for dW_hr
        dh_rec = None
        for t in order:
            if dh_rec is None:
                dh = dhs[t]
            else:
                dh = dhs[t] + dh_rec if upstream[t] else dh_rec
            if w_hr is not None:
                dh_all[t] = dh
                dh = xp.matmul(dh, w_hr)
            dc += dh * dc_dh[t]
            d = dz[t]
            xp.multiply(dc[:, None], d[:, :3], out=d[:, :3])      # di, df, dg
            xp.multiply(dh, d[:, 3], out=d[:, 3])                  # do
            dc *= act[t, :, 1]                                      # dc_{t-1} = dc_t * f
            if t != first or need_h0:
                dh_rec = xp.matmul(d.reshape(N, 4 * H), w_hh)
        return self._grads(dz, dh_rec, dc, x, w_ih, h0, c0, hs, w_hr, dh_all)

    def _grads(self, dz, dh_rec, dc, x, w_ih, h0, c0, hs, w_hr, dh_all):
        """The gradients of every input, from the pre-activation gradients dz (T, N, 4, H) of all steps."""
        T, N, _, H = dz.shape
        n = self.need
        dx, dw_ih, db = self._input_grads(dz.reshape(T * N, 4 * H), x, w_ih)
        dw_hh = self._hh_grad(dz, hs, h0, self.reverse) if n[2] else None
        dw_hr = None
        if w_hr is not None and n[7]:
            dw_hr = B.xp.matmul(dh_all.reshape(-1, hs.shape[2]).T, self.raw.reshape(-1, H))
        return (dx, dw_ih, dw_hh, db if n[3] else None, db.copy() if n[4] else None,
                dh_rec if h0 is not None and n[5] else None, dc if c0 is not None and n[6] else None, dw_hr)


class GRULayer(_RecurrentLayer):
    """One GRU layer (torch gate order r, z, n) over a sequence.

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr);  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h' = (1 - z) * n + z * h

    forward(x (T,N,I), w_ih (3H,I), w_hh (3H,H), b_ih, b_hh (3H) or None, h0 (N,H) or None, reverse=False)
    -> (T, N, H) outputs.  Backward: dn~ = dh (1-z)(1-n^2), dz~ = dh (h-n) z(1-z), dr~ = dn~ ghn r(1-r),
    dh_{t-1} = dh z + [dr~, dz~, dn~ r] W_hh.
    """

    def forward(self, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, reverse=False):
        xp = B.xp
        H = w_hh.shape[1]
        _check("gru", x, w_ih, w_hh, 3, h0, H)
        T, N, _ = x.shape
        dt = x.dtype
        scale = xp.repeat(xp.asarray([0.5, 0.5, 1.0], dt), H)      # r, z take tanh(z / 2)
        bias = None if b_ih is None else b_ih * scale
        if b_hh is not None:                        # b_hr, b_hz join the input part; b_hn stays inside r * (.)
            bias = xp.zeros(3 * H, dt) if bias is None else bias
            bias[:2 * H] += b_hh[:2 * H] * 0.5
        b_hn = None if b_hh is None else b_hh[2 * H:]
        kern = B.fused(w_hh)              # float32 NumPy (_check: all inputs share x's dtype); x may be a view
        self.kern, self.reverse = kern, reverse
        if kern is not None:
            return self._forward_fm(kern, x, w_hh, scale, self._project_fm(x, w_ih, scale, bias), b_hn, h0, reverse)
        act = self._project(x, w_ih, scale, bias).reshape(T, N, 3, H)
        w_hh_t = xp.ascontiguousarray((w_hh * scale[:, None]).T)
        ghn = xp.empty((T, N, H), dt)                              # W_hn h + b_hn, kept for backward
        hs = xp.empty((T, N, H), dt)
        h = h0
        self.act, self.ghn = act, ghn
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            a, gn = act[t], ghn[t]
            if h is None:
                gn[...] = 0 if b_hn is None else b_hn
            else:
                gh = xp.matmul(h, w_hh_t).reshape(N, 3, H)
                a[:, :2] += gh[:, :2]
                if b_hn is None:
                    gn[...] = gh[:, 2]
                else:
                    xp.add(gh[:, 2], b_hn, out=gn)
            rz = a[:, :2]
            xp.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            n = a[:, 2]
            n += a[:, 0] * gn
            xp.tanh(n, out=n)
            ht = hs[t]
            if h is None:
                xp.multiply(n, 1 - a[:, 1], out=ht)
            else:
                xp.subtract(h, n, out=ht)                          # h' = n + z (h - n)
                ht *= a[:, 1]
                ht += n
            h = ht
        return hs

    def _forward_fm(self, kern, x, w_hh, scale, act, b_hn, h0, reverse):
        """forward with the compiled cell, feature-major: act (T, 3H, N) holds the input projections."""
        xp = B.xp
        T, N, H = x.shape[0], x.shape[1], w_hh.shape[1]
        w_hh_s = w_hh * scale[:, None]                              # (3H, H): rec^T = W_hh h^T in one GEMM
        b_hn = None if b_hn is None else xp.repeat(b_hn, N)        # per (unit, sample) of the (H, N) blocks
        ghn, hs_t = xp.empty((T, H, N), x.dtype), xp.empty((T, H, N), x.dtype)
        rec = xp.empty((3 * H, N), x.dtype)
        h = None if h0 is None else xp.ascontiguousarray(h0.T)
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            kern.gru_cell_forward(act[t], None if h is None else xp.matmul(w_hh_s, h, out=rec), b_hn, h, ghn[t],
                                  hs_t[t], H * N)                  # the cell sees one row of 3 blocks of H*N
            h = hs_t[t]
        self.act, self.ghn, self.hs_t = act, ghn, hs_t
        return xp.ascontiguousarray(hs_t.transpose(0, 2, 1))

    def _backward_fm(self, dy, y, x, w_ih, w_hh, h0):
        """backward of _forward_fm: BPTT over (H, N) arrays; both sides' gate gradients kept as (3H, T, N)."""
        xp = B.xp
        act, ghn, hs_t, reverse, kern = self.act, self.ghn, self.hs_t, self.reverse, self.kern
        T, G, N = act.shape
        H = G // 3
        dt = act.dtype
        upstream = xp.any(dy.reshape(T, -1), axis=1).tolist()      # steps whose output gets a gradient (host)
        first = T - 1 if reverse else 0
        need_h0 = h0 is not None and self.need[5]
        h0t = None if h0 is None else xp.ascontiguousarray(h0.T)
        w_hh_t = xp.ascontiguousarray(w_hh.T)                       # (H, 3H)
        dx_gates, dh_gates = xp.empty((G, T, N), dt), xp.empty((G, T, N), dt)
        dxg, dhg = xp.empty((G, N), dt), xp.empty((G, N), dt)
        carry = xp.zeros((H, N), dt)                                # dh_t z_t, carried to step t-1
        rec, buf, zeros = xp.empty((H, N), dt), xp.empty((H, N), dt), xp.zeros((H, N), dt)
        dh_rec = None
        for t in (range(T) if reverse else range(T - 1, -1, -1)):
            h_prev = h0t if t == first else hs_t[t + 1 if reverse else t - 1]
            kern.gru_cell_backward(self._step_grad(dy, t, upstream, buf, zeros), dh_rec, carry, act[t], ghn[t], h_prev,
                                   dxg, dhg, H * N)
            dx_gates[:, t] = dxg
            dh_gates[:, t] = dhg
            if t != first or need_h0:
                dh_rec = xp.matmul(w_hh_t, dhg, out=rec)
        n = self.need
        dx, dw_ih, db_ih = self._input_grads_fm(dx_gates.reshape(G, T * N), x, w_ih)
        dh2 = dh_gates.reshape(G, T * N)
        dw_hh = xp.matmul(dh2, self._shifted(y, h0, reverse).reshape(T * N, H)) if n[2] else None
        db_hh = xp.matmul(dh2, B.ones(T * N, dt)) if n[4] else None
        dh0 = (dh_rec + carry).T.copy() if need_h0 else None
        return dx, dw_ih, dw_hh, db_ih if n[3] else None, db_hh, dh0

    def backward(self, m, dy, y, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None):
        xp = B.xp
        if self.kern is not None:
            return self._backward_fm(dy, y, x, w_ih, w_hh, h0)
        act, ghn, reverse = self.act, self.ghn, self.reverse
        T, N, _, H = act.shape
        r, z, n = act[:, :, 0], act[:, :, 1], act[:, :, 2]
        prev = self._shifted(y, h0, reverse)
        dn_dh = (1 - z) * (1 - n * n)                               # d n~ / dh
        dz_dh = (prev - n) * z * (1 - z)                            # d z~ / dh
        dr_dn = ghn * r * (1 - r)                                   # d r~ / d n~
        dx_gates = xp.empty_like(act)                               # [dr~, dz~, dn~]: input-side pre-activations
        dh_gates = xp.empty_like(act)                               # [dr~, dz~, dn~ r]: hidden-side
        need_h0 = h0 is not None and self.need[5]
        dh_rec = None
        order = range(T) if reverse else range(T - 1, -1, -1)
        first = order[-1]
        for t in order:
            dh = dy[t] if dh_rec is None else dy[t] + dh_rec
            d, e = dx_gates[t], dh_gates[t]
            xp.multiply(dh, dn_dh[t], out=d[:, 2])
            xp.multiply(dh, dz_dh[t], out=d[:, 1])
            xp.multiply(d[:, 2], dr_dn[t], out=d[:, 0])
            e[:, :2] = d[:, :2]
            xp.multiply(d[:, 2], r[t], out=e[:, 2])
            if t != first or need_h0:
                dh_rec = xp.matmul(e.reshape(N, 3 * H), w_hh)
                dh_rec += dh * z[t]
        dx, dw_ih, db_ih = self._input_grads(dx_gates.reshape(T * N, 3 * H), x, w_ih)
        need = self.need
        dh2 = dh_gates.reshape(T * N, 3 * H)
        dw_hh = xp.matmul(dh2.T, prev.reshape(T * N, H)) if need[2] else None
        db_hh = xp.add.reduce(dh2, 0) if need[4] else None
        return dx, dw_ih, dw_hh, db_ih if need[3] else None, db_hh, dh_rec if need_h0 else None


class RNNLayer(_RecurrentLayer):
    """One Elman RNN layer over a sequence: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    forward(x (T,N,I), w_ih (H,I), w_hh (H,H), b_ih, b_hh (H) or None, h0 (N,H) or None, nonlinearity='tanh',
    reverse=False) -> (T, N, H).  Backward: dz_t = (dh_t + dz_{t+1} W_hh) * act'(z_t), act' = 1 - h^2 or [h > 0].
    """

    def forward(self, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None, nonlinearity="tanh", reverse=False):
        xp = B.xp
        H = w_hh.shape[1]
        _check("rnn", x, w_ih, w_hh, 1, h0, H)
        T, N, _ = x.shape
        hs = self._project(x, w_ih, None, _sum_biases(b_ih, b_hh)).reshape(T, N, H)   # pre-activations -> h_t
        w_hh_t = xp.ascontiguousarray(w_hh.T)
        relu = nonlinearity == "relu"
        h = h0
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            a = hs[t]
            if h is not None:
                a += xp.matmul(h, w_hh_t)
            if relu:
                xp.maximum(a, 0, out=a)
            else:
                xp.tanh(a, out=a)
            h = a
        self.relu, self.reverse = relu, reverse
        return hs

    def backward(self, m, dy, y, x, w_ih, w_hh, b_ih=None, b_hh=None, h0=None):
        xp = B.xp
        T, N, H = y.shape
        # NOTE: relu' is 0 at h == 0 (as torch), so the mask is h > 0
        deriv = (y > 0).astype(y.dtype) if self.relu else 1 - y * y
        dz = xp.empty_like(y)
        need_h0 = h0 is not None and self.need[5]
        dh_rec = None
        order = range(T) if self.reverse else range(T - 1, -1, -1)
        first = order[-1]
        for t in order:
            dh = dy[t] if dh_rec is None else dy[t] + dh_rec
            xp.multiply(dh, deriv[t], out=dz[t])
            if t != first or need_h0:
                dh_rec = xp.matmul(dz[t], w_hh)
        dx, dw_ih, db = self._input_grads(dz.reshape(T * N, H), x, w_ih)
        n = self.need
        dw_hh = self._hh_grad(dz, y, h0, self.reverse) if n[2] else None
        return (dx, dw_ih, dw_hh, db if n[3] else None, db.copy() if n[4] else None,
                dh_rec if need_h0 else None)


OPS = {"lstm": LSTMLayer, "gru": GRULayer, "rnn": RNNLayer}
