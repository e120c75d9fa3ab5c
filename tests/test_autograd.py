"""The autograd engine: backward, accumulation, retain_grad, rd.grad, grad modes, graph freeing, higher-order
derivatives vs torch, very deep graphs and reference-cycle-free graphs."""
import gc
import sys
import weakref

import numpy as np
import pytest

import redes as rd
from ops.cases import CASES
from ops.helpers import assert_close, inputs, is_torch, second_grads, torch

needs_torch = pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")


# --------------------------------------------------------------------------- backward
def test_backward_of_a_scalar():
    x = rd.tensor([1.0, 2.0, 3.0], requires_grad=True)
    e = (x * x).sum()
    assert e.ndim == 0
    e.backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]
    assert x.grad.dtype == rd.float32 and x.grad.shape == x.shape and not x.grad.requires_grad


def test_backward_of_a_one_element_tensor():
    x = rd.tensor([3.0], requires_grad=True)
    (x * x).backward()                       # numel 1, as torch
    assert x.grad.tolist() == [6.0]


def test_backward_of_a_non_scalar_needs_a_gradient():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    y.backward(rd.tensor([1.0, 10.0]))       # a vector-Jacobian product
    assert x.grad.tolist() == [3.0, 30.0]


def test_gradient_accumulates_in_leaves_across_backward_calls():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [2.0 + 3.0, 4.0 + 3.0]
    g = x.grad
    (x * 1).sum().backward()
    assert g.tolist() == [5.0, 7.0], "accumulation must not write into an earlier .grad array"
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_a_node_used_several_times_gets_the_sum():
    x = rd.tensor(2.0, requires_grad=True)
    y = x * 3                                # y is used three times below
    e = y + y * y + y.exp()                  # dE/dy = 1 + 2y + exp(y)
    e.backward()
    assert x.grad.item() == pytest.approx(3 * (1 + 2 * 6 + np.exp(6)), rel=1e-6)
    a = rd.tensor([1.0, 2.0], requires_grad=True)
    (a + a + a).sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


def test_diamond_graph_vs_torch():
    def f(L, x):
        h = x.tanh()
        return (h * h.sigmoid() + h.exp() * x).sum() + (h @ h)
    x0 = np.array([0.3, -1.2, 0.7])
    xs = [L.tensor(x0, requires_grad=True) for L in (rd, torch)] if torch else []
    for x, L in zip(xs, (rd, torch)):
        f(L, x).backward()
    if torch:
        assert_close(xs[0].grad.numpy(), xs[1].grad.numpy(), 1e-12, 1e-14, "diamond")


def test_backward_with_inputs_only_fills_those():
    a, b = rd.tensor(1.0, requires_grad=True), rd.tensor(2.0, requires_grad=True)
    (a * b).backward(inputs=[a])
    assert a.grad.item() == 2.0 and b.grad is None


def test_leaf_not_requiring_grad_gets_nothing():
    a, c = rd.tensor([1.0, 2.0], requires_grad=True), rd.tensor([5.0, 6.0])
    (a * c).sum().backward()
    assert c.grad is None and a.grad.tolist() == [5.0, 6.0]


def test_gradients_of_different_leaves_do_not_share_memory():
    a, b = rd.ones(3, requires_grad=True), rd.ones(3, requires_grad=True)
    w = rd.tensor([1.0, 2.0, 3.0])
    (a + b).backward(w)
    a.grad.mul_(2)                           # in place on one gradient (as torch users do, e.g. clipping)
    assert b.grad.tolist() == [1.0, 2.0, 3.0] and w.tolist() == [1.0, 2.0, 3.0]


# --------------------------------------------------------------------------- retain_grad
def test_retain_grad_keeps_an_intermediates_gradient():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    k = x * 5                                # not retained
    (h * h + k).sum().backward()
    assert h.retains_grad and not k.retains_grad
    assert h.grad.tolist() == [4.0, 8.0]     # d/dh sum(h^2) = 2h
    assert k.grad is None
    assert x.grad.tolist() == [8.0 + 5.0, 16.0 + 5.0]
    with pytest.raises(RuntimeError, match="retain_grad: this tensor does not require grad"):
        rd.ones(2).retain_grad()


# --------------------------------------------------------------------------- rd.grad
def test_grad_of_inputs_and_intermediates_without_touching_dot_grad():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    w = rd.tensor([3.0, -1.0], requires_grad=True)
    h = x * w                                # intermediate
    e = (h * h).sum()
    gx, gh, gw = rd.grad(e, [x, h, w])
    assert gh.tolist() == [6.0, -4.0]        # 2h
    assert gx.tolist() == [18.0, 4.0]        # 2h * w
    assert gw.tolist() == [6.0, -8.0]        # 2h * x
    assert x.grad is None and w.grad is None and h.grad is None
    assert not gx.requires_grad


def test_grad_single_tensor_and_grad_outputs():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    (g,) = rd.grad(y, x, grad_outputs=rd.tensor([1.0, 0.5]))
    assert g.tolist() == [2.0, 2.0]
    y1, y2 = x * 2, x.sum() * 3              # several outputs: gradients add up
    (g,) = rd.grad([y1.sum(), y2], [x])
    assert g.tolist() == [5.0, 5.0]


def test_grad_allow_unused():
    x, z = rd.tensor(1.0, requires_grad=True), rd.tensor(2.0, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"grad: inputs\[1\] was not used to compute the outputs; "
                                           r"pass allow_unused=True"):
        rd.grad(x * 2, [x, z])
    gx, gz = rd.grad(x * 2, [x, z], allow_unused=True)
    assert gx.item() == 2.0 and gz is None
    with pytest.raises(RuntimeError, match=r"grad: inputs\[0\] does not require grad"):
        rd.grad(x * 2, [rd.tensor(1.0)])


def test_grad_retain_graph():
    x = rd.tensor(3.0, requires_grad=True)
    y = x * x
    assert rd.grad(y, x, retain_graph=True)[0].item() == 6.0
    assert rd.grad(y, x)[0].item() == 6.0    # second call allowed by retain_graph above; this one frees it
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        rd.grad(y, x)


@needs_torch
def test_grad_matches_torch_for_intermediates():
    x0 = np.random.default_rng(0).normal(size=(3, 4))
    res = []
    for L in (rd, torch):
        x = L.tensor(x0, requires_grad=True)
        h = (x @ L.tensor(x0.T)).tanh()
        s = h.softmax(-1)
        e = (s * L.tensor(np.arange(9.0).reshape(3, 3))).sum()
        g = (rd.grad if L is rd else torch.autograd.grad)(e, [h, s, x])
        res.append([t.detach().numpy() if L is torch else t.numpy() for t in g])
    for i, (a, b) in enumerate(zip(*res)):
        assert_close(a, b, 1e-12, 1e-14, f"grad of input {i}")


# --------------------------------------------------------------------------- grad modes
def test_no_grad_context():
    x = rd.tensor([1.0], requires_grad=True)
    with rd.no_grad():
        y = x * 2
        assert not rd.is_grad_enabled()
    assert rd.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_enable_grad_inside_no_grad_and_decorators():
    x = rd.tensor([1.0], requires_grad=True)

    @rd.no_grad()
    def infer(t):
        return t * 2

    @rd.enable_grad()
    def train(t):
        return t * 2

    assert not infer(x).requires_grad
    with rd.no_grad():
        assert train(x).requires_grad
        with rd.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad
    assert infer.__name__ == "infer"


def test_grad_mode_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with rd.no_grad():
            1 / 0
    assert rd.is_grad_enabled()
    with rd.set_grad_enabled(False):
        assert not rd.is_grad_enabled()
    assert rd.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    (y.detach() * x).sum().backward()        # d/dx (c * x) with c = x*x held constant
    assert x.grad.tolist() == [1.0, 4.0]


# --------------------------------------------------------------------------- graph freeing
def test_second_backward_raises_mentioning_retain_graph():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    e = (x.exp() * x).sum()
    e.backward()
    with pytest.raises(RuntimeError, match="already freed.*retain_graph=True"):
        e.backward()


def test_retain_graph_allows_a_second_backward():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    e = (x * x).sum()
    e.backward(retain_graph=True)
    e.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_backward_frees_saved_arrays():
    x = rd.tensor(np.ones((100, 100)), requires_grad=True)
    h = x.exp()                              # Exp saves nothing but its inputs; the chain holds h
    ref = weakref.ref(h)
    e = (h * 2).sum()
    del h
    assert ref() is not None                 # alive: the graph of e holds it
    e.backward()
    assert ref() is None                     # freed by backward although e is still alive


# --------------------------------------------------------------------------- higher order
def test_second_and_third_derivative_of_a_cube():
    x = rd.tensor(2.0, requires_grad=True)
    y = x ** 3
    (g,) = rd.grad(y, x, create_graph=True)           # 3x^2 = 12
    (h,) = rd.grad(g, x, create_graph=True)           # 6x = 12
    (t,) = rd.grad(h, x)                              # 6
    assert (g.item(), h.item(), t.item()) == (12.0, 12.0, 6.0)
    assert g.requires_grad and h.requires_grad


def test_backward_create_graph_then_backward_through_the_gradient():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    (x.sin() * x).sum().backward(create_graph=True)    # x.grad = sin x + x cos x, recorded
    g = x.grad
    x.grad = None
    g.sum().backward()                                 # d/dx = 2 cos x - x sin x
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.cos([1.0, 2.0]) - np.array([1.0, 2.0]) * np.sin([1.0, 2.0]),
                               rtol=1e-6)


SECOND_ORDER = ["mul", "div", "pow_tensor", "exp", "log", "sqrt", "tanh", "sigmoid", "gelu", "gelu_tanh", "silu",
                "softplus", "elu", "maximum", "where_bcast", "matmul", "matmul_bcast_batch", "matmul_1d_2d", "sum_dims",
                "mean_dims_keepdim", "prod_dim", "amax_dim", "max_dim", "var_correction", "std", "logsumexp",
                "norm_dim", "norm_p3", "cumsum", "softmax", "log_softmax_dim1", "reshape", "permute", "expand",
                "repeat", "flip", "roll_dims", "cat", "stack", "pad_reflect", "gather", "scatter_add", "masked_fill",
                "tril", "getitem_slice_step", "getitem_bool_mask", "getitem_int_array_repeated", "mlp_like"]
BY_NAME = {c[0]: c for c in CASES}


def test_second_order_names_exist():
    assert set(SECOND_ORDER) <= set(BY_NAME)


@needs_torch
@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivatives_vs_torch(name):
    _, fn, shapes = BY_NAME[name]
    xs = inputs(name, shapes)
    first, second = second_grads(fn, xs, rd)
    ref_first, ref_second = second_grads(fn, xs, torch)
    for i in range(len(xs)):
        assert_close(first[i], ref_first[i], 1e-7, 1e-10, f"{name}: create_graph gradient of input {i}")
        assert_close(second[i], ref_second[i], 1e-7, 1e-10, f"{name}: second derivative for input {i}")


@needs_torch
@pytest.mark.parametrize("values, fn", [
    ([[2.0, 0.0, 3.0], [1.0, 0.0, 0.0]], lambda a: a.prod(1)),        # one zero, two zeros in a row
    ([[2.0, 0.0, 3.0], [1.0, -2.0, 0.5]], lambda a: a.prod()),
    ([[[0.0, 1.5], [2.0, 0.0]]], lambda a: a.prod(-1, keepdim=True)),
    ([[0.0, -1.0], [3.0, 4.0]], lambda a: a.abs().sqrt().prod(0)),
    (3.0, lambda a: a.prod()),
    ([[[0.0, 1.5], [2.0, 0.0], [1.0, 2.0]], [[3.0, 0.5], [0.0, 1.0], [2.0, 2.0]]],     # dims (0, 2): torch has no
     lambda a: a.permute(1, 0, 2).reshape(3, -1).prod(1) if is_torch(a) else a.prod((0, 2))),   # tuple dims for prod
])
def test_second_derivatives_of_prod_with_zeros(values, fn):
    """create_graph through prod must not divide by the zeros (y / x): it would give nan gradients."""
    xs = [np.asarray(values, dtype=np.float64)]
    with np.errstate(all="ignore"):
        first, second = second_grads(fn, xs, rd)
    ref_first, ref_second = second_grads(fn, xs, torch)
    assert_close(first[0], ref_first[0], 1e-12, 1e-14, "create_graph gradient")
    assert_close(second[0], ref_second[0], 1e-12, 1e-14, "second derivative")


@needs_torch
def test_full_hessian_of_a_small_network_vs_torch():
    rng = np.random.default_rng(1)
    w0, x0 = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))

    def hessian(L, grad):
        w = L.tensor(w0, requires_grad=True)
        e = ((L.tensor(x0) @ w).tanh().log_softmax(-1) * L.tensor(np.arange(8.0).reshape(4, 2))).sum()
        (g,) = grad(e, [w], create_graph=True)
        rows = [grad(g.reshape(-1)[i], [w], retain_graph=True)[0].reshape(-1) for i in range(6)]
        return np.stack([r.detach().numpy() if L is torch else r.numpy() for r in rows])

    ours, ref = hessian(rd, rd.grad), hessian(torch, torch.autograd.grad)
    assert_close(ours, ours.T, 1e-10, 1e-12, "hessian symmetry")
    assert_close(ours, ref, 1e-8, 1e-10, "hessian vs torch")


@needs_torch
def test_gradient_penalty_vs_torch():
    """|| d out / d x ||^2 as a loss term (as WGAN-GP), differentiated w.r.t. the weights."""
    rng = np.random.default_rng(2)
    w0, x0 = rng.normal(size=(3, 3)), rng.normal(size=(5, 3))
    grads = []
    for L, grad in ((rd, rd.grad), (torch, torch.autograd.grad)):
        w, x = L.tensor(w0, requires_grad=True), L.tensor(x0, requires_grad=True)
        out = (x @ w).sigmoid().sum()
        (gx,) = grad(out, [x], create_graph=True)
        ((gx * gx).sum(1).sqrt() - 1.0).square().mean().backward()
        grads.append(w.grad.detach().numpy() if L is torch else w.grad.numpy())
    assert_close(grads[0], grads[1], 1e-8, 1e-10, "gradient penalty d/dw")


# --------------------------------------------------------------------------- deep graphs and memory
def test_chain_of_100000_ops_backpropagates_and_frees():
    x = rd.tensor(1.0, dtype=rd.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    middle = weakref.ref(y.grad_fn.inputs[0])        # a tensor deep inside the chain
    assert sys.getrecursionlimit() < 100_000         # so a recursive walk would have failed
    y.backward()
    assert x.grad.item() == pytest.approx(1.00001 ** 100_000, rel=1e-9)
    assert middle() is None                          # backward freed the graph, though y is still alive


def test_deleting_a_deep_graph_without_backward():
    x = rd.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    first = weakref.ref(y.grad_fn)
    del y                                            # CPython's trashcan keeps deallocation from recursing
    assert first() is None


def _training_step(refs):
    """Linear -> tanh -> linear -> log_softmax loss, backward, SGD update; records weakrefs to graph objects."""
    rng = np.random.default_rng(0)
    w1 = rd.tensor(rng.normal(size=(4, 8)), requires_grad=True)
    w2 = rd.tensor(rng.normal(size=(8, 3)), requires_grad=True)
    x, target = rd.tensor(rng.normal(size=(5, 4))), rd.tensor([0, 2, 1, 1, 0])
    h = (x @ w1).tanh()
    h.retain_grad()
    logp = (h @ w2).log_softmax(-1)
    loss = -logp[rd.arange(5), target].mean()
    for t in (h, logp, loss):
        refs += [weakref.ref(t), weakref.ref(t.grad_fn)]
    loss.backward()
    with rd.no_grad():
        for p in (w1, w2):
            p.sub_(p.grad * 0.1)
            p.grad = None
    return loss.item()


def test_no_reference_cycles_after_a_training_step():
    gc.collect()
    gc.disable()
    try:
        refs = []
        _training_step(refs)
        alive = [r() for r in refs if r() is not None]
        assert not alive, f"still alive without the cycle collector: {alive}"
        assert gc.collect() == 0, "the training step left reference cycles for the garbage collector"
    finally:
        gc.enable()


def test_no_reference_cycles_with_retain_graph_and_grad():
    gc.collect()
    gc.disable()
    try:
        x = rd.tensor([1.0, 2.0], requires_grad=True)
        y = (x.exp() * x).sum()
        ref = weakref.ref(y.grad_fn)
        rd.grad(y, [x], retain_graph=True)
        y.backward()
        del y
        assert ref() is None and gc.collect() == 0
    finally:
        gc.enable()


# --------------------------------------------------------------------------- the operators' fast path
@pytest.mark.parametrize("op", ["add", "sub", "mul"])
@pytest.mark.parametrize("shapes", [((), ()), ((), (3,)), ((2, 3), ()), ((2, 1), (1, 3)), ((4,), (4,))])
def test_operators_fast_path_equals_apply(op, shapes):
    """a + b (Function.apply2, which reads 0-d arrays as NumPy scalars) == the generic Function.apply."""
    from redes.ops import elementwise as ew
    cls = {"add": ew.AddOp, "sub": ew.Sub, "mul": ew.Mul}[op]
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
        results = []
        for call in (cls.apply2, cls.apply):
            a, b = (rd.tensor(v, requires_grad=True) for v in arrays)
            y = call(a, b)
            (y * y).sum().backward()
            results.append((y, a.grad, b.grad))
        for fast, generic in zip(*results):
            assert fast.dtype == generic.dtype and fast.shape == generic.shape
            np.testing.assert_array_equal(fast.numpy(), generic.numpy())


def test_operators_fast_path_with_numbers_and_without_grad():
    x = rd.tensor(2.0, requires_grad=True)
    y = 3.0 * x - 1                           # Python numbers on either side
    assert y.requires_grad and y.dtype == rd.float32 and y.item() == 5.0
    y.backward()
    assert x.grad.item() == 3.0
    with rd.no_grad():
        z = x * x
    assert not z.requires_grad and z.grad_fn is None
    c = rd.tensor(2.0) + rd.tensor(1.0)        # no operand needs a gradient: no node
    assert c.grad_fn is None and c.item() == 3.0


def test_scalar_leaf_gradients_are_their_own():
    """Leaves reached by NumPy-scalar gradients (the numbers scale) accumulate like any other leaf."""
    w, x = rd.tensor(0.5, requires_grad=True), rd.tensor(1.5, requires_grad=True)
    for _ in range(2):
        (w * x + w).backward()
    assert w.grad.item() == pytest.approx(2 * 2.5) and x.grad.item() == pytest.approx(2 * 0.5)
    w.grad.zero_()                            # in place: touches only w.grad
    assert w.grad.item() == 0.0 and x.grad.item() == pytest.approx(1.0)


def test_an_error_in_backward_leaves_no_pending_gradient():
    """Gradients wait on the nodes while backward walks; a walk stopped by an error must clear them."""
    from redes.autograd import Function

    class Boom(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, m, dy, y, x):
            raise ValueError("boom")

    x = rd.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    e = (Boom.apply(h) + h).sum()
    with pytest.raises(ValueError, match="boom"):
        e.backward(retain_graph=True)
    assert h.grad_fn.pending is None          # the sum reached h before the error, and was cleared
    (h * 3.0).sum().backward()                # a later walk through h sees only its own gradient
    assert x.grad.tolist() == [6.0, 6.0]


def test_a_scalar_leafs_gradient_is_a_complete_tensor():
    """backward builds a 0-D leaf's first gradient inline (the numbers scale's hot path): every slot that
    Tensor._wrap sets must be set there too."""
    from redes.tensor import Tensor
    w = rd.tensor(0.5, requires_grad=True)
    (w * rd.tensor(3.0) + w).backward()
    made, wrapped = w.grad, Tensor._wrap(np.float32(4.0))
    for name in Tensor.__slots__:
        if name != "__weakref__":
            assert getattr(made, name) == getattr(wrapped, name) or name == "data", name
    assert made.item() == 4.0 and made.dtype == w.dtype and made.grad_fn is None and not made.requires_grad


def test_a_user_function_returning_a_wrong_shaped_gradient_is_named():
    """Backward checks the gradient shapes of ops defined outside redes (built-in ones are checked by the suite)."""
    from redes.autograd import Function

    class Squash(Function):
        def forward(self, x):
            return x.sum(axis=0)

        def backward(self, m, dy, y, x):
            return (dy,)                        # the bug: not broadcast back to x's shape

    assert Squash._check_shapes and not rd.ops.elementwise.AddOp._check_shapes
    x = rd.tensor(np.ones((3, 2)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"squash backward gave a gradient of shape \(2,\) for an input of shape \(3, 2\)"):
        Squash.apply(x).sum().backward()


def test_detect_anomaly_checks_gradient_shapes_of_built_in_ops_too(monkeypatch):
    from redes.ops import elementwise
    monkeypatch.setattr(elementwise.Mul, "backward", lambda self, m, dz, z, a, b: (dz.reshape(-1), None))
    x = rd.tensor(np.ones((2, 2)), requires_grad=True)
    with rd.detect_anomaly(), pytest.raises(RuntimeError, match="mul backward gave a gradient of shape"):
        (x * 2.0).sum().backward()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, axis, keepdims", [((64, 7), 0, False), ((64, 7), (0,), True), ((4, 5, 6), (0, 1), False),
                                                   ((4, 5, 6), (0, 1), True), ((4, 5, 6), (0,), False),
                                                   ((4, 5, 6), (0, 2), False), ((4, 5, 6), 1, True), ((3, 0, 2), (0, 1), False)])
def test_backward_sums_over_leading_axes_equal_add_reduce(shape, axis, keepdims, dtype):
    """ArrayMath.sum sends leading-axis sums of contiguous float arrays to BLAS (ones @ a): same values and shapes."""
    from redes.autograd import ArrayMath
    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    for arr in (a, np.asfortranarray(a)):                        # contiguous (GEMV) and not (add.reduce)
        got, want = ArrayMath.sum(arr, axis, keepdims), np.add.reduce(arr.astype(np.float64), axis=axis, keepdims=keepdims)
        assert got.shape == want.shape and got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=0, atol=64 * np.finfo(dtype).eps * max(1, a.shape[0]))


# --------------------------------------------------------------------------- one canonical array per tensor
def test_a_0d_result_holds_a_0d_array_so_an_optimizer_step_updates_it():
    """Issue 13: `(rd.tensor(2.) * 1)` held a NumPy scalar; SGD's in-place update then changed a copy."""
    x = (rd.tensor(2.0) * 1).detach().requires_grad_()
    assert type(x.array) is np.ndarray and x.array.shape == ()
    opt = rd.optim.SGD([x], lr=0.1)
    (x * x).backward()                                  # gradient 2x = 4
    assert x.grad.item() == 4.0 and type(x.grad.array) is np.ndarray
    opt.step()
    assert x.item() == pytest.approx(2.0 - 0.1 * 4.0)


def test_gradcheck_on_a_0d_op_result_sees_the_real_gradient():
    """Issue 13: on such an input gradcheck perturbed a copy and saw a numerical gradient of 0, so an op whose
    backward wrongly returns 0 passed. Now the numerical gradient is the real one (3 x^2, times gradcheck's weight)."""
    class WrongCube(rd.Function):
        def forward(self, x):
            return x ** 3

        def backward(self, m, dy, y, x):
            return (dy * 0,)

    x = (rd.tensor(1.5, dtype=rd.float64) * 1).detach().requires_grad_()
    assert rd.gradcheck(lambda t: t ** 3, [x])
    with pytest.raises(rd.testing.GradcheckError, match=r"analytical 0\.0 vs numerical [1-9]"):
        rd.gradcheck(WrongCube.apply, [x])


def test_every_0d_tensor_the_engine_makes_holds_an_array():
    a, b = rd.tensor(2.0, requires_grad=True), rd.tensor(3.0)
    outs = [a * b, a + 1, 2 - a, a / b, a ** 2, a.exp(), a.relu(), (a * b).sum(), rd.tensor([1.0, 2.0])[0]]
    assert all(type(t.array) is np.ndarray for t in outs)
    (a * b * a).backward()
    assert type(a.grad.array) is np.ndarray and a.grad.item() == 12.0


# --------------------------------------------------------------------------- per-thread modes
def test_no_grad_in_one_thread_leaves_gradients_on_in_another():
    import threading
    inside, go_on, seen = threading.Event(), threading.Event(), {}

    def worker():
        with rd.no_grad():
            inside.set()
            go_on.wait(5)
            seen["worker"] = (rd.tensor(1.0, requires_grad=True) * 2).requires_grad

    t = threading.Thread(target=worker)
    t.start()
    assert inside.wait(5)
    assert rd.is_grad_enabled()                         # the other thread's no_grad does not reach here
    assert (rd.tensor(1.0, requires_grad=True) * 2).requires_grad
    go_on.set()
    t.join(5)
    assert seen["worker"] is False                      # ...and holds in its own thread


def test_anomaly_mode_and_a_new_thread_start_from_the_defaults():
    import threading
    seen = {}

    def worker():
        seen["grad"], seen["anomaly"] = rd.is_grad_enabled(), rd.autograd.modes().anomaly

    with rd.no_grad(), rd.detect_anomaly():
        t = threading.Thread(target=worker)
        t.start()
        t.join(5)
        assert rd.autograd.modes().anomaly and not rd.is_grad_enabled()
    assert seen == {"grad": True, "anomaly": False}


# --------------------------------------------------------------------------- the graph after backward
def test_backward_keeps_the_graph_structure_and_frees_the_values():
    """As torch: grad_fn and next_functions survive backward; the saved arrays and intermediates do not."""
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h)
    y = (h * 3).sum()
    exp_node, mul_node = h.grad_fn, y.grad_fn.next_functions[0]
    del h
    y.backward()
    assert ref() is None                                # the intermediate went with backward
    assert y.grad_fn.op == "sum" and y.grad_fn.next_functions == (mul_node,)
    assert mul_node.op == "mul" and mul_node.next_functions == (exp_node, None)
    assert exp_node.next_functions == (None,) and exp_node.inputs == (x,)     # a leaf stays
    assert "freed" in repr(y.grad_fn)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
