// Host-side preparation of a fetched batch before the kernels: depth cap and mate pairing.
#pragma once
#include <cstdint>
#include <vector>

#include "gmscall/reads.hpp"

namespace gms {

// Reads whose start lies in one bin of this width on the contig's fixed grid share a depth estimate.
constexpr int64_t kDepthBin = 64;
// How far left of a region reads are fetched so that every bin touching it is complete.
constexpr int64_t kDepthCapFetchPad = 1024;
// Reads spanning more than this are not depth-capped (depth_cap_keep): a read that touches a shard
// and spans at most this has its whole start bin within the fetch pad.
constexpr int64_t kDepthCapMaxSpan = kDepthCapFetchPad - kDepthBin;

// Deterministic depth cap: the depth a bin's reads bring is estimated as (sum of their reference
// spans) / kDepthBin; when it exceeds max_depth, a read is kept with probability max_depth / depth,
// decided by a hash of its name (no random generator: same input, same reads, any shard size).
std::vector<uint8_t> depth_cap_keep(const ReadBatch& reads, int64_t max_depth);

// Pairs of reads of one fragment that overlap on the reference: (a, b) with a the leftmost mate
// (READ1 on a tie), as a flat array a0, b0, a1, b1, ...
std::vector<int32_t> overlapping_mate_pairs(const ReadBatch& reads);

}  // namespace gms
