"""Arrays without copies: DLPack both ways with NumPy and PyTorch, rd.from_numpy and Tensor.numpy() sharing memory.
Zero-copy is proven by writing through one side and reading the other."""
import numpy as np
import pytest

import redes as rd

torch = pytest.importorskip("torch")

DTYPES = [np.float32, np.float64, np.int64, np.bool_]


def _values(dtype):
    return np.array([[1, 0, 1], [0, 1, 1]], dtype=dtype)


def _other(dtype):
    return np.array(0 if dtype is np.bool_ else 9, dtype=dtype).item()


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_torch_reads_redes_tensor_without_copy(dtype):
    t = rd.tensor(_values(dtype))
    tt = torch.from_dlpack(t)
    assert str(tt.dtype) == f"torch.{np.dtype(dtype).name}" and tuple(tt.shape) == (2, 3)
    tt[0, 0] = _other(dtype)                                 # write through torch ...
    assert t.numpy()[0, 0] == _other(dtype)                  # ... read through redes
    t.numpy()[1, 2] = _other(dtype)
    assert tt[1, 2].item() == _other(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_redes_reads_torch_tensor_without_copy(dtype):
    tt = torch.from_numpy(_values(dtype).copy())
    t = rd.from_dlpack(tt)
    assert t.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(t.numpy(), tt.numpy())
    tt[1, 1] = _other(dtype)
    assert t.numpy()[1, 1] == _other(dtype)
    t.numpy()[0, 2] = _other(dtype)
    assert tt[0, 2].item() == _other(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_round_trips_share_memory(dtype):
    a = _values(dtype).copy()
    t = rd.from_numpy(a)                       # rd.from_numpy: no copy
    d = rd.from_dlpack(a)                      # NumPy as a DLPack producer: no copy
    back = np.from_dlpack(t)                   # redes as a DLPack producer for NumPy
    a[0, 1] = _other(dtype)
    for view in (t.numpy(), d.numpy(), back):
        assert view[0, 1] == _other(dtype)
    assert np.shares_memory(t.numpy(), a) and np.shares_memory(back, a)
    assert rd.from_dlpack(t).numpy() is t.numpy()           # a redes Tensor shares its array


def test_dlpack_device_and_views():
    t = rd.arange(12.0).reshape(3, 4)
    assert t.__dlpack_device__() == (1, 0)                   # kDLCPU, device 0
    col = t[:, 1]                                            # a strided view crosses as one
    tt = torch.from_dlpack(col)
    assert tt.stride() == (4,)
    tt += 100
    np.testing.assert_array_equal(t.numpy()[:, 1], [101.0, 105.0, 109.0])


def test_from_dlpack_and_from_numpy_refuse_other_objects():
    with pytest.raises(TypeError, match="from_dlpack: expected an object with __dlpack__"):
        rd.from_dlpack([1, 2])
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, got list"):
        rd.from_numpy([1, 2])
