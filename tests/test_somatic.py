"""Somatic calling (gmscall somatic / gmscall.call_somatic) on synthetic tumour/normal pairs: a
founder clone and a subclone at chosen allele fractions, germline variants that must not come out
somatic, an ITD whose reads are soft-clipped, tumour-in-normal contamination, tumour-only mode,
determinism, bad input, and `gmscall eval --somatic`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import run_cli

import gmscall
from gmscall import synth
from gmscall.errors import InputError
from gmscall.evaluation import evaluate_somatic
from gmscall.options import SomaticOptions


@dataclass(frozen=True)
class Pair:
    fasta: Path
    tumor: Path
    normal: Path
    contig: str
    germline: dict[int, tuple[str, str]]  # pos0 -> (ref, alt)
    somatic: dict[int, tuple[str, str, float]]  # pos0 -> (ref, alt, expected tumour AF)
    truth_vcf: Path


def _edits_vcf(path: Path, ref: synth.Reference, somatic: dict[int, tuple[str, str, float]]) -> Path:
    text = ["##fileformat=VCFv4.2", f"##contig=<ID={ref.contig},length={len(ref)}>",
            '##INFO=<ID=VAF,Number=1,Type=Float,Description="expected AF">',
            '##INFO=<ID=ITD,Number=0,Type=Flag,Description="ITD">',
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">',
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR"]
    for pos, (ra, aa, vaf) in sorted(somatic.items()):
        itd = ";ITD" if len(aa) - len(ra) >= 15 else ""
        text.append(f"{ref.contig}\t{pos + 1}\t.\t{ra}\t{aa}\t.\tPASS\tVAF={vaf}{itd}\tGT\t0/1")
    plain = path.with_suffix("")
    plain.write_text("\n".join(text) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    plain.unlink()
    return path


def make_pair(root: Path, *, seed: int = 11, length: int = 30_000, tumor_depth: float = 80,
              normal_depth: float = 40, purity: float = 0.8, contamination: float = 0.0) -> Pair:
    """Germline het SNVs and indels on two haplotypes; clone A (all tumour cells) and subclone B
    (a quarter of them) add somatic SNVs, 1-4 bp indels and one 60-bp ITD on haplotype 0."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ref = synth.make_reference(length, seed, n_run=0, softmask=False)
    r = ref.upper
    # Germline and somatic sites interleaved along the contig (distinct, at least 150 bp apart).
    spots = rng.choice(np.arange(300, length - 300, 150), size=70, replace=False).tolist()

    def snv(p: int) -> tuple[int, str, str]:
        return p, r[p], "ACGT"[("ACGT".index(r[p]) + 1 + int(rng.integers(0, 3))) % 4]

    germ = [snv(p) for p in spots[:30]]
    germ_h = [int(rng.integers(0, 2)) for _ in germ]
    a_sites = [snv(p) for p in spots[30:45]] + [(spots[45], r[spots[45]], r[spots[45]] + "TCTG"),
                                                (spots[46], r[spots[46] : spots[46] + 3], r[spots[46]])]
    b_sites = [snv(p) for p in spots[47:57]] + [(spots[57], r[spots[57]], r[spots[57]] + "A")]
    itd_at = spots[60]
    a_sites.append((itd_at, r[itd_at], r[itd_at] + r[itd_at - 59 : itd_at + 1]))

    def hap(index: int, extra: list) -> synth.Haplotype:
        edits = [g for g, h in zip(germ, germ_h) if h == index] + extra
        return synth._build_haplotype(ref.contig, index, r, sorted(edits))

    h0, h1 = hap(0, []), hap(1, [])
    ha, hab = hap(0, a_sites), hap(0, a_sites + b_sites)
    # Tumour: `purity` of the cells carry clone A, a quarter of those also B; 20 haplotype copies.
    n_tumour = round(20 * purity)
    n_b = max(1, round(n_tumour / 4)) if n_tumour else 0
    tumour_haps = [hab] * n_b + [ha] * (n_tumour - n_b) + [h0] * (20 - n_tumour) + [h1] * 20
    reads_t = synth.simulate_reads(tumour_haps, seed, tumor_depth, softclip_fraction=0.02,
                                   clip_insertions_over=15, contig_end_fragments=False, read_groups=("T1",),
                                   name_prefix="tum")
    n_cont = round(40 * contamination)
    normal_haps = [ha] * n_cont + [h0] * (40 - n_cont) + [h1] * 40
    reads_n = synth.simulate_reads(normal_haps, seed + 1, normal_depth, softclip_fraction=0.02,
                                   clip_insertions_over=15, contig_end_fragments=False, read_groups=("N1",),
                                   name_prefix="nor")
    fasta = synth.write_fasta(root / "ref.fa", ref)
    tumor = synth.write_bam(root / "tumor.bam", reads_t, ref, sample="TUMOUR")
    normal = synth.write_bam(root / "normal.bam", reads_n, ref, sample="PATIENT")
    af_a = n_tumour / 40
    af_b = n_b / 40
    somatic = {p: (ra, aa, af_a) for p, ra, aa in a_sites}
    somatic.update({p: (ra, aa, af_b) for p, ra, aa in b_sites})
    # Indels as VCF: left-aligned by the caller; the truth uses the same normal form.
    truth = _edits_vcf(root / "truth.vcf.gz", ref, somatic)
    return Pair(fasta, tumor, normal, ref.contig, {p: (ra, aa) for p, ra, aa in germ}, somatic, truth)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return make_pair(tmp_path_factory.mktemp("somatic"))


@pytest.fixture(scope="module")
def pair_calls(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("somatic-out") / "calls.vcf.gz"
    return gmscall.call_somatic(pair.tumor, pair.fasta, normal=pair.normal, output=out, command="x")


def passing(path: Path) -> dict[tuple[int, str, str], pysam.VariantRecord]:
    with pysam.VariantFile(str(path)) as vf:
        return {(r.pos - 1, r.ref, r.alts[0]): r for r in vf if list(r.filter) == ["PASS"]}


def test_tumour_normal_calls_the_clones_and_no_germline(pair: Pair, pair_calls: Path) -> None:
    res = evaluate_somatic(str(pair.truth_vcf), str(pair_calls), str(pair.fasta), calls_sample="TUMOR")
    assert res.precision == 1.0, res.fp_variants
    assert res.by_af[">=0.25"]["found"] == res.by_af[">=0.25"]["truth"], res.fn_variants  # clone A, AF 0.4
    assert res.by_af["<0.10"]["found"] >= 0.8 * res.by_af["<0.10"]["truth"], res.fn_variants  # B, AF 0.1
    assert res.by_type["ITD"] == {"truth": 1, "found": 1, "fp": 0}
    calls = passing(pair_calls)
    assert not {p for p, _, _ in calls} & set(pair.germline)
    with pysam.VariantFile(str(pair_calls)) as vf:
        assert list(vf.header.samples) == ["TUMOR", "NORMAL"]
        germ = [r for r in vf if r.pos - 1 in pair.germline]
    flagged = {r.pos - 1: list(r.filter) for r in germ}
    assert len(flagged) >= 0.9 * len(pair.germline) and all("germline_risk" in f for f in flagged.values())
    assert all(r.samples["NORMAL"]["GT"] == (0, 1) for r in germ)  # the normal shows them het


def test_records_carry_the_scores_and_fractions(pair: Pair, pair_calls: Path) -> None:
    calls = passing(pair_calls)
    afs = []
    for (pos, ra, aa), rec in calls.items():
        assert rec.info["SOMATIC"] and rec.info["TLOD"] >= SomaticOptions().tlod_pass
        assert rec.info["NLOD"] >= SomaticOptions().nlod_min
        t, n = rec.samples["TUMOR"], rec.samples["NORMAL"]
        assert t["GT"] == (0, 1) and n["GT"] == (0, 0)
        assert t["DP"] >= sum(t["AD"]) and t["AD"][1] > 0
        if pos in pair.somatic and len(ra) == len(aa) == 1:
            afs.append((pair.somatic[pos][2], t["AF"][0]))
    assert afs
    by_expected: dict[float, list[float]] = {}
    for want, got in afs:
        by_expected.setdefault(want, []).append(got)
    for want, got in by_expected.items():
        assert abs(float(np.median(got)) - want) < 0.06, (want, got)  # the fraction is estimated


def test_normal_contaminated_by_tumour_cells(tmp_path: Path) -> None:
    """A normal with 5 % tumour cells (clone A alleles at AF 0.025 there) still lets them through."""
    p = make_pair(tmp_path, seed=12, contamination=0.05)
    out = gmscall.call_somatic(p.tumor, p.fasta, normal=p.normal, output=tmp_path / "c.vcf", command="x")
    res = evaluate_somatic(str(p.truth_vcf), str(out), str(p.fasta), calls_sample="TUMOR")
    assert res.by_af[">=0.25"]["found"] >= res.by_af[">=0.25"]["truth"] - 1, res.fn_variants
    assert res.precision == 1.0


def test_lower_purity(tmp_path: Path) -> None:
    """Purity 0.4: clone A at AF 0.2, subclone at 0.05."""
    p = make_pair(tmp_path, seed=13, purity=0.4)
    out = gmscall.call_somatic(p.tumor, p.fasta, normal=p.normal, output=tmp_path / "c.vcf", command="x")
    res = evaluate_somatic(str(p.truth_vcf), str(out), str(p.fasta), calls_sample="TUMOR")
    assert res.precision == 1.0, res.fp_variants
    assert res.by_af["0.10-0.25"]["found"] >= 0.9 * res.by_af["0.10-0.25"]["truth"], res.fn_variants


def test_tumour_only_flags_germline(pair: Pair, tmp_path: Path) -> None:
    out = gmscall.call_somatic(pair.tumor, pair.fasta, output=tmp_path / "to.vcf", command="x")
    calls = passing(out)
    germline_pass = {p for p, _, _ in calls} & set(pair.germline)
    assert len(germline_pass) <= 0.05 * len(calls)
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["TUMOR"]
        assert "NLOD" not in vf.header.info
    subclone = {p for p, (_, _, af) in pair.somatic.items() if af < 0.2}
    assert len(subclone & {p for p, _, _ in calls}) >= 0.8 * len(subclone)


def test_same_bytes_for_any_threads_and_shards(pair: Pair, tmp_path: Path) -> None:
    outs = []
    for threads, shard in ((1, 250_000), (2, 4_000), (2, 7_777)):
        out = tmp_path / f"{threads}-{shard}.vcf"
        gmscall.call_somatic(pair.tumor, pair.fasta, normal=pair.normal, output=out, threads=threads,
                             shard_size=shard, command="x")
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_api_records(pair: Pair) -> None:
    recs = gmscall.call_somatic(pair.tumor, pair.fasta, f"{pair.contig}:1-15000", normal=pair.normal)
    assert recs and all(r["contig"] == pair.contig and 1 <= r["pos"] <= 15_000 for r in recs)
    som = [r for r in recs if r["somatic"]]
    assert som and all(r["filters"] == [] and r["TUMOR"]["af"] > 0 for r in som)


def test_bad_input(pair: Pair, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="same file"):
        gmscall.call_somatic(pair.tumor, pair.fasta, normal=pair.tumor)
    with pytest.raises(InputError):
        gmscall.call_somatic(tmp_path / "missing.bam", pair.fasta, normal=pair.normal)
    with pytest.raises(InputError):
        SomaticOptions(tlod_emit=8.0, tlod_pass=6.0)
    with pytest.raises(InputError):
        SomaticOptions(min_tumor_af=1.5)


def test_cli_and_eval(pair: Pair, tmp_path: Path) -> None:
    out = tmp_path / "cli.vcf.gz"
    args = ["somatic", "-f", pair.fasta, "--tumor", pair.tumor, "--threads", "2"]
    run = run_cli(*args, "--normal", pair.normal, "-o", out)
    assert run.returncode == 0, run.stderr
    assert out.exists() and Path(str(out) + ".tbi").exists()
    ev = run_cli("eval", "--somatic", "--truth", pair.truth_vcf, "--calls", out, "-f", pair.fasta,
                 "--calls-sample", "TUMOR")
    assert ev.returncode == 0, ev.stderr
    assert "somatic PASS calls" in ev.stdout and "ITD" in ev.stdout and "recall by allele fraction" in ev.stdout
    bad = run_cli(*args, "--normal", pair.tumor, "-o", out)
    assert bad.returncode == 2 and "same file" in bad.stderr


@pytest.mark.cuda
def test_somatic_cuda_parity(pair: Pair, tmp_path: Path) -> None:
    out = {}
    for backend in ("cpu", "cuda"):
        out[backend] = tmp_path / f"{backend}.vcf"
        gmscall.call_somatic(pair.tumor, pair.fasta, normal=pair.normal, output=out[backend], backend=backend,
                             command="x", shard_size=8_000, threads=2)
    cpu, gpu = (p.read_text().replace(f"##gmscallBackend={b}\n", "") for b, p in out.items())
    assert cpu == gpu


# ---------------------------------------------------------------------------------------------
# the model and its filters on counts (csrc/core/somatic.cpp through _core.somatic_score)

BITS = {name: bit for bit, name, _ in __import__("gmscall.somatic", fromlist=["FILTERS"]).FILTERS}


def score(*samples: tuple[int, int, int, int], **opts: float) -> tuple[float, float, list[str] | None, list[float]]:
    from gmscall import _core

    tlod, nlod, bits, afs = _core.somatic_score([(*s, 30) for s in samples], SomaticOptions(**opts).to_core())
    names = None if bits < 0 else [n for n, b in BITS.items() if bits & b]
    return tlod, nlod, names, afs


def test_model_estimates_the_fraction_and_passes_a_subclone() -> None:
    tlod, nlod, filters, afs = score((5, 5, 40, 40), (0, 0, 20, 20))
    assert filters == [] and tlod > 6.3 and nlod > 2.2
    assert afs[0] == pytest.approx(10 / 90, abs=0.01) and afs[1] == 0.0


def test_model_filters() -> None:
    assert score((1, 1, 40, 40), (0, 0, 20, 20))[2] is None  # not written: TLOD < 3
    assert score((2, 1, 40, 40), (0, 0, 20, 20))[2] == ["weak_evidence"]
    assert "germline_risk" in score((20, 20, 20, 20), (10, 10, 10, 10))[2]
    assert score((20, 20, 40, 40), (6, 6, 30, 30))[2] == ["normal_artifact"]
    assert score((12, 0, 40, 40), (0, 0, 20, 20))[2] == ["strand_bias"]
    assert score((6, 6, 40, 40), (0, 0, 20, 20))[2] == []  # both strands: no bias
    assert score((3, 3, 300, 300), (0, 0, 20, 20))[2] == ["low_allele_fraction"]
    assert score((3, 3, 300, 300), (0, 0, 20, 20), min_tumor_af=0.005)[2] == []
    # Contamination: a clonal allele at 0.4 in the tumour, at 0.02 in the normal (5 % of its cells).
    _, nlod, filters, _ = score((16, 16, 24, 24), (1, 0, 20, 19))
    assert filters == []
    assert score((16, 16, 24, 24), (1, 0, 20, 19), normal_contamination=0.0)[1] < nlod


def test_tumour_only_germline_model() -> None:
    assert score((20, 20, 20, 20))[2] == ["germline_risk"]  # at 1/2
    assert score((40, 40, 0, 1))[2] == ["germline_risk"]  # at 1
    assert score((8, 8, 72, 72))[2] == []  # at 0.1: somatic-looking


def test_clustered_events_are_flagged(tmp_path: Path) -> None:
    ref = synth.make_reference(8_000, 21, n_run=0, softmask=False)
    r = ref.upper
    p0 = 4_000

    def snv(p: int) -> tuple[int, str, str]:
        return p, r[p], "ACGT"[("ACGT".index(r[p]) + 2) % 4]

    cluster = [snv(p0 + k) for k in (0, 12, 25, 37)]
    lone = snv(6_000)
    h0 = synth._build_haplotype(ref.contig, 0, r, [])
    hs = synth._build_haplotype(ref.contig, 0, r, cluster + [lone])
    tum = synth.simulate_reads([hs] * 3 + [h0] * 7, 21, 80, softclip_fraction=0.0, contig_end_fragments=False)
    nor = synth.simulate_reads([h0, h0], 22, 40, softclip_fraction=0.0, contig_end_fragments=False,
                               name_prefix="n")
    fasta = synth.write_fasta(tmp_path / "ref.fa", ref)
    t = synth.write_bam(tmp_path / "t.bam", tum, ref, sample="T")
    n = synth.write_bam(tmp_path / "n.bam", nor, ref, sample="N")
    recs = {r["pos"] - 1: r["filters"] for r in gmscall.call_somatic(t, fasta, normal=n)}
    assert all(recs.get(p) == ["clustered_events"] for p, _, _ in cluster), recs
    assert recs.get(lone[0]) == []


def test_itd_whose_clipped_bases_carry_sequencing_errors(tmp_path: Path) -> None:
    """A subclonal 40-bp ITD in 2x100 reads where every read clipped at a junction has a miscalled
    base among the 16 clipped bases next to its alignment (read ends, where HiSeq 2000 reads carry
    most of their errors): the clipped bases still point to the duplicated copy."""
    ref = synth.make_reference(6_000, 31, n_run=0, softmask=False)
    r = ref.upper
    at, n = 3_000, 40
    pos, ins, _ = synth._left_align_ins(r, at, r[at - n + 1 : at + 1])
    h0 = synth._build_haplotype(ref.contig, 0, r, [])
    hd = synth._build_haplotype(ref.contig, 0, r, [(pos, r[pos], r[pos] + ins)])
    reads = synth.simulate_reads([hd] * 2 + [h0] * 14, 31, 90, read_len=100, frag_mean=300, softclip_fraction=0.0,
                                 clip_insertions_over=15, contig_end_fragments=False, name_prefix="t")
    rng = np.random.default_rng(31)
    clipped = 0
    for rd in reads:
        if not rd.cigar:
            continue
        (op0, n0), (op1, n1) = rd.cigar[0], rd.cigar[-1]
        seq = list(rd.seq)
        for is_clip, length, first in ((op0 == 4, n0, n0 - 16), (op1 == 4, n1, len(seq) - n1)):
            if is_clip and length >= 16:
                k = first + int(rng.integers(0, 16))
                seq[k] = "ACGT"[("ACGT".index(seq[k]) + 1) % 4]
                rd.qual[k] = 30
                clipped += 1
        rd.seq = "".join(seq)
    assert clipped >= 4
    fasta = synth.write_fasta(tmp_path / "ref.fa", ref)
    bam = synth.write_bam(tmp_path / "t.bam", reads, ref, sample="T")
    recs = {(x["pos"] - 1, x["ref"], x["alt"]): x["filters"] for x in gmscall.call_somatic(bam, fasta)}
    assert recs.get((pos, r[pos], r[pos] + ins)) == [], recs


def test_dask_workers_give_the_same_bytes(pair: Pair, pair_calls: Path, dask_cluster, tmp_path: Path) -> None:
    import distributed

    with distributed.Client(dask_cluster) as client:
        remote = tmp_path / "dask.vcf.gz"
        gmscall.call_somatic(pair.tumor, pair.fasta, normal=pair.normal, output=remote, client=client,
                             shard_size=6_000, command="x")
    assert remote.read_bytes() == pair_calls.read_bytes()
