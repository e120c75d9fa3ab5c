"""Random sampling with torch's signatures (redes/sampling.py and the Tensor.*_ fillers): shapes, dtypes, ranges,
the distributions' moments on many draws, reproducibility under rd.manual_seed or a generator, and errors.
The draws cannot equal torch's (another generator), so torch is the oracle for shapes, dtypes and errors only."""
import numpy as np
import pytest

import redes as rd

from .helpers import torch

P = [0.1, 0.0, 0.6, 0.3]


def test_multinomial_with_replacement_matches_the_probabilities():
    draws = rd.multinomial(rd.tensor(P), 20000, replacement=True)
    assert draws.dtype == rd.int64 and draws.shape == (20000,)
    freq = np.bincount(draws.numpy(), minlength=4) / 20000
    np.testing.assert_allclose(freq, P, atol=0.015)
    assert freq[1] == 0                               # a zero weight is never drawn


def test_multinomial_without_replacement_draws_distinct_categories_first_by_weight():
    rows = rd.tensor([[1.0, 2.0, 3.0, 4.0], [4.0, 0.0, 0.0, 1.0]])      # unnormalised weights, as torch accepts
    draws = rows.multinomial(4).numpy()
    assert draws.shape == (2, 4)
    assert all(sorted(r) == [0, 1, 2, 3] for r in draws)              # a permutation of the categories
    assert set(draws[1, :2]) == {0, 3}                                  # non-zero weights come before zero ones
    firsts = np.array([rows.multinomial(2)[:, 0].numpy() for _ in range(4000)])
    np.testing.assert_allclose(np.bincount(firsts[:, 0], minlength=4) / 4000, [0.1, 0.2, 0.3, 0.4], atol=0.03)


def test_multinomial_is_reproducible_and_takes_a_generator():
    rd.manual_seed(3)
    a = rd.multinomial(rd.tensor(P), 10, True)
    rd.manual_seed(3)
    assert rd.multinomial(rd.tensor(P), 10, True).equal(a)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    first = rd.multinomial(rd.tensor(P), 10, True, generator=g1)
    assert first.equal(rd.multinomial(rd.tensor(P), 10, True, generator=g2))


@pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")
@pytest.mark.parametrize("probs, n, replacement", [(P, 0, True), ([[[0.5]]], 1, True), ([0.0, 0.0], 1, True),
                                                   ([0.2, float("nan")], 1, True), ([0.5, 0.5], 3, False)])
def test_multinomial_refuses_what_torch_refuses(probs, n, replacement):
    with pytest.raises(RuntimeError):
        torch.multinomial(torch.tensor(probs), n, replacement)
    with pytest.raises(RuntimeError, match="multinomial"):
        rd.multinomial(rd.tensor(probs), n, replacement)


def test_bernoulli_normal_poisson_binomial_moments():
    p = rd.full((200, 100), 0.3)
    b = rd.bernoulli(p)
    assert b.dtype == p.dtype and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert abs(b.numpy().mean() - 0.3) < 0.01
    assert abs(rd.zeros(20000).bernoulli_(0.7).numpy().mean() - 0.7) < 0.015
    n = rd.normal(rd.full((20000,), 2.0), 0.5)
    assert n.dtype == rd.float32 and abs(n.numpy().mean() - 2.0) < 0.02 and abs(n.numpy().std() - 0.5) < 0.02
    assert rd.normal(0.0, 1.0, size=(3, 2)).shape == (3, 2)
    assert rd.normal(rd.zeros(3, 1), rd.ones(4)).shape == (3, 4)                  # mean and std broadcast
    pois = rd.poisson(rd.full((20000,), 3.0))
    assert abs(pois.numpy().mean() - 3.0) < 0.05 and (pois.numpy() == np.round(pois.numpy())).all()
    binom = rd.binomial(rd.full((20000,), 10.0), rd.full((20000,), 0.25))
    assert binom.numpy().min() >= 0 and binom.numpy().max() <= 10 and abs(binom.numpy().mean() - 2.5) < 0.05


def test_randint_like_and_the_in_place_fillers():
    x = rd.zeros(5000, dtype=rd.int64)
    r = rd.randint_like(x, 3, 7)
    assert r.dtype == rd.int64 and r.numpy().min() == 3 and r.numpy().max() == 6
    assert set(np.unique(rd.zeros(2000).random_(0, 3).numpy())) == {0.0, 1.0, 2.0}
    e = rd.zeros(20000, dtype=rd.float64).exponential_(2.0).numpy()
    assert e.min() >= 0 and abs(e.mean() - 0.5) < 0.02
    g = rd.zeros(20000).geometric_(0.5).numpy()
    assert g.min() >= 1 and abs(g.mean() - 2.0) < 0.05
    ln = rd.zeros(20000, dtype=rd.float64).log_normal_(0.0, 0.25).numpy()
    assert abs(np.log(ln).mean()) < 0.01 and abs(np.log(ln).std() - 0.25) < 0.01
    c = rd.zeros(20001, dtype=rd.float64).cauchy_(1.0, 2.0).numpy()
    assert abs(np.median(c) - 1.0) < 0.1


def test_fillers_refuse_a_leaf_that_requires_grad():
    w = rd.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="exponential_: a leaf tensor that requires grad"):
        w.exponential_()


def test_initial_seed_is_the_last_manual_seed():
    rd.manual_seed(1234)
    assert rd.initial_seed() == 1234
    rd.rand(3)
    assert rd.initial_seed() == 1234                  # drawing does not change it, as torch
