"""redes: a deep-learning framework you can read — one autograd engine for numbers, tensors and layers.

    import redes as rd
    x = rd.tensor(2.0, requires_grad=True)
    (x ** 2).backward()      # x.grad == 4
"""
from . import autograd, backend, cpu_tuning, dtypes, random
from .autograd import Function, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad, set_grad_enabled
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half, int, int8, int16,
                     int32, int64, long, set_default_dtype, short, uint8)
from .factories import (arange, as_tensor, empty, empty_like, eye, from_dlpack, from_numpy, full, full_like, linspace,
                        ones, ones_like, rand, rand_like, randint, randn, randn_like, randperm, tensor, zeros, zeros_like)
from .functions import *  # noqa: F401,F403  (rd.exp, rd.cat, rd.where, ...)
from .random import get_rng_state, manual_seed, seed, set_rng_state
from .tensor import Tensor
from .devices import device, get_default_device, set_default_device
from .generator import Generator
from .inference import inference_mode
from . import accelerator, amp, backends, cuda  # noqa: E402  (torch's layout: rd.cuda.is_available(), ...)
from .amp import autocast  # noqa: E402
from .ops import tensor_math as _tensor_math  # noqa: F401  (registers create_graph's math namespace with the engine)
from .testing import gradcheck
from .compile import compile  # noqa: A004  (rd.compile, as torch.compile)
from . import nn, optim  # noqa: E402  (after the engine: they build on it)
from . import data, io, onnx, train  # noqa: E402  (after nn and optim: they build on them)
from . import utils  # noqa: E402  (rd.utils.data: torch's name for redes.data)
from .io import load, load_checkpoint, save, save_checkpoint  # noqa: E402
from .train import evaluate, fit, predict  # noqa: E402
from . import distributed  # noqa: E402  (rd.distributed: MPI is imported only by rd.distributed.init())
from . import viz  # noqa: E402  (last: it draws all of the above)
from .viz import summary  # noqa: E402

from .version import __version__  # noqa: E402,F401

cpu_tuning.enable()     # glibc malloc keeps freed memory (REDES_CPU_TUNING=0 or REDES_MALLOC_TUNING=0: left alone)
