// htslib-backed BAM/CRAM reader: indexed fetch, BGZF threads, read filters, decode to ReadBatch.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "gmscall/params.hpp"
#include "gmscall/reads.hpp"

struct htsFile;
struct sam_hdr_t;
struct hts_idx_t;

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
  // SM tags of the @RG lines, in header order, without repeats.
  std::vector<std::string> samples() const;

  // Appends the reads overlapping [beg, end) of `tid` that pass `filter`, in file order.
  // Returns the number of records read (before filters).
  int64_t fetch(int tid, int64_t beg, int64_t end, const ReadFilter& filter, ReadBatch& out);

 private:
  std::string path_;
  htsFile* fp_ = nullptr;
  sam_hdr_t* hdr_ = nullptr;
  hts_idx_t* idx_ = nullptr;
};

}  // namespace gms
