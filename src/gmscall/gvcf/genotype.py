"""Joint genotyping from gVCFs (`gmscall genotype`): every sample is genotyped at each site where
any sample has a variant record, from its <NON_REF> likelihoods or its reference block, with the
joint caller's cohort and pedigree priors (the C++ `genotype_site`).

Streaming: the gVCFs are read shard by shard through their tabix indexes, so memory holds one
shard of each file per worker, never whole files; shards run on the same executors as `call`
(threads or Dask), and the output is the same for any split.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import logging
import math
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pysam

from .. import _core
from ..caller import LONG_READ_TRACT_PRIOR_SCALE, Progress, learnt_tract_priors, stream_vcf
from ..cohort import CohortSpec, normalise_platform
from ..error_model import ErrorModel, parse_header_line
from ..errors import InputError
from ..family import read_ped
from ..options import GENOTYPE_SHARD, CallOptions
from ..preflight import BGZF_EOF, check_bgzf_eof, check_output, check_readable, ensure_fasta_index
from ..regions import Region, make_shards, resolve_regions
from ..resume import check_output as resume_output_check
from ..resume import checkpoints, file_input, reference_input
from ..scheduler import iter_ordered
from ..vcf import FILTERS, ShardFormatter, VcfLayout, header_lines

log = logging.getLogger("gmscall")
NON_REF = "<NON_REF>"
_local = threading.local()


@dataclass(frozen=True)
class _GvcfPlan:
    gvcfs: tuple[str, ...]
    ref: str
    cohort: CohortSpec
    options: CallOptions
    shards: list[Region]
    ref_contigs: list[tuple[str, int]]
    headers: tuple[str, ...]  # per gVCF: its header text (the --resume manifest's checksum)
    indexes: tuple[str, ...]  # per gVCF: its index (.tbi/.csi)
    ped: str | None = None

    def resume_inputs(self) -> dict[str, list[tuple[str, str | bytes]]]:
        """The files of the run for the --resume manifest (resume.checkpoints), as given."""
        return {"gvcf": list(zip(self.gvcfs, self.headers)),
                "gvcf_index": [file_input(index, "gVCF index") for index in self.indexes],
                "reference": [reference_input(self.ref)],
                "ped": [] if self.ped is None else [file_input(self.ped, "pedigree")]}


def _index_of(path: str) -> Path:
    """The gVCF's index (.tbi, else .csi), checked: neither is truncated or damaged (a damaged
    index would silently drop records from the regions it fetches)."""
    index = next((Path(path + ext) for ext in (".tbi", ".csi") if Path(path + ext).exists()), None)
    if index is None:
        raise InputError(f"{path}: no index (.tbi/.csi); sort it ('bcftools sort -Oz') and run 'tabix -p vcf {path}'")
    check_index_intact(path, index)
    if index.stat().st_mtime < Path(path).stat().st_mtime:
        raise InputError(f"{path}: index {index.name} is older than the gVCF (stale: the gVCF changed after it was "
                         f"indexed); check the gVCF with 'gmscall check {path}', then rebuild the index with "
                         f"'tabix -f -p vcf {path}'")
    return index


def check_index_intact(path: str, index: Path) -> None:
    """`index` (tabix .tbi or .csi of `path`) is a whole, readable index: complete BGZF blocks
    ending with the end-of-file block, and the magic of its kind."""
    import gzip
    import zlib

    rebuild = f"rebuild it with 'tabix -p vcf {path}'"
    try:
        data = index.read_bytes()
    except OSError as e:
        raise InputError(_open_failure(str(index), e, f"cannot read the index ({e.strerror})")) from None
    magic = b"TBI\x01" if index.suffix == ".tbi" else b"CSI\x01"
    try:
        text = gzip.decompress(data)
    except (OSError, EOFError, zlib.error):
        raise InputError(f"{index}: the index is damaged (truncated or not a {index.suffix[1:]} index); "
                         f"{rebuild}") from None
    if not data.endswith(BGZF_EOF) or not text.startswith(magic):
        raise InputError(f"{index}: the index is damaged (truncated or not a {index.suffix[1:]} index); {rebuild}")


def _open_failure(path: str, err: OSError | None, what: str) -> str:
    """The message of a gVCF or index that cannot be opened: too many open files only when the
    system says so (EMFILE/ENFILE)."""
    import errno as errno_mod

    code = err.errno if err is not None else None
    if code is None and _near_fd_limit():  # pysam's OSError carries no errno
        code = errno_mod.EMFILE
    if code in (errno_mod.EMFILE, errno_mod.ENFILE):
        return f"{path}: cannot open it: too many files open; raise the limit with 'ulimit -n' (now {_nofile()})"
    return f"{path}: {what}"


def _near_fd_limit(margin: int = 4) -> bool:
    """Whether `margin` more files (a gVCF, its index and what htslib opens with them) would
    exceed the open-file limit: the likely reason an open failed without an errno."""
    import errno as errno_mod

    fds = []
    try:
        for _ in range(margin):
            fds.append(os.open(os.devnull, os.O_RDONLY))
    except OSError as e:
        return e.errno in (errno_mod.EMFILE, errno_mod.ENFILE)
    finally:
        for fd in fds:
            os.close(fd)
    return False


def _nofile() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _check_gvcf(path: str, ref_contigs: dict[str, int]) -> tuple[str, dict[str, int], str, Path]:
    """The sample, contigs, header text and index of one gVCF; every way it can be unusable is an
    error naming it."""
    check_readable(path, "gVCF")
    check_bgzf_eof(path, "bgzipped gVCF")
    try:
        with pysam.VariantFile(path) as vf:
            header = vf.header
            samples = list(header.samples)
            is_gvcf = "NON_REF" in header.alts or any(r.key.startswith("GVCFBlock") for r in header.records)
            contigs = {name: c.length for name, c in header.contigs.items()}
            header_text = str(header)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read it as VCF ({e})") from None
    if not is_gvcf:
        raise InputError(f"{path}: a plain VCF, not a gVCF (no <NON_REF> allele, no reference blocks); "
                         "make it with 'gmscall call --gvcf'")
    if len(samples) != 1:
        raise InputError(f"{path}: a gVCF of {len(samples)} samples; gmscall genotype takes one sample a file")
    for name, length in contigs.items():
        if name in ref_contigs and length is not None and length != ref_contigs[name]:
            raise InputError(f"{path}: contig '{name}' has length {length} but {ref_contigs[name]} in the reference: "
                             "the gVCF was made against another reference build")
    return samples[0], contigs, header_text, _index_of(path)


def _plan(gvcfs: Sequence[str | Path], ref: str | Path, regions: str | Sequence[str] | None, bed: str | Path | None,
          output: str | Path | None, options: CallOptions | None, shard_size: int, ped: str | Path | None
          ) -> _GvcfPlan:
    paths = tuple(str(g) for g in gvcfs)
    if not paths:
        raise InputError("no gVCF given")
    ref = str(ref)
    check_readable(ref, "reference FASTA")
    check_output(output)
    ensure_fasta_index(ref)
    with pysam.FastaFile(ref) as fa:
        ref_contigs = dict(zip(fa.references, fa.lengths))
    samples: list[str] = []
    headers: list[str] = []
    indexes: list[str] = []
    shared: dict[str, int] | None = None
    for path in paths:
        sample, contigs, header, index = _check_gvcf(path, ref_contigs)
        headers.append(header)
        indexes.append(str(index))
        if sample in samples:
            raise InputError(f"{path}: sample '{sample}' is also the sample of {paths[samples.index(sample)]}; "
                             "every gVCF must hold a different sample")
        samples.append(sample)
        names = {c for c in contigs if c in ref_contigs}
        shared = names if shared is None else shared & names
    contigs = {name: n for name, n in ref_contigs.items() if name in (shared or set())}
    if not contigs:
        raise InputError(f"the gVCFs share no contig with {ref}")
    trios: tuple[tuple[int, int, int], ...] = ()
    if ped is not None:
        pedigree = read_ped(ped)
        pedigree.check_samples(samples)
        trios = tuple(tuple(t) for t in pedigree.trios(samples))  # type: ignore[misc]
    cohort = CohortSpec(tuple(samples), tuple((k,) for k in range(len(samples))), trios=trios,
                        pedigree=None if ped is None else str(ped))
    shards = make_shards(resolve_regions(contigs, regions, bed), shard_size)
    opts = options or CallOptions()
    asked = opts
    models = [_models(h) for h in headers]
    if opts.long_tract_prior_scale == 0 and all(_platform(m) in ("PACBIO", "ONT") for m in models):
        opts = dataclasses.replace(opts, long_tract_prior_scale=LONG_READ_TRACT_PRIOR_SCALE)
    opts = learnt_tract_priors(opts, [m for ms in models for m in ms], asked)
    return _GvcfPlan(paths, ref, cohort, opts, shards, list(ref_contigs.items()), tuple(headers),
                     tuple(indexes), None if ped is None else str(ped))


def _models(header: str) -> list[ErrorModel]:
    """The error models of a gVCF's ##gmscallErrorModel lines (what its call learnt)."""
    return [parse_header_line(line) for line in re.findall(r"^##gmscallErrorModel=<.*>$", header, re.MULTILINE)]


def _platform(models: Sequence[ErrorModel]) -> str:
    """The platform of a gVCF's sample: that of its error models where they agree ('' where they
    do not, or there is none)."""
    names = {normalise_platform(m.platform) for m in models}
    return names.pop() if len(names) == 1 else ""


# ------------------------------------------------------------------ one shard


@dataclass
class _Line:
    """One gVCF line: a reference block (END) or a variant record with its <NON_REF>."""

    pos: int  # 0-based
    end: int  # exclusive
    alleles: list[str]  # REF first; blocks: [REF]
    ploidy: int
    dp: int
    pl: list[int] | None
    ad: list[int] | None = None
    mq: float | None = None
    sor: float | None = None
    hap: bool = False
    gl: list[float] | None = None  # FORMAT GL (log10), PL's unrounded values; None: PL / -10
    gt: tuple[int, ...] | None = None  # the sample's own call (indices into `alleles`)
    ps: int = 0  # its phase set when the call is phased (GT a|b with FORMAT PS), else 0
    strand_biased: bool = False  # FILTER StrandBias (an ONT indel whose ALT reads keep to one strand)
    repeat_alts: int = 0  # INFO REPEAT_ALTS: the last ALTs before <NON_REF> that the reads did not propose

    @property
    def proposed(self) -> list[str]:
        """The ALTs of the sample's own candidates: neither <NON_REF> nor a REPEAT_ALTS allele (those
        are listed for a cohort where another sample proposes them)."""
        alts = [a for a in self.alleles[1:] if a != NON_REF]
        return alts[:len(alts) - self.repeat_alts]


class _Damaged(ValueError):
    """What is wrong with one field of a gVCF line (the message names the field and its value)."""


_FILTER_STRAND_BIAS = "StrandBias"
_FILTER_STRAND_BIAS_BIT = next(bit for bit, name, _ in FILTERS if name == _FILTER_STRAND_BIAS)
_TRACT_REACH = 10_000  # reference read past a shard's end: its last sites' tracts (long_tract_bases <= 1000)
INT_MAX = 2**31 - 1  # the C++ core's int: a larger count is damage, not a depth
_BASES = frozenset("ACGTN")


def _count(text: str, what: str) -> int:
    """A non-negative whole number (ASCII digits only: int() would take ' 5', '+5', '1_0', '٥')."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > INT_MAX:
        raise _Damaged(f"{what} '{text[:20]}' is not a whole number >= 0")
    return int(text)


def _counts(text: str, what: str, n: int) -> list[int]:
    values = [_count(x, what) for x in text.split(",")]
    if len(values) != n:
        raise _Damaged(f"{what} has {len(values)} values, expected {n}")
    return values


def _real(text: str, what: str, *, max_value: float = math.inf, min_value: float = -math.inf) -> float:
    try:
        x = float(text)
    except ValueError:
        raise _Damaged(f"{what} '{text[:20]}' is not a number") from None
    if not (min_value <= x <= max_value) or not math.isfinite(x) or "_" in text:
        bound = f">= {min_value:g}" if max_value == math.inf else f"<= {max_value:g}"
        raise _Damaged(f"{what} '{text[:20]}' is not a finite number {bound}")
    return x


def _n_genotypes(ploidy: int, n_alleles: int) -> int:
    return n_alleles if ploidy == 1 else n_alleles * (n_alleles + 1) // 2


def _bases(text: str, what: str) -> str:
    up = text.upper()
    if not up or not _BASES.issuperset(up):
        raise _Damaged(f"{what} '{text[:20]}' is not bases (A, C, G, T, N)")
    return up


def damaged_record(path: str, where: str, what: str) -> InputError:
    """The one-line error of a damaged gVCF record: the file, where, what is wrong and the check."""
    return InputError(f"{path}: damaged record at {where}: {what}; check the whole file with 'gmscall check {path}'")


def _parse_line(path: str, text: str) -> _Line:
    try:
        return _parse_fields(text)
    except (IndexError, KeyError, ValueError) as e:
        f = text.split("\t", 2)
        where = f"{f[0][:40]}:{f[1][:20]}" if len(f) > 2 else f"'{text[:40]}'"
        what = str(e) if isinstance(e, _Damaged) else f"cannot read it ({e})"
        raise damaged_record(path, where, what) from None


def _parse_fields(text: str) -> _Line:
    """One gVCF line, every field gmscall genotype uses validated (_Damaged says which is wrong)."""
    f = text.split("\t")
    if len(f) != 10:
        raise _Damaged(f"{len(f)} columns, a one-sample gVCF line has 10")
    pos = _count(f[1], "POS") - 1
    if pos < 0:
        raise _Damaged("POS 0 (positions start at 1)")
    ref = _bases(f[3], "REF")
    info = dict(kv.split("=", 1) if "=" in kv else (kv, "") for kv in f[7].split(";"))
    keys = f[8].split(":")
    values = f[9].split(":")
    if len(values) > len(keys):
        raise _Damaged(f"the sample column has {len(values)} values for {len(keys)} FORMAT keys")
    fields = dict(zip(keys, values))
    block = "END" in info
    if block:
        if f[4] != NON_REF:
            raise _Damaged(f"ALT '{f[4][:20]}' of a reference block (INFO END) is not {NON_REF}")
        if len(ref) != 1:
            raise _Damaged(f"REF '{ref[:20]}' of a reference block is not one base")
        alleles = [ref]
    else:
        if not f[4]:
            raise _Damaged(f"ALT is empty (a gVCF line lists {NON_REF})")
        alts = f[4].split(",")
        for a in alts:
            if a != NON_REF:
                _bases(a, "ALT allele" if a else "an empty ALT allele")
        alleles = [ref, *(a.upper() if a != NON_REF else a for a in alts)]
        if NON_REF not in alts:
            raise _Damaged(f"ALT '{f[4][:40]}' has no {NON_REF} (a gVCF variant record lists it)")
        if len(set(alleles)) != len(alleles):
            raise _Damaged(f"REF and ALT '{f[3][:20]} {f[4][:40]}' list an allele twice")
    n_alleles = 2 if block else len(alleles)
    gt = fields.get("GT", ".")
    copies = gt.replace("|", "/").split("/")
    ploidy = 0 if gt == "." else len(copies)
    if ploidy > 2:
        raise _Damaged(f"GT '{gt[:20]}' has ploidy {ploidy} (gmscall genotypes haploid and diploid samples)")
    if ploidy:
        for a in copies:
            if a != "." and _count(a, "a GT allele") >= n_alleles:
                raise _Damaged(f"GT '{gt}' names allele {a} but the record has {n_alleles} alleles")
    dp = _count(fields["DP"], "FORMAT DP") if fields.get("DP", ".") != "." else 0
    pl = None
    if fields.get("PL", ".") != ".":
        if not ploidy:
            raise _Damaged(f"PL '{fields['PL'][:20]}' with no GT (ploidy 0)")
        pl = _counts(fields["PL"], "PL", _n_genotypes(ploidy, n_alleles))
    if block:
        end = _count(info["END"], "INFO END")
        if end <= pos:
            raise _Damaged(f"INFO END {end} is before POS {pos + 1}")
        return _Line(pos, end, alleles, ploidy, dp, pl)
    ad = _counts(fields["AD"], "AD", n_alleles) if fields.get("AD", ".") != "." else None
    mq = _real(info["MQ"], "INFO MQ", min_value=0) if info.get("MQ", ".") != "." else None
    sor = _real(info["SOR"], "INFO SOR", min_value=0) if info.get("SOR", ".") != "." else None
    gl = None
    if fields.get("GL", ".") != ".":
        if not ploidy:
            raise _Damaged(f"GL '{fields['GL'][:20]}' with no GT (ploidy 0)")
        gl = [_real(x, "GL", max_value=0) for x in fields["GL"].split(",")]
        if len(gl) != _n_genotypes(ploidy, n_alleles):
            raise _Damaged(f"GL has {len(gl)} values, expected {_n_genotypes(ploidy, n_alleles)}")
    own = tuple(int(a) for a in copies) if ploidy and "." not in copies else None
    ps = 0
    if own is not None and "|" in gt and fields.get("PS", ".") != ".":
        ps = _count(fields["PS"], "FORMAT PS")
    repeat_alts = _count(info["REPEAT_ALTS"], "INFO REPEAT_ALTS") if info.get("REPEAT_ALTS", ".") != "." else 0
    if repeat_alts:
        extra = alleles[alleles.index(NON_REF) - repeat_alts:alleles.index(NON_REF)]
        if alleles.index(NON_REF) - repeat_alts < 2:
            raise _Damaged(f"INFO REPEAT_ALTS={repeat_alts} leaves no ALT of the sample's own before them")
        if own is not None and any(alleles[a] in extra for a in own):
            raise _Damaged(f"GT '{gt}' names a REPEAT_ALTS allele (listed for a cohort, never called)")
    line = _Line(pos, pos + len(ref), alleles, ploidy, dp, pl, ad, mq, sor, "HAP" in info, gl, own, ps,
                 _FILTER_STRAND_BIAS in f[6].split(";"), repeat_alts)
    if repeat_alts:  # a deletion among them lengthens REF: the sample's own alleles span less
        line.end = pos + _own_ref_length(ref, line.proposed)
    return line


def _own_ref_length(ref: str, alts: list[str]) -> int:
    """Length of REF trimmed with `alts` to their minimal form (the bases they all end with)."""
    cut = 0
    while len(ref) - cut > 1 and all(len(a) - cut > 1 and a[len(a) - cut - 1] == ref[len(ref) - cut - 1] for a in alts):
        cut += 1
    return len(ref) - cut


@dataclass
class _SampleLines:
    """One gVCF's lines over a shard: its variant records parsed, its reference blocks as text
    (most blocks cover no variant site of the cohort: they are parsed only when one does)."""

    path: str
    variants: list[_Line] = field(default_factory=list)
    block_pos: list[int] = field(default_factory=list)
    block_end: list[int] = field(default_factory=list)
    block_text: list[str] = field(default_factory=list)
    parsed: dict[int, _Line] = field(default_factory=dict)  # blocks parsed so far, by index

    def block_at(self, pos: int) -> _Line | None:
        k = bisect.bisect_right(self.block_pos, pos) - 1
        if k >= 0 and self.block_end[k] > pos:
            if k not in self.parsed:  # a long block under several of the cohort's sites
                self.parsed[k] = _parse_line(self.path, self.block_text[k])
            return self.parsed[k]
        return None


# Open gVCFs kept per thread, keyed by the file's identity (a file replaced between two runs in one
# process is opened again) and bounded, so that hundreds of gVCFs times threads stay within the
# file-descriptor limit.
TABIX_PER_THREAD = 256


def _tabix(path: str) -> pysam.TabixFile:
    cache: OrderedDict[tuple, pysam.TabixFile] | None = getattr(_local, "tabix", None)
    if cache is None:
        cache = _local.tabix = OrderedDict()
    st = os.stat(path)
    key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    try:
        handle = pysam.TabixFile(path)
    except OSError as e:
        index = next((Path(path + x) for x in (".tbi", ".csi") if Path(path + x).exists()), None)
        message = _open_failure(path, e, f"cannot open it ({e})")
        if "ulimit" not in message and index is not None:
            check_index_intact(path, index)  # raises if damaged
            message = _open_failure(str(index), None, f"cannot open it with its index {index.name} ({e}); "
                                    f"rebuild the index with 'tabix -p vcf {path}'")
        raise InputError(message) from None
    cache[key] = handle
    while len(cache) > TABIX_PER_THREAD:
        cache.popitem(last=False)[1].close()
    return handle


def _end_of_block(info: str) -> int | None:
    for kv in info.split(";"):
        if kv.startswith("END="):
            return _count(kv[4:], "INFO END")
    return None


def _read_shard(path: str, shard: Region) -> _SampleLines:
    tbx = _tabix(path)
    out, last = _SampleLines(path), -1
    if shard.contig not in tbx.contigs:  # a contig of the header without records
        return out
    lines = tbx.fetch(shard.contig, shard.start, shard.end)
    while True:
        try:
            text = next(lines)
        except StopIteration:
            break
        except (ValueError, OSError):  # htslib cannot parse a line (binary data) or a block
            after = f"after {shard.contig}:{last + 1}" if last >= 0 else f"in {shard.contig}:{shard.start + 1}-{shard.end}"
            raise InputError(f"{path}: a damaged line {after} (not a VCF line, or damaged compressed data); "
                             f"check the whole file with 'gmscall check {path}'") from None
        f = text.split("\t", 8)
        try:
            if len(f) < 9:
                raise _Damaged(f"{len(f)} columns, a one-sample gVCF line has 10")
            pos = _count(f[1], "POS") - 1
            end = _end_of_block(f[7])
            if end is not None and end <= pos:
                raise _Damaged(f"INFO END {end} is before POS {pos + 1}")
        except _Damaged as e:
            raise damaged_record(path, f"{shard.contig}:{f[1][:20] if len(f) > 1 else '?'}", str(e)) from None
        if pos < last:
            raise InputError(f"{path}: not sorted ({shard.contig}:{pos + 1} after {last + 1}); "
                             f"sort it with 'bcftools sort' and index it again")
        last = pos
        if end is not None:
            out.block_pos.append(pos)
            out.block_end.append(end)
            out.block_text.append(text)
        else:
            if out.variants and out.variants[-1].pos == pos:  # the sites would keep one of them, unseen
                raise damaged_record(path, f"{shard.contig}:{pos + 1}", "a second variant record at the same POS")
            out.variants.append(_parse_line(path, text))
    return out


def _genotype_index(g: Sequence[int]) -> int:
    if len(g) == 1:
        return g[0]
    a, b = sorted(g)
    return b * (b + 1) // 2 + a


def _genotypes(ploidy: int, n: int) -> list[tuple[int, ...]]:
    if ploidy == 1:
        return [(a,) for a in range(n)]
    return [(i, j) for j in range(n) for i in range(j + 1)] if ploidy == 2 else []


@dataclass
class _Site:
    pos: int
    alleles: list[str]
    samples: list[tuple[int, int, list[int], list[float], int]] = field(default_factory=list)
    per_site: list[bool] = field(default_factory=list)  # per allele: a per-site-model record lists it
    mq: list[tuple[int, float]] = field(default_factory=list)
    sor: tuple[int, float] | None = None  # (DP, SOR) of the deepest sample record that has one
    hap: bool = False
    # per sample: its own phased call here (PS, first allele, second allele: site allele strings)
    phase: list[tuple[int, str, str] | None] = field(default_factory=list)
    # per sample: its own record here is FILTER StrandBias (the caller's ONT indel strand test)
    strand_biased: list[bool] = field(default_factory=list)
    # REF and the ALTs of the samples' own calls: the alleles whose tracts set the record's indel
    # priors, as calling the BAMs sets them over those its haplotypes selected
    called: list[str] = field(default_factory=list)

    @property
    def strand_odds(self) -> float:
        return self.sor[1] if self.sor else float("nan")


def _likelihoods_of_record(line: _Line, alleles: list[str], longest_ref: str
                           ) -> tuple[list[int], list[float], int]:
    """AD and GL over the site's genotypes from a variant record (site alleles the record lacks
    take the likelihood of its <NON_REF>), and the record's own call as a site genotype index (-1:
    none)."""
    suffix = longest_ref[len(line.alleles[0]):]
    own = [a + suffix if a != NON_REF else NON_REF for a in line.alleles]
    nonref = own.index(NON_REF) if NON_REF in own else None
    index = [own.index(a) if a in own else nonref for a in alleles]
    ad = [line.ad[i] if line.ad is not None and i is not None and i != nonref else 0 for i in index]
    if line.pl is None or any(i is None for i in index):
        return ad, [], -1
    n_gt = len(_genotypes(line.ploidy, len(own)))
    if len(line.pl) != n_gt or (line.gl is not None and len(line.gl) != n_gt):
        raise InputError(f"the record at {line.pos + 1} has {len(line.pl)} PL values for {len(own)} alleles "
                         f"and ploidy {line.ploidy}")
    own_gl = line.gl if line.gl is not None else [-x / 10.0 for x in line.pl]
    gl = [own_gl[_genotype_index([index[a] for a in g])] for g in _genotypes(line.ploidy, len(alleles))]
    called = -1
    if line.gt is not None and all(0 <= a < len(own) and own[a] in alleles for a in line.gt):
        called = _genotype_index([alleles.index(own[a]) for a in line.gt])
    return ad, gl, called


def _likelihoods_of_block(line: _Line, n_alleles: int) -> list[float]:
    """GL from a reference block's PL over 0/0, 0/N, N/N (haploid 0, N): every ALT is non-ref. A
    block without reads is no call, as a sample without reads is in joint calling."""
    if line.pl is None or line.dp == 0 or len(line.pl) != line.ploidy + 1:
        return []
    return [-line.pl[sum(a > 0 for a in g)] / 10.0 for g in _genotypes(line.ploidy, n_alleles)]


def _spanning(lines: list[_Line], pos: int) -> _Line | None:
    """A sample's own variant record that starts before `pos` and covers it (a deletion), seen as
    a reference block at `pos`: the sample carries no ALT of this site, as sure as its own call
    (GQ); GATK would write the spanning-deletion allele '*'."""
    for line in lines:
        if line.pos < pos < line.end and line.pl:
            gq = min(sorted(line.pl)[1], 99)
            return _Line(pos, pos + 1, [line.alleles[0][pos - line.pos]], line.ploidy, line.dp,
                         [0, gq, max(line.pl)] if line.ploidy == 2 else [0, gq])
    return None


def _sites(per_sample: list[_SampleLines], shard: Region) -> list[_Site]:
    positions = sorted({ln.pos for lines in per_sample for ln in lines.variants if shard.start <= ln.pos < shard.end})
    by_pos = [{ln.pos: ln for ln in lines.variants} for lines in per_sample]
    out = []
    for pos in positions:
        records = [(s, by_pos[s][pos]) for s in range(len(per_sample)) if pos in by_pos[s]]
        longest_ref = max((ln.alleles[0] for _, ln in records), key=len)
        alleles = [longest_ref]
        for _, ln in records:  # the alleles the samples' reads propose (as joint calling's candidates)
            suffix = longest_ref[len(ln.alleles[0]):]
            for a in ln.proposed:
                if a + suffix not in alleles:
                    alleles.append(a + suffix)
        if len(alleles) < 2:
            continue
        called = [longest_ref]
        for _, ln in records:
            suffix = longest_ref[len(ln.alleles[0]):]
            for i in ln.gt or ():
                a = ln.alleles[i] + suffix if i > 0 and ln.alleles[i] != NON_REF else None
                if a is not None and a not in called:
                    called.append(a)
        site = _Site(pos, alleles, per_site=[False] * len(alleles), called=called)
        for s in range(len(per_sample)):
            line = by_pos[s].get(pos)
            if line is not None:
                ad, gl, called = _likelihoods_of_record(line, alleles, longest_ref)
                site.samples.append((line.ploidy, line.dp, ad, gl, called))
                suffix = longest_ref[len(line.alleles[0]):]
                site.phase.append((line.ps, line.alleles[line.gt[0]] + suffix, line.alleles[line.gt[1]] + suffix)
                                  if line.ps and line.gt is not None and len(line.gt) == 2 else None)
                site.hap |= line.hap
                site.strand_biased.append(line.strand_biased)
                if not line.hap:  # the per-site model lists its candidates whatever the call
                    suffix = longest_ref[len(line.alleles[0]):]
                    for a in line.alleles[1:]:
                        if a != NON_REF:
                            site.per_site[alleles.index(a + suffix)] = True
                if line.mq is not None:
                    site.mq.append((line.dp, line.mq))
                if line.sor is not None and (site.sor is None or line.dp > site.sor[0]):
                    site.sor = (line.dp, line.sor)
                continue
            site.phase.append(None)
            site.strand_biased.append(False)
            block = per_sample[s].block_at(pos) or _spanning(per_sample[s].variants, pos)
            gl = _likelihoods_of_block(block, len(alleles)) if block is not None else []
            if not gl:  # not covered
                site.samples.append((block.ploidy if block is not None else 2, 0, [], [], -1))
            else:
                site.samples.append((block.ploidy, block.dp, [block.dp] + [0] * (len(alleles) - 1), gl, -1))
        out.append(site)
    return out


def _genotype_shard(plan_bits: tuple[tuple[str, ...], CohortSpec, CallOptions, str], shard: Region
                    ) -> tuple[str, dict]:
    gvcfs, cohort, options, ref_path = plan_bits
    per_sample = [_read_shard(path, shard) for path in gvcfs]
    core_cohort = cohort.core(shard.contig, shard.start, shard.end)
    params = options.to_core()
    # the core scales the indel priors of long tandem-repeat tracts as calling the BAMs
    # does, from the reference after each site; read only where those priors are on
    ref = ""
    if _core.tract_priors_on(params):
        with pysam.FastaFile(ref_path) as fa:
            ref = fa.fetch(shard.contig, shard.start, shard.end + _TRACT_REACH).upper()
    kept: list[tuple[_Site, tuple]] = []
    for site in _sites(per_sample, shard):
        result = _core.genotype_site(site.alleles, site.samples, site.per_site, site.hap, core_cohort, params,
                                     site.strand_odds, site.pos, ref, shard.start, site.called)
        if result is not None:
            kept.append((site, _with_strand_bias(site, result)))
    return shard.contig, _as_records(kept, cohort.n_samples)


def _with_strand_bias(site: _Site, result: tuple) -> tuple:
    """FILTER StrandBias on an indel record whose ALT carriers all had it on their own records, as
    calling the BAMs sets it on an ONT indel (csrc/core/joint.cpp ont_indel_strand_bias: every
    carrier ONT and the ALT reads on one strand). A gVCF keeps each sample's verdict, not its
    reads' strands, so a cohort's is the carriers' own (calling the BAMs pools their reads)."""
    gts, out_alleles = result[2], result[7]
    if all(len(a) == len(out_alleles[0]) for a in out_alleles):
        return result
    carriers = [j for j, g in enumerate(gts) if g and any(a > 0 for a in g)]
    if not carriers or not all(site.strand_biased[j] for j in carriers):
        return result
    return (result[0], result[1] | _FILTER_STRAND_BIAS_BIT, *result[2:])


def _as_records(kept: list[tuple[_Site, tuple]], ns: int) -> dict:
    n = len(kept)
    gt = np.full((n, ns, 2), -2, dtype=np.int32)
    gq = np.full((n, ns), -1, dtype=np.int32)
    sdp = np.zeros((n, ns), dtype=np.int32)
    dnq = np.full((n, ns), -1, dtype=np.int32)
    ps = np.zeros((n, ns), dtype=np.int64)
    flip = np.zeros((n, ns), dtype=np.uint8)
    ad, pl = [], []
    for k, (site, result) in enumerate(kept):
        _, _, gts, gqs, dnqs, pls, ads, out_alleles = result
        for j, (ploidy, dp, *_) in enumerate(site.samples):
            calls = gts[j] or [-1] * ploidy
            gt[k, j, :len(calls)] = calls
            gq[k, j], dnq[k, j], sdp[k, j] = gqs[j], dnqs[j], dp
            if (site.phase[j] is not None and result[1] == 0 and len(calls) == 2 and calls[0] != calls[1]
                    and min(calls) >= 0):  # (a PASS record: as the caller phases)
                ps[k, j], flip[k, j] = _own_phase(site.phase[j], site.alleles, out_alleles, calls)
        ad.append([ads[j] if gts[j] else [] for j in range(ns)])
        pl.append(pls)
    mq = [math.sqrt(sum(d * m * m for d, m in s.mq) / max(1, sum(d for d, _ in s.mq))) if s.mq else float("nan")
          for s, _ in kept]
    return {
        "pos": np.array([s.pos for s, _ in kept], dtype=np.int64),
        "ref": [r[7][0] for _, r in kept], "alts": [r[7][1:] for _, r in kept],
        "qual": np.array([r[0] for _, r in kept], dtype=np.float64),
        "filter": np.array([r[1] for _, r in kept], dtype=np.int32),
        "dp": sdp.sum(axis=1).astype(np.int32), "mq": np.array(mq, dtype=np.float64),
        "sor": np.array([s.strand_odds for s, _ in kept], dtype=np.float64),
        "haplotype_model": np.array([s.hap for s, _ in kept], dtype=np.uint8),
        "gt": gt, "gq": gq, "sample_dp": sdp, "dnq": dnq, "ad": ad, "pl": pl, "ps": ps, "phase_flip": flip,
    }


def _own_phase(phase: tuple[int, str, str], site_alleles: list[str], out_alleles: Sequence[str],
               calls: Sequence[int]) -> tuple[int, int]:
    """(PS, flip) of a het genotyped as `calls` (indices into the record's `out_alleles`, trimmed
    from `site_alleles` by a common suffix) when it is the sample's own phased call, else (0, 0)."""
    ps, first, second = phase
    cut = len(site_alleles[0]) - len(out_alleles[0])
    def trim(a: str) -> str:
        return a[:len(a) - cut] if cut else a
    try:
        a, b = out_alleles.index(trim(first)), out_alleles.index(trim(second))
    except ValueError:
        return 0, 0
    if sorted((a, b)) != sorted(calls):
        return 0, 0
    return ps, int(calls[0] != a)


# ------------------------------------------------------------------ the run


def _shard_results(plan: _GvcfPlan, shards: list[Region], threads: int, client: Any) -> Iterator[tuple[str, dict]]:
    task = functools.partial(_genotype_shard, (plan.gvcfs, plan.cohort, plan.options, plan.ref))
    return iter_ordered(task, shards, threads, client)


def genotype_gvcfs(gvcfs: Sequence[str | Path], ref: str | Path, output: str | Path = "-", *,
                   regions: str | Sequence[str] | None = None, bed: str | Path | None = None, threads: int = 1,
                   client: Any = None, options: CallOptions | None = None, ped: str | Path | None = None,
                   shard_size: int = GENOTYPE_SHARD, command: str | None = None,
                   progress: Progress | None = None, resume: bool = False) -> Path:
    """Joint genotyping of one-sample gVCFs (from `gmscall call --gvcf`) into one multi-sample
    VCF with the record layout of multi-BAM joint calling; returns the output path.

    `resume=True` checkpoints finished shards next to the output and reuses those of an earlier,
    interrupted run with the same gVCFs (and indexes), reference, pedigree, options and shards."""
    from .. import __version__

    if resume:
        resume_output_check(output)
    plan = _plan(gvcfs, ref, regions, bed, output, options, shard_size, ped)
    # each sample's own phase is kept where its genotype is its own call (FORMAT PS of the gVCFs)
    layout = VcfLayout.of(plan.cohort, phase=any("##FORMAT=<ID=PS," in h for h in plan.headers))
    header = header_lines(plan.ref_contigs, layout, plan.ref, __version__,
                          command if command is not None else "gmscall.genotype_gvcfs (Python API)",
                          "cpu", plan.cohort.header_lines())  # genotyping from likelihoods runs no kernel
    with checkpoints(output, resume, "genotype", plan.resume_inputs() if resume else {},
                     dataclasses.asdict(plan.options), dataclasses.asdict(plan.cohort), plan.shards) as work:
        stream_vcf(output, header, ShardFormatter(layout), plan.shards,
                   lambda todo: _shard_results(plan, todo, threads, client),
                   progress, work)
    log.info("genotyped %d gVCFs over %d shards", len(plan.gvcfs), len(plan.shards))
    return Path(output) if str(output) != "-" else Path("/dev/stdout")
