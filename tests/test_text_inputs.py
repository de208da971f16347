"""The small text inputs (BED, PED, ploidy file, lists of BAMs or gVCFs) of every command that takes
them, damaged: binary data, gzipped, a byte that is not UTF-8, a folder, too few columns, a
number that is not one. Each gives one line on stderr and exit 2, never a traceback (issue #25)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

import gmscall
from gmscall import synth
from gmscall.cli import main
from gmscall.options import CallOptions

DAMAGES = {
    "binary": b"\x00\x01\xff\xfe\x89PNG\r\n\x1a\n",
    "gzipped": gzip.compress(b"chrS\t0\t1000\n"),
    "not UTF-8": b"chrS\t0\t1000\xff\n",
    "folder": None,
    "too few columns": b"chrS\t100\n",
    "not a number": b"chrS\tx\t1000\tM\tx\n",
}


@pytest.fixture(scope="module")
def fam(tmp_path_factory: pytest.TempPathFactory) -> synth.Family:
    f = synth.make_family(tmp_path_factory.mktemp("text"), length=6_000, depth=8, seed=4, n_snv=6)
    gmscall.call(f.bams["DAD"], f.fasta, output=f.root / "DAD.g.vcf.gz", options=CallOptions(gvcf=True))
    return f


def _commands(fam: synth.Family, bad: str, out: str) -> dict[str, list[str]]:
    ref, bam, gvcf = str(fam.fasta), str(fam.bams["DAD"]), str(fam.root / "DAD.g.vcf.gz")
    return {
        "call -R": ["call", "-f", ref, "-R", bad, "-o", out, bam],
        "call -b": ["call", "-f", ref, "-b", bad, "-o", out],
        "call --ped": ["call", "-f", ref, "--ped", bad, "-o", out, bam],
        "call --ploidy": ["call", "-f", ref, "--ploidy", bad, "--sex", "DAD=M", "-o", out, bam],
        "genotype -R": ["genotype", "-f", ref, "-R", bad, "-o", out, gvcf],
        "genotype -l": ["genotype", "-f", ref, "-l", bad, "-o", out],
        "genotype --ped": ["genotype", "-f", ref, "--ped", bad, "-o", out, gvcf],
        "check -R": ["check", "-R", bad, gvcf],
        "check -l": ["check", "-l", bad],
        "somatic -R": ["somatic", "-f", ref, "--tumor", bam, "-R", bad, "-o", out],
        "qc -R": ["qc", "-R", bad, "-o", out, gvcf],
        "qc --ped": ["qc", "--ped", bad, "-o", out, gvcf],
        "qc --ploidy": ["qc", "--ploidy", bad, "-o", out, gvcf],
        "eval --bed": ["eval", "--calls", gvcf, "--truth", gvcf, "-f", ref, "--bed", bad],
    }


COMMANDS = [
    "call -R", "call -b", "call --ped", "call --ploidy", "genotype -R", "genotype -l", "genotype --ped", "check -R",
    "check -l", "somatic -R", "qc -R", "qc --ped", "qc --ploidy", "eval --bed"]


@pytest.mark.parametrize("command", COMMANDS)
def test_damaged_text_input_is_one_line(fam: synth.Family, tmp_path: Path, capfd: pytest.CaptureFixture[str],
                                        command: str) -> None:
    seen = {}
    for damage, data in DAMAGES.items():
        bad = tmp_path / f"bad-{damage.replace(' ', '_')}"
        if data is None:
            bad.mkdir()
        else:
            bad.write_bytes(data)
        out = tmp_path / f"out-{damage.replace(' ', '_')}.vcf"
        capfd.readouterr()
        rc = main(_commands(fam, str(bad), str(out))[command])
        err = capfd.readouterr().err
        if command in ("call -b", "genotype -l", "check -l") and damage in ("too few columns", "not a number"):
            continue  # a list of paths: any text names files (then missing ones: their own one line)
        last = err.rstrip("\n").splitlines()[-1] if err.strip() else ""
        assert rc == 2, (command, damage, rc, err)
        assert "Traceback" not in err and last.startswith(("gmscall: error: ", "gmscall eval: error: ")), \
            (command, damage, err)
        if not command.startswith("check"):
            assert err.count("\n") == 1, (command, damage, err)
        assert not out.exists(), (command, damage)
        seen[damage] = last
    assert seen


@pytest.mark.parametrize("damage", ["missing", "binary", "folder"])
def test_check_with_a_bad_reference_is_one_line(fam: synth.Family, tmp_path: Path,
                                                capfd: pytest.CaptureFixture[str], damage: str) -> None:
    ref = tmp_path / "ref.fa"
    if damage == "binary":
        ref.write_bytes(DAMAGES["binary"])
    elif damage == "folder":
        ref.mkdir()
    capfd.readouterr()
    rc = main(["check", "-f", str(ref), str(fam.root / "DAD.g.vcf.gz")])
    err = capfd.readouterr().err
    assert rc == 2 and err.startswith(f"gmscall: error: {ref}: ") and err.count("\n") == 1, err
