"""Maps shards over an executor: local threads (the C++ core releases the GIL) or a Dask cluster.

Results come back in shard order whatever order they finish in, so outputs are identical for any
thread count. The first failing shard fails the whole run with its own error.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, TypeVar

from . import _core
from .regions import Region

T = TypeVar("T")
ShardTask = Callable[["_core.Session", Region], T]

_local = threading.local()


def session_for(bam: str, ref: str) -> _core.Session:
    """The calling thread's own open BAM + reference (htslib handles are not shared across threads)."""
    cache: dict[tuple[str, str], _core.Session] = getattr(_local, "sessions", None) or {}
    _local.sessions = cache
    key = (bam, ref)
    if key not in cache:
        cache[key] = _core.Session(bam, ref, 1)
    return cache[key]


def _run_one(task: ShardTask, bam: str, ref: str, shard: Region) -> Any:
    return task(session_for(bam, ref), shard)


def map_shards(task: ShardTask, bam: str, ref: str, shards: Sequence[Region], threads: int = 1,
               client: Any = None, progress: Callable[[Region], None] | None = None) -> list[Any]:
    """Run task(session, shard) for every shard; results in shard order."""
    if client is not None:
        futures = client.map(_run_one, [task] * len(shards), [bam] * len(shards), [ref] * len(shards),
                             list(shards), pure=False)
        return client.gather(futures)
    if threads <= 1 or len(shards) <= 1:
        out = []
        for s in shards:
            out.append(_run_one(task, bam, ref, s))
            if progress:
                progress(s)
        return out
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gmscall") as pool:
        futures: list[Future[Any]] = [pool.submit(_run_one, task, bam, ref, s) for s in shards]
        if progress:
            for f, s in zip(futures, shards):
                f.add_done_callback(lambda _f, s=s: progress(s))
        _, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in futures:
            if f.done() and f.exception() is not None:
                for p in pending:
                    p.cancel()
                raise f.exception()  # type: ignore[misc]
        return [f.result() for f in futures]
