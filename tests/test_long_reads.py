"""Long reads (PacBio HiFi, Oxford Nanopore): the simulator's error profile; platforms from @RG PL."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pysam
import pytest
import synth
from benchmark_scripts import load as load_benchmark

import gmscall
from gmscall import CallOptions
from gmscall.cohort import normalise_platform
from gmscall.error_model import PHRED_FLOOR, fit_counts
from gmscall.errors import InputError
from gmscall.evaluation import evaluate


def _hp_error_rates(ds: synth.Dataset, lengths: range) -> float:
    """Share of reads whose run is read longer or shorter, over reference homopolymers of the
    given lengths away from planted variants (from the reads' exact CIGARs)."""
    ref = ds.reference.upper
    busy = np.zeros(len(ref) + 1, dtype=bool)
    for v in ds.truth:
        busy[max(0, v.pos - 20) : v.pos + len(v.ref) + 20] = True
    runs = [(s, e) for s, e in synth._homopolymers(ref, min(lengths))
            if e - s in lengths and s > 0 and not busy[s - 1 : e + 1].any()]
    changed = total = 0
    with pysam.AlignmentFile(str(ds.bam)) as bam:
        for rd in bam:
            if rd.is_supplementary:
                continue
            q_at = np.full(rd.reference_end - rd.reference_start, -1)
            for q, r in rd.get_aligned_pairs(matches_only=True):
                q_at[r - rd.reference_start] = q
            for s, e in runs:
                lo, hi = s - 1 - rd.reference_start, e - rd.reference_start
                if lo < 0 or hi >= len(q_at) or q_at[lo] < 0 or q_at[hi] < 0:
                    continue
                total += 1
                changed += int(q_at[hi] - q_at[lo] - 1 != e - s)
    return changed / max(1, total)


@pytest.fixture(scope="module")
def hifi(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    """120 kb, 30x HiFi-like reads of 10-30 kb, 5 % of them chimeric (split alignments)."""
    return synth.make_long_read_dataset(tmp_path_factory.mktemp("hifi"), length=120_000, depth=30, seed=3,
                                        platform="HIFI", split_fraction=0.05)


def test_long_read_simulator(hifi: synth.Dataset) -> None:
    primary = [r for r in hifi.reads if not r.flag & synth.SUPPLEMENTARY]
    lengths = np.array([len(r.seq) for r in primary])
    assert lengths.max() <= 30_300 and np.median(lengths) >= 10_000  # spans of 10-30 kb, give or take errors
    assert any(r.flag & synth.SUPPLEMENTARY for r in hifi.reads)
    assert {r.flag & synth.REVERSE for r in primary} == {0, synth.REVERSE}
    # errors are homopolymer-length changes that grow with the run's length (real HiFi: 0.3 % of
    # reads at 2 bp, about 10 % at 8-10 bp; benchmarks/error_profile.py)
    short, long_ = _hp_error_rates(hifi, range(2, 4)), _hp_error_rates(hifi, range(8, 16))
    assert short < 0.01 and 0.05 < long_ < 0.3, (short, long_)
    with pysam.AlignmentFile(str(hifi.bam)) as bam:
        assert bam.header.to_dict()["RG"][0]["PL"] == "PACBIO"


def test_long_read_simulator_ont(tmp_path_factory: pytest.TempPathFactory) -> None:
    ds = synth.make_long_read_dataset(tmp_path_factory.mktemp("ont"), length=60_000, depth=20, seed=4,
                                      platform="ONT")
    # ONT R10: homopolymer errors more often than HiFi's, and about 5 substitutions per kb
    assert _hp_error_rates(ds, range(2, 4)) > 0.01 and _hp_error_rates(ds, range(8, 16)) > 0.15
    errors = sum(int(r.errors.sum()) for r in ds.reads if r.errors is not None)
    bases = sum(len(r.seq) for r in ds.reads)
    assert 0.005 < errors / bases < 0.03
    with pysam.AlignmentFile(str(ds.bam)) as bam:
        assert bam.header.to_dict()["RG"][0]["PL"] == "ONT"


def _tract_length_changes(reads: list[synth.SimRead], tracts: list[tuple[int, int]]) -> dict[int, list[int]]:
    """Read length minus reference length of each tract [s, e) a read spans (with a base of flank
    aligned on both sides), by the tract's reference length (from the reads' exact CIGARs)."""
    out: dict[int, list[int]] = {}
    for rd in reads:
        if rd.flag & synth.SUPPLEMENTARY:
            continue
        q_at = np.full(sum(n for op, n in rd.cigar if op in (synth.M, synth.DEL)), -1)
        r, q = 0, 0
        for op, n in rd.cigar:
            if op == synth.M:
                q_at[r : r + n] = np.arange(q, q + n)
            if op in (synth.M, synth.DEL):
                r += n
            if op in (synth.M, synth.INS, synth.SOFT):
                q += n
        for s, e in tracts:
            lo, hi = s - 1 - rd.pos, e - rd.pos
            if lo < 0 or hi >= len(q_at) or q_at[lo] < 0 or q_at[hi] < 0:
                continue
            out.setdefault(e - s, []).append(int(q_at[hi] - q_at[lo] - 1) - (e - s))
    return out


def test_ont_homopolymer_errors_follow_the_fitted_curves() -> None:
    # homopolymers of 4-16 bases between random flanks: the simulated reads' length errors come
    # back at the fitted curves' rates (synth.ONT_LENGTH_ERRORS, fitted on the real ONT slice)
    rng = np.random.default_rng(7)
    parts, tracts, x = [], [], 0
    for k in range(1200):
        flank = "".join(rng.choice(list("ACGT"), 30))
        base = "ACGT"[k % 4]
        L = (4, 8, 12, 16)[(k // 4) % 4]
        x += len(flank)
        parts += [flank, base * L]
        tracts.append((x, x + L))
        x += L
    parts.append("GATTACAGATTACA")
    seq = "".join(parts)
    hap = synth.Haplotype("chrS", 0, seq, np.arange(len(seq), dtype=np.int64))
    reads = synth.simulate_long_reads([hap], 3, 25, platform="ONT", mean_len=4000, min_len=2000, max_len=8000)
    changes = _tract_length_changes(reads, [(s, e) for s, e in tracts if seq[s - 1] != seq[s] != seq[e]])
    p_err, p_loss, _ = synth.homopolymer_error_rates(np.array(sorted(changes)))
    # lone 1-3 bp indels (the profile's rates per base, a fifth more for those starting before
    # the run and reaching into it) change some runs' lengths too
    ont = synth._LONG_READ_PROFILES["ONT"]
    lone = 1.2 * (float(ont["ins"]) + float(ont["del"]))  # type: ignore[arg-type]
    for L, pe, pl in zip(sorted(changes), p_err, p_loss):
        d = np.array(changes[L])
        err = d != 0
        expected = 1 - (1 - pe) * (1 - lone * L)
        tol = 4 * np.sqrt(expected * (1 - expected) / len(d)) + 0.015
        assert abs(err.mean() - expected) < tol, (L, err.mean(), expected, len(d))
        if L >= 12:
            assert abs((d[err] < 0).mean() - pl) < 0.1, (L, (d[err] < 0).mean(), pl)
    # the spread grows with the run: 2+ bases off in a third or more of the errors at 16, rarely at 4
    spread = {L: (np.abs(np.array(changes[L])) >= 2).sum() / max(1, (np.array(changes[L]) != 0).sum())
              for L in (4, 16)}
    assert spread[16] > 0.3 and spread[4] < spread[16], spread


def test_ont_tandem_repeat_errors_are_whole_units() -> None:
    # dinucleotide tracts of 7 units: whole-unit changes at the fitted rate, placed as an aligner
    # places them (a left-aligned gap of whole units)
    rng = np.random.default_rng(9)
    parts, tracts, x = [], [], 0
    for _ in range(1500):
        flank = "".join(rng.choice(list("GT"), 1)) + "".join(rng.choice(list("ACGT"), 28)) + "G"
        x += len(flank)
        parts += [flank, "CA" * 7]
        tracts.append((x, x + 14))
        x += 14
    parts.append("TTGACCTTGA")
    seq = "".join(parts)
    hap = synth.Haplotype("chrS", 0, seq, np.arange(len(seq), dtype=np.int64))
    reads = synth.simulate_long_reads([hap], 4, 20, platform="ONT", mean_len=4000, min_len=2000, max_len=8000)
    d = np.array(_tract_length_changes(reads, tracts)[14])
    whole = (d != 0) & (d % 2 == 0)
    expected = float(synth.tandem_error_rate(2, 7))
    assert abs(whole.mean() - expected) < 4 * np.sqrt(expected / len(d)) + 0.02, (whole.mean(), expected)
    assert (d[whole] < 0).mean() > 0.6  # mostly lost units (fitted loss share 0.76)


# --------------------------------------------------------------------------------------------
# platforms (#19): @RG PL or --platform, per sample; ONT's error-model floor and strand filter

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _error_model_platforms(vcf: Path) -> dict[str, str]:
    with gzip.open(vcf, "rt") as fh:
        lines = [line for line in fh if line.startswith("##gmscallErrorModel")]
    return {line.split("ReadGroup=")[1].split(",")[0]: line.split("Platform=")[1].split(",")[0] for line in lines}


def test_platform_names() -> None:
    assert [normalise_platform(p) for p in ("ONT", "Nanopore", "PacBio", "HiFi", "ILLUMINA", "", None, "LS454")] == \
        ["ONT", "ONT", "PACBIO", "PACBIO", "ILLUMINA", "", "", ""]
    with pytest.raises(InputError, match="platform"):
        CallOptions(platform="MINION")
    assert CallOptions(platforms=("ONT", "")).to_core().platforms == [3, 0]


def test_ont_error_model_floor() -> None:
    # a homopolymer error rate near 1/2 at 10+ units: the learnt Phred is ~17, which the common floor
    # (20) clips and ONT's (15) lets through; other platforms keep the common floor
    k, n, loci = (np.zeros((9, 21), dtype=np.int64) for _ in range(3))
    units = np.arange(21)
    n[1, 1:] = 3000
    loci[1, 1:] = 40
    k[1, 1:] = (3000 * np.minimum(0.5, 0.002 * 1.8 ** units[1:])).astype(np.int64)
    ont, pacbio = fit_counts("g", "s", "ONT", k, n, loci), fit_counts("g", "s", "PACBIO", k, n, loci)
    assert min(ont.gap_open[1]) < PHRED_FLOOR == min(pacbio.gap_open[1])
    assert ont.gap_open[1][:5] == pacbio.gap_open[1][:5]  # the same where neither floor binds


@pytest.fixture(scope="module")
def ont(tmp_path_factory: pytest.TempPathFactory) -> synth.Dataset:
    return synth.make_long_read_dataset(tmp_path_factory.mktemp("ont-call"), length=60_000, depth=30, seed=5,
                                        platform="ONT")


def test_platform_from_read_group(ont: synth.Dataset, tmp_path: Path) -> None:
    from gmscall.caller import _plan

    plan = _plan(ont.bam, ont.fasta, None, None, None, "cpu", None, 1_000_000, None)
    assert plan.options.platforms == ("ONT",) and plan.error_models[0].platform == "ONT"
    assert not plan.options.assemble  # long reads only: their CIGARs hold the alleles
    plan = _plan(ont.bam, ont.fasta, None, None, None, "cpu", CallOptions(long_read_assembly=True), 1_000_000, None)
    assert plan.options.assemble
    plan = _plan(ont.bam, ont.fasta, None, None, None, "cpu", CallOptions(platform="PACBIO"), 1_000_000, None)
    assert plan.options.platforms == ("PACBIO",) and plan.error_models[0].platform == "PACBIO"
    # no PL: unknown, the defaults (as short reads)
    bare = synth.make_long_read_dataset(tmp_path / "bare", length=20_000, depth=10, seed=6, platform="ONT",
                                        write_platform="")
    plan = _plan(bare.bam, bare.fasta, None, None, None, "cpu", None, 1_000_000, None)
    assert plan.options.platforms == () and plan.options.assemble
    out = gmscall.call(ont.bam, ont.fasta, output=tmp_path / "ont.vcf.gz", threads=2)
    assert _error_model_platforms(out) == {"LR": "ONT"}


def test_ont_synthetic_calls(ont: synth.Dataset, tmp_path: Path) -> None:
    out = gmscall.call(ont.bam, ont.fasta, output=tmp_path / "calls.vcf.gz", threads=2)
    res = evaluate(str(ont.truth_vcf), str(out), str(ont.fasta)).to_dict()
    gt = res["genotype"]
    # measured (seed 5): SNV F1 1.0, indel 0.883 (0.897 as --platform ILLUMINA; seed 8: 0.988 vs 0.930)
    assert gt["SNV"]["f1"] >= 0.98, res["fp_variants"] + res["fn_variants"]
    assert gt["INDEL"]["f1"] >= 0.85, res["fp_variants"] + res["fn_variants"]


def test_mixed_short_and_long_cohort(ont: synth.Dataset, tmp_path: Path) -> None:
    """One joint call of an ONT sample and an Illumina sample of the same genome: each column its
    own platform (error model and thresholds), both called."""
    from gmscall.caller import _plan

    reads = synth.simulate_reads(ont.haplotypes, seed=7, depth=30)
    short = synth.write_bam(tmp_path / "short.bam", reads, ont.reference, sample="SHORT", platform="ILLUMINA")
    plan = _plan([ont.bam, short], ont.fasta, None, None, None, "cpu", None, 1_000_000, None)
    assert plan.cohort.samples == ("SYNTH", "SHORT") and plan.options.platforms == ("ONT", "ILLUMINA")
    assert plan.options.assemble  # a short-read sample: assembly as for short reads
    out = gmscall.call([ont.bam, short], ont.fasta, output=tmp_path / "mixed.vcf.gz", threads=2)
    with pysam.VariantFile(str(out)) as vf:
        assert list(vf.header.samples) == ["SYNTH", "SHORT"]
        calls = [(r.pos, r.ref, r.alts, r.samples["SHORT"]["GT"]) for r in vf if "PASS" in r.filter]
    assert len(calls) >= 0.9 * len(ont.truth)


@pytest.mark.skipif(not (SHARED / "real-hg002-chr20-ont" / "reads.bam").exists(), reason="no ../shared/data")
def test_ont_strand_specific_insertion_filtered(tmp_path: Path) -> None:
    """Real ONT slice: C>CT-like insertions whose ALT reads are (almost) all forward while the REF
    reads are on both strands are FILTER StrandBias on ONT, PASS when called as another platform."""
    d = SHARED
    kw = {"regions": "chr20:5050000-5075000", "threads": 2}
    ont_out = gmscall.call(d / "real-hg002-chr20-ont" / "reads.bam", d / "sim-hg002-chr20-2x150" / "ref.fa",
                           output=tmp_path / "ont.vcf.gz", **kw)
    as_pb = gmscall.call(d / "real-hg002-chr20-ont" / "reads.bam", d / "sim-hg002-chr20-2x150" / "ref.fa",
                         output=tmp_path / "pb.vcf.gz", options=CallOptions(platform="PACBIO"), **kw)

    def filt(path: Path) -> dict[tuple[int, str, tuple[str, ...]], tuple[str, ...]]:
        with pysam.VariantFile(str(path)) as vf:
            return {(r.pos, r.ref, r.alts): tuple(r.filter) for r in vf}

    a, b = filt(ont_out), filt(as_pb)
    assert a[(5071862, "T", ("TC",))] == ("StrandBias",) and b[(5071862, "T", ("TC",))] == ("PASS",)
    assert [k for k, v in a.items() if v == ("StrandBias",) and len(k[1]) == len(k[2][0])] == []  # SNVs as before


def test_reads_longer_than_a_shard(ont: synth.Dataset, tmp_path: Path) -> None:
    """Reads of 10-30 kb over shards of 4 kb: the records of one shard over the whole contig."""

    def body(path: Path) -> list[str]:
        with gzip.open(path, "rt") as fh:
            return [line for line in fh if not line.startswith("#")]

    whole = gmscall.call(ont.bam, ont.fasta, output=tmp_path / "whole.vcf.gz", threads=2, shard_size=1_000_000)
    small = gmscall.call(ont.bam, ont.fasta, output=tmp_path / "small.vcf.gz", threads=2, shard_size=4_000)
    assert body(whole) == body(small) and len(body(whole)) > 100


def test_long_tract_indel_prior(ont: synth.Dataset, tmp_path: Path) -> None:
    """Long reads: a record with an indel in a tandem-repeat tract of 8 bases or more gets the indel
    priors times LONG_READ_TRACT_PRIOR_SCALE: its QUAL rises by about 10 log10(30) where REF is the
    other hypothesis (a record whose rivals are other lengths of the tract keeps about its QUAL);
    the SNVs keep their genotypes; short reads (and an explicit scale of 1) keep the genome-wide prior."""
    from gmscall import _core
    from gmscall.caller import LONG_READ_TRACT_PRIOR_SCALE, _plan

    _tract_bases = _core.long_tract_bases
    assert _tract_bases("CAAAAAAAAAG", 0, ["C", "CA"]) == 9 == _tract_bases("CAAAAAAAAAG", 0, ["CA", "C"])
    assert _tract_bases("CACACACACG", 0, ["C", "CAC"]) == 8 and _tract_bases("CAAG", 0, ["C", "T"]) == 0
    assert _tract_bases("GCAAAAAAAAAG", 1, ["CAAT", "CAT", "CAAAT"]) == 9  # trimmed to C/CA and CA/C
    assert _tract_bases("CAANAAAG", 0, ["C", "CA"]) == 2  # a tract stops at N
    with pytest.raises(InputError, match="long_tract_prior_scale"):
        CallOptions(long_tract_prior_scale=0.5)
    plan = _plan(ont.bam, ont.fasta, None, None, None, "cpu", None, 1_000_000, None)
    assert plan.options.long_tract_prior_scale == LONG_READ_TRACT_PRIOR_SCALE
    assert CallOptions().to_core().long_tract_prior_scale == 1.0

    def calls(options: CallOptions | None) -> dict[tuple[int, str, tuple[str, ...]], tuple[float, tuple]]:
        out = gmscall.call(ont.bam, ont.fasta, output=tmp_path / "c.vcf.gz", threads=2, options=options)
        with pysam.VariantFile(str(out)) as vf:
            return {(r.pos, r.ref, r.alts): (r.qual, r.samples[0]["GT"]) for r in vf}

    scaled, plain = calls(None), calls(CallOptions(long_tract_prior_scale=1.0))
    ref = ont.reference.upper
    long_tract = [k for k in scaled if k in plain and _tract_bases(ref, k[0] - 1, [k[1], *k[2]]) >= 8]
    gained = [k for k in long_tract if scaled[k][0] > plain[k][0] + 10.0]
    assert len(gained) >= 3, sorted((k, plain[k], scaled[k]) for k in long_tract)
    snvs = [k for k in plain if len(k[1]) == 1 and all(len(a) == 1 for a in k[2])]
    assert snvs and all(scaled[k][1] == plain[k][1] for k in snvs)



def test_long_reads_learn_their_tract_prior(ont: synth.Dataset, tmp_path: Path) -> None:
    """A long-read run's indel priors at homopolymers of 8+ bases come from the share of the
    sample's own such runs that carry a real allele (error_model.tract_prior_scales): in the plan and
    the VCF header; a factor the options name keeps the fixed rule; the table is looked up by the
    tract's length (a table of the fixed factor from 12 bases gives the fixed rule's records at 12)."""
    from gmscall.caller import LONG_READ_TRACT_PRIOR_SCALE, _plan
    from gmscall.error_model import tract_prior_scales

    o = CallOptions()
    plan = _plan(ont.bam, ont.fasta, None, None, None, "cpu", None, 1_000_000, None)
    learnt = tract_prior_scales(plan.error_models, o.indel_het_prior, o.indel_hom_prior)
    assert learnt and plan.options.long_tract_prior_scales == learnt and max(learnt) > LONG_READ_TRACT_PRIOR_SCALE
    named = _plan(ont.bam, ont.fasta, None, None, None, "cpu", CallOptions(long_tract_prior_scale=30.0), 1_000_000, None)
    assert named.options.long_tract_prior_scales == () and named.options.long_tract_prior_scale == 30.0

    def call(options: CallOptions | None) -> tuple[list[str], str]:
        out = gmscall.call(ont.bam, ont.fasta, output=tmp_path / "c.vcf.gz", threads=2, options=options)
        with gzip.open(out, "rt") as fh:
            text = fh.read()
        return [line for line in text.splitlines() if not line.startswith("#")], text

    records, header = call(None)
    assert 'TractVariants="P1:' in header and "tract prior learnt" in header
    flat = CallOptions(long_tract_prior_scale=LONG_READ_TRACT_PRIOR_SCALE, long_tract_bases=12)
    table = CallOptions(long_tract_prior_scales=(1.0,) * 12 + (LONG_READ_TRACT_PRIOR_SCALE,))
    assert call(flat)[0] == call(table)[0] != call(CallOptions(long_tract_prior_scale=1.0))[0]
    assert records != call(CallOptions(long_tract_prior_scale=LONG_READ_TRACT_PRIOR_SCALE))[0]

# --------------------------------------------------------------------------------------------
# benchmarks/error_profile.py: tracts, length changes, and the fit the simulator's curves come from

@pytest.mark.parametrize("platform", ["HIFI", "ONT"])
def test_homopolymer_length_law_is_the_simulators(platform: str) -> None:
    """synth.homopolymer_length_law (what benchmarks/length_evidence.py's oracle uses) is the law of
    the lengths the simulator's reads give runs of 13 bases: within the sampling error (total
    variation) plus what lone 1-3 bp indels near the run add."""
    rng = np.random.default_rng(11)
    parts, tracts, x = [], [], 0
    for k in range(600):
        flank = "".join(rng.choice(list("ACGT"), 30))
        base = "ACGT"[k % 4]
        x += len(flank)
        parts += [flank, base * 13]
        tracts.append((x, x + 13))
        x += 13
    parts.append("GATTACAGATTACA")
    seq = "".join(parts)
    hap = synth.Haplotype("chrS", 0, seq, np.arange(len(seq), dtype=np.int64))
    reads = synth.simulate_long_reads([hap], 5, 20, platform=platform, mean_len=4000, min_len=2000, max_len=8000)
    d = np.array(_tract_length_changes(reads, [(s, e) for s, e in tracts if seq[s - 1] != seq[s] != seq[e]])[13])
    seen = {13 + int(k): c / len(d) for k, c in zip(*np.unique(d, return_counts=True))}

    def distance(law: dict[int, float]) -> float:  # total variation
        return 0.5 * sum(abs(seen.get(k, 0.0) - law.get(k, 0.0)) for k in set(seen) | set(law))

    law = synth.homopolymer_length_law(platform, 13)
    assert sum(law.values()) == pytest.approx(1.0)
    profile = synth._LONG_READ_PROFILES[platform]
    lone = 15 * (float(profile["ins"]) + float(profile["del"]))  # type: ignore[arg-type]
    assert len(d) > 3000 and distance(law) < 4 / np.sqrt(len(d)) + lone / 2, (distance(law), len(d))
    # ... and closer than the laws of the neighbouring lengths or of the other platform
    other = "ONT" if platform == "HIFI" else "HIFI"
    for wrong in (synth.homopolymer_length_law(platform, 12), synth.homopolymer_length_law(platform, 14),
                  synth.homopolymer_length_law(other, 13)):
        assert distance(law) < distance(wrong) / 2, (distance(law), distance(wrong))
    with pytest.raises(ValueError, match="platform"):
        synth.homopolymer_length_law("ILLUMINA", 13)


def test_length_evidence_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """benchmarks/length_evidence.py: evidence falls with the run's length (ONT), and a truth with
    an indel in one of two 12-base runs gives a share of 1/2 at 12; bad input: exit 2."""
    le = load_benchmark("length_evidence")
    assert le.main(["--platform", "ONT", "--lengths", "8,12"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith(("| 8 ", "| 12 "))]
    assert float(rows[0].split("|")[3]) > float(rows[1].split("|")[3]) > 0
    ref = "ACGTACGTCG" + "A" * 12 + "CGTGCATGCA" + "T" * 12 + "GCACGTGCAGT"
    fa = tmp_path / "ref.fa"
    fa.write_text(">chrT\n" + ref + "\n")
    pysam.faidx(str(fa))
    vcf = tmp_path / "truth.vcf"
    at = ref.index("T" * 12)  # 0-based first T: the VCF anchor is the base before it (1-based: at)
    vcf.write_text(f"##fileformat=VCFv4.2\n##contig=<ID=chrT,length={len(ref)}>\n"
                   '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
                   f"chrT\t{at}\t.\t{ref[at - 1]}T\t{ref[at - 1]}\t.\tPASS\t.\tGT\t0|1\n")
    pysam.tabix_index(str(vcf), preset="vcf", force=True)
    assert le.main(["--lengths", "12", "--truth", str(vcf) + ".gz", "--ref", str(fa), "--region", "chrT"]) == 0
    out = capsys.readouterr().out
    assert "| 12 | 2 | 1 | 50.00% |" in out, out
    assert le.main(["--lengths", "twelve"]) == 2
    assert le.main(["--truth", str(vcf) + ".gz"]) == 2
    assert le.main(["--lengths", "1"]) == 2


def _error_profile():
    return load_benchmark("error_profile")


def test_error_profile_tracts_and_length_changes() -> None:
    ep = _error_profile()
    # tracts start at their first base (an earlier version put them one base to the left, so a
    # homopolymer's unit was the base before it and AAAA read as a period-2 tract)
    assert ep._tracts("GCAAAAAAGTATATATC", 100) == [(102, 108, 1), (109, 116, 2)]
    assert ep._tracts("CAGCAGCAGT", 0) == [(0, 9, 3)]
    gaps = [(100, 2, "AA"), (104, -1, ""), (110, 1, "A"), (111, 1, "G")]
    # +2 at the start, -1 inside, +1 at the end (an aligner's right end); a G is not the run's
    assert ep._length_change(gaps, [g[0] for g in gaps], "A" * 10, 1, 100, 110) == 2
    assert ep._length_change([(98, -4, "")], [98], "CACACA", 2, 100, 106) == -2


def test_error_profile_fit_recovers_known_curves() -> None:
    # histograms drawn from known curves (the simulator's ONT ones) come back from the fit
    ep = _error_profile()
    rng = np.random.default_rng(5)
    truth = synth.ONT_LENGTH_ERRORS["homopolymer"]
    changes: dict[str, dict[str, int]] = {}
    for L in range(2, 20):
        n = 40_000 if L < 8 else 3000
        p_err, p_loss, q = (float(x[0]) for x in synth.homopolymer_error_rates(np.array([L])))
        err = rng.random(n) < p_err
        size = rng.geometric(1 - q, n)
        d = np.where(err, np.where(rng.random(n) < p_loss, -1, 1) * np.minimum(size, 8), 0)
        changes[f"1:{L}"] = {str(k): int(c) for k, c in zip(*np.unique(d, return_counts=True))}
    for per in (2, 3):
        for u in (2, 3, 4, 6):
            n = 20_000
            r = float(synth.tandem_error_rate(per, u))
            k = rng.binomial(n, r)
            changes[f"{per}:{u}"] = {"0": n - k, str(-per): int(k * 0.76), str(per): k - int(k * 0.76)}
    fit = ep.fit_length_errors({"tract_length_change": changes})["homopolymer"]
    for name, tol in (("pmax", 0.05), ("l50", 0.5), ("width", 0.3), ("loss_a", 0.2), ("loss_b", 0.03),
                      ("size_c", 0.2), ("size_d", 0.04)):
        assert abs(fit[name] - truth[name]) < tol, (name, fit[name], truth[name])


def test_learnt_homopolymer_gap_continuation_removes_false_ont_indels(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """ONT reads are 2+ bases off in a third or more of their long-homopolymer slips: the learnt
    continuation makes those reads errors, not evidence of 2-3 bp indel alleles (measured, seeds
    3-5 at 200 kb: false indels 21-25 -> 1-3, true ones the same or one more)."""
    import gmscall.error_model as em

    ds = synth.make_long_read_dataset(tmp_path / "ont", length=200_000, depth=40, seed=3, platform="ONT")
    learnt = gmscall.call(ds.bam, ds.fasta, output=tmp_path / "learnt.vcf.gz", threads=2)
    with gzip.open(learnt, "rt") as fh:
        assert any(line.startswith("##gmscallErrorModel") and 'GapExt="P1:' in line for line in fh)
    monkeypatch.setattr(em, "homopolymer_ext_classes", lambda *a: ())
    default = gmscall.call(ds.bam, ds.fasta, output=tmp_path / "default.vcf.gz", threads=2)
    a, b = (evaluate(str(ds.truth_vcf), str(v), str(ds.fasta)).to_dict()["genotype"]["INDEL"] for v in (learnt, default))
    assert a["fp"] * 4 <= b["fp"] and a["tp"] >= b["tp"], (a, b)
