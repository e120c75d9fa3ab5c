"""Differentiable primitives: each op is one Function class, forward and backward side by side.

OPS maps a name to its Function class; the tests loop over it so no op goes unchecked.
"""
from . import elementwise, reduce, linalg, movement

OPS = {**elementwise.OPS, **reduce.OPS, **linalg.OPS, **movement.OPS}
from . import recurrent  # noqa: E402
OPS.update(recurrent.OPS)
from . import attention  # noqa: E402
OPS.update(attention.OPS)
