"""Input checks before any work starts: each failure names the file, the problem and the fix.

FASTA without a .fai: gmscall builds the index next to the FASTA when that folder is writable
(as samtools does on first use) and fails with the samtools command otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from . import _core
from .errors import InputError, OutputError

log = logging.getLogger("gmscall")

# The 28-byte empty BGZF block that ends every complete BAM (SAM spec 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def check_readable(path: str, what: str) -> None:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: {what} not found")
    if not p.is_file():
        raise InputError(f"{path}: {what} is not a regular file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{path}: {what} is not readable (check its permissions)")


def _index_candidates(path: str) -> list[Path]:
    p = Path(path)
    if p.suffix == ".cram":
        return [Path(path + ".crai"), p.with_suffix(".crai")]
    return [Path(path + ".bai"), Path(path + ".csi"), p.with_suffix(".bai")]


def check_alignment_index(path: str) -> None:
    found = [c for c in _index_candidates(path) if c.exists()]
    if not found:
        raise InputError(f"{path}: no index (.bai/.csi/.crai) found; create one with 'samtools index {path}'")
    if found[0].stat().st_mtime < Path(path).stat().st_mtime:
        raise InputError(f"{path}: index {found[0]} is older than the file (stale index); "
                         f"re-create it with 'samtools index {path}'")


def check_bgzf_eof(path: str, kind: str = "BAM") -> None:
    """A BGZF file (a BAM, a bgzipped VCF) without the EOF block was truncated (an interrupted
    copy or write)."""
    with open(path, "rb") as f:
        magic = f.read(4)
        if magic[:2] != b"\x1f\x8b":
            return  # CRAM or not BGZF: htslib reports what it is
        f.seek(0, os.SEEK_END)
        if f.tell() < len(BGZF_EOF):
            raise InputError(f"{path}: file is too short to be a {kind} (truncated?)")
        f.seek(-len(BGZF_EOF), os.SEEK_END)
        if f.read() != BGZF_EOF:
            raise InputError(f"{path}: the BGZF end-of-file block is missing: the file is truncated; "
                             "copy or write it again")


def ensure_fasta_index(path: str) -> None:
    fai = Path(path + ".fai")
    needs_gzi = path.endswith(".gz")
    gzi = Path(path + ".gzi")
    if fai.exists() and (not needs_gzi or gzi.exists()):
        if fai.stat().st_mtime < Path(path).stat().st_mtime:
            raise InputError(f"{path}: index {fai} is older than the FASTA; re-create it with "
                             f"'samtools faidx {path}'")
        return
    if not os.access(Path(path).parent, os.W_OK):
        raise InputError(f"{path}: no FASTA index (.fai) and its folder is not writable; "
                         f"create it with 'samtools faidx {path}'")
    log.info("indexing %s (no .fai found)", path)
    import pysam

    try:
        pysam.faidx(path)
    except pysam.SamtoolsError as e:
        hint = " (a gzipped FASTA must be compressed with bgzip)" if needs_gzi else ""
        raise InputError(f"{path}: cannot index the FASTA{hint}: {str(e).strip()}") from None


def check_sorted(path: str, header: dict) -> None:
    so = header.get("HD", {}).get("SO")
    if so in ("unsorted", "queryname"):
        raise InputError(f"{path}: header says SO:{so}; sort it by coordinate with "
                         f"'samtools sort -o sorted.bam {path}' and index it")


def _md5_of(fasta: Any, contig: str) -> str:
    return hashlib.md5(fasta.fetch(contig).upper().encode()).hexdigest()


def check_cram_reference(path: str, ref: str, header: dict, contigs: Iterable[str]) -> None:
    """CRAM decodes bases against the reference: M5 tags must match it."""
    import pysam

    wanted = set(contigs)
    with pysam.FastaFile(ref) as fasta:
        for sq in header.get("SQ", []):
            name, m5 = sq.get("SN"), sq.get("M5")
            if m5 and name in wanted and name in fasta.references and _md5_of(fasta, name) != m5.lower():
                raise InputError(f"{path}: contig '{name}' was encoded against a different reference than "
                                 f"{ref} (MD5 mismatch); give the FASTA the CRAM was made with")


def check_output(path: str | os.PathLike | None) -> None:
    if path is None or str(path) == "-":
        return
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{path}: output folder '{folder}' does not exist; create it or write elsewhere")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"{path}: output folder '{folder}' is not writable; fix its permissions or write "
                          "to another folder")
    if p.is_dir():
        raise OutputError(f"{path}: is a folder; give a file name such as calls.vcf.gz")


def parse_header(text: str) -> dict:
    """SAM header text -> {'HD': {...}, 'SQ': [{...}], 'RG': [{...}], ...}."""
    out: dict = {}
    for line in text.splitlines():
        if not line.startswith("@") or line.startswith("@CO"):
            continue
        kind, *fields = line[1:].split("\t")
        tags = dict(f.split(":", 1) for f in fields if ":" in f)
        if kind == "HD":
            out["HD"] = tags
        else:
            out.setdefault(kind, []).append(tags)
    return out


def check_inputs(bam: str, ref: str, output: str | os.PathLike | None = None) -> None:
    """Everything that can be checked before reading reads."""
    check_readable(bam, "alignment file (BAM/CRAM)")
    check_readable(ref, "reference FASTA")
    check_output(output)
    ensure_fasta_index(ref)
    check_bgzf_eof(bam)
    check_alignment_index(bam)
    header = parse_header(_core.read_header_text(bam, ref))
    check_sorted(bam, header)
    if bam.endswith(".cram"):
        check_cram_reference(bam, ref, header, [sq["SN"] for sq in header.get("SQ", [])])


def open_checked(bam: str | Sequence[str], ref: str, output: str | os.PathLike | None = None,
                 ) -> tuple[_core.Session, dict[str, int]]:
    """Runs every check that needs no reads; returns this thread's session (all BAMs) and the
    contigs that every BAM and the FASTA share (a length disagreement is an error)."""
    from .regions import shared_contigs
    from .scheduler import session_for

    bams = [bam] if isinstance(bam, str) else list(bam)
    for b in bams:
        check_inputs(b, ref, output)
    session = session_for(bam if isinstance(bam, str) else tuple(bams), ref)
    contigs = shared_contigs(session.bam_contigs(0), session.ref_contigs(), bams[0], ref)
    for k in range(1, len(bams)):
        theirs = shared_contigs(session.bam_contigs(k), session.ref_contigs(), bams[k], ref)
        contigs = {name: n for name, n in contigs.items() if name in theirs}
    if not contigs:
        raise InputError(f"{', '.join(bams)}: the BAMs share no contig that is also in {ref}")
    return session, contigs
