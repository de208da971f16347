"""The documentation cannot drift from the code:

- every ```bash and ```python block of docs/*.md and README.md runs, page by page, in a folder
  holding the synthetic files the pages name (tests/exampledata.py); a block that cannot run here
  says why in a `<!-- docs-test: skip (reason) -->` line before it, and `<!-- docs-test: needs
  TOOL -->` runs it only where TOOL is installed;
- every INFO/FORMAT/FILTER/ALT ID and header key that gmscall writes, in each kind of output, has
  its row in docs/output.md;
- every public name of `gmscall` has an entry in docs/api.md;
- `mkdocs build --strict` passes (when MkDocs is installed: pip install '.[docs]').
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest
from exampledata import ExampleSet, make_example_set

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md")) + [ROOT / "README.md"]
_MARK = re.compile(r"^<!--\s*docs-test:\s*(skip|needs)\s*(.*?)\s*-->\s*$")
_FENCE = re.compile(r"^(\s*)```(\w+)\s*$")


def code_blocks(page: Path) -> list[tuple[int, str, str, tuple[str, str] | None]]:
    """(line, language, code, marker) of every fenced block, with the docs-test marker on the
    line before its fence (blank lines between allowed)."""
    lines = page.read_text().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        code = "\n".join(l.removeprefix(indent) for l in lines[i + 1 : j])
        k = i - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mk = _MARK.match(lines[k].strip()) if k >= 0 else None
        if page.name == "README.md" and not out and mk is None:  # its first lines: CI runs them itself
            mk = _MARK.match("<!-- docs-test: skip (the README's two first commands: CI runs them) -->")
        out.append((i + 1, lang, code, (mk.group(1), mk.group(2)) if mk else None))
        i = j + 1
    return out


# ------------------------------------------------------------------------------------- data


def _gmscall(*args: str, cwd: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "gmscall.cli", *args], cwd=cwd, capture_output=True, text=True,
                         check=False)
    assert res.returncode == 0, (args, res.stderr[-2000:])


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ExampleSet]:
    """The files the pages name, made once: inputs, and the outputs that pages read without
    making them first (gVCFs, trio.vcf.gz, calls.vcf.gz, somatic.vcf.gz)."""
    root = tmp_path_factory.mktemp("docs-data")
    ex = make_example_set(root)
    pysam.view("-C", "-T", str(ex.fasta), "-o", str(root / "sample.cram"), str(ex.sample), catch_stdout=False)
    pysam.index(str(root / "sample.cram"))
    (root / "targets.bed").write_text("chr20\t0\t12000\nchr20\t15000\t24000\n")
    (root / "confident.bed").write_text("chr20\t0\t24000\n")
    (root / "bams.txt").write_text("kid.bam\ndad.bam\nmum.bam\n")
    (root / "gvcfs.txt").write_text("kid.g.vcf.gz\ndad.g.vcf.gz\nmum.g.vcf.gz\n")
    for s in ("kid", "dad", "mum"):
        _gmscall("call", "-f", "ref.fa", "--gvcf", "-o", f"{s}.g.vcf.gz", f"{s}.bam", cwd=root)
    _gmscall("call", "-f", "ref.fa", "--ped", "trio.ped", "-o", "trio.vcf.gz", "kid.bam", "dad.bam", "mum.bam",
             cwd=root)
    _gmscall("call", "-f", "ref.fa", "-o", "calls.vcf.gz", "sample.bam", cwd=root)
    _gmscall("somatic", "-f", "ref.fa", "--tumor", "tumour.bam", "--normal", "normal.bam", "-o", "somatic.vcf.gz",
             cwd=root)
    return root, ex


def _workdir(data_root: Path, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for f in data_root.iterdir():
        if f.is_file():
            (where / f.name).symlink_to(f)
    return where


# ------------------------------------------------------------------------------------- examples


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_examples_run(page: Path, data, tmp_path: Path) -> None:
    blocks = [b for b in code_blocks(page) if b[1] in ("bash", "python")]
    work = _workdir(data[0], tmp_path / "work")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    ran, skipped = 0, []
    for line, lang, code, mark in blocks:
        if mark and mark[0] == "skip":
            assert mark[1].strip("() "), f"{page.name}:{line}: a skipped block must say why"
            skipped.append(line)
            continue
        if mark and mark[0] == "needs":
            tool = mark[1].strip()
            if shutil.which(tool) is None and importlib.util.find_spec(tool) is None:
                skipped.append(line)
                continue
        cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        t0 = time.perf_counter()
        res = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False)
        assert res.returncode == 0, (f"{page.name}:{line} ({lang}) exited {res.returncode} after "
                                     f"{time.perf_counter() - t0:.1f} s:\n{code}\n--- stderr:\n{res.stderr[-3000:]}")
        ran += 1
    print(f"{page.name}: {ran} blocks ran, skipped at lines {skipped}")


def test_blocks_are_found_and_few_are_skipped() -> None:
    runnable = skipped = 0
    for page in PAGES:
        for line, lang, _, mark in code_blocks(page):
            if lang in ("bash", "python"):
                runnable += 1
                skipped += bool(mark and mark[0] == "skip")
            else:  # a block that looks runnable must be marked bash/python so that it runs
                assert lang not in ("sh", "shell", "console", "zsh", "py", "python3", "pycon"), \
                    f"{page.name}:{line}: fence language {lang!r}: use bash or python (run by this test) or text"
    assert runnable >= 20 and skipped <= runnable // 3, (runnable, skipped)


# ------------------------------------------------------------------------------------- output.md


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _header(vcf: Path) -> tuple[set[str], set[str]]:
    """IDs of the INFO/FORMAT/FILTER/ALT lines, and the other ## keys."""
    ids, keys = set(), set()
    with pysam.BGZFile(str(vcf)) as fh:
        for raw in fh:
            line = raw.decode()
            if not line.startswith("##"):
                break
            key = line[2:].split("=", 1)[0]
            if key in ("INFO", "FORMAT", "FILTER", "ALT"):
                ids.add(re.search(r"ID=([^,>]+)", line).group(1))
            else:
                keys.add("GVCFBlock…" if key.startswith("GVCFBlock") else key)
    return ids, keys


def _documented(section: str) -> set[str]:
    """The IDs in the first column of a section's tables (`ID`, or `A`, `B` for several)."""
    out = set()
    for row in re.findall(r"^\|(.+?)\|", section, flags=re.MULTILINE):
        out.update(re.findall(r"`([^`]+)`", row))
    return out


def test_every_header_field_is_documented(data, tmp_path: Path) -> None:
    root, _ = data
    work = _workdir(root, tmp_path / "work")
    _gmscall("call", "-f", "ref.fa", "--ped", "trio.ped", "--ploidy", "GRCh38", "-o", "ploidy.vcf.gz",
             "kid.bam", "dad.bam", "mum.bam", cwd=work)
    _gmscall("genotype", "-f", "ref.fa", "--ped", "trio.ped", "-o", "genotyped.vcf.gz",
             "kid.g.vcf.gz", "dad.g.vcf.gz", "mum.g.vcf.gz", cwd=work)
    _gmscall("somatic", "-f", "ref.fa", "--tumor", "tumour.bam", "-o", "tonly.vcf.gz", cwd=work)
    sections = _sections((DOCS / "output.md").read_text())
    germline, gvcf, somatic = (_documented(sections[k]) for k in ("Germline VCF", "gVCF", "Somatic VCF"))
    other = _documented(sections["Other header lines"])
    kinds = {"germline": (["calls.vcf.gz", "trio.vcf.gz", "ploidy.vcf.gz", "genotyped.vcf.gz"], germline),
             "gVCF": (["kid.g.vcf.gz"], germline | gvcf),
             "somatic": (["somatic.vcf.gz", "tonly.vcf.gz"], somatic)}
    missing = []
    for kind, (files, documented) in kinds.items():
        for f in files:
            ids, keys = _header(work / f)
            missing += [f"{kind} {i} ({f})" for i in sorted(ids - documented)]
            missing += [f"header key {k} ({f})" for k in sorted(keys - other)]
    assert not missing, "not documented in docs/output.md: " + "; ".join(missing)


# ------------------------------------------------------------------------------------- API and site


def test_every_public_name_has_an_api_entry() -> None:
    import gmscall

    entries = set(re.findall(r"^::: ([\w.]+)", (DOCS / "api.md").read_text(), flags=re.MULTILINE))
    lazy = getattr(gmscall, "_LAZY", {})
    missing = []
    for name in gmscall.__all__:
        if name == "__version__":
            continue
        if name in lazy:
            want = {f"gmscall.{lazy[name]}.{name}", f"gmscall.{name}"}
        elif name.endswith("Error"):
            want = {"gmscall.errors", f"gmscall.errors.{name}"}
        else:
            want = {f"gmscall.{name}"}
        if not want & entries:
            missing.append(name)
    assert not missing, f"public names without an entry in docs/api.md: {missing}"


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
                    reason="MkDocs is not installed (pip install '.[docs]')")
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
                          "-d", str(tmp_path / "site")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-4000:]
    print(f"mkdocs build --strict: {time.perf_counter() - t0:.1f} s")
    for page in ("index", "germline", "output", "api", "workflow"):
        assert (tmp_path / "site" / page / ("" if page == "index" else "index.html")).exists() \
            or (tmp_path / "site" / f"{page}.html").exists()
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("call_somatic", "genotype_gvcfs", "CallOptions", "run_qc"):
        assert name in api
