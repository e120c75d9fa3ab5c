"""Datasets (as in `torch.utils.data`): the abstract one, arrays, subsets, random splits.

Datasets here return **NumPy arrays**; `redes.data.DataLoader` turns
each batch into `redes.Tensor` once. Datasets that can fetch many rows at
once by fancy indexing expose `get_batch(indices)`; the loader then takes a
whole batch in one slicing operation instead of one Python call per row.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .convert import to_numpy
from .rng import global_rng, resolve_rng


class Dataset:
    """Abstract map-style dataset: subclasses define `__getitem__` and `__len__`.

    Example:
        >>> class Squares(Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return np.float32(i), np.float32(i * i)
        >>> len(Squares()), Squares()[3]
        (4, (np.float32(3.0), np.float32(9.0)))
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class IterableDataset(Dataset):
    """Abstract stream-style dataset: subclasses define `__iter__` (samples in order), as in torch.

    A `redes.data.DataLoader` over it batches the samples as they come (no sampler, no shuffling).

    Example:
        >>> class Count(IterableDataset):
        ...     def __iter__(self):
        ...         return iter(range(5))
        >>> list(Count() + Count())[:7]
        [0, 1, 2, 3, 4, 0, 1]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __len__(self):
        # NOTE: TypeError, as for any object without len(): list(stream) then asks no length of it
        raise TypeError(f"{type(self).__name__} is an IterableDataset without __len__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead of indexing")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


def _as_index_array(index, length, caller):
    """An int64 array of row positions from a slice, list, or int/bool array."""
    if isinstance(index, slice):
        return np.arange(length)[index]
    idx = np.asarray(index)
    if idx.dtype == bool:
        if idx.shape != (length,):
            raise IndexError(f"{caller}: boolean index of shape {idx.shape} does not "
                             f"match the dataset length {length}")
        return np.flatnonzero(idx)
    if idx.size == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(idx.dtype, np.integer):
        raise IndexError(f"{caller}: index must be an int, a slice, or an array of ints "
                         f"or bools; got {idx.dtype} values")
    return idx.astype(np.int64, copy=False)


class TensorDataset(Dataset):
    """Rows of several equally long arrays, e.g. features and targets.

    Args:
        *tensors: `redes.Tensor`s, NumPy arrays or nested lists, all with
            the same first dimension (the rows). They are kept as NumPy arrays
            (no copy for arrays).

    Indexing with an int gives a tuple of rows; with a slice, a list or an
    array of ints (or bools) it gives a tuple of batches, by NumPy slicing.

    Example:
        >>> ds = TensorDataset(np.arange(6.0).reshape(3, 2), np.array([0, 1, 0]))
        >>> len(ds), ds[1]
        (3, (array([2., 3.]), np.int64(1)))
        >>> [a.shape for a in ds[[0, 2]]]
        [(2, 2), (2,)]
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor or array, got none")
        arrays = tuple(to_numpy(t, name=f"TensorDataset: argument {i}")
                       for i, t in enumerate(tensors))
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a scalar; each needs a "
                                 f"first dimension of rows")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) > 1:
            raise ValueError(f"TensorDataset: all arguments need the same number of rows "
                             f"(first dimension); got {lengths}")
        self.tensors = arrays

    def __len__(self):
        return len(self.tensors[0])

    def __getitem__(self, index):
        if isinstance(index, numbers.Integral):
            return tuple(a[index] for a in self.tensors)
        return self.get_batch(index)

    def get_batch(self, indices):
        """The rows at `indices` (slice, int or bool array) as a tuple of arrays."""
        if not isinstance(indices, slice):
            indices = _as_index_array(indices, len(self), "TensorDataset")
        return tuple(a[indices] for a in self.tensors)

    def __repr__(self):
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.tensors)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The rows of `dataset` at positions `indices`, in that order.

    Args:
        dataset: any dataset.
        indices: a sequence or array of int row positions into `dataset`.

    Example:
        >>> ds = TensorDataset(np.arange(5))
        >>> sub = Subset(ds, [4, 0])
        >>> len(sub), sub[0], sub[:][0].tolist()
        (2, (np.int64(4),), [4, 0])
    """

    def __init__(self, dataset, indices):
        idx = np.asarray(indices)
        if idx.size == 0:
            idx = idx.astype(np.int64)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"Subset: indices must be a 1-D sequence of ints, got "
                             f"{idx.dtype} array of shape {idx.shape}")
        self.dataset = dataset
        self.indices = idx.astype(np.int64, copy=False)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, numbers.Integral):
            return self.dataset[int(self.indices[index])]
        if has_batch_access(self.dataset):
            return self.get_batch(index)
        return [self.dataset[int(i)] for i in self.indices[index]]

    def get_batch(self, indices):
        """The rows at `indices` of this subset, fetched from the parent in one go."""
        if not isinstance(indices, slice):
            indices = _as_index_array(indices, len(self), "Subset")
        return self.dataset.get_batch(self.indices[indices])

    def __repr__(self):
        return f"Subset({self.dataset!r}, {len(self)} rows)"


class ConcatDataset(Dataset):
    """Several datasets one after the other: rows of the first, then of the second, ...

    Args:
        datasets: a non-empty sequence of datasets.

    Example:
        >>> ds = ConcatDataset([TensorDataset(np.arange(3)), TensorDataset(np.arange(10, 12))])
        >>> len(ds), ds[3], ds.cumulative_sizes
        (5, (np.int64(10),), [3, 5])
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"ConcatDataset: index must be an int, got {type(index).__name__}")
        n = len(self)
        if index < 0:
            if -index > n:
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not exceed dataset length {n}")
            index += n
        if index >= n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for length {n}")
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][int(index - start)]

    def __repr__(self):
        return f"ConcatDataset({len(self.datasets)} datasets, {len(self)} rows)"


def has_batch_access(dataset):
    """Whether `dataset.get_batch(indices)` works (for a Subset: whether its parent's does).

    Example:
        >>> has_batch_access(TensorDataset(np.zeros(3))), has_batch_access(Dataset())
        (True, False)
    """
    if isinstance(dataset, Subset):
        return has_batch_access(dataset.dataset)
    return callable(getattr(dataset, "get_batch", None))


def _split_lengths(lengths, n):
    """Integer lengths from ints (summing to n) or fractions (summing to 1)."""
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(x, numbers.Integral) for x in lengths):
        if any(x < 0 for x in lengths) or sum(lengths) != n:
            raise ValueError(f"random_split: integer lengths must be >= 0 and sum to the "
                             f"dataset length {n}; got {lengths} (sum {sum(lengths)})")
        return [int(x) for x in lengths]
    if not all(isinstance(x, numbers.Real) and 0 <= x <= 1 for x in lengths) or \
            not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
        raise ValueError(f"random_split: lengths must be ints summing to {n} or fractions "
                         f"in [0, 1] summing to 1; got {lengths}")
    # As in PyTorch: floor each share, then hand the leftover rows out one each, in order.
    counts = [int(math.floor(n * f)) for f in lengths]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset, lengths, generator=None, *, seed=None):
    """Split `dataset` into disjoint random `Subset`s.

    Args:
        dataset: any dataset with `len`.
        lengths: ints summing to `len(dataset)`, or fractions summing to 1
            (rows left over after flooring go one each to the first splits).
        generator: an object with `permutation(n)` (`numpy.random.Generator`).
        seed: an int for a reproducible split (instead of `generator`).
            With neither, redes' global generator is used.

    Returns:
        A list of `Subset`, one per entry of `lengths`.

    Example:
        >>> train, test = random_split(TensorDataset(np.arange(10)), [0.8, 0.2], seed=0)
        >>> len(train), len(test)
        (8, 2)
    """
    n = len(dataset)
    counts = _split_lengths(lengths, n)
    rng = resolve_rng(seed, generator, "random_split") or global_rng()
    order = np.asarray(rng.permutation(n), dtype=np.int64)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
