"""F.linear and F.bilinear: the affine maps behind nn.Linear and nn.Bilinear."""
from ...ops.linalg import LinearOp as _Linear
from ...tensor import Tensor

__all__ = ["linear", "bilinear"]


def linear(input, weight, bias=None):
    """y = input @ weight^T + bias, one fused op (a single GEMM; backward dx = dy W, dW = dy^T x, db = sum dy).

    Args: input (*, in_features); weight (out_features, in_features); bias (out_features) or None.
    Shape: (*, in_features) -> (*, out_features)
    Example:
        >>> F.linear(rd.ones(2, 3), rd.ones(4, 3)).shape
        (2, 4)
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"linear: input and weight must be Tensors, got {type(input).__name__} and "
                        f"{type(weight).__name__}")
    if weight.ndim != 2:
        raise RuntimeError(f"linear: weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}")
    if bias is None:
        return _Linear.apply(input, weight)
    if tuple(bias.shape) != (weight.shape[0],):
        raise RuntimeError(f"linear: bias must have shape ({weight.shape[0]},) to match weight{tuple(weight.shape)}, "
                           f"got {tuple(bias.shape)}")
    return _Linear.apply(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    """y_k = input1^T weight_k input2 + bias_k, for each output feature k.

    Args: input1 (*, in1_features); input2 (*, in2_features) with the same leading dims;
          weight (out_features, in1_features, in2_features); bias (out_features) or None.
    Shape: (*, in1), (*, in2) -> (*, out)
    Computed as one GEMM, (x1 @ W viewed as (in1, out*in2)) then a product with x2 summed over in2.
    """
    if weight.ndim != 3:
        raise RuntimeError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {tuple(weight.shape)}")
    out, n1, n2 = weight.shape
    if input1.shape[:-1] != input2.shape[:-1] or input1.shape[-1] != n1 or input2.shape[-1] != n2:
        raise RuntimeError(f"bilinear: expected input1 (*, {n1}) and input2 (*, {n2}) with equal leading dims, "
                           f"got {tuple(input1.shape)} and {tuple(input2.shape)}")
    lead = input1.shape[:-1]
    x1, x2 = input1.reshape(-1, n1), input2.reshape(-1, n2)
    t = (x1 @ weight.permute(1, 0, 2).reshape(n1, out * n2)).reshape(-1, out, n2)
    y = (t * x2.unsqueeze(1)).sum(-1)
    if bias is not None:
        y = y + bias
    return y.reshape(lead + (out,))
