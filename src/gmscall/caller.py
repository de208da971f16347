"""Calling API: gmscall.call(bam, ref, ...) -> records, or a VCF file."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import _core
from .backend import resolve_backend
from .errors import InputError
from .options import CallOptions
from .preflight import open_checked
from .regions import Region, make_shards, resolve_regions
from .scheduler import map_shards
from .vcf import format_records, header_lines, open_output

log = logging.getLogger("gmscall")
DEFAULT_SHARD = 250_000  # fastest on the benchmark set: per-shard arrays stay in reused heap memory


def _sample_name(samples: Sequence[str], bam: str, override: str | None) -> str:
    if override:
        return override
    if len(samples) > 1:
        raise InputError(f"{bam}: read groups name {len(samples)} samples ({', '.join(samples[:4])}); "
                         "gmscall calls one sample per BAM: split it with 'samtools split'")
    if not samples:
        raise InputError(f"{bam}: no read group with a sample name (@RG SM); add one with "
                         "'samtools addreplacerg -r ID:1 -r SM:NAME' or name the sample with --sample")
    return samples[0]


def call(bam: str | Path, ref: str | Path, regions: str | Sequence[str] | None = None, *,
         bed: str | Path | None = None, output: str | Path | None = None, threads: int = 1,
         backend: str = "auto", options: CallOptions | None = None, shard_size: int = DEFAULT_SHARD,
         client: Any = None, command: str | None = None, sample: str | None = None,
         progress: Callable[[int, int, int], None] | None = None) -> list[dict] | Path:
    """Call SNVs and indels. Without `output`, returns the records as dicts; with it, writes the VCF
    (bgzipped + tabix-indexed when the name ends in .gz; '-' is stdout) and returns its path.
    `sample` names the VCF sample (default: the BAM's @RG SM); `progress(done, total, bases_done)`
    is called as shards finish (local threads only)."""
    from . import __version__

    bam, ref = str(bam), str(ref)
    opts = options or CallOptions()
    be = resolve_backend(backend)
    session, contigs = open_checked(bam, ref, output)
    todo = resolve_regions(contigs, regions, bed)
    sample = _sample_name(session.samples(), bam, sample)
    shards = make_shards(todo, shard_size)
    t0 = time.perf_counter()
    # A module-level function with picklable arguments, so that Dask workers can run it too.
    task = functools.partial(_call_shard, opts, be)
    on_shard = None
    if progress is not None:
        done = {"n": 0, "bases": 0}
        lock = threading.Lock()

        def on_shard(shard: Region) -> None:
            with lock:
                done["n"] += 1
                done["bases"] += len(shard)
                progress(done["n"], len(shards), done["bases"])

    results = map_shards(task, bam, ref, shards, threads, client=client, progress=on_shard)
    log.info("called %d shards (%.1f Mb) in %.1f s on %s", len(shards),
             sum(len(s) for s in shards) / 1e6, time.perf_counter() - t0, be)
    if output is None:
        return [rec for contig, recs in results for rec in _as_dicts(contig, recs)]
    cmd = command if command is not None else "gmscall.call (Python API)"
    ref_contigs = session.ref_contigs()
    with open_output(output) as out:
        out.write("\n".join(header_lines(ref_contigs, sample, ref, __version__, cmd, be)) + "\n")
        for contig, recs in results:
            lines = format_records(contig, recs)
            if lines:
                out.write("\n".join(lines) + "\n")
    return Path(output) if str(output) != "-" else Path("/dev/stdout")


def _call_shard(opts: CallOptions, backend: str, session: _core.Session, shard: Region) -> tuple[str, dict]:
    return shard.contig, session.call(shard.contig, shard.start, shard.end, opts.to_core(), backend)


def _as_dicts(contig: str, recs: dict) -> list[dict]:
    out = []
    for k in range(len(recs["pos"])):
        out.append({
            "contig": contig, "pos": int(recs["pos"][k]) + 1, "ref": recs["ref"][k], "alts": list(recs["alts"][k]),
            "qual": float(recs["qual"][k]), "filter": "PASS" if recs["filter"][k] == 0 else "LowQual",
            "gt": (int(recs["gt"][k][0]), int(recs["gt"][k][1])), "gq": int(recs["gq"][k]),
            "dp": int(recs["dp"][k]), "ad": list(recs["ad"][k]), "pl": list(recs["pl"][k]),
            "mq": float(recs["mq"][k]), "sor": float(recs["sor"][k]),
            "haplotype_model": bool(recs["haplotype_model"][k]),
        })
    return out
