#!/usr/bin/env python3
"""gVCF output and joint genotyping from gVCFs, measured.

    python benchmarks/bench_gvcf.py [--data ../shared/data] [--out DIR] [--repeat 3]

1. sim-hg002-chr20-2x150, chr20:1,000,001-6,000,000: wall time of `gmscall call --gvcf` over
   plain `gmscall call` (medians of --repeat runs, alternating), and the gVCF's bytes and lines
   per Mb against a GATK-style banding of the same per-position reference confidence (GQ bands
   1..60 one by one, then 70, 80, 90, 99; blocks not split by depth, as GATK does).
2. sim-trio-chr20-2x150: one gVCF per sample, `gmscall genotype --ped` of the three, against
   multi-BAM joint calling (`gmscall call --ped` of the three BAMs): genotypes identical at what
   share of sites, and each sample's genotype-aware F1 (SNV / indel) both ways.
3. Memory of `gmscall genotype`: peak RSS for the 3 gVCFs and for 30 (the three copied under
   other sample names).
Writes gvcf.md and gvcf.json to --out.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pysam
from run import DEFAULT_DATA, machine_description

GMS = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]
SIM, TRIO = "sim-hg002-chr20-2x150", "sim-trio-chr20-2x150"
SIM_REGION, TRIO_REGION = "chr20:1000001-6000000", "chr20:3000001-5000000"
TRIO_SAMPLES = ("HG002", "HG003", "HG004")
GATK_BANDS = ",".join(map(str, [*range(1, 61), 70, 80, 90, 99]))


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one gmscall process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*GMS, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"gmscall {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def body_lines(path: Path) -> int:
    with gzip.open(path, "rt") as fh:
        return sum(1 for ln in fh if not ln.startswith("#"))


def gvcf_cost(data: Path, out: Path, repeat: int) -> dict:
    bam, ref = data / SIM / "reads.bam", data / SIM / "ref.fa"
    base = ["call", "-f", str(ref), "-r", SIM_REGION, "--threads", "2", "--backend", "cpu", str(bam)]
    walls: dict[str, list[float]] = {"vcf": [], "gvcf": []}
    for _ in range(repeat):
        walls["vcf"].append(run([*base, "-o", str(out / "sim.vcf.gz")])[0])
        walls["gvcf"].append(run([*base, "--gvcf", "-o", str(out / "sim.g.vcf.gz")])[0])
    run([*base, "--gvcf", "--gq-bands", GATK_BANDS, "-o", str(out / "gatk-style.g.vcf.gz")])
    mb = 5.0
    res = {"vcf_s": statistics.median(walls["vcf"]), "gvcf_s": statistics.median(walls["gvcf"]),
           "walls": walls}
    res["time_ratio"] = res["gvcf_s"] / res["vcf_s"]
    for name in ("sim.g.vcf.gz", "gatk-style.g.vcf.gz"):
        res[name] = {"bytes_per_mb": (out / name).stat().st_size / mb, "lines_per_mb": body_lines(out / name) / mb}
    return res


def genotypes(path: Path, samples: tuple[str, ...]) -> dict:
    out = {}
    with pysam.VariantFile(str(path)) as vf:
        for r in vf:
            alleles = (r.ref, *r.alts)
            out[(r.pos, r.ref)] = tuple(tuple(sorted("." if a is None else alleles[a] for a in r.samples[s]["GT"]))
                                        for s in samples)
    return out


def f1s(evaluate, truth: Path, calls: Path, ref: Path, bed: Path, sample: str) -> dict:
    res = evaluate.evaluate(str(truth), str(calls), str(ref), bed=str(bed), calls_sample=sample)
    return {kind: round(res.genotype[kind].f1, 4) for kind in ("SNV", "INDEL")}


def trio(data: Path, out: Path) -> dict:
    from gmscall import evaluation as evaluate

    folder, ref = data / TRIO, data / SIM / "ref.fa"
    ped, bed = folder / "trio.ped", folder / "confident.bed"
    bams = [folder / f"{s}.bam" for s in TRIO_SAMPLES]
    gvcfs = [out / f"{s}.g.vcf.gz" for s in TRIO_SAMPLES]
    gvcf_s = sum(run(["call", "-f", str(ref), "-r", TRIO_REGION, "--threads", "2", "--gvcf", "-o", str(g), str(b)])[0]
                 for b, g in zip(bams, gvcfs))
    joint = out / "joint.vcf.gz"
    joint_s, joint_mb = run(["call", "-f", str(ref), "-r", TRIO_REGION, "--threads", "2", "--ped", str(ped),
                             "-o", str(joint), *map(str, bams)])
    geno = out / "geno.vcf.gz"
    geno_s, geno_mb = run(["genotype", "-f", str(ref), "--threads", "2", "--ped", str(ped), "-o", str(geno),
                           *map(str, gvcfs)])
    a, b = genotypes(geno, TRIO_SAMPLES), genotypes(joint, TRIO_SAMPLES)
    sites = set(a) | set(b)
    res = {"sites": len(sites), "identical": sum(a.get(k) == b.get(k) for k in sites), "gvcf_calls_s": gvcf_s,
           "joint_s": joint_s, "joint_mb": joint_mb, "genotype_s": geno_s, "genotype_mb": geno_mb, "f1": {}}
    res["agreement"] = res["identical"] / res["sites"]
    for s in TRIO_SAMPLES:
        truth = folder / f"truth.{s}.vcf.gz"
        res["f1"][s] = {"gvcf": f1s(evaluate, truth, geno, ref, bed, s), "joint": f1s(evaluate, truth, joint, ref, bed, s)}
    res["memory"] = {"3": geno_mb, "30": thirty(out, ref, gvcfs)}
    return res


def thirty(out: Path, ref: Path, gvcfs: list[Path]) -> dict:
    """Peak RSS and wall of genotyping 30 gVCFs: the three copied under other sample names."""
    copies = []
    for k in range(10):
        for g, s in zip(gvcfs, TRIO_SAMPLES):
            dst = out / f"copy{k}.{s}.g.vcf.gz"
            with gzip.open(g, "rt") as fh:
                text = fh.read().replace(f"\tFORMAT\t{s}\n", f"\tFORMAT\t{s}_{k}\n", 1)
            plain = dst.with_suffix("")
            plain.write_text(text)
            pysam.tabix_compress(str(plain), str(dst), force=True)
            plain.unlink()
            pysam.tabix_index(str(dst), preset="vcf", force=True)
            copies.append(dst)
    wall, mb = run(["genotype", "-f", str(ref), "--threads", "2", "-o", str(out / "geno30.vcf.gz"), *map(str, copies)])
    return {"peak_mb": mb, "wall_s": wall}


def markdown(res: dict) -> str:
    c, t = res["cost"], res["trio"]
    lines = [
        f"# gVCF ({res['machine']['cpu']}, {res['machine']['cores']} cores)", "",
        (f"gVCF vs VCF on {SIM} {SIM_REGION}, 2 threads (medians): {c['gvcf_s']:.2f} s vs {c['vcf_s']:.2f} s "
        f"= {c['time_ratio']:.2f}x"),
        (f"gVCF size: {c['sim.g.vcf.gz']['bytes_per_mb']:,.0f} bytes/Mb ({c['sim.g.vcf.gz']['lines_per_mb']:,.0f} lines/Mb); "
        f"GATK-style banding: {c['gatk-style.g.vcf.gz']['bytes_per_mb']:,.0f} bytes/Mb "
        f"({c['gatk-style.g.vcf.gz']['lines_per_mb']:,.0f} lines/Mb)"), "",
        (f"Trio {TRIO} {TRIO_REGION}: genotypes from 3 gVCFs identical to multi-BAM joint calling at "
        f"{t['identical']} of {t['sites']} sites ({100 * t['agreement']:.2f} %)"), "",
        "| sample | SNV F1 gVCFs | SNV F1 joint | INDEL F1 gVCFs | INDEL F1 joint |", "|---|---|---|---|---|",
    ]
    for s, v in t["f1"].items():
        lines.append(f"| {s} | {v['gvcf']['SNV']:.4f} | {v['joint']['SNV']:.4f} | {v['gvcf']['INDEL']:.4f} | "
                     f"{v['joint']['INDEL']:.4f} |")
    m = t["memory"]
    lines += ["", (f"gmscall genotype peak RSS: 3 gVCFs {m['3']:.0f} MB; 30 gVCFs {m['30']['peak_mb']:.0f} MB "
                  f"({m['30']['wall_s']:.1f} s). Multi-BAM joint calling: {t['joint_s']:.1f} s, {t['joint_mb']:.0f} MB; "
                  f"three gVCFs {t['gvcf_calls_s']:.1f} s + genotype {t['genotype_s']:.1f} s.")]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--out", default="/tmp/gmscall-bench-gvcf")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    data, out = Path(args.data), Path(args.out)
    if not (data / SIM / "reads.bam").exists() or not (data / TRIO / "trio.ped").exists():
        raise SystemExit(f"benchmark data missing under {data} ({SIM}, {TRIO})")
    out.mkdir(parents=True, exist_ok=True)
    res = {"machine": machine_description(), "cost": gvcf_cost(data, out, args.repeat), "trio": trio(data, out)}
    md = markdown(res)
    (out / "gvcf.md").write_text(md)
    (out / "gvcf.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
