"""`read_table`: from a CSV/Parquet file or DataFrame to model-ready arrays and a dataset."""

from __future__ import annotations

from .dataset import TensorDataset
from .errors import EmptyTableError
from .preprocess import Preprocessor
from .reading import load_frame


class Table:
    """A table turned into training arrays, with the preprocessor that did it.

    Attributes:
        X: float32 array `(rows, n_features)`: standardised numbers and one-hot categories.
        y: float32 `(rows, n_targets)` standardised regression targets, or
            int64 `(rows,)` class indices for classification.
        preprocessor: the fitted `redes.data.Preprocessor`; use it to
            transform new rows and to map predictions back.
        frame: the `pandas.DataFrame` as read (CSV cells as text).

    Example:
        >>> import pandas as pd
        >>> t = read_table(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0.5, 1.5, 2.0]}), "y")
        >>> t.task, t.X.shape, t.y.shape, len(t)
        ('regression', (3, 1), (3, 1), 3)
    """

    def __init__(self, X, y, preprocessor, frame=None):
        self.X = X
        self.y = y
        self.preprocessor = preprocessor
        self.frame = frame

    @property
    def task(self):
        """`'regression'` or `'classification'`."""
        return self.preprocessor.task

    @property
    def feature_names(self):
        """Names of the columns of `X`."""
        return self.preprocessor.feature_names

    @property
    def target_names(self):
        """The target column names."""
        return self.preprocessor.target_names

    @property
    def classes(self):
        """Class labels for classification (`y` indexes them), else `None`."""
        return self.preprocessor.classes

    @property
    def n_features(self):
        """Model input width, `X.shape[1]`."""
        return self.preprocessor.n_features

    @property
    def n_outputs(self):
        """Model output width: number of classes or of regression targets."""
        return self.preprocessor.n_outputs

    def dataset(self):
        """A `redes.data.TensorDataset` of `(X, y)` (no copy)."""
        return TensorDataset(self.X, self.y)

    def __len__(self):
        return len(self.X)

    def __repr__(self):
        return (f"Table({len(self)} rows, task={self.task!r}, "
                f"features={self.feature_names}, targets={self.target_names})")


def read_table(source, targets=None, features=None, task=None, *, categorical=None,
               unknown=None, preprocessor=None, **read_options):
    """Read a table and turn it into model-ready arrays.

    Numeric feature columns are standardised with this table's mean and std;
    text columns (and those named in `categorical`) are one-hot encoded.
    Regression targets are standardised; a classification target becomes
    int64 class indices. Everything learned is kept in `Table.preprocessor`
    so new rows get exactly the same treatment.

    CSV cells are read as text and parsed here, so errors quote the cell as
    written. Rows in messages are 1-based data rows: row 1 is the first row
    after the header (line 2 of a CSV without blank lines).

    Args:
        source: path to a `.csv`/`.tsv` or `.parquet` file (Parquet
            needs pyarrow), a `pandas.DataFrame`, or a dict of columns.
        targets: target column name or list of names (not needed with
            `preprocessor`).
        features: feature columns in order; `None` for all non-target columns.
        task: `'regression'`, `'classification'`, or `None` to infer
            (classification for a single text target, or a single integer
            target with at most 20 distinct values; else regression).
        categorical: numeric-looking feature columns to one-hot encode anyway.
        unknown: `'error'` (the default) or `'ignore'`: what the
            preprocessor does at predict time with a category not seen here.
            With `preprocessor`, overrides its policy for this table only.
        preprocessor: an already fitted `redes.data.Preprocessor`
            (e.g. the training table's) to apply instead of fitting a new one:
            use it to read a labelled test table.
        **read_options: passed to `pandas.read_csv` / `read_parquet`
            (`sep=';'`, `decimal=','`, `encoding=...`).

    Returns:
        A `Table` with `X`, `y`, `preprocessor`, `task`,
        `feature_names`, `target_names` and `dataset()`.

    Raises:
        FileNotFoundError, ImportError (Parquet without pyarrow), and
        `ValueError` subclasses from `redes.data.errors` naming the
        column and row: `EmptyTableError`, `MissingColumnError`,
        `UnexpectedColumnError`, `BadValueError`, `MissingValueError`,
        `UnknownCategoryError`.

    Example:
        >>> t = read_table("examples/data/students.csv", targets=["N1", "N2"])  # doctest: +SKIP
        >>> t.X.shape, t.y.shape, t.feature_names                               # doctest: +SKIP
        ((1000, 3), (1000, 2), ['Estudio', 'Edad', 'Promedio'])
        >>> new = t.preprocessor.transform("examples/data/students_new.csv")    # doctest: +SKIP
    """
    where = "read_table"
    frame = load_frame(source, where, **read_options)
    if len(frame.columns) == 0 or len(frame) == 0:
        name = f"file {str(source)!r}" if isinstance(source, str) or hasattr(source, "__fspath__") \
            else "the table"
        raise EmptyTableError(f"{where}: {name} has no data rows")
    if preprocessor is None:
        if targets is None:
            raise ValueError(f"{where}: targets is required (the target column name or "
                             f"names); the table has columns {list(frame.columns)}")
        preprocessor = Preprocessor.fit(frame, targets, features, task,
                                        categorical=categorical, unknown=unknown or "error",
                                        where=where)
    else:
        if not isinstance(preprocessor, Preprocessor):
            raise TypeError(f"{where}: preprocessor must be a Preprocessor, got "
                            f"{type(preprocessor).__name__}")
        given = {k: v for k, v in dict(targets=targets, features=features, task=task,
                                       categorical=categorical).items() if v is not None}
        if given:
            raise ValueError(f"{where}: {sorted(given)} cannot be given with preprocessor, "
                             f"which already fixes them")
    X = preprocessor._transform(frame, unknown, "error", where)
    y = preprocessor._transform_targets(frame, where)
    return Table(X, y, preprocessor, frame)
