"""The Example blocks of the layer and F files added for torch.nn coverage run as doctests."""
import doctest
import importlib

import pytest

import redes as rd
import redes.nn.functional as F

MODULES = ["redes.nn.padding", "redes.nn.distance", "redes.nn.vision", "redes.nn.lazy", "redes.nn.adaptive",
           "redes.nn.losses", "redes.nn.functional.distance", "redes.nn.functional.vision",
           "redes.nn.functional.pooling_nd", "redes.nn.functional.margin_loss", "redes.nn.functional.likelihood",
           "redes.nn.functional.conv_nd", "redes.nn.functional.window"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), extraglobs={"rd": rd, "F": F})
    assert result.failed == 0, f"{name}: {result.failed} docstring example(s) failed"
