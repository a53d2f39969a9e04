// float16 / bfloat16 for the CPU's GEMM and conv kernels (dot.cc, conv.cc): correct, not fast.
// The 16-bit inputs are widened to float32 scratch, the float32 kernel runs on those views, and
// its float32 outputs are rounded back (Elem<S>::load / store). That is exactly what the core's
// promotion did before these ops admitted 16-bit dtypes (Cast to float32, the op, Cast back), so
// CPU results are unchanged; the CUDA backend computes these natively on tensor cores.
#pragma once

#include <cstdint>
#include <vector>

#include "../cpu_backend.h"

namespace mxcpu {

// The float32 scratch of one 16-bit tensor and the compact float32 view of it.
struct Widened {
  std::vector<float> buf;
  DLTensor view{};
};

inline bool is_16bit(const DLTensor& t) {
  const int32_t f = dtype_flag(t.dtype);
  return f == MX_FLOAT16 || f == MX_BFLOAT16;
}

// Whether any input or output is 16-bit (then run_widened runs the float32 path on copies).
inline bool any_16bit(const DLTensor* in, int32_t n_in, const DLTensor* out, int32_t n_out) {
  for (int32_t i = 0; i < n_in; ++i)
    if (is_16bit(in[i])) return true;
  for (int32_t i = 0; i < n_out; ++i)
    if (is_16bit(out[i])) return true;
  return false;
}

// view := t as float32 (copied and widened when `copy`, else only sized: an output).
inline void widen(const DLTensor& t, bool copy, Widened& w) {
  const int64_t n = numel(t);
  w.buf.assign(size_t(n), 0.0f);
  if (copy)
    dispatch_float(dtype_flag(t.dtype), [&](auto tag) {
      using S = decltype(tag);
      const S* s = reinterpret_cast<const S*>(data_of(t));
      for (int64_t i = 0; i < n; ++i) w.buf[size_t(i)] = float(Elem<S>::load(s[i]));
    });
  w.view = t;
  w.view.data = w.buf.data();
  w.view.byte_offset = 0;
  w.view.strides = nullptr;
  w.view.dtype = DLDataType{kDLFloat, 32, 1};
}

// Rounds the float32 scratch w back into the 16-bit tensor t.
inline void narrow(const Widened& w, DLTensor& t) {
  const int64_t n = numel(t);
  dispatch_float(dtype_flag(t.dtype), [&](auto tag) {
    using S = decltype(tag);
    S* d = reinterpret_cast<S*>(data_of(t));
    for (int64_t i = 0; i < n; ++i) d[i] = Elem<S>::store(w.buf[size_t(i)]);
  });
}

// Runs f32(in, out) on float32 copies of every 16-bit input and output, then rounds the outputs
// back. Inputs and outputs of other dtypes are passed through.
template <typename F>
void run_widened(const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out, F&& f32) {
  std::vector<Widened> wi(static_cast<size_t>(n_in)), wo(static_cast<size_t>(n_out));
  std::vector<DLTensor> vi(in, in + n_in), vo(out, out + n_out);
  for (int32_t i = 0; i < n_in; ++i)
    if (is_16bit(in[i])) {
      widen(in[i], true, wi[size_t(i)]);
      vi[size_t(i)] = wi[size_t(i)].view;
    }
  for (int32_t i = 0; i < n_out; ++i)
    if (is_16bit(out[i])) {
      widen(out[i], false, wo[size_t(i)]);
      vo[size_t(i)] = wo[size_t(i)].view;
    }
  f32(vi.data(), vo.data());
  for (int32_t i = 0; i < n_out; ++i)
    if (is_16bit(out[i])) narrow(wo[size_t(i)], out[i]);
}

}  // namespace mxcpu
