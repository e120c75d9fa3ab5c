"""Data layer: datasets and loaders (as `torch.utils.data`) and tables read from CSV/Parquet.

Everything here works on NumPy arrays; `DataLoader` hands out `redes.Tensor`
batches (made in one place, `redes.data.convert`).

Example:
    >>> import numpy as np
    >>> from redes.data import TensorDataset, random_split
    >>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
    >>> train, test = random_split(ds, [0.6, 0.4], seed=0)
    >>> len(train), len(test)
    (3, 2)
"""

from .convert import to_numpy, to_tensor
from .dataset import Dataset, Subset, TensorDataset, random_split
from .errors import (
    BadValueError,
    EmptyTableError,
    MissingColumnError,
    MissingValueError,
    TableError,
    UnexpectedColumnError,
    UnknownCategoryError,
    UnknownCategoryWarning,
)
from .loader import DataLoader, default_collate
from .preprocess import Preprocessor
from .table import Table, read_table

__all__ = [
    "BadValueError",
    "DataLoader",
    "Dataset",
    "EmptyTableError",
    "MissingColumnError",
    "MissingValueError",
    "Preprocessor",
    "Subset",
    "Table",
    "TableError",
    "TensorDataset",
    "UnexpectedColumnError",
    "UnknownCategoryError",
    "UnknownCategoryWarning",
    "default_collate",
    "random_split",
    "read_table",
    "to_numpy",
    "to_tensor",
]
