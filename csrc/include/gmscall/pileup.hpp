// Entry point of the pileup stage: reads of a region -> per-position allele evidence.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gmscall/backend.hpp"
#include "gmscall/params.hpp"
#include "gmscall/reads.hpp"

namespace gms {

class BamReader;
class Reference;

struct IndelAllele {
  int64_t pos;     // anchor, 0-based
  int32_t length;  // +insertion, -deletion
  std::string seq; // inserted bases, or the deleted reference bases
  uint32_t fwd = 0, rev = 0;
};

struct PileupResult {
  std::string contig;
  int64_t beg = 0, end = 0;
  std::string ref;  // upper-case reference of [beg, end)
  std::vector<uint32_t> counts, qual_sum, ins, del_start;  // layouts of kernels/pileup.hpp
  std::vector<unsigned long long> mq2;
  std::vector<long long> snv_ll;    // [n][4][3] when requested (caller), else empty
  std::vector<IndelAllele> indels;  // sorted by (pos, length, seq)
};

// Reads of [beg, end) after filters, depth cap and mate pairing: what every stage starts from.
struct PreparedReads {
  ReadBatch batch;
  std::vector<int32_t> pairs;
};

PreparedReads prepare_reads(BamReader& bam, int tid, int64_t beg, int64_t end, const PileupParams& params);

// Runs the pileup kernels over `reads` for [beg, end). `ref_seq` holds the reference from
// `ref_beg` far enough right to cover the reads' deletions. `eff_qual` (out) receives the
// qualities after overlap resolution.
PileupResult pileup_reads(const PreparedReads& reads, const std::string& contig, int64_t beg, int64_t end,
                          const std::string& ref_seq, int64_t ref_beg, const PileupParams& params,
                          Backend backend, std::vector<uint8_t>* eff_qual = nullptr,
                          const long long* ll_table = nullptr, int q_cap = 60);

PileupResult compute_pileup(BamReader& bam, const Reference& ref, const std::string& contig, int64_t beg,
                            int64_t end, const PileupParams& params, Backend backend);

}  // namespace gms
