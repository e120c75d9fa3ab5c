"""Padding layers, as torch.nn: Zero/Constant/Reflection/Replication/CircularPad{1,2,3}d, each over F.pad.

`padding` is an int (the same on every side) or a tuple (left, right[, top, bottom[, front, back]]) for the
last 1, 2 or 3 dims, as torch.
"""
from . import functional as F
from .module import Module

__all__ = [f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")
           for n in (1, 2, 3)]


class _PadNd(Module):
    """Shared constructor (padding checked and stored as a 2n-tuple) and forward of the padding layers."""
    n, mode = 1, "constant"

    def __init__(self, padding, value=0.0):
        super().__init__()
        name, width = type(self).__name__, 2 * self.n
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = (padding,) * width
        if not isinstance(padding, (tuple, list)) or len(padding) != width or \
                not all(isinstance(p, int) and not isinstance(p, bool) for p in padding):
            raise ValueError(f"{name}: padding must be an int or a {width}-tuple of ints, got {padding!r}")
        self.padding, self.value = tuple(padding), value

    def forward(self, input):
        n, name = self.n, type(self).__name__
        if input.ndim not in (n + 1, n + 2):
            raise ValueError(f"{name}: expected a {n + 1}-D or {n + 2}-D input, got shape {tuple(input.shape)}")
        return F.pad(input, self.padding, self.mode, self.value)

    def extra_repr(self):
        return f"{self.padding}"


def _make(kind, mode, n):
    doc = {"Zero": "zeros", "Constant": "a constant `value`", "Reflection": "the mirror image (edge not repeated)",
           "Replication": "copies of the edge", "Circular": "the wrapped-around input"}[kind]
    args = "1, 0.5" if kind == "Constant" else "1"
    attrs = {"n": n, "mode": mode, "__module__": __name__,
             "__doc__": f"Pads the last {n} dim(s) with {doc}.  Shape: (N, C, *{n} dims) -> padded.\n\n"
                        f"    Example:\n        >>> rd.nn.{kind}Pad{n}d({args})(rd.ones(1, 2{', 3' * n})).shape\n"
                        f"        (1, 2{', 5' * n})\n"}
    if kind == "Constant":
        attrs["__init__"] = lambda self, padding, value: _PadNd.__init__(self, padding, value)
        attrs["extra_repr"] = lambda self: f"padding={self.padding}, value={self.value}"
    elif kind == "Zero":
        attrs["__init__"] = lambda self, padding: _PadNd.__init__(self, padding)
    else:
        attrs["__init__"] = lambda self, padding: _PadNd.__init__(self, padding)
    return type(f"{kind}Pad{n}d", (_PadNd,), attrs)


for _kind, _mode in (("Zero", "constant"), ("Constant", "constant"), ("Reflection", "reflect"),
                     ("Replication", "replicate"), ("Circular", "circular")):
    for _n in (1, 2, 3):
        globals()[f"{_kind}Pad{_n}d"] = _make(_kind, _mode, _n)
