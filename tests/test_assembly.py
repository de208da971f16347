"""Local assembly (csrc/core/assembly.cpp): the de Bruijn graph and its k retry on repeats,
insertions and internal tandem duplications whose reads the aligner soft-clipped, long deletions,
a complex event, the same haplotypes for any thread count or shard split, and nothing changed
where the reads agree with the reference."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pysam
import pytest

import gmscall
from gmscall import _core, synth
from gmscall.options import CallOptions


def calls_of(path: Path) -> dict[tuple[int, str, str], str]:
    """(0-based pos, REF, ALT) -> GT of every record."""
    with pysam.VariantFile(str(path)) as vf:
        out = {}
        for rec in vf:
            gt = rec.samples[0]["GT"]
            out[(rec.pos - 1, rec.ref, ",".join(rec.alts))] = "/".join(str(a) for a in gt)
        return out


def scored(ds: synth.Dataset, calls: dict) -> list[str]:
    """Per truth variant: 'ok' (allele and genotype), 'gt' (allele only) or '--' (missed)."""
    out = []
    for v in ds.truth:
        got = calls.get((v.pos, v.ref, v.alts[0]))
        want = "1/1" if v.genotype == (1, 1) else "0/1"
        out.append("ok" if got == want else "gt" if got else "--")
    return out


# ---------------------------------------------------------------------------------------------
# the graph alone


def test_graph_finds_an_insertion_and_keeps_the_reference_path() -> None:
    rng = np.random.default_rng(1)
    ref = "".join("ACGT"[i] for i in rng.integers(0, 4, 200))
    alt = ref[:100] + "TTGACCA" + ref[100:]
    k, paths = _core.assemble_sequences(ref, [alt[i : i + 120] for i in range(0, 90, 6)])
    assert k == 21
    assert alt in paths and ref in paths


def test_graph_retries_a_larger_k_when_a_repeat_folds_it() -> None:
    rng = np.random.default_rng(2)

    def flank(n: int) -> str:
        return "".join("ACGT"[i] for i in rng.integers(0, 4, n))

    unit = "ACGTTGCAGGATC"  # 13 bp
    left, right = flank(80), flank(80)
    ref = left + unit * 4 + right  # a 52-bp tract: k-mers of 21..41 repeat in the reference
    alt = left + unit * 5 + right
    reads = [alt[i : i + 150] for i in range(0, len(alt) - 149, 3)]
    k, paths = _core.assemble_sequences(ref, reads)
    assert k > 52 and alt in paths
    # Reads shorter than the tract cannot place the extra unit: no k works.
    k_short, _ = _core.assemble_sequences(ref, [alt[i : i + 40] for i in range(0, len(alt) - 39, 2)])
    assert k_short == 0 or alt not in _


def test_graph_prunes_edges_below_the_support() -> None:
    rng = np.random.default_rng(3)
    ref = "".join("ACGT"[i] for i in rng.integers(0, 4, 200))
    alt = ref[:100] + ("A" if ref[100] != "A" else "C") + ref[101:] + ""
    alt = alt[:120] + alt[121:]  # an SNV and a 1-bp deletion on one read only
    reads = [ref[i : i + 120] for i in range(0, 80, 8)] + [alt[30:150]]
    _, paths = _core.assemble_sequences(ref, reads, min_support=2)
    assert paths == [ref]
    _, paths1 = _core.assemble_sequences(ref, reads, min_support=1)
    assert len(paths1) == 2


# ---------------------------------------------------------------------------------------------
# whole calls on synthetic genomes whose long insertions are soft-clipped as an aligner clips them

LENGTHS = (20, 25, 30, 40, 50, 60, 75, 90, 110, 130, 150)


@pytest.fixture(scope="module")
def long_indels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[synth.Dataset, dict, dict]]:
    out = {}
    for kind in ("duplication", "insertion", "deletion"):
        root = tmp_path_factory.mktemp(kind)
        ds = synth.make_long_indel_dataset(root, LENGTHS, kind=kind)
        with_asm = calls_of(gmscall.call(ds.bam, ds.fasta, output=root / "asm.vcf"))
        without = calls_of(gmscall.call(ds.bam, ds.fasta, output=root / "plain.vcf",
                                        options=CallOptions(assemble=False)))
        out[kind] = (ds, with_asm, without)
    return out


def test_synth_soft_clips_reads_over_long_insertions(long_indels) -> None:
    ds = long_indels["insertion"][0]
    spans_150 = [rd for rd in ds.reads if rd.cigar and any(op == 1 and n >= 15 for op, n in rd.cigar)]
    assert not spans_150  # no read spells a 15-bp or longer insertion in its CIGAR
    clipped = [rd for rd in ds.reads if rd.cigar and not rd.clip_junk and any(op == 4 and n >= 15 for op, n in rd.cigar)]
    assert len(clipped) > 10 * len(LENGTHS)


@pytest.mark.parametrize("kind", ["duplication", "insertion"])
def test_soft_clipped_insertions_of_20_to_150_bp_are_called(long_indels, kind: str) -> None:
    ds, with_asm, without = long_indels[kind]
    got = scored(ds, with_asm)
    assert got.count("ok") >= 0.9 * len(got), list(zip(LENGTHS, got))
    assert scored(ds, without).count("--") == len(got)  # the CIGARs alone show none of them
    truth = {(v.pos, v.ref, v.alts[0]) for v in ds.truth}
    assert set(with_asm) <= truth  # and nothing else is called


def test_long_deletions_beyond_the_cigar_limit_are_called(long_indels) -> None:
    ds, with_asm, without = long_indels["deletion"]
    assert scored(ds, with_asm) == ["ok"] * len(LENGTHS)
    assert [s for n, s in zip(LENGTHS, scored(ds, without)) if n > CallOptions().max_indel_len] == ["--"] * 6


def test_internal_tandem_duplications_longer_than_a_read(tmp_path: Path) -> None:
    """Found from the clipped reads at either junction. Their genotype is not asserted: no read
    spans a copy, and a reference read matches the duplicated haplotype as well as its own."""
    ds = synth.make_long_indel_dataset(tmp_path, (200, 250, 300), kind="duplication")
    calls = calls_of(gmscall.call(ds.bam, ds.fasta, output=tmp_path / "c.vcf"))
    assert scored(ds, calls).count("--") == 0


def test_a_complex_event_is_called_as_the_haplotype_has_it(tmp_path: Path) -> None:
    """A deletion, an SNV and an insertion within 12 bp on one haplotype (het): the records, applied
    to the reference, spell that haplotype."""
    ref = synth.make_reference(6_000, 44, n_run=0, softmask=False)
    r = ref.upper
    p = 3_000
    snv = "A" if r[p + 6] != "A" else "G"
    edits = [(p, r[p : p + 4], r[p]), (p + 6, r[p + 6], snv), (p + 11, r[p + 11], r[p + 11] + "GATTACA")]
    haps = (synth._build_haplotype(ref.contig, 0, r, edits), synth._build_haplotype(ref.contig, 1, r, []))
    reads = synth.simulate_reads(haps, 44, 40, softclip_fraction=0.0)
    fasta = synth.write_fasta(tmp_path / "ref.fa", ref)
    bam = synth.write_bam(tmp_path / "reads.bam", reads, ref)
    calls = calls_of(gmscall.call(bam, fasta, output=tmp_path / "c.vcf"))
    assert calls and all(gt == "0/1" for gt in calls.values()), calls
    seq = list(r)
    for (pos, ra, aa) in sorted(calls, reverse=True):
        seq[pos : pos + len(ra)] = list(aa)
    window = slice(p - 100, p + 100)
    assert "".join(seq)[window] == haps[0].seq[window]


def test_assembled_haplotypes_do_not_depend_on_threads_or_shards(tmp_path: Path, long_indels) -> None:
    ds = long_indels["duplication"][0]
    outs = []
    for threads, shard in ((1, 250_000), (2, 1_000), (2, 2_333), (1, 777)):
        out = tmp_path / f"{threads}-{shard}.vcf"
        gmscall.call(ds.bam, ds.fasta, output=out, threads=threads, shard_size=shard, command="x")
        outs.append(out.read_bytes())
    assert all(o == outs[0] for o in outs[1:])


def test_quiet_regions_are_untouched(tmp_path: Path) -> None:
    """SNVs only and no soft clips: no active region, so assembly changes no byte."""
    ds = synth.make_dataset(tmp_path, length=15_000, n_indel=0, softclip_fraction=0.0, seed=8)
    a = gmscall.call(ds.bam, ds.fasta, output=tmp_path / "a.vcf", command="x")
    b = gmscall.call(ds.bam, ds.fasta, output=tmp_path / "b.vcf", command="x",
                     options=dataclasses.replace(CallOptions(), assemble=False))
    assert a.read_bytes() == b.read_bytes()
    assert len(calls_of(a)) >= 20


@pytest.mark.cuda
def test_assembled_calls_cuda_parity(tmp_path: Path, long_indels) -> None:
    """Assembled haplotypes genotyped by the CUDA pair-HMM: the same bytes as on the CPU."""
    ds = long_indels["duplication"][0]
    out = {}
    for backend in ("cpu", "cuda"):
        out[backend] = tmp_path / f"{backend}.vcf"
        gmscall.call(ds.bam, ds.fasta, output=out[backend], backend=backend, command="x", shard_size=2_000, threads=2)
    cpu, gpu = (p.read_text().replace(f"##gmscallBackend={b}\n", "") for b, p in out.items())
    assert cpu == gpu


def test_two_expansions_of_a_tandem_repeat(tmp_path: Path) -> None:
    """A 60-bp AAAG repeat with one more unit on one haplotype and four more on the other (1/2),
    the reads over the 16-bp expansion soft-clipped: one record with both ALTs."""
    ref = synth.make_reference(6_000, 46, n_run=0, softmask=False)
    p = 3_000
    r = ref.upper[:p] + "AAAG" * 15 + ref.upper[p + 60 :]
    ref = synth.Reference(ref.contig, r, ref.n_runs)
    anchor = p - 1
    short = (anchor, r[anchor], r[anchor] + "AAAG")
    long_ = (anchor, r[anchor], r[anchor] + "AAAG" * 4)
    haps = (synth._build_haplotype(ref.contig, 0, r, [short]), synth._build_haplotype(ref.contig, 1, r, [long_]))
    reads = synth.simulate_reads(haps, 46, 40, softclip_fraction=0.0, clip_insertions_over=15)
    fasta = synth.write_fasta(tmp_path / "ref.fa", ref)
    bam = synth.write_bam(tmp_path / "reads.bam", reads, ref)
    calls = calls_of(gmscall.call(bam, fasta, output=tmp_path / "c.vcf"))
    assert calls == {(anchor, r[anchor], f"{r[anchor]}AAAG,{r[anchor]}{'AAAG' * 4}"): "1/2"}, calls


def test_gata_repeat_of_the_real_hg001_slice(shared_data: Path) -> None:
    """GIAB HG001 chr20:10,037,110-10,037,145, the issue's GATA repeat: the truth's two homozygous
    insertions (+4, +8). Five MAPQ-29 reads there were written by the aligner with three deletions;
    they match the haplotype with both insertions exactly, but placed from their first aligned
    base they sat 18 bp off its diagonal, beyond the pair-HMM band, and made the +4 look het. The
    band now spans the placements from the read's first and from its last aligned base."""
    d = shared_data / "real-hg001-chr20-2x101"
    recs = gmscall.call(d / "reads.bam", d / "ref.fa.gz", "chr20:10037000-10037300")
    got = {(r["pos"], r["ref"], tuple(r["alts"])): tuple(r["gt"]) for r in recs}
    assert got.get((10037110, "T", ("TGATA",))) == (1, 1), got
    assert got.get((10037144, "T", ("TGATAGATA",))) == (1, 1), got


def _mixed_representation_case(root: Path) -> tuple[Path, Path, int]:
    """A het haplotype with one more AC unit in an (AC)8 repeat and G>A at the base after it,
    on 6 of 46 spanning reads, written two ways as an aligner may: +AC at the repeat plus the
    mismatch (3 reads), or the mismatch at the first G plus +CA after it (3 reads). Each way is
    below the indel candidates' fraction (3/46 < 0.08); the two together are not.
    Returns (fasta, bam, 0-based position of the repeat's anchor base)."""
    from test_robustness import ref_fasta, write_bam

    rng = np.random.default_rng(5)

    def flank(n: int) -> str:
        return "".join("ACGT"[i] for i in rng.integers(0, 4, n))

    left, right = flank(150) + "T", "GG" + flank(150)
    ref = left + "AC" * 8 + right
    anchor, g = len(left) - 1, len(left) + 16  # the repeat's anchor; the first G after it
    alt = left + "AC" * 9 + "A" + right[1:]
    reads = []
    for k in range(46):
        start = anchor - 40 - (k * 7) % 30
        if k < 40:
            seq, cigar = ref[start : start + 100], "100M"
        else:
            seq = alt[start : start + 100]
            if k < 43:  # +AC after the anchor, then the mismatch
                cigar = f"{anchor + 1 - start}M2I{100 - (anchor + 1 - start) - 2}M"
            else:  # the mismatch at the first G, then +CA after it
                cigar = f"{g + 1 - start}M2I{100 - (g + 1 - start) - 2}M"
        reads.append({"name": f"r{k}", "pos": start, "cigar": cigar, "seq": seq, "flag": 16 * (k % 2)})
    reads.sort(key=lambda r: r["pos"])
    fasta = ref_fasta(root / "ref.fa", "chrM2", ref)
    bam = write_bam(root / "reads.bam", "chrM2", len(ref), reads)
    return fasta, bam, anchor


def test_one_event_written_two_ways_is_assembled(tmp_path: Path) -> None:
    fasta, bam, anchor = _mixed_representation_case(tmp_path)
    calls = {(r["pos"] - 1, r["ref"], tuple(r["alts"])): r["gt"] for r in gmscall.call(bam, fasta)}
    g = anchor + 17
    assert calls == {(anchor, "T", ("TAC",)): (0, 1), (g, "G", ("A",)): (0, 1)}
