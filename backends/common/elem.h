// Element types of kernels: each storage type S has a compute type Elem<S>::C (float for the
// 16-bit floats, S itself otherwise) and load / store conversions; dispatch_* call a generic
// lambda with the storage type of a dtype flag.
#pragma once

#include <cstdint>

#include "half.h"
#include "mx/c_api.h"

namespace mx_impl {

template <typename S>
struct Elem {
  using C = S;
  MX_HD static C load(S v) { return v; }
  MX_HD static S store(C v) { return v; }
};
template <>
struct Elem<f16_t> {
  using C = float;
  MX_HD static C load(f16_t v) { return half_to_float(v.bits); }
  MX_HD static f16_t store(C v) { return {float_to_half(v)}; }
};
template <>
struct Elem<bf16_t> {
  using C = float;
  MX_HD static C load(bf16_t v) { return bf16_to_float(v.bits); }
  MX_HD static bf16_t store(C v) { return {float_to_bf16(v)}; }
};

// Calls f(S{}) with S the storage type of dtype flag; returns false for an unsupported flag.
template <typename F>
bool dispatch_numeric(int32_t dtype, F&& f) {
  switch (dtype) {
    case MX_FLOAT32: f(float{}); return true;
    case MX_FLOAT64: f(double{}); return true;
    case MX_FLOAT16: f(f16_t{}); return true;
    case MX_BFLOAT16: f(bf16_t{}); return true;
    case MX_UINT8: f(uint8_t{}); return true;
    case MX_INT8: f(int8_t{}); return true;
    case MX_INT32: f(int32_t{}); return true;
    case MX_INT64: f(int64_t{}); return true;
  }
  return false;
}

// dispatch_numeric and bool.
template <typename F>
bool dispatch_all(int32_t dtype, F&& f) {
  if (dtype == MX_BOOL) {
    f(bool{});
    return true;
  }
  return dispatch_numeric(dtype, f);
}

// The floating dtypes only (float32, float64, float16, bfloat16).
template <typename F>
bool dispatch_float(int32_t dtype, F&& f) {
  switch (dtype) {
    case MX_FLOAT32: f(float{}); return true;
    case MX_FLOAT64: f(double{}); return true;
    case MX_FLOAT16: f(f16_t{}); return true;
    case MX_BFLOAT16: f(bf16_t{}); return true;
  }
  return false;
}

}  // namespace mx_impl
