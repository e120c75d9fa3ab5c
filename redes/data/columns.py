"""Column-level parsing shared by fitting and transforming: numbers, categories, missing cells.

`Column` wraps one `pandas.Series` and parses it at most once (all
vectorised), whatever is asked of it; problems are reported as
`redes.data.errors` exceptions naming the column and the 1-based data row.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .errors import BadValueError, MissingValueError

#: A text column counts as numeric when more than this share of its
#: non-missing cells parse as numbers (so one typo does not turn a numeric
#: column into hundreds of categories; the typo is reported instead).
NUMERIC_SHARE = 0.5

# np.strings is NumPy >= 2.0; np.char has the same strip on NumPy 1.x.
_strip = getattr(np, "strings", np.char).strip


class Column:
    """One column of a table, with its text and number parses computed lazily, once.

    Args:
        series: the `pandas.Series`.
        name: the column name, for messages.
        where: the calling function's name, for messages.

    Example:
        >>> import pandas as pd
        >>> col = Column(pd.Series(["1", " 2.5", "abc"]), "Edad", "read_table")
        >>> col.looks_numeric(), col.numbers[:2].tolist()
        (True, [1.0, 2.5])
    """

    def __init__(self, series, name, where):
        self.series = series
        self.name = name
        self.where = where

    @cached_property
    def kind(self):
        """`'numeric'` (a numeric dtype), `'bool'`, `'category'` or `'text'`."""
        import pandas as pd

        dtype = self.series.dtype
        if dtype == bool or str(dtype) == "boolean":
            return "bool"
        if isinstance(dtype, pd.CategoricalDtype):
            return "category"
        return "numeric" if pd.api.types.is_numeric_dtype(dtype) else "text"

    @cached_property
    def _text_and_missing(self):
        na = self.series.isna().to_numpy()
        values = np.where(na, "", self.series.to_numpy(dtype=object))
        text = _strip(values.astype(str))
        return text, na | (text == "")

    @property
    def text(self):
        """Each cell as stripped text (`''` where missing), a NumPy `str` array."""
        return self._text_and_missing[0]

    @cached_property
    def missing(self):
        """Boolean array: NaN/None/NA, or text that is empty after stripping."""
        if self.kind == "numeric":
            return self.series.isna().to_numpy()
        return self._text_and_missing[1]

    @cached_property
    def numbers(self):
        """The cells as float64, NaN where missing or not a number."""
        import pandas as pd

        if self.kind == "numeric":
            return self.series.to_numpy(dtype=np.float64, na_value=np.nan)
        if self.kind == "bool":
            return np.full(len(self.series), np.nan)
        return np.asarray(pd.to_numeric(self.text, errors="coerce"), dtype=np.float64)

    def looks_numeric(self):
        """Whether to treat the column as numeric when fitting.

        True for numeric dtypes, and for text columns where more than
        :data:`NUMERIC_SHARE` of the non-missing cells are numbers; False for
        bool and pandas `category` columns, whatever they hold.
        """
        if self.kind in ("numeric", "bool", "category"):
            return self.kind == "numeric"
        present = ~self.missing
        parsed = ~np.isnan(self.numbers) & present
        return bool(present.any() and parsed.sum() > NUMERIC_SHARE * present.sum())

    def is_integral(self):
        """Whether every present value is a finite whole number (and there is one)."""
        values = self.numbers[~np.isnan(self.numbers)]
        return values.size > 0 and bool(np.all(np.isfinite(values) &
                                               (values == np.round(values))))

    def _raise_missing(self, row, role):
        raise MissingValueError(f"{self.where}: column {self.name!r}, row {row}: {role} is "
                                f"missing (empty cell or NaN)", column=self.name, row=row)

    def numeric(self, role="value"):
        """The column as finite float64 numbers.

        Args:
            role: `'value'` or `'target value'`, for messages.

        Returns:
            A float64 NumPy array.

        Raises:
            MissingValueError: an empty cell or NaN (the first one, by row).
            BadValueError: a cell that is not a finite number (the first one).
        """
        values, missing = self.numbers, self.missing
        problems = missing | ~np.isfinite(values)
        if problems.any():
            row = int(np.flatnonzero(problems)[0]) + 1
            if missing[row - 1]:
                self._raise_missing(row, role)
            raw = self.series.iloc[row - 1]
            raw = raw.item() if isinstance(raw, np.generic) else raw
            kind = "not a number" if np.isnan(values[row - 1]) else "not a finite number"
            raise BadValueError(f"{self.where}: column {self.name!r}, row {row}: {role} "
                                f"{raw!r} is {kind}", column=self.name, row=row, value=raw)
        return values

    def categories(self, role="value"):
        """The column as stripped text, a NumPy `str` array.

        Raises:
            MissingValueError: an empty cell or NaN (the first one, by row).
        """
        if self.missing.any():
            self._raise_missing(int(np.flatnonzero(self.missing)[0]) + 1, role)
        return self.text


def parse_numeric(series, column, where, role="value"):
    """The column as float64, raising on the first missing or non-numeric cell.

    Args:
        series: the `pandas.Series`.
        column: its name, for messages.
        where: the calling function's name, for messages.
        role: `'value'` or `'target value'`, for messages.

    Returns:
        A float64 NumPy array of finite numbers.

    Raises:
        MissingValueError, BadValueError: see `Column.numeric`.

    Example:
        >>> import pandas as pd
        >>> parse_numeric(pd.Series(["1", " 2.5"]), "Edad", "read_table").tolist()
        [1.0, 2.5]
    """
    return Column(series, column, where).numeric(role)


def parse_categories(series, column, where, role="value"):
    """The column as an array of stripped strings, raising on a missing cell.

    Returns:
        A NumPy `str` array (`.tolist()` gives Python `str`).

    Raises:
        MissingValueError: an empty cell or NaN (the first one, by row).

    Example:
        >>> import pandas as pd
        >>> parse_categories(pd.Series([" a", 3]), "Carrera", "read_table").tolist()
        ['a', '3']
    """
    return Column(series, column, where).categories(role)
