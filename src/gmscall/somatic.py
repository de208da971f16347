"""Somatic calling: a tumour BAM, optionally with the patient's normal, through the shared stages
(reads, pileup, candidates, assembly, pair-HMM) and the somatic model of csrc/core/somatic.cpp.

Output: VCF 4.2 with a TUMOR column (and NORMAL with a normal), one ALT per record; FILTER PASS
means called somatic (INFO SOMATIC); the other records carry the filters that rejected them.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Union

from . import _core
from .backend import resolve_backend
from .caller import Progress, stream_vcf
from .cohort import CohortSpec, sample_platforms
from .error_model import learn_error_model, sample_tables
from .errors import InputError
from .options import DEFAULT_SHARD, SomaticOptions
from .preflight import open_checked
from .regions import Region, make_shards, resolve_regions
from .resume import check_output as resume_output_check
from .resume import checkpoints, reference_input
from .scheduler import iter_shards
from .vcf import BGZIP_LEVEL, filter_names, filter_text, preamble

log = logging.getLogger("gmscall")
Bam = Union[str, Path]

#: FILTER names by bit of csrc/include/gmscall/caller.hpp's SomaticFilter, with their header text.
FILTERS: tuple[tuple[int, str, str], ...] = (
    (1, "weak_evidence", "TLOD below the PASS threshold (--tlod-pass): too little evidence in the tumour"),
    (2, "germline_risk", ("The allele looks germline: present in the normal (NLOD below --nlod-min), or, "
                          "tumour-only, at an allele fraction consistent with 1/2 or 1")),
    (4, "normal_artifact", "The normal carries the allele beyond what tumour cells in it explain"),
    (8, "strand_bias", ("At least 8 ALT reads, at most a tenth of them on one strand, while the REF reads are on "
                        "both (two-sided binomial p < 1e-3 at the REF reads' strand share)")),
    (16, "low_allele_fraction", "Tumour allele fraction below --min-tumor-af"),
    (32, "clustered_events", "More than two other candidate somatic events within 50 bp"),
)


def _columns(session: _core.Session, bams: Sequence[str]) -> CohortSpec:
    """TUMOR (every sample of the first BAM) and NORMAL (every sample of the second)."""
    names = ("TUMOR", "NORMAL")[: len(bams)]
    cols = tuple(tuple(k for _ in session.samples(k)) or (k,) for k in range(len(bams)))
    return CohortSpec(names, cols)


def _long_read_options(bams: Sequence[str], ref: str, regions: Sequence[Region], opts: SomaticOptions,
                       threads: int) -> SomaticOptions:
    """Where every BAM is long reads (its read groups' @RG PL PACBIO or ONT, or --platform), each
    BAM's learnt indel error model (gmscall.error_model) and no local assembly, as germline calling
    has (caller._plan): with the short reads' default gap penalties a homopolymer slip on a few
    long reads scores as a somatic indel (a synthetic HiFi pair: 51 false PASS indels in 60 kb).
    Short reads keep the default penalties somatic calling was tuned with."""
    one = CohortSpec(("S",), ((0,),))
    platforms = tuple(sample_platforms([bam], one, "S", opts.platform, ref)[0] for bam in bams)
    if not all(pl in ("PACBIO", "ONT") for pl in platforms):
        return opts
    tables = []
    for bam in bams:  # one column per BAM: its read groups' model (sample_tables pools them)
        models = learn_error_model(bam, ref, regions, min_mq=max(20, opts.min_mq), threads=threads,
                                   platform=opts.platform)
        tables.append(sample_tables(models, ["S"], opts.gap_open_max, opts.gap_open_min, opts.gap_open_slope)[0])
    opts = dataclasses.replace(opts, platforms=platforms, gap_open_tables=tuple(tables) if any(tables) else ())
    if opts.assemble and not opts.long_read_assembly:
        opts = dataclasses.replace(opts, assemble=False)
    return opts


def _somatic_shard(opts: SomaticOptions, backend: str, cohort: CohortSpec, session: _core.Session,
                   shard: Region) -> tuple[str, list]:
    # Module level with picklable arguments, so that Dask workers in other processes can run it.
    core = cohort.core(shard.contig, shard.start, shard.end)
    return shard.contig, session.call_somatic(shard.contig, shard.start, shard.end, opts.to_core(), backend, core)


def _as_dict(contig: str, rec: tuple, samples: tuple[str, ...]) -> dict:
    pos, ref, alt, tlod, nlod, bits, per = rec
    d = {"contig": contig, "pos": pos + 1, "ref": ref, "alt": alt, "tlod": tlod, "filters": filter_names(bits, FILTERS),
         "somatic": bits == 0}
    if len(samples) > 1:
        d["nlod"] = nlod
    for name, (r, a, dp, af) in zip(samples, per):
        d[name] = {"ad": (r, a), "dp": dp, "af": af}
    return d


def _line(contig: str, rec: tuple, n_samples: int) -> str:
    pos, ref, alt, tlod, nlod, bits, per = rec
    filt = filter_text(bits, FILTERS)
    info = ["SOMATIC"] if bits == 0 else []
    info.append(f"DP={sum(s[2] for s in per)}")
    info.append(f"TLOD={tlod:.2f}")
    if n_samples > 1:
        info.append(f"NLOD={nlod:.2f}")
    cols = [contig, str(pos + 1), ".", ref, alt, ".", filt, ";".join(info), "GT:AD:DP:AF"]
    for k, (r, a, dp, af) in enumerate(per):
        cols.append(f"{_gt(k, af)}:{r},{a}:{dp}:{af:.4f}")
    return "\t".join(cols)


def _gt(column: int, af: float) -> str:
    """TUMOR: 0/1 for any fraction (1/1 from 0.9); NORMAL: 0/0 unless the allele looks germline
    there (0/1 from a fraction of 0.2, 1/1 from 0.9)."""
    if af >= 0.9:
        return "1/1"
    return "0/1" if column == 0 or af >= 0.2 else "0/0"


class _SomaticFormatter:
    """Shard records to VCF lines for caller.stream_vcf; counts what it wrote."""

    def __init__(self, n_samples: int) -> None:
        self.n_samples = n_samples
        self.n_pass = self.n_all = 0
        self.deflate_level = BGZIP_LEVEL

    def shard_text(self, contig: str, recs: list) -> bytes:
        self.n_all += len(recs)
        self.n_pass += sum(1 for r in recs if r[5] == 0)
        return "".join(_line(contig, r, self.n_samples) + "\n" for r in recs).encode()

    def finish(self) -> bytes:
        return b""


def _header(contigs: Sequence[tuple[str, int]], ref: str, bams: Sequence[str], samples: Sequence[Sequence[str]],
            opts: SomaticOptions, command: str, backend: str) -> list[str]:
    from . import __version__

    run = [
        f"##gmscallMode={'tumour/normal' if len(bams) > 1 else 'tumour-only'}",
        f"##tumor_sample={','.join(samples[0]) or 'TUMOR'}",
        f"##tumor_bam={os.path.abspath(bams[0])}",
    ]
    if len(bams) > 1:
        run += [f"##normal_sample={','.join(samples[1]) or 'NORMAL'}", f"##normal_bam={os.path.abspath(bams[1])}"]
    filters = [("PASS", "Called somatic"), *((name, text) for _, name, text in FILTERS)]
    lines = preamble(contigs, ref, __version__, command, backend, filters, run)
    lines += [
        '##INFO=<ID=SOMATIC,Number=0,Type=Flag,Description="Called somatic (FILTER PASS)">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Read depth at the site, all samples">',
        ('##INFO=<ID=TLOD,Number=1,Type=Float,Description="log10 likelihood ratio: the tumour carries the ALT at '
         'its maximum-likelihood fraction vs not at all">'),
    ]
    if len(bams) > 1:
        lines.append('##INFO=<ID=NLOD,Number=1,Type=Float,Description="log10 likelihood ratio: the normal carries '
                     f'the ALT only as tumour cells in it would (up to {opts.normal_contamination:g} of its cells) '
                     'vs as a germline het">')
    lines += [
        ('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype: TUMOR 0/1 at any fraction below 0.9, 1/1 '
         'above; NORMAL 0/0 below a fraction of 0.2, 0/1 up to 0.9, 1/1 above">'),
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Reads favouring REF / ALT by a factor of 3 or more">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth at the site">',
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Maximum-likelihood ALT allele fraction">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(("TUMOR", "NORMAL")[: len(bams)]),
    ]
    return lines


def call_somatic(tumor: Bam, ref: str | Path, regions: str | Sequence[str] | None = None, *,
                 normal: Bam | None = None, bed: str | Path | None = None, output: str | Path | None = None,
                 threads: int = 1, backend: str = "auto", options: SomaticOptions | None = None,
                 shard_size: int = DEFAULT_SHARD, client: Any = None, command: str | None = None,
                 progress: Progress | None = None, resume: bool = False) -> list[dict] | Path:
    """Somatic SNVs and indels (ITDs included) of `tumor` against `normal` (tumour-only without it).
    Without `output`, returns every written record as a dict (PASS ones have "somatic": True);
    with it, streams the VCF there (bgzipped + tabix-indexed for .gz) and returns its path.
    `resume=True` checkpoints finished shards next to the output and reuses those of an earlier,
    interrupted run with the same BAMs, reference, options and shards."""
    if resume:
        resume_output_check(output)
    bams = (str(tumor),) if normal is None else (str(tumor), str(normal))
    if len(bams) == 2 and os.path.abspath(bams[0]) == os.path.abspath(bams[1]):
        raise InputError(f"the tumour and the normal are the same file: {bams[0]}")
    opts = options or SomaticOptions()
    if not isinstance(opts, SomaticOptions):
        raise InputError("options must be SomaticOptions")
    be = resolve_backend(backend)
    session, contigs = open_checked(bams[0] if len(bams) == 1 else bams, str(ref), output)
    cohort = _columns(session, bams)
    resolved = resolve_regions(contigs, regions, bed)
    shards = make_shards(resolved, shard_size)
    opts = _long_read_options(bams, str(ref), resolved, opts, threads)
    task = functools.partial(_somatic_shard, opts, be, cohort)
    bam_key: str | tuple[str, ...] = bams[0] if len(bams) == 1 else bams
    t0 = time.perf_counter()

    if output is None:
        out: list[dict] = []
        with closing(iter_shards(task, bam_key, str(ref), shards, threads, client=client)) as it:
            for contig, recs in it:
                out += [_as_dict(contig, r, cohort.samples) for r in recs]
        return out
    samples = [session.samples(k) for k in range(len(bams))]
    header = _header(session.ref_contigs(), str(ref), bams, samples, opts,
                     command if command is not None else "gmscall.call_somatic (Python API)", be)
    formatter = _SomaticFormatter(len(bams))
    files = {**{role: [(bam, _core.read_header_text(bam, str(ref)))] for role, bam in zip(("tumor", "normal"), bams)},
             "reference": [reference_input(str(ref))]} if resume else {}
    with checkpoints(output, resume, "somatic", files, dataclasses.asdict(opts),
                     dataclasses.asdict(cohort), shards) as work:
        stream_vcf(output, header, formatter, shards,
                   lambda todo: iter_shards(task, bam_key, str(ref), todo, threads, client=client), progress, work)
    log.info("somatic: %d PASS of %d records over %d shards in %.1f s on %s", formatter.n_pass, formatter.n_all,
             len(shards),
             time.perf_counter() - t0, be)
    return Path(output) if str(output) != "-" else Path("/dev/stdout")
