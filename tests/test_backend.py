"""The array-backend seam: ops, layers and optimizers do their array math through `redes.backend.xp`, so a
CuPy backend can replace NumPy without rewriting them (issue 2, item 7)."""
import ast
import pathlib

import numpy as np
import pytest

import redes as rd
from redes import backend

ROOT = pathlib.Path(rd.__file__).parent
SEAM_PACKAGES = ("ops", "nn", "optim")
# NumPy names that are not array math on device data: dtypes, type checks, host-side randomness and constants
HOST_NAMES = {"dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_", "generic",
              "integer", "floating", "number", "ndarray", "random", "pi", "inf", "nan", "e", "newaxis", "finfo",
              "iinfo", "errstate", "prod", "issubdtype", "result_type", "promote_types", "can_cast", "isscalar",
              "broadcast_shapes"}
# A line marked "# host-side" computes small index/shape arrays on the host (moved with backend.xp.asarray).
# Files whose NumPy work is host-side by design, and why
HOST_FILES = {"nn/init.py": "initial values are drawn and shaped on the host (like random draws), then moved to "
                            "the backend with backend.xp.asarray"}


def _numpy_aliases(tree):
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name == "numpy"}
    return names


def test_array_math_goes_through_the_backend():
    offenders = []
    for package in SEAM_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if str(path.relative_to(ROOT)) in HOST_FILES:
                continue
            tree = ast.parse(path.read_text())
            aliases = _numpy_aliases(tree)
            lines = path.read_text().splitlines()
            for node in ast.walk(tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                        and node.attr not in HOST_NAMES and "# host-side" not in lines[node.lineno - 1]):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.id}.{node.attr}")
    assert not offenders, "array math outside the backend seam (use backend.xp):\n" + "\n".join(offenders)


def test_set_backend_rejects_unknown_and_explains_missing_cupy(monkeypatch):
    with pytest.raises(ValueError, match="unknown backend 'jax'"):
        backend.set_backend("jax")
    import builtins
    real_import = builtins.__import__

    def no_cupy(name, *args, **kwargs):
        if name.startswith("cupy"):
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_cupy)
    with pytest.raises(ImportError, match=r"redes\[gpu\]"):
        backend.set_backend("cupy")
    assert backend.xp is np and backend.name == "numpy"


def test_ops_read_the_backend_at_call_time(monkeypatch):
    """Swapping backend.xp reroutes the ops: a counting wrapper around NumPy sees the calls of a training step."""
    calls = []

    class Counting:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(np, name)

    monkeypatch.setattr(backend, "xp", Counting())
    model = rd.nn.Sequential(rd.nn.Linear(4, 8), rd.nn.ReLU(), rd.nn.Linear(8, 3))
    loss = rd.nn.functional.cross_entropy(model(rd.randn(5, 4)), rd.tensor([0, 1, 2, 0, 1]))
    loss.backward()
    assert {"matmul", "maximum"} <= set(calls)
    assert all(p.grad is not None for p in model.parameters())
