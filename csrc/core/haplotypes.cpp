// Read-backed candidate haplotypes of a window and the read x haplotype pair-HMM jobs.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>

#include "core/calling.hpp"
#include "gmscall/error_model.hpp"
#include "io/reference.hpp"
#include "kernels/alignment_walk.hpp"
#include "kernels/genotype.hpp"

namespace gms::calling {

namespace {

// Base of read i at reference position p: allele code, -1 deleted, -2 not covered.
int read_base_at(const ReadView& r, const OpIndex& ix, int i, int64_t p) {
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
  walk_read_window(r, ix, i, p, p + 1, v);
  return v.out;
}

// The indels of read i anchored in [lo, hi], normalised (an indel that normalises onto a window
// allele lies between the allele and the end of its repeat tract).
std::vector<Candidate> read_indels(const ReadView& r, const OpIndex& ix, int i, const RefSeq& ref, int64_t min_pos,
                                   int64_t lo, int64_t hi) {
  struct V {
    const ReadView& r;
    uint64_t off;
    int64_t lo, hi;
    std::vector<Candidate> out;
    void base(int64_t, uint32_t) {}
    void deleted(int64_t, uint32_t) {}
    void insertion(uint32_t, int64_t anchor, uint32_t, uint32_t qp, uint32_t len) {
      if (anchor < lo || anchor > hi) return;
      std::string s;
      for (uint32_t j = 0; j < len; ++j) s.push_back(kBaseChar[r.seq[off + qp + j]]);
      out.push_back({anchor, static_cast<int32_t>(len), s, 0, 0});
    }
    void deletion(uint32_t, int64_t anchor, uint32_t, uint32_t len) {
      if (anchor < lo || anchor > hi) return;
      out.push_back({anchor, -static_cast<int32_t>(len), std::string(), 0, 0});
    }
  } v{r, r.seq_off[i], lo, hi, {}};
  walk_read_window(r, ix, i, lo, hi + 1, v);
  for (Candidate& a : v.out) {
    if (a.len < 0) a.seq = ref.sub(a.pos + 1, -a.len);
    normalize_indel(ref, min_pos, a);
  }
  return v.out;
}

// Does read i carry allele a (1), carry another allele there (0), or not cover it (-1)?
int read_carries(const ReadView& r, const OpIndex& ix, int i, const Candidate& a, const std::vector<Candidate>& indels) {
  if (!a.is_indel()) {
    const int b = read_base_at(r, ix, i, a.pos);
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

// Is a tract of unit h[j, j + p) looked up under period p? Where the unit is primitive
// (gms::primitive_unit, as the model counts tracts). A homopolymer also counts as every period (as
// before the learnt model took primitive periods): the ONT gap-open floor of P1 (15) was chosen on
// the real ONT slice with homopolymers also taking the lower penalties of P2-P8, and looking them up
// as P1 alone costs that slice 3 false indels.
bool lookup_unit(const std::string& h, int j, int p) {
  bool homopolymer = true;
  for (int t = 1; t < p && homopolymer; ++t) homopolymer = h[static_cast<size_t>(j + t)] == h[static_cast<size_t>(j)];
  return homopolymer || gms::primitive_unit(h, j, p);
}

// Calls f(start, period, bases) for each maximal tandem-repeat tract of h of two units or more,
// period by period (1..max_period) and left to right: a run where h repeats itself `period` bases
// on (every stretch of it a rotation of one unit, so one check of its first unit serves it).
template <class F>
void for_each_tract(const std::string& h, int max_period, F&& f) {
  const int m = static_cast<int>(h.size());
  for (int period = 1; period <= max_period; ++period) {
    int j = 0;
    while (j + period < m) {
      int run = 0;
      while (j + period + run < m && h[j + run] == h[j + period + run]) ++run;
      if (run < period) {
        ++j;
        continue;
      }
      f(j, period, run + period);
      j += run + 1;
    }
  }
}

// Units of the longest tandem repeat of each period 1..max_period covering each position (1 where
// none does): units[(period - 1) * m + j]. A tract counts under its primitive period only, as the
// learnt model counts it (a CA repeat is a period-2 tract, not a period-4 one of CACA units: the
// model's period-4 rates, learnt at TTCC-like tracts, do not describe it).
std::vector<int> repeat_units(const std::string& h, int max_period) {
  const int m = static_cast<int>(h.size());
  std::vector<int> units(static_cast<size_t>(max_period) * m, 1);
  for_each_tract(h, max_period, [&](int j, int period, int tract) {
    if (!lookup_unit(h, j, period)) return;
    int* u_p = units.data() + static_cast<size_t>(period - 1) * m;
    for (int t = j; t < j + tract; ++t) u_p[t] = std::max(u_p[t], tract / period);
  });
  return units;
}

// Gap-open code per haplotype position from the longest tandem repeat (period 1-4) covering it.
std::vector<uint8_t> gap_open_codes(const std::string& h, const CallParams& p) {
  const int m = static_cast<int>(h.size());
  const std::vector<int> units = repeat_units(h, 4);
  std::vector<uint8_t> out(m);
  for (int j = 0; j < m; ++j) {
    int u = 1;
    for (int period = 1; period <= 4; ++period) u = std::max(u, units[static_cast<size_t>(period - 1) * m + j]);
    out[j] = gap_open_code(u, p);
  }
  return out;
}

// The same from a learnt model's table ([period][units], str_index): the lowest code over the
// tracts of periods 1-8 covering the position.
std::vector<uint8_t> gap_open_codes(const std::vector<int>& units, int m, const std::vector<uint8_t>& table) {
  std::vector<uint8_t> out(m);
  for (int j = 0; j < m; ++j) {
    uint8_t c = 63;  // the lowest open Phred (low 6 bits) wins, with its extension class
    for (int period = 1; period <= kStrMaxPeriod; ++period) {
      const uint8_t x = table[static_cast<size_t>(str_index(period, units[static_cast<size_t>(period - 1) * m + j]))];
      if ((x & 63) < (c & 63)) c = x;
    }
    out[j] = c;
  }
  return out;
}

// The one-unit slip words (kernels/pairhmm.hpp) of haplotype h from a model's slip tables (Phred
// codes per [period][units], str_index; 0: none): `slips` holds the loss table (a unit lost), then
// the gain table. Every tract of a primitive unit (period 1-8, >= 2 units; a homopolymer is a
// period-1 tract only, as the model counts it) takes its slips at its first unit: a gain lands
// there (the read reads the unit again), a loss lands one unit on. Where two tracts start at one
// position, or two losses would land at one, the likelier stays. A tract starting at h's first
// base may begin before it (h is a stretch of the haplotype): its start is not known, so it takes
// none.
std::vector<uint32_t> slip_words(const std::string& h, const uint8_t* slips, bool starts_at_haplotype_start) {
  const int m = static_cast<int>(h.size());
  const uint8_t* loss_table = slips;
  const uint8_t* gain_table = slips + kStrTableSize;
  auto likelier = [](uint8_t a, uint8_t b) { return a > 0 && (b == 0 || a < b); };
  std::vector<uint8_t> loss(m, 0), gain(m, 0), period_at(m, 0);  // per tract start
  for_each_tract(h, kStrMaxPeriod, [&](int j, int period, int tract) {
    const int at = str_index(period, tract / period);
    const uint8_t ql = loss_table[at], qg = gain_table[at];
    const uint8_t q = ql == 0 ? qg : qg == 0 ? ql : std::min(ql, qg);
    const uint8_t q_here = loss[j] == 0 ? gain[j] : gain[j] == 0 ? loss[j] : std::min(loss[j], gain[j]);
    if (q > 0 && (j > 0 || starts_at_haplotype_start) && gms::primitive_unit(h, j, period) && likelier(q, q_here)) {
      loss[j] = ql;
      gain[j] = qg;
      period_at[j] = static_cast<uint8_t>(period);
    }
  });
  std::vector<uint32_t> w(m, 0);
  std::vector<uint8_t> landed(m, 0);  // the loss code landing at each position
  for (int x = 0; x < m; ++x) {
    const int p = period_at[x];
    if (p == 0) continue;
    if (gain[x] > 0) w[x] |= static_cast<uint32_t>(p) | static_cast<uint32_t>(gain[x]) << 4;
    if (loss[x] > 0 && x + p < m && likelier(loss[x], landed[x + p])) {
      landed[x + p] = loss[x];
      w[x + p] = (w[x + p] & ~(((1u << 10) - 1) << 10)) | static_cast<uint32_t>(p) << 10 |
                 static_cast<uint32_t>(loss[x]) << 14;
    }
  }
  // What leaves the match state at each position: a gain landing at x leaves from x + p - 1, a
  // loss landing at x from x - p - 1.
  std::vector<double> out(m, 0.0);
  for (int x = 0; x < m; ++x) {
    const int pi = slip_ins_period(w[x]), pd = slip_del_period(w[x]);
    if (pi > 0 && x + pi - 1 < m) out[x + pi - 1] += std::pow(10.0, -slip_ins_code(w[x]) / 10.0);
    if (pd > 0 && x - pd - 1 >= 0) out[x - pd - 1] += std::pow(10.0, -slip_del_code(w[x]) / 10.0);
  }
  for (int x = 0; x < m; ++x) {
    if (out[x] <= 0.0) continue;
    const int q = static_cast<int>(std::lround(-10.0 * std::log10(out[x])));
    w[x] |= static_cast<uint32_t>(std::clamp(q, 3, 63)) << 20;
  }
  return w;
}

std::string apply_alleles(const RefSeq& ref, int64_t hs, int64_t he, const std::vector<const Candidate*>& alleles) {
  std::string h = ref.sub(hs, he - hs);
  for (auto it = alleles.rbegin(); it != alleles.rend(); ++it) apply_candidate(h, hs, **it);
  return h;
}

constexpr int64_t kReadFlank = 40;
constexpr int64_t kRepeatAnchor = 10;  // bases beyond a tandem repeat that anchor a read's length call
// How far from the bases a window aligns its haplotypes reach, and how far from them a read's own
// indels widen its band: beyond the longest clip kept (kMaxClipKept), the longest assembled indel
// and two bands. A short read lies wholly inside it; a long read is looked at only there, so its
// cost is that of the window, not of the read.
constexpr int64_t kWindowReach = 1000;
static_assert(kWindowReach > kMaxClipKept + kMaxAssembledIndel + 2 * kMaxBand + 4, "window reach too short");
constexpr int64_t kMaxRepeatScan = 200;
constexpr int kMaxRepeatPeriod = 6;

// First (dir -1) or last-plus-one (dir +1) position of the short tandem repeat that x lies at the
// edge of, scanning at most kMaxRepeatScan bases. Haplotypes that differ by a repeat unit inside
// such a repeat look the same to reads that stop inside it, so their read span must reach past it.
int64_t repeat_edge(const RefSeq& ref, int64_t x, int dir) {
  int64_t edge = x;
  for (int period = 1; period <= kMaxRepeatPeriod; ++period) {
    int64_t j = x;
    if (dir < 0) {
      while (x - j < kMaxRepeatScan && ref.at(j - 1) != 'N' && ref.at(j - 1) == ref.at(j - 1 + period)) --j;
      edge = std::min(edge, j);
    } else {
      while (j - x < kMaxRepeatScan && ref.at(j) != 'N' && ref.at(j) == ref.at(j - period)) ++j;
      edge = std::max(edge, j);
    }
  }
  return edge;
}

// Index on a haplotype (starting at reference position hs) of reference position x: shifted by
// the haplotype's indels before it; a deleted position maps to the base after the deletion.
int64_t project_to_haplotype(const std::vector<const Candidate*>& alleles, int64_t x, int64_t hs) {
  int64_t h = x - hs;
  for (const Candidate* a : alleles) {
    if (a->pos >= x) break;
    if (a->len > 0) {
      h += a->len;
    } else if (a->len < 0) {
      const int64_t del_end = a->pos + 1 - a->len;
      h -= std::min(x, del_end) - (a->pos + 1);
    }
  }
  return h;
}

// Longest indel of read i's CIGAR anchored within [lo, hi] (reference positions): a read's own
// indels near the window (a short read's all) may shift it on the haplotypes.
int own_indel_near(const ReadBatch& batch, const OpIndex& ix, int32_t i, int64_t lo, int64_t hi) {
  const uint32_t* ops = batch.cigar.data() + batch.cigar_off[i];
  const uint32_t* op_ref = ix.ref.data() + batch.cigar_off[i];
  const uint32_t n_ops = batch.n_cigar[i];
  const int64_t near_lo = std::max<int64_t>(0, lo - batch.pos[i]);
  const int64_t near_hi = hi - batch.pos[i];
  int own = 0;
  for (uint32_t k = static_cast<uint32_t>(
           std::lower_bound(op_ref, op_ref + n_ops, static_cast<uint32_t>(std::min<int64_t>(near_lo, UINT32_MAX))) -
           op_ref);
       k < n_ops && op_ref[k] <= near_hi; ++k) {
    const uint32_t op = cigar_op(ops[k]);
    if (op == kCigI || op == kCigD) own = std::max<int>(own, cigar_len(ops[k]));
  }
  return own;
}

// Where a read's first kept base goes on a haplotype (index from hs) and the band around it.
struct Placement {
  int64_t diag, band;
};

// The read's first kept base, placed on the haplotype through the haplotype's indels (a left clip
// is placed back from the first aligned base, where the aligner anchored it), and placed again
// from its last aligned base. The two agree unless the read's own indels and the haplotype's
// differ between them (a read the aligner wrote with deletions inside a repeat that the haplotype
// expands): the band then spans both placements.
Placement place_read(const std::vector<const Candidate*>& alleles, int64_t hs, const QueryClip& clip, int base_band) {
  const int64_t kept = static_cast<int64_t>(clip.qe - clip.qs);
  const int64_t from_start = project_to_haplotype(alleles, clip.first_ref, hs) - clip.left_clip;
  const int64_t from_end = project_to_haplotype(alleles, clip.last_ref, hs) + clip.right_clip - (kept - 1);
  const int64_t lo = std::min(from_start, from_end), spread = std::abs(from_start - from_end);
  Placement pl{lo + spread / 2, base_band + (spread - spread / 2)};
  if (pl.band > kMaxBand) pl = {from_start, std::min<int64_t>(kMaxBand, base_band)};  // the aligner's anchor
  return pl;
}

// Bases on either side of a stretch of haplotype whose gap-open codes depend on nothing beyond
// them: a tract reaching further has more units than the codes tell apart (a learnt table's
// kStrMaxUnits of period <= kStrMaxPeriod; the default's floor, reached at (max - min) / slope
// more units, of period <= 4). One more unit and one more period of margin.
int64_t code_context(const CallParams& p) {
  const int64_t learnt = static_cast<int64_t>(kStrMaxUnits + 2) * kStrMaxPeriod;
  if (p.gap_open_slope <= 0) return learnt;
  const double units = std::ceil((p.gap_open_max - p.gap_open_min + 1) / p.gap_open_slope) + 3;
  return std::max<int64_t>(learnt, static_cast<int64_t>(std::min(units, 1e6)) * 4);
}

// A model table's slip tables (losses, then gains; after its gap codes), or null where it has none
// or no slip in them: a batch with no slips keeps hap_slip empty, and the kernel then runs as
// without them.
const uint8_t* slips_of(const std::vector<uint8_t>* t) {
  if (!t || t->size() != static_cast<size_t>(3 * kStrTableSize)) return nullptr;
  const uint8_t* s = t->data() + kStrTableSize;
  return std::any_of(s, s + 2 * kStrTableSize, [](uint8_t q) { return q > 0; }) ? s : nullptr;
}

}  // namespace

HaplotypeCodes haplotype_model_codes(const std::string& h, const std::vector<uint8_t>& table) {
  HaplotypeCodes out;
  out.gap = gap_open_codes(repeat_units(h, kStrMaxPeriod), static_cast<int>(h.size()), table);
  if (const uint8_t* s = slips_of(&table)) out.slip = slip_words(h, s, true);
  return out;
}

QueryClip query_span(const ReadView& r, const OpIndex& ix, int i, int64_t lo, int64_t hi) {
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
      c.last_ref = rp;
    }
    void deleted(int64_t, uint32_t) {}
    void insertion(uint32_t, int64_t, uint32_t, uint32_t, uint32_t) {}
    void deletion(uint32_t, int64_t, uint32_t, uint32_t) {}
  } v{lo, hi, {}};
  walk_read_window(r, ix, i, lo, hi, v);
  if (!v.seen) return v.c;
  const ReadClips rc = read_clips(r, i);
  if (v.c.qs == rc.left && rc.left > 0 && rc.left <= kMaxClipKept) {
    v.c.qs = 0;
    v.c.left_clip = rc.left;
  }
  if (v.c.qe + rc.right == r.len[i] && rc.right <= kMaxClipKept) {
    v.c.right_clip = rc.right;
    v.c.qe = r.len[i];
  }
  return v.c;
}

void apply_candidate(std::string& seq, int64_t seq_beg, const Candidate& a) {
  const size_t x = static_cast<size_t>(a.pos - seq_beg);
  if (a.len == 0) {
    seq[x] = a.seq[0];
  } else if (a.len > 0) {
    seq.insert(x + 1, a.seq);
  } else {
    seq.erase(x + 1, static_cast<size_t>(-a.len));
  }
}

namespace {

// A repeat of a fifth of the reads' length or more leaves a sizeable share of the reads that
// cover it ending inside it (a 20-bp repeat and 10-bp anchors: 40 % of 100-bp reads), so that they
// no longer measure its length and the sample's own reads may not propose an allele it carries:
// there a gVCF lists the lengths next to its alleles (Window::extras of support 0). Long reads
// span every repeat that this considers.
constexpr int64_t kSpannedShare = 5;

// Length of haplotype `alleles`' allele at pos (0: none, or an SNV).
int32_t length_at(const std::vector<const Candidate*>& alleles, int64_t pos) {
  for (const Candidate* a : alleles)
    if (a->pos == pos) return a->len;
  return 0;
}

// gVCF: the haplotype of extra allele `bit` (window_allele): the one of the window's haplotypes
// whose allele at its position is closest in length (REF: 0; the first on a tie), with the extra
// in place of that allele. Left out when it spells a haplotype already listed, or when one of the
// parent's alleles overlaps the extra's REF span from before it.
void add_extra_haplotype(const RefSeq& ref, int64_t hs, int64_t he, const Window& win, size_t bit, size_t n_own,
                         std::vector<uint64_t>& haps, std::vector<std::vector<const Candidate*>>& hap_alleles,
                         std::vector<std::string>& hap_seqs) {
  const Candidate& x = window_allele(win, bit);
  size_t parent = 0;
  for (size_t h = 1; h < n_own; ++h) {
    if (std::abs(length_at(hap_alleles[h], x.pos) - x.len) < std::abs(length_at(hap_alleles[parent], x.pos) - x.len))
      parent = h;
  }
  uint64_t mask = haps[parent] | (1ULL << bit);
  std::vector<const Candidate*> chosen;
  for (size_t k = 0; k < win.alleles.size(); ++k) {
    if (!((haps[parent] >> k) & 1)) continue;
    const Candidate& a = win.alleles[k];
    if (a.pos < x.pos && a.ref_end() > x.pos + 1) return;
    if (a.pos >= x.pos && a.pos < x.ref_end()) {
      mask &= ~(1ULL << k);
      continue;
    }
    chosen.push_back(&a);
  }
  chosen.insert(std::upper_bound(chosen.begin(), chosen.end(), &x,
                                 [](const Candidate* a, const Candidate* b) { return *a < *b; }),
                &x);
  std::string h = apply_alleles(ref, hs, he, chosen);
  if (std::find(hap_seqs.begin(), hap_seqs.end(), h) != hap_seqs.end()) return;
  haps.push_back(mask);
  hap_seqs.push_back(std::move(h));
  hap_alleles.push_back(std::move(chosen));
}

}  // namespace

bool plan_window(const ReadBatch& batch, const ReadView& rv, const OpIndex& ix, const std::vector<uint8_t>& eff_qual,
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
  if (w.reads.empty()) return false;

  // Candidate haplotypes: allele combinations seen on reads that cover every allele.
  std::map<uint64_t, int> mask_count;
  int max_len = 0;
  for (const Candidate& a : win.alleles) max_len = std::max(max_len, std::abs(a.len));
  // The indel screen counts, per allele and sample, the reads that cover and carry it.
  const bool screen = screenable(win, p);
  AlleleReadCounts counts;
  if (screen) {
    counts.columns = p.allele_error_tables.size();
    counts.carriers.assign(win.alleles.size() * counts.columns, 0);
    counts.covering.assign(win.alleles.size() * counts.columns, 0);
  }
  for (int32_t i : w.reads) {
    const auto indels = read_indels(rv, ix, i, ref, ref.beg + 1, span_beg - kReadFlank, span_end + kReadFlank);
    uint64_t mask = 0;
    bool complete = true;
    const size_t col = batch.sample[i];
    for (size_t k = 0; k < win.alleles.size() && (complete || screen); ++k) {
      const int c = read_carries(rv, ix, i, win.alleles[k], indels);
      if (c < 0) complete = false;
      if (c == 1) mask |= 1ULL << k;
      if (screen && col < counts.columns) {
        const int state = screen_read_state(win.alleles[k], c, indels);
        counts.covering[k * counts.columns + col] += state >= 0;
        counts.carriers[k * counts.columns + col] += state == 1;
      }
    }
    if (complete && mask) ++mask_count[mask];
  }
  if (screen && errors_explain_window(win, counts, p)) return true;
  // Assembled haplotypes count with their read support (their alleles may be soft-clipped or
  // written differently in the reads' CIGARs, so the reads above need not show them).
  for (const AssembledHaplotype& seed : win.seeds) {
    uint64_t mask = 0;
    for (const Candidate& a : seed.alleles) {
      const auto it = std::lower_bound(win.alleles.begin(), win.alleles.end(), a);
      if (it != win.alleles.end() && *it == a) mask |= 1ULL << (it - win.alleles.begin());
    }
    if (mask) {
      int& c = mask_count[mask];
      c = std::max(c, static_cast<int>(std::min<uint32_t>(seed.support, 1u << 30)));
    }
  }
  std::vector<std::pair<int, uint64_t>> ranked;
  for (const auto& [mask, c] : mask_count)
    if (c >= p.min_alt_count) ranked.emplace_back(-c, mask);
  std::sort(ranked.begin(), ranked.end());

  // The reads' bases aligned within kReadFlank of the alleles, or past a repeat the alleles sit at
  // the edge of, are aligned to the haplotypes: bases further away match every haplotype alike.
  const int64_t read_lo = std::min(span_beg - kReadFlank, repeat_edge(ref, span_beg, -1) - kRepeatAnchor);
  const int64_t read_hi = std::max(span_end + kReadFlank, repeat_edge(ref, span_end, +1) + kRepeatAnchor);
  // Haplotype sequences over the span of the window's reads, soft clips included, as far as the
  // aligned bases can reach.
  int64_t hs = win.beg, he = win.end;
  for (int32_t i : w.reads) {
    const ReadClips c = read_clips(rv, i);
    hs = std::min(hs, batch.pos[i] - c.left);
    he = std::max(he, batch.end[i] + c.right);
  }
  hs = std::max({ref.beg, hs - kMaxBand - 2, read_lo - kWindowReach});
  he = std::min({ref.beg + static_cast<int64_t>(ref.s.size()), he + kMaxBand + 2, read_hi + kWindowReach});
  // A mask whose sequence an earlier (better supported) one already spells is the same haplotype
  // written with other alleles (assembly and CIGARs may differ): it is left out.
  std::vector<std::string> hap_seqs{ref.sub(hs, he - hs)};
  std::vector<std::vector<const Candidate*>> hap_alleles{{}};
  auto add_haplotype = [&](uint64_t mask) {
    if (static_cast<int>(w.haps.size()) >= p.max_haplotypes) return;
    std::vector<const Candidate*> chosen;
    for (size_t k = 0; k < win.alleles.size(); ++k)
      if ((mask >> k) & 1) chosen.push_back(&win.alleles[k]);
    std::string h = apply_alleles(ref, hs, he, chosen);
    if (std::find(hap_seqs.begin(), hap_seqs.end(), h) != hap_seqs.end()) return;
    w.haps.push_back(mask);
    hap_seqs.push_back(std::move(h));
    hap_alleles.push_back(std::move(chosen));
  };
  for (const auto& [negc, mask] : ranked) add_haplotype(mask);
  for (size_t k = 0; k < win.alleles.size(); ++k) {  // alleles seen only on partial reads
    bool seen = false;
    for (uint64_t m : w.haps) seen |= (m >> k) & 1;
    if (!seen) add_haplotype(1ULL << k);
  }
  if (w.haps.size() < 2) return false;
  w.first_extra = w.haps.size();
  std::vector<int> extra_len(w.haps.size(), 0);  // per haplotype: |length| of its extra allele
  int64_t longest_read = 0;
  for (int32_t i : w.reads) longest_read = std::max<int64_t>(longest_read, rv.len[i]);
  for (size_t e = 0; e < win.extras.size(); ++e) {
    const size_t bit = win.alleles.size() + e;
    const Candidate& x = win.extras[e];
    if (x.support == 0 && x.tract_end - (x.pos + 1) < longest_read / kSpannedShare) continue;
    const int before = static_cast<int>(hap_alleles.size());
    add_extra_haplotype(ref, hs, he, win, bit, w.first_extra, w.haps, hap_alleles, hap_seqs);
    if (static_cast<int>(hap_alleles.size()) > before) extra_len.push_back(std::abs(win.extras[e].len));
  }
  // The error models of the window's reads (one per sample column with a learnt table; the
  // default for the others): each haplotype gets its gap-open codes once per model.
  std::vector<const std::vector<uint8_t>*> slot_table{nullptr};
  std::vector<int> slot_of_column;
  if (!p.gap_open_tables.empty()) {
    slot_table.clear();
    for (int32_t i : w.reads) {
      const size_t col = batch.sample[i];
      if (col >= slot_of_column.size()) slot_of_column.resize(col + 1, -1);
      if (slot_of_column[col] >= 0) continue;
      const std::vector<uint8_t>* t =
          col < p.gap_open_tables.size() && (p.gap_open_tables[col].size() == static_cast<size_t>(kStrTableSize) ||
                                              p.gap_open_tables[col].size() == static_cast<size_t>(3 * kStrTableSize))
              ? &p.gap_open_tables[col]
              : nullptr;
      const auto at = std::find(slot_table.begin(), slot_table.end(), t);
      slot_of_column[col] = static_cast<int>(at - slot_table.begin());
      if (at == slot_table.end()) slot_table.push_back(t);
    }
  }
  const size_t n_slots = slot_table.size();
  const size_t nh = w.haps.size();
  bool any_slips = false;
  for (const auto* t : slot_table) any_slips = any_slips || slips_of(t) != nullptr;
  if (any_slips && jobs.hap_slip.size() < jobs.hap_gap_open.size()) jobs.hap_slip.resize(jobs.hap_gap_open.size(), 0u);

  // One job per read x haplotype, on the read's bases in [read_lo, read_hi).
  std::vector<QueryClip> clips;
  std::vector<int32_t> aligned_reads;
  for (int32_t i : w.reads) {
    // Soft clips next to the kept bases join them: an insertion longer than the read's overhang
    // is clipped by the aligner, and its bases are the evidence for the haplotype carrying it.
    const QueryClip c = query_span(rv, ix, i, read_lo, read_hi);
    if (c.qe > c.qs) {
      clips.push_back(c);
      aligned_reads.push_back(i);
    }
  }
  w.reads = std::move(aligned_reads);
  std::vector<uint32_t> read_off;
  std::vector<Placement> placed;  // [read * nh + hap]
  for (size_t r = 0; r < w.reads.size(); ++r) {
    const int32_t i = w.reads[r];
    const QueryClip& clip = clips[r];
    read_off.push_back(static_cast<uint32_t>(jobs.read_bases.size()));
    const uint64_t so = batch.seq_off[i];
    for (uint32_t q = clip.qs; q < clip.qe; ++q) {
      jobs.read_bases.push_back(batch.seq[so + q]);
      const uint8_t e = eff_qual[so + q];
      jobs.read_quals.push_back(e == kMaskedQual ? 0 : static_cast<uint8_t>(std::min<int>(e, kMaxQual)));
    }
    const int base_band = 8 + std::max(max_len, own_indel_near(batch, ix, i, read_lo - kWindowReach, read_hi + kWindowReach));
    for (size_t h = 0; h < nh; ++h)  // an extra's haplotype: its length widens the band too
      placed.push_back(place_read(hap_alleles[h], hs, clip, std::max(base_band, 8 + extra_len[h])));
  }

  // Each haplotype is stored over the positions its reads' bands reach only (a long read's window
  // haplotype spans kilobases the bands never touch), with its gap-open codes computed from the
  // context around them (so they are those of the whole haplotype).
  std::vector<uint32_t> hap_off(nh), hap_len(nh), go_off(nh * n_slots);
  std::vector<int64_t> kept_from(nh);
  for (size_t h = 0; h < nh; ++h) {
    const std::string& seq = hap_seqs[h];
    const int64_t m = static_cast<int64_t>(seq.size());
    int64_t lo = m, hi = 0;
    for (size_t r = 0; r < w.reads.size(); ++r) {
      const Placement& pl = placed[r * nh + h];
      lo = std::min(lo, pl.diag - pl.band);
      hi = std::max(hi, pl.diag + static_cast<int64_t>(clips[r].qe - clips[r].qs) + pl.band);
    }
    // One position before the first band cell: the kernel reads the code before each cell.
    const int64_t from = std::clamp<int64_t>(lo - 1, 0, m), to = std::clamp<int64_t>(hi, from, m);
    kept_from[h] = from;
    hap_off[h] = static_cast<uint32_t>(jobs.hap_bases.size());
    hap_len[h] = static_cast<uint32_t>(to - from);
    for (int64_t j = from; j < to; ++j) jobs.hap_bases.push_back(base_to_allele(seq[static_cast<size_t>(j)]));
    const int64_t ctx_from = std::max<int64_t>(0, from - code_context(p)), ctx_to = std::min<int64_t>(m, to + code_context(p));
    const std::string ctx = seq.substr(static_cast<size_t>(ctx_from), static_cast<size_t>(ctx_to - ctx_from));
    std::vector<int> units;
    for (size_t slot = 0; slot < n_slots; ++slot) {
      const std::vector<uint8_t>* t = slot_table[slot];
      go_off[h * n_slots + slot] = static_cast<uint32_t>(jobs.hap_gap_open.size());
      if (t && units.empty()) units = repeat_units(ctx, kStrMaxPeriod);
      const auto go = t ? gap_open_codes(units, static_cast<int>(ctx.size()), *t) : gap_open_codes(ctx, p);
      jobs.hap_gap_open.insert(jobs.hap_gap_open.end(), go.begin() + (from - ctx_from), go.begin() + (to - ctx_from));
      if (const uint8_t* st = slips_of(t)) {
        const auto sw = slip_words(ctx, st, ctx_from == 0);
        jobs.hap_slip.insert(jobs.hap_slip.end(), sw.begin() + (from - ctx_from), sw.begin() + (to - ctx_from));
      } else if (any_slips || !jobs.hap_slip.empty()) {
        jobs.hap_slip.resize(jobs.hap_gap_open.size(), 0u);
      }
    }
  }

  w.first_job = jobs.jobs.size();
  for (size_t r = 0; r < w.reads.size(); ++r) {
    const int32_t i = w.reads[r];
    const size_t slot = slot_of_column.empty() ? 0 : static_cast<size_t>(slot_of_column[batch.sample[i]]);
    for (size_t h = 0; h < nh; ++h) {
      const Placement& pl = placed[r * nh + h];
      jobs.jobs.push_back({read_off[r], clips[r].qe - clips[r].qs, hap_off[h], hap_len[h], go_off[h * n_slots + slot],
                           static_cast<int32_t>(pl.diag - kept_from[h]), static_cast<int32_t>(pl.band)});
    }
  }
  work.push_back(std::move(w));
  return false;
}

PairHmmTables make_pairhmm_tables() {
  PairHmmTables t;
  for (int q = 0; q < 128; ++q) {
    const double e = base_error(q);
    t.match[q] = 1.0 - e;
    t.mismatch[q] = e / 3.0;
  }
  for (int g = 0; g < 64; ++g) t.gap_open[g] = std::pow(10.0, -g / 10.0);
  for (int c = 0; c < 4; ++c) {
    t.gap_ext[c] = kGapExtClass[c];
    t.gap_close[c] = 1.0 - kGapExtClass[c];
  }
  t.slip[0] = 0.0;  // no slip
  for (int q = 1; q < 64; ++q) t.slip[q] = std::pow(10.0, -q / 10.0);
  t.init = kInit;
  return t;
}

}  // namespace gms::calling
