"""Hypothesis profiles for the generated tests against torch, and a count of the cases they ran.

Default profile: a bounded, derandomized run (same examples every time; 200 per test, 4,000 cases, ~15 s).
REDES_HYPOTHESIS=large: 6,000 random examples per test (120,000 cases, ~10 min), run by hand:
    REDES_HYPOTHESIS=large python -m pytest -q -p no:cacheprovider tests/hypothesis
"""
import os

import pytest
from hypothesis import HealthCheck, settings

import gen_harness as harness

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("redes-default", max_examples=int(os.environ.get("REDES_HYPOTHESIS_EXAMPLES", 200)),
                          derandomize=True, **_COMMON)
settings.register_profile("redes-large", max_examples=int(os.environ.get("REDES_HYPOTHESIS_EXAMPLES", 6000)),
                          **_COMMON)
settings.load_profile("redes-large" if os.environ.get("REDES_HYPOTHESIS") == "large" else "redes-default")


def pytest_terminal_summary(terminalreporter):
    if harness.COUNT["cases"]:
        terminalreporter.write_line(f"hypothesis: {harness.COUNT['cases']} generated cases compared with torch "
                                    f"({harness.COUNT['errors']} of them invalid inputs that both refused), "
                                    f"profile {settings().max_examples} examples per test")


@pytest.fixture(autouse=True)
def _torch_threads():
    import torch
    torch.set_num_threads(1)
    yield
