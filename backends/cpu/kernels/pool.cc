// Pooling (core/op/defs/conv.cc): max / avg / sum, forward and gradient, 1-, 2- and 3-d, by
// direct window loops over (image, channel) planes in parallel.
// float16 / bfloat16 run the float32 path on float32 scratch (widen16.h).

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../parallel.h"
#include "conv_geo.h"
#include "widen16.h"

namespace mxcpu {
namespace {

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
  spatial_of(y, g->out);
  *out = g;
  return 0;
}

// One pooling window clipped to the data: [lo, hi) per spatial dim, and the count an average
// divides by (the window within the padded data if count_include_pad, else within the data).
struct Window {
  int64_t lo[kDims], hi[kDims], size;
  bool empty() const { return lo[0] >= hi[0] || lo[1] >= hi[1] || lo[2] >= hi[2]; }
};

// Per spatial dim and output index: the window's [lo, hi) clipped to the data and its length
// within the padded data. Built once per call; every plane reuses it.
struct WindowTable {
  std::vector<int64_t> lo[kDims], hi[kDims], padded[kDims];
  explicit WindowTable(const Geo& g) {
    for (int i = 0; i < kDims; ++i)
      for (int64_t o = 0; o < g.out[i]; ++o) {
        const int64_t l = o * g.s[i] - g.p[i], h = std::min(l + g.k[i], g.in[i] + g.p[i]);
        padded[i].push_back(std::max<int64_t>(h - l, 0));
        lo[i].push_back(std::max<int64_t>(l, 0));
        hi[i].push_back(std::min(h, g.in[i]));
      }
  }
};

// Calls f(output offset within the plane, window) for every output position of one plane.
template <typename F>
void windows(const Geo& g, const WindowTable& t, F&& f) {
  Window w;
  int64_t o = 0;
  for (int64_t a = 0; a < g.out[0]; ++a)
    for (int64_t b = 0; b < g.out[1]; ++b)
      for (int64_t c = 0; c < g.out[2]; ++c, ++o) {
        const int64_t idx[kDims] = {a, b, c};
        int64_t padded = 1, real = 1;
        for (int i = 0; i < kDims; ++i) {
          w.lo[i] = t.lo[i][size_t(idx[i])];
          w.hi[i] = t.hi[i][size_t(idx[i])];
          padded *= t.padded[i][size_t(idx[i])];
          real *= std::max<int64_t>(w.hi[i] - w.lo[i], 0);
        }
        w.size = g.count_include_pad ? padded : real;
        f(o, w);
      }
}

// Calls f(offset within the plane) for every data element of window w.
template <typename F>
void window_elements(const Geo& g, const Window& w, F&& f) {
  for (int64_t z = w.lo[0]; z < w.hi[0]; ++z)
    for (int64_t y = w.lo[1]; y < w.hi[1]; ++y) {
      const int64_t row = (z * g.in[1] + y) * g.in[2];
      for (int64_t x = w.lo[2]; x < w.hi[2]; ++x) f(row + x);
    }
}

// Planes (image, channel) are independent: pooling runs in parallel over them.
int64_t planes_per_task(const Geo& g) { return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(g.in_plane(), 1)); }

template <typename T>
void pool_fwd(const Geo& g, const T* x, T* y) {
  const int64_t in_plane = g.in_plane(), out_plane = g.out_plane();
  const WindowTable table(g);
  parallel_for(g.n * g.c, planes_per_task(g), [&](int64_t lo, int64_t hi) {
  for (int64_t p = lo; p < hi; ++p) {
    const T* xp = x + p * in_plane;
    T* yp = y + p * out_plane;
    windows(g, table, [&](int64_t o, const Window& w) {
      T acc = g.pool == 0 ? -std::numeric_limits<T>::infinity() : T(0);
      window_elements(g, w, [&](int64_t i) { acc = g.pool == 0 ? std::max(acc, xp[i]) : acc + xp[i]; });
      if (g.pool == 0 && w.empty()) acc = T(0);
      if (g.pool == 1) acc = w.size > 0 ? acc / T(w.size) : T(0);
      yp[o] = acc;
    });
  }
  });
}

template <typename T>
void pool_bwd(const Geo& g, const T* og, const T* x, T* dx) {
  const int64_t in_plane = g.in_plane(), out_plane = g.out_plane();
  const WindowTable table(g);
  parallel_for(g.n * g.c, planes_per_task(g), [&](int64_t lo, int64_t hi) {
  std::fill(dx + lo * in_plane, dx + hi * in_plane, T(0));
  for (int64_t p = lo; p < hi; ++p) {
    const T* xp = x + p * in_plane;
    const T* gp = og + p * out_plane;
    T* dp = dx + p * in_plane;
    windows(g, table, [&](int64_t o, const Window& w) {
      const T gv = gp[o];
      if (g.pool == 0) {  // to the first maximum of the window
        int64_t best = -1;
        window_elements(g, w, [&](int64_t i) {
          if (best < 0 || xp[i] > xp[best]) best = i;
        });
        if (best >= 0) dp[best] += gv;
      } else {
        const T share = g.pool == 1 ? (w.size > 0 ? gv / T(w.size) : T(0)) : gv;
        window_elements(g, w, [&](int64_t i) { dp[i] += share; });
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

const mx_kernel kPoolKernels[] = {
    kernel("Pooling", pool_create<false>, pool_run<false>, destroy),
    kernel("_pooling_backward", pool_create<true>, pool_run<true>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kPoolKernels);

}  // namespace
}  // namespace mxcpu
