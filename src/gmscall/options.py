"""Frozen option dataclasses with validation; they fill the C++ parameter structs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import _core
from .errors import InputError

DEFAULT_SHARD = 250_000  # `call`/`somatic`: fastest on the benchmark set, per-shard arrays stay in reused heap memory
# `genotype`: a shard holds the parsed lines of every gVCF over it (a few hundred thousand objects
# for 30 samples at 250 kb), so shards are smaller than `call`'s.
GENOTYPE_SHARD = 50_000
# The indel screen leaves a window out where, by its read counts alone, every allele is at least as
# likely absent as present (QUAL below 10 log10 2). On the HiFi set chosen on (chr20:2-3 Mb, seed 1)
# and the real HiFi and ONT slices, the windows that wrote a record scored 10.3 or more by counts
# (the pair-HMM gave them 17 or more); 879, 54 and 32 windows scored below (docs/long-reads.md).
INDEL_SCREEN_QUAL = 10.0 * math.log10(2.0)


def _check_range(name: str, value: int, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InputError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")


@dataclass(frozen=True)
class PileupOptions:
    """Read and base filters of the pileup (samtools/bcftools defaults where they agree)."""

    min_bq: int = 13
    min_mq: int = 0
    max_depth: int = 0  # 0: no cap; else the deterministic per-bin cap of io/read_prep.hpp
    overlaps: bool = True  # count the overlapping part of a read pair once

    def __post_init__(self) -> None:
        _check_range("min_bq", self.min_bq, 0, 93)
        _check_range("min_mq", self.min_mq, 0, 255)
        _check_range("max_depth", self.max_depth, 0, 10_000_000)

    def to_core(self) -> _core.PileupParams:
        p = _core.PileupParams()
        p.min_bq = self.min_bq
        p.min_mq = self.min_mq
        p.max_depth = self.max_depth
        p.overlaps = self.overlaps
        return p


@dataclass(frozen=True)
class CallOptions:
    """Caller settings. Defaults were chosen on ../shared/data (see benchmarks/README.md)."""

    min_bq: int = 10  # GATK's default: bases below carry little and cost time
    min_mq: int = 20  # GATK's default; MAPQ also caps base quality in the SNV model
    max_depth: int = 2000  # deterministic cap: bounds memory and time on pathological piles
    overlaps: bool = True
    min_alt_count: int = 2
    min_snv_frac: float = 0.12
    min_indel_frac: float = 0.08
    max_indel_len: int = 50
    snv_het_prior: float = 1e-3
    snv_hom_prior: float = 5e-4
    indel_het_prior: float = 1.25e-4
    indel_hom_prior: float = 6.25e-5
    min_qual: float = 10.0
    low_qual: float = 20.0
    # FILTER StrandBias on SNVs with SOR above and QD below these (GATK's hard-filter bounds, required
    # together: on ../shared/data either alone also flags true SNVs, together only errors)
    strand_bias_sor: float = 3.0
    strand_bias_qd: float = 2.0
    # sequencing platform (ILLUMINA, PACBIO or ONT; '' unknown): `platform` for every sample
    # (--platform), else each sample's @RG PL; `platforms`, per VCF column, set by call()
    platform: str = ""
    platforms: tuple[str, ...] = ()
    # ONT: FILTER StrandBias on indels whose ALT reads keep to one strand, binomial p below this (0: off)
    ont_indel_strand_p: float = 1e-3
    # germline SNVs: prior of the mapping-artefact hypothesis (reads of a paralogous copy placed here
    # by the aligner) per candidate site, 0: off; the Beta(alpha, beta) of twice its ALT reads' share
    # (docs/methods.md, "Mapping artefacts"; the prior was chosen on simulate_set.py --paralogs sets
    # and the shared sets: 1e-5 cost true hets of sim-trio's HG004, 1e-6 none)
    paralog_prior: float = 1e-6
    paralog_alpha: float = 2.0
    paralog_beta: float = 3.0
    max_haplotypes: int = 12
    assemble: bool = True  # local assembly of active regions (soft clips, clustered indels)
    # where every sample is PACBIO or ONT, assembly is off unless this is set: long reads span their
    # variants, so their CIGARs hold the alleles; on the HiFi and ONT slices and a 1-Mb HiFi set the
    # calls are the same without it, at half the time (docs/long-reads.md)
    long_read_assembly: bool = False
    # indel priors times long_tract_prior_scale for a record with an insertion or deletion in a
    # reference tandem-repeat tract of long_tract_bases bases or more (csrc: CallParams::
    # long_tract_prior_scale); 0: the table the error models learn (long_tract_prior_scales) where
    # every model learnt one, else error_model.LONG_READ_TRACT_PRIOR_SCALE where every sample is
    # PACBIO or ONT, else 1 (off)
    long_tract_prior_scale: float = 0.0
    long_tract_bases: int = 8
    # the factor by tract length in bases instead (the last entry for longer tracts): what a run
    # learns from its reads (error_model.tract_prior_scales) where none is named
    long_tract_prior_scales: tuple[float, ...] = ()
    gap_open_max: int = 45
    gap_open_min: int = 30
    gap_open_slope: float = 1.0
    # learnt indel error models (gmscall.error_model), set by call(): per VCF column, the gap code
    # table of its sample's read groups ((period 0-8) x (units 0-20) codes; empty: the default),
    # then, where it has slips, the codes of losing and of gaining one unit (ErrorModel.table)
    gap_open_tables: tuple[tuple[int, ...], ...] = ()
    # the indel screen (csrc/core/indel_screen.cpp): a haplotype window whose one-unit indels the
    # learnt error model explains opens no pair-HMM job: each allele's count-level QUAL (its reads
    # weighed against the model's rate, under the genotyper's hypotheses and priors) below this; 0:
    # off; at most min_qual. allele_error_tables, per VCF column, set by call() from the learnt models
    # (error_model.allele_error_tables; empty: no screen); not used with gvcf.
    indel_screen_qual: float = INDEL_SCREEN_QUAL
    allele_error_tables: tuple[tuple[float, ...], ...] = ()
    # trios: P(a child's genotype breaks Mendelian transmission): calls, mapping and truth errors as
    # much as mutations, so far above the mutation rate; chosen on sim-trio (README: 1e-6 erased real
    # inconsistent sites, 1e-3 and 1e-2 gave the same, best, F1 and Mendelian error rate)
    de_novo_prior: float = 1e-3
    gvcf: bool = False  # <NON_REF> alleles and reference blocks (see vcf.ShardFormatter)
    gq_bands: tuple[int, ...] = (1, 10, 20, 30, 40, 50, 60, 99)  # lower bounds of the blocks' GQ bands
    # also split blocks where the depth crosses 1, 5, 10, 20, 50, 100, 200, 500 or 1000 (GATK: no)
    gvcf_depth_classes: bool = True
    # read-backed phasing: phased GT (a|b) and FORMAT PS for hets that reads connect (docs/phasing.md)
    phase: bool = True

    def __post_init__(self) -> None:
        bands = tuple(self.gq_bands)
        if not bands or any(not 1 <= b <= 99 for b in bands) or list(bands) != sorted(set(bands)):
            raise InputError(f"GQ bands must be increasing integers in [1, 99], got {list(bands)}")
        _check_range("gap_open_max", self.gap_open_max, 1, 63)
        _check_range("gap_open_min", self.gap_open_min, 1, self.gap_open_max)
        for t in self.gap_open_tables:
            gaps, slips = t[:9 * 21], t[9 * 21:]
            if t and (len(t) not in (9 * 21, 3 * 9 * 21) or not all(1 <= (c & 63) <= 63 for c in gaps)
                      or not all(0 <= c <= 63 for c in slips)):
                raise InputError("gap_open_tables: 189 gap codes per sample, then optionally 2 x 189 slip codes, "
                                 "expected (gmscall.error_model)")
        PileupOptions(self.min_bq, self.min_mq, self.max_depth, self.overlaps)
        _check_range("min_alt_count", self.min_alt_count, 1, 1_000_000)
        _check_range("max_indel_len", self.max_indel_len, 1, 1000)
        _check_range("max_haplotypes", self.max_haplotypes, 2, 64)
        for name in ("min_snv_frac", "min_indel_frac"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {v!r}")
        from .cohort import PLATFORMS, normalise_platform

        for pl in (self.platform, *self.platforms):
            if pl and normalise_platform(pl) != pl:
                raise InputError(f"platform {pl!r}: one of {', '.join(PLATFORMS)} expected")
        v = self.long_tract_prior_scale
        if not (isinstance(v, (int, float)) and (v == 0 or 1.0 <= v <= 1e3)):
            raise InputError(f"long_tract_prior_scale must be 0 (the platforms' default) or in [1, 1000], got {v!r}")
        _check_range("long_tract_bases", self.long_tract_bases, 2, 1000)
        if any(not isinstance(v, (int, float)) or not 1.0 <= v <= 1e6 for v in self.long_tract_prior_scales):
            raise InputError(f"long_tract_prior_scales must lie in [1, 1e6], got {self.long_tract_prior_scales!r}")
        v = self.indel_screen_qual
        if not (isinstance(v, (int, float)) and not isinstance(v, bool) and 0.0 <= v <= 100.0):
            raise InputError(f"indel_screen_qual must be in [0, 100] (0: off), got {v!r}")
        for t in self.allele_error_tables:
            if t and (len(t) != 9 * 21 or not all(0.0 <= x < 1.0 for x in t)):
                raise InputError("allele_error_tables: 189 probabilities in [0, 1) per sample expected "
                                 "(gmscall.error_model)")
        if not 0.0 <= self.ont_indel_strand_p <= 1.0:
            raise InputError(f"ont_indel_strand_p must be in [0, 1], got {self.ont_indel_strand_p!r}")
        for name in ("strand_bias_sor", "strand_bias_qd"):
            if not getattr(self, name) >= 0.0:
                raise InputError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0.0 <= self.paralog_prior < 1.0:
            raise InputError(f"paralog_prior must be in [0, 1), got {self.paralog_prior!r}")
        for name in ("paralog_alpha", "paralog_beta"):
            if not getattr(self, name) > 0.0:
                raise InputError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("snv_het_prior", "snv_hom_prior", "indel_het_prior", "indel_hom_prior", "de_novo_prior"):
            v = getattr(self, name)
            if not 0.0 < v < 0.5:
                raise InputError(f"{name} must be in (0, 0.5), got {v!r}")

    def to_core(self) -> _core.CallParams:
        p = _core.CallParams()
        p.pileup = PileupOptions(self.min_bq, self.min_mq, self.max_depth, self.overlaps).to_core()
        for name in ("min_alt_count", "min_snv_frac", "min_indel_frac", "max_indel_len", "snv_het_prior",
                     "snv_hom_prior", "indel_het_prior", "indel_hom_prior", "min_qual", "low_qual",
                     "strand_bias_sor", "strand_bias_qd", "paralog_prior", "paralog_alpha", "paralog_beta",
                     "max_haplotypes", "assemble", "gap_open_max",
                     "gap_open_min", "gap_open_slope", "de_novo_prior", "gvcf", "gvcf_depth_classes", "phase"):
            setattr(p, name, getattr(self, name))
        p.gq_bands = list(self.gq_bands)
        p.gap_open_tables = [list(t) for t in self.gap_open_tables]
        from .cohort import platform_code

        p.platforms = [platform_code(pl) for pl in self.platforms]
        p.ont_indel_strand_p = self.ont_indel_strand_p
        p.long_tract_prior_scale = self.long_tract_prior_scale or 1.0
        p.long_tract_bases = self.long_tract_bases
        p.long_tract_prior_scales = list(self.long_tract_prior_scales)
        if self.allele_error_tables and not self.gvcf:  # a gVCF keeps every window's likelihoods
            p.allele_error_tables = [list(t) for t in self.allele_error_tables]
            # never above min_qual: a window whose counts alone reach a written record is aligned
            p.indel_screen_qual = min(self.indel_screen_qual, self.min_qual)
        return p


@dataclass(frozen=True)
class SomaticOptions(CallOptions):
    """Somatic calling (gmscall somatic): the caller's read filters and candidate stages with
    thresholds for low allele fractions, and the tumour/normal model's thresholds (see README,
    "Somatic calling"). Defaults were checked on sim-somatic and on synthetic mixtures of other
    purities (tests/test_somatic.py)."""

    min_alt_count: int = 3  # reads over all samples: a handful of supporting reads at 80x
    min_snv_frac: float = 0.02
    min_indel_frac: float = 0.02
    tlod_emit: float = 3.0  # log10 odds that the tumour carries the allele; below: not written
    tlod_pass: float = 6.3  # below: FILTER weak_evidence
    nlod_min: float = 2.2  # log10 odds that the normal lacks it (vs a germline het); below: germline_risk
    germline_lod: float = 2.0  # tumour-only: germline_risk when a germline fraction is this close
    normal_contamination: float = 0.05  # share of tumour cells the normal may carry
    normal_artifact_lod: float = 2.0
    min_tumor_af: float = 0.03  # below: FILTER low_allele_fraction
    strand_bias_p: float = 1e-3
    cluster_max: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("tlod_emit", "tlod_pass", "nlod_min", "germline_lod", "normal_artifact_lod"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or math.isnan(v) or v < 0:
                raise InputError(f"{name} must be a number >= 0, got {v!r}")
        if self.tlod_pass < self.tlod_emit:
            raise InputError(f"tlod_pass ({self.tlod_pass}) must be at least tlod_emit ({self.tlod_emit})")
        for name in ("normal_contamination", "min_tumor_af", "strand_bias_p"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise InputError(f"{name} must be in [0, 1), got {v!r}")
        _check_range("cluster_max", self.cluster_max, 0, 1000)
        if self.gvcf:
            raise InputError("somatic calling writes no gVCF")

    def to_core(self) -> _core.CallParams:
        p = super().to_core()
        for name in ("tlod_emit", "tlod_pass", "nlod_min", "germline_lod", "normal_contamination",
                     "normal_artifact_lod", "min_tumor_af", "strand_bias_p", "cluster_max"):
            setattr(p, name, getattr(self, name))
        return p
