// The two schedulers of the same kernels: cpu/ (loops on host threads) and cuda/ (device kernels).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gmscall/reads.hpp"
#include "kernels/pileup.hpp"

namespace gms {

enum class Backend { kCpu, kCuda };

// Inputs of the pileup stage, all in host memory. eff_qual starts as a copy of the raw qualities
// and is updated in place by the overlap step.
struct PileupJob {
  ReadView reads;
  const int32_t* pairs = nullptr;  // a0, b0, a1, b1, ...
  int32_t n_pairs = 0;
  int min_bq = 0;
  uint8_t* eff_qual = nullptr;
  size_t n_bases = 0;
  size_t n_cigar_ops = 0;
  IndelEvent* events = nullptr;  // n_cigar_ops slots, zero-initialised
};

void run_pileup_cpu(const PileupJob& job, PileupView& out);
void run_pileup_cuda(const PileupJob& job, PileupView& out);

struct DeviceInfo {
  int index;
  std::string name;
  int cc_major, cc_minor;
  size_t total_mem;
};
bool cuda_compiled();
std::vector<DeviceInfo> cuda_devices();  // empty without a GPU or a driver
std::string cuda_runtime_version();      // "" when not compiled

}  // namespace gms

#include "kernels/pairhmm.hpp"

namespace gms {

// All read x haplotype alignments of a shard, batched so the GPU sees them in one launch.
struct PairHmmBatch {
  std::vector<PairHmmJob> jobs;
  std::vector<uint8_t> read_bases, read_quals, hap_bases, hap_gap_open;
  std::vector<uint32_t> hap_slip;  // empty, or a slip word per entry of hap_gap_open (kernels/pairhmm.hpp)
};

// out[k] = scaled likelihood of job k (see kernels/pairhmm.hpp).
void run_pairhmm_cpu(const PairHmmBatch& batch, const PairHmmTables& tables, double* out);
void run_pairhmm_cuda(const PairHmmBatch& batch, const PairHmmTables& tables, double* out);

}  // namespace gms
