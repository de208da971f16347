// CPU schedule of the pair-HMM: one loop over the shard's jobs.
#include "gmscall/backend.hpp"
#include "kernels/pairhmm.hpp"

namespace gms {

// Also built for AVX2 (picked at load time where the CPU has it): wider vectors for the band's
// match/insertion pass. No FMA in either clone (-ffp-contract=off), so both give the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void run_pairhmm_cpu(const PairHmmBatch& batch, const PairHmmTables& tables, double* out) {
  const PairHmmInputs in{batch.read_bases.data(), batch.read_quals.data(), batch.hap_bases.data(),
                         batch.hap_gap_open.data()};
  for (size_t k = 0; k < batch.jobs.size(); ++k) out[k] = pairhmm_job(in, tables, batch.jobs[k]);
}

}  // namespace gms
