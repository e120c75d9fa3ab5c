"""Strategies (shapes, broadcast pairs, dtypes, memory layouts, special values) and the one comparison every
generated test makes: the same function run by redes and by torch 2.13 on the same arrays.

`check(name, fn, arrays)` runs fn(*tensors) in both libraries:
- torch raises: redes must raise too, a ValueError / TypeError / IndexError / RuntimeError (torch's class or one of
  those), whose message names the op (`name` or an alias) -- never a bare NumPy message from inside NumPy.
- torch returns: redes must return the same shape, dtype and values (NaN where torch has NaN, the same infinities),
  then the gradients of a randomly weighted sum of the outputs must agree (float inputs, `grad=True`).
redes gets each array in a drawn memory layout (C, transposed, sliced, negative strides); torch a contiguous copy.
"""
import math
import warnings

import numpy as np
import redes as rd
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

COUNT = {"cases": 0, "errors": 0}
ERRORS = (ValueError, TypeError, IndexError, RuntimeError)
PACKAGE = rd.__file__.rsplit("/", 1)[0]

# Values where libraries part ways when they are careless: infinities, NaN, huge, tiny, subnormal, signed zero.
SPECIAL = [math.inf, -math.inf, math.nan, 1e30, -1e30, 1e-30, 1e-40, -1e-40, 5e-324, 0.0, -0.0, 1.0, -1.0]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-5, atol=1e-6)}


# ------------------------------------------------------------------ strategies
def shapes(min_dims=0, max_dims=5, min_side=0, max_side=4):
    """Shapes up to 5-D with zero-size and size-1 dims, at most 256 elements."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side).filter(
        lambda s: math.prod(s) <= 256)


def values(dtype, special=True, low=-10.0, high=10.0):
    """Elements for one array: mostly moderate numbers, with the special values mixed in when asked."""
    if dtype == np.bool_:
        return st.booleans()
    if np.issubdtype(dtype, np.integer):
        return st.integers(-20, 20)
    width = 32 if dtype == np.float32 else 64
    moderate = st.floats(low, high, width=width, allow_subnormal=False)
    if not special:
        return moderate
    cast = [float(np.asarray(v, dtype)) for v in SPECIAL]
    return st.one_of(moderate, moderate, moderate, st.sampled_from(cast))


def arrays(dtype, shape, special=True, **kw):
    return hnp.arrays(dtype, shape, elements=values(dtype, special, **kw))


LAYOUTS = ("C", "T", "sliced", "negative")
layouts = st.sampled_from(LAYOUTS)
float_dtypes = st.sampled_from([np.float64, np.float32])


def in_layout(x, layout):
    """The same values as x in another memory layout (a view with other strides)."""
    if x.ndim == 0 or x.size == 0 or layout == "C":
        return np.array(x)
    if layout == "T":
        return np.ascontiguousarray(x.T).T                          # transposed memory
    if layout == "sliced":
        return np.repeat(x, 2, axis=-1)[..., ::2]                   # a stride of two elements
    return np.ascontiguousarray(x[..., ::-1])[..., ::-1]            # negative strides


# ------------------------------------------------------------------ running both libraries
def _leaf(x, library, layout, grad):
    if library is rd:
        t = rd.from_numpy(in_layout(x, layout))
    else:
        t = torch.tensor(x)
    if grad and x.dtype.kind == "f":
        t.requires_grad_()
    return t


def _outputs(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def _numpy(t):
    return t.detach().numpy(force=True) if isinstance(t, torch.Tensor) else t.numpy()


def _weights(shape, k, dtype):
    return np.random.default_rng(100 + k).uniform(0.5, 1.5, tuple(shape)).astype(dtype)


def _run(fn, xs, library, layouts_, grad):
    ins = [_leaf(x, library, lay, grad) for x, lay in zip(xs, layouts_)]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")          # both libraries warn on drawn misuse (target sizes, dof <= 0)
            outs = _outputs(fn(*ins))
    except Exception as e:          # noqa: BLE001  (compared with the other library's behaviour below)
        return e, None, None
    grads = None
    if grad and any(isinstance(o, (rd.Tensor, torch.Tensor)) and o.requires_grad for o in outs):
        total = None
        for k, o in enumerate(outs):
            if o.requires_grad:
                w = _weights(o.shape, k, _numpy(o).dtype)
                term = (o * (torch.as_tensor(w) if library is torch else rd.tensor(w))).sum()
                total = term if total is None else total + term
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            total.backward()
        grads = [None if t.grad is None or not t.requires_grad else _numpy(t.grad) for t in ins]
    return None, [(_numpy(o) if isinstance(o, (rd.Tensor, torch.Tensor)) else np.asarray(o)) for o in outs], grads


def _innermost_file(exc):
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename


def check_error(name, err, ref, where):
    """redes' error for an input torch refuses: a known class, raised by redes code, naming the op."""
    names = (name,) if isinstance(name, str) else tuple(name)
    assert err is not None, f"{where}: torch raises {type(ref).__name__} ({str(ref)[:200]}) but redes returns a result"
    assert isinstance(err, ERRORS) or isinstance(err, type(ref)), \
        f"{where}: redes raises {type(err).__name__}: {err}; expected {type(ref).__name__} or a ValueError/TypeError/" \
        "IndexError/RuntimeError"
    assert not isinstance(err, np.exceptions.AxisError), f"{where}: a NumPy AxisError leaks out: {err}"
    message = str(err)
    assert any(n.lower() in message.lower() for n in names), \
        f"{where}: the message should name the op ({'/'.join(names)}): {type(err).__name__}: {message}"
    inner = _innermost_file(err)
    assert inner.startswith(PACKAGE), f"{where}: raised inside {inner}, not by redes: {type(err).__name__}: {message}"


def assert_same(ours, ref, what, tol):
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape}, torch {ref.shape}"
    assert ours.dtype == ref.dtype, f"{what}: dtype {ours.dtype}, torch {ref.dtype}"
    if ref.dtype.kind in "biu":
        np.testing.assert_array_equal(ours, ref, err_msg=what)
        return
    np.testing.assert_allclose(ours, ref, equal_nan=True, err_msg=what, **tol)


def check(name, fn, xs, layouts_=None, grad=True, tol=None, grad_tol=None, where=""):
    """Compare fn on redes and torch for the arrays xs (see the module docstring)."""
    layouts_ = layouts_ or ["C"] * len(xs)
    where = f"{name}{where} on {[(x.shape, str(x.dtype)) for x in xs]} layouts {layouts_}"
    ref_err, ref_outs, ref_grads = _run(fn, xs, torch, ["C"] * len(xs), grad)
    err, outs, grads = _run(fn, xs, rd, layouts_, grad)
    COUNT["cases"] += 1
    if ref_err is not None:
        COUNT["errors"] += 1
        check_error(name, err, ref_err, where)
        return
    if err is not None:
        raise AssertionError(f"{where}: torch returns a result, redes raises {type(err).__name__}: {err}") from err
    assert len(outs) == len(ref_outs), f"{where}: {len(outs)} outputs, torch {len(ref_outs)}"
    floats = [x.dtype for x in xs if x.dtype.kind == "f"]
    dtype = np.float32 if any(d == np.float32 for d in floats) else np.float64      # mixed: float32 rounding
    tol = tol or TOL[dtype]
    truth = []          # torch in float64 on the same values, computed only if a float32 comparison fails

    def same(ours, ref, k, what, tol):
        try:
            assert_same(ours, ref, what, tol)
        except AssertionError:
            if dtype != np.float32 or ours.shape != ref.shape or ours.dtype != ref.dtype:
                raise
            if not truth:
                truth.append(_run(fn, [x.astype(np.float64) if x.dtype.kind == "f" else x for x in xs], torch,
                                  ["C"] * len(xs), grad))
            exact = truth[0][1][k] if what.endswith(f"output {k}") else truth[0][2][k]
            within_torch_error(ours, ref, exact, what, tol)

    for k, (o, r) in enumerate(zip(outs, ref_outs)):
        same(o, r, k, f"{where}: output {k}", tol)
    if ref_grads is None:
        return
    assert grads is not None, f"{where}: torch computes gradients, redes does not"
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        if r is None:
            continue
        assert g is not None, f"{where}: no gradient for input {i}"
        same(g, r, i, f"{where}: gradient of input {i}", grad_tol or tol)


def within_torch_error(ours, ref, exact, what, tol):
    """float32 results that differ from torch's are still right when no farther from the float64 truth than
    torch's own float32 result is (twice its error, plus the tolerance): ill-conditioned sums round either way."""
    exact = exact.astype(np.float64)
    ours_err = np.abs(ours.astype(np.float64) - exact)
    ref_err = np.abs(ref.astype(np.float64) - exact)
    bound = 2 * ref_err + tol["atol"] + tol["rtol"] * np.abs(exact)
    finite = np.isfinite(exact)
    bad = finite & ~(ours_err <= bound)
    assert not bad.any(), (f"{what}: float32 result farther from the float64 truth than torch's: ours {ours[bad]}, "
                           f"torch {ref[bad]}, float64 {exact[bad]}")
    np.testing.assert_array_equal(np.isnan(ours[~finite]), np.isnan(exact[~finite]), err_msg=what)
