"""The indel error model learnt from the reads (gmscall.error_model, #18): counts at tandem repeats
recover known indel rates, the model file round-trips, too few loci fall back to the defaults, a
bad model file is one line and exit 2, and the model reaches the VCF header and the pair-HMM."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest
from benchmark_scripts import load as load_benchmark

from gmscall import _core
from gmscall.error_model import (
    ODDS_SCALE,
    ErrorModel,
    fit_counts,
    learn_error_model,
    rate_to_phred,
    read_error_model,
    sample_chunks,
    tract_prior_scales,
    tract_variant_shares,
    write_error_model,
)
from gmscall.errors import InputError
from gmscall.options import CallOptions
from gmscall.regions import Region
from gmscall.synth import make_dataset

# (unit, units, rate of reads with one unit lost): homopolymers, a dinucleotide and a tetranucleotide
TRACTS = (("A", 8, 0.01), ("C", 14, 0.08), ("CA", 8, 0.04), ("GATA", 5, 0.03))
FLANK = 40


def _random_flank(rng: np.random.Generator, n: int) -> str:
    """Random bases without runs of 3 or more, so the flanks add no long repeats."""
    out: list[str] = []
    while len(out) < n:
        b = "ACGT"[rng.integers(4)]
        if len(out) >= 2 and out[-1] == out[-2] == b:
            continue
        out.append(b)
    return "".join(out)


def _write_repeat_bam(tmp: Path, seed: int = 7, copies: int = 60, depth: int = 40, read_len: int = 100,
                      rg: str = "lib1", sample: str = "S1", tracts_spec=TRACTS,
                      two_units: float = 0.0, gain: float = 0.0, het_copy: int | None = None) -> tuple[Path, Path]:
    """A reference of `copies` blocks per tract kind (flank + tract), and forward reads that each
    lose one unit of a tract they span with the kind's rate (homopolymers: two, a ``two_units``
    share; CIGAR with the deletion at the tract's start, left-aligned as an aligner writes it), or
    gain one (a share `gain` of those slips). With het_copy, the sample carries one unit fewer at
    that copy's first tract on one haplotype: half the reads spanning it lack the unit (and slip as
    the others do)."""
    rng = np.random.default_rng(seed)
    parts, tracts = [], []
    pos = 0
    prev = "N"
    for _ in range(copies):
        for kind, (unit, units, _rate) in enumerate(tracts_spec):
            flank = _random_flank(rng, FLANK)  # the tracts neither start nor end a unit early
            while flank[-1] == unit[-1] or flank[0] == prev[0]:
                flank = _random_flank(rng, FLANK)
            prev = unit
            parts.append(flank)
            pos += len(flank)
            tract = unit * units
            parts.append(tract)
            tracts.append((pos, pos + len(tract), kind))
            pos += len(tract)
    tail = _random_flank(rng, FLANK)
    while tail[0] == prev[0]:
        tail = _random_flank(rng, FLANK)
    parts.append(tail)
    ref = "".join(parts)
    fa = tmp / "ref.fa"
    fa.write_text(">chrR\n" + "\n".join(ref[i:i + 60] for i in range(0, len(ref), 60)) + "\n")
    pysam.faidx(str(fa))
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "chrR", "LN": len(ref)}],
              "RG": [{"ID": rg, "SM": sample, "PL": "ILLUMINA"}]}
    n_reads = depth * len(ref) // read_len
    starts = np.sort(rng.integers(0, len(ref) - read_len - 10, n_reads))
    bam = tmp / "reads.bam"
    unsorted = tmp / "unsorted.bam"
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for k, s in enumerate(starts):
            s = int(s)
            seq, cigar, rp = [], [], s
            covered = [t for t in tracts if t[0] >= s + 3 and t[1] + 3 <= s + read_len]
            for ts, te, kind in covered:
                unit, _, rate = tracts_spec[kind]
                delta = -1 if het_copy is not None and ts == tracts[het_copy * len(tracts_spec)][0] and \
                    rng.random() < 0.5 else 0
                if rng.random() < rate:
                    if gain > 0 and rng.random() < gain:
                        delta += 1
                    else:
                        delta -= 2 if two_units and len(unit) == 1 and rng.random() < two_units else 1
                if delta == 0:
                    continue
                seq.append(ref[rp:ts])
                if delta < 0:
                    cigar += [(0, ts - rp), (2, -delta * len(unit))]
                    rp = ts - delta * len(unit)
                else:
                    seq.append(unit * delta)
                    cigar += [(0, ts - rp), (1, delta * len(unit))]
                    rp = ts
            need = read_len - sum(len(x) for x in seq)
            seq.append(ref[rp:rp + need])
            cigar.append((0, need))
            a = pysam.AlignedSegment(out.header)
            a.query_name = f"r{k}"
            a.query_sequence = "".join(seq)
            a.flag = 0
            a.reference_id = 0
            a.reference_start = s
            a.mapping_quality = 60
            a.cigartuples = [c for c in cigar if c[1] > 0]
            a.query_qualities = pysam.qualitystring_to_array("I" * read_len)
            a.set_tag("RG", rg)
            out.write(a)
    pysam.sort("-o", str(bam), str(unsorted))
    pysam.index(str(bam))
    return bam, fa


def test_counts_recover_known_indel_rates(tmp_path):
    bam, fa = _write_repeat_bam(tmp_path)
    length = pysam.FastaFile(str(fa)).get_reference_length("chrR")
    c = _core.count_repeat_indels(str(bam), str(fa), [("chrR", 0, length)], 20, 0)
    assert c["read_groups"] == ["lib1"] and c["samples"] == ["S1"] and c["platforms"] == ["ILLUMINA"]
    k, n, loci = c["indel"][0], c["total"][0], c["loci"][0]
    for unit, units, rate in TRACTS:
        p = len(unit)
        assert loci[p, units] >= 55, (unit, loci[p, units])
        got = k[p, units] / n[p, units]
        sd = math.sqrt(rate * (1 - rate) / n[p, units])
        assert abs(got - rate) < 4 * sd, (unit, units, got, rate)
    # elsewhere (the flanks' short runs) no errors were simulated
    assert k[1, 2] == 0 and k[2, 2] == 0
    # the fitted model: rates near the simulated ones and gap-opens in the order of the rates
    (m,) = learn_error_model(bam, fa, [Region("chrR", 0, length)])
    assert m.read_group == "lib1" and m.sample == "S1" and m.platform == "ILLUMINA"
    assert m.rates[1][14 - 1] == pytest.approx(0.08, rel=0.35)
    assert m.rates[1][8 - 1] == pytest.approx(0.01, rel=0.6)
    assert m.gap_open[1][14 - 1] < m.gap_open[1][8 - 1] <= 45
    assert m.rates[1] == tuple(sorted(m.rates[1]))  # rates only rise with length


def test_homopolymer_gap_continuation_is_learnt_from_how_far_slips_run(tmp_path):
    """Reads whose homopolymer slips are two bases in 45 % of cases (ONT-like) get the continuation
    class nearest 0.45 (0.5) at homopolymers; one-base slips (Illumina-like) keep the default, and
    the model line and gap tables are those of before."""
    spec = (("A", 8, 0.05), ("C", 14, 0.3), ("CA", 8, 0.04))
    bam, fa = _write_repeat_bam(tmp_path, copies=40, tracts_spec=spec, two_units=0.45)
    length = pysam.FastaFile(str(fa)).get_reference_length("chrR")
    c = _core.count_repeat_indels(str(bam), str(fa), [("chrR", 0, length)], 20, 0)
    k, multi = c["indel"][0], c["multi"][0]
    assert (multi <= k).all() and multi[2].sum() == 0  # CA: one-unit slips only
    assert multi[1, 14] / k[1, 14] == pytest.approx(0.45, abs=0.06)
    (m,) = learn_error_model(bam, fa, [Region("chrR", 0, length)])
    ext = _core.gap_ext_classes
    assert m.gap_ext and ext[m.gap_ext[14 - 1]] == 0.5 and "gap continuation learnt" in m.fit
    table = m.table(45, 30, 1.0)
    assert table[1 * 21 + 14] >> 6 == m.gap_ext[14 - 1] and table[2 * 21 + 8] >> 6 == 1  # CA: its period's class
    # the continuation enters the Phred: with e = 0.5 a slip's one-unit odds need a larger gap-open
    assert m.gap_open[1][14 - 1] == rate_to_phred(m.rates[1][14 - 1], 1, 14, ext_class=m.gap_ext[14 - 1])
    back = read_error_model(write_error_model(tmp_path / "m.txt", [m]))
    assert back == [m] and 'GapExt="P1:' in m.header_line()

    plain_dir = tmp_path / "plain"
    plain_dir.mkdir()
    bam1, fa1 = _write_repeat_bam(plain_dir, copies=40, tracts_spec=spec)
    (m1,) = learn_error_model(bam1, fa1, [Region("chrR", 0, length)])
    assert m1.gap_ext == () and "GapExt" not in m1.header_line() and "continuation" not in m1.fit
    assert all(t >> 6 == 0 for t in m1.table(45, 30, 1.0)[21:42])


def test_a_bad_gap_continuation_line_is_refused():
    line = ('##gmscallErrorModel=<ReadGroup=a,Sample=S,Platform=ONT,Loci=1,Reads=1,Fit="x",'
            'GapOpen="P1:' + ",".join(["20"] * 20) + '",GapExt="P1:' + ",".join(["1"] * 19) + '">')
    from gmscall.error_model import parse_header_line
    from gmscall.errors import InputError

    with pytest.raises(InputError, match="GapExt"):
        parse_header_line(line)
    assert parse_header_line(line.replace('"P1:' + ",".join(["1"] * 19), '"P1:' + ",".join(["1"] * 20))).gap_ext == (1,) * 20


def test_a_real_allele_is_not_counted_as_errors(tmp_path):
    """A homopolymer where half the reads lose a unit is a het deletion: left out of the counts."""
    bam, fa = _write_repeat_bam(tmp_path, copies=40, tracts_spec=(("A", 10, 0.5),))
    length = pysam.FastaFile(str(fa)).get_reference_length("chrR")
    c = _core.count_repeat_indels(str(bam), str(fa), [("chrR", 0, length)], 20, 0)
    assert c["loci"][0][1, 10] <= 2 and c["loci_skipped"] >= 38  # a het by chance below 30 % at most
    # ... and counted as a locus with a real allele, by its length (the tract prior of long reads)
    assert c["variant"][0][1, 10] == c["loci_skipped"] and c["variant"][0].sum() == c["loci_skipped"]


def test_rate_to_phred_matches_the_pair_hmm():
    # one unit off in a tract of L bases: 2 (L - p + 1) g e^(p-1) (1 - e) = ODDS_SCALE r / (1 - r)
    for p, u, r in ((1, 12, 0.01), (2, 8, 0.03), (4, 6, 0.01)):
        q = rate_to_phred(r, p, u)
        e = _core.gap_ext_classes[{1: 0, 2: 1, 4: 2}[p]]
        g = 10 ** (-q / 10)
        implied = 2 * (u * p - p + 1) * g * e ** (p - 1) * (1 - e)
        assert implied == pytest.approx(ODDS_SCALE * r / (1 - r), rel=0.15)
    assert rate_to_phred(1e-9, 1, 1) == 63 and rate_to_phred(0.4, 4, 20) == 20  # bounds


def test_model_file_round_trips(tmp_path):
    k = np.zeros((9, 21), np.int64)
    n = np.zeros((9, 21), np.int64)
    loci = np.zeros((9, 21), np.int64)
    for u in range(1, 21):
        n[1, u], loci[1, u] = 2000, 40
        k[1, u] = round(2000 * min(0.3, 1e-4 * 10 ** (u / 5)))
    for u in range(2, 12):
        n[2, u], loci[2, u] = 1000, 35
        k[2, u] = round(1000 * min(0.3, 1e-4 * 10 ** (u / 4)))
    m = fit_counts("rg1", "S", "ILLUMINA", k, n, loci)
    assert set(m.gap_open) == set(range(1, 9)) and "3,4,5,6,7,8 from the curve of 2" in m.fit
    other = ErrorModel("rg2", "T", "", 0, 0, "default: too few", {})
    path = write_error_model(tmp_path / "m.txt", [m, other])
    back = read_error_model(path)
    assert back == [m, other]
    assert path.read_text().count("##gmscallErrorModel=<") == 2
    # the header line as gmscall qc reads it (its MultiQC plot: P1 from length 1, others from 2)
    from gmscall.qc.report import _error_model_content
    from gmscall.qc.scan import _parse_generic

    fields = _parse_generic(m.header_line().split("=", 1)[1])
    assert fields["ReadGroup"] == m.read_group and fields["Loci"] == str(m.loci)
    plot = _error_model_content([fields])["data"]
    assert plot[f"{m.read_group} P1"][0] == [1, float(m.gap_open[1][0])]
    assert plot[f"{m.read_group} P2"][0] == [2, float(m.gap_open[2][0])]


def test_few_loci_fall_back_to_the_defaults(tmp_path):
    bam, fa = _write_repeat_bam(tmp_path, copies=1)
    length = pysam.FastaFile(str(fa)).get_reference_length("chrR")
    (m,) = learn_error_model(bam, fa, [Region("chrR", 0, length)])
    assert m.gap_open == {} and m.fit.startswith("default: fewer than")
    assert 'Fit="default: fewer than' in m.header_line()


def test_sample_chunks_spread_evenly():
    regs = [Region("c1", 0, 1_000_000), Region("c2", 0, 3_000_000)]
    chunks = sample_chunks(regs, sample_bp=80_000, chunk_bp=8_000)
    assert len(chunks) == 10 and sum(1 for c in chunks if c[0] == "c1") in (2, 3)
    assert all(e - s == 8_000 for _, s, e in chunks)
    small = sample_chunks([Region("c1", 100, 20_100)], sample_bp=80_000, chunk_bp=8_000)
    assert small == [("c1", 100, 8100), ("c1", 8100, 16100), ("c1", 16100, 20100)]


def _gmscall(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gmscall.cli", *args], capture_output=True, text=True, check=False)


def test_bad_model_file_is_one_line_and_exit_2(tmp_path):
    ds = make_dataset(tmp_path / "d", length=6000, depth=10, seed=2)
    bad = tmp_path / "bad.txt"
    for text in ("hello\n", '##gmscallErrorModel=<ReadGroup=a,Sample=S,GapOpen="P9:1,2">\n',
                 '##gmscallErrorModel=<ReadGroup=a,Sample=S,GapOpen="P1:45,44">\n'):
        bad.write_text(text)
        r = _gmscall("call", "-f", str(ds.fasta), "--error-model", str(bad), "-o", str(tmp_path / "o.vcf"),
                     str(ds.bam))
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gmscall: error: ") and "bad.txt" in lines[0], lines
        assert not (tmp_path / "o.vcf").exists()
    r = _gmscall("call", "-f", str(ds.fasta), "--error-model", str(tmp_path / "missing.txt"), str(ds.bam))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1


def test_model_command_and_header_and_reuse(tmp_path):
    bam, fa = _write_repeat_bam(tmp_path)
    model = tmp_path / "model.txt"
    r = _gmscall("model", "-f", str(fa), "-o", str(model), str(bam))
    assert r.returncode == 0, r.stderr
    (m,) = read_error_model(model)
    assert m.read_group == "lib1" and 1 in m.gap_open
    learnt = tmp_path / "learnt.vcf"
    reused = tmp_path / "reused.vcf"
    plain = tmp_path / "plain.vcf"
    for out, extra in ((learnt, []), (reused, ["--error-model", str(model)]), (plain, ["--no-error-model"])):
        r = _gmscall("call", "-f", str(fa), "-o", str(out), *extra, str(bam))
        assert r.returncode == 0, r.stderr

    def split(p: Path) -> tuple[list[str], list[str]]:
        lines = p.read_text().splitlines()
        return [x for x in lines if x.startswith("##gmscallErrorModel")], [x for x in lines if not x.startswith("#")]

    (h1,), rec1 = split(learnt)
    (h2,), rec2 = split(reused)
    h3, _ = split(plain)
    assert h3 == [] and 'Source="learnt from the reads"' in h1 and "Source=\"read from" in h2
    assert h1.split("Loci=")[1] == h2.split("Loci=")[1]  # the same model
    assert rec1 == rec2
    # the model file is also read from a VCF's header
    assert read_error_model(learnt) == [m]


def test_short_reads_learn_the_tract_prior(tmp_path):
    """Short reads learn the tract prior as long reads do (gmscall model and call); a model file
    carries it and a run with it uses it; a model without it (an older file) keeps the genome-wide
    prior; a named factor wins; a gVCF's model line gives genotype the same priors."""
    import dataclasses

    from gmscall.caller import _plan

    bam, fa = _write_repeat_bam(tmp_path, het_copy=3)  # and a het one-base deletion at an A8 run
    path = tmp_path / "model.txt"
    assert _gmscall("model", "-f", str(fa), "-o", str(path), str(bam)).returncode == 0
    (model,) = read_error_model(path)
    assert len(model.tract_variants) == 13 and "tract prior learnt" in model.fit
    assert 'TractVariants="P1:' in path.read_text()
    older = dataclasses.replace(model, tract_variants=())

    def table(options=None, error_model=True):
        return _plan(str(bam), str(fa), None, None, None, "cpu", options, 1_000_000, None,
                     error_model=error_model).options.long_tract_prior_scales

    o = CallOptions()
    learnt = tract_prior_scales([model], o.indel_het_prior, o.indel_hom_prior)
    assert learnt and table() == learnt == table(error_model=str(path))
    assert table(error_model=[older]) == ()
    assert table(CallOptions(long_tract_prior_scale=1.0)) == ()  # a named factor wins
    out = tmp_path / "calls.vcf"
    r = _gmscall("call", "-f", str(fa), "-o", str(out), str(bam))
    assert r.returncode == 0, r.stderr
    assert 'TractVariants="P1:' in out.read_text()
    import gmscall

    gvcf = gmscall.call(str(bam), str(fa), output=tmp_path / "s.g.vcf.gz", options=CallOptions(gvcf=True))
    geno = gmscall.genotype_gvcfs([gvcf], str(fa), tmp_path / "geno.vcf.gz")

    def records(path):
        with pysam.VariantFile(str(path)) as vf:
            return [(r.pos, r.alleles, r.filter.keys(), r.samples[0]["GT"]) for r in vf]

    direct = gmscall.call(str(bam), str(fa), output=tmp_path / "d.vcf.gz")
    assert records(geno) == records(direct) and records(direct)


def test_default_tables_give_the_default_calls(tmp_path):
    """A model no lower than the defaults anywhere changes no call (same gap codes as today)."""
    from gmscall import call
    from gmscall.options import CallOptions

    ds = make_dataset(tmp_path / "d", length=20_000, depth=20, seed=5)
    high = ErrorModel("x", ds.sample, "", 100, 1000, "learnt", {p: (63,) * (21 - (1 if p == 1 else 2))
                                                                 for p in range(1, 9)})
    a = call(str(ds.bam), str(ds.fasta), error_model=False)
    b = call(str(ds.bam), str(ds.fasta), error_model=[high])
    assert a == b
    opts = CallOptions()
    low = ErrorModel("x", ds.sample, "", 100, 1000, "learnt", {1: tuple([20] * 20)})
    table = low.table(opts.gap_open_max, opts.gap_open_min, opts.gap_open_slope)
    assert table[1 * 21 + 5] == 20 and table[2 * 21 + 5] == 41  # P1 learnt, P2 default (45 - 4)
    c = call(str(ds.bam), str(ds.fasta), error_model=[low])
    assert len(c) > 0


def test_each_sample_gets_its_read_groups_model(tmp_path):
    """Per VCF column the table of its sample (a cohort of two libraries); several read groups of
    one sample: the reads-weighted mean Phred; a joint call runs with one model per column."""
    from gmscall import call
    from gmscall.error_model import sample_tables
    from gmscall.synth import make_family

    a = ErrorModel("a1", "A", "", 300, 1000, "learnt", {1: tuple([30] * 20)})
    a2 = ErrorModel("a2", "A", "", 300, 3000, "learnt", {1: tuple([40] * 20)})
    b = ErrorModel("b1", "B", "", 300, 1000, "learnt", {2: tuple([25] * 19)})
    t = sample_tables([a, a2, b], ["A", "B", "C"], 45, 30, 1.0)
    assert t[2] == () and len(t[0]) == len(t[1]) == 9 * 21
    assert t[0][1 * 21 + 1] == 38  # reads-weighted mean of 30 and 40 (37.5), below the default 45
    assert t[0][1 * 21 + 12] == 34  # the default (45 - 11) where it is lower than the model
    assert t[1][2 * 21 + 3] == 25 | (1 << 6) and t[1][1 * 21 + 3] == 43  # learnt P2 (class 1); default P1
    # one sample and a model of another name (a file from another run of the library): used
    assert sample_tables([b], ["Z"], 45, 30, 1.0)[0] == t[1]
    fam = make_family(tmp_path / "fam", length=12_000, depth=15, seed=4)
    names = list(fam.bams)
    bams = [str(fam.bams[s]) for s in names]
    low = [ErrorModel(f"rg{k}", s, "", 300, 1000, "learnt", {1: tuple([20] * 20)}) for k, s in enumerate(names[:1])]
    recs = call(bams, str(fam.fasta), error_model=low)
    assert recs and call(bams, str(fam.fasta), error_model=False)


@pytest.mark.cuda
def test_learnt_gap_codes_cuda_parity(tmp_path):
    """The learnt codes (open Phred and continuation class per position) give the same bits on
    the GPU as on the CPU: stutter-like reads with a low model for every period."""
    from gmscall import call

    bam, fa = _write_repeat_bam(tmp_path, copies=20)
    low = [ErrorModel("lib1", "S1", "", 300, 1000, "learnt",
                      {p: tuple([20 + p] * (21 - (1 if p == 1 else 2))) for p in range(1, 9)})]
    cpu = call(str(bam), str(fa), error_model=low, backend="cpu")
    gpu = call(str(bam), str(fa), error_model=low, backend="cuda")
    assert cpu == gpu


@pytest.mark.cuda
def test_slips_cuda_parity(tmp_path):
    """A model with one-unit slips gives the same records on the GPU as on the CPU."""
    from gmscall import call

    bam, fa = _write_repeat_bam(tmp_path, seed=4, copies=60, depth=40, tracts_spec=STUTTER_TRACT, gain=0.3,
                                het_copy=30)
    slips = [ErrorModel("lib1", "S1", "", 300, 1000, "learnt", {3: tuple([20] * 19)},
                        stutter={3: (0,) * 6 + tuple([12] * 13)}, stutter_loss=0.7)]
    cpu = call(str(bam), str(fa), error_model=slips, backend="cpu")
    assert cpu == call(str(bam), str(fa), error_model=slips, backend="cuda")


# PCR stutter (#18): a tract's one-unit slips, taken once per read (kernels/pairhmm.hpp), where the
# per-position gap-open would have to go below its floor.
STUTTER_TRACT = (("TCC", 10, 0.2),)


def test_losses_are_counted_apart(tmp_path):
    bam, fa = _write_repeat_bam(tmp_path, copies=40, tracts_spec=STUTTER_TRACT, gain=0.3)
    length = pysam.FastaFile(str(fa)).get_reference_length("chrR")
    c = _core.count_repeat_indels(str(bam), str(fa), [("chrR", 0, length)], 20, 0)
    k, loss = c["indel"][0][3, 10], c["loss"][0][3, 10]
    assert k > 100 and 0 < loss < k
    assert abs(loss / k - 0.7) < 4 * math.sqrt(0.21 / k)


def test_slips_carry_what_the_floor_cannot():
    """Where the gap-open a rate asks for lies below the floor, the tract gets a slip for the rest of
    the odds; where it does not, none (and the model's gap-opens are those of before)."""
    from gmscall.error_model import PHRED_FLOOR, stutter_code

    assert stutter_code(0.001, 3, 10) == 0 and rate_to_phred(0.001, 3, 10) > PHRED_FLOOR
    assert rate_to_phred(0.2, 3, 10) == PHRED_FLOOR
    s = 10 ** (-stutter_code(0.2, 3, 10) / 10)
    # odds of a read one unit off: the floor's places x g plus the slip's s / (1 - s)
    from gmscall.error_model import _unit_off_places

    odds = _unit_off_places(0.2, 3, 10) * 10 ** (-PHRED_FLOOR / 10) + s / (1 - s)
    assert odds == pytest.approx(ODDS_SCALE * 0.2 / 0.8, rel=0.15)
    assert stutter_code(0.2, 3, 12) >= stutter_code(0.2, 3, 10)  # longer: the floor gives more


def _counts(rates: dict[tuple[int, int], tuple[int, int, int]]):
    k, n, loci = (np.zeros((9, 21), dtype=np.int64) for _ in range(3))
    for (p, u), (kk, nn, ll) in rates.items():
        k[p, u], n[p, u], loci[p, u] = kk, nn, ll
    return k, n, loci


def test_short_reads_carry_the_line_to_the_highest_rate_counted():
    """Past the lengths counted, a short-read period's line goes on with the slope up to the highest
    rate any length counted (PCR stutter levels off: here the homopolymers' 15 %), not to 0.5 as
    on long reads (PCR-free); a sample without stutter (no slope) keeps its long tracts at the
    level counted."""
    spec = {(1, u): (int(2000 * min(0.15, 10 ** (-4 + 0.25 * u))), 2000, 300) for u in range(1, 21)}
    spec.update({(3, u): (int(1000 * min(0.4, 10 ** (-4 + 0.25 * 3 * u))), 1000, 150) for u in range(2, 5)})
    k, n, loci = _counts(spec)
    short = fit_counts("a", "S", "ILLUMINA", k, n, loci)
    ont = fit_counts("a", "S", "ONT", k, n, loci)
    assert short.rates[3][4 - 2] < 0.15 and short.rates[3][12 - 2] == pytest.approx(0.15, rel=0.05)
    assert ont.rates[3][12 - 2] == 0.5
    flat = {(1, u): (2, 2000, 300) for u in range(1, 21)}
    flat.update({(3, u): (1, 1000, 150) for u in range(2, 5)})
    clean = fit_counts("a", "S", "ILLUMINA", *_counts(flat))
    assert clean.rates[3][12 - 2] == pytest.approx(clean.rates[3][4 - 2]) and clean.rates[3][12 - 2] < 0.01


def test_a_period_counted_at_short_tracts_only_takes_the_shared_slope():
    """Trinucleotide tracts counted to 5 units, where stutter is still rare (3 of 600 reads off),
    do not say their long tracts are clean: on short reads the period takes the slope the
    homopolymers set (a 192-kb sample's trinucleotides are flat at about 0 to 5-6 units where a
    PCR library's reach 18 % at 7: simulate_set.py's law, as here); on long reads it keeps its own
    level."""
    law = {1: 8, 3: 12}  # log10 rate = -3 + (bases - law[p]) / 4, at most 0.2
    spec = {(1, u): (round(2000 * min(0.2, 10 ** (-3 + (u - law[1]) / 4))), 2000, 300) for u in range(1, 21)}
    spec.update({(3, u): (round(600 * 10 ** (-3 + (3 * u - law[3]) / 4)), 600, 60) for u in range(2, 6)})
    k, n, loci = _counts(spec)
    short = fit_counts("a", "S", "ILLUMINA", k, n, loci)
    hifi = fit_counts("a", "S", "PACBIO", k, n, loci)
    assert short.rates[3][5 - 2] < 0.02 and short.rates[3][9 - 2] > 0.1
    assert hifi.rates[3][9 - 2] < 0.02


def test_long_reads_take_no_slip_from_the_line_alone():
    """On long reads the line goes on past the counts, but only lengths counted (enough reads at
    enough loci) get slips: the line's rates past them stay under the gap-open floor's cap (a HiFi
    set's period-3 line reached 0.5 from 6 units, where its reads are a unit off in 0.03 %)."""
    spec = {(1, u): (int(2000 * min(0.4, 10 ** (-4 + 0.25 * u))), 2000, 300) for u in range(1, 21)}
    spec.update({(3, u): (int(1000 * min(0.4, 10 ** (-4 + 0.25 * 3 * u))), 1000, 150) for u in range(2, 5)})
    k, n, loci = _counts(spec)
    short = fit_counts("a", "S", "ILLUMINA", k, n, loci)
    hifi = fit_counts("a", "S", "PACBIO", k, n, loci)
    assert hifi.rates[3][12 - 2] == 0.5 and hifi.stutter[3][4 - 2] > 0 and not any(hifi.stutter[3][5 - 2:])
    assert any(short.stutter[3][5 - 2:])  # short reads: the level the counts reached, slips and all
    assert hifi.stutter[1] == short.stutter[1] and any(hifi.stutter[1])  # counted at every length


def test_model_file_round_trips_with_slips(tmp_path):
    m = ErrorModel("rg", "S", "ILLUMINA", 10, 100, "learnt", {3: tuple([20] * 19)},
                   stutter={3: (0,) * 8 + tuple(range(12, 23 + 1))[:11]}, stutter_loss=0.72)
    path = write_error_model(tmp_path / "m.txt", [m])
    text = path.read_text()
    assert "Version=2," in text and 'Stutter="P3:0,0,' in text and "StutterLoss=0.72" in text
    assert read_error_model(path) == [m]
    table = m.table(45, 30, 1.0)
    assert len(table) == 3 * 189
    at = 3 * 21 + 10  # 10 units: code 12 (0.063), 72 % of it a loss
    assert table[189 + at] == round(-10 * math.log10(0.72 * 10 ** -1.2))
    assert table[2 * 189 + at] == round(-10 * math.log10(0.28 * 10 ** -1.2))
    assert table[189 + 3 * 21 + 5] == 0  # no slip at 5 units
    # a version 1 line (no Version, no Stutter) is a model without slips; a newer version is refused
    v1 = '##gmscallErrorModel=<ReadGroup=rg,Sample=S,Platform=ILLUMINA,Loci=10,Reads=100,Fit="x",GapOpen="P1:' + \
        ",".join(["30"] * 20) + '">\n'
    (tmp_path / "v1.txt").write_text(v1)
    (old,) = read_error_model(tmp_path / "v1.txt")
    assert old.stutter == {} and len(old.table(45, 30, 1.0)) == 189
    (tmp_path / "v3.txt").write_text(v1.replace("<ReadGroup", "<Version=3,ReadGroup"))
    from gmscall.errors import InputError

    with pytest.raises(InputError, match="version 3"):
        read_error_model(tmp_path / "v3.txt")


def test_stutter_is_not_called_and_a_true_het_is(tmp_path):
    """240 copies of (TCC)10 whose reads slip a unit in 20 % (70 % of them losses), one copy a true
    het of one unit fewer (40x): the learnt model's slips leave no stutter allele called and still
    call the het; without the slips (the same model, gap-opens at their floor alone) a stutter
    allele is called."""
    import dataclasses

    from gmscall import call

    bam, fa = _write_repeat_bam(tmp_path, seed=4, copies=240, depth=40, tracts_spec=STUTTER_TRACT, gain=0.3,
                                het_copy=120)
    length = pysam.FastaFile(str(fa)).get_reference_length("chrR")
    (model,) = learn_error_model(str(bam), str(fa), [Region("chrR", 0, length)])
    assert 3 in model.stutter and 0.6 <= model.stutter_loss <= 0.8
    het_at = 120 * (FLANK + 30) + FLANK - 1  # the base before the copy's tract (0-based)

    def pass_indels(models):
        recs = call(str(bam), str(fa), error_model=models)
        return [r for r in recs if r["filter"] == "PASS" and (len(r["ref"]) > 1 or any(len(a) > 1 for a in r["alts"]))]

    with_slips = pass_indels([model])
    assert [(r["pos"] - 1, r["ref"][1:], r["gt"]) for r in with_slips] == [(het_at, "TCC", (0, 1))]
    without = pass_indels([dataclasses.replace(model, stutter={})])
    assert len(without) > len(with_slips)
    # the same records for any thread count and shard size (slips are looked up per window)
    split = call(str(bam), str(fa), error_model=[model], threads=2, shard_size=2_500)
    assert split == call(str(bam), str(fa), error_model=[model])


def test_the_indel_screen_weighs_slips_as_the_pair_hmm_does():
    """Where the floor clips the gap-open, the rate the screen takes for a tract includes the
    slip's odds, so it is about the learnt one again (not the floor's lower rate)."""
    from gmscall.error_model import PHRED_FLOOR, _expressed_rates, stutter_code

    units = range(2, MAX_UNITS_TEST + 1)
    rate = 0.15
    gap = tuple(rate_to_phred(rate, 3, u) for u in units)
    slips = tuple(stutter_code(rate, 3, u) for u in units)
    assert gap[5 - 2] == PHRED_FLOOR and slips[5 - 2] > 0
    with_slips = ErrorModel("a", "S", "ILLUMINA", 1, 1, "x", {3: gap}, stutter={3: slips})
    without = ErrorModel("a", "S", "ILLUMINA", 1, 1, "x", {3: gap})
    assert _expressed_rates(without)[3][5 - 2] < 0.6 * rate
    assert _expressed_rates(with_slips)[3][5 - 2] == pytest.approx(rate, rel=0.15)


MAX_UNITS_TEST = 20


def test_haplotype_model_codes_are_the_windows() -> None:
    """_core.haplotype_model_codes: a homopolymer's positions take the model's code for its length
    (with its continuation class), lone bases the 1-unit one; slips land at the tract's start."""
    from gmscall import _core

    model = ErrorModel("x", "S", "ONT", 300, 3000, "learnt", {1: tuple([40] + [18] * 9 + [15] * 10)},
                       stutter={1: tuple([0] * 10 + [6] * 10)}, gap_ext=tuple([0] * 9 + [2] * 11))
    o = CallOptions()
    table = model.table(o.gap_open_max, o.gap_open_min, o.gap_open_slope)
    hap = "ACGTCAGT" + "A" * 14 + "CTGACGTG"
    codes, slips = _core.haplotype_model_codes(hap, table)
    assert len(codes) == len(slips) == len(hap)
    assert codes[8:22] == [15 | 2 << 6] * 14  # 14 units: the learnt 15, continuation class 2
    assert codes[0] == codes[-1] == 40  # a lone base: the 1-unit code
    assert slips[8] & 15 == 1 and slips[9] >> 10 & 15 == 1  # a gain lands on the first A, a loss one on
    no_slips = ErrorModel("x", "S", "ONT", 300, 3000, "learnt", {1: tuple([18] * 20)})
    assert _core.haplotype_model_codes(hap, no_slips.table(o.gap_open_max, o.gap_open_min, o.gap_open_slope))[1] == []
    with pytest.raises(Exception, match="table"):
        _core.haplotype_model_codes(hap, [45] * 10)
    with pytest.raises(Exception, match="bases"):
        _core.haplotype_model_codes("ACGU", table)


def test_model_calibration_implied_law_follows_the_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/model_calibration.py: the law of read lengths a model implies is a law, near one
    at the exact length where the model keeps the default, wider where the model's gap-open is
    lower; the table compares it with error_profile.py's reads; bad input: exit 2."""
    mc = load_benchmark("model_calibration")
    clean = ErrorModel("x", "S", "", 300, 3000, "learnt", {})
    noisy = ErrorModel("x", "S", "ONT", 300, 3000, "learnt", {1: tuple([25] * 9 + [15] * 11)},
                       gap_ext=tuple([1] * 20))
    for m in (clean, noisy):
        law = mc.implied_law(m, 12)
        assert sum(law.values()) == pytest.approx(1.0) and min(law) == 4 and max(law) == 20
    assert mc.implied_law(clean, 12)[12] > 0.95
    wide = mc.implied_law(noisy, 12)
    assert wide[12] < 0.8 and wide[11] > wide[10] > wide[9]  # one off likelier than two, than three
    assert mc.implied_law(noisy, 6)[6] > wide[12]  # the learnt 25 at 6 units: closer to exact
    model_file = tmp_path / "m.txt"
    write_error_model(model_file, [noisy])
    profile = {"ont": {"tract_length_change": {"1:12": {"-1": 20, "0": 50, "1": 25, "2": 5}}}}
    (tmp_path / "p.json").write_text(json.dumps(profile))
    assert mc.main(["--model", str(model_file), "--profile", str(tmp_path / "p.json"), "--lengths", "12,13"]) == 0
    out = capsys.readouterr().out
    row12 = next(r for r in out.splitlines() if r.startswith("| 12 "))
    assert "50% / 45% / 5% (100)" in row12  # the reads' law
    assert row12.split("|")[-2].strip() != "-"  # a total variation
    assert next(r for r in out.splitlines() if r.startswith("| 13 ")).endswith("- | - |")  # no reads there
    assert mc.main(["--lengths", "x"]) == 2
    assert mc.main([]) == 2
    assert mc.main(["--model", str(tmp_path / "missing.txt")]) == 2


def _shares(variant_by_units: dict[int, tuple[int, int]]) -> tuple[float, ...]:
    """tract_variant_shares of period-1 counts {units: (loci with a real allele, loci counted)}."""
    variant, loci = np.zeros(21, np.int64), np.zeros(21, np.int64)
    for u, (v, n) in variant_by_units.items():
        variant[u], loci[u] = v, n
    return tract_variant_shares(variant, loci)


def test_tract_variant_shares_rise_with_length_and_keep_the_default_where_the_reads_do_not_say():
    """The share of long homopolymers carrying a real allele, by length 8-20: the reads' own where
    they hold many loci, never falling with length (a dip is pooled with the lengths before it), the fixed
    factor's share where a length has none, and () from fewer than 50 loci; runs of 20+ bases (the
    counts' open bin, where ONT errors pass for alleles) take the share of 19."""
    assert _shares({}) == () and _shares({u: (1, 3) for u in range(8, 20)}) == ()  # 48 loci
    counts = {8: (2, 38), 9: (2, 38), 10: (4, 36), 11: (12, 28), 12: (12, 28), 13: (12, 28), 14: (12, 28),
              15: (8, 32), 16: (16, 24), 17: (16, 24), 18: (16, 24)}
    s = _shares(counts)
    assert len(s) == 13 and all(a <= b for a, b in zip(s, s[1:]))
    assert s[0] == pytest.approx(0.05, abs=0.003)  # (2 + 2 x the default's share) / (40 + 2)
    assert s[3] == s[7] == pytest.approx((4 * 12 + 8) / 200, abs=0.015)  # the dip at 15 pooled with 11-14
    # 19 holds no loci, only the prior's: pooled with 16-18 (0.4 of their 120 loci)
    assert s[8] == s[10] == s[11] == pytest.approx(48 / 128, abs=0.01)
    assert s[12] == s[11] and _shares({**counts, 20: (40, 0)}) == s  # the open bin is not used
    few = _shares({8: (0, 60), 9: (0, 0)})  # no variant at 8; none counted at 9 or longer
    default = tract_variant_shares.__globals__["_default_tract_share"]()
    assert few[0] < default and few[1:] == pytest.approx((default,) * 12, abs=1e-4)  # rounded to 4 places


def test_tract_prior_scales_are_the_shares_odds_per_allele_against_the_genome_wide_prior():
    het, hom = CallOptions().indel_het_prior, CallOptions().indel_hom_prior

    def model(share: float) -> ErrorModel:
        return ErrorModel("rg", "S", "PACBIO", 0, 0, "", {}, tract_variants=(share,) * 13)

    scales = tract_prior_scales([model(0.2)], het, hom)
    assert len(scales) == 21 and scales[:8] == (1.0,) * 8  # tracts of fewer than 8 bases: unchanged
    assert scales[8:] == pytest.approx((0.25 / 2 / (het + hom),) * 13, rel=1e-3)  # odds 1:4, two alleles
    assert tract_prior_scales([model(0.1), model(0.3)], het, hom) == scales  # read groups: the mean share
    assert tract_prior_scales([model(1e-6)], het, hom) == (1.0,) * 21  # never below the genome-wide prior
    assert tract_prior_scales([ErrorModel("rg", "S", "ILLUMINA", 0, 0, "", {})], het, hom) == ()
    with pytest.raises(InputError, match="long_tract_prior_scales"):
        CallOptions(long_tract_prior_scales=(1.0, 0.5))


def test_model_file_round_trips_with_the_tract_prior(tmp_path):
    m = ErrorModel("rg", "S", "ONT", 10, 100, "learnt", {}, tract_variants=(0.01,) * 5 + (0.2,) * 8)
    path = write_error_model(tmp_path / "m.txt", [m])
    assert 'TractVariants="P1:0.0100,' in path.read_text()
    assert read_error_model(path) == [m]
    path.write_text(path.read_text().replace('TractVariants="P1:0.0100,', 'TractVariants="P1:'))
    with pytest.raises(InputError, match="TractVariants"):
        read_error_model(path)
    # every platform learns it from the same counts
    k, n, loci = (np.zeros((9, 21), np.int64) for _ in range(3))
    n[1, 1:], loci[1, 1:] = 2000, 40
    variant = np.zeros((9, 21), np.int64)
    variant[1, 8:] = 10
    lr = fit_counts("rg", "S", "PACBIO", k, n, loci, variant=variant)
    assert lr.tract_variants and "tract prior learnt" in lr.fit
    assert fit_counts("rg", "S", "ILLUMINA", k, n, loci, variant=variant).tract_variants == lr.tract_variants
