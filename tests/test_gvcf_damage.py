"""Damaged gVCFs (issue #25), a property test with a fixed seed: one line of a valid gVCF is damaged
(each field, each kind of damage: not a number, negative, too many or too few values, missing
columns, END before POS, GT out of range, empty ALT, a REF that is not bases, random bytes in
place of the line; a line twice; a structured header line replaced by random bytes or cut in
half) or the file is cut short, the file is bgzipped and indexed again, and

- `gmscall genotype` of it with a second, valid gVCF exits 2 with exactly one line on stderr, no
  traceback and no output file, or exits 0 with the records of the undamaged file;
- `gmscall check` of it exits 2 and names the damaged line (file:LINE:), every time.

The commands run in this process (cli.main), stderr captured at the file-descriptor level, so the
~150 cases take seconds, not a Python start each."""

from __future__ import annotations

import gzip
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pysam
import pytest

import gmscall
from gmscall import synth
from gmscall.cli import main
from gmscall.options import CallOptions

SEED = 25


@dataclass
class Pair:
    root: Path
    fasta: Path
    dad: Path  # the gVCF that is damaged
    mum: Path  # the valid one beside it
    lines: list[str]  # DAD's text lines
    baseline: list[str]  # the records (no '##' lines) of genotyping the undamaged pair
    variants: list[int]  # indices into `lines`: DAD's variant records
    needed: list[int]  # DAD's blocks that cover a site of MUM (genotype parses them)
    other: list[int]  # DAD's blocks genotype does not parse


def _records(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if not ln.startswith("##")]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    root = tmp_path_factory.mktemp("damage")
    fam = synth.make_family(root, length=12_000, depth=12, seed=8, n_snv=20)
    for name in ("DAD", "MUM"):
        gmscall.call(fam.bams[name], fam.fasta, output=root / f"{name}.g.vcf.gz", options=CallOptions(gvcf=True))
    dad, mum = root / "DAD.g.vcf.gz", root / "MUM.g.vcf.gz"
    out = root / "baseline.vcf"
    assert main(["genotype", "-f", str(fam.fasta), "-o", str(out), str(dad), str(mum)]) == 0
    lines = gzip.decompress(dad.read_bytes()).decode().splitlines()
    mum_sites = [int(ln.split("\t")[1]) for ln in gzip.decompress(mum.read_bytes()).decode().splitlines()
                 if not ln.startswith("#") and "END=" not in ln]
    variants, needed, other = [], [], []
    for k, ln in enumerate(lines):
        if ln.startswith("#"):
            continue
        f = ln.split("\t")
        if "END=" not in f[7]:
            variants.append(k)
            continue
        pos, end = int(f[1]), int(f[7].split("END=")[1].split(";")[0])
        (needed if any(pos <= s <= end for s in mum_sites) else other).append(k)
    assert len(variants) >= 10 and len(needed) >= 5 and len(other) >= 100
    return Pair(root, Path(fam.fasta), dad, mum, lines, _records(out), variants, needed, other)


# ------------------------------------------------------------------ damage kinds

Fields = list[str]


def _sample_key(key: str, change: Callable[[str], str]) -> Callable[[Fields], Fields | None]:
    """A damage of FORMAT `key` of the sample column (None: the line has no such key)."""
    def damage(f: Fields) -> Fields | None:
        keys, values = f[8].split(":"), f[9].split(":")
        if key not in keys:
            return None
        k = keys.index(key)
        values[k] = change(values[k])
        return f[:9] + [":".join(values)]
    return damage


def _info_key(key: str, change: Callable[[str], str]) -> Callable[[Fields], Fields | None]:
    def damage(f: Fields) -> Fields | None:
        entries = f[7].split(";")
        for k, kv in enumerate(entries):
            if kv.startswith(key + "="):
                entries[k] = f"{key}={change(kv[len(key) + 1:])}"
                return f[:7] + [";".join(entries)] + f[8:]
        return None
    return damage


def _column(k: int, change: Callable[[str], str]) -> Callable[[Fields], Fields | None]:
    def damage(f: Fields) -> Fields | None:
        return f[:k] + [change(f[k])] + f[k + 1:]
    return damage


def _first(change: Callable[[str], str]) -> Callable[[str], str]:
    """Change the first value of a comma-separated list."""
    return lambda v: ",".join([change(v.split(",")[0]), *v.split(",")[1:]])


def _end_before_pos(f: Fields) -> Fields | None:
    if "END=" not in f[7]:
        return None
    return _info_key("END", lambda _: str(int(f[1]) - 1))(f)


def _drop_non_ref(f: Fields) -> Fields | None:
    alts = [a for a in f[4].split(",") if a != "<NON_REF>"]
    return f[:4] + [",".join(alts) or "."] + f[5:]


NOT_A_NUMBER = lambda v: "x"
NEGATIVE = lambda v: "-" + (v if v not in ("0", ".") else "3")
FRACTION = lambda v: "1.5"
HUGE = lambda v: "99999999999"
EMPTY = lambda v: ""
MORE = lambda v: v + ",7"
FEWER = lambda v: ",".join(v.split(",")[:-1])

# (name, damage of the split line): each applies to the lines that have the field
DAMAGES: list[tuple[str, Callable[[Fields], Fields | None]]] = [
    ("POS not a number", _column(1, lambda v: v + "x")),
    ("POS negative", _column(1, NEGATIVE)),
    ("POS zero", _column(1, lambda v: "0")),
    ("POS empty", _column(1, EMPTY)),
    ("CHROM empty", _column(0, EMPTY)),
    ("REF not bases", _column(3, lambda v: "X" * len(v))),
    ("REF a digit", _column(3, lambda v: "1")),
    ("REF empty", _column(3, EMPTY)),
    ("ALT empty", _column(4, EMPTY)),
    ("ALT with an empty allele", _column(4, lambda v: "," + v)),
    ("ALT not bases", _column(4, lambda v: "Z," + v)),
    ("ALT without <NON_REF>", _drop_non_ref),
    ("ALT <NON_REF> twice", _column(4, lambda v: v + ",<NON_REF>")),
    ("QUAL not a number", _column(5, lambda v: "x" if v != "." else None)),  # type: ignore[return-value]
    ("QUAL negative", _column(5, lambda v: "-3" if v != "." else None)),  # type: ignore[return-value]
    ("INFO END not a number", _info_key("END", NOT_A_NUMBER)),
    ("INFO END negative", _info_key("END", NEGATIVE)),
    ("INFO END before POS", _end_before_pos),
    ("INFO END empty", _info_key("END", EMPTY)),
    ("INFO DP not a number", _info_key("DP", NOT_A_NUMBER)),
    ("INFO DP negative", _info_key("DP", NEGATIVE)),
    ("INFO MQ not a number", _info_key("MQ", NOT_A_NUMBER)),
    ("INFO MQ nan", _info_key("MQ", lambda v: "nan")),
    ("INFO SOR negative", _info_key("SOR", NEGATIVE)),
    ("a column missing (INFO)", lambda f: f[:7] + f[8:]),
    ("the sample column missing", lambda f: f[:9]),
    ("an extra column", lambda f: [*f, f[9]]),
    ("more sample values than FORMAT keys", lambda f: f[:9] + [f[9] + ":3"]),
    ("GT out of range", _sample_key("GT", lambda v: v[:-1] + "9")),
    ("GT not an allele", _sample_key("GT", lambda v: "x" + v[1:])),
    ("GT triploid", _sample_key("GT", lambda v: v + "/0")),
    ("GT haploid", _sample_key("GT", lambda v: v.replace("|", "/").split("/")[0] if "/" in v or "|" in v  # type: ignore[return-value]
                                else None)),
    ("GT empty", _sample_key("GT", EMPTY)),
    ("GQ not a number", _sample_key("GQ", NOT_A_NUMBER)),
    ("GQ negative", _sample_key("GQ", NEGATIVE)),
    ("DP not a number", _sample_key("DP", NOT_A_NUMBER)),
    ("DP negative", _sample_key("DP", NEGATIVE)),
    ("DP a fraction", _sample_key("DP", FRACTION)),
    ("DP too large", _sample_key("DP", HUGE)),
    ("DP empty", _sample_key("DP", EMPTY)),
    ("MIN_DP not a number", _sample_key("MIN_DP", NOT_A_NUMBER)),
    ("MIN_DP negative", _sample_key("MIN_DP", NEGATIVE)),
    ("AD not a number", _sample_key("AD", _first(NOT_A_NUMBER))),
    ("AD negative", _sample_key("AD", _first(NEGATIVE))),
    ("AD too many values", _sample_key("AD", MORE)),
    ("AD too few values", _sample_key("AD", FEWER)),
    ("PL not a number", _sample_key("PL", _first(NOT_A_NUMBER))),
    ("PL negative", _sample_key("PL", _first(NEGATIVE))),
    ("PL a fraction", _sample_key("PL", _first(FRACTION))),
    ("PL too large", _sample_key("PL", _first(HUGE))),
    ("PL too many values", _sample_key("PL", MORE)),
    ("PL too few values", _sample_key("PL", FEWER)),
    ("PL empty", _sample_key("PL", EMPTY)),
    ("GL not a number", _sample_key("GL", _first(NOT_A_NUMBER))),
    ("GL nan", _sample_key("GL", _first(lambda v: "nan"))),
    ("GL above 0", _sample_key("GL", _first(lambda v: "5"))),
    ("GL too many values", _sample_key("GL", MORE)),
    ("GL too few values", _sample_key("GL", FEWER)),
]
N_RANDOM = 12  # lines replaced by random bytes
CUTS = ("in a block", "at a block boundary", "in the end-of-file block")


def _write(pair: Pair, lines: list[str] | bytes, folder: Path) -> Path:
    """DAD's gVCF with these lines, bgzipped and indexed again (when tabix can index it; else the
    index of the undamaged file, older than the gVCF, as after damage to an indexed file)."""
    folder.mkdir()
    plain, path = folder / "DAD.g.vcf", folder / "DAD.g.vcf.gz"
    plain.write_bytes(lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode())
    pysam.tabix_compress(str(plain), str(path))
    plain.unlink()
    try:
        pysam.tabix_index(str(path), preset="vcf", force=True)
    except (OSError, ValueError):
        shutil.copy(f"{pair.dad}.tbi", f"{path}.tbi")
        st = path.stat()
        os.utime(f"{path}.tbi", ns=(st.st_atime_ns, st.st_mtime_ns - 10**9))
    return path


def _run(capfd: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    capfd.readouterr()
    rc = main(args)
    return rc, capfd.readouterr().err


def _assert_genotype(pair: Pair, gvcf: Path, case: str, capfd: pytest.CaptureFixture[str]) -> str:
    out = gvcf.parent / "out.vcf"
    rc, err = _run(capfd, ["genotype", "-f", str(pair.fasta), "-o", str(out), str(gvcf), str(pair.mum)])
    if rc == 0:
        assert _records(out) == pair.baseline, f"{case}: exit 0 but other records than the undamaged file"
        return "exit 0, same records"
    assert rc == 2, (case, rc, err)
    assert err.startswith("gmscall: error: ") and err.count("\n") == 1 and "Traceback" not in err, (case, err)
    assert not out.exists() and not [p for p in gvcf.parent.iterdir() if p.name.startswith("out")], case
    return err.strip()


def _assert_check(gvcf: Path, line: int | None, case: str, capfd: pytest.CaptureFixture[str]) -> str:
    rc, err = _run(capfd, ["check", str(gvcf)])
    assert rc == 2, (case, rc, err)
    assert "Traceback" not in err and err.rstrip().splitlines()[-1].startswith("gmscall: error: "), (case, err)
    if line is not None:
        named = [ln for ln in err.splitlines() if ln.startswith(f"gmscall: {gvcf}:{line}: ")]
        assert named, f"{case}: check does not name line {line}:\n{err}"
        return named[0]
    return err.splitlines()[0]


def _cases(pair: Pair) -> list[tuple[str, int, list[str] | bytes]]:
    """(case, damaged line number (1-based), the damaged file's lines or bytes), from SEED."""
    rng = random.Random(SEED)
    cases: list[tuple[str, int, list[str] | bytes]] = []
    for name, damage in DAMAGES:
        for target, pool in (("variant record", pair.variants), ("needed block", pair.needed),
                             ("block", pair.other)):
            k = rng.choice(pool)
            f = pair.lines[k].split("\t")
            new = damage(list(f))
            if new is None or None in new or new == f:
                continue
            lines = list(pair.lines)
            lines[k] = "\t".join(new)
            cases.append((f"{name} ({target}, line {k + 1})", k + 1, lines))
    for target, pool in (("variant record", pair.variants), ("needed block", pair.needed), ("block", pair.other)):
        k = rng.choice(pool)
        lines = list(pair.lines)
        lines.insert(k + 1, lines[k])
        cases.append((f"a line twice ({target}, line {k + 1})", k + 2, lines))
    for n in range(N_RANDOM):
        k = rng.choice(pair.variants + pair.needed + pair.other[:20])
        size = rng.randint(1, 120)
        junk = bytes(rng.choice(range(256)) for _ in range(size)).replace(b"\n", b"\t")
        if n % 3 == 0:  # junk that tabix may still index: a contig and a position in front
            junk = pair.lines[k].split("\t")[0].encode() + b"\t" + pair.lines[k].split("\t")[1].encode() + b"\t" + junk
        data = "\n".join(pair.lines[:k]).encode() + b"\n" + junk + b"\n" + "\n".join(pair.lines[k + 1:]).encode() + b"\n"
        cases.append((f"random bytes ({size}) in place of line {k + 1}", k + 1, data))
    structured = [k for k, ln in enumerate(pair.lines) if ln.startswith("##") and "=<" in ln]
    for k in rng.sample(structured, 6):
        junk = bytes(rng.choice(range(256)) for _ in range(40)).replace(b"\n", b"\t").replace(b"#", b"")
        lines = [ln.encode() for ln in pair.lines]
        cases.append((f"random bytes in place of header line {k + 1}", k + 1,
                      b"\n".join([*lines[:k], b"##" + junk, *lines[k + 1:]]) + b"\n"))
        cut = list(pair.lines)
        cut[k] = cut[k][: len(cut[k]) // 2]
        cases.append((f"header line {k + 1} cut in half", k + 1, cut))
    return cases


def test_damaged_gvcf_one_line_or_same_records_and_check_names_the_line(
        pair: Pair, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    cases = _cases(pair)
    assert len(cases) >= 120, len(cases)
    seen = {}
    for n, (case, line, lines) in enumerate(cases):
        gvcf = _write(pair, lines, tmp_path / f"c{n}")
        seen[case] = (_assert_genotype(pair, gvcf, case, capfd), _assert_check(gvcf, line, case, capfd))
    errors = sum(v[0] != "exit 0, same records" for v in seen.values())
    assert errors >= len(cases) // 2  # most damage is to what genotype reads


@pytest.mark.parametrize("cut", CUTS)
def test_truncated_gvcf(pair: Pair, tmp_path: Path, capfd: pytest.CaptureFixture[str], cut: str) -> None:
    data = pair.dad.read_bytes()
    eof = 28
    offsets = []
    with open(pair.dad, "rb") as fh:  # the BGZF blocks' offsets
        pos = 0
        while pos < len(data):
            offsets.append(pos)
            fh.seek(pos + 16)
            pos += int.from_bytes(fh.read(2), "little") + 1
    at = {"in a block": (offsets[1] + offsets[2]) // 2, "at a block boundary": offsets[2],
          "in the end-of-file block": len(data) - eof // 2}[cut]
    gvcf = tmp_path / "DAD.g.vcf.gz"
    gvcf.write_bytes(data[:at])
    shutil.copy(f"{pair.dad}.tbi", f"{gvcf}.tbi")
    _assert_genotype(pair, gvcf, cut, capfd)
    rc, err = _run(capfd, ["check", str(gvcf)])
    assert rc == 2 and "Traceback" not in err, err
    assert "truncated" in err or "cut short" in err, err


# ------------------------------------------------------------------ what check finds beyond one field


def _check(capfd: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    capfd.readouterr()
    rc = main(["check", *map(str, args)])
    got = capfd.readouterr()
    return rc, got.out, got.err


def test_check_of_valid_gvcfs(pair: Pair, capfd: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _check(capfd, "-f", pair.fasta, pair.dad, pair.mum)
    assert rc == 0 and err == "", err
    assert out.splitlines()[0].startswith(f"{pair.dad}: OK: {len(pair.lines) - len(_header(pair)):,} lines (")
    assert "12,000 bases on 1 contig" in out and out.count(": OK: ") == 2
    res = gmscall.check_gvcf(pair.dad, pair.fasta)
    assert res.ok and res.bases == 12_000 and res.blocks + res.variants == res.lines


def test_check_with_an_unreadable_reference(pair: Pair, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A reference that cannot be read is the run's one problem (one line, exit 2), found before any
    gVCF is read; a FASTA that is not one says so too."""
    rc, out, err = _check(capfd, "-f", tmp_path / "missing.fa", pair.dad)
    assert rc == 2 and out == "" and "missing.fa" in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    bad = tmp_path / "bad.fa"
    bad.write_bytes(b"\x1f\x8b\x08garbage")
    rc, out, err = _check(capfd, "-f", bad, pair.dad)
    assert rc == 2 and out == "" and "bad.fa" in err and len(err.strip().splitlines()) == 1, err


def _header(pair: Pair) -> list[str]:
    return [ln for ln in pair.lines if ln.startswith("#")]


@pytest.mark.parametrize("change", ["drop a block", "swap two lines", "overlap", "another contig", "REF"])
def test_check_order_coverage_and_reference(pair: Pair, tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                            change: str) -> None:
    lines = list(pair.lines)
    k = pair.other[50]
    f = lines[k].split("\t")
    if change == "drop a block":
        del lines[k]
        want = f":{k + 1}: chrS:"  # the line after the gap
        needle = "bases between this line and the line before are in no line"
    elif change == "swap two lines":
        lines[k], lines[k + 1] = lines[k + 1], lines[k]
        want, needle = f":{k + 2}: chrS:", "is before the previous line's POS"
    elif change == "overlap":
        f[7] = f"END={int(f[7].split('=')[1]) + 1}"
        lines[k] = "\t".join(f)
        want, needle = f":{k + 2}: chrS:", "overlaps the line before"
    elif change == "another contig":
        lines[k] = "\t".join(["chrT", *f[1:]])
        want, needle = f":{k + 1}: chrT:", "contig 'chrT' is not in the header"
    else:
        f[3] = {"A": "C", "C": "G", "G": "T", "T": "A"}.get(f[3], "A")
        lines[k] = "\t".join(f)
        want, needle = f":{k + 1}: chrS:", "but the reference has"
    gvcf = _write(pair, lines, tmp_path / "x")
    rc, _, err = _check(capfd, "-f", pair.fasta, gvcf)
    assert rc == 2 and needle in err and f"{gvcf}{want}" in err, err


def test_check_regions(pair: Pair, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    gvcf = tmp_path / "two.g.vcf.gz"
    assert main(["call", "--gvcf", "-f", str(pair.fasta), "-r", "chrS:1-3000", "-r", "chrS:6001-9000", "-o", str(gvcf),
                 str(pair.root / "DAD.bam")]) == 0
    rc, _, err = _check(capfd, gvcf)  # without the regions: the gap between them is a lost record
    assert rc == 2 and "chrS:3001-6000: 3,000 bases between this line and the line before are in no line" in err
    rc, out, err = _check(capfd, "-r", "chrS:1-3000", "-r", "chrS:6001-9000", gvcf)
    assert rc == 0 and ": OK: " in out, err
    bed = tmp_path / "r.bed"
    bed.write_text("chrS\t0\t3000\nchrS\t6000\t9500\n")
    rc, _, err = _check(capfd, "-R", bed, gvcf)
    assert rc == 2 and "chrS:9001-9500: 500 bases of the regions after the contig's last line" in err, err


def test_check_regions_head_gap(pair: Pair, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """Bases at a region's start in no line are what a deletion starting before the region covers
    (its record belongs outside the region): allowed up to 1,000 bases, not more."""
    gvcf = tmp_path / "two.g.vcf.gz"
    assert main(["call", "--gvcf", "-f", str(pair.fasta), "-r", "chrS:1-3000", "-r", "chrS:6001-9000", "-o", str(gvcf),
                 str(pair.root / "DAD.bam")]) == 0
    lines = gzip.decompress(gvcf.read_bytes()).decode().splitlines()
    second = next(k for k, ln in enumerate(lines) if not ln.startswith("#") and int(ln.split("\t")[1]) > 6000)
    assert lines[second].split("\t")[1] == "6001"
    far = next(k for k in range(second, len(lines)) if int(lines[k].split("\t")[1]) > 7001)
    assert int(lines[second + 1].split("\t")[1]) <= 1001 + 6000
    for drop in (1, far - second):  # the first line(s) of the second region dropped: a gap <= 1,000, > 1,000
        kept = lines[:second] + lines[second + drop:]
        gap_end = int(kept[second].split("\t")[1]) - 1
        path = _write(pair, kept, tmp_path / f"drop{drop}")
        rc, _, err = _check(capfd, "-r", "chrS:1-3000", "-r", "chrS:6001-9000", path)
        if drop == 1:
            assert rc == 0, err
        else:
            assert rc == 2 and f"chrS:6001-{gap_end}: " in err and "bases of the regions are in no line" in err, err


def test_block_scan_takes_the_lines_the_regex_takes(pair: Pair) -> None:
    """The C++ fast path of check (_core.scan_blocks) takes exactly the block lines that the Python
    one (_FAST_BLOCK and its conditions) takes: real blocks with 1-3 random edits each."""
    from gmscall import _core
    from gmscall.gvcf.check import _FAST_BLOCK

    rng = random.Random(SEED)
    alphabet = b"0123456789ACGTNa.,:/<>\t-xEND=\r _"
    taken = 0
    for k in pair.other[:150] + pair.needed + pair.variants:
        text = pair.lines[k]
        pos = int(text.split("\t")[1])
        for _ in range(30):
            line = bytearray(text.encode())
            for _ in range(rng.randint(0, 3)):
                i, op = rng.randrange(len(line)), rng.random()
                if op < 0.4:
                    line[i] = rng.choice(alphabet)
                elif op < 0.7:
                    del line[i]
                else:
                    line.insert(i, rng.choice(alphabet))
            raw = bytes(line)
            m = _FAST_BLOCK.fullmatch(raw)
            ok = False
            if m is not None:
                c, p, _, e, dp, mn, dp1, mn1 = m.groups()
                ok = (c == b"chrS" and int(p) == pos and pos <= int(e) <= 12_000
                      and (int(mn) <= int(dp) if dp is not None else int(mn1) <= int(dp1)))
            _, n, covered, last = _core.scan_blocks(raw, 0, b"chrS", pos - 1, 0, 12_000, None, 0)
            assert (n == 1) == ok, raw
            if ok:
                taken += 1
                assert last == pos and covered == int(m.group(4))
                base = raw.split(b"\t")[3]
                _, n, _, _ = _core.scan_blocks(raw, 0, b"chrS", pos - 1, 0, 12_000, b"xA", pos - 2)
                assert (n == 1) == (base == b"A"), raw
    assert taken > 1000
