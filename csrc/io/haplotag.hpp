// Haplotagging: a copy of a BAM whose reads carry the haplotype (HP) and phase set (PS) that
// read-backed phasing gave their fragment, as `whatshap haplotag` writes them (IGV groups by HP).
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

namespace gms {

// Per contig name: read-name hash (gms::read_name_hash) -> (HP 1 or 2, PS 1-based).
using FragmentTags = std::unordered_map<std::string, std::unordered_map<uint64_t, std::pair<int, int64_t>>>;

// The hash of a read name that ReadBatch::name_hash holds (FNV-1a, 64 bits).
uint64_t read_name_hash(const char* name);

// Writes `out` (BAM, then its .bai or .csi index): every record of `in` as it is, those of a tagged
// fragment with HP and PS added (replacing any they had); `program` goes in an @PG line. Returns
// the number of records tagged. Throws InputError / OutputError.
int64_t haplotag_bam(const std::string& in, const std::string& out, const FragmentTags& tags,
                     const std::string& program, int threads = 1);

}  // namespace gms
