"""gVCF output: every base in exactly one record or reference block, blocks banded by GQ and
split by depth class, <NON_REF> on records, the same bytes for any shard split, and files that
bcftools and tabix read."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest
from conftest import fail_shards_from, tabix_of

import gmscall
from gmscall import synth
from gmscall.errors import InputError
from gmscall.options import CallOptions

GVCF = CallOptions(gvcf=True)


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    return synth.make_dataset(tmp_path_factory.mktemp("gvcf"), length=30_000, depth=20, seed=17)


def rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    text = gzip.decompress(data).decode() if data[:2] == b"\x1f\x8b" else data.decode()
    return [ln.split("\t") for ln in text.splitlines() if not ln.startswith("#")]


def span(row: list[str]) -> tuple[int, int]:
    """0-based half-open reference span of a gVCF line."""
    start = int(row[1]) - 1
    info = dict(kv.split("=", 1) for kv in row[7].split(";") if "=" in kv)
    return (start, int(info["END"])) if "END" in info else (start, start + len(row[3]))


def test_every_base_is_covered_once(ds: synth.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "x.g.vcf.gz"
    gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF, shard_size=4_000)
    spans = [span(r) for r in rows(out)]
    assert spans[0][0] == 0 and spans[-1][1] == ds.length  # both contig ends
    for (_, e), (s, _) in zip(spans, spans[1:]):
        assert e == s, (e, s)  # no gap, no overlap, across shard borders too
    # the N run has no reads: blocks of DP 0 and GQ 0 there
    zs, _ze = ds.zero_coverage
    inside = [r for r in rows(out) if span(r)[0] <= zs < span(r)[1]]
    assert inside and inside[0][9].split(":")[1:3] == ["0", "0"]


def test_same_bytes_for_any_split(ds: synth.Dataset, tmp_path: Path) -> None:
    data = []
    for threads, shard in ((1, 1_000_000), (2, 777), (2, 4_000)):
        out = tmp_path / f"{threads}-{shard}.g.vcf.gz"
        gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF, shard_size=shard, threads=threads, command="x")
        data.append(out.read_bytes())
    assert data[0] == data[1] == data[2]


def test_records_carry_non_ref_and_match_the_vcf(ds: synth.Dataset, tmp_path: Path) -> None:
    """Every record of the VCF is in the gVCF, with <NON_REF> added (AD 0) and PL and GL over all
    its alleles; the gVCF may hold more records (uncalled candidates, QUAL below --min-qual) and
    more alleles at a record (every candidate haplotype's), which `gmscall genotype` leaves out
    again (tests/test_genotype.py checks that it gives the VCF's calls)."""
    vcf, gvcf = tmp_path / "x.vcf", tmp_path / "x.g.vcf"
    gmscall.call(ds.bam, ds.fasta, output=vcf)
    gmscall.call(ds.bam, ds.fasta, output=gvcf, options=GVCF)
    variants = {r[1]: r for r in rows(gvcf) if "END=" not in r[7]}
    plain = rows(vcf)
    assert plain and {r[1] for r in plain} <= set(variants)
    for g in variants.values():
        alts = g[4].split(",")
        assert alts[-1] == "<NON_REF>" and "<NON_REF>" not in alts[:-1]
        assert g[8] in ("GT:GQ:DP:AD:PL:GL", "GT:GQ:DP:AD:PL:GL:PS")  # PS: a phased het (read-backed)
        gf = g[9].split(":")
        n_alleles = len(alts) + 1
        assert len(gf[3].split(",")) == n_alleles and gf[3].endswith(",0")  # AD of <NON_REF>: 0
        pl, gl = [int(x) for x in gf[4].split(",")], [float(x) for x in gf[5].split(",")]
        assert len(pl) == len(gl) == n_alleles * (n_alleles + 1) // 2
        assert max(gl) == 0 and all(abs(min(p, 999) - min(999, round(-10 * x))) <= 1 for p, x in zip(pl, gl))
    for p in plain:
        g = variants[p[1]]
        if g[3:5] == [p[3], p[4] + ",<NON_REF>"]:  # the same alleles: the same call
            assert g[5:8] == p[5:8]  # QUAL, FILTER, INFO
            gf, pf = g[9].split(":"), p[9].split(":")
            assert gf[:3] == pf[:3] and gf[3] == pf[3] + ",0"  # GT (phased alike), GQ, DP, AD


def test_blocks_are_banded(ds: synth.Dataset, tmp_path: Path) -> None:
    bands = (1, 10, 20, 30, 40, 50, 60, 99)
    out = tmp_path / "x.g.vcf"
    gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF)
    text = out.read_text()
    assert "##GVCFBlock20-30=minGQ=20(inclusive),maxGQ=30(exclusive)" in text
    assert "##ALT=<ID=NON_REF," in text and "##FORMAT=<ID=MIN_DP," in text

    def band(gq: int) -> int:
        return sum(gq >= b for b in bands)

    blocks = [r for r in rows(out) if "END=" in r[7]]
    assert len(blocks) > 10
    split_by_band = 0
    for a, b in zip(blocks, blocks[1:]):
        if span(a)[1] != span(b)[0]:
            continue  # a record between them
        ga, gb = int(a[9].split(":")[1]), int(b[9].split(":")[1])
        split_by_band += band(ga) != band(gb)
    assert split_by_band > 0
    coarse = tmp_path / "coarse.g.vcf"
    gmscall.call(ds.bam, ds.fasta, output=coarse, options=CallOptions(gvcf=True, gq_bands=(20,)))
    assert len(rows(coarse)) < len(rows(out))  # fewer bands, fewer blocks


def test_deletion_bases_are_not_in_blocks(ds: synth.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "x.g.vcf"
    gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF)
    all_rows = rows(out)
    dels = [k for k, r in enumerate(all_rows) if "END=" not in r[7] and len(r[3]) > 1]
    assert dels
    for k in dels:
        _s, e = span(all_rows[k])
        assert span(all_rows[k + 1])[0] == e  # the next block starts after the deleted bases


def test_bcftools_and_tabix_read_it(ds: synth.Dataset, tmp_path: Path) -> None:
    out = tmp_path / "x.g.vcf.gz"
    gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF)
    with pysam.TabixFile(str(out)) as tbx:  # a query inside a block finds the block (END)
        hits = list(tbx.fetch(ds.contig, 15_000, 15_001))
    assert len(hits) == 1
    bcftools = shutil.which("bcftools")
    if bcftools is None:
        pytest.skip("bcftools not installed (apt-get install bcftools): view/norm/merge --gvcf not checked")
    for cmd in (["view", str(out)], ["norm", "-f", str(ds.fasta), str(out)]):
        proc = subprocess.run([bcftools, *cmd], capture_output=True, text=True, check=False)
        assert proc.returncode == 0 and "warn" not in proc.stderr.lower(), proc.stderr
    other = tmp_path / "y.g.vcf.gz"
    gmscall.call(ds.bam, ds.fasta, output=other, options=GVCF, sample="OTHER")
    proc = subprocess.run([bcftools, "merge", "--gvcf", str(ds.fasta), str(out), str(other)], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "warn" not in proc.stderr.lower(), proc.stderr
    assert any(ln.startswith("#CHROM") and ln.endswith("SYNTH\tOTHER") for ln in proc.stdout.splitlines())


def test_gvcf_needs_one_sample_and_a_file(ds: synth.Dataset, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="output"):
        gmscall.call(ds.bam, ds.fasta, options=GVCF)
    fam = synth.make_family(tmp_path / "fam", length=5_000, n_snv=5)
    with pytest.raises(InputError, match="one sample"):
        gmscall.call(list(fam.bams.values()), fam.fasta, output=tmp_path / "x.g.vcf", options=GVCF)
    with pytest.raises(InputError, match="GQ bands"):
        CallOptions(gvcf=True, gq_bands=(20, 10))


def test_resumed_gvcf_is_byte_identical(ds: synth.Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Checkpoints hold each shard's result, so blocks merge across reused and fresh shards alike."""
    whole = tmp_path / "whole.g.vcf.gz"
    gmscall.call(ds.bam, ds.fasta, output=whole, options=GVCF, shard_size=3_000, command="x")
    out = tmp_path / "x.g.vcf.gz"
    fail_shards_from(monkeypatch, 15_000)
    with pytest.raises(InputError):
        gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF, shard_size=3_000, command="x", resume=True)
    monkeypatch.undo()
    gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF, shard_size=3_000, command="x", resume=True)
    assert out.read_bytes() == whole.read_bytes()


def test_long_deletion_reaching_into_the_next_shard(tmp_path: Path) -> None:
    """A 260-bp deletion (max_indel_len 400) that starts more than 200 bp before a shard border:
    its bases are in no block, whatever the shard size, and fully deleted bases are never
    confident hom-ref."""
    ref = synth.make_reference(12_000, 31)
    r = ref.upper
    hap = synth._build_haplotype(ref.contig, 0, r, [(5600, r[5600:5861], r[5600])])
    reads = synth.simulate_reads((hap, hap), 31, 30, dup_fraction=0.0, low_mapq_fraction=0.0,
                                 qcfail_fraction=0.0, unmapped_mate_fraction=0.0)
    fasta = synth.write_fasta(tmp_path / "ref.fa", ref)
    bam = synth.write_bam(tmp_path / "reads.bam", reads, ref)
    opts = CallOptions(gvcf=True, max_indel_len=400)
    outs = []
    for shard in (5_830, 5_850, 250_000):
        out = tmp_path / f"{shard}.g.vcf"
        gmscall.call(bam, fasta, output=out, options=opts, shard_size=shard, command="x")
        spans = [span(r) for r in rows(out)]
        assert all(e == s for (_, e), (s, _) in zip(spans, spans[1:])), shard
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]
    # Without assembly the deletion (over max_indel_len) is no candidate: its bases are blocks of
    # GQ 0; assembly finds it and its record covers them.
    short = tmp_path / "short.g.vcf"
    gmscall.call(bam, fasta, output=short, options=dataclasses.replace(GVCF, assemble=False))
    inside = [r for r in rows(short) if "END=" in r[7] and span(r)[0] < 5_800 and span(r)[1] > 5_700]
    assert inside and all(r[9].split(":")[1] == "0" for r in inside)
    assembled = tmp_path / "assembled.g.vcf"
    gmscall.call(bam, fasta, output=assembled, options=GVCF)
    assert [(r[1], len(r[3]), r[9][:3]) for r in rows(assembled) if "END=" not in r[7]] == [("5601", 261, "1/1")]


def test_bgzipped_gvcf_holds_the_plain_text_with_tabix_index(ds: synth.Dataset, tmp_path: Path) -> None:
    """A .g.vcf.gz is deflated at a faster level than bgzip's (a gVCF is ~15x a VCF's text): the
    same text as the plain .g.vcf, larger than bgzip makes it, and the index tabix makes."""
    plain, packed = tmp_path / "x.g.vcf", tmp_path / "x.g.vcf.gz"
    for out in (plain, packed):
        gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF, command="gmscall call (test)")
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    bgzipped = tmp_path / "bgzip.g.vcf.gz"
    pysam.tabix_compress(str(plain), str(bgzipped))
    assert packed.stat().st_size > bgzipped.stat().st_size
    assert Path(str(packed) + ".tbi").read_bytes() == tabix_of(packed)


def test_haploid_blocks_have_two_pl_values(tmp_path: Path) -> None:
    ds = synth.make_dataset(tmp_path / "x", length=8_000, depth=20, seed=4, contig="chrX", het_fraction=0.0)
    ploidy = tmp_path / "ploidy.txt"
    ploidy.write_text("* * * * 1\n")
    out = tmp_path / "x.g.vcf.gz"
    gmscall.call(ds.bam, ds.fasta, output=out, options=GVCF, ploidy=str(ploidy))
    blocks = [r for r in rows(out) if "END=" in r[7]]
    assert blocks and all(r[9].split(":")[0] == "0" and len(r[9].split(":")[4].split(",")) == 2 for r in blocks)
    geno = tmp_path / "geno.vcf"
    gmscall.genotype_gvcfs([out], ds.fasta, geno)
    gts = {r[9].split(":")[0] for r in rows(geno)}
    assert gts and gts <= {"1", "2"}


@pytest.mark.cuda
def test_gvcf_cuda_parity(ds: synth.Dataset, tmp_path: Path) -> None:
    """The gVCF from the CUDA backend: the same bytes as from the CPU (reference confidence comes
    from the pileup kernels' integer sums)."""
    out = {}
    for backend in ("cpu", "cuda"):
        out[backend] = tmp_path / f"{backend}.g.vcf"
        gmscall.call(ds.bam, ds.fasta, output=out[backend], options=GVCF, backend=backend, command="x",
                     shard_size=4_000, threads=2)
    cpu, gpu = (p.read_text().replace(f"##gmscallBackend={b}\n", "") for b, p in out.items())
    assert cpu == gpu
