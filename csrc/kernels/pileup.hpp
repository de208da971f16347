// Per-pair and per-read pileup bodies, shared by the CPU loops (cpu/) and the CUDA kernels (cuda/).
#pragma once
#include "gmscall/common.hpp"
#include "gmscall/reads.hpp"
#include "kernels/alignment_walk.hpp"

namespace gms {

// Output accumulators for positions [beg, end).  Layouts (n = end - beg):
//   counts    [n][2 strands][6 alleles]   qual_sum [n][6]
//   ins       [n][2]  reads with an insertion after the position (anchor)
//   del_start [n][2]  reads with a deletion starting after the position (anchor)
//   mq2       [n]     sum of MAPQ^2 over counted bases and deletions (RMS mapping quality)
// qual_sum, del_start, mq2 and snv_ll may be null: that output is then not computed.
struct PileupView {
  int64_t beg = 0, end = 0;
  uint32_t* counts = nullptr;
  uint32_t* qual_sum = nullptr;
  uint32_t* ins = nullptr;
  uint32_t* del_start = nullptr;
  unsigned long long* mq2 = nullptr;
  // Optional per-site SNV likelihood terms (caller only): [n][4 bases][3 terms] sums of the
  // fixed-point natural-log terms in ll_table[q] (see kernels/genotype.hpp). Integers, so the
  // sum is the same in any order on any backend.
  long long* snv_ll = nullptr;
  const long long* ll_table = nullptr;  // [128][3]
  int q_cap = 60;
};

// One slot per CIGAR op of the batch (slot = cigar_off[read] + op index), so the GPU needs no
// prefix sum: a slot with length 0 holds no event.
struct IndelEvent {
  int64_t pos;      // anchor, 0-based
  int32_t length;   // +insertion, -deletion, 0: empty slot
  int32_t read;
  uint32_t qoff;    // query offset of the first inserted base (or of the anchor for deletions)
  uint8_t strand;
  uint8_t anchor_q; // effective quality of the anchor base
  uint8_t pad[2];
};

// The overlapping part of a fragment counts once (htslib's tweak_overlap_quality): where both
// mates align a base, agreeing bases give `a` min(qa + qb, 200) and mask `b`; disagreeing bases
// keep the higher quality (tie: a) scaled by 0.8 and mask the other.
GMS_HD void resolve_mate_overlap(const ReadView& r, int a, int b, uint8_t* eff_qual) {
  AlignedCursor ca(r, a), cb(r, b);
  int64_t ra = 0, rb = 0;
  uint32_t qa = 0, qb = 0;
  bool has_a = ca.next(ra, qa), has_b = cb.next(rb, qb);
  const uint64_t oa = r.seq_off[a], ob = r.seq_off[b];
  while (has_a && has_b) {
    if (ra < rb) {
      has_a = ca.next(ra, qa);
    } else if (rb < ra) {
      has_b = cb.next(rb, qb);
    } else {
      uint8_t& ea = eff_qual[oa + qa];
      uint8_t& eb = eff_qual[ob + qb];
      const int va = ea, vb = eb;
      if (r.seq[oa + qa] == r.seq[ob + qb]) {
        const int s = va + vb;
        ea = static_cast<uint8_t>(s > kOverlapQualCap ? kOverlapQualCap : s);
        eb = kMaskedQual;
      } else if (va >= vb) {
        ea = static_cast<uint8_t>(va * 4 / 5);
        eb = kMaskedQual;
      } else {
        eb = static_cast<uint8_t>(vb * 4 / 5);
        ea = kMaskedQual;
      }
      has_a = ca.next(ra, qa);
      has_b = cb.next(rb, qb);
    }
  }
}

GMS_HD bool base_counts(uint8_t eff_q, int min_bq) { return eff_q != kMaskedQual && eff_q >= min_bq; }

// Accumulates one read into the pileup. `Add` is a plain += on the CPU and atomicAdd on the GPU;
// every accumulator is an integer, so the result does not depend on the order of additions.
template <class Add>
struct PileupReadVisitor {
  const ReadView& r;
  const uint8_t* eff_qual;
  PileupView& out;
  IndelEvent* events;  // may be null
  int i;
  int min_bq;
  uint64_t off;
  uint32_t strand;
  unsigned long long mq2;
  int mapq;
  Add add;

  GMS_HD bool in_range(int64_t p) const { return p >= out.beg && p < out.end; }

  GMS_HD void base(int64_t rp, uint32_t qp) {
    if (!in_range(rp)) return;
    const uint8_t q = eff_qual[off + qp];
    if (!base_counts(q, min_bq)) return;
    const int64_t x = rp - out.beg;
    const uint8_t b = r.seq[off + qp];
    add(&out.counts[x * 12 + strand * 6 + b], 1u);
    if (out.qual_sum) add(&out.qual_sum[x * 6 + b], static_cast<uint32_t>(q));
    if (out.mq2) add(&out.mq2[x], mq2);
    if (out.snv_ll && b < 4) {
      int qe = q < mapq ? q : mapq;
      if (qe > out.q_cap) qe = out.q_cap;
      const long long* t = out.ll_table + qe * 3;
      long long* dst = out.snv_ll + (x * 4 + b) * 3;
      add(&dst[0], t[0]);
      add(&dst[1], t[1]);
      add(&dst[2], t[2]);
    }
  }
  // As in htslib/samtools, a deleted base passes the base-quality filter when the read base after
  // the deletion does (an overlap-masked neighbour therefore also drops the mate's copy).
  GMS_HD void deleted(int64_t rp, uint32_t qp) {
    if (!in_range(rp)) return;
    if (qp >= r.len[i] || !base_counts(eff_qual[off + qp], min_bq)) return;
    const int64_t x = rp - out.beg;
    add(&out.counts[x * 12 + strand * 6 + kDel], 1u);
    if (out.mq2) add(&out.mq2[x], mq2);
  }
  GMS_HD bool anchor_counts(int64_t anchor_ref, uint32_t anchor_q) const {
    return in_range(anchor_ref) && base_counts(eff_qual[off + anchor_q], min_bq);
  }
  GMS_HD void record(uint32_t k, int64_t anchor_ref, uint32_t anchor_q, uint32_t qoff, int32_t length) {
    if (!events) return;
    IndelEvent& e = events[r.cigar_off[i] + k];
    e.pos = anchor_ref;
    e.length = length;
    e.read = i;
    e.qoff = qoff;
    e.strand = static_cast<uint8_t>(strand);
    e.anchor_q = eff_qual[off + anchor_q];
  }
  GMS_HD void insertion(uint32_t k, int64_t anchor_ref, uint32_t anchor_q, uint32_t qp, uint32_t len) {
    if (!anchor_counts(anchor_ref, anchor_q)) return;
    add(&out.ins[(anchor_ref - out.beg) * 2 + strand], 1u);
    record(k, anchor_ref, anchor_q, qp, static_cast<int32_t>(len));
  }
  GMS_HD void deletion(uint32_t k, int64_t anchor_ref, uint32_t anchor_q, uint32_t len) {
    if (!anchor_counts(anchor_ref, anchor_q)) return;
    if (out.del_start) add(&out.del_start[(anchor_ref - out.beg) * 2 + strand], 1u);
    record(k, anchor_ref, anchor_q, anchor_q, -static_cast<int32_t>(len));
  }
};

template <class Add>
GMS_HD void pileup_read(const ReadView& r, int i, const uint8_t* eff_qual, int min_bq, PileupView& out,
                        IndelEvent* events, Add add) {
  const unsigned long long mq = r.mapq[i];
  PileupView o = out;  // a local copy: stores to the counters cannot alias its fields (host speed)
  PileupReadVisitor<Add> v{r, eff_qual, o, events, i, min_bq, r.seq_off[i],
                           is_reverse(r.flag[i]) ? 1u : 0u, mq * mq, static_cast<int>(mq), add};
  // Only the part of the read over [beg, end) is visited base by base: a long read reaches kilobases
  // past a shard's pileup (and past each window of compute_pileup_counts). Every callback of the
  // whole walk outside [beg, end) adds nothing (bases and indel anchors are range-checked), and
  // the ops before beg are still walked, so the anchors at beg are those of the whole walk.
  walk_alignment_range(r, i, 0, r.pos[i], 0, o.beg, o.end, v);
}

}  // namespace gms
