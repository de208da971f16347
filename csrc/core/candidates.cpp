// Candidate alleles from the pileup, indel normalisation, and the split into per-site SNVs and
// haplotype windows.
#include <algorithm>
#include <cstdlib>
#include <map>

#include "core/calling.hpp"
#include "io/reference.hpp"

namespace gms::calling {

constexpr int kWindowPad = 10;       // bases around an indel's repeat tract that join its window
constexpr int kMaxWindowAlleles = 20;

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

namespace {
// An allele is a candidate when its reads, over all samples, reach min_alt_count and it makes up
// at least `frac` of the depth in some sample that has it: an allele weak in each of several
// samples is still considered, and one sample's fraction is judged against its own depth.
bool enough_support(const std::vector<uint32_t>& count, const std::vector<uint32_t>& depth, int min_count,
                    double frac) {
  uint32_t total = 0;
  bool fraction_met = false;
  for (size_t s = 0; s < count.size(); ++s) {
    total += count[s];
    fraction_met |= count[s] > 0 && count[s] >= frac * depth[s];
  }
  return total >= static_cast<uint32_t>(min_count) && fraction_met;
}
}  // namespace

std::vector<Candidate> find_candidates(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                      const CallParams& p, std::vector<Candidate>& below) {
  std::vector<Candidate> out;
  const PileupResult& pu0 = samples[0].pu;
  const int64_t n = pu0.end - pu0.beg;
  const size_t ns = samples.size();
  std::vector<uint32_t> count(ns), depth(ns);
  for (int64_t x = 0; x < n; ++x) {
    const char r = pu0.ref[x];
    if (r == 'N') continue;
    for (size_t s = 0; s < ns; ++s) depth[s] = depth_at(samples[s].pu, x);
    for (int b = 0; b < 4; ++b) {
      if (kBaseChar[b] == r) continue;
      uint32_t c = 0;
      for (size_t s = 0; s < ns; ++s) c += count[s] = sum_counts(samples[s].pu, x, b);
      if (enough_support(count, depth, p.min_alt_count, p.min_snv_frac)) {
        out.push_back(Candidate{pu0.beg + x, 0, std::string(1, kBaseChar[b]), c, pu0.beg + x});
      }
    }
  }
  std::map<Candidate, std::vector<uint32_t>> indels;
  for (size_t s = 0; s < ns; ++s) {
    for (const IndelAllele& e : samples[s].pu.indels) {
      if (std::abs(e.length) > p.max_indel_len) continue;
      if (e.seq.find('N') != std::string::npos) continue;
      Candidate a{e.pos, e.length, e.seq, 0, 0};
      normalize_indel(ref, pu0.beg, a);
      if (ref.at(a.pos) == 'N') continue;  // no reference base to anchor the record on
      auto& c = indels.try_emplace(a, ns, 0u).first->second;
      c[s] += e.fwd + e.rev;
    }
  }
  for (auto& [a0, c] : indels) {
    if (a0.pos < pu0.beg || a0.pos >= pu0.end) continue;
    uint32_t total = 0;
    for (size_t s = 0; s < ns; ++s) {
      depth[s] = std::max<uint32_t>(1, depth_at(samples[s].pu, a0.pos - pu0.beg));
      total += c[s];
    }
    Candidate a = a0;
    a.support = total;
    if (enough_support(c, depth, p.min_alt_count, p.min_indel_frac)) {
      a.tract_end = tract_end(ref, a);
      out.push_back(a);
    } else {
      below.push_back(a);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

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

}  // namespace gms::calling

namespace gms::calling {

namespace {

constexpr int kMaxRepeatUnit = 6;       // longest repeat unit (bp) whose lengths a gVCF lists
constexpr int kRepeatLengthSteps = 2;   // units either side of each allele's length
constexpr size_t kMaxExtraAlleles = 8;  // per window: each costs a haplotype's alignments

// The repeat unit of indel a: the shortest sequence of which its bases are whole copies and
// which the reference repeats at least twice from the base after its anchor (a tandem repeat
// the indel adds units to or removes them from); empty when there is none.
std::string repeat_unit(const RefSeq& ref, const Candidate& a) {
  const std::string& s = a.seq;
  const int n = static_cast<int>(s.size());
  for (int period = 1; period <= std::min(kMaxRepeatUnit, n); ++period) {
    if (n % period) continue;
    bool periodic = true;
    for (int k = period; k < n && periodic; ++k) periodic = s[static_cast<size_t>(k)] == s[static_cast<size_t>(k - period)];
    if (!periodic) continue;
    int tract = 0;
    while (tract < 2 * period && ref.at(a.pos + 1 + tract) == s[static_cast<size_t>(tract % period)]) ++tract;
    return tract == 2 * period ? s.substr(0, static_cast<size_t>(period)) : std::string();
  }
  return std::string();
}

// Shortest tract (bp) of a repeat unit's period whose length the reads blur: where PCR stutter
// reaches 1e-3 per copy (8 bp for homopolymers, 10 for dinucleotides, 12 beyond; Fungtammasan et
// al. 2015, as gmscall.synth.stutter_rate). Shorter tracts are spanned and measured by the reads,
// so a sample's own reads propose what it carries, or show it below the thresholds.
int64_t blurred_tract(size_t period) { return period == 1 ? 8 : period == 2 ? 10 : 12; }

// Reference bases from `from` that continue `unit` cyclically (at most 1000).
int64_t tract_length(const RefSeq& ref, int64_t from, const std::string& unit) {
  int64_t n = 0;
  while (n < 1000 && ref.at(from + n) != 'N' && ref.at(from + n) == unit[static_cast<size_t>(n) % unit.size()]) ++n;
  return n;
}

}  // namespace

void add_repeat_length_alleles(const RefSeq& ref, const std::vector<Candidate>& below, const CallParams& p,
                               std::vector<Window>& windows) {
  for (Window& win : windows) {
    win.extras.clear();
    std::vector<Candidate> read_backed, stepped;  // in the order they are wanted
    auto known = [&](const Candidate& c) {
      auto has = [&](const std::vector<Candidate>& v) { return std::find(v.begin(), v.end(), c) != v.end(); };
      return has(win.alleles) || has(read_backed) || has(stepped);
    };
    size_t k = 0;
    while (k < win.alleles.size()) {  // each position of the window's alleles
      const int64_t pos = win.alleles[k].pos;
      size_t e = k;
      std::vector<std::string> units;
      std::vector<int32_t> lengths{0};  // REF and the indel alleles here
      for (; e < win.alleles.size() && win.alleles[e].pos == pos; ++e) {
        const Candidate& a = win.alleles[e];
        if (!a.is_indel()) continue;
        lengths.push_back(a.len);
        const std::string u = repeat_unit(ref, a);
        if (!u.empty() && std::find(units.begin(), units.end(), u) == units.end()) units.push_back(u);
      }
      k = e;
      if (units.empty()) continue;
      std::vector<Candidate> weak;  // reads carry them here, below the thresholds (`below` is sorted)
      const auto first = std::lower_bound(below.begin(), below.end(), pos,
                                          [](const Candidate& c, int64_t x) { return c.pos < x; });
      for (auto b = first; b != below.end() && b->pos == pos; ++b)
        if (b->is_indel() && std::abs(b->len) <= p.max_indel_len && !known(*b)) weak.push_back(*b);
      std::stable_sort(weak.begin(), weak.end(),
                       [](const Candidate& x, const Candidate& y) { return x.support > y.support; });
      for (Candidate& b : weak) {
        b.tract_end = tract_end(ref, b);
        read_backed.push_back(b);
      }
      for (int step = 1; step <= kRepeatLengthSteps; ++step) {
        for (const std::string& u : units) {
          const int32_t period = static_cast<int32_t>(u.size());
          const int64_t tract = tract_length(ref, pos + 1, u);
          if (tract < blurred_tract(u.size())) continue;
          for (int32_t base : lengths) {
            for (int32_t len : {base - step * period, base + step * period}) {
              if (len == 0 || std::abs(len) > p.max_indel_len || (len < 0 && -len > tract)) continue;
              Candidate c{pos, len, std::string(), 0, 0};
              if (len > 0) {
                for (int32_t j = 0; j < len; ++j) c.seq.push_back(u[static_cast<size_t>(j % period)]);
              } else {
                c.seq = ref.sub(pos + 1, -len);
              }
              normalize_indel(ref, ref.beg + 1, c);
              if (c.pos != pos || known(c)) continue;  // another record's, or listed already
              c.tract_end = tract_end(ref, c);
              stepped.push_back(c);
            }
          }
        }
      }
    }
    for (const std::vector<Candidate>* v : {&read_backed, &stepped})
      for (const Candidate& c : *v)
        if (win.extras.size() < kMaxExtraAlleles) win.extras.push_back(c);
    std::sort(win.extras.begin(), win.extras.end());
  }
}

}  // namespace gms::calling
