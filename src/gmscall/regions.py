"""Regions, BED files, contig checks and shards. Coordinates are 0-based half-open inside."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

_REGION_RE = re.compile(r"^(?P<contig>.+?)(?::(?P<start>[\d,]+)(?:-(?P<end>[\d,]*))?)?$")


@dataclass(frozen=True, order=True)
class Region:
    contig: str
    start: int  # 0-based, inclusive
    end: int  # exclusive

    def __len__(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.contig}:{self.start + 1}-{self.end}"


def parse_region(text: str, contigs: Mapping[str, int]) -> Region:
    """samtools syntax: 'chr', 'chr:100', 'chr:100-200' (1-based inclusive; commas allowed)."""
    text = text.strip()
    if text in contigs:
        return Region(text, 0, contigs[text])
    m = _REGION_RE.match(text)
    if not m or (m.group("contig") not in contigs and text.rpartition(":")[0] in contigs):
        raise InputError(f"region '{text}': expected CONTIG, CONTIG:START or CONTIG:START-END "
                         "(1-based, e.g. chr20:1000001-2000000)")
    contig = m.group("contig")
    if contig not in contigs:
        raise InputError(f"region '{text}': contig '{contig}' is not in both the BAM and the reference"
                         f"{_name_hint(contig, contigs)}")
    length = contigs[contig]
    start = int(m.group("start").replace(",", "")) if m.group("start") else 1
    end_txt = m.group("end")
    end = int(end_txt.replace(",", "")) if end_txt else length
    if m.group("start") and end_txt is None:
        end = start  # 'chr:100' is one position, as in samtools
    if start < 1:
        raise InputError(f"region '{text}': start must be >= 1")
    if start > end:
        raise InputError(f"region '{text}': start {start} is after end {end}")
    if end > length:
        raise InputError(f"region '{text}': end {end} is past the end of {contig} (length {length})")
    return Region(contig, start - 1, end)


def _name_hint(contig: str, contigs: Mapping[str, int]) -> str:
    alt = contig[3:] if contig.startswith("chr") else "chr" + contig
    if alt in contigs:
        return f" (did you mean '{alt}'? the files use {'no ' if not alt.startswith('chr') else ''}'chr' prefix)"
    return ""


def read_bed(path: str | Path, contigs: Mapping[str, int]) -> list[Region]:
    """BED intervals, validated (line numbers in errors), sorted in contig order and merged."""
    order = {name: k for k, name in enumerate(contigs)}
    regions: list[Region] = []
    from .errors import text_of

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read BED file ({e.strerror})") from None
    lines = text_of(data, f"BED file {path}").splitlines()
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 3:
            raise InputError(f"{path}:{lineno}: a BED line needs CONTIG START END, got '{line}'")
        contig = fields[0]
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise InputError(f"{path}:{lineno}: START and END must be integers, got '{line}'") from None
        if contig not in contigs:
            raise InputError(f"{path}:{lineno}: contig '{contig}' is not in both the BAM and the reference"
                             f"{_name_hint(contig, contigs)}")
        if start < 0 or start > end:
            raise InputError(f"{path}:{lineno}: need 0 <= START <= END, got {start} {end}")
        if end > contigs[contig]:
            raise InputError(f"{path}:{lineno}: END {end} is past the end of {contig} ({contigs[contig]})")
        if end > start:
            regions.append(Region(contig, start, end))
    return merge_regions(regions, order)


def merge_regions(regions: Iterable[Region], order: Mapping[str, int]) -> list[Region]:
    merged: list[Region] = []
    for r in sorted(regions, key=lambda r: (order[r.contig], r.start, r.end)):
        if merged and merged[-1].contig == r.contig and r.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Region(last.contig, last.start, max(last.end, r.end))
        else:
            merged.append(r)
    return merged


def shared_contigs(bam_contigs: Sequence[tuple[str, int]], ref_contigs: Sequence[tuple[str, int]],
                   bam_path: str = "BAM", ref_path: str = "reference") -> dict[str, int]:
    """Contigs present in both files, in BAM header order; a length disagreement is an error."""
    ref = dict(ref_contigs)
    out: dict[str, int] = {}
    for name, length in bam_contigs:
        if name not in ref:
            continue
        if ref[name] != length:
            raise InputError(
                f"contig '{name}' has length {length} in {bam_path} but {ref[name]} in {ref_path}: "
                "the reads were aligned to a different reference build")
        out[name] = length
    if not out:
        bam_names = [n for n, _ in bam_contigs][:3]
        ref_names = list(ref)[:3]
        raise InputError(
            f"{bam_path} and {ref_path} share no contig name (BAM: {', '.join(bam_names)}...; "
            f"reference: {', '.join(ref_names)}...); check 'chr' prefixes and the reference build")
    return out


def make_shards(regions: Iterable[Region], shard_size: int) -> list[Region]:
    """Split regions into [start, end) pieces of at most shard_size, on a fixed grid of the contig.

    The grid makes shard boundaries independent of how the regions were given.
    """
    if shard_size < 1:
        raise InputError(f"shard size must be >= 1, got {shard_size}")
    shards: list[Region] = []
    for r in regions:
        pos = r.start
        while pos < r.end:
            stop = min(r.end, (pos // shard_size + 1) * shard_size)
            shards.append(Region(r.contig, pos, stop))
            pos = stop
    return shards


def resolve_regions(contigs: Mapping[str, int], regions: str | Sequence[str] | None = None,
                    bed: str | Path | None = None) -> list[Region]:
    """What to work on: -r regions (merged), a -R BED file, or every shared contig when neither."""
    if regions is not None and bed is not None:
        raise InputError("give regions (-r) or a BED file (-R), not both")
    if bed is not None:
        return read_bed(bed, contigs)
    if regions is not None:
        texts = [regions] if isinstance(regions, str) else list(regions)
        return merge_regions([parse_region(t, contigs) for t in texts], {c: k for k, c in enumerate(contigs)})
    return [Region(c, 0, n) for c, n in contigs.items()]

