"""Recurrent layers as functions (the cyclic topology), named as torch's: lstm, gru, rnn_tanh, rnn_relu and
their one-step cells lstm_cell, gru_cell, rnn_tanh_cell, rnn_relu_cell.

A layer of one direction over a whole sequence is ONE fused op (redes.ops.recurrent): the input projection
for all steps is one GEMM, each step one GEMM plus in-place gate math, and backward runs backpropagation
through time over arrays. These functions stack layers and directions, and apply dropout between layers.

Truncated backpropagation through time: run the sequence in chunks and carry the state across them
detached (`h = h.detach()`), so each backward stops at the chunk boundary (see nn.LSTM's docstring).
"""
from ...functions import cat, stack
from ...ops import recurrent as _rec
from ...tensor import Tensor
from .dropout import dropout as _dropout

__all__ = ["lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell"]


def _lstm_dir(x, h0, c0, w, has_biases, reverse):
    """One LSTM layer, one direction: (output (T, N, P), h_n (N, P), c_n (N, H))."""
    w_ih, w_hh = w[0], w[1]
    b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
    w_hr = w[4 if has_biases else 2] if len(w) > (4 if has_biases else 2) else None
    T, N = x.shape[0], x.shape[1]
    P, H = w_hh.shape[1], w_hh.shape[0] // 4
    y = _rec.LSTMLayer.apply(x, w_ih, w_hh, b_ih, b_hh, h0, c0, w_hr, reverse=reverse)
    out = y[:T * N * P].reshape(T, N, P)                 # the op packs outputs and c_T in one array
    return out, out[0 if reverse else T - 1], y[T * N * P:].reshape(N, H)


def _simple_dir(op, **options):
    def run(x, h0, c0, w, has_biases, reverse):
        b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
        out = op.apply(x, w[0], w[1], b_ih, b_hh, h0, reverse=reverse, **options)
        return out, out[0 if reverse else x.shape[0] - 1], None
    return run


def _stack(name, layer_dir, input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
    """Run num_layers x (1 or 2 directions) of one recurrent kind; hx is h0 or (h0, c0) or None."""
    if not isinstance(input, Tensor) or input.ndim != 3:
        raise ValueError(f"{name}: expected a 3-D input tensor ({'N, T' if batch_first else 'T, N'}, input_size), "
                         f"got {tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    dirs = 2 if bidirectional else 1
    per = len(params) // (num_layers * dirs)
    if per * num_layers * dirs != len(params):
        raise ValueError(f"{name}: got {len(params)} weights, not a multiple of num_layers * directions = "
                         f"{num_layers * dirs}")
    x = input.transpose(0, 1) if batch_first else input
    h0, c0 = (hx if isinstance(hx, (tuple, list)) else (hx, None)) if hx is not None else (None, None)
    hs, cs = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            out, h, c = layer_dir(x, None if h0 is None else h0[k], None if c0 is None else c0[k],
                                  params[k * per:(k + 1) * per], has_biases, d == 1)
            outs.append(out)
            hs.append(h)
            cs.append(c)
        x = outs[0] if dirs == 1 else cat(outs, -1)
        if dropout > 0 and train and layer < num_layers - 1:
            x = _dropout(x, dropout)
    output = x.transpose(0, 1) if batch_first else x
    h_n = _stack_states(hs)
    return (output, h_n, _stack_states(cs)) if cs[0] is not None else (output, h_n)


def _stack_states(states):
    return states[0].unsqueeze(0) if len(states) == 1 else stack(states, 0)


def lstm(input, hx, params, has_biases=True, num_layers=1, dropout=0.0, train=True, bidirectional=False,
         batch_first=False):
    """Multi-layer LSTM over a sequence (as torch.lstm / torch._VF.lstm); returns (output, h_n, c_n).

    Args:
        input: (T, N, input_size), or (N, T, input_size) with batch_first.
        hx: None (zeros) or (h0, c0), each (num_layers * directions, N, H_out) / (..., N, hidden_size).
        params: per layer and direction: weight_ih, weight_hh, [bias_ih, bias_hh], [weight_hr].
    Shape: output (T, N, directions * H_out) (batch-first if asked); h_n, c_n as h0, c0.
    """
    return _stack("lstm", _lstm_dir, input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                  batch_first)


def gru(input, hx, params, has_biases=True, num_layers=1, dropout=0.0, train=True, bidirectional=False,
        batch_first=False):
    """Multi-layer GRU over a sequence (as torch.gru); returns (output, h_n). Arguments as lstm, hx = h0 or None."""
    return _stack("gru", _simple_dir(_rec.GRULayer), input, hx, params, has_biases, num_layers, dropout, train,
                  bidirectional, batch_first)


def rnn_tanh(input, hx, params, has_biases=True, num_layers=1, dropout=0.0, train=True, bidirectional=False,
             batch_first=False):
    """Multi-layer Elman RNN with tanh (as torch.rnn_tanh); returns (output, h_n)."""
    return _stack("rnn_tanh", _simple_dir(_rec.RNNLayer, nonlinearity="tanh"), input, hx, params, has_biases,
                  num_layers, dropout, train, bidirectional, batch_first)


def rnn_relu(input, hx, params, has_biases=True, num_layers=1, dropout=0.0, train=True, bidirectional=False,
             batch_first=False):
    """Multi-layer Elman RNN with relu (as torch.rnn_relu); returns (output, h_n)."""
    return _stack("rnn_relu", _simple_dir(_rec.RNNLayer, nonlinearity="relu"), input, hx, params, has_biases,
                  num_layers, dropout, train, bidirectional, batch_first)


# ----------------------------------------------------------------------------------- one-step cells
def _step(input):
    if not isinstance(input, Tensor) or input.ndim != 2:
        raise ValueError(f"cell: expected a 2-D input (N, input_size), got "
                         f"{tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__}")
    return input.unsqueeze(0)                            # a sequence of one step: the same fused op


def lstm_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step (as torch.lstm_cell): (h', c') from input (N, I) and hx = (h, c) or None (zeros)."""
    h, c = (None, None) if hx is None else hx
    N, P, H = input.shape[0], w_hh.shape[1], w_hh.shape[0] // 4
    y = _rec.LSTMLayer.apply(_step(input), w_ih, w_hh, b_ih, b_hh, h, c, None)
    return y[:N * P].reshape(N, P), y[N * P:].reshape(N, H)


def gru_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step (as torch.gru_cell): h' from input (N, I) and hx (N, H) or None (zeros)."""
    return _rec.GRULayer.apply(_step(input), w_ih, w_hh, b_ih, b_hh, hx)[0]


def rnn_tanh_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One tanh RNN step (as torch.rnn_tanh_cell): h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return _rec.RNNLayer.apply(_step(input), w_ih, w_hh, b_ih, b_hh, hx, nonlinearity="tanh")[0]


def rnn_relu_cell(input, hx, w_ih, w_hh, b_ih=None, b_hh=None):
    """One relu RNN step (as torch.rnn_relu_cell): h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return _rec.RNNLayer.apply(_step(input), w_ih, w_hh, b_ih, b_hh, hx, nonlinearity="relu")[0]
