"""The benchmark's redes workloads build and train, eagerly and through rd.compile (no timing: bench/ measures
speed; this keeps its workloads runnable and checks that rd.compile replays each of them). The hand-written NumPy
floor (bench/floor.py) computes the same training steps as torch, and `python -m bench` runs and reports it."""
import argparse
import importlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))      # the repository root, where bench/ lives
REPO_ROOT = Path(__file__).resolve().parents[1]
workloads = importlib.import_module("bench.workloads")
floor = importlib.import_module("bench.floor")

# mlp_large: same code as the other MLPs, 7 M params
TENSOR_WORKLOADS = ["mlp_tiny", "mlp_small", "cnn", "cnn_bn", "transformer", "lstm", "gru"]
# Workloads rd.compile does not replay yet, and the reason its warning gives (docs/compile.md).
COMPILE_FALLBACK = {"cnn_bn": "batch_norm in training mode updates running statistics outside its op"}


@pytest.fixture
def compiled(request, monkeypatch):
    monkeypatch.setattr(workloads, "COMPILE", request.param)
    return request.param


@pytest.mark.parametrize("compiled", [False, True], indirect=True, ids=["eager", "compiled"])
@pytest.mark.parametrize("name", TENSOR_WORKLOADS)
def test_redes_workload_trains(name, compiled):
    step = workloads.get("redes", name)()
    if compiled and name in COMPILE_FALLBACK:       # known: rd.compile says why it runs this one eagerly
        with pytest.warns(UserWarning, match=COMPILE_FALLBACK[name]):
            losses = [float(step().item()) for _ in range(3)]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # an rd.compile fallback would warn
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


# --- The NumPy floor ---------------------------------------------------------------------------------

def _torch_mlp(torch, sizes):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers += [torch.nn.ReLU()] * bool(i) + [torch.nn.Linear(n_in, n_out)]
    return torch.nn.Sequential(*layers)


def _floor_and_torch(name, torch, **hyper):
    """A float64 floor model and torch's, from the same initial weights (torch's seeded init), with the
    workload's shapes and optimizer; a float64 batch drawn like the workload's. Returns
    (floor_model, torch_params, torch_step, x, y), torch_step() -> loss."""
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    if name == "lstm":
        batch, seq, n_in, hidden = workloads.RNN_BATCH, workloads.RNN_SEQ, workloads.RNN_IN, workloads.RNN_HIDDEN
        lstm, head = torch.nn.LSTM(n_in, hidden, batch_first=True), torch.nn.Linear(hidden, 1)
        params = list(lstm.parameters()) + list(head.parameters())
        model = floor.LSTMFloor(n_in, hidden, batch, seq, params=[p.detach().numpy().copy() for p in params],
                                dtype=np.float64, **hyper)
        x, y = rng.standard_normal((batch, seq, n_in)), rng.standard_normal((batch, 1))
        opt = torch.optim.Adam(params, lr=1e-3)
        loss_fn = lambda: torch.nn.functional.mse_loss(head(lstm(torch.tensor(x))[0][:, -1, :]), torch.tensor(y))
    else:
        sizes, batch = {"mlp_tiny": workloads.MLP_TINY, "mlp_small": workloads.MLP_SMALL,
                        "mlp_large": workloads.MLP_LARGE}[name]
        net = _torch_mlp(torch, sizes)
        params = list(net.parameters())
        model = floor.MLPFloor(sizes, batch, dtype=np.float64, **hyper,
                               params=[(w.detach().numpy().copy(), b.detach().numpy().copy())
                                       for w, b in zip(params[0::2], params[1::2])])
        x, y = rng.standard_normal((batch, sizes[0])), rng.integers(0, sizes[-1], size=batch)
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9)
        loss_fn = lambda: torch.nn.functional.cross_entropy(net(torch.tensor(x)), torch.tensor(y))

    def torch_step():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        opt.step()
        return loss.item()
    return model, params, torch_step, x, y


@pytest.fixture
def torch64():
    torch = pytest.importorskip("torch")
    default, threads = torch.get_default_dtype(), torch.get_num_threads()
    # One torch thread: its OpenMP threads spin after each op and take the core from NumPy's BLAS (bench/README.md).
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield torch
    torch.set_default_dtype(default)
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", floor.FLOOR_WORKLOADS)
def test_the_floor_computes_the_same_training_steps_as_torch(name, torch64):
    """Two float64 steps (the second uses the momentum / Adam state): same losses, same updated parameters."""
    model, params, torch_step, x, y = _floor_and_torch(name, torch64)
    before = model.torch_params()
    for step in range(2):
        ours, ref = model.step(x, y), torch_step()
        assert ours == pytest.approx(ref, rel=1e-12), f"{name}: loss of step {step + 1}"
    for k, (ours, ref, old) in enumerate(zip(model.torch_params(), params, before)):
        ref = ref.detach().numpy()
        assert not np.array_equal(ref, old), f"{name}: parameter {k} did not move; the comparison would be empty"
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13, err_msg=f"{name}: parameter {k} after 2 steps")


@pytest.mark.parametrize("name, hyper", [("mlp_tiny", {"momentum": 0.8}), ("lstm", {"betas": (0.9, 0.99)})])
def test_the_floor_comparison_catches_a_floor_that_computes_something_else(name, hyper, torch64):
    model, params, torch_step, x, y = _floor_and_torch(name, torch64, **hyper)
    for _ in range(2):
        model.step(x, y), torch_step()
    assert not all(np.allclose(ours, ref.detach().numpy(), rtol=1e-10, atol=1e-13)
                   for ours, ref in zip(model.torch_params(), params))


@pytest.mark.parametrize("name", floor.FLOOR_WORKLOADS)
def test_the_floor_workload_trains_in_float32(name):
    step = workloads.get("numpy", name)()
    losses = [step() for _ in range(3)]
    assert all(isinstance(loss, float) and np.isfinite(loss) for loss in losses)
    assert losses[-1] < losses[0]


def test_workloads_without_a_floor_say_so():
    with pytest.raises(NotImplementedError, match="no NumPy floor for 'cnn'"):
        workloads.get("numpy", "cnn")
    assert workloads.get("numpy", "mlp_large", "gemm") is workloads.redes_mlp_large_gemm


def test_the_floor_worker_loads_numpy_alone():
    """A floor measurement imports neither redes nor torch (a fresh process, as `python -m bench` runs it)."""
    code = ("import sys, json; from bench import worker; r = worker.measure('numpy', 'mlp_tiny', 0.05); "
            "print(json.dumps([r['status'], r['steps_per_s'], sorted({m.split('.')[0] for m in sys.modules} "
            "& {'redes', 'torch'})]))")
    result, stderr = _python("-c", code)
    assert result is not None, stderr
    status, rate, loaded = result
    assert (status, loaded) == ("ok", []) and rate > 0, stderr


def _python(*args):
    """Run `python *args` in a fresh process from the repository; (its last stdout line as JSON, its stderr)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = out.stdout.strip().splitlines()
    return (json.loads(lines[-1]) if lines else None), out.stderr


def _worker(*args):
    return _python("-m", "bench.worker", *args, "--seconds", "0.05", "--json")[0]


def test_the_worker_runs_redes_on_another_device():
    """--device twin: redes' workload on its CPU test device (every tensor a TwinArray), torch on the CPU; the
    CPU-only libraries say so; --device cuda without a GPU is reported unavailable, never a crash."""
    code = ("import json; from bench import worker, workloads; sync = worker.select_device('redes', 'twin'); "
            "step = workloads.get('redes', 'mlp_tiny')(); loss = step(); sync(); "
            "print(json.dumps(type(loss.array).__name__))")
    kind, stderr = _python("-c", code)
    assert kind == "TwinArray", stderr
    for lib in ("redes", "torch"):
        result = _worker("--lib", lib, "--workload", "mlp_tiny", "--device", "twin")
        assert result["status"] == "ok" and result["steps_per_s"] > 0 and result["device"] == "twin", result
    assert _worker("--lib", "numpy", "--workload", "mlp_tiny", "--device", "twin")["status"] == "unavailable"
    assert _worker("--lib", "redes", "--workload", "scalar", "--device", "twin")["status"] == "unavailable"
    try:
        import cupy  # noqa: F401
    except ImportError:
        result = _worker("--lib", "redes", "--workload", "mlp_tiny", "--device", "cuda")
        assert result["status"] == "error" and "no CUDA here" in result["error"], result


def _round(redes, torch, numpy=None):
    rnd = {"redes": {"status": "ok", "steps_per_s": redes, "peak_rss_mib": 40.0},
           "torch": {"status": "ok", "steps_per_s": torch, "peak_rss_mib": 300.0}}
    if numpy is not None:
        rnd["numpy"] = {"status": "ok", "steps_per_s": numpy, "peak_rss_mib": 35.0}
    return rnd


def test_the_table_has_a_floor_column_and_redes_over_floor_ratios():
    from bench import __main__ as bench_main
    with_floor = bench_main.summarize("mlp_tiny", [_round(100, 50, 200), _round(90, 30, 300), _round(80, 32, 100)])
    assert with_floor["floor_ratios"] == [0.5, 0.3, 0.8]
    assert (with_floor["floor_ratio"], with_floor["floor_ratio_min"], with_floor["floor_ratio_max"]) == (0.5, 0.3, 0.8)
    assert with_floor["numpy"]["steps_per_s"] == 200 and with_floor["ratio"] == 2.5
    without = bench_main.summarize("cnn", [_round(10, 20)])
    assert without["numpy"]["status"] == "none" and "floor_ratio" not in without
    head, _, row_floor, row_none = bench_main.table_lines([{"workload": "mlp_tiny", "summary": with_floor},
                                                           {"workload": "cnn", "summary": without}])
    assert head.split()[:8] == ["workload", "redes", "steps/s", "torch", "steps/s", "floor", "steps/s", "redes/torch"]
    assert "redes/floor" in head
    assert row_floor.split()[:8] == ["mlp_tiny", "90.0", "32.0", "200", "2.5", "2-3", "0.5", "0.3-0.8"]
    assert row_none.split()[:8] == ["cnn", "10.0", "20.0", "-", "0.5", "0.5-0.5", "-", "-"]


def test_the_header_names_the_cpu_and_each_librarys_blas_and_threads():
    from bench import __main__ as bench_main
    from bench import worker
    torch = pytest.importorskip("torch")
    cpu = worker.cpu_info()
    assert cpu["cpu_model"] and cpu["logical_cpus"] == os.cpu_count()
    cpu["numpy"] = worker.numpy_blas(worker._blas_pools(np))
    cpu["torch"] = worker.torch_blas(torch)
    assert cpu["torch"]["intra_op_threads"] == torch.get_num_threads()
    assert cpu["torch"]["blas"] and cpu["torch"]["blas"] in torch.__config__.show()
    args = argparse.Namespace(unset_openblas_coretype=False, device="cpu", rounds=1, seconds=1.0, compile=False)
    lines = bench_main.header_lines({"cpu": cpu}, args)
    assert lines[0].startswith(f"cpu: {cpu['cpu_model']}") and f"{os.cpu_count()} logical CPUs" in lines[0]
    assert lines[1].startswith(f"numpy BLAS (redes, floor): {cpu['numpy']['blas']}")
    assert lines[2].startswith(f"torch BLAS: {cpu['torch']['blas']}")
    assert f"{torch.get_num_threads()} intra-op" in lines[2]


@pytest.mark.slow
def test_python_m_bench_runs_the_floor_end_to_end():
    """`python -m bench --json` on one workload with a floor: three libraries measured, the machine object filled."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    out = subprocess.run([sys.executable, "-m", "bench", "--only", "mlp_tiny", "--rounds", "1", "--seconds", "0.05",
                          "--json"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    report = json.loads(out.stdout)
    summary = report["results"][0]["summary"]
    assert [summary[lib]["status"] for lib in ("redes", "torch", "numpy")] == ["ok"] * 3, out.stderr
    assert summary["floor_ratio"] == pytest.approx(summary["redes"]["steps_per_s"] / summary["numpy"]["steps_per_s"])
    assert report["machine"]["cpu_model"] and report["machine"]["numpy"]["blas"]
