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


def _gelu_parts(x):
    y, slope = np.empty_like(x), np.empty_like(x)
    elementwise._gelu_and_slope(x, y, slope)
    return y, slope


def test_blockwise_equals_whole_array():
    x = np.random.default_rng(1).standard_normal(elementwise._BLOCK * 2 + 5).astype(np.float32)
    for blocked, whole in zip(elementwise._blockwise(elementwise._gelu_and_slope, x, 2), _gelu_parts(x)):
        np.testing.assert_array_equal(blocked, whole)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gelu_and_slope_accuracy(dtype):
    """y = x Phi(x) and slope = Phi(x) + x phi(x) against SciPy's exact normal cdf, over +-12 and both zeros."""
    from scipy.special import ndtr
    x = np.concatenate([np.linspace(-12, 12, 200001), [0.0, -0.0]]).astype(dtype)
    y, slope = _gelu_parts(x)
    exact = x.astype(np.float64)
    cdf_err = 7e-7 if dtype == "float32" else 1e-15           # A&S 7.1.26 in float32, erf in float64
    # y's error is |x| times Phi's, plus the rounding of the product
    assert (np.abs(y - exact * ndtr(exact)) <= cdf_err * np.abs(exact) + 2 * np.finfo(dtype).eps * np.abs(exact)).all()
    # the slope adds x phi(x), evaluated in the input's dtype (float32 rounding of x^2 grows through exp in the tail)
    naive_phi = np.exp(x * x * x.dtype.type(-0.5)) / x.dtype.type(np.sqrt(2 * np.pi))
    np.testing.assert_allclose(slope, ndtr(exact) + exact * naive_phi, rtol=0,
                               atol=2 * cdf_err + 4 * np.finfo(dtype).eps)
    assert y.dtype == slope.dtype == np.dtype(dtype)
    assert np.signbit(y[-1]) and not np.signbit(y[-2])         # gelu(-0) = -0, as torch
