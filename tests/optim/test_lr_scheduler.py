"""LR schedulers against torch.optim.lr_scheduler: lr (and momentum) sequences over 40 steps with two param groups,
ReduceLROnPlateau fed the same metrics, state_dict round trips (JSON too), errors."""
import json
import warnings

import numpy as np
import pytest

import redes as rd

torch = pytest.importorskip("torch")
STEPS = 40


def _optimizer(lib, name="SGD", **kw):
    make = (lambda s: rd.nn.Parameter(rd.zeros(s))) if lib is rd else (lambda s: torch.nn.Parameter(torch.zeros(s)))
    kw = {"momentum": 0.9, **kw} if name == "SGD" else kw
    return getattr(lib.optim, name)([{"params": [make(2)]}, {"params": [make(3)], "lr": 0.05}], lr=0.1, **kw)


def _record(opt):
    """lr of each group, and momentum (SGD) or beta1 (Adam) of each group."""
    return [g["lr"] for g in opt.param_groups] + \
        [g["momentum"] if "momentum" in g else g["betas"][0] for g in opt.param_groups]


def _sequence(lib, make, steps=STEPS, metrics=None, opt_name="SGD"):
    opt = _optimizer(lib, opt_name)
    sched = make(lib.optim.lr_scheduler, opt)
    out = [_record(opt)]
    for i in range(steps):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
        out.append(_record(opt))
        if metrics is None:
            assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return np.array(out)


SCHEDULERS = {
    "StepLR": lambda M, o: M.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda M, o: M.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3),
    "ExponentialLR": lambda M, o: M.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, T_max=10),
    "CosineAnnealingLR_eta_min": lambda M, o: M.CosineAnnealingLR(o, T_max=15, eta_min=0.001),
    "LambdaLR": lambda M, o: M.LambdaLR(o, lambda e: 1.0 / (e + 1)),
    "LambdaLR_per_group": lambda M, o: M.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: min(1.0, (e + 1) / 5)]),
    "MultiplicativeLR": lambda M, o: M.MultiplicativeLR(o, lambda e: 0.95),
    "LinearLR": lambda M, o: M.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=12),
    "ConstantLR": lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=4),
    "PolynomialLR": lambda M, o: M.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.001),
    "OneCycleLR": lambda M, o: M.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=STEPS),
    "OneCycleLR_three_phase_linear": lambda M, o: M.OneCycleLR(
        o, max_lr=0.5, epochs=4, steps_per_epoch=10, pct_start=0.25, anneal_strategy="linear", three_phase=True,
        div_factor=10.0, final_div_factor=100.0, base_momentum=0.8, max_momentum=0.9),
    "OneCycleLR_no_momentum": lambda M, o: M.OneCycleLR(o, max_lr=0.3, total_steps=STEPS, cycle_momentum=False),
    "SequentialLR_warmup_cosine": lambda M, o: M.SequentialLR(
        o, [M.LinearLR(o, start_factor=0.01, total_iters=5), M.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
    "SequentialLR_three": lambda M, o: M.SequentialLR(
        o, [M.ConstantLR(o, factor=0.1, total_iters=3), M.ExponentialLR(o, gamma=0.9), M.StepLR(o, 4)],
        milestones=[4, 15]),
    "ChainedScheduler": lambda M, o: M.ChainedScheduler([M.ExponentialLR(o, 0.9), M.StepLR(o, 5, 0.5)]),
    "CyclicLR": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4),
    "CyclicLR_triangular2_uneven": lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=3, step_size_down=7,
                                                           mode="triangular2", base_momentum=0.7, max_momentum=0.95),
    "CyclicLR_exp_range": lambda M, o: M.CyclicLR(o, [0.01, 0.02], 0.1, step_size_up=5, mode="exp_range",
                                                  gamma=0.97, cycle_momentum=False),
    "CyclicLR_scale_fn": lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=3, scale_fn=lambda x: 0.9 ** x,
                                                 scale_mode="iterations"),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_sequence_matches_torch(name):
    make = SCHEDULERS[name]
    np.testing.assert_allclose(_sequence(rd, make), _sequence(torch, make), rtol=1e-13, atol=0,
                               err_msg=f"{name}: lr/momentum sequence vs torch")


@pytest.mark.parametrize("name", ["OneCycleLR", "OneCycleLR_three_phase_linear", "CyclicLR_triangular2_uneven"])
def test_one_cycle_cycles_adam_beta1_like_torch(name):
    make = SCHEDULERS[name]
    ours, ref = _sequence(rd, make, opt_name="Adam"), _sequence(torch, make, opt_name="Adam")
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=0)


PLATEAU = [dict(), dict(mode="max", patience=2, factor=0.5, cooldown=3),
           dict(patience=1, threshold_mode="abs", threshold=0.01, min_lr=[0.01, 0.002]),
           dict(patience=0, factor=0.2, eps=1e-3, threshold=0.1)]


@pytest.mark.parametrize("kw", PLATEAU, ids=[str(k) for k in PLATEAU])
def test_reduce_lr_on_plateau_matches_torch(kw):
    rng = np.random.default_rng(0)
    metrics = np.r_[np.linspace(1, 0.5, 8), 0.5 + rng.uniform(-0.02, 0.02, 12), np.linspace(0.5, 0.3, 5),
                    np.full(15, 0.3)]
    make = lambda M, o: M.ReduceLROnPlateau(o, **kw)            # noqa: E731
    ours, ref = _sequence(rd, make, metrics=metrics), _sequence(torch, make, metrics=metrics)
    np.testing.assert_allclose(ours, ref, rtol=1e-13, atol=0)
    assert ours[-1, 0] < ours[0, 0], "the lr should have been reduced"


@pytest.mark.parametrize("name", ["StepLR", "MultiStepLR", "CosineAnnealingLR_eta_min", "OneCycleLR",
                                  "SequentialLR_warmup_cosine", "LinearLR", "CosineAnnealingWarmRestarts",
                                  "CyclicLR_triangular2_uneven"])
def test_state_dict_round_trip(name):
    """Stop after 13 steps, save optimizer + scheduler (through JSON), rebuild, load, continue: same lrs."""
    make = SCHEDULERS[name]
    full = _sequence(rd, make)
    opt = _optimizer(rd)
    sched = make(rd.optim.lr_scheduler, opt)
    for _ in range(13):
        opt.step()
        sched.step()
    saved = json.loads(json.dumps({"opt": opt.state_dict(), "sched": sched.state_dict()}))
    opt2 = _optimizer(rd)
    sched2 = make(rd.optim.lr_scheduler, opt2)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    out = []
    for _ in range(STEPS - 13):
        opt2.step()
        sched2.step()
        out.append(_record(opt2))
    np.testing.assert_allclose(np.array(out), full[14:], rtol=1e-13, atol=0)


def test_plateau_state_dict_round_trip():
    opt = _optimizer(rd)
    sched = rd.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1)
    for m in [1.0, 0.9, 0.95, 0.96]:
        sched.step(m)
    state = json.loads(json.dumps(sched.state_dict()))
    sched2 = rd.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(rd), patience=1)
    sched2.load_state_dict(state)
    assert sched2.best == sched.best and sched2.num_bad_epochs == sched.num_bad_epochs
    assert sched2.last_epoch == 4


def test_scheduler_drives_training_like_torch():
    """SGD + StepLR: the parameters follow torch's (the scheduled lr is the one the step uses)."""
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=3)
    ours, ref = rd.nn.Parameter(rd.tensor(w0)), torch.nn.Parameter(torch.tensor(w0))
    opt, topt = rd.optim.SGD([ours], lr=0.1, momentum=0.9), torch.optim.SGD([ref], lr=0.1, momentum=0.9)
    s, ts = rd.optim.lr_scheduler.StepLR(opt, 3, 0.5), torch.optim.lr_scheduler.StepLR(topt, 3, 0.5)
    for _ in range(10):
        g = rng.normal(size=3)
        ours.grad, ref.grad = rd.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        s.step()
        ts.step()
    np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), rtol=1e-12)


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _optimizer(rd)
    sched = rd.optim.lr_scheduler.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt = _optimizer(rd)
    sched = rd.optim.lr_scheduler.StepLR(opt, 2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_errors():
    M = rd.optim.lr_scheduler
    opt = _optimizer(rd)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        M.StepLR(object(), 3)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        M.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="start_factor must be in"):
        M.LinearLR(opt, start_factor=0.0)
    with pytest.raises(ValueError, match="factor should be < 1.0"):
        M.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        M.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="total_steps OR"):
        M.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        M.OneCycleLR(opt, max_lr=[0.1, 0.2, 0.3], total_steps=10)
    with pytest.raises(ValueError, match="one milestone fewer"):
        M.SequentialLR(opt, [M.StepLR(opt, 2), M.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="does not support ReduceLROnPlateau"):
        M.SequentialLR(opt, [M.StepLR(opt, 2), M.ReduceLROnPlateau(opt)], milestones=[3])
    with pytest.raises(KeyError, match="initial_lr"):
        M.StepLR(_optimizer(rd), 3, last_epoch=5)
    opt = _optimizer(rd)
    sched = M.OneCycleLR(opt, max_lr=0.1, total_steps=3)
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        for _ in range(4):
            opt.step()
            sched.step()


def test_every_torch_scheduler_and_optimizer_exists():
    """All of torch.optim's optimizers and lr_scheduler's classes exist in redes with the same names, except SparseAdam
    (sparse gradients) and Muon (its Newton-Schulz iteration computes in bfloat16, which NumPy lacks)."""
    import inspect
    excluded = {"SparseAdam", "Muon"}
    optims = [n for n, v in vars(torch.optim).items() if inspect.isclass(v) and issubclass(v, torch.optim.Optimizer)]
    missing = [n for n in optims if n not in excluded and not hasattr(rd.optim, n)]
    assert not missing, f"torch.optim optimizers missing in redes: {missing}"
    scheds = [n for n, v in vars(torch.optim.lr_scheduler).items() if inspect.isclass(v) and
              v.__module__ == "torch.optim.lr_scheduler" and (issubclass(v, torch.optim.lr_scheduler.LRScheduler)
                                                               or n == "ReduceLROnPlateau")]
    missing = [n for n in scheds if not hasattr(rd.optim.lr_scheduler, n)]
    assert not missing, f"torch.optim.lr_scheduler classes missing in redes: {missing}"
    assert len(scheds) >= 16
