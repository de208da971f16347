#include "io/pileup_tsv.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "io/bam_reader.hpp"
#include "io/reference.hpp"

namespace gms {
namespace {

// "\t<v>" for v < 1000, padded to 8 bytes so that a number is one fixed-size copy; kTabNum.len[v]
// says how many of the bytes count.
struct TabNumbers {
  char s[1000][8];
  uint8_t len[1000];
  constexpr TabNumbers() : s(), len() {
    for (int v = 0; v < 1000; ++v) {
      char d[3] = {};
      int n = 0;
      for (int x = v;; x /= 10) {
        d[n++] = static_cast<char>('0' + x % 10);
        if (x < 10) break;
      }
      s[v][0] = '\t';
      for (int k = 0; k < n; ++k) s[v][1 + k] = d[n - 1 - k];
      len[v] = static_cast<uint8_t>(1 + n);
    }
  }
};
constexpr TabNumbers kTabNum{};

// Writes '\t' and v; may write up to 8 bytes even when fewer count (the caller leaves slack).
inline char* put_tab_u64(char* p, uint64_t v) {
  if (v < 1000) {
    std::memcpy(p, kTabNum.s[v], 8);
    return p + kTabNum.len[v];
  }
  *p++ = '\t';
  return std::to_chars(p, p + 20, v).ptr;
}

// The line prefix "contig\t<pos>\t" for consecutive positions: the decimal position is incremented
// in place instead of being converted on every line.
class LinePrefix {
 public:
  LinePrefix(const std::string& contig, uint64_t pos1) {
    std::memcpy(buf_, contig.data(), contig.size());
    head_ = contig.size();
    buf_[head_] = '\t';
    char digits[24];
    char* e = std::to_chars(digits, digits + sizeof(digits), pos1).ptr;
    ndig_ = static_cast<size_t>(e - digits);
    std::memcpy(buf_ + head_ + 1, digits, ndig_);
    buf_[head_ + 1 + ndig_] = '\t';
  }
  size_t size() const { return head_ + ndig_ + 2; }
  const char* data() const { return buf_; }
  void increment() {
    char* first = buf_ + head_ + 1;
    for (char* d = first + ndig_ - 1; d >= first; --d) {
      if (*d != '9') {
        ++*d;
        return;
      }
      *d = '0';
    }
    // 99..9 -> 100..0: one digit more
    first[0] = '1';
    first[ndig_] = '0';
    ++ndig_;
    first[ndig_] = '\t';
  }

 private:
  static constexpr size_t kMaxContig = 4096;
  char buf_[kMaxContig + 40] = {};  // >= 32 bytes beyond any short prefix, for fixed-size copies
  size_t head_ = 0, ndig_ = 0;

 public:
  static bool fits(const std::string& contig) { return contig.size() <= kMaxContig; }
};

}  // namespace

char* TextBuffer::reserve_tail(size_t n) {
  if (cap_ - size_ < n) {
    const size_t cap = std::max(size_ + n, cap_ + cap_ / 2);
    std::unique_ptr<char[]> b(new char[cap]);  // default-initialised: not zero-filled
    if (size_) std::memcpy(b.get(), buf_.get(), size_);
    buf_ = std::move(b);
    cap_ = cap;
  }
  return buf_.get() + size_;
}

void append_pileup_tsv(const std::string& contig, const PileupCountsWindow& w, TextBuffer& out) {
  const int64_t n = w.end - w.beg;
  if (n <= 0) return;
  // Worst case per line: contig + 10 numbers of up to 20 digits + separators; plus slack for the
  // fixed-size copies that may write past the last line.
  constexpr size_t kSlack = 64;
  const size_t max_line = contig.size() + 10 * 21 + 4;
  char* p = out.reserve_tail(static_cast<size_t>(n) * max_line + kSlack);
  const bool fast_prefix = LinePrefix::fits(contig);
  LinePrefix prefix(fast_prefix ? contig : std::string(), static_cast<uint64_t>(w.beg + 1));
  for (int64_t x = 0; x < n; ++x) {
    const uint32_t* fwd = &w.counts[x * 12];
    const uint32_t* rev = fwd + 6;
    uint32_t c[6];
    uint64_t depth = 0;
    for (int a = 0; a < 6; ++a) {
      c[a] = fwd[a] + rev[a];
      depth += c[a];
    }
    if (fast_prefix) {
      const size_t len = prefix.size();
      if (len <= 32) {
        std::memcpy(p, prefix.data(), 32);
      } else {
        std::memcpy(p, prefix.data(), len);
      }
      p += len;
      prefix.increment();
    } else {
      std::memcpy(p, contig.data(), contig.size());
      p += contig.size();
      *p++ = '\t';
      p = std::to_chars(p, p + 20, static_cast<uint64_t>(w.beg + x + 1)).ptr;
      *p++ = '\t';
    }
    *p++ = w.ref[x];
    p = put_tab_u64(p, depth);
    for (int a = 0; a < 6; ++a) p = put_tab_u64(p, c[a]);
    p = put_tab_u64(p, static_cast<uint32_t>(w.ins[x * 2] + w.ins[x * 2 + 1]));
    *p++ = '\n';
  }
  out.commit(p);
}

void write_pileup_tsv(BamReader& bam, const Reference& ref, const std::string& contig, int64_t beg, int64_t end,
                      const PileupParams& params, Backend backend, TextBuffer& out) {
  // Room for typical lines up front (a buffer grown step by step touches ~3x its final size).
  if (end > beg) out.reserve_tail(static_cast<size_t>(end - beg) * (contig.size() + 48));
  compute_pileup_counts(bam, ref, contig, beg, end, params, backend,
                        [&](const PileupCountsWindow& w) { append_pileup_tsv(contig, w, out); });
}

}  // namespace gms
