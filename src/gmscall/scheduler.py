"""Maps shards over an executor: local threads (the C++ core releases the GIL) or a Dask cluster.

Results come back in shard order whatever order they finish in, so outputs are identical for any
thread count. The first failing shard fails the whole run with its own error.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, TypeVar

from . import _core
from .regions import Region

T = TypeVar("T")
ShardTask = Callable[["_core.Session", Region], T]

_local = threading.local()


# Open sessions kept per thread: enough for a BAM/reference pair in use, few enough that a
# pipeline calling thousands of samples in one process does not run out of file handles.
SESSIONS_PER_THREAD = 4


def session_for(bam: str, ref: str, hts_threads: int = 1) -> _core.Session:
    """The calling thread's own open BAM + reference (htslib handles are not shared across threads)."""
    cache: OrderedDict[tuple[str, str, int], _core.Session] | None = getattr(_local, "sessions", None)
    if cache is None:
        cache = _local.sessions = OrderedDict()
    key = (bam, ref, hts_threads)
    if key in cache:
        cache.move_to_end(key)
    else:
        cache[key] = _core.Session(bam, ref, hts_threads)
        while len(cache) > SESSIONS_PER_THREAD:
            cache.popitem(last=False)
    return cache[key]


def _run_one(task: ShardTask, bam: str, ref: str, shard: Region, hts_threads: int = 1) -> Any:
    return task(session_for(bam, ref, hts_threads), shard)


def map_shards(task: ShardTask, bam: str, ref: str, shards: Sequence[Region], threads: int = 1,
               client: Any = None, progress: Callable[[Region], None] | None = None) -> list[Any]:
    """Run task(session, shard) for every shard; results in shard order."""
    if client is not None:
        futures = client.map(_run_one, [task] * len(shards), [bam] * len(shards), [ref] * len(shards),
                             list(shards), pure=False)
        return client.gather(futures)
    if threads <= 1 or len(shards) <= 1:
        # One shard cannot use worker threads; htslib's BGZF decompression threads can.
        hts_threads = threads if len(shards) == 1 else 1
        out = []
        for s in shards:
            out.append(_run_one(task, bam, ref, s, hts_threads))
            if progress:
                progress(s)
        return out
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gmscall")
    try:
        futures: list[Future[Any]] = [pool.submit(_run_one, task, bam, ref, s) for s in shards]
        if progress:
            for f, s in zip(futures, shards):
                f.add_done_callback(lambda _f, s=s: progress(s))
        wait(futures, return_when=FIRST_EXCEPTION)
        for f in futures:
            if f.done() and f.exception() is not None:
                raise f.exception()  # type: ignore[misc]
        return [f.result() for f in futures]
    finally:
        # On an error or Ctrl-C, shards not yet started are dropped; running ones finish (C++
        # cannot be interrupted mid-shard), so the run stops within one shard's time.
        pool.shutdown(wait=True, cancel_futures=True)
