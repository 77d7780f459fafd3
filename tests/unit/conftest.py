"""Unit tests of the shared library in lib/charmed_ovn: pure functions only."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lib"))
