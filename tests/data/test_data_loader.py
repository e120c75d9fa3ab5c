"""Dataset, TensorDataset, Subset, DataLoader, default_collate and random_split."""

import math

import numpy as np
import pytest

import redes
import redes as rd
import redes.random
from redes.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    WeightedRandomSampler,
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


# --------------------------------------------------------------------------- torch's samplers and DataLoader arguments
def _torch():
    return pytest.importorskip("torch")


def _batches(loader):
    return [[np.asarray(t).tolist() for t in b] if isinstance(b, (list, tuple)) else np.asarray(b).tolist()
            for b in loader]


@pytest.mark.parametrize("kw", [dict(batch_size=3), dict(batch_size=4, drop_last=True), dict(batch_size=None),
                                dict(batch_size=2, sampler=[5, 1, 1, 7]), dict(batch_sampler=[[0, 2], [9], [3, 4, 5]]),
                                dict(batch_size=3, num_workers=2, persistent_workers=True,
                                     prefetch_factor=2, timeout=5)],
                         ids=["batch3", "drop_last", "no_batching", "sampler", "batch_sampler", "worker_args"])
def test_deterministic_loaders_match_torch(kw):
    torch = _torch()
    x, y = np.arange(30.0).reshape(10, 3), np.arange(10)
    ours = DataLoader(TensorDataset(x, y), **kw)
    ref = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), **kw)
    assert len(ours) == len(ref)
    assert _batches(ours) == _batches(ref)
    if kw.get("batch_size", 1) is not None:
        assert all(isinstance(t, rd.Tensor) for b in ours for t in b)


def test_samplers_follow_torch_semantics():
    torch = _torch()
    T = torch.utils.data
    data = list(range(7))
    assert list(SequentialSampler(data)) == list(T.SequentialSampler(data))
    for kw in (dict(), dict(num_samples=17), dict(replacement=True, num_samples=40)):
        ours, ref = RandomSampler(data, **kw), T.RandomSampler(data, **kw)
        assert len(ours) == len(ref) and len(list(ours)) == len(list(ref))
        assert set(ours) <= set(data)
    assert sorted(RandomSampler(data)) == data
    counts = np.bincount(list(RandomSampler(data, num_samples=17)), minlength=7)
    assert counts.sum() == 17 and set(counts.tolist()) == {2, 3}     # two whole permutations, then 3 of a third
    assert sorted(SubsetRandomSampler([3, 9, 4])) == [3, 4, 9]
    w = [0.0, 2.0, 0.0, 1.0, 0.0]
    assert set(WeightedRandomSampler(w, 50)) <= {1, 3} and len(WeightedRandomSampler(w, 50)) == 50
    assert sorted(WeightedRandomSampler(w, 2, replacement=False)) == [1, 3]
    for drop in (False, True):
        assert list(BatchSampler(SequentialSampler(data), 3, drop)) == list(T.BatchSampler(T.SequentialSampler(data),
                                                                                             3, drop))
        assert len(BatchSampler(range(7), 3, drop)) == len(T.BatchSampler(range(7), 3, drop))


def test_random_sampler_uses_the_generator_and_the_global_seed():
    g1, g2 = rd.Generator().manual_seed(3), rd.Generator().manual_seed(3)
    assert list(RandomSampler(range(20), generator=g1)) == list(RandomSampler(range(20), generator=g2))
    rd.manual_seed(5)
    a = [np.asarray(b[0]).tolist() for b in DataLoader(TensorDataset(np.arange(9)), batch_size=4, shuffle=True)]
    rd.manual_seed(5)
    b = [np.asarray(b[0]).tolist() for b in DataLoader(TensorDataset(np.arange(9)), batch_size=4, shuffle=True)]
    assert a == b and sorted(sum(a, [])) == list(range(9))
    weighted = DataLoader(TensorDataset(np.arange(4)), batch_size=5,
                          sampler=WeightedRandomSampler([1, 0, 0, 1], 10, generator=np.random.default_rng(0)))
    (batch0,), (batch1,) = list(weighted)
    assert set(np.asarray(batch0).tolist() + np.asarray(batch1).tolist()) <= {0, 3}


def test_worker_init_fn_collate_fn_and_concat_dataset():
    assert len(list(DataLoader(TensorDataset(np.zeros(4)), batch_size=2, pin_memory=True))) == 2   # a no-op on CPU
    calls = []
    ds = ConcatDataset([TensorDataset(np.arange(3.0)), TensorDataset(np.arange(10.0, 12.0))])
    assert len(ds) == 5 and ds[3][0] == 10.0 and ds[-1][0] == 11.0 and ds.cumulative_sizes == [3, 5]
    loader = DataLoader(ds, batch_size=2, num_workers=2, worker_init_fn=calls.append, persistent_workers=True,
                        collate_fn=lambda rows: rd.tensor([r[0] for r in rows]) * 2)
    assert [b.tolist() for b in loader] == [[0.0, 2.0], [4.0, 20.0], [22.0]]
    list(loader)
    assert calls == [0]                                        # once: the "workers" persist across epochs
    with pytest.raises(IndexError, match="out of range"):
        ds[5]


def test_torch_style_loader_errors():
    ds = TensorDataset(np.zeros(4))
    for kw, message in [(dict(sampler=[0, 1], shuffle=True), "mutually exclusive with shuffle"),
                        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
                        (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
                        (dict(num_workers=-1), "num_workers option should be non-negative"),
                        (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
                        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
                        (dict(timeout=-1), "timeout option should be non-negative")]:
        with pytest.raises(ValueError, match=message):
            DataLoader(ds, **kw)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        RandomSampler(ds, num_samples=0)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(ds, replacement=1)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        WeightedRandomSampler([[1.0]], 2)
    with pytest.raises(ValueError, match="without replacement from 1 non-zero weights"):
        WeightedRandomSampler([1.0, 0.0], 2, replacement=False)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="should not be an empty iterable"):
        ConcatDataset([])


def test_iterable_dataset_loader_matches_torch():
    torch = _torch()
    streams = {}
    for lib in (rd, torch):
        class Stream(lib.utils.data.IterableDataset):
            def __init__(self, n):
                self.n = n

            def __iter__(self):
                return ((np.float32(i), np.int64(i % 3)) for i in range(self.n))

            def __len__(self):
                return self.n
        streams[lib.__name__] = Stream
    for kw in (dict(batch_size=4), dict(batch_size=4, drop_last=True), dict(batch_size=None)):
        ours, ref = DataLoader(streams["redes"](10), **kw), torch.utils.data.DataLoader(streams["torch"](10), **kw)
        assert len(ours) == len(ref) and _batches(ours) == _batches(ref)
    chained = DataLoader(streams["redes"](3) + streams["redes"](2), batch_size=2)
    assert [np.asarray(x).tolist() for x, _ in chained] == [[0.0, 1.0], [2.0, 0.0], [1.0]]
    with pytest.raises(ValueError, match="IterableDataset: expected unspecified shuffle option"):
        DataLoader(streams["redes"](3), shuffle=True)


def test_utils_data_is_torch_layout():
    import redes.utils.data as D
    from redes.utils.data import DataLoader as DL
    assert DL is DataLoader and D.RandomSampler is RandomSampler and D.get_worker_info() is None
    torch = _torch()
    missing = [n for n in ("BatchSampler", "ChainDataset", "IterableDataset", "ConcatDataset", "DataLoader",
                           "Dataset", "RandomSampler", "Sampler",
                           "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset",
                           "WeightedRandomSampler", "default_collate", "get_worker_info", "random_split")
               if not hasattr(D, n) or not hasattr(torch.utils.data, n)]
    assert not missing
