"""Mendelian checks of trios (gmscall.evaluation.mendel and friends, ``gmscall eval --mendel/--ped``)
on small hand-written VCFs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pysam
import pytest
from conftest import run_cli

from gmscall import evaluation as ev
from gmscall.evaluation.trios import _read_ped_rows

TRIO = ("KID", "DAD", "MOM")
CONTIGS = {"chr1": 1000, "chrX": 1000, "chrY": 1000}
HEADER = [
    "##fileformat=VCFv4.2",
    *(f"##contig=<ID={c},length={n}>" for c, n in CONTIGS.items()),
    '##FILTER=<ID=PASS,Description="All filters passed">',
    '##FILTER=<ID=LowQual,Description="Low quality">',
    '##INFO=<ID=DENOVO,Number=.,Type=String,Description="Children for which the site is de novo">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DNQ,Number=1,Type=Integer,Description="De novo quality">',
]

# (chrom, pos, ref, alt, gts[, filter[, info[, dnq]]]); gts: one GT per sample of the file
Rec = tuple


def write_vcf(path: Path, records: Sequence[Rec], samples: Sequence[str] = TRIO, header: Sequence[str] = HEADER,
              index: bool = False) -> str:
    lines = [*header, "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples)]
    for rec in sorted(records, key=lambda r: (list(CONTIGS).index(r[0]), r[1])):
        chrom, pos, ref, alt, gts = rec[:5]
        filt = rec[5] if len(rec) > 5 else "PASS"
        info = rec[6] if len(rec) > 6 else "."
        dnq = rec[7] if len(rec) > 7 else None
        fmt, cols = "GT", list(gts)
        if dnq is not None:
            fmt, cols = "GT:DNQ", [f"{g}:{q}" for g, q in zip(gts, dnq)]
        lines.append(f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t50\t{filt}\t{info}\t{fmt}\t" + "\t".join(cols))
    path.write_text("\n".join(lines) + "\n")
    if index:
        return pysam.tabix_index(str(path), preset="vcf", force=True)
    return str(path)


def mendel_of(tmp_path: Path, records: Sequence[Rec], **kwargs: object) -> ev.MendelResult:
    return ev.mendel(write_vcf(tmp_path / "trio.vcf", records), TRIO, **kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# the rule


def test_rule_diploid() -> None:
    assert ev.mendel_consistent((0, 1), (0, 0), (0, 1))
    assert ev.mendel_consistent((1, 0), (0, 1), (0, 0))  # order of the child's alleles is free
    assert ev.mendel_consistent((1, 1), (0, 1), (1, 1))
    assert not ev.mendel_consistent((1, 1), (0, 0), (0, 1))  # one 1 cannot come from the father
    assert not ev.mendel_consistent((0, 1), (0, 0), (0, 0))  # de novo
    assert not ev.mendel_consistent((0, 0), (1, 1), (0, 0))
    assert ev.mendel_consistent((1, 2), (0, 1), (0, 2))  # multi-allelic: indices
    assert not ev.mendel_consistent((1, 2), (1, 1), (1, 1))
    assert ev.mendel_consistent(("A", "AT"), ("A", "A"), ("AT", "A"))  # allele sequences work too
    assert ev.mendel_consistent((0, 1), (1,), (0, 0))  # a haploid father gives his one allele


def test_rule_haploid_and_other_ploidy() -> None:
    assert ev.mendel_consistent((1,), (0,), (0, 1))  # a son's X comes from the mother
    assert not ev.mendel_consistent((1,), (1,), (0, 0))  # ... not from the father
    assert ev.mendel_consistent((1,), (1,), (0, 0), haploid_from="father")  # chrY
    assert not ev.mendel_consistent((1,), (0,), (1, 1), haploid_from="father")
    assert ev.mendel_consistent((0, 1, 1), (0, 1), (0, 1)) is None


# --------------------------------------------------------------------------------------------
# mendel() on one multi-sample VCF


def test_consistent_inconsistent_and_missing(tmp_path: Path) -> None:
    recs = [
        ("chr1", 10, "A", "C", ("0/1", "0/0", "0/1")),  # consistent
        ("chr1", 20, "A", "C", ("1|1", "0|1", "1|1")),  # consistent, phased
        ("chr1", 30, "A", "C", ("1/1", "0/0", "0/1")),  # inconsistent
        ("chr1", 40, "A", "C", ("0/1", "0/0", "0/0")),  # inconsistent (de novo)
        ("chr1", 50, "A", "C", ("0/0", "0/0", "0/0")),  # no ALT: not a site
        ("chr1", 60, "A", "C", ("./.", "0/1", "0/0")),  # missing child: site, not called in all three
        ("chr1", 70, "A", "C", ("0/1", "./1", "0/0")),  # half-missing father
        ("chr1", 80, "A", "C", ("0/1", "0/0", ".")),  # missing mother (haploid '.')
        ("chr1", 90, "A", "AT", ("0/1", "0/1", "0/0")),  # consistent indel
        ("chr1", 95, "AT", "A", ("1/1", "0/1", "0/0")),  # inconsistent indel
    ]
    res = mendel_of(tmp_path, recs)
    assert (res.sites, res.all_called, res.inconsistent) == (9, 6, 3)
    assert res.rate == pytest.approx(3 / 6)
    assert res.by_type == {"SNV": {"all_called": 4, "inconsistent": 2},
                           "INDEL": {"all_called": 2, "inconsistent": 1}}
    assert res.stats["no_alt"] == 1 and res.stats["not_all_called"] == 3
    assert res.inconsistent_sites == ["chr1:30 A>C KID=1/1 DAD=0/0 MOM=0/1", "chr1:40 A>C KID=0/1 DAD=0/0 MOM=0/0",
                                      "chr1:95 AT>A KID=1/1 DAD=0/1 MOM=0/0"]
    assert res.denovo == 0
    assert res.summary() == ("Mendelian errors: 3 of 6 sites called in all three (50.00 %); "
                             "de novo calls for KID: 0")
    d = res.to_dict()
    assert d["rate"] == pytest.approx(0.5) and d["trio"] == TRIO


def test_no_site_called_in_all_three(tmp_path: Path) -> None:
    res = mendel_of(tmp_path, [("chr1", 10, "A", "C", ("./.", "0/1", "0/0"))])
    assert (res.sites, res.all_called, res.rate) == (1, 0, None)
    assert "(- %)" in res.summary()


def test_haploid_child(tmp_path: Path) -> None:
    recs = [
        ("chrX", 100, "G", "T", ("1", "0", "0/1")),  # son's X allele from the mother: consistent
        ("chrX", 200, "G", "T", ("1", "1", "0/0")),  # only the father has it: inconsistent
        ("chrX", 300, "G", "T", ("0", "1", "0/1")),  # haploid ref allele from the mother: consistent
        ("chrX", 400, "G", "T", (".", "1", "0/1")),  # haploid missing: not called
        ("chrY", 100, "G", "T", ("1", "1", "0/0")),  # chrY: from the father
        ("chrY", 200, "G", "T", ("1", "0", "0/1")),  # chrY: not from the mother
    ]
    res = mendel_of(tmp_path, recs)
    assert (res.sites, res.all_called, res.inconsistent) == (6, 5, 2)
    assert [s.split()[0] for s in res.inconsistent_sites] == ["chrX:200", "chrY:200"]


def test_multiallelic_records(tmp_path: Path) -> None:
    recs = [
        ("chr1", 10, "A", "C,G", ("1/2", "0/1", "0/2")),  # consistent
        ("chr1", 20, "A", "C,G", ("1/2", "1/1", "1/1")),  # the 2 comes from nobody
        ("chr1", 30, "A", "C,G", ("2/2", "1/2", "0/2")),  # consistent
        ("chr1", 40, "A", "C,G", ("0/1", "0/2", "0/2")),  # a C from nobody
        ("chr1", 50, "A", "C,AT", ("0/2", "0/2", "0/1")),  # an insertion allele used: INDEL
    ]
    res = mendel_of(tmp_path, recs)
    assert (res.all_called, res.inconsistent) == (5, 2)
    assert res.by_type["INDEL"] == {"all_called": 1, "inconsistent": 0}


def test_filtered_records(tmp_path: Path) -> None:
    recs = [
        ("chr1", 10, "A", "C", ("0/1", "0/0", "0/1")),
        ("chr1", 20, "A", "C", ("0/1", "0/0", "0/0"), "LowQual"),
        ("chr1", 30, "A", "C", ("1/1", "0/1", "0/1"), "."),  # no filter = kept, as PASS
    ]
    res = mendel_of(tmp_path, recs)
    assert (res.all_called, res.inconsistent, res.stats["filtered"]) == (2, 0, 1)
    res = mendel_of(tmp_path, recs, include_filtered=True)
    assert (res.all_called, res.inconsistent) == (3, 1)


def test_bed_and_region(tmp_path: Path) -> None:
    recs = [("chr1", pos, "A", "C", ("0/1", "0/0", "0/0")) for pos in (100, 101, 200, 201, 500)]
    bed = tmp_path / "conf.bed"
    bed.write_text("chr1\t100\t200\nchr1\t450\t600\n")  # bed_start < POS <= bed_end: 101, 200 and 500
    res = mendel_of(tmp_path, recs, bed=str(bed))
    assert res.all_called == 3 and res.stats["outside"] == 2
    vcf = write_vcf(tmp_path / "indexed.vcf", recs, index=True)
    for path in (vcf, str(tmp_path / "trio.vcf")):  # region on an indexed and an unindexed file
        assert ev.mendel(path, TRIO, region="chr1:150-500").all_called == 3  # 200, 201, 500
        assert ev.mendel(path, TRIO, bed=str(bed), region="chr1:150-500").all_called == 2
        assert ev.mendel(path, TRIO, region="chrX").all_called == 0


def test_denovo_info_and_dnq(tmp_path: Path) -> None:
    recs = [
        ("chr1", 10, "A", "C", ("0/1", "0/0", "0/0"), "PASS", "DENOVO=KID"),
        ("chr1", 20, "A", "C", ("0/1", "0/0", "0/0"), "PASS", "DENOVO=OTHER,KID"),
        ("chr1", 30, "A", "C", ("0/1", "0/1", "0/0"), "PASS", "DENOVO=DAD"),  # another child of the file
        ("chr1", 40, "A", "C", ("0/1", "0/0", "0/0"), "PASS", ".", ("30", ".", ".")),  # DNQ >= 20
        ("chr1", 50, "A", "C", ("0/1", "0/1", "0/0"), "PASS", ".", ("19", ".", ".")),  # DNQ < 20
        ("chr1", 60, "A", "C", ("0/1", "0/1", "0/0"), "PASS", ".", (".", ".", ".")),  # DNQ missing
        ("chr1", 70, "A", "C", ("0/1", "0/0", "0/0"), "LowQual", "DENOVO=KID"),  # filtered: not counted
    ]
    res = mendel_of(tmp_path, recs)
    assert res.denovo == 3 and res.denovo_inconsistent == 3
    assert res.summary().endswith("de novo calls for KID: 3")
    assert mendel_of(tmp_path, recs, dnq_min=10).denovo == 4
    assert mendel_of(tmp_path, recs, include_filtered=True).denovo == 4


def test_denovo_flag(tmp_path: Path) -> None:
    header = [h for h in HEADER if "DENOVO" not in h]
    header.append('##INFO=<ID=DENOVO,Number=0,Type=Flag,Description="De novo in the child">')
    recs = [("chr1", 10, "A", "C", ("0/1", "0/0", "0/0"), "PASS", "DENOVO"),
            ("chr1", 20, "A", "C", ("0/1", "0/1", "0/0"))]
    res = ev.mendel(write_vcf(tmp_path / "flag.vcf", recs, header=header), TRIO)
    assert res.denovo == 1


def test_sample_order_and_errors(tmp_path: Path) -> None:
    # Columns in another order than the trio: names, not positions, are used.
    recs = [("chr1", 10, "A", "C", ("0/0", "1/1", "0/1"))]  # MOM DAD KID
    vcf = write_vcf(tmp_path / "o.vcf", recs, samples=("MOM", "DAD", "KID"))
    res = ev.mendel(vcf, TRIO)
    assert (res.all_called, res.inconsistent) == (1, 0)
    with pytest.raises(ValueError, match="NOBODY"):
        ev.mendel(vcf, ("NOBODY", "DAD", "MOM"))


def test_reference_contigs(tmp_path: Path) -> None:
    fa = tmp_path / "ref.fa"
    fa.write_text(">chr1\n" + "A" * 100 + "\n")
    pysam.faidx(str(fa))
    recs = [("chr1", 10, "A", "C", ("0/1", "0/0", "0/1")), ("chrX", 10, "A", "C", ("1", "0", "0/1"))]
    res = mendel_of(tmp_path, recs, ref=str(fa))
    assert res.all_called == 1 and res.stats["no_ref_contig"] == 1


# --------------------------------------------------------------------------------------------
# three single-sample VCFs (truths)


def _singles(tmp_path: Path, per_sample: dict[str, Sequence[Rec]]) -> dict[str, str]:
    return {s: write_vcf(tmp_path / f"{s}.vcf", recs, samples=(s,)) for s, recs in per_sample.items()}


def test_single_sample_merge(tmp_path: Path) -> None:
    paths = _singles(tmp_path, {
        "KID": [("chr1", 10, "A", "C", ("0|1",)), ("chr1", 20, "A", "C", ("0/1",)),
                ("chr1", 30, "ACT", "A", ("0/1",)), ("chr1", 40, "ACT", "A", ("0/1",)),
                ("chr1", 50, "A", "C,G", ("1|2",))],
        "DAD": [("chr1", 10, "A", "C", ("1/1",)), ("chr1", 30, "A", "G", ("0/1",)),
                ("chr1", 40, "A", "G", ("0/1",)), ("chr1", 50, "A", "C", ("0/1",)),
                ("chr1", 60, "A", "T", ("1/1",))],
        "MOM": [("chr1", 40, "ACT", "A", ("1/1",)), ("chr1", 50, "A", "G", ("1/1",))],
    })
    res = ev.mendel_of_single_samples(paths, TRIO)
    # 10: 0/1 from 1/1 x 0/0 fine; 20: de novo; 30: the deletion comes from nobody (REF harmonised to
    # ACT: DAD's A>G is ACT>GCT); 40: fine; 50: C from DAD, G from MOM; 60: KID 0/0 but DAD 1/1.
    assert (res.sites, res.all_called, res.inconsistent) == (6, 6, 3)
    assert [s.split()[0] for s in res.inconsistent_sites] == ["chr1:20", "chr1:30", "chr1:60"]
    assert res.by_type["INDEL"] == {"all_called": 2, "inconsistent": 1}
    assert ev.mendel_of_truths(paths, TRIO).to_dict()["inconsistent"] == 3


def test_single_sample_filters_and_missing(tmp_path: Path) -> None:
    bed = tmp_path / "b.bed"
    bed.write_text("chr1\t0\t100\n")
    paths = _singles(tmp_path, {
        "KID": [("chr1", 10, "A", "C", ("0/1",)), ("chr1", 20, "A", "C", ("0/1",), "LowQual"),
                ("chr1", 30, "A", "C", ("./1",)), ("chr1", 150, "A", "C", ("0/1",)),
                ("chr1", 40, "A", "C", ("0/0",))],
        "DAD": [("chr1", 10, "A", "C", ("0/1",))],
        "MOM": [],
    })
    res = ev.mendel_of_single_samples(paths, TRIO, bed=str(bed))
    # 10 fine; 20 filtered; 30 not called; 150 outside the BED; 40 has no ALT (a 0/0 record)
    assert (res.sites, res.all_called, res.inconsistent) == (2, 1, 0)
    assert res.stats["filtered"] == 1 and res.stats["outside"] == 1 and res.stats["no_alt"] == 1
    res = ev.mendel_of_single_samples(paths, TRIO, include_filtered=True)
    assert (res.all_called, res.inconsistent) == (3, 2)  # 20 and 150: de novo
    # A one-sample VCF whose column has another name is read by position.
    paths["MOM"] = write_vcf(tmp_path / "renamed.vcf", [("chr1", 20, "A", "C", ("0/1",))], samples=("HG_X",))
    assert ev.mendel_of_single_samples(paths, TRIO, include_filtered=True).inconsistent == 1


# --------------------------------------------------------------------------------------------
# PED


def test_ped_trios(tmp_path: Path) -> None:
    ped = tmp_path / "f.ped"
    ped.write_text("# family\nF1 KID DAD MOM 1 0\nF1 DAD 0 0 1 0\nF1 MOM 0 0 2 0\nF2 KID2 DAD2 MOM2 2 0\n")
    assert ev.ped_trios(str(ped)) == [("KID", "DAD", "MOM"), ("KID2", "DAD2", "MOM2")]
    assert ev.ped_trios(str(ped), ["KID", "DAD", "MOM"]) == [TRIO]
    assert ev.ped_trios(str(ped), ["KID", "DAD"]) == []
    bad = tmp_path / "bad.ped"
    bad.write_text("F1 KID DAD\n")
    with pytest.raises(ValueError, match="6 columns"):
        ev.ped_trios(str(bad))
    assert _read_ped_rows(str(ped))[0] == ("KID", "DAD", "MOM")  # the standalone reader agrees
    assert _read_ped_rows(str(ped))[1] == ("DAD", None, None)


def test_parse_trio() -> None:
    assert ev.parse_trio("KID, DAD,MOM") == TRIO
    for bad in ("KID,DAD", "KID,,MOM", "A,B,C,D"):
        with pytest.raises(ValueError, match="CHILD,FATHER,MOTHER"):
            ev.parse_trio(bad)


# --------------------------------------------------------------------------------------------
# gmscall eval --mendel / --ped


@pytest.fixture()
def trio_vcf(tmp_path: Path) -> str:
    return write_vcf(tmp_path / "trio.vcf", [
        ("chr1", 10, "A", "C", ("0/1", "0/0", "0/1")),
        ("chr1", 20, "A", "C", ("0/1", "0/0", "0/0"), "PASS", "DENOVO=KID"),
        ("chr1", 30, "A", "C", ("1/1", "0/1", "0/1")),
        ("chr1", 40, "A", "C", ("1/1", "0/1", "0/0"), "LowQual"),
    ])


def test_cli_mendel(tmp_path: Path, trio_vcf: str) -> None:
    js = tmp_path / "m.json"
    p = run_cli("eval", "--calls", trio_vcf, "--mendel", "KID,DAD,MOM", "--json", js)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ("Mendelian errors: 1 of 3 sites called in all three (33.33 %); "
                                "de novo calls for KID: 1")
    d = json.loads(js.read_text())
    assert d["mendel"][0]["inconsistent"] == 1 and d["mendel"][0]["trio"] == list(TRIO)
    p = run_cli("eval", "--calls", trio_vcf, "--mendel", "KID,DAD,MOM", "--include-filtered")
    assert p.returncode == 0 and "2 of 4 sites" in p.stdout, p.stdout + p.stderr


def test_cli_ped(tmp_path: Path, trio_vcf: str) -> None:
    ped = tmp_path / "f.ped"
    ped.write_text("F KID DAD MOM 1 0\nF DAD 0 0 1 0\nF MOM 0 0 2 0\nG OTHER X Y 2 0\n")
    p = run_cli("eval", "--calls", trio_vcf, "--ped", ped)
    assert p.returncode == 0, p.stderr
    line = "Mendelian errors: 1 of 3 sites called in all three (33.33 %); de novo calls for KID: 1"
    assert p.stdout.splitlines() == [line]
    ped.write_text("G OTHER X Y 2 0\n")
    p = run_cli("eval", "--calls", trio_vcf, "--ped", ped)
    assert p.returncode == 2 and "no trio" in p.stderr and "Traceback" not in p.stderr, p.stderr


def test_cli_mendel_with_truth(tmp_path: Path, trio_vcf: str) -> None:
    fa = tmp_path / "ref.fa"
    fa.write_text(">chr1\n" + "A" * 100 + "\n")
    pysam.faidx(str(fa))
    truth = write_vcf(tmp_path / "truth.vcf", [("chr1", 10, "A", "C", ("0/1",)), ("chr1", 20, "A", "C", ("0/1",))],
                      samples=("KID",))
    p = run_cli("eval", "--truth", truth, "--calls", trio_vcf, "--calls-sample", "KID", "-f", fa,
                "--mendel", "KID,DAD,MOM")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["type", "level", "TP"] and lines[-1].startswith("Mendelian errors: 1 of 3")


def test_cli_errors(tmp_path: Path, trio_vcf: str) -> None:
    for args, message in [
        (("--calls", trio_vcf), "--truth is required"),
        (("--calls", trio_vcf, "--truth", trio_vcf), "--ref is required"),
        (("--calls", trio_vcf, "--mendel", "KID,DAD"), "CHILD,FATHER,MOTHER"),
        (("--calls", trio_vcf, "--mendel", "KID,DAD,NOBODY"), "NOBODY"),
        (("--calls", str(tmp_path / "none.vcf"), "--mendel", "KID,DAD,MOM"), "none.vcf"),
    ]:
        p = run_cli("eval", *args)
        assert p.returncode == 2, (args, p.stdout, p.stderr)
        assert message in p.stderr and "Traceback" not in p.stderr, (args, p.stderr)
