// The reads of every sample of a shard (one BAM per sample, several samples in one BAM split by
// read group, or one sample's reads pooled from several BAMs), each sample's pileup, and all
// samples' reads merged in coordinate order for the haplotype stage.
#include <algorithm>

#include "core/calling.hpp"
#include "io/bam_reader.hpp"
#include "io/read_prep.hpp"

namespace gms::calling {

namespace {

void append_read(ReadBatch& dst, const ReadBatch& src, int32_t i, uint16_t column) {
  dst.pos.push_back(src.pos[i]);
  dst.end.push_back(src.end[i]);
  dst.flag.push_back(src.flag[i]);
  dst.mapq.push_back(src.mapq[i]);
  dst.cigar_off.push_back(static_cast<uint32_t>(dst.cigar.size()));
  dst.n_cigar.push_back(src.n_cigar[i]);
  const uint32_t* ops = src.cigar.data() + src.cigar_off[i];
  dst.cigar.insert(dst.cigar.end(), ops, ops + src.n_cigar[i]);
  dst.seq_off.push_back(dst.seq.size());
  dst.len.push_back(src.len[i]);
  const uint8_t* s = src.seq.data() + src.seq_off[i];
  const uint8_t* q = src.qual.data() + src.seq_off[i];
  dst.seq.insert(dst.seq.end(), s, s + src.len[i]);
  dst.qual.insert(dst.qual.end(), q, q + src.len[i]);
  dst.name_hash.push_back(src.name_hash[i]);
  dst.mate_pos.push_back(src.mate_pos[i]);
  dst.sample.push_back(column);
}

// Coordinate order again after pooling several files' reads into one sample (stable: file order
// breaks ties, so the result does not depend on anything but the inputs).
void sort_by_position(ReadBatch& batch, ReadBatch& scratch) {
  std::vector<int32_t> order(static_cast<size_t>(batch.size()));
  for (int32_t i = 0; i < batch.size(); ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return batch.pos[a] < batch.pos[b]; });
  scratch.clear();
  for (int32_t i : order) append_read(scratch, batch, i, batch.sample[i]);
  std::swap(batch, scratch);
}

}  // namespace

void OpIndex::build(const ReadBatch& batch) {
  ref.resize(batch.cigar.size());
  query.resize(batch.cigar.size());
  for (int32_t i = 0; i < batch.size(); ++i) {
    uint32_t rp = 0, qp = 0;
    const uint32_t first = batch.cigar_off[i];
    for (uint32_t k = 0; k < batch.n_cigar[i]; ++k) {
      ref[first + k] = rp;
      query[first + k] = qp;
      const uint32_t op = cigar_op(batch.cigar[first + k]), l = cigar_len(batch.cigar[first + k]);
      if (is_aligned_op(op) || op == kCigD || op == kCigN) rp += l;
      if (is_aligned_op(op) || op == kCigI || op == kCigS) qp += l;
    }
  }
}

void gather_sample_reads(const std::vector<BamReader*>& bams, const std::vector<int>& tids, const Cohort& cohort,
                         int64_t beg, int64_t end, const PileupParams& params, std::vector<SampleEvidence>& out) {
  out.resize(static_cast<size_t>(cohort.n_samples));
  std::vector<int> sources(static_cast<size_t>(cohort.n_samples), 0);
  for (const auto& columns : cohort.bam_columns)
    for (int c : columns) ++sources[static_cast<size_t>(c)];
  for (SampleEvidence& s : out) {
    s.reads.batch.clear();
    s.reads.pairs.clear();
  }
  thread_local ReadBatch scratch;
  std::vector<uint8_t> appended(out.size(), 0);
  for (size_t k = 0; k < bams.size(); ++k) {
    const std::vector<int>& columns = cohort.bam_columns[k];
    if (columns.size() == 1 && sources[static_cast<size_t>(columns[0])] == 1) {
      // The usual case: the file is the sample. Its reads go straight where the kernels read them.
      PreparedReads& dst = out[static_cast<size_t>(columns[0])].reads;
      prepare_reads_into(dst, *bams[k], tids[k], beg, end, params);
      std::fill(dst.batch.sample.begin(), dst.batch.sample.end(), static_cast<uint16_t>(columns[0]));
      continue;
    }
    // Several samples in the file, or a sample in several files: the depth cap and the mate
    // pairs are each sample's, after its reads are brought together.
    fetch_reads_into(scratch, *bams[k], tids[k], beg, end, params);
    for (int32_t i = 0; i < scratch.size(); ++i) {
      const int column = columns[scratch.sample[i]];
      appended[static_cast<size_t>(column)] = 1;
      append_read(out[static_cast<size_t>(column)].reads.batch, scratch, i, static_cast<uint16_t>(column));
    }
  }
  for (size_t c = 0; c < out.size(); ++c) {
    if (!appended[c]) continue;
    PreparedReads& r = out[c].reads;
    if (sources[c] > 1) sort_by_position(r.batch, scratch);
    finish_reads(r, beg, end, params);
  }
  for (SampleEvidence& s : out) s.ops.build(s.reads.batch);
}

void merge_cohort_reads(const std::vector<SampleEvidence>& samples, const std::vector<Window>& windows,
                        CohortReads& out) {
  if (samples.size() == 1) {
    out.batch = &samples[0].reads.batch;
    out.eff_qual = &samples[0].eff_qual;
    out.ops = &samples[0].ops;
    return;
  }
  ReadBatch& m = out.merged;
  std::vector<uint8_t>& q = out.merged_qual;
  m.clear();
  q.clear();
  // Only reads that overlap a window: the haplotype stage looks at no other read.
  std::vector<size_t> next_window(samples.size(), 0);
  auto overlaps_window = [&](size_t s, int64_t pos, int64_t end) {
    size_t& w = next_window[s];  // windows are sorted and disjoint; reads come in start order
    while (w < windows.size() && windows[w].end <= pos) ++w;
    return w < windows.size() && windows[w].beg < end;
  };
  // k-way merge by (position, column): every sample's batch is coordinate-sorted.
  std::vector<int32_t> next(samples.size(), 0);
  for (;;) {
    int best = -1;
    for (size_t s = 0; s < samples.size(); ++s) {
      const ReadBatch& b = samples[s].reads.batch;
      if (next[s] < b.size() && (best < 0 || b.pos[next[s]] < samples[best].reads.batch.pos[next[best]])) {
        best = static_cast<int>(s);
      }
    }
    if (best < 0) break;
    const SampleEvidence& e = samples[static_cast<size_t>(best)];
    const int32_t i = next[static_cast<size_t>(best)]++;
    if (!overlaps_window(static_cast<size_t>(best), e.reads.batch.pos[i], e.reads.batch.end[i])) continue;
    append_read(m, e.reads.batch, i, static_cast<uint16_t>(best));
    const uint8_t* eq = e.eff_qual.data() + e.reads.batch.seq_off[i];
    q.insert(q.end(), eq, eq + e.reads.batch.len[i]);
  }
  out.batch = &m;
  out.eff_qual = &q;
  out.merged_ops.build(m);
  out.ops = &out.merged_ops;
}

}  // namespace gms::calling
