"""The gmscall command line, run in a fresh interpreter as a user would: exit codes, messages,
outputs."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pysam
import pytest
from conftest import run_cli

gmscall = pytest.importorskip("gmscall", reason="gmscall is not built/installed")


def body(text: str) -> list[str]:
    return [x for x in text.splitlines() if not x.startswith("##gmscallCommand=")]


def read_vcf(path: Path) -> str:
    if str(path).endswith(".gz"):
        with pysam.BGZFile(str(path), "rb") as fh:
            return fh.read().decode()
    return path.read_text()


def assert_user_error(proc, pattern: str) -> None:
    """Exit status 2 and exactly one line on stderr, 'gmscall: error: ...', no traceback."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gmscall: error: ") and "Traceback" not in proc.stderr, proc.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert proc.stdout == "", proc.stdout[:300]


# --------------------------------------------------------------------------------------------
# version and info


def test_version() -> None:
    p = run_cli("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"gmscall {gmscall.__version__}", p


def test_info_reports_cuda_state() -> None:
    p = run_cli("info")
    assert p.returncode == 0, p.stderr
    d = gmscall.info()
    lines = p.stdout.splitlines()
    assert lines[0] == f"gmscall {d['version']}" and lines[1] == f"htslib {d['htslib']}"
    assert re.search(r"^CUDA backend: (compiled \(runtime .+\)|not compiled)$", p.stdout, re.MULTILINE), p.stdout
    assert ("not compiled" in p.stdout) == (not d["cuda_compiled"])
    if d["cuda_devices"]:
        assert f"CUDA devices: {len(d['cuda_devices'])}" in p.stdout
    else:
        assert "CUDA devices: none found (the CPU backend will be used)" in p.stdout


def test_no_command_is_a_usage_error() -> None:
    p = run_cli()
    assert p.returncode == 2 and "usage: gmscall" in p.stderr and "Traceback" not in p.stderr


# --------------------------------------------------------------------------------------------
# call


def test_call_to_vcf_gz(synth_dataset, tmp_path: Path) -> None:
    ds = synth_dataset
    out = tmp_path / "calls.vcf.gz"
    p = run_cli("call", "-f", ds.fasta, "-o", out, "--threads", 2, "--shard-size", 7000, ds.bam)
    assert p.returncode == 0 and p.stdout == "", p.stderr
    assert sorted(os.listdir(tmp_path)) == ["calls.vcf.gz", "calls.vcf.gz.tbi"]
    text = read_vcf(out)
    assert f"##gmscallCommand=gmscall call -f {ds.fasta} -o {out} --threads 2 --shard-size 7000 {ds.bam}" in text
    assert "##gmscallBackend=cpu" in text or "##gmscallBackend=cuda" in text
    api = gmscall.call(ds.bam, ds.fasta, output=tmp_path / "api.vcf")
    assert body(text) == body((tmp_path / "api.vcf").read_text())
    with pysam.VariantFile(str(out)) as vf:
        assert len(list(vf.fetch(ds.contig, 0, 10_000))) > 10
    assert api.exists()


def test_call_to_stdout(synth_dataset, tmp_path: Path) -> None:
    ds = synth_dataset
    region = f"{ds.contig}:2,001-9,000"
    p = run_cli("call", "-f", ds.fasta, "-r", region, ds.bam)  # -o defaults to '-'
    assert p.returncode == 0, p.stderr
    q = run_cli("call", "-f", ds.fasta, "-r", region, "-o", "-", ds.bam)
    assert q.returncode == 0 and body(q.stdout) == body(p.stdout)
    gmscall.call(ds.bam, ds.fasta, region, output=tmp_path / "api.vcf")
    assert body(p.stdout) == body((tmp_path / "api.vcf").read_text())
    recs = [x.split("\t") for x in p.stdout.splitlines() if not x.startswith("#")]
    assert recs and all(2_001 <= int(f[1]) <= 9_000 for f in recs)
    assert os.listdir(tmp_path) == ["api.vcf"]


def test_call_with_bed_and_repeated_regions(synth_dataset, tmp_path: Path) -> None:
    ds = synth_dataset
    bed = tmp_path / "r.bed"
    bed.write_text(f"{ds.contig}\t12000\t16000\n{ds.contig}\t1000\t5000\n{ds.contig}\t4000\t6000\n")
    p = run_cli("call", "-f", ds.fasta, "-R", bed, ds.bam)
    assert p.returncode == 0, p.stderr
    pos = [int(x.split("\t")[1]) for x in p.stdout.splitlines() if not x.startswith("#")]
    assert pos and all(1_000 < x <= 6_000 or 12_000 < x <= 16_000 for x in pos)
    assert any(x > 12_000 for x in pos) and pos == sorted(pos)
    q = run_cli("call", "-f", ds.fasta, "-r", f"{ds.contig}:12001-16000", "-r", f"{ds.contig}:1001-6000", ds.bam)
    assert q.returncode == 0 and body(q.stdout) == body(p.stdout)
    api = gmscall.call(ds.bam, ds.fasta, bed=bed)
    assert [r["pos"] for r in api] == pos


# --------------------------------------------------------------------------------------------
# user errors: exit 2, one line


def test_missing_bam(synth_dataset, tmp_path: Path) -> None:
    p = run_cli("call", "-f", synth_dataset.fasta, tmp_path / "none.bam")
    assert_user_error(p, r"none\.bam.*not found")


def test_missing_fasta(synth_dataset, tmp_path: Path) -> None:
    p = run_cli("call", "-f", tmp_path / "none.fa", synth_dataset.bam)
    assert_user_error(p, r"none\.fa.*not found")


def test_missing_fasta_index_is_built(synth_dataset, tmp_path: Path) -> None:
    """No .fai beside a FASTA in a writable folder: gmscall indexes it (as samtools does)."""
    fasta = tmp_path / "ref.fa"
    shutil.copy(synth_dataset.fasta, fasta)
    p = run_cli("call", "-f", fasta, "-r", f"{synth_dataset.contig}:1-3000", synth_dataset.bam)
    assert p.returncode == 0 and "#CHROM" in p.stdout, p.stderr
    assert (tmp_path / "ref.fa.fai").read_text() == Path(str(synth_dataset.fasta) + ".fai").read_text()


def test_stale_fasta_index(synth_dataset, tmp_path: Path) -> None:
    fasta = tmp_path / "ref.fa"
    shutil.copy(synth_dataset.fasta, fasta)
    shutil.copy(str(synth_dataset.fasta) + ".fai", str(fasta) + ".fai")
    old = time.time() - 3600
    os.utime(str(fasta) + ".fai", (old, old))
    p = run_cli("call", "-f", fasta, synth_dataset.bam)
    assert_user_error(p, r"ref\.fa\.fai is older than the FASTA.*samtools faidx")


def test_missing_bam_index(synth_dataset, tmp_path: Path) -> None:
    bam = tmp_path / "reads.bam"
    shutil.copy(synth_dataset.bam, bam)
    p = run_cli("call", "-f", synth_dataset.fasta, bam)
    assert_user_error(p, r"reads\.bam: no index.*samtools index")


def test_truncated_bam(synth_dataset, tmp_path: Path) -> None:
    bam = tmp_path / "reads.bam"
    data = Path(synth_dataset.bam).read_bytes()
    bam.write_bytes(data[: len(data) // 2])
    shutil.copy(str(synth_dataset.bam) + ".bai", str(bam) + ".bai")
    p = run_cli("call", "-f", synth_dataset.fasta, bam)
    assert_user_error(p, r"reads\.bam.*truncated")


@pytest.mark.parametrize(
    ("regions", "pattern"),
    [
        (["chrQ:1-100"], r"region 'chrQ:1-100': contig 'chrQ' is not in both"),
        (["S:1-100"], r"did you mean 'chrS'"),
        (["chrS:500-100"], r"start 500 is after end 100"),
        (["chrS:1-20001"], r"past the end of chrS"),
        (["chrS:1-100", "chrS:x-y"], r"region 'chrS:x-y': expected CONTIG"),
    ],
)
def test_bad_region(synth_dataset, tmp_path: Path, regions: list[str], pattern: str) -> None:
    args = [a for r in regions for a in ("-r", r)]
    out = tmp_path / "c.vcf.gz"
    p = run_cli("call", "-f", synth_dataset.fasta, *args, "-o", out, synth_dataset.bam)
    assert_user_error(p, pattern)
    assert os.listdir(tmp_path) == []


def test_bad_bed_line(synth_dataset, tmp_path: Path) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("chrS\t0\t100\nchrS\t500\n")
    p = run_cli("call", "-f", synth_dataset.fasta, "-R", bed, synth_dataset.bam)
    assert_user_error(p, r"r\.bed:2: a BED line needs CONTIG START END")


def test_regions_and_bed_together(synth_dataset, tmp_path: Path) -> None:
    bed = tmp_path / "r.bed"
    bed.write_text("chrS\t0\t100\n")
    p = run_cli("call", "-f", synth_dataset.fasta, "-R", bed, "-r", "chrS:1-10", synth_dataset.bam)
    assert_user_error(p, r"not both")


def test_output_folder_missing(synth_dataset, tmp_path: Path) -> None:
    p = run_cli("call", "-f", synth_dataset.fasta, "-o", tmp_path / "no" / "c.vcf", synth_dataset.bam)
    assert_user_error(p, r"output folder .* does not exist")


def test_cuda_backend_without_gpu(synth_dataset) -> None:
    if gmscall.info()["cuda_devices"]:
        pytest.skip("a CUDA device is present")
    p = run_cli("call", "-f", synth_dataset.fasta, "--backend", "cuda", "-r", "chrS:1-1000", synth_dataset.bam)
    assert_user_error(p, r"backend 'cuda' requested but (no CUDA device is visible|it was built without CUDA)"
                         r".*--backend cpu")


def test_bad_shard_size(synth_dataset) -> None:
    p = run_cli("call", "-f", synth_dataset.fasta, "--shard-size", "0", synth_dataset.bam)
    assert_user_error(p, r"shard size must be >= 1")


# --------------------------------------------------------------------------------------------
# demo and eval


def _table(text: str) -> dict[tuple[str, str], tuple[float, float, float]]:
    """'type level TP FP FN recall precision F1' rows -> {(type, level): (recall, precision, F1)}."""
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) == 8 and f[0] in ("SNV", "INDEL", "ALL") and f[1] in ("allele", "GT"):
            rows[f[0], f[1]] = (float(f[5]), float(f[6]), float(f[7]))
    return rows


def test_demo(tmp_path: Path) -> None:
    p = run_cli("demo", "--length", 20_000, "--threads", 1, "--seed", 2, "--out", tmp_path)
    assert p.returncode == 0, p.stderr
    assert re.search(r"^type\s+level\s+TP\s+FP\s+FN\s+recall\s+precision\s+F1$", p.stdout, re.MULTILINE), p.stdout
    rows = _table(p.stdout)
    assert set(rows) == {(t, lv) for t in ("SNV", "INDEL", "ALL") for lv in ("allele", "GT")}, p.stdout
    # measured: 1.0 everywhere (20 kb, seed 2, 30x)
    assert all(v >= 0.9 for row in rows.values() for v in row), p.stdout
    assert {"ref.fa", "reads.bam", "truth.vcf.gz", "calls.vcf.gz", "calls.vcf.gz.tbi"} <= set(os.listdir(tmp_path))


def test_eval_truth_against_itself(synth_dataset, tmp_path: Path) -> None:
    ds = synth_dataset
    js = tmp_path / "e.json"
    p = run_cli("eval", "--truth", ds.truth_vcf, "--calls", ds.truth_vcf, "--ref", ds.fasta, "--json", js)
    assert p.returncode == 0, p.stderr
    rows = _table(p.stdout)
    assert rows and all(row == (1.0, 1.0, 1.0) for row in rows.values()), p.stdout
    d = json.loads(js.read_text())
    for level in ("allele", "genotype"):
        for t in ("SNV", "INDEL"):
            c = d[level][t]
            assert c["f1"] == 1.0 and c["fp"] == c["fn"] == 0 and c["tp"] > 10, (level, t, c)


def test_eval_calls(synth_dataset, tmp_path: Path) -> None:
    ds = synth_dataset
    calls = gmscall.call(ds.bam, ds.fasta, output=tmp_path / "c.vcf.gz")
    p = run_cli("eval", "--truth", ds.truth_vcf, "--calls", calls, "-f", ds.fasta)
    assert p.returncode == 0, p.stderr
    rows = _table(p.stdout)
    assert rows["SNV", "GT"][2] >= 0.98 and rows["INDEL", "GT"][2] >= 0.95, p.stdout


def test_eval_missing_file(synth_dataset, tmp_path: Path) -> None:
    p = run_cli("eval", "--truth", tmp_path / "none.vcf.gz", "--calls", synth_dataset.truth_vcf,
                "--ref", synth_dataset.fasta)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "none.vcf.gz" in p.stderr, p.stderr
