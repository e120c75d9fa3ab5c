"""The Tensor API: creation and dtype rules (as torch), factories, attributes, conversions, repr, iteration,
__setitem__; all compared with torch where torch defines the answer."""
import numpy as np
import pytest

import redes as rd
from ops.helpers import torch

needs_torch = pytest.mark.skipif(torch is None, reason="torch (the test oracle) is not installed")


def _dtype_name(d):
    return str(d).replace("torch.", "")


# --------------------------------------------------------------------------- dtype rules vs torch
CREATE = [
    ("python_float", lambda L: L.tensor(1.5)), ("python_floats", lambda L: L.tensor([[1.0, 2.0]])),
    ("python_ints", lambda L: L.tensor([1, 2])), ("python_int", lambda L: L.tensor(3)),
    ("bools", lambda L: L.tensor([True, False])), ("mixed_int_float", lambda L: L.tensor([1, 2.5])),
    ("numpy_float64", lambda L: L.tensor(np.zeros(2))), ("numpy_float32", lambda L: L.tensor(np.zeros(2, np.float32))),
    ("numpy_int32", lambda L: L.tensor(np.zeros(2, np.int32))), ("numpy_bool", lambda L: L.tensor(np.ones(2, bool))),
    ("numpy_scalar_float64", lambda L: L.tensor(np.float64(1.5))),
    ("dtype_arg", lambda L: L.tensor([1, 2], dtype=L.float64)),
    ("dtype_arg_int32", lambda L: L.tensor([1.7, 2.2], dtype=L.int32)), ("empty_list", lambda L: L.tensor([])),
    ("nested_3d", lambda L: L.tensor([[[1.0], [2.0]]])),
    # factories
    ("zeros", lambda L: L.zeros(2, 3)),
    ("zeros_tuple", lambda L: L.zeros((2, 3))), ("zeros_list", lambda L: L.zeros([4])),
    ("ones_int32", lambda L: L.ones(3, dtype=L.int32)), ("ones_0d", lambda L: L.ones(())),
    ("full_int", lambda L: L.full((2,), 2)), ("full_float", lambda L: L.full((2, 1), 2.0)),
    ("full_bool", lambda L: L.full((2,), True)), ("full_dtype", lambda L: L.full((2,), 2, dtype=L.float64)),
    ("empty", lambda L: L.empty(2, 3)), ("arange", lambda L: L.arange(5)), ("arange_start", lambda L: L.arange(2, 7)),
    ("arange_float", lambda L: L.arange(0.0, 1, 0.25)), ("arange_float_step", lambda L: L.arange(1, 4, 0.5)),
    ("arange_dtype", lambda L: L.arange(4, dtype=L.float64)), ("linspace", lambda L: L.linspace(0, 1, 5)),
    ("linspace_dtype", lambda L: L.linspace(-1, 1, 4, dtype=L.float64)), ("eye", lambda L: L.eye(3)),
    ("eye_rect", lambda L: L.eye(2, 3)), ("rand", lambda L: L.rand(2, 3)), ("randn", lambda L: L.randn(4)),
    ("randn_dtype", lambda L: L.randn((2, 2), dtype=L.float64)), ("randint", lambda L: L.randint(0, 10, (3,))),
    ("randint_high_size", lambda L: L.randint(10, (3,))), ("randint_size_kw", lambda L: L.randint(3, 10, size=(2, 2))),
    ("zeros_like", lambda L: L.zeros_like(L.ones(2, dtype=L.float64))),
    ("ones_like_int", lambda L: L.ones_like(L.tensor([1, 2]))),
    ("full_like", lambda L: L.full_like(L.ones(2), 7)), ("full_like_int", lambda L: L.full_like(L.tensor([1, 2]), 2.5)),
    ("rand_like", lambda L: L.rand_like(L.ones(2, dtype=L.float64))), ("randn_like", lambda L: L.randn_like(L.ones(3))),
    ("zeros_like_dtype", lambda L: L.zeros_like(L.ones(2), dtype=L.int64)),
    # promotion in arithmetic
    ("int32_add", lambda L: L.tensor([1, 2], dtype=L.int32) + L.tensor([1, 2], dtype=L.int32)),
    ("int_plus_float_number", lambda L: L.tensor([1, 2]) + 2.5),
    ("int_times_int_number", lambda L: L.tensor([1, 2]) * 2),
    ("int32_times_int_number", lambda L: L.tensor([1, 2], dtype=L.int32) * 2),
    ("float32_times_int_number", lambda L: L.ones(2) * 2),
    ("float64_times_float", lambda L: L.ones(2, dtype=L.float64) * 2.5),
    ("int_div_int", lambda L: L.tensor([1, 2]) / L.tensor([2, 2])), ("int_div_number", lambda L: L.tensor([1, 2]) / 2),
    ("number_div_int", lambda L: 2 / L.tensor([1, 2])),
    ("int32_div_int64", lambda L: L.tensor([1], dtype=L.int32) / L.tensor([2])),
    ("int_tensor_plus_float32_tensor", lambda L: L.tensor([1, 2]) + L.ones(2)),
    ("float32_tensor_times_int_tensor", lambda L: L.ones(2) * L.tensor([1, 2])),
    ("int_maximum_float", lambda L: L.tensor([1, 2]).maximum(L.tensor([2.5, 1.0]))),
    ("float32_plus_float64", lambda L: L.ones(2) + L.ones(2, dtype=L.float64)),
    ("bool_plus_float64", lambda L: L.tensor([True]) + L.ones(1, dtype=L.float64)),
    ("float32_times_numpy_float64_scalar", lambda L: L.ones(2) * np.float64(2.0)),
    ("numpy_int64_scalar_minus_float32", lambda L: np.int64(3) - L.ones(2)),
    ("int_times_numpy_float32_scalar", lambda L: L.tensor([1, 2]) * np.float32(2.0)),
    ("bool_sum", lambda L: L.tensor([True, False]).sum()), ("int_sum", lambda L: L.tensor([1, 2]).sum()),
    ("int32_sum", lambda L: L.tensor([1, 2], dtype=L.int32).sum()), ("int_exp", lambda L: L.tensor([1, 2]).exp()),
    ("int_pow_int", lambda L: L.tensor([1, 2]) ** 2), ("int_pow_float", lambda L: L.tensor([1, 2]) ** 0.5),
    ("int_rpow", lambda L: 2 ** L.tensor([1, 2])), ("int_max", lambda L: L.tensor([1, 2]).max()),
    ("int_prod", lambda L: L.tensor([1, 2]).prod()), ("int_cumsum", lambda L: L.tensor([1, 2]).cumsum(0)),
    ("int_abs", lambda L: L.tensor([3, -1]).abs()), ("int_neg", lambda L: -L.tensor([3, 1])),
    ("floordiv", lambda L: L.tensor([5, 2]) // 2), ("mod", lambda L: L.tensor([5, 2]) % 3),
    ("where_numbers", lambda L: L.where(L.tensor([True, False]), 1.0, 0.0)),
    ("int_clamp", lambda L: L.tensor([1, 2]).clamp(0, 1)),
    ("bool_add", lambda L: L.tensor([True, False]) + L.tensor([True, True])),
    ("float_to_long", lambda L: L.tensor([1.7, -2.2]).long()), ("int_to_float", lambda L: L.tensor([1, 2]).float()),
    ("to_float64", lambda L: L.tensor([1.0, 2.0]).to(L.float64)), ("double", lambda L: L.tensor([1, 2]).double()),
    ("int_method", lambda L: L.tensor([1.5]).int()), ("bool_method", lambda L: L.tensor([0.0, 2.0]).bool()),
]


@needs_torch
@pytest.mark.parametrize("name, fn", CREATE, ids=[c[0] for c in CREATE])
def test_dtype_and_shape_as_torch(name, fn):
    with np.errstate(all="ignore"):
        ours, ref = fn(rd), fn(torch)
    assert isinstance(ours, rd.Tensor)
    assert _dtype_name(ours.dtype) == _dtype_name(ref.dtype), f"{name}: {ours.dtype} vs torch {ref.dtype}"
    assert ours.shape == tuple(ref.shape)
    if name.split("_")[0] not in ("rand", "randn", "randint", "empty"):
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6, atol=0, err_msg=name)


def test_dtypes_are_numpy_dtypes_named_as_torch():
    assert rd.float32 == np.float32 and rd.float64 == np.float64 and rd.int64 == np.int64
    assert rd.float is rd.float32 and rd.double is rd.float64 and rd.long is rd.int64 and rd.int is rd.int32
    assert rd.tensor([1.0]).numpy().dtype == rd.float32


@pytest.mark.parametrize("dtype", [rd.float32, rd.float64, rd.int32, rd.int64, rd.bool])
def test_each_dtype_works(dtype):
    x = rd.tensor([[1, 0, 2], [0, 3, 1]], dtype=dtype)
    assert x.dtype == dtype and x.numpy().dtype == dtype
    assert x.reshape(3, 2).dtype == dtype and x.T.dtype == dtype and x[0].dtype == dtype
    assert rd.cat([x, x]).dtype == dtype and x.clone().dtype == dtype and x.flip(0).dtype == dtype
    assert x.sum().item() == (4 if dtype == rd.bool else 7)
    assert (x == x).all().item() is True
    assert x.max().item() == (True if dtype == rd.bool else 3)
    if dtype.kind == "f":
        assert (x * 2).dtype == dtype and (x / 2).dtype == dtype and x.exp().dtype == dtype
        assert x.mean().dtype == dtype and x.softmax(-1).dtype == dtype and (x @ x.T).dtype == dtype
        x.requires_grad_()
        (x * x).sum().backward()
        assert x.grad.dtype == dtype
    elif dtype != rd.bool:
        assert (x * 2).dtype == dtype and (x + x).dtype == dtype and (x // 2).dtype == dtype


def test_set_default_dtype():
    try:
        rd.set_default_dtype(rd.float64)
        assert rd.tensor(1.5).dtype == rd.float64 and rd.zeros(2).dtype == rd.float64
        assert (rd.tensor([1, 2]) / 2).dtype == rd.float64 and rd.randn(2).dtype == rd.float64
    finally:
        rd.set_default_dtype(rd.float32)
    assert rd.tensor(1.5).dtype == rd.float32
    with pytest.raises(TypeError, match="expected a floating dtype"):
        rd.set_default_dtype(rd.int64)


# --------------------------------------------------------------------------- factories
def test_factory_values():
    assert rd.arange(2, 11, 3).tolist() == [2, 5, 8]
    np.testing.assert_allclose(rd.linspace(0, 1, 5).numpy(), [0, 0.25, 0.5, 0.75, 1])
    assert rd.eye(2, 3).tolist() == [[1, 0, 0], [0, 1, 0]]
    assert rd.full((2,), 7).tolist() == [7, 7] and rd.zeros(2, 0).shape == (2, 0)
    r = rd.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1 and abs(r.mean().item() - 0.5) < 0.05
    n = rd.randn(2000, dtype=rd.float64)
    assert abs(n.mean().item()) < 0.1 and abs(n.std().item() - 1) < 0.1
    k = rd.randint(3, 6, (1000,))
    assert set(k.tolist()) == {3, 4, 5}
    assert sorted(rd.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    z = rd.zeros(2, 3, requires_grad=True)
    assert z.requires_grad and z.is_leaf and rd.ones_like(z).requires_grad is False


@pytest.mark.parametrize("make", [lambda: rd.rand(3, 2), lambda: rd.randn(4), lambda: rd.randint(0, 100, (5,)),
                                  lambda: rd.randperm(6), lambda: rd.randn_like(rd.ones(3)),
                                  lambda: rd.rand_like(rd.ones(2, dtype=rd.float64)),
                                  lambda: rd.nn.Linear(3, 2).weight if hasattr(rd.nn, "Linear") else rd.randn(2)])
def test_manual_seed_reproducible(make):
    rd.manual_seed(123)
    a = make().numpy().copy()
    b = make().numpy().copy()
    rd.manual_seed(123)
    np.testing.assert_array_equal(make().numpy(), a)
    np.testing.assert_array_equal(make().numpy(), b)
    assert not np.array_equal(a, b)                 # the stream moves on between draws


def test_generator_argument_is_its_own_stream():
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    rd.manual_seed(0)
    a = rd.randn(3, generator=g1)
    rd.manual_seed(99)
    np.testing.assert_array_equal(a.numpy(), rd.randn(3, generator=g2).numpy())


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    t, s = rd.tensor(a), rd.from_numpy(a)
    a[0] = 5.0
    assert t[0].item() == 0.0 and s[0].item() == 5.0
    assert rd.as_tensor(s) is s


# --------------------------------------------------------------------------- attributes
def test_attributes():
    x = rd.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2 and x.dtype == rd.float32
    assert x.numel() == 6 and x.size() == (2, 3) and x.size(1) == 3 and x.size(-2) == 2
    assert x.T.shape == (3, 2) and x.T.tolist() == [[1, 4], [2, 5], [3, 6]]
    assert rd.ones(2, 3, 4).T.shape == (4, 3, 2)           # all dims reversed, as torch (deprecated there for >2-D)
    assert x.mT.shape == (3, 2)
    assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.grad is None
    y = x * 2
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    assert len(x) == 2 and x.device == "cpu"


def test_requires_grad_():
    x = rd.ones(3)
    assert not x.requires_grad and x.is_leaf
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = rd.ones(2, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="only leaves can stop requiring grad"):
        y.requires_grad_(False)


def test_grad_fn_repr_names_the_op():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    for y, op in [(x * 2, "mul"), (x.exp(), "exp"), (x @ x, "matmul"), (x.sum(), "sum"), (x[0], "getitem"),
                  (x.reshape(2, 1), "reshape"), (x.softmax(0), "softmax"), (x.max(0).values, "max")]:
        assert repr(y.grad_fn).startswith(f"<{op}("), repr(y.grad_fn)
        assert f"grad_fn=<{op}(" in repr(y)
    assert "Tensor(2,) float32" in repr((x * 2).grad_fn)
    z = x * 2
    assert z.grad_fn.next_functions == (None, None)
    w = z.exp()
    assert w.grad_fn.next_functions == (z.grad_fn,)
    w.sum().backward()
    assert "freed" in repr(w.grad_fn)


@needs_torch
@pytest.mark.parametrize("make", [lambda L: L.tensor([1.0, 2.5, -3.0]), lambda L: L.tensor([[1.0, 2.0], [3.0, 4.0]]),
                                  lambda L: L.tensor([1, 2, 3]), lambda L: L.tensor([True, False]),
                                  lambda L: L.tensor([1, 2], dtype=L.int32), lambda L: L.tensor(3),
                                  lambda L: L.ones(2, dtype=L.float64), lambda L: L.tensor([]),
                                  lambda L: L.zeros(0, 3), lambda L: L.zeros(2, 0, dtype=L.float64),
                                  lambda L: L.tensor([], dtype=L.int64), lambda L: L.tensor([[1.5, -2.0], [3.0, 4.25]]),
                                  lambda L: L.tensor([float("nan"), 1.5, float("inf")]), lambda L: L.tensor(2.5)])
def test_repr_like_torch(make):
    assert repr(make(rd)).replace("rd.", "") == repr(make(torch)).replace("torch.", "")


def test_repr_shows_requires_grad_and_dtype():
    assert repr(rd.tensor([1.0, 2.0], requires_grad=True)) == "tensor([1., 2.], requires_grad=True)"
    assert "dtype=rd.int32" in repr(rd.tensor([1], dtype=rd.int32))
    assert repr(rd.tensor(2.0)) == "tensor(2.)"


# --------------------------------------------------------------------------- conversions
def test_numpy_item_tolist():
    x = rd.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = x.numpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0, 0] = 9.0                                   # shares memory, as torch
    assert x[0, 0].item() == 9.0
    assert x.tolist() == [[9.0, 2.0], [3.0, 4.0]] and type(x.tolist()[0][0]) is float
    assert type(x[1, 1].item()) is float and x[1, 1].item() == 4.0
    assert type(rd.tensor([7])[0].item()) is int and type(rd.tensor(True).item()) is bool
    assert rd.tensor([[5.0]]).item() == 5.0         # any single-element tensor
    assert float(rd.tensor(2.5)) == 2.5 and int(rd.tensor(3)) == 3
    assert [10, 20, 30][rd.tensor(1)] == 20         # __index__
    assert rd.tensor(3.0).tolist() == 3.0


def test_array_protocol():
    x = rd.tensor([1.0, 2.0])
    a = np.asarray(x)
    assert a.dtype == np.float32 and a.tolist() == [1.0, 2.0]
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.allclose(x, [1.0, 2.0])
    r = np.array([1.0, 1.0]) * x                    # the Tensor's __rmul__ wins: a Tensor, not an object array
    assert isinstance(r, rd.Tensor)


def test_detach():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.numpy(), y.numpy())
    (d * x).sum().backward()                         # d is a constant: x gets d's values, nothing flows into y
    assert x.grad.tolist() == [3.0, 6.0]


def test_clone_copies_and_passes_gradient():
    x = rd.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy()) and c.grad_fn is not None
    (c * c).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


@needs_torch
@pytest.mark.parametrize("src, dst", [("float32", "float64"), ("float64", "float32")])
def test_to_dtype_is_differentiable(src, dst):
    x0 = np.array([1.5, -2.0, 3.25])
    outs = []
    for L in (rd, torch):
        x = L.tensor(x0, dtype=getattr(L, src), requires_grad=True)
        y = x.to(getattr(L, dst))
        assert _dtype_name(y.dtype) == dst
        (y * y * L.tensor([1.0, 2.0, 3.0], dtype=getattr(L, dst))).sum().backward()
        assert _dtype_name(x.grad.dtype) == src
        outs.append(x.grad.detach().numpy() if L is torch else x.grad.numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6)


def test_to_astype_variants():
    x = rd.tensor([1.7, -2.2])
    assert x.to(rd.float32) is x                    # no copy when nothing changes, as torch
    assert x.astype(rd.float64).dtype == rd.float64 and x.to("float64").dtype == rd.float64
    assert x.to(rd.int64).tolist() == [1, -2] and x.to(rd.ones(1, dtype=rd.float64)).dtype == rd.float64
    assert x.to("cpu") is x and x.type() == "float32" and x.double().dtype == rd.float64
    assert x.to(rd.float32, copy=True) is not x
    with pytest.raises(RuntimeError, match="to: no CUDA here"):
        x.to("cuda")


# --------------------------------------------------------------------------- len, iteration, setitem
def test_len_and_iteration():
    x = rd.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], requires_grad=True)
    rows = list(x)
    assert len(x) == 3 and len(rows) == 3 and [r.tolist() for r in rows] == x.tolist()
    (rows[0] * 1 + rows[2] * 2).sum().backward()    # iteration is differentiable (rows are getitem nodes)
    assert x.grad.tolist() == [[1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]
    a, b = rd.tensor([1, 2])                        # unpacking
    assert (a.item(), b.item()) == (1, 2)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(rd.tensor(1.0))


def test_setitem_on_tensor_without_grad():
    x = rd.zeros(3, 4)
    x[0] = 1.0
    x[1, ::2] = rd.tensor([2.0, 3.0])
    x[x == 0] = -1.0
    x[:, rd.tensor([3, 3])] = 7.0
    x[..., None][2, 0] = 5.0
    assert x.tolist() == [[1, 1, 1, 7], [2, -1, 3, 7], [5, -1, -1, 7]]
    assert x.dtype == rd.float32


def test_setitem_on_tensor_requiring_grad():
    x = rd.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem: in-place assignment into a tensor that requires grad"):
        x[0] = 1.0
    with rd.no_grad():
        x[0] = 1.0                                    # e.g. initialising a parameter
    assert x.tolist() == [1.0, 0.0, 0.0] and x.requires_grad


def test_inplace_methods():
    x = rd.ones(3)
    x.mul_(2).add_(rd.tensor([1.0, 2.0, 3.0]), alpha=2).sub_(1).div_(2)
    assert x.tolist() == [1.5, 2.5, 3.5]
    assert x.zero_().tolist() == [0, 0, 0] and x.fill_(4).tolist() == [4, 4, 4]
    assert x.copy_(rd.tensor([1.0, -5.0, 9.0])).clamp_(-1, 2).tolist() == [1, -1, 2]
    p = rd.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="add_: a leaf tensor that requires grad is used in an in-place operation"):
        p.add_(1.0)
    with rd.no_grad():
        p.sub_(rd.tensor([0.5, 0.25]))
    assert p.tolist() == [0.5, 0.75]


def test_data_is_a_tensor_view_outside_the_graph_as_in_torch():
    """`.data` is a Tensor sharing storage, without grad: p.data.add_(), .copy_(), .normal_() update p, as torch's do."""
    torch = pytest.importorskip("torch")
    for lib in (rd, torch):
        p = lib.nn.Parameter(lib.tensor([1.0, 2.0, 3.0]))
        d = p.data
        assert isinstance(d, lib.Tensor) and not d.requires_grad
        d.add_(lib.tensor([1.0, 1.0, 1.0]))
        p.data.mul_(2.0)
        np.testing.assert_array_equal(p.detach().numpy(), [4.0, 6.0, 8.0], err_msg=lib.__name__)
        p.data = lib.tensor([7.0, 8.0])                 # swapping the storage keeps the parameter, shape may change
        assert tuple(p.shape) == (2,) and p.requires_grad
        np.testing.assert_array_equal(p.detach().numpy(), [7.0, 8.0])


def test_data_of_a_0d_result_shares_storage():
    x = (rd.tensor(2.0) * 1).detach().requires_grad_()
    x.data.add_(rd.tensor(1.0))
    assert x.item() == 3.0


def test_factories_refuse_a_device_that_is_not_here():
    """device="cuda" on the NumPy backend is an error naming the factory, never silently a CPU tensor."""
    for make in (lambda d: rd.zeros(2, device=d), lambda d: rd.tensor([1.0], device=d), lambda d: rd.randn(2, device=d),
                 lambda d: rd.arange(3, device=d), lambda d: rd.full((2,), 1.0, device=d)):
        assert make("cpu").device == "cpu" and make(rd.device("cpu")).device == "cpu"
        with pytest.raises(RuntimeError, match="no CUDA here"):
            make("cuda")
