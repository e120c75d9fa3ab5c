"""Long runs stay flat: 5,000 training steps of a small MLP and of a small LSTM keep the traced allocations
(tracemalloc: every NumPy buffer and Python object) and the resident set size flat after warm-up; inference under
no_grad records no graph (no grad_fn, no op node alive, nothing saved for backward).

Tolerances: after 500 warm-up steps, the traced memory may grow by at most 64 KiB over the next 4,500 steps (one
leaked float32 activation of the MLP per step would add 4,500 * 512 B = 2.2 MiB; one leaked op node ~1 MiB), and the
RSS by at most 4 MiB (allocator noise; a leak of one batch per step would add 9 MiB)."""
import gc
import os
import tracemalloc

import numpy as np
import pytest

import redes as rd
from redes.autograd import Function

STEPS, WARMUP = 5000, 500
TRACED_SLACK, RSS_SLACK = 64 * 1024, 4 * 1024 * 1024


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _flat_run(model, batch, loss_fn, opt):
    """Train STEPS steps; (traced bytes, RSS) after warm-up and at the end, and the traced peak after warm-up."""
    x, y = batch

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    tracemalloc.start()
    try:
        for _ in range(WARMUP):
            step()
        gc.collect()
        traced0, rss0 = tracemalloc.get_traced_memory()[0], _rss()
        tracemalloc.reset_peak()
        for _ in range(STEPS - WARMUP):
            last = step()
        gc.collect()
        traced1, peak = tracemalloc.get_traced_memory()
        rss1 = _rss()
    finally:
        tracemalloc.stop()
    assert np.isfinite(last)
    return traced0, traced1, peak, rss0, rss1


def assert_stays_flat(name, traced0, traced1, peak, rss0, rss1):
    print(f"\n{name}: traced {traced0 / 1024:.1f} -> {traced1 / 1024:.1f} KiB (peak {peak / 1024:.1f} KiB), "
          f"RSS {rss0 / 2**20:.1f} -> {rss1 / 2**20:.1f} MiB over {STEPS - WARMUP} steps after {WARMUP}")
    assert traced1 - traced0 <= TRACED_SLACK, f"{name}: traced memory grew by {traced1 - traced0} bytes"
    assert rss1 - rss0 <= RSS_SLACK, f"{name}: RSS grew by {(rss1 - rss0) / 2**20:.2f} MiB"


@pytest.mark.slow
def test_mlp_5000_steps_stay_flat():
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(8, 32), rd.nn.ReLU(), rd.nn.Linear(32, 4))
    x, y = rd.randn(16, 8), rd.randint(0, 4, (16,))
    opt = rd.optim.Adam(model.parameters(), lr=1e-3)
    assert_stays_flat("MLP", *_flat_run(model, (x, y), rd.nn.functional.cross_entropy, opt))


class _Tagger(rd.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = rd.nn.LSTM(4, 8, batch_first=True)
        self.head = rd.nn.Linear(8, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


@pytest.mark.slow
def test_lstm_5000_steps_stay_flat():
    rd.manual_seed(0)
    model = _Tagger()
    x, y = rd.randn(4, 5, 4), rd.randint(0, 3, (4,))
    opt = rd.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    assert_stays_flat("LSTM", *_flat_run(model, (x, y), rd.nn.functional.cross_entropy, opt))


def _live_nodes():
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), Function))   # type(): no lazy-module proxies


def test_no_grad_inference_records_no_graph():
    rd.manual_seed(0)
    model = rd.nn.Sequential(rd.nn.Linear(6, 16), rd.nn.GELU(), rd.nn.LayerNorm(16), rd.nn.Linear(16, 3))
    lstm = rd.nn.LSTM(6, 5, batch_first=True)
    x = rd.randn(8, 6)
    before = _live_nodes()
    outs = []
    with rd.no_grad():
        for _ in range(50):
            y = model(x).softmax(-1)
            h, _ = lstm(x.unsqueeze(1))
            assert y.grad_fn is None and not y.requires_grad
            assert h.grad_fn is None and not h.requires_grad
            outs.append((y, h))
    assert _live_nodes() == before, "no_grad inference left op nodes alive"
    tracemalloc.start()
    try:
        with rd.no_grad():
            for _ in range(20):
                model(x)
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        with rd.no_grad():
            for _ in range(500):
                model(x)
        gc.collect()
        last = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert last - first <= 16 * 1024, f"no_grad inference kept {last - first} bytes"
    y = model(x)                                   # and with grad on, a graph is recorded (the check can fail)
    assert y.grad_fn is not None and _live_nodes() > before
