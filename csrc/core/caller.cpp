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

// How far before a shard a record can start and still cover one of its bases: the longest REF of
// a haplotype-model record (an indel's repeat tract plus the indel), or the longest deletion.
constexpr int64_t kRecordReach = 200;

int Cohort::ploidy_at(int column, int64_t pos) const {
  if (column >= static_cast<int>(ploidy.size())) return 2;
  for (const PloidyInterval& iv : ploidy[static_cast<size_t>(column)]) {
    if (pos < iv.beg) break;
    if (pos < iv.end) return iv.ploidy;
  }
  return 2;
}

namespace calling {

void shard_evidence(const std::vector<BamReader*>& bams, const Reference& ref, const std::string& contig, int64_t beg,
                    int64_t end, int64_t reach, const CallParams& params, const Cohort& cohort, Backend backend,
                    ShardEvidence& ev, int64_t after) {
  if (bams.size() != cohort.bam_columns.size()) throw GmsError("call_region: one column map per BAM expected");
  std::vector<int> tids;
  for (BamReader* bam : bams) {
    tids.push_back(bam->tid(contig));
    if (tids.back() < 0) throw InputError(bam->path() + ": contig '" + contig + "' is not in the BAM header");
  }
  const int64_t len = ref.length(contig);
  if (len < 0) throw InputError(ref.path() + ": contig '" + contig + "' is not in the reference");
  if (beg < 0 || end > len || beg >= end) throw InputError("shard outside contig " + contig);

  const int64_t pb = std::max<int64_t>(0, beg - reach - params.read_pad);
  const int64_t pe = std::min<int64_t>(len, end + params.read_pad);
  // Per-thread buffers reused shard after shard: their pages are faulted in and zeroed once.
  thread_local std::vector<SampleEvidence> samples;
  thread_local CohortReads cohort_reads;
  ev.samples = &samples;
  gather_sample_reads(bams, tids, cohort, pb, pe, params.pileup, samples);
  int64_t max_end = pe, max_span = 1;
  for (const SampleEvidence& e : samples) {
    const ReadBatch& b = e.reads.batch;
    for (int32_t i = 0; i < b.size(); ++i) {
      max_end = std::max(max_end, b.end[i]);
      max_span = std::max(max_span, b.end[i] - b.pos[i]);
    }
  }
  RefSeq& rs = ev.ref;
  rs.beg = std::max<int64_t>(0, pb - 2 * kMaxBand - 200);
  rs.s = ref.fetch(contig, rs.beg, max_end + 2 * kMaxBand + 200);

  static const std::vector<long long> ll_table = [] {
    std::vector<long long> t(128 * 3);
    build_snv_ll_table(t.data());
    return t;
  }();
  for (SampleEvidence& e : samples) {
    pileup_reads_into(e.pu, e.eff_qual, e.reads, contig, pb, pe, rs.s, rs.beg, params.pileup, backend,
                      ll_table.data(), kMaxQual);
  }

  const int64_t lo = ev.lo = std::max<int64_t>(0, beg - reach);
  std::vector<Candidate> below_thresholds;
  std::vector<Candidate> alleles = find_candidates(samples, rs, params, below_thresholds);
  // Assembly only where the calls of this shard can land (its neighbours assemble the rest); a
  // region's reads and bounds do not depend on the shard, so the haplotypes are the same for any
  // split.
  std::vector<AssembledHaplotype> assembled;
  if (params.assemble) {
    const int64_t margin = params.read_pad / 2;
    std::vector<ActiveRegion> regions;
    for (const ActiveRegion& r : active_regions(samples, alleles, below_thresholds, params, pb, pe)) {
      if (r.end <= lo - margin || r.beg >= end + after + margin) continue;
      for (AssembledHaplotype& h : assemble_region(samples, rs, r, max_span, params)) assembled.push_back(std::move(h));
      regions.push_back(r);
    }
    for (AssembledHaplotype& h : repeat_length_alleles(samples, rs, alleles, regions, std::max(pb, lo - margin),
                                                       std::min(pe, end + after + margin), max_span, params))
      assembled.push_back(std::move(h));
    for (AssembledHaplotype& h :
         clipped_duplications(samples, rs, std::max(pb, lo - margin), std::min(pe, end + after + margin), params))
      assembled.push_back(std::move(h));
    add_assembled_alleles(rs, assembled, alleles);
  }
  ev.windows.clear();
  ev.site_snvs.clear();
  split_windows(alleles, ev.windows, ev.site_snvs);
  seed_windows(assembled, ev.windows);
  if (params.gvcf) add_repeat_length_alleles(rs, below_thresholds, params, ev.windows);

  // Windows whose calls could land in this shard; all their alignments go in one batch.
  merge_cohort_reads(samples, ev.windows, cohort_reads);
  ev.batch = cohort_reads.batch;
  const ReadBatch& batch = *cohort_reads.batch;
  PairHmmBatch jobs;
  ev.work.clear();
  const ReadView rv = batch.view();
  ev.counts = WindowCounts{};
  for (const Window& w : ev.windows) {
    if (w.end <= lo || w.beg >= end + after) continue;
    const bool screened =
        plan_window(batch, rv, *cohort_reads.ops, *cohort_reads.eff_qual, rs, w, params, max_span, jobs, ev.work);
    if (w.beg >= beg && w.beg < end) {  // each window counted by the one shard it starts in
      ev.counts.planned += 1;
      ev.counts.screened += screened;
    }
  }
  ev.lik.assign(jobs.jobs.size(), 0.0);
  static const PairHmmTables tables = make_pairhmm_tables();
  if (backend == Backend::kCuda) {
    run_pairhmm_cuda(jobs, tables, ev.lik.data());
  } else {
    run_pairhmm_cpu(jobs, tables, ev.lik.data());
  }
}

}  // namespace calling

std::vector<CallRecord> call_region(const std::vector<BamReader*>& bams, const Reference& ref,
                                    const std::string& contig, int64_t beg, int64_t end, const CallParams& params,
                                    const Cohort& cohort, Backend backend, std::vector<RefBlock>* blocks,
                                    WindowCounts* counts) {
  if (blocks && cohort.n_samples != 1) throw InputError("a gVCF holds one sample: call each sample on its own");
  // A gVCF also needs the records that start before the shard and reach into it (a deletion), to
  // leave their bases out of the reference blocks: they are called here too, then dropped.
  const int64_t reach =
      blocks ? std::max<int64_t>({kRecordReach, params.max_indel_len + 1, params.assemble ? kMaxAssembledIndel + 1 : 0}) : 0;
  ShardEvidence ev;
  shard_evidence(bams, ref, contig, beg, end, reach, params, cohort, backend, ev);
  if (counts) *counts = ev.counts;
  const std::vector<SampleEvidence>& samples = *ev.samples;
  std::vector<CallRecord> out;
  call_site_snvs(samples, ev.site_snvs, params, cohort, ev.lo, end, out);
  for (const WindowWork& w : ev.work)
    genotype_window(w, *ev.batch, ev.lik, ev.ref, samples, params, cohort, ev.lo, end, out);

  std::sort(out.begin(), out.end(), [](const CallRecord& a, const CallRecord& b) {
    return std::tie(a.pos, a.ref, a.alts) < std::tie(b.pos, b.ref, b.alts);
  });
  if (params.phase) site_phase_obs(samples, params, out);
  if (blocks) {
    blocks->clear();
    reference_blocks(samples[0].pu, out, haplotype_explained(ev.work, beg, end), beg, end, cohort, params, *blocks);
    out.erase(out.begin(), std::lower_bound(out.begin(), out.end(), beg,
                                            [](const CallRecord& r, int64_t p) { return r.pos < p; }));
  }
  return out;
}

}  // namespace gms
