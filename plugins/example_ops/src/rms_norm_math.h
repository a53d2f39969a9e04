// The loops of rms_norm and its two backward ops. Data is viewed as [outer, n, inner] and
// normalised along n (the op's axis):
//   r = 1 / sqrt(mean(x^2 over n) + eps),   y_i = x_i r gamma_i
//   dx_i     = r g_i gamma_i - (r^3 / n) x_i sum_j(g_j gamma_j x_j)
//   dgamma_i = sum over outer and inner of g_i x_i r
// Two shapes of loop: axis last (inner == 1) walks contiguous rows; any other axis walks up to
// kChunk contiguous columns at once with per-column accumulators on the stack, so every inner
// loop is unit-stride and vectorises. Sums are in double, whatever T is.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace example_ops {

struct Rows {
  int64_t outer, n, inner;
};

constexpr int64_t kChunk = 256;

// 1 / rms of one contiguous row.
template <typename T>
double row_inv_rms(const T* x, int64_t n, double eps) {
  double ss = 0;
#pragma omp simd reduction(+ : ss)
  for (int64_t i = 0; i < n; ++i) ss += double(x[i]) * double(x[i]);
  return 1.0 / std::sqrt(ss / double(n) + eps);
}

// 1 / rms of w columns that start at x, n rows apart by `stride` elements.
template <typename T>
void column_inv_rms(const T* x, int64_t n, int64_t stride, int64_t w, double eps, double* r) {
  std::fill(r, r + w, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const T* xi = x + i * stride;
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) r[j] += double(xi[j]) * double(xi[j]);
  }
  for (int64_t j = 0; j < w; ++j) r[j] = 1.0 / std::sqrt(r[j] / double(n) + eps);
}

// Calls f(offset of the column block, its width) for every kChunk-wide block of every outer slice.
template <typename F>
void for_column_blocks(const Rows& g, F&& f) {
  for (int64_t o = 0; o < g.outer; ++o)
    for (int64_t j0 = 0; j0 < g.inner; j0 += kChunk) f(o * g.n * g.inner + j0, std::min(kChunk, g.inner - j0));
}

template <typename T>
void rms_norm_forward(const Rows& g, double eps, const T* x, const T* gamma, T* y) {
  if (g.inner == 1) {
    for (int64_t o = 0; o < g.outer; ++o) {
      const T* xr = x + o * g.n;
      T* yr = y + o * g.n;
      const T r = T(row_inv_rms(xr, g.n, eps));
#pragma omp simd
      for (int64_t i = 0; i < g.n; ++i) yr[i] = xr[i] * r * gamma[i];
    }
    return;
  }
  for_column_blocks(g, [&](int64_t base, int64_t w) {
    double r[kChunk];
    column_inv_rms(x + base, g.n, g.inner, w, eps, r);
    T rt[kChunk];
    for (int64_t j = 0; j < w; ++j) rt[j] = T(r[j]);
    for (int64_t i = 0; i < g.n; ++i) {
      const T* xi = x + base + i * g.inner;
      T* yi = y + base + i * g.inner;
      const T gi = gamma[i];
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) yi[j] = xi[j] * rt[j] * gi;
    }
  });
}

template <typename T>
void rms_norm_backward_data(const Rows& g, double eps, const T* og, const T* x, const T* gamma, T* dx) {
  const double n = double(g.n);
  if (g.inner == 1) {
    for (int64_t o = 0; o < g.outer; ++o) {
      const T* xr = x + o * g.n;
      const T* gr = og + o * g.n;
      T* dr = dx + o * g.n;
      double ss = 0, dot = 0;
#pragma omp simd reduction(+ : ss, dot)
      for (int64_t i = 0; i < g.n; ++i) {
        ss += double(xr[i]) * double(xr[i]);
        dot += double(gr[i]) * double(gamma[i]) * double(xr[i]);
      }
      const double r = 1.0 / std::sqrt(ss / n + eps);
      const T rt = T(r), k = T(r * r * r * dot / n);
#pragma omp simd
      for (int64_t i = 0; i < g.n; ++i) dr[i] = rt * gr[i] * gamma[i] - k * xr[i];
    }
    return;
  }
  for_column_blocks(g, [&](int64_t base, int64_t w) {
    double r[kChunk], dot[kChunk];
    column_inv_rms(x + base, g.n, g.inner, w, eps, r);
    std::fill(dot, dot + w, 0.0);
    for (int64_t i = 0; i < g.n; ++i) {
      const T* xi = x + base + i * g.inner;
      const T* gi = og + base + i * g.inner;
      const double gam = double(gamma[i]);
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) dot[j] += double(gi[j]) * gam * double(xi[j]);
    }
    T rt[kChunk], k[kChunk];
    for (int64_t j = 0; j < w; ++j) {
      rt[j] = T(r[j]);
      k[j] = T(r[j] * r[j] * r[j] * dot[j] / n);
    }
    for (int64_t i = 0; i < g.n; ++i) {
      const T* xi = x + base + i * g.inner;
      const T* gi = og + base + i * g.inner;
      T* di = dx + base + i * g.inner;
      const T gam = gamma[i];
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) di[j] = rt[j] * gi[j] * gam - k[j] * xi[j];
    }
  });
}

template <typename T>
void rms_norm_backward_gamma(const Rows& g, double eps, const T* og, const T* x, T* dgamma) {
  std::vector<double> acc(size_t(g.n), 0.0);
  double* a = acc.data();
  if (g.inner == 1) {
    for (int64_t o = 0; o < g.outer; ++o) {
      const T* xr = x + o * g.n;
      const T* gr = og + o * g.n;
      const double r = row_inv_rms(xr, g.n, eps);
#pragma omp simd
      for (int64_t i = 0; i < g.n; ++i) a[i] += double(gr[i]) * double(xr[i]) * r;
    }
  } else {
    for_column_blocks(g, [&](int64_t base, int64_t w) {
      double r[kChunk];
      column_inv_rms(x + base, g.n, g.inner, w, eps, r);
      for (int64_t i = 0; i < g.n; ++i) {
        const T* xi = x + base + i * g.inner;
        const T* gi = og + base + i * g.inner;
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < w; ++j) s += double(gi[j]) * double(xi[j]) * r[j];
        a[i] += s;
      }
    });
  }
  for (int64_t i = 0; i < g.n; ++i) dgamma[i] = T(a[i]);
}

}  // namespace example_ops
