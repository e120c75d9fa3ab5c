"""Regenerate the synthetic student tables shipped in ``examples/data/``.

Writes, next to this script:

* ``students.csv``     -- 1000 rows ``Estudio, Edad, Promedio, N1, N2`` (seed 20240501).
* ``students_new.csv`` -- 10 rows ``Estudio, Edad, Promedio`` to predict: the
  lecture's three example rows, then 7 random ones (seed 20240502).
* ``students_cat.csv`` -- 300 rows ``Carrera, Estudio, Edad, Promedio, N1, N2,
  Aprobado`` with a categorical column and a 'si'/'no' target (seed 20240503).

The generating formula lives in ``redes/datasets/students.py`` (see
``expected_grades``) and in ``README.md``. Run from anywhere:

    python examples/data/make_students.py            # rewrite the CSVs
    python examples/data/make_students.py --check    # verify they are up to date
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))  # the repo root, so `redes` imports uninstalled

from redes.datasets import SEED, SEED_CAT, SEED_NEW, make_new_students, make_students  # noqa: E402


def tables():
    """The three tables, keyed by file name."""
    return {
        "students.csv": make_students(1000, seed=SEED),
        "students_new.csv": make_new_students(7, seed=SEED_NEW),
        "students_cat.csv": make_students(300, seed=SEED_CAT, with_career=True),
    }


def to_csv(df):
    """CSV text with one decimal for floats (all float columns are rounded to 0.1)."""
    buffer = io.StringIO()
    df.to_csv(buffer, index=False, float_format="%.1f", lineterminator="\n")
    return buffer.getvalue()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a shipped CSV differs from a fresh generation")
    args = parser.parse_args(argv)
    stale = []
    for name, df in tables().items():
        path = HERE / name
        text = to_csv(df)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({len(df)} rows)")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
