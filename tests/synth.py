"""The tests' synthetic-data generator lives in the package (gmscall demo uses it too)."""

import sys

from gmscall import synth as _synth

sys.modules[__name__] = _synth
