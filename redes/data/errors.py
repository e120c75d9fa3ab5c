"""Errors and warnings raised while reading and transforming tables.

Every error is a `ValueError` (through `TableError`), so
`except ValueError` keeps working, and carries the offending `column`,
`row` and `value` as attributes when they apply.

Rows are **1-based data rows**: row 1 is the first row after the header
(for a CSV with one header line and no blank lines, that is file line 2);
for a DataFrame it is the first row by position, whatever its index label.
"""

from __future__ import annotations


class TableError(ValueError):
    """Base class of the table errors; `column`/`row`/`value` may be `None`.

    Example:
        >>> err = TableError("read_table: bad table", column="Edad", row=3)
        >>> isinstance(err, ValueError), err.column, err.row
        (True, 'Edad', 3)
    """

    def __init__(self, message, *, column=None, row=None, value=None):
        super().__init__(message)
        self.column = column
        self.row = row
        self.value = value


class EmptyTableError(TableError):
    """The file or DataFrame has no data rows (or no columns at all)."""


class MissingColumnError(TableError):
    """A target or feature column is absent."""


class UnexpectedColumnError(TableError):
    """A column was not seen at fit time, or is both a feature and a target."""


class BadValueError(TableError):
    """A value in a numeric column is not a (finite) number."""


class MissingValueError(TableError):
    """An empty cell or NaN where a value is required."""


class UnknownCategoryError(TableError):
    """A categorical value that was not seen when the preprocessor was fitted."""


class UnknownCategoryWarning(UserWarning):
    """Issued when `unknown='ignore'` encodes an unseen category as all zeros."""
