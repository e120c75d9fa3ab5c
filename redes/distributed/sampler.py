"""DistributedSampler: each rank reads its own 1/num_replicas of a dataset's indices (torch's semantics)."""
import math
import numbers

import numpy as np

from . import comm


class DistributedSampler:
    """The indices rank `rank` reads from a dataset of len(dataset) rows, one epoch at a time.

    As torch.utils.data.DistributedSampler: with shuffle, all ranks draw the same permutation from
    seed + epoch (call set_epoch(epoch) before each epoch, or every epoch repeats one order); the order
    is padded by repeating its first indices until it divides evenly (drop_last=False) or cut to a
    multiple of num_replicas (drop_last=True); rank r takes every num_replicas-th index from r. So every
    rank reads the same number of rows, and the ranks together read each row once (plus the padding).
    The permutation comes from NumPy (PCG64), so its order differs from torch's; the partition rules are the same.

    Args:
        dataset: anything with len(). num_replicas / rank: default world_size() / rank().
        shuffle (True), seed (0), drop_last (False).
    Example:
        >>> s = DistributedSampler(range(10), num_replicas=4, rank=1, shuffle=False)
        >>> list(s), len(s)
        ([1, 5, 9], 3)
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        num_replicas = comm.world_size() if num_replicas is None else num_replicas
        rank = comm.rank() if rank is None else rank
        if isinstance(num_replicas, bool) or not isinstance(num_replicas, numbers.Integral) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got {num_replicas!r}")
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last, self.epoch = bool(shuffle), int(seed), bool(drop_last), 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use the permutation of this epoch (seed + epoch) on the next iteration."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an int64 array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:
            order = np.resize(order, self.total_size)       # repeats the order from its start: torch's padding
        return order[self.rank:self.total_size:self.num_replicas].astype(np.int64)

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples


class ShardedLoader:
    """Batches of this rank's share of `dataset`, re-drawn each epoch: what fit(distributed=True) iterates.

    Args: dataset: a Dataset (or anything with __getitem__/__len__). batch_size: rows per batch on this rank.
          shuffle / seed / drop_last: as DistributedSampler. Call set_epoch(epoch) before each epoch.
    """

    def __init__(self, dataset, batch_size, shuffle=True, seed=0, drop_last=False):
        self.sampler = DistributedSampler(dataset, shuffle=shuffle, seed=seed, drop_last=drop_last)
        self.dataset, self.batch_size = dataset, batch_size

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def __len__(self):
        return -(-len(self.sampler) // self.batch_size)

    def __iter__(self):
        from ..data import DataLoader
        from ..data.dataset import Subset
        return iter(DataLoader(Subset(self.dataset, self.sampler.indices()), batch_size=self.batch_size))
