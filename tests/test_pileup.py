"""gmscall.pileup against the independent oracle (tests/oracle.py) on synthetic data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import oracle
import pytest
from conftest import WEIRD_GAP

gmscall = pytest.importorskip("gmscall", reason="gmscall is not built/installed")

FIELDS = ("pos", "ref", "counts", "qual_sum", "ins", "del_start", "mq2")


def run(bam: Path, ref: Path, region: str, **kw: object):
    return gmscall.pileup(str(bam), str(ref), region, **kw)


def check(bam: Path, ref: Path, region: str, what: str = "", **kw: object):
    got = run(bam, ref, region, **kw)
    opts = {k: v for k, v in kw.items() if k in ("min_bq", "min_mq", "overlaps")}
    want = oracle.pileup(bam, ref, region, **opts)
    oracle.assert_pileup_equal(got, want, what or f"{region} {kw}")
    return got, want


def assert_identical(a, b, what: str) -> None:
    assert (a.contig, int(a.start), int(a.end)) == (b.contig, int(b.start), int(b.end)), what
    for f in FIELDS:
        x, y = oracle.as_numpy(getattr(a, f)), oracle.as_numpy(getattr(b, f))
        assert x.dtype == y.dtype and x.shape == y.shape, (
            f"{what}: {f} {x.dtype}{x.shape} vs {y.dtype}{y.shape}"
        )
        assert np.array_equal(x, y), f"{what}: {f} differs"
    assert oracle.indel_rows(a.indels) == oracle.indel_rows(b.indels), f"{what}: indels differ"


# --------------------------------------------------------------------------------------------
# the synthetic dataset


def test_whole_contig_defaults(synth_dataset) -> None:
    ds = synth_dataset
    got, want = check(ds.bam, ds.fasta, ds.contig)
    assert (got.start, got.end) == (0, ds.length)
    assert oracle.as_numpy(got.counts).dtype == np.uint32
    assert oracle.as_numpy(got.pos).dtype == np.int64 and oracle.as_numpy(got.ref).dtype == np.uint8
    assert want.depth.mean() > 15 and len(want.indels) > 5 and want.ins.sum() > 0 and want.del_start.sum() > 0


@pytest.mark.parametrize(
    ("min_bq", "min_mq", "overlaps"),
    [
        (13, 0, True),
        (0, 0, True),
        (30, 0, True),
        (13, 20, True),
        (13, 61, True),  # nothing passes
        (13, 0, False),
        (0, 0, False),
        (20, 10, False),
    ],
)
def test_options(synth_dataset, min_bq: int, min_mq: int, overlaps: bool) -> None:
    ds = synth_dataset
    got, _ = check(ds.bam, ds.fasta, ds.region, min_bq=min_bq, min_mq=min_mq, overlaps=overlaps)
    if min_mq > 60:
        assert not oracle.as_numpy(got.counts).any()


def _subregions(ds) -> list[tuple[str, str]]:
    c, n = ds.contig, ds.length
    n0, n1 = ds.reference.n_runs[0]
    indel = next(v for v in ds.truth if v.kind == "del")
    return [
        ("contig start", f"{c}:1-300"),
        ("contig end", f"{c}:{n - 299}-{n}"),
        ("first base", f"{c}:1-1"),
        ("last base", f"{c}:{n}-{n}"),
        ("middle", f"{c}:5001-5600"),
        ("N run", f"{c}:{n0 - 100}-{n1 + 100}"),
        # starts inside a deletion: DEL counts without their anchor
        ("inside a deletion", f"{c}:{indel.pos + 2}-{indel.pos + 40}"),
        ("ends at an anchor", f"{c}:{indel.pos - 40}-{indel.pos + 1}"),
        ("commas", f"{c}:1,001-2,000"),
    ]


@pytest.mark.parametrize("idx", range(9))
@pytest.mark.parametrize("overlaps", [True, False])
def test_subregions(synth_dataset, idx: int, overlaps: bool) -> None:
    ds = synth_dataset
    name, region = _subregions(ds)[idx]
    check(ds.bam, ds.fasta, region, f"{name}: {region}", overlaps=overlaps)


def test_region_with_n_reference(synth_dataset) -> None:
    ds = synth_dataset
    n0, n1 = ds.reference.n_runs[0]
    got, _ = check(ds.bam, ds.fasta, f"{ds.contig}:{n0 - 49}-{n1 + 50}")  # 0-based from n0 - 50
    ref = oracle.as_numpy(got.ref)
    assert bytes(ref[50 : 50 + n1 - n0]) == b"N" * (n1 - n0)
    # reads crossing into the run carry N bases there
    assert oracle.as_numpy(got.counts)[50:60, :, oracle.N].sum() > 0


def test_soft_masked_reference_is_upper_case(synth_dataset) -> None:
    ds = synth_dataset
    s, e = ds.reference.masked[0]
    got = run(ds.bam, ds.fasta, f"{ds.contig}:{s + 1}-{e}")
    assert bytes(oracle.as_numpy(got.ref)) == ds.reference.seq[s:e].upper().encode()


def test_zero_coverage(synth_dataset) -> None:
    ds = synth_dataset
    lo, hi = ds.zero_coverage
    got, _ = check(ds.bam, ds.fasta, f"{ds.contig}:{lo + 1}-{hi}")
    n = hi - lo
    assert oracle.as_numpy(got.counts).shape == (n, 2, 6)
    assert oracle.as_numpy(got.qual_sum).shape == (n, 6)
    assert oracle.as_numpy(got.ins).shape == (n, 2) and oracle.as_numpy(got.del_start).shape == (n, 2)
    for f in ("counts", "qual_sum", "ins", "del_start"):
        assert not oracle.as_numpy(getattr(got, f)).any()
    assert len(oracle.as_numpy(got.indels)) == 0
    np.testing.assert_array_equal(oracle.as_numpy(got.pos), np.arange(lo, hi))


def test_threads_identical(synth_dataset) -> None:
    ds = synth_dataset
    for kw in ({}, {"overlaps": False, "min_bq": 0}):
        one = run(ds.bam, ds.fasta, ds.contig, threads=1, **kw)
        two = run(ds.bam, ds.fasta, ds.contig, threads=2, **kw)
        assert_identical(one, two, f"threads 1 vs 2 {kw}")


def test_backend_cpu_matches_oracle(synth_dataset) -> None:
    ds = synth_dataset
    check(ds.bam, ds.fasta, ds.region, backend="cpu")


@pytest.mark.cuda
@pytest.mark.parametrize("kw", [{}, {"overlaps": False, "min_bq": 0}, {"min_mq": 20, "min_bq": 30}])
def test_cuda_parity(synth_dataset, weird_bam, kw: dict) -> None:
    ds = synth_dataset
    for bam, fasta, region in ((ds.bam, ds.fasta, ds.contig), (*weird_bam[:2], weird_bam[2])):
        cpu = run(bam, fasta, region, backend="cpu", **kw)
        gpu = run(bam, fasta, region, backend="cuda", **kw)
        assert_identical(cpu, gpu, f"cpu vs cuda {region} {kw}")


# --------------------------------------------------------------------------------------------
# odd CIGARs (conftest.weird_bam)


def _weird_regions(contig: str, length: int) -> list[str]:
    return [
        contig,
        f"{contig}:1-15",  # read at the contig start
        f"{contig}:{length - 14}-{length}",  # read at the contig end
        f"{contig}:12-30",  # 5S10M2I3M1D10M5H and 4M3I8M2D6M
        f"{contig}:82-86",  # D-then-I and I-then-D, starting inside the deletions
        f"{contig}:112-118",  # deletions with low anchor / low next base, cut by the region
        f"{contig}:200-235",  # overlapping mates
        f"{contig}:{WEIRD_GAP[0] + 1}-{WEIRD_GAP[1]}",  # no reads
    ]


@pytest.mark.parametrize("min_bq", [0, 13, 30])
@pytest.mark.parametrize("overlaps", [True, False])
def test_weird_cigars(weird_bam, min_bq: int, overlaps: bool) -> None:
    bam, fasta, contig, length = weird_bam
    for region in _weird_regions(contig, length):
        check(
            bam,
            fasta,
            region,
            f"odd CIGARs {region} min_bq={min_bq} overlaps={overlaps}",
            min_bq=min_bq,
            overlaps=overlaps,
        )


def test_weird_cigars_expected_values(weird_bam) -> None:
    """A few hand-checked values, so that a bug shared by the oracle and gmscall still shows."""
    bam, fasta, contig, _ = weird_bam
    p = run(bam, fasta, contig, min_bq=13, overlaps=True)
    counts, ins, dstart = oracle.as_numpy(p.counts), oracle.as_numpy(p.ins), oracle.as_numpy(p.del_start)
    # 3S2I10M / 2I10M (no anchor) -> no insertion event at 59/60
    assert not ins[58:61].any()
    # 10M5I and 10M4I5S at 100/101: insertions anchored at 109 and 110
    assert ins[109].sum() == 1 and ins[110].sum() == 1
    # 10M3D10M at 110, next base quality 5: its deleted bases 120-122 are not counted (rule
    # "next") but its event is (good anchor); the same deletion with a low anchor counts as DEL,
    # without an event.  8M2I10M at 112 (anchor 119): counted unless the anchor quality is low.
    assert counts[120:123, :, oracle.DEL].sum(axis=1).tolist() == [1, 1, 1]
    assert dstart[119].tolist() == [1, 0] and ins[119].tolist() == [0, 1]
    # duplicate/secondary/supplementary/QC-fail at 180 are never counted; 'plain' starts at 185
    assert counts[180:185].sum() == 0
    # 'plain': qualities 2, 12, 13, 14 -> the first two bases are filtered at min_bq 13
    assert counts[185:187].sum() == 0 and counts[187:189].sum() == 2
    # MAPQ 0 and 5 reads count at min_mq 0 only
    p20 = run(bam, fasta, contig, min_bq=13, min_mq=20)
    assert oracle.as_numpy(p20.counts)[150:172].sum() < counts[150:172].sum()
    # overlapping pair1 (both at 200, 30M; READ1 forward) beside 'plain' (forward, to 204):
    # the pair counts once, on READ1's strand; equal bases sum their qualities
    assert counts[200:205].sum(axis=(1, 2)).tolist() == [2] * 5
    assert counts[200:205, 1].sum() == 0
    assert oracle.as_numpy(p.qual_sum)[201].sum() == (30 + 16 % 7) + 2 * (30 + 1 % 7)
    # without the overlap rule both mates count
    p2 = run(bam, fasta, contig, min_bq=13, overlaps=False)
    assert oracle.as_numpy(p2.counts)[200:205].sum(axis=(1, 2)).tolist() == [3] * 5


def test_depth_cap_is_deterministic_and_shard_invariant(synth_dataset) -> None:
    """The cap is decided per 64-bp bin from a hash of the read name: the same reads are kept
    whatever the shard boundaries, and depth stays near the cap."""
    ds = synth_dataset
    whole = gmscall.pileup(str(ds.bam), str(ds.fasta), ds.region, max_depth=12)
    assert whole.depth.max() <= 12 * 2
    assert whole.depth.max() < gmscall.pileup(str(ds.bam), str(ds.fasta), ds.region).depth.max()
    for shard_size in (997, 5000):
        parts = gmscall.pileup(str(ds.bam), str(ds.fasta), ds.region, max_depth=12, shard_size=shard_size,
                               threads=2)
        np.testing.assert_array_equal(parts.counts, whole.counts)
        np.testing.assert_array_equal(parts.ins, whole.ins)



def test_long_reads_past_shards(tmp_path: Path) -> None:
    """Long reads (10-30 kb) reach far past a shard's pileup, which visits each read over its range
    only: the counts and indels are the oracle's for any shard size."""
    from gmscall import synth

    ds = synth.make_long_read_dataset(tmp_path, length=40_000, depth=8, seed=11, platform="HIFI")
    region = f"{ds.contig}:15001-27000"
    want = oracle.pileup(ds.bam, ds.fasta, region)
    for shard in (5_000, 250_000):
        oracle.assert_pileup_equal(run(ds.bam, ds.fasta, region, shard_size=shard), want, f"shard {shard}")
