"""GA4GH-style evaluation of germline small-variant calls against a truth set.

Stdlib and pysam only (no compiled core): ``python -m gmscall.evaluation --truth T --calls C --ref R [--bed B]``.

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
"""

from __future__ import annotations

import itertools
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pysam

log = logging.getLogger(__name__)

from .common import (
    _DNA,
    HET,
    HOM,
    UNKNOWN_GT,
    VARIANT_TYPES,
    Key,
    Variant,
    _Bed,
    _fmt,
    _iter_records,
    _Reference,
    normalize_allele,
    parse_region,
    read_bed,
)


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


def _genotype_alleles(rec: pysam.VariantRecord, sample: str | None) -> tuple[Any, ...] | None:
    if sample is None:
        return None
    s = rec.samples[sample]
    if "GT" not in rec.format:
        return None
    return tuple(s["GT"] or ())


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


def _apply(seq: str, start: int, variants: Sequence[Variant]) -> str | None:
    """``seq`` (the reference from 0-based ``start``) with ``variants`` applied; None if they overlap."""
    out: list[str] = []
    cursor = start
    for v in sorted(variants, key=lambda x: (x.start0, x.end0)):
        if v.start0 == cursor - 1 and len(v.ref) == 1 < len(v.alt) and v.alt[0] == v.ref:
            # an insertion whose anchor base the allele before it deleted or changed: its bases
            # still go in after that base (a repeat deletion and an insertion at its last base,
            # as GIAB writes some repeat alleles; vcfeval reads them so too)
            out.append(v.alt[1:])
            continue
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

