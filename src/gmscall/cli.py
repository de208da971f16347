"""Command line: gmscall info | pileup | call | model | genotype | check | somatic | demo | eval | qc (bcftools-style options)."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from pathlib import Path

# gmscall does no linear algebra: keep numpy's BLAS from spinning up idle threads that compete
# with the C++ workers on small nodes.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from . import __version__
from .errors import GmsError, InputError, output_error
from .sink import STDOUT_NAME, stdout_sink

log = logging.getLogger("gmscall")


def _cmd_info(args: argparse.Namespace) -> int:
    from . import info

    d = info()
    print(f"gmscall {d['version']}")
    print(f"htslib {d['htslib']}")
    if d["cuda_compiled"]:
        print(f"CUDA backend: compiled (runtime {d['cuda_runtime']})")
    else:
        print("CUDA backend: not compiled")
    if d["cuda_devices"]:
        print(f"CUDA devices: {len(d['cuda_devices'])}")
        for dev in d["cuda_devices"]:
            print(f"  device {dev['index']}: {dev['name']} (sm_{dev['compute_capability'].replace('.', '')}, "
                  f"{dev['memory_gib']:.0f} GiB)")
    else:
        print("CUDA devices: none found (the CPU backend will be used)")
    return 0


def _add_pileup_args(p: argparse.ArgumentParser) -> None:
    _add_inputs(p, "indexed BAM or CRAM")
    p.add_argument("-r", "--regions", required=True, help="region CONTIG[:START-END], 1-based inclusive")
    p.add_argument("-Q", "--min-BQ", type=int, default=13, dest="min_bq", help="min base quality [13]")
    p.add_argument("-q", "--min-MQ", type=int, default=0, dest="min_mq", help="min mapping quality [0]")
    p.add_argument("-d", "--max-depth", type=int, default=0, help="deterministic depth cap, 0 = none [0]")
    p.add_argument("-x", "--keep-overlaps", action="store_true",
                   help="count both mates where they overlap (default: the fragment counts once)")
    _add_execution(p, threads=1)


def _add_inputs(p: argparse.ArgumentParser, bam_help: str) -> None:
    p.add_argument("bam", help=bam_help)
    p.add_argument("-f", "--fasta-ref", required=True, help="reference FASTA (indexed with samtools faidx)")


def _add_regions_and_output(p: argparse.ArgumentParser) -> None:
    p.add_argument("-r", "--regions", action="append", help="region CONTIG[:START-END] (repeatable)")
    p.add_argument("-R", "--regions-file", help="BED file of regions")
    p.add_argument("-o", "--output", default="-", help="output VCF; .gz: bgzip + tabix index; - stdout [-]")


def _add_execution(p: argparse.ArgumentParser, threads: int) -> None:
    p.add_argument("--threads", type=int, default=threads, help=f"worker threads [{threads}]")
    p.add_argument("--backend", choices=("auto", "cpu", "cuda"), default="auto", help="compute backend [auto]")


def _add_read_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("-Q", "--min-BQ", type=int, default=10, dest="min_bq", help="min base quality [10]")
    p.add_argument("-q", "--min-MQ", type=int, default=20, dest="min_mq", help="min mapping quality [20]")
    p.add_argument("-d", "--max-depth", type=int, default=2000, help="deterministic depth cap per sample [2000]")


def _add_qual_thresholds(p: argparse.ArgumentParser) -> None:
    p.add_argument("--min-qual", type=float, default=10.0, help="do not write records below this QUAL [10]")
    p.add_argument("--low-qual", type=float, default=20.0, help="FILTER LowQual below this QUAL [20]")


def _add_sharding(p: argparse.ArgumentParser, shard_size: int) -> None:
    """--shard-size (default `shard_size`) and --dask."""
    p.add_argument("--shard-size", type=int, default=shard_size, help=f"bases per shard [{shard_size}]")
    p.add_argument("--dask", metavar="ADDRESS",
                   help="run the shards on a Dask cluster: the scheduler's address, e.g. tcp://host:8786")


def _add_resume(p: argparse.ArgumentParser) -> None:
    p.add_argument("--resume", action="store_true",
                   help="checkpoint finished shards next to the output (OUTPUT.gmscall-work/) and reuse "
                        "those of an interrupted run with the same inputs and options")


def _cmd_pileup(args: argparse.Namespace) -> int:
    from .options import PileupOptions
    from .pileup_api import pileup_tsv

    opts = PileupOptions(min_bq=args.min_bq, min_mq=args.min_mq, max_depth=args.max_depth,
                         overlaps=not args.keep_overlaps)
    out = stdout_sink()  # every byte written, or one line naming standard output
    out.write(b"#chrom\tpos\tref\tdepth\tA\tC\tG\tT\tN\tdel\tins\n")
    pileup_tsv(args.bam, args.fasta_ref, args.regions, out, opts=opts, backend=args.backend,
               threads=args.threads)
    out.close()
    return 0


def _cmd_call(args: argparse.Namespace) -> int:
    from .caller import call
    from .options import CallOptions

    opts = CallOptions(min_bq=args.min_bq, min_mq=args.min_mq, max_depth=args.max_depth,
                       min_qual=args.min_qual, low_qual=args.low_qual, de_novo_prior=args.de_novo_prior,
                       gvcf=args.gvcf, gq_bands=_gq_bands(args.gq_bands), assemble=not args.no_assembly,
                       phase=not args.no_phase, platform=args.platform or "",
                       long_read_assembly=args.long_read_assembly,
                       paralog_prior=0.0 if args.no_paralog_model else args.paralog_prior,
                       indel_screen_qual=args.indel_screen_qual)
    progress = _progress_bar() if sys.stderr.isatty() else None
    with _dask_client(args.dask) as client:
        call(_bam_inputs(args), args.fasta_ref, args.regions, bed=args.regions_file, output=args.output,
             threads=args.threads, backend=args.backend, options=opts, shard_size=args.shard_size,
             client=client, command=" ".join(["gmscall", *sys.argv[1:]]), sample=args.sample,
             ped=args.ped, ploidy=args.ploidy, sex=args.sex, progress=progress, resume=args.resume,
             error_model=False if args.no_error_model else (args.error_model or True), haplotag=args.haplotag)
    if progress is not None:
        sys.stderr.write("\n")
    return 0


def _add_platform(p: argparse.ArgumentParser) -> None:
    p.add_argument("--platform", type=str.upper, choices=("ILLUMINA", "PACBIO", "ONT"),
                   help="sequencing platform of every read group (its error-model defaults and thresholds) "
                        "[each read group's @RG PL]")


def _cmd_model(args: argparse.Namespace) -> int:
    from .caller import _bam_list
    from .error_model import learn_error_model, write_error_model
    from .preflight import open_checked
    from .regions import resolve_regions

    bams = _bam_list(_bam_inputs(args))
    _, contigs = open_checked(bams[0] if len(bams) == 1 else bams, args.fasta_ref, None)
    regions = resolve_regions(contigs, args.regions, args.regions_file)
    models = learn_error_model(bams, args.fasta_ref, regions, min_mq=max(20, args.min_mq), threads=args.threads,
                               sample_bp=args.sample_bp, platform=args.platform or "")
    write_error_model(args.output, models)
    for m in models:
        log.info("%s (%s): %d loci, %d reads; %s", m.read_group, m.sample, m.loci, m.reads, m.fit)
    return 0


def _gq_bands(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--gq-bands {text}: expected comma-separated integers, e.g. 1,10,20,30,40,50,60,99") from None


def _bam_inputs(args: argparse.Namespace) -> list[str]:
    """The BAM/CRAM paths of the command line, then those of -b FILE (one per line), in order."""
    bams = list(args.bam)
    if args.bam_list:
        bams += _paths_in(args.bam_list, "BAM list")
    if not bams:
        raise InputError("no BAM/CRAM given: name them after the options, or list them in a file with -b FILE")
    return bams


def _cmd_genotype(args: argparse.Namespace) -> int:
    from .gvcf.genotype import genotype_gvcfs
    from .options import CallOptions

    gvcfs = list(args.gvcf)
    if args.list:
        gvcfs += _paths_in(args.list, "gVCF list")
    if not gvcfs:
        raise InputError("no gVCF given: name them after the options, or list them in a file with -l FILE")
    with _dask_client(args.dask) as client:
        genotype_gvcfs(gvcfs, args.fasta_ref, args.output, regions=args.regions, bed=args.regions_file,
                       threads=args.threads, client=client, ped=args.ped, shard_size=args.shard_size,
                       options=CallOptions(min_qual=args.min_qual, low_qual=args.low_qual,
                                           de_novo_prior=args.de_novo_prior),
                       command=" ".join(["gmscall", *sys.argv[1:]]), resume=args.resume)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from .gvcf.check import check_gvcf

    gvcfs = list(args.gvcf)
    if args.list:
        gvcfs += _paths_in(args.list, "gVCF list")
    if not gvcfs:
        raise InputError("no gVCF given: name them after the options, or list them in a file with -l FILE")
    if args.max_problems < 1:
        raise InputError(f"--max-problems {args.max_problems}: give at least 1")
    if args.regions_file:  # not text: one line for the run (its lines are read against each gVCF's contigs)
        from .errors import text_of

        try:
            text_of(Path(args.regions_file).read_bytes(), f"BED file {args.regions_file}")
        except OSError as e:
            raise InputError(f"{args.regions_file}: cannot read BED file ({e.strerror})") from None
    if args.fasta_ref is not None:  # a reference that cannot be read: one line for the run
        from .gvcf.check import check_reference

        check_reference(args.fasta_ref)
    failed, total = [], 0
    for path in gvcfs:
        try:
            res = check_gvcf(path, args.fasta_ref, regions=args.regions, bed=args.regions_file,
                             max_problems=args.max_problems)
        except InputError as e:  # unreadable: this file's one problem, the others are still checked
            print(f"gmscall: {e}", file=sys.stderr)
            print(f"{path}: 1 problem: cannot be read")
            failed.append(path)
            total += 1
            continue
        for p in res.problems:
            print(f"gmscall: {p.text(path)}", file=sys.stderr)
        if res.more:
            print(f"gmscall: {path}: {res.more} more problems not listed (--max-problems {args.max_problems})",
                  file=sys.stderr)
        print(res.summary() + (f" ({res.seconds:.1f} s)" if args.verbose else ""))
        if not res.ok:
            failed.append(path)
            total += res.n_problems
    sys.stdout.flush()
    if failed:
        which = failed[0] if len(failed) == 1 else f"{len(failed)} of {len(gvcfs)} gVCFs"
        raise InputError(f"{which}: {total} problem{'s' if total != 1 else ''} (listed above, with their lines); "
                         "make the gVCF again with 'gmscall call --gvcf' or restore it from a good copy")
    return 0


def _cmd_somatic(args: argparse.Namespace) -> int:
    from .options import SomaticOptions
    from .somatic import call_somatic

    opts = SomaticOptions(min_bq=args.min_bq, min_mq=args.min_mq, max_depth=args.max_depth,
                          assemble=not args.no_assembly, tlod_pass=args.tlod_pass, nlod_min=args.nlod_min,
                          min_tumor_af=args.min_tumor_af, normal_contamination=args.normal_contamination)
    progress = _progress_bar() if sys.stderr.isatty() else None
    with _dask_client(args.dask) as client:
        call_somatic(args.tumor, args.fasta_ref, args.regions, normal=args.normal, bed=args.regions_file,
                     output=args.output, threads=args.threads, backend=args.backend, options=opts,
                     shard_size=args.shard_size, client=client, command=" ".join(["gmscall", *sys.argv[1:]]),
                     progress=progress, resume=args.resume)
    return 0


@contextmanager
def _dask_client(address: str | None) -> Iterator[Any]:
    """A client of the Dask scheduler at `address` for the run (None without --dask), then closed."""
    if not address:
        yield None
        return
    from .scheduler import connect_dask

    client = connect_dask(address)
    try:
        yield client
    finally:
        client.close()


def _paths_in(listing: str, what: str) -> list[str]:
    from .errors import text_of

    try:
        data = Path(listing).read_bytes()
    except OSError as e:
        raise InputError(f"{listing}: cannot read the {what} ({e.strerror})") from None
    text = text_of(data, f"{what} {listing}")
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def _progress_bar():
    """Shards done and Mb/s on one terminal line (only when stderr is a terminal)."""
    import time

    t0 = time.perf_counter()

    def show(done: int, total: int, bases: int) -> None:
        rate = bases / 1e6 / max(time.perf_counter() - t0, 1e-9)
        width = 30
        fill = width * done // max(total, 1)
        sys.stderr.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} shards, {rate:.1f} Mb/s")
        sys.stderr.flush()

    return show


def _cmd_demo(args: argparse.Namespace) -> int:
    """Synthetic genome with planted variants -> reads -> gmscall call -> recall/precision."""
    import tempfile
    import time

    from .caller import call
    from .evaluation import evaluate, format_table
    from .synth import make_dataset

    with tempfile.TemporaryDirectory(prefix="gmscall-demo-") as tmp:
        out_dir = args.out or tmp
        t0 = time.perf_counter()
        ds = make_dataset(out_dir, length=args.length, depth=args.depth, seed=args.seed)
        t1 = time.perf_counter()
        print(f"demo: {ds.length:,} bp synthetic genome, {len(ds.truth)} planted variants, "
              f"{len(ds.reads):,} reads at {args.depth}x ({t1 - t0:.1f} s)")
        vcf = f"{out_dir}/calls.vcf.gz"
        call(str(ds.bam), str(ds.fasta), output=vcf, threads=args.threads, backend=args.backend,
             command="gmscall demo")
        t2 = time.perf_counter()
        print(f"demo: gmscall call -> {vcf if args.out else 'calls.vcf.gz'} ({t2 - t1:.1f} s)")
        res = evaluate(str(ds.truth_vcf), vcf, str(ds.fasta))
        print(format_table(res))
    return 0


def _cmd_qc(args: argparse.Namespace) -> int:
    from .qc import run_qc

    report = run_qc(args.vcf, ped=args.ped, bams=args.bam or (), out_dir=args.output, ploidy=args.ploidy,
                    min_gq=args.min_gq, min_dp=args.min_dp, regions_bed=args.regions_file)
    pairs = report["relatedness"]["pairs"]
    for x in report["sex"]:
        print(f"sex\t{x['sample']}\tPED {x['ped_sex'] or '-'}\tinferred {x['inferred'] or '-'}\t{x['status']}")
    for p in pairs:
        kin = "NA" if p["kinship"] is None else f"{p['kinship']:.3f}"
        print(f"pair\t{p['sample1']}\t{p['sample2']}\tkinship {kin}\tIBS0 {p['ibs0']:.4f}\t"
              f"{p['relationship'] or '-'}\tPED {p['expected'] or '-'}\t{p['status']}")
    for m in report["mismatches"]:
        print(f"MISMATCH\t{m}")
    print(f"gmscall qc: {len(report['mismatches'])} mismatch(es) with the PED; report in {args.output}/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from .options import DEFAULT_SHARD, GENOTYPE_SHARD, CallOptions

    parser = argparse.ArgumentParser(prog="gmscall", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gmscall {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("info", help="version, build features and CUDA devices")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("pileup", help="per-position allele counts as TSV on stdout")
    _add_pileup_args(p)
    p.set_defaults(func=_cmd_pileup)

    p = sub.add_parser("call", help="call SNVs and indels to VCF (one sample, or jointly a family or cohort)")
    p.add_argument("bam", nargs="*", help="indexed BAMs or CRAMs: one VCF column per sample (@RG SM)")
    p.add_argument("-f", "--fasta-ref", required=True, help="reference FASTA (indexed with samtools faidx)")
    p.add_argument("-b", "--bam-list", help="file with one BAM/CRAM path per line (after those given as arguments)")
    _add_regions_and_output(p)
    _add_execution(p, threads=1)
    _add_read_filters(p)
    _add_qual_thresholds(p)
    _add_sharding(p, DEFAULT_SHARD)
    p.add_argument("--no-assembly", action="store_true",
                   help="no local assembly of active regions: haplotypes from the reads' CIGAR alleles only")
    p.add_argument("--no-phase", action="store_true",
                   help="no read-backed phasing: unphased GTs (0/1) and no FORMAT PS")
    p.add_argument("--haplotag", metavar="BAM",
                   help="also write the input BAM's reads with HP/PS tags of their phased blocks (+ .bai), as "
                        "whatshap haplotag: one BAM of one sample")
    p.add_argument("--sample", help="sample name in the VCF of a single one-sample BAM [the BAM's @RG SM]")
    p.add_argument("--ped", help="pedigree (PLINK/GATK 6-column PED): trio-aware genotypes, de novo qualities")
    p.add_argument("--de-novo-prior", type=float, default=CallOptions.de_novo_prior,
                   help=f"with --ped: prior that a child's genotype breaks Mendelian transmission "
                        f"[{CallOptions.de_novo_prior:g}]")
    p.add_argument("--ploidy", help="GRCh38, GRCh37 or a bcftools ploidy file (CHROM FROM TO SEX PLOIDY): "
                                    "haploid chrX/chrY in males, no chrY in females [diploid everywhere]")
    p.add_argument("--sex", action="append", metavar="SAMPLE=M|F",
                   help="a sample's sex for --ploidy (repeatable) [from the PED, else from X/Y depth]")
    p.add_argument("--gvcf", action="store_true",
                   help="gVCF: every base in a variant record or a reference block, <NON_REF> alleles (one sample)")
    p.add_argument("--gq-bands", default="1,10,20,30,40,50,60,99",
                   help="lower GQ bounds of the gVCF reference-block bands [1,10,20,30,40,50,60,99]")
    p.add_argument("--error-model", metavar="FILE",
                   help="reuse the indel error model of FILE (gmscall model, or a VCF gmscall wrote) "
                        "[learnt from the reads, per read group]")
    p.add_argument("--no-error-model", action="store_true",
                   help="no learnt indel error model: the default gap penalties")
    p.add_argument("--indel-screen-qual", type=float, default=CallOptions.indel_screen_qual, metavar="Q",
                   help="leave out (no pair-HMM) a haplotype window of one-unit indels at tandem repeats whose "
                        "reads the learnt error model explains: every allele's QUAL from its read counts below Q; "
                        f"0: align every window; at most --min-qual [{CallOptions.indel_screen_qual:.2f}; not with "
                        "--gvcf]")
    p.add_argument("--no-paralog-model", action="store_true",
                   help="no mapping-artefact hypothesis for SNVs (reads of a paralogous copy placed here): "
                        "low-fraction SNVs whose ALT reads carry other low-fraction SNVs are called as hets")
    p.add_argument("--paralog-prior", type=float, default=CallOptions.paralog_prior,
                   help=f"prior of the mapping-artefact hypothesis per candidate SNV [{CallOptions.paralog_prior:g}]")
    _add_platform(p)
    p.add_argument("--long-read-assembly", action="store_true",
                   help="local assembly also where every sample is PACBIO or ONT [off there: long reads' CIGARs "
                        "hold their alleles]")
    _add_resume(p)
    p.set_defaults(func=_cmd_call)

    p = sub.add_parser("model", help="learn the indel error model of each read group (for call --error-model)")
    p.add_argument("bam", nargs="*", help="indexed BAMs or CRAMs")
    p.add_argument("-f", "--fasta-ref", required=True, help="reference FASTA (indexed with samtools faidx)")
    p.add_argument("-b", "--bam-list", help="file with one BAM/CRAM path per line (after those given as arguments)")
    p.add_argument("-r", "--regions", action="append", help="region CONTIG[:START-END] to sample (repeatable) "
                                                            "[the whole reference]")
    p.add_argument("-R", "--regions-file", help="BED file of regions to sample")
    p.add_argument("-o", "--output", default="-", help="model file: one ##gmscallErrorModel line per read group [-]")
    p.add_argument("-q", "--min-MQ", type=int, default=20, dest="min_mq", help="min mapping quality (>= 20) [20]")
    p.add_argument("--sample-bp", type=int, default=192_000,
                   help="reference bases whose reads are counted, spread evenly over the regions [192000]")
    p.add_argument("--threads", type=int, default=1, help="htslib decompression threads + 1 [1]")
    _add_platform(p)
    p.set_defaults(func=_cmd_model)

    p = sub.add_parser("genotype", help="joint genotyping of one-sample gVCFs (gmscall call --gvcf) into one VCF")
    p.add_argument("gvcf", nargs="*", help="bgzipped, tabix-indexed gVCFs, one sample each")
    p.add_argument("-f", "--fasta-ref", required=True, help="the reference FASTA the gVCFs were made with")
    p.add_argument("-l", "--list", help="file with one gVCF path per line (after those given as arguments)")
    _add_regions_and_output(p)
    p.add_argument("--threads", type=int, default=1, help="worker threads [1]")
    p.add_argument("--ped", help="pedigree (PED): trio-aware genotypes, de novo qualities")
    p.add_argument("--de-novo-prior", type=float, default=CallOptions.de_novo_prior,
                   help=f"with --ped: prior of a non-Mendelian child genotype [{CallOptions.de_novo_prior:g}]")
    _add_qual_thresholds(p)
    _add_sharding(p, GENOTYPE_SHARD)
    _add_resume(p)
    p.set_defaults(func=_cmd_genotype)

    p = sub.add_parser("check", help="read and validate every record of gVCFs before they join a cohort "
                                     "(every problem with its line; exit 2 if any)")
    p.add_argument("gvcf", nargs="*", help="gVCFs (bgzipped and indexed, one sample each)")
    p.add_argument("-f", "--fasta-ref", help="check REF against this reference FASTA [REF not checked]")
    p.add_argument("-l", "--list", help="file with one gVCF path per line (after those given as arguments)")
    p.add_argument("-r", "--regions", action="append",
                   help="a region the gVCF must cover (repeatable; as given to gmscall call) "
                        "[no gap between the first and last line of each contig]")
    p.add_argument("-R", "--regions-file", help="BED file of the regions the gVCF must cover")
    p.add_argument("--max-problems", type=int, default=1000,
                   help="problems listed per gVCF; the rest are counted [1000]")
    p.set_defaults(func=_cmd_check)

    from .options import SomaticOptions

    p = sub.add_parser("somatic", help="somatic SNVs, indels and ITDs of a tumour, against its normal or tumour-only")
    p.add_argument("-f", "--fasta-ref", required=True, help="reference FASTA (indexed with samtools faidx)")
    p.add_argument("--tumor", "--tumour", required=True, help="the tumour's indexed BAM/CRAM")
    p.add_argument("--normal", help="the patient's normal BAM/CRAM [none: tumour-only]")
    _add_regions_and_output(p)
    _add_execution(p, threads=1)
    _add_read_filters(p)
    p.add_argument("--tlod-pass", type=float, default=SomaticOptions.tlod_pass,
                   help=f"min TLOD of a PASS call [{SomaticOptions.tlod_pass:g}]")
    p.add_argument("--nlod-min", type=float, default=SomaticOptions.nlod_min,
                   help=f"min NLOD (normal lacks the allele) of a PASS call [{SomaticOptions.nlod_min:g}]")
    p.add_argument("--min-tumor-af", type=float, default=SomaticOptions.min_tumor_af,
                   help=f"min tumour allele fraction of a PASS call [{SomaticOptions.min_tumor_af:g}]")
    p.add_argument("--normal-contamination", type=float, default=SomaticOptions.normal_contamination,
                   help=f"share of tumour cells the normal may carry [{SomaticOptions.normal_contamination:g}]")
    p.add_argument("--no-assembly", action="store_true", help="no local assembly (CIGAR candidates only)")
    _add_sharding(p, DEFAULT_SHARD)
    _add_resume(p)
    p.set_defaults(func=_cmd_somatic)

    p = sub.add_parser("demo", help="call a built-in synthetic example and score it against its truth")
    p.add_argument("--length", type=int, default=200_000, help="genome length [200000]")
    p.add_argument("--depth", type=float, default=30, help="read depth [30]")
    p.add_argument("--seed", type=int, default=1, help="random seed [1]")
    _add_execution(p, threads=2)
    p.add_argument("--out", help="keep the demo's files in this folder")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("qc", help="sample identity and quality of gmscall's outputs (sex, relatedness, "
                                  "Mendelian errors, callable bases) as TSV/JSON and MultiQC content")
    p.add_argument("vcf", nargs="+", help="a joint VCF and/or one-sample gVCFs (gmscall call/genotype output)")
    p.add_argument("--ped", help="pedigree (PED) to check the sexes and relationships against")
    p.add_argument("--bam", action="append", help="a sample's BAM/CRAM: X/Y depth from its index (repeatable)")
    p.add_argument("-o", "--output", default="gmscall-qc", help="output folder [gmscall-qc]")
    p.add_argument("--ploidy", help="GRCh38, GRCh37 or a ploidy file: where chrX is haploid in males (the "
                                    "PARs) [the VCF's ##gmscallPloidy, else by chrX's length]")
    p.add_argument("--min-gq", type=int, default=20, help="GQ of a well-called genotype and a callable base [20]")
    p.add_argument("--min-dp", type=int, default=10, help="depth of a well-called genotype and a callable base [10]")
    p.add_argument("-R", "--regions-file", help="BED: the callable fraction of these regions (gVCF)")
    p.set_defaults(func=_cmd_qc)

    from .evaluation import add_eval_arguments, run_eval

    p = sub.add_parser("eval", help="compare a call VCF with a truth VCF (GA4GH-style, SNVs and indels)")
    add_eval_arguments(p)
    p.set_defaults(func=run_eval)
    return parser


def _fix_malloc_mmap_threshold(threshold: int = 1 << 20) -> None:
    """glibc raises its mmap threshold each time a large block is freed, after which the per-shard
    buffers that grow on a deeper shard are carved from the heap and their old space is kept:
    peak memory then creeps up with the number of shards seen, not with their size. A fixed
    threshold returns every large buffer to the system when it is replaced (no effect elsewhere)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-3, threshold)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    _fix_malloc_mmap_threshold()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="gmscall: %(message)s")
    if not args.verbose:
        # gmscall reports every htslib failure itself, with the file and the fix; htslib's own
        # "[E::...]" lines would only repeat it less clearly.
        from . import _core

        _core.set_htslib_quiet(True)
    try:
        status = int(args.func(args) or 0)
        _flush_stdout()  # what print() left in Python's buffer: a full disk must not pass unseen
        return status
    except GmsError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        print("gmscall: interrupted", file=sys.stderr)
        _detach_stdout()
        return 130
    except OSError as e:  # an OS error no writer above has named (print() to a closed pipe...)
        if e.errno == errno.EPIPE:
            return _fail(str(output_error(STDOUT_NAME, e)))
        where = e.filename if e.filename is not None else "gmscall"
        return _fail(f"{where}: {e.strerror or e}")


def _fail(message: str) -> int:
    """The one-line error on stderr, exit status 2."""
    print(f"gmscall: error: {message}", file=sys.stderr)
    _detach_stdout()
    return 2


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as e:
        raise output_error(STDOUT_NAME, e) from None


def _detach_stdout() -> None:
    """After a failed run, standard output may be a closed pipe or a full disk: its last flush at
    exit would print a second error. Drop what is buffered and point it at /dev/null."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    sys.exit(main())
