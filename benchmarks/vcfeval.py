#!/usr/bin/env python3
"""SNV / indel F1 from RTG vcfeval (genotype-aware, PASS calls), the figures the issues quote.

    python benchmarks/vcfeval.py --rtg RTG --sdf REF.sdf -b TRUTH.vcf.gz -c CALLS.vcf.gz -e BED \\
        [--sample TRUTH_SAMPLE[,CALLS_SAMPLE]] [--out DIR]

RTG Tools is not packaged by Debian or PyPI: build it from its repository (bundled jars; `ant
rtg-tools.jar`) and give --rtg a script running `java -cp rtg-tools.jar:lib/* com.rtg.RtgTools`;
make the SDF once with `rtg format -o REF.sdf REF.fa`. vcfeval matches haplotypes over the whole
region; its split output (tp-baseline, tp, fp, fn) is counted here by kind: a record is an SNV when
REF and every ALT are one base, else an indel (as `gmscall eval` counts). Recall from the truth's
side, precision from the calls' side.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

KINDS = ("SNV", "INDEL")


def kind_of(ref: str, alts: str) -> str:
    return "SNV" if len(ref) == 1 and all(len(a) == 1 for a in alts.split(",")) else "INDEL"


def count_by_kind(path: Path) -> dict[str, int]:
    counts = dict.fromkeys(KINDS, 0)
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if not line.startswith("#"):
                cols = line.split("\t", 5)
                counts[kind_of(cols[3], cols[4])] += 1
    return counts


def vcfeval(rtg: str, sdf: str, truth: str, calls: str, bed: str, sample: str | None = None,
            out: Path | None = None) -> dict[str, dict[str, float]]:
    """{'SNV': {'tp', 'fp', 'fn', 'precision', 'recall', 'f1'}, 'INDEL': {...}} of one comparison."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = (out or Path(tmp)) / "vcfeval"
        cmd = [rtg, "vcfeval", "-b", truth, "-c", calls, "-t", sdf, "-e", bed, "-o", str(folder),
               "--threads", "2"]
        if sample:
            cmd += ["--sample", sample]
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"rtg vcfeval failed: {proc.stderr.strip()[-1000:] or proc.stdout.strip()[-1000:]}")
        tp_base, tp_call = count_by_kind(folder / "tp-baseline.vcf.gz"), count_by_kind(folder / "tp.vcf.gz")
        fp, fn = count_by_kind(folder / "fp.vcf.gz"), count_by_kind(folder / "fn.vcf.gz")
    res = {}
    for k in KINDS:
        precision = tp_call[k] / (tp_call[k] + fp[k]) if tp_call[k] + fp[k] else 1.0
        recall = tp_base[k] / (tp_base[k] + fn[k]) if tp_base[k] + fn[k] else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        res[k] = {"tp": tp_base[k], "fp": fp[k], "fn": fn[k], "precision": round(precision, 4),
                  "recall": round(recall, 4), "f1": round(f1, 4)}
    return res


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rtg", required=True)
    p.add_argument("--sdf", required=True)
    p.add_argument("-b", "--truth", required=True)
    p.add_argument("-c", "--calls", required=True)
    p.add_argument("-e", "--bed", required=True)
    p.add_argument("--sample")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    res = vcfeval(args.rtg, args.sdf, args.truth, args.calls, args.bed, args.sample, args.out)
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
