"""examples/lecture.py runs end to end (few epochs) and writes its pictures."""
import importlib.util
import os
import shutil

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_lecture():
    spec = importlib.util.spec_from_file_location("lecture", os.path.join(ROOT, "examples", "lecture.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_lecture_f_values_and_shared_node():
    lecture = load_lecture()
    E, (y1, y2), xs = lecture.lecture_f()
    assert (y1.item(), y2.item()) == (18.0, 8.0)
    import redes as rd
    assert [g.item() for g in rd.grad(E, list(xs))] == [2.0, 9.0, 6.0]


@pytest.mark.skipif(not shutil.which("dot"), reason="graphviz's dot is not installed")
def test_lecture_main_writes_pictures(tmp_path, capsys):
    lecture = load_lecture()
    assert lecture.main([str(tmp_path), "--epochs", "2", "--format", "png"]) == 0
    out = capsys.readouterr().out
    assert "dE/dx1 = 2,  dE/dx2 = 9,  dE/dx3 = 6" in out and "Total params: 26" in out
    for name in ("f_dataflow", "f_functions", "students_layers", "students_neurons", "students_numbers"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (tmp_path / f"{name}.dot").exists()
    assert (tmp_path / "history.png").exists() and (tmp_path / "gradients.png").exists()
