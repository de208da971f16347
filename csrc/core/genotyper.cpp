// Genotyping: the per-site SNV model and the haplotype-pair model, QUAL/GQ/PL/AD/DP/MQ/SOR.
#include <algorithm>
#include <array>
#include <cmath>
#include <set>
#include <tuple>

#include "core/calling.hpp"
#include "io/reference.hpp"
#include "kernels/alignment_walk.hpp"
#include "kernels/genotype.hpp"

namespace gms::calling {

namespace {

double strand_odds_ratio(double ref_f, double ref_r, double alt_f, double alt_r) {
  ref_f += 1; ref_r += 1; alt_f += 1; alt_r += 1;
  const double ratio = (ref_f * alt_r) / (ref_r * alt_f);
  const double sym = ratio + 1.0 / ratio;
  const double ref_ratio = std::min(ref_f, ref_r) / std::max(ref_f, ref_r);
  const double alt_ratio = std::min(alt_f, alt_r) / std::max(alt_f, alt_r);
  return std::log(sym) + std::log(ref_ratio) - std::log(alt_ratio);
}

// RMS mapping quality of the reads at x, all samples together.
double mapping_quality(const std::vector<SampleEvidence>& samples, int64_t x) {
  unsigned long long mq2 = 0;
  uint32_t d = 0;
  for (const SampleEvidence& e : samples) {
    mq2 += e.pu.mq2[x];
    d += depth_at(e.pu, x);
  }
  return d ? std::sqrt(static_cast<double>(mq2) / d) : 0.0;
}

size_t argmax(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t k = 1; k < v.size(); ++k)
    if (v[k] > v[best]) best = k;
  return best;
}

// ---- Mapping artefacts: reads of a paralogous copy placed here by the aligner.
// Such reads carry the copy's differences from this locus: an "SNV" on a minority of the reads
// (10-35 %) whose ALT reads also carry the copy's other differences nearby, themselves SNVs on a
// minority of the reads (often two or three within 15 bp). A het has its ALT on half the reads, and
// what its ALT reads carry besides is this locus's own alleles. The hypothesis "no ALT here: a
// copy's reads carry it" is weighed against the het by both, from the reads at the site.
constexpr int64_t kParalogReach = 100;  // bp each side of a site where linked SNVs are looked for
constexpr int kMismatchQual = 20;       // bases below this effective quality are not looked at
// A low-fraction SNV: a mismatch whose base is on the reads an SNV candidate needs (min_alt_count,
// min_snv_frac) but on fewer than this share of them, so not a het or hom allele of this locus (a
// true het is below it with binomial chance only). Single sequencing errors do not qualify.
constexpr double kMinorShare = 0.35;
// Linked to an ALT: a low-fraction SNV carried by at least two of the site's ALT reads and by at
// least this share of the ALT reads that cover it (the same reads, as a copy's differences are).
constexpr double kLinkedShare = 0.5;
// Linked low-fraction SNVs per base around a het of this locus (an in-phase het that is below
// kMinorShare by chance, an indel that the aligner wrote as a mismatch on some reads), and around a
// copy's ALT (its divergence: segmental duplications differ by 1-5 %; the odds average over these).
constexpr double kLocusLinkedRate = 1e-3;
constexpr double kCopyDivergence[] = {0.01, 0.02, 0.04};

// An SNV allele of the pileup near the sites: a low-fraction one, or (major) one of this locus's
// own alleles (a base other than the reference's on kMinorShare of the reads or more).
struct MinorSnv {
  int64_t pos;
  uint8_t base;
  bool major;
};

// The SNV alleles (MinorSnv) of a sample's pileup within kParalogReach of `sites`, in position order.
std::vector<MinorSnv> minor_snvs(const PileupResult& pu, const std::vector<int64_t>& sites, const CallParams& p) {
  std::vector<MinorSnv> out;
  int64_t next = pu.beg;  // first position not yet scanned
  for (int64_t s : sites) {
    const int64_t lo = std::max({next, s - kParalogReach, pu.beg}), hi = std::min(s + kParalogReach + 1, pu.end);
    for (int64_t y = lo; y < hi; ++y) {
      const int64_t x = y - pu.beg;
      const int r = base_to_allele(pu.ref[static_cast<size_t>(x)]);
      if (r > 3) continue;
      const double depth = depth_at(pu, x);
      for (int b = 0; b < 4; ++b) {
        const double n = sum_counts(pu, x, b);
        if (b == r || n < p.min_alt_count || n < p.min_snv_frac * depth) continue;
        out.push_back({y, static_cast<uint8_t>(b), n >= kMinorShare * depth});
      }
    }
    next = std::max(next, hi);
  }
  return out;
}

// Per allele (base code) of a site: its reads, and for each SNV allele within reach how many of
// them cover it and how many carry it; the stretch the reads look at.
struct AlleleLinks {
  int reads = 0;
  int clean = 0;  // of them, those that carry none of the low-fraction SNVs within reach
  std::vector<int> cover, carry;  // by the SNV alleles within reach (SiteLinks::minor_lo.. order)
  int64_t first = INT64_MAX, last = INT64_MIN;  // the reads' bases of quality >= kMismatchQual in reach
};
struct SiteLinks {
  size_t minor_lo = 0, minor_hi = 0;  // the SNV alleles within reach: minor[lo, hi), the site's own left out
  std::array<AlleleLinks, 4> allele;
};

// One read's bases of quality >= kMismatchQual around the sites it covers, and its base at each site.
struct LinkVisitor {
  const ReadBatch* batch;
  const std::vector<uint8_t>* eff_qual;
  const std::vector<int64_t>* sites;
  int32_t read;
  int min_bq;
  size_t at, end;
  std::vector<std::pair<int64_t, uint8_t>> bases;
  std::vector<std::pair<size_t, uint8_t>> at_site;  // (site index, base)

  void base(int64_t rp, uint32_t qp) {
    const uint64_t o = batch->seq_off[static_cast<size_t>(read)] + qp;
    const uint8_t b = batch->seq[o], q = (*eff_qual)[o];
    while (at < end && (*sites)[at] < rp) ++at;
    if (at < end && (*sites)[at] == rp && q >= min_bq && b < 4) at_site.emplace_back(at, b);
    if (q >= kMismatchQual && b < 4) bases.emplace_back(rp, b);
  }
  void deleted(int64_t, uint32_t) {}
  void insertion(uint32_t, int64_t, uint32_t, uint32_t, uint32_t) {}
  void deletion(uint32_t, int64_t, uint32_t, uint32_t) {}
};

// Per site of `sites` (sorted, distinct), the sample's reads by their base there and what they
// carry of the low-fraction SNVs nearby (`minor`: minor_snvs of the same sites).
std::vector<SiteLinks> paralog_evidence(const SampleEvidence& e, const std::vector<int64_t>& sites,
                                        const std::vector<MinorSnv>& minor, const CallParams& p) {
  std::vector<SiteLinks> out(sites.size());
  auto pos_less = [](const MinorSnv& m, int64_t x) { return m.pos < x; };
  for (size_t k = 0; k < sites.size(); ++k) {
    SiteLinks& s = out[k];
    s.minor_lo = static_cast<size_t>(std::lower_bound(minor.begin(), minor.end(), sites[k] - kParalogReach, pos_less) - minor.begin());
    s.minor_hi = static_cast<size_t>(std::lower_bound(minor.begin(), minor.end(), sites[k] + kParalogReach + 1, pos_less) - minor.begin());
    for (AlleleLinks& a : s.allele) {
      a.cover.assign(s.minor_hi - s.minor_lo, 0);
      a.carry.assign(s.minor_hi - s.minor_lo, 0);
    }
  }
  if (sites.empty()) return out;
  const ReadBatch& batch = e.reads.batch;
  const ReadView rv = batch.view();
  LinkVisitor v{&batch, &e.eff_qual, &sites, 0, p.pileup.min_bq, 0, 0, {}, {}};
  for (int32_t i = 0; i < batch.size(); ++i) {
    const auto first = std::lower_bound(sites.begin(), sites.end(), batch.pos[i]);
    if (first == sites.end() || *first >= batch.end[i]) continue;
    const auto last = std::lower_bound(first, sites.end(), batch.end[i]);
    v.read = i;
    v.bases.clear();
    v.at_site.clear();
    // Only the read's bases within reach of its sites are looked at: the read is walked over each
    // run of sites whose reaches touch (a long read spans kilobases between them).
    for (auto run = first; run != last;) {
      auto run_end = run + 1;
      while (run_end != last && *run_end - *(run_end - 1) <= 2 * kParalogReach + 1) ++run_end;
      v.at = static_cast<size_t>(run - sites.begin());
      v.end = static_cast<size_t>(run_end - sites.begin());
      walk_read_window(rv, e.ops, i, *run - kParalogReach, *(run_end - 1) + kParalogReach + 1, v);
      run = run_end;
    }
    for (const auto& [k, b] : v.at_site) {
      SiteLinks& s = out[k];
      AlleleLinks& a = s.allele[b];
      ++a.reads;
      const int64_t x = sites[k];
      const auto reach_lo = std::lower_bound(v.bases.begin(), v.bases.end(), std::make_pair(x - kParalogReach, uint8_t{0}));
      const auto reach_hi = std::lower_bound(v.bases.begin(), v.bases.end(), std::make_pair(x + kParalogReach + 1, uint8_t{0}));
      if (reach_lo != reach_hi) {
        a.first = std::min(a.first, reach_lo->first);
        a.last = std::max(a.last, (reach_hi - 1)->first);
      }
      bool clean = true;
      for (size_t j = s.minor_lo; j < s.minor_hi; ++j) {
        if (minor[j].pos == x) continue;
        const auto hit = std::lower_bound(v.bases.begin(), v.bases.end(), std::make_pair(minor[j].pos, uint8_t{0}));
        if (hit == v.bases.end() || hit->first != minor[j].pos) continue;
        ++a.cover[j - s.minor_lo];
        if (hit->second == minor[j].base) {
          ++a.carry[j - s.minor_lo];
          clean = clean && minor[j].major;
        }
      }
      a.clean += clean ? 1 : 0;
    }
  }
  return out;
}

// log10 P(reads | a copy's reads carry this ALT, no ALT at the locus) / P(reads | het): the ALT
// reads' share (a minority, against one half) and the low-fraction SNVs linked to them (Poisson in
// the stretch they look at: the copy's divergence against the locus's own rate).
double paralog_log10_odds(const AlleleLinks& ref, const AlleleLinks& alt, const SiteLinks& site,
                          const std::vector<MinorSnv>& minor, const CallParams& p) {
  // The share against the REF reads that carry no low-fraction SNV: REF reads that do are a copy's
  // (one that has the REF here), and a het of this locus under a copy's stretch is a minority of
  // all the reads only because of them.
  const double balance = log10_artefact_balance_odds(alt.reads, alt.reads + ref.clean, p.paralog_alpha, p.paralog_beta);
  int linked = 0, own = 0;  // low-fraction SNVs linked to the ALT reads; the locus's alleles on its REF reads
  for (size_t j = 0; j < alt.carry.size(); ++j) {
    if (minor[site.minor_lo + j].major) own += ref.carry[j] >= 2 && ref.carry[j] >= kLinkedShare * ref.cover[j];
    else linked += alt.carry[j] >= 2 && alt.carry[j] >= kLinkedShare * alt.cover[j];
  }
  const double span = alt.last >= alt.first ? static_cast<double>(alt.last - alt.first + 1) : 0.0;
  std::vector<double> copy;
  // Where this locus differs from the reference at many places (alleles on kMinorShare of the reads
  // or more that its REF reads carry too: hom alleles, the other haplotype's hets), reads of its ALT
  // haplotype are lost to the aligner and what they carry is seen on a minority: linked
  // low-fraction SNVs are then expected at the density of those alleles. (A copy's own differences
  // on a third of the reads or more are on its reads only, so they do not count.)
  const double locus_rate = kLocusLinkedRate + own / static_cast<double>(2 * kParalogReach + 1);
  for (double d : kCopyDivergence) copy.push_back(log10_poisson_odds(linked, span, d, locus_rate));
  const double n_copy = static_cast<double>(sizeof(kCopyDivergence) / sizeof(kCopyDivergence[0]));
  return balance + log10_sum(copy) - std::log10(n_copy);
}

// The sample's call with the artefact hypothesis beside its genotypes: the hypothesis is hom-REF at
// the locus, its likelihood the het's with that ALT (the same base terms) times the odds (`odds[a]`:
// ALT a's; -inf: none), weighed by the prior. It decides the call only: QUAL, GQ and the likelihoods
// written stay the sequencing-error model's (QUAL's QD bound of StrandBias was set on them), so a
// record the hypothesis does not reject is written as before, and a gVCF carries the call (its GT),
// which genotyping one gVCF keeps.
int call_with_artefact(const std::vector<double>& gl, const std::vector<double>& prior, const std::vector<double>& odds,
                       const CallParams& p) {
  std::vector<double> post(gl.size());
  for (size_t g = 0; g < gl.size(); ++g) post[g] = gl[g] + prior[g];
  for (size_t a = 1; a < odds.size(); ++a) {
    if (odds[a] == -INFINITY) continue;
    const size_t het = a * (a + 1) / 2;  // genotype (0, a) in genotype_list order
    post[0] = log10_add(post[0], gl[het] + std::log10(p.paralog_prior) + odds[a]);
  }
  return static_cast<int>(argmax(post));
}

// One sample's per-site model: GL of each genotype from the pileup's fixed-point base terms.
// `artefact`: per allele, the paralog odds of a diploid sample (empty: no artefact hypothesis).
SampleSite site_model(const PileupResult& pu, int64_t x, const std::vector<int>& base, int ploidy,
                      const std::vector<double>& artefact, const CallParams& p) {
  const double ln_to_log10 = 1.0 / (kLlScale * std::log(10.0));
  SampleSite site;
  site.ploidy = ploidy;
  site.dp = static_cast<int>(depth_at(pu, x));
  const std::vector<bool> indel(base.size(), false);
  const auto gts = genotype_list(ploidy, static_cast<int>(base.size()));
  for (const std::vector<int>& g : gts) site.prior.push_back(genotype_prior(g, indel, p));
  if (ploidy == 0 || site.dp == 0) return site;
  site.covered = true;
  const long long* ll = &pu.snv_ll[x * 12];
  auto term = [&](int b, int t) { return static_cast<double>(ll[b * 3 + t]) * ln_to_log10; };
  // log10 GL of a genotype over the bases `codes` (hom: the hom term for its base; het: the het
  // term for both of its bases; every other base read: the "other" term).
  auto genotype_gl = [&](const std::vector<int>& codes, const std::vector<int>& g) {
    const int a = codes[static_cast<size_t>(g.front())], c = codes[static_cast<size_t>(g.back())];
    double v = 0.0;
    for (int b = 0; b < 4; ++b) {
      if (a == c) v += b == a ? term(b, 0) : term(b, 2);
      else v += (b == a || b == c) ? term(b, 1) : term(b, 2);
    }
    return v;
  };
  std::vector<double> gl;
  for (size_t k = 0; k < gts.size(); ++k) {
    gl.push_back(genotype_gl(base, gts[k]));
    site.post.push_back(gl.back() + site.prior[k]);
  }
  const double norm = log10_sum(site.post);
  for (double& v : site.post) v -= norm;
  site.called = static_cast<int>(argmax(site.post));
  site.p_ref_only = site.post[0];
  if (!artefact.empty()) site.called = call_with_artefact(gl, site.prior, artefact, p);
  if (p.gvcf) {  // PL over the alleles and <NON_REF>, here the best-supported other base
    std::vector<int> with_other = base;
    int other = -1;
    for (int b = 0; b < 4; ++b) {
      if (std::find(base.begin(), base.end(), b) != base.end()) continue;
      if (other < 0 || sum_counts(pu, x, b) > sum_counts(pu, x, other)) other = b;
    }
    with_other.push_back(other);
    gl.clear();
    for (const std::vector<int>& g : genotype_list(ploidy, static_cast<int>(with_other.size()))) {
      gl.push_back(genotype_gl(with_other, g));
    }
    site.gl = gl;  // the genotypes without <NON_REF> come first, with the values `post` used
  }
  const double max_gl = *std::max_element(gl.begin(), gl.end());
  for (double v : gl) site.pl.push_back(static_cast<int>(std::lround(-10.0 * (v - max_gl))));
  for (int b : base) site.ad.push_back(static_cast<int>(sum_counts(pu, x, b)));
  if (p.gvcf) site.ad.push_back(0);
  return site;
}

}  // namespace

void call_site_snvs(const std::vector<SampleEvidence>& samples, const std::vector<Candidate>& snvs,
                    const CallParams& p, const Cohort& cohort, int64_t beg, int64_t end, std::vector<CallRecord>& out) {
  const PileupResult& pu0 = samples[0].pu;
  // The artefact hypothesis's evidence, per sample, at the positions this shard writes.
  std::vector<int64_t> positions;
  if (p.paralog_prior > 0.0) {
    for (const Candidate& c : snvs)
      if (c.pos >= beg && c.pos < end && (positions.empty() || positions.back() != c.pos)) positions.push_back(c.pos);
  }
  std::vector<std::vector<SiteLinks>> links(samples.size());
  std::vector<std::vector<MinorSnv>> minor(samples.size());
  for (size_t s = 0; s < samples.size() && !positions.empty(); ++s) {
    minor[s] = minor_snvs(samples[s].pu, positions, p);
    links[s] = paralog_evidence(samples[s], positions, minor[s], p);
  }
  size_t at = 0;
  size_t k = 0;
  while (k < snvs.size()) {
    size_t e = k;
    while (e < snvs.size() && snvs[e].pos == snvs[k].pos) ++e;
    const int64_t pos = snvs[k].pos;
    std::vector<Candidate> alts(snvs.begin() + k, snvs.begin() + e);
    k = e;
    if (pos < beg || pos >= end) continue;
    std::stable_sort(alts.begin(), alts.end(), [](const Candidate& a, const Candidate& b) { return a.support > b.support; });
    if (alts.size() > 2) alts.resize(2);
    const int64_t x = pos - pu0.beg;
    const char rc = pu0.ref[x];
    std::vector<int> base{static_cast<int>(base_to_allele(rc))};
    for (const Candidate& a : alts) base.push_back(base_to_allele(a.seq[0]));
    std::vector<SampleSite> sites;
    CallRecord rec;
    rec.dp = 0;
    double ref_f = 0, ref_r = 0, alt_f = 0, alt_r = 0;
    while (at < positions.size() && positions[at] < pos) ++at;
    for (size_t s = 0; s < samples.size(); ++s) {
      const PileupResult& pu = samples[s].pu;
      const int ploidy = cohort.ploidy_at(static_cast<int>(s), pos);
      std::vector<double> artefact;
      if (ploidy == 2 && base[0] < 4 && at < positions.size() && positions[at] == pos) {
        const SiteLinks& r = links[s][at];
        artefact.assign(base.size(), -INFINITY);
        for (size_t a = 1; a < base.size(); ++a)
          if (base[a] < 4 && r.allele[base[a]].reads > 0)
            artefact[a] = paralog_log10_odds(r.allele[base[0]], r.allele[base[a]], r, minor[s], p);
      }
      sites.push_back(site_model(pu, x, base, ploidy, artefact, p));
      rec.dp += sites.back().dp;
      ref_f += pu.counts[x * 12 + base[0]];
      ref_r += pu.counts[x * 12 + 6 + base[0]];
      for (size_t a = 1; a < base.size(); ++a) {
        alt_f += pu.counts[x * 12 + base[a]];
        alt_r += pu.counts[x * 12 + 6 + base[a]];
      }
    }
    rec.pos = pos;
    rec.ref = std::string(1, rc);
    for (const Candidate& a : alts) rec.alts.push_back(a.seq);
    rec.mq = mapping_quality(samples, x);
    rec.sor = strand_odds_ratio(ref_f, ref_r, alt_f, alt_r);
    rec.haplotype_model = false;
    // A gVCF keeps every candidate site that has reads, called or not and whatever its QUAL: the
    // genotyping of gVCFs applies the thresholds once, to the cohort's call.
    if (!genotype_cohort(sites, static_cast<int>(base.size()), cohort, p, INFINITY, rec) &&
        !(p.gvcf && sites[0].covered))
      continue;
    if (p.gvcf) rec.alts.push_back(kNonRef);
    out.push_back(std::move(rec));
  }
}

namespace {

// The index of the largest of v[0..n) (the first on ties) and the largest of the others.
std::pair<int, double> best_and_runner_up(const std::vector<double>& v, int n) {
  int top = 0;
  for (int a = 1; a < n; ++a)
    if (v[a] > v[top]) top = a;
  double second = -INFINITY;
  for (int a = 0; a < n; ++a)
    if (a != top) second = std::max(second, v[a]);
  return {top, second};
}

constexpr int kMaxRecordAlleles = 6;  // REF + ALTs of one haplotype-model record

// A sample's hypotheses over a window's haplotypes: pairs (diploid) or single haplotypes.
struct Hypothesis {
  size_t a, b;  // haplotype indices (b == a for one copy; a <= b)
  double gl, post;
};

// `hyps` lists the sample's own hypotheses (both haplotypes before WindowWork::first_extra) first:
// `own` of them. Posteriors are normalised over those, and `best` is one of them, so that a gVCF's
// extra haplotypes change neither the call nor QUAL; the others' posteriors are on the same scale.
struct SampleWindow {
  int ploidy = 2;
  std::vector<size_t> reads;  // rows of the window's read x haplotype matrix
  std::vector<Hypothesis> hyps;
  size_t own = 0;
  size_t best = 0;
};

// Log10 prior of a hypothesis: each window allele it carries, het or hom (one copy: see
// genotype_prior).
double hypothesis_prior(const Window& win, uint64_t ha, uint64_t hb, int ploidy, const CallParams& p) {
  const uint64_t both = ha & hb, any = ha | hb;
  double prior = 0.0;
  for (size_t k = 0; k < n_window_alleles(win); ++k) {
    if (!((any >> k) & 1)) continue;
    const Candidate& a = window_allele(win, k);
    const double scale = a.is_indel() ? indel_prior_scale(a, p) : 1.0;
    const double het = a.is_indel() ? p.indel_het_prior * scale : p.snv_het_prior;
    const double hom = a.is_indel() ? p.indel_hom_prior * scale : p.snv_hom_prior;
    if (ploidy == 1) prior += std::log10(het / 2.0 + hom);
    else prior += std::log10(((both >> k) & 1) ? hom : het);
  }
  return prior;
}

void score_hypotheses(const WindowWork& w, const std::vector<double>& L, const CallParams& p, SampleWindow& sw) {
  const size_t nh = w.haps.size();
  for (size_t b = 0; b < nh; ++b) {
    for (size_t a = 0; a <= b; ++a) {
      if (sw.ploidy == 1 && a != b) continue;
      double gl = 0.0;
      for (size_t r : sw.reads) {
        gl += sw.ploidy == 1 ? L[r * nh + a] : log10_add(L[r * nh + a], L[r * nh + b]) - std::log10(2.0);
      }
      sw.hyps.push_back({a, b, gl, gl + hypothesis_prior(*w.win, w.haps[a], w.haps[b], sw.ploidy, p)});
    }
  }
  // b runs up: the hypotheses of the window's own haplotypes come first
  sw.own = 0;
  while (sw.own < sw.hyps.size() && sw.hyps[sw.own].b < w.first_extra) ++sw.own;
  std::vector<double> posts;
  for (size_t k = 0; k < sw.own; ++k) posts.push_back(sw.hyps[k].post);
  const double norm = log10_sum(posts);
  for (Hypothesis& h : sw.hyps) h.post -= norm;
  sw.best = 0;
  for (size_t k = 1; k < sw.own; ++k)
    if (sw.hyps[k].post > sw.hyps[sw.best].post) sw.best = k;
}

// The sequence a haplotype has over [pos, pos + ref.size()): its allele at a record.
std::string allele_on(const Window& win, const std::vector<size_t>& here, const std::string& ref, uint64_t mask) {
  std::string s = ref;
  for (auto it = here.rbegin(); it != here.rend(); ++it) {  // right to left within the REF span
    if (!((mask >> *it) & 1)) continue;
    apply_candidate(s, window_allele(win, *it).pos, window_allele(win, *it));
  }
  return s;
}

// Position of the extra allele (Window::extras) that haplotype `mask` carries (-1: none).
int64_t extra_position(const Window& win, uint64_t mask) {
  for (size_t k = win.alleles.size(); k < n_window_alleles(win); ++k)
    if ((mask >> k) & 1) return window_allele(win, k).pos;
  return -1;
}

// Per-read allele model of a record (GATK's): each read's likelihood of an allele is that of the
// allele's best haplotype; a genotype's log10 likelihood is the product over reads of the mean
// over its copies. With `reads` carrying a last column for <NON_REF> (the read's second-best
// allele), it prices genotypes with an allele the record does not list.
std::vector<double> per_read_gl(const std::vector<std::vector<double>>& reads, int ploidy, int n_alleles) {
  std::vector<double> gl;
  for (const std::vector<int>& g : genotype_list(ploidy, n_alleles)) {
    double v = 0.0;
    for (const std::vector<double>& l : reads) {
      const double x = l[static_cast<size_t>(g.front())], y = l[static_cast<size_t>(g.back())];
      v += g.size() == 1 ? x : log10_add(x, y) - std::log10(2.0);
    }
    gl.push_back(v);
  }
  return gl;
}

std::vector<int> phred_pl(const std::vector<double>& gl) {
  std::vector<int> pl;
  const double max_gl = gl.empty() ? 0.0 : *std::max_element(gl.begin(), gl.end());
  for (double v : gl) {
    pl.push_back(v == -INFINITY ? 999 : std::min(999, static_cast<int>(std::lround(-10.0 * (v - max_gl)))));
  }
  return pl;
}

// One sample's record-level evidence from its window hypotheses. A genotype's likelihood is the
// record's marginal one: the posterior of the hypotheses that give the sample this genotype here
// over the genotype's prior (the other window alleles weighed by their priors), so that the prior
// brings back exactly the posterior, as when genotyping the gVCF that writes it. Alleles from
// `n_own` on are a gVCF's extras: their genotypes get likelihoods from the hypotheses with extra
// haplotypes (on the scale of the own ones, whose posteriors sum to one) and no posterior.
SampleSite window_site(const SampleWindow& sw, const std::vector<int>& hap_idx, int na, int n_own,
                       const std::vector<bool>& indel, const CallParams& p) {
  SampleSite site;
  site.ploidy = sw.ploidy;
  const auto gts = genotype_list(sw.ploidy, na);
  for (const auto& g : gts) site.prior.push_back(genotype_prior(g, indel, p));
  if (sw.ploidy == 0 || sw.reads.empty()) return site;
  site.covered = true;
  auto index_of = [&](int x, int y) {
    if (sw.ploidy == 1) return static_cast<size_t>(x);
    if (x > y) std::swap(x, y);
    return static_cast<size_t>(y * (y + 1) / 2 + x);
  };
  site.post.assign(gts.size(), -INFINITY);
  site.p_ref_only = -INFINITY;
  for (size_t k = 0; k < sw.hyps.size(); ++k) {
    const Hypothesis& h = sw.hyps[k];
    const int x = hap_idx[h.a], y = hap_idx[h.b];
    if (x <= 0 && y <= 0 && k < sw.own) site.p_ref_only = log10_add(site.p_ref_only, h.post);
    if (x < 0 || y < 0) continue;
    site.post[index_of(x, y)] = log10_add(site.post[index_of(x, y)], h.post);
  }
  const Hypothesis& best = sw.hyps[sw.best];
  site.called = static_cast<int>(index_of(hap_idx[best.a], hap_idx[best.b]));
  for (size_t g = 0; g < gts.size(); ++g) site.gl.push_back(site.post[g] - site.prior[g]);
  site.pl = phred_pl(site.gl);
  // A gVCF's extra alleles (from n_own on) are in GL only: GT, GQ and QUAL are the own model's.
  for (size_t g = 0; g < gts.size(); ++g)
    for (int a : gts[g])
      if (a >= n_own) site.post[g] = -INFINITY;
  return site;
}

// gVCF: the record's likelihoods extended to <NON_REF> (allele na). A genotype with <NON_REF>
// copies takes the likelihood of the same genotype with REF in their place, changed by what the
// per-read model says the swap costs (each read's second-best allele standing for <NON_REF>).
void add_non_ref(const std::vector<std::vector<double>>& reads, int na, SampleSite& site) {
  const std::vector<double> per_read = per_read_gl(reads, site.ploidy, na + 1);
  const auto gts = genotype_list(site.ploidy, na + 1);
  std::vector<double> gl;
  for (size_t g = 0; g < gts.size(); ++g) {
    std::vector<int> as_ref = gts[g];
    bool non_ref = false;
    for (int& a : as_ref) {
      if (a == na) {
        a = 0;
        non_ref = true;
      }
    }
    if (!non_ref) {
      gl.push_back(site.gl[g]);  // genotypes without <NON_REF> come first, in the same order
      continue;
    }
    std::sort(as_ref.begin(), as_ref.end());
    const size_t r = as_ref.size() == 1 ? static_cast<size_t>(as_ref[0])
                                        : static_cast<size_t>(as_ref[1] * (as_ref[1] + 1) / 2 + as_ref[0]);
    gl.push_back(site.gl[r] + per_read[g] - per_read[r]);
  }
  site.gl = std::move(gl);
  site.pl = phred_pl(site.gl);
}

}  // namespace

void trim_common_suffix(std::vector<std::string>& alleles) {
  for (;;) {
    for (const std::string& a : alleles)
      if (a.size() < 2 || a.back() != alleles[0].back()) return;
    for (std::string& a : alleles) a.pop_back();
  }
}

std::vector<double> read_likelihoods(const WindowWork& w, const ReadBatch& batch, const std::vector<double>& lik) {
  const size_t nh = w.haps.size(), nr = w.reads.size();
  std::vector<double> L(nr * nh);
  const double log_init = std::log10(kInit);
  for (size_t r = 0; r < nr; ++r) {
    double best = -INFINITY;  // over the window's own haplotypes: a gVCF's extras change no own value
    for (size_t h = 0; h < nh; ++h) {
      const double v = lik[w.first_job + r * nh + h];
      L[r * nh + h] = v > 0 ? std::log10(v) - log_init : -INFINITY;
      if (h < w.first_extra) best = std::max(best, L[r * nh + h]);
    }
    const double floor = best - std::min<int>(batch.mapq[w.reads[r]], kMaxQual) / 10.0;
    for (size_t h = 0; h < nh; ++h) L[r * nh + h] = std::max(L[r * nh + h], floor);
  }
  return L;
}

int64_t long_tract_bases(const RefSeq& ref, int64_t pos, const std::vector<std::string>& alleles) {
  int64_t longest = 0;
  for (size_t k = 1; k < alleles.size(); ++k) {
    std::string r = alleles[0], a = alleles[k];
    while (r.size() > 1 && a.size() > 1 && r.back() == a.back()) {
      r.pop_back();
      a.pop_back();
    }
    if (r.size() == a.size() || std::min(r.size(), a.size()) != 1 || r[0] != a[0]) continue;
    const bool insertion = a.size() > r.size();
    const Candidate indel{pos, static_cast<int32_t>(a.size()) - static_cast<int32_t>(r.size()),
                          insertion ? a.substr(1) : r.substr(1)};
    longest = std::max(longest, tract_end(ref, indel) - (pos + 1));
  }
  return longest;
}

double tract_prior_scale(int64_t bases, const CallParams& p) {
  const std::vector<double>& t = p.long_tract_prior_scales;
  if (!t.empty()) return t[static_cast<size_t>(std::clamp<int64_t>(bases, 0, static_cast<int64_t>(t.size()) - 1))];
  return bases >= p.long_tract_bases ? p.long_tract_prior_scale : 1.0;
}

bool tract_priors_on(const CallParams& p) {
  return !p.long_tract_prior_scales.empty() || p.long_tract_prior_scale != 1.0;
}

int64_t tract_prior_reach(const CallParams& p) {
  return p.long_tract_prior_scales.empty() ? std::max(p.long_tract_bases, 0)
                                           : static_cast<int64_t>(p.long_tract_prior_scales.size()) - 1;
}

double indel_prior_scale(const Candidate& a, const CallParams& p) {
  return tract_prior_scale(a.tract_end - (a.pos + 1), p);
}

const CallParams& record_params(const RefSeq& ref, int64_t pos, const std::vector<std::string>& alleles,
                                const CallParams& p, CallParams& scaled) {
  if (!tract_priors_on(p)) return p;
  const double scale = tract_prior_scale(long_tract_bases(ref, pos, alleles), p);
  if (scale == 1.0) return p;
  scaled = p;
  scaled.indel_het_prior *= scale;
  scaled.indel_hom_prior *= scale;
  return scaled;
}

void genotype_window(const WindowWork& w, const ReadBatch& batch, const std::vector<double>& lik, const RefSeq& ref,
                     const std::vector<SampleEvidence>& samples, const CallParams& p, const Cohort& cohort,
                     int64_t beg, int64_t end, std::vector<CallRecord>& out) {
  const Window& win = *w.win;
  const size_t nh = w.haps.size(), nr = w.reads.size();
  const size_t ns = samples.size();
  const std::vector<double> L = read_likelihoods(w, batch, lik);
  // Each sample's hypotheses, at the window's ploidy (that of its first allele's position).
  std::vector<SampleWindow> sw(ns);
  for (size_t r = 0; r < nr; ++r) sw[batch.sample[w.reads[r]]].reads.push_back(r);
  std::vector<uint8_t> selected(nh, 0);
  for (size_t s = 0; s < ns; ++s) {
    sw[s].ploidy = cohort.ploidy_at(static_cast<int>(s), win.alleles.front().pos);
    if (sw[s].ploidy == 0 || sw[s].reads.empty()) continue;
    score_hypotheses(w, L, p, sw[s]);
    selected[sw[s].hyps[sw[s].best].a] = selected[sw[s].hyps[sw[s].best].b] = 1;
  }
  if (ns > 1) {  // alleles weak in each sample but shared: the best diploid pair of all reads pooled
    SampleWindow pooled;
    for (size_t r = 0; r < nr; ++r) pooled.reads.push_back(r);
    score_hypotheses(w, L, p, pooled);
    selected[pooled.hyps[pooled.best].a] = selected[pooled.hyps[pooled.best].b] = 1;
  }
  uint64_t called = 0, any = 0;
  for (size_t h = 0; h < w.first_extra; ++h) {
    if (selected[h]) called |= w.haps[h];
    any |= w.haps[h];
  }
  // A VCF has a record where a selected haplotype has an allele; a gVCF wherever any haplotype
  // has one (another sample of a cohort may carry what this one's best haplotypes do not).
  const uint64_t at = p.gvcf ? any : called;
  if (!at) return;

  std::set<int64_t> sites;
  for (size_t k = 0; k < win.alleles.size(); ++k)
    if ((at >> k) & 1) sites.insert(win.alleles[k].pos);
  for (int64_t pos : sites) {
    if (pos < beg || pos >= end) continue;
    std::vector<size_t> here;  // the window's alleles and extras here (an extra deletion may reach further)
    int64_t ref_end = pos + 1;
    for (size_t k = 0; k < n_window_alleles(win); ++k) {
      if (window_allele(win, k).pos == pos) {
        here.push_back(k);
        ref_end = std::max(ref_end, window_allele(win, k).ref_end());
      }
    }
    const std::string ref_str = ref.sub(pos, ref_end - pos);
    // Each haplotype's allele here (`group`): REF, the selected haplotypes' alleles, then the
    // others'. A VCF record lists the selected ones, a gVCF record all of them (at most one per
    // haplotype, so that the posterior of every hypothesis lands on a listed genotype); in a VCF a
    // haplotype whose allele is not listed counts for no genotype, and a read that fits such an
    // allele best supports no listed one.
    std::vector<std::string> groups{ref_str};
    std::vector<int> group(nh, -1);
    auto group_of = [&](size_t h) {
      const std::string s = allele_on(win, here, ref_str, w.haps[h]);
      auto f = std::find(groups.begin(), groups.end(), s);
      if (f == groups.end()) f = groups.insert(groups.end(), s);
      group[h] = static_cast<int>(f - groups.begin());
    };
    for (size_t h = 0; h < w.first_extra; ++h)
      if (selected[h]) group_of(h);
    const int n_sel = static_cast<int>(groups.size());  // REF and the selected haplotypes' alleles
    if (n_sel > kMaxRecordAlleles || (!p.gvcf && n_sel < 2)) continue;
    for (size_t h = 0; h < w.first_extra; ++h)
      if (!selected[h]) group_of(h);
    const int ng_own = static_cast<int>(groups.size());
    const int na_own = p.gvcf ? ng_own : n_sel;  // what the sample's own model lists
    if (na_own < 2) continue;
    // gVCF: the extras here, after the window's own alleles (an extra that spells one of those, or
    // that lies elsewhere, counts for no genotype of this record).
    for (size_t h = w.first_extra; h < nh; ++h) {
      if (extra_position(win, w.haps[h]) != pos) continue;
      const std::string s = allele_on(win, here, ref_str, w.haps[h]);
      const int g = static_cast<int>(std::find(groups.begin(), groups.end(), s) - groups.begin());
      if (g < ng_own) continue;
      if (g == static_cast<int>(groups.size())) groups.push_back(s);
      group[h] = g;
    }
    const int ng = static_cast<int>(groups.size());
    const int na = na_own + (ng - ng_own);  // extras only in a gVCF, where na_own == ng_own
    std::vector<int> hap_idx(nh, -1);
    for (size_t h = 0; h < nh; ++h) hap_idx[h] = group[h] < na ? group[h] : -1;
    std::vector<std::string> alleles(groups.begin(), groups.begin() + na);
    std::vector<bool> indel;
    for (const std::string& a : alleles) indel.push_back(a.size() != alleles[0].size());
    trim_common_suffix(alleles);

    // The tract priors are those of the alleles the haplotypes selected, as the plain record lists
    // them: a gVCF's other alleles (unselected, extras) change no GL through them, so genotyping
    // the gVCF gives the call's record.
    CallParams scaled;
    const std::vector<std::string> selected_alleles(alleles.begin(), alleles.begin() + n_sel);
    const CallParams& rp = record_params(ref, pos, selected_alleles, p, scaled);
    CallRecord rec;
    rec.pos = pos;
    rec.ref = alleles[0];
    rec.alts.assign(alleles.begin() + 1, alleles.end());
    rec.dp = 0;
    std::vector<SampleSite> sample_sites;
    // AD and strand counts: a read supports the allele group whose best haplotype beats the
    // other groups' best by a factor of 3 or more.
    std::vector<double> sf(static_cast<size_t>(ng), 0.0), sr(static_cast<size_t>(ng), 0.0);
    bool covered = false;
    const bool phase = p.phase;
    std::vector<std::vector<ReadAlleles>> phase_reads(phase ? ns : 0);
    for (size_t s = 0; s < ns; ++s) {
      SampleSite site = window_site(sw[s], hap_idx, na, na_own, indel, rp);
      site.ad.assign(static_cast<size_t>(na), 0);
      std::vector<std::vector<double>> read_alleles;  // gVCF: per read, the listed alleles' best
      for (size_t r : sw[s].reads) {
        const int32_t i = w.reads[r];
        if (batch.pos[i] > pos || batch.end[i] <= pos) continue;
        ++site.dp;
        std::vector<double> best_of(static_cast<size_t>(ng), -INFINITY);
        for (size_t h = 0; h < nh; ++h)
          if (group[h] >= 0) best_of[group[h]] = std::max(best_of[group[h]], L[r * nh + h]);
        // AD, strands and phase over the sample's own alleles, as its call sees them
        const auto [top, second] = best_and_runner_up(best_of, ng_own);
        if (best_of[top] - second >= std::log10(3.0)) {
          if (top < na_own) ++site.ad[top];
          (is_reverse(batch.flag[i]) ? sr : sf)[top] += 1;
        }
        if (phase)
          phase_reads[s].push_back({batch.name_hash[static_cast<size_t>(i)], fragment_reach(batch, i),
                                    std::vector<double>(best_of.begin(), best_of.begin() + na_own)});
        if (p.gvcf) {
          best_of.resize(static_cast<size_t>(na));
          const double next = best_and_runner_up(best_of, na).second;
          best_of.push_back(next);  // <NON_REF>: the read's second-best allele, as GATK
          read_alleles.push_back(std::move(best_of));
        }
      }
      if (p.gvcf && site.covered) {
        add_non_ref(read_alleles, na, site);
        site.ad.push_back(0);
      }
      if (!site.covered) site.ad.clear();
      covered |= site.covered;
      rec.dp += site.dp;
      sample_sites.push_back(std::move(site));
    }
    // SOR of REF against the selected ALTs (where none is selected, as in a gVCF's uncalled
    // record: against every listed one).
    const int last_alt = n_sel > 1 ? n_sel : na_own;
    double alt_f = 0, alt_r = 0;
    for (int a = 1; a < last_alt; ++a) {
      alt_f += sf[a];
      alt_r += sr[a];
    }
    rec.mq = mapping_quality(samples, pos - samples[0].pu.beg);
    rec.sor = strand_odds_ratio(sf[0], sr[0], alt_f, alt_r);
    rec.haplotype_model = true;
    rec.repeat_alts = ng - ng_own;
    if (!genotype_cohort(sample_sites, na, cohort, rp, 3000.0, rec) && !(p.gvcf && covered)) continue;
    if (!p.platforms.empty() && ont_indel_strand_bias(rec, sf[0], sr[0], alt_f, alt_r, p))
      rec.filter |= kFilterStrandBias;
    if (phase) window_phase_obs(phase_reads, rec);
    if (p.gvcf) rec.alts.push_back(kNonRef);
    out.push_back(std::move(rec));
  }
}

}  // namespace gms::calling
