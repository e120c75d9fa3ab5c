"""rd.save / rd.load (safetensors + JSON architecture, no pickle), state dicts and checkpoints."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import redes as rd
from redes import nn


def small_model():
    return nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 2))


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = small_model()
    path = tmp_path / "m.safetensors"
    rd.save(model, path)
    again = rd.load(path)
    x = rd.randn(5, 3)
    np.testing.assert_array_equal(model(x).numpy(), again(x).numpy())
    assert list(again.state_dict()) == list(model.state_dict())
    assert repr(again) == repr(model)


def test_file_is_safetensors_with_json_header_not_pickle(tmp_path):
    path = tmp_path / "m.safetensors"
    rd.save(small_model(), path)
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + header_len])
    assert set(header) - {"__metadata__"} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    arch = json.loads(header["__metadata__"]["redes"])["architecture"]
    assert arch["class"] == "redes.nn.module.Sequential"
    assert b"\x80\x04" not in raw[:2]                      # no pickle protocol marker at the start


def test_load_refuses_untrusted_classes(tmp_path):
    path = tmp_path / "m.safetensors"
    rd.save(small_model(), path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    meta = json.loads(header["__metadata__"]["redes"])
    meta["architecture"]["class"] = "os.system"
    header["__metadata__"]["redes"] = json.dumps(meta)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    path.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + n:])
    with pytest.raises(rd.io.ArchitectureError, match="outside the trusted packages"):
        rd.load(path)


def test_unserialisable_argument_is_a_clear_error(tmp_path):
    class Custom(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn
    with pytest.raises(rd.io.ArchitectureError, match="not JSON"):
        rd.save(Custom(lambda x: x), tmp_path / "c.safetensors")
    assert not any(tmp_path.iterdir())                     # nothing half-written


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    import safetensors.numpy
    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(safetensors.numpy, "save_file", boom)
    with pytest.raises(OSError, match="disk full"):
        rd.save(small_model(), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_state_dict_files(tmp_path):
    model = small_model()
    rd.io.save_state_dict(model.state_dict(), tmp_path / "w.safetensors")
    other = small_model()
    other.load_state_dict(rd.io.load_state_dict(tmp_path / "w.safetensors"))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)
    with pytest.raises(ValueError, match="weights only"):
        rd.load(tmp_path / "w.safetensors")


def test_load_missing_file_is_clear():
    with pytest.raises(FileNotFoundError, match="no such file"):
        rd.load("does/not/exist.safetensors")


def test_reload_in_a_new_process_predicts_identically(tmp_path):
    model = small_model()
    path = tmp_path / "m.safetensors"
    rd.save(model, path)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = (f"import numpy as np, redes as rd; m = rd.load({str(path)!r}); "
            f"np.save({str(tmp_path / 'y.npy')!r}, m(rd.tensor(np.load({str(tmp_path / 'x.npy')!r}))).numpy())")
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), model(rd.tensor(x)).numpy())


def test_checkpoint_resume_equals_uninterrupted_run(tmp_path):
    """Train 6 epochs straight vs 3 epochs, checkpoint, rebuild everything, 3 more: identical weights."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 3)).astype(np.float32)
    y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32) + 0.1).astype(np.float32)

    def setup():
        rd.manual_seed(7)
        model = nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.ReLU(), nn.Linear(8, 1))
        opt = rd.optim.Adam(model.parameters(), lr=0.01)
        sched = rd.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        return model, opt, sched

    model, opt, sched = setup()
    rd.fit(model, (X, y), loss="mse", optimizer=opt, scheduler=sched, epochs=6, batch_size=16, verbose=False)
    straight = {k: v.numpy().copy() for k, v in model.state_dict().items()}

    model, opt, sched = setup()
    rd.fit(model, (X, y), loss="mse", optimizer=opt, scheduler=sched, epochs=3, batch_size=16, verbose=False)
    rd.save_checkpoint(tmp_path / "ck.safetensors", model, opt, sched, epoch=3)
    rd.manual_seed(999)                                  # a different stream: the checkpoint must restore it
    model, opt, sched = setup()
    rd.random.manual_seed(12345)
    epoch, _ = rd.load_checkpoint(tmp_path / "ck.safetensors", model, opt, sched)
    assert epoch == 3
    rd.fit(model, (X, y), loss="mse", optimizer=opt, scheduler=sched, epochs=6, batch_size=16, verbose=False,
           initial_epoch=epoch)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), straight[k], err_msg=k)
