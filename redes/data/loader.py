"""`DataLoader`: iterate over a dataset in (shuffled) batches of `redes.Tensor`."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from .convert import convert_batch, to_numpy
from .dataset import has_batch_access
from .rng import global_rng, resolve_rng


def default_collate(samples):
    """Stack a list of samples into one batch of NumPy arrays.

    Each sample may be an array, a number, a `redes.Tensor`, a string, or a
    tuple/list/dict of those; the batch has the same structure with a new
    leading batch dimension (strings are gathered into a list).

    Args:
        samples: a non-empty list of samples of the same structure.

    Returns:
        The collated batch: arrays, or a tuple/list/dict of arrays.

    Example:
        >>> x, y = default_collate([(np.array([1.0, 2.0]), 0), (np.array([3.0, 4.0]), 1)])
        >>> x.shape, y.tolist()
        ((2, 2), [0, 1])
    """
    if not isinstance(samples, (list, tuple)) or len(samples) == 0:
        raise ValueError(f"default_collate: samples must be a non-empty list, got {samples!r}")
    first = samples[0]
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, Mapping):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    if isinstance(first, (tuple, list)):
        sizes = {len(s) for s in samples}
        if len(sizes) > 1:
            raise ValueError(f"default_collate: samples have different numbers of fields "
                             f"{sorted(sizes)}")
        fields = [default_collate([s[i] for s in samples]) for i in range(len(first))]
        return fields if isinstance(first, list) else tuple(fields)
    if isinstance(first, (np.ndarray, np.generic, numbers.Number)) or hasattr(first, "array"):
        arrays = [to_numpy(s, name="default_collate") for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: cannot stack samples of different shapes "
                             f"{sorted(shapes)}")
        return np.stack(arrays)
    raise TypeError(f"default_collate: don't know how to batch samples of type "
                    f"{type(first).__name__}; pass collate_fn")


class DataLoader:
    """Iterate over `dataset` in batches, each converted to `redes.Tensor`.

    Args:
        dataset: a dataset (`__getitem__` and `__len__`). For datasets with
            `get_batch` (`TensorDataset` and subsets of it) a whole batch is
            taken with one fancy-indexing operation; others are read row by row
            and collated.
        batch_size: rows per batch (the last one may be smaller).
        shuffle: draw a new random order at the start of every epoch.
        drop_last: skip the last batch if it is smaller than `batch_size`.
        collate_fn: turns a list of samples into a batch (default
            `default_collate`). Giving one makes the loader read row by
            row, as PyTorch's does.
        seed: an int making the sequence of epoch orders reproducible: two
            loaders with the same seed shuffle identically, epoch after epoch.
        generator: an object with `permutation(n)` (`numpy.random.Generator`)
            to shuffle with, instead of `seed`. With neither, each epoch
            draws from redes' global generator (`redes.random`).

    Example:
        >>> import numpy as np
        >>> from redes.data import TensorDataset
        >>> ds = TensorDataset(np.zeros((10, 3), np.float32), np.arange(10))
        >>> loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> len(loader)
        3
        >>> for x, y in loader:
        ...     print(tuple(x.shape), tuple(y.shape))
        (4, 3) (4,)
        (4, 3) (4,)
        (2, 3) (2,)
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False,
                 collate_fn=None, *, seed=None, generator=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self._rng = resolve_rng(seed, generator, "DataLoader")

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self, n):
        """This epoch's row order: 0..n-1, or a fresh permutation when shuffling."""
        if not self.shuffle:
            return np.arange(n)
        rng = self._rng if self._rng is not None else global_rng()
        return np.asarray(rng.permutation(n), dtype=np.int64)

    def _fetch(self, indices):
        if self.collate_fn is None and has_batch_access(self.dataset):
            return self.dataset.get_batch(indices)
        samples = [self.dataset[int(i)] for i in indices]
        return (self.collate_fn or default_collate)(samples)

    def __iter__(self):
        n = len(self.dataset)
        order = self._order(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, n)
            # Fancy indexing copies, so a batch never aliases the dataset's arrays.
            yield convert_batch(self._fetch(order[start:end]))

    def __repr__(self):
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
