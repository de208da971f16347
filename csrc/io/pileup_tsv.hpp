#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "gmscall/backend.hpp"
#include "gmscall/params.hpp"
#include "gmscall/pileup.hpp"

namespace gms {

class BamReader;
class Reference;

// A growable byte buffer that is never zero-filled and keeps its storage across clear(), so a
// thread that formats shard after shard into it touches fresh pages only while it grows.
class TextBuffer {
 public:
  const char* data() const { return buf_.get(); }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }
  // Room for `n` more bytes at the end; write there, then commit() what was written.
  char* reserve_tail(size_t n);
  void commit(char* new_end) { size_ = static_cast<size_t>(new_end - buf_.get()); }

 private:
  std::unique_ptr<char[]> buf_;
  size_t size_ = 0, cap_ = 0;
};

// `gmscall pileup` text of `w` (positions of `contig`) appended to `out`: one line a position,
// chrom, pos (1-based), ref, depth, A, C, G, T, N, del, ins (both strands summed).
void append_pileup_tsv(const std::string& contig, const PileupCountsWindow& w, TextBuffer& out);

// Appends the text of [beg, end) of `contig` to `out`, computing only what it prints
// (compute_pileup_counts).
void write_pileup_tsv(BamReader& bam, const Reference& ref, const std::string& contig, int64_t beg, int64_t end,
                      const PileupParams& params, Backend backend, TextBuffer& out);

}  // namespace gms
