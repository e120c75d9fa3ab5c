"""Every op of the table in cases.py, every family (elementwise, reduce, movement, linalg, conv, pooling, norm,
embedding, loss, attention, recurrent): forward and input gradients vs torch (float64, float32, non-contiguous
inputs), central differences through rd.gradcheck, and second derivatives (create_graph=True) vs torch."""

import numpy as np
import pytest

import redes as rd

from .cases import CASES, FIRST_ORDER_ONLY
from .helpers import assert_close, input_grads, inputs, second_grads, torch

IDS = [c[0] for c in CASES]
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")


def test_case_names_are_unique():
    assert len(set(IDS)) == len(IDS)


# Engine ops the table does not reach, each with the test that covers it instead.
NOT_IN_TABLE = {"cast": "tests/test_tensor.py::test_to_dtype_is_differentiable",
                "to_device": "tests/devices/test_devices.py::test_to_moves_with_a_gradient_and_cpu_copies_back",
                "dropout": "tests/nn/test_dropout.py::test_dropout_op_finite_differences_and_torch_with_the_same_mask",
                "max_unpool": "tests/nn/test_pooling_nd.py::test_max_unpool (torch) and "
                              "::test_max_unpool_op_vs_central_differences"}


def test_the_table_covers_every_op_of_every_family(monkeypatch):
    """Run every case (forward, backward and, where differentiable, create_graph backward) recording which
    Function classes ran: every op's result goes through autograd._output, the one place a node is made."""
    from redes import autograd
    from redes.ops import OPS
    used, output = set(), autograd._output

    def recording_output(fn, *args):
        used.add(type(fn))
        return output(fn, *args)

    monkeypatch.setattr(autograd, "_output", recording_output)
    for name, fn, shapes in CASES:
        xs = inputs(name, shapes)
        if torch is not None and name not in FIRST_ORDER_ONLY:
            second_grads(fn, xs, rd)
        else:
            input_grads(fn, xs, rd)
    missing = sorted(n for n, cls in OPS.items() if cls not in used and n not in NOT_IN_TABLE)
    assert not missing, f"ops without a case in tests/ops/cases.py: {missing}"


def test_an_op_has_one_name():
    """The OPS key is the op's name everywhere (fn.op: errors, reprs, drawings); no op class is named like a layer."""
    from redes.ops import OPS
    assert all(cls.op == name for name, cls in OPS.items())
    assert len(set(OPS.values())) == len(OPS)
    clashes = sorted(cls.__name__ for cls in OPS.values() if hasattr(rd.nn, cls.__name__))
    assert not clashes, f"op classes named like layers (rename them <Name>Op): {clashes}"
    x = rd.tensor([[1.0, 2.0]], requires_grad=True)
    assert x.max(1).values.grad_fn.op == "max" and rd.nn.functional.leaky_relu(x).grad_fn.op == "leaky_relu"


@needs_torch
@pytest.mark.parametrize("layout", ["C", "F"])
@pytest.mark.parametrize("name, fn, shapes", CASES, ids=IDS)
def test_vs_torch_float64(name, fn, shapes, layout):
    xs = inputs(name, shapes)
    outs, grads = input_grads(fn, xs, rd, layout)
    ref_outs, ref_grads = input_grads(fn, xs, torch)
    assert len(outs) == len(ref_outs)
    for k, (o, r) in enumerate(zip(outs, ref_outs)):
        assert o.dtype == np.float64, f"{name}: output {k} is {o.dtype}"
        assert_close(o, r, 1e-7, 1e-10, f"{name}: output {k} vs torch")
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        assert g.dtype == np.float64, f"{name}: gradient of input {i} is {g.dtype}"
        assert_close(g, r, 1e-7, 1e-10, f"{name}: gradient of input {i} vs torch")


@needs_torch
@pytest.mark.parametrize("name, fn, shapes", CASES, ids=IDS)
def test_vs_torch_float32(name, fn, shapes):
    xs = inputs(name, shapes, np.float32)
    outs, grads = input_grads(fn, xs, rd)
    ref_outs, ref_grads = input_grads(fn, xs, torch)
    for k, (o, r) in enumerate(zip(outs, ref_outs)):
        assert o.dtype == np.float32, f"{name}: output {k} is {o.dtype}, expected float32 kept"
        assert_close(o, r, 1e-4, 1e-5, f"{name}: float32 output {k} vs torch")
    for i, (g, r) in enumerate(zip(grads, ref_grads)):
        assert g.dtype == np.float32, f"{name}: gradient of input {i} is {g.dtype}, expected float32"
        assert_close(g, r, 1e-4, 1e-5, f"{name}: float32 gradient of input {i} vs torch")


@pytest.mark.parametrize("name, fn, shapes", CASES, ids=IDS)
def test_gradcheck(name, fn, shapes):
    xs = [rd.tensor(x, requires_grad=True) for x in inputs(name, shapes)]
    assert rd.gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-3)


@needs_torch
@pytest.mark.parametrize("name, fn, shapes", CASES, ids=IDS)
def test_second_derivatives_vs_torch(name, fn, shapes):
    xs = inputs(name, shapes)
    if name in FIRST_ORDER_ONLY:            # a fused op without a differentiable backward: refused, never wrong
        with pytest.raises(RuntimeError, match="not differentiable in redes"):
            second_grads(fn, xs, rd)
        return
    first, second = second_grads(fn, xs, rd)
    ref_first, ref_second = second_grads(fn, xs, torch)
    for i, (g, r) in enumerate(zip(first, ref_first)):
        assert_close(g, r, 1e-7, 1e-10, f"{name}: gradient of input {i} (create_graph=True) vs torch")
    for i, (h, r) in enumerate(zip(second, ref_second)):
        assert_close(h, r, 1e-7, 1e-10, f"{name}: second derivative for input {i} vs torch")
