"""Elementwise ops that run over cache-sized blocks on large arrays agree with torch there too."""
import numpy as np
import pytest

import redes as rd
from redes.ops import elementwise

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype, rtol, atol", [("float64", 1e-12, 1e-14), ("float32", 1e-5, 2e-6)])
@pytest.mark.parametrize("shape", [(3, elementwise._BLOCK + 7), (2, 5, 7)])      # blocked and not
def test_gelu_on_large_arrays_matches_torch(shape, dtype, rtol, atol):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    x_t = np.ascontiguousarray(x.T).T                        # a non-contiguous input too
    w = rng.uniform(0.5, 1.5, shape).astype(dtype)
    for arr in (x, x_t):
        ours = rd.tensor(arr, requires_grad=True)
        (ours.gelu() * rd.tensor(w)).sum().backward()
        ref = torch.tensor(arr, requires_grad=True)
        (torch.nn.functional.gelu(ref) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(ours.gelu().numpy(), torch.nn.functional.gelu(ref).detach().numpy(),
                                   rtol=rtol, atol=atol)
        np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), rtol=rtol, atol=atol)


def test_blockwise_equals_whole_array():
    x = np.random.default_rng(1).standard_normal(elementwise._BLOCK * 2 + 5).astype(np.float32)
    np.testing.assert_array_equal(elementwise._blockwise(elementwise._normal_cdf, x), elementwise._normal_cdf(x))
