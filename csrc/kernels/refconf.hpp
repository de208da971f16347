// Reference confidence of one position (gVCF): how sure the pileup makes us that a sample is
// homozygous reference there, against any other base and any indel. GMS_HD so that a device pass
// can run it; its inputs are the integer sums of the pileup kernels, so both backends agree.
#pragma once
#include <cmath>

#include "gmscall/common.hpp"

namespace gms {

struct RefConfidence {
  int gq;     // confidence in hom-ref: the smallest non-ref PL, capped at 99 (0 unless hom-ref is best)
  int pl[3];  // hom-ref, het non-ref, hom non-ref (haploid: ref, non-ref, unused)
};

// log10 likelihoods of the reference hypotheses from the per-base terms `ll` ([4 bases][3 terms],
// fixed point, kernels/pileup.hpp), `indels` reads with an indel anchored here out of `depth`.
// Non-ref is the best other base, or an indel (`indels`: reads with an indel anchored here or
// deleting this base): a read's indel is an error with probability 1e-2 (the caller's pair-HMM
// has already turned down the indels that come here, often in repeats). GQ is the smallest non-ref
// PL, as in GATK's reference model: reads that tell nothing apart give GQ 0.
GMS_HD RefConfidence reference_confidence(const long long* ll, int ref_base, unsigned depth, unsigned indels,
                                          int ploidy, double ll_to_log10) {
  RefConfidence out{0, {0, 0, 0}};
  if (indels > depth) indels = depth;  // indel events (anchored and deleting reads) can outnumber the reads
  double term[12];  // each term scaled once (the same products the sums below used to make each time)
  for (int k = 0; k < 12; ++k) term[k] = static_cast<double>(ll[k]) * ll_to_log10;
  double s00 = 0.0, s0n = -INFINITY, snn = -INFINITY;
  for (int b = 0; b < 4; ++b) s00 += term[b * 3 + (b == ref_base ? 0 : 2)];
  for (int a = 0; a < 4; ++a) {
    if (a == ref_base) continue;
    double het = 0.0, hom = 0.0;
    for (int b = 0; b < 4; ++b) {
      het += term[b * 3 + ((b == ref_base || b == a) ? 1 : 2)];
      hom += term[b * 3 + (b == a ? 0 : 2)];
    }
    s0n = het > s0n ? het : s0n;
    snn = hom > snn ? hom : snn;
  }
  const double log_err = -2.0;
  const double i00 = indels * log_err, i0n = depth * -0.30102999566398120, inn = (depth - indels) * log_err;
  const double l00 = s00 + i00;
  const double l0n = (s0n + i00 > s00 + i0n) ? s0n + i00 : s00 + i0n;
  const double lnn = (snn + i00 > s00 + inn) ? snn + i00 : s00 + inn;
  double l[3];
  int n = 3;
  if (ploidy == 1) {  // one copy: ref or non-ref
    n = 2;
    l[0] = l00;
    l[1] = lnn;
  } else {
    l[0] = l00;
    l[1] = l0n;
    l[2] = lnn;
  }
  double best = l[0];
  for (int k = 1; k < n; ++k) best = l[k] > best ? l[k] : best;
  for (int k = 0; k < n; ++k) {
    const double v = -10.0 * (l[k] - best);
    out.pl[k] = v > 999.0 ? 999 : static_cast<int>(v + 0.5);
  }
  // GQ of hom-ref, as GATK's reference model: the smallest non-ref PL, 0 unless hom-ref is best.
  out.gq = 99;
  for (int k = 1; k < n; ++k) out.gq = out.pl[k] < out.gq ? out.pl[k] : out.gq;
  if (out.pl[0] > 0) out.gq = 0;
  return out;
}

// The per-base terms of a position whose reads the haplotype model explains (inside a haplotype
// window, where no candidate haplotype changes the position): every read's base taken as the
// reference base at its own quality, as the reads realigned to their best haplotypes would show
// it (GATK's reference model in active regions). Their mismatches there, and the indels the aligner
// wrote there, are the window's alleles written elsewhere or errors the model has weighed.
GMS_HD void fold_to_reference(const long long* ll, int ref_base, long long* out) {
  for (int k = 0; k < 12; ++k) out[k] = 0;
  for (int t = 0; t < 3; ++t) {
    long long s = 0;
    for (int b = 0; b < 4; ++b) s += ll[b * 3 + t];
    out[ref_base * 3 + t] = s;
  }
}

}  // namespace gms
