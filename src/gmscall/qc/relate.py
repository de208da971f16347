"""Relatedness of every pair of samples from their genotypes at biallelic SNVs.

Two estimates per pair:

* **KING-robust** (Manichaikul et al. 2010), as plink2 ``--make-king`` computes it:
  ``1/2 - sum (x_i - x_j)^2 / (4 min(H_i, H_j))`` over the sites where both are called, with IBS0
  (share of those sites where the two are opposite homozygotes) and HETHET. Reported for
  comparison: on a few Mb it wanders, because its counts come from a handful of haplotype blocks
  in linkage disequilibrium (on the shared simulated trio 0.18 and 0.21 for parent-child, 0.15
  for the unrelated parents).
* **IBD** (the estimate that classifies): k0, the share of the genome where the two share no
  allele identical by descent, from a two-state hidden Markov model along each contig (IBD0 or
  not), as IBD-segment callers (KING ``--ibdseg``, IBDseq) do; then the kinship of the rest from
  the KING identity. It needs no allele frequencies. At a site where both are het (H) or they are
  opposite homozygotes (O), Hardy-Weinberg gives, whatever the allele frequency p, O:H = 1:2
  without a shared allele (2p²q² and 4p²q²: KING's identity, site by site) and no O with one (but
  genotype errors, rate e1, fitted by EM over all pairs). States persist along the genome (redrawn
  within d bp with probability 1 - exp(-d / SEGMENT_BP)), so a run of H without O reads as shared
  and scattered O as errors, where KING's sums count every O against the pair. Where an allele is
  shared, E[H] / E[H_i + H_j] is 1/4 (one allele) or 1/2 (both): that ratio over those sites
  (posterior-weighted) gives k2 and the kinship ``k1/4 + k2/2`` (on less than
  MIN_SPAN_FOR_DEGREES, k2 only above the duplicate bound: see ``_summarise``). Het-vs-hom sites (D) weigh only
  there: their local rate follows the haplotypes at hand, not the relationship.

The forward-backward pass is a parallel prefix product of 2x2 matrices (numpy, log2(n) steps),
not a Python loop over sites.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# KING's relationship bounds on the kinship coefficient (powers of 2^-1.5 between the degrees).
DUPLICATE_MIN = 0.354
FIRST_DEGREE_MIN = 0.177
SECOND_DEGREE_MIN = 0.0884
THIRD_DEGREE_MIN = 0.0442
# A first-degree pair with less IBD0 than this, and less than twice it of IBD2, is parent-child.
PARENT_CHILD_MAX_K0 = 0.1
PARENT_CHILD_MAX_K2 = 0.2

#: Expected length of an IBD state along the genome, in bp (the HMM's switching scale).
SEGMENT_BP = 20_000_000.0
#: Bounds of the error rate e1 (O among O and H where an allele is shared by descent).
E1_MIN, E1_MAX = 1e-4, 0.02
#: Genome (bp that the informative sites stand for) below which second and third degree are not
#: inferred: such relatives share IBD in a few long segments, so a few Mb show all or none of it.
MIN_SPAN_FOR_DEGREES = 300e6
#: Fewer informative sites than this: no relationship; fewer O and H than MIN_O_H: no HMM.
MIN_INFORMATIVE = 50
MIN_O_H = 20
#: A site's weight (the genome it stands for) reaches at most this far to each side.
MAX_HALF_GAP = 50_000

RELATIONSHIPS = ("duplicate", "parent-child", "full sibling", "second degree", "third degree", "unrelated")
EXPECTED_KINSHIP = {"duplicate": 0.5, "parent-child": 0.25, "full sibling": 0.25, "second degree": 0.125,
                    "third degree": 0.0625, "unrelated": 0.0}

O_OBS, H_OBS, D_OBS = 0, 1, 2


@dataclass
class GenotypeMatrix:
    """ALT dosage (0, 1, 2; -1 missing) of each sample at biallelic autosomal SNVs."""

    samples: list[str]
    contig: np.ndarray  # int32 index per site
    pos: np.ndarray  # int64 1-based
    dosage: np.ndarray  # int8 [sites, samples]

    @property
    def n_sites(self) -> int:
        return int(self.pos.size)


@dataclass
class PairResult:
    sample1: str
    sample2: str
    sites: int = 0  # both called
    hethet: float = 0.0  # share of those sites (plink2's HETHET)
    ibs0: float = 0.0  # share of those sites (plink2's IBS0)
    king: float | None = None  # KING-robust, as plink2 --make-king
    informative: int = 0  # sites where one is het or they are opposite homs
    k0: float | None = None
    k1: float | None = None
    k2: float | None = None
    kinship: float | None = None  # k1/4 + k2/2
    span_bp: int = 0  # genome the informative sites stand for
    relationship: str | None = None  # inferred
    expected: str | None = None  # from the PED (None: no PED, or a sample not in it)
    expected_kinship: float | None = None
    mismatch: bool = False
    note: str = ""

    @property
    def pair(self) -> str:
        return f"{self.sample1} / {self.sample2}"


@dataclass
class IbdModel:
    """The error rate of the IBD model, fitted by EM over all pairs."""

    e1: float = 0.005
    iterations: int = 0

    def emissions(self) -> np.ndarray:
        """[state IBD0 / IBD1-2, observation O/H/D], conditional on the site's class (O or H;
        D): O is 1/3 of O and H without a shared allele, e1 with one; D weighs nothing here."""
        return np.array([[1 / 3, 2 / 3, 1.0], [self.e1, 1 - self.e1, 1.0]])


def king_robust(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float, float | None]:
    """(sites, HETHET share, IBS0 share, KING-robust kinship) of two dosage vectors over the sites
    where both are called: KING's between-family estimator, as plink2 --make-king."""
    both = (a >= 0) & (b >= 0)
    x, y = a[both].astype(np.int64), b[both].astype(np.int64)
    n = int(x.size)
    if n == 0:
        return 0, 0.0, 0.0, None
    het_x, het_y = int(np.count_nonzero(x == 1)), int(np.count_nonzero(y == 1))
    hethet = int(np.count_nonzero((x == 1) & (y == 1)))
    ibs0 = int(np.count_nonzero(np.abs(x - y) == 2))
    smaller = min(het_x, het_y)
    king = 0.5 - float(np.sum((x - y) ** 2)) / (4.0 * smaller) if smaller > 0 else None
    return n, hethet / n, ibs0 / n, king


def _observations(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(site indices, observation O/H/D) where both are called and one is het or they are
    opposite homozygotes."""
    both = (a >= 0) & (b >= 0)
    opp = both & (np.abs(a.astype(np.int16) - b) == 2)
    hh = both & (a == 1) & (b == 1)
    d = both & ((a == 1) ^ (b == 1))
    idx = np.flatnonzero(opp | hh | d)
    obs = np.where(opp[idx], O_OBS, np.where(hh[idx], H_OBS, D_OBS)).astype(np.int8)
    return idx, obs


def _weights(contig: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Genome (bp) each site stands for: half the distance to each neighbour on its contig, at
    most MAX_HALF_GAP per side (a contig end counts MAX_HALF_GAP)."""
    n = pos.size
    w = np.zeros(n)
    if n == 0:
        return w
    gap = np.diff(pos).astype(np.float64)
    same = contig[1:] == contig[:-1]
    half = np.where(same, np.minimum(gap / 2, MAX_HALF_GAP), MAX_HALF_GAP)
    w[1:] += half
    w[:-1] += half
    w[0] += MAX_HALF_GAP
    w[-1] += MAX_HALF_GAP
    return w


def _scan(mats: np.ndarray) -> np.ndarray:
    """Inclusive prefix products P_t = M_0 @ ... @ M_t of [n, k, k] matrices by doubling
    (log2(n) vectorised steps), each rescaled by its largest element (callers renormalise)."""
    p = mats.copy()
    n = p.shape[0]
    step = 1
    while step < n:
        prod = np.matmul(p[:-step], p[step:])
        prod /= prod.max(axis=(1, 2), keepdims=True)
        p[step:] = prod
        step *= 2
    return p


def _posteriors(obs: np.ndarray, dist: np.ndarray, emis: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Posterior state probabilities [n, k] of one pair's observations. ``dist[t]``: bp from
    observation t-1 to t (inf across contigs: the chain restarts from the prior)."""
    n, k = obs.size, prior.size
    r = 1.0 - np.exp(-dist / SEGMENT_BP)  # probability that the state is redrawn from the prior
    # A_t = T_t diag(e_t) with T_t = (1 - r_t) I + r_t 1 prior^T
    trans = (1.0 - r)[:, None, None] * np.eye(k)[None] + r[:, None, None] * prior[None, None, :]
    e = emis[:, obs].T  # [n, k]
    a = trans * e[:, None, :]
    a[0] = np.diag(prior * e[0])
    alpha = _scan(a).sum(axis=1)  # 1^T diag(prior e_0) A_1 ... A_t
    beta = np.ones((n, k))
    if n > 1:  # beta_t = A_{t+1} ... A_{n-1} 1: prefix products of the reversed, transposed matrices
        rev = np.ascontiguousarray(np.transpose(a[1:][::-1], (0, 2, 1)))
        beta[:-1] = _scan(rev).sum(axis=1)[::-1]
    post = alpha * beta
    post /= post.sum(axis=1, keepdims=True)
    return post


@dataclass
class _PairData:
    result: PairResult
    obs: np.ndarray
    dist: np.ndarray
    weight: np.ndarray
    prior: np.ndarray
    post: np.ndarray | None = None


def relatedness(gm: GenotypeMatrix, max_iter: int = 30, tol: float = 1e-5) -> tuple[list[PairResult], IbdModel]:
    """KING-robust and IBD kinship of every pair of ``gm.samples``, each classified."""
    pairs: list[_PairData] = []
    for i, j in itertools.combinations(range(len(gm.samples)), 2):
        a, b = gm.dosage[:, i], gm.dosage[:, j]
        res = PairResult(gm.samples[i], gm.samples[j])
        res.sites, res.hethet, res.ibs0, res.king = king_robust(a, b)
        idx, obs = _observations(a, b)
        res.informative = int(idx.size)
        contig, pos = gm.contig[idx], gm.pos[idx]
        dist = np.full(idx.size, np.inf)
        if idx.size > 1:
            same = contig[1:] == contig[:-1]
            dist[1:] = np.where(same, np.diff(pos).astype(np.float64), np.inf)
        weight = _weights(contig, pos)
        res.span_bp = round(float(weight.sum()))
        pairs.append(_PairData(res, obs, dist, weight, np.full(2, 0.5)))
    model = IbdModel()
    usable = [p for p in pairs if p.obs.size > 0]
    for it in range(max_iter if usable else 0):
        emis = model.emissions()
        shared_o = shared_oh = 0.0
        for p in usable:
            p.post = _posteriors(p.obs, p.dist, emis, p.prior)
            prior = np.clip((p.post * p.weight[:, None]).sum(axis=0) / p.weight.sum(), 1e-4, None)
            p.prior = prior / prior.sum()
            shared_o += float(p.post[p.obs == O_OBS, 1].sum())
            shared_oh += float(p.post[p.obs != D_OBS, 1].sum())
        old = model.e1
        if shared_oh > 1:
            model.e1 = float(np.clip(shared_o / shared_oh, E1_MIN, E1_MAX))
        model.iterations = it + 1
        if abs(old - model.e1) < tol and it > 1:
            break
    for p in pairs:
        _summarise(p)
    return [p.result for p in pairs], model


def _summarise(p: _PairData) -> None:
    res = p.result
    if p.post is None or p.obs.size < MIN_INFORMATIVE:
        res.note = f"{p.obs.size} informative sites: too few to tell a relationship"
        return
    n_o, n_h, n_d = (int(np.count_nonzero(p.obs == x)) for x in (O_OBS, H_OBS, D_OBS))
    if n_o + n_h < MIN_O_H:
        # Hardly a site where both are het or opposite homs: the HMM has nothing to read, but one
        # shared allele would make a het shared at half the rate of a het against a hom (H:D 1:2),
        # so the KING identity (H - 2 O) / (H_i + H_j) speaks (here near 0: private variants only).
        res.kinship = max(0.0, (n_h - 2 * n_o) / (2 * n_h + n_d + 2 * n_o))
        res.k0 = float(np.clip(1 - 4 * res.kinship, 0.0, 1.0))
        res.k1, res.k2 = 1 - res.k0, 0.0
        res.relationship = classify(res.kinship, res.k0, res.k2, res.span_bp)
        res.note = f"{n_o + n_h} sites where both are het or opposite homs: kinship from the KING identity"
        return
    w = p.weight
    k0 = float((p.post[:, 0] * w).sum() / w.sum())
    shared = p.post[:, 1]
    h = float(shared[p.obs == H_OBS].sum())
    het_sum = 2 * h + float(shared[p.obs == D_OBS].sum())  # H_i + H_j there (O taken as errors)
    phi_shared = h / het_sum if het_sum > 0 else 0.25
    k2_shared = float(np.clip(4 * phi_shared - 1, 0.0, 1.0))
    if res.span_bp < MIN_SPAN_FOR_DEGREES and phi_shared < DUPLICATE_MIN:
        # a few Mb: the pair shares one or both haplotypes throughout, and the H:D ratio of one
        # shared haplotype wanders with the blocks at hand (0.21-0.29 on the shared trio's 1 Mb
        # windows), so below the duplicate bound the shared part is IBD1
        k2_shared = 0.0
    res.k0 = k0
    res.k2 = (1 - k0) * k2_shared
    res.k1 = (1 - k0) * (1 - k2_shared)
    res.kinship = res.k1 / 4 + res.k2 / 2
    res.relationship = classify(res.kinship, res.k0, res.k2, res.span_bp)
    if res.span_bp < MIN_SPAN_FOR_DEGREES and res.relationship == "unrelated":
        res.note = (f"{res.span_bp / 1e6:.1f} Mb of informative sites: second and third degree are "
                    f"not told from unrelated below {MIN_SPAN_FOR_DEGREES / 1e6:.0f} Mb")


def classify(kinship: float, k0: float, k2: float, span_bp: float = math.inf) -> str:
    """The relationship that a kinship coefficient and the IBD0/IBD2 shares point to (KING's
    bounds); second and third degree only on MIN_SPAN_FOR_DEGREES of genome or more."""
    if kinship >= DUPLICATE_MIN:
        return "duplicate"
    if kinship >= FIRST_DEGREE_MIN:
        return "parent-child" if k0 < PARENT_CHILD_MAX_K0 and k2 < PARENT_CHILD_MAX_K2 else "full sibling"
    if span_bp < MIN_SPAN_FOR_DEGREES:
        return "unrelated"
    if kinship >= SECOND_DEGREE_MIN:
        return "second degree"
    if kinship >= THIRD_DEGREE_MIN:
        return "third degree"
    return "unrelated"


# --------------------------------------------------------------------------------------------
# what the pedigree says


def pedigree_relationship(ped, a: str, b: str) -> tuple[str | None, float | None]:
    """(relationship, kinship) of samples ``a`` and ``b`` by the PED (founders unrelated); (None,
    None) when either is not in the PED. Individuals of different families are unrelated."""
    ids = {ind.id: ind for ind in ped.individuals}
    if a not in ids or b not in ids:
        return None, None
    if ids[a].family != ids[b].family:
        return "unrelated", 0.0
    parents = {ind.id: (ind.father, ind.mother) for ind in ped.individuals}
    depth_memo: dict[str, int] = {}

    def depth(x: str | None, seen: frozenset = frozenset()) -> int:
        if x is None or x not in parents or x in seen:
            return 0
        if x not in depth_memo:
            f, m = parents[x]
            depth_memo[x] = 1 + max(depth(f, seen | {x}), depth(m, seen | {x}))
        return depth_memo[x]

    memo: dict[tuple[str, str], float] = {}

    def kin(x: str | None, y: str | None) -> float:
        if x is None or y is None:
            return 0.0
        key = (x, y) if x <= y else (y, x)
        if key in memo:
            return memo[key]
        if x == y:
            f, m = parents.get(x, (None, None))
            val = 0.5 * (1 + kin(f, m))
        else:
            # recurse on the one that is not an ancestor of the other: the deeper one
            if depth(x) < depth(y):
                x, y = y, x
            f, m = parents.get(x, (None, None))
            val = 0.5 * (kin(f, y) + kin(m, y)) if (f or m) else 0.0
        memo[key] = val
        return val

    phi = kin(a, b)
    fa, ma = parents.get(a, (None, None))
    fb, mb = parents.get(b, (None, None))
    if b in (fa, ma) or a in (fb, mb):
        return "parent-child", phi
    k2 = kin(fa, fb) * kin(ma, mb) + kin(fa, mb) * kin(ma, fb) if all((fa, ma, fb, mb)) else 0.0
    if k2 > 0 and fa == fb and ma == mb:
        return "full sibling", phi
    for name, lo in (("duplicate", DUPLICATE_MIN), ("full sibling", FIRST_DEGREE_MIN),
                     ("second degree", SECOND_DEGREE_MIN), ("third degree", THIRD_DEGREE_MIN)):
        if phi >= lo:
            return name, phi
    return "unrelated", phi


def compare_with_pedigree(results: Sequence[PairResult], ped) -> None:
    """Fill ``expected`` and ``mismatch`` of each pair from the PED."""
    for res in results:
        res.expected, res.expected_kinship = pedigree_relationship(ped, res.sample1, res.sample2)
        res.mismatch = bool(res.expected is not None and res.relationship is not None
                            and res.relationship != res.expected)


def describe_mismatch(res: PairResult) -> str:
    got = f"{res.relationship} (kinship {res.kinship:.3f}, IBS0 {res.ibs0:.4f})" if res.kinship is not None else "-"
    return f"{res.sample1} and {res.sample2}: the PED says {res.expected}, the genotypes say {got}"


def fmt_float(x: float | None, digits: int = 4) -> str:
    return "NA" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"
