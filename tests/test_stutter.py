"""The PCR stutter of benchmarks/simulate_set.py --stutter (gmscall.synth.stutter_*): rates by tract
length and period, edits of whole units inside the tract, and the reads rebuilt from ART's SAM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from benchmark_scripts import load as load_benchmark

from gmscall.synth import STUTTER_CAP, STUTTER_LOSS, repeat_tracts, stutter_fragment, stutter_rate


def test_rates_grow_with_length_and_fall_with_period():
    assert stutter_rate(1, 5) == 0 and stutter_rate(2, 4) == 0 and stutter_rate(4, 8) == 0  # too short
    assert stutter_rate(1, 8) == pytest.approx(1e-3)
    assert stutter_rate(1, 12) == pytest.approx(1e-2)
    assert stutter_rate(1, 16) == pytest.approx(1e-1)
    assert stutter_rate(1, 40) == STUTTER_CAP
    for p in (1, 2, 3, 4):
        rates = [stutter_rate(p, n * p) for n in range(3, 12)]
        assert rates == sorted(rates)
    assert stutter_rate(2, 12) < stutter_rate(1, 12) and stutter_rate(3, 12) < stutter_rate(2, 12)
    assert stutter_rate(1, 12, scale=3) == pytest.approx(3e-2)


def test_tracts_take_the_shortest_period():
    seq = "GATC" + "A" * 10 + "GTCG" + "AC" * 6 + "TTGCA" + "CAG" * 4 + "GTTC"
    assert repeat_tracts(seq) == [(4, 14, 1), (18, 30, 2), (35, 47, 3)]
    assert repeat_tracts("ACGTTGCA") == []


def test_stutter_rate_and_edits_on_a_synthetic_tract():
    rng = np.random.default_rng(5)
    flank = "GATTCAGCTGCGTACCTGAG"
    hap = flank + "A" * 14 + flank[::-1] + "CA" * 9 + flank
    tracts = repeat_tracts(hap)
    assert [(e - s, p) for s, e, p in tracts] == [(14, 1), (18, 2)]
    n = 20_000
    counts = {(0, -1): 0, (0, 1): 0, (1, -2): 0, (1, 2): 0}
    for _ in range(n):
        mol, edits = stutter_fragment(hap, 0, len(hap), tracts, rng)
        for s, d in edits:
            counts[(0 if s == tracts[0][0] else 1, d)] += 1
        # the copy is the haplotype with each edited tract one unit longer or shorter
        want = hap
        for s, d in sorted(edits, reverse=True):
            e = next(t[1] for t in tracts if t[0] == s)
            want = want[:e + d] + want[e:] if d < 0 else want[:e] + want[s:s + d] + want[e:]
        assert mol == want
    for t, (s, e, p) in enumerate(tracts):
        rate = stutter_rate(p, e - s)
        k = counts[(t, -p)] + counts[(t, p)]
        sd = math.sqrt(n * rate * (1 - rate))
        assert abs(k - n * rate) < 4 * sd + 1, (t, k, n * rate)
        assert abs(counts[(t, -p)] - k * STUTTER_LOSS) < 4 * math.sqrt(k * 0.25) + 1
    # a tract not wholly inside the molecule is left alone
    starts = set()
    for seed in range(50):
        _, edits = stutter_fragment(hap, 25, len(hap), tracts, np.random.default_rng(seed))
        starts.update(s for s, _ in edits)
    assert starts == {tracts[1][0]}


def test_sam_to_fastq_rebuilds_both_mates(tmp_path):
    simulate_set = load_benchmark("simulate_set")
    left, right = "GATTCAGCTGCGTACCTGAGCAGTCATGCA" * 2, "CCTGAGCATTGACGTAGCACGTCATGACGA" * 2
    hap = left + "T" * 18 + right  # 18-bp homopolymer: rate capped at STUTTER_CAP; molecule 138 bp
    lines = ["@HD\tVN:1.4"]
    n = 2000
    fwd_seq = hap[:10] + ("A" if hap[10] != "A" else "C") + hap[11:100]  # ART's substitution at cycle 10
    rev_seq = hap[len(hap) - 100:]
    for k in range(n):
        lines.append(f"p{k}\t99\thap0\t1\t99\t100M\t=\t{len(hap) - 99}\t{len(hap)}\t{fwd_seq}\t{'I' * 100}")
        lines.append(f"p{k}\t147\thap0\t{len(hap) - 99}\t99\t100M\t=\t1\t-{len(hap)}\t{rev_seq}\t{'5' * 99 + '#'}")
    sam = tmp_path / "r.sam"
    sam.write_text("\n".join(lines) + "\n")
    pairs, edited = simulate_set.stutter_sam_to_fastq(sam, hap, tmp_path / "1.fq", tmp_path / "2.fq", seed=3)
    assert pairs == n
    assert abs(edited - n * STUTTER_CAP) < 4 * math.sqrt(n * STUTTER_CAP * (1 - STUTTER_CAP))
    r1 = (tmp_path / "1.fq").read_text().split("\n")
    r2 = (tmp_path / "2.fq").read_text().split("\n")
    comp = str.maketrans("ACGT", "TGCA")
    lengths = {17: 0, 18: 0, 19: 0}
    for k in range(n):
        s1, q1, s2, q2 = r1[4 * k + 1], r1[4 * k + 3], r2[4 * k + 1], r2[4 * k + 3]
        assert len(s1) == len(s2) == 100 and q1 == "I" * 100 and q2 == "#" + "5" * 99  # qualities per cycle
        assert s1[:10] == hap[:10] and s1[10] == fwd_seq[10]  # ART's error kept at its cycle
        rev = s2.translate(comp)[::-1]
        assert rev.endswith(right) and s1.startswith(left[:10])
        # both mates read the same molecule: the same tract length in each
        t1 = len(s1[len(left):]) - len(s1[len(left):].lstrip("T"))
        t2 = len(rev[: -len(right)]) - len(rev[: -len(right)].rstrip("T"))
        assert t1 == t2 and t1 in lengths
        assert s1[:len(left)] == fwd_seq[:len(left)]
        assert s1[len(left) + t1:] == right[: 100 - len(left) - t1]
        lengths[t1] += 1
    assert lengths[17] + lengths[19] == edited
    assert lengths[17] > lengths[19]  # losses more often than gains


def test_stutter_oracle_puts_the_simulators_law_into_a_learnt_model(tmp_path):
    """benchmarks/stutter_oracle.py: a learnt model of a clean library takes the simulator's law
    where it is higher (long tracts: gap codes at the floor and one-unit slips, losses at
    STUTTER_LOSS), keeps its own rates where they are higher, and the file round-trips."""
    from gmscall.error_model import PHRED_FLOOR, fit_counts, read_error_model, write_error_model

    oracle = load_benchmark("stutter_oracle")
    k, n, loci = (np.zeros((9, 21), np.int64) for _ in range(3))
    n[1:6, 1:], loci[1:6, 1:] = 2000, 50
    k[1, 1:4] = 200  # homopolymers of 1-3 bases: 10 %, above the law (0 there)
    learnt = fit_counts("rg", "S", "ILLUMINA", k, n, loci)
    model = oracle.oracle_model(learnt)
    assert model.rates[3][7 - 2] == pytest.approx(stutter_rate(3, 21)) and learnt.rates[3][7 - 2] < 0.01
    assert model.gap_open[3][7 - 2] == PHRED_FLOOR and model.stutter[3][7 - 2] > 0
    assert model.rates[1][2 - 1] == learnt.rates[1][2 - 1] > 0.05
    assert model.stutter_loss == STUTTER_LOSS and "stutter law" in model.fit
    assert oracle.oracle_model(learnt, scale=0.0).gap_open == learnt.gap_open  # no law: the learnt codes
    path = write_error_model(tmp_path / "oracle.txt", [model])
    assert read_error_model(path)[0].stutter == model.stutter


def test_stutter_oracle_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    oracle = load_benchmark("stutter_oracle")
    rc = oracle.main(["--bam", str(tmp_path / "no.bam"), "--ref", str(tmp_path / "no.fa"), "--region", "chr1:1-100",
                      "-o", str(tmp_path / "m.txt")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("stutter_oracle: error:") and err.count("\n") == 1
    assert not (tmp_path / "m.txt").exists()
