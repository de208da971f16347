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
  uint32_t hap_off;   // into PairHmmInputs::hap_bases
  uint32_t hap_len;
  uint32_t go_off;    // into PairHmmInputs::hap_gap_open: the haplotype's gap-open codes for the
                      // read's error model (read groups differ; hap_off when there is one model)
  int32_t diag;       // haplotype index expected for the read's first base
  int32_t band;       // half-width, <= kMaxBand
};

// Tables built on the host: match/mismatch emission per quality, transitions per gap-open code.
struct PairHmmTables {
  double match[128];     // 1 - e(q)
  double mismatch[128];  // e(q) / 3
  double gap_open[64];   // per gap-open Phred code (the low 6 bits of a position's code)
  double gap_ext[4];     // continuation probability per extension class (the code's top 2 bits):
  double gap_close[4];   // 1 - gap_ext; class 0 everywhere but in repeats a learnt model lowers
  double init;           // scaling constant that keeps long reads away from underflow
};

struct PairHmmInputs {
  const uint8_t* read_bases;   // allele codes 0..4
  const uint8_t* read_quals;   // < 128
  const uint8_t* hap_bases;    // allele codes 0..4
  const uint8_t* hap_gap_open; // gap code at each haplotype position: open Phred | ext class << 6
};

// Emission of haplotype base h for read base r, given the read base's match and mismatch
// probabilities (0.25 each when r is N): N carries no information.
GMS_HD double emission(uint8_t h, uint8_t r, double hit, double miss) {
  return h == 4 ? 0.25 : (h == r ? hit : miss);
}

// Returns the scaled likelihood (t.init * P(read | hap)); the host takes log10 and removes init.
// Each row is two passes: match and insertion states of every band cell (independent of each
// other, so the compiler can vectorise them), then the deletion chain along the row. A cell's
// arithmetic is the same in either order, so the bits do not depend on the schedule.
GMS_HD double pairhmm_job(const PairHmmInputs& in, const PairHmmTables& t, const PairHmmJob& job) {
  constexpr int kCells = 2 * kMaxBand + 3;
  double rows[6][kCells];
  double* m_prev = rows[0];
  double* i_prev = rows[1];
  double* d_prev = rows[2];
  double* m_cur = rows[3];
  double* i_cur = rows[4];
  double* d_cur = rows[5];
  const int w = 2 * job.band + 1;
  const uint8_t* rb = in.read_bases + job.read_off;
  const uint8_t* rq = in.read_quals + job.read_off;
  const uint8_t* hb = in.hap_bases + job.hap_off;
  const uint8_t* go = in.hap_gap_open + job.go_off;
  const int m = static_cast<int>(job.hap_len);
  // Band cell k of read row i is haplotype position j = diag + i - band + k.
  // Neighbours: (i-1, j-1) -> same k in the previous row; (i-1, j) -> k+1; (i, j-1) -> k-1.
  for (int k = 0; k < kCells; ++k) {
    m_prev[k] = 0.0; i_prev[k] = 0.0; d_prev[k] = 0.0;
    m_cur[k] = 0.0; i_cur[k] = 0.0; d_cur[k] = 0.0;
  }
  for (int i = 0; i < static_cast<int>(job.read_len); ++i) {
    const int j0 = job.diag + i - job.band;
    // Cells on the haplotype: k in [k_lo, k_hi); the others hold zeros.
    const int k_lo = j0 < 0 ? (-j0 < w ? -j0 : w) : 0;
    const int k_hi = m - j0 < w ? (m - j0 > k_lo ? m - j0 : k_lo) : w;
    for (int k = 0; k < k_lo; ++k) {
      m_cur[k] = 0.0; i_cur[k] = 0.0; d_cur[k] = 0.0;
    }
    for (int k = k_hi; k < w; ++k) {
      m_cur[k] = 0.0; i_cur[k] = 0.0; d_cur[k] = 0.0;
    }
    const uint8_t r = rb[i];
    const double hit = r == 4 ? 0.25 : t.match[rq[i]];
    const double miss = r == 4 ? 0.25 : t.mismatch[rq[i]];
    if (i == 0) {
      for (int k = k_lo; k < k_hi; ++k) {
        m_cur[k] = emission(hb[j0 + k], r, hit, miss) * t.init;  // free start inside the band
        i_cur[k] = 0.0;
      }
    } else {
      for (int k = k_lo; k < k_hi; ++k) {
        const int j = j0 + k;
        const double e = emission(hb[j], r, hit, miss);
        const uint8_t c = go[j];
        const uint8_t c_prev = j > 0 ? go[j - 1] : c;
        const double open = t.gap_open[c & 63];
        const double open_prev = t.gap_open[c_prev & 63];
        // A gap closes where it was (j - 1): that position's class.
        m_cur[k] = e * (m_prev[k] * (1.0 - 2.0 * open_prev) + (i_prev[k] + d_prev[k]) * t.gap_close[c_prev >> 6]);
        // Insertion in the read: read base i consumed, haplotype position stays.
        i_cur[k] = m_prev[k + 1] * open + i_prev[k + 1] * t.gap_ext[c >> 6];
      }
    }
    // Deletion from the read: haplotype position j consumed, read stays on row i. The cell left
    // of k_lo is off the haplotype (zeros), so the chain starts at zero there.
    if (k_lo < k_hi) d_cur[k_lo] = 0.0;
    for (int k = k_lo + 1; k < k_hi; ++k) {
      const uint8_t c = go[j0 + k];
      d_cur[k] = m_cur[k - 1] * t.gap_open[c & 63] + d_cur[k - 1] * t.gap_ext[c >> 6];
    }
    double* tmp = m_prev; m_prev = m_cur; m_cur = tmp;
    tmp = i_prev; i_prev = i_cur; i_cur = tmp;
    tmp = d_prev; d_prev = d_cur; d_cur = tmp;
    m_prev[w] = 0.0; i_prev[w] = 0.0; d_prev[w] = 0.0;
  }
  double total = 0.0;
  for (int k = 0; k < w; ++k) total += m_prev[k] + i_prev[k];
  return total;
}

}  // namespace gms
