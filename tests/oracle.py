"""Independent, slow pileup oracle: the semantics of ``gmscall.pileup`` in plain Python/numpy.

It walks each read's CIGAR itself (pysam is used only to read records and the FASTA, never its
pileup engine), so that tests can compare the C++ arrays with an implementation that shares no
code with it.  Rules (see ``pileup``):

* reads with flags 0x4, 0x100, 0x200, 0x400 or 0x800, or MAPQ < min_mq, are skipped;
* an aligned base (M, =, X) counts under its base (anything but ACGT counts as N) when its
  effective quality >= min_bq; S, H, P and N ops contribute nothing;
* a deleted reference base (D) counts as DEL according to ``DEL_QUALITY_RULE``;
* an indel event (``ins``, ``del_start``, ``indels``) is anchored on the reference position just
  before it and counts when the read's pileup entry there counts: the aligned base (M) or the
  deleted base (D-then-I) at that position.  Events with no reference-consuming op before them
  in the read (I after S or at the read start), or after a ref skip (N), are not counted;
* overlapping mates (``overlaps=True``) are adjusted as htslib's ``tweak_overlap_quality`` does:
  see ``_adjust_overlap``.  Only aligned bases are affected.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import pysam

PathLike = Union[str, "os.PathLike[str]"]

ALLELES = "ACGTN*"
A, C, G, T, N, DEL = range(6)
FILTER_FLAGS = 0x4 | 0x100 | 0x200 | 0x400 | 0x800
READ1 = 0x40
REVERSE = 0x10

# Which base quality decides whether a deleted reference position counts as DEL.
#   "next": the quality of the read's first query base after the D op, 0 when the read ends
#           there.  This is what samtools/htslib do (the pileup entry of a deletion carries
#           qpos = the next query base, and `mpileup -Q` filters on bam_get_qual()[qpos]);
#           checked against samtools 1.16 in tests/test_pileup_samtools.py.  The raw quality
#           is used, before any overlapping-mate adjustment.
#   "next_effective": as "next" but with the next base's effective quality after the
#           overlapping-mate adjustment, a dropped next base failing (htslib's behaviour with
#           overlap detection on; it counts a deletion shared by both mates once).
#   "none": deleted positions always count, whatever the base qualities.
DEL_QUALITY_RULE = "next_effective"
DEL_QUALITY_RULES = ("next", "next_effective", "none")

# ASCII -> allele index
_ALLELE = np.full(256, N, dtype=np.int64)
for _i, _b in enumerate(b"ACGT"):
    _ALLELE[_b] = _i
    _ALLELE[_b + 32] = _i
# reference normalisation: upper case ACGT, everything else N
_REF_TABLE = bytes((b & 0xDF) if b in b"ACGTacgt" else ord("N") for b in range(256))

INDEL_DTYPE = np.dtype([("pos", "i8"), ("length", "i4"), ("seq", "O"), ("fwd", "u4"), ("rev", "u4")])


@dataclass
class OraclePileup:
    contig: str
    start: int
    end: int
    pos: np.ndarray  # int64[n]
    ref: np.ndarray  # uint8[n]
    counts: np.ndarray  # uint32[n, 2, 6]
    qual_sum: np.ndarray  # uint32[n, 6]
    ins: np.ndarray  # uint32[n, 2]
    del_start: np.ndarray  # uint32[n, 2]
    indels: np.ndarray  # INDEL_DTYPE[k]

    @property
    def depth(self) -> np.ndarray:
        return self.counts.sum(axis=(1, 2))


def parse_region(region: str, lengths: Mapping[str, int]) -> tuple[str, int, int]:
    """'contig', 'contig:start' or 'contig:start-end' (1-based, inclusive; commas allowed) ->
    (contig, 0-based start, exclusive end), end clipped to the contig length."""
    if region in lengths:
        return region, 0, int(lengths[region])
    contig, sep, span = region.rpartition(":")
    if not sep or contig not in lengths:
        raise ValueError(f"unknown contig in region {region!r}")
    span = span.replace(",", "")
    beg_s, dash, end_s = span.partition("-")
    beg = int(beg_s)
    end = int(end_s) if dash and end_s else int(lengths[contig])
    if beg < 1 or end < beg:
        raise ValueError(f"bad region {region!r}")
    return contig, beg - 1, min(end, int(lengths[contig]))


class _RefSeq:
    """Normalised (ACGTN) reference bytes of one contig, fetched lazily in a window."""

    def __init__(self, fasta: pysam.FastaFile, contig: str, start: int, end: int, pad: int = 10_000):
        self.fasta, self.contig = fasta, contig
        self.w0 = start
        self.data = self._fetch(start, end + pad)

    def _fetch(self, s: int, e: int) -> bytes:
        raw = self.fasta.fetch(self.contig, s, e).encode() if self.contig in self.fasta.references else b""
        raw = raw.translate(_REF_TABLE)
        return raw + b"N" * (e - s - len(raw))

    def get(self, s: int, e: int) -> bytes:
        if s >= self.w0 and e <= self.w0 + len(self.data):
            return self.data[s - self.w0 : e - self.w0]
        return self._fetch(s, e)


@dataclass
class _Walk:
    rpos: np.ndarray  # reference positions of aligned bases
    qpos: np.ndarray  # their query indexes
    dels: list[tuple[int, int, int]]  # (ref start, length, query index of the next base)
    # (anchor ref pos, signed length, sequence, anchor kind "M"/"D", index in rpos or dels)
    events: list[tuple[int, int, str, str, int]]


def _walk(read: pysam.AlignedSegment, refseq: _RefSeq) -> _Walk:
    r = read.reference_start
    q = 0
    rp: list[np.ndarray] = []
    qp: list[np.ndarray] = []
    n_aligned = 0
    dels: list[tuple[int, int, int]] = []
    events: list[tuple[int, int, str, str, int]] = []
    last: tuple[str, int] | None = None  # last reference-consuming op: ("M", aligned idx) / ("D", del idx)
    seq = read.query_sequence or ""
    for op, n in read.cigartuples or ():
        if op in (0, 7, 8):  # M, =, X
            rp.append(np.arange(r, r + n, dtype=np.int64))
            qp.append(np.arange(q, q + n, dtype=np.int64))
            n_aligned += n
            last = ("M", n_aligned - 1)
            r += n
            q += n
        elif op == 1:  # I
            if last is not None:
                events.append((r - 1, n, seq[q : q + n].upper(), last[0], last[1]))
            q += n
        elif op == 2:  # D
            if last is not None:
                events.append((r - 1, -n, refseq.get(r, r + n).decode(), last[0], last[1]))
            dels.append((r, n, q))
            last = ("D", len(dels) - 1)
            r += n
        elif op == 3:  # N: ref skip, breaks anchoring
            last = None
            r += n
        elif op == 4:  # S
            q += n
        # H (5), P (6): nothing
    empty = np.zeros(0, dtype=np.int64)
    return _Walk(
        np.concatenate(rp) if rp else empty,
        np.concatenate(qp) if qp else empty,
        dels,
        events,
    )


def _adjust_overlap(
    ra: np.ndarray,
    ba: np.ndarray,
    qa: np.ndarray,
    ka: np.ndarray,
    rb: np.ndarray,
    bb: np.ndarray,
    qb: np.ndarray,
    kb: np.ndarray,
    ties: list[int] | None = None,
) -> None:
    """Overlapping mates a, b (a: smaller start; tie: READ1).  At each reference position where
    both have an aligned base: equal bases -> a gets min(qa+qb, 200), b is dropped; different
    bases -> the higher quality one (tie: a) keeps int(0.8*q), the other is dropped.  ``r*``
    aligned ref positions, ``b*`` base letters, ``q*`` effective qualities, ``k*`` kept flags
    (modified in place)."""
    _, ia, ib = np.intersect1d(ra, rb, assume_unique=True, return_indices=True)
    if ia.size == 0:
        return
    xa, xb = qa[ia].copy(), qb[ib].copy()
    same = ba[ia] == bb[ib]
    qa[ia[same]] = np.minimum(xa[same] + xb[same], 200)
    kb[ib[same]] = False
    a_wins = ~same & (xa >= xb)
    qa[ia[a_wins]] = (xa[a_wins] * 4) // 5  # == int(0.8 * q)
    kb[ib[a_wins]] = False
    if ties is not None:
        ties.extend(ra[ia[~same & (xa == xb)]].tolist())
    b_wins = ~same & (xa < xb)
    qb[ib[b_wins]] = (xb[b_wins] * 4) // 5
    ka[ia[b_wins]] = False


def pileup(
    bam: PathLike,
    ref: PathLike,
    region: str,
    *,
    min_bq: int = 13,
    min_mq: int = 0,
    max_depth: int = 0,
    overlaps: bool = True,
    del_quality_rule: str = DEL_QUALITY_RULE,
    overlap_ties: list[int] | None = None,
) -> OraclePileup:
    """The pileup of ``region`` ('contig' or 'contig:start-end', 1-based inclusive).

    ``overlap_ties``: when a list is given, the reference positions where overlapping mates had
    different bases of equal quality are appended to it (where htslib's choice differs, see
    tests/test_pileup_samtools.py)."""
    if max_depth:
        raise NotImplementedError("the oracle has no depth cap; use max_depth=0")
    if del_quality_rule not in DEL_QUALITY_RULES:
        raise ValueError(f"unknown del_quality_rule {del_quality_rule!r}")
    with pysam.AlignmentFile(str(bam)) as bf, pysam.FastaFile(str(ref)) as fa:
        lengths = dict(zip(bf.references, bf.lengths))
        contig, start, end = parse_region(region, lengths)
        refseq = _RefSeq(fa, contig, start, end)
        reads = [
            rd
            for rd in bf.fetch(contig, start, end)
            if not rd.flag & FILTER_FLAGS and rd.mapping_quality >= min_mq and rd.cigartuples
        ]
        # Inside the block: a long read reaches past the reference window, which is then fetched.
        walks = [_walk(rd, refseq) for rd in reads]
    n = end - start

    letters = [np.frombuffer((rd.query_sequence or "").encode(), dtype=np.uint8) for rd in reads]
    raw_q = []
    for rd in reads:
        qq = rd.query_qualities
        raw_q.append(
            np.frombuffer(bytes(qq), dtype=np.uint8).astype(np.int64)
            if qq is not None
            else np.full(rd.query_length, 255, dtype=np.int64)  # missing quality: 0xff in BAM
        )
    eff = [raw_q[i][w.qpos] for i, w in enumerate(walks)]
    keep = [np.ones(len(w.rpos), dtype=bool) for w in walks]
    bases = [letters[i][w.qpos] for i, w in enumerate(walks)]

    if overlaps:
        by_name: dict[str, list[int]] = defaultdict(list)
        for i, rd in enumerate(reads):
            by_name[rd.query_name].append(i)
        for idx in by_name.values():
            if len(idx) != 2:
                continue
            i, j = idx
            ri, rj = reads[i], reads[j]
            key_i = (ri.reference_start, 0 if ri.flag & READ1 else 1)
            key_j = (rj.reference_start, 0 if rj.flag & READ1 else 1)
            if key_j < key_i:
                i, j = j, i
            _adjust_overlap(
                walks[i].rpos,
                bases[i],
                eff[i],
                keep[i],
                walks[j].rpos,
                bases[j],
                eff[j],
                keep[j],
                overlap_ties,
            )

    counts = np.zeros((n, 2, 6), dtype=np.int64)
    qual_sum = np.zeros((n, 6), dtype=np.int64)
    ins = np.zeros((n, 2), dtype=np.int64)
    del_start = np.zeros((n, 2), dtype=np.int64)
    events: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0])

    for i, (rd, w) in enumerate(zip(reads, walks)):
        strand = 1 if rd.flag & REVERSE else 0
        counted = keep[i] & (eff[i] >= min_bq)
        sel = counted & (w.rpos >= start) & (w.rpos < end)
        if sel.any():
            p = w.rpos[sel] - start
            al = _ALLELE[bases[i][sel]]
            np.add.at(counts, (p, strand, al), 1)
            np.add.at(qual_sum, (p, al), eff[i][sel])
        del_counted = []
        nq = len(raw_q[i])
        for rs, length, qn in w.dels:
            qv = raw_q[i][qn] if qn < nq else 0
            if del_quality_rule == "next_effective":
                k = int(np.searchsorted(w.qpos, qn))
                if k < len(w.qpos) and w.qpos[k] == qn:
                    qv = eff[i][k] if keep[i][k] else -1
            ok = del_quality_rule == "none" or qv >= min_bq
            del_counted.append(ok)
            if ok:
                lo, hi = max(rs, start), min(rs + length, end)
                if lo < hi:
                    counts[lo - start : hi - start, strand, DEL] += 1
        for anchor, length, seq, kind, k in w.events:
            if not start <= anchor < end:
                continue
            if not (counted[k] if kind == "M" else del_counted[k]):
                continue
            (ins if length > 0 else del_start)[anchor - start, strand] += 1
            events[(anchor, length, seq)][strand] += 1

    rows = sorted(events.items())
    indels = np.zeros(len(rows), dtype=INDEL_DTYPE)
    for k, ((p, length, seq), (fwd, rev)) in enumerate(rows):
        indels[k] = (p, length, seq, fwd, rev)
    return OraclePileup(
        contig=contig,
        start=start,
        end=end,
        pos=np.arange(start, end, dtype=np.int64),
        ref=np.frombuffer(refseq.get(start, end), dtype=np.uint8).copy(),
        counts=counts.astype(np.uint32),
        qual_sum=qual_sum.astype(np.uint32),
        ins=ins.astype(np.uint32),
        del_start=del_start.astype(np.uint32),
        indels=indels,
    )


# --------------------------------------------------------------------------------------------
# comparison helpers for tests


def as_numpy(x: Any) -> np.ndarray:
    """numpy view of a numpy/CuPy/DLPack array."""
    if hasattr(x, "get") and not isinstance(x, np.ndarray):
        x = x.get()
    return np.asarray(x)


def indel_rows(indels: Any) -> list[tuple[int, int, str, int, int]]:
    """Rows of an indels table as plain tuples (seq as upper-case str)."""
    arr = as_numpy(indels)
    out = []
    for row in arr:
        seq = row["seq"]
        if isinstance(seq, (bytes, np.bytes_)):
            seq = bytes(seq).decode()
        out.append((int(row["pos"]), int(row["length"]), str(seq), int(row["fwd"]), int(row["rev"])))
    return out


def _first_diff(got: np.ndarray, want: np.ndarray, pos: np.ndarray) -> str:
    diff = got != want
    if diff.ndim > 1:
        diff = diff.reshape(diff.shape[0], -1).any(axis=1)
    bad = np.flatnonzero(diff)
    i = int(bad[0])
    return f"{bad.size} positions differ; first at 0-based {int(pos[i])}: got {got[i].tolist()}, want {want[i].tolist()}"


def assert_pileup_equal(got: Any, want: OraclePileup, what: str = "") -> None:
    """Assert a gmscall Pileup equals the oracle's, field by field, with a readable message."""
    tag = f"[{what}] " if what else ""
    assert got.contig == want.contig, f"{tag}contig {got.contig!r} != {want.contig!r}"
    assert (int(got.start), int(got.end)) == (want.start, want.end), (
        f"{tag}span {(got.start, got.end)} != {(want.start, want.end)}"
    )
    n = want.end - want.start
    for field, shape in (
        ("pos", (n,)),
        ("ref", (n,)),
        ("counts", (n, 2, 6)),
        ("qual_sum", (n, 6)),
        ("ins", (n, 2)),
        ("del_start", (n, 2)),
    ):
        g = as_numpy(getattr(got, field))
        w = getattr(want, field)
        assert g.shape == shape, f"{tag}{field}: shape {g.shape} != {shape}"
        if not np.array_equal(g.astype(np.int64), w.astype(np.int64)):
            raise AssertionError(f"{tag}{field}: {_first_diff(g, w, want.pos)}")
    g_rows, w_rows = indel_rows(got.indels), indel_rows(want.indels)
    if g_rows != w_rows:
        only_g = sorted(set(g_rows) - set(w_rows))[:5]
        only_w = sorted(set(w_rows) - set(g_rows))[:5]
        raise AssertionError(f"{tag}indels differ: only in gmscall {only_g}; only in oracle {only_w}")
    np.testing.assert_array_equal(as_numpy(got.depth), want.depth, err_msg=f"{tag}depth")
