"""Every op of the table in cases.py: forward and input gradients vs torch (float64, float32, non-contiguous
inputs), central differences through rd.gradcheck, and second derivatives (create_graph=True) vs torch."""
import sys

import numpy as np
import pytest

import redes as rd

from .cases import CASES
from .helpers import assert_close, input_grads, inputs, second_grads, torch

IDS = [c[0] for c in CASES]
needs_torch = pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")


def test_case_names_are_unique():
    assert len(set(IDS)) == len(IDS)


# Engine ops the table does not reach, each with the test that covers it instead.
NOT_IN_TABLE = {"cast": "tests/test_tensor.py::test_to_dtype_is_differentiable"}


def test_the_table_covers_every_engine_op(monkeypatch):
    """Run every case (forward, backward and create_graph backward) recording which Function classes ran."""
    from redes.autograd import Function
    from redes.ops import elementwise, linalg, movement, reduce
    used, run = set(), Function.run

    def recording_run(self, args, options):
        used.add(type(self))
        return run(self, args, options)

    apply2 = Function.apply2.__func__          # the arithmetic operators' fast path bypasses run()

    def recording_apply2(cls, a, b):
        used.add(cls)
        return apply2(cls, a, b)

    monkeypatch.setattr(Function, "run", recording_run)
    monkeypatch.setattr(Function, "apply2", classmethod(recording_apply2))
    tensor_module = sys.modules["redes.tensor"]         # (rd.tensor is the factory function)
    for op in (elementwise.AddOp, elementwise.Sub, elementwise.Mul):    # tensor.py binds the operators' apply2 once
        monkeypatch.setattr(tensor_module, f"_{op.op}2", op.apply2)
    for name, fn, shapes in CASES:
        xs = inputs(name, shapes)
        if torch is not None:
            second_grads(fn, xs, rd)
        else:
            input_grads(fn, xs, rd)
    engine = {**elementwise.OPS, **reduce.OPS, **movement.OPS, **linalg.OPS}
    missing = sorted(n for n, cls in engine.items() if cls not in used and n not in NOT_IN_TABLE)
    assert not missing, f"ops without a case in tests/ops/cases.py: {missing}"


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
    first, second = second_grads(fn, xs, rd)
    ref_first, ref_second = second_grads(fn, xs, torch)
    for i, (g, r) in enumerate(zip(first, ref_first)):
        assert_close(g, r, 1e-7, 1e-10, f"{name}: gradient of input {i} (create_graph=True) vs torch")
    for i, (h, r) in enumerate(zip(second, ref_second)):
        assert_close(h, r, 1e-7, 1e-10, f"{name}: second derivative for input {i} vs torch")
