"""Per-thread sessions: bounded in number, with htslib threads when a run has a single shard.
(Threads vs Dask byte identity: tests/test_streaming.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

import gmscall
from gmscall import synth


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    return synth.make_dataset(tmp_path_factory.mktemp("sched"), length=30_000, depth=20, seed=11)


def test_sessions_per_thread_are_bounded(ds: synth.Dataset, tmp_path: Path) -> None:
    """A pipeline calling many samples in one process must not keep every BAM open."""
    from gmscall import scheduler

    for k in range(scheduler.SESSIONS_PER_THREAD + 3):
        bam = tmp_path / f"s{k}.bam"
        bam.write_bytes(ds.bam.read_bytes())
        (tmp_path / f"s{k}.bam.bai").write_bytes(Path(str(ds.bam) + ".bai").read_bytes())
        gmscall.call(bam, ds.fasta, f"{ds.contig}:1-2000")
    assert len(scheduler._local.sessions) <= scheduler.SESSIONS_PER_THREAD


def test_single_shard_uses_htslib_threads(ds: synth.Dataset) -> None:
    """A run of one shard cannot use worker threads: it opens its BAM with htslib's BGZF threads."""
    from gmscall import scheduler

    scheduler._local.sessions = None
    one = gmscall.call(ds.bam, ds.fasta, threads=3, shard_size=10_000_000)
    assert (str(ds.bam), str(ds.fasta), 3) in scheduler._local.sessions
    scheduler._local.sessions = None
    several = gmscall.call(ds.bam, ds.fasta, threads=1, shard_size=7000)
    assert [key[2] for key in scheduler._local.sessions] == [1]  # several shards: one thread each
    assert one == several
