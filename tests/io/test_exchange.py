"""Weights both ways with PyTorch through safetensors (rd.io.save_safetensors / load_safetensors), per layer family.

Each case builds the same architecture in both libraries (float64), moves the weights across through a file and
checks the state_dict arrives bit for bit and the outputs agree.
"""
import json

import numpy as np
import pytest

import redes as rd

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

pytestmark = pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")    # torch's nn.Transformer
R = np.random.default_rng(0)


def x(*shape):
    return R.normal(size=shape)


def ids(*shape, high=10):
    return R.integers(0, high, size=shape)


# name, build(nn) -> module, inputs (numpy), whether inputs are indices
CASES = [
    ("linear", lambda nn: nn.Linear(3, 4), [x(2, 3)]),
    ("bilinear", lambda nn: nn.Bilinear(3, 4, 5), [x(2, 3), x(2, 4)]),
    ("conv1d", lambda nn: nn.Conv1d(2, 3, 3, padding=1, stride=2), [x(2, 2, 9)]),
    ("conv2d", lambda nn: nn.Conv2d(2, 4, 3, groups=2, dilation=2), [x(2, 2, 8, 8)]),
    ("conv_transpose1d", lambda nn: nn.ConvTranspose1d(2, 3, 3, stride=2), [x(2, 2, 5)]),
    ("conv_transpose2d", lambda nn: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), [x(2, 2, 4, 4)]),
    ("conv3d", lambda nn: nn.Conv3d(2, 4, (2, 3, 3), padding=1, groups=2), [x(2, 2, 4, 5, 5)]),
    ("conv_transpose3d", lambda nn: nn.ConvTranspose3d(2, 3, 2, stride=2), [x(2, 2, 3, 3, 3)]),
    ("batchnorm1d", lambda nn: nn.BatchNorm1d(3), [x(6, 3)]),
    ("batchnorm3d", lambda nn: nn.BatchNorm3d(2), [x(3, 2, 2, 3, 3)]),
    ("instancenorm2d", lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True), [x(2, 3, 4, 4)]),
    ("rmsnorm", lambda nn: nn.RMSNorm([3, 4]), [x(2, 3, 4)]),
    ("embedding_bag", lambda nn: nn.EmbeddingBag(10, 3, mode="mean"), [ids(2, 5)]),
    ("batchnorm2d", lambda nn: nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)), [x(4, 2, 3, 3)]),
    ("layernorm", lambda nn: nn.LayerNorm([3, 4]), [x(2, 3, 4)]),
    ("groupnorm", lambda nn: nn.GroupNorm(2, 4), [x(2, 4, 3)]),
    ("embedding", lambda nn: nn.Embedding(10, 3, padding_idx=0), [ids(2, 5)]),
    ("prelu", lambda nn: nn.PReLU(3), [x(2, 3)]),
    ("rnn", lambda nn: nn.RNN(3, 4, num_layers=2, bidirectional=True), [x(5, 2, 3)]),
    ("lstm", lambda nn: nn.LSTM(3, 4, num_layers=2, batch_first=True, bidirectional=True), [x(2, 5, 3)]),
    ("lstm_proj", lambda nn: nn.LSTM(3, 5, proj_size=2), [x(5, 2, 3)]),
    ("gru", lambda nn: nn.GRU(3, 4, num_layers=2), [x(5, 2, 3)]),
    ("lstm_cell", lambda nn: nn.LSTMCell(3, 4), [x(2, 3)]),
    ("gru_cell", lambda nn: nn.GRUCell(3, 4), [x(2, 3)]),
    ("multihead_attention", lambda nn: nn.MultiheadAttention(8, 2, kdim=4, vdim=6, batch_first=True),
     [x(2, 5, 8), x(2, 7, 4), x(2, 7, 6)]),
    ("transformer_encoder", lambda nn: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True), 2, **_no_nested(nn)), [x(2, 5, 8)]),
    ("transformer_decoder", lambda nn: nn.TransformerDecoder(nn.TransformerDecoderLayer(8, 2, 16, norm_first=True), 2),
     [x(4, 2, 8), x(6, 2, 8)]),
    ("transformer", lambda nn: nn.Transformer(8, 2, 1, 1, 16), [x(6, 2, 8), x(4, 2, 8)]),
]


def _no_nested(nn):
    return {"enable_nested_tensor": False} if nn is torch.nn else {}


def _run(module, inputs, lib):
    out = module(*[lib.tensor(a) for a in inputs])
    while isinstance(out, (tuple, list)):
        out = out[0]
    return np.asarray(out.detach().numpy() if hasattr(out, "detach") else out.numpy())


def _trained_stats(module, inputs, lib):
    """A training-mode forward, so batch norms carry non-trivial running stats and num_batches_tracked."""
    module.train()
    with (torch.no_grad() if lib is torch else rd.no_grad()):
        _run(module, inputs, lib)
    module.eval()


@pytest.mark.parametrize("name, build, inputs", CASES, ids=[c[0] for c in CASES])
def test_torch_file_loads_in_redes(name, build, inputs, tmp_path):
    torch.manual_seed(1)
    tm = build(torch.nn).double()
    _trained_stats(tm, inputs, torch)
    st_torch.save_file(tm.state_dict(), tmp_path / "t.safetensors")
    rm = build(rd.nn).double()
    rm.load_state_dict(rd.io.load_safetensors(tmp_path / "t.safetensors"))
    rm.eval()
    for k, v in tm.state_dict().items():
        ours = rm.state_dict()[k]
        assert ours.dtype == np.dtype(str(v.dtype).replace("torch.", "")), k
        np.testing.assert_array_equal(ours.numpy(), v.numpy(), err_msg=k)
    np.testing.assert_allclose(_run(rm, inputs, rd), _run(tm, inputs, torch), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name, build, inputs", CASES, ids=[c[0] for c in CASES])
def test_redes_file_loads_in_torch(name, build, inputs, tmp_path):
    rd.manual_seed(2)
    rm = build(rd.nn).double()
    _trained_stats(rm, inputs, rd)
    rd.io.save_safetensors(rm.state_dict(), tmp_path / "r.safetensors")
    tm = build(torch.nn).double()
    tm.load_state_dict(st_torch.load_file(tmp_path / "r.safetensors"))
    tm.eval()
    for k, v in rm.state_dict().items():
        np.testing.assert_array_equal(tm.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    np.testing.assert_allclose(_run(tm, inputs, torch), _run(rm, inputs, rd), rtol=1e-9, atol=1e-12)


def test_batchnorm_counter_is_int64_and_survives(tmp_path):
    bn = rd.nn.BatchNorm1d(3)
    _trained_stats(bn, [x(4, 3)], rd)
    _trained_stats(bn, [x(4, 3)], rd)
    rd.io.save_safetensors(bn.state_dict(), tmp_path / "bn.safetensors")
    back = st_torch.load_file(tmp_path / "bn.safetensors")
    assert back["num_batches_tracked"].dtype == torch.int64 and back["num_batches_tracked"].item() == 2


class _TiedLM:
    """Embedding and output projection sharing one weight (as GPT-2's wte / lm_head)."""
    @staticmethod
    def build(nn):
        class LM(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(10, 4)
                self.head = nn.Linear(4, 10, bias=False)
                self.head.weight = self.emb.weight

            def forward(self, i):
                return self.head(self.emb(i))
        return LM().double()


def test_tied_parameters_stored_once_and_restored_tied(tmp_path):
    rd.manual_seed(3)
    rm = _TiedLM.build(rd.nn)
    assert list(rm.state_dict()) == ["emb.weight", "head.weight"]           # both names, as torch
    path = tmp_path / "tied.safetensors"
    rd.io.save_safetensors(rm.state_dict(), path, metadata={"task": "lm"})
    meta = rd.io.safetensors_metadata(path)
    assert json.loads(meta["aliases"]) == {"head.weight": "emb.weight"}
    assert meta["dtype"] == "float64" and meta["redes_version"] == rd.__version__ and meta["task"] == "lm"
    assert meta["format"] == "pt"
    sd = rd.io.load_safetensors(path)
    assert sd["head.weight"] is sd["emb.weight"]
    again = _TiedLM.build(rd.nn)
    again.load_state_dict(sd)
    assert again.head.weight is again.emb.weight
    i = ids(2, 3)
    np.testing.assert_array_equal(_run(again, [i], rd), _run(rm, [i], rd))
    # torch reads the stored name; its own model is tied, so strict=False restores both
    tm = _TiedLM.build(torch.nn)
    result = tm.load_state_dict(st_torch.load_file(path), strict=False)
    assert result.missing_keys == ["head.weight"] and tm.head.weight is tm.emb.weight
    np.testing.assert_allclose(_run(tm, [i], torch), _run(rm, [i], rd), rtol=1e-12)
    # a torch state_dict with tied weights (two names, one storage) is stored once too
    rd.io.save_safetensors(tm.state_dict(), tmp_path / "from_torch.safetensors")
    assert json.loads(rd.io.safetensors_metadata(tmp_path / "from_torch.safetensors")["aliases"]) == {
        "head.weight": "emb.weight"}


def test_tied_torch_model_saved_with_save_model_loads_in_redes(tmp_path):
    torch.manual_seed(4)
    tm = _TiedLM.build(torch.nn)
    st_torch.save_model(tm, tmp_path / "t.safetensors")                 # drops the duplicate name
    rm = _TiedLM.build(rd.nn)
    assert list(st_torch.load_file(tmp_path / "t.safetensors")) == ["emb.weight"]
    rm.load_state_dict(rd.io.load_safetensors(tmp_path / "t.safetensors"))      # strict: the tie counts as loaded
    assert rm.head.weight is rm.emb.weight
    i = ids(2, 3)
    np.testing.assert_allclose(_run(rm, [i], rd), _run(tm, [i], torch), rtol=1e-12)


def test_save_safetensors_checks_its_arguments(tmp_path):
    with pytest.raises(TypeError, match="state_dict must be a dict"):
        rd.io.save_safetensors([rd.zeros(2)], tmp_path / "a.safetensors")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        rd.io.save_safetensors({"w": rd.zeros(2)}, tmp_path / "a.safetensors", metadata={"epoch": 3})
    with pytest.raises(ValueError, match="'dtype' is written by redes"):
        rd.io.save_safetensors({"w": rd.zeros(2)}, tmp_path / "a.safetensors", metadata={"dtype": "x"})
    with pytest.raises(FileNotFoundError, match="load_safetensors: no such file"):
        rd.io.load_safetensors(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        rd.io.load_safetensors(tmp_path / "junk.safetensors")


def test_alias_to_a_missing_tensor_is_a_clear_error(tmp_path):
    from safetensors.numpy import save_file
    save_file({"a": np.zeros(2)}, str(tmp_path / "bad.safetensors"), metadata={"aliases": '{"b": "nope"}'})
    with pytest.raises(ValueError, match="alias 'b' points to 'nope'"):
        rd.io.load_safetensors(tmp_path / "bad.safetensors")
