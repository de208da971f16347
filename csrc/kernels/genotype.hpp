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
