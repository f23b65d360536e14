import sys
from pathlib import Path

# Let the tests import circle_classifier from the repository root, however pytest runs.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
