"""The mapping-artefact hypothesis of the germline SNV model (reads of a paralogous copy that the
aligner placed here): a cluster of low-fraction SNVs carried by the same reads is not called, while
a true het whose ALT reads are a minority by chance, and whose ALT reads carry nothing else, is."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

gmscall = pytest.importorskip("gmscall", reason="gmscall is not built/installed")

from benchmark_scripts import load as load_benchmark
from test_robustness import ref_fasta, write_bam

from gmscall import CallOptions

CONTIG = "chrP"
LENGTH = 3_000
READ = 100
DEPTH = 40  # locus reads over every base of [200, 2800)
LOW_HETS = {700: 8, 1000: 10, 1300: 12}  # true hets: ALT reads of 40 (20 %, 25 %, 30 %)
COPY_SITES = (1800, 1806, 1813, 1760, 1850)  # the copy's differences: three within 15 bp, two more
COPY_READS = 9  # reads of the copy over its stretch (about 18 % of the reads there)


def _reference() -> str:
    rng = np.random.default_rng(23)
    return "".join("ACGT"[i] for i in rng.integers(0, 4, LENGTH))


def _other(base: str) -> str:
    return {"A": "C", "C": "G", "G": "T", "T": "A"}[base]


def _read(ref: str, name: str, start: int, edits: dict[int, str], reverse: bool) -> dict:
    seq = list(ref[start : start + READ])
    for pos, b in edits.items():
        if start <= pos < start + READ:
            seq[pos - start] = b
    return {"name": name, "pos": start, "cigar": f"{READ}M", "seq": "".join(seq), "qual": "D" * READ,
            "flag": 16 if reverse else 0}


def _locus_reads(ref: str) -> list[dict]:
    """DEPTH reads over every position of [200, 2800), evenly started; at each low het the first
    LOW_HETS[pos] of the reads that cover it (spread over the read's length) carry the ALT."""
    reads = []
    step = READ / DEPTH
    k = 0
    start = 200.0 - READ
    while start < 2800:
        s = int(start)
        edits = {}
        for pos, n_alt in LOW_HETS.items():
            if s <= pos < s + READ:
                offset = pos - s  # 0..99: reads covering pos in order
                slot = int(offset / step)  # 0..DEPTH-1
                if slot % (DEPTH // n_alt) == 0 and slot // (DEPTH // n_alt) < n_alt:
                    edits[pos] = _other(ref[pos])
        if s >= 0:
            reads.append(_read(ref, f"l{k}", s, edits, reverse=k % 2 == 1))
        k += 1
        start += step
    return reads


def _copy_reads(ref: str) -> list[dict]:
    """COPY_READS reads of a diverged copy of [1700, 1900) that carry every copy difference they cover."""
    edits = {p: _other(ref[p]) for p in COPY_SITES}
    return [_read(ref, f"c{k}", 1745 + (k * 7) % 40, edits, reverse=k % 2 == 0) for k in range(COPY_READS)]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("paralog")
    ref = _reference()
    reads = sorted(_locus_reads(ref) + _copy_reads(ref), key=lambda r: (r["pos"], r["name"]))
    return write_bam(root / "reads.bam", CONTIG, LENGTH, reads), ref_fasta(root / "ref.fa", CONTIG, ref)


def _calls(path: Path) -> dict[int, str]:
    out = {}
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            gt = f[9].split(":")[0].replace("|", "/")
            if f[4] != "<NON_REF>" and gt not in ("0/0", "./."):
                out[int(f[1]) - 1] = gt
    return out


def test_the_data_has_the_shapes_it_claims(data: tuple[Path, Path]) -> None:
    import pysam

    bam, _ = data
    with pysam.AlignmentFile(str(bam)) as f:
        for pos, n_alt in LOW_HETS.items():
            col = f.count_coverage(CONTIG, pos, pos + 1, quality_threshold=0)
            counts = sorted((c[0] for c in col), reverse=True)
            assert counts[0] + counts[1] == DEPTH and counts[1] == n_alt, (pos, counts)
        for pos in COPY_SITES[:3]:
            col = f.count_coverage(CONTIG, pos, pos + 1, quality_threshold=0)
            counts = sorted((c[0] for c in col), reverse=True)
            assert 0.12 < counts[1] / sum(counts) < 0.3, (pos, counts)


def test_a_paralog_cluster_is_not_called_while_low_fraction_hets_are(data: tuple[Path, Path], tmp_path: Path) -> None:
    bam, fasta = data
    calls = _calls(gmscall.call(bam, fasta, output=tmp_path / "c.vcf", command="x"))
    assert {p: calls.get(p) for p in LOW_HETS} == dict.fromkeys(LOW_HETS, "0/1")
    assert not set(calls) & set(COPY_SITES), calls


def test_without_the_hypothesis_the_cluster_is_called(data: tuple[Path, Path], tmp_path: Path) -> None:
    """The test above can fail: the same reads without the artefact hypothesis call the cluster."""
    bam, fasta = data
    calls = _calls(gmscall.call(bam, fasta, output=tmp_path / "c.vcf", command="x",
                                options=CallOptions(paralog_prior=0.0)))
    assert set(COPY_SITES[:3]) <= set(calls), calls
    assert all(calls.get(p) == "0/1" for p in LOW_HETS)


def test_the_gvcf_carries_the_hypothesis_to_genotyping(data: tuple[Path, Path], tmp_path: Path) -> None:
    """The artefact is part of the hom-REF likelihood, so the gVCF's records hold it: genotyping the
    gVCF gives the call's records."""
    bam, fasta = data
    g = gmscall.call(bam, fasta, output=tmp_path / "s.g.vcf.gz", command="x", options=CallOptions(gvcf=True))
    gvcf_calls = _calls(g)
    assert not set(gvcf_calls) & set(COPY_SITES)
    out = gmscall.genotype_gvcfs([g], fasta, output=tmp_path / "j.vcf.gz", command="x")
    assert _calls(out) == _calls(gmscall.call(bam, fasta, output=tmp_path / "c.vcf", command="x"))


def test_paralog_options_are_checked() -> None:
    from gmscall.errors import InputError

    for bad in ({"paralog_prior": -1e-4}, {"paralog_prior": 1.0}, {"paralog_alpha": 0.0}, {"paralog_beta": -1.0}):
        with pytest.raises(InputError):
            CallOptions(**bad)


def test_simulated_paralogous_copies() -> None:
    """simulate_set.py --paralogs: each copy is a segment of the region with its share of bases
    substituted (none to N), placed inside it, the same for the same seed."""
    import random

    simulate_set = load_benchmark("simulate_set")
    seq = _reference() * 4
    copies = simulate_set.paralog_copies(seq, 30, random.Random(5))
    assert copies == simulate_set.paralog_copies(seq, 30, random.Random(5))
    lo, hi = simulate_set.PARALOG_LENGTH
    dlo, dhi = simulate_set.PARALOG_DIVERGENCE
    for start, end, divergence, copy in copies:
        assert lo <= end - start <= hi and 0 <= start and end <= len(seq) and len(copy) == end - start
        assert dlo <= divergence <= dhi
        diffs = sum(a != b for a, b in zip(seq[start:end], copy))
        assert diffs == round(divergence * (end - start))
        assert set(copy) <= set("ACGT")


def test_cli_options(data: tuple[Path, Path], tmp_path: Path) -> None:
    """--no-paralog-model calls the cluster, --paralog-prior out of range is one line, exit 2."""
    import subprocess
    import sys

    bam, fasta = data
    run = [sys.executable, "-m", "gmscall.cli", "call", "-f", str(fasta), str(bam)]
    p = subprocess.run([*run, "--no-paralog-model", "-o", str(tmp_path / "c.vcf")], capture_output=True, text=True,
                       check=False)
    assert p.returncode == 0, p.stderr
    assert set(COPY_SITES[:3]) <= set(_calls(tmp_path / "c.vcf"))
    p = subprocess.run([*run, "--paralog-prior", "2", "-o", str(tmp_path / "d.vcf")], capture_output=True, text=True,
                       check=False)
    assert p.returncode == 2 and p.stderr.strip().count("\n") == 0 and "paralog_prior" in p.stderr, p.stderr
