"""Joint genotyping from gVCFs (`gmscall genotype`): the genotypes of multi-BAM joint calling, a
sample hom-ref from its block where another has a variant, the same bytes for any split, and
one-line errors for unusable gVCFs (nothing written)."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

import pysam
import pytest
from conftest import run_cli

import gmscall
from gmscall import synth
from gmscall.errors import InputError
from gmscall.options import CallOptions

NAMES = ("DAD", "MUM", "KID")


@pytest.fixture(scope="module")
def fam(tmp_path_factory: pytest.TempPathFactory) -> synth.Family:
    return synth.make_family(tmp_path_factory.mktemp("gt"), length=30_000, depth=25, seed=8)


@pytest.fixture(scope="module")
def gvcfs(fam: synth.Family) -> list[Path]:
    out = []
    for name in NAMES:
        path = fam.root / f"{name}.g.vcf.gz"
        gmscall.call(fam.bams[name], fam.fasta, output=path, options=CallOptions(gvcf=True))
        out.append(path)
    return out


def genotypes(path: Path) -> dict[tuple[int, str], tuple]:
    out = {}
    with pysam.VariantFile(str(path)) as vf:
        samples = list(vf.header.samples)
        for r in vf:
            alleles = (r.ref, *r.alts)
            out[(r.pos, r.ref)] = tuple(tuple(sorted("." if a is None else alleles[a] for a in r.samples[s]["GT"]))
                                        for s in samples)
    return out


def text(path: Path) -> str:
    data = path.read_bytes()
    return gzip.decompress(data).decode() if data[:2] == b"\x1f\x8b" else data.decode()


def test_genotypes_of_gvcfs_match_joint_calling(fam: synth.Family, gvcfs: list[Path], tmp_path: Path) -> None:
    from_gvcfs, from_bams = tmp_path / "geno.vcf.gz", tmp_path / "joint.vcf.gz"
    gmscall.genotype_gvcfs(gvcfs, fam.fasta, from_gvcfs, ped=fam.ped)
    gmscall.call([fam.bams[n] for n in NAMES], fam.fasta, output=from_bams, ped=fam.ped)
    a, b = genotypes(from_gvcfs), genotypes(from_bams)
    agree = sum(a.get(k) == b.get(k) for k in set(a) | set(b))
    assert agree >= 0.995 * len(set(a) | set(b)), (agree, len(a), len(b))
    lines = text(from_gvcfs)
    assert "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tDAD\tMUM\tKID" in lines
    de_novo = [ln for ln in lines.splitlines() if "DENOVO=KID" in ln]
    assert [int(ln.split("\t")[1]) - 1 for ln in de_novo] == [fam.de_novo]


def test_hom_ref_from_a_block_where_another_sample_varies(fam: synth.Family, gvcfs: list[Path],
                                                          tmp_path: Path) -> None:
    out = tmp_path / "geno.vcf"
    gmscall.genotype_gvcfs(gvcfs, fam.fasta, out)
    dad_only = [p for p, (_, _, g) in fam.truth["DAD"].items()
                if p not in fam.truth["MUM"] and p not in fam.truth["KID"]]
    rows = {int(r[1]) - 1: r for r in (ln.split("\t") for ln in text(out).splitlines() if not ln.startswith("#"))}
    checked = 0
    for pos in dad_only:
        row = rows[pos]
        for column in row[10:12]:  # MUM and KID: from their reference blocks
            gt, gq, dp = column.split(":")[:3]
            assert gt == "0/0" and int(gq) >= 20 and int(dp) > 0, row
        checked += 1
    assert checked >= 5


def test_same_bytes_for_any_split(fam: synth.Family, gvcfs: list[Path], tmp_path: Path) -> None:
    outs = []
    for threads, shard in ((1, 1_000_000), (2, 777), (2, 5_000)):
        out = tmp_path / f"{threads}-{shard}.vcf.gz"
        gmscall.genotype_gvcfs(gvcfs, fam.fasta, out, threads=threads, shard_size=shard, command="x")
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("gmscall: error:") and "Traceback" not in proc.stderr, proc.stderr
    for n in needles:
        assert n in proc.stderr, (n, proc.stderr)


def test_bad_gvcfs_are_one_line_errors(fam: synth.Family, gvcfs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "x.vcf.gz"
    # plain VCF
    plain = tmp_path / "plain.vcf.gz"
    gmscall.call(fam.bams["DAD"], fam.fasta, output=plain)
    assert_one_line_error(run_cli("genotype", "-f", fam.fasta, "-o", out, plain, gvcfs[1]), str(plain), "plain VCF")
    # the same sample twice
    twin = tmp_path / "twin.g.vcf.gz"
    twin.write_bytes(gvcfs[0].read_bytes())
    Path(str(twin) + ".tbi").write_bytes(Path(str(gvcfs[0]) + ".tbi").read_bytes())
    assert_one_line_error(run_cli("genotype", "-f", fam.fasta, "-o", out, gvcfs[0], twin), str(twin), "DAD")
    # another reference build: the contig length differs
    other = tmp_path / "other.g.vcf.gz"
    body = text(gvcfs[0]).replace(f"##contig=<ID={fam.contig},length=30000>", f"##contig=<ID={fam.contig},length=31000>")
    _write_indexed(other, body)
    assert_one_line_error(run_cli("genotype", "-f", fam.fasta, "-o", out, other, gvcfs[1]), str(other), "length")
    # unsorted: tabix cannot index it, so it comes without an index; the message says to sort
    unsorted = tmp_path / "unsorted.g.vcf.gz"
    lines = text(gvcfs[1]).splitlines()
    first = next(k for k, ln in enumerate(lines) if not ln.startswith("#"))
    lines[first + 1], lines[first + 2] = lines[first + 2], lines[first + 1]
    pysam.tabix_compress(str(_plain(tmp_path / "u.vcf", "\n".join(lines) + "\n")), str(unsorted), force=True)
    with pytest.raises(OSError):
        pysam.tabix_index(str(unsorted), preset="vcf", force=True, keep_original=True)
    assert_one_line_error(run_cli("genotype", "-f", fam.fasta, "-o", out, gvcfs[0], unsorted), str(unsorted),
                          "sort")
    # no index
    bare = tmp_path / "bare.g.vcf.gz"
    bare.write_bytes(gvcfs[2].read_bytes())
    assert_one_line_error(run_cli("genotype", "-f", fam.fasta, "-o", out, gvcfs[0], bare), str(bare), "tabix")
    assert not out.exists() and not list(tmp_path.glob(".x.vcf.gz*"))
    with pytest.raises(InputError, match="no gVCF"):
        gmscall.genotype_gvcfs([], fam.fasta, out)


def _plain(path: Path, body: str) -> Path:
    path.write_text(body)
    return path


def _write_indexed(path: Path, body: str) -> None:
    pysam.tabix_compress(str(_plain(path.with_suffix(".txt"), body)), str(path), force=True)
    pysam.tabix_index(str(path), preset="vcf", force=True)


def test_list_file_on_the_command_line(fam: synth.Family, gvcfs: list[Path], tmp_path: Path) -> None:
    listing = tmp_path / "gvcfs.txt"
    listing.write_text("\n".join(map(str, gvcfs[1:])) + "\n")
    out = tmp_path / "x.vcf"
    proc = run_cli("genotype", "-f", fam.fasta, "-l", listing, "-o", out, gvcfs[0])
    assert proc.returncode == 0, proc.stderr
    assert text(out).count("\tDAD\tMUM\tKID") == 1


def test_dask_workers_give_the_same_bytes(fam: synth.Family, gvcfs: list[Path], dask_cluster, tmp_path: Path) -> None:
    import distributed

    local = tmp_path / "local.vcf.gz"
    gmscall.genotype_gvcfs(gvcfs, fam.fasta, local, threads=2, shard_size=4_000, command="x")
    with distributed.Client(dask_cluster) as client:
        remote = tmp_path / "dask.vcf.gz"
        gmscall.genotype_gvcfs(gvcfs, fam.fasta, remote, client=client, shard_size=4_000, command="x")
    assert remote.read_bytes() == local.read_bytes()


def test_sample_without_reads_is_no_call(fam: synth.Family, gvcfs: list[Path], tmp_path: Path) -> None:
    """A block of depth 0 says nothing: ./., as multi-BAM joint calling writes for a sample
    without reads, and the sample adds no allele to AN."""
    kid = tmp_path / "kid-part.bam"
    pysam.view("-b", "-o", str(kid), str(fam.bams["KID"]), f"{fam.contig}:1-14000", catch_stdout=False)
    pysam.index(str(kid))
    kid_gvcf = tmp_path / "KID.g.vcf.gz"
    gmscall.call(kid, fam.fasta, output=kid_gvcf, options=CallOptions(gvcf=True))
    out = tmp_path / "x.vcf"
    gmscall.genotype_gvcfs([gvcfs[0], gvcfs[1], kid_gvcf], fam.fasta, out, regions=f"{fam.contig}:16001-30000")
    rows = [ln.split("\t") for ln in text(out).splitlines() if not ln.startswith("#")]
    assert rows and all(r[11].startswith("./.:.:0:") and "AN=4;" in r[7] for r in rows)


def test_contig_without_records_and_replaced_files(fam: synth.Family, gvcfs: list[Path], tmp_path: Path) -> None:
    """gVCFs of a region (other header contigs have no record) genotype without -r; a gVCF replaced
    between two runs of one process is read anew."""
    parts = []
    for k, name in enumerate(NAMES):
        part = tmp_path / f"{name}.part.g.vcf.gz"
        gmscall.call(fam.bams[name], fam.fasta, f"{fam.contig}:1-10000", output=part, options=CallOptions(gvcf=True))
        parts.append(part)
    first = tmp_path / "first.vcf"
    gmscall.genotype_gvcfs(parts, fam.fasta, first)
    assert text(first).count("\n") > 10
    swapped = tmp_path / "swap.g.vcf.gz"
    for src in (gvcfs[2], gvcfs[1]):
        swapped.write_bytes(src.read_bytes())
        Path(str(swapped) + ".tbi").write_bytes(Path(str(src) + ".tbi").read_bytes())
        out = tmp_path / f"from-{src.name}.vcf"
        gmscall.genotype_gvcfs([gvcfs[0], swapped], fam.fasta, out)
    a = [ln.split("\t")[10] for ln in text(tmp_path / f"from-{gvcfs[2].name}.vcf").splitlines() if ln[0] != "#"]
    b = [ln.split("\t")[10] for ln in text(tmp_path / f"from-{gvcfs[1].name}.vcf").splitlines() if ln[0] != "#"]
    assert a != b


# ---------------------------------------------------------------- one sample: gVCF = BAM


def _body(path: Path) -> list[list[str]]:
    return [ln.split("\t") for ln in text(path).splitlines() if not ln.startswith("#")]


def assert_same_calls(vcf: Path, genotyped: Path) -> int:
    """The records of `gmscall genotype` of a sample's gVCF are those of `gmscall call` of its
    BAM: every column the same, but QUAL within 0.011 and GQ, PL within 1 (the gVCF keeps the
    likelihoods to 4 decimals). Returns the number of records."""
    a, b = _body(vcf), _body(genotyped)
    assert [r[:2] for r in a] == [r[:2] for r in b]
    for x, y in zip(a, b):
        assert x[2:5] + x[6:9] == y[2:5] + y[6:9], (x, y)  # ID REF ALT, FILTER INFO FORMAT
        assert abs(float(x[5]) - float(y[5])) <= 0.011, (x, y)
        fx, fy = x[9].split(":"), y[9].split(":")
        assert fx[0] == fy[0] and fx[2:4] == fy[2:4], (x, y)  # GT, DP, AD
        assert abs(int(fx[1]) - int(fy[1])) <= 1, (x, y)
        assert all(abs(int(p) - int(q)) <= 1 for p, q in zip(fx[4].split(","), fy[4].split(","))), (x, y)
    return len(a)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One sample's reads with a second, shallower genome's mixed in (a contamination): besides
    its own variants, alleles at a tenth to a quarter of the reads, which the caller weighs and
    mostly leaves out (uncalled candidate sites, haplotypes that no call selects, low QUAL)."""
    root = tmp_path_factory.mktemp("mixed")
    ref = synth.make_reference(40_000, 3, contig="chrM1", n_run=0)
    own = synth.plant_variants(ref, 3, n_snv=100, n_indel=160, n_multiallelic=6)
    other = synth.plant_variants(ref, 4, n_snv=100, n_indel=160, n_multiallelic=6)
    reads = synth.simulate_reads(own.haplotypes, 3, 18, 150, 350, 50)
    reads += synth.simulate_reads(other.haplotypes, 4, 7, 150, 350, 50, name_prefix="mix")
    return synth.write_fasta(root / "ref.fa", ref), synth.write_bam(root / "reads.bam", reads, ref)


def test_one_sample_genotyped_from_its_gvcf_is_its_bam_call(mixed: tuple[Path, Path], tmp_path: Path) -> None:
    fasta, bam = mixed
    vcf, gvcf, genotyped = tmp_path / "x.vcf", tmp_path / "x.g.vcf.gz", tmp_path / "y.vcf"
    gmscall.call(bam, fasta, output=vcf, shard_size=7_000)
    gmscall.call(bam, fasta, output=gvcf, options=CallOptions(gvcf=True), shard_size=7_000)
    gmscall.genotype_gvcfs([gvcf], fasta, genotyped, shard_size=7_000)
    n = assert_same_calls(vcf, genotyped)
    # What the identity has to survive: the gVCF holds records the VCF does not (uncalled
    # candidates, QUAL below 10), records with more alleles than the call keeps, haplotype-model
    # and multi-allelic calls, LowQual ones.
    calls = {r[1]: r for r in _body(vcf)}
    records = [r for r in _body(gvcf) if "END=" not in r[7]]
    assert sum(r[1] not in calls for r in records) >= 10
    assert sum(r[1] in calls and r[4].count(",") > calls[r[1]][4].count(",") + 1 for r in records) >= 3
    assert n > 300 and sum("HAP" in r[7] for r in calls.values()) > 100
    assert sum("," in r[4] for r in calls.values()) >= 3 and sum(r[6] == "LowQual" for r in calls.values()) >= 1


SHARED_SAMPLES = (  # set, BAM, region (a slice of the simulated sets keeps the test short)
    ("real-hg001-chr20-2x101", "reads.bam", None),
    ("real-hg001-trio-chr20-2x151", "HG001.bam", None),
    ("sim-hg002-chr20-2x150", "reads.bam", "chr20:2000001-2400000"),
    ("sim-trio-chr20-2x150", "HG004.bam", "chr20:4500001-4900000"),
)


@pytest.mark.parametrize(("name", "bam", "region"), SHARED_SAMPLES, ids=[s[0] for s in SHARED_SAMPLES])
def test_one_sample_identity_on_shared_sets(shared_data: Path, tmp_path: Path, name: str, bam: str,
                                            region: str | None) -> None:
    import csv

    with open(shared_data / "datasets.tsv", newline="") as fh:
        row = {r["name"]: r for r in csv.DictReader(fh, delimiter="\t")}[name]
    ref, reads = shared_data / row["ref"], shared_data / name / bam
    region = region or row["region"]
    vcf, gvcf, genotyped = tmp_path / "x.vcf", tmp_path / "x.g.vcf.gz", tmp_path / "y.vcf"
    gmscall.call(reads, ref, region, output=vcf, threads=2)
    gmscall.call(reads, ref, region, output=gvcf, threads=2, options=CallOptions(gvcf=True))
    gmscall.genotype_gvcfs([gvcf], ref, genotyped, regions=region, threads=2)
    assert assert_same_calls(vcf, genotyped) > 20


# ---------------------------------------------------------------- repeat lengths a sample's reads did not propose

REPEAT_AT = 3000  # a 40-bp AC repeat: 100-bp reads that cover it often end inside it


@pytest.fixture(scope="module")
def repeat_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """Two samples at a long AC repeat: A carries two more units on one copy (0/1), B one more
    unit on both (1/1). Each gVCF is made from one sample's reads alone."""
    root = tmp_path_factory.mktemp("repeat")
    seq = synth.make_reference(6_000, 21, contig="chrR").seq
    seq = seq[:REPEAT_AT] + "AC" * 20 + "T" + seq[REPEAT_AT + 41:]
    ref = synth.Reference("chrR", seq)
    anchor = REPEAT_AT - 1
    edits = {"A": ([], [(anchor, seq[anchor], seq[anchor] + "ACAC")]),
             "B": ([(anchor, seq[anchor], seq[anchor] + "AC")], [(anchor, seq[anchor], seq[anchor] + "AC")])}
    fasta = synth.write_fasta(root / "ref.fa", ref)
    gvcfs = {}
    for k, (name, (h0, h1)) in enumerate(edits.items()):
        haps = [synth._build_haplotype("chrR", i, seq, e) for i, e in enumerate((h0, h1))]
        reads = synth.simulate_reads(haps, 30 + k, 30, 100, 300, 40)
        bam = synth.write_bam(root / f"{name}.bam", reads, ref, sample=name)
        gvcfs[name] = root / f"{name}.g.vcf.gz"
        gmscall.call(bam, fasta, output=gvcfs[name], options=CallOptions(gvcf=True))
    return fasta, gvcfs


def _record_at(path: Path, pos: int) -> list[str]:
    return next(r for r in _body(path) if r[1] == str(pos) and "END=" not in r[7])


def test_gvcf_lists_repeat_lengths_next_to_its_alleles(repeat_pair: tuple[Path, dict[str, Path]]) -> None:
    _, gvcfs = repeat_pair
    rec = _record_at(gvcfs["B"], REPEAT_AT)  # the repeat's anchor (1-based POS)
    ref, alts = rec[3], rec[4].split(",")
    info = dict(kv.split("=", 1) for kv in rec[7].split(";") if "=" in kv)
    n = int(info["REPEAT_ALTS"])
    extras = alts[len(alts) - 1 - n:-1]
    assert alts[-1] == "<NON_REF>" and n >= 2
    lengths = {len(a) - len(ref) for a in extras}
    assert {4, -2} <= lengths  # A's allele (two units), and one unit fewer than REF
    # never called, and likelihoods of its own reads (not <NON_REF>'s): 1/1 of the +2 allele is
    # far below B's own call, the genotype of the reads
    fmt = dict(zip(rec[8].split(":"), rec[9].split(":")))
    assert fmt["GT"] == "1/1"
    gl = [float(x) for x in fmt["GL"].split(",")]
    k = alts.index(next(a for a in extras if len(a) - len(ref) == 4)) + 1
    assert -200 < gl[k * (k + 1) // 2 + k] < gl[2] - 3
    res = gmscall.check_gvcf(str(gvcfs["B"]), str(repeat_pair[0]))  # `gmscall check` reads REPEAT_ALTS
    assert not res.problems, [p.text(res.path) for p in res.problems]


def test_cohort_genotypes_an_allele_from_another_samples_repeat_lengths(repeat_pair: tuple[Path, dict[str, Path]],
                                                                        tmp_path: Path) -> None:
    fasta, gvcfs = repeat_pair
    out = tmp_path / "pair.vcf"
    gmscall.genotype_gvcfs([gvcfs["A"], gvcfs["B"]], fasta, out)
    rec = _record_at(out, REPEAT_AT)
    alleles = [rec[3], *rec[4].split(",")]
    calls = [sorted(len(alleles[int(a)]) - len(rec[3]) for a in col.split(":")[0].split("/")) for col in rec[9:]]
    assert calls == [[0, 4], [2, 2]]
    # one sample's gVCF: the extras are left out, as its BAM call never saw them
    alone, bam_call = tmp_path / "B.vcf", tmp_path / "B.bam.vcf"
    gmscall.genotype_gvcfs([gvcfs["B"]], fasta, alone)
    gmscall.call(gvcfs["B"].with_name("B.bam"), fasta, output=bam_call)
    assert assert_same_calls(bam_call, alone) >= 1


def test_repeat_extras_same_bytes_for_any_split(repeat_pair: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    fasta, gvcfs = repeat_pair
    bam = gvcfs["B"].with_name("B.bam")
    for size in (2_990, 3_003, 700):  # borders at the repeat's anchor, inside it, and many
        out = tmp_path / f"B.{size}.g.vcf.gz"
        gmscall.call(bam, fasta, output=out, options=CallOptions(gvcf=True), shard_size=size, threads=2)
        assert text(out) == text(gvcfs["B"]), size


def test_a_genotype_naming_a_repeat_alt_is_damage(repeat_pair: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    fasta, gvcfs = repeat_pair
    lines = text(gvcfs["B"]).splitlines(keepends=True)
    k = next(i for i, ln in enumerate(lines) if "REPEAT_ALTS=" in ln)
    f = lines[k].split("\t")
    n_alts = len(f[4].split(","))
    f[9] = f"{n_alts - 1}/{n_alts - 1}" + f[9][3:]  # the last allele before <NON_REF>: an extra
    lines[k] = "\t".join(f)
    plain = tmp_path / "bad.g.vcf"
    plain.write_text("".join(lines))
    bad = tmp_path / "bad.g.vcf.gz"
    pysam.tabix_compress(str(plain), str(bad))
    pysam.tabix_index(str(bad), preset="vcf")
    with pytest.raises(InputError, match="REPEAT_ALTS allele"):
        gmscall.genotype_gvcfs([bad], fasta, tmp_path / "out.vcf")
