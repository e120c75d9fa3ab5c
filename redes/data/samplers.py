"""Samplers (as `torch.utils.data`): which rows a `redes.data.DataLoader` reads, in which order.

A sampler yields row indices; a `BatchSampler` groups them into lists, one list per batch.
Random samplers draw from `generator` (a `numpy.random.Generator`, e.g. `rd.Generator().manual_seed(0)`)
or, without one, from redes' global stream, so `rd.manual_seed` fixes them. The orders differ from
torch's for the same seed (another random stream), never in their distribution.
"""

from __future__ import annotations

import numbers

import numpy as np

from .rng import global_rng


def _positive_int(value, name, caller):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{caller}: {name} should be a positive integer value, but got {name}={value!r}")
    return int(value)


def _bool(value, name, caller):
    if not isinstance(value, bool):
        raise TypeError(f"{caller}: {name} should be a boolean value, but got {name}={value!r}")
    return value


class Sampler:
    """Base class: subclasses define `__iter__` (indices) and, when they know it, `__len__`."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def _indices(self):
        """This epoch's indices as one int64 array (the loader slices it into batches)."""
        return np.fromiter(iter(self), dtype=np.int64)


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1, in order.

    Example:
        >>> list(SequentialSampler(range(3)))
        [0, 1, 2]
    """

    def __init__(self, data_source):
        self.data_source = data_source

    def _indices(self):
        return np.arange(len(self.data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices into `data_source`: a fresh permutation each epoch, or draws with replacement.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw `num_samples` indices independently (with repeats) instead of permuting.
        num_samples: how many indices an epoch yields (default `len(data_source)`); without
            replacement and larger than the dataset, whole permutations follow one another, as torch.
        generator: a `numpy.random.Generator` (default: redes' global stream, read at each epoch).

    Example:
        >>> import numpy as np
        >>> sorted(RandomSampler(range(4), generator=np.random.default_rng(0)))
        [0, 1, 2, 3]
        >>> len(RandomSampler(range(4), replacement=True, num_samples=10))
        10
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = _bool(replacement, "replacement", "RandomSampler")
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _positive_int(num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def _indices(self):
        n, k = len(self.data_source), self.num_samples
        rng = self.generator if self.generator is not None else global_rng()
        if self.replacement:
            return np.asarray(rng.integers(0, n, size=k), dtype=np.int64)
        if k == n:
            return np.asarray(rng.permutation(n), dtype=np.int64)
        parts = [rng.permutation(n) for _ in range(k // n)] + [rng.permutation(n)[:k % n]]
        return np.concatenate(parts).astype(np.int64)

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given `indices` in a random order (a new one each epoch).

    Example:
        >>> sorted(SubsetRandomSampler([5, 7, 9]))
        [5, 7, 9]
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def _indices(self):
        rng = self.generator if self.generator is not None else global_rng()
        return np.asarray(self.indices, dtype=np.int64)[rng.permutation(len(self.indices))]

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices in [0, len(weights)), index i drawn with probability weights[i] / sum(weights).

    Args:
        weights: a 1-D sequence of non-negative weights (need not sum to 1).
        num_samples: how many indices per epoch.
        replacement: with replacement (default); without, each index at most once (as torch.multinomial).
        generator: a `numpy.random.Generator` (default: redes' global stream).

    Example:
        >>> s = WeightedRandomSampler([0.0, 1.0, 0.0], 4)
        >>> list(s)
        [1, 1, 1, 1]
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        _bool(replacement, "replacement", "WeightedRandomSampler")
        w = np.asarray(getattr(weights, "array", weights), dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given weights have "
                             f"shape {tuple(w.shape)}")
        if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not all zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw num_samples={num_samples} indices without "
                             f"replacement from {np.count_nonzero(w)} non-zero weights")
        self.weights, self.num_samples, self.replacement, self.generator = w, int(num_samples), replacement, generator

    def _indices(self):
        rng = self.generator if self.generator is not None else global_rng()
        return np.asarray(rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                                     p=self.weights / self.weights.sum()), dtype=np.int64)

    def __iter__(self):
        return iter(self._indices().tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size` (the last one shorter unless drop_last).

    Example:
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
        >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=True))
        [[0, 1], [2, 3]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = _positive_int(batch_size, "batch_size", "BatchSampler")
        self.drop_last = _bool(drop_last, "drop_last", "BatchSampler")

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def _batches(self):
        """This epoch's batches as index arrays, sliced from one array when the sampler gives one."""
        if not isinstance(self.sampler, Sampler):
            yield from (np.asarray(b, dtype=np.int64) for b in self)
            return
        order = self.sampler._indices()
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
