// Counts for the indel error model: reads with and without a whole-unit indel at reference
// tandem repeats, per read group, period and length (see gmscall/error_model.hpp).
#include "gmscall/error_model.hpp"

#include <htslib/hts.h>
#include <htslib/sam.h>

#include <algorithm>
#include <array>
#include <map>
#include <cstddef>
#include <memory>

#include "gmscall/common.hpp"
#include "gmscall/errors.hpp"
#include "io/reference.hpp"

namespace gms {

namespace {

struct Locus {
  int64_t beg, end;  // the tract's whole units, 0-based half-open
  int period, units;
};


// Tandem-repeat tracts of s (>= 2 whole units of a primitive unit of period 1-8), longest first
// where they overlap; then every 16th base outside them whose neighbours differ from it (a
// homopolymer of one base, the model's P1 length 1). Loci touching an N or the ends are left out.
std::vector<Locus> find_loci(const std::string& s, int64_t off) {
  const int64_t n = static_cast<int64_t>(s.size());
  std::vector<Locus> cand;
  for (int p = 1; p <= kStrMaxPeriod; ++p) {
    int64_t j = 0;
    while (j + p < n) {
      int64_t run = 0;
      while (j + p + run < n && s[j + run] == s[j + p + run] && s[j + run] != 'N') ++run;
      if (run >= p) {
        const int64_t tract = run + p;
        const int units = static_cast<int>(tract / p);
        if (j >= 3 && j + tract + 3 <= n && primitive_unit(s, j, p)) cand.push_back({j, j + tract, p, units});
        j += run + 1;
      } else {
        ++j;
      }
    }
  }
  std::stable_sort(cand.begin(), cand.end(), [](const Locus& a, const Locus& b) {
    return a.end - a.beg != b.end - b.beg ? a.end - a.beg > b.end - b.beg : a.period < b.period;
  });
  std::vector<uint8_t> taken(static_cast<size_t>(n), 0);
  std::vector<Locus> out;
  for (const Locus& c : cand) {
    bool free = true;
    for (int64_t t = c.beg; t < c.end && free; ++t) free = !taken[static_cast<size_t>(t)];
    if (!free) continue;
    for (int64_t t = c.beg; t < c.end; ++t) taken[static_cast<size_t>(t)] = 1;
    out.push_back({off + c.beg, off + c.beg + static_cast<int64_t>(c.units) * c.period, c.period, c.units});
  }
  for (int64_t j = 3; j + 3 < n; ++j) {
    if ((off + j) % 16 || taken[static_cast<size_t>(j)] || s[j] == 'N') continue;
    if (s[j] != s[j - 1] && s[j] != s[j + 1]) out.push_back({off + j, off + j + 1, 1, 1});
  }
  std::sort(out.begin(), out.end(), [](const Locus& a, const Locus& b) { return a.beg < b.beg; });
  return out;
}

struct Indel {
  int64_t at;  // insertion: before this reference base; deletion: first deleted base
  int32_t len;  // > 0 insertion, < 0 deletion
};

constexpr int kAlleles = 7;        // signed units -3..3 at a locus
// A locus where one indel allele is on more than this share of the reads is a real allele (a het
// gives ~1/2), not errors: left out. 0.3 is where a het's binomial likelihood overtakes that of a
// 15 % error (stutter of the longest tracts, split between losses and gains), as in DRAGstr.
constexpr double kRealAlleleFraction = 0.3;

struct HtsCloser {
  void operator()(htsFile* f) const { if (f) sam_close(f); }
  void operator()(sam_hdr_t* h) const { if (h) sam_hdr_destroy(h); }
  void operator()(hts_idx_t* i) const { if (i) hts_idx_destroy(i); }
  void operator()(bam1_t* b) const { if (b) bam_destroy1(b); }
  void operator()(hts_itr_t* it) const { if (it) hts_itr_destroy(it); }
};

std::string tag_of(sam_hdr_t* hdr, int k, const char* key) {
  kstring_t v = KS_INITIALIZE;
  std::string out;
  if (sam_hdr_find_tag_pos(hdr, "RG", k, key, &v) == 0) out.assign(v.s, v.l);
  ks_free(&v);
  return out;
}

}  // namespace

RepeatIndelCounts count_repeat_indels(const std::string& bam, const std::string& ref_path,
                                      const std::vector<std::tuple<std::string, int64_t, int64_t>>& chunks,
                                      int min_mapq, int hts_threads) {
  std::unique_ptr<htsFile, HtsCloser> fp(sam_open(bam.c_str(), "r"));
  if (!fp) throw InputError(bam + ": cannot open");
  if (!ref_path.empty()) hts_set_fai_filename(fp.get(), ref_path.c_str());
  if (hts_threads > 0) hts_set_threads(fp.get(), hts_threads);
  std::unique_ptr<sam_hdr_t, HtsCloser> hdr(sam_hdr_read(fp.get()));
  if (!hdr) throw InputError(bam + ": cannot read the header");
  std::unique_ptr<hts_idx_t, HtsCloser> idx(sam_index_load(fp.get(), bam.c_str()));
  if (!idx) throw InputError(bam + ": no index found; create one with 'samtools index " + bam + "'");
  Reference ref(ref_path);

  RepeatIndelCounts out;
  std::map<std::string, int> rg_index;
  const int n_rg_lines = sam_hdr_count_lines(hdr.get(), "RG");
  for (int k = 0; k < n_rg_lines; ++k) {
    const std::string id = tag_of(hdr.get(), k, "ID");
    if (id.empty() || rg_index.count(id)) continue;
    rg_index[id] = static_cast<int>(out.read_groups.size());
    out.read_groups.push_back(id);
    out.samples.push_back(tag_of(hdr.get(), k, "SM"));
    out.platforms.push_back(tag_of(hdr.get(), k, "PL"));
  }
  // Reads without a known read group: one more group, named "" (the file's sample if it has one).
  const int fallback = static_cast<int>(out.read_groups.size());
  const int n_groups = fallback + 1;
  bool fallback_used = false;
  auto group_of = [&](bam1_t* b) {
    if (fallback == 1) return 0;
    const uint8_t* tag = bam_aux_get(b, "RG");
    const char* id = tag ? bam_aux2Z(tag) : nullptr;
    if (id) {
      const auto it = rg_index.find(id);
      if (it != rg_index.end()) return it->second;
    }
    fallback_used = true;
    return fallback;
  };
  std::vector<int64_t> indel(static_cast<size_t>(n_groups) * kStrTableSize, 0);
  std::vector<int64_t> total(indel.size(), 0), loci_n(indel.size(), 0), multi(indel.size(), 0), loss(indel.size(), 0),
      variant(indel.size(), 0);
  std::unique_ptr<bam1_t, HtsCloser> b(bam_init1());
  std::vector<Indel> indels;
  for (const auto& [contig, cbeg, cend] : chunks) {
    const int tid = sam_hdr_name2tid(hdr.get(), contig.c_str());
    const int64_t clen = ref.length(contig);
    if (tid < 0 || clen < 0) continue;
    const int64_t beg = std::max<int64_t>(0, cbeg), end = std::min<int64_t>(clen, cend);
    if (beg >= end) continue;
    const std::vector<Locus> loci = find_loci(ref.fetch(contig, beg, end), beg);
    if (loci.empty()) continue;
    // Per locus: per read group (indel reads, reads, those off by 2+ units, those that lost units),
    // and the reads of each signed unit count.
    std::vector<std::array<int32_t, 4>> per_rg(loci.size() * static_cast<size_t>(n_groups), {0, 0, 0, 0});
    std::vector<std::array<int32_t, kAlleles + 1>> alleles(loci.size());  // [kAlleles]: longer
    for (auto& a : alleles) a.fill(0);
    std::unique_ptr<hts_itr_t, HtsCloser> itr(sam_itr_queryi(idx.get(), tid, beg, end));
    if (!itr) throw InputError(bam + ": index query failed for " + contig);
    size_t first = 0;
    int ret;
    while ((ret = sam_itr_next(fp.get(), itr.get(), b.get())) >= 0) {
      const bam1_core_t& c = b->core;
      if (c.flag & (BAM_FUNMAP | BAM_FSECONDARY | BAM_FSUPPLEMENTARY | BAM_FDUP | BAM_FQCFAIL)) continue;
      if (c.qual < min_mapq || c.qual == 255 || c.n_cigar == 0) continue;
      const int64_t pos = c.pos;
      while (first < loci.size() && loci[first].beg < pos + 2) ++first;
      if (first == loci.size()) break;
      const int64_t rend = bam_endpos(b.get());
      if (loci[first].end + 2 > rend) continue;
      // The read's indels that can touch a locus of the chunk (loci lie 3 bases or more inside
      // it): a long read's CIGAR is walked over the chunk only, and each locus looks at the indels
      // from the first that can reach it (sorted by position; the longest deletion bounds the reach).
      indels.clear();
      int32_t longest_del = 0;
      const uint32_t* cig = bam_get_cigar(b.get());
      int64_t rp = pos;
      for (uint32_t k = 0; k < c.n_cigar && rp <= end + 2; ++k) {
        const uint32_t op = bam_cigar_op(cig[k]), len = bam_cigar_oplen(cig[k]);
        if (op == BAM_CINS && rp >= beg - 2) indels.push_back({rp, static_cast<int32_t>(len)});
        if (op == BAM_CDEL && rp + static_cast<int64_t>(len) >= beg - 2) {
          indels.push_back({rp, -static_cast<int32_t>(len)});
          longest_del = std::max(longest_del, static_cast<int32_t>(len));
        }
        if (bam_cigar_type(op) & 2) rp += len;
      }
      const int rg = group_of(b.get());
      for (size_t k = first; k < loci.size() && loci[k].end + 2 <= rend; ++k) {
        const Locus& l = loci[k];
        int units = 0;
        bool other = false;
        const auto from = std::lower_bound(indels.begin(), indels.end(), l.beg - 2 - longest_del,
                                           [](const Indel& d, int64_t x) { return d.at < x; });
        for (auto it = from; it != indels.end() && it->at <= l.end + 2; ++it) {
          const Indel& d = *it;
          const int64_t d_end = d.len > 0 ? d.at : d.at - d.len;
          if (d_end < l.beg - 2) continue;
          const bool inside = d.len > 0 ? (d.at >= l.beg && d.at <= l.end) : (d.at >= l.beg && d_end <= l.end);
          const int32_t len = d.len > 0 ? d.len : -d.len;
          if (!inside || len % l.period || units != 0) {
            other = true;
            break;
          }
          units = (d.len > 0 ? 1 : -1) * static_cast<int>(len / l.period);
        }
        if (other) continue;
        auto& cell = per_rg[k * static_cast<size_t>(n_groups) + static_cast<size_t>(rg)];
        cell[1] += 1;
        if (units != 0) {
          cell[0] += 1;
          cell[2] += units >= 2 || units <= -2;
          cell[3] += units < 0;
          const int a = units + 3;
          alleles[k][a >= 0 && a < kAlleles ? a : kAlleles] += 1;
        }
      }
    }
    if (ret < -1) throw InputError(bam + ": damaged data while reading " + contig + " (truncated file?)");
    for (size_t k = 0; k < loci.size(); ++k) {
      const std::array<int32_t, 4>* cells = per_rg.data() + k * static_cast<size_t>(n_groups);
      int n = 0, top = 0;
      for (int g = 0; g < n_groups; ++g) n += cells[g][1];
      if (n == 0) continue;
      ++out.loci_seen;
      for (int a = 0; a <= kAlleles; ++a) top = std::max(top, alleles[k][a]);
      const size_t at = static_cast<size_t>(str_index(loci[k].period, loci[k].units));
      if (top >= 2 && top > kRealAlleleFraction * n) {
        ++out.loci_skipped;  // a real indel allele here, not errors
        for (int g = 0; g < n_groups; ++g)
          if (cells[g][1] > 0) variant[static_cast<size_t>(g) * kStrTableSize + at] += 1;
        continue;
      }
      for (int g = 0; g < n_groups; ++g) {
        if (cells[g][1] == 0) continue;
        const size_t o = static_cast<size_t>(g) * kStrTableSize + at;
        indel[o] += cells[g][0];
        total[o] += cells[g][1];
        multi[o] += cells[g][2];
        loss[o] += cells[g][3];
        loci_n[o] += 1;
      }
    }
  }
  const int kept = fallback_used ? n_groups : fallback;
  if (fallback_used) {
    out.read_groups.emplace_back();
    out.samples.emplace_back(out.samples.size() == 1 ? out.samples[0] : std::string());
    out.platforms.emplace_back(out.platforms.size() == 1 ? out.platforms[0] : std::string());
  }
  const size_t used = static_cast<size_t>(kept) * kStrTableSize;
  out.indel.assign(indel.begin(), indel.begin() + static_cast<std::ptrdiff_t>(used));
  out.total.assign(total.begin(), total.begin() + static_cast<std::ptrdiff_t>(used));
  out.loci.assign(loci_n.begin(), loci_n.begin() + static_cast<std::ptrdiff_t>(used));
  out.multi.assign(multi.begin(), multi.begin() + static_cast<std::ptrdiff_t>(used));
  out.loss.assign(loss.begin(), loss.begin() + static_cast<std::ptrdiff_t>(used));
  out.variant.assign(variant.begin(), variant.begin() + static_cast<std::ptrdiff_t>(used));
  return out;
}

bool primitive_unit(const std::string& s, int64_t j, int p) {
  for (int q = 1; q < p; ++q) {
    if (p % q) continue;
    bool rep = true;
    for (int t = q; t < p && rep; ++t) rep = s[static_cast<size_t>(j + t)] == s[static_cast<size_t>(j + t - q)];
    if (rep) return false;
  }
  return true;
}

}  // namespace gms
