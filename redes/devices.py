"""rd.device: where a tensor lives, as torch.device, on a machine where redes computes on the CPU (NumPy).

The NumPy backend is the "cpu" device; the CuPy backend (rd.backend.set_backend("cupy")) is "cuda".
A device names a place; asking for one the active backend does not provide is refused where a tensor
would have to move there (Tensor.to, Module.to), with torch's message for a build without CUDA.

    rd.device("cpu") == "cpu"            # True: a device also compares equal to its string
    rd.device("cuda:1").index            # 1
"""
from . import backend as B

TYPES = ("cpu", "cuda", "mps", "xpu", "meta")


class device:  # noqa: N801  (torch's name)
    """A device: .type ('cpu', 'cuda', ...) and .index (None or an int), as torch.device.

    Args: type: 'cpu', 'cuda', 'cuda:1', or another device. index: the device number (optional).

    Unlike torch, a device also compares equal to its string ("cpu" == rd.device("cpu")), because
    redes' tensors reported their device as a string before this class existed.

    Example:
        >>> rd.device("cuda:1")
        device(type='cuda', index=1)
        >>> rd.zeros(2).device == rd.device("cpu") == "cpu"
        True
    """
    __slots__ = ("type", "index")

    def __init__(self, type, index=None):  # noqa: A002  (torch's argument name)
        if isinstance(type, device):
            if index is not None:
                raise ValueError(f"device: index given twice, in {type!r} and index={index!r}")
            type, index = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            type, index = "cuda", type                      # torch.device(0) means cuda:0
        elif not isinstance(type, str):
            raise TypeError(f"device: expected a string, a device or an int, got {type!r}")
        elif ":" in type:
            if index is not None:
                raise RuntimeError(f"device: type (string) must not include an index because index was passed "
                                   f"explicitly: {type}")
            type, _, number = type.partition(":")
            if not number.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}:{number}'")
            index = int(number)
        if type not in TYPES:
            raise RuntimeError(f"Expected one of {', '.join(TYPES)} device type at start of device string: {type}")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool) or index < 0):
            raise RuntimeError(f"Device index must not be negative, got {index!r}")
        self.type, self.index = type, index

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = device(other)
            except (RuntimeError, TypeError):
                return False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self):
        return hash((self.type, self.index))

    def __reduce__(self):
        return device, (self.type, self.index)

    def __enter__(self):
        """`with rd.device("cpu"):` as torch's default-device context; only the active backend's device."""
        check(self, "device")
        return self

    def __exit__(self, *exc):
        return False


def current():
    """The device of the active backend: cpu for NumPy, cuda for CuPy."""
    return device("cpu") if B.name == "numpy" else device("cuda")


def check(target, caller):
    """The device `target` (a string, device or int) as a device; an error if the active backend is elsewhere.

    As torch built without CUDA: asking for "cuda" on the NumPy backend raises
    "Torch not compiled with CUDA enabled"-style errors (here: RuntimeError, naming the caller).
    """
    d = device(target)
    here = current()
    if d.type != here.type:
        if d.type == "cuda":
            raise RuntimeError(f"{caller}: no CUDA here: redes runs on NumPy (the cpu device); to compute on a GPU, "
                               "call rd.backend.set_backend('cupy') before creating tensors "
                               "(torch says: 'Torch not compiled with CUDA enabled')")
        raise RuntimeError(f"{caller}: device {str(d)!r} is not available; this tensor lives on {here} "
                           f"(backend '{B.name}')")
    return d
