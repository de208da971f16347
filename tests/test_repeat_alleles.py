"""Tandem-repeat alleles from reads that do not span the repeat (csrc/core/repeat_alleles.cpp): a
two-allele repeat whose long allele only soft-clipped, flanking reads reach is called as both
alleles; a length that spanning reads show but the aligner clipped is proposed; a dinucleotide
repeat takes the learnt model's period-2 rates, not those of period 4. The synthetic reads are
aligned at repeats as an aligner aligns them (synth.make_repeat_dataset)."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from gmscall import call, synth
from gmscall.error_model import ErrorModel


def site_calls(ds: synth.Dataset, vcf_records: list[dict]) -> dict[int, list[int]]:
    """Per truth site (its 0-based anchor): the called alleles' length changes, one per GT copy."""
    out: dict[int, list[int]] = {}
    for v in ds.truth:
        for r in vcf_records:
            if r["pos"] - 1 != v.pos:
                continue
            alleles = [r["ref"], *r["alts"]]
            out[v.pos] = sorted(len(alleles[a]) - len(r["ref"]) for a in r["gt"])
    return out


def truth_changes(v: synth.Variant) -> list[int]:
    alleles = [v.ref, *v.alts]
    return sorted(len(alleles[a]) - len(v.ref) for a in v.genotype)


def test_reads_that_stop_inside_an_expanded_repeat_are_clipped_not_gapped(tmp_path: Path) -> None:
    ds = synth.make_repeat_dataset(tmp_path, [("TTCC", 12, (0, 11))], depth=40, seed=3)
    ts = ds.truth[0].pos + 1  # first base of the tract
    te = ts + 48
    flanking = 0
    with pysam.AlignmentFile(str(ds.bam)) as bam:
        for a in bam.fetch(ds.contig, ts - 1, te):
            if a.is_secondary or a.is_supplementary or a.is_unmapped:
                continue
            ops = [op for op, _ in a.cigartuples]
            if a.reference_start < ts - 8 and a.reference_end <= te + 1 and ops[-1] == 4:
                flanking += 1  # entered from the left, clipped where the reference tract ends
                assert 1 not in ops and 2 not in ops, a.cigarstring
            assert not any(op == 1 and n >= 44 for op, n in a.cigartuples), a.cigarstring
    assert flanking >= 2


@pytest.mark.parametrize("seed", [7, 8])
def test_long_allele_that_only_clipped_reads_reach_is_called_with_the_short_one(tmp_path: Path, seed: int) -> None:
    """Tracts of 48-60 bp, one allele a unit or two longer, the other 36-44 bp longer: 2x100 reads
    cannot cross the long one with an anchor on both sides, so no CIGAR shows it. Each site is a
    het of both alleles; the long one is the shortest length the flanking reads allow, at most
    three units short of the truth (the reads hold no more on its length)."""
    sites = [("TTCC", 12, (1, 11)), ("ATTT", 14, (2, 9)), ("AAAG", 15, (1, 10))]
    ds = synth.make_repeat_dataset(tmp_path, sites, depth=40, read_len=100, seed=seed)
    got = site_calls(ds, call(str(ds.bam), str(ds.fasta)))
    for (unit, _, _), v in zip(sites, ds.truth):
        short, long_ = truth_changes(v)
        assert v.pos in got, f"{unit}: no call"
        called_short, called_long = got[v.pos]
        assert called_short == short, (unit, got[v.pos], (short, long_))
        assert long_ - 3 * len(unit) <= called_long <= long_, (unit, got[v.pos], (short, long_))


@pytest.mark.parametrize("seed", [2, 3, 5])
def test_insertions_inside_repeats_that_the_aligner_clips_are_called(tmp_path: Path, seed: int) -> None:
    """Insertions of 16-20 bp inside 56-60 bp repeats: the few reads that cross them are clipped
    by the aligner, and the de Bruijn graph folds on the repeat; the spanning reads' lengths show
    them."""
    sites = [("TTCC", 15, (0, 5)), ("TG", 28, (-2, 9)), ("CA", 30, (0, 8)), ("GT", 25, (2, 10))]
    ds = synth.make_repeat_dataset(tmp_path, sites, depth=40, read_len=100, seed=seed)
    got = site_calls(ds, call(str(ds.bam), str(ds.fasta)))
    for (unit, _, _), v in zip(sites, ds.truth):
        assert got.get(v.pos) == truth_changes(v), (unit, got.get(v.pos), truth_changes(v))


def test_a_dinucleotide_repeat_takes_the_period_2_rates(tmp_path: Path) -> None:
    """A model whose period-4 tracts are noisy (gap-open Phred 20) leaves CA repeats alone: a CA
    tract is a period-2 tract, as the model counts it, not one of CACA units."""
    sites = [("CA", 20, (1, 2)), ("TG", 18, (1, 2)), ("AC", 22, (-1, 1))]
    ds = synth.make_repeat_dataset(tmp_path, sites, depth=40, read_len=100, seed=5)
    noisy_p4 = [ErrorModel(rg, ds.sample, "", 1000, 100000, "learnt", {4: tuple([20] * 19)}) for rg in ("L1", "L2")]
    got = site_calls(ds, call(str(ds.bam), str(ds.fasta), error_model=noisy_p4))
    for (unit, _, _), v in zip(sites, ds.truth):
        assert got.get(v.pos) == truth_changes(v), (unit, got.get(v.pos), truth_changes(v))


def test_the_same_records_for_any_threads_and_shards(tmp_path: Path) -> None:
    """Shard boundaries through the tracts (sites every 1500 bp, shards of 1000, 1501, 1550 and
    3000 bp) change no record: a tract's reads and proposals do not depend on the split."""
    sites = [("TTCC", 12, (1, 11)), ("TG", 28, (-2, 9)), ("TTCC", 15, (0, 5)), ("ATTT", 14, (2, 9))]
    ds = synth.make_repeat_dataset(tmp_path / "d", sites, depth=40, read_len=100, seed=7)

    def body(path: Path) -> list[str]:
        with pysam.VariantFile(str(path)) as vf:
            return [str(r) for r in vf]

    base = body(call(str(ds.bam), str(ds.fasta), output=tmp_path / "base.vcf", threads=1))
    assert len(base) >= len(sites)
    for k, size in enumerate((1000, 1501, 1550, 3000)):
        got = body(call(str(ds.bam), str(ds.fasta), output=tmp_path / f"{k}.vcf", threads=2, shard_size=size))
        assert got == base, f"shard_size={size}"
