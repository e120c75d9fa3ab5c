"""``Preprocessor``: the fitted table transformation, reused at predict time, saved as JSON.

Fitting learns, from the training table only:

* numeric feature columns: mean and standard deviation (population, ddof=0;
  a constant column gets std 1 so it maps to 0 instead of dividing by zero);
* categorical feature columns (text, or named in ``categorical``): the sorted
  list of categories, one-hot encoded as ``'Column=category'`` features;
* regression targets: mean and std (predictions are mapped back with
  :meth:`Preprocessor.inverse_targets`);
* a classification target: the sorted list of classes (labels become int64
  indices into it).

Missing cells (empty, NaN) in feature columns are imputed by default
(``missing='impute'``): a numeric cell gets the column's training mean (0 after
standardising), a categorical cell all zeros in its one-hot block (a pattern
no seen category has, so the model can tell it apart). ``missing='error'``
raises :class:`MissingValueError` instead. Missing targets always raise.

A category not seen at fit time raises :class:`UnknownCategoryError` by
default (``unknown='error'``): a prediction for an unseen category would
silently be a guess. With ``unknown='ignore'`` it is encoded as all zeros and
an :class:`UnknownCategoryWarning` is issued.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .columns import Column, parse_categories, parse_numeric
from .convert import to_numpy
from .errors import (
    EmptyTableError,
    MissingColumnError,
    UnexpectedColumnError,
    UnknownCategoryError,
    UnknownCategoryWarning,
)
from .reading import load_frame

TASKS = ("regression", "classification")
UNKNOWN_POLICIES = ("error", "ignore")
EXTRA_POLICIES = ("error", "ignore")
MISSING_POLICIES = ("impute", "error")
#: A single integer target with at most this many distinct values (and at
#: least two rows per value on average) is inferred to be a classification
#: target (force with ``task=``).
MAX_CLASSES = 20
FORMAT = "redes.data.Preprocessor"
VERSION = 1


def _check_choice(value, choices, name, where):
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {list(choices)}, got {value!r}")
    return value


def _column_list(value, name, where):
    """A list of column names from one name or a sequence of names."""
    if value is None:
        return None
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        return [value]
    names = list(value)
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: {name} lists a column twice: {names}")
    return names


def _require_columns(frame, names, role, where):
    columns = list(frame.columns)
    for name in names:
        if name not in columns:
            raise MissingColumnError(f"{where}: {role} column {name!r} not found; the table "
                                     f"has columns {columns}", column=name)


def _scale(values):
    """Mean and std (ddof=0) as Python floats; std 1 for a constant column."""
    mean = float(np.mean(values))
    std = float(np.std(values))
    return mean, (std if std > 0 else 1.0)


def _python_scalar(value):
    return value.item() if isinstance(value, np.generic) else value


class Preprocessor:
    """A fitted table transformation: features to float32 inputs, targets to training form.

    Build one with :meth:`fit` (or through :func:`redes.data.read_table`),
    save it with :meth:`to_dict` / :meth:`save`, restore it with
    :meth:`from_dict` / :meth:`load`.

    Args:
        features: feature specs, each ``{'name', 'kind': 'numeric', 'mean', 'std'}``
            or ``{'name', 'kind': 'categorical', 'categories': [...]}``.
        targets: target specs, ``{'name', 'kind': 'numeric', 'mean', 'std'}``
            (regression) or one ``{'name', 'kind': 'class', 'classes': [...]}``.
        task: ``'regression'`` or ``'classification'``.
        ignored_columns: columns of the fitting table that were deliberately
            left out (dropped silently by :meth:`transform`).
        unknown: ``'error'`` or ``'ignore'``: what :meth:`transform` does
            with an unseen category.
        missing: ``'impute'`` or ``'error'``: what :meth:`transform` does
            with a missing feature cell.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"Edad": [18, 20, 22], "Carrera": ["a", "b", "a"],
        ...                    "N1": [10.0, 12.5, 15.0]})
        >>> pre = Preprocessor.fit(df, targets="N1")
        >>> pre.feature_names
        ['Edad', 'Carrera=a', 'Carrera=b']
        >>> pre.transform(df.iloc[:1]).astype(float).round(3).tolist()
        [[-1.225, 1.0, 0.0]]
        >>> pre.inverse_targets(np.zeros((1, 1))).tolist()
        [[12.5]]
    """

    def __init__(self, features, targets, task, *, ignored_columns=(), unknown="error", missing="impute"):
        where = "Preprocessor"
        self.task = _check_choice(task, TASKS, "task", where)
        self.unknown = _check_choice(unknown, UNKNOWN_POLICIES, "unknown", where)
        self.missing = _check_choice(missing, MISSING_POLICIES, "missing", where)
        self.task_reason = None           # why fit() chose the task (not saved: the training report keeps it)
        self._features = [self._check_spec(f, ("numeric", "categorical"), "features")
                          for f in features]
        target_kinds = ("class",) if task == "classification" else ("numeric",)
        self._targets = [self._check_spec(t, target_kinds, "targets") for t in targets]
        if not self._features:
            raise ValueError(f"{where}: needs at least one feature column")
        if not self._targets or (task == "classification" and len(self._targets) != 1):
            raise ValueError(f"{where}: {task} needs "
                             f"{'exactly one' if task == 'classification' else 'at least one'} "
                             f"target column, got {len(self._targets)}")
        self.ignored_columns = list(ignored_columns)

    @staticmethod
    def _check_spec(spec, kinds, key):
        where = "Preprocessor"
        if not isinstance(spec, Mapping) or "name" not in spec:
            raise ValueError(f"{where}: each entry of {key} must be a dict with a 'name'; "
                             f"got {spec!r}")
        kind = spec.get("kind")
        name = spec["name"]
        if kind not in kinds:
            raise ValueError(f"{where}: {key} entry {name!r} has kind {kind!r}; "
                             f"expected one of {list(kinds)}")
        if kind == "numeric":
            mean, std = spec.get("mean"), spec.get("std")
            if not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in (mean, std)) \
                    or std <= 0:
                raise ValueError(f"{where}: {key} entry {name!r} needs a finite 'mean' and a "
                                 f"positive 'std'; got mean={mean!r}, std={std!r}")
            return {"name": name, "kind": kind, "mean": float(mean), "std": float(std)}
        values_key = "categories" if kind == "categorical" else "classes"
        values = spec.get(values_key)
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"{where}: {key} entry {name!r} needs a non-empty list "
                             f"'{values_key}'; got {values!r}")
        return {"name": name, "kind": kind, values_key: list(values)}

    # ------------------------------------------------------------------ fitting

    @classmethod
    def fit(cls, table, targets, features=None, task=None, *, categorical=None,
            unknown="error", missing="impute", where="Preprocessor.fit"):
        """Learn the transformation from a training table.

        Args:
            table: a ``pandas.DataFrame``, a CSV/Parquet path, or a dict of columns.
            targets: the target column name, or a list of them.
            features: feature column names, in order; ``None`` for every
                column that is not a target. Other columns are ignored.
            task: ``'regression'``, ``'classification'``, or ``None`` to infer:
                classification when there is a single target that is text or
                holds whole numbers with at most :data:`MAX_CLASSES` distinct
                values; regression otherwise.
            categorical: feature columns to one-hot encode even though they
                hold numbers (text columns are always categorical).
            unknown: ``'error'`` (default) or ``'ignore'``, for unseen
                categories at transform time.
            missing: ``'impute'`` (default) or ``'error'``, for missing
                feature cells (here and at transform time).
            where: function name used in error messages.

        Returns:
            A fitted :class:`Preprocessor`.

        Raises:
            EmptyTableError, MissingColumnError, UnexpectedColumnError,
            BadValueError, MissingValueError: see :mod:`redes.data.errors`.
        """
        frame = load_frame(table, where)
        if len(frame.columns) == 0 or len(frame) == 0:
            raise EmptyTableError(f"{where}: the table has no data rows")
        targets = _column_list(targets, "targets", where)
        if not targets:
            raise ValueError(f"{where}: targets must name at least one column, got {targets!r}")
        _require_columns(frame, targets, "target", where)
        if features is None:
            features = [c for c in frame.columns if c not in targets]
        else:
            features = _column_list(features, "features", where)
            _require_columns(frame, features, "feature", where)
        both = [c for c in features if c in targets]
        if both:
            raise UnexpectedColumnError(f"{where}: column {both[0]!r} is both a feature and a "
                                        f"target", column=both[0])
        if not features:
            raise ValueError(f"{where}: no feature columns: the table has only the targets "
                             f"{targets}")
        categorical = _column_list(categorical, "categorical", where) or []
        for name in categorical:
            if name not in features:
                raise ValueError(f"{where}: categorical names {name!r}, which is not a feature "
                                 f"column; features are {features}")
        if task is not None:
            _check_choice(task, TASKS, "task", where)
        _check_choice(unknown, UNKNOWN_POLICIES, "unknown", where)
        _check_choice(missing, MISSING_POLICIES, "missing", where)

        feature_specs = [cls._fit_feature(Column(frame[name], name, where), name in categorical,
                                          missing == "impute") for name in features]
        target_columns = [Column(frame[name], name, where) for name in targets]
        if task is None:
            task, reason = cls._infer_task(target_columns, where)
        else:
            reason = "given"
        if task == "classification":
            if len(targets) != 1:
                raise ValueError(f"{where}: classification needs exactly one target column, "
                                 f"got {targets}")
            target_specs = [cls._fit_classes(target_columns[0])]
        else:
            target_specs = []
            for column in target_columns:
                mean, std = _scale(column.numeric("target value"))
                target_specs.append({"name": column.name, "kind": "numeric", "mean": mean,
                                     "std": std})
        ignored = [c for c in frame.columns if c not in features and c not in targets]
        pre = cls(feature_specs, target_specs, task, ignored_columns=ignored, unknown=unknown,
                  missing=missing)
        pre.task_reason = reason
        return pre

    @staticmethod
    def _fit_feature(column, force_categorical, missing_ok):
        if column.missing.all() and missing_ok:        # nothing to learn from: a constant 0 input
            return {"name": column.name, "kind": "numeric", "mean": 0.0, "std": 1.0}
        if force_categorical or not column.looks_numeric():
            categories = sorted(set(column.categories(missing_ok=missing_ok)[~column.missing].tolist()))
            return {"name": column.name, "kind": "categorical", "categories": categories}
        values = column.numeric(missing_ok=missing_ok)
        mean, std = _scale(values[~np.isnan(values)])
        return {"name": column.name, "kind": "numeric", "mean": mean, "std": std}

    @staticmethod
    def _infer_task(columns, where):
        """(task, reason): the guess and one sentence saying why, for the user to check."""
        text = [c.name for c in columns if not c.looks_numeric()]
        if len(columns) > 1:
            if text:
                raise ValueError(f"{where}: target column {text[0]!r} is not numeric; several "
                                 f"targets are only supported for regression")
            return "regression", f"there are {len(columns)} numeric target columns"
        name = columns[0].name
        if text:
            return "classification", f"the target {name!r} holds text"
        values = columns[0].numeric("target value")
        n_values = len(np.unique(values))
        if not columns[0].is_integral():
            return "regression", f"the target {name!r} holds numbers with fractions"
        if n_values > MAX_CLASSES:
            return "regression", (f"the target {name!r} holds {n_values} different whole numbers "
                                  f"(more than {MAX_CLASSES})")
        if 2 * n_values > len(values):           # classes need examples: 3 rows of 1, 2, 3 are numbers
            return "regression", (f"the target {name!r} holds {n_values} different whole numbers in only "
                                  f"{len(values)} rows (too few rows per value for classes)")
        return "classification", (f"the target {name!r} holds {n_values} different whole numbers "
                                  f"(at most {MAX_CLASSES}) in {len(values)} rows")

    @staticmethod
    def _fit_classes(column):
        if column.looks_numeric():
            classes = np.unique(column.numeric("target value"))
            if column.is_integral():
                classes = classes.astype(np.int64)
            classes = [_python_scalar(c) for c in classes]
        else:
            classes = sorted(set(column.categories("target value").tolist()))
        return {"name": column.name, "kind": "class", "classes": classes}

    # --------------------------------------------------------------- properties

    @property
    def input_features(self):
        """The raw feature column names, in order."""
        return [f["name"] for f in self._features]

    @property
    def feature_names(self):
        """Names of the output columns of :meth:`transform` (``'Col=cat'`` for one-hot)."""
        names = []
        for f in self._features:
            if f["kind"] == "numeric":
                names.append(f["name"])
            else:
                names.extend(f"{f['name']}={c}" for c in f["categories"])
        return names

    @property
    def target_names(self):
        """The target column names."""
        return [t["name"] for t in self._targets]

    @property
    def classes(self):
        """The class labels (index i is class i) for classification, else ``None``."""
        return list(self._targets[0]["classes"]) if self.task == "classification" else None

    @property
    def n_features(self):
        """Width of the model input (number of columns of :meth:`transform`)."""
        return len(self.feature_names)

    @property
    def n_outputs(self):
        """Width of the model output: number of classes, or of regression targets."""
        return len(self.classes) if self.task == "classification" else len(self._targets)

    # ------------------------------------------------------------ transforming

    def transform(self, table, *, unknown=None, extra="error"):
        """Features of new rows, transformed exactly as at fit time.

        Args:
            table: a ``pandas.DataFrame``, a CSV/Parquet path, a dict of
                columns, or a list of row dicts. Must hold every feature
                column; target and ignored columns are dropped.
            unknown: override the fitted policy for unseen categories
                (``'error'`` or ``'ignore'``).
            extra: ``'error'`` (default) to reject columns that the fitting
                table did not have, ``'ignore'`` to drop them.

        Returns:
            A float32 array of shape ``(rows, n_features)``.

        Raises:
            MissingColumnError: a feature column is absent.
            UnexpectedColumnError: an unknown column with ``extra='error'``.
            BadValueError, MissingValueError: a bad cell in a feature column.
            UnknownCategoryError: an unseen category with ``unknown='error'``.

        Example:
            >>> pre = Preprocessor.fit({"x": [0.0, 2.0], "y": [1.0, 3.0]}, "y")
            >>> pre.transform({"x": [1.0, 4.0]}).tolist()
            [[0.0], [3.0]]
        """
        return self._transform(table, unknown, extra, "Preprocessor.transform")

    def _transform(self, table, unknown, extra, where):
        unknown = self.unknown if unknown is None else unknown
        _check_choice(unknown, UNKNOWN_POLICIES, "unknown", where)
        _check_choice(extra, EXTRA_POLICIES, "extra", where)
        frame = load_frame(table, where)
        _require_columns(frame, self.input_features, "feature", where)
        if extra == "error":
            known = set(self.input_features) | set(self.target_names) | set(self.ignored_columns)
            unexpected = [c for c in frame.columns if c not in known]
            if unexpected:
                raise UnexpectedColumnError(
                    f"{where}: column {unexpected[0]!r} was not in the table the preprocessor "
                    f"was fitted on (features: {self.input_features}); pass extra='ignore' "
                    f"to drop it", column=unexpected[0])
        blocks = [self._encode(frame[f["name"]], f, unknown, self.missing == "impute", where)
                  for f in self._features]
        return np.concatenate(blocks, axis=1).astype(np.float32)

    @staticmethod
    def _encode(series, spec, unknown, missing_ok, where):
        name = spec["name"]
        if spec["kind"] == "numeric":
            values = parse_numeric(series, name, where, missing_ok=missing_ok)
            scaled = (values - spec["mean"]) / spec["std"]
            return np.where(np.isnan(scaled), 0.0, scaled)[:, None]     # a missing cell: the mean
        import pandas as pd

        categories = spec["categories"]
        column = Column(series, name, where)
        values = column.categories(missing_ok=missing_ok)
        codes = pd.Index(categories).get_indexer(values).astype(np.int64)  # -1: unseen (or missing)
        unseen = (codes < 0) & ~column.missing
        codes[column.missing] = -1
        if unseen.any():
            row = int(np.flatnonzero(unseen)[0]) + 1
            value = str(values[row - 1])
            if unknown == "error":
                raise UnknownCategoryError(
                    f"{where}: column {name!r}, row {row}: category {value!r} was not seen when "
                    f"fitting (known: {categories}); pass unknown='ignore' to encode it as all "
                    f"zeros", column=name, row=row, value=value)
            warnings.warn(f"{where}: column {name!r}, row {row}: category {value!r} was not "
                          f"seen when fitting ({int(unseen.sum())} rows); encoded as all zeros",
                          UnknownCategoryWarning, stacklevel=4)
        onehot = np.zeros((len(values), len(categories)))
        known = codes >= 0
        onehot[np.flatnonzero(known), codes[known]] = 1.0
        return onehot

    def transform_targets(self, table):
        """Targets of a labelled table, in training form (as ``Table.y``).

        Args:
            table: a ``pandas.DataFrame``, path, or dict of columns holding the
                target columns.

        Returns:
            float32 ``(rows, n_targets)`` standardised values for regression;
            int64 ``(rows,)`` class indices for classification.

        Raises:
            MissingColumnError, BadValueError, MissingValueError, and
            UnknownCategoryError for a class not seen at fit time.
        """
        return self._transform_targets(load_frame(table, "Preprocessor.transform_targets"),
                                       "Preprocessor.transform_targets")

    def _transform_targets(self, frame, where):
        _require_columns(frame, self.target_names, "target", where)
        if self.task == "regression":
            columns = [(parse_numeric(frame[t["name"]], t["name"], where, "target value")
                        - t["mean"]) / t["std"] for t in self._targets]
            return np.stack(columns, axis=1).astype(np.float32)
        spec = self._targets[0]
        name, classes = spec["name"], spec["classes"]
        series = frame[name]
        if all(isinstance(c, str) for c in classes):
            values = parse_categories(series, name, where, "target value")
        else:
            values = parse_numeric(series, name, where, "target value")
        import pandas as pd

        codes = pd.Index(classes).get_indexer(values).astype(np.int64)  # -1: unseen
        if (codes < 0).any():
            row = int(np.flatnonzero(codes < 0)[0]) + 1
            value = _python_scalar(values[row - 1])
            raise UnknownCategoryError(f"{where}: column {name!r}, row {row}: class {value!r} "
                                       f"was not seen when fitting (classes: {classes})",
                                       column=name, row=row, value=value)
        return codes

    def inverse_targets(self, y_pred, as_frame=False):
        """Map model outputs back to the original units or class labels.

        Args:
            y_pred: a ``redes.Tensor`` or array. Regression: ``(rows, n_targets)``
                (or ``(rows,)`` with one target) in standardised units.
                Classification: ``(rows, n_classes)`` scores/logits/probabilities
                (the largest wins), or ``(rows,)`` integer class indices.
            as_frame: return a ``pandas.DataFrame`` with the target names as
                columns instead of an array.

        Returns:
            Regression: float64 array of the same shape, in original units.
            Classification: ``(rows,)`` array of class labels.

        Example:
            >>> pre = Preprocessor.fit({"x": [0, 1, 2, 3], "c": ["no", "si", "si", "no"]}, "c")
            >>> pre.inverse_targets(np.array([[0.1, 0.9], [2.0, -1.0]])).tolist()
            ['si', 'no']
        """
        where = "Preprocessor.inverse_targets"
        y = to_numpy(y_pred, name=f"{where}: y_pred")
        if self.task == "regression":
            k = len(self._targets)
            if not ((y.ndim == 2 and y.shape[1] == k) or (y.ndim == 1 and k == 1)):
                raise ValueError(f"{where}: expected shape (rows, {k}) for targets "
                                 f"{self.target_names}, got {y.shape}")
            mean = np.array([t["mean"] for t in self._targets])
            std = np.array([t["std"] for t in self._targets])
            result = y.astype(np.float64) * std + mean
            if not as_frame:
                return result
            import pandas as pd

            return pd.DataFrame(result.reshape(len(result), k), columns=self.target_names)
        classes = self.classes
        if y.ndim == 2 and y.shape[1] == len(classes):
            index = np.argmax(y, axis=1)
        elif y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
            index = y
            if index.size and (index.min() < 0 or index.max() >= len(classes)):
                raise ValueError(f"{where}: class index out of range 0..{len(classes) - 1}: "
                                 f"got values from {index.min()} to {index.max()}")
        else:
            raise ValueError(f"{where}: expected (rows, {len(classes)}) scores or (rows,) int "
                             f"class indices for classes {classes}, got {y.dtype} array of "
                             f"shape {y.shape}")
        labels = np.array(classes, dtype=object)[index]
        if not as_frame:
            return labels
        import pandas as pd

        return pd.DataFrame({self.target_names[0]: labels})

    # ---------------------------------------------------------- serialisation

    def to_dict(self):
        """A JSON-able dict holding everything the transformation needs (no pickle).

        Example:
            >>> pre = Preprocessor.fit({"x": [0.0, 2.0], "y": [1.0, 3.0]}, "y")
            >>> Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict()))) == pre
            True
        """
        return {
            "format": FORMAT,
            "version": VERSION,
            "task": self.task,
            "unknown": self.unknown,
            "missing": self.missing,
            "features": [dict(f) for f in self._features],
            "targets": [dict(t) for t in self._targets],
            "ignored_columns": list(self.ignored_columns),
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild a preprocessor from :meth:`to_dict`'s output.

        Args:
            d: the dict (e.g. after ``json.loads``).

        Returns:
            A :class:`Preprocessor` that transforms exactly as the saved one.

        Raises:
            ValueError: ``d`` is not a saved preprocessor, or a field is invalid.
        """
        where = "Preprocessor.from_dict"
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise ValueError(f"{where}: not a saved preprocessor (expected 'format': "
                             f"{FORMAT!r}); got {type(d).__name__} "
                             f"{d.get('format') if isinstance(d, Mapping) else d!r}")
        if d.get("version") != VERSION:
            raise ValueError(f"{where}: unsupported version {d.get('version')!r}; this redes "
                             f"reads version {VERSION}")
        for key in ("task", "features", "targets"):
            if key not in d:
                raise ValueError(f"{where}: missing key {key!r}")
        return cls(d["features"], d["targets"], d["task"],
                   ignored_columns=d.get("ignored_columns", []),
                   unknown=d.get("unknown", "error"),
                   missing=d.get("missing", "error"))     # files from before imputation raised

    def save(self, path):
        """Write :meth:`to_dict` as JSON to ``path``."""
        from ..io.atomic import atomic_write
        atomic_write(path, json.dumps(self.to_dict(), indent=2, ensure_ascii=False))

    @classmethod
    def load(cls, path):
        """Read a preprocessor written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __eq__(self, other):
        return isinstance(other, Preprocessor) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return (f"Preprocessor(task={self.task!r}, features={self.input_features}, "
                f"targets={self.target_names}, n_features={self.n_features})")
