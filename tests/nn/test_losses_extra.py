"""The losses added for torch.nn coverage (margin/embedding losses, Poisson/Gaussian NLL, CTC, linear
cross-entropy, adaptive softmax) against torch: values and gradients for every reduction, float64."""
import warnings

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)
REDUCTIONS = ["mean", "sum", "none"]


def _pm1(shape):
    return rng.choice([-1.0, 1.0], size=shape)


def _both(name, arrays, target=None, **kw):
    """F.name vs torch's: gradients for the float arrays; `target` (if given) is a constant last argument."""
    if target is None:
        compare_functional_with_torch(lambda *a: getattr(F, name)(*a, **kw), lambda *a: getattr(TF, name)(*a, **kw),
                                      arrays)
        return
    compare_functional_with_torch(lambda *a: getattr(F, name)(*a, rd.tensor(target), **kw),
                                  lambda *a: getattr(TF, name)(*a, torch.tensor(target), **kw), arrays)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_soft_margin_and_multilabel_soft_margin(reduction):
    x = rng.normal(size=(4, 5)) * 3
    _both("soft_margin_loss", [x], _pm1((4, 5)), reduction=reduction)
    y = rng.integers(0, 2, size=(4, 5)).astype(float)
    _both("multilabel_soft_margin_loss", [x, y], reduction=reduction)
    w = rng.uniform(0.5, 2, size=5)
    compare_functional_with_torch(
        lambda a, b: F.multilabel_soft_margin_loss(a, b, weight=rd.tensor(w), reduction=reduction),
        lambda a, b: TF.multilabel_soft_margin_loss(a, b, weight=torch.tensor(w), reduction=reduction), [x, y])
    ys = _pm1((4, 5))                # torch's soft margin loss has no target gradient
    compare_functional_with_torch(lambda a: rd.nn.SoftMarginLoss(reduction=reduction)(a, rd.tensor(ys)),
                                  lambda a: torch.nn.SoftMarginLoss(reduction=reduction)(a, torch.tensor(ys)), [x])
    compare_with_torch(rd.nn.MultiLabelSoftMarginLoss(rd.tensor(w), reduction=reduction),
                       torch.nn.MultiLabelSoftMarginLoss(torch.tensor(w), reduction=reduction), inputs=[x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multilabel_margin(reduction):
    x = rng.normal(size=(3, 5))
    target = np.array([[3, 0, -1, 1, 2], [1, 2, 4, 0, -1], [-1, 2, 2, 2, 2]])
    compare_functional_with_torch(lambda a: F.multilabel_margin_loss(a, rd.tensor(target), reduction=reduction),
                                  lambda a: TF.multilabel_margin_loss(a, torch.tensor(target), reduction=reduction),
                                  [x])
    compare_functional_with_torch(lambda a: F.multilabel_margin_loss(a, rd.tensor(target[0]), reduction=reduction),
                                  lambda a: TF.multilabel_margin_loss(a, torch.tensor(target[0]), reduction=reduction),
                                  [x[0]])
    compare_with_torch(rd.nn.MultiLabelMarginLoss(reduction=reduction),
                       torch.nn.MultiLabelMarginLoss(reduction=reduction), inputs=[x, target])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, margin", [(1, 1.0), (2, 0.7)])
def test_multi_margin(reduction, p, margin):
    x, t = rng.normal(size=(4, 5)), rng.integers(0, 5, size=4)
    w = rng.uniform(0.5, 2, size=5)
    for weight in (None, w):
        kw = {"p": p, "margin": margin, "reduction": reduction}
        compare_functional_with_torch(
            lambda a: F.multi_margin_loss(a, rd.tensor(t), weight=None if weight is None else rd.tensor(weight), **kw),
            lambda a: TF.multi_margin_loss(a, torch.tensor(t), weight=None if weight is None else torch.tensor(weight),
                                           **kw), [x])
    compare_functional_with_torch(lambda a: F.multi_margin_loss(a, rd.tensor(t[0]), reduction=reduction),
                                  lambda a: TF.multi_margin_loss(a, torch.tensor(t[0]), reduction=reduction), [x[0]])
    compare_with_torch(rd.nn.MultiMarginLoss(p, margin, rd.tensor(w), reduction=reduction),
                       torch.nn.MultiMarginLoss(p, margin, torch.tensor(w), reduction=reduction), inputs=[x, t])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_hinge_embedding(reduction):
    x = rng.uniform(0, 2, size=(4, 3))
    _both("hinge_embedding_loss", [x, _pm1((4, 3))], margin=1.3, reduction=reduction)
    compare_with_torch(rd.nn.HingeEmbeddingLoss(0.5, reduction=reduction),
                       torch.nn.HingeEmbeddingLoss(0.5, reduction=reduction), inputs=[x, _pm1((4, 3))])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, swap", [(2.0, False), (1.0, True), (3.0, False)])
def test_triplet_margin(reduction, p, swap):
    a, pos, neg = (rng.normal(size=(5, 4)) for _ in range(3))
    _both("triplet_margin_loss", [a, pos, neg], margin=1.5, p=p, swap=swap, reduction=reduction)
    _both("triplet_margin_loss", [a[0], pos[0], neg[0]], p=p, swap=swap, reduction=reduction)
    compare_with_torch(rd.nn.TripletMarginLoss(1.2, p, swap=swap, reduction=reduction),
                       torch.nn.TripletMarginLoss(1.2, p, swap=swap, reduction=reduction), inputs=[a, pos, neg])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_with_distance(reduction):
    a, pos, neg = (rng.normal(size=(5, 4)) for _ in range(3))
    _both("triplet_margin_with_distance_loss", [a, pos, neg], reduction=reduction)
    compare_functional_with_torch(
        lambda *t: F.triplet_margin_with_distance_loss(*t, distance_function=lambda u, v: 1 - F.cosine_similarity(u, v),
                                                       margin=0.5, swap=True, reduction=reduction),
        lambda *t: TF.triplet_margin_with_distance_loss(*t,
                                                        distance_function=lambda u, v: 1 - TF.cosine_similarity(u, v),
                                                        margin=0.5, swap=True, reduction=reduction), [a, pos, neg])
    ours = rd.nn.TripletMarginWithDistanceLoss(reduction=reduction)
    ref = torch.nn.TripletMarginWithDistanceLoss(reduction=reduction)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[a, pos, neg])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("log_input, full", [(True, False), (False, False), (True, True), (False, True)])
def test_poisson_nll(reduction, log_input, full):
    x = rng.normal(size=(4, 3)) if log_input else rng.uniform(0.1, 3, size=(4, 3))
    y = rng.poisson(2.0, size=(4, 3)).astype(float)
    _both("poisson_nll_loss", [x], y, log_input=log_input, full=full, reduction=reduction)
    y_real = rng.uniform(0.5, 4, size=(4, 3))                  # a float target gets its gradient too
    _both("poisson_nll_loss", [x, y_real], log_input=log_input, full=full, reduction=reduction)
    compare_with_torch(rd.nn.PoissonNLLLoss(log_input, full, reduction=reduction),
                       torch.nn.PoissonNLLLoss(log_input, full, reduction=reduction), inputs=[x, y.astype(np.int64)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1)])
def test_gaussian_nll(reduction, var_shape):
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    var = rng.uniform(0.2, 2, size=var_shape)
    var.flat[0] = 1e-8                                     # clamped at eps: the gradient still reaches var
    for full in (False, True):
        _both("gaussian_nll_loss", [x, y, var], full=full, reduction=reduction)
    compare_with_torch(rd.nn.GaussianNLLLoss(full=True, reduction=reduction),
                       torch.nn.GaussianNLLLoss(full=True, reduction=reduction), inputs=[x, y, var])


CTC_TARGETS = np.array([[1, 2, 2], [3, 1, 0], [4, 0, 0]])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("layout", ["padded", "concatenated"])
def test_ctc(reduction, layout):
    logits = rng.normal(size=(8, 3, 5))
    il, tl = np.array([8, 6, 7]), np.array([3, 2, 1])
    targets = CTC_TARGETS if layout == "padded" else np.concatenate([r[:k] for r, k in zip(CTC_TARGETS, tl)])
    # through log_softmax: torch's CTC backward returns the gradient for the logits under it (pytorch#52241)
    compare_functional_with_torch(
        lambda a: F.ctc_loss(a.log_softmax(2), rd.tensor(targets), rd.tensor(il), rd.tensor(tl), reduction=reduction),
        lambda a: TF.ctc_loss(a.log_softmax(2), torch.tensor(targets), torch.tensor(il), torch.tensor(tl),
                              reduction=reduction), [logits])


def test_ctc_blank_impossible_and_unbatched():
    logits = rng.normal(size=(4, 2, 5))
    tg, il, tl = np.array([[1, 1, 1], [2, 3, 4]]), np.array([4, 4]), np.array([3, 3])   # row 0 needs 5 steps
    for zero_inf in (False, True):
        ours = F.ctc_loss(rd.tensor(logits).log_softmax(2), rd.tensor(tg), rd.tensor(il), rd.tensor(tl), blank=0,
                          reduction="none", zero_infinity=zero_inf)
        ref = TF.ctc_loss(torch.tensor(logits).log_softmax(2), torch.tensor(tg), torch.tensor(il), torch.tensor(tl),
                          blank=0, reduction="none", zero_infinity=zero_inf)
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10)
    compare_functional_with_torch(
        lambda a: F.ctc_loss(a.log_softmax(1), rd.tensor([2, 3]), rd.tensor(6), rd.tensor(2), blank=4),
        lambda a: TF.ctc_loss(a.log_softmax(1), torch.tensor([2, 3]), torch.tensor(6), torch.tensor(2), blank=4),
        [rng.normal(size=(6, 5))])
    x, tg, il, tl = rng.normal(size=(6, 2, 5)), np.array([[0, 1], [2, 2]]), np.array([6, 5]), np.array([2, 2])
    compare_functional_with_torch(
        lambda a: rd.nn.CTCLoss(blank=4, reduction="sum")(a.log_softmax(2), *map(rd.tensor, (tg, il, tl))),
        lambda a: torch.nn.CTCLoss(blank=4, reduction="sum")(a.log_softmax(2), *map(torch.tensor, (tg, il, tl))), [x])


@pytest.mark.parametrize("kw", [{}, {"reduction": "sum", "label_smoothing": 0.1}, {"ignore_index": 2}])
def test_linear_cross_entropy(kw):
    x, w, b, t = rng.normal(size=(5, 4)), rng.normal(size=(3, 4)), rng.normal(size=3), rng.integers(0, 3, size=5)
    compare_functional_with_torch(lambda a, ww, bb: F.linear_cross_entropy(a, ww, rd.tensor(t), linear_bias=bb, **kw),
                                  lambda a, ww, bb: TF.linear_cross_entropy(a, ww, torch.tensor(t), linear_bias=bb,
                                                                            **kw), [x, w, b])
    ours = rd.nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, **kw)
    ref = torch.nn.LinearCrossEntropyLoss(4, 3, out_features=(2,), bias=True, **kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[x, rng.integers(0, 3, size=(5, 2))])


def test_nll_loss2d_is_nllloss():
    with pytest.warns(FutureWarning, match="NLLLoss2d has been deprecated"):
        ours = rd.nn.NLLLoss2d()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = torch.nn.NLLLoss2d()
    x = TF.log_softmax(torch.tensor(rng.normal(size=(2, 3, 4, 4))), 1).numpy()
    compare_with_torch(ours, ref, inputs=[x, rng.integers(0, 3, size=(2, 4, 4))])


@pytest.mark.parametrize("head_bias", [False, True])
def test_adaptive_log_softmax(head_bias):
    ours, ref = (m.AdaptiveLogSoftmaxWithLoss(16, 10, [3, 7], div_value=2.0, head_bias=head_bias)
                 for m in (rd.nn, torch.nn))
    assert repr(ours) == repr(ref)
    x, t = rng.normal(size=(6, 16)), np.array([0, 4, 9, 2, 7, 8])
    compare_with_torch(ours, ref, inputs=[x, t])
    xt = torch.tensor(x)
    np.testing.assert_allclose(ours.log_prob(rd.tensor(x)).detach().numpy(), ref.log_prob(xt).detach().numpy(),
                               rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(rd.tensor(x)).numpy(), ref.predict(xt).numpy())
    out, loss = ours(rd.tensor(x[0]), rd.tensor(t[0]))
    assert out.shape == () and abs(loss.item() + out.item()) < 1e-12


def test_errors():
    with pytest.raises(ValueError, match="multi_margin_loss: only p == 1 and p == 2 supported, got p=3"):
        F.multi_margin_loss(rd.ones(2, 3), rd.tensor([0, 1]), p=3)
    with pytest.raises(ValueError, match="TripletMarginLoss: margin must be greater than 0, got -1"):
        rd.nn.TripletMarginLoss(margin=-1)
    with pytest.raises(ValueError, match="gaussian_nll_loss: var of shape"):
        F.gaussian_nll_loss(rd.ones(4, 3), rd.ones(4, 3), rd.ones(3, 4))
    with pytest.raises(ValueError, match="cutoffs should be a sequence of unique, positive integers"):
        rd.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3])
    with pytest.raises(RuntimeError, match=r"target values should be in \[0, 9\]"):
        rd.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(rd.ones(1, 8), rd.tensor([10]))
    with pytest.raises(RuntimeError, match="ctc_loss: blank must be in label range"):
        F.ctc_loss(rd.ones(3, 1, 4), rd.tensor([[1]]), rd.tensor([3]), rd.tensor([1]), blank=7)
