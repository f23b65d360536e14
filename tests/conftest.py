import sys
from pathlib import Path

import pytest

# Let the tests import circle_classifier from the repository root, however pytest runs.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_configure(config: pytest.Config) -> None:
    # The default run prints no warnings: so a warning in any test is a failure.
    config.addinivalue_line("filterwarnings", "error")


def pytest_sessionstart(session: pytest.Session) -> None:
    # The tests' runs are small, and small work is fastest on one thread. The oracles run
    # in this same process, on the same thread, so every comparison still holds.
    import torch

    torch.set_num_threads(1)
