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
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from . import _core
from .backend import resolve_backend
from .cohort import CohortSpec, build_cohort, sample_platforms
from .error_model import (
    LONG_READ_TRACT_PRIOR_SCALE,
    ErrorModel,
    allele_error_tables,
    learn_error_model,
    read_error_model,
    sample_tables,
    tract_prior_scales,
)
from .errors import InputError, OutputError, output_error
from .options import DEFAULT_SHARD, CallOptions
from .phasing import PhaseStage, PhasingFormatter
from .phasing import haplotag as phase_haplotag
from .preflight import open_checked
from .regions import Region, make_shards, resolve_regions
from .resume import check_output as resume_output_check
from .resume import checkpoints, file_input, reference_input
from .scheduler import iter_shards
from .vcf import ShardFormatter, VcfLayout, filter_text, header_lines, open_output

log = logging.getLogger("gmscall")
Progress = Callable[[int, int, int], None]
PLOIDY_MARGIN = 10_000  # ploidy is looked up around a shard too: windows and reads reach past it


Bam = Union[str, Path]


@dataclass(frozen=True)
class _Plan:
    """What a run will do, fixed before any read is decoded."""

    bams: tuple[str, ...]
    ref: str
    cohort: CohortSpec
    backend: str
    options: CallOptions
    shards: list[Region]
    ref_contigs: list[tuple[str, int]]
    error_models: tuple[ErrorModel, ...] = ()
    error_model_note: str = ""

    @property
    def bam_key(self) -> str | tuple[str, ...]:
        return self.bams[0] if len(self.bams) == 1 else self.bams


def _bam_list(bam: Bam | Sequence[Bam]) -> tuple[str, ...]:
    bams = (str(bam),) if isinstance(bam, (str, Path)) else tuple(str(b) for b in bam)
    if not bams:
        raise InputError("no BAM/CRAM file given")
    if len(set(bams)) != len(bams):
        raise InputError(f"a BAM/CRAM file is given twice: {', '.join(bams)}")
    return bams


def _plan(bam: Bam | Sequence[Bam], ref: str | Path, regions: str | Sequence[str] | None, bed: str | Path | None,
          output: str | Path | None, backend: str, options: CallOptions | None, shard_size: int,
          sample: str | None, ped: str | None = None, ploidy: str | None = None,
          sex: Mapping[str, str] | Sequence[str] | None = None, error_model: ErrorModelArg = True,
          threads: int = 1) -> _Plan:
    bams, ref = _bam_list(bam), str(ref)
    be = resolve_backend(backend)
    session, contigs = open_checked(bams[0] if len(bams) == 1 else bams, ref, output)
    cohort = build_cohort(session, bams, sample, None if ped is None else str(ped),
                          None if ploidy is None else str(ploidy), sex)
    resolved = resolve_regions(contigs, regions, bed)
    shards = make_shards(resolved, shard_size)
    opts = options or CallOptions()
    platforms = sample_platforms(bams, cohort, sample, opts.platform, ref)
    if any(platforms):
        opts = dataclasses.replace(opts, platforms=platforms)
        if all(p in ("PACBIO", "ONT") for p in platforms):
            opts = long_read_options(opts)
    models, note = _error_models(error_model, bams, ref, resolved, opts, threads)
    if models:
        tables = sample_tables(models, cohort.samples, opts.gap_open_max, opts.gap_open_min, opts.gap_open_slope)
        if any(tables):
            opts = dataclasses.replace(opts, gap_open_tables=tables)
        errors = allele_error_tables(models, cohort.samples)
        if any(errors):
            opts = dataclasses.replace(opts, allele_error_tables=errors)
        opts = learnt_tract_priors(opts, models, options or CallOptions())
    return _Plan(bams, ref, cohort, be, opts, shards, session.ref_contigs(), tuple(models), note)


ErrorModelArg = Union[bool, str, Path, Sequence[ErrorModel]]


def learnt_tract_priors(opts: CallOptions, models: Sequence[ErrorModel], asked: CallOptions) -> CallOptions:
    """The indel priors by tract length from the models' learnt shares (error_model.
    tract_prior_scales) where every model carries them (each counted MIN_TRACT_LOCI long
    homopolymers), in place of the fixed LONG_READ_TRACT_PRIOR_SCALE of long-read runs and of the
    genome-wide prior of short ones, unless the options the caller gave (``asked``) name a factor
    or a table."""
    if asked.long_tract_prior_scale or asked.long_tract_prior_scales:
        return opts
    if not models or not all(m.tract_variants for m in models):
        return opts
    scales = tract_prior_scales(models, opts.indel_het_prior, opts.indel_hom_prior)
    return dataclasses.replace(opts, long_tract_prior_scales=scales) if scales else opts


def long_read_options(opts: CallOptions) -> CallOptions:
    """What a run whose samples are all long reads (PACBIO, ONT) changes: no local assembly unless
    asked (long reads span their variants, so their CIGARs hold the alleles: on the HiFi and ONT
    slices and a 1-Mb HiFi set the calls are the same without it, at half the time) and the indel
    prior of long tandem-repeat tracts (LONG_READ_TRACT_PRIOR_SCALE, unless the options name one)."""
    changes: dict[str, Any] = {}
    if opts.long_tract_prior_scale == 0:
        changes["long_tract_prior_scale"] = LONG_READ_TRACT_PRIOR_SCALE
    if opts.assemble and not opts.long_read_assembly:
        changes["assemble"] = False
    return dataclasses.replace(opts, **changes)


def _error_models(arg: ErrorModelArg, bams: Sequence[str], ref: str, regions: Sequence[Region],
                  opts: CallOptions, threads: int) -> tuple[list[ErrorModel], str]:
    """The run's indel error models: learnt from the BAMs (True), none (False: the defaults), read
    from a file (a path) or given (ErrorModel objects); and the header note on where they came from."""
    if arg is False or arg is None:
        return [], ""
    if arg is True:
        t0 = time.perf_counter()
        models = learn_error_model(bams, ref, regions, min_mq=max(20, opts.min_mq), threads=threads,
                                   platform=opts.platform)
        log.info("indel error model: %d read group(s) learnt in %.2f s", len(models), time.perf_counter() - t0)
        return models, "learnt from the reads"
    if isinstance(arg, (str, Path)):
        return read_error_model(arg), f"read from {Path(arg).resolve()}"
    return list(arg), "given"


def _call_shard(opts: CallOptions, backend: str, cohort: CohortSpec, session: _core.Session,
                shard: Region) -> tuple[str, dict]:
    # Module level with picklable arguments, so that Dask workers in other processes can run it.
    core = cohort.core(shard.contig, max(0, shard.start - PLOIDY_MARGIN), shard.end + PLOIDY_MARGIN)
    return shard.contig, session.call(shard.contig, shard.start, shard.end, opts.to_core(), backend, core)


def _shard_results(plan: _Plan, shards: Sequence[Region], threads: int, client: Any) -> Iterator[tuple[str, dict]]:
    task = functools.partial(_call_shard, plan.options, plan.backend, plan.cohort)
    return iter_shards(task, plan.bam_key, plan.ref, shards, threads, client=client)


@dataclass(frozen=True)
class RecordBatch:
    """The records of one shard as columns (numpy arrays, first axis: records), in genome order.

    Site: pos int64 (1-based); ref, alts (tuples of str), filter (str) object arrays; qual, mq,
    sor float64; dp int32 (all samples); haplotype_model bool.
    Per sample (second axis: `samples` order): gt int32[n, samples, 2] (allele index per copy; -1 an
    uncalled copy, -2 no such copy: haploid or ploidy 0); gq int32 (-1 missing); sample_dp int32;
    dnq int32 (de novo quality of a trio's child, -1 none); ad and pl object arrays [n, samples] of
    tuples of int (empty when the sample has no call). Read-backed phase (None when phasing is off):
    ps int64 [n, samples] (the phase set, 1-based POS of the block's first het; 0: not phased) and
    phase_flip uint8 [n, samples] (1: the second allele of gt is on the first haplotype)."""

    contig: str
    start: int  # the shard, 0-based half-open: every record's POS lies in it
    end: int
    samples: tuple[str, ...]
    pos: Any
    ref: Any
    alts: Any
    qual: Any
    filter: Any
    dp: Any
    mq: Any
    sor: Any
    haplotype_model: Any
    gt: Any
    gq: Any
    sample_dp: Any
    dnq: Any
    ad: Any
    pl: Any
    ps: Any = None
    phase_flip: Any = None

    def __len__(self) -> int:
        return len(self.pos)

    def to_dicts(self) -> list[dict]:
        """One dict per record. One sample: its genotype fields (gt, gq, ad, pl, ps) sit in the record
        beside the site's; several: under "samples", by name (with dp, and dnq for trio children).
        A phased genotype's gt lists its alleles in haplotype order (as `a|b`), with ps its phase
        set; ps is None for an unphased one."""
        out = []
        for k in range(len(self)):
            rec = {"contig": self.contig, "pos": int(self.pos[k]), "ref": self.ref[k], "alts": list(self.alts[k]),
                   "qual": float(self.qual[k]), "filter": self.filter[k], "dp": int(self.dp[k]),
                   "mq": float(self.mq[k]), "sor": float(self.sor[k]),
                   "haplotype_model": bool(self.haplotype_model[k])}
            calls = [self._sample(k, j) for j in range(len(self.samples))]
            if len(calls) == 1:
                rec.update({key: calls[0][key] for key in ("gt", "gq", "ad", "pl", "ps")})
            else:
                rec["samples"] = dict(zip(self.samples, calls))
            out.append(rec)
        return out

    def _sample(self, k: int, j: int) -> dict:
        gt = tuple(int(a) for a in self.gt[k][j] if a != -2)
        ps = int(self.ps[k][j]) if self.ps is not None else 0
        if ps and self.phase_flip[k][j]:
            gt = gt[::-1]
        return {"gt": gt, "gq": int(self.gq[k][j]), "dp": int(self.sample_dp[k][j]), "ad": list(self.ad[k][j]),
                "pl": list(self.pl[k][j]), "dnq": int(self.dnq[k][j]), "ps": ps or None}


def _objects(values: Sequence[Any], shape: tuple[int, ...] | None = None) -> Any:
    import numpy as np

    out = np.empty(shape or len(values), dtype=object)
    if shape is None:
        out[:] = values
    else:
        for k, row in enumerate(values):
            for j, v in enumerate(row):
                out[k, j] = v
    return out


def _as_batch(shard: Region, samples: tuple[str, ...], recs: dict) -> RecordBatch:
    n, ns = len(recs["pos"]), len(samples)
    return RecordBatch(
        shard.contig, shard.start, shard.end, samples, recs["pos"] + 1, _objects(recs["ref"]),
        _objects([tuple(a) for a in recs["alts"]]), recs["qual"],
        _objects([filter_text(f) for f in recs["filter"].tolist()]), recs["dp"], recs["mq"],
        recs["sor"], recs["haplotype_model"].astype(bool), recs["gt"], recs["gq"], recs["sample_dp"], recs["dnq"],
        _objects([[tuple(a) for a in row] for row in recs["ad"]], (n, ns)),
        _objects([[tuple(p) for p in row] for row in recs["pl"]], (n, ns)), recs.get("ps"), recs.get("phase_flip"))


def call_batches(bam: Bam | Sequence[Bam], ref: str | Path, regions: str | Sequence[str] | None = None, *,
                 bed: str | Path | None = None, threads: int = 1, backend: str = "auto",
                 options: CallOptions | None = None, shard_size: int = DEFAULT_SHARD, client: Any = None,
                 sample: str | None = None, ped: str | Path | None = None, ploidy: str | Path | None = None,
                 sex: Mapping[str, str] | Sequence[str] | None = None,
                 error_model: ErrorModelArg = True) -> Iterator[RecordBatch]:
    """Calls shard by shard and yields each shard's records as a columnar RecordBatch, in genome
    order, as soon as it and every shard before it are done (every shard, also empty ones).
    `bam` is one BAM/CRAM or a list (joint calling: one column per @RG SM, in input order).
    `error_model`: True learns each read group's indel error model from the reads first
    (gmscall.error_model), False keeps the default gap penalties, a path reuses a model file
    (`gmscall model`), a list of ErrorModel uses those."""
    plan = _plan(bam, ref, regions, bed, None, backend, options, shard_size, sample, ped, ploidy, sex,
                 error_model, threads)
    stage = PhaseStage(plan.cohort.n_samples, plan.cohort.trios) if plan.options.phase else None
    waiting: deque[Region] = deque()
    with closing(_shard_results(plan, plan.shards, threads, client)) as results:
        for shard, (contig, recs) in zip(plan.shards, results):
            if stage is None:
                yield _as_batch(shard, plan.cohort.samples, recs)
                continue
            waiting.append(shard)
            for _, done in stage.feed(contig, recs):
                yield _as_batch(waiting.popleft(), plan.cohort.samples, done)
        if stage is not None:
            for _, done in stage.finish():
                yield _as_batch(waiting.popleft(), plan.cohort.samples, done)


def call_iter(bam: Bam | Sequence[Bam], ref: str | Path, regions: str | Sequence[str] | None = None,
              **kwargs: Any) -> Iterator[dict]:
    """The records of `call` one at a time, in genome order, in memory bounded by the shard window
    (same keyword arguments as `call_batches`)."""
    batches = call_batches(bam, ref, regions, **kwargs)
    with closing(batches):
        for batch in batches:
            yield from batch.to_dicts()


def call(bam: Bam | Sequence[Bam], ref: str | Path, regions: str | Sequence[str] | None = None, *,
         bed: str | Path | None = None, output: str | Path | None = None, threads: int = 1,
         backend: str = "auto", options: CallOptions | None = None, shard_size: int = DEFAULT_SHARD,
         client: Any = None, command: str | None = None, sample: str | None = None,
         ped: str | Path | None = None, ploidy: str | Path | None = None,
         sex: Mapping[str, str] | Sequence[str] | None = None,
         progress: Progress | None = None, resume: bool = False,
         error_model: ErrorModelArg = True, haplotag: str | Path | None = None) -> list[dict] | Path:
    """Call SNVs and indels in one sample, or jointly in several (`bam` a list; BAMs whose read
    groups name several samples give one column each). Without `output`, returns the records as
    dicts (see `call_iter` and `call_batches` for streamed forms); with it, streams the VCF into
    the file (bgzipped + tabix-indexed when the name ends in .gz; '-' is stdout) and returns its path.

    `sample` names the sample of a single one-sample BAM (default: its @RG SM); `ped` a PED file
    (trio-aware genotypes, de novo qualities); `ploidy` GRCh38, GRCh37 or a bcftools ploidy file
    (haploid X/Y in males, no Y in females), with each sample's sex from `sex` ({name: "M"|"F"} or
    ["NAME=M", ...]), the PED, or its X/Y depth. `progress(done, total, bases_done)` is called as
    shards are written; `resume=True` checkpoints finished shards next to the output and reuses
    those of an earlier, interrupted run with the same inputs and options. `error_model`: see
    `call_batches` (the models go into the header, ##gmscallErrorModel). `haplotag`: also write
    this BAM (+ .bai), the reads of the one input BAM with HP/PS tags of their phased blocks."""
    cohort_kw = {"sample": sample, "ped": ped, "ploidy": ploidy, "sex": sex, "error_model": error_model}
    if resume:
        resume_output_check(output)
    if output is None:
        if options is not None and options.gvcf:
            raise InputError("a gVCF is written to a file: give output=")
        if haplotag is not None:
            raise InputError("haplotag needs output= (the VCF whose phase the reads are tagged with)")
        return list(call_iter(bam, ref, regions, bed=bed, threads=threads, backend=backend, options=options,
                              shard_size=shard_size, client=client, **cohort_kw))
    plan = _plan(bam, ref, regions, bed, output, backend, options, shard_size, **cohort_kw, threads=threads)
    if plan.options.gvcf and plan.cohort.n_samples != 1:
        raise InputError(f"a gVCF holds one sample, these inputs have {plan.cohort.n_samples} "
                         f"({', '.join(plan.cohort.samples[:4])}): write one gVCF per sample")
    if haplotag is not None and (len(plan.bams) != 1 or plan.cohort.n_samples != 1 or not plan.options.phase):
        raise InputError("--haplotag tags the reads of one BAM of one sample, with phasing on")
    cmd = command if command is not None else "gmscall.call (Python API)"
    t0 = time.perf_counter()
    files = {"bam": [(b, _core.read_header_text(b, plan.ref)) for b in plan.bams],
             "reference": [reference_input(plan.ref)],
             "ped": [] if ped is None else [file_input(str(ped), "pedigree")]} if resume else {}
    with checkpoints(output, resume, "call", files, dataclasses.asdict(plan.options),
                     dataclasses.asdict(plan.cohort), plan.shards) as work:
        tags = _write_vcf(plan, output, cmd, threads, client, progress, work, haplotag is not None)
    if haplotag is not None:
        n = phase_haplotag(plan.bams[0], str(haplotag), tags, cmd, threads)
        log.info("haplotagged %d reads into %s", n, haplotag)
    log.info("called %d shards (%.1f Mb) of %d sample(s) in %.1f s on %s", len(plan.shards),
             sum(len(s) for s in plan.shards) / 1e6, plan.cohort.n_samples, time.perf_counter() - t0, plan.backend)
    return Path(output) if str(output) != "-" else Path("/dev/stdout")


def _write_vcf(plan: _Plan, output: str | Path, command: str, threads: int, client: Any,
               progress: Progress | None, work: Any, keep_fragments: bool = False) -> dict:
    """Streams the VCF; returns the phased fragments per contig when keep_fragments (haplotag)."""
    from . import __version__

    phase = plan.options.phase
    layout = VcfLayout.of(plan.cohort, plan.options.gq_bands if plan.options.gvcf else None, phase)
    header = header_lines(plan.ref_contigs, layout, plan.ref, __version__, command, plan.backend,
                          [*plan.cohort.header_lines(),
                           *(m.header_line(plan.error_model_note) for m in plan.error_models)])
    formatter: Any = ShardFormatter(layout)
    if phase:
        formatter = PhasingFormatter(formatter, plan.cohort.n_samples, plan.cohort.trios, keep_fragments)
    windows = [0, 0]  # haplotype windows, and of them those the indel screen left out
    stream_vcf(output, header, formatter, plan.shards,
               lambda todo: _count_windows(_shard_results(plan, todo, threads, client), windows),
               progress, work)
    if plan.options.indel_screen_qual > 0 and plan.options.allele_error_tables and not plan.options.gvcf:
        log.info("indel screen: %d of %d haplotype windows explained by the error model, not aligned",
                 windows[1], windows[0])
    return formatter.stage.fragment_tags if phase else {}


def _count_windows(results: Iterator[tuple[str, dict]], windows: list[int]) -> Iterator[tuple[str, dict]]:
    with closing(results):
        for contig, recs in results:
            windows[0] += int(recs.get("windows", 0))
            windows[1] += int(recs.get("screened", 0))
            yield contig, recs


def stream_vcf(output: str | Path, header: list[str], formatter: Any, shards: Sequence[Region],
               results_for: Callable[[list[Region]], Iterator[tuple[str, Any]]], progress: Progress | None = None,
               work: Any = None) -> None:
    """Streams shard results into the output in genome order; with a work folder, finished shards
    are read from it and new ones saved to it. `results_for(shards)` yields (contig, records) of
    those shards in order; `formatter.shard_text(contig, records)` turns them into bytes and
    `formatter.finish()` gives what is left at the end (vcf.ShardFormatter for the caller's layout)."""
    reused = work.finished(len(shards)) if work is not None else set()
    if reused:
        log.info("resuming: %d of %d shards reused from %s", len(reused), len(shards), work.path)
    todo = [s for k, s in enumerate(shards) if k not in reused]
    try:
        _stream(output, header, formatter, shards, results_for, progress, work, reused, todo)
    except OutputError as e:
        if work is None or e.oserror is None:
            raise
        # A full disk or the like: the finished shards' checkpoints stay for the rerun.
        raise output_error(e.path, e.oserror, resume=work.path, kept=work.n_parts()) from None


def _stream(output: str | Path, header: list[str], formatter: Any, shards: Sequence[Region],
            results_for: Callable[[list[Region]], Iterator[tuple[str, Any]]], progress: Progress | None,
            work: Any, reused: set[int], todo: list[Region]) -> None:
    bases = 0
    with open_output(output, tmp_dir=work.path if work is not None else None,
                     level=formatter.deflate_level) as out, \
            closing(results_for(todo)) as results:
        out.write(("\n".join(header) + "\n").encode())
        for k, shard in enumerate(shards):
            if k in reused:
                contig, recs = work.load(k)
            else:
                contig, recs = next(results)
                if work is not None:
                    work.save(k, (contig, recs))
            out.write(formatter.shard_text(contig, recs))
            bases += len(shard)
            if progress is not None:
                progress(k + 1, len(shards), bases)
        out.write(formatter.finish())
