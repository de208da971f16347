"""gmscall qc: relatedness (with a swapped parent), sex check (with a wrong PED sex), per-sample
statistics, Mendelian errors, gVCF callable bases, and the MultiQC report in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest
from conftest import run_cli as _run_cli

from gmscall import synth
from gmscall.qc import run_qc
from gmscall.qc.relate import GenotypeMatrix, king_robust, relatedness


def run_cli(args, timeout: float = 300):
    proc = _run_cli(*args, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr

N_CONTIGS, CONTIG_LEN, SITES_PER_CONTIG = 20, 20_000_000, 1500


def _population(seed: int = 5):
    """Founders' haplotypes at independent sites (U-shaped allele frequencies), and helpers to make
    a child (one recombinant haplotype from each parent) and genotypes with errors."""
    rng = np.random.default_rng(seed)
    n = N_CONTIGS * SITES_PER_CONTIG
    p = np.clip(rng.beta(0.4, 0.6, n), 0.02, 0.98)
    contig = np.repeat(np.arange(N_CONTIGS), SITES_PER_CONTIG)
    pos = np.concatenate([np.sort(rng.choice(CONTIG_LEN, SITES_PER_CONTIG, replace=False)) + 1
                          for _ in range(N_CONTIGS)])

    def founder():
        return (rng.random((2, n)) < p).astype(np.int8)

    def gamete(parent):
        # one crossover per contig at a random site
        out = np.empty(n, dtype=np.int8)
        for c in range(N_CONTIGS):
            sl = slice(c * SITES_PER_CONTIG, (c + 1) * SITES_PER_CONTIG)
            cut, first = rng.integers(0, SITES_PER_CONTIG), rng.integers(0, 2)
            h = np.where(np.arange(SITES_PER_CONTIG) < cut, first, 1 - first)
            out[sl] = parent[h, np.arange(sl.start, sl.stop)]
        return out

    def child(father, mother):
        return np.stack([gamete(father), gamete(mother)])

    def genotype(haps, error=0.003):
        g = haps.sum(axis=0).astype(np.int8)
        flip = rng.random(n) < error
        g[flip] = rng.integers(0, 3, int(flip.sum()))
        return g

    return contig, pos, founder, child, genotype


def _write_vcf(path: Path, contig, pos, genotypes: dict[str, np.ndarray]) -> Path:
    names = list(genotypes)
    gt_text = np.array(["0/0", "0/1", "1/1"])
    cols = [gt_text[genotypes[s]] for s in names]
    keep = np.zeros(len(pos), dtype=bool)
    for s in names:
        keep |= genotypes[s] > 0
    lines = ["##fileformat=VCFv4.2", '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="GQ">',
             '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="DP">']
    lines += [f"##contig=<ID=chr{c + 1},length={CONTIG_LEN + 10}>" for c in range(N_CONTIGS)]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names))
    for i in np.flatnonzero(keep):
        lines.append(f"chr{contig[i] + 1}\t{pos[i]}\t.\tA\tG\t50\tPASS\t.\tGT:GQ:DP\t"
                     + "\t".join(f"{col[i]}:60:30" for col in cols))
    plain = path.with_suffix("")
    plain.write_text("\n".join(lines) + "\n")
    pysam.tabix_compress(str(plain), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)
    return path


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    """KID of DAD and MUM, KID2 a full sibling, DUP a second library of KID, HALF a half-sibling
    (DAD's child with an unsequenced mother) and OTHER (unrelated)."""
    root = tmp_path_factory.mktemp("qcfam")
    contig, pos, founder, child, genotype = _population()
    dad, mum, other = founder(), founder(), founder()
    kid, kid2, half = child(dad, mum), child(dad, mum), child(dad, founder())
    g = {"KID": genotype(kid), "DAD": genotype(dad), "MUM": genotype(mum), "KID2": genotype(kid2),
         "DUP": genotype(kid), "OTHER": genotype(other), "HALF": genotype(half)}
    vcf = _write_vcf(root / "family.vcf.gz", contig, pos, g)
    ped = root / "family.ped"
    ped.write_text("F\tDAD\t0\t0\t1\t0\nF\tMUM\t0\t0\t2\t0\nF\tKID\tDAD\tMUM\t1\t0\nF\tKID2\tDAD\tMUM\t2\t0\n"
                   "F\tDUP\t0\t0\t1\t0\nG\tOTHER\t0\t0\t2\t0\nF\tHALF\tDAD\tEX\t2\t0\n")
    # the swap: OTHER's genotypes sent as DAD's (a sample swap or a non-paternity)
    swapped = dict(g)
    swapped["DAD"] = g["OTHER"]
    swapped["OTHER"] = genotype(founder())
    swap_vcf = _write_vcf(root / "swapped.vcf.gz", contig, pos, swapped)
    return root, vcf, ped, swap_vcf


def _pairs(report):
    return {frozenset((p["sample1"], p["sample2"])): p for p in report["relatedness"]["pairs"]}


def test_relationships_classified(family, tmp_path):
    _root, vcf, ped, _ = family
    report = run_qc([str(vcf)], ped=str(ped), out_dir=str(tmp_path / "qc"))
    pairs = _pairs(report)
    expect = {("KID", "DAD"): "parent-child", ("KID", "MUM"): "parent-child", ("KID2", "DAD"): "parent-child",
              ("KID", "KID2"): "full sibling", ("DAD", "MUM"): "unrelated", ("KID", "DUP"): "duplicate",
              ("KID", "OTHER"): "unrelated", ("MUM", "OTHER"): "unrelated", ("KID", "HALF"): "second degree",
              ("HALF", "DAD"): "parent-child", ("HALF", "MUM"): "unrelated"}
    for (a, b), rel in expect.items():
        p = pairs[frozenset((a, b))]
        assert p["relationship"] == rel, (a, b, p)
    kin = {k: pairs[frozenset(k)]["kinship"] for k in expect}
    assert abs(kin[("KID", "DAD")] - 0.25) < 0.03 and abs(kin[("DAD", "MUM")]) < 0.03
    assert abs(kin[("KID", "DUP")] - 0.5) < 0.04 and abs(kin[("KID", "KID2")] - 0.25) < 0.06
    assert abs(kin[("KID", "HALF")] - 0.125) < 0.04
    # DUP is a duplicate the PED does not know of: the only mismatches are DUP's pairs with the family
    assert all("DUP" in m for m in report["mismatches"]) and report["mismatches"]
    tsv = (tmp_path / "qc" / "gmscall_qc.relatedness.tsv").read_text().splitlines()
    assert tsv[0].startswith("sample1\tsample2\trelationship\tped_relationship\tstatus\tkinship")
    assert len(tsv) == 1 + 21


def test_swapped_parent_flagged(family, tmp_path):
    _root, _vcf, ped, swap_vcf = family
    report = run_qc([str(swap_vcf)], ped=str(ped), out_dir=str(tmp_path / "qc"))
    pairs = _pairs(report)
    p = pairs[frozenset(("KID", "DAD"))]
    assert p["relationship"] == "unrelated" and p["expected"] == "parent-child" and p["status"] == "MISMATCH"
    assert any(m.startswith(("KID and DAD: the PED says parent-child, the genotypes say unrelated",
                             "DAD and KID: the PED says parent-child, the genotypes say unrelated"))
               for m in report["mismatches"]), report["mismatches"]
    assert pairs[frozenset(("KID", "MUM"))]["status"] == "ok"
    mqc = json.loads((tmp_path / "qc" / "gmscall_relatedness_mqc.json").read_text())
    row = next(v for k, v in mqc["data"].items() if set(k.split(" vs ")) == {"KID", "DAD"})
    assert row["status"] == "MISMATCH"


def test_ibd_kinship_beats_king_on_a_short_region():
    """Parent-child over 2 Mb of blocky haplotypes (linkage disequilibrium): KING's counts wander
    with the blocks, the IBD model sees one shared haplotype throughout."""
    rng = np.random.default_rng(3)
    n_blocks, per = 40, 60
    # a few common haplotypes per block: a population in LD
    blocks = [(rng.random((4, per)) < rng.uniform(0.1, 0.9, per)).astype(np.int8) for _ in range(n_blocks)]

    def hap():
        return np.concatenate([b[rng.integers(0, 4)] for b in blocks])

    dad, mum = np.stack([hap(), hap()]), np.stack([hap(), hap()])
    kid = np.stack([dad[0], mum[1]])
    n = n_blocks * per
    pos = np.sort(rng.choice(2_000_000, n, replace=False)) + 1
    dos = np.stack([kid.sum(0), dad.sum(0), mum.sum(0)], axis=1).astype(np.int8)
    gm = GenotypeMatrix(["KID", "DAD", "MUM"], np.zeros(n, np.int32), pos, dos)
    res, _ = relatedness(gm)
    by = {(r.sample1, r.sample2): r for r in res}
    for pair in (("KID", "DAD"), ("KID", "MUM")):
        r = by[pair]
        assert r.relationship == "parent-child"
        assert abs(r.kinship - 0.25) <= abs(r.king - 0.25) + 1e-9, (r.kinship, r.king)
        assert abs(r.kinship - 0.25) < 0.02


def test_king_matches_plink2(family, tmp_path):
    if shutil.which("plink2") is None:
        pytest.skip("plink2 not installed (Debian: apt-get install plink2)")
    _root, vcf, _ped, _ = family
    subprocess.run(["plink2", "--vcf", str(vcf), "--make-king-table", "--allow-extra-chr",
                    "--out", str(tmp_path / "k")], check=True, capture_output=True)
    report = run_qc([str(vcf)])
    ours = {frozenset((p["sample1"], p["sample2"])): p["king"] for p in report["relatedness"]["pairs"]}
    rows = (tmp_path / "k.kin0").read_text().splitlines()[1:]
    assert len(rows) == 21
    for row in rows:
        a, b, _n, _hh, _ibs0, kin = row.split("\t")
        assert abs(ours[frozenset((a, b))] - float(kin)) < 1e-4


def test_king_robust_formula():
    a = np.array([0, 1, 2, 1, 2, -1], dtype=np.int8)
    b = np.array([0, 1, 0, 2, 2, 1], dtype=np.int8)
    n, hethet, ibs0, king = king_robust(a, b)
    assert (n, hethet, ibs0) == (5, 0.2, 0.2)
    assert king == pytest.approx(0.5 - (0 + 0 + 4 + 1 + 0) / (4 * 1))


# --------------------------------------------------------------------------------------------
# sex


@pytest.fixture(scope="module")
def sexed(tmp_path_factory):
    root = tmp_path_factory.mktemp("sexed")
    g = synth.make_sexed_genomes(root, {"M1": "M", "F1": "F", "M2": "M", "F2": "F"})
    right = root / "right.ped"
    right.write_text("A\tM1\t0\t0\t1\t0\nA\tF1\t0\t0\t2\t0\nB\tM2\t0\t0\t1\t0\nB\tF2\t0\t0\t2\t0\n")
    wrong = root / "wrong.ped"  # F1 recorded as male
    wrong.write_text("A\tM1\t0\t0\t1\t0\nA\tF1\t0\t0\t1\t0\nB\tM2\t0\t0\t1\t0\nB\tF2\t0\t0\t2\t0\n")
    # called with the wrong PED: F1's chrX outside the PAR is called haploid
    vcf = root / "calls.vcf.gz"
    code, _out, err = run_cli(["call", "-f", str(g.fasta), "--ped", str(wrong), "--ploidy", str(g.ploidy),
                               "--threads", "2", "-o", str(vcf), *(str(g.bams[s]) for s in g.sexes)])
    assert code == 0, err
    return g, vcf, right, wrong


def test_sex_check_every_sample_right(sexed, tmp_path):
    g, vcf, right, _wrong = sexed
    for bams in ([], [str(b) for b in g.bams.values()]):
        report = run_qc([str(vcf)], ped=str(right), bams=bams, ploidy=str(g.ploidy), out_dir=str(tmp_path / "qc"))
        by = {x["sample"]: x for x in report["sex"]}
        for name, sex in g.sexes.items():
            assert by[name]["inferred"] == sex, (bams, by[name])
            assert by[name]["status"] == "ok"
        assert not [m for m in report["mismatches"] if m.startswith("sex")]
    # their variants are their own (no allele shared): every pair unrelated, none flagged
    assert all(p["relationship"] == "unrelated" for p in report["relatedness"]["pairs"])
    assert report["mismatches"] == []
    # the X heterozygosity alone, from the AD of the haploid calls the wrong PED forced on F1
    assert by["F1"]["het_sex"] == "F" and by["M1"]["het_sex"] == "M"
    assert by["F1"]["called_as"] == "M"


def test_wrong_ped_sex_flagged(sexed, tmp_path):
    g, vcf, _right, wrong = sexed
    report = run_qc([str(vcf)], ped=str(wrong), ploidy=str(g.ploidy), out_dir=str(tmp_path / "qc"))
    by = {x["sample"]: x for x in report["sex"]}
    assert by["F1"]["status"] == "MISMATCH" and by["F1"]["ped_sex"] == "M" and by["F1"]["inferred"] == "F"
    assert [m for m in report["mismatches"] if m.startswith("sex")] == [
        f"sex of F1: {by['F1']['note']}"]
    assert "the PED says male" in by["F1"]["note"] and "the data say female" in by["F1"]["note"]
    assert all(by[s]["status"] == "ok" for s in ("M1", "M2", "F2"))
    tsv = (tmp_path / "qc" / "gmscall_qc.sex.tsv").read_text()
    assert "F1\tM\tF\tMISMATCH" in tsv


# --------------------------------------------------------------------------------------------
# per-sample statistics, Mendelian errors, gVCF


@pytest.fixture(scope="module")
def trio_calls(tmp_path_factory):
    fam = synth.make_family(tmp_path_factory.mktemp("qctrio"), length=20_000, depth=25, n_snv=30)
    vcf = fam.root / "trio.vcf.gz"
    code, _o, err = run_cli(["call", "-f", str(fam.fasta), "--ped", str(fam.ped), "-o", str(vcf),
                             *(str(fam.bams[s]) for s in ("KID", "DAD", "MUM"))])
    assert code == 0, err
    gvcfs = []
    for s in ("KID", "DAD", "MUM"):
        out = fam.root / f"{s}.g.vcf.gz"
        code, _o, err = run_cli(["call", "-f", str(fam.fasta), "--gvcf", "-o", str(out), str(fam.bams[s])])
        assert code == 0, err
        gvcfs.append(out)
    return fam, vcf, gvcfs


def test_sample_stats_and_mendel(trio_calls, tmp_path):
    fam, vcf, gvcfs = trio_calls
    report = run_qc([str(vcf), *map(str, gvcfs)], ped=str(fam.ped), out_dir=str(tmp_path / "qc"))
    by = {s["sample"]: s for s in report["samples"]}
    for name, truth in fam.truth.items():
        st = by[name]
        het = sum(1 for _r, _a, gt in truth.values() if gt[0] != gt[1])
        assert st["snv"] == len(truth)  # every planted SNV called (the child's de novo too), nothing else
        assert st["het"] == het and st["hom_alt"] == len(truth) - het
        assert st["titv"] is not None and st["indel_lengths"] == {}
        assert 0.9 < st["callable_fraction"] <= 1.0 and st["bases"] == 20_000
        assert sum(st["gq_hist"]) == st["variants"]
    (m,) = report["mendel"]
    assert m["trio"] == ["KID", "DAD", "MUM"] and m["inconsistent"] == 1 and m["denovo"] == 1
    (d,) = report["denovo"]
    assert d["child"] == "KID" and d["pos"] == fam.de_novo + 1
    # the callable fraction follows --min-dp
    strict = run_qc([str(vcf), *map(str, gvcfs)], ped=str(fam.ped), min_dp=40)
    assert all(s["callable_fraction"] < 0.1 for s in strict["samples"])


def test_relatedness_from_gvcfs_alone(trio_calls):
    fam, _vcf, gvcfs = trio_calls
    report = run_qc([str(g) for g in gvcfs], ped=str(fam.ped))
    assert report["inputs"]["vcf"] is None
    pairs = _pairs(report)
    # a 20 kb genome is too short to classify, but the hom-ref blocks fill the other samples in
    assert pairs[frozenset(("KID", "DAD"))]["sites"] > 40
    assert pairs[frozenset(("KID", "DAD"))]["ibs0"] == 0.0 and pairs[frozenset(("DAD", "MUM"))]["ibs0"] > 0


def test_cli_qc(trio_calls, tmp_path):
    fam, vcf, _g = trio_calls
    code, out, err = run_cli(["qc", "--ped", str(fam.ped), "-o", str(tmp_path / "q"), str(vcf)])
    assert code == 0, err
    assert "pair\tKID\tDAD" in out or "pair\tDAD\tKID" in out
    assert (tmp_path / "q" / "gmscall_relatedness_mqc.json").exists()
    code, _out, err = run_cli(["qc", str(tmp_path / "missing.vcf.gz")])
    assert code == 2 and err.strip().count("\n") == 0 and "no such file" in err


# --------------------------------------------------------------------------------------------
# MultiQC + headless Chromium


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def test_multiqc_report_renders(family, tmp_path):
    import importlib.util
    import sys

    if importlib.util.find_spec("multiqc") is None:
        pytest.skip("multiqc not installed (pip install '.[qc]')")
    multiqc = [sys.executable, "-m", "multiqc"]  # the installed module, whether or not its script is on PATH
    browser = _chromium()
    if browser is None:
        pytest.skip("chromium not installed (Debian: apt-get install chromium)")
    _root, _vcf, ped, swap_vcf = family
    qc_dir = tmp_path / "qc"
    run_qc([str(swap_vcf)], ped=str(ped), out_dir=str(qc_dir))
    proc = subprocess.run([*multiqc, "-f", "-o", str(tmp_path / "report"), str(qc_dir)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    html = tmp_path / "report" / "multiqc_report.html"
    assert html.exists()
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--virtual-time-budget=20000", "--window-size=1400,3000"]
    dom = subprocess.run([*flags, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=180,
                         check=False).stdout
    for section in ("gmscall_sex", "gmscall_relatedness", "gmscall_kinship_plot", "gmscall_identity",
                    "gmscall_variants", "gmscall_gq", "gmscall_depth"):
        assert f'id="{section}"' in dom or f"id='{section}'" in dom, section
    assert "gmscall_relatedness_table" in dom and "MISMATCH" in dom
    assert "the PED says parent-child" in dom  # the summary names the swapped pair
    assert "main-svg" in dom  # plotly drew the plots
    shot = tmp_path / "multiqc_gmscall.png"
    subprocess.run([*flags, f"--screenshot={shot}", html.as_uri()], capture_output=True, timeout=180, check=False)
    assert shot.exists() and shot.stat().st_size > 10_000
    keep = os.environ.get("GMSCALL_QC_SCREENSHOT")  # a path to keep the screenshot at, beside the tmp dir's copy
    if keep:
        shutil.copyfile(shot, keep)


def test_error_model_and_phase_blocks(tmp_path):
    """The errmodel helper's ##gmscallErrorModel lines and the phasing helper's PS, when present."""
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=100000>",
             ('##gmscallErrorModel=<ReadGroup=rg1,Sample=S,Platform=ILLUMINA,Source="learnt from 9 bases",'
              'Loci=1234,Fit=P1,GapOpen="P1:45,40,30;P2:40,35">'),
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
             '##FORMAT=<ID=PS,Number=1,Type=Integer,Description="Phase set">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS"]
    # two blocks: 1,000-5,000 (span 4,001) and 20,000-20,100 (span 101); one unphased het
    for pos, gt, ps in ((1000, "0|1", 1000), (3000, "1|0", 1000), (5000, "0|1", 1000), (20000, "1|0", 20000),
                        (20100, "0|1", 20000), (30000, "0/1", ".")):
        lines.append(f"chr1\t{pos}\t.\tA\tG\t50\tPASS\t.\tGT:PS\t{gt}:{ps}")
    vcf = tmp_path / "p.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    report = run_qc([str(vcf)], out_dir=str(tmp_path / "qc"))
    (s,) = report["samples"]
    assert (s["phased"], s["phase_blocks"], s["phase_n50"]) == (5, 2, 4001)
    (g,) = report["error_model"]
    assert g["ReadGroup"] == "rg1" and g["Loci"] == "1234"
    em = json.loads((tmp_path / "qc" / "gmscall_error_model_mqc.json").read_text())
    assert em["data"] == {"rg1 P1": [[1, 45.0], [2, 40.0], [3, 30.0]], "rg1 P2": [[2, 40.0], [3, 35.0]]}
    assert (tmp_path / "qc" / "gmscall_phase_mqc.json").exists()
