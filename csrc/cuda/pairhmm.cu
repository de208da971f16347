// CUDA schedule of the pair-HMM: one thread per read x haplotype job, the band in registers/local.
#include "cuda/device_buffer.cuh"
#include "gmscall/backend.hpp"
#include "kernels/pairhmm.hpp"

namespace gms {
namespace {

__global__ void pairhmm_kernel(PairHmmInputs in, PairHmmTables tables, const PairHmmJob* jobs, size_t n,
                               double* out) {
  const size_t k = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < n) out[k] = pairhmm_job(in, tables, jobs[k]);
}

}  // namespace

void run_pairhmm_cuda(const PairHmmBatch& batch, const PairHmmTables& tables, double* out) {
  const size_t n = batch.jobs.size();
  if (n == 0) return;
  DeviceBuffer<PairHmmJob> jobs(batch.jobs.data(), n);
  DeviceBuffer<uint8_t> rb(batch.read_bases.data(), batch.read_bases.size());
  DeviceBuffer<uint8_t> rq(batch.read_quals.data(), batch.read_quals.size());
  DeviceBuffer<uint8_t> hb(batch.hap_bases.data(), batch.hap_bases.size());
  DeviceBuffer<uint8_t> hg(batch.hap_gap_open.data(), batch.hap_gap_open.size());
  DeviceBuffer<uint32_t> hs(batch.hap_slip.data(), batch.hap_slip.size());
  DeviceBuffer<double> res(n);
  const PairHmmInputs in{rb.get(), rq.get(), hb.get(), hg.get(), batch.hap_slip.empty() ? nullptr : hs.get()};
  constexpr int kThreads = 64;
  pairhmm_kernel<<<blocks_for(n, kThreads), kThreads>>>(in, tables, jobs.get(), n, res.get());
  cuda_check(cudaGetLastError(), "pair-HMM kernel launch");
  cuda_check(cudaDeviceSynchronize(), "pair-HMM kernel");
  res.download(out, n);
}

}  // namespace gms
