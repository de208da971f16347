// Reference confidence of one position (gVCF): how sure the pileup makes us that a sample is
// homozygous reference there, against any other base and any indel. GMS_HD so that a device pass
// can run it; its inputs are the integer sums of the pileup kernels, so both backends agree.
#pragma once
#include <cmath>

#include "gmscall/common.hpp"

namespace gms {

struct RefConfidence {
  int gq;     // Phred probability that the sample is not hom-ref, capped at 99
  int pl[3];  // hom-ref, het non-ref, hom non-ref (haploid: ref, non-ref, unused)
};

// log10 likelihoods of the reference hypotheses from the per-base terms `ll` ([4 bases][3 terms],
// fixed point, kernels/pileup.hpp), `indels` reads with an indel anchored here out of `depth`.
// Non-ref is the best other base, or an indel (`indels`: reads with an indel anchored here or
// deleting this base): a read's indel is an error with probability 1e-2 (the caller's pair-HMM
// has already turned down the indels that come here, often in repeats). GQ is at most the
// smallest non-ref PL, as GATK's: reads that tell nothing apart give GQ 0, whatever the priors.
GMS_HD RefConfidence reference_confidence(const long long* ll, int ref_base, unsigned depth, unsigned indels,
                                          int ploidy, double ll_to_log10, double log10_het, double log10_hom) {
  RefConfidence out{0, {0, 0, 0}};
  double s00 = 0.0, s0n = -INFINITY, snn = -INFINITY;
  for (int b = 0; b < 4; ++b) s00 += static_cast<double>(ll[b * 3 + (b == ref_base ? 0 : 2)]) * ll_to_log10;
  for (int a = 0; a < 4; ++a) {
    if (a == ref_base) continue;
    double het = 0.0, hom = 0.0;
    for (int b = 0; b < 4; ++b) {
      het += static_cast<double>(ll[b * 3 + ((b == ref_base || b == a) ? 1 : 2)]) * ll_to_log10;
      hom += static_cast<double>(ll[b * 3 + (b == a ? 0 : 2)]) * ll_to_log10;
    }
    s0n = het > s0n ? het : s0n;
    snn = hom > snn ? hom : snn;
  }
  const double log_err = -2.0;
  const double i00 = indels * log_err, i0n = depth * -0.30102999566398120, inn = (depth - indels) * log_err;
  const double l00 = s00 + i00;
  const double l0n = (s0n + i00 > s00 + i0n) ? s0n + i00 : s00 + i0n;
  const double lnn = (snn + i00 > s00 + inn) ? snn + i00 : s00 + inn;
  double l[3], prior[3];
  int n = 3;
  if (ploidy == 1) {  // one copy: ref or non-ref
    n = 2;
    l[0] = l00;
    l[1] = lnn;
    prior[0] = 0.0;
    prior[1] = log10(pow(10.0, log10_het) / 2.0 + pow(10.0, log10_hom));  // as genotype_prior's one copy
  } else {
    l[0] = l00;
    l[1] = l0n;
    l[2] = lnn;
    prior[0] = 0.0;
    prior[1] = log10_het;
    prior[2] = log10_hom;
  }
  double best = l[0];
  for (int k = 1; k < n; ++k) best = l[k] > best ? l[k] : best;
  for (int k = 0; k < n; ++k) {
    const double v = -10.0 * (l[k] - best);
    out.pl[k] = v > 999.0 ? 999 : static_cast<int>(v + 0.5);
  }
  // P(not hom-ref) from the posteriors, relative to the largest term to stay in range. Most
  // positions are surely hom-ref: every other posterior 10 orders below it means GQ 99 (capped).
  bool sure = true;
  for (int k = 1; k < n; ++k) sure = sure && l[k] < l[0] - 10.0;
  if (sure) {
    out.gq = 99;
    return out;
  }
  int min_pl = 99;
  for (int k = 1; k < n; ++k) min_pl = out.pl[k] < min_pl ? out.pl[k] : min_pl;
  double m = l[0] + prior[0];
  for (int k = 1; k < n; ++k) m = (l[k] + prior[k]) > m ? (l[k] + prior[k]) : m;
  double z = 0.0, alt = 0.0;
  for (int k = 0; k < n; ++k) {
    const double t = pow(10.0, l[k] + prior[k] - m);
    z += t;
    if (k > 0) alt += t;
  }
  const double q = alt > 0.0 ? -10.0 * log10(alt / z) : 99.0;
  out.gq = q >= 99.0 ? 99 : static_cast<int>(q + 0.5);
  out.gq = out.gq < min_pl ? out.gq : min_pl;
  return out;
}

}  // namespace gms
