"""The optimizers' quick step (one update call when nothing changed since the last kernel step) gives the numbers
of the full path, bit for bit, whatever changes between steps: a parameter replaced in its group, a re-assigned
.data, a gradient set to None, the learning rate or momentum changed, a state_dict loaded, a state Tensor
replaced, a step count edited, a float64 gradient, an in-place edit of a parameter."""
import numpy as np
import pytest

import redes as rd
from redes.optim.optimizer import _FlatGroup

SHAPES = [(4, 3), (4,), (2, 3, 2), (5,)]
STEPS = 14
OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9)), ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
              ("Adam", dict(lr=0.01)), ("AdamW", dict(lr=0.01, weight_decay=0.1))]
IDS = [f"{n}-{'-'.join(map(str, kw.values()))}" for n, kw in OPTIMIZERS]


def _replace_param(opt, params, rng):
    new = rd.nn.Parameter(rd.tensor(rng.normal(size=SHAPES[1]).astype(np.float32)))
    params[1] = opt.param_groups[0]["params"][1] = new


def _reassign_data(opt, params, rng):
    params[2].data = rng.normal(size=SHAPES[2]).astype(np.float32)


def _lr(opt, params, rng):
    opt.param_groups[0]["lr"] *= 0.5


def _momentum(opt, params, rng):
    group = opt.param_groups[0]
    if "momentum" in group:
        group["momentum"] = 0.5
    else:
        group["betas"] = (0.8, 0.99)


def _load_state_dict(opt, params, rng):
    saved = opt.state_dict()
    copied = {"param_groups": saved["param_groups"],
              "state": {k: {n: (v.numpy().copy() if n != "step" else v) for n, v in st.items()}
                        for k, st in saved["state"].items()}}
    opt.load_state_dict(copied)


def _replace_state(opt, params, rng):
    st = opt.state[params[0]]
    name = "momentum_buffer" if "momentum_buffer" in st else "exp_avg"
    st[name] = rd.tensor(rng.normal(size=SHAPES[0]).astype(np.float32))


def _state_data(opt, params, rng):
    st = opt.state[params[3]]
    name = "momentum_buffer" if "momentum_buffer" in st else "exp_avg_sq"
    st[name].data = np.abs(rng.normal(size=SHAPES[3])).astype(np.float32)


def _edit_step(opt, params, rng):
    st = opt.state[params[0]]
    if "step" in st:
        st["step"] += 3


def _reset_state(opt, params, rng):
    opt.state[params[3]] = {}


def _append_param(opt, params, rng):
    new = rd.nn.Parameter(rd.tensor(rng.normal(size=(3,)).astype(np.float32)))
    new.grad = rd.tensor(rng.normal(size=(3,)).astype(np.float32))
    params.append(new)
    opt.param_groups[0]["params"].append(new)


def _in_place(opt, params, rng):
    with rd.no_grad():
        params[0].data.add_(1.0)


# what happens before the step of the same number (the gradients of that step are already set)
CHANGES = {3: _lr, 4: _reassign_data, 6: _in_place, 7: _load_state_dict, 8: _replace_state, 9: _momentum,
           10: _state_data, 11: _edit_step, 12: _replace_param, 5: _reset_state, 13: _append_param}


def _run(name, kw, quick, changes=CHANGES, missing=(), float64_grad=()):
    """STEPS steps on float32 parameters (SHAPES, and any appended): the final parameters and state.
    quick=False: the full path every step (quick_step answers False, as before it existed); else the calls
    quick_step took are counted in QUICK."""
    rng = np.random.default_rng(0)
    params = [rd.nn.Parameter(rd.tensor(rng.normal(size=s).astype(np.float32))) for s in SHAPES]
    opt = getattr(rd.optim, name)(params, **kw)
    grads = np.random.default_rng(1)
    original = _FlatGroup.quick_step

    def counted(self, opt, group):
        done = original(self, opt, group)
        QUICK.append(done)
        return done
    _FlatGroup.quick_step = counted if quick else (lambda self, opt, group: False)
    try:
        for step in range(STEPS):
            for i, p in enumerate(params):
                g = grads.normal(size=tuple(p.shape))
                dtype = np.float64 if (step, i) in float64_grad else np.float32
                p.grad = None if (step, i) in missing else rd.tensor(g.astype(dtype))
            if step in changes:
                changes[step](opt, params, rng)
            opt.step()
    finally:
        _FlatGroup.quick_step = original
    state = [{k: (v.numpy().copy() if k != "step" else v) for k, v in st.items()} for st in opt.state.values()]
    return [p.numpy().copy() for p in params], state


QUICK = []


def assert_same_run(a, b):
    """Two _run results: parameters and state equal bit for bit."""
    (pa, sa), (pb, sb) = a, b
    for x, y in zip(pa, pb):
        np.testing.assert_array_equal(x, y)
    assert len(sa) == len(sb)
    for x, y in zip(sa, sb):
        assert sorted(x) == sorted(y)
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)


@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_quick_steps_are_taken_and_match_the_full_path(name, kw):
    """No change between steps: from the third step on, each step is a quick one, with the full path's numbers."""
    QUICK.clear()
    quick = _run(name, kw, True, changes={})
    # step 1 flattens the state (and SGD's first step gathers), the next one is the kernel's first
    assert all(QUICK) and len(QUICK) >= STEPS - 2, QUICK
    assert_same_run(quick, _run(name, kw, False, changes={}))


@pytest.mark.parametrize("change", sorted(CHANGES), ids=[CHANGES[k].__name__.strip("_") for k in sorted(CHANGES)])
@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_each_change_between_steps_gives_the_full_paths_numbers(name, kw, change):
    changes = {change: CHANGES[change]}
    QUICK.clear()
    quick = _run(name, kw, True, changes)
    assert any(QUICK), "the quick step was never taken: the comparison would not test it"
    assert_same_run(quick, _run(name, kw, False, changes))


@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_all_changes_missing_and_float64_gradients(name, kw):
    extra = dict(missing={(5, 1), (13, 2)}, float64_grad={(9, 3)})
    QUICK.clear()
    quick = _run(name, kw, True, **extra)
    assert any(QUICK), "the quick step was never taken: the comparison would not test it"
    assert_same_run(quick, _run(name, kw, False, **extra))


@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_quick_steps_match_the_per_parameter_path(name, kw):
    """foreach=False (each parameter on its own) gives the same numbers as the quick steps, to float32 rounding."""
    quick = _run(name, kw, True, changes={})
    per_param = _run(name, dict(kw, foreach=False), True, changes={})
    for x, y in zip(quick[0], per_param[0]):
        np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=IDS)
def test_a_gradient_of_another_shape_still_raises(name, kw):
    params = [rd.nn.Parameter(rd.ones(*s)) for s in SHAPES]
    opt = getattr(rd.optim, name)(params, **kw)
    for _ in range(3):
        for p in params:
            p.grad = rd.ones(*p.shape)
        opt.step()
    params[0].grad = rd.ones(3, 4)                       # 12 values, as the (4, 3) parameter has
    with pytest.raises(RuntimeError, match=r"a gradient has shape \(3, 4\) but its parameter has shape \(4, 3\)"):
        opt.step()
