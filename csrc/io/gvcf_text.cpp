#include "io/gvcf_text.hpp"

#include <charconv>
#include <cstring>

namespace gms {
namespace {
void append_int(std::string& out, int64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}
}  // namespace

void append_block_line(const std::string& contig, const RefBlock& b, std::string& out) {
  out += contig;
  out += '\t';
  append_int(out, b.beg + 1);
  out += "\t.\t";
  out += b.ref;
  out += "\t<NON_REF>\t.\t.\tEND=";
  append_int(out, b.end);
  out += "\tGT:GQ:DP:MIN_DP:PL\t";
  out += b.ploidy == 2 ? "0/0" : (b.ploidy == 1 ? "0" : ".");
  out += ':';
  append_int(out, b.gq);
  out += ':';
  append_int(out, b.dp_sum / (b.end - b.beg));
  out += ':';
  append_int(out, b.min_dp);
  out += ':';
  if (b.n_pl() == 0) out += '.';
  for (int k = 0; k < b.n_pl(); ++k) {
    if (k) out += ',';
    append_int(out, b.pl[k]);
  }
}

BlockText block_text(const std::string& contig, const std::vector<RefBlock>& blocks,
                     const std::vector<int64_t>& record_pos, int64_t beg, int64_t end) {
  BlockText t;
  t.gaps.resize(record_pos.size() + 1);
  const int n = static_cast<int>(blocks.size());
  if (n && blocks.front().beg == beg) t.head = 0;
  if (n && blocks.back().end == end && n - 1 != t.head) t.tail = n - 1;
  size_t g = 0;
  for (int k = 0; k < n; ++k) {
    while (g < record_pos.size() && record_pos[g] < blocks[static_cast<size_t>(k)].beg) ++g;
    if (k == t.head || k == t.tail) continue;
    std::string& out = t.gaps[g];
    if (!out.empty()) out += '\n';
    append_block_line(contig, blocks[static_cast<size_t>(k)], out);
  }
  return t;
}

}  // namespace gms

namespace gms {
namespace {

// [0-9]{1,max_digits} at p (no leading-zero rule), its value; nullptr when none.
inline const char* digits(const char* p, const char* end, int max_digits, int64_t& value) {
  int64_t v = 0;
  int n = 0;
  while (p < end && *p >= '0' && *p <= '9') {
    if (++n > max_digits) return nullptr;
    v = v * 10 + (*p - '0');
    ++p;
  }
  if (n == 0) return nullptr;
  value = v;
  return p;
}

inline const char* literal(const char* p, const char* end, const char* text, size_t n) {
  if (static_cast<size_t>(end - p) < n || std::memcmp(p, text, n) != 0) return nullptr;
  return p + n;
}

// One line [p, eol) in the fast layout: its POS, END, REF and whether MIN_DP <= DP; false if not.
bool block_fields(const char* p, const char* eol, const std::string& chrom, int64_t& pos, int64_t& end, char& ref) {
  static const char kMid[] = "\t<NON_REF>\t.\t.\tEND=";
  static const char kFormat[] = "\tGT:GQ:DP:MIN_DP:PL\t";
  if (!(p = literal(p, eol, chrom.data(), chrom.size())) || p == eol || *p != '\t') return false;
  ++p;
  if (p == eol || *p == '0' || !(p = digits(p, eol, 10, pos)) || p == eol || *p != '\t') return false;
  const char* id = ++p;
  while (p < eol && *p != '\t' && *p != '\r' && *p != ' ') ++p;
  if (p == id || p == eol || *p != '\t') return false;
  ++p;
  if (p == eol || !(*p == 'A' || *p == 'C' || *p == 'G' || *p == 'T' || *p == 'N')) return false;
  ref = *p++;
  if (!(p = literal(p, eol, kMid, sizeof kMid - 1))) return false;
  if (p == eol || *p == '0' || !(p = digits(p, eol, 10, end))) return false;
  if (!(p = literal(p, eol, kFormat, sizeof kFormat - 1))) return false;
  int64_t v, dp, min_dp;
  int n_pl;
  if (const char* q = literal(p, eol, "0/0:", 4)) {
    p = q;
    n_pl = 3;
  } else if ((q = literal(p, eol, "0:", 2))) {
    p = q;
    n_pl = 2;
  } else {
    return false;
  }
  if (!(p = digits(p, eol, 9, v)) || p == eol || *p++ != ':') return false;       // GQ
  if (!(p = digits(p, eol, 9, dp)) || p == eol || *p++ != ':') return false;      // DP
  if (!(p = digits(p, eol, 9, min_dp)) || p == eol || *p++ != ':') return false;  // MIN_DP
  for (int k = 0; k < n_pl; ++k) {
    if (k && (p == eol || *p++ != ',')) return false;
    if (!(p = digits(p, eol, 9, v))) return false;
  }
  return p == eol && min_dp <= dp;
}

}  // namespace

BlockScan scan_blocks(const char* buf, int64_t size, int64_t start, const std::string& chrom, int64_t covered,
                      int64_t last_pos, int64_t chrom_len, const char* ref, int64_t ref_start, int64_t ref_size) {
  BlockScan s{start, 0, covered, last_pos};
  const char* const stop = buf + size;
  const char* p = buf + start;
  while (p < stop) {
    const char* eol = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(stop - p)));
    if (eol == nullptr) eol = stop;
    int64_t pos = 0, end = 0;
    char base = 0;
    if (!block_fields(p, eol, chrom, pos, end, base) || pos != s.covered + 1 || end < pos || end > chrom_len)
      break;
    if (ref != nullptr) {
      const int64_t at = pos - 1 - ref_start;
      if (at < 0 || at >= ref_size || ref[at] != base) break;  // off the window, or a mismatch: the caller
    }
    s.covered = end;
    s.last_pos = pos;
    ++s.lines;
    p = eol < stop ? eol + 1 : stop;
    s.stop = p - buf;
  }
  return s;
}

}  // namespace gms
