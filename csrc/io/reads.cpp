#include "gmscall/reads.hpp"

#include <cstring>

namespace gms {

void ReadBatch::clear() {
  pos.clear(); end.clear(); flag.clear(); mapq.clear();
  cigar_off.clear(); n_cigar.clear(); cigar.clear();
  seq_off.clear(); len.clear(); seq.clear(); qual.clear();
  name_hash.clear(); mate_pos.clear(); sample.clear();
}

ReadView ReadBatch::view() const {
  ReadView v;
  v.n = size();
  v.pos = pos.data(); v.end = end.data(); v.flag = flag.data(); v.mapq = mapq.data();
  v.cigar_off = cigar_off.data(); v.n_cigar = n_cigar.data(); v.cigar = cigar.data();
  v.seq_off = seq_off.data(); v.len = len.data(); v.seq = seq.data(); v.qual = qual.data();
  return v;
}

void ReadBatch::compact(const std::vector<uint8_t>& keep) {
  // In place and stable: every kept read moves left (or stays), so no data is overwritten before
  // it is read, and the vectors keep their capacity.
  int32_t w = 0;
  size_t cw = 0, sw = 0;
  for (int32_t i = 0; i < size(); ++i) {
    if (!keep[i]) continue;
    const uint32_t nc = n_cigar[i];
    const uint32_t co = cigar_off[i];
    const uint64_t so = seq_off[i];
    const uint32_t l = len[i];
    pos[w] = pos[i]; end[w] = end[i];
    flag[w] = flag[i]; mapq[w] = mapq[i];
    cigar_off[w] = static_cast<uint32_t>(cw);
    n_cigar[w] = nc;
    std::memmove(cigar.data() + cw, cigar.data() + co, nc * sizeof(uint32_t));
    cw += nc;
    seq_off[w] = sw;
    len[w] = l;
    std::memmove(seq.data() + sw, seq.data() + so, l);
    std::memmove(qual.data() + sw, qual.data() + so, l);
    sw += l;
    name_hash[w] = name_hash[i];
    mate_pos[w] = mate_pos[i];
    sample[w] = sample[i];
    ++w;
  }
  const size_t n = static_cast<size_t>(w);
  pos.resize(n); end.resize(n); flag.resize(n); mapq.resize(n);
  cigar_off.resize(n); n_cigar.resize(n); cigar.resize(cw);
  seq_off.resize(n); len.resize(n); seq.resize(sw); qual.resize(sw);
  name_hash.resize(n); mate_pos.resize(n); sample.resize(n);
}

}  // namespace gms
