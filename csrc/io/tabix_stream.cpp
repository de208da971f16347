#include "io/tabix_stream.hpp"

#include <htslib/hts.h>
#include <htslib/tbx.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <charconv>
#include <cstring>

#include "gmscall/errors.hpp"

namespace gms {

namespace {
constexpr int kTbiMinShift = 14;  // tabix's .tbi geometry (tbx_index with min_shift 0)
constexpr int kTbiLevels = 5;
struct Interval {
  std::string_view contig;
  int64_t beg = 0, end = 0;
};

int64_t parse_int(std::string_view s, bool& ok) {
  int64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  ok = r.ec == std::errc() && r.ptr != s.data();
  return v;
}

// A VCF line's interval as htslib's tbx_parse1 reads it (not exported by every htslib): POS - 1
// to POS - 1 + len(REF), or to INFO END when that is past POS.
Interval vcf_interval(std::string_view line) {
  std::string_view cols[8];
  int n = 0;
  size_t start = 0;
  while (n < 8) {
    const size_t tab = line.find('\t', start);
    cols[n++] = line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (n < 4) throw InputError("tabix index: a VCF line with fewer than 4 columns: " + std::string(line.substr(0, 80)));
  Interval iv;
  iv.contig = cols[0];
  bool ok = false;
  iv.beg = std::max<int64_t>(parse_int(cols[1], ok) - 1, 0);
  if (!ok) throw InputError("tabix index: a VCF line without POS: " + std::string(line.substr(0, 80)));
  iv.end = cols[3].empty() ? iv.beg + 1 : iv.beg + static_cast<int64_t>(cols[3].size());
  if (n == 8) {
    // strstr semantics of tbx_parse1: the first "END=", taken only at the start of INFO, else ";END=".
    const std::string_view info = cols[7];
    size_t at = info.find("END=");
    if (at == 0) {
      at = 4;
    } else if (at != std::string_view::npos) {
      at = info.find(";END=");
      if (at != std::string_view::npos) at += 5;
    }
    if (at != std::string_view::npos && at < info.size() && info[at] != '.') {
      size_t stop = at;
      while (stop < info.size() && info[stop] != ';') ++stop;
      const int64_t end = parse_int(info.substr(at, stop - at), ok);
      if (ok && end > iv.beg) iv.end = end;
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
void TabixStream::add_line(std::string_view line, uint64_t voffset_after) {
  if (!line.empty() && line[0] == tbx_conf_vcf.meta_char) {
    last_header_off_ = voffset_after;
    return;
  }
  if (!idx_) {
    idx_ = hts_idx_init(0, HTS_FMT_TBI, last_header_off_, kTbiMinShift, kTbiLevels);
    if (!idx_) throw std::runtime_error("tabix index: out of memory");
  }
  const Interval iv = vcf_interval(line);
  if (last_tid_ < 0 || iv.contig != names_[static_cast<size_t>(last_tid_)]) last_tid_ = tid_of(std::string(iv.contig));
  const int tid = last_tid_;
  if (hts_idx_push(idx_, tid, iv.beg, iv.end, voffset_after, 1) < 0)
    throw InputError("tabix index: records out of order at " + std::string(line.substr(0, 80)));
}

void TabixStream::add_block(std::string_view data, uint64_t block_addr, uint64_t next_addr) {
  size_t start = 0;
  while (start < data.size()) {
    const void* nl = std::memchr(data.data() + start, '\n', data.size() - start);
    if (!nl) break;
    const size_t i = static_cast<size_t>(static_cast<const char*>(nl) - data.data());
    const uint64_t after = i + 1 == data.size() ? next_addr << 16 : (block_addr << 16) | (i + 1);
    if (partial_.empty()) {
      add_line(data.substr(start, i - start), after);
    } else {  // a line that began in an earlier block
      partial_.append(data.substr(start, i - start));
      add_line(partial_, after);
      partial_.clear();
    }
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
  errno = 0;
  if (hts_idx_save_as(idx_, data_path.c_str(), index_path.c_str(), HTS_FMT_TBI) != 0)
    throw WriteError(errno ? errno : EIO, index_path);
}

}  // namespace gms
