"""gmscall: germline small-variant calling on GPU and CPU from one kernel source.

Public API:
    gmscall.pileup(bam, ref, region, ...)  -> Pileup (numpy arrays)
    gmscall.info()                          -> version, build features, devices
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from .errors import BackendError, GmsError, InputError, OutputError

# numpy and the C++ core load on first use, so that `gmscall --version` is instant and the CLI can
# configure the process (thread counts) before numpy starts.
_LAZY = {"pileup": "pileup_api", "Pileup": "pileup_api", "call": "caller", "CallOptions": "options",
         "PileupOptions": "options"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'gmscall' has no attribute '{name}'")

try:
    __version__ = version("gmscall")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+unknown"


def info() -> dict[str, Any]:
    """Version, htslib version, whether CUDA was compiled in, and the CUDA devices found."""
    from .backend import core_info

    d = dict(core_info())
    d["version"] = __version__
    return d


__all__ = ["BackendError", "CallOptions", "GmsError", "InputError", "OutputError", "Pileup", "PileupOptions",
           "__version__", "call", "info", "pileup"]
