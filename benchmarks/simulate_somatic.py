"""Builds a tumour/normal pair like ../shared/data/sim-somatic-chr20-2x150 with another ART profile,
read length or region: the GIAB HG002 variants of a region of sim-hg002-chr20-2x150 planted on its
GRCh38 sequence (the germline, hets phased at random), somatic variants planted on top of it in a
founder clone A and two subclones B and C (SNVs; indels: NPM1-like TCTG duplications, 1-bp
homopolymer indels, other short indels; FLT3-like internal tandem duplications of 16-150 bp),
reads simulated with ART for each cell type at its share of the tumour's depth, aligned with bwa mem.

    python benchmarks/simulate_somatic.py --out /tmp/sets --profile HS20 --length 100 \
        [--region chr20:3000001-4000000] [--seed 1] [--name NAME]
    python benchmarks/bench_somatic.py --data /tmp/sets --sets NAME

Writes OUT/<name>/ (tumor.bam, normal.bam, truth.somatic.vcf.gz with INFO CLONE, VAF, NVAF, HAP,
ITD, HP, NPM1A; truth.germline.vcf.gz; confident.bed; composition.txt) and a row of
OUT/datasets.tsv (kind `simulated-somatic`). Somatic sites lie inside the confident BED, at least
300 bp from each other and 30 bp from germline variants. The default composition is the shared
pair's: cells normal 0.20, A only 0.34, A+B 0.30, A+C 0.16 of the tumour (allele fractions A 0.40,
B 0.15, C 0.08), tumour 80x, normal 40x without tumour cells; 188 SNVs, 36 indels, 17 ITDs split
over the clones as there. Needs art_illumina, bwa and samtools. The set is data: never commit it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
from run import DEFAULT_DATA, read_datasets
from simulate_set import PROFILES, SOURCE_SET, clip_bed, phased_variants, read_rows, write_rows

from gmscall.regions import parse_region

CELLS = ("normal", "A", "AB", "AC")  # cell types of the tumour; the clones each carries
CLONES_OF = {"normal": "", "A": "A", "AB": "AB", "AC": "AC"}
# Somatic variants per clone and type in the shared pair (SNV, indel, ITD): scaled to the counts asked.
SPLIT = {"A": (94, 18, 9), "B": (56, 11, 5), "C": (38, 7, 3)}
MIN_SOMATIC_GAP = 300  # bp between somatic sites
MIN_GERMLINE_GAP = 30  # bp between a somatic site and any base of a germline variant


def run(cmd: str) -> None:
    subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=True, stdout=subprocess.DEVNULL)


def pick_sites(ref: str, beg: int, bed: list[tuple[int, int]], avoid: list[int], n: int, rng: random.Random,
               ok) -> list[int]:
    """n positions inside the BED (0-based, absolute) that satisfy ok(pos) and keep the gaps."""
    taken: list[int] = []
    near = set()  # positions within MIN_GERMLINE_GAP of a base to avoid
    for a in avoid:
        near.update(range(a - MIN_GERMLINE_GAP + 1, a + MIN_GERMLINE_GAP))
    spans = [(s, e) for s, e in bed if e - s > 200]
    weights = [e - s for s, e in spans]
    tries = 0
    while len(taken) < n and tries < 200000:
        tries += 1
        s, e = rng.choices(spans, weights)[0]
        pos = rng.randrange(s + 20, e - 170)
        if pos in near or any(abs(pos - t) < MIN_SOMATIC_GAP for t in taken):
            continue
        if "N" in ref[pos - beg - 5:pos - beg + 160] or not ok(pos):
            continue
        taken.append(pos)
    if len(taken) < n:
        sys.exit(f"only {len(taken)} of {n} somatic sites found")
    return taken


def homopolymer_at(ref: str, x: int) -> int:
    """Length of the homopolymer that starts at ref[x]."""
    k = x
    while k < len(ref) and ref[k] == ref[x]:
        k += 1
    return k - x


def somatic_variants(ref: str, beg: int, bed, germ_pos: list[int], counts: dict[str, tuple[int, int, int]],
                     rng: random.Random) -> list[dict]:
    """Somatic variants (0-based pos, REF, ALT, clone, haplotype, kind flags)."""
    want = {"SNV": [], "INDEL": [], "ITD": []}
    for clone, (s, i, d) in counts.items():
        want["SNV"] += [clone] * s
        want["INDEL"] += [clone] * i
        want["ITD"] += [clone] * d
    n_total = sum(len(v) for v in want.values())
    sites = pick_sites(ref, beg, bed, germ_pos, n_total, rng, lambda p: True)
    rng.shuffle(sites)
    out: list[dict] = []
    it = iter(sites)
    for clone in want["SNV"]:
        p = next(it)
        r = ref[p - beg]
        out.append({"pos": p, "ref": r, "alt": rng.choice([b for b in "ACGT" if b != r]), "clone": clone})
    # Indels: a fifth NPM1-like TCTG duplications, a third 1-bp indels in homopolymers of >= 6, the
    # rest short insertions/deletions of 1-20 bp. Their sites are searched for separately.
    n_ind = len(want["INDEL"])
    n_npm1, n_hp = max(1, n_ind // 18), n_ind // 3
    npm1 = pick_sites(ref, beg, bed, germ_pos + sites, n_npm1, rng,
                      lambda p: ref[p + 1 - beg:p + 5 - beg] == "TCTG")
    hp = pick_sites(ref, beg, bed, germ_pos + sites + npm1, n_hp, rng,
                    lambda p: homopolymer_at(ref, p + 1 - beg) >= 6 and ref[p - beg] != ref[p + 1 - beg])
    plain = [next(it) for _ in range(n_ind - n_npm1 - n_hp)]
    clones = list(want["INDEL"])
    rng.shuffle(clones)
    for k, clone in enumerate(clones):
        if k < n_npm1:
            p = npm1[k]
            out.append({"pos": p, "ref": ref[p - beg], "alt": ref[p - beg] + "TCTG", "clone": clone, "NPM1A": True})
        elif k < n_npm1 + n_hp:
            p = hp[k - n_npm1]
            base = ref[p + 1 - beg]
            if rng.random() < 0.5:
                out.append({"pos": p, "ref": ref[p - beg:p + 2 - beg], "alt": ref[p - beg], "clone": clone, "HP": True})
            else:
                out.append({"pos": p, "ref": ref[p - beg], "alt": ref[p - beg] + base, "clone": clone, "HP": True})
        else:
            p = plain[k - n_npm1 - n_hp]
            n = rng.choice([1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 12, 14, 20])
            if rng.random() < 0.5:
                out.append({"pos": p, "ref": ref[p - beg:p + n + 1 - beg], "alt": ref[p - beg], "clone": clone})
            else:
                ins = "".join(rng.choice("ACGT") for _ in range(n))
                out.append({"pos": p, "ref": ref[p - beg], "alt": ref[p - beg] + ins, "clone": clone})
    for clone in want["ITD"]:
        p = next(it)
        n = rng.randint(16, 150)
        out.append({"pos": p, "ref": ref[p - beg], "alt": ref[p - beg] + ref[p + 1 - beg:p + 1 + n - beg],
                    "clone": clone, "ITD": True})
    for v in out:
        v["hap"] = rng.randint(0, 1)
    return sorted(out, key=lambda v: v["pos"])


def haplotype(ref: str, beg: int, edits: list[tuple[int, str, str]]) -> str:
    parts, x = [], 0
    for pos, r, a in sorted(edits):
        parts += [ref[x:pos - beg], a]
        x = pos - beg + len(r)
    parts.append(ref[x:])
    return "".join(parts)


def write_vcf(path: Path, contig: str, length: int, sample: str, rows: list[tuple], info_lines: list[str]) -> None:
    header = pysam.VariantHeader()
    header.add_line(f"##contig=<ID={contig},length={length}>")
    for line in info_lines:
        header.add_line(line)
    header.add_line('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    header.add_sample(sample)
    with pysam.VariantFile(str(path), "wz", header=header) as out:
        for start, alleles, gt, phased, info in rows:
            rec = out.new_record(contig=contig, start=start, alleles=alleles)
            rec.samples[sample]["GT"] = gt
            rec.samples[sample].phased = phased
            for k, v in info.items():
                rec.info[k] = v
            out.write(rec)
    pysam.tabix_index(str(path), preset="vcf", force=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for the set and its datasets.tsv (outside the project)")
    ap.add_argument("--data", default=str(DEFAULT_DATA), help=f"the shared data [{DEFAULT_DATA}]")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="HS20", help="ART error profile [HS20]")
    ap.add_argument("--length", type=int, default=None, help="read length [the profile's longest]")
    ap.add_argument("--fragment", type=int, default=None, help="mean fragment length (sd 1/8) [400 or 2.4x length]")
    ap.add_argument("--region", default="chr20:3000001-4000000",
                    help="region of the source set's truth (keep inside chr20:1000001-5000000)")
    ap.add_argument("--tumor-depth", type=float, default=80.0)
    ap.add_argument("--normal-depth", type=float, default=40.0)
    ap.add_argument("--cells", default="0.20,0.34,0.30,0.16",
                    help="tumour cell shares: normal, A only, A+B, A+C [0.20,0.34,0.30,0.16]")
    ap.add_argument("--snv", type=int, default=188)
    ap.add_argument("--indel", type=int, default=36)
    ap.add_argument("--itd", type=int, default=17)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--name", default=None, help="the set's name [sim-somatic-PROFILE-LENGTH-seedSEED]")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    for tool in ("art_illumina", "bwa", "samtools"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install art-nextgen-simulation-tools bwa samtools")
    length = args.length or PROFILES[args.profile]
    if not 25 <= length <= PROFILES[args.profile]:
        sys.exit(f"--length must be in [25, {PROFILES[args.profile]}] for {args.profile}")
    fragment = args.fragment or max(400, round(2.4 * length))
    cells = dict(zip(CELLS, (float(x) for x in args.cells.split(","))))
    if len(cells) != 4 or abs(sum(cells.values()) - 1.0) > 1e-6:
        sys.exit("--cells: four shares summing to 1")
    data, out = Path(args.data), Path(args.out).resolve()
    src = {ds.name: ds for ds in read_datasets(data)}[SOURCE_SET]
    fa = pysam.FastaFile(str(src.ref))
    region = parse_region(args.region, dict(zip(fa.references, fa.lengths)))
    contig, beg, end = region.contig, region.start, region.end
    name = args.name or f"sim-somatic-{args.profile}-{length}-seed{args.seed}"
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    ref_path = out / "ref.fa"
    if not ref_path.exists():
        shutil.copyfile(src.ref, ref_path)
        pysam.faidx(str(ref_path))
    if not Path(f"{ref_path}.bwt").exists():
        run(f"bwa index {ref_path} 2>/dev/null")
    rng = random.Random(args.seed)
    ref = fa.fetch(contig, beg, end)
    clip_bed(src.bed, contig, beg, end, folder / "confident.bed")
    with open(folder / "confident.bed") as fh:
        bed = [(int(s), int(e)) for _, s, e in (line.split()[:3] for line in fh)]

    germ = phased_variants(str(src.truth), contig, beg, end, rng)
    counts = {}
    for clone, split in SPLIT.items():  # the shared pair's split, scaled to the requested totals
        counts[clone] = tuple(round(n * want / sum(SPLIT[c][k] for c in SPLIT))
                              for k, (n, want) in enumerate(zip(split, (args.snv, args.indel, args.itd))))
    germ_bases = [x for v, _ in germ for x in range(v.start, max(v.stop, v.start + 1))]
    som = somatic_variants(ref, beg, bed, germ_bases, counts, rng)

    tumour_share = 1.0 - cells["normal"]
    vaf = {"A": tumour_share / 2, "B": cells["AB"] / 2, "C": cells["AC"] / 2}
    hap_files: dict[str, list[Path]] = {}
    for cell in ("normal", *CELLS[1:]):
        hap_files[cell] = []
        for h in (0, 1):
            edits = [(v.start, v.ref, v.alleles[g[h]]) for v, g in germ if g[h]]
            edits += [(s["pos"], s["ref"], s["alt"]) for s in som if s["hap"] == h and s["clone"] in CLONES_OF[cell]]
            path = folder / f"{cell}_hap{h}.fa"
            path.write_text(f">{cell}_hap{h}\n{haplotype(ref, beg, edits)}\n")
            hap_files[cell].append(path)

    def simulate(sample: str, parts: list[tuple[Path, float]], seed0: int) -> None:
        fq = {1: folder / f"{sample}_1.fq", 2: folder / f"{sample}_2.fq"}
        for m in fq.values():
            m.write_text("")
        for k, (hap, depth) in enumerate(parts):
            if depth <= 0:
                continue
            prefix = folder / f"{sample}_{k}_"
            run(f"art_illumina -ss {args.profile} -i {hap} -p -l {length} -f {depth} -m {fragment} -s {fragment // 8} "
                f"-rs {seed0 + k} -na -q -o {prefix} 2>/dev/null")
            for m in (1, 2):
                run(f"cat {prefix}{m}.fq >> {fq[m]} && rm {prefix}{m}.fq")
        rg = f"@RG\\tID:{sample}\\tSM:{sample}\\tPL:ILLUMINA"
        bam = folder / f"{sample.lower()}.bam"
        run(f"bwa mem -t {args.threads} -R '{rg}' {ref_path} {fq[1]} {fq[2]} 2>/dev/null "
            f"| samtools sort -@ {args.threads} -o {bam} - && samtools index {bam}")
        for m in fq.values():
            m.unlink()

    seed0 = args.seed * 100 + 11
    simulate("TUMOR", [(hap_files[c][h], args.tumor_depth * cells[c] / 2) for c in CELLS for h in (0, 1)], seed0)
    simulate("NORMAL", [(hap_files["normal"][h], args.normal_depth / 2) for h in (0, 1)], seed0 + 50)
    for cell in CELLS:
        for p in hap_files[cell]:
            p.unlink()

    length_contig = fa.get_reference_length(contig)
    info = ['##INFO=<ID=CLONE,Number=1,Type=String,Description="Clone carrying the variant: A (founder), B or C (subclones of A)">',
            '##INFO=<ID=VAF,Number=1,Type=Float,Description="Expected variant allele fraction in the tumour sample">',
            '##INFO=<ID=NVAF,Number=1,Type=Float,Description="Expected variant allele fraction in the normal sample">',
            '##INFO=<ID=HAP,Number=1,Type=Integer,Description="Germline haplotype (1 or 2) the variant was planted on">',
            '##INFO=<ID=ITD,Number=0,Type=Flag,Description="Internal tandem duplication: the reference after the site inserted again">',
            '##INFO=<ID=HP,Number=0,Type=Flag,Description="1-bp indel in a homopolymer of length >= 6">',
            '##INFO=<ID=NPM1A,Number=0,Type=Flag,Description="TCTG duplication like NPM1 type A">']
    rows = []
    for s in som:
        inf = {"CLONE": s["clone"], "VAF": round(vaf[s["clone"]], 4), "NVAF": 0.0, "HAP": s["hap"] + 1}
        inf.update({k: True for k in ("ITD", "HP", "NPM1A") if s.get(k)})
        rows.append((s["pos"], (s["ref"], s["alt"]), (0, 1), False, inf))
    write_vcf(folder / "truth.somatic.vcf.gz", contig, length_contig, "TUMOR", rows, info)
    grows = []
    for v, g in germ:
        alts = list(dict.fromkeys(v.alleles[x] for x in g if x))
        grows.append((v.start, (v.ref, *alts), tuple(0 if x == 0 else 1 + alts.index(v.alleles[x]) for x in g), True, {}))
    write_vcf(folder / "truth.germline.vcf.gz", contig, length_contig, "TUMOR", grows, [])

    by = {c: [0, 0, 0] for c in "ABC"}
    for s in som:
        by[s["clone"]][2 if s.get("ITD") else (0 if len(s["ref"]) == len(s["alt"]) else 1)] += 1
    (folder / "composition.txt").write_text(
        f"{name}: {args.region}, HG002 germline ({len(germ)} records) + {len(som)} somatic variants "
        f"(SNV/indel/ITD by clone " + ", ".join(f"{c} {'/'.join(map(str, by[c]))}" for c in "ABC") + "). "
        f"Tumour {args.tumor_depth:g}x, cells normal/A/AB/AC {args.cells} -> expected VAF A {vaf['A']:.2f}, "
        f"B {vaf['B']:.2f}, C {vaf['C']:.2f}; normal {args.normal_depth:g}x without tumour cells. ART {args.profile} "
        f"2x{length}, fragments {fragment}+-{fragment // 8}, bwa mem; seed {args.seed}. "
        f"Built by benchmarks/simulate_somatic.py {' '.join(sys.argv[1:])}\n")

    tsv = out / "datasets.tsv"
    table = read_rows(tsv) if tsv.exists() else {}
    table[name] = {
        "name": name, "kind": "simulated-somatic", "bams": f"{name}/tumor.bam,{name}/normal.bam",
        "ref": os.path.relpath(ref_path, out), "truth": f"{name}/truth.somatic.vcf.gz",
        "confident_bed": f"{name}/confident.bed", "region": args.region, "truth_sample": "TUMOR",
        "notes": f"simulate_somatic.py: tumour/normal pair, {SOURCE_SET} germline truth, ART {args.profile} 2x{length}, "
                 f"tumour {args.tumor_depth:g}x normal {args.normal_depth:g}x, seed {args.seed}; germline truth: "
                 f"truth.germline.vcf.gz; composition.txt",
    }
    write_rows(tsv, table)
    print(f"{folder} (row {name} in {tsv})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
