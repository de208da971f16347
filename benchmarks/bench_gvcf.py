#!/usr/bin/env python3
"""gVCF output and joint genotyping from gVCFs, measured.

    python benchmarks/bench_gvcf.py [--data ../shared/data] [--out DIR] [--repeat 3] [--sets DIR] [--trios-only]

1. sim-hg002-chr20-2x150, chr20:1,000,001-6,000,000: wall time of `gmscall call --gvcf` over
   plain `gmscall call` (medians of --repeat runs, alternating), and the gVCF's bytes and lines
   per Mb against a GATK-style banding of the same per-position reference confidence (GQ bands
   1..60 one by one, then 70, 80, 90, 99; blocks not split by depth, as GATK does).
2. sim-trio-chr20-2x150: one gVCF per sample; each member's genotype-aware F1 (SNV / indel) by
   every route: `gmscall call` of its BAM alone, `gmscall genotype` of its gVCF alone, multi-BAM
   joint calling and `gmscall genotype` of the three gVCFs, each with and without `--ped`; and
   genotypes from the gVCFs (--ped) identical to joint calling (--ped) at what share of sites.
   --sets DIR adds the same route table for trios made by `simulate_set.py --trio`.
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
from run import DEFAULT_DATA, machine_description, read_datasets
from vcfeval import vcfeval

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


RTG: dict[str, str] = {}  # {"rtg": script, "sdf": folder} when --rtg: F1 by RTG vcfeval instead of gmscall eval


def f1s(evaluate, truth: Path, calls: Path, ref: Path, bed: Path, sample: str) -> dict:
    if RTG:
        res = vcfeval(RTG["rtg"], RTG["sdf"], str(truth), str(calls), str(bed), f"{sample},{sample}")
        return {kind: res[kind]["f1"] for kind in ("SNV", "INDEL")}
    res = evaluate.evaluate(str(truth), str(calls), str(ref), bed=str(bed), calls_sample=sample)
    return {kind: round(res.genotype[kind].f1, 4) for kind in ("SNV", "INDEL")}


ROUTES = ("bam", "own_gvcf", "joint_ped", "joint", "gvcfs_ped", "gvcfs")
ROUTE_NAMES = {"bam": "`call` of its BAM alone", "own_gvcf": "`genotype` of its gVCF alone",
               "joint_ped": "multi-BAM joint call, `--ped`", "joint": "multi-BAM joint call, no PED",
               "gvcfs_ped": "`genotype` of the 3 gVCFs, `--ped`", "gvcfs": "`genotype` of the 3 gVCFs, no PED"}


def trio(folder: Path, ref: Path, region: str, out: Path, with_memory: bool = True) -> dict:
    """Each member's F1 by every route of the gVCF issue's table (one BAM, its gVCF alone, joint calls
    and gVCF genotyping with and without the PED), and the joint-vs-gVCF genotype agreement."""
    from gmscall import evaluation as evaluate

    ped, bed = folder / "trio.ped", folder / "confident.bed"
    bams = [folder / f"{s}.bam" for s in TRIO_SAMPLES]
    gvcfs = [out / f"{s}.g.vcf.gz" for s in TRIO_SAMPLES]
    common = ["-f", str(ref), "--threads", "2"]
    gvcf_s = sum(run(["call", *common, "-r", region, "--gvcf", "-o", str(g), str(b)])[0]
                 for b, g in zip(bams, gvcfs))
    vcfs = {route: out / f"{route}.vcf.gz" for route in ("joint_ped", "joint", "gvcfs_ped", "gvcfs")}
    joint_s, joint_mb = run(["call", *common, "-r", region, "--ped", str(ped), "-o", str(vcfs["joint_ped"]),
                             *map(str, bams)])
    run(["call", *common, "-r", region, "-o", str(vcfs["joint"]), *map(str, bams)])
    geno_s, geno_mb = run(["genotype", *common, "--ped", str(ped), "-o", str(vcfs["gvcfs_ped"]), *map(str, gvcfs)])
    run(["genotype", *common, "-o", str(vcfs["gvcfs"]), *map(str, gvcfs)])
    a, b = genotypes(vcfs["gvcfs_ped"], TRIO_SAMPLES), genotypes(vcfs["joint_ped"], TRIO_SAMPLES)
    sites = set(a) | set(b)
    res = {"region": region, "sites": len(sites), "identical": sum(a.get(k) == b.get(k) for k in sites),
           "gvcf_calls_s": gvcf_s, "joint_s": joint_s, "joint_mb": joint_mb, "genotype_s": geno_s,
           "genotype_mb": geno_mb, "f1": {}}
    res["agreement"] = res["identical"] / res["sites"]
    for s, bam, gvcf in zip(TRIO_SAMPLES, bams, gvcfs):
        alone, own = out / f"{s}.bam.vcf.gz", out / f"{s}.own.vcf.gz"
        run(["call", *common, "-r", region, "-o", str(alone), str(bam)])
        run(["genotype", *common, "-o", str(own), str(gvcf)])
        truth = folder / f"truth.{s}.vcf.gz"
        paths = {"bam": alone, "own_gvcf": own, **vcfs}
        res["f1"][s] = {route: f1s(evaluate, truth, paths[route], ref, bed, s) for route in ROUTES}
    if with_memory:
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
    t = res["trio"]
    scorer = "RTG vcfeval" if RTG else "gmscall eval"
    lines = [f"# gVCF ({res['machine']['cpu']}, {res['machine']['cores']} cores; F1 by {scorer}, genotype-aware)", ""]
    if "cost" in res:
        c = res["cost"]
        lines += [
            (f"gVCF vs VCF on {SIM} {SIM_REGION}, 2 threads (medians): {c['gvcf_s']:.2f} s vs {c['vcf_s']:.2f} s "
             f"= {c['time_ratio']:.2f}x"),
            (f"gVCF size: {c['sim.g.vcf.gz']['bytes_per_mb']:,.0f} bytes/Mb "
             f"({c['sim.g.vcf.gz']['lines_per_mb']:,.0f} lines/Mb); "
             f"GATK-style banding: {c['gatk-style.g.vcf.gz']['bytes_per_mb']:,.0f} bytes/Mb "
             f"({c['gatk-style.g.vcf.gz']['lines_per_mb']:,.0f} lines/Mb)"), ""]
    lines += [(f"Trio {TRIO} {TRIO_REGION}: genotypes from 3 gVCFs (`--ped`) identical to multi-BAM joint calling "
               f"(`--ped`) at {t['identical']} of {t['sites']} sites ({100 * t['agreement']:.2f} %)"), ""]
    lines += routes_table(t)
    if "memory" in t:
        m = t["memory"]
        lines += ["", (f"gmscall genotype peak RSS: 3 gVCFs {m['3']:.0f} MB; 30 gVCFs {m['30']['peak_mb']:.0f} MB "
                       f"({m['30']['wall_s']:.1f} s). Multi-BAM joint calling: {t['joint_s']:.1f} s, "
                       f"{t['joint_mb']:.0f} MB; three gVCFs {t['gvcf_calls_s']:.1f} s + genotype "
                       f"{t['genotype_s']:.1f} s.")]
    for name, other in res.get("sets", {}).items():
        lines += ["", f"Trio {name} {other['region']}:", ""] + routes_table(other)
    return "\n".join(lines) + "\n"


def routes_table(t: dict) -> list[str]:
    """SNV / indel F1 of each member by each route, a row per route."""
    samples = list(t["f1"])
    rows = ["| route | " + " | ".join(f"{s} SNV / indel" for s in samples) + " |",
            "|---|" + "---|" * len(samples)]
    for route in ROUTES:
        cells = [f"{t['f1'][s][route]['SNV']:.4f} / {t['f1'][s][route]['INDEL']:.4f}" for s in samples]
        rows.append(f"| {ROUTE_NAMES[route]} | " + " | ".join(cells) + " |")
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--out", default="/tmp/gmscall-bench-gvcf")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--sets", action="append", default=[],
                   help="a folder of trios made by simulate_set.py --trio (its datasets.tsv): the route table "
                        "for each of them too (repeatable)")
    p.add_argument("--trios-only", action="store_true", help="only the route tables (no gVCF cost, no memory)")
    p.add_argument("--rtg", help="RTG Tools launcher: F1 by rtg vcfeval (see vcfeval.py) instead of gmscall eval")
    p.add_argument("--sdf", help="the reference as an RTG SDF (rtg format), with --rtg")
    args = p.parse_args()
    if bool(args.rtg) != bool(args.sdf):
        p.error("--rtg and --sdf go together")
    if args.rtg:
        RTG.update(rtg=args.rtg, sdf=args.sdf)
    data, out = Path(args.data), Path(args.out)
    if not (data / SIM / "reads.bam").exists() or not (data / TRIO / "trio.ped").exists():
        raise SystemExit(f"benchmark data missing under {data} ({SIM}, {TRIO})")
    out.mkdir(parents=True, exist_ok=True)
    res = {"machine": machine_description()}
    if not args.trios_only:
        res["cost"] = gvcf_cost(data, out, args.repeat)
    (out / TRIO).mkdir(exist_ok=True)
    res["trio"] = trio(data / TRIO, data / SIM / "ref.fa", TRIO_REGION, out / TRIO, not args.trios_only)
    res["sets"] = {}
    for folder in map(Path, args.sets):
        for ds in read_datasets(folder):
            if len(ds.bams) == len(TRIO_SAMPLES):
                (out / ds.name).mkdir(parents=True, exist_ok=True)
                res["sets"][ds.name] = trio(ds.folder, ds.ref, ds.region, out / ds.name, False)
    md = markdown(res)
    (out / "gvcf.md").write_text(md)
    (out / "gvcf.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
