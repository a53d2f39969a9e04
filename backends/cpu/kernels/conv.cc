// The conv family (core/op/defs/conv.cc): Convolution (forward, data gradient, weight gradient)
// and Deconvolution by im2col + OpenBLAS GEMM per image and group, and Pooling (forward and
// gradient) by direct loops. 1-d data (NCW) runs as 2-d with a
// height of 1. The im2col buffer is the worker's temp space, sized by the core's schema.
// float16 / bfloat16 run the float32 path on float32 scratch (widen16.h: correct, not fast, the
// same values as the core's former promotion to float32).

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../gemm.h"
#include "../parallel.h"
#include "widen16.h"

namespace mxcpu {
namespace {

bool conv_dtype(int32_t dt) { return dt == MX_FLOAT32 || dt == MX_FLOAT64 || dt == MX_FLOAT16 || dt == MX_BFLOAT16; }


struct Geo {
  bool f64;
  int64_t n, c, h, w;         // data
  int64_t f, kh, kw;          // filters, kernel
  int64_t sh, sw, dh, dw, ph, pw;
  int64_t oh, ow;             // output spatial
  int64_t groups;
  bool bias;
  // pooling
  int pool;  // 0 max, 1 avg, 2 sum
  bool count_include_pad;
};

// Fills the 2-d geometry from the data shape and attributes (1-d: height 1).
void geo_from(const mx_kernel_args* args, const DLTensor& data, bool conv, Geo& g) {
  g.f64 = data.dtype.bits == 64;
  const bool one_d = data.ndim == 3;
  g.n = data.shape[0];
  g.c = data.shape[1];
  g.h = one_d ? 1 : data.shape[2];
  g.w = data.shape[data.ndim - 1];
  auto pick = [&](const char* name, int64_t def, int64_t& a, int64_t& b) {
    auto v = attr_ints(attr(args, name));
    if (v.empty()) v = std::vector<int64_t>(one_d ? 1 : 2, def);
    a = one_d ? (std::strcmp(name, "kernel") == 0 ? 1 : (std::strcmp(name, "pad") == 0 ? 0 : 1)) : v[0];
    b = v.back();
  };
  const bool global = !conv && std::strcmp(attr(args, "global_pool"), "True") == 0;
  if (global) {
    g.kh = g.h, g.kw = g.w, g.sh = g.sw = 1, g.ph = g.pw = 0;
  } else {
    pick("kernel", 1, g.kh, g.kw);
    pick("stride", 1, g.sh, g.sw);
    pick("pad", 0, g.ph, g.pw);
  }
  g.dh = g.dw = 1;
  if (conv) {
    pick("dilate", 1, g.dh, g.dw);
    g.f = std::strtoll(attr(args, "num_filter"), nullptr, 10);
    g.groups = std::strtoll(attr(args, "num_group"), nullptr, 10);
    g.bias = std::strcmp(attr(args, "no_bias"), "True") != 0;
  } else {
    const std::string t = attr(args, "pool_type");
    g.pool = t == "max" ? 0 : t == "avg" ? 1 : 2;
    g.count_include_pad = std::strcmp(attr(args, "count_include_pad"), "True") == 0;
  }
}

// col[(ci * kh + i) * kw + j][oy * ow + ox] = x[ci][oy*sh - ph + i*dh][ox*sw - pw + j*dw] (0 outside).
template <typename T>
void im2col(const Geo& g, const T* x, int64_t channels, T* col) {
  const int64_t ohw = g.oh * g.ow;
  for (int64_t ci = 0; ci < channels; ++ci)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = col + ((ci * g.kh + i) * g.kw + j) * ohw;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t y = oy * g.sh - g.ph + i * g.dh;
          T* r = row + oy * g.ow;
          if (y < 0 || y >= g.h) {
            std::fill(r, r + g.ow, T(0));
            continue;
          }
          const T* xr = x + (ci * g.h + y) * g.w;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t xx = ox * g.sw - g.pw + j * g.dw;
            r[ox] = xx >= 0 && xx < g.w ? xr[xx] : T(0);
          }
        }
      }
}

template <typename T>
void col2im_add(const Geo& g, const T* col, int64_t channels, T* x) {
  const int64_t ohw = g.oh * g.ow;
  for (int64_t ci = 0; ci < channels; ++ci)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = col + ((ci * g.kh + i) * g.kw + j) * ohw;
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t y = oy * g.sh - g.ph + i * g.dh;
          if (y < 0 || y >= g.h) continue;
          T* xr = x + (ci * g.h + y) * g.w;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t xx = ox * g.sw - g.pw + j * g.dw;
            if (xx >= 0 && xx < g.w) xr[xx] += row[oy * g.ow + ox];
          }
        }
      }
}

enum ConvKind { kFwd, kBwdData, kBwdWeight, kDeconv };

// Deconvolution runs as the data gradient of a Convolution over its output: that convolution's
// data is our output (F channels), its filters our C input channels, its output our input. Its
// pad comes from target_shape when one is given (the core's rule: pad = (total + 1) / 2).
void deconv_geo(const mx_kernel_args* args, Geo& g) {
  const DLTensor& x = args->inputs[0];
  const DLTensor& y = args->outputs[0];
  geo_from(args, y, true, g);
  g.f = x.shape[1];
  g.oh = x.ndim == 3 ? 1 : x.shape[2];
  g.ow = x.shape[x.ndim - 1];
  g.bias = args->num_inputs > 2;
  const auto target = attr_ints(attr(args, "target_shape"));
  if (target.empty()) return;
  auto pad = [](int64_t in, int64_t s, int64_t d, int64_t k, int64_t t) {
    const int64_t total = s * (in - 1) + d * (k - 1) + 1 - t;
    return (total + 1) / 2;
  };
  g.pw = pad(g.ow, g.sw, g.dw, g.kw, target.back());
  if (x.ndim == 4) g.ph = pad(g.oh, g.sh, g.dh, g.kh, target[0]);
}

template <int K>
int conv_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!conv_dtype(dt))
    return error(MX_ERR_UNSUPPORTED, std::string(args->op_name) + ": unsupported dtype " + dtype_name(dt) +
                                         " on cpu (float32, float64, float16, bfloat16)");
  // The data tensor: forward input 0, backward-data input 2 (shape only), backward-weight input 1.
  const DLTensor& data = K == kFwd ? args->inputs[0] : K == kBwdData ? args->inputs[2] : args->inputs[1];
  const DLTensor& y = K == kFwd ? args->outputs[0] : args->inputs[0];
  auto* g = new Geo{};
  if (K == kDeconv) {
    deconv_geo(args, *g);
    *out = g;
    return 0;
  }
  geo_from(args, data, true, *g);
  g->oh = y.ndim == 3 ? 1 : y.shape[2];
  g->ow = y.shape[y.ndim - 1];
  if (K != kFwd) g->bias = false;
  else g->bias = args->num_inputs > 2;
  *out = g;
  return 0;
}

// Each kind runs in parallel over the samples: every chunk of samples has its own column buffer
// (the GEMMs inside run serially, see gemm.h). Samples are independent except in the weight
// gradient, where each chunk sums into its own buffer and the chunks are added in sample order.
template <typename T, int K>
void conv_t(const Geo& g, const DLTensor* in, DLTensor& out) {
  const int64_t cg = g.c / g.groups, fg = g.f / g.groups, kk = cg * g.kh * g.kw, ohw = g.oh * g.ow;
  auto ptr = [](const DLTensor& t) { return reinterpret_cast<T*>(data_of(t)); };
  if constexpr (K == kFwd) {
    const T *x = ptr(in[0]), *w = ptr(in[1]), *b = g.bias ? ptr(in[2]) : nullptr;
    T* y = ptr(out);
    parallel_for(g.n, 2, [&](int64_t lo, int64_t hi) {
      std::vector<T> col(size_t(kk * ohw));
      for (int64_t n = lo; n < hi; ++n) {
        for (int64_t gi = 0; gi < g.groups; ++gi) {
          im2col(g, x + (n * g.c + gi * cg) * g.h * g.w, cg, col.data());
          gemm<T>(false, false, fg, ohw, kk, T(1), w + gi * fg * kk, kk, col.data(), ohw, T(0),
                  y + (n * g.f + gi * fg) * ohw, ohw);
        }
        for (int64_t f = 0; b && f < g.f; ++f) {
          T* row = y + (n * g.f + f) * ohw;
          for (int64_t i = 0; i < ohw; ++i) row[i] += b[f];
        }
      }
    });
  } else if constexpr (K == kBwdData || K == kDeconv) {
    // Deconvolution is the data gradient of a convolution over its output (deconv_geo).
    const T *og = ptr(in[0]), *w = ptr(in[1]), *b = K == kDeconv && g.bias ? ptr(in[2]) : nullptr;
    T* dx = ptr(out);
    const int64_t plane = g.h * g.w;
    parallel_for(g.n, 2, [&](int64_t lo, int64_t hi) {
      std::vector<T> col(size_t(kk * ohw));
      std::fill(dx + lo * g.c * plane, dx + hi * g.c * plane, T(0));
      for (int64_t n = lo; n < hi; ++n) {
        for (int64_t gi = 0; gi < g.groups; ++gi) {
          gemm<T>(true, false, kk, ohw, fg, T(1), w + gi * fg * kk, kk, og + (n * g.f + gi * fg) * ohw, ohw, T(0),
                  col.data(), ohw);
          col2im_add(g, col.data(), cg, dx + (n * g.c + gi * cg) * plane);
        }
        for (int64_t c = 0; b && c < g.c; ++c) {
          T* p = dx + (n * g.c + c) * plane;
          for (int64_t i = 0; i < plane; ++i) p[i] += b[c];
        }
      }
    });
  } else {
    const T *og = ptr(in[0]), *x = ptr(in[1]);
    T* dw = ptr(out);
    const int64_t wsize = g.f * kk;
    std::mutex mu;
    std::vector<std::pair<int64_t, std::vector<T>>> partials;
    parallel_for(g.n, 2, [&](int64_t lo, int64_t hi) {
      std::vector<T> col(size_t(kk * ohw)), acc(size_t(wsize), T(0));
      for (int64_t n = lo; n < hi; ++n)
        for (int64_t gi = 0; gi < g.groups; ++gi) {
          im2col(g, x + (n * g.c + gi * cg) * g.h * g.w, cg, col.data());
          gemm<T>(false, true, fg, kk, ohw, T(1), og + (n * g.f + gi * fg) * ohw, ohw, col.data(), ohw, T(1),
                  acc.data() + gi * fg * kk, kk);
        }
      std::lock_guard<std::mutex> lk(mu);
      partials.emplace_back(lo, std::move(acc));
    });
    std::sort(partials.begin(), partials.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::fill(dw, dw + wsize, T(0));
    for (const auto& [lo, acc] : partials)
      for (int64_t i = 0; i < wsize; ++i) dw[i] += acc[size_t(i)];
  }
}

template <int K>
int conv_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out) {
  const Geo& g = *static_cast<const Geo*>(state);
  if (g.f64) conv_t<double, K>(g, in, out[0]);
  else if (any_16bit(in, n_in, out, n_out))
    run_widened(in, n_in, out, n_out, [&](const DLTensor* i, DLTensor* o) { conv_t<float, K>(g, i, o[0]); });
  else conv_t<float, K>(g, in, out[0]);
  return 0;
}

// ---------------------------------------------------------------- pooling

template <bool BACKWARD>
int pool_create(const mx_kernel_args* args, void** out) {
  const int32_t dt = dtype_flag(args->inputs[0].dtype);
  if (!conv_dtype(dt))
    return error(MX_ERR_UNSUPPORTED, std::string(BACKWARD ? "_pooling_backward" : "Pooling") + ": unsupported dtype " +
                                         dtype_name(dt) + " on cpu (float32, float64, float16, bfloat16)");
  const DLTensor& data = BACKWARD ? args->inputs[1] : args->inputs[0];
  const DLTensor& y = BACKWARD ? args->inputs[0] : args->outputs[0];
  auto* g = new Geo{};
  geo_from(args, data, false, *g);
  g->oh = y.ndim == 3 ? 1 : y.shape[2];
  g->ow = y.shape[y.ndim - 1];
  *out = g;
  return 0;
}

// Calls f(oy, ox, y0, y1, x0, x1, pool_size) for every output position of one plane.
template <typename F>
void windows(const Geo& g, F&& f) {
  for (int64_t oy = 0; oy < g.oh; ++oy)
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      int64_t y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
      int64_t y1 = std::min(y0 + g.kh, g.h + g.ph), x1 = std::min(x0 + g.kw, g.w + g.pw);
      const int64_t padded = (y1 - y0) * (x1 - x0);
      y0 = std::max<int64_t>(y0, 0);
      x0 = std::max<int64_t>(x0, 0);
      y1 = std::min(y1, g.h);
      x1 = std::min(x1, g.w);
      f(oy, ox, y0, y1, x0, x1, g.count_include_pad ? padded : (y1 - y0) * (x1 - x0));
    }
}

// Planes (image, channel) are independent: pooling runs in parallel over them.
int64_t planes_per_task(const Geo& g) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(g.h * g.w, 1)); }

template <typename T>
void pool_fwd(const Geo& g, const T* x, T* y) {
  parallel_for(g.n * g.c, planes_per_task(g), [&](int64_t lo, int64_t hi) {
  for (int64_t p = lo; p < hi; ++p) {
    const T* xp = x + p * g.h * g.w;
    T* yp = y + p * g.oh * g.ow;
    windows(g, [&](int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t size) {
      T acc = g.pool == 0 ? -std::numeric_limits<T>::infinity() : T(0);
      for (int64_t yy = y0; yy < y1; ++yy)
        for (int64_t xx = x0; xx < x1; ++xx) {
          const T v = xp[yy * g.w + xx];
          acc = g.pool == 0 ? std::max(acc, v) : acc + v;
        }
      if (g.pool == 0 && (y0 >= y1 || x0 >= x1)) acc = T(0);
      if (g.pool == 1) acc = size > 0 ? acc / T(size) : T(0);
      yp[oy * g.ow + ox] = acc;
    });
  }
  });
}

template <typename T>
void pool_bwd(const Geo& g, const T* og, const T* x, T* dx) {
  parallel_for(g.n * g.c, planes_per_task(g), [&](int64_t lo, int64_t hi) {
  std::fill(dx + lo * g.h * g.w, dx + hi * g.h * g.w, T(0));
  for (int64_t p = lo; p < hi; ++p) {
    const T* xp = x + p * g.h * g.w;
    const T* gp = og + p * g.oh * g.ow;
    T* dp = dx + p * g.h * g.w;
    windows(g, [&](int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1, int64_t size) {
      const T gv = gp[oy * g.ow + ox];
      if (g.pool == 0) {  // to the first maximum of the window
        int64_t best = -1;
        for (int64_t yy = y0; yy < y1; ++yy)
          for (int64_t xx = x0; xx < x1; ++xx)
            if (best < 0 || xp[yy * g.w + xx] > xp[best]) best = yy * g.w + xx;
        if (best >= 0) dp[best] += gv;
      } else {
        const T share = g.pool == 1 ? (size > 0 ? gv / T(size) : T(0)) : gv;
        for (int64_t yy = y0; yy < y1; ++yy)
          for (int64_t xx = x0; xx < x1; ++xx) dp[yy * g.w + xx] += share;
      }
    });
  }
  });
}

template <bool BACKWARD>
int pool_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out) {
  const Geo& g = *static_cast<const Geo*>(state);
  auto run = [&](auto tag, const DLTensor* x, DLTensor* y) {
    using T = decltype(tag);
    auto p = [](const DLTensor& t) { return reinterpret_cast<T*>(data_of(t)); };
    if constexpr (BACKWARD) pool_bwd<T>(g, p(x[0]), p(x[1]), p(y[0]));
    else pool_fwd<T>(g, p(x[0]), p(y[0]));
  };
  if (g.f64) run(double{}, in, out);
  else if (any_16bit(in, n_in, out, n_out))
    run_widened(in, n_in, out, n_out, [&](const DLTensor* i, DLTensor* o) { run(float{}, i, o); });
  else run(float{}, in, out);
  return 0;
}

void destroy(void* s) { delete static_cast<Geo*>(s); }

const mx_kernel kConvKernels[] = {
    kernel("Convolution", conv_create<kFwd>, conv_run<kFwd>, destroy),
    kernel("_conv_backward_data", conv_create<kBwdData>, conv_run<kBwdData>, destroy),
    kernel("_conv_backward_weight", conv_create<kBwdWeight>, conv_run<kBwdWeight>, destroy),
    kernel("Deconvolution", conv_create<kDeconv>, conv_run<kDeconv>, destroy),
    kernel("Pooling", pool_create<false>, pool_run<false>, destroy),
    kernel("_pooling_backward", pool_create<true>, pool_run<true>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kConvKernels);

}  // namespace
}  // namespace mxcpu
