"""Indel error model learnt from the reads, per read group (GATK DRAGstr's idea).

At the reference's tandem repeats (period 1-8; length in whole units, 1-20, longer tracts counted
as 20) of a sample of the regions to call, the reads that span a tract are counted, and among
them those whose alignment carries an indel of whole units inside it (``_core.count_repeat_indels``;
a locus where one indel allele is on more than 30 % of the reads is a real allele, not errors, and
is left out). The rate r of such reads is fitted as log10 r = a_p + b L (L the tract's length in
bases, an intercept per period, one slope b >= 0 for all, binomial likelihood, on the lengths seen
at >= 3 loci and >= 50 reads; b = 0 unless a slope fits better by a log-likelihood of 10; on long
reads a period keeps it only if its own counts fit better with it by 3, on short reads unless its
own counts fit better without it by 3), and each
length's count is shrunk towards the curve ((k + 100 r_fit) / (n + 100)), so that rare long
tracts borrow from it; periods 6-8, rarely counted enough, take the curve of the longest counted
period below them. Each rate becomes the
pair-HMM's gap-open Phred at the positions of such tracts: the probability that the pair-HMM gives
a read one unit longer or shorter than the haplotype, relative to an exact copy, is about
2 (L - p + 1) g e^(p-1) (1 - e) for a tract of L bases and period p (an insertion or a deletion
that can open at any of L - p + 1 places, g the gap-open, e the gap continuation of the period's
class, ``_core.gap_ext_classes``); g is set so that this equals ODDS_SCALE r / (1 - r). The pair-HMM uses, at
each position, the lower of the learnt Phred and the default (``CallOptions.gap_open_*``): a library
noisier than the default assumes gets the learnt penalty (and the continuation of its period's
class; for homopolymers the class is learnt from the share of slips 2+ bases long,
``homopolymer_ext_classes``), a cleaner one keeps the default. A period with fewer than ``MIN_LOCI`` loci or
``MIN_READS`` reads (and no shorter period counted) keeps the default; the header line says which.
Where the rate asks for a gap-open below ``PHRED_FLOOR``, the rest of the odds is the tract's
one-unit slip (``stutter_code``), taken once per read at the tract by the pair-HMM (losses and
gains in the counted share ``stutter_loss``); on short reads the fitted line is carried past the
longest length counted only up to the highest rate a counted length showed (PCR stutter levels
off: ``_stutter_ceiling``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import InputError
from .options import CallOptions
from .regions import Region

__all__ = ["ErrorModel", "allele_error_tables", "learn_error_model", "read_error_model", "write_error_model"]

HEADER_KEY = "gmscallErrorModel"
FORMAT_VERSION = 2  # 2: slip codes (Stutter); 1 (no Version field): gap-open Phreds only
MAX_PERIOD = 8
MAX_UNITS = 20
MIN_LOCI = 200  # per period (loci of any length)
MIN_READS = 2000  # per period
SAMPLE_BP = 192_000  # reference bases whose reads are counted: ~0.1 s at 30x
CHUNK_BP = 8_000
PRIOR_READS = 100.0
MIN_BIN_READS = 50  # lengths that set the curve: this many reads ...
MIN_BIN_LOCI = 3  # ... from this many loci (also: fewer loci and a length's own counts are not used)
MIN_SLOPE_LLR = 10.0  # rates grow with length only if that fits better by this log-likelihood
MIN_PERIOD_SLOPE_LLR = 3.0  # ... and in a period only if its own counts fit better with the slope
# The pair-HMM's odds of a read one unit off are set to this share of the learnt r / (1 - r):
# chosen on three stutter sets of simulate_set.py (HS25 2x150 20x and 40x, HS20 2x100 40x): at 1
# they lost 13, 7 and 7 true indels, at 0.5 11, 4 and 5, at 0.25 the first false one came (none
# at 1 or 0.5); the sets without stutter kept their calls at each.
ODDS_SCALE = 0.5
PHRED_FLOOR = 20  # a gap-open above 1 % makes every repeat position cost the match path (1 - 2g)
# ONT (R10) reads are a base off in 50-80 % of homopolymers of 12-19 bases (the real slice of
# ../shared/data: 20-34 % of reads exact at the truth's reference-length tracts): a floor of 20
# clips the learnt curve from 9 units on and reads the spread as indel alleles (four of six false
# indels there). 15 lets the learnt rates through (~17 at the 0.5 cap). HiFi keeps 20 (it meets its
# target with it; at 15 its calls are those of 20 on its slice).
PLATFORM_PHRED_FLOOR = {"ONT": 15}
LINE_PAST_COUNTS = ("PACBIO", "ONT")  # platforms whose rate line goes on past the counted lengths (fit_counts)
EXT_CLASS = (0, 0, 1, 2, 2, 3, 3, 3, 3)  # by period: as gmscall/error_model.hpp's gap_ext_class
# Homopolymer slips' gap continuation is learnt from how far they run (2+ bases off among the
# reads with one): ONT R10 reads are 2+ bases off in 18 % of their homopolymer slips at 2 bp and
# 50-60 % at 15-20 bp (benchmarks/error_profile.py on the real slice), against the default
# continuation 0.1 that made such reads evidence of 2-3 bp indel alleles. Lengths with fewer
# reads borrow from the read group's pooled share; fewer than MIN_EXT_READS slips: the default.
EXT_PRIOR_READS = 20.0
# Indel priors of long-read runs in windows with an indel in a tandem-repeat tract of 8 bases or
# more (CallOptions.long_tract_prior_scale) where the reads do not say (tract_variant_shares).
# Chosen on two simulated ONT sets of chr20:1-6 Mb
# (benchmarks/simulate_long_set.py --simulator synth, 40x; indel F1 by scale 1 / 10 / 30 / 100:
# 0.899 / 0.936 / 0.944 / 0.944 and 0.878 / 0.888 / 0.893 / 0.889, no more false indels) and checked
# on the real HiFi and ONT slices and a pbsim ONT set (the same calls at each); tract lengths of 6,
# 8 and 10 bases gave the same calls. A third synth set was held out (docs/long-reads.md).
LONG_READ_TRACT_PRIOR_SCALE = 30.0
# The tract prior (tract_variant_shares): homopolymers of
# LONG_TRACT_FIRST bases or more (CallOptions.long_tract_bases' default), learnt where
# MIN_TRACT_LOCI of them were counted; each length's share is shrunk by TRACT_PRIOR_LOCI loci at
# the share the fixed factor (LONG_READ_TRACT_PRIOR_SCALE) stands for, so lengths the sample
# hardly holds keep it.
LONG_TRACT_FIRST = CallOptions.long_tract_bases
MIN_TRACT_LOCI = 50  # a 25-kb region holds ~26 (its 0-3 alleles say little of the genome's rate); 1 Mb ~70-120
TRACT_PRIOR_LOCI = 2.0
TRACT_ALLELES = 2.0  # a long homopolymer's indel alleles are mostly one base longer or shorter
MIN_EXT_READS = 200


def _first_units(period: int) -> int:
    return 1 if period == 1 else 2


@dataclass(frozen=True)
class ErrorModel:
    """One read group's learnt model: ``gap_open[period]`` is the gap-open Phred for tract lengths
    ``_first_units(period)`` .. 20 units (absent: the period keeps the default); ``rates`` the
    fitted rates of reads with a whole-unit indel behind them (empty when read from a file)."""

    read_group: str
    sample: str
    platform: str
    loci: int
    reads: int
    fit: str
    gap_open: dict[int, tuple[int, ...]] = field(default_factory=dict)
    rates: dict[int, tuple[float, ...]] = field(default_factory=dict, compare=False)
    # per period, the slip code by length in units (as gap_open; 0: no slip): Phred of the
    # probability that a read is one unit off at the tract (stutter_code), a share stutter_loss of
    # it a unit lost
    stutter: dict[int, tuple[int, ...]] = field(default_factory=dict)
    stutter_loss: float = 0.5
    # homopolymer gap continuation class by length (1-20 units), where the reads' slips run
    # further than the period's class says (absent: EXT_CLASS[1] throughout)
    gap_ext: tuple[int, ...] = ()
    # the share of the sample's homopolymers of LONG_TRACT_FIRST..MAX_UNITS bases that carry a real
    # indel allele (tract_variant_shares; empty: not learnt), the indel prior there
    # (tract_prior_scales)
    tract_variants: tuple[float, ...] = ()

    def ext_class(self, period: int, units: int) -> int:
        """The gap continuation class of a learnt tract's positions."""
        return self.gap_ext[units - 1] if period == 1 and self.gap_ext else EXT_CLASS[period]

    def header_line(self, source: str = "") -> str:
        """``##gmscallErrorModel=<Version=2,ReadGroup=..,Sample=..,Platform=..,[Source="..",]Loci=..,
        Reads=..,Fit="..",GapOpen="P1:..;P2:..",Stutter="P4:..",StutterLoss=..>`` (GapOpen: per
        learnt period, the Phred by length in units from 1 (period 1) or 2 (the others) to 20;
        Stutter: the periods with a slip code, the same way, 0 for none; StutterLoss: the share of
        slips that lose a unit). Version 1 lines (no Version, no Stutter) are read as models without
        slips, which is what they were."""
        go = _period_values(self.gap_open)
        st = _period_values({p: v for p, v in self.stutter.items() if any(v)})
        src = f'Source="{source}",' if source else ""
        ext = f',GapExt="P1:{",".join(map(str, self.gap_ext))}"' if self.gap_ext else ""
        tv = f',TractVariants="P1:{",".join(f"{v:.4f}" for v in self.tract_variants)}"' if self.tract_variants else ""
        return (f"##{HEADER_KEY}=<Version={FORMAT_VERSION},ReadGroup={self.read_group or '-'},"
                f"Sample={self.sample or '-'},Platform={self.platform or '-'},{src}Loci={self.loci},"
                f"Reads={self.reads},Fit=\"{self.fit}\",GapOpen=\"{go}\"{ext},Stutter=\"{st}\","
                f"StutterLoss={self.stutter_loss:.2f}{tv}>")

    def table(self, gap_open_max: int, gap_open_min: int, gap_open_slope: float) -> list[int]:
        """The core's gap code table (``[period][units]``, 9 x 21): per entry the lower of the default
        and the learnt Phred; where the learnt one is lower, its period's continuation class. With
        slips, 189 codes of losing a unit and 189 of gaining one follow (the same layout; Phred of
        the slip's probability, 0: none)."""
        size = (MAX_PERIOD + 1) * (MAX_UNITS + 1)
        out = [gap_open_max] * size
        for p in range(1, MAX_PERIOD + 1):
            learnt = self.gap_open.get(p)
            for u in range(1, MAX_UNITS + 1):
                d = _default_code(p, u, gap_open_max, gap_open_min, gap_open_slope)
                code = d
                if learnt is not None and u >= _first_units(p):
                    v = learnt[u - _first_units(p)]
                    if v < d:
                        code = v | (self.ext_class(p, u) << 6)
                out[p * (MAX_UNITS + 1) + u] = code
        if not any(any(v) for v in self.stutter.values()):
            return out
        losses, gains = [0] * size, [0] * size
        for p, vals in self.stutter.items():
            for u in range(_first_units(p), MAX_UNITS + 1):
                v = vals[u - _first_units(p)]
                if v:
                    at = p * (MAX_UNITS + 1) + u
                    losses[at] = _phred_code(self.stutter_loss * 10.0 ** (-v / 10.0))
                    gains[at] = _phred_code((1.0 - self.stutter_loss) * 10.0 ** (-v / 10.0))
        return out + losses + gains


def _phred_code(prob: float) -> int:
    """A slip probability as its Phred code, 3 (0.5) to 63; 0 for none."""
    return 0 if prob <= 0 else int(min(63, max(3, round(-10.0 * math.log10(prob)))))


def _period_values(values: dict[int, tuple[int, ...]]) -> str:
    return ";".join(f"P{p}:{','.join(str(v) for v in vals)}" for p, vals in sorted(values.items()))


def _default_code(period: int, units: int, gmax: int, gmin: int, slope: float) -> int:
    """Today's gap-open (csrc/core/haplotypes.cpp gap_open_code) for a tract of period 1-4; the
    default looks at no longer period."""
    if period > 4 or units <= 1:
        return gmax
    q = math.floor(gmax - slope * (units - 1) + 0.5)  # std::lround for the values used
    return min(max(q, gmin), gmax)


def sample_chunks(regions: Sequence[Region], sample_bp: int = SAMPLE_BP,
                  chunk_bp: int = CHUNK_BP) -> list[tuple[str, int, int]]:
    """Chunks of ``chunk_bp`` spread evenly over the regions (all of them when they are shorter
    than ``sample_bp``): deterministic, so every run on the same regions learns the same model."""
    total = sum(r.end - r.start for r in regions)
    if total <= sample_bp:
        return [(r.contig, s, min(s + chunk_bp, r.end)) for r in regions for s in range(r.start, r.end, chunk_bp)]
    n = max(1, sample_bp // chunk_bp)
    out = []
    for i in range(n):
        at = int((i + 0.5) * total / n)
        for r in regions:
            if at < r.end - r.start:
                s = max(r.start, min(r.start + at - chunk_bp // 2, r.end - chunk_bp))
                out.append((r.contig, s, min(s + chunk_bp, r.end)))
                break
            at -= r.end - r.start
    return out


def _fit_periods(data: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
                 borrow_slope: bool = False) -> dict[int, tuple[float, float, float]]:
    """Per period (a_p, b_p, L_p) of log10 r = a_p + b_p L (L the tract's length in bases), and L_p
    the longest length its counts reach: one slope b >= 0 shared by the periods, by binomial
    maximum likelihood on a grid, on the lengths with at least MIN_BIN_READS reads from
    MIN_BIN_LOCI loci (one odd locus does not set it); b = 0 unless it fits better by
    MIN_SLOPE_LLR, and a period keeps it only if its own counts fit better with it by
    MIN_PERIOD_SLOPE_LLR (else it is flat at its own level: no period's long tracts are lowered on
    another period's trend); with ``borrow_slope`` it keeps it unless its own counts fit better
    without it by as much (PCR stutter grows with the tract's length in every period, and a
    sample holds few long tracts of periods 2-6: a 192-kb one counts trinucleotide tracts to 5-6
    units, flat at about 0, where the stutter sets' rates reach 18 % at 7 units). ``data``: period
    -> (indel reads, reads, units, loci)."""
    a_grid = np.arange(-7.0, 0.0, 0.05)
    b_grid = np.arange(0.0, 0.4, 0.004)
    total = np.zeros(len(b_grid))
    lls: dict[int, np.ndarray] = {}
    longest: dict[int, float] = {}
    for p, (k, n, units, loci) in data.items():
        sel = (n >= MIN_BIN_READS) & (loci >= MIN_BIN_LOCI)
        length = units[sel].astype(float) * p
        longest[p] = float(length.max()) if len(length) else float(units.max() * p)
        kk, nn = k[sel].astype(float), n[sel].astype(float)
        lr = np.minimum(a_grid[:, None, None] + b_grid[None, :, None] * length[None, None, :], math.log10(0.5))
        r = 10.0 ** lr
        lls[p] = (kk * np.log(r) + (nn - kk) * np.log1p(-r)).sum(axis=2)  # [a, b]
        total += lls[p].max(axis=0)
    j = int(np.argmax(total))
    if total[j] - total[0] < MIN_SLOPE_LLR:  # no trend with length that the data show: flat rates
        j = 0
    out = {}
    for p, ll in lls.items():
        gain = ll[:, j].max() - ll[:, 0].max()  # of the slope, on this period's own counts
        keeps = gain > -MIN_PERIOD_SLOPE_LLR if borrow_slope else gain >= MIN_PERIOD_SLOPE_LLR
        jp = j if keeps else 0
        out[p] = (float(a_grid[int(np.argmax(ll[:, jp]))]), float(b_grid[jp]), longest[p])
    return out


def rate_to_phred(rate: float, period: int, units: int, floor: int = PHRED_FLOOR, ext_class: int | None = None) -> int:
    """The gap-open Phred at which the pair-HMM's odds of a read one unit off equal
    ODDS_SCALE * rate / (1 - rate) (with the gap continuation of ``ext_class``, default the
    period's)."""
    g = ODDS_SCALE * rate / (1.0 - rate) / _unit_off_places(rate, period, units, ext_class)
    return int(min(63, max(floor, round(-10.0 * math.log10(max(g, 1e-7))))))


def _unit_off_places(rate: float, period: int, units: int, ext_class: int | None = None) -> float:
    """The pair-HMM's odds of a read one unit off per unit of gap-open: 2 (L - p + 1) e^(p-1) (1 - e)
    (e of ``ext_class``, default the period's, as rate_to_phred)."""
    return _places(period, units, _EXT_VALUES[EXT_CLASS[period] if ext_class is None else ext_class] if rate > 0 else 0.1)


def _places(period: int, units: int, ext: float) -> float:
    """2 (L - p + 1) e^(p-1) (1 - e) for a tract of L = p units bases and gap continuation e."""
    return 2.0 * (period * units - period + 1) * ext ** (period - 1) * (1.0 - ext)


def stutter_code(rate: float, period: int, units: int, floor: int = PHRED_FLOOR, ext_class: int | None = None) -> int:
    """The slip code of a tract (0: none): where the gap-open the rate asks for lies below the floor,
    the per-position gap-open stays at the floor and the rest of the odds, ODDS_SCALE r / (1 - r)
    less what the floor gives, is the tract's one-unit slip, taken once per read at the tract
    (kernels/pairhmm.hpp): odds s / (1 - s) of a read one unit off for a slip s (either way). The
    code is the Phred of s (3 to 63)."""
    if not 0 < rate < 1:
        return 0
    target = ODDS_SCALE * rate / (1.0 - rate)
    places = _unit_off_places(rate, period, units, ext_class)
    if target / places <= 10.0 ** (-floor / 10.0):  # the floor does not bind: the gap-open says it all
        return 0
    residual = target - places * 10.0 ** (-floor / 10.0)
    return _phred_code(residual / (1.0 + residual))


def platform_phred_floor(platform: str) -> int:
    """The gap-open floor of a read group's @RG PL (PLATFORM_PHRED_FLOOR, else PHRED_FLOOR)."""
    from .cohort import normalise_platform

    return PLATFORM_PHRED_FLOOR.get(normalise_platform(platform), PHRED_FLOOR)


def period_codes(rates: Sequence[float], period: int, floor: int, gap_ext: Sequence[int] = ()
                 ) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A period's gap-open Phreds and slip codes (rate_to_phred, stutter_code) from its rates by
    length, _first_units(period)..MAX_UNITS units; ``gap_ext``: the learnt homopolymer gap
    continuation classes (ErrorModel.gap_ext; else the period's class)."""
    units = range(_first_units(period), MAX_UNITS + 1)
    ext_of = [gap_ext[u - 1] if period == 1 and gap_ext else None for u in units]
    gap = tuple(rate_to_phred(float(r), period, u, floor, e) for r, u, e in zip(rates, units, ext_of))
    slips = tuple(stutter_code(float(r), period, u, floor, e) for r, u, e in zip(rates, units, ext_of))
    return gap, slips


def _ext_values() -> tuple[float, ...]:
    try:
        from . import _core

        return tuple(_core.gap_ext_classes)
    except ImportError:  # pragma: no cover - the documented values
        return (0.1, 0.3, 0.5, 0.7)


_EXT_VALUES = _ext_values()


def homopolymer_ext_classes(k: np.ndarray, multi: np.ndarray, loci: np.ndarray) -> tuple[int, ...]:
    """Gap continuation class per homopolymer length (1-20) from the reads' slips: of the reads
    with a whole-unit indel in a homopolymer of u bases (k[u]), those off by 2+ bases (multi[u]).
    The pair-HMM's gap goes on with continuation e, so a slip is 2+ bases off with chance e: the
    share, shrunk towards that of all lengths (EXT_PRIOR_READS) and never falling with length, is
    put in the nearest class (_core.gap_ext_classes). () where every length gets the period's
    default class (as for reads whose slips are mostly one base: Illumina's and PCR stutter)."""
    ok = loci[1:] >= MIN_BIN_LOCI
    kk, mm = np.where(ok, k[1:], 0).astype(float), np.where(ok, multi[1:], 0).astype(float)
    if kk.sum() < MIN_EXT_READS:
        return ()
    pooled = mm.sum() / kk.sum()
    share = np.maximum.accumulate((mm + EXT_PRIOR_READS * pooled) / (kk + EXT_PRIOR_READS))
    values = np.array(_EXT_VALUES)
    classes = tuple(int(np.argmin(np.abs(values - e))) for e in share)
    return () if all(c == EXT_CLASS[1] for c in classes) else classes


def _monotone_shares(hits: np.ndarray, trials: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence of shares closest to hits / trials (weighted by trials: pool
    adjacent violators, the binomial maximum likelihood under the order)."""
    blocks: list[list[float]] = []  # [hits, trials, lengths]
    for h, t in zip(hits.astype(float), trials.astype(float)):
        blocks.append([h, t, 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] >= blocks[-1][0] * blocks[-2][1]:
            h2, t2, n2 = blocks.pop()
            blocks[-1][0] += h2
            blocks[-1][1] += t2
            blocks[-1][2] += n2
    return np.concatenate([np.full(int(b[2]), b[0] / b[1]) for b in blocks])


def _default_tract_share() -> float:
    """The share of a long tract's loci with a variant that the fixed long-read factor stands for
    (tract_prior_scales inverted at the default indel priors)."""
    odds = LONG_READ_TRACT_PRIOR_SCALE * TRACT_ALLELES * (CallOptions.indel_het_prior + CallOptions.indel_hom_prior)
    return odds / (1.0 + odds)


def tract_variant_shares(variant: np.ndarray, loci: np.ndarray) -> tuple[float, ...]:
    """Per homopolymer length LONG_TRACT_FIRST..MAX_UNITS bases, the share of the sample's loci that
    carry a real indel allele (``variant``: the loci count_repeat_indels left out as such; ``loci``:
    those it counted; both by units 0..20 of period 1), never falling with length and shrunk
    towards the fixed long-read factor's share; () where fewer than MIN_TRACT_LOCI loci were seen.
    Runs of MAX_UNITS bases or more (the table's last, open bin) take the share of the length
    before: an ONT read misreads them so often that errors pass for an allele there."""
    lengths = slice(LONG_TRACT_FIRST, MAX_UNITS)
    hits, seen = variant[lengths].astype(float), (variant[lengths] + loci[lengths]).astype(float)
    if seen.sum() < MIN_TRACT_LOCI:
        return ()
    prior = _default_tract_share()
    shares = _monotone_shares(hits + TRACT_PRIOR_LOCI * prior, seen + TRACT_PRIOR_LOCI)
    return tuple(round(float(x), 4) for x in np.append(shares, shares[-1]))


def tract_prior_scales(models: Sequence[ErrorModel], indel_het_prior: float, indel_hom_prior: float
                       ) -> tuple[float, ...]:
    """The factor on the indel priors by tract length in bases (CallOptions.long_tract_prior_scales:
    1 below LONG_TRACT_FIRST, the last entry for MAX_UNITS bases and more) from the models' learnt
    shares (their mean where there are several): the share's odds, split between TRACT_ALLELES
    alleles, against the genome-wide odds of an indel allele (het + hom), never below 1; () where no
    model learnt one."""
    learnt = [m.tract_variants for m in models if m.tract_variants]
    if not learnt:
        return ()
    share = np.minimum(np.mean(np.array(learnt), axis=0), 0.5)
    odds = share / (1.0 - share) / TRACT_ALLELES
    scales = np.maximum(1.0, odds / (indel_het_prior + indel_hom_prior))
    return (1.0,) * LONG_TRACT_FIRST + tuple(round(float(x), 2) for x in scales)


def fit_counts(read_group: str, sample: str, platform: str, k: np.ndarray, n: np.ndarray,
               loci: np.ndarray, multi: np.ndarray | None = None, loss: np.ndarray | None = None,
               variant: np.ndarray | None = None) -> ErrorModel:
    """A model from count tables ``[period 0..8][units 0..20]`` (as ``_core.count_repeat_indels``;
    ``multi``: of the indel reads, those off by 2+ units, for the homopolymer gap continuation;
    ``loss``: those that lost units, for the slips' direction; ``variant``: loci left out as real
    alleles, for the tract prior)."""
    data, learnt, borrowed, default = {}, [], [], []
    for p in range(1, MAX_PERIOD + 1):
        u0 = _first_units(p)
        if loci[p, u0:].sum() >= MIN_LOCI and n[p, u0:].sum() >= MIN_READS:
            data[p] = (k[p, u0:], n[p, u0:], np.arange(u0, MAX_UNITS + 1), loci[p, u0:])
    from .cohort import normalise_platform

    floor = platform_phred_floor(platform)
    # Past the lengths it was fitted on, short reads' line goes on only up to the highest rate
    # counted (PCR stutter, which may dominate their long tracts, levels off); long-read libraries
    # (PCR-free) carry it on to the cap: their whole-unit counts miss most of a long tract's errors
    # (reads with other indels near it are not counted), and on the real ONT slice homopolymers
    # stopped short of the line's codes (lookup_unit) gained 3 false indels.
    extrapolate = normalise_platform(platform) in LINE_PAST_COUNTS
    gap_open: dict[int, tuple[int, ...]] = {}
    rates: dict[int, tuple[float, ...]] = {}
    gap_ext = homopolymer_ext_classes(k[1], multi[1], loci[1]) if multi is not None and 1 in data else ()
    stutter: dict[int, tuple[int, ...]] = {}
    if data:
        curves = _fit_periods(data, borrow_slope=not extrapolate)
        ceiling = 0.5 if extrapolate else _stutter_ceiling(data)
        for p in range(1, MAX_PERIOD + 1):
            units = np.arange(_first_units(p), MAX_UNITS + 1)
            if p in data:
                a, slope, reach = curves[p]
                learnt.append(p)
            elif p > min(data):  # a longer period than any counted: the curve of the longest below
                a, slope, reach = curves[max(q for q in data if q < p)]
                borrowed.append(p)
            else:
                default.append(p)
                continue
            # past the lengths counted, at most the ceiling (and not below the line's value there):
            # on the stutter sets of simulate_set.py, whose reads are a unit off in at most 20 %,
            # the line alone, fitted on tetranucleotides of up to 5-6 units with the slope
            # homopolymers set, reached 0.5 from 7 units
            fit = np.minimum(10.0 ** (a + slope * units * p), 0.5)
            past = min(10.0 ** (a + slope * reach), 0.5)
            fit = np.where(units * p > reach, np.minimum(fit, max(ceiling, past)), fit)
            kp, np_ = (data[p][0], data[p][1]) if p in data else (np.zeros_like(units), np.zeros_like(units))
            few = (data[p][3] if p in data else np.zeros_like(units)) < MIN_BIN_LOCI
            kp, np_ = np.where(few, 0, kp), np.where(few, 0, np_)  # lengths seen at one or two loci: the curve
            est = np.maximum.accumulate((kp + PRIOR_READS * fit) / (np_ + PRIOR_READS))  # no fewer errors if longer
            rates[p] = tuple(float(x) for x in est)
            gap_open[p], slips = period_codes(rates[p], p, floor, gap_ext)
            if extrapolate:  # the line where the counts are too few keeps the floor's cap: no slip rests on it alone
                counted = (data[p][1] >= MIN_BIN_READS) & ~few if p in data else np.zeros(len(units), dtype=bool)
                slips = [c if ok else 0 for c, ok in zip(slips, counted)]
            stutter[p] = tuple(slips)
    if not learnt:
        fit = f"default: fewer than {MIN_LOCI} tandem-repeat loci or {MIN_READS} reads per period"
        default = list(range(1, MAX_PERIOD + 1))
    else:
        fit = f"learnt for periods {','.join(map(str, learnt))}"
        if borrowed:
            fit += f"; {','.join(map(str, borrowed))} from the curve of {max(learnt)}"
        if default:
            fit += f"; default for {','.join(map(str, default))}"
        if borrowed or default:
            fit += f" (fewer than {MIN_LOCI} loci or {MIN_READS} reads)"
    if gap_ext:
        fit += "; homopolymer gap continuation learnt"
    tract_variants = tract_variant_shares(variant[1], loci[1]) if variant is not None else ()
    if tract_variants:
        fit += "; tract prior learnt"
    stutter = {p: v for p, v in stutter.items() if any(v)}
    return ErrorModel(read_group, sample, platform, int(loci[1:, 1:].sum()), int(n[1:, 1:].sum()), fit,
                      gap_open, rates, stutter, _loss_share(stutter, k, loss), gap_ext, tract_variants)


def _stutter_ceiling(data: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> float:
    """The highest rate of reads with a whole-unit indel at any length counted at MIN_BIN_LOCI
    loci with MIN_BIN_READS reads, of any period: where PCR stutter levels off for a sample whose
    long homopolymers (the tracts it holds most of) reach it (``data`` as _fit_periods')."""
    top = 0.0
    for k, n, _units, loci in data.values():
        sel = (n >= MIN_BIN_READS) & (loci >= MIN_BIN_LOCI)
        if sel.any():
            top = max(top, float((k[sel] / n[sel]).max()))
    return top


def _loss_share(stutter: dict[int, tuple[int, ...]], k: np.ndarray, loss: np.ndarray | None) -> float:
    """The share of slips that lose a unit, counted at the tract lengths that have slips (PCR stutter
    mostly loses: 70 % in simulate_set.py, more in real libraries), with 5 reads each way as prior;
    one half where no length has slips or no losses were counted."""
    if loss is None or not stutter:
        return 0.5
    lost = slipped = 0
    for p, vals in stutter.items():
        for u, v in zip(range(_first_units(p), MAX_UNITS + 1), vals):
            if v:
                lost += int(loss[p, u])
                slipped += int(k[p, u])
    return round((lost + 5.0) / (slipped + 10.0), 2)


def learn_error_model(bams: str | Path | Sequence[str | Path], ref: str | Path,
                      regions: Sequence[Region], *, min_mq: int = 20, threads: int = 1,
                      sample_bp: int = SAMPLE_BP, platform: str = "") -> list[ErrorModel]:
    """One model per read group of each BAM/CRAM, learnt from the reads over a sample of
    ``regions`` (``sample_bp`` bases spread evenly over them). ``platform`` (ILLUMINA, PACBIO,
    ONT) stands for every read group's @RG PL."""
    from . import _core

    paths = [bams] if isinstance(bams, (str, Path)) else list(bams)
    chunks = sample_chunks(regions, sample_bp)
    out = []
    for bam in paths:
        c = _core.count_repeat_indels(str(bam), str(ref), chunks, min_mq, max(0, threads - 1))
        for g, rg in enumerate(c["read_groups"]):
            out.append(fit_counts(rg, c["samples"][g], platform or c["platforms"][g], c["indel"][g], c["total"][g],
                                  c["loci"][g], c["multi"][g], c["loss"][g], c["variant"][g]))
    return out


def write_error_model(path: str | Path, models: Iterable[ErrorModel]) -> Path:
    """The models as their VCF header lines, one per line (what ``--error-model`` reads); written
    to a temporary name and renamed when complete ('-': standard output)."""
    from .sink import stdout_sink, write_whole

    text = "".join(m.header_line() + "\n" for m in models).encode()
    if str(path) == "-":
        out = stdout_sink()
        out.write(text)
        out.close()
        return Path("/dev/stdout")
    write_whole(path, text)
    return Path(path)


_LINE = re.compile(r'^##' + HEADER_KEY + r'=<(.*)>\s*$')
_FIELD = re.compile(r'(\w+)=("[^"]*"|[^,]*)(?:,|$)')


def parse_header_line(line: str, where: str = "") -> ErrorModel:
    """An ErrorModel from its ``##gmscallErrorModel=<...>`` line."""
    m = _LINE.match(line.strip())
    if not m:
        raise InputError(f"{where}not a ##{HEADER_KEY}=<...> line: {line.strip()[:80]!r}")
    fields = {f.group(1): f.group(2).strip('"') for f in _FIELD.finditer(m.group(1))}
    try:
        version = int(fields.get("Version", "1"))
        if not 1 <= version <= FORMAT_VERSION:
            raise ValueError(f"version {version}: this gmscall reads versions 1-{FORMAT_VERSION}")
        gap_open = _parse_periods(fields.get("GapOpen", ""), 1)
        gap_ext: tuple[int, ...] = ()
        if fields.get("GapExt"):
            name, _, values = fields["GapExt"].partition(":")
            gap_ext = tuple(int(v) for v in values.split(","))
            if name != "P1" or len(gap_ext) != MAX_UNITS or not all(0 <= v < len(_EXT_VALUES) for v in gap_ext):
                raise ValueError(f"GapExt: P1 and {MAX_UNITS} classes in [0, {len(_EXT_VALUES) - 1}] expected")
        tract_variants: tuple[float, ...] = ()
        if fields.get("TractVariants"):
            name, _, values = fields["TractVariants"].partition(":")
            tract_variants = tuple(float(v) for v in values.split(","))
            if name != "P1" or len(tract_variants) != MAX_UNITS - LONG_TRACT_FIRST + 1 or \
                    not all(0.0 <= v <= 1.0 for v in tract_variants):
                raise ValueError(f"TractVariants: P1 and {MAX_UNITS - LONG_TRACT_FIRST + 1} shares in [0, 1] expected")
        stutter = _parse_periods(fields.get("Stutter", ""), 0) if version >= 2 else {}
        loss = float(fields.get("StutterLoss", "0.5")) if version >= 2 else 0.5
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"StutterLoss {loss} outside [0, 1]")
        rg, sm, pl = (fields.get(k, "-") for k in ("ReadGroup", "Sample", "Platform"))
        return ErrorModel("" if rg == "-" else rg, "" if sm == "-" else sm, "" if pl == "-" else pl,
                          int(fields.get("Loci", "0")), int(fields.get("Reads", "0")), fields.get("Fit", ""),
                          gap_open, stutter={p: v for p, v in stutter.items() if any(v)}, stutter_loss=loss,
                          gap_ext=gap_ext, tract_variants=tract_variants)
    except ValueError as e:
        raise InputError(f"{where}bad ##{HEADER_KEY} line ({e}): {line.strip()[:80]!r}") from None


def _parse_periods(text: str, lowest: int) -> dict[int, tuple[int, ...]]:
    """``P1:a,b,..;P2:..`` -> {period: values}, each value in [lowest, 63]."""
    out: dict[int, tuple[int, ...]] = {}
    for part in filter(None, text.split(";")):
        name, _, values = part.partition(":")
        if not re.fullmatch(r"P[1-8]", name):
            raise ValueError(f"period {name!r}")
        p = int(name[1:])
        vals = tuple(int(v) for v in values.split(","))
        if len(vals) != MAX_UNITS - _first_units(p) + 1 or not all(lowest <= v <= 63 for v in vals):
            raise ValueError(f"{name}: {MAX_UNITS - _first_units(p) + 1} Phred values in [{lowest}, 63] expected")
        out[p] = vals
    return out


def read_error_model(path: str | Path) -> list[ErrorModel]:
    """The models of a file written by ``write_error_model`` / ``gmscall model`` (or the header
    of a VCF gmscall wrote: its ``##gmscallErrorModel`` lines)."""
    import gzip

    p = Path(path)
    try:
        with open(p, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
        lines = []
        with (gzip.open(p, "rt") if gz else open(p)) as fh:
            for k, line in enumerate(fh, 1):
                if line.startswith(f"##{HEADER_KEY}="):
                    lines.append((k, line))
                elif line.startswith("#CHROM") or not (line.startswith("#") or not line.strip()):
                    break
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InputError(f"{path}: cannot read the error model ({getattr(e, 'strerror', None) or e})") from None
    if not lines:
        raise InputError(f"{path}: no ##{HEADER_KEY} line: write one with 'gmscall model BAM -f REF -o FILE'")
    return [parse_header_line(line, f"{path}, line {k}: ") for k, line in lines]


def _models_by_sample(models: Sequence[ErrorModel], samples: Sequence[str]) -> dict[str, list[ErrorModel]]:
    """The models of each sample's read groups; a single sample and models of one other sample (a
    model file from another run of the same library): those models."""
    by_sample: dict[str, list[ErrorModel]] = {}
    for m in models:
        by_sample.setdefault(m.sample, []).append(m)
    if len(samples) == 1 and samples[0] not in by_sample and len(by_sample) == 1:
        by_sample = {samples[0]: next(iter(by_sample.values()))}
    return by_sample


def sample_tables(models: Sequence[ErrorModel], samples: Sequence[str], gap_open_max: int, gap_open_min: int,
                  gap_open_slope: float) -> tuple[tuple[int, ...], ...]:
    """Per VCF column, the gap code table of its sample's read groups (reads-weighted mean Phred
    where a sample has several; an empty tuple keeps the default). A single sample and models of
    one other sample (a model file from another run of the same library): that model."""
    by_sample = _models_by_sample(models, samples)
    out = []
    for s in samples:
        group = [m for m in by_sample.get(s, []) if m.gap_open]
        if not group:
            out.append(())
            continue
        if len(group) == 1:
            m = group[0]
        else:
            gap_open = {}
            for p in set().union(*(g.gap_open for g in group)):
                have = [g for g in group if p in g.gap_open]
                w = np.array([max(1, g.reads) for g in have], dtype=float)
                vals = np.array([g.gap_open[p] for g in have], dtype=float)
                gap_open[p] = tuple(round(float(x)) for x in (w[:, None] * vals).sum(0) / w.sum())
            stutter = {}
            w = np.array([max(1, g.reads) for g in group], dtype=float)
            for p in set().union(*(g.stutter for g in group)):  # reads-weighted mean slip probability (none: 0)
                probs = np.array([[10.0 ** (-v / 10.0) if v else 0.0 for v in g.stutter.get(p, (0,) * 21)[
                    :MAX_UNITS - _first_units(p) + 1]] for g in group])
                stutter[p] = tuple(_phred_code(x) for x in (w[:, None] * probs).sum(0) / w.sum())
            loss = float((w * np.array([g.stutter_loss for g in group])).sum() / w.sum())
            gap_ext: tuple[int, ...] = ()
            if any(g.gap_ext for g in group):
                cls = np.array([g.gap_ext or (EXT_CLASS[1],) * MAX_UNITS for g in group], dtype=float)
                gap_ext = tuple(round(float(x)) for x in (w[:, None] * cls).sum(0) / w.sum())
            m = ErrorModel("", s, "", 0, 0, "pooled", gap_open, stutter=stutter, stutter_loss=loss, gap_ext=gap_ext)
        out.append(tuple(m.table(gap_open_max, gap_open_min, gap_open_slope)))
    return tuple(out)


def _expressed_rates(model: ErrorModel) -> dict[int, tuple[float, ...]]:
    """Per learnt period, by length in units, the rate of reads with a whole-unit indel that the
    model's gap-open Phred stands for (rate_to_phred undone): the learnt rate where the Phred
    was not clipped, lower where the floor clipped it and the tract has no slip (the pair-HMM then
    weighs a read one unit off as that lower rate says, and so does the screen); a slip s adds its
    odds s / (1 - s). A model read from a file gives the same."""
    out = {}
    for p, phreds in model.gap_open.items():
        rates = []
        slips = model.stutter.get(p, (0,) * len(phreds))
        for units, q, v in zip(range(_first_units(p), MAX_UNITS + 1), phreds, slips):
            odds = 10.0 ** (-q / 10.0) * _places(p, units, _EXT_VALUES[model.ext_class(p, units)])
            if v:
                slip = 10.0 ** (-v / 10.0)
                odds += slip / (1.0 - slip)
            x = odds / ODDS_SCALE
            rates.append(x / (1.0 + x))
        out[p] = tuple(rates)
    return out


def allele_error_tables(models: Sequence[ErrorModel], samples: Sequence[str]) -> tuple[tuple[float, ...], ...]:
    """Per VCF column, the indel screen's table (csrc: CallParams::allele_error_tables, 9 x 21 by
    [period][units]): the probability that a read shows one given one-unit indel of a tract where
    its haplotype has none. The pair-HMM is set so that its odds of a read one unit off, either way,
    are ODDS_SCALE r / (1 - r) (rate_to_phred); one way is half of that. 0 where the model has no
    rate (a period it did not learn); an empty tuple for a sample without a model (several read
    groups: the reads-weighted mean rate)."""
    by_sample = _models_by_sample(models, samples)
    out = []
    for s in samples:
        group = [(max(1, m.reads), _expressed_rates(m)) for m in by_sample.get(s, [])]
        group = [(w, r) for w, r in group if r]
        if not group:
            out.append(())
            continue
        table = [0.0] * ((MAX_PERIOD + 1) * (MAX_UNITS + 1))
        for p in range(1, MAX_PERIOD + 1):
            have = [(w, r[p]) for w, r in group if p in r]
            if not have:
                continue
            total = sum(w for w, _ in have)
            for j, units in enumerate(range(_first_units(p), MAX_UNITS + 1)):
                rate = sum(w * r[j] for w, r in have) / total
                odds = ODDS_SCALE * rate / (1.0 - rate) / 2.0 if rate < 1.0 else 1.0
                table[p * (MAX_UNITS + 1) + units] = odds / (1.0 + odds)
        out.append(tuple(table))
    return tuple(out)
