// CPU schedule of the pair-HMM: the jobs of each read in lockstep (kernels/pairhmm.hpp).
#include <algorithm>
#include <vector>

#include "gmscall/backend.hpp"
#include "kernels/pairhmm.hpp"

namespace gms {

namespace {

// The transitions at every gap code of the batch (PairHmmTransitions), from the same tables and
// with the same arithmetic as pairhmm_job's per-cell lookups. A job's codes start at its go_off:
// there the code "before" is the position's own, as in pairhmm_job at j = 0.
struct TransitionArrays {
  std::vector<double> keep, close, open, ext, base;
  std::vector<uint32_t> next_landing;  // per position (and one past the end): distance to the next slip landing
  TransitionArrays(const PairHmmBatch& batch, const PairHmmTables& t) {
    base.assign(batch.hap_bases.begin(), batch.hap_bases.end());
    const std::vector<uint8_t>& go = batch.hap_gap_open;
    const size_t n = go.size();
    std::vector<uint8_t> starts(n + 1, 0);
    for (const PairHmmJob& j : batch.jobs) starts[j.go_off] = 1;
    keep.resize(n);
    close.resize(n);
    open.resize(n);
    ext.resize(n);
    const uint32_t* sl = batch.hap_slip.empty() ? nullptr : batch.hap_slip.data();
    for (size_t x = 0; x < n; ++x) {
      const uint8_t c = go[x];
      const bool own = !(x > 0 && !starts[x]);
      const uint8_t c_prev = own ? c : go[x - 1];
      keep[x] = match_keep(t, c_prev, sl ? sl[own ? x : x - 1] : 0u);
      close[x] = t.gap_close[c_prev >> 6];
      open[x] = t.gap_open[c & 63];
      ext[x] = t.gap_ext[c >> 6];
    }
    if (sl) {
      constexpr uint32_t kFar = 1u << 28;  // beyond any haplotype
      next_landing.assign(n + 1, kFar);
      for (size_t x = n; x-- > 0;)
        next_landing[x] = (sl[x] & kSlipLanding) ? 0u : std::min(kFar, next_landing[x + 1] + 1);
    }
  }
  PairHmmTransitions view(const PairHmmBatch& batch) const {
    const bool slips = !batch.hap_slip.empty();
    return {keep.data(), close.data(), open.data(), ext.data(), base.data(),
            slips ? batch.hap_slip.data() : nullptr, slips ? next_landing.data() : nullptr};
  }
};

constexpr size_t kLanes = 4;  // jobs of one read run together (a window's haplotypes, up to 4 at a time)

}  // namespace

// Also built for AVX2 (picked at load time where the CPU has it): wider vectors for the band's
// match/insertion pass. No FMA in either clone (-ffp-contract=off), so both give the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default"), flatten))
#endif
void run_pairhmm_cpu(const PairHmmBatch& batch, const PairHmmTables& tables, double* out) {
  const PairHmmInputs in{batch.read_bases.data(), batch.read_quals.data(), batch.hap_bases.data(),
                         batch.hap_gap_open.data(), batch.hap_slip.empty() ? nullptr : batch.hap_slip.data()};
  const TransitionArrays arrays(batch, tables);
  const PairHmmTransitions tr = arrays.view(batch);
  const size_t n = batch.jobs.size();
  for (size_t k = 0; k < n;) {
    // Consecutive jobs on the same bases of the same read (a window's jobs are read-major).
    size_t e = k + 1;
    while (e < n && e - k < kLanes && batch.jobs[e].read_off == batch.jobs[k].read_off &&
           batch.jobs[e].read_len == batch.jobs[k].read_len)
      ++e;
    switch (e - k) {
      case 1: pairhmm_read_lanes<1>(in, tables, tr, &batch.jobs[k], out + k); break;
      case 2: pairhmm_read_lanes<2>(in, tables, tr, &batch.jobs[k], out + k); break;
      case 3: pairhmm_read_lanes<3>(in, tables, tr, &batch.jobs[k], out + k); break;
      default: pairhmm_read_lanes<4>(in, tables, tr, &batch.jobs[k], out + k); break;
    }
    k = e;
  }
}

}  // namespace gms
