"""rd.detect_anomaly: the first NaN/Inf, in forward or backward, names the op, the module path, shapes and values."""
import numpy as np
import pytest

import redes as rd

nn = rd.nn


class Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(x).log()                 # log of a negative: NaN born in Body's forward


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = Body()

    def forward(self, x):
        return self.body(x).sum()


def test_nan_born_in_forward_names_op_module_shapes_and_values():
    net = Net()
    with np.errstate(all="ignore"), rd.detect_anomaly():
        with pytest.raises(rd.autograd.AnomalyError) as info:
            net(-100 * rd.ones(2, 3))
    msg = str(info.value)
    assert "forward of 'log'" in msg and "in module Net.body (Body)" in msg
    assert "(2, 3) float32" in msg and "nan" in msg
    assert "from finite inputs" in msg


class Root(nn.Module):
    def forward(self, x):
        return x.sqrt().sum()


def test_nan_born_in_backward_names_op_and_module():
    x = rd.zeros(3, requires_grad=True)
    outer = nn.Sequential(Root())
    with np.errstate(all="ignore"), rd.detect_anomaly():
        E = outer(x)                             # sqrt(0) = 0 is finite; its gradient 1 / (2 sqrt(0)) is not
        with pytest.raises(rd.autograd.AnomalyError) as info:
            E.backward()
    msg = str(info.value)
    assert "backward of 'sqrt'" in msg and "in module Sequential.0 (Root)" in msg
    assert "gradient of input 0" in msg and "(3,) float32" in msg and "inf" in msg


def test_outside_a_module_and_at_the_root():
    with np.errstate(all="ignore"), rd.detect_anomaly():
        with pytest.raises(rd.autograd.AnomalyError, match=r"forward of 'log' produced NaN"):
            rd.tensor([-1.0, 2.0]).log()
        with pytest.raises(rd.autograd.AnomalyError, match=r"forward of 'sqrt' in module Root produced"):
            Root()(rd.tensor([-1.0]))


def test_no_error_without_detect_anomaly_and_none_for_nan_inputs():
    with np.errstate(all="ignore"):
        y = rd.tensor([-1.0]).log()              # NaN passes silently, as in torch
        with rd.detect_anomaly():
            z = y * 2                            # the NaN was born before: mul is not blamed
    assert np.isnan(z.item())
