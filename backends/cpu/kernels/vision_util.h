// Shared by the vision kernels (spatial.cc, roi.cc, detection.cc): these ops gather and scatter
// through computed coordinates, so each kernel reads its inputs into float64 buffers, computes in
// float64 and stores the outputs in their own dtypes (16-bit floats round once, at the end). A
// kernel is a function of (Params, inputs, outputs) wrapped into the plugin's create / run /
// destroy slots by vision_kernel<F>().
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"

namespace mxcpu::vision {

// A tensor's values as float64, with its shape.
struct Buf {
  std::vector<int64_t> shape;
  std::vector<double> v;
  int64_t dim(int i) const { return shape[size_t(i)]; }
  double& operator[](int64_t i) { return v[size_t(i)]; }
  double operator[](int64_t i) const { return v[size_t(i)]; }
};

// The op's attributes (canonical strings from the core schema).
struct Params {
  std::vector<std::pair<std::string, std::string>> kv;
  std::string op;
  const std::string& str(const char* key) const {
    static const std::string none;
    for (auto& [k, v] : kv)
      if (k == key) return v;
    return none;
  }
  int64_t i(const char* key) const { return std::strtoll(str(key).c_str(), nullptr, 10); }
  double f(const char* key) const { return std::strtod(str(key).c_str(), nullptr); }
  bool b(const char* key) const { return str(key) == "True"; }
  std::vector<int64_t> ints(const char* key) const { return attr_ints(str(key).c_str()); }
  // Numbers of a tuple such as "(0.1, 0.2)" or "[1,2.5]" (validated by the schema).
  std::vector<double> floats(const char* key) const {
    std::vector<double> out;
    const std::string& s = str(key);
    for (const char* p = s.c_str(); *p;) {
      char* end = nullptr;
      const double d = std::strtod(p, &end);
      if (end != p) {
        out.push_back(d);
        p = end;
      } else {
        ++p;
      }
    }
    return out;
  }
};

using ComputeFn = void (*)(const Params&, const std::vector<Buf>& in, std::vector<Buf>& out);

inline Buf load(const DLTensor& t) {
  Buf b;
  b.shape.assign(t.shape, t.shape + t.ndim);
  const int64_t n = numel(t);
  b.v.resize(size_t(n));
  dispatch_all(dtype_flag(t.dtype), [&](auto tag) {
    using S = decltype(tag);
    const S* p = reinterpret_cast<const S*>(data_of(t));
    for (int64_t i = 0; i < n; ++i) b.v[size_t(i)] = double(Elem<S>::load(p[i]));
  });
  return b;
}

inline void store(const Buf& b, DLTensor& t) {
  dispatch_all(dtype_flag(t.dtype), [&](auto tag) {
    using S = decltype(tag);
    using C = typename Elem<S>::C;
    S* p = reinterpret_cast<S*>(data_of(t));
    for (size_t i = 0; i < b.v.size(); ++i) p[i] = Elem<S>::store(static_cast<C>(b.v[i]));
  });
}

inline int create(const mx_kernel_args* args, void** out) {
  for (int32_t i = 0; i < args->num_inputs; ++i)
    if (!dispatch_all(dtype_flag(args->inputs[i].dtype), [](auto) {}))
      return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype on cpu");
  auto* p = new Params;
  p->op = args->op_name;
  for (int32_t i = 0; i < args->num_attrs; ++i) p->kv.emplace_back(args->attr_keys[i], args->attr_vals[i]);
  *out = p;
  return 0;
}

inline void destroy(void* state) { delete static_cast<Params*>(state); }

template <ComputeFn F>
int run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out) {
  std::vector<Buf> ins, outs;
  for (int32_t i = 0; i < n_in; ++i) ins.push_back(load(in[i]));
  for (int32_t i = 0; i < n_out; ++i) {
    Buf b;
    b.shape.assign(out[i].shape, out[i].shape + out[i].ndim);
    b.v.assign(size_t(numel(out[i])), 0.0);
    outs.push_back(std::move(b));
  }
  F(*static_cast<const Params*>(state), ins, outs);
  for (int32_t i = 0; i < n_out; ++i) store(outs[size_t(i)], out[i]);
  return 0;
}

template <ComputeFn F>
constexpr mx_kernel vision_kernel(const char* name) {
  return kernel(name, create, run<F>, destroy);
}

// Bilinear interpolation of one plane (h, w) at real coordinates (y, x), zero outside the plane:
// the four neighbours and their weights, so forward and backward walk the same taps.
// dwy / dwx: the weights' derivatives with respect to y and x.
struct Taps {
  int64_t idx[4];
  double w[4], dwy[4], dwx[4];
  bool in[4];
};
inline Taps bilinear_taps(double y, double x, int64_t h, int64_t w) {
  Taps t{};
  if (!(y > -1 && y < double(h) && x > -1 && x < double(w))) return t;  // no tap inside (NaN too)
  const double fy = std::floor(y), fx = std::floor(x);
  const double ly = y - fy, lx = x - fx;
  const int64_t y0 = int64_t(fy), x0 = int64_t(fx);
  const int64_t ys[4] = {y0, y0, y0 + 1, y0 + 1}, xs[4] = {x0, x0 + 1, x0, x0 + 1};
  const double ws[4] = {(1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx};
  const double dy[4] = {-(1 - lx), -lx, 1 - lx, lx}, dx[4] = {-(1 - ly), 1 - ly, -ly, ly};
  for (int k = 0; k < 4; ++k) {
    t.dwy[k] = dy[k];
    t.dwx[k] = dx[k];
    t.in[k] = ys[k] >= 0 && ys[k] < h && xs[k] >= 0 && xs[k] < w;
    t.idx[k] = t.in[k] ? ys[k] * w + xs[k] : 0;
    t.w[k] = ws[k];
  }
  return t;
}

}  // namespace mxcpu::vision
