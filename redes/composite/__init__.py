"""Tensor functions built from the differentiable ops: PyTorch's sorting, scanning, indexing, shape and linear
algebra functions (torch.sort, torch.topk, torch.cumprod, torch.index_copy, torch.kron, ...).

Each is a composition, so its gradient (and second derivative) comes from ops already checked against PyTorch:
positions are found on the arrays (argsort, nonzero, ...), then values are read with gather / indexing, which
route the gradient back. Tensor methods and the rd.* functions both call these.
"""
from .selection import (  # noqa: F401
    aminmax, argsort, count_nonzero, cummax, cummin, cumprod, kthvalue, logcumsumexp, median, mode, msort,
    nanmean, nanmedian, nanquantile, nansum, quantile, sort, std_mean, topk, var_mean)
from .shape import (  # noqa: F401
    argwhere, atleast_1d, atleast_2d, atleast_3d, column_stack, dsplit, dstack, fliplr, flipud, hsplit,
    hstack, index_add, index_copy, index_fill, index_put, masked_scatter, masked_select, movedim, nonzero,
    put, repeat_interleave, rot90, scatter, scatter_reduce, select, take, take_along_dim, tensor_split,
    unfold, vsplit, vstack)
from .linalg import (  # noqa: F401
    addbmm, addcdiv, addcmul, addmm, addmv, addr, baddbmm, block_diag, bmm, cartesian_prod, cdist,
    cholesky_inverse, cholesky_solve, combinations, cross, det, diag, diag_embed, diagflat, diagonal,
    diagonal_scatter, dist, dot, einsum, inner, inverse, kron, logdet, matrix_exp, matrix_power, meshgrid,
    mm, mv, outer, select_scatter, slice_scatter, slogdet, tensordot, trace, tril_indices, triu_indices,
    vdot)
from .counting import (  # noqa: F401
    bincount, broadcast_shapes, broadcast_tensors, bucketize, corrcoef, cov, cumulative_trapezoid, diff,
    frexp, gradient, histc, histogram, renorm, searchsorted, sum_to_size, trapezoid, trapz, unique,
    unique_consecutive, vander)


import sys  # noqa: E402
from ..tensor import register_compositions  # noqa: E402
register_compositions(composite=sys.modules[__name__])   # Tensor's composite methods call this module
