"""The GPU suite: the op table, the layer comparisons and a short training on device "cuda" (CuPy), against
PyTorch. Skipped, with the reason, where CuPy or a CUDA GPU is missing (the twin device's suite in
tests/devices then carries the device plumbing's proof on the CPU)."""
import pytest

from redes import backend


def why_no_gpu():
    try:
        import cupy
    except ImportError:
        return "no GPU here: CuPy is not installed (pip install 'redes[gpu]' on a machine with an NVIDIA GPU)"
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            return "no GPU here: CuPy finds no CUDA device"
    except Exception as exc:        # noqa: BLE001  (CuPy's CUDARuntimeError without a driver)
        return f"no GPU here: {exc}"
    return None


REASON = why_no_gpu()


def pytest_collection_modifyitems(config, items):
    if REASON is not None:
        for item in items:
            if "tests/gpu/" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=REASON))


@pytest.fixture(autouse=True, scope="module")
def _back_to_cpu_only():
    yield
    backend.cpu_only()
