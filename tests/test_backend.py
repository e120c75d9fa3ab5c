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
    with pytest.raises(RuntimeError, match=r"redes\[gpu\]"):
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
    monkeypatch.setattr(backend, "kernels", None)      # the NumPy code of each op (a kernel call names no xp function)
    model = rd.nn.Sequential(rd.nn.Linear(4, 8), rd.nn.ReLU(), rd.nn.Linear(8, 3))
    loss = rd.nn.functional.cross_entropy(model(rd.randn(5, 4)), rd.tensor([0, 1, 2, 0, 1]))
    loss.backward()
    assert {"matmul", "maximum"} <= set(calls)
    assert all(p.grad is not None for p in model.parameters())


# --------------------------------------------------------------------------- level-1 BLAS through the seam
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [10, 70_000, 1_100_000])    # NumPy; BLAS axpy with NumPy scal; BLAS
def test_axpy_and_scal_update_in_place(dtype, size):
    """y += a x and y *= a: BLAS (NumPy's own OpenBLAS) for large contiguous arrays, NumPy otherwise; same values."""
    from redes import cpu_tuning as B
    rng = np.random.default_rng(0)
    x, y = (rng.standard_normal((size // 10, 10)).astype(dtype) for _ in range(2))
    exact = y.astype(np.float64) - 0.3 * x.astype(np.float64)    # the float64 truth for these float32/64 inputs
    target = y
    B.axpy(-0.3, x, y)
    assert y is target and y.dtype == dtype
    # each result is within a few roundings of its O(1) operands (BLAS may fuse the multiply-add: no bitwise check)
    tol = dict(rtol=0, atol=8 * np.finfo(dtype).eps)
    np.testing.assert_allclose(y, exact, **tol)
    B.scal(0.5, y)
    np.testing.assert_allclose(y, exact * 0.5, **tol)
    B.axpy(1, x, y)
    np.testing.assert_allclose(y, exact * 0.5 + x, **tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [10, 70_000, 1_100_000])
def test_axpby_is_one_update_with_the_values_of_scal_then_axpy(dtype, size):
    """y = a x + b y (SGD's momentum buffer): OpenBLAS's axpby where axpy goes to BLAS, else scal + axpy."""
    from redes import cpu_tuning as B
    rng = np.random.default_rng(2)
    x, y = (rng.standard_normal(size).astype(dtype) for _ in range(2))
    exact = 0.75 * x.astype(np.float64) + 0.9 * y.astype(np.float64)
    target = y
    B.axpby(0.75, x, 0.9, y)
    assert y is target and y.dtype == dtype
    np.testing.assert_allclose(y, exact, rtol=0, atol=8 * np.finfo(dtype).eps)
    view = np.zeros((size, 2), dtype)[:, 0]                      # not contiguous: the NumPy fallback
    B.axpby(2.0, x, 0.5, view)
    np.testing.assert_allclose(view, 2.0 * x, rtol=0, atol=8 * np.finfo(dtype).eps)


def test_axpy_falls_back_for_views_and_mixed_dtypes():
    from redes import cpu_tuning as B
    rng = np.random.default_rng(1)
    y = rng.standard_normal((400, 400))
    x = rng.standard_normal((400, 400))
    view = y[:, ::2]                                   # not contiguous: NumPy's expression, into the view
    expected = view + 2.0 * x[:, ::2]
    B.axpy(2.0, x[:, ::2], view)
    np.testing.assert_allclose(y[:, ::2], expected, rtol=1e-15)
    y32 = y.astype(np.float32)
    before = y32.copy()
    B.axpy(1.0, x, y32)                                # float64 into float32: NumPy casts, as y32 += x
    np.testing.assert_allclose(y32, (before + x).astype(np.float32), rtol=1e-6)


def test_numpy_blas_is_the_one_numpy_ships():
    """When NumPy's wheel bundles OpenBLAS (numpy.libs), its axpy/scal are found; never SciPy's second copy."""
    import glob
    import os
    from redes import cpu_tuning as B
    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    found = B._numpy_blas()
    if not glob.glob(os.path.join(folder, "lib*openblas*.so*")):
        pytest.skip("this NumPy was not built with a bundled OpenBLAS")
    assert found is not None and set(found) >= {(op, c) for op in ("axpy", "scal", "axpby") for c in "fd"}
