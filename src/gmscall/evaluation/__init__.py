"""Evaluation of gmscall's (or any caller's) VCFs, one module per kind:

- :mod:`.truth`: germline calls against a truth VCF (GA4GH-style: normalised alleles, haplotype
  matching of differently written events, genotype-aware counts, indel recall by length);
- :mod:`.trios`: Mendelian errors and de novo calls of trios;
- :mod:`.somatic`: somatic calls against a somatic truth;
- :mod:`.phase`: phased heterozygous calls against a phased truth (switch errors, blocks);
- :mod:`.common`: what they share (normalisation, reference, regions, BED, VCF reading);
- :mod:`.cli`: ``gmscall eval`` / ``python -m gmscall.evaluation``.

Stdlib and pysam only: usable without gmscall's compiled core.
"""

from __future__ import annotations

from .cli import add_eval_arguments, main, run_eval
from .common import Variant, normalize_allele, parse_region, read_bed, vcf_sample_names
from .phase import PhaseEval, evaluate_phase
from .somatic import SomaticEval, evaluate_somatic
from .trios import (
    MendelResult,
    Trio,
    mendel,
    mendel_consistent,
    mendel_of_single_samples,
    mendel_of_truths,
    parse_trio,
    ped_trios,
)
from .truth import Counts, EvalResult, evaluate, format_table, load_variants

__all__ = [
    "Counts",
    "EvalResult",
    "MendelResult",
    "PhaseEval",
    "SomaticEval",
    "Trio",
    "Variant",
    "add_eval_arguments",
    "evaluate",
    "evaluate_phase",
    "evaluate_somatic",
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
