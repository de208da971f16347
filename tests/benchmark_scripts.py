"""The benchmark scripts (benchmarks/*.py) as modules, for the tests of their functions."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = str(Path(__file__).resolve().parents[1] / "benchmarks")


def load(name: str) -> ModuleType:
    """benchmarks/<name>.py imported (the test is skipped, saying why, where it cannot be)."""
    if BENCHMARKS not in sys.path:
        sys.path.insert(0, BENCHMARKS)
    return pytest.importorskip(name)
