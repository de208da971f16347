"""VCF output of gmscall.call: header, records, bgzip + tabix, stdout, atomic writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

gmscall = pytest.importorskip("gmscall", reason="gmscall is not built/installed")

from gmscall import synth
from gmscall import vcf as gms_vcf
from gmscall.errors import InputError, OutputError

BCFTOOLS = shutil.which("bcftools")


@pytest.fixture(scope="module")
def named_sample(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """5-kb genome whose BAM read groups name the sample 'NA12878_synth'."""
    return synth.make_dataset(tmp_path_factory.mktemp("named"), length=5_000, depth=30, seed=3,
                              sample="NA12878_synth")


@pytest.fixture(scope="module")
def vcf_gz(synth_dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vcfgz") / "calls.vcf.gz"
    got = gmscall.call(synth_dataset.bam, synth_dataset.fasta, output=out, command="gmscall call test")
    assert got == out
    return out


def read_lines(path: Path) -> list[str]:
    with pysam.BGZFile(str(path), "rb") if str(path).endswith(".gz") else open(path, "rb") as fh:
        return fh.read().decode().splitlines()


def split(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    header = [x for x in lines if x.startswith("#")]
    records = [x.split("\t") for x in lines if not x.startswith("#")]
    return header, records


# --------------------------------------------------------------------------------------------
# header and records


def test_header(vcf_gz: Path, synth_dataset) -> None:
    ds = synth_dataset
    header, records = split(read_lines(vcf_gz))
    assert header[0] == "##fileformat=VCFv4.2"
    assert header[-1].split("\t") == ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT",
                                      "SYNTH"]
    assert sum(x.startswith("#CHROM") for x in header) == 1
    with pysam.FastaFile(str(ds.fasta)) as fa:
        want_contigs = [f"##contig=<ID={c},length={n}>" for c, n in zip(fa.references, fa.lengths)]
    assert [x for x in header if x.startswith("##contig=")] == want_contigs
    version = gmscall.__version__
    for line in (f"##source=gmscall {version}", f"##gmscallVersion={version}",
                 "##gmscallCommand=gmscall call test", "##gmscallBackend=cpu",
                 f"##reference=file://{os.path.abspath(ds.fasta)}"):
        assert header.count(line) == 1, line
    assert len(records) > 40


def test_header_contigs_are_the_references(named_sample, tmp_path: Path) -> None:
    """A reference with a contig the BAM lacks: the header still lists every reference contig, in
    FASTA order, and bcftools norm -f accepts the file."""
    fasta = tmp_path / "two.fa"
    fasta.write_text(">chrA\n" + "ACGT" * 30 + "\n" + Path(named_sample.fasta).read_text())
    pysam.faidx(str(fasta))
    out = gmscall.call(named_sample.bam, fasta, output=tmp_path / "c.vcf.gz")
    header, records = split(read_lines(out))
    assert [x for x in header if x.startswith("##contig=")] == [
        "##contig=<ID=chrA,length=120>", f"##contig=<ID={named_sample.contig},length={named_sample.length}>"]
    assert records and {f[0] for f in records} == {named_sample.contig}
    if BCFTOOLS:
        norm = subprocess.run([BCFTOOLS, "norm", "-c", "e", "-f", str(fasta), "-Ov", str(out)],
                              capture_output=True, text=True, check=False)
        assert norm.returncode == 0 and _stderr_problems(norm.stderr) == [], norm.stderr


def _defined(header: list[str], kind: str) -> dict[str, str]:
    out = {}
    for line in header:
        m = re.match(rf"##{kind}=<ID=([^,>]+)(?:,Number=([^,]+))?", line)
        if m:
            assert m.group(1) not in out, f"{kind} {m.group(1)} defined twice"
            out[m.group(1)] = m.group(2)
    return out


def test_every_field_used_is_defined(vcf_gz: Path) -> None:
    header, records = split(read_lines(vcf_gz))
    info, fmt, filt = _defined(header, "INFO"), _defined(header, "FORMAT"), _defined(header, "FILTER")
    used_info, used_fmt, used_filt = set(), set(), set()
    for f in records:
        assert len(f) == 10, f
        used_filt.update(f[6].split(";"))
        for kv in f[7].split(";"):
            key = kv.split("=")[0]
            used_info.add(key)
            assert ("=" in kv) == (info.get(key) != "0"), f"INFO {kv}: flag/value mismatch with its Number"
        keys = f[8].split(":")
        assert f[8].startswith("GT") and len(keys) == len(f[9].split(":"))
        used_fmt.update(keys)
    assert used_info <= set(info) and used_fmt <= set(fmt) and used_filt <= set(filt)
    assert {"DP", "MQ", "SOR", "HAP"} <= used_info and {"GT", "GQ", "DP", "AD", "PL"} <= used_fmt


def test_records_sorted_and_ref_matches_reference(vcf_gz: Path, synth_dataset) -> None:
    _, records = split(read_lines(vcf_gz))
    keys = [(f[0], int(f[1]), f[3], f[4]) for f in records]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    with pysam.FastaFile(str(synth_dataset.fasta)) as fa:
        for f in records:
            pos, ref = int(f[1]), f[3]
            assert fa.fetch(f[0], pos - 1, pos - 1 + len(ref)).upper() == ref, f
            assert re.fullmatch("[ACGT]+", ref) and all(re.fullmatch("[ACGT]+", a) for a in f[4].split(",")), f


def test_sample_name_from_read_groups(named_sample, tmp_path: Path) -> None:
    out = gmscall.call(named_sample.bam, named_sample.fasta, output=tmp_path / "c.vcf")
    assert next(x for x in read_lines(out) if x.startswith("#CHROM")).endswith("\tFORMAT\tNA12878_synth")
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["NA12878_synth"]


def _rewrite_bam(src: Path, dst: Path, read_groups: list[dict]) -> Path:
    with pysam.AlignmentFile(str(src)) as f:
        hd = f.header.to_dict()
        hd["RG"] = read_groups
        header = pysam.AlignmentHeader.from_dict(hd)
        with pysam.AlignmentFile(str(dst), "wb", header=header) as out:
            for k, r in enumerate(f.fetch(until_eof=True)):
                a = pysam.AlignedSegment.fromstring(r.to_string(), header)
                if read_groups:
                    a.set_tag("RG", read_groups[k % len(read_groups)]["ID"])
                else:
                    a.set_tag("RG", None)
                out.write(a)
    pysam.index(str(dst))
    return dst


def test_bam_without_sample_name(named_sample, tmp_path: Path) -> None:
    """No @RG SM: an error that says how to fix it, unless the caller names the sample."""
    bam = _rewrite_bam(named_sample.bam, tmp_path / "HG002.sorted.bam", [])
    with pytest.raises(InputError, match=r"HG002\.sorted\.bam: no read group with a sample name.*--sample"):
        gmscall.call(bam, named_sample.fasta, output=tmp_path / "c.vcf")
    assert not (tmp_path / "c.vcf").exists()
    out = gmscall.call(bam, named_sample.fasta, output=tmp_path / "c.vcf", sample="HG002")
    assert next(x for x in read_lines(out) if x.startswith("#CHROM")).endswith("\tFORMAT\tHG002")


def test_sample_option_overrides_read_groups(named_sample, tmp_path: Path) -> None:
    out = gmscall.call(named_sample.bam, named_sample.fasta, output=tmp_path / "c.vcf", sample="other")
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["other"]


def test_bam_with_two_samples_gives_two_columns(named_sample, tmp_path: Path) -> None:
    """Read groups of two samples in one file: a column each, reads split by their RG tag; a read
    whose RG is not in the header is an error that names it, and nothing is written."""
    rgs = [{"ID": "a", "SM": "S1"}, {"ID": "b", "SM": "S2"}]
    bam = _rewrite_bam(named_sample.bam, tmp_path / "two.bam", rgs)
    out = tmp_path / "c.vcf"
    gmscall.call(bam, named_sample.fasta, output=out)
    header = next(ln for ln in out.read_text().splitlines() if ln.startswith("#CHROM"))
    assert header.split("\t")[9:] == ["S1", "S2"]
    stray = _rewrite_bam(named_sample.bam, tmp_path / "stray.bam", rgs)
    with pysam.AlignmentFile(str(stray)) as f:
        hd = f.header.to_dict()
        reads = [pysam.AlignedSegment.fromstring(r.to_string(), f.header) for r in f]
    reads[5].set_tag("RG", "zz")
    with pysam.AlignmentFile(str(stray), "wb", header=hd) as o:
        for r in reads:
            o.write(r)
    pysam.index(str(stray))
    with pytest.raises(InputError, match=r"read group 'zz' is not in the header"):
        gmscall.call(stray, named_sample.fasta, output=tmp_path / "d.vcf")
    assert not (tmp_path / "d.vcf").exists()


# --------------------------------------------------------------------------------------------
# readers


def _stderr_problems(stderr: str) -> list[str]:
    """stderr lines other than bcftools norm's summary ('Lines total/split/...')."""
    return [x for x in stderr.splitlines() if x.strip() and not x.startswith("Lines   total/")]


@pytest.mark.skipif(BCFTOOLS is None, reason="bcftools not installed")
def test_bcftools_reads_it_without_warnings(vcf_gz: Path, synth_dataset, tmp_path: Path) -> None:
    for src in (vcf_gz, gmscall.call(synth_dataset.bam, synth_dataset.fasta, output=tmp_path / "plain.vcf")):
        view = subprocess.run([BCFTOOLS, "view", str(src)], capture_output=True, text=True, check=False)
        assert view.returncode == 0 and _stderr_problems(view.stderr) == [], view.stderr
        _, ours = split(read_lines(src))
        _, theirs = split(view.stdout.splitlines())
        def comparable(f: list[str]) -> list:  # bcftools rewrites floats: 60.00 -> 60
            return [*f[:5], float(f[5]), f[6], *f[8:]]

        assert [comparable(f) for f in theirs] == [comparable(f) for f in ours]
        norm = subprocess.run([BCFTOOLS, "norm", "-c", "e", "-f", str(synth_dataset.fasta), "-Ov", str(src)],
                              capture_output=True, text=True, check=False)
        assert norm.returncode == 0 and _stderr_problems(norm.stderr) == [], norm.stderr
        # already normalised: left-aligned, REF checked; nothing realigned
        assert re.search(r"total/split/realigned/skipped:\s+\d+/0/0/0", norm.stderr), norm.stderr
    stats = subprocess.run([BCFTOOLS, "index", "--stats", str(vcf_gz)], capture_output=True, text=True,
                           check=False)
    assert stats.returncode == 0 and stats.stdout.split("\t")[0] == synth_dataset.contig, stats


def test_gz_is_bgzf_with_tabix_index(vcf_gz: Path, synth_dataset) -> None:
    raw = vcf_gz.read_bytes()
    assert raw[:4] == b"\x1f\x8b\x08\x04" and raw[12:14] == b"BC"  # BGZF block header
    assert raw.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))  # EOF
    assert Path(str(vcf_gz) + ".tbi").is_file()
    _, records = split(read_lines(vcf_gz))
    c = synth_dataset.contig
    with pysam.VariantFile(str(vcf_gz)) as vf:
        assert vf.index is not None
        got = [(r.pos, r.ref, r.alts) for r in vf.fetch(c, 5_000, 12_000)]  # 0-based half-open
        want = [(int(f[1]), f[3], tuple(f[4].split(","))) for f in records
                if 5_000 < int(f[1]) + len(f[3]) - 1 and int(f[1]) <= 12_000]
        assert got == want and len(got) > 10
        assert len(list(vf.fetch(c))) == len(records)


def test_plain_text_without_gz(synth_dataset, tmp_path: Path) -> None:
    out = gmscall.call(synth_dataset.bam, synth_dataset.fasta, output=tmp_path / "calls.vcf")
    assert out.read_bytes().startswith(b"##fileformat=VCFv4.2\n")
    assert sorted(os.listdir(tmp_path)) == ["calls.vcf"]


def test_stdout(synth_dataset, tmp_path: Path, capsys) -> None:
    ds = synth_dataset
    gmscall.call(ds.bam, ds.fasta, output="-")
    printed = capsys.readouterr().out
    gmscall.call(ds.bam, ds.fasta, output=tmp_path / "f.vcf")
    assert printed.splitlines() == read_lines(tmp_path / "f.vcf")
    assert os.listdir(tmp_path) == ["f.vcf"]


def test_empty_result_is_a_valid_indexed_vcf(synth_dataset, tmp_path: Path) -> None:
    ds = synth_dataset
    lo, hi = ds.zero_coverage
    out = gmscall.call(ds.bam, ds.fasta, f"{ds.contig}:{lo + 1}-{hi}", output=tmp_path / "none.vcf.gz")
    header, records = split(read_lines(out))
    assert records == [] and header[0] == "##fileformat=VCFv4.2"
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.fetch(ds.contig)) == []


def test_overwrites_existing_output(synth_dataset, tmp_path: Path) -> None:
    out = tmp_path / "c.vcf.gz"
    out.write_text("old")
    Path(str(out) + ".tbi").write_text("old")
    gmscall.call(synth_dataset.bam, synth_dataset.fasta, output=out)
    with pysam.VariantFile(str(out)) as vf:
        assert len(list(vf.fetch(synth_dataset.contig))) > 40


# --------------------------------------------------------------------------------------------
# failures leave nothing behind


def _assert_untouched(folder: Path, before: dict[str, bytes]) -> None:
    now = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert now == before, f"left behind or changed: {sorted(set(now) ^ set(before))}"


@pytest.mark.parametrize("name", ["c.vcf", "c.vcf.gz"])
def test_region_error_writes_nothing(synth_dataset, tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="chrQ"):
        gmscall.call(synth_dataset.bam, synth_dataset.fasta, "chrQ:1-100", output=tmp_path / name)
    assert os.listdir(tmp_path) == []


def test_missing_output_folder(synth_dataset, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        gmscall.call(synth_dataset.bam, synth_dataset.fasta, output=tmp_path / "no" / "c.vcf")


@pytest.mark.parametrize("name", ["c.vcf", "c.vcf.gz"])
@pytest.mark.parametrize("existing", [False, True])
def test_failure_while_writing_leaves_nothing(synth_dataset, tmp_path: Path, monkeypatch, name: str,
                                              existing: bool) -> None:
    """A shard fails to format after the header and some records were written: no OUT, no temp
    file; an existing OUT (and its index) stays as it was."""
    out = tmp_path / name
    if existing:
        out.write_bytes(b"previous run")
        Path(str(out) + ".tbi").write_bytes(b"previous index")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = gms_vcf.format_records
    calls = []

    def failing(contig: str, recs: dict, layout: object) -> list[str]:
        calls.append(contig)
        if len(calls) == 3:
            raise RuntimeError("injected failure")
        return real(contig, recs, layout)

    monkeypatch.setattr(gms_vcf, "format_records", failing)
    with pytest.raises(RuntimeError, match="injected failure"):
        gmscall.call(synth_dataset.bam, synth_dataset.fasta, output=out, shard_size=5_000)
    assert len(calls) == 3
    _assert_untouched(tmp_path, before)


def test_failure_while_indexing_leaves_nothing(synth_dataset, tmp_path: Path, monkeypatch) -> None:
    before: dict[str, bytes] = {}

    class FailingIndex:
        def add_block(self, *args: object) -> None:
            pass

        def finish(self, *args: object) -> None:
            raise OSError("injected: disk full")

    monkeypatch.setattr(gms_vcf._core, "TabixStream", FailingIndex)
    with pytest.raises(OutputError, match=r"c\.vcf\.gz\.tbi: cannot write it: injected: disk full"):
        gmscall.call(synth_dataset.bam, synth_dataset.fasta, output=tmp_path / "c.vcf.gz")
    _assert_untouched(tmp_path, before)


def test_output_files_get_the_usual_permissions(synth_dataset, tmp_path: Path) -> None:
    """Written under a private temporary name, the files still end up with the umask's mode."""
    import os

    mask = os.umask(0o022)
    try:
        for name in ("x.vcf", "x.vcf.gz"):
            gmscall.call(synth_dataset.bam, synth_dataset.fasta, f"{synth_dataset.contig}:1-3000",
                         output=tmp_path / name)
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
        assert (tmp_path / "x.vcf.gz.tbi").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(mask)
