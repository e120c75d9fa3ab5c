"""max_unpool's write: values put at given flat positions of a zero tensor (repeated positions are written,
not added, as torch)."""
from .. import backend as B
from ..autograd import Function


class MaxUnpool(Function):
    """y = zeros(N, C, size); y[n, c, index[n, c, i]] = x[n, c, i].

    Backward: dx = dy gathered at index (every writer of a position gets that position's gradient, as torch).
    """
    def forward(self, x, index=None, size=0):
        self.index = index
        y = B.xp.zeros(x.shape[:2] + (size,), x.dtype)
        B.xp.put_along_axis(y, index, x, axis=2)
        return y

    def backward(self, m, dy, y, x):
        return (m.gather(dy, 2, self.index),)


OPS = {"max_unpool": MaxUnpool}
