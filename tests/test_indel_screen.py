"""The indel screen (issue #19): haplotype windows whose one-unit indels the learnt error model
explains open no pair-HMM job, and the calls stay those of aligning every window."""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import synth

from gmscall import CallOptions, _core, call
from gmscall.error_model import (
    ErrorModel,
    allele_error_tables,
    learn_error_model,
    parse_header_line,
)
from gmscall.errors import InputError
from gmscall.regions import Region

SCREEN_LINE = re.compile(r"indel screen: (\d+) of (\d+) haplotype windows")


@pytest.fixture(scope="module")
def hifi(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """80 kb of 30x HiFi-like reads with 40 planted indels (a third in homopolymers) and no SNVs."""
    return synth.make_long_read_dataset(tmp_path_factory.mktemp("screen"), length=80_000, depth=30, seed=7,
                                        platform="HIFI", n_snv=0, n_indel=40)


def _body(path: Path) -> list[str]:
    import gzip

    with gzip.open(path, "rt") as fh:
        return [x for x in fh if not x.startswith("##")]


def _call_counted(ds: synth.Dataset, out: Path, caplog: pytest.LogCaptureFixture, region: str | None = None,
                  **opts: object) -> tuple[list[str], int, int]:
    """The VCF body and the screen's (left out, windows) of one call."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gmscall"):
        call(str(ds.bam), str(ds.fasta), region, output=out, options=CallOptions(**opts))  # type: ignore[arg-type]
    hits = [SCREEN_LINE.search(r.getMessage()) for r in caplog.records]
    m = next((h for h in hits if h), None)
    return _body(out), (int(m.group(1)) if m else -1), (int(m.group(2)) if m else -1)


def test_screen_qual_weighs_counts_against_the_rate() -> None:
    het, hom = 1.25e-4, 6.25e-5
    # a few reads of 30 at a tract where 1 % of reads show this allele by error: explained
    assert _core.screen_qual(2, 30, 0.01, het, hom) < 3.0
    # half of the reads: a het, whatever the tract's error rate
    assert _core.screen_qual(15, 30, 0.01, het, hom) > 50.0
    assert _core.screen_qual(12, 24, 0.126, het * 30, hom * 30) > 10.0
    # the same count means less where the tract errs more
    assert _core.screen_qual(6, 30, 0.05, het, hom) < _core.screen_qual(6, 30, 0.01, het, hom)
    # more carriers, more QUAL; none, none
    q = [_core.screen_qual(k, 30, 0.02, het, hom) for k in range(16)]
    assert q[0] == 0.0 and all(a <= b for a, b in zip(q, q[1:]))


def test_screen_keeps_the_calls_and_leaves_out_error_windows(hifi: synth.Dataset, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    on, left_out, windows = _call_counted(hifi, tmp_path / "on.vcf.gz", caplog)
    off, off_left, _ = _call_counted(hifi, tmp_path / "off.vcf.gz", caplog, indel_screen_qual=0.0)
    assert on == off  # the same records, bytes and all
    assert off_left == -1  # screen off: no screen line
    assert windows > 0 and left_out >= windows // 2, (left_out, windows)
    # planted indels in homopolymers are still called (the screen keeps their windows)
    called = {(int(x.split("\t")[1]), x.split("\t")[3], x.split("\t")[4]) for x in on if not x.startswith("#")}
    hp = [v for v in hifi.truth if v.kind in ("ins", "del") and len(v.alts) == 1 and _in_homopolymer(hifi, v)]
    assert hp and all((v.pos + 1, v.ref, v.alt) in called for v in hp), hp


def _in_homopolymer(ds: synth.Dataset, v: synth.Variant) -> bool:
    ref = ds.reference.upper
    after = ref[v.pos + 1 : v.pos + 5]
    return len(set(after)) == 1


def test_error_only_stretch_opens_no_window(hifi: synth.Dataset, tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    """Between planted indels the reads' homopolymer slips make windows; they write nothing, and
    the screen leaves out all but a few (at homopolymers of 14 bases or more, where the gap-open
    floor clips the model's rate, the counts of a window can look like a het's and it is aligned)."""
    starts = sorted(v.pos for v in hifi.truth)
    gaps = [(a + 300, b - 300) for a, b in zip(starts, starts[1:]) if b - a > 3_000]
    assert gaps
    a, b = max(gaps, key=lambda g: g[1] - g[0])
    body, left_out, windows = _call_counted(hifi, tmp_path / "gap.vcf.gz", caplog, f"{hifi.contig}:{a}-{b}")
    assert [x for x in body if not x.startswith("#")] == []
    assert windows >= 10 and left_out >= windows - windows // 10, (a, b, left_out, windows)


def test_joint_calls_keep_their_records(hifi: synth.Dataset, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    """A second HiFi sample of the same genome, called jointly: a window is left out only where each
    sample's reads are explained by its own model (the QUALs of the samples add up); the records
    are those of no screen. (With a short-read sample in the cohort, local assembly runs and its
    windows, seeded with assembled haplotypes, are all aligned.)"""
    reads = synth.simulate_long_reads(hifi.haplotypes, 11, 30, platform="HIFI", read_group="LR2")
    other = synth.write_bam(tmp_path / "other.bam", reads, hifi.reference, sample="OTHER", read_groups=("LR2",),
                            platform="PACBIO")
    bams = [str(hifi.bam), str(other)]

    def joint(out: Path, q: float) -> tuple[list[str], int]:
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="gmscall"):
            call(bams, str(hifi.fasta), output=out, options=CallOptions(indel_screen_qual=q))
        m = next((h for h in (SCREEN_LINE.search(r.getMessage()) for r in caplog.records) if h), None)
        return _body(out), int(m.group(1)) if m else -1

    on, left_out = joint(tmp_path / "on.vcf.gz", CallOptions.indel_screen_qual)
    off, _ = joint(tmp_path / "off.vcf.gz", 0.0)
    assert on == off and left_out > 0


def test_same_bytes_for_any_shard_size_and_threads(hifi: synth.Dataset, tmp_path: Path) -> None:
    one = call(str(hifi.bam), str(hifi.fasta), output=tmp_path / "a.vcf.gz")
    two = call(str(hifi.bam), str(hifi.fasta), output=tmp_path / "b.vcf.gz", threads=2, shard_size=7_000)
    assert _body(one) == _body(two)


def test_no_screen_in_a_gvcf(hifi: synth.Dataset, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A gVCF keeps every window's likelihoods (cohort genotyping weighs them)."""
    _, left_out, _ = _call_counted(hifi, tmp_path / "g.g.vcf.gz", caplog, gvcf=True)
    assert left_out == -1
    p = dataclasses.replace(CallOptions(allele_error_tables=((0.0,) * 189,)), gvcf=True).to_core()
    assert p.indel_screen_qual == 0.0 and p.allele_error_tables == []
    # never above min_qual: with every record asked for (min_qual 0), every window is aligned
    assert CallOptions(allele_error_tables=((0.0,) * 189,), min_qual=0.0).to_core().indel_screen_qual == 0.0


def test_tables_from_the_models(hifi: synth.Dataset) -> None:
    (m,) = learn_error_model(str(hifi.bam), str(hifi.fasta), [Region(hifi.contig, 0, 80_000)])
    (t,) = allele_error_tables([m], [hifi.sample])
    p1 = [t[1 * 21 + u] for u in range(1, 21)]
    assert all(0 < x < 0.5 for x in p1) and p1[-1] > 10 * p1[1]  # longer homopolymers err more
    # a model read back from its header line gives the same table (the file holds the Phreds it is from)
    assert allele_error_tables([parse_header_line(m.header_line())], [hifi.sample]) == (t,)
    # no model for a sample: no table (its windows are aligned)
    assert allele_error_tables([m], [hifi.sample, "OTHER"])[1] == ()
    # a model without learnt periods: zeros
    (z,) = allele_error_tables([ErrorModel("x", "S", "", 0, 0, "default")], ["S"])
    assert z == () or not any(z)


def test_bad_screen_qual_is_one_line_and_exit_2(hifi: synth.Dataset, tmp_path: Path) -> None:
    for bad in ("-1", "101", "nan"):
        r = subprocess.run([sys.executable, "-m", "gmscall.cli", "call", "-f", str(hifi.fasta), "--indel-screen-qual",
                            bad, "-o", str(tmp_path / "o.vcf"), str(hifi.bam)],
                           check=False, capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and "indel_screen_qual" in lines[0], r.stderr
        assert not (tmp_path / "o.vcf").exists()
    with pytest.raises(InputError):
        CallOptions(indel_screen_qual=True)  # type: ignore[arg-type]
    with pytest.raises(InputError):
        CallOptions(allele_error_tables=((0.5,) * 10,))
