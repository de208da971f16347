"""Typed errors of gmscall. The C++ core raises these through the bindings.

Every message says what is wrong, where (file, contig, line) and what to do. Only
``gmscall.cli.main`` turns them into a message on stderr and exit status 2.
"""

from __future__ import annotations


class GmsError(Exception):
    """Base class of every error gmscall raises on purpose."""


class InputError(GmsError):
    """An input file, region or option is wrong, missing or damaged."""


class BackendError(GmsError):
    """The requested compute backend cannot run (no CUDA build, no device, a CUDA failure)."""


class OutputError(GmsError):
    """An output file cannot be written. `path` and `oserror` are set when an OS error (a full
    disk, a quota, a broken pipe...) stopped the writing: see `output_error`."""

    def __init__(self, message: str, *, path: object = None, oserror: OSError | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.oserror = oserror


# What an OS error means to someone whose output could not be written, and what to do about it.
_WRITE_FAULTS: dict[str, tuple[str, str]] = {
    "ENOSPC": ("no space left on the device", "free space there (or write to another file system)"),
    "EDQUOT": ("disk quota exceeded", "free space within your quota (or write to another file system)"),
    "EFBIG": ("file too large for the file system or the file-size limit ('ulimit -f')",
              "raise the limit (or write to another file system)"),
    "EIO": ("input/output error from the storage (a failing disk or a lost network mount)",
            "check the file system"),
    "EROFS": ("read-only file system", "write to a writable folder"),
    "EACCES": ("permission denied", "check the permissions of the file and its folder (or write elsewhere)"),
    "EPERM": ("operation not permitted", "check the permissions of the file and its folder (or write elsewhere)"),
    "ENOENT": ("its folder vanished while it was written", "check that nothing removes the folder"),
    "EMFILE": ("too many files open", "raise the limit with 'ulimit -n'"),
    "ENFILE": ("too many files open on the system", "close other programs' files"),
}


def output_error(path: object, err: OSError, *, resume: object = None, kept: int = 0) -> OutputError:
    """The one-line OutputError for `err` (an OSError raised while writing `path`): what happened in
    words and what to do. `resume` is the --resume work folder of the run, whose `kept` finished
    shards a rerun with --resume reuses."""
    import errno as errno_mod

    code = errno_mod.errorcode.get(err.errno or 0, "")
    if code == "EPIPE":
        return OutputError(f"{path}: the program reading the output stopped before it was complete (broken pipe); "
                           "the output is incomplete", path=path, oserror=err)
    what, fix = _WRITE_FAULTS.get(code, (err.strerror or str(err), "check the file system"))
    if resume is not None and kept:
        again = (f"then run the same command with --resume to continue from the {kept} finished "
                 f"shard{'s' if kept > 1 else ''} kept in {resume}")
    elif resume is not None:
        again = "then run the same command with --resume"
    else:
        again = "then run again"
    if str(path) == "standard output":
        what += " (the output is incomplete)"
    if code in ("EMFILE", "ENFILE", "EROFS", "EACCES", "EPERM"):
        again = again.replace("then run", "and run")
    return OutputError(f"{path}: cannot write it: {what}; {fix}, {again}", path=path, oserror=err)


def text_of(data: bytes, where: str) -> str:
    """The text of a small text input (BED, PED, ploidy file, a list of files), or one InputError
    `WHERE: not a text file (...)` naming what it is instead: gzipped, or binary data (where)."""
    if data[:2] == b"\x1f\x8b":
        raise InputError(f"{where}: not a text file (gzipped: decompress it first, e.g. with 'gunzip -k')")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(f"{where}: not a text file (byte 0x{data[e.start]:02x} on line {line}: binary data)") from None
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(f"{where}: not a text file (a NUL byte on line {text.count(chr(10), 0, nul) + 1}: "
                         "binary data)")
    return text
