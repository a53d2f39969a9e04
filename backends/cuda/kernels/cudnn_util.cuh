// cuDNN helpers for the CUDA kernels files: owning wrappers of the legacy descriptors (created in a
// kernel's create(), destroyed with its state) and the mapping of mx dtypes onto cuDNN data types.
// Every status goes through check_cudnn, so a failure names the op and the call.
#pragma once

#include <climits>
#include <cstdint>
#include <initializer_list>

#include "../cuda_backend.h"

namespace mxcuda {

// One cuDNN descriptor, destroyed with its owner; make() creates it (0, or -1 after reporting).
template <typename H, cudnnStatus_t (*Create)(H*), cudnnStatus_t (*Destroy)(H)>
struct CudnnDesc {
  H h = nullptr;
  CudnnDesc() = default;
  CudnnDesc(const CudnnDesc&) = delete;
  CudnnDesc& operator=(const CudnnDesc&) = delete;
  ~CudnnDesc() {
    if (h) Destroy(h);
  }
  int make(const char* call, const char* op) { return h ? 0 : check_cudnn(Create(&h), call, op); }
};
using TensorDesc = CudnnDesc<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor, cudnnDestroyTensorDescriptor>;
using FilterDesc = CudnnDesc<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor, cudnnDestroyFilterDescriptor>;
using ConvDesc =
    CudnnDesc<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor, cudnnDestroyConvolutionDescriptor>;

// The cuDNN data type of an mx dtype flag; false for dtypes cuDNN has no type for.
inline bool cudnn_dtype(int32_t flag, cudnnDataType_t* out) {
  switch (flag) {
    case MX_FLOAT32: *out = CUDNN_DATA_FLOAT; return true;
    case MX_FLOAT64: *out = CUDNN_DATA_DOUBLE; return true;
    case MX_FLOAT16: *out = CUDNN_DATA_HALF; return true;
    case MX_BFLOAT16: *out = CUDNN_DATA_BFLOAT16; return true;
    case MX_INT8: *out = CUDNN_DATA_INT8; return true;
    case MX_UINT8: *out = CUDNN_DATA_UINT8; return true;
    case MX_INT32: *out = CUDNN_DATA_INT32; return true;
    case MX_INT64: *out = CUDNN_DATA_INT64; return true;
  }
  return false;
}

// 16-bit float data: convolutions compute in CUDNN_DATA_FLOAT on tensor cores (the pseudo-half
// and pseudo-bfloat16 configurations); their scaling factors are float.
inline bool is_half(cudnnDataType_t t) { return t == CUDNN_DATA_HALF || t == CUDNN_DATA_BFLOAT16; }

// The scaling factors cuDNN reads through void*: double for double data, float otherwise.
inline const void* cudnn_one(cudnnDataType_t t) {
  static const float f = 1.0f;
  static const double d = 1.0;
  return t == CUDNN_DATA_DOUBLE ? static_cast<const void*>(&d) : static_cast<const void*>(&f);
}
inline const void* cudnn_zero(cudnnDataType_t t) {
  static const float f = 0.0f;
  static const double d = 0.0;
  return t == CUDNN_DATA_DOUBLE ? static_cast<const void*>(&d) : static_cast<const void*>(&f);
}

// True when every value fits cuDNN's int dims.
inline bool fits_int(std::initializer_list<int64_t> v) {
  for (int64_t x : v)
    if (x < 0 || x > INT_MAX) return false;
  return true;
}

// A compact NCHW tensor descriptor (creates it on first use).
inline int set_nchw(TensorDesc& d, cudnnDataType_t t, int64_t n, int64_t c, int64_t h, int64_t w, const char* op) {
  if (d.make("cudnnCreateTensorDescriptor", op)) return -1;
  return check_cudnn(cudnnSetTensor4dDescriptor(d.h, CUDNN_TENSOR_NCHW, t, int(n), int(c), int(h), int(w)),
                     "cudnnSetTensor4dDescriptor", op);
}
inline int set_filter(FilterDesc& d, cudnnDataType_t t, int64_t k, int64_t c, int64_t h, int64_t w, const char* op) {
  if (d.make("cudnnCreateFilterDescriptor", op)) return -1;
  return check_cudnn(cudnnSetFilter4dDescriptor(d.h, t, CUDNN_TENSOR_NCHW, int(k), int(c), int(h), int(w)),
                     "cudnnSetFilter4dDescriptor", op);
}

// Restores the calling thread's current device when a planning call is done with another.
struct DeviceGuard {
  int prev = -1;
  explicit DeviceGuard(int dev) {
    if (cudaGetDevice(&prev) != cudaSuccess) prev = -1;
    if (prev != dev) cudaSetDevice(dev);
  }
  ~DeviceGuard() {
    if (prev >= 0) cudaSetDevice(prev);
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;
};

}  // namespace mxcuda
