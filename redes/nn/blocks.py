"""Building blocks of the lecture's acyclic architectures: Residual (y = body(x) + shortcut(x)), the ResNet
BasicBlock, and the GoogLeNet Inception module (parallel branches concatenated on channels).

Each is a plain Module made of the ordinary layers, so it trains, saves and prints like any other.
"""
from ..functions import cat
from .activation import ReLU
from .conv import Conv2d
from .module import Identity, Module, Sequential
from .norm import BatchNorm2d
from .pooling import MaxPool2d

__all__ = ["Residual", "BasicBlock", "Inception"]


class Residual(Module):
    """y = body(x) + shortcut(x): a skip connection around any module (He et al. 2016).

    The identity shortcut (default) passes the gradient through unchanged: dL/dx = dL/dy + dL/dy · dbody/dx,
    so even a deep stack of blocks keeps a direct path for gradients.

    Args:
        body: the module on the main path; its output must have the shortcut's output shape.
        shortcut: the module on the skip path (e.g. a 1x1 conv when shapes change); None = identity.
    Shape: whatever body maps (*) to; body(x) and shortcut(x) must have the same shape.
    Example:
        >>> block = rd.nn.Residual(rd.nn.Sequential(rd.nn.Linear(4, 4), rd.nn.ReLU()))
        >>> block(rd.randn(2, 4)).shape
        (2, 4)
    """
    def __init__(self, body, shortcut=None):
        for name, m in (("body", body), ("shortcut", shortcut)):
            if m is not None and not isinstance(m, Module):
                raise TypeError(f"Residual: {name} must be a Module, got {type(m).__name__}")
        super().__init__()
        self.body = body
        self.shortcut = shortcut if shortcut is not None else Identity()

    def forward(self, x):
        y, s = self.body(x), self.shortcut(x)
        if y.shape != s.shape:
            raise RuntimeError(f"Residual: body output {tuple(y.shape)} and shortcut output {tuple(s.shape)} "
                               "differ; give a shortcut that maps the input to the body's output shape")
        return y + s


class BasicBlock(Module):
    """The ResNet basic block (He et al. 2016, fig. 2), with torchvision's layer names:

        y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

    conv1 is 3x3 with `stride`, conv2 3x3 (both padding 1, no bias: BatchNorm follows). The shortcut is the
    identity, or `downsample` = 1x1 conv (stride) + BatchNorm when the shape changes (stride != 1 or
    in_channels != out_channels).

    Args:
        in_channels, out_channels: channels of x and of y. stride: of conv1 and the shortcut (2 halves H, W).
    Shape: (N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride)).
    Parameters: 9 in out + 9 out^2 + 4 out (two BatchNorms) [+ in out + 2 out for the downsample].
    Example:
        >>> rd.nn.BasicBlock(16, 32, stride=2)(rd.randn(2, 16, 8, 8)).shape
        (2, 32, 4, 4)
    """
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, *, rng=None):
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels), ("stride", stride)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"BasicBlock: {name} must be a positive integer, got {name}={v!r}")
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False, rng=rng)
        self.bn1 = BatchNorm2d(out_channels)
        self.relu = ReLU()
        self.conv2 = Conv2d(out_channels, out_channels, 3, padding=1, bias=False, rng=rng)
        self.bn2 = BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride, bias=False, rng=rng),
                                         BatchNorm2d(out_channels))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    def extra_repr(self):
        return f"{self.in_channels}, {self.out_channels}" + (f", stride={self.stride}" if self.stride != 1 else "")


class Inception(Module):
    """GoogLeNet's Inception module (Szegedy et al. 2015, fig. 2b): four parallel branches, concatenated on channels.

        branch1: 1x1 conv -> ch1x1                         branch2: 1x1 conv -> ch3x3red, 3x3 conv -> ch3x3
        branch3: 1x1 conv -> ch5x5red, 5x5 conv -> ch5x5    branch4: 3x3 max pool (stride 1), 1x1 conv -> pool_proj
        y = cat([branch1(x), branch2(x), branch3(x), branch4(x)], dim=1)

    Every conv has a bias and is followed by ReLU, as in the paper; padding keeps H and W. (torchvision's
    GoogLeNet uses a 3x3 conv in branch3 and BatchNorm; this follows the paper's 5x5.)

    Args: in_channels, then the channel counts of the paper's table 1 columns, in its order.
    Shape: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W).
    Example:
        >>> rd.nn.Inception(192, 64, 96, 128, 16, 32, 32)(rd.randn(1, 192, 8, 8)).shape   # inception (3a)
        (1, 256, 8, 8)
    """
    def __init__(self, in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, *, rng=None):
        sizes = dict(in_channels=in_channels, ch1x1=ch1x1, ch3x3red=ch3x3red, ch3x3=ch3x3, ch5x5red=ch5x5red,
                     ch5x5=ch5x5, pool_proj=pool_proj)
        for name, v in sizes.items():
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"Inception: {name} must be a positive integer, got {name}={v!r}")
        super().__init__()

        def conv(cin, cout, k):
            return [Conv2d(cin, cout, k, padding=k // 2, rng=rng), ReLU()]
        self.branch1 = Sequential(*conv(in_channels, ch1x1, 1))
        self.branch2 = Sequential(*conv(in_channels, ch3x3red, 1), *conv(ch3x3red, ch3x3, 3))
        self.branch3 = Sequential(*conv(in_channels, ch5x5red, 1), *conv(ch5x5red, ch5x5, 5))
        self.branch4 = Sequential(MaxPool2d(3, stride=1, padding=1), *conv(in_channels, pool_proj, 1))
        self.in_channels, self.out_channels = in_channels, ch1x1 + ch3x3 + ch5x5 + pool_proj

    def forward(self, x):
        return cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)

    def extra_repr(self):
        return f"in_channels={self.in_channels}, out_channels={self.out_channels}"
