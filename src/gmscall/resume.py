"""Checkpoints of a `--resume` run (`gmscall call`, `genotype` and `somatic` alike): a work folder
next to the output with one compressed part (the shard's pickled result) per finished shard and a
manifest binding them to the command, its input files, options, samples, shards and the version.

A part is written under a temporary name, synced and renamed, so a kill (or power loss) leaves
either a whole part or none; parts are still verified (gzip CRC and length) before reuse, and a
damaged one is computed again. A manifest that does not match the run is an error that says what
differs: parts of different inputs are never mixed into one output.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import logging
import os
import pickle
import shutil
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import InputError, OutputError, output_error
from .sink import write_whole

log = logging.getLogger("gmscall")
FORMAT = 1


def work_folder_for(output: str | Path) -> Path:
    output = Path(output)
    return output.with_name(output.name + ".gmscall-work")


def file_identity(path: str, header: str | bytes) -> dict[str, Any]:
    """Size, modification time and a checksum of the header: a changed or replaced file shows."""
    st = os.stat(path)
    data = header.encode() if isinstance(header, str) else header
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "header_md5": hashlib.md5(data).hexdigest()}


def _differences(want: Any, have: Any, where: str = "") -> list[str]:
    """Every field that differs, as 'key.sub: then, now' (the full list, for logs and tests)."""
    if isinstance(want, dict) and isinstance(have, dict):
        out = []
        for key in sorted(set(want) | set(have)):
            out += _differences(want.get(key), have.get(key), f"{where}.{key}" if where else key)
        return out
    if want == have:
        return []
    if isinstance(want, list) and isinstance(have, list):
        return [f"{where}: {len(have)} entries in the checkpoints, {len(want)} now"]
    return [f"{where}: {have!r} in the checkpoints, {want!r} now"]


# The command-line options of the option fields a user sets (the others are fixed by gmscall).
_OPTION_FLAGS = {"min_bq": "-Q/--min-BQ", "min_mq": "-q/--min-MQ", "max_depth": "-d/--max-depth",
                 "min_qual": "--min-qual", "low_qual": "--low-qual", "gvcf": "--gvcf", "gq_bands": "--gq-bands",
                 "assemble": "--no-assembly", "de_novo_prior": "--de-novo-prior", "tlod_pass": "--tlod-pass",
                 "nlod_min": "--nlod-min", "min_tumor_af": "--min-tumor-af",
                 "normal_contamination": "--normal-contamination"}
# Flags that set a boolean field: (field, the value the flag gives it).
_SWITCHES = {"gvcf": True, "assemble": False}

# The input files of a manifest by role: what a message calls one and several of them, and what
# it says when the checksum (next to size and modification time) differs. In this order in messages.
FILE_ROLES: dict[str, tuple[str, str, str]] = {
    "bam": ("alignment file", "alignment files", "its header differs"),
    "tumor": ("tumour BAM/CRAM", "tumour BAM/CRAMs", "its header differs"),
    "normal": ("normal BAM/CRAM", "normal BAM/CRAMs", "its header differs"),
    "gvcf": ("gVCF", "gVCFs", "its header differs"),
    "gvcf_index": ("gVCF index", "gVCF indexes", "its contents differ"),
    "reference": ("reference", "references", "its index (.fai) differs"),
    "ped": ("pedigree (--ped)", "pedigrees (--ped)", "its contents differ"),
}


def _when(ns: Any, other: Any = None) -> str:
    """Local time of `ns` to the second; to the millisecond when `other` falls in the same second."""
    import time

    if not isinstance(ns, int):
        return "?"
    text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns // 10**9))
    if isinstance(other, int) and other // 10**9 == ns // 10**9:
        text += f".{ns % 10**9 // 10**6:03d}"
    return text


def _file_change(name: str, want: dict, have: dict, checksum_differs: str) -> str | None:
    """'NAME changed (...)' in words, or None if it did not."""
    parts = []
    if want.get("size") != have.get("size"):
        parts.append(f"size {have.get('size')} -> {want.get('size')} bytes")
    if want.get("mtime_ns") != have.get("mtime_ns"):
        then, now = have.get("mtime_ns"), want.get("mtime_ns")
        parts.append(f"modified {_when(then, now)} -> {_when(now, then)}")
    if want.get("header_md5") != have.get("header_md5"):
        parts.append(checksum_differs)
    if not parts:
        return None
    return f"{name} is not the file the checkpoints were made from ({'; '.join(parts)})"


def _identities(x: Any) -> list[dict]:
    if isinstance(x, dict):
        return [x]
    return [i for i in x if isinstance(i, dict)] if isinstance(x, list) else []


def explain_change(want: dict[str, Any], have: dict[str, Any], names: dict[str, str] | None = None) -> list[str]:
    """What differs between a run (`want`) and the checkpoints' manifest (`have`), in words: files
    by the path the user gave (`names`: absolute path -> given path), sample names, options."""
    names = names or {}
    out: list[str] = []

    def name(identity: dict) -> str:
        path = str(identity.get("path"))
        if path in names:
            return names[path]
        relative = os.path.relpath(path)  # a file this run was not given: short when it is under here
        return path if relative.startswith("..") else relative

    if have.get("format") != want.get("format") or have.get("gmscall") != want.get("gmscall"):
        out.append(f"they were made by gmscall {have.get('gmscall')}, this is gmscall {want.get('gmscall')}")
    if have.get("mode") != want.get("mode"):
        out.append(f"they were made by 'gmscall {have.get('mode')}', not '{want.get('mode')}'")
    told: set[str] = set()  # roles whose files changed
    for key, (one, several, header) in FILE_ROLES.items():
        w, h = _identities(want.get(key)), _identities(have.get(key))
        if [i.get("path") for i in w] != [i.get("path") for i in h]:
            if key == "gvcf_index" and "gvcf" in told:  # the indexes of other gVCFs: said above
                continue
            then, now = ", ".join(map(name, h)) or "none", ", ".join(map(name, w)) or "none"
            out.append(f"the {one} was {then}, now {now}" if len(w) <= 1 and len(h) <= 1 else
                       f"the {several} were {then}, now {now}")
            told.add(key)
            continue
        changes = [c for a, b in zip(w, h) if (c := _file_change(name(a), a, b, header))]
        out += changes
        if changes:
            told.add(key)
    wo, ho = want.get("options") or {}, have.get("options") or {}
    for key in sorted(set(wo) | set(ho)):
        if wo.get(key) != ho.get(key):
            out.append(_option_change(key, ho.get(key), wo.get(key)))
    wc, hc = want.get("cohort") or {}, have.get("cohort") or {}
    for key in sorted(set(wc) | set(hc), key=lambda k: (k != "samples", k)):
        if wc.get(key) == hc.get(key):
            continue
        if key == "bam_columns" and (wc.get("samples") != hc.get("samples") or told & {"bam", "tumor", "normal"}):
            continue  # which BAM gives which column: follows from the files and samples said above
        if key == "samples":
            out.append(f"the samples were {', '.join(map(str, hc.get(key) or [])) or 'none'}, now "
                       f"{', '.join(map(str, wc.get(key) or [])) or 'none'}")
        elif key == "ploidy":
            out.append("the ploidy (--ploidy, --sex) differs")
        elif key in ("trios", "pedigree"):
            if "the pedigree (--ped) differs" not in out and "ped" not in told:  # said above
                out.append("the pedigree (--ped) differs")
        else:
            out.append(f"the samples' {key.replace('_', ' ')} differ")
    if want.get("shards") != have.get("shards"):
        hs, ws = have.get("shards") or [], want.get("shards") or []
        out.append(f"the regions or the shard size differ ({len(hs)} shards from {hs[0] if hs else '-'} then, "
                   f"{len(ws)} from {ws[0] if ws else '-'} now)")
    known = {"format", "gmscall", "mode", "options", "cohort", "shards", *FILE_ROLES}
    for key in sorted((set(want) | set(have)) - known):
        if want.get(key) != have.get(key):
            out.append(f"{key} differs")
    return out


def _option_change(key: str, then: Any, now: Any) -> str:
    label = _OPTION_FLAGS.get(key, key)
    if key in _SWITCHES and isinstance(then, bool) and isinstance(now, bool):
        def given(value: bool) -> str:
            return "given" if value == _SWITCHES[key] else "not given"
        return f"option {label} was {given(then)}, now {given(now)}"
    return f"option {label} was {then!r}, now {now!r}"


class WorkFolder:
    """The checkpoints of one output file. Use as a context manager: it holds a lock so that two
    runs never write the same checkpoints."""

    def __init__(self, output: str | Path, manifest: dict[str, Any], names: dict[str, str] | None = None) -> None:
        self.path = work_folder_for(output)
        self.output = output
        self.manifest = {"format": FORMAT, **manifest}
        self.names = names or {}  # absolute path -> the path the user gave, for messages
        self._lock: int | None = None

    def __enter__(self) -> WorkFolder:  # noqa: PYI034 - Self needs Python 3.11
        self._open()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def _open(self) -> None:
        try:
            self.path.mkdir(exist_ok=True)
        except OSError as e:
            raise OutputError(f"{self.path}: cannot create the --resume work folder ({e.strerror})") from None
        try:
            self._lock = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise output_error(self.path / "lock", e) from None
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            self._lock = None
            raise OutputError(f"{self.path}: another gmscall run is writing this output; wait for it "
                              "or stop it") from None
        for stale in self.path.glob(".*.tmp*"):  # a killed run's unfinished part or output
            try:
                stale.unlink()
            except OSError as e:
                raise output_error(stale, e) from None
        manifest_file = self.path / "manifest.json"
        if manifest_file.exists():
            self._check_manifest(manifest_file)
        else:
            for orphan in self.path.glob("part-*.gz"):  # bound to no inputs: never reused
                orphan.unlink()
            write_whole(manifest_file, json.dumps(self.manifest, indent=1, sort_keys=True).encode(), sync=True)

    def _check_manifest(self, manifest_file: Path) -> None:
        try:
            have = json.loads(manifest_file.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{manifest_file}: unreadable checkpoint manifest ({e}); remove {self.path} "
                             "to start again") from None
        diffs = _differences(self.manifest, have)
        if diffs:
            log.info("--resume: the manifest differs: %s", "; ".join(diffs))
            words = explain_change(self.manifest, have, self.names) or diffs
            shown = "; ".join(words[:4]) + (f"; and {len(words) - 4} more" if len(words) > 4 else "")
            raise InputError(f"{self.output}: --resume: the checkpoints in {self.path} were made from other inputs or "
                             f"options: {shown}; give the original inputs and options to continue, or remove "
                             f"{self.path} to start again")

    def _part(self, k: int) -> Path:
        return self.path / f"part-{k:07d}.gz"

    def _read(self, k: int) -> bytes | None:
        try:
            with gzip.open(self._part(k), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None
        except (OSError, EOFError, zlib.error) as e:
            log.warning("%s: damaged checkpoint (%s); computing that shard again", self._part(k), e)
            self._part(k).unlink()
            return None

    def n_parts(self) -> int:
        """Checkpoints on disk (finished shards a rerun with --resume reuses)."""
        return sum(1 for _ in self.path.glob("part-*.gz"))

    def finished(self, n_shards: int) -> set[int]:
        """Shards whose part is complete and intact."""
        names = {p.name for p in self.path.glob("part-*.gz")}
        return {k for k in range(n_shards) if self._part(k).name in names and self._read(k) is not None}

    def load(self, k: int) -> Any:
        data = self._read(k)
        if data is None:
            raise OutputError(f"{self._part(k)}: checkpoint vanished while the run was using it")
        return pickle.loads(data)

    def save(self, k: int, result: Any) -> None:
        """A shard's result (what the writer formats), pickled: reused parts go through the same
        formatting as fresh ones (a gVCF merges blocks across shards)."""
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        write_whole(self._part(k), gzip.compress(data, compresslevel=1, mtime=0), sync=True)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def manifest_for(mode: str, version: str, files: Mapping[str, Sequence[tuple[str, str | bytes]]],
                 options: dict[str, Any], cohort: dict[str, Any], shards: Sequence[Any]) -> dict[str, Any]:
    """The manifest of a run of `gmscall MODE`: `files` maps a role of FILE_ROLES to its files, each
    (path as given, the text its checksum covers); a role without files is left out. Everything
    that changes the output is in it: the files, options, samples and shards."""
    manifest: dict[str, Any] = {"gmscall": version, "mode": mode}
    for role, given in files.items():
        if role not in FILE_ROLES:
            raise ValueError(f"unknown input role {role!r}")
        ids = [file_identity(path, header) for path, header in given]
        if ids:
            manifest[role] = ids[0] if len(ids) == 1 else ids
    return {**manifest, "options": _plain(options), "cohort": _plain(cohort), "shards": [str(s) for s in shards]}


def reference_input(ref: str) -> tuple[str, bytes]:
    """The reference FASTA as a manifest input: its .fai stands for its contents."""
    return ref, Path(ref + ".fai").read_bytes()


def file_input(path: str, what: str) -> tuple[str, bytes]:
    """A small input file (a PED, a gVCF's index) as a manifest input: its contents checksummed."""
    try:
        return path, Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the {what} ({e.strerror})") from None


def check_output(output: str | Path | None) -> None:
    """--resume needs an output file: the checkpoints live next to it."""
    if output is None:
        raise InputError("resume needs an output file")
    if str(output) == "-":
        raise InputError("--resume needs an output file (-o FILE), not stdout")


@contextmanager
def checkpoints(output: str | Path, resume: bool, mode: str, files: Mapping[str, Sequence[tuple[str, str | bytes]]],
                options: dict[str, Any], cohort: dict[str, Any], shards: Sequence[Any]) -> Iterator[WorkFolder | None]:
    """The locked work folder of a `--resume` run (None without resume), removed when the run
    succeeds; messages name the files by the paths given in `files`."""
    if not resume:
        yield None
        return
    from . import __version__

    names = {os.path.abspath(path): path for given in files.values() for path, _ in given}
    with WorkFolder(output, manifest_for(mode, __version__, files, options, cohort, shards), names) as work:
        yield work
        work.remove()


def _plain(x: Any) -> Any:
    """JSON-like form (tuples as lists), so a manifest read back compares equal."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x
