"""The pair-HMM's CPU schedule (the jobs of one read in lockstep, transitions precomputed per batch)
against the one-job kernel that the GPU runs, bit for bit, and both against a plain Python forward
algorithm written from kernels/pairhmm.hpp's model."""

from __future__ import annotations

import math
import random

import pytest

from gmscall import _core

GAP_EXT = list(_core.gap_ext_classes)
INIT = 1e280


def reference_likelihood(read, quals, hap, codes, diag, band, slips=None):
    """P(read | hap) * INIT: read global, haplotype local, band of half-width `band` around
    haplotype position diag + i for read base i (kernels/pairhmm.hpp, written out plainly); slips:
    a slip word per haplotype position (a tract's one-unit slips: match state to match state)."""
    def err(q):
        return min(0.75, 10 ** (-q / 10))

    def open_(c):
        return 10 ** (-(c & 63) / 10)

    def slip(q):
        return 0.0 if q == 0 else 10 ** (-q / 10)

    slips = slips or [0] * len(hap)

    m_len = len(hap)
    M, I, D = {}, {}, {}
    for i, (r, q) in enumerate(zip(read, quals)):
        hit, miss = (0.25, 0.25) if r == 4 else (1 - err(q), err(q) / 3)
        for j in range(max(0, diag + i - band), min(m_len, diag + i + band + 1)):
            e = 0.25 if hap[j] == 4 else (hit if hap[j] == r else miss)
            if i == 0:
                M[i, j], I[i, j] = e * INIT, 0.0
            else:
                c, cp = codes[j], codes[j - 1] if j > 0 else codes[j]
                sp, sw = slips[j - 1] if j > 0 else slips[j], slips[j]
                M[i, j] = e * (M.get((i - 1, j - 1), 0.0) * (1 - 2 * open_(cp) - slip(sp >> 20 & 63))
                               + (I.get((i - 1, j - 1), 0.0) + D.get((i - 1, j - 1), 0.0)) * (1 - GAP_EXT[cp >> 6]))
                p_ins, p_del = sw & 15, sw >> 10 & 15
                if p_ins:  # the read reads the unit at j again: from j + p - 1
                    M[i, j] += e * M.get((i - 1, j + p_ins - 1), 0.0) * slip(sw >> 4 & 63)
                if p_del:  # the read skips the unit before j: from j - p - 1
                    M[i, j] += e * M.get((i - 1, j - p_del - 1), 0.0) * slip(sw >> 14 & 63)
                I[i, j] = M.get((i - 1, j), 0.0) * open_(c) + I.get((i - 1, j), 0.0) * GAP_EXT[c >> 6]
            c = codes[j]
            D[i, j] = M.get((i, j - 1), 0.0) * open_(c) + D.get((i, j - 1), 0.0) * GAP_EXT[c >> 6] \
                if j > diag + i - band else 0.0
    last = len(read) - 1
    return sum(M.get((last, j), 0.0) + I.get((last, j), 0.0) for j in range(m_len))


def random_batch(rng: random.Random, n_reads: int):
    """Reads, each against 1-6 haplotypes (a window's): mutated copies of one sequence, own band and
    diagonal (some hanging off either end of the haplotype), N bases, learnt-style gap codes."""
    read_bases, read_quals, hap_bases, hap_go, jobs = [], [], [], [], []
    for _ in range(n_reads):
        hap_len = rng.randint(1, 160)
        base = [rng.randrange(4) for _ in range(hap_len)]
        read_len = rng.randint(1, min(120, hap_len + 10))
        start = rng.randint(-5, max(0, hap_len - read_len) + 5)
        read = [base[start + t] if 0 <= start + t < hap_len and rng.random() > 0.03 else rng.randrange(5)
                for t in range(read_len)]
        read_off = len(read_bases)
        read_bases += read
        read_quals += [rng.choice([0, 2, 10, 20, 30, 40, 60, 93, 127]) for _ in range(read_len)]
        for _ in range(rng.randint(1, 6)):
            hap = list(base)
            for _ in range(rng.randint(0, 3)):
                at = rng.randrange(len(hap))
                if rng.random() < 0.5:
                    hap.insert(at, rng.randrange(4))
                elif len(hap) > 1:
                    del hap[at]
            hap = [4 if rng.random() < 0.02 else b for b in hap]
            hap_off, go_off = len(hap_bases), len(hap_go)
            hap_bases += hap
            hap_go += [rng.randrange(5, 64) | (rng.randrange(4) << 6) for _ in hap]
            band = rng.choice([0, 1, 5, 8, 12, 30, 64])
            diag = start + rng.randint(-band - 3, band + 3)
            jobs.append((read_off, read_len, hap_off, len(hap), go_off, diag, band))
    return jobs, read_bases, read_quals, hap_bases, hap_go


def random_slips(rng: random.Random, n: int) -> list[int]:
    """A slip word per gap code: insertion and deletion slips landing (periods 1-8), slips leaving."""
    words = []
    for _ in range(n):
        w = 0
        if rng.random() < 0.15:
            w |= rng.randint(1, 8) | rng.randint(3, 63) << 4
        if rng.random() < 0.15:
            w |= rng.randint(1, 8) << 10 | rng.randint(3, 63) << 14
        if rng.random() < 0.15:
            w |= rng.randint(10, 63) << 20
        words.append(w)
    return words


@pytest.mark.parametrize("seed", range(6))
def test_cpu_schedule_matches_one_job_kernel_bit_for_bit(seed: int) -> None:
    batch = random_batch(random.Random(seed), 40)
    lanes = _core.pairhmm(*batch)
    one = _core.pairhmm(*batch, per_job=True)
    assert len(lanes) == len(batch[0])
    assert [x.hex() for x in lanes] == [x.hex() for x in one]
    assert any(x > 0 for x in lanes)


@pytest.mark.parametrize("seed", range(4))
def test_slips_same_bits_in_both_schedules(seed: int) -> None:
    rng = random.Random(100 + seed)
    batch = random_batch(rng, 40)
    slips = random_slips(rng, len(batch[4]))
    lanes = _core.pairhmm(*batch, hap_slip=slips)
    one = _core.pairhmm(*batch, per_job=True, hap_slip=slips)
    assert [x.hex() for x in lanes] == [x.hex() for x in one]
    assert lanes != _core.pairhmm(*batch)  # the slips change the likelihoods
    # words of zeros are no slips: the same bits as none
    assert [x.hex() for x in _core.pairhmm(*batch, hap_slip=[0] * len(batch[4]))] == \
        [x.hex() for x in _core.pairhmm(*batch)]


def test_slips_follow_the_model() -> None:
    rng = random.Random(12)
    batch = random_batch(rng, 12)
    jobs, rb, rq, hb, go = batch
    slips = random_slips(rng, len(go))
    got = _core.pairhmm(*batch, hap_slip=slips)
    for job, value in zip(jobs, got):
        ro, rl, ho, hl, goff, diag, band = job
        want = reference_likelihood(rb[ro:ro + rl], rq[ro:ro + rl], hb[ho:ho + hl], go[goff:goff + hl], diag, band,
                                    slips[goff:goff + hl])
        assert value == pytest.approx(want, rel=1e-9, abs=0.0)


def test_a_slip_is_taken_once_per_tract() -> None:
    """A read one unit short of a (CA)10 tract: with a slip of 0.1 each way at the tract's first unit
    its likelihood is about 0.1 / 0.81 of the exact read's (the slip taken once, not per position);
    the exact read pays 0.9 where each slip leaves (before the tract, and at its first unit's end)."""
    flank_l, flank_r = [0, 2, 3, 3, 2, 0, 3, 2], [3, 2, 2, 0, 3, 3, 0, 2]
    tract = [1, 0] * 10
    hap = flank_l + tract + flank_r
    short = flank_l + tract[2:] + flank_r
    codes = [45] * len(hap)
    x, p, q = len(flank_l), 2, 10  # tract start, period, slip Phred (0.1)
    slips = [0] * len(hap)
    slips[x] |= p | q << 4              # an insertion slip lands on the first unit ...
    slips[x + p - 1] |= q << 20         # ... leaving from the unit's end
    slips[x + p] |= p << 10 | q << 14   # a deletion slip lands one unit on ...
    slips[x - 1] |= q << 20             # ... leaving from before the tract

    def lik(read, slip_words):
        jobs = [(0, len(read), 0, len(hap), 0, 0, 8)]
        return _core.pairhmm(jobs, read, [40] * len(read), hap, codes, hap_slip=slip_words)[0]

    assert lik(short, slips) / lik(short, []) > 1000  # without the slip the short read needs a gap-open of 45
    assert lik(short, slips) / lik(hap, slips) == pytest.approx(0.1 / 0.81, rel=0.05)
    assert lik(hap, slips) / lik(hap, []) == pytest.approx(0.81, rel=0.01)
    longer = flank_l + tract[:2] + tract + flank_r  # reads the first unit twice, passing both leaves
    assert lik(longer, slips) / lik(hap, slips) == pytest.approx(0.1, rel=0.05)


def test_likelihoods_follow_the_model() -> None:
    batch = random_batch(random.Random(11), 12)
    jobs, rb, rq, hb, go = batch
    got = _core.pairhmm(*batch)
    for job, value in zip(jobs, got):
        ro, rl, ho, hl, goff, diag, band = job
        want = reference_likelihood(rb[ro:ro + rl], rq[ro:ro + rl], hb[ho:ho + hl], go[goff:goff + hl], diag, band)
        assert value == pytest.approx(want, rel=1e-9, abs=0.0)


def test_a_read_prefers_its_own_haplotype() -> None:
    hap = [0, 1, 2, 3] * 10
    other = hap[:20] + hap[21:]  # one base deleted
    read = hap[5:35]
    codes = [45] * 40
    jobs = [(0, 30, 0, 40, 0, 5, 8), (0, 30, 40, 39, 40, 5, 8)]
    own, alt = _core.pairhmm(jobs, read, [30] * 30, hap + other, codes + codes[:39])
    assert math.log10(own) - math.log10(alt) > 3


def test_bad_jobs_are_refused() -> None:
    with pytest.raises(Exception, match="band"):
        _core.pairhmm([(0, 1, 0, 1, 0, 0, 65)], [0], [30], [0], [45])
    with pytest.raises(Exception, match="outside"):
        _core.pairhmm([(0, 2, 0, 1, 0, 0, 1)], [0], [30], [0], [45])
