"""The one seam between the data layer and the engine: NumPy arrays <-> `redes.Tensor`.

The data layer works on NumPy arrays throughout and turns them into tensors
only here, once per batch, so swapping the conversion (say, for pinned or
device memory) means editing `to_tensor` alone. The data layer sits above
the engine: it imports the tensor factories, never the `redes` package itself.
"""

from __future__ import annotations

import numpy as np

from ..factories import as_tensor


def to_tensor(array):
    """Wrap a NumPy array as a `redes.Tensor` with the same dtype, without copying.

    Args:
        array: a `numpy.ndarray`.

    Returns:
        A `redes.Tensor` whose `.data` holds `array`'s values and dtype.

    Example:
        >>> t = to_tensor(np.zeros((2, 3), dtype=np.float64))
        >>> tuple(t.shape), t.dtype
        ((2, 3), dtype('float64'))
    """
    # as_tensor wraps without copying (the loader's batches are fresh copies
    # already); the explicit dtype keeps float64/int64 from becoming the default dtype.
    return as_tensor(array, dtype=array.dtype)


def to_numpy(value, name="value"):
    """Turn a `redes.Tensor`, array or nested list into a NumPy array.

    Args:
        value: a `redes.Tensor` (its `.data` is used, copied off a GPU if
            needed), a `numpy.ndarray`, or anything `numpy.asarray` takes.
        name: how to call `value` in an error message.

    Returns:
        A `numpy.ndarray` (no copy when `value` already is one).

    Example:
        >>> to_numpy([[1, 2], [3, 4]]).shape
        (2, 2)
    """
    if isinstance(value, np.ndarray):
        return value
    # A redes.Tensor keeps its array in .array (its .data is a Tensor view, as in torch).
    data = value if isinstance(value, np.generic) else getattr(value, "array", value)
    if isinstance(data, np.ndarray):
        return data
    if hasattr(data, "get") and not isinstance(data, dict):  # a CuPy array
        return data.get()
    try:
        return np.asarray(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: cannot make an array from {type(value).__name__} "
                        f"({exc})") from exc


def convert_batch(batch):
    """Turn every NumPy array leaf of a batch (tuple, list or dict) into a tensor.

    Non-array leaves (strings, `None`, tensors already) pass unchanged.

    Args:
        batch: a NumPy array, or a tuple/list/dict nesting them.

    Returns:
        The same structure with `redes.Tensor` in place of arrays.
    """
    if isinstance(batch, np.ndarray):
        return to_tensor(batch)
    if isinstance(batch, tuple):
        return tuple(convert_batch(b) for b in batch)
    if isinstance(batch, list):
        return [convert_batch(b) for b in batch]
    if isinstance(batch, dict):
        return {k: convert_batch(v) for k, v in batch.items()}
    return batch
