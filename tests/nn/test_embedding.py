"""nn.Embedding / F.embedding against torch: repeated indices accumulate, padding_idx, max_norm,
scale_grad_by_freq, from_pretrained; init; errors."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

IDX = np.array([[1, 3, 3, 0], [9, 1, 1, 1]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("args", [dict(), dict(padding_idx=1), dict(padding_idx=-1), dict(scale_grad_by_freq=True),
                                  dict(padding_idx=3, scale_grad_by_freq=True)], ids=str)
def test_embedding_vs_torch(args, dtype):
    rd_m, t_m = rd.nn.Embedding(10, 5, **args), torch.nn.Embedding(10, 5, **args)
    assert repr(rd_m) == repr(t_m)
    compare_with_torch(rd_m, t_m, inputs=[IDX], dtype=dtype)
    compare_with_torch(rd_m, t_m, inputs=[np.array(4)], dtype=dtype)           # a 0-D index
    compare_with_torch(rd_m, t_m, inputs=[IDX.astype(np.int32).ravel()], dtype=dtype)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf")])
def test_max_norm_renormalises_rows_like_torch(norm_type):
    rd_m = rd.nn.Embedding(10, 5, max_norm=1.5, norm_type=norm_type)
    t_m = torch.nn.Embedding(10, 5, max_norm=1.5, norm_type=norm_type)
    assert repr(rd_m) == repr(t_m)
    # helper reloads weights, runs both (which renormalise in place), compares outputs and gradients
    compare_with_torch(rd_m, t_m, inputs=[IDX])
    np.testing.assert_allclose(rd_m.weight.numpy(), t_m.weight.detach().numpy(), rtol=1e-6)


def test_repeated_indices_accumulate_exactly():
    w = rd.randn(4, 3, dtype=rd.float64, requires_grad=True)
    y = F.embedding(rd.tensor([2, 2, 2, 0]), w)
    g = np.arange(12.0).reshape(4, 3)
    y.backward(rd.tensor(g))
    expected = np.zeros((4, 3))
    expected[2] = g[0] + g[1] + g[2]
    expected[0] = g[3]
    np.testing.assert_array_equal(w.grad.numpy(), expected)


def test_functional_and_gradcheck():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 4))
    compare_functional_with_torch(lambda a: F.embedding(rd.tensor(IDX % 6), a, padding_idx=2),
                                  lambda a: torch.nn.functional.embedding(torch.tensor(IDX % 6), a, padding_idx=2), [w])
    # (padding_idx and scale_grad_by_freq are by design not the true gradient: checked against torch above)
    assert rd.gradcheck(lambda a: F.embedding(rd.tensor(IDX % 6), a), [w])


def test_init_and_padding_row():
    rd.manual_seed(0)
    e = rd.nn.Embedding(2000, 64, padding_idx=5)
    w = e.weight.numpy()
    assert not w[5].any()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01           # N(0, 1), as torch
    rd.manual_seed(0)
    np.testing.assert_array_equal(rd.nn.Embedding(2000, 64, padding_idx=5).weight.numpy(), w)


def test_from_pretrained():
    table = rd.randn(4, 3)
    e = rd.nn.Embedding.from_pretrained(table)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(rd.tensor([3, 0])).numpy(), table.numpy()[[3, 0]])
    assert rd.nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


def test_errors():
    e = rd.nn.Embedding(5, 2)
    with pytest.raises(IndexError, match=r"index out of range: indices span \[0, 7\], but num_embeddings=5"):
        e(rd.tensor([0, 7]))
    with pytest.raises(TypeError, match="indices must be an integer tensor"):
        e(rd.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="padding_idx must be within num_embeddings"):
        rd.nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(NotImplementedError, match="sparse=True is not supported"):
        rd.nn.Embedding(5, 2, sparse=True)
