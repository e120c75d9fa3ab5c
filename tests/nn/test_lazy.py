"""Lazy layers: the size read from the first input, the class they become, and (after both libraries have
materialised them) outputs and gradients against torch with torch's weights."""
import warnings

import numpy as np
import pytest

import redes as rd
from tests.nn.helpers import compare_with_torch, torch

CASES = [("LazyLinear", (3,), {}, (4, 5)), ("LazyLinear", (2,), {"bias": False}, (2, 3, 6)),
         ("LazyConv1d", (4, 3), {"padding": 1}, (2, 3, 7)), ("LazyConv2d", (4, 3), {"stride": 2}, (2, 3, 7, 6)),
         ("LazyConv2d", (4, 3), {}, (3, 6, 5)), ("LazyConv3d", (2, 2), {"groups": 2}, (1, 4, 4, 3, 4)),
         ("LazyConvTranspose1d", (3, 2), {"stride": 2}, (2, 4, 5)),
         ("LazyConvTranspose2d", (3, 3), {"padding": 1}, (2, 2, 4, 4)),
         ("LazyConvTranspose3d", (2, 2), {}, (1, 3, 2, 3, 2)),
         ("LazyBatchNorm1d", (), {}, (6, 4)), ("LazyBatchNorm2d", (), {"momentum": 0.2}, (3, 4, 2, 3)),
         ("LazyBatchNorm3d", (), {"affine": False}, (3, 2, 2, 3, 2)),
         ("LazyInstanceNorm1d", (), {"affine": True}, (3, 4, 5)),
         ("LazyInstanceNorm2d", (), {"affine": False}, (2, 4, 3, 3)),
         ("LazyInstanceNorm3d", (), {"track_running_stats": True}, (2, 3, 2, 3, 2))]


@pytest.mark.parametrize("name, args, kw, shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_lazy_vs_torch(name, args, kw, shape):
    ours, ref = getattr(rd.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    x = np.random.default_rng(0).normal(size=shape)
    ours(rd.tensor(x.astype(np.float32)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref(torch.tensor(x, dtype=torch.float32))
    assert type(ours).__name__ == type(ref).__name__ == name[4:]           # LazyLinear -> Linear, ...
    assert isinstance(ours, getattr(rd.nn, name[4:]))
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, shape)


def test_container_is_deprecated_module():
    with pytest.warns(UserWarning, match="nn.Container is deprecated"):
        c = rd.nn.Container(fc=rd.nn.Linear(2, 3))
    assert list(dict(c.named_children())) == ["fc"] and len(list(c.parameters())) == 2


def test_lazy_bad_input():
    with pytest.raises(ValueError, match=r"LazyConv2d: expected a 3-D or 4-D input, got shape \(5,\)"):
        rd.nn.LazyConv2d(3, 2)(rd.ones(5))
