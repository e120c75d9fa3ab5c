"""Dataset, TensorDataset, Subset, DataLoader, default_collate and random_split."""

import math

import numpy as np
import pytest

import redes
import redes.random
from redes.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def make_ds(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n, dtype=np.int64)
    return TensorDataset(x, y)


def ys(loader):
    """The label batches of one epoch, as lists (labels are row numbers)."""
    return [y.data.tolist() for _, y in loader]


class Rows(Dataset):
    """A generic (non-TensorDataset) dataset that counts its row reads."""

    def __init__(self, n):
        self.n = n
        self.reads = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.reads += 1
        return np.full(2, i, dtype=np.float64), i


# ----------------------------------------------------------------- TensorDataset

def test_tensor_dataset_indexing_returns_tuples_by_slicing():
    ds = make_ds(5)
    x, y = ds[2]
    assert x.tolist() == [6.0, 7.0, 8.0] and y == 2
    xb, yb = ds[1:4]
    assert xb.shape == (3, 3) and yb.tolist() == [1, 2, 3]
    xb, yb = ds[np.array([4, 0])]
    assert yb.tolist() == [4, 0] and xb[0].tolist() == [12.0, 13.0, 14.0]
    _, yb = ds[[True, False, True, False, False]]
    assert yb.tolist() == [0, 2]
    assert len(ds) == 5


def test_tensor_dataset_accepts_tensors_and_lists():
    ds = TensorDataset(redes.tensor(np.ones((3, 2), np.float32)), [1, 2, 3])
    x, y = ds[0:3]
    assert isinstance(x, np.ndarray) and x.dtype == np.float32
    assert y.tolist() == [1, 2, 3]


def test_tensor_dataset_rejects_bad_arguments():
    with pytest.raises(ValueError, match="same number of rows.*\\[3, 4\\]"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="argument 1 is a scalar"):
        TensorDataset(np.zeros(3), np.float32(1.0))
    with pytest.raises(IndexError, match="ints or bools"):
        make_ds()[np.array([0.5])]


def test_abstract_dataset_names_missing_methods():
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(NotImplementedError, match="__len__"):
        len(Dataset())


# -------------------------------------------------------------------- DataLoader

def test_loader_batches_in_order_as_tensors_keeping_dtype():
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10, dtype=np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert [tuple(b[0].shape) for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert all(isinstance(t, redes.Tensor) for b in batches for t in b)
    assert batches[0][0].dtype == np.float64 and batches[0][1].dtype == np.int64
    assert ys(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    np.testing.assert_array_equal(batches[2][0].data, x[8:])


def test_loader_drop_last_and_len():
    assert ys(DataLoader(make_ds(10), batch_size=4, drop_last=True)) == [[0, 1, 2, 3],
                                                                          [4, 5, 6, 7]]
    for n in (0, 1, 7, 8, 9, 16):
        for bs in (1, 3, 8, 20):
            for drop_last in (False, True):
                loader = DataLoader(make_ds(n), batch_size=bs, drop_last=drop_last)
                expected = n // bs if drop_last else math.ceil(n / bs)
                assert len(loader) == expected == len(list(loader)), (n, bs, drop_last)


def test_shuffle_with_seed_is_reproducible_across_epochs():
    a = DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=42)
    b = DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=42)
    epochs_a = [ys(a), ys(a)]
    assert epochs_a == [ys(b), ys(b)]
    assert epochs_a[0] != epochs_a[1]               # a new order each epoch
    for epoch in epochs_a:                          # each a permutation of all rows
        assert sorted(sum(epoch, [])) == list(range(10))
    other = DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=43)
    assert ys(other) != epochs_a[0]


def test_shuffle_with_generator_matches_same_seed():
    by_seed = DataLoader(make_ds(10), batch_size=4, shuffle=True, seed=7)
    by_gen = DataLoader(make_ds(10), batch_size=4, shuffle=True,
                        generator=np.random.default_rng(7))
    assert ys(by_seed) == ys(by_gen)


def test_shuffle_without_seed_follows_redes_global_rng():
    loader = DataLoader(make_ds(20), batch_size=5, shuffle=True)
    redes.random.manual_seed(123)
    first = ys(loader)
    redes.random.manual_seed(123)
    assert ys(loader) == first
    assert sorted(sum(first, [])) == list(range(20))


def test_shuffle_falls_back_to_numpy_without_redes_rng(monkeypatch):
    monkeypatch.delattr(redes.random, "default_rng")
    batches = ys(DataLoader(make_ds(10), batch_size=4, shuffle=True))
    assert sorted(sum(batches, [])) == list(range(10))


def test_loader_argument_errors():
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        DataLoader(make_ds(), batch_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(make_ds(), batch_size=2.5)
    with pytest.raises(ValueError, match="seed or generator, not both"):
        DataLoader(make_ds(), shuffle=True, seed=1, generator=np.random.default_rng(1))
    with pytest.raises(TypeError, match="permutation"):
        DataLoader(make_ds(), shuffle=True, generator=42)
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(make_ds(), collate_fn="stack")


def test_tensor_dataset_batches_are_one_slice_not_per_row():
    calls = []

    class Counting(TensorDataset):
        def __getitem__(self, index):
            calls.append("getitem")
            return super().__getitem__(index)

        def get_batch(self, indices):
            calls.append("get_batch")
            return super().get_batch(indices)

    ds = Counting(np.zeros((10, 2)), np.arange(10))
    assert len(list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))) == 3
    assert calls == ["get_batch"] * 3


def test_batches_are_copies_not_views_of_the_dataset():
    ds = make_ds(4)
    x, _ = next(iter(DataLoader(ds, batch_size=4)))
    x.data[:] = -1
    assert ds.tensors[0].min() == 0


def test_generic_dataset_is_read_by_row_and_collated():
    ds = Rows(5)
    batches = list(DataLoader(ds, batch_size=2))
    assert ds.reads == 5
    x, y = batches[0]
    assert isinstance(x, redes.Tensor) and tuple(x.shape) == (2, 2) and x.dtype == np.float64
    assert y.data.tolist() == [0, 1] and tuple(batches[-1][0].shape) == (1, 2)


def test_custom_collate_fn_gets_the_list_of_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return np.stack([s[0] for s in samples]).sum(axis=1)

    out = list(DataLoader(make_ds(5), batch_size=2, collate_fn=collate))
    assert seen == [2, 2, 1]
    assert isinstance(out[0], redes.Tensor) and out[0].data.tolist() == [3.0, 12.0]


def test_default_collate_structures_and_errors():
    batch = default_collate([{"x": np.ones(2), "name": "a"}, {"x": np.zeros(2), "name": "b"}])
    assert batch["x"].shape == (2, 2) and batch["name"] == ["a", "b"]
    fields = default_collate([[1.0, 2], [3.0, 4]])
    assert isinstance(fields, list) and fields[0].tolist() == [1.0, 3.0]
    stacked = default_collate([redes.tensor(np.ones(3, np.float32))] * 2)
    assert stacked.shape == (2, 3) and stacked.dtype == np.float32
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="different numbers of fields"):
        default_collate([(1, 2), (1,)])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])
    with pytest.raises(ValueError, match="non-empty list"):
        default_collate([])


# ---------------------------------------------------------- Subset, random_split

def test_subset_maps_indices_and_keeps_batch_access():
    sub = Subset(make_ds(10), [9, 3, 5])
    assert len(sub) == 3 and sub[0][1] == 9
    assert sub[1:][1].tolist() == [3, 5]
    assert ys(DataLoader(sub, batch_size=2)) == [[9, 3], [5]]
    generic = Subset(Rows(6), np.array([5, 1]))
    assert [y.data.tolist() for _, y in DataLoader(generic, batch_size=2)] == [[5, 1]]
    with pytest.raises(ValueError, match="1-D sequence of ints"):
        Subset(make_ds(), [[0, 1]])


def test_random_split_sizes_and_disjointness():
    ds = make_ds(10)
    parts = random_split(ds, [6, 3, 1], seed=0)
    assert [len(p) for p in parts] == [6, 3, 1]
    all_rows = np.concatenate([p.indices for p in parts])
    assert sorted(all_rows.tolist()) == list(range(10))   # disjoint and complete
    assert [len(p) for p in random_split(ds, [0.7, 0.2, 0.1], seed=0)] == [7, 2, 1]
    assert [len(p) for p in random_split(make_ds(11), [0.5, 0.5], seed=0)] == [6, 5]
    assert [len(p) for p in random_split(make_ds(3), [0.5, 0.25, 0.25], seed=0)] == [2, 1, 0]


def test_random_split_is_reproducible():
    a = random_split(make_ds(50), [0.8, 0.2], seed=5)
    b = random_split(make_ds(50), [0.8, 0.2], generator=np.random.default_rng(5))
    assert all(np.array_equal(p.indices, q.indices) for p, q in zip(a, b))
    redes.random.manual_seed(9)
    c = random_split(make_ds(50), [25, 25])
    redes.random.manual_seed(9)
    d = random_split(make_ds(50), [25, 25])
    assert np.array_equal(c[0].indices, d[0].indices)


def test_random_split_errors():
    with pytest.raises(ValueError, match="sum to the dataset length 10.*sum 9"):
        random_split(make_ds(10), [5, 4])
    with pytest.raises(ValueError, match="fractions"):
        random_split(make_ds(10), [0.5, 0.4])
    with pytest.raises(ValueError, match="fractions"):
        random_split(make_ds(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="empty"):
        random_split(make_ds(10), [])
