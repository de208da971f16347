"""Typed errors of gmscall. The C++ core raises these through the bindings.

Every message says what is wrong, where (file, contig, line) and what to do. Only
``gmscall.cli.main`` turns them into a message on stderr and exit status 2.
"""

from __future__ import annotations


class GmsError(Exception):
    """Base class of every error gmscall raises on purpose."""


class InputError(GmsError):
    """An input file, region or option is wrong, missing or damaged."""


class BackendError(GmsError):
    """The requested compute backend cannot run (no CUDA build, no device, a CUDA failure)."""


class OutputError(GmsError):
    """An output file cannot be written."""
