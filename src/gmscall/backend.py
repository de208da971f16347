"""Backend selection and build/device information."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from . import _core
from .errors import BackendError

BACKENDS = ("auto", "cpu", "cuda")


@lru_cache(maxsize=1)
def core_info() -> dict[str, Any]:
    return dict(_core.info())


def cuda_available() -> bool:
    info = core_info()
    return bool(info["cuda_compiled"]) and len(info["cuda_devices"]) > 0


def resolve_backend(name: str) -> str:
    """'auto' -> 'cuda' when a device is usable, else 'cpu'; 'cuda' without one is an error."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend '{name}': choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if name == "cuda" and not cuda_available():
        info = core_info()
        why = "it was built without CUDA" if not info["cuda_compiled"] else "no CUDA device is visible"
        raise BackendError(f"backend 'cuda' requested but {why}; use --backend cpu or auto")
    return name
