"""Synthetic student-grades tables (the lecture's ``Estudio, Edad, Promedio -> N1, N2``).

Every value is drawn from a seeded ``numpy.random.Generator`` using only
``uniform``, ``normal`` and ``integers``, whose streams NumPy keeps
stable, so the same seed gives the same table on every machine.

Columns (grades on the 0-20 scale used in Peru and much of Latin America):

* ``Estudio``  -- hours of study per week, 0-40, in half hours.
* ``Edad``     -- age in years, integer 17-35, skewed towards young students.
* ``Promedio`` -- previous grade average, 0-20, one decimal.
* ``N1``       -- first exam grade, 0-20, one decimal.
* ``N2``       -- second exam grade, 0-20, one decimal.
* ``Carrera``  -- degree programme (only with ``with_career=True``).
* ``Aprobado`` -- ``'si'`` if ``(N1 + N2) / 2 >= 10.5`` else ``'no'``
  (only with ``with_career=True``).

The noise-free grades are given by :func:`expected_grades`; ``N1`` and ``N2``
add Gaussian noise (sd 1.0 and 1.2), then are clipped to [0, 20] and rounded.
"""

from __future__ import annotations

import numpy as np

#: Seed of the shipped ``examples/data/students.csv``.
SEED = 20240501
#: Seed of the new rows in ``examples/data/students_new.csv``.
SEED_NEW = 20240502
#: Seed of ``examples/data/students_cat.csv``.
SEED_CAT = 20240503

#: Stand-ins for the lecture's three example rows (Estudio, Edad, Promedio).
LECTURE_ROWS = (
    (10.0, 20, 14.0),
    (4.0, 23, 11.0),
    (18.0, 19, 16.5),
)

#: Degree programmes of the categorical table and their grade offsets.
CAREER_OFFSETS = {
    "Derecho": 0.0,
    "Economía": 0.5,
    "Ingeniería": -1.0,
    "Medicina": 1.0,
}

#: Mean grade needed to pass, on the 0-20 scale.
PASS_MARK = 10.5


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def expected_grades(estudio, edad, promedio, offset=0.0):
    """Noise-free exam grades N1, N2 (before clipping) for given features.

    N1 = 1 + 0.5 Promedio + 9 (1 - exp(-Estudio / 6)) - 0.04 (Edad - 23)^2 + offset
    N2 = 3 + 0.35 Promedio + 9 s((Estudio - 8) / 2) s((Promedio - 11) / 1.5)
         + 0.1 (Edad - 17) + offset,        with s(z) = 1 / (1 + exp(-z))

    N1 saturates in the hours of study and peaks at age 23. N2 gives a bonus
    of up to 9 points to students who both study more than about 8 hours and
    had an average above about 11, so neither grade is linear in the inputs
    (a linear fit explains clearly less variance than a small MLP).

    Args:
        estudio: hours of study per week (scalar or array).
        edad: age in years (scalar or array).
        promedio: previous grade average, 0-20 (scalar or array).
        offset: grade offset of the degree programme (scalar or array).

    Returns:
        ``(n1, n2)`` as float64 arrays (or scalars).

    Example:
        >>> n1, n2 = expected_grades(10.0, 20, 14.0)
        >>> round(float(n1), 2), round(float(n2), 2)
        (14.94, 14.0)
    """
    estudio = np.asarray(estudio, dtype=np.float64)
    edad = np.asarray(edad, dtype=np.float64)
    promedio = np.asarray(promedio, dtype=np.float64)
    n1 = (1.0 + 0.5 * promedio + 9.0 * (1.0 - np.exp(-estudio / 6.0))
          - 0.04 * (edad - 23.0) ** 2 + offset)
    n2 = (3.0 + 0.35 * promedio
          + 9.0 * _sigmoid((estudio - 8.0) / 2.0) * _sigmoid((promedio - 11.0) / 1.5)
          + 0.1 * (edad - 17.0) + offset)
    return n1, n2


def _features(rng, n):
    """Draw Estudio, Edad, Promedio for ``n`` students."""
    estudio = np.round(np.clip(rng.normal(12.0, 6.0, n), 0.0, 40.0) * 2.0) / 2.0
    # u**2 skews ages towards 17; 17 + floor(19 u^2) lies in 17..35.
    edad = 17 + np.floor(19.0 * rng.uniform(0.0, 1.0, n) ** 2).astype(np.int64)
    # Students who study more tend to have a slightly better average.
    promedio = np.round(np.clip(rng.normal(12.5, 2.5, n) + 0.08 * (estudio - 12.0),
                                0.0, 20.0), 1)
    return estudio, edad, promedio


def make_students(n=1000, seed=SEED, with_career=False):
    """Generate the synthetic student table.

    Args:
        n: number of rows.
        seed: seed of ``numpy.random.default_rng``.
        with_career: add the categorical ``Carrera`` column (which shifts both
            grades) and the ``Aprobado`` ('si'/'no') column.

    Returns:
        A ``pandas.DataFrame`` with columns ``Estudio, Edad, Promedio, N1, N2``,
        preceded by ``Carrera`` and followed by ``Aprobado`` when
        ``with_career`` is true.

    Example:
        >>> df = make_students(5, seed=0)
        >>> list(df.columns)
        ['Estudio', 'Edad', 'Promedio', 'N1', 'N2']
    """
    import pandas as pd

    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"make_students: n must be a positive int, got {n!r}")
    rng = np.random.default_rng(seed)
    estudio, edad, promedio = _features(rng, n)
    careers = np.array(sorted(CAREER_OFFSETS))
    if with_career:
        carrera = careers[rng.integers(0, len(careers), n)]
        offset = np.array([CAREER_OFFSETS[c] for c in carrera])
    else:
        offset = 0.0
    n1, n2 = expected_grades(estudio, edad, promedio, offset)
    n1 = np.round(np.clip(n1 + rng.normal(0.0, 1.0, n), 0.0, 20.0), 1)
    n2 = np.round(np.clip(n2 + rng.normal(0.0, 1.2, n), 0.0, 20.0), 1)
    columns = {"Estudio": estudio, "Edad": edad, "Promedio": promedio, "N1": n1, "N2": n2}
    if with_career:
        columns = {"Carrera": carrera, **columns,
                   "Aprobado": np.where((n1 + n2) / 2.0 >= PASS_MARK, "si", "no")}
    return pd.DataFrame(columns)


def make_new_students(n_extra=7, seed=SEED_NEW):
    """Rows to predict: the three lecture rows followed by ``n_extra`` random ones.

    Args:
        n_extra: number of random rows after the lecture rows.
        seed: seed of ``numpy.random.default_rng`` for the random rows.

    Returns:
        A ``pandas.DataFrame`` with columns ``Estudio, Edad, Promedio`` only.

    Example:
        >>> make_new_students(0).shape
        (3, 3)
    """
    import pandas as pd

    lecture = np.array(LECTURE_ROWS, dtype=np.float64)
    estudio, edad, promedio = _features(np.random.default_rng(seed), n_extra)
    return pd.DataFrame({
        "Estudio": np.concatenate([lecture[:, 0], estudio]),
        "Edad": np.concatenate([lecture[:, 1].astype(np.int64), edad]),
        "Promedio": np.concatenate([lecture[:, 2], promedio]),
    })
