"""redes.nn: modules (layers) with parameters, as torch.nn. Stateless math lives in redes.nn.functional."""
from . import functional, init, utils
from .module import (Flatten, Identity, Module, ModuleDict, ModuleList, Parameter, ParameterDict, ParameterList,
                     Sequential, Unflatten)
from .activation import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .transformer import *  # noqa: F401,F403
from .blocks import *  # noqa: F401,F403
from .graph import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .padding import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403
from .adaptive import *  # noqa: F401,F403
from .lazy import *  # noqa: F401,F403
from . import parallel  # noqa: E402
from .parallel import DataParallel  # noqa: E402
