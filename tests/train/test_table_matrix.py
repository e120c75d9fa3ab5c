"""Every kind of table, end to end: through the real CLI (``python -m redes`` in subprocesses) and through
``rd.train.fit_table`` / ``rd.predict`` / ``rd.evaluate``.

The matrix: task {regression with 1 target, regression with 2 targets, binary with string labels, binary
0/1, multiclass strings, multiclass integers} x features {numeric only, with categorical columns, with
missing values} x commands {train, summary, evaluate, predict, predict --proba}. Each cell checks exit
status 0, no traceback, the output file's columns and a metric on rows the model never saw. The tables are
made here (a known function of the features plus noise), so each metric has a floor the defaults must
reach. Training runs with few epochs and 2 models instead of 5: the point is every shape of table, not
the best model (the defaults' floors are in test_table_defaults.py).
"""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import redes as rd

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from test_cli import redes_many  # noqa: E402  (the CLI helper that runs processes in parallel)

TASKS = ["reg1", "reg2", "binary_text", "binary_01", "multi_text", "multi_int"]
FEATURES = ["numeric", "categorical", "missing"]
TARGETS = {"reg1": ["y"], "reg2": ["y", "z"], "binary_text": ["label"], "binary_01": ["label"],
           "multi_text": ["label"], "multi_int": ["label"]}
CLASSES = {"binary_text": ["no", "yes"], "binary_01": [0, 1], "multi_text": ["high", "low", "mid"],
           "multi_int": [1, 2, 3]}
# Floors on held-out rows: R² for regression, accuracy for classification (noise keeps them below 1).
FLOOR = {"reg1": 0.8, "reg2": 0.8, "binary_text": 0.85, "binary_01": 0.85, "multi_text": 0.75, "multi_int": 0.75}
EPOCHS = 25


def make_table(task, features, n, seed):
    """A table of `n` rows: x1..x3 (+ 'color' text and 'zone' integer categories, or + empty cells)."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({f"x{i}": rng.normal(size=n).round(4) for i in (1, 2, 3)})
    score = 1.5 * frame["x1"] - frame["x2"] + 0.5 * frame["x3"]
    if features != "numeric":
        color = rng.choice(["red", "green", "blue"], size=n)
        zone = rng.choice([1, 2, 3], size=n)                 # numbers that name groups: --categorical zone
        score = score + pd.Series(color).map({"red": 1.0, "green": 0.0, "blue": -1.0}) \
            + pd.Series(zone).map({1: 0.8, 2: -0.8, 3: 0.0})
        frame["color"], frame["zone"] = color, zone
    other = 0.5 * frame["x1"] + frame["x3"]
    noise = rng.normal(scale=0.15, size=n)
    if task == "reg1":
        frame["y"] = (3 * score + 10 + noise).round(4)
    elif task == "reg2":
        frame["y"], frame["z"] = (3 * score + 10 + noise).round(4), (other - 5 + noise).round(4)
    elif task in ("binary_text", "binary_01"):
        positive = score + noise > 0
        frame["label"] = np.where(positive, "yes", "no") if task == "binary_text" else positive.astype(int)
    else:
        cut = np.digitize(score + noise, np.quantile(score, [1 / 3, 2 / 3]))
        frame["label"] = np.array(["low", "mid", "high"])[cut] if task == "multi_text" else cut + 1
    if features == "missing":                           # empty cells in a numeric and a text column
        frame = frame.astype({"x2": object})
        frame.loc[rng.random(n) < 0.1, "x2"] = None
        frame["color"] = frame["color"].astype(object)
        frame.loc[rng.random(n) < 0.1, "color"] = None
    return frame


def _score(task, truth, pred):
    if task.startswith("reg"):
        t, p = np.asarray(truth, dtype=float), np.asarray(pred, dtype=float)
        return float(np.mean(1 - ((t - p) ** 2).sum(0) / ((t - t.mean(0)) ** 2).sum(0)))
    return float(np.mean(np.asarray(truth).astype(str) == np.asarray(pred).astype(str)))


def _extra_args(features):
    return ["--categorical", "zone"] if features != "numeric" else []


CASES = [(t, f) for t in TASKS for f in FEATURES]
# The default suite runs every task once through the CLI, each feature kind twice; the other 12 cells
# (same code, more processes) run with the slow tests. The library matrix runs all 18 by default.
QUICK = [("reg1", "missing"), ("reg2", "categorical"), ("binary_text", "missing"), ("binary_01", "numeric"),
         ("multi_text", "categorical"), ("multi_int", "numeric")]
REST = [c for c in CASES if c not in QUICK]


def run_cli(folder, cases):
    """Each table trained by the CLI, then summary, evaluate, predict and predict --proba on it."""
    for task, features in cases:
        train, test = make_table(task, features, 300, seed=1), make_table(task, features, 120, seed=2)
        train.to_csv(folder / f"{task}_{features}.csv", index=False)
        test.to_csv(folder / f"{task}_{features}_test.csv", index=False)
        test.drop(columns=TARGETS[task]).to_csv(folder / f"{task}_{features}_new.csv", index=False)
    trains = redes_many([["train", f"{t}_{f}.csv", "--target", *TARGETS[t], *_extra_args(f), "--epochs", EPOCHS,
                          "--ensemble", 2, "--plot", "none", "--out", f"{t}_{f}.model"] for t, f in cases], cwd=folder)
    rest = []
    for t, f in cases:
        rest += [["summary", f"{t}_{f}.model"],
                 ["evaluate", f"{t}_{f}.model", f"{t}_{f}_test.csv", "--json"],
                 ["predict", f"{t}_{f}.model", f"{t}_{f}_new.csv", "--out", f"{t}_{f}_pred.csv"],
                 ["predict", f"{t}_{f}.model", f"{t}_{f}_new.csv", "--proba", "--out", f"{t}_{f}_proba.csv"]]
    others = redes_many(rest, cwd=folder)
    results = {}
    for i, case in enumerate(cases):
        results[case] = dict(zip(["train", "summary", "evaluate", "predict", "proba"],
                                 [trains[i], *others[4 * i:4 * i + 4]]))
    return folder, results


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    return run_cli(tmp_path_factory.mktemp("matrix"), QUICK)


@pytest.fixture(scope="module")
def rest_runs(tmp_path_factory):
    return run_cli(tmp_path_factory.mktemp("matrix_rest"), REST)


@pytest.mark.parametrize("task, features", QUICK, ids=[f"{t}-{f}" for t, f in QUICK])
def test_cli_matrix(quick_runs, task, features):
    check_cli_cell(*quick_runs, task, features)


@pytest.mark.slow
@pytest.mark.parametrize("task, features", REST, ids=[f"{t}-{f}" for t, f in REST])
def test_cli_matrix_rest(rest_runs, task, features):
    check_cli_cell(*rest_runs, task, features)


def check_cli_cell(folder, results, task, features):
    runs = results[(task, features)]
    for command, result in runs.items():
        assert result.returncode == 0, (command, result.stderr[-3000:])
        assert "Traceback" not in result.stderr, (command, result.stderr[-3000:])
    targets, name = TARGETS[task], f"{task}_{features}"
    new = pd.read_csv(folder / f"{name}_new.csv")
    test = pd.read_csv(folder / f"{name}_test.csv")
    classify = not task.startswith("reg")

    train_out = runs["train"].stdout
    assert f"task: {'classification' if classify else 'regression'}, because" in train_out
    assert "validation metrics" in train_out and "early stopping kept epoch" in train_out
    assert (folder / f"{name}.model").stat().st_mode & 0o044 == 0o044       # readable like the user's files

    assert "outputs (" in runs["summary"].stdout and "inputs (" in runs["summary"].stdout

    metrics = json.loads(runs["evaluate"].stdout)
    assert "loss" in metrics and np.isfinite(metrics["loss"])
    assert metrics["r2" if not classify else "accuracy"] > FLOOR[task], metrics

    pred = pd.read_csv(folder / f"{name}_pred.csv")
    assert list(pred.columns) == list(new.columns) + targets
    assert len(pred) == len(new)
    assert _score(task, test[targets], pred[targets]) > FLOOR[task]

    proba = pd.read_csv(folder / f"{name}_proba.csv")
    if classify:
        columns = [f"label_proba_{c}" for c in sorted(CLASSES[task], key=str)]
        assert list(proba.columns) == list(new.columns) + ["label"] + columns
        p = proba[columns].to_numpy()
        np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
        labels = np.array(sorted(CLASSES[task], key=str), dtype=object)[p.argmax(1)]
        assert (labels.astype(str) == proba["label"].astype(str)).all()       # the label is the likeliest class
    else:
        assert list(proba.columns) == list(new.columns) + targets
        assert "no class probabilities" in runs["proba"].stderr


@pytest.mark.parametrize("task, features", CASES, ids=[f"{t}-{f}" for t, f in CASES])
def test_library_matrix(task, features):
    train, test = make_table(task, features, 300, seed=1), make_table(task, features, 120, seed=2)
    targets = TARGETS[task]
    categorical = ["zone"] if features != "numeric" else None
    model, history, report = rd.train.fit_table(train, targets, categorical=categorical, epochs=EPOCHS,
                                                ensemble=2, verbose=False)
    classify = not task.startswith("reg")
    assert report["task"] == ("classification" if classify else "regression")
    assert report["val_rows"] == 300 and report["n_models"] == 2 and len(report["best_epoch"]) == 2
    new = test.drop(columns=targets)
    pred = rd.predict(model, new)
    assert list(pred.columns) == targets and len(pred) == len(test)
    assert _score(task, test[targets], pred[targets]) > FLOOR[task]
    metrics = rd.evaluate(model, test)
    assert metrics["r2" if not classify else "accuracy"] > FLOOR[task]
    if classify:
        proba = rd.predict(model, new, proba=True)
        assert [c for c in proba.columns if "_proba_" in c] == \
            [f"label_proba_{c}" for c in sorted(CLASSES[task], key=str)]
    else:
        with pytest.raises(ValueError, match="proba=True needs a classification model"):
            rd.predict(model, new, proba=True)
