"""conv3d, conv_transpose3d, conv_tbc and the Conv3d / ConvTranspose3d layers against torch (outputs, input
and parameter gradients, float64)."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, compare_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)

CONV = [({}, 4, 2, 3), ({"stride": 2, "padding": 1}, 4, 2, 3), ({"padding": "same", "dilation": (1, 2, 1)}, 4, 2, 2),
        ({"groups": 2, "stride": (1, 2, 1), "padding": (0, 1, 2)}, 4, 6, (2, 3, 2)),
        ({"padding": "valid", "dilation": 2}, 2, 3, 2)]


@pytest.mark.parametrize("kw, cin, cout, k", CONV)
def test_conv3d(kw, cin, cout, k):
    ks = (k,) * 3 if isinstance(k, int) else k
    groups = kw.get("groups", 1)
    x, w, b = rng.normal(size=(2, cin, 5, 6, 5)), rng.normal(size=(cout, cin // groups) + ks), rng.normal(size=cout)
    compare_functional_with_torch(lambda a, ww, bb: F.conv3d(a, ww, bb, **kw),
                                  lambda a, ww, bb: TF.conv3d(a, ww, bb, **kw), [x, w, b])
    compare_functional_with_torch(lambda a, ww: F.conv3d(a, ww, **kw), lambda a, ww: TF.conv3d(a, ww, **kw), [x[0], w])
    ours, ref = rd.nn.Conv3d(cin, cout, k, **kw), torch.nn.Conv3d(cin, cout, k, **kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[x])


def test_conv3d_padding_modes():
    for mode in ("reflect", "replicate", "circular"):
        ours = rd.nn.Conv3d(2, 3, 3, padding=1, padding_mode=mode)
        ref = torch.nn.Conv3d(2, 3, 3, padding=1, padding_mode=mode)
        compare_with_torch(ours, ref, (1, 2, 4, 5, 4))


TRANSPOSED = [({}, 3, 2, 2), ({"stride": 2, "padding": 1, "output_padding": 1}, 4, 2, 3),
              ({"groups": 2, "stride": (2, 1, 3), "dilation": (1, 2, 1)}, 4, 6, (2, 3, 2)),
              ({"stride": 1, "dilation": 3, "output_padding": 2, "padding": 2}, 2, 3, 2)]


@pytest.mark.parametrize("kw, cin, cout, k", TRANSPOSED)
def test_conv_transpose3d(kw, cin, cout, k):
    ks = (k,) * 3 if isinstance(k, int) else k
    groups = kw.get("groups", 1)
    x, w, b = rng.normal(size=(2, cin, 3, 4, 3)), rng.normal(size=(cin, cout // groups) + ks), rng.normal(size=cout)
    compare_functional_with_torch(lambda a, ww, bb: F.conv_transpose3d(a, ww, bb, **kw),
                                  lambda a, ww, bb: TF.conv_transpose3d(a, ww, bb, **kw), [x, w, b])
    compare_functional_with_torch(lambda a, ww: F.conv_transpose3d(a, ww, **kw),
                                  lambda a, ww: TF.conv_transpose3d(a, ww, **kw), [x[1], w])
    ours, ref = rd.nn.ConvTranspose3d(cin, cout, k, **kw), torch.nn.ConvTranspose3d(cin, cout, k, **kw)
    assert repr(ours) == repr(ref)
    compare_with_torch(ours, ref, inputs=[x])


def test_conv_transpose3d_output_size():
    ours, ref = rd.nn.ConvTranspose3d(2, 3, 3, stride=2), torch.nn.ConvTranspose3d(2, 3, 3, stride=2)
    ref_out = ref(torch.zeros(1, 2, 3, 3, 3), output_size=(8, 7, 8))
    ours.load_state_dict(ref.state_dict())
    assert ours(rd.zeros(1, 2, 3, 3, 3), output_size=(8, 7, 8)).shape == tuple(ref_out.shape)


@pytest.mark.parametrize("pad", [0, 1, 2])
def test_conv_tbc(pad):
    x, w, b = rng.normal(size=(7, 2, 3)), rng.normal(size=(3, 3, 4)), rng.normal(size=4)
    compare_functional_with_torch(lambda *a: F.conv_tbc(*a, pad), lambda *a: TF.conv_tbc(*a, pad), [x, w, b])


def test_errors():
    with pytest.raises(RuntimeError, match="conv3d: weight must be 5-D"):
        F.conv3d(rd.ones(1, 2, 3, 3, 3), rd.ones(2, 2, 3, 3))
    with pytest.raises(RuntimeError, match=r"Conv3d: expected input with 2 channels"):
        rd.nn.Conv3d(2, 3, 1)(rd.ones(1, 3, 2, 2, 2))
    with pytest.raises(ValueError, match="conv_transpose3d: output padding must be smaller"):
        F.conv_transpose3d(rd.ones(1, 2, 2, 2, 2), rd.ones(2, 1, 2, 2, 2), output_padding=1)
