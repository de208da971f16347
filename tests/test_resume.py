"""`--resume` of `gmscall genotype` (gVCFs) and `gmscall somatic` (tumour/normal), which share
gmscall.resume's checkpoints with `gmscall call` (tests/test_streaming.py, tests/test_faults.py):
an interrupted run continued with --resume gives the bytes of an uninterrupted one, for any thread
count; a finished run can be run again; a changed input file or option is refused in one line that
names the file as given (or the option) and says what to do, and the checkpoints stay.

Write faults (a file-size limit, a failing n-th checkpoint write) for these commands are in
tests/test_faults.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gmscall
from gmscall import somatic, synth
from gmscall.errors import InputError
from gmscall.gvcf import genotype as gvcf_genotype
from gmscall.options import CallOptions, SomaticOptions

CLI = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]
SHARD = 2_000  # 15 shards of the 30-kb contig
STOP = 10_000  # an interrupted run stops at the shard that starts here: 5 finished shards


@pytest.fixture(scope="module")
def fam(tmp_path_factory: pytest.TempPathFactory) -> synth.Family:
    """A trio on one 30-kb reference with a gVCF per sample (the BAMs also serve as a tumour, KID,
    and its normal, DAD: germline differences are 'somatic' there, which is all resume needs)."""
    f = synth.make_family(tmp_path_factory.mktemp("resume"), length=30_000, depth=15, seed=8)
    for name in ("DAD", "MUM", "KID"):
        gmscall.call(f.bams[name], f.fasta, output=f.root / f"{name}.g.vcf.gz", options=CallOptions(gvcf=True),
                     command="x")
    return f


def _copy(src: Path, dst: Path) -> Path:
    shutil.copy2(src, dst)
    for ext in (".tbi", ".bai", ".fai"):
        if Path(f"{src}{ext}").exists():
            shutil.copy2(f"{src}{ext}", f"{dst}{ext}")
    return dst


def _inputs(fam: synth.Family, folder: Path) -> None:
    """The inputs under short names in `folder` (runs there use relative paths, as a user would)."""
    folder.mkdir(exist_ok=True)
    _copy(fam.fasta, folder / "ref.fa")
    shutil.copy2(fam.ped, folder / "trio.ped")
    for name in ("DAD", "MUM", "KID"):
        _copy(fam.root / f"{name}.g.vcf.gz", folder / f"{name}.g.vcf.gz")
        _copy(fam.bams[name], folder / f"{name.lower()}.bam")


ARGS = {
    "genotype": ["genotype", "-f", "ref.fa", "--ped", "trio.ped", "--shard-size", SHARD, "DAD.g.vcf.gz",
                 "MUM.g.vcf.gz", "KID.g.vcf.gz"],
    "somatic": ["somatic", "-f", "ref.fa", "--tumor", "kid.bam", "--normal", "dad.bam", "--shard-size", SHARD],
}
SHARD_TASK = {"genotype": (gvcf_genotype, "_genotype_shard"), "somatic": (somatic, "_somatic_shard")}


def _api(kind: str, out: Path | str, **kw):
    """The Python API run of ARGS[kind] (same inputs, options and shards), in the current folder."""
    if kind == "genotype":
        return gmscall.genotype_gvcfs(["DAD.g.vcf.gz", "MUM.g.vcf.gz", "KID.g.vcf.gz"], "ref.fa", out, ped="trio.ped",
                                      shard_size=SHARD, command="x", **kw)
    return gmscall.call_somatic("kid.bam", "ref.fa", normal="dad.bam", output=out, shard_size=SHARD, command="x",
                                **kw)


def _stop_at(monkeypatch: pytest.MonkeyPatch, kind: str, start: int = STOP) -> list[int]:
    """The shard task fails from the shard at `start` on; returns the list of shards computed."""
    module, name = SHARD_TASK[kind]
    real = getattr(module, name)
    computed: list[int] = []

    def task(*args):
        shard = args[-1]
        if shard.start >= start:
            raise InputError("stop here")
        computed.append(shard.start)
        return real(*args)

    monkeypatch.setattr(module, name, task)
    return computed


def _parts(work: Path) -> list[str]:
    return sorted(p.name for p in work.glob("part-*.gz"))


def _files(folder: Path, names: list[str]) -> dict[str, bytes]:
    return {n: (folder / n).read_bytes() for n in names}


def run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=180, check=False)


# ------------------------------------------------------------------ interrupted, then resumed


@pytest.mark.parametrize("kind", ["genotype", "somatic"])
def test_interrupted_then_resumed_gives_the_bytes_of_an_uninterrupted_run(fam: synth.Family, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch,
                                                                          kind: str) -> None:
    """Interrupted on 2 threads after 5 shards, resumed on 1 (and on 2): the bytes of an
    uninterrupted 1-thread run; the finished shards are not computed again."""
    _inputs(fam, tmp_path)
    monkeypatch.chdir(tmp_path)
    _api(kind, "whole.vcf.gz")
    expected = _files(tmp_path, ["whole.vcf.gz", "whole.vcf.gz.tbi"])
    for threads in (1, 2):
        out, work = Path(f"t{threads}.vcf.gz"), tmp_path / f"t{threads}.vcf.gz.gmscall-work"
        _stop_at(monkeypatch, kind)
        with pytest.raises(InputError, match="stop here"):
            _api(kind, out, resume=True, threads=2)
        assert not out.exists()
        assert _parts(work) == [f"part-{k:07d}.gz" for k in range(STOP // SHARD)]
        monkeypatch.undo()
        monkeypatch.chdir(tmp_path)
        computed = _stop_at(monkeypatch, kind, start=10**9)
        _api(kind, out, resume=True, threads=threads)
        monkeypatch.undo()
        monkeypatch.chdir(tmp_path)
        assert sorted(computed) == list(range(STOP, 30_000, SHARD))  # finished shards reused
        assert _files(tmp_path, [out.name, f"{out.name}.tbi"]) == {
            out.name: expected["whole.vcf.gz"], f"{out.name}.tbi": expected["whole.vcf.gz.tbi"]}
        assert not work.exists()


KILLED_AFTER_5_PARTS = """import os, signal, sys
from gmscall.resume import WorkFolder
real = WorkFolder.save
def save(self, k, result):
    real(self, k, result)
    if k == 4:
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 mid-run, workers busy: no cleanup of any kind
WorkFolder.save = save
from gmscall.cli import main
sys.exit(main())"""


@pytest.mark.parametrize("kind", ["genotype", "somatic"])
def test_kill_9_then_resume_gives_the_same_bytes(fam: synth.Family, tmp_path: Path, kind: str) -> None:
    """The process is killed (SIGKILL) on 2 threads mid-run, after its 5th checkpoint: the same
    command line with --resume gives the bytes of an uninterrupted run, from those checkpoints."""
    _inputs(fam, tmp_path)
    cmd = ["-v", *ARGS[kind], "--resume", "--threads", 2, "-o", "out.vcf.gz"]
    assert run(cmd, tmp_path).returncode == 0  # the header names the inputs by absolute path: same folder
    expected = _files(tmp_path, ["out.vcf.gz", "out.vcf.gz.tbi"])
    for name in expected:
        (tmp_path / name).unlink()
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_5_PARTS, *map(str, cmd)], cwd=tmp_path,
                            capture_output=True, timeout=180, check=False)
    assert killed.returncode == -9, killed.stderr
    assert not (tmp_path / "out.vcf.gz").exists()
    assert len(_parts(tmp_path / "out.vcf.gz.gmscall-work")) == 5
    done = run(cmd, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "resuming: 5 of 15 shards reused" in done.stderr
    assert _files(tmp_path, ["out.vcf.gz", "out.vcf.gz.tbi"]) == expected
    assert not (tmp_path / "out.vcf.gz.gmscall-work").exists()


@pytest.mark.parametrize("kind", ["genotype", "somatic"])
def test_resume_after_completion_runs_again(fam: synth.Family, tmp_path: Path, kind: str) -> None:
    """A finished run leaves no checkpoints; the same command with --resume again (Snakemake's
    rerun of a job) gives the same bytes and leaves none either."""
    _inputs(fam, tmp_path)
    cmd = ["-v", *ARGS[kind], "--resume", "-o", "out.vcf.gz"]  # -v: the log says what was reused
    first = run(cmd, tmp_path)
    assert first.returncode == 0, first.stderr
    expected = _files(tmp_path, ["out.vcf.gz", "out.vcf.gz.tbi"])
    assert not (tmp_path / "out.vcf.gz.gmscall-work").exists()
    again = run(cmd, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "resuming" not in again.stderr  # nothing to reuse: computed again
    assert _files(tmp_path, ["out.vcf.gz", "out.vcf.gz.tbi"]) == expected
    assert not (tmp_path / "out.vcf.gz.gmscall-work").exists()


@pytest.mark.parametrize("kind", ["genotype", "somatic"])
def test_resume_needs_an_output_file(fam: synth.Family, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     kind: str) -> None:
    _inputs(fam, tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"--resume needs an output file \(-o FILE\), not stdout"):
        _api(kind, "-", resume=True)
    proc = run([*ARGS[kind], "--resume"], tmp_path)  # -o defaults to standard output
    assert proc.returncode == 2 and proc.stderr == ("gmscall: error: --resume needs an output file (-o FILE), "
                                                    "not stdout\n"), proc.stderr


# ------------------------------------------------------------------ changed inputs and options are refused


def _later(path: Path, seconds: int = 10) -> None:
    t = path.stat().st_mtime_ns + seconds * 10**9
    os.utime(path, ns=(t, t))


def _change(kind: str, change: str, folder: Path, fam: synth.Family) -> tuple[list, list[str]]:
    """Changes an input file or an option of ARGS[kind]; returns the command line and what the
    refusal must say."""
    args = list(ARGS[kind])
    if change == "gvcf":  # DAD's gVCF remade with other options: another file under the same name
        before = (folder / "DAD.g.vcf.gz").stat().st_size
        gmscall.call(fam.bams["DAD"], fam.fasta, output=folder / "DAD.g.vcf.gz",
                     options=CallOptions(gvcf=True, min_mq=30), command="y")
        after = (folder / "DAD.g.vcf.gz").stat().st_size
        size = f"size {before} -> {after} bytes; " if after != before else ""
        return args, [f"DAD.g.vcf.gz is not the file the checkpoints were made from ({size}modified ",
                      "; its header differs)", "DAD.g.vcf.gz.tbi is not the file the checkpoints were made from ("]
    if change == "index":  # the index rebuilt: same gVCF, another index file
        _later(folder / "KID.g.vcf.gz.tbi")
        return args, ["KID.g.vcf.gz.tbi is not the file the checkpoints were made from (modified "]
    if change == "ped":  # the pedigree edited: the child's parents removed
        lines = (folder / "trio.ped").read_text().splitlines()
        (folder / "trio.ped").write_text("".join("\t".join([*ln.split()[:2], "0", "0", *ln.split()[4:]]) + "\n"
                                                 for ln in lines))
        return args, ["trio.ped is not the file the checkpoints were made from (", "; its contents differ)"]
    if change == "no-ped":
        k = args.index("--ped")
        return [*args[:k], *args[k + 2:]], ["the pedigree (--ped) was trio.ped, now none"]
    if change == "order":
        return [*args[:-3], "MUM.g.vcf.gz", "DAD.g.vcf.gz", "KID.g.vcf.gz"], [
            "the gVCFs were DAD.g.vcf.gz, MUM.g.vcf.gz, KID.g.vcf.gz, now MUM.g.vcf.gz, DAD.g.vcf.gz, KID.g.vcf.gz",
            "the samples were DAD, MUM, KID, now MUM, DAD, KID"]
    if change == "min-qual":
        return [*args, "--min-qual", 30], ["option --min-qual was 10.0, now 30.0"]
    if change == "shard-size":
        return [*args, "--shard-size", 3000], [("the regions or the shard size differ (15 shards from chrS:1-2000 "
                                                "then, 10 from chrS:1-3000 now)")]
    if change == "tumour":  # the tumour BAM rewritten (same reads, a newer file)
        _later(folder / "kid.bam")
        _later(folder / "kid.bam.bai", 20)  # the index stays newer than its BAM
        return args, ["kid.bam is not the file the checkpoints were made from (modified "]
    if change == "normal":  # another BAM under the normal's name
        before = (folder / "dad.bam").stat().st_size
        _copy(fam.bams["MUM"], folder / "dad.bam")
        _later(folder / "dad.bam.bai")
        after = (folder / "dad.bam").stat().st_size
        size = f"size {before} -> {after} bytes; " if after != before else ""
        return args, [f"dad.bam is not the file the checkpoints were made from ({size}modified ",
                      "; its header differs)"]
    if change == "tumour-only":
        k = args.index("--normal")
        return [*args[:k], *args[k + 2:]], ["the normal BAM/CRAM was dad.bam, now none"]
    if change == "tlod-pass":
        return [*args, "--tlod-pass", 8], ["option --tlod-pass was 6.3, now 8.0"]
    if change == "no-assembly":
        return [*args, "--no-assembly"], ["option --no-assembly was not given, now given"]
    raise AssertionError(change)


CHANGES = [("genotype", c) for c in ("gvcf", "index", "ped", "no-ped", "order", "min-qual", "shard-size")] + \
          [("somatic", c) for c in ("tumour", "normal", "tumour-only", "tlod-pass", "no-assembly")]


@pytest.mark.parametrize(("kind", "change"), CHANGES)
def test_a_changed_input_or_option_is_refused_in_words(fam: synth.Family, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, kind: str,
                                                       change: str) -> None:
    """After an interrupted run, --resume with a changed input file (named as given) or option:
    exit 2, one line saying what changed and what to do; the checkpoints are kept."""
    _inputs(fam, tmp_path)
    monkeypatch.chdir(tmp_path)
    _stop_at(monkeypatch, kind)
    with pytest.raises(InputError, match="stop here"):
        _api(kind, "out.vcf.gz", resume=True)
    monkeypatch.undo()
    work = tmp_path / "out.vcf.gz.gmscall-work"
    assert len(_parts(work)) == STOP // SHARD
    args, needles = _change(kind, change, tmp_path, fam)
    proc = run([*args, "--resume", "-o", "out.vcf.gz"], tmp_path)
    err = proc.stderr
    assert proc.returncode == 2, err
    assert err.startswith("gmscall: error: out.vcf.gz: --resume: the checkpoints in out.vcf.gz.gmscall-work were "
                          "made from other inputs or options: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, (needle, err)
    assert err.endswith("; give the original inputs and options to continue, or remove out.vcf.gz.gmscall-work "
                        "to start again\n"), err
    assert str(tmp_path) not in err  # the paths as given, not absolute ones
    assert len(_parts(work)) == STOP // SHARD  # nothing lost
    assert not (tmp_path / "out.vcf.gz").exists()


def _somatic_checkpoints(fam: synth.Family, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A somatic run stopped after its first checkpoints, in tmp_path (the working folder)."""
    _inputs(fam, tmp_path)
    monkeypatch.chdir(tmp_path)
    _stop_at(monkeypatch, "somatic")
    with pytest.raises(InputError, match="stop here"):
        _api("somatic", "out.vcf.gz", resume=True)
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)


def test_checkpoints_of_another_command_are_refused(fam: synth.Family, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The work folder belongs to one command: a somatic run's checkpoints are no genotype's."""
    _somatic_checkpoints(fam, tmp_path, monkeypatch)
    with pytest.raises(InputError, match="they were made by 'gmscall somatic', not 'genotype'"):
        _api("genotype", "out.vcf.gz", resume=True)


def test_options_from_python_are_in_the_manifest(fam: synth.Family, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """An option the command line does not set (SomaticOptions.tlod_emit) is refused by name."""
    _somatic_checkpoints(fam, tmp_path, monkeypatch)
    with pytest.raises(InputError, match="option tlod_emit was 3.0, now 4.0"):
        _api("somatic", "out.vcf.gz", resume=True, options=SomaticOptions(tlod_emit=4.0))
