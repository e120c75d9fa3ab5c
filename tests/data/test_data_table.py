"""read_table, Preprocessor (fit, transform, inverse, JSON round trip) and the table errors."""

import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import redes
from redes.data import (
    BadValueError,
    DataLoader,
    EmptyTableError,
    MissingColumnError,
    MissingValueError,
    Preprocessor,
    TableError,
    UnexpectedColumnError,
    UnknownCategoryError,
    UnknownCategoryWarning,
    read_table,
)
from redes.datasets import LECTURE_ROWS

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


CAT_CSV = """Carrera,Edad,Nota
Derecho,18,12.5
Medicina,20,15.0
Derecho,22,11.0
Letras,19,13.5
"""


# ------------------------------------------------------------ the student table

def test_read_students_csv():
    t = read_table(DATA / "students.csv", targets=["N1", "N2"])
    assert t.task == "regression" and len(t) == 1000
    assert t.X.shape == (1000, 3) and t.X.dtype == np.float32
    assert t.y.shape == (1000, 2) and t.y.dtype == np.float32
    assert t.feature_names == ["Estudio", "Edad", "Promedio"]
    assert t.target_names == ["N1", "N2"] and t.n_features == 3 and t.n_outputs == 2
    np.testing.assert_allclose(t.X.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(t.X.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(t.y.mean(axis=0), 0, atol=1e-5)
    ds = t.dataset()
    assert len(ds) == 1000 and ds[0][0].shape == (3,)


def test_students_predict_flow_and_inverse_targets():
    t = read_table(DATA / "students.csv", targets=["N1", "N2"])
    new = t.preprocessor.transform(DATA / "students_new.csv")
    assert new.shape == (10, 3) and new.dtype == np.float32
    raw = pd.read_csv(DATA / "students_new.csv")
    assert [tuple(r) for r in raw.iloc[:3].itertuples(index=False)] == list(LECTURE_ROWS)
    means = np.array([f["mean"] for f in t.preprocessor.to_dict()["features"]])
    stds = np.array([f["std"] for f in t.preprocessor.to_dict()["features"]])
    np.testing.assert_allclose(new, (raw.to_numpy() - means) / stds, rtol=1e-6)
    grades = t.preprocessor.inverse_targets(redes.tensor(t.y[:5]))   # a Tensor works too
    np.testing.assert_allclose(grades, t.frame[["N1", "N2"]].astype(float)[:5], atol=1e-5)
    frame = t.preprocessor.inverse_targets(t.y[:2], as_frame=True)
    assert list(frame.columns) == ["N1", "N2"] and len(frame) == 2


def test_table_dataset_feeds_a_loader():
    t = read_table(DATA / "students_cat.csv", targets="Aprobado")
    x, y = next(iter(DataLoader(t.dataset(), batch_size=32, shuffle=True, seed=0)))
    assert isinstance(x, redes.Tensor) and x.dtype == np.float32 and tuple(x.shape) == (32, 9)
    assert y.dtype == np.int64 and tuple(y.shape) == (32,)


# ------------------------------------------------------------------ categorical

def test_categorical_columns_are_one_hot(tmp_path):
    t = read_table(write(tmp_path, CAT_CSV), targets="Nota")
    assert t.feature_names == ["Carrera=Derecho", "Carrera=Letras", "Carrera=Medicina", "Edad"]
    np.testing.assert_array_equal(t.X[:, :3], [[1, 0, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert t.X[:, 3].mean() == pytest.approx(0, abs=1e-6)


def test_categorical_can_be_forced_on_a_numeric_column(tmp_path):
    t = read_table(write(tmp_path, CAT_CSV), targets="Nota", categorical=["Edad"])
    assert t.feature_names[3:] == ["Edad=18", "Edad=19", "Edad=20", "Edad=22"]
    with pytest.raises(ValueError, match="categorical names 'Nota'"):
        read_table(write(tmp_path, CAT_CSV), targets="Nota", categorical=["Nota"])


def test_pandas_category_and_bool_columns_are_categorical():
    df = pd.DataFrame({"grupo": pd.Categorical([1, 2, 1]), "ok": [True, False, True],
                       "y": [1.0, 2.0, 3.5]})
    t = read_table(df, targets="y")
    assert t.feature_names == ["grupo=1", "grupo=2", "ok=False", "ok=True"]
    labels = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": pd.Categorical(["a", "b", "a"])})
    assert read_table(labels, "c").task == "classification"


def test_unseen_category_raises_by_default(tmp_path):
    pre = read_table(write(tmp_path, CAT_CSV), targets="Nota").preprocessor
    new = pd.DataFrame({"Carrera": ["Derecho", "Arte"], "Edad": [18, 19]})
    with pytest.raises(UnknownCategoryError,
                       match=r"column 'Carrera', row 2: category 'Arte' was not seen"):
        pre.transform(new)


def test_unseen_category_ignored_is_all_zeros_with_warning(tmp_path):
    pre = read_table(write(tmp_path, CAT_CSV), targets="Nota", unknown="ignore").preprocessor
    new = pd.DataFrame({"Carrera": ["Derecho", "Arte"], "Edad": [18, 19]})
    with pytest.warns(UnknownCategoryWarning, match="'Arte'"):
        X = pre.transform(new)
    np.testing.assert_array_equal(X[:, :3], [[1, 0, 0], [0, 0, 0]])
    restored = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert restored.unknown == "ignore"
    with pytest.raises(UnknownCategoryError):               # per-call override
        restored.transform(new, unknown="error")


# --------------------------------------------------------------- serialisation

def test_preprocessor_json_round_trip_gives_identical_transforms(tmp_path):
    t = read_table(DATA / "students_cat.csv", targets=["N1", "N2"],
                   features=["Carrera", "Estudio", "Edad", "Promedio"])
    pre = t.preprocessor
    restored = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    assert restored == pre and restored.ignored_columns == ["Aprobado"]
    new = pd.read_csv(DATA / "students_cat.csv").sample(50, random_state=0)
    np.testing.assert_array_equal(restored.transform(new), pre.transform(new))
    np.testing.assert_array_equal(restored.transform_targets(new), pre.transform_targets(new))
    out = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    np.testing.assert_array_equal(restored.inverse_targets(out), pre.inverse_targets(out))
    pre.save(tmp_path / "pre.json")
    assert Preprocessor.load(tmp_path / "pre.json") == pre


def test_classification_round_trip_keeps_classes():
    t = read_table(DATA / "students_cat.csv", targets="Aprobado")
    restored = Preprocessor.from_dict(json.loads(json.dumps(t.preprocessor.to_dict())))
    assert restored.classes == ["no", "si"]
    np.testing.assert_array_equal(restored.transform_targets(t.frame), t.y)


def test_from_dict_rejects_foreign_dicts():
    with pytest.raises(ValueError, match="not a saved preprocessor"):
        Preprocessor.from_dict({"task": "regression"})
    good = Preprocessor.fit({"x": [1.0, 2.0], "y": [0.0, 1.5]}, "y").to_dict()
    with pytest.raises(ValueError, match="unsupported version 99"):
        Preprocessor.from_dict({**good, "version": 99})
    bad = json.loads(json.dumps(good))
    bad["features"][0]["std"] = 0.0
    with pytest.raises(ValueError, match="positive 'std'"):
        Preprocessor.from_dict(bad)


# ------------------------------------------------------------------- task

def test_string_target_is_classification():
    t = read_table(pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["b", "a", "b", "c"]}), "c")
    assert t.task == "classification" and t.classes == ["a", "b", "c"]
    assert t.y.dtype == np.int64 and t.y.tolist() == [1, 0, 1, 2] and t.n_outputs == 3


def test_integer_target_with_few_values_is_classification(tmp_path):
    t = read_table(write(tmp_path, "x,k\n0.5,3\n1.5,1\n2.5,3\n3.5,2\n4.5,2\n5.5,1\n"), "k")
    assert t.task == "classification" and t.classes == [1, 2, 3]
    assert t.y.tolist() == [2, 0, 2, 1, 1, 0]
    assert t.preprocessor.task_reason == "the target 'k' holds 3 different whole numbers (at most 20) in 6 rows"
    assert t.preprocessor.transform_targets({"x": [1.0, 2.0], "k": [2, 3]}).tolist() == [1, 2]
    with pytest.raises(UnknownCategoryError, match="column 'k', row 1: class 7"):
        t.preprocessor.transform_targets({"x": [1.0], "k": [7]})
    many = pd.DataFrame({"x": np.arange(50.0), "k": np.arange(50)})
    assert read_table(many, "k").task == "regression"
    floats = pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": [0.5, 1.5, 0.5]})
    assert read_table(floats, "k").task == "regression"


def test_few_rows_of_whole_numbers_are_regression_and_say_why():
    """3 rows of 1, 2, 3 would be three classes seen once each: numbers, and the reason is given."""
    t = read_table(pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": [1, 2, 3]}), "k")
    assert t.task == "regression"
    assert "3 different whole numbers in only 3 rows" in t.preprocessor.task_reason
    assert read_table(pd.DataFrame({"x": [1.0, 2.0, 3.0], "k": [1, 2, 3]}), "k",
                      task="classification").preprocessor.task_reason == "given"


def test_task_can_be_forced():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "k": [0, 1, 1, 0]})
    t = read_table(df, "k", task="regression")
    assert t.task == "regression" and t.y.shape == (4, 1) and t.y.dtype == np.float32
    df2 = pd.DataFrame({"x": np.arange(40.0), "k": np.arange(40) % 30})
    t2 = read_table(df2, "k", task="classification")
    assert t2.task == "classification" and len(t2.classes) == 30
    with pytest.raises(ValueError, match="exactly one target"):
        read_table(DATA / "students.csv", ["N1", "N2"], task="classification")
    with pytest.raises(ValueError, match="task must be one of"):
        read_table(df, "k", task="ranking")
    with pytest.raises(BadValueError, match="column 'c', row 1: target value 'b' is not"):
        read_table(pd.DataFrame({"x": [1.0, 2.0], "c": ["b", "a"]}), "c", task="regression")


def test_inverse_targets_for_classification():
    pre = read_table(pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["no", "si", "no"]}),
                     "c").preprocessor
    assert pre.inverse_targets(np.array([[0.2, 0.8], [3.0, -1.0]])).tolist() == ["si", "no"]
    assert pre.inverse_targets(np.array([1, 1, 0])).tolist() == ["si", "si", "no"]
    assert pre.inverse_targets(np.array([1]), as_frame=True)["c"].tolist() == ["si"]
    with pytest.raises(ValueError, match="out of range"):
        pre.inverse_targets(np.array([2]))
    with pytest.raises(ValueError, match=r"expected \(rows, 2\) scores"):
        pre.inverse_targets(np.zeros((3, 3)))


def test_read_table_with_a_fitted_preprocessor_reads_a_test_table(tmp_path):
    train = read_table(DATA / "students.csv", targets=["N1", "N2"])
    test_path = write(tmp_path, "Estudio,Edad,Promedio,N1,N2\n10,20,14,13.0,14.5\n")
    test = read_table(test_path, preprocessor=train.preprocessor)
    assert test.preprocessor is train.preprocessor
    np.testing.assert_array_equal(test.X, train.preprocessor.transform(test_path))
    np.testing.assert_allclose(train.preprocessor.inverse_targets(test.y), [[13.0, 14.5]],
                               rtol=1e-6)
    with pytest.raises(ValueError, match="cannot be given with preprocessor"):
        read_table(test_path, targets="N1", preprocessor=train.preprocessor)


def test_other_sources_and_csv_options(tmp_path):
    t = read_table({"a": [1.0, 2.0, 4.0], "b": [0.1, 0.2, 0.3]}, targets="b")
    assert t.X.shape == (3, 1)
    semi = write(tmp_path, "a;b\n1,5;2,5\n3,5;4,5\n", "semi.csv")
    t = read_table(semi, targets="b", sep=";", decimal=",")
    np.testing.assert_allclose(t.preprocessor.inverse_targets(t.y).ravel(), [2.5, 4.5])
    spaced = write(tmp_path, " a , b \n 1 , 2\n 3 , 5\n", "spaced.csv")
    assert read_table(spaced, targets="b").feature_names == ["a"]
    tsv = write(tmp_path, "a\tb\n1\t2\n3\t5\n", "t.tsv")
    assert read_table(tsv, targets="b").X.shape == (2, 1)


def test_parquet(tmp_path):
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"]})
    if importlib.util.find_spec("pyarrow") is None:
        (tmp_path / "t.parquet").write_bytes(b"PAR1")
        with pytest.raises(ImportError, match="needs pyarrow"):
            read_table(tmp_path / "t.parquet", targets="b")
    else:
        df.to_parquet(tmp_path / "t.parquet")
        assert read_table(tmp_path / "t.parquet", targets="b").classes == ["x", "y"]


# --------------------------------------------------------------------- errors

def test_non_numeric_value_names_column_and_row(tmp_path):
    path = write(tmp_path, "Estudio,Edad,N1\n5,18,10\n6,19,11\n7,abc,12\n8,21,13\n")
    with pytest.raises(BadValueError,
                       match=r"^read_table: column 'Edad', row 3: value 'abc' is not a number"
                       ) as info:
        read_table(path, targets="N1")
    assert (info.value.column, info.value.row, info.value.value) == ("Edad", 3, "abc")
    assert isinstance(info.value, ValueError)
    inf_path = write(tmp_path, "x,y\n1,2\ninf,3\n4,5\n", "inf.csv")
    with pytest.raises(BadValueError, match="row 2: value 'inf' is not a finite number"):
        read_table(inf_path, targets="y")


def test_row_is_the_position_not_the_index_label():
    df = pd.DataFrame({"x": [1.0, 2.0, np.nan], "y": [1.0, 2.0, 3.0]}, index=[10, 20, 30])
    with pytest.raises(MissingValueError, match="column 'x', row 3: value is missing"):
        read_table(df, targets="y", missing="error")


def test_missing_feature_cells_are_imputed(tmp_path):
    """A missing number becomes the training mean (0 once standardised); a missing category all zeros."""
    path = write(tmp_path, "x,c,y\n1,a,1\n,b,2\n3,,3\n5,a,4\n")
    t = read_table(path, targets="y")
    mean, std = np.mean([1.0, 3.0, 5.0]), np.std([1.0, 3.0, 5.0])
    assert t.feature_names == ["x", "c=a", "c=b"]
    np.testing.assert_allclose(t.X, [[(1 - mean) / std, 1, 0], [0, 0, 1], [0, 0, 0], [(5 - mean) / std, 1, 0]],
                               rtol=1e-6)
    assert t.preprocessor.missing == "impute"
    new = t.preprocessor.transform({"x": [None, 3.0], "c": ["b", None]})
    np.testing.assert_allclose(new, [[0, 0, 1], [0, 0, 0]])
    with pytest.raises(BadValueError, match="row 2: value 'abc' is not a number"):    # text is still an error
        t.preprocessor.transform({"x": [1.0, "abc"], "c": ["a", "a"]})
    again = Preprocessor.from_dict(json.loads(json.dumps(t.preprocessor.to_dict())))
    assert again.missing == "impute" and again == t.preprocessor
    old = {k: v for k, v in t.preprocessor.to_dict().items() if k != "missing"}    # a file from before imputation
    with pytest.raises(MissingValueError, match="column 'x', row 1"):
        Preprocessor.from_dict(old).transform({"x": [None], "c": ["a"]})
    empty = read_table(pd.DataFrame({"x": [1.0, 2.0], "e": [None, None], "y": [1.0, 2.0]}), targets="y")
    assert empty.X[:, 1].tolist() == [0.0, 0.0]                  # an all-empty column: a constant 0 input


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(EmptyTableError, match="is empty"):
        read_table(write(tmp_path, ""), targets="y")
    with pytest.raises(EmptyTableError, match="no data rows"):
        read_table(write(tmp_path, "x,y\n", "header.csv"), targets="y")
    with pytest.raises(EmptyTableError, match="no data rows"):
        read_table(pd.DataFrame({"x": [], "y": []}), targets="y")


def test_missing_target_column(tmp_path):
    with pytest.raises(MissingColumnError,
                       match=r"read_table: target column 'N3' not found; the table has "
                             r"columns \['Estudio'"):
        read_table(DATA / "students.csv", targets=["N1", "N3"])
    with pytest.raises(ValueError, match="targets is required"):
        read_table(DATA / "students.csv")


def test_nan_in_targets(tmp_path):
    path = write(tmp_path, "x,N1\n1,10\n2,\n3,12\n")
    with pytest.raises(MissingValueError, match="column 'N1', row 2: target value is missing"):
        read_table(path, targets="N1")
    df = pd.DataFrame({"x": [1.0, 2.0], "c": ["a", None]})
    with pytest.raises(MissingValueError, match="column 'c', row 2: target value is missing"):
        read_table(df, targets="c")


def test_missing_feature_column_at_predict_time():
    pre = read_table(DATA / "students.csv", targets=["N1", "N2"]).preprocessor
    with pytest.raises(MissingColumnError,
                       match=r"Preprocessor.transform: feature column 'Edad' not found"):
        pre.transform(pd.DataFrame({"Estudio": [10.0], "Promedio": [14.0]}))


def test_extra_and_wrong_columns():
    pre = read_table(DATA / "students.csv", targets=["N1", "N2"]).preprocessor
    rows = pd.DataFrame({"Estudio": [10.0], "Edad": [20], "Promedio": [14.0], "Nombre": ["Ana"]})
    with pytest.raises(UnexpectedColumnError, match=r"column 'Nombre' was not in the table"):
        pre.transform(rows)
    assert pre.transform(rows, extra="ignore").shape == (1, 3)
    with_targets = pd.DataFrame({"Estudio": [10.0], "Edad": [20], "Promedio": [14.0],
                                 "N1": [12.0], "N2": [13.0]})
    assert pre.transform(with_targets).shape == (1, 3)    # target columns are dropped
    with pytest.raises(UnexpectedColumnError, match="'N1' is both a feature and a target"):
        read_table(DATA / "students.csv", targets=["N1"], features=["Edad", "N1"])
    with pytest.raises(MissingColumnError, match="feature column 'Horas' not found"):
        read_table(DATA / "students.csv", targets=["N1"], features=["Horas"])


def test_duplicate_columns(tmp_path):
    with pytest.raises(UnexpectedColumnError, match="column 'x' appears more than once"):
        read_table(write(tmp_path, "x,x,y\n1,2,3\n"), targets="y")


def test_bad_values_at_predict_time():
    pre = read_table(DATA / "students.csv", targets=["N1", "N2"]).preprocessor
    rows = pd.DataFrame({"Estudio": ["10", "doce"], "Edad": [20, 21], "Promedio": [14.0, 15.0]})
    with pytest.raises(BadValueError,
                       match=r"Preprocessor.transform: column 'Estudio', row 2: value 'doce'"):
        pre.transform(rows)
    strict = read_table(DATA / "students.csv", targets=["N1", "N2"], missing="error").preprocessor
    with pytest.raises(MissingValueError, match="column 'Promedio', row 1"):
        strict.transform({"Estudio": [1.0], "Edad": [20], "Promedio": [None]})


def test_unknown_class_in_labelled_test_table():
    pre = read_table(DATA / "students_cat.csv", targets="Aprobado").preprocessor
    rows = pd.read_csv(DATA / "students_cat.csv").head(3)
    rows.loc[1, "Aprobado"] = "tal vez"
    with pytest.raises(UnknownCategoryError, match="column 'Aprobado', row 2: class 'tal vez'"):
        pre.transform_targets(rows)


def test_argument_errors():
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table("/nonexistent/table.csv", targets="y")
    with pytest.raises(TypeError, match="expected a file path"):
        read_table(42, targets="y")
    with pytest.raises(ValueError, match="unknown must be one of"):
        read_table(DATA / "students.csv", targets="N1", unknown="skip")
    pre = read_table(DATA / "students.csv", targets="N1").preprocessor
    with pytest.raises(ValueError, match="extra must be one of"):
        pre.transform(DATA / "students_new.csv", extra="drop")


def test_every_table_error_is_a_value_error():
    for cls in (BadValueError, EmptyTableError, MissingColumnError, MissingValueError,
                UnexpectedColumnError, UnknownCategoryError):
        assert issubclass(cls, TableError) and issubclass(cls, ValueError)


def test_no_warning_on_a_clean_read():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_table(DATA / "students_cat.csv", targets="Aprobado")
    assert caught == [] and len(table) == 300
