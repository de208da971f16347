"""Faults a cluster produces, injected without a small file system: every output (VCF, gVCF, pileup
TSV, standard output, --resume checkpoints, tabix index) turns an OS error into one line naming the
file with exit 2, leaves no temporary file, and keeps the --resume checkpoints so that the same
command with --resume continues after space is freed, with the bytes of an uninterrupted run.

Faults: RLIMIT_FSIZE in a child process with SIGXFSZ ignored (writes past the limit fail with
EFBIG), a file object that fails on its n-th write with a chosen errno (ENOSPC, EDQUOT, EIO, ...),
a read-only (immutable) folder, a reader that closes the pipe."""

from __future__ import annotations

import errno
import gzip
import io
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import gmscall
from gmscall import synth
from gmscall.errors import OutputError
from gmscall.options import CallOptions

CLI = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]
SHARD = 5_000


@pytest.fixture(scope="module")
def fam(tmp_path_factory: pytest.TempPathFactory) -> synth.Family:
    """Three samples on one 30-kb reference: BAMs for call/somatic, gVCFs for genotype."""
    f = synth.make_family(tmp_path_factory.mktemp("faults"), length=30_000, depth=15, seed=8)
    for name in ("DAD", "MUM"):
        gmscall.call(f.bams[name], f.fasta, output=f.root / f"{name}.g.vcf.gz", options=CallOptions(gvcf=True))
    return f


def limited(limit: int):
    """preexec_fn of a child whose writes past `limit` bytes of any file fail with EFBIG."""
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


def run(args: list, *, limit: int | None = None, stdout: Path | None = None, cwd: Path | None = None,
        ) -> subprocess.CompletedProcess:
    """`gmscall ARGS` in a child (optionally under a file-size limit, stdout into a file)."""
    out = open(stdout, "wb") if stdout is not None else subprocess.PIPE  # noqa: SIM115
    try:
        return subprocess.run([*CLI, *map(str, args)], stdout=out, stderr=subprocess.PIPE, cwd=cwd, timeout=180,
                              preexec_fn=limited(limit) if limit is not None else None, check=False)
    finally:
        if stdout is not None:
            out.close()


def assert_one_line(proc: subprocess.CompletedProcess, *needles: str) -> str:
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 2, (proc.returncode, err)
    assert err.startswith("gmscall: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in err, (n, err)
    return err


def leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def commands(fam: synth.Family, out: str) -> dict[str, list]:
    """One command line per output kind, writing to `out` ('-' for standard output)."""
    f, bam = fam.fasta, fam.bams
    return {
        "vcf": ["call", "-f", f, "-o", out, "--shard-size", SHARD, bam["KID"]],
        "gvcf": ["call", "-f", f, "--gvcf", "-o", out, "--shard-size", SHARD, bam["KID"]],
        "genotype": ["genotype", "-f", f, "-o", out, "--shard-size", SHARD, fam.root / "DAD.g.vcf.gz",
                     fam.root / "MUM.g.vcf.gz"],
        "somatic": ["somatic", "-f", f, "--tumor", bam["KID"], "--normal", bam["DAD"], "-o", out,
                    "--shard-size", SHARD],
        "pileup": ["pileup", "-f", f, "-r", fam.contig, bam["KID"]],
    }


OUTPUT_NAMES = {"vcf": "out.vcf.gz", "gvcf": "out.g.vcf.gz", "genotype": "out.vcf.gz", "somatic": "out.vcf",
                "pileup": "-"}


# ------------------------------------------------------------------ a file-size limit (EFBIG)


@pytest.mark.parametrize("kind", ["vcf", "gvcf", "genotype", "somatic"])
def test_file_size_limit_on_a_file_output(fam: synth.Family, tmp_path: Path, kind: str) -> None:
    name = OUTPUT_NAMES[kind]
    whole = tmp_path / "whole"
    whole.mkdir()
    assert run(commands(fam, name)[kind], cwd=whole).returncode == 0
    size = (whole / name).stat().st_size
    assert size > 2000
    cut = tmp_path / "cut"
    cut.mkdir()
    proc = run(commands(fam, name)[kind], limit=size // 2, cwd=cut)
    assert_one_line(proc, f"error: {name}: cannot write it: file too large", "'ulimit -f'", "then run again")
    assert leftovers(cut, set()) == []  # no partial output, no temporary file


@pytest.mark.parametrize("kind", ["vcf", "gvcf", "genotype", "somatic", "pileup"])
def test_file_size_limit_on_standard_output(fam: synth.Family, tmp_path: Path, kind: str) -> None:
    """`gmscall ... > file` on a full file system: exit 2, not 0 with a truncated file."""
    whole = run(commands(fam, "-")[kind], stdout=tmp_path / "whole.txt")
    assert whole.returncode == 0, whole.stderr
    size = (tmp_path / "whole.txt").stat().st_size
    proc = run(commands(fam, "-")[kind], limit=size // 2, stdout=tmp_path / "cut.txt")
    assert_one_line(proc, "error: standard output: cannot write it: file too large", "(the output is incomplete)")


def test_broken_pipe_is_an_error(fam: synth.Family) -> None:
    """A reader that stops early (`| head -c 100`): exit 2 and one line, not a silent exit 0."""
    for kind in ("pileup", "gvcf"):
        cmd = [*CLI, *map(str, commands(fam, "-")[kind])]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.read(100)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
        assert proc.returncode == 2, err
        assert err.startswith("gmscall: error: standard output: the program reading the output stopped") and \
            err.count("\n") == 1, err


# ------------------------------------------------------------------ --resume: fail, free, resume


@pytest.mark.parametrize("kind", ["gvcf", "vcf", "genotype", "somatic"])
def test_resume_after_a_full_disk_gives_the_bytes_of_an_uninterrupted_run(fam: synth.Family, tmp_path: Path,
                                                                         kind: str) -> None:
    """The output outgrows the file-size limit after shards were checkpointed: one line that says
    to rerun with --resume; the rerun (space freed) reuses them and gives the uninterrupted run's bytes
    (`call`, `call --gvcf`, `genotype`, and `somatic` into plain text)."""
    # `call` into plain text: a run's manifest (which holds each sample's learnt gap-open table) is
    # larger than this small family's bgzipped VCF, so a limit under the VCF would stop the manifest;
    # a bgzipped output written at the end is the genotype case.
    name = "out.vcf" if kind == "vcf" else OUTPUT_NAMES[kind]
    cmd = [*commands(fam, name)[kind], "--resume", "--shard-size", 2000]
    whole = tmp_path / "whole"
    whole.mkdir()
    assert run(cmd, cwd=whole).returncode == 0
    expected = {p.name: p.read_bytes() for p in whole.iterdir()}
    assert sorted(expected) == ([name] if name.endswith(".vcf") else [name, f"{name}.tbi"])
    folder = tmp_path / "run"
    folder.mkdir()
    work = folder / f"{name}.gmscall-work"
    # the gVCF fails mid-run; genotype's small VCF is written in one BGZF block at the end, past the
    # manifest; plain text as its shards come: it fails at the last ones
    limit = len(expected[name]) // 2 if kind == "gvcf" else len(expected[name]) - 100
    proc = run(cmd, limit=limit, cwd=folder)
    err = assert_one_line(proc, f"error: {name}: cannot write it: file too large",
                          "then run the same command with --resume to continue from the")
    kept = sorted(work.glob("part-*.gz"))
    assert kept and f"from the {len(kept)} finished shards kept in {work.name}" in err
    assert leftovers(folder, {work.name}) == []  # no partial output
    assert not list(work.glob(".*"))  # no temporary part or output in the work folder
    done = run(cmd, cwd=folder)  # space freed: the same command
    assert done.returncode == 0, done.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == expected
    # the kept checkpoints were reused, not computed again
    again = tmp_path / "again"
    again.mkdir()
    run(cmd, limit=limit, cwd=again)
    n = len(list((again / work.name).glob("part-*.gz")))
    assert f"resuming: {n} of 15 shards reused" in run(["-v", *cmd], cwd=again).stderr.decode()


def _resumable(fam: synth.Family, kind: str, output: Path, **kw) -> None:
    """`kind` (gvcf, genotype, somatic) from Python with --resume checkpoints, 15 shards."""
    kw = {"shard_size": 2000, "command": "x", "resume": True, **kw}
    if kind == "gvcf":
        gmscall.call(fam.bams["KID"], fam.fasta, output=output, options=CallOptions(gvcf=True), **kw)
    elif kind == "genotype":
        gmscall.genotype_gvcfs([fam.root / "DAD.g.vcf.gz", fam.root / "MUM.g.vcf.gz"], fam.fasta, output, **kw)
    else:
        gmscall.call_somatic(fam.bams["KID"], fam.fasta, normal=fam.bams["DAD"], output=output, **kw)


@pytest.mark.parametrize("kind", ["gvcf", "genotype", "somatic"])
def test_checkpoint_write_fails_then_resume(fam: synth.Family, tmp_path: Path, fail_nth, kind: str) -> None:
    """The 4th checkpoint cannot be written (a full disk): the 3 before it are kept, nothing else
    is left, and a rerun with --resume (on 2 threads) gives the bytes of an uninterrupted run."""
    name = "x.g.vcf.gz" if kind == "gvcf" else "x.vcf.gz"
    whole = tmp_path / name
    _resumable(fam, kind, whole)
    out = tmp_path / "run" / name
    out.parent.mkdir()
    work = out.parent / f"{name}.gmscall-work"
    fail_nth(1, errno.ENOSPC, from_file=5, only_fds=True)  # the manifest, 3 parts, then part 4 fails
    with pytest.raises(OutputError) as info:
        _resumable(fam, kind, out)
    assert str(info.value) == (f"{work / 'part-0000003.gz'}: cannot write it: no space left on the device; free "
                               "space there (or write to another file system), then run the same command with "
                               f"--resume to continue from the 3 finished shards kept in {work}")
    assert sorted(p.name for p in work.iterdir()) == ["lock", "manifest.json", "part-0000000.gz",
                                                       "part-0000001.gz", "part-0000002.gz"]
    assert sorted(p.name for p in out.parent.iterdir()) == [work.name]
    fail_nth(0, 0)  # space freed
    _resumable(fam, kind, out, threads=2)
    assert out.read_bytes() == whole.read_bytes()
    assert Path(f"{out}.tbi").read_bytes() == Path(f"{whole}.tbi").read_bytes()
    assert not work.exists()


# ------------------------------------------------------------------ a file that fails on its n-th write


class FailingFile(io.RawIOBase):
    """A raw binary file that fails with `code` on its `n`-th write (1-based); short writes before."""

    def __init__(self, inner: io.RawIOBase, n: int, code: int) -> None:
        self.inner, self.n, self.code, self.writes = inner, n, code, 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.writes += 1
        if self.writes >= self.n:
            raise OSError(self.code, os.strerror(self.code))
        view = memoryview(data)
        return self.inner.write(view[: max(1, len(view) // 2)])  # a short write: the caller must go on

    def close(self) -> None:
        self.inner.close()
        super().close()

    def fileno(self) -> int:
        raise io.UnsupportedOperation("fileno")


FAULTS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
          errno.EIO: "input/output error from the storage", errno.EFBIG: "file too large",
          errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}


@pytest.fixture()
def fail_nth(monkeypatch: pytest.MonkeyPatch):
    """fail_nth(n, code, from_file=1, only_fds=False): from the `from_file`-th output file opened
    from now on (counting only those opened from a file descriptor, the checkpoints, with
    `only_fds`), each fails on its n-th write with errno `code`; fail_nth(0, 0) ends it."""
    from gmscall import sink

    def arm(n: int, code: int, from_file: int = 1, only_fds: bool = False) -> None:
        real = open
        opened = [0]

        def opener(path, mode="r", buffering=-1, **kw):
            inner = real(path, mode, buffering=0)
            if only_fds and not isinstance(path, int):
                return inner
            opened[0] += 1
            return FailingFile(inner, n, code) if n and opened[0] >= from_file else inner

        monkeypatch.setattr(sink, "open", opener, raising=False)

    return arm


@pytest.mark.parametrize("code", sorted(FAULTS))
@pytest.mark.parametrize("name", ["x.vcf", "x.vcf.gz", "x.g.vcf.gz"])
def test_nth_write_fails_from_python(fam: synth.Family, tmp_path: Path, fail_nth, code: int, name: str) -> None:
    opts = CallOptions(gvcf=name.endswith(".g.vcf.gz"))
    for n in (1, 3):
        fail_nth(n, code)
        with pytest.raises(OutputError) as info:
            gmscall.call(fam.bams["KID"], fam.fasta, output=tmp_path / name, options=opts, shard_size=SHARD)
        msg = str(info.value)
        assert msg.startswith(f"{tmp_path / name}: cannot write it: {FAULTS[code]}"), msg
        assert info.value.oserror.errno == code and "\n" not in msg
        assert list(tmp_path.iterdir()) == []


def test_nth_write_fails_on_standard_output(fam: synth.Family, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture) -> None:
    from gmscall.cli import main

    for kind in ("pileup", "vcf", "genotype"):
        for n in (1, 2, 5):
            raw = FailingFile(io.BytesIO(), n, errno.ENOSPC)  # type: ignore[arg-type]
            monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BufferedWriter(raw, 64)))
            assert main([str(a) for a in commands(fam, "-")[kind]]) == 2
            monkeypatch.undo()
            err = capsys.readouterr().err
            assert err == ("gmscall: error: standard output: cannot write it: no space left on the device (the "
                           "output is incomplete); free space there (or write to another file system), then run "
                           "again\n"), err


def test_pileup_into_a_failing_file_object(fam: synth.Family, tmp_path: Path) -> None:
    from gmscall.options import PileupOptions
    from gmscall.pileup_api import pileup_tsv

    class Named(io.BufferedWriter):
        name = "pileup.tsv"

    with pytest.raises(OutputError, match=r"^pileup.tsv: cannot write it: input/output error"):
        pileup_tsv(fam.bams["KID"], fam.fasta, fam.contig, Named(FailingFile(io.BytesIO(), 3, errno.EIO)),
                   opts=PileupOptions())


def test_index_write_error_names_the_index(fam: synth.Family, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tabix index is written by the C++ core: its OS error comes back with its errno."""
    from gmscall import _core

    stream = _core.TabixStream()
    with pytest.raises(OSError) as info:
        stream.finish(0, str(tmp_path / "x.vcf.gz"), str(tmp_path / "no-such-folder" / "x.vcf.gz.tbi"))
    assert info.value.errno == errno.ENOENT and info.value.filename.endswith("x.vcf.gz.tbi")

    from gmscall import vcf

    real = _core.TabixStream

    class FullIndex:
        def __init__(self) -> None:
            self.inner = real()

        def add_block(self, *a):
            return self.inner.add_block(*a)

        def finish(self, *a):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(vcf._core, "TabixStream", FullIndex)
    out = tmp_path / "x.vcf.gz"
    with pytest.raises(OutputError, match=rf"^{out}.tbi: cannot write it: no space left on the device"):
        gmscall.call(fam.bams["KID"], fam.fasta, output=out)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ a read-only folder


def _make_read_only(folder: Path) -> None:
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return
    # root writes through permission bits: an immutable folder (ext4/xfs chattr +i) refuses it too
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False).returncode:
        pytest.skip("running as root on a file system without chattr +i: no way to make a folder read-only")


def _make_writable(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o755)


def test_read_only_work_folder_then_resume(fam: synth.Family, tmp_path: Path) -> None:
    """The checkpoints' folder turns read-only mid-way (a quota, a remount): one line naming the
    checkpoint; once writable again, --resume completes with the uninterrupted run's bytes."""
    name = "out.g.vcf.gz"
    cmd = [*commands(fam, name)["gvcf"], "--resume", "--shard-size", 2000]
    whole = tmp_path / "whole"
    whole.mkdir()
    assert run(cmd, cwd=whole).returncode == 0
    folder = tmp_path / "run"
    folder.mkdir()
    run(cmd, limit=12_000, cwd=folder)  # some checkpoints, then a failure
    work = folder / f"{name}.gmscall-work"
    kept = len(list(work.glob("part-*.gz")))
    assert kept
    _make_read_only(work)
    try:
        proc = run(cmd, cwd=folder)
        err = assert_one_line(proc, f"error: {name}: cannot write it: ",
                              f"--resume to continue from the {kept} finished shards kept in {work.name}")
        assert "operation not permitted" in err or "permission denied" in err, err
    finally:
        _make_writable(work)
    assert len(list(work.glob("part-*.gz"))) == kept
    assert run(cmd, cwd=folder).returncode == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {p.name: p.read_bytes() for p in whole.iterdir()}


def test_read_only_output_folder(fam: synth.Family, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    _make_read_only(folder)
    try:
        proc = run(commands(fam, str(folder / "x.vcf.gz"))["vcf"])
        err = assert_one_line(proc, str(folder / "x.vcf.gz"))
        assert "not writable" in err or "operation not permitted" in err, err
        assert list(folder.iterdir()) == []
    finally:
        _make_writable(folder)


# ------------------------------------------------------------------ damaged index, too many files, changed inputs


def _renamed(src: Path, dst: Path, sample: str) -> Path:
    """A copy of a one-sample gVCF under another sample name, bgzipped and indexed."""
    import pysam

    text = gzip.decompress(src.read_bytes()).decode()
    head, _, body = text.partition("\n#CHROM")
    line, _, rest = body.partition("\n")
    plain = dst.with_suffix(".txt")
    plain.write_text(head + "\n#CHROM" + "\t".join(line.split("\t")[:-1] + [sample]) + "\n" + rest)
    pysam.tabix_compress(str(plain), str(dst), force=True)
    pysam.tabix_index(str(dst), preset="vcf", force=True)
    return dst


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_index_says_how_to_rebuild_it(fam: synth.Family, tmp_path: Path, damage: str) -> None:
    gvcf = tmp_path / "DAD.g.vcf.gz"
    shutil.copy(fam.root / "DAD.g.vcf.gz", gvcf)
    index = (fam.root / "DAD.g.vcf.gz.tbi").read_bytes()
    Path(f"{gvcf}.tbi").write_bytes({"truncated": index[: len(index) // 2], "garbage": b"\x1f\x8b" + b"x" * 60,
                                     "empty": b""}[damage])
    out = tmp_path / "x.vcf"
    proc = run(["genotype", "-f", fam.fasta, "-o", out, gvcf, fam.root / "MUM.g.vcf.gz"])
    err = assert_one_line(proc, f"error: {gvcf}.tbi: the index is damaged (truncated or not a tbi index); "
                                f"rebuild it with 'tabix -p vcf {gvcf}'")
    assert "ulimit" not in err
    assert not out.exists()


def test_truncated_gvcf_is_named(fam: synth.Family, tmp_path: Path) -> None:
    gvcf = tmp_path / "DAD.g.vcf.gz"
    data = (fam.root / "DAD.g.vcf.gz").read_bytes()
    gvcf.write_bytes(data[: len(data) - 100])
    shutil.copy(fam.root / "DAD.g.vcf.gz.tbi", f"{gvcf}.tbi")
    proc = run(["genotype", "-f", fam.fasta, "-o", tmp_path / "x.vcf", gvcf, fam.root / "MUM.g.vcf.gz"])
    assert_one_line(proc, f"{gvcf}: the BGZF end-of-file block is missing: the file is truncated")


def test_too_many_open_files_says_ulimit(fam: synth.Family, tmp_path: Path) -> None:
    gvcfs = [_renamed(fam.root / "DAD.g.vcf.gz", tmp_path / f"S{k}.g.vcf.gz", f"S{k}") for k in range(24)]

    def few_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (20, 20))

    proc = subprocess.run([*CLI, "genotype", "-f", str(fam.fasta), "-o", str(tmp_path / "x.vcf"), *map(str, gvcfs)],
                          capture_output=True, preexec_fn=few_files, timeout=180, check=False)
    err = assert_one_line(proc, ": cannot open it: too many files open; raise the limit with 'ulimit -n' (now 20)")
    assert "damaged" not in err


def test_resume_with_a_replaced_input_says_what_changed(fam: synth.Family, tmp_path: Path) -> None:
    """The BAM is replaced under the same name: the message names it as given (a relative path),
    says in words what changed (size, time, header, the samples) and what to do."""
    shutil.copy(fam.bams["KID"], tmp_path / "reads.bam")
    shutil.copy(f"{fam.bams['KID']}.bai", tmp_path / "reads.bam.bai")
    code = ("import sys, gmscall.caller as c\nreal = c._call_shard\n"
            "def stop(o, b, c, s, shard):\n    if shard.start >= 10000: raise KeyboardInterrupt\n"
            "    return real(o, b, c, s, shard)\nc._call_shard = stop\n"
            "from gmscall.cli import main\nsys.exit(main())")
    cmd = ["call", "-f", str(fam.fasta), "-o", "calls.vcf.gz", "--resume", "--shard-size", "2000", "reads.bam"]
    assert subprocess.run([sys.executable, "-c", code, *cmd], cwd=tmp_path, capture_output=True, check=False,
                          timeout=120).returncode == 130
    before = (tmp_path / "reads.bam").stat().st_size
    shutil.copy(fam.bams["DAD"], tmp_path / "reads.bam")  # another sample's BAM, same name
    shutil.copy(f"{fam.bams['DAD']}.bai", tmp_path / "reads.bam.bai")
    proc = run(cmd, cwd=tmp_path)
    after = (tmp_path / "reads.bam").stat().st_size
    err = assert_one_line(
        proc, "error: calls.vcf.gz: --resume: the checkpoints in calls.vcf.gz.gmscall-work were made from other "
              "inputs or options: ",
        f"reads.bam is not the file the checkpoints were made from (size {before} -> {after} bytes; modified ",
        "; its header differs)", "the samples were KID, now DAD",
        "give the original inputs and options to continue, or remove calls.vcf.gz.gmscall-work to start again")
    assert str(tmp_path) not in err  # the path as given, not an absolute one
    assert len(list((tmp_path / "calls.vcf.gz.gmscall-work").glob("part-*.gz"))) == 5  # nothing lost


def test_eval_json_on_a_full_disk(fam: synth.Family, tmp_path: Path, fail_nth,
                                  capsys: pytest.CaptureFixture) -> None:
    from gmscall.evaluation.cli import main as eval_main

    calls = tmp_path / "kid.vcf.gz"
    gmscall.call(fam.bams["KID"], fam.fasta, output=calls)
    out = tmp_path / "eval.json"
    fail_nth(1, errno.ENOSPC)
    assert eval_main(["--truth", str(calls), "--calls", str(calls), "--ref", str(fam.fasta), "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == (f"gmscall eval: error: {out}: cannot write it: no space left on the device; free space there "
                   "(or write to another file system), then run again\n"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kid.vcf.gz", "kid.vcf.gz.tbi"]


def test_qc_outputs_on_a_full_disk(fam: synth.Family, tmp_path: Path, fail_nth,
                                   capsys: pytest.CaptureFixture) -> None:
    from gmscall.cli import main

    vcf = tmp_path / "trio.vcf.gz"
    gmscall.call([fam.bams[n] for n in ("KID", "DAD", "MUM")], fam.fasta, output=vcf)
    out = tmp_path / "qc"
    for n_file, name in ((1, "gmscall_qc.json"), (3, "gmscall_qc.sex.tsv")):
        fail_nth(1, errno.ENOSPC, from_file=n_file)
        assert main(["qc", "-o", str(out), str(vcf)]) == 2
        err = capsys.readouterr().err
        assert err == (f"gmscall: error: {out / name}: cannot write it: no space left on the device; free space "
                       "there (or write to another file system), then run again\n"), err
        assert not list(out.glob("*.tmp"))
