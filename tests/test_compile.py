"""rd.compile: a replayed call gives exactly the values and gradients of the eager call, over training steps and
the fused layers; it re-records when shapes or parameters change and runs eagerly (with a warning) where a
replay cannot repeat the function."""
import copy
import warnings

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F


def _twins(make):
    rd.manual_seed(0)
    eager = make()
    compiled = copy.deepcopy(eager)
    return eager, compiled


def _assert_same(a, b, what):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=what)


def _train_both(make, loss_of, batches, opt_cls=rd.optim.SGD, **opt_kw):
    """Train twins, one through rd.compile; every loss, gradient and parameter must be bitwise equal."""
    eager, compiled = _twins(make)
    opts = [opt_cls(m.parameters(), **opt_kw) for m in (eager, compiled)]
    step = rd.compile(lambda *a: loss_of(compiled, *a))
    for i, args in enumerate(batches):
        losses = []
        for model, opt, fn in ((eager, opts[0], lambda *a: loss_of(eager, *a)), (compiled, opts[1], step)):
            opt.zero_grad()
            rd.manual_seed(100 + i)                     # dropout draws the same numbers in both
            loss = fn(*args)
            loss.backward()
            losses.append(loss.item())
        assert losses[0] == losses[1], f"step {i}: loss {losses}"
        for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
            _assert_same(p.grad.numpy(), q.grad.numpy(), f"step {i}: grad of {name}")
        for opt in opts:
            opt.step()
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        _assert_same(p.numpy(), q.numpy(), f"{name} after training")
    return step


def _batches(n, shape, classes, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [(rd.tensor(rng.standard_normal(shape).astype(dtype)), rd.tensor(rng.integers(0, classes, shape[0])))
            for _ in range(n)]


def test_mlp_training_is_identical_and_replays():
    step = _train_both(lambda: rd.nn.Sequential(rd.nn.Linear(12, 32), rd.nn.ReLU(), rd.nn.Dropout(0.2),
                                                rd.nn.Linear(32, 5)),
                       lambda m, x, y: F.cross_entropy(m(x), y), _batches(5, (8, 12), 5), lr=0.1, momentum=0.9)
    assert step.eager_reason is None and len(step.plans) == 1
    loss = step(*_batches(1, (8, 12), 5, seed=9)[0])
    assert type(loss.grad_fn).__name__ == "_Replayed"


def test_cnn_training_is_identical():
    make = lambda: rd.nn.Sequential(rd.nn.Conv2d(1, 4, 3, padding=1), rd.nn.ReLU(), rd.nn.MaxPool2d(2),   # noqa: E731
                                    rd.nn.Flatten(), rd.nn.Linear(4 * 4 * 4, 3))
    step = _train_both(make, lambda m, x, y: F.cross_entropy(m(x), y), _batches(4, (5, 1, 8, 8), 3), lr=0.05,
                       momentum=0.9)
    assert step.eager_reason is None and len(step.plans) == 1        # the steps after the check were replays


def test_transformer_training_is_identical():
    class LM(rd.nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = rd.nn.Embedding(11, 16)
            layer = rd.nn.TransformerEncoderLayer(16, 2, 32, dropout=0.1, activation="gelu", batch_first=True,
                                                  norm_first=True)
            self.enc = rd.nn.TransformerEncoder(layer, 2)
            self.head = rd.nn.Linear(16, 11)

        def forward(self, idx, mask):
            return self.head(self.enc(self.tok(idx), mask=mask))

    rng = np.random.default_rng(1)
    mask = rd.tensor(np.triu(np.full((6, 6), -np.inf, np.float32), 1))
    batches = [(rd.tensor(rng.integers(0, 11, (3, 6))), mask, rd.tensor(rng.integers(0, 11, 18))) for _ in range(4)]
    step = _train_both(LM, lambda m, idx, mask, t: F.cross_entropy(m(idx, mask).reshape(18, 11), t), batches,
                       rd.optim.AdamW, lr=1e-2)
    assert step.eager_reason is None and len(step.plans) == 1


def test_lstm_training_is_identical():
    class Seq(rd.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = rd.nn.LSTM(4, 8, batch_first=True)
            self.head = rd.nn.Linear(8, 1)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[:, -1, :])

    rng = np.random.default_rng(2)
    batches = [(rd.tensor(rng.standard_normal((3, 7, 4)).astype(np.float32)),
                rd.tensor(rng.standard_normal((3, 1)).astype(np.float32))) for _ in range(4)]
    step = _train_both(Seq, lambda m, x, y: F.mse_loss(m(x), y), batches, rd.optim.Adam, lr=1e-2)
    assert step.eager_reason is None and len(step.plans) == 1


def test_numbers_scale_and_arguments_that_need_gradients():
    """0-D arithmetic (the operators' fast path), an argument that requires grad, and a Python number argument."""
    w = rd.tensor(0.5, requires_grad=True)
    f = rd.compile(lambda x, k: (w * x + x * x) * k)
    for v in (1.0, 2.0, -3.0):
        x = rd.tensor(v, requires_grad=True)
        y = f(x, 3.0)
        y.backward()
        assert y.item() == pytest.approx((0.5 * v + v * v) * 3)
        assert x.grad.item() == pytest.approx((0.5 + 2 * v) * 3)
    assert w.grad.item() == pytest.approx(3 * (1 + 2 - 3))
    assert f.eager_reason is None and len(f.plans) == 1


def test_new_shapes_frozen_parameters_and_no_grad_record_again():
    model = rd.nn.Linear(3, 2)
    f = rd.compile(lambda x: model(x).sum())
    for n in (4, 4, 4, 6, 6, 6):
        x = rd.tensor(np.ones((n, 3), np.float32))
        model.zero_grad()
        f(x).backward()
        np.testing.assert_allclose(model.weight.grad.numpy(), np.full((2, 3), n, np.float32))
    assert len(f.plans) == 2
    model.bias.requires_grad_(False)                # a replay would still send it a gradient: record again
    model.zero_grad()
    f(rd.tensor(np.ones((4, 3), np.float32))).backward()
    assert model.bias.grad is None and model.weight.grad is not None
    with rd.no_grad():
        y = f(rd.tensor(np.ones((4, 3), np.float32)))
    assert not y.requires_grad


def test_a_value_dependent_branch_is_caught_and_runs_eagerly():
    w = rd.tensor([1.0, -1.0], requires_grad=True)

    def branchy(x):
        return (w * x).sum() if x.sum().item() > 0 else (w * x * 2.0).sum()

    f = rd.compile(branchy)
    f(rd.tensor([1.0, 2.0]))                        # recorded on the positive branch
    with pytest.warns(UserWarning, match="another result"):
        y = f(rd.tensor([-1.0, -2.0]))              # the check on the second call sees the other branch
    assert y.item() == branchy(rd.tensor([-1.0, -2.0])).item()
    assert f.eager_reason is not None
    assert f(rd.tensor([-1.0, -2.0])).item() == y.item()


@pytest.mark.parametrize("case", ["batchnorm", "not_a_tensor", "made_inside"])
def test_functions_a_replay_cannot_repeat_run_eagerly(case):
    bn = rd.nn.BatchNorm1d(3)
    fns = {"batchnorm": lambda x: bn(x).sum(),
           "not_a_tensor": lambda x: (x * 2.0).sum().item(),
           "made_inside": lambda x: (x * rd.tensor(np.full(3, 2.0, np.float32))).sum()}
    f = rd.compile(fns[case])
    x = rd.tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    with pytest.warns(UserWarning, match="runs eagerly"):
        first = f(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # no second warning, and the same (eager) results
        second = f(x)
    assert f.eager_reason is not None
    assert float(first) == float(second)
    if case == "batchnorm":
        assert bn.num_batches_tracked.item() == 2   # the running statistics moved on every call


def test_train_and_eval_modes_record_separately():
    """Dropout on in train(), off in eval(): switching modes must not replay the other mode's ops."""
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(4, 16), rd.nn.Dropout(0.5), rd.nn.Linear(16, 1))
    f = rd.compile(lambda x: model(x).sum())
    x = rd.tensor(np.ones((8, 4), np.float32))
    model.eval()
    expected = [model(x).sum().item()] * 3
    got = [f(x).item() for _ in range(3)]
    assert got == expected                          # eval: deterministic, no dropout
    model.train()
    train_values = {f(x).item() for _ in range(4)}
    assert len(train_values) > 1                    # train: a new dropout mask each call
    model.eval()
    assert f(x).item() == expected[0]
    assert f.eager_reason is None


def test_replayed_node_with_retain_graph_grad_and_create_graph():
    w = rd.tensor([1.0, 2.0], requires_grad=True)
    f = rd.compile(lambda x: (w * x * x).sum())
    x = rd.tensor([3.0, 4.0])
    for _ in range(3):
        y = f(x)
    assert type(y.grad_fn).__name__ == "_Replayed"
    y.backward(retain_graph=True)
    y.backward()                                    # the node kept its recorded arrays for a second walk
    np.testing.assert_array_equal(w.grad.numpy(), 2 * np.array([9.0, 16.0], np.float32))
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    (g,) = rd.grad(f(x), [w])                       # rd.grad reaches the parameters through the node
    np.testing.assert_array_equal(g.numpy(), [9.0, 16.0])
    with pytest.raises(RuntimeError, match="create_graph"):
        rd.grad(f(x), [w], create_graph=True)


# ----------------------------------------------------------------------------------- the replay's array code
def _plan(step):
    (plan,) = step.plans.values()
    return plan


@pytest.mark.parametrize("dtype, hidden", [(np.float32, 16), (np.float64, 16), (np.float32, 160)],
                         ids=["float32", "float64", "wide"])
def test_lowered_mlp_is_identical_to_eager(dtype, hidden):
    """Linear, relu and cross-entropy run as lowered array code (relu fused in place both ways); 'wide' takes the
    compiled relu backward (>= 4096 elements) and the BLAS bias sum."""
    def make():
        m = rd.nn.Sequential(rd.nn.Linear(12, hidden), rd.nn.ReLU(), rd.nn.Linear(hidden, hidden), rd.nn.ReLU(),
                             rd.nn.Linear(hidden, 5))
        return m.to(dtype)
    step = _train_both(make, lambda m, x, y: F.cross_entropy(m(x), y), _batches(5, (32, 12), 5, dtype=dtype),
                       lr=0.1, momentum=0.9)
    # float32 cross-entropy is lowered to the kernel calls eager makes (_train_both compares the bits)
    assert _plan(step).steps == [("linear", "lowered"), ("relu", "lowered")] * 2 + [
        ("linear", "lowered"), ("cross_entropy", "lowered")]


def test_a_linear_output_read_twice_is_not_overwritten_by_relu():
    """relu may run in place on a linear's output only when nothing else reads it (here a residual does)."""
    def make():
        return rd.nn.ModuleList([rd.nn.Linear(6, 6), rd.nn.Linear(6, 3)])

    def loss_of(m, x, y):
        h = m[0](x)
        return F.cross_entropy(m[1](F.relu(h) + h), y, reduction="sum")
    step = _train_both(make, loss_of, _batches(4, (5, 6), 3), lr=0.1)
    assert step.eager_reason is None and ("relu", "lowered") in _plan(step).steps


@pytest.mark.parametrize("targets, error", [([0, -100, 2, 1, -100], None), ([0, 3, 2, 1, 0], "out of range"),
                                            ([0, -1, 2, 1, 0], "out of range"), ("columns", None)],
                         ids=["ignored", "too_big", "negative", "logits_in_columns"])
@pytest.mark.parametrize("kernels", [False, True], ids=["numpy", "kernels"])
def test_cross_entropy_cases_the_lowered_code_does_not_take(targets, error, kernels, monkeypatch):
    """Ignored targets and logits not in C order run the op's own forward (same values as eager); bad targets
    raise eager's error. With the kernels, the lowered float32 code is their calls (a target outside [0, C)
    sends it to the op's forward); without them, NumPy's."""
    if kernels and rd.backend._compiled is None:
        pytest.skip("redes._kernels is not built")
    monkeypatch.setattr(rd.backend, "kernels", rd.backend._compiled if kernels else None)
    rd.manual_seed(0)
    transposed = targets == "columns"
    model = rd.nn.Linear(4, 5 if transposed else 3)
    logits = (lambda x: model(x).T) if transposed else model           # (5, 3) logits, in columns: x is 3 x 4
    f = rd.compile(lambda x, y: F.cross_entropy(logits(x), y))
    x = rd.tensor(np.random.default_rng(0).standard_normal((3, 4) if transposed else (5, 4)).astype(np.float32))
    good = rd.tensor(np.array([0, 1, 2, 1, 0]))
    for _ in range(3):
        f(x, good)                                  # recorded, checked, replayed: lowered
    assert ("cross_entropy", "lowered") in _plan(f).steps
    y = good if transposed else rd.tensor(np.array(targets))
    if error:
        with pytest.raises(IndexError, match=error):
            f(x, y)
        return
    model.zero_grad()
    loss = f(x, y)
    loss.backward()
    got = [loss.item(), model.weight.grad.numpy().copy(), model.bias.grad.numpy().copy()]
    model.zero_grad()
    loss = F.cross_entropy(logits(x), y)
    loss.backward()
    assert got[0] == loss.item()
    _assert_same(got[1], model.weight.grad.numpy(), "weight grad")
    _assert_same(got[2], model.bias.grad.numpy(), "bias grad")


def test_gradients_accumulate_as_eager_with_a_weight_used_twice():
    """No zero_grad between steps, and one weight used by two layers: each contribution reaches .grad in eager's
    order (w.grad + dw1 + dw2, not w.grad + (dw1 + dw2))."""
    def make():
        return rd.nn.Linear(5, 5)

    def loss_of(m, x):
        return (F.linear(F.relu(m(x)), m.weight) ** 2).mean()

    eager, compiled = _twins(make)
    step = rd.compile(lambda x: loss_of(compiled, x))
    rng = np.random.default_rng(3)
    for i in range(5):
        x = rd.tensor(rng.standard_normal((4, 5)).astype(np.float32))
        loss_of(eager, x).backward()
        step(x).backward()
        for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
            _assert_same(p.grad.numpy(), q.grad.numpy(), f"call {i}: accumulated grad of {name}")
    assert type(step(x).grad_fn).__name__ == "_Replayed"


def test_outputs_and_gradients_the_user_keeps_are_never_overwritten():
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(6, 8), rd.nn.ReLU(), rd.nn.Linear(8, 3))
    f = rd.compile(lambda x, y: F.cross_entropy(model(x), y))
    kept = []
    for x, y in _batches(6, (4, 6), 3):
        model.zero_grad()
        loss = f(x, y)
        loss.backward()
        kept.append((loss, loss.numpy().copy(), [(p.grad, p.grad.numpy().copy()) for p in model.parameters()]))
    for loss, value, grads in kept:
        _assert_same(loss.numpy(), value, "a kept loss")
        for g, g_value in grads:
            _assert_same(g.numpy(), g_value, "a kept gradient")
    arrays = [g.array for _, _, grads in kept for g, _ in grads]
    assert len({id(a) for a in arrays}) == len(arrays)          # every step handed out new arrays


def test_two_replays_alive_at_once_and_an_output_used_further():
    """Each replay keeps its own arrays; a replay's output used by more ops goes through the engine's walk."""
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(6, 8), rd.nn.ReLU(), rd.nn.Linear(8, 3))
    f = rd.compile(lambda x, y: F.cross_entropy(model(x), y))
    (x1, y1), (x2, y2) = _batches(2, (4, 6), 3)
    for _ in range(3):
        f(x1, y1)
    model.zero_grad()
    (f(x1, y1) * 2.0 + f(x2, y2)).backward()
    got = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    (F.cross_entropy(model(x1), y1) * 2.0 + F.cross_entropy(model(x2), y2)).backward()
    for g, p in zip(got, model.parameters()):
        _assert_same(g, p.grad.numpy(), "grad through two replays")


def test_an_argument_made_by_other_ops_gets_its_gradient_through_the_engine():
    w = rd.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    f = rd.compile(lambda x: (F.linear(x, w).relu() ** 2).sum())
    a = rd.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    for _ in range(3):
        a.grad = w.grad = None
        f(a * 3.0).backward()
    got = a.grad.numpy().copy(), w.grad.numpy().copy()
    a.grad = w.grad = None
    (F.linear(a * 3.0, w).relu() ** 2).sum().backward()
    _assert_same(got[0], a.grad.numpy(), "grad of the argument's source")
    _assert_same(got[1], w.grad.numpy(), "grad of the weight")


def test_unused_ops_are_dropped_but_random_draws_are_kept():
    """An op nobody reads is not replayed, except one that draws random numbers (the stream must move as eagerly)."""
    rd.manual_seed(0)
    lin = rd.nn.Linear(4, 4)

    def fn(x):
        h = lin(x)
        h.exp().sum()                                           # unused: dropped
        F.dropout(h, 0.5)                                       # unused, but it draws: kept
        return F.dropout(h, 0.5).sum()

    f = rd.compile(fn)
    x = rd.tensor(np.ones((3, 4), np.float32))
    for i in range(4):
        rd.manual_seed(i)
        got = f(x).item()
        state = rd.random.get_rng_state()
        rd.manual_seed(i)
        assert got == fn(x).item()
        assert state == rd.random.get_rng_state()
    ops = [name for name, _ in _plan(f).steps]
    assert "exp" not in ops and ops.count("dropout") == 2


def test_batch_norm_in_eval_mode_replays():
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(4, 6), rd.nn.BatchNorm1d(6), rd.nn.ReLU(), rd.nn.Linear(6, 2))
    for x, _ in _batches(3, (8, 4), 2):
        model(x)                                    # running statistics move eagerly
    model.eval()
    f = rd.compile(lambda x: model(x).sum())
    for x, _ in _batches(4, (8, 4), 2, seed=1):
        model.zero_grad()
        y = f(x)
        y.backward()
        got = [y.item()] + [p.grad.numpy().copy() for p in model.parameters()]
        model.zero_grad()
        y = model(x).sum()
        y.backward()
        assert got[0] == y.item()
        for g, p in zip(got[1:], model.parameters()):
            _assert_same(g, p.grad.numpy(), "batch norm (eval) grad")
    assert f.eager_reason is None and type(f(x).grad_fn).__name__ == "_Replayed"


def test_a_forward_hook_that_changes_the_output_is_replayed():
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(4, 6), rd.nn.ReLU(), rd.nn.Linear(6, 2))
    calls = []

    def hook(module, inputs, output):
        calls.append(1)                             # a Python side effect: only on the calls that run eagerly
        return output * 0.5
    model[0].register_forward_hook(hook)
    f = rd.compile(lambda x: model(x).sum())
    x = rd.tensor(np.ones((3, 4), np.float32))
    values = [f(x).item() for _ in range(4)]
    assert values == [model(x).sum().item()] * 4
    assert len(calls) == 3                          # recording, the check (eager half), and the eager call above


def test_parameters_replaced_between_replays_are_read_again():
    """p.data = a new array, model.load_state_dict, model.double() between steps: the replay reads each parameter's
    current array (the plan's shortcut for unchanged arrays notices the new one), as eager does, bit for bit."""
    eager, compiled = _twins(lambda: rd.nn.Sequential(rd.nn.Linear(6, 8), rd.nn.ReLU(), rd.nn.Linear(8, 3)))
    opts = [rd.optim.SGD(m.parameters(), lr=0.1, momentum=0.9) for m in (eager, compiled)]
    step = rd.compile(lambda x, y: F.cross_entropy(compiled(x), y))
    rng = np.random.default_rng(3)
    saved = None
    for i, (x, y) in enumerate(_batches(12, (5, 6), 3)):
        if i == 4:                                      # a new array of the same shape and dtype
            for m in (eager, compiled):
                m[0].weight.data = np.asarray(rng.standard_normal((8, 6)) if m is eager else eager[0].weight.numpy(),
                                              np.float32).copy()
        if i == 3:
            saved = {k: v.numpy().copy() for k, v in eager.state_dict().items()}
        if i == 7:
            for m in (eager, compiled):
                m.load_state_dict(saved)
        if i == 9:                                      # another dtype: the plan records again
            eager.double()
            compiled.double()
        if i >= 9:
            x = x.double()
        losses = []
        for model, opt, fn in ((eager, opts[0], lambda x, y: F.cross_entropy(eager(x), y)), (compiled, opts[1], step)):
            opt.zero_grad()
            loss = fn(x, y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[0] == losses[1], f"step {i}: loss {losses}"
        for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
            _assert_same(p.numpy(), q.numpy(), f"step {i}: {name}")
    assert step.eager_reason is None and len(step.plans) == 2


# ----------------------------------------------------------------------------------- preallocated buffers
def _mlp_step():
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(6, 8), rd.nn.ReLU(), rd.nn.Linear(8, 3))
    return model, rd.compile(lambda x, y: F.cross_entropy(model(x), y))


def test_a_training_loop_replays_over_the_same_preallocated_buffers():
    """The hidden activations, the softmax and the inner gradients live in arrays allocated once with the plan;
    every replay whose node was backpropagated before the next call reuses them."""
    if rd.backend.kernels is None:
        pytest.skip("the float32 lowered code without the kernels allocates its arrays")
    model, f = _mlp_step()
    batches = _batches(5, (4, 6), 3)
    for x, y in batches[:3]:
        f(x, y).backward()
    plan = _plan(f)
    buffers = {s: plan.template[s] for s in plan.buffer_slots}
    # linear 1's output (relu runs in place on it), linear 2's output, its gradient into the relu, the softmax and
    # the logits' gradient; never the loss, and never a gradient a parameter keeps
    assert sorted(a.shape for a in buffers.values()) == [(4, 3), (4, 3), (4, 3), (4, 8), (4, 8)]
    for x, y in batches[3:]:
        loss = f(x, y)
        assert all(loss.grad_fn.v[s] is a for s, a in buffers.items())
        loss.backward()
        assert all(p.grad.array is not a for p in model.parameters() for a in buffers.values())


def test_a_replay_whose_node_is_alive_gets_new_arrays():
    """Two calls before their backward (gradient accumulation), a retained graph, a call under no_grad: each live
    replay has arrays of its own, and every gradient is eager's."""
    model, f = _mlp_step()
    (x1, y1), (x2, y2) = _batches(2, (4, 6), 3)
    for _ in range(3):
        f(x1, y1).backward()

    def grads(first, second, retain):
        model.zero_grad()
        a = first(x1, y1)
        with rd.no_grad():
            first(x2, y2)
        b = second(x2, y2)
        b.backward(retain_graph=retain)
        if retain:
            b.backward()
        a.backward()
        return [a.item(), b.item()] + [p.grad.numpy().copy() for p in model.parameters()]

    def eager(x, y):
        return F.cross_entropy(model(x), y)
    for retain in (False, True):
        for got, want in zip(grads(f, f, retain), grads(eager, eager, retain)):
            _assert_same(got, want, f"retain_graph={retain}")
    (plan,) = [p for key, p in f.plans.items() if key[0]]          # the grad-mode plan (no_grad made another)
    loss = f(x1, y1)
    assert all(loss.grad_fn.v[s] is plan.template[s] for s in plan.buffer_slots)   # all returned: reused again


@pytest.mark.parametrize("case", ["relu_output", "linear_output", "linear_then_generic"])
def test_values_the_caller_receives_are_never_buffers(case):
    """A replay's output (here a relu run in place on a linear's output, a linear's output, or a linear read by an
    op that is not lowered) is a new array at every call: a kept output keeps its values."""
    rd.manual_seed(0)
    lin = rd.nn.Linear(5, 4)
    fn = {"relu_output": lambda x: F.relu(lin(x)), "linear_output": lambda x: lin(x),
          "linear_then_generic": lambda x: F.relu(lin(x)) * 2.0}[case]
    f = rd.compile(fn)
    xs = [x for x, _ in _batches(5, (3, 5), 2)]
    kept = [(f(x), fn(x).numpy().copy()) for x in xs]
    for out, want in kept:
        _assert_same(out.numpy(), want, "a kept output")
    assert f.eager_reason is None and _plan(f).buffer_slots == []


def test_replays_from_two_threads_do_not_share_buffers():
    """Two threads replay the same compiled function at once (no_grad: each call's buffers are free again when it
    returns): a shared buffer would mix their values."""
    import sys
    import threading
    model, f = _mlp_step()
    data = _batches(2, (4, 6), 3)
    with rd.no_grad():
        want = [F.cross_entropy(model(x), y).item() for x, y in data]
        for x, y in data:
            for _ in range(3):
                f(x, y)
    errors, interval = [], sys.getswitchinterval()

    def worker(k):
        x, y = data[k]
        with rd.no_grad():
            for _ in range(3000):
                got = f(x, y).item()
                if got != want[k]:
                    errors.append((k, got, want[k]))
                    return
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
