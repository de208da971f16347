// Entry point of variant calling for one shard: candidates -> likelihoods -> genotypes -> records.
#pragma once
#include <array>
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
  // FILTER StrandBias on SNV records: GATK's hard-filter bounds (SOR > 3, QD < 2), here required
  // together. Either alone also fires on true SNVs (random strand splits, low-fraction hets).
  double strand_bias_sor = 3.0;
  double strand_bias_qd = 2.0;
  // Sequencing platform per VCF column (Platform codes; from @RG PL or --platform). Empty: all
  // unknown. A platform is an error model (gmscall.error_model) and these thresholds:
  std::vector<int> platforms;
  // FILTER StrandBias on indel records whose ALT-carrying samples are all ONT: the ALT reads keep to
  // one strand (at most a tenth on the other, 8 reads or more) while the REF reads are on both, a
  // split with two-sided binomial p below this at the REF reads' strand share (as the somatic
  // strand_bias_p). R10 basecalls insert a base on one strand only at some motifs.
  double ont_indel_strand_p = 1e-3;
  // Long reads: the indel priors (het and hom) times this for a haplotype window with an indel in
  // a reference tandem-repeat tract of long_tract_bases bases or more (1: off). Set by call() where
  // every sample is PACBIO or ONT: length polymorphisms of long homopolymers are far more common
  // than indels elsewhere, and a long read's evidence there is weak (an ONT read gives the
  // length of a 12-19-base homopolymer right 20-50 % of the time), so the genome-wide prior hid
  // real hets there (gmscall.error_model's notes; docs/long-reads.md).
  double long_tract_prior_scale = 1.0;
  int long_tract_bases = 8;
  // Where not empty, the factor by the tract's length in bases instead (the last entry for longer
  // tracts; long_tract_prior_scale and long_tract_bases are then not used): the tract prior learnt
  // from the sample's own reads (gmscall.error_model.tract_prior_scales), non-decreasing, >= 1.
  std::vector<double> long_tract_prior_scales;
  // Germline per-site SNVs: the mapping-artefact hypothesis (reads of a paralogous copy that the
  // aligner placed here; core/genotyper.cpp, paralog_evidence). Its prior per candidate SNV (0: off),
  // and the Beta(alpha, beta) of twice the ALT reads' share under it (a share below one half).
  double paralog_prior = 1e-6;
  double paralog_alpha = 2.0, paralog_beta = 3.0;
  int max_haplotypes = 12;
  bool assemble = true;         // local assembly of active regions (core/assembly.cpp)
  int gap_open_max = 45;        // pair-HMM gap open (Phred) outside repeats
  int gap_open_min = 30;        // ... floor inside long repeats
  double gap_open_slope = 1.0;  // ... Phred lost per extra repeat unit
  // Learnt indel error models (gmscall.error_model), per sample column: kStrTableSize gap-open
  // Phred codes by [period][units] (str_index); an empty table, or no tables, means the default
  // above. A position's code is the lowest over the tracts (periods 1-8) that cover it. A table of
  // 3 kStrTableSize codes also holds each tract's one-unit slip codes, losses then gains
  // (Phred, 0: none; core/haplotypes.cpp slip_words).
  std::vector<std::vector<uint8_t>> gap_open_tables;
  // The indel screen (core/indel_screen.cpp): per sample column, kStrTableSize probabilities by
  // [period][units] that a read shows one given one-unit indel of the tract where its haplotype has
  // none (from the learnt rates; 0: unknown), and the count-level QUAL below which a window whose
  // indels all lie at such tracts opens no pair-HMM job (0: off; call() sets it for germline runs
  // without --gvcf).
  std::vector<std::vector<double>> allele_error_tables;
  double indel_screen_qual = 0.0;
  int64_t read_pad = 400;       // reads and candidates are gathered this far beyond the shard
  double de_novo_prior = 1e-3;  // trios: chance that a child carries an allele neither parent has
  bool gvcf = false;            // <NON_REF> on records and reference blocks (one sample)
  std::vector<int> gq_bands{1, 10, 20, 30, 40, 50, 60, 99};  // lower bounds of the blocks' GQ bands
  bool gvcf_depth_classes = true;  // also split blocks where the depth crosses a class bound
  // Somatic mode (call_region_somatic)
  double tlod_emit = 3.0;          // alleles below are not written
  double tlod_pass = 6.3;          // FILTER weak_evidence below
  double nlod_min = 2.2;           // FILTER germline_risk below (tumour/normal)
  double germline_lod = 2.0;       // tumour-only: germline_risk within this of a germline fraction
  double normal_contamination = 0.05;  // share of tumour cells the normal may carry
  double normal_artifact_lod = 2.0;    // FILTER normal_artifact: normal evidence beyond contamination
  double min_tumor_af = 0.03;      // FILTER low_allele_fraction below
  double strand_bias_p = 1e-3;     // FILTER strand_bias: two-sided binomial p of the ALT reads' strands
  int cluster_max = 2;             // FILTER clustered_events: more other events within 50 bp
  // Read-backed phasing: each read's allele at the heterozygous PASS calls (SampleCall::phase)
  bool phase = true;
};

enum SomaticFilter : int {
  kWeakEvidence = 1,
  kGermlineRisk = 2,
  kNormalArtifact = 4,
  kStrandBias = 8,
  kLowAlleleFraction = 16,
  kClusteredEvents = 32,
};

struct SomaticSample {
  int ref = 0, alt = 0, dp = 0;  // reads favouring REF / ALT by 3x or more; reads at the site
  double af = 0.0;               // maximum-likelihood allele fraction
};

// One somatic candidate allele (one ALT per record); samples: tumour, then normal if given.
struct SomaticRecord {
  int64_t pos = 0;
  std::string ref, alt;
  double tlod = 0.0;
  double nlod = 0.0;  // tumour/normal only
  int filters = 0;    // SomaticFilter bits; 0: PASS (set only when tlod >= tlod_emit: written)
  std::vector<SomaticSample> samples;
};

enum Platform : int { kPlatformUnknown = 0, kPlatformIllumina = 1, kPlatformPacbio = 2, kPlatformOnt = 3 };

enum FilterBits : int { kFilterLowQual = 1, kFilterStrandBias = 2 };

// Copies of a chromosome that a sample carries over [beg, end) (0, 1 or 2).
struct PloidyInterval {
  int64_t beg, end;
  int ploidy;
};

// The samples of a run: how the BAMs' samples map to VCF columns, their ploidy, their families.
struct Cohort {
  int n_samples = 1;
  // Per BAM, in input order: the column of each of its samples (BamReader::samples() order).
  // Samples of the same name in several BAMs share a column (their reads are pooled).
  std::vector<std::vector<int>> bam_columns{{0}};
  // Per column: intervals of a ploidy other than 2, sorted (positions not covered are diploid).
  std::vector<std::vector<PloidyInterval>> ploidy;
  // (child, father, mother) columns of each trio of the pedigree.
  std::vector<std::array<int, 3>> trios;
  int ploidy_at(int column, int64_t pos) const;
};

// One read's (fragment's) allele at a sample's heterozygous call, for phasing (gmscall/phasing.hpp).
struct PhaseObs {
  uint64_t frag;  // read-name hash: the two mates of a pair are one fragment
  int64_t reach;  // last position the fragment may cover (the read's end, its mate's start + length)
  int16_t w;      // Phred-scaled support: > 0 for the GT's second allele, < 0 for its first
};

// One sample's genotype at a record.
struct SampleCall {
  int ploidy = 2;
  std::vector<int> gt;  // allele index per chromosome copy; empty: no call (no reads, or ploidy 0)
  int gq = -1;          // -1: missing
  int dp = 0;
  std::vector<int> ad;  // per allele (ref + alts); empty when there is no call
  std::vector<int> pl;  // per genotype of the sample's ploidy (VCF order); empty when there is no call
  std::vector<double> gl;  // gVCF only: log10 likelihoods behind pl (FORMAT GL), <NON_REF> included
  int dnq = -1;         // de novo quality of a child of a trio that carries an ALT; -1 otherwise
  std::vector<PhaseObs> phase;  // het diploid PASS calls (CallParams::phase): the reads' alleles, read order
};

struct CallRecord {
  int64_t pos;  // 0-based POS
  std::string ref;
  std::vector<std::string> alts;
  double qual;   // -10 log10 P(no sample carries an ALT)
  int filter;    // FilterBits
  int dp;        // reads at the site, all samples
  double mq;     // RMS mapping quality, all samples
  double sor;    // strand odds ratio (GATK), all samples
  bool haplotype_model;
  std::vector<SampleCall> samples;  // one per VCF column
  // gVCF: the last `repeat_alts` ALTs before <NON_REF> are tandem-repeat alleles the sample's reads
  // did not make candidates, listed with their likelihoods for cohort genotyping (INFO REPEAT_ALTS)
  int repeat_alts = 0;
};

// gVCF: positions [beg, end) of one sample that no variant record covers, merged while the GQ
// band, the depth class and the ploidy (together: `key`) stay the same. Adjacent blocks of equal
// key (e.g. across a shard border) merge into what one pass would have made.
struct RefBlock {
  int64_t beg, end;
  int gq;          // minimum over the block
  int min_dp;
  int64_t dp_sum;  // DP = dp_sum / (end - beg), rounded down
  int ploidy;
  int key;
  char ref;       // reference base at beg
  int pl[3];      // of the block's first position of minimum GQ: 0/0, 0/N, N/N (haploid: 0, N); inline,
                  // as a genome has millions of blocks
  int n_pl() const { return ploidy == 2 ? 3 : (ploidy == 1 ? 2 : 0); }  // PL values in use
};

// The somatic model on read counts alone (every read at base quality `qual`), for tests and tools.
struct SomaticCounts {
  int alt_fwd = 0, alt_rev = 0, ref_fwd = 0, ref_rev = 0, qual = 30;
};
SomaticRecord score_somatic_counts(const std::vector<SomaticCounts>& samples, const CallParams& params);

// Somatic candidates whose POS lies in [beg, end), sorted by (pos, ref, alt): cohort column 0 is
// the tumour, column 1 (if any) the normal.
std::vector<SomaticRecord> call_region_somatic(const std::vector<BamReader*>& bams, const Reference& ref,
                                               const std::string& contig, int64_t beg, int64_t end,
                                               const CallParams& params, const Cohort& cohort, Backend backend);

// Haplotype windows that start in a shard: those planned for the pair-HMM and those the indel
// screen left out (CallParams::indel_screen_qual).
struct WindowCounts {
  int64_t planned = 0, screened = 0;
};

// Records whose POS lies in [beg, end), sorted by (pos, ref, alts). `bams` holds one reader per
// input file, in the order of cohort.bam_columns. With params.gvcf, records carry <NON_REF> and
// `blocks` receives the reference blocks of [beg, end); `counts`, if given, the shard's windows.
std::vector<CallRecord> call_region(const std::vector<BamReader*>& bams, const Reference& ref,
                                    const std::string& contig, int64_t beg, int64_t end, const CallParams& params,
                                    const Cohort& cohort, Backend backend, std::vector<RefBlock>* blocks = nullptr,
                                    WindowCounts* counts = nullptr);

}  // namespace gms
