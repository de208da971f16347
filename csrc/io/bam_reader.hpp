// htslib-backed BAM/CRAM reader: indexed fetch, BGZF threads, read filters, decode to ReadBatch.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gmscall/params.hpp"
#include "gmscall/reads.hpp"

struct htsFile;
struct sam_hdr_t;
struct hts_idx_t;
struct hts_itr_t;
struct bam1_t;

namespace gms {

struct ContigInfo {
  std::string name;
  int64_t length;
};

class BamReader {
 public:
  // `ref_path` is needed for CRAM (may be empty for BAM); `threads` are htslib decompression threads.
  BamReader(const std::string& path, const std::string& ref_path, int threads);
  ~BamReader();
  BamReader(const BamReader&) = delete;
  BamReader& operator=(const BamReader&) = delete;

  const std::string& path() const { return path_; }
  std::vector<ContigInfo> contigs() const;
  int tid(const std::string& contig) const;  // -1 when the header lacks it
  // SM tags of the @RG lines, in header order, without repeats. Each read's ReadBatch::sample is
  // the index of its read group's SM in this list (0 when the file has at most one sample).
  const std::vector<std::string>& samples() const { return samples_; }

  // Appends the reads overlapping [beg, end) of `tid` that pass `filter`, in file order.
  // Returns the number of records read (before filters).
  int64_t fetch(int tid, int64_t beg, int64_t end, const ReadFilter& filter, ReadBatch& out);

  // Sequential fetch of [beg, end) in consecutive pieces from one index query: after
  // stream_begin(tid, beg, end), each stream_next(upto, ...) appends the reads that fetch(tid, beg,
  // end, ...) would give whose start lies before `upto` and after the last call's `upto`, in file
  // order (a record read past `upto` is held for the next call). Returns the records read.
  void stream_begin(int tid, int64_t beg, int64_t end);
  int64_t stream_next(int64_t upto, const ReadFilter& filter, ReadBatch& out);
  void stream_end();

 private:
  // Filters, checks and decodes `b` into `out` (the body of fetch). `last_pos` enforces sorting.
  void take(const bam1_t* b, int tid, int64_t beg, int64_t end, const ReadFilter& filter, int64_t& last_pos,
            ReadBatch& out);

  void index_samples();
  // The read's sample index from its RG tag (files with several samples only).
  uint16_t sample_of(const bam1_t* b) const;

  std::string path_;
  std::vector<std::string> samples_;
  std::unordered_map<std::string, uint16_t> rg_sample_;  // read-group ID -> sample index
  htsFile* fp_ = nullptr;
  sam_hdr_t* hdr_ = nullptr;
  hts_idx_t* idx_ = nullptr;
  // stream state
  hts_itr_t* s_itr_ = nullptr;
  bam1_t* s_rec_ = nullptr;
  bool s_pending_ = false;
  int s_tid_ = -1;
  int64_t s_beg_ = 0, s_end_ = 0, s_last_pos_ = -1;
};

}  // namespace gms
