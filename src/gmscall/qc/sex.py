"""Sex check: each sample's sex from X/Y depth (the BAM index counts that ``gmscall call
--ploidy`` uses, else the depth in the gVCF or VCF) and from X heterozygosity outside the PARs,
against the PED's."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ..family import _sex_from_ratios, infer_sex
from .scan import X_NAMES, Y_NAMES, SampleStats

#: X het share (het / (het + hom-alt) outside the PARs) over the autosomal one: a male's is near 0
#: (errors and unmasked X-transposed repeats), a female's near 1.
X_HET_MALE_MAX = 0.25
X_HET_FEMALE_MIN = 0.5
#: Fewer ALT sites than this on chrX outside the PARs: no verdict from heterozygosity.
X_HET_MIN_SITES = 20
_WORD = {"M": "male", "F": "female", None: "unknown"}


@dataclass
class SexCheck:
    sample: str
    ped_sex: str | None = None
    ped_source: str = ""
    depth_sex: str | None = None
    depth_source: str = ""
    x_ratio: float | None = None
    y_ratio: float | None = None
    x_het_sites: int = 0
    x_het_share: float | None = None  # het / (het + hom-alt) on X outside the PARs
    x_het_relative: float | None = None  # over the autosomal share
    het_sex: str | None = None
    inferred: str | None = None
    called_as: str | None = None  # ##gmscallSex of the VCF (the ploidy it was called with)
    mismatch: bool = False
    note: str = ""


def check_sex(st: SampleStats, ped=None, bam: str | None = None, bam_contigs=None,
              header_sex: tuple[str, str] | None = None) -> SexCheck:
    sc = SexCheck(st.name)
    if ped is not None:
        sc.ped_sex, sc.ped_source = ped.sex_with_reason(st.name)
        if ped.individual(st.name) is None and sc.ped_sex is None:
            sc.ped_source = "not in the PED"
    if header_sex is not None:
        sc.called_as = {"M": "M", "F": "F"}.get(header_sex[0])
    # depth: the BAM index (as gmscall call), else the gVCF's bp-weighted depth, else the VCF's
    if bam is not None:
        sc.depth_sex, reason = infer_sex(bam, bam_contigs)
        sc.depth_source = f"BAM index: {reason}"
        sc.x_ratio, sc.y_ratio = _ratios_from_reason(reason)
    else:
        x, y, source = _depth_ratios(st)
        if x is not None:
            sc.x_ratio, sc.y_ratio = x, y
            sc.depth_sex = _sex_from_ratios(x, y if y is not None else 0.0) if y is not None else (
                "F" if x >= 0.8 else None)
            y_text = "no chrY records" if y is None else f"{y:.2f}"
            sc.depth_source = f"{source}: X/autosome depth {x:.2f}, Y/autosome {y_text}"
        else:
            sc.depth_source = source
    # heterozygosity on X outside the PARs
    sites = st.x_het + st.x_homalt
    sc.x_het_sites = sites
    auto = st.auto_het + st.auto_homalt
    if sites:
        sc.x_het_share = st.x_het / sites
    if sites >= X_HET_MIN_SITES and auto and st.auto_het:
        sc.x_het_relative = sc.x_het_share / (st.auto_het / auto)
        if sc.x_het_relative <= X_HET_MALE_MAX:
            sc.het_sex = "M"
        elif sc.x_het_relative >= X_HET_FEMALE_MIN:
            sc.het_sex = "F"
    verdicts = {v for v in (sc.depth_sex, sc.het_sex) if v is not None}
    if len(verdicts) == 1:
        sc.inferred = verdicts.pop()
    elif len(verdicts) > 1:
        sc.note = f"X/Y depth says {_WORD[sc.depth_sex]}, X heterozygosity says {_WORD[sc.het_sex]}"
    if sc.inferred is None and not sc.note:
        sc.note = "too little chrX/chrY evidence to infer the sex"
    if sc.ped_sex is not None and sc.inferred is not None and sc.inferred != sc.ped_sex:
        sc.mismatch = True
        sc.note = (f"the PED says {_WORD[sc.ped_sex]} ({sc.ped_source}), the data say {_WORD[sc.inferred]}"
                   + (f"; called with {_WORD[sc.called_as]} ploidy" if sc.called_as else ""))
    return sc


def _ratios_from_reason(reason: str) -> tuple[float | None, float | None]:
    import re

    m = re.search(r"X/autosome depth ([0-9.]+), Y/autosome ([0-9.]+)", reason)
    return (float(m.group(1)), float(m.group(2))) if m else (None, None)


def _depth_ratios(st: SampleStats) -> tuple[float | None, float | None, str]:
    """X and Y depth over the autosomal, from the gVCF (bp-weighted mean DP per contig) when read,
    else from the VCF (median DP of the sample's records)."""
    if st.contig_dp_bases:
        dens = {c: s / n for c, (s, n) in st.contig_dp_bases.items() if n > 0}
        auto = [v for c, v in dens.items() if c not in X_NAMES + Y_NAMES and c not in ("chrM", "MT", "M")]
        xs = [dens[c] for c in X_NAMES if c in dens]
        ys = [dens[c] for c in Y_NAMES if c in dens]
        if auto and xs and statistics.median(auto) > 0:
            a = statistics.median(auto)
            return xs[0] / a, (ys[0] / a if ys else None), "gVCF depth"
        return None, None, "gVCF: no depth on chrX or the autosomes"
    if st.auto_dp and st.x_dp:
        a = statistics.median(st.auto_dp)
        if a > 0:
            y = statistics.median(st.y_dp) / a if st.y_dp else None
            return statistics.median(st.x_dp) / a, y, "VCF depth at called sites"
    return None, None, "no chrX records with depth"
