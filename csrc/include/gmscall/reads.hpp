// Reads decoded from BAM/CRAM into a structure of arrays, and the raw-pointer view the kernels see.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gmscall/common.hpp"

namespace gms {

// Pointer view of a read batch: the only form of reads that kernels (CPU or GPU) touch.
struct ReadView {
  int32_t n = 0;
  const int64_t* pos = nullptr;        // 0-based leftmost aligned reference position
  const int64_t* end = nullptr;        // exclusive reference end
  const uint16_t* flag = nullptr;
  const uint8_t* mapq = nullptr;
  const uint32_t* cigar_off = nullptr;  // first op of read i in `cigar`
  const uint32_t* n_cigar = nullptr;
  const uint32_t* cigar = nullptr;      // packed BAM ops: len << 4 | op
  const uint64_t* seq_off = nullptr;    // first base of read i in `seq` / `qual`
  const uint32_t* len = nullptr;        // query length
  const uint8_t* seq = nullptr;         // allele codes 0..4
  const uint8_t* qual = nullptr;        // base qualities (raw, before overlap adjustment)
};

struct ReadBatch {
  int32_t tid = -1;
  std::vector<int64_t> pos, end;
  std::vector<uint16_t> flag;
  std::vector<uint8_t> mapq;
  std::vector<uint32_t> cigar_off, n_cigar, cigar;
  std::vector<uint64_t> seq_off;
  std::vector<uint32_t> len;
  std::vector<uint8_t> seq, qual;
  std::vector<uint64_t> name_hash;  // for mate pairing and deterministic downsampling
  std::vector<int64_t> mate_pos;    // mate's start on the same contig, -1 otherwise
  std::vector<uint16_t> sample;     // the read's sample (its read group's SM; see BamReader)

  int32_t size() const { return static_cast<int32_t>(pos.size()); }
  void clear();
  ReadView view() const;
  // Keep only the reads whose index is flagged in `keep` (stable; offsets rebuilt).
  void compact(const std::vector<uint8_t>& keep);
};

}  // namespace gms
