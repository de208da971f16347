"""Pedigree (PED files), sex and ploidy (bcftools-style ``--ploidy``) for multi-sample calling.

Three independent pieces, all pure Python and cheap:

* ``read_ped`` parses a PLINK/GATK 6-column PED file into a ``Pedigree``, which names the trios
  among the called samples and checks that the PED's names match the BAMs' sample names.
* ``PloidyMap`` says, per contig interval and sex, how many copies to call (0, 1 or 2): built in
  for GRCh37/GRCh38, or read from a bcftools ``--ploidy`` file.
* ``infer_sex`` guesses a sample's sex from the BAM index's per-contig read counts, and
  ``resolve_sexes`` settles each sample's sex from ``--sex``, the PED and that guess, in that order.

Coordinates are 0-based half-open inside, as in ``gmscall.regions``; files use their own convention.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pysam

from .errors import InputError

__all__ = [
    "Individual",
    "Pedigree",
    "PloidyMap",
    "PloidyRule",
    "infer_sex",
    "parse_sex_overrides",
    "read_ped",
    "resolve_sexes",
]

SEXES = ("M", "F")
_SEX_WORD = {"M": "male", "F": "female"}


def _names(names: Sequence[str], limit: int = 10) -> str:
    """'A, B, C' for messages; long lists are cut so that an error stays one readable line."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def _read_text(path: str | Path, what: str) -> str:
    from .errors import text_of

    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{what} {path}: cannot read it ({e.strerror})") from None
    return text_of(data, f"{what} {path}")


def _content_lines(text: str) -> Iterable[tuple[int, str]]:
    """(1-based line number, line) of lines that are neither blank nor '#' comments."""
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield lineno, stripped


# --------------------------------------------------------------------------------------------
# pedigree

# PED column 5. PLINK writes -9 (its general missing code) as well as 0 for an unknown sex.
_PED_SEX = {"1": "M", "2": "F", "0": None, "-9": None}


@dataclass(frozen=True)
class Individual:
    """One line of a PED file."""

    id: str
    family: str
    father: str | None  # None: '0', unknown
    mother: str | None
    sex: str | None  # 'M', 'F' or None, as coded on the line (a parent's role is not applied here)
    line: int


@dataclass(frozen=True)
class Pedigree:
    """The individuals of a PED file in file order. Parents named only in another individual's
    columns (no line of their own) are not individuals here, but still count as parents."""

    path: str
    individuals: tuple[Individual, ...]

    def _by_id(self) -> dict[str, Individual]:
        return {ind.id: ind for ind in self.individuals}

    def individual(self, name: str) -> Individual | None:
        return self._by_id().get(name)

    def trios(self, samples: Sequence[str]) -> list[tuple[int, int, int]]:
        """(child, father, mother) indices into ``samples`` for each sample whose two parents are
        samples too, in ``samples`` order of the child."""
        index = {name: k for k, name in enumerate(samples)}
        found = []
        for ind in self.individuals:
            if ind.id in index and ind.father in index and ind.mother in index:
                found.append((index[ind.id], index[ind.father], index[ind.mother]))
        return sorted(found)

    def check_samples(self, samples: Sequence[str], path: str | None = None) -> None:
        """Raise InputError when the PED's names do not match the samples being called.

        The PED must name at least one sample, and an individual that has a PED line and is a
        parent or a child of a sample must itself be a sample: otherwise the PED most likely uses
        other names than the @RG SM tags (a missing relative would silently drop a trio). Samples
        absent from the PED are fine: they are called without a pedigree prior."""
        where = path if path is not None else self.path
        sample_set = set(samples)
        named = {ind.id for ind in self.individuals}
        named |= {p for ind in self.individuals for p in (ind.father, ind.mother) if p}
        if not named & sample_set:
            raise InputError(f"PED {where} names none of the samples ({_names(samples)}); the PED's names "
                             "must match the @RG SM names (or --sample)")
        parents_of_samples = {p for ind in self.individuals if ind.id in sample_set
                              for p in (ind.father, ind.mother) if p}
        for ind in self.individuals:
            if ind.id in sample_set:
                continue
            if ind.id in parents_of_samples or ind.father in sample_set or ind.mother in sample_set:
                raise InputError(f"PED {where}:{ind.line}: sample {ind.id} is not among the BAMs' samples "
                                 f"({_names(samples)}); the PED's names must match the @RG SM names "
                                 "(or --sample); drop the individual from the PED if it was not sequenced")

    def sex_of(self, sample: str) -> str | None:
        return self.sex_with_reason(sample)[0]

    def sex_with_reason(self, sample: str) -> tuple[str | None, str]:
        """('M'/'F'/None, where the PED says so). A father is male and a mother female when the
        sex column says 0 (PLINK's own rule; read_ped rejected contradicting codes)."""
        ind = self.individual(sample)
        if ind is not None and ind.sex is not None:
            return ind.sex, f"PED {self.path} line {ind.line}"
        for child in self.individuals:
            if sample in (child.father, child.mother):
                sex, role = ("M", "father") if child.father == sample else ("F", "mother")
                return sex, f"PED {self.path} line {child.line}: {role} of {child.id}"
        return None, f"PED {self.path} gives no sex"


def read_ped(path: str | Path) -> Pedigree:
    """Parse a PLINK/GATK PED file: FamilyID IndividualID PaternalID MaternalID Sex Phenotype,
    whitespace separated; further columns (PLINK genotypes) are ignored."""
    path = str(path)
    individuals: list[Individual] = []
    first_line: dict[str, int] = {}
    for lineno, line in _content_lines(_read_text(path, "PED")):
        ind = _parse_ped_line(path, lineno, line)
        if ind.id in first_line:
            raise InputError(f"PED {path}:{lineno}: individual {ind.id} is listed twice (first on line "
                             f"{first_line[ind.id]}); give each individual one line")
        first_line[ind.id] = lineno
        individuals.append(ind)
    if not individuals:
        raise InputError(f"PED {path}: no individuals (only blank or '#' lines)")
    _check_parent_sexes(path, individuals)
    _check_no_cycle(path, individuals)
    return Pedigree(path, tuple(individuals))


def _parse_ped_line(path: str, lineno: int, line: str) -> Individual:
    fields = line.split()
    if len(fields) < 6:
        raise InputError(f"PED {path}:{lineno}: a PED line needs 6 columns (FamilyID IndividualID PaternalID "
                         f"MaternalID Sex Phenotype), got {len(fields)}")
    family, ind_id, father, mother, sex_code = fields[:5]
    if sex_code not in _PED_SEX:
        raise InputError(f"PED {path}:{lineno}: sex code '{sex_code}' of {ind_id} is not 1 (male), "
                         "2 (female) or 0/-9 (unknown)")
    for role, parent in (("father", father), ("mother", mother)):
        if parent == ind_id:
            raise InputError(f"PED {path}:{lineno}: individual {ind_id} is its own {role}; fix the "
                             "parent columns (0 = unknown)")
    if father == mother != "0":
        raise InputError(f"PED {path}:{lineno}: {father} is both father and mother of {ind_id}")
    return Individual(ind_id, family, None if father == "0" else father,
                      None if mother == "0" else mother, _PED_SEX[sex_code], lineno)


def _check_parent_sexes(path: str, individuals: Sequence[Individual]) -> None:
    """A father coded female, a mother coded male, or one person in both roles is a PED error
    (usually swapped columns), and it would give a parent the wrong X ploidy."""
    by_id = {ind.id: ind for ind in individuals}
    role_of: dict[str, tuple[str, Individual]] = {}
    for child in individuals:
        for role, parent, wrong in (("father", child.father, "F"), ("mother", child.mother, "M")):
            if parent is None:
                continue
            listed = by_id.get(parent)
            if listed is not None and listed.sex == wrong:
                raise InputError(f"PED {path}:{child.line}: {role} of {child.id} is {parent}, whose sex is "
                                 f"{_SEX_WORD[wrong]} on line {listed.line}; fix the sex or swap the parent "
                                 "columns")
            earlier = role_of.setdefault(parent, (role, child))
            if earlier[0] != role:
                raise InputError(f"PED {path}:{child.line}: {parent} is the {role} of {child.id} but the "
                                 f"{earlier[0]} of {earlier[1].id} on line {earlier[1].line}")


def _check_no_cycle(path: str, individuals: Sequence[Individual]) -> None:
    """Depth-first search over child -> parent edges; an individual met again on the current path
    is its own ancestor."""
    by_id = {ind.id: ind for ind in individuals}
    done: set[str] = set()
    for root in individuals:
        if root.id in done:
            continue
        trail: list[str] = []
        on_trail: set[str] = set()
        stack: list[tuple[str, bool]] = [(root.id, False)]
        while stack:
            name, leaving = stack.pop()
            if leaving:
                trail.pop()
                on_trail.discard(name)
                done.add(name)
                continue
            if name in on_trail:
                cycle = trail[trail.index(name):] + [name]
                raise InputError(f"PED {path}:{by_id[name].line}: the ancestry is a cycle "
                                 f"({' -> '.join(cycle)}, child -> parent); fix the parent columns")
            if name in done or name not in by_id:
                continue
            trail.append(name)
            on_trail.add(name)
            stack.append((name, True))
            ind = by_id[name]
            stack.extend((p, False) for p in (ind.mother, ind.father) if p)


# --------------------------------------------------------------------------------------------
# ploidy

_PLOIDY_FORMAT = "CHROM FROM TO SEX PLOIDY (1-based inclusive FROM/TO; SEX M, F or *; PLOIDY 0, 1 or 2)"

# Built-in ploidy tables, in the bcftools --ploidy file format. They follow bcftools call's own
# GRCh37/GRCh38 presets (vcfcall.c, ploidy_predefs) with two deliberate differences:
#  * the chrX boundaries are the GRC's PAR coordinates exactly. GRCh38 PAR1 is chrX:10,001-2,781,479
#    and PAR2 chrX:155,701,383-156,030,895, so males are haploid on 1-10,000 and
#    2,781,480-155,701,382; bcftools stops one base short of each PAR (9,999 and 155,701,381).
#    GRCh37 PAR1 X:60,001-2,699,520 and PAR2 X:154,931,044-155,260,560 agree with bcftools.
#    The 10 kb past PAR2 (X-specific, but N in both assemblies) is left diploid, as in bcftools.
#  * chrM is haploid for every sex (SEX '*'), so that samples of unknown sex get it too;
#    bcftools lists M and F separately. GRCh37 covers hg19's 16,571-bp chrM as well as rCRS MT.
# chrY (whole length, PARs included, as in bcftools) is haploid in males and absent in females.
# Each line names the 'chr' style only: both naming styles match (see _canonical_contig).
_BUILTIN_TABLES = {
    "GRCh38": """\
chrX 1 10000 M 1
chrX 2781480 155701382 M 1
chrY 1 57227415 M 1
chrY 1 57227415 F 0
chrM 1 16569 * 1
""",
    "GRCh37": """\
chrX 1 60000 M 1
chrX 2699521 154931043 M 1
chrY 1 59373566 M 1
chrY 1 59373566 F 0
chrM 1 16571 * 1
""",
}


def _canonical_contig(name: str) -> str:
    """'chrX' and 'X' name the same contig, and so do chrM, M, MT and chrMT."""
    bare = name.removeprefix("chr")
    return "MT" if bare == "M" else bare


@dataclass(frozen=True)
class PloidyRule:
    """One region line of a ploidy file, 0-based half-open, contig in canonical form."""

    contig: str
    start: int
    end: int
    sex: str  # 'M', 'F' or '*' (every sex, and samples of unknown sex)
    ploidy: int
    line: int


@dataclass(frozen=True)
class PloidyMap:
    """Ploidy by contig interval and sex.

    A rule for the sample's own sex beats a '*' rule over the same bases; between rules of the same
    kind, the later line wins. Bases that no rule covers get the sex's default (a '* * * SEX
    PLOIDY' line), else the '* * * * PLOIDY' default, else 2. A sample of unknown sex (None)
    follows the '*' rules and default only."""

    source: str
    rules: tuple[PloidyRule, ...] = ()
    defaults: tuple[tuple[str, int], ...] = ()  # (sex or '*', ploidy); later pairs win

    @classmethod
    def default(cls) -> PloidyMap:
        """Diploid everywhere: what gmscall does without --ploidy."""
        return cls("diploid everywhere (no --ploidy)")

    @classmethod
    def builtin(cls, name: str) -> PloidyMap:
        for known, table in _BUILTIN_TABLES.items():
            if name.lower() == known.lower():
                return cls.parse(table, f"{known} (built in)")
        raise InputError(f"--ploidy {name}: not a built-in ploidy table; choose one of "
                         f"{', '.join(_BUILTIN_TABLES)} or give a file of {_PLOIDY_FORMAT}")

    @classmethod
    def from_option(cls, value: str | None) -> PloidyMap:
        """--ploidy GRCh38|GRCh37|FILE; None gives the diploid default."""
        if value is None:
            return cls.default()
        if value.lower() in (name.lower() for name in _BUILTIN_TABLES):
            return cls.builtin(value)
        if not Path(value).exists():
            raise InputError(f"--ploidy {value}: no such file, and not a built-in table "
                             f"({', '.join(_BUILTIN_TABLES)})")
        return cls.from_file(value)

    @classmethod
    def from_file(cls, path: str | Path) -> PloidyMap:
        return cls.parse(_read_text(path, "ploidy file"), str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> PloidyMap:
        rules: list[PloidyRule] = []
        defaults: list[tuple[str, int]] = []
        for lineno, line in _content_lines(text):
            fields = line.split()
            where = f"ploidy file {source}:{lineno}"
            if len(fields) != 5:
                raise InputError(f"{where}: expected 5 columns {_PLOIDY_FORMAT}, got {len(fields)}")
            chrom, first, last, sex, ploidy_txt = fields
            if sex != "*" and sex not in SEXES:
                raise InputError(f"{where}: sex '{sex}' is not M, F or * (gmscall knows the sexes M and F)")
            ploidy = _parse_ploidy(where, ploidy_txt)
            if chrom == "*":
                if (first, last) != ("*", "*"):
                    raise InputError(f"{where}: a default line is '* * * SEX PLOIDY', got '{line}'")
                defaults.append((sex, ploidy))
                continue
            start, end = _parse_span(where, first, last)
            rules.append(PloidyRule(_canonical_contig(chrom), start, end, sex, ploidy, lineno))
        return cls(source, tuple(rules), tuple(defaults))

    def default_ploidy(self, sex: str | None) -> int:
        own = [p for s, p in self.defaults if s == sex]
        if own:
            return own[-1]
        common = [p for s, p in self.defaults if s == "*"]
        return common[-1] if common else 2

    def intervals(self, contig: str, start: int, end: int, sex: str | None) -> list[tuple[int, int, int]]:
        """(start, end, ploidy) pieces, 0-based half-open, that cover [start, end) exactly, with
        neighbours of equal ploidy merged. Empty for an empty span."""
        if start > end:
            raise ValueError(f"start {start} > end {end}")
        name = _canonical_contig(contig)
        rules = [r for r in self.rules if r.contig == name and (r.sex == "*" or r.sex == sex)
                 and r.start < end and start < r.end]
        # the rule that applies to a base: own sex over '*', then the later line
        rules.sort(key=lambda r: (r.sex != "*", r.line))
        cuts = sorted({start, end} | {p for r in rules for p in (r.start, r.end) if start < p < end})
        pieces: list[tuple[int, int, int]] = []
        for lo, hi in zip(cuts, cuts[1:]):
            covering = [r.ploidy for r in rules if r.start <= lo and hi <= r.end]
            ploidy = covering[-1] if covering else self.default_ploidy(sex)
            if pieces and pieces[-1][2] == ploidy and pieces[-1][1] == lo:
                pieces[-1] = (pieces[-1][0], hi, ploidy)
            else:
                pieces.append((lo, hi, ploidy))
        return pieces


def _parse_ploidy(where: str, text: str) -> int:
    try:
        ploidy = int(text)
    except ValueError:
        ploidy = -1
    if not 0 <= ploidy <= 2:
        raise InputError(f"{where}: ploidy '{text}' is not 0, 1 or 2 (gmscall calls haploid and diploid "
                         "genotypes only)")
    return ploidy


def _parse_span(where: str, first: str, last: str) -> tuple[int, int]:
    """1-based inclusive FROM, TO -> 0-based half-open (start, end)."""
    try:
        lo, hi = int(first.replace(",", "")), int(last.replace(",", ""))
    except ValueError:
        raise InputError(f"{where}: FROM and TO must be integers (1-based, inclusive), got "
                         f"'{first}' and '{last}'") from None
    if lo < 1:
        raise InputError(f"{where}: FROM {lo} must be >= 1 (coordinates are 1-based)")
    if lo > hi:
        raise InputError(f"{where}: FROM {lo} is after TO {hi}")
    return lo - 1, hi


# --------------------------------------------------------------------------------------------
# sex

# Sex from depth, as ratios of the per-contig read density (mapped reads / contig length) of chrX
# and chrY to the median autosomal density. Expected WGS values: X 0.5 (male) or 1.0 (female);
# Y about 0.3-0.5 in males (half of GRCh37/38 chrY is N or heterochromatin and much of the rest
# multi-maps) and under ~0.02 in females, where it comes from mismapped X-transposed and PAR reads
# (up to a few percent when the Y PARs are not masked). The gaps between the male and female
# cut-offs are deliberate: a wrong sex is worse than none (a female called haploid on X loses
# every het call there), so mixed signals (XXY, X0, mosaic loss of Y, exomes) give None.
X_MALE_MAX = 0.65
X_FEMALE_MIN = 0.80
Y_MALE_MIN = 0.10
Y_FEMALE_MAX = 0.05

_AUTOSOME = re.compile(r"^(?:chr)?(?:[1-9]|1[0-9]|2[0-2])$")


def _find_contig(lengths: Mapping[str, int], bare: str) -> str | None:
    for name in (f"chr{bare}", bare):
        if name in lengths:
            return name
    return None


def infer_sex(bam_path: str, contigs: Sequence[tuple[str, int]], samples_in_bam: int = 1
              ) -> tuple[str | None, str]:
    """('M'/'F'/None, a one-line reason with the ratios) from the BAM index's mapped-read counts
    per contig: no read is decoded. Tuned for whole genomes: on exomes and panels the X/autosome
    ratio depends on the targets, so such data should come with --sex or a PED."""
    if samples_in_bam > 1:
        return None, (f"{samples_in_bam} samples in one BAM: the index counts cannot tell them apart; "
                      "give --sex")
    lengths = dict(contigs)
    x_name = _find_contig(lengths, "X")
    if x_name is None:
        return None, "no chrX/X contig in the header: sex not inferred"
    try:
        bam = pysam.AlignmentFile(bam_path)
    except (ValueError, OSError) as e:
        raise InputError(f"{bam_path}: cannot open it ({str(e).strip()})") from None
    with bam:
        try:
            mapped = {stat.contig: stat.mapped for stat in bam.get_index_statistics()}
        except (ValueError, OSError) as e:  # no index, or one without counts (CRAM's .crai)
            return None, f"no read counts in the index ({str(e).strip()}): sex not inferred; give --sex"
    autosomal = [mapped[name] / length for name, length in lengths.items()
                 if _AUTOSOME.match(name) and length > 0 and mapped.get(name, 0) > 0]
    if not autosomal:
        return None, "no reads on the autosomes: sex not inferred"
    if mapped.get(x_name, 0) == 0:
        return None, f"no reads on {x_name} (only part of the genome?): sex not inferred; give --sex"
    autosome_density = statistics.median(autosomal)
    x_ratio = mapped[x_name] / lengths[x_name] / autosome_density
    y_name = _find_contig(lengths, "Y")
    y_ratio = 0.0
    if y_name is not None and lengths[y_name] > 0:
        y_ratio = mapped.get(y_name, 0) / lengths[y_name] / autosome_density
    sex = _sex_from_ratios(x_ratio, y_ratio)
    verdict = _SEX_WORD[sex] if sex else "ambiguous, sex not inferred"
    y_text = f"{y_ratio:.2f}" if y_name else "0 (no chrY contig)"
    return sex, f"X/autosome depth {x_ratio:.2f}, Y/autosome {y_text}: {verdict}"


def _sex_from_ratios(x_ratio: float, y_ratio: float) -> str | None:
    if x_ratio <= X_MALE_MAX and y_ratio >= Y_MALE_MIN:
        return "M"
    if x_ratio >= X_FEMALE_MIN and y_ratio <= Y_FEMALE_MAX:
        return "F"
    return None


def parse_sex_overrides(values: Sequence[str], samples: Sequence[str]) -> dict[str, str]:
    """--sex SAMPLE=M|F (repeatable) -> {sample: 'M'/'F'}."""
    known = set(samples)
    sexes: dict[str, str] = {}
    for value in values:
        name, eq, code = value.rpartition("=")
        if not eq or not name:
            raise InputError(f"--sex {value}: expected SAMPLE=M or SAMPLE=F")
        sex = code.strip().upper()
        if sex not in SEXES:
            raise InputError(f"--sex {value}: sex '{code}' is not M or F")
        if name not in known:
            raise InputError(f"--sex {value}: {name} is not among the BAMs' samples ({_names(samples)})")
        if sexes.get(name, sex) != sex:
            raise InputError(f"--sex gives {name} two sexes ({sexes[name]} and {sex})")
        sexes[name] = sex
    return sexes


def resolve_sexes(
    samples: Sequence[str],
    ped: Pedigree | None,
    overrides: Mapping[str, str],
    inferred: Mapping[str, tuple[str | None, str]],
) -> dict[str, tuple[str | None, str]]:
    """{sample: (sex or None, reason)}, taking --sex over the PED over the depth guess. The reason
    is one line for the log and the VCF header; it mentions a PED sex that --sex overrules and a
    depth guess that disagrees, which usually means a sample swap or a wrong PED line."""
    resolved: dict[str, tuple[str | None, str]] = {}
    for sample in samples:
        guess, guess_reason = inferred.get(sample, (None, "not inferred"))
        if sample in overrides:
            sex, reason = overrides[sample], "--sex"
            ped_sex, ped_reason = ped.sex_with_reason(sample) if ped is not None else (None, "")
            if ped_sex is not None and ped_sex != sex:
                reason += f" (over {_SEX_WORD[ped_sex]} in {ped_reason})"
        elif ped is not None and ped.sex_of(sample) is not None:
            sex, reason = ped.sex_with_reason(sample)
        elif guess is not None:
            resolved[sample] = (guess, f"inferred from depth: {guess_reason}")
            continue
        else:
            resolved[sample] = (None, f"unknown (no --sex, no PED sex; depth: {guess_reason})")
            continue
        if guess is not None and guess != sex:
            reason += f"; but depth suggests {_SEX_WORD[guess]} ({guess_reason})"
        resolved[sample] = (sex, reason)
    return resolved
