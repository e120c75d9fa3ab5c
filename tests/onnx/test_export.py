"""rd.onnx.export against the real onnxruntime: each family is exported at batch 2 with a dynamic batch axis,
passes onnx.checker, and onnxruntime reproduces redes' outputs at batch 2 and batch 5 (float32,
rtol=1e-5, atol=1e-5; the largest differences seen are listed in docs/exchange.md)."""
import io

import numpy as np
import pytest

import redes as rd
from redes import nn

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

R = np.random.default_rng(0)


def f32(*shape):
    return R.normal(size=shape).astype(np.float32)


def u32(*shape):
    return R.uniform(0.05, 0.95, size=shape).astype(np.float32)


class Wrap(nn.Module):
    """A model calling `fn(self, *inputs)`: for losses with built-in targets and tensor-method chains."""
    def __init__(self, fn, **layers):
        super().__init__()
        self.fn = fn
        for k, v in layers.items():
            setattr(self, k, v)

    def forward(self, *xs):
        return self.fn(self, *xs)


def _bn_trained(model, x):
    """One training-mode forward so batch norms hold non-trivial running statistics, then eval."""
    model.train()
    with rd.no_grad():
        model(rd.tensor(x))
    return model.eval()


def _tensor_ops(m, x):
    y = rd.cat([x, x.flip(1)], 1).permute(1, 0)[None].expand(2, 6, x.shape[0]).sum(0).T    # (N, 6)
    z = rd.nn.functional.pad(x, (1, 2)).clamp(-0.5, 0.5).cumsum(1)[:, 1:4] + rd.where(x > 0, x, x * 2)
    w = rd.stack([x, -x], 0).amax(0).logsumexp(1, keepdim=True) + x.std(1, keepdim=True) + x.norm(dim=1, keepdim=True)
    return y[:, :3] * z + w + x[..., -1:] ** 2 - x.max(1, keepdim=True).values + x.exp().log1p() * x.abs().sqrt()


def _graph_model():
    """A two-input, two-output DAG built with nn.Input / nn.Model."""
    a, b = nn.Input((3,)), nn.Input((2,))
    h = nn.Concat(dim=1)(nn.Linear(3, 4)(a), b)
    return nn.Model([a, b], [nn.Linear(6, 1)(nn.ReLU()(h)), nn.Add()(h, h)])


# name, model builder (seeded), make(batch) -> inputs, dynamic axes per input (default {0: "batch"})
CASES = [
    ("mlp", lambda: nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 8), nn.GELU(), nn.Linear(8, 8),
                                  nn.GELU("tanh"), nn.Tanh(), nn.SiLU(), nn.Sigmoid(), nn.LeakyReLU(0.2), nn.ELU(),
                                  nn.SELU(), nn.Softplus(beta=2.0), nn.Mish(), nn.Dropout(0.5), nn.Linear(8, 4),
                                  nn.Softmax(-1)),
     lambda n: (f32(n, 3),), None),
    ("activations_whole", lambda: nn.Sequential(nn.Linear(3, 4), nn.PReLU(4), nn.Hardtanh(-0.5, 0.5), nn.ReLU6(),
                                                nn.Softsign(), nn.LogSigmoid(), nn.LogSoftmax(1), nn.Softmin(1)),
     lambda n: (f32(n, 3),), None),
    ("cnn_batchnorm_pool", lambda: nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3, stride=2,
        padding=1, groups=2, bias=False), nn.BatchNorm2d(6), nn.AvgPool2d(2, ceil_mode=True), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(6, 3)), lambda n: (f32(n, 1, 12, 12),), None),
    ("conv1d_transposed", lambda: nn.Sequential(
        nn.Conv1d(2, 3, 3, stride=2, padding=1, dilation=1), nn.BatchNorm1d(3), nn.MaxPool1d(2), nn.AvgPool1d(2),
        nn.ConvTranspose1d(3, 2, 3, stride=2, output_padding=1)), lambda n: (f32(n, 2, 16),), None),
    ("conv_transpose2d_norms", lambda: nn.Sequential(
        nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), nn.GroupNorm(2, 4),
        nn.AdaptiveAvgPool2d((3, 2)), nn.LayerNorm([3, 2]), nn.AdaptiveMaxPool2d(1)),
     lambda n: (f32(n, 3, 4, 4),), None),
    ("residual", lambda: nn.Sequential(nn.BasicBlock(4, 4), nn.BasicBlock(4, 8, stride=2)),
     lambda n: (f32(n, 4, 8, 8),), None),
    ("inception", lambda: nn.Sequential(nn.Inception(4, 2, 3, 4, 2, 3, 2), nn.ReLU()),
     lambda n: (f32(n, 4, 8, 8),), None),
    ("transformer_encoder", lambda: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, activation="gelu"), 2, norm=nn.LayerNorm(8)),
     lambda n: (f32(n, 5, 8),), None),
    ("transformer_encoder_mask", lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True,
                                                                                           norm_first=True), 2),
     lambda n: (f32(n, 5, 8), nn.Transformer.generate_square_subsequent_mask(5).numpy()), [{0: "batch"}, {}]),
    ("transformer_decoder", lambda: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16), 1),
     lambda n: (f32(4, n, 8), f32(6, n, 8)), [{1: "batch"}, {1: "batch"}]),
    ("multihead_attention", lambda: nn.MultiheadAttention(8, 2, kdim=4, vdim=6, batch_first=True),
     lambda n: (f32(n, 5, 8), f32(n, 7, 4), f32(n, 7, 6)), None),
    ("lstm", lambda: nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True),
     lambda n: (f32(n, 5, 3),), None),
    ("lstm_initial_state", lambda: nn.LSTM(3, 4, num_layers=2),
     lambda n: (f32(5, n, 3), (f32(2, n, 4), f32(2, n, 4))), [{1: "batch"}] * 3),
    ("gru", lambda: nn.GRU(3, 4, num_layers=2, bidirectional=True), lambda n: (f32(5, n, 3),), [{1: "batch"}]),
    ("rnn_relu", lambda: nn.RNN(3, 4, nonlinearity="relu", batch_first=True), lambda n: (f32(n, 5, 3),), None),
    ("cells", lambda: Wrap(lambda m, x, h: m.gru(x, m.rnn(x, h)) + m.lstm(x)[1], rnn=nn.RNNCell(3, 4),
                           gru=nn.GRUCell(3, 4), lstm=nn.LSTMCell(3, 4)), lambda n: (f32(n, 3), f32(n, 4)), None),
    ("embedding", lambda: Wrap(lambda m, i: m.fc(m.emb(i).mean(1)), emb=nn.Embedding(10, 4, padding_idx=0),
                               fc=nn.Linear(4, 2)), lambda n: (R.integers(0, 10, (n, 6)),), None),
    ("tensor_ops", lambda: Wrap(_tensor_ops), lambda n: (f32(n, 3),), None),
    ("graph_model", lambda: _graph_model(), lambda n: (f32(n, 3), f32(n, 2)), None),
    ("loss_cross_entropy", lambda: nn.CrossEntropyLoss(weight=rd.tensor(u32(3)), ignore_index=1),
     lambda n: (f32(n, 3), R.integers(0, 3, n)), None),
    ("loss_nll", lambda: Wrap(lambda m, x, t: m.loss(x.log_softmax(1), t), loss=nn.NLLLoss(reduction="sum")),
     lambda n: (f32(n, 3), R.integers(0, 3, n)), None),
    ("loss_mse_l1", lambda: Wrap(lambda m, x, t: nn.MSELoss()(x, t) + nn.L1Loss(reduction="sum")(x, t)),
     lambda n: (f32(n, 3), f32(n, 3)), None),
    ("loss_smooth_l1_huber", lambda: Wrap(lambda m, x, t: m.a(x, t) + m.b(x, t), a=nn.SmoothL1Loss(beta=0.5),
                                          b=nn.HuberLoss(delta=0.7)), lambda n: (f32(n, 3), f32(n, 3)), None),
    ("loss_bce", lambda: Wrap(lambda m, p, t, x: m.bce(p, t) + m.logits(x, t), bce=nn.BCELoss(weight=rd.tensor(u32(3))),
                              logits=nn.BCEWithLogitsLoss(pos_weight=rd.tensor(u32(3)))),
     lambda n: (u32(n, 3), u32(n, 3), f32(n, 3)), None),
    ("loss_kl_div", lambda: Wrap(lambda m, x, t: m.kl(x.log_softmax(1), t.softmax(1)),
                                 kl=nn.KLDivLoss(reduction="batchmean")), lambda n: (f32(n, 3), f32(n, 3)), None),
]


def _leaves(xs):
    return [a for x in xs for a in (_leaves(x) if isinstance(x, tuple) else [x])]


def _tensors(xs):
    return tuple(_tensors(x) if isinstance(x, tuple) else rd.tensor(x) for x in xs)


def _outputs(out):
    out = out if isinstance(out, tuple) else (out,)
    return [o.numpy() for o in _leaves(out)]


def _export(name, build, make, axes):
    rd.manual_seed(0)
    model = build()
    inputs = make(2)
    if "batchnorm" in name or "conv1d" in name:
        model = _bn_trained(model, inputs[0])
    model.eval()
    names = [f"x{i}" for i in range(len(_leaves(inputs)))]
    axes = axes or [{0: "batch"}] * len(names)
    buf = io.BytesIO()
    rd.onnx.export(model, _tensors(inputs), buf, input_names=names,
                   dynamic_axes={n: a for n, a in zip(names, axes) if a})
    return model, names, buf.getvalue()


@pytest.mark.parametrize("name, build, make, axes", CASES, ids=[c[0] for c in CASES])
def test_onnxruntime_matches_redes_at_two_batch_sizes(name, build, make, axes):
    model, names, data = _export(name, build, make, axes)
    proto = onnx.load_from_string(data)
    onnx.checker.check_model(proto, full_check=True)
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    for batch in (2, 5):
        inputs = make(batch)
        with rd.no_grad():
            want = _outputs(model(*_tensors(inputs)))
        got = sess.run(None, dict(zip(names, _leaves(inputs))))
        assert len(got) == len(want)
        for k, (g, w) in enumerate(zip(got, want)):
            assert g.shape == w.shape and g.dtype == w.dtype, (k, g.shape, w.shape, g.dtype, w.dtype)
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5, err_msg=f"{name}: output {k} at batch {batch}")


def test_parameters_keep_their_state_dict_names_and_file_paths_work(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    model.eval()
    proto = rd.onnx.export(model, rd.randn(2, 3), tmp_path / "m.onnx", input_names=["x"], output_names=["y"])
    inits = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"} <= inits
    assert [o.name for o in proto.graph.output] == ["y"]
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    x = f32(3, 3)
    with pytest.raises(Exception, match="dimension"):                   # exported without dynamic axes: fixed
        sess.run(None, {"x": x})
    assert model.training is False and rd.onnx.export(model, rd.randn(2, 3), io.BytesIO()) is not None


def test_training_mode_is_restored_and_export_runs_in_eval():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.9), nn.BatchNorm1d(4))
    model.train()
    rd.onnx.export(model, rd.randn(2, 3), io.BytesIO())
    assert all(m.training for m in model.modules())
    assert int(model[2].num_batches_tracked.item()) == 0                # no statistics updated by the export


class Rolled(nn.Module):
    def forward(self, x):
        return x.roll(1, 1)


def test_an_op_without_converter_names_the_op_and_module_path():
    model = nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.ReLU(), Rolled()))
    message = r"op 'roll' \(Roll\), run by '1.1' \(Rolled\), has no ONNX converter"
    with pytest.raises(rd.onnx.ExportError, match=message):
        rd.onnx.export(model, rd.randn(2, 3), io.BytesIO())


def test_a_comparison_without_converter_is_named_too():
    model = Wrap(lambda m, x: x + (x // 2))                  # floor_divide runs outside Functions
    with pytest.raises(rd.onnx.ExportError, match=r"op 'floor_divide', run by the model \(Wrap\), has no ONNX"):
        rd.onnx.export(model, rd.randn(2, 3), io.BytesIO())


def test_values_made_outside_ops_are_refused():
    class BoolMask(nn.Module):
        def forward(self, x):                              # the mask comes from raw arrays: not in the graph
            return rd.where(rd.Tensor._wrap(x.array > 0), x, 0.0)
    with pytest.raises(rd.onnx.ExportError, match="computed from the inputs outside redes' ops"):
        rd.onnx.export(BoolMask(), rd.randn(2, 3), io.BytesIO())

    class Branchy(nn.Module):
        def forward(self, x):
            return x.exp() if float(x.sum().item()) > 0 else x.sin()
    x = rd.tensor(np.full((2, 3), 0.05, np.float32) - np.array([0, 0, 0.3], np.float32))   # sum < 0; shifted > 0
    with pytest.raises(rd.onnx.ExportError, match="ran other ops on other inputs"):
        rd.onnx.export(Branchy(), x, io.BytesIO())


def test_argument_errors():
    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="opset_version must be an int from 17"):
        rd.onnx.export(model, rd.randn(2, 3), io.BytesIO(), opset_version=13)
    with pytest.raises(ValueError, match="2 input_names for 1 input tensors"):
        rd.onnx.export(model, rd.randn(2, 3), io.BytesIO(), input_names=["a", "b"])
    with pytest.raises(ValueError, match="dynamic_axes names \\['z'\\]"):
        rd.onnx.export(model, rd.randn(2, 3), io.BytesIO(), input_names=["x"], dynamic_axes={"z": [0]})
    with pytest.raises(ValueError, match="export_params=False is not supported"):
        rd.onnx.export(model, rd.randn(2, 3), io.BytesIO(), export_params=False)
    with pytest.raises(TypeError, match="args must be Tensors"):
        rd.onnx.export(model, [1, 2], io.BytesIO())
    x = rd.randn(2, 5, 8)
    with pytest.raises(ValueError, match="same Tensor as an earlier input"):
        rd.onnx.export(nn.MultiheadAttention(8, 2, batch_first=True), (x, x, x), io.BytesIO())


def test_opset_18_reductions():
    model = Wrap(lambda m, x: x.mean(1) + x.amax(1) + x.prod(1))
    data = io.BytesIO()
    rd.onnx.export(model, rd.randn(2, 3), data, input_names=["x"], dynamic_axes={"x": [0]}, opset_version=18)
    x = f32(4, 3)
    got = ort.InferenceSession(data.getvalue()).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, model(rd.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
