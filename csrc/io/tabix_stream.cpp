#include "io/tabix_stream.hpp"

#include <htslib/hts.h>
#include <htslib/tbx.h>

#include <cstdlib>
#include <algorithm>
#include <cstring>

#include "gmscall/errors.hpp"

namespace gms {

namespace {
constexpr int kTbiMinShift = 14;  // tabix's .tbi geometry (tbx_index with min_shift 0)
constexpr int kTbiLevels = 5;
struct Interval {
  std::string contig;
  int64_t beg = 0, end = 0;
};

// A VCF line's interval as htslib's tbx_parse1 reads it (not exported by every htslib): POS - 1
// to POS - 1 + len(REF), or to INFO END when that is past POS.
Interval vcf_interval(const std::string& line) {
  std::string_view cols[8];
  size_t start = 0;
  int n = 0;
  for (size_t i = 0; i <= line.size() && n < 8; ++i) {
    if (i == line.size() || line[i] == '\t') {
      cols[n++] = std::string_view(line).substr(start, i - start);
      start = i + 1;
    }
  }
  if (n < 4) throw InputError("tabix index: a VCF line with fewer than 4 columns: " + line.substr(0, 80));
  Interval iv;
  iv.contig = std::string(cols[0]);
  char* stop = nullptr;
  const std::string pos(cols[1]);
  iv.beg = std::strtoll(pos.c_str(), &stop, 0) - 1;
  if (stop == pos.c_str()) throw InputError("tabix index: a VCF line without POS: " + line.substr(0, 80));
  iv.beg = std::max<int64_t>(iv.beg, 0);
  iv.end = std::max<int64_t>(iv.beg + 1, 1);
  if (!cols[3].empty()) iv.end = iv.beg + static_cast<int64_t>(cols[3].size());
  if (n == 8) {
    const std::string info(cols[7]);
    const char* s = std::strstr(info.c_str(), "END=");
    if (s == info.c_str()) {
      s += 4;
    } else if (s) {
      s = std::strstr(info.c_str(), ";END=");
      if (s) s += 5;
    }
    if (s && *s != '.') {
      const long long end = std::strtoll(s, nullptr, 0);
      if (end > iv.beg) iv.end = end;
    }
  }
  return iv;
}

}  // namespace

TabixStream::TabixStream() = default;

TabixStream::~TabixStream() {
  if (idx_) hts_idx_destroy(idx_);
}

int TabixStream::tid_of(const std::string& name) {
  auto [it, added] = tids_.emplace(name, static_cast<int>(names_.size()));
  if (added) names_.push_back(name);
  return it->second;
}

// As tbx_index: header lines move the index's start; each record is pushed with the virtual
// offset just after its newline (bgzf_getline moves to the next block when a line ends one).
void TabixStream::add_line(std::string& line, uint64_t voffset_after) {
  if (!line.empty() && line[0] == tbx_conf_vcf.meta_char) {
    last_header_off_ = voffset_after;
    return;
  }
  if (!idx_) {
    idx_ = hts_idx_init(0, HTS_FMT_TBI, last_header_off_, kTbiMinShift, kTbiLevels);
    if (!idx_) throw std::runtime_error("tabix index: out of memory");
  }
  const Interval iv = vcf_interval(line);
  const int tid = tid_of(iv.contig);
  if (hts_idx_push(idx_, tid, iv.beg, iv.end, voffset_after, 1) < 0)
    throw InputError("tabix index: records out of order at " + line.substr(0, 80));
}

void TabixStream::add_block(std::string_view data, uint64_t block_addr, uint64_t next_addr) {
  size_t start = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] != '\n') continue;
    partial_.append(data.substr(start, i - start));
    const uint64_t after = i + 1 == data.size() ? next_addr << 16 : (block_addr << 16) | (i + 1);
    add_line(partial_, after);
    partial_.clear();
    start = i + 1;
  }
  partial_.append(data.substr(start));
}

void TabixStream::finish(uint64_t eof_addr, const std::string& data_path, const std::string& index_path) {
  if (!partial_.empty()) throw InputError("tabix index: the text does not end with a newline");
  if (!idx_) idx_ = hts_idx_init(0, HTS_FMT_TBI, last_header_off_, kTbiMinShift, kTbiLevels);
  if (!idx_ || hts_idx_finish(idx_, eof_addr << 16) != 0) throw std::runtime_error("tabix index: cannot finish");
  // tbx_set_meta: the tbx_conf_t, the names' length, then the names NUL-terminated by tid.
  std::vector<uint8_t> meta(28);
  int32_t conf[7];
  std::memcpy(conf, &tbx_conf_vcf, 24);
  int32_t l_nm = 0;
  for (const std::string& n : names_) l_nm += static_cast<int32_t>(n.size() + 1);
  conf[6] = l_nm;
  std::memcpy(meta.data(), conf, 28);
  for (const std::string& n : names_) meta.insert(meta.end(), n.c_str(), n.c_str() + n.size() + 1);
  auto* copy = static_cast<uint8_t*>(std::malloc(meta.size()));
  if (!copy) throw std::runtime_error("tabix index: out of memory");
  std::memcpy(copy, meta.data(), meta.size());
  hts_idx_set_meta(idx_, static_cast<uint32_t>(meta.size()), copy, 0);  // the index owns `copy`
  if (hts_idx_save_as(idx_, data_path.c_str(), index_path.c_str(), HTS_FMT_TBI) != 0)
    throw std::runtime_error("cannot write the tabix index " + index_path);
}

}  // namespace gms
