"""Dropout3d, AlphaDropout, FeatureAlphaDropout (+ F), F.gumbel_softmax and EmbeddingBag / F.embedding_bag.

Random masks cannot equal torch's draws, so the dropouts are checked for their defining properties (the two
values an alpha-dropped unit can take, SELU statistics kept, channel-wise masks, eval identity, gradient =
the mask's scale) and against torch where no randomness is involved. EmbeddingBag is compared with torch.
"""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)
ALPHA = 1.7580993408473766


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_keeps_selu_statistics(feature):
    rd.manual_seed(0)
    p = 0.2
    x = rd.tensor(np.random.default_rng(1).normal(size=(400, 50, 4)), requires_grad=True)
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    y = fn(x, p, training=True)
    a = 1 / np.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    yv, xv = y.detach().numpy(), x.detach().numpy()
    kept = np.isclose(yv, a * xv + ALPHA * a * p)
    dropped = np.isclose(yv, -ALPHA * a + ALPHA * a * p)
    assert (kept | dropped).all() and abs(dropped.mean() - p) < 0.02
    assert abs(yv.mean()) < 0.02 and abs(yv.var() - 1) < 0.03                   # zero mean, unit variance kept
    if feature:                                                                  # one draw per (n, c)
        assert (dropped.all(-1) | kept.all(-1)).all()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, a, 0.0))
    module = (rd.nn.FeatureAlphaDropout if feature else rd.nn.AlphaDropout)(p)
    assert repr(module) == repr((torch.nn.FeatureAlphaDropout if feature else torch.nn.AlphaDropout)(p))
    module.eval()
    assert module(x) is x
    assert fn(x, p) is x                                                          # training=False by default


def test_alpha_dropout_edge_probabilities_match_torch():
    x = rng.normal(size=(3, 4, 2))
    for p in (0.0, 1.0):
        compare_functional_with_torch(lambda a: F.alpha_dropout(a, p, True), lambda a: TF.alpha_dropout(a, p, True),
                                      [x])


def test_dropout3d_zeroes_whole_volumes():
    rd.manual_seed(0)
    x = rd.ones(20, 8, 2, 3, 2, requires_grad=True)
    y = F.dropout3d(x, 0.5).detach().numpy()
    per_channel = y.reshape(20, 8, -1)
    assert set(np.unique(per_channel)) <= {0.0, 2.0} and (per_channel.min(-1) == per_channel.max(-1)).all()
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    unbatched = F.dropout3d(rd.ones(6, 2, 2, 2), 0.5).numpy().reshape(6, -1)
    assert (unbatched.min(-1) == unbatched.max(-1)).all()
    m = rd.nn.Dropout3d(0.3)
    assert repr(m) == repr(torch.nn.Dropout3d(0.3))
    m.eval()
    assert m(x) is x


def test_gumbel_softmax():
    logits = rd.tensor(rng.normal(size=(5, 4)), requires_grad=True)
    rd.manual_seed(3)
    soft = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_allclose(soft.detach().numpy().sum(-1), 1.0)
    rd.manual_seed(3)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)                         # the same noise
    h = hard.detach().numpy()
    assert set(np.unique(h)) == {0.0, 1.0} and (h.sum(-1) == 1).all()
    np.testing.assert_array_equal(h.argmax(-1), soft.detach().numpy().argmax(-1))
    w = rd.tensor(rng.uniform(size=(5, 4)))
    (soft * w).sum().backward()
    g_soft = logits.grad.numpy().copy()
    logits.grad = None
    (hard * w).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), g_soft)                      # straight-through gradient
    rd.manual_seed(3)
    h0 = F.gumbel_softmax(logits, hard=True, dim=0).detach().numpy()
    assert (h0.sum(0) == 1).all()
    # the same distribution as torch's: how often each class wins
    counts = np.zeros(3)
    probs = np.array([0.2, 0.5, 0.3])
    rd.manual_seed(0)
    draws = F.gumbel_softmax(rd.tensor(np.log(np.tile(probs, (4000, 1)))), hard=True).numpy()
    counts = draws.mean(0)
    np.testing.assert_allclose(counts, probs, atol=0.03)


BAGS = [({"mode": "sum"}, None), ({"mode": "mean"}, None), ({"mode": "max"}, None),
        ({"mode": "mean", "padding_idx": 2}, None), ({"mode": "sum", "include_last_offset": True}, None),
        ({"mode": "max", "padding_idx": 0}, None), ({"mode": "sum"}, "psw"),
        ]


@pytest.mark.parametrize("kw, psw", BAGS)
def test_embedding_bag_1d_with_offsets(kw, psw):
    idx = np.array([1, 2, 4, 5, 4, 3, 2, 0, 2, 2])
    offsets = np.array([0, 3, 3, 7, 10]) if kw.get("include_last_offset") else np.array([0, 3, 3, 7])   # empty bag
    w = rng.normal(size=(6, 3))
    arrays = [w] + ([rng.uniform(0.5, 2, size=idx.shape)] if psw else [])
    compare_functional_with_torch(
        lambda ww, *p: F.embedding_bag(rd.tensor(idx), ww, rd.tensor(offsets), per_sample_weights=p[0] if p else None,
                                       **kw),
        lambda ww, *p: TF.embedding_bag(torch.tensor(idx), ww, torch.tensor(offsets),
                                        per_sample_weights=p[0] if p else None, **kw), arrays)
    ours, ref = rd.nn.EmbeddingBag(6, 3, **kw), torch.nn.EmbeddingBag(6, 3, **kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[idx, offsets])


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_2d_and_max_norm(mode):
    idx = rng.integers(0, 7, size=(4, 3))
    compare_functional_with_torch(lambda ww: F.embedding_bag(rd.tensor(idx), ww, mode=mode),
                                  lambda ww: TF.embedding_bag(torch.tensor(idx), ww, mode=mode),
                                  [rng.normal(size=(7, 5))])
    ours, ref = rd.nn.EmbeddingBag(7, 5, max_norm=1.0, mode=mode), torch.nn.EmbeddingBag(7, 5, max_norm=1.0, mode=mode)
    compare_with_torch(ours, ref, inputs=[idx])
    with torch.no_grad():
        np.testing.assert_allclose(ours.weight.detach().numpy(), ref.weight.numpy(), rtol=1e-12)   # renormed alike


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_embedding_bag_scale_grad_by_freq(mode):
    """Each row's gradient divided by its count in the input, as documented. (torch 2.13's CPU kernel divides
    rows 3, 4, 5 here by the counts of other rows: [1, 1, 1, .25, .5, .25] for sum of ones, so no torch oracle.)"""
    idx, offsets, w = np.array([1, 2, 4, 5, 4, 3, 2, 0, 2, 2]), np.array([0, 3, 7]), rng.normal(size=(6, 3))
    grads = []
    for scale in (False, True):
        weight = rd.tensor(w, requires_grad=True)
        out = F.embedding_bag(rd.tensor(idx), weight, rd.tensor(offsets), mode=mode, scale_grad_by_freq=scale)
        out.sum().backward()
        grads.append(weight.grad.numpy())
    counts = np.maximum(np.bincount(idx, minlength=6), 1)[:, None]
    np.testing.assert_allclose(grads[1], grads[0] / counts, rtol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="embedding_bag: mode has to be one of sum, mean or max"):
        F.embedding_bag(rd.tensor([[0]]), rd.ones(2, 2), mode="min")
    with pytest.raises(NotImplementedError, match="per_sample_weights is only supported for mode='sum'"):
        F.embedding_bag(rd.tensor([[0]]), rd.ones(2, 2), per_sample_weights=rd.ones(1, 1))
    with pytest.raises(ValueError, match="if input is 2-D, offsets has to be None"):
        F.embedding_bag(rd.tensor([[0]]), rd.ones(2, 2), rd.tensor([0]))
    with pytest.raises(ValueError, match="AlphaDropout: dropout probability has to be between 0 and 1"):
        rd.nn.AlphaDropout(2)
