"""Devices per tensor (issue 17): each tensor knows its device, factories take device=, .to/.cpu move with a
gradient, mixing devices in one op names the op and both devices, random draws happen on the device, and
Module.to, optimizers, fit and the DataLoader train on the twin device exactly as on the CPU."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from redes import backend
from redes.twin import TwinArray


def test_each_tensor_knows_its_device():
    a, b = rd.zeros(2), rd.zeros(2, device="twin")
    assert a.device == "cpu" and b.device == rd.device("twin") and type(b.array) is TwinArray
    assert a.device == "cpu"            # a tensor made before the second device keeps reporting its own
    for make in (lambda d: rd.ones(2, 3, device=d), lambda d: rd.full((2,), 1.5, device=d),
                 lambda d: rd.arange(4, device=d), lambda d: rd.eye(3, device=d), lambda d: rd.linspace(0, 1, 5, device=d),
                 lambda d: rd.randn(3, device=d), lambda d: rd.rand(3, device=d), lambda d: rd.randint(0, 5, (4,), device=d),
                 lambda d: rd.randperm(5, device=d), lambda d: rd.tensor([1.0, 2.0], device=d),
                 lambda d: rd.empty(2, device=d)):
        assert make("twin").device == "twin" and make("cpu").device == "cpu"
    assert rd.zeros_like(b).device == "twin" and rd.randn_like(b).device == "twin"
    assert rd.zeros_like(b, device="cpu").device == "cpu" and b.new_zeros(3).device == "twin"
    assert not b.is_cuda and b.get_device() == 0 and a.get_device() == -1 and not b.is_cpu


def test_default_device_as_torch():
    with rd.device("twin"):
        assert rd.zeros(2).device == "twin" and rd.tensor([1.0]).device == "twin"
        assert rd.get_default_device() == "twin"
    assert rd.zeros(2).device == "cpu"
    rd.set_default_device("twin")
    try:
        assert rd.nn.Linear(2, 3).weight.device == "twin"        # parameters are created there too
    finally:
        rd.set_default_device("cpu")


def test_to_moves_with_a_gradient_and_cpu_copies_back():
    x = rd.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.to("twin")
    assert y.device == "twin" and y.grad_fn.op == "to_device"
    (y * y).sum().backward()
    assert x.grad.device == "cpu" and x.grad.tolist() == [2.0, -4.0, 6.0]
    z = y.detach().cpu()
    assert type(z.array) is np.ndarray and z.tolist() == [1.0, -2.0, 3.0]
    assert y.to("twin") is y and y.to("twin", rd.float64).dtype == np.float64
    with pytest.raises(TypeError, match="can't convert twin device type tensor to numpy. Use Tensor.cpu()"):
        y.numpy()
    assert y.numpy(force=True).tolist() == [1.0, -2.0, 3.0] and y.tolist() == [1.0, -2.0, 3.0]


@pytest.mark.parametrize("op, call", [
    ("add", lambda a, b: a + b), ("matmul", lambda a, b: a @ b.reshape(3, 1)),
    ("cat", lambda a, b: rd.cat([a, b])), ("linear", lambda a, b: F.linear(a.reshape(1, 3), b.reshape(1, 3))),
    ("where", lambda a, b: rd.where(a > 0, a, b))])
def test_mixing_devices_names_the_op_and_both_devices(op, call):
    a, b = rd.randn(3, device="twin"), rd.randn(3)
    with pytest.raises(RuntimeError, match=r"expected all tensors to be on the same device, but found at least two "
                                           r"devices, (twin and cpu|cpu and twin)") as e:
        call(a, b)
    assert str(e.value).split(":")[0] in (op, "gt", "mm", "addmm", "mul")       # the op that saw both


def test_twin_refuses_numpy_as_cupy_does():
    t = rd.randn(3, device="twin").array
    for leak in (lambda: np.exp(t), lambda: np.asarray(t), lambda: np.concatenate([t, t]), lambda: t + np.ones(3)):
        with pytest.raises(TypeError):
            leak()
    assert isinstance(t.sum(), TwinArray) and t.sum().shape == ()        # reductions stay 0-d arrays, as CuPy


def test_random_draws_happen_on_the_device_with_the_seeded_stream():
    rd.manual_seed(3)
    on_twin = rd.randn(4, 5, device="twin")
    after_twin = rd.randn(3)                 # the twin draw did not consume the CPU stream
    rd.manual_seed(3)
    on_cpu = rd.randn(4, 5)
    rd.manual_seed(3)
    np.testing.assert_array_equal(after_twin.numpy(), rd.randn(3).numpy())
    np.testing.assert_array_equal(on_twin.cpu().numpy(), on_cpu.numpy())
    for drop in (lambda x: F.dropout(x, 0.5), lambda x: rd.nn.Dropout(0.5)(x), lambda x: F.alpha_dropout(x, 0.5, True),
                 lambda x: F.scaled_dot_product_attention(x.reshape(1, 10, 100), x.reshape(1, 10, 100),
                                                          x.reshape(1, 10, 100), dropout_p=0.5)):
        rd.manual_seed(5)
        d_twin = drop(rd.ones(1000, device="twin"))
        cpu_after = rd.rand(3)                     # the CPU stream was not consumed by the twin draw
        rd.manual_seed(5)
        d_cpu = drop(rd.ones(1000))                # the twin stream restarts from the seed as the CPU one does
        np.testing.assert_array_equal(cpu_after.numpy(), _first_rand(5))
        assert d_twin.device == "twin"
        np.testing.assert_array_equal(d_twin.cpu().numpy(), d_cpu.numpy())


def _first_rand(seed):
    rd.manual_seed(seed)
    return rd.rand(3).numpy()


def _net(dropout=0.0):
    """A small CNN (dropout 0 by default: each device draws from its own stream, so masks differ by device)."""
    return rd.nn.Sequential(rd.nn.Conv2d(1, 4, 3, padding=1), rd.nn.BatchNorm2d(4), rd.nn.ReLU(), rd.nn.MaxPool2d(2),
                            rd.nn.Flatten(), rd.nn.Dropout(dropout), rd.nn.Linear(4 * 4 * 4, 3))


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "rmsprop"])
def test_fit_on_twin_equals_fit_on_cpu(optimizer):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 40)
    results = {}
    # the CPU reference runs the NumPy code that the twin device runs (the compiled float32 kernels round
    # differently in the last bit): the two runs must then agree exactly
    was = backend.set_kernels(False)
    try:
        for device in ("cpu", "twin"):
            results[device] = _fit_on(device, optimizer, x, y)
    finally:
        backend.set_kernels(was)
    for a, b in zip(results["cpu"][0], results["twin"][0]):
        np.testing.assert_array_equal(a, b)
    assert results["cpu"][1] == results["twin"][1]
    np.testing.assert_array_equal(results["cpu"][2], results["twin"][2])


def _fit_on(device, optimizer, x, y):
    """Parameters, losses and predictions of 2 epochs of rd.fit with the model on `device`."""
    rd.manual_seed(0)
    model = _net().to(device)
    params = list(model.parameters())
    history = rd.fit(model, (x, y), loss="cross_entropy", optimizer=optimizer, lr=0.01, epochs=2, batch_size=16,
                     seed=0, verbose=False, metrics=["accuracy"])
    assert all(p is q for p, q in zip(params, model.parameters()))     # moved in place: optimizers still hold them
    assert all(p.device == device for p in model.parameters()) and model[1].running_mean.device == device
    preds = rd.predict(model, x[:5])
    return [p.cpu().numpy() for p in model.parameters()], history.history["loss"], preds


def test_a_torch_style_loop_on_twin_with_every_optimizer_state_on_the_device():
    rd.manual_seed(1)
    model = rd.nn.LSTM(3, 5, batch_first=True).to("twin")
    head = rd.nn.Linear(5, 1).to("twin")
    opt = rd.optim.Adam(list(model.parameters()) + list(head.parameters()), lr=1e-2)
    loader = rd.data.DataLoader(rd.data.TensorDataset(rd.randn(12, 4, 3), rd.randn(12, 1)), batch_size=4)
    for xb, yb in loader:
        xb, yb = xb.to("twin"), yb.to("twin")
        out, _ = model(xb)
        loss = F.mse_loss(head(out[:, -1]), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(type(v.array) is TwinArray for s in opt.state.values() for v in s.values() if hasattr(v, "array"))
    sd = head.state_dict()
    head_cpu = rd.nn.Linear(5, 1)
    head_cpu.load_state_dict(sd)                  # a twin state_dict loads into a CPU module (copied across)
    np.testing.assert_array_equal(head_cpu.weight.numpy(), head.weight.cpu().numpy())


def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="zeros: no CUDA here"):
        rd.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="device 'mps' is not available"):
        rd.zeros(2).to("mps")


def test_back_to_cpu_only_mode():
    rd.zeros(1, device="twin")
    assert backend.multi
    backend.cpu_only()
    assert not backend.multi and backend.xp is np and rd.zeros(2).device == "cpu"
    assert rd.Function.run is rd.autograd._plain_run


def test_leaves_never_share_a_gradient_buffer_on_a_device():
    """x + y hands one dy to both leaves: each keeps its own copy, so an in-place change of one .grad touches no
    other (the walk used to treat any non-NumPy gradient as an immutable scalar)."""
    x, y = (rd.zeros(3, device="twin", requires_grad=True) for _ in range(2))
    (x + y).sum().backward()
    x.grad.add_(1.0)
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and y.grad.tolist() == [1.0, 1.0, 1.0]
    assert x.grad.device == y.grad.device == "twin"


def test_layers_take_device_as_torch():
    for layer in (rd.nn.Linear(3, 2, device="twin"), rd.nn.Conv2d(1, 2, 3, device="twin"),
                  rd.nn.LSTM(3, 4, device="twin"), rd.nn.BatchNorm1d(3, device="twin"),
                  rd.nn.Embedding(5, 2, device="twin"), rd.nn.MultiheadAttention(4, 2, device="twin")):
        assert {t.device for t in list(layer.parameters()) + list(layer.buffers())} == {rd.device("twin")}
    with pytest.raises(RuntimeError, match="no CUDA here"):
        rd.nn.Linear(3, 2, device="cuda")


def test_ops_in_threads_keep_their_own_device():
    """The device an op runs on is per thread (a ContextVar): a thread computing on the CPU while another computes
    on twin sees only its own arrays."""
    import threading
    errors = []

    def work(device):
        try:
            for _ in range(200):
                a = rd.randn(8, 8, device=device, requires_grad=True)
                (a @ a).relu().sum().backward()
                assert a.grad.device == device
        except Exception as exc:        # noqa: BLE001
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(d,)) for d in ("cpu", "twin", "cpu", "twin")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_journeys_with_a_model_on_twin(tmp_path):
    """Saving, loading, a checkpoint, the summary, the drawing after backward and the ONNX export of a model
    that lives on another device: host copies where a file needs them, the model stays on its device."""
    onnxruntime = pytest.importorskip("onnxruntime")
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(3, 4), rd.nn.ReLU(), rd.nn.Linear(4, 2)).to("twin")
    x = rd.randn(5, 3, device="twin")
    expected = model(x).detach().cpu().numpy()
    rd.save(model.state_dict(), tmp_path / "m.safetensors")
    fresh = rd.nn.Sequential(rd.nn.Linear(3, 4), rd.nn.ReLU(), rd.nn.Linear(4, 2)).to("twin")
    fresh.load_state_dict(rd.load(tmp_path / "m.safetensors"))
    np.testing.assert_array_equal(fresh(x).detach().cpu().numpy(), expected)
    assert fresh[0].weight.device == "twin"
    opt = rd.optim.Adam(model.parameters())
    model(x).sum().backward()
    opt.step()
    rd.save_checkpoint(tmp_path / "c.ckpt", model=model, optimizer=opt)
    assert "Linear" in str(rd.summary(model, (2, 3)))
    loss = model(x).sum()
    loss.backward()
    assert rd.viz.graph(loss) is not None
    rd.onnx.export(model, x, tmp_path / "m.onnx", input_names=["x"])
    out = onnxruntime.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"x": x.cpu().numpy()})[0]
    np.testing.assert_allclose(out, model(x).detach().cpu().numpy(), rtol=1e-6, atol=1e-6)
    assert model[0].weight.device == "twin"


def test_compile_replays_on_twin_as_eager():
    """rd.compile's replay runs ops' code outside Function.run: it runs in the arguments' device, and its
    backward in the output's; the compiled steps give the eager steps' parameters bit for bit."""
    results = []
    for compiled in (False, True):
        rd.manual_seed(2)
        model = rd.nn.Sequential(rd.nn.Linear(6, 8), rd.nn.ReLU(), rd.nn.Linear(8, 3)).to("twin")
        opt = rd.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        step = lambda x, y: F.cross_entropy(model(x), y)        # noqa: E731
        loss_fn = rd.compile(step) if compiled else step
        for i in range(4):
            rng = np.random.default_rng(i)
            x = rd.tensor(rng.normal(size=(5, 6)).astype(np.float32), device="twin")
            y = rd.tensor(rng.integers(0, 3, 5), device="twin")
            opt.zero_grad()
            loss_fn(x, y).backward()
            opt.step()
        if compiled:
            assert loss_fn.eager_reason is None and loss_fn.plans
        results.append([p.cpu().numpy() for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_to_device_passes_central_differences():
    """to_device's gradient, there and back, against rd.gradcheck's central differences (float64)."""
    x = np.random.default_rng(4).normal(size=(3, 4))
    assert rd.gradcheck(lambda t: (t.to("twin").tanh() * 3.0).cpu(), [x])
