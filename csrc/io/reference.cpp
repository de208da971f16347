#include "io/reference.hpp"

#include <htslib/faidx.h>

#include <cstdlib>

#include "gmscall/errors.hpp"

namespace gms {

uint8_t base_to_allele(char c) {
  switch (c) {
    case 'A': case 'a': return 0;
    case 'C': case 'c': return 1;
    case 'G': case 'g': return 2;
    case 'T': case 't': return 3;
    default: return 4;
  }
}

Reference::Reference(const std::string& path) : path_(path) {
  // FAI_CREATE off: never write next to a user's reference behind their back.
  fai_ = fai_load3(path.c_str(), nullptr, nullptr, 0);
  if (!fai_) {
    throw InputError(path + ": cannot open reference FASTA or its index; index it with 'samtools faidx " +
                     path + "'");
  }
}

Reference::~Reference() {
  if (fai_) fai_destroy(fai_);
}

bool Reference::has(const std::string& contig) const { return faidx_has_seq(fai_, contig.c_str()) == 1; }

int64_t Reference::length(const std::string& contig) const {
  if (!has(contig)) return -1;
  return faidx_seq_len64(fai_, contig.c_str());
}

std::vector<ContigInfo> Reference::contigs() const {
  std::vector<ContigInfo> out;
  const int n = faidx_nseq(fai_);
  for (int k = 0; k < n; ++k) {
    const char* name = faidx_iseq(fai_, k);
    out.push_back({name, faidx_seq_len64(fai_, name)});
  }
  return out;
}

std::string Reference::fetch(const std::string& contig, int64_t beg, int64_t end) const {
  const int64_t len = length(contig);
  if (len < 0) throw InputError(path_ + ": contig '" + contig + "' is not in the reference");
  if (beg < 0) beg = 0;
  if (end > len) end = len;
  if (end <= beg) return std::string();
  hts_pos_t got = 0;
  char* s = faidx_fetch_seq64(fai_, contig.c_str(), beg, end - 1, &got);
  if (!s || got != end - beg) {
    std::free(s);
    throw InputError(path_ + ": cannot read " + contig + ":" + std::to_string(beg + 1) + "-" +
                     std::to_string(end) + " (damaged FASTA or index out of date)");
  }
  std::string out(s, static_cast<size_t>(got));
  std::free(s);
  static const char kUpper[5] = {'A', 'C', 'G', 'T', 'N'};
  for (char& c : out) c = kUpper[base_to_allele(c)];
  return out;
}

}  // namespace gms
