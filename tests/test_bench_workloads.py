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


def test_the_machine_probe_reports_gemm_speedup_and_exp_time():
    """bench's header/footer line: the probe runs (threadpoolctl switches the BLAS to one thread) and formats."""
    worker, main = importlib.import_module("bench.worker"), importlib.import_module("bench.__main__")
    probe = worker.cores_probe(repeats=3)
    assert probe["gemm_all_ms"] > 0 and probe["exp_1m_ms"] > 0
    if probe["gemm_one_ms"] is not None:
        assert probe["gemm_speedup"] == pytest.approx(probe["gemm_one_ms"] / probe["gemm_all_ms"])
    line = main.probe_line("start", probe)
    assert line.startswith("machine probe at start: (256x512)@(512x512) float32 GEMM") and "np.exp over 1M" in line
    assert "unavailable" in main.probe_line("end", {"status": "error", "error": "worker timed out"})


def test_the_header_says_whether_redes_runs_its_compiled_kernels(monkeypatch):
    import argparse
    from bench import __main__ as bench_main
    from bench import worker
    from redes import backend
    monkeypatch.setattr(backend, "kernels", backend._compiled)
    assert worker.redes_kernels() == "compiled kernels on (redes/_kernels.c)"
    monkeypatch.setattr(backend, "kernels", None)
    assert "built but off" in worker.redes_kernels()
    monkeypatch.setattr(backend, "_compiled", None)
    assert "not built" in worker.redes_kernels()
    args = argparse.Namespace(unset_openblas_coretype=False, device="cpu", rounds=1, seconds=1.0, compile=False)
    lines = bench_main.header_lines({"redes_kernels": worker.redes_kernels()}, args)
    assert "  redes: compiled kernels not built (no C compiler at install): NumPy code only" in lines
