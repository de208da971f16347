// Banded pair-HMM: P(read | haplotype), read global, haplotype local, one job at a time.
// Only + and * on doubles (no transcendental calls), so CPU and GPU give the same bits when both
// are built without fused multiply-add.
#pragma once
#include "gmscall/common.hpp"

namespace gms {

constexpr int kMaxBand = 64;  // half-width; the band has 2 * band + 1 cells per read base

struct PairHmmJob {
  uint32_t read_off;  // into PairHmmInputs::read_bases / read_quals
  uint32_t read_len;
  uint32_t hap_off;   // into PairHmmInputs::hap_bases / hap_gap_open
  uint32_t hap_len;
  int32_t diag;       // haplotype index expected for the read's first base
  int32_t band;       // half-width, <= kMaxBand
};

// Tables built on the host: match/mismatch emission per quality, transitions per gap-open code.
struct PairHmmTables {
  double match[128];     // 1 - e(q)
  double mismatch[128];  // e(q) / 3
  double gap_open[64];   // per gap-open Phred code
  double gap_ext;        // continuation probability
  double init;           // scaling constant that keeps long reads away from underflow
};

struct PairHmmInputs {
  const uint8_t* read_bases;   // allele codes 0..4
  const uint8_t* read_quals;   // < 128
  const uint8_t* hap_bases;    // allele codes 0..4
  const uint8_t* hap_gap_open; // gap-open Phred code (< 64) at each haplotype position
};

GMS_HD double emission(const PairHmmTables& t, uint8_t r, uint8_t h, uint8_t q) {
  if (r == 4 || h == 4) return 0.25;  // N carries no information
  return r == h ? t.match[q] : t.mismatch[q];
}

// Returns the scaled likelihood (t.init * P(read | hap)); the host takes log10 and removes init.
GMS_HD double pairhmm_job(const PairHmmInputs& in, const PairHmmTables& t, const PairHmmJob& job) {
  double m_prev[2 * kMaxBand + 3], i_prev[2 * kMaxBand + 3], d_prev[2 * kMaxBand + 3];
  double m_cur[2 * kMaxBand + 3], i_cur[2 * kMaxBand + 3], d_cur[2 * kMaxBand + 3];
  const int w = 2 * job.band + 1;
  const uint8_t* rb = in.read_bases + job.read_off;
  const uint8_t* rq = in.read_quals + job.read_off;
  const uint8_t* hb = in.hap_bases + job.hap_off;
  const uint8_t* go = in.hap_gap_open + job.hap_off;
  const int m = static_cast<int>(job.hap_len);
  const double ext = t.gap_ext;
  const double ext_close = 1.0 - ext;
  // Band cell k of read row i is haplotype position j = diag + i - band + k.
  // Neighbours: (i-1, j-1) -> same k in the previous row; (i-1, j) -> k+1; (i, j-1) -> k-1.
  for (int k = 0; k < w + 2; ++k) {
    m_prev[k] = 0.0; i_prev[k] = 0.0; d_prev[k] = 0.0;
  }
  for (int i = 0; i < static_cast<int>(job.read_len); ++i) {
    const int j0 = job.diag + i - job.band;
    for (int k = 0; k < w; ++k) {
      const int j = j0 + k;
      if (j < 0 || j >= m) {
        m_cur[k] = 0.0; i_cur[k] = 0.0; d_cur[k] = 0.0;
        continue;
      }
      const double open = t.gap_open[go[j]];
      const double e = emission(t, rb[i], hb[j], rq[i]);
      double from_diag;
      if (i == 0) {
        from_diag = t.init;  // free start anywhere on the haplotype inside the band
      } else {
        const double open_prev = j > 0 ? t.gap_open[go[j - 1]] : open;
        from_diag = m_prev[k] * (1.0 - 2.0 * open_prev) + (i_prev[k] + d_prev[k]) * ext_close;
      }
      m_cur[k] = e * from_diag;
      // Insertion in the read: read base i consumed, haplotype position stays.
      i_cur[k] = (i == 0) ? 0.0 : (m_prev[k + 1] * open + i_prev[k + 1] * ext);
      // Deletion from the read: haplotype position j consumed, read stays on row i.
      d_cur[k] = (k == 0) ? 0.0 : (m_cur[k - 1] * open + d_cur[k - 1] * ext);
    }
    for (int k = 0; k < w; ++k) {
      m_prev[k] = m_cur[k]; i_prev[k] = i_cur[k]; d_prev[k] = d_cur[k];
    }
    m_prev[w] = 0.0; i_prev[w] = 0.0; d_prev[w] = 0.0;
  }
  double total = 0.0;
  for (int k = 0; k < w; ++k) total += m_prev[k] + i_prev[k];
  return total;
}

}  // namespace gms
