"""The samples of a run: VCF columns from the BAMs' read groups, their sexes and ploidy, and the
trios of a pedigree. Fixed before calling starts; each shard turns it into a `_core.Cohort`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from . import _core
from .errors import InputError
from .family import PloidyMap, infer_sex, parse_sex_overrides, read_ped, resolve_sexes

log = logging.getLogger("gmscall")


@dataclass(frozen=True)
class CohortSpec:
    """VCF columns (command-line order of the BAMs, then read-group order; a name seen twice is one
    column whose reads are pooled), per-BAM column maps, sexes, the ploidy map and the trios."""

    samples: tuple[str, ...]
    bam_columns: tuple[tuple[int, ...], ...]
    ploidy: PloidyMap = field(default_factory=PloidyMap.default)
    sexes: tuple[tuple[str | None, str], ...] = ()  # (sex, why) per column, when a ploidy map is in use
    trios: tuple[tuple[int, int, int], ...] = ()
    pedigree: str | None = None

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def has_ploidy(self) -> bool:
        return bool(self.sexes)

    def core(self, contig: str, start: int, end: int) -> _core.Cohort:
        """The C++ view for one shard: ploidy intervals of each column over [start, end)."""
        ploidy = []
        if self.has_ploidy:
            ploidy = [self.ploidy.intervals(contig, start, end, sex) for sex, _ in self.sexes]
        return _core.Cohort(self.n_samples, [list(c) for c in self.bam_columns], ploidy,
                            [list(t) for t in self.trios])

    def header_lines(self) -> list[str]:
        lines = []
        if self.has_ploidy:
            lines.append(f"##gmscallPloidy={self.ploidy.source}")
            for name, (sex, why) in zip(self.samples, self.sexes):
                lines.append(f'##gmscallSex=<ID={name},Sex={sex or "unknown"},Source="{_quote(why)}">')
        if self.pedigree is not None:
            lines.append(f"##gmscallPedigree={self.pedigree}")
            for child, father, mother in self.trios:
                s = self.samples
                lines.append(f"##gmscallTrio=<Child={s[child]},Father={s[father]},Mother={s[mother]}>")
        return lines


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def sample_columns(bam_samples: Sequence[Sequence[str]], bams: Sequence[str],
                   override: str | None) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
    """VCF column names and, per BAM, the column of each of its samples."""
    if override is not None:
        if len(bams) != 1 or len(bam_samples[0]) > 1:
            raise InputError("--sample names the sample of a single one-sample BAM; with several samples, "
                             "name them in the read groups (@RG SM)")
        return (override,), ((0,),)
    names: list[str] = []
    columns: list[tuple[int, ...]] = []
    for bam, found in zip(bams, bam_samples):
        if not found:
            raise InputError(f"{bam}: no read group with a sample name (@RG SM); add one with "
                             "'samtools addreplacerg -r ID:1 -r SM:NAME'" +
                             (" or name the sample with --sample" if len(bams) == 1 else ""))
        cols = []
        for sm in found:
            if sm not in names:
                names.append(sm)
            cols.append(names.index(sm))
        columns.append(tuple(cols))
    for name, count in _repeats(bam_samples).items():
        log.info("sample %s is in %d input files: their reads are pooled into one column", name, count)
    return tuple(names), tuple(columns)


def _repeats(bam_samples: Sequence[Sequence[str]]) -> dict[str, int]:
    seen: dict[str, int] = {}
    for found in bam_samples:
        for sm in found:
            seen[sm] = seen.get(sm, 0) + 1
    return {k: v for k, v in seen.items() if v > 1}


def build_cohort(session: _core.Session, bams: Sequence[str],
                 sample: str | None = None, ped: str | None = None, ploidy: str | None = None,
                 sex: Mapping[str, str] | Sequence[str] | None = None) -> CohortSpec:
    """Columns from the BAM headers; with `ped`, the trios; with `ploidy` (GRCh37, GRCh38 or a
    bcftools ploidy file), each sample's sex from `sex` (SAMPLE=M|F or a dict), the PED, or the
    X/Y depth, in that order."""
    bam_samples = [session.samples(k) for k in range(len(bams))]
    names, columns = sample_columns(bam_samples, bams, sample)
    pedigree = read_ped(ped) if ped is not None else None
    trios: tuple[tuple[int, int, int], ...] = ()
    if pedigree is not None:
        pedigree.check_samples(names)
        trios = tuple(tuple(t) for t in pedigree.trios(names))  # type: ignore[misc]
        log.info("pedigree %s: %d trio(s) among the %d samples", ped, len(trios), len(names))
    pairs = [f"{k}={v}" for k, v in sex.items()] if isinstance(sex, Mapping) else list(sex or ())
    overrides = parse_sex_overrides(pairs, names)  # validated and normalised (m -> M) either way
    if ploidy is None:
        if overrides:
            raise InputError("--sex sets the ploidy of the sex chromosomes: give --ploidy GRCh38|GRCh37|FILE too")
        return CohortSpec(names, columns, trios=trios, pedigree=ped)
    ploidy_map = PloidyMap.from_option(ploidy)
    inferred = {}
    for k, bam in enumerate(bams):
        for sm in bam_samples[k] or [sample or ""]:
            name = sample or sm
            if name not in overrides and (pedigree is None or pedigree.sex_of(name) is None):
                inferred[name] = infer_sex(bam, session.bam_contigs(k), samples_in_bam=max(1, len(bam_samples[k])))
    sexes = resolve_sexes(names, pedigree, overrides, inferred)
    for name in names:
        log.info("sex of %s: %s (%s)", name, sexes[name][0] or "unknown", sexes[name][1])
    return CohortSpec(names, columns, ploidy_map, tuple(sexes[n] for n in names), trios, ped)


PLATFORMS = ("ILLUMINA", "PACBIO", "ONT")
_PLATFORM_CODES = {"": 0, "ILLUMINA": 1, "PACBIO": 2, "ONT": 3}  # gmscall/caller.hpp's Platform
_PLATFORM_ALIASES = {"ILLUMINA": "ILLUMINA", "PACBIO": "PACBIO", "HIFI": "PACBIO", "ONT": "ONT",
                     "NANOPORE": "ONT", "OXFORDNANOPORE": "ONT"}


def normalise_platform(pl: str | None) -> str:
    """An @RG PL value as ILLUMINA, PACBIO or ONT ('' for any other or none; SAM spells Oxford
    Nanopore ONT, older files NANOPORE)."""
    return _PLATFORM_ALIASES.get("".join(ch for ch in (pl or "").upper() if ch.isalnum()), "")


def platform_code(pl: str) -> int:
    return _PLATFORM_CODES[normalise_platform(pl)]


def sample_platforms(bams: Sequence[str], cohort: CohortSpec, sample: str | None = None,
                     platform: str = "", ref: str | None = None) -> tuple[str, ...]:
    """Per VCF column, its platform: ``platform`` (--platform) for all, else its read groups' @RG
    PL where they agree ('' where they do not, or none is given: the defaults)."""
    if platform:
        p = normalise_platform(platform)
        if not p:
            raise InputError(f"--platform {platform!r}: one of {', '.join(PLATFORMS)} expected")
        return (p,) * cohort.n_samples
    import pysam

    seen: dict[str, set[str]] = {}
    for bam in bams:
        try:
            with pysam.AlignmentFile(bam, reference_filename=ref) as f:
                header = f.header.to_dict()
        except (OSError, ValueError):
            continue  # unreadable headers were reported by the preflight; no platform then
        for rg in header.get("RG", []):
            name = sample or rg.get("SM", "")
            seen.setdefault(name, set()).add(normalise_platform(rg.get("PL")))
    out = []
    for name in cohort.samples:
        pls = seen.get(name, {""})
        out.append(next(iter(pls)) if len(pls) == 1 else "")
    return tuple(out)
