// Pooling (core/op/defs/conv.cc): max / avg / sum, forward and gradient, 1-, 2- and 3-d, by
// direct window loops over (image, channel) planes in parallel. 1-d and 2-d take the pool-type-
// templated paths below (tiling windows, e.g. LeNet's 2x2/2, without the backward's memset);
// 3-d runs the generic loop.
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

// ---- 2-d paths (NCHW, and NCW as 2-d with height 1): templated on the pool type and, for
// non-overlapping windows, on the window, so the inner loops carry no per-element branches. ----

constexpr int kMax = 0, kAvg = 1, kSum = 2;

bool is_2d(const Geo& g) { return g.in[0] == 1 && g.k[0] == 1 && g.s[0] == 1 && g.p[0] == 0 && g.out[0] == 1; }

// stride == kernel, no padding and no window clipped by the data's end: the windows tile the
// data, so the backward writes every dx element exactly once (no memset, no accumulation).
bool tiles(const Geo& g) {
  for (int i = 1; i < kDims; ++i)
    if (g.k[i] < 1 || g.s[i] != g.k[i] || g.p[i] != 0 || g.out[i] * g.k[i] > g.in[i]) return false;
  return is_2d(g);
}

// Planes in parallel, but only when the call has enough data to pay for waking the helpers.
template <typename F>
void over_planes(const Geo& g, F&& plane) {
  const int64_t min_planes = std::max<int64_t>(2, (int64_t(1) << 17) / std::max<int64_t>(g.in_plane(), 1));
  parallel_for(g.n * g.c, min_planes, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) plane(p);
  });
}

// The max chain both paths share: acc = max(acc, v) from -inf, so a NaN is never taken (as the
// generic loop); the backward's argmax is the first element, moved only by a strictly greater one.
template <typename T>
T max_step(T acc, T v) {
  return std::max(acc, v);
}

// One step of that argmax, in arithmetic rather than a branch: which element wins is data, and
// a branch on it mispredicts about every other window.
template <typename T>
void argmax_step(T v, int64_t at, T& best_v, int64_t& best) {
  const int64_t greater = v > best_v;
  best += greater * (at - best);
  best_v = v > best_v ? v : best_v;
}

// 2x2 max windows go a row of windows at a time, kLanes windows per block: their four elements
// are first split into contiguous lanes (a b / c d), so the compiler vectorises the max and the
// backward's selects (stride-2 loads defeat it; as branches, the data-dependent winner mispredicts
// every other window).
constexpr int64_t kLanes = 64;

template <typename T>
void split_2x2(const T* r0, const T* r1, int64_t n, T (&lane)[4][kLanes]) {
  for (int64_t i = 0; i < n; ++i) {
    lane[0][i] = r0[2 * i], lane[1][i] = r0[2 * i + 1];
    lane[2][i] = r1[2 * i], lane[3][i] = r1[2 * i + 1];
  }
}

template <typename T>
void max2x2_fwd_row(const T* r0, const T* r1, T* y, int64_t ow) {
  alignas(64) T in[4][kLanes];
  for (int64_t i0 = 0; i0 < ow; i0 += kLanes) {
    const int64_t n = std::min(kLanes, ow - i0);
    split_2x2(r0 + 2 * i0, r1 + 2 * i0, n, in);
    for (int64_t i = 0; i < n; ++i)  // tile_fwd's chain, element for element
      y[i0 + i] = max_step(
          max_step(max_step(max_step(-std::numeric_limits<T>::infinity(), in[0][i]), in[1][i]), in[2][i]), in[3][i]);
  }
}

// tile_bwd's chain as selects. A NaN never compares greater, so a leading NaN keeps the gradient.
template <typename T>
void max2x2_bwd_row(const T* r0, const T* r1, const T* g, T* d0, T* d1, int64_t ow) {
  alignas(64) T in[4][kLanes], out[4][kLanes];
  for (int64_t i0 = 0; i0 < ow; i0 += kLanes) {
    const int64_t n = std::min(kLanes, ow - i0);
    split_2x2(r0 + 2 * i0, r1 + 2 * i0, n, in);
    for (int64_t i = 0; i < n; ++i) {
      // from the last element back: d wins if greater than the max of a, b, c, and so on
      const T a = in[0][i], b = in[1][i], c = in[2][i], d = in[3][i], gv = g[i0 + i];
      const T ab = b > a ? b : a, abc = c > ab ? c : ab;
      out[3][i] = d > abc ? gv : T(0);
      const T left_c = d > abc ? T(0) : gv;
      out[2][i] = c > ab ? left_c : T(0);
      const T left_b = c > ab ? T(0) : left_c;
      out[1][i] = b > a ? left_b : T(0);
      out[0][i] = b > a ? T(0) : left_b;
    }
    for (int64_t i = 0; i < n; ++i) {
      d0[2 * (i0 + i)] = out[0][i], d0[2 * (i0 + i) + 1] = out[1][i];
      d1[2 * (i0 + i)] = out[2][i], d1[2 * (i0 + i) + 1] = out[3][i];
    }
  }
}

template <int POOL, int KH, int KW, typename T>
void tile_fwd(const Geo& g, const T* x, T* y) {
  const int64_t kh = KH ? KH : g.k[1], kw = KW ? KW : g.k[2];
  const int64_t W = g.in[2], oh = g.out[1], ow = g.out[2];
  over_planes(g, [&](int64_t p) {
    const T* xp = x + p * g.in_plane();
    T* yp = y + p * g.out_plane();
    for (int64_t oy = 0; oy < oh; ++oy)
      if constexpr (POOL == kMax && KH == 2 && KW == 2) {
        max2x2_fwd_row(xp + 2 * oy * W, xp + (2 * oy + 1) * W, yp + oy * ow, ow);
      } else
        for (int64_t ox = 0; ox < ow; ++ox) {
          const T* w = xp + oy * kh * W + ox * kw;
          T acc = POOL == kMax ? -std::numeric_limits<T>::infinity() : T(0);
          for (int64_t a = 0; a < kh; ++a)
            for (int64_t b = 0; b < kw; ++b) acc = POOL == kMax ? max_step(acc, w[a * W + b]) : acc + w[a * W + b];
          yp[oy * ow + ox] = POOL == kAvg ? acc / T(kh * kw) : acc;
        }
  });
}

template <int POOL, int KH, int KW, typename T>
void tile_bwd(const Geo& g, const T* og, const T* x, T* dx) {
  const int64_t kh = KH ? KH : g.k[1], kw = KW ? KW : g.k[2];
  const int64_t H = g.in[1], W = g.in[2], oh = g.out[1], ow = g.out[2];
  over_planes(g, [&](int64_t p) {
    const T* xp = x + p * g.in_plane();
    const T* gp = og + p * g.out_plane();
    T* dp = dx + p * g.in_plane();
    for (int64_t oy = 0; oy < oh; ++oy) {
      if constexpr (POOL == kMax && KH == 2 && KW == 2) {
        const int64_t at = 2 * oy * W;
        max2x2_bwd_row(xp + at, xp + at + W, gp + oy * ow, dp + at, dp + at + W, ow);
      } else
        for (int64_t ox = 0; ox < ow; ++ox) {
          const int64_t at = oy * kh * W + ox * kw;
          const T gv = gp[oy * ow + ox];
          if constexpr (POOL == kMax) {
            int64_t best = 0;
            T bv = xp[at];
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t b = 0; b < kw; ++b) argmax_step(xp[at + a * W + b], a * W + b, bv, best);
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t b = 0; b < kw; ++b) dp[at + a * W + b] = a * W + b == best ? gv : T(0);
          } else {
            const T share = POOL == kAvg ? gv / T(kh * kw) : gv;
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t b = 0; b < kw; ++b) dp[at + a * W + b] = share;
          }
        }
      for (int64_t a = 0; a < kh; ++a)  // columns past the last window
        std::fill(dp + (oy * kh + a) * W + ow * kw, dp + (oy * kh + a + 1) * W, T(0));
    }
    std::fill(dp + oh * kh * W, dp + H * W, T(0));  // rows past the last window
  });
}

// Any 2-d geometry (padding, overlap, windows clipped or empty under pooling_convention full):
// the generic loop's arithmetic on (height, width) only.
template <int POOL, typename T>
void pool2d_fwd(const Geo& g, const T* x, T* y) {
  const WindowTable t(g);
  const int64_t W = g.in[2], oh = g.out[1], ow = g.out[2];
  over_planes(g, [&](int64_t p) {
    const T* xp = x + p * g.in_plane();
    T* yp = y + p * g.out_plane();
    for (int64_t oy = 0; oy < oh; ++oy) {
      const int64_t y0 = t.lo[1][size_t(oy)], y1 = t.hi[1][size_t(oy)];
      for (int64_t ox = 0; ox < ow; ++ox) {
        const int64_t x0 = t.lo[2][size_t(ox)], x1 = t.hi[2][size_t(ox)];
        T acc = POOL == kMax ? -std::numeric_limits<T>::infinity() : T(0);
        for (int64_t a = y0; a < y1; ++a)
          for (int64_t b = x0; b < x1; ++b) acc = POOL == kMax ? max_step(acc, xp[a * W + b]) : acc + xp[a * W + b];
        const bool empty = y0 >= y1 || x0 >= x1;
        if (POOL == kMax && empty) acc = T(0);
        if (POOL == kAvg) {
          const int64_t size = g.count_include_pad ? t.padded[1][size_t(oy)] * t.padded[2][size_t(ox)]
                                                   : std::max<int64_t>(y1 - y0, 0) * std::max<int64_t>(x1 - x0, 0);
          acc = size > 0 ? acc / T(size) : T(0);
        }
        yp[oy * ow + ox] = acc;
      }
    }
  });
}

template <int POOL, typename T>
void pool2d_bwd(const Geo& g, const T* og, const T* x, T* dx) {
  const WindowTable t(g);
  const int64_t W = g.in[2], oh = g.out[1], ow = g.out[2];
  over_planes(g, [&](int64_t p) {
    const T* xp = x + p * g.in_plane();
    const T* gp = og + p * g.out_plane();
    T* dp = dx + p * g.in_plane();
    std::fill(dp, dp + g.in_plane(), T(0));  // windows overlap or miss elements
    for (int64_t oy = 0; oy < oh; ++oy) {
      const int64_t y0 = t.lo[1][size_t(oy)], y1 = t.hi[1][size_t(oy)];
      for (int64_t ox = 0; ox < ow; ++ox) {
        const int64_t x0 = t.lo[2][size_t(ox)], x1 = t.hi[2][size_t(ox)];
        if (y0 >= y1 || x0 >= x1) continue;  // an empty window has no gradient to give
        const T gv = gp[oy * ow + ox];
        if constexpr (POOL == kMax) {
          int64_t best = y0 * W + x0;
          T bv = xp[best];
          for (int64_t a = y0; a < y1; ++a)
            for (int64_t b = x0; b < x1; ++b) argmax_step(xp[a * W + b], a * W + b, bv, best);
          dp[best] += gv;
        } else {
          const int64_t size =
              g.count_include_pad ? t.padded[1][size_t(oy)] * t.padded[2][size_t(ox)] : (y1 - y0) * (x1 - x0);
          const T share = POOL == kAvg ? (size > 0 ? gv / T(size) : T(0)) : gv;
          for (int64_t a = y0; a < y1; ++a)
            for (int64_t b = x0; b < x1; ++b) dp[a * W + b] += share;
        }
      }
    }
  });
}

// Calls f(integral_constant POOL, KH, KW) for g: the tiling windows 2x2 and 3x3 get their own
// instantiation, other tilings KH = KW = 0 (sizes read from g); KH < 0 means "not a tiling".
template <typename F>
void dispatch_2d(const Geo& g, F&& f) {
  auto by_window = [&](auto pool) {
    using std::integral_constant;
    if (!tiles(g))
      f(pool, integral_constant<int, -1>{}, integral_constant<int, -1>{});
    else if (g.k[1] == 2 && g.k[2] == 2)
      f(pool, integral_constant<int, 2>{}, integral_constant<int, 2>{});
    else if (g.k[1] == 3 && g.k[2] == 3)
      f(pool, integral_constant<int, 3>{}, integral_constant<int, 3>{});
    else
      f(pool, integral_constant<int, 0>{}, integral_constant<int, 0>{});
  };
  if (g.pool == kMax)
    by_window(std::integral_constant<int, kMax>{});
  else if (g.pool == kAvg)
    by_window(std::integral_constant<int, kAvg>{});
  else
    by_window(std::integral_constant<int, kSum>{});
}

template <typename T>
void pool_fwd_any(const Geo& g, const T* x, T* y) {
  if (!is_2d(g)) return pool_fwd(g, x, y);
  dispatch_2d(g, [&](auto pool, auto kh, auto kw) {
    if constexpr (kh.value < 0)
      pool2d_fwd<pool.value>(g, x, y);
    else
      tile_fwd<pool.value, kh.value, kw.value>(g, x, y);
  });
}

template <typename T>
void pool_bwd_any(const Geo& g, const T* og, const T* x, T* dx) {
  if (!is_2d(g)) return pool_bwd(g, og, x, dx);
  dispatch_2d(g, [&](auto pool, auto kh, auto kw) {
    if constexpr (kh.value < 0)
      pool2d_bwd<pool.value>(g, og, x, dx);
    else
      tile_bwd<pool.value, kh.value, kw.value>(g, og, x, dx);
  });
}

template <bool BACKWARD>
int pool_run(void* state, const mx_kernel_ctx*, const DLTensor* in, int32_t n_in, DLTensor* out, int32_t n_out) {
  const Geo& g = *static_cast<const Geo*>(state);
  auto run = [&](auto tag, const DLTensor* x, DLTensor* y) {
    using T = decltype(tag);
    auto p = [](const DLTensor& t) { return reinterpret_cast<T*>(data_of(t)); };
    if constexpr (BACKWARD) pool_bwd_any<T>(g, p(x[0]), p(x[1]), p(y[0]));
    else pool_fwd_any<T>(g, p(x[0]), p(y[0]));
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
