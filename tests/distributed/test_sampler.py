"""DistributedSampler against torch.utils.data.DistributedSampler (no MPI needed: num_replicas and rank given)."""
import numpy as np
import pytest

from redes.distributed import DistributedSampler

CASES = [(10, 4, False), (10, 4, True), (8, 2, False), (8, 3, True), (3, 5, False), (7, 7, True), (1, 2, False)]


@pytest.mark.parametrize("n, replicas, drop_last", CASES)
def test_partition_matches_torch_without_shuffle(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        ref = torch_data.DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False,
                                            drop_last=drop_last)
        assert list(ours) == list(ref), f"n={n} replicas={replicas} rank={rank} drop_last={drop_last}"
        assert len(ours) == len(ref)


@pytest.mark.parametrize("n, replicas, drop_last", CASES)
def test_shuffled_ranks_share_one_permutation(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    samplers = [DistributedSampler(range(n), replicas, r, shuffle=True, seed=3, drop_last=drop_last)
                for r in range(replicas)]
    ref = [torch_data.DistributedSampler(range(n), replicas, r, shuffle=True, seed=3, drop_last=drop_last)
           for r in range(replicas)]
    for epoch in (0, 1):
        for s in samplers + ref:
            s.set_epoch(epoch)
        ours, theirs = [list(s) for s in samplers], [list(s) for s in ref]
        assert [len(x) for x in ours] == [len(x) for x in theirs]
        # torch's permutation differs (NumPy's generator, not torch's): compare the partition's properties
        rows, ref_rows = sum(ours, []), sum(theirs, [])
        assert len(rows) == len(ref_rows)
        if drop_last:
            assert len(set(rows)) == len(rows)                  # no row twice
        else:
            assert set(rows) == set(range(n))                   # every row, the padding repeating some
            assert np.bincount(rows).max() == np.bincount(ref_rows).max()


def test_set_epoch_changes_the_order_and_seed_fixes_it():
    a = DistributedSampler(range(50), num_replicas=2, rank=0, seed=1)
    b = DistributedSampler(range(50), num_replicas=2, rank=0, seed=1)
    first = list(a)
    assert first == list(b)
    a.set_epoch(1)
    assert list(a) != first


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_replicas=2, rank=2), r"Invalid rank 2, rank should be in the interval \[0, 1\]"),
    (dict(num_replicas=2, rank=-1), r"Invalid rank -1"),
    (dict(num_replicas=0, rank=0), r"num_replicas must be a positive int, got 0"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DistributedSampler(range(4), **kwargs)


def test_without_init_rank_must_be_given():
    with pytest.raises(RuntimeError, match="init"):
        DistributedSampler(range(4))


def test_docstring_examples():
    import doctest
    import importlib

    import redes as rd
    for name in ("redes.distributed.comm", "redes.distributed.ddp", "redes.distributed.zero",
                 "redes.distributed.sampler", "redes.utils.checkpoint"):
        result = doctest.testmod(importlib.import_module(name), extraglobs={"rd": rd})
        assert result.failed == 0, name
