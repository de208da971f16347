// Read-backed phasing: each read's allele at a sample's heterozygous calls (emitted by the shards
// with their records) and the in-order phaser that joins hets into blocks (one object per run,
// fed the shards' records in genome order; see docs/phasing.md).
#pragma once
#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace gms {

// The phaser over a contig's records, fed in genome order. A het (a diploid PASS call with two
// different alleles) joins the block that the fragments (reads and their mates, by read-name hash)
// it shares with earlier hets vote for, oriented by the vote; else it starts a block. A fragment's
// vote for block b: the sign of its haplotype score there (sum of its weighted alleles times their
// hets' orientations) times the sign of its allele here, weighted by the smaller of the two
// magnitudes (the relative phase is wrong when either is). Integer arithmetic: deterministic.
// Pedigree (trios: child, father, mother columns): where the three genotypes of a PASS record say
// which parent gave the child which allele, the child's het is oriented paternal|maternal, and a
// parent's het transmitted|untransmitted (the child hom, or its het so informed); such hets join
// the sample's transmission block (one per contig, phased even alone), whatever the reads say, and
// reads carry that phase on to the hets they connect it to.
// A fragment links a het only up to its reach (PhaseObs::reach, at most max_link past the last het
// it was seen at). Nothing depends on how the records were split into batches: a het's block and
// orientation depend on the hets before it only. A record's phase is final when its block has two
// hets or more, or when no fragment of its block reaches past the last het fed (block_reach).
class Phaser {
 public:
  Phaser(int n_samples, int64_t max_link = 100000, int min_vote = 10,
         std::vector<std::array<int, 3>> trios = {}, bool keep_fragments = false);
  // A new contig: forgets every block and fragment.
  void reset();
  // One batch of records in genome order: pos[n] (0-based), gt[n][ns][2], filter[n] (0: PASS) and
  // the observations of (rec, sample) pairs in (rec, sample) order. Writes block[n][ns] (-1: not a
  // het or not phased) and flip[n][ns] (1: the GT's second allele on the first haplotype).
  void add(int64_t n, const int64_t* pos, const int32_t* gt, const int32_t* filter, int64_t n_obs,
           const int32_t* obs_rec, const int32_t* obs_sample, const uint64_t* obs_frag, const int64_t* obs_reach,
           const int16_t* obs_w, int32_t* block, uint8_t* flip);
  // A block's size (hets so far), first het's position (0-based) and the furthest position a
  // fragment of it may link a het at.
  int32_t block_size(int sample, int32_t block) const;
  int64_t block_first(int sample, int32_t block) const;
  int64_t block_reach(int sample, int32_t block) const;
  // Whether a block is phased (two hets or more, or the transmission block) and its phase final.
  bool block_phased(int sample, int32_t block) const;
  bool block_final(int sample, int32_t block, int64_t frontier) const;
  // With keep_fragments: every fragment of the contig so far with its haplotype in a phased block
  // (HP 1: its score says the first haplotype, 2: the second) and the block's PS (first het + 1);
  // a fragment seen again after it was dropped: its last state.
  struct FragmentTag {
    uint64_t frag;
    int hp;
    int64_t ps;
  };
  std::vector<FragmentTag> fragment_tags(int sample) const;

 private:
  struct Frag {
    int32_t block;
    int32_t score;  // > 0: the fragment is on the second haplotype of its block
    int64_t last;   // position of the last het it was seen at
    int64_t reach;  // last position it may link a het at
  };
  struct Block {
    int64_t first;
    int32_t size;
    int64_t reach;
    bool transmission = false;
  };
  struct SampleState {
    std::unordered_map<uint64_t, Frag> frags;
    std::vector<Block> blocks;
    int32_t transmission_block = -1;
    int64_t last_evict = 0;
    std::vector<std::pair<uint64_t, Frag>> dropped;  // keep_fragments: fragments evicted, in order
  };
  int n_samples_;
  int64_t max_link_;
  int min_vote_;
  std::vector<std::array<int, 3>> trios_;
  bool keep_fragments_;
  std::vector<SampleState> state_;
};

}  // namespace gms
