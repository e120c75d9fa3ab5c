"""The main job: train from the shipped student table, save, reload in a new process, predict new rows."""
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import redes as rd

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "examples", "data")


def test_students_table_learns_and_predicts_new_rows(tmp_path):
    model, history, report = rd.train.fit_table(os.path.join(DATA, "students.csv"), ["N1", "N2"],
                                                hidden=(32, 32), epochs=40, lr=3e-3, seed=0, ensemble=1,
                                                verbose=False)
    assert report["task"] == "regression" and report["val_rows"] == 200 and report["train_rows"] == 800
    assert report["val_metrics"]["r2"] > 0.8, report
    assert report["n_parameters"] == 3 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2 + (3 * 2 + 2)   # MLP + skip path
    preds = rd.predict(model, os.path.join(DATA, "students_new.csv"))
    assert list(preds.columns) == ["N1", "N2"] and len(preds) == len(pd.read_csv(os.path.join(DATA, "students_new.csv")))
    assert preds.to_numpy().min() > -5 and preds.to_numpy().max() < 25          # grades on a 0-20 scale

    path = tmp_path / "students.model"
    rd.save(model, path)
    code = (f"import redes as rd; m = rd.load({str(path)!r}); "
            f"rd.predict(m, {os.path.join(DATA, 'students_new.csv')!r}).to_csv({str(tmp_path / 'p.csv')!r}, index=False)")
    subprocess.run([sys.executable, "-c", code], check=True)
    np.testing.assert_allclose(pd.read_csv(tmp_path / "p.csv").to_numpy(), preds.to_numpy(), rtol=1e-6)


def test_classification_from_categorical_table():
    model, history, report = rd.train.fit_table(os.path.join(DATA, "students_cat.csv"), ["Aprobado"],
                                                hidden=(16,), epochs=30, lr=1e-2, seed=0, verbose=False)
    assert report["task"] == "classification"
    assert report["val_metrics"]["accuracy"] > 0.75, report
    frame = pd.read_csv(os.path.join(DATA, "students_cat.csv")).drop(columns=["Aprobado"]).head(5)
    labels = rd.predict(model, frame)
    assert set(labels["Aprobado"]) <= {"si", "no"}


def test_bad_tables_are_clear(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Estudio,Edad,Promedio,N1,N2\n1,20,10,12,13\n2,abc,11,12,13\n" + "3,21,12,13,14\n" * 10)
    with pytest.raises(ValueError, match="column 'Edad', row 2"):
        rd.train.fit_table(bad, ["N1", "N2"], epochs=1, verbose=False)
    with pytest.raises(ValueError, match="N3"):
        rd.train.fit_table(os.path.join(DATA, "students.csv"), ["N3"], epochs=1, verbose=False)


def test_ensemble_is_kfold_and_its_report_is_out_of_fold(tmp_path):
    frame = pd.read_csv(os.path.join(DATA, "students.csv"))
    model, history, report = rd.train.fit_table(frame, ["N1", "N2"], hidden=(8,), epochs=15, ensemble=4,
                                                verbose=False)
    assert isinstance(model, rd.train.tabular.Ensemble) and len(model.members) == 4
    assert report["n_models"] == 4 and report["val_rows"] == 1000 and report["train_rows"] == 750
    assert len(report["best_epoch"]) == 4 and all(1 <= e <= 15 for e in report["best_epoch"])
    # The out-of-fold R² is below the in-sample one (each row scored by a model that never saw it).
    assert report["val_metrics"]["r2"] < rd.evaluate(model, frame)["r2"]
    path = tmp_path / "ens.model"
    rd.save(model, path)
    again = rd.load(path)
    np.testing.assert_allclose(rd.predict(again, frame).to_numpy(), rd.predict(model, frame).to_numpy(), rtol=1e-6)


def test_ensemble_combines_probabilities():
    """combine='probability': softmax of the output is the mean of the members' softmax."""
    rd.manual_seed(0)
    a, b = rd.nn.Linear(3, 4), rd.nn.Linear(3, 4)
    x = rd.randn(5, 3)
    ens = rd.train.tabular.Ensemble([a, b], combine="probability")
    soft = lambda t: np.exp(t) / np.exp(t).sum(1, keepdims=True)
    expected = (soft(a(x).numpy()) + soft(b(x).numpy())) / 2
    np.testing.assert_allclose(soft(ens(x).numpy()), expected, rtol=1e-5)
    np.testing.assert_allclose(rd.train.tabular.Ensemble([a, b])(x).numpy(), (a(x).numpy() + b(x).numpy()) / 2,
                               rtol=1e-6)
    with pytest.raises(ValueError, match="combine must be 'mean' or 'probability', got 'max'"):
        rd.train.tabular.Ensemble([a], combine="max")


def test_skip_mlp_is_mlp_plus_linear():
    rd.manual_seed(0)
    net = rd.train.tabular.SkipMLP(3, (4,), 2)
    x = rd.randn(6, 3)
    np.testing.assert_allclose(net(x).numpy(), net.mlp(x).numpy() + net.linear(x).numpy(), rtol=1e-6)


def test_early_stopping_off_and_no_validation():
    frame = pd.read_csv(os.path.join(DATA, "students.csv")).head(200)
    _, history, report = rd.train.fit_table(frame, ["N1"], hidden=(8,), epochs=6, patience=0, ensemble=1,
                                            verbose=False)
    assert len(history.epoch) == 6 and report["early_stopping"] is False and report["val_rows"] == 40
    _, history, report = rd.train.fit_table(frame, ["N1"], hidden=(8,), epochs=4, val_split=0, ensemble=1,
                                            verbose=False)
    assert len(history.epoch) == 4 and report["val_rows"] == 0 and report["val_metrics"] == {}
    with pytest.raises(ValueError, match="patience must be a whole number >= 0"):
        rd.train.fit_table(frame, ["N1"], patience=-1, verbose=False)
    with pytest.raises(ValueError, match="ensemble must be a positive integer"):
        rd.train.fit_table(frame, ["N1"], ensemble=0, verbose=False)


def test_tiny_tables_train():
    """1, 2 and 3 rows: no crash (no validation is possible with one row)."""
    for n in (1, 2, 3):
        frame = pd.DataFrame({"x": np.arange(n, dtype=float), "k": np.arange(1, n + 1)})
        model, _, report = rd.train.fit_table(frame, "k", epochs=2, verbose=False)
        assert report["task"] == "regression"
        assert len(rd.predict(model, frame[["x"]])) == n


def test_lr_schedule_option():
    frame = pd.read_csv(os.path.join(DATA, "students.csv")).head(100)
    _, history, _ = rd.train.fit_table(frame, ["N1"], hidden=(4,), epochs=4, patience=0, ensemble=1,
                                       lr_schedule="cosine", lr=0.01, verbose=False)
    assert history["lr"][0] == pytest.approx(0.01) and history["lr"][-1] < history["lr"][0]
    with pytest.raises(ValueError, match="lr_schedule must be None, 'plateau' or 'cosine', got 'step'"):
        rd.train.fit_table(frame, ["N1"], epochs=1, lr_schedule="step", verbose=False)
