"""Differentiable primitives: each op is one Function class, forward and backward side by side.

OPS maps an op's name to its Function class, and that name is the op's name everywhere: `fn.op` (errors,
`grad_fn` reprs, rd.viz drawings) is set from it below, and the tests loop over OPS so no op goes unchecked
(tests/ops/cases.py). Each file keeps its own `OPS` dict; a new op file adds itself to the imports and the
merge below. An op class never shares its name with a layer: where the math's name is a layer's name too
(Conv2d, ReLU, MSELoss), the op class takes the suffix `Op` (Conv2dOp, ReLUOp, MSELossOp).
"""
from . import attention, conv, dropout, elementwise, embedding, linalg, loss, matrix, movement, norm, pooling, recurrent
from . import reduce, special, unpool

OPS = {**elementwise.OPS, **reduce.OPS, **linalg.OPS, **movement.OPS, **conv.OPS, **pooling.OPS, **norm.OPS,
       **embedding.OPS, **loss.OPS, **recurrent.OPS, **attention.OPS, **dropout.OPS, **special.OPS, **matrix.OPS,
       **unpool.OPS}

for _name, _cls in OPS.items():
    _cls.op = _name          # one name per op: its OPS key
