"""Pileup API: per-position allele evidence of a region as numpy arrays."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from . import _core
from .backend import resolve_backend
from .options import PileupOptions
from .regions import Region, make_shards, resolve_regions
from .scheduler import iter_shards, map_shards
from .sink import as_sink

if TYPE_CHECKING:
    import numpy as np

ALLELES = ("A", "C", "G", "T", "N", "DEL")
DEFAULT_SHARD = 1_000_000
# The text path keeps no arrays, so its shards can be small: many shards keep every thread busy
# to the end of a short region, and a shard's text (~35 bytes a position) stays small.
TSV_SHARD = 250_000


def __getattr__(name: str) -> Any:
    # numpy loads on first use: `gmscall pileup` (text) never needs it.
    if name == "INDEL_DTYPE":
        return _indel_dtype()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _indel_dtype() -> np.dtype:
    import numpy as np

    return np.dtype([("pos", np.int64), ("length", np.int32), ("seq", object),
                     ("fwd", np.uint32), ("rev", np.uint32)])


@dataclass
class Pileup:
    """Allele evidence for positions [start, end) of a contig (0-based).

    counts    uint32[n, 2, 6]  strand (0 forward, 1 reverse) x allele (A, C, G, T, N, DEL)
    qual_sum  uint32[n, 6]     sum of counted bases' qualities per allele (DEL: 0)
    ins       uint32[n, 2]     reads with an insertion right after the position, per strand
    del_start uint32[n, 2]     reads with a deletion starting right after the position, per strand
    mq2       uint64[n]        sum of squared MAPQ of the counted reads (RMS mapping quality)
    indels    structured array (pos, length: +ins/-del, seq, fwd, rev), one row per distinct indel
    """

    contig: str
    start: int
    end: int
    pos: np.ndarray
    ref: np.ndarray
    counts: np.ndarray
    qual_sum: np.ndarray
    ins: np.ndarray
    del_start: np.ndarray
    mq2: np.ndarray
    indels: np.ndarray

    @property
    def depth(self) -> np.ndarray:
        return self.counts.sum(axis=(1, 2))


def _from_core(d: dict) -> Pileup:
    import numpy as np

    n = d["end"] - d["start"]
    indels = np.empty(len(d["indel_pos"]), dtype=_indel_dtype())
    indels["pos"] = d["indel_pos"]
    indels["length"] = d["indel_length"]
    indels["seq"] = d["indel_seq"]
    indels["fwd"] = d["indel_fwd"]
    indels["rev"] = d["indel_rev"]
    return Pileup(d["contig"], d["start"], d["end"], np.arange(d["start"], d["end"], dtype=np.int64),
                  np.frombuffer(d["ref"], dtype=np.uint8, count=n).copy(), d["counts"], d["qual_sum"],
                  d["ins"], d["del_start"], d["mq2"], indels)


def _concat(parts: list[Pileup]) -> Pileup:
    if len(parts) == 1:
        return parts[0]
    import numpy as np

    first = parts[0]
    return Pileup(first.contig, first.start, parts[-1].end,
                  *(np.concatenate([getattr(p, f) for p in parts])
                    for f in ("pos", "ref", "counts", "qual_sum", "ins", "del_start", "mq2", "indels")))


def pileup(bam: str, ref: str, region: str, *, min_bq: int = 13, min_mq: int = 0, max_depth: int = 0,
           overlaps: bool = True, backend: str = "auto", threads: int = 1,
           shard_size: int = DEFAULT_SHARD) -> Pileup:
    """Per-position allele evidence of `region` ('chr', 'chr:start-end', 1-based inclusive)."""
    opts = PileupOptions(min_bq=min_bq, min_mq=min_mq, max_depth=max_depth, overlaps=overlaps)
    shards, be = _plan(bam, ref, region, backend, shard_size)
    params = opts.to_core()

    def task(session: _core.Session, shard: Region) -> Pileup:
        return _from_core(session.pileup(shard.contig, shard.start, shard.end, params, be))

    return _concat(map_shards(task, str(bam), str(ref), shards, threads))


def pileup_tsv(bam: str, ref: str, region: str, out: IO[bytes], *, opts: PileupOptions, backend: str = "auto",
               threads: int = 1, shard_size: int | None = None) -> None:
    """Writes the TSV of `gmscall pileup` (formatted in C++; shards written in genome order)."""
    if shard_size is None:
        shard_size = TSV_SHARD
    shards, be = _plan(bam, ref, region, backend, shard_size)
    params = opts.to_core()
    bam, ref = str(bam), str(ref)

    def text(session: _core.Session, shard: Region) -> _core.TextChunk:  # bytes-like, written without a copy
        return session.pileup_tsv(shard.contig, shard.start, shard.end, params, be)

    # Each shard's text is written as soon as it and all shards before it are done, with a bounded
    # window of shards in flight, so memory stays flat on whole genomes.
    sink = as_sink(out)  # every byte written, or an OutputError naming the stream
    with closing(iter_shards(text, bam, ref, shards, threads)) as chunks:
        for chunk in chunks:
            sink.write(chunk)
    sink.flush()


def _plan(bam: str, ref: str, region: str, backend: str, shard_size: int) -> tuple[list[Region], str]:
    from .preflight import open_checked

    be = resolve_backend(backend)
    _, contigs = open_checked(str(bam), str(ref))
    return make_shards(resolve_regions(contigs, region), shard_size), be
