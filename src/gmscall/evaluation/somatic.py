"""Somatic calls against a somatic truth: PASS records, allele-level (the genotype of a somatic call
is not compared), recall by allele-fraction bin and by type (SNV, indel, ITD).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .common import _Bed, _fmt, _iter_records, _open_vcf, _Reference, normalize_allele, parse_region, read_bed
from .truth import evaluate

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

