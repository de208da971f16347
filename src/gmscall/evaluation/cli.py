"""``gmscall eval`` (and ``python -m gmscall.evaluation``): truth comparison, somatic scoring and
Mendelian checks from the command line.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import GmsError
from .common import vcf_sample_names
from .phase import evaluate_phase
from .somatic import evaluate_somatic
from .trios import Trio, mendel, parse_trio, ped_trios
from .truth import evaluate, format_table


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``gmscall eval`` to ``parser``."""
    parser.add_argument("--truth", help="truth VCF/BCF (bgzipped+indexed for --region); required unless "
                        "only Mendelian checks are asked for (--mendel/--ped)")
    parser.add_argument("--calls", required=True, help="VCF/BCF of calls to evaluate")
    parser.add_argument("--ref", "-f", "--fasta-ref", dest="ref",
                        help="reference FASTA (.fa or bgzipped .fa.gz, with .fai); required with --truth")
    parser.add_argument("--bed", help="confident regions (BED); counted when bed_start < POS <= bed_end")
    parser.add_argument("--region", "-r", help="restrict both sides to chr[:start-end] (1-based)")
    parser.add_argument("--truth-sample", help="sample of the truth VCF (default: first)")
    parser.add_argument("--calls-sample", help="sample of the calls VCF (default: first)")
    parser.add_argument("--include-filtered", action="store_true",
                        help="also evaluate call records whose FILTER is not PASS/.")
    parser.add_argument("--hap-window", type=int, default=10,
                        help="bp between unmatched alleles grouped for haplotype comparison (default 10)")
    parser.add_argument("--somatic", action="store_true",
                        help="somatic calls (gmscall somatic) against a somatic truth: PASS records, allele-level, "
                             "recall by allele fraction (truth INFO VAF) and by type (SNV, indel, ITD)")
    parser.add_argument("--phase", action="store_true",
                        help="phase of the heterozygous calls against a phased truth: switch error rate, flips, "
                             "phased fraction, block N50 (see docs/phasing.md)")
    parser.add_argument("--truth-phase", choices=("auto", "phased", "order"), default="auto",
                        help="--phase: how the truth is phased: its phased GTs and PS, its GT order (simulated "
                             "sets: one block per contig), or auto (phased if any truth het is, else order)")
    parser.add_argument("--json", help="write the full result (counts, FP/FN lists) as JSON here")
    parser.add_argument("--mendel", action="append", metavar="CHILD,FATHER,MOTHER",
                        help="Mendelian errors and de novo calls of this trio of --calls' samples (PASS "
                             "records, inside --bed/--region); may be repeated")
    parser.add_argument("--ped", metavar="FILE",
                        help="PED file: check every trio of it whose three members are samples of --calls")


def _requested_trios(args: argparse.Namespace) -> list[Trio]:
    """Trios of ``--mendel`` and ``--ped`` (those of the PED whose members are all in --calls)."""
    trios = [parse_trio(t) for t in args.mendel or ()]
    if args.ped:
        samples = vcf_sample_names(args.calls)
        from_ped = ped_trios(args.ped, samples)
        if not from_ped:
            raise ValueError(f"{args.ped}: no trio whose child, father and mother are all samples of "
                             f"{args.calls} ({', '.join(samples) or 'no samples'})")
        trios += [t for t in from_ped if t not in trios]
    return trios


def _check_eval_args(args: argparse.Namespace) -> str | None:
    """Why the arguments cannot work together, or None."""
    if args.truth is None and not (args.mendel or args.ped):
        return "--truth is required (or --mendel/--ped for Mendelian checks alone)"
    if args.phase and args.truth is None:
        return "--phase needs --truth (a phased truth VCF)"
    if args.phase and args.somatic:
        return "--phase and --somatic do not go together"
    if args.truth is not None and args.ref is None:
        return "--ref is required with --truth"
    return None


def run_eval(args: argparse.Namespace) -> int:
    """Run ``gmscall eval`` from parsed arguments; print the table and/or the Mendelian checks."""
    problem = _check_eval_args(args)
    if problem:
        print(f"gmscall eval: error: {problem}", file=sys.stderr)
        return 2
    out: dict[str, Any] = {}
    lines: list[str] = []
    try:
        if args.truth is not None and args.phase:
            ph = evaluate_phase(args.truth, args.calls, args.ref, bed=args.bed, region=args.region,
                                truth_sample=args.truth_sample, calls_sample=args.calls_sample,
                                include_filtered=args.include_filtered, truth_phase=args.truth_phase)
            lines.append(ph.table())
            out = {"phase": ph.to_dict()}
        elif args.truth is not None and args.somatic:
            som = evaluate_somatic(args.truth, args.calls, args.ref, bed=args.bed, region=args.region,
                                   truth_sample=args.truth_sample, calls_sample=args.calls_sample)
            lines.append(som.table())
            out = som.to_dict()
        elif args.truth is not None:
            res = evaluate(
                args.truth, args.calls, args.ref, bed=args.bed, truth_sample=args.truth_sample,
                calls_sample=args.calls_sample, region=args.region,
                include_filtered=args.include_filtered, hap_window=args.hap_window,
            )
            lines.append(format_table(res))
            out = res.to_dict()
        if args.mendel or args.ped:
            checks = [mendel(args.calls, trio, ref=args.ref, bed=args.bed, region=args.region,
                             include_filtered=args.include_filtered) for trio in _requested_trios(args)]
            lines += [m.summary() for m in checks]
            out["mendel"] = [m.to_dict() for m in checks]
    except (OSError, ValueError) as exc:
        print(f"gmscall eval: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    if args.json:
        try:
            _write_json(args.json, out)
        except GmsError as exc:
            print(f"gmscall eval: error: {exc}", file=sys.stderr)
            return 2
    return 0


def _write_json(path: str, data: Any) -> None:
    """`data` as JSON in `path`, whole or not at all."""
    from ..sink import write_whole

    write_whole(path, (json.dumps(data, indent=1) + "\n").encode())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gmscall.evaluation",
        description="Compare small-variant calls with a truth VCF (SNV/INDEL precision, recall, F1); "
                    "Mendelian errors of trios in a multi-sample VCF (--mendel, --ped).",
    )
    add_eval_arguments(parser)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    return run_eval(parser.parse_args(argv))

