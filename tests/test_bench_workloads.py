"""The benchmark's redes workloads build and train, eagerly and through rd.compile (no timing: bench/ measures
speed; this keeps its workloads runnable and checks that rd.compile replays each of them)."""
import importlib
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))      # the repository root, where bench/ lives
workloads = importlib.import_module("bench.workloads")

TENSOR_WORKLOADS = ["mlp_tiny", "mlp_small", "cnn", "transformer", "lstm"]     # mlp_large: same code, 7 M params


@pytest.fixture
def compiled(request, monkeypatch):
    monkeypatch.setattr(workloads, "COMPILE", request.param)
    return request.param


@pytest.mark.parametrize("compiled", [False, True], indirect=True, ids=["eager", "compiled"])
@pytest.mark.parametrize("name", TENSOR_WORKLOADS)
def test_redes_workload_trains(name, compiled):
    step = workloads.get("redes", name)()
    with warnings.catch_warnings():
        warnings.simplefilter("error")              # an rd.compile fallback would warn
        losses = [float(step().item()) for _ in range(3)]   # record, check against eager, replay
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]                   # the same batch every step: the loss must go down


def test_scalar_workload_counts_its_ops():
    step = workloads.get("redes", "scalar")()
    loss = step()
    assert np.isfinite(loss.item())
    assert workloads.scalar_op_count() == 10302
