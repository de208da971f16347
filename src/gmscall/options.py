"""Frozen option dataclasses with validation; they fill the C++ parameter structs."""

from __future__ import annotations

from dataclasses import dataclass

from . import _core
from .errors import InputError


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InputError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


@dataclass(frozen=True)
class PileupOptions:
    """Read and base filters of the pileup (samtools/bcftools defaults where they agree)."""

    min_bq: int = 13
    min_mq: int = 0
    max_depth: int = 0  # 0: no cap; else the deterministic per-bin cap of io/read_prep.hpp
    overlaps: bool = True  # count the overlapping part of a read pair once

    def __post_init__(self) -> None:
        _check_range("min_bq", self.min_bq, 0, 93)
        _check_range("min_mq", self.min_mq, 0, 255)
        _check_range("max_depth", self.max_depth, 0, 10_000_000)

    def to_core(self) -> _core.PileupParams:
        p = _core.PileupParams()
        p.min_bq = self.min_bq
        p.min_mq = self.min_mq
        p.max_depth = self.max_depth
        p.overlaps = self.overlaps
        return p
