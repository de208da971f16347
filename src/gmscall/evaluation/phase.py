"""Phase of heterozygous calls against a phased truth (``gmscall eval --phase``).

What is compared: the diploid heterozygous records of one sample of each side (two different
alleles, after normalisation: trimmed and left-aligned as in :mod:`.truth`), matched when they
carry the same two alleles (a ``0/1`` with the same ALT, or a ``1/2`` with the same two ALTs).
A side's *orientation* of a het is which of its two alleles sits on the first haplotype (the
allele written first in ``a|b``).

Blocks. Calls: a phased GT (``|``) belongs to the block of its FORMAT ``PS`` (one block per
contig for phased records without ``PS``, as VCF says); an unphased GT is not phased. Truth:
``truth_phase="phased"`` reads it the same way; ``"order"`` takes every het's GT order as its
phase, all in one block per contig (the convention of gmscall's simulated sets, where ``0/1``
means ALT on the second haplotype); ``"auto"`` (default) is ``"phased"`` when any truth het is
phased, else ``"order"``.

Metrics (as ``whatshap compare``): within each call block, its matched hets that the truth phases
are taken in position order; each adjacent pair of them in one truth block is *assessed*, and is a
*switch* when the two sides' relative orientations differ. Switch error rate = switches /
assessed pairs. A *flip* is a single het phased against its neighbours: two switches in a row
(pairs i-1,i and i,i+1), counted as one flip (left to right, a switch belongs to one flip at most);
``switches_after_flips`` = switches - 2 x flips. Phased fraction: called hets (PASS, inside
``bed``/``region``) with a phased GT in a block of two hets or more, over all called hets. Block
N50: of the call blocks of two hets or more, by span (first to last het POS, + 1).

Stdlib and pysam only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .common import _is_pass, _iter_records, _open_vcf, _position_filter, _Reference, normalize_allele

#: An allele of a het after normalisation: None for REF, else (pos, ref, alt).
_Allele = Any


@dataclass(frozen=True)
class _Het:
    chrom: str
    pos: int  # the record's POS
    alleles: tuple[_Allele, _Allele]  # normalised, sorted: the het's identity
    first: int  # which of `alleles` the GT writes first (0/1)
    phased: bool
    block: Any  # (chrom, PS) or (chrom, None); None when not phased


@dataclass
class PhaseEval:
    """Result of :func:`evaluate_phase` (see the module text for the definitions)."""

    truth_vcf: str
    calls_vcf: str
    truth_phase: str  # how the truth was read: "phased" or "order"
    called_hets: int = 0
    phased_hets: int = 0  # of called_hets: phased, in a block of two hets or more
    matched_hets: int = 0  # called hets that match a truth het
    matched_phased: int = 0  # ... phased in both
    assessed_pairs: int = 0
    switches: int = 0
    flips: int = 0
    blocks: int = 0  # call blocks of two hets or more
    block_n50: int = 0  # bp
    #: "chrom:pos" of the second het of every switched pair.
    switch_at: list[str] = field(default_factory=list)

    @property
    def switch_error_rate(self) -> float | None:
        return self.switches / self.assessed_pairs if self.assessed_pairs else None

    @property
    def phased_fraction(self) -> float | None:
        return self.phased_hets / self.called_hets if self.called_hets else None

    @property
    def switches_after_flips(self) -> int:
        return self.switches - 2 * self.flips

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(switch_error_rate=self.switch_error_rate, phased_fraction=self.phased_fraction,
                 switches_after_flips=self.switches_after_flips)
        return d

    def table(self) -> str:
        ser = "-" if self.switch_error_rate is None else f"{100 * self.switch_error_rate:.3f} %"
        frac = "-" if self.phased_fraction is None else f"{100 * self.phased_fraction:.1f} %"
        how = self.truth_phase
        if how == "order":
            how += (" (each truth het's GT order taken as its phase, one block per contig: right for gmscall's "
                    "simulated sets, meaningless for an unphased real truth)")
        return "\n".join([
            f"phase: truth read as {how}",
            f"called hets        {self.called_hets}",
            f"phased hets        {self.phased_hets} ({frac})",
            f"blocks (>= 2 hets) {self.blocks}, N50 {self.block_n50} bp",
            f"matched hets       {self.matched_hets} (phased in both: {self.matched_phased})",
            f"assessed pairs     {self.assessed_pairs}",
            (f"switch errors      {self.switches} ({ser}); flips {self.flips}, "
             f"other switches {self.switches_after_flips}"),
        ])


def _read_hets(path: str, sample: str | None, ref: _Reference | None, keep: Any, region: str | None,
               pass_only: bool, order: bool) -> tuple[list[_Het], bool]:
    """The diploid hets of one sample (inside keep), and whether any GT of them is phased."""
    out: list[_Het] = []
    any_phased = False
    with _open_vcf(path) as vf:
        samples = list(vf.header.samples)
        if not samples:
            raise ValueError(f"{path}: no sample column")
        name = sample or samples[0]
        if name not in samples:
            raise ValueError(f"{path}: no sample {name!r} (samples: {', '.join(samples)})")
        for rec in _iter_records(vf, region):
            if pass_only and not _is_pass(rec):
                continue
            if not keep(rec.chrom, rec.pos) or "GT" not in rec.format:
                continue
            call = rec.samples[name]
            gt = tuple(call["GT"] or ())
            if len(gt) != 2 or None in gt or gt[0] == gt[1]:
                continue
            alleles = rec.alleles or ()
            keys: list[_Allele] = []
            for a in gt:
                if a == 0:
                    keys.append(None)
                    continue
                alt = alleles[a]
                if alt.startswith("<") or alt in ("*", ".") or "[" in alt or "]" in alt:
                    break
                keys.append(normalize_allele(ref, rec.chrom, rec.pos, alleles[0], alt))
            if len(keys) != 2:
                continue
            ordered = sorted(keys, key=lambda k: (-1, "", "") if k is None else k)
            first = 0 if ordered[0] == keys[0] else 1
            phased = bool(call.phased)
            any_phased |= phased
            block = None
            if phased or order:
                ps = call.get("PS") if "PS" in rec.format and not order else None
                block = (rec.chrom, ps)
            out.append(_Het(rec.chrom, rec.pos, (ordered[0], ordered[1]), first, phased or order, block))
    return out, any_phased


def _n50(spans: Sequence[int]) -> int:
    total, acc = sum(spans), 0
    for s in sorted(spans, reverse=True):
        acc += s
        if 2 * acc >= total:
            return s
    return 0


def evaluate_phase(truth_vcf: str, calls_vcf: str, ref: str | None = None, *, bed: str | None = None,
                   region: str | None = None, truth_sample: str | None = None, calls_sample: str | None = None,
                   include_filtered: bool = False, truth_phase: str = "auto") -> PhaseEval:
    """Switch errors, flips, phased fraction and block N50 of the calls' phase against the truth's
    (see the module text). ``ref`` (FASTA) left-aligns indels on both sides before matching."""
    if truth_phase not in ("auto", "phased", "order"):
        raise ValueError(f"truth_phase must be auto, phased or order, not {truth_phase!r}")
    keep = _position_filter(bed, region)
    ref_seq = _Reference(ref) if ref else None
    try:
        truth, truth_any_phased = _read_hets(truth_vcf, truth_sample, ref_seq, keep, region, True,
                                             truth_phase == "order")
        mode = truth_phase
        if mode == "auto":
            mode = "phased" if truth_any_phased else "order"
            if mode == "order":
                truth = [_Het(h.chrom, h.pos, h.alleles, h.first, True, (h.chrom, None)) for h in truth]
        calls, _ = _read_hets(calls_vcf, calls_sample, ref_seq, keep, region, not include_filtered, False)
    finally:
        if ref_seq is not None:
            ref_seq.close()
    res = PhaseEval(truth_vcf, calls_vcf, mode)
    by_key = {(h.chrom, h.alleles): h for h in truth if h.phased}
    truth_keys = {(h.chrom, h.alleles) for h in truth}
    blocks: dict[Any, list[_Het]] = defaultdict(list)
    for h in calls:
        if h.phased:
            blocks[h.block].append(h)
    res.called_hets = len(calls)
    spans = []
    for members in blocks.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda h: h.pos)
        res.phased_hets += len(members)
        spans.append(members[-1].pos - members[0].pos + 1)
    res.blocks, res.block_n50 = len(spans), _n50(spans)
    res.matched_hets = sum((h.chrom, h.alleles) in truth_keys for h in calls)
    for key in sorted(blocks, key=lambda b: (b[0], -1 if b[1] is None else b[1])):
        members = blocks[key]
        if len(members) < 2:
            continue
        pairs = [(h, by_key[(h.chrom, h.alleles)]) for h in members if (h.chrom, h.alleles) in by_key]
        res.matched_phased += len(pairs)
        switched: list[bool | None] = []  # per adjacent pair; None: not assessed (truth blocks differ)
        for (c0, t0), (c1, t1) in zip(pairs, pairs[1:]):
            if t0.block != t1.block:
                switched.append(None)
                continue
            res.assessed_pairs += 1
            sw = (c0.first ^ c1.first) != (t0.first ^ t1.first)
            if sw:
                res.switches += 1
                res.switch_at.append(f"{c1.chrom}:{c1.pos}")
            switched.append(sw)
        k = 0
        while k + 1 < len(switched):
            if switched[k] is True and switched[k + 1] is True:
                res.flips += 1
                k += 2
            else:
                k += 1
    return res
