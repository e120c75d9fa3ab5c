"""SGD's momentum update of a large float32 group runs the compiled pass in ranges on the thread pool: it matches
torch, and a large parameter gets the same numbers whether its group is updated at once, by the per-parameter
path or through the gather path."""
import numpy as np
import pytest

import redes as rd

torch = pytest.importorskip("torch")

BIG = (1100, 1000)                      # 1.1M values: several ranges of the kernel's pass
SHAPES = [BIG, (7,), (3, 5)]


def _run(kwargs, steps=3, foreach=None, grad_dtype=np.float32):
    rng = np.random.default_rng(3)
    values = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    ps = [rd.nn.Parameter(rd.tensor(v.copy())) for v in values]
    opt = rd.optim.SGD(ps, foreach=foreach, **kwargs)
    tps = [torch.nn.Parameter(torch.tensor(v.copy())) for v in values]
    topt = torch.optim.SGD(tps, **kwargs)
    for gs in grads:
        for p, tp, g in zip(ps, tps, gs):
            p.grad = rd.tensor(g.astype(grad_dtype))
            tp.grad = torch.tensor(g)
        opt.step()
        topt.step()
    return ps, tps, opt, topt


@pytest.mark.parametrize("kwargs", [dict(lr=0.1, momentum=0.9), dict(lr=0.05, momentum=0.8, dampening=0.3)])
def test_large_group_update_matches_torch(kwargs):
    ps, tps, opt, topt = _run(kwargs)
    for i, (p, tp) in enumerate(zip(ps, tps)):
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-6, err_msg=f"param {i}")
        np.testing.assert_allclose(opt.state[p]["momentum_buffer"].numpy(),
                                   topt.state[tp]["momentum_buffer"].numpy(), rtol=1e-6, atol=1e-6)


def test_large_parameter_gets_the_same_numbers_on_every_path():
    """At once (the group's kernel call), per parameter (foreach=False) and gathered (a float64 gradient sends the
    group through the flat copy): the large parameter's values agree bit for bit."""
    kwargs = dict(lr=0.1, momentum=0.9)
    grouped = _run(kwargs)[0]
    single = _run(kwargs, foreach=False)[0]
    gathered = _run(kwargs, grad_dtype=np.float64)[0]
    np.testing.assert_array_equal(grouped[0].numpy(), single[0].numpy())
    np.testing.assert_array_equal(grouped[0].numpy(), gathered[0].numpy())
