// Local assembly of active regions: where reads disagree with the reference beyond what CIGAR
// candidates explain (soft clips, several indels close together, clustered mismatches), the reads'
// k-mers (soft-clipped bases included) form a de Bruijn graph; its best source-to-sink paths are
// candidate haplotypes, aligned back to the reference and decomposed into normalised alleles.
//
// Determinism: the graph is walked only through successor arrays indexed by base; hash maps are
// used for lookups, never iterated; path ties are broken by base order, so the same reads give the
// same haplotypes on any thread, shard split or backend.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <unordered_map>

#include "core/calling.hpp"
#include "io/reference.hpp"
#include "kernels/alignment_walk.hpp"

namespace gms::calling {

namespace {

// A k-mer by two polynomial hashes of its bases (k may exceed 64 bases: tandem repeats need long
// k). Sequences are never decoded from k-mers: a path is the reference's first k-mer plus the
// bases of its edges.
using Kmer = unsigned __int128;

struct KmerHash {
  size_t operator()(Kmer k) const {
    const uint64_t lo = static_cast<uint64_t>(k), hi = static_cast<uint64_t>(k >> 64);
    return static_cast<size_t>(lo ^ (hi * 0x9E3779B97F4A7C15ULL));
  }
};

// Rolling hash of the last k bases pushed (two independent 64-bit polynomial hashes).
class RollingKmer {
 public:
  explicit RollingKmer(int k) : k_(k) {
    top_a_ = top_b_ = 1;
    for (int i = 0; i + 1 < k; ++i) {
      top_a_ *= kBaseA;
      top_b_ *= kBaseB;
    }
  }
  // Pushes base b (0..3); `out` is the base leaving the window (ignored until k bases were pushed).
  void push(uint8_t b, uint8_t out) {
    if (n_ >= k_) {
      a_ -= (out + 1ULL) * top_a_;
      b_ -= (out + 1ULL) * top_b_;
    } else {
      ++n_;
    }
    a_ = a_ * kBaseA + b + 1;
    b_ = b_ * kBaseB + b + 1;
  }
  void reset() { a_ = b_ = 0; n_ = 0; }
  bool full() const { return n_ >= k_; }
  Kmer value() const { return (static_cast<Kmer>(a_) << 64) | b_; }

 private:
  static constexpr uint64_t kBaseA = 0x9E3779B97F4A7C15ULL, kBaseB = 0xC2B2AE3D27D4EB4FULL;
  int k_, n_ = 0;
  uint64_t a_ = 0, b_ = 0, top_a_, top_b_;
};

constexpr int kKmerSizes[] = {21, 31, 41, 51, 65, 81, 101};  // retried upwards while the graph has a cycle
constexpr int kMinClip = 3;            // soft clips shorter than this are sequencing-end noise
constexpr int kMinAssemblyQual = 3;   // bases below break k-mers (Illumina Q2: "no call")
constexpr int64_t kActiveJoin = 50;    // active positions this close form one region
constexpr int64_t kRegionPad = 25;     // reference kept on each side (and k more for the anchors)
constexpr int64_t kMaxRegion = 1200;   // longer active stretches are left to the CIGAR candidates
constexpr int kMaxPaths = 16;          // best paths kept per region
constexpr size_t kMaxNodes = 200000;   // graphs beyond this (pathological piles) are not walked

struct Node {
  int32_t next[4] = {-1, -1, -1, -1};
  uint32_t count[4] = {0, 0, 0, 0};  // reads through each out-edge
  bool ref_edge[4] = {false, false, false, false};
};

// The reads' bases over a region, as runs of allele codes with their qualities.
struct Segment {
  std::vector<uint8_t> bases, quals;
};

class Graph {
 public:
  explicit Graph(int k) : k_(k) {}

  // The reference path; false when a k-mer repeats in it (the graph would fold on the repeat).
  bool add_reference(const std::vector<uint8_t>& ref) {
    RollingKmer km(k_);
    int32_t prev = -1;
    for (size_t i = 0; i < ref.size(); ++i) {
      km.push(ref[i], i >= static_cast<size_t>(k_) ? ref[i - static_cast<size_t>(k_)] : 0);
      if (!km.full()) continue;
      const size_t before = nodes_.size();
      const int32_t cur = node_of(km.value());
      if (nodes_.size() == before) return false;
      if (prev >= 0) link(prev, ref[i], cur).ref_edge[ref[i]] = true;
      ref_path_.push_back(cur);
      prev = cur;
    }
    if (ref_path_.size() < 2) return false;
    source_kmer_.clear();
    for (int i = 0; i < k_; ++i) source_kmer_.push_back(kBaseChar[ref[static_cast<size_t>(i)]]);
    return true;
  }

  void add_read(const Segment& s, int min_bq) {
    RollingKmer km(k_);
    int32_t prev = -1;
    for (size_t i = 0; i < s.bases.size(); ++i) {
      const uint8_t b = s.bases[i];
      if (b > 3 || s.quals[i] < min_bq) {
        km.reset();
        prev = -1;
        continue;
      }
      km.push(b, i >= static_cast<size_t>(k_) ? s.bases[i - static_cast<size_t>(k_)] : 0);
      if (!km.full()) continue;
      const int32_t cur = node_of(km.value());
      if (prev >= 0) ++link(prev, b, cur).count[b];
      prev = cur;
    }
  }

  size_t size() const { return nodes_.size(); }

  // Up to max_paths source-to-sink sequences by score (sum of log10 edge shares), best first;
  // empty when the pruned graph has a cycle.
  std::vector<std::pair<std::string, uint32_t>> best_paths(uint32_t min_support, int max_paths) const {
    auto usable = [&](const Node& n, int b) {
      return n.next[b] >= 0 && (n.ref_edge[b] || n.count[b] >= min_support);
    };
    // Post-order over the pruned graph reachable from the source; a grey successor is a cycle.
    const int32_t source = ref_path_.front(), sink = ref_path_.back();
    std::vector<uint8_t> colour(nodes_.size(), 0);
    std::vector<int32_t> order;
    std::vector<std::pair<int32_t, int>> stack{{source, 0}};
    colour[static_cast<size_t>(source)] = 1;
    while (!stack.empty()) {
      auto& [v, b] = stack.back();
      if (v == sink || b == 4) {
        colour[static_cast<size_t>(v)] = 2;
        order.push_back(v);
        stack.pop_back();
        continue;
      }
      const int base = b++;
      const Node& n = nodes_[static_cast<size_t>(v)];
      if (!usable(n, base)) continue;
      const int32_t w = n.next[base];
      if (colour[static_cast<size_t>(w)] == 1) return {};
      if (colour[static_cast<size_t>(w)] == 0) {
        colour[static_cast<size_t>(w)] = 1;
        stack.emplace_back(w, 0);
      }
    }
    // Best suffixes to the sink per node, children first.
    struct Suffix {
      double score;
      int8_t base;      // edge taken (-1 at the sink)
      int16_t rank;     // index into the successor's suffixes
      uint32_t support; // weakest read-supported edge on the way (UINT32_MAX: only reference)
    };
    std::vector<std::vector<Suffix>> best(nodes_.size());
    best[static_cast<size_t>(sink)].push_back({0.0, -1, -1, UINT32_MAX});
    for (int32_t v : order) {
      if (v == sink) continue;
      const Node& n = nodes_[static_cast<size_t>(v)];
      double total = 0.0;
      for (int b = 0; b < 4; ++b)
        if (usable(n, b)) total += n.count[b] + (n.ref_edge[b] ? 1.0 : 0.0);
      std::vector<Suffix> cand;
      for (int b = 0; b < 4; ++b) {
        if (!usable(n, b)) continue;
        const auto& succ = best[static_cast<size_t>(n.next[b])];
        const double edge = std::log10((n.count[b] + (n.ref_edge[b] ? 1.0 : 0.0)) / total);
        const uint32_t sup = n.ref_edge[b] ? UINT32_MAX : n.count[b];
        for (size_t r = 0; r < succ.size(); ++r) {
          cand.push_back({edge + succ[r].score, static_cast<int8_t>(b), static_cast<int16_t>(r),
                          std::min(sup, succ[r].support)});
        }
      }
      std::stable_sort(cand.begin(), cand.end(), [](const Suffix& x, const Suffix& y) {
        if (x.score != y.score) return x.score > y.score;
        return std::tie(x.base, x.rank) < std::tie(y.base, y.rank);
      });
      if (static_cast<int>(cand.size()) > max_paths) cand.resize(static_cast<size_t>(max_paths));
      best[static_cast<size_t>(v)] = std::move(cand);
    }
    std::vector<std::pair<std::string, uint32_t>> out;
    const auto& top = best[static_cast<size_t>(source)];
    for (size_t r = 0; r < top.size(); ++r) {
      std::string s = source_kmer_;
      int32_t v = source;
      size_t rank = r;
      while (v != sink) {
        const Suffix& sfx = best[static_cast<size_t>(v)][rank];
        s.push_back(kBaseChar[sfx.base]);
        v = nodes_[static_cast<size_t>(v)].next[sfx.base];
        rank = static_cast<size_t>(sfx.rank);
      }
      out.emplace_back(std::move(s), top[r].support);
    }
    return out;
  }

 private:
  int32_t node_of(Kmer km) {
    auto [it, fresh] = index_.try_emplace(km, static_cast<int32_t>(nodes_.size()));
    if (fresh) nodes_.emplace_back();
    return it->second;
  }
  Node& link(int32_t from, uint8_t b, int32_t to) {
    Node& n = nodes_[static_cast<size_t>(from)];
    n.next[b] = to;
    return n;
  }
  int k_;
  std::string source_kmer_;
  std::vector<Node> nodes_;
  std::vector<int32_t> ref_path_;
  std::unordered_map<Kmer, int32_t, KmerHash> index_;
};

// The bases of read i that lie over [lo, hi), with the soft clips adjacent to them.
bool read_segment(const ReadView& r, const OpIndex& ix, const std::vector<uint8_t>& eff_qual, int i, int64_t lo,
                  int64_t hi, Segment& seg) {
  const QueryClip c = query_span(r, ix, i, lo, hi);
  if (c.qe <= c.qs) return false;
  const uint64_t off = r.seq_off[i];
  seg.bases.assign(r.seq + off + c.qs, r.seq + off + c.qe);
  seg.quals.resize(seg.bases.size());
  for (uint32_t q = c.qs; q < c.qe; ++q) {
    const uint8_t e = eff_qual[off + q];
    // Overlapping mates: the masked mate still spells the fragment, at its raw quality.
    seg.quals[q - c.qs] = e == kMaskedQual ? r.qual[off + q] : e;
  }
  return true;
}

// Global alignment of a haplotype to the reference (affine gaps, the scores GATK uses for this
// step), as edits: SNVs and indels anchored on the base before them, not yet normalised.
std::vector<Candidate> align_to_reference(const std::string& ref, const std::string& hap, int64_t ref_beg) {
  size_t pre = 0;
  while (pre < ref.size() && pre < hap.size() && ref[pre] == hap[pre]) ++pre;
  if (pre == ref.size() && pre == hap.size()) return {};
  size_t suf = 0;
  while (suf < ref.size() - pre && suf < hap.size() - pre && ref[ref.size() - 1 - suf] == hap[hap.size() - 1 - suf])
    ++suf;
  const std::string r = ref.substr(pre, ref.size() - pre - suf), h = hap.substr(pre, hap.size() - pre - suf);
  const int64_t origin = ref_beg + static_cast<int64_t>(pre);  // reference position of r[0]
  constexpr long kMatch = 200, kMismatch = -150, kOpen = -260, kExtend = -11;
  constexpr long kNeg = -(1L << 50);
  const size_t n = r.size(), m = h.size(), w = m + 1;
  // States: 0 match/mismatch, 1 deletion (consumes r), 2 insertion (consumes h).
  std::vector<long> S[3];
  for (auto& v : S) v.assign((n + 1) * w, kNeg);
  std::vector<uint8_t> from[3];
  for (auto& v : from) v.assign((n + 1) * w, 0);
  S[0][0] = 0;
  for (size_t i = 0; i <= n; ++i) {
    for (size_t j = 0; j <= m; ++j) {
      const size_t c = i * w + j;
      if (i > 0 && j > 0) {
        const size_t d = (i - 1) * w + j - 1;
        const long s = (r[i - 1] == h[j - 1]) ? kMatch : kMismatch;
        int best = 0;
        for (int t = 1; t < 3; ++t)
          if (S[t][d] > S[best][d]) best = t;
        S[0][c] = S[best][d] + s;
        from[0][c] = static_cast<uint8_t>(best);
      }
      // Gap states: opened from a match, extended, or crossed over from the other gap state.
      auto gap = [&](int state, int other, size_t prev) {
        long v = S[0][prev] + kOpen;
        uint8_t f = 0;
        if (S[state][prev] + kExtend > v) { v = S[state][prev] + kExtend; f = static_cast<uint8_t>(state); }
        if (S[other][prev] + kOpen > v) { v = S[other][prev] + kOpen; f = static_cast<uint8_t>(other); }
        S[state][c] = v;
        from[state][c] = f;
      };
      if (i > 0) gap(1, 2, (i - 1) * w + j);
      if (j > 0) gap(2, 1, i * w + j - 1);
    }
  }
  int state = 0;
  for (int t = 1; t < 3; ++t)
    if (S[t][n * w + m] > S[state][n * w + m]) state = t;
  // Walk back, collecting edits in reverse; a gap run is emitted when its first base is reached.
  std::vector<Candidate> out;
  size_t i = n, j = m;
  std::string run;  // bases of the current gap, reversed
  while (i > 0 || j > 0) {
    const int prev = from[state][i * w + j];
    if (state == 0) {
      if (r[i - 1] != h[j - 1]) out.push_back(Candidate{origin + static_cast<int64_t>(i) - 1, 0, std::string(1, h[j - 1]), 0, 0});
      --i;
      --j;
    } else {
      run.push_back(state == 1 ? r[--i] : h[--j]);
      if (prev != state) {
        std::reverse(run.begin(), run.end());
        const int32_t len = static_cast<int32_t>(run.size());
        out.push_back(Candidate{origin + static_cast<int64_t>(i) - 1, state == 2 ? len : -len, run, 0, 0});
        run.clear();
      }
    }
    state = prev;
  }
  std::reverse(out.begin(), out.end());
  return out;
}

std::string apply_edits(std::string ref, int64_t ref_beg, const std::vector<Candidate>& edits) {
  for (auto it = edits.rbegin(); it != edits.rend(); ++it) apply_candidate(ref, ref_beg, *it);
  return ref;
}

// Sorted edits that change disjoint reference bases (an SNV may share its base with the anchor of
// an indel; two indels may not share an anchor), so applying them one by one is well defined.
bool disjoint_sorted(const std::vector<Candidate>& edits) {
  int64_t changed_end = -1;
  int64_t last_indel_anchor = -1;
  for (const Candidate& a : edits) {
    const int64_t first = a.len == 0 ? a.pos : a.pos + 1;
    if (first < changed_end) return false;
    if (a.is_indel()) {
      if (a.pos == last_indel_anchor) return false;
      last_indel_anchor = a.pos;
    }
    changed_end = std::max(changed_end, a.ref_end());
  }
  return true;
}

// The haplotype's edits in VCF normal form when left-aligning them keeps the haplotype's sequence
// (it may not when an indel would slide across another edit); otherwise as aligned.
std::vector<Candidate> normalised_edits(const RefSeq& ref, const std::string& region_ref, int64_t region_beg,
                                        const std::string& hap, std::vector<Candidate> edits) {
  std::vector<Candidate> norm = edits;
  for (Candidate& a : norm)
    if (a.is_indel()) normalize_indel(ref, region_beg + 1, a);
  std::sort(norm.begin(), norm.end());
  if (disjoint_sorted(norm) && apply_edits(region_ref, region_beg, norm) == hap) return norm;
  if (disjoint_sorted(edits) && apply_edits(region_ref, region_beg, edits) == hap) return edits;
  return {};
}

void mark(std::vector<uint8_t>& active, int64_t beg, int64_t x) {
  if (x >= beg && x - beg < static_cast<int64_t>(active.size())) active[static_cast<size_t>(x - beg)] = 1;
}

}  // namespace

std::vector<ActiveRegion> active_regions(const std::vector<SampleEvidence>& samples,
                                         const std::vector<Candidate>& candidates,
                                         const std::vector<Candidate>& below_thresholds, const CallParams& p,
                                         int64_t beg, int64_t end) {
  std::vector<uint8_t> active(static_cast<size_t>(std::max<int64_t>(0, end - beg)), 0);
  // Soft clips: two reads clipped within a few bases of each other.
  std::vector<uint16_t> clips(active.size(), 0);
  for (const SampleEvidence& e : samples) {
    const ReadView rv = e.reads.batch.view();
    for (int32_t i = 0; i < rv.n; ++i) {
      const ReadClips c = read_clips(rv, i);
      if (c.left >= kMinClip && rv.pos[i] >= beg && rv.pos[i] < end) ++clips[static_cast<size_t>(rv.pos[i] - beg)];
      if (c.right >= kMinClip && rv.end[i] > beg && rv.end[i] <= end) ++clips[static_cast<size_t>(rv.end[i] - 1 - beg)];
    }
  }
  constexpr int64_t kClipSpread = 5;
  uint32_t in_window = 0;
  for (int64_t x = 0; x < static_cast<int64_t>(clips.size()) + kClipSpread; ++x) {
    if (x < static_cast<int64_t>(clips.size())) in_window += clips[static_cast<size_t>(x)];
    if (x >= 2 * kClipSpread + 1) in_window -= clips[static_cast<size_t>(x - 2 * kClipSpread - 1)];
    if (in_window >= 2 && x >= kClipSpread) mark(active, beg, beg + x - kClipSpread);
  }
  // Several indels close together (a repeat written differently on different reads, a complex
  // event), a long indel (its longer relatives are soft-clipped), or an indel among mismatches.
  constexpr int64_t kNear = 20;
  constexpr int kLongIndel = 10;
  for (size_t a = 0; a < candidates.size(); ++a) {
    const Candidate& c = candidates[a];
    if (c.is_indel() && std::abs(c.len) >= kLongIndel) mark(active, beg, c.pos);
    int indels = c.is_indel(), snvs = !c.is_indel();
    for (size_t b = a + 1; b < candidates.size() && candidates[b].pos <= std::max(c.pos, c.tract_end) + kNear; ++b) {
      indels += candidates[b].is_indel();
      snvs += !candidates[b].is_indel();
      if (indels >= 2 || (indels >= 1 && snvs >= 2)) {
        mark(active, beg, c.pos);
        mark(active, beg, candidates[b].pos);
      }
    }
  }
  // Indel reads that no candidate explains, summed over a stretch: one event written differently
  // on different reads (e.g. an insertion at a repeat's end placed with a mismatch), each way
  // below the candidate thresholds, which assembly can put together.
  std::vector<uint32_t> unexplained(active.size(), 0);
  for (const Candidate& a : below_thresholds)
    if (a.pos >= beg && a.pos < end) unexplained[static_cast<size_t>(a.pos - beg)] += a.support;
  uint32_t in_stretch = 0;
  for (int64_t x = 0; x < static_cast<int64_t>(unexplained.size()) + kNear; ++x) {
    if (x < static_cast<int64_t>(unexplained.size())) in_stretch += unexplained[static_cast<size_t>(x)];
    if (x >= 2 * kNear + 1) in_stretch -= unexplained[static_cast<size_t>(x - 2 * kNear - 1)];
    if (x < kNear || in_stretch < static_cast<uint32_t>(std::max(p.min_alt_count, 2))) continue;
    uint32_t depth = 0;
    for (const SampleEvidence& e : samples) depth += depth_at(e.pu, beg + x - kNear - e.pu.beg);
    if (in_stretch >= p.min_indel_frac * depth) mark(active, beg, beg + x - kNear);
  }
  // Long indels in the reads' CIGARs, also those beyond the CIGAR candidates' length limit.
  for (const SampleEvidence& e : samples) {
    for (const IndelAllele& x : e.pu.indels)
      if (std::abs(x.length) >= kLongIndel && x.fwd + x.rev >= 2) {
        // A deletion's whole span: the graph's sink must lie beyond the deleted bases.
        for (int64_t y = x.pos; y <= x.pos + std::max(0, -x.length) + 1; ++y) mark(active, beg, y);
      }
  }
  std::vector<ActiveRegion> out;
  int64_t first = -1, last = -1;
  auto close = [&] {
    if (first < 0) return;
    const int64_t rb = first - kRegionPad, re = last + 1 + kRegionPad;
    if (re - rb <= kMaxRegion) out.push_back({rb, re});
  };
  for (int64_t x = 0; x < static_cast<int64_t>(active.size()); ++x) {
    if (!active[static_cast<size_t>(x)]) continue;
    const int64_t p = beg + x;
    if (first >= 0 && p - last <= kActiveJoin) {
      last = p;
      continue;
    }
    close();
    first = last = p;
  }
  close();
  return out;
}

namespace {

// The region's reads (every sample), trimmed to [beg, end) with their adjacent soft clips.
std::vector<Segment> region_segments(const std::vector<SampleEvidence>& samples, int64_t beg, int64_t end,
                                     int64_t max_span) {
  std::vector<Segment> segments;
  for (const SampleEvidence& e : samples) {
    const ReadBatch& b = e.reads.batch;
    const ReadView rv = b.view();
    const auto lo = std::lower_bound(b.pos.begin(), b.pos.end(), beg - max_span) - b.pos.begin();
    for (int64_t i = lo; i < b.size() && b.pos[i] < end; ++i) {
      if (b.end[i] <= beg) continue;
      Segment s;
      if (read_segment(rv, e.ops, e.eff_qual, static_cast<int>(i), beg, end, s)) segments.push_back(std::move(s));
    }
  }
  return segments;
}

}  // namespace

GraphPaths assemble_sequences(const std::string& ref, const std::vector<std::string>& reads, uint32_t min_support) {
  std::vector<uint8_t> ref_codes;
  for (char c : ref) ref_codes.push_back(base_to_allele(c));
  std::vector<Segment> segments;
  for (const std::string& r : reads) {
    Segment s;
    for (char c : r) s.bases.push_back(base_to_allele(c));
    s.quals.assign(s.bases.size(), 30);
    segments.push_back(std::move(s));
  }
  for (int k : kKmerSizes) {
    Graph g(k);
    if (!g.add_reference(ref_codes)) continue;
    for (const Segment& s : segments) g.add_read(s, kMinAssemblyQual);
    auto paths = g.best_paths(min_support, kMaxPaths);
    if (paths.empty()) continue;
    GraphPaths out{k, {}};
    for (auto& pr : paths) out.paths.push_back(std::move(pr.first));
    return out;
  }
  return {0, {}};
}

std::vector<AssembledHaplotype> assemble_region(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                                const ActiveRegion& region, int64_t max_span, const CallParams& p) {
  for (int k : kKmerSizes) {
    // The graph's source and sink k-mers lie wholly outside the active stretch and its padding.
    const int64_t beg = region.beg - k, end = region.end + k;
    const std::string region_ref = ref.sub(beg, end - beg);
    if (region_ref.find('N') != std::string::npos) return {};
    std::vector<uint8_t> ref_codes;
    for (char c : region_ref) ref_codes.push_back(base_to_allele(c));
    Graph g(k);
    if (!g.add_reference(ref_codes)) continue;  // a repeat longer than k in the reference
    const std::vector<Segment> segments = region_segments(samples, beg, end, max_span);
    if (segments.size() < 2) return {};
    // Edges seen on fewer reads than this are errors (a share of the depth, at least min_alt_count).
    const uint32_t min_support = std::max<uint32_t>(static_cast<uint32_t>(p.min_alt_count),
                                                    static_cast<uint32_t>(segments.size() / 40));
    for (const Segment& s : segments) g.add_read(s, kMinAssemblyQual);
    if (g.size() > kMaxNodes) return {};
    auto paths = g.best_paths(min_support, kMaxPaths);
    if (paths.empty()) continue;  // a cycle: a repeat longer than k in the reads; try a larger k
    std::vector<AssembledHaplotype> out;
    for (auto& [seq, support] : paths) {
      if (seq == region_ref || support == UINT32_MAX) continue;
      std::vector<Candidate> edits = align_to_reference(region_ref, seq, beg);
      edits = normalised_edits(ref, region_ref, beg, seq, std::move(edits));
      bool has_indel = false, too_long = false;
      for (const Candidate& a : edits) {
        has_indel |= a.is_indel();
        too_long |= std::abs(a.len) > kMaxAssembledIndel;
      }
      // SNV-only paths add nothing the pileup has not already seen.
      if (edits.empty() || !has_indel || too_long) continue;
      out.push_back({std::move(edits), support});
    }
    return out;
  }
  return {};
}

std::vector<Candidate> haplotype_edits(const RefSeq& ref, int64_t beg, int64_t end, const std::string& hap) {
  const std::string region_ref = ref.sub(beg, end - beg);
  return normalised_edits(ref, region_ref, beg, hap, align_to_reference(region_ref, hap, beg));
}

void add_assembled_alleles(const RefSeq& ref, const std::vector<AssembledHaplotype>& haps,
                           std::vector<Candidate>& alleles) {
  std::map<Candidate, uint32_t> extra;  // new alleles: the strongest support of the haplotypes carrying each
  for (const AssembledHaplotype& h : haps) {
    for (const Candidate& a : h.alleles) {
      auto it = std::lower_bound(alleles.begin(), alleles.end(), a);
      if (it != alleles.end() && *it == a) {
        it->support = std::max(it->support, h.support);
      } else {
        uint32_t& best = extra.try_emplace(a, 0u).first->second;
        best = std::max(best, h.support);
      }
    }
  }
  std::vector<Candidate> added;
  for (const auto& [a, support] : extra) {
    added.push_back(a);
    added.back().support = support;
    added.back().tract_end = a.is_indel() ? tract_end(ref, a) : a.pos;
  }
  std::vector<Candidate> merged;
  std::merge(alleles.begin(), alleles.end(), added.begin(), added.end(), std::back_inserter(merged));
  alleles = std::move(merged);
}

std::vector<AssembledHaplotype> clipped_duplications(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                                     int64_t beg, int64_t end, const CallParams& p) {
  // A read clipped where a tandem duplication starts or ends carries, next to the clip, bases that
  // the reference has a little further on (left clip) or a little before (right clip): the
  // duplicated copy. Such reads point to one insertion: the reference between the two places.
  // The clipped bases are read ends, where sequencing errors gather (2x100 HiSeq 2000 reads often
  // have one or two in 30 bases): the seed is matched allowing a few mismatches, and kept only when
  // no other place in the window matches it nearly as well.
  constexpr int kMinSeed = 16;   // clipped bases needed
  constexpr int kMaxSeed = 32;   // clipped bases compared
  constexpr int kSeedSlack = 8;  // one mismatch allowed per this many bases compared
  std::map<Candidate, uint32_t> found;
  // The start in reference [from, from + span) where the n bases `seed` match with the fewest
  // mismatches, when those are at most n / kSeedSlack and every other start has at least two more;
  // else -1.
  auto find_fuzzy = [&](const uint8_t* seed, int n, int64_t from, int64_t span) -> int64_t {
    for (int k = 0; k < n; ++k)
      if (seed[k] > 3) return -1;
    const std::string window = ref.sub(from, span + n - 1);
    const int max_mm = n / kSeedSlack;
    int best = max_mm + 1, second = max_mm + 3;
    int64_t at = -1;
    for (int64_t x = 0; x < span; ++x) {
      int mm = 0;
      for (int k = 0; k < n && mm < second; ++k) mm += kBaseChar[seed[k]] != window[static_cast<size_t>(x + k)];
      if (mm < best) {
        second = std::min(second, best);
        best = mm;
        at = x;
      } else if (mm < second) {
        second = mm;
      }
    }
    if (at < 0 || best > max_mm || second < best + 2) return -1;
    return from + at;
  };
  // Reference [copy_beg, copy_end) inserted again after `anchor`.
  auto add_copy = [&](int64_t copy_beg, int64_t copy_end, int64_t anchor) {
    Candidate a{anchor, static_cast<int32_t>(copy_end - copy_beg), ref.sub(copy_beg, copy_end - copy_beg), 0, 0};
    normalize_indel(ref, ref.beg + 1, a);
    ++found[a];
  };
  for (const SampleEvidence& e : samples) {
    const ReadView rv = e.reads.batch.view();
    for (int32_t i = 0; i < rv.n; ++i) {
      const ReadClips c = read_clips(rv, i);
      const uint8_t* bases = rv.seq + rv.seq_off[i];
      // The seed is the copy's first (right clip) or last (left clip) bases, which may run past
      // the clip point when the copy is shorter than the seed: searched in a window that allows it.
      if (c.left >= kMinSeed && rv.pos[i] >= beg && rv.pos[i] < end) {
        const int n = std::min<int>(c.left, kMaxSeed);
        const int64_t p0 = rv.pos[i];
        const int64_t s = find_fuzzy(bases + (c.left - n), n, p0 - n + 1, kMaxAssembledIndel);
        if (s >= 0) add_copy(p0, s + n, p0 - 1);
      }
      if (c.right >= kMinSeed && rv.end[i] > beg && rv.end[i] <= end) {
        const int n = std::min<int>(c.right, kMaxSeed);
        const int64_t e0 = rv.end[i];
        const int64_t from = std::max(ref.beg, e0 - kMaxAssembledIndel);
        const int64_t s = find_fuzzy(bases + (rv.len[i] - c.right), n, from, e0 - from);
        if (s >= 0) add_copy(s, e0, e0 - 1);
      }
    }
  }
  std::vector<AssembledHaplotype> out;
  for (const auto& [a, n] : found)
    // Two reads clipped into the same duplication (the same length, from one or both of its ends)
    // are already unlikely by chance; the genotyper weighs the allele against all reads.
    if (n >= static_cast<uint32_t>(std::min(p.min_alt_count, 2)) && ref.at(a.pos) != 'N') out.push_back({{a}, n});
  return out;
}

void seed_windows(const std::vector<AssembledHaplotype>& haps, std::vector<Window>& windows) {
  for (const AssembledHaplotype& h : haps) {
    for (Window& w : windows) {
      AssembledHaplotype part{{}, h.support};
      for (const Candidate& a : h.alleles)
        if (a.pos >= w.beg && a.pos < w.end) part.alleles.push_back(a);
      if (!part.alleles.empty()) w.seeds.push_back(std::move(part));
    }
  }
}

}  // namespace gms::calling
