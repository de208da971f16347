"""Tests of gmscall.evaluation on tiny hand-made references and VCF pairs with known answers."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pysam
import pytest

from gmscall import evaluation as ev
from gmscall.evaluation.common import _Reference

# Reference layout (1-based): random filler, a homopolymer C AAAAAA G at 51-58 (A at 52-57),
# a non-repetitive ACGTA at 101-105, a dinucleotide repeat (CA)x5 at 141-150 flanked by G/T.
CHROM = "chr1"
HOMOPOLYMER = "CAAAAAAG"
MOTIF = "ACGTA"
DIREPEAT = "G" + "CA" * 5 + "T"


def _make_reference() -> str:
    rng = random.Random(7)
    bases = [rng.choice("ACGT") for _ in range(200)]
    seq = "".join(bases)
    seq = seq[:50] + HOMOPOLYMER + seq[58:]
    seq = seq[:100] + MOTIF + seq[105:]
    seq = seq[:139] + DIREPEAT + seq[151:]
    assert len(seq) == 200
    return seq


REF = _make_reference()
ALT_OF = {"A": "C", "C": "G", "G": "T", "T": "A"}


def base(pos: int) -> str:
    return REF[pos - 1]


def snv(pos: int) -> tuple[int, str, str]:
    return pos, base(pos), ALT_OF[base(pos)]


Record = tuple  # (pos, ref, alt, gt[, filter])


@pytest.fixture()
def ref_fa(tmp_path: Path) -> str:
    path = tmp_path / "ref.fa"
    path.write_text(f">{CHROM}\n" + "\n".join(REF[i : i + 60] for i in range(0, len(REF), 60)) + "\n")
    pysam.faidx(str(path))
    return str(path)


def write_vcf(
    path: Path,
    records: Sequence[Record],
    samples: Sequence[str] = ("S1",),
    index: bool = False,
) -> str:
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={CHROM},length={len(REF)}>",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="Low quality">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples),
    ]
    for rec in sorted(records, key=lambda r: r[0]):
        pos, ref, alt, gt = rec[:4]
        filt = rec[4] if len(rec) > 4 else "PASS"
        gts = gt if isinstance(gt, tuple) else (gt,)
        lines.append(f"{CHROM}\t{pos}\t.\t{ref}\t{alt}\t50\t{filt}\t.\tGT\t" + "\t".join(gts))
    path.write_text("\n".join(lines) + "\n")
    if index:
        return pysam.tabix_index(str(path), preset="vcf", force=True)
    return str(path)


def run(
    tmp_path: Path,
    ref_fa: str,
    truth: Sequence[Record],
    calls: Sequence[Record],
    bed: Sequence[tuple[int, int]] | None = None,
    **kwargs: str | bool | int | None,
) -> ev.EvalResult:
    t = write_vcf(tmp_path / "truth.vcf", truth)
    c = write_vcf(tmp_path / "calls.vcf", calls)
    bed_path = None
    if bed is not None:
        bed_path = tmp_path / "conf.bed"
        bed_path.write_text("".join(f"{CHROM}\t{s}\t{e}\n" for s, e in bed))
    return ev.evaluate(t, c, ref_fa, bed=str(bed_path) if bed_path else None, **kwargs)  # type: ignore[arg-type]


def counts(res: ev.EvalResult, level: str, vtype: str) -> tuple[int, int, int]:
    c = (res.allele if level == "allele" else res.genotype)[vtype]
    return c.tp, c.fp, c.fn


def test_reference_layout() -> None:
    assert REF[50:58] == HOMOPOLYMER
    assert REF[100:105] == MOTIF
    assert REF[139:151] == DIREPEAT


def test_exact_matches(tmp_path: Path, ref_fa: str) -> None:
    truth = [(*snv(20), "0/1"), (*snv(30), "1/1"), (101, "AC", "A", "0/1"), (120, base(120), base(120) + "GG", "1|0")]
    res = run(tmp_path, ref_fa, truth, truth)
    for level in ("allele", "GT"):
        assert counts(res, level, "SNV") == (2, 0, 0)
        assert counts(res, level, "INDEL") == (2, 0, 0)
    assert res.genotype["ALL"].f1 == 1.0
    assert res.genotype["ALL"].precision == 1.0 and res.genotype["ALL"].recall == 1.0


def test_genotype_mismatch(tmp_path: Path, ref_fa: str) -> None:
    res = run(tmp_path, ref_fa, [(*snv(20), "0/1"), (*snv(30), "0/1")], [(*snv(20), "1/1"), (*snv(30), "0/1")])
    assert counts(res, "allele", "SNV") == (2, 0, 0)
    assert counts(res, "GT", "SNV") == (1, 1, 1)
    assert res.genotype["SNV"].f1 == pytest.approx(0.5)
    assert res.allele["SNV"].f1 == 1.0
    assert any("chr1:20:" in s for s in res.gt_mismatch)


def test_missing_call(tmp_path: Path, ref_fa: str) -> None:
    res = run(tmp_path, ref_fa, [(*snv(20), "0/1"), (*snv(30), "0/1")], [(*snv(20), "0/1")])
    assert counts(res, "allele", "SNV") == (1, 0, 1)
    assert counts(res, "GT", "SNV") == (1, 0, 1)
    assert res.allele["SNV"].recall == pytest.approx(0.5)
    assert res.allele["SNV"].precision == 1.0
    assert res.fn_variants == [f"{CHROM}:30:{base(30)}>{ALT_OF[base(30)]}:het"]


def test_extra_call(tmp_path: Path, ref_fa: str) -> None:
    res = run(tmp_path, ref_fa, [(*snv(20), "0/1")], [(*snv(20), "0/1"), (*snv(70), "1/1")])
    assert counts(res, "allele", "SNV") == (1, 1, 0)
    assert res.allele["SNV"].precision == pytest.approx(0.5)
    assert res.allele["SNV"].recall == 1.0
    assert res.fp_variants == [f"{CHROM}:70:{base(70)}>{ALT_OF[base(70)]}:hom"]


def test_ref_only_and_missing_genotypes_are_ignored(tmp_path: Path, ref_fa: str) -> None:
    calls = [(*snv(20), "0/1"), (*snv(70), "0/0"), (*snv(80), "./."), (90, base(90), "<NON_REF>", "0/1")]
    res = run(tmp_path, ref_fa, [(*snv(20), "0/1")], calls)
    assert counts(res, "GT", "ALL") == (1, 0, 0)
    assert res.stats["calls"]["no_alt_gt"] == 2
    assert res.stats["calls"]["symbolic"] == 1


def test_homopolymer_deletion_at_two_positions(tmp_path: Path, ref_fa: str) -> None:
    # Deleting one A of C AAAAAA G: left-aligned it is CA>C at 51; written further right as AA>A at 55.
    truth = [(51, "CA", "C", "0/1"), (50, base(50) + "C", base(50) + "CA", "0/0")]
    calls = [(55, "AA", "A", "0/1")]
    res = run(tmp_path, ref_fa, truth, calls)
    assert counts(res, "allele", "INDEL") == (1, 0, 0)
    assert counts(res, "GT", "INDEL") == (1, 0, 0)
    # An insertion written at the end of the run (A>AA at 57) equals C>CA at 51.
    res = run(tmp_path, ref_fa, [(51, "C", "CA", "1/1")], [(57, "A", "AA", "1/1")])
    assert counts(res, "GT", "INDEL") == (1, 0, 0)
    # A different deletion length is not the same variant.
    res = run(tmp_path, ref_fa, [(51, "CA", "C", "0/1")], [(55, "AAA", "A", "0/1")])
    assert counts(res, "allele", "INDEL") == (0, 1, 1)


def test_repeat_unit_deletion_shifted(tmp_path: Path, ref_fa: str) -> None:
    # (CA)x5 at 141-150, preceded by G at 140: deleting one CA unit left-aligns to GCA>G at 140.
    res = run(tmp_path, ref_fa, [(140, "GCA", "G", "0/1")], [(146, "ACA", "A", "0/1")])
    assert counts(res, "GT", "INDEL") == (1, 0, 0)


def test_normalize_allele(ref_fa: str) -> None:
    ref = _Reference(ref_fa)
    try:
        assert ev.normalize_allele(ref, CHROM, 55, "AA", "A") == (51, "CA", "C")
        assert ev.normalize_allele(ref, CHROM, 56, "AAG", "AG") == (51, "CA", "C")  # right padding trimmed
        assert ev.normalize_allele(ref, CHROM, 57, "A", "AA") == (51, "C", "CA")
        assert ev.normalize_allele(ref, CHROM, 101, "ACG", "ATG") == (102, "C", "T")  # padded SNV
        assert ev.normalize_allele(ref, CHROM, 101, "ACGT", "ATGA") == (102, "CGT", "TGA")
        assert ev.normalize_allele(None, CHROM, 55, "AA", "A") == (55, "AA", "A")  # no reference: no shift
    finally:
        ref.close()


def test_multiallelic_het_against_two_records(tmp_path: Path, ref_fa: str) -> None:
    r = base(20)
    a1, a2 = [b for b in "ACGT" if b != r][:2]
    truth = [(20, r, f"{a1},{a2}", "1/2")]
    two_records = [(20, r, a1, "0/1"), (20, r, a2, "0/1")]
    res = run(tmp_path, ref_fa, truth, two_records)
    assert counts(res, "GT", "SNV") == (2, 0, 0)
    # ... and the other way round
    res = run(tmp_path, ref_fa, two_records, truth)
    assert counts(res, "GT", "SNV") == (2, 0, 0)
    # A hom call of one of the two alleles: allele a1 matches with a wrong GT, a2 is missing.
    res = run(tmp_path, ref_fa, truth, [(20, r, a1, "1/1")])
    assert counts(res, "allele", "SNV") == (1, 0, 1)
    assert counts(res, "GT", "SNV") == (0, 1, 2)
    # Only the alleles in the genotype count: 0/2 of a two-ALT record is one het allele a2.
    res = run(tmp_path, ref_fa, [(20, r, a2, "0/1")], [(20, r, f"{a1},{a2}", "0/2")])
    assert counts(res, "GT", "SNV") == (1, 0, 0)


def test_mnp_against_two_snvs(tmp_path: Path, ref_fa: str) -> None:
    # ACGTA at 101: the MNP CGT>TGA at 102 is the SNVs C102T and T104A (G103 unchanged).
    truth = [(102, "CGT", "TGA", "0/1")]
    calls = [(102, "C", "T", "0/1"), (104, "T", "A", "0/1")]
    res = run(tmp_path, ref_fa, truth, calls)
    assert counts(res, "GT", "SNV") == (2, 0, 0)
    assert counts(res, "GT", "INDEL") == (0, 0, 0)
    # Only one of the two SNVs called: one FN.
    res = run(tmp_path, ref_fa, truth, calls[:1])
    assert counts(res, "GT", "SNV") == (1, 0, 1)


def test_complex_against_indel_plus_snv(tmp_path: Path, ref_fa: str) -> None:
    # ACGTA at 101: deleting G103 and T104>C on one haplotype gives A C C A; a caller may write it
    # as one complex record CGT>CC at 102. The haplotype pass must match them.
    truth = [(102, "CG", "C", "0/1"), (104, "T", "C", "0/1")]
    calls = [(102, "CGT", "CC", "0/1")]
    res = run(tmp_path, ref_fa, truth, calls)
    assert counts(res, "GT", "SNV") == (1, 0, 0)
    assert counts(res, "GT", "INDEL") == (1, 0, 0)
    assert res.genotype["INDEL"].tp_query == 1 and res.genotype["SNV"].tp_query == 0
    assert res.stats["matching"]["haplotype_matches"] == 1
    # Hom complex call vs het truth: allele match, GT mismatch.
    res = run(tmp_path, ref_fa, truth, [(102, "CGT", "CC", "1/1")])
    assert res.allele["ALL"].fp == 0 and res.allele["ALL"].fn == 0
    assert counts(res, "GT", "ALL") == (0, 1, 2)
    # A different complex call does not match.
    res = run(tmp_path, ref_fa, truth, [(102, "CGT", "CA", "0/1")])
    assert counts(res, "allele", "ALL") == (0, 1, 2)


def test_bed_boundaries(tmp_path: Path, ref_fa: str) -> None:
    # BED 20-30 (0-based half-open) holds POS 21..30 (1-based).
    truth = [(*snv(20), "0/1"), (*snv(21), "0/1"), (*snv(30), "0/1"), (*snv(31), "0/1"), (*snv(80), "0/1")]
    calls = [(*snv(21), "0/1"), (*snv(25), "0/1"), (*snv(35), "0/1")]
    res = run(tmp_path, ref_fa, truth, calls, bed=[(20, 30), (100, 110)])
    # in BED: truth 21 (TP), 30 (FN); calls 21 (TP), 25 (FP); 20, 31, 35, 80 outside.
    assert counts(res, "GT", "SNV") == (1, 1, 1)
    assert res.fn_variants == [f"{CHROM}:30:{base(30)}>{ALT_OF[base(30)]}:het"]
    res = run(tmp_path, ref_fa, truth, calls)  # no BED: everything counts
    assert counts(res, "GT", "SNV") == (1, 2, 4)


def test_filtered_calls(tmp_path: Path, ref_fa: str) -> None:
    truth = [(*snv(20), "0/1"), (*snv(30), "0/1")]
    calls = [(*snv(20), "0/1", "LowQual"), (*snv(30), "0/1", "."), (*snv(70), "0/1", "LowQual")]
    res = run(tmp_path, ref_fa, truth, calls)
    assert counts(res, "GT", "SNV") == (1, 0, 1)
    assert res.stats["calls"]["filtered"] == 2
    res = run(tmp_path, ref_fa, truth, calls, include_filtered=True)
    assert counts(res, "GT", "SNV") == (2, 1, 0)


def test_region_and_sample_selection(tmp_path: Path, ref_fa: str) -> None:
    truth = write_vcf(tmp_path / "t.vcf", [(*snv(20), ("0/0", "0/1")), (*snv(80), ("0/1", "1/1"))],
                      samples=("A", "B"), index=True)
    calls = write_vcf(tmp_path / "c.vcf", [(*snv(20), "0/1"), (*snv(80), "1/1")], index=True)
    res = ev.evaluate(truth, calls, ref_fa, truth_sample="B")
    assert counts(res, "GT", "SNV") == (2, 0, 0)
    res = ev.evaluate(truth, calls, ref_fa, truth_sample="A")  # A: 20 is 0/0, 80 is het
    assert counts(res, "GT", "SNV") == (0, 2, 1)
    res = ev.evaluate(truth, calls, ref_fa, truth_sample="B", region=f"{CHROM}:50-100")
    assert counts(res, "GT", "SNV") == (1, 0, 0)
    with pytest.raises(ValueError, match="sample 'C' not found"):
        ev.evaluate(truth, calls, ref_fa, truth_sample="C")


def test_bgzipped_reference(tmp_path: Path, ref_fa: str) -> None:
    gz = str(tmp_path / "ref.fa.gz")
    pysam.tabix_compress(ref_fa, gz)
    pysam.faidx(gz)
    res = run(tmp_path, gz, [(51, "CA", "C", "0/1")], [(55, "AA", "A", "0/1")])
    assert counts(res, "GT", "INDEL") == (1, 0, 0)


def test_counts_and_to_dict() -> None:
    c = ev.Counts(tp_truth=8, tp_query=8, fp=2, fn=0)
    assert c.precision == pytest.approx(0.8) and c.recall == 1.0
    assert c.f1 == pytest.approx(2 * 0.8 / 1.8)
    assert ev.Counts().f1 is None
    res = ev.EvalResult("t", "c", "r", None, None, None, None)
    d = res.to_dict()
    assert d["genotype"]["SNV"]["tp"] == 0 and d["allele"]["ALL"]["f1"] is None
    json.dumps(d)


def test_parse_region() -> None:
    assert ev.parse_region("chr20:1,000,001-6,000,000") == ("chr20", 1000001, 6000000)
    assert ev.parse_region("20") == ("20", None, None)
    with pytest.raises(ValueError):
        ev.parse_region("chr1:10-5")


def test_cli(tmp_path: Path, ref_fa: str, capsys: pytest.CaptureFixture[str]) -> None:
    t = write_vcf(tmp_path / "truth.vcf", [(*snv(20), "0/1"), (*snv(30), "0/1")])
    c = write_vcf(tmp_path / "calls.vcf", [(*snv(20), "0/1")])
    out = tmp_path / "eval.json"
    rc = ev.main(["--truth", t, "--calls", c, "--ref", ref_fa, "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert "SNV" in table and "0.5000" in table
    d = json.loads(out.read_text())
    assert d["genotype"]["SNV"]["fn"] == 1 and d["genotype"]["SNV"]["tp"] == 1
    assert ev.main(["--truth", t, "--calls", str(tmp_path / "nope.vcf"), "--ref", ref_fa]) == 2


def test_module_entry_point(tmp_path: Path, ref_fa: str) -> None:
    t = write_vcf(tmp_path / "truth.vcf", [(*snv(20), "0/1")])
    src = str(Path(ev.__file__).resolve().parents[2])
    for module in ("gmscall.evaluation", "gmscall.evaluate"):  # the package, and its first name
        proc = subprocess.run(
            [sys.executable, "-m", module, "--truth", t, "--calls", t, "-f", ref_fa],
            capture_output=True, text=True, env={"PYTHONPATH": src, "PATH": ""}, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert "1.0000" in proc.stdout


def test_insertion_at_the_last_base_of_a_deletion(tmp_path: Path, ref_fa: str) -> None:
    # ACGTA at 101: a deletion of CGT and an insertion of GG after T104 (its anchor, which the
    # deletion removes) on one haplotype give A GG A; GIAB writes some repeat alleles so (the HiFi
    # slice at chr20:9074807), and a caller may write one complex record. RTG vcfeval matches
    # them; the haplotype pass must put both truth alleles on one haplotype too.
    truth = [(101, "ACGT", "A", "0/1"), (104, "T", "TGG", "0/1")]
    calls = [(101, "ACGT", "AGG", "0/1")]
    res = run(tmp_path, ref_fa, truth, calls)
    assert counts(res, "GT", "INDEL") == (2, 0, 0) and res.genotype["INDEL"].tp_query == 1
    # the same alleles on two haplotypes are another genome
    res = run(tmp_path, ref_fa, truth, [(101, "ACGT", "A", "0/1"), (104, "T", "TGG", "0/1")])
    assert counts(res, "GT", "INDEL") == (2, 0, 0)
    res = run(tmp_path, ref_fa, truth, [(101, "ACGT", "AGG", "1/1")])
    assert counts(res, "GT", "INDEL") == (0, 1, 2)
