"""Builds the reads of a person unrelated to the shared trio at its locus, for the sample-swap check
of ``gmscall qc``: the GIAB HG002 variants of another stretch of ../shared/data/sim-hg002-chr20-2x150
(chr20:1,000,001-3,000,000 by default) moved by ``--shift`` bp onto the trio's locus, each REF taken
from the reference at its new place (an SNV keeps its kind: a transition stays a transition; an
indel keeps its length and inserted bases), then planted, read (ART) and aligned (bwa mem) as
benchmarks/simulate_set.py does. The genome has a real person's density of hets and homs, blocks and
indels, independent of the trio's haplotypes at the locus; unlike a real neighbour it lacks the
common ALT alleles the trio shares with the population there.

    python benchmarks/make_unrelated.py --out /tmp/sets/qc-unrelated --sample HG003 \\
        [--source chr20:1000001-3000000] [--shift 2000000] [--profile HS25] [--depth 30] [--seed 21]

Writes OUT/<name>/ (reads.bam with @RG SM = --sample, truth.vcf.gz). Needs art_illumina, bwa, samtools.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pysam
from run import DEFAULT_DATA, read_datasets
from simulate_set import PROFILES, SOURCE_SET, plant, run

from gmscall.regions import parse_region

_TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}
_TRANSVERSION = {"A": "C", "C": "A", "G": "T", "T": "G"}


def shifted_truth(fasta: str, truth: str, contig: str, beg: int, end: int, shift: int, out: Path) -> int:
    """The truth's records of [beg, end) moved by ``shift`` with REFs of the new place."""
    fa = pysam.FastaFile(fasta)
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID={contig},length={fa.get_reference_length(contig)}>")
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    header.add_sample("HG002")
    n = 0
    with pysam.VariantFile(truth) as vin, pysam.VariantFile(str(out), "wz", header=header) as vout:
        for v in vin.fetch(contig, beg, end):
            gt = v.samples[0]["GT"]
            if v.start < beg or v.stop > end or None in gt or not any(gt) or len(v.alts or ()) != 1:
                continue
            start = v.start + shift
            ref = fa.fetch(contig, start, start + len(v.ref)).upper()
            if "N" in ref:
                continue
            alt = v.alts[0]
            if len(v.ref) == 1 and len(alt) == 1:
                kind = _TRANSITION if _TRANSITION.get(v.ref.upper()) == alt.upper() else _TRANSVERSION
                new_alt = kind[ref]
            elif len(alt) > len(v.ref):  # insertion: the same inserted bases after the new anchor
                new_alt = ref + alt[len(v.ref):]
            elif len(alt) < len(v.ref):  # deletion of the same length
                new_alt = ref[: len(alt)]
            else:
                continue
            rec = vout.new_record(contig=contig, start=start, alleles=[ref, new_alt])
            rec.samples["HG002"]["GT"] = tuple(gt)
            vout.write(rec)
            n += 1
    pysam.tabix_index(str(out), preset="vcf", force=True)
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--sample", default="UNREL", help="@RG SM of the reads (the name the swap sends them as)")
    ap.add_argument("--source", default="chr20:1000001-3000000", help="where the variants come from")
    ap.add_argument("--shift", type=int, default=2_000_000, help="bp to move them by [2000000]")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="HS25")
    ap.add_argument("--depth", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=21)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ref", help="reference FASTA with a bwa index [OUT/ref.fa, made from the source set]")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out).resolve()
    src = {ds.name: ds for ds in read_datasets(data)}[SOURCE_SET]
    with pysam.FastaFile(str(src.ref)) as fa:
        region = parse_region(args.source, dict(zip(fa.references, fa.lengths)))
    contig, beg, end = region.contig, region.start, region.end
    length = PROFILES[args.profile]
    fragment = max(400, round(2.4 * length))
    name = f"unrelated-{args.sample}-{args.profile}-{length}-{args.depth:g}x-seed{args.seed}"
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    ref = Path(args.ref) if args.ref else out / "ref.fa"
    if not ref.exists():
        shutil.copyfile(src.ref, ref)
        pysam.faidx(str(ref))
    if not Path(f"{ref}.bwt").exists():
        run(f"bwa index {ref} 2>/dev/null")
    moved = folder / "shifted.vcf.gz"
    n = shifted_truth(str(ref), str(src.truth), contig, beg, end, args.shift, moved)
    print(f"{n} variants moved from {args.source} by {args.shift}", file=sys.stderr)
    haps = plant(str(ref), str(moved), contig, beg + args.shift, end + args.shift, args.seed, folder)
    for h, hap in enumerate(haps):
        run(f"art_illumina -ss {args.profile} -i {hap} -p -l {length} -f {args.depth / 2} -m {fragment} "
            f"-s {fragment // 8} -rs {args.seed * 2 + h} -na -q -o {folder}/reads{h}_ 2>/dev/null")
    for mate in (1, 2):
        run(f"cat {folder}/reads0_{mate}.fq {folder}/reads1_{mate}.fq > {folder}/reads_{mate}.fq")
    rg = f"@RG\\tID:{name}\\tSM:{args.sample}\\tPL:ILLUMINA"
    run(f"bwa mem -t {args.threads} -R '{rg}' {ref} {folder}/reads_1.fq {folder}/reads_2.fq 2>/dev/null "
        f"| samtools sort -@ {args.threads} -o {folder}/reads.bam - && samtools index {folder}/reads.bam")
    for f in folder.glob("*.fq"):
        f.unlink()
    print(folder, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
