"""Sample identity and quality of gmscall's outputs (``gmscall qc``): sex check, relatedness
against the PED, per-sample counts and distributions, Mendelian errors, callable bases; written as
TSV/JSON and as MultiQC custom content.

    report = gmscall.qc.run_qc(["trio.vcf.gz"], ped="trio.ped", out_dir="qc/")
    report["mismatches"]   # one line per sex or relationship that disagrees with the PED

Modules: :mod:`.scan` (reading the VCF/gVCFs), :mod:`.relate` (KING-robust and IBD kinship),
:mod:`.sex`, :mod:`.report` (files).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import pysam

from ..errors import InputError
from .relate import GenotypeMatrix, PairResult, compare_with_pedigree, describe_mismatch, relatedness
from .report import pair_dict, write_outputs
from .scan import SampleStats, is_gvcf, merge_gvcf_genotypes, open_vcf, scan_gvcf, scan_vcf
from .sex import check_sex

__all__ = ["GenotypeMatrix", "PairResult", "relatedness", "run_qc", "write_outputs"]

log = logging.getLogger("gmscall")


def _bam_sample(path: str) -> tuple[str, list[tuple[str, int]]]:
    try:
        with pysam.AlignmentFile(path, require_index=False) as bam:
            names = sorted({rg.get("SM") for rg in bam.header.to_dict().get("RG", []) if rg.get("SM")})
            contigs = list(zip(bam.references, bam.lengths))
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot open it as BAM/CRAM ({str(e).strip()})") from None
    if len(names) != 1:
        raise InputError(f"{path}: gmscall qc needs one sample per BAM (@RG SM); it has "
                         f"{len(names) or 'no'}{': ' + ', '.join(names) if names else ''}")
    return names[0], contigs


def run_qc(vcfs: Sequence[str], ped: str | None = None, bams: Sequence[str] = (), out_dir: str | None = None,
           ploidy: str | None = None, min_gq: int = 20, min_dp: int = 10, regions_bed: str | None = None
           ) -> dict[str, Any]:
    """QC of a joint VCF and/or one-sample gVCFs (gmscall's outputs). Genotypes come from the joint
    VCF when one is given, else from the gVCFs merged (a sample without a call at a site is
    hom-ref where its reference block has GQ >= ``min_gq``). Returns the report (JSON-ready);
    with ``out_dir``, writes it there as TSV, JSON and MultiQC custom content."""
    from ..evaluation.common import read_bed
    from ..family import PloidyMap, read_ped

    if not vcfs:
        raise InputError("gmscall qc: give a joint VCF or gVCFs")
    pedigree = read_ped(ped) if ped else None
    ploidy_map = PloidyMap.from_option(ploidy) if ploidy else None
    try:
        bed = read_bed(regions_bed) if regions_bed else None
    except (OSError, ValueError) as e:
        raise InputError(f"BED file {e}" if str(e).startswith(str(regions_bed)) else
                         f"BED file {regions_bed}: cannot read it ({e})") from None
    joint, gvcfs = [], []
    for path in vcfs:
        if not os.path.exists(path):
            raise InputError(f"{path}: no such file")
        with open_vcf(path) as vf:
            (gvcfs if is_gvcf(vf) else joint).append(path)
    if len(joint) > 1:
        raise InputError(f"gmscall qc: one joint VCF at a time ({', '.join(joint)}); gVCFs may be several")
    scan = None
    if joint:
        scan = scan_vcf(joint[0], pedigree, ploidy_map, min_gq=min_gq, min_dp=min_dp)
    stats: dict[str, SampleStats] = dict(scan.stats) if scan else {}
    gvcf_samples = []
    for path in gvcfs:
        with open_vcf(path) as vf:
            names = list(vf.header.samples)
        name = names[0] if len(names) == 1 else None
        if scan is None and name is not None and name not in stats:
            # no joint VCF: the gVCF's own records give the per-sample counts
            one = scan_vcf(path, None, ploidy_map, min_gq=min_gq, min_dp=min_dp)
            stats[name] = one.stats[name]
        if scan is not None and name is not None and name not in stats:
            raise InputError(f"{path}: sample {name} is not in {joint[0]} ({', '.join(scan.samples)})")
        st, gs = scan_gvcf(path, stats.get(name) if name else None, min_gq=min_gq, min_dp=min_dp, bed=bed)
        stats[st.name] = st
        gvcf_samples.append(gs)
    if scan is not None:
        samples, genotypes = scan.samples, scan.genotypes
    else:
        samples = [g.name for g in gvcf_samples]
        if len(set(samples)) != len(samples):
            raise InputError("gmscall qc: two gVCFs of the same sample")
        genotypes = merge_gvcf_genotypes(gvcf_samples, min_gq=min_gq)
    if pedigree is not None:
        pedigree.check_samples(samples, ped)
    bam_of: dict[str, tuple[str, list[tuple[str, int]]]] = {}
    for path in bams:
        name, contigs = _bam_sample(path)
        if name not in stats:
            raise InputError(f"{path}: its sample {name} is not among the VCF's ({', '.join(samples)})")
        bam_of[name] = (path, contigs)
    # relatedness
    pairs, model = relatedness(genotypes)
    if pedigree is not None:
        compare_with_pedigree(pairs, pedigree)
    # sex
    header_sex = scan.header_sex if scan else {}
    sex = [check_sex(stats[s], pedigree, *bam_of.get(s, (None, None)), header_sex=header_sex.get(s))
           for s in samples]
    mismatches = [f"sex of {x.sample}: {x.note}" for x in sex if x.mismatch]
    mismatches += [describe_mismatch(p) for p in pairs if p.mismatch]
    for m in mismatches:
        log.warning("qc: %s", m)
    report: dict[str, Any] = {
        "inputs": {"vcf": joint[0] if joint else None, "gvcfs": gvcfs, "ped": ped, "bams": list(bams)},
        "params": {"min_gq": min_gq, "min_dp": min_dp, "ploidy": scan.ploidy_source if scan else ploidy,
                   "regions": regions_bed},
        "samples": [_sample_dict(stats[s]) for s in samples],
        "sex": [_sex_dict(x) for x in sex],
        "relatedness": {"sites": genotypes.n_sites, "ibd_error_rate": model.e1,
                        "em_iterations": model.iterations, "pairs": [pair_dict(p) for p in pairs]},
        "mendel": [_mendel_dict(m) for m in (scan.mendel if scan else [])],
        "denovo": scan.denovo if scan else [],
        "error_model": scan.error_model if scan else [],
        "mismatches": mismatches,
    }
    if out_dir is not None:
        write_outputs(report, out_dir)
    return report


def _sample_dict(st: SampleStats) -> dict[str, Any]:
    return {
        "sample": st.name, "variants": st.records, "snv": st.snv, "mnv": st.mnv, "insertion": st.insertion,
        "deletion": st.deletion, "complex": st.complex, "transitions": st.transitions,
        "transversions": st.transversions, "titv": st.titv, "het": st.het, "hom_alt": st.hom_alt,
        "het_hom_ratio": st.het_hom_ratio, "haploid_alt": st.haploid_alt, "missing": st.missing,
        "indel_lengths": dict(sorted(st.indel_lengths.items())), "gq_hist": st.gq_hist, "dp_hist": st.dp_hist,
        "gvcf": st.gvcf, "bases": st.bases, "callable_bases": st.callable_bases,
        "callable_fraction": st.callable_fraction, "bp_gq_hist": st.bp_gq_hist, "bp_dp_hist": st.bp_dp_hist,
        "phased": st.phased, "phase_blocks": len(st.ps_blocks), "phase_n50": st.phase_n50,
    }


def _sex_dict(x) -> dict[str, Any]:
    d = {k: getattr(x, k) for k in ("sample", "ped_sex", "ped_source", "depth_sex", "depth_source", "x_ratio",
                                    "y_ratio", "x_het_sites", "x_het_share", "x_het_relative", "het_sex",
                                    "inferred", "called_as", "mismatch", "note")}
    d["status"] = "MISMATCH" if x.mismatch else ("no call" if x.inferred is None else "ok")
    return d


def _mendel_dict(m) -> dict[str, Any]:
    return {"trio": list(m.trio), "sites": m.sites, "all_called": m.all_called, "inconsistent": m.inconsistent,
            "rate": m.rate, "denovo": m.denovo, "denovo_inconsistent": m.denovo_inconsistent,
            "by_type": m.by_type, "inconsistent_sites": m.inconsistent_sites}
