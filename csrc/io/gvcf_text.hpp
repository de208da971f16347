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

namespace gms {

// `gmscall check`'s fast path: from `start`, the run of lines of `buf` that are reference blocks in
// the layout gmscall writes (append_block_line, diploid or haploid, values of at most 9 digits), on
// `chrom`, each starting right after the line before (POS == covered + 1), END >= POS, END <=
// chrom_len, MIN_DP <= DP, and REF equal to the reference where `ref` (bases from 0-based
// ref_start) covers POS. Stops before the first other line (or one whose POS the window does not
// cover), which the caller checks in full. The same lines as gvcf_check._FAST_BLOCK (tested).
struct BlockScan {
  int64_t stop = 0;     // offset of the first line not taken (buf.size() when all were)
  int64_t lines = 0;    // lines taken
  int64_t covered = 0;  // the last line's END (unchanged when none was taken)
  int64_t last_pos = 0; // the last line's POS
};
BlockScan scan_blocks(const char* buf, int64_t size, int64_t start, const std::string& chrom, int64_t covered,
                      int64_t last_pos, int64_t chrom_len, const char* ref, int64_t ref_start, int64_t ref_size);

}  // namespace gms
