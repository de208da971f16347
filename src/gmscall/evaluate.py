"""The evaluation API under its first name: ``gmscall.evaluate`` re-exports :mod:`gmscall.evaluation`
(one module per kind of evaluation), so ``from gmscall.evaluate import evaluate`` and
``python -m gmscall.evaluate`` keep working."""

from __future__ import annotations

import sys

from .evaluation import *
from .evaluation import __all__  # noqa: F401
from .evaluation.cli import main

if __name__ == "__main__":
    sys.exit(main())
