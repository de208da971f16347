"""Builds a semi-real test set with another read length, error profile or depth than the shared
ones: the GIAB HG002 variants of a region of ../shared/data/sim-hg002-chr20-2x150 planted on its
GRCh38 sequence (hets phased at random), reads simulated with ART, aligned with bwa mem.

    python benchmarks/simulate_set.py --out /tmp/sets --profile HS20 --length 100 [--depth 30]
                                      [--region chr20:4000001-5000000] [--seed 1] [--threads 2]
    python benchmarks/run.py --data /tmp/sets --out /tmp/sets-results

Writes OUT/<name>/ (reads.bam, truth.vcf.gz, confident.bed) and OUT/datasets.tsv (the layout of
../shared/data/datasets.tsv, so that run.py benchmarks the new set like the shared ones). Needs
art_illumina, bwa and samtools (Debian: apt-get install art-nextgen-simulation-tools bwa samtools).
Nothing is written into the project: the set is data, like ../shared/data.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
from run import DEFAULT_DATA, read_datasets

from gmscall.regions import parse_region

SOURCE_SET = "sim-hg002-chr20-2x150"
PROFILES = {"HS20": 100, "HS25": 150, "MSv3": 250}  # ART's profiles and their longest read
COLUMNS = ("name", "kind", "bams", "ref", "truth", "confident_bed", "region", "truth_sample", "notes")
SAMPLE = "HG002"


def plant(fasta: str, truth: str, contig: str, beg: int, end: int, seed: int, out: Path) -> list[Path]:
    """Two haplotype FASTAs of [beg, end) with the truth's variants (hets on a random copy; a
    variant overlapping one already planted on that copy is left out) and the planted truth VCF."""
    rng = random.Random(seed)
    ref = pysam.FastaFile(fasta).fetch(contig, beg, end)
    edits: list[list[tuple[int, str, str]]] = [[], []]
    last = [-1, -1]
    kept = []
    with pysam.VariantFile(truth) as vcf:
        for v in vcf.fetch(contig, beg, end):
            gt = v.samples[0]["GT"]
            if v.start < beg or v.stop > end or None in gt or not any(gt):
                continue
            g = list(gt)
            if g[0] != g[1] and rng.random() < 0.5:
                g.reverse()
            if any(g[h] and v.start < last[h] for h in (0, 1)):
                continue
            for h in (0, 1):
                if g[h]:
                    edits[h].append((v.start - beg, v.ref, v.alleles[g[h]]))
                    last[h] = v.stop
            kept.append((v, g))
    haps = []
    for h in (0, 1):
        parts, x = [], 0
        for pos, r, a in edits[h]:
            parts += [ref[x:pos], a]
            x = pos + len(r)
        parts.append(ref[x:])
        path = out / f"hap{h}.fa"
        path.write_text(f">hap{h}\n{''.join(parts)}\n")
        haps.append(path)
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID={contig},length={pysam.FastaFile(fasta).get_reference_length(contig)}>")
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    header.add_sample(SAMPLE)
    with pysam.VariantFile(str(out / "truth.vcf.gz"), "wz", header=header) as vcf_out:
        for v, g in kept:
            alts = list(dict.fromkeys(v.alleles[x] for x in g if x))
            rec = vcf_out.new_record(contig=contig, start=v.start, alleles=[v.ref, *alts])
            rec.samples[SAMPLE]["GT"] = tuple(0 if x == 0 else 1 + alts.index(v.alleles[x]) for x in g)
            rec.samples[SAMPLE].phased = True
            vcf_out.write(rec)
    pysam.tabix_index(str(out / "truth.vcf.gz"), preset="vcf", force=True)
    print(f"{len(kept)} variants planted", file=sys.stderr)
    return haps


def clip_bed(bed: Path, contig: str, beg: int, end: int, out: Path) -> None:
    with open(bed) as fh, open(out, "w") as o:
        for line in fh:
            c, s, e = line.split()[:3]
            s, e = max(int(s), beg), min(int(e), end)
            if c == contig and s < e:
                o.write(f"{c}\t{s}\t{e}\n")


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    """The rows of a datasets.tsv as written (run.read_datasets resolves their paths)."""
    with open(path, newline="") as fh:
        return {row["name"]: row for row in csv.DictReader(fh, delimiter="\t")}


def run(cmd: str) -> None:
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for the set and its datasets.tsv (outside the project)")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help=f"the shared data [{DEFAULT_DATA}]")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="HS20", help="ART error profile [HS20]")
    ap.add_argument("--length", type=int, default=None, help="read length [the profile's longest]")
    ap.add_argument("--depth", type=float, default=30.0, help="total depth, half per haplotype [30]")
    ap.add_argument("--fragment", type=int, default=None,
                    help="mean fragment length (sd 1/8 of it) [400, or 2.4x the read length when longer]")
    ap.add_argument("--region", default="chr20:4000001-5000000", help="region of the source set's truth")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    for tool in ("art_illumina", "bwa", "samtools"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install art-nextgen-simulation-tools bwa samtools")
    length = args.length or PROFILES[args.profile]
    if not 25 <= length <= PROFILES[args.profile]:
        sys.exit(f"--length must be in [25, {PROFILES[args.profile]}] for {args.profile}")
    fragment = args.fragment or max(400, round(2.4 * length))
    data, out = Path(args.data), Path(args.out).resolve()
    src = {ds.name: ds for ds in read_datasets(data)}[SOURCE_SET]
    with pysam.FastaFile(str(src.ref)) as fa:
        region = parse_region(args.region, dict(zip(fa.references, fa.lengths)))
    contig, beg, end = region.contig, region.start, region.end
    name = f"sim-hg002-{args.profile}-{length}-{args.depth:g}x-seed{args.seed}"
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)

    ref = out / "ref.fa"  # the source's reference and its bwa index, shared by every set in OUT
    if not ref.exists():
        shutil.copyfile(src.ref, ref)
        pysam.faidx(str(ref))
    if not Path(f"{ref}.bwt").exists():
        run(f"bwa index {ref} 2>/dev/null")
    haps = plant(str(ref), str(src.truth), contig, beg, end, args.seed, folder)
    clip_bed(src.bed, contig, beg, end, folder / "confident.bed")
    for h, hap in enumerate(haps):
        run(f"art_illumina -ss {args.profile} -i {hap} -p -l {length} -f {args.depth / 2} -m {fragment} "
            f"-s {fragment // 8} -rs {args.seed * 2 + h} -na -q -o {folder}/reads{h}_ 2>/dev/null")
    for mate in (1, 2):
        run(f"cat {folder}/reads0_{mate}.fq {folder}/reads1_{mate}.fq > {folder}/reads_{mate}.fq")
    rg = f"@RG\\tID:{name}\\tSM:{SAMPLE}\\tPL:ILLUMINA"
    run(f"bwa mem -t {args.threads} -R '{rg}' {ref} {folder}/reads_1.fq {folder}/reads_2.fq 2>/dev/null "
        f"| samtools sort -@ {args.threads} -o {folder}/reads.bam - && samtools index {folder}/reads.bam")
    for f in folder.glob("*.fq"):
        f.unlink()

    tsv = out / "datasets.tsv"
    rows = read_rows(tsv) if tsv.exists() else {}
    rows[name] = {
        "name": name, "kind": "simulated", "bams": f"{name}/reads.bam", "ref": os.path.relpath(ref, out),
        "truth": f"{name}/truth.vcf.gz", "confident_bed": f"{name}/confident.bed", "region": args.region,
        "truth_sample": SAMPLE,
        "notes": f"simulate_set.py: {SOURCE_SET} truth, ART {args.profile} 2x{length}, {args.depth:g}x, "
                 f"fragments {fragment}, seed {args.seed}",
    }
    with open(tsv, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter="\t")
        w.writeheader()
        for row in rows.values():
            w.writerow(row)
    print(f"{folder} (row {name} in {tsv})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
