#include "io/bam_reader.hpp"

#include <htslib/hts.h>
#include <htslib/sam.h>

#include <algorithm>
#include <limits>
#include <cstring>

#include "gmscall/errors.hpp"

namespace gms {
namespace {

// htslib's 4-bit base codes -> allele codes; every ambiguity code reads as N.
constexpr uint8_t kNt16ToAllele[16] = {4, 0, 1, 4, 2, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4};

// One packed byte (two 4-bit codes, first base in the high nibble) -> its two allele codes.
struct PairTable {
  uint8_t v[256][2];
  constexpr PairTable() : v() {
    for (int x = 0; x < 256; ++x) {
      v[x][0] = kNt16ToAllele[x >> 4];
      v[x][1] = kNt16ToAllele[x & 15];
    }
  }
};
constexpr PairTable kPairToAllele{};

void decode_seq(const uint8_t* packed, int32_t n, uint8_t* out) {
  const int32_t half = n / 2;
  for (int32_t k = 0; k < half; ++k) std::memcpy(out + 2 * k, kPairToAllele.v[packed[k]], 2);
  if (n & 1) out[n - 1] = kNt16ToAllele[packed[half] >> 4];
}
constexpr uint8_t kUnknownMapq = 20;
// Reads stored without qualities ('*') are given this quality.
constexpr uint8_t kMissingQual = 30;
// Qualities above the printable Phred+33 range are clamped, which keeps 0xFF free as a mask.
constexpr uint8_t kMaxRawQual = 93;

uint64_t fnv1a64(const char* s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; ++s) {
    h ^= static_cast<uint8_t>(*s);
    h *= 1099511628211ULL;
  }
  return h;
}

std::string describe(const std::string& path, const sam_hdr_t* hdr, const bam1_t* b) {
  std::string where = path + ": read '" + bam_get_qname(b) + "'";
  if (b->core.tid >= 0) {
    where += " at " + std::string(sam_hdr_tid2name(hdr, b->core.tid)) + ":" + std::to_string(b->core.pos + 1);
  }
  return where;
}

// Checks the fields the kernels index with, so a damaged record can never read out of bounds.
void validate_record(const std::string& path, const sam_hdr_t* hdr, const bam1_t* b) {
  const uint32_t* cig = bam_get_cigar(b);
  int64_t qlen = 0;
  for (uint32_t k = 0; k < b->core.n_cigar; ++k) {
    const int op = bam_cigar_op(cig[k]);
    if (op > BAM_CDIFF) throw InputError(describe(path, hdr, b) + ": unknown CIGAR operation");
    if (bam_cigar_type(op) & 1) qlen += bam_cigar_oplen(cig[k]);
  }
  if (qlen != b->core.l_qseq) {
    throw InputError(describe(path, hdr, b) + ": CIGAR covers " + std::to_string(qlen) +
                     " query bases but the read has " + std::to_string(b->core.l_qseq) +
                     " (damaged record; re-create the BAM)");
  }
}

}  // namespace

BamReader::BamReader(const std::string& path, const std::string& ref_path, int threads) : path_(path) {
  fp_ = sam_open(path.c_str(), "r");
  if (!fp_) throw InputError(path + ": cannot open alignment file (missing, unreadable or not BAM/CRAM)");
  const htsFormat* fmt = hts_get_format(fp_);
  if (fmt->format != bam && fmt->format != cram) {
    sam_close(fp_);
    fp_ = nullptr;
    throw InputError(path + ": not a BAM or CRAM file (SAM text cannot be fetched by region; "
                            "convert with 'samtools sort -o x.bam' and index it)");
  }
  if (fmt->format == cram && !ref_path.empty()) {
    if (hts_set_fai_filename(fp_, ref_path.c_str()) != 0) {
      throw InputError(path + ": cannot use reference '" + ref_path + "' to decode CRAM");
    }
  }
  if (threads > 1) hts_set_threads(fp_, threads);
  hdr_ = sam_hdr_read(fp_);
  if (!hdr_) {
    sam_close(fp_);
    fp_ = nullptr;
    throw InputError(path + ": cannot read the header (truncated or damaged file)");
  }
  idx_ = sam_index_load(fp_, path.c_str());
  if (!idx_) {
    sam_hdr_destroy(hdr_);
    sam_close(fp_);
    hdr_ = nullptr;
    fp_ = nullptr;
    throw InputError(path + ": no index found; create one with 'samtools index " + path + "'");
  }
  index_samples();
}

BamReader::~BamReader() {
  stream_end();
  if (s_rec_) bam_destroy1(s_rec_);
  if (idx_) hts_idx_destroy(idx_);
  if (hdr_) sam_hdr_destroy(hdr_);
  if (fp_) sam_close(fp_);
}

std::vector<ContigInfo> BamReader::contigs() const {
  std::vector<ContigInfo> out;
  const int n = sam_hdr_nref(hdr_);
  out.reserve(n);
  for (int t = 0; t < n; ++t) out.push_back({sam_hdr_tid2name(hdr_, t), sam_hdr_tid2len(hdr_, t)});
  return out;
}

int BamReader::tid(const std::string& contig) const { return sam_hdr_name2tid(hdr_, contig.c_str()); }

namespace {
// (read-group ID, SM) of every @RG line that has both, in header order.
std::vector<std::pair<std::string, std::string>> read_groups(sam_hdr_t* hdr) {
  std::vector<std::pair<std::string, std::string>> out;
  const int n = sam_hdr_count_lines(hdr, "RG");
  kstring_t id = KS_INITIALIZE, sm = KS_INITIALIZE;
  for (int k = 0; k < n; ++k) {
    if (sam_hdr_find_tag_pos(hdr, "RG", k, "SM", &sm) == 0 && sam_hdr_find_tag_pos(hdr, "RG", k, "ID", &id) == 0) {
      out.emplace_back(std::string(id.s, id.l), std::string(sm.s, sm.l));
    }
  }
  ks_free(&id);
  ks_free(&sm);
  return out;
}
}  // namespace

void BamReader::index_samples() {
  for (const auto& [id, sm] : read_groups(hdr_)) {
    auto at = std::find(samples_.begin(), samples_.end(), sm);
    if (at == samples_.end()) at = samples_.insert(samples_.end(), sm);
    rg_sample_[id] = static_cast<uint16_t>(at - samples_.begin());
  }
  if (samples_.size() > 0xFFFF) throw InputError(path_ + ": more than 65535 samples in one file");
  if (samples_.size() < 2) rg_sample_.clear();  // every read is sample 0: no tag lookups
}

uint16_t BamReader::sample_of(const bam1_t* b) const {
  if (rg_sample_.empty()) return 0;
  const uint8_t* tag = bam_aux_get(b, "RG");
  const char* id = tag ? bam_aux2Z(tag) : nullptr;
  if (!id) {
    throw InputError(describe(path_, hdr_, b) + ": no RG tag, in a file with several samples (@RG SM); "
                     "every read must name its read group");
  }
  const auto it = rg_sample_.find(id);
  if (it == rg_sample_.end()) {
    throw InputError(describe(path_, hdr_, b) + ": read group '" + id + "' is not in the header");
  }
  return it->second;
}

void BamReader::take(const bam1_t* b, int tid, int64_t beg, int64_t end, const ReadFilter& filter,
                     int64_t& last_pos, ReadBatch& out) {
  const bam1_core_t& c = b->core;
  if (c.pos < last_pos) {
    throw InputError(describe(path_, hdr_, b) + ": file is not coordinate-sorted; run 'samtools sort'");
  }
  last_pos = c.pos;
  if ((c.flag & filter.skip_flags) || c.tid != tid || c.n_cigar == 0) return;
  if (c.qual < filter.min_mq) return;
  validate_record(path_, hdr_, b);
  const int64_t rend = bam_endpos(b);
  if (rend <= beg || c.pos >= end) return;

  out.pos.push_back(c.pos);
  out.end.push_back(rend);
  out.flag.push_back(c.flag);
  // MAPQ 255 means "unavailable" (SAM spec): filters see it as is (as samtools does), while the
  // models weigh such a read as MAPQ 20, as bcftools does.
  out.mapq.push_back(c.qual == 255 ? kUnknownMapq : c.qual);
  out.cigar_off.push_back(static_cast<uint32_t>(out.cigar.size()));
  out.n_cigar.push_back(c.n_cigar);
  const uint32_t* cig = bam_get_cigar(b);
  out.cigar.insert(out.cigar.end(), cig, cig + c.n_cigar);
  out.seq_off.push_back(out.seq.size());
  out.len.push_back(static_cast<uint32_t>(c.l_qseq));
  const uint8_t* s = bam_get_seq(b);
  const uint8_t* q = bam_get_qual(b);
  const size_t at = out.seq.size();
  const int32_t lq = c.l_qseq;
  out.seq.resize(at + lq);
  out.qual.resize(at + lq);
  decode_seq(s, lq, out.seq.data() + at);
  uint8_t* oq = out.qual.data() + at;
  if (lq > 0 && q[0] == 0xFF) {
    std::memset(oq, kMissingQual, static_cast<size_t>(lq));
  } else {
    for (int32_t j = 0; j < lq; ++j) oq[j] = q[j] < kMaxRawQual ? q[j] : kMaxRawQual;
  }
  out.name_hash.push_back(fnv1a64(bam_get_qname(b)));
  const bool mate_here = (c.flag & BAM_FPAIRED) && !(c.flag & BAM_FMUNMAP) && c.mtid == tid;
  out.mate_pos.push_back(mate_here ? c.mpos : -1);
  out.sample.push_back(sample_of(b));
}

int64_t BamReader::fetch(int tid, int64_t beg, int64_t end, const ReadFilter& filter, ReadBatch& out) {
  // One pass of the streaming reader over the whole interval.
  struct Close {
    BamReader& r;
    ~Close() { r.stream_end(); }
  } close{*this};
  stream_begin(tid, beg, end);
  return stream_next(std::numeric_limits<int64_t>::max(), filter, out);
}

void BamReader::stream_begin(int tid, int64_t beg, int64_t end) {
  stream_end();
  if (tid < 0 || tid >= sam_hdr_nref(hdr_)) throw InputError(path_ + ": contig index out of range");
  s_itr_ = sam_itr_queryi(idx_, tid, beg, end);
  if (!s_itr_) throw InputError(path_ + ": index query failed for " + sam_hdr_tid2name(hdr_, tid));
  if (!s_rec_) s_rec_ = bam_init1();
  s_pending_ = false;
  s_tid_ = tid;
  s_beg_ = beg;
  s_end_ = end;
  s_last_pos_ = -1;
}

int64_t BamReader::stream_next(int64_t upto, const ReadFilter& filter, ReadBatch& out) {
  if (!s_itr_) throw GmsError("BamReader::stream_next without stream_begin");
  out.tid = s_tid_;
  int64_t n_records = 0;
  for (;;) {
    if (!s_pending_) {
      const int ret = sam_itr_next(fp_, s_itr_, s_rec_);
      if (ret < -1) {
        throw InputError(path_ + ": damaged data while reading " + sam_hdr_tid2name(hdr_, s_tid_) + ":" +
                         std::to_string(s_beg_ + 1) + "-" + std::to_string(s_end_) +
                         " (truncated file or corrupted BGZF block)");
      }
      if (ret < 0) break;
      ++n_records;
      s_pending_ = true;
    }
    // Records are in file (coordinate) order, so the first one at or past `upto` ends this piece;
    // an unsorted file is still caught by take() when the record is taken.
    if (s_rec_->core.pos >= upto && s_rec_->core.pos >= s_last_pos_) break;
    s_pending_ = false;
    take(s_rec_, s_tid_, s_beg_, s_end_, filter, s_last_pos_, out);
  }
  return n_records;
}

void BamReader::stream_end() {
  if (s_itr_) hts_itr_destroy(s_itr_);
  s_itr_ = nullptr;
  s_pending_ = false;
}

}  // namespace gms
