"""Invariants of the synthetic-data generator (tests/synth.py)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pysam
import pytest
import synth


def _apply_truth(ref: str, truth: list[synth.Variant], hap: int) -> str:
    """Haplotype sequence from the truth records, by plain string splicing (independent of
    synth._build_haplotype)."""
    out, cur = [], 0
    for v in sorted(truth, key=lambda v: v.pos):
        allele = v.genotype[hap]
        if allele == 0:
            continue
        out.append(ref[cur : v.pos])
        out.append(v.alts[allele - 1])
        cur = v.pos + len(v.ref)
    out.append(ref[cur:])
    return "".join(out)


def test_reference_features() -> None:
    ref = synth.make_reference(20_000, seed=3, n_run=400, softmask=True)
    assert len(ref) == 20_000 and ref.contig == "chrS"
    assert set(ref.seq) <= set("ACGTacgtN")
    (s, e) = ref.n_runs[0]
    assert ref.seq[s:e] == "N" * 400 and "N" not in ref.seq[:s] + ref.seq[e:]
    assert ref.masked and all(ref.seq[a:b].islower() for a, b in ref.masked)
    up = ref.upper
    assert re.search(r"(A{8,}|C{8,}|G{8,}|T{8,})", up), "no homopolymer"
    assert re.search(r"([ACGT]{2,3})\1{3,}", up), "no tandem repeat"
    plain = synth.make_reference(5000, seed=3)
    assert not plain.n_runs and not plain.masked and plain.seq.isupper()


def test_truth_normalised_and_haplotypes(synth_dataset: synth.Dataset) -> None:
    ds = synth_dataset
    ref = ds.reference.upper
    kinds = Counter(v.kind for v in ds.truth)
    assert kinds["snv"] >= 30 and kinds["ins"] >= 3 and kinds["del"] >= 3, kinds
    gts = Counter(v.genotype for v in ds.truth)
    assert gts[(1, 1)] and (gts[(0, 1)] + gts[(1, 0)]) and gts[(1, 2)], gts
    assert any(v.kind == "mixed" for v in ds.truth), "no multi-allelic indel site"
    positions = [v.pos for v in ds.truth]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    for v in ds.truth:
        assert ref[v.pos : v.pos + len(v.ref)] == v.ref, v
        alleles = (v.ref, *v.alts)
        assert all(set(a) <= set("ACGT") for a in alleles), v
        assert len(set(v.alts)) == len(v.alts) and v.ref not in v.alts, v
        if v.kind != "snv":
            assert len({a[0] for a in alleles}) == 1, f"indel without a shared anchor base: {v}"
            assert len({a[-1] for a in alleles}) > 1, f"indel not left-aligned: {v}"
            assert min(len(a) for a in alleles) == 1 or v.kind == "mixed", v
    # homopolymer indels exist
    hp = [v for v in ds.truth if v.kind in ("ins", "del") and re.match(r"(.)\1{4,}", ref[v.pos + 1 :])]
    assert hp, "no indel in a homopolymer"
    for h in (0, 1):
        hap = ds.haplotypes[h]
        assert hap.seq == _apply_truth(ref, ds.truth, h)
        # hap2ref: aligned bases equal the reference except at SNVs; strictly increasing
        aligned = hap.hap2ref >= 0
        r = hap.hap2ref[aligned]
        assert np.all(np.diff(r) > 0)
        hs = np.frombuffer(hap.seq.encode(), dtype=np.uint8)[aligned]
        rs = np.frombuffer(ref.encode(), dtype=np.uint8)[r]
        snv_pos = {v.pos for v in ds.truth if v.kind == "snv" and v.genotype[h]}
        assert set(r[hs != rs].tolist()) == snv_pos


def _read_key(a: pysam.AlignedSegment) -> tuple[str, int]:
    return a.query_name, a.flag


def test_reads_reproduce_haplotypes(synth_dataset: synth.Dataset) -> None:
    """Each mapped primary read, walked along its CIGAR as stored in the BAM, reproduces the
    haplotype it came from (and the reference coordinates of that haplotype) except at its
    simulated errors."""
    ds = synth_dataset
    sims = {(r.name, r.flag): r for r in ds.reads}
    n_checked = n_err = n_ins = n_del = 0
    with pysam.AlignmentFile(str(ds.bam)) as bf:
        for a in bf.fetch(ds.contig):
            if a.flag & (0x4 | 0x100 | 0x800):
                continue
            sim = sims[_read_key(a)]
            hap = ds.haplotypes[sim.hap]
            seq = a.query_sequence
            q = 0
            r = a.reference_start
            for op, n in a.cigartuples:
                if op == 0:
                    for k in range(n):
                        hpos = sim.hap_start + q + k
                        assert hap.hap2ref[hpos] == r + k, (a.query_name, a.cigarstring, q + k)
                        if seq[q + k] != hap.seq[hpos]:
                            assert sim.errors[q + k], (a.query_name, q + k)
                            n_err += 1
                        elif sim.errors is not None:
                            assert not sim.errors[q + k]
                    q += n
                    r += n
                elif op == 1:
                    assert (hap.hap2ref[sim.hap_start + q : sim.hap_start + q + n] == -1).all()
                    n_ins += 1
                    q += n
                elif op == 2:
                    # the deleted reference positions are absent from the haplotype
                    assert not np.isin(np.arange(r, r + n), hap.hap2ref).any()
                    n_del += 1
                    r += n
                elif op == 4:
                    q += n
                else:
                    raise AssertionError(f"unexpected CIGAR op {op} in a primary read")
            assert q == len(seq) and r == a.reference_end
            n_checked += 1
    assert n_checked > 3000 and n_ins > 10 and n_del > 10
    # error rate: about what the quality model implies
    assert 0.002 < n_err / (n_checked * 150) < 0.05


def test_bam_contents(synth_dataset: synth.Dataset) -> None:
    ds = synth_dataset
    flags: Counter = Counter()
    mapqs, starts, ends = [], [], []
    overlapping = soft = hard = 0
    by_name: dict[str, list[pysam.AlignedSegment]] = {}
    with pysam.AlignmentFile(str(ds.bam)) as bf:
        assert bf.has_index()
        rgs = bf.header.to_dict()["RG"]
        assert {rg["SM"] for rg in rgs} == {ds.sample}
        last = -1
        for a in bf.fetch(ds.contig):
            assert a.reference_start >= last, "not coordinate-sorted"
            last = a.reference_start
            for bit in (0x4, 0x100, 0x200, 0x400, 0x800, 0x10, 0x40, 0x80, 0x2):
                flags[bit] += bool(a.flag & bit)
            assert a.get_tag("RG") in {rg["ID"] for rg in rgs}
            if a.is_unmapped:
                continue
            mapqs.append(a.mapping_quality)
            starts.append(a.reference_start)
            ends.append(a.reference_end)
            soft += any(op == 4 for op, _ in a.cigartuples)
            hard += any(op == 5 for op, _ in a.cigartuples)
            if not a.flag & 0x900:
                by_name.setdefault(a.query_name, []).append(a)
    for bit in (0x4, 0x100, 0x200, 0x400, 0x800, 0x10, 0x40, 0x80, 0x2):
        assert flags[bit] > 0, f"no read with flag {bit:#x}"
    assert sum(m < 20 for m in mapqs) > 20 and soft > 50 and hard > 0
    assert min(starts) == 0 and max(ends) == ds.length, "no reads at the contig ends"
    for pair in by_name.values():
        if len(pair) != 2 or not pair[0].is_proper_pair:
            continue
        a, b = sorted(pair, key=lambda x: x.reference_start)
        assert a.template_length == -b.template_length > 0
        assert a.next_reference_start == b.reference_start and b.next_reference_start == a.reference_start
        assert a.is_reverse != b.is_reverse and a.is_read1 != b.is_read1
        assert a.get_tag("MC") == b.cigarstring
        overlapping += a.reference_end > b.reference_start
    assert overlapping > 50, "too few overlapping mates"
    # mean depth of the primary, unfiltered reads: near the requested 30x
    cov = np.zeros(ds.length)
    for s, e in zip(starts, ends):
        cov[s:e] += 1
    assert 25 < np.median(cov) < 40
    lo, hi = ds.zero_coverage
    assert hi - lo > 100 and not cov[lo:hi].any()


def test_truth_vcf(synth_dataset: synth.Dataset) -> None:
    ds = synth_dataset
    assert Path(str(ds.truth_vcf) + ".tbi").is_file()
    with pysam.VariantFile(str(ds.truth_vcf)) as vf:
        assert list(vf.header.samples) == [ds.sample]
        assert vf.header.contigs[ds.contig].length == ds.length
        recs = list(vf.fetch(ds.contig))
    assert len(recs) == len(ds.truth)
    for rec, v in zip(recs, ds.truth):
        assert (rec.chrom, rec.pos, rec.ref, rec.alts) == (v.contig, v.pos + 1, v.ref, v.alts)
        s = rec.samples[ds.sample]
        assert s["GT"] == v.genotype and s.phased


def test_deterministic(tmp_path: Path) -> None:
    def dump(d: synth.Dataset) -> tuple:
        with pysam.AlignmentFile(str(d.bam)) as bf:
            reads = [a.to_string() for a in bf.fetch(until_eof=True)]
        return d.reference.seq, d.truth, reads

    a = synth.make_dataset(tmp_path / "a", length=6000, depth=10, seed=5)
    b = synth.make_dataset(tmp_path / "b", length=6000, depth=10, seed=5)
    c = synth.make_dataset(tmp_path / "c", length=6000, depth=10, seed=6)
    assert dump(a) == dump(b)
    assert dump(a)[0] != dump(c)[0] and dump(a)[2] != dump(c)[2]
    assert (tmp_path / "a" / "ref.fa").read_bytes() == (tmp_path / "b" / "ref.fa").read_bytes()


@pytest.mark.parametrize("read_len", [100, 151])
def test_other_read_lengths(tmp_path: Path, read_len: int) -> None:
    ds = synth.make_dataset(tmp_path, length=5000, depth=8, seed=2, read_len=read_len, frag_mean=300)
    with pysam.AlignmentFile(str(ds.bam)) as bf:
        lens = {a.query_length for a in bf.fetch(ds.contig) if not a.flag & 0x904}
    assert lens == {read_len}


def test_cigar_from_map() -> None:
    m = np.array([5, 6, -1, -1, 7, 10, 11, -1])
    pos, cigar = synth._cigar_from_map(m, 0, 0)
    assert pos == 5 and cigar == [(0, 2), (1, 2), (0, 1), (2, 2), (0, 2), (4, 1)]
    pos, cigar = synth._cigar_from_map(np.array([-1, 3, 4, 5, 6]), 2, 1)
    assert pos == 4 and cigar == [(4, 2), (0, 2), (4, 1)]
