"""Joint calling of several samples: columns, missing coverage, pooled read groups, pedigree
priors and de novo marking, sex-chromosome ploidy, and byte-identical output for any split."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pysam
import pytest

import gmscall
from gmscall import synth

CLI = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())"]


def run_cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def fam(tmp_path_factory: pytest.TempPathFactory) -> synth.Family:
    return synth.make_family(tmp_path_factory.mktemp("fam"), length=30_000, depth=25, seed=3)


def bams(f: synth.Family) -> list[Path]:
    return [f.bams[n] for n in ("DAD", "MUM", "KID")]


def genotypes(records: list[dict], sample: str) -> dict[int, tuple[str, str, tuple[int, ...]]]:
    out = {}
    for r in records:
        gt = r["samples"][sample]["gt"]
        if any(a > 0 for a in gt):
            out[r["pos"] - 1] = (r["ref"], ",".join(r["alts"]), tuple(sorted(gt)))
    return out


def truth_of(f: synth.Family, sample: str) -> dict[int, tuple[str, str, tuple[int, ...]]]:
    return {p: (ra, aa, tuple(sorted(g))) for p, (ra, aa, g) in f.truth[sample].items()}


def vcf_body(path: Path) -> list[list[str]]:
    with pysam.BGZFile(str(path)) if str(path).endswith(".gz") else open(path, "rb") as fh:
        text = fh.read().decode()
    return [ln.split("\t") for ln in text.splitlines() if not ln.startswith("##")]


def test_joint_calls_each_sample_as_planted(fam: synth.Family) -> None:
    records = gmscall.call(bams(fam), fam.fasta, ped=fam.ped)
    for sample in ("DAD", "MUM", "KID"):
        assert genotypes(records, sample) == truth_of(fam, sample), sample


def test_de_novo_is_marked_for_the_child_only(fam: synth.Family, tmp_path: Path) -> None:
    out = tmp_path / "trio.vcf"
    gmscall.call(bams(fam), fam.fasta, output=out, ped=fam.ped)
    header, *rows = vcf_body(out)
    assert header[9:] == ["DAD", "MUM", "KID"]
    flagged = [r for r in rows if "DENOVO=" in r[7]]
    assert [int(r[1]) - 1 for r in flagged] == [fam.de_novo]
    assert "DENOVO=KID" in flagged[0][7].split(";")
    fmt = flagged[0][8].split(":")
    kid = dict(zip(fmt, flagged[0][11].split(":")))
    assert kid["GT"] in ("0/1", "0|1", "1|0") and int(kid["DNQ"]) >= 20  # (phased where reads connect it)
    for r in rows:  # DNQ only for the child; inherited alleles get no de novo quality
        dad, mum = (dict(zip(r[8].split(":"), c.split(":"))) for c in r[9:11])
        assert dad["DNQ"] == "." and mum["DNQ"] == "."
    text = out.read_text()
    assert "##gmscallTrio=<Child=KID,Father=DAD,Mother=MUM>" in text


def test_without_pedigree_there_is_no_de_novo_field(fam: synth.Family, tmp_path: Path) -> None:
    out = tmp_path / "joint.vcf"
    gmscall.call(bams(fam), fam.fasta, output=out)
    text = out.read_text()
    assert "DNQ" not in text and "DENOVO" not in text
    _, *rows = vcf_body(out)
    row = next(r for r in rows if int(r[1]) - 1 == fam.de_novo)
    assert row[8] in ("GT:GQ:DP:AD:PL", "GT:GQ:DP:AD:PL:PS") and row[11].startswith(("0/1:", "0|1:", "1|0:"))
    assert "AC=1;AN=6;AF=0.1667;" in row[7]


def test_column_order_and_read_groups_of_one_file(fam: synth.Family, tmp_path: Path) -> None:
    """Columns follow the command line; a file with several samples gives one column per @RG SM
    (header order) and the same calls as separate files."""
    reordered = gmscall.call([fam.bams["KID"], fam.bams["DAD"], fam.bams["MUM"]], fam.fasta)
    assert list(reordered[0]["samples"]) == ["KID", "DAD", "MUM"]
    merged = tmp_path / "all.bam"
    pysam.merge("-f", "-o", str(merged), *map(str, bams(fam)))
    pysam.index(str(merged))
    together = gmscall.call(merged, fam.fasta)
    assert list(together[0]["samples"]) == ["DAD", "MUM", "KID"]
    assert together == gmscall.call(bams(fam), fam.fasta)


def test_same_sample_in_two_files_is_pooled(fam: synth.Family, tmp_path: Path) -> None:
    """Two BAMs of one sample (e.g. two lanes): one column, the calls of the merged reads."""
    kid = fam.bams["KID"]
    halves = [tmp_path / "a.bam", tmp_path / "b.bam"]
    with pysam.AlignmentFile(str(kid)) as inp:
        outs = [pysam.AlignmentFile(str(h), "wb", template=inp) for h in halves]
        for read in inp:
            outs[zlib.crc32(read.query_name.encode()) % 2].write(read)  # both mates: same file
        for o in outs:
            o.close()
    for h in halves:
        pysam.index(str(h))
    pooled = gmscall.call(halves, fam.fasta)
    assert pooled == gmscall.call(kid, fam.fasta)


def test_sample_without_reads_is_uncalled(fam: synth.Family, tmp_path: Path) -> None:
    """Where one sample has no reads its column is ./. with DP 0, never a genotype."""
    dad = tmp_path / "dad-first-half.bam"
    pysam.view("-b", "-o", str(dad), str(fam.bams["DAD"]), f"{fam.contig}:1-14000", catch_stdout=False)
    pysam.index(str(dad))
    out = tmp_path / "x.vcf"
    gmscall.call([dad, fam.bams["MUM"], fam.bams["KID"]], fam.fasta, f"{fam.contig}:16001-30000", output=out)
    _, *rows = vcf_body(out)
    assert rows
    for r in rows:
        assert r[9] == "./.:.:0:.:." + (":." if r[8].endswith(":PS") else ""), r
        assert "AN=4;" in r[7]


def test_joint_output_is_identical_for_threads_and_shards(fam: synth.Family, tmp_path: Path) -> None:
    outs = []
    for threads, shard in ((1, 30_000), (2, 997), (2, 5_000)):
        out = tmp_path / f"t{threads}-{shard}.vcf.gz"
        gmscall.call(bams(fam), fam.fasta, output=out, ped=fam.ped, threads=threads, shard_size=shard, command="x")
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_pedigree_errors_are_one_line(fam: synth.Family, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ped"
    bad.write_text("FAM\tKID\tDAD\tMOM\t1\t0\nFAM\tMOM\t0\t0\t2\t0\n")
    proc = run_cli("call", "-f", fam.fasta, "--ped", bad, *bams(fam))
    assert proc.returncode == 2 and proc.stderr.startswith("gmscall: error:"), proc.stderr
    assert "MOM" in proc.stderr and "Traceback" not in proc.stderr
    bad.write_text("FAM\tKID\tDAD\tMUM\tX\t0\n")
    proc = run_cli("call", "-f", fam.fasta, "--ped", bad, *bams(fam))
    assert proc.returncode == 2 and "sex" in proc.stderr.lower(), proc.stderr


def test_bam_list_file_and_duplicates(fam: synth.Family, tmp_path: Path) -> None:
    listing = tmp_path / "bams.txt"
    listing.write_text(f"{fam.bams['MUM']}\n\n{fam.bams['KID']}\n")
    out = tmp_path / "x.vcf"
    proc = run_cli("call", "-f", fam.fasta, "-b", listing, "-o", out, fam.bams["DAD"])
    assert proc.returncode == 0, proc.stderr
    assert vcf_body(out)[0][9:] == ["DAD", "MUM", "KID"]
    proc = run_cli("call", "-f", fam.fasta, fam.bams["DAD"], fam.bams["DAD"])
    assert proc.returncode == 2 and "given twice" in proc.stderr
    proc = run_cli("call", "-f", fam.fasta, "--sample", "X", fam.bams["DAD"], fam.bams["MUM"])
    assert proc.returncode == 2 and "--sample" in proc.stderr


# ------------------------------------------------------------------ sex chromosomes


@pytest.fixture(scope="module")
def chrx(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """A 'male X': every planted variant is on both simulated haplotypes (one copy, read twice)."""
    return synth.make_dataset(tmp_path_factory.mktemp("chrx"), length=20_000, depth=30, seed=5, contig="chrX",
                              het_fraction=0.0, n_snv=30, n_indel=8)


def test_male_x_is_haploid(chrx: synth.Dataset, tmp_path: Path) -> None:
    ploidy = tmp_path / "ploidy.txt"
    ploidy.write_text(f"X 1 {chrx.length} M 1\n")  # no 'chr': the rule still applies to chrX
    male = gmscall.call(chrx.bam, chrx.fasta, ploidy=str(ploidy), sex=["SYNTH=M"])
    diploid = gmscall.call(chrx.bam, chrx.fasta)
    assert male and all(len(r["gt"]) == 1 for r in male)  # no heterozygous call can exist
    # The same sites as the diploid call, and every diploid hom-ALT is the haploid ALT: haploid
    # recall equals diploid recall (the 1|2 sites that synth also plants become one ALT).
    assert [r["pos"] for r in male] == [r["pos"] for r in diploid]
    hom = {(r["pos"], r["ref"], tuple(r["alts"])) for r in diploid if r["gt"] == (1, 1)}
    assert len(hom) >= 30 and hom <= {(r["pos"], r["ref"], tuple(r["alts"])) for r in male if r["gt"] == (1,)}
    assert all(len(r["pl"]) == len(r["alts"]) + 1 for r in male)  # haploid PL: one per allele
    out = tmp_path / "male.vcf"
    gmscall.call(chrx.bam, chrx.fasta, output=out, ploidy=str(ploidy), sex={"SYNTH": "M"})
    text = out.read_text()
    assert "##gmscallSex=<ID=SYNTH,Sex=M" in text and f"##gmscallPloidy={ploidy}" in text
    gts = {row[9].split(":")[0] for row in vcf_body(out)[1:]}
    assert gts == {"1"}
    female = gmscall.call(chrx.bam, chrx.fasta, ploidy=str(ploidy), sex=["SYNTH=F"])
    assert female == diploid


@pytest.fixture(scope="module")
def chry(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    return synth.make_dataset(tmp_path_factory.mktemp("chry"), length=20_000, depth=20, seed=9, contig="Y",
                              het_fraction=0.0, n_snv=20, n_indel=4)


def test_female_y_has_no_calls_male_y_is_haploid(chry: synth.Dataset) -> None:
    ploidy = chry.root / "grch38-style.txt"
    ploidy.write_text("chrY 1 100000 M 1\nchrY 1 100000 F 0\n")  # 'chrY' rules for a contig named 'Y'
    assert gmscall.call(chry.bam, chry.fasta, ploidy=str(ploidy), sex=["SYNTH=F"]) == []
    male = gmscall.call(chry.bam, chry.fasta, ploidy=str(ploidy), sex=["SYNTH=M"])
    assert male and {r["gt"] for r in male} == {(1,)}


def test_sex_without_ploidy_is_an_error(chry: synth.Dataset) -> None:
    proc = run_cli("call", "-f", chry.fasta, "--sex", "SYNTH=M", chry.bam)
    assert proc.returncode == 2 and "--ploidy" in proc.stderr


@pytest.mark.cuda
def test_joint_cuda_parity(fam: synth.Family, tmp_path: Path) -> None:
    """Joint calling with a pedigree: the same bytes from the CUDA and the CPU backend."""
    out = {}
    for backend in ("cpu", "cuda"):
        out[backend] = tmp_path / f"{backend}.vcf"
        gmscall.call(bams(fam), fam.fasta, output=out[backend], ped=fam.ped, backend=backend, command="x",
                     shard_size=7_000, threads=2)
    cpu, gpu = (p.read_text().replace(f"##gmscallBackend={b}\n", "") for b, p in out.items())
    assert cpu == gpu


def test_sex_inferred_from_depth_sets_x_ploidy(tmp_path: Path) -> None:
    """With --ploidy and no --sex or PED, a sample's sex comes from its X/autosome depth (logged
    and written in the header): half-depth X and reads on Y make it male, so X is haploid."""
    ref_a = synth.make_reference(20_000, 21, contig="chr1")
    ref_x = synth.make_reference(20_000, 22, contig="chrX")
    ref_y = synth.make_reference(5_000, 23, contig="chrY")
    planted = synth.plant_variants(ref_x, 22, n_snv=20, n_indel=0, het_fraction=0.0)
    contigs = [(ref_a, 30, synth.plant_variants(ref_a, 21, 10, 0).haplotypes),
               (ref_x, 15, planted.haplotypes), (ref_y, 15, synth.plant_variants(ref_y, 23, 3, 0).haplotypes)]
    fasta = tmp_path / "ref.fa"
    with open(fasta, "w") as fh:
        fh.writelines(f">{ref.contig}\n" + "\n".join(ref.seq[i:i + 60] for i in range(0, len(ref.seq), 60)) + "\n" for ref, _, _ in contigs)
    pysam.faidx(str(fasta))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": r.contig, "LN": len(r)} for r, _, _ in contigs],
              "RG": [{"ID": "L1", "SM": "MALE"}]}
    bam = tmp_path / "male.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for tid, (ref, depth, haps) in enumerate(contigs):
            reads = synth.simulate_reads(haps, 30 + tid, depth, dup_fraction=0.0, low_mapq_fraction=0.0,
                                         qcfail_fraction=0.0, unmapped_mate_fraction=0.0, softclip_fraction=0.0)
            for rd in sorted(reads, key=lambda r: (r.pos, r.name, r.flag)):
                if not rd.cigar:
                    continue
                a = pysam.AlignedSegment(out.header)
                a.query_name, a.flag, a.reference_id, a.reference_start = rd.name, rd.flag & ~0x1, tid, rd.pos
                a.mapping_quality, a.cigartuples, a.query_sequence = 60, rd.cigar, rd.seq
                a.query_qualities = pysam.qualitystring_to_array("I" * len(rd.seq))
                a.set_tag("RG", "L1")
                out.write(a)
    pysam.sort("-o", str(bam) + ".s.bam", str(bam))
    Path(str(bam) + ".s.bam").replace(bam)
    pysam.index(str(bam))
    vcf = tmp_path / "male.vcf"
    gmscall.call(bam, fasta, output=vcf, ploidy="GRCh38")
    text = vcf.read_text()
    assert "##gmscallSex=<ID=MALE,Sex=M," in text and "inferred from depth" in text
    rows = [ln.split("\t") for ln in text.splitlines() if not ln.startswith("#")]
    gt = {(r[0], int(r[1])): r[9].split(":")[0] for r in rows}
    # GRCh38 in a male: chrX:1-10000 is haploid, PAR1 (from 10,001) diploid, autosomes diploid.
    assert {g for (c, p), g in gt.items() if c == "chrX" and p <= 10_000} <= {"1", "2"}
    assert any(c == "chrX" and p <= 10_000 for c, p in gt)
    assert all(("/" in g or "|" in g) for (c, p), g in gt.items() if c == "chr1" or (c == "chrX" and p > 10_000))


def test_de_novo_quality_needs_a_novel_alt() -> None:
    """A child 0/1 of two 1/1 parents breaks transmission (a lost allele), but its ALT is
    inherited: no de novo quality. A child 0/1 of two 0/0 parents has one."""
    from gmscall import _core

    cohort = _core.Cohort(3, [[0], [1], [2]], [], [[2, 0, 1]])
    params = _core.CallParams()
    strong = {"0/0": [0.0, -20.0, -40.0], "0/1": [-20.0, 0.0, -20.0], "1/1": [-40.0, -20.0, 0.0]}

    def dnq(father: str, mother: str) -> int:
        samples = [(2, 30, [15, 15], strong[g], -1) for g in (father, mother, "0/1")]
        return _core.genotype_site(["A", "C"], samples, [True, True], False, cohort, params)[4][2]

    assert dnq("1/1", "1/1") < 20
    assert dnq("0/0", "0/0") >= 20


def test_sex_from_python_is_validated(chrx: synth.Dataset, tmp_path: Path) -> None:
    ploidy = tmp_path / "ploidy.txt"
    ploidy.write_text(f"chrX 1 {chrx.length} M 1\n")
    lower = gmscall.call(chrx.bam, chrx.fasta, ploidy=str(ploidy), sex={"SYNTH": "m"})
    assert lower and all(len(r["gt"]) == 1 for r in lower)
    with pytest.raises(gmscall.InputError):
        gmscall.call(chrx.bam, chrx.fasta, ploidy=str(ploidy), sex={"NOBODY": "M"})


def test_depth_cap_is_per_sample_in_a_multi_sample_file(fam: synth.Family, tmp_path: Path) -> None:
    """A binding depth cap downsamples each sample by its own depth, whether the samples come in
    one file or in several."""
    merged = tmp_path / "kid-dad.bam"
    pysam.merge("-f", "-o", str(merged), str(fam.bams["KID"]), str(fam.bams["DAD"]))
    pysam.index(str(merged))
    capped = gmscall.CallOptions(max_depth=12)
    together = gmscall.call([merged, fam.bams["MUM"]], fam.fasta, options=capped)
    apart = gmscall.call([fam.bams["DAD"], fam.bams["KID"], fam.bams["MUM"]], fam.fasta, options=capped)
    dad = [{(r["pos"], r["ref"], tuple(r["alts"])): (r["samples"]["DAD"]["gt"], r["samples"]["DAD"]["dp"],
                                                     r["samples"]["DAD"]["ad"]) for r in recs}
           for recs in (together, apart)]
    assert dad[0] == dad[1]
    assert any(r["samples"]["DAD"]["dp"] <= 14 for r in together)  # the cap binds
