"""Mendelian consistency of trios.

Trios (:func:`mendel`; ``gmscall eval --calls VCF --mendel CHILD,FATHER,MOTHER`` or ``--ped FILE``):
the Mendelian error rate of a multi-sample VCF, i.e. the share of sites called in all three whose
child genotype cannot be formed from one allele of the father and one of the mother (a haploid
child's allele from the mother; see :func:`mendel_consistent`), and the number of de novo calls of
the child (INFO DENOVO or FORMAT DNQ). :func:`mendel_of_truths` gives the same rate for three
single-sample truth VCFs merged by position: the floor that a perfect caller reproduces.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pysam


from .common import (
    VARIANT_TYPES,
    _called,
    _fmt_gt,
    _gt_of,
    _is_pass,
    _iter_records,
    _open_vcf,
    _position_filter,
    _Reference,
)

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
        from ..errors import GmsError
        from ..family import read_ped
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

