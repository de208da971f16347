#include "gmscall/reads.hpp"

namespace gms {

void ReadBatch::clear() {
  pos.clear(); end.clear(); flag.clear(); mapq.clear();
  cigar_off.clear(); n_cigar.clear(); cigar.clear();
  seq_off.clear(); len.clear(); seq.clear(); qual.clear();
  name_hash.clear(); mate_pos.clear();
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
  ReadBatch out;
  out.tid = tid;
  for (int32_t i = 0; i < size(); ++i) {
    if (!keep[i]) continue;
    out.pos.push_back(pos[i]); out.end.push_back(end[i]);
    out.flag.push_back(flag[i]); out.mapq.push_back(mapq[i]);
    out.cigar_off.push_back(static_cast<uint32_t>(out.cigar.size()));
    out.n_cigar.push_back(n_cigar[i]);
    out.cigar.insert(out.cigar.end(), cigar.begin() + cigar_off[i], cigar.begin() + cigar_off[i] + n_cigar[i]);
    out.seq_off.push_back(out.seq.size());
    out.len.push_back(len[i]);
    out.seq.insert(out.seq.end(), seq.begin() + seq_off[i], seq.begin() + seq_off[i] + len[i]);
    out.qual.insert(out.qual.end(), qual.begin() + seq_off[i], qual.begin() + seq_off[i] + len[i]);
    out.name_hash.push_back(name_hash[i]);
    out.mate_pos.push_back(mate_pos[i]);
  }
  *this = std::move(out);
}

}  // namespace gms
