"""Long reads (PacBio HiFi, Oxford Nanopore): the simulator's error profile."""

from __future__ import annotations

import numpy as np
import pysam
import pytest
import synth


def _hp_error_rates(ds: synth.Dataset, lengths: range) -> float:
    """Share of reads whose run is read longer or shorter, over reference homopolymers of the
    given lengths away from planted variants (from the reads' exact CIGARs)."""
    ref = ds.reference.upper
    busy = np.zeros(len(ref) + 1, dtype=bool)
    for v in ds.truth:
        busy[max(0, v.pos - 20) : v.pos + len(v.ref) + 20] = True
    runs = [(s, e) for s, e in synth._homopolymers(ref, min(lengths))
            if e - s in lengths and s > 0 and not busy[s - 1 : e + 1].any()]
    changed = total = 0
    with pysam.AlignmentFile(str(ds.bam)) as bam:
        for rd in bam:
            if rd.is_supplementary:
                continue
            q_at = np.full(rd.reference_end - rd.reference_start, -1)
            for q, r in rd.get_aligned_pairs(matches_only=True):
                q_at[r - rd.reference_start] = q
            for s, e in runs:
                lo, hi = s - 1 - rd.reference_start, e - rd.reference_start
                if lo < 0 or hi >= len(q_at) or q_at[lo] < 0 or q_at[hi] < 0:
                    continue
                total += 1
                changed += int(q_at[hi] - q_at[lo] - 1 != e - s)
    return changed / max(1, total)


@pytest.fixture(scope="module")
def hifi(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """120 kb, 30x HiFi-like reads of 10-30 kb, 5 % of them chimeric (split alignments)."""
    return synth.make_long_read_dataset(tmp_path_factory.mktemp("hifi"), length=120_000, depth=30, seed=3,
                                        platform="HIFI", split_fraction=0.05)


def test_long_read_simulator(hifi: synth.Dataset) -> None:
    primary = [r for r in hifi.reads if not r.flag & synth.SUPPLEMENTARY]
    lengths = np.array([len(r.seq) for r in primary])
    assert lengths.max() <= 30_300 and np.median(lengths) >= 10_000  # spans of 10-30 kb, give or take errors
    assert any(r.flag & synth.SUPPLEMENTARY for r in hifi.reads)
    assert {r.flag & synth.REVERSE for r in primary} == {0, synth.REVERSE}
    # errors are homopolymer-length changes that grow with the run's length (real HiFi: 0.3 % of
    # reads at 2 bp, about 10 % at 8-10 bp; benchmarks/error_profile.py)
    short, long_ = _hp_error_rates(hifi, range(2, 4)), _hp_error_rates(hifi, range(8, 16))
    assert short < 0.01 and 0.05 < long_ < 0.3, (short, long_)
    with pysam.AlignmentFile(str(hifi.bam)) as bam:
        assert bam.header.to_dict()["RG"][0]["PL"] == "PACBIO"


def test_long_read_simulator_ont(tmp_path_factory: pytest.TempPathFactory) -> None:
    ds = synth.make_long_read_dataset(tmp_path_factory.mktemp("ont"), length=60_000, depth=20, seed=4,
                                      platform="ONT")
    # ONT R10: homopolymer errors more often than HiFi's, and about 5 substitutions per kb
    assert _hp_error_rates(ds, range(2, 4)) > 0.01 and _hp_error_rates(ds, range(8, 16)) > 0.15
    errors = sum(int(r.errors.sum()) for r in ds.reads if r.errors is not None)
    bases = sum(len(r.seq) for r in ds.reads)
    assert 0.005 < errors / bases < 0.03
    with pysam.AlignmentFile(str(ds.bam)) as bam:
        assert bam.header.to_dict()["RG"][0]["PL"] == "ONT"
