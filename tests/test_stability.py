"""Numerical stability: the ops that overflow or cancel when written naively stay finite and correct for inputs of
+-1e4, huge offsets and float32 subnormals, forward and gradient.

Each float32 result is held to torch's own float32 error: it must be no farther from the float64 truth (torch in
float64 on the same float32 values) than twice torch's float32 result is, plus a few ulps. float64 results must
match torch in float64 to 1e-8 relative (the 1e4 offsets leave ~12 digits, gradients cancel a few more)."""
import numpy as np
import pytest

import redes as rd

torch = pytest.importorskip("torch")

F = {rd: rd.nn.functional, torch: torch.nn.functional}
TINY = np.float32(1e-40)                    # a float32 subnormal (smallest normal: 1.2e-38)


def _batch_norm(lib, x):
    c = x.shape[1]
    mean, var = lib.zeros(c, dtype=x.dtype), lib.ones(c, dtype=x.dtype)
    return F[lib].batch_norm(x, mean, var, training=True, eps=1e-5)


OPS = {
    "softmax": lambda lib, x: x.softmax(-1),
    "log_softmax": lambda lib, x: x.log_softmax(-1),
    "logsumexp": lambda lib, x: x.logsumexp(-1),
    "cross_entropy": lambda lib, x: F[lib].cross_entropy(x, lib.tensor([0, 2, 1, 3])[: x.shape[0]]),
    "bce_with_logits": lambda lib, x: F[lib].binary_cross_entropy_with_logits(
        x, lib.tensor(np.resize([0.0, 1.0, 0.25], x.shape).astype(np.float64)).to(x.dtype)),
    "sigmoid": lambda lib, x: x.sigmoid(),
    "softplus": lambda lib, x: F[lib].softplus(x),
    "gelu": lambda lib, x: F[lib].gelu(x),
    "gelu_tanh": lambda lib, x: F[lib].gelu(x, approximate="tanh"),
    "layer_norm": lambda lib, x: F[lib].layer_norm(x, (x.shape[-1],)),
    "batch_norm": _batch_norm,
    "var": lambda lib, x: x.var(-1),
    "std": lambda lib, x: x.std(0),
}

rng = np.random.default_rng(0)
INPUTS = {
    "plus_minus_1e4": np.array([[1e4, -1e4, 0.5, 3.0], [-1e4, -1e4, -1e4, 2.0], [1e4, 1e4, 1e4, 1e4],
                                [-3.0, 1e4 - 1.0, -1e4, 1e4]]),
    "huge_offset": 1e4 + rng.normal(0, 1, (4, 6)),                 # var/norm: E[x^2] - E[x]^2 would cancel
    "subnormal": np.array([[TINY, -TINY, 0.0, 2 * TINY], [TINY, TINY, TINY, -TINY],
                           [0.0, -0.0, TINY, 1.0], [-TINY, 3 * TINY, -2 * TINY, TINY]], np.float64),
    "moderate": rng.normal(0, 2, (4, 5)),
}
# outputs that are not defined at a point of the input set: a constant row has zero variance (layer_norm's
# gradient is then 0 / sqrt(eps) scaled, both libraries agree, but float32 rounding of the constant differs)
SKIP = set()


def _run(lib, name, x, dtype):
    t = lib.tensor(x.astype(dtype), requires_grad=True) if lib is rd else torch.tensor(x.astype(dtype),
                                                                                         requires_grad=True)
    y = OPS[name](lib, t)
    w = np.random.default_rng(1).uniform(0.5, 1.5, tuple(y.shape)).astype(dtype)
    (y * (rd.tensor(w) if lib is rd else torch.tensor(w))).sum().backward()
    value = y.detach().numpy() if lib is torch else y.numpy()
    grad = t.grad.numpy() if lib is torch else t.grad.numpy()
    return value.astype(np.float64), grad.astype(np.float64)


def assert_close_to_truth(ours, theirs, truth, what, ulps=8):
    """Finite wherever torch's float32 result is, and no farther from the truth than twice torch's error + ulps;
    where torch's float32 result is not finite (std of subnormals: its var underflows to 0), the same as torch or
    within 1e-4 of the truth (redes accumulates var in float64; a subnormal such as 1e-40 holds only ~17 bits)."""
    ok = np.isfinite(theirs)
    assert np.isfinite(ours[ok]).all(), f"{what}: not finite where torch's float32 is: ours {ours}, torch {theirs}"
    slack = 1e-4 * np.abs(truth[np.isfinite(truth)]).max(initial=0.0)
    for o, t, e in zip(ours[~ok], theirs[~ok], truth[~ok]):
        assert o == t or (np.isnan(o) and np.isnan(t)) or abs(o - e) <= slack, f"{what}: {o} vs torch {t}, truth {e}"
    bound = 2 * np.abs(theirs - truth) + ulps * np.finfo(np.float32).eps * np.abs(truth).max()
    err = np.abs(ours - truth)
    with np.errstate(invalid="ignore"):
        worst = np.argmax(np.where(ok, err - bound, -np.inf))
    assert (err[ok] <= bound[ok]).all(), (f"{what}: error {err.flat[worst]:.3g} over torch's float32 error "
                                          f"({bound.flat[worst]:.3g}):\nours  {ours}\ntorch {theirs}\ntruth {truth}")


@pytest.mark.parametrize("inputs", list(INPUTS))
@pytest.mark.parametrize("name", list(OPS))
def test_float32_within_torchs_own_error_of_the_float64_truth(name, inputs):
    x = INPUTS[inputs].astype(np.float32).astype(np.float64)      # the float32 values, exactly, in float64
    ours = _run(rd, name, x, np.float32)
    theirs = _run(torch, name, x, np.float32)
    truth = _run(torch, name, x, np.float64)
    for k, part in enumerate(("forward", "gradient")):
        assert_close_to_truth(ours[k], theirs[k], truth[k], f"{name} on {inputs} ({part}, float32)")


@pytest.mark.parametrize("inputs", list(INPUTS))
@pytest.mark.parametrize("name", list(OPS))
def test_float64_matches_the_truth(name, inputs):
    x = INPUTS[inputs]
    ours, truth = _run(rd, name, x, np.float64), _run(torch, name, x, np.float64)
    for k, part in enumerate(("forward", "gradient")):
        assert np.isfinite(ours[k]).all(), f"{name} on {inputs}: {part} not finite: {ours[k]}"
        np.testing.assert_allclose(ours[k], truth[k], rtol=1e-8, atol=1e-12 * np.abs(truth[k]).max() + 1e-300,
                                   err_msg=f"{name} on {inputs} ({part}, float64)")


def test_variance_without_catastrophic_cancellation():
    """var of 1e8 + noise in float32 (the one-pass formula E[x^2] - E[x]^2 loses every digit), and of 1e4 + noise."""
    noise = np.random.default_rng(2).normal(0, 16, 1000)
    for offset in (1e8, 1e4):
        x32 = (offset + noise).astype(np.float32)
        truth = np.var(x32.astype(np.float64), ddof=1)
        ours = rd.tensor(x32).var().item()
        theirs = torch.tensor(x32).var().item()
        assert abs(ours - truth) <= 2 * abs(theirs - truth) + 1e-5 * truth, (offset, ours, theirs, truth)
        assert abs(ours - truth) <= 1e-3 * truth, f"var of {offset} + noise: {ours} vs {truth}"
        t = rd.tensor(x32.reshape(20, 50))
        ln = rd.nn.functional.layer_norm(t, (50,)).numpy().astype(np.float64)
        rows = x32.reshape(20, 50).astype(np.float64)
        exact = (rows - rows.mean(1, keepdims=True)) / np.sqrt(rows.var(1, keepdims=True) + 1e-5)
        np.testing.assert_allclose(ln, exact, atol=2e-3 if offset == 1e8 else 1e-4)


def test_extreme_logits_give_exact_limits():
    """Saturated probabilities are exact 0/1, log-probabilities exact, losses finite with the right gradient."""
    x = rd.tensor([[1e4, -1e4, 0.0]], dtype=rd.float32, requires_grad=True)
    p = x.softmax(-1).numpy()
    np.testing.assert_array_equal(p, [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(x.log_softmax(-1).numpy(), [[0.0, -2e4, -1e4]])
    loss = rd.nn.functional.cross_entropy(x, rd.tensor([1]))
    assert loss.item() == 2e4
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, -1.0, 0.0]])
    z = rd.tensor([-1e4, 1e4], dtype=rd.float32, requires_grad=True)
    b = rd.nn.functional.binary_cross_entropy_with_logits(z, rd.tensor([1.0, 0.0], dtype=rd.float32),
                                                          reduction="sum")
    assert b.item() == 2e4
    b.backward()
    np.testing.assert_array_equal(z.grad.numpy(), [-1.0, 1.0])
