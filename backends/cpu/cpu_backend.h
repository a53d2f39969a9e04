// Internals of the CPU backend plugin: the host table it was given and helpers its kernels share.
// Includes abi/ only, like every backend.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mx/backend.h"
#include "mx/c_api.h"

namespace mxcpu {

extern const mx_host_api* g_host;

// Reports an error to the host and returns -1 (the slot's return value).
int error(int32_t code, const std::string& message);

// Attribute lookup in a kernel's create() args (the host guarantees every schema param is there).
const char* attr(const mx_kernel_args* args, const char* key);
double attr_float(const mx_kernel_args* args, const char* key);
bool attr_bool(const mx_kernel_args* args, const char* key);

// Integers of a canonical tuple attribute: "(2,-1)" -> {2, -1}; "None" / "()" -> {}.
std::vector<int64_t> attr_ints(const char* value);

int64_t numel(const DLTensor& t);
inline char* data_of(const DLTensor& t) { return static_cast<char*>(t.data) + t.byte_offset; }

// MX_* dtype flag of a DLPack type (-1 if none).
int32_t dtype_flag(DLDataType t);

// float16 / bfloat16 <-> float (round to nearest even).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
inline float bf16_to_float(uint16_t b) {
  uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint16_t float_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);  // keep NaN quiet
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

// Kernel tables of each family, terminated by an entry with op_name == nullptr.
extern const mx_kernel kElemwiseKernels[];
extern const mx_kernel kInitKernels[];
extern const mx_kernel kRandomKernels[];
extern const mx_kernel kDotKernels[];
extern const mx_kernel kUnaryKernels[];
extern const mx_kernel kBroadcastKernels[];
extern const mx_kernel kReduceKernels[];
extern const mx_kernel kNNKernels[];
extern const mx_kernel kOptimizerKernels[];
extern const mx_kernel kConvKernels[];
extern const mx_kernel kIndexingKernels[];
extern const mx_kernel kSlicingKernels[];
extern const mx_kernel kSortingKernels[];
extern const mx_kernel kGatherKernels[];

}  // namespace mxcpu
