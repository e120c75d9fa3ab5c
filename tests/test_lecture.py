"""The lecture's example, worked out by hand: f(x1, x2, x3) = (y1, y2) = (4 x2 + x2^2 + 3 x3, x1 x2 + 3 x3).

Numbers are 0-D tensors: the scalar engine of the lecture is the tensor engine.
"""
import pytest

import redes as rd


def lecture(dtype=rd.float32):
    x1, x2, x3 = (rd.tensor(v, dtype=dtype, requires_grad=True) for v in (1.0, 2.0, 2.0))
    u = 3 * x3                        # the node shared by both outputs
    y1 = 4 * x2 + x2 ** 2 + u
    y2 = x1 * x2 + u
    return (x1, x2, x3), u, (y1, y2)


@pytest.mark.parametrize("dtype", [rd.float32, rd.float64])
def test_forward(dtype):
    (x1, x2, x3), u, (y1, y2) = lecture(dtype)
    # y1 = 4*2 + 2^2 + 3*2 = 8 + 4 + 6 = 18;  y2 = 1*2 + 3*2 = 2 + 6 = 8
    assert (y1.item(), y2.item()) == (18.0, 8.0)
    assert y1.shape == () and y1.dtype == dtype and x1.ndim == 0


def test_partials_of_the_sum():
    (x1, x2, x3), u, (y1, y2) = lecture()
    e = y1 + y2
    e.backward()
    # dE/dx1 = dy2/dx1 = x2 = 2
    # dE/dx2 = dy1/dx2 + dy2/dx2 = (4 + 2*x2) + x1 = (4 + 4) + 1 = 9
    # dE/dx3 = dy1/dx3 + dy2/dx3 = 3 + 3 = 6
    assert (x1.grad.item(), x2.grad.item(), x3.grad.item()) == (2.0, 9.0, 6.0)


def test_partials_of_the_squared_error():
    (x1, x2, x3), u, (y1, y2) = lecture()
    e = (y1 - 20) ** 2 + (y2 - 7) ** 2
    # E = (18 - 20)^2 + (8 - 7)^2 = 4 + 1 = 5
    assert e.item() == 5.0
    e.backward()
    # dE/dy1 = 2 (y1 - 20) = 2 * (-2) = -4;   dE/dy2 = 2 (y2 - 7) = 2 * 1 = 2
    # dE/dx1 = dE/dy2 * x2 = 2 * 2 = 4
    # dE/dx2 = dE/dy1 * (4 + 2 x2) + dE/dy2 * x1 = -4 * 8 + 2 * 1 = -30
    # dE/dx3 = dE/dy1 * 3 + dE/dy2 * 3 = -12 + 6 = -6
    assert (x1.grad.item(), x2.grad.item(), x3.grad.item()) == (4.0, -30.0, -6.0)


def test_grad_with_respect_to_the_intermediate_node():
    (x1, x2, x3), u, (y1, y2) = lecture()
    # u = 3 x3 enters y1 and y2 with coefficient 1 each
    # E = y1 + y2:                      dE/du = 1 + 1 = 2
    (gu,) = rd.grad(y1 + y2, u, retain_graph=True)
    assert gu.item() == 2.0
    # E = (y1-20)^2 + (y2-7)^2:        dE/du = dE/dy1 + dE/dy2 = -4 + 2 = -2
    gu, gx3 = rd.grad((y1 - 20) ** 2 + (y2 - 7) ** 2, [u, x3])
    assert gu.item() == -2.0
    assert gx3.item() == 3 * gu.item()            # chain rule: dE/dx3 = dE/du * du/dx3 = -2 * 3 = -6
    assert x3.grad is None                         # rd.grad leaves .grad alone


def test_second_derivative_by_hand():
    (x1, x2, x3), u, (y1, y2) = lecture(rd.float64)
    e = (y1 - 20) ** 2 + (y2 - 7) ** 2
    (g2,) = rd.grad(e, x2, create_graph=True)
    assert g2.item() == -30.0
    # dE/dx2 = 2 (y1 - 20)(4 + 2 x2) + 2 (y2 - 7) x1
    # d2E/dx2^2 = 2 (4 + 2 x2)^2 + 2 (y1 - 20) * 2 + 2 x1^2 = 2 * 64 - 8 + 2 = 122
    # d2E/dx2dx1: only 2 (y2 - 7) x1 depends on x1 -> 2 (dy2/dx1) x1 + 2 (y2 - 7) = 2 * 2 * 1 + 2 * 1 = 6
    h22, h21 = rd.grad(g2, [x2, x1])
    assert (h22.item(), h21.item()) == (122.0, 6.0)
