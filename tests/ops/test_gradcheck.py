"""rd.gradcheck: passes on correct ops, and names the output, the input and the worst element when a
backward is wrong (a deliberately broken custom Function)."""
import numpy as np
import pytest

import redes as rd
from redes import backend as B
from redes.testing import GradcheckError


class GoodSquare(rd.Function):
    """y = x^2.  Backward: dx = 2 x dy."""
    def forward(self, x):
        return x * x

    def backward(self, m, dy, y, x):
        return (dy * x * 2,)


class BadSin(rd.Function):
    """y = sin(x) with a wrong backward: dx = dy * sin(x) instead of dy * cos(x)."""
    def forward(self, x):
        return B.xp.sin(x)

    def backward(self, m, dy, y, x):
        return (dy * m.sin(x),)


class BadSecondInput(rd.Function):
    """z = a * b whose gradient for b is off by 10% at one element."""
    def forward(self, a, b):
        return a * b

    def backward(self, m, dy, y, a, b):
        db = dy * a
        db = db * B.xp.asarray([[1.0, 1.0, 1.0], [1.0, 1.1, 1.0]])
        return dy * b, db


class BadTransposed(rd.Function):
    """y = x @ w with the gradient of w transposed: only a weighted sum catches it (square w)."""
    def forward(self, x, w):
        return x @ w

    def backward(self, m, dy, y, x, w):
        return dy @ w.T, (x.T @ dy).T


def _x(*shape, seed=0):
    return rd.tensor(np.random.default_rng(seed).uniform(-1, 1, shape), requires_grad=True)


def test_passes_on_correct_ops():
    assert rd.gradcheck(GoodSquare.apply, [_x(2, 3)]) is True
    assert rd.gradcheck(lambda a, b: (a @ b).tanh(), [_x(2, 3), _x(3, 4, seed=1)]) is True
    assert rd.gradcheck(lambda a: (a.softmax(-1), a.sum(0)), [_x(3, 4)]) is True    # several outputs


def test_names_output_input_and_worst_element():
    x = _x(2, 3)
    with pytest.raises(GradcheckError, match=r"Jacobian mismatch for output 0 with respect to input 0 at index "
                                             r"\(\d, \d\): analytical .* vs numerical "):
        rd.gradcheck(BadSin.apply, [x])


def test_names_the_wrong_input_and_its_element():
    a, b = _x(2, 3), _x(2, 3, seed=1)
    with pytest.raises(GradcheckError, match=r"output 0 with respect to input 1 at index \(1, 1\)") as info:
        rd.gradcheck(BadSecondInput.apply, [a, b])
    analytical = float(str(info.value).split("analytical ")[1].split(" ")[0])
    numerical = float(str(info.value).split("numerical ")[1].split(" ")[0])
    assert analytical == pytest.approx(1.1 * numerical, rel=1e-6)        # both values are printed


def test_names_the_wrong_output():
    x = _x(3)
    with pytest.raises(GradcheckError, match="for output 1 with respect to input 0"):
        rd.gradcheck(lambda t: (t.exp(), BadSin.apply(t)), [x])


def test_catches_a_transposed_gradient():
    with pytest.raises(GradcheckError, match="with respect to input 1"):
        rd.gradcheck(BadTransposed.apply, [_x(2, 3), _x(3, 3, seed=1)])


def test_raise_exception_false_returns_false():
    assert rd.gradcheck(BadSin.apply, [_x(4)], raise_exception=False) is False


def test_inputs_arrays_and_non_float_inputs():
    x = np.random.default_rng(0).uniform(-1, 1, (3, 4))          # a float array is checked
    idx = rd.tensor([2, 0, 1])                                   # an integer tensor is a constant
    assert rd.gradcheck(lambda a, i: a[rd.arange(3), i], [x, idx])
    frozen = rd.tensor(np.ones(3))                               # a float Tensor without requires_grad: constant
    assert rd.gradcheck(lambda a, c: a * c, [_x(3), frozen])


def test_float32_inputs_are_checked_in_float64():
    x = rd.tensor(np.random.default_rng(0).uniform(-1, 1, 5).astype(np.float32), requires_grad=True)
    assert rd.gradcheck(lambda t: (t * 3.0).sin(), [x], eps=1e-6, atol=1e-6, rtol=1e-5)
    assert x.dtype == rd.float32 and x.grad is None                   # the caller's tensor is untouched
