"""rd.device: where a tensor lives, as torch.device.

"cpu" computes with NumPy, "cuda" with CuPy (on a machine with an NVIDIA GPU and the gpu extra), and
"twin" is the CPU test device of redes.twin (arrays of their own type, computed by NumPy). A device names
a place; asking for one that this machine cannot provide is refused where a tensor would have to go there
(factories, Tensor.to, Module.to), with torch's message for a build without CUDA.

    rd.device("cpu") == "cpu"            # True: a device also compares equal to its string
    rd.device("cuda:1").index            # 1
"""
from . import backend as B

TYPES = ("cpu", "cuda", "mps", "xpu", "meta", "twin")


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
        """`with rd.device("twin"):` as torch's default-device context: factories create tensors there."""
        check(self, "device")
        _entered.append(B.default)
        B.set_default_device(self.type)
        return self

    def __exit__(self, *exc):
        B.set_default_device(_entered.pop().type)
        return False


_entered = []       # the default devices that `with rd.device(...)` blocks replaced, innermost last


def set_default_device(target):
    """Where factories create tensors from now on, as torch.set_default_device ('cpu', 'cuda', 'twin')."""
    B.set_default_device(check("cpu" if target is None else target, "set_default_device").type)


def get_default_device():
    return current()


def current():
    """The default device: where factories create tensors (cpu unless rd.set_default_device said otherwise)."""
    return device(B.default.type)


def of(array):
    """The device of a backend array."""
    b = B.backend_of(array)
    return device(b.type if b is not None else "cpu")


def check(target, caller):
    """The device `target` (a string, device or int) as a device, after making sure redes can compute there.

    As torch built without CUDA: asking for "cuda" where CuPy or a GPU is missing raises a RuntimeError
    naming the caller ("no CUDA here"); "mps", "xpu" and "meta" are named but never available.
    """
    d = device(target)
    if d.type == "cpu":
        return d
    try:
        B.get(d.type)
    except RuntimeError as exc:
        if d.type == "cuda":
            raise RuntimeError(f"{caller}: no CUDA here: {exc} (torch says: 'Torch not compiled with CUDA "
                               "enabled')") from None
        raise RuntimeError(f"{caller}: device {str(d)!r} is not available: redes computes on 'cpu', 'cuda' (CuPy) "
                           "and 'twin' (the CPU test device)") from None
    return d
