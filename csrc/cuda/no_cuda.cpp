// Built when the CUDA backend is not compiled: the CUDA entry points say so clearly.
#include "gmscall/backend.hpp"
#include "gmscall/errors.hpp"

namespace gms {

bool cuda_compiled() { return false; }
std::vector<DeviceInfo> cuda_devices() { return {}; }
std::string cuda_runtime_version() { return ""; }

[[noreturn]] static void no_cuda() {
  throw BackendError("this gmscall was built without CUDA; reinstall with nvcc on PATH "
                     "(GMSCALL_CUDA=ON pip install .) or use --backend cpu");
}

void run_pileup_cuda(const PileupJob&, PileupView&) { no_cuda(); }

}  // namespace gms

namespace gms {
void run_pairhmm_cuda(const PairHmmBatch&, const PairHmmTables&, double*) {
  throw BackendError("this gmscall was built without CUDA; use --backend cpu");
}
}  // namespace gms
