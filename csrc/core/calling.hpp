// Stages of variant calling shared by core/candidates.cpp, core/haplotypes.cpp, core/genotyper.cpp
// and core/caller.cpp (the orchestration). Internal to the C++ core.
#pragma once
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "gmscall/backend.hpp"
#include "gmscall/caller.hpp"
#include "gmscall/pileup.hpp"
#include "gmscall/reads.hpp"

namespace gms::calling {

inline constexpr char kBaseChar[5] = {'A', 'C', 'G', 'T', 'N'};
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

// Indels with their repeat tracts, and the alleles near them: genotyped together.
struct Window {
  int64_t beg, end;            // reference interval [beg, end)
  std::vector<Candidate> alleles; // sorted
};

// A window's read-backed haplotypes and the reads aligned to them (jobs first_job.. of the batch,
// read-major: job = first_job + read * haps + hap).
struct WindowWork {
  const Window* win;
  std::vector<uint64_t> haps;  // allele masks, haps[0] = reference
  std::vector<int32_t> reads;  // batch indices
  size_t first_job;
};

// ---- candidates.cpp
uint32_t sum_counts(const PileupResult& pu, int64_t x, int allele);
uint32_t depth_at(const PileupResult& pu, int64_t x);
void normalize_indel(const RefSeq& ref, int64_t min_pos, Candidate& a);
std::vector<Candidate> find_candidates(const PileupResult& pu, const RefSeq& ref, const CallParams& p);
void split_windows(const std::vector<Candidate>& alleles, std::vector<Window>& windows,
                   std::vector<Candidate>& site_snvs);

// ---- haplotypes.cpp
void plan_window(const ReadBatch& batch, const ReadView& rv, const std::vector<uint8_t>& eff_qual,
                 const RefSeq& ref, const Window& win, const CallParams& p, int64_t max_span,
                 PairHmmBatch& jobs, std::vector<WindowWork>& work);
PairHmmTables make_pairhmm_tables();

// ---- genotyper.cpp
void call_site_snvs(const PileupResult& pu, const std::vector<Candidate>& snvs, const CallParams& p,
                    int64_t beg, int64_t end, std::vector<CallRecord>& out);
void genotype_window(const WindowWork& w, const ReadBatch& batch, const std::vector<double>& lik,
                     const RefSeq& ref, const PileupResult& pu, const CallParams& p, int64_t beg, int64_t end,
                     std::vector<CallRecord>& out);

}  // namespace gms::calling
