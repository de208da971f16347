"""Bad input gets a clear error (exit 2 / a typed exception), damaged data never crashes the
interpreter, and no partial output is ever left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pysam
import pytest

import gmscall
from gmscall import synth
from gmscall.errors import InputError, OutputError

CLI = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False)


# The CLI, reporting its own peak memory (VmHWM) in the file named by GMSCALL_TEST_HWM: ru_maxrss
# from os.wait4 holds the parent's peak too (a child started with vfork or fork keeps its parent's
# high-water mark across exec), which a long pytest run pushes past any bound on the child.
MEASURED_CLI = [sys.executable, "-c",
                ("import os, sys\n"
                "from gmscall.cli import main\n"
                "try:\n"
                "    code = main()\n"
                "finally:\n"
                "    hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')]\n"
                "    open(os.environ['GMSCALL_TEST_HWM'], 'w').write(hwm[0] if hwm else '0')\n"
                "sys.exit(code)")]


def run_measured(args: list[str], hwm_file: Path, timeout: float) -> tuple[int, str, int]:
    """Exit status, stderr and peak RSS (KiB, the child's own VmHWM) of `gmscall ARGS`."""
    env = {**os.environ, "GMSCALL_TEST_HWM": str(hwm_file)}
    proc = subprocess.Popen([*MEASURED_CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        stderr = proc.stderr.read().decode(errors="replace")
        proc.wait()
    finally:
        timer.cancel()
        proc.stderr.close()
    return proc.returncode, stderr, int(hwm_file.read_text() or 0)


def assert_clean_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit status 2, one message naming the problem, no Python traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("gmscall: error:"), proc.stderr
    for n in needles:
        assert n in proc.stderr, (n, proc.stderr)


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    return synth.make_dataset(tmp_path_factory.mktemp("robust"), length=6000, depth=20, seed=3)


@pytest.fixture()
def copy_ds(ds: synth.Dataset, tmp_path: Path) -> dict[str, Path]:
    """A private copy of the dataset's files that a test may damage."""
    out = {}
    for key, src in (("bam", ds.bam), ("bai", Path(str(ds.bam) + ".bai")), ("fa", ds.fasta),
                     ("fai", Path(str(ds.fasta) + ".fai"))):
        dst = tmp_path / src.name
        shutil.copy2(src, dst)
        out[key] = dst
    return out


def write_bam(path: Path, contig: str, length: int, segments: list[dict], *, rg: bool = True,
              samples: tuple[str, ...] = ("S1",), sort_order: str = "coordinate", index: bool = True) -> Path:
    header = {"HD": {"VN": "1.6", "SO": sort_order}, "SQ": [{"SN": contig, "LN": length}]}
    if rg:
        header["RG"] = [{"ID": f"rg{k}", "SM": s} for k, s in enumerate(samples)]
    hdr = pysam.AlignmentHeader.from_dict(header)
    with pysam.AlignmentFile(str(path), "wb", header=hdr) as out:
        for k, s in enumerate(segments):
            a = pysam.AlignedSegment(hdr)
            a.query_name = s.get("name", f"r{k}")
            a.flag = s.get("flag", 0)
            a.reference_id = 0
            a.reference_start = s["pos"]
            a.mapping_quality = s.get("mapq", 60)
            a.cigarstring = s["cigar"]
            a.query_sequence = s["seq"]
            if s.get("qual", "default") is not None:
                a.query_qualities = pysam.qualitystring_to_array(s.get("qual") or "I" * len(s["seq"]))
            if rg:
                a.set_tag("RG", "rg0")
            out.write(a)
    if index:
        pysam.index(str(path))
    return path


def ref_fasta(path: Path, contig: str, seq: str) -> Path:
    path.write_text(f">{contig}\n{seq}\n")
    pysam.faidx(str(path))
    return path


# ------------------------------------------------------------------ input checks before work


def test_missing_bam_and_fasta(ds: synth.Dataset, tmp_path: Path) -> None:
    assert_clean_error(run_cli("call", "-f", ds.fasta, tmp_path / "nope.bam"), "nope.bam", "not found")
    assert_clean_error(run_cli("call", "-f", tmp_path / "nope.fa", ds.bam), "nope.fa", "not found")
    with pytest.raises(InputError, match="not found"):
        gmscall.call(tmp_path / "nope.bam", ds.fasta)


def test_bam_without_index(copy_ds: dict[str, Path]) -> None:
    copy_ds["bai"].unlink()
    assert_clean_error(run_cli("call", "-f", copy_ds["fa"], copy_ds["bam"]), "samtools index")


def test_stale_index(copy_ds: dict[str, Path]) -> None:
    t = copy_ds["bai"].stat().st_mtime
    os.utime(copy_ds["bam"], (t + 100, t + 100))
    assert_clean_error(run_cli("call", "-f", copy_ds["fa"], copy_ds["bam"]), "older than the file")


def test_fasta_index_is_built_when_missing(copy_ds: dict[str, Path], tmp_path: Path) -> None:
    copy_ds["fai"].unlink()
    out = tmp_path / "o.vcf"
    proc = run_cli("call", "-f", copy_ds["fa"], "-o", out, copy_ds["bam"])
    assert proc.returncode == 0, proc.stderr
    assert copy_ds["fai"].exists() and out.exists()


def test_fasta_index_missing_in_read_only_folder(copy_ds: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from gmscall import preflight

    copy_ds["fai"].unlink()
    real_access = os.access
    folder = copy_ds["fa"].parent
    monkeypatch.setattr(preflight.os, "access",
                        lambda p, mode: False if Path(p) == folder and mode == os.W_OK else real_access(p, mode))
    with pytest.raises(InputError, match="samtools faidx"):
        gmscall.call(copy_ds["bam"], copy_ds["fa"])


def test_contig_length_mismatch(ds: synth.Dataset, tmp_path: Path) -> None:
    seq = ds.reference.seq + "ACGT" * 10
    fa = ref_fasta(tmp_path / "longer.fa", ds.contig, seq)
    assert_clean_error(run_cli("call", "-f", fa, ds.bam), "different reference build")


def test_no_shared_contig_names(ds: synth.Dataset, tmp_path: Path) -> None:
    fa = ref_fasta(tmp_path / "renamed.fa", "other", ds.reference.seq)
    assert_clean_error(run_cli("call", "-f", fa, ds.bam), "share no contig name")


def test_cram_with_wrong_reference(ds: synth.Dataset, tmp_path: Path) -> None:
    cram = tmp_path / "reads.cram"
    pysam.view("-C", "-T", str(ds.fasta), "-o", str(cram), str(ds.bam), catch_stdout=False)
    pysam.index(str(cram))
    recs = gmscall.call(cram, ds.fasta)  # the right reference works: the BAM's records exactly
    assert recs and recs == gmscall.call(ds.bam, ds.fasta)
    seq = list(ds.reference.seq)
    seq[100] = "A" if seq[100].upper() != "A" else "C"
    wrong = ref_fasta(tmp_path / "wrong.fa", ds.contig, "".join(seq))
    assert_clean_error(run_cli("call", "-f", wrong, cram), "MD5")


def test_unsorted_header(ds: synth.Dataset, tmp_path: Path) -> None:
    bam = write_bam(tmp_path / "u.bam", ds.contig, ds.length,
                    [{"pos": 10, "cigar": "20M", "seq": ds.reference.seq[10:30].upper()}],
                    sort_order="unsorted", index=False)
    Path(str(bam) + ".bai").write_bytes(b"")  # an index exists; the header still says unsorted
    assert_clean_error(run_cli("call", "-f", ds.fasta, bam), "samtools sort")


@pytest.mark.parametrize(("region", "needle"), [
    ("chrNope:1-100", "not in both"),
    ("chrS:1-999999", "past the end"),
    ("chrS:500-100", "after end"),
    ("chrS:abc-def", "expected CONTIG"),
])
def test_bad_regions(ds: synth.Dataset, region: str, needle: str) -> None:
    assert_clean_error(run_cli("call", "-f", ds.fasta, "-r", region, ds.bam), needle)


def test_chr_prefix_hint(ds: synth.Dataset) -> None:
    assert_clean_error(run_cli("call", "-f", ds.fasta, "-r", "S:1-100", ds.bam), "chrS")


def test_bed_errors_and_merge(ds: synth.Dataset, tmp_path: Path) -> None:
    bad = tmp_path / "bad.bed"
    bad.write_text(f"{ds.contig}\t0\t100\n{ds.contig}\tx\t200\n")
    assert_clean_error(run_cli("call", "-f", ds.fasta, "-R", bad, ds.bam), "bad.bed:2")
    messy = tmp_path / "messy.bed"
    messy.write_text(f"{ds.contig}\t3000\t5000\n{ds.contig}\t0\t2000\n{ds.contig}\t1500\t3500\n")
    whole = tmp_path / "whole.bed"
    whole.write_text(f"{ds.contig}\t0\t5000\n")
    a = gmscall.call(ds.bam, ds.fasta, bed=messy)
    b = gmscall.call(ds.bam, ds.fasta, bed=whole)
    assert a == b and a


def test_read_groups(ds: synth.Dataset, tmp_path: Path) -> None:
    seq = ds.reference.seq[100:150].upper()
    norg = write_bam(tmp_path / "norg.bam", ds.contig, ds.length, [{"pos": 100, "cigar": "50M", "seq": seq}],
                     rg=False)
    assert_clean_error(run_cli("call", "-f", ds.fasta, norg), "@RG SM", "--sample")
    out = tmp_path / "named.vcf"
    proc = run_cli("call", "-f", ds.fasta, "--sample", "NAMED", "-o", out, norg)
    assert proc.returncode == 0, proc.stderr
    assert "\tNAMED" in out.read_text()
    two = write_bam(tmp_path / "two.bam", ds.contig, ds.length, [{"pos": 100, "cigar": "50M", "seq": seq}],
                    samples=("A", "B"))
    # Several samples in one file: one column each (joint calling); --sample cannot name them.
    proc = run_cli("call", "-f", ds.fasta, "-o", out, two)
    assert proc.returncode == 0, proc.stderr
    assert "FORMAT\tA\tB\n" in out.read_text()
    assert_clean_error(run_cli("call", "-f", ds.fasta, "--sample", "X", two), "--sample")


def test_output_folder_problems(ds: synth.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_clean_error(run_cli("call", "-f", ds.fasta, "-o", tmp_path / "no" / "x.vcf", ds.bam), "does not exist")
    from gmscall import preflight

    monkeypatch.setattr(preflight.os, "access", lambda p, mode: mode != os.W_OK)
    with pytest.raises(OutputError, match="not writable"):
        gmscall.call(ds.bam, ds.fasta, output=tmp_path / "x.vcf")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------ damaged data during the run


def test_truncated_bam(copy_ds: dict[str, Path]) -> None:
    data = copy_ds["bam"].read_bytes()
    copy_ds["bam"].write_bytes(data[: len(data) * 2 // 3])
    os.utime(copy_ds["bai"])  # keep the index newer so that truncation is what is reported
    assert_clean_error(run_cli("call", "-f", copy_ds["fa"], copy_ds["bam"]), "truncated")


def test_corrupted_bgzf_block(copy_ds: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(copy_ds["bam"].read_bytes())
    mid = len(data) // 2
    data[mid: mid + 64] = bytes(64)
    copy_ds["bam"].write_bytes(bytes(data))
    os.utime(copy_ds["bai"])
    out = tmp_path / "o.vcf.gz"
    proc = run_cli("call", "-f", copy_ds["fa"], "-o", out, copy_ds["bam"])
    assert_clean_error(proc, str(copy_ds["bam"]))
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".o.vcf")]


def test_impossible_cigar(ds: synth.Dataset, tmp_path: Path) -> None:
    """A record whose CIGAR is longer than its sequence (htslib will not write one, so the test
    patches the CIGAR of a valid record in the uncompressed BAM stream)."""
    import gzip
    import struct

    seq = ds.reference.seq[200:250].upper()
    good = {"pos": 200, "cigar": "50M", "seq": seq}
    bad = {"pos": 210, "cigar": "50M", "seq": seq, "name": "broken"}
    bam = write_bam(tmp_path / "ok.bam", ds.contig, ds.length, [good, bad], index=False)
    raw = bytearray(gzip.decompress(bam.read_bytes()))
    at = raw.index(b"broken\x00") + len(b"broken\x00")
    assert struct.unpack_from("<I", raw, at)[0] == (50 << 4)
    struct.pack_into("<I", raw, at, 80 << 4)  # 80M over 50 bases
    plain = tmp_path / "cig.raw"
    plain.write_bytes(bytes(raw))
    damaged = tmp_path / "cig.bam"
    pysam.tabix_compress(str(plain), str(damaged))
    Path(str(damaged) + ".bai").write_bytes(b"")
    try:
        pysam.index(str(damaged))
    except pysam.SamtoolsError:
        # htslib itself rejects the record while indexing; reuse a valid index so gmscall meets it
        write_bam(tmp_path / "idx.bam", ds.contig, ds.length, [good, {**bad, "cigar": "50M"}])
        shutil.copy(tmp_path / "idx.bam.bai", str(damaged) + ".bai")
    proc = run_cli("call", "-f", ds.fasta, damaged)
    assert_clean_error(proc, str(damaged))
    assert "CIGAR" in proc.stderr or "damaged" in proc.stderr


def test_odd_but_valid_records(ds: synth.Dataset, tmp_path: Path) -> None:
    """'*' qualities, MAPQ 255, reads running past the contig end: documented behaviour, no error."""
    ref = ds.reference.seq.upper()
    n = ds.length
    segs = []
    for k in range(12):
        segs.append({"pos": 300 + k, "cigar": "60M", "seq": ref[300 + k:360 + k], "qual": None})
        segs.append({"pos": 600 + k, "cigar": "60M", "seq": ref[600 + k:660 + k], "mapq": 255})
    segs.append({"pos": n - 30, "cigar": "50M", "seq": ref[n - 30:] + "A" * 20})
    segs.sort(key=lambda s: s["pos"])
    bam = write_bam(tmp_path / "odd.bam", ds.contig, n, segs)
    out = tmp_path / "odd.vcf"
    proc = run_cli("call", "-f", ds.fasta, "-o", out, bam)
    assert proc.returncode == 0, proc.stderr
    p = gmscall.pileup(str(bam), str(ds.fasta), f"{ds.contig}:301-320", min_bq=0)
    assert p.depth.max() > 0  # reads without qualities are counted (given Q30)
    assert (p.qual_sum.sum(axis=1) == 30 * p.depth).all()
    p = gmscall.pileup(str(bam), str(ds.fasta), f"{ds.contig}:621-640", min_mq=30)
    assert p.depth.min() > 0  # MAPQ 255 passes MAPQ filters as 255 (samtools) ...
    assert (p.mq2 == 20 * 20 * p.depth).all()  # ... and weighs as MAPQ 20 (bcftools)


def test_iupac_and_lower_case_reference(ds: synth.Dataset, tmp_path: Path) -> None:
    seq = list(ds.reference.seq.lower())
    for k in range(1000, 1010):
        seq[k] = "R"
    fa = ref_fasta(tmp_path / "iupac.fa", ds.contig, "".join(seq))
    recs = gmscall.call(ds.bam, fa)
    assert all(not (1000 < r["pos"] <= 1010 and len(r["ref"]) == 1 and len(r["alts"][0]) == 1) for r in recs)
    p = gmscall.pileup(str(ds.bam), str(fa), f"{ds.contig}:1001-1010")
    assert bytes(p.ref).decode() == "N" * 10


# ------------------------------------------------------------------ nothing lost, nothing half-written


def test_failure_while_writing_leaves_nothing(ds: synth.Dataset, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from gmscall import vcf

    def boom(contig: str, recs: dict, layout: object) -> list[str]:
        raise KeyboardInterrupt

    monkeypatch.setattr(vcf, "format_records", boom)
    with pytest.raises(KeyboardInterrupt):
        gmscall.call(ds.bam, ds.fasta, output=tmp_path / "x.vcf.gz")
    assert list(tmp_path.iterdir()) == []


def test_failing_shard_fails_the_run(ds: synth.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gmscall import caller

    real = caller.iter_shards

    def failing_map(task, bam, ref, shards, threads=1, client=None):
        def wrapped(session, shard):
            if shard.start >= 3000:
                raise InputError(f"damaged data in shard {shard}")
            return task(session, shard)

        return real(wrapped, bam, ref, shards, threads, client)

    monkeypatch.setattr(caller, "iter_shards", failing_map)
    with pytest.raises(InputError, match="damaged data in shard"):
        gmscall.call(ds.bam, ds.fasta, output=tmp_path / "x.vcf", threads=2, shard_size=1000)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_process_leaves_no_output(ds: synth.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "x.vcf.gz"
    code = ("import signal, sys, gmscall.vcf as v\n"
            "def stop(*a, **k):\n    raise KeyboardInterrupt\n"
            "v.format_records = stop\n"
            "from gmscall.cli import main\nsys.exit(main())")
    proc = subprocess.run([sys.executable, "-c", code, "call", "-f", str(ds.fasta), "-o", str(out), str(ds.bam)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 130, proc.stderr
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ resource bounds


def test_pathological_depth_is_capped(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    ref = "".join(rng.choice(list("ACGT"), 3000))
    fa = ref_fasta(tmp_path / "deep.fa", "chrD", ref)
    segs = [{"pos": 1000, "cigar": "100M", "seq": ref[1000:1100], "name": f"dup{k}"} for k in range(10_000)]
    segs += [{"pos": 500 + k, "cigar": "100M", "seq": ref[500 + k:600 + k], "name": f"n{k}"} for k in range(0, 2000, 10)]
    segs.sort(key=lambda s: s["pos"])
    bam = write_bam(tmp_path / "deep.bam", "chrD", len(ref), segs)
    # The peak of this process's own memory: VmHWM. (ru_maxrss of a child started with vfork holds
    # the parent's peak too: a long pytest run's.)
    code = ("import resource, sys, gmscall\n"
            "p = gmscall.pileup(sys.argv[1], sys.argv[2], 'chrD', max_depth=1000)\n"
            "r = gmscall.call(sys.argv[1], sys.argv[2], output=sys.argv[3])\n"
            "hwm = [ln.split()[1] for ln in open('/proc/self/status') if ln.startswith('VmHWM:')]\n"
            "print(int(p.depth.max()), hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    proc = subprocess.run([sys.executable, "-c", code, str(bam), str(fa), str(tmp_path / "deep.vcf")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    depth, rss_kb = map(int, proc.stdout.split())
    assert depth <= 1500  # the cap holds (approximately: it is decided per 64-bp bin)
    assert rss_kb < 1_000_000, f"peak RSS {rss_kb} KB"


# ------------------------------------------------------------------ fuzz


def test_fuzz_flipped_bytes_never_crash(ds: synth.Dataset, tmp_path: Path) -> None:
    """Random byte flips in a small BAM: the caller exits 0 or 2, never by a signal or a traceback."""
    small = tmp_path / "small.bam"
    pysam.view("-b", "-o", str(small), str(ds.bam), f"{ds.contig}:1-1500", catch_stdout=False)
    pysam.index(str(small))
    clean = small.read_bytes()
    clean_index = Path(str(small) + ".bai").read_bytes()
    rng = np.random.default_rng(2024)
    n_runs = int(os.environ.get("GMSCALL_FUZZ_RUNS", "100"))
    outcomes = []
    peak_kib = 0
    for k in range(n_runs):
        data = bytearray(clean)
        for pos in rng.integers(0, len(data), size=int(rng.integers(1, 6))):
            data[pos] ^= int(rng.integers(1, 256))
        bam = tmp_path / f"fuzz{k}.bam"
        bam.write_bytes(bytes(data))
        # the clean file's index, newer than the damaged BAM: the damage is met while decoding
        Path(str(bam) + ".bai").write_bytes(clean_index)
        code, stderr, rss_kib = run_measured(["call", "-f", str(ds.fasta), "-o", str(tmp_path / f"fuzz{k}.vcf"),
                                              str(bam)], tmp_path / "hwm", timeout=60)
        assert code in (0, 2), (k, code, stderr[-2000:])
        assert "Traceback" not in stderr, stderr
        outcomes.append(code)
        peak_kib = max(peak_kib, rss_kib)
    assert 2 in outcomes  # the damage was noticed at least once
    # A damaged length or count field must not turn into a huge allocation: every run stays small.
    assert peak_kib < 1024 * 1024, f"a fuzzed run peaked at {peak_kib // 1024} MiB"


def test_sigint_mid_run_stops_cleanly(shared_data: Path, tmp_path: Path) -> None:
    """A real Ctrl-C during a multi-shard run: exit 130, no output, no temporary files."""
    import signal
    import time

    d = shared_data / "sim-hg002-chr20-2x150"
    out = tmp_path / "x.vcf.gz"
    # A shell's background job (CI started with `&`) inherits SIGINT ignored, and Python then keeps
    # ignoring it: the child gets the default disposition back, as in a terminal.
    proc = subprocess.Popen([*CLI, "call", "-f", str(d / "ref.fa"), "-r", "chr20:1000001-6000000", "--threads", "2",
                             "--shard-size", "100000", "-o", str(out), str(d / "reads.bam")],
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    # Ctrl-C once the run is writing (its temporary output exists): a fixed delay lands in the
    # interpreter's start-up on a loaded machine, where Python drops the signal in an import lock.
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".x.vcf.gz.*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
