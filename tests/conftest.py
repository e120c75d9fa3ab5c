import numpy as np
import pytest

import redes as rd


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same random state."""
    rd.manual_seed(0)
    np.random.seed(0)
    yield
