"""Builds a semi-real long-read test set: the GIAB HG002 variants of a region of
../shared/data/sim-hg002-chr20-2x150 planted on its GRCh38 sequence (as simulate_set.py does),
long reads simulated from the two haplotypes and aligned with minimap2.

    python benchmarks/simulate_long_set.py --out /tmp/sets --platform HIFI --simulator pbsim \
        [--depth 30] [--region chr20:2000001-3000000] [--seed 1] [--threads 2]
    python benchmarks/run.py --data /tmp/sets --out /tmp/sets-results

Simulators:
- ``pbsim`` (Debian's pbsim 1.0, model-based): its CCS model is fixed at 98 % accuracy, far
  below HiFi, so its CLR model is used at its best accuracy (99 %) with a HiFi-like or ONT-like
  substitution:insertion:deletion ratio. Its errors fall anywhere, independent of the sequence:
  it does not make the homopolymer-length errors that dominate real HiFi and ONT reads, and its
  HiFi-like reads have about 6x the real HiFi error rate.
- ``synth``: ``gmscall.synth.simulate_long_reads`` (homopolymer-length errors growing with the
  run's length, measured on the real slices with benchmarks/error_profile.py; for ONT, curves of
  homopolymer and tandem-repeat length fitted to the real ONT slice, ``error_profile.py --fit``),
  written as FASTQ and aligned like the pbsim reads.

``benchmarks/error_profile.py`` compares a set's errors with the real slices'. Writes
OUT/<name>/ (reads.bam, truth.vcf.gz, confident.bed) and a row of OUT/datasets.tsv. Needs
minimap2 and samtools (and pbsim for --simulator pbsim): apt-get install minimap2 samtools pbsim.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pysam
from run import DEFAULT_DATA, read_datasets
from simulate_set import SAMPLE, SOURCE_SET, clip_bed, plant, read_rows, run, write_rows

from gmscall import synth
from gmscall.regions import parse_region

# pbsim (CLR model) settings per platform: accuracy mean / sd / min, sub:ins:del ratio, lengths.
# pbsim 1.0 makes no read better than 99 % (it reports accuracy 0.99 for any higher mean): HiFi-like
# reads are therefore about 6x noisier than real HiFi (1.6 errors per kb on the real slice), with its
# share of indels; ONT-like reads have the real slice's rate (11 per kb) and substitution share.
PBSIM = {
    "HIFI": {"accuracy": (0.99, 0.001, 0.985), "ratio": "10:45:45", "length": (15000, 5000, 5000, 30000)},
    "ONT": {"accuracy": (0.99, 0.001, 0.985), "ratio": "50:25:25", "length": (20000, 10000, 5000, 60000)},
}
MINIMAP2 = {"HIFI": "map-hifi", "ONT": "map-ont"}
PLATFORM_TAG = {"HIFI": "PACBIO", "ONT": "ONT"}
_COMPLEMENT = str.maketrans("ACGTN", "TGCAN")


def pbsim_reads(hap: Path, platform: str, depth: float, seed: int, prefix: Path) -> Path:
    acc, ratio, (mean, sd, lo, hi) = PBSIM[platform]["accuracy"], PBSIM[platform]["ratio"], PBSIM[platform]["length"]
    model = "/usr/share/pbsim/models/model_qc_clr"
    run(f"pbsim --data-type CLR --model_qc {model} --depth {depth} --length-mean {mean} --length-sd {sd} "
        f"--length-min {lo} --length-max {hi} --accuracy-mean {acc[0]} --accuracy-sd {acc[1]} "
        f"--accuracy-min {acc[2]} --accuracy-max 1.0 --difference-ratio {ratio} --seed {seed} "
        f"--prefix {prefix} {hap} 2>/dev/null")
    fq = Path(f"{prefix}_0001.fastq")
    for extra in (f"{prefix}_0001.maf", f"{prefix}_0001.ref"):
        Path(extra).unlink(missing_ok=True)
    return fq


def synth_reads(hap: Path, platform: str, depth: float, seed: int, prefix: Path) -> Path:
    """gmscall.synth long reads of one haplotype FASTA (depth: of this haplotype), as FASTQ with
    reverse-strand reads reverse-complemented (as a sequencer gives them)."""
    seq = pysam.FastaFile(str(hap)).fetch(pysam.FastaFile(str(hap)).references[0]).upper()
    h = synth.Haplotype("hap", 0, seq, np.arange(len(seq), dtype=np.int64))
    reads = synth.simulate_long_reads([h], seed, depth, platform=platform, name_prefix=prefix.name)
    fq = Path(f"{prefix}.fastq")
    with open(fq, "w") as out:
        for rd in reads:
            if rd.flag & synth.SUPPLEMENTARY:
                continue
            s, q = rd.seq, "".join(chr(33 + int(x)) for x in rd.qual)
            if rd.flag & synth.REVERSE:
                s, q = s.translate(_COMPLEMENT)[::-1], q[::-1]
            out.write(f"@{rd.name}\n{s}\n+\n{q}\n")
    return fq


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for the set and its datasets.tsv (outside the project)")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help=f"the shared data [{DEFAULT_DATA}]")
    ap.add_argument("--platform", choices=sorted(PBSIM), default="HIFI")
    ap.add_argument("--simulator", choices=("pbsim", "synth"), default="pbsim")
    ap.add_argument("--depth", type=float, default=30.0, help="total depth, half per haplotype [30]")
    ap.add_argument("--region", default="chr20:2000001-3000000", help="region of the source set's truth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--name", default=None, help="set name [lr-<platform>-<simulator>-<depth>x-seed<seed>]")
    args = ap.parse_args()
    tools = ("minimap2", "samtools") + (("pbsim",) if args.simulator == "pbsim" else ())
    for tool in tools:
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install {' '.join(tools)}")
    data, out = Path(args.data), Path(args.out).resolve()
    src = {ds.name: ds for ds in read_datasets(data)}[SOURCE_SET]
    with pysam.FastaFile(str(src.ref)) as fa:
        region = parse_region(args.region, dict(zip(fa.references, fa.lengths)))
    contig, beg, end = region.contig, region.start, region.end
    name = args.name or f"lr-{args.platform.lower()}-{args.simulator}-{args.depth:g}x-seed{args.seed}"
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    ref = out / "ref.fa"  # the source's reference, shared by every set in OUT
    if not ref.exists():
        shutil.copyfile(src.ref, ref)
        pysam.faidx(str(ref))
    haps = plant(str(ref), str(src.truth), contig, beg, end, args.seed, folder)
    clip_bed(src.bed, contig, beg, end, folder / "confident.bed")
    make = pbsim_reads if args.simulator == "pbsim" else synth_reads
    fastqs = []
    for h, hap in enumerate(haps):
        fq = make(hap, args.platform, args.depth / 2, args.seed * 2 + h, folder / f"h{h}")
        renamed = folder / f"reads{h}.fq"  # read names unique over both haplotypes
        run(f"awk 'NR % 4 == 1 {{ sub(/^@/, \"@h{h}_\") }} {{ print }}' {fq} > {renamed}")
        fq.unlink()
        fastqs.append(renamed)
    rg = f"@RG\\tID:{name}\\tSM:{SAMPLE}\\tPL:{PLATFORM_TAG[args.platform]}"
    # minimap2 places reads on the whole reference (the source's first 10 Mb of chr20)
    run(f"minimap2 -t {args.threads} -ax {MINIMAP2[args.platform]} -R '{rg}' {ref} {' '.join(map(str, fastqs))} "
        f"2>/dev/null | samtools sort -@ {args.threads} -o {folder}/reads.bam - && samtools index {folder}/reads.bam")
    for f in fastqs:
        f.unlink()
    for h in (0, 1):
        (folder / f"hap{h}.fa").unlink(missing_ok=True)
        Path(f"{folder}/hap{h}.fa.fai").unlink(missing_ok=True)

    tsv = out / "datasets.tsv"
    rows = read_rows(tsv) if tsv.exists() else {}
    sim = ("pbsim 1.0 CLR model at " + str(PBSIM[args.platform]["accuracy"][0]) + " accuracy, sub:ins:del "
           + str(PBSIM[args.platform]["ratio"])) if args.simulator == "pbsim" else "gmscall.synth.simulate_long_reads"
    rows[name] = {
        "name": name, "kind": "simulated", "bams": f"{name}/reads.bam", "ref": os.path.relpath(ref, out),
        "truth": f"{name}/truth.vcf.gz", "confident_bed": f"{name}/confident.bed", "region": args.region,
        "truth_sample": SAMPLE,
        "notes": f"simulate_long_set.py: {SOURCE_SET} truth, {args.platform} reads from {sim}, {args.depth:g}x, "
                 f"minimap2 -ax {MINIMAP2[args.platform]}, seed {args.seed}",
    }
    write_rows(tsv, rows)
    print(f"{folder} (row {name} in {tsv})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
