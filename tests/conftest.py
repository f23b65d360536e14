import sys
from pathlib import Path

import pytest

# Let the tests import circle_classifier from the repository root, however pytest runs.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def pytest_configure(config: pytest.Config) -> None:
    # The default run prints no warnings: so a warning in any test is a failure.
    config.addinivalue_line("filterwarnings", "error")
