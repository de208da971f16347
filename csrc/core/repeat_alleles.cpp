// Tandem-repeat alleles from the lengths the reads show, spanning or not (HipSTR's and
// ExpansionHunter's idea). A read anchored on one flank of a repeat tract spells the tract's units
// until it reaches the other flank (a spanning read: the allele's length) or its own end (a
// flanking read: a lower bound). An aligner writes neither as an indel when the allele is longer
// than the read can cross: it matches the read to the reference tract and soft-clips the rest, and
// the de Bruijn graph folds on the repeat. Here each such length becomes a candidate allele; the
// pair-HMM then weighs every read, flanking ones included, against the haplotypes that carry it.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include "core/calling.hpp"
#include "io/reference.hpp"
#include "kernels/alignment_walk.hpp"

namespace gms::calling {

namespace {

constexpr int kMinPeriod = 2;  // homopolymers: CIGARs show their lengths, and their stutter is noise here
constexpr int kMaxPeriod = 6;
constexpr int64_t kMinTract = 10;  // shorter tracts: reads cross every allele and CIGARs show it
constexpr int64_t kAnchor = 8;     // aligned flank bases that place a read on a side of the tract
constexpr int kFlankCheck = 5;     // bases past a run that must spell the other flank (spanning)
constexpr int kFlankSearch = 12;   // the same, found further on (an allele that is not a pure run)
constexpr int kLowQual = 15;       // a mismatch below this quality may be a sequencing error

// Reference [beg, end) whose bases repeat with `period`; end is the first base that breaks it
// (a partial last unit is part of the tract).
struct Tract {
  int64_t beg, end;
  int period;
  bool compound = false;  // tracts of other units next to it or overlapping it are part of it
  bool operator<(const Tract& o) const { return std::tie(beg, end, period) < std::tie(o.beg, o.end, o.period); }
  bool operator==(const Tract& o) const { return beg == o.beg && end == o.end && period == o.period; }
};

// The shortest period of an indel's bases (its repeat unit).
int unit_period(const std::string& s) {
  const int n = static_cast<int>(s.size());
  for (int p = 1; p < n; ++p) {
    bool ok = true;
    for (int k = p; k < n && ok; ++k) ok = s[static_cast<size_t>(k)] == s[static_cast<size_t>(k - p)];
    if (ok) return p;
  }
  return n;
}

// The tract of `period` through position x, if it is at least kMinTract bases and two units of a
// primitive unit (a CA repeat is not a tract of period 4).
bool tract_at(const RefSeq& ref, int64_t x, int period, Tract& t) {
  int64_t b = x, e = x + period;
  for (int64_t k = x; k < e; ++k)
    if (ref.at(k) == 'N') return false;
  while (ref.at(b - 1) != 'N' && ref.at(b - 1) == ref.at(b - 1 + period)) --b;
  while (ref.at(e) != 'N' && ref.at(e) == ref.at(e - period)) ++e;
  t = {b, e, period};
  return e - b >= std::max<int64_t>(kMinTract, 2 * period) && unit_period(ref.sub(b, period)) == period;
}

// Query position of read i's base aligned at reference x (-1: none: deleted or outside).
int64_t query_at(const ReadView& r, const OpIndex& ix, int i, int64_t x) {
  struct V {
    int64_t x;
    int64_t q = -1;
    void base(int64_t rp, uint32_t qp) {
      if (rp == x) q = qp;
    }
    void deleted(int64_t, uint32_t) {}
    void insertion(uint32_t, int64_t, uint32_t, uint32_t, uint32_t) {}
    void deletion(uint32_t, int64_t, uint32_t, uint32_t) {}
  } v{x};
  if (x < r.pos[i] || x >= r.end[i]) return -1;
  walk_read_window(r, ix, i, x, x + 1, v);
  return v.q;
}

// What one read says about the tract on its haplotype.
struct ReadLength {
  bool spanning = false;     // the read spells both flanks:
  std::string tract;         //   the bases between them
  std::vector<uint8_t> qual; //   and their qualities
  int64_t lower_bound = -1;  // otherwise: the tract's pattern runs at least this long
};

class TractScan {
 public:
  TractScan(const RefSeq& ref, const Tract& t) : ref_(ref), t_(t), lr_(t.end - t.beg), unit_(ref.sub(t.beg, t.period)) {}

  // Base of the tract's pattern at tract index k (negative or past the end: its continuation).
  char pattern(int64_t k) const {
    const int64_t p = t_.period;
    return unit_[static_cast<size_t>(((k % p) + p) % p)];
  }

  // A read anchored on one flank (kAnchor aligned bases): the bases up to the other flank when it
  // reaches it (the pattern's run and then kFlankCheck bases of that flank; or, for an allele that
  // is not a pure run of units, the first kFlankSearch bases of that flank found further on), else
  // the length of the pattern's run from its flank. A compound tract has no one pattern: only the
  // flank search.
  ReadLength read_length(const ReadView& r, const OpIndex& ix, int i) const {
    ReadLength out;
    const uint8_t* seq = r.seq + r.seq_off[i];
    const uint8_t* qual = r.qual + r.seq_off[i];
    const int64_t n = r.len[i];
    auto spanned = [&](int64_t from, int64_t to) {  // query [from, to) is the tract
      out.spanning = true;
      for (int64_t q = from; q < to; ++q) {
        out.tract.push_back(kBaseChar[seq[q]]);
        out.qual.push_back(qual[q]);
      }
      return out;
    };
    if (r.pos[i] <= t_.beg - kAnchor) {  // anchored on the left flank
      const int64_t qa = query_at(r, ix, i, t_.beg - 1);
      if (qa >= 0) {
        const int64_t run = t_.compound ? 0 : run_length(seq, qual, n, qa + 1, +1);
        for (int64_t c = 0; c <= std::min<int64_t>(run, t_.period) && !t_.compound; ++c)
          if (spells(seq, qual, n, qa + 1 + run - c, t_.end, +1, kFlankCheck)) return spanned(qa + 1, qa + 1 + run - c);
        // The flank follows the pattern's run (a compound tract has none): searched from there.
        for (int64_t q = qa + 1 + std::max<int64_t>(0, run - t_.period);
             q + kFlankSearch <= n && q - qa - 1 <= lr_ + kMaxAssembledIndel; ++q)
          if (spells(seq, qual, n, q, t_.end, +1, kFlankSearch)) return spanned(qa + 1, q);
        if (!t_.compound) out.lower_bound = run;
      }
    }
    if (r.end[i] >= t_.end + kAnchor) {  // anchored on the right flank
      const int64_t qt = query_at(r, ix, i, t_.end);
      if (qt >= 0) {
        const int64_t run = t_.compound ? 0 : run_length(seq, qual, n, qt - 1, -1);
        for (int64_t c = 0; c <= std::min<int64_t>(run, t_.period) && !t_.compound; ++c)
          if (spells(seq, qual, n, qt - 1 - run + c, t_.beg - 1, -1, kFlankCheck)) return spanned(qt - run + c, qt);
        for (int64_t q = qt - 1 - std::max<int64_t>(0, run - t_.period);
             q - kFlankSearch + 1 >= 0 && qt - 1 - q <= lr_ + kMaxAssembledIndel; --q)
          if (spells(seq, qual, n, q, t_.beg - 1, -1, kFlankSearch)) return spanned(q + 1, qt);
        if (!t_.compound) out.lower_bound = std::max(out.lower_bound, run);
      }
    }
    return out;
  }

  // Is `tract` the pattern's run (of its own length)?
  bool is_run(const std::string& tract) const {
    if (t_.compound) return false;
    for (size_t k = 0; k < tract.size(); ++k)
      if (tract[k] != pattern(static_cast<int64_t>(k))) return false;
    return true;
  }

  // The edits that put `tract` in place of the reference tract (normalised; empty: none fits).
  std::vector<Candidate> edits(const std::string& tract) const {
    if (is_run(tract)) return {allele(static_cast<int64_t>(tract.size()))};
    constexpr int64_t kPad = 10;
    const std::string hap = ref_.sub(t_.beg - kPad, kPad) + tract + ref_.sub(t_.end, kPad);
    return haplotype_edits(ref_, t_.beg - kPad, t_.end + kPad, hap);
  }

  // The allele whose tract is `length` bases (the pattern continued, or cut, at the tract's end),
  // in VCF normal form.
  Candidate allele(int64_t length) const {
    const int64_t d = length - lr_;
    Candidate a{};
    if (d > 0) {
      std::string s;
      for (int64_t k = 0; k < d; ++k) s.push_back(pattern(lr_ + k));
      a = Candidate{t_.end - 1, static_cast<int32_t>(d), s, 0, 0};
    } else {
      a = Candidate{t_.end + d - 1, static_cast<int32_t>(d), ref_.sub(t_.end + d, -d), 0, 0};
    }
    normalize_indel(ref_, ref_.beg + 1, a);
    return a;
  }

  int64_t reference_length() const { return lr_; }
  int period() const { return t_.period; }

 private:
  // Bases from query q (moving by dir) that continue the pattern away from the flank the read is
  // anchored on; an isolated low-quality mismatch (the next base fits again) does not end it.
  int64_t run_length(const uint8_t* seq, const uint8_t* qual, int64_t n, int64_t q, int dir) const {
    int64_t k = 0;
    // Tract index of the first base read: 0 from the left flank, lr_ - 1 from the right.
    const int64_t k0 = dir > 0 ? 0 : lr_ - 1;
    auto fits = [&](int64_t qq, int64_t kk) {
      return qq >= 0 && qq < n && kBaseChar[seq[qq]] == pattern(k0 + dir * kk);
    };
    for (; q + dir * k >= 0 && q + dir * k < n; ++k) {
      const int64_t qq = q + dir * k;
      if (fits(qq, k)) continue;
      if (qual[qq] < kLowQual && fits(qq + dir, k + 1)) continue;
      break;
    }
    return k;
  }

  // Do the read's bases from q (moving by dir) spell the reference from x (moving alike), for
  // `len` bases (low-quality mismatches allowed)?
  bool spells(const uint8_t* seq, const uint8_t* qual, int64_t n, int64_t q, int64_t x, int dir, int len) const {
    for (int j = 0; j < len; ++j) {
      const int64_t qq = q + dir * j;
      if (qq < 0 || qq >= n) return false;
      const char rb = ref_.at(x + dir * j);
      if (rb == 'N') return false;
      if (kBaseChar[seq[qq]] != rb && qual[qq] >= kLowQual) return false;
    }
    return true;
  }

  const RefSeq& ref_;
  Tract t_;
  int64_t lr_;
  std::string unit_;
};

// Per place, the base with the highest sum of qualities over the reads (all of length len).
std::string consensus(const std::vector<std::pair<uint64_t, ReadLength>>& reads, int64_t len) {
  std::string out;
  for (int64_t k = 0; k < len; ++k) {
    uint32_t sum[5] = {0, 0, 0, 0, 0};
    for (const auto& r : reads) sum[base_to_allele(r.second.tract[static_cast<size_t>(k)])] += 1 + r.second.qual[static_cast<size_t>(k)];
    int best = 0;
    for (int b = 1; b < 4; ++b)
      if (sum[b] > sum[best]) best = b;
    out.push_back(kBaseChar[best]);
  }
  return out;
}

// Tracts to look at: those of the indel candidates that lie in a repeat, and every tract in the
// active regions (a long allele's only trace may be the soft clips at its tract's ends).
std::vector<Tract> tracts_of_interest(const RefSeq& ref, const std::vector<Candidate>& candidates,
                                      const std::vector<ActiveRegion>& regions) {
  std::vector<Tract> out;
  Tract t{};
  for (const Candidate& a : candidates) {
    if (!a.is_indel()) continue;
    const int p = unit_period(a.seq);
    if (p >= kMinPeriod && p <= kMaxPeriod && tract_at(ref, a.pos + 1, p, t)) out.push_back(t);
  }
  for (const ActiveRegion& r : regions) {
    for (int p = kMinPeriod; p <= kMaxPeriod; ++p) {
      for (int64_t x = r.beg; x < r.end;) {
        if (tract_at(ref, x, p, t)) {
          out.push_back(t);
          x = std::max(x + 1, t.end - p + 1);
        } else {
          ++x;
        }
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  // A compound repeat (TCTA units next to TCTG units) is one tract: an allele can change each part,
  // and the lengths of one part alone would give haplotypes that carry half of it.
  std::vector<Tract> merged;
  for (const Tract& x : out) {
    if (!merged.empty() && x.beg <= merged.back().end) {
      Tract& m = merged.back();
      if (x.end > m.end || x.period != m.period) m.compound = m.compound || x.end > m.end || x.period != m.period;
      m.end = std::max(m.end, x.end);
    } else {
      merged.push_back(x);
    }
  }
  return merged;
}

}  // namespace

std::vector<AssembledHaplotype> repeat_length_alleles(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                                      const std::vector<Candidate>& candidates,
                                                      const std::vector<ActiveRegion>& regions, int64_t beg,
                                                      int64_t end, int64_t max_span, const CallParams& p) {
  const uint32_t min_reads = static_cast<uint32_t>(std::max(p.min_alt_count, 2));
  std::map<std::vector<Candidate>, uint32_t> haps;  // alleles of a haplotype -> its fragments
  for (const Tract& t : tracts_of_interest(ref, candidates, regions)) {
    if (t.end <= beg || t.beg >= end) continue;
    const TractScan scan(ref, t);
    // Spanning reads by the length of the tract they spell, and each non-spanning fragment's
    // largest lower bound.
    std::map<int64_t, std::vector<std::pair<uint64_t, ReadLength>>> spanning;
    std::map<uint64_t, int64_t> bound;
    for (const SampleEvidence& e : samples) {
      const ReadBatch& b = e.reads.batch;
      const ReadView rv = b.view();
      const auto lo = std::lower_bound(b.pos.begin(), b.pos.end(), t.beg - max_span) - b.pos.begin();
      for (int64_t i = lo; i < b.size() && b.pos[i] <= t.end; ++i) {
        if (b.end[i] < t.beg) continue;
        ReadLength rl = scan.read_length(rv, e.ops, static_cast<int>(i));
        const uint64_t frag = b.name_hash[static_cast<size_t>(i)];
        if (rl.spanning) {
          spanning[static_cast<int64_t>(rl.tract.size())].emplace_back(frag, std::move(rl));
        } else if (rl.lower_bound >= 0) {
          int64_t& x = bound.try_emplace(frag, 0).first->second;
          x = std::max(x, rl.lower_bound);
        }
      }
    }
    const int64_t lr = scan.reference_length();
    std::map<int64_t, std::set<uint64_t>> frags_of;  // overlapping mates count once
    for (const auto& [len, reads] : spanning)
      for (const auto& r : reads) frags_of[len].insert(r.first);
    int64_t longest = lr;  // the longest tract that spanning reads of enough fragments show
    for (const auto& [len, reads] : spanning) {
      const std::set<uint64_t>& frags = frags_of[len];
      if (frags.size() < min_reads) continue;
      longest = std::max(longest, len);
      // The reads' consensus (the base of the highest quality sum at each place): sequencing
      // errors differ from read to read, the allele does not.
      std::string tract = consensus(reads, len);
      if (std::abs(len - lr) > kMaxAssembledIndel || tract == ref.sub(t.beg, lr)) continue;
      std::vector<Candidate> edits = scan.edits(tract);
      bool has_indel = false;
      for (const Candidate& a : edits) has_indel |= a.is_indel();
      if (!has_indel) continue;  // SNVs alone: the pileup sees them
      uint32_t& s = haps[edits];
      s = std::max(s, static_cast<uint32_t>(frags.size()));
    }
    // Fragments whose tract runs past every spanned allele: an allele longer than they cross. Its
    // length is the shortest in whole units that holds them all (and that holds all but the
    // longest, in case that one ran on through an error); the reads decide between the two.
    std::vector<int64_t> longer;
    for (const auto& [frag, lb] : bound)
      if (lb > longest) longer.push_back(lb);
    if (longer.size() < min_reads) continue;
    std::sort(longer.rbegin(), longer.rend());
    for (size_t k = 0; k < 2; ++k) {
      const int64_t per = scan.period();
      const int64_t len = lr + (longer[k] - lr + per - 1) / per * per;
      if (len - lr > kMaxAssembledIndel) continue;
      uint32_t& s = haps[{scan.allele(len)}];
      s = std::max(s, static_cast<uint32_t>(longer.size()));
    }
  }
  std::vector<AssembledHaplotype> out;
  for (const auto& [alleles, n] : haps) {
    bool anchored = !alleles.empty();
    for (const Candidate& a : alleles) anchored &= ref.at(a.pos) != 'N';
    if (anchored) out.push_back({alleles, n});
  }
  return out;
}

}  // namespace gms::calling
