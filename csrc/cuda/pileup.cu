// CUDA schedule of the pileup kernels: one thread per mate pair, then one thread per read.
#include "cuda/device_buffer.cuh"
#include "gmscall/backend.hpp"
#include "kernels/pileup.hpp"

namespace gms {
namespace {

struct AtomicAdd {
  __device__ void operator()(uint32_t* p, uint32_t v) const { atomicAdd(reinterpret_cast<unsigned int*>(p), v); }
  __device__ void operator()(unsigned long long* p, unsigned long long v) const { atomicAdd(p, v); }
  // Two's-complement wrap-around makes the unsigned atomic add exact for signed sums.
  __device__ void operator()(long long* p, long long v) const {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  }
};

__global__ void overlap_kernel(ReadView r, const int32_t* pairs, int32_t n_pairs, uint8_t* eff_qual) {
  const int32_t k = blockIdx.x * blockDim.x + threadIdx.x;
  if (k < n_pairs) resolve_mate_overlap(r, pairs[2 * k], pairs[2 * k + 1], eff_qual);
}

__global__ void pileup_kernel(ReadView r, const uint8_t* eff_qual, int min_bq, PileupView out, IndelEvent* events) {
  const int32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < r.n) pileup_read(r, i, eff_qual, min_bq, out, events, AtomicAdd{});
}

// Device copies of a ReadView's arrays.
struct DeviceReads {
  DeviceBuffer<int64_t> pos, end;
  DeviceBuffer<uint16_t> flag;
  DeviceBuffer<uint8_t> mapq, seq;
  DeviceBuffer<uint32_t> cigar_off, n_cigar, cigar, len;
  DeviceBuffer<uint64_t> seq_off;

  DeviceReads(const ReadView& h, size_t n_bases, size_t n_ops)
      : pos(h.pos, h.n), end(h.end, h.n), flag(h.flag, h.n), mapq(h.mapq, h.n), seq(h.seq, n_bases),
        cigar_off(h.cigar_off, h.n), n_cigar(h.n_cigar, h.n), cigar(h.cigar, n_ops), len(h.len, h.n),
        seq_off(h.seq_off, h.n) {}

  ReadView view(int32_t n) const {
    ReadView v;
    v.n = n;
    v.pos = pos.get(); v.end = end.get(); v.flag = flag.get(); v.mapq = mapq.get();
    v.cigar_off = cigar_off.get(); v.n_cigar = n_cigar.get(); v.cigar = cigar.get();
    v.seq_off = seq_off.get(); v.len = len.get(); v.seq = seq.get(); v.qual = nullptr;
    return v;
  }
};

}  // namespace

void run_pileup_cuda(const PileupJob& job, PileupView& out) {
  const size_t n_pos = static_cast<size_t>(out.end - out.beg);
  DeviceReads reads(job.reads, job.n_bases, job.n_cigar_ops);
  DeviceBuffer<uint8_t> eff_qual(job.eff_qual, job.n_bases);
  DeviceBuffer<int32_t> pairs(job.pairs, 2 * static_cast<size_t>(job.n_pairs));
  DeviceBuffer<uint32_t> counts(n_pos * 12), qual_sum(n_pos * 6), ins(n_pos * 2), del_start(n_pos * 2);
  DeviceBuffer<unsigned long long> mq2(out.mq2 ? n_pos : 0);
  DeviceBuffer<IndelEvent> events(job.events ? job.n_cigar_ops : 0);
  DeviceBuffer<long long> snv_ll(out.snv_ll ? n_pos * 12 : 0);
  DeviceBuffer<long long> ll_table(out.ll_table, out.ll_table ? 128 * 3 : 0);
  counts.zero(); qual_sum.zero(); ins.zero(); del_start.zero(); mq2.zero(); events.zero(); snv_ll.zero();

  const ReadView dr = reads.view(job.reads.n);
  constexpr int kThreads = 128;
  if (job.n_pairs > 0) {
    overlap_kernel<<<blocks_for(job.n_pairs, kThreads), kThreads>>>(dr, pairs.get(), job.n_pairs, eff_qual.get());
    cuda_check(cudaGetLastError(), "overlap kernel launch");
  }
  PileupView dv{out.beg, out.end, counts.get(), qual_sum.get(), ins.get(), del_start.get(),
                out.mq2 ? mq2.get() : nullptr, out.snv_ll ? snv_ll.get() : nullptr,
                out.ll_table ? ll_table.get() : nullptr, out.q_cap};
  if (job.reads.n > 0) {
    pileup_kernel<<<blocks_for(job.reads.n, kThreads), kThreads>>>(dr, eff_qual.get(), job.min_bq, dv,
                                                                   job.events ? events.get() : nullptr);
    cuda_check(cudaGetLastError(), "pileup kernel launch");
  }
  cuda_check(cudaDeviceSynchronize(), "pileup kernels");
  counts.download(out.counts, n_pos * 12);
  qual_sum.download(out.qual_sum, n_pos * 6);
  ins.download(out.ins, n_pos * 2);
  del_start.download(out.del_start, n_pos * 2);
  if (out.mq2) mq2.download(out.mq2, n_pos);
  if (job.events) events.download(job.events, job.n_cigar_ops);
  if (out.snv_ll) snv_ll.download(out.snv_ll, n_pos * 12);
  eff_qual.download(job.eff_qual, job.n_bases);
}

}  // namespace gms
