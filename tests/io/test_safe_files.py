"""Safe files: atomic writes (a killed save leaves the previous file intact), clear errors on truncated, corrupted
or hostile files without allocating what they declare, and no pickle / eval / exec anywhere in the package."""
import ast
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest

import redes as rd
from redes.io import ArchitectureError, atomic_write
from redes.io.serialize import check_header, load_arrays

PACKAGE = pathlib.Path(rd.__file__).parent


# ------------------------------------------------------------------ atomic writes
def test_atomic_write_bytes_text_and_callable(tmp_path):
    target = tmp_path / "sub" / "a.txt"
    atomic_write(target, "first\n")
    assert target.read_text() == "first\n"
    atomic_write(target, b"second")
    assert target.read_bytes() == b"second"
    atomic_write(target, lambda tmp: pathlib.Path(tmp).write_text("third"))
    assert target.read_text() == "third"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask       # as a plain open(path, "w") would give
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.txt"], "no temporary file left behind"


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "model.safetensors"
    atomic_write(target, b"old")

    def broken(tmp):
        pathlib.Path(tmp).write_bytes(b"half of the new")
        raise OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]


def test_temporary_name_keeps_the_suffix(tmp_path):
    seen = []
    atomic_write(tmp_path / "curve.png", lambda tmp: (seen.append(tmp), pathlib.Path(tmp).write_bytes(b"x")))
    assert seen[0].endswith(".png") and os.path.dirname(seen[0]) == str(tmp_path)


def test_every_writer_goes_through_atomic_write(tmp_path, monkeypatch):
    """save, save_state_dict, save_checkpoint, Preprocessor.save and the curves figure all call atomic_write."""
    import redes.io.atomic as atomic
    calls = []
    real = atomic.atomic_write

    def spy(path, data, **kw):
        calls.append(os.path.basename(os.fspath(path)))
        return real(path, data, **kw)
    monkeypatch.setattr(atomic, "atomic_write", spy)
    import redes.io.serialize as serialize
    monkeypatch.setattr(serialize, "atomic_write", spy)
    model = rd.nn.Sequential(rd.nn.Linear(2, 3))
    rd.save(model, tmp_path / "m.model")
    rd.io.save_state_dict(model.state_dict(), tmp_path / "w.safetensors")
    rd.save_checkpoint(tmp_path / "c.ckpt", model, rd.optim.SGD(model.parameters(), lr=0.1))
    import pandas as pd
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "b", "a"]})
    rd.data.Preprocessor.fit(frame, "y").save(tmp_path / "p.json")
    assert calls == ["m.model", "w.safetensors", "c.ckpt", "p.json"]


KILLED_SAVE = textwrap.dedent("""
    import sys
    import numpy as np
    import redes as rd
    big = {f"w{i}": np.full(4_000_000, i + 0.5, np.float32) for i in range(8)}     # 128 MB
    print("ready", flush=True)
    while True:
        rd.io.save_state_dict(big, sys.argv[1])
""")


def test_sigkill_during_a_large_save_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "weights.safetensors"
    previous = {"w": np.arange(1000, dtype=np.float32), "b": np.ones(7)}
    rd.io.save_state_dict(previous, target)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PACKAGE.parent), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(target)], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:          # kill once the new file is half written
            temps = [p for p in tmp_path.iterdir() if p.name.startswith(".weights")]
            if temps and temps[0].stat().st_size > 1 << 20:
                break
            time.sleep(0.001)
        else:
            pytest.fail("the child never started writing")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    loaded = rd.io.load_state_dict(target)
    assert sorted(loaded) == ["b", "w"]
    np.testing.assert_array_equal(loaded["w"].numpy(), previous["w"])
    np.testing.assert_array_equal(loaded["b"].numpy(), previous["b"])


# ------------------------------------------------------------------ hostile files
def _file(tmp_path, header, data=b"", name="bad.safetensors", length=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    n = len(text) if length is None else length
    path = tmp_path / name
    path.write_bytes(n.to_bytes(8, "little") + text + data)
    return path


def _raw(tmp_path, blob):
    path = tmp_path / "raw.safetensors"
    path.write_bytes(blob)
    return path


def _tensor(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


HOSTILE = {
    "empty file": lambda p: _raw(p, b""),
    "shorter than the length field": lambda p: _raw(p, b"\x10\x00"),
    "header length past the end": lambda p: _file(p, {"w": _tensor()}, b"\0" * 8, length=10_000),
    "huge header length": lambda p: _file(p, {"w": _tensor()}, b"\0" * 8, length=2**63),
    "header not JSON": lambda p: _file(p, b"{not json!", b""),
    "header a list": lambda p: _file(p, [1, 2], b""),
    "unknown dtype": lambda p: _file(p, {"w": _tensor(dtype="F128")}, b"\0" * 8),
    "negative shape": lambda p: _file(p, {"w": _tensor(shape=(-2,))}, b"\0" * 8),
    "huge declared size": lambda p: _file(p, {"w": _tensor(shape=(10**12,), offsets=(0, 4 * 10**12))}, b"\0" * 8),
    "offsets past the end": lambda p: _file(p, {"w": _tensor(offsets=(0, 80))}, b"\0" * 8),
    "dtype and shape mismatch the bytes": lambda p: _file(p, {"w": _tensor(dtype="F64", shape=(2,))}, b"\0" * 8),
    "overlapping tensors": lambda p: _file(p, {"a": _tensor(offsets=(0, 8)), "b": _tensor(offsets=(4, 12))},
                                           b"\0" * 12),
    "metadata not strings": lambda p: _file(p, {"__metadata__": {"redes": 3}}, b""),
    "redes metadata not JSON": lambda p: _file(p, {"__metadata__": {"redes": "{oops"}}, b""),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_file_fails_fast_and_clearly(tmp_path, case):
    path = HOSTILE[case](tmp_path)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(ValueError, match=f"load: {path}") as err:
            load_arrays(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 1 << 20, f"{case}: {peak} bytes allocated"
    assert "Traceback" not in str(err.value) and "\n" not in str(err.value)


def test_truncated_and_bit_flipped_real_files(tmp_path):
    model = rd.nn.Sequential(rd.nn.Linear(4, 8), rd.nn.ReLU(), rd.nn.Linear(8, 2))
    good = tmp_path / "good.model"
    rd.save(model, good)
    blob = good.read_bytes()
    header_end = 8 + int.from_bytes(blob[:8], "little")
    for cut in (4, 8, header_end // 2, header_end, len(blob) - 1):
        bad = tmp_path / f"cut{cut}.model"
        bad.write_bytes(blob[:cut])
        with pytest.raises(ValueError, match="load: "):
            rd.load(bad)
    flipped = bytearray(blob)
    flipped[10] ^= 0xFF                                        # inside the JSON header
    bad = tmp_path / "flipped.model"
    bad.write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="load: "):
        rd.load(bad)
    assert isinstance(rd.load(good), rd.nn.Sequential)


def _with_architecture(tmp_path, architecture):
    """A well-formed file whose architecture JSON names what a hostile writer chose."""
    meta = {"format": "redes/1", "redes": json.dumps({"architecture": architecture})}
    from safetensors.numpy import save_file
    path = tmp_path / "hostile.model"
    save_file({"w": np.zeros(2, np.float32)}, str(path), metadata=meta)
    return path


@pytest.mark.parametrize("architecture, message", [
    ({"class": "os.system", "args": ["echo owned"]}, "outside the trusted packages"),
    ({"class": "subprocess.Popen", "args": [["true"]]}, "outside the trusted packages"),
    ({"class": "redes.io.atomic.atomic_write", "args": ["x", "y"]}, "not a Module class"),
    ({"class": "redes.io.serialize.os", "args": []}, "not a Module class"),
    ({"class": "redes.nn.Sequential", "args": [{"__module__": {"class": "builtins.eval", "args": ["1"]}}]},
     "outside the trusted packages"),
    ([1, 2], "must be an object with a 'class' name"),
    ({"class": 42}, "must be an object with a 'class' name"),
])
def test_architecture_names_only_redes_layer_classes(tmp_path, architecture, message):
    path = _with_architecture(tmp_path, architecture)
    with pytest.raises(ArchitectureError, match=message):
        rd.load(path)
    assert not (tmp_path / "x").exists()


def test_check_header_accepts_what_save_writes(tmp_path):
    path = tmp_path / "ok.safetensors"
    rd.io.save_state_dict({"a": np.zeros((0, 3)), "b": np.ones((2, 2), np.float32), "c": np.arange(3)}, path)
    header = check_header(path)
    assert header["b"]["dtype"] == "F32" and header["a"]["shape"] == [0, 3]


# ------------------------------------------------------------------ no pickle, eval or exec
BANNED_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle", "joblib"}
BANNED_CALLS = {"eval", "exec", "__import__"}


def test_no_pickle_eval_or_exec_in_the_package():
    problems, files = [], sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                problems += [f"{where} imports {a.name}" for a in node.names if a.name.split(".")[0] in BANNED_MODULES]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in BANNED_MODULES:
                problems.append(f"{where} imports from {node.module}")
            elif isinstance(node, ast.Call):
                f = node.func
                name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                if isinstance(f, ast.Name) and name in BANNED_CALLS:
                    problems.append(f"{where} calls {name}()")
                if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id in ("builtins",) \
                        and name in BANNED_CALLS:
                    problems.append(f"{where} calls builtins.{name}()")
                for kw in node.keywords:
                    if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                        problems.append(f"{where} passes allow_pickle")
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "pickle":
                problems.append(f"{where} uses pickle.{node.attr}")
    assert not problems, "\n".join(problems)


def test_the_ast_walk_catches_what_it_bans(tmp_path):
    """The walk above is proven able to fail: the same checks flag a file that uses each banned thing."""
    bad = "import pickle\nfrom marshal import loads\neval('1')\nexec('x = 1')\nnp.load('f', allow_pickle=True)\n"
    tree = ast.parse(bad)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in BANNED_MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module in BANNED_MODULES:
            found.add(node.module)
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name) and node.func.id in BANNED_CALLS:
                found.add(node.func.id)
            found |= {kw.arg for kw in node.keywords if kw.arg == "allow_pickle"}
    assert found == {"pickle", "marshal", "eval", "exec", "allow_pickle"}
