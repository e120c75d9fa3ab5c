"""Benchmark workloads: one function per (library, workload), each returning a `step()` closure.

Because redes mirrors PyTorch's API, every training workload is written once as a builder that
takes the library module (`redes` or `torch`) and is wrapped by a thin per-library function.
That guarantees identical shapes, data and hyperparameters on both sides. Inputs and targets come
from a seeded NumPy generator, so both libraries train on the same numbers.

Nothing here chooses a device: the worker selects it (CPU today; a later CuPy/CUDA run will set
the default device/backend there) before calling a builder. Libraries are imported lazily inside
the builders so that a worker process only ever loads the library it measures.

A step is a full training step: zero_grad, forward, loss, backward, optimizer step. `step()`
returns the loss tensor so the worker can synchronise on it (matters only for async devices).

The third library, 'numpy', is the hand-written NumPy floor of bench/floor.py (mlp_* and lstm only):
`get('numpy', name)` hands over to it.
"""
import numpy as np

SEED = 0


def _rng():
    return np.random.default_rng(SEED)


def _redes():
    import redes
    return redes


def _torch():
    import torch
    return torch


# Set by the worker's --compile: redes workloads run their forward + loss through rd.compile (issue 6, item 4).
COMPILE = False


def _maybe_compiled(lib, fn):
    """fn, or redes.compile(fn) when the run measures compiled redes (torch always runs eagerly)."""
    return lib.compile(fn) if COMPILE and lib.__name__ == "redes" else fn


def _train_step(lib, model, opt, loss_fn, x, y):
    """The standard training step closure shared by every tensor-library workload."""
    forward_loss = _maybe_compiled(lib, lambda x, y: loss_fn(model(x), y))

    def step():
        opt.zero_grad()
        loss = forward_loss(x, y)
        loss.backward()
        opt.step()
        return loss
    return step


# --- MLPs -----------------------------------------------------------------------------------------

def _mlp_model(lib, sizes):
    """Linear-ReLU-...-Linear with the given layer widths."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i:
            layers.append(lib.nn.ReLU())
        layers.append(lib.nn.Linear(n_in, n_out))
    return lib.nn.Sequential(*layers)


def _mlp(lib, sizes, batch):
    """Classifier MLP, SGD(lr 0.01, momentum 0.9), cross-entropy."""
    lib.manual_seed(SEED)
    rng = _rng()
    model = _mlp_model(lib, sizes)
    x = lib.tensor(rng.standard_normal((batch, sizes[0]), dtype=np.float32))
    y = lib.tensor(rng.integers(0, sizes[-1], size=batch, dtype=np.int64))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _train_step(lib, model, opt, lib.nn.functional.cross_entropy, x, y)


MLP_TINY = ([64, 16, 10], 8)
MLP_SMALL = ([64, 256, 256, 10], 64)
MLP_LARGE = ([1024, 2048, 2048, 10], 256)


def redes_mlp_tiny():
    return _mlp(_redes(), *MLP_TINY)


def torch_mlp_tiny():
    return _mlp(_torch(), *MLP_TINY)


def redes_mlp_small():
    return _mlp(_redes(), *MLP_SMALL)


def torch_mlp_small():
    return _mlp(_torch(), *MLP_SMALL)


def redes_mlp_large():
    return _mlp(_redes(), *MLP_LARGE)


def torch_mlp_large():
    return _mlp(_torch(), *MLP_LARGE)


# --- GEMMs alone for mlp_large (denominator of gemm_fraction) --------------------------------------

def _gemm_operands(sizes, batch):
    """float32 operands with mlp_large's shapes: input, weights (out, in), upstream grads."""
    rng = _rng()
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    ws = [0.02 * rng.standard_normal((n_out, n_in), dtype=np.float32)
          for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    dys = [rng.standard_normal((batch, n_out), dtype=np.float32) for n_out in sizes[1:]]
    return x, ws, dys


def _gemm_step(x, ws, dys, mm, t):
    """The GEMMs of one mlp_large step: forward y = x@W.T per layer; backward dW = dy.T@x per
    layer and dx = dy@W for every layer but the first (the input needs no gradient, so autograd
    skips that one too). `mm` is the matmul, `t` the transpose of the library under test."""
    def step():
        acts = [x]
        for w in ws:
            acts.append(mm(acts[-1], t(w)))
        for i in reversed(range(len(ws))):
            mm(t(dys[i]), acts[i])                  # dW
            if i:
                mm(dys[i], ws[i])                   # dx
        return acts[-1]
    return step


def redes_mlp_large_gemm():
    """redes computes on NumPy arrays, so its GEMM floor is raw NumPy float32 matmul."""
    return _gemm_step(*_gemm_operands(*MLP_LARGE), np.matmul, np.transpose)


def torch_mlp_large_gemm():
    torch = _torch()
    x, ws, dys = _gemm_operands(*MLP_LARGE)
    as_t = torch.from_numpy
    return _gemm_step(as_t(x), [as_t(w) for w in ws], [as_t(d) for d in dys], torch.mm, torch.t)


# --- CNN ------------------------------------------------------------------------------------------

def _cnn(lib, batch=64, batch_norm=False):
    """Two conv blocks + linear head on 28x28 single-channel inputs, SGD momentum; with batch_norm,
    a BatchNorm2d (train mode: batch statistics, running stats updated) after each conv."""
    nn = lib.nn
    lib.manual_seed(SEED)
    rng = _rng()
    norm = (lambda channels: [nn.BatchNorm2d(channels)]) if batch_norm else (lambda channels: [])
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), *norm(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), *norm(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
    x = lib.tensor(rng.standard_normal((batch, 1, 28, 28), dtype=np.float32))
    y = lib.tensor(rng.integers(0, 10, size=batch, dtype=np.int64))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _train_step(lib, model, opt, nn.functional.cross_entropy, x, y)


def redes_cnn():
    return _cnn(_redes())


def torch_cnn():
    return _cnn(_torch())


def redes_cnn_bn():
    return _cnn(_redes(), batch_norm=True)


def torch_cnn_bn():
    return _cnn(_torch(), batch_norm=True)


# --- Transformer character LM ---------------------------------------------------------------------

VOCAB, D_MODEL, N_HEAD, D_FF, N_LAYERS, SEQ, BATCH_LM = 65, 128, 4, 512, 2, 64, 32


def _char_lm(lib):
    """Pre-norm causal transformer LM, AdamW(lr 3e-4), cross-entropy over every position."""
    nn = lib.nn

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(VOCAB, D_MODEL)
            self.pos = nn.Embedding(SEQ, D_MODEL)
            layer = nn.TransformerEncoderLayer(
                d_model=D_MODEL, nhead=N_HEAD, dim_feedforward=D_FF, dropout=0.0,
                activation="gelu", batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, num_layers=N_LAYERS)
            self.head = nn.Linear(D_MODEL, VOCAB)

        def forward(self, idx, positions, mask):
            h = self.tok(idx) + self.pos(positions)
            return self.head(self.encoder(h, mask=mask))

    lib.manual_seed(SEED)
    rng = _rng()
    model = CharLM()
    idx = lib.tensor(rng.integers(0, VOCAB, size=(BATCH_LM, SEQ), dtype=np.int64))
    targets = lib.tensor(rng.integers(0, VOCAB, size=BATCH_LM * SEQ, dtype=np.int64))
    positions = lib.tensor(np.arange(SEQ, dtype=np.int64))
    # Built once, outside the step: additive float mask, -inf strictly above the diagonal.
    mask = lib.tensor(np.triu(np.full((SEQ, SEQ), -np.inf, dtype=np.float32), k=1))
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    cross_entropy = nn.functional.cross_entropy

    forward_loss = _maybe_compiled(lib, lambda idx, positions, mask, targets: cross_entropy(
        model(idx, positions, mask).reshape(BATCH_LM * SEQ, VOCAB), targets))

    def step():
        opt.zero_grad()
        loss = forward_loss(idx, positions, mask, targets)
        loss.backward()
        opt.step()
        return loss
    return step


def redes_transformer():
    return _char_lm(_redes())


def torch_transformer():
    return _char_lm(_torch())


# --- LSTM regression ------------------------------------------------------------------------------

RNN_BATCH, RNN_SEQ, RNN_IN, RNN_HIDDEN = 32, 50, 32, 128


def _recurrent(lib, layer, batch=RNN_BATCH, seq=RNN_SEQ, n_in=RNN_IN, hidden=RNN_HIDDEN):
    """One-layer LSTM or GRU (`layer`), Linear head on the last time step, MSE, Adam."""
    nn = lib.nn
    lib.manual_seed(SEED)
    rng = _rng()
    rnn = getattr(nn, layer)(n_in, hidden, batch_first=True)
    head = nn.Linear(hidden, 1)
    x = lib.tensor(rng.standard_normal((batch, seq, n_in), dtype=np.float32))
    y = lib.tensor(rng.standard_normal((batch, 1), dtype=np.float32))
    opt = lib.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)

    def forward(inp):
        out, _ = rnn(inp)
        return head(out[:, -1, :])
    return _train_step(lib, forward, opt, nn.functional.mse_loss, x, y)


def redes_lstm():
    return _recurrent(_redes(), "LSTM")


def torch_lstm():
    return _recurrent(_torch(), "LSTM")


def redes_gru():
    return _recurrent(_redes(), "GRU")


def torch_gru():
    return _recurrent(_torch(), "GRU")


# --- Scalar graph: redes 0-D tensors vs micrograd ---------------------------------------------------

SCALAR_IN, SCALAR_HIDDEN = 50, 100


def scalar_op_count(n_in=SCALAR_IN, hidden=SCALAR_HIDDEN):
    """Ops per forward of `_scalar_net`: each hidden unit does n_in (*,+) pairs and a relu; the
    output does hidden (*,+) pairs; the loss is one + and one *. 50x100 gives 10,302 ops."""
    return hidden * (2 * n_in + 1) + 2 * hidden + 2


def _scalar_net(make_param, make_const, n_in=SCALAR_IN, hidden=SCALAR_HIDDEN):
    """A 2-layer net on one sample, one scalar node per weight, rebuilt from scratch every step.

    micrograd has no tanh, so both sides use relu; `make_param`/`make_const` wrap a Python float
    as a trainable/constant scalar of the library under test. Returns (params, step).
    """
    rng = _rng()
    w1 = [[make_param(float(v)) for v in row] for row in rng.uniform(-1, 1, (hidden, n_in))]
    b1 = [make_param(0.0) for _ in range(hidden)]
    w2 = [make_param(float(v)) for v in rng.uniform(-1, 1, hidden) / hidden]
    b2 = make_param(0.0)
    xs = [make_const(float(v)) for v in rng.standard_normal(n_in)]
    neg_target = make_const(-1.0)
    params = [p for row in w1 for p in row] + b1 + w2 + [b2]

    def forward():
        hs = []
        for row, b in zip(w1, b1):
            act = b
            for w, x in zip(row, xs):
                act = act + w * x
            hs.append(act.relu())
        out = b2
        for w, h in zip(w2, hs):
            out = out + w * h
        diff = out + neg_target
        return diff * diff
    return params, forward


def redes_scalar():
    rd = _redes()
    params, forward = _scalar_net(lambda v: rd.tensor(v, requires_grad=True), rd.tensor)

    def step():
        for p in params:
            p.grad = None
        loss = forward()
        loss.backward()
        return loss
    return step


def torch_scalar():
    """The 'torch' side of the scalar workload is micrograd, the reference scalar engine."""
    from micrograd.engine import Value
    params, forward = _scalar_net(Value, Value)

    def step():
        for p in params:
            p.grad = 0
        loss = forward()
        loss.backward()
        return loss
    return step


# --- Registry -------------------------------------------------------------------------------------

WORKLOADS = ["mlp_tiny", "mlp_small", "mlp_large", "cnn", "cnn_bn", "transformer", "lstm", "gru", "scalar"]
# What the "torch" column actually runs, where it is not PyTorch.
REFERENCE_NAME = {"scalar": "micrograd"}
# Workloads whose worker also times the GEMMs alone and reports gemm_fraction.
HAS_GEMM = {"mlp_large"}


def get(lib, workload, part=""):
    """The builder for (lib, workload[, part]), e.g. get('torch', 'mlp_large', 'gemm'). lib 'numpy' is
    the hand-written NumPy floor of bench/floor.py (NotImplementedError where a workload has none)."""
    if workload not in WORKLOADS:
        raise KeyError(f"unknown workload {workload!r}; expected one of {', '.join(WORKLOADS)}")
    if lib == "numpy":
        from bench import floor
        return floor.get(workload, part)
    return globals()[f"{lib}_{workload}" + (f"_{part}" if part else "")]
