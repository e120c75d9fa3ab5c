"""`DataLoader`: iterate over a dataset in (shuffled) batches of `redes.Tensor`."""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

from .convert import convert_batch, to_numpy
from .dataset import IterableDataset, has_batch_access
from .rng import resolve_rng
from .samplers import BatchSampler, RandomSampler, SequentialSampler


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
    """Iterate over `dataset` in batches, each converted to `redes.Tensor`, with torch's arguments.

    Args:
        dataset: a dataset (`__getitem__` and `__len__`). For datasets with
            `get_batch` (`TensorDataset` and subsets of it) a whole batch is
            taken with one fancy-indexing operation; others are read row by row
            and collated.
        batch_size: rows per batch (the last one may be smaller); `None` turns
            batching off: each sample comes alone, converted but not stacked.
        shuffle: draw a new random order at the start of every epoch
            (a `RandomSampler`).
        sampler: which indices to read, in which order (excludes `shuffle`).
        batch_sampler: yields lists of indices, one per batch (excludes
            `batch_size`, `shuffle`, `sampler` and `drop_last`).
        num_workers: accepted for compatibility; batches are always made in this
            process, in order (the numbers are the same as with workers).
        collate_fn: turns a list of samples into a batch (default
            `default_collate`). Giving one makes the loader read row by
            row, as PyTorch's does.
        pin_memory: no-op (there is no device memory to copy to on the CPU).
        drop_last: skip the last batch if it is smaller than `batch_size`.
        timeout, prefetch_factor, persistent_workers, multiprocessing_context,
            pin_memory_device, in_order: checked as torch does, then unused.
        worker_init_fn: called as `worker_init_fn(0)` at the start of each
            epoch (once with `persistent_workers`), as by the one worker
            that does the work, when `num_workers > 0`.
        generator: a `numpy.random.Generator` (`rd.Generator()` is one) to
            shuffle with. With neither it nor `seed`, each epoch draws from
            redes' global generator (`rd.manual_seed` fixes it).
        seed: (redes) an int making the sequence of epoch orders reproducible.

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

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="", in_order=True,
                 seed=None):
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
                                       or batch_size < 1):
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r} "
                             "(None turns batching off)")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers option should be non-negative; use num_workers=0 to "
                             f"disable multiprocessing (got {num_workers!r})")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in multiprocessing: "
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got {worker_init_fn!r}")
        rng = resolve_rng(seed, generator, "DataLoader")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:                              # a stream: no indices to sample
            for option, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value:
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {option} option, "
                                     f"but got {option}={value!r}")
            sampler = _StreamSampler(dataset)
        if sampler is None:
            sampler = RandomSampler(dataset, generator=rng) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, int(batch_size), bool(drop_last))
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self._workers_started = False

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def _fetch(self, indices):
        if self.collate_fn is None and has_batch_access(self.dataset):
            return self.dataset.get_batch(np.asarray(indices, dtype=np.int64))
        samples = [self.dataset[int(i)] for i in indices]
        return (self.collate_fn or default_collate)(samples)

    def __iter__(self):
        if self.num_workers > 0 and self.worker_init_fn is not None and not (
                self.persistent_workers and self._workers_started):
            self.worker_init_fn(0)
            self._workers_started = True
        if self._iterable:
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:                   # batch_size=None: samples one by one
            for i in self.sampler:
                sample = self.dataset[int(i)]
                yield convert_batch(self.collate_fn(sample) if self.collate_fn else _as_arrays(sample))
            return
        batches = self.batch_sampler._batches() if isinstance(self.batch_sampler, BatchSampler) \
            else self.batch_sampler
        for indices in batches:
            # Fancy indexing copies, so a batch never aliases the dataset's arrays.
            yield convert_batch(self._fetch(indices))

    def _iter_stream(self):
        """Batches of an IterableDataset, in the order its iterator gives the samples."""
        batch = []
        for sample in self.dataset:
            if self.batch_size is None:
                yield convert_batch(self.collate_fn(sample) if self.collate_fn else _as_arrays(sample))
                continue
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield convert_batch((self.collate_fn or default_collate)(batch))
                batch = []
        if batch and not self.drop_last:
            yield convert_batch((self.collate_fn or default_collate)(batch))

    def __repr__(self):
        return (f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")


class _StreamSampler:
    """Stands for the sampler of an IterableDataset: only its length (the dataset's, when it has one)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)                 # TypeError for streams without a length, as torch


def _as_arrays(sample):
    """One sample without batching (torch's default_convert): numbers and arrays become arrays."""
    if isinstance(sample, (np.ndarray, np.generic, numbers.Number)) and not isinstance(sample, (str, bytes)):
        return np.asarray(sample)
    if isinstance(sample, Mapping):
        return {k: _as_arrays(v) for k, v in sample.items()}
    if isinstance(sample, (tuple, list)):
        return type(sample)(_as_arrays(v) for v in sample)
    return sample
