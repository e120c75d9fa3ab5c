"""Small synthetic tables bundled with redes (generated, so no files to download).

Example:
    >>> from redes.datasets import make_students
    >>> make_students(3).shape
    (3, 5)
"""

from .students import (
    CAREER_OFFSETS,
    LECTURE_ROWS,
    PASS_MARK,
    SEED,
    SEED_CAT,
    SEED_NEW,
    expected_grades,
    make_new_students,
    make_students,
)

__all__ = [
    "CAREER_OFFSETS",
    "LECTURE_ROWS",
    "PASS_MARK",
    "SEED",
    "SEED_CAT",
    "SEED_NEW",
    "expected_grades",
    "make_new_students",
    "make_students",
]
