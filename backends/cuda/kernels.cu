// CUDA kernels of the first part: fills (_zeros, _ones, _full) for every dtype width, enqueued
// on the engine's stream. Compute kernels arrive with the operators issue.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

#include "cuda_backend.h"

namespace mxcuda {
namespace {

template <typename T>
__global__ void fill_kernel(T* out, int64_t n, T v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = v;
}

struct FillState {
  int bytes;           // element width
  uint64_t pattern;    // the value's bit pattern in the output dtype
};

uint16_t to_half_bits(float f) {
  // Round-to-nearest-even float -> binary16 (no device needed at create time).
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return uint16_t(sign | 0x7e00u);
  if (a >= 0x477ff000u) return uint16_t(sign | 0x7c00u);
  if (a < 0x38800000u) {
    if (a < 0x33000000u) return sign;
    const uint32_t e = a >> 23, m = (a & 0x7fffffu) | 0x800000u, sh = 126 - e;
    uint32_t v = m >> sh;
    const uint32_t rem = m & ((1u << sh) - 1), half = 1u << (sh - 1);
    if (rem > half || (rem == half && (v & 1u))) ++v;
    return uint16_t(sign | v);
  }
  uint32_t v = a - 0x38000000u;
  return uint16_t(sign | ((v + 0xfffu + ((v >> 13) & 1u)) >> 13));
}

template <int KIND>
int fill_create(const mx_kernel_args* args, void** out) {
  const DLDataType t = args->outputs[0].dtype;
  double v = KIND == 0 ? 0.0 : KIND == 1 ? 1.0 : 0.0;
  if (KIND == 2) {
    for (int32_t i = 0; i < args->num_attrs; ++i)
      if (std::strcmp(args->attr_keys[i], "value") == 0) v = std::strtod(args->attr_vals[i], nullptr);
  }
  auto* st = new FillState{(t.bits + 7) / 8, 0};
  if (t.code == kDLFloat && t.bits == 32) { float f = float(v); std::memcpy(&st->pattern, &f, 4); }
  else if (t.code == kDLFloat && t.bits == 64) { std::memcpy(&st->pattern, &v, 8); }
  else if (t.code == kDLFloat && t.bits == 16) { st->pattern = to_half_bits(float(v)); }
  else if (t.code == kDLBfloat) { float f = float(v); uint32_t u; std::memcpy(&u, &f, 4); st->pattern = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16; }
  else if (t.code == kDLInt || t.code == kDLUInt || t.code == 6) { int64_t i = int64_t(v); std::memcpy(&st->pattern, &i, 8); }
  else { delete st; return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cuda"); }
  *out = st;
  return 0;
}

int fill_run(void* state, const mx_kernel_ctx* ctx, const DLTensor*, int32_t, DLTensor* out, int32_t) {
  const auto& st = *static_cast<const FillState*>(state);
  int64_t n = 1;
  for (int i = 0; i < out[0].ndim; ++i) n *= out[0].shape[i];
  void* p = static_cast<char*>(out[0].data) + out[0].byte_offset;
  cudaStream_t stream = ctx->stream ? static_cast<Stream*>(ctx->stream)->s : nullptr;
  const int threads = 256;
  const int blocks = int(n / threads + 1 < 4096 ? n / threads + 1 : 4096);
  switch (st.bytes) {
    case 1: fill_kernel<<<blocks, threads, 0, stream>>>(static_cast<uint8_t*>(p), n, uint8_t(st.pattern)); break;
    case 2: fill_kernel<<<blocks, threads, 0, stream>>>(static_cast<uint16_t*>(p), n, uint16_t(st.pattern)); break;
    case 4: fill_kernel<<<blocks, threads, 0, stream>>>(static_cast<uint32_t*>(p), n, uint32_t(st.pattern)); break;
    case 8: fill_kernel<<<blocks, threads, 0, stream>>>(static_cast<uint64_t*>(p), n, st.pattern); break;
  }
  return check(cudaGetLastError(), "fill kernel launch");
}

void fill_destroy(void* s) { delete static_cast<FillState*>(s); }

}  // namespace

const mx_kernel kKernels[] = {
    {sizeof(mx_kernel), "_zeros", fill_create<0>, fill_run, fill_destroy},
    {sizeof(mx_kernel), "_ones", fill_create<1>, fill_run, fill_destroy},
    {sizeof(mx_kernel), "_full", fill_create<2>, fill_run, fill_destroy},
    {0, nullptr, nullptr, nullptr, nullptr},
};

}  // namespace mxcuda
