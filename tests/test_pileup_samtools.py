"""Pileup counts against samtools mpileup (the reference implementation).

* the oracle (tests/oracle.py) against samtools on synthetic data: validates the oracle itself;
* ``gmscall pileup`` (CLI) against samtools on the synthetic BAM and on every BAM of
  ../shared/data/datasets.tsv.

samtools is run as ``mpileup -A -x -B -d 0 --ff UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY -Q 13 -q 0``
(keep anomalous pairs, no overlap adjustment, no BAQ, no depth cap, gmscall's read filters), so
that its bases column holds exactly the entries gmscall counts.  Per position we compare A, C, G,
T, N (every other letter), del (``*`` and ``#``), ins (``+`` markers) and, for the oracle, the
deletion events (``-`` markers).  Ref skips (``>``/``<``) are ignored.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import oracle
import pytest

SAMTOOLS = shutil.which("samtools")
needs_samtools = pytest.mark.skipif(SAMTOOLS is None, reason="samtools not found on PATH")

FILTERS = "UNMAP,SECONDARY,QCFAIL,DUP,SUPPLEMENTARY"
# columns of the parsed arrays
COLS = ("A", "C", "G", "T", "N", "del", "ins", "dels")
_REF_INDEX = {"A": 0, "C": 1, "G": 2, "T": 3}
_CARET = re.compile(r"\^.", re.DOTALL)  # read start + MAPQ character (which may be any of .,+-*$...)
_INDEL = re.compile(r"[+-](\d+)")


def parse_bases(bases: str, ref_base: str) -> tuple[int, int, int, int, int, int, int, int]:
    """Counts (A, C, G, T, N, del, ins, dels) of one mpileup bases column; ``dels`` are ``-``
    markers (deletion events)."""
    if "^" in bases:
        bases = _CARET.sub("", bases)
    n_ins = bases.count("+")
    n_dels = bases.count("-")
    if n_ins or n_dels:
        parts = []
        i = 0
        for m in _INDEL.finditer(bases):
            if m.start() < i:
                continue
            parts.append(bases[i : m.start()])
            i = m.end() + int(m.group(1))
        parts.append(bases[i:])
        bases = "".join(parts)
    b = bases.upper()
    a, c, g, t = b.count("A"), b.count("C"), b.count("G"), b.count("T")
    dots = b.count(".") + b.count(",")
    dl = b.count("*") + b.count("#")
    other = b.count(">") + b.count("<") + b.count("$")
    n = len(b) - a - c - g - t - dots - dl - other
    out = [a, c, g, t, n, dl, n_ins, n_dels]
    out[_REF_INDEX.get(ref_base.upper(), 4)] += dots
    return out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7]


def _parse_region(region: str) -> tuple[str, int, int]:
    contig, _, span = region.rpartition(":")
    beg, _, end = span.replace(",", "").partition("-")
    return contig, int(beg) - 1, int(end)


def samtools_counts(bam: Path, ref: Path, region: str, *, min_bq: int = 13, overlaps: bool = False) -> tuple:
    """Run samtools mpileup on ``region`` ('contig:start-end'); returns (start, printed[n] bool,
    counts[n, 8] int32 in COLS order), streaming samtools' output."""
    _, start, end = _parse_region(region)
    n = end - start
    counts = np.zeros((n, len(COLS)), dtype=np.int32)
    printed = np.zeros(n, dtype=bool)
    cmd = [SAMTOOLS, "mpileup", "-A", "-B", "-d", "0", "--ff", FILTERS, "-Q", str(min_bq), "-q", "0"]
    if not overlaps:
        cmd.append("-x")
    cmd += ["-f", str(ref), "-r", region, str(bam)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1 << 20)
    assert proc.stdout is not None
    for line in proc.stdout:
        f = line.split("\t", 6)
        i = int(f[1]) - 1 - start
        printed[i] = True
        if f[3] != "0":
            counts[i] = parse_bases(f[4], f[2])
    err = proc.stderr.read() if proc.stderr else ""
    assert proc.wait() == 0, f"samtools failed: {err}"
    return start, printed, counts


def oracle_counts(p: oracle.OraclePileup) -> np.ndarray:
    out = np.zeros((p.end - p.start, len(COLS)), dtype=np.int64)
    out[:, :5] = p.counts[:, :, :5].sum(axis=1)
    out[:, 5] = p.counts[:, :, 5].sum(axis=1)
    out[:, 6] = p.ins.sum(axis=1)
    out[:, 7] = p.del_start.sum(axis=1)
    return out


def assert_counts_equal(
    got: np.ndarray, want: np.ndarray, start: int, cols: tuple[str, ...], what: str
) -> None:
    idx = [COLS.index(c) for c in cols]
    g, w = got[:, idx], want[:, idx]
    bad = np.flatnonzero((g != w).any(axis=1))
    if bad.size:
        rows = "\n".join(
            f"  pos {start + int(i) + 1}: got {dict(zip(cols, g[i].tolist()))} want {dict(zip(cols, w[i].tolist()))}"
            for i in bad[:8]
        )
        raise AssertionError(f"{what}: {bad.size} positions differ (1-based; 'want' = samtools)\n{rows}")


# --------------------------------------------------------------------------------------------
# the oracle against samtools


def test_parse_bases() -> None:
    # ^ followed by MAPQ chars that look like markers ('+' = 10, '-' = 12, '*' = 9, '.' = 13)
    assert parse_bases("^+.^-,^*A^.a$", "C") == (2, 2, 0, 0, 0, 0, 0, 0)
    assert parse_bases(".+2AC,-3acg*#>N<n", "g") == (0, 0, 2, 0, 2, 2, 1, 1)
    assert parse_bases("R.+12ACGTACGTACGT", "N") == (0, 0, 0, 0, 2, 0, 1, 0)


@needs_samtools
@pytest.mark.parametrize("min_bq", [13, 0, 30])
def test_oracle_vs_samtools_no_overlap(synth_dataset, min_bq: int) -> None:
    ds = synth_dataset
    start, printed, want = samtools_counts(ds.bam, ds.fasta, ds.region, min_bq=min_bq)
    p = oracle.pileup(ds.bam, ds.fasta, ds.region, min_bq=min_bq, overlaps=False)
    got = oracle_counts(p)
    assert_counts_equal(got, want, start, COLS, f"oracle vs samtools -x -Q {min_bq}")
    assert not got[~printed].any(), "oracle counts where samtools prints nothing"


@needs_samtools
def test_oracle_vs_samtools_overlap(synth_dataset) -> None:
    """Without -x samtools applies htslib's tweak_overlap_quality, the model of the oracle's
    overlap rule (with min_bq >= 1 a quality-0 base is dropped in both).  Left out of the check:
    * DEL counts: htslib filters a deletion by the tweaked quality of the next base, the oracle
      by its raw quality (deletions are "counted normally" in gmscall's overlap rule);
    * strands, and positions where mates have different bases of equal quality: in htslib 1.16
      which mate plays 'a' (gets the summed quality, wins ties) was seen to depend on the read
      name (hash order), not on the start position; gmscall's rule (smaller start, then READ1)
      is deterministic.  Strand-summed base counts do not depend on the roles elsewhere."""
    ds = synth_dataset
    start, _, want = samtools_counts(ds.bam, ds.fasta, ds.region, min_bq=13, overlaps=True)
    ties: list[int] = []
    p = oracle.pileup(ds.bam, ds.fasta, ds.region, min_bq=13, overlaps=True, overlap_ties=ties)
    got = oracle_counts(p)
    assert ties, "expected some equal-quality mismatches between mates in the synthetic data"
    mask = np.ones(len(got), dtype=bool)
    mask[np.asarray(ties) - start] = False
    cols = ("A", "C", "G", "T", "N", "ins", "dels")
    assert_counts_equal(got[mask], want[mask], start, cols, "oracle vs samtools (overlaps)")
    # and the adjustment did something on this data
    plain = oracle_counts(oracle.pileup(ds.bam, ds.fasta, ds.region, min_bq=13, overlaps=False))
    assert plain[:, :5].sum() > got[:, :5].sum()


@needs_samtools
@pytest.mark.parametrize("min_bq", [13, 0])
def test_oracle_vs_samtools_weird_cigars(weird_bam, min_bq: int) -> None:
    bam, fasta, contig, length = weird_bam
    region = f"{contig}:1-{length}"
    start, printed, want = samtools_counts(bam, fasta, region, min_bq=min_bq)
    got = oracle_counts(oracle.pileup(bam, fasta, region, min_bq=min_bq, overlaps=False))
    assert_counts_equal(got, want, start, COLS, f"oracle vs samtools on odd CIGARs, -Q {min_bq}")
    assert not got[~printed].any()


# --------------------------------------------------------------------------------------------
# gmscall pileup (CLI) against samtools


def _gmscall_cmd() -> list[str]:
    return [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]


def gmscall_counts(bam: Path, ref: Path, region: str, tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Run ``gmscall pileup``; returns (depth[n], counts[n, 8] in COLS order; dels unused)."""
    contig, start, end = _parse_region(region)
    n = end - start
    out = tmp_path / f"gmscall.{bam.stem}.tsv"
    cmd = [*_gmscall_cmd(), "pileup", "-f", str(ref), "-r", region, "--keep-overlaps", "--min-BQ", "13"]
    cmd += ["--min-MQ", "0", str(bam)]
    with open(out, "w") as fh:
        res = subprocess.run(cmd, check=False, stdout=fh, stderr=subprocess.PIPE, text=True)
    assert res.returncode == 0, f"gmscall pileup failed ({res.returncode}): {res.stderr[-2000:]}"
    depth = np.zeros(n, dtype=np.int64)
    counts = np.zeros((n, len(COLS)), dtype=np.int32)
    with open(out) as fh:
        first = fh.readline()
        assert first.startswith("#"), f"gmscall pileup: no header line: {first[:200]!r}"
        for line in fh:
            f = line.rstrip("\n").split("\t")
            assert f[0] == contig, line
            i = int(f[1]) - 1 - start
            assert 0 <= i < n, f"position outside the region: {line}"
            depth[i] = int(f[3])
            counts[i, :7] = [int(x) for x in f[4:11]]
    return depth, counts


def _compare_cli(bam: Path, ref: Path, region: str, tmp_path: Path) -> None:
    pytest.importorskip("gmscall")
    start, printed, want = samtools_counts(bam, ref, region, min_bq=13)
    depth, got = gmscall_counts(bam, ref, region, tmp_path)
    cols = ("A", "C", "G", "T", "N", "del", "ins")
    what = f"gmscall pileup vs samtools mpileup: {bam.name} {region}"
    assert want[:, :5].sum() > 0, f"{what}: samtools counted nothing"
    got[~printed] = 0  # compared below through depth
    assert_counts_equal(got, want, start, cols, what)
    assert not depth[~printed].any(), (
        f"{what}: depth > 0 where samtools prints nothing, e.g. 1-based "
        f"{(start + np.flatnonzero(depth * ~printed)[:5] + 1).tolist()}"
    )
    np.testing.assert_array_equal(depth[printed], want[printed, :6].sum(axis=1), err_msg=f"{what}: depth")


def _datasets(shared: Path) -> Iterator[tuple[str, Path, Path, str]]:
    with open(shared / "datasets.tsv") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            for b in row["bams"].split(","):
                yield row["name"], shared / b, shared / row["ref"], row["region"]


@needs_samtools
def test_cli_vs_samtools_synthetic(synth_dataset, tmp_path: Path) -> None:
    ds = synth_dataset
    _compare_cli(ds.bam, ds.fasta, ds.region, tmp_path)


@needs_samtools
def test_cli_vs_samtools_long_reads(tmp_path: Path) -> None:
    """Reads of 10-30 kb across `gmscall pileup`'s 8-kb counting windows (each window visits a read
    over the window only)."""
    synth = pytest.importorskip("gmscall.synth")
    ds = synth.make_long_read_dataset(tmp_path, length=40_000, depth=8, seed=11, platform="HIFI")
    _compare_cli(ds.bam, ds.fasta, f"{ds.contig}:15001-27000", tmp_path)


@needs_samtools
@pytest.mark.slow
def test_cli_vs_samtools_shared_data(shared_data: Path, tmp_path: Path) -> None:
    """Every BAM of ../shared/data (the 5 Mb simulated set takes a minute or two)."""
    pytest.importorskip("gmscall")
    for _name, bam, ref, region in _datasets(shared_data):
        _compare_cli(bam, ref, region, tmp_path)
