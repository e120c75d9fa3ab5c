"""Every docstring Example in the package runs as a doctest (one test per module).

Examples may use `rd` (redes), `np` (NumPy), `F` (redes.nn.functional) and `nn` (redes.nn) without importing them,
as the docs write them. Each example starts from `rd.manual_seed(0)`, so the random ones print the same values.
"""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import redes as rd

OPTIONS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def module_names():
    names = ["redes"]
    for info in pkgutil.walk_packages(rd.__path__, "redes."):
        names.append(info.name)
    return sorted(n for n in names if not n.rsplit(".", 1)[-1].startswith("__"))


def examples(name):
    """The module's doctests, each with a copy of the module's globals (as doctest.testmod gives them)."""
    module = importlib.import_module(name)
    return [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name) if t.examples]


MODULES = [n for n in module_names() if n != "redes.__main__"]


def test_the_package_has_examples():
    docstrings = [t for n in MODULES for t in examples(n)]
    assert len(docstrings) >= 90, f"only {len(docstrings)} docstrings with examples found"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                       # examples that write files write them here
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    for test in examples(name):
        rd.manual_seed(0)
        test.globs.update({"rd": rd, "np": np, "F": rd.nn.functional, "nn": rd.nn})
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed (output above)"
