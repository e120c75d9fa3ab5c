"""rd.save / rd.load for states, as torch.save / torch.load, without pickle: round trips of every kind, an
optimizer resumed from its saved state, file objects, and hostile files refused clearly."""
import io
import json

import numpy as np
import pytest

import redes as rd
from redes import nn


def _rewrite_structure(path, structure):
    """Replace the JSON structure in a file written by rd.save (what a hostile file could hold)."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header["__metadata__"]["redes"] = json.dumps({"object": structure}) if not isinstance(structure, str) else structure
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n:])


def assert_same_object(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, rd.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same_object(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert_same_object(u, v)
    else:
        assert a == b or (a != a and b != b)


KINDS = {
    "tensor_f32": rd.randn(3, 4),
    "tensor_int64_0d": rd.tensor(7),
    "tensor_bool": rd.tensor([True, False]),
    "tensor_requires_grad": rd.randn(2, requires_grad=True),
    "ndarray": np.arange(6, dtype=np.int32).reshape(2, 3),
    "state_dict": nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).state_dict(),
    "nested": {"a": [rd.ones(2), (1, 2.5, "s", None, True)], 3: {"deep": [[rd.zeros(1)]]}, (1, "k"): float("inf")},
    "number": 3.25,
    "string": "hello",
    "none": None,
    "list": [1, "two", None],
    "tuple": (rd.arange(3),),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_round_trip(kind, tmp_path):
    obj = KINDS[kind]
    rd.save(obj, tmp_path / "o.pt")
    assert_same_object(obj, rd.load(tmp_path / "o.pt"))


def test_file_objects_and_shared_tensors():
    t = rd.randn(3)
    buf = io.BytesIO()
    rd.save({"a": t, "b": t, "c": [t]}, buf)
    buf.seek(0)
    back = rd.load(buf)
    assert back["a"] is back["b"] is back["c"][0]                        # shared stays shared, stored once
    np.testing.assert_array_equal(back["a"].numpy(), t.numpy())


def test_model_files_still_rebuild_the_model(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    buf = io.BytesIO()
    rd.save(model, buf)
    buf.seek(0)
    again = rd.load(buf)
    assert isinstance(again, nn.Sequential)
    xx = rd.randn(4, 3)
    np.testing.assert_array_equal(again(xx).numpy(), model(xx).numpy())
    with pytest.raises(TypeError, match="preprocessor= and extra= apply to models"):
        rd.save({"w": rd.zeros(1)}, tmp_path / "x.pt", extra={"a": 1})


def test_optimizer_state_resumes_identically(tmp_path):
    rng = np.random.default_rng(0)
    X = rd.tensor(rng.normal(size=(16, 3)).astype(np.float32))
    Y = rd.tensor(rng.normal(size=(16, 1)).astype(np.float32))

    def make():
        rd.manual_seed(5)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        return model, rd.optim.Adam(model.parameters(), lr=0.05, betas=(0.8, 0.99), amsgrad=True)

    def steps(model, opt, n):
        for _ in range(n):
            opt.zero_grad()
            ((model(X) - Y) ** 2).mean().backward()
            opt.step()

    model, opt = make()
    steps(model, opt, 6)
    straight = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    model, opt = make()
    steps(model, opt, 3)
    rd.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 3}, tmp_path / "ck.pt")
    model, opt = make()
    ck = rd.load(tmp_path / "ck.pt")
    model.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    assert ck["step"] == 3 and opt.param_groups[0]["betas"] == (0.8, 0.99)
    steps(model, opt, 3)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), straight[k], err_msg=k)


def test_unsupported_objects_are_refused_clearly(tmp_path):
    with pytest.raises(TypeError, match="cannot store obj.0 of type builtin_function_or_method"):
        rd.save({"f": print}, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


HOSTILE = [
    ({"__array__": "missing"}, "array 'missing' is not in the file"),
    ({"__class__": "os.system"}, "expected one of __array__"),
    ({"__array__": "obj", "__tuple__": []}, "expected one of __array__"),
    ({"__items__": [[[1, 2], 3]]}, "dict key 0 is a list"),
    ({"__items__": [["only one"]]}, "must be a \\[key, value\\] pair"),
    ({"__tuple__": "abc"}, "__tuple__ must hold a list"),
    (json.loads("[" * 70 + "]" * 70), "nested deeper than"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ("{not json", "not JSON"),
]


@pytest.mark.parametrize("structure, message", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_structure_is_a_clear_error(structure, message, tmp_path):
    path = tmp_path / "h.pt"
    rd.save(rd.zeros(2), path)
    _rewrite_structure(path, structure)
    with pytest.raises(ValueError, match=message):
        rd.load(path)


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "p.pt"
    path.write_bytes(b"\x80\x04\x95 a pickle, say")
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        rd.load(path)
    with pytest.raises(ValueError, match="file object does not hold a readable safetensors file"):
        rd.load(io.BytesIO(b"\x80\x04\x95"))


def test_load_points_checkpoints_to_load_checkpoint(tmp_path):
    model = nn.Linear(2, 1)
    rd.save_checkpoint(tmp_path / "ck.safetensors", model, epoch=1)
    with pytest.raises(ValueError, match="is a training checkpoint; restore it with rd.load_checkpoint"):
        rd.load(tmp_path / "ck.safetensors")
