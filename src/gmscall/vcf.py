"""VCF 4.2 output: header, records in genome order, bgzip + tabix for .gz, atomic replace."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _core
from .errors import output_error
from .preflight import check_output
from .sink import Sink, open_sink, stdout_sink

#: FILTER bits of germline records (core FilterBits): (bit, name, header text); somatic.FILTERS is
#: the same for somatic records
FILTERS: tuple[tuple[int, str, str], ...] = (
    (1, "LowQual", "QUAL below the low-quality threshold (--low-qual)"),
    (2, "StrandBias", ("SNV whose ALT reads keep to one strand with little evidence per read: SOR "
                       "above CallOptions.strand_bias_sor and QD below strand_bias_qd (defaults 3 and 2); "
                       "on ONT reads also an indel whose ALT reads keep to one strand (ont_indel_strand_p)")),
)


def filter_names(bits: int, table: tuple[tuple[int, str, str], ...] = FILTERS) -> list[str]:
    """The FILTER names of a record's bits."""
    return [name for bit, name, _ in table if bits & bit]


def filter_text(bits: int, table: tuple[tuple[int, str, str], ...] = FILTERS) -> str:
    """The FILTER column of a record from its bits."""
    return ";".join(filter_names(bits, table)) or "PASS"
#: zlib level of .gz output: bgzip's (6) for VCFs, so a VCF has the bytes bgzip gives; 2 for gVCFs,
#: which carry ~15x the text: at level 6 deflating them was most of the cost of --gvcf (~22 %
#: larger files, deflated ~2.7x faster).
BGZIP_LEVEL = 6
GVCF_LEVEL = 2
MIN_DE_NOVO_QUAL = 20  # DNQ at which a trio child is listed in INFO DENOVO


@dataclass(frozen=True)
class VcfLayout:
    """The columns and the fields a run writes. One sample without a pedigree keeps the plain
    single-sample layout; several samples add INFO AC/AN/AF, a pedigree DENOVO and FORMAT DNQ."""

    samples: tuple[str, ...]
    trios: bool = False
    gq_bands: tuple[int, ...] | None = None  # a gVCF: reference blocks banded by these GQ bounds
    phase: bool = False  # phased GTs (a|b) with FORMAT PS on the records that have them

    @classmethod
    def of(cls, cohort: Any, gq_bands: Sequence[int] | None = None, phase: bool = False) -> VcfLayout:
        return cls(tuple(cohort.samples), bool(cohort.trios), None if gq_bands is None else tuple(gq_bands),
                   phase)

    @property
    def gvcf(self) -> bool:
        return self.gq_bands is not None

    @property
    def cohort(self) -> bool:
        return len(self.samples) > 1


def preamble(contigs: Sequence[tuple[str, int]], reference: str, version: str, command: str, backend: str,
             filters: Sequence[tuple[str, str]], extra: Sequence[str] = ()) -> list[str]:
    """The header lines every gmscall VCF opens with: format, FILTERs (PASS first), the run
    (version, command, backend, then `extra`), reference and contigs."""
    lines = ["##fileformat=VCFv4.2"]
    lines += [f'##FILTER=<ID={name},Description="{text}">' for name, text in filters]
    lines += [
        f"##source=gmscall {version}",
        f"##gmscallVersion={version}",
        f"##gmscallCommand={command}",
        f"##gmscallBackend={backend}",
        *extra,
        f"##reference=file://{os.path.abspath(reference)}",
    ]
    return lines + [f"##contig=<ID={name},length={length}>" for name, length in contigs]


def header_lines(contigs: Sequence[tuple[str, int]], layout: VcfLayout, reference: str, version: str,
                 command: str, backend: str, extra: Sequence[str] = ()) -> list[str]:
    lines = preamble(contigs, reference, version, command, backend,
                     [("PASS", "All filters passed"), *((name, text) for _, name, text in FILTERS)],
                     extra)
    if layout.gvcf:
        lines += _gvcf_header(layout.gq_bands or ())
    if layout.cohort:
        lines += [
            '##INFO=<ID=AC,Number=A,Type=Integer,Description="ALT alleles in the called genotypes">',
            '##INFO=<ID=AN,Number=1,Type=Integer,Description="Alleles in the called genotypes">',
            '##INFO=<ID=AF,Number=A,Type=Float,Description="ALT allele frequency in the called genotypes">',
        ]
    lines += [
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Read depth at the site after filters">',
        '##INFO=<ID=MQ,Number=1,Type=Float,Description="RMS mapping quality of the reads at the site">',
        ('##INFO=<ID=SOR,Number=1,Type=Float,Description="Strand odds ratio of reference vs alternate '
         'supporting reads (GATK definition)">'),
        '##INFO=<ID=HAP,Number=0,Type=Flag,Description="Genotyped with the haplotype (pair-HMM) model">',
    ]
    if layout.trios:
        lines.append(f'##INFO=<ID=DENOVO,Number=.,Type=String,Description="Children of trios whose ALT allele '
                     f'is absent from both parents (DNQ >= {MIN_DE_NOVO_QUAL})">')
    lines += [
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype quality (Phred, capped at 99)">',
        '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Reads supporting each allele">',
        ('##FORMAT=<ID=PL,Number=G,Type=Integer,Description="Phred-scaled genotype likelihoods, '
         'normalised to 0">'),
    ]
    if layout.gvcf:
        lines.append('##FORMAT=<ID=GL,Number=G,Type=Float,Description="Genotype likelihoods (log10, '
                     'normalised to 0): the PL before rounding, for genotyping from the gVCF">')
    if layout.trios:
        lines.append('##FORMAT=<ID=DNQ,Number=1,Type=Integer,Description="De novo quality of a trio child\'s '
                     'genotype: Phred probability that an ALT allele it carries came from neither parent">')
    if layout.phase:
        lines.append('##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set: POS of the first '
                     'heterozygous call of the read-backed block that the phased GT (a|b) belongs to">')
    lines.append("\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                            *layout.samples]))
    return lines


def _gvcf_header(bands: Sequence[int]) -> list[str]:
    """GATK's gVCF header lines: <NON_REF>, END, MIN_DP and one ##GVCFBlock line per GQ band."""
    lines = [('##ALT=<ID=NON_REF,Description="Represents any possible alternative allele not already '
              'represented at this location by REF and ALT">'),
             '##INFO=<ID=END,Number=1,Type=Integer,Description="Stop position of the interval">',
             ('##INFO=<ID=REPEAT_ALTS,Number=1,Type=Integer,Description="The last N ALTs before <NON_REF> are '
              'tandem-repeat alleles that the reads did not make candidates (lengths one or two units from '
              'the others, or alleles on too few reads), listed with their likelihoods so that a cohort '
              'where another sample has them can genotype them; not called here">'),
             '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum DP observed within the GVCF block">']
    bounds = [0, *bands, 100]
    for lo, hi in zip(bounds, bounds[1:]):
        if hi > lo:
            lines.append(f"##GVCFBlock{lo}-{hi}=minGQ={lo}(inclusive),maxGQ={hi}(exclusive)")
    return lines


def _fmt_float(x: float, digits: int = 2) -> str:
    if math.isnan(x) or math.isinf(x):
        return "."
    s = f"{x:.{digits}f}"
    return "0" if s in ("-0.00", "0.00") else s


def _genotype(gt: Any, flip: int = -1) -> str:
    """'0/1', '1' (haploid), './.' or '.' (no call), '.' (ploidy 0); phased ('0|1', or '1|0' with
    flip 1) when flip >= 0."""
    alleles = [int(a) for a in gt if a != -2]
    if not alleles:
        return "."
    if flip >= 0:
        a, b = (alleles[1], alleles[0]) if flip else (alleles[0], alleles[1])
        return f"{a}|{b}"
    return "/".join("." if a < 0 else str(a) for a in alleles)


def _gl_text(gl: Sequence[float]) -> str:
    """FORMAT GL: log10 likelihoods normalised to a maximum of 0, 4 decimals (PL's precision x 1000)."""
    if not gl:
        return "."
    top = max(gl)
    out = []
    for v in gl:
        t = "-999999" if math.isinf(v) else f"{v - top:.4f}"
        out.append("0" if t in ("0.0000", "-0.0000") else t)
    return ",".join(out)


def _sample_column(recs: dict, k: int, j: int, trios: bool, gvcf: bool = False, phased: bool = False) -> str:
    gt = recs["gt"][k][j]
    called = gt[0] >= 0
    ad, pl = recs["ad"][k][j], recs["pl"][k][j]
    ps = int(recs["ps"][k][j]) if phased else 0
    gt_text = _genotype(gt, int(recs["phase_flip"][k][j]) if ps > 0 else -1)
    fields = [gt_text, str(int(recs["gq"][k][j])) if called else ".", str(int(recs["sample_dp"][k][j])),
              ",".join(map(str, ad)) if called else ".", ",".join(map(str, pl)) if called else "."]
    if gvcf:
        fields.append(_gl_text(recs["gl"][k][j]) if called and "gl" in recs else ".")
    if trios:
        dnq = int(recs["dnq"][k][j])
        fields.append(str(dnq) if dnq >= 0 else ".")
    if phased:
        fields.append(str(ps) if ps > 0 else ".")
    return ":".join(fields)


def _allele_counts(recs: dict, k: int, n_alts: int) -> tuple[list[int], int]:
    ac = [0] * n_alts
    an = 0
    for gt in recs["gt"][k]:
        for a in gt:
            if a >= 0:
                an += 1
                if a > 0:
                    ac[int(a) - 1] += 1
    return ac, an


class ShardFormatter:
    """Turns shard results into VCF text in genome order. For a gVCF it interleaves the reference
    blocks with the records and holds each shard's last block back, so that a block that the
    next shard continues (same GQ band, depth class and ploidy) is merged: the blocks come out
    as one pass over the genome would make them, whatever the shard size."""

    def __init__(self, layout: VcfLayout) -> None:
        self.layout = layout
        self.pending: dict | None = None  # the last block seen, not yet written
        self.deflate_level = GVCF_LEVEL if layout.gvcf else BGZIP_LEVEL

    def shard_text(self, contig: str, recs: dict) -> bytes:
        lines = format_records(contig, recs, self.layout)
        if self.layout.gvcf:
            lines = self._with_blocks(contig, recs, lines)
        return ("\n".join(lines) + "\n").encode() if lines else b""

    def finish(self) -> bytes:
        return (_block_line(self.pending) + "\n").encode() if self.pending else b""

    def _with_blocks(self, contig: str, recs: dict, record_lines: list[str]) -> list[str]:
        """The C++ core formats the blocks between records; only the blocks at the shard's two
        edges come as data, to be merged with a neighbouring shard's block of the same key."""
        out: list[str] = []
        head, tail = recs["gvcf_head"], recs["gvcf_tail"]
        if head is not None:
            head = {"contig": contig, **head}
            p = self.pending
            if p and p["contig"] == contig and p["end"] == head["beg"] and p["key"] == head["key"]:
                _merge_into(p, head)
            else:
                self._flush(out)
                self.pending = head
        for g, text in enumerate(recs["gvcf_gaps"]):
            if text:
                self._flush(out)
                out.append(text)
            if g < len(record_lines):
                self._flush(out)
                out.append(record_lines[g])
        if tail is not None:
            self._flush(out)
            self.pending = {"contig": contig, **tail}
        return out

    def _flush(self, out: list[str]) -> None:
        if self.pending is not None:
            out.append(_block_line(self.pending))
            self.pending = None


def _merge_into(block: dict, nxt: dict) -> None:
    """Extends `block` by the adjacent `nxt`: minimum GQ (its PL with it; the leftmost on a tie),
    minimum DP, summed depth."""
    if nxt["gq"] < block["gq"]:
        block["gq"], block["pl"] = nxt["gq"], nxt["pl"]
    block["min_dp"] = min(block["min_dp"], nxt["min_dp"])
    block["dp_sum"] += nxt["dp_sum"]
    block["end"] = nxt["end"]


def _block_line(b: dict) -> str:
    """The line of a block merged here, formatted by the same C++ as every other block line."""
    return _core.block_line(b["contig"], b["beg"], b["end"], b["gq"], b["min_dp"], b["dp_sum"], b["ploidy"], b["ref"],
                            b["pl"])


def format_records(contig: str, recs: dict, layout: VcfLayout) -> list[str]:
    """VCF lines of one shard's records (C++ gives them sorted)."""
    lines = []
    fmt = "GT:GQ:DP:AD:PL" + (":GL" if layout.gvcf else "") + (":DNQ" if layout.trios else "")
    ps = recs.get("ps") if layout.phase else None
    for k in range(len(recs["pos"])):
        filt = int(recs["filter"][k])
        filter_txt = filter_text(filt)
        alts = recs["alts"][k]
        info = ""
        if layout.cohort:
            ac, an = _allele_counts(recs, k, len(alts))
            af = ",".join(f"{c / an:.4g}" if an else "." for c in ac)
            info = f"AC={','.join(map(str, ac))};AN={an};AF={af};"
        info += f"DP={int(recs['dp'][k])};MQ={_fmt_float(float(recs['mq'][k]))};SOR={_fmt_float(float(recs['sor'][k]), 3)}"
        if recs["haplotype_model"][k]:
            info += ";HAP"
        repeat_alts = recs.get("repeat_alts")
        if repeat_alts is not None and repeat_alts[k] > 0:
            info += f";REPEAT_ALTS={int(repeat_alts[k])}"
        if layout.trios:
            children = [layout.samples[j] for j, q in enumerate(recs["dnq"][k]) if q >= MIN_DE_NOVO_QUAL]
            if children:
                info += ";DENOVO=" + ",".join(children)
        phased = ps is not None and bool((ps[k] > 0).any())
        columns = "\t".join(_sample_column(recs, k, j, layout.trios, layout.gvcf, phased)
                            for j in range(len(layout.samples)))
        lines.append(f"{contig}\t{int(recs['pos'][k]) + 1}\t.\t{recs['ref'][k]}\t{','.join(alts)}\t"
                     f"{_fmt_float(float(recs['qual'][k]))}\t{filter_txt}\t{info}\t{fmt + ':PS' if phased else fmt}"
                     f"\t{columns}")
    return lines


class _ParallelBgzf:
    """A BGZF writer that deflates its 64 KB blocks on worker threads (zlib releases the GIL) and
    writes them in order: the bytes of htslib's bgzip (same block size, zlib level and window),
    made while the next shards are computed. A gVCF is ~15x the text of a VCF. With `index`, the
    tabix index is built from the blocks as they are written (the bytes tabix gives for the file)
    and saved as `path`.tbi on close."""

    BLOCK = 0xFF00  # htslib's BGZF_BLOCK_SIZE: uncompressed bytes per block
    EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")

    def __init__(self, path: str, workers: int = 2, index: bool = False, level: int = BGZIP_LEVEL,
                 name: object = None) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._path = path
        self._name = path if name is None else name  # the file the user knows, in error messages
        self._fh = open_sink(path, self._name)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gmscall-bgzf")
        self._pending: list = []  # (uncompressed block, future of its BGZF bytes), in file order
        self._buf = bytearray()
        self._offset = 0
        self._index = _core.TabixStream() if index else None
        self._level = level

    def _block(self, data: bytes) -> bytes:
        import struct
        import zlib

        z = zlib.compressobj(self._level, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
        body = z.compress(data) + z.flush()
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00" + struct.pack("<H", len(body) + 25)
        return header + body + struct.pack("<II", zlib.crc32(data), len(data))

    def _submit(self, data: bytes) -> None:
        self._pending.append((data, self._pool.submit(self._block, data)))

    def _write_next(self) -> None:
        data, fut = self._pending.pop(0)
        block = fut.result()
        self._fh.write(block)
        if self._index is not None:
            self._index.add_block(data, self._offset, self._offset + len(block))
        self._offset += len(block)

    def write(self, data: bytes | memoryview) -> None:
        self._buf += data
        while len(self._buf) >= self.BLOCK:
            self._submit(bytes(self._buf[:self.BLOCK]))
            del self._buf[:self.BLOCK]
        while self._pending and (len(self._pending) > 8 or self._pending[0][1].done()):
            self._write_next()

    def close(self) -> None:
        try:
            if self._buf:
                self._submit(bytes(self._buf))
                self._buf = bytearray()
            while self._pending:
                self._write_next()
            self._fh.write(self.EOF)
            self._fh.close()
            if self._index is not None:  # after the file: an index is never older than its file
                try:
                    self._index.finish(self._offset, self._path, self._path + ".tbi")
                except OSError as e:  # the C++ core's failed index write, with its errno
                    raise output_error(f"{self._name}.tbi", e) from None
        finally:
            self._pool.shutdown(wait=True)
            self._fh.abandon()

    def __enter__(self) -> _ParallelBgzf:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._fh.abandon()
            return
        self.close()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def open_output(path: str | Path | None, tmp_dir: str | Path | None = None,
                level: int = BGZIP_LEVEL) -> Iterator[Sink]:
    """Yields a binary stream that the records are streamed into. A file is written under a
    temporary name (in `tmp_dir`, default its own folder; same file system) and renamed, with its
    index, only when complete; on error nothing is left behind. A .gz name is BGZF-compressed at
    zlib `level` while it is written (at level 6, the bytes bgzip gives for the whole text) and
    tabix-indexed as its blocks are written. Every write error (a full disk, a quota, a broken
    pipe) is an OutputError naming `path` (sink.Sink)."""
    if path is None or str(path) == "-":
        out = stdout_sink()
        yield out
        out.close()
        return
    check_output(path)
    path = Path(path)
    folder = Path(tmp_dir) if tmp_dir is not None else (path.parent if str(path.parent) else Path("."))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise output_error(path, e) from None
    tmp_tbi = tmp + ".tbi"
    bgzipped = path.name.endswith(".gz")
    try:
        try:
            os.close(fd)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 would be kept by the rename
        except OSError as e:
            raise output_error(path, e) from None
        with (_ParallelBgzf(tmp, index=True, level=level, name=path) if bgzipped else open_sink(tmp, path)) as f:
            yield f
        try:
            if bgzipped:
                os.replace(tmp_tbi, str(path) + ".tbi")
            os.replace(tmp, path)
        except OSError as e:
            if bgzipped and not os.path.exists(tmp_tbi):  # an index without its file: take it away
                Path(str(path) + ".tbi").unlink(missing_ok=True)
            raise output_error(path, e) from None
    finally:
        for t in (tmp, tmp_tbi):
            if os.path.exists(t):
                os.unlink(t)
