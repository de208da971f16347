"""Synthetic references, variants and paired-end reads with known truth.

Used by the test suite and by ``gmscall demo``.  Only numpy and pysam are needed, and every
function is deterministic for a given seed.

Typical use::

    ds = make_dataset(tmpdir, length=20_000, depth=30, seed=1)
    ds.fasta, ds.bam, ds.truth_vcf, ds.truth

Building blocks::

    ref = make_reference(20_000, seed=1, n_run=400, softmask=True)
    planted = plant_variants(ref, seed=1, n_snv=40, n_indel=12)
    reads = simulate_reads(planted.haplotypes, seed=1, depth=30)
    write_fasta("ref.fa", ref); write_bam("reads.bam", reads, ref); write_truth_vcf("t.vcf.gz", ...)

Conventions: positions are 0-based; truth records are normalised (left-aligned, VCF anchor base
for indels, upper case) and every planted indel is placed at its left-aligned position, so the
CIGARs of the simulated reads are left-aligned as an aligner would write them.
"""

from __future__ import annotations

import array
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import pysam

__all__ = [
    "Dataset",
    "Haplotype",
    "Planted",
    "Reference",
    "SimRead",
    "Variant",
    "make_dataset",
    "make_long_read_dataset",
    "make_reference",
    "plant_variants",
    "repeat_tracts",
    "simulate_long_reads",
    "simulate_reads",
    "stutter_fragment",
    "stutter_rate",
    "write_bam",
    "write_fasta",
    "write_truth_vcf",
]

PathLike = Union[str, "os.PathLike[str]"]

_ACGT = np.frombuffer(b"ACGT", dtype=np.uint8)
# ASCII -> 0..3 for ACGT (either case), 4 for anything else
_CODE = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(b"ACGT"):
    _CODE[_b] = _i
    _CODE[_b + 32] = _i

# pysam CIGAR op codes
M, INS, DEL, REF_SKIP, SOFT, HARD = 0, 1, 2, 3, 4, 5

# SAM flags
PAIRED, PROPER, UNMAP, MUNMAP, REVERSE, MREVERSE = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20
READ1, READ2, SECONDARY, QCFAIL, DUP, SUPPLEMENTARY = 0x40, 0x80, 0x100, 0x200, 0x400, 0x800


def _rng(seed: int, stage: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), stage])


# --------------------------------------------------------------------------------------------
# reference


@dataclass(frozen=True)
class Reference:
    """A single-contig reference.  ``seq`` is what goes into the FASTA (may hold N and lower case)."""

    contig: str
    seq: str
    n_runs: tuple[tuple[int, int], ...] = ()  # [start, end) runs of N
    masked: tuple[tuple[int, int], ...] = ()  # [start, end) lower-case (soft-masked) stretches

    def __len__(self) -> int:
        return len(self.seq)

    @property
    def upper(self) -> str:
        return self.seq.upper()


def make_reference(
    length: int,
    seed: int,
    *,
    contig: str = "chrS",
    n_run: int = 0,
    softmask: bool = False,
    gc: float | None = None,
) -> Reference:
    """Random sequence with homopolymers (5-15 bp), di/tri-nucleotide tandem repeats and a few
    duplicated segments (2-3 copies, ~1% divergent).  ``n_run`` > 0 puts one run of that many N
    near the middle; ``softmask`` lower-cases a few 100-400 bp stretches (never the N run)."""
    if length < 100:
        raise ValueError(f"reference length must be >= 100, got {length}")
    rng = _rng(seed, 1)
    gc = float(rng.uniform(0.38, 0.46)) if gc is None else gc
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    codes = rng.choice(4, size=length, p=p).astype(np.uint8)

    # duplicated segments (segmental duplications: reads there are ambiguous)
    for _ in range(max(1, length // 8000)):
        seg_len = int(rng.integers(300, 600))
        if seg_len * 3 >= length:
            break
        src = int(rng.integers(0, length - seg_len))
        seg = codes[src : src + seg_len].copy()
        for _ in range(int(rng.integers(1, 3))):
            dst = int(rng.integers(0, length - seg_len))
            copy = seg.copy()
            mut = rng.random(seg_len) < 0.01
            copy[mut] = (copy[mut] + rng.integers(1, 4, int(mut.sum()))) % 4
            codes[dst : dst + seg_len] = copy
    # di/tri-nucleotide tandem repeats
    for _ in range(max(1, length // 600)):
        unit_len = int(rng.integers(2, 4))
        unit = rng.integers(0, 4, unit_len).astype(np.uint8)
        if np.all(unit == unit[0]):
            unit[1] = (unit[0] + 1) % 4
        copies = int(rng.integers(4, 13))
        start = int(rng.integers(0, length - unit_len * copies))
        codes[start : start + unit_len * copies] = np.tile(unit, copies)
    # homopolymers
    for _ in range(max(1, length // 400)):
        hp_len = int(rng.integers(5, 16))
        start = int(rng.integers(0, length - hp_len))
        codes[start : start + hp_len] = rng.integers(0, 4)

    letters = _ACGT[codes]
    n_runs: list[tuple[int, int]] = []
    if n_run > 0:
        if n_run > length // 2:
            raise ValueError("n_run must be at most half the reference length")
        start = int(rng.integers(int(length * 0.4), int(length * 0.6) - n_run // 2))
        letters[start : start + n_run] = ord("N")
        n_runs.append((start, start + n_run))
    masked: list[tuple[int, int]] = []
    if softmask:
        for _ in range(max(1, length // 5000)):
            m_len = int(rng.integers(100, 400))
            start = int(rng.integers(0, length - m_len))
            if any(s < start + m_len and start < e for s, e in n_runs):
                continue
            letters[start : start + m_len] |= 32  # lower case (idempotent where stretches overlap)
            masked.append((start, start + m_len))
    return Reference(contig, letters.tobytes().decode(), tuple(n_runs), tuple(sorted(masked)))


# --------------------------------------------------------------------------------------------
# variants and haplotypes


@dataclass(frozen=True, order=True)
class Variant:
    """A truth record in normalised VCF form; ``pos`` is 0-based; ``genotype`` is phased
    (allele index on haplotype 0, on haplotype 1), e.g. (0, 1), (1, 1), (1, 2)."""

    contig: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    genotype: tuple[int, int]

    @property
    def alt(self) -> str:
        return ",".join(self.alts)

    @property
    def kind(self) -> str:
        if all(len(a) == len(self.ref) == 1 for a in self.alts):
            return "snv"
        if all(len(a) > len(self.ref) for a in self.alts):
            return "ins"
        if all(len(a) < len(self.ref) for a in self.alts):
            return "del"
        return "mixed"

    @property
    def gt(self) -> str:
        return f"{self.genotype[0]}|{self.genotype[1]}"


@dataclass(frozen=True)
class Haplotype:
    """One haplotype: upper-case sequence and, per base, the reference position it aligns to
    (-1 for inserted bases).  Deleted reference positions do not occur in ``hap2ref``."""

    contig: str
    index: int
    seq: str
    hap2ref: np.ndarray  # int64[len(seq)]
    # The same sequence with every indel at its rightmost equivalent place (None: not made). Reads
    # take whichever placement an aligner would write (simulate_reads): inside a tandem repeat a
    # read that does not span the tract shows no indel, as a real aligner aligns it.
    hap2ref_right: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.seq)


@dataclass(frozen=True)
class Planted:
    reference: Reference
    truth: list[Variant]
    haplotypes: tuple[Haplotype, Haplotype]


def _left_align_del(r: str, p: int, n: int) -> tuple[int, int]:
    """Deletion of r[p:p+n]: (leftmost p, rightmost p) of equivalent placements."""
    left = p
    while left - 1 >= 1 and r[left - 1] == r[left + n - 1]:
        left -= 1
    right = p
    while right + n < len(r) and r[right] == r[right + n]:
        right += 1
    return left, right


def _left_align_ins(r: str, a: int, s: str) -> tuple[int, str, int]:
    """Insertion of s after anchor r[a]: (leftmost anchor, its inserted sequence, rightmost anchor)."""
    left, ls = a, s
    while left - 1 >= 0 and r[left] == ls[-1]:
        ls = r[left] + ls[:-1]
        left -= 1
    right, rs = a, s
    while right + 1 < len(r) and r[right + 1] == rs[0]:
        rs = rs[1:] + r[right + 1]
        right += 1
    return left, ls, right


def _homopolymers(r: str, min_len: int) -> list[tuple[int, int]]:
    arr = np.frombuffer(r.encode(), dtype=np.uint8)
    change = np.flatnonzero(arr[1:] != arr[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(arr)]))
    keep = (ends - starts >= min_len) & (arr[starts] != ord("N"))
    return list(zip(starts[keep].tolist(), ends[keep].tolist()))


def _build_haplotype(contig: str, index: int, r: str, edits: list[tuple[int, str, str]]) -> Haplotype:
    pieces: list[str] = []
    maps: list[np.ndarray] = []
    cur = 0
    for pos, ra, aa in sorted(edits):
        if pos < cur:
            raise ValueError(f"overlapping edits at {pos}")
        pieces.append(r[cur:pos])
        maps.append(np.arange(cur, pos, dtype=np.int64))
        k = len(os.path.commonprefix([ra, aa]))
        pieces.append(aa)
        if len(ra) == len(aa):
            maps.append(np.arange(pos, pos + len(ra), dtype=np.int64))
        elif len(aa) > len(ra):
            assert k == len(ra), (pos, ra, aa)
            maps.append(np.concatenate((np.arange(pos, pos + k), np.full(len(aa) - k, -1))).astype(np.int64))
        else:
            assert k == len(aa), (pos, ra, aa)
            maps.append(np.arange(pos, pos + k, dtype=np.int64))
        cur = pos + len(ra)
    pieces.append(r[cur:])
    maps.append(np.arange(cur, len(r), dtype=np.int64))
    seq = "".join(pieces)
    hap2ref = np.concatenate(maps)
    assert len(seq) == len(hap2ref)
    return Haplotype(contig, index, seq, hap2ref)


def plant_variants(
    ref: Reference,
    seed: int,
    n_snv: int,
    n_indel: int,
    het_fraction: float = 0.6,
    *,
    min_spacing: int = 25,
    max_indel: int = 10,
    homopolymer_fraction: float = 0.35,
    n_multiallelic: int = 2,
    margin: int = 20,
) -> Planted:
    """Plant SNVs and 1..max_indel bp indels (a share of them in homopolymers) on two haplotypes.

    Het variants go on one random haplotype, hom-alt on both.  ``n_multiallelic`` extra sites
    carry a different ALT on each haplotype (genotype 1|2): alternately an SNV site and a
    homopolymer site with a 1-bp deletion on one haplotype and a 1-bp insertion on the other.
    Every variant, including its whole ambiguous repeat span, is at least ``min_spacing`` bp from
    the next, ``margin`` bp from the contig ends and from N.  May plant fewer than asked when the
    reference is too small (check ``len(result.truth)``)."""
    rng = _rng(seed, 2)
    r = ref.upper
    length = len(r)
    busy = np.zeros(length + 1, dtype=bool)
    busy[:margin] = True
    busy[max(0, length - margin) :] = True
    for s, e in ref.n_runs:
        busy[max(0, s - margin) : e + margin] = True
    busy[:length][np.frombuffer(r.encode(), dtype=np.uint8) == ord("N")] = True
    homopolymers = _homopolymers(r, 5)
    edits: tuple[list[tuple[int, str, str]], list[tuple[int, str, str]]] = ([], [])
    truth: list[Variant] = []

    def free(lo: int, hi: int) -> bool:
        lo2, hi2 = lo - min_spacing, hi + min_spacing
        return lo2 >= 0 and hi2 <= length and not busy[lo2:hi2].any()

    def genotype() -> tuple[int, int]:
        if rng.random() < het_fraction:
            return (1, 0) if rng.random() < 0.5 else (0, 1)
        return (1, 1)

    def add(
        pos: int,
        ra: str,
        alts: tuple[str, ...],
        gt: tuple[int, int],
        span: tuple[int, int],
        hap_edits: tuple[tuple[str, str], ...] | None = None,
    ) -> None:
        """Record a truth site; ``hap_edits`` (ref, alt) per ALT when the minimal per-haplotype
        edit differs from the site's combined representation."""
        busy[span[0] : span[1]] = True
        for hap, allele in enumerate(gt):
            if allele:
                ra_h, aa_h = hap_edits[allele - 1] if hap_edits else (ra, alts[allele - 1])
                edits[hap].append((pos, ra_h, aa_h))
        truth.append(Variant(ref.contig, pos, ra, alts, gt))

    def try_snv(multi: bool) -> bool:
        p = int(rng.integers(margin, length - margin))
        if not free(p, p + 1):
            return False
        others = [b for b in "ACGT" if b != r[p]]
        if multi:
            a1, a2 = rng.choice(others, size=2, replace=False).tolist()
            add(p, r[p], (a1, a2), (1, 2), (p, p + 1))
        else:
            add(p, r[p], (str(rng.choice(others)),), genotype(), (p, p + 1))
        return True

    def try_indel() -> bool:
        n = min(max_indel, int(rng.zipf(1.6)))
        in_hp = bool(homopolymers) and rng.random() < homopolymer_fraction
        is_del = rng.random() < 0.5
        if in_hp:
            s, e = homopolymers[int(rng.integers(len(homopolymers)))]
            base = r[s]
            if is_del:
                n = min(n, 3, e - s - 1)
                p = s + int(rng.integers(0, e - s - n + 1))
            else:
                n = min(n, 4)
                p = s + int(rng.integers(0, e - s)) + 1  # insertion after anchor p - 1
                ins = base * n
        else:
            p = int(rng.integers(margin, length - margin - n))
            ins = "".join(rng.choice(list("ACGT"), size=n).tolist())
        if is_del:
            left, right = _left_align_del(r, p, n)
            lo, hi = left - 1, right + n + 1
            if not free(lo, hi) or "N" in r[lo:hi]:
                return False
            add(left - 1, r[left - 1 : left + n], (r[left - 1],), genotype(), (lo, hi))
        else:
            anchor, seq, right = _left_align_ins(r, p - 1, ins)
            lo, hi = anchor, right + 2
            if anchor < 1 or not free(lo, hi) or "N" in r[lo:hi]:
                return False
            add(anchor, r[anchor], (r[anchor] + seq,), genotype(), (lo, hi))
        return True

    def try_multi_indel() -> bool:
        if not homopolymers:
            return False
        s, e = homopolymers[int(rng.integers(len(homopolymers)))]
        lo, hi = s - 1, e + 1
        if s < 1 or not free(lo, hi):
            return False
        a = s - 1  # anchor: the base before the run (left-aligned for both alleles)
        base = r[s]
        ra = r[a] + base
        hap_edits = ((ra, r[a]), (r[a], r[a] + base))
        add(a, ra, (r[a], r[a] + base + base), (1, 2), (lo, hi), hap_edits)
        return True

    plan = ["indel"] * n_indel + ["multi_indel" if i % 2 else "multi_snv" for i in range(n_multiallelic)]
    plan += ["snv"] * n_snv
    for item in plan:
        for _ in range(200):
            if item == "indel":
                ok = try_indel()
            elif item == "multi_indel":
                ok = try_multi_indel()
            else:
                ok = try_snv(item == "multi_snv")
            if ok:
                break
    truth.sort(key=lambda v: v.pos)
    haps = (
        _build_haplotype(ref.contig, 0, r, edits[0]),
        _build_haplotype(ref.contig, 1, r, edits[1]),
    )
    return Planted(ref, truth, haps)


# --------------------------------------------------------------------------------------------
# reads


@dataclass
class SimRead:
    """One BAM record.  ``hap``/``hap_start``: the haplotype and its coordinate of query base 0
    (sequence as stored in the BAM, i.e. forward strand); ``errors`` marks query bases changed by
    the simulated sequencing errors.  Soft-clipped bases of ``clip_junk`` reads are random."""

    name: str
    flag: int
    pos: int  # 0-based leftmost aligned reference position
    mapq: int
    cigar: list[tuple[int, int]]
    seq: str
    qual: np.ndarray  # uint8
    mate_pos: int = -1
    tlen: int = 0
    rg: str = "L1"
    hap: int = -1
    hap_start: int = -1
    errors: np.ndarray | None = None
    mate_cigar: str | None = None
    clip_junk: bool = False

    @property
    def cigarstring(self) -> str:
        return "".join(f"{n}{'MIDNSHP=X'[op]}" for op, n in self.cigar) or "*"

    @property
    def ref_len(self) -> int:
        return sum(n for op, n in self.cigar if op in (0, 2, 3, 7, 8))

    @property
    def end(self) -> int:
        return self.pos + self.ref_len


def _cigar_from_map(m: np.ndarray, clip_left: int, clip_right: int) -> tuple[int, list[tuple[int, int]]]:
    """CIGAR of a read whose query bases map to reference positions ``m`` (-1: inserted base);
    inserted bases at either end become soft clips.  Returns (reference start, cigar)."""
    n = len(m)
    lo, hi = clip_left, n - clip_right
    while lo < hi and m[lo] < 0:
        lo += 1
    while hi > lo and m[hi - 1] < 0:
        hi -= 1
    if hi - lo == 0:
        raise ValueError("read has no aligned base")
    core = m[lo:hi]
    aligned = core >= 0
    # boundaries: aligned/inserted changes, and deletions between adjacent aligned bases
    apos = np.flatnonzero(aligned)
    gaps = np.diff(core[apos])
    del_after = apos[:-1][gaps > 1]
    del_len = gaps[gaps > 1] - 1
    change = np.flatnonzero(aligned[1:] != aligned[:-1]) + 1
    cuts = np.union1d(change, del_after + 1)
    cigar: list[tuple[int, int]] = [(SOFT, lo)] if lo else []
    dels = dict(zip((del_after + 1).tolist(), del_len.tolist()))
    prev = 0
    for c in [*cuts.tolist(), len(core)]:
        if c > prev:
            cigar.append((M if aligned[prev] else INS, c - prev))
        if c in dels:
            cigar.append((DEL, dels[c]))
        prev = c
    if hi < n:
        cigar.append((SOFT, n - hi))
    return int(core[0]), cigar


def _clip_long_insertions(m: np.ndarray, clip_left: int, clip_right: int, min_len: int,
                          min_anchor: int) -> tuple[int, int] | None:
    """Soft clips as an aligner writes them for a read crossing an insertion of ``min_len`` bp or
    more: the longer aligned side is kept, the insertion and the other side are clipped.  None when
    the kept side has fewer than ``min_anchor`` aligned bases (the aligner would not place it)."""
    n = len(m)
    while True:
        lo, hi = clip_left, n - clip_right
        core = m[lo:hi] < 0
        edges = np.flatnonzero(np.diff(np.concatenate(([0], core.astype(np.int8), [0]))))
        runs = [(lo + int(a), lo + int(b)) for a, b in zip(edges[0::2], edges[1::2])
                if b - a >= min_len and a > 0 and b < len(core)]
        if not runs:
            break
        a, b = runs[0]
        left_aligned = int((m[lo:a] >= 0).sum())
        right_aligned = int((m[b:hi] >= 0).sum())
        if left_aligned >= right_aligned:
            clip_right = n - a
        else:
            clip_left = b
    if int((m[clip_left:n - clip_right] >= 0).sum()) < min_anchor:
        return None
    return clip_left, clip_right


def _indel_bases(m: np.ndarray, clips: tuple[int, int]) -> tuple[int, int]:
    """(indel bases, aligned bases) of a read's map between its clips; inserted bases at either end
    become soft clips (_cigar_from_map), so they count as neither."""
    core = m[clips[0] : len(m) - clips[1]]
    aligned = core[core >= 0]
    if not len(aligned):
        return 0, 0
    first, last = np.flatnonzero(core >= 0)[[0, -1]]
    inserted = int((core[first:last] < 0).sum())
    deleted = int((np.diff(aligned) - 1).sum())
    return inserted + deleted, len(aligned)


def _place_read(hap: Haplotype, start: int, read_len: int, clips: tuple[int, int], clip_insertions_over: int,
                min_anchor: int) -> tuple[np.ndarray, tuple[int, int] | None]:
    """The map and clips of the read at ``start`` on ``hap``, as an aligner writes it: with the
    haplotype's indels at their leftmost or rightmost equivalent places, whichever leaves fewer
    indel bases in the alignment (then more aligned bases; ties: leftmost). A read that enters a
    tandem repeat its haplotype expands, and does not leave it, then matches the reference tract and
    is soft-clipped where the tract ends there; one inside a contracted tract shows no deletion.
    Clips None: the aligner would not place the read."""
    options = []
    for hap2ref in (hap.hap2ref, hap.hap2ref_right):
        if hap2ref is None:
            continue
        m = hap2ref[start : start + read_len]
        c: tuple[int, int] | None = clips
        if clip_insertions_over > 0:
            c = _clip_long_insertions(m, *clips, clip_insertions_over, min_anchor)
        if c is not None:
            indel, aligned = _indel_bases(m, c)
            options.append(((indel, -aligned, len(options)), m, c))
    if not options:
        return hap.hap2ref[start : start + read_len], None
    _, m, c = min(options, key=lambda o: o[0])
    return m, c


def _qualities(rng: np.random.Generator, n: int, read_len: int) -> np.ndarray:
    """Illumina-like base qualities in sequencing-cycle order: high early, decreasing along the
    read, per-read offsets, occasional low-quality dips and Q2 tails."""
    cycle = np.arange(read_len) / max(1, read_len - 1)
    mean = 37.0 - 9.0 * cycle**2
    q = mean[None, :] + rng.normal(0, 2.0, (n, 1)) + rng.normal(0, 3.0, (n, read_len))
    dips = rng.random((n, read_len)) < 0.015
    q[dips] = rng.integers(2, 13, int(dips.sum()))
    tail = rng.random(n) < 0.06
    tail_start = read_len - rng.integers(5, max(6, read_len // 3), n)
    q[tail[:, None] & (np.arange(read_len)[None, :] >= tail_start[:, None])] = 2
    return np.clip(np.rint(q), 2, 41).astype(np.uint8)


def simulate_reads(
    haplotypes: Sequence[Haplotype],
    seed: int,
    depth: float,
    read_len: int = 150,
    frag_mean: float = 350,
    frag_sd: float = 50,
    *,
    dup_fraction: float = 0.03,
    low_mapq_fraction: float = 0.03,
    softclip_fraction: float = 0.05,
    qcfail_fraction: float = 0.005,
    unmapped_mate_fraction: float = 0.003,
    secondary_fraction: float = 0.005,
    supplementary_fraction: float = 0.005,
    max_n_fraction: float = 0.5,
    clip_insertions_over: int = 0,
    min_anchor: int = 20,
    contig_end_fragments: bool = True,
    read_groups: Sequence[str] = ("L1", "L2"),
    name_prefix: str = "sim",
) -> list[SimRead]:
    """Paired-end reads from the haplotypes (each gets depth/2), in BAM order of fields, unsorted.

    Fragment lengths ~ Normal(frag_mean, frag_sd) (at least read_len, so some mates overlap);
    the leftmost mate is forward and is READ1 or READ2 at random.  Base qualities follow
    ``_qualities``; each base is miscalled with probability 10^(-q/10).  CIGARs are exact (M/I/D
    from the planted indels; inserted bases at a read end become soft clips; ``softclip_fraction``
    of reads get 3-25 random bases at one end, soft-clipped).  Extras: duplicate fragments (0x400,
    independent errors), low-MAPQ fragments (MAPQ 0-19, others 60), QC-fail fragments (0x200),
    pairs with one unmapped mate, and secondary (0x100) and hard-clipped supplementary (0x800)
    alignments elsewhere.  Fragments with a read of more than ``max_n_fraction`` N are dropped
    (as if unmappable).  With ``contig_end_fragments`` each haplotype gets a fragment at each end.
    With ``clip_insertions_over`` > 0, a read that crosses an insertion at least that long is
    soft-clipped as an aligner would (``_clip_long_insertions``: the longer side stays aligned), and
    a read with fewer than ``min_anchor`` aligned bases left is unmapped."""
    rng = _rng(seed, 3)
    if read_len < 20:
        raise ValueError("read_len must be >= 20")
    f_hap, f_start, f_len = [], [], []
    for h, hap in enumerate(haplotypes):
        hl = len(hap)
        if hl < read_len:
            raise ValueError(f"haplotype {h} is shorter than read_len")
        n = round(depth * hl / (2 * read_len) / len(haplotypes))
        lens = np.clip(np.rint(rng.normal(frag_mean, frag_sd, n)), read_len, hl).astype(np.int64)
        starts = (rng.random(n) * (hl - lens + 1)).astype(np.int64)
        if contig_end_fragments:
            fl = int(min(max(read_len, frag_mean), hl))
            lens = np.concatenate(([fl, fl], lens))
            starts = np.concatenate(([0, hl - fl], starts))
        f_hap.append(np.full(len(lens), h))
        f_start.append(starts)
        f_len.append(lens)
    hap_idx = np.concatenate(f_hap)
    start = np.concatenate(f_start)
    flen = np.concatenate(f_len)
    # drop fragments with N-rich reads
    keep = np.ones(len(start), dtype=bool)
    for h, hap in enumerate(haplotypes):
        is_n = np.frombuffer(hap.seq.encode(), dtype=np.uint8) == ord("N")
        cum = np.concatenate(([0], np.cumsum(is_n)))
        sel = hap_idx == h
        s1, s2 = start[sel], start[sel] + flen[sel] - read_len
        n1 = cum[s1 + read_len] - cum[s1]
        n2 = cum[s2 + read_len] - cum[s2]
        keep[sel] = np.maximum(n1, n2) <= max_n_fraction * read_len
    hap_idx, start, flen = hap_idx[keep], start[keep], flen[keep]
    # duplicates: copies of random fragments
    n_dup = round(dup_fraction * len(start))
    dup_of = rng.choice(len(start), size=n_dup, replace=False) if n_dup else np.zeros(0, dtype=np.int64)
    is_dup = np.concatenate((np.zeros(len(start), dtype=bool), np.ones(n_dup, dtype=bool)))
    hap_idx = np.concatenate((hap_idx, hap_idx[dup_of]))
    start = np.concatenate((start, start[dup_of]))
    flen = np.concatenate((flen, flen[dup_of]))
    nf = len(start)
    read1_left = rng.random(nf) < 0.5
    mapq = np.where(rng.random(nf) < low_mapq_fraction, rng.integers(0, 20, nf), 60)
    qcfail = rng.random(nf) < qcfail_fraction
    unmapped = np.where(rng.random(nf) < unmapped_mate_fraction, rng.integers(1, 3, nf), 0)
    rg_idx = rng.integers(0, len(read_groups), nf)

    # reads 2i (leftmost, forward) and 2i+1 (rightmost, reverse)
    r_start = np.empty(2 * nf, dtype=np.int64)
    r_start[0::2] = start
    r_start[1::2] = start + flen - read_len
    r_hap = np.repeat(hap_idx, 2)
    r_rev = np.tile([False, True], nf)
    qual = _qualities(rng, 2 * nf, read_len)
    qual[r_rev] = qual[r_rev, ::-1]  # BAM stores reverse reads reverse-complemented
    hap_arrays = [np.frombuffer(h.seq.encode(), dtype=np.uint8) for h in haplotypes]
    offs = np.arange(read_len)
    seqs = np.empty((2 * nf, read_len), dtype=np.uint8)
    for h, arr in enumerate(hap_arrays):
        sel = r_hap == h
        seqs[sel] = arr[r_start[sel, None] + offs[None, :]]
    true_seqs = seqs.copy()
    errors = (rng.random(seqs.shape) < 10.0 ** (-qual.astype(np.float64) / 10.0)) & (seqs != ord("N"))
    codes = _CODE[seqs[errors]]
    seqs[errors] = _ACGT[(codes + rng.integers(1, 4, codes.size)) % 4]
    # soft clips with random (adapter-like) bases at one end
    clip_left = np.zeros(2 * nf, dtype=np.int64)
    clip_right = np.zeros(2 * nf, dtype=np.int64)
    if read_len >= 60:
        clipped = np.flatnonzero(rng.random(2 * nf) < softclip_fraction)
        k = rng.integers(3, 26, clipped.size)
        left = rng.random(clipped.size) < 0.5
        clip_left[clipped[left]] = k[left]
        clip_right[clipped[~left]] = k[~left]
        for i, kl, kr in zip(clipped.tolist(), clip_left[clipped].tolist(), clip_right[clipped].tolist()):
            if kl:
                seqs[i, :kl] = _ACGT[rng.integers(0, 4, kl)]
                errors[i, :kl] = False
            if kr:
                seqs[i, read_len - kr :] = _ACGT[rng.integers(0, 4, kr)]
                errors[i, read_len - kr :] = False
    junk = (clip_left > 0) | (clip_right > 0)
    del true_seqs

    reads: list[SimRead] = []
    width = max(6, len(str(nf)))
    for f in range(nf):
        name = f"{name_prefix}:{f:0{width}d}"
        pair: list[SimRead] = []
        placed = []
        for j in (2 * f, 2 * f + 1):
            placed.append(_place_read(haplotypes[int(r_hap[j])], int(r_start[j]), read_len,
                                      (int(clip_left[j]), int(clip_right[j])), clip_insertions_over, min_anchor))
        if placed[0][1] is None and placed[1][1] is None:
            continue  # neither mate maps: the fragment is not in the BAM
        if placed[0][1] is None or placed[1][1] is None:
            unmapped[f] = 1 if placed[0][1] is None else 2
        for j, (m, clips) in zip((2 * f, 2 * f + 1), placed):
            h = int(r_hap[j])
            s = int(r_start[j])
            # a mate the aligner would not place is written unmapped below
            pos, cigar = _cigar_from_map(m, *clips) if clips is not None else (0, [])
            pair.append(
                SimRead(
                    name=name,
                    flag=0,
                    pos=pos,
                    mapq=int(mapq[f]),
                    cigar=cigar,
                    seq=seqs[j].tobytes().decode(),
                    qual=qual[j],
                    rg=read_groups[int(rg_idx[f])],
                    hap=h,
                    hap_start=s,
                    errors=errors[j],
                    clip_junk=bool(junk[j]),
                )
            )
        left_r, right_r = pair
        first, second = (left_r, right_r) if read1_left[f] else (right_r, left_r)
        first.flag |= READ1
        second.flag |= READ2
        common = PAIRED | (QCFAIL if qcfail[f] else 0) | (DUP if is_dup[f] else 0)
        if unmapped[f]:
            gone, kept = (left_r, right_r) if unmapped[f] == 1 else (right_r, left_r)
            kept.flag |= common | MUNMAP | (REVERSE if kept is right_r else 0)
            gone.flag |= common | UNMAP | (MREVERSE if kept is right_r else 0)
            gone.cigar, gone.pos, gone.mapq, gone.hap = [], kept.pos, 0, -1
            gone.mate_pos = kept.mate_pos = kept.pos
            gone.errors = None
        else:
            left_r.flag |= common | PROPER | MREVERSE
            right_r.flag |= common | PROPER | REVERSE
            lo = min(left_r.pos, right_r.pos)
            hi = max(left_r.end, right_r.end)
            left_r.tlen, right_r.tlen = hi - lo, -(hi - lo)
            left_r.mate_pos, right_r.mate_pos = right_r.pos, left_r.pos
            left_r.mate_cigar, right_r.mate_cigar = right_r.cigarstring, left_r.cigarstring
        reads.extend(pair)

    # secondary and supplementary alignments of some primaries, placed elsewhere
    primaries = [rd for rd in reads if not rd.flag & UNMAP]
    n_sec = round(secondary_fraction * len(primaries))
    n_sup = round(supplementary_fraction * len(primaries))
    hap0 = haplotypes[0]
    for k, i in enumerate(rng.choice(len(primaries), size=min(len(primaries), n_sec + n_sup), replace=False)):
        prim = primaries[int(i)]
        supp = k >= n_sec
        piece = int(rng.integers(30, min(70, read_len) + 1)) if supp else read_len
        s = int(rng.integers(0, len(hap0) - piece + 1))
        m = hap0.hap2ref[s : s + piece]
        if (m < 0).all() or "N" in hap0.seq[s : s + piece]:
            continue
        pos, cigar = _cigar_from_map(m, 0, 0)
        if supp:
            head = int(rng.integers(0, read_len - piece + 1))
            if head:
                cigar.insert(0, (HARD, head))
            if read_len - piece - head:
                cigar.append((HARD, read_len - piece - head))
        flag = (prim.flag & (PAIRED | READ1 | READ2 | MREVERSE | MUNMAP | PROPER)) | (
            SUPPLEMENTARY if supp else SECONDARY
        )
        if rng.random() < 0.5:
            flag |= REVERSE
        reads.append(
            SimRead(
                name=prim.name,
                flag=flag,
                pos=pos,
                mapq=int(rng.integers(0, 61)) if supp else 0,
                cigar=cigar,
                seq=hap0.seq[s : s + piece],
                qual=_qualities(rng, 1, piece)[0],
                mate_pos=prim.mate_pos,
                tlen=0,
                rg=prim.rg,
                hap=0,
                hap_start=s,
                errors=np.zeros(piece, dtype=bool),
                mate_cigar=prim.mate_cigar,
            )
        )
    return reads


# --------------------------------------------------------------------------------------------
# long reads (PacBio HiFi, Oxford Nanopore)

# Per-read chance that a homopolymer of length L (index: min(L, 15)) is read one base shorter /
# one base longer / two bases off, and the rates of substitutions and of 1-bp indels outside
# homopolymers per base. Smoothed from benchmarks/error_profile.py on the real slices of
# ../shared/data (HG002 Revio HiFi at chr20:9.0 Mb, ONT R10.4.1 sup at chr20:5.05 Mb): HiFi errors
# are almost all homopolymer-length changes; ONT has those (more often by two bases) and a few
# substitutions and short indels per kb as well.
_LONG_READ_PROFILES: dict[str, dict[str, object]] = {
    "HIFI": {
        "hp": {2: (0.0014, 0.0012, 0.0), 3: (0.0045, 0.003, 0.0), 4: (0.011, 0.0055, 0.0),
               5: (0.019, 0.0095, 0.0), 6: (0.034, 0.018, 0.0), 7: (0.055, 0.025, 0.0),
               8: (0.07, 0.04, 0.0), 9: (0.08, 0.045, 0.002), 10: (0.09, 0.05, 0.004),
               11: (0.11, 0.06, 0.005), 12: (0.12, 0.08, 0.006), 13: (0.15, 0.1, 0.008),
               14: (0.17, 0.12, 0.01), 15: (0.2, 0.14, 0.01)},
        "sub": 1.2e-4, "ins": 1.2e-4, "del": 3e-5,
        "qual": 40, "error_qual": (8, 22),
    },
    "ONT": {
        "length_errors": "ONT",
        "sub": 5e-3, "ins": 2.2e-3, "del": 2.4e-3,
        "qual": 37, "error_qual": (5, 18),
    },
}


# Tract length errors of ONT R10.4.1 (super-accuracy) reads as curves of the tract's length, fitted
# by maximum likelihood to the real slice (benchmarks/error_profile.py --fit on
# ../shared/data/real-hg002-chr20-ont, chr20:4,980,000-5,125,000, away from GIAB truth variants:
# 600k homopolymer and 160k tandem-repeat read crossings; docs/long-reads.md has the table):
#   homopolymer of L bases: a length error with chance pmax * sigmoid((L - l50) / width), a loss
#     with chance sigmoid(loss_a + loss_b * (L - 10)), of k bases with P(k) ~ q ** (k - 1),
#     q = sigmoid(size_c + size_d * (L - 10)): rare short errors that are mostly losses of one
#     base, growing to 80 % of reads at 16+ bases, spread 1-4 bases either way;
#   tandem repeat of period p (2-6), n units: a change of whole units with chance
#     pmax * sigmoid((n * p - l50) / width) * fall ** (p - 2), a loss with chance ``loss``, of
#     k units with P(k) ~ size_q ** (k - 1).
ONT_LENGTH_ERRORS = {
    "homopolymer": {"pmax": 0.85, "l50": 10.58, "width": 1.93, "loss_a": 0.53, "loss_b": -0.075,
                    "size_c": -0.575, "size_d": 0.125},
    "tandem": {"pmax": 0.13, "l50": 9.16, "width": 1.53, "fall": 0.23, "loss": 0.76, "size_q": 0.12},
}
_LENGTH_ERRORS = {"ONT": ONT_LENGTH_ERRORS}
_MAX_LENGTH_ERROR = 8  # bases (homopolymers) or units (tandem repeats) one error changes at most


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def homopolymer_error_rates(length: np.ndarray, curves: dict = ONT_LENGTH_ERRORS) -> tuple[np.ndarray, ...]:
    """For homopolymers of ``length`` bases: (chance of a length error, chance it is a loss, q of
    its size's geometric law) from the fitted curves."""
    f = curves["homopolymer"]
    L = np.asarray(length, dtype=float)
    return (f["pmax"] * _sigmoid((L - f["l50"]) / f["width"]), _sigmoid(f["loss_a"] + f["loss_b"] * (L - 10)),
            _sigmoid(f["size_c"] + f["size_d"] * (L - 10)))


def homopolymer_length_law(platform: str, length: int) -> dict[int, float]:
    """The simulator's own law of the length a long read gives a homopolymer of ``length`` bases:
    {read length: probability} from its length errors (``platform`` "HIFI": the per-length table;
    "ONT": the fitted curves; lone indels elsewhere in the read are left out). What a caller that
    knew the simulator exactly would use (benchmarks/length_evidence.py)."""
    profile = _LONG_READ_PROFILES.get(platform.upper())
    if profile is None:
        raise ValueError(f"unknown long-read platform {platform!r} (HIFI or ONT)")
    if length < 1:
        raise ValueError("a homopolymer has one base or more")
    if length < 2:  # the simulators' length errors are of runs of two bases or more
        return {1: 1.0}
    law: dict[int, float] = {}
    curves = _LENGTH_ERRORS.get(str(profile.get("length_errors")))
    if curves:
        p_err, p_loss, q = (float(np.ravel(x)[0]) for x in homopolymer_error_rates(np.array([length]), curves))
        sizes = (1.0 - q) * q ** np.arange(_MAX_LENGTH_ERROR)
        sizes[-1] += q ** _MAX_LENGTH_ERROR  # _error_sizes caps the geometric law at its longest size
        for k, pk in enumerate(sizes, start=1):
            gain = length + k
            law[gain] = law.get(gain, 0.0) + p_err * (1.0 - p_loss) * float(pk)
            lost = length - min(k, length - 1)  # a run keeps one base at least
            law[lost] = law.get(lost, 0.0) + p_err * p_loss * float(pk)
        law[length] = law.get(length, 0.0) + 1.0 - p_err
    else:
        minus, plus, two = profile["hp"].get(min(length, 15), (0.0, 0.0, 0.0))  # type: ignore[union-attr]
        two_minus = two / 2.0 if length >= 3 else 0.0
        for at, p in ((length - 1, minus), (length + 1, plus), (length - 2, two_minus),
                      (length + 2, two - two_minus), (length, 1.0 - minus - plus - two)):
            if p > 0.0 or at == length:
                law[at] = law.get(at, 0.0) + p
    return dict(sorted(law.items()))


def tandem_error_rate(period: np.ndarray, units: np.ndarray, curves: dict = ONT_LENGTH_ERRORS) -> np.ndarray:
    """Chance that a read changes a tandem repeat of ``units`` units of ``period`` (2-6) bases by
    whole units, from the fitted curve."""
    f = curves["tandem"]
    p, n = np.asarray(period, dtype=float), np.asarray(units, dtype=float)
    return f["pmax"] * _sigmoid((n * p - f["l50"]) / f["width"]) * f["fall"] ** (p - 2)


def _error_sizes(rng: np.random.Generator, q: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Sizes 1 + Geometric (P(k) ~ q ** (k - 1)), at most ``cap`` and _MAX_LENGTH_ERROR."""
    u = np.maximum(rng.random(len(q)), 1e-300)
    k = 1 + np.floor(np.log(u) / np.log(np.clip(q, 1e-9, 1 - 1e-9))).astype(np.int64)
    return np.minimum(np.minimum(k, _MAX_LENGTH_ERROR), np.maximum(cap, 1))


def _runs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of every run of equal bases of length >= 2."""
    change = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    starts = np.concatenate(([0], change))
    lens = np.diff(np.concatenate((starts, [len(codes)])))
    keep = lens >= 2
    return starts[keep], lens[keep]


def simulate_long_reads(
    haplotypes: Sequence[Haplotype],
    seed: int,
    depth: float,
    *,
    platform: str = "HIFI",
    mean_len: int = 15_000,
    min_len: int = 10_000,
    max_len: int = 30_000,
    split_fraction: float = 0.0,
    read_group: str = "LR",
    name_prefix: str = "lr",
) -> list[SimRead]:
    """Single-end long reads from the haplotypes (each of k gets depth/k), unsorted.

    Lengths ~ Gamma(shape 4) of mean ``mean_len``, clipped to [min_len, max_len]; reads start
    anywhere (those running off a haplotype's end are cut there), half on the reverse strand.
    Errors follow ``platform`` ("HIFI" or "ONT", ``_LONG_READ_PROFILES``): a homopolymer of length
    L is read one base shorter or longer (or, on ONT, two bases off) with a chance that grows with
    L, plus substitutions and 1-bp indels elsewhere; erroneous bases and the bases next to a lost
    one get low qualities. CIGARs are exact and left-aligned (a homopolymer's lost or extra base is
    its first). ``split_fraction`` of the reads are chimeric, as a split (supplementary) alignment:
    their last 2-8 kb come from elsewhere on the haplotype, are soft-clipped in the primary record
    and form a supplementary record (hard clips) of their own. MAPQ 60."""
    profile = _LONG_READ_PROFILES.get(platform.upper())
    if profile is None:
        raise ValueError(f"unknown long-read platform {platform!r} (HIFI or ONT)")
    if not 0 < min_len <= mean_len <= max_len:
        raise ValueError("need 0 < min_len <= mean_len <= max_len")
    rng = _rng(seed, 11)
    curves = _LENGTH_ERRORS.get(str(profile.get("length_errors")))
    hp_rates = np.zeros((16, 3))
    for L, rates in ({} if curves else profile["hp"]).items():  # type: ignore[union-attr]
        hp_rates[L] = rates
    sub_rate, ins_rate, del_rate = float(profile["sub"]), float(profile["ins"]), float(profile["del"])
    q_good = int(profile["qual"])
    q_err_lo, q_err_hi = profile["error_qual"]  # type: ignore[misc]
    reads: list[SimRead] = []
    serial = 0
    for h, hap in enumerate(haplotypes):
        hl = len(hap)
        codes = _CODE[np.frombuffer(hap.seq.encode(), dtype=np.uint8)]
        run_start, run_len = _runs(codes)
        run_start, run_len = run_start[codes[run_start] < 4], run_len[codes[run_start] < 4]
        # tandem repeats of period 2-6 (start, end, period), for the fitted length errors
        tandem = np.array([t for t in repeat_tracts(hap.seq) if t[2] >= 2] if curves else [],
                          dtype=np.int64).reshape(-1, 3)
        n = max(1, round(depth * hl / (mean_len * len(haplotypes))))
        lens = np.clip(np.rint(rng.gamma(4.0, mean_len / 4.0, n)), min_len, max_len).astype(np.int64)
        starts = rng.integers(-(lens // 2), hl - 500, n)
        for k in range(n):
            s, e = max(0, int(starts[k])), min(hl, int(starts[k] + lens[k]))
            if e - s < 500:
                continue
            reads.extend(_long_read(hap, h, codes, run_start, run_len, s, e, rng, hp_rates, sub_rate, ins_rate,
                                    del_rate, q_good, (int(q_err_lo), int(q_err_hi)), split_fraction,
                                    f"{name_prefix}:{h}:{serial:06d}", read_group, curves, tandem))
            serial += 1
    return reads


def _long_read(hap: Haplotype, h: int, codes: np.ndarray, run_start: np.ndarray, run_len: np.ndarray, s: int, e: int,
               rng: np.random.Generator, hp_rates: np.ndarray, sub_rate: float, ins_rate: float, del_rate: float,
               q_good: int, q_err: tuple[int, int], split_fraction: float, name: str, rg: str,
               curves: dict | None = None, tandem: np.ndarray | None = None) -> list[SimRead]:
    """One long read over haplotype [s, e) with its errors (and its supplementary part).
    Homopolymer (and tandem-repeat) length errors follow ``curves`` where given, else the
    per-length table ``hp_rates``."""
    lo, hi = np.searchsorted(run_start, s), np.searchsorted(run_start, e)
    rs, rl = run_start[lo:hi], run_len[lo:hi]
    inside = rs + rl <= e
    rs, rl = rs[inside], rl[inside]
    n = e - s
    unit_copies = np.zeros((0, 2), dtype=np.int64)
    if curves is not None:
        copies = _homopolymer_length_errors(rng, curves, rs - s, rl, n)
        unit_copies = _tandem_length_errors(rng, curves, tandem, s, e, copies)
    else:
        copies = _homopolymer_table_errors(rng, hp_rates, rs - s, rl, n)
    # lone indels of 1-3 bp (1: 70 %, 2: 20 %, 3: 10 %)
    lone = np.flatnonzero(rng.random(n) < del_rate)
    for k in (2, 3):
        longer = lone[(rng.random(lone.size) < (0.3 if k == 2 else 1 / 3)) & (lone + k <= n)]
        for j in range(1, k):
            copies[longer + j] = np.minimum(copies[longer + j], 0)
    copies[lone[copies[lone] == 1]] = 0
    src = np.repeat(np.arange(s, e), copies)
    # extra copies are insertions before the run's first base (left-aligned: the last copy is the
    # aligned one)
    is_ins = np.concatenate((src[1:] == src[:-1], [False]))
    if len(unit_copies):
        # gained tandem-repeat units: copies of the tract's first units, inserted before it
        at = np.searchsorted(src, unit_copies[:, 0])
        extra = np.concatenate([np.arange(a, a + k) for a, k in unit_copies.tolist()])
        src = np.insert(src, np.repeat(at, unit_copies[:, 1]), extra)
        is_ins = np.insert(is_ins, np.repeat(at, unit_copies[:, 1]), True)
    seq = codes[src].copy()
    return _finish_long_read(hap, h, codes, s, e, rng, src, seq, is_ins, sub_rate, ins_rate, q_good, q_err,
                             split_fraction, name, rg)


def _homopolymer_table_errors(rng: np.random.Generator, hp_rates: np.ndarray, first: np.ndarray, rl: np.ndarray,
                              n: int) -> np.ndarray:
    """Copies of each read base (0 lost, 1, 2-3) after homopolymer errors from a per-length table
    (one base shorter / longer / two off) of runs starting at read offsets ``first``."""
    p = hp_rates[np.minimum(rl, 15)]
    u = rng.random(len(rl))
    minus = u < p[:, 0]
    plus = (u >= p[:, 0]) & (u < p[:, 0] + p[:, 1])
    two = (u >= p[:, 0] + p[:, 1]) & (u < p[:, 0] + p[:, 1] + p[:, 2])
    two_minus = two & (rng.random(len(rl)) < 0.5) & (rl >= 3)
    two_plus = two & ~two_minus
    # copies of each haplotype base in the read: 0 lost, 1, or 2-3 (extra copies of its base)
    copies = np.ones(n, dtype=np.int64)
    copies[first[minus]] = 0
    copies[first[two_minus]] = 0
    copies[first[two_minus] + 1] = 0
    copies[first[plus]] = 2
    copies[first[two_plus]] = 3
    return copies


def _homopolymer_length_errors(rng: np.random.Generator, curves: dict, first: np.ndarray, rl: np.ndarray,
                               n: int) -> np.ndarray:
    """Copies of each read base (0 lost, 1, 1 + k) after homopolymer length errors from the fitted
    curves: a run loses its first k bases (at most all but one) or gains k copies of its first."""
    p_err, p_loss, q = homopolymer_error_rates(rl, curves)
    err = rng.random(len(rl)) < p_err
    loss = err & (rng.random(len(rl)) < p_loss)
    size = _error_sizes(rng, q, np.where(loss, rl - 1, _MAX_LENGTH_ERROR))
    copies = np.ones(n, dtype=np.int64)
    for j in range(_MAX_LENGTH_ERROR):
        copies[first[loss & (size > j)] + j] = 0
    gain = err & ~loss
    copies[first[gain]] = 1 + size[gain]
    return copies


def _tandem_length_errors(rng: np.random.Generator, curves: dict, tandem: np.ndarray | None, s: int, e: int,
                          copies: np.ndarray) -> np.ndarray:
    """Whole-unit length errors of the tandem repeats (period 2-6) inside read [s, e) from the
    fitted curve: a lost unit zeroes the tract's first units in ``copies`` (in place); gained
    ones are returned as (haplotype position of the tract's start, bases to copy from there)."""
    if tandem is None or not len(tandem):
        return np.zeros((0, 2), dtype=np.int64)
    t = tandem[(tandem[:, 0] >= s) & (tandem[:, 1] <= e)]
    per, units = t[:, 2], (t[:, 1] - t[:, 0]) // t[:, 2]
    err = rng.random(len(t)) < tandem_error_rate(per, units, curves)
    loss = err & (rng.random(len(t)) < curves["tandem"]["loss"])
    size = _error_sizes(rng, np.full(len(t), curves["tandem"]["size_q"]), np.where(loss, units - 1, 3))
    for k in np.flatnonzero(loss):
        copies[t[k, 0] - s : t[k, 0] - s + size[k] * per[k]] = 0
    gain = err & ~loss
    return np.stack((t[gain, 0], size[gain] * per[gain]), axis=1)


def _finish_long_read(hap: Haplotype, h: int, codes: np.ndarray, s: int, e: int, rng: np.random.Generator,
                      src: np.ndarray, seq: np.ndarray, is_ins: np.ndarray, sub_rate: float, ins_rate: float,
                      q_good: int, q_err: tuple[int, int], split_fraction: float, name: str,
                      rg: str) -> list[SimRead]:
    """A long read from its haplotype bases ``src`` (after length errors): lone insertions and
    substitutions, qualities, the split part, and its records."""
    # lone insertions of a random base
    add = np.flatnonzero(rng.random(len(src)) < ins_rate)
    add = np.sort(np.concatenate((add, add[rng.random(add.size) < 0.3], add[rng.random(add.size) < 0.1])))
    if add.size:
        new = rng.integers(0, 4, add.size).astype(seq.dtype)
        src = np.insert(src, add, src[add])
        seq = np.insert(seq, add, new)
        is_ins = np.insert(is_ins, add, True)
    subs = (rng.random(len(seq)) < sub_rate) & (seq < 4)
    seq[subs] = (seq[subs] + rng.integers(1, 4, int(subs.sum()))) % 4
    qual = np.full(len(seq), q_good, dtype=np.int64)
    qual -= (rng.random(len(seq)) < 0.15) * rng.integers(3, 20, len(seq))
    bad = subs | is_ins
    # a lost base lowers the quality of the bases on either side of the gap
    lost = np.flatnonzero(np.diff(src) > 1)
    bad[lost] = True
    bad[np.minimum(lost + 1, len(seq) - 1)] = True
    qual[bad] = rng.integers(q_err[0], q_err[1] + 1, int(bad.sum()))
    qual = np.clip(qual, 2, 93).astype(np.uint8)
    errors = bad | (seq != codes[src])
    # query -> reference map: inserted read bases and planted insertions are -1
    m = np.where(is_ins, -1, hap.hap2ref[src])
    reverse = bool(rng.random() < 0.5)
    flag = REVERSE if reverse else 0
    out: list[SimRead] = []
    clip_right = 0
    if split_fraction > 0 and rng.random() < split_fraction and len(seq) > 12_000:
        # the read's last piece comes from elsewhere: a chimera, aligned in two parts
        piece = int(rng.integers(2_000, 8_001))
        hl = len(codes)
        other = int(rng.integers(0, max(1, hl - piece)))
        other_codes = codes[other : other + piece]
        if len(other_codes) == piece and (other_codes < 4).all() and abs(other - s) > 2 * (e - s):
            seq = np.concatenate((seq[: len(seq) - piece], other_codes))
            qual[len(seq) - piece :] = q_good
            errors[len(seq) - piece :] = False
            m[len(seq) - piece :] = -1
            clip_right = piece
            om = hap.hap2ref[other : other + piece]
            if (om >= 0).any():
                pos2, cig2 = _cigar_from_map(om, 0, 0)
                cig2 = [(HARD, len(seq) - piece), *cig2]
                out.append(SimRead(name=name, flag=flag | SUPPLEMENTARY, pos=pos2, mapq=60, cigar=cig2,
                                   seq=_ACGT[other_codes].tobytes().decode(), qual=qual[len(seq) - piece :].copy(),
                                   rg=rg, hap=h, hap_start=other, errors=np.zeros(piece, dtype=bool)))
    if (m[: len(m) - clip_right] < 0).all():
        return []
    pos, cigar = _cigar_from_map(m, 0, clip_right)
    out.insert(0, SimRead(name=name, flag=flag, pos=pos, mapq=60, cigar=cigar, seq=_ACGT[seq].tobytes().decode(),
                          qual=qual, rg=rg, hap=h, hap_start=s, errors=errors))
    return out


def make_long_read_dataset(
    tmpdir: PathLike,
    *,
    length: int = 120_000,
    depth: float = 30,
    seed: int = 1,
    platform: str = "HIFI",
    contig: str = "chrS",
    sample: str = "SYNTH",
    n_snv: int | None = None,
    n_indel: int | None = None,
    het_fraction: float = 0.6,
    read_group: str = "LR",
    write_platform: str | None = None,
    **sim_options: object,
) -> Dataset:
    """Like make_dataset, with long reads (``simulate_long_reads``; ``sim_options`` go there).
    The read group's PL is ``write_platform`` (default: PACBIO for HiFi, ONT for ONT; "" leaves
    it out). No N run; soft-masked stretches as make_dataset."""
    root = Path(tmpdir)
    root.mkdir(parents=True, exist_ok=True)
    ref, planted = _planted_genome(length, seed, contig, 0, True, n_snv, n_indel, het_fraction)
    reads = simulate_long_reads(planted.haplotypes, seed, depth, platform=platform, read_group=read_group,
                                **sim_options)  # type: ignore[arg-type]
    pl = write_platform if write_platform is not None else ("PACBIO" if platform.upper() == "HIFI" else "ONT")
    return _write_dataset(root, ref, planted, reads, sample, read_groups=(read_group,), platform=pl or None)


# --------------------------------------------------------------------------------------------
# writers


def _ref_parts(ref: Reference | str, contig: str | None) -> tuple[str, str]:
    if isinstance(ref, Reference):
        return contig or ref.contig, ref.seq
    if contig is None:
        raise ValueError("contig is required when ref is a plain string")
    return contig, ref


def write_fasta(path: PathLike, ref: Reference | str, contig: str | None = None, width: int = 60) -> Path:
    """FASTA with one contig, plus its .fai (pysam.faidx)."""
    name, seq = _ref_parts(ref, contig)
    path = Path(path)
    with open(path, "w") as fh:
        fh.write(f">{name}\n")
        fh.writelines(seq[i : i + width] + "\n" for i in range(0, len(seq), width))
    pysam.faidx(str(path))
    return path


def write_bam(
    path: PathLike,
    reads: Sequence[SimRead],
    ref: Reference | str,
    contig: str | None = None,
    sample: str = "SYNTH",
    read_groups: Sequence[str] = ("L1", "L2"),
    platform: str | None = "ILLUMINA",
) -> Path:
    """Coordinate-sorted, indexed BAM.  Reads with equal start are written READ1 first.  The
    read groups' ``PL`` is ``platform`` (left out when None)."""
    name, seq = _ref_parts(ref, contig)
    path = Path(path)
    header = pysam.AlignmentHeader.from_dict(
        {
            "HD": {"VN": "1.6", "SO": "coordinate"},
            "SQ": [{"SN": name, "LN": len(seq)}],
            "RG": [{"ID": rg, "SM": sample, "LB": f"{sample}-lib", **({"PL": platform} if platform else {})}
                   for rg in read_groups],
            "PG": [{"ID": "synth", "PN": "gmscall-tests-synth"}],
        }
    )
    order = sorted(
        range(len(reads)),
        key=lambda i: (reads[i].pos, 0 if reads[i].flag & READ1 else 1, reads[i].name, reads[i].flag),
    )
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i in order:
            rd = reads[i]
            a = pysam.AlignedSegment(header)
            a.query_name = rd.name
            a.flag = rd.flag
            a.reference_id = 0
            a.reference_start = rd.pos
            a.mapping_quality = rd.mapq
            if rd.cigar:
                a.cigartuples = rd.cigar
            a.query_sequence = rd.seq
            a.query_qualities = array.array("B", rd.qual.tobytes())
            if rd.flag & PAIRED:
                a.next_reference_id = 0
                a.next_reference_start = rd.mate_pos
                a.template_length = rd.tlen
            tags: list[tuple[str, object]] = [("RG", rd.rg)]
            if rd.mate_cigar:
                tags.append(("MC", rd.mate_cigar))
            a.set_tags(tags)
            out.write(a)
    pysam.index(str(path))
    return path


def write_truth_vcf(
    path: PathLike,
    truth: Sequence[Variant],
    ref: Reference | None = None,
    sample: str = "SYNTH",
) -> Path:
    """Truth VCF (phased GT), bgzipped and tabix-indexed when ``path`` ends in .gz."""
    path = Path(path)
    lines = ["##fileformat=VCFv4.2", "##source=gmscall-tests-synth"]
    if ref is not None:
        lines.append(f"##contig=<ID={ref.contig},length={len(ref)}>")
    else:
        for c in dict.fromkeys(v.contig for v in truth):
            lines.append(f"##contig=<ID={c}>")
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    lines.append(f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}")
    contig_order = {c: i for i, c in enumerate(dict.fromkeys(v.contig for v in truth))}
    for v in sorted(truth, key=lambda v: (contig_order[v.contig], v.pos)):
        lines.append(f"{v.contig}\t{v.pos + 1}\t.\t{v.ref}\t{v.alt}\t.\tPASS\t.\tGT\t{v.gt}")
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        plain = path.with_suffix("")
        plain.write_text(text)
        pysam.tabix_compress(str(plain), str(path), force=True)
        plain.unlink()
        pysam.tabix_index(str(path), preset="vcf", force=True)
    else:
        path.write_text(text)
    return path


# --------------------------------------------------------------------------------------------
# all in one


@dataclass(frozen=True)
class Dataset:
    root: Path
    fasta: Path
    bam: Path
    truth_vcf: Path
    reference: Reference
    truth: list[Variant]
    haplotypes: tuple[Haplotype, Haplotype]
    reads: list[SimRead]
    sample: str

    @property
    def contig(self) -> str:
        return self.reference.contig

    @property
    def length(self) -> int:
        return len(self.reference)

    @property
    def region(self) -> str:
        """The whole contig as a samtools-style region."""
        return f"{self.contig}:1-{self.length}"

    @property
    def zero_coverage(self) -> tuple[int, int] | None:
        """A [start, end) interval inside the N run that no read covers, if there is one."""
        for s, e in self.reference.n_runs:
            covered = np.zeros(e - s, dtype=bool)
            for rd in self.reads:
                if rd.cigar and rd.pos < e and rd.end > s:
                    covered[max(rd.pos, s) - s : min(rd.end, e) - s] = True
            free = np.flatnonzero(~covered)
            if free.size:
                # the longest run of uncovered positions
                breaks = np.flatnonzero(np.diff(free) > 1)
                starts = np.concatenate(([0], breaks + 1))
                ends = np.concatenate((breaks, [free.size - 1]))
                k = int(np.argmax(ends - starts))
                return s + int(free[starts[k]]), s + int(free[ends[k]]) + 1
        return None


def make_dataset(
    tmpdir: PathLike,
    *,
    length: int = 20_000,
    depth: float = 30,
    seed: int = 1,
    contig: str = "chrS",
    sample: str = "SYNTH",
    n_snv: int | None = None,
    n_indel: int | None = None,
    het_fraction: float = 0.6,
    n_run: int | None = None,
    softmask: bool = True,
    read_len: int = 150,
    frag_mean: float = 350,
    frag_sd: float = 50,
    **sim_options: object,
) -> Dataset:
    """Reference + truth + reads written to ``tmpdir`` as ref.fa(.fai), reads.bam(.bai) and
    truth.vcf.gz(.tbi).  Defaults: one SNV per 500 bp, one indel per 1.5 kb, a 400-bp N run
    (when length >= 4 kb) and soft-masked stretches.  ``sim_options`` go to simulate_reads."""
    root = Path(tmpdir)
    root.mkdir(parents=True, exist_ok=True)
    if n_run is None:
        n_run = 400 if length >= 4000 else 0
    ref, planted = _planted_genome(length, seed, contig, n_run, softmask, n_snv, n_indel, het_fraction)
    reads = simulate_reads(
        planted.haplotypes,
        seed,
        depth,
        read_len,
        frag_mean,
        frag_sd,
        **sim_options,  # type: ignore[arg-type]
    )
    return _write_dataset(root, ref, planted, reads, sample)


def _planted_genome(length: int, seed: int, contig: str, n_run: int, softmask: bool, n_snv: int | None,
                    n_indel: int | None, het_fraction: float) -> tuple[Reference, Planted]:
    """A reference and its planted variants, at one SNV per 500 bp and one indel per 1.5 kb unless
    counts are given (make_dataset and make_long_read_dataset)."""
    ref = make_reference(length, seed, contig=contig, n_run=n_run, softmask=softmask)
    planted = plant_variants(
        ref,
        seed,
        n_snv=max(1, length // 500) if n_snv is None else n_snv,
        n_indel=max(1, length // 1500) if n_indel is None else n_indel,
        het_fraction=het_fraction,
    )
    return ref, planted


def _write_dataset(root: Path, ref: Reference, planted: Planted, reads: list, sample: str,
                   **bam_options: object) -> Dataset:
    """ref.fa, reads.bam and truth.vcf.gz of a planted genome in ``root``."""
    fasta = write_fasta(root / "ref.fa", ref)
    bam = write_bam(root / "reads.bam", reads, ref, sample=sample, **bam_options)  # type: ignore[arg-type]
    vcf = write_truth_vcf(root / "truth.vcf.gz", planted.truth, ref, sample=sample)
    return Dataset(root, fasta, bam, vcf, ref, planted.truth, planted.haplotypes, reads, sample)


def make_long_indel_dataset(
    tmpdir: PathLike,
    lengths: Sequence[int],
    *,
    kind: str = "duplication",
    depth: float = 30,
    seed: int = 5,
    spacing: int = 1500,
    read_len: int = 150,
    hom_every: int = 3,
    clip_insertions_over: int = 15,
    contig: str = "chrL",
    sample: str = "LONG",
) -> Dataset:
    """One long indel per ``spacing`` bp, of each length in ``lengths``: ``kind`` "duplication"
    (an internal tandem duplication: the inserted bases repeat the reference before them, as a
    FLT3-ITD does), "insertion" (random inserted bases) or "deletion".  Every ``hom_every``-th is
    homozygous, the others het.  Reads that cross an insertion of ``clip_insertions_over`` bp or
    more are soft-clipped as an aligner clips them (see simulate_reads)."""
    if kind not in ("duplication", "insertion", "deletion"):
        raise ValueError(f"unknown kind {kind!r}")
    root = Path(tmpdir)
    root.mkdir(parents=True, exist_ok=True)
    rng = _rng(seed, 9)
    length = spacing * (len(lengths) + 1)
    ref = make_reference(length, seed, contig=contig, n_run=0, softmask=False)
    r = ref.upper
    edits: tuple[list, list] = ([], [])
    truth: list[Variant] = []
    for k, n in enumerate(lengths):
        pos = spacing * (k + 1)
        if kind == "deletion":
            pos = _left_align_del(r, pos + 1, n)[0] - 1
            ra, aa = r[pos : pos + n + 1], r[pos]
        else:
            ins = r[pos + 1 - n : pos + 1] if kind == "duplication" else "".join("ACGT"[i] for i in rng.integers(0, 4, n))
            pos, ins, _ = _left_align_ins(r, pos, ins)
            ra, aa = r[pos], r[pos] + ins
        hom = k % hom_every == hom_every - 1
        gt = (1, 1) if hom else (0, 1)
        for h in range(2):
            if gt[h]:
                edits[h].append((pos, ra, aa))
        truth.append(Variant(contig, pos, ra, (aa,), gt))
    haps = (_build_haplotype(contig, 0, r, edits[0]), _build_haplotype(contig, 1, r, edits[1]))
    reads = simulate_reads(haps, seed, depth, read_len, softclip_fraction=0.02,
                           clip_insertions_over=clip_insertions_over)
    return _write_dataset(root, ref, Planted(ref, truth, haps), reads, sample)


def _repeat_allele_edit(r: str, ts: int, te: int, unit: str, delta: int, right: bool) -> tuple[int, str, str]:
    """The edit that changes the tract r[ts:te] (whole units of ``unit``) by ``delta`` units, at its
    leftmost (VCF normal form) or rightmost equivalent place."""
    n = abs(delta) * len(unit)
    if delta > 0:
        a = te - 1 if right else ts - 1
        return a, r[a], r[a] + unit * delta
    a = te - 1 - n if right else ts - 1
    return a, r[a : a + n + 1], r[a]


def make_repeat_dataset(
    tmpdir: PathLike,
    sites: Sequence[tuple[str, int, tuple[int, int]]],
    *,
    depth: float = 40,
    read_len: int = 100,
    frag_mean: float = 300,
    seed: int = 7,
    spacing: int = 1500,
    clip_insertions_over: int = 15,
    contig: str = "chrR",
    sample: str = "STR",
) -> Dataset:
    """Tandem repeats with two alleles each: ``sites`` lists (unit, units in the reference, (units
    gained (+) or lost (-) on haplotype 0, on haplotype 1)), one site per ``spacing`` bp of random
    sequence (the bases beside a tract never extend it). Reads are aligned as an aligner aligns
    them at a repeat (see _place_read): a read that enters a tract its haplotype expands and does
    not leave it matches the reference tract and is soft-clipped past it; one that crosses an
    insertion of ``clip_insertions_over`` bp or more is clipped on its shorter side. The truth has
    one record per site (multi-allelic where both haplotypes differ from the reference)."""
    root = Path(tmpdir)
    root.mkdir(parents=True, exist_ok=True)
    rng = _rng(seed, 10)
    length = spacing * (len(sites) + 1)
    codes = rng.integers(0, 4, length).astype(np.uint8)
    letters = bytearray(_ACGT[codes].tobytes())
    tracts = []
    for k, (unit, units, _) in enumerate(sites):
        ts = spacing * (k + 1)
        te = ts + len(unit) * units
        letters[ts:te] = (unit * units).encode()
        for x, avoid in ((ts - 1, unit[-1]), (te, unit[0])):  # flanks that do not continue the tract
            if chr(letters[x]) == avoid:
                letters[x] = ord("ACGT"[("ACGT".index(avoid) + 1) % 4])
        tracts.append((ts, te))
    r = letters.decode()
    ref = Reference(contig, r)
    edits: tuple[list, list] = ([], [])
    edits_right: tuple[list, list] = ([], [])
    truth: list[Variant] = []
    for (unit, _, deltas), (ts, te) in zip(sites, tracts):
        for h in range(2):
            if deltas[h]:
                edits[h].append(_repeat_allele_edit(r, ts, te, unit, deltas[h], right=False))
                edits_right[h].append(_repeat_allele_edit(r, ts, te, unit, deltas[h], right=True))
        longest_loss = max([-d * len(unit) for d in deltas if d < 0], default=0)
        ref_allele = r[ts - 1 : ts + longest_loss]

        def allele(d: int, ref_allele: str = ref_allele, unit: str = unit) -> str:
            if d >= 0:
                return ref_allele[0] + unit * d + ref_allele[1:]
            return ref_allele[0] + ref_allele[1 + (-d) * len(unit) :]

        alts = tuple(dict.fromkeys(allele(d) for d in deltas if d))
        if not alts:
            continue
        gt = tuple(0 if d == 0 else 1 + alts.index(allele(d)) for d in deltas)
        truth.append(Variant(contig, ts - 1, ref_allele, alts, (gt[0], gt[1])))
    haps = []
    for h in range(2):
        left = _build_haplotype(contig, h, r, edits[h])
        right = _build_haplotype(contig, h, r, edits_right[h])
        assert left.seq == right.seq
        haps.append(Haplotype(contig, h, left.seq, left.hap2ref, right.hap2ref))
    reads = simulate_reads(haps, seed, depth, read_len, frag_mean=frag_mean, softclip_fraction=0.02,
                           clip_insertions_over=clip_insertions_over)
    return _write_dataset(root, ref, Planted(ref, truth, (haps[0], haps[1])), reads, sample)


# --------------------------------------------------------------------------------------------
# a family: father, mother and child sharing their haplotypes


@dataclass(frozen=True)
class Family:
    """A trio on one contig: ref.fa, one BAM per sample (father, mother, child; read-group SM as
    named), trio.ped, and per sample the truth as {pos0: (ref, alt, genotype)} (SNVs only).
    The child carries the father's haplotype 0 and the mother's haplotype 1, plus `de_novo` (a
    het SNV that neither parent has)."""

    root: Path
    fasta: Path
    bams: dict[str, Path]
    ped: Path
    truth: dict[str, dict[int, tuple[str, str, tuple[int, int]]]]
    de_novo: int
    contig: str


def make_family(tmpdir: PathLike, *, length: int = 30_000, depth: float = 25, seed: int = 3,
                contig: str = "chrS", n_snv: int = 40, names: tuple[str, str, str] = ("DAD", "MUM", "KID"),
                ) -> Family:
    """Parents with `n_snv` SNVs each (on random haplotypes), a child inheriting one haplotype
    from each and one de novo SNV; reads simulated per sample at `depth`."""
    root = Path(tmpdir)
    root.mkdir(parents=True, exist_ok=True)
    rng = _rng(seed, 7)
    ref = make_reference(length, seed, contig=contig)
    r = ref.upper
    spots = sorted(rng.choice(np.arange(200, length - 200, 60), size=2 * n_snv + 1, replace=False).tolist())
    de_novo = int(spots.pop(len(spots) // 2))

    def snv(pos: int) -> tuple[int, str, str]:
        alt = "ACGT"[("ACGT".index(r[pos]) + 1 + int(rng.integers(0, 3))) % 4]
        return pos, r[pos], alt

    # Each parent: half of the spots, each het on one haplotype or hom on both.
    parent_edits = []
    for k in range(2):
        edits: tuple[list, list] = ([], [])
        for pos in spots[k::2]:
            e = snv(int(pos))
            for h in (0, 1) if rng.random() < 0.3 else (int(rng.integers(0, 2)),):
                edits[h].append(e)
        parent_edits.append(edits)
    child_edits = (list(parent_edits[0][0]) + [snv(de_novo)], list(parent_edits[1][1]))
    fasta = write_fasta(root / "ref.fa", ref)
    bams, truth = {}, {}
    for k, (name, edits) in enumerate(zip(names, (*parent_edits, child_edits))):
        haps = (_build_haplotype(contig, 0, r, edits[0]), _build_haplotype(contig, 1, r, edits[1]))
        reads = simulate_reads(haps, seed + 11 * k, depth, 150, 350, 50, dup_fraction=0.0, low_mapq_fraction=0.0,
                               qcfail_fraction=0.0, unmapped_mate_fraction=0.0)
        for rd in reads:
            rd.name, rd.rg = f"{name}-{rd.name}", f"{name}-L1"
        bams[name] = write_bam(root / f"{name}.bam", reads, ref, sample=name, read_groups=(f"{name}-L1",))
        sites: dict[int, tuple[str, str, tuple[int, int]]] = {}
        for h in (0, 1):
            for pos, ra, aa in edits[h]:
                gt = sites.get(pos, (ra, aa, (0, 0)))[2]
                sites[pos] = (ra, aa, (1, gt[1]) if h == 0 else (gt[0], 1))
        truth[name] = sites
    dad, mum, kid = names
    ped = root / "trio.ped"
    ped.write_text(f"FAM\t{dad}\t0\t0\t1\t0\nFAM\t{mum}\t0\t0\t2\t0\nFAM\t{kid}\t{dad}\t{mum}\t1\t0\n")
    return Family(root, fasta, bams, ped, truth, de_novo, contig)


@dataclass(frozen=True)
class TumourNormal:
    """A tumour and its normal on one contig: ref.fa, tumour.bam (SM `tumour`), normal.bam (SM
    `normal`), the germline het SNVs both carry and the somatic variants {pos0: (ref, alt, AF)}
    with the tumour's expected allele fraction."""

    root: Path
    fasta: Path
    tumour: Path
    normal: Path
    germline: dict[int, tuple[str, str]]
    somatic: dict[int, tuple[str, str, float]]
    contig: str


def make_tumour_normal(tmpdir: PathLike, *, ref: Reference | None = None, length: int = 30_000, seed: int = 3,
                       contig: str = "chrS", n_germline: int = 20, n_somatic: int = 12, purity: float = 0.8,
                       tumour_depth: float = 60, normal_depth: float = 30,
                       names: tuple[str, str] = ("tumour", "normal"), long_reads: str | None = None) -> TumourNormal:
    """A tumour/normal pair: `n_germline` het SNVs in both; in the tumour, on haplotype 0 of a
    `purity` share of its cells, `n_somatic` somatic SNVs and two short indels (a 4-bp insertion,
    a 2-bp deletion), so each somatic allele is expected at fraction purity / 2. `ref` reuses a
    reference (e.g. that of `make_family` with the same length, seed and contig) so that the pair
    and other samples share one FASTA. `long_reads` ("HIFI" or "ONT") simulates both as long reads
    (``simulate_long_reads``, read groups with that platform's PL) instead of Illumina pairs."""
    root = Path(tmpdir)
    root.mkdir(parents=True, exist_ok=True)
    rng = _rng(seed, 8)
    ref = make_reference(length, seed, contig=contig) if ref is None else ref
    r = ref.upper
    n_sites = n_germline + n_somatic + 2
    spots = sorted(rng.choice(np.arange(300, len(r) - 300, 120), size=n_sites, replace=False).tolist())
    order = rng.permutation(n_sites)
    germ_at = sorted(int(spots[i]) for i in order[:n_germline])
    som_at = sorted(int(spots[i]) for i in order[n_germline:])

    def snv(pos: int) -> tuple[int, str, str]:
        return pos, r[pos], "ACGT"[("ACGT".index(r[pos]) + 1 + int(rng.integers(0, 3))) % 4]

    germ = [snv(p) for p in germ_at]
    germ_h = [int(rng.integers(0, 2)) for _ in germ]
    ins_at, del_at = som_at[0], som_at[-1]
    som = [snv(p) for p in som_at[1:-1]]
    som += [(ins_at, r[ins_at], r[ins_at] + "TCTG"), (del_at, r[del_at : del_at + 3], r[del_at])]

    def hap(index: int, extra: list) -> Haplotype:
        edits = [g for g, h in zip(germ, germ_h) if h == index] + extra
        return _build_haplotype(contig, index, r, sorted(edits))

    h0, h1, ht = hap(0, []), hap(1, []), hap(0, som)
    n_tumour = round(20 * purity)
    tumour_haps = [ht] * n_tumour + [h0] * (20 - n_tumour) + [h1] * 20
    platform = "ILLUMINA"
    if long_reads is None:
        kw = {"softclip_fraction": 0.02, "contig_end_fragments": False, "dup_fraction": 0.0,
              "low_mapq_fraction": 0.0, "qcfail_fraction": 0.0, "unmapped_mate_fraction": 0.0}
        reads_t = simulate_reads(tumour_haps, seed + 21, tumour_depth, read_groups=(f"{names[0]}-L1",),
                                 name_prefix=names[0], **kw)
        reads_n = simulate_reads([h0, h1], seed + 22, normal_depth, read_groups=(f"{names[1]}-L1",),
                                 name_prefix=names[1], **kw)
    else:
        platform = "PACBIO" if long_reads.upper() == "HIFI" else "ONT"
        reads_t = simulate_long_reads(tumour_haps, seed + 21, tumour_depth, platform=long_reads,
                                      read_group=f"{names[0]}-L1", name_prefix=names[0])
        reads_n = simulate_long_reads([h0, h1], seed + 22, normal_depth, platform=long_reads,
                                      read_group=f"{names[1]}-L1", name_prefix=names[1])
    fasta = write_fasta(root / "ref.fa", ref)
    tumour = write_bam(root / f"{names[0]}.bam", reads_t, ref, sample=names[0], read_groups=(f"{names[0]}-L1",),
                       platform=platform)
    normal = write_bam(root / f"{names[1]}.bam", reads_n, ref, sample=names[1], read_groups=(f"{names[1]}-L1",),
                       platform=platform)
    af = n_tumour / 40
    return TumourNormal(root, fasta, tumour, normal, {p: (a, b) for p, a, b in germ},
                        {p: (a, b, af) for p, a, b in som}, contig)


# --------------------------------------------------------------------------------------------
# male and female genomes: an autosome, chrX with a PAR, chrY


@dataclass(frozen=True)
class SexedGenomes:
    """ref.fa (chr1, chrX, chrY), one BAM per sample (SM as named), a ploidy file for these contigs
    (PAR: the first ``par`` bases of chrX, diploid in males) and per sample its sex."""

    root: Path
    fasta: Path
    bams: dict[str, Path]
    ploidy: Path
    sexes: dict[str, str]
    par: int


def _snv_haplotype(contig: str, index: int, r: str, spots: Sequence[int], rng: np.random.Generator,
                   alts: dict[int, str]) -> Haplotype:
    edits = [(p, r[p], alts.setdefault(p, "ACGT"[("ACGT".index(r[p]) + 1 + int(rng.integers(0, 3))) % 4]))
             for p in sorted(spots) if r[p] in "ACGT"]
    return _build_haplotype(contig, index, r, edits)


def write_genome_bam(path: PathLike, reads_by_contig: dict[str, Sequence[SimRead]], refs: Sequence[Reference],
                     sample: str, read_groups: Sequence[str] = ("L1",)) -> Path:
    """Coordinate-sorted, indexed BAM over several contigs (``refs`` in header order)."""
    path = Path(path)
    header = pysam.AlignmentHeader.from_dict({
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": r.contig, "LN": len(r)} for r in refs],
        "RG": [{"ID": rg, "SM": sample, "LB": f"{sample}-lib", "PL": "ILLUMINA"} for rg in read_groups],
        "PG": [{"ID": "synth", "PN": "gmscall-tests-synth"}],
    })
    unsorted = path.with_name(path.name + ".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for tid, ref in enumerate(refs):
            for rd in reads_by_contig.get(ref.contig, ()):
                a = pysam.AlignedSegment(header)
                a.query_name, a.flag, a.reference_id, a.reference_start = rd.name, rd.flag, tid, rd.pos
                a.mapping_quality = rd.mapq
                if rd.cigar:
                    a.cigartuples = rd.cigar
                a.query_sequence = rd.seq
                a.query_qualities = array.array("B", rd.qual.tobytes())
                if rd.flag & PAIRED:
                    a.next_reference_id, a.next_reference_start, a.template_length = tid, rd.mate_pos, rd.tlen
                tags: list[tuple[str, object]] = [("RG", read_groups[0])]
                if rd.mate_cigar:
                    tags.append(("MC", rd.mate_cigar))
                a.set_tags(tags)
                out.write(a)
    pysam.sort("-o", str(path), str(unsorted))
    unsorted.unlink()
    pysam.index(str(path))
    return path


def make_sexed_genomes(tmpdir: PathLike, sexes: dict[str, str], *, autosome: int = 60_000, x_len: int = 40_000,
                       y_len: int = 20_000, par: int = 5_000, depth: float = 20, seed: int = 8,
                       snv_every: int = 400) -> SexedGenomes:
    """Samples of the given sexes ('M'/'F') on chr1 + chrX + chrY: each has its own het and hom SNVs
    (about one per ``snv_every`` bp on each haplotype) on chr1 and chrX; a male has one chrX outside the PAR
    (reads of the PAR from his X and his Y, as they map in GRCh38 with chrY's PAR masked) and one chrY,
    a female two chrX and no chrY."""
    root = Path(tmpdir)
    root.mkdir(parents=True, exist_ok=True)
    refs = [make_reference(autosome, seed, contig="chr1", n_run=0, softmask=False),
            make_reference(x_len, seed + 1, contig="chrX", n_run=0, softmask=False),
            make_reference(y_len, seed + 2, contig="chrY", n_run=0, softmask=False)]
    fasta = root / "ref.fa"
    with open(fasta, "w") as fh:
        for ref in refs:
            fh.write(f">{ref.contig}\n")
            fh.writelines(ref.seq[i : i + 60] + "\n" for i in range(0, len(ref.seq), 60))
    pysam.faidx(str(fasta))
    ploidy = root / "ploidy.txt"
    ploidy.write_text(f"chrX {par + 1} {x_len} M 1\nchrY 1 {y_len} M 1\nchrY 1 {y_len} F 0\n")
    bams: dict[str, Path] = {}
    alts: dict[tuple[str, int], str] = {}
    for k, (name, sex) in enumerate(sexes.items()):
        rng = _rng(seed + 100 * k, 11)
        reads: dict[str, list[SimRead]] = {}
        for ref in refs:
            r = ref.upper
            contig_alts: dict[int, str] = {}
            for (c, p), a in alts.items():
                if c == ref.contig:
                    contig_alts[p] = a
            spots = [rng.choice(np.arange(100, len(r) - 100), size=max(1, len(r) // snv_every), replace=False)
                     for _ in range(2)]
            if ref.contig == "chrY":
                if sex != "M":
                    continue
                haps = (_snv_haplotype("chrY", 0, r, spots[0], rng, contig_alts),)
                hap_depth = depth / 2
            elif ref.contig == "chrX" and sex == "M":
                x = _snv_haplotype("chrX", 0, r, spots[0], rng, contig_alts)
                par_hap = Haplotype("chrX", 1, r[:par], np.arange(par, dtype=np.int64))
                haps, hap_depth = (x, par_hap), depth
            else:
                haps = (_snv_haplotype(ref.contig, 0, r, spots[0], rng, contig_alts),
                        _snv_haplotype(ref.contig, 1, r, spots[1], rng, contig_alts))
                hap_depth = depth
            for p, a in contig_alts.items():
                alts[(ref.contig, p)] = a
            if ref.contig == "chrX" and sex == "M":
                # the PAR copy is short: give it the depth of one haplotype
                main = simulate_reads((haps[0],), seed + 7 * k, depth / 2, 150, 350, 50, dup_fraction=0.0,
                                      low_mapq_fraction=0.0, qcfail_fraction=0.0, unmapped_mate_fraction=0.0,
                                      secondary_fraction=0.0, supplementary_fraction=0.0, name_prefix=f"{name}-x")
                extra = simulate_reads((haps[1],), seed + 7 * k + 1, depth / 2, 150, 350, 50, dup_fraction=0.0,
                                       low_mapq_fraction=0.0, qcfail_fraction=0.0, unmapped_mate_fraction=0.0,
                                       secondary_fraction=0.0, supplementary_fraction=0.0,
                                       name_prefix=f"{name}-ypar")
                reads["chrX"] = main + extra
            else:
                reads[ref.contig] = simulate_reads(haps, seed + 7 * k + len(ref.contig), hap_depth, 150, 350, 50,
                                                   dup_fraction=0.0, low_mapq_fraction=0.0, qcfail_fraction=0.0,
                                                   unmapped_mate_fraction=0.0, secondary_fraction=0.0,
                                                   supplementary_fraction=0.0,
                                                   name_prefix=f"{name}-{ref.contig}")
        bams[name] = write_genome_bam(root / f"{name}.bam", reads, refs, name)
    return SexedGenomes(root, fasta, bams, ploidy, dict(sexes), par)


# ------------------------------------------------------------------------------------ PCR stutter
#
# PCR stutter: a polymerase slips inside a short tandem repeat and the copied molecule carries one
# repeat unit less (mostly) or more. The rate grows with the tract's length and falls with its
# period. Fungtammasan et al. 2015 (Genome Res 25:736, "Accurate typing of short tandem repeats
# from genome-wide sequencing data", PCR-amplified Illumina libraries) measured indel "stutter"
# rates of about 1e-3 at 8-10 bp mononucleotide tracts, ~1e-2 at ~12 bp and ~1e-1 by 16-20 bp,
# log-linear in tract length, and lower rates for di- and tri-nucleotide tracts of the same length;
# HipSTR (Willems et al. 2017, Nat Methods 14:590) fits stutter per locus from PCR-amplified WGS
# and finds contractions 2-5 times as frequent as expansions, with a few per cent to ~20 % of reads
# at long STRs. STUTTER_* below is a log-linear curve through those ranges:
#     rate(period, L) = min(STUTTER_CAP, 10 ** (-3 + (L - L0(period)) / 4)) for tracts with
#     L >= 6 bp and >= 3 units (0 otherwise), L0 = 8 (period 1), 10 (period 2), 12 (3-6),
# i.e. one order of magnitude per 4 bp, and a lost unit with probability STUTTER_LOSS.

STUTTER_CAP = 0.2
STUTTER_LOSS = 0.7
STUTTER_MAX_PERIOD = 6


def stutter_rate(period: int, length: int, scale: float = 1.0) -> float:
    """Probability that a PCR copy of a tandem-repeat tract of ``length`` bp (whole units of
    ``period`` bp) gained or lost one unit (the formula above; ``scale`` multiplies it, capped)."""
    if period < 1 or length < max(6, 3 * period):
        return 0.0
    l0 = 8 if period == 1 else 10 if period == 2 else 12
    return min(STUTTER_CAP, scale * 10.0 ** (-3.0 + (length - l0) / 4.0))


def repeat_tracts(seq: str, max_period: int = STUTTER_MAX_PERIOD) -> list[tuple[int, int, int]]:
    """Tandem-repeat tracts of ``seq`` as (start, end, period), 0-based half-open, whole units
    only, at least 3 units and 6 bp, sorted by start; a tract of a shorter period wins over one
    of a multiple of it that overlaps it (ACACAC is period 2, not 4)."""
    import re

    taken = np.zeros(len(seq) + 1, dtype=bool)
    out = []
    for p in range(1, max_period + 1):
        pat = re.compile(rf"([ACGT]{{{p}}})\1{{{max(2, -(-6 // p) - 1)},}}")
        for m in pat.finditer(seq.upper()):
            s, e = m.span()
            unit = m.group(1)
            if any(len(unit) % q == 0 and unit == unit[:q] * (p // q) for q in range(1, p)):
                continue  # the unit is itself a repeat (AAAA): a shorter period's tract
            if taken[s:e].any():
                continue
            taken[s:e] = True
            out.append((s, e, p))
    out.sort()
    return out


def stutter_fragment(hap: str, start: int, end: int, tracts: Sequence[tuple[int, int, int]],
                     rng: np.random.Generator, scale: float = 1.0) -> tuple[str, list[tuple[int, int]]]:
    """The PCR copy of the molecule ``hap[start:end]``: each tract wholly inside it gains or loses
    one unit with probability ``stutter_rate`` (a loss with STUTTER_LOSS). Returns the copy and
    its edits as (tract start, +period or -period). ``tracts`` sorted by start."""
    import bisect

    edits = []
    k = bisect.bisect_left(tracts, (start, -1, -1))
    while k < len(tracts) and tracts[k][0] < end:
        s, e, p = tracts[k]
        k += 1
        if e > end:
            continue
        r = stutter_rate(p, e - s, scale)
        if r > 0 and rng.random() < r:
            edits.append((s, e, -p if rng.random() < STUTTER_LOSS else p))
    if not edits:
        return hap[start:end], []
    parts, x = [], start
    for s, e, d in edits:  # a lost unit: the tract's last; a gained one: a copy of its first
        parts.append(hap[x:e + d] if d < 0 else hap[x:e] + hap[s:s + d])
        x = e
    parts.append(hap[x:end])
    return "".join(parts), [(s, d) for s, _, d in edits]
