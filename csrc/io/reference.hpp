// Reference FASTA access through htslib faidx (plain or bgzipped with .fai/.gzi).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/bam_reader.hpp"

struct faidx_t;

namespace gms {

class Reference {
 public:
  explicit Reference(const std::string& path);
  ~Reference();
  Reference(const Reference&) = delete;
  Reference& operator=(const Reference&) = delete;

  const std::string& path() const { return path_; }
  bool has(const std::string& contig) const;
  int64_t length(const std::string& contig) const;  // -1 when absent
  std::vector<ContigInfo> contigs() const;
  // Upper-case bases of [beg, end) clipped to the contig; IUPAC codes become N.
  std::string fetch(const std::string& contig, int64_t beg, int64_t end) const;

 private:
  std::string path_;
  faidx_t* fai_ = nullptr;
};

// ASCII base -> allele code (A0 C1 G2 T3, anything else N4).
uint8_t base_to_allele(char c);

}  // namespace gms
