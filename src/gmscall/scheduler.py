"""Maps shards over an executor: local threads (the C++ core releases the GIL) or a Dask cluster.

Results come back in shard order whatever order they finish in, so outputs are identical for any
thread count. At most `window` shards are in flight or finished-but-not-yet-consumed: a worker
that runs ahead waits (it is simply not given a new shard) until the consumer has taken the
oldest result, so memory depends on the thread count and the shard size, never on the genome.
The first failing shard fails the whole run with its own error.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, TypeVar, Union

from . import _core
from .errors import InputError
from .regions import Region

T = TypeVar("T")
Bams = Union[str, tuple[str, ...]]
ShardTask = Callable[["_core.Session", Region], T]

_local = threading.local()


# Open sessions kept per thread: enough for a BAM/reference pair in use, few enough that a
# pipeline calling thousands of samples in one process does not run out of file handles.
SESSIONS_PER_THREAD = 4
# Shards in flight per worker: enough to keep every worker busy while the consumer writes.
WINDOW_PER_WORKER = 4


def session_for(bam: Bams, ref: str, hts_threads: int = 1) -> _core.Session:
    """The calling thread's own open BAM(s) + reference (htslib handles are not shared across
    threads). `bam` is one path, or a tuple of paths for a multi-sample run."""
    cache: OrderedDict[tuple[Bams, str, int], _core.Session] | None = getattr(_local, "sessions", None)
    if cache is None:
        cache = _local.sessions = OrderedDict()
    key = (bam, ref, hts_threads)
    if key in cache:
        cache.move_to_end(key)
    else:
        cache[key] = _core.Session(bam if isinstance(bam, str) else list(bam), ref, hts_threads)
        while len(cache) > SESSIONS_PER_THREAD:
            cache.popitem(last=False)
    return cache[key]


def _run_one(task: ShardTask, bam: Bams, ref: str, shard: Region, hts_threads: int = 1) -> Any:
    return task(session_for(bam, ref, hts_threads), shard)


def iter_shards(task: ShardTask, bam: Bams, ref: str, shards: Sequence[Region], threads: int = 1,
                client: Any = None, window: int | None = None) -> Iterator[Any]:
    """Yields task(session, shard) for every shard, in shard order, with a bounded window (see
    iter_ordered); each worker thread opens the BAM(s) once (session_for)."""
    hts_threads = 1
    if client is None and len(shards) == 1:
        hts_threads = threads  # one shard cannot use worker threads; htslib's BGZF threads can
    yield from iter_ordered(functools.partial(_run_one, task, bam, ref, hts_threads=hts_threads), shards,
                            threads, client, window)


def iter_ordered(fn: Callable[[Any], T], items: Sequence[Any], threads: int = 1, client: Any = None,
                 window: int | None = None) -> Iterator[T]:
    """Yields fn(item) for every item, in order: on the calling thread, on `threads` worker threads,
    or on a Dask cluster. At most `window` items are in flight or finished-but-not-consumed.

    Closing the iterator early (an error, Ctrl-C, a consumer that stops) drops the items not yet
    started; running ones finish (C++ cannot be interrupted mid-shard), so a run stops within one
    item's time."""
    if client is not None:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        yield from _iter_dask(fn, items, client, window or WINDOW_PER_WORKER * workers)
        return
    if threads <= 1 or len(items) <= 1:
        for item in items:
            yield fn(item)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gmscall")
    pending: deque[Future[Any]] = deque()
    try:
        yield from _ordered(pending, iter(items), window or WINDOW_PER_WORKER * threads,
                            lambda item: pool.submit(fn, item), Future.result)
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _ordered(pending: deque, todo: Iterator[Any], window: int, submit: Callable[[Any], Any],
             result: Callable[[Any], Any]) -> Iterator[Any]:
    """Keeps `window` items submitted ahead of the consumer; yields their results in order."""
    for item in todo:
        pending.append(submit(item))
        if len(pending) >= window:
            yield result(pending.popleft())
    while pending:
        yield result(pending.popleft())


def _iter_dask(fn: Callable[[Any], Any], items: Sequence[Any], client: Any, window: int) -> Iterator[Any]:
    # pure=False: an item is recomputed if asked twice. Dask reruns the task of a lost worker on
    # another one, so losing a worker costs its shards' time, not the run.
    pending: deque = deque()
    try:
        yield from _ordered(pending, iter(items), window, lambda item: client.submit(fn, item, pure=False),
                            lambda f: f.result())
    finally:
        if pending:
            client.cancel(list(pending))


def map_shards(task: ShardTask, bam: Bams, ref: str, shards: Sequence[Region], threads: int = 1,
               client: Any = None) -> list[Any]:
    """Run task(session, shard) for every shard; results in shard order (all held in memory:
    for results that are small or wanted together, such as pileup arrays of one region)."""
    return list(iter_shards(task, bam, ref, shards, threads, client))


def connect_dask(address: str) -> Any:
    """A distributed.Client connected to a running scheduler (`dask scheduler`)."""
    try:
        import distributed
    except ImportError:
        raise InputError("--dask needs dask.distributed: pip install 'gmscall[dask]'") from None
    try:
        return distributed.Client(address, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as e:
        raise InputError(f"--dask {address}: cannot connect to a Dask scheduler there ({e}); start one with "
                         "'dask scheduler' and workers with 'dask worker ADDRESS'") from None
