#!/usr/bin/env python3
"""The learnt indel error model of a `simulate_set.py --stutter` set with the simulator's own
stutter law put in (an oracle), to tell what a set with PCR stutter loses to the model's estimate
from what its reads do not carry (#18). The rate of each period and length is the larger of the
learnt one and `gmscall.synth.stutter_rate` (times `--scale`, the set's `--stutter-scale`); gap
codes and one-unit slips are set from it as `gmscall model` sets them, a unit lost in
`synth.STUTTER_LOSS` of the slips; everything else (the tract prior, the homopolymer gap
continuation) is the learnt model's.

    python benchmarks/stutter_oracle.py --bam SET/reads.bam --ref REF --region chr20:5000001-6000000 -o oracle.txt
    gmscall call -f REF -r chr20:5000001-6000000 --error-model oracle.txt -o oracle.vcf.gz SET/reads.bam

On the five 1-Mb stutter sets of benchmarks/README.md the oracle gives 48 false + missed indels
where the learnt model gives 54 (and the model before the long-tract rules 78).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import pysam

from gmscall import synth
from gmscall.error_model import (
    MAX_PERIOD,
    MAX_UNITS,
    ErrorModel,
    _first_units,
    learn_error_model,
    period_codes,
    platform_phred_floor,
    write_error_model,
)
from gmscall.errors import InputError
from gmscall.regions import parse_region


def oracle_model(model: ErrorModel, scale: float = 1.0) -> ErrorModel:
    """``model`` with each learnt period's rates raised to the simulator's stutter law where that
    is higher, and the gap codes and slips that go with them."""
    floor = platform_phred_floor(model.platform)
    gap_open, stutter, rates = dict(model.gap_open), {}, dict(model.rates)
    for p in range(1, MAX_PERIOD + 1):
        if p not in model.rates:
            continue
        units = range(_first_units(p), MAX_UNITS + 1)
        rates[p] = tuple(max(r, synth.stutter_rate(p, u * p, scale)) for r, u in zip(model.rates[p], units))
        gap_open[p], codes = period_codes(rates[p], p, floor, model.gap_ext)
        if any(codes):
            stutter[p] = codes
    return dataclasses.replace(model, gap_open=gap_open, rates=rates, stutter=stutter,
                               stutter_loss=synth.STUTTER_LOSS, fit=model.fit + "; stutter law of simulate_set.py")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bam", required=True, help="reads of a simulate_set.py --stutter set")
    ap.add_argument("--ref", required=True, help="its reference FASTA")
    ap.add_argument("--region", required=True, help="the region the model is learnt over (as gmscall call -r)")
    ap.add_argument("--scale", type=float, default=1.0, help="the set's --stutter-scale [1]")
    ap.add_argument("-o", "--output", required=True, help="model file for gmscall call --error-model")
    args = ap.parse_args(argv)
    try:
        with pysam.FastaFile(args.ref) as fa:
            contigs = dict(zip(fa.references, fa.lengths))
        models = learn_error_model(args.bam, args.ref, [parse_region(args.region, contigs)])
        write_error_model(args.output, [oracle_model(m, args.scale) for m in models])
    except (InputError, OSError) as e:
        print(f"stutter_oracle: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
