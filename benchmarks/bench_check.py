#!/usr/bin/env python3
"""`gmscall check` speed against `bcftools view` of the same gVCF.

    python benchmarks/bench_check.py [--data ../shared/data] [--gvcf FILE.g.vcf.gz] [--out DIR] [--repeat 5]

The gVCF: `gmscall call --gvcf` of sim-hg002-chr20-2x150 over chr20:1,000,001-6,000,000 (5 Mb),
or --gvcf. Timed, alternating, --repeat times each (medians): `bcftools view FILE > /dev/null`
(htslib parses every record, and writes them), `gmscall check FILE`, `gmscall check -f REF FILE`
(both whole processes, Python start included) and `gmscall.check_gvcf(FILE)` in one process.
Reports seconds per Mb of genome covered and the ratio to bcftools view; writes check.md and
check.json to --out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DEFAULT_DATA, machine_description

GMS = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]
SIM, REGION = "sim-hg002-chr20-2x150", "chr20:1000001-6000000"


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--gvcf", type=Path, help="a gVCF to time [made from the simulated set]")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    ref = args.data / SIM / "ref.fa"
    gvcf = args.gvcf
    if gvcf is None:
        gvcf = args.out / "check-bench.g.vcf.gz"
        if not gvcf.exists():
            subprocess.run([*GMS, "call", "--gvcf", "-f", str(ref), "-r", REGION, "--threads", "2", "-o", str(gvcf),
                            str(args.data / SIM / "reads.bam")], check=True)
    from gmscall import check_gvcf

    res = check_gvcf(gvcf, ref)
    assert res.ok, [p.text(str(gvcf)) for p in res.problems[:5]]
    mb = res.bases / 1e6
    runs: dict[str, list[float]] = {"bcftools view": [], "gmscall check": [], "gmscall check -f": [],
                                    "check_gvcf (in process)": []}
    for _ in range(args.repeat):
        runs["bcftools view"].append(wall(["bcftools", "view", str(gvcf)]))
        runs["gmscall check"].append(wall([*GMS, "check", str(gvcf)]))
        runs["gmscall check -f"].append(wall([*GMS, "check", "-f", str(ref), str(gvcf)]))
        t0 = time.perf_counter()
        check_gvcf(gvcf)
        runs["check_gvcf (in process)"].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in runs.items()}
    base = med["bcftools view"]
    rows = [f"| {k} | {v:.3f} | {v / mb:.3f} | {v / base:.2f} |" for k, v in med.items()]
    text = "\n".join([
        "# gmscall check against bcftools view", "",
        ", ".join(f"{k}: {v}" for k, v in machine_description().items()), "",
        (f"{gvcf.name}: {res.lines:,} lines ({res.blocks:,} reference blocks, {res.variants:,} variant records), "
         f"{mb:.2f} Mb; medians of {args.repeat} alternating runs."), "",
        "| command | seconds | s per Mb | x bcftools view |", "|---|---|---|---|", *rows, ""])
    (args.out / "check.md").write_text(text)
    (args.out / "check.json").write_text(json.dumps({"gvcf": str(gvcf), "lines": res.lines, "mb": mb, "runs": runs,
                                                     "median": med}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
