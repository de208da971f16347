// Somatic calling: every candidate allele of the shared evidence stage (pileup SNVs, window alleles
// with their pair-HMM read likelihoods) scored under an allele-fraction model in the tumour, and
// against germline presence in the normal (or, tumour-only, against a germline allele fraction).
//
// Per read, the likelihoods of "carries the allele" (a) and "does not" (r) give, at allele
// fraction f, P(read | f) = f 10^a + (1 - f) 10^r. The tumour's fraction is the maximum-likelihood
// f; TLOD = log10 L(f) - log10 L(0). The normal's NLOD = log10 L(f0) - log10 L(1/2), where f0 is
// the fraction that tumour cells contaminating the normal would explain.
#include <algorithm>
#include <cmath>

#include "core/calling.hpp"
#include "gmscall/errors.hpp"
#include "io/reference.hpp"
#include "kernels/alignment_walk.hpp"
#include "kernels/genotype.hpp"

namespace gms {

using namespace calling;

namespace {

constexpr int64_t kClusterSpan = 50;  // bp each side in which other somatic events make a cluster

constexpr int kLongInsertion = 30;  // insertions from this length: see call_region_somatic
constexpr int64_t kSpanFlank = 10;  // aligned bases each side of the insertion point

// One read's log10 likelihoods: carrying the allele, not carrying it.
struct ReadLik {
  double alt, ref;
};

struct AlleleEvidence {
  std::vector<ReadLik> reads;
  int dp = 0;  // reads at the site
  int alt_fwd = 0, alt_rev = 0, ref_fwd = 0, ref_rev = 0;  // reads that clearly favour each side
  int alt() const { return alt_fwd + alt_rev; }
  int ref() const { return ref_fwd + ref_rev; }
  // Reads known only by their counts, each at one base error rate per side.
  void add_counted_reads(double err_alt, double err_ref) {
    for (int k = 0; k < alt(); ++k) reads.push_back({std::log10(1.0 - err_alt), std::log10(err_alt / 3.0)});
    for (int k = 0; k < ref(); ++k) reads.push_back({std::log10(err_ref / 3.0), std::log10(1.0 - err_ref)});
  }
};

double log_lik(const std::vector<ReadLik>& reads, double f) {
  double s = 0.0;
  for (const ReadLik& r : reads) {
    const double m = std::max(r.alt, r.ref);
    s += m + std::log10(f * std::pow(10.0, r.alt - m) + (1.0 - f) * std::pow(10.0, r.ref - m));
  }
  return s;
}

// Maximum-likelihood allele fraction (the log-likelihood is concave in f): golden-section search.
double best_fraction(const std::vector<ReadLik>& reads) {
  if (reads.empty()) return 0.0;
  const double g = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = 0.0, b = 1.0;
  double c = b - g * (b - a), d = a + g * (b - a);
  double fc = log_lik(reads, c), fd = log_lik(reads, d);
  for (int it = 0; it < 40; ++it) {
    if (fc >= fd) {
      b = d; d = c; fd = fc;
      c = b - g * (b - a);
      fc = log_lik(reads, c);
    } else {
      a = c; c = d; fc = fd;
      d = a + g * (b - a);
      fd = log_lik(reads, d);
    }
  }
  const double f = (a + b) / 2.0;
  // The ends are candidates too (a concave maximum may sit on them).
  double best = f, lb = log_lik(reads, f);
  for (double e : {0.0, 1.0}) {
    const double le = log_lik(reads, e);
    if (le > lb) { best = e; lb = le; }
  }
  return best;
}

// Pileup evidence of an SNV: each read at its allele's mean base quality.
AlleleEvidence snv_evidence(const PileupResult& pu, int64_t x, int alt_base, int ref_base) {
  AlleleEvidence ev;
  ev.dp = static_cast<int>(depth_at(pu, x));
  if (ref_base > 3) return ev;
  auto strand = [&](int s, int b) { return static_cast<int>(pu.counts[x * 12 + s * 6 + b]); };
  ev.alt_fwd = strand(0, alt_base);
  ev.alt_rev = strand(1, alt_base);
  ev.ref_fwd = strand(0, ref_base);
  ev.ref_rev = strand(1, ref_base);
  auto mean_error = [&](int b, int n) {
    const double q = n ? static_cast<double>(pu.qual_sum[x * 6 + b]) / n : 30.0;
    return base_error(static_cast<int>(std::lround(std::clamp(q, 1.0, static_cast<double>(kMaxQual)))));
  };
  ev.add_counted_reads(mean_error(alt_base, ev.alt()), mean_error(ref_base, ev.ref()));
  return ev;
}

SomaticRecord score(int64_t pos, std::string ref, std::string alt, const std::vector<AlleleEvidence>& per_sample,
                    const CallParams& p) {
  SomaticRecord rec;
  rec.pos = pos;
  rec.ref = std::move(ref);
  rec.alt = std::move(alt);
  const AlleleEvidence& t = per_sample[0];
  for (const AlleleEvidence& e : per_sample) {
    SomaticSample s;
    s.ref = e.ref();
    s.alt = e.alt();
    s.dp = e.dp;
    s.af = best_fraction(e.reads);
    rec.samples.push_back(s);
  }
  const double ft = rec.samples[0].af;
  const double t_best = log_lik(t.reads, ft);
  rec.tlod = t_best - log_lik(t.reads, 0.0);
  if (rec.tlod < p.tlod_emit) return rec;
  if (rec.tlod < p.tlod_pass) rec.filters |= kWeakEvidence;
  if (ft < p.min_tumor_af) rec.filters |= kLowAlleleFraction;
  const int alt_n = t.alt(), ref_n = t.ref();
  // Strand bias: the ALT reads (almost) all on one strand while the REF reads are on both, and that
  // split unlikely at the REF reads' strand share. Mates and fragment placement make strand shares
  // vary more than independent reads would, hence both conditions.
  if (alt_n >= 8) {
    const double fwd_share = (t.ref_fwd + 1.0) / (ref_n + 2.0);
    const int alt_minor = std::min(t.alt_fwd, t.alt_rev);
    const double ref_minor = std::min(fwd_share, 1.0 - fwd_share);
    if (alt_minor <= 0.1 * alt_n && ref_minor >= 0.2 &&
        binomial_two_sided(t.alt_fwd, alt_n, fwd_share) < p.strand_bias_p)
      rec.filters |= kStrandBias;
  }
  if (per_sample.size() > 1) {
    const AlleleEvidence& n = per_sample[1];
    // Tumour cells in the normal (a fraction `normal_contamination` of its cells) carry the allele
    // at the tumour cells' own fraction: f_t over a purity assumed >= 1/2.
    const double f0 = std::min(0.5, 2.0 * p.normal_contamination * ft);
    rec.nlod = log_lik(n.reads, f0) - log_lik(n.reads, 0.5);
    if (rec.nlod < p.nlod_min) {
      rec.filters |= kGermlineRisk;
    } else {
      const double fn = rec.samples[1].af;
      if (n.alt() >= 2 && fn > f0 && log_lik(n.reads, fn) - log_lik(n.reads, f0) >= p.normal_artifact_lod)
        rec.filters |= kNormalArtifact;
    }
  } else {
    // Tumour-only: an allele at a germline fraction (1/2 or 1) within `germline_lod` log10 units of
    // the best fraction is flagged, whatever its true origin (a clonal somatic allele at purity
    // near 1 looks the same).
    if (ft >= 0.9 || t_best - log_lik(t.reads, 0.5) < p.germline_lod) rec.filters |= kGermlineRisk;
  }
  return rec;
}

}  // namespace

SomaticRecord score_somatic_counts(const std::vector<SomaticCounts>& samples, const CallParams& params) {
  std::vector<AlleleEvidence> per;
  for (const SomaticCounts& c : samples) {
    AlleleEvidence e;
    e.alt_fwd = c.alt_fwd;
    e.alt_rev = c.alt_rev;
    e.ref_fwd = c.ref_fwd;
    e.ref_rev = c.ref_rev;
    e.dp = e.alt() + e.ref();
    e.add_counted_reads(base_error(c.qual), base_error(c.qual));
    per.push_back(std::move(e));
  }
  return score(0, "A", "C", per, params);
}

std::vector<SomaticRecord> call_region_somatic(const std::vector<BamReader*>& bams, const Reference& ref,
                                               const std::string& contig, int64_t beg, int64_t end,
                                               const CallParams& params, const Cohort& cohort, Backend backend) {
  if (cohort.n_samples < 1 || cohort.n_samples > 2)
    throw InputError("somatic calling takes a tumour and at most one normal");
  ShardEvidence ev;
  // Records up to kClusterSpan beyond the shard are scored too: a cluster near a border is seen
  // the same from both shards.
  shard_evidence(bams, ref, contig, beg, end, kClusterSpan, params, cohort, backend, ev, kClusterSpan);
  const std::vector<SampleEvidence>& samples = *ev.samples;
  const size_t ns = samples.size();
  const int64_t lo = beg - kClusterSpan, hi = end + kClusterSpan;
  std::vector<SomaticRecord> all;

  for (const Candidate& a : ev.site_snvs) {
    if (a.pos < lo || a.pos >= hi) continue;
    std::vector<AlleleEvidence> per;
    for (size_t s = 0; s < ns; ++s) {
      const PileupResult& pu = samples[s].pu;
      const int64_t x = a.pos - pu.beg;
      per.push_back(snv_evidence(pu, x, base_to_allele(a.seq[0]), base_to_allele(pu.ref[static_cast<size_t>(x)])));
    }
    SomaticRecord r = score(a.pos, std::string(1, ev.ref.at(a.pos)), a.seq, per, params);
    if (r.tlod >= params.tlod_emit) all.push_back(std::move(r));
  }

  const ReadBatch& batch = *ev.batch;
  const ReadView rv = batch.view();
  const double favour = std::log10(3.0);
  for (const WindowWork& w : ev.work) {
    const Window& win = *w.win;
    const size_t nh = w.haps.size(), nr = w.reads.size();
    const std::vector<double> L = read_likelihoods(w, batch, ev.lik);
    for (size_t k = 0; k < win.alleles.size(); ++k) {
      const Candidate& a = win.alleles[k];
      if (a.pos < lo || a.pos >= hi) continue;
      bool on_some = false;
      for (uint64_t m : w.haps) on_some |= (m >> k) & 1;
      if (!on_some) continue;
      std::vector<AlleleEvidence> per(ns);
      const bool long_insertion = a.len >= kLongInsertion;
      for (size_t r = 0; r < nr; ++r) {
        const int32_t i = w.reads[r];
        AlleleEvidence& e = per[batch.sample[i]];
        double la = -INFINITY, lr = -INFINITY;
        for (size_t h = 0; h < nh; ++h) {
          double& side = ((w.haps[h] >> k) & 1) ? la : lr;
          side = std::max(side, L[r * nh + h]);
        }
        if (long_insertion && std::abs(la - lr) < favour &&
            aligned_across(rv, i, a.pos - kSpanFlank, a.pos + kSpanFlank)) {
          // A read of either haplotype matches a duplication longer than itself equally well; the
          // aligner's view decides: aligned straight across the insertion point, it is a
          // reference read (ALT reads there are clipped).
          la = lr - 1.0;
        }
        e.reads.push_back({la, lr});
        const bool rev = is_reverse(batch.flag[i]);
        bool counted = true;
        if (la - lr >= favour) {
          ++(rev ? e.alt_rev : e.alt_fwd);
        } else if (lr - la >= favour) {
          ++(rev ? e.ref_rev : e.ref_fwd);
        } else {
          counted = batch.pos[i] <= a.pos && batch.end[i] > a.pos;
        }
        // DP: the reads at the site, clipped ones that take a side included.
        e.dp += counted;
      }
      const std::string ref_str = ev.ref.sub(a.pos, a.ref_end() - a.pos);
      std::string alt_str = ref_str;
      apply_candidate(alt_str, a.pos, a);
      SomaticRecord r = score(a.pos, ref_str, alt_str, per, params);
      if (r.tlod >= params.tlod_emit) all.push_back(std::move(r));
    }
  }
  std::sort(all.begin(), all.end(), [](const SomaticRecord& x, const SomaticRecord& y) {
    return std::tie(x.pos, x.ref, x.alt) < std::tie(y.pos, y.ref, y.alt);
  });

  // Clustered events: more than cluster_max other candidate somatic events within kClusterSpan.
  std::vector<int64_t> events;
  for (const SomaticRecord& r : all)
    if (!(r.filters & (kGermlineRisk | kWeakEvidence))) events.push_back(r.pos);
  std::vector<SomaticRecord> out;
  for (SomaticRecord& r : all) {
    if (r.pos < beg || r.pos >= end) continue;
    if (!(r.filters & (kGermlineRisk | kWeakEvidence))) {
      const auto first = std::lower_bound(events.begin(), events.end(), r.pos - kClusterSpan);
      const auto last = std::upper_bound(events.begin(), events.end(), r.pos + kClusterSpan);
      if (last - first - 1 > params.cluster_max) r.filters |= kClusteredEvents;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace gms
