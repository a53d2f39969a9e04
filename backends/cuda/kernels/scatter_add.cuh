// Scatter-add for the gradients of the gathering ops (_take_grad in indexing.cu,
// _backward_gather_nd in gather.cu), and the index loads they share with their forward ops.
//
// The CPU sums each output element in Elem<S>::C (float for float16 / bfloat16, S otherwise) and
// stores once. Here: float32, float64, int32 and int64 are added atomically into the zeroed output
// itself; float16 / bfloat16 accumulate in a float32 scratch and int8 / uint8 in a 32-bit unsigned
// scratch (the sum mod 256 after truncation is the CPU's wrapped int8 / uint8 sum), converted into
// the output once at the end. Only the order of the additions differs from the CPU.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "launch.cuh"

namespace mxcuda {

// The index at i of an index tensor of dtype flag dt, as the CPU reads it: double(Elem<I>::load)).
__device__ inline double load_index(const void* p, int32_t dt, int64_t i) {
  switch (dt) {
    case MX_FLOAT32: return double(static_cast<const float*>(p)[i]);
    case MX_FLOAT64: return static_cast<const double*>(p)[i];
    case MX_FLOAT16: return double(Elem<f16_t>::load(static_cast<const f16_t*>(p)[i]));
    case MX_BFLOAT16: return double(Elem<bf16_t>::load(static_cast<const bf16_t*>(p)[i]));
    case MX_UINT8: return double(static_cast<const uint8_t*>(p)[i]);
    case MX_INT8: return double(static_cast<const int8_t*>(p)[i]);
    case MX_INT32: return double(static_cast<const int32_t*>(p)[i]);
    default: return double(static_cast<const int64_t*>(p)[i]);  // MX_INT64
  }
}

// Index dtypes the CPU kernels accept (dispatch_numeric: every dtype but bool).
inline bool is_index_dtype(int32_t dt) { return dispatch_numeric(dt, [](auto) {}); }

// Device scratch a scatter-add into n_out elements of dtype dt needs (0: atomics in place).
inline uint64_t scatter_add_scratch(int32_t dt, int64_t n_out) {
  const bool narrow = dt == MX_FLOAT16 || dt == MX_BFLOAT16 || dt == MX_UINT8 || dt == MX_INT8;
  return narrow && n_out > 0 ? uint64_t(n_out) * 4u : 0u;
}

// Accumulator type per storage type and the atomic add into it.
template <typename S> struct AccOf { using A = S; };
template <> struct AccOf<f16_t> { using A = float; };
template <> struct AccOf<bf16_t> { using A = float; };
template <> struct AccOf<uint8_t> { using A = uint32_t; };
template <> struct AccOf<int8_t> { using A = uint32_t; };

__device__ inline void atomic_add(float* p, float v) { atomicAdd(p, v); }
__device__ inline void atomic_add(double* p, double v) { atomicAdd(p, v); }
__device__ inline void atomic_add(int32_t* p, int32_t v) { atomicAdd(reinterpret_cast<int*>(p), int(v)); }
__device__ inline void atomic_add(int64_t* p, int64_t v) {  // two's complement: wraps as the CPU's sum
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
__device__ inline void atomic_add(uint32_t* p, uint32_t v) { atomicAdd(reinterpret_cast<unsigned*>(p), unsigned(v)); }

// The value of one source element in the accumulator's type.
template <typename S>
__device__ inline typename AccOf<S>::A to_acc(S v) {
  using A = typename AccOf<S>::A;
  if constexpr (std::is_same_v<A, uint32_t>) return uint32_t(int32_t(v));  // sign-extended, wraps mod 2^32
  else return A(Elem<S>::load(v));
}

// acc[target(i)] += src[i] for i < n_src (target < 0: skipped); Target is a functor with a
// __device__ int64_t operator()(int64_t) const.
template <typename S, typename Target>
__global__ void scatter_add_kernel(int64_t n_src, const S* src, typename AccOf<S>::A* acc, Target target) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n_src; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t t = target(i);
    if (t >= 0) atomic_add(&acc[t], to_acc(src[i]));
  }
}

template <typename S>
__global__ void store_acc_kernel(int64_t n, const typename AccOf<S>::A* acc, S* out) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if constexpr (std::is_same_v<typename AccOf<S>::A, uint32_t>) out[i] = S(uint8_t(acc[i]));  // low byte
    else out[i] = Elem<S>::store(acc[i]);
  }
}

template <typename S, typename Target>
int scatter_add_t(void* out, int64_t n_out, const void* src, int64_t n_src, Target target, void* scratch,
                  cudaStream_t s, const char* op) {
  using A = typename AccOf<S>::A;
  constexpr bool kInPlace = std::is_same_v<A, S>;
  if (n_out <= 0) return 0;
  A* acc = kInPlace ? reinterpret_cast<A*>(out) : static_cast<A*>(scratch);
  if (check(cudaMemsetAsync(acc, 0, size_t(n_out) * sizeof(A), s), "cudaMemsetAsync", op)) return -1;
  if (n_src > 0) {
    scatter_add_kernel<S, Target><<<blocks_for(n_src), kThreads, 0, s>>>(n_src, static_cast<const S*>(src), acc, target);
    if (launched(op)) return -1;
  }
  if (!kInPlace) {
    store_acc_kernel<S><<<blocks_for(n_out), kThreads, 0, s>>>(n_out, acc, static_cast<S*>(out));
    if (launched(op)) return -1;
  }
  return 0;
}

// out (n_out elements of dtype dt) = zeros with src[i] added at target(i), with the call's
// temp space as the scratch (the kernel's workspace_bytes asks for scatter_add_scratch(dt, n_out)).
// -1 after reporting an unsupported dtype or missing scratch.
template <typename Target>
int scatter_add(const mx_kernel_ctx* ctx, int32_t dt, void* out, int64_t n_out, const void* src, int64_t n_src,
                Target target, const char* op) {
  const uint64_t need = scatter_add_scratch(dt, n_out);
  if (need > 0 && (ctx->temp_space == nullptr || ctx->temp_bytes < need))
    return error(MX_ERR_INTERNAL, std::string(op) + ": the host passed " + std::to_string(ctx->temp_bytes) +
                                      " bytes of temp space, " + std::to_string(need) + " needed on cuda");
  void* scratch = ctx->temp_space;
  cudaStream_t s = cuda_stream(ctx);
  switch (dt) {
    case MX_FLOAT32: return scatter_add_t<float>(out, n_out, src, n_src, target, scratch, s, op);
    case MX_FLOAT64: return scatter_add_t<double>(out, n_out, src, n_src, target, scratch, s, op);
    case MX_FLOAT16: return scatter_add_t<f16_t>(out, n_out, src, n_src, target, scratch, s, op);
    case MX_BFLOAT16: return scatter_add_t<bf16_t>(out, n_out, src, n_src, target, scratch, s, op);
    case MX_UINT8: return scatter_add_t<uint8_t>(out, n_out, src, n_src, target, scratch, s, op);
    case MX_INT8: return scatter_add_t<int8_t>(out, n_out, src, n_src, target, scratch, s, op);
    case MX_INT32: return scatter_add_t<int32_t>(out, n_out, src, n_src, target, scratch, s, op);
    case MX_INT64: return scatter_add_t<int64_t>(out, n_out, src, n_src, target, scratch, s, op);
  }
  return error(MX_ERR_UNSUPPORTED, std::string(op) + ": unsupported dtype " + dtype_name(dt) + " on cuda");
}

}  // namespace mxcuda
