#!/usr/bin/env python3
"""Pileup speed: ``gmscall pileup`` against ``samtools mpileup`` in the same invocation.

    python benchmarks/bench_pileup.py [--data ../shared/data] [--set sim-hg002-chr20-2x150]
                                      [--region chr20:1000001-6000000] [--threads 2] [--repeat 3]
                                      [--out DIR] [--gmscall CMD] [--gmscall-backends auto]

Both tools read the same BAM region with the same filters (skip UNMAP, SECONDARY, QCFAIL, DUP,
SUPPLEMENTARY; min BQ 13, min MQ 0; overlapping mates counted once; no BAQ, no depth cap) and write
to /dev/null. Runs alternate between the tools; each figure is the median of ``--repeat`` runs.
reads/s = reads passing the filters in the region (``samtools view -c``) / median wall time.
Writes ``pileup.md`` and ``pileup.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import logging
import shlex
import shutil
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (
    DEFAULT_DATA,
    DEFAULT_OUT,
    REPO,
    gmscall_backends,
    gmscall_cmd,
    machine_description,
    read_datasets,
    run_measured,
    tool_version,
)

log = logging.getLogger("benchmarks.pileup")
FILTER_FLAGS = "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY"
FILTER_MASK = "0xF04"  # the same flags as a number, for samtools view


def commands(ref: str, region: str, bam: str, threads: int, min_bq: int, min_mq: int,
             gms: list[str] | None, backends: list[str]) -> dict[str, str | None]:
    q = shlex.quote
    cmds: dict[str, str | None] = {
        "samtools": (f"samtools mpileup -B -d 0 -Q {min_bq} -q {min_mq} --ff {FILTER_FLAGS} -f {q(ref)} "
                     f"-r {q(region)} {q(bam)} > /dev/null") if shutil.which("samtools") else None,
    }
    for backend in backends:
        name = f"gmscall-{backend}"
        if gms is None:
            cmds[name] = None
            continue
        argv = [*gms, "pileup", "-f", ref, "-r", region, "--min-BQ", str(min_bq), "--min-MQ", str(min_mq),
                "--threads", str(threads)]
        if backend != "default":
            argv += ["--backend", backend]
        cmds[name] = " ".join(q(a) for a in argv) + f" {q(bam)} > /dev/null"
    return cmds


def count_reads(ref: str, region: str, bam: str, min_mq: int) -> int | None:
    if not shutil.which("samtools"):
        return None
    p = subprocess.run(["samtools", "view", "-c", "-F", FILTER_MASK, "-q", str(min_mq), "-T", ref, bam, region],
                       capture_output=True, text=True, check=False)
    return int(p.stdout.strip()) if p.returncode == 0 and p.stdout.strip().isdigit() else None


def depth_summary(cmd: str) -> dict[str, Any]:
    """Positions and summed depth of a pileup written to stdout (samtools column 4, or gmscall's
    ``depth`` column found by its header line), a cheap check that both tools did comparable work."""
    proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    col, positions, covered, total = 3, 0, 0, 0
    for line in proc.stdout:
        fields = line.rstrip("\n").split("\t")
        if line.startswith("#"):
            names = [f.lstrip("#").lower() for f in fields]
            col = names.index("depth") if "depth" in names else col
            continue
        try:
            d = int(fields[col])
        except (IndexError, ValueError):
            continue
        positions += 1
        covered += d > 0
        total += d
    rc = proc.wait()
    return {"rc": rc, "positions": positions, "covered_positions": covered, "depth_sum": total}


def check_window(region: str, bp: int) -> str:
    chrom, _, span = region.partition(":")
    start = int(span.split("-")[0].replace(",", "")) if span else 1
    return f"{chrom}:{start}-{start + bp - 1}"


def bench(args: argparse.Namespace) -> dict[str, Any]:
    data = Path(args.data).resolve()
    sets = {s.name: s for s in read_datasets(data)}
    if args.set not in sets:
        raise SystemExit(f"unknown set {args.set!r}; known: {', '.join(sets)}")
    ds = sets[args.set]
    bam, ref = str(ds.bams[0]), str(ds.ref)
    region = args.region or ds.region
    out = Path(args.out).resolve()
    gms = gmscall_cmd(args.gmscall)
    backends = ["cpu"]
    info = "gmscall missing"
    if gms is not None:
        backends, info = gmscall_backends(gms, args.gmscall_backends)
    cmds = commands(ref, region, bam, args.threads, args.min_bq, args.min_mq, gms, backends)
    n_reads = count_reads(ref, region, bam, args.min_mq)

    tools: dict[str, dict[str, Any]] = {
        name: {"cmd": cmd, "status": "ok" if cmd else "missing", "wall_s": [], "peak_mb": [], "user_s": [],
               "stderr_tail": ""}
        for name, cmd in cmds.items()
    }
    names = list(cmds)
    for i in range(args.repeat):
        order = names if i % 2 == 0 else names[::-1]  # alternate, so that neither always runs first
        for name in order:
            t = tools[name]
            if t["status"] != "ok":
                continue
            log.info("run %d/%d %s", i + 1, args.repeat, name)
            m = run_measured(t["cmd"], out / f"{name}.stderr.txt", timeout_s=args.timeout)
            if m.rc != 0:
                t["status"] = "failed"
                t["stderr_tail"] = m.stderr_tail or f"exit status {m.rc}"
                log.warning("%s failed (exit %d): %s", name, m.rc, t["stderr_tail"][-500:])
                continue
            t["wall_s"].append(round(m.wall_s, 3))
            t["peak_mb"].append(round(m.peak_mb, 1))
            t["user_s"].append(round(m.user_s, 3))
            log.info("  %.2f s", m.wall_s)
    check: dict[str, Any] = {}
    if args.check_bp > 0:
        win = check_window(region, args.check_bp)
        check["region"] = win
        for name, cmd in commands(ref, win, bam, args.threads, args.min_bq, args.min_mq, gms, backends).items():
            if cmd and tools[name]["status"] == "ok":
                check[name] = depth_summary(cmd.replace(" > /dev/null", ""))
    base = tools["samtools"]
    base_med = statistics.median(base["wall_s"]) if base["status"] == "ok" and base["wall_s"] else None
    for t in tools.values():
        ok = t["status"] == "ok" and t["wall_s"]
        t["median_wall_s"] = statistics.median(t["wall_s"]) if ok else None
        t["median_peak_mb"] = statistics.median(t["peak_mb"]) if ok else None
        t["reads_per_s"] = n_reads / t["median_wall_s"] if ok and n_reads else None
        # > 1: faster than samtools mpileup in this run
        t["speedup_vs_samtools"] = base_med / t["median_wall_s"] if ok and base_med else None
    return {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_description(),
        "versions": {"samtools": tool_version(["samtools", "--version"]) if shutil.which("samtools") else "missing",
                     "gmscall": tool_version([*gms, "--version"]) if gms else "missing", "gmscall info": info},
        "set": ds.name, "bam": bam, "ref": ref, "region": region, "threads": args.threads,
        "repeat": args.repeat, "min_bq": args.min_bq, "min_mq": args.min_mq, "reads_in_region": n_reads,
        "tools": tools, "check": check,
    }


def _f(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        "# Pileup speed",
        "",
        (f"{res['date']}, {m['cpu']}, {m['cores']} cores; set {res['set']}, region {res['region']}, "
        f"{res['reads_in_region']} reads after filters; --threads {res['threads']} for gmscall "
        f"(samtools mpileup is single-threaded); median of {res['repeat']} runs."),
        "",
        "| tool | status | median wall s | runs (s) | peak MB | reads/s | speed vs samtools |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in res["tools"].items():
        runs = ", ".join(f"{w:.2f}" for w in t["wall_s"]) or "-"
        lines.append(f"| {name} | {t['status']} | {_f(t['median_wall_s'], '.2f')} | {runs} | "
                     f"{_f(t['median_peak_mb'], '.0f')} | {_f(t['reads_per_s'], ',.0f')} | "
                     f"{_f(t['speedup_vs_samtools'], '.2f')}x |")
    chk = res.get("check") or {}
    if len(chk) > 1:
        note = "samtools omits uncovered positions; the tools may define depth slightly differently"
        lines += ["", f"Same-work check on {chk['region']} ({note}):", ""]
        lines += [f"- {name}: {c['positions']} positions, {c['covered_positions']} covered, "
                  f"depth sum {c['depth_sum']}" for name, c in chk.items() if name != "region"]
    lines += ["", "Commands:", ""]
    lines += [f"- {name}: `{t['cmd']}`" for name, t in res["tools"].items() if t["cmd"]]
    for name, t in res["tools"].items():
        if t["status"] == "failed":
            lines += ["", f"{name} failed:", "", "    " + t["stderr_tail"].replace("\n", "\n    ")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--set", default="sim-hg002-chr20-2x150")
    p.add_argument("--region", default="chr20:1000001-6000000", help="default: %(default)s ('' = set's region)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--min-bq", type=int, default=13)
    p.add_argument("--min-mq", type=int, default=0)
    p.add_argument("--out", default=str(DEFAULT_OUT / "pileup"))
    p.add_argument("--gmscall", help="command that runs gmscall (default: `gmscall` on PATH)")
    p.add_argument("--gmscall-backends", default="auto",
                   help="auto (cpu, plus cuda when `gmscall info` names a device), or e.g. cpu,cuda")
    p.add_argument("--timeout", type=float, default=1800)
    p.add_argument("--check-bp", type=int, default=100000,
                   help="compare positions/depth of both outputs on the first N bp of the region (0: skip)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out.is_relative_to(REPO):
        gi = next((d / ".gitignore" for d in [out, *out.parents] if d.parent == REPO / "benchmarks"), None)
        if gi is not None and not gi.exists():
            gi.write_text("# benchmark outputs are not committed\n*\n")
    res = bench(args)
    (out / "pileup.json").write_text(json.dumps(res, indent=1) + "\n")
    md = markdown(res)
    (out / "pileup.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
