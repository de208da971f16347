// The only pybind11 file: numpy in/out, the GIL released around C++ work, exception mapping.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <tuple>

#include <htslib/hts.h>

#include <memory>
#include <mutex>

#include "gmscall/backend.hpp"
#include "gmscall/caller.hpp"
#include "gmscall/error_model.hpp"
#include "gmscall/errors.hpp"
#include "gmscall/phasing.hpp"
#include "gmscall/pileup.hpp"
#include "io/bam_reader.hpp"
#include "io/gvcf_text.hpp"
#include "io/haplotag.hpp"
#include "io/tabix_stream.hpp"
#include "io/header.hpp"
#include "io/pileup_tsv.hpp"
#include "io/reference.hpp"
#include "core/calling.hpp"
#include "kernels/pairhmm.hpp"

namespace py = pybind11;
using namespace gms;

namespace {

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v, std::vector<py::ssize_t> shape) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, heap->data(), owner);
}

// A shard's text handed to Python without a copy (buffer protocol: out.write(chunk), bytes(chunk)).
// Its storage goes back to a small pool when Python frees it, so the next shards reuse warm pages.
class TextChunk {
 public:
  TextChunk() : buf_(take()) {
    buf_->clear();
    buf_->reserve_tail(1);  // data() is never null, even for an empty text
  }
  ~TextChunk() { give(std::move(buf_)); }
  TextChunk(const TextChunk&) = delete;
  TextChunk& operator=(const TextChunk&) = delete;
  TextBuffer& buf() { return *buf_; }

 private:
  static constexpr size_t kMaxPooled = 16;
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::vector<std::unique_ptr<TextBuffer>>& pool() {
    static auto* p = new std::vector<std::unique_ptr<TextBuffer>>();  // never destroyed: safe at exit
    return *p;
  }
  static std::unique_ptr<TextBuffer> take() {
    std::lock_guard<std::mutex> lock(mu());
    if (pool().empty()) return std::make_unique<TextBuffer>();
    std::unique_ptr<TextBuffer> b = std::move(pool().back());
    pool().pop_back();
    return b;
  }
  static void give(std::unique_ptr<TextBuffer> b) {
    std::lock_guard<std::mutex> lock(mu());
    if (pool().size() < kMaxPooled) pool().push_back(std::move(b));
  }
  std::unique_ptr<TextBuffer> buf_;
};

Backend parse_backend(const std::string& name) {
  if (name == "cpu") return Backend::kCpu;
  if (name == "cuda") {
    if (!cuda_compiled()) {
      throw BackendError("backend 'cuda' requested but this gmscall was built without CUDA; use --backend cpu");
    }
    if (cuda_devices().empty()) throw BackendError("backend 'cuda' requested but no CUDA device is visible");
    return Backend::kCuda;
  }
  throw BackendError("unknown backend '" + name + "' (expected cpu or cuda)");
}

// Records as numpy columns: site fields (n), per-sample fields (n, samples); gt (n, samples, 2)
// with -1 for an uncalled copy and -2 where the sample has fewer copies; ad and pl nested lists.
py::dict records_to_python(const std::vector<CallRecord>& recs, py::ssize_t ns) {
  const py::ssize_t n = static_cast<py::ssize_t>(recs.size());
  std::vector<int64_t> pos;
  std::vector<double> qual, mq, sor;
  std::vector<int32_t> filter, dp, gt, gq, sdp, dnq, repeat_alts;
  std::vector<uint8_t> hap;
  py::list ref, alts, pl, ad, gl;
  bool any_gl = false;
  for (const CallRecord& r : recs)
    for (const SampleCall& c : r.samples) any_gl |= !c.gl.empty();
  for (const CallRecord& r : recs) {
    pos.push_back(r.pos);
    qual.push_back(r.qual);
    mq.push_back(r.mq);
    sor.push_back(r.sor);
    filter.push_back(r.filter);
    dp.push_back(r.dp);
    hap.push_back(r.haplotype_model ? 1 : 0);
    repeat_alts.push_back(r.repeat_alts);
    ref.append(py::str(r.ref));
    alts.append(py::cast(r.alts));
    py::list rpl, rad, rgl;
    for (const SampleCall& c : r.samples) {
      for (int k = 0; k < 2; ++k) {
        gt.push_back(k < static_cast<int>(c.gt.size()) ? c.gt[k] : (k < c.ploidy ? -1 : -2));
      }
      gq.push_back(c.gq);
      sdp.push_back(c.dp);
      dnq.push_back(c.dnq);
      rpl.append(py::cast(c.pl));
      rad.append(py::cast(c.ad));
      if (any_gl) rgl.append(py::cast(c.gl));
    }
    pl.append(rpl);
    ad.append(rad);
    if (any_gl) gl.append(rgl);
  }
  py::dict d;
  d["pos"] = to_numpy(std::move(pos), {n});
  d["qual"] = to_numpy(std::move(qual), {n});
  d["mq"] = to_numpy(std::move(mq), {n});
  d["sor"] = to_numpy(std::move(sor), {n});
  d["filter"] = to_numpy(std::move(filter), {n});
  d["dp"] = to_numpy(std::move(dp), {n});
  d["haplotype_model"] = to_numpy(std::move(hap), {n});
  d["repeat_alts"] = to_numpy(std::move(repeat_alts), {n});
  d["gt"] = to_numpy(std::move(gt), {n, ns, 2});
  d["gq"] = to_numpy(std::move(gq), {n, ns});
  d["sample_dp"] = to_numpy(std::move(sdp), {n, ns});
  d["dnq"] = to_numpy(std::move(dnq), {n, ns});
  d["ref"] = ref;
  d["alts"] = alts;
  d["pl"] = pl;
  d["ad"] = ad;
  if (any_gl) d["gl"] = gl;  // gVCF records: log10 likelihoods per sample (FORMAT GL)
  // Phasing evidence (CallParams::phase): one row per read at a het, in (record, sample) order.
  std::vector<int32_t> obs_rec, obs_sample;
  std::vector<uint64_t> obs_frag;
  std::vector<int64_t> obs_reach;
  std::vector<int16_t> obs_w;
  for (size_t r = 0; r < recs.size(); ++r) {
    for (size_t s = 0; s < recs[r].samples.size(); ++s) {
      for (const PhaseObs& o : recs[r].samples[s].phase) {
        obs_rec.push_back(static_cast<int32_t>(r));
        obs_sample.push_back(static_cast<int32_t>(s));
        obs_frag.push_back(o.frag);
        obs_reach.push_back(o.reach);
        obs_w.push_back(o.w);
      }
    }
  }
  const py::ssize_t n_obs = static_cast<py::ssize_t>(obs_rec.size());
  d["phase_rec"] = to_numpy(std::move(obs_rec), {n_obs});
  d["phase_sample"] = to_numpy(std::move(obs_sample), {n_obs});
  d["phase_frag"] = to_numpy(std::move(obs_frag), {n_obs});
  d["phase_reach"] = to_numpy(std::move(obs_reach), {n_obs});
  d["phase_w"] = to_numpy(std::move(obs_w), {n_obs});
  return d;
}

py::object block_dict(const RefBlock& b) {
  py::dict d;
  d["beg"] = b.beg;
  d["end"] = b.end;
  d["gq"] = b.gq;
  d["min_dp"] = b.min_dp;
  d["dp_sum"] = b.dp_sum;
  d["ploidy"] = b.ploidy;
  d["key"] = b.key;
  d["pl"] = std::vector<int>(b.pl, b.pl + b.n_pl());
  d["ref"] = std::string(1, b.ref);
  return std::move(d);
}

// gVCF blocks of a shard: "gvcf_gaps" (the block lines between records, as text), and the edge
// blocks "gvcf_head" / "gvcf_tail" (dicts, or None) that the writer may merge across shards.
void add_blocks(py::dict& d, const std::string& contig, int64_t beg, int64_t end,
                const std::vector<CallRecord>& recs, const std::vector<RefBlock>& blocks) {
  std::vector<int64_t> pos;
  for (const CallRecord& r : recs) pos.push_back(r.pos);
  BlockText t = block_text(contig, blocks, pos, beg, end);
  py::list gaps;
  for (const std::string& g : t.gaps) gaps.append(py::str(g));
  d["gvcf_gaps"] = gaps;
  d["gvcf_head"] = t.head >= 0 ? block_dict(blocks[static_cast<size_t>(t.head)]) : py::none();
  d["gvcf_tail"] = t.tail >= 0 ? block_dict(blocks[static_cast<size_t>(t.tail)]) : py::none();
}

using SampleLikelihoods = std::tuple<int, int, std::vector<int>, std::vector<double>, int>;

// Genotypes one site of a cohort from per-sample likelihoods (ploidy, DP, AD, log10 GL per
// genotype of `alleles` (GL empty: no call), the sample's own call as a genotype index or -1) with
// the joint caller's cohort and pedigree priors (calling::genotype_gvcf_site). `alleles`: REF
// first; `per_site`: per allele, whether a per-site-model record lists it; `hap`: a
// haplotype-model site; `sor`: the site's strand odds ratio (NaN: unknown). Returns None when no
// sample carries an ALT or QUAL < min_qual, else (qual, filter, gt, gq, dnq, pl, ad, alleles) with
// one entry per sample in gt/gq/dnq/pl/ad and the record's alleles (those kept, trimmed).
// `ref` (a view: not copied per site) holds the reference from `ref_beg` on; the site's first base
// is at `pos`. Only where the long-tract priors are on is it read, and only as far as a tract of
// long_tract_bases bases past the site's longest allele, as record_params needs.
py::object genotype_site(const std::vector<std::string>& alleles, const std::vector<SampleLikelihoods>& samples,
                         const std::vector<bool>& per_site, bool hap, const Cohort& cohort, const CallParams& params,
                         double sor, int64_t pos, std::string_view ref, int64_t ref_beg,
                         const std::vector<std::string>& prior_alleles) {
  if (alleles.size() < 2) throw InputError("a site needs REF and at least one ALT");
  std::vector<calling::GvcfSample> in;
  for (const auto& [ploidy, dp, ad, gl, called] : samples) in.push_back({ploidy, dp, ad, gl, called});
  calling::RefSeq near{"", pos};
  if (calling::tract_priors_on(params) && pos >= ref_beg && pos - ref_beg < static_cast<int64_t>(ref.size())) {
    size_t longest = 0;
    for (const std::string& a : alleles) longest = std::max(longest, a.size());
    for (const std::string& a : prior_alleles) longest = std::max(longest, a.size());
    near.s = std::string(ref.substr(static_cast<size_t>(pos - ref_beg),
                                    1 + static_cast<size_t>(calling::tract_prior_reach(params)) + longest));
  }
  CallRecord rec;
  rec.sor = sor;
  if (!calling::genotype_gvcf_site(alleles, in, per_site, hap, cohort, params, near, pos, rec, prior_alleles))
    return py::none();
  py::list gt, gq, dnq, pl, ad;
  for (const SampleCall& c : rec.samples) {
    gt.append(py::cast(c.gt));
    gq.append(c.gq);
    dnq.append(c.dnq);
    pl.append(py::cast(c.pl));
    ad.append(py::cast(c.ad));
  }
  std::vector<std::string> out{rec.ref};
  out.insert(out.end(), rec.alts.begin(), rec.alts.end());
  return py::make_tuple(rec.qual, rec.filter, gt, gq, dnq, pl, ad, out);
}

Cohort make_cohort(int n_samples, const std::vector<std::vector<int>>& bam_columns,
                   const std::vector<std::vector<std::tuple<int64_t, int64_t, int>>>& ploidy,
                   const std::vector<std::array<int, 3>>& trios) {
  if (n_samples < 1) throw InputError("a cohort needs at least one sample");
  Cohort c;
  c.n_samples = n_samples;
  c.bam_columns = bam_columns;
  for (const auto& columns : bam_columns)
    for (int col : columns)
      if (col < 0 || col >= n_samples) throw InputError("sample column out of range");
  for (const auto& per_sample : ploidy) {
    std::vector<PloidyInterval> iv;
    for (const auto& [b, e, p] : per_sample) {
      if (p < 0 || p > 2) throw InputError("ploidy must be 0, 1 or 2");
      if (p != 2) iv.push_back({b, e, p});
    }
    c.ploidy.push_back(std::move(iv));
  }
  for (const auto& t : trios)
    for (int col : t)
      if (col < 0 || col >= n_samples) throw InputError("trio column out of range");
  c.trios = trios;
  return c;
}

// Open BAM/CRAM files plus the reference; each worker thread owns its own Session. Pileup and
// pileup_tsv read the first file; call reads them all (one VCF column per sample, see Cohort).
class Session {
 public:
  Session(const std::vector<std::string>& bams, const std::string& ref, int hts_threads) : ref_(ref) {
    if (bams.empty()) throw InputError("no BAM/CRAM file given");
    for (const std::string& b : bams) readers_.push_back(std::make_unique<BamReader>(b, ref, hts_threads));
  }
  Session(const std::string& bam, const std::string& ref, int hts_threads)
      : Session(std::vector<std::string>{bam}, ref, hts_threads) {}

  std::vector<std::pair<std::string, int64_t>> bam_contigs(size_t k) const {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& c : reader(k).contigs()) out.emplace_back(c.name, c.length);
    return out;
  }
  std::vector<std::pair<std::string, int64_t>> ref_contigs() const {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& c : ref_.contigs()) out.emplace_back(c.name, c.length);
    return out;
  }
  std::vector<std::string> samples(size_t k) const { return reader(k).samples(); }
  size_t n_bams() const { return readers_.size(); }

  std::unique_ptr<TextChunk> pileup_tsv(const std::string& contig, int64_t beg, int64_t end,
                                        const PileupParams& params, const std::string& backend_name) {
    const Backend backend = parse_backend(backend_name);
    auto chunk = std::make_unique<TextChunk>();
    {
      py::gil_scoped_release release;
      write_pileup_tsv(*readers_[0], ref_, contig, beg, end, params, backend, chunk->buf());
    }
    return chunk;
  }

  py::dict call(const std::string& contig, int64_t beg, int64_t end, const CallParams& params,
                const std::string& backend_name, const Cohort& cohort) {
    const Backend backend = parse_backend(backend_name);
    std::vector<CallRecord> recs;
    std::vector<RefBlock> blocks;
    WindowCounts counts;
    {
      py::gil_scoped_release release;
      std::vector<BamReader*> bams;
      for (auto& r : readers_) bams.push_back(r.get());
      recs = call_region(bams, ref_, contig, beg, end, params, cohort, backend, params.gvcf ? &blocks : nullptr,
                         &counts);
    }
    py::dict d = records_to_python(recs, static_cast<py::ssize_t>(cohort.n_samples));
    d["windows"] = counts.planned;  // haplotype windows starting in the shard
    d["screened"] = counts.screened;  // of them, left out by the indel screen
    if (params.gvcf) add_blocks(d, contig, beg, end, recs, blocks);
    return d;
  }

  // Somatic candidates of a shard: (pos, ref, alt, tlod, nlod, filters, [(ref, alt, dp, af) per sample]).
  py::list call_somatic(const std::string& contig, int64_t beg, int64_t end, const CallParams& params,
                        const std::string& backend_name, const Cohort& cohort) {
    const Backend backend = parse_backend(backend_name);
    std::vector<SomaticRecord> recs;
    {
      py::gil_scoped_release release;
      std::vector<BamReader*> bams;
      for (auto& r : readers_) bams.push_back(r.get());
      recs = call_region_somatic(bams, ref_, contig, beg, end, params, cohort, backend);
    }
    py::list out;
    for (const SomaticRecord& r : recs) {
      py::list samples;
      for (const SomaticSample& s : r.samples) samples.append(py::make_tuple(s.ref, s.alt, s.dp, s.af));
      out.append(py::make_tuple(r.pos, r.ref, r.alt, r.tlod, r.nlod, r.filters, samples));
    }
    return out;
  }

  py::dict pileup(const std::string& contig, int64_t beg, int64_t end, const PileupParams& params,
                  const std::string& backend_name) {
    const Backend backend = parse_backend(backend_name);
    PileupResult r;
    {
      py::gil_scoped_release release;
      r = compute_pileup(*readers_[0], ref_, contig, beg, end, params, backend);
    }
    const py::ssize_t n = static_cast<py::ssize_t>(end - beg);
    py::dict d;
    d["contig"] = r.contig;
    d["start"] = r.beg;
    d["end"] = r.end;
    d["ref"] = py::bytes(r.ref);
    d["counts"] = to_numpy(std::move(r.counts), {n, 2, 6});
    d["qual_sum"] = to_numpy(std::move(r.qual_sum), {n, 6});
    d["ins"] = to_numpy(std::move(r.ins), {n, 2});
    d["del_start"] = to_numpy(std::move(r.del_start), {n, 2});
    d["mq2"] = to_numpy(std::move(r.mq2), {n});
    std::vector<int64_t> ipos;
    std::vector<int32_t> ilen;
    std::vector<uint32_t> ifwd, irev;
    py::list iseq;
    for (const auto& a : r.indels) {
      ipos.push_back(a.pos);
      ilen.push_back(a.length);
      ifwd.push_back(a.fwd);
      irev.push_back(a.rev);
      iseq.append(py::str(a.seq));
    }
    const py::ssize_t m = static_cast<py::ssize_t>(ipos.size());
    d["indel_pos"] = to_numpy(std::move(ipos), {m});
    d["indel_length"] = to_numpy(std::move(ilen), {m});
    d["indel_fwd"] = to_numpy(std::move(ifwd), {m});
    d["indel_rev"] = to_numpy(std::move(irev), {m});
    d["indel_seq"] = iseq;
    return d;
  }

 private:
  const BamReader& reader(size_t k) const {
    if (k >= readers_.size()) throw py::index_error("no BAM number " + std::to_string(k));
    return *readers_[k];
  }
  std::vector<std::unique_ptr<BamReader>> readers_;
  Reference ref_;
};

py::dict build_info() {
  py::dict d;
  d["htslib"] = std::string(hts_version());
  d["cuda_compiled"] = cuda_compiled();
  d["cuda_runtime"] = cuda_runtime_version();
  py::list devs;
  for (const auto& dev : cuda_devices()) {
    py::dict x;
    x["index"] = dev.index;
    x["name"] = dev.name;
    x["compute_capability"] = std::to_string(dev.cc_major) + "." + std::to_string(dev.cc_minor);
    x["memory_gib"] = static_cast<double>(dev.total_mem) / (1024.0 * 1024.0 * 1024.0);
    devs.append(x);
  }
  d["cuda_devices"] = devs;
  return d;
}

void raise_as(const char* cls, const std::exception& e) {
  py::object errors = py::module_::import("gmscall.errors");
  PyErr_SetString(errors.attr(cls).ptr(), e.what());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "gmscall C++ core: htslib reader, pileup and calling kernels (CPU and CUDA)";
  m.attr("__version__") = GMSCALL_VERSION;

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const WriteError& e) {
      errno = e.err;
      PyErr_SetFromErrnoWithFilename(PyExc_OSError, e.path.c_str());
    } catch (const InputError& e) {
      raise_as("InputError", e);
    } catch (const BackendError& e) {
      raise_as("BackendError", e);
    } catch (const GmsError& e) {
      raise_as("GmsError", e);
    }
  });

  py::class_<PileupParams>(m, "PileupParams")
      .def(py::init<>())
      .def_property(
          "min_mq", [](const PileupParams& p) { return p.filter.min_mq; },
          [](PileupParams& p, int v) { p.filter.min_mq = v; })
      .def_property(
          "skip_flags", [](const PileupParams& p) { return p.filter.skip_flags; },
          [](PileupParams& p, uint16_t v) { p.filter.skip_flags = v; })
      .def_readwrite("min_bq", &PileupParams::min_bq)
      .def_readwrite("overlaps", &PileupParams::overlaps)
      .def_readwrite("max_depth", &PileupParams::max_depth);

  using CArrI32 = py::array_t<int32_t, py::array::c_style | py::array::forcecast>;
  py::class_<Phaser>(m, "Phaser", "In-order read-backed phaser of a run's records (gmscall.phasing).")
      .def(py::init<int, int64_t, int, std::vector<std::array<int, 3>>, bool>(), py::arg("n_samples"),
           py::arg("max_link") = 100000, py::arg("min_vote") = 10, py::arg("trios") = std::vector<std::array<int, 3>>{},
           py::arg("keep_fragments") = false)
      .def("fragment_tags",
           [](const Phaser& ph, int sample) {
             // (read-name hash uint64, HP int8, PS int64) arrays of the contig's phased fragments
             const std::vector<Phaser::FragmentTag> tags = ph.fragment_tags(sample);
             const py::ssize_t n = static_cast<py::ssize_t>(tags.size());
             std::vector<uint64_t> frag;
             std::vector<int8_t> hp;
             std::vector<int64_t> ps;
             for (const auto& t : tags) {
               frag.push_back(t.frag);
               hp.push_back(static_cast<int8_t>(t.hp));
               ps.push_back(t.ps);
             }
             return py::make_tuple(to_numpy(std::move(frag), {n}), to_numpy(std::move(hp), {n}),
                                   to_numpy(std::move(ps), {n}));
           },
           py::arg("sample"))
      .def("reset", &Phaser::reset)
      .def("add",
           [](Phaser& ph, py::array_t<int64_t, py::array::c_style | py::array::forcecast> pos, CArrI32 gt,
              CArrI32 filter, CArrI32 obs_rec, CArrI32 obs_sample,
              py::array_t<uint64_t, py::array::c_style | py::array::forcecast> obs_frag,
              py::array_t<int64_t, py::array::c_style | py::array::forcecast> obs_reach,
              py::array_t<int16_t, py::array::c_style | py::array::forcecast> obs_w, int n_samples) {
             const py::ssize_t n = pos.size();
             if (gt.size() != n * n_samples * 2 || filter.size() != n) throw InputError("Phaser.add: array sizes differ");
             const py::ssize_t no = obs_rec.size();
             if (obs_sample.size() != no || obs_frag.size() != no || obs_reach.size() != no || obs_w.size() != no)
               throw InputError("Phaser.add: observation array sizes differ");
             std::vector<int32_t> block(static_cast<size_t>(n * n_samples));
             std::vector<uint8_t> flip(static_cast<size_t>(n * n_samples));
             ph.add(n, pos.data(), gt.data(), filter.data(), no, obs_rec.data(), obs_sample.data(), obs_frag.data(),
                    obs_reach.data(), obs_w.data(), block.data(), flip.data());
             return py::make_tuple(to_numpy(std::move(block), {n, n_samples}), to_numpy(std::move(flip), {n, n_samples}));
           },
           py::arg("pos"), py::arg("gt"), py::arg("filter"), py::arg("obs_rec"), py::arg("obs_sample"),
           py::arg("obs_frag"), py::arg("obs_reach"), py::arg("obs_w"), py::arg("n_samples"))
      .def("final",
           [](const Phaser& ph, CArrI32 block, int64_t frontier) {
             // Whether every call of `block` [n, samples] has its final phase once every het at or
             // before `frontier` was fed: in a block of two hets or more, or one no fragment of
             // which reaches past `frontier`.
             if (block.ndim() != 2) throw InputError("Phaser.final: block must be 2-D");
             const py::ssize_t n = block.shape(0), ns = block.shape(1);
             const int32_t* b = block.data();
             for (py::ssize_t k = 0; k < n * ns; ++k) {
               if (!ph.block_final(static_cast<int>(k % ns), b[k], frontier)) return false;
             }
             return true;
           },
           py::arg("block"), py::arg("frontier"))
      .def("resolve",
           [](const Phaser& ph, CArrI32 block) {
             // PS (1-based POS of the block's first het) of phased blocks (two hets or more, or the
             // transmission block), else 0.
             if (block.ndim() != 2) throw InputError("Phaser.resolve: block must be 2-D");
             const py::ssize_t n = block.shape(0), ns = block.shape(1);
             std::vector<int64_t> ps(static_cast<size_t>(n * ns), 0);
             const int32_t* b = block.data();
             for (py::ssize_t k = 0; k < n * ns; ++k) {
               const int s = static_cast<int>(k % ns);
               if (ph.block_phased(s, b[k])) ps[static_cast<size_t>(k)] = ph.block_first(s, b[k]) + 1;
             }
             return to_numpy(std::move(ps), {n, ns});
           },
           py::arg("block"));

  m.def(
      "haplotag_bam",
      [](const std::string& in, const std::string& out, const py::dict& by_contig, const std::string& program,
         int threads) {
        // by_contig: {contig: (read-name hashes uint64, HP int8, PS int64)}
        FragmentTags tags;
        for (const auto& item : by_contig) {
          const auto t = item.second.cast<py::tuple>();
          const auto frag = t[0].cast<py::array_t<uint64_t, py::array::c_style | py::array::forcecast>>();
          const auto hp = t[1].cast<py::array_t<int8_t, py::array::c_style | py::array::forcecast>>();
          const auto ps = t[2].cast<py::array_t<int64_t, py::array::c_style | py::array::forcecast>>();
          if (hp.size() != frag.size() || ps.size() != frag.size()) throw InputError("haplotag_bam: array sizes differ");
          auto& m = tags[item.first.cast<std::string>()];
          for (py::ssize_t k = 0; k < frag.size(); ++k) m[frag.data()[k]] = {hp.data()[k], ps.data()[k]};
        }
        py::gil_scoped_release release;
        return haplotag_bam(in, out, tags, program, threads);
      },
      py::arg("input"), py::arg("output"), py::arg("tags"), py::arg("program"), py::arg("threads") = 1,
      "Writes `output` (BAM + index): the reads of `input`, those of tagged fragments with HP and PS.");

  py::class_<CallParams>(m, "CallParams")
      .def(py::init<>())
      .def_readwrite("pileup", &CallParams::pileup)
      .def_readwrite("min_alt_count", &CallParams::min_alt_count)
      .def_readwrite("min_snv_frac", &CallParams::min_snv_frac)
      .def_readwrite("min_indel_frac", &CallParams::min_indel_frac)
      .def_readwrite("max_indel_len", &CallParams::max_indel_len)
      .def_readwrite("snv_het_prior", &CallParams::snv_het_prior)
      .def_readwrite("snv_hom_prior", &CallParams::snv_hom_prior)
      .def_readwrite("indel_het_prior", &CallParams::indel_het_prior)
      .def_readwrite("indel_hom_prior", &CallParams::indel_hom_prior)
      .def_readwrite("min_qual", &CallParams::min_qual)
      .def_readwrite("low_qual", &CallParams::low_qual)
      .def_readwrite("strand_bias_sor", &CallParams::strand_bias_sor)
      .def_readwrite("platforms", &CallParams::platforms)
      .def_readwrite("ont_indel_strand_p", &CallParams::ont_indel_strand_p)
      .def_readwrite("long_tract_prior_scale", &CallParams::long_tract_prior_scale)
      .def_readwrite("long_tract_bases", &CallParams::long_tract_bases)
      .def_readwrite("long_tract_prior_scales", &CallParams::long_tract_prior_scales)
      .def_readwrite("strand_bias_qd", &CallParams::strand_bias_qd)
      .def_readwrite("paralog_prior", &CallParams::paralog_prior)
      .def_readwrite("paralog_alpha", &CallParams::paralog_alpha)
      .def_readwrite("paralog_beta", &CallParams::paralog_beta)
      .def_readwrite("max_haplotypes", &CallParams::max_haplotypes)
      .def_readwrite("assemble", &CallParams::assemble)
      .def_readwrite("tlod_emit", &CallParams::tlod_emit)
      .def_readwrite("tlod_pass", &CallParams::tlod_pass)
      .def_readwrite("nlod_min", &CallParams::nlod_min)
      .def_readwrite("germline_lod", &CallParams::germline_lod)
      .def_readwrite("normal_contamination", &CallParams::normal_contamination)
      .def_readwrite("normal_artifact_lod", &CallParams::normal_artifact_lod)
      .def_readwrite("min_tumor_af", &CallParams::min_tumor_af)
      .def_readwrite("strand_bias_p", &CallParams::strand_bias_p)
      .def_readwrite("cluster_max", &CallParams::cluster_max)
      .def_readwrite("gap_open_max", &CallParams::gap_open_max)
      .def_readwrite("gap_open_min", &CallParams::gap_open_min)
      .def_readwrite("gap_open_slope", &CallParams::gap_open_slope)
      .def_readwrite("gap_open_tables", &CallParams::gap_open_tables)
      .def_readwrite("allele_error_tables", &CallParams::allele_error_tables)
      .def_readwrite("indel_screen_qual", &CallParams::indel_screen_qual)
      .def_readwrite("read_pad", &CallParams::read_pad)
      .def_readwrite("de_novo_prior", &CallParams::de_novo_prior)
      .def_readwrite("gvcf", &CallParams::gvcf)
      .def_readwrite("gq_bands", &CallParams::gq_bands)
      .def_readwrite("gvcf_depth_classes", &CallParams::gvcf_depth_classes)
      .def_readwrite("phase", &CallParams::phase);

  py::class_<Cohort>(m, "Cohort", "VCF columns of the BAMs' samples, ploidy intervals, trios")
      .def(py::init(&make_cohort), py::arg("n_samples") = 1, py::arg("bam_columns") = std::vector<std::vector<int>>{{0}},
           py::arg("ploidy") = std::vector<std::vector<std::tuple<int64_t, int64_t, int>>>{},
           py::arg("trios") = std::vector<std::array<int, 3>>{})
      .def_readonly("n_samples", &Cohort::n_samples);

  py::class_<TextChunk>(m, "TextChunk", py::buffer_protocol(),
                        "Text of one shard (bytes-like: write it to a binary file, or bytes(chunk))")
      .def_buffer([](TextChunk& c) {
        TextBuffer& b = c.buf();
        return py::buffer_info(const_cast<char*>(b.data()), 1, py::format_descriptor<uint8_t>::format(), 1,
                               {static_cast<py::ssize_t>(b.size())}, {1}, true);
      })
      .def("__len__", [](TextChunk& c) { return c.buf().size(); });
  py::class_<Session>(m, "Session")
      .def(py::init<const std::string&, const std::string&, int>(), py::arg("bam"), py::arg("ref"),
           py::arg("hts_threads") = 1)
      .def(py::init<const std::vector<std::string>&, const std::string&, int>(), py::arg("bams"), py::arg("ref"),
           py::arg("hts_threads") = 1)
      .def("bam_contigs", &Session::bam_contigs, py::arg("k") = 0)
      .def("ref_contigs", &Session::ref_contigs)
      .def("samples", &Session::samples, py::arg("k") = 0, "SM names of BAM k's read groups, in header order")
      .def("n_bams", &Session::n_bams)
      .def("pileup", &Session::pileup, py::arg("contig"), py::arg("beg"), py::arg("end"), py::arg("params"),
           py::arg("backend"))
      .def("call_somatic", &Session::call_somatic, py::arg("contig"), py::arg("beg"), py::arg("end"),
           py::arg("params"), py::arg("backend"), py::arg("cohort"))
      .def("call", &Session::call, py::arg("contig"), py::arg("beg"), py::arg("end"), py::arg("params"),
           py::arg("backend"), py::arg("cohort") = Cohort{})
      .def("pileup_tsv", &Session::pileup_tsv, py::arg("contig"), py::arg("beg"), py::arg("end"),
           py::arg("params"), py::arg("backend"));

  py::class_<TabixStream>(m, "TabixStream",
                          "A .tbi index built from the BGZF blocks as they are written (io/tabix_stream.cpp)")
      .def(py::init<>())
      .def(
          "add_block",
          [](TabixStream& t, const py::bytes& data, uint64_t block_addr, uint64_t next_addr) {
            char* p = nullptr;
            Py_ssize_t n = 0;
            PyBytes_AsStringAndSize(data.ptr(), &p, &n);
            py::gil_scoped_release release;
            t.add_block(std::string_view(p, static_cast<size_t>(n)), block_addr, next_addr);
          },
          py::arg("data"), py::arg("block_addr"), py::arg("next_addr"))
      .def("finish", &TabixStream::finish, py::arg("eof_addr"), py::arg("data_path"), py::arg("index_path"),
           py::call_guard<py::gil_scoped_release>());

  m.def("info", &build_info);
  m.def(
      "block_line",
      [](const std::string& contig, int64_t beg, int64_t end, int gq, int min_dp, int64_t dp_sum, int ploidy,
         const std::string& ref, const std::vector<int>& pl) {
        RefBlock b{beg, end, gq, min_dp, dp_sum, ploidy, 0, ref.empty() ? 'N' : ref[0], {0, 0, 0}};
        if (static_cast<int>(pl.size()) != b.n_pl())
          throw InputError("a reference block of ploidy " + std::to_string(ploidy) + " has " +
                           std::to_string(b.n_pl()) + " PL values, not " + std::to_string(pl.size()));
        std::copy(pl.begin(), pl.end(), b.pl);
        std::string out;
        append_block_line(contig, b, out);
        return out;
      },
      py::arg("contig"), py::arg("beg"), py::arg("end"), py::arg("gq"), py::arg("min_dp"), py::arg("dp_sum"),
      py::arg("ploidy"), py::arg("ref"), py::arg("pl"),
      "The gVCF line of a reference block (the writer's merged blocks; io/gvcf_text.cpp)");
  m.def(
      "scan_blocks",
      [](const py::buffer& buf, int64_t start, const std::string& chrom, int64_t covered, int64_t last_pos,
         int64_t chrom_len, const py::object& ref, int64_t ref_start) {
        const py::buffer_info text = buf.request();
        const char* ref_ptr = nullptr;
        int64_t ref_size = 0;
        py::buffer_info window;
        if (!ref.is_none()) {
          window = ref.cast<py::buffer>().request();
          ref_ptr = static_cast<const char*>(window.ptr);
          ref_size = window.size;
        }
        BlockScan s;
        {
          py::gil_scoped_release release;
          s = scan_blocks(static_cast<const char*>(text.ptr), text.size, start, chrom, covered, last_pos, chrom_len,
                          ref_ptr, ref_start, ref_size);
        }
        return py::make_tuple(s.stop, s.lines, s.covered, s.last_pos);
      },
      py::arg("buf"), py::arg("start"), py::arg("chrom"), py::arg("covered"), py::arg("last_pos"),
      py::arg("chrom_len"), py::arg("ref"), py::arg("ref_start"),
      "gmscall check's fast path over a run of reference blocks (io/gvcf_text.cpp scan_blocks): "
      "(stop offset, lines taken, covered, last POS)");
  m.def(
      "somatic_score",
      [](const std::vector<std::tuple<int, int, int, int, int>>& samples, const CallParams& params) {
        std::vector<SomaticCounts> counts;
        for (const auto& [af, ar, rf, rr, q] : samples) counts.push_back({af, ar, rf, rr, q});
        const SomaticRecord r = score_somatic_counts(counts, params);
        py::list afs;
        for (const SomaticSample& s : r.samples) afs.append(s.af);
        return py::make_tuple(r.tlod, r.nlod, r.tlod >= params.tlod_emit ? r.filters : -1, afs);
      },
      py::arg("samples"), py::arg("params"),
      "The somatic model on counts: samples = [(alt_fwd, alt_rev, ref_fwd, ref_rev, base_qual)] (tumour, then "
      "normal); returns (TLOD, NLOD, FILTER bits or -1 when not emitted, [allele fraction per sample]).");
  m.def(
      "assemble_sequences",
      [](const std::string& ref, const std::vector<std::string>& reads, uint32_t min_support) {
        const calling::GraphPaths g = calling::assemble_sequences(ref, reads, min_support);
        return py::make_tuple(g.k, g.paths);
      },
      py::arg("ref"), py::arg("reads"), py::arg("min_support") = 2,
      "Local assembly's graph step on plain sequences: (k used, best paths), k = 0 when every graph had a cycle.");
  m.def(
      "haplotype_model_codes",
      [](const std::string& hap, const std::vector<int>& table) {
        if (table.size() != static_cast<size_t>(kStrTableSize) && table.size() != static_cast<size_t>(3 * kStrTableSize))
          throw InputError("a model table has " + std::to_string(kStrTableSize) + " gap codes, then optionally " +
                           std::to_string(2 * kStrTableSize) + " slip codes; got " + std::to_string(table.size()));
        for (int x : table) if (x < 0 || x > 255) throw InputError("model table codes are 0..255");
        for (char c : hap)
          if (!std::strchr("ACGTN", c)) throw InputError("haplotype bases are A, C, G, T or N");
        const calling::HaplotypeCodes c = calling::haplotype_model_codes(hap, std::vector<uint8_t>(table.begin(), table.end()));
        return py::make_tuple(std::vector<int>(c.gap.begin(), c.gap.end()), c.slip);
      },
      py::arg("hap"), py::arg("table"),
      "A haplotype's pair-HMM gap code and slip word per position from a model's table (ErrorModel.table): "
      "(codes, slip words or []), as windows set them; for benchmarks/model_calibration.py and tests.");
  m.def(
      "pairhmm",
      [](const std::vector<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t, uint32_t, int32_t, int32_t>>& jobs,
         const std::vector<uint8_t>& read_bases, const std::vector<uint8_t>& read_quals,
         const std::vector<uint8_t>& hap_bases, const std::vector<uint8_t>& hap_gap_open, bool per_job,
         const std::vector<uint32_t>& hap_slip) {
        PairHmmBatch b{{}, read_bases, read_quals, hap_bases, hap_gap_open, hap_slip};
        if (!hap_slip.empty() && hap_slip.size() != hap_gap_open.size())
          throw InputError("slip words: one per gap code, or none");
        for (const auto& [ro, rl, ho, hl, go, diag, band] : jobs) {
          if (band < 0 || band > kMaxBand) throw InputError("pair-HMM band outside 0.." + std::to_string(kMaxBand));
          if (static_cast<uint64_t>(ro) + rl > read_bases.size() || read_quals.size() != read_bases.size() ||
              static_cast<uint64_t>(ho) + hl > hap_bases.size() || static_cast<uint64_t>(go) + hl > hap_gap_open.size())
            throw InputError("pair-HMM job outside its inputs");
          b.jobs.push_back({ro, rl, ho, hl, go, diag, band});
        }
        for (uint8_t x : read_bases) if (x > 4) throw InputError("read base codes are 0..4");
        for (uint8_t x : hap_bases) if (x > 4) throw InputError("haplotype base codes are 0..4");
        for (uint8_t x : read_quals) if (x > 127) throw InputError("read qualities are 0..127");
        std::vector<double> out(b.jobs.size());
        static const PairHmmTables tables = calling::make_pairhmm_tables();
        if (per_job) {
          const PairHmmInputs in{b.read_bases.data(), b.read_quals.data(), b.hap_bases.data(), b.hap_gap_open.data(),
                                 b.hap_slip.empty() ? nullptr : b.hap_slip.data()};
          for (size_t k = 0; k < b.jobs.size(); ++k) out[k] = pairhmm_job(in, tables, b.jobs[k]);
        } else {
          run_pairhmm_cpu(b, tables, out.data());
        }
        return out;
      },
      py::arg("jobs"), py::arg("read_bases"), py::arg("read_quals"), py::arg("hap_bases"), py::arg("hap_gap_open"),
      py::arg("per_job") = false, py::arg("hap_slip") = std::vector<uint32_t>(),
      "Scaled pair-HMM likelihoods of jobs (read_off, read_len, hap_off, hap_len, go_off, diag, band): the CPU "
      "schedule, or with per_job the one-job kernel the GPU runs (kernels/pairhmm.hpp); hap_slip: a slip word "
      "per gap code (tracts' one-unit slips), or none; for tests.");
  m.def("genotype_site", &genotype_site, py::arg("alleles"), py::arg("samples"), py::arg("per_site"), py::arg("hap"),
        py::arg("cohort"), py::arg("params"), py::arg("sor") = std::numeric_limits<double>::quiet_NaN(),
        py::arg("pos") = 0, py::arg("ref") = std::string_view(), py::arg("ref_beg") = 0,
        py::arg("prior_alleles") = std::vector<std::string>(),
        "Genotype one cohort site from per-sample likelihoods (gmscall genotype, from gVCFs); the "
        "long-tract indel priors are measured over `prior_alleles` (empty: `alleles`)");
  m.def("tract_priors_on", &calling::tract_priors_on, py::arg("params"),
        "Whether the indel priors of long tandem-repeat tracts are scaled anywhere (a learnt table, or a "
        "factor other than 1): where they are, genotyping a gVCF site reads the reference after it.");
  m.def(
      "long_tract_bases",
      [](const std::string& ref, int64_t pos, const std::vector<std::string>& alleles) {
        return calling::long_tract_bases(calling::RefSeq{ref, 0}, pos, alleles);
      },
      py::arg("ref"), py::arg("pos"), py::arg("alleles"),
      "Bases of the longest tandem-repeat tract after the anchor ref[pos] of a record's insertions and "
      "deletions (REF first), as the long-tract indel priors measure it; 0 for SNVs; for tests.");
  m.def("set_htslib_quiet", [](bool quiet) { hts_set_log_level(quiet ? HTS_LOG_OFF : HTS_LOG_WARNING); },
        py::arg("quiet") = true, "Silence htslib's own [E::...] messages (gmscall reports errors itself).");
  m.def("screen_qual", &calling::screen_qual, py::arg("carriers"), py::arg("covering"), py::arg("error"),
        py::arg("het_prior"), py::arg("hom_prior"),
        "The indel screen's count-level QUAL of one allele in one sample (core/indel_screen.cpp); for tests.");
  m.attr("gap_ext_classes") = std::vector<double>(std::begin(kGapExtClass), std::end(kGapExtClass));
  m.attr("str_max_period") = kStrMaxPeriod;
  m.attr("str_max_units") = kStrMaxUnits;
  m.def(
      "count_repeat_indels",
      [](const std::string& bam, const std::string& ref,
         const std::vector<std::tuple<std::string, int64_t, int64_t>>& chunks, int min_mapq, int hts_threads) {
        RepeatIndelCounts c;
        {
          py::gil_scoped_release release;
          c = count_repeat_indels(bam, ref, chunks, min_mapq, hts_threads);
        }
        const py::ssize_t n = static_cast<py::ssize_t>(c.read_groups.size());
        auto arr = [n](const std::vector<int64_t>& v) {
          py::array_t<int64_t> a({n, static_cast<py::ssize_t>(kStrMaxPeriod + 1), static_cast<py::ssize_t>(kStrMaxUnits + 1)});
          std::copy(v.begin(), v.end(), a.mutable_data());
          return a;
        };
        py::dict d;
        d["read_groups"] = c.read_groups;
        d["samples"] = c.samples;
        d["platforms"] = c.platforms;
        d["indel"] = arr(c.indel);
        d["total"] = arr(c.total);
        d["loci"] = arr(c.loci);
        d["multi"] = arr(c.multi);
        d["loss"] = arr(c.loss);
        d["variant"] = arr(c.variant);
        d["loci_seen"] = c.loci_seen;
        d["loci_skipped"] = c.loci_skipped;
        return d;
      },
      py::arg("bam"), py::arg("ref"), py::arg("chunks"), py::arg("min_mapq") = 20, py::arg("hts_threads") = 0,
      "Reads with and without a whole-unit indel at the reference's tandem repeats in `chunks`, per read group "
      "(and of the former, those off by 2+ units: multi; loci left out as real alleles: variant): arrays "
      "[read group, period 0..8, units 0..20] "
      "(see gmscall.error_model)");
  m.def("read_header_text", &read_header_text, py::arg("path"), py::arg("ref") = std::string(),
        py::call_guard<py::gil_scoped_release>());
}
