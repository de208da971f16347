// gVCF reference-block lines, formatted in C++ (a genome has millions of them).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gmscall/caller.hpp"

namespace gms {

// One block line: CHROM POS . REF <NON_REF> . . END=.. GT:GQ:DP:MIN_DP:PL values (no newline).
void append_block_line(const std::string& contig, const RefBlock& b, std::string& out);

// A shard's blocks as text between its records. The block that starts at the shard's first base
// (`head`) and the one that ends at its last (`tail`) are left out of the text, as indices: the
// writer merges them with the neighbouring shards' blocks when their keys match.
struct BlockText {
  int head = -1, tail = -1;
  std::vector<std::string> gaps;  // gaps[g]: the lines between record g - 1 and record g, "\n"-joined
};
BlockText block_text(const std::string& contig, const std::vector<RefBlock>& blocks,
                     const std::vector<int64_t>& record_pos, int64_t beg, int64_t end);

}  // namespace gms
