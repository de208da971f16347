// gVCF reference blocks: every position of a shard that no variant record covers, grouped into
// runs of equal GQ band, depth class and ploidy.
#include <algorithm>
#include <cmath>

#include "core/calling.hpp"
#include "io/reference.hpp"
#include "kernels/genotype.hpp"
#include "kernels/refconf.hpp"

namespace gms::calling {

namespace {

// Blocks are not split by every change of depth: only when it crosses one of these bounds.
constexpr int kDepthBounds[] = {1, 5, 10, 20, 50, 100, 200, 500, 1000};

int depth_class(int dp) {
  int k = 0;
  for (int b : kDepthBounds) k += dp >= b;
  return k;
}

int gq_band(int gq, const std::vector<int>& bands) {
  int k = 0;
  for (int b : bands) k += gq >= b;
  return k;
}

}  // namespace

void reference_blocks(const PileupResult& pu, const std::vector<CallRecord>& records,
                      const std::vector<uint8_t>& explained, int64_t beg, int64_t end, const Cohort& cohort,
                      const CallParams& p, std::vector<RefBlock>& out) {
  std::vector<uint8_t> in_record(static_cast<size_t>(end - beg), 0);
  for (const CallRecord& r : records) {
    const int64_t s = std::max(beg, r.pos), e = std::min(end, r.pos + static_cast<int64_t>(r.ref.size()));
    for (int64_t x = s; x < e; ++x) in_record[static_cast<size_t>(x - beg)] = 1;
  }
  const double ll_to_log10 = 1.0 / (kLlScale * std::log(10.0));
  RefBlock cur{};
  bool open = false;
  for (int64_t x = beg; x < end; ++x) {
    if (in_record[static_cast<size_t>(x - beg)]) {
      if (open) out.push_back(cur);
      open = false;
      continue;
    }
    const int64_t xi = x - pu.beg;
    const int ploidy = cohort.ploidy_at(0, x);
    const int dp = static_cast<int>(depth_at(pu, xi));
    const char rc = pu.ref[static_cast<size_t>(xi)];
    RefConfidence rc_conf{0, {0, 0, 0}};
    if (ploidy > 0 && rc != 'N' && dp > 0 && explained[static_cast<size_t>(x - beg)]) {
      long long folded[12];
      fold_to_reference(&pu.snv_ll[xi * 12], base_to_allele(rc), folded);
      rc_conf = reference_confidence(folded, base_to_allele(rc), static_cast<unsigned>(dp), 0, ploidy, ll_to_log10);
    } else if (ploidy > 0 && rc != 'N' && dp > 0) {
      // Reads with an indel anchored here, and reads whose alignment deletes this very base.
      const unsigned indels = pu.ins[xi * 2] + pu.ins[xi * 2 + 1] + pu.del_start[xi * 2] + pu.del_start[xi * 2 + 1] +
                              sum_counts(pu, xi, kDel);
      rc_conf = reference_confidence(&pu.snv_ll[xi * 12], base_to_allele(rc), static_cast<unsigned>(dp), indels,
                                     ploidy, ll_to_log10);
    }
    const int dclass = p.gvcf_depth_classes ? depth_class(dp) : 0;
    const int key = (gq_band(rc_conf.gq, p.gq_bands) * 16 + dclass) * 4 + ploidy;
    if (open && key == cur.key && cur.end == x) {
      cur.end = x + 1;
      cur.min_dp = std::min(cur.min_dp, dp);
      cur.dp_sum += dp;
      if (rc_conf.gq < cur.gq) {
        cur.gq = rc_conf.gq;
        std::copy(rc_conf.pl, rc_conf.pl + 3, cur.pl);
      }
      continue;
    }
    if (open) out.push_back(cur);
    cur = RefBlock{x, x + 1, rc_conf.gq, dp, dp, ploidy, key, rc, {rc_conf.pl[0], rc_conf.pl[1], rc_conf.pl[2]}};
    open = true;
  }
  if (open) out.push_back(cur);
}

std::vector<uint8_t> haplotype_explained(const std::vector<WindowWork>& work, int64_t beg, int64_t end) {
  std::vector<uint8_t> out(static_cast<size_t>(end - beg), 0);
  auto mark = [&](int64_t s, int64_t e, uint8_t v) {
    for (int64_t x = std::max(s, beg); x < std::min(e, end); ++x) out[static_cast<size_t>(x - beg)] = v;
  };
  for (const WindowWork& w : work) {
    int64_t span_beg = INT64_MAX, span_end = INT64_MIN;
    for (const Candidate& a : w.win->alleles) {
      span_beg = std::min(span_beg, a.pos);
      span_end = std::max(span_end, std::max(a.tract_end, a.ref_end()) + 1);
    }
    mark(span_beg, span_end, 1);
  }
  for (const WindowWork& w : work) {  // a haplotype's allele changes its REF span (anchor included)
    uint64_t carried = 0;
    for (size_t h = 0; h < w.first_extra; ++h) carried |= w.haps[h];  // a gVCF's extras: not the sample's
    for (size_t k = 0; k < w.win->alleles.size(); ++k) {
      const Candidate& a = w.win->alleles[k];
      if ((carried >> k) & 1) mark(a.pos, a.ref_end(), 0);
    }
  }
  return out;
}

}  // namespace gms::calling
