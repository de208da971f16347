// Stages of variant calling shared by core/candidates.cpp, core/haplotypes.cpp, core/genotyper.cpp
// and core/caller.cpp (the orchestration). Internal to the C++ core.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "gmscall/backend.hpp"
#include "gmscall/caller.hpp"
#include "gmscall/pileup.hpp"
#include "gmscall/reads.hpp"
#include "kernels/alignment_walk.hpp"

namespace gms {
class BamReader;
class Reference;
}

namespace gms::calling {

inline constexpr char kBaseChar[5] = {'A', 'C', 'G', 'T', 'N'};
inline constexpr char kNonRef[] = "<NON_REF>";  // gVCF: any allele not otherwise listed
constexpr int kMaxQual = 60;         // base/mapping quality cap of the models
constexpr double kInit = 1e280;      // pair-HMM scaling (kernels/pairhmm.hpp)

// Reference bases of the shard's neighbourhood; positions outside read as N.
struct RefSeq {
  std::string s;
  int64_t beg = 0;
  char at(int64_t p) const {
    return (p >= beg && p < beg + static_cast<int64_t>(s.size())) ? s[static_cast<size_t>(p - beg)] : 'N';
  }
  std::string sub(int64_t p, int64_t n) const {
    std::string out;
    for (int64_t k = 0; k < n; ++k) out.push_back(at(p + k));
    return out;
  }
};

// A candidate allele, indels in VCF normal form (left-aligned, anchored on a real base).
struct Candidate {
  int64_t pos;      // SNV: the base; indel: the anchor base before it
  int32_t len;      // 0: SNV; > 0 insertion; < 0 deletion
  std::string seq;  // alt base, inserted bases or deleted reference bases
  uint32_t support = 0;
  int64_t tract_end = 0;  // last position of the repeat tract the indel could slide along
  bool is_indel() const { return len != 0; }
  int64_t ref_end() const { return len < 0 ? pos + 1 - len : pos + 1; }  // exclusive end of REF span
  bool operator<(const Candidate& o) const { return std::tie(pos, len, seq) < std::tie(o.pos, o.len, o.seq); }
  bool operator==(const Candidate& o) const { return pos == o.pos && len == o.len && seq == o.seq; }
};

// A haplotype that local assembly found: its alleles (sorted, normalised) and the read support of
// its weakest non-reference edge.
struct AssembledHaplotype {
  std::vector<Candidate> alleles;
  uint32_t support = 0;
};

// Indels with their repeat tracts, and the alleles near them: genotyped together.
struct Window {
  int64_t beg, end;            // reference interval [beg, end)
  std::vector<Candidate> alleles; // sorted
  std::vector<AssembledHaplotype> seeds;  // assembled haplotypes, restricted to the window
  // gVCF only: tandem-repeat alleles next to the window's indels that the sample's reads did not
  // make candidates (add_repeat_length_alleles), sorted. Their haplotypes are aligned and their
  // likelihoods listed for cohort genotyping, but the sample's own call never weighs them. Mask
  // bits: alleles first, then extras.
  std::vector<Candidate> extras;
};

// The window allele of mask bit k: its candidates, then its gVCF extras.
inline const Candidate& window_allele(const Window& w, size_t k) {
  return k < w.alleles.size() ? w.alleles[k] : w.extras[k - w.alleles.size()];
}
inline size_t n_window_alleles(const Window& w) { return w.alleles.size() + w.extras.size(); }

// A window's read-backed haplotypes and the reads aligned to them (jobs first_job.. of the batch,
// read-major: job = first_job + read * haps + hap).
struct WindowWork {
  const Window* win;
  std::vector<uint64_t> haps;  // allele masks, haps[0] = reference
  std::vector<int32_t> reads;  // batch indices
  size_t first_job;
  // haps[first_extra..] carry one of win->extras each (gVCF): outside the sample's own model.
  size_t first_extra = 0;
};

// Where each CIGAR op of a batch starts (entries aligned with batch.cigar): its reference and
// query offsets from the read's first aligned base and first base. With it a stage looks at the
// part of a read that a window covers without walking the rest (a long read is 30 kb or more).
struct OpIndex {
  std::vector<uint32_t> ref, query;
  void build(const ReadBatch& batch);
};

// walk_alignment_range of read i over reference [lo, hi), entered at the op that holds lo (or the
// aligned op before it, so that indel anchors are those of a whole walk).
template <class Visitor>
void walk_read_window(const ReadView& r, const OpIndex& ix, int i, int64_t lo, int64_t hi, Visitor& v) {
  const uint32_t first = r.cigar_off[i], n = r.n_cigar[i];
  const uint32_t* ref0 = ix.ref.data() + first;
  const int64_t rel = lo - r.pos[i];
  uint32_t k = 0;
  if (rel > 0) {
    k = static_cast<uint32_t>(std::upper_bound(ref0, ref0 + n, static_cast<uint32_t>(std::min<int64_t>(rel, UINT32_MAX))) - ref0);
    k = k > 0 ? k - 1 : 0;
  }
  while (k > 0 && !(is_aligned_op(cigar_op(r.cigar[first + k])) && cigar_len(r.cigar[first + k]) > 0)) --k;
  walk_alignment_range(r, i, k, r.pos[i] + ref0[k], ix.query[first + k], lo, hi, v);
}

// One sample's reads of the shard and its pileup.
struct SampleEvidence {
  PreparedReads reads;
  PileupResult pu;
  std::vector<uint8_t> eff_qual;
  OpIndex ops;  // of reads.batch
};

// Every sample's reads in coordinate order (batch->sample: the column), for the haplotype stage.
struct CohortReads {
  const ReadBatch* batch = nullptr;
  const std::vector<uint8_t>* eff_qual = nullptr;
  const OpIndex* ops = nullptr;
  ReadBatch merged;  // storage when there are several samples
  std::vector<uint8_t> merged_qual;
  OpIndex merged_ops;
};

// One sample's evidence at a record's site, from the per-site or the haplotype model, over the
// genotypes genotype_list(ploidy, number of alleles).
struct SampleSite {
  int ploidy = 2;
  bool covered = false;      // reads at the site, and ploidy > 0
  int dp = 0;
  std::vector<int> ad;
  std::vector<int> pl;
  std::vector<double> post;  // log10 posterior per genotype under the fixed priors (normalised over
                             // every hypothesis of the model, so it may sum to less than 1 here)
  std::vector<double> prior; // log10 fixed prior of each genotype, as `post` used it (also when the
                             // sample is not covered: a trio's parent without reads weighs by it)
  double p_ref_only = 0.0;   // log10 posterior of carrying no ALT of the site
  int called = 0;            // the model's own call (genotype index)
  std::vector<double> gl;    // gVCF: log10 likelihoods over the alleles and <NON_REF> (FORMAT GL)
};

// ---- caller.cpp
// What every calling mode starts from, for one shard: each sample's reads and pileup, the
// candidates (after assembly) split into per-site SNVs and haplotype windows, and the pair-HMM
// likelihoods of the windows that can put a record into [lo, end).
struct ShardEvidence {
  std::vector<SampleEvidence>* samples = nullptr;  // this thread's buffers
  RefSeq ref;
  int64_t lo = 0;  // first position a record of this shard may have
  std::vector<Candidate> site_snvs;
  std::vector<Window> windows;  // WindowWork points into it
  std::vector<WindowWork> work;
  std::vector<double> lik;      // per pair-HMM job
  const ReadBatch* batch = nullptr;  // the windows' reads, every sample
  WindowCounts counts;  // of the windows that start in [beg, end)
};
// `reach` / `after`: how far before beg / after end a record may lie and still matter to this
// shard (windows reaching there are aligned too).
void shard_evidence(const std::vector<BamReader*>& bams, const Reference& ref, const std::string& contig, int64_t beg,
                    int64_t end, int64_t reach, const CallParams& params, const Cohort& cohort, Backend backend,
                    ShardEvidence& ev, int64_t after = 0);

// ---- refconf.cpp
// Reference blocks of [beg, end) of the first sample, around `records` (which may reach in from
// before beg). `explained[x - beg]`: a position inside a haplotype window that none of its
// haplotypes changes (haplotype_explained), whose reads count as reference there.
void reference_blocks(const PileupResult& pu, const std::vector<CallRecord>& records,
                      const std::vector<uint8_t>& explained, int64_t beg, int64_t end, const Cohort& cohort,
                      const CallParams& p, std::vector<RefBlock>& out);
// Positions of [beg, end) between the first and the last allele of a genotyped window (its repeat
// tracts included) that no haplotype of the window changes.
std::vector<uint8_t> haplotype_explained(const std::vector<WindowWork>& work, int64_t beg, int64_t end);

// ---- samples.cpp
void gather_sample_reads(const std::vector<BamReader*>& bams, const std::vector<int>& tids, const Cohort& cohort,
                         int64_t beg, int64_t end, const PileupParams& params, std::vector<SampleEvidence>& out);
// Every sample's reads that overlap one of `windows` (sorted, disjoint), in coordinate order.
void merge_cohort_reads(const std::vector<SampleEvidence>& samples, const std::vector<Window>& windows,
                        CohortReads& out);

// ---- joint.cpp
// Genotypes of a ploidy over n alleles in VCF order: diploid (0,0), (0,1), (1,1), (0,2), ...;
// haploid (0), (1), ...; ploidy 0: none.
std::vector<std::vector<int>> genotype_list(int ploidy, int n_alleles);
// log10 fixed prior of a genotype whose ALT alleles are SNVs or indels (per allele: `indel`).
double genotype_prior(const std::vector<int>& g, const std::vector<bool>& indel, const CallParams& p);
// Per-sample genotypes, QUAL and de novo qualities of a site. With one sample and no pedigree,
// each sample keeps its model's own call; otherwise the priors take the cohort's allele
// frequencies (leave-one-out) and the trios' transmission into account. Returns false when no
// sample carries an ALT or QUAL < min_qual (`rec` is filled in all the same: a gVCF writes it).
// `rec` comes with its REF, ALTs and SOR (FILTER StrandBias reads them).
bool genotype_cohort(const std::vector<SampleSite>& sites, int n_alleles, const Cohort& cohort, const CallParams& p,
                     double qual_cap, CallRecord& rec);
// A sample's site evidence from its genotype likelihoods alone (log10, genotype_list order; empty:
// no call), as when genotyping from gVCFs.
SampleSite site_from_likelihoods(int ploidy, int dp, const std::vector<int>& ad, const std::vector<double>& gl,
                                 const std::vector<bool>& indel, const CallParams& p);
// One sample at a site genotyped from gVCFs: its likelihoods over the site's alleles (those it
// lacks priced as its <NON_REF>) and its own call there (genotype index; -1: it has no record).
struct GvcfSample {
  int ploidy = 2;
  int dp = 0;
  std::vector<int> ad;
  std::vector<double> gl;  // empty: no call
  int called = -1;
};
// Genotypes a cohort site from gVCFs as calling the BAMs would: the ALTs are those of per-site
// records (`per_site`, listed whatever the call, as the per-site model lists its candidates) and
// those some sample's own call carries (a haplotype record lists only those); the posterior mass
// of the alleles left out counts as carrying none of the record's ALTs, as haplotypes that no
// sample selected do in the haplotype model. `hap`: a haplotype-model site (QUAL capped at 3000).
// `ref` holds the reference from the site's first base (`pos`) on, far enough to measure its
// tracts: the priors are record_params' over `prior_alleles` (empty: `alleles`), as a window's
// record gets them over the alleles its haplotypes selected (the samples' own calls).
// Fills rec (REF and ALTs trimmed to their minimal form) and returns genotype_cohort's answer;
// false also when no ALT is left.
bool genotype_gvcf_site(const std::vector<std::string>& alleles, const std::vector<GvcfSample>& samples,
                        const std::vector<bool>& per_site, bool hap, const Cohort& cohort, const CallParams& p,
                        const RefSeq& ref, int64_t pos, CallRecord& rec,
                        const std::vector<std::string>& prior_alleles = {});
// Two-sided binomial probability of a split at least as uneven as k of n, at success rate p.
double binomial_two_sided(int k, int n, double p);
// A strand-specific error's shape: of `alt_f + alt_r` ALT reads (8 or more) at most a tenth on one
// strand while the REF reads are on both (the minor strand 20 % or more of them), and the split
// unlikely (two-sided binomial p < max_p) at the REF reads' forward share.
bool alt_strand_biased(double ref_f, double ref_r, double alt_f, double alt_r, double max_p);
// FILTER StrandBias of an indel record of the haplotype model (CallParams::ont_indel_strand_p): every
// sample carrying an ALT is ONT and the cohort's ALT reads are strand-biased.
bool ont_indel_strand_bias(const CallRecord& rec, double ref_f, double ref_r, double alt_f, double alt_r,
                           const CallParams& p);
// Drops the bases every allele ends with (VCF's minimal form; REF keeps at least one).
void trim_common_suffix(std::vector<std::string>& alleles);

// log10 of a sum of powers of ten, without overflow (-INFINITY for an empty or all -INFINITY sum).
inline double log10_sum(const std::vector<double>& v) {
  double m = -INFINITY;
  for (double x : v) m = x > m ? x : m;
  if (m == -INFINITY) return m;
  double s = 0.0;
  for (double x : v) s += std::pow(10.0, x - m);
  return m + std::log10(s);
}

// ---- assembly.cpp
constexpr int kMaxAssembledIndel = 300;  // longest indel taken from an assembled haplotype


// Reference interval [beg, end) to assemble.
struct ActiveRegion {
  int64_t beg, end;
};
// Regions of [beg, end) where reads disagree with the reference beyond what single CIGAR
// candidates explain: soft clips on two reads or more within a few bases, two indels close
// together, an indel among mismatches, an indel of 10 bp or more, or indel alleles below the
// candidate thresholds (find_candidates' `below`) whose reads together reach them. Empty where all
// is quiet.
std::vector<ActiveRegion> active_regions(const std::vector<SampleEvidence>& samples,
                                         const std::vector<Candidate>& candidates,
                                         const std::vector<Candidate>& below_thresholds, const CallParams& p,
                                         int64_t beg, int64_t end);
// Haplotypes of the region's reads (all samples pooled) that carry an indel, from the first
// k-mer size whose graph has no cycle.
std::vector<AssembledHaplotype> assemble_region(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                                const ActiveRegion& region, int64_t max_span, const CallParams& p);
// The graph step alone, on plain sequences (all bases of quality 30): the k that gave an acyclic
// graph (0: none did) and its best source-to-sink paths, the reference's among them. For tests.
struct GraphPaths {
  int k = 0;
  std::vector<std::string> paths;
};
GraphPaths assemble_sequences(const std::string& ref, const std::vector<std::string>& reads, uint32_t min_support);
// The normalised edits (SNVs, indels) that turn reference [beg, end) into `hap` (empty: none that
// keep its sequence), by the alignment assembly uses for its paths.
std::vector<Candidate> haplotype_edits(const RefSeq& ref, int64_t beg, int64_t end, const std::string& hap);
// Adds the assembled alleles that are not already candidates (sorted order kept, with their support
// and repeat tracts) and raises the support of those that are to their haplotypes' support.
void add_assembled_alleles(const RefSeq& ref, const std::vector<AssembledHaplotype>& haps,
                           std::vector<Candidate>& alleles);
// Tandem duplications (internal tandem duplications, up to kMaxAssembledIndel) that soft clips of
// [beg, end) point to, each as a one-allele haplotype with its number of reads (at least two):
// the clipped bases repeat the reference next to the clip. Complements the graph,
// which folds on a duplication longer than its k.
std::vector<AssembledHaplotype> clipped_duplications(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                                     int64_t beg, int64_t end, const CallParams& p);
// ---- repeat_alleles.cpp
// Tandem-repeat alleles from the tract lengths the reads spell (primitive units of 2-6 bp, tracts
// of 10 bp or more, touching ones merged into one compound tract; those of the indel `candidates`
// and those in the active `regions`, meeting [beg, end)):
// every length that spanning reads of two fragments show, and, where two fragments run past all of
// those without reaching the other flank (flanking reads, soft-clipped by the aligner), the
// shortest longer allele in whole units that holds them. Each is a one-allele haplotype with its
// fragments as support.
std::vector<AssembledHaplotype> repeat_length_alleles(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                                      const std::vector<Candidate>& candidates,
                                                      const std::vector<ActiveRegion>& regions, int64_t beg,
                                                      int64_t end, int64_t max_span, const CallParams& p);
// Gives each window the part of every assembled haplotype that falls inside it.
void seed_windows(const std::vector<AssembledHaplotype>& haps, std::vector<Window>& windows);

// ---- candidates.cpp
int64_t tract_end(const RefSeq& ref, const Candidate& a);
uint32_t sum_counts(const PileupResult& pu, int64_t x, int allele);
uint32_t depth_at(const PileupResult& pu, int64_t x);
void normalize_indel(const RefSeq& ref, int64_t min_pos, Candidate& a);
// `below` receives the indel alleles seen on reads that miss the thresholds (support: their reads),
// sorted.
std::vector<Candidate> find_candidates(const std::vector<SampleEvidence>& samples, const RefSeq& ref,
                                      const CallParams& p, std::vector<Candidate>& below);
void split_windows(const std::vector<Candidate>& alleles, std::vector<Window>& windows,
                   std::vector<Candidate>& site_snvs);
// gVCF: gives each window its extras (Window::extras) at the positions of its tandem-repeat indels:
// the alleles there that reads carry below the candidate thresholds (`below`, with their support),
// then, where the repeat is long enough for stutter to blur its length, the lengths one and two
// repeat units either side of REF and of each indel allele there (support 0; plan_window keeps
// those whose repeat is long enough for the window's reads to end inside it). At most 8 a window. A cohort sample's allele
// at a repeat is often one the sample's own reads show too weakly to propose (reads that end
// inside the repeat, a fraction just below the threshold), and joint calling weighs every
// sample's reads against it; without the extras the gVCF has only <NON_REF> for it.
void add_repeat_length_alleles(const RefSeq& ref, const std::vector<Candidate>& below, const CallParams& p,
                               std::vector<Window>& windows);

// ---- indel_screen.cpp
// The tandem-repeat tract an indel changes, as the learnt error model counts tracts: the primitive
// period (1-8) of its inserted or deleted bases, the reference tract's length in whole units
// (1-kStrMaxUnits) and the indel's signed length in units. period 0: an SNV, or bases of no period
// up to 8.
struct IndelTract {
  int period = 0, units = 0, step = 0;
};
IndelTract indel_tract(const Candidate& a);
// Per window allele (k) and sample column (s), at [k * columns + s]: the reads that cover the allele
// and those that carry it (plan_window's read_carries).
struct AlleleReadCounts {
  size_t columns = 0;
  std::vector<int> carriers, covering;
};
// What read i tells the screen about allele a, from read_carries (`carries`) and the read's indels
// near the window: 1 it carries a, 0 it shows the reference's length at a's tract (no indel within
// kScreenPad of the tract), -1 neither (it does not cover a, or carries another indel there: a
// read that spells the allele another way, or another allele, is left out rather than counted
// against a, which can only raise a's QUAL).
constexpr int kScreenPad = 10;
int screen_read_state(const Candidate& a, int carries, const std::vector<Candidate>& read_indels);
// The count-level QUAL of an allele in one sample: -10 log10 P(hom-ref) from `carriers` of
// `covering` reads under the genotyper's hypotheses, a read of a haplotype without the allele
// showing it with probability `error`, and the indel priors.
double screen_qual(int carriers, int covering, double error, double het_prior, double hom_prior);
// Does the learnt error model explain every allele of `win` (CallParams::indel_screen_qual)? Only
// windows of one-unit indels at tracts the model has a rate for, with no assembled or gVCF extra
// haplotypes, and only where every sample with reads there has a table.
bool screenable(const Window& win, const CallParams& p);
bool errors_explain_window(const Window& win, const AlleleReadCounts& counts, const CallParams& p);

// ---- haplotypes.cpp
// Longest soft clip taken with the aligned bases next to it; a longer one is the rest of a split
// (supplementary) alignment of a long read, not an insertion a window can explain.
constexpr uint32_t kMaxClipKept = 400;
// The query bases [qs, qe) of read i aligned inside reference [lo, hi), with the soft clips
// adjacent to them (an aligner clips an insertion longer than the read's overhang).
struct QueryClip {
  uint32_t qs = 0, qe = 0;
  int64_t first_ref = 0;    // reference position of the first aligned base kept
  int64_t last_ref = 0;     // and of the last
  uint32_t left_clip = 0;   // soft-clipped bases kept before the first aligned one
  uint32_t right_clip = 0;  // and after the last
};
QueryClip query_span(const ReadView& r, const OpIndex& ix, int i, int64_t lo, int64_t hi);
// Applies allele `a` to `seq`, whose first base is reference position seq_beg. Several alleles of
// one haplotype are applied right to left, so that earlier positions stay valid.
void apply_candidate(std::string& seq, int64_t seq_beg, const Candidate& a);
// Plans window `win`'s pair-HMM jobs into `jobs` and its WindowWork into `work` (none when it has
// no reads or fewer than two haplotypes). Returns whether the indel screen left it out.
bool plan_window(const ReadBatch& batch, const ReadView& rv, const OpIndex& ix, const std::vector<uint8_t>& eff_qual,
                 const RefSeq& ref, const Window& win, const CallParams& p, int64_t max_span,
                 PairHmmBatch& jobs, std::vector<WindowWork>& work);
PairHmmTables make_pairhmm_tables();
// A whole haplotype's gap code and slip word per position (none: no slips) from a learnt model's
// table (str_index layout: gap codes, then with slips the loss and gain tables), as plan_window
// sets them for a window's haplotypes (benchmarks/model_calibration.py asks what they imply).
struct HaplotypeCodes {
  std::vector<uint8_t> gap;
  std::vector<uint32_t> slip;
};
HaplotypeCodes haplotype_model_codes(const std::string& h, const std::vector<uint8_t>& table);

// ---- genotyper.cpp
void call_site_snvs(const std::vector<SampleEvidence>& samples, const std::vector<Candidate>& snvs,
                    const CallParams& p, const Cohort& cohort, int64_t beg, int64_t end, std::vector<CallRecord>& out);
// Per read x haplotype (read-major) log10 likelihoods of a window's pair-HMM jobs, each read's
// floored by the chance that it is mismapped (its MAPQ below its best haplotype).
std::vector<double> read_likelihoods(const WindowWork& w, const ReadBatch& batch, const std::vector<double>& lik);
void genotype_window(const WindowWork& w, const ReadBatch& batch, const std::vector<double>& lik, const RefSeq& ref,
                     const std::vector<SampleEvidence>& samples, const CallParams& p, const Cohort& cohort,
                     int64_t beg, int64_t end, std::vector<CallRecord>& out);
// The longest tandem-repeat tract after the anchor (pos) of a record's insertions and deletions
// (its alleles with their common suffix trimmed: one base and that base plus the inserted or
// deleted unit), measured by tract_end as for a window's indels; 0 for SNVs and complex alleles.
int64_t long_tract_bases(const RefSeq& ref, int64_t pos, const std::vector<std::string>& alleles);
// The factor on the indel priors of an indel in a tract of `bases` bases: the learnt table's
// (CallParams::long_tract_prior_scales) where there is one, else long_tract_prior_scale from
// long_tract_bases bases on, else 1.
double tract_prior_scale(int64_t bases, const CallParams& p);
// Are the indel priors scaled anywhere (a table, or a flat factor other than 1)?
bool tract_priors_on(const CallParams& p);
// The longest tract whose length the factor depends on (tracts longer than this get its last value).
int64_t tract_prior_reach(const CallParams& p);
// The factor on an indel candidate's priors: tract_prior_scale of its tract (tract_end).
double indel_prior_scale(const Candidate& a, const CallParams& p);
// A record's parameters (alleles anchored at pos, REF first): p, or in `scaled` p's indel priors
// times tract_prior_scale of the longest reference tandem-repeat tract (tract_end) one of its ALTs
// inserts into or deletes from.
const CallParams& record_params(const RefSeq& ref, int64_t pos, const std::vector<std::string>& alleles,
                                const CallParams& p, CallParams& scaled);

// ---- phasing.cpp
// A read's log10 likelihood of each allele of a haplotype-model record (its best haplotype with it).
struct ReadAlleles {
  uint64_t frag;
  int64_t reach;
  std::vector<double> lik;
};
// PhaseObs::reach of read i: its last aligned position, or its mate's start + this read's length.
int64_t fragment_reach(const ReadBatch& batch, int32_t i);
// SampleCall::phase of the het per-site SNV records (PASS) of `recs`: each read's base there.
void site_phase_obs(const std::vector<SampleEvidence>& samples, const CallParams& p, std::vector<CallRecord>& recs);
// SampleCall::phase of a haplotype-model record (PASS) from its reads' allele likelihoods, per sample.
void window_phase_obs(const std::vector<std::vector<ReadAlleles>>& reads, CallRecord& rec);

}  // namespace gms::calling
