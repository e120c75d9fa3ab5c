"""Recurrent layers (the cyclic topology), trained by backpropagation through time: RNN, LSTM, GRU and their
one-step cells RNNCell, LSTMCell, GRUCell, with torch.nn's arguments, parameter names, shapes, gate order and
initialisation, so a torch state_dict loads as it is.

Each layer calls one function of redes.nn.functional.recurrent, which runs every layer and direction as one
fused op (see redes/ops/recurrent.py).
"""
import math
import warnings

from .. import dtypes as _dt
from ..random import default_rng
from ..tensor import Tensor
from . import functional as F
from .module import Module, Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_FUNCS = {"LSTM": F.lstm, "GRU": F.gru, "RNN_TANH": F.rnn_tanh, "RNN_RELU": F.rnn_relu}


def _uniform_param(rng, bound, shape, dtype):
    """U(-bound, bound), as torch's reset_parameters for recurrent layers."""
    return Parameter(Tensor._wrap(rng.uniform(-bound, bound, shape).astype(dtype)))


def _positive_int(name, layer, value):
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {name} must be a positive integer, got {name}={value!r}")


def _shape(t):
    return list(t.shape) if isinstance(t, Tensor) else type(t).__name__


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: the parameters of every layer and direction, and the checks.

    Parameters per layer k (and `_reverse` for the backward direction), set in torch's order:
    weight_ih_l{k} (G*H, in), weight_hh_l{k} (G*H, H_out), bias_ih_l{k}, bias_hh_l{k} (G*H),
    and weight_hr_l{k} (proj_size, H) for an LSTM with proj_size > 0; G = 4 (LSTM), 3 (GRU), 1 (RNN).
    All are drawn from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """
    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None, *, rng=None):
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(mode, mode)
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            _positive_int(arg, name, value)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the probability "
                             f"of an element being zeroed, got dropout={dropout!r}")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to disable projections, "
                             f"got proj_size={proj_size!r}")
        if proj_size and mode != "LSTM":
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not RNN or GRU")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got proj_size={proj_size}, "
                             f"hidden_size={hidden_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(f"{name}: dropout option adds dropout after all but last recurrent layer, so non-zero "
                          f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
                          f"num_layers={num_layers}", UserWarning, stacklevel=3)
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        rng = rng if rng is not None else default_rng()
        dtype = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        bound = 1.0 / math.sqrt(hidden_size)
        gates, out_size = _GATES[mode] * hidden_size, proj_size or hidden_size
        self._weight_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * self.num_directions
            for suffix in ("", "_reverse")[:self.num_directions]:
                shapes = [("weight_ih", (gates, layer_in)), ("weight_hh", (gates, out_size))]
                if bias:
                    shapes += [("bias_ih", (gates,)), ("bias_hh", (gates,))]
                if proj_size:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for pname, shape in shapes:
                    full = f"{pname}_l{layer}{suffix}"
                    setattr(self, full, _uniform_param(rng, bound, shape, dtype))
                    self._weight_names.append(full)

    @property
    def num_directions(self):
        return 2 if self.bidirectional else 1

    @property
    def _flat_weights(self):
        """The parameters in torch's order (what F.lstm / F.gru / F.rnn_* take as `params`)."""
        return [getattr(self, n) for n in self._weight_names]

    @property
    def all_weights(self):
        per = len(self._weight_names) // (self.num_layers * self.num_directions)
        flat = self._flat_weights
        return [flat[i:i + per] for i in range(0, len(flat), per)]

    def flatten_parameters(self):
        """No-op (torch compacts cuDNN weights here); kept so torch code runs unchanged."""

    def _name(self):
        return type(self).__name__

    def _check_hidden(self, h, expected, label):
        if not isinstance(h, Tensor):
            raise TypeError(f"{self._name()}: {label} must be a Tensor, got {type(h).__name__}")
        if tuple(h.shape) != expected:
            raise RuntimeError(f"{self._name()}: Expected {label} size {expected}, got {list(h.shape)}")
        if h.dtype != self.weight_ih_l0.dtype:
            raise RuntimeError(f"{self._name()}: {label} is {h.dtype} but the parameters are "
                               f"{self.weight_ih_l0.dtype}; convert one with .to(dtype)")

    def forward(self, input, hx=None):
        name = self._name()
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor instead "
                             f"(shape {list(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                               f"got {input.shape[-1]}")
        if input.dtype != self.weight_ih_l0.dtype:
            raise RuntimeError(f"{name}: input is {input.dtype} but the parameters are {self.weight_ih_l0.dtype}; "
                               "convert the module (.double(), .float()) or the input (.to(dtype))")
        batched = input.ndim == 3
        if not batched:
            input = input.unsqueeze(0 if self.batch_first else 1)
        lstm = self.mode == "LSTM"
        states = None
        if hx is not None:
            states = tuple(hx) if lstm and isinstance(hx, (tuple, list)) else (hx,)
            if lstm and len(states) != 2:
                raise TypeError(f"{name}: hx must be a tuple (h0, c0), got {type(hx).__name__}")
            if not lstm and not isinstance(hx, Tensor):
                raise TypeError(f"{name}: hx must be a Tensor h0, got {type(hx).__name__}")
            want = 3 if batched else 2
            for s in states:
                if isinstance(s, Tensor) and s.ndim != want:
                    raise RuntimeError(f"{name}: For {'batched 3' if batched else 'unbatched 2'}-D input, hx should "
                                       f"also be {want}-D but got {s.ndim}-D tensor")
            if not batched:
                states = tuple(s.unsqueeze(1) for s in states)
            n = input.shape[0 if self.batch_first else 1]
            layers = self.num_layers * self.num_directions
            sizes = [self.proj_size or self.hidden_size, self.hidden_size]
            for i, s in enumerate(states):
                self._check_hidden(s, (layers, n, sizes[i]), f"hidden[{i}]" if lstm else "hidden")
        result = _FUNCS[self.mode](input, states if lstm else (states[0] if states else None), self._flat_weights,
                                   self.bias, self.num_layers, self.dropout, self.training, self.bidirectional,
                                   self.batch_first)
        output, hidden = result[0], result[1:]
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
            hidden = tuple(h.squeeze(1) for h in hidden)
        return (output, hidden) if lstm else (output, hidden[0])

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "RNN_RELU":
            s += ", nonlinearity='relu'"
        for flag, default in (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False)):
            if getattr(self, flag) != default:
                s += f", {flag}={getattr(self, flag)}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), stacked num_layers deep.

    Args:
        input_size, hidden_size: features of x_t and of h_t. num_layers: stacked layers (default 1).
        nonlinearity: 'tanh' (default) or 'relu'. bias: learn b_ih, b_hh (default True).
        batch_first: input/output as (N, T, feature) instead of (T, N, feature). dropout: probability of
        dropout on each layer's output except the last (training only). bidirectional: add a reverse pass.
        rng: np.random.Generator for the initialisation.
    Shape:
        input (T, N, input_size) [or (N, T, .) with batch_first, or (T, input_size) unbatched];
        hx (num_layers * D, N, hidden_size), D = 2 if bidirectional else 1 (zeros if None).
        Returns output (T, N, D * hidden_size) and h_n (num_layers * D, N, hidden_size).
    Example:
        >>> rnn = rd.nn.RNN(4, 8, num_layers=2)
        >>> out, h_n = rnn(rd.randn(5, 3, 4))
        >>> out.shape, h_n.shape
        ((5, 3, 8), (2, 3, 8))
    """
    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, *, rng=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity '{nonlinearity}'; expected 'tanh' or 'relu'")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype, rng=rng)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory, torch's gate order (i, f, g, o):

        i, f, o = sigmoid(W_i* x_t + b_i* + W_h* h_{t-1} + b_h*);  g = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)   (h_t = W_hr h_t when proj_size > 0)

    Args: as RNN (no nonlinearity), plus proj_size: project h_t to this size (0 = off; weight_hr_l{k}).
    Shape:
        input as RNN; hx = (h0, c0): (num_layers * D, N, H_out) and (num_layers * D, N, hidden_size), zeros if
        None; H_out = proj_size or hidden_size. Returns output (T, N, D * H_out) and (h_n, c_n) shaped as hx.

    Truncated backpropagation through time: feed a long sequence in chunks and carry the state detached,
    so each backward stops at the chunk boundary (memory and time per update stay bounded):

        >>> lstm, state = rd.nn.LSTM(3, 8), None
        >>> for chunk in rd.randn(20, 2, 3).split(5):            # 4 chunks of 5 steps
        ...     out, state = lstm(chunk, state)
        ...     out.sum().backward()                            # gradients cover these 5 steps only
        ...     state = tuple(s.detach() for s in state)        # h = h.detach(): cut the graph here

    Example:
        >>> out, (h_n, c_n) = rd.nn.LSTM(4, 8, batch_first=True)(rd.randn(3, 5, 4))
        >>> out.shape, h_n.shape, c_n.shape
        ((3, 5, 8), (1, 3, 8), (1, 3, 8))
    """
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None, *, rng=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype, rng=rng)


class GRU(RNNBase):
    """Gated recurrent unit, torch's gate order (r, z, n):

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr);  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn));  h_t = (1 - z) * n + z * h_{t-1}

    Args and shapes as RNN (no nonlinearity). Returns (output, h_n).
    Example:
        >>> out, h_n = rd.nn.GRU(4, 8, bidirectional=True)(rd.randn(5, 3, 4))
        >>> out.shape, h_n.shape
        ((5, 3, 16), (2, 3, 8))
    """
    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, *, rng=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype, rng=rng)


# ----------------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """One time step with parameters weight_ih (G*H, input_size), weight_hh (G*H, H), bias_ih, bias_hh (G*H),
    all U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) as torch. Write your own loop over time with it."""
    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, *, rng=None):
        name = type(self).__name__
        _positive_int("input_size", name, input_size)
        _positive_int("hidden_size", name, hidden_size)
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        rng = rng if rng is not None else default_rng()
        dtype = _dt.as_dtype(dtype) if dtype is not None else _dt.get_default_dtype()
        bound, g = 1.0 / math.sqrt(hidden_size), self._gates * hidden_size
        self.weight_ih = _uniform_param(rng, bound, (g, input_size), dtype)
        self.weight_hh = _uniform_param(rng, bound, (g, hidden_size), dtype)
        self.bias_ih = _uniform_param(rng, bound, (g,), dtype) if bias else None
        self.bias_hh = _uniform_param(rng, bound, (g,), dtype) if bias else None

    def _inputs(self, input, hx):
        """Checks; returns (2-D input, list of 2-D states or None, batched)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead "
                             f"(shape {list(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} expected "
                               f"{self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{name}: input is {input.dtype} but the parameters are {self.weight_ih.dtype}; "
                               "convert the module (.double(), .float()) or the input (.to(dtype))")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if hx is None:
            return input, None, batched
        states = list(hx) if isinstance(hx, (tuple, list)) else [hx]
        for i, h in enumerate(states):
            if not isinstance(h, Tensor) or h.ndim != input.ndim - (not batched):
                raise RuntimeError(f"{name}: hidden state {i} must be a {2 if batched else 1}-D Tensor like the "
                                   f"input, got {_shape(h)}")
            if not batched:
                h = states[i] = h.unsqueeze(0)
            if h.shape[0] != input.shape[0]:
                raise RuntimeError(f"{name}: Input batch size {input.shape[0]} doesn't match hidden{i} batch size "
                                   f"{h.shape[0]}")
            if h.shape[1] != self.hidden_size:
                raise RuntimeError(f"{name}: hidden{i} has inconsistent hidden_size: got {h.shape[1]}, expected "
                                   f"{self.hidden_size}")
            if h.dtype != input.dtype:
                raise RuntimeError(f"{name}: hidden{i} is {h.dtype} but the input is {input.dtype}")
        return input, states, batched

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity='{self.nonlinearity}'"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu), one step.

    Shape: input (N, input_size) or (input_size,); hx (N, hidden_size) or None (zeros) -> h' (N, hidden_size).
    Example:
        >>> cell, h = rd.nn.RNNCell(4, 8), None
        >>> for x_t in rd.randn(5, 3, 4):
        ...     h = cell(x_t, h)
        >>> h.shape
        (3, 8)
    """
    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None, *,
                 rng=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity '{nonlinearity}'; expected 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, device, dtype, rng=rng)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, states, batched = self._inputs(input, hx)
        step = F.rnn_tanh_cell if self.nonlinearity == "tanh" else F.rnn_relu_cell
        h = step(x, states[0] if states else None, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): c' = f * c + i * g, h' = o * tanh(c').

    Shape: input (N, input_size) or (input_size,); hx = (h, c), each (N, hidden_size), or None (zeros)
    -> (h', c').
    Example:
        >>> h, c = rd.nn.LSTMCell(4, 8)(rd.randn(3, 4))
        >>> h.shape, c.shape
        ((3, 8), (3, 8))
    """
    _gates = 4

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        x, states, batched = self._inputs(input, hx)
        h, c = F.lstm_cell(x, states, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (1 - z) * n + z * h.

    Shape: input (N, input_size) or (input_size,); hx (N, hidden_size) or None (zeros) -> h' (N, hidden_size).
    Example:
        >>> rd.nn.GRUCell(4, 8)(rd.randn(3, 4)).shape
        (3, 8)
    """
    _gates = 3

    def forward(self, input, hx=None):
        x, states, batched = self._inputs(input, hx)
        h = F.gru_cell(x, states[0] if states else None, self.weight_ih, self.weight_hh, self.bias_ih,
                       self.bias_hh)
        return h if batched else h.squeeze(0)
