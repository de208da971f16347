// Variant calling for one shard. Isolated SNVs: per-site model over the pileup's fixed-point
// likelihood sums. Indels and the SNVs near them: read-backed candidate haplotypes, every read
// aligned to every haplotype with the banded pair-HMM (one batch per shard, CPU or CUDA), diploid
// genotyping over haplotype pairs. The stages live in candidates.cpp, haplotypes.cpp, genotyper.cpp.
#include "gmscall/caller.hpp"

#include <algorithm>
#include <tuple>

#include "core/calling.hpp"
#include "gmscall/errors.hpp"
#include "gmscall/pileup.hpp"
#include "io/bam_reader.hpp"
#include "io/reference.hpp"
#include "kernels/genotype.hpp"

namespace gms {

using namespace calling;

std::vector<CallRecord> call_region(BamReader& bam, const Reference& ref, const std::string& contig,
                                    int64_t beg, int64_t end, const CallParams& params, Backend backend) {
  const int tid = bam.tid(contig);
  if (tid < 0) throw InputError(bam.path() + ": contig '" + contig + "' is not in the BAM header");
  const int64_t len = ref.length(contig);
  if (len < 0) throw InputError(ref.path() + ": contig '" + contig + "' is not in the reference");
  if (beg < 0 || end > len || beg >= end) throw InputError("shard outside contig " + contig);

  const int64_t pb = std::max<int64_t>(0, beg - params.read_pad);
  const int64_t pe = std::min<int64_t>(len, end + params.read_pad);
  // Per-thread buffers reused shard after shard: their pages are faulted in and zeroed once.
  thread_local PreparedReads reads;
  thread_local PileupResult pu;
  thread_local std::vector<uint8_t> eff_qual;
  prepare_reads_into(reads, bam, tid, pb, pe, params.pileup);
  int64_t max_end = pe, max_span = 1;
  for (int32_t i = 0; i < reads.batch.size(); ++i) {
    max_end = std::max(max_end, reads.batch.end[i]);
    max_span = std::max(max_span, reads.batch.end[i] - reads.batch.pos[i]);
  }
  RefSeq rs;
  rs.beg = std::max<int64_t>(0, pb - 2 * kMaxBand - 200);
  rs.s = ref.fetch(contig, rs.beg, max_end + 2 * kMaxBand + 200);

  static const std::vector<long long> ll_table = [] {
    std::vector<long long> t(128 * 3);
    build_snv_ll_table(t.data());
    return t;
  }();
  pileup_reads_into(pu, eff_qual, reads, contig, pb, pe, rs.s, rs.beg, params.pileup, backend, ll_table.data(),
                    kMaxQual);

  const std::vector<Candidate> alleles = find_candidates(pu, rs, params);
  std::vector<Window> windows;
  std::vector<Candidate> site_snvs;
  split_windows(alleles, windows, site_snvs);

  std::vector<CallRecord> out;
  call_site_snvs(pu, site_snvs, params, beg, end, out);

  // Windows whose calls could land in this shard; all their alignments go in one batch.
  PairHmmBatch jobs;
  std::vector<WindowWork> work;
  const ReadView rv = reads.batch.view();
  for (const Window& w : windows) {
    if (w.end <= beg || w.beg >= end) continue;
    plan_window(reads.batch, rv, eff_qual, rs, w, params, max_span, jobs, work);
  }
  std::vector<double> lik(jobs.jobs.size(), 0.0);
  static const PairHmmTables tables = make_pairhmm_tables();
  if (backend == Backend::kCuda) {
    run_pairhmm_cuda(jobs, tables, lik.data());
  } else {
    run_pairhmm_cpu(jobs, tables, lik.data());
  }
  for (const WindowWork& w : work) genotype_window(w, reads.batch, lik, rs, pu, params, beg, end, out);

  std::sort(out.begin(), out.end(), [](const CallRecord& a, const CallRecord& b) {
    return std::tie(a.pos, a.ref, a.alts) < std::tie(b.pos, b.ref, b.alts);
  });
  return out;
}

}  // namespace gms
