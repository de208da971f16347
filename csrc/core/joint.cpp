// The cohort genotyper: per-sample genotypes of a site from each sample's own model, adjusted by
// the other samples' allele frequencies and by the trios of a pedigree; site QUAL; de novo
// qualities.
#include <algorithm>
#include <cmath>

#include "core/calling.hpp"
#include "gmscall/errors.hpp"
#include "kernels/genotype.hpp"

namespace gms::calling {

namespace {

constexpr int kCohortRounds = 3;     // leave-one-out frequency updates (fixed: deterministic)

int phred_int(double log10_p) {  // -10 log10 p, as an integer capped for VCF
  const double q = -10.0 * log10_p;
  return static_cast<int>(std::lround(std::min(q, 99.0)));
}

bool carries_alt(const std::vector<int>& g) {
  for (int a : g)
    if (a > 0) return true;
  return false;
}

// A sample's working posterior over the site's genotypes (log10, normalised over them).
struct Belief {
  std::vector<double> post;
  std::vector<double> prior;  // the prior `post` currently uses
  bool adjusted = false;      // differs from the model's own call basis
};

void normalise(std::vector<double>& v) {
  const double z = log10_sum(v);
  if (z == -INFINITY) return;
  for (double& x : v) x -= z;
}

// Allele frequencies from the expected allele counts of the samples other than `skip`, with one
// pseudo-count on the reference (a cohort that shows nothing leaves the fixed priors in force).
std::vector<double> frequencies_without(const std::vector<std::vector<double>>& expected,
                                        const std::vector<int>& chromosomes, size_t skip, int n_alleles) {
  std::vector<double> f(static_cast<size_t>(n_alleles), 0.0);
  double total = 1.0;
  f[0] = 1.0;
  for (size_t s = 0; s < expected.size(); ++s) {
    if (s == skip || chromosomes[s] == 0) continue;
    for (int a = 0; a < n_alleles; ++a) f[static_cast<size_t>(a)] += expected[s][static_cast<size_t>(a)];
    total += chromosomes[s];
  }
  for (double& x : f) x /= total;
  return f;
}

double log10_hwe(const std::vector<int>& g, const std::vector<double>& f) {
  if (g.size() == 1) return std::log10(f[static_cast<size_t>(g[0])]);
  const double p = f[static_cast<size_t>(g[0])] * f[static_cast<size_t>(g[1])] * (g[0] == g[1] ? 1.0 : 2.0);
  return std::log10(p);
}

// Cohort prior: a genotype's prior is raised to its Hardy-Weinberg probability under the other
// samples' allele frequencies when that is higher. Leave-one-out, so no sample's own reads count
// twice; a sample whose cohort shows nothing keeps exactly the fixed priors (and its call).
void apply_cohort_prior(const std::vector<SampleSite>& sites, const std::vector<std::vector<std::vector<int>>>& gts,
                        int n_alleles, std::vector<Belief>& belief) {
  const size_t ns = sites.size();
  std::vector<int> chromosomes(ns, 0);
  for (size_t s = 0; s < ns; ++s) chromosomes[s] = sites[s].covered ? sites[s].ploidy : 0;
  for (int round = 0; round < kCohortRounds; ++round) {
    std::vector<std::vector<double>> expected(ns, std::vector<double>(static_cast<size_t>(n_alleles), 0.0));
    for (size_t s = 0; s < ns; ++s) {
      if (!chromosomes[s]) continue;
      for (size_t g = 0; g < gts[s].size(); ++g) {
        const double p = std::pow(10.0, belief[s].post[g]);
        for (int a : gts[s][g]) expected[s][static_cast<size_t>(a)] += p;
      }
    }
    for (size_t s = 0; s < ns; ++s) {
      if (!chromosomes[s]) continue;
      const std::vector<double> f = frequencies_without(expected, chromosomes, s, n_alleles);
      Belief& b = belief[s];
      std::vector<double> post(gts[s].size());
      bool raised = false;
      for (size_t g = 0; g < gts[s].size(); ++g) {
        double prior = sites[s].prior[g];
        if (carries_alt(gts[s][g])) {
          const double hwe = log10_hwe(gts[s][g], f);
          if (hwe > prior) {
            prior = hwe;
            raised = true;
          }
        }
        b.prior[g] = prior;
        post[g] = sites[s].post[g] - sites[s].prior[g] + prior;
      }
      normalise(post);
      b.post = std::move(post);
      b.adjusted = raised;
    }
  }
}

// Alleles a parent passes on, with their probabilities, for one of its genotypes.
void transmitted(const std::vector<int>& g, std::vector<std::pair<int, double>>& out) {
  out.clear();
  for (int a : g) out.emplace_back(a, 1.0 / static_cast<double>(g.size()));
}

// P(child genotype | parents' genotypes) without mutation. A diploid child takes one allele from
// each parent; a haploid child (chrX of a male, chrY, chrM) from the mother when she has the
// chromosome, else from the father.
double transmission(const std::vector<int>& child, const std::vector<int>& father, const std::vector<int>& mother) {
  std::vector<std::pair<int, double>> from_f, from_m;
  transmitted(father, from_f);
  transmitted(mother, from_m);
  if (child.size() == 1) {
    const auto& from = mother.empty() ? from_f : from_m;
    double p = 0.0;
    for (const auto& [a, w] : from)
      if (a == child[0]) p += w;
    return p;
  }
  if (father.empty() || mother.empty()) return 0.0;
  double p = 0.0;
  for (const auto& [x, wx] : from_f) {
    for (const auto& [y, wy] : from_m) {
      if ((x == child[0] && y == child[1]) || (y == child[0] && x == child[1])) p += wx * wy;
    }
  }
  return p;
}

// Does the child carry an ALT allele that neither parent's genotype has? (A child 0/1 of 1/1
// parents breaks transmission too, but by losing an allele, not by a de novo ALT.)
bool has_novel_alt(const std::vector<int>& child, const std::vector<int>& father, const std::vector<int>& mother) {
  for (int a : child) {
    if (a <= 0) continue;
    const bool in_father = std::find(father.begin(), father.end(), a) != father.end();
    const bool in_mother = std::find(mother.begin(), mother.end(), a) != mother.end();
    if (!in_father && !in_mother) return true;
  }
  return false;
}

// Joint posterior of a trio: parents' beliefs, the child's likelihood (its belief over its
// prior) and Mendelian transmission with a small de novo rate. Replaces the three beliefs by their
// marginals and returns the child's de novo quality.
int apply_trio(const std::array<int, 3>& trio, const std::vector<SampleSite>& sites,
               const std::vector<std::vector<std::vector<int>>>& gts, const CallParams& p,
               std::vector<Belief>& belief) {
  const auto [c, f, m] = trio;
  if (!sites[static_cast<size_t>(c)].covered) return -1;
  // A parent without the chromosome (or without reads) is one empty genotype of weight 1, or
  // its prior respectively.
  auto weights = [&](int s, std::vector<std::vector<int>>& g, std::vector<double>& w) {
    const SampleSite& site = sites[static_cast<size_t>(s)];
    if (site.ploidy == 0) {
      g = {{}};
      w = {0.0};
      return;
    }
    g = gts[static_cast<size_t>(s)];
    w = site.covered ? belief[static_cast<size_t>(s)].post : site.prior;
  };
  std::vector<std::vector<int>> gf, gm;
  std::vector<double> wf, wm;
  weights(f, gf, wf);
  weights(m, gm, wm);
  const auto& gc = gts[static_cast<size_t>(c)];
  const Belief& bc = belief[static_cast<size_t>(c)];
  const double mu = p.de_novo_prior;
  std::vector<double> terms;
  struct Cell { size_t i, j, k; double v; bool novel_alt; };
  std::vector<Cell> cells;
  for (size_t i = 0; i < gf.size(); ++i) {
    for (size_t j = 0; j < gm.size(); ++j) {
      for (size_t k = 0; k < gc.size(); ++k) {
        const double t = transmission(gc[k], gf[i], gm[j]);
        const double tm = (1.0 - mu) * t + mu / static_cast<double>(gc.size());
        const double v = wf[i] + wm[j] + (bc.post[k] - bc.prior[k]) + std::log10(tm);
        cells.push_back({i, j, k, v, has_novel_alt(gc[k], gf[i], gm[j])});
        terms.push_back(v);
      }
    }
  }
  const double z = log10_sum(terms);
  if (z == -INFINITY) return -1;
  std::vector<double> mf(gf.size(), -INFINITY), mm(gm.size(), -INFINITY), mc(gc.size(), -INFINITY);
  double de_novo = -INFINITY;
  for (const Cell& x : cells) {
    const double v = x.v - z;
    mf[x.i] = log10_add(mf[x.i], v);
    mm[x.j] = log10_add(mm[x.j], v);
    mc[x.k] = log10_add(mc[x.k], v);
    if (x.novel_alt) de_novo = log10_add(de_novo, v);
  }
  auto update = [&](int s, std::vector<double>& marginal) {
    if (!sites[static_cast<size_t>(s)].covered) return;
    belief[static_cast<size_t>(s)].post = std::move(marginal);
    belief[static_cast<size_t>(s)].adjusted = true;
  };
  update(f, mf);
  update(m, mm);
  update(c, mc);
  const double not_de_novo = std::log10(std::max(0.0, 1.0 - std::pow(10.0, de_novo)));
  return phred_int(not_de_novo);
}

}  // namespace

std::vector<std::vector<int>> genotype_list(int ploidy, int n_alleles) {
  std::vector<std::vector<int>> g;
  if (ploidy == 1) {
    for (int a = 0; a < n_alleles; ++a) g.push_back({a});
  } else if (ploidy == 2) {
    for (int j = 0; j < n_alleles; ++j)
      for (int i = 0; i <= j; ++i) g.push_back({i, j});
  }
  return g;
}

double genotype_prior(const std::vector<int>& g, const std::vector<bool>& indel, const CallParams& p) {
  auto het = [&](int a) { return indel[static_cast<size_t>(a)] ? p.indel_het_prior : p.snv_het_prior; };
  auto hom = [&](int a) { return indel[static_cast<size_t>(a)] ? p.indel_hom_prior : p.snv_hom_prior; };
  if (g.size() == 1) {  // one copy: it carries the ALT as often as a diploid's copy does
    return g[0] == 0 ? 0.0 : std::log10(het(g[0]) / 2.0 + hom(g[0]));
  }
  const int i = g[0], j = g[1];
  if (j == 0) return 0.0;
  if (i == 0) return std::log10(het(j));
  if (i == j) return std::log10(hom(j));
  return std::log10(het(i) * hom(j));
}

namespace {

// QUAL over the depth of the samples that carry an ALT (GATK's QD): the evidence per read.
double qual_by_depth(const CallRecord& rec) {
  int dp = 0;
  for (const SampleCall& c : rec.samples)
    if (carries_alt(c.gt)) dp += c.dp;
  return rec.qual / std::max(1, dp);
}

bool is_snv(const CallRecord& rec) {
  if (rec.ref.size() != 1) return false;
  for (const std::string& a : rec.alts)
    if (a.size() != 1) return false;
  return true;
}

// A base substitution whose ALT reads keep to one strand (SOR) while giving little evidence per
// read (QD) has the shape of a strand-specific sequencing error (Illumina's after GG, or after a
// homopolymer). Either bound alone also fires on true SNVs: random strand splits of good reads,
// hets with few ALT reads.
bool strand_bias(const CallRecord& rec, const CallParams& p) {
  return is_snv(rec) && rec.sor > p.strand_bias_sor && qual_by_depth(rec) < p.strand_bias_qd;
}

}  // namespace

double binomial_two_sided(int k, int n, double p) {
  auto pmf = [&](int x) {
    return std::exp(std::lgamma(n + 1.0) - std::lgamma(x + 1.0) - std::lgamma(n - x + 1.0) + x * std::log(p) +
                    (n - x) * std::log1p(-p));
  };
  const double obs = pmf(k);
  double total = 0.0;
  for (int x = 0; x <= n; ++x) {
    const double v = pmf(x);
    if (v <= obs * (1.0 + 1e-9)) total += v;
  }
  return std::min(1.0, total);
}

bool alt_strand_biased(double ref_f, double ref_r, double alt_f, double alt_r, double max_p) {
  const int af = static_cast<int>(std::lround(alt_f)), ar = static_cast<int>(std::lround(alt_r));
  const int alt_n = af + ar;
  if (alt_n < 8) return false;
  const double fwd_share = (ref_f + 1.0) / (ref_f + ref_r + 2.0);
  const double ref_minor = std::min(fwd_share, 1.0 - fwd_share);
  return std::min(af, ar) <= 0.1 * alt_n && ref_minor >= 0.2 && binomial_two_sided(af, alt_n, fwd_share) < max_p;
}

bool ont_indel_strand_bias(const CallRecord& rec, double ref_f, double ref_r, double alt_f, double alt_r,
                           const CallParams& p) {
  if (is_snv(rec) || p.ont_indel_strand_p <= 0.0) return false;
  bool any = false;
  for (size_t s = 0; s < rec.samples.size(); ++s) {
    if (!carries_alt(rec.samples[s].gt)) continue;
    if (s >= p.platforms.size() || p.platforms[s] != kPlatformOnt) return false;
    any = true;
  }
  return any && alt_strand_biased(ref_f, ref_r, alt_f, alt_r, p.ont_indel_strand_p);
}

bool genotype_cohort(const std::vector<SampleSite>& sites, int n_alleles, const Cohort& cohort, const CallParams& p,
                     double qual_cap, CallRecord& rec) {
  const size_t ns = sites.size();
  std::vector<std::vector<std::vector<int>>> gts(ns);
  std::vector<Belief> belief(ns);
  for (size_t s = 0; s < ns; ++s) {
    gts[s] = genotype_list(sites[s].ploidy, n_alleles);
    belief[s].post = sites[s].post;
    belief[s].prior = sites[s].prior;
    if (sites[s].covered) normalise(belief[s].post);
  }
  if (ns > 1) apply_cohort_prior(sites, gts, n_alleles, belief);
  std::vector<int> dnq(ns, -1);
  for (const auto& trio : cohort.trios) dnq[static_cast<size_t>(trio[0])] = apply_trio(trio, sites, gts, p, belief);

  double p_none = 0.0;  // log10 P(no sample carries an ALT): samples taken as independent
  bool any_alt = false;
  rec.samples.assign(ns, SampleCall{});
  for (size_t s = 0; s < ns; ++s) {
    const SampleSite& site = sites[s];
    SampleCall& call = rec.samples[s];
    call.ploidy = site.ploidy;
    call.dp = site.dp;
    if (!site.covered) continue;
    p_none += site.p_ref_only;
    size_t best = static_cast<size_t>(site.called);
    if (belief[s].adjusted) {
      best = 0;
      for (size_t g = 1; g < gts[s].size(); ++g)
        if (belief[s].post[g] > belief[s].post[best]) best = g;
    }
    std::vector<double> others;
    const std::vector<double>& post = belief[s].adjusted ? belief[s].post : site.post;
    for (size_t g = 0; g < post.size(); ++g)
      if (g != best) others.push_back(post[g]);
    call.gt = gts[s][best];
    call.gq = phred_int(log10_sum(others));
    call.ad = site.ad;
    call.pl = site.pl;
    if (p.gvcf) call.gl = site.gl;
    if (dnq[s] >= 0 && carries_alt(call.gt)) call.dnq = dnq[s];
    any_alt |= carries_alt(call.gt);
  }
  // QUAL and FILTER also for a record that is not written: a gVCF keeps every candidate site.
  rec.qual = p_none == -INFINITY ? qual_cap : std::min(qual_cap, -10.0 * p_none);
  rec.filter = rec.qual < p.low_qual ? kFilterLowQual : 0;
  if (any_alt && strand_bias(rec, p)) rec.filter |= kFilterStrandBias;
  return any_alt && rec.qual >= p.min_qual;
}

SampleSite site_from_likelihoods(int ploidy, int dp, const std::vector<int>& ad, const std::vector<double>& gl,
                                 const std::vector<bool>& indel, const CallParams& p) {
  SampleSite site;
  site.ploidy = ploidy;
  site.dp = dp;
  const auto gts = genotype_list(ploidy, static_cast<int>(indel.size()));
  for (const auto& g : gts) site.prior.push_back(genotype_prior(g, indel, p));
  if (gl.empty() || ploidy == 0) return site;
  if (gl.size() != gts.size()) throw InputError("genotype likelihoods: " + std::to_string(gl.size()) +
                                                " values for " + std::to_string(gts.size()) + " genotypes");
  site.covered = true;
  site.ad = ad;
  for (size_t g = 0; g < gts.size(); ++g) site.post.push_back(gl[g] + site.prior[g]);
  const double norm = log10_sum(site.post);
  for (double& v : site.post) v -= norm;
  size_t best = 0;
  for (size_t g = 1; g < site.post.size(); ++g)
    if (site.post[g] > site.post[best]) best = g;
  site.called = static_cast<int>(best);
  site.p_ref_only = site.post[0];
  const double max_gl = *std::max_element(gl.begin(), gl.end());
  for (double v : gl) site.pl.push_back(static_cast<int>(std::lround(std::min(999.0, -10.0 * (v - max_gl)))));
  return site;
}

}  // namespace gms::calling

namespace gms::calling {

bool genotype_gvcf_site(const std::vector<std::string>& alleles, const std::vector<GvcfSample>& samples,
                        const std::vector<bool>& per_site, bool hap, const Cohort& cohort, const CallParams& site_p,
                        const RefSeq& ref, int64_t pos, CallRecord& rec,
                        const std::vector<std::string>& prior_alleles) {
  CallParams scaled;
  const CallParams& p = record_params(ref, pos, prior_alleles.empty() ? alleles : prior_alleles, site_p, scaled);
  const int n = static_cast<int>(alleles.size());
  std::vector<bool> indel;
  for (const std::string& a : alleles) indel.push_back(a.size() != alleles[0].size());
  std::vector<SampleSite> full;
  std::vector<bool> keep(per_site.begin(), per_site.end());
  keep.resize(static_cast<size_t>(n), false);
  keep[0] = true;
  for (const GvcfSample& s : samples) {
    full.push_back(site_from_likelihoods(s.ploidy, s.dp, s.ad, s.gl, indel, p));
    const auto gts = genotype_list(s.ploidy, n);
    if (full.back().covered && s.called >= 0 && s.called < static_cast<int>(gts.size()))
      for (int a : gts[static_cast<size_t>(s.called)]) keep[static_cast<size_t>(a)] = true;
  }
  std::vector<int> kept;  // site allele of each record allele
  for (int a = 0; a < n; ++a)
    if (keep[static_cast<size_t>(a)]) kept.push_back(a);
  const int nk = static_cast<int>(kept.size());
  if (nk < 2) return false;
  std::vector<bool> kept_indel;
  for (int a : kept) kept_indel.push_back(indel[static_cast<size_t>(a)]);

  std::vector<SampleSite> sites;
  for (size_t s = 0; s < samples.size(); ++s) {
    const SampleSite& f = full[s];
    SampleSite r;
    r.ploidy = f.ploidy;
    r.dp = f.dp;
    const auto gts = genotype_list(f.ploidy, nk);
    for (const auto& g : gts) r.prior.push_back(genotype_prior(g, kept_indel, p));
    if (!f.covered) {
      sites.push_back(std::move(r));
      continue;
    }
    r.covered = true;
    const auto full_gts = genotype_list(f.ploidy, n);
    auto full_index = [&](const std::vector<int>& g) {
      if (g.size() == 1) return static_cast<size_t>(kept[static_cast<size_t>(g[0])]);
      const int x = kept[static_cast<size_t>(g[0])], y = kept[static_cast<size_t>(g[1])];
      return static_cast<size_t>(y * (y + 1) / 2 + x);  // kept is increasing: x <= y
    };
    // Carrying none of the record's ALTs: REF, or alleles that are left out.
    std::vector<double> none;
    for (size_t g = 0; g < full_gts.size(); ++g) {
      bool alt = false;
      for (int a : full_gts[g]) alt |= a > 0 && keep[static_cast<size_t>(a)];
      if (!alt) none.push_back(f.post[g]);
    }
    r.p_ref_only = log10_sum(none);
    std::vector<double> gl;
    for (const auto& g : gts) {
      const size_t k = full_index(g);
      r.post.push_back(f.post[k]);
      gl.push_back(samples[s].gl[k]);
    }
    const GvcfSample& in = samples[s];
    r.called = -1;
    if (in.called >= 0 && in.called < static_cast<int>(full_gts.size())) {
      for (size_t g = 0; g < gts.size(); ++g)
        if (full_index(gts[g]) == static_cast<size_t>(in.called)) r.called = static_cast<int>(g);
    }
    if (r.called < 0) {  // a sample without a record here (a reference block): its best genotype
      r.called = 0;
      for (size_t g = 1; g < r.post.size(); ++g)
        if (r.post[g] > r.post[static_cast<size_t>(r.called)]) r.called = static_cast<int>(g);
    }
    const double max_gl = *std::max_element(gl.begin(), gl.end());
    for (double v : gl) {
      const double q = -10.0 * (v - max_gl);
      r.pl.push_back(static_cast<int>(std::lround(hap ? std::min(999.0, q) : q)));
    }
    for (int a : kept)
      r.ad.push_back(static_cast<size_t>(a) < in.ad.size() ? in.ad[static_cast<size_t>(a)] : 0);
    sites.push_back(std::move(r));
  }
  std::vector<std::string> out_alleles;
  for (int a : kept) out_alleles.push_back(alleles[static_cast<size_t>(a)]);
  trim_common_suffix(out_alleles);
  rec.ref = out_alleles[0];
  rec.alts.assign(out_alleles.begin() + 1, out_alleles.end());
  rec.haplotype_model = hap;
  return genotype_cohort(sites, nk, cohort, p, hap ? 3000.0 : INFINITY, rec);
}

}  // namespace gms::calling
