#!/usr/bin/env python3
"""Accuracy and speed of gmscall against bcftools and freebayes on the sets of ``datasets.tsv``.

    python benchmarks/run.py [--data ../shared/data] [--sets NAME,...] [--out DIR] [--threads 2]
                             [--callers gmscall,bcftools,freebayes] [--gmscall-backends auto]

For every set and every BAM in it, each caller runs on the set's ``region``; each BAM whose sample
has a truth (``truth.<SAMPLE>.vcf.gz`` in the set's folder, or the set's ``truth`` for its
``truth_sample``) is evaluated with ``gmscall.evaluation`` inside the set's confident BED. Trio sets
(several BAMs and a ``trio.ped``, or a trio of KNOWN_TRIOS) are also called jointly by gmscall
(``--ped``) and bcftools; each sample is scored against its own truth, and each joint VCF, the
merged single-sample VCFs and the merged truths get a Mendelian error rate. Every caller runs
as a whole process (``bash -c``): wall time, CPU time and peak memory are measured here for all of
them alike. A caller that is not installed is reported as "missing", one that fails as "failed"
(with the tail of its stderr); neither stops the run. Writes ``results.md``, ``results.json`` and
(with matplotlib) ``f1.png`` and ``wall.png`` to ``--out``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import gzip
import importlib.util
import json
import logging
import os
import platform
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
DEFAULT_OUT = REPO / "benchmarks" / "results"
ALL_CALLERS = ("gmscall", "bcftools", "freebayes")

log = logging.getLogger("benchmarks.run")


def load_evaluate() -> ModuleType:
    """gmscall.evaluation from this checkout (the package alone: it needs no compiled core), else from
    the installed package, so that outputs of any gmscall build are scored by the checkout's rules."""
    init = REPO / "src" / "gmscall" / "evaluation" / "__init__.py"
    if init.exists():
        spec = importlib.util.spec_from_file_location("gmscall_evaluation", init,
                                                      submodule_search_locations=[str(init.parent)])
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look the module up while the class is created
        try:
            spec.loader.exec_module(mod)
            return mod
        except ImportError:  # the package's own modules (gmscall.errors) are needed: the installed one
            del sys.modules[spec.name]
    from gmscall import evaluation

    return evaluation


# --------------------------------------------------------------------------------------------
# Process measurement


@dataclass
class Measured:
    rc: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_mb: float  # max(largest single process's max RSS, sampled peak of the tree's summed RSS)
    maxrss_mb: float
    tree_peak_mb: float
    stderr_tail: str


def _tree_rss_kb(root: int) -> int:
    """Summed VmRSS (kB) of ``root`` and its descendants, read from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            fields = stat[stat.rindex(")") + 2 :].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, ValueError, IndexError):
            continue
        pid = int(entry)
        children.setdefault(ppid, []).append(pid)
        rss[pid] = pages * (os.sysconf("SC_PAGE_SIZE") // 1024)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def run_measured(cmd: str, stderr_path: Path, stdout_path: Path | None = None,
                 timeout_s: float | None = None) -> Measured:
    """Run ``cmd`` with ``bash -c`` (pipefail); measure wall, CPU and peak memory of the whole tree."""
    stderr_path.parent.mkdir(parents=True, exist_ok=True)
    with open(stderr_path, "wb") as err, open(stdout_path or os.devnull, "wb") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd], stdout=out, stderr=err,
                                start_new_session=True)
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
                done.wait(0.2)

        sampler = None
        if os.path.isdir("/proc"):
            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
        deadline = None if timeout_s is None else t0 + timeout_s
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)  # the whole pipeline
                deadline = None
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        done.set()
        if sampler is not None:
            sampler.join()
        rc = os.waitstatus_to_exitcode(status)
        proc.returncode = rc  # reaped here; keep Popen from waiting again
    tail = stderr_path.read_bytes()[-3000:].decode(errors="replace")
    tail = "\n".join(tail.splitlines()[-15:])
    maxrss_mb = ru.ru_maxrss / 1024  # kB on Linux
    tree_mb = peak[0] / 1024
    return Measured(rc, wall, ru.ru_utime, ru.ru_stime, max(maxrss_mb, tree_mb), maxrss_mb,
                    tree_mb, tail)


# --------------------------------------------------------------------------------------------
# Data sets and tools


@dataclass
class DataSet:
    name: str
    kind: str
    bams: list[Path]
    ref: Path
    truth: Path
    bed: Path
    region: str
    truth_sample: str
    notes: str
    folder: Path  # the set's own folder (truth.<SAMPLE>.vcf.gz, trio.ped)


def read_datasets(data: Path) -> list[DataSet]:
    with open(data / "datasets.tsv", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [
        DataSet(
            name=r["name"], kind=r["kind"], bams=[data / b for b in r["bams"].split(",") if b],
            ref=data / r["ref"], truth=data / r["truth"], bed=data / r["confident_bed"],
            region=r["region"], truth_sample=r["truth_sample"], notes=r.get("notes", ""),
            folder=data / r["name"],
        )
        for r in rows
    ]


def bam_sample(bam: Path) -> str:
    """SM of the BAM's first @RG (else the file stem)."""
    import pysam

    with pysam.AlignmentFile(str(bam)) as fh:
        for rg in fh.header.to_dict().get("RG", []):
            if rg.get("SM"):
                return str(rg["SM"])
    return bam.stem


def vcf_samples(vcf: Path) -> list[str]:
    import pysam

    with pysam.VariantFile(str(vcf)) as fh:
        return list(fh.header.samples)


def freebayes_region(region: str) -> str:
    """samtools-style chr:start-end (1-based, inclusive) -> freebayes chr:start0-end (0-based, half-open)."""
    m = re.match(r"^(.+):([\d,]+)-([\d,]+)$", region)
    if not m:
        return region
    start, end = int(m.group(2).replace(",", "")), int(m.group(3).replace(",", ""))
    return f"{m.group(1)}:{start - 1}-{end}"


def plain_fasta(ref: Path, cache: Path) -> Path:
    """An uncompressed, faidx-indexed copy of a (b)gzipped FASTA, for freebayes."""
    if not ref.name.endswith(".gz"):
        return ref
    out = cache / ref.name[: -len(".gz")]
    if not (out.exists() and Path(str(out) + ".fai").exists() and out.stat().st_mtime >= ref.stat().st_mtime):
        cache.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(out.suffix + ".tmp")
        with gzip.open(ref, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        tmp.replace(out)
        import pysam

        pysam.faidx(str(out))
    return out


def tool_version(cmd: list[str]) -> str:
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (p.stdout or p.stderr).strip().splitlines()
    return text[0].strip() if text else "?"


def gmscall_cmd(override: str | None) -> list[str] | None:
    if override:
        return shlex.split(override)
    exe = shutil.which("gmscall")
    return [exe] if exe else None


_CUDA_DEVICE = re.compile(r"(?i)\b(nvidia|tesla|geforce|quadro|rtx)\b|compute capability|\bcuda:\d")


def gmscall_backends(cmd: list[str], choice: str) -> tuple[list[str], str]:
    """Backends to benchmark and the `gmscall info` text (CUDA only when info names a device)."""
    try:
        p = subprocess.run([*cmd, "info"], capture_output=True, text=True, errors="replace", timeout=120,
                           check=False)
        info = (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        info = f"gmscall info failed: {exc}"
    if choice != "auto":
        return [b.strip() for b in choice.split(",") if b.strip()], info
    return (["cpu", "cuda"] if has_cuda_device(info) else ["cpu"]), info


def has_cuda_device(info: str) -> bool:
    """Whether `gmscall info` reports a usable CUDA device.

    Reads a ``CUDA devices: ...`` line (``none ...``/``0`` = no device); without such a line, looks
    for a GPU name or ``cuda:N``.
    """
    m = re.search(r"(?im)^\s*cuda devices?\s*[:=]\s*(.*)$", info)
    if m:
        value = m.group(1).strip().lower()
        return bool(value) and not value.startswith(("none", "0", "no ", "-", "n/a", "[]"))
    return bool(_CUDA_DEVICE.search(info)) and not re.search(r"(?i)no (cuda )?devices?", info)


def machine_description() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "mem_gb": mem_gb,
            "os": platform.platform(), "python": platform.python_version(), "host": platform.node()}


# --------------------------------------------------------------------------------------------
# Runs


@dataclass
class Run:
    set: str
    bam: str
    sample: str
    caller: str
    backend: str = ""
    status: str = "ok"  # ok | failed | missing | skipped
    cmd: str = ""
    vcf: str = ""
    wall_s: float | None = None
    user_s: float | None = None
    sys_s: float | None = None
    peak_mb: float | None = None
    stderr_tail: str = ""
    evaluated: bool = False
    truth_sample: str | None = None
    eval: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.caller}-{self.backend}" if self.backend else self.caller


def caller_command(caller: str, backend: str, ds: DataSet, bam: Path, out_vcf: Path, threads: int,
                   gms: list[str] | None, fb_ref: Path | None) -> str:
    q = shlex.quote
    if caller == "gmscall":
        assert gms is not None
        return " ".join(q(x) for x in [*gms, "call", "-f", str(ds.ref), "-r", ds.region, "--threads",
                                         str(threads), "--backend", backend, "-o", str(out_vcf), str(bam)])
    if caller == "bcftools":
        return (f"bcftools mpileup --threads {threads} -a AD,DP -f {q(str(ds.ref))} -r {q(ds.region)} -Ou "
                f"{q(str(bam))} | bcftools call --threads {threads} -mv -Oz -o {q(str(out_vcf))}")
    if caller == "freebayes":
        assert fb_ref is not None
        return (f"freebayes -f {q(str(fb_ref))} -r {q(freebayes_region(ds.region))} {q(str(bam))} "
                f"> {q(str(out_vcf))}")
    raise ValueError(f"unknown caller {caller!r}")


def warm_page_cache(paths: list[Path]) -> None:
    """Reads a set's inputs once before any caller runs: on these machines a cold read of an 85 MB
    BAM took 6-14 s, which would be charged to whichever caller happens to run first."""
    for path in paths:
        for f in (path, Path(f"{path}.bai"), Path(f"{path}.fai")):
            if f.exists():
                with open(f, "rb") as fh:
                    while fh.read(1 << 22):
                        pass


def run_all(args: argparse.Namespace, evaluate: ModuleType) -> dict[str, Any]:
    data = Path(args.data).resolve()
    out = Path(args.out).resolve()
    sets = read_datasets(data)
    if args.sets:
        wanted = [s.strip() for s in args.sets.split(",") if s.strip()]
        unknown = sorted(set(wanted) - {s.name for s in sets})
        if unknown:
            raise SystemExit(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(s.name for s in sets)}")
        sets = [s for s in sets if s.name in wanted]
    callers = [c.strip() for c in args.callers.split(",") if c.strip()]
    for c in callers:
        if c not in ALL_CALLERS:
            raise SystemExit(f"unknown caller {c!r}; known: {', '.join(ALL_CALLERS)}")

    gms = gmscall_cmd(args.gmscall)
    versions: dict[str, str] = {}
    backends: list[str] = ["cpu"]
    if "gmscall" in callers:
        if gms is None:
            versions["gmscall"] = "missing"
        else:
            versions["gmscall"] = tool_version([*gms, "--version"])
            backends, info = gmscall_backends(gms, args.gmscall_backends)
            versions["gmscall info"] = info
    for tool, vcmd in (("bcftools", ["bcftools", "--version"]), ("freebayes", ["freebayes", "--version"])):
        if tool in callers:
            versions[tool] = tool_version(vcmd) if shutil.which(tool) else "missing"
    versions["samtools"] = tool_version(["samtools", "--version"]) if shutil.which("samtools") else "missing"

    runs: list[Run] = []
    trio_runs: list[TrioRun] = []
    floors: dict[str, Any] = {}
    for ds in sets:
        warm_page_cache([*ds.bams, ds.ref])
        samples = {bam: bam_sample(bam) for bam in ds.bams}
        truths = set_truths(ds, samples)
        if not truths:
            log.warning("%s: no BAM has sample %s nor a truth.<SAMPLE>.vcf.gz; nothing is evaluated", ds.name,
                        ds.truth_sample)
        set_runs: list[Run] = []
        for bam in ds.bams:
            for caller in callers:
                for backend in (backends if caller == "gmscall" else [""]):
                    run = Run(ds.name, str(bam.relative_to(data)) if bam.is_relative_to(data) else str(bam),
                              samples[bam], caller, backend)
                    set_runs.append(run)
                    _one_run(run, ds, bam, truths.get(samples[bam]), out, args, gms, evaluate)
        runs += set_runs
        spec = find_trio(ds, list(samples.values()), evaluate)
        if spec is not None:
            trio_runs += run_trio(ds, spec, samples, truths, set_runs, callers, backends, out, args, gms,
                                  evaluate)
            floors[ds.name] = truth_floor(ds, spec, truths, evaluate)
    return {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_description(),
        "versions": versions,
        "data": str(data),
        "threads": args.threads,
        "command": " ".join(shlex.quote(a) for a in sys.argv),
        "runs": [asdict(r) for r in runs],
        "trio": [asdict(r) for r in trio_runs],
        "trio_truth_floor": floors,
    }


Truth = tuple[Path, str]  # (truth VCF, its sample column)


def _truth_column(vcf: Path, sample: str) -> str:
    """``sample`` if the truth VCF has that column, else its only column."""
    columns = vcf_samples(vcf)
    if sample in columns:
        return sample
    if len(columns) == 1:
        log.info("%s: sample %s is not in it; using its only sample %s", vcf, sample, columns[0])
        return columns[0]
    raise SystemExit(f"truth sample {sample} not in {vcf} ({columns})")


def set_truths(ds: DataSet, samples: dict[Path, str]) -> dict[str, Truth]:
    """{BAM sample: truth} for each sample of the set that has one: ``truth.<SAMPLE>.vcf.gz`` in the
    set's folder, else the ``truth`` column for the BAM whose SM is ``truth_sample`` (or the only BAM).

    Data quirk: real-hg001-chr20-2x101's truth_sample is NA12878 (the BAM's SM) while its truth VCF's
    sample is HG001; a truth VCF with one sample is read whatever that sample is called.
    """
    truths: dict[str, Truth] = {}
    for sample in samples.values():
        own = ds.folder / f"truth.{sample}.vcf.gz"
        if own.exists():
            truths[sample] = (own, _truth_column(own, sample))
        elif sample == ds.truth_sample or len(ds.bams) == 1:
            truths[sample] = (ds.truth, _truth_column(ds.truth, ds.truth_sample))
    return truths


def measure_into(run: Any, stderr_path: Path, out_vcf: Path, args: argparse.Namespace, what: str) -> bool:
    """Runs run.cmd, records its wall/CPU time, peak memory and VCF in `run`; False (status
    "failed", with the stderr tail) when it failed or wrote nothing."""
    m = run_measured(run.cmd, stderr_path, timeout_s=args.timeout)
    run.wall_s, run.user_s, run.sys_s, run.peak_mb = m.wall_s, m.user_s, m.sys_s, m.peak_mb
    run.vcf = str(out_vcf)
    if m.rc != 0 or not out_vcf.exists() or out_vcf.stat().st_size == 0:
        run.status = "failed"
        run.stderr_tail = m.stderr_tail or f"exit status {m.rc}, no output"
        log.warning("%s failed (exit %d): %s", what, m.rc, run.stderr_tail[-500:])
        return False
    log.info("  %.1f s wall, %.0f MB peak", m.wall_s, m.peak_mb)
    return True


def _one_run(run: Run, ds: DataSet, bam: Path, truth: Truth | None, out: Path,
             args: argparse.Namespace, gms: list[str] | None, evaluate: ModuleType) -> None:
    tool = "gmscall" if run.caller == "gmscall" else run.caller
    if (tool == "gmscall" and gms is None) or (tool != "gmscall" and shutil.which(tool) is None):
        run.status = "missing"
        log.warning("%s: %s is missing (not on PATH)", ds.name, tool)
        return
    rdir = out / ds.name / run.label
    rdir.mkdir(parents=True, exist_ok=True)
    stem = bam.name[: -len(".bam")] if bam.name.endswith(".bam") else bam.stem
    fb_ref = None
    if run.caller == "freebayes":
        fb_ref = plain_fasta(ds.ref, out / "_refs" / ds.name)
        out_vcf = rdir / f"{stem}.vcf"
    else:
        out_vcf = rdir / f"{stem}.vcf.gz"
    for stale in (out_vcf, Path(str(out_vcf) + ".tbi"), Path(str(out_vcf) + ".csi")):
        if stale.exists():
            stale.unlink()
    run.cmd = caller_command(run.caller, run.backend, ds, bam, out_vcf, args.threads, gms, fb_ref)
    log.info("%s %s %s: %s", ds.name, run.sample, run.label, run.cmd)
    if not measure_into(run, rdir / f"{stem}.stderr.txt", out_vcf, args, f"{ds.name} {run.label}"):
        return
    if truth is None:
        return
    t_vcf, t_sample = truth
    try:
        res = evaluate.evaluate(str(t_vcf), str(out_vcf), str(ds.ref), bed=str(ds.bed),
                                truth_sample=t_sample, region=ds.region)
    except Exception as exc:  # noqa: BLE001 - a broken output must not stop the benchmark
        run.status = "failed"
        run.stderr_tail = f"evaluation failed: {exc}"
        log.warning("%s %s: evaluation failed: %s", ds.name, run.label, exc)
        return
    run.evaluated = True
    run.truth_sample = t_sample
    run.eval = res.to_dict()
    with open(rdir / f"{stem}.eval.json", "w") as fh:
        json.dump(run.eval, fh, indent=1)


# --------------------------------------------------------------------------------------------
# Trios: joint calling, per-sample accuracy, Mendelian errors

JOINT_CALLERS = ("gmscall", "bcftools")  # callers run on the trio's BAMs together
# Trio sets without a trio.ped in their folder: (child, father, mother) from the set's notes in
# datasets.tsv ("HG001 child + NA12891 father + NA12892 mother"), with the sexes of the PED that is
# written for them (HG001 = NA12878 is female; NA12891 her father, NA12892 her mother).
KNOWN_TRIOS = {"real-hg001-trio-chr20-2x151": ("HG001", "NA12891", "NA12892")}
KNOWN_SEXES = {"HG001": "2", "NA12891": "1", "NA12892": "2"}


@dataclass
class TrioSpec:
    trio: tuple[str, str, str]  # child, father, mother (BAM sample names)
    ped: Path | None  # the set's trio.ped; None: one is written into the output folder


@dataclass
class TrioRun:
    """One caller on one trio: ``joint`` (one run on the three BAMs) or ``single`` (the three
    single-sample runs of the main table, merged for the Mendelian check with missing = 0/0)."""

    set: str
    caller: str
    backend: str
    mode: str  # joint | single
    trio: list[str]
    ped: str = ""
    status: str = "ok"  # ok | failed | missing
    cmd: str = ""
    vcf: str = ""
    wall_s: float | None = None
    user_s: float | None = None
    sys_s: float | None = None
    peak_mb: float | None = None
    stderr_tail: str = ""
    #: sample -> {"column", "status", "wall_s", "evaluated", "truth", "eval": {"allele", "genotype"}}
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: evaluate.MendelResult.to_dict() without the site list (that is in <dir>/mendel.json)
    mendel: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.caller}-{self.backend}" if self.backend else self.caller


def find_trio(ds: DataSet, samples: list[str], evaluate: ModuleType) -> TrioSpec | None:
    """The set's trio: from ``trio.ped`` in its folder, else from KNOWN_TRIOS; None if not a trio."""
    if len(ds.bams) < 3:
        return None
    ped = ds.folder / "trio.ped"
    if ped.exists():
        trios = evaluate.ped_trios(str(ped), samples)
        if trios:
            return TrioSpec(trios[0], ped)
        log.warning("%s: %s names no trio of the BAMs' samples (%s)", ds.name, ped, ", ".join(samples))
        return None
    known = KNOWN_TRIOS.get(ds.name)
    if known is not None and all(s in samples for s in known):
        return TrioSpec(known, None)
    return None


def write_ped(trio: tuple[str, str, str], path: Path) -> Path:
    """A 6-column PED (family, individual, father, mother, sex 1/2/0, phenotype 0) for one trio."""
    child, father, mother = trio
    rows = [(child, father, mother, KNOWN_SEXES.get(child, "0")), (father, "0", "0", "1"),
            (mother, "0", "0", "2")]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"FAM\t{i}\t{f}\t{m}\t{sex}\t0\n" for i, f, m, sex in rows))
    return path


def joint_command(caller: str, backend: str, ds: DataSet, bams: list[Path], ped: Path, out_vcf: Path,
                  threads: int, gms: list[str] | None) -> str:
    q = shlex.quote
    if caller == "gmscall":
        assert gms is not None
        return " ".join(q(x) for x in [*gms, "call", "-f", str(ds.ref), "-r", ds.region, "--threads",
                                         str(threads), "--backend", backend, "-o", str(out_vcf), "--ped",
                                         str(ped), *map(str, bams)])
    if caller == "bcftools":
        return (f"bcftools mpileup --threads {threads} -a AD,DP -f {q(str(ds.ref))} -r {q(ds.region)} -Ou "
                f"{' '.join(q(str(b)) for b in bams)} | bcftools call --threads {threads} -mv -Oz "
                f"-o {q(str(out_vcf))}")
    raise ValueError(f"no joint command for {caller!r}")


def _eval_summary(ev: dict[str, Any]) -> dict[str, Any]:
    return {"allele": ev["allele"], "genotype": ev["genotype"]}


def _mendel_summary(res: Any) -> dict[str, Any]:
    d = res.to_dict()
    d.pop("inconsistent_sites", None)
    return d


def run_trio(ds: DataSet, spec: TrioSpec, samples: dict[Path, str], truths: dict[str, Truth],
             set_runs: list[Run], callers: list[str], backends: list[str], out: Path,
             args: argparse.Namespace, gms: list[str] | None, evaluate: ModuleType) -> list[TrioRun]:
    """Joint runs of JOINT_CALLERS and the single-sample runs of every caller, as TrioRuns."""
    ped = spec.ped or write_ped(spec.trio, out / ds.name / "trio.ped")
    found: list[TrioRun] = []
    for caller in callers:
        for backend in (backends if caller == "gmscall" else [""]):
            if caller in JOINT_CALLERS:
                tr = TrioRun(ds.name, caller, backend, "joint", list(spec.trio), str(ped))
                _joint_run(tr, ds, samples, truths, out, args, gms, evaluate)
                found.append(tr)
            found.append(_singles_as_trio(ds, spec, caller, backend, set_runs, evaluate))
    return found


def _joint_run(tr: TrioRun, ds: DataSet, samples: dict[Path, str], truths: dict[str, Truth], out: Path,
               args: argparse.Namespace, gms: list[str] | None, evaluate: ModuleType) -> None:
    if (tr.caller == "gmscall" and gms is None) or (tr.caller != "gmscall" and shutil.which(tr.caller) is None):
        tr.status = "missing"
        log.warning("%s: %s is missing (not on PATH): no joint run", ds.name, tr.caller)
        return
    rdir = out / ds.name / f"{tr.label}-joint"
    rdir.mkdir(parents=True, exist_ok=True)
    out_vcf = rdir / "trio.vcf.gz"
    for stale in (out_vcf, Path(str(out_vcf) + ".tbi"), Path(str(out_vcf) + ".csi")):
        if stale.exists():
            stale.unlink()
    tr.cmd = joint_command(tr.caller, tr.backend, ds, list(samples), Path(tr.ped), out_vcf, args.threads, gms)
    log.info("%s trio %s joint: %s", ds.name, tr.label, tr.cmd)
    if not measure_into(tr, rdir / "trio.stderr.txt", out_vcf, args, f"{ds.name} {tr.label} joint"):
        return
    try:
        _score_joint(tr, ds, samples, truths, out_vcf, rdir, evaluate)
    except Exception as exc:  # noqa: BLE001 - a broken output must not stop the benchmark
        tr.status = "failed"
        tr.stderr_tail = f"evaluation failed: {exc}"
        log.warning("%s %s joint: evaluation failed: %s", ds.name, tr.label, exc)


def _score_joint(tr: TrioRun, ds: DataSet, samples: dict[Path, str], truths: dict[str, Truth], vcf: Path,
                 rdir: Path, evaluate: ModuleType) -> None:
    """Each sample with a truth against it (its own column), and the trio's Mendelian errors."""
    columns = evaluate.vcf_sample_names(str(vcf))  # quiet about the missing index
    column_of: dict[str, str] = {}
    for i, sample in enumerate(samples.values()):
        # The BAM's SM, else the column in BAM order (a caller that names columns otherwise).
        col = sample if sample in columns else (columns[i] if i < len(columns) else None)
        entry: dict[str, Any] = {"column": col, "status": "ok", "wall_s": tr.wall_s, "evaluated": False}
        tr.samples[sample] = entry
        if col is None:
            entry["status"] = "no column"
            continue
        column_of[sample] = col
        if sample not in truths:
            continue
        t_vcf, t_sample = truths[sample]
        res = evaluate.evaluate(str(t_vcf), str(vcf), str(ds.ref), bed=str(ds.bed), truth_sample=t_sample,
                                calls_sample=col, region=ds.region)
        with open(rdir / f"{sample}.eval.json", "w") as fh:
            json.dump(res.to_dict(), fh, indent=1)
        entry.update(evaluated=True, truth=str(t_vcf), eval=_eval_summary(res.to_dict()))
    if all(s in column_of for s in tr.trio):
        trio_cols = [column_of[s] for s in tr.trio]
        res = evaluate.mendel(str(vcf), trio_cols, bed=str(ds.bed), region=ds.region)
        (rdir / "mendel.json").write_text(json.dumps(res.to_dict(), indent=1) + "\n")
        tr.mendel = _mendel_summary(res)


def _singles_as_trio(ds: DataSet, spec: TrioSpec, caller: str, backend: str, set_runs: list[Run],
                     evaluate: ModuleType) -> TrioRun:
    """The single-sample runs of one caller on the trio's BAMs, and the Mendelian errors of their
    three VCFs merged (a sample without a record is 0/0, as for the truths)."""
    tr = TrioRun(ds.name, caller, backend, "single", list(spec.trio))
    by_sample = {r.sample: r for r in set_runs if (r.caller, r.backend) == (caller, backend)}
    members = [by_sample[s] for s in spec.trio if s in by_sample]
    for r in by_sample.values():
        entry: dict[str, Any] = {"column": None, "status": r.status, "wall_s": r.wall_s,
                                 "evaluated": r.evaluated}
        if r.evaluated:
            entry.update(truth=r.eval.get("truth_vcf"), eval=_eval_summary(r.eval))
        tr.samples[r.sample] = entry
    statuses = {r.status for r in members}
    tr.status = "ok" if statuses == {"ok"} and len(members) == 3 else (
        "missing" if "missing" in statuses else "failed")
    tr.cmd = " ; ".join(r.cmd for r in members)
    walls = [r.wall_s for r in members if r.wall_s is not None]
    tr.wall_s = sum(walls) if walls else None
    tr.peak_mb = max((r.peak_mb for r in members if r.peak_mb is not None), default=None)
    if tr.status != "ok":
        tr.stderr_tail = "; ".join(f"{r.sample}: {r.status}" for r in members if r.status != "ok")
        return tr
    res = evaluate.mendel_of_single_samples({r.sample: r.vcf for r in members}, spec.trio, bed=str(ds.bed),
                                            region=ds.region)
    tr.mendel = _mendel_summary(res)
    return tr


def truth_floor(ds: DataSet, spec: TrioSpec, truths: dict[str, Truth], evaluate: ModuleType
                ) -> dict[str, Any] | None:
    """Mendelian errors of the three truths merged (missing = 0/0): what a perfect caller reproduces."""
    if not all(s in truths for s in spec.trio):
        return None
    res = evaluate.mendel_of_truths({s: str(truths[s][0]) for s in spec.trio}, spec.trio, bed=str(ds.bed),
                                    region=ds.region)
    log.info("%s truths: %s", ds.name, res.summary())
    return _mendel_summary(res)


# --------------------------------------------------------------------------------------------
# Reports


def _f(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _gmscall_wall(runs: list[dict[str, Any]], r: dict[str, Any]) -> float | None:
    for o in runs:
        if (o["set"], o["bam"], o["caller"], o["backend"], o["status"]) == (r["set"], r["bam"], "gmscall",
                                                                             "cpu", "ok"):
            return o["wall_s"]
    return None


def markdown(results: dict[str, Any]) -> str:
    runs = results["runs"]
    head = ["set", "sample", "caller", "status", "SNV P", "SNV R", "SNV F1", "SNV GT-F1", "INDEL P", "INDEL R",
            "INDEL F1", "INDEL GT-F1", "FP (GT)", "FN (GT)", "wall s", "peak MB", "time / gmscall-cpu"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in runs:
        label = f"{r['caller']}-{r['backend']}" if r["backend"] else r["caller"]
        row = [r["set"], r["sample"], label, r["status"]]
        if r["evaluated"]:
            a, g = r["eval"]["allele"], r["eval"]["genotype"]
            row += [_f(a["SNV"]["precision"]), _f(a["SNV"]["recall"]), _f(a["SNV"]["f1"]), _f(g["SNV"]["f1"]),
                    _f(a["INDEL"]["precision"]), _f(a["INDEL"]["recall"]), _f(a["INDEL"]["f1"]),
                    _f(g["INDEL"]["f1"]), str(g["ALL"]["fp"]), str(g["ALL"]["fn"])]
        else:
            note = "no truth" if r["status"] == "ok" else "-"
            row += [note] + ["-"] * 9
        row += [_f(r["wall_s"], 1), _f(r["peak_mb"], 0)]
        base = _gmscall_wall(runs, r)
        row.append(_f(r["wall_s"] / base, 2) if base and r["wall_s"] is not None and r["status"] == "ok" else "-")
        lines.append("| " + " | ".join(row) + " |")
    m = results["machine"]
    out = [
        "# gmscall benchmark",
        "",
        (f"{results['date']} on {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['mem_gb']} GB RAM; --threads {results['threads']}."),
        "",
        "\n".join(lines),
        "",
        ("P/R/F1: allele-level precision/recall/F1; GT-F1: genotype-aware F1; FP/FN: genotype-aware, "
        "SNV+INDEL, inside the confident BED (gmscall.evaluation). wall s / peak MB: the whole caller "
        "process tree (pipelines included). time / gmscall-cpu: wall time over gmscall's CPU-backend "
        "wall time on the same BAM in this run. freebayes is single-threaded."),
        "",
        "Versions: " + "; ".join(f"{k}: {v}" for k, v in results["versions"].items() if k != "gmscall info"),
    ]
    out += ["", *indel_length_markdown(runs)]
    if results.get("trio"):
        out += ["", *trio_markdown(results)]
    failed = [r for r in runs if r["status"] == "failed"]
    failed_joint = [r for r in results.get("trio", []) if r["status"] == "failed" and r["mode"] == "joint"]
    if failed or failed_joint:
        out += ["", "## Failures", ""]
        for r in failed:
            label = f"{r['caller']}-{r['backend']}" if r["backend"] else r["caller"]
            tail = r["stderr_tail"].strip().replace("\n", "\n    ")
            out.append(f"- {r['set']} {r['sample']} {label}: `{r['cmd']}`\n\n    {tail}\n")
        for r in failed_joint:
            tail = r["stderr_tail"].strip().replace("\n", "\n    ")
            out.append(f"- {r['set']} trio {_label(r)} joint: `{r['cmd']}`\n\n    {tail}\n")
    return "\n".join(out) + "\n"


def indel_length_markdown(runs: list[dict[str, Any]]) -> list[str]:
    """Genotype-aware recall of the truth's indels by length bin, per evaluated run."""
    rows = [r for r in runs if r["evaluated"] and r["eval"].get("indel_by_length")]
    if not rows:
        return []
    bins = list(rows[0]["eval"]["indel_by_length"])
    head = ["set", "sample", "caller", *(f"{b} bp" for b in bins)]
    lines = ["## Indel recall by length", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = []
        for b in bins:
            c = r["eval"]["indel_by_length"][b]
            cells.append(f"{_f(c['gt_tp'] / c['truth'])} ({c['gt_tp']}/{c['truth']})" if c["truth"] else "-")
        lines.append("| " + " | ".join([r["set"], r["sample"], _label(r), *cells]) + " |")
    lines += ["", "Genotype-aware: a truth indel counts when a call matches its allele and genotype."]
    return lines


def _label(r: dict[str, Any]) -> str:
    return f"{r['caller']}-{r['backend']}" if r["backend"] else r["caller"]


def _gt_f1(entry: dict[str, Any], vtype: str) -> str:
    if not entry.get("evaluated"):
        return "no truth" if entry.get("status") == "ok" else "-"
    return _f(entry["eval"]["genotype"][vtype]["f1"])


def _mendel_cells(m: dict[str, Any] | None, denovo: bool) -> list[str]:
    """Mendel errors, sites called in all three, error rate, de novo calls of the child."""
    if not m:
        return ["-"] * 4
    rate = "-" if m["rate"] is None else f"{100 * m['rate']:.2f} %"
    return [str(m["inconsistent"]), str(m["all_called"]), rate, str(m["denovo"]) if denovo else "-"]


def trio_markdown(results: dict[str, Any]) -> list[str]:
    """The "Trio (joint calling)" section: per-sample accuracy, then Mendelian errors per caller."""
    trio = results["trio"]
    head = ["set", "caller", "mode", "sample", "status", "SNV GT-F1", "INDEL GT-F1", "wall s"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in trio:
        for sample in r["trio"]:
            e = r["samples"].get(sample, {"status": r["status"]})
            status = r["status"] if r["mode"] == "joint" else e.get("status", r["status"])
            rows.append("| " + " | ".join([r["set"], _label(r), r["mode"], sample, status, _gt_f1(e, "SNV"),
                                            _gt_f1(e, "INDEL"), _f(e.get("wall_s"), 1)]) + " |")
    head2 = ["set", "caller", "mode", "status", "Mendel errors", "called in all three", "error rate",
             "de novo (child)", "wall s", "peak MB"]
    rows2 = ["| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
    for r in trio:
        rows2.append("| " + " | ".join([r["set"], _label(r), r["mode"], r["status"],
                                         *_mendel_cells(r["mendel"], r["mode"] == "joint"),
                                         _f(r["wall_s"], 1), _f(r["peak_mb"], 0)]) + " |")
    for name, floor in results.get("trio_truth_floor", {}).items():
        rows2.append("| " + " | ".join([name, "truths (floor)", "-", "ok" if floor else "no truths",
                                         *_mendel_cells(floor, False), "-", "-"]) + " |")
    return [
        "## Trio (joint calling)",
        "",
        "\n".join(rows),
        "",
        ("GT-F1: genotype-aware F1 of each sample against its own truth (truth.<SAMPLE>.vcf.gz), inside the "
         "set's confident BED. joint: one run on the three BAMs (wall s = the whole run); single: the "
         "sample's own run of the main table."),
        "",
        "\n".join(rows2),
        "",
        ("Mendel errors: sites (PASS, inside the confident BED, an ALT allele in one of the three) whose "
         "child genotype cannot be made of one paternal and one maternal allele, out of those called in "
         "all three (gmscall.evaluation.mendel). single: the three single-sample VCFs merged by position, "
         "a sample without a record = 0/0. truths (floor): the three truth sets merged the same way, the "
         "rate a perfect caller reproduces. de novo: records flagged for the child (INFO DENOVO or "
         "FORMAT DNQ >= 20)."),
    ]


def plots(results: dict[str, Any], out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no plots (pip install matplotlib)")
        return []
    runs = [r for r in results["runs"] if r["status"] == "ok"]
    sets = sorted({r["set"] for r in runs})
    labels = sorted({f"{r['caller']}-{r['backend']}" if r["backend"] else r["caller"] for r in runs})
    if not runs:
        return []

    def label(r: dict[str, Any]) -> str:
        return f"{r['caller']}-{r['backend']}" if r["backend"] else r["caller"]

    written = []
    width = 0.8 / max(1, len(labels))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for ax, vt in zip(axes, ("SNV", "INDEL")):
        for j, lab in enumerate(labels):
            ys = []
            for s in sets:
                ev = [r for r in runs if r["set"] == s and label(r) == lab and r["evaluated"]]
                f1 = ev[0]["eval"]["genotype"][vt]["f1"] if ev else None
                ys.append(f1 if f1 is not None else 0.0)
            ax.bar([i + j * width for i in range(len(sets))], ys, width, label=lab)
        ax.set_xticks([i + width * (len(labels) - 1) / 2 for i in range(len(sets))])
        ax.set_xticklabels(sets, rotation=15, fontsize=8)
        ax.set_title(f"{vt} genotype-aware F1")
        ax.set_ylim(0.5, 1.0)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "f1.png", dpi=120)
    plt.close(fig)
    written.append("f1.png")

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for j, lab in enumerate(labels):
        ys = []
        for s in sets:
            ws = [r["wall_s"] for r in runs if r["set"] == s and label(r) == lab]
            ys.append(sum(ws))
        ax.bar([i + j * width for i in range(len(sets))], ys, width, label=lab)
    ax.set_xticks([i + width * (len(labels) - 1) / 2 for i in range(len(sets))])
    ax.set_xticklabels(sets, rotation=15, fontsize=8)
    ax.set_ylabel("wall time, s (all BAMs of the set)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "wall.png", dpi=120)
    plt.close(fig)
    written.append("wall.png")
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(DEFAULT_DATA), help="folder with datasets.tsv (default %(default)s)")
    p.add_argument("--sets", help="comma-separated set names (default: all)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default %(default)s)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--callers", default=",".join(ALL_CALLERS))
    p.add_argument("--gmscall", help="command that runs gmscall (default: `gmscall` on PATH), "
                   "e.g. 'python -m gmscall.cli'")
    p.add_argument("--gmscall-backends", default="auto",
                   help="auto (cpu, plus cuda when `gmscall info` names a CUDA device) or a list: cpu,cuda")
    p.add_argument("--timeout", type=float, default=3600, help="seconds per caller run (default %(default)s)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if out.is_relative_to(REPO) and not (out / ".gitignore").exists():
        (out / ".gitignore").write_text("# benchmark outputs are not committed\n*\n")

    results = run_all(args, load_evaluate())
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    md = markdown(results)
    (out / "results.md").write_text(md)
    written = plots(results, out)
    print(md)
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['mem_gb']} GB; {m['os']}")
    print(f"written: {out / 'results.md'}, {out / 'results.json'}" + "".join(f", {out / w}" for w in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
