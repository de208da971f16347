"""Checkpoints of a `--resume` run: a work folder next to the output with one compressed part (the
shard's pickled result) per finished shard and a manifest binding them to the inputs, options and version.

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
import tempfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import InputError, OutputError

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


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync_folder(path.parent)


class WorkFolder:
    """The checkpoints of one output file. Use as a context manager: it holds a lock so that two
    runs never write the same checkpoints."""

    def __init__(self, output: str | Path, manifest: dict[str, Any]) -> None:
        self.path = work_folder_for(output)
        self.manifest = {"format": FORMAT, **manifest}
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
        self._lock = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            self._lock = None
            raise OutputError(f"{self.path}: another gmscall run is writing this output; wait for it "
                              "or stop it") from None
        for stale in self.path.glob(".*.tmp*"):  # a killed run's unfinished part or output
            stale.unlink()
        manifest_file = self.path / "manifest.json"
        if manifest_file.exists():
            self._check_manifest(manifest_file)
        else:
            for orphan in self.path.glob("part-*.gz"):  # bound to no inputs: never reused
                orphan.unlink()
            _write_synced(manifest_file, json.dumps(self.manifest, indent=1, sort_keys=True).encode())

    def _check_manifest(self, manifest_file: Path) -> None:
        try:
            have = json.loads(manifest_file.read_text())
        except (OSError, ValueError) as e:
            raise InputError(f"{manifest_file}: unreadable checkpoint manifest ({e}); remove {self.path} "
                             "to start again") from None
        diffs = _differences(self.manifest, have)
        if diffs:
            shown = "; ".join(diffs[:4]) + (f"; and {len(diffs) - 4} more" if len(diffs) > 4 else "")
            raise InputError(f"{self.path}: --resume: the checkpoints were made by a different run ({shown}); "
                             f"rerun with the original inputs and options, or remove {self.path} to start again")

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
        _write_synced(self._part(k), gzip.compress(data, compresslevel=1, mtime=0))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def manifest_for(bams: Sequence[str], ref: str, bam_headers: Sequence[str], options: dict[str, Any],
                 cohort: dict[str, Any], shards: Sequence[Any], version: str, mode: str) -> dict[str, Any]:
    fai = Path(ref + ".fai").read_bytes()
    ids = [file_identity(b, h) for b, h in zip(bams, bam_headers)]
    return {"gmscall": version, "mode": mode, "bam": ids[0] if len(ids) == 1 else ids,
            "reference": file_identity(ref, fai), "options": _plain(options), "cohort": _plain(cohort),
            "shards": [str(s) for s in shards]}


def _plain(x: Any) -> Any:
    """JSON-like form (tuples as lists), so a manifest read back compares equal."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x
