"""VCF 4.2 output: header, records in genome order, bgzip + tabix for .gz, atomic replace."""

from __future__ import annotations

import math
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pysam
from pysam.libcbgzf import BGZFile

from .preflight import check_output

FILTERS = {1: "LowQual"}


def header_lines(contigs: Sequence[tuple[str, int]], sample: str, reference: str, version: str,
                 command: str, backend: str) -> list[str]:
    lines = [
        "##fileformat=VCFv4.2",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=LowQual,Description="QUAL below the low-quality threshold (--low-qual)">',
        f"##source=gmscall {version}",
        f"##gmscallVersion={version}",
        f"##gmscallCommand={command}",
        f"##gmscallBackend={backend}",
        f"##reference=file://{os.path.abspath(reference)}",
    ]
    lines += [f"##contig=<ID={name},length={length}>" for name, length in contigs]
    lines += [
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Read depth at the site after filters">',
        '##INFO=<ID=MQ,Number=1,Type=Float,Description="RMS mapping quality of the reads at the site">',
        ('##INFO=<ID=SOR,Number=1,Type=Float,Description="Strand odds ratio of reference vs alternate '
         'supporting reads (GATK definition)">'),
        '##INFO=<ID=HAP,Number=0,Type=Flag,Description="Genotyped with the haplotype (pair-HMM) model">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality (Phred, capped at 99)">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Reads supporting each allele">',
        ('##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled genotype likelihoods, '
         'normalised to 0">'),
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}",
    ]
    return lines


def _fmt_float(x: float, digits: int = 2) -> str:
    if math.isnan(x) or math.isinf(x):
        return "."
    s = f"{x:.{digits}f}"
    return "0" if s in ("-0.00", "0.00") else s


def format_records(contig: str, recs: dict) -> list[str]:
    """VCF lines of one shard's records (C++ gives them sorted)."""
    lines = []
    for k in range(len(recs["pos"])):
        filt = int(recs["filter"][k])
        filter_txt = "PASS" if filt == 0 else ";".join(v for b, v in FILTERS.items() if filt & b)
        info = f"DP={int(recs['dp'][k])};MQ={_fmt_float(float(recs['mq'][k]))};SOR={_fmt_float(float(recs['sor'][k]), 3)}"
        if recs["haplotype_model"][k]:
            info += ";HAP"
        g0, g1 = int(recs["gt"][k][0]), int(recs["gt"][k][1])
        sample = (f"{g0}/{g1}:{int(recs['gq'][k])}:{int(recs['dp'][k])}:"
                  f"{','.join(map(str, recs['ad'][k]))}:{','.join(map(str, recs['pl'][k]))}")
        lines.append(f"{contig}\t{int(recs['pos'][k]) + 1}\t.\t{recs['ref'][k]}\t{','.join(recs['alts'][k])}\t"
                     f"{_fmt_float(float(recs['qual'][k]))}\t{filter_txt}\t{info}\tGT:GQ:DP:AD:PL\t{sample}")
    return lines


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def open_output(path: str | Path | None, tmp_dir: str | Path | None = None) -> Iterator[IO[bytes]]:
    """Yields a binary stream that the records are streamed into. A file is written under a
    temporary name (in `tmp_dir`, default its own folder; same file system) and renamed, with its
    index, only when complete; on error nothing is left behind. A .gz name is bgzipped while it is
    written (the same bytes as bgzip of the whole text) and tabix-indexed at the end."""
    if path is None or str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    check_output(path)
    path = Path(path)
    folder = Path(tmp_dir) if tmp_dir is not None else (path.parent if str(path.parent) else Path("."))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would be kept by the rename
    tmp_tbi = tmp + ".tbi"
    bgzipped = path.name.endswith(".gz")
    try:
        with (BGZFile(tmp, "wb") if bgzipped else open(tmp, "wb")) as f:
            yield f
        if bgzipped:
            pysam.tabix_index(tmp, preset="vcf", force=True, keep_original=True)
            os.replace(tmp_tbi, str(path) + ".tbi")
        os.replace(tmp, path)
    finally:
        for t in (tmp, tmp_tbi):
            if os.path.exists(t):
                os.unlink(t)
