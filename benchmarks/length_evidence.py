#!/usr/bin/env python3
"""How much long reads can tell about a homopolymer's length (issue #19), as tables for
docs/long-reads.md:

1. the evidence per read that a caller knowing the simulator's own length-error law exactly
   (``gmscall.synth.homopolymer_length_law``) gathers for a genotype against hom-ref, as the
   log10 Kullback-Leibler divergence of the two laws of read lengths, and the reads it needs for
   3 log10 (QUAL 30 before any prior): a het or hom one base off, and a het against that hom;
2. with --truth: how often the reference's homopolymers of each length carry an indel of the
   truth over --region (a population rate to set indel priors against; the one-individual
   truth of the shared sets counts each run once).

    python benchmarks/length_evidence.py --platform ONT [--lengths 8,10,12,13,15,17] [--depth 50]
    python benchmarks/length_evidence.py --truth ../shared/data/sim-hg002-chr20-2x150/truth.vcf.gz \\
        --ref ../shared/data/sim-hg002-chr20-2x150/ref.fa --region chr20:1000001-6000000
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

from gmscall.synth import homopolymer_length_law

FLOOR = 1e-12  # a read length one law never gives costs this much under it


def divergence(p: dict[int, float], q: dict[int, float]) -> float:
    """log10 Kullback-Leibler divergence D(p || q): the mean log10 likelihood ratio per read drawn
    from p, of p against q."""
    return sum(pk * math.log10(pk / max(q.get(k, 0.0), FLOOR)) for k, pk in p.items() if pk > 0)


def mixture(p: dict[int, float], q: dict[int, float]) -> dict[int, float]:
    return {k: 0.5 * p.get(k, 0.0) + 0.5 * q.get(k, 0.0) for k in sorted(set(p) | set(q))}


def evidence_rows(platform: str, lengths: list[int], depth: float) -> list[str]:
    title = f"Evidence per read (log10) for a one-base change of a homopolymer, by the {platform} simulator's own law:"
    header = ("| bases | reads exact | het vs hom-ref | hom vs hom-ref | het vs hom | reads for 3 log10: het / hom | "
              f"a het's mean at {depth:g}x |")
    rows = [title, "", header, "|---|---|---|---|---|---|---|"]
    for n in lengths:
        ref, alt = homopolymer_length_law(platform, n), homopolymer_length_law(platform, n + 1)
        het = mixture(ref, alt)
        d_het, d_hom, d_het_hom = divergence(het, ref), divergence(alt, ref), divergence(het, alt)
        rows.append(f"| {n} | {ref[n]:.0%} | {d_het:.4f} | {d_hom:.4f} | {d_het_hom:.4f} | "
                    f"{3 / d_het:.0f} / {3 / d_hom:.0f} | {depth * d_het:.2f} |")
    return rows


def population_rows(truth: str, ref_path: str, region: str, longest: int = 20) -> list[str]:
    """Share of the reference's homopolymers (by length, capped at ``longest``) in ``region`` that
    carry an indel of ``truth``: one whose bases are the run's base, anchored at the base before
    the run or inside it."""
    import pysam

    contig, _, span = region.partition(":")
    beg, end = (int(x.replace(",", "")) for x in span.split("-")) if span else (1, None)
    fa = pysam.FastaFile(ref_path)
    end = end or fa.get_reference_length(contig)
    seq = fa.fetch(contig, beg - 1, end).upper()
    runs: dict[int, int] = {}
    run_at: dict[int, tuple[int, int]] = {}  # 0-based position -> (run start, length)
    for m in re.finditer(r"A+|C+|G+|T+", seq):
        n = min(len(m.group()), longest)
        runs[n] = runs.get(n, 0) + 1
        for x in range(m.start(), m.end()):
            run_at[beg - 1 + x] = (beg - 1 + m.start(), n)
    carried: dict[int, set[int]] = {}
    with pysam.VariantFile(truth) as vcf:
        for rec in vcf.fetch(contig, beg - 1, end):
            for alt in rec.alts or ():
                r = rec.ref
                if len(alt) == len(r) or min(len(alt), len(r)) != 1 or alt[0] != r[0]:
                    continue
                bases = (alt if len(alt) > len(r) else r)[1:].upper()
                at = run_at.get(rec.pos)  # rec.pos (1-based anchor) is the 0-based base after it
                if at and set(bases) == {seq[at[0] - beg + 1]}:
                    carried.setdefault(at[1], set()).add(at[0])
    rows = [f"Homopolymers of the reference over {region} carrying an indel of {Path(truth).name}:", "",
            "| bases | runs | with an indel | share |", "|---|---|---|---|"]
    for n in sorted(runs):
        if n < 2:
            continue
        k = len(carried.get(n, ()))
        label = f"{n}+" if n == longest else str(n)
        rows.append(f"| {label} | {runs[n]} | {k} | {k / runs[n]:.2%} |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--platform", choices=("HIFI", "ONT"), default="ONT")
    ap.add_argument("--lengths", default="8,10,12,13,15,17", help="homopolymer lengths (bases)")
    ap.add_argument("--depth", type=float, default=50.0)
    ap.add_argument("--truth", help="a truth VCF (bgzipped, indexed): also the population table")
    ap.add_argument("--ref", help="its reference FASTA (with --truth)")
    ap.add_argument("--region", help="CONTIG[:BEG-END], 1-based (with --truth)")
    a = ap.parse_args(argv)
    try:
        lengths = [int(x) for x in a.lengths.split(",")]
    except ValueError:
        print(f"length_evidence.py: --lengths takes integers separated by commas, got {a.lengths!r}", file=sys.stderr)
        return 2
    if any(n < 2 for n in lengths) or a.depth <= 0:
        print("length_evidence.py: lengths of 2 bases or more and a positive depth", file=sys.stderr)
        return 2
    if a.truth and not (a.ref and a.region):
        print("length_evidence.py: --truth needs --ref and --region", file=sys.stderr)
        return 2
    print("\n".join(evidence_rows(a.platform, lengths, a.depth)))
    if a.truth:
        print()
        print("\n".join(population_rows(a.truth, a.ref, a.region)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
