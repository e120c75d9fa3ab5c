"""Padding layers (Zero/Constant/Reflection/Replication/CircularPad{1,2,3}d) against torch."""
import pytest

import redes as rd
from tests.nn.helpers import compare_with_torch, torch

CASES = [(f"{kind}Pad{n}d", n, pad) for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
         for n in (1, 2, 3) for pad in (1, tuple(range(1, 2 * n + 1)))]


@pytest.mark.parametrize("name, n, padding", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
@pytest.mark.parametrize("batched", [True, False])
def test_padding_vs_torch(name, n, padding, batched):
    args = (padding, 1.5) if name.startswith("Constant") else (padding,)
    ours, ref = getattr(rd.nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(ref)
    shape = ((2,) if batched else ()) + (3,) + (7, 8, 9)[:n]
    compare_with_torch(ours, ref, shape)


def test_bad_padding():
    with pytest.raises(ValueError, match=r"ZeroPad2d: padding must be an int or a 4-tuple of ints, got \(1, 2\)"):
        rd.nn.ZeroPad2d((1, 2))
    with pytest.raises(ValueError, match=r"ReflectionPad1d: expected a 2-D or 3-D input, got shape \(5,\)"):
        rd.nn.ReflectionPad1d(1)(rd.ones(5))
