"""The README's Python blocks run as shown, and its test command is the one .ci/run runs."""
import os
import re

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def _readme():
    return open(os.path.join(ROOT, "README.md")).read()


BLOCKS = re.findall(r"```python\n(.*?)```", _readme(), re.S)


@pytest.mark.parametrize("i", range(len(BLOCKS)))
def test_readme_python_block_runs(i, monkeypatch, capsys, tmp_path):
    (tmp_path / "examples").symlink_to(os.path.join(ROOT, "examples"))   # read the shipped data, write in tmp
    monkeypatch.chdir(tmp_path)
    exec(compile(BLOCKS[i], f"README block {i}", "exec"), {})
    out = capsys.readouterr().out
    for expected in re.findall(r"print\(.*?\)\s+# (.+)", BLOCKS[i]):
        if expected.startswith("the "):
            continue
        assert expected.strip() in out.replace("\n", " ") or expected.strip() in out, (expected, out)


def test_ci_runs_the_readme_test_command():
    readme_cmd = re.search(r"^(python3 -m pip install -q -e '\.\[test\]' && python3 -m pytest.*)$", _readme(), re.M)
    assert readme_cmd, "README must show the test command"
    ci = open(os.path.join(ROOT, ".ci", "run")).read()
    assert readme_cmd.group(1) in ci
