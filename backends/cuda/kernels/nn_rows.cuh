// Row machinery of the nn family (nn.cu): reductions in double over one "row" of a tensor viewed
// as (outer, n, inner), by one thread, one warp or one block, and the launch that maps rows onto
// them. The CPU kernels (backends/cpu/kernels/nn.cc) accumulate in double for every dtype; so
// does everything here, so only the order of the additions differs from the CPU.
#pragma once

#include <cmath>
#include <cstdint>

#include "launch.cuh"

namespace mxcuda {
namespace nn {

// std::max(m, v) as the CPU folds it: a NaN v never replaces m (so a NaN never enters the max;
// it still poisons the sums that follow, as on the CPU).
__device__ inline double max_fold(double m, double v) { return m < v ? v : m; }

__device__ inline double warp_sum(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ inline double warp_max(double v) {
  for (int o = 16; o > 0; o >>= 1) v = max_fold(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// The cooperating threads of one row. lane() strides the row by size(); sum / max return the
// reduction to every member. Solo: one thread (strided rows, the CPU's own loop order).
struct Solo {
  __device__ int lane() const { return 0; }
  __device__ int size() const { return 1; }
  __device__ double sum(double v) const { return v; }
  __device__ double max(double v) const { return v; }
};
struct Warp {
  __device__ int lane() const { return int(threadIdx.x & 31); }
  __device__ int size() const { return 32; }
  __device__ double sum(double v) const { return warp_sum(v); }
  __device__ double max(double v) const { return warp_max(v); }
};
// The whole block (kThreads threads); smem holds 33 doubles. Every thread must call sum / max.
struct Block {
  double* smem;
  __device__ int lane() const { return int(threadIdx.x); }
  __device__ int size() const { return int(blockDim.x); }
  template <bool MAX>
  __device__ double reduce(double v) const {
    v = MAX ? warp_max(v) : warp_sum(v);
    const int w = int(threadIdx.x >> 5), nw = int(blockDim.x >> 5);
    __syncthreads();  // smem may still be read from the previous reduction
    if ((threadIdx.x & 31) == 0) smem[w] = v;
    __syncthreads();
    if (w == 0) {
      v = int(threadIdx.x) < nw ? smem[threadIdx.x] : (MAX ? -INFINITY : 0.0);
      v = MAX ? warp_max(v) : warp_sum(v);
      if (threadIdx.x == 0) smem[32] = v;
    }
    __syncthreads();
    return smem[32];
  }
  __device__ double sum(double v) const { return reduce<false>(v); }
  __device__ double max(double v) const { return reduce<true>(v); }
};

// How rows are spread: kSolo when the row is strided (inner > 1: adjacent threads take adjacent
// rows, so reads stay coalesced), else a warp per row, or a block per row for long rows.
enum RowMode : int { kSolo, kWarp, kBlock };

inline RowMode row_mode(int64_t n, int64_t inner) {
  if (inner != 1) return kSolo;
  return n >= 1024 ? kBlock : kWarp;
}

// Calls f(group, row, base, stride) for every row r in [0, rows) of the (outer, n, inner) view:
// row r = (o, i) starts at o * n * inner + i and its n entries are stride = inner apart. Loops are
// uniform across each group (warp / block), so groups may reduce.
template <int MODE, typename F>
__device__ void for_rows(int64_t rows, int64_t n, int64_t inner, double* smem, F f) {
  if constexpr (MODE == kSolo) {
    for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows; r += int64_t(gridDim.x) * blockDim.x)
      f(Solo{}, r, (r / inner) * n * inner + r % inner, inner);
  } else if constexpr (MODE == kWarp) {
    const int64_t per_block = blockDim.x / 32;
    for (int64_t r = blockIdx.x * per_block + threadIdx.x / 32; r < rows; r += int64_t(gridDim.x) * per_block)
      f(Warp{}, r, r * n, int64_t(1));
  } else {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) f(Block{smem}, r, r * n, int64_t(1));
  }
}

// Grid for `rows` rows in mode m (kThreads threads a block).
inline unsigned row_blocks(int mode, int64_t rows) {
  if (mode == kSolo) return blocks_for(rows);
  if (mode == kWarp) return blocks_for(rows, kThreads / 32);
  return unsigned(rows < 65536 ? (rows < 1 ? 1 : rows) : 65536);
}

// An element of storage type S as double (through float for the 16-bit types, as the CPU's
// Elem<S>::load), and a double result stored back through Elem<S>::C (float for 16-bit).
template <typename S>
__device__ inline double ld(S v) {
  return double(Elem<S>::load(v));
}
template <typename S>
__device__ inline S st(double v) {
  return Elem<S>::store(static_cast<typename Elem<S>::C>(v));
}

// A label element as double (Elem<L>::load as the CPU), whatever its numeric dtype.
__device__ inline double load_label(const void* p, int32_t dt, int64_t i) {
  switch (dt) {
    case MX_FLOAT32: return double(static_cast<const float*>(p)[i]);
    case MX_FLOAT64: return static_cast<const double*>(p)[i];
    case MX_FLOAT16: return double(half_to_float(static_cast<const f16_t*>(p)[i].bits));
    case MX_BFLOAT16: return double(bf16_to_float(static_cast<const bf16_t*>(p)[i].bits));
    case MX_UINT8: return double(static_cast<const uint8_t*>(p)[i]);
    case MX_INT8: return double(static_cast<const int8_t*>(p)[i]);
    case MX_INT32: return double(static_cast<const int32_t*>(p)[i]);
    default: return double(static_cast<const int64_t*>(p)[i]);
  }
}

// int64_t(label) as x86-64 computes it on the CPU: truncation, and INT64_MIN for NaN and out of
// range (the GPU's conversion would give 0 for NaN, which would match class 0).
__device__ inline int64_t label_index(double v) {
  return v >= -9223372036854775808.0 && v < 9223372036854775808.0 ? int64_t(v) : INT64_MIN;
}

}  // namespace nn
}  // namespace mxcuda
