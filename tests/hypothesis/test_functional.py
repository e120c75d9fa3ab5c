"""Generated cases for the layers' functional forms against torch.nn.functional: linear, conv1d/2d (any kernel,
stride, padding, dilation, groups, fitting or not), max/avg pools, batch/layer/group norm, the losses (any reduction,
shapes that match or not), softmax family, embedding and scaled dot-product attention."""
import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

import redes as rd

from gen_harness import arrays, check, float_dtypes, layouts

NAMES = {rd: rd.nn.functional, torch: torch.nn.functional}
LOOSE32 = dict(rtol=2e-4, atol=2e-5)           # float32 sums over windows and rows: torch's own float32 error


def F(x):
    return NAMES[torch] if isinstance(x, torch.Tensor) else NAMES[rd]


def _tol(dtype):
    return LOOSE32 if dtype == np.float32 else None


sizes = st.integers(0, 4)


@given(float_dtypes, st.integers(1, 4), st.integers(1, 4), st.lists(sizes, max_size=2), st.booleans(), st.booleans(),
       st.data())
def test_linear(dtype, fin, fout, batch, bias, mismatch, data):
    x = data.draw(arrays(dtype, tuple(batch) + (fin + mismatch,), False))
    w = data.draw(arrays(dtype, (fout, fin), False))
    xs = [x, w] + ([data.draw(arrays(dtype, (fout,), False))] if bias else [])
    check("linear", lambda *t: F(t[0]).linear(*t), xs, [data.draw(layouts) for _ in xs], tol=_tol(dtype),
          grad_tol=_tol(dtype))


@st.composite
def conv_case(draw):
    n = draw(st.sampled_from([1, 2]))
    groups = draw(st.integers(1, 2))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(n))
    stride = draw(st.integers(1, 2))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.one_of(st.integers(0, 2), st.just("same"), st.just("valid")))
    spatial = tuple(draw(st.integers(1, 6)) for _ in range(n))
    batch = (draw(st.integers(1, 2)),) if draw(st.integers(0, 3)) else ()     # unbatched sometimes
    channels = cin + (1 if draw(st.integers(0, 9)) == 0 else 0)                 # a channel mismatch, sometimes
    dtype = draw(float_dtypes)
    x = draw(arrays(dtype, batch + (channels,) + spatial, False))
    w = draw(arrays(dtype, (cout, cin // groups) + kernel, False))
    b = draw(arrays(dtype, (cout,), False)) if draw(st.booleans()) else None
    return n, x, w, b, dict(stride=stride, padding=padding, dilation=dilation, groups=groups), draw(layouts)


@given(conv_case())
def test_conv(case):
    n, x, w, b, kw, layout = case
    name = f"conv{n}d"
    xs = [x, w] + ([b] if b is not None else [])
    fn = (lambda a, ww, bb=None: getattr(F(a), name)(a, ww, bb, **kw))
    check(name, fn, xs, [layout] * len(xs), tol=_tol(x.dtype), grad_tol=_tol(x.dtype), where=str(kw))


@st.composite
def pool_case(draw):
    n = draw(st.sampled_from([1, 2]))
    kind = draw(st.sampled_from(["max", "avg"]))
    k = draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.integers(1, 3)))
    padding = draw(st.integers(0, 2))
    kw = dict(kernel_size=k, stride=stride, padding=padding, ceil_mode=draw(st.booleans()))
    if kind == "max":
        kw["dilation"] = draw(st.integers(1, 2))
    else:
        kw["count_include_pad"] = draw(st.booleans())
    spatial = tuple(draw(st.integers(1, 6)) for _ in range(n))
    batch = (draw(st.integers(1, 2)),) if draw(st.integers(0, 3)) else ()
    dtype = draw(float_dtypes)
    x = draw(arrays(dtype, batch + (draw(st.integers(1, 2)),) + spatial, False))
    if kind == "max" and x.size:        # distinct values: ties pick an argmax by convention
        x = (x + np.arange(x.size).reshape(x.shape) * 1e-2).astype(dtype)
    return f"{kind}_pool{n}d", x, kw, draw(layouts)


def _padding_only_window(x, kw, n):
    """True when some max-pool window covers only padding: both give -inf, and torch then sends the gradient to
    an arbitrary element where redes sends none (docs/differences.md)."""
    k, s, p, d = kw["kernel_size"], kw["stride"] or kw["kernel_size"], kw["padding"], kw.get("dilation", 1)
    for size in x.shape[-n:]:
        span = size + 2 * p - d * (k - 1) - 1
        count = (-(-span // s) if kw["ceil_mode"] else span // s) + 1
        for o in range(max(count, 0)):
            if all(not 0 <= o * s - p + j * d < size for j in range(k)):
                return True
    return False


@given(pool_case())
def test_pools(case):
    name, x, kw, layout = case
    grad = not (name.startswith("max") and _padding_only_window(x, kw, int(name[-2])))
    check(name, lambda a: getattr(F(a), name)(a, **kw), [x], [layout], tol=_tol(x.dtype), grad_tol=_tol(x.dtype),
          where=str(kw), grad=grad)


@st.composite
def norm_case(draw):
    kind = draw(st.sampled_from(["layer_norm", "batch_norm", "group_norm"]))
    dtype = draw(float_dtypes)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4))) + tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
    x = draw(arrays(dtype, shape, False))
    x = (x + np.arange(x.size).reshape(shape) * 0.125).astype(dtype)       # no constant rows (var = 0)
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    c = shape[1]
    if kind == "layer_norm":
        k = draw(st.integers(1, len(shape)))
        normalized = shape[-k:] if draw(st.integers(0, 9)) else shape[-k:-1] + (shape[-1] + 1,)
        extra = [draw(arrays(dtype, normalized, False)) for _ in range(draw(st.integers(0, 2)))]
        fn = lambda a, *wb: F(a).layer_norm(a, normalized, *wb, eps=eps)   # noqa: E731
        return kind, [x] + extra, fn
    if kind == "group_norm":
        groups = draw(st.sampled_from([g for g in (1, 2, 3, 4) if c % g == 0] + [3]))
        extra = [draw(arrays(dtype, (c,), False)) for _ in range(draw(st.integers(0, 2)))]
        fn = lambda a, *wb: F(a).group_norm(a, groups, *wb, eps=eps)   # noqa: E731
        return kind, [x] + extra, fn
    training = draw(st.booleans())
    if training and shape[0] * int(np.prod(shape[2:])) == 1:
        training = False                                   # one value per channel: torch refuses, as redes
    mean = draw(arrays(dtype, (c,), False))
    var = draw(arrays(dtype, (c,), False, low=0.5, high=4.0))
    wb = [draw(arrays(dtype, (c,), False)) for _ in range(2)]

    def fn(a, w, b):
        lib = torch if isinstance(a, torch.Tensor) else rd
        rm, rv = lib.tensor(mean.copy()).to(a.dtype), lib.tensor(var.copy()).to(a.dtype)   # float64 truth runs too
        return F(a).batch_norm(a, rm, rv, w, b, training=training, momentum=0.1, eps=eps)
    return kind, [x] + wb, fn


@given(norm_case(), layouts)
def test_norms(case, layout):
    kind, xs, fn = case
    tol = dict(rtol=1e-3, atol=1e-4) if xs[0].dtype == np.float32 else dict(rtol=1e-8, atol=1e-10)
    check(kind, fn, xs, [layout] * len(xs), tol=tol)


REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


@st.composite
def loss_case(draw):
    kind = draw(st.sampled_from(["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
                                 "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "kl_div",
                                 "cross_entropy_probs"]))
    dtype = draw(float_dtypes)
    reduction = draw(REDUCTIONS)
    if kind in ("cross_entropy", "nll_loss", "cross_entropy_probs"):
        n, c = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        x = draw(arrays(dtype, (n, c) + extra, False))
        if kind == "cross_entropy_probs":
            t = draw(arrays(dtype, (n, c) + extra, False, low=0.0, high=1.0))
            smoothing = draw(st.sampled_from([0.0, 0.1]))
            return "cross_entropy", [x, t], lambda a, b: F(a).cross_entropy(a, b, reduction=reduction,
                                                                            label_smoothing=smoothing)
        high = c + (1 if draw(st.integers(0, 9)) == 0 else 0) - 1                 # an index out of range, sometimes
        target = np.asarray(draw(st.lists(st.integers(0, high), min_size=n * int(np.prod(extra)),
                                          max_size=n * int(np.prod(extra))))).reshape((n,) + extra)
        smoothing = draw(st.sampled_from([0.0, 0.2])) if kind == "cross_entropy" else 0.0
        ignore = draw(st.sampled_from([-100, 0]))

        def fn(a):
            lib = torch if isinstance(a, torch.Tensor) else rd
            t = lib.tensor(target, dtype=lib.int64)
            if kind == "nll_loss":
                return F(a).nll_loss(a, t, reduction=reduction, ignore_index=ignore)
            return F(a).cross_entropy(a, t, reduction=reduction, ignore_index=ignore, label_smoothing=smoothing)
        return kind, [x], fn
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    tshape = shape if draw(st.integers(0, 5)) else shape + (2,)               # a mismatch, sometimes
    if kind == "binary_cross_entropy":
        x = draw(arrays(dtype, shape, False, low=0.0625, high=0.9375))
        t = draw(arrays(dtype, tshape, False, low=0.0, high=1.0))
    elif kind == "kl_div":
        x = draw(arrays(dtype, shape, False, low=-3.0, high=-0.125))
        t = draw(arrays(dtype, tshape, False, low=0.0625, high=1.0))
    else:
        x = draw(arrays(dtype, shape, False))
        t = draw(arrays(dtype, tshape, False, low=0.0, high=1.0) if "binary" in kind else arrays(dtype, tshape, False))
    if kind in ("l1_loss", "smooth_l1_loss", "huber_loss") and x.shape == t.shape:
        t = np.where(np.abs(x - t) < 0.05, t + 0.25, t).astype(dtype)      # off the |d| = 0 and d = beta kinks
        t = np.where(np.abs(np.abs(x - t) - 1.0) < 0.05, t + 0.125, t).astype(dtype)
    return kind, [x, t], lambda a, b: getattr(F(a), kind)(a, b, reduction=reduction)


@given(loss_case(), layouts)
def test_losses(case, layout):
    kind, xs, fn = case
    with np.errstate(all="ignore"):
        check(kind, fn, xs, [layout] * len(xs), tol=_tol(xs[0].dtype), grad_tol=_tol(xs[0].dtype))


@given(float_dtypes, st.sampled_from(["softmax", "log_softmax", "softmin"]), st.lists(st.integers(0, 3), min_size=1,
       max_size=4), st.data())
def test_softmax_family(dtype, name, shape, data):
    x = data.draw(arrays(dtype, tuple(shape), False))
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check((name, "softmax"), lambda a: getattr(F(a), name)(a, dim), [x], [data.draw(layouts)], where=f"(dim={dim})")


@given(float_dtypes, st.integers(1, 6), st.integers(1, 4), st.lists(st.integers(0, 3), max_size=2),
       st.one_of(st.none(), st.integers(-2, 5)), st.data())
def test_embedding(dtype, num, dim, shape, padding_idx, data):
    weight = data.draw(arrays(dtype, (num, dim), False))
    idx = np.asarray(data.draw(st.lists(st.integers(0, num), min_size=int(np.prod(shape)),
                                        max_size=int(np.prod(shape))))).reshape(shape).astype(np.int64)

    def fn(w):
        lib = torch if isinstance(w, torch.Tensor) else rd
        return F(w).embedding(lib.tensor(idx), w, padding_idx=padding_idx)
    check("embedding", fn, [weight], [data.draw(layouts)], where=f"(indices {idx.tolist()}, padding_idx={padding_idx})")


@given(float_dtypes, st.integers(1, 2), st.integers(1, 2), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.booleans(), st.booleans(), st.data())
def test_scaled_dot_product_attention(dtype, batch, heads, lq, lk, e, causal, masked, data):
    q = data.draw(arrays(dtype, (batch, heads, lq, e), False, low=-2.0, high=2.0))
    k = data.draw(arrays(dtype, (batch, heads, lk, e), False, low=-2.0, high=2.0))
    v = data.draw(arrays(dtype, (batch, heads, lk, e + data.draw(st.integers(0, 1))), False))
    mask = np.asarray(data.draw(st.lists(st.booleans(), min_size=lq * lk, max_size=lq * lk))).reshape(lq, lk)
    mask[:, 0] = True                                               # every query sees one key (else NaN rows)

    def fn(a, b, c):
        lib = torch if isinstance(a, torch.Tensor) else rd
        m = lib.tensor(mask) if masked and not causal else None
        return F(a).scaled_dot_product_attention(a, b, c, attn_mask=m, is_causal=causal)
    check("scaled_dot_product_attention", fn, [q, k, v], [data.draw(layouts)] * 3, tol=_tol(dtype),
          grad_tol=_tol(dtype))
