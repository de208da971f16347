"""GA4GH-style evaluation of germline small-variant calls against a truth set.

This module is self-contained (stdlib, numpy, pysam) so that it can be used without the
compiled core: ``python -m gmscall.evaluate --truth T --calls C --ref R [--bed B]``.

What it does, in the spirit of hap.py's ``--engine=xcmp`` / GA4GH benchmarking definitions:

1. **Normalisation**, identical for truth and calls (``bcftools norm -m- -f REF`` + MNP split):
   multi-allelic records are split into one allele each (genotype ``1/2`` gives a het for each
   allele; an allele is "hom" only when every called allele of the genotype is that allele, so a
   haploid ``1`` is hom); common suffix and prefix are trimmed and indels left-aligned with the
   reference (the vt algorithm, Tan et al. 2015); same-length substitutions (MNPs) are decomposed
   into SNVs. Symbolic alleles (``<DEL>``, ``<*>``, ``<NON_REF>``), ``*`` and breakends are
   ignored, and so are records whose genotype has no ALT allele (``0/0``, ``./.``). Records whose
   FILTER is not ``PASS``/``.`` are ignored on both sides (``include_filtered`` keeps them on the
   calls side). If the same
   normalised allele comes from two records of one side, the copies add up (het + het = hom).
2. **Matching**, per allele: first exact (CHROM, POS, REF, ALT) after normalisation. Then, as a
   second pass for what is left, nearby unmatched truth and call alleles (within ``hap_window``
   bp of each other) are grouped; a group matches when applying all its truth alleles to the
   reference gives the same sequence as applying all its call alleles (falling back to single
   truth/call pairs). This catches the same haplotype written differently (e.g. a complex
   variant against an indel plus an SNV) without a full vcfeval-style phasing search: all alleles
   of a group are put on one haplotype, so two overlapping alleles in trans cannot be matched.
3. **Genotype** ("GT" metrics): an allele match counts as a GT true positive only if the zygosity
   (het/hom) is equal too (for a group: the haplotype made of the hom alleles matches as well);
   otherwise it counts as one FP and one FN for the GT metrics, as in hap.py.
4. **Counting** inside the confident BED: a truth allele counts (TP or FN) when its normalised
   POS is in a BED interval, ``bed_start < POS <= bed_end``; a call allele counts (TP or FP) on the
   same rule applied to its own POS. As in hap.py, recall uses truth-side TPs and precision
   call-side TPs (they differ only for group matches). SNV: ``len(REF) == len(ALT) == 1``; every
   other allele (insertion, deletion, complex) is an INDEL.

Trios (:func:`mendel`; ``gmscall eval --calls VCF --mendel CHILD,FATHER,MOTHER`` or ``--ped FILE``):
the Mendelian error rate of a multi-sample VCF, i.e. the share of sites called in all three whose
child genotype cannot be formed from one allele of the father and one of the mother (a haploid
child's allele from the mother; see :func:`mendel_consistent`), and the number of de novo calls of
the child (INFO DENOVO or FORMAT DNQ). :func:`mendel_of_truths` gives the same rate for three
single-sample truth VCFs merged by position: the floor that a perfect caller reproduces.
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import logging
import os
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pysam


__all__ = [
    "Counts",
    "EvalResult",
    "MendelResult",
    "Variant",
    "add_eval_arguments",
    "evaluate",
    "format_table",
    "load_variants",
    "main",
    "mendel",
    "mendel_consistent",
    "mendel_of_single_samples",
    "mendel_of_truths",
    "normalize_allele",
    "parse_region",
    "parse_trio",
    "ped_trios",
    "read_bed",
    "run_eval",
    "vcf_sample_names",
]

log = logging.getLogger(__name__)

HET = "het"
HOM = "hom"
UNKNOWN_GT = "."
VARIANT_TYPES = ("SNV", "INDEL")
_DNA = re.compile(r"^[ACGTN]+$")


class Variant(NamedTuple):
    """One normalised ALT allele of one side (1-based POS, VCF-style REF/ALT, zygosity)."""

    chrom: str
    pos: int
    ref: str
    alt: str
    zygosity: str  # "het", "hom" or "." (no genotype)

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.chrom, self.pos, self.ref, self.alt)

    @property
    def vtype(self) -> str:
        return "SNV" if len(self.ref) == 1 and len(self.alt) == 1 else "INDEL"

    @property
    def start0(self) -> int:
        return self.pos - 1

    @property
    def end0(self) -> int:
        return self.pos - 1 + len(self.ref)

    def __str__(self) -> str:
        return f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}:{self.zygosity}"


@dataclass
class Counts:
    """Counts of one variant type for one matching level (allele or genotype)."""

    tp_truth: int = 0
    tp_query: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def tp(self) -> int:
        return self.tp_truth

    @property
    def truth_total(self) -> int:
        return self.tp_truth + self.fn

    @property
    def query_total(self) -> int:
        return self.tp_query + self.fp

    @property
    def recall(self) -> float | None:
        return self.tp_truth / self.truth_total if self.truth_total else None

    @property
    def precision(self) -> float | None:
        return self.tp_query / self.query_total if self.query_total else None

    @property
    def f1(self) -> float | None:
        r, p = self.recall, self.precision
        if r is None or p is None:
            return None
        return 2 * p * r / (p + r) if p + r > 0 else 0.0

    def add(self, other: Counts) -> Counts:
        return Counts(
            self.tp_truth + other.tp_truth,
            self.tp_query + other.tp_query,
            self.fp + other.fp,
            self.fn + other.fn,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "tp_truth": self.tp_truth,
            "tp_query": self.tp_query,
            "fp": self.fp,
            "fn": self.fn,
            "truth_total": self.truth_total,
            "query_total": self.query_total,
            "recall": self.recall,
            "precision": self.precision,
            "f1": self.f1,
        }


def _empty_counts() -> dict[str, Counts]:
    return {t: Counts() for t in (*VARIANT_TYPES, "ALL")}


@dataclass
class EvalResult:
    """Result of :func:`evaluate`. ``allele`` and ``genotype`` map SNV/INDEL/ALL to :class:`Counts`."""

    truth_vcf: str
    calls_vcf: str
    ref_fasta: str
    bed: str | None
    region: str | None
    truth_sample: str | None
    calls_sample: str | None
    allele: dict[str, Counts] = field(default_factory=_empty_counts)
    genotype: dict[str, Counts] = field(default_factory=_empty_counts)
    #: Variants (as "chrom:pos:ref>alt:zygosity") that are FP / FN for the genotype-aware metrics
    #: (which include the allele-level ones), and allele matches with a wrong genotype.
    fp_variants: list[str] = field(default_factory=list)
    fn_variants: list[str] = field(default_factory=list)
    gt_mismatch: list[str] = field(default_factory=list)
    #: Normalisation / matching statistics per side ("truth", "calls").
    stats: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Truth indels by length bin (INDEL_BINS): total, allele-level and genotype-aware matches.
    indel_by_length: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["allele"] = {k: v.to_dict() for k, v in self.allele.items()}
        d["genotype"] = {k: v.to_dict() for k, v in self.genotype.items()}
        return d


#: Indel length bins (bp, inclusive) of the recall-by-length report.
INDEL_BINS: tuple[tuple[str, int, int], ...] = (("1-5", 1, 5), ("6-20", 6, 20), ("21-50", 21, 50),
                                                (">50", 51, 1 << 30))


def indel_bin(v: Variant) -> str:
    n = abs(len(v.alt) - len(v.ref))
    return next(name for name, lo, hi in INDEL_BINS if lo <= n <= hi)


# --------------------------------------------------------------------------------------------
# Reference, regions and BED


class _Reference:
    """Block-cached random access to a FASTA (plain or bgzipped, with .fai/.gzi)."""

    BLOCK = 1 << 16

    def __init__(self, path: str) -> None:
        self.path = path
        import pysam

        self._fa = pysam.FastaFile(path)
        self._lengths = dict(zip(self._fa.references, self._fa.lengths))
        self._blocks: dict[tuple[str, int], str] = {}

    def has(self, chrom: str) -> bool:
        return chrom in self._lengths

    def length(self, chrom: str) -> int:
        return self._lengths[chrom]

    def _block(self, chrom: str, idx: int) -> str:
        key = (chrom, idx)
        blk = self._blocks.get(key)
        if blk is None:
            if len(self._blocks) > 256:
                self._blocks.clear()
            s = idx * self.BLOCK
            blk = self._fa.fetch(chrom, s, min(s + self.BLOCK, self._lengths[chrom])).upper()
            self._blocks[key] = blk
        return blk

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Uppercase sequence of [start, end) (0-based), clipped to the contig."""
        start = max(0, start)
        end = min(end, self._lengths[chrom])
        if end <= start:
            return ""
        out = []
        pos = start
        while pos < end:
            idx = pos // self.BLOCK
            blk = self._block(chrom, idx)
            off = pos - idx * self.BLOCK
            take = min(end - pos, len(blk) - off)
            out.append(blk[off : off + take])
            pos += take
        return "".join(out)

    def close(self) -> None:
        self._fa.close()


def parse_region(region: str) -> tuple[str, int | None, int | None]:
    """Parse ``chr``, ``chr:start-end`` or ``chr:start`` (1-based, inclusive, commas allowed)."""
    m = re.match(r"^(.+?)(?::([\d,]+)(?:-([\d,]+))?)?$", region.strip())
    if not m:
        raise ValueError(f"cannot parse region {region!r}; expected chr, chr:start or chr:start-end")
    chrom = m.group(1)
    start = int(m.group(2).replace(",", "")) if m.group(2) else None
    end = int(m.group(3).replace(",", "")) if m.group(3) else None
    if start is not None and end is not None and end < start:
        raise ValueError(f"region {region!r} ends before it starts")
    return chrom, start, end


class _Bed:
    """Merged BED intervals with a POS (1-based) membership test: ``start < POS <= end``."""

    def __init__(self, intervals: dict[str, list[tuple[int, int]]]) -> None:
        self.starts: dict[str, list[int]] = {}
        self.ends: dict[str, list[int]] = {}
        for chrom, ivs in intervals.items():
            merged: list[list[int]] = []
            for s, e in sorted(ivs):
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            self.starts[chrom] = [s for s, _ in merged]
            self.ends[chrom] = [e for _, e in merged]

    def contains(self, chrom: str, pos: int) -> bool:
        starts = self.starts.get(chrom)
        if not starts:
            return False
        i = bisect.bisect_left(starts, pos) - 1  # last interval with start < pos
        return i >= 0 and pos <= self.ends[chrom][i]

    def total_bp(self) -> int:
        return sum(e - s for c in self.starts for s, e in zip(self.starts[c], self.ends[c]))


def read_bed(path: str) -> dict[str, list[tuple[int, int]]]:
    """Read a BED file (plain or gzipped) into {chrom: [(start, end), ...]} (0-based half-open)."""
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with opener(path, "rt") as fh:  # type: ignore[operator]
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3:
                raise ValueError(f"{path}:{lineno}: a BED line needs at least 3 tab-separated columns")
            try:
                s, e = int(cols[1]), int(cols[2])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: BED start/end are not integers") from None
            out[cols[0]].append((s, e))
    return dict(out)


# --------------------------------------------------------------------------------------------
# Normalisation


def normalize_allele(
    ref_seq: _Reference | None, chrom: str, pos: int, ref: str, alt: str
) -> tuple[int, str, str]:
    """Trim and left-align one REF/ALT pair (vt algorithm). Returns (pos, ref, alt), 1-based.

    Without a reference for ``chrom`` only the common suffix/prefix trimming is done.
    """
    ref, alt = ref.upper(), alt.upper()
    have_ref = ref_seq is not None and ref_seq.has(chrom)
    while True:
        changed = False
        if ref and alt and ref[-1] == alt[-1]:
            if min(len(ref), len(alt)) == 1 and not (have_ref and pos > 1):
                break  # cannot extend to the left: keep the right padding base
            ref, alt = ref[:-1], alt[:-1]
            changed = True
        if not ref or not alt:
            assert ref_seq is not None
            base = ref_seq.fetch(chrom, pos - 2, pos - 1) or "N"
            ref, alt, pos = base + ref, base + alt, pos - 1
            changed = True
        if not changed:
            break
    while len(ref) >= 2 and len(alt) >= 2 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _genotype_alleles(rec: pysam.VariantRecord, sample: str | None) -> tuple[Any, ...] | None:
    if sample is None:
        return None
    s = rec.samples[sample]
    if "GT" not in rec.format:
        return None
    return tuple(s["GT"] or ())


def _iter_records(vf: pysam.VariantFile, region: str | None) -> Iterator[pysam.VariantRecord]:
    if region is None:
        yield from vf
        return
    chrom, start, end = parse_region(region)
    # Fetch with padding: left-alignment can move a record into (or out of) the region.
    pad = 1000
    indexed = isinstance(vf.filename, bytes) and any(
        os.path.exists(vf.filename.decode() + ext) for ext in (".tbi", ".csi")
    )
    try:
        if not indexed:
            it = None
        elif start is None:
            it = vf.fetch(chrom)
        else:
            it = vf.fetch(chrom, max(0, start - 1 - pad), None if end is None else end + pad)
    except ValueError:  # no index, or a contig the index does not know
        it = None
    if it is not None:
        yield from it
        return
    for rec in vf:
        if rec.chrom == chrom:
            yield rec


def load_variants(
    vcf: str,
    ref_seq: _Reference | None,
    sample: str | None = None,
    region: str | None = None,
    pass_only: bool = True,
    stats: dict[str, int] | None = None,
) -> dict[tuple[str, int, str, str], Variant]:
    """Read, split, normalise and decompose the variants of one sample of a VCF/BCF.

    Returns {(chrom, pos, ref, alt): Variant}; duplicates from different records are merged
    (het + het = hom). ``stats`` (if given) receives counters of what was skipped.
    """
    st: dict[str, int] = defaultdict(int) if stats is None else stats
    for k in ("records", "filtered", "no_alt_gt", "symbolic", "ref_mismatch", "no_ref_contig",
              "alleles", "outside_region"):
        st.setdefault(k, 0)
    out: dict[tuple[str, int, str, str], Variant] = {}
    r_chrom, r_start, r_end = parse_region(region) if region else (None, None, None)
    import pysam

    verbosity = pysam.set_verbosity(0)  # htslib notes on open (no index, header sanity) are noise here
    try:
        vf = pysam.VariantFile(vcf)
    finally:
        pysam.set_verbosity(verbosity)
    with vf:
        samples = list(vf.header.samples)
        if sample is not None and sample not in samples:
            raise ValueError(f"{vcf}: sample {sample!r} not found; samples: {', '.join(samples) or 'none'}")
        use_sample = sample if sample is not None else (samples[0] if samples else None)
        for rec in _iter_records(vf, region):
            st["records"] += 1
            if pass_only:
                filters = list(rec.filter.keys())
                if filters and filters != ["PASS"]:
                    st["filtered"] += 1
                    continue
            alts = rec.alts or ()
            gt = _genotype_alleles(rec, use_sample)
            if gt is None:
                present = {i + 1: UNKNOWN_GT for i in range(len(alts))}
            else:
                called = [a for a in gt if a is not None]
                present = {}
                for a in set(called):
                    if a > 0:
                        hom = all(x == a for x in gt) and len(gt) >= 1
                        present[a] = HOM if hom else HET
            if not present:
                st["no_alt_gt"] += 1
                continue
            ref = rec.ref.upper()
            chrom = rec.chrom
            have_ref = ref_seq is not None and ref_seq.has(chrom)
            if not have_ref:
                st["no_ref_contig"] += 1
            elif ref_seq is not None and _DNA.match(ref):
                fa = ref_seq.fetch(chrom, rec.pos - 1, rec.pos - 1 + len(ref))
                if fa != ref and "N" not in fa:
                    st["ref_mismatch"] += 1
                    log.debug("%s: REF %s differs from the reference (%s) at %s:%d", vcf, ref, fa, chrom,
                              rec.pos)
            for idx, zyg in sorted(present.items()):
                if idx > len(alts):
                    continue
                alt = alts[idx - 1].upper()
                if not _DNA.match(alt) or not _DNA.match(ref):
                    st["symbolic"] += 1
                    continue
                if alt == ref:
                    continue
                pos, nref, nalt = normalize_allele(ref_seq if have_ref else None, chrom, rec.pos, ref, alt)
                if len(nref) == len(nalt) and len(nref) > 1:
                    pieces = [(pos + i, r, a) for i, (r, a) in enumerate(zip(nref, nalt)) if r != a]
                else:
                    pieces = [(pos, nref, nalt)]
                for p, r, a in pieces:
                    if r_chrom is not None and (
                        (r_start is not None and p < r_start) or (r_end is not None and p > r_end)
                    ):
                        st["outside_region"] += 1
                        continue
                    v = Variant(chrom, p, r, a, zyg)
                    prev = out.get(v.key)
                    if prev is not None:
                        merged = UNKNOWN_GT if UNKNOWN_GT in (prev.zygosity, zyg) else HOM
                        v = v._replace(zygosity=merged)
                    else:
                        st["alleles"] += 1
                    out[v.key] = v
    return out


# --------------------------------------------------------------------------------------------
# Matching


def _apply(seq: str, start: int, variants: Sequence[Variant]) -> str | None:
    """``seq`` (the reference from 0-based ``start``) with ``variants`` applied; None if they overlap."""
    out: list[str] = []
    cursor = start
    for v in sorted(variants, key=lambda x: (x.start0, x.end0)):
        if v.start0 < cursor or v.end0 > start + len(seq):
            return None
        out.append(seq[cursor - start : v.start0 - start])
        out.append(v.alt)
        cursor = v.end0
    out.append(seq[cursor - start :])
    return "".join(out)


def _diploid_sequences(
    seq: str, start: int, variants: Sequence[Variant], as_het: bool
) -> set[tuple[str, str]]:
    """Every unordered haplotype pair the alleles can make (hom on both, het on either haplotype).

    ``as_het`` places hom alleles on one haplotype too (allele-level comparison, GT ignored).
    """
    hom = [] if as_het else [v for v in variants if v.zygosity == HOM]
    het = list(variants) if as_het else [v for v in variants if v.zygosity != HOM]
    pairs: set[tuple[str, str]] = set()
    n = len(het)
    for mask in range(1 << max(0, n - 1)):  # the first het stays on haplotype 1 (pairs are unordered)
        h1 = hom + [v for i, v in enumerate(het) if i == 0 or not (mask >> (i - 1)) & 1]
        h2 = hom + [v for i, v in enumerate(het) if i > 0 and (mask >> (i - 1)) & 1]
        s1, s2 = _apply(seq, start, h1), _apply(seq, start, h2)
        if s1 is not None and s2 is not None:
            pairs.add((s1, s2) if s1 <= s2 else (s2, s1))
    return pairs


def _group_match(
    ref_seq: _Reference, truth: Sequence[Variant], query: Sequence[Variant]
) -> tuple[bool, bool]:
    """(allele match, genotype match) of two groups of alleles on one contig.

    Genotype match: some phasing of the truth alleles gives the same two haplotype sequences as
    some phasing of the call alleles. Allele match: the same, with every allele taken as het.
    """
    chrom = truth[0].chrom
    start = max(0, min(v.start0 for v in (*truth, *query)) - 1)
    end = max(v.end0 for v in (*truth, *query)) + 1
    seq = ref_seq.fetch(chrom, start, end)
    known_gt = all(v.zygosity != UNKNOWN_GT for v in (*truth, *query))
    if known_gt and _diploid_sequences(seq, start, truth, False) & _diploid_sequences(seq, start, query, False):
        return True, True
    allele_ok = bool(_diploid_sequences(seq, start, truth, True) & _diploid_sequences(seq, start, query, True))
    return allele_ok, False


def _best_subset(
    ref_seq: _Reference, tg: Sequence[Variant], qg: Sequence[Variant], max_checks: int
) -> tuple[list[Variant], list[Variant], bool] | None:
    """The largest truth/call sub-groups that match (allele level), with their GT flag, or None."""
    both = [*tg, *qg]
    nt, n = len(tg), len(tg) + len(qg)
    checks = 0
    for keep in range(n, 1, -1):
        for combo in itertools.combinations(range(n), keep):
            t = [both[i] for i in combo if i < nt]
            q = [both[i] for i in combo if i >= nt]
            if not t or not q:
                continue
            checks += 1
            if checks > max_checks:
                return None
            allele_ok, gt_ok = _group_match(ref_seq, t, q)
            if allele_ok:
                return t, q, gt_ok
    return None


def _shift_end(ref_seq: _Reference, v: Variant, limit: int = 1000) -> int:
    """0-based end of the span an indel can slide to on the right (its repeat), else ``v.end0``."""
    if len(v.ref) == len(v.alt) or min(len(v.ref), len(v.alt)) != 1 or not ref_seq.has(v.chrom):
        return v.end0
    unit = v.ref[1:] if len(v.ref) > 1 else v.alt[1:]  # deleted or inserted bases
    a = v.pos  # 0-based first base after the anchor
    ahead = ref_seq.fetch(v.chrom, a, a + len(unit) + limit)
    if len(v.ref) > 1:  # deletion of ref[a, a+L): slides while ref[a+i] == ref[a+L+i]
        i = 0
        while len(unit) + i < len(ahead) and ahead[i] == ahead[len(unit) + i]:
            i += 1
        return a + len(unit) + i
    i = 0  # insertion before a: slides while the (rotated) inserted base equals the next ref base
    while i < len(ahead) and unit[i % len(unit)] == ahead[i]:
        i += 1
    return a + i


def _clusters(
    items: Iterable[tuple[str, Variant, int]], window: int
) -> Iterator[list[tuple[str, Variant, int]]]:
    """Group (side, variant, span end) items whose spans lie within ``window`` bp of each other."""
    ordered = sorted(items, key=lambda x: (x[1].chrom, x[1].start0, x[2]))
    group: list[tuple[str, Variant, int]] = []
    g_chrom, g_end = "", -1
    for side, v, end in ordered:
        if group and (v.chrom != g_chrom or v.start0 > g_end + window):
            yield group
            group = []
        if not group:
            g_chrom, g_end = v.chrom, end
        group.append((side, v, end))
        g_end = max(g_end, end)
    if group:
        yield group


Key = tuple[str, int, str, str]  # (chrom, pos, ref, alt)


def _match(
    ref_seq: _Reference,
    truth: dict[Key, Variant],
    query: dict[Key, Variant],
    window: int,
    max_group: int,
    stats: dict[str, int],
) -> tuple[dict[Key, bool], dict[Key, bool]]:
    """Allele matches of each side: {key: genotype also matches}; unmatched keys are absent."""
    t_match: dict[Key, bool] = {}
    q_match: dict[Key, bool] = {}
    for key, tv in truth.items():
        qv = query.get(key)
        if qv is not None:
            ok = tv.zygosity == qv.zygosity and tv.zygosity != UNKNOWN_GT
            t_match[key] = q_match[key] = ok
    stats["exact"] = len(t_match)
    stats["exact_gt_mismatch"] = sum(1 for ok in t_match.values() if not ok)

    # Second pass over what is unmatched or GT-mismatched: nearby alleles as diploid haplotypes.
    items = [("t", v, _shift_end(ref_seq, v)) for k, v in truth.items() if not t_match.get(k, False)]
    items += [("q", v, _shift_end(ref_seq, v)) for k, v in query.items() if not q_match.get(k, False)]
    groups = pairs = too_big = 0
    for group in _clusters(items, window):
        tg = [v for s, v, _ in group if s == "t"]
        qg = [v for s, v, _ in group if s == "q"]
        if not tg or not qg or not ref_seq.has(tg[0].chrom):
            continue
        if len(tg) == len(qg) == 1 and tg[0].key == qg[0].key:
            continue  # a lone exact GT mismatch: nothing to add
        if len(tg) + len(qg) <= max_group:
            # Largest subsets first: the whole group, then with one allele left out, and so on.
            while tg and qg:
                found = _best_subset(ref_seq, tg, qg, max_checks=2000)
                if found is None:
                    break
                t_sub, q_sub, gt_ok = found
                groups += 1
                for v in t_sub:
                    t_match[v.key] = gt_ok
                for v in q_sub:
                    q_match[v.key] = gt_ok
                tg = [v for v in tg if v not in t_sub]
                qg = [v for v in qg if v not in q_sub]
            continue
        too_big += 1
        # Too many alleles for the subset search: try single unmatched truth/call pairs.
        for tv in tg:
            if tv.key in t_match:
                continue
            for qv in qg:
                if qv.key in q_match:
                    continue
                allele_ok, gt_ok = _group_match(ref_seq, [tv], [qv])
                if allele_ok:
                    pairs += 1
                    t_match[tv.key] = q_match[qv.key] = gt_ok
                    break
    stats["haplotype_matches"] = groups
    stats["haplotype_pairs"] = pairs
    stats["groups_too_big"] = too_big
    return t_match, q_match


def evaluate(
    truth_vcf: str,
    calls_vcf: str,
    ref_fasta: str,
    bed: str | None = None,
    truth_sample: str | None = None,
    calls_sample: str | None = None,
    region: str | None = None,
    include_filtered: bool = False,
    hap_window: int = 10,
    max_group: int = 12,
) -> EvalResult:
    """Compare ``calls_vcf`` with ``truth_vcf``; see the module docstring for the definitions.

    ``bed``: confident regions (counted when ``bed_start < POS <= bed_end``); ``region``:
    ``chr[:start-end]`` restricting both sides (1-based inclusive); ``include_filtered``: also use
    call records whose FILTER is not PASS; ``hap_window``/``max_group``: size limits of the
    haplotype-comparison pass (bp between alleles, alleles per side).
    """
    ref_seq = _Reference(ref_fasta)
    bed_iv = _Bed(read_bed(bed)) if bed else None
    res = EvalResult(truth_vcf, calls_vcf, ref_fasta, bed, region, truth_sample, calls_sample)
    res.stats = {"truth": {}, "calls": {}, "matching": {}}
    try:
        truth = load_variants(truth_vcf, ref_seq, truth_sample, region, True, res.stats["truth"])
        query = load_variants(calls_vcf, ref_seq, calls_sample, region, not include_filtered,
                              res.stats["calls"])
        t_match, q_match = _match(ref_seq, truth, query, hap_window, max_group, res.stats["matching"])
    finally:
        ref_seq.close()

    def in_bed(v: Variant) -> bool:
        return bed_iv is None or bed_iv.contains(v.chrom, v.pos)

    res.indel_by_length = {name: {"truth": 0, "allele_tp": 0, "gt_tp": 0} for name, _, _ in INDEL_BINS}
    for side, variants, matched in (("truth", truth, t_match), ("calls", query, q_match)):
        for key in sorted(variants):
            v = variants[key]
            if not in_bed(v):
                continue
            a, g = res.allele[v.vtype], res.genotype[v.vtype]
            ok = matched.get(key)
            if side == "truth" and v.vtype == "INDEL":
                c = res.indel_by_length[indel_bin(v)]
                c["truth"] += 1
                c["allele_tp"] += ok is not None
                c["gt_tp"] += bool(ok)
            if side == "truth":
                if ok is None:
                    a.fn += 1
                else:
                    a.tp_truth += 1
                if ok:
                    g.tp_truth += 1
                else:
                    g.fn += 1
                    res.fn_variants.append(str(v))
            else:
                if ok is None:
                    a.fp += 1
                else:
                    a.tp_query += 1
                if ok:
                    g.tp_query += 1
                else:
                    g.fp += 1
                    res.fp_variants.append(str(v))
            if ok is False:
                res.gt_mismatch.append(f"{side} {v}")
    for level in (res.allele, res.genotype):
        level["ALL"] = level["SNV"].add(level["INDEL"])
    return res


# --------------------------------------------------------------------------------------------
# Mendelian consistency of a trio

Trio = tuple[str, str, str]  # (child, father, mother)
#: FORMAT DNQ (de novo quality, Phred) of the child from which a record counts as a de novo call.
DNQ_MIN = 20
_HAPLOID_FROM_FATHER = frozenset({"Y", "chrY"})  # a haploid child's allele on these comes from the father


def _mendel_by_type() -> dict[str, dict[str, int]]:
    return {t: {"all_called": 0, "inconsistent": 0} for t in VARIANT_TYPES}


@dataclass
class MendelResult:
    """Mendelian consistency of one trio in a VCF (:func:`mendel`) or in three single-sample VCFs.

    ``sites``: records kept (PASS unless ``include_filtered``, inside the BED and region) whose three
    genotypes hold at least one ALT allele. ``all_called``: those where every allele of all three
    genotypes is called (a haploid GT counts as called). ``inconsistent``: those of ``all_called``
    that :func:`mendel_consistent` rejects. ``denovo``: sites flagged de novo for the child (INFO
    DENOVO naming it, or its FORMAT DNQ >= ``dnq_min``); ``denovo_inconsistent``: those of them that
    are also Mendelian errors. ``by_type``: ``all_called``/``inconsistent`` for SNV (REF and every
    allele in the three genotypes 1 bp) and INDEL (the rest).
    """

    vcf: str
    trio: Trio
    bed: str | None = None
    region: str | None = None
    sites: int = 0
    all_called: int = 0
    inconsistent: int = 0
    denovo: int = 0
    denovo_inconsistent: int = 0
    by_type: dict[str, dict[str, int]] = field(default_factory=_mendel_by_type)
    #: "chrom:pos REF>ALT,.. child=GT father=GT mother=GT" of each Mendelian error.
    inconsistent_sites: list[str] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        """inconsistent / all_called (None without any site called in all three)."""
        return self.inconsistent / self.all_called if self.all_called else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rate"] = self.rate
        return d

    def summary(self) -> str:
        rate = "-" if self.rate is None else f"{100 * self.rate:.2f}"
        return (f"Mendelian errors: {self.inconsistent} of {self.all_called} sites called in all three "
                f"({rate} %); de novo calls for {self.trio[0]}: {self.denovo}")


def mendel_consistent(
    child: Sequence[Any], father: Sequence[Any], mother: Sequence[Any], haploid_from: str = "mother"
) -> bool | None:
    """Whether the child's genotype can be formed from its parents' (called) genotypes.

    Alleles are compared as given (allele indices of one record, or allele sequences). The rule:

    - diploid child ``(a, b)``: one allele from the father and the other from the mother, in
      either order: ``(a in F and b in M) or (b in F and a in M)``, where F and M are the sets of
      alleles of the father's and the mother's genotypes (one allele for a haploid parent);
    - haploid child ``(a,)`` (a son's chrX outside the PARs, chrM): ``a`` must be one of the
      mother's alleles; with ``haploid_from="father"`` (a son's chrY) one of the father's;
    - any other ploidy of the child is not judged: None.
    """
    f, m = set(father), set(mother)
    if len(child) == 1:
        return child[0] in (f if haploid_from == "father" else m)
    if len(child) == 2:
        a, b = child
        return (a in f and b in m) or (b in f and a in m)
    return None


def _open_vcf(path: str) -> pysam.VariantFile:
    import pysam

    verbosity = pysam.set_verbosity(0)  # htslib notes on open (no index, header sanity) are noise here
    try:
        return pysam.VariantFile(path)
    finally:
        pysam.set_verbosity(verbosity)


def vcf_sample_names(path: str) -> list[str]:
    """The sample columns of a VCF/BCF."""
    with _open_vcf(path) as vf:
        return list(vf.header.samples)


def _is_pass(rec: pysam.VariantRecord) -> bool:
    filters = list(rec.filter.keys())
    return not filters or filters == ["PASS"]


def _position_filter(bed: str | None, region: str | None) -> Callable[[str, int], bool]:
    """(chrom, POS) -> inside the BED (``bed_start < POS <= bed_end``) and the region (1-based)."""
    bed_iv = _Bed(read_bed(bed)) if bed else None
    r_chrom, r_start, r_end = parse_region(region) if region else (None, None, None)

    def keep(chrom: str, pos: int) -> bool:
        if r_chrom is not None and (
            chrom != r_chrom or (r_start is not None and pos < r_start) or (r_end is not None and pos > r_end)
        ):
            return False
        return bed_iv is None or bed_iv.contains(chrom, pos)

    return keep


def _gt_of(rec: pysam.VariantRecord, sample: str) -> tuple[Any, ...]:
    """GT allele indices of ``sample`` (None for a missing allele; () without GT)."""
    if "GT" not in rec.format:
        return ()
    return tuple(rec.samples[sample]["GT"] or ())


def _called(gt: Sequence[Any]) -> bool:
    return len(gt) > 0 and all(a is not None for a in gt)


def _fmt_gt(gt: Sequence[Any]) -> str:
    return "/".join("." if a is None else str(a) for a in gt) or "."


def _is_denovo(rec: pysam.VariantRecord, child: str, dnq_min: float) -> bool:
    """INFO DENOVO naming ``child`` (a list of names, or a Flag), or the child's FORMAT DNQ >= dnq_min."""
    if "DENOVO" in rec.header.info:
        value = rec.info.get("DENOVO")
        if value is True:
            return True
        names = value if isinstance(value, tuple) else (value,) if value else ()
        if any(child in re.split(r"[,|;]", str(n)) for n in names):
            return True
    if "DNQ" in rec.format:
        value = rec.samples[child].get("DNQ")
        values = value if isinstance(value, tuple) else (value,)
        if any(v is not None and v >= dnq_min for v in values):
            return True
    return False


def _tally(
    res: MendelResult, where: str, gts: Sequence[Sequence[Any]], vtype: str, denovo: bool, haploid_from: str
) -> None:
    """Count one site (which has an ALT allele in one of the three genotypes) into ``res``."""
    res.sites += 1
    res.denovo += denovo
    if not all(_called(g) for g in gts):
        res.stats["not_all_called"] = res.stats.get("not_all_called", 0) + 1
        return
    ok = mendel_consistent(*gts, haploid_from=haploid_from)
    if ok is None:
        res.stats["other_ploidy"] = res.stats.get("other_ploidy", 0) + 1
        return
    res.all_called += 1
    res.by_type[vtype]["all_called"] += 1
    if not ok:
        res.inconsistent += 1
        res.by_type[vtype]["inconsistent"] += 1
        res.denovo_inconsistent += denovo
        res.inconsistent_sites.append(
            f"{where} " + " ".join(f"{s}={_fmt_gt(g)}" for s, g in zip(res.trio, gts))
        )


def mendel(
    vcf_path: str,
    trio: Sequence[str],
    ref: str | None = None,
    bed: str | None = None,
    region: str | None = None,
    include_filtered: bool = False,
    dnq_min: float = DNQ_MIN,
) -> MendelResult:
    """Mendelian consistency of ``trio`` = (child, father, mother) in one multi-sample VCF/BCF.

    Each kept record is one site (allele indices compared as they are, so multi-allelic records
    need no splitting): PASS (or ``.``) records only unless ``include_filtered``; POS inside
    ``bed`` (``bed_start < POS <= bed_end``, as :func:`evaluate` counts) and ``region`` when
    given; at least one ALT allele among the three genotypes. The rule is that of
    :func:`mendel_consistent` (a haploid child's allele comes from the mother, on chrY/Y from the
    father). ``ref``: when given, records on contigs the FASTA lacks are skipped
    (``stats["no_ref_contig"]``). De novo calls for the child: records whose INFO DENOVO names
    the child (or is a set Flag), or whose FORMAT DNQ of the child is >= ``dnq_min``; either
    convention is accepted.
    """
    child, father, mother = trio
    res = MendelResult(vcf_path, (child, father, mother), bed, region)
    st = res.stats
    for k in ("records", "filtered", "outside", "no_alt", "no_ref_contig", "not_all_called", "other_ploidy"):
        st[k] = 0
    keep = _position_filter(bed, region)
    ref_seq = _Reference(ref) if ref else None
    try:
        with _open_vcf(vcf_path) as vf:
            samples = list(vf.header.samples)
            absent = [s for s in res.trio if s not in samples]
            if absent:
                raise ValueError(f"{vcf_path}: sample(s) {', '.join(absent)} not found; samples: "
                                 f"{', '.join(samples) or 'none'}")
            for rec in _iter_records(vf, region):
                st["records"] += 1
                if not include_filtered and not _is_pass(rec):
                    st["filtered"] += 1
                elif not keep(rec.chrom, rec.pos):
                    st["outside"] += 1
                elif ref_seq is not None and not ref_seq.has(rec.chrom):
                    st["no_ref_contig"] += 1
                else:
                    _mendel_record(res, rec, dnq_min)
    finally:
        if ref_seq is not None:
            ref_seq.close()
    return res


def _mendel_record(res: MendelResult, rec: pysam.VariantRecord, dnq_min: float) -> None:
    gts = [_gt_of(rec, s) for s in res.trio]
    used = {a for g in gts for a in g if a is not None and a > 0}
    if not used:
        res.stats["no_alt"] += 1
        return
    alleles = (rec.ref or "", *(rec.alts or ()))
    seqs = [alleles[0]] + [alleles[a] for a in used if a < len(alleles)]
    vtype = "SNV" if all(len(a) == 1 for a in seqs) else "INDEL"
    where = f"{rec.chrom}:{rec.pos} {rec.ref}>{','.join(rec.alts or ('.',))}"
    haploid_from = "father" if rec.chrom in _HAPLOID_FROM_FATHER else "mother"
    _tally(res, where, gts, vtype, _is_denovo(rec, res.trio[0], dnq_min), haploid_from)


SiteKey = tuple[str, int, int]  # (chrom, POS, n-th record of one sample at that POS)


def _read_single_sample(
    path: str, sample: str, keep: Callable[[str, int], bool], region: str | None, include_filtered: bool,
    stats: dict[str, int],
) -> dict[SiteKey, tuple[str, tuple[str | None, ...]]]:
    """{site: (REF, genotype as allele sequences)} of the non-ref records of one sample's VCF."""
    out: dict[SiteKey, tuple[str, tuple[str | None, ...]]] = {}
    with _open_vcf(path) as vf:
        samples = list(vf.header.samples)
        if sample not in samples:
            if len(samples) != 1:
                raise ValueError(f"{path}: sample {sample!r} not found; samples: {', '.join(samples) or 'none'}")
            sample = samples[0]  # e.g. a truth VCF naming the sample differently from the BAM
        for rec in _iter_records(vf, region):
            stats["records"] += 1
            if not include_filtered and not _is_pass(rec):
                stats["filtered"] += 1
                continue
            if not keep(rec.chrom, rec.pos):
                stats["outside"] += 1
                continue
            gt = _gt_of(rec, sample)
            if not any(a is not None and a > 0 for a in gt):
                stats["no_alt"] += 1
                continue
            alleles = (rec.ref.upper(), *(a.upper() for a in rec.alts or ()))
            n = 0
            while (rec.chrom, rec.pos, n) in out:
                n += 1
            out[rec.chrom, rec.pos, n] = (alleles[0], tuple(None if a is None else alleles[a] for a in gt))
    return out


def _harmonise(
    entries: dict[str, tuple[str, tuple[str | None, ...]]], trio: Trio, stats: dict[str, int]
) -> tuple[str, list[tuple[str | None, ...]]]:
    """Genotypes of the three samples over the longest REF at a site (absent sample: hom-ref).

    As ``bcftools merge`` does, a shorter REF's alleles get the rest of the longest REF appended.
    """
    long_ref = max((r for r, _ in entries.values()), key=len)
    gts: list[tuple[str | None, ...]] = []
    for s in trio:
        if s not in entries:
            gts.append((long_ref, long_ref))
            continue
        ref, gt = entries[s]
        if not long_ref.startswith(ref):
            stats["ref_conflict"] = stats.get("ref_conflict", 0) + 1
        tail = long_ref[len(ref):] if long_ref.startswith(ref) else ""
        gts.append(tuple(None if a is None else a + tail for a in gt))
    return long_ref, gts


def mendel_of_single_samples(
    paths: Mapping[str, str],
    trio: Sequence[str],
    bed: str | None = None,
    region: str | None = None,
    include_filtered: bool = False,
) -> MendelResult:
    """Mendelian consistency of three single-sample VCFs ({sample: path}) merged into one trio.

    Sites are the union of the three samples' records that hold an ALT allele (PASS unless
    ``include_filtered``, POS inside ``bed``/``region`` as in :func:`mendel`), merged by (CHROM,
    POS) like ``bcftools merge``: REFs of different lengths are brought to the longest one, and
    the genotypes compared as allele sequences. A sample without a record at a site is 0/0
    (hom-ref): right for truth sets, and the usual reading of single-sample calls. A sample with
    several records at one POS (an SNV and an indel) has its n-th record merged with the others'
    n-th. Each VCF's column is the sample's name, else its only column.
    """
    child, father, mother = trio
    res = MendelResult(",".join(paths[s] for s in (child, father, mother)), (child, father, mother), bed, region)
    st = res.stats
    for k in ("records", "filtered", "outside", "no_alt", "not_all_called", "other_ploidy"):
        st[k] = 0
    keep = _position_filter(bed, region)
    per_sample = {s: _read_single_sample(paths[s], s, keep, region, include_filtered, st) for s in res.trio}
    for key in sorted(set().union(*per_sample.values())):
        entries = {s: per_sample[s][key] for s in res.trio if key in per_sample[s]}
        long_ref, gts = _harmonise(entries, res.trio, st)
        used = {a for g in gts for a in g if a is not None}
        vtype = "SNV" if all(len(a) == 1 for a in used | {long_ref}) else "INDEL"
        haploid_from = "father" if key[0] in _HAPLOID_FROM_FATHER else "mother"
        _tally(res, f"{key[0]}:{key[1]} {long_ref}", gts, vtype, False, haploid_from)
    return res


def mendel_of_truths(paths: Mapping[str, str], trio: Sequence[str], bed: str | None = None,
                     region: str | None = None) -> MendelResult:
    """The Mendelian error rate of the truth sets themselves: the floor that a perfect caller
    reproduces. ``paths``: {sample: truth VCF}; see :func:`mendel_of_single_samples`."""
    return mendel_of_single_samples(paths, trio, bed=bed, region=region)


def _read_ped_rows(path: str) -> list[tuple[str, str | None, str | None]]:
    """(individual, father, mother) of a PED file (6 whitespace-separated columns: family,
    individual, father, mother, sex, phenotype; "0" = unknown parent); '#' and blank lines skipped.
    The minimal reader used when ``gmscall.family`` cannot be imported (this file loaded alone)."""
    rows = []
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            cols = line.split()
            if not cols or cols[0].startswith("#"):
                continue
            if len(cols) < 6:
                raise ValueError(f"PED {path}:{lineno}: a PED line needs 6 columns (FamilyID IndividualID "
                                 f"PaternalID MaternalID Sex Phenotype), got {len(cols)}")
            father, mother = (None if x in ("0", ".") else x for x in cols[2:4])
            rows.append((cols[1], father, mother))
    return rows


def _ped_rows(path: str) -> list[tuple[str, str | None, str | None]]:
    """(individual, father, mother) rows: ``gmscall.family.read_ped`` (the reader of ``gmscall call
    --ped``, with its checks) when importable, else :func:`_read_ped_rows`."""
    try:
        from .errors import GmsError
        from .family import read_ped
    except ImportError:  # loaded as a standalone file (benchmarks/run.py), or an older package
        return _read_ped_rows(path)
    try:
        ped = read_ped(path)
    except GmsError as exc:
        raise ValueError(str(exc)) from None
    return [(ind.id, ind.father, ind.mother) for ind in ped.individuals]


def ped_trios(path: str, samples: Sequence[str] | None = None) -> list[Trio]:
    """(child, father, mother) of every PED individual with both parents given, in file order;
    with ``samples``, only the trios whose three members are all among them."""
    trios = []
    for ind, father, mother in _ped_rows(path):
        if father is None or mother is None:
            continue
        if samples is None or all(s in samples for s in (ind, father, mother)):
            trios.append((ind, father, mother))
    return trios


def parse_trio(text: str) -> Trio:
    """``CHILD,FATHER,MOTHER`` -> (child, father, mother)."""
    names = [x.strip() for x in text.split(",")]
    if len(names) != 3 or not all(names):
        raise ValueError(f"--mendel wants CHILD,FATHER,MOTHER (three sample names), not {text!r}")
    return names[0], names[1], names[2]


# --------------------------------------------------------------------------------------------
# CLI


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"


def format_table(res: EvalResult) -> str:
    """A small fixed-width table of the allele-level and genotype-aware metrics."""
    head = f"{'type':<6} {'level':<6} {'TP':>7} {'FP':>6} {'FN':>6} {'recall':>8} {'precision':>9} {'F1':>8}"
    lines = [head, "-" * len(head)]
    for vt in (*VARIANT_TYPES, "ALL"):
        for name, level in (("allele", res.allele), ("GT", res.genotype)):
            c = level[vt]
            lines.append(
                f"{vt:<6} {name:<6} {c.tp:>7} {c.fp:>6} {c.fn:>6} {_fmt(c.recall):>8} "
                f"{_fmt(c.precision):>9} {_fmt(c.f1):>8}"
            )
    if any(c["truth"] for c in res.indel_by_length.values()):
        lines.append("")
        lines.append("indel recall by length (truth indels; allele / genotype-aware):")
        for name, c in res.indel_by_length.items():
            if c["truth"]:
                lines.append(f"  {name:>6} bp {c['truth']:>6}  {_fmt(c['allele_tp'] / c['truth']):>8} "
                             f"{_fmt(c['gt_tp'] / c['truth']):>8}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Somatic calls

#: Expected (truth INFO VAF) or, without it, truth FORMAT AF bins of the somatic report.
SOMATIC_AF_BINS: tuple[tuple[str, float, float], ...] = (("<0.10", 0.0, 0.10), ("0.10-0.25", 0.10, 0.25),
                                                         (">=0.25", 0.25, 1.01))


@dataclass
class SomaticEval:
    """PASS calls against a somatic truth: overall counts, recall by allele-fraction bin and by type
    (SNV, INDEL, ITD: truth records with INFO ITD), the FP/FN lists."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    by_af: dict[str, dict[str, int]] = field(default_factory=dict)
    by_type: dict[str, dict[str, int]] = field(default_factory=dict)
    fp_variants: list[str] = field(default_factory=list)
    fn_variants: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(precision=self.precision, recall=self.recall, f1=self.f1)
        return d

    def table(self) -> str:
        lines = [(f"somatic PASS calls: TP {self.tp}  FP {self.fp}  FN {self.fn}  precision {_fmt(self.precision)}  "
                  f"recall {_fmt(self.recall)}  F1 {_fmt(self.f1)}"), "recall by allele fraction (truth):"]
        for name, c in self.by_af.items():
            if c["truth"]:
                lines.append(f"  {name:>10} {c['found']:>5}/{c['truth']:<5} {_fmt(c['found'] / c['truth']):>8}")
        lines.append("by type: found/truth (recall), FP")
        for name, c in self.by_type.items():
            rec = _fmt(c["found"] / c["truth"]) if c["truth"] else "-"
            lines.append(f"  {name:>10} {c['found']:>5}/{c['truth']:<5} {rec:>8}  FP {c['fp']}")
        return "\n".join(lines)


def _somatic_type(ref: str, alt: str, itd: bool) -> str:
    if itd:
        return "ITD"
    return "SNV" if len(ref) == len(alt) == 1 else "INDEL"


def evaluate_somatic(truth_vcf: str, calls_vcf: str, ref_fasta: str, bed: str | None = None,
                     region: str | None = None, truth_sample: str | None = None,
                     calls_sample: str | None = None) -> SomaticEval:
    """PASS records of ``calls_vcf`` against the somatic truth, allele-level (a somatic call's
    genotype is not compared), with evaluate()'s normalisation and haplotype matching."""
    res = evaluate(truth_vcf, calls_vcf, ref_fasta, bed=bed, truth_sample=truth_sample,
                   calls_sample=calls_sample, region=region)
    allele = res.allele["ALL"]
    out = SomaticEval(tp=allele.tp_truth, fp=allele.fp, fn=allele.fn)
    gt_only = {x.split(" ", 1)[1] for x in res.gt_mismatch if x.startswith("truth ")}
    missed = {v.rsplit(":", 1)[0] for v in res.fn_variants if v not in gt_only}
    out.fn_variants = sorted(missed)
    out.fp_variants = [v for v in res.fp_variants if not any(g.startswith("calls ") and g[6:] == v
                                                              for g in res.gt_mismatch)]
    out.by_af = {name: {"truth": 0, "found": 0} for name, _, _ in SOMATIC_AF_BINS}
    out.by_af["unknown"] = {"truth": 0, "found": 0}
    out.by_type = {t: {"truth": 0, "found": 0, "fp": 0} for t in ("SNV", "INDEL", "ITD")}
    ref_seq = _Reference(ref_fasta)
    bed_iv = _Bed(read_bed(bed)) if bed else None
    try:
        with _open_vcf(truth_vcf) as vf:
            for rec in _iter_records(vf, region):
                if rec.alts is None:
                    continue
                chrom, start, end = parse_region(region) if region else (rec.chrom, None, None)
                if rec.chrom != chrom or (start is not None and rec.pos < start) or (end is not None and rec.pos > end):
                    continue
                for alt in rec.alts:
                    pos, r, a = normalize_allele(ref_seq, rec.chrom, rec.pos, rec.ref, alt)
                    if bed_iv is not None and not bed_iv.contains(rec.chrom, pos):
                        continue
                    found = f"{rec.chrom}:{pos}:{r}>{a}" not in missed
                    vaf = rec.info.get("VAF")
                    if vaf is None and truth_sample is not None and "AF" in rec.format:
                        vaf = rec.samples[truth_sample]["AF"]
                    name = "unknown"
                    if vaf is not None:
                        v = float(vaf[0] if isinstance(vaf, tuple) else vaf)
                        name = next(n for n, lo, hi in SOMATIC_AF_BINS if lo <= v < hi)
                    kind = _somatic_type(r, a, "ITD" in rec.info)
                    for c in (out.by_af[name], out.by_type[kind]):
                        c["truth"] += 1
                        c["found"] += found
    finally:
        ref_seq.close()
    for v in out.fp_variants:
        _, _, alleles, _ = v.split(":")
        r, a = alleles.split(">")
        out.by_type[_somatic_type(r, a, False)]["fp"] += 1
    return out


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``gmscall eval`` to ``parser``."""
    parser.add_argument("--truth", help="truth VCF/BCF (bgzipped+indexed for --region); required unless "
                        "only Mendelian checks are asked for (--mendel/--ped)")
    parser.add_argument("--calls", required=True, help="VCF/BCF of calls to evaluate")
    parser.add_argument("--ref", "-f", "--fasta-ref", dest="ref",
                        help="reference FASTA (.fa or bgzipped .fa.gz, with .fai); required with --truth")
    parser.add_argument("--bed", help="confident regions (BED); counted when bed_start < POS <= bed_end")
    parser.add_argument("--region", "-r", help="restrict both sides to chr[:start-end] (1-based)")
    parser.add_argument("--truth-sample", help="sample of the truth VCF (default: first)")
    parser.add_argument("--calls-sample", help="sample of the calls VCF (default: first)")
    parser.add_argument("--include-filtered", action="store_true",
                        help="also evaluate call records whose FILTER is not PASS/.")
    parser.add_argument("--hap-window", type=int, default=10,
                        help="bp between unmatched alleles grouped for haplotype comparison (default 10)")
    parser.add_argument("--somatic", action="store_true",
                        help="somatic calls (gmscall somatic) against a somatic truth: PASS records, allele-level, "
                             "recall by allele fraction (truth INFO VAF) and by type (SNV, indel, ITD)")
    parser.add_argument("--json", help="write the full result (counts, FP/FN lists) as JSON here")
    parser.add_argument("--mendel", action="append", metavar="CHILD,FATHER,MOTHER",
                        help="Mendelian errors and de novo calls of this trio of --calls' samples (PASS "
                             "records, inside --bed/--region); may be repeated")
    parser.add_argument("--ped", metavar="FILE",
                        help="PED file: check every trio of it whose three members are samples of --calls")


def _requested_trios(args: argparse.Namespace) -> list[Trio]:
    """Trios of ``--mendel`` and ``--ped`` (those of the PED whose members are all in --calls)."""
    trios = [parse_trio(t) for t in args.mendel or ()]
    if args.ped:
        samples = vcf_sample_names(args.calls)
        from_ped = ped_trios(args.ped, samples)
        if not from_ped:
            raise ValueError(f"{args.ped}: no trio whose child, father and mother are all samples of "
                             f"{args.calls} ({', '.join(samples) or 'no samples'})")
        trios += [t for t in from_ped if t not in trios]
    return trios


def _check_eval_args(args: argparse.Namespace) -> str | None:
    """Why the arguments cannot work together, or None."""
    if args.truth is None and not (args.mendel or args.ped):
        return "--truth is required (or --mendel/--ped for Mendelian checks alone)"
    if args.truth is not None and args.ref is None:
        return "--ref is required with --truth"
    return None


def run_eval(args: argparse.Namespace) -> int:
    """Run ``gmscall eval`` from parsed arguments; print the table and/or the Mendelian checks."""
    problem = _check_eval_args(args)
    if problem:
        print(f"gmscall eval: error: {problem}", file=sys.stderr)
        return 2
    out: dict[str, Any] = {}
    lines: list[str] = []
    try:
        if args.truth is not None and args.somatic:
            som = evaluate_somatic(args.truth, args.calls, args.ref, bed=args.bed, region=args.region,
                                   truth_sample=args.truth_sample, calls_sample=args.calls_sample)
            lines.append(som.table())
            out = som.to_dict()
        elif args.truth is not None:
            res = evaluate(
                args.truth, args.calls, args.ref, bed=args.bed, truth_sample=args.truth_sample,
                calls_sample=args.calls_sample, region=args.region,
                include_filtered=args.include_filtered, hap_window=args.hap_window,
            )
            lines.append(format_table(res))
            out = res.to_dict()
        if args.mendel or args.ped:
            checks = [mendel(args.calls, trio, ref=args.ref, bed=args.bed, region=args.region,
                             include_filtered=args.include_filtered) for trio in _requested_trios(args)]
            lines += [m.summary() for m in checks]
            out["mendel"] = [m.to_dict() for m in checks]
    except (OSError, ValueError) as exc:
        print(f"gmscall eval: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
            fh.write("\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gmscall.evaluate",
        description="Compare small-variant calls with a truth VCF (SNV/INDEL precision, recall, F1); "
                    "Mendelian errors of trios in a multi-sample VCF (--mendel, --ped).",
    )
    add_eval_arguments(parser)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run_eval(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
