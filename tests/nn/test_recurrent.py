"""RNN / LSTM / GRU and their cells against torch.nn (same weights, same inputs): outputs, final states, and the
gradients of the input, of every parameter and of h0 / c0; plus finite differences, errors, dropout, init and
truncated backpropagation through time."""
import itertools

import numpy as np
import pytest

import redes as rd
from redes.ops import recurrent as ops
from tests.nn.helpers import assert_close, assert_same_state_dict_layout

torch = pytest.importorskip("torch")
T_DTYPE = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}
T_, N_, I_, H_ = 4, 3, 5, 6        # sequence length, batch, input size, hidden size


def _flat(out):
    """(output, h_n) or (output, (h_n, c_n)) -> [output, h_n(, c_n)]."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


def _make(kind, lib, *args, **kwargs):
    if kind in ("rnn_tanh", "rnn_relu"):
        return lib.nn.RNN(*args, nonlinearity=kind[4:], **kwargs)
    return getattr(lib.nn, kind.upper())(*args, **kwargs)


def _compare(rd_mod, t_mod, arrays, call, dtype, seed=0):
    """Copy torch's weights into redes, run call(module, *tensors) in both, backprop the same randomly weighted
    sum of every output, and compare outputs and the gradients of every input and parameter."""
    dtype = np.dtype(dtype)
    assert_same_state_dict_layout(rd_mod, t_mod)
    t_mod.to(T_DTYPE[dtype])
    rd_mod.to(dtype)
    rd_mod.load_state_dict(t_mod.state_dict())
    arrays = [a.astype(dtype) for a in arrays]
    rd_in = [rd.tensor(a, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    rd_out, t_out = _flat(call(rd_mod, *rd_in)), _flat(call(t_mod, *t_in))
    assert len(rd_out) == len(t_out)
    rng = np.random.default_rng(seed + 1)
    weights = [rng.uniform(0.5, 1.5, tuple(o.shape)).astype(dtype) for o in t_out]
    sum(((o * torch.tensor(w)).sum() for o, w in zip(t_out, weights))).backward()
    sum(((o * rd.tensor(w)).sum() for o, w in zip(rd_out, weights))).backward()
    for i, (o, r) in enumerate(zip(rd_out, t_out)):
        assert o.dtype == dtype
        assert_close(o, r, dtype, f"output {i}")
    for i, (a, b) in enumerate(zip(rd_in, t_in)):
        assert_close(a.grad, b.grad, dtype, f"gradient of input {i}")
    t_params = dict(t_mod.named_parameters())
    for name, p in rd_mod.named_parameters():
        assert_close(p.grad, t_params[name].grad, dtype, f"gradient of {name}")


KINDS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
GRID = list(itertools.product(KINDS, [1, 2], [False, True], [False, True], [True, False], [False, True]))


@pytest.mark.parametrize("kind, layers, bidirectional, batch_first, bias, states", GRID,
                         ids=["-".join(map(str, g)) for g in GRID])
def test_layer_vs_torch_float64(kind, layers, bidirectional, batch_first, bias, states):
    args = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    rng = np.random.default_rng(0)
    shape = (N_, T_, I_) if batch_first else (T_, N_, I_)
    arrays = [rng.uniform(-2, 2, shape)]
    d = 2 if bidirectional else 1
    if states:
        arrays += [rng.uniform(-1, 1, (layers * d, N_, H_)) for _ in range(2 if kind == "lstm" else 1)]

    def call(m, x, *hx):
        return m(x, (tuple(hx) if kind == "lstm" else hx[0]) if hx else None)
    _compare(_make(kind, rd, I_, H_, **args), _make(kind, torch, I_, H_, **args), arrays, call, np.float64)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_vs_torch_float32(kind, bidirectional):
    rng = np.random.default_rng(1)
    arrays = [rng.uniform(-2, 2, (7, N_, I_)), rng.uniform(-1, 1, ((2 if bidirectional else 1) * 2, N_, H_))]
    if kind == "lstm":
        arrays.append(rng.uniform(-1, 1, arrays[1].shape))

    def call(m, x, *hx):
        return m(x, tuple(hx) if kind == "lstm" else hx[0])
    args = dict(num_layers=2, bidirectional=bidirectional)
    _compare(_make(kind, rd, I_, H_, **args), _make(kind, torch, I_, H_, **args), arrays, call, np.float32)


@pytest.mark.parametrize("layers, bidirectional, states", [(1, False, False), (2, True, True), (2, False, True)])
def test_lstm_proj_size_vs_torch(layers, bidirectional, states):
    P, d = 4, 2 if bidirectional else 1
    rng = np.random.default_rng(2)
    arrays = [rng.uniform(-2, 2, (T_, N_, I_))]
    if states:
        arrays += [rng.uniform(-1, 1, (layers * d, N_, P)), rng.uniform(-1, 1, (layers * d, N_, H_))]
    args = dict(num_layers=layers, bidirectional=bidirectional, proj_size=P)
    _compare(rd.nn.LSTM(I_, H_, **args), torch.nn.LSTM(I_, H_, **args), arrays,
             lambda m, x, *hx: m(x, tuple(hx) if hx else None), np.float64)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("batch_first, states", [(False, False), (True, True), (False, True)])
def test_unbatched_input_vs_torch(kind, batch_first, states):
    rng = np.random.default_rng(3)
    arrays = [rng.uniform(-2, 2, (T_, I_))]
    if states:
        arrays += [rng.uniform(-1, 1, (4, H_)) for _ in range(2 if kind == "lstm" else 1)]

    def call(m, x, *hx):
        out = m(x, (tuple(hx) if kind == "lstm" else hx[0]) if hx else None)
        assert out[0].shape == (T_, 2 * H_)
        return out
    args = dict(num_layers=2, bidirectional=True, batch_first=batch_first)
    _compare(_make(kind, rd, I_, H_, **args), _make(kind, torch, I_, H_, **args), arrays, call, np.float64)


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]


@pytest.mark.parametrize("cell, kwargs", CELLS, ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("states, batched", [(False, True), (True, True), (True, False)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cell_vs_torch(cell, kwargs, bias, states, batched, dtype):
    rng = np.random.default_rng(4)
    lead = (N_,) if batched else ()
    lstm = cell == "LSTMCell"
    arrays = [rng.uniform(-2, 2, lead + (I_,))]
    if states:
        arrays += [rng.uniform(-1, 1, lead + (H_,)) for _ in range(2 if lstm else 1)]

    def call(m, x, *hx):
        h = (tuple(hx) if lstm else hx[0]) if hx else None
        for _ in range(3):                              # a few steps: the state feeds back
            h = m(x, h)
        return h
    _compare(getattr(rd.nn, cell)(I_, H_, bias=bias, **kwargs), getattr(torch.nn, cell)(I_, H_, bias=bias, **kwargs),
             arrays, call, dtype)


def test_functional_cells_and_layers_match_modules():
    rng = np.random.default_rng(5)
    x = rd.tensor(rng.standard_normal((N_, I_)))
    h, c = rd.tensor(rng.standard_normal((N_, H_))), rd.tensor(rng.standard_normal((N_, H_)))
    cell = rd.nn.LSTMCell(I_, H_).double()
    h1, c1 = rd.nn.functional.lstm_cell(x, (h, c), cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    th1, tc1 = torch.lstm_cell(torch.tensor(x.numpy()), (torch.tensor(h.numpy()), torch.tensor(c.numpy())),
                               *[torch.tensor(p.numpy()) for p in cell.parameters()])
    assert_close(h1, th1, np.float64, "lstm_cell h")
    assert_close(c1, tc1, np.float64, "lstm_cell c")
    gru = rd.nn.GRU(I_, H_, num_layers=2).double()
    seq = rd.tensor(rng.standard_normal((T_, N_, I_)))
    out, h_n = rd.nn.functional.gru(seq, None, gru._flat_weights, True, 2, 0.0, False, False, False)
    ref_out, ref_h = gru(seq)
    np.testing.assert_array_equal(out.numpy(), ref_out.numpy())
    np.testing.assert_array_equal(h_n.numpy(), ref_h.numpy())


# ----------------------------------------------------------------------------------- finite differences
GC_CASES = [("lstm", ops.LSTMLayer, 4, {}), ("gru", ops.GRULayer, 3, {}),
            ("rnn_tanh", ops.RNNLayer, 1, {"nonlinearity": "tanh"}),
            ("rnn_relu", ops.RNNLayer, 1, {"nonlinearity": "relu"})]


@pytest.mark.parametrize("name, op, gates, options", GC_CASES, ids=[c[0] for c in GC_CASES])
@pytest.mark.parametrize("reverse", [False, True])
def test_ops_gradcheck(name, op, gates, options, reverse):
    rng = np.random.default_rng(6)
    T, N, I, H = 3, 2, 3, 4
    arrays = [rng.uniform(-1, 1, s) for s in [(T, N, I), (gates * H, I), (gates * H, H), (gates * H,), (gates * H,),
                                               (N, H)]]
    if name == "lstm":
        arrays += [rng.uniform(-1, 1, (N, H)), rng.uniform(-1, 1, (2, H))]      # c0, and w_hr: projection to 2
        arrays[2] = rng.uniform(-1, 1, (4 * H, 2))                                # w_hh takes the projected h
        arrays[5] = rng.uniform(-1, 1, (N, 2))
    if name == "rnn_relu":
        arrays[0] = arrays[0] + np.sign(arrays[0]) * 0.5                        # keep pre-activations off the kink
    inputs = [rd.tensor(a, requires_grad=True) for a in arrays]
    assert rd.gradcheck(lambda *xs: op.apply(*xs, reverse=reverse, **options), inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_ops_gradcheck_without_initial_state_and_bias():
    rng = np.random.default_rng(7)
    x, w_ih, w_hh = (rd.tensor(rng.uniform(-1, 1, s), requires_grad=True) for s in [(3, 2, 3), (12, 3), (12, 3)])
    assert rd.gradcheck(lambda x, a, b: ops.LSTMLayer.apply(x, a, b, None, None, None, None, None), [x, w_ih, w_hh])
    x, w_ih, w_hh = (rd.tensor(rng.uniform(-1, 1, s), requires_grad=True) for s in [(3, 2, 3), (9, 3), (9, 3)])
    assert rd.gradcheck(lambda x, a, b: ops.GRULayer.apply(x, a, b, None, None, None, reverse=True),
                        [x, w_ih, w_hh])


def test_registered_in_ops_table():
    from redes.ops import OPS
    assert OPS["lstm"] is ops.LSTMLayer and OPS["gru"] is ops.GRULayer and OPS["rnn"] is ops.RNNLayer


# ----------------------------------------------------------------------------------- behaviour
def test_truncated_bptt_stops_at_detached_boundary():
    """Carrying h.detach() across chunks: the second chunk's loss reaches the second chunk only."""
    lstm = rd.nn.LSTM(3, 5).double()
    x = rd.tensor(np.random.default_rng(8).standard_normal((8, 2, 3)), requires_grad=True)
    _, state = lstm(x[:4])
    out, _ = lstm(x[4:], tuple(s.detach() for s in state))
    out.sum().backward()
    g = x.grad.numpy()
    assert np.all(g[:4] == 0) and np.all(np.abs(g[4:]).sum(axis=(1, 2)) > 0)
    x.grad = None
    _, state = lstm(x[:4])                              # without detach, the gradient crosses the boundary
    out, _ = lstm(x[4:], state)
    out.sum().backward()
    assert np.all(np.abs(x.grad.numpy()).sum(axis=(1, 2)) > 0)


def test_dropout_between_layers_train_only():
    rd_mod = rd.nn.LSTM(I_, H_, num_layers=3, dropout=0.5)
    x = rd.randn(T_, N_, I_)
    a, b = rd_mod(x)[0].numpy(), rd_mod(x)[0].numpy()
    assert not np.allclose(a, b), "train mode: dropout draws new masks"
    rd_mod.eval()
    c, d = rd_mod(x)[0].numpy(), rd_mod(x)[0].numpy()
    np.testing.assert_array_equal(c, d)
    t_mod = torch.nn.LSTM(I_, H_, num_layers=3, dropout=0.5).eval()
    rd_mod.load_state_dict(t_mod.state_dict())
    assert_close(rd_mod(x)[0], t_mod(torch.tensor(x.numpy()))[0], np.float32, "eval output")
    one = rd.nn.LSTM(I_, H_, num_layers=2, dropout=1.0)   # p = 1 zeroes layer 1's output: layer 2 sees zeros
    np.testing.assert_array_equal(one(x)[0].numpy(), one(rd.randn(T_, N_, I_))[0].numpy())
    assert np.abs(one(x)[0].numpy()).min() > 0, "no dropout after the last layer"


def test_initialisation_and_rng():
    m = rd.nn.GRU(I_, 16, num_layers=2, bidirectional=True)
    bound = 1 / np.sqrt(16)
    for name, p in m.named_parameters():
        a = p.numpy()
        assert p.dtype == rd.float32 and np.all(np.abs(a) <= bound), name
    big = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert abs(big.std() - bound / np.sqrt(3)) < 0.01                   # U(-b, b) has std b / sqrt(3)
    a = rd.nn.LSTM(3, 4, rng=np.random.default_rng(1))
    b = rd.nn.LSTM(3, 4, rng=np.random.default_rng(1))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
    assert rd.nn.LSTMCell(3, 4, dtype=rd.float64).weight_ih.dtype == rd.float64
    assert rd.nn.LSTM(3, 4, dtype=rd.float64).weight_hh_l0.dtype == rd.float64


def test_parameter_names_and_shapes_as_torch():
    for kind in KINDS:
        for bias in (True, False):
            args = dict(num_layers=2, bidirectional=True, bias=bias)
            assert_same_state_dict_layout(_make(kind, rd, I_, H_, **args), _make(kind, torch, I_, H_, **args))
    for cell in ("RNNCell", "LSTMCell", "GRUCell"):
        assert_same_state_dict_layout(getattr(rd.nn, cell)(I_, H_), getattr(torch.nn, cell)(I_, H_))
    assert len(rd.nn.LSTM(I_, H_, num_layers=2).all_weights) == 2
    rd.nn.LSTM(I_, H_).flatten_parameters()


def test_float32_stays_float32_and_repr():
    out, (h, c) = rd.nn.LSTM(I_, H_)(rd.randn(T_, N_, I_))
    assert out.dtype == h.dtype == c.dtype == rd.float32
    assert repr(rd.nn.LSTM(4, 8, num_layers=2, batch_first=True)) == "LSTM(4, 8, num_layers=2, batch_first=True)"
    assert repr(rd.nn.RNN(4, 8, nonlinearity="relu")) == "RNN(4, 8, nonlinearity='relu')"
    assert repr(rd.nn.GRUCell(4, 8, bias=False)) == "GRUCell(4, 8, bias=False)"


def test_one_graph_node_per_layer_direction():
    """The fused op: a 50-step LSTM layer is one node in the graph, not 50 x (several) nodes."""
    out, _ = rd.nn.LSTM(3, 4)(rd.randn(50, 2, 3))
    ops_seen, stack = [], [out.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is not None:
            ops_seen.append(fn.op)
            stack.extend(fn.next_functions)
    assert ops_seen.count("lstm") == 1 and len(ops_seen) <= 4, ops_seen


# ----------------------------------------------------------------------------------- errors
def test_constructor_errors():
    with pytest.raises(ValueError, match="dropout should be a number in range"):
        rd.nn.LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        rd.nn.GRU(3, 0)
    with pytest.raises(ValueError, match="num_layers must be a positive integer"):
        rd.nn.RNN(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="unknown nonlinearity 'sigmoid'"):
        rd.nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        rd.nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        rd.nn.LSTM(3, 4, proj_size=-1)
    with pytest.raises(TypeError):
        rd.nn.GRU(3, 4, proj_size=2)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        rd.nn.LSTM(3, 4, dropout=0.3)


def test_forward_errors():
    lstm = rd.nn.LSTM(5, 6, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM: Expected input to be 2D or 3D, got 4D"):
        lstm(rd.randn(2, 3, 4, 5))
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size. Expected 5, got 4"):
        lstm(rd.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(2, 3, 6\), got \[1, 3, 6\]"):
        lstm(rd.randn(4, 3, 5), (rd.zeros(1, 3, 6), rd.zeros(2, 3, 6)))
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(2, 3, 6\), got \[2, 3, 5\]"):
        lstm(rd.randn(4, 3, 5), (rd.zeros(2, 3, 6), rd.zeros(2, 3, 5)))
    with pytest.raises(TypeError, match=r"hx must be a tuple \(h0, c0\)"):
        lstm(rd.randn(4, 3, 5), rd.zeros(2, 3, 6))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D but got 3-D"):
        rd.nn.GRU(5, 6)(rd.randn(4, 5), rd.zeros(1, 1, 6))
    with pytest.raises(RuntimeError, match=r"GRU: Expected hidden size \(1, 3, 6\), got \[1, 2, 6\]"):
        rd.nn.GRU(5, 6)(rd.randn(4, 3, 5), rd.zeros(1, 2, 6))
    with pytest.raises(RuntimeError, match="input is float64 but the parameters are float32"):
        lstm(rd.randn(4, 3, 5, dtype=rd.float64))
    with pytest.raises(RuntimeError, match="expected a sequence length larger than 0"):
        rd.nn.RNN(5, 6)(rd.zeros(0, 3, 5))


def test_cell_errors():
    cell = rd.nn.GRUCell(5, 6)
    with pytest.raises(ValueError, match="GRUCell: Expected input to be 1D or 2D, got 3D"):
        cell(rd.randn(1, 2, 5))
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 4 expected 5"):
        cell(rd.randn(2, 4))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch size 3"):
        cell(rd.randn(2, 5), rd.zeros(3, 6))
    with pytest.raises(RuntimeError, match="hidden0 has inconsistent hidden_size: got 5, expected 6"):
        cell(rd.randn(2, 5), rd.zeros(2, 5))
    with pytest.raises(TypeError, match=r"LSTMCell: hx must be a tuple \(h, c\)"):
        rd.nn.LSTMCell(5, 6)(rd.randn(2, 5), rd.zeros(2, 6))


def test_op_errors_name_the_op():
    x = np.zeros((3, 2, 4))
    with pytest.raises(RuntimeError, match=r"lstm: weight_ih\(8, 3\) does not match input\(3, 2, 4\)"):
        ops.LSTMLayer.apply(rd.tensor(x), rd.zeros(8, 3, dtype=rd.float64), rd.zeros(8, 2, dtype=rd.float64),
                            None, None, None, None, None)
    with pytest.raises(RuntimeError, match=r"lstm: weight_hh\(8, 3\) and weight_hr None do not fit hidden_size 2"):
        ops.LSTMLayer.apply(rd.tensor(x), rd.zeros(8, 4, dtype=rd.float64), rd.zeros(8, 3, dtype=rd.float64),
                            None, None, None, None, None)
    with pytest.raises(RuntimeError, match="gru: input is float64 but weight_ih is float32"):
        ops.GRULayer.apply(rd.tensor(x), rd.zeros(6, 4), rd.zeros(6, 2), None, None, None)
    with pytest.raises(RuntimeError, match=r"rnn: h0 must have shape \(2, 2\), got \(3, 2\)"):
        ops.RNNLayer.apply(rd.tensor(x), rd.zeros(2, 4, dtype=rd.float64), rd.zeros(2, 2, dtype=rd.float64),
                           None, None, rd.zeros(3, 2, dtype=rd.float64))


def test_docstring_examples_run():
    import doctest

    import redes.nn.recurrent as module
    result = doctest.testmod(module, extraglobs={"rd": rd}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 10 and result.failed == 0


def test_ops_accept_trailing_optional_inputs_left_out():
    x = rd.randn(3, 2, 4, dtype=rd.float64, requires_grad=True)
    w_ih, w_hh = rd.randn(8, 4, dtype=rd.float64, requires_grad=True), rd.randn(8, 2, dtype=rd.float64)
    y = ops.LSTMLayer.apply(x, w_ih, w_hh)
    y.sum().backward()
    assert x.grad.shape == x.shape and w_ih.grad.shape == w_ih.shape
    assert rd.gradcheck(lambda x: ops.RNNLayer.apply(x, w_ih[:2], w_hh[:2]), [x])
