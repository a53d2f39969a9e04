// Helpers of the elementwise CUDA families (elemwise.cu, unary.cu, broadcast.cu, shape.cu): the
// per-element wrappers that put backends/common's functors between Elem<S> load and store, the
// same-shape map kernels with 16-byte vector loads, the x86-exact conversion of Cast and scalars,
// and the byte copy of the view ops.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "launch.cuh"

namespace mxcuda {

// ---------------------------------------------------------------- per-element wrappers
// Each takes and returns storage values S; the math runs in Elem<S>::C, as on the CPU.

template <int F, typename S>
struct BinaryOp {  // out = op(a, b)
  __device__ S operator()(S a, S b) const {
    using E = Elem<S>;
    return E::store(Binary<F>{}(E::load(a), E::load(b)));
  }
};

template <int F, typename S>
struct ScalarOp {  // out = op(a, scalar): the *_scalar ops
  typename Elem<S>::C s;
  __device__ S operator()(S a) const {
    using E = Elem<S>;
    return E::store(Binary<F>{}(E::load(a), s));
  }
};

template <int F, typename S>
struct UnaryOp {
  __device__ S operator()(S a) const {
    using E = Elem<S>;
    return E::store(Unary<F>{}(E::load(a)));
  }
};

template <typename S>
struct ClipOp {
  typename Elem<S>::C lo, hi;
  __device__ S operator()(S a) const {
    using E = Elem<S>;
    return E::store(Clip{}(E::load(a), lo, hi));
  }
};

// ---------------------------------------------------------------- conversions

// float -> double and double -> float as x86's cvtss2sd / cvtsd2ss: a NaN keeps its sign and
// payload (quiet bit set), where a GPU conversion may give the canonical NaN instead.
MX_HD inline double widen(float f) {
  if (f == f) return double(f);
  const uint32_t u = float_bits(f);
  return bits_double((uint64_t(u >> 31) << 63) | 0x7ff8000000000000ull | (uint64_t(u & 0x7fffffu) << 29));
}
MX_HD inline float narrow(double d) {
  if (d == d) return float(d);
  const uint64_t u = double_bits(d);
  return bits_float(uint32_t(u >> 63) << 31 | 0x7fc00000u | uint32_t((u >> 29) & 0x7fffffu));
}

// double(v) of a compute value (widen for float).
template <typename C>
MX_HD inline double to_double(C v) {
  if constexpr (std::is_same_v<C, float>) return widen(v);
  else return double(v);
}

// static_cast<C>(double) as the CPU backend executes it on x86-64 (its reference platform):
// floating targets round to nearest; integer targets truncate through cvttsd2si, which gives the
// "integer indefinite" INT_MIN for NaN, infinities and values out of range (32-bit for int32,
// int8 and uint8, which then keep the low byte; 64-bit for int64); bool is d != 0 (NaN -> true);
// float keeps a NaN's sign and payload (narrow).
// Written out so the GPU (whose conversions saturate) gives the same bits.
template <typename C>
MX_HD inline C from_double(double d) {
  if constexpr (std::is_same_v<C, bool>) {
    return d != 0.0;
  } else if constexpr (std::is_same_v<C, int64_t>) {
    return d >= -9223372036854775808.0 && d < 9223372036854775808.0 ? int64_t(d) : INT64_MIN;
  } else if constexpr (std::is_integral_v<C>) {
    const int32_t v = d > -2147483649.0 && d < 2147483648.0 ? int32_t(d) : INT32_MIN;
    return C(uint32_t(v));  // low bits, modulo 2^width
  } else if constexpr (std::is_same_v<C, float>) {
    return narrow(d);
  } else {
    return d;
  }
}

// The scalar of a *_scalar op in the compute type of S (host side, at run time).
template <typename S>
typename Elem<S>::C scalar_as(double v) {
  return from_double<typename Elem<S>::C>(v);
}

// ---------------------------------------------------------------- same-shape map kernels
// o[i] = f(a[i]) / f(a[i], b[i]). When every pointer is 16-byte aligned, the first nvec * V
// elements move as 16-byte vectors (V = 16 / sizeof(S)) and the rest one by one; otherwise
// nvec = 0. o may equal a or b (in place): each thread reads its elements before writing them.

template <typename S>
union Pack {
  static constexpr int V = 16 / int(sizeof(S));
  uint4 u;
  S s[V];
};

template <typename S, typename F>
__global__ void map1_kernel(int64_t nvec, int64_t n, const S* a, S* o, F f) {
  constexpr int V = Pack<S>::V;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  for (int64_t v = t; v < nvec; v += step) {
    Pack<S> x, r;
    x.u = reinterpret_cast<const uint4*>(a)[v];
#pragma unroll
    for (int k = 0; k < V; ++k) r.s[k] = f(x.s[k]);
    reinterpret_cast<uint4*>(o)[v] = r.u;
  }
  for (int64_t i = nvec * V + t; i < n; i += step) o[i] = f(a[i]);
}

template <typename S, typename F>
__global__ void map2_kernel(int64_t nvec, int64_t n, const S* a, const S* b, S* o, F f) {
  constexpr int V = Pack<S>::V;
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  const int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  for (int64_t v = t; v < nvec; v += step) {
    Pack<S> x, y, r;
    x.u = reinterpret_cast<const uint4*>(a)[v];
    y.u = reinterpret_cast<const uint4*>(b)[v];
#pragma unroll
    for (int k = 0; k < V; ++k) r.s[k] = f(x.s[k], y.s[k]);
    reinterpret_cast<uint4*>(o)[v] = r.u;
  }
  for (int64_t i = nvec * V + t; i < n; i += step) o[i] = f(a[i], b[i]);
}

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// Vectors to process for n elements at these pointers (0: scalar loop only).
template <typename S>
int64_t vec_count(int64_t n, const void* a, const void* b, const void* o) {
  return aligned16(a) && aligned16(b) && aligned16(o) ? n / Pack<S>::V : 0;
}

// Blocks for nvec vectors plus the scalar rest.
template <typename S>
unsigned map_blocks(int64_t nvec, int64_t n) {
  return blocks_for(nvec + (n - nvec * Pack<S>::V));
}

template <typename S, typename F>
int map1(int64_t n, const S* a, S* o, F f, cudaStream_t s, const char* op) {
  if (n <= 0) return 0;
  const int64_t nvec = vec_count<S>(n, a, a, o);
  map1_kernel<S, F><<<map_blocks<S>(nvec, n), kThreads, 0, s>>>(nvec, n, a, o, f);
  return launched(op);
}

template <typename S, typename F>
int map2(int64_t n, const S* a, const S* b, S* o, F f, cudaStream_t s, const char* op) {
  if (n <= 0) return 0;
  const int64_t nvec = vec_count<S>(n, a, b, o);
  map2_kernel<S, F><<<map_blocks<S>(nvec, n), kThreads, 0, s>>>(nvec, n, a, b, o, f);
  return launched(op);
}

// ---------------------------------------------------------------- views and copies

// out = in, byte for byte (the same memory: nothing to do).
inline int copy_bytes(const DLTensor& in, DLTensor& out, const mx_kernel_ctx* ctx, const char* op) {
  const int64_t bytes = numel(in) * elem_bytes(in);
  const void* src = data_of(in);
  void* dst = data_of(out);
  if (bytes > 0 && src != dst &&
      check(cudaMemcpyAsync(dst, src, size_t(bytes), cudaMemcpyDeviceToDevice, cuda_stream(ctx)), "cudaMemcpyAsync", op))
    return -1;
  return finish(ctx, op);
}

// Unsigned integer type of an element width in bytes (1, 2, 4, 8): the kernels that only move
// elements dispatch on width, not dtype.
template <typename F>
bool dispatch_width(int64_t bytes, F&& f) {
  switch (bytes) {
    case 1: f(uint8_t{}); return true;
    case 2: f(uint16_t{}); return true;
    case 4: f(uint32_t{}); return true;
    case 8: f(uint64_t{}); return true;
  }
  return false;
}

inline std::string unsupported(const char* op, int32_t dtype) {
  return std::string(op) + ": unsupported dtype " + dtype_name(dtype) + " on cuda";
}

// Nothing to free (kernels without state).
inline void no_destroy(void*) {}

}  // namespace mxcuda
