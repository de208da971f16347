"""Shared fixtures: synthetic data (tests/synth.py), ../shared/data, and the ``cuda`` marker."""

from __future__ import annotations

import array
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cuda: needs a CUDA device; skipped with the reason when none is present"
    )
    config.addinivalue_line("markers", "slow: long-running checks (still run by default)")


def _cuda_devices() -> tuple[list, str]:
    """(devices, why-none) from gmscall.info(); imported lazily so that collection never fails."""
    try:
        import gmscall
    except Exception as exc:  # noqa: BLE001 - not built/installed, or a broken build: skip, never error
        return [], f"gmscall not importable: {exc}"
    try:
        devices = list(gmscall.info().get("cuda_devices") or [])
    except Exception as exc:  # noqa: BLE001 - collection must not fail on a broken build
        return [], f"gmscall.info() failed: {exc}"
    return devices, "gmscall.info() lists no CUDA device"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    cuda_items = [item for item in items if item.get_closest_marker("cuda")]
    if not cuda_items:
        return
    devices, why = _cuda_devices()
    if devices:
        return
    skip = pytest.mark.skip(reason=f"no CUDA device ({why})")
    for item in cuda_items:
        item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the checkout (CI has it; a fresh clone does not)."""
    if not (SHARED_DATA / "datasets.tsv").is_file():
        pytest.skip(f"../shared/data not present: {SHARED_DATA} has no datasets.tsv")
    return SHARED_DATA


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """20 kb contig 'chrS' at 30x: SNVs, indels (some in homopolymers, a 1|2 site), a 400-bp N
    run (its middle has no coverage), soft-masked stretches; reads with soft clips, overlapping
    mates, duplicates, low MAPQ, QC-fail, secondary/supplementary, unmapped mates, and fragments
    at both contig ends."""
    ds = synth.make_dataset(tmp_path_factory.mktemp("synth"), length=20_000, depth=30, seed=7)
    assert ds.zero_coverage is not None
    return ds


# --------------------------------------------------------------------------------------------
# a tiny BAM with odd CIGARs, written read by read

WEIRD_CONTIG = "chrW"
WEIRD_LENGTH = 300
WEIRD_GAP = (240, 280)  # [start, end) with no reads at all


def _weird_reference() -> str:
    rng = np.random.default_rng(11)
    ref = list(synth._ACGT[rng.integers(0, 4, WEIRD_LENGTH)].tobytes().decode())
    ref[130:138] = "AAAAAAAA"  # homopolymer
    ref[160] = "N"
    ref[161] = "R"  # IUPAC in the reference: pileup reports it as N
    for i in range(170, 180):
        ref[i] = ref[i].lower()  # soft-masked
    return "".join(ref)


def _weird_reads(ref: str) -> list[dict]:
    """(name, flag, pos, cigar, mapq, quality overrides) -> sequence built from the reference
    along the CIGAR (X ops and I/S bases get a different/arbitrary base)."""
    specs = [
        # name, flag, pos, cigar, mapq, {query index: quality}, {query index: base}
        ("start", 0, 0, "15M", 60, {}, {}),
        ("mixed", 0, 10, "5S10M2I3M1D10M5H", 60, {}, {}),
        ("mixed_rev", 16, 12, "4M3I8M2D6M", 60, {}, {}),
        ("refskip", 0, 40, "3M1N5M", 60, {}, {}),
        ("eqx", 16, 50, "5=2X3M", 60, {}, {}),
        ("ins_after_clip", 0, 60, "3S2I10M", 60, {}, {}),
        ("ins_at_start", 16, 61, "2I10M", 60, {}, {}),
        ("del_then_ins", 0, 80, "10M2D2I10M", 60, {}, {}),
        ("ins_then_del", 16, 80, "10M2I2D10M", 60, {}, {}),
        ("del_after_clip", 0, 100, "3S2D10M", 60, {}, {}),
        ("ins_at_end", 16, 100, "10M5I", 60, {}, {}),
        ("ins_before_clip", 0, 101, "10M4I5S", 60, {}, {}),
        ("hardclip", 16, 105, "5H10M3H", 60, {}, {}),
        # deletion after base 9: next base (index 10) low -> DEL dropped at min_bq 13 under "next"
        ("del_next_low", 0, 110, "10M3D10M", 60, {10: 5}, {}),
        # deletion with a low anchor: DEL kept, the event is not counted
        ("del_anchor_low", 16, 110, "10M3D10M", 60, {9: 5}, {}),
        ("ins_anchor_low", 0, 112, "8M2I10M", 60, {7: 4}, {}),
        ("ins_bases_low", 16, 112, "8M2I10M", 60, {8: 2, 9: 2}, {}),
        ("hp_del", 0, 125, "5M2D10M", 60, {}, {}),  # deletion in the AAAAAAAA homopolymer
        ("hp_ins", 16, 126, "4M1I10M", 60, {}, {}),
        ("iupac_read", 0, 140, "20M", 60, {}, {3: "N", 5: "R", 7: "n"}),
        ("over_ref_n", 16, 150, "20M", 60, {}, {}),
        ("mq0", 0, 150, "20M", 0, {}, {}),
        ("mq5", 16, 152, "20M", 5, {}, {}),
        ("dup", 0x400, 180, "20M", 60, {}, {}),
        ("secondary", 0x100, 180, "20M", 0, {}, {}),
        ("supplementary", 0x800 | 16, 180, "5H20M", 60, {}, {}),
        ("qcfail", 0x200, 180, "20M", 60, {}, {}),
        ("plain", 0, 185, "20M", 60, {0: 2, 1: 12, 2: 13, 3: 14}, {}),
        # overlapping pair, equal starts: READ1 is 'a'; a mismatch at index 5, a quality tie at 8
        ("pair1", 0x1 | 0x2 | 0x20 | 0x40, 200, "30M", 60, {5: 30, 8: 25}, {5: "!"}),
        ("pair1", 0x1 | 0x2 | 0x10 | 0x80, 200, "30M", 60, {5: 20, 8: 25}, {8: "!"}),
        # overlapping pair, different starts, with an indel in the overlap of one mate
        ("pair2", 0x1 | 0x2 | 0x20 | 0x80, 205, "12M2D10M", 60, {}, {}),
        ("pair2", 0x1 | 0x2 | 0x10 | 0x40, 210, "4M1I16M", 60, {3: 10}, {6: "!"}),
        ("end", 16, WEIRD_LENGTH - 15, "15M", 60, {}, {}),
    ]
    rng = np.random.default_rng(5)
    out = []
    for name, flag, pos, cigar, mapq, qual_over, base_over in specs:
        seg = pysam.AlignedSegment()
        seg.cigarstring = cigar
        seq = []
        r = pos
        for op, n in seg.cigartuples:
            if op in (0, 7):
                seq.append(ref[r : r + n].upper().replace("R", "G"))
                r += n
            elif op == 8:  # X: a base that differs from the reference
                seq.append(
                    "".join(
                        {"A": "C", "C": "G", "G": "T", "T": "A"}.get(b, "A") for b in ref[r : r + n].upper()
                    )
                )
                r += n
            elif op in (1, 4):
                seq.append("".join(synth._ACGT[rng.integers(0, 4, n)].tobytes().decode()))
            elif op in (2, 3):
                r += n
        s = list("".join(seq))
        for i, b in base_over.items():
            if b == "!":  # a mismatch against the reference
                b = {"A": "C", "C": "G", "G": "T", "T": "A"}.get(s[i], "A")
            s[i] = b
        qual = (30 + (np.arange(len(s)) % 7)).astype(np.uint8)
        for i, q in qual_over.items():
            qual[i] = q
        out.append(
            {
                "name": name,
                "flag": flag,
                "pos": pos,
                "cigar": cigar,
                "mapq": mapq,
                "seq": "".join(s),
                "qual": qual,
            }
        )
    return out


@pytest.fixture(scope="session")
def weird_bam(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, int]:
    """(bam, fasta, contig, length) of a 300-bp contig with reads exercising CIGAR corner cases:
    S/H clips, N ref skips, =/X, I after a soft clip or at the read start/end, D-then-I and
    I-then-D, a read starting with D, low-quality anchors and next-bases, IUPAC/N bases in reads
    and reference, filtered flags and MAPQs, overlapping mates, reads at both contig ends and a
    gap with no reads (``WEIRD_GAP``)."""
    root = tmp_path_factory.mktemp("weird")
    ref = _weird_reference()
    fasta = synth.write_fasta(root / "weird.fa", ref, WEIRD_CONTIG)
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": WEIRD_CONTIG, "LN": WEIRD_LENGTH}]}
    )
    reads = sorted(_weird_reads(ref), key=lambda d: (d["pos"], 0 if d["flag"] & 0x40 else 1))
    bam = root / "weird.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for d in reads:
            a = pysam.AlignedSegment(header)
            a.query_name = d["name"]
            a.flag = d["flag"]
            a.reference_id = 0
            a.reference_start = d["pos"]
            a.mapping_quality = d["mapq"]
            a.cigarstring = d["cigar"]
            a.query_sequence = d["seq"]
            a.query_qualities = array.array("B", d["qual"].tobytes())
            if d["flag"] & 0x1:
                mate = next(m for m in reads if m["name"] == d["name"] and m is not d)
                a.next_reference_id = 0
                a.next_reference_start = mate["pos"]
                a.template_length = 30 if d["flag"] & 0x40 else -30
            out.write(a)
    pysam.index(str(bam))
    return bam, fasta, WEIRD_CONTIG, WEIRD_LENGTH


# --------------------------------------------------------------------------------------------
# caller tests (test_call.py, test_vcf_output.py, test_cli.py)


@pytest.fixture(scope="session")
def synth_100kb(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """100-kb contig 'chrS' at 30x (seed 1): about 200 SNVs and 70 indels with known truth."""
    return synth.make_dataset(tmp_path_factory.mktemp("synth100k"), length=100_000, depth=30, seed=1)


def run_cli(*args: object, cwd: Path | None = None, timeout: float = 120):
    """Run ``gmscall ARGS`` in a fresh interpreter; returns the CompletedProcess (text mode)."""
    import subprocess

    cmd = [sys.executable, "-c", "import sys; from gmscall.cli import main; sys.exit(main())", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False)


def tabix_of(path: Path) -> bytes:
    """The .tbi tabix makes for a finished bgzipped VCF (made from a copy, `path`'s own index kept)."""
    import pysam

    copy = path.with_name("copy-" + path.name)
    copy.write_bytes(path.read_bytes())
    pysam.tabix_index(str(copy), preset="vcf", force=True, keep_original=True)
    return Path(str(copy) + ".tbi").read_bytes()


@pytest.fixture(scope="session")
def dask_cluster():
    """A local Dask cluster of two one-thread worker processes, shared by the tests that use one."""
    distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  worker_dashboard_address=None) as cluster:
        yield cluster


def fail_shards_from(monkeypatch: pytest.MonkeyPatch, start: int) -> None:
    """Makes every shard from `start` on fail (an interrupted run), until monkeypatch.undo()."""
    from gmscall import caller
    from gmscall.errors import InputError

    real = caller._call_shard

    def failing(opts, backend, cohort, session, shard):
        if shard.start >= start:
            raise InputError("stop here")
        return real(opts, backend, cohort, session, shard)

    monkeypatch.setattr(caller, "_call_shard", failing)
