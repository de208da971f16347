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

A second table gives, per homopolymer length, the share of reads that read it at another length
(with the share of those off by 2+ bases and of those shorter), and per tandem-repeat period the
share changed by whole units (the read's tract length minus the reference's, from its CIGAR).
``--fit`` fits parametric curves of tract length to those changes (``fit_length_errors``):
gmscall.synth's ONT model (``ONT_LENGTH_ERRORS``) is this fit on the real ONT slice.
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
_MAX_DELTA = 8  # length changes of more bases share the last bin
_LONGEST_DELETION = 200  # a deletion starting further left of a tract is not its length error


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
            lo, hi = a, b + p  # d[j] == 1: comparison j (j with j+p) is the first true one of a run
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
    # (period, units) -> {read's tract length - reference's, in bases: reads}
    deltas: dict[tuple[int, int], dict[int, int]] = defaultdict(lambda: defaultdict(int))
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
            gaps: list[tuple[int, int, str]] = []  # (reference position, +inserted / -deleted bases, inserted)
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
                    gaps.append((rp, n if op == 1 else -n, seq[qp : qp + n] if op == 1 else ""))
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
            gap_pos = [g[0] for g in gaps]
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
                d = _length_change(gaps, gap_pos, ref[s - ref_beg : e - ref_beg], per, s, e)
                deltas[(per, min((e - s) // per, _MAX_UNITS))][max(-_MAX_DELTA, min(_MAX_DELTA, d))] += 1
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
        "tract_length_change": {f"{per}:{u}": {str(d): c for d, c in sorted(h.items())}
                                for (per, u), h in sorted(deltas.items())},
    }


def _length_change(gaps: list[tuple[int, int, str]], gap_pos: list[int], tract: str, period: int, s: int,
                   e: int) -> int:
    """The read's length of reference tract [s, e) minus the reference's, from its gaps (sorted by
    position, ``gap_pos``): bases deleted inside the tract, and insertions at its ends or inside
    made of the tract's own pattern (an aligner puts a repeat's extra copy anywhere in it, or just
    after it). Any other insertion is not a length error of the tract; 0 is a read of the
    reference's length."""
    d = 0
    for k in range(_first_run(gap_pos, s - _LONGEST_DELETION), len(gaps)):
        pos, n, ins = gaps[k]
        if pos > e:
            break
        if n < 0:
            d -= max(0, min(pos - n, e) - max(pos, s))
        elif s <= pos and _of_tract(ins.upper(), tract[:period]):
            d += n
    return d


def _of_tract(ins: str, unit: str) -> bool:
    """Is the inserted sequence the unit's pattern, in any phase?"""
    p = len(unit)
    return any(ins == ((unit[r:] + unit[:r]) * (len(ins) // p + 1))[: len(ins)] for r in range(p))


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


# --------------------------------------------------------------------------------------------
# a parametric fit of the tract length errors (what gmscall.synth's long-read model takes)

def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _grid_ml(loglik, axes: list[np.ndarray]) -> tuple[float, ...]:
    """Maximum of loglik over the grid of axes, refined twice on a grid 10x finer around the best."""
    for _ in range(3):
        mesh = np.meshgrid(*axes, indexing="ij")
        ll = loglik(*[m[..., None] for m in mesh])
        best = np.unravel_index(int(np.nanargmax(ll)), ll.shape)
        axes = [np.linspace(ax[max(0, i - 1)], ax[min(len(ax) - 1, i + 1)], len(ax)) for ax, i in zip(axes, best)]
        point = tuple(float(m[best]) for m in mesh)
    return point


def _cells(profile_: dict, period: int, lo: int) -> tuple[np.ndarray, np.ndarray]:
    """(units, histogram over length change -MAX..MAX) of the profile's tracts of one period, from lo units."""
    units, hists = [], []
    for key, h in profile_["tract_length_change"].items():
        per, u = map(int, key.split(":"))
        if per != period or u < lo or u == _MAX_UNITS:
            continue  # the last bin mixes lengths
        row = np.zeros(2 * _MAX_DELTA + 1)
        for d, c in h.items():
            row[int(d) + _MAX_DELTA] = c
        units.append(u)
        hists.append(row)
    return np.array(units, dtype=float), np.array(hists)


def fit_length_errors(profile_: dict) -> dict[str, dict[str, float]]:
    """Maximum-likelihood fit of a reference tract's length change in a read, as three curves of
    its length (homopolymers: bases L; tandem repeats of period 2-6: n units):

    - chance of a length error: pmax * sigmoid((L - l50) / width) (homopolymers); for tandem
      repeats, a change by whole units: pmax * sigmoid((n * period - l50) / width) * fall ** (period - 2);
    - share of losses among them: sigmoid(a + b * (L - 10)) (homopolymers; tandem repeats: one share);
    - the size in bases (units): 1 + Geometric, P(k) ~ q ** (k - 1), q = sigmoid(c + d * (L - 10))
      (tandem repeats: one q).

    The three factors of the likelihood are fitted apart (each reads only its part of the
    histograms). Changes by part of a unit in tandem repeats are other errors (not fitted)."""
    ks = np.arange(-_MAX_DELTA, _MAX_DELTA + 1)
    L, H = _cells(profile_, 1, 2)
    n_all, n_err = H.sum(1), H.sum(1) - H[:, _MAX_DELTA]
    hp: dict[str, float] = {}

    def ll_rate(pmax, l50, width):
        p = np.clip(pmax * _sigmoid((L - l50) / width), 1e-9, 1 - 1e-9)
        return (n_err * np.log(p) + (n_all - n_err) * np.log1p(-p)).sum(-1)

    hp["pmax"], hp["l50"], hp["width"] = _grid_ml(ll_rate, [np.linspace(0.3, 1.0, 15), np.linspace(4, 20, 33),
                                                             np.linspace(0.5, 6, 23)])
    n_del, n_ins = H[:, ks < 0].sum(1), H[:, ks > 0].sum(1)

    def ll_share(a, b):
        q = np.clip(_sigmoid(a + b * (L - 10)), 1e-9, 1 - 1e-9)
        return (n_del * np.log(q) + n_ins * np.log1p(-q)).sum(-1)

    hp["loss_a"], hp["loss_b"] = _grid_ml(ll_share, [np.linspace(-3, 3, 31), np.linspace(-1, 1, 41)])
    size = np.abs(ks)

    def ll_size(c, d):
        q = np.clip(_sigmoid(c + d * (L - 10)), 1e-6, 1 - 1e-6)
        lp = np.log1p(-q)[..., None] + (size[None, :] - 1) * np.log(q)[..., None]
        # the last bin holds every change of MAX bases or more: its chance is q ** (MAX - 1)
        lp[..., [0, -1]] = (_MAX_DELTA - 1) * np.log(q)[..., None]
        w = H.copy()
        w[:, _MAX_DELTA] = 0
        return (w * lp).sum((-1, -2))

    hp["size_c"], hp["size_d"] = _grid_ml(ll_size, [np.linspace(-4, 2, 31), np.linspace(-0.5, 0.5, 41)])
    # tandem repeats of period 2-6, from 2 units: whole-unit changes
    rows = [(p, *_cells(profile_, p, 2)) for p in range(2, 7)]
    rows = [(p, u, h) for p, u, h in rows if len(u)]
    per = np.concatenate([np.full(len(u), p) for p, u, _ in rows]).astype(float)
    units = np.concatenate([u for _, u, _ in rows])
    whole = [np.array([[c if d and d % p == 0 else 0.0 for d, c in zip(ks, r)] for r in h]) for p, _, h in rows]
    W = np.concatenate(whole)
    tot = np.concatenate([h.sum(1) for _, _, h in rows])
    k_err = W.sum(1)
    tr: dict[str, float] = {}

    def ll_tr(pmax, l50, width, fall):
        p = np.clip(pmax * _sigmoid((units * per - l50) / width) * fall ** (per - 2), 1e-9, 1 - 1e-9)
        return (k_err * np.log(p) + (tot - k_err) * np.log1p(-p)).sum(-1)

    tr["pmax"], tr["l50"], tr["width"], tr["fall"] = _grid_ml(
        ll_tr, [np.linspace(0.1, 0.8, 8), np.linspace(4, 30, 14), np.linspace(1, 8, 8), np.linspace(0.02, 1, 15)])
    u_size = np.concatenate([[[abs(d) // p if d and d % p == 0 else 0 for d in ks]] * len(u) for p, u, _ in rows])
    tr["loss"] = float(W[:, ks < 0].sum() / max(1.0, W.sum()))
    one = float((W * (u_size == 1)).sum())
    tr["size_q"] = float(1.0 - one / max(1.0, W.sum()))  # geometric: P(1 unit) = 1 - q
    return {"homopolymer": hp, "tandem": tr}


def fitted_rate(fit: dict[str, dict[str, float]], period: int, units: int) -> float:
    """The fitted chance of a length error (whole units for tandem repeats) of one tract."""
    if period == 1:
        f = fit["homopolymer"]
        return float(f["pmax"] * _sigmoid(np.array((units - f["l50"]) / f["width"])))
    f = fit["tandem"]
    return float(f["pmax"] * _sigmoid(np.array((units * period - f["l50"]) / f["width"])) * f["fall"] ** (period - 2))


def format_fit(fit: dict[str, dict[str, float]], profile_: dict) -> str:
    """The fit's parameters and its rates beside the measured ones."""
    lines = ["fit: " + json.dumps({k: {n: round(v, 4) for n, v in d.items()} for k, d in fit.items()}),
             "| tract | reads | measured length-error rate | fitted |", "|---|---|---|---|"]
    for key, h in sorted(profile_["tract_length_change"].items(), key=lambda kv: tuple(map(int, kv[0].split(":")))):
        per, u = map(int, key.split(":"))
        n = sum(h.values())
        if n < 20 or u == _MAX_UNITS:
            continue
        err = sum(c for d, c in h.items() if int(d) and (per == 1 or int(d) % per == 0))
        lines.append(f"| {'homopolymer' if per == 1 else f'period {per}'} x{u} | {n} | {err / n:.4f} | "
                     f"{fitted_rate(fit, per, u):.4f} |")
    return "\n".join(lines)


HOMOPOLYMER_BINS = [(2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (8, 8), (9, 9), (10, 10), (11, 11), (12, 12),
                    (13, 14), (15, 16), (17, 20)]
TANDEM_BINS = [(2, 2, 2), (2, 3, 3), (2, 4, 5), (2, 6, 20), (3, 2, 2), (3, 3, 20), (4, 2, 20), (5, 2, 20), (6, 2, 20)]


def _pooled(profile_: dict, period: int, lo: int, hi: int) -> dict[int, int]:
    out: dict[int, int] = defaultdict(int)
    for key, h in profile_["tract_length_change"].items():
        per, u = map(int, key.split(":"))
        if per == period and lo <= u <= hi:
            for d, c in h.items():
                out[int(d)] += c
    return out


def format_length_table(profiles: dict[str, dict]) -> str:
    """Markdown table of tract length errors side by side: per homopolymer length, the share of
    reads that read it at another length, and among those the share off by 2+ bases and the share
    that lost bases; per tandem-repeat period and units, the share changed by whole units."""
    lines = ["| tract (reads in each) | " + " | ".join(profiles) + " |", "|---|" + "---|" * len(profiles),
             "| *homopolymer: % reads off (of them: % 2+ bases off, % shorter)* |" + " |" * len(profiles)]
    for lo, hi in HOMOPOLYMER_BINS:
        cells = []
        for p in profiles.values():
            h = _pooled(p, 1, lo, hi)
            n = sum(h.values())
            err = n - h.get(0, 0)
            if n < 20:
                cells.append("-")
                continue
            two = sum(c for d, c in h.items() if abs(d) >= 2)
            short = sum(c for d, c in h.items() if d < 0)
            cells.append(f"{100 * err / n:.1f} ({100 * two / max(1, err):.0f}, {100 * short / max(1, err):.0f}) n={n}")
        lines.append(f"| {lo if lo == hi else f'{lo}-{hi}'} bp | " + " | ".join(cells) + " |")
    lines.append("| *tandem repeat: % reads changed by whole units* |" + " |" * len(profiles))
    for per, lo, hi in TANDEM_BINS:
        cells = []
        for p in profiles.values():
            h = _pooled(p, per, lo, hi)
            n = sum(h.values())
            whole = sum(c for d, c in h.items() if d and d % per == 0)
            cells.append("-" if n < 20 else f"{100 * whole / n:.2f} n={n}")
        units = f"{lo}" if lo == hi else f"{lo}+" if hi >= _MAX_UNITS else f"{lo}-{hi}"
        lines.append(f"| period {per}, {units} units | " + " | ".join(cells) + " |")
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
    ap.add_argument("--fit", action="store_true", help="fit the long-read length-error curves to each profile")
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
    print()
    print(format_length_table(profiles))
    if a.fit:
        for name, prof in profiles.items():
            print(f"\n{name}:\n" + format_fit(fit_length_errors(prof), prof))
    if a.json:
        a.json.write_text(json.dumps(profiles, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
