"""Activation checkpointing (torch.utils.checkpoint): trade compute for memory.

`checkpoint(function, *args)` runs `function` without recording its graph, so none of its inside
activations stay in memory; only its inputs are kept. When backward reaches the result, the forward
is run again, this time recording, and backward continues through that fresh graph: the gradients are
those of the plain call, for the inputs and for every parameter `function` uses. The cost is one more
forward of `function` per backward. Checkpoint each block of a deep network and the memory for
activations falls from all blocks' insides to one block's inside plus the blocks' boundaries.
"""
from .. import autograd as _ag
from .. import random as _random
from ..autograd import Function
from ..tensor import Tensor


class _Checkpoint(Function):
    """y = function(*args), recorded as one node. Backward: rerun function with the graph on and backprop dy."""
    differentiable_backward = False          # the recomputed graph is walked with plain arrays

    def forward(self, *arrays, function, kinds, rng_state):
        self.function, self.kinds, self.rng_state = function, kinds, rng_state
        with _ag.no_grad():
            out = function(*_rebuild(arrays, kinds, None))
        if not isinstance(out, Tensor):
            raise TypeError(f"checkpoint: function must return one Tensor, got {type(out).__name__}")
        return out.array

    def backward(self, m, dy, y, *arrays):
        needs = self.needs
        inputs = _rebuild(arrays, self.kinds, needs)
        now = _random.get_rng_state()
        _random.set_rng_state(self.rng_state)    # the same dropout masks as the first run
        try:
            with _ag.enable_grad():
                out = self.function(*inputs)
        finally:
            _random.set_rng_state(now)
        if out.requires_grad:
            out.backward(Tensor._wrap(dy))       # parameters' .grad accumulate here; the inputs' are returned
        return tuple(x.grad.array if need and isinstance(x, Tensor) and x.grad is not None else None
                     for x, need in zip(inputs, needs))


_ANCHOR = []


def _anchor():
    """A 0-d leaf that requires grad: makes the node record when no argument does (parameters inside may)."""
    if not _ANCHOR:
        import numpy as np
        _ANCHOR.append(Tensor(np.zeros(()), requires_grad=True))
    return _ANCHOR[0]


def _rebuild(arrays, kinds, needs):
    """The function's arguments again: Tensors around the saved arrays (leaves), other values as given."""
    out = []
    for i, (a, kind) in enumerate(zip(arrays, kinds)):
        if kind == "anchor":
            continue
        if kind == "tensor":
            t = Tensor._wrap(a)
            if needs is not None and needs[i]:
                t.requires_grad_(True)
            out.append(t)
        else:
            out.append(a)
    return out


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """function(*args), keeping none of its inner activations: they are recomputed during backward.

    Args:
        function: a callable (a Module, a block's forward, ...) returning one Tensor.
        *args: its arguments; Tensors among them get gradients as usual.
        use_reentrant: accepted for PyTorch compatibility; both values run the same recomputation here.
        preserve_rng_state: rerun with the random state of the first run (the same dropout masks).
    Returns: the Tensor function(*args) returns, linked to the graph through one node.
    Example:
        >>> block = rd.nn.Sequential(rd.nn.Linear(4, 4), rd.nn.GELU(), rd.nn.Linear(4, 4))
        >>> x = rd.randn(2, 4, requires_grad=True)
        >>> checkpoint(block, x, use_reentrant=False).sum().backward()     # same grads as block(x).sum()
        >>> tuple(x.grad.shape), tuple(block[0].weight.grad.shape)
        ((2, 4), (4, 4))
    """
    if not callable(function):
        raise TypeError(f"checkpoint: function must be callable, got {type(function).__name__}")
    if use_reentrant not in (None, True, False):
        raise ValueError(f"checkpoint: use_reentrant must be True or False, got {use_reentrant!r}")
    if kwargs:
        raise TypeError(f"checkpoint: unexpected keyword arguments {sorted(kwargs)}; "
                        "pass the function's arguments positionally (or bind them with functools.partial)")
    if not _ag.is_grad_enabled():
        return function(*args)
    kinds = tuple("tensor" if isinstance(a, Tensor) else "value" for a in args)
    if not any(isinstance(a, Tensor) and a.requires_grad for a in args):
        args, kinds = (_anchor(), *args), ("anchor", *kinds)
    state = _random.get_rng_state() if preserve_rng_state else None
    return _Checkpoint.apply(*args, function=function, kinds=kinds, rng_state=state)
