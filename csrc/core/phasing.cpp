// Read-backed phasing. The shards attach to each heterozygous call every read's allele there (a
// PhaseObs: the read-name hash, so that mates are one fragment, and a Phred-scaled support for one
// of the two GT alleles): per-site SNVs from the read's base and its effective quality (here),
// haplotype-window records from the pair-HMM likelihoods of the read against the window's
// haplotypes (genotyper.cpp). The Phaser joins them in genome order (gmscall.phasing feeds it).
#include "gmscall/phasing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <tuple>
#include <utility>

#include "core/calling.hpp"
#include "gmscall/errors.hpp"
#include "io/reference.hpp"

namespace gms {

namespace calling {

namespace {

// The reads' bases at a sorted list of positions, in reference order.
struct HetVisitor {
  const std::vector<int64_t>* pos;
  size_t at;
  size_t end;
  int32_t read;
  const ReadBatch* batch;
  const std::vector<uint8_t>* eff_qual;
  // (het index, base code, effective quality)
  std::vector<std::tuple<size_t, uint8_t, uint8_t>>* hits;
  void base(int64_t rp, uint32_t qp) {
    while (at < end && (*pos)[at] < rp) ++at;
    for (size_t k = at; k < end && (*pos)[k] == rp; ++k) {
      const uint64_t o = batch->seq_off[static_cast<size_t>(read)] + qp;
      hits->emplace_back(k, batch->seq[o], (*eff_qual)[o]);
    }
  }
  void deleted(int64_t, uint32_t) {}
  void insertion(uint32_t, int64_t, uint32_t, uint32_t, uint32_t) {}
  void deletion(uint32_t, int64_t, uint32_t, uint32_t) {}
};

}  // namespace

int64_t fragment_reach(const ReadBatch& batch, int32_t i) {
  const size_t k = static_cast<size_t>(i);
  int64_t reach = batch.end[k] - 1;
  if (batch.mate_pos[k] >= 0) reach = std::max<int64_t>(reach, batch.mate_pos[k] + batch.len[k] - 1);
  return reach;
}

namespace {

bool is_het(const SampleCall& c) { return c.gt.size() == 2 && c.gt[0] >= 0 && c.gt[1] >= 0 && c.gt[0] != c.gt[1]; }

}  // namespace

void site_phase_obs(const std::vector<SampleEvidence>& samples, const CallParams& p, std::vector<CallRecord>& recs) {
  for (size_t s = 0; s < samples.size(); ++s) {
    // This sample's het per-site SNVs (PASS), by position.
    std::vector<int64_t> pos;
    std::vector<size_t> rec_of;
    std::vector<std::pair<uint8_t, uint8_t>> codes;  // the GT's first and second allele's base
    for (size_t r = 0; r < recs.size(); ++r) {
      const CallRecord& rec = recs[r];
      if (rec.haplotype_model || rec.filter != 0 || s >= rec.samples.size() || !is_het(rec.samples[s])) continue;
      const SampleCall& c = rec.samples[s];
      auto code = [&](int a) -> uint8_t {
        const std::string& al = a == 0 ? rec.ref : rec.alts[static_cast<size_t>(a - 1)];
        return al.size() == 1 ? base_to_allele(al[0]) : 4;
      };
      const uint8_t a = code(c.gt[0]), b = code(c.gt[1]);
      if (a > 3 || b > 3) continue;
      pos.push_back(rec.pos);
      rec_of.push_back(r);
      codes.emplace_back(a, b);
    }
    if (pos.empty()) continue;
    const SampleEvidence& e = samples[s];
    const ReadBatch& batch = e.reads.batch;
    const ReadView rv = batch.view();
    std::vector<std::tuple<size_t, uint8_t, uint8_t>> hits;
    for (int32_t i = 0; i < batch.size(); ++i) {
      const size_t first = static_cast<size_t>(std::lower_bound(pos.begin(), pos.end(), batch.pos[i]) - pos.begin());
      if (first == pos.size() || pos[first] >= batch.end[i]) continue;
      const size_t last = static_cast<size_t>(std::lower_bound(pos.begin(), pos.end(), batch.end[i]) - pos.begin());
      hits.clear();
      // One short walk per het position (a long read spans kilobases between them).
      for (size_t k = first; k < last;) {
        size_t k_end = k + 1;
        while (k_end < last && pos[k_end] == pos[k]) ++k_end;
        HetVisitor v{&pos, k, k_end, i, &batch, &e.eff_qual, &hits};
        walk_read_window(rv, e.ops, i, pos[k], pos[k] + 1, v);
        k = k_end;
      }
      const int cap = std::min<int>(batch.mapq[i], kMaxQual);
      const int64_t reach = fragment_reach(batch, i);
      for (const auto& [k, base, q] : hits) {
        if (q < p.pileup.min_bq) continue;
        const int w = std::min<int>(q, cap);
        if (w <= 0) continue;
        int16_t sw = 0;
        if (base == codes[k].first) sw = static_cast<int16_t>(-w);
        else if (base == codes[k].second) sw = static_cast<int16_t>(w);
        else continue;
        recs[rec_of[k]].samples[s].phase.push_back({batch.name_hash[static_cast<size_t>(i)], reach, sw});
      }
    }
  }
}

void window_phase_obs(const std::vector<std::vector<ReadAlleles>>& reads, CallRecord& rec) {
  if (rec.filter != 0) return;
  for (size_t s = 0; s < reads.size() && s < rec.samples.size(); ++s) {
    SampleCall& c = rec.samples[s];
    if (!is_het(c)) continue;
    const size_t a = static_cast<size_t>(c.gt[0]), b = static_cast<size_t>(c.gt[1]);
    for (const ReadAlleles& r : reads[s]) {
      if (a >= r.lik.size() || b >= r.lik.size()) continue;
      const double x = r.lik[a], y = r.lik[b];
      if (x == -INFINITY && y == -INFINITY) continue;
      const double d = std::max(-6.0, std::min(6.0, y - x));  // log10, at most Phred 60 either way
      const int w = static_cast<int>(std::lround(10.0 * d));
      if (w != 0) c.phase.push_back({r.frag, r.reach, static_cast<int16_t>(w)});
    }
  }
}

}  // namespace calling

Phaser::Phaser(int n_samples, int64_t max_link, int min_vote, std::vector<std::array<int, 3>> trios,
               bool keep_fragments)
    : n_samples_(n_samples),
      max_link_(max_link),
      min_vote_(min_vote),
      trios_(std::move(trios)),
      keep_fragments_(keep_fragments),
      state_(static_cast<size_t>(n_samples)) {
  for (const auto& t : trios_)
    for (int c : t)
      if (c < 0 || c >= n_samples) throw InputError("Phaser: a trio column is not a sample");
}

std::vector<Phaser::FragmentTag> Phaser::fragment_tags(int sample) const {
  std::vector<FragmentTag> out;
  if (sample < 0 || sample >= n_samples_) return out;
  const SampleState& st = state_[static_cast<size_t>(sample)];
  std::unordered_map<uint64_t, Frag> last;
  std::vector<uint64_t> order;
  auto take = [&](uint64_t f, const Frag& fr) {
    if (last.find(f) == last.end()) order.push_back(f);
    last[f] = fr;
  };
  for (const auto& [f, fr] : st.dropped) take(f, fr);
  std::vector<std::pair<uint64_t, Frag>> now(st.frags.begin(), st.frags.end());
  std::sort(now.begin(), now.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [f, fr] : now) take(f, fr);
  for (uint64_t f : order) {
    const Frag& fr = last[f];
    if (fr.score == 0 || !block_phased(sample, fr.block)) continue;
    out.push_back({f, fr.score > 0 ? 2 : 1, block_first(sample, fr.block) + 1});
  }
  return out;
}

bool Phaser::block_phased(int sample, int32_t block) const {
  if (sample < 0 || sample >= n_samples_ || block < 0) return false;
  const auto& b = state_[static_cast<size_t>(sample)].blocks;
  if (static_cast<size_t>(block) >= b.size()) return false;
  return b[static_cast<size_t>(block)].size >= 2 || b[static_cast<size_t>(block)].transmission;
}

bool Phaser::block_final(int sample, int32_t block, int64_t frontier) const {
  return block < 0 || block_phased(sample, block) || block_reach(sample, block) <= frontier;
}

namespace {

// Transmission orientation of each member's het at one record (gt: [samples][2]): +1 the GT as
// written (child: paternal allele first; parent: transmitted allele first), -1 swapped, 0 unknown.
void transmission(const std::vector<std::array<int, 3>>& trios, const int32_t* gt, std::vector<int8_t>& out) {
  auto called = [&](int s) { return gt[2 * s] >= 0 && gt[2 * s + 1] >= 0; };
  auto has = [&](int s, int32_t a) { return gt[2 * s] == a || gt[2 * s + 1] == a; };
  for (const auto& [c, f, m] : trios) {
    if (!called(c) || !called(f) || !called(m)) continue;
    const int32_t a = gt[2 * c], b = gt[2 * c + 1];
    int32_t from_f = -1, from_m = -1;  // the child's allele from each parent, where the genotypes say
    if (a == b) {
      if (has(f, a) && has(m, a)) from_f = from_m = a;
    } else {
      const bool ab = has(f, a) && has(m, b), ba = has(f, b) && has(m, a);
      if (ab != ba) {
        from_f = ab ? a : b;
        from_m = ab ? b : a;
        out[static_cast<size_t>(c)] = static_cast<int8_t>(from_f == a ? 1 : -1);
      }
    }
    const int parents[2] = {f, m};
    const int32_t given[2] = {from_f, from_m};
    for (int k = 0; k < 2; ++k) {
      const int s = parents[k];
      const int32_t x = gt[2 * s], y = gt[2 * s + 1];
      if (given[k] < 0 || x == y) continue;
      out[static_cast<size_t>(s)] = static_cast<int8_t>(given[k] == x ? 1 : -1);
    }
  }
}

}  // namespace

void Phaser::reset() {
  state_.assign(static_cast<size_t>(n_samples_), SampleState{});
}

int32_t Phaser::block_size(int sample, int32_t block) const {
  if (sample < 0 || sample >= n_samples_ || block < 0) return 0;
  const auto& b = state_[static_cast<size_t>(sample)].blocks;
  return static_cast<size_t>(block) < b.size() ? b[static_cast<size_t>(block)].size : 0;
}

int64_t Phaser::block_reach(int sample, int32_t block) const {
  if (sample < 0 || sample >= n_samples_ || block < 0) return -1;
  const auto& b = state_[static_cast<size_t>(sample)].blocks;
  return static_cast<size_t>(block) < b.size() ? b[static_cast<size_t>(block)].reach : -1;
}

int64_t Phaser::block_first(int sample, int32_t block) const {
  if (sample < 0 || sample >= n_samples_ || block < 0) return -1;
  const auto& b = state_[static_cast<size_t>(sample)].blocks;
  return static_cast<size_t>(block) < b.size() ? b[static_cast<size_t>(block)].first : -1;
}

void Phaser::add(int64_t n, const int64_t* pos, const int32_t* gt, const int32_t* filter, int64_t n_obs,
                 const int32_t* obs_rec, const int32_t* obs_sample, const uint64_t* obs_frag,
                 const int64_t* obs_reach, const int16_t* obs_w, int32_t* block, uint8_t* flip) {
  const int ns = n_samples_;
  int64_t k = 0;
  struct FragObs {
    uint64_t frag;
    int32_t w;
    int64_t reach;
    bool operator<(const FragObs& o) const { return std::tie(frag, w, reach) < std::tie(o.frag, o.w, o.reach); }
  };
  std::vector<FragObs> fo;
  std::vector<std::pair<int32_t, int64_t>> votes;
  std::vector<int8_t> trans(static_cast<size_t>(ns));
  for (int64_t r = 0; r < n; ++r) {
    std::fill(trans.begin(), trans.end(), 0);
    if (!trios_.empty() && filter[r] == 0) transmission(trios_, gt + r * ns * 2, trans);
    for (int s = 0; s < ns; ++s) {
      const int64_t idx = r * ns + s;
      block[idx] = -1;
      flip[idx] = 0;
      while (k < n_obs && (obs_rec[k] < r || (obs_rec[k] == r && obs_sample[k] < s))) ++k;
      const int64_t k0 = k;
      while (k < n_obs && obs_rec[k] == r && obs_sample[k] == s) ++k;
      const int32_t a = gt[idx * 2], b = gt[idx * 2 + 1];
      if (filter[r] != 0 || a < 0 || b < 0 || a == b) continue;
      const int64_t p = pos[r];
      SampleState& st = state_[static_cast<size_t>(s)];
      // This het's fragments (a fragment seen twice: both mates over it; their support adds up).
      fo.clear();
      for (int64_t j = k0; j < k; ++j)
        fo.push_back({obs_frag[j], obs_w[j], std::min(obs_reach[j], p + max_link_)});
      std::sort(fo.begin(), fo.end());
      size_t m = 0;
      for (size_t j = 0; j < fo.size(); ++j) {
        if (m > 0 && fo[m - 1].frag == fo[j].frag) {
          fo[m - 1].w += fo[j].w;
          fo[m - 1].reach = std::max(fo[m - 1].reach, fo[j].reach);
        } else {
          fo[m++] = fo[j];
        }
      }
      fo.resize(m);
      votes.clear();
      for (const FragObs& o : fo) {
        const int32_t w = o.w;
        if (w == 0) continue;
        auto it = st.frags.find(o.frag);
        if (it == st.frags.end()) continue;
        const Frag& fr = it->second;
        if (fr.score == 0 || p > fr.reach) continue;
        const int64_t mag = std::min(std::abs(fr.score), std::abs(w));
        const int64_t v = ((fr.score > 0) == (w > 0)) ? mag : -mag;
        auto vt = std::find_if(votes.begin(), votes.end(), [&](const auto& x) { return x.first == fr.block; });
        if (vt == votes.end()) votes.emplace_back(fr.block, v);
        else vt->second += v;
      }
      std::sort(votes.begin(), votes.end());
      int32_t chosen = -1;
      int64_t best = 0;
      for (const auto& [bl, v] : votes) {
        if (std::abs(v) > std::abs(best)) {
          best = v;
          chosen = bl;
        }
      }
      int o = 1;
      if (trans[static_cast<size_t>(s)] != 0) {  // the pedigree says: the transmission block
        o = trans[static_cast<size_t>(s)];
        if (st.transmission_block < 0) {
          st.transmission_block = static_cast<int32_t>(st.blocks.size());
          st.blocks.push_back({p, 0, p, true});
        }
        chosen = st.transmission_block;
        ++st.blocks[static_cast<size_t>(chosen)].size;
      } else if (chosen >= 0 && std::abs(best) >= min_vote_) {
        o = best > 0 ? 1 : -1;
        ++st.blocks[static_cast<size_t>(chosen)].size;
      } else {
        chosen = static_cast<int32_t>(st.blocks.size());
        st.blocks.push_back({p, 1, p});
      }
      Block& blk = st.blocks[static_cast<size_t>(chosen)];
      for (const FragObs& ob : fo) {
        auto [it, fresh] = st.frags.try_emplace(ob.frag, Frag{chosen, 0, p, ob.reach});
        Frag& fr = it->second;
        if (fresh || fr.block != chosen || p > fr.reach) fr = Frag{chosen, 0, p, ob.reach};
        fr.score = std::max(-100000, std::min(100000, fr.score + ob.w * o));
        fr.last = p;
        fr.reach = std::max(fr.reach, ob.reach);
        blk.reach = std::max(blk.reach, fr.reach);
      }
      block[idx] = chosen;
      flip[idx] = o < 0 ? 1 : 0;
      if (p - st.last_evict > max_link_) {
        for (auto it = st.frags.begin(); it != st.frags.end();) {
          if (it->second.reach < p) {
            if (keep_fragments_) st.dropped.emplace_back(it->first, it->second);
            it = st.frags.erase(it);
          }
          else ++it;
        }
        st.last_evict = p;
      }
    }
  }
}

}  // namespace gms
