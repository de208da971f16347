// Entry point of variant calling for one shard: candidates -> likelihoods -> genotypes -> records.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gmscall/backend.hpp"
#include "gmscall/params.hpp"

namespace gms {

class BamReader;
class Reference;

struct CallParams {
  PileupParams pileup;          // read/base filters (caller defaults set by options.py)
  int min_alt_count = 2;        // reads supporting an allele before it is a candidate
  double min_snv_frac = 0.12;   // alt fraction of depth for an SNV candidate
  double min_indel_frac = 0.08; // alt fraction of depth for an indel candidate
  int max_indel_len = 50;
  double snv_het_prior = 1e-3, snv_hom_prior = 5e-4;
  double indel_het_prior = 1.25e-4, indel_hom_prior = 6.25e-5;
  double min_qual = 10.0;       // records below are not written
  double low_qual = 20.0;       // records below get FILTER LowQual
  int max_haplotypes = 8;
  int gap_open_max = 45;        // pair-HMM gap open (Phred) outside repeats
  int gap_open_min = 30;        // ... floor inside long repeats
  double gap_open_slope = 1.0;  // ... Phred lost per extra repeat unit
  int64_t read_pad = 400;       // reads and candidates are gathered this far beyond the shard
};

enum FilterBits : int { kFilterLowQual = 1 };

struct CallRecord {
  int64_t pos;  // 0-based POS
  std::string ref;
  std::vector<std::string> alts;
  double qual;
  int filter;   // FilterBits
  int gt[2];    // allele indices
  int gq;
  std::vector<int> pl;  // VCF order over ref + alts
  std::vector<int> ad;  // ref + alts
  int dp;
  double mq;    // RMS mapping quality
  double sor;   // strand odds ratio (GATK)
  bool haplotype_model;
};

// Records whose POS lies in [beg, end), sorted by (pos, ref, alts).
std::vector<CallRecord> call_region(BamReader& bam, const Reference& ref, const std::string& contig,
                                    int64_t beg, int64_t end, const CallParams& params, Backend backend);

}  // namespace gms
