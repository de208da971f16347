// Genotype-likelihood math: per-read SNV terms (fixed point) and log-space helpers.
#pragma once
#include <cmath>

#include "gmscall/common.hpp"

namespace gms {

// Fixed-point scale of natural-log likelihood terms: sums of integers are exact and order-free.
constexpr double kLlScale = 1048576.0;  // 2^20 per ln unit


// Host only: the error probability of a base of Phred quality q, capped at 0.75 (a base that says
// nothing: every base equally likely). Both likelihood models build their tables from it.
inline double base_error(int q) {
  const double e = std::pow(10.0, -q / 10.0);
  return e > 0.75 ? 0.75 : e;
}

// Host only: table[q] = {ln(1-e), ln((1-e)/2 + e/6), ln(e/3)} in fixed point, e = 10^(-q/10).
// The three terms are a read base's likelihood under hom(base), het(base, other), hom(other).
inline void build_snv_ll_table(long long* table) {
  for (int q = 0; q < 128; ++q) {
    const double e = base_error(q);
    const double terms[3] = {std::log(1.0 - e), std::log((1.0 - e) / 2.0 + e / 6.0), std::log(e / 3.0)};
    for (int k = 0; k < 3; ++k) table[q * 3 + k] = std::llround(terms[k] * kLlScale);
  }
}

// Host only: log10 of P(k of n reads carry the ALT | mapping artefact) over P(the same | het), the
// binomial coefficient left out of both. Under the artefact the ALT reads' share f is a minority:
// f = u / 2 with u ~ Beta(alpha, beta) (a paralogous copy's reads are fewer than the locus's two
// copies' and vary with how many the aligner places here); under a het f = 1/2. The integral over
// u is a midpoint sum on a fixed grid (the same bits everywhere).
inline double log10_artefact_balance_odds(int k, int n, double alpha, double beta) {
  constexpr int kGrid = 200;
  const double ln_norm = std::lgamma(alpha + beta) - std::lgamma(alpha) - std::lgamma(beta);
  double terms[kGrid];
  double top = -INFINITY;
  for (int j = 0; j < kGrid; ++j) {
    const double u = (j + 0.5) / kGrid, f = u / 2.0;
    terms[j] = ln_norm + (alpha - 1.0) * std::log(u) + (beta - 1.0) * std::log1p(-u) + k * std::log(f) +
               (n - k) * std::log1p(-f);
    top = terms[j] > top ? terms[j] : top;
  }
  double sum = 0.0;
  for (int j = 0; j < kGrid; ++j) sum += std::exp(terms[j] - top);
  const double ln_artefact = top + std::log(sum / kGrid);
  return (ln_artefact - n * std::log(0.5)) / std::log(10.0);
}

// Host only: log10 of P(k events | Poisson at `rate` per base over `span` bases) over P(k | at
// `base_rate`).
inline double log10_poisson_odds(int k, double span, double rate, double base_rate) {
  return k * std::log10(rate / base_rate) - (rate - base_rate) * span / std::log(10.0);
}

// log10(10^a + 10^b) without overflow.
inline double log10_add(double a, double b) {
  if (a < b) {
    const double t = a;
    a = b;
    b = t;
  }
  if (b == -INFINITY) return a;
  return a + std::log10(1.0 + std::pow(10.0, b - a));
}

}  // namespace gms
