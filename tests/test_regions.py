"""gmscall.regions: region syntax, BED files, the shard grid and the BAM/reference contig check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("gmscall", reason="gmscall is not built/installed")

from gmscall.errors import InputError
from gmscall.regions import Region, make_shards, merge_regions, parse_region, read_bed, shared_contigs

CONTIGS = {"chr1": 10_000, "chr2": 5_000, "chrM": 300}
PLAIN = {"1": 10_000, "2": 5_000}


# --------------------------------------------------------------------------------------------
# parse_region


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("chr1", Region("chr1", 0, 10_000)),
        ("chr2:100", Region("chr2", 99, 100)),  # one position, as in samtools
        ("chr2:100-200", Region("chr2", 99, 200)),
        ("chr1:1-1", Region("chr1", 0, 1)),
        ("chr1:10,000", Region("chr1", 9_999, 10_000)),
        ("chr1:1,001-2,000", Region("chr1", 1_000, 2_000)),
        ("chr1:9001-", Region("chr1", 9_000, 10_000)),  # open end: to the end of the contig
        ("  chrM:5-300 ", Region("chrM", 4, 300)),
        ("chrM:300-300", Region("chrM", 299, 300)),
    ],
)
def test_parse_region(text: str, want: Region) -> None:
    got = parse_region(text, CONTIGS)
    assert got == want
    assert len(got) == want.end - want.start


def test_region_str_roundtrip() -> None:
    r = parse_region("chr2:100-200", CONTIGS)
    assert str(r) == "chr2:100-200" and parse_region(str(r), CONTIGS) == r


def test_contig_name_with_colon() -> None:
    contigs = {"HLA-A*01:01:01:01": 3_000, "chr1": 100}
    assert parse_region("HLA-A*01:01:01:01", contigs) == Region("HLA-A*01:01:01:01", 0, 3_000)
    assert parse_region("HLA-A*01:01:01:01:11-20", contigs) == Region("HLA-A*01:01:01:01", 10, 20)


@pytest.mark.parametrize(
    ("text", "contigs", "pattern"),
    [
        ("chrX:1-10", CONTIGS, r"region 'chrX:1-10': contig 'chrX' is not in both"),
        ("1:5-10", CONTIGS, r"did you mean 'chr1'\? the files use 'chr' prefix"),
        ("chr2", PLAIN, r"did you mean '2'\? the files use no 'chr' prefix"),
        ("chr1:200-100", CONTIGS, r"start 200 is after end 100"),
        ("chr1:0-100", CONTIGS, r"start must be >= 1"),
        ("chr1:9000-10001", CONTIGS, r"end 10001 is past the end of chr1 \(length 10000\)"),
        ("chrM:301", CONTIGS, r"past the end of chrM"),
        ("", CONTIGS, r"expected CONTIG, CONTIG:START or CONTIG:START-END"),
        ("chr1:1-2-3", CONTIGS, r"region 'chr1:1-2-3': expected CONTIG, CONTIG:START or CONTIG:START-END"),
        ("chr1:abc", CONTIGS, r"region 'chr1:abc': expected CONTIG"),
        ("chr1:-5", CONTIGS, r"region 'chr1:-5': expected CONTIG"),
        ("chr1:5..10", CONTIGS, r"region 'chr1:5..10': expected CONTIG"),
    ],
)
def test_parse_region_errors(text: str, contigs: dict, pattern: str) -> None:
    with pytest.raises(InputError, match=pattern):
        parse_region(text, contigs)


def test_unknown_contig_without_near_name_has_no_hint() -> None:
    with pytest.raises(InputError) as exc:
        parse_region("scaffold_9:1-5", CONTIGS)
    assert "did you mean" not in str(exc.value)


# --------------------------------------------------------------------------------------------
# read_bed


def _bed(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.bed"
    p.write_text(text)
    return p


def test_read_bed_sorts_and_merges(tmp_path: Path) -> None:
    lines = [
        "track name=test",
        "# comment",
        "browser position chr1:1-100",
        "chr2\t100\t200\tname\t0\t+",
        "chr1\t500\t600",
        "chr1\t100\t200",
        "chr1\t150\t300",  # overlaps the previous
        "chr1\t300\t310",  # touches: merged (half-open)
        "chr1\t311\t320",  # a 1-bp gap: kept apart
        "",
        "chrM 0 300",  # whitespace-separated
        "chr2\t50\t50",  # empty interval: dropped
        "chr1\t520\t550",  # inside another
    ]
    bed = _bed(tmp_path, "".join(line + "\n" for line in lines))
    assert read_bed(bed, CONTIGS) == [
        Region("chr1", 100, 310), Region("chr1", 311, 320), Region("chr1", 500, 600),
        Region("chr2", 100, 200), Region("chrM", 0, 300),
    ]


def test_read_bed_follows_contig_order_not_names(tmp_path: Path) -> None:
    bed = _bed(tmp_path, "chrM\t0\t10\nchr2\t0\t10\nchr1\t0\t10\n")
    order = {"chrM": 300, "chr2": 5_000, "chr1": 10_000}
    assert [r.contig for r in read_bed(bed, order)] == ["chrM", "chr2", "chr1"]


@pytest.mark.parametrize(
    ("line", "pattern"),
    [
        ("chr1\t100", r"r\.bed:3: a BED line needs CONTIG START END"),
        ("chr1\tx\t200", r"r\.bed:3: START and END must be integers"),
        ("chr1\t1.5\t200", r"r\.bed:3: START and END must be integers"),
        ("chr1\t300\t200", r"r\.bed:3: need 0 <= START <= END, got 300 200"),
        ("chr1\t-1\t200", r"r\.bed:3: need 0 <= START <= END"),
        ("chr2\t4000\t5001", r"r\.bed:3: END 5001 is past the end of chr2 \(5000\)"),
        ("chrX\t1\t2", r"r\.bed:3: contig 'chrX' is not in both"),
        ("2\t1\t2", r"r\.bed:3: contig '2' .*did you mean 'chr2'"),
    ],
)
def test_read_bed_errors_name_the_line(tmp_path: Path, line: str, pattern: str) -> None:
    bed = _bed(tmp_path, f"# header\nchr1\t0\t10\n{line}\nchr1\t20\t30\n")
    with pytest.raises(InputError, match=pattern):
        read_bed(bed, CONTIGS)


def test_read_bed_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=re.escape(f"{tmp_path / 'none.bed'}: cannot read BED file")):
        read_bed(tmp_path / "none.bed", CONTIGS)


def test_read_bed_empty_file(tmp_path: Path) -> None:
    assert read_bed(_bed(tmp_path, "# nothing\n"), CONTIGS) == []


def test_merge_regions() -> None:
    order = {c: k for k, c in enumerate(CONTIGS)}
    regs = [Region("chr2", 10, 20), Region("chr1", 5, 8), Region("chr1", 0, 6), Region("chr2", 20, 30)]
    assert merge_regions(regs, order) == [Region("chr1", 0, 8), Region("chr2", 10, 30)]


# --------------------------------------------------------------------------------------------
# make_shards


def test_shards_on_fixed_grid() -> None:
    regs = [Region("chr1", 150, 1050), Region("chr1", 2000, 2100), Region("chr2", 0, 1000)]
    assert make_shards(regs, 500) == [
        Region("chr1", 150, 500), Region("chr1", 500, 1000), Region("chr1", 1000, 1050),
        Region("chr1", 2000, 2100),
        Region("chr2", 0, 500), Region("chr2", 500, 1000),
    ]


@pytest.mark.parametrize("size", [1, 7, 333, 1_000, 4_096, 1_000_000])
def test_shards_tile_regions_and_boundaries_do_not_depend_on_regions(size: int) -> None:
    regs = [Region("chr1", 0, 10_000), Region("chr2", 17, 4_999)]
    shards = make_shards(regs, size)
    for r in regs:
        mine = [s for s in shards if s.contig == r.contig]
        assert mine[0].start == r.start and mine[-1].end == r.end
        assert all(a.end == b.start for a, b in zip(mine, mine[1:]))
        assert all(0 < len(s) <= size for s in mine)
        # every boundary inside a region is on the grid of the contig
        assert all(s.start % size == 0 for s in mine[1:])
    # cutting a region in two at any point gives the same shards as the whole region
    halves = make_shards([Region("chr1", 0, 4_321), Region("chr1", 4_321, 10_000)], size)
    cut = {s.start for s in halves} | {s.end for s in halves}
    whole = {s.start for s in make_shards([regs[0]], size)} | {s.end for s in make_shards([regs[0]], size)}
    assert cut - {4_321} == whole - {4_321}


@pytest.mark.parametrize("size", [0, -5])
def test_shard_size_must_be_positive(size: int) -> None:
    with pytest.raises(InputError, match="shard size must be >= 1"):
        make_shards([Region("chr1", 0, 10)], size)


# --------------------------------------------------------------------------------------------
# shared_contigs


def test_shared_contigs_in_bam_order() -> None:
    bam = [("chr2", 5_000), ("chr1", 10_000), ("chrUn", 77)]
    ref = [("chr1", 10_000), ("chr2", 5_000), ("chrM", 300)]
    got = shared_contigs(bam, ref, "x.bam", "x.fa")
    assert got == {"chr2": 5_000, "chr1": 10_000} and list(got) == ["chr2", "chr1"]


def test_shared_contigs_length_mismatch() -> None:
    with pytest.raises(InputError, match=r"contig 'chr1' has length 10000 in x\.bam but 9999 in x\.fa"):
        shared_contigs([("chr1", 10_000)], [("chr1", 9_999)], "x.bam", "x.fa")


def test_shared_contigs_none_shared() -> None:
    with pytest.raises(InputError, match=r"x\.bam and x\.fa share no contig name.*'chr' prefix"):
        shared_contigs([("1", 10), ("2", 20)], [("chr1", 10), ("chr2", 20)], "x.bam", "x.fa")
