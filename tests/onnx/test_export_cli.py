"""`redes export MODEL --onnx OUT` for models trained from a table: the graph runs in onnxruntime on the
preprocessed rows and gives the model's outputs; the preprocessing JSON beside it rebuilds the features."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import redes as rd
from redes import cli

ort = pytest.importorskip("onnxruntime")
DATA = Path(__file__).resolve().parent.parent.parent / "examples" / "data"


@pytest.mark.parametrize("table, target", [("students.csv", ["N1", "N2"]), ("students_cat.csv", ["Aprobado"])])
def test_export_table_model(table, target, tmp_path, capsys):
    model_path = tmp_path / "m.model"
    assert cli.main(["train", str(DATA / table), "--target", *target, "--epochs", "2", "--hidden", "8", "4",
                     "--quiet", "--out", str(model_path), "--plot", "none"]) == 0
    assert cli.main(["export", str(model_path), "--onnx", str(tmp_path / "m.onnx")]) == 0
    assert "ONNX graph written to" in capsys.readouterr().err
    doc = json.loads((tmp_path / "m.preprocess.json").read_text())
    assert doc["input"] == "features" and doc["output"] == "outputs"
    pre = rd.data.Preprocessor.from_dict(doc["preprocessor"])
    frame = pd.read_csv(DATA / table)
    features = np.asarray(pre.transform(frame), np.float32)
    assert features.shape[1] == len(doc["feature_names"])
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"features": features})[0]
    model = rd.load(model_path)
    np.testing.assert_allclose(got, model(rd.tensor(features)).numpy(), rtol=1e-5, atol=1e-6)
    preds = rd.predict(model, frame)                  # the JSON's recipe for outputs gives rd.predict's answer
    if doc["task"] == "regression":
        np.testing.assert_allclose(pre.inverse_targets(got), preds.to_numpy(dtype=np.float64), rtol=1e-4, atol=1e-4)
    else:
        labels = np.array(doc["preprocessor"]["targets"][0]["classes"], dtype=object)[got.argmax(1)]
        assert list(labels) == list(preds.iloc[:, 0])


def test_export_of_a_model_without_preprocessing_is_one_line_error(tmp_path, capsys):
    rd.save(rd.nn.Linear(2, 1), tmp_path / "plain.model")
    assert cli.main(["export", str(tmp_path / "plain.model"), "--onnx", str(tmp_path / "p.onnx")]) == 1
    assert "has no table preprocessing" in capsys.readouterr().err
    assert not (tmp_path / "p.onnx").exists()


def test_export_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["export", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: redes export" in out and "redes export students.model --onnx" in out.split("examples:")[1]
