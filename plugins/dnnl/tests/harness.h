// Drives libmx_backend_dnnl.so's kernels the way the host does — mx_backend_init with a host table,
// find_kernel, create, workspace_bytes, run with a temp space of that size, destroy — without
// libmx, so a test sees exactly what one kernel computes. The plugin's path is the test
// program's first argument.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <mx/backend.h>
#include <mx/c_api.h>

#include "reference.h"

namespace harness {

using ref::Vec;
using Shape = std::vector<int64_t>;
using Attrs = std::vector<std::pair<std::string, std::string>>;

// The plugin's table (loaded once by main()).
const mx_backend_api& api();

// A host tensor of an MX_* dtype (float32, bfloat16, float64, float16) holding values rounded to it.
struct Tensor {
  Shape shape;
  int32_t dtype = MX_FLOAT32;
  std::vector<uint64_t> storage;  // 8-byte aligned bytes

  Tensor() = default;
  Tensor(Shape s, int32_t dt, const Vec& values = {});
  int64_t size() const;
  Vec values() const;  // as float64
  DLTensor dl();
};

// A tensor of uniform values in [lo, hi) (reproducible from seed), rounded to dtype.
Tensor random(const Shape& s, int32_t dtype, double lo, double hi, uint64_t seed);

// The error the plugin reported last on this thread.
struct HostError {
  int32_t code = MX_ERR_OK;
  std::string message;
};
HostError last_error();

// create() for these tensors, with the attributes completed by the schema's defaults as the host
// does; on success also runs and destroys. Returns create's result: 0, or
// -1 with last_error() set. `train` is the ctx's is_train.
int try_run(const std::string& op, const Attrs& attrs, std::vector<Tensor>& in, std::vector<Tensor>& out,
            bool train = false);
// try_run that must succeed.
void run(const std::string& op, const Attrs& attrs, std::vector<Tensor>& in, std::vector<Tensor>& out, bool train = false);
// create() must refuse with MX_ERR_UNSUPPORTED and a message naming the op (the host then falls back).
void expect_unsupported(const std::string& op, const Attrs& attrs, std::vector<Tensor> in, std::vector<Tensor> out);

// got within the tolerance of dtype of want: float32 1e-5 relative plus 1e-5 of want's largest
// magnitude (sums of many terms); bfloat16 1.6e-2 and 1.6e-3 (an 8-bit mantissa, float32 sums).
void expect_close(const Vec& got, const Vec& want, int32_t dtype, const std::string& what);

// "(a,b)" / "(a,)" tuples of attributes.
std::string tuple(std::initializer_list<int64_t> v);

// oneDNN 2.x's bfloat16 kernels need its avx512_core ISA; below it the plugin refuses bfloat16 calls
// (the host falls back), which nn_test checks. Read from the CPU, not from the plugin under test.
inline bool cpu_has_bfloat16_kernels() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
// The dtypes the plugin serves on this CPU, for parameterised loops.
inline std::vector<int32_t> served() {
  if (cpu_has_bfloat16_kernels()) return {MX_FLOAT32, MX_BFLOAT16};
  return {MX_FLOAT32};
}
inline const char* name(int32_t dtype) { return dtype == MX_FLOAT32 ? "float32" : "bfloat16"; }

}  // namespace harness
