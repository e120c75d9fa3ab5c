"""On a CUDA GPU through CuPy: every op of the table, forward and input gradients vs torch (float64), a set
of layers vs torch, and a training run equal to the CPU's within float tolerance."""
import numpy as np
import pytest

import redes as rd
from tests.devices.test_op_table_on_twin import device_grads
from tests.ops.cases import CASES
from tests.ops.helpers import assert_close, input_grads, inputs, torch


@pytest.mark.parametrize("name, fn, shapes", CASES, ids=[c[0] for c in CASES])
def test_op_on_cuda_vs_torch(name, fn, shapes):
    xs = inputs(name, shapes)
    outs, grads = device_grads(fn, xs, "cuda")
    ref_outs, ref_grads = input_grads(fn, xs, torch)
    for k, (o, r) in enumerate(zip(outs, ref_outs)):
        assert_close(o, r, 1e-7, 1e-10, f"{name}: output {k} on cuda vs torch")
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        assert_close(g, r, 1e-7, 1e-10, f"{name}: gradient of input {i} on cuda vs torch")


@pytest.mark.parametrize("make, shape", [
    (lambda lib: lib.nn.Linear(8, 5), (4, 8)),
    (lambda lib: lib.nn.Conv2d(3, 6, 3, stride=2, padding=1), (2, 3, 9, 9)),
    (lambda lib: lib.nn.BatchNorm2d(3), (4, 3, 5, 5)),
    (lambda lib: lib.nn.LayerNorm(8), (3, 4, 8)),
    (lambda lib: lib.nn.MaxPool2d(2), (2, 3, 8, 8)),
    (lambda lib: lib.nn.LSTM(6, 7, batch_first=True), (3, 5, 6)),
    (lambda lib: lib.nn.GRU(6, 7, batch_first=True), (3, 5, 6)),
    (lambda lib: lib.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True), (2, 5, 8)),
], ids=["linear", "conv2d", "batchnorm2d", "layernorm", "maxpool2d", "lstm", "gru", "transformer"])
def test_layer_on_cuda_vs_torch(make, shape, monkeypatch):
    from tests.nn import helpers
    monkeypatch.setattr(helpers, "DEVICE", "cuda")
    helpers.compare_with_torch(make(rd), make(torch), shape, np.float64)


def test_training_on_cuda_equals_cpu():
    from tests.devices.test_devices import _net
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 1, 8, 8)).astype(np.float32), rng.integers(0, 3, 40)
    params = {}
    for device in ("cpu", "cuda"):
        rd.manual_seed(0)
        model = _net()
        model[5].p = 0.0                    # the GPU's random stream differs from the CPU's: no dropout here
        model.to(device)
        rd.fit(model, (x, y), loss="cross_entropy", optimizer="adam", lr=0.01, epochs=2, batch_size=16, seed=0,
               verbose=False)
        params[device] = [p.cpu().numpy() for p in model.parameters()]
    for a, b in zip(params["cpu"], params["cuda"]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)
