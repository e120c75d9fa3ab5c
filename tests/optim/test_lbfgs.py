"""LBFGS against torch.optim.LBFGS: the same closure on the same float64 parameters gives the same iterates,
with and without the strong-Wolfe line search, with a short history (pairs dropped) and tight tolerances."""
import numpy as np
import pytest

import redes as rd

torch = pytest.importorskip("torch")


def _problem(lib, seed=0):
    """A smooth non-quadratic fit: least squares plus a quartic penalty, and a Rosenbrock term on two scalars."""
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(30, 5)), rng.normal(size=30)
    w0, b0, ab0 = rng.normal(size=5), rng.normal(size=()), np.array([-1.2, 1.0])
    params = [lib.tensor(v.copy(), requires_grad=True) for v in (w0, b0, ab0)]
    Xt, yt = lib.tensor(X), lib.tensor(y)

    def loss_fn():
        w, b, ab = params
        fit = ((Xt @ w + b - yt) ** 2).mean() + 0.01 * (w ** 4).sum()
        return fit + (1 - ab[0]) ** 2 + 10 * (ab[1] - ab[0] ** 2) ** 2
    return params, loss_fn


def _run(lib, steps, **kw):
    params, loss_fn = _problem(lib)
    opt = lib.optim.LBFGS(params, **kw)
    losses = []

    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
    state = opt.state[params[0]]
    return [p.detach().numpy().copy() for p in params], losses, (state["func_evals"], state["n_iter"])


CASES = [dict(), dict(lr=0.5, max_iter=5), dict(history_size=3, max_iter=10),
         dict(line_search_fn="strong_wolfe"), dict(line_search_fn="strong_wolfe", history_size=2, max_iter=7),
         dict(line_search_fn="strong_wolfe", max_eval=8, tolerance_change=1e-6),
         dict(line_search_fn="strong_wolfe", tolerance_grad=1e-3)]


@pytest.mark.parametrize("kw", CASES, ids=[str(kw) or "default" for kw in CASES])
def test_lbfgs_matches_torch(kw):
    ours, our_losses, our_counts = _run(rd, 4, **kw)
    ref, ref_losses, ref_counts = _run(torch, 4, **kw)
    np.testing.assert_allclose(our_losses, ref_losses, rtol=1e-9, err_msg=f"LBFGS {kw}: losses vs torch")
    for i, (a, b) in enumerate(zip(ours, ref)):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10, err_msg=f"LBFGS {kw}: parameter {i} vs torch")
    assert our_counts == ref_counts, f"LBFGS {kw}: (func_evals, n_iter) {our_counts} vs torch {ref_counts}"


def test_lbfgs_converges_on_a_quadratic():
    w = rd.nn.Parameter(rd.tensor([1.0, -2.0, 0.5], dtype=rd.float64))
    opt = rd.optim.LBFGS([w], line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = ((w - rd.tensor([3.0, 1.0, -1.0], dtype=rd.float64)) ** 2 * rd.tensor([1.0, 10.0, 100.0],
                                                                                     dtype=rd.float64)).sum()
        loss.backward()
        return loss
    opt.step(closure)
    np.testing.assert_allclose(w.numpy(), [3.0, 1.0, -1.0], atol=1e-6)


def test_lbfgs_errors():
    w = rd.nn.Parameter(rd.zeros(2))
    with pytest.raises(ValueError, match="per-parameter options"):
        rd.optim.LBFGS([{"params": [w]}, {"params": [rd.nn.Parameter(rd.zeros(1))]}])
    with pytest.raises(ValueError, match="line_search_fn must be None or 'strong_wolfe', got 'armijo'"):
        rd.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        rd.optim.LBFGS([w], lr=-1)
    with pytest.raises(ValueError, match="history_size must be a positive int, got 0"):
        rd.optim.LBFGS([w], history_size=0)
    with pytest.raises(RuntimeError, match="needs a closure"):
        rd.optim.LBFGS([w]).step(None)
