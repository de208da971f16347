"""`gmscall check`: every record of a gVCF read and validated before it joins a cohort.

`gmscall genotype` parses only what a cohort's sites need (reference blocks are read where another
sample has a variant), so damage elsewhere in a gVCF passes unseen until the cohort that needs it.
The check reads every line: the header (one sample, a gVCF, contig lengths against the reference),
every column of every record against the header's INFO/FORMAT definitions (Number and Type) and the
gVCF rules (a block is one REF base, ALT `<NON_REF>`, a hom-ref GT and END >= POS; a variant record
lists `<NON_REF>`; GT within the alleles and ploidy 1 or 2; PL, AD, GL counts and values; DP, GQ,
MIN_DP whole numbers), REF against the reference (with one), the order of the records and their
coverage (no gap between consecutive lines of a contig, or of the given regions; no block that
overlaps another line), the BGZF end-of-file block and the index. It reports every problem with
its line number (lines of the decompressed file, as `zcat FILE | sed -n Np` counts them).

Speed: runs of reference blocks in the layout gmscall writes (most lines of a gVCF) are validated
in C++ (`_core.scan_blocks`, the lines `_FAST_BLOCK` takes with the same conditions), variant records
in gmscall's layout by `_FAST_VARIANT` and a few comparisons; any other line takes the full check.
"""

from __future__ import annotations

import bisect
import io
import itertools
import math
import re
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..regions import resolve_regions

NON_REF = "<NON_REF>"
INT_MAX = 2**31 - 1
MAX_PROBLEMS = 1000
# Bases at the start of a region in no line are allowed up to this length: a deletion starting
# before the region covers them, and that record belongs outside the region (docs/gvcf.md).
REGION_HEAD_GAP = 1000
_WINDOW = 1 << 20  # reference bases fetched at a time

# The reference block of gmscall (`GT:GQ:DP:MIN_DP:PL`, diploid or haploid), fully validated by
# this expression but for the contig, POS/END order and range, REF against the reference and
# MIN_DP <= DP. Values of at most 9 digits fit the core's int.
_D = rb"[0-9]{1,9}"
_FAST_BLOCK = re.compile(
    rb"([^\t\n\r]+)\t([1-9][0-9]{0,9})\t[^\t\n\r ]+\t([ACGTN])\t<NON_REF>\t\.\t\.\tEND=([1-9][0-9]{0,9})"
    rb"\tGT:GQ:DP:MIN_DP:PL\t(?:0/0:" + _D + b":(" + _D + b"):(" + _D + b"):" + _D + b"," + _D + b"," + _D
    + b"|0:" + _D + b":(" + _D + b"):(" + _D + b"):" + _D + b"," + _D + b")\n?")
# The variant record of gmscall (INFO DP;MQ;SOR[;HAP], FORMAT GT:GQ:DP:AD:PL:GL, one-digit allele
# numbers): syntax here; the counts (AD per allele, PL and GL per genotype), the GT alleles, distinct
# ALTs and the FILTER name in Python, then order, coverage and REF like any line.
_F = rb"[0-9]{1,9}(?:\.[0-9]{1,9})?"
_GL = rb"(?:0|-[0-9]{1,9}(?:\.[0-9]{1,9})?)"
_FAST_VARIANT = re.compile(
    rb"([^\t\n\r]+)\t([1-9][0-9]{0,9})\t[^\t\n\r ]+\t([ACGTN]{1,10000})\t((?:[ACGTN]{1,10000},){0,8})<NON_REF>"
    rb"\t(?:0|" + _F + rb")\t([A-Za-z0-9_.]+)\tDP=" + _D + b";MQ=" + _F + b";SOR=" + _F + rb"(?:;HAP)?"
    rb"\tGT:GQ:DP:AD:PL:GL\t([0-9])(?:/([0-9]))?:" + _D + b":" + _D + b":(" + _D + b"(?:," + _D + b")*):("
    + _D + b"(?:," + _D + b")*):" + _GL + b"((?:," + _GL + b")*)\n?")
# what the header must define for the fast paths (else every line takes the full check, which
# reports the undefined keys)
_FAST_BLOCK_KEYS = ({"END": ("1", "Integer")},
                    {"GT": ("1", "String"), "GQ": ("1", "Integer"), "DP": ("1", "Integer"),
                     "MIN_DP": ("1", "Integer"), "PL": ("G", "Integer")})
_FAST_VARIANT_KEYS = ({"DP": ("1", "Integer"), "MQ": ("1", "Float"), "SOR": ("1", "Float"), "HAP": ("0", "Flag")},
                      {"GT": ("1", "String"), "GQ": ("1", "Integer"), "DP": ("1", "Integer"), "AD": ("R", "Integer"),
                       "PL": ("G", "Integer"), "GL": ("G", "Float")})
_INT = re.compile(r"-?[0-9]{1,10}")
_NONNEG = frozenset(("DP", "GQ", "MIN_DP", "AD", "PL", "END", "DNQ", "AC", "AN", "PS"))
_READER_LISTS = frozenset(("AD", "PL", "GL"))  # list values `gmscall genotype` parses: no '.' inside
_BASES = frozenset("ACGTNacgtn")
_TEXT_BAD = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f-\xff]")
_IUPAC_TO_N = str.maketrans({c: "N" for c in "RYSWKMBDHVryswkmbdhv"})


@dataclass(frozen=True)
class Problem:
    """One problem of a gVCF: its line (1-based, in the decompressed file; 0 for the file as a
    whole) and what is wrong."""

    line: int
    message: str

    def text(self, path: str) -> str:
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


@dataclass
class GvcfCheck:
    """What `check_gvcf` found in one gVCF: counts of what it read and every problem (the first
    `max_problems` kept, `more` the number left out)."""

    path: str
    lines: int = 0  # data lines (not the header)
    blocks: int = 0
    variants: int = 0
    bases: int = 0  # bases covered by the lines
    contigs: int = 0
    problems: list[Problem] = field(default_factory=list)
    more: int = 0
    seconds: float = 0.0
    max_problems: int = MAX_PROBLEMS

    @property
    def ok(self) -> bool:
        return not self.problems and not self.more

    @property
    def n_problems(self) -> int:
        return len(self.problems) + self.more

    def add(self, line: int, message: str) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(Problem(line, message))
        else:
            self.more += 1

    def summary(self) -> str:
        what = (f"{self.lines:,} lines ({self.blocks:,} reference blocks, {self.variants:,} variant records), "
                f"{self.bases:,} bases on {self.contigs} contig{'s' if self.contigs != 1 else ''}")
        if self.ok:
            return f"{self.path}: OK: {what}"
        return f"{self.path}: {self.n_problems} problem{'s' if self.n_problems != 1 else ''}: {what}"


# ---------------------------------------------------------------------------------- header


@dataclass
class _Header:
    contigs: dict[str, int | None] = field(default_factory=dict)
    info: dict[str, tuple[str, str]] = field(default_factory=dict)  # ID -> (Number, Type)
    format: dict[str, tuple[str, str]] = field(default_factory=dict)
    filters: set[str] = field(default_factory=lambda: {"PASS"})
    gvcf: bool = False
    samples: list[str] | None = None


def _attr(text: str, key: str) -> str | None:
    m = re.search(r"[<,]" + key + r"=([^,>]*)", text)
    return m.group(1) if m else None


_TYPES = {"Integer", "Float", "Flag", "Character", "String"}


def _header_line(h: _Header, text: str) -> str | None:
    """Read one '##' line into `h`; what is wrong with it, if anything."""
    if "\\x" in text or any(ord(c) < 32 and c != "\t" for c in text):
        return "a header line that is not text (binary data or damage)"
    if "=<" in text[:40] and not text.endswith(">"):
        return f"a damaged header line (no closing '>'): '{text[:60]}'"
    if text.startswith("##contig=<"):
        name, length = _attr(text, "ID"), _attr(text, "length")
        if not name:
            return "a ##contig line without ID"
        if length is not None and not (length.isascii() and length.isdigit()):
            return f"##contig {name}: length '{length[:20]}' is not a whole number"
        h.contigs[name] = int(length) if length else None
    elif text.startswith(("##INFO=<", "##FORMAT=<")):
        key, number, kind = _attr(text, "ID"), _attr(text, "Number"), _attr(text, "Type")
        where = "##INFO" if text.startswith("##INFO") else "##FORMAT"
        if not key:
            return f"a {where} line without ID"
        (h.info if where == "##INFO" else h.format)[key] = (number or ".", kind or "String")
        if kind not in _TYPES:
            return f"{where} {key}: Type '{kind}' is not one of {', '.join(sorted(_TYPES))}"
        if number is None or not (number.isdigit() or number in ("A", "R", "G", ".")):
            return f"{where} {key}: Number '{number}' is not a count, A, R, G or '.'"
    elif text.startswith("##FILTER=<"):
        key = _attr(text, "ID")
        if not key:
            return "a ##FILTER line without ID"
        h.filters.add(key)
    elif text.startswith(("##ALT=<ID=NON_REF", "##GVCFBlock")):
        h.gvcf = True
    return None


# ---------------------------------------------------------------------------------- one line


class _Line:
    """The result of the full check of one line: where it is and what it covers (None where
    the line is too damaged to say)."""

    __slots__ = ("block", "chrom", "end", "pos", "ref")

    def __init__(self) -> None:
        self.ref: str | None = None  # REF when it is bases
        self.chrom: str | None = None
        self.pos: int | None = None  # 1-based
        self.end: int | None = None  # 1-based inclusive
        self.block = False


def _n_genotypes(ploidy: int, n: int) -> int:
    return n if ploidy == 1 else n * (n + 1) // 2


class _LineChecker:
    def __init__(self, header: _Header, result: GvcfCheck) -> None:
        self.h = header
        self.result = result
        self.undefined: set[object] = set()  # what is reported once a file (undefined keys, contigs)

    def check(self, lineno: int, raw: bytes) -> _Line:
        out = _Line()
        problems: list[str] = []
        body = raw[:-1] if raw.endswith(b"\n") else raw
        bad = _TEXT_BAD.search(body)
        if bad is not None:
            what = "a Windows line end (CR)" if body[bad.start():] == b"\r" else f"byte 0x{body[bad.start()]:02x}"
            problems.append(f"not a text line: {what} at column {bad.start() + 1} (binary data or damage)")
            text = body.decode("utf-8", "backslashreplace")
            if body[bad.start():] != b"\r":
                self._report(lineno, None, problems)
                return out
            text = text.rstrip("\r")
        else:
            text = body.decode("ascii")
        f = text.split("\t")
        where = None
        if len(f) != 10:
            problems.append(f"{len(f)} column{'s' if len(f) != 1 else ''}, a one-sample gVCF line has 10"
                            + (f": '{text[:60]}'" if len(f) < 3 else ""))
        if len(f) >= 2:
            where = f"{f[0][:40]}:{f[1][:20]}"
            self._position(f, out, problems)
        if len(f) == 10:
            self._record(f, out, problems)
        else:
            out.end = None  # what a damaged line covers is unknown
        self._report(lineno, where, problems)
        return out

    def _report(self, lineno: int, where: str | None, problems: list[str]) -> None:
        for p in problems:
            self.result.add(lineno, f"{where}: {p}" if where else p)

    def _position(self, f: list[str], out: _Line, problems: list[str]) -> None:
        chrom, pos = f[0], f[1]
        if not chrom or " " in chrom:
            problems.append(f"CHROM '{chrom[:40]}' is not a contig name")
        elif self.h.contigs and chrom not in self.h.contigs:
            if ("contig", chrom) not in self.undefined:  # once a contig: each of its lines would repeat it
                self.undefined.add(("contig", chrom))  # type: ignore[arg-type]
                problems.append(f"contig '{chrom[:40]}' is not in the header (##contig); reported on its first "
                                "line only")
        else:
            out.chrom = chrom
        if not (pos.isascii() and pos.isdigit()) or len(pos) > 10 or int(pos) < 1:
            problems.append(f"POS '{pos[:20]}' is not a position (a whole number >= 1)")
            return
        out.pos = int(pos)
        length = self.h.contigs.get(chrom)
        if length is not None and out.pos > length:
            problems.append(f"POS {pos} is past the end of {chrom} ({length})")

    def _record(self, f: list[str], out: _Line, problems: list[str]) -> None:
        h = self.h
        ref, alt_text = f[3], f[4]
        ref_ok = bool(ref) and _BASES.issuperset(ref)
        if not ref_ok:
            problems.append(f"REF '{ref[:20]}' is not bases (A, C, G, T, N)")
        if not f[2]:
            problems.append("ID is empty (write '.')")
        alts = alt_text.split(",")
        if not alt_text:
            problems.append("ALT is empty (a gVCF line lists <NON_REF>)")
        for a in alts:
            if a == NON_REF or not alt_text:
                continue
            if not a:
                problems.append(f"ALT '{alt_text[:40]}' has an empty allele")
            elif a == "*" or a.startswith("<"):
                problems.append(f"ALT allele '{a[:20]}' is not bases or {NON_REF} (gmscall genotype reads "
                                "gVCFs of gmscall call --gvcf)")
            elif not _BASES.issuperset(a):
                problems.append(f"ALT allele '{a[:20]}' is not bases (A, C, G, T, N)")
        if alt_text and alts.count(NON_REF) != 1:
            problems.append(f"ALT '{alt_text[:40]}' lists {NON_REF} {alts.count(NON_REF)} times, a gVCF line once")
        upper = [ref.upper(), *(a.upper() for a in alts)]
        if alt_text and len(set(upper)) != len(upper):
            problems.append(f"REF and ALT '{ref[:20]} {alt_text[:40]}' list an allele twice")
        # 0: unknown (a damaged ALT), so that counts by allele are not blamed for it too
        n_alleles = 1 + len(alts) if alt_text and "" not in alts else 0
        if f[5] != ".":
            try:
                q = float(f[5])
                if not math.isfinite(q) or q < 0:
                    raise ValueError
            except ValueError:
                problems.append(f"QUAL '{f[5][:20]}' is not a number >= 0 (or '.')")
        if f[6] != ".":
            for name in f[6].split(";"):
                if name not in h.filters:
                    problems.append(f"FILTER '{name[:30]}' is not defined in the header (##FILTER)")
        info = self._info(f[7], n_alleles, problems)
        end_text = info.get("END")
        block = end_text is not None
        out.block = block
        if block:
            if alt_text != NON_REF and alt_text:
                problems.append(f"ALT '{alt_text[:40]}' of a reference block (INFO END) is not {NON_REF}")
            if ref_ok and len(ref) != 1:
                problems.append(f"REF '{ref[:20]}' of a reference block is not one base")
            if end_text is not None and end_text.isascii() and end_text.isdigit() and len(end_text) <= 10:
                end = int(end_text)
                if out.pos is not None and end < out.pos:
                    problems.append(f"INFO END {end} is before POS {out.pos}")
                elif out.chrom is not None and h.contigs.get(out.chrom) is not None and end > h.contigs[out.chrom]:
                    problems.append(f"INFO END {end} is past the end of {out.chrom} ({h.contigs[out.chrom]})")
                else:
                    out.end = end
        elif out.pos is not None:
            out.end = out.pos + max(len(ref), 1) - 1
        self._sample(f[8], f[9], n_alleles, block, problems)
        if out.pos is None:
            out.end = None
        if ref_ok and out.pos is not None and out.chrom is not None:
            out.ref = ref

    def _info(self, text: str, n_alleles: int, problems: list[str]) -> dict[str, str]:
        values: dict[str, str] = {}
        if text == ".":
            return values
        if not text:
            problems.append("INFO is empty (write '.')")
            return values
        for kv in text.split(";"):
            key, eq, value = kv.partition("=")
            if not key:
                problems.append(f"INFO '{text[:40]}' has an empty entry")
                continue
            if key in values:
                problems.append(f"INFO {key} is given twice")
            values[key] = value
            spec = self.h.info.get(key)
            if spec is None:
                self._undefined("INFO", key, problems)
                continue
            number, kind = spec
            if kind == "Flag":
                if eq:
                    problems.append(f"INFO {key} is a flag but has a value '{value[:20]}'")
                continue
            if not eq:
                problems.append(f"INFO {key} has no value")
                continue
            self._values("INFO", key, value, number, kind, n_alleles, None, problems)
        return values

    def _undefined(self, where: str, key: str, problems: list[str]) -> None:
        if (where, key) not in self.undefined:  # once a file: every line would repeat it
            self.undefined.add((where, key))  # type: ignore[arg-type]
            problems.append(f"{where} key '{key[:30]}' is not defined in the header (##{where}); "
                            "reported on its first line only")

    def _values(self, where: str, key: str, value: str, number: str, kind: str, n_alleles: int,
                ploidy: int | None, problems: list[str]) -> None:
        label = f"{where} {key}" if where == "INFO" else key
        if value == "." and key not in ("END",):
            return
        items = value.split(",")
        expect = {"A": n_alleles - 1, "R": n_alleles}.get(number) if n_alleles else None
        if number == "G":
            expect = _n_genotypes(ploidy, n_alleles) if ploidy and n_alleles else None
        elif number.isdigit():
            expect = int(number)
        if expect is not None and len(items) != expect:
            problems.append(f"{label} has {len(items)} value{'s' if len(items) != 1 else ''}, expected {expect}"
                            + (f" (Number={number})" if number not in ("A", "R", "G") else
                               f" (Number={number}, {n_alleles} alleles"
                               + (f", ploidy {ploidy})" if number == "G" else ")")))
        if kind == "Integer":
            for x in items:
                if x.isdigit() and len(x) < 10 and x.isascii():  # the common case: a count
                    continue
                if x == "." and key not in _READER_LISTS:
                    continue
                if not _INT.fullmatch(x) or abs(int(x)) > INT_MAX:
                    problems.append(f"{label} '{x[:20]}' is not a whole number")
                    return
                if key in _NONNEG and x.startswith("-"):
                    problems.append(f"{label} '{x[:20]}' is negative")
                    return
        elif kind == "Float":
            for x in items:
                if x == "." and key not in _READER_LISTS:
                    continue
                try:
                    v = float(x)
                except ValueError:
                    problems.append(f"{label} '{x[:20]}' is not a number")
                    return
                if "_" in x or (key in ("GL", "MQ", "SOR") and not math.isfinite(v)):
                    problems.append(f"{label} '{x[:20]}' is not a finite number")
                    return
                if key == "GL" and v > 0:
                    problems.append(f"GL '{x[:20]}' is above 0 (a log10 likelihood)")
                    return
                if key in ("MQ", "SOR") and v < 0:
                    problems.append(f"{label} '{x[:20]}' is negative")
                    return

    def _sample(self, keys_text: str, values_text: str, n_alleles: int, block: bool, problems: list[str]) -> None:
        keys = keys_text.split(":")
        values = values_text.split(":")
        if not keys_text or "" in keys:
            problems.append(f"FORMAT '{keys_text[:40]}' has an empty key")
        if "GT" in keys and keys[0] != "GT":
            problems.append("FORMAT GT is not the first key")
        if len(set(keys)) != len(keys):
            problems.append(f"FORMAT '{keys_text[:40]}' lists a key twice")
        if len(values) > len(keys):
            problems.append(f"the sample column has {len(values)} values for {len(keys)} FORMAT keys")
        sample = dict(zip(keys, values))
        ploidy = self._genotype(sample.get("GT"), n_alleles, block, problems)
        if block and "PL" not in sample:
            problems.append("a reference block without FORMAT PL")
        for key, value in sample.items():
            if key == "GT" or not key:
                continue
            spec = self.h.format.get(key)
            if spec is None:
                self._undefined("FORMAT", key, problems)
                continue
            if not value:
                problems.append(f"{key} is empty (write '.')")
                continue
            self._values("FORMAT", key, value, spec[0], spec[1], n_alleles, ploidy, problems)
            if key in ("PL", "GL") and value != "." and not ploidy:
                problems.append(f"{key} '{value[:20]}' with no GT (ploidy 0)")
        if "MIN_DP" in sample and "DP" in sample:
            a, b = sample["MIN_DP"], sample["DP"]
            if a.isdigit() and b.isdigit() and len(a) < 11 and len(b) < 11 and int(a) > int(b):
                problems.append(f"MIN_DP {a} is above DP {b}")

    def _genotype(self, gt: str | None, n_alleles: int, block: bool, problems: list[str]) -> int:
        if gt is None or gt == ".":
            return 0
        copies = gt.replace("|", "/").split("/")
        if len(copies) > 2:
            problems.append(f"GT '{gt[:20]}' has ploidy {len(copies)} (gmscall genotypes haploid and diploid samples)")
            return 0
        for a in copies:
            if a == ".":
                continue
            if not (a.isascii() and a.isdigit()) or len(a) > 9:
                problems.append(f"GT '{gt[:20]}': '{a[:20]}' is not an allele number")
                return len(copies)
            if n_alleles and int(a) >= n_alleles:
                problems.append(f"GT '{gt[:20]}' names allele {a} but the line has {n_alleles} alleles")
                return len(copies)
            if block and a != "0":
                problems.append(f"GT '{gt[:20]}' of a reference block is not hom-ref")
                return len(copies)
        return len(copies)


# ---------------------------------------------------------------------------------- the file


def _open_chunks(path: str, result: GvcfCheck) -> Iterator[bytes]:
    """The file's text (BGZF/gzip or plain) in chunks of whole lines (about 4 MB; the last may lack
    its newline). Damaged compressed data or a member cut short is a problem on the line after the
    last whole one, and ends the text."""
    with open(path, "rb") as raw:
        head = raw.read(18)
        raw.seek(0)
        gz = head[:2] == b"\x1f\x8b"
        if not gz:
            result.add(0, "not bgzipped: gmscall genotype reads bgzipped, indexed gVCFs ('bgzip', then "
                          "'tabix -p vcf')")
        elif not (len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC"):
            result.add(0, "gzip but not bgzip: recompress it with 'bgzip' (tabix needs BGZF)")
        n, rest = 0, b""
        for piece in (_inflate(raw) if gz else iter(lambda: raw.read(1 << 22), b"")):
            if isinstance(piece, Exception):
                result.add(n + 1, f"the compressed data is damaged or cut short after line {n} ({piece})")
                return
            data = rest + piece
            cut = data.rfind(b"\n") + 1
            if cut:
                chunk, rest = data[:cut], data[cut:]
                n += chunk.count(b"\n")
                yield chunk
            else:
                rest = data
        if rest:
            yield rest


def _inflate(raw: io.BufferedReader) -> Iterator[bytes | Exception]:
    """Decompressed data of a (multi-member) gzip stream, about 4 MB at a time; an error as its
    last item."""
    d = zlib.decompressobj(31)
    out: list[bytes] = []
    size = 0
    started = False
    while True:
        data = raw.read(1 << 21)
        if not data:
            break
        while data:
            try:
                piece = d.decompress(data)
            except zlib.error as e:
                if out:
                    yield b"".join(out)
                yield e
                return
            started = True
            out.append(piece)
            size += len(piece)
            if d.eof:
                data = d.unused_data
                d = zlib.decompressobj(31)
                started = False
            else:
                data = b""
        if size >= 1 << 22:
            yield b"".join(out)
            out, size = [], 0
    if out:
        yield b"".join(out)
    if started:
        yield EOFError("the last compressed block is cut short")


class _Coverage:
    """Order and coverage of the lines of one contig: sorted, no block overlapping another line,
    and no base in no line between consecutive lines (or in the given regions)."""

    def __init__(self, result: GvcfCheck, regions: dict[str, list[tuple[int, int]]] | None) -> None:
        self.r = result
        self.regions = regions
        self.chrom: bytes | str | None = None
        self.seen: set = set()
        self.bases = 0
        self.first = True
        self.reset()

    def reset(self) -> None:
        self.last_pos = 0
        self.covered = 0  # last base covered by a line (1-based)
        self.block_end = 0  # last base of the last block
        self.variant_pos = 0
        self.last_line = 0
        self.unknown = True  # the previous line's extent is unknown: no gap is reported after it

    def sync(self, covered: int, last_pos: int, lineno: int) -> None:
        """Blocks the fast path took since the last line this object saw: each started right after
        the line before it (so `covered` grew from self.covered with no gap and no overlap)."""
        if covered > self.covered:
            self.bases += covered - self.covered
            self.covered = self.block_end = covered
            self.last_pos = last_pos
            self.last_line = lineno
            self.first = self.unknown = False

    def contig(self, lineno: int, chrom: str) -> None:
        if self.chrom is not None:
            self.finish()
        if chrom in self.seen:
            self.r.add(lineno, f"contig {chrom} again after {self.chrom}: the file is not sorted "
                               "(sort it with 'bcftools sort' and index it again)")
        self.seen.add(chrom)
        self.chrom = chrom
        self.reset()
        self.unknown = False
        self.first = True

    def line(self, lineno: int, pos: int, end: int | None, block: bool) -> None:
        if pos < self.last_pos:
            self.r.add(lineno, f"{self.chrom}:{pos}: POS is before the previous line's POS {self.last_pos} "
                               "(not sorted: sort it with 'bcftools sort' and index it again)")
            self.unknown = True
            return
        if end is None:
            self.last_pos = pos
            self.unknown = True
            return
        if block and pos <= self.covered:
            self.r.add(lineno, f"{self.chrom}:{pos}: the reference block {pos}-{end} overlaps the line before "
                               f"(line {self.last_line}, which covers up to {self.covered})")
        elif not block and pos <= self.block_end:
            self.r.add(lineno, f"{self.chrom}:{pos}: the variant record is inside the reference block before it "
                               f"(line {self.last_line}, up to {self.block_end})")
        elif not block and pos == self.variant_pos:
            self.r.add(lineno, f"{self.chrom}:{pos}: a second variant record at the same POS")
        elif pos > self.covered + 1 and not self.unknown:
            self.gap(lineno, self.covered + 1 if not self.first else None, pos - 1)
        self.first = False
        self.unknown = False
        self.last_pos = pos
        self.last_line = lineno
        self.bases += max(0, end - max(pos - 1, self.covered))
        self.covered = max(self.covered, end)
        if block:
            self.block_end = end
        else:
            self.variant_pos = pos

    def gap(self, lineno: int, first: int | None, last: int) -> None:
        """Bases first..last (1-based; first None: from the contig's start) are in no line."""
        if self.regions is None:
            if first is not None:
                self.r.add(lineno, f"{self.chrom}:{first}-{last}: {last - first + 1:,} bases between this line and "
                                   f"the line before are in no line (a lost record; or a gVCF made with -r/-R: give "
                                   f"check the same regions)")
            return
        lo = 0 if first is None else first - 1  # 0-based half-open [lo, hi)
        for s, e, head in self._pieces(lo, last):
            if head and e - s <= REGION_HEAD_GAP:  # a line of the region follows: a deletion from before it
                continue
            self.r.add(lineno, f"{self.chrom}:{s + 1}-{e}: {e - s:,} bases of the regions are in no line")

    def _pieces(self, lo: int, hi: int) -> list[tuple[int, int, bool]]:
        """The parts of [lo, hi) inside the regions of the contig, each with whether it is the head of
        a region that goes on past hi (the line at hi + 1 is in the region)."""
        spans = self.regions.get(str(self.chrom), []) if self.regions is not None else []
        k = max(0, bisect.bisect_right(spans, (lo, 1 << 62)) - 1)
        out = []
        while k < len(spans) and spans[k][0] < hi:
            s, e = max(spans[k][0], lo), min(spans[k][1], hi)
            if s < e:
                out.append((s, e, s == spans[k][0] and spans[k][1] > hi))
            k += 1
        return out

    def finish(self) -> None:
        """The contig's end: bases of the regions after its last line are in no line."""
        if self.regions is not None and self.chrom is not None:
            spans = self.regions.get(str(self.chrom), [])
            if spans and spans[-1][1] > self.covered and not self.unknown:
                for s, e, _ in self._pieces(self.covered, spans[-1][1]):
                    self.r.add(0, f"{self.chrom}:{s + 1}-{e}: {e - s:,} bases of the regions after the contig's last "
                                  f"line (line {self.last_line}) are in no line")


class _Reference:
    """REF against the FASTA, a window at a time; IUPAC codes compare as N (gmscall writes N)."""

    def __init__(self, fasta: str) -> None:
        import pysam

        from ..preflight import check_readable, ensure_fasta_index

        check_readable(fasta, "reference FASTA")
        ensure_fasta_index(fasta)
        try:
            self.fa = pysam.FastaFile(fasta)
        except (OSError, ValueError) as e:
            raise InputError(f"{fasta}: cannot read it as an indexed FASTA ({e})") from None
        self.lengths = dict(zip(self.fa.references, self.fa.lengths))
        self.chrom: str | None = None
        self.start = 0
        self.seq = ""

    def bases(self, chrom: str, pos: int, n: int) -> str | None:
        """The reference's bases at 1-based pos..pos+n-1, upper-case, or None off the FASTA."""
        if chrom not in self.lengths:
            return None
        p = pos - 1
        if chrom != self.chrom or p < self.start or p + n > self.start + len(self.seq):
            self.chrom, self.start = chrom, p
            self.seq = self.fa.fetch(chrom, p, min(p + max(n, _WINDOW), self.lengths[chrom])).upper().translate(
                _IUPAC_TO_N)
        return self.seq[p - self.start:p - self.start + n]

    def close(self) -> None:
        self.fa.close()


def _region_spans(contigs: dict[str, int], regions: str | Sequence[str] | None, bed: str | Path | None
                  ) -> dict[str, list[tuple[int, int]]] | None:
    if regions is None and bed is None:
        return None
    spans: dict[str, list[tuple[int, int]]] = {}
    for r in resolve_regions(contigs, regions, bed):
        spans.setdefault(r.contig, []).append((r.start, r.end))
    return spans


def _index_contigs(data: bytes) -> list[str] | None:
    """The contig names a decompressed tabix (.tbi) or CSI index lists (None: a CSI without them)."""
    import struct

    if data[:4] == b"TBI\x01":
        l_nm = struct.unpack_from("<i", data, 32)[0]
        names = data[36:36 + l_nm]
    else:  # CSI: the tabix header, names included, is its aux data (empty for a BCF's)
        l_aux = struct.unpack_from("<i", data, 12)[0]
        if l_aux < 28:
            return None
        l_nm = struct.unpack_from("<i", data, 16 + 24)[0]
        names = data[16 + 28:16 + 28 + l_nm]
    return [n.decode("utf-8", "replace") for n in names.split(b"\x00") if n]


def _check_index(path: str, result: GvcfCheck, contigs_seen: Sequence[str]) -> None:
    """An index that is there, whole (BGZF with its end-of-file block, the magic of its kind), not
    older than the gVCF and listing the gVCF's contigs (no pysam: the check stays light)."""
    import gzip
    import struct

    from ..preflight import BGZF_EOF

    index = next((Path(path + ext) for ext in (".tbi", ".csi") if Path(path + ext).exists()), None)
    if index is None:
        result.add(0, f"no index (.tbi/.csi): index it with 'tabix -p vcf {path}'")
        return
    rebuild = f"rebuild it with 'tabix -f -p vcf {path}'"
    try:
        packed = index.read_bytes()
        data = gzip.decompress(packed)
        listed = _index_contigs(data) if packed.endswith(BGZF_EOF) and data[:4] in (b"TBI\x01", b"CSI\x01") else []
    except (OSError, EOFError, zlib.error, struct.error, IndexError):
        listed = []
    if listed == []:
        result.add(0, f"the index {index.name} is damaged (truncated or not a {index.suffix[1:]} index); {rebuild}")
        return
    if index.stat().st_mtime < Path(path).stat().st_mtime:
        result.add(0, f"the index {index.name} is older than the gVCF (stale: the gVCF changed after it was indexed); "
                      f"{rebuild}")
    if listed is not None and set(listed) != set(contigs_seen):
        result.add(0, f"the index {index.name} lists other contigs than the file has ({', '.join(sorted(listed))[:80]} "
                      f"vs {', '.join(contigs_seen)[:80]}): it is stale; {rebuild}")


def check_reference(fasta: str | Path) -> None:
    """Raises InputError (one line) when `fasta` cannot be read as the reference `check_gvcf`
    compares REF against: once per run, before any gVCF is checked."""
    _Reference(str(fasta)).close()


def check_gvcf(path: str | Path, fasta: str | Path | None = None, *, regions: str | Sequence[str] | None = None,
               bed: str | Path | None = None, max_problems: int = MAX_PROBLEMS) -> GvcfCheck:
    """Read every line of a one-sample gVCF and validate it (see `gmscall check` in docs/gvcf.md):
    returns a GvcfCheck with every problem and its line. `fasta`: REF is checked against it;
    `regions`/`bed`: the regions the gVCF must cover (default: no gap between the first and last
    line of each contig). Raises InputError only when the file cannot be read at all."""
    from ..preflight import BGZF_EOF, check_readable

    path = str(path)
    t0 = time.perf_counter()
    check_readable(path, "gVCF")
    result = GvcfCheck(path, max_problems=max_problems)
    ref = _Reference(str(fasta)) if fasta is not None else None
    try:
        _check_lines(path, result, ref, regions, bed)
    finally:
        if ref is not None:
            ref.close()
    with open(path, "rb") as fh:
        if fh.read(2) == b"\x1f\x8b":
            fh.seek(0, 2)
            if fh.tell() >= len(BGZF_EOF):
                fh.seek(-len(BGZF_EOF), 2)
            if fh.read() != BGZF_EOF:
                result.add(0, "the BGZF end-of-file block is missing: the file is truncated (an interrupted copy "
                              "or write); copy or make it again")
    result.seconds = time.perf_counter() - t0
    return result


def _header_text(header: _Header, result: GvcfCheck, lineno: int, raw: bytes) -> None:
    """One line of the header; the #CHROM line sets header.samples."""
    if lineno == 1 and not raw.startswith(b"##fileformat=VCF"):
        result.add(lineno, "the first line is not '##fileformat=VCFv4.x': not a VCF (or a damaged header)")
    if raw.startswith(b"##"):
        wrong = _header_line(header, raw.decode("utf-8", "backslashreplace").rstrip("\r\n"))
        if wrong:
            result.add(lineno, wrong)
    elif raw.startswith(b"#CHROM"):
        cols = raw.decode("utf-8", "backslashreplace").rstrip("\r\n").split("\t")
        header.samples = cols[9:]
        if cols[:9] != ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]:
            result.add(lineno, "the #CHROM line does not name the 9 VCF columns and FORMAT")
        if len(header.samples) != 1:
            result.add(lineno, f"{len(header.samples)} samples; a gVCF for gmscall genotype has one")
    else:
        result.add(lineno, "a line before the #CHROM header line that is not a '##' header line "
                           "(binary data or a damaged header)")


def _check_lines(path: str, result: GvcfCheck, ref: _Reference | None, regions: str | Sequence[str] | None,
                 bed: str | Path | None) -> None:
    header = _Header()
    chunks = _open_chunks(path, result)
    lineno = 0
    rest = b""  # the records' text in the chunk that ends the header
    for chunk in chunks:
        off = 0
        while off < len(chunk) and header.samples is None:
            eol = chunk.find(b"\n", off)
            eol = len(chunk) if eol < 0 else eol
            raw, off = chunk[off:eol], eol + 1
            lineno += 1
            _header_text(header, result, lineno, raw)
        if header.samples is not None:
            rest = chunk[off:]
            break
    if header.samples is None:
        if lineno:
            result.add(0, "no #CHROM header line: not a VCF, or its header is damaged")
        else:
            result.add(0, "empty: no header, no records")
        return
    if not header.gvcf:
        result.add(0, "a plain VCF, not a gVCF (no ##ALT=<ID=NON_REF>, no ##GVCFBlock lines); make it with "
                      "'gmscall call --gvcf'")
    if ref is not None:
        for name, length in header.contigs.items():
            if name in ref.lengths and length is not None and length != ref.lengths[name]:
                result.add(0, f"contig '{name}' has length {length} but {ref.lengths[name]} in the reference: "
                              "the gVCF was made against another reference build")
    known = {c: n for c, n in header.contigs.items() if n is not None}
    if ref is not None:
        known = {**ref.lengths, **known}
    try:
        spans = _region_spans(known, regions, bed)
    except InputError as e:  # a region on a contig this gVCF lacks, past its end...: its problem
        result.add(0, f"the regions do not fit it: {e}")
        spans = None
    seen = _check_records(itertools.chain([rest], chunks), lineno, header, result, ref, spans)
    if path.endswith(".gz") or Path(path + ".tbi").exists() or Path(path + ".csi").exists():
        _check_index(path, result, seen)


def _defines(h: _Header, keys: tuple[dict[str, tuple[str, str]], dict[str, tuple[str, str]]]) -> bool:
    return all(h.info.get(k) == v for k, v in keys[0].items()) and all(h.format.get(k) == v for k, v in keys[1].items())


def _check_records(chunks: Iterator[bytes], lineno: int, header: _Header, result: GvcfCheck,
                   ref: _Reference | None, spans: dict[str, list[tuple[int, int]]] | None) -> list[str]:
    full = _LineChecker(header, result)
    cov = _Coverage(result, spans)
    never = re.compile(rb"(?!)").fullmatch
    fast = _FAST_BLOCK.fullmatch if _defines(header, _FAST_BLOCK_KEYS) else never
    fast_variant = _FAST_VARIANT.fullmatch if _defines(header, _FAST_VARIANT_KEYS) else never
    filters = {f.encode() for f in header.filters}
    contigs = header.contigs
    lengths = {c.encode(): (n if n is not None else 1 << 62) for c, n in contigs.items()}
    chrom_b: bytes | None = None
    chrom_len = 0
    blocks = variants = 0
    first_data = lineno + 1
    seen_contigs: list[str] = []
    # the reference window of the current contig, as bytes (REF of the fast path compared in place)
    win, win_start, win_end = b"", 0, 0
    # the coverage state of `cov`, kept in locals for the common case (a block right after the line
    # before) and written back before `cov` handles any other line
    covered = last_pos = 0
    # runs of reference blocks in C++ (the lines _FAST_BLOCK takes, with the same conditions)
    scan = _scanner() if fast is not never else None
    for chunk in chunks:
        off, size = 0, len(chunk)
        while off < size:
            if scan is not None and covered >= 0 and chrom_b is not None:
                stop, k, end, pos = scan(chunk, off, chrom_b, covered, last_pos, chrom_len,
                                         None if ref is None else win, win_start)
                if k:
                    blocks += k
                    lineno += k
                    covered, last_pos, off = end, pos, stop
                    if off >= size:
                        break
            eol = chunk.find(b"\n", off)
            eol = size if eol < 0 else eol
            raw, off = chunk[off:eol], eol + 1
            lineno += 1
            m = fast(raw)
            if m is not None:
                c, p, r, e, dp, mn, dp1, mn1 = m.groups()
                pos = int(p)
                end = int(e)
                if (c == chrom_b and pos == covered + 1 and end >= pos and end <= chrom_len
                        and (int(mn) <= int(dp) if dp is not None else int(mn1) <= int(dp1))):
                    blocks += 1
                    covered = end
                    last_pos = pos
                    if ref is not None:
                        if not win_start <= pos - 1 < win_end:
                            win, win_start, win_end = _window(ref, cov.chrom, pos)  # type: ignore[arg-type]
                        if win and win[pos - 1 - win_start] != r[0]:
                            result.add(lineno, f"{cov.chrom}:{pos}: REF {r.decode()} but the reference has "
                                               f"{chr(win[pos - 1 - win_start])}")
                    continue
            else:
                m = fast_variant(raw)
                if m is not None:
                    c, p, r, alts, filt, g1, g2, ad, pl, gl = m.groups()
                    pos = int(p)
                    n = alts.count(b",") + 2
                    ng = n if g2 is None else n * (n + 1) // 2
                    if (c == chrom_b and filt in filters and int(g1) < n and (g2 is None or int(g2) < n)
                            and ad.count(b",") + 1 == n and pl.count(b",") + 1 == ng and gl.count(b",") + 1 == ng
                            and pos + len(r) - 1 <= chrom_len and _distinct(r, alts)):
                        cov.sync(covered, last_pos, lineno - 1)
                        variants += 1
                        cov.line(lineno, pos, pos + len(r) - 1, False)
                        covered = cov.covered if not cov.unknown else -2
                        last_pos = cov.last_pos
                        if ref is not None:
                            _ref_check(ref, result, lineno, cov.chrom, pos, r.decode(), full.undefined)  # type: ignore[arg-type]
                        continue
            # a line that needs the full check: sync the state, then check every field
            cov.sync(covered, last_pos, lineno - 1)
            line = full.check(lineno, raw)
            if line.chrom is not None and line.chrom.encode() != chrom_b:
                chrom_b = line.chrom.encode()
                chrom_len = lengths.get(chrom_b, 1 << 62)
                cov.contig(lineno, line.chrom)
                seen_contigs.append(line.chrom)
                win, win_start, win_end = b"", 0, 0
            if line.chrom is None or line.pos is None:
                cov.unknown = True
                covered = -2
                continue
            if line.block:
                blocks += 1
            else:
                variants += 1
            cov.line(lineno, line.pos, line.end, line.block)
            covered = cov.covered if not cov.unknown else -2  # -2: the next line takes the full check
            last_pos = cov.last_pos
            if ref is not None and line.ref is not None:
                _ref_check(ref, result, lineno, line.chrom, line.pos, line.ref, full.undefined)
    cov.sync(covered, last_pos, lineno)
    cov.finish()
    if spans is not None:
        for chrom, pieces in spans.items():
            if chrom not in cov.seen:
                s, e = pieces[0][0], pieces[-1][1]
                result.add(0, f"{chrom}:{s + 1}-{e}: the regions on {chrom} are in no line")
    result.lines = lineno - first_data + 1
    result.blocks, result.variants, result.bases, result.contigs = blocks, variants, cov.bases, len(seen_contigs)
    return seen_contigs


def _scanner():
    """_core.scan_blocks (C++), or None: the Python fast path alone (a core built without it)."""
    try:
        from .. import _core
    except ImportError:
        return None
    return getattr(_core, "scan_blocks", None)


def _distinct(ref: bytes, alts: bytes) -> bool:
    """The ALTs of a fast-path variant record differ from REF and from each other."""
    if alts.count(b",") == 1:
        return alts[:-1] != ref
    listed = [ref, *alts[:-1].split(b",")]
    return len(set(listed)) == len(listed)


def _window(ref: _Reference, chrom: str, pos: int) -> tuple[bytes, int, int]:
    """The reference bases from 1-based `pos` on, as bytes, with their 0-based span; empty off the FASTA."""
    seq = ref.bases(chrom, pos, 1)
    if seq is None:
        return b"", 0, 1 << 62
    return ref.seq.encode(), ref.start, ref.start + len(ref.seq)


def _ref_check(ref: _Reference, result: GvcfCheck, lineno: int, chrom: str, pos: int, seq: str,
               missing: set | None = None) -> None:
    have = ref.bases(chrom, pos, len(seq))
    if have is None:
        if missing is None or chrom not in missing:
            if missing is not None:
                missing.add(chrom)
            result.add(lineno, f"{chrom}:{pos}: contig {chrom} is not in the reference (reported on its first "
                               "line only)")
    elif have != seq.upper().translate(_IUPAC_TO_N):
        result.add(lineno, f"{chrom}:{pos}: REF {seq[:20]} but the reference has {have[:20]}")
