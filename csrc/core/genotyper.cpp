// Genotyping: the per-site SNV model and the haplotype-pair model, QUAL/GQ/PL/AD/DP/MQ/SOR.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/calling.hpp"
#include "io/reference.hpp"
#include "kernels/alignment_walk.hpp"
#include "kernels/genotype.hpp"

namespace gms::calling {

namespace {

double log10_sum(const std::vector<double>& v) {
  double m = -INFINITY;
  for (double x : v) m = std::max(m, x);
  if (m == -INFINITY) return m;
  double s = 0.0;
  for (double x : v) s += std::pow(10.0, x - m);
  return m + std::log10(s);
}

int phred_int(double log10_p) {  // -10 log10 p, as an integer capped for VCF
  const double q = -10.0 * log10_p;
  return static_cast<int>(std::lround(std::min(q, 99.0)));
}

double strand_odds_ratio(double ref_f, double ref_r, double alt_f, double alt_r) {
  ref_f += 1; ref_r += 1; alt_f += 1; alt_r += 1;
  const double ratio = (ref_f * alt_r) / (ref_r * alt_f);
  const double sym = ratio + 1.0 / ratio;
  const double ref_ratio = std::min(ref_f, ref_r) / std::max(ref_f, ref_r);
  const double alt_ratio = std::min(alt_f, alt_r) / std::max(alt_f, alt_r);
  return std::log(sym) + std::log(ref_ratio) - std::log(alt_ratio);
}

// Genotypes of n alleles in VCF order: (0,0), (0,1), (1,1), (0,2), (1,2), (2,2), ...
std::vector<std::pair<int, int>> vcf_genotypes(int n) {
  std::vector<std::pair<int, int>> g;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i <= j; ++i) g.emplace_back(i, j);
  return g;
}

double mapping_quality(const PileupResult& pu, int64_t x) {
  const uint32_t d = depth_at(pu, x);
  return d ? std::sqrt(static_cast<double>(pu.mq2[x]) / d) : 0.0;
}

}  // namespace

void call_site_snvs(const PileupResult& pu, const std::vector<Candidate>& snvs, const CallParams& p,
                    int64_t beg, int64_t end, std::vector<CallRecord>& out) {
  const double ln_to_log10 = 1.0 / (kLlScale * std::log(10.0));
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
    const int64_t x = pos - pu.beg;
    const char rc = pu.ref[x];
    std::vector<int> base{static_cast<int>(base_to_allele(rc))};
    for (const Candidate& a : alts) base.push_back(base_to_allele(a.seq[0]));
    const long long* ll = &pu.snv_ll[x * 12];
    auto term = [&](int b, int t) { return static_cast<double>(ll[b * 3 + t]) * ln_to_log10; };
    const auto gts = vcf_genotypes(static_cast<int>(base.size()));
    std::vector<double> gl, post;
    for (const auto& [i, j] : gts) {
      const int a = base[i], c = base[j];
      double v = 0.0;
      for (int b = 0; b < 4; ++b) {
        if (a == c) v += b == a ? term(b, 0) : term(b, 2);
        else v += (b == a || b == c) ? term(b, 1) : term(b, 2);
      }
      gl.push_back(v);
      double prior = 0.0;
      if (i == 0 && j > 0) prior = std::log10(p.snv_het_prior);
      else if (i > 0 && i == j) prior = std::log10(p.snv_hom_prior);
      else if (i > 0) prior = std::log10(p.snv_het_prior * p.snv_hom_prior);
      post.push_back(v + prior);
    }
    const double norm = log10_sum(post);
    size_t best = 0;
    for (size_t g = 1; g < post.size(); ++g)
      if (post[g] > post[best]) best = g;
    if (best == 0) continue;
    const double qual = -10.0 * (post[0] - norm);
    if (qual < p.min_qual) continue;
    std::vector<double> others;
    for (size_t g = 0; g < post.size(); ++g)
      if (g != best) others.push_back(post[g] - norm);
    double max_gl = *std::max_element(gl.begin(), gl.end());
    CallRecord rec;
    rec.pos = pos;
    rec.ref = std::string(1, rc);
    for (const Candidate& a : alts) rec.alts.push_back(a.seq);
    rec.qual = qual;
    rec.filter = qual < p.low_qual ? kFilterLowQual : 0;
    rec.gt[0] = gts[best].first;
    rec.gt[1] = gts[best].second;
    rec.gq = phred_int(log10_sum(others));
    for (double v : gl) rec.pl.push_back(static_cast<int>(std::lround(-10.0 * (v - max_gl))));
    double alt_f = 0, alt_r = 0;
    for (size_t a = 0; a < base.size(); ++a) {
      rec.ad.push_back(static_cast<int>(sum_counts(pu, x, base[a])));
      if (a > 0) {
        alt_f += pu.counts[x * 12 + base[a]];
        alt_r += pu.counts[x * 12 + 6 + base[a]];
      }
    }
    rec.dp = static_cast<int>(depth_at(pu, x));
    rec.mq = mapping_quality(pu, x);
    rec.sor = strand_odds_ratio(pu.counts[x * 12 + base[0]], pu.counts[x * 12 + 6 + base[0]], alt_f, alt_r);
    rec.haplotype_model = false;
    out.push_back(std::move(rec));
  }
}

void genotype_window(const WindowWork& w, const ReadBatch& batch, const std::vector<double>& lik,
                     const RefSeq& ref, const PileupResult& pu, const CallParams& p, int64_t beg, int64_t end,
                     std::vector<CallRecord>& out) {
  const Window& win = *w.win;
  const size_t nh = w.haps.size(), nr = w.reads.size();
  // Per-read log10 likelihoods, floored by the chance that the read is mismapped.
  std::vector<double> L(nr * nh);
  const double log_init = std::log10(kInit);
  for (size_t r = 0; r < nr; ++r) {
    double best = -INFINITY;
    for (size_t h = 0; h < nh; ++h) {
      const double v = lik[w.first_job + r * nh + h];
      L[r * nh + h] = v > 0 ? std::log10(v) - log_init : -INFINITY;
      best = std::max(best, L[r * nh + h]);
    }
    const double floor = best - std::min<int>(batch.mapq[w.reads[r]], kMaxQual) / 10.0;
    for (size_t h = 0; h < nh; ++h) L[r * nh + h] = std::max(L[r * nh + h], floor);
  }
  // Haplotype pairs: likelihood and prior.
  struct Pair { size_t a, b; double gl, post; };
  std::vector<Pair> pairs;
  for (size_t b = 0; b < nh; ++b) {
    for (size_t a = 0; a <= b; ++a) {
      double gl = 0.0;
      for (size_t r = 0; r < nr; ++r) {
        const double x = L[r * nh + a], y = L[r * nh + b];
        gl += log10_add(x, y) - std::log10(2.0);
      }
      double prior = 0.0;
      const uint64_t both = w.haps[a] & w.haps[b], any = w.haps[a] | w.haps[b];
      for (size_t k = 0; k < win.alleles.size(); ++k) {
        if (!((any >> k) & 1)) continue;
        const bool indel = win.alleles[k].is_indel();
        const bool hom = (both >> k) & 1;
        prior += std::log10(indel ? (hom ? p.indel_hom_prior : p.indel_het_prior)
                                  : (hom ? p.snv_hom_prior : p.snv_het_prior));
      }
      pairs.push_back({a, b, gl, gl + prior});
    }
  }
  std::vector<double> posts;
  for (const Pair& q : pairs) posts.push_back(q.post);
  const double norm = log10_sum(posts);
  size_t best = 0;
  for (size_t k = 1; k < pairs.size(); ++k)
    if (pairs[k].post > pairs[best].post) best = k;
  const uint64_t called = w.haps[pairs[best].a] | w.haps[pairs[best].b];
  if (!called) return;

  // One record per anchor position carrying a called allele.
  std::set<int64_t> sites;
  for (size_t k = 0; k < win.alleles.size(); ++k)
    if ((called >> k) & 1) sites.insert(win.alleles[k].pos);
  for (int64_t pos : sites) {
    if (pos < beg || pos >= end) continue;
    std::vector<size_t> here;
    int64_t ref_end = pos + 1;
    for (size_t k = 0; k < win.alleles.size(); ++k) {
      if (win.alleles[k].pos == pos) {
        here.push_back(k);
        ref_end = std::max(ref_end, win.alleles[k].ref_end());
      }
    }
    const std::string ref_str = ref.sub(pos, ref_end - pos);
    // The sequence each haplotype has over [pos, ref_end): its record allele.
    auto hap_allele_seq = [&](uint64_t mask) {
      std::string s = ref_str;
      // Apply right to left within the REF span.
      for (auto it = here.rbegin(); it != here.rend(); ++it) {
        if (!((mask >> *it) & 1)) continue;
        const Candidate& a = win.alleles[*it];
        if (a.len == 0) s[0] = a.seq[0];
        else if (a.len > 0) s.insert(1, a.seq);
        else s.erase(1, static_cast<size_t>(-a.len));
      }
      return s;
    };
    std::vector<std::string> alleles{ref_str};
    std::vector<int> hap_idx(nh, -1);
    for (size_t h = 0; h < nh; ++h) {
      const std::string s = hap_allele_seq(w.haps[h]);
      auto f = std::find(alleles.begin(), alleles.end(), s);
      if (f == alleles.end()) {
        // Only alleles of the called pair become ALTs; other haplotypes' alleles map to none.
        if (h != pairs[best].a && h != pairs[best].b) continue;
        alleles.push_back(s);
        f = alleles.end() - 1;
      }
      hap_idx[h] = static_cast<int>(f - alleles.begin());
    }
    if (alleles.size() < 2) continue;
    if (alleles.size() > 3) continue;  // cannot happen for a diploid pair; guard
    const int na = static_cast<int>(alleles.size());
    const auto gts = vcf_genotypes(na);
    std::vector<double> gt_gl(gts.size(), -INFINITY), gt_post(gts.size(), -INFINITY);
    double p_ref_only = -INFINITY;
    for (const Pair& q : pairs) {
      int x = hap_idx[q.a], y = hap_idx[q.b];
      if (x < 0 || y < 0) continue;
      if (x > y) std::swap(x, y);
      const size_t g = static_cast<size_t>(y * (y + 1) / 2 + x);
      gt_gl[g] = std::max(gt_gl[g], q.gl);
      gt_post[g] = log10_add(gt_post[g], q.post - norm);
    }
    for (const Pair& q : pairs) {
      if (hap_idx[q.a] <= 0 && hap_idx[q.b] <= 0) p_ref_only = log10_add(p_ref_only, q.post - norm);
    }
    int gx = hap_idx[pairs[best].a], gy = hap_idx[pairs[best].b];
    if (gx > gy) std::swap(gx, gy);
    const size_t gcalled = static_cast<size_t>(gy * (gy + 1) / 2 + gx);
    const double qual = p_ref_only == -INFINITY ? 3000.0 : std::min(3000.0, -10.0 * p_ref_only);
    if (qual < p.min_qual) continue;
    std::vector<double> others;
    for (size_t g = 0; g < gts.size(); ++g)
      if (g != gcalled) others.push_back(gt_post[g]);
    const double max_gl = *std::max_element(gt_gl.begin(), gt_gl.end());

    CallRecord rec;
    rec.pos = pos;
    rec.ref = ref_str;
    rec.alts.assign(alleles.begin() + 1, alleles.end());
    rec.qual = qual;
    rec.filter = qual < p.low_qual ? kFilterLowQual : 0;
    rec.gt[0] = gx;
    rec.gt[1] = gy;
    rec.gq = phred_int(log10_sum(others));
    for (double v : gt_gl) {
      rec.pl.push_back(v == -INFINITY ? 999 : std::min(999, static_cast<int>(std::lround(-10.0 * (v - max_gl)))));
    }
    // AD and strand counts: a read supports the allele group whose best haplotype beats the
    // other groups' best by a factor of 3 or more.
    rec.ad.assign(na, 0);
    double sf[3] = {0, 0, 0}, sr[3] = {0, 0, 0};
    int dp = 0;
    for (size_t r = 0; r < nr; ++r) {
      const int32_t i = w.reads[r];
      if (batch.pos[i] > pos || batch.end[i] <= pos) continue;
      ++dp;
      std::vector<double> best_of(na, -INFINITY);
      for (size_t h = 0; h < nh; ++h)
        if (hap_idx[h] >= 0) best_of[hap_idx[h]] = std::max(best_of[hap_idx[h]], L[r * nh + h]);
      int top = 0;
      for (int a = 1; a < na; ++a)
        if (best_of[a] > best_of[top]) top = a;
      double second = -INFINITY;
      for (int a = 0; a < na; ++a)
        if (a != top) second = std::max(second, best_of[a]);
      if (best_of[top] - second >= std::log10(3.0)) {
        ++rec.ad[top];
        (is_reverse(batch.flag[i]) ? sr : sf)[top] += 1;
      }
    }
    rec.dp = dp;
    rec.mq = mapping_quality(pu, pos - pu.beg);
    rec.sor = strand_odds_ratio(sf[0], sr[0], sf[1] + sf[2], sr[1] + sr[2]);
    rec.haplotype_model = true;
    out.push_back(std::move(rec));
  }
}

}  // namespace gms::calling
