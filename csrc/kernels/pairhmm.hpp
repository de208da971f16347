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
  double slip[64];       // per slip Phred code (0: none, probability 0): a tract's one-unit slip
  double init;           // scaling constant that keeps long reads away from underflow
};

// A tract's whole-unit slip (PCR stutter): a per-read event, so the pair-HMM takes it once per
// tract, as a jump of the match state over one unit at the tract's first unit (a deletion lands p
// positions on; an insertion, the read reading the unit again, lands back on the unit), not as a
// gap-open at every position of the tract (whose match path (1 - 2 g) would be charged along the
// whole tract). The forward sum still counts the gap paths, so a slip adds to what the per-position
// gap-open gives. Each haplotype position carries a 32-bit slip word (0: nothing lands or leaves):
//   bits 0-3 period of an insertion slip landing here (from p - 1 positions on), 4-9 its Phred code;
//   bits 10-13 period of a deletion slip landing here (from p + 1 positions back), 14-19 its code;
//   bits 20-25 the code of the slips leaving the match state at this position (summed), which the
//   match path's stay probability gives up.
constexpr uint32_t kSlipLanding = (1u << 20) - 1;
GMS_HD int slip_ins_period(uint32_t s) { return static_cast<int>(s & 15u); }
GMS_HD int slip_ins_code(uint32_t s) { return static_cast<int>((s >> 4) & 63u); }
GMS_HD int slip_del_period(uint32_t s) { return static_cast<int>((s >> 10) & 15u); }
GMS_HD int slip_del_code(uint32_t s) { return static_cast<int>((s >> 14) & 63u); }
GMS_HD int slip_out_code(uint32_t s) { return static_cast<int>((s >> 20) & 63u); }

struct PairHmmInputs {
  const uint8_t* read_bases;   // allele codes 0..4
  const uint8_t* read_quals;   // < 128
  const uint8_t* hap_bases;    // allele codes 0..4
  const uint8_t* hap_gap_open; // gap code at each haplotype position: open Phred | ext class << 6
  const uint32_t* hap_slip;    // slip word at each haplotype position (go_off, as the gap codes), or
                               // null where no error model has slips (then nothing changes)
};

// Emission of haplotype base h for read base r, given the read base's match and mismatch
// probabilities (0.25 each when r is N): N carries no information.
GMS_HD double emission(uint8_t h, uint8_t r, double hit, double miss) {
  return h == 4 ? 0.25 : (h == r ? hit : miss);
}

// One cell's three states. Every schedule (the one-job kernel below, which the GPU runs, and the
// CPU's lockstep one) computes a cell with these, so CPU and GPU give the same bits.
// Match: the diagonal neighbour's states, kept (1 - 2 * open of the position before) or closed.
GMS_HD double match_cell(double e, double m_diag, double i_diag, double d_diag, double keep, double close) {
  return e * (m_diag * keep + (i_diag + d_diag) * close);
}
// Insertion in the read: read base consumed, haplotype position stays (the cell above).
// The probability of staying on the match path after a position of gap code c and slip word s:
// neither gap opens and no slip leaves (a slip code of 0 subtracts 0.0: the bits of no slips).
GMS_HD double match_keep(const PairHmmTables& t, uint8_t c, uint32_t s) {
  return 1.0 - 2.0 * t.gap_open[c & 63] - t.slip[slip_out_code(s)];
}
// What slips add to the match state of band cell k (emission e) from the previous row's match
// states (cells k + p for an insertion slip, k - p for a deletion; off the band: none). Added to
// the match cell after match_cell, in every schedule, only where a slip lands (s & kSlipLanding).
GMS_HD double slip_cell(const PairHmmTables& t, uint32_t s, double e, const double* m_prev, int k, int w) {
  const int pi = slip_ins_period(s), pd = slip_del_period(s);
  const double from_ins = pi > 0 && k + pi < w ? m_prev[k + pi] * t.slip[slip_ins_code(s)] : 0.0;
  const double from_del = pd > 0 && k >= pd ? m_prev[k - pd] * t.slip[slip_del_code(s)] : 0.0;
  return e * (from_ins + from_del);
}

GMS_HD double insert_cell(double m_up, double i_up, double open, double ext) { return m_up * open + i_up * ext; }
// Deletion from the read: haplotype position consumed, read stays on its row (the cell left).
GMS_HD double delete_cell(double m_left, double d_left, double open, double ext) { return m_left * open + d_left * ext; }

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
  const uint32_t* sl = in.hap_slip ? in.hap_slip + job.go_off : nullptr;
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
        const uint8_t c = go[j];
        const uint8_t c_prev = j > 0 ? go[j - 1] : c;
        const uint32_t s_prev = sl ? sl[j > 0 ? j - 1 : j] : 0u;
        const double e = emission(hb[j], r, hit, miss);
        // A gap closes where it was (j - 1): that position's class.
        m_cur[k] = match_cell(e, m_prev[k], i_prev[k], d_prev[k], match_keep(t, c_prev, s_prev),
                              t.gap_close[c_prev >> 6]);
        if (sl && (sl[j] & kSlipLanding)) m_cur[k] += slip_cell(t, sl[j], e, m_prev, k, w);
        i_cur[k] = insert_cell(m_prev[k + 1], i_prev[k + 1], t.gap_open[c & 63], t.gap_ext[c >> 6]);
      }
    }
    // The cell left of k_lo is off the haplotype (zeros), so the chain starts at zero there.
    if (k_lo < k_hi) d_cur[k_lo] = 0.0;
    for (int k = k_lo + 1; k < k_hi; ++k) {
      const uint8_t c = go[j0 + k];
      d_cur[k] = delete_cell(m_cur[k - 1], d_cur[k - 1], t.gap_open[c & 63], t.gap_ext[c >> 6]);
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

// The CPU schedule's inputs per haplotype position, looked up once per batch rather than once per
// cell: what pairhmm_job reads from the tables at position j (transitions at entries of
// PairHmmInputs::hap_gap_open, bases at entries of hap_bases), as doubles the band's pass loads
// four at a time.
struct PairHmmTransitions {
  const double* keep;   // 1 - 2 * open of the position before (of j itself at a haplotype's start)
  const double* close;  // gap close of the position before (likewise)
  const double* open;   // gap open at j
  const double* ext;    // gap extension at j
  const double* base;   // the haplotype base (allele code 0..4)
  const uint32_t* slip; // slip words (null: none in the batch)
  const uint32_t* next_landing;  // per position, how far on the next position a slip lands at is
};

// emission() on a base code held as a double (the same choice, so the same value).
inline double emission_of(double h, double r, double hit, double miss) {
  const double e = h == r ? hit : miss;
  return h == 4.0 ? 0.25 : e;
}

// The match and insertion states of band cells [k_lo, k_hi) of one row (i > 0); j0 is the
// haplotype position of cell 0.
inline void match_insert_pass(int k_lo, int k_hi, int j0, double r, double hit, double miss,
                              const PairHmmTransitions& tr, const double* __restrict__ m_prev,
                              const double* __restrict__ i_prev, const double* __restrict__ d_prev,
                              double* __restrict__ m_cur, double* __restrict__ i_cur) {
  const double* __restrict__ base = tr.base + j0;
  const double* __restrict__ keep = tr.keep + j0;
  const double* __restrict__ close = tr.close + j0;
  const double* __restrict__ open = tr.open + j0;
  const double* __restrict__ ext = tr.ext + j0;
  for (int k = k_lo; k < k_hi; ++k) {
    m_cur[k] = match_cell(emission_of(base[k], r, hit, miss), m_prev[k], i_prev[k], d_prev[k], keep[k], close[k]);
    i_cur[k] = insert_cell(m_prev[k + 1], i_prev[k + 1], open[k], ext[k]);
  }
}

// The slips landing in band cells [k_lo, k_hi) of one row (i > 0), after match_insert_pass: few
// positions (a tract's first unit and the one a unit past it), found by skipping.
inline void slip_pass(int k_lo, int k_hi, int j0, int w, double r, double hit, double miss,
                      const PairHmmTransitions& tr, const PairHmmTables& t, const double* m_prev, double* m_cur) {
  if (!tr.slip || k_lo >= k_hi) return;
  for (int j = j0 + k_lo + static_cast<int>(tr.next_landing[j0 + k_lo]); j < j0 + k_hi;
       j += 1 + static_cast<int>(tr.next_landing[j + 1])) {
    const int k = j - j0;
    m_cur[k] += slip_cell(t, tr.slip[j], emission_of(tr.base[j], r, hit, miss), m_prev, k, w);
  }
}

// One job's rows in the lockstep schedule below.
struct PairHmmLane {
  static constexpr int kCells = 2 * kMaxBand + 3;
  double rows[6][kCells];
  double *m_prev, *i_prev, *d_prev, *m_cur, *i_cur, *d_cur;
  PairHmmTransitions tr;  // offset to the job's haplotype and codes
  int w, m, j0, k_lo, k_hi;
};

// The deletion chains of a row, the G lanes together: one chain is a serial dependence (a
// multiply and an add per cell); G of them interleaved overlap in the CPU.
template <int G>
inline void deletion_chains(PairHmmLane* lane) {
  int k_first = PairHmmLane::kCells, k_last = 0;
  bool same_cells = true;  // every lane's band on its haplotype alike (the usual case)
  for (int g = 0; g < G; ++g) {
    PairHmmLane& L = lane[g];
    if (L.k_lo < L.k_hi) {
      L.d_cur[L.k_lo] = 0.0;  // the cell left of k_lo is off the haplotype (zeros)
      k_first = k_first < L.k_lo + 1 ? k_first : L.k_lo + 1;
      k_last = k_last > L.k_hi ? k_last : L.k_hi;
    }
    same_cells = same_cells && L.k_lo == lane[0].k_lo && L.k_hi == lane[0].k_hi;
  }
  if (same_cells) {
    const double* m_cur[G];
    const double* open[G];
    const double* ext[G];
    double* d_cur[G];
    double carry[G];  // each lane's d of the cell left of k
    for (int g = 0; g < G; ++g) {
      m_cur[g] = lane[g].m_cur;
      open[g] = lane[g].tr.open + lane[g].j0;
      ext[g] = lane[g].tr.ext + lane[g].j0;
      d_cur[g] = lane[g].d_cur;
      carry[g] = 0.0;
    }
    for (int k = k_first; k < k_last; ++k) {
      for (int g = 0; g < G; ++g) {
        carry[g] = delete_cell(m_cur[g][k - 1], carry[g], open[g][k], ext[g][k]);
        d_cur[g][k] = carry[g];
      }
    }
    return;
  }
  for (int k = k_first; k < k_last; ++k) {
    for (int g = 0; g < G; ++g) {
      PairHmmLane& L = lane[g];
      if (k <= L.k_lo || k >= L.k_hi) continue;
      const int j = L.j0 + k;
      L.d_cur[k] = delete_cell(L.m_cur[k - 1], L.d_cur[k - 1], L.tr.open[j], L.tr.ext[j]);
    }
  }
}

// G jobs of one read (the read against each haplotype of its window: same bases and length; own
// haplotype, diagonal and band), row by row in lockstep, so that their deletion chains overlap.
// Each cell is computed as in pairhmm_job, from the same values, so each likelihood has the same
// bits.
template <int G>
inline void pairhmm_read_lanes(const PairHmmInputs& in, const PairHmmTables& t, const PairHmmTransitions& tr,
                               const PairHmmJob* jobs, double* out) {
  constexpr int n = G;
  PairHmmLane lane[G];
  const int read_len = static_cast<int>(jobs[0].read_len);
  const uint8_t* rb = in.read_bases + jobs[0].read_off;
  const uint8_t* rq = in.read_quals + jobs[0].read_off;
  for (int g = 0; g < n; ++g) {
    PairHmmLane& L = lane[g];
    for (int s = 0; s < 6; ++s)
      for (int k = 0; k < PairHmmLane::kCells; ++k) L.rows[s][k] = 0.0;
    L.m_prev = L.rows[0]; L.i_prev = L.rows[1]; L.d_prev = L.rows[2];
    L.m_cur = L.rows[3]; L.i_cur = L.rows[4]; L.d_cur = L.rows[5];
    L.w = 2 * jobs[g].band + 1;
    L.m = static_cast<int>(jobs[g].hap_len);
    const uint32_t go = jobs[g].go_off, ho = jobs[g].hap_off;
    L.tr = {tr.keep + go, tr.close + go, tr.open + go, tr.ext + go, tr.base + ho,
            tr.slip ? tr.slip + go : nullptr, tr.slip ? tr.next_landing + go : nullptr};
  }
  for (int i = 0; i < read_len; ++i) {
    const uint8_t r = rb[i];
    const double hit = r == 4 ? 0.25 : t.match[rq[i]];
    const double miss = r == 4 ? 0.25 : t.mismatch[rq[i]];
    for (int g = 0; g < n; ++g) {
      PairHmmLane& L = lane[g];
      const int w = L.w;
      const int j0 = L.j0 = jobs[g].diag + i - jobs[g].band;
      const int k_lo = L.k_lo = j0 < 0 ? (-j0 < w ? -j0 : w) : 0;
      const int k_hi = L.k_hi = L.m - j0 < w ? (L.m - j0 > k_lo ? L.m - j0 : k_lo) : w;
      for (int k = 0; k < k_lo; ++k) {
        L.m_cur[k] = 0.0; L.i_cur[k] = 0.0; L.d_cur[k] = 0.0;
      }
      for (int k = k_hi; k < w; ++k) {
        L.m_cur[k] = 0.0; L.i_cur[k] = 0.0; L.d_cur[k] = 0.0;
      }
      if (i == 0) {
        for (int k = k_lo; k < k_hi; ++k) {
          L.m_cur[k] = emission_of(L.tr.base[j0 + k], r, hit, miss) * t.init;  // free start inside the band
          L.i_cur[k] = 0.0;
        }
      } else {
        match_insert_pass(k_lo, k_hi, j0, r, hit, miss, L.tr, L.m_prev, L.i_prev, L.d_prev, L.m_cur, L.i_cur);
        slip_pass(k_lo, k_hi, j0, w, r, hit, miss, L.tr, t, L.m_prev, L.m_cur);
      }
    }
    deletion_chains<G>(lane);
    for (int g = 0; g < n; ++g) {
      PairHmmLane& L = lane[g];
      double* tmp = L.m_prev; L.m_prev = L.m_cur; L.m_cur = tmp;
      tmp = L.i_prev; L.i_prev = L.i_cur; L.i_cur = tmp;
      tmp = L.d_prev; L.d_prev = L.d_cur; L.d_cur = tmp;
      L.m_prev[L.w] = 0.0; L.i_prev[L.w] = 0.0; L.d_prev[L.w] = 0.0;
    }
  }
  for (int g = 0; g < n; ++g) {
    double total = 0.0;
    for (int k = 0; k < lane[g].w; ++k) total += lane[g].m_prev[k] + lane[g].i_prev[k];
    out[g] = total;
  }
}

}  // namespace gms
