#include "io/haplotag.hpp"

#include <htslib/sam.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <vector>

#include "gmscall/errors.hpp"

namespace gms {

uint64_t read_name_hash(const char* s) {
  uint64_t h = 1469598103934665603ULL;  // the reader's fnv1a64 (io/bam_reader.cpp)
  for (; *s; ++s) {
    h ^= static_cast<uint8_t>(*s);
    h *= 1099511628211ULL;
  }
  return h;
}

int64_t haplotag_bam(const std::string& in, const std::string& out, const FragmentTags& tags,
                     const std::string& program, int threads) {
  std::unique_ptr<htsFile, int (*)(htsFile*)> fi(sam_open(in.c_str(), "r"), hts_close);
  if (!fi) throw InputError(in + ": cannot open it");
  std::unique_ptr<sam_hdr_t, void (*)(sam_hdr_t*)> hdr(sam_hdr_read(fi.get()), sam_hdr_destroy);
  if (!hdr) throw InputError(in + ": cannot read its header");
  std::unique_ptr<sam_hdr_t, void (*)(sam_hdr_t*)> out_hdr(sam_hdr_dup(hdr.get()), sam_hdr_destroy);
  if (!out_hdr || sam_hdr_add_pg(out_hdr.get(), "gmscall-haplotag", "PN", "gmscall", "CL", program.c_str(),
                                 nullptr) < 0)
    throw WriteError(errno, out);
  int64_t tagged = 0;
  {
    std::unique_ptr<htsFile, int (*)(htsFile*)> fo(sam_open(out.c_str(), "wb"), hts_close);
    if (!fo) throw WriteError(errno, out);
    if (threads > 1) {
      hts_set_threads(fi.get(), threads);
      hts_set_threads(fo.get(), threads);
    }
    if (sam_hdr_write(fo.get(), out_hdr.get()) < 0) throw WriteError(errno, out);
    // the tags of each contig, by tid
    std::vector<const std::unordered_map<uint64_t, std::pair<int, int64_t>>*> by_tid(
        static_cast<size_t>(sam_hdr_nref(hdr.get())), nullptr);
    for (const auto& [contig, m] : tags) {
      const int tid = sam_hdr_name2tid(hdr.get(), contig.c_str());
      if (tid >= 0) by_tid[static_cast<size_t>(tid)] = &m;
    }
    std::unique_ptr<bam1_t, void (*)(bam1_t*)> b(bam_init1(), bam_destroy1);
    int r;
    while ((r = sam_read1(fi.get(), hdr.get(), b.get())) >= 0) {
      const int tid = b->core.tid;
      if (tid >= 0 && static_cast<size_t>(tid) < by_tid.size() && by_tid[static_cast<size_t>(tid)]) {
        const auto& m = *by_tid[static_cast<size_t>(tid)];
        auto it = m.find(read_name_hash(bam_get_qname(b.get())));
        if (it != m.end()) {
          if (bam_aux_update_int(b.get(), "HP", it->second.first) < 0 ||
              bam_aux_update_int(b.get(), "PS", it->second.second) < 0)
            throw WriteError(errno, out);
          ++tagged;
        }
      }
      if (sam_write1(fo.get(), out_hdr.get(), b.get()) < 0) throw WriteError(errno, out);
    }
    if (r < -1) throw InputError(in + ": a damaged record");
  }
  if (sam_index_build(out.c_str(), 0) < 0) throw WriteError(errno, out);
  return tagged;
}

}  // namespace gms
