"""FILTER StrandBias: an SNV whose ALT reads keep to one strand and carry little evidence per read
(the shape of Illumina's strand-specific errors, e.g. after GG) is flagged; a strand split alone
or weak evidence alone is not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

gmscall = pytest.importorskip("gmscall", reason="gmscall is not built/installed")

from test_robustness import ref_fasta, write_bam

CONTIG = "chrS"
LENGTH = 600
SITE = 300  # 0-based position of the SNV
READ = 100


def _reference() -> str:
    rng = np.random.default_rng(11)
    return "".join("ACGT"[i] for i in rng.integers(0, 4, LENGTH))


def _reads(ref: str, strands: list[tuple[bool, bool]], alt_bq: int) -> list[dict]:
    """One 100-bp read per (reverse, carries ALT) entry, its start moved along so that every read
    covers SITE at another offset; ALT bases have quality `alt_bq`, every other base Q35."""
    alt = {"A": "C", "C": "G", "G": "T", "T": "A"}[ref[SITE]]
    reads = []
    for k, (reverse, carries) in enumerate(strands):
        start = SITE - 5 - (k * 89) % (READ - 10)
        seq = list(ref[start : start + READ])
        qual = ["D"] * READ
        if carries:
            seq[SITE - start] = alt
            qual[SITE - start] = chr(33 + alt_bq)
        reads.append({"name": f"r{k}", "pos": start, "cigar": f"{READ}M", "seq": "".join(seq),
                      "qual": "".join(qual), "flag": 16 if reverse else 0})
    return sorted(reads, key=lambda r: r["pos"])


def _case(tmp_path: Path, strands: list[tuple[bool, bool]], alt_bq: int, name: str = "reads",
          sample: str = "S1") -> tuple[Path, Path]:
    """(FASTA, BAM) of `_reads` on the test reference."""
    ref = _reference()
    fasta = ref_fasta(tmp_path / "ref.fa", CONTIG, ref)
    return fasta, write_bam(tmp_path / f"{name}.bam", CONTIG, LENGTH, _reads(ref, strands, alt_bq), samples=(sample,))


def _call(tmp_path: Path, strands: list[tuple[bool, bool]], alt_bq: int, **options: object) -> dict:
    fasta, bam = _case(tmp_path, strands, alt_bq)
    recs = gmscall.call(bam, fasta, options=gmscall.CallOptions(**options))
    at_site = [r for r in recs if r["pos"] == SITE + 1]
    assert len(at_site) == 1, recs
    return at_site[0]


# ref reads: 22 forward, 11 reverse; 11 ALT reads
REF_READS = [(False, False)] * 22 + [(True, False)] * 11


def test_one_strand_alt_with_weak_evidence_is_filtered(tmp_path: Path) -> None:
    rec = _call(tmp_path, REF_READS + [(True, True)] * 11, alt_bq=14)
    assert rec["gt"] == (0, 1)
    assert rec["filter"] == "StrandBias"


def test_same_reads_on_both_strands_pass(tmp_path: Path) -> None:
    both = REF_READS + [(True, True)] * 6 + [(False, True)] * 5
    rec = _call(tmp_path, both, alt_bq=14)
    assert rec["filter"] == "PASS"


def test_one_strand_alt_with_strong_evidence_passes(tmp_path: Path) -> None:
    """Random strand splits of true hets are common at 30x; good bases keep QD high."""
    rec = _call(tmp_path, REF_READS + [(True, True)] * 11, alt_bq=35)
    assert rec["gt"] == (0, 1)
    assert rec["filter"] == "PASS"


def test_bounds_are_options(tmp_path: Path) -> None:
    rec = _call(tmp_path, REF_READS + [(True, True)] * 11, alt_bq=14, strand_bias_qd=0.0)
    assert rec["filter"] == "PASS"
    with pytest.raises(gmscall.InputError, match="strand_bias_sor"):
        gmscall.CallOptions(strand_bias_sor=-1.0)


def test_vcf_header_declares_the_filter(tmp_path: Path) -> None:
    fasta, bam = _case(tmp_path, REF_READS + [(True, True)] * 11, 14)
    out = tmp_path / "calls.vcf"
    gmscall.call(bam, fasta, output=out)
    text = out.read_text()
    assert '##FILTER=<ID=StrandBias,' in text
    body = [line.split("\t") for line in text.splitlines() if not line.startswith("#")]
    assert [(int(f[1]), f[6]) for f in body] == [(SITE + 1, "StrandBias")]


def test_joint_calls_divide_qual_by_the_carriers_depth(tmp_path: Path) -> None:
    """A second sample's reference reads do not lower the evidence per read of the carrier (QD over
    all samples' depth would flag this one-strand but well-supported SNV)."""
    fasta, carrier = _case(tmp_path, REF_READS + [(True, True)] * 11, 35, "a", "A")
    _, other = _case(tmp_path, [(False, False), (True, False)] * 60, 35, "b", "B")
    recs = [r for r in gmscall.call([carrier, other], fasta) if r["pos"] == SITE + 1]
    assert len(recs) == 1
    rec = recs[0]
    assert [s["gt"] for s in rec["samples"].values()] == [(0, 1), (0, 0)]
    assert rec["sor"] > 3.0 and rec["qual"] / rec["dp"] < 2.0  # all-sample QD would flag it
    assert rec["filter"] == "PASS"


def test_gvcf_genotyping_keeps_the_filter(tmp_path: Path) -> None:
    """The gVCF carries the record's SOR; genotyping gVCFs applies the same bounds."""
    fasta, bam = _case(tmp_path, REF_READS + [(True, True)] * 11, 14)
    gvcf = tmp_path / "s.g.vcf.gz"
    gmscall.call(bam, fasta, output=gvcf, options=gmscall.CallOptions(gvcf=True))
    out = tmp_path / "cohort.vcf"
    gmscall.genotype_gvcfs([gvcf], fasta, out)
    body = [line.split("\t") for line in out.read_text().splitlines() if not line.startswith("#")]
    assert [(int(f[1]), f[6]) for f in body] == [(SITE + 1, "StrandBias")]
