#!/usr/bin/env python3
"""Long-read speed (issue #19), measured in one run:

1. time per Mb at 30x, one thread: `gmscall call --threads 1` on a long-read set made by
   simulate_long_set.py and on the short-read set sim-hg002-chr20-2x150 over the same region,
   alternating, --repeat times; medians of CPU seconds (user + sys of the process tree: what a
   loaded machine disturbs least) and of wall seconds, and their ratio long / short;
2. wall time against bcftools 1.16 on the long-read set (`bcftools mpileup -a AD,DP | call -mv`,
   as run.py), both with --threads, alternating; the ratio bcftools / gmscall.

    python benchmarks/simulate_long_set.py --out /tmp/sets --platform HIFI --simulator synth \\
        --region chr20:2000001-3000000
    python benchmarks/bench_long_reads.py --long /tmp/sets/lr-hifi-synth-30x-seed1 [--data ../shared/data]
        [--repeat 5] [--threads 2] [--baseline PYTHON] [--out DIR]

--baseline PYTHON: also a baseline build (the gmscall importable by that interpreter, e.g. another
venv's bin/python), alternating with this one on both sets: before/after in the same run.

Writes long-reads.md and long-reads.json to --out (default benchmarks/results/long-reads).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DEFAULT_DATA, machine_description, read_datasets

SHORT = "sim-hg002-chr20-2x150"


def gmscall_cmd(python: str) -> str:
    return f"{shlex.quote(python)} -c 'import sys; from gmscall.cli import main; sys.exit(main())'"


GMS = gmscall_cmd(sys.executable)


def timed(cmd: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + sys of the whole process tree) of one shell command."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {cmd}\n{proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime


def long_set(folder: Path) -> tuple[Path, Path, str]:
    """BAM, reference and region of a simulate_long_set.py set (its row in ../datasets.tsv)."""
    rows = {d.name: d for d in read_datasets(folder.parent)}
    if folder.name not in rows:
        raise SystemExit(f"{folder}: no row '{folder.name}' in {folder.parent / 'datasets.tsv'}")
    ds = rows[folder.name]
    return Path(ds.bams[0]), Path(ds.ref), ds.region


def region_mb(region: str) -> float:
    beg, end = region.split(":")[1].replace(",", "").split("-")
    return (int(end) - int(beg) + 1) / 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--long", required=True, type=Path, help="a simulate_long_set.py set folder")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding sim-hg002-chr20-2x150")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="threads of the comparison with bcftools")
    ap.add_argument("--baseline", help="python of a baseline gmscall build, run alternating with this one")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "long-reads")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    if a.out.parent.name == "results":
        (a.out.parent / ".gitignore").write_text("*\n")
    bam, ref, region = long_set(a.long.resolve())
    short_bam, short_ref = a.data / SHORT / "reads.bam", a.data / SHORT / "ref.fa"
    q = shlex.quote
    cmds = {
        "long": f"{GMS} call -f {q(str(ref))} -r {region} --threads 1 -o {q(str(a.out / 'long.vcf.gz'))} {q(str(bam))}",
        "short": f"{GMS} call -f {q(str(short_ref))} -r {region} --threads 1 -o {q(str(a.out / 'short.vcf.gz'))} "
                 f"{q(str(short_bam))}",
        "gmscall": f"{GMS} call -f {q(str(ref))} -r {region} --threads {a.threads} -o {q(str(a.out / 'gms.vcf.gz'))} "
                   f"{q(str(bam))}",
        "bcftools": f"bcftools mpileup --threads {a.threads} -a AD,DP -f {q(str(ref))} -r {region} -Ou {q(str(bam))} "
                    f"| bcftools call --threads {a.threads} -mv -Oz -o {q(str(a.out / 'bcftools.vcf.gz'))}",
    }
    per_mb_sets = ["long", "short"]
    if a.baseline:
        base = gmscall_cmd(a.baseline)
        cmds["long_baseline"] = cmds["long"].replace(GMS, base, 1).replace("long.vcf.gz", "long-baseline.vcf.gz")
        cmds["short_baseline"] = cmds["short"].replace(GMS, base, 1).replace("short.vcf.gz", "short-baseline.vcf.gz")
        per_mb_sets += ["long_baseline", "short_baseline"]
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cmds}
    for _ in range(a.repeat):
        for name in per_mb_sets:
            runs[name].append(timed(cmds[name]))
    for _ in range(a.repeat):
        for name in ("gmscall", "bcftools"):
            runs[name].append(timed(cmds[name]))
    mb = region_mb(region)
    med = {k: {"wall_s": statistics.median(w for w, _ in v), "cpu_s": statistics.median(c for _, c in v)}
           for k, v in runs.items()}
    res = {
        "machine": machine_description(), "region": region, "long_set": str(a.long), "repeat": a.repeat,
        "commands": cmds, "runs": runs, "medians": med,
        "per_mb": {k: {m: v / mb for m, v in med[k].items()} for k in per_mb_sets},
        "long_over_short_cpu": med["long"]["cpu_s"] / med["short"]["cpu_s"],
        "long_over_short_wall": med["long"]["wall_s"] / med["short"]["wall_s"],
        "bcftools_over_gmscall_wall": med["bcftools"]["wall_s"] / med["gmscall"]["wall_s"],
    }
    if a.baseline:
        res["baseline_long_over_short_cpu"] = med["long_baseline"]["cpu_s"] / med["short_baseline"]["cpu_s"]
    (a.out / "long-reads.json").write_text(json.dumps(res, indent=1) + "\n")
    lines = [
        f"# Long-read speed ({region}, medians of {a.repeat} alternating runs)", "",
        (f"{res['machine']['cpu']}, {res['machine']['usable_cores']} usable cores, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end"), "",
        "| one thread | CPU s per Mb | wall s per Mb |", "|---|---|---|",
        f"| {a.long.name} | {res['per_mb']['long']['cpu_s']:.2f} | {res['per_mb']['long']['wall_s']:.2f} |",
        f"| {SHORT} | {res['per_mb']['short']['cpu_s']:.2f} | {res['per_mb']['short']['wall_s']:.2f} |",
        f"| long / short | {res['long_over_short_cpu']:.2f} | {res['long_over_short_wall']:.2f} |",
        *([(f"| baseline ({a.baseline}): {a.long.name} | {res['per_mb']['long_baseline']['cpu_s']:.2f} | "
           f"{res['per_mb']['long_baseline']['wall_s']:.2f} |"),
           (f"| baseline: {SHORT} | {res['per_mb']['short_baseline']['cpu_s']:.2f} | "
           f"{res['per_mb']['short_baseline']['wall_s']:.2f} |"),
           f"| baseline: long / short | {res['baseline_long_over_short_cpu']:.2f} | |"] if a.baseline else []), "",
        (f"--threads {a.threads} on {a.long.name}: gmscall {med['gmscall']['wall_s']:.2f} s, bcftools "
        f"{med['bcftools']['wall_s']:.2f} s wall: bcftools / gmscall = {res['bcftools_over_gmscall_wall']:.1f}x"), "",
    ]
    (a.out / "long-reads.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
