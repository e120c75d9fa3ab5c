"""Differentiable primitives: each op is one Function class, forward and backward side by side.

OPS maps a name to its Function class; the tests loop over it so no op goes unchecked.
"""
from . import attention, conv, dropout, elementwise, embedding, linalg, loss, matrix, movement, norm, recurrent, reduce
from . import special, unpool

OPS = {}
for _module in (elementwise, reduce, linalg, movement, conv, norm, embedding, loss, recurrent, attention, dropout,
                special, matrix, unpool):
    OPS.update(_module.OPS)
