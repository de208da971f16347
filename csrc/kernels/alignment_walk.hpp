// Walking a read's CIGAR: the one definition of how query bases meet reference positions.
#pragma once
#include "gmscall/common.hpp"
#include "gmscall/reads.hpp"

namespace gms {

GMS_HD uint32_t cigar_op(uint32_t c) { return c & 0xFu; }
GMS_HD uint32_t cigar_len(uint32_t c) { return c >> 4; }
GMS_HD bool is_aligned_op(uint32_t op) { return op == kCigM || op == kCigEq || op == kCigX; }
GMS_HD bool is_reverse(uint16_t flag) { return (flag & 0x10) != 0; }

// Always inlined into the caller's per-read body: GCC otherwise keeps the walk out of line, the
// visitor then lives in memory and its fields are reloaded after every counter store.
#define GMS_WALK_INLINE __attribute__((always_inline))

// Calls, in reference order:
//   v.base(ref_pos, query_pos)                       every aligned base (M, =, X)
//   v.deleted(ref_pos, query_pos)                    every deleted reference base (D); query_pos is
//                                                    the read base after the deletion (htslib's qpos)
//   v.insertion(op_index, anchor_ref, anchor_q, query_pos, len)
//   v.deletion(op_index, anchor_ref, anchor_q, len)
// Indel callbacks fire only when the indel has an anchor, as in samtools' pileup: the last
// aligned base before it (an M-I-D run anchors both indels on the M base), or, for an insertion
// right after a deletion, the last deleted position, whose quality is that of the read base
// after the deletion. Indels at the read start, after a soft clip or a ref skip have none.
// The walk over the part of read i that meets reference [lo, hi): it starts at CIGAR
// op k_begin, whose first base lies at reference rp and query qp, and stops before the first op
// that starts past hi. base() and deleted() fire only for positions in [lo, hi); the indel
// callbacks fire for the ops walked (callers keep those they need). The anchors are those of the
// whole walk when op k_begin is the read's first op or an aligned op (which sets them afresh):
// what a stage uses to look at a window of a long read without walking all of it.
template <class Visitor>
GMS_WALK_INLINE GMS_HD void walk_alignment_range(const ReadView& r, int i, uint32_t k_begin, int64_t rp, uint32_t qp,
                                                 int64_t lo, int64_t hi, Visitor& v) {
  int64_t anchor_ref = -1;
  int64_t anchor_q = -1;
  const uint32_t* ops = r.cigar + r.cigar_off[i];
  const uint32_t n_ops = r.n_cigar[i];
  for (uint32_t k = k_begin; k < n_ops && rp <= hi; ++k) {
    const uint32_t op = cigar_op(ops[k]);
    const uint32_t l = cigar_len(ops[k]);
    if (is_aligned_op(op)) {
      const int64_t j0 = lo > rp ? lo - rp : 0, j1 = hi - rp < static_cast<int64_t>(l) ? hi - rp : l;
      for (int64_t j = j0; j < j1; ++j) v.base(rp + j, qp + static_cast<uint32_t>(j));
      if (l > 0) {
        anchor_ref = rp + l - 1;
        anchor_q = static_cast<int64_t>(qp + l - 1);
      }
      rp += l;
      qp += l;
    } else if (op == kCigI) {
      if (anchor_q >= 0 && l > 0) v.insertion(k, anchor_ref, static_cast<uint32_t>(anchor_q), qp, l);
      qp += l;
    } else if (op == kCigD) {
      if (anchor_q >= 0 && l > 0) v.deletion(k, anchor_ref, static_cast<uint32_t>(anchor_q), l);
      const int64_t j0 = lo > rp ? lo - rp : 0, j1 = hi - rp < static_cast<int64_t>(l) ? hi - rp : l;
      for (int64_t j = j0; j < j1; ++j) v.deleted(rp + j, qp);
      rp += l;
      if (l > 0 && anchor_q >= 0) {
        anchor_ref = rp - 1;
        anchor_q = qp < r.len[i] ? static_cast<int64_t>(qp) : -1;
      }
    } else if (op == kCigN) {
      rp += l;
      anchor_q = -1;
    } else if (op == kCigS) {
      qp += l;
      anchor_q = -1;
    }
  }
}

// The whole read: the range walk from its first op over every reference position.
template <class Visitor>
GMS_WALK_INLINE GMS_HD void walk_alignment(const ReadView& r, int i, Visitor& v) {
  walk_alignment_range(r, i, 0, r.pos[i], 0, INT64_MIN, INT64_MAX, v);
}

// Read i has one aligned CIGAR op (no clip, no indel) covering reference positions [lo, hi].
GMS_HD bool aligned_across(const ReadView& r, int i, int64_t lo, int64_t hi) {
  if (r.pos[i] > lo || r.end[i] <= hi) return false;
  int64_t rp = r.pos[i];
  const uint32_t* ops = r.cigar + r.cigar_off[i];
  for (uint32_t k = 0; k < r.n_cigar[i]; ++k) {
    const uint32_t op = cigar_op(ops[k]), l = cigar_len(ops[k]);
    if (is_aligned_op(op)) {
      if (rp <= lo && rp + l > hi) return true;
      rp += l;
    } else if (op == kCigD || op == kCigN) {
      rp += l;
    }
  }
  return false;
}

struct ReadClips {
  uint32_t left = 0, right = 0;  // soft-clipped bases at each end
};

// Soft-clipped bases at the two ends of read i (hard clips skipped).
GMS_HD ReadClips read_clips(const ReadView& r, int i) {
  ReadClips c;
  const uint32_t* ops = r.cigar + r.cigar_off[i];
  const uint32_t n = r.n_cigar[i];
  for (uint32_t k = 0; k < n && (cigar_op(ops[k]) == kCigS || cigar_op(ops[k]) == kCigH); ++k)
    if (cigar_op(ops[k]) == kCigS) c.left += cigar_len(ops[k]);
  for (uint32_t k = n; k > 0 && (cigar_op(ops[k - 1]) == kCigS || cigar_op(ops[k - 1]) == kCigH); --k)
    if (cigar_op(ops[k - 1]) == kCigS) c.right += cigar_len(ops[k - 1]);
  return c;
}

// Steps through the aligned bases (M, =, X) of one read in reference order; used to merge mates.
struct AlignedCursor {
  const uint32_t* ops;
  uint32_t n_ops;
  uint32_t k = 0, j = 0;
  int64_t rp;
  uint32_t qp = 0;

  GMS_HD AlignedCursor(const ReadView& r, int i)
      : ops(r.cigar + r.cigar_off[i]), n_ops(r.n_cigar[i]), rp(r.pos[i]) {}

  // Advances to the next aligned base; false when the read has none left.
  GMS_HD bool next(int64_t& ref_pos, uint32_t& query_pos) {
    while (k < n_ops) {
      const uint32_t op = cigar_op(ops[k]);
      const uint32_t l = cigar_len(ops[k]);
      if (is_aligned_op(op) && j < l) {
        ref_pos = rp + j;
        query_pos = qp + j;
        ++j;
        return true;
      }
      if (is_aligned_op(op)) {
        rp += l;
        qp += l;
      } else if (op == kCigI || op == kCigS) {
        qp += l;
      } else if (op == kCigD || op == kCigN) {
        rp += l;
      }
      ++k;
      j = 0;
    }
    return false;
  }
};

}  // namespace gms
