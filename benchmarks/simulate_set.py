"""Builds a semi-real test set with another read length, error profile or depth than the shared
ones: the GIAB HG002 variants of a region of ../shared/data/sim-hg002-chr20-2x150 planted on its
GRCh38 sequence (hets phased at random), reads simulated with ART, aligned with bwa mem.

    python benchmarks/simulate_set.py --out /tmp/sets --profile HS20 --length 100 [--depth 30]
                                      [--region chr20:4000001-5000000] [--seed 1] [--threads 2]
    python benchmarks/run.py --data /tmp/sets --out /tmp/sets-results

With --trio, a trio instead: the planted truths of ../shared/data/sim-trio-chr20-2x150 (HG002 son,
HG003 father, HG004 mother; the region must lie in its chr20:3,000,001-5,000,000), one BAM per
sample (`HG00N.bam`, reads simulated with seeds of their own), `truth.HG00N.vcf.gz`, `trio.ped`
and the trio set's confident BED clipped to the region: the layout of the shared trio, so that
run.py calls it jointly too.

With --stutter, the reads carry PCR stutter: ART writes its reads with their true place on the
haplotype (-sam); each read pair is a molecule, and each tandem-repeat tract wholly inside it gains
or loses one unit with the probability of `gmscall.synth.stutter_rate` (log-linear in the tract's
length, lower for longer periods: Fungtammasan et al. 2015, HipSTR; `--stutter-scale` multiplies it);
a pair with an edit is read again from the edited molecule (same length, same qualities per cycle,
ART's substitutions kept at their cycles), both mates alike. Pairs whose ART reads carry an indel
error are left as they are. The set's name ends in `-stutter`.

With --paralogs N, the sample also carries N paralogous copies that the reference lacks (segmental
duplications, copy-number gains): N segments of the region (500-3,000 bp, at random places) are
copied with 1-5 % of their bases substituted, and reads of each copy are simulated at a quarter to
a half of the set's depth (one extra copy, some of whose reads the aligner places elsewhere). The
aligner puts the copies' reads on the segments, where their substitutions read as SNVs at 10-35 %
allele fraction, several to a read: the mapping artefacts of real data. The truth is unchanged (the
locus itself carries none of them); the copies are written to `paralogs.fa` (name: segment and
divergence). The set's name ends in `-paralogsN`.

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
TRIO_SET = "sim-trio-chr20-2x150"
TRIO = ("HG002", "HG003", "HG004")  # child, father, mother
PROFILES = {"HS20": 100, "HS25": 150, "MSv3": 250}  # ART's profiles and their longest read
COLUMNS = ("name", "kind", "bams", "ref", "truth", "confident_bed", "region", "truth_sample", "notes")
SAMPLE = "HG002"


def phased_variants(truth: str, contig: str, beg: int, end: int, rng: random.Random
                    ) -> list[tuple[pysam.VariantRecord, list[int]]]:
    """The truth's variants of [beg, end) with their haplotypes (hets on a random copy); a variant
    overlapping one already kept on the same copy is left out."""
    kept, last = [], [-1, -1]
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
                    last[h] = v.stop
            kept.append((v, g))
    return kept


def plant(fasta: str, truth: str, contig: str, beg: int, end: int, seed: int, out: Path,
          sample: str = SAMPLE, prefix: str = "") -> list[Path]:
    """Two haplotype FASTAs of [beg, end) with the truth's variants (hets on a random copy; a
    variant overlapping one already planted on that copy is left out) and the planted truth VCF
    (OUT/<prefix>hap0.fa, hap1.fa, truth[.<sample>].vcf.gz)."""
    ref = pysam.FastaFile(fasta).fetch(contig, beg, end)
    kept = phased_variants(truth, contig, beg, end, random.Random(seed))
    edits: list[list[tuple[int, str, str]]] = [[], []]
    for v, g in kept:
        for h in (0, 1):
            if g[h]:
                edits[h].append((v.start - beg, v.ref, v.alleles[g[h]]))
    haps = []
    for h in (0, 1):
        parts, x = [], 0
        for pos, r, a in edits[h]:
            parts += [ref[x:pos], a]
            x = pos + len(r)
        parts.append(ref[x:])
        path = out / f"{prefix}hap{h}.fa"
        path.write_text(f">hap{h}\n{''.join(parts)}\n")
        haps.append(path)
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID={contig},length={pysam.FastaFile(fasta).get_reference_length(contig)}>")
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    header.add_sample(sample)
    truth_out = out / ("truth.vcf.gz" if sample == SAMPLE and not prefix else f"truth.{sample}.vcf.gz")
    with pysam.VariantFile(str(truth_out), "wz", header=header) as vcf_out:
        for v, g in kept:
            alts = list(dict.fromkeys(v.alleles[x] for x in g if x))
            rec = vcf_out.new_record(contig=contig, start=v.start, alleles=[v.ref, *alts])
            rec.samples[sample]["GT"] = tuple(0 if x == 0 else 1 + alts.index(v.alleles[x]) for x in g)
            rec.samples[sample].phased = True
            vcf_out.write(rec)
    pysam.tabix_index(str(truth_out), preset="vcf", force=True)
    print(f"{sample}: {len(kept)} variants planted", file=sys.stderr)
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


def write_rows(path: Path, rows: dict[str, dict[str, str]]) -> None:
    """A datasets.tsv of these rows, in the shared data's columns."""
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter="\t")
        w.writeheader()
        for row in rows.values():
            w.writerow(row)


_COMP = str.maketrans("ACGTN", "TGCAN")


def _revcomp(s: str) -> str:
    return s.translate(_COMP)[::-1]


def stutter_sam_to_fastq(sam: Path, hap: str, out1: Path, out2: Path, seed: int, scale: float = 1.0) -> tuple[int, int]:
    """ART's SAM (reads placed on `hap`) as two FASTQs whose pairs carry PCR stutter (module
    docstring). Returns (pairs, pairs edited)."""
    import numpy as np

    from gmscall.synth import repeat_tracts, stutter_fragment

    tracts = repeat_tracts(hap)
    rng = np.random.default_rng(seed)
    pairs = edited = 0
    with open(sam) as fh, open(out1, "w") as o1, open(out2, "w") as o2:
        mates: dict[str, list[str]] = {}
        for line in fh:
            if line.startswith("@"):
                continue
            f = line.rstrip("\n").split("\t")
            other = mates.pop(f[0], None)
            if other is None:
                mates[f[0]] = f
                continue
            pairs += 1
            reads = []  # (is_read1, reverse, pos, seq in reference orientation, qual in reference orientation)
            for g in (other, f):
                flag = int(g[1])
                reads.append([bool(flag & 64), bool(flag & 16), int(g[3]) - 1, g[9], g[10], g[5]])
            if all("I" not in r[5] and "D" not in r[5] for r in reads) and reads[0][1] != reads[1][1]:
                fwd, rev = (reads[0], reads[1]) if not reads[0][1] else (reads[1], reads[0])
                n1, n2 = len(fwd[3]), len(rev[3])
                start, end = fwd[2], rev[2] + n2
                if end - start >= max(n1, n2) + 12:
                    mol, edits = stutter_fragment(hap, start, end, tracts, rng, scale)
                    if edits:
                        edited += 1
                        for r, new in ((fwd, mol[:n1]), (rev, mol[len(mol) - n2:])):
                            truth = hap[r[2]:r[2] + len(r[3])]
                            seq = list(new)
                            for i, (b, t) in enumerate(zip(r[3], truth)):
                                if b != t:  # ART's substitution at this cycle
                                    seq[i] = b
                            r[3] = "".join(seq)
            for r in reads:
                seq, qual = (_revcomp(r[3]), r[4][::-1]) if r[1] else (r[3], r[4])
                (o1 if r[0] else o2).write(f"@{f[0]}/{1 if r[0] else 2}\n{seq}\n+\n{qual}\n")
    return pairs, edited


PARALOG_LENGTH = (500, 3000)       # bp of a copied segment
PARALOG_DIVERGENCE = (0.01, 0.05)  # share of a copy's bases substituted (segmental duplications)
PARALOG_DEPTH = (0.25, 0.5)        # a copy's read depth, as a share of the set's depth


def paralog_copies(seq: str, n: int, rng: random.Random) -> list[tuple[int, int, float, str]]:
    """N diverged copies of segments of `seq`: (start, end, divergence, copy); each copy has
    round(divergence * length) substitutions at distinct places (none to N)."""
    copies = []
    for _ in range(n):
        length = rng.randint(*PARALOG_LENGTH)
        start = rng.randrange(0, len(seq) - length)
        divergence = rng.uniform(*PARALOG_DIVERGENCE)
        bases = list(seq[start:start + length])
        places = [x for x in range(length) if bases[x] in "ACGT"]
        for x in rng.sample(places, min(len(places), round(divergence * length))):
            bases[x] = rng.choice([b for b in "ACGT" if b != bases[x]])
        copies.append((start, start + length, divergence, "".join(bases)))
    return copies


def simulate_paralogs(ref: Path, contig: str, beg: int, end: int, n: int, depth: float, seed: int,
                      folder: Path, art: str) -> None:
    """Reads of N paralogous copies of segments of [beg, end) (module docstring), appended to
    FOLDER/reads_1.fq and reads_2.fq; the copies in FOLDER/paralogs.fa. `art`: the ART options
    without -i, -f, -rs and -o."""
    rng = random.Random(seed * 7919 + 17)
    seq = pysam.FastaFile(str(ref)).fetch(contig, beg, end).upper()
    copies = paralog_copies(seq, n, rng)
    (folder / "paralogs.fa").write_text("".join(f">paralog{k}_{contig}:{beg + s + 1}-{beg + e}_div{d:.3f}\n{copy}\n"
                                                for k, (s, e, d, copy) in enumerate(copies)))
    for k, (_, _, _, copy) in enumerate(copies):
        one = folder / "paralog_one.fa"
        one.write_text(f">paralog{k}\n{copy}\n")
        fold = depth * rng.uniform(*PARALOG_DEPTH)
        run(f"{art} -i {one} -f {fold} -rs {seed * 7919 + k} -o {folder}/paralog_ 2>/dev/null")
        for mate in (1, 2):
            run(f"cat {folder}/paralog_{mate}.fq >> {folder}/reads_{mate}.fq")
        for f in (one, folder / "paralog_1.fq", folder / "paralog_2.fq"):
            f.unlink()


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
    ap.add_argument("--trio", action="store_true",
                    help=f"a trio: the planted truths of {TRIO_SET} ({', '.join(TRIO)}), one BAM each")
    ap.add_argument("--stutter", action="store_true",
                    help="reads with PCR stutter at tandem repeats (gmscall.synth.stutter_rate)")
    ap.add_argument("--stutter-scale", type=float, default=1.0, help="multiplies the stutter rates [1]")
    ap.add_argument("--paralogs", type=int, default=0,
                    help="paralogous copies the reference lacks, whose reads map into the region [0]")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.paralogs and args.trio:
        sys.exit("--paralogs: not with --trio")
    for tool in ("art_illumina", "bwa", "samtools"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install art-nextgen-simulation-tools bwa samtools")
    length = args.length or PROFILES[args.profile]
    if not 25 <= length <= PROFILES[args.profile]:
        sys.exit(f"--length must be in [25, {PROFILES[args.profile]}] for {args.profile}")
    fragment = args.fragment or max(400, round(2.4 * length))
    data, out = Path(args.data), Path(args.out).resolve()
    sets = {ds.name: ds for ds in read_datasets(data)}
    src = sets[SOURCE_SET]
    with pysam.FastaFile(str(src.ref)) as fa:
        contigs = dict(zip(fa.references, fa.lengths))
    region = parse_region(args.region, contigs)
    contig, beg, end = region.contig, region.start, region.end
    if args.trio:
        trio_set = sets[TRIO_SET]
        trio_region = parse_region(trio_set.region, contigs)
        if contig != trio_region.contig or beg < trio_region.start or end > trio_region.end:
            sys.exit(f"--trio: --region must lie inside {trio_set.region}, where the trio's truths were planted")
        name = f"trio-{args.profile}-{length}-{args.depth:g}x-seed{args.seed}"
        samples = [(s, trio_set.folder / f"truth.{s}.vcf.gz", f"{s}.") for s in TRIO]
        bed = trio_set.bed
    else:
        name = f"sim-hg002-{args.profile}-{length}-{args.depth:g}x-seed{args.seed}"
        samples = [(SAMPLE, src.truth, "")]
        bed = src.bed
    if args.stutter:
        name += "-stutter" if args.stutter_scale == 1 else f"-stutter{args.stutter_scale:g}"
    if args.paralogs:
        name += f"-paralogs{args.paralogs}"
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)

    ref = out / "ref.fa"  # the source's reference and its bwa index, shared by every set in OUT
    if not ref.exists():
        shutil.copyfile(src.ref, ref)
        pysam.faidx(str(ref))
    if not Path(f"{ref}.bwt").exists():
        run(f"bwa index {ref} 2>/dev/null")
    clip_bed(bed, contig, beg, end, folder / "confident.bed")
    for k, (sample, truth, prefix) in enumerate(samples):
        seed = args.seed + 1000 * k  # each sample its own phase draws and reads
        haps = plant(str(ref), str(truth), contig, beg, end, seed, folder, sample, prefix)
        for h, hap in enumerate(haps):
            run(f"art_illumina -ss {args.profile} -i {hap} -p -l {length} -f {args.depth / 2} -m {fragment} "
                f"-s {fragment // 8} -rs {seed * 2 + h} -na -q {'-sam ' if args.stutter else ''}"
                f"-o {folder}/reads{h}_ 2>/dev/null")
            if args.stutter:
                seq = "".join(hap.read_text().split("\n")[1:])
                n, k = stutter_sam_to_fastq(folder / f"reads{h}_.sam", seq, folder / f"reads{h}_1.fq",
                                            folder / f"reads{h}_2.fq", seed * 2 + h, args.stutter_scale)
                (folder / f"reads{h}_.sam").unlink()
                print(f"{sample} hap{h}: {k} of {n} pairs with stutter", file=sys.stderr)
        for mate in (1, 2):
            run(f"cat {folder}/reads0_{mate}.fq {folder}/reads1_{mate}.fq > {folder}/reads_{mate}.fq")
        if args.paralogs:
            art = (f"art_illumina -ss {args.profile} -p -l {length} -m {fragment} -s {fragment // 8} "
                   f"-na -q")
            simulate_paralogs(ref, contig, beg, end, args.paralogs, args.depth, seed, folder, art)
        rg = f"@RG\\tID:{name}{'-' + sample if args.trio else ''}\\tSM:{sample}\\tPL:ILLUMINA"
        bam = folder / (f"{sample}.bam" if args.trio else "reads.bam")
        run(f"bwa mem -t {args.threads} -R '{rg}' {ref} {folder}/reads_1.fq {folder}/reads_2.fq 2>/dev/null "
            f"| samtools sort -@ {args.threads} -o {bam} - && samtools index {bam}")
        for f in folder.glob("*.fq"):
            f.unlink()
    if args.trio:
        child, father, mother = TRIO
        (folder / "trio.ped").write_text(f"FAM\t{child}\t{father}\t{mother}\t1\t0\n"
                                         f"FAM\t{father}\t0\t0\t1\t0\nFAM\t{mother}\t0\t0\t2\t0\n")

    tsv = out / "datasets.tsv"
    rows = read_rows(tsv) if tsv.exists() else {}
    bams = ",".join(f"{name}/{s}.bam" for s in TRIO) if args.trio else f"{name}/reads.bam"
    truth = f"{name}/truth.{TRIO[0]}.vcf.gz" if args.trio else f"{name}/truth.vcf.gz"
    rows[name] = {
        "name": name, "kind": "simulated", "bams": bams, "ref": os.path.relpath(ref, out),
        "truth": truth, "confident_bed": f"{name}/confident.bed", "region": args.region,
        "truth_sample": TRIO[0] if args.trio else SAMPLE,
        "notes": f"simulate_set.py{' --trio' if args.trio else ''}: "
                 f"{TRIO_SET if args.trio else SOURCE_SET} truth, ART {args.profile} 2x{length}, "
                 f"{args.depth:g}x{' each' if args.trio else ''}, fragments {fragment}, seed {args.seed}"
                 + (f", PCR stutter x{args.stutter_scale:g}" if args.stutter else "")
                 + (f", {args.paralogs} paralogous copies absent from the reference" if args.paralogs else ""),
    }
    write_rows(tsv, rows)
    print(f"{folder} (row {name} in {tsv})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
