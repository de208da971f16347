// Variant calling for one shard. Isolated SNVs: per-site model over the pileup's fixed-point
// likelihood sums. Indels and the SNVs near them: read-backed candidate haplotypes, every read
// aligned to every haplotype with the banded pair-HMM (one batch per shard), diploid genotyping
// over haplotype pairs.
#include "gmscall/caller.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

#include "gmscall/errors.hpp"
#include "gmscall/pileup.hpp"
#include "io/bam_reader.hpp"
#include "io/reference.hpp"
#include "kernels/alignment_walk.hpp"
#include "kernels/genotype.hpp"

namespace gms {
namespace {

const char kBaseChar[5] = {'A', 'C', 'G', 'T', 'N'};
constexpr int kWindowPad = 10;       // bases around an indel's repeat tract that join its window
constexpr int kMaxWindowAlleles = 12;
constexpr int kMaxQual = 60;
constexpr double kInit = 1e280;      // pair-HMM scaling (kernels/pairhmm.hpp)

struct RefSeq {
  std::string s;
  int64_t beg = 0;
  char at(int64_t p) const {
    return (p >= beg && p < beg + static_cast<int64_t>(s.size())) ? s[static_cast<size_t>(p - beg)] : 'N';
  }
  std::string sub(int64_t p, int64_t n) const {
    std::string out;
    for (int64_t k = 0; k < n; ++k) out.push_back(at(p + k));
    return out;
  }
};

struct Candidate {
  int64_t pos;      // SNV: the base; indel: the anchor base before it
  int32_t len;      // 0: SNV; > 0 insertion; < 0 deletion
  std::string seq;  // alt base, inserted bases or deleted reference bases
  uint32_t support = 0;
  int64_t tract_end = 0;  // last position of the repeat tract the indel could slide along
  bool is_indel() const { return len != 0; }
  int64_t ref_end() const { return len < 0 ? pos + 1 - len : pos + 1; }  // exclusive end of REF span
  bool operator<(const Candidate& o) const { return std::tie(pos, len, seq) < std::tie(o.pos, o.len, o.seq); }
  bool operator==(const Candidate& o) const { return pos == o.pos && len == o.len && seq == o.seq; }
};

// Shifts an indel to its leftmost equivalent position (VCF normal form), never onto an N anchor.
void left_align(const RefSeq& ref, int64_t min_pos, Candidate& a) {
  if (a.len < 0) {
    const int64_t l = -a.len;
    while (a.pos > min_pos && ref.at(a.pos - 1) != 'N' && ref.at(a.pos) == ref.at(a.pos + l)) --a.pos;
    a.seq = ref.sub(a.pos + 1, l);
  } else if (a.len > 0) {
    while (a.pos > min_pos && ref.at(a.pos - 1) != 'N' && ref.at(a.pos) == a.seq.back()) {
      a.seq = std::string(1, ref.at(a.pos)) + a.seq.substr(0, a.seq.size() - 1);
      --a.pos;
    }
  }
}

// Left-aligns; an indel whose anchor is then an N (an alignment anchored on an N) is moved right
// to the first equivalent position with a real base, if there is one.
void normalize_indel(const RefSeq& ref, int64_t min_pos, Candidate& a) {
  left_align(ref, min_pos, a);
  if (a.len < 0) {
    const int64_t l = -a.len;
    while (ref.at(a.pos) == 'N' && ref.at(a.pos + 1) != 'N' && ref.at(a.pos + 1) == ref.at(a.pos + 1 + l)) ++a.pos;
    a.seq = ref.sub(a.pos + 1, l);
  } else if (a.len > 0) {
    while (ref.at(a.pos) == 'N' && ref.at(a.pos + 1) != 'N' && ref.at(a.pos + 1) == a.seq.front()) {
      a.seq = a.seq.substr(1) + ref.at(a.pos + 1);
      ++a.pos;
    }
  }
}

// Last reference position an (left-aligned) indel could slide to: the end of its repeat tract.
int64_t tract_end(const RefSeq& ref, const Candidate& a) {
  if (a.len < 0) {
    const int64_t l = -a.len;
    int64_t j = a.pos + 1;
    while (ref.at(j) != 'N' && ref.at(j) == ref.at(j + l)) ++j;
    return j + l;
  }
  const size_t l = a.seq.size();
  int64_t k = 0;
  while (ref.at(a.pos + 1 + k) != 'N' && ref.at(a.pos + 1 + k) == a.seq[static_cast<size_t>(k) % l]) ++k;
  return a.pos + 1 + k;
}

uint32_t sum_counts(const PileupResult& pu, int64_t x, int allele) {
  return pu.counts[x * 12 + allele] + pu.counts[x * 12 + 6 + allele];
}
uint32_t depth_at(const PileupResult& pu, int64_t x) {
  uint32_t d = 0;
  for (int a = 0; a < 6; ++a) d += sum_counts(pu, x, a);
  return d;
}

std::vector<Candidate> find_candidates(const PileupResult& pu, const RefSeq& ref, const CallParams& p) {
  std::vector<Candidate> out;
  const int64_t n = pu.end - pu.beg;
  for (int64_t x = 0; x < n; ++x) {
    const char r = pu.ref[x];
    if (r == 'N') continue;
    const uint32_t d = depth_at(pu, x);
    for (int b = 0; b < 4; ++b) {
      if (kBaseChar[b] == r) continue;
      const uint32_t c = sum_counts(pu, x, b);
      if (c >= static_cast<uint32_t>(p.min_alt_count) && c >= p.min_snv_frac * d) {
        Candidate a{pu.beg + x, 0, std::string(1, kBaseChar[b]), c, pu.beg + x};
        out.push_back(a);
      }
    }
  }
  std::map<Candidate, uint32_t> indels;
  for (const IndelAllele& e : pu.indels) {
    if (std::abs(e.length) > p.max_indel_len) continue;
    if (e.seq.find('N') != std::string::npos) continue;
    Candidate a{e.pos, e.length, e.seq, 0, 0};
    normalize_indel(ref, pu.beg, a);
    if (ref.at(a.pos) == 'N') continue;  // no reference base to anchor the record on
    indels[a] += e.fwd + e.rev;
  }
  for (auto& [a0, c] : indels) {
    if (a0.pos < pu.beg || a0.pos >= pu.end) continue;
    const uint32_t d = std::max<uint32_t>(1, depth_at(pu, a0.pos - pu.beg));
    if (c >= static_cast<uint32_t>(p.min_alt_count) && c >= p.min_indel_frac * d) {
      Candidate a = a0;
      a.support = c;
      a.tract_end = tract_end(ref, a);
      out.push_back(a);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Window {
  int64_t beg, end;            // reference interval [beg, end)
  std::vector<Candidate> alleles; // sorted
};

// Indels (with their repeat tracts) and nearby alleles form windows; SNVs elsewhere stay per-site.
void split_windows(const std::vector<Candidate>& alleles, std::vector<Window>& windows,
                   std::vector<Candidate>& site_snvs) {
  std::vector<std::pair<int64_t, int64_t>> spans;
  for (const Candidate& a : alleles) {
    if (a.is_indel()) spans.emplace_back(a.pos - kWindowPad, std::max(a.tract_end, a.ref_end()) + kWindowPad);
  }
  std::sort(spans.begin(), spans.end());
  std::vector<std::pair<int64_t, int64_t>> merged;
  for (const auto& s : spans) {
    if (!merged.empty() && s.first <= merged.back().second) {
      merged.back().second = std::max(merged.back().second, s.second);
    } else {
      merged.push_back(s);
    }
  }
  for (const auto& m : merged) windows.push_back({m.first, m.second, {}});
  size_t w = 0;
  for (const Candidate& a : alleles) {
    while (w < windows.size() && windows[w].end <= a.pos) ++w;
    if (w < windows.size() && a.pos >= windows[w].beg) {
      windows[w].alleles.push_back(a);
    } else if (!a.is_indel()) {
      site_snvs.push_back(a);
    }
  }
  for (Window& win : windows) {
    if (static_cast<int>(win.alleles.size()) > kMaxWindowAlleles) {
      std::stable_sort(win.alleles.begin(), win.alleles.end(),
                       [](const Candidate& x, const Candidate& y) { return x.support > y.support; });
      win.alleles.resize(kMaxWindowAlleles);
      std::sort(win.alleles.begin(), win.alleles.end());
    }
  }
}

// ---------------------------------------------------------------- genotype helpers

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

// ---------------------------------------------------------------- per-site SNVs

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

// ---------------------------------------------------------------- haplotype windows

// Base of read i at reference position p: allele code, -1 deleted, -2 not covered.
int read_base_at(const ReadView& r, int i, int64_t p) {
  struct V {
    int64_t p;
    const ReadView& r;
    uint64_t off;
    int out = -2;
    void base(int64_t rp, uint32_t qp) {
      if (rp == p) out = r.seq[off + qp];
    }
    void deleted(int64_t rp, uint32_t) {
      if (rp == p) out = -1;
    }
    void insertion(uint32_t, int64_t, uint32_t, uint32_t, uint32_t) {}
    void deletion(uint32_t, int64_t, uint32_t, uint32_t) {}
  } v{p, r, r.seq_off[i]};
  if (p < r.pos[i] || p >= r.end[i]) return -2;
  walk_alignment(r, i, v);
  return v.out;
}

std::vector<Candidate> read_indels(const ReadView& r, int i, const RefSeq& ref, int64_t min_pos) {
  struct V {
    const ReadView& r;
    uint64_t off;
    std::vector<Candidate> out;
    void base(int64_t, uint32_t) {}
    void deleted(int64_t, uint32_t) {}
    void insertion(uint32_t, int64_t anchor, uint32_t, uint32_t qp, uint32_t len) {
      std::string s;
      for (uint32_t j = 0; j < len; ++j) s.push_back(kBaseChar[r.seq[off + qp + j]]);
      out.push_back({anchor, static_cast<int32_t>(len), s, 0, 0});
    }
    void deletion(uint32_t, int64_t anchor, uint32_t, uint32_t len) {
      out.push_back({anchor, -static_cast<int32_t>(len), std::string(), 0, 0});
    }
  } v{r, r.seq_off[i], {}};
  walk_alignment(r, i, v);
  for (Candidate& a : v.out) {
    if (a.len < 0) a.seq = ref.sub(a.pos + 1, -a.len);
    normalize_indel(ref, min_pos, a);
  }
  return v.out;
}

// Does read i carry allele a (1), carry another allele there (0), or not cover it (-1)?
int read_carries(const ReadView& r, int i, const Candidate& a, const std::vector<Candidate>& indels) {
  if (!a.is_indel()) {
    const int b = read_base_at(r, i, a.pos);
    if (b == -2) return -1;
    return b == base_to_allele(a.seq[0]) ? 1 : 0;
  }
  if (r.pos[i] > a.pos || r.end[i] < std::max(a.tract_end, a.ref_end()) + 1) return -1;
  for (const Candidate& x : indels)
    if (x == a) return 1;
  return 0;
}

// Phred gap-open penalty, falling with the number of repeat units the position sits in
// (indel errors of the sequencer, and of PCR, grow with homopolymer and STR length).
uint8_t gap_open_code(int units, const CallParams& p) {
  const int q = static_cast<int>(std::lround(p.gap_open_max - p.gap_open_slope * (units - 1)));
  return static_cast<uint8_t>(std::clamp(q, p.gap_open_min, p.gap_open_max));
}

// Gap-open code per haplotype position from the longest tandem repeat (period 1-4) covering it.
std::vector<uint8_t> gap_open_codes(const std::string& h, const CallParams& p) {
  const int m = static_cast<int>(h.size());
  std::vector<int> units(m, 1);
  for (int period = 1; period <= 4; ++period) {
    int j = 0;
    while (j + period < m) {
      int run = 0;
      while (j + period + run < m && h[j + run] == h[j + period + run]) ++run;
      if (run >= period) {
        const int tract = run + period;
        const int u = tract / period;
        for (int t = j; t < j + tract; ++t) units[t] = std::max(units[t], u);
        j += run + 1;
      } else {
        ++j;
      }
    }
  }
  std::vector<uint8_t> out(m);
  for (int j = 0; j < m; ++j) out[j] = gap_open_code(units[j], p);
  return out;
}

std::string apply_alleles(const RefSeq& ref, int64_t hs, int64_t he, const std::vector<const Candidate*>& alleles) {
  std::string h = ref.sub(hs, he - hs);
  for (auto it = alleles.rbegin(); it != alleles.rend(); ++it) {
    const Candidate& a = **it;
    const size_t x = static_cast<size_t>(a.pos - hs);
    if (a.len == 0) {
      h[x] = a.seq[0];
    } else if (a.len > 0) {
      h.insert(x + 1, a.seq);
    } else {
      h.erase(x + 1, static_cast<size_t>(-a.len));
    }
  }
  return h;
}

constexpr int64_t kReadFlank = 40;

// The query bases [qs, qe) of read i aligned inside reference [lo, hi) (and the insertions between
// them); first_ref is the reference position of base qs.
struct QueryClip {
  uint32_t qs = 0, qe = 0;
  int64_t first_ref = 0;
};

QueryClip clip_to_reference(const ReadView& r, int i, int64_t lo, int64_t hi) {
  struct V {
    int64_t lo, hi;
    QueryClip c;
    bool seen = false;
    void base(int64_t rp, uint32_t qp) {
      if (rp < lo || rp >= hi) return;
      if (!seen) {
        c.qs = qp;
        c.first_ref = rp;
        seen = true;
      }
      c.qe = qp + 1;
    }
    void deleted(int64_t, uint32_t) {}
    void insertion(uint32_t, int64_t, uint32_t, uint32_t, uint32_t) {}
    void deletion(uint32_t, int64_t, uint32_t, uint32_t) {}
  } v{lo, hi, {}};
  walk_alignment(r, i, v);
  return v.c;
}

struct WindowWork {
  const Window* win;
  std::vector<uint64_t> haps;  // allele masks, haps[0] = reference
  std::vector<int32_t> reads;  // batch indices
  size_t first_job;
};

struct ReadInfo {  // per window read, the bases the pair-HMM sees
  uint32_t off, len;
  int band;
};

void plan_window(const ReadBatch& batch, const ReadView& rv, const std::vector<uint8_t>& eff_qual,
                 const RefSeq& ref, const Window& win, const CallParams& p, int64_t max_span,
                 PairHmmBatch& jobs, std::vector<WindowWork>& work) {
  WindowWork w{&win, {0}, {}, jobs.jobs.size()};
  // Reads overlapping the alleles' span (a read that only touches the window's padding cannot
  // tell the haplotypes apart). Reads are sorted by start, so a binary search bounds the scan.
  int64_t span_beg = win.end, span_end = win.beg;
  for (const Candidate& a : win.alleles) {
    span_beg = std::min(span_beg, a.pos);
    span_end = std::max(span_end, std::max(a.tract_end, a.ref_end()) + 1);
  }
  const auto lo = std::lower_bound(batch.pos.begin(), batch.pos.end(), span_beg - max_span) - batch.pos.begin();
  for (int64_t i = lo; i < batch.size() && batch.pos[i] < span_end; ++i)
    if (batch.end[i] > span_beg) w.reads.push_back(static_cast<int32_t>(i));
  if (w.reads.empty()) return;

  // Candidate haplotypes: allele combinations seen on reads that cover every allele.
  std::map<uint64_t, int> mask_count;
  int max_len = 0;
  for (const Candidate& a : win.alleles) max_len = std::max(max_len, std::abs(a.len));
  for (int32_t i : w.reads) {
    const auto indels = read_indels(rv, i, ref, ref.beg + 1);
    uint64_t mask = 0;
    bool complete = true;
    for (size_t k = 0; k < win.alleles.size() && complete; ++k) {
      const int c = read_carries(rv, i, win.alleles[k], indels);
      if (c < 0) complete = false;
      if (c == 1) mask |= 1ULL << k;
    }
    if (complete && mask) ++mask_count[mask];
  }
  std::vector<std::pair<int, uint64_t>> ranked;
  for (const auto& [mask, c] : mask_count)
    if (c >= p.min_alt_count) ranked.emplace_back(-c, mask);
  std::sort(ranked.begin(), ranked.end());
  for (const auto& [negc, mask] : ranked) {
    if (static_cast<int>(w.haps.size()) >= p.max_haplotypes) break;
    w.haps.push_back(mask);
  }
  for (size_t k = 0; k < win.alleles.size(); ++k) {  // alleles seen only on partial reads
    bool seen = false;
    for (uint64_t m : w.haps) seen |= (m >> k) & 1;
    if (!seen && static_cast<int>(w.haps.size()) < p.max_haplotypes) w.haps.push_back(1ULL << k);
  }
  if (w.haps.size() < 2) return;

  // Haplotype sequences over the span of the window's reads.
  int64_t hs = win.beg, he = win.end;
  for (int32_t i : w.reads) {
    hs = std::min(hs, batch.pos[i]);
    he = std::max(he, batch.end[i]);
  }
  hs = std::max(ref.beg, hs - kMaxBand - 2);
  he = std::min(ref.beg + static_cast<int64_t>(ref.s.size()), he + kMaxBand + 2);
  std::vector<uint32_t> hap_off;
  std::vector<uint32_t> hap_len;
  for (uint64_t mask : w.haps) {
    std::vector<const Candidate*> chosen;
    for (size_t k = 0; k < win.alleles.size(); ++k)
      if ((mask >> k) & 1) chosen.push_back(&win.alleles[k]);
    const std::string h = apply_alleles(ref, hs, he, chosen);
    hap_off.push_back(static_cast<uint32_t>(jobs.hap_bases.size()));
    hap_len.push_back(static_cast<uint32_t>(h.size()));
    for (char c : h) jobs.hap_bases.push_back(base_to_allele(c));
    const auto go = gap_open_codes(h, p);
    jobs.hap_gap_open.insert(jobs.hap_gap_open.end(), go.begin(), go.end());
  }

  // One job per read x haplotype, on the read's bases aligned within kReadFlank of the alleles:
  // bases further away match every haplotype alike and only cost time.
  w.first_job = jobs.jobs.size();
  std::vector<QueryClip> clips;
  std::vector<int32_t> aligned_reads;
  for (int32_t i : w.reads) {
    const QueryClip c = clip_to_reference(rv, i, span_beg - kReadFlank, span_end + kReadFlank);
    if (c.qe > c.qs) {
      clips.push_back(c);
      aligned_reads.push_back(i);
    }
  }
  w.reads = std::move(aligned_reads);
  for (size_t r = 0; r < w.reads.size(); ++r) {
    const int32_t i = w.reads[r];
    const QueryClip& clip = clips[r];
    const uint32_t* ops = batch.cigar.data() + batch.cigar_off[i];
    const uint32_t n_ops = batch.n_cigar[i];
    int own_indel = 0;
    for (uint32_t k = 0; k < n_ops; ++k) {
      const uint32_t op = cigar_op(ops[k]);
      if (op == kCigI || op == kCigD) own_indel = std::max<int>(own_indel, cigar_len(ops[k]));
    }
    const uint32_t qs = clip.qs, qe = clip.qe;
    const uint32_t off = static_cast<uint32_t>(jobs.read_bases.size());
    const uint64_t so = batch.seq_off[i];
    for (uint32_t q = qs; q < qe; ++q) {
      jobs.read_bases.push_back(batch.seq[so + q]);
      const uint8_t e = eff_qual[so + q];
      jobs.read_quals.push_back(e == kMaskedQual ? 0 : static_cast<uint8_t>(std::min<int>(e, kMaxQual)));
    }
    const int band = std::min(kMaxBand, 8 + std::max(max_len, own_indel));
    for (size_t h = 0; h < w.haps.size(); ++h) {
      jobs.jobs.push_back({off, qe - qs, hap_off[h], hap_len[h], static_cast<int32_t>(clip.first_ref - hs), band});
    }
  }
  work.push_back(std::move(w));
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

PairHmmTables make_tables() {
  PairHmmTables t;
  for (int q = 0; q < 128; ++q) {
    double e = std::pow(10.0, -q / 10.0);
    if (e > 0.75) e = 0.75;
    t.match[q] = 1.0 - e;
    t.mismatch[q] = e / 3.0;
  }
  for (int g = 0; g < 64; ++g) t.gap_open[g] = std::pow(10.0, -g / 10.0);
  t.gap_ext = 0.1;
  t.init = kInit;
  return t;
}

}  // namespace

std::vector<CallRecord> call_region(BamReader& bam, const Reference& ref, const std::string& contig,
                                    int64_t beg, int64_t end, const CallParams& params, Backend backend) {
  const int tid = bam.tid(contig);
  if (tid < 0) throw InputError(bam.path() + ": contig '" + contig + "' is not in the BAM header");
  const int64_t len = ref.length(contig);
  if (len < 0) throw InputError(ref.path() + ": contig '" + contig + "' is not in the reference");
  if (beg < 0 || end > len || beg >= end) throw InputError("shard outside contig " + contig);

  const int64_t pb = std::max<int64_t>(0, beg - params.read_pad);
  const int64_t pe = std::min<int64_t>(len, end + params.read_pad);
  PreparedReads reads = prepare_reads(bam, tid, pb, pe, params.pileup);
  int64_t max_end = pe, max_span = 1;
  for (int32_t i = 0; i < reads.batch.size(); ++i) {
    max_end = std::max(max_end, reads.batch.end[i]);
    max_span = std::max(max_span, reads.batch.end[i] - reads.batch.pos[i]);
  }
  RefSeq rs;
  rs.beg = std::max<int64_t>(0, pb - 2 * kMaxBand - 200);
  rs.s = ref.fetch(contig, rs.beg, max_end + 2 * kMaxBand + 200);

  static const std::vector<long long> ll_table = [] {
    std::vector<long long> t(128 * 3);
    build_snv_ll_table(t.data());
    return t;
  }();
  std::vector<uint8_t> eff_qual;
  const PileupResult pu = pileup_reads(reads, contig, pb, pe, rs.s, rs.beg, params.pileup, backend, &eff_qual,
                                       ll_table.data(), kMaxQual);

  const std::vector<Candidate> alleles = find_candidates(pu, rs, params);
  std::vector<Window> windows;
  std::vector<Candidate> site_snvs;
  split_windows(alleles, windows, site_snvs);

  std::vector<CallRecord> out;
  call_site_snvs(pu, site_snvs, params, beg, end, out);

  // Windows whose calls could land in this shard; all their alignments go in one batch.
  PairHmmBatch jobs;
  std::vector<WindowWork> work;
  const ReadView rv = reads.batch.view();
  for (const Window& w : windows) {
    if (w.end <= beg || w.beg >= end) continue;
    plan_window(reads.batch, rv, eff_qual, rs, w, params, max_span, jobs, work);
  }
  std::vector<double> lik(jobs.jobs.size(), 0.0);
  static const PairHmmTables tables = make_tables();
  if (backend == Backend::kCuda) {
    run_pairhmm_cuda(jobs, tables, lik.data());
  } else {
    run_pairhmm_cpu(jobs, tables, lik.data());
  }
  for (const WindowWork& w : work) genotype_window(w, reads.batch, lik, rs, pu, params, beg, end, out);

  std::sort(out.begin(), out.end(), [](const CallRecord& a, const CallRecord& b) {
    return std::tie(a.pos, a.ref, a.alts) < std::tie(b.pos, b.ref, b.alts);
  });
  return out;
}

}  // namespace gms
