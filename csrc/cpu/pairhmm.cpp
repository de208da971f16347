// CPU schedule of the pair-HMM: one loop over the shard's jobs.
#include "gmscall/backend.hpp"
#include "kernels/pairhmm.hpp"

namespace gms {

void run_pairhmm_cpu(const PairHmmBatch& batch, const PairHmmTables& tables, double* out) {
  const PairHmmInputs in{batch.read_bases.data(), batch.read_quals.data(), batch.hap_bases.data(),
                         batch.hap_gap_open.data()};
  for (size_t k = 0; k < batch.jobs.size(); ++k) out[k] = pairhmm_job(in, tables, batch.jobs[k]);
}

}  // namespace gms
