"""One pass over a joint VCF (or one-sample gVCFs): genotypes for relatedness, per-sample counts
and distributions, the evidence of each sample's sex, Mendelian errors of the PED's trios,
phase blocks and the header lines gmscall writes (sex, error model, ploidy).

Per-record Python through pysam: a joint VCF of a few Mb of a trio (5,000 records) reads in a
fraction of a second, a genome's (5 million) in minutes, well below the time of calling it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pysam

from ..errors import InputError
from ..evaluation import trios as _trios
from .relate import GenotypeMatrix

GQ_BINS = 100  # GQ 0..99
DP_MAX = 200  # depth histogram 0..DP_MAX (the last bin holds DP_MAX and more)
INDEL_MAX = 30  # indel length histogram -INDEL_MAX..INDEL_MAX (ends hold longer ones)
X_NAMES = ("chrX", "X")
Y_NAMES = ("chrY", "Y")
MT_NAMES = ("chrM", "MT", "M", "chrMT")
_TRANSITIONS = {("A", "G"), ("G", "A"), ("C", "T"), ("T", "C")}
#: A haploid call whose minor allele has at least this share of AD reads counts as heterozygous
#: evidence on chrX (a female called haploid by a wrong sex still shows both alleles).
X_HET_MIN_FRACTION = 0.2


@dataclass
class SampleStats:
    name: str
    records: int = 0  # records where the sample carries an ALT (PASS)
    snv: int = 0
    mnv: int = 0
    insertion: int = 0
    deletion: int = 0
    complex: int = 0
    transitions: int = 0
    transversions: int = 0
    het: int = 0
    hom_alt: int = 0
    haploid_alt: int = 0
    missing: int = 0
    indel_lengths: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    gq_hist: np.ndarray = field(default_factory=lambda: np.zeros(GQ_BINS, dtype=np.int64))
    dp_hist: np.ndarray = field(default_factory=lambda: np.zeros(DP_MAX + 1, dtype=np.int64))
    # sex evidence from the VCF
    auto_dp: list[int] = field(default_factory=list)
    x_dp: list[int] = field(default_factory=list)
    y_dp: list[int] = field(default_factory=list)
    auto_het: int = 0
    auto_homalt: int = 0
    x_het: int = 0
    x_homalt: int = 0
    # phase
    phased: int = 0
    ps_blocks: dict[tuple[str, int], list[int]] = field(default_factory=dict)  # (contig, PS) -> [first, last]
    # gVCF
    gvcf: str | None = None
    bases: int = 0
    callable_bases: int = 0
    bp_gq_hist: np.ndarray = field(default_factory=lambda: np.zeros(GQ_BINS, dtype=np.int64))
    bp_dp_hist: np.ndarray = field(default_factory=lambda: np.zeros(DP_MAX + 1, dtype=np.int64))
    contig_dp_bases: dict[str, list[float]] = field(default_factory=dict)  # contig -> [sum DP*bp, bp]

    @property
    def titv(self) -> float | None:
        return self.transitions / self.transversions if self.transversions else None

    @property
    def het_hom_ratio(self) -> float | None:
        return self.het / self.hom_alt if self.hom_alt else None

    @property
    def callable_fraction(self) -> float | None:
        return self.callable_bases / self.bases if self.bases else None

    @property
    def phase_n50(self) -> int | None:
        spans = sorted((last - first + 1 for first, last in self.ps_blocks.values()), reverse=True)
        if not spans:
            return None
        half, acc = sum(spans) / 2, 0
        for s in spans:
            acc += s
            if acc >= half:
                return int(s)
        return int(spans[-1])


@dataclass
class ScanResult:
    samples: list[str]
    stats: dict[str, SampleStats]
    genotypes: GenotypeMatrix
    mendel: list[Any] = field(default_factory=list)  # evaluation.trios.MendelResult per trio
    denovo: list[dict[str, Any]] = field(default_factory=list)
    header_sex: dict[str, tuple[str, str]] = field(default_factory=dict)  # sample -> (sex, source)
    error_model: list[dict[str, str]] = field(default_factory=list)
    ploidy_source: str | None = None
    contig_lengths: dict[str, int] = field(default_factory=dict)


def _header_structured(vf: pysam.VariantFile, key: str) -> list[dict[str, str]]:
    out = []
    for rec in vf.header.records:
        if rec.key == key and rec.type == "STRUCTURED" or (rec.key == key and rec.type == "GENERIC"):
            if rec.type == "STRUCTURED":
                out.append({k: str(v).strip('"') for k, v in rec.items()})
            else:
                out.append(_parse_generic(str(rec.value)))
    return out


def _parse_generic(value: str) -> dict[str, str]:
    body = value.strip()
    if body.startswith("<") and body.endswith(">"):
        body = body[1:-1]
    return {m.group(1): m.group(2).strip('"') for m in re.finditer(r'(\w+)=("[^"]*"|[^,]*)', body)}


def _header_value(vf: pysam.VariantFile, key: str) -> str | None:
    for rec in vf.header.records:
        if rec.key == key and rec.type == "GENERIC":
            return str(rec.value)
    return None


def is_gvcf(vf: pysam.VariantFile) -> bool:
    return "NON_REF" in vf.header.alts or any(r.key == "GVCFBlock" for r in vf.header.records)


def open_vcf(path: str) -> pysam.VariantFile:
    verbosity = pysam.set_verbosity(0)
    try:
        return pysam.VariantFile(path)
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read it as VCF/BCF ({str(e).strip() or type(e).__name__})") from None
    finally:
        pysam.set_verbosity(verbosity)


def _allele_kind(ref: str, alt: str) -> str:
    if len(ref) == len(alt):
        return "snv" if len(ref) == 1 else "mnv"
    # trim the shared anchor
    if alt.startswith(ref) or ref.startswith(alt):
        return "insertion" if len(alt) > len(ref) else "deletion"
    return "complex"


def _is_pass(rec: pysam.VariantRecord) -> bool:
    keys = list(rec.filter.keys())
    return not keys or keys == ["PASS"]


class _SexRegions:
    """Which records are on chrX outside the PARs, on chrY, or autosomal."""

    def __init__(self, ploidy_map, lengths: dict[str, int]) -> None:
        self.x_nonpar: dict[str, list[tuple[int, int]]] = {}
        for name in X_NAMES:
            if name in lengths:
                ivs = ploidy_map.intervals(name, 0, lengths[name], "M") if ploidy_map is not None else []
                hap = [(s, e) for s, e, p in ivs if p == 1]
                self.x_nonpar[name] = hap if hap else [(0, lengths[name])]

    def kind(self, contig: str, pos0: int) -> str:
        if contig in X_NAMES:
            for s, e in self.x_nonpar.get(contig, ()):
                if s <= pos0 < e:
                    return "x"
            return "par"
        if contig in Y_NAMES:
            return "y"
        if contig in MT_NAMES:
            return "mt"
        return "auto"


def scan_vcf(path: str, ped=None, ploidy_map=None, min_gq: int = 20, min_dp: int = 10) -> ScanResult:
    """Read a joint (or one-sample) VCF once. ``ped``: a gmscall.family.Pedigree for Mendelian
    errors. ``ploidy_map``: where chrX is haploid in males (the PARs excluded); None: all of chrX."""
    with open_vcf(path) as vf:
        samples = list(vf.header.samples)
        if not samples:
            raise InputError(f"{path}: no sample columns; gmscall qc needs genotypes")
        lengths = {name: (c.length or 0) for name, c in vf.header.contigs.items()}
        if ploidy_map is None:
            ploidy_map = _ploidy_from_header(vf)
        regions = _SexRegions(ploidy_map, lengths)
        stats = {s: SampleStats(s) for s in samples}
        result = ScanResult(samples, stats, GenotypeMatrix(samples, np.zeros(0, np.int32), np.zeros(0, np.int64),
                                                           np.zeros((0, len(samples)), np.int8)))
        result.contig_lengths = lengths
        result.ploidy_source = getattr(ploidy_map, "source", None)
        for rec in _header_structured(vf, "gmscallSex"):
            if "ID" in rec:
                result.header_sex[rec["ID"]] = (rec.get("Sex", "unknown"), rec.get("Source", ""))
        result.error_model = _header_structured(vf, "gmscallErrorModel")
        trio_list = ped.trios(samples) if ped is not None else []
        mendel = [_trios.MendelResult(path, (samples[c], samples[f], samples[m])) for c, f, m in trio_list]
        for res in mendel:
            for k in ("records", "filtered", "outside", "no_alt", "no_ref_contig", "not_all_called", "other_ploidy"):
                res.stats[k] = 0
        result.mendel = mendel
        has_ps = "PS" in vf.header.formats
        contig_ids: dict[str, int] = {}
        g_contig: list[int] = []
        g_pos: list[int] = []
        g_dos: list[list[int]] = []
        for rec in vf:
            if not _is_pass(rec):
                for res in mendel:
                    res.stats["records"] += 1
                    res.stats["filtered"] += 1
                continue
            alleles = rec.alleles or ()
            real = [a for a in alleles[1:] if not a.startswith("<")]  # a gVCF's <NON_REF> aside
            if not real:
                continue
            kind = regions.kind(rec.chrom, rec.start)
            biallelic_snv = len(real) == 1 and len(alleles[0]) == 1 and len(real[0]) == 1
            row = [] if (biallelic_snv and kind == "auto") else None
            for s in samples:
                call = rec.samples[s]
                gt = call.get("GT") or ()
                gq = call.get("GQ")
                dp = call.get("DP")
                st = stats[s]
                called = len(gt) > 0 and None not in gt
                if row is not None:
                    good = called and len(gt) == 2 and (gq is None or gq >= min_gq) and (dp is None or dp >= min_dp)
                    row.append(sum(1 for a in gt if a) if good else -1)
                if dp is not None:
                    {"auto": st.auto_dp, "x": st.x_dp, "y": st.y_dp}.get(kind, []).append(dp)
                if not called:
                    st.missing += 1
                    continue
                alts = [a for a in gt if a]
                if not alts:
                    continue
                st.records += 1
                if gq is not None:
                    st.gq_hist[min(int(gq), GQ_BINS - 1)] += 1
                if dp is not None:
                    st.dp_hist[min(int(dp), DP_MAX)] += 1
                if len(gt) == 1:
                    st.haploid_alt += 1
                elif gt[0] != gt[1]:
                    st.het += 1
                else:
                    st.hom_alt += 1
                for a in set(alts):
                    ref, alt = alleles[0], alleles[a]
                    if alt.startswith("<"):
                        continue
                    k = _allele_kind(ref, alt)
                    setattr(st, k, getattr(st, k) + 1)
                    if k == "snv":
                        if (ref.upper(), alt.upper()) in _TRANSITIONS:
                            st.transitions += 1
                        else:
                            st.transversions += 1
                    elif k in ("insertion", "deletion"):
                        n = max(-INDEL_MAX, min(INDEL_MAX, len(alt) - len(ref)))
                        st.indel_lengths[n] += 1
                if kind in ("auto", "x") and (dp is None or dp >= min_dp):
                    het = len(gt) == 2 and gt[0] != gt[1]
                    if len(gt) == 1:  # haploid call: heterozygous when the reads say so
                        ad = call.get("AD")
                        if ad and None not in ad and sum(ad) > 0:
                            top = sorted(ad, reverse=True)
                            het = top[1] / sum(ad) >= X_HET_MIN_FRACTION
                    if kind == "auto":
                        st.auto_het += het
                        st.auto_homalt += not het
                    else:
                        st.x_het += het
                        st.x_homalt += not het
                if has_ps and call.phased and len(gt) == 2 and gt[0] != gt[1]:
                    ps = call.get("PS")
                    if ps is not None:
                        st.phased += 1
                        block = st.ps_blocks.setdefault((rec.chrom, int(ps)), [rec.pos, rec.pos])
                        block[0], block[1] = min(block[0], rec.pos), max(block[1], rec.pos)
            if row is not None:
                g_contig.append(contig_ids.setdefault(rec.chrom, len(contig_ids)))
                g_pos.append(rec.pos)
                g_dos.append(row)
            for res in mendel:
                res.stats["records"] += 1
                _trios._mendel_record(res, rec, _trios.DNQ_MIN)
            if mendel and ("DENOVO" in rec.info or "DNQ" in rec.format):
                for res in mendel:
                    if _trios._is_denovo(rec, res.trio[0], _trios.DNQ_MIN):
                        child = rec.samples[res.trio[0]]
                        result.denovo.append({
                            "child": res.trio[0], "chrom": rec.chrom, "pos": rec.pos, "ref": rec.ref,
                            "alt": ",".join(rec.alts or ()), "dnq": child.get("DNQ") if "DNQ" in rec.format else None,
                            "genotypes": " ".join(f"{s}={_trios._fmt_gt(_trios._gt_of(rec, s))}" for s in res.trio),
                        })
        result.genotypes = GenotypeMatrix(
            samples, np.asarray(g_contig, dtype=np.int32), np.asarray(g_pos, dtype=np.int64),
            np.asarray(g_dos, dtype=np.int8).reshape(len(g_pos), len(samples)))
    return result


def _ploidy_from_header(vf: pysam.VariantFile):
    """The ploidy map the VCF was called with (##gmscallPloidy), else GRCh38/GRCh37 by chrX's
    length, else None (all of chrX counts as outside the PARs)."""
    from ..family import PloidyMap

    source = _header_value(vf, "gmscallPloidy")
    if source:
        name = source.split(" ")[0]
        try:
            return PloidyMap.from_option(name)
        except InputError:
            pass
    for name in X_NAMES:
        c = vf.header.contigs.get(name)
        if c is not None and c.length in (156_040_895, 155_270_560):
            return PloidyMap.builtin("GRCh38" if c.length == 156_040_895 else "GRCh37")
    return None


# --------------------------------------------------------------------------------------------
# gVCFs


@dataclass
class GvcfSample:
    """One sample's gVCF: its biallelic SNV calls and its reference blocks, for relatedness."""

    name: str
    snv: dict[tuple[str, int], tuple[str, int, int]] = field(default_factory=dict)  # (contig,pos)->(alt,dosage,gq)
    blocks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)  # contig->(start,end,gq)


def scan_gvcf(path: str, stats: SampleStats | None, min_gq: int = 20, min_dp: int = 10,
              bed: dict[str, list[tuple[int, int]]] | None = None) -> tuple[SampleStats, GvcfSample]:
    """Callable bases (GQ >= min_gq and DP >= min_dp; a block's DP is its MIN_DP when present),
    bp-weighted GQ and depth distributions and per-contig depth of a one-sample gVCF."""
    with open_vcf(path) as vf:
        samples = list(vf.header.samples)
        if len(samples) != 1:
            raise InputError(f"{path}: a gVCF of {len(samples)} samples; gmscall qc reads one-sample gVCFs")
        name = samples[0]
        st = stats if stats is not None else SampleStats(name)
        st.gvcf = path
        gs = GvcfSample(name)
        blocks: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        has_min_dp = "MIN_DP" in vf.header.formats
        for rec in vf:
            call = rec.samples[name]
            gq = call.get("GQ")
            dp = call.get("MIN_DP") if has_min_dp and "END" in rec.info else None
            if dp is None:
                dp = call.get("DP")
            gq = 0 if gq is None else int(gq)
            dp = 0 if dp is None else int(dp)
            start, stop = rec.start, rec.stop
            bases = _overlap(bed, rec.chrom, start, stop) if bed is not None else stop - start
            if bases:
                st.bases += bases
                if gq >= min_gq and dp >= min_dp:
                    st.callable_bases += bases
                st.bp_gq_hist[min(gq, GQ_BINS - 1)] += bases
                st.bp_dp_hist[min(dp, DP_MAX)] += bases
                acc = st.contig_dp_bases.setdefault(rec.chrom, [0.0, 0.0])
                mean_dp = call.get("DP") or 0
                acc[0] += float(mean_dp) * (stop - start)
                acc[1] += stop - start
            alts = [a for a in (rec.alts or ()) if a != "<NON_REF>"]
            gt = call.get("GT") or ()
            if not alts:
                blocks[rec.chrom].append((start, stop, gq))
            elif (len(alts) == 1 and len(rec.ref) == 1 and len(alts[0]) == 1 and len(gt) == 2
                  and None not in gt and all(a in (0, 1) for a in gt)):
                gs.snv[(rec.chrom, rec.pos)] = (alts[0], sum(gt), gq)
        for contig, rows in blocks.items():
            arr = np.asarray(rows, dtype=np.int64)
            gs.blocks[contig] = (arr[:, 0], arr[:, 1], arr[:, 2])
    return st, gs


def _overlap(bed: dict[str, list[tuple[int, int]]], contig: str, start: int, stop: int) -> int:
    return sum(max(0, min(e, stop) - max(s, start)) for s, e in bed.get(contig, ()))


def merge_gvcf_genotypes(gvcfs: Sequence[GvcfSample], min_gq: int = 20) -> GenotypeMatrix:
    """Genotypes at the biallelic autosomal SNVs that any sample calls: its call there (GQ >=
    min_gq), else hom-ref where its reference block there has GQ >= min_gq, else missing. Sites
    where two samples call different ALTs are left out."""
    names = [g.name for g in gvcfs]
    sites: dict[tuple[str, int], str | None] = {}
    for g in gvcfs:
        for key, (alt, _d, _q) in g.snv.items():
            if key[0] in X_NAMES + Y_NAMES + MT_NAMES:
                continue
            prev = sites.get(key, alt)
            sites[key] = alt if prev == alt else None
    keys = sorted((k for k, a in sites.items() if a is not None))
    contig_ids: dict[str, int] = {}
    contig = np.asarray([contig_ids.setdefault(c, len(contig_ids)) for c, _ in keys], dtype=np.int32)
    pos = np.asarray([p for _, p in keys], dtype=np.int64)
    dos = np.full((len(keys), len(gvcfs)), -1, dtype=np.int8)
    by_contig: dict[str, np.ndarray] = defaultdict(list)
    for i, (c, _p) in enumerate(keys):
        by_contig[c].append(i)
    for j, g in enumerate(gvcfs):
        for c, idx in by_contig.items():
            idx = np.asarray(idx)
            p0 = pos[idx] - 1
            if c in g.blocks:
                starts, ends, gqs = g.blocks[c]
                k = np.searchsorted(starts, p0, side="right") - 1
                ok = (k >= 0) & (p0 < ends[np.clip(k, 0, None)]) & (gqs[np.clip(k, 0, None)] >= min_gq)
                dos[idx[ok], j] = 0
        for i, key in enumerate(keys):
            call = g.snv.get(key)
            if call is not None:
                dos[i, j] = call[1] if call[2] >= min_gq else -1
    return GenotypeMatrix(names, contig, pos, dos)
