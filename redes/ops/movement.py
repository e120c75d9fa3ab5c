"""Movement ops: views, copies and index ops. Their backward moves gradients back to where values came from."""
from .. import backend as B
from ..autograd import Function, unbroadcast, _scatter_add_into


class Reshape(Function):
    """y = x viewed with another shape.  Backward: dx = dy reshaped back."""
    def forward(self, x, shape=()):
        try:
            return x.reshape(shape)
        except ValueError:
            raise RuntimeError(f"reshape: shape {tuple(shape)} is invalid for input of shape {tuple(x.shape)} "
                               f"({x.size} elements)") from None

    def backward(self, m, dy, y, x):
        return (m.reshape(dy, x.shape),)


class Expand(Function):
    """y = x broadcast to a larger shape (a view).  Backward: dx = dy summed over the broadcast dims."""
    def forward(self, x, shape=()):
        try:
            return B.xp.broadcast_to(x, shape)
        except ValueError:
            raise RuntimeError(f"expand: shape {tuple(x.shape)} cannot be broadcast to {tuple(shape)}: each dim "
                               "must match or be 1 (new dims go in front)") from None

    def backward(self, m, dy, y, x):
        return (unbroadcast(m, dy, x.shape),)


class Permute(Function):
    """y = x with dims reordered.  Backward: dx = dy with the inverse order."""
    def forward(self, x, axes=()):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, m, dy, y, x):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return (m.transpose(dy, tuple(inverse)),)


class Tile(Function):
    """y = x repeated reps[i] times along dim i (torch.repeat).  Backward: dx = dy folded and summed over copies."""
    def forward(self, x, reps=()):
        self.reps = (1,) * (x.ndim - len(reps)) + tuple(reps)           # torch.tile pads reps in front
        return B.xp.tile(x, self.reps)

    def backward(self, m, dy, y, x):
        shape = (1,) * (len(self.reps) - x.ndim) + tuple(x.shape)
        folded = tuple(v for r, s in zip(self.reps, shape) for v in (r, s))   # dy as (r0, s0, r1, s1, ...)
        g = m.sum(m.reshape(dy, folded), tuple(range(0, 2 * len(shape), 2)))
        return (m.reshape(g, x.shape),)


class Clone(Function):
    """y = a copy of x.  Backward: dx = dy."""
    def forward(self, x):
        return x.copy()

    def backward(self, m, dy, y, x):
        return (dy,)


class Flip(Function):
    """y = x reversed along dims.  Backward: dx = dy reversed again."""
    def forward(self, x, axes=()):
        self.axes = axes
        return B.xp.flip(x, axes)

    def backward(self, m, dy, y, x):
        return (m.flip(dy, self.axes),)


class Roll(Function):
    """y = x rolled by shifts along dims (flattened when dims is None).  Backward: dx = dy rolled back."""
    def forward(self, x, shifts=0, axes=None):
        self.shifts, self.axes = shifts, axes
        return B.xp.roll(x, shifts, axes)

    def backward(self, m, dy, y, x):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (m.roll(dy, back, self.axes),)


class Cat(Function):
    """y = the inputs joined along axis.  Backward: each input gets its slice of dy."""
    def forward(self, *xs, axis=0):
        self.axis = axis
        try:
            return B.xp.concatenate(xs, axis=axis)
        except ValueError:
            raise RuntimeError(f"cat: shapes {[tuple(x.shape) for x in xs]} must match except in dim {axis}") from None

    def backward(self, m, dy, y, *xs):
        grads, start = [], 0
        lead = (slice(None),) * self.axis
        for x, need in zip(xs, self.needs):
            stop = start + x.shape[self.axis]
            grads.append(m.getitem(dy, lead + (slice(start, stop),)) if need else None)
            start = stop
        return tuple(grads)


class Stack(Function):
    """y = the inputs stacked along a new dim.  Backward: input i gets dy[..., i, ...]."""
    def forward(self, *xs, axis=0):
        self.axis = axis
        try:
            return B.xp.stack(xs, axis=axis)
        except ValueError:
            raise RuntimeError(f"stack: all shapes must be equal, got {[tuple(x.shape) for x in xs]}") from None

    def backward(self, m, dy, y, *xs):
        lead = (slice(None),) * self.axis
        return tuple(m.getitem(dy, lead + (i,)) if need else None for i, need in enumerate(self.needs))


class ConstantPad(Function):
    """y = x padded with a constant (widths per dim, (before, after)).  Backward: dx = the inner slice of dy."""
    def forward(self, x, widths=(), value=0.0):
        self.widths = widths
        return B.xp.pad(x, widths, constant_values=value)

    def backward(self, m, dy, y, x):
        return (m.getitem(dy, tuple(slice(lo, lo + s) for (lo, hi), s in zip(self.widths, x.shape))),)


def _index_error(op, error, x, index):
    """IndexError of gather / scatter_add, naming the op, the dim and both shapes (NumPy says 'axis')."""
    return IndexError(f"{op}: {str(error).replace('axis', 'dim')} (input shape {tuple(x.shape)}, "
                      f"index shape {tuple(index.shape)})")


class GetItem(Function):
    """y = x[index] (basic or advanced indexing).  Backward: dx = zeros with dy added at index (repeats add up)."""
    def forward(self, x, index=()):
        self.index = index
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(f"getitem: {str(e).replace('axis', 'dim')} (tensor shape {tuple(x.shape)})") from None

    def backward(self, m, dy, y, x):
        return (m.index_add(x.shape, self.index, dy),)


class IndexAdd(Function):
    """y = zeros(shape) with x added at index (the backward of GetItem).  Backward: dx = dy[index]."""
    def forward(self, x, shape=(), index=()):
        self.index = index
        out = B.xp.zeros(shape, x.dtype)
        B.xp.add.at(out, index, x)
        return out

    def backward(self, m, dy, y, x):
        return (m.getitem(dy, self.index),)


class Gather(Function):
    """y[i][j] = x[index[i][j]][j] for dim 0 (torch.gather).  Backward: dx = dy scatter-added at index."""
    def forward(self, x, axis=0, index=None):
        self.axis, self.index = axis, index
        if index.ndim != x.ndim:
            raise RuntimeError(f"gather: index has {index.ndim} dims but input has {x.ndim} (shape {tuple(x.shape)})")
        part = x[tuple(slice(None) if d == axis else slice(0, s) for d, s in enumerate(index.shape))]
        try:
            return B.xp.take_along_axis(part, index, axis=axis)
        except IndexError as e:
            raise _index_error("gather", e, x, index) from None

    def backward(self, m, dy, y, x):
        return (m.scatter_add(x.shape, self.axis, self.index, dy),)


class ScatterAdd(Function):
    """y = x, then y[index[i][j]][j] += src[i][j] for dim 0 (torch.scatter_add).

    Backward: dx = dy, dsrc = dy gathered at index.
    """
    def forward(self, x, src, axis=0, index=None):
        self.axis, self.index = axis, index
        out = x.copy()
        try:
            _scatter_add_into(out, axis, index, src)
        except IndexError as e:
            raise _index_error("scatter_add", e, x, index) from None
        return out

    def backward(self, m, dy, y, x, src):
        dsrc = None
        if self.needs[1]:
            dsrc = m.gather(dy, self.axis, self.index)
            if dsrc.shape != src.shape:
                dsrc = m.pad_constant(dsrc, [(0, s - i) for s, i in zip(src.shape, dsrc.shape)])
        return (dy if self.needs[0] else None), dsrc


class MaskedFill(Function):
    """y = value where mask else x.  Backward: dx = dy where not mask."""
    def forward(self, x, mask=None, value=0.0):
        self.mask = mask
        try:
            return B.xp.where(mask, B.xp.asarray(value, dtype=x.dtype), x)
        except ValueError:
            raise RuntimeError(f"masked_fill: mask of shape {tuple(mask.shape)} cannot be broadcast to the input's "
                               f"shape {tuple(x.shape)}") from None

    def backward(self, m, dy, y, x):
        return (unbroadcast(m, m.where(self.mask, 0.0, dy), x.shape),)


class Tril(Function):
    """y = lower triangle of the last two dims (k-th diagonal and below).  Backward: dx = tril(dy)."""
    def forward(self, x, k=0):
        self.k = k
        return B.xp.tril(x, k)

    def backward(self, m, dy, y, x):
        return (m.tril(dy, self.k),)


class Triu(Function):
    """y = upper triangle of the last two dims (k-th diagonal and above).  Backward: dx = triu(dy)."""
    def forward(self, x, k=0):
        self.k = k
        return B.xp.triu(x, k)

    def backward(self, m, dy, y, x):
        return (m.triu(dy, self.k),)


OPS = {"reshape": Reshape, "expand": Expand, "permute": Permute, "tile": Tile, "clone": Clone, "flip": Flip, "roll": Roll,
       "cat": Cat, "stack": Stack, "constant_pad": ConstantPad, "getitem": GetItem, "index_add": IndexAdd,
       "gather": Gather, "scatter_add": ScatterAdd, "masked_fill": MaskedFill, "tril": Tril, "triu": Triu}
