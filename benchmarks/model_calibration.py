#!/usr/bin/env python3
"""What a learnt indel error model says about homopolymer lengths, against what the reads show
(issues #18 and #19): for a run of L bases, the law of the length a read gives it that the model
implies (the pair-HMM, with the model's gap codes and slips, weighing reads that differ from the
haplotype only in the run's length, normalised over the lengths), beside the reads' own law at
runs away from true variants (``error_profile.py --json``). A model narrower than the reads reads
their spread as alleles (false indels, hets where the truth is hom); a wider one explains real
alleles away.

    python benchmarks/error_profile.py --bam ont=../shared/data/real-hg002-chr20-ont/reads.bam \\
        --ref REF --region chr20:4980000-5125000 --truth TRUTH --json ont.json
    python benchmarks/model_calibration.py --bam ../shared/data/real-hg002-chr20-ont/reads.bam \\
        --ref REF --region chr20:5050000-5075000 --profile ont.json [--lengths 8,10,12,15]
    python benchmarks/model_calibration.py --model MODEL_OR_VCF [--profile JSON]

The model is learnt as `gmscall call` learns it for that region (or read from a file `gmscall
model` or `gmscall call` wrote); the implied law uses CallOptions' default gap penalties where the
model keeps them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from gmscall import _core
from gmscall.error_model import ErrorModel, learn_error_model, read_error_model
from gmscall.errors import InputError
from gmscall.options import CallOptions
from gmscall.regions import parse_region

MAX_CHANGE = 8  # bases: as error_profile.py's last bin
FLANK = 40
QUAL = 30  # the synthetic reads' base quality (the law hardly depends on it: inserted bases emit nothing)


def _flank(rng: np.random.Generator, n: int) -> list[int]:
    return [int(x) for x in rng.integers(0, 4, n)]


def implied_law(model: ErrorModel, length: int, base: int = 0, seed: int = 1) -> dict[int, float]:
    """{read's run length: probability} the model implies for a run of ``length`` bases of
    ``base`` (code 0-3) between random flanks: pair-HMM likelihoods of reads that differ from the
    haplotype only there, normalised over the lengths (``length`` - MAX_CHANGE .. + MAX_CHANGE, one
    base at least)."""
    o = CallOptions()
    table = model.table(o.gap_open_max, o.gap_open_min, o.gap_open_slope)
    rng = np.random.default_rng(seed)
    left, right = _flank(rng, FLANK), _flank(rng, FLANK)
    left[-1] = (base + 1) % 4  # the run's neighbours are other bases
    right[0] = (base + 2) % 4
    hap = left + [base] * length + right
    codes, slips = _core.haplotype_model_codes("".join("ACGT"[b] for b in hap), table)
    law = {}
    for n in range(max(1, length - MAX_CHANGE), length + MAX_CHANGE + 1):
        read = left + [base] * n + right
        job = [(0, len(read), 0, len(hap), 0, 0, MAX_CHANGE + 8)]
        law[n] = _core.pairhmm(job, read, [QUAL] * len(read), hap, codes, hap_slip=slips)[0]
    total = sum(law.values())
    return {n: v / total for n, v in law.items()}


def observed_law(profile: dict, length: int) -> tuple[dict[int, float], int]:
    """The reads' law at runs of ``length`` bases (error_profile.py's tract_length_change of period
    1), and how many reads it rests on."""
    h = profile["tract_length_change"].get(f"1:{length}", {})
    n = sum(h.values())
    return ({length + int(d): c / n for d, c in h.items()} if n else {}), n


def _share(law: dict[int, float], length: int, lo: int, hi: int) -> float:
    return sum(p for n, p in law.items() if lo <= abs(n - length) <= hi)


def rows(model: ErrorModel, lengths: list[int], profile: dict | None) -> list[str]:
    head = "| bases | model: exact / one off / 2+ off |"
    rule = "|---|---|"
    if profile is not None:
        head += " reads: exact / one off / 2+ off (reads) | total variation |"
        rule += "---|---|"
    out = [head, rule]
    for n in lengths:
        law = implied_law(model, n)
        line = f"| {n} | {_share(law, n, 0, 0):.0%} / {_share(law, n, 1, 1):.0%} / {_share(law, n, 2, 99):.0%} |"
        if profile is not None:
            seen, count = observed_law(profile, n)
            if count:
                tv = 0.5 * sum(abs(seen.get(k, 0.0) - law.get(k, 0.0)) for k in set(seen) | set(law))
                line += (f" {_share(seen, n, 0, 0):.0%} / {_share(seen, n, 1, 1):.0%} / {_share(seen, n, 2, 99):.0%}"
                         f" ({count}) | {tv:.2f} |")
            else:
                line += " - | - |"
        out.append(line)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="a model file (gmscall model) or a VCF gmscall wrote")
    ap.add_argument("--bam", help="learn the model from this BAM/CRAM instead (with --ref, --region)")
    ap.add_argument("--ref")
    ap.add_argument("--region", help="CONTIG[:BEG-END], the region a call would sample")
    ap.add_argument("--platform", choices=("ILLUMINA", "PACBIO", "ONT"), help="for every read group [@RG PL]")
    ap.add_argument("--read-group", help="which of the file's or BAM's read groups [the first]")
    ap.add_argument("--profile", type=Path, help="error_profile.py --json output (its first BAM)")
    ap.add_argument("--lengths", default="4,6,8,10,12,13,15,17,20")
    a = ap.parse_args(argv)
    try:
        lengths = [int(x) for x in a.lengths.split(",")]
        if any(n < 1 for n in lengths):
            raise ValueError
    except ValueError:
        print(f"model_calibration.py: --lengths takes positive integers separated by commas, got {a.lengths!r}",
              file=sys.stderr)
        return 2
    try:
        if a.model:
            models = read_error_model(a.model)
        elif a.bam and a.ref and a.region:
            import pysam

            with pysam.FastaFile(a.ref) as fa:
                contigs = dict(zip(fa.references, fa.lengths))
            models = learn_error_model(a.bam, a.ref, [parse_region(a.region, contigs)], platform=a.platform or "")
        else:
            print("model_calibration.py: give --model, or --bam with --ref and --region", file=sys.stderr)
            return 2
        models = [m for m in models if a.read_group is None or m.read_group == a.read_group]
        if not models:
            print(f"model_calibration.py: no read group {a.read_group!r}", file=sys.stderr)
            return 2
        profile = None
        if a.profile:
            profiles = json.loads(a.profile.read_text())
            profile = next(iter(profiles.values()))
    except (InputError, OSError, ValueError) as e:
        print(f"model_calibration.py: {e}", file=sys.stderr)
        return 2
    m = models[0]
    print(f"Read lengths of homopolymers: read group {m.read_group or '-'} ({m.platform or '-'}; {m.fit})\n")
    print("\n".join(rows(m, lengths, profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
