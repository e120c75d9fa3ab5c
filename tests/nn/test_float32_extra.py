"""The functions added for torch.nn coverage keep float32 inputs in float32 (no silent upcast by a float64
constant) and agree with torch's float32 results within the float32 tolerance."""
import numpy as np
import pytest

import redes as rd
import redes.nn.functional as F
from tests.nn.helpers import compare_functional_with_torch, torch

TF = torch.nn.functional
rng = np.random.default_rng(0)
X4 = rng.normal(size=(2, 4, 5, 6))
X5 = rng.normal(size=(1, 2, 4, 5, 4))
T = rng.integers(0, 4, size=2)

CASES = [
    ("interpolate_bilinear", lambda f: lambda a: f.interpolate(a, size=(7, 3), mode="bilinear"), [X4]),
    ("interpolate_bicubic", lambda f: lambda a: f.interpolate(a, scale_factor=1.5, mode="bicubic"), [X4]),
    ("interpolate_trilinear", lambda f: lambda a: f.interpolate(a, scale_factor=2, mode="trilinear"), [X5]),
    ("grid_sample", lambda f: lambda a, g: f.grid_sample(a, g, align_corners=False),
     [X4, rng.uniform(-1, 1, (2, 3, 3, 2))]),
    ("avg_pool3d", lambda f: lambda a: f.avg_pool3d(a, 2, 1, 1, count_include_pad=False), [X5]),
    ("max_pool3d", lambda f: lambda a: f.max_pool3d(a, 2), [X5]),
    ("adaptive_avg_pool3d", lambda f: lambda a: f.adaptive_avg_pool3d(a, (3, 2, 3)), [X5]),
    ("lp_pool2d", lambda f: lambda a: f.lp_pool2d(a.abs() + 0.5, 2.0, 2), [X4]),
    ("conv3d", lambda f: lambda a, w: f.conv3d(a, w, padding=1), [X5, rng.normal(size=(3, 2, 2, 2, 2))]),
    ("conv_transpose3d", lambda f: lambda a, w: f.conv_transpose3d(a, w, stride=2),
     [X5, rng.normal(size=(2, 3, 2, 2, 2))]),
    ("unfold", lambda f: lambda a: f.unfold(a, 2, padding=1), [X4]),
    ("local_response_norm", lambda f: lambda a: f.local_response_norm(a, 3), [X4]),
    ("rms_norm", lambda f: lambda a: f.rms_norm(a, (6,)), [X4]),
    ("instance_norm", lambda f: lambda a: f.instance_norm(a), [X4]),
    ("cosine_similarity", lambda f: lambda a, b: f.cosine_similarity(a, b), [X4, X4[::-1].copy()]),
    ("multi_margin_loss", lambda f: lambda a: f.multi_margin_loss(a[:, :, 0, 0], (torch if f is TF else rd).tensor(T)),
     [X4]),
    ("poisson_nll_loss", lambda f: lambda a, b: f.poisson_nll_loss(a, b.abs(), full=True), [X4, X4 * 3]),
    ("gaussian_nll_loss", lambda f: lambda a, b: f.gaussian_nll_loss(a, b, a.abs() + 0.1), [X4, X4[::-1].copy()]),
    ("glu_hardswish", lambda f: lambda a: f.hardswish(f.glu(a, 1)), [X4 * 3]),
    ("pixel_shuffle", lambda f: lambda a: f.pixel_shuffle(a, 2), [X4]),
]


@pytest.mark.parametrize("name, make, arrays", CASES, ids=[c[0] for c in CASES])
def test_float32(name, make, arrays):
    ours, ref = compare_functional_with_torch(make(F), make(TF), arrays, np.float32)
    for o in ours:
        assert o.dtype == rd.float32, f"{name}: output dtype {o.dtype}, expected float32"
