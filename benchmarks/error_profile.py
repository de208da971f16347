"""Sequencing error profile of an aligned BAM against its reference, away from true variants.

    python benchmarks/error_profile.py --bam reads.bam --ref ref.fa --region chr20:9000000-9100000 \
        [--truth truth.vcf.gz] [--bed confident.bed] [--json out.json]

What it counts, over primary alignments (MAPQ >= 20), inside the BED and the region, more than
10 bp from any truth variant: substitutions per aligned base; insertions and deletions per
aligned base outside tandem repeats (of 1 bp, and longer); and for reference tandem repeats of
period 1-6 (homopolymers: period 1) by length in units (20: 20 or more), the share of the reads
spanning one (3 bases to spare) that carry an indel of whole units in it. HiFi and ONT errors are
mostly homopolymer-length changes; Illumina's are substitutions. Used to say how close simulated
long reads (pbsim, gmscall.synth) are to the real slices.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pysam

_FLANK = 10  # bp around a truth variant left out
_MAX_UNITS = 20  # tracts of more units share the last bin


def _parse_region(text: str) -> tuple[str, int, int]:
    contig, _, span = text.partition(":")
    if not span:
        raise SystemExit(f"error_profile: region '{text}' needs chr:start-end")
    a, _, b = span.replace(",", "").partition("-")
    return contig, int(a) - 1, int(b)


def _mask(contig: str, beg: int, end: int, truth: str | None, bed: str | None) -> np.ndarray:
    """True where a position [beg, end) counts: inside the BED, away from truth variants."""
    ok = np.ones(end - beg, dtype=bool)
    if bed:
        ok[:] = False
        with open(bed) as fh:
            for line in fh:
                f = line.split()
                if len(f) < 3 or f[0] != contig:
                    continue
                s, e = max(int(f[1]), beg), min(int(f[2]), end)
                if s < e:
                    ok[s - beg : e - beg] = True
    if truth:
        with pysam.VariantFile(truth) as vf:
            for rec in vf.fetch(contig, max(0, beg - 1000), end + 1000):
                s = rec.pos - 1 - _FLANK
                e = rec.pos - 1 + len(rec.ref) + _FLANK
                s, e = max(s, beg), min(e, end)
                if s < e:
                    ok[s - beg : e - beg] = False
    return ok


def _tracts(ref: str, beg: int, max_period: int = 6) -> list[tuple[int, int, int]]:
    """Maximal tandem repeats (start, end, period) of 2 or more whole units of a primitive unit
    of period 1..max_period (reference coordinates), sorted; overlapping ones of different periods
    all listed."""
    arr = np.frombuffer(ref.encode(), dtype=np.uint8)
    out = []
    for p in range(1, max_period + 1):
        eq = np.concatenate(([False], arr[p:] == arr[:-p], [False]))
        d = np.diff(eq.astype(np.int8))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)  # runs of eq over [a, b)
        for a, b in zip(starts.tolist(), ends.tolist()):
            lo, hi = a - 1, b - 1 + p  # eq[i] compares i-1 with i-1+p (shifted by the leading False)
            if hi - lo < 2 * p or "N" in ref[lo : lo + p]:
                continue
            unit = ref[lo : lo + p]
            if any(p % q == 0 and unit == unit[:q] * (p // q) for q in range(1, p)):
                continue  # not primitive: a shorter period's tract
            out.append((beg + lo, beg + hi, p))
    out.sort()
    return out


def profile(bam: str, ref_path: str, region: str, truth: str | None = None, bed: str | None = None,
            max_reads: int | None = None) -> dict:
    contig, beg, end = _parse_region(region)
    fa = pysam.FastaFile(ref_path)
    pad = 50
    ref = fa.fetch(contig, max(0, beg - pad), end + pad).upper()
    ref_beg = max(0, beg - pad)
    ok = _mask(contig, beg, end, truth, bed)

    def counts(p: int) -> bool:
        return beg <= p < end and bool(ok[p - beg])

    tracts = [t for t in _tracts(ref, ref_beg) if t[0] - 3 >= beg and t[1] + 3 <= end
              and all(counts(x) for x in (t[0], t[1] - 1))]
    # each position's tract: the one covering the most bases (an indel anchored at s - 1 .. e - 1
    # changes tract [s, e): VCF anchors sit before the repeat)
    owner = np.full(end - beg + 2, -1, dtype=np.int64)
    size = np.zeros(end - beg + 2, dtype=np.int64)
    for k, (s, e, _) in enumerate(tracts):
        sl = slice(s - 1 - beg, e - beg)
        better = size[sl] < e - s
        owner[sl][better] = k
        size[sl][better] = e - s
    by_start = [t[0] for t in tracts]
    tally: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    aligned = subs = 0
    ins = defaultdict(int)
    dels = defaultdict(int)
    n_reads = 0
    with pysam.AlignmentFile(bam) as bf:
        for rd in bf.fetch(contig, beg, end):
            if rd.is_unmapped or rd.is_secondary or rd.is_supplementary or rd.mapping_quality < 20:
                continue
            n_reads += 1
            if max_reads and n_reads > max_reads:
                break
            seq = rd.query_sequence.upper()
            rp, qp = rd.reference_start, 0
            hit: set[int] = set()  # tracts with a whole-unit indel on this read
            for op, n in rd.cigartuples:
                if op in (0, 7, 8):
                    lo, hi = max(rp, beg), min(rp + n, end)
                    if lo < hi:
                        q = np.frombuffer(seq[qp + lo - rp : qp + hi - rp].encode(), dtype=np.uint8)
                        r = np.frombuffer(ref[lo - ref_beg : hi - ref_beg].encode(), dtype=np.uint8)
                        m = ok[lo - beg : hi - beg]
                        aligned += int(m.sum())
                        subs += int(((q != r) & m & (q != ord("N"))).sum())
                    rp += n
                    qp += n
                elif op in (1, 2):
                    anchor = rp - 1
                    k = int(owner[anchor - beg]) if beg <= anchor < end else -1
                    if k >= 0 and n % tracts[k][2] == 0:
                        hit.add(k)
                    elif k < 0 and counts(anchor):
                        (ins if op == 1 else dels)[min(n, 10)] += 1
                    if op == 1:
                        qp += n
                    else:
                        rp += n
                elif op == 3:
                    rp += n
                elif op == 4:
                    qp += n
            # tracts inside the read with 3 aligned bases of flank on both sides
            a0, a1 = rd.reference_start, rd.reference_end
            for k in range(_first_run(by_start, a0 + 3), len(tracts)):
                s, e, per = tracts[k]
                if s >= a1:
                    break
                if e + 3 > a1:
                    continue
                cell = tally[(per, min((e - s) // per, _MAX_UNITS))]
                cell[0] += 1
                cell[1] += k in hit
    rates = {f"{per}:{u}": {"reads": t, "rate": k / t} for (per, u), (t, k) in sorted(tally.items())}
    return {
        "bam": bam,
        "region": region,
        "reads": n_reads,
        "aligned_bases": aligned,
        "substitutions_per_kb": 1000.0 * subs / max(1, aligned),
        "insertions_per_kb_outside_repeats": {str(k): 1000.0 * v / max(1, aligned) for k, v in sorted(ins.items())},
        "deletions_per_kb_outside_repeats": {str(k): 1000.0 * v / max(1, aligned) for k, v in sorted(dels.items())},
        "tract_indel_rate": rates,
    }


def _first_run(starts: list[int], pos: int) -> int:
    """Index of the first tract starting at or after pos."""
    lo, hi = 0, len(starts)
    while lo < hi:
        mid = (lo + hi) // 2
        if starts[mid] < pos:
            lo = mid + 1
        else:
            hi = mid
    return lo


ROWS = [(1, u) for u in (2, 3, 4, 5, 6, 8, 10, 12, 15, 20)] + [(p, u) for p in (2, 3, 4) for u in (2, 3, 4, 6, 8, 10)]


def format_table(profiles: dict[str, dict]) -> str:
    """Markdown table of the profiles side by side."""
    lines = ["| | " + " | ".join(profiles) + " |", "|---|" + "---|" * len(profiles)]
    lines.append("| substitutions / kb | " + " | ".join(f"{p['substitutions_per_kb']:.2f}" for p in profiles.values()) + " |")
    for kind in ("insertions", "deletions"):
        key = f"{kind}_per_kb_outside_repeats"
        lines.append(f"| 1-bp {kind} / kb outside repeats | "
                     + " | ".join(f"{p[key].get('1', 0.0):.3f}" for p in profiles.values()) + " |")
        lines.append(f"| 2+ bp {kind} / kb outside repeats | "
                     + " | ".join(f"{sum(v for k, v in p[key].items() if k != '1'):.3f}" for p in profiles.values())
                     + " |")
    for per, u in ROWS:
        cells = []
        for p in profiles.values():
            r = p["tract_indel_rate"].get(f"{per}:{u}")
            cells.append("-" if not r or r["reads"] < 20 else f"{100 * r['rate']:.1f} ({r['reads']})")
        what = f"homopolymer of {u}" if per == 1 else f"period {per}, {u} units"
        lines.append(f"| % reads with an indel, {what}{'+' if u == _MAX_UNITS else ''} (reads) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bam", action="append", required=True, help="BAM (repeatable; NAME=PATH to label it)")
    ap.add_argument("--ref", required=True)
    ap.add_argument("--region", action="append", required=True, help="one per --bam, or one for all")
    ap.add_argument("--truth", action="append", default=[], help="one per --bam, or one for all")
    ap.add_argument("--bed", action="append", default=[], help="one per --bam, or one for all")
    ap.add_argument("--max-reads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)

    def nth(values: list[str], k: int) -> str | None:
        if not values:
            return None
        return values[k] if len(values) > 1 else values[0]

    profiles = {}
    for k, spec in enumerate(a.bam):
        name, _, path = spec.rpartition("=")
        name = name or Path(path).parent.name
        profiles[name] = profile(path, a.ref, nth(a.region, k), nth(a.truth, k), nth(a.bed, k), a.max_reads)
    print(format_table(profiles))
    if a.json:
        a.json.write_text(json.dumps(profiles, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
