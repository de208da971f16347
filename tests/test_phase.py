"""Phasing: `gmscall eval --phase` on hand-made VCFs with known answers; read-backed phasing in
`gmscall call` on synthetic data with a known phase (pairs, haplotype windows, a gap that splits
blocks, determinism over threads and shards, bcftools reads it) and the phaser on hand-made reads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gmscall
from gmscall import _core, synth
from gmscall.evaluation import evaluate_phase

CLI = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]
from gmscall.evaluation.cli import main as eval_main

HEADER = """##fileformat=VCFv4.2
##contig=<ID=chr1,length=100000>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS
"""


def _vcf(path: Path, rows: list[tuple[int, str, str, str]]) -> str:
    """rows: (pos, ref, alt, sample column 'GT[:PS]'); FORMAT GT:PS when any column has a PS."""
    with_ps = any(":" in col for *_, col in rows)
    lines = [HEADER]
    for pos, ref, alt, col in rows:
        fmt = "GT:PS" if with_ps else "GT"
        if with_ps and ":" not in col:
            col += ":."
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{alt}\t50\tPASS\t.\t{fmt}\t{col}\n")
    path.write_text("".join(lines))
    return str(path)


def _truth(tmp_path: Path, n: int = 10) -> str:
    # simulated-set convention: unphased GTs whose order is the phase
    rows = [(100 * (k + 1), "A", "C", "0/1" if k % 3 else "1/0") for k in range(n)]
    return _vcf(tmp_path / "truth.vcf", rows)


def _truth_gt(k: int) -> str:
    return "0|1" if k % 3 else "1|0"


def test_perfect_phase(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", _truth_gt(k) + ":100") for k in range(10)])
    r = evaluate_phase(truth, calls)
    assert r.truth_phase == "order"
    assert (r.called_hets, r.phased_hets, r.matched_phased) == (10, 10, 10)
    assert (r.assessed_pairs, r.switches, r.flips) == (9, 0, 0)
    assert r.switch_error_rate == 0.0 and r.phased_fraction == 1.0
    assert (r.blocks, r.block_n50) == (1, 901)


def test_whole_block_inverted_is_no_error(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    inv = {"0|1": "1|0", "1|0": "0|1"}
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", inv[_truth_gt(k)] + ":100") for k in range(10)])
    assert evaluate_phase(truth, calls).switches == 0


def test_flip_and_switch(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    inv = {"0|1": "1|0", "1|0": "0|1"}
    gts = [_truth_gt(k) for k in range(10)]
    gts[3] = inv[gts[3]]  # one het against its neighbours: a flip (two switches)
    for k in range(7, 10):  # a long switch from the 8th het on
        gts[k] = inv[gts[k]]
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", g + ":100") for k, g in enumerate(gts)])
    r = evaluate_phase(truth, calls)
    assert (r.assessed_pairs, r.switches, r.flips, r.switches_after_flips) == (9, 3, 1, 1)
    assert r.switch_at == ["chr1:400", "chr1:500", "chr1:800"]


def test_blocks_unphased_and_unmatched(tmp_path: Path) -> None:
    truth = _truth(tmp_path)
    rows = [(100, "A", "C", "0|1:100"), (200, "A", "C", "0|1:100"), (300, "A", "C", "1|0:100"),  # block 100
            (400, "A", "C", "0/1"),  # unphased
            (500, "A", "G", "0|1:500"), (600, "A", "C", "0|1:500"), (700, "A", "C", "1|0:500"),  # 500: ALT G != truth C
            (800, "A", "C", "0|1:800"),  # a block of one het: not phased
            (900, "A", "C", "1/1"), (1000, "A", "C", "0|1:1000"), (1050, "A", "C", "0|1:1000")]
    calls = _vcf(tmp_path / "calls.vcf", rows)
    r = evaluate_phase(truth, calls)
    # hets: all but the hom; phased: blocks 100 (3), 500 (3), 1000 (2)
    assert r.called_hets == 10 and r.phased_hets == 8
    assert r.blocks == 3 and r.block_n50 == 201  # spans 201, 201, 51
    # block 100: 100,200 ok (truth 1/0,0/1 vs calls 0|1,0|1: switch), 200-300 (0/1,0/1 vs 0|1,1|0: switch)
    # block 500: 600-700 (truth 0/1,1/0 ... calls 0|1,1|0: ok); 1050 is no truth het
    assert r.assessed_pairs == 3 and r.switches == 2 and r.flips == 1
    assert r.matched_hets == 8  # 500 (A>G) and 1050 match no truth het


def test_phased_truth_blocks_and_multiallelic(tmp_path: Path) -> None:
    truth = _vcf(tmp_path / "truth.vcf", [
        (100, "A", "C", "0|1:100"), (200, "A", "C,G", "1|2:100"), (300, "A", "C", "1|0:300"),
        (400, "A", "C", "0|1:300"), (500, "A", "C", "0/1")])
    calls = _vcf(tmp_path / "calls.vcf", [
        (100, "A", "C", "1|0:7"), (200, "A", "G,C", "1|2:7"),  # same two ALTs, written the other way
        (300, "A", "C", "0|1:7"), (400, "A", "C", "0|1:7"), (500, "A", "C", "0|1:7")])
    r = evaluate_phase(truth, calls)
    assert r.truth_phase == "phased"
    # pairs: 100-200 (truth C|G vs calls G|C with C|A.. : same relative), 200-300 across truth
    # blocks (not assessed), 300-400 (truth 1|0,0|1 vs calls 0|1,0|1: switch); 500 unphased in truth
    assert r.assessed_pairs == 2 and r.switches == 1


def test_indel_matched_after_normalisation(tmp_path: Path) -> None:
    ref = tmp_path / "ref.fa"
    ref.write_text(">chr1\n" + "ACGT" * 10 + "AAAAAA" + "CGTA" * 200 + "\n")
    import pysam

    pysam.faidx(str(ref))
    truth = _vcf(tmp_path / "truth.vcf", [(20, "A", "C", "0/1"), (40, "TA", "T", "1/0"), (60, "A", "G", "0/1")])
    # the deletion written right-shifted in the homopolymer: the same het after left-alignment
    calls = _vcf(tmp_path / "calls.vcf", [(20, "A", "C", "0|1:20"), (44, "AA", "A", "1|0:20"), (60, "A", "G", "0|1:20")])
    r = evaluate_phase(truth, calls, str(ref))
    assert r.matched_phased == 3 and r.assessed_pairs == 2 and r.switches == 0


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    truth = _truth(tmp_path)
    calls = _vcf(tmp_path / "calls.vcf", [(100 * (k + 1), "A", "C", _truth_gt(k) + ":100") for k in range(10)])
    ref = tmp_path / "ref.fa"
    ref.write_text(">chr1\n" + "A" * 2000 + "\n")
    out = tmp_path / "r.json"
    assert eval_main(["--phase", "--truth", truth, "--calls", calls, "--ref", str(ref), "--json", str(out)]) == 0
    assert "switch errors      0" in capsys.readouterr().out
    assert json.loads(out.read_text())["phase"]["assessed_pairs"] == 9
    assert eval_main(["--phase", "--calls", calls]) == 2


# ------------------------------------------------------------------ read-backed phasing in `call`



@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """30 kb at 30x, pairs of 150 bp over 350-bp fragments: a het every ~250 bp, a 400-bp N run
    without reads (a gap that splits blocks), indels (haplotype windows) among the SNVs."""
    return synth.make_dataset(tmp_path_factory.mktemp("phase"), length=30_000, depth=30, seed=5, n_snv=120,
                              n_indel=20, het_fraction=0.8)


def _phased_hets(vcf: Path, sample: int | str = 0) -> list[tuple[int, str, int]]:
    """(POS, GT, PS) of one sample's het records (PS 0 when unphased)."""
    import pysam

    out = []
    with pysam.VariantFile(str(vcf)) as vf:
        for rec in vf:
            s = rec.samples[sample]
            gt = s["GT"]
            if len(gt) == 2 and gt[0] != gt[1] and None not in gt:
                ps = s.get("PS") if "PS" in rec.format else None
                out.append((rec.pos, "|".join(map(str, gt)) if s.phased else "/".join(map(str, gt)), ps or 0))
    return out


@pytest.fixture(scope="module")
def phased_vcf(ds: synth.Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("phased") / "calls.vcf.gz"
    gmscall.call(ds.bam, ds.fasta, output=out, shard_size=4000, command="gmscall call (test)")
    return out


def test_read_backed_phase_matches_truth(ds: synth.Dataset, phased_vcf: Path) -> None:
    r = evaluate_phase(str(ds.truth_vcf), str(phased_vcf), str(ds.fasta))
    assert r.truth_phase == "phased"  # the synthetic truth is phased (a|b), one block per contig
    assert r.assessed_pairs > 40 and r.switches == 0
    assert r.phased_fraction is not None and r.phased_fraction > 0.8
    hets = _phased_hets(phased_vcf)
    # PS is the POS of the block's first het; every phased het is in a block of two or more
    blocks: dict[int, list[int]] = {}
    for pos, gt, ps in hets:
        assert ("|" in gt) == (ps > 0)
        if ps:
            blocks.setdefault(ps, []).append(pos)
    assert all(ps == min(members) and len(members) >= 2 for ps, members in blocks.items())


def test_gap_without_reads_splits_blocks(ds: synth.Dataset, phased_vcf: Path) -> None:
    gap = ds.zero_coverage
    assert gap is not None
    blocks: dict[int, list[int]] = {}
    for pos, _, ps in _phased_hets(phased_vcf):
        if ps:
            blocks.setdefault(ps, []).append(pos)
    assert any(max(m) < gap[0] for m in blocks.values()) and any(min(m) > gap[1] for m in blocks.values())
    for members in blocks.values():  # no block reaches across the gap (1-based POS vs 0-based gap)
        assert max(members) <= gap[0] or min(members) > gap[1]


def test_mates_link_hets_further_apart_than_a_read(ds: synth.Dataset, phased_vcf: Path) -> None:
    hets = [(pos, ps) for pos, _, ps in _phased_hets(phased_vcf) if ps]
    gaps = [b[0] - a[0] for a, b in zip(hets, hets[1:]) if a[1] == b[1]]
    assert max(gaps) > 150  # only a read pair (150-bp mates, 350-bp fragments) spans these


def test_haplotype_window_records_are_phased(ds: synth.Dataset, phased_vcf: Path) -> None:
    import pysam

    with pysam.VariantFile(str(phased_vcf)) as vf:
        hap = [rec for rec in vf if "HAP" in rec.info and rec.samples[0].phased]
    assert hap, "no haplotype-model record was phased"
    r = evaluate_phase(str(ds.truth_vcf), str(phased_vcf), str(ds.fasta))
    assert r.switches == 0


def test_phase_is_byte_identical_over_threads_and_shards(ds: synth.Dataset, phased_vcf: Path,
                                                          tmp_path: Path) -> None:
    for threads, shard in ((1, 30_000), (2, 777), (2, 2500)):
        out = tmp_path / f"t{threads}-{shard}.vcf.gz"
        gmscall.call(ds.bam, ds.fasta, output=out, shard_size=shard, threads=threads, command="gmscall call (test)")
        assert out.read_bytes() == phased_vcf.read_bytes(), (threads, shard)


def test_no_phase_changes_only_the_phase(ds: synth.Dataset, phased_vcf: Path, tmp_path: Path) -> None:
    out = tmp_path / "unphased.vcf"
    gmscall.call(ds.bam, ds.fasta, output=out, command="gmscall call (test)",
                 options=gmscall.CallOptions(phase=False))
    plain = [ln for ln in out.read_text().splitlines() if not ln.startswith("##")]
    import gzip

    phased = [ln for ln in gzip.decompress(phased_vcf.read_bytes()).decode().splitlines() if not ln.startswith("##")]
    assert len(plain) == len(phased)
    n_phased = 0
    for a, b in zip(plain, phased):
        if a == b:
            continue
        n_phased += 1
        fa, fb = a.split("\t"), b.split("\t")
        assert fa[:8] == fb[:8] and fb[8] == fa[8] + ":PS"
        ga, gb = fa[9].split(":"), fb[9].split(":")
        assert ga[1:] == gb[1:-1] and sorted(ga[0].split("/")) == sorted(gb[0].split("|"))
    assert n_phased > 50
    assert "ID=PS" not in out.read_text()


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools is not installed")
def test_bcftools_reads_the_phased_vcf(phased_vcf: Path) -> None:
    res = subprocess.run(["bcftools", "query", "-i", 'GT="het"', "-f", "[%GT %PS]\\n", str(phased_vcf)],
                         capture_output=True, text=True, check=True)
    rows = res.stdout.split("\n")
    assert any("|" in r and r.split()[1] != "." for r in rows if r)


def test_phaser_joins_splits_and_orients() -> None:
    ph = _core.Phaser(1, 1000, 10)
    pos = np.array([100, 200, 300, 5000, 5100], dtype=np.int64)
    gt = np.array([[[0, 1]]] * 5, dtype=np.int32)
    filt = np.zeros(5, dtype=np.int32)
    # fragment 1 carries ALT at 100 and REF at 200: ALT 100 and ALT 200 in trans; fragment 2 links
    # 200 and 300 in cis; fragment 3 links 5000 and 5100: a block of its own (no fragment spans the gap)
    rows = [(0, 1, 30, 400), (1, 1, -30, 400), (1, 2, 30, 600), (2, 2, 30, 600), (3, 3, 30, 5200), (4, 3, 30, 5200),
            (4, 4, -5, 5300)]
    rec = np.array([r[0] for r in rows], dtype=np.int32)
    frag = np.array([r[1] for r in rows], dtype=np.uint64)
    w = np.array([r[2] for r in rows], dtype=np.int16)
    reach = np.array([r[3] for r in rows], dtype=np.int64)
    zeros = np.zeros(len(rows), dtype=np.int32)
    block, flip = ph.add(pos[:4], gt[:4], filt[:4], rec[:5], zeros[:5], frag[:5], reach[:5], w[:5], 1)
    # 5000 is alone so far, and fragment 3 reaches 5200: not final until hets past 5200 were seen
    assert not ph.final(block, 5000) and not ph.final(block, 5199) and ph.final(block, 5200)
    assert ph.final(block[:3], 300)  # a block of three: final at once
    block2, flip2 = ph.add(pos[4:], gt[4:], filt[4:], rec[5:] - 4, zeros[5:], frag[5:], reach[5:], w[5:], 1)
    block, flip = np.concatenate([block, block2]), np.concatenate([flip, flip2])
    assert list(block[:, 0]) == [0, 0, 0, 1, 1]
    assert list(flip[:, 0]) == [0, 1, 1, 0, 0]  # 0|1, 1|0, 1|0; 0|1, 0|1
    assert list(ph.resolve(block)[:, 0]) == [101, 101, 101, 5001, 5001]
    ph.reset()
    # a weak link (below min_vote) does not join; a het without reads stays alone: PS 0
    block, _ = ph.add(pos[:2], gt[:2], filt[:2], np.array([0, 1], dtype=np.int32), np.zeros(2, dtype=np.int32),
                      np.array([9, 9], dtype=np.uint64), np.array([400, 400], dtype=np.int64),
                      np.array([5, 5], dtype=np.int16), 1)
    assert list(ph.resolve(block)[:, 0]) == [0, 0]
    # a fragment links no het past its reach
    ph.reset()
    block, _ = ph.add(pos[:2], gt[:2], filt[:2], np.array([0, 1], dtype=np.int32), np.zeros(2, dtype=np.int32),
                      np.array([9, 9], dtype=np.uint64), np.array([150, 150], dtype=np.int64),
                      np.array([30, 30], dtype=np.int16), 1)
    assert list(ph.resolve(block)[:, 0]) == [0, 0]


# ------------------------------------------------------------------ pedigree phasing (--ped)


def _family_truth(fam: synth.Family, name: str, path: Path) -> str:
    rows = [(pos + 1, ref, alt, f"{g[0]}|{g[1]}") for pos, (ref, alt, g) in sorted(fam.truth[name].items())]
    text = HEADER.replace("chr1,length=100000", f"{fam.contig},length=1000000").replace("\tS\n", f"\t{name}\n")
    text += "".join(f"{fam.contig}\t{p}\t.\t{r}\t{a}\t50\tPASS\t.\tGT\t{g}\n" for p, r, a, g in rows)
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def fam(tmp_path_factory: pytest.TempPathFactory) -> synth.Family:
    """A trio whose child carries the father's haplotype 0 and the mother's haplotype 1."""
    return synth.make_family(tmp_path_factory.mktemp("fam"), length=30_000, depth=25, seed=11, n_snv=60)


def test_pedigree_phases_child_and_parents_by_transmission(fam: synth.Family, tmp_path: Path) -> None:
    out = tmp_path / "trio.vcf.gz"
    bams = [fam.bams[n] for n in ("DAD", "MUM", "KID")]
    gmscall.call(bams, fam.fasta, output=out, ped=fam.ped, command="gmscall call (test)")
    for name in ("KID", "DAD", "MUM"):
        truth = _family_truth(fam, name, tmp_path / f"{name}.truth.vcf")
        r = evaluate_phase(truth, str(out), str(fam.fasta), calls_sample=name)
        # every het here but the child's de novo SNV is informed by the other members' genotypes
        # (the parents' SNVs never share a site): phased, in one transmission block per sample (a
        # child: paternal|maternal)
        assert r.switches == 0 and r.assessed_pairs >= 20, (name, r)
        assert r.phased_hets >= r.called_hets - (name == "KID") and r.blocks == 1, (name, r)
    assert {pos for pos, _, ps in _phased_hets(out, "KID") if not ps} <= {fam.de_novo + 1}
    for name in ("KID", "DAD", "MUM"):
        assert len({ps for _, _, ps in _phased_hets(out, name) if ps}) == 1


def test_pedigree_phase_is_shard_independent(fam: synth.Family, tmp_path: Path) -> None:
    bams = [fam.bams[n] for n in ("DAD", "MUM", "KID")]
    outs = []
    for threads, shard in ((1, 30_000), (2, 999)):
        out = tmp_path / f"t{threads}.vcf.gz"
        gmscall.call(bams, fam.fasta, output=out, ped=fam.ped, threads=threads, shard_size=shard, command="x")
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]


def test_phaser_transmission() -> None:
    # columns: 0 child, 1 father, 2 mother; one record: child 0/1, father 0/0, mother 1/1: the ALT is
    # maternal (child 0|1), the mother's hom is not phased; a second: child 0/1, father 0/1, mother
    # 0/0: the ALT is paternal (1|0), the father transmitted it (1|0); a third, all 0/1: no
    # transmission, and no reads: unphased
    ph = _core.Phaser(3, 1000, 10, [[0, 1, 2]])
    gt = np.array([[[0, 1], [0, 0], [1, 1]], [[0, 1], [0, 1], [0, 0]], [[0, 1], [0, 1], [0, 1]]], dtype=np.int32)
    empty_i = np.zeros(0, dtype=np.int32)
    block, flip = ph.add(np.array([10, 20, 30], dtype=np.int64), gt, np.zeros(3, dtype=np.int32), empty_i, empty_i,
                         np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int16), 3)
    ps = ph.resolve(block)
    assert ps[0, 0] == ps[1, 0] == 11 and ps[1, 1] == 21 and (ps[2] == 0).all() and ps[0, 1] == ps[0, 2] == 0
    assert flip[0, 0] == 0 and flip[1, 0] == 1 and flip[1, 1] == 1


def test_ps_round_trip_through_gvcf_genotyping(ds: synth.Dataset, phased_vcf: Path, tmp_path: Path) -> None:
    """A gVCF is phased like the VCF; `gmscall genotype` of it keeps each het's own phase (GT
    order and PS) where its genotype is its own call: the VCF's phased hets again."""
    gvcf, out = tmp_path / "x.g.vcf.gz", tmp_path / "geno.vcf.gz"
    gmscall.call(ds.bam, ds.fasta, output=gvcf, shard_size=4000, options=gmscall.CallOptions(gvcf=True))
    gmscall.genotype_gvcfs([gvcf], ds.fasta, out)
    expected = _phased_hets(phased_vcf)
    assert sum(ps > 0 for _, _, ps in expected) > 50
    assert _phased_hets(out) == expected
    assert [h for h in _phased_hets(gvcf) if h[0] in {p for p, _, _ in expected}] == expected
    res = subprocess.run([*CLI, "check", "-f", str(ds.fasta), str(gvcf)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr


# ------------------------------------------------------------------ --haplotag


def _tags(bam: Path) -> dict[tuple[str, int], tuple[int, int]]:
    import pysam

    out = {}
    with pysam.AlignmentFile(str(bam)) as f:
        for r in f.fetch(until_eof=True):
            if r.has_tag("HP"):
                out[(r.query_name, r.flag)] = (r.get_tag("HP"), r.get_tag("PS"))
    return out


def test_haplotag_writes_hp_and_ps(ds: synth.Dataset, phased_vcf: Path, tmp_path: Path) -> None:
    import pysam

    out, tagged = tmp_path / "calls.vcf.gz", tmp_path / "tagged.bam"
    res = subprocess.run([*CLI, "call", "-f", str(ds.fasta), "--shard-size", "4000", "-o", str(out),
                          "--haplotag", str(tagged), str(ds.bam)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert Path(str(tagged) + ".bai").exists()
    with pysam.AlignmentFile(str(ds.bam)) as a, pysam.AlignmentFile(str(tagged)) as b:
        assert sum(1 for _ in a.fetch(until_eof=True)) == sum(1 for _ in b.fetch(until_eof=True))
        assert any(pg.get("ID") == "gmscall-haplotag" for pg in b.header.to_dict().get("PG", []))
    tags = _tags(tagged)
    assert len(tags) > 500
    # PS: a block of the VCF; HP: the simulated haplotype of the read, up to the block's orientation
    blocks = {ps for _, _, ps in _phased_hets(phased_vcf) if ps}
    assert {ps for _, ps in tags.values()} <= blocks
    hap = {(rd.name, rd.flag): rd.hap for rd in ds.reads}
    agree: dict[int, list[int]] = {}
    for key, (hp, ps) in tags.items():
        agree.setdefault(ps, [0, 0])[int((hp - 1) == hap[key])] += 1
    right = sum(max(v) for v in agree.values())
    assert right >= 0.99 * len(tags), (right, len(tags))
    # the same tags for any shard size and thread count
    other = tmp_path / "tagged2.bam"
    gmscall.call(ds.bam, ds.fasta, output=tmp_path / "c2.vcf", shard_size=777, threads=2, haplotag=other)
    assert _tags(other) == tags


def test_haplotag_needs_one_sample_and_an_output(ds: synth.Dataset, tmp_path: Path) -> None:
    from gmscall.errors import InputError

    with pytest.raises(InputError, match="output"):
        gmscall.call(ds.bam, ds.fasta, haplotag=tmp_path / "x.bam")
    with pytest.raises(InputError, match="one BAM"):
        gmscall.call(ds.bam, ds.fasta, output=tmp_path / "x.vcf", haplotag=tmp_path / "x.bam",
                     options=gmscall.CallOptions(phase=False))


@pytest.mark.skipif(shutil.which("whatshap") is None, reason="whatshap is not installed (pip install whatshap)")
def test_whatshap_stats_reads_the_output(phased_vcf: Path) -> None:
    res = subprocess.run(["whatshap", "stats", str(phased_vcf)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert "Blocks:" in res.stdout
