"""rd.backends: torch.backends' switches (cudnn, cuda, mps), kept so that programs setting them run unchanged.

redes has no cuDNN or Metal: the flags are stored and read back, and change nothing.
"""
from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
