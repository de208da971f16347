// Entry point of the pileup stage: reads of a region -> per-position allele evidence.
#pragma once
#include <cstdint>
#include <functional>
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
// The same into `out`, whose vectors keep their capacity (no page faults when reused).
void prepare_reads_into(PreparedReads& out, BamReader& bam, int tid, int64_t beg, int64_t end,
                        const PileupParams& params);
// Its two halves, for reads that are regrouped in between (the samples of one file): the fetch
// (with the reads around [beg, end) that complete the depth bins), then the depth cap, the
// dropping of those extra reads, and the mate pairs.
void fetch_reads_into(ReadBatch& out, BamReader& bam, int tid, int64_t beg, int64_t end, const PileupParams& params);
void finish_reads(PreparedReads& out, int64_t beg, int64_t end, const PileupParams& params);

// Runs the pileup kernels over `reads` for [beg, end). `ref_seq` holds the reference from
// `ref_beg` far enough right to cover the reads' deletions. `eff_qual` (out) receives the
// qualities after overlap resolution.
PileupResult pileup_reads(const PreparedReads& reads, const std::string& contig, int64_t beg, int64_t end,
                          const std::string& ref_seq, int64_t ref_beg, const PileupParams& params,
                          Backend backend, std::vector<uint8_t>* eff_qual = nullptr,
                          const long long* ll_table = nullptr, int q_cap = 60);
// The same, filling `res` and `eff_qual` in place: a caller that reuses them across shards keeps
// their memory (no fresh pages to fault in and zero for every shard).
void pileup_reads_into(PileupResult& res, std::vector<uint8_t>& eff_qual, const PreparedReads& reads,
                       const std::string& contig, int64_t beg, int64_t end, const std::string& ref_seq,
                       int64_t ref_beg, const PileupParams& params, Backend backend,
                       const long long* ll_table = nullptr, int q_cap = 60);

// What the text pileup prints for positions [beg, end): counts [n][2][6] and ins [n][2] in the
// layouts of kernels/pileup.hpp, and the upper-case reference bases.
struct PileupCountsWindow {
  int64_t beg = 0, end = 0;
  const uint32_t* counts = nullptr;
  const uint32_t* ins = nullptr;
  const char* ref = nullptr;
};

// Counts-only pileup of [beg, end) of `contig` for text output: the same kernels with the outputs
// the text does not print left null (qual_sum, del_start, mq2, indel events). On the CPU it runs
// window by window through buffers the calling thread reuses; `emit` sees the windows in order
// (valid only during the call). Equal to compute_pileup's counts and ins for any window size.
void compute_pileup_counts(BamReader& bam, const Reference& ref, const std::string& contig, int64_t beg,
                           int64_t end, const PileupParams& params, Backend backend,
                           const std::function<void(const PileupCountsWindow&)>& emit);

// CPU schedule pieces (cpu/pileup.cpp): the mate overlaps of all of job's pairs, then the reads
// listed in `reads` into `out` (run_pileup_cpu is both over all reads).
void resolve_overlaps_cpu(const PileupJob& job);
void pileup_read_list_cpu(const PileupJob& job, const int32_t* reads, int32_t n, PileupView& out);

PileupResult compute_pileup(BamReader& bam, const Reference& ref, const std::string& contig, int64_t beg,
                            int64_t end, const PileupParams& params, Backend backend);

}  // namespace gms
