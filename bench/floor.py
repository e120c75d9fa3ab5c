"""The NumPy floor: training steps written out by hand, the speed a NumPy framework can reach here.

For mlp_tiny, mlp_small, mlp_large and lstm, a step that does what the framework step does (same
shapes, init scheme, data, loss and optimizer as bench/workloads.py), with forward, backward and
update written out by hand the way a careful NumPy programmer would:

- float32 throughout; every activation, gradient and optimizer buffer allocated once, reused
  through `out=`; updates in place;
- parameters, gradients and optimizer state each in ONE flat array (the layers' weights are views
  of it), so the optimizer update is a handful of ufunc calls whatever the number of layers (in
  L2-sized blocks for the large model);
- GEMMs on the layouts BLAS takes fastest (`x @ W.T`, `dy.T @ x`, `dy @ W`; the LSTM's recurrent
  weight copied to (H, 4H) once a step); bias gradients as a GEMV with a vector of ones; the LSTM's
  input projections for all time steps in one GEMM, its gate columns ordered (i, f, o, g) so the
  three sigmoids are one slice, computed with the tanh of the g gate in one call
  (sigmoid(a) = (1 + tanh(a / 2)) / 2);
- glibc malloc tuned as redes tunes it (`tune_malloc`, the same `mallopt` settings).

No redes, no torch here: `python -m bench.worker --lib numpy` loads NumPy only. The classes take a
dtype and initial weights so that tests/test_bench_workloads.py can check one float64 step against
torch: a floor that computed something else would be a fake floor.

    MLPFloor(sizes, batch, params=None, dtype=np.float32)   .step(x, y) -> loss  .torch_params()
    LSTMFloor(n_in, hidden, batch, seq, params=None, dtype) .step(x, y) -> loss  .torch_params()
"""
import math
import os
import sys

import numpy as np

SEED = 0
UPDATE_BLOCK = 2**16


def tune_malloc():
    """The mallopt settings of redes.backend._tune_malloc, copied (this module must not import redes):
    raise both glibc's mmap and trim thresholds so freed mid-size arrays stay in the process instead
    of coming back as fresh page-faulting mmaps every step. REDES_MALLOC_TUNING=0 leaves malloc alone
    here too, so an A/B run switches both sides."""
    if os.environ.get("REDES_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3        # from glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 32 * 2**20) and libc.mallopt(m_trim_threshold, 256 * 2**20))
    except (OSError, AttributeError):                      # not glibc: nothing to tune
        return False


def _uniform_init(rng, shapes, fan_in, dtype):
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for every array: torch's Linear and LSTM default scale."""
    bound = 1.0 / math.sqrt(fan_in)
    return [rng.uniform(-bound, bound, s).astype(dtype) for s in shapes]


class _Flat:
    """Parameters, gradients and optimizer state as flat arrays; `views(flat)` cuts one into the shapes."""

    def __init__(self, shapes, dtype):
        self.shapes = shapes
        self.sizes = [math.prod(s) for s in shapes]
        total = sum(self.sizes)
        self.param, self.grad = np.empty(total, dtype), np.zeros(total, dtype)
        self.scratch = np.empty(total, dtype)

    def views(self, flat):
        out, start = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            out.append(flat[start:start + size].reshape(shape))
            start += size
        return out


# --- MLP: SGD momentum, cross-entropy --------------------------------------------------------------

class MLPFloor:
    """Linear-ReLU-...-Linear classifier, mean cross-entropy, SGD(lr, momentum) as torch writes it:
    buf = momentum * buf + grad (buf starts at zero, so the first step stores grad), p -= lr * buf.

    params: [(W (out, in), b (out,)), ...] in torch's layout, or None for U(+-1/sqrt(fan_in)) from a
    generator seeded with SEED.
    """

    def __init__(self, sizes, batch, params=None, dtype=np.float32, lr=0.01, momentum=0.9):
        self.n_layers, self.lr, self.momentum, self.batch = len(sizes) - 1, lr, momentum, batch
        pairs = list(zip(sizes[:-1], sizes[1:]))
        shapes = [s for n_in, n_out in pairs for s in ((n_out, n_in), (n_out,))]
        if params is None:
            rng = np.random.default_rng(SEED)
            params = [tuple(_uniform_init(rng, [(n_out, n_in), (n_out,)], n_in, dtype)) for n_in, n_out in pairs]
        self.flat = _Flat(shapes, dtype)
        for view, value in zip(self.flat.views(self.flat.param), (a for pair in params for a in pair)):
            view[...] = value
        self.momentum_buf = np.zeros_like(self.flat.param)
        # Blocks of 2^16 values (4 x 256 KiB stay in L2 across the update's 4 passes): mlp_large's 6.3 M
        # parameters update in ~7.1 ms instead of ~8.5-9.9 (one thread); smaller models are one block.
        self.update_blocks = [tuple(a[start:start + UPDATE_BLOCK] for a in (self.momentum_buf, self.flat.grad,
                                                                           self.flat.param, self.flat.scratch))
                              for start in range(0, self.flat.param.size, UPDATE_BLOCK)]
        views, grads = self.flat.views(self.flat.param), self.flat.views(self.flat.grad)
        self.W, self.b, self.dW, self.db = views[0::2], views[1::2], grads[0::2], grads[1::2]
        # Pre-activations (ReLU in place: z becomes h), the gradients flowing back, ReLU masks.
        self.z = [np.empty((batch, n_out), dtype) for _, n_out in pairs]
        self.dz = [np.empty((batch, n_out), dtype) for _, n_out in pairs]
        self.mask = [np.empty((batch, n_out), dtype) for _, n_out in pairs[:-1]]
        self.zeros = [np.zeros((batch, n_out), dtype) for _, n_out in pairs[:-1]]
        self.ones = np.ones(batch, dtype)
        n_classes = sizes[-1]
        self.row_max, self.row_sum = np.empty((batch, 1), dtype), np.empty((batch, 1), dtype)
        self.picked, self.log_sum = np.empty(batch, dtype), np.empty((batch, 1), dtype)
        # Flat positions of the target logits (row * n_classes + y), so picking them is one call.
        self.row_offsets = np.arange(batch) * n_classes
        self.target_index = np.empty(batch, np.int64)

    def step(self, x, y):
        """One training step on (x (batch, in), y (batch,) class indices); returns the loss (a float)."""
        np.add(self.row_offsets, y, out=self.target_index)
        z, dz, W, b, dW, db = self.z, self.dz, self.W, self.b, self.dW, self.db
        last = self.n_layers - 1
        # Forward: z_k = h_{k-1} @ W_k.T + b_k, ReLU in place on hidden layers (NumPy's maximum with
        # a scalar 0 takes a slow loop; an array of zeros does not).
        h = x
        for k in range(self.n_layers):
            np.matmul(h, W[k].T, out=z[k])
            z[k] += b[k]
            if k < last:
                np.maximum(z[k], self.zeros[k], out=z[k])
            h = z[k]
        # Cross-entropy on shifted logits: loss = mean(log sum exp(s) - s[target]), s = z - max z.
        logits, p = z[last], dz[last]
        np.max(logits, axis=1, keepdims=True, out=self.row_max)
        logits -= self.row_max
        np.exp(logits, out=p)
        np.sum(p, axis=1, keepdims=True, out=self.row_sum)
        np.take(logits.ravel(), self.target_index, out=self.picked)
        np.log(self.row_sum, out=self.log_sum)
        loss = (float(self.log_sum.sum()) - float(self.picked.sum())) / self.batch
        # dlogits = (softmax - onehot) / batch.
        self.row_sum *= self.batch
        p /= self.row_sum
        p.ravel()[self.target_index] -= 1.0 / self.batch
        # Backward: dW = dz.T @ h_prev, db = ones @ dz (a GEMV), dh_prev = dz @ W, masked by ReLU.
        for k in range(last, -1, -1):
            h_prev = z[k - 1] if k else x
            np.matmul(dz[k].T, h_prev, out=dW[k])
            np.matmul(self.ones, dz[k], out=db[k])
            if k:
                np.matmul(dz[k], W[k], out=dz[k - 1])
                np.greater(h_prev, self.zeros[k - 1], out=self.mask[k - 1])
                dz[k - 1] *= self.mask[k - 1]
        # SGD with momentum over the flat buffers: 4 calls whatever the depth, a block at a time.
        for buf, grad, param, tmp in self.update_blocks:
            buf *= self.momentum
            buf += grad
            np.multiply(buf, self.lr, out=tmp)
            param -= tmp
        return loss

    def torch_params(self):
        """Copies of the parameters as [W1, b1, W2, b2, ...] in torch's layout (for the tests)."""
        return [a.copy() for a in self.flat.views(self.flat.param)]


# --- LSTM: Adam, MSE --------------------------------------------------------------------------------

class LSTMFloor:
    """One-layer LSTM (batch_first input), Linear(hidden, 1) on the last step's h, mean squared error,
    Adam(lr, betas, eps) as torch writes it: m = lerp(m, g, 1 - b1), v = b2 v + (1 - b2) g^2,
    p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).

    Internally the four gates are ordered (i, f, o, g), torch's (i, f, g, o) with the last two
    swapped, so the three sigmoid gates are one contiguous column block.

    params: torch's [W_ih (4H, I), W_hh (4H, H), b_ih, b_hh, head W (1, H), head b (1,)] with
    gates in torch's order, or None for U(+-1/sqrt(hidden)) everywhere (torch's LSTM scale; the head's
    fan_in is hidden too).
    """

    def __init__(self, n_in, hidden, batch, seq, params=None, dtype=np.float32,
                 lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        H, T, B = hidden, seq, batch
        self.H, self.T, self.B, self.lr, self.betas, self.eps, self.t = H, T, B, lr, betas, eps, 0
        shapes = [(4 * H, n_in), (4 * H, H), (4 * H,), (4 * H,), (1, H), (1,)]
        if params is None:
            params = _uniform_init(np.random.default_rng(SEED), shapes, H, dtype)
        # torch rows (i, f, g, o) -> ours (i, f, o, g); the same permutation undoes itself.
        self.order = np.concatenate([np.arange(0, 2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
        self.flat = _Flat(shapes, dtype)
        views = self.flat.views(self.flat.param)
        for k, (view, value) in enumerate(zip(views, params)):
            view[...] = value[self.order] if k < 4 else value
        self.W_ih, self.W_hh, self.b_ih, self.b_hh, self.W_head, self.b_head = views
        (self.dW_ih, self.dW_hh, self.db_ih, self.db_hh,
         self.dW_head, self.db_head) = self.flat.views(self.flat.grad)
        self.m, self.v = np.zeros_like(self.flat.param), np.zeros_like(self.flat.param)
        self.scratch2 = np.empty_like(self.flat.param)
        # Time-major buffers: gates (pre-activation, then activations in place), cells, tanh(cells), h.
        self.x_tm = np.empty((T, B, n_in), dtype)
        self.gates = np.empty((T, B, 4 * H), dtype)
        self.dgates = np.empty((T, B, 4 * H), dtype)
        self.c, self.tanh_c, self.h = (np.empty((T, B, H), dtype) for _ in range(3))
        self.bias, self.W_hh_t = np.empty(4 * H, dtype), np.empty((H, 4 * H), dtype)
        self.W_ih_t = np.empty((n_in, 4 * H), dtype)
        self.half = np.concatenate([np.full(3 * H, 0.5, dtype), np.ones(H, dtype)])
        self.rec, self.dh, self.dc = (np.empty((B, 4 * H), dtype), np.empty((B, H), dtype), np.empty((B, H), dtype))
        self.tmp = np.empty((B, H), dtype)
        self.deriv, self.dc_dh = np.empty((T, B, 4 * H), dtype), np.empty((T, B, H), dtype)
        self.out, self.dout = np.empty((B, 1), dtype), np.empty((B, 1), dtype)
        self.ones_tb, self.ones_b = np.ones(T * B, dtype), np.ones(B, dtype)

    def step(self, x, y):
        """One training step on (x (batch, seq, n_in), y (batch, 1)); returns the loss (a float)."""
        H, T, B = self.H, self.T, self.B
        G, C, TC, Hs = self.gates, self.c, self.tanh_c, self.h
        # sigmoid(a) = (1 + tanh(a / 2)) / 2: the gates' pre-activations are computed already halved in
        # the i, f, o columns (weights and bias scaled by `half` as they are copied into GEMM layout), so
        # one tanh over all 4H columns and two passes over 3H make the gates: 3 calls a step, not 5
        # (the step ran 7-10% faster, one thread). Backward uses the true weights and s (1 - s).
        # Input projections of every time step in one GEMM, both biases added once.
        np.copyto(self.x_tm, x.transpose(1, 0, 2))
        G2, X2 = G.reshape(T * B, 4 * H), self.x_tm.reshape(T * B, -1)
        np.multiply(self.W_ih.T, self.half, out=self.W_ih_t)
        np.matmul(X2, self.W_ih_t, out=G2)
        np.add(self.b_ih, self.b_hh, out=self.bias)
        self.bias *= self.half
        G2 += self.bias
        # h @ W_hh.T runs ~1.3x faster from a contiguous (H, 4H) copy than through BLAS's transpose
        # flag (one-thread OpenBLAS, 32x128 @ 128x512); the copy (halving i, f, o) is one pass a step.
        np.multiply(self.W_hh.T, self.half, out=self.W_hh_t)
        for t in range(T):
            g = G[t]
            if t:
                np.matmul(Hs[t - 1], self.W_hh_t, out=self.rec)
                g += self.rec
            s = g[:, :3 * H]                    # i, f, o: sigmoid; g: tanh
            np.tanh(g, out=g)
            s *= 0.5
            s += 0.5
            i, f, o, gg = g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:]
            if t:                               # c_t = f c_{t-1} + i g
                np.multiply(f, C[t - 1], out=C[t])
                np.multiply(i, gg, out=self.tmp)
                C[t] += self.tmp
            else:
                np.multiply(i, gg, out=C[t])
            np.tanh(C[t], out=TC[t])
            np.multiply(o, TC[t], out=Hs[t])
        # Head and MSE: out = h_T @ W.T + b, loss = mean((out - y)^2), dout = 2 (out - y) / B.
        np.matmul(Hs[T - 1], self.W_head.T, out=self.out)
        self.out += self.b_head
        np.subtract(self.out, y, out=self.dout)
        loss = float(np.dot(self.dout.ravel(), self.dout.ravel())) / B
        self.dout *= 2.0 / B
        np.matmul(self.dout.T, Hs[T - 1], out=self.dW_head)
        np.matmul(self.ones_b, self.dout, out=self.db_head)
        np.matmul(self.dout, self.W_head, out=self.dh)
        # The local derivatives do not depend on the gradients flowing back: take them for all time steps
        # at once (a few large calls instead of many small ones per step).
        D, S, GG = self.deriv, G[:, :, :3 * H], G[:, :, 3 * H:]
        np.subtract(1.0, S, out=D[:, :, :3 * H])                # sigmoid gates: s (1 - s)
        D[:, :, :3 * H] *= S
        np.multiply(GG, GG, out=D[:, :, 3 * H:])                # tanh gate: 1 - g^2
        np.subtract(1.0, D[:, :, 3 * H:], out=D[:, :, 3 * H:])
        np.multiply(TC, TC, out=self.dc_dh)                     # dc/dh = o (1 - tanh(c)^2)
        np.subtract(1.0, self.dc_dh, out=self.dc_dh)
        self.dc_dh *= G[:, :, 2 * H:3 * H]
        # Backward through time. dc carries the cell gradient, dh the hidden one.
        dG, dc, dh, tmp = self.dgates, self.dc, self.dh, self.tmp
        for t in range(T - 1, -1, -1):
            g, dg = G[t], dG[t]
            i, f, gg = g[:, :H], g[:, H:2 * H], g[:, 3 * H:]
            if t == T - 1:
                np.multiply(dh, self.dc_dh[t], out=dc)
            else:
                np.multiply(dh, self.dc_dh[t], out=tmp)
                dc += tmp
            np.multiply(dc, gg, out=dg[:, :H])                  # d i
            if t:
                np.multiply(dc, C[t - 1], out=dg[:, H:2 * H])   # d f
            else:
                dg[:, H:2 * H] = 0.0
            np.multiply(dh, TC[t], out=dg[:, 2 * H:3 * H])      # d o
            np.multiply(dc, i, out=dg[:, 3 * H:])               # d g
            dc *= f                                             # to c_{t-1}
            dg *= D[t]                                          # to the pre-activations
            if t:
                np.matmul(dg, self.W_hh, out=dh)
        # Weight gradients summed over time, each one GEMM over the (T*B)-row blocks.
        dG2 = dG.reshape(T * B, 4 * H)
        np.matmul(dG2.T, X2, out=self.dW_ih)
        np.matmul(dG[1:].reshape((T - 1) * B, 4 * H).T, Hs[:-1].reshape((T - 1) * B, H), out=self.dW_hh)
        np.matmul(self.ones_tb, dG2, out=self.db_ih)
        np.copyto(self.db_hh, self.db_ih)
        self._adam()
        return loss

    def _adam(self):
        """torch's Adam (single-tensor form) over the flat buffers: 12 passes whatever the model."""
        self.t += 1
        beta1, beta2 = self.betas
        g, m, v, tmp, tmp2 = self.flat.grad, self.m, self.v, self.flat.scratch, self.scratch2
        np.subtract(g, m, out=tmp)              # m = lerp(m, g, 1 - beta1)
        tmp *= 1.0 - beta1
        m += tmp
        v *= beta2                              # v = beta2 v + (1 - beta2) g^2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - beta2
        v += tmp
        step_size = self.lr / (1.0 - beta1 ** self.t)
        np.sqrt(v, out=tmp)                     # denom = sqrt(v) / sqrt(1 - beta2^t) + eps
        tmp /= math.sqrt(1.0 - beta2 ** self.t)
        tmp += self.eps
        np.divide(m, tmp, out=tmp2)
        tmp2 *= step_size
        self.flat.param -= tmp2

    def torch_params(self):
        """Copies of the parameters in torch's order and layout: [W_ih, W_hh, b_ih, b_hh, head W, head b]."""
        views = self.flat.views(self.flat.param)
        return [v[self.order].copy() if k < 4 else v.copy() for k, v in enumerate(views)]


# --- The benchmark's builders ---------------------------------------------------------------------

def _mlp(sizes, batch):
    from bench.workloads import _rng
    tune_malloc()
    rng = _rng()                                # x then y, as bench.workloads._mlp draws them
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], size=batch, dtype=np.int64)
    model = MLPFloor(sizes, batch)
    return lambda: model.step(x, y)


def _lstm():
    from bench.workloads import RNN_BATCH as batch, RNN_HIDDEN as hidden, RNN_IN as n_in, RNN_SEQ as seq, _rng
    tune_malloc()
    rng = _rng()                                # x then y, as bench.workloads._recurrent draws them
    x = rng.standard_normal((batch, seq, n_in), dtype=np.float32)
    y = rng.standard_normal((batch, 1), dtype=np.float32)
    model = LSTMFloor(n_in, hidden, batch, seq)
    return lambda: model.step(x, y)


def get(workload, part=""):
    """The builder of the floor for `workload` (mlp_large's 'gemm' part is the redes one: raw NumPy)."""
    from bench import workloads
    if workload not in FLOOR_WORKLOADS:
        raise NotImplementedError(f"no NumPy floor for {workload!r}; floors exist for {', '.join(FLOOR_WORKLOADS)}")
    if part:
        return workloads.get("redes", workload, part)
    if workload == "lstm":
        return _lstm
    sizes, batch = {"mlp_tiny": workloads.MLP_TINY, "mlp_small": workloads.MLP_SMALL,
                    "mlp_large": workloads.MLP_LARGE}[workload]
    return lambda: _mlp(sizes, batch)


FLOOR_WORKLOADS = ("mlp_tiny", "mlp_small", "mlp_large", "lstm")
