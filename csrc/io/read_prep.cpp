#include "io/read_prep.hpp"

#include <algorithm>
#include <cstring>

namespace gms {
namespace {
constexpr uint16_t kFlagRead1 = 0x40;
constexpr uint16_t kFlagRead2 = 0x80;

uint64_t mix64(uint64_t x) {  // splitmix64 finaliser: spreads name hashes uniformly
  x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27; x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Name hash -> index of the read waiting for its mate: open addressing, linear probing, deletion
// by backward shift. Behaves exactly as a std::unordered_map<uint64_t, int32_t> (find, erase,
// insert-or-assign) with no allocation per entry; its storage is reused by the calling thread.
class MateTable {
 public:
  explicit MateTable(size_t max_entries) {
    size_t cap = 16;
    while (cap < 2 * max_entries) cap <<= 1;
    mask_ = cap - 1;
    thread_local std::vector<Slot> storage;
    if (storage.size() < cap) storage.resize(cap);
    slots_ = storage.data();
    for (size_t k = 0; k < cap; ++k) slots_[k].val = -1;
  }
  // Slot holding `key`, or the empty slot where it would go.
  size_t find(uint64_t key) const {
    size_t k = mix64(key) & mask_;
    while (slots_[k].val >= 0 && slots_[k].key != key) k = (k + 1) & mask_;
    return k;
  }
  bool occupied(size_t k) const { return slots_[k].val >= 0; }
  int32_t value(size_t k) const { return slots_[k].val; }
  void set(size_t k, uint64_t key, int32_t val) { slots_[k] = {key, val}; }
  void erase(size_t k) {
    size_t hole = k;
    for (size_t j = (k + 1) & mask_; slots_[j].val >= 0; j = (j + 1) & mask_) {
      const size_t home = mix64(slots_[j].key) & mask_;
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!stays) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole].val = -1;
  }

 private:
  struct Slot {
    uint64_t key;
    int32_t val;
  };
  Slot* slots_ = nullptr;
  size_t mask_ = 0;
};
}  // namespace

std::vector<uint8_t> depth_cap_keep(const ReadBatch& reads, int64_t max_depth) {
  const int32_t n = reads.size();
  std::vector<uint8_t> keep(n, 1);
  if (max_depth <= 0 || n == 0) return keep;
  // Bins from the first to the last read start (the batch is coordinate-sorted; min/max anyway).
  int64_t lo = reads.pos[0] / kDepthBin, hi = lo;
  for (int32_t i = 0; i < n; ++i) {
    lo = std::min(lo, reads.pos[i] / kDepthBin);
    hi = std::max(hi, reads.pos[i] / kDepthBin);
  }
  // Reads longer than kDepthCapMaxSpan neither count nor are capped: the fetch pad completes the
  // bins of the reads that touch a shard only for reads that short (a long read's bin may start far
  // before the shard, its short bin-mates unfetched: the cap would depend on the shard), and a long
  // read's whole span put on its 64-bp start bin reads as thousands deep where a few reads start.
  auto is_long = [&](int32_t i) { return reads.end[i] - reads.pos[i] > kDepthCapMaxSpan; };
  std::vector<int64_t> span_per_bin(static_cast<size_t>(hi - lo + 1), 0);
  for (int32_t i = 0; i < n; ++i)
    if (!is_long(i)) span_per_bin[reads.pos[i] / kDepthBin - lo] += reads.end[i] - reads.pos[i];
  for (int32_t i = 0; i < n; ++i) {
    if (is_long(i)) continue;
    const int64_t depth = span_per_bin[reads.pos[i] / kDepthBin - lo] / kDepthBin;
    if (depth <= max_depth) continue;
    // keep iff u < max_depth / depth, with u uniform in [0, 1) from the upper 32 bits of the hash
    const uint64_t u = mix64(reads.name_hash[i]) >> 32;
    keep[i] = (static_cast<unsigned __int128>(u) * static_cast<uint64_t>(depth) <
               static_cast<unsigned __int128>(static_cast<uint64_t>(max_depth)) << 32) ? 1 : 0;
  }
  return keep;
}

std::vector<int32_t> overlapping_mate_pairs(const ReadBatch& reads) {
  std::vector<int32_t> pairs;
  MateTable open(static_cast<size_t>(reads.size()));  // name hash -> read waiting for its mate
  for (int32_t i = 0; i < reads.size(); ++i) {
    const int64_t mpos = reads.mate_pos[i];
    if (mpos < 0) continue;
    const uint16_t f = reads.flag[i] & (kFlagRead1 | kFlagRead2);
    if (f != kFlagRead1 && f != kFlagRead2) continue;
    const uint64_t h = reads.name_hash[i];
    if (mpos <= reads.pos[i]) {
      const size_t k = open.find(h);
      if (open.occupied(k)) {
        const int32_t j = open.value(k);
        const uint16_t fj = reads.flag[j] & (kFlagRead1 | kFlagRead2);
        if (fj != f && reads.mate_pos[j] == reads.pos[i] && reads.pos[j] == mpos) {
          open.erase(k);
          const bool i_first = reads.pos[i] == reads.pos[j] && f == kFlagRead1;
          pairs.push_back(i_first ? i : j);
          pairs.push_back(i_first ? j : i);
          continue;
        }
      }
    }
    if (mpos >= reads.pos[i] && mpos < reads.end[i]) open.set(open.find(h), h, i);
  }
  return pairs;
}

}  // namespace gms
