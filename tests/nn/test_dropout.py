"""Dropout / Dropout1d / Dropout2d: statistics, scaling, exact mask reproduction with rd.manual_seed,
gradient = the same mask, eval identity, p = 0 and p = 1 (not against torch's RNG)."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_and_scale(p):
    x = rd.ones(200_000)
    y = F.dropout(x, p).numpy()
    kept = y != 0
    assert abs(kept.mean() - (1 - p)) < 4 * np.sqrt(p * (1 - p) / y.size)          # 4 sigma
    np.testing.assert_allclose(y[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.02                                                 # expectation unchanged


def test_dropout_mask_reproducible_and_gradient_uses_it():
    x = rd.randn(50, 40, dtype=rd.float64, requires_grad=True)
    rd.manual_seed(7)
    y1 = F.dropout(x, 0.3)
    rd.manual_seed(7)
    layer = rd.nn.Dropout(0.3)
    y2 = layer(x)
    np.testing.assert_array_equal(y1.numpy(), y2.numpy())
    w = np.random.default_rng(0).uniform(0.5, 1.5, (50, 40))
    (y2 * rd.tensor(w)).sum().backward()
    mask = (y2.numpy() != 0) / 0.7
    np.testing.assert_allclose(x.grad.numpy(), w * mask, rtol=1e-12)
    assert y2.dtype == np.float64
    g = np.random.default_rng(3)
    u = g.random((50, 40))
    np.testing.assert_array_equal(F.dropout(x, 0.3, generator=np.random.default_rng(3)).numpy() != 0, u >= 0.3)


def test_eval_mode_p0_p1():
    x = rd.randn(4, 5)
    layer = rd.nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert F.dropout(x, 0.0) is x and F.dropout(x, 0.5, training=False) is x
    x.requires_grad_(True)
    y = F.dropout(x, 1.0)
    assert not y.numpy().any()
    y.sum().backward()
    assert not x.grad.numpy().any()


def test_dropout2d_zeroes_whole_channels():
    x = rd.ones(64, 32, 5, 6)
    y = F.dropout2d(x, 0.4).numpy()
    per_channel = y.reshape(64, 32, -1)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()           # each channel all kept or all dropped
    assert abs((per_channel[:, :, 0] == 0).mean() - 0.4) < 0.05
    np.testing.assert_allclose(per_channel[per_channel != 0], 1 / 0.6, rtol=1e-6)
    rd.manual_seed(1)
    a = rd.nn.Dropout2d(0.4)(x).numpy()
    rd.manual_seed(1)
    np.testing.assert_array_equal(a, rd.nn.Dropout2d(0.4)(x).numpy())
    with pytest.warns(UserWarning, match="3D input to dropout2d"):
        y3 = F.dropout2d(rd.ones(8, 16, 10), 0.5).numpy()
    assert (y3.min(-1) == y3.max(-1)).all()


def test_dropout1d_channels_and_unbatched():
    y = F.dropout1d(rd.ones(32, 20, 7), 0.5).numpy()
    assert (y.min(-1) == y.max(-1)).all()
    y = F.dropout1d(rd.ones(20, 7), 0.5).numpy()
    assert (y.min(-1) == y.max(-1)).all() and 0 < (y[:, 0] == 0).sum() < 20


def test_repr_and_errors():
    assert repr(rd.nn.Dropout(0.1)) == "Dropout(p=0.1, inplace=False)"
    assert repr(rd.nn.Dropout2d()) == "Dropout2d(p=0.5, inplace=False)"
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        rd.nn.Dropout(1.5)
    with pytest.raises(ValueError, match="dropout: dropout probability"):
        F.dropout(rd.ones(3), -0.1)
    with pytest.raises(RuntimeError, match="dropout1d: expected 2-D or 3-D input"):
        F.dropout1d(rd.ones(2, 3, 4, 5))


def test_float32_kept():
    assert F.dropout(rd.ones(10), 0.5).dtype == np.float32
    assert rd.nn.Dropout2d(0.5)(rd.ones(2, 3, 4, 4)).dtype == np.float32


@pytest.mark.parametrize("fn, shape", [(F.dropout, (6, 4, 3)), (F.dropout2d, (2, 3, 4, 5))])
def test_dropout_op_finite_differences_and_torch_with_the_same_mask(fn, shape):
    """The Dropout op (mask drawn in forward): gradcheck with the mask held fixed by reseeding, and values and
    gradients equal to torch computing x * mask with the mask redes drew (torch's own RNG differs)."""
    torch = pytest.importorskip("torch")

    def run(x):
        rd.manual_seed(5)
        return fn(x, 0.4)

    x = rd.randn(*shape, dtype=rd.float64, requires_grad=True)
    assert rd.gradcheck(run, [x])
    y = run(x)
    mask_shape = shape if fn is F.dropout else shape[:2] + (1, 1)
    mask = (np.random.default_rng(5).random(mask_shape) >= 0.4) / 0.6
    xt = torch.tensor(x.numpy(), requires_grad=True)
    yt = xt * torch.tensor(mask)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-15)
    w = np.random.default_rng(1).uniform(0.5, 1.5, shape)
    (y * rd.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-15)
