"""The bundled examples run end to end with quick settings, and what they print is backed by what they return.

Each example is loaded the way ``redes demo NAME`` loads it (redes.demos.load_demo) and its
``main([...quick args..., '--out', tmp_path])`` is called. The full runs' claims (digits accuracy, the
depth comparison) are checked in the slow tests.
"""
import numpy as np
import pytest

from redes import cli
from redes.datasets import LECTURE_ROWS, expected_grades
from redes.demos import DEMOS, examples_dir, load_demo

PNG = b"\x89PNG\r\n\x1a\n"


def run(name, *args, out):
    return load_demo(name).main([*map(str, args), "--out", str(out)])


def is_png(path):
    return path.is_file() and path.read_bytes()[:8] == PNG


def test_every_demo_has_a_script_with_main():
    assert set(DEMOS) == {"students", "linnerud", "digits_mlp", "digits_cnn", "char_transformer",
                          "lstm_sequence", "depth"}
    for name, demo in DEMOS.items():
        assert (examples_dir() / demo.script).is_file(), name
        assert callable(load_demo(name).main), name


def test_students(tmp_path, capsys):
    result = run("students", "--epochs", 15, out=tmp_path)
    preds = result["predictions"]
    assert list(preds.columns) == ["Estudio", "Edad", "Promedio", "N1", "N2", "N1 formula", "N2 formula"]
    assert len(preds) == 10
    lecture = preds.iloc[:3]
    np.testing.assert_array_equal(lecture[["Estudio", "Edad", "Promedio"]].to_numpy(), np.array(LECTURE_ROWS))
    formula = np.stack(expected_grades(*np.array(LECTURE_ROWS).T), axis=1)
    assert np.abs(lecture[["N1", "N2"]].to_numpy() - formula).max() < 2.5       # within the table's noise
    assert ((preds[["N1", "N2"]] > 0) & (preds[["N1", "N2"]] < 20.5)).all().all()
    assert min(result["r2"].values()) > 0.75 and max(result["mae"].values()) < 1.5
    assert result["reloaded_same"] is True and result["model_path"].is_file()
    assert is_png(tmp_path / "curves.png") and is_png(tmp_path / "fit.png")
    assert (tmp_path / "predictions.csv").is_file()
    assert "lecture's rows" in capsys.readouterr().out


def test_linnerud_multi_output_from_dataframe(tmp_path):
    result = run("linnerud", "--epochs", 120, out=tmp_path)
    big, small = result["train_predictions"]
    for preds in result["train_predictions"].values():
        assert list(preds.columns) == ["Weight", "Waist", "Pulse"] and len(preds) == 20
    assert result["train_r2"][big].mean() > 0.8                    # memorises its 20 rows...
    assert result["cv_r2"][big].mean() < result["train_r2"][big].mean() - 0.5  # ...which does not generalise
    for cv in result["cv_predictions"].values():
        assert cv.shape == (20, 3) and np.isfinite(cv).all()
    assert is_png(tmp_path / "linnerud.png")


def test_digits_mlp(tmp_path):
    result = run("digits_mlp", "--epochs", 4, out=tmp_path)
    assert result["test_accuracy"] > 0.88
    assert result["history"]["loss"][-1] < result["history"]["loss"][0]
    assert is_png(tmp_path / "curves.png") and is_png(tmp_path / "mistakes.png")


def test_digits_cnn(tmp_path):
    result = run("digits_cnn", "--epochs", 1, out=tmp_path)
    assert result["test_accuracy"] > 0.8
    assert is_png(tmp_path / "curves.png") and is_png(tmp_path / "filters.png")


def test_char_transformer_loss_falls_and_samples(tmp_path):
    result = run("char_transformer", "--steps", 30, "--block-size", 32, "--width", 32, "--layers", 1,
                 "--chars", 60000, "--sample-chars", 40, "--prompt", "import ", out=tmp_path)
    assert result["initial_val_loss"] > 4.0                  # about ln(vocab): a uniform guess
    assert result["final_val_loss"] < result["initial_val_loss"] - 1.0
    assert result["sample"].startswith("import ") and len(result["sample"]) == len("import ") + 40
    assert (tmp_path / "sample.txt").read_text() == result["sample"]
    assert is_png(tmp_path / "curves.png")


def test_char_transformer_on_a_named_text(tmp_path):
    text = tmp_path / "abc.txt"
    text.write_text("abcabcabc\n" * 400)
    result = run("char_transformer", "--text", text, "--steps", 20, "--block-size", 16, "--width", 16,
                 "--layers", 1, "--lr", 1e-2, "--sample-chars", 20, "--prompt", "ab", out=tmp_path / "run")
    assert result["vocab_size"] == 4                        # a, b, c, newline
    assert result["final_val_loss"] < 0.7                   # a cycle is easy to learn


def test_lstm_sequence_beats_repeating_the_last_value(tmp_path):
    result = run("lstm_sequence", "--epochs", 3, "--waves", 400, "--length", 30, out=tmp_path)
    history = result["history"]
    assert history["val_loss"][-1] < history["val_loss"][0]
    assert result["test_mse"] < 0.6 * result["last_value_mse"]
    assert np.isfinite(result["free_run_mse"])
    assert is_png(tmp_path / "curves.png") and is_png(tmp_path / "predictions.png")


def test_depth_same_budget_both_curves(tmp_path):
    result = run("depth", "--epochs", 4, out=tmp_path)
    runs = result["results"]
    assert len(runs) == 2
    assert {r["n_parameters"] for r in runs.values()} == {865}
    for r in runs.values():
        assert len(r["history"]["val_loss"]) == 4 and r["prediction"].shape == (1001, 1)
    assert is_png(result["plot"])


def test_demo_command_runs_an_example(tmp_path, capsys):
    assert cli.main(["demo", "depth", "--epochs", "2", "--out", str(tmp_path)]) == 0
    assert "865 parameters" in capsys.readouterr().out
    assert is_png(tmp_path / "depth.png")
    with pytest.raises(SystemExit) as exc:
        cli.main(["demo", "students", "--help"])              # the demo's own options
    assert exc.value.code == 0 and "--full" in capsys.readouterr().out


# ----------------------------------------------------------------------------------- full runs (slow)

@pytest.mark.slow
def test_depth_full_run_deep_wins(tmp_path):
    runs = run("depth", "--full", out=tmp_path)["results"]
    shallow, deep = (r["test_mse"] for r in runs.values())
    assert deep < shallow / 10


@pytest.mark.slow
def test_digits_full_runs_reach_their_accuracy(tmp_path):
    assert run("digits_mlp", "--full", out=tmp_path / "mlp")["test_accuracy"] >= 0.95
    assert run("digits_cnn", "--full", out=tmp_path / "cnn")["test_accuracy"] >= 0.97
