"""rd.utils.data: torch.utils.data's names, from redes.data (datasets, samplers, DataLoader, collate).

    from redes.utils.data import DataLoader, TensorDataset     # as `from torch.utils.data import ...`
"""
from ...data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                             random_split)
from ...data.loader import DataLoader, default_collate
from ...data.samplers import (BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
                              WeightedRandomSampler)


def get_worker_info():
    """None: batches are always made in the main process (see DataLoader's num_workers)."""
    return None


__all__ = ["BatchSampler", "ChainDataset", "ConcatDataset", "IterableDataset", "DataLoader", "Dataset",
           "RandomSampler", "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
           "default_collate", "get_worker_info", "random_split"]
