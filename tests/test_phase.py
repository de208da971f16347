"""Phasing: `gmscall eval --phase` on hand-made VCFs with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gmscall.evaluation import evaluate_phase
from gmscall.evaluation.cli import main as eval_main

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=100000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS
"""


def _vcf(path: Path, rows: list[tuple[int, str, str, str]]) -> str:
    """rows: (pos, ref, alt, sample column 'GT[:PS]'); FORMAT GT:PS when any column has a PS."""
    with_ps = any(":" in col for *_, col in rows)
    lines = [HEADER]
    for pos, ref, alt, col in rows:
        fmt = "GT:PS" if with_ps else "GT"
        if with_ps and ":" not in col:
            col += ":."
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{alt}\t50\tPASS\t.\t{fmt}\t{col}\n")
    path.write_text("".join(lines))
    return str(path)


def _truth(tmp_path: Path, n: int = 10) -> str:
    # simulated-set convention: unphased GTs whose order is the phase
    rows = [(100 * (k + 1), "A", "C", "0/1" if k % 3 else "1/0") for k in range(n)]
    return _vcf(tmp_path / "truth.vcf", rows)


def _truth_gt(k: int) -> str:
    return "0|1" if k % 3 else "1|0"


def test_perfect_phase(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", _truth_gt(k) + ":100") for k in range(10)])
    r = evaluate_phase(truth, calls)
    assert r.truth_phase == "order"
    assert (r.called_hets, r.phased_hets, r.matched_phased) == (10, 10, 10)
    assert (r.assessed_pairs, r.switches, r.flips) == (9, 0, 0)
    assert r.switch_error_rate == 0.0 and r.phased_fraction == 1.0
    assert (r.blocks, r.block_n50) == (1, 901)


def test_whole_block_inverted_is_no_error(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    inv = {"0|1": "1|0", "1|0": "0|1"}
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", inv[_truth_gt(k)] + ":100") for k in range(10)])
    assert evaluate_phase(truth, calls).switches == 0


def test_flip_and_switch(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    inv = {"0|1": "1|0", "1|0": "0|1"}
    gts = [_truth_gt(k) for k in range(10)]
    gts[3] = inv[gts[3]]  # one het against its neighbours: a flip (two switches)
    for k in range(7, 10):  # a long switch from the 8th het on
        gts[k] = inv[gts[k]]
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", g + ":100") for k, g in enumerate(gts)])
    r = evaluate_phase(truth, calls)
    assert (r.assessed_pairs, r.switches, r.flips, r.switches_after_flips) == (9, 3, 1, 1)
    assert r.switch_at == ["chr1:400", "chr1:500", "chr1:800"]


def test_blocks_unphased_and_unmatched(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    rows = [(100, "A", "C", "0|1:100"), (200, "A", "C", "0|1:100"), (300, "A", "C", "1|0:100"),  # block 100
            (400, "A", "C", "0/1"),  # unphased
            (500, "A", "G", "0|1:500"), (600, "A", "C", "0|1:500"), (700, "A", "C", "1|0:500"),  # 500: ALT G != truth C
            (800, "A", "C", "0|1:800"),  # a block of one het: not phased
            (900, "A", "C", "1/1"), (1000, "A", "C", "0|1:1000"), (1050, "A", "C", "0|1:1000")]
    calls = _vcf(tmp_path / "calls.vcf", rows)
    r = evaluate_phase(truth, calls)
    # hets: all but the hom; phased: blocks 100 (3), 500 (3), 1000 (2)
    assert r.called_hets == 10 and r.phased_hets == 8
    assert r.blocks == 3 and r.block_n50 == 201  # spans 201, 201, 51
    # block 100: 100,200 ok (truth 1/0,0/1 vs calls 0|1,0|1: switch), 200-300 (0/1,0/1 vs 0|1,1|0: switch)
    # block 500: 600-700 (truth 0/1,1/0 ... calls 0|1,1|0: ok); 1050 is no truth het
    assert r.assessed_pairs == 3 and r.switches == 2 and r.flips == 1
    assert r.matched_hets == 8  # 500 (A>G) and 1050 match no truth het


def test_phased_truth_blocks_and_multiallelic(tmp_path: Path) -> None:
    truth = _vcf(tmp_path / "truth.vcf", [
        (100, "A", "C", "0|1:100"), (200, "A", "C,G", "1|2:100"), (300, "A", "C", "1|0:300"),
        (400, "A", "C", "0|1:300"), (500, "A", "C", "0/1")])
    calls = _vcf(tmp_path / "calls.vcf", [
        (100, "A", "C", "1|0:7"), (200, "A", "G,C", "1|2:7"),  # same two ALTs, written the other way
        (300, "A", "C", "0|1:7"), (400, "A", "C", "0|1:7"), (500, "A", "C", "0|1:7")])
    r = evaluate_phase(truth, calls)
    assert r.truth_phase == "phased"
    # pairs: 100-200 (truth C|G vs calls G|C with C|A.. : same relative), 200-300 across truth
    # blocks (not assessed), 300-400 (truth 1|0,0|1 vs calls 0|1,0|1: switch); 500 unphased in truth
    assert r.assessed_pairs == 2 and r.switches == 1


def test_indel_matched_after_normalisation(tmp_path: Path) -> None:
    ref = tmp_path / "ref.fa"
    ref.write_text(">chr1\n" + "ACGT" * 10 + "AAAAAA" + "CGTA" * 200 + "\n")
    import pysam

    pysam.faidx(str(ref))
    truth = _vcf(tmp_path / "truth.vcf", [(20, "A", "C", "0/1"), (40, "TA", "T", "1/0"), (60, "A", "G", "0/1")])
    # the deletion written right-shifted in the homopolymer: the same het after left-alignment
    calls = _vcf(tmp_path / "calls.vcf", [(20, "A", "C", "0|1:20"), (44, "AA", "A", "1|0:20"), (60, "A", "G", "0|1:20")])
    r = evaluate_phase(truth, calls, str(ref))
    assert r.matched_phased == 3 and r.assessed_pairs == 2 and r.switches == 0


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = _truth(tmp_path)
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", _truth_gt(k) + ":100") for k in range(10)])
    ref = tmp_path / "ref.fa"
    ref.write_text(">chr1\n" + "A" * 2000 + "\n")
    out = tmp_path / "r.json"
    assert eval_main(["--phase", "--truth", truth, "--calls", calls, "--ref", str(ref), "--json", str(out)]) == 0
    assert "switch errors      0" in capsys.readouterr().out
    assert json.loads(out.read_text())["phase"]["assessed_pairs"] == 9
    assert eval_main(["--phase", "--calls", calls]) == 2
