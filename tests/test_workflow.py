"""The Snakemake workflow (workflows/snakemake) end to end on synthetic data: a trio, an unrelated
sample and a tumour/normal pair on one reference. Skipped when snakemake is not installed
(`pip install '.[workflow]'`)."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest
from exampledata import ExampleSet, make_example_set

SNAKEFILE = Path(__file__).resolve().parents[1] / "workflows" / "snakemake" / "Snakefile"

pytestmark = pytest.mark.skipif(importlib.util.find_spec("snakemake") is None,
                                reason="snakemake is not installed (pip install '.[workflow]')")


def _gmscall_command() -> str:
    return f"{shlex.quote(sys.executable)} -m gmscall.cli"


def _snakemake(workdir: Path, config: Path, *extra: str, timeout: int = 900) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
           "--configfile", str(config), "--cores", "2", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _sheet(ex: ExampleSet, path: Path) -> Path:
    rows = [("sample", "bam", "sex", "family", "father", "mother", "role"),
            ("kid", ex.trio["kid"], "M", "FAM1", "dad", "mum", "germline"),
            ("dad", ex.trio["dad"], "M", "FAM1", "", "", "germline"),
            ("mum", ex.trio["mum"], "F", "FAM1", "", "", "germline"),
            ("sample", ex.sample, "F", "", "", "", ""),
            ("tumour", ex.tumour, "", "PAT1", "", "", "tumour"),
            ("normal", ex.normal, "", "PAT1", "", "", "normal")]
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    return path


def _config(path: Path, sheet: Path, ref: Path) -> Path:
    path.write_text(f"samples: {sheet}\nreference: {ref}\noutdir: results\ngmscall: {_gmscall_command()}\n"
                    "backend: cpu\nthreads: {call: 2, genotype: 2, somatic: 2, qc: 1}\n")
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExampleSet, float]:
    root = tmp_path_factory.mktemp("workflow")
    ex = make_example_set(root / "data")
    config = _config(root / "config.yaml", _sheet(ex, root / "samples.tsv"), ex.fasta)
    work = root / "run"
    t0 = time.perf_counter()
    res = _snakemake(work, config)
    took = time.perf_counter() - t0
    assert res.returncode == 0, res.stderr[-4000:]
    return work / "results", ex, took


def _samples(vcf: Path) -> list[str]:
    with pysam.VariantFile(str(vcf)) as f:
        return list(f.header.samples)


def _records(vcf: Path) -> list[pysam.VariantRecord]:
    with pysam.VariantFile(str(vcf)) as f:
        return list(f)


def test_every_output_is_bgzipped_and_indexed(run) -> None:
    out, _, took = run
    vcfs = [out / "gvcf" / f"{s}.g.vcf.gz" for s in ("kid", "dad", "mum", "sample")]
    vcfs += [out / "family" / "FAM1.vcf.gz", out / "single" / "sample.vcf.gz", out / "cohort" / "cohort.vcf.gz",
             out / "somatic" / "tumour.vcf.gz"]
    for vcf in vcfs:
        assert vcf.read_bytes()[:2] == b"\x1f\x8b", vcf
        assert Path(str(vcf) + ".tbi").stat().st_size > 0, vcf
        with pysam.TabixFile(str(vcf)) as tb:
            assert "chr20" in tb.contigs
    logs = sorted(p.relative_to(out / "logs").as_posix() for p in (out / "logs").rglob("*.log"))
    assert {"gvcf/kid.log", "family/FAM1.log", "single/sample.log", "cohort/cohort.log", "qc/qc.log",
            "somatic/tumour.log"} <= set(logs)
    print(f"workflow run took {took:.1f} s")


def test_family_and_cohort_columns_and_genotypes(run) -> None:
    out, ex, _ = run
    fam = out / "family" / "FAM1.vcf.gz"
    assert sorted(_samples(fam)) == ["dad", "kid", "mum"]
    assert sorted(_samples(out / "cohort" / "cohort.vcf.gz")) == ["dad", "kid", "mum", "sample"]
    assert _samples(out / "single" / "sample.vcf.gz") == ["sample"]
    assert _samples(out / "gvcf" / "kid.g.vcf.gz") == ["kid"]
    recs = _records(fam)
    assert len(recs) >= 30
    for rec in recs:
        for s in ("kid", "dad", "mum"):
            assert "GT" in rec.samples[s], (rec.pos, s)
    # The kid's planted SNVs are called with its genotype.
    called = {(r.pos - 1, r.alts[0]): tuple(sorted(x for x in r.samples["kid"]["GT"] if x is not None))
              for r in recs if "PASS" in r.filter}
    truth = ex.family.truth["kid"]
    hits = sum(called.get((p, b)) == tuple(sorted(gt)) for p, (_, b, gt) in truth.items())
    assert hits >= 0.9 * len(truth), (hits, len(truth))
    # The pedigree went in: the PED of the family and its trio header line.
    with pysam.VariantFile(str(fam)) as f:
        header = str(f.header)
        has_ps = "PS" in f.header.formats
    assert "##gmscallTrio=<Child=kid,Father=dad,Mother=mum>" in header
    if has_ps:  # phase fields (when this gmscall writes them): phased hets carry PS
        phased = [r for r in recs for s in r.samples.values() if s.phased and len(set(s["GT"])) > 1]
        assert phased and all(s.get("PS") is not None for r in recs for s in r.samples.values()
                              if s.phased and len(set(s["GT"])) > 1)


def test_qc_report(run) -> None:
    import json

    out, _, _ = run
    report = json.loads((out / "qc" / "gmscall_qc.json").read_text())
    text = json.dumps(report)
    for s in ("kid", "dad", "mum", "sample"):
        assert f'"{s}"' in text
    assert list((out / "qc").glob("gmscall_*_mqc.json"))


def test_somatic_pass_calls(run) -> None:
    out, ex, _ = run
    vcf = out / "somatic" / "tumour.vcf.gz"
    with pysam.VariantFile(str(vcf)) as f:
        assert list(f.header.samples) == ["TUMOR", "NORMAL"]
        assert "##normal_sample=normal" in str(f.header)
        passed = {(r.pos - 1, r.ref, r.alts[0]) for r in f if "PASS" in r.filter}
    truth = {(p, a, b) for p, (a, b, _) in ex.pair.somatic.items()}
    assert len(passed & truth) >= len(truth) - 2, (sorted(passed), sorted(truth))
    assert len(passed - truth) <= 1
    germline = {(p, a, b) for p, (a, b) in ex.pair.germline.items()}
    assert not passed & germline


def test_rerun_has_nothing_to_do(run, tmp_path: Path) -> None:
    out, _ex, _ = run
    config = out.parent.parent / "config.yaml"
    res = _snakemake(out.parent, config, "--dry-run")
    assert res.returncode == 0, res.stderr[-2000:]
    assert "Nothing to be done" in res.stdout + res.stderr


def test_every_gmscall_step_runs_with_resume(run) -> None:
    """call, genotype (family, single) and somatic all get --resume (the Snakefile asks each
    command's --help), so a job the cluster kills continues from its checkpoints when rerun; none
    is left behind by the finished run."""
    out, _, _ = run
    config = out.parent.parent / "config.yaml"
    res = _snakemake(out.parent, config, "--dry-run", "--forceall", "--printshellcmds")
    assert res.returncode == 0, res.stderr[-2000:]
    text = res.stdout + res.stderr
    commands = [ln for ln in text.splitlines() if " -m gmscall.cli " in ln and " --help" not in ln]
    for step in (" call ", " genotype ", " somatic "):
        runs = [ln for ln in commands if step in ln]
        assert runs and all(" --resume " in ln for ln in runs), (step, runs or text[-3000:])
    assert not list(out.rglob("*.gmscall-work"))


def test_bad_sample_sheet_is_one_clear_error(tmp_path: Path) -> None:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\tbam\tsex\nkid\tkid.bam\tX\n")
    config = _config(tmp_path / "config.yaml", sheet, tmp_path / "ref.fa")
    res = _snakemake(tmp_path / "run", config, "--dry-run")
    assert res.returncode != 0
    assert "samples.tsv line 2: sex 'X' is not M, F or empty" in res.stderr + res.stdout


def test_every_gvcf_is_checked(run) -> None:
    """gmscall check (with -f) ran on every germline gVCF before genotyping: its report says OK."""
    out, _, _ = run
    for s in ("kid", "dad", "mum", "sample"):
        report = (out / "gvcf" / f"{s}.check.txt").read_text()
        assert report.startswith(f"{out.name}/gvcf/{s}.g.vcf.gz: OK: ") or ": OK: " in report, report
