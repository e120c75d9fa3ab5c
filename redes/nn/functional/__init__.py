"""redes.nn.functional (import as F): stateless layer math and losses, as torch.nn.functional.

Each file holds one family; layers in redes.nn call these functions.
"""
from ...functions import one_hot, pad  # noqa: F401
from .activation import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .conv_nd import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403
from .pooling_nd import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .attention import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .margin_loss import *  # noqa: F401,F403
from .likelihood import *  # noqa: F401,F403
from .distance import *  # noqa: F401,F403
from .vision import *  # noqa: F401,F403
