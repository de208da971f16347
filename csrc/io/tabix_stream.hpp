// A tabix (.tbi) index built while the BGZF output is written, block by block: the bytes
// htslib's tbx_index_build gives, without reading the finished file back (a genome's gVCF is
// gigabytes; the second pass was a serial tail on every run).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct hts_idx_t;

namespace gms {

class TabixStream {
 public:
  TabixStream();
  ~TabixStream();
  TabixStream(const TabixStream&) = delete;
  TabixStream& operator=(const TabixStream&) = delete;

  // The uncompressed text of the BGZF block at file offset `block_addr`, the next block starting
  // at `next_addr`. Lines may span blocks; blocks must come in file order.
  void add_block(std::string_view data, uint64_t block_addr, uint64_t next_addr);
  // Ends the index at the EOF block's offset and writes it to `index_path`.
  void finish(uint64_t eof_addr, const std::string& data_path, const std::string& index_path);

 private:
  void add_line(std::string_view line, uint64_t voffset_after);
  int tid_of(const std::string& name);

  hts_idx_t* idx_ = nullptr;
  uint64_t last_header_off_ = 0;
  std::string partial_;
  int last_tid_ = -1;
  std::unordered_map<std::string, int> tids_;
  std::vector<std::string> names_;  // by tid: the order contigs first appear in
};

}  // namespace gms
