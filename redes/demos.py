"""The bundled examples that ``redes demo NAME`` runs.

Each demo is a script in the repository's ``examples/`` folder with a
``main(argv=None)`` function: quick settings by default, ``--full`` for the
long run, plots written under ``--out`` (default ``runs/<name>/``). The
scripts are not part of the installed package, so the demos need a source
checkout (``pip install -e .``); :func:`examples_dir` says where they are
looked for.

Example:
    >>> from redes.demos import DEMOS
    >>> "students" in DEMOS
    True
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEMOS", "Demo", "examples_dir", "load_demo", "run_demo"]


@dataclass(frozen=True)
class Demo:
    """One bundled example: its script under ``examples/`` and what it shows."""
    script: str
    summary: str


DEMOS = {
    "students": Demo("students.py", "the lecture's table Estudio, Edad, Promedio -> N1, N2: train, "
                                    "report, predict new rows, save and load"),
    "linnerud": Demo("linnerud.py", "multi-output regression: 3 exercises -> 3 body measurements "
                                    "(scikit-learn's linnerud, from a DataFrame)"),
    "digits_mlp": Demo("digits_mlp.py", "handwritten digits (8x8) with an MLP: test accuracy"),
    "digits_cnn": Demo("digits_cnn.py", "handwritten digits with a small CNN (Conv2d, BatchNorm2d, "
                                        "MaxPool2d): test accuracy"),
    "char_transformer": Demo("char_transformer.py", "a character-level transformer trained on Python's "
                                                    "own source code (or --text FILE), then sampled"),
    "lstm_sequence": Demo("lstm_sequence.py", "an LSTM predicts the next value of noisy sine waves"),
    "depth": Demo("depth.py", "one wide hidden layer vs several narrow ones with the same number "
                              "of parameters"),
}


def examples_dir() -> Path:
    """The folder holding the example scripts.

    ``$REDES_EXAMPLES`` if set, else ``examples/`` next to the ``redes``
    package (a source checkout).
    """
    env = os.environ.get("REDES_EXAMPLES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "examples"


def load_demo(name: str):
    """Import the example script of demo ``name`` and return it as a module.

    Raises:
        ValueError: ``name`` is not a demo.
        FileNotFoundError: the script is not there (an installed package without the examples).
    """
    if name not in DEMOS:
        raise ValueError(f"demo: unknown demo {name!r}; choose one of {sorted(DEMOS)}")
    path = examples_dir() / DEMOS[name].script
    if not path.is_file():
        raise FileNotFoundError(f"demo: the example script {str(path)!r} is missing; the demos live in the "
                                f"examples/ folder of a source checkout (or set REDES_EXAMPLES to that folder)")
    spec = importlib.util.spec_from_file_location(f"redes_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_demo(name: str, argv=None):
    """Run demo ``name`` with command-line arguments ``argv``; returns what its ``main`` returns."""
    return load_demo(name).main(list(argv or []))
