"""Errors at the engine's boundary name the op, the shapes or dtypes received and what was expected."""
import numpy as np
import pytest

import redes as rd

A = rd.ones(2, 3)


@pytest.mark.parametrize("op, fn", [
    ("add", lambda b: A + b), ("sub", lambda b: A - b), ("mul", lambda b: A * b), ("div", lambda b: A / b),
    ("pow", lambda b: A ** b), ("maximum", lambda b: A.maximum(b)), ("minimum", lambda b: A.minimum(b)),
    ("add", lambda b: b + A), ("add", lambda b: A.add(b)), ("greater", lambda b: A > b),
    ("equal", lambda b: A == b)])
def test_broadcast_mismatch_names_op_and_both_shapes(op, fn):
    with pytest.raises(RuntimeError, match=rf"{op}: shapes \(.*\) and \(.*\) cannot be broadcast"):
        fn(rd.ones(4))
    with pytest.raises(RuntimeError, match=r"\(2, 3\)") as info:
        fn(rd.ones(4))
    assert "(4,)" in str(info.value)


def test_broadcast_message_exact():
    with pytest.raises(RuntimeError, match=r"^add: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        rd.ones(2, 3, requires_grad=True) + rd.ones(4)


def test_where_broadcast_names_all_three_shapes():
    with pytest.raises(RuntimeError, match=r"where: shapes \(5,\), \(2, 3\) and \(2, 3\) cannot be broadcast"):
        rd.where(rd.ones(5) > 0, A, A)


def test_other_value_errors_are_not_disguised_as_broadcasting():
    with pytest.raises(ValueError, match="negative integer powers"):
        rd.tensor([2, 3]) ** rd.tensor([-1, 1])


def test_matmul_inner_dimensions():
    with pytest.raises(RuntimeError, match=r"matmul: inner dimensions differ: a\(2, 3\) @ b\(4, 5\); "
                                           r"a.shape\[-1\]=3 must equal b.shape\[-2\]=4"):
        rd.ones(2, 3) @ rd.ones(4, 5)
    with pytest.raises(RuntimeError, match=r"matmul: inner dimensions differ: a\(3,\) @ b\(4,\)"):
        rd.ones(3) @ rd.ones(4)


def test_matmul_dtype_mismatch_names_dtypes():
    with pytest.raises(RuntimeError, match="matmul: dtypes differ: a is float32, b is float64"):
        rd.ones(2, 3) @ rd.ones(3, 5, dtype=rd.float64)


def test_matmul_batch_and_0d():
    with pytest.raises(RuntimeError, match=r"matmul: batch dimensions do not broadcast: a\(2, 2, 3\) @ b\(3, 3, 5\)"):
        rd.ones(2, 2, 3) @ rd.ones(3, 3, 5)
    with pytest.raises(RuntimeError, match="matmul: both arguments need at least 1 dimension"):
        rd.ones(()) @ rd.ones(3)


@pytest.mark.parametrize("fn, dim, size", [
    (lambda: A[5], 0, 2), (lambda: A[0, 7], 1, 3), (lambda: A[:, -4], 1, 3), (lambda: A[rd.tensor([0, 4])], 0, 2),
    (lambda: A.index_select(1, rd.tensor([0, 4])), 1, 3),
    (lambda: A.gather(1, rd.tensor([[0, 4, 0], [0, 0, 0]])), 1, 3),
    (lambda: A.scatter_add(0, rd.tensor([[5, 0, 0]]), A), 0, 2)])
def test_index_out_of_range_names_dim_and_size(fn, dim, size):
    with pytest.raises(IndexError, match=rf"out of bounds for dim {dim} with size {size}"):
        fn()


def test_too_many_indices_and_bad_mask():
    with pytest.raises(IndexError, match=r"getitem: too many indices.*\(tensor shape \(2, 3\)\)"):
        A[0, 0, 0]
    with pytest.raises(IndexError, match=r"getitem: boolean index did not match.*dim 0"):
        A[rd.tensor([True, False, True])]


@pytest.mark.parametrize("op, fn", [
    ("sum", lambda: A.sum(dim=2)), ("mean", lambda: A.mean((0, -3))), ("softmax", lambda: A.softmax(-3)),
    ("transpose", lambda: A.transpose(0, 2)), ("squeeze", lambda: A.squeeze(3)), ("flatten", lambda: A.flatten(3)),
    ("cumsum", lambda: A.cumsum(2)), ("amax", lambda: A.amax(5)), ("max", lambda: A.max(2)),
    ("unsqueeze", lambda: A.unsqueeze(4)), ("cat", lambda: rd.cat([A, A], dim=2)),
    ("stack", lambda: rd.stack([A, A], dim=4)), ("gather", lambda: A.gather(2, rd.tensor([[0]]))),
    ("size", lambda: A.size(2)), ("argmax", lambda: A.argmax(2))])
def test_bad_dim_names_op_and_range(op, fn):
    with pytest.raises(IndexError, match=rf"{op}: dim -?\d+ is out of range for a tensor with \d dims "
                                         r"\(expected -\d..\d\)"):
        fn()


def test_dim_must_be_an_int():
    with pytest.raises(TypeError, match="sum: dim must be an int, got 1.0"):
        A.sum(1.0)


def test_reshape_invalid_names_shapes():
    with pytest.raises(RuntimeError, match=r"reshape: shape \(4, 2\) is invalid for input of shape \(2, 3\) "
                                           r"\(6 elements\)"):
        A.reshape(4, 2)
    with pytest.raises(RuntimeError, match=r"shape \(-1, 4\) is invalid for input of shape \(2, 3\)"):
        A.view(-1, 4)
    with pytest.raises(RuntimeError, match=r"unflatten: sizes \(2, 2\) do not multiply to the size of dim 1 \(3\)"):
        A.unflatten(1, (2, 2))


def test_movement_errors():
    with pytest.raises(RuntimeError, match=r"expand: shape \(2, 3\) cannot be broadcast to \(4, 3, 2\)"):
        A.expand(4, 3, 2)
    with pytest.raises(RuntimeError, match=r"expand: size -1 is not allowed in a new leading dim"):
        A.expand(-1, 2, 3)
    assert A.expand(4, -1, -1).shape == (4, 2, 3)
    with pytest.raises(RuntimeError, match=r"cat: shapes \[\(2, 3\), \(2, 4\)\] must match except in dim 0"):
        rd.cat([A, rd.ones(2, 4)])
    with pytest.raises(RuntimeError, match=r"stack: all shapes must be equal, got \[\(2, 3\), \(2, 4\)\]"):
        rd.stack([A, rd.ones(2, 4)])
    with pytest.raises(RuntimeError, match=r"permute: dims \(0, 0\) must be a permutation of 0..1"):
        A.permute(0, 0)
    with pytest.raises(RuntimeError, match=r"split: sections \[1, 1\] sum to 2, but dim 1 has size 3"):
        A.split([1, 1], 1)
    with pytest.raises(RuntimeError, match=r"masked_fill: mask of shape \(4,\) cannot be broadcast to the "
                                           r"input's shape \(2, 3\)"):
        A.masked_fill(rd.ones(4) > 0, 0.0)
    with pytest.raises(RuntimeError, match="masked_fill: mask must be a bool tensor, got float32"):
        A.masked_fill(rd.ones(2, 3), 0.0)
    with pytest.raises(RuntimeError, match=r"gather: index has 1 dims but input has 2"):
        A.gather(1, rd.tensor([0]))
    with pytest.raises(RuntimeError, match="gather: index must be an integer tensor, got float32"):
        A.gather(1, rd.ones(2, 3))
    with pytest.raises(ValueError, match=r"pad: pad must have an even length"):
        rd.pad(A, (1,))
    with pytest.raises(ValueError, match=r"pad: reflect padding \(3, 3\) must be smaller than dim 1's size 3"):
        rd.pad(A, (3, 3), mode="reflect")
    with pytest.raises(ValueError, match="pad: mode must be"):
        rd.pad(A, (1, 1), mode="wrap")


def test_reduction_errors():
    with pytest.raises(RuntimeError, match=r"amax: cannot reduce an empty tensor of shape \(0,\)"):
        rd.ones(0).max()
    with pytest.raises(IndexError, match=r"max: cannot reduce dim 1 of size 0"):
        rd.ones(2, 0).max(1)
    with pytest.raises(RuntimeError, match="mean: input dtype should be floating point, got int64"):
        rd.tensor([1, 2]).mean()
    with pytest.raises(ValueError, match="norm: p must be"):
        A.norm(-1)


def test_tensor_errors():
    with pytest.raises(RuntimeError, match="item: a Tensor with 6 elements cannot be converted"):
        A.item()
    with pytest.raises(RuntimeError, match="Boolean value of a Tensor with 6 elements is ambiguous"):
        bool(A)
    with pytest.raises(RuntimeError, match="only floating-point tensors can require gradients, this one is int64"):
        rd.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="tensor: data must be numbers"):
        rd.tensor("abc")
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(rd.tensor(1.0))
    with pytest.raises(RuntimeError, match=r"setitem: value of shape \(2,\) cannot be assigned into a tensor "
                                           r"of shape \(3,\)"):
        rd.ones(3)[:] = rd.ones(2)
    with pytest.raises(TypeError, match="unknown dtype"):
        A.to("float128x")


def test_backward_errors():
    with pytest.raises(RuntimeError, match=r"grad can be implicitly created only for scalar outputs.*shape \(3,\)"):
        rd.ones(3, requires_grad=True).exp().backward()
    with pytest.raises(RuntimeError, match=r"gradient for outputs\[0\] has shape \(2,\), expected the "
                                           r"output's shape \(3,\)"):
        rd.ones(3, requires_grad=True).exp().backward(rd.ones(2))
    with pytest.raises(RuntimeError, match="does not require grad and has no grad_fn"):
        rd.ones(3).sum().backward()


def test_errors_keep_no_state_behind():
    """A failed op leaves the graph usable: the inputs' next backward works."""
    x = rd.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    with pytest.raises(RuntimeError):
        x + rd.ones(4)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [[2.0] * 3] * 2
