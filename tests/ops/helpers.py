"""Shared helpers of the engine tests: inputs off the kinks, and the same forward/backward run in redes or torch.

A case function takes Tensors of either library and uses only what both spell alike (methods, `lib(x)`,
`F(x)`, `const(x, array)`), so one lambda is run by redes and by its oracle, torch.
"""
import zlib

import numpy as np

import redes as rd

try:
    import torch
except ImportError:             # the torch comparisons skip; gradcheck still runs
    torch = None

KINKS = (-0.5, 0.0, 0.5)        # relu/abs/sign at 0, clamp bounds at +-0.5: random inputs keep away from them
DODGE = 0.05                    # >> gradcheck's eps, so a central difference never straddles a kink


class pos(tuple):
    """A shape whose values are drawn in [0.5, 2] (log, sqrt, a tensor base of pow)."""


class nz(tuple):
    """A shape whose values are drawn with 0.5 <= |x| <= 2 and a random sign (denominators)."""


def is_torch(x):
    return type(x).__module__.startswith("torch")


def lib(x):
    """The library x belongs to: redes or torch (for rd.cat / torch.cat, rd.where / torch.where, ...)."""
    return torch if is_torch(x) else rd


def F(x):
    """The functional namespace of x's library: redes' rd.* functions or torch.nn.functional."""
    return torch.nn.functional if is_torch(x) else rd


def const(x, array):
    """A constant (index, mask, bound) as a tensor of x's library, with the array's dtype."""
    array = np.asarray(array)
    return torch.as_tensor(array) if is_torch(x) else rd.tensor(array)


def seed_of(name):
    """A stable per-case seed (hash() of a str changes between runs)."""
    return zlib.crc32(name.encode())


def sample(spec, rng, dtype=np.float64):
    """Draw one input array for a shape spec (a tuple, pos(...) or nz(...)), away from KINKS."""
    shape = tuple(spec)
    if isinstance(spec, pos):
        x = rng.uniform(0.5, 2.0, shape)
    elif isinstance(spec, nz):
        x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    else:
        x = rng.uniform(-2.0, 2.0, shape)
        for k in KINKS:                     # push values inside (k - DODGE, k + DODGE) out to the nearer edge
            near = np.abs(x - k) < DODGE
            x = np.where(near, k + np.where(x >= k, DODGE, -DODGE), x)
    return np.asarray(x, dtype=dtype)


def inputs(name, shapes, dtype=np.float64):
    rng = np.random.default_rng(seed_of(name))
    return [sample(s, rng, dtype) for s in shapes]


def noncontiguous(x):
    """The same values in a non-C-contiguous array: transposed memory (>= 2-D) or a strided view (1-D)."""
    if x.ndim >= 2:
        return np.asfortranarray(x)
    if x.ndim == 1:
        return np.repeat(x, 2)[::2]
    return x


def to_numpy(t):
    if t is None:
        return None
    return t.detach().numpy(force=True) if is_torch(t) else t.numpy()   # force: torch's ZeroTensor gradients


def as_tuple(out):
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def weights(shape, k, dtype=np.float64):
    """Fixed random weights for output k: backprop of sum(w * out) shows a transposed or mis-broadcast gradient."""
    return np.random.default_rng(100 + k).uniform(0.5, 1.5, tuple(shape)).astype(dtype)


def leaf(x, library, layout="C"):
    """A leaf tensor requiring grad in `library` (rd or torch); layout 'F' gives redes non-contiguous data."""
    if library is rd:
        return rd.from_numpy(noncontiguous(x) if layout == "F" else np.array(x)).requires_grad_()
    return torch.tensor(x, requires_grad=True)


def weighted_sum(outs, library):
    """sum_k sum(w_k * out_k) over the outputs that need a gradient (None if none does)."""
    total = None
    for k, o in enumerate(outs):
        if not o.requires_grad:
            continue
        w = weights(o.shape, k, to_numpy(o).dtype)
        term = (o * (torch.as_tensor(w) if library is torch else rd.tensor(w))).sum()
        total = term if total is None else total + term
    return total


def input_grads(fn, xs, library, layout="C"):
    """Run fn on leaves made from the arrays xs; backprop a randomly weighted sum of its outputs.

    Returns (outputs as arrays, one gradient array per input: zeros where the input was not used).
    """
    ins = [leaf(x, library, layout) for x in xs]
    outs = as_tuple(fn(*ins))
    total = weighted_sum(outs, library)
    if total is not None:
        total.backward()
    grads = [to_numpy(t.grad) if t.grad is not None else np.zeros_like(x) for t, x in zip(ins, xs)]
    return [to_numpy(o) for o in outs], grads


def second_grads(fn, xs, library):
    """First gradients g (through create_graph) and the gradients of sum(v * g), v fixed random weights.

    Returns (g as arrays, d(sum v.g)/dx as arrays): a Hessian-vector product of the weighted output sum.
    """
    ins = [leaf(x, library) for x in xs]
    total = weighted_sum(as_tuple(fn(*ins)), library)
    if total is None:
        return [np.zeros_like(x) for x in xs], [np.zeros_like(x) for x in xs]
    grad = torch.autograd.grad if library is torch else rd.grad
    gs = grad([total], ins, create_graph=True, allow_unused=True)
    first = [to_numpy(g) if g is not None else np.zeros_like(x) for g, x in zip(gs, xs)]
    second_out = None
    for k, g in enumerate(gs):
        if g is not None and g.requires_grad:
            v = weights(g.shape, 50 + k)
            term = (g * (torch.as_tensor(v) if library is torch else rd.tensor(v))).sum()
            second_out = term if second_out is None else second_out + term
    if second_out is None:           # the gradient is constant in the inputs: all second derivatives are 0
        return first, [np.zeros_like(x) for x in xs]
    hs = grad([second_out], ins, allow_unused=True)
    return first, [to_numpy(h) if h is not None else np.zeros_like(x) for h, x in zip(hs, xs)]


def assert_close(ours, ref, rtol, atol, what):
    """assert_allclose that also requires the same shape (assert_allclose broadcasts)."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.shape == ref.shape, f"{what}: shape {ours.shape} vs torch {ref.shape}"
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, err_msg=what)
