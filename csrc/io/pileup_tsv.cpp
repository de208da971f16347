#include "io/pileup_tsv.hpp"

#include <charconv>
#include <cstring>

namespace gms {

std::string format_pileup_tsv(const PileupResult& r) {
  const int64_t n = r.end - r.beg;
  // Worst case per line: contig + 10 numbers of up to 10 digits + separators.
  const size_t max_line = r.contig.size() + 10 * 11 + 4;
  std::string s(static_cast<size_t>(n) * max_line, '\0');
  char* p = s.data();
  auto put = [&p](uint64_t v) {
    p = std::to_chars(p, p + 20, v).ptr;
  };
  for (int64_t x = 0; x < n; ++x) {
    const uint32_t* fwd = &r.counts[x * 12];
    const uint32_t* rev = fwd + 6;
    uint32_t c[6];
    uint64_t depth = 0;
    for (int a = 0; a < 6; ++a) {
      c[a] = fwd[a] + rev[a];
      depth += c[a];
    }
    std::memcpy(p, r.contig.data(), r.contig.size());
    p += r.contig.size();
    *p++ = '\t';
    put(static_cast<uint64_t>(r.beg + x + 1));
    *p++ = '\t';
    *p++ = r.ref[x];
    *p++ = '\t';
    put(depth);
    for (int a = 0; a < 6; ++a) {
      *p++ = '\t';
      put(c[a]);
    }
    *p++ = '\t';
    put(r.ins[x * 2] + r.ins[x * 2 + 1]);
    *p++ = '\n';
  }
  s.resize(static_cast<size_t>(p - s.data()));
  return s;
}

}  // namespace gms
