// CPU schedule of the pileup kernels: plain loops over pairs and reads (one shard per thread;
// the Python scheduler runs shards in parallel with the GIL released).
#include "gmscall/backend.hpp"
#include "gmscall/pileup.hpp"
#include "kernels/pileup.hpp"

namespace gms {
namespace {
struct PlainAdd {
  void operator()(uint32_t* p, uint32_t v) const { *p += v; }
  void operator()(unsigned long long* p, unsigned long long v) const { *p += v; }
  void operator()(long long* p, long long v) const { *p += v; }
};
}  // namespace

void resolve_overlaps_cpu(const PileupJob& job) {
  for (int32_t k = 0; k < job.n_pairs; ++k) {
    resolve_mate_overlap(job.reads, job.pairs[2 * k], job.pairs[2 * k + 1], job.eff_qual);
  }
}

void pileup_read_list_cpu(const PileupJob& job, const int32_t* reads, int32_t n, PileupView& out) {
  for (int32_t k = 0; k < n; ++k) {
    pileup_read(job.reads, reads[k], job.eff_qual, job.min_bq, out, job.events, PlainAdd{});
  }
}

void run_pileup_cpu(const PileupJob& job, PileupView& out) {
  resolve_overlaps_cpu(job);
  for (int32_t i = 0; i < job.reads.n; ++i) {
    pileup_read(job.reads, i, job.eff_qual, job.min_bq, out, job.events, PlainAdd{});
  }
}

}  // namespace gms
