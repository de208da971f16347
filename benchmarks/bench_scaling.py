#!/usr/bin/env python3
"""Scaling of ``gmscall call`` with region size and threads: wall time and peak memory.

    python benchmarks/bench_scaling.py [--data ../shared/data] [--repeat 1] [--out DIR]

Calls ``sim-hg002-chr20-2x150`` (30x; reads cover chr20:1,000,001-6,000,000 of a 10 Mb contig) on
1, 2.5 and 5 Mb regions and on the whole contig, with 1 and 2 threads, each as one process:
``gmscall call -f REF -r REGION --threads T -o OUT.vcf.gz BAM``. Wall time is ``time.perf_counter``
around the process; peak RSS is ``ru_maxrss`` of that process from ``os.wait4`` (gmscall runs its
workers as threads of one process). With ``--repeat N`` the median wall time and the largest peak
RSS are kept. Writes ``scaling.md``, ``scaling.json`` and the VCFs (``vcf/``) to ``--out``, and a
linear projection to a 30x human genome. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import DEFAULT_DATA, REPO, machine_description, tool_version

SET = "sim-hg002-chr20-2x150"
# label, region (samtools style), length in bases; reads cover only chr20:1000001-6000000
REGIONS: list[tuple[str, str, int]] = [
    ("1 Mb", "chr20:1000001-2000000", 1_000_000),
    ("2.5 Mb", "chr20:1000001-3500000", 2_500_000),
    ("5 Mb", "chr20:1000001-6000000", 5_000_000),
    ("chr20 (10 Mb)", "chr20", 10_000_000),
]
COVERED_BP = 5_000_000  # bases of chr20 that have reads
THREADS = (1, 2)
GENOME_BP = 3_100_000_000  # human genome, for the projection (the sim set is 30x, as is the target)


@dataclass
class Result:
    label: str
    region: str
    bp: int
    threads: int
    status: str = "ok"  # ok | failed
    wall_s: float | None = None  # median over repeats
    peak_rss_mb: float | None = None  # max over repeats
    records: int | None = None
    walls_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # user + sys of the process
    loadavg_before: list[float] = field(default_factory=list)  # 1-min load average before each run
    error: str = ""

    @property
    def mb_per_s(self) -> float | None:
        return self.bp / 1e6 / self.wall_s if self.wall_s else None


def find_data(data: Path) -> tuple[Path, Path]:
    """reads.bam and ref.fa of the set, or exit saying what is missing."""
    folder = data / SET
    bam, ref = folder / "reads.bam", folder / "ref.fa"
    missing = [p for p in (bam, Path(f"{bam}.bai"), ref, Path(f"{ref}.fai")) if not p.exists()]
    if missing:
        raise SystemExit(f"benchmark data missing: {', '.join(map(str, missing))}\n"
                         f"(expected the shared data set {SET} under {data}; pass --data DIR)")
    return bam, ref


def gmscall_command() -> list[str]:
    """The ``gmscall`` console script beside this Python, else on PATH, else ``python -m gmscall.cli``."""
    beside = Path(sys.executable).parent / "gmscall"
    if beside.exists():
        return [str(beside)]
    on_path = shutil.which("gmscall")
    if on_path:
        return [on_path]
    module = [sys.executable, "-m", "gmscall.cli"]
    if subprocess.run([*module, "--version"], capture_output=True, check=False).returncode == 0:
        return module
    raise SystemExit("gmscall not found: no console script beside sys.executable or on PATH, "
                     "and `python -m gmscall.cli` does not run")


def run_once(cmd: list[str], stderr_path: Path) -> tuple[int, float, float, float]:
    """Run ``cmd``; exit status, wall seconds, peak RSS (MB) and CPU seconds of that process only."""
    with open(stderr_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = rc = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    return rc, wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # ru_maxrss: KiB on Linux


def count_records(vcf_gz: Path) -> int:
    with gzip.open(vcf_gz, "rt") as fh:
        return sum(1 for line in fh if not line.startswith("#"))


def measure(gms: list[str], ref: Path, bam: Path, label: str, region: str, bp: int, threads: int,
            repeat: int, out: Path) -> Result:
    res = Result(label, region, bp, threads)
    stem = f"{region.replace(':', '_')}.t{threads}"
    vcf = out / "vcf" / f"{stem}.vcf.gz"
    cmd = [*gms, "call", "-f", str(ref), "-r", region, "--threads", str(threads), "-o", str(vcf), str(bam)]
    for _ in range(repeat):
        for stale in (vcf, Path(f"{vcf}.tbi")):
            stale.unlink(missing_ok=True)
        res.loadavg_before.append(os.getloadavg()[0])
        try:
            rc, wall, rss, cpu = run_once(cmd, out / "vcf" / f"{stem}.stderr.txt")
        except OSError as exc:  # e.g. the console script vanished during a reinstall
            res.status, res.error = "failed", str(exc)
            return res
        if rc != 0 or not vcf.exists():
            res.status = "failed"
            tail = (out / "vcf" / f"{stem}.stderr.txt").read_text(errors="replace").strip().splitlines()[-5:]
            res.error = f"exit {rc}: " + " / ".join(tail)
            return res
        res.walls_s.append(wall)
        res.rss_mb.append(rss)
        res.cpu_s.append(cpu)
    res.wall_s = statistics.median(res.walls_s)
    res.peak_rss_mb = max(res.rss_mb)
    res.records = count_records(vcf)
    return res


def projection(results: list[Result]) -> dict[str, Any] | None:
    """A LINEAR projection to a 30x human genome (3.1 Gb) from these measurements.

    It scales the throughput (Mb/s) of the largest region that reads cover completely (5 Mb) to the
    genome size. The whole-contig run is not used as the basis: half of its 10 Mb has no reads, so
    its Mb/s overstates the speed on 30x data. Real genomes add repeats, high-depth regions,
    contigs and start-up per region that this does not model; read it as an order of magnitude.
    """
    covered = [r for r in results if r.status == "ok" and r.bp <= COVERED_BP]
    if not covered:
        return None
    basis_bp = max(r.bp for r in covered)
    out: dict[str, Any] = {"basis_region": next(r.region for r in covered if r.bp == basis_bp),
                           "genome_bp": GENOME_BP, "linear": True, "threads": {}}
    for r in covered:
        if r.bp == basis_bp and r.mb_per_s:
            hours = GENOME_BP / 1e6 / r.mb_per_s / 3600  # linear: same Mb/s over the whole genome
            out["threads"][str(r.threads)] = {"mb_per_s": r.mb_per_s, "wall_h": hours,
                                              "core_h": hours * r.threads}
    return out


def _f(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def markdown(results: list[Result], proj: dict[str, Any] | None, meta: dict[str, Any]) -> str:
    head = ["region", "Mb", "threads", "wall s", "Mb/s", "peak RSS MB", "records"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        if r.status != "ok":
            error = r.error.replace("|", "\\|")
            lines.append(f"| {r.region} | {r.bp / 1e6:g} | {r.threads} | failed: {error} | - | - | - |")
            continue
        lines.append(f"| {r.region} | {r.bp / 1e6:g} | {r.threads} | {_f(r.wall_s, 2)} | {_f(r.mb_per_s, 2)} "
                     f"| {_f(r.peak_rss_mb, 0)} | {r.records} |")
    m = meta["machine"]
    text = [
        f"# gmscall call scaling ({SET})",
        "",
        (f"{meta['date']} on {m['cpu']}, {m['cores']} cores; {meta['gmscall_version']}; "
         f"median of {meta['repeat']} run(s)."),
        "",
        *lines,
        "",
        ("wall s: median wall time of the `gmscall call` process; peak RSS MB: its ru_maxrss (max over "
         "runs); Mb/s: region length / wall s; records: VCF records written. Reads cover only "
         "chr20:1000001-6000000, so the whole-contig row's Mb/s counts 5 Mb without reads."),
    ]
    if proj:
        per = "; ".join(f"{t} thread{'s' if t != '1' else ''}: {p['wall_h']:.1f} h wall "
                        f"({p['core_h']:.1f} core-hours)" for t, p in proj["threads"].items())
        text += ["", (f"Linear projection to a 30x human genome ({GENOME_BP / 1e9:.1f} Gb) from "
                      f"{proj['basis_region']}: {per}.")]
    return "\n".join(text) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="shared data folder (default %(default)s)")
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "scaling"),
                   help="output folder (default %(default)s)")
    p.add_argument("--repeat", type=int, default=1, help="runs per cell; median wall, max RSS (default 1)")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    bam, ref = find_data(Path(args.data).resolve())
    out = Path(args.out).resolve()
    (out / "vcf").mkdir(parents=True, exist_ok=True)
    if out.is_relative_to(REPO) and not (out / ".gitignore").exists():
        (out / ".gitignore").write_text("# benchmark outputs are not committed\n*\n")
    gms = gmscall_command()

    results = []
    for label, region, bp in REGIONS:
        for threads in THREADS:
            r = measure(gms, ref, bam, label, region, bp, threads, args.repeat, out)
            print(f"{region} --threads {threads}: {r.status} {_f(r.wall_s, 2)} s, "
                  f"{_f(r.peak_rss_mb, 0)} MB, {r.records} records", file=sys.stderr)
            results.append(r)

    proj = projection(results)
    meta = {"date": _dt.datetime.now().isoformat(timespec="seconds"), "machine": machine_description(),
            "gmscall_version": tool_version([*gms, "--version"]), "gmscall": gms, "repeat": args.repeat,
            "data": str(bam.parent)}
    md = markdown(results, proj, meta)
    (out / "scaling.md").write_text(md)
    doc = {**meta, "results": [{**asdict(r), "mb_per_s": r.mb_per_s} for r in results], "projection": proj}
    (out / "scaling.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(md)
    print(f"written: {out / 'scaling.md'}, {out / 'scaling.json'}")
    return 0 if all(r.status == "ok" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
