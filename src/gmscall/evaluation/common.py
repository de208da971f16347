"""What every kind of evaluation shares: the normalised allele, reference access, regions and
BED intervals, allele normalisation (vt's algorithm) and VCF reading helpers.

Stdlib and pysam only: importable without gmscall's compiled core.
"""

from __future__ import annotations

import bisect
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import pysam


HET = "het"
HOM = "hom"
UNKNOWN_GT = "."
VARIANT_TYPES = ("SNV", "INDEL")
_DNA = re.compile(r"^[ACGTN]+$")


class Variant(NamedTuple):
    """One normalised ALT allele of one side (1-based POS, VCF-style REF/ALT, zygosity)."""

    chrom: str
    pos: int
    ref: str
    alt: str
    zygosity: str  # "het", "hom" or "." (no genotype)

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.chrom, self.pos, self.ref, self.alt)

    @property
    def vtype(self) -> str:
        return "SNV" if len(self.ref) == 1 and len(self.alt) == 1 else "INDEL"

    @property
    def start0(self) -> int:
        return self.pos - 1

    @property
    def end0(self) -> int:
        return self.pos - 1 + len(self.ref)

    def __str__(self) -> str:
        return f"{self.chrom}:{self.pos}:{self.ref}>{self.alt}:{self.zygosity}"


class _Reference:
    """Block-cached random access to a FASTA (plain or bgzipped, with .fai/.gzi)."""

    BLOCK = 1 << 16

    def __init__(self, path: str) -> None:
        self.path = path
        import pysam

        self._fa = pysam.FastaFile(path)
        self._lengths = dict(zip(self._fa.references, self._fa.lengths))
        self._blocks: dict[tuple[str, int], str] = {}

    def has(self, chrom: str) -> bool:
        return chrom in self._lengths

    def length(self, chrom: str) -> int:
        return self._lengths[chrom]

    def _block(self, chrom: str, idx: int) -> str:
        key = (chrom, idx)
        blk = self._blocks.get(key)
        if blk is None:
            if len(self._blocks) > 256:
                self._blocks.clear()
            s = idx * self.BLOCK
            blk = self._fa.fetch(chrom, s, min(s + self.BLOCK, self._lengths[chrom])).upper()
            self._blocks[key] = blk
        return blk

    def fetch(self, chrom: str, start: int, end: int) -> str:
        """Uppercase sequence of [start, end) (0-based), clipped to the contig."""
        start = max(0, start)
        end = min(end, self._lengths[chrom])
        if end <= start:
            return ""
        out = []
        pos = start
        while pos < end:
            idx = pos // self.BLOCK
            blk = self._block(chrom, idx)
            off = pos - idx * self.BLOCK
            take = min(end - pos, len(blk) - off)
            out.append(blk[off : off + take])
            pos += take
        return "".join(out)

    def close(self) -> None:
        self._fa.close()


def parse_region(region: str) -> tuple[str, int | None, int | None]:
    """Parse ``chr``, ``chr:start-end`` or ``chr:start`` (1-based, inclusive, commas allowed)."""
    m = re.match(r"^(.+?)(?::([\d,]+)(?:-([\d,]+))?)?$", region.strip())
    if not m:
        raise ValueError(f"cannot parse region {region!r}; expected chr, chr:start or chr:start-end")
    chrom = m.group(1)
    start = int(m.group(2).replace(",", "")) if m.group(2) else None
    end = int(m.group(3).replace(",", "")) if m.group(3) else None
    if start is not None and end is not None and end < start:
        raise ValueError(f"region {region!r} ends before it starts")
    return chrom, start, end


class _Bed:
    """Merged BED intervals with a POS (1-based) membership test: ``start < POS <= end``."""

    def __init__(self, intervals: dict[str, list[tuple[int, int]]]) -> None:
        self.starts: dict[str, list[int]] = {}
        self.ends: dict[str, list[int]] = {}
        for chrom, ivs in intervals.items():
            merged: list[list[int]] = []
            for s, e in sorted(ivs):
                if merged and s <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], e)
                else:
                    merged.append([s, e])
            self.starts[chrom] = [s for s, _ in merged]
            self.ends[chrom] = [e for _, e in merged]

    def contains(self, chrom: str, pos: int) -> bool:
        starts = self.starts.get(chrom)
        if not starts:
            return False
        i = bisect.bisect_left(starts, pos) - 1  # last interval with start < pos
        return i >= 0 and pos <= self.ends[chrom][i]

    def total_bp(self) -> int:
        return sum(e - s for c in self.starts for s, e in zip(self.starts[c], self.ends[c]))


def read_bed(path: str) -> dict[str, list[tuple[int, int]]]:
    """Read a BED file (plain or gzipped) into {chrom: [(start, end), ...]} (0-based half-open)."""
    import gzip

    try:
        return _read_bed(path)
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (binary data, or gzipped without a .gz name)") from None
    except (EOFError, gzip.BadGzipFile) as e:
        raise ValueError(f"{path}: damaged gzip data ({e})") from None


def _read_bed(path: str) -> dict[str, list[tuple[int, int]]]:
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with opener(path, "rt") as fh:  # type: ignore[operator]
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3:
                raise ValueError(f"{path}:{lineno}: a BED line needs at least 3 tab-separated columns")
            try:
                s, e = int(cols[1]), int(cols[2])
            except ValueError:
                raise ValueError(f"{path}:{lineno}: BED start/end are not integers") from None
            out[cols[0]].append((s, e))
    return dict(out)


def normalize_allele(
    ref_seq: _Reference | None, chrom: str, pos: int, ref: str, alt: str
) -> tuple[int, str, str]:
    """Trim and left-align one REF/ALT pair (vt algorithm). Returns (pos, ref, alt), 1-based.

    Without a reference for ``chrom`` only the common suffix/prefix trimming is done.
    """
    ref, alt = ref.upper(), alt.upper()
    have_ref = ref_seq is not None and ref_seq.has(chrom)
    while True:
        changed = False
        if ref and alt and ref[-1] == alt[-1]:
            if min(len(ref), len(alt)) == 1 and not (have_ref and pos > 1):
                break  # cannot extend to the left: keep the right padding base
            ref, alt = ref[:-1], alt[:-1]
            changed = True
        if not ref or not alt:
            assert ref_seq is not None
            base = ref_seq.fetch(chrom, pos - 2, pos - 1) or "N"
            ref, alt, pos = base + ref, base + alt, pos - 1
            changed = True
        if not changed:
            break
    while len(ref) >= 2 and len(alt) >= 2 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _iter_records(vf: pysam.VariantFile, region: str | None) -> Iterator[pysam.VariantRecord]:
    if region is None:
        yield from vf
        return
    chrom, start, end = parse_region(region)
    # Fetch with padding: left-alignment can move a record into (or out of) the region.
    pad = 1000
    indexed = isinstance(vf.filename, bytes) and any(
        os.path.exists(vf.filename.decode() + ext) for ext in (".tbi", ".csi")
    )
    try:
        if not indexed:
            it = None
        elif start is None:
            it = vf.fetch(chrom)
        else:
            it = vf.fetch(chrom, max(0, start - 1 - pad), None if end is None else end + pad)
    except ValueError:  # no index, or a contig the index does not know
        it = None
    if it is not None:
        yield from it
        return
    for rec in vf:
        if rec.chrom == chrom:
            yield rec


Key = tuple[str, int, str, str]  # (chrom, pos, ref, alt)


def _open_vcf(path: str) -> pysam.VariantFile:
    import pysam

    verbosity = pysam.set_verbosity(0)  # htslib notes on open (no index, header sanity) are noise here
    try:
        return pysam.VariantFile(path)
    finally:
        pysam.set_verbosity(verbosity)


def vcf_sample_names(path: str) -> list[str]:
    """The sample columns of a VCF/BCF."""
    with _open_vcf(path) as vf:
        return list(vf.header.samples)


def _is_pass(rec: pysam.VariantRecord) -> bool:
    filters = list(rec.filter.keys())
    return not filters or filters == ["PASS"]


def _position_filter(bed: str | None, region: str | None) -> Callable[[str, int], bool]:
    """(chrom, POS) -> inside the BED (``bed_start < POS <= bed_end``) and the region (1-based)."""
    bed_iv = _Bed(read_bed(bed)) if bed else None
    r_chrom, r_start, r_end = parse_region(region) if region else (None, None, None)

    def keep(chrom: str, pos: int) -> bool:
        if r_chrom is not None and (
            chrom != r_chrom or (r_start is not None and pos < r_start) or (r_end is not None and pos > r_end)
        ):
            return False
        return bed_iv is None or bed_iv.contains(chrom, pos)

    return keep


def _gt_of(rec: pysam.VariantRecord, sample: str) -> tuple[Any, ...]:
    """GT allele indices of ``sample`` (None for a missing allele; () without GT)."""
    if "GT" not in rec.format:
        return ()
    return tuple(rec.samples[sample]["GT"] or ())


def _called(gt: Sequence[Any]) -> bool:
    return len(gt) > 0 and all(a is not None for a in gt)


def _fmt_gt(gt: Sequence[Any]) -> str:
    return "/".join("." if a is None else str(a) for a in gt) or "."


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"

