// Shared definitions for the kernel headers (compiled by g++ and by nvcc) and the host code.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define GMS_HD __host__ __device__ inline
#else
#define GMS_HD inline
#endif

namespace gms {

// Allele codes used everywhere: bases 0..3, N 4, deletion 5.
enum Allele : uint8_t { kA = 0, kC = 1, kG = 2, kT = 3, kN = 4, kDel = 5 };
constexpr int kNumAlleles = 6;
constexpr int kNumBases = 5;  // A C G T N

// BAM CIGAR operations (htslib's numbering, so the packed uint32 can be copied as is).
enum CigarOp : uint32_t {
  kCigM = 0, kCigI = 1, kCigD = 2, kCigN = 3, kCigS = 4, kCigH = 5, kCigP = 6, kCigEq = 7, kCigX = 8
};

// Effective quality of a base that an overlapping mate already counted.
constexpr uint8_t kMaskedQual = 0xFF;
// Cap of a quality raised by an agreeing overlapping mate (htslib tweak_overlap_quality).
constexpr int kOverlapQualCap = 200;

}  // namespace gms
