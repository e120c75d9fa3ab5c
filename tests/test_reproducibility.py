"""Reproducibility: one seed gives bit-identical parameters after training, run to run and in a fresh process;
DataLoader shuffling, dropout masks and initialisation follow rd.manual_seed; a checkpoint stores the RNG state, so a
run resumed from it ends bit-identical to the uninterrupted run."""
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import redes as rd

ROOT = pathlib.Path(rd.__file__).parent.parent

def build():
    return rd.nn.Sequential(rd.nn.Linear(5, 16), rd.nn.ReLU(), rd.nn.Dropout(0.3), rd.nn.Linear(16, 3))


def data():
    x = np.random.default_rng(7).normal(size=(40, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)
    return rd.data.DataLoader(rd.data.TensorDataset(rd.tensor(x), rd.tensor(y)), batch_size=8, shuffle=True)


def epoch(model, opt, loader):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        rd.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()


def train(seed, epochs=3):
    """Init, shuffling and dropout all draw from the generator rd.manual_seed sets."""
    rd.manual_seed(seed)
    model, loader = build(), data()
    opt = rd.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(epochs):
        epoch(model, opt, loader)
    return model


def _params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def _assert_bit_identical(a, b, what):
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and a[k].tobytes() == b[k].tobytes(), f"{what}: {k} differs"


def test_same_seed_same_bits_run_to_run():
    first, second = _params(train(3)), _params(train(3))
    _assert_bit_identical(first, second, "two runs with seed 3")
    other = _params(train(4))
    assert any(first[k].tobytes() != other[k].tobytes() for k in first), "another seed should train differently"


def test_same_seed_same_bits_in_a_fresh_process(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(pathlib.Path(__file__).parent)!r})
        import redes as rd
        from test_reproducibility import train
        rd.io.save_state_dict(train(3).state_dict(), {str(tmp_path / 'fresh.safetensors')!r})
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=120)
    fresh = {k: v.numpy() for k, v in rd.io.load_state_dict(tmp_path / "fresh.safetensors").items()}
    _assert_bit_identical(_params(train(3)), fresh, "this process vs a fresh one")


def test_shuffle_dropout_and_init_follow_manual_seed():
    def draws(seed):
        rd.manual_seed(seed)
        order = [int(i) for xb, in rd.data.DataLoader(rd.data.TensorDataset(rd.arange(10)), shuffle=True)
                 for i in xb.tolist()]
        mask = rd.nn.functional.dropout(rd.ones(50), 0.5, training=True).numpy()
        weight = rd.nn.Linear(4, 4).weight.numpy().copy()
        noise = rd.randn(5).numpy()
        return order, mask, weight, noise
    a, b, c = draws(11), draws(11), draws(12)
    assert a[0] == b[0] and sorted(a[0]) == list(range(10))
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x, y)
    assert a[0] != c[0] and not np.array_equal(a[1], c[1]) and not np.array_equal(a[2], c[2])


def test_resumed_run_is_bit_identical_to_the_uninterrupted_one(tmp_path):
    """Epoch 1, checkpoint, epochs 2-3 -- versus a new process state that loads the checkpoint and runs epochs 2-3.
    Shuffling and dropout draw from the global generator, so only a restored RNG state gives the same bits."""
    rd.manual_seed(5)
    model, loader = build(), data()
    opt = rd.optim.Adam(model.parameters(), lr=1e-2)
    sched = rd.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    epoch(model, opt, loader)
    sched.step()
    rd.save_checkpoint(tmp_path / "ckpt.safetensors", model, opt, sched, epoch=1)
    for _ in range(2):
        epoch(model, opt, loader)
        sched.step()
    uninterrupted = _params(model)

    rd.manual_seed(999)                                     # a different state everywhere before resuming
    resumed, loader2 = build(), data()
    opt2 = rd.optim.Adam(resumed.parameters(), lr=1e-2)
    sched2 = rd.optim.lr_scheduler.StepLR(opt2, step_size=1, gamma=0.5)
    start, _ = rd.load_checkpoint(tmp_path / "ckpt.safetensors", resumed, opt2, sched2)
    assert start == 1
    for _ in range(2):
        epoch(resumed, opt2, loader2)
        sched2.step()
    _assert_bit_identical(uninterrupted, _params(resumed), "resumed run")
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_checkpoint_rng_state_names_only_numpy_bit_generators(tmp_path):
    """The stored generator name is looked up among NumPy's bit generators only: a hostile file gets a clear error."""
    with pytest.raises(ValueError, match="bit generator"):
        rd.set_rng_state({"bit_generator": "seed", "state": {}})
    state = rd.get_rng_state()
    rd.set_rng_state(state)
    assert rd.get_rng_state() == state
