#pragma once
#include <string>

#include "gmscall/pileup.hpp"

namespace gms {
// `gmscall pileup` text: chrom, pos (1-based), ref, depth, A, C, G, T, N, del, ins (both strands).
std::string format_pileup_tsv(const PileupResult& r);
}  // namespace gms
