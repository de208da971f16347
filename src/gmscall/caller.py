"""Calling API: records as an iterator, as columnar batches, as a list, or streamed into a VCF.

Every form runs the same shard tasks through `scheduler.iter_shards`, which yields shard results
in genome order from a bounded window: memory depends on the thread count and the shard size,
not on how much genome is called.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _core
from .backend import resolve_backend
from .errors import InputError
from .options import CallOptions
from .preflight import open_checked
from .regions import Region, make_shards, resolve_regions
from .scheduler import iter_shards
from .vcf import format_records, header_lines, open_output

log = logging.getLogger("gmscall")
DEFAULT_SHARD = 250_000  # fastest on the benchmark set: per-shard arrays stay in reused heap memory
Progress = Callable[[int, int, int], None]


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


@dataclass(frozen=True)
class _Plan:
    """What a run will do, fixed before any read is decoded."""

    bam: str
    ref: str
    sample: str
    backend: str
    options: CallOptions
    shards: list[Region]
    ref_contigs: list[tuple[str, int]]


def _plan(bam: str | Path, ref: str | Path, regions: str | Sequence[str] | None, bed: str | Path | None,
          output: str | Path | None, backend: str, options: CallOptions | None, shard_size: int,
          sample: str | None) -> _Plan:
    bam, ref = str(bam), str(ref)
    be = resolve_backend(backend)
    session, contigs = open_checked(bam, ref, output)
    shards = make_shards(resolve_regions(contigs, regions, bed), shard_size)
    return _Plan(bam, ref, _sample_name(session.samples(), bam, sample), be, options or CallOptions(), shards,
                 session.ref_contigs())


def _call_shard(opts: CallOptions, backend: str, session: _core.Session, shard: Region) -> tuple[str, dict]:
    # Module level with picklable arguments, so that Dask workers in other processes can run it.
    return shard.contig, session.call(shard.contig, shard.start, shard.end, opts.to_core(), backend)


def _shard_results(plan: _Plan, shards: Sequence[Region], threads: int, client: Any) -> Iterator[tuple[str, dict]]:
    task = functools.partial(_call_shard, plan.options, plan.backend)
    return iter_shards(task, plan.bam, plan.ref, shards, threads, client=client)


@dataclass(frozen=True)
class RecordBatch:
    """The records of one shard as columns (numpy arrays of equal length), in genome order.

    pos int64 (1-based), ref/alts/filter/ad/pl object arrays (str, tuple of str, str, tuples of
    int), qual/mq/sor float64, gt int32[n, 2], gq/dp int32, haplotype_model bool."""

    contig: str
    start: int  # the shard, 0-based half-open: every record's POS lies in it
    end: int
    pos: Any
    ref: Any
    alts: Any
    qual: Any
    filter: Any
    gt: Any
    gq: Any
    dp: Any
    ad: Any
    pl: Any
    mq: Any
    sor: Any
    haplotype_model: Any

    def __len__(self) -> int:
        return len(self.pos)

    def to_dicts(self) -> list[dict]:
        return [{"contig": self.contig, "pos": int(self.pos[k]), "ref": self.ref[k], "alts": list(self.alts[k]),
                 "qual": float(self.qual[k]), "filter": self.filter[k],
                 "gt": (int(self.gt[k][0]), int(self.gt[k][1])), "gq": int(self.gq[k]), "dp": int(self.dp[k]),
                 "ad": list(self.ad[k]), "pl": list(self.pl[k]), "mq": float(self.mq[k]),
                 "sor": float(self.sor[k]), "haplotype_model": bool(self.haplotype_model[k])}
                for k in range(len(self))]


def _objects(values: Sequence[Any]) -> Any:
    import numpy as np

    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _as_batch(shard: Region, recs: dict) -> RecordBatch:
    return RecordBatch(
        shard.contig, shard.start, shard.end, recs["pos"] + 1, _objects(recs["ref"]),
        _objects([tuple(a) for a in recs["alts"]]), recs["qual"],
        _objects(["PASS" if f == 0 else "LowQual" for f in recs["filter"].tolist()]), recs["gt"], recs["gq"],
        recs["dp"], _objects([tuple(a) for a in recs["ad"]]), _objects([tuple(p) for p in recs["pl"]]),
        recs["mq"], recs["sor"], recs["haplotype_model"].astype(bool))


def call_batches(bam: str | Path, ref: str | Path, regions: str | Sequence[str] | None = None, *,
                 bed: str | Path | None = None, threads: int = 1, backend: str = "auto",
                 options: CallOptions | None = None, shard_size: int = DEFAULT_SHARD, client: Any = None,
                 sample: str | None = None) -> Iterator[RecordBatch]:
    """Calls shard by shard and yields each shard's records as a columnar RecordBatch, in genome
    order, as soon as it and every shard before it are done (every shard, also empty ones)."""
    plan = _plan(bam, ref, regions, bed, None, backend, options, shard_size, sample)
    with closing(_shard_results(plan, plan.shards, threads, client)) as results:
        for shard, (_, recs) in zip(plan.shards, results):
            yield _as_batch(shard, recs)


def call_iter(bam: str | Path, ref: str | Path, regions: str | Sequence[str] | None = None,
              **kwargs: Any) -> Iterator[dict]:
    """The records of `call` one at a time, in genome order, in memory bounded by the shard window
    (same keyword arguments as `call_batches`)."""
    batches = call_batches(bam, ref, regions, **kwargs)
    with closing(batches):
        for batch in batches:
            yield from batch.to_dicts()


def call(bam: str | Path, ref: str | Path, regions: str | Sequence[str] | None = None, *,
         bed: str | Path | None = None, output: str | Path | None = None, threads: int = 1,
         backend: str = "auto", options: CallOptions | None = None, shard_size: int = DEFAULT_SHARD,
         client: Any = None, command: str | None = None, sample: str | None = None,
         progress: Progress | None = None, resume: bool = False) -> list[dict] | Path:
    """Call SNVs and indels. Without `output`, returns the records as dicts (see `call_iter` and
    `call_batches` for streamed forms); with it, streams the VCF into the file (bgzipped +
    tabix-indexed when the name ends in .gz; '-' is stdout) and returns its path.
    `sample` names the VCF sample (default: the BAM's @RG SM); `progress(done, total, bases_done)`
    is called as shards are written; `resume=True` checkpoints finished shards next to the output
    and reuses those of an earlier, interrupted run with the same inputs and options."""
    if output is None:
        if resume:
            raise InputError("resume needs an output file")
        return list(call_iter(bam, ref, regions, bed=bed, threads=threads, backend=backend, options=options,
                              shard_size=shard_size, client=client, sample=sample))
    if resume and str(output) == "-":
        raise InputError("--resume needs an output file (-o FILE), not stdout")
    plan = _plan(bam, ref, regions, bed, output, backend, options, shard_size, sample)
    cmd = command if command is not None else "gmscall.call (Python API)"
    t0 = time.perf_counter()
    with (_work_folder(plan, output) if resume else nullcontext()) as work:
        _write_vcf(plan, output, cmd, threads, client, progress, work)
        if work is not None:
            work.remove()
    log.info("called %d shards (%.1f Mb) in %.1f s on %s", len(plan.shards),
             sum(len(s) for s in plan.shards) / 1e6, time.perf_counter() - t0, plan.backend)
    return Path(output) if str(output) != "-" else Path("/dev/stdout")


def _work_folder(plan: _Plan, output: str | Path) -> Any:
    from . import __version__
    from .resume import WorkFolder, manifest_for

    header = _core.read_header_text(plan.bam, plan.ref)
    return WorkFolder(output, manifest_for(plan.bam, plan.ref, header, dataclasses.asdict(plan.options),
                                           plan.sample, plan.shards, __version__, "call"))


def _write_vcf(plan: _Plan, output: str | Path, command: str, threads: int, client: Any,
               progress: Progress | None, work: Any) -> None:
    """Streams shard texts into the output in genome order; with a work folder, finished shards
    are read from it and new ones saved to it."""
    from . import __version__

    reused = work.finished(len(plan.shards)) if work is not None else set()
    if reused:
        log.info("resuming: %d of %d shards reused from %s", len(reused), len(plan.shards), work.path)
    todo = [s for k, s in enumerate(plan.shards) if k not in reused]
    header = header_lines(plan.ref_contigs, plan.sample, plan.ref, __version__, command, plan.backend)
    bases = 0
    with open_output(output, tmp_dir=work.path if work is not None else None) as out, \
            closing(_shard_results(plan, todo, threads, client)) as results:
        out.write(("\n".join(header) + "\n").encode())
        for k, shard in enumerate(plan.shards):
            if k in reused:
                text = work.load(k)
            else:
                contig, recs = next(results)
                lines = format_records(contig, recs)
                text = ("\n".join(lines) + "\n").encode() if lines else b""
                if work is not None:
                    work.save(k, text)
            out.write(text)
            bases += len(shard)
            if progress is not None:
                progress(k + 1, len(plan.shards), bases)
