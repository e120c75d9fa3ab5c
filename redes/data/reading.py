"""Turn a path, DataFrame or dict of columns into a `pandas.DataFrame` for the table code."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path

from .errors import EmptyTableError, TableError, UnexpectedColumnError

PARQUET_SUFFIXES = (".parquet", ".pq")
TSV_SUFFIXES = (".tsv", ".tab")


def _check_unique(names, where):
    seen = set()
    for name in names:
        name = name.strip() if isinstance(name, str) else name
        if name in seen:
            raise UnexpectedColumnError(f"{where}: column {name!r} appears more than once",
                                        column=name)
        seen.add(name)


def _read_parquet(path, where, read_options):
    import pandas as pd

    if not any(importlib.util.find_spec(m) for m in ("pyarrow", "fastparquet")):
        raise ImportError(f"{where}: reading the Parquet file {str(path)!r} needs pyarrow "
                          f"(pip install pyarrow); or save the table as CSV")
    return pd.read_parquet(path, **read_options)


def _read_csv(path, where, read_options):
    import pandas as pd

    options = {"sep": "\t" if path.suffix.lower() in TSV_SUFFIXES else ","}
    options.update(read_options)
    # Read every cell as text: the table code decides what is numeric and can
    # quote a bad cell exactly as written. Only pandas knows decimal commas and
    # thousands separators, so with those options it parses the numbers itself.
    as_text = {} if {"decimal", "thousands", "dtype"} & set(options) else {"dtype": str}
    try:
        frame = pd.read_csv(path, **as_text, **options)
        if "header" not in options and "names" not in options:
            # pandas renames a repeated header 'A' to 'A.1'; read the raw header to catch it.
            header = pd.read_csv(path, header=None, nrows=1, dtype=str, **options)
            _check_unique([str(c) for c in header.iloc[0].tolist()], where)
        return frame
    except pd.errors.EmptyDataError:
        raise EmptyTableError(f"{where}: file {str(path)!r} is empty (no header, no rows)") \
            from None
    except pd.errors.ParserError as exc:
        raise TableError(f"{where}: file {str(path)!r} is not a well-formed CSV: {exc}") from None


def load_frame(source, where="read_table", **read_options):
    """Load `source` as a DataFrame with clean column names.

    Args:
        source: a path to a `.csv` (or `.tsv`) or `.parquet` file, a
            `pandas.DataFrame`, a dict of columns, or a list of row dicts.
            CSV cells are read as text; the caller parses them.
        where: the calling function's name, for messages.
        **read_options: passed to `pandas.read_csv` / `pandas.read_parquet`
            (e.g. `sep=';'`, `decimal=','`, `encoding='latin-1'`).

    Returns:
        A `pandas.DataFrame` whose string column names have surrounding
        spaces removed.

    Raises:
        FileNotFoundError: no file at `source`.
        ImportError: a Parquet file without pyarrow installed.
        EmptyTableError: an empty file.
        UnexpectedColumnError: two columns with the same name.
        TypeError: `source` of an unsupported type.

    Example:
        >>> load_frame({"Edad": [20, 21], " Estudio ": [5.0, 9.5]}).columns.tolist()
        ['Edad', 'Estudio']
    """
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        frame = source
    elif isinstance(source, Mapping) or (isinstance(source, list) and
                                         all(isinstance(r, Mapping) for r in source)):
        frame = pd.DataFrame(source)
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"{where}: no such file {str(path)!r}")
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame = _read_parquet(path, where, read_options)
        else:
            frame = _read_csv(path, where, read_options)
    else:
        raise TypeError(f"{where}: expected a file path, a pandas DataFrame, a dict of "
                        f"columns or a list of row dicts; got {type(source).__name__}")
    names = [c.strip() if isinstance(c, str) else c for c in frame.columns]
    _check_unique(names, where)
    if names != list(frame.columns):
        frame = frame.set_axis(names, axis=1)
    return frame
