"""The shipped student tables: shape, ranges, reproducibility, and that they are not linear."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

from redes.datasets import LECTURE_ROWS, expected_grades, make_students

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


def load_script():
    spec = importlib.util.spec_from_file_location("make_students", DATA / "make_students.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_students_csv_columns_and_ranges():
    df = pd.read_csv(DATA / "students.csv")
    assert list(df.columns) == ["Estudio", "Edad", "Promedio", "N1", "N2"]
    assert len(df) == 1000 and not df.isna().any().any()
    assert df["Estudio"].between(0, 40).all() and df["Edad"].between(17, 35).all()
    for col in ("Promedio", "N1", "N2"):
        assert df[col].between(0, 20).all()


def test_new_rows_start_with_the_lecture_rows_and_have_no_targets():
    new = pd.read_csv(DATA / "students_new.csv")
    assert list(new.columns) == ["Estudio", "Edad", "Promedio"]
    assert [tuple(r) for r in new.head(3).itertuples(index=False)] == list(LECTURE_ROWS)


def test_categorical_table():
    df = pd.read_csv(DATA / "students_cat.csv")
    assert list(df.columns) == ["Carrera", "Estudio", "Edad", "Promedio", "N1", "N2", "Aprobado"]
    assert sorted(df["Carrera"].unique()) == ["Derecho", "Economía", "Ingeniería", "Medicina"]
    assert set(df["Aprobado"]) == {"si", "no"}


def test_shipped_csvs_match_the_seeded_generator(capsys):
    assert load_script().main(["--check"]) == 0, capsys.readouterr().err


def test_generator_is_seeded():
    pd.testing.assert_frame_equal(make_students(20, seed=1), make_students(20, seed=1))
    assert not make_students(20, seed=1).equals(make_students(20, seed=2))


def r2(y, pred):
    return 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)


def test_grades_are_learnable_but_not_linear():
    df = pd.read_csv(DATA / "students.csv")
    X = np.c_[df[["Estudio", "Edad", "Promedio"]].to_numpy(), np.ones(len(df))]
    truth = expected_grades(df["Estudio"], df["Edad"], df["Promedio"])
    for name, formula in zip(("N1", "N2"), truth):
        y = df[name].to_numpy()
        linear = X @ np.linalg.lstsq(X, y, rcond=None)[0]
        best = r2(y, np.clip(formula, 0, 20))
        assert best > 0.85, name                       # the noise leaves room to learn
        assert r2(y, linear) < best - 0.05, name       # a linear model falls clearly short
