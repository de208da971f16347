"""Output streams that write every byte or fail with a one-line OutputError naming the file.

Python's buffered writers report a short write (a file reaching the file-size limit, a disk
filling up) as a smaller return value, not an error: a caller that ignores it loses the rest of
its output and exits 0. Every gmscall output goes through a Sink, which writes until every byte is
taken and turns an OS error (ENOSPC, EDQUOT, EFBIG, EIO, EPIPE, ...) into `errors.output_error`.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from .errors import output_error

STDOUT_NAME = "standard output"


class Sink:
    """Writes all of every buffer to `raw` (a binary file object or a file descriptor); `name` is
    the file the user knows (the final path, not a temporary name) used in error messages."""

    def __init__(self, raw: IO[bytes] | int, name: object, *, owned: bool = True) -> None:
        self._raw = raw
        self.name = name
        self._owned = owned
        self.closed = False

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        try:
            while view:
                if isinstance(self._raw, int):
                    n = os.write(self._raw, view)
                else:
                    n = self._raw.write(view)
                    if n is None:  # a non-blocking or text-like stream that took it all
                        n = len(view)
                if n <= 0:  # a stream that takes nothing would loop for ever
                    raise OSError(5, "the stream accepted no bytes")
                view = view[n:]
        except OSError as e:
            raise output_error(self.name, e) from None
        return total

    def flush(self) -> None:
        if isinstance(self._raw, int):
            return
        try:
            self._raw.flush()
        except OSError as e:
            raise output_error(self.name, e) from None

    def close(self) -> None:
        """Flushes and closes (a network file system may report a failed write only here)."""
        if self.closed:
            return
        self.closed = True
        if not self._owned:
            self.flush()
            return
        try:
            if isinstance(self._raw, int):
                os.close(self._raw)
            else:
                self._raw.close()
        except OSError as e:
            raise output_error(self.name, e) from None

    def abandon(self) -> None:
        """Closes without reporting errors (the run already failed)."""
        if self.closed:
            return
        self.closed = True
        if self._owned:
            try:
                if isinstance(self._raw, int):
                    os.close(self._raw)
                else:
                    self._raw.close()
            except OSError:
                pass

    def __enter__(self) -> Sink:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:
            self.abandon()


def open_sink(path: str | os.PathLike, name: object) -> Sink:
    """`path` created (truncated) for writing, unbuffered: each write is one system call of a large
    buffer. Errors name `name`."""
    try:
        return Sink(open(path, "wb", buffering=0), name)
    except OSError as e:
        raise output_error(name, e) from None


def fd_sink(fd: int, name: object) -> Sink:
    """A Sink that owns the open file descriptor `fd` (from mkstemp); errors name `name`."""
    try:
        return Sink(open(fd, "wb", buffering=0), name)
    except OSError as e:
        os.close(fd)
        raise output_error(name, e) from None


def write_whole(path: str | os.PathLike, data: bytes, *, sync: bool = False) -> None:
    """`data` as `path`, whole or not at all: written under a temporary name in the same folder,
    then renamed over `path`, so a reader never sees half a file. With `sync`, the file and its
    folder are flushed to disk too (checkpoints that must survive a power cut). An OS error (a
    full disk...) is an OutputError naming `path`; the temporary file is removed."""
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise output_error(path, e) from None
    try:
        with fd_sink(fd, path) as f:
            f.write(data)
            try:
                if sync:
                    os.fsync(fd)
                os.replace(tmp, path)
            except OSError as e:
                raise output_error(path, e) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if sync:
        try:
            _fsync_folder(folder)
        except OSError as e:
            raise output_error(folder, e) from None


def _fsync_folder(folder: str | os.PathLike) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stdout_sink() -> Sink:
    """Standard output as a Sink: the file descriptor when it has one (after flushing what Python
    buffered), else the stream sys.stdout wraps (a test's capture)."""
    try:
        sys.stdout.flush()
    except OSError as e:
        raise output_error(STDOUT_NAME, e) from None
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        raise output_error(STDOUT_NAME, OSError(5, "standard output is not a binary stream"))
    try:
        buffer.flush()
        fd = buffer.fileno()
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both OSError and ValueError
        return Sink(buffer, STDOUT_NAME, owned=False)
    return Sink(fd, STDOUT_NAME, owned=False)


def as_sink(out: IO[bytes] | Sink) -> Sink:
    """A caller's binary stream as a Sink that does not close it (errors name its .name)."""
    if isinstance(out, Sink):
        return out
    if out is getattr(sys.stdout, "buffer", None):
        return stdout_sink()
    return Sink(out, getattr(out, "name", "the output stream"), owned=False)
