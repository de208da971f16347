// Typed exceptions of the C++ core; bindings.cpp maps each to a class of gmscall.errors.
#pragma once
#include <stdexcept>
#include <string>

namespace gms {

struct GmsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The user's input is wrong or damaged (file, region, record).
struct InputError : GmsError {
  using GmsError::GmsError;
};
// The requested backend cannot run (no CUDA build, no device, a CUDA call failed).
struct BackendError : GmsError {
  using GmsError::GmsError;
};

}  // namespace gms
