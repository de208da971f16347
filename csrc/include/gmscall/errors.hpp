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
// An output file could not be written: the OS error (errno) and the file. bindings.cpp raises it
// as Python's OSError(errno, strerror, path): the Python writer names the file the user gave (the
// core writes under a temporary name) in gmscall.errors.OutputError.
struct WriteError : GmsError {
  WriteError(int err_no, const std::string& file)
      : GmsError(file + ": cannot write it"), err(err_no), path(file) {}
  int err;
  std::string path;
};
// The requested backend cannot run (no CUDA build, no device, a CUDA call failed).
struct BackendError : GmsError {
  using GmsError::GmsError;
};

}  // namespace gms
