"""dtypes, named as in PyTorch. They are NumPy dtypes, so `t.dtype == rd.float32` and `t.numpy().dtype` agree."""
import numpy as np

float16 = half = np.dtype("float16")
float32 = float = np.dtype("float32")
float64 = double = np.dtype("float64")
int8 = np.dtype("int8")
int16 = short = np.dtype("int16")
int32 = int = np.dtype("int32")
int64 = long = np.dtype("int64")
uint8 = np.dtype("uint8")
bool = np.dtype("bool")

_default = [float32]


def get_default_dtype():
    """The dtype Python floats become (float32 unless changed)."""
    return _default[0]


def set_default_dtype(dtype) -> None:
    """Make Python floats and new float tensors use `dtype` (float32 or float64), as torch.set_default_dtype."""
    d = as_dtype(dtype)
    if d.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {d}")
    _default[0] = d


def as_dtype(dtype):
    """Normalise a dtype given as rd.float32, np.float32, 'float32' or a Python type."""
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; use rd.float32, rd.float64, rd.int64, rd.bool, ...") from None


def is_floating(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
