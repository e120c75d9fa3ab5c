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
    for blocked, whole in zip(elementwise._blockwise(elementwise._normal_cdf_pdf, x), elementwise._normal_cdf_pdf(x)):
        np.testing.assert_array_equal(blocked, whole)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_cdf_pdf_accuracy(dtype):
    from scipy.special import ndtr
    x = np.linspace(-12, 12, 200001).astype(dtype)
    cdf, pdf = elementwise._normal_cdf_pdf(x)
    exact = x.astype(np.float64)
    assert np.abs(cdf - ndtr(exact)).max() < (7e-7 if dtype == "float32" else 1e-15)
    # the density is exp(-x^2/2)/sqrt(2 pi) evaluated in the input's dtype (float32 rounding of x^2 grows
    # through exp in the far tail, for torch too), so compare with that formula in the same dtype
    naive = np.exp(x * x * x.dtype.type(-0.5)) / x.dtype.type(np.sqrt(2 * np.pi))
    np.testing.assert_allclose(pdf, naive, rtol=1e-6 if dtype == "float32" else 1e-14)
    assert cdf.dtype == pdf.dtype == np.dtype(dtype)
