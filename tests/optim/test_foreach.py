"""The optimizers' flat (foreach) path is invisible: a parameter's storage is never swapped, as in torch.

A reference to p.array or p.numpy() taken before the first step sees every update; foreach=False runs the
per-parameter path with the same numbers; foreach/fused take torch's values and torch's rule for both."""
import numpy as np
import pytest

import redes as rd

OPTIMIZERS = [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
              ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True)), ("AdamW", dict(lr=0.01)),
              ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True)), ("Adagrad", dict(lr=0.1))]
FUSED = {"SGD", "Adam", "AdamW", "Adagrad"}          # the optimizers torch gives a fused= argument
IDS = [f"{n}-{'-'.join(map(str, kw.values()))}" for n, kw in OPTIMIZERS]


def _params(shapes, dtype=np.float64):
    rng = np.random.default_rng(0)
    return [rd.nn.Parameter(rd.tensor(rng.normal(size=s).astype(dtype))) for s in shapes]


def _train(params, opt, steps=4):
    rng = np.random.default_rng(1)
    for _ in range(steps):
        for p in params:
            p.grad = rd.tensor(rng.normal(size=tuple(p.shape)).astype(p.numpy().dtype))
        opt.step()


@pytest.mark.parametrize("shapes", [[(3, 4), (4,), (2, 3, 2)], [(300, 300), (70000,)]], ids=["gathered", "sliced"])
@pytest.mark.parametrize("foreach", [None, True, False])
@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_reference_taken_before_the_first_step_sees_every_update(name, kw, foreach, shapes):
    params = _params(shapes)
    arrays, views = [p.array for p in params], [p.numpy() for p in params]
    before = [a.copy() for a in arrays]
    opt = getattr(rd.optim, name)(params, foreach=foreach, **kw)
    _train(params, opt)
    for p, a, v, b in zip(params, arrays, views, before):
        assert p.array is a, f"{name}: the parameter's array was swapped"
        assert np.shares_memory(p.numpy(), v)
        assert not np.array_equal(a, b), f"{name}: the parameter did not change"
    assert not any(np.shares_memory(params[0].array, p.array) for p in params[1:])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_foreach_false_gives_the_same_numbers(name, kw, dtype):
    shapes = [(3, 4), (4,), (5,)]
    runs = {}
    for foreach in (None, False):
        params = _params(shapes, dtype)
        opt = getattr(rd.optim, name)(params, foreach=foreach, **kw)
        _train(params, opt, steps=6)
        runs[foreach] = [p.numpy().copy() for p in params]
        assert bool(opt._layouts) == (foreach is None), "foreach=False must take the per-parameter path"
    for a, b in zip(runs[None], runs[False]):
        np.testing.assert_allclose(a, b, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=0)


@pytest.mark.parametrize("name", sorted(FUSED))
def test_fused_as_torch(name):
    torch = pytest.importorskip("torch")
    params = _params([(3,), (2, 2)])
    opt = getattr(rd.optim, name)(params, lr=0.1, fused=True)
    assert opt.param_groups[0]["fused"] is True and opt.param_groups[0]["foreach"] is None
    _train(params, opt)
    with pytest.raises(RuntimeError, match="cannot be `True` together"):
        getattr(rd.optim, name)(params, lr=0.1, fused=True, foreach=True)
    with pytest.raises(RuntimeError):
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], lr=0.1, fused=True, foreach=True)


@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_foreach_takes_only_none_true_false(name, kw):
    with pytest.raises(ValueError, match="foreach must be None, True or False, got 'yes'"):
        getattr(rd.optim, name)(_params([(2,)]), foreach="yes", **kw)


def test_in_place_edits_between_steps_are_seen():
    """The flat path gathers the parameters' current values each step, so p.data.add_() between steps counts."""
    params = _params([(3,), (3,)])
    opt = rd.optim.SGD(params, lr=0.5)
    _train(params, opt, steps=1)
    with rd.no_grad():
        params[0].data.add_(10.0)
    expected = params[0].numpy() - 0.5 * 1.0
    for p in params:
        p.grad = rd.ones(3, dtype=rd.float64)
    opt.step()
    np.testing.assert_allclose(params[0].numpy(), expected)
