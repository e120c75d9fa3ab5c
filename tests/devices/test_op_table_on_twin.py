"""The op table (tests/ops/cases.py) on the twin device: every op's forward and input gradients computed on
TwinArrays (a distinct array type that NumPy refuses) equal the CPU's, and stay on the device.

An op that converts to NumPy, draws on the host or mixes devices fails here, as it would on CuPy."""
import numpy as np
import pytest

import redes as rd

from tests.ops.cases import CASES
from tests.ops.helpers import as_tuple, input_grads, inputs, weights

IDS = [c[0] for c in CASES]


def device_grads(fn, xs, device="twin"):
    """input_grads on another device: leaves there, constants made inside fn there too (the default device)."""
    array_type = rd.backend.get(device).array_type
    with rd.device(device):
        ins = [rd.tensor(x).requires_grad_() for x in xs]
        outs = as_tuple(fn(*ins))
        total = None
        for k, o in enumerate(outs):
            assert type(o.array) is array_type and o.device == device, f"output {k} left the device: {o.device}"
            if o.requires_grad:
                term = (o * rd.tensor(weights(o.shape, k, o.dtype))).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
    grads = []
    for t, x in zip(ins, xs):
        if t.grad is None:
            grads.append(np.zeros_like(x))
        else:
            assert type(t.grad.array) is array_type, "a gradient left the device"
            grads.append(t.grad.cpu().numpy())
    return [o.detach().cpu().numpy() for o in outs], grads


@pytest.mark.parametrize("name, fn, shapes", CASES, ids=IDS)
def test_op_on_twin_equals_cpu(name, fn, shapes):
    xs = inputs(name, shapes)
    outs, grads = device_grads(fn, xs)
    ref_outs, ref_grads = input_grads(fn, xs, rd)
    assert len(outs) == len(ref_outs)
    for k, (o, r) in enumerate(zip(outs, ref_outs)):
        assert o.dtype == r.dtype and o.shape == r.shape, f"{name}: output {k}"
        np.testing.assert_array_equal(o, r, err_msg=f"{name}: output {k} on twin vs cpu")
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        np.testing.assert_array_equal(g, r, err_msg=f"{name}: gradient of input {i} on twin vs cpu")
