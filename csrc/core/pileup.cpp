// Pileup stage orchestration shared by both backends: prepare reads, run kernels, gather indels.
#include "gmscall/pileup.hpp"

#include <algorithm>
#include <map>
#include <tuple>

#include "gmscall/errors.hpp"
#include "io/bam_reader.hpp"
#include "io/read_prep.hpp"
#include "io/reference.hpp"

namespace gms {
namespace {

const char kAlleleChar[5] = {'A', 'C', 'G', 'T', 'N'};

std::vector<IndelAllele> gather_indels(const ReadBatch& reads, const std::vector<IndelEvent>& events,
                                       const std::string& ref_seq, int64_t ref_beg) {
  std::map<std::tuple<int64_t, int32_t, std::string>, std::pair<uint32_t, uint32_t>> distinct;
  for (const IndelEvent& e : events) {
    if (e.length == 0) continue;
    std::string seq;
    if (e.length > 0) {
      const uint64_t off = reads.seq_off[e.read] + e.qoff;
      for (int32_t j = 0; j < e.length; ++j) seq.push_back(kAlleleChar[reads.seq[off + j]]);
    } else {
      const int64_t from = e.pos + 1 - ref_beg;
      const int64_t n = -e.length;
      if (from < 0 || from + n > static_cast<int64_t>(ref_seq.size())) {
        seq.assign(static_cast<size_t>(n), 'N');  // deletion running past the contig end
      } else {
        seq = ref_seq.substr(static_cast<size_t>(from), static_cast<size_t>(n));
      }
    }
    auto& c = distinct[{e.pos, e.length, seq}];
    (e.strand ? c.second : c.first) += 1;
  }
  std::vector<IndelAllele> out;
  out.reserve(distinct.size());
  for (const auto& [key, c] : distinct) {
    out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), c.first, c.second});
  }
  return out;
}

}  // namespace

void fetch_reads_into(ReadBatch& out, BamReader& bam, int tid, int64_t beg, int64_t end, const PileupParams& params) {
  out.clear();
  // With a depth cap, every depth bin touching [beg, end) must see all of its reads, whatever the
  // shard: fetch from kDepthCapFetchPad before and up to the end of the last bin.
  const bool cap = params.max_depth > 0;
  const int64_t fetch_beg = cap ? std::max<int64_t>(0, beg - kDepthCapFetchPad) : beg;
  const int64_t fetch_end = cap ? (end + kDepthBin - 1) / kDepthBin * kDepthBin : end;
  bam.fetch(tid, fetch_beg, fetch_end, params.filter, out);
}

void finish_reads(PreparedReads& out, int64_t beg, int64_t end, const PileupParams& params) {
  out.pairs.clear();
  if (params.max_depth > 0) {
    std::vector<uint8_t> keep = depth_cap_keep(out.batch, params.max_depth);
    bool drop = false;
    for (int32_t i = 0; i < out.batch.size(); ++i) {
      // reads fetched only to complete a depth bin
      if (out.batch.end[i] <= beg || out.batch.pos[i] >= end) keep[i] = 0;
      drop |= !keep[i];
    }
    if (drop) out.batch.compact(keep);
  }
  if (params.overlaps) out.pairs = overlapping_mate_pairs(out.batch);
}

void prepare_reads_into(PreparedReads& out, BamReader& bam, int tid, int64_t beg, int64_t end,
                        const PileupParams& params) {
  fetch_reads_into(out.batch, bam, tid, beg, end, params);
  finish_reads(out, beg, end, params);
}

PreparedReads prepare_reads(BamReader& bam, int tid, int64_t beg, int64_t end, const PileupParams& params) {
  PreparedReads out;
  prepare_reads_into(out, bam, tid, beg, end, params);
  return out;
}

PileupResult pileup_reads(const PreparedReads& reads, const std::string& contig, int64_t beg, int64_t end,
                          const std::string& ref_seq, int64_t ref_beg, const PileupParams& params,
                          Backend backend, std::vector<uint8_t>* eff_qual_out, const long long* ll_table,
                          int q_cap) {
  PileupResult res;
  std::vector<uint8_t> eff_qual;
  pileup_reads_into(res, eff_qual, reads, contig, beg, end, ref_seq, ref_beg, params, backend, ll_table, q_cap);
  if (eff_qual_out) *eff_qual_out = std::move(eff_qual);
  return res;
}

void pileup_reads_into(PileupResult& res, std::vector<uint8_t>& eff_qual, const PreparedReads& reads,
                       const std::string& contig, int64_t beg, int64_t end, const std::string& ref_seq,
                       int64_t ref_beg, const PileupParams& params, Backend backend, const long long* ll_table,
                       int q_cap) {
  res.contig = contig;
  res.beg = beg;
  res.end = end;
  const size_t n = static_cast<size_t>(end - beg);
  res.ref = ref_seq.substr(static_cast<size_t>(beg - ref_beg), n);
  res.ref.resize(n, 'N');
  res.counts.assign(n * 12, 0);
  res.qual_sum.assign(n * 6, 0);
  res.ins.assign(n * 2, 0);
  res.del_start.assign(n * 2, 0);
  res.mq2.assign(n, 0);

  const ReadBatch& b = reads.batch;
  eff_qual.assign(b.qual.begin(), b.qual.end());
  std::vector<IndelEvent> events(b.cigar.size(), IndelEvent{0, 0, 0, 0, 0, 0, {0, 0}});
  PileupJob job;
  job.reads = b.view();
  job.pairs = reads.pairs.data();
  job.n_pairs = static_cast<int32_t>(reads.pairs.size() / 2);
  job.min_bq = params.min_bq;
  job.eff_qual = eff_qual.data();
  job.n_bases = eff_qual.size();
  job.n_cigar_ops = b.cigar.size();
  job.events = events.data();
  PileupView view{beg, end, res.counts.data(), res.qual_sum.data(), res.ins.data(), res.del_start.data(),
                  res.mq2.data()};
  res.snv_ll.clear();
  if (ll_table) {
    res.snv_ll.assign(n * 12, 0);
    view.snv_ll = res.snv_ll.data();
    view.ll_table = ll_table;
    view.q_cap = q_cap;
  }
  if (backend == Backend::kCuda) {
    run_pileup_cuda(job, view);
  } else {
    run_pileup_cpu(job, view);
  }
  res.indels = gather_indels(b, events, ref_seq, ref_beg);
}

namespace {
void check_region(const BamReader& bam, const Reference& ref, const std::string& contig, int tid, int64_t beg,
                  int64_t end) {
  if (tid < 0) throw InputError(bam.path() + ": contig '" + contig + "' is not in the BAM header");
  const int64_t len = ref.length(contig);
  if (len < 0) throw InputError(ref.path() + ": contig '" + contig + "' is not in the reference");
  if (beg < 0 || end > len || beg >= end) {
    throw InputError("region " + contig + ":" + std::to_string(beg + 1) + "-" + std::to_string(end) +
                     " is outside the contig (length " + std::to_string(len) + ")");
  }
}

// Positions per window of compute_pileup_counts: counts and ins of a window (56 bytes a position)
// stay in a core's L2 cache while the reads stream through.
constexpr int64_t kCountsWindow = 8192;
// Positions per piece: reads are fetched, paired and counted piece by piece (one index query per
// shard), so that a piece's decoded reads are still in cache when they are counted.
constexpr int64_t kCountsPiece = 25000;

struct CountsScratch {
  PreparedReads reads;
  std::vector<uint8_t> eff_qual, keep;
  std::vector<uint32_t> counts, ins;
  std::vector<int32_t> list, carry;
};

struct StreamGuard {
  BamReader& bam;
  ~StreamGuard() { bam.stream_end(); }
};
}  // namespace

PileupResult compute_pileup(BamReader& bam, const Reference& ref, const std::string& contig, int64_t beg,
                            int64_t end, const PileupParams& params, Backend backend) {
  const int tid = bam.tid(contig);
  check_region(bam, ref, contig, tid, beg, end);
  PreparedReads reads = prepare_reads(bam, tid, beg, end, params);
  int64_t ref_end = end;
  for (int64_t e : reads.batch.end) ref_end = std::max(ref_end, e);
  const std::string ref_seq = ref.fetch(contig, beg, ref_end + 1);
  return pileup_reads(reads, contig, beg, end, ref_seq, beg, params, backend);
}

void compute_pileup_counts(BamReader& bam, const Reference& ref, const std::string& contig, int64_t beg,
                           int64_t end, const PileupParams& params, Backend backend,
                           const std::function<void(const PileupCountsWindow&)>& emit) {
  if (backend != Backend::kCpu) {  // one device pass over the shard, then the same text
    const PileupResult r = compute_pileup(bam, ref, contig, beg, end, params, backend);
    emit({r.beg, r.end, r.counts.data(), r.ins.data(), r.ref.data()});
    return;
  }
  const int tid = bam.tid(contig);
  check_region(bam, ref, contig, tid, beg, end);
  thread_local CountsScratch sc;
  std::string ref_seq = ref.fetch(contig, beg, end);
  ref_seq.resize(static_cast<size_t>(end - beg), 'N');
  ReadBatch& b = sc.reads.batch;
  // Without a depth cap, a piece's reads are the last piece's reads that reach into it plus the
  // next ones from the same index query: the reads fetch() would give for the piece, in the same
  // order, so the counts do not depend on where pieces end. With a depth cap every fetch reads
  // extra reads on both sides to complete its depth bins (prepare_reads_into), so the shard is
  // fetched in one piece, reading that margin once.
  const bool stream = params.max_depth <= 0;
  const int64_t piece = stream ? kCountsPiece : end - beg;
  StreamGuard guard{bam};
  if (stream) bam.stream_begin(tid, beg, end);
  const int64_t w_max = std::min<int64_t>(kCountsWindow, end - beg);
  sc.counts.resize(static_cast<size_t>(w_max) * 12);
  sc.ins.resize(static_cast<size_t>(w_max) * 2);
  for (int64_t p0 = beg; p0 < end; p0 += piece) {
    const int64_t p1 = std::min(end, p0 + piece);
    if (!stream) {
      prepare_reads_into(sc.reads, bam, tid, p0, p1, params);
    } else {
      if (p0 == beg) {
        b.clear();
      } else {
        sc.keep.resize(static_cast<size_t>(b.size()));
        for (int32_t i = 0; i < b.size(); ++i) sc.keep[i] = b.end[i] > p0 ? 1 : 0;
        b.compact(sc.keep);
      }
      bam.stream_next(p1, params.filter, b);
      sc.reads.pairs.clear();
      if (params.overlaps) sc.reads.pairs = overlapping_mate_pairs(b);
    }
    sc.eff_qual.assign(b.qual.begin(), b.qual.end());

    PileupJob job;
    job.reads = b.view();
    job.pairs = sc.reads.pairs.data();
    job.n_pairs = static_cast<int32_t>(sc.reads.pairs.size() / 2);
    job.min_bq = params.min_bq;
    job.eff_qual = sc.eff_qual.data();
    job.n_bases = sc.eff_qual.size();
    job.n_cigar_ops = b.cigar.size();
    job.events = nullptr;
    resolve_overlaps_cpu(job);

    sc.carry.clear();
    const int32_t n = b.size();
    int32_t next = 0;
    for (int64_t w0 = p0; w0 < p1; w0 += kCountsWindow) {
      const int64_t w1 = std::min(p1, w0 + kCountsWindow);
      const size_t m = static_cast<size_t>(w1 - w0);
      std::fill_n(sc.counts.data(), m * 12, 0u);
      std::fill_n(sc.ins.data(), m * 2, 0u);
      // Reads touching [w0, w1): those carried over from the last window (end > w0), then the
      // coordinate-sorted batch's reads starting before w1. A read adds only inside [pos, end).
      sc.list.swap(sc.carry);
      sc.carry.clear();
      for (; next < n && b.pos[next] < w1; ++next) {
        if (b.end[next] > w0) sc.list.push_back(next);
      }
      PileupView view{w0, w1, sc.counts.data(), nullptr, sc.ins.data(), nullptr, nullptr};
      pileup_read_list_cpu(job, sc.list.data(), static_cast<int32_t>(sc.list.size()), view);
      for (int32_t i : sc.list) {
        if (b.end[i] > w1) sc.carry.push_back(i);
      }
      sc.list.clear();
      emit({w0, w1, sc.counts.data(), sc.ins.data(), ref_seq.data() + (w0 - beg)});
    }
  }
}

}  // namespace gms
