"""Shared by the conv and pooling ops: NCHW <-> NHWC views, padding, and strided views of kernel windows.

Tensors are NCHW at the API (as torch); conv and pooling work channels-last (NHWC), where a window's C
values are contiguous. A result is an NHWC buffer viewed as NCHW, so the next conv or pool reads it
without a transpose.
"""
from .. import backend as B


def _strided(a, shape, strides):
    return B.xp.lib.stride_tricks.as_strided(a, shape=shape, strides=strides)


def _nhwc(x):
    """(N, C, H, W) -> (N, H, W, C) view: contiguous when x came from a redes conv or pool."""
    return x.transpose(0, 2, 3, 1)


def _nchw(xh):
    return xh.transpose(0, 3, 1, 2)


def out_size(size, pad_lo, pad_hi, k, s, d, ceil_mode=False):
    """Output length of a window of k taps (dilation d) at stride s over size + pads (torch's formula)."""
    span = size + pad_lo + pad_hi - d * (k - 1) - 1
    if ceil_mode:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + pad_lo:        # the last window must start inside the input or left padding
            out -= 1
        return out
    return span // s + 1


def _pad(xh, pads, value=0.0):
    """(N, H, W, C) padded to (N, H+pt+pb, W+pl+pr, C) with value: a new array, borders written once."""
    (pt, pb), (pl, pr) = pads
    if not (pt or pb or pl or pr):
        return xh
    n, h, w, c = xh.shape
    out = B.xp.empty((n, h + pt + pb, w + pl + pr, c), xh.dtype)
    out[:, :pt] = value
    out[:, pt + h:] = value
    out[:, pt:pt + h, :pl] = value
    out[:, pt:pt + h, pl + w:] = value
    out[:, pt:pt + h, pl:pl + w] = xh
    return out


def _tap(a, i, j, stride, dil, ho, wo):
    """The (N, ho, wo, C) slice of padded a read by kernel tap (i, j): a[:, i*dh + sh*oh, j*dw + sw*ow]."""
    (sh, sw), (dh, dw) = stride, dil
    return a[:, i * dh: i * dh + sh * (ho - 1) + 1: sh, j * dw: j * dw + sw * (wo - 1) + 1: sw]
