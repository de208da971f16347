// RAII device buffers and error checks for the thin CUDA schedulers.
#pragma once
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "gmscall/errors.hpp"

namespace gms {

inline void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw BackendError(std::string("CUDA ") + what + ": " + cudaGetErrorString(e));
}

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { allocate(n); }
  DeviceBuffer(const T* host, size_t n) {
    allocate(n);
    upload(host, n);
  }
  ~DeviceBuffer() {
    if (p_) cudaFree(p_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  void allocate(size_t n) {
    n_ = n;
    if (n == 0) return;
    cuda_check(cudaMalloc(&p_, n * sizeof(T)), "cudaMalloc");
  }
  void upload(const T* host, size_t n) {
    if (n) cuda_check(cudaMemcpy(p_, host, n * sizeof(T), cudaMemcpyHostToDevice), "copy to device");
  }
  void zero() {
    if (n_) cuda_check(cudaMemset(p_, 0, n_ * sizeof(T)), "cudaMemset");
  }
  void download(T* host, size_t n) const {
    if (n) cuda_check(cudaMemcpy(host, p_, n * sizeof(T), cudaMemcpyDeviceToHost), "copy to host");
  }
  T* get() const { return p_; }
  size_t size() const { return n_; }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

inline int blocks_for(size_t n, int threads) { return static_cast<int>((n + threads - 1) / threads); }

}  // namespace gms
