"""Shards on threads and on a Dask cluster give the same records, in genome order."""

from __future__ import annotations

from pathlib import Path

import pytest

import gmscall
from gmscall import synth


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    return synth.make_dataset(tmp_path_factory.mktemp("sched"), length=30_000, depth=20, seed=11)


def test_dask_cluster_matches_local_threads(ds: synth.Dataset, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed")
    local = gmscall.call(ds.bam, ds.fasta, threads=2, shard_size=7000)
    assert local
    with distributed.Client(processes=True, n_workers=2, threads_per_worker=1,
                            dashboard_address=None) as client:
        remote = gmscall.call(ds.bam, ds.fasta, shard_size=7000, client=client)
        out = tmp_path / "dask.vcf"
        gmscall.call(ds.bam, ds.fasta, shard_size=7000, client=client, output=out, command="x")
    assert remote == local
    body = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
    assert len(body) == len(local)


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
    one = gmscall.call(ds.bam, ds.fasta, threads=3, shard_size=10_000_000)
    assert one == gmscall.call(ds.bam, ds.fasta, threads=1)
