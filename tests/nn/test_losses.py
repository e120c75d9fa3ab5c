"""Losses (F functions and nn modules) against torch: values, input AND target gradients, every reduction and
option, in float64 (tight) and float32 (loose); gradcheck; extreme logits; one fused op where promised; errors."""
import warnings

import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from redes.ops import loss as L
from tests.nn.helpers import assert_close, compare_functional_with_torch, torch

TF = torch.nn.functional
DTYPES = [np.float64, np.float32]
REDUCTIONS = ["mean", "sum", "none"]
R = np.random.default_rng(7)


def _u(shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape)


def _probs(shape, axis=1):
    e = np.exp(R.normal(size=shape))
    return e / e.sum(axis, keepdims=True)


def _logprobs(shape, axis=1):
    return np.log(_probs(shape, axis))


def _labels(n, c, shape=None, ignore=None):
    t = R.integers(0, c, n if shape is None else shape)
    if ignore is not None:
        t.reshape(-1)[::3] = ignore
    return t


def _const(lib, a, dtype):
    """A constant (no grad) tensor for redes or torch, e.g. class weights."""
    return lib.tensor(np.asarray(a, dtype=dtype))


def _lib(x):
    return rd if isinstance(x, rd.Tensor) else torch


def _fn(lib):
    return F if lib is rd else TF


# name -> (call(lib_F, tensors..., dtype, lib), arrays). Float arrays require grad (input and target gradients
# are both compared with torch); integer arrays (class indices) are passed as they are.
CASES = {
    "mse": (lambda f, x, t, **k: f.mse_loss(x, t, **k), lambda: [_u((4, 5)), _u((4, 5))]),
    "mse_weight": (lambda f, x, t, w=None, **k: f.mse_loss(x, t, weight=w, **k),
                   lambda: [_u((4, 5)), _u((4, 5))], (4, 5)),
    "l1": (lambda f, x, t, **k: f.l1_loss(x, t, **k), lambda: [_u((4, 5)), _u((4, 5))]),
    "l1_weight": (lambda f, x, t, w=None, **k: f.l1_loss(x, t, weight=w, **k),
                  lambda: [_u((3, 4)), _u((3, 4))], (3, 4)),
    "smooth_l1": (lambda f, x, t, **k: f.smooth_l1_loss(x, t, **k), lambda: [_u((4, 5)), _u((4, 5))]),
    "smooth_l1_beta05": (lambda f, x, t, **k: f.smooth_l1_loss(x, t, beta=0.5, **k), lambda: [_u((6, 5)), _u((6, 5))]),
    "smooth_l1_beta0": (lambda f, x, t, **k: f.smooth_l1_loss(x, t, beta=0.0, **k), lambda: [_u((4, 3)), _u((4, 3))]),
    "huber": (lambda f, x, t, **k: f.huber_loss(x, t, **k), lambda: [_u((4, 5)), _u((4, 5))]),
    "huber_delta2": (lambda f, x, t, **k: f.huber_loss(x, t, delta=2.0, **k), lambda: [_u((4, 5), -4, 4), _u((4, 5))]),
    "huber_weight": (lambda f, x, t, w=None, **k: f.huber_loss(x, t, delta=0.7, weight=w, **k),
                     lambda: [_u((4, 5)), _u((4, 5))], (4, 5)),
    "bce": (lambda f, x, t, **k: f.binary_cross_entropy(x, t, **k), lambda: [_u((4, 5), 0.05, 0.95), _u((4, 5), 0, 1)]),
    "bce_weight": (lambda f, x, t, w=None, **k: f.binary_cross_entropy(x, t, weight=w, **k),
                   lambda: [_u((4, 5), 0.05, 0.95), _u((4, 5), 0, 1)], (5,)),
    "bce_logits": (lambda f, x, t, **k: f.binary_cross_entropy_with_logits(x, t, **k),
                   lambda: [_u((4, 5), -4, 4), _u((4, 5), 0, 1)]),
    "bce_logits_weight": (lambda f, x, t, w=None, **k: f.binary_cross_entropy_with_logits(x, t, weight=w, **k),
                          lambda: [_u((4, 5), -4, 4), _u((4, 5), 0, 1)], (4, 5)),
    "bce_logits_pos_weight": (lambda f, x, t, w=None, **k: f.binary_cross_entropy_with_logits(x, t, pos_weight=w, **k),
                              lambda: [_u((3, 4, 5), -4, 4), _u((3, 4, 5), 0, 1)], (5,)),
    "ce": (lambda f, x, t, **k: f.cross_entropy(x, t, **k), lambda: [_u((6, 5)), _labels(6, 5)]),
    "ce_weight": (lambda f, x, t, w=None, **k: f.cross_entropy(x, t, weight=w, **k),
                  lambda: [_u((6, 5)), _labels(6, 5)], (5,)),
    "ce_ignore": (lambda f, x, t, **k: f.cross_entropy(x, t, ignore_index=-1, **k),
                  lambda: [_u((7, 4)), _labels(7, 4, ignore=-1)]),
    "ce_ignore_in_range": (lambda f, x, t, w=None, **k: f.cross_entropy(x, t, weight=w, ignore_index=0, **k),
                           lambda: [_u((9, 4)), _labels(9, 4)], (4,)),
    "ce_weight_ignore_smooth": (lambda f, x, t, w=None, **k: f.cross_entropy(x, t, weight=w, ignore_index=2,
                                                                              label_smoothing=0.2, **k),
                                lambda: [_u((8, 5)), _labels(8, 5, ignore=2)], (5,)),
    "ce_smooth": (lambda f, x, t, **k: f.cross_entropy(x, t, label_smoothing=0.1, **k),
                  lambda: [_u((6, 5)), _labels(6, 5)]),
    "ce_nd": (lambda f, x, t, **k: f.cross_entropy(x, t, **k), lambda: [_u((2, 4, 3, 5)), _labels(0, 4, (2, 3, 5))]),
    "ce_nd_weight_ignore_smooth": (lambda f, x, t, w=None, **k: f.cross_entropy(x, t, weight=w, ignore_index=-100,
                                                                                 label_smoothing=0.3, **k),
                                   lambda: [_u((2, 3, 4)), _labels(0, 3, (2, 4), ignore=-100)], (3,)),
    "ce_unbatched": (lambda f, x, t, **k: f.cross_entropy(x, t, **k), lambda: [_u((5,)), np.array(3)]),
    "ce_probs": (lambda f, x, t, **k: f.cross_entropy(x, t, **k), lambda: [_u((6, 5)), _probs((6, 5))]),
    "ce_probs_weight_smooth": (lambda f, x, t, w=None, **k: f.cross_entropy(x, t, weight=w, label_smoothing=0.25, **k),
                               lambda: [_u((2, 4, 3)), _probs((2, 4, 3))], (4,)),
    "ce_probs_unbatched": (lambda f, x, t, **k: f.cross_entropy(x, t, **k), lambda: [_u((5,)), _probs((5,), 0)]),
    "nll": (lambda f, x, t, **k: f.nll_loss(x, t, **k), lambda: [_logprobs((6, 5)), _labels(6, 5)]),
    "nll_weight_ignore": (lambda f, x, t, w=None, **k: f.nll_loss(x, t, weight=w, ignore_index=1, **k),
                          lambda: [_logprobs((8, 4)), _labels(8, 4, ignore=1)], (4,)),
    "nll_nd": (lambda f, x, t, w=None, **k: f.nll_loss(x, t, weight=w, **k),
               lambda: [_logprobs((2, 3, 2, 2)), _labels(0, 3, (2, 2, 2))], (3,)),
    "kl_div": (lambda f, x, t, **k: f.kl_div(x, t, **k), lambda: [_logprobs((4, 5)), _probs((4, 5))]),
    "kl_div_log_target": (lambda f, x, t, **k: f.kl_div(x, t, log_target=True, **k),
                          lambda: [_logprobs((4, 5)), _logprobs((4, 5))]),
    "cosine_embedding": (lambda f, a, b, t, **k: f.cosine_embedding_loss(a, b, t, margin=0.2, **k),
                         lambda: [_u((6, 4)), _u((6, 4)), np.array([1, -1, 1, -1, -1, 1])]),
    "cosine_embedding_1d": (lambda f, a, b, t, **k: f.cosine_embedding_loss(a, b, t, **k),
                            lambda: [_u((4,)), _u((4,)), np.array(-1)]),
    "margin_ranking": (lambda f, a, b, t, **k: f.margin_ranking_loss(a, b, t, margin=0.3, **k),
                       lambda: [_u((7,)), _u((7,)), np.array([1.0, -1, 1, 1, -1, -1, 1])]),
}


def _compare_case(name, reduction, dtype):
    call, make, *wshape = CASES[name]
    arrays = make()
    weight = R.uniform(0.5, 2.0, wshape[0]) if wshape else None

    def bind(lib):
        def fn(*ts):
            kw = {"reduction": reduction}
            if weight is not None:
                kw["w"] = _const(lib, weight, dtype)
            return call(_fn(lib), *ts, **kw)
        return fn
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")        # kl_div's 'mean' warning (torch and redes both warn)
        compare_functional_with_torch(bind(rd), bind(torch), arrays, dtype)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(CASES))
def test_loss_vs_torch_float64(name, reduction):
    _compare_case(name, reduction, np.float64)


@pytest.mark.parametrize("name", list(CASES))
def test_loss_vs_torch_float32(name):
    _compare_case(name, "mean", np.float32)


def test_kl_div_batchmean_vs_torch():
    for log_target in (False, True):
        x, t = _logprobs((5, 4)), (_logprobs((5, 4)) if log_target else _probs((5, 4)))
        compare_functional_with_torch(lambda a, b: F.kl_div(a, b, reduction="batchmean", log_target=log_target),
                                      lambda a, b: TF.kl_div(a, b, reduction="batchmean", log_target=log_target),
                                      [x, t])


def test_kl_div_zero_target_terms_are_zero():
    x = rd.tensor(_logprobs((2, 3)), requires_grad=True)
    t = rd.tensor(np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]]))
    loss = F.kl_div(x, t, reduction="sum")
    ref = TF.kl_div(torch.tensor(x.numpy()), torch.tensor(t.numpy()), reduction="sum")
    assert_close(loss, ref, np.float64, "kl_div with zero targets")
    loss.backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_mse_broadcast_warns_like_torch():
    x, t = _u((4, 3)), _u((3,))
    with pytest.warns(UserWarning, match="target size"):
        compare_functional_with_torch(lambda a, b: F.mse_loss(a, b), lambda a, b: TF.mse_loss(a, b), [x, t])


def test_regression_losses_promote_dtypes_like_torch():
    x = rd.tensor(np.ones((2, 2), np.float32), requires_grad=True)
    assert F.mse_loss(x, rd.tensor(np.zeros((2, 2), np.float64))).dtype == rd.float64
    assert F.mse_loss(x, rd.tensor(np.zeros((2, 2), np.int64))).dtype == rd.float32
    assert F.cross_entropy(x, rd.tensor([0, 1])).dtype == rd.float32
    assert F.binary_cross_entropy_with_logits(x, rd.tensor(np.ones((2, 2), np.float32))).dtype == rd.float32


# ----------------------------------------------------------------------------------- modules
MODULES = [
    ("MSELoss", {}, [_u((4, 3)), _u((4, 3))]),
    ("L1Loss", {"reduction": "sum"}, [_u((4, 3)), _u((4, 3))]),
    ("SmoothL1Loss", {"beta": 0.5}, [_u((4, 3)), _u((4, 3))]),
    ("HuberLoss", {"delta": 0.3, "reduction": "none"}, [_u((4, 3)), _u((4, 3))]),
    ("BCELoss", {"weight": np.array([1.0, 2.0, 0.5])}, [_u((4, 3), 0.1, 0.9), _u((4, 3), 0, 1)]),
    ("BCEWithLogitsLoss", {"pos_weight": np.array([1.0, 3.0, 0.5])}, [_u((4, 3)), _u((4, 3), 0, 1)]),
    ("CrossEntropyLoss", {"weight": np.array([1.0, 2.0, 0.5]), "label_smoothing": 0.1, "ignore_index": 1},
     [_u((6, 3)), _labels(6, 3)]),
    ("NLLLoss", {"weight": np.array([1.0, 2.0, 0.5])}, [_logprobs((5, 3)), _labels(5, 3)]),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True}, [_logprobs((4, 3)), _logprobs((4, 3))]),
    ("CosineEmbeddingLoss", {"margin": 0.1}, [_u((4, 3)), _u((4, 3)), np.array([1, -1, -1, 1])]),
    ("MarginRankingLoss", {"margin": 0.5, "reduction": "sum"}, [_u((5,)), _u((5,)), np.array([1.0, -1, 1, -1, 1])]),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name, kwargs, arrays", MODULES, ids=[m[0] for m in MODULES])
def test_loss_module_vs_torch(name, kwargs, arrays, dtype):
    def build(lib):
        kw = {k: _const(lib, v, dtype) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        return getattr(lib.nn, name)(**kw)
    ours, ref = build(rd), build(torch)
    assert list(ours.state_dict()) == list(ref.state_dict()), "state_dict keys (weight buffers) differ"
    compare_functional_with_torch(ours, ref, arrays, dtype)


def test_loss_module_weight_follows_to_double():
    m = rd.nn.CrossEntropyLoss(weight=rd.tensor([1.0, 2.0])).double()
    assert m.weight.dtype == rd.float64 and m.reduction == "mean"


def test_legacy_size_average_reduce():
    x, t = rd.tensor(_u((3, 2))), rd.tensor(_u((3, 2)))
    with pytest.warns(UserWarning, match="deprecated"):
        assert np.isclose(F.mse_loss(x, t, size_average=False).item(), F.mse_loss(x, t, reduction="sum").item())
    with pytest.warns(UserWarning, match="deprecated"):
        assert rd.nn.L1Loss(reduce=False).reduction == "none"


# ----------------------------------------------------------------------------------- numerics
@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_extreme_logits_finite(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4]], dtype)
    t = np.array([1, 2, 0])
    for kw in ({}, {"label_smoothing": 0.1}, {"weight": rd.tensor(np.array([1.0, 2.0, 3.0], dtype))}):
        xr = rd.tensor(x, requires_grad=True)
        loss = F.cross_entropy(xr, rd.tensor(t), **kw)
        loss.backward()
        assert np.isfinite(loss.item()) and np.isfinite(xr.grad.numpy()).all()
        tkw = {k: torch.tensor(v.numpy()) if isinstance(v, rd.Tensor) else v for k, v in kw.items()}
        xt = torch.tensor(x, requires_grad=True)
        ref = TF.cross_entropy(xt, torch.tensor(t), **tkw)
        ref.backward()
        assert_close(loss, ref, dtype, f"cross_entropy {kw} at +-1e4")
        assert_close(xr.grad, xt.grad, dtype, f"cross_entropy grad {kw} at +-1e4")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("target_dtype", [np.int64, np.int32, np.uint8])
def test_cross_entropy_common_case_matches_the_general_path(dtype, target_dtype):
    """F.cross_entropy's one-test common case (defaults, (N, C) logits, (N,) indices) gives the numbers of the
    general path (reached here by an ignore_index that is no class: the same math) and of torch."""
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(7, 5)).astype(dtype), rng.integers(0, 5, 7).astype(target_dtype)
    results = []
    for kw in ({}, {"ignore_index": -1}):
        xr = rd.tensor(x, requires_grad=True)
        loss = F.cross_entropy(xr, rd.tensor(t), **kw)
        loss.backward()
        results.append((loss.detach().numpy(), xr.grad.numpy()))
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])
    xt = torch.tensor(x, requires_grad=True)
    ref = TF.cross_entropy(xt, torch.tensor(t.astype(np.int64)))
    ref.backward()
    assert_close(rd.tensor(results[0][0]), ref, dtype, "cross_entropy common case")
    assert_close(rd.tensor(results[0][1]), xt.grad, dtype, "cross_entropy common case grad")
    with pytest.raises(IndexError):      # a class index out of range is still caught on the common path
        F.cross_entropy(rd.tensor(x), rd.tensor(np.full(7, 5, target_dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_extreme_logits_finite(dtype):
    x = np.array([1e4, -1e4, 50.0, -50.0, 0.0], dtype)
    t = np.array([0.0, 1.0, 0.3, 0.7, 1.0], dtype)
    for kw in ({}, {"pos_weight": np.array([2.0] * 5, dtype)}):
        xr = rd.tensor(x, requires_grad=True)
        loss = F.binary_cross_entropy_with_logits(xr, rd.tensor(t), reduction="none",
                                                  **{k: rd.tensor(v) for k, v in kw.items()})
        (loss * rd.tensor(np.arange(1.0, 6.0, dtype=dtype))).sum().backward()
        ref = TF.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t), reduction="none",
                                                  **{k: torch.tensor(v) for k, v in kw.items()})
        assert np.isfinite(loss.numpy()).all() and np.isfinite(xr.grad.numpy()).all()
        assert_close(loss, ref, dtype, f"bce_with_logits {kw} at +-1e4")


def test_bce_clamps_log_like_torch():
    x = np.array([0.0, 1.0, 1e-50, 0.3])
    t = np.array([1.0, 0.0, 0.2, 0.6])
    xr, tr = rd.tensor(x, requires_grad=True), rd.tensor(t, requires_grad=True)
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
    loss, ref = F.binary_cross_entropy(xr, tr, reduction="none"), TF.binary_cross_entropy(xt, tt, reduction="none")
    assert_close(loss, ref, np.float64, "bce at 0 and 1 (log clamped at -100)")
    loss.sum().backward()
    ref.sum().backward()
    assert_close(xr.grad, xt.grad, np.float64, "bce input gradient at the edges")
    np.testing.assert_allclose(tr.grad.numpy()[2:], tt.grad.numpy()[2:], rtol=1e-10)


def test_ce_all_targets_ignored_is_nan_like_torch():
    x = rd.tensor(_u((3, 4)), requires_grad=True)
    t = rd.tensor([-100, -100, -100])
    assert np.isnan(F.cross_entropy(x, t).item())
    assert F.cross_entropy(x, t, reduction="sum").item() == 0.0
    F.cross_entropy(x, t, reduction="sum").backward()
    assert not x.grad.numpy().any()


def test_ce_empty_batch_like_torch():
    x = rd.tensor(np.zeros((0, 3)), requires_grad=True)
    t = rd.tensor(np.zeros(0, np.int64))
    assert np.isnan(F.cross_entropy(x, t).item())
    assert F.cross_entropy(x, t, reduction="none").shape == (0,)


# ----------------------------------------------------------------------------------- gradcheck (float64)
GRADCHECK = [
    ("mse", lambda x, t: F.mse_loss(x, t), [(3, 2), (3, 2)]),
    ("mse_bcast_none", lambda x, t: F.mse_loss(x, t.reshape(2), reduction="none"), [(3, 2), (1, 2)]),
    ("ce", lambda x: F.cross_entropy(x, rd.tensor([2, 0, 1])), [(3, 4)]),
    ("ce_all_options", lambda x: F.cross_entropy(x, rd.tensor([2, -1, 1]), weight=rd.tensor([1.0, 2.0, 0.5, 3.0]),
                                                 ignore_index=-1, label_smoothing=0.2), [(3, 4)]),
    ("ce_none_nd", lambda x: F.cross_entropy(x, rd.tensor([[0, 2], [1, 1]]), reduction="none"), [(2, 3, 2)]),
    ("ce_probs", lambda x, t: F.cross_entropy(x, t.softmax(1), label_smoothing=0.1), [(3, 4), (3, 4)]),
    ("nll", lambda x: F.nll_loss(x, rd.tensor([2, 0, 1]), weight=rd.tensor([1.0, 2.0, 0.5, 3.0])), [(3, 4)]),
    ("bce", lambda x, t: F.binary_cross_entropy(x.sigmoid(), t.sigmoid(), weight=rd.tensor([1.0, 2.0])),
     [(3, 2), (3, 2)]),
    ("bce_logits", lambda x, t: F.binary_cross_entropy_with_logits(x, t.sigmoid(), pos_weight=rd.tensor([1.0, 3.0]),
                                                                   weight=rd.tensor([0.5, 2.0]), reduction="sum"),
     [(3, 2), (3, 2)]),
    ("smooth_l1", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5), [(3, 2), (3, 2)]),
    ("huber", lambda x, t: F.huber_loss(x, t, delta=0.5, reduction="none"), [(3, 2), (3, 2)]),
    ("kl_div", lambda x, t: F.kl_div(x.log_softmax(1), t.softmax(1), reduction="batchmean"), [(3, 4), (3, 4)]),
    ("cosine_embedding", lambda a, b: F.cosine_embedding_loss(a, b, rd.tensor([1, -1, -1]), margin=-0.5),
     [(3, 4), (3, 4)]),
    ("margin_ranking", lambda a, b: F.margin_ranking_loss(a, b, rd.tensor([1.0, -1.0, 1.0]), margin=2.5),
     [(3,), (3,)]),
]


@pytest.mark.filterwarnings("ignore:mse_loss. using a target size")
@pytest.mark.parametrize("name, fn, shapes", GRADCHECK, ids=[g[0] for g in GRADCHECK])
def test_gradcheck(name, fn, shapes):
    rng = np.random.default_rng(3)
    xs = [rd.tensor(rng.uniform(-1.5, 1.5, s), requires_grad=True) for s in shapes]
    assert rd.gradcheck(fn, xs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_mse_second_derivative_vs_torch():
    x, t = _u((3, 2)), _u((3, 2))
    grads = []
    for lib, f in ((rd, F), (torch, TF)):
        a, b = lib.tensor(x, requires_grad=True), lib.tensor(t, requires_grad=True)
        (ga,) = (rd.grad if lib is rd else torch.autograd.grad)(f.mse_loss(a, b) * 3.0, [a], create_graph=True)
        (ga * ga).sum().backward()
        grads.append((a.grad, b.grad))
    for ours, ref in zip(*grads):
        assert_close(ours, ref, np.float64, "mse_loss second derivative")


# ----------------------------------------------------------------------------------- one fused op
def test_cross_entropy_and_mse_are_one_fused_op():
    x = rd.tensor(_u((8, 10)), requires_grad=True)
    loss = F.cross_entropy(x, rd.tensor(_labels(8, 10)))
    assert loss.grad_fn.op == "cross_entropy" and loss.grad_fn.next_functions == (None, None)
    assert 8 in L._ARANGE, "the row indices should be cached"
    loss = F.mse_loss(x, rd.tensor(_u((8, 10))))
    assert loss.grad_fn.op == "mse_loss" and loss.grad_fn.next_functions == (None, None)
    for name in ("mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits"):
        assert name in rd.ops.OPS


# ----------------------------------------------------------------------------------- errors
def test_cross_entropy_errors_name_shapes_and_values():
    x = rd.randn(8, 10)
    with pytest.raises(ValueError, match=r"cross_entropy: target has shape \(8, 1\) but expected \(8,\) for "
                                         r"input \(8, 10\) with class indices"):
        F.cross_entropy(x, rd.zeros(8, 1, dtype=rd.int64))
    with pytest.raises(IndexError, match="target value 12 is out of range for 10 classes"):
        F.cross_entropy(x, rd.tensor([0, 1, 2, 12, 0, 0, 0, 0]))
    with pytest.raises(IndexError, match="target value -3 is out of range for 10 classes"):
        F.cross_entropy(x, rd.tensor([0, 1, 2, -3, 0, 0, 0, 0]))
    with pytest.raises(ValueError, match=r"dtype float32 and shape \(8,\).*integers"):
        F.cross_entropy(x, rd.zeros(8))
    with pytest.raises(ValueError, match=r"weight has shape \(3,\), expected \(10,\)"):
        F.cross_entropy(x, rd.zeros(8, dtype=rd.int64), weight=rd.ones(3))
    with pytest.raises(ValueError, match="label_smoothing must be between"):
        F.cross_entropy(x, rd.zeros(8, dtype=rd.int64), label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(x, rd.zeros(8, dtype=rd.int64), reduction="avg")
    with pytest.raises(TypeError, match="cross_entropy: input must be floating point, got int64"):
        F.cross_entropy(rd.zeros(8, 10, dtype=rd.int64), rd.zeros(8, dtype=rd.int64))
    with pytest.raises(TypeError, match="target must be a Tensor"):
        F.cross_entropy(x, np.zeros(8, np.int64))
    with pytest.raises(IndexError, match="nll_loss: target value 4"):
        F.nll_loss(rd.randn(3, 4), rd.tensor([0, 4, 1]))
    with pytest.raises(TypeError, match="nll_loss: target must hold integer class indices, got float32"):
        F.nll_loss(rd.randn(3, 4), rd.zeros(3))


def test_binary_and_regression_errors():
    with pytest.raises(ValueError, match=r"binary_cross_entropy: target shape \(8,\) must be the same as input "
                                         r"shape \(8, 1\)"):
        F.binary_cross_entropy(rd.rand(8, 1), rd.rand(8))
    with pytest.raises(RuntimeError, match="between 0 and 1, got min"):
        F.binary_cross_entropy(rd.tensor([0.5, 1.5]), rd.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: target shape"):
        F.binary_cross_entropy_with_logits(rd.rand(8, 1), rd.rand(8))
    with pytest.raises(ValueError, match=r"pos_weight has shape \(3,\), which does not broadcast"):
        F.binary_cross_entropy_with_logits(rd.rand(4, 2), rd.rand(4, 2), pos_weight=rd.ones(3))
    with pytest.raises(ValueError, match=r"mse_loss: target shape \(4,\) does not match input shape \(3, 2\)"):
        F.mse_loss(rd.rand(3, 2), rd.rand(4))
    with pytest.raises(ValueError, match="mse_loss: weight has shape"):
        F.mse_loss(rd.rand(3, 2), rd.rand(3, 2), weight=rd.rand(2))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
        F.smooth_l1_loss(rd.rand(3), rd.rand(3), beta=-1.0)
    with pytest.raises(ValueError, match="cosine_embedding_loss: target has shape"):
        F.cosine_embedding_loss(rd.rand(3, 2), rd.rand(3, 2), rd.ones(2))
    with pytest.raises(ValueError, match="margin_ranking_loss: input1, input2 and target"):
        F.margin_ranking_loss(rd.rand(3), rd.rand(3), rd.ones(3, 1))
    with pytest.raises(ValueError, match="reduction must be one of"):
        rd.nn.MSELoss(reduction="batchmean")
