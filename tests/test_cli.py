"""The ``redes`` command line, run as a user runs it: ``python -m redes ...`` in a subprocess.

Train (few epochs) -> predict -> evaluate -> summary on the shipped student tables; bad inputs give
exit status 1 and one line ``redes: error: ...`` naming the column and row, without a traceback and
without a model file; Ctrl-C saves the model trained so far and exits 130. ``--help`` and the demo
listing run in-process (cheaper than a Python start each).
"""
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import redes as rd
from redes import cli

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "examples" / "data"
STUDENTS, NEW, CAT = DATA / "students.csv", DATA / "students_new.csv", DATA / "students_cat.csv"
COMMANDS = ["train", "predict", "evaluate", "summary", "demo"]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])   # the tree under test
    return env


def redes(*args, cwd=None):
    """Run ``python -m redes ARGS``; returns the CompletedProcess (text stdout/stderr)."""
    return subprocess.run([sys.executable, "-m", "redes", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=_env(), timeout=120)


def redes_many(arg_lists, cwd=None):
    """Several ``python -m redes`` runs at once (each mostly waits on imports); results in order."""
    procs = [subprocess.Popen([sys.executable, "-m", "redes", *map(str, a)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=cwd, env=_env()) for a in arg_lists]
    results = []
    for p, a in zip(procs, arg_lists):
        out, err = p.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(a, p.returncode, out, err))
    return results


def assert_one_line_error(result, *words):
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("redes: error: ")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], (word, errors[0])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A students model trained by the CLI (3 epochs): (folder, model path, CompletedProcess)."""
    folder = tmp_path_factory.mktemp("cli")
    model = folder / "students.model"
    result = redes("train", STUDENTS, "--target", "N1", "N2", "--epochs", 3, "--hidden", 16, 16, "--lr", 0.01,
                   "--ensemble", 1, "--quiet", "--out", model, cwd=folder)
    return folder, model, result


# ------------------------------------------------------------------------------------------ the main job

def test_train_writes_model_curves_and_report(trained):
    folder, model, result = trained
    assert result.returncode == 0, result.stderr
    assert model.is_file() and (folder / "students.png").is_file()
    assert (folder / "students.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = result.stdout
    assert "regression of N1, N2" in out and "validation metrics" in out
    assert "378 parameters" in out                    # MLP (3*16+16) + (16*16+16) + (16*2+2), skip path 3*2+2
    assert "3 epochs" in out and "model saved to" in out
    assert "epoch 1/3" not in result.stderr           # --quiet: no per-epoch lines
    assert "Traceback" not in result.stderr
    loaded = rd.load(model)                            # the file is a real model with its preprocessing
    assert loaded.preprocessor.target_names == ["N1", "N2"]
    assert loaded.saved_extra["report"]["epochs"] == 3


def test_predict_evaluate_summary(trained):
    folder, model, _ = trained
    preds_csv = folder / "preds.csv"
    to_file, to_stdout, evaluated, summary = redes_many([
        ["predict", model, NEW, "--out", preds_csv],
        ["predict", model, NEW],
        ["evaluate", model, STUDENTS],
        ["summary", model]], cwd=folder)

    assert to_file.returncode == 0, to_file.stderr
    preds = pd.read_csv(preds_csv)
    assert list(preds.columns) == ["Estudio", "Edad", "Promedio", "N1", "N2"]
    assert len(preds) == 10
    assert preds[["Estudio", "Edad", "Promedio"]].equals(pd.read_csv(NEW))      # input columns as given
    assert preds[["N1", "N2"]].to_numpy().min() > -2 and preds[["N1", "N2"]].to_numpy().max() < 22
    assert "10 predictions" in to_file.stderr

    assert to_stdout.returncode == 0, to_stdout.stderr
    streamed = pd.read_csv(io.StringIO(to_stdout.stdout))
    np.testing.assert_allclose(streamed[["N1", "N2"]], preds[["N1", "N2"]], rtol=1e-5)

    assert evaluated.returncode == 0, evaluated.stderr
    lines = evaluated.stdout.splitlines()
    assert "1000 rows, regression" in lines[0]
    header = lines[1].split()
    assert header == ["loss", "mae", "rmse", "r2"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == {"N1", "N2", "all"}
    assert 0 < float(rows["all"][1]) < 5                     # MAE in grade points, not standardised units

    assert summary.returncode == 0, summary.stderr
    assert "Linear" in summary.stdout and "378" in summary.stdout
    assert "inputs (3): Estudio, Edad, Promedio" in summary.stdout
    assert "outputs (2, regression): N1, N2" in summary.stdout


def test_predict_on_labelled_table_keeps_both_columns(trained, tmp_path):
    _, model, _ = trained
    assert cli.main(["predict", str(model), str(STUDENTS), "--out", str(tmp_path / "p.csv")]) == 0
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["Estudio", "Edad", "Promedio", "N1", "N2", "N1_pred", "N2_pred"]
    assert np.corrcoef(preds["N1"], preds["N1_pred"])[0, 1] > 0.7


def test_classification_in_process(tmp_path, capsys):
    model = tmp_path / "aprobado.model"
    code = cli.main(["train", str(CAT), "--target", "Aprobado", "--epochs", "2", "--hidden", "8", "--quiet",
                     "--plot", "none", "--out", str(model)])
    out = capsys.readouterr().out
    assert code == 0 and model.is_file() and not (tmp_path / "aprobado.png").exists()
    assert "classification of Aprobado" in out and "accuracy" in out
    assert cli.main(["predict", str(model), str(CAT), "--out", str(tmp_path / "p.csv")]) == 0
    assert set(pd.read_csv(tmp_path / "p.csv")["Aprobado_pred"]) <= {"si", "no"}
    assert cli.main(["evaluate", str(model), str(CAT), "--json"]) == 0
    assert '"accuracy"' in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------- errors

@pytest.fixture(scope="module")
def bad_tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    frame = pd.read_csv(STUDENTS).astype(object)
    frame.loc[41, "Edad"] = "veinte"                        # data row 42
    frame.to_csv(folder / "bad_feature.csv", index=False)
    frame = pd.read_csv(STUDENTS).astype(object)
    frame.loc[6, "N2"] = "doce"                             # data row 7
    frame.to_csv(folder / "bad_target.csv", index=False)
    new = pd.read_csv(NEW).astype(object)
    new.loc[2, "Promedio"] = "16,5"                         # decimal comma, data row 3
    new.to_csv(folder / "bad_new.csv", index=False)
    (folder / "empty.csv").write_text("")
    (folder / "header_only.csv").write_text("Estudio,Edad,Promedio,N1,N2\n")
    pd.read_csv(NEW).drop(columns=["Edad"]).to_csv(folder / "no_edad.csv", index=False)
    return folder


def test_bad_inputs_exit_1_with_one_line(bad_tables, trained):
    out = bad_tables / "m.model"
    _, model, _ = trained
    cases = [
        (["train", bad_tables / "missing.csv", "--target", "N1", "--out", out], ["missing.csv"]),
        (["train", STUDENTS, "--target", "N3", "--out", out], ["'N3'", "not found", "Estudio"]),
        (["train", bad_tables / "bad_feature.csv", "--target", "N1", "N2", "--out", out],
         ["'Edad'", "row 42", "'veinte'"]),
        (["train", bad_tables / "bad_target.csv", "--target", "N1", "N2", "--task", "regression", "--out", out],
         ["'N2'", "row 7", "'doce'"]),
        (["predict", model, bad_tables / "bad_new.csv"], ["'Promedio'", "row 3", "'16,5'"]),
        (["predict", bad_tables / "missing.model", NEW], ["missing.model"]),
        (["evaluate", model, NEW], ["'N1'", "not found"]),
        (["predict", STUDENTS, NEW], ["not a readable"]),
        (["train", STUDENTS, "--target", "N1", "--activation", "nope", "--out", out], ["activation", "'nope'"]),
        (["train", bad_tables / "empty.csv", "--target", "N1", "--out", out], ["empty.csv", "is empty"]),
        (["train", bad_tables / "header_only.csv", "--target", "N1", "--out", out],
         ["header_only.csv", "no data rows"]),
        (["predict", model, bad_tables / "no_edad.csv"], ["feature column 'Edad' not found"]),
        (["train", STUDENTS, "--target", "N1", "--hidden", "8", "x", "--out", out], ["--hidden", "'8 x'"]),
    ]
    results = redes_many([args for args, _ in cases], cwd=bad_tables)
    for (args, words), result in zip(cases, results):
        assert_one_line_error(result, *words)
        assert result.stdout == "", (args, result.stdout)     # nothing half-written to stdout either
    assert not out.exists() and not out.with_suffix(".png").exists()
    assert not [p for p in bad_tables.iterdir() if p.name.startswith(".tmp")]


def test_usage_errors_exit_2(capsys):
    for argv in (["train", str(STUDENTS), "--out", "x.model"],               # --target missing
                 ["train", str(STUDENTS), "--target", "N1", "--out", "x", "--epochs", "0"],
                 ["train", str(STUDENTS), "--target", "N1", "--out", "x", "--val-split", "1.5"],
                 ["frobnicate"], []):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2, argv
    assert "expected a positive integer, got '0'" in capsys.readouterr().err


def test_model_without_preprocessor(tmp_path, capsys):
    path = tmp_path / "plain.model"
    rd.save(rd.nn.Sequential(rd.nn.Linear(3, 2)), path)
    assert cli.main(["predict", str(path), str(NEW)]) == 1
    assert "has no table preprocessing" in capsys.readouterr().err
    assert cli.main(["summary", str(path), "--inputs", "3"]) == 0
    assert "Linear" in capsys.readouterr().out


def test_out_is_a_folder(tmp_path, capsys):
    assert cli.main(["train", str(STUDENTS), "--target", "N1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is a folder" in err and "model.model'" in err          # the hint uses the .model suffix


def test_traceback_flag_reraises():
    with pytest.raises(FileNotFoundError):
        cli.main(["--traceback", "predict", "missing.model", str(NEW)])
    with pytest.raises(FileNotFoundError):                       # a global flag after the command works too
        cli.main(["predict", "missing.model", str(NEW), "--traceback"])
    assert cli.main(["predict", "missing.model", str(NEW)]) == 1  # and stays off unless given


# ------------------------------------------------------------------------------- smaller things users meet

def test_one_target_regression_train_summary_evaluate(tmp_path):
    """The most common use: one numeric target. The metric table used to crash (TypeError) after saving."""
    model = tmp_path / "n1.model"
    train = redes("train", STUDENTS, "--target", "N1", "--epochs", 20, "--out", model, cwd=tmp_path)
    assert train.returncode == 0 and "Traceback" not in train.stderr, train.stderr
    assert "task: regression, because the target 'N1' holds numbers with fractions" in train.stdout
    assert "--task classification to change it" in train.stdout
    assert "early stopping kept epoch" in train.stdout
    assert [line.split()[0] for line in train.stdout.splitlines() if line.startswith("  ")] == \
        ["loss", "mae", "rmse", "r2"]
    summary, evaluated = redes_many([["summary", model], ["evaluate", model, STUDENTS]], cwd=tmp_path)
    assert summary.returncode == 0 and "outputs (1, regression): N1" in summary.stdout, summary.stderr
    assert evaluated.returncode == 0, evaluated.stderr
    assert "loss is the mean squared error of standardised targets" in evaluated.stdout
    values = dict(line.split() for line in evaluated.stdout.splitlines()[1:])
    assert set(values) == {"loss", "mae", "rmse", "r2"} and float(values["r2"]) > 0.8
    assert (model.stat().st_mode & 0o777) == 0o666 & ~_umask()        # 0644 under umask 022, not 0600


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_two_targets_show_rmse_per_target(trained):
    _, model, _ = trained
    out = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(out):
        assert cli.main(["evaluate", str(model), str(STUDENTS)]) == 0
    lines = out.getvalue().splitlines()
    assert lines[1].split() == ["loss", "mae", "rmse", "r2"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert set(rows) == {"N1", "N2", "all"}
    assert "-" not in rows["N1"][1:] and "-" not in rows["N2"][1:]  # every target has every metric but the loss


def test_semicolon_table_with_decimal_commas(tmp_path, capsys):
    """--sep/--decimal at training; predict and evaluate reuse them from the model file."""
    frame = pd.read_csv(STUDENTS)
    frame.to_csv(tmp_path / "notas.csv", sep=";", decimal=",", index=False)
    frame.drop(columns=["N1"]).head(5).to_csv(tmp_path / "nuevas.csv", sep=";", decimal=",", index=False)
    model = tmp_path / "notas.model"
    assert cli.main(["train", str(tmp_path / "notas.csv"), "--target", "N1", "--sep", ";", "--decimal", ",",
                     "--epochs", "5", "--ensemble", "1", "--quiet", "--plot", "none", "--out", str(model)]) == 0
    capsys.readouterr()
    assert cli.main(["predict", str(model), str(tmp_path / "nuevas.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert list(pd.read_csv(tmp_path / "p.csv").columns) == ["Estudio", "Edad", "Promedio", "N2", "N1"]
    assert cli.main(["evaluate", str(model), str(tmp_path / "notas.csv")]) == 0
    assert "1000 rows" in capsys.readouterr().out
    # Without --sep the semicolon file is one column: the error says which columns it did find.
    assert cli.main(["train", str(tmp_path / "notas.csv"), "--target", "N1", "--out", str(model)]) == 1
    assert "'N1' not found" in capsys.readouterr().err


def test_hidden_none_categorical_task_and_patience(tmp_path, capsys):
    model = tmp_path / "lin.model"
    assert cli.main(["train", str(CAT), "--target", "Edad", "--task", "regression", "--categorical", "Carrera",
                     "--hidden", "none", "--patience", "0", "--ensemble", "1", "--epochs", "3", "--quiet",
                     "--plot", "none", "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "task: " not in out                                  # given, not guessed: nothing to explain
    assert "early stopping" not in out and "3 epochs" in out
    loaded = rd.load(model)
    assert isinstance(loaded, rd.nn.Sequential) and len(loaded) == 1        # --hidden none: one Linear
    assert loaded.preprocessor.task == "regression"
    assert any(name.startswith("Carrera=") for name in loaded.preprocessor.feature_names)


def test_three_rows_of_whole_numbers(tmp_path, capsys):
    """A tiny table with an integer target is regression, and the report says why; no crash."""
    (tmp_path / "tiny.csv").write_text("x,k\n1.0,1\n2.0,2\n3.0,3\n")
    assert cli.main(["train", str(tmp_path / "tiny.csv"), "--target", "k", "--epochs", "3", "--quiet",
                     "--plot", "none", "--out", str(tmp_path / "tiny.model")]) == 0
    out = capsys.readouterr().out
    assert "task: regression, because the target 'k' holds 3 different whole numbers in only 3 rows" in out
    assert "--task classification to change it" in out


def test_progress_lines(tmp_path):
    """Default: a line every tenth of the epochs (stderr is not a terminal here); --verbose: every epoch."""
    default, verbose = redes_many([
        ["train", STUDENTS, "--target", "N1", "--epochs", 20, "--patience", 0, "--ensemble", 1, "--plot", "none",
         "--out", tmp_path / "a.model"],
        ["train", STUDENTS, "--target", "N1", "--epochs", 20, "--patience", 0, "--ensemble", 1, "--plot", "none",
         "--verbose", "--out", tmp_path / "b.model"]], cwd=tmp_path)
    lines = [line.split()[1] for line in default.stderr.splitlines() if line.startswith("epoch ")]
    assert lines == ["1/20", "2/20", "4/20", "6/20", "8/20", "10/20", "12/20", "14/20", "16/20", "18/20", "20/20"]
    assert len([line for line in verbose.stderr.splitlines() if line.startswith("epoch ")]) == 20


def test_predict_proba_columns(tmp_path):
    model = tmp_path / "aprobado.model"
    assert cli.main(["train", str(CAT), "--target", "Aprobado", "--epochs", "5", "--quiet", "--plot", "none",
                     "--out", str(model)]) == 0
    assert cli.main(["predict", str(model), str(CAT), "--proba", "--out", str(tmp_path / "p.csv")]) == 0
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns)[-3:] == ["Aprobado_pred", "Aprobado_proba_no", "Aprobado_proba_si"]
    np.testing.assert_allclose(preds[["Aprobado_proba_no", "Aprobado_proba_si"]].sum(axis=1), 1.0, rtol=1e-5)  # %.6g
    assert ((preds["Aprobado_proba_si"] > 0.5) == (preds["Aprobado_pred"] == "si")).all()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_saves_model_and_exits_130(tmp_path):
    model = tmp_path / "interrupted.model"
    p = subprocess.Popen([sys.executable, "-m", "redes", "train", str(STUDENTS), "--target", "N1", "N2",
                          "--epochs", "1000", "--hidden", "8", "--out", str(model)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                         start_new_session=True)
    try:
        for line in p.stderr:                      # wait until training runs, then press "Ctrl-C"
            if line.startswith("epoch 1/"):
                p.send_signal(signal.SIGINT)
                break
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert model.is_file() and "model saved to" in out
    assert rd.load(model).saved_extra["report"]["interrupted"] is True


# ------------------------------------------------------------------------------------ help and version

@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_each_command_has_examples(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"usage: redes {command}" in out
    assert "examples:" in out and f"redes {command}" in out.split("examples:")[1]


def test_top_level_help_and_version():
    helped, version = redes_many([["--help"], ["--version"]])
    assert helped.returncode == 0 and "examples:" in helped.stdout
    for command in COMMANDS:
        assert command in helped.stdout
    assert version.returncode == 0 and version.stdout.strip() == f"redes {rd.__version__}"


def test_demo_lists_every_demo(capsys):
    from redes.demos import DEMOS, examples_dir
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    for name, demo in DEMOS.items():
        assert name in out
        assert (examples_dir() / demo.script).is_file(), demo.script
    assert cli.main(["demo", "nope"]) == 1
    assert "unknown demo 'nope'" in capsys.readouterr().err


def test_docs_commands(tmp_path):
    """Every `$ redes ...` line of docs/cli.md runs, in order, from a folder laid out like the repository."""
    import shlex
    doc = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    commands = [line[2:] for line in doc.splitlines() if line.startswith("$ redes ")]
    assert len(commands) >= 8
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    first = [c for c in commands if c.split()[1] in ("train", "demo")]   # these make what the others read
    for wave in (first, [c for c in commands if c not in first]):
        results = redes_many([shlex.split(c)[1:] for c in wave], cwd=tmp_path)
        for command, result in zip(wave, results):
            assert result.returncode == 0, (command, result.stderr[-2000:])
            assert "Traceback" not in result.stderr, command
    for name in ("students.model", "students.png", "preds.csv", "aprobado.model", "aprobado.csv",
                 "runs/depth/depth.png"):
        assert (tmp_path / name).is_file(), name
    assert list(pd.read_csv(tmp_path / "preds.csv").columns) == ["Estudio", "Edad", "Promedio", "N1", "N2"]
