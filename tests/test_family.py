"""Pedigree (PED), ploidy tables and sex (inferred from BAM index counts, PED, --sex): synthetic data only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pysam
import pytest

from gmscall.errors import InputError
from gmscall.family import (
    Pedigree,
    PloidyMap,
    infer_sex,
    parse_sex_overrides,
    read_ped,
    resolve_sexes,
)
from gmscall.synth import make_reference

# --------------------------------------------------------------------------------------------
# PED


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


TRIO_PED = """\
# FamilyID IndividualID PaternalID MaternalID Sex Phenotype
FAM1 dad 0 0 1 -9

FAM1 mom 0 0 2 -9
FAM1 kid dad mom -9 2 A A C C
FAM2 loner 0 0 0 1
"""


@pytest.fixture()
def trio_ped(tmp_path: Path) -> str:
    return write(tmp_path, "trio.ped", TRIO_PED)


def test_ped_trio_parsed_in_file_order_skipping_comments_and_blank_lines(trio_ped: str) -> None:
    ped = read_ped(trio_ped)
    assert [ind.id for ind in ped.individuals] == ["dad", "mom", "kid", "loner"]
    kid = ped.individuals[2]
    assert (kid.family, kid.father, kid.mother, kid.sex, kid.line) == ("FAM1", "dad", "mom", None, 5)
    assert ped.individuals[0].father is None and ped.individuals[0].mother is None
    sexes = [ped.sex_of(name) for name in ("dad", "mom", "kid", "loner", "stranger")]
    assert sexes == ["M", "F", None, None, None]


def test_ped_trios_are_sample_indices_in_sample_order(trio_ped: str) -> None:
    ped = read_ped(trio_ped)
    assert ped.trios(["mom", "kid", "dad", "other"]) == [(1, 2, 0)]
    assert ped.trios(["kid", "dad"]) == []  # the mother is not called: no trio


def test_ped_trios_of_two_children_follow_sample_order(tmp_path: Path) -> None:
    ped = read_ped(write(tmp_path, "sibs.ped", "F p 0 0 1 0\nF m 0 0 2 0\nF c1 p m 1 0\nF c2 p m 2 0\n"))
    assert ped.trios(["c2", "p", "m", "c1"]) == [(0, 1, 2), (3, 1, 2)]


def test_ped_parent_without_a_line_takes_its_sex_from_its_role(tmp_path: Path) -> None:
    ped = read_ped(write(tmp_path, "p.ped", "F kid pa ma 2 0\n"))
    assert ped.sex_of("pa") == "M" and ped.sex_of("ma") == "F"
    assert ped.sex_with_reason("pa") == ("M", f"PED {ped.path} line 1: father of kid")
    assert ped.trios(["kid", "pa", "ma"]) == [(0, 1, 2)]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("F a 0 0 1\n", ":1: a PED line needs 6 columns"),
        ("F a 0 0 1 0\n\nF b 0 0 1\n", ":3: a PED line needs 6 columns"),
        ("F a 0 0 1 0\nF a 0 0 1 0\n", ":2: individual a is listed twice (first on line 1)"),
        ("F a a 0 1 0\n", ":1: individual a is its own father"),
        ("F a 0 a 2 0\n", ":1: individual a is its own mother"),
        ("F p 0 0 2 0\nF m 0 0 2 0\nF c p m 1 0\n", ":3: father of c is p, whose sex is female on line 1"),
        ("F p 0 0 1 0\nF m 0 0 1 0\nF c p m 1 0\n", ":3: mother of c is m, whose sex is male on line 2"),
        ("F a 0 0 M 0\n", ":1: sex code 'M' of a is not 1 (male), 2 (female) or 0/-9 (unknown)"),
        ("F a 0 0 3 0\n", ":1: sex code '3' of a"),
        ("F c1 x y 0 0\nF c2 y z 0 0\n", ":2: y is the father of c2 but the mother of c1 on line 1"),
        ("F c x x 0 0\n", ":1: x is both father and mother of c"),
        ("# only a comment\n\n", ": no individuals"),
    ],
)
def test_ped_errors_name_the_file_and_line(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, "bad.ped", text)
    with pytest.raises(InputError) as err:
        read_ped(path)
    assert f"PED {path}" in str(err.value)
    assert needle in str(err.value)


def test_ped_cycle_is_an_error(tmp_path: Path) -> None:
    # a is a parent of b, b of c, c of a
    path = write(tmp_path, "cycle.ped", "F a c 0 0 0\nF b a 0 0 0\nF c b 0 0 0\nF d 0 0 1 0\n")
    with pytest.raises(InputError, match=r"cycle.ped:1: the ancestry is a cycle \(a -> c -> b -> a"):
        read_ped(path)


def test_ped_two_individual_cycle_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "cycle2.ped", "F x 0 0 1 0\nF a 0 b 1 0\nF b a 0 2 0\n")
    cycle = r"cycle2.ped:[23]: the ancestry is a cycle \((a -> b -> a|b -> a -> b)"
    with pytest.raises(InputError, match=cycle):
        read_ped(path)


def test_ped_deep_pedigree_is_not_a_cycle(tmp_path: Path) -> None:
    # 2,000 generations of one line: the cycle check is iterative, not recursive
    lines = ["F g0 0 0 1 0"] + [f"F g{k} g{k - 1} 0 1 0" for k in range(1, 2000)]
    ped = read_ped(write(tmp_path, "deep.ped", "\n".join(lines) + "\n"))
    assert len(ped.individuals) == 2000


def test_ped_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="missing.ped: cannot read it"):
        read_ped(tmp_path / "missing.ped")


def test_check_samples_accepts_matching_names_and_unrelated_extras(trio_ped: str) -> None:
    ped = read_ped(trio_ped)
    ped.check_samples(["kid", "dad", "mom"], trio_ped)  # 'loner' is unrelated to every sample
    ped.check_samples(["loner", "someone_else"], trio_ped)  # samples absent from the PED are fine


def test_check_samples_without_any_ped_name_is_an_error(trio_ped: str) -> None:
    with pytest.raises(InputError) as err:
        read_ped(trio_ped).check_samples(["NA1", "NA2", "NA3"], trio_ped)
    assert str(err.value).startswith(f"PED {trio_ped} names none of the samples (NA1, NA2, NA3)")


def test_check_samples_missing_relative_is_an_error_naming_its_line(trio_ped: str) -> None:
    ped = read_ped(trio_ped)
    with pytest.raises(InputError) as err:
        ped.check_samples(["HG_kid", "dad", "mom"], trio_ped)  # the child has another name in the BAM
    message = str(err.value)
    assert message.startswith(f"PED {trio_ped}:5: sample kid is not among the BAMs' samples "
                              "(HG_kid, dad, mom)")
    assert "must match the @RG SM names (or --sample)" in message
    with pytest.raises(InputError, match=r":2: sample dad is not among"):
        ped.check_samples(["kid", "mom"], trio_ped)  # a parent with its own line is missing


def test_check_samples_allows_a_parent_named_only_in_a_child_line(tmp_path: Path) -> None:
    path = write(tmp_path, "duo.ped", "F kid pa ma 2 0\nF ma 0 0 2 0\n")
    read_ped(path).check_samples(["kid", "ma"])  # 'pa' has no line: not sequenced, not an error


def test_check_samples_long_sample_lists_are_cut(trio_ped: str) -> None:
    samples = [f"S{k}" for k in range(40)]
    with pytest.raises(InputError, match=r"\(S0, S1, .*S9, \.\.\. \(40 in all\)\)"):
        read_ped(trio_ped).check_samples(samples)


# --------------------------------------------------------------------------------------------
# ploidy

GRCH38_X = 156_040_895
GRCH38_Y = 57_227_415
GRCH37_X = 155_270_560


@pytest.mark.parametrize("x_name", ["chrX", "X"])
def test_grch38_chrx_is_haploid_in_males_outside_the_pars(x_name: str) -> None:
    ploidy = PloidyMap.builtin("GRCh38")
    assert ploidy.intervals(x_name, 0, GRCH38_X, "M") == [
        (0, 10_000, 1),  # before PAR1 (chrX:10,001-2,781,479)
        (10_000, 2_781_479, 2),  # PAR1
        (2_781_479, 155_701_382, 1),
        (155_701_382, GRCH38_X, 2),  # PAR2 (chrX:155,701,383-156,030,895) and the N tail
    ]
    assert ploidy.intervals(x_name, 0, GRCH38_X, "F") == [(0, GRCH38_X, 2)]
    assert ploidy.intervals(x_name, 0, GRCH38_X, None) == [(0, GRCH38_X, 2)]


@pytest.mark.parametrize("x_name", ["chrX", "X"])
def test_grch37_chrx_is_haploid_in_males_outside_the_pars(x_name: str) -> None:
    ploidy = PloidyMap.builtin("GRCh37")
    assert ploidy.intervals(x_name, 0, GRCH37_X, "M") == [
        (0, 60_000, 1),
        (60_000, 2_699_520, 2),  # PAR1 X:60,001-2,699,520
        (2_699_520, 154_931_043, 1),
        (154_931_043, GRCH37_X, 2),  # PAR2 X:154,931,044-155,260,560
    ]


@pytest.mark.parametrize("name", ["GRCh38", "GRCh37"])
@pytest.mark.parametrize("y_name", ["chrY", "Y"])
def test_builtin_chry_haploid_in_males_absent_in_females(name: str, y_name: str) -> None:
    ploidy = PloidyMap.builtin(name)
    span = (1_000_000, 1_000_500)
    assert ploidy.intervals(y_name, *span, "M") == [(*span, 1)]
    assert ploidy.intervals(y_name, *span, "F") == [(*span, 0)]
    assert ploidy.intervals(y_name, *span, None) == [(*span, 2)]  # unknown sex: '*' rules only


@pytest.mark.parametrize("name", ["GRCh38", "GRCh37"])
@pytest.mark.parametrize("m_name", ["chrM", "MT", "M", "chrMT"])
def test_builtin_mitochondrion_is_haploid_for_every_sex(name: str, m_name: str) -> None:
    ploidy = PloidyMap.builtin(name)
    for sex in ("M", "F", None):
        assert ploidy.intervals(m_name, 0, 16_569, sex) == [(0, 16_569, 1)]


def test_builtin_autosomes_are_diploid_and_names_are_case_insensitive() -> None:
    ploidy = PloidyMap.builtin("grch38")
    assert ploidy.source == "GRCh38 (built in)"
    for contig in ("chr1", "1", "chr22", "chrUn_KI270302v1"):
        assert ploidy.intervals(contig, 5, 500, "M") == [(5, 500, 2)]


def test_unknown_builtin_lists_the_choices() -> None:
    with pytest.raises(InputError, match=r"--ploidy hg99: not a built-in ploidy table; choose one of GRCh38, "
                                         r"GRCh37 or give a file of CHROM FROM TO SEX PLOIDY"):
        PloidyMap.builtin("hg99")


def test_default_is_diploid_everywhere() -> None:
    ploidy = PloidyMap.default()
    for contig in ("chr1", "chrX", "chrY", "chrM"):
        for sex in ("M", "F", None):
            assert ploidy.intervals(contig, 0, 1000, sex) == [(0, 1000, 2)]
    assert ploidy.intervals("chr1", 7, 7, "M") == []


def test_from_option(tmp_path: Path) -> None:
    assert PloidyMap.from_option(None) == PloidyMap.default()
    assert PloidyMap.from_option("GRCh37") == PloidyMap.builtin("GRCh37")
    path = write(tmp_path, "p.txt", "chr1 1 10 * 1\n")
    assert PloidyMap.from_option(path).intervals("1", 0, 20, "F") == [(0, 10, 1), (10, 20, 2)]
    with pytest.raises(InputError, match="no such file, and not a built-in table"):
        PloidyMap.from_option(str(tmp_path / "absent.txt"))


CUSTOM = """\
# bcftools --ploidy format
* * * * 1
* * * F 2
chrA 11 20 M 2
chrA 21 30 * 2
chrA 26 35 * 0
chrA 41 50 * 0
chrA 41 50 F 1
chrB 1 100 F 0
"""


def test_custom_file_defaults_precedence_and_merging(tmp_path: Path) -> None:
    ploidy = PloidyMap.from_file(write(tmp_path, "custom.txt", CUSTOM))
    # male default 1 ('* * * *'); 11-20 M 2 and 21-25 '*' 2 merge; 26-35 the later line (0) wins
    assert ploidy.intervals("A", 0, 60, "M") == [(0, 10, 1), (10, 25, 2), (25, 35, 0), (35, 40, 1),
                                               (40, 50, 0), (50, 60, 1)]
    # female default 2; 41-50: the F rule beats the '*' rule though it is the later line anyway
    assert ploidy.intervals("chrA", 0, 60, "F") == [(0, 25, 2), (25, 35, 0), (35, 40, 2), (40, 50, 1),
                                                  (50, 60, 2)]
    # unknown sex: the '*' rules and default only (the M rule on 11-20 does not apply)
    assert ploidy.intervals("chrA", 0, 60, None) == [(0, 20, 1), (20, 25, 2), (25, 35, 0), (35, 40, 1),
                                                   (40, 50, 0), (50, 60, 1)]
    assert ploidy.intervals("chrB", 50, 150, "F") == [(50, 100, 0), (100, 150, 2)]
    assert ploidy.intervals("chrB", 50, 150, "M") == [(50, 150, 1)]


def test_specific_sex_beats_an_earlier_or_later_star_rule(tmp_path: Path) -> None:
    first = PloidyMap.parse("c 1 10 M 2\nc 1 10 * 1\n", "inline")
    second = PloidyMap.parse("c 1 10 * 1\nc 1 10 M 2\n", "inline")
    for ploidy in (first, second):
        assert ploidy.intervals("c", 0, 10, "M") == [(0, 10, 2)]
        assert ploidy.intervals("c", 0, 10, "F") == [(0, 10, 1)]


def _per_base_oracle(rules: list[tuple[int, int, str, int]], defaults: Mapping[str, int], sex: str | None,
                     length: int) -> list[int]:
    """Per-base ploidy by brute force: own-sex rules over '*' rules, later lines over earlier ones."""
    base = np.full(length, defaults.get(sex, defaults.get("*", 2)) if sex else defaults.get("*", 2))
    for specific in (False, True):
        for lo, hi, rule_sex, ploidy in rules:  # 1-based inclusive
            if (rule_sex != "*") == specific and rule_sex in ("*", sex):
                base[lo - 1 : hi] = ploidy
    return base.tolist()


@pytest.mark.parametrize("seed", range(6))
def test_intervals_cover_the_span_exactly_and_match_a_per_base_oracle(seed: int) -> None:
    rng = np.random.default_rng(seed)
    length = 200
    rules = []
    for _ in range(12):
        lo = int(rng.integers(1, length + 1))
        hi = int(rng.integers(lo, min(length, lo + 60) + 1))
        rules.append((lo, hi, str(rng.choice(["M", "F", "*"])), int(rng.integers(0, 3))))
    defaults = {"*": int(rng.integers(0, 3)), "M": int(rng.integers(0, 3))}
    text = "".join(f"c {lo} {hi} {sex} {p}\n" for lo, hi, sex, p in rules)
    text += f"* * * * {defaults['*']}\n* * * M {defaults['M']}\n"
    ploidy = PloidyMap.parse(text, f"random {seed}")
    for sex in ("M", "F", None):
        truth = _per_base_oracle(rules, defaults, sex, length)
        for _ in range(20):
            start = int(rng.integers(0, length))
            end = int(rng.integers(start, length + 1))
            pieces = ploidy.intervals("chrc", start, end, sex)
            if start == end:
                assert pieces == []
                continue
            assert pieces[0][0] == start and pieces[-1][1] == end
            for (_, hi, p), (lo2, _, p2) in zip(pieces, pieces[1:]):
                assert hi == lo2 and p != p2  # contiguous, and neighbours of equal ploidy merged
            assert [p for lo, hi, p in pieces for _ in range(lo, hi)] == truth[start:end]


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("chrX 1 100 M", "expected 5 columns CHROM FROM TO SEX PLOIDY"),
        ("chrX 1 100 M 1 extra", "got 6"),
        ("chrX one 100 M 1", "FROM and TO must be integers"),
        ("chrX 1 1e3 M 1", "FROM and TO must be integers"),
        ("chrX * * M 1", "FROM and TO must be integers"),
        ("chrX 200 100 M 1", "FROM 200 is after TO 100"),
        ("chrX 0 100 M 1", "FROM 0 must be >= 1"),
        ("chrX 1 100 M 3", "ploidy '3' is not 0, 1 or 2"),
        ("chrX 1 100 M -1", "ploidy '-1' is not 0, 1 or 2"),
        ("chrX 1 100 M x", "ploidy 'x' is not 0, 1 or 2"),
        ("chrX 1 100 male 1", "sex 'male' is not M, F or *"),
        ("* 1 100 M 1", "a default line is '* * * SEX PLOIDY'"),
    ],
)
def test_bad_ploidy_lines_name_the_file_and_line(tmp_path: Path, line: str, needle: str) -> None:
    path = write(tmp_path, "bad.ploidy", f"# header\nchr1 1 10 * 2\n{line}\n")
    with pytest.raises(InputError) as err:
        PloidyMap.from_file(path)
    assert f"ploidy file {path}:3: " in str(err.value)
    assert needle in str(err.value)


def test_unreadable_ploidy_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="absent.ploidy: cannot read it"):
        PloidyMap.from_file(tmp_path / "absent.ploidy")


# --------------------------------------------------------------------------------------------
# sex inference from BAM index counts

READ_LEN = 100


def write_multi_contig_bam(path: Path, contigs: Mapping[str, str], n_reads: Mapping[str, int],
                           samples: Sequence[str] = ("S1",)) -> str:
    """Coordinate-sorted, indexed BAM with ``n_reads[contig]`` evenly spaced exact-match reads per
    contig (gmscall.synth.write_bam writes one contig only)."""
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": name, "LN": len(seq)} for name, seq in contigs.items()],
        "RG": [{"ID": f"rg{k}", "SM": sample} for k, sample in enumerate(samples)],
    }
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for tid, (name, seq) in enumerate(contigs.items()):
            count = n_reads.get(name, 0)
            starts = np.linspace(0, len(seq) - READ_LEN, count).astype(int) if count else []
            for k, start in enumerate(starts):
                read = pysam.AlignedSegment(out.header)
                read.query_name = f"{name}_{k}"
                read.reference_id = tid
                read.reference_start = int(start)
                read.mapping_quality = 60
                read.cigartuples = [(0, READ_LEN)]
                read.query_sequence = seq[start : start + READ_LEN].upper()
                read.query_qualities = pysam.qualitystring_to_array("I" * READ_LEN)
                read.set_tag("RG", f"rg{k % len(samples)}")
                out.write(read)
    pysam.index(str(path))
    return str(path)


def reference(prefix: str = "chr") -> dict[str, str]:
    """chr1 (autosome) and chrX of 20 kb, chrY of 10 kb."""
    sizes = {"1": 20_000, "X": 20_000, "Y": 10_000}
    return {prefix + name: make_reference(size, seed=k, contig=prefix + name).seq
            for k, (name, size) in enumerate(sizes.items())}


def contig_list(contigs: Mapping[str, str]) -> list[tuple[str, int]]:
    return [(name, len(seq)) for name, seq in contigs.items()]


@pytest.mark.parametrize("prefix", ["chr", ""])
def test_infer_male_from_half_x_and_some_y(tmp_path: Path, prefix: str) -> None:
    ref = reference(prefix)
    # autosome 400 reads / 20 kb; X at half that density; Y 60 reads / 10 kb = 0.3 of autosomal
    counts = {f"{prefix}1": 400, f"{prefix}X": 200, f"{prefix}Y": 60}
    bam = write_multi_contig_bam(tmp_path / "male.bam", ref, counts)
    assert infer_sex(bam, contig_list(ref)) == ("M", "X/autosome depth 0.50, Y/autosome 0.30: male")


@pytest.mark.parametrize("prefix", ["chr", ""])
def test_infer_female_from_full_x_and_no_y(tmp_path: Path, prefix: str) -> None:
    ref = reference(prefix)
    bam = write_multi_contig_bam(tmp_path / "female.bam", ref, {f"{prefix}1": 400, f"{prefix}X": 400})
    assert infer_sex(bam, contig_list(ref)) == ("F", "X/autosome depth 1.00, Y/autosome 0.00: female")


def test_infer_female_despite_a_few_mismapped_y_reads(tmp_path: Path) -> None:
    ref = reference()
    bam = write_multi_contig_bam(tmp_path / "f.bam", ref, {"chr1": 400, "chrX": 380, "chrY": 4})
    assert infer_sex(bam, contig_list(ref)) == ("F", "X/autosome depth 0.95, Y/autosome 0.02: female")


@pytest.mark.parametrize(
    ("x_reads", "y_reads", "ratios"),
    [(400, 60, "X/autosome depth 1.00, Y/autosome 0.30"),  # XXY-like
     (200, 0, "X/autosome depth 0.50, Y/autosome 0.00"),  # X0-like
     (290, 10, "X/autosome depth 0.72, Y/autosome 0.05")],  # between the cut-offs
)
def test_infer_mixed_signals_give_no_sex(tmp_path: Path, x_reads: int, y_reads: int, ratios: str) -> None:
    ref = reference()
    bam = write_multi_contig_bam(tmp_path / "mixed.bam", ref, {"chr1": 400, "chrX": x_reads, "chrY": y_reads})
    assert infer_sex(bam, contig_list(ref)) == (None, f"{ratios}: ambiguous, sex not inferred")


def test_infer_without_x_contig_or_reads(tmp_path: Path) -> None:
    ref = reference()
    autosome_only = {"chr1": ref["chr1"]}
    bam = write_multi_contig_bam(tmp_path / "a.bam", autosome_only, {"chr1": 400})
    no_x = (None, "no chrX/X contig in the header: sex not inferred")
    assert infer_sex(bam, contig_list(autosome_only)) == no_x
    empty = write_multi_contig_bam(tmp_path / "empty.bam", ref, {"chrX": 50})
    assert infer_sex(empty, contig_list(ref)) == (None, "no reads on the autosomes: sex not inferred")
    no_x_reads = write_multi_contig_bam(tmp_path / "nox.bam", ref, {"chr1": 400})
    sex, reason = infer_sex(no_x_reads, contig_list(ref))
    assert sex is None and reason.startswith("no reads on chrX")


def test_infer_several_samples_in_one_bam_asks_for_sex(tmp_path: Path) -> None:
    ref = reference()
    bam = write_multi_contig_bam(tmp_path / "two.bam", ref, {"chr1": 400, "chrX": 200, "chrY": 60},
                                 samples=("S1", "S2"))
    sex, reason = infer_sex(bam, contig_list(ref), samples_in_bam=2)
    assert sex is None
    assert reason == "2 samples in one BAM: the index counts cannot tell them apart; give --sex"


def test_infer_without_index_gives_no_sex(tmp_path: Path) -> None:
    ref = reference()
    bam = write_multi_contig_bam(tmp_path / "noidx.bam", ref, {"chr1": 40, "chrX": 20})
    Path(bam + ".bai").unlink()
    sex, reason = infer_sex(bam, contig_list(ref))
    assert sex is None and reason.startswith("no read counts in the index")


# --------------------------------------------------------------------------------------------
# --sex and precedence


def test_parse_sex_overrides() -> None:
    got = parse_sex_overrides(["A=M", "B=f", "A=M", "x=y=F"], ["A", "B", "x=y"])
    assert got == {"A": "M", "B": "F", "x=y": "F"}
    assert parse_sex_overrides([], ["A"]) == {}


@pytest.mark.parametrize(
    ("value", "needle"),
    [("A", "--sex A: expected SAMPLE=M or SAMPLE=F"),
     ("=M", "expected SAMPLE=M"),
     ("A=X", "--sex A=X: sex 'X' is not M or F"),
     ("C=M", "--sex C=M: C is not among the BAMs' samples (A, B)")],
)
def test_parse_sex_override_errors(value: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        parse_sex_overrides([value], ["A", "B"])


def test_parse_sex_override_contradiction() -> None:
    with pytest.raises(InputError, match=r"--sex gives A two sexes \(M and F\)"):
        parse_sex_overrides(["A=M", "A=F"], ["A", "B"])


def test_resolve_sexes_override_beats_ped_beats_inferred(tmp_path: Path) -> None:
    path = write(tmp_path, "fam.ped", "F a 0 0 1 0\nF b 0 0 2 0\nF c 0 0 0 0\n")
    ped = read_ped(path)
    male = "X/autosome depth 0.50, Y/autosome 0.30: male"
    inferred = {
        "a": ("M", male),
        "b": ("M", male),
        "c": ("F", "X/autosome depth 1.00, Y/autosome 0.00: female"),
        "d": (None, "X/autosome depth 0.72, Y/autosome 0.05: ambiguous, sex not inferred"),
    }
    got = resolve_sexes(["a", "b", "c", "d", "e"], ped, {"a": "F"}, inferred)
    assert got == {
        "a": ("F", f"--sex (over male in PED {path} line 1); but depth suggests male ({male})"),
        "b": ("F", f"PED {path} line 2; but depth suggests male ({male})"),
        "c": ("F", "inferred from depth: X/autosome depth 1.00, Y/autosome 0.00: female"),
        "d": (None, ("unknown (no --sex, no PED sex; depth: X/autosome depth 0.72, Y/autosome 0.05: "
                     "ambiguous, sex not inferred)")),
        "e": (None, "unknown (no --sex, no PED sex; depth: not inferred)"),
    }


def test_resolve_sexes_without_ped_and_agreeing_sources() -> None:
    inferred = {"a": ("M", "X/autosome depth 0.50, Y/autosome 0.30: male")}
    assert resolve_sexes(["a"], None, {"a": "M"}, inferred) == {"a": ("M", "--sex")}
    assert resolve_sexes(["a"], None, {}, inferred)["a"][0] == "M"


def test_pedigree_is_frozen(trio_ped: str) -> None:
    ped = read_ped(trio_ped)
    assert isinstance(ped, Pedigree)
    with pytest.raises(AttributeError):
        ped.path = "other"  # type: ignore[misc]
