// Internals of the CUDA backend plugin shared by its host code and its kernels: the stream and
// event objects behind mx_stream_t / mx_event_t, error reporting for the CUDA runtime, cuBLAS and
// cuDNN (each message names the op, the call and the library's reason), and the per-stream
// library handles. Includes abi/, backends/common and CUDA headers only.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "../common/plugin.h"

namespace mxcuda {

using namespace mx_impl;  // error(), attr*(), numel(), dtype_flag() … from backends/common

// What mx_stream_t points to. The library handles are bound to this stream on first use and
// destroyed with it; a stream belongs to one engine worker, so its handles need no lock.
struct Stream {
  int dev;
  cudaStream_t s;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
  bool owned = true;  // false: a borrowed native stream (stream_from_native), never destroyed here
};
struct Event {
  int dev;
  cudaEvent_t e;
};

// 0 on success; otherwise reports "<op>: <call>: <reason>" to the host and returns -1. Out of
// memory is reported as MX_ERR_OUT_OF_MEMORY, everything else as MX_ERR_INTERNAL.
int check(cudaError_t e, const char* call, const char* op = nullptr);
int check_cublas(cublasStatus_t s, const char* call, const char* op);
int check_cudnn(cudnnStatus_t s, const char* call, const char* op);
// After a kernel launch: reports a launch failure (bad configuration, no device image) for op.
int launched(const char* op);

// The stream a kernel call enqueues on: the engine worker's, or the device's own stream when the
// host passed none (a synchronous caller; the result is synchronised before run() returns).
Stream* stream_of(const mx_kernel_ctx* ctx);
inline cudaStream_t cuda_stream(const mx_kernel_ctx* ctx) { return stream_of(ctx)->s; }
// Completes a call made without a host stream (see stream_of); 0 otherwise.
int finish(const mx_kernel_ctx* ctx, const char* op);

// The cuBLAS / cuDNN handle bound to the call's stream (created on first use; nullptr after
// reporting the error). cuBLAS math mode: exact float32 unless tensor_cores_allowed().
cublasHandle_t cublas_of(const mx_kernel_ctx* ctx, const char* op);
cudnnHandle_t cudnn_of(const mx_kernel_ctx* ctx, const char* op);
// For create(): a cuDNN handle of device dev for queries (algorithm heuristics and, for
// cudnn_tune=fastest, cudnnFind*), bound to no engine stream; `lock` holds the device's planning
// mutex while the handle is used. nullptr after reporting an error.
cudnnHandle_t cudnn_planning(int dev, const char* op, std::unique_lock<std::mutex>& lock);
// MX_CUDA_ALLOW_TENSOR_CORE=1 (or MXNet's MXNET_CUDA_ALLOW_TENSOR_CORE=1) lets float32 GEMMs and
// convolutions use TF32 tensor cores; off by default so float32 results match the CPU backend.
bool tensor_cores_allowed();
// Releases the handles bound to a stream (stream_destroy).
void release_handles(Stream* s);

}  // namespace mxcuda
