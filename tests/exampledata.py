"""One small synthetic data set behind the workflow test and the documentation examples: every
sample on one reference (`ref.fa`, contig chr20 of 24 kb), with the file names the docs use.

    ref.fa               the reference (+ .fai)
    kid.bam dad.bam mum.bam trio.ped   a trio (gmscall.synth.make_family; SM kid, dad, mum)
    sample.bam           one more sample (SM sample), unrelated; hifi.bam: long reads of its genome
    tumour.bam normal.bam              a tumour/normal pair (gmscall.synth.make_tumour_normal)
    truth.vcf.gz         sample's planted truth; kid.truth.vcf.gz the trio child's (SNVs)
    somatic.truth.vcf.gz the pair's somatic truth (INFO VAF: expected allele fraction)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pysam

from gmscall import synth

CONTIG, LENGTH, SEED = "chr20", 24_000, 5


@dataclass(frozen=True)
class ExampleSet:
    root: Path
    fasta: Path
    trio: dict[str, Path]  # kid, dad, mum
    ped: Path
    sample: Path
    hifi: Path  # HiFi-like long reads of `sample`'s genome (gmscall.synth.simulate_long_reads)
    tumour: Path
    normal: Path
    family: synth.Family
    pair: synth.TumourNormal
    truth: Path  # sample's planted truth (SNVs and indels)
    kid_truth: Path  # the kid's truth (SNVs)
    somatic_truth: Path


def _write_vcf(path: Path, sample: str, rows: list[str], info: str = "") -> Path:
    head = ["##fileformat=VCFv4.2", f"##contig=<ID={CONTIG},length={LENGTH}>",
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            '##INFO=<ID=VAF,Number=1,Type=Float,Description="expected allele fraction">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + sample]
    plain = path.with_suffix("")
    plain.write_text("\n".join(head + rows) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    plain.unlink()
    return path


def make_example_set(root: Path) -> ExampleSet:
    root.mkdir(parents=True, exist_ok=True)
    fam = synth.make_family(root, length=LENGTH, depth=20, seed=SEED, contig=CONTIG, n_snv=30,
                            names=("dad", "mum", "kid"))
    ref = synth.make_reference(LENGTH, SEED, contig=CONTIG)
    pair = synth.make_tumour_normal(root, ref=ref, seed=SEED, contig=CONTIG, tumour_depth=50, normal_depth=25)
    planted = synth.plant_variants(ref, SEED + 1, n_snv=25, n_indel=10)
    reads = synth.simulate_reads(planted.haplotypes, SEED + 2, 20, read_groups=("sample-L1",), name_prefix="smp")
    sample = synth.write_bam(root / "sample.bam", reads, ref, sample="sample", read_groups=("sample-L1",))
    long_reads = synth.simulate_long_reads(planted.haplotypes, SEED + 3, 20, platform="HIFI", mean_len=6000,
                                           min_len=3000, max_len=10000)
    hifi = synth.write_bam(root / "hifi.bam", long_reads, ref, sample="hifi", read_groups=("LR",), platform="PACBIO")
    kid_rows = [f"{CONTIG}\t{p + 1}\t.\t{a}\t{b}\t.\tPASS\t.\tGT\t{'|'.join(map(str, gt))}"
                for p, (a, b, gt) in sorted(fam.truth["kid"].items())]
    kid_truth = _write_vcf(root / "kid.truth.vcf.gz", "kid", kid_rows)
    truth = synth.write_truth_vcf(root / "truth.vcf.gz", planted.truth, ref, sample="sample")
    som_rows = [f"{CONTIG}\t{p + 1}\t.\t{a}\t{b}\t.\tPASS\tVAF={af}\tGT\t0/1"
                for p, (a, b, af) in sorted(pair.somatic.items())]
    somatic_truth = _write_vcf(root / "somatic.truth.vcf.gz", "tumour", som_rows)
    return ExampleSet(root, fam.fasta, dict(fam.bams), fam.ped, sample, hifi, pair.tumour, pair.normal, fam, pair,
                      truth, kid_truth, somatic_truth)
