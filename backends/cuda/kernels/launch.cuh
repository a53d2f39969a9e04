// Device-side helpers of the CUDA kernels: launch geometry, a grid-stride for_each over extended
// lambdas, and the element types of backends/common (f16_t / bf16_t storage with float compute).
#pragma once

#include <cstdint>

#include "../../common/elem.h"
#include "../../common/functors.h"
#include "../cuda_backend.h"

namespace mxcuda {

constexpr int kThreads = 256;

// Blocks for n elements with a grid-stride loop: enough to fill the GPU, never more than needed.
inline unsigned blocks_for(int64_t n, int threads = kThreads) {
  const int64_t b = (n + threads - 1) / threads;
  return unsigned(b < 1 ? 1 : (b > 65536 ? 65536 : b));
}

template <typename F>
__global__ void for_each_kernel(int64_t n, F f) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) f(i);
}

// Runs f(i) for i in [0, n) on stream; f is a __device__ lambda (nvcc --extended-lambda).
template <typename F>
int for_each(int64_t n, cudaStream_t stream, const char* op, F f) {
  if (n <= 0) return 0;
  for_each_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, f);
  return launched(op);
}

// Device pointer to a tensor's first element, typed.
template <typename S>
S* ptr(const DLTensor& t) {
  return reinterpret_cast<S*>(data_of(t));
}

// Up to kMaxDims dims, passed to kernels by value.
constexpr int kMaxDims = 32;
struct Dims {
  int ndim = 0;
  int64_t d[kMaxDims];
};

}  // namespace mxcuda
