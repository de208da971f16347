// The indel screen (issue #19): a haplotype window whose indels the learnt indel error model
// explains opens no pair-HMM job. On long reads most windows sit at homopolymers whose length a
// few reads misread (HiFi: 70 % of the pair-HMM jobs, in windows that write no record); the
// model already says how many reads a tract's length errors put on an allele, so a count of the
// reads that carry it, weighed against that rate, tells those windows from real alleles before
// any alignment. The genotyper's own hypotheses (hom-ref, het, hom-alt, with its indel priors)
// are scored on the counts alone, a read of a haplotype without the allele showing it as often
// as the pair-HMM expects (error_model.allele_error_tables); a window is left out only when every
// allele's count-level QUAL stays below CallParams::indel_screen_qual (by default: hom-ref at
// least as likely as not), far below the QUAL a record needs.
#include <algorithm>
#include <cmath>

#include "core/calling.hpp"
#include "kernels/genotype.hpp"
#include "gmscall/error_model.hpp"

namespace gms::calling {

IndelTract indel_tract(const Candidate& a) {
  if (!a.is_indel()) return {};
  const int n = static_cast<int>(a.seq.size());
  int period = 0;
  for (int p = 1; p <= std::min(n, kStrMaxPeriod) && period == 0; ++p) {
    if (n % p) continue;
    bool periodic = true;
    for (int k = p; k < n && periodic; ++k) periodic = a.seq[static_cast<size_t>(k)] == a.seq[static_cast<size_t>(k - p)];
    if (periodic) period = p;
  }
  if (period == 0) return {};
  const int64_t bases = a.tract_end - (a.pos + 1);  // the reference tract the indel slides along
  const int units = static_cast<int>(std::clamp<int64_t>(bases / period, 1, kStrMaxUnits));
  return {period, units, (a.len > 0 ? 1 : -1) * (n / period)};
}

int screen_read_state(const Candidate& a, int carries, const std::vector<Candidate>& read_indels) {
  if (carries != 0) return carries;
  const int64_t hi = std::max(a.tract_end, a.ref_end()) + kScreenPad;
  for (const Candidate& x : read_indels)
    if (x.pos >= a.pos - kScreenPad && x.pos <= hi) return -1;
  return 0;
}

double screen_qual(int carriers, int covering, double error, double het_prior, double hom_prior) {
  if (carriers <= 0 || covering <= 0) return 0.0;
  const double k = carriers, n = std::max(covering, carriers);
  const double e = std::clamp(error, 1e-12, 0.5);
  // A read of a haplotype without the allele shows it with probability e (the model's error), one
  // of a haplotype with it shows it (with e, a slip away from it, ignored: the het is favoured).
  const double ref = std::log10(1.0 - het_prior - hom_prior) + k * std::log10(e) + (n - k) * std::log10(1.0 - e);
  const double het = std::log10(het_prior) + n * std::log10(0.5);
  const double hom = std::log10(hom_prior) + k * std::log10(1.0 - e) + (n - k) * std::log10(e);
  const double total = log10_add(ref, log10_add(het, hom));
  return -10.0 * (ref - total);  // -10 log10 P(hom-ref)
}

bool screenable(const Window& win, const CallParams& p) {
  if (p.indel_screen_qual <= 0.0 || p.allele_error_tables.empty() || !win.seeds.empty() || !win.extras.empty())
    return false;
  for (const Candidate& a : win.alleles) {
    const IndelTract t = indel_tract(a);
    // Only a one-unit length change of a tract of two units or more: what the model's rates count.
    if (t.period == 0 || std::abs(t.step) != 1 || a.tract_end - (a.pos + 1) < 2 * t.period) return false;
  }
  return !win.alleles.empty();
}

bool errors_explain_window(const Window& win, const AlleleReadCounts& counts, const CallParams& p) {
  if (!screenable(win, p)) return false;
  const size_t ns = counts.columns;
  for (size_t k = 0; k < win.alleles.size(); ++k) {
    const Candidate& a = win.alleles[k];
    const IndelTract t = indel_tract(a);
    const double scale = indel_prior_scale(a, p);
    const double het = p.indel_het_prior * scale, hom = p.indel_hom_prior * scale;
    // QUAL of a joint call: -10 log10 of every sample hom-ref, each weighed with its own model.
    double qual = 0.0;
    for (size_t s = 0; s < ns; ++s) {
      const int carriers = counts.carriers[k * ns + s], covering = counts.covering[k * ns + s];
      if (covering == 0) continue;
      if (s >= p.allele_error_tables.size() || p.allele_error_tables[s].size() != static_cast<size_t>(kStrTableSize))
        return false;  // a sample without a learnt model: no rate to weigh its reads against
      const double e = p.allele_error_tables[s][static_cast<size_t>(str_index(t.period, t.units))];
      if (!(e > 0.0)) return false;
      qual += screen_qual(carriers, covering, e, het, hom);
    }
    if (qual >= p.indel_screen_qual) return false;
  }
  return true;
}

}  // namespace gms::calling
