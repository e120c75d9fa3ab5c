"""gradcheck: compare backward's gradients with central differences, for redes' ops and users' own.

Works in float64 (inputs are converted), as torch.autograd.gradcheck recommends: float32 central
differences are too noisy to check anything.
"""
import numpy as np

from . import autograd as _ag
from . import backend as B
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when an analytical gradient disagrees with its numerical estimate."""


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check d(fn)/d(inputs) from backward against central differences.

    Args:
        fn: callable taking Tensors, returning a Tensor (or a tuple of Tensors).
        inputs: Tensors or arrays; floating ones that require grad (or all floating ones, for arrays) are checked.
        eps: finite-difference step. atol, rtol: allowed |analytical - numerical| <= atol + rtol * |numerical|.
    Returns:
        True when every gradient matches; otherwise raises GradcheckError naming the output, the input and
        the worst element (or returns False with raise_exception=False).

    Each output is reduced with fixed random weights, so a transposed or mis-broadcast gradient shows.

    Example:
        >>> import redes as rd
        >>> rd.gradcheck(lambda x: (x * x.sin()).sum(), [rd.randn(3, dtype=rd.float64, requires_grad=True)])
        True
    """
    xs = []
    for x in _as_tuple(inputs):
        if isinstance(x, Tensor):
            check = x.requires_grad and x.dtype.kind == "f"
            x = Tensor._wrap(x.array.astype(np.float64)) if x.dtype.kind == "f" else x
        else:
            a = B.xp.asarray(x)
            check = a.dtype.kind == "f"
            x = Tensor._wrap(a.astype(np.float64)) if check else Tensor._wrap(a)
        if check:
            x.requires_grad_(True)
        xs.append(x)
    checked = [i for i, x in enumerate(xs) if x.requires_grad]
    outs = _as_tuple(fn(*xs))
    rng = np.random.default_rng(seed)
    weights = [B.xp.asarray(rng.uniform(0.5, 1.5, o.shape)) for o in outs]

    for k, (out, w) in enumerate(zip(outs, weights)):
        if not out.requires_grad:
            continue
        analytic = _ag.grad([out], [xs[i] for i in checked], grad_outputs=[Tensor._wrap(w.astype(out.dtype))],
                            retain_graph=True, allow_unused=True)
        for i, g in zip(checked, analytic):
            x = xs[i]
            g = B.xp.zeros_like(x.array) if g is None else g.array
            numeric = B.xp.zeros_like(x.array)
            flat = x.array.reshape(-1)
            for j in range(flat.size):
                old = flat[j]
                flat[j] = old + eps
                with _ag.no_grad():
                    plus = scalar_k(fn, xs, k, w)
                flat[j] = old - eps
                with _ag.no_grad():
                    minus = scalar_k(fn, xs, k, w)
                flat[j] = old
                numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
            err = B.xp.abs(g - numeric) - (atol + rtol * B.xp.abs(numeric))
            if err.size and float(err.max()) > 0:
                worst = tuple(int(v) for v in np.unravel_index(int(B.xp.argmax(err)), x.shape))
                msg = (f"gradcheck: Jacobian mismatch for output {k} with respect to input {i} at index {worst}: "
                       f"analytical {float(g[worst])!r} vs numerical {float(numeric[worst])!r} "
                       f"(atol={atol}, rtol={rtol})")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def scalar_k(fn, xs, k, w):
    """The k-th output of fn(*xs), reduced with weights w, as a Python float."""
    out = _as_tuple(fn(*xs))[k]
    return float((out.array.astype(np.float64) * w).sum())
