// Indel error model learnt from a BAM (GATK DRAGstr's idea): at reference tandem repeats, by
// period (1-8) and length in whole units, the reads that carry an indel of whole units against
// those that do not, per read group. The fit and the gap-open Phred it gives are in Python
// (gmscall.error_model); the pair-HMM reads them as CallParams::gap_open_tables.
#pragma once
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

namespace gms {

constexpr int kStrMaxPeriod = 8;
constexpr int kStrMaxUnits = 20;  // longer tracts count as this many units
constexpr int kStrTableSize = (kStrMaxPeriod + 1) * (kStrMaxUnits + 1);  // [period][units], index 0 unused

// Index of (period, units) in a table of kStrTableSize (units capped at kStrMaxUnits).
inline int str_index(int period, int units) {
  return period * (kStrMaxUnits + 1) + (units < kStrMaxUnits ? units : kStrMaxUnits);
}

// Pair-HMM gap continuation per extension class (the top 2 bits of a position's gap code): 0 is
// the default 0.1 of htslib's probaln and GATK, used everywhere without a learnt model and in
// homopolymers; 1-3 are for tracts of period 2, 3-4 and 5-8 where a learnt model lowers the
// gap-open: there an error is a whole unit, so the gap goes on through the unit rather than closing
// after a base (DRAGstr's gap continuation penalty by period, in a coarser form).
constexpr double kGapExtClass[4] = {0.1, 0.3, 0.5, 0.7};
inline int gap_ext_class(int period) { return period <= 1 ? 0 : period == 2 ? 1 : period <= 4 ? 2 : 3; }

struct RepeatIndelCounts {
  std::vector<std::string> read_groups, samples, platforms;  // @RG ID, SM, PL ("" when absent)
  // Per read group, kStrTableSize entries each: reads with a whole-unit indel in the tract, reads
  // spanning it, and loci counted (loci whose reads look like a real indel allele are left out);
  // multi: of the indel reads, those off by two units or more (how far a slip runs: the gap
  // continuation).
  std::vector<int64_t> indel, total, loci, multi;
  std::vector<int64_t> loss;  // among the indel reads, those that lost units (PCR stutter mostly loses)
  // Loci left out because one indel allele is on too many of their reads (a real allele): per read
  // group that has reads there, as `loci` (their share of a length is the sample's rate of indel
  // variants at such tracts: the tract prior, gmscall.error_model).
  std::vector<int64_t> variant;
  int64_t loci_seen = 0, loci_skipped = 0;  // skipped: an indel allele too frequent for an error
};

// Counts over `chunks` (contig, 0-based begin, end). Reads: mapped primary, not duplicate or
// QC-fail, MAPQ >= min_mapq. A read counts at a tract when its aligned bases reach 2 bases past
// both ends; one with an indel near the tract that is not of whole units is not counted.
RepeatIndelCounts count_repeat_indels(const std::string& bam, const std::string& ref,
                                      const std::vector<std::tuple<std::string, int64_t, int64_t>>& chunks,
                                      int min_mapq, int hts_threads);

// Is s[j, j + p) a primitive unit, not a shorter unit repeated (CACA is CA twice)? The model counts
// a tract under its primitive period only, and the gap codes look it up the same way.
bool primitive_unit(const std::string& s, int64_t j, int p);

}  // namespace gms
