// The conv family (core/op/defs/conv.cc): Convolution (forward, data gradient, weight gradient)
// and Deconvolution by im2col + OpenBLAS GEMM per block of samples and group, over the 3-d
// geometry of conv_geo.h (pooling is pool.cc).
// float16 / bfloat16 run the float32 path on float32 scratch (widen16.h: correct, not fast, the
// same values as the core's former promotion to float32).

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../cpu_backend.h"
#include "../gemm.h"
#include "../parallel.h"
#include "conv_geo.h"
#include "widen16.h"

namespace mxcpu {
namespace {

// ceil(a / b) for b > 0 and any a.
int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

// Walks the column matrix of `channels` channels row by row: column row (ci, a, i, j) (a kernel
// tap) holds, for every output position (oz, oy, ox), the input x[ci][oz*s0 - p0 + a*d0]
// [oy*s1 - p1 + i*d1][ox*s2 - p2 + j*d2] (0 outside); rows are ld apart (ld > out_plane when
// several samples sit side by side). f(col_offset, x_offset, lo, hi) is called once per output
// line (oz, oy) of each column row: output columns ox in [lo, hi) read x[x_offset + ox * s2], the
// others are padding (lo == hi == ow where the input line is outside).
template <typename F>
void col_lines(const Geo& g, int64_t channels, int64_t ld, F&& f) {
  const int64_t ow = g.out[2];
  for (int64_t ci = 0; ci < channels; ++ci)
    for (int64_t a = 0; a < g.k[0]; ++a)
      for (int64_t i = 0; i < g.k[1]; ++i)
        for (int64_t j = 0; j < g.k[2]; ++j) {
          const int64_t row = (((ci * g.k[0] + a) * g.k[1] + i) * g.k[2] + j) * ld;
          const int64_t shift = j * g.d[2] - g.p[2];  // xx = ox * s2 + shift
          const int64_t lo = std::min(ow, std::max<int64_t>(0, ceil_div(-shift, g.s[2])));
          const int64_t hi = std::max(lo, std::min(ow, ceil_div(g.in[2] - shift, g.s[2])));
          for (int64_t oz = 0; oz < g.out[0]; ++oz) {
            const int64_t z = oz * g.s[0] - g.p[0] + a * g.d[0];
            for (int64_t oy = 0; oy < g.out[1]; ++oy) {
              const int64_t y = oy * g.s[1] - g.p[1] + i * g.d[1];
              const bool inside = z >= 0 && z < g.in[0] && y >= 0 && y < g.in[1];
              f(row + (oz * g.out[1] + oy) * ow, inside ? ((ci * g.in[0] + z) * g.in[1] + y) * g.in[2] + shift : 0,
                inside ? lo : ow, inside ? hi : ow);
            }
          }
        }
}

// Copies n elements with plain loops: the lines are short (LeNet's conv2: 8), where a libc
// memcpy / memset call per line cost as much as the GEMM. Blocks of 8 compile to vector moves.
template <typename T>
inline void copy_short(T* __restrict d, const T* __restrict s, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) d[i + k] = s[i + k];
  for (; i < n; ++i) d[i] = s[i];
}

template <typename T>
inline void zero_short(T* __restrict d, int64_t n) {
  for (int64_t i = 0; i < n; ++i) d[i] = T(0);
}

// Stride 1 copies whole line segments; only the padding is filled.
template <typename T>
void im2col(const Geo& g, const T* x, int64_t channels, T* col, int64_t ld) {
  const int64_t ow = g.out[2], sw = g.s[2];
  col_lines(g, channels, ld, [&, ow, sw](int64_t co, int64_t xo, int64_t lo, int64_t hi) {
    T* __restrict r = col + co;
    if (lo > 0) zero_short(r, lo);
    if (sw == 1) copy_short(r + lo, x + xo + lo, hi - lo);  // xo + lo >= 0
    else
      for (int64_t ox = lo; ox < hi; ++ox) r[ox] = x[xo + ox * sw];
    if (hi < ow) zero_short(r + hi, ow - hi);
  });
}

template <typename T>
void col2im_add(const Geo& g, const T* col, int64_t ld, int64_t channels, T* x) {
  const int64_t sw = g.s[2];
  col_lines(g, channels, ld, [&, sw](int64_t co, int64_t xo, int64_t lo, int64_t hi) {
    const T* __restrict r = col + co;
    if (sw == 1) {
      T* __restrict d = x + xo;
      for (int64_t ox = lo; ox < hi; ++ox) d[ox] += r[ox];
    } else {
      for (int64_t ox = lo; ox < hi; ++ox) x[xo + ox * sw] += r[ox];
    }
  });
}

// Uninitialised scratch (a std::vector would zero megabytes per call).
template <typename T>
std::unique_ptr<T[]> scratch(int64_t n) {
  return std::unique_ptr<T[]>(new T[size_t(std::max<int64_t>(n, 1))]);
}

// Samples per GEMM: where one sample's output plane is narrow (LeNet's conv2: 8x8), B samples'
// column matrices side by side (ld = B * out_plane) make one GEMM up to kGemmColumns wide instead
// of B narrow ones (OpenBLAS, 1 core: 57 -> 63 GFLOP/s at conv2's 50x64x500 with B = 4, 72 with
// 8), the block capped at kColumnBlockBytes, a core's L2: im2col's stores are the other cost, and
// a 1 MiB cap measured slower than 512 KiB (conv2 at 2 threads). Wide planes (conv1: 24x24;
// batching measured no faster) run one sample per GEMM, straight into and out of NCHW.
constexpr int64_t kGemmColumns = 512, kColumnBlockBytes = int64_t(1) << 19;

int64_t samples_per_block(int64_t kk, int64_t ohw, size_t elem, int64_t samples) {
  const int64_t want = (kGemmColumns + ohw - 1) / std::max<int64_t>(ohw, 1);
  const int64_t fit = kColumnBlockBytes / std::max<int64_t>(kk * ohw * int64_t(elem), 1);
  return std::clamp<int64_t>(std::min(want, fit), 1, std::max<int64_t>(samples, 1));
}

// rows x (nb * plane) block <- rows of nb samples: dst[r][b * plane + i] = src[b * stride + r * plane + i].
template <typename T>
void gather_rows(const T* src, int64_t stride, int64_t rows, int64_t nb, int64_t plane, T* dst) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < nb; ++b)
      std::memcpy(dst + (r * nb + b) * plane, src + b * stride + r * plane, size_t(plane) * sizeof(T));
}

// The inverse of gather_rows, adding bias[r] (when given) on the way.
template <typename T>
void scatter_rows(const T* src, int64_t rows, int64_t nb, int64_t plane, const T* bias, T* dst, int64_t stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const T add = bias ? bias[r] : T(0);
    for (int64_t b = 0; b < nb; ++b) {
      const T* __restrict s = src + (r * nb + b) * plane;
      T* __restrict d = dst + b * stride + r * plane;
      for (int64_t i = 0; i < plane; ++i) d[i] = s[i] + add;
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
  spatial_of(x, g.out);
  g.bias = args->num_inputs > 2;
  const auto target = attr_ints(attr(args, "target_shape"));
  if (target.empty()) return;
  const int off = missing_dims(x);
  for (int i = off; i < kDims; ++i) {
    const int64_t total = g.s[i] * (g.out[i] - 1) + g.d[i] * (g.k[i] - 1) + 1 - target[size_t(i - off)];
    g.p[i] = (total + 1) / 2;
  }
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
  spatial_of(y, g->out);
  if (K != kFwd) g->bias = false;
  else g->bias = args->num_inputs > 2;
  *out = g;
  return 0;
}

// Each kind runs in parallel over the samples: every chunk of samples runs its blocks of
// samples_per_block samples through one GEMM per group (the GEMMs inside run serially, see
// gemm.h). Samples are independent except in the weight gradient, where each chunk sums into its
// own buffer and the chunks are added in sample order (deterministic for a given thread count).
template <typename T, int K>
void conv_t(const Geo& g, const DLTensor* in, DLTensor& out) {
  const int64_t cg = g.c / g.groups, fg = g.f / g.groups, kk = cg * g.taps(), ohw = g.out_plane();
  const int64_t plane = g.in_plane();
  auto ptr = [](const DLTensor& t) { return reinterpret_cast<T*>(data_of(t)); };
  if constexpr (K == kFwd) {
    const T *x = ptr(in[0]), *w = ptr(in[1]), *b = g.bias ? ptr(in[2]) : nullptr;
    T* y = ptr(out);
    parallel_for(g.n, 2, [&](int64_t lo, int64_t hi) {
      const int64_t bs = samples_per_block(kk, ohw, sizeof(T), hi - lo);
      auto col = scratch<T>(kk * bs * ohw), res = scratch<T>(bs > 1 ? fg * bs * ohw : 0);
      for (int64_t n0 = lo; n0 < hi; n0 += bs) {
        const int64_t nb = std::min(bs, hi - n0), ld = nb * ohw;
        for (int64_t gi = 0; gi < g.groups; ++gi) {
          for (int64_t s = 0; s < nb; ++s) im2col(g, x + ((n0 + s) * g.c + gi * cg) * plane, cg, col.get() + s * ohw, ld);
          T* yb = y + (n0 * g.f + gi * fg) * ohw;  // one sample: its fg output planes are the GEMM's rows
          gemm<T>(false, false, fg, ld, kk, T(1), w + gi * fg * kk, kk, col.get(), ld, T(0), nb == 1 ? yb : res.get(), ld);
          if (nb > 1) scatter_rows(res.get(), fg, nb, ohw, b ? b + gi * fg : nullptr, yb, g.f * ohw);
          else
            for (int64_t f = 0; b && f < fg; ++f)
              for (T *p = yb + f * ohw, *e = p + ohw; p < e; ++p) *p += b[gi * fg + f];
        }
      }
    });
  } else if constexpr (K == kBwdData || K == kDeconv) {
    // Deconvolution is the data gradient of a convolution over its output (deconv_geo).
    const T *og = ptr(in[0]), *w = ptr(in[1]), *b = K == kDeconv && g.bias ? ptr(in[2]) : nullptr;
    T* dx = ptr(out);
    parallel_for(g.n, 2, [&](int64_t lo, int64_t hi) {
      const int64_t bs = samples_per_block(kk, ohw, sizeof(T), hi - lo);
      auto col = scratch<T>(kk * bs * ohw), ogb = scratch<T>(bs > 1 ? fg * bs * ohw : 0);
      std::fill(dx + lo * g.c * plane, dx + hi * g.c * plane, T(0));
      for (int64_t n0 = lo; n0 < hi; n0 += bs) {
        const int64_t nb = std::min(bs, hi - n0), ld = nb * ohw;
        for (int64_t gi = 0; gi < g.groups; ++gi) {
          const T* ob = og + (n0 * g.f + gi * fg) * ohw;
          if (nb > 1) gather_rows(ob, g.f * ohw, fg, nb, ohw, ogb.get());
          gemm<T>(true, false, kk, ld, fg, T(1), w + gi * fg * kk, kk, nb > 1 ? ogb.get() : ob, ld, T(0), col.get(), ld);
          for (int64_t s = 0; s < nb; ++s)
            col2im_add(g, col.get() + s * ohw, ld, cg, dx + ((n0 + s) * g.c + gi * cg) * plane);
        }
      }
      for (int64_t n = lo; b && n < hi; ++n)
        for (int64_t c = 0; c < g.c; ++c) {
          T* p = dx + (n * g.c + c) * plane;
          for (int64_t i = 0; i < plane; ++i) p[i] += b[c];
        }
    });
  } else {
    const T *og = ptr(in[0]), *x = ptr(in[1]);
    T* dw = ptr(out);
    const int64_t wsize = g.f * kk;
    std::mutex mu;
    std::vector<std::pair<int64_t, std::vector<T>>> partials;
    parallel_for(g.n, 2, [&](int64_t lo, int64_t hi) {
      const int64_t bs = samples_per_block(kk, ohw, sizeof(T), hi - lo);
      auto col = scratch<T>(kk * bs * ohw), ogb = scratch<T>(bs > 1 ? fg * bs * ohw : 0);
      std::vector<T> acc(size_t(wsize), T(0));
      for (int64_t n0 = lo; n0 < hi; n0 += bs) {
        const int64_t nb = std::min(bs, hi - n0), ld = nb * ohw;
        for (int64_t gi = 0; gi < g.groups; ++gi) {
          for (int64_t s = 0; s < nb; ++s) im2col(g, x + ((n0 + s) * g.c + gi * cg) * plane, cg, col.get() + s * ohw, ld);
          const T* ob = og + (n0 * g.f + gi * fg) * ohw;
          if (nb > 1) gather_rows(ob, g.f * ohw, fg, nb, ohw, ogb.get());
          gemm<T>(false, true, fg, kk, ld, T(1), nb > 1 ? ogb.get() : ob, ld, col.get(), ld, T(1), acc.data() + gi * fg * kk, kk);
        }
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

void destroy(void* s) { delete static_cast<Geo*>(s); }

const mx_kernel kConvKernels[] = {
    kernel("Convolution", conv_create<kFwd>, conv_run<kFwd>, destroy),
    kernel("_conv_backward_data", conv_create<kBwdData>, conv_run<kBwdData>, destroy),
    kernel("_conv_backward_weight", conv_create<kBwdWeight>, conv_run<kBwdWeight>, destroy),
    kernel("Deconvolution", conv_create<kDeconv>, conv_run<kDeconv>, destroy),
    kEndOfTable,
};
MX_REGISTER_KERNELS(kConvKernels);

}  // namespace
}  // namespace mxcpu
