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
                                                hidden=(32, 32), epochs=40, lr=3e-3, seed=0, verbose=False)
    assert report["task"] == "regression" and report["val_rows"] == 200
    assert report["val_metrics"]["r2"] > 0.8, report
    assert report["n_parameters"] == 3 * 32 + 32 + 32 * 32 + 32 + 32 * 2 + 2
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
