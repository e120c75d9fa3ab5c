"""The twin device's tests turn on the engine's device mode; each module hands the process back to CPU-only mode."""
import pytest

from redes import backend


@pytest.fixture(autouse=True, scope="module")
def _back_to_cpu_only():
    yield
    backend.cpu_only()
