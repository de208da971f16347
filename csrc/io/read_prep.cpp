#include "io/read_prep.hpp"

#include <map>
#include <unordered_map>

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
}  // namespace

std::vector<uint8_t> depth_cap_keep(const ReadBatch& reads, int64_t max_depth) {
  const int32_t n = reads.size();
  std::vector<uint8_t> keep(n, 1);
  if (max_depth <= 0 || n == 0) return keep;
  std::map<int64_t, int64_t> span_per_bin;
  for (int32_t i = 0; i < n; ++i) span_per_bin[reads.pos[i] / kDepthBin] += reads.end[i] - reads.pos[i];
  for (int32_t i = 0; i < n; ++i) {
    const int64_t depth = span_per_bin[reads.pos[i] / kDepthBin] / kDepthBin;
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
  std::unordered_map<uint64_t, int32_t> open;  // name hash -> read waiting for its mate
  for (int32_t i = 0; i < reads.size(); ++i) {
    const int64_t mpos = reads.mate_pos[i];
    if (mpos < 0) continue;
    const uint16_t f = reads.flag[i] & (kFlagRead1 | kFlagRead2);
    if (f != kFlagRead1 && f != kFlagRead2) continue;
    if (mpos <= reads.pos[i]) {
      auto it = open.find(reads.name_hash[i]);
      if (it != open.end()) {
        const int32_t j = it->second;
        const uint16_t fj = reads.flag[j] & (kFlagRead1 | kFlagRead2);
        if (fj != f && reads.mate_pos[j] == reads.pos[i] && reads.pos[j] == mpos) {
          open.erase(it);
          const bool i_first = reads.pos[i] == reads.pos[j] && f == kFlagRead1;
          pairs.push_back(i_first ? i : j);
          pairs.push_back(i_first ? j : i);
          continue;
        }
      }
    }
    if (mpos >= reads.pos[i] && mpos < reads.end[i]) open[reads.name_hash[i]] = i;
  }
  return pairs;
}

}  // namespace gms
