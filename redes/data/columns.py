"""Column-level parsing shared by fitting and transforming: numbers, categories, missing cells.

All functions take a ``pandas.Series`` and report problems as
:mod:`redes.data.errors` exceptions naming the column and the 1-based data row.
"""

from __future__ import annotations

import numpy as np

from .errors import BadValueError, MissingValueError

#: A string column counts as numeric when more than this share of its
#: non-missing cells parse as numbers (so one typo does not turn a numeric
#: column into hundreds of categories; the typo is reported instead).
NUMERIC_SHARE = 0.5


def _is_bool(series):
    return series.dtype == bool or str(series.dtype) == "boolean"


def is_numeric_dtype(series):
    """Whether pandas stores the column as numbers (bools excluded)."""
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series.dtype) and not _is_bool(series)


def missing_mask(series):
    """Boolean array: NaN/None/NA, or a string that is empty after stripping."""
    mask = series.isna().to_numpy()
    if not is_numeric_dtype(series):
        text = series.astype(object).to_numpy()
        mask = mask | np.array([isinstance(v, str) and not v.strip() for v in text], dtype=bool)
    return mask


def _strip(series):
    """The column as an object Series with surrounding spaces removed from strings."""
    return series.astype(object).map(lambda v: v.strip() if isinstance(v, str) else v)


def _coerce(series):
    """Parse to numbers (NaN where impossible); numeric columns pass through as float64."""
    import pandas as pd

    if is_numeric_dtype(series):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    if _is_bool(series):
        return np.full(len(series), np.nan)
    parsed = pd.to_numeric(_strip(series), errors="coerce")
    return parsed.to_numpy(dtype=np.float64, na_value=np.nan)


def looks_numeric(series):
    """Whether a column should be treated as numeric when fitting.

    True for numeric dtypes (not bool), and for text columns where more than
    :data:`NUMERIC_SHARE` of the non-missing cells are numbers. False for
    pandas ``category`` and bool columns, whatever they hold.

    Example:
        >>> import pandas as pd
        >>> looks_numeric(pd.Series(["1", "2", "abc"])), looks_numeric(pd.Series(["a", "b", "3"]))
        (True, False)
    """
    import pandas as pd

    if is_numeric_dtype(series):
        return True
    if _is_bool(series) or isinstance(series.dtype, pd.CategoricalDtype):
        return False
    present = ~missing_mask(series)
    if not present.any():
        return False
    numbers = ~np.isnan(_coerce(series)) & present
    return bool(numbers.sum() > NUMERIC_SHARE * present.sum())


def is_integral(series):
    """Whether every present value of a numeric-looking column is a whole number."""
    values = _coerce(series)
    values = values[~np.isnan(values)]
    return values.size > 0 and bool(np.all(np.isfinite(values) & (values == np.round(values))))


def _first_row(mask):
    return int(np.flatnonzero(mask)[0]) + 1


def parse_numeric(series, column, where, role="value"):
    """The column as float64, raising on the first missing or non-numeric cell.

    Args:
        series: the column.
        column: its name, for messages.
        where: the calling function's name, for messages.
        role: ``'value'`` or ``'target value'``, for messages.

    Returns:
        A float64 NumPy array of finite numbers.

    Raises:
        MissingValueError: an empty cell or NaN (the first one, by row).
        BadValueError: a cell that is not a finite number (the first one).

    Example:
        >>> import pandas as pd
        >>> parse_numeric(pd.Series(["1", " 2.5"]), "Edad", "read_table").tolist()
        [1.0, 2.5]
    """
    values = _coerce(series)
    missing = missing_mask(series)
    bad = ~np.isfinite(values) & ~missing
    problems = missing | bad
    if problems.any():
        row = _first_row(problems)
        raw = series.iloc[row - 1]
        if missing[row - 1]:
            raise MissingValueError(f"{where}: column {column!r}, row {row}: {role} is "
                                    f"missing (empty cell or NaN)", column=column, row=row)
        kind = "not a finite number" if not np.isnan(values[row - 1]) else "not a number"
        raise BadValueError(f"{where}: column {column!r}, row {row}: {role} {raw!r} is {kind}",
                            column=column, row=row, value=raw)
    return values


def parse_categories(series, column, where, role="value"):
    """The column as an object array of stripped strings, raising on a missing cell.

    Returns:
        A NumPy object array of ``str``.

    Raises:
        MissingValueError: an empty cell or NaN (the first one, by row).

    Example:
        >>> import pandas as pd
        >>> parse_categories(pd.Series([" a", 3]), "Carrera", "read_table").tolist()
        ['a', '3']
    """
    missing = missing_mask(series)
    if missing.any():
        row = _first_row(missing)
        raise MissingValueError(f"{where}: column {column!r}, row {row}: {role} is missing "
                                f"(empty cell or NaN)", column=column, row=row)
    return np.array([str(v) for v in _strip(series)], dtype=object)
