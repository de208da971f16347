#include "io/gvcf_text.hpp"

#include <charconv>

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
