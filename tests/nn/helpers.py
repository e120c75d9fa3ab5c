"""Shared PyTorch-comparison helpers for layer and functional tests (torch is the oracle; never used by redes).

    from tests.nn.helpers import compare_with_torch, compare_functional_with_torch, TOL

compare_with_torch(rd_module, torch_module, input_shape, dtype)
    copies torch's state_dict into the redes module, runs both on the same random input, backprops a
    randomly weighted sum of the output(s) and asserts equal outputs, input gradients, parameter gradients
    and buffers (running statistics), plus identical state_dict keys, order and shapes.
compare_functional_with_torch(rd_fn, torch_fn, arrays, dtype)
    the same for plain functions of several arrays (non-float arrays are passed as constants).
"""
import numpy as np
import pytest

import redes as rd

torch = pytest.importorskip("torch")
# NOTE: one thread: torch's OpenMP workers spin-wait, and on a loaded 2-core CI machine a tiny float64 op
# then takes 100x longer (measured 230 ms vs 2 ms for a conv_transpose2d backward)
torch.set_num_threads(1)

# (rtol, atol) by dtype: the quality bar of the project (float64 tight, float32 loose).
TOL = {np.dtype(np.float64): (1e-6, 1e-8), np.dtype(np.float32): (1e-4, 1e-5)}
_TORCH_DTYPE = {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}


DEVICE = None      # the device the redes side runs on (tests/devices sets "twin"); None: the default (cpu)


def _np(t):
    """A NumPy array from a redes or torch tensor (or anything array-like), on the host."""
    if isinstance(t, rd.Tensor):
        assert DEVICE is None or t.device == DEVICE, f"a redes result left the device {DEVICE}: {t.device}"
        return np.asarray(t.cpu().numpy())
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def _as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def assert_close(ours, ref, dtype, what, rtol=None, atol=None):
    """assert_allclose with the dtype's tolerance, naming what is compared."""
    r, a = TOL[np.dtype(dtype)]
    ours, ref = _np(ours), _np(ref)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs torch {ref.shape}"
    np.testing.assert_allclose(ours, ref, rtol=rtol or r, atol=atol or a, err_msg=f"{what} vs torch")


def assert_same_state_dict_layout(rd_module, torch_module):
    """Same keys, in the same order, with the same shapes (so checkpoints move between the twins)."""
    ours = [(k, tuple(v.shape)) for k, v in rd_module.state_dict().items()]
    ref = [(k, tuple(v.shape)) for k, v in torch_module.state_dict().items()]
    assert ours == ref, f"state_dict layout differs:\n redes {ours}\n torch {ref}"


def _weights(outs, seed):
    """Fixed random weights in [0.5, 1.5) for each floating output (None for integer outputs like indices)."""
    rng = np.random.default_rng(seed + 1)
    return [rng.uniform(0.5, 1.5, tuple(o.shape)) if _np(o).dtype.kind == "f" else None for o in outs]


def _backprop(outs, weights, lib):
    total = None
    for o, w in zip(outs, weights):
        if w is None or not o.requires_grad:
            continue
        w = w.astype(_np(o).dtype)
        term = (o * (rd.tensor(w, device=DEVICE) if lib is rd else lib.tensor(w))).sum()
        total = term if total is None else total + term
    if total is not None:
        total.backward()
    return total is not None


def _input_grads_match(rd_in, t_in, rd_out, t_out, dtype, seed, where, rtol, atol):
    """Backpropagate the same weighted sum of the outputs in both libraries and compare the inputs' gradients.

    Returns False (nothing checked) when torch's outputs need no gradient.
    """
    weights = _weights(t_out, seed)
    if not _backprop(t_out, weights, torch):
        return False
    assert _backprop(rd_out, weights, rd), "redes output does not require grad, torch's does"
    for i, (a, b) in enumerate(zip(rd_in, t_in)):
        if b.grad is not None:
            assert a.grad is not None, f"input {i} got no gradient in redes"
            assert_close(a.grad, b.grad, dtype, f"{where}input {i} gradient", rtol, atol)
    return True


def compare_with_torch(rd_module, torch_module, input_shape=None, dtype=np.float64, train=True, *,
                       inputs=None, seed=0, low=-2.0, high=2.0, rtol=None, atol=None, check_buffers=True,
                       steps=1):
    """Assert that a redes layer and its torch twin agree on outputs and on every gradient.

    Args:
        rd_module, torch_module: freshly built twins (same constructor arguments). Both are converted to
            `dtype`, put in train or eval mode, and torch's state_dict is loaded into the redes module.
        input_shape: shape of one random float input U(low, high); or pass `inputs=` (a list of arrays:
            float arrays become inputs that require grad, integer arrays are passed as they are).
        steps: forward/backward passes to run (> 1 checks running statistics over several batches;
            each step draws a fresh input).
    Returns:
        (redes outputs, torch outputs) of the last step, as tuples, for extra checks.
    """
    dtype = np.dtype(dtype)
    assert_same_state_dict_layout(rd_module, torch_module)
    torch_module.to(_TORCH_DTYPE[dtype])
    rd_module.to(dtype)
    if DEVICE is not None:
        rd_module.to(DEVICE)
    rd_module.load_state_dict({k: v.clone() for k, v in torch_module.state_dict().items()})
    rd_module.train(train)
    torch_module.train(train)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        if inputs is None:
            arrays = [rng.uniform(low, high, input_shape).astype(dtype)]
        else:
            arrays = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a)
                      for a in inputs]
        rd_in = [rd.tensor(a, requires_grad=a.dtype.kind == "f", device=DEVICE) for a in arrays]
        t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
        for p in rd_module.parameters():
            p.grad = None
        torch_module.zero_grad(set_to_none=True)
        rd_out, t_out = _as_tuple(rd_module(*rd_in)), _as_tuple(torch_module(*t_in))
        assert len(rd_out) == len(t_out), f"redes returned {len(rd_out)} outputs, torch {len(t_out)}"
        for i, (o, r) in enumerate(zip(rd_out, t_out)):
            assert_close(o, r, dtype, f"step {step} output {i}", rtol, atol)
            if _np(r).dtype.kind == "f":
                assert _np(o).dtype == dtype, f"output {i} has dtype {_np(o).dtype}, expected {dtype}"
        if _input_grads_match(rd_in, t_in, rd_out, t_out, dtype, seed + step, f"step {step} ", rtol, atol):
            t_params = dict(torch_module.named_parameters())
            for name, p in rd_module.named_parameters():
                ref = t_params[name].grad
                if ref is None:
                    assert p.grad is None or not np.any(_np(p.grad)), f"{name}: redes has a gradient, torch none"
                else:
                    assert p.grad is not None, f"parameter {name} got no gradient in redes"
                    assert_close(p.grad, ref, dtype, f"step {step} gradient of {name}", rtol, atol)
        if check_buffers:
            t_bufs = dict(torch_module.named_buffers())
            for name, b in rd_module.named_buffers():
                ref = _np(t_bufs[name])
                if ref.dtype.kind == "f":
                    assert_close(b, ref, dtype, f"step {step} buffer {name}", rtol, atol)
                else:
                    np.testing.assert_array_equal(_np(b), ref, err_msg=f"buffer {name}")
                    assert _np(b).dtype == ref.dtype, f"buffer {name}: dtype {_np(b).dtype} vs torch {ref.dtype}"
    return rd_out, t_out


def compare_functional_with_torch(rd_fn, torch_fn, arrays, dtype=np.float64, *, seed=0, rtol=None, atol=None):
    """Assert rd_fn(*tensors) == torch_fn(*tensors), and their gradients for every float array.

    `arrays` are NumPy arrays; float ones are cast to `dtype` and require grad, others are passed as they are.
    Returns (redes outputs, torch outputs) as tuples.
    """
    dtype = np.dtype(dtype)
    arrays = [np.asarray(a).astype(dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    rd_in = [rd.tensor(a, requires_grad=a.dtype.kind == "f", device=DEVICE) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    rd_out, t_out = _as_tuple(rd_fn(*rd_in)), _as_tuple(torch_fn(*t_in))
    assert len(rd_out) == len(t_out), f"redes returned {len(rd_out)} outputs, torch {len(t_out)}"
    for i, (o, r) in enumerate(zip(rd_out, t_out)):
        assert_close(o, r, dtype, f"output {i}", rtol, atol)
    _input_grads_match(rd_in, t_in, rd_out, t_out, dtype, seed, "", rtol, atol)
    return rd_out, t_out
