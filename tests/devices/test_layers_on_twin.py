"""The layer comparisons with torch, with redes on the twin device: the same tests as tests/nn, the redes module
and its inputs moved to "twin" by tests/nn/helpers (DEVICE), every result checked to stay there.

Tests that read redes results with .numpy() are CPU tests by construction (as torch, .numpy() of a
tensor on another device raises): they are left out here, and so are the docstring runs."""
import inspect

import pytest

import redes as rd

from tests.nn import helpers
from tests.nn.test_activation import *  # noqa: F401,F403
from tests.nn.test_attention import *  # noqa: F401,F403
from tests.nn.test_blocks import *  # noqa: F401,F403
from tests.nn.test_conv import *  # noqa: F401,F403
from tests.nn.test_embedding import *  # noqa: F401,F403
from tests.nn.test_linear import *  # noqa: F401,F403
from tests.nn.test_losses import *  # noqa: F401,F403
from tests.nn.test_norm import *  # noqa: F401,F403
from tests.nn.test_pooling import *  # noqa: F401,F403
from tests.nn.test_transformer import *  # noqa: F401,F403


del test_every_norm_op_is_gradchecked    # noqa: F821  (hands host NumPy arrays to ops directly: a CPU test)
for _name, _test in list(globals().items()):
    if _name.startswith("test_") and (".numpy()" in inspect.getsource(_test) or "doctest" in _name):
        del globals()[_name]


@pytest.fixture(autouse=True)
def _on_twin(monkeypatch):
    """The redes side on twin: the compared modules and inputs (helpers.DEVICE), and what the tests make
    themselves (weights, targets, masks) through the default device, as torch.set_default_device."""
    monkeypatch.setattr(helpers, "DEVICE", "twin")
    rd.set_default_device("twin")
    yield
    rd.set_default_device("cpu")
