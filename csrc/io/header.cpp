#include "io/header.hpp"

#include <htslib/sam.h>

#include <memory>

#include "gmscall/errors.hpp"

namespace gms {

std::string read_header_text(const std::string& path, const std::string& ref_path) {
  std::unique_ptr<htsFile, int (*)(htsFile*)> fp(sam_open(path.c_str(), "r"), hts_close);
  if (!fp) throw InputError(path + ": cannot open alignment file (missing, unreadable or not BAM/CRAM)");
  if (!ref_path.empty() && hts_get_format(fp.get())->format == cram) {
    hts_set_fai_filename(fp.get(), ref_path.c_str());
  }
  std::unique_ptr<sam_hdr_t, void (*)(sam_hdr_t*)> hdr(sam_hdr_read(fp.get()), sam_hdr_destroy);
  if (!hdr) throw InputError(path + ": cannot read the header (truncated or damaged file, or not BAM/CRAM)");
  const char* text = sam_hdr_str(hdr.get());
  return text ? std::string(text) : std::string();
}

}  // namespace gms
