"""Matrix functions over the last two dims (batched): inverse and det, and einsum (sums of products named by
subscripts). Products built from matmul (mm, bmm, addmm, kron, tensordot, ...) are compositions in
redes/composite.py; these three need a backward of their own.
"""
import string

from .. import backend as B
from ..autograd import ArrayMath, Function


def _square(x, op):
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise RuntimeError(f"{op}: expected a batch of square matrices (..., n, n), got shape {tuple(x.shape)}")


def _inv(m, x):
    return B.xp.linalg.inv(x) if m is ArrayMath else Inverse.apply(x)


class Inverse(Function):
    """Y = X^-1.  Backward: dX = -Y^T dY Y^T."""
    def forward(self, x):
        _square(x, "inverse")
        try:
            return B.xp.linalg.inv(x)
        except B.xp.linalg.LinAlgError:
            raise RuntimeError(f"inverse: a matrix of the input (shape {tuple(x.shape)}) is singular") from None

    def backward(self, m, dy, y, x):
        yt = m.swapaxes(y, -1, -2)
        return (-m.matmul(m.matmul(yt, dy), yt),)


class Det(Function):
    """y = det(X).  Backward: dX = dy y X^-T (Jacobi's formula; X must be invertible for the gradient)."""
    def forward(self, x):
        _square(x, "det")
        return B.xp.linalg.det(x)

    def backward(self, m, dy, y, x):
        scale = m.reshape(dy * y, dy.shape + (1, 1))
        return (scale * m.swapaxes(_inv(m, x), -1, -2),)


class PseudoInverse(Function):
    """P = A+ (Moore-Penrose, from the SVD; singular values below rcond * the largest count as 0).

    Backward (the rank of A held fixed), with G = dP:
      dA = -P^T G P^T + (I - A P) G^T P P^T + P^T P G^T (I - P A)
    """
    op = "pinverse"                 # the OPS key and torch's name
    def forward(self, x, rcond=1e-15):
        if x.ndim < 2:
            raise RuntimeError(f"pinverse: expected a matrix or a batch of them, got shape {tuple(x.shape)}")
        return B.xp.linalg.pinv(x, rcond=rcond)

    def backward(self, m, dy, y, x):
        mm, t = m.matmul, (lambda a: m.swapaxes(a, -1, -2))
        eye_rows = B.xp.eye(x.shape[-2], dtype=x.dtype)
        eye_cols = B.xp.eye(x.shape[-1], dtype=x.dtype)
        yt, dyt = t(y), t(dy)
        return (-mm(mm(yt, dy), yt) + mm(mm(eye_rows - mm(x, y), dyt), mm(y, yt))
                + mm(mm(mm(yt, y), dyt), eye_cols - mm(y, x)),)


def _expand_ellipsis(equation, shapes):
    """'...ij,...jk' -> explicit letters; returns (input subscripts, output subscripts)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: the equation {equation!r} names {len(inputs)} operands, got {len(shapes)}")
    free = [c for c in string.ascii_letters if c not in eq]
    ell = 0
    for sub, shape in zip(inputs, shapes):
        if "..." in sub:
            ell = max(ell, len(shape) - (len(sub) - 3))
    ell_letters = "".join(free[:ell])
    expanded = []
    for sub, shape in zip(inputs, shapes):
        if "..." in sub:
            n = len(shape) - (len(sub) - 3)
            sub = sub.replace("...", ell_letters[ell - n:])
        if len(sub) != len(shape):
            raise ValueError(f"einsum: subscripts {sub!r} do not match an operand of shape {tuple(shape)}")
        expanded.append(sub)
    if arrow:
        out = rhs.replace("...", ell_letters)
    else:                   # implicit output: the ellipsis dims, then the letters used once, in alphabetical order
        counts = "".join(expanded)
        out = ell_letters + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in ell_letters))
    return expanded, out


class Einsum(Function):
    """z = einsum(equation, *xs).  Backward: dx_i = einsum(dz with the other operands -> x_i's subscripts),
    broadcast over the letters only x_i has (they were summed)."""
    def forward(self, *xs, equation=""):
        self.subs, self.out = _expand_ellipsis(equation, [x.shape for x in xs])
        for s in self.subs:
            if len(set(s)) != len(s):
                raise NotImplementedError(f"einsum: a subscript repeated within one operand ({s!r}, a diagonal) is "
                                          "not supported; use torch.diagonal first")
        return B.xp.einsum(",".join(self.subs) + "->" + self.out, *xs)

    def backward(self, m, dz, z, *xs):
        grads = []
        for i, (x, need) in enumerate(zip(xs, self.needs)):
            if not need:
                grads.append(None)
                continue
            others = [(s, o) for j, (s, o) in enumerate(zip(self.subs, xs)) if j != i]
            known = self.out + "".join(s for s, _ in others)
            target = "".join(c for c in self.subs[i] if c in known)
            eq = ",".join([self.out] + [s for s, _ in others]) + "->" + target
            operands = [dz] + [o for _, o in others]
            g = B.xp.einsum(eq, *operands) if m is ArrayMath else Einsum.apply(*operands, equation=eq)
            if target != self.subs[i]:          # letters summed away in forward: the gradient is constant along them
                shape = tuple(x.shape[k] if c in target else 1 for k, c in enumerate(self.subs[i]))
                g = m.broadcast_to(m.reshape(g, shape), x.shape)
            grads.append(g)
        return tuple(grads)


OPS = {"inverse": Inverse, "det": Det, "pinverse": PseudoInverse, "einsum": Einsum}
