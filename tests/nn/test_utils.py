"""nn.utils: clip_grad_norm_ / clip_grad_value_ / get_total_norm and parameters <-> vector, against torch."""
import numpy as np
import pytest

import redes as rd
from tests.nn.helpers import assert_close, torch

SHAPES = [(4, 3), (4,), (2, 3, 2), (1,)]


def _twins(dtype, grads_missing=()):
    rng = np.random.default_rng(0)
    ours, ref = [], []
    for i, s in enumerate(SHAPES):
        w, g = rng.normal(size=s).astype(dtype), rng.normal(size=s).astype(dtype) * (i + 1)
        p, t = rd.nn.Parameter(rd.tensor(w)), torch.nn.Parameter(torch.tensor(w))
        if i not in grads_missing:
            p.grad, t.grad = rd.tensor(g), torch.tensor(g)
        ours.append(p)
        ref.append(t)
    return ours, ref


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.5, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
def test_clip_grad_norm_vs_torch(dtype, norm_type, max_norm):
    ours, ref = _twins(dtype, grads_missing=(1,))
    total = rd.nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_ref = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type, foreach=False)
    assert isinstance(total, rd.Tensor) and total.shape == ()
    assert_close(total, total_ref, dtype, f"total norm p={norm_type}")
    for i, (p, t) in enumerate(zip(ours, ref)):
        if t.grad is None:
            assert p.grad is None
        else:
            assert_close(p.grad, t.grad, dtype, f"clipped grad {i}")
            assert p.grad.dtype == dtype


def test_clip_grad_norm_single_tensor_and_generator():
    ours, ref = _twins(np.float64)
    total = rd.nn.utils.clip_grad_norm_(ours[0], 0.1)
    assert_close(total, torch.nn.utils.clip_grad_norm_(ref[0], 0.1), np.float64, "single tensor")
    assert_close(ours[0].grad, ref[0].grad, np.float64, "single tensor grad")
    with pytest.warns(UserWarning, match="empty generator"):
        assert rd.nn.utils.clip_grad_norm_((p for p in []), 1.0).item() == 0.0


def test_clip_rebinds_gradients_instead_of_writing_shared_arrays():
    shared = np.array([3.0, 4.0])
    a, b = rd.nn.Parameter(rd.zeros(2)), rd.nn.Parameter(rd.zeros(2))
    a.grad = b.grad = rd.from_numpy(shared)               # one gradient array seen by two parameters
    rd.nn.utils.clip_grad_norm_([a], 1.0)
    np.testing.assert_array_equal(shared, [3.0, 4.0])     # b's gradient is untouched
    assert b.grad.array is shared and a.grad.array is not shared
    np.testing.assert_allclose(a.grad.numpy(), np.array([3.0, 4.0]) / (5.0 + 1e-6))
    rd.nn.utils.clip_grad_value_([a, b], 3.5)
    np.testing.assert_array_equal(shared, [3.0, 4.0])
    np.testing.assert_array_equal(b.grad.numpy(), [3.0, 3.5])


def test_clip_grad_norm_nonfinite():
    p = rd.nn.Parameter(rd.zeros(2))
    p.grad = rd.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        rd.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    total = rd.nn.utils.clip_grad_norm_([p], 1.0)
    assert np.isinf(total.item())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_grad_value_vs_torch(dtype):
    ours, ref = _twins(dtype, grads_missing=(2,))
    rd.nn.utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(ref, 0.7, foreach=False)
    for p, t in zip(ours, ref):
        if t.grad is not None:
            assert_close(p.grad, t.grad, dtype, "clip_grad_value_")


def test_get_total_norm_and_clip_grads_with_norm_vs_torch():
    ours, ref = _twins(np.float64)
    total = rd.nn.utils.get_total_norm([p.grad for p in ours], 3.0)
    total_ref = torch.nn.utils.get_total_norm([t.grad for t in ref], 3.0)
    assert_close(total, total_ref, np.float64, "get_total_norm")
    rd.nn.utils.clip_grads_with_norm_(ours, 2.0, total)
    torch.nn.utils.clip_grads_with_norm_(ref, 2.0, total_ref)
    for p, t in zip(ours, ref):
        assert_close(p.grad, t.grad, np.float64, "clip_grads_with_norm_")


def test_parameters_to_vector_and_back_vs_torch():
    ours, ref = _twins(np.float64)
    vec = rd.nn.utils.parameters_to_vector(ours)
    assert_close(vec, torch.nn.utils.parameters_to_vector(ref), np.float64, "parameters_to_vector")
    weights = rd.tensor(np.arange(vec.shape[0], dtype=np.float64))
    for p in ours:
        p.grad = None
    (vec * weights).sum().backward()                       # differentiable, as torch's
    start = 0
    for p in ours:
        np.testing.assert_array_equal(p.grad.numpy().reshape(-1), np.arange(start, start + p.numel()))
        start += p.numel()
    new = rd.tensor(np.linspace(-1, 1, vec.shape[0]))
    rd.nn.utils.vector_to_parameters(new, ours)
    torch.nn.utils.vector_to_parameters(torch.tensor(new.numpy()), ref)
    for p, t in zip(ours, ref):
        assert_close(p, t, np.float64, "vector_to_parameters")
    new.data[0] = 42.0                                      # the parameters are views of vec, as in torch
    assert ours[0].data.reshape(-1)[0] == 42.0
    with pytest.raises(ValueError, match=r"vec has shape \(3,\), expected \(29,\)"):
        rd.nn.utils.vector_to_parameters(rd.zeros(3), ours)
