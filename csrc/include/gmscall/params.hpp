// Plain option structs; Python's frozen dataclasses (options.py) fill them.
#pragma once
#include <cstdint>

namespace gms {

struct ReadFilter {
  int min_mq = 0;
  // BAM flags that drop a read: unmapped, secondary, QC-fail, duplicate, supplementary.
  uint16_t skip_flags = 0x4 | 0x100 | 0x200 | 0x400 | 0x800;
};

struct PileupParams {
  ReadFilter filter;
  int min_bq = 13;
  bool overlaps = true;     // count the overlapping part of a fragment once
  int64_t max_depth = 0;    // 0: no cap; otherwise a deterministic per-bin read cap
};

}  // namespace gms
