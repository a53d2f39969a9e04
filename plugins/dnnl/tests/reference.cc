#include "reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace ref {

double to_f32(double v) { return double(float(v)); }

uint16_t bf16_bits(double v) {
  const float f = float(v);
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

double from_bf16_bits(uint16_t b) {
  const uint32_t u = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

double to_bf16(double v) { return from_bf16_bits(bf16_bits(v)); }

Vec uniform(size_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(n);
  for (double& e : v) e = u(rng);
  return v;
}

// ---------------------------------------------------------------- convolution

namespace {

// Calls f(n, filter, oy, ox, channel, ky, kx, data index) for every in-bounds term of the sum
// that makes output (n, filter, oy, ox).
template <typename F>
void conv_terms(const Conv& g, F&& f) {
  const int64_t cg = g.c / g.groups, fg = g.f / g.groups, oh = g.oh(), ow = g.ow();
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t fi = 0; fi < g.f; ++fi)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox)
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t y = oy * g.sh - g.ph + ky * g.dh, x = ox * g.sw - g.pw + kx * g.dw;
                if (y < 0 || y >= g.h || x < 0 || x >= g.w) continue;
                const int64_t c = (fi / fg) * cg + ci;
                f(((n * g.f + fi) * oh + oy) * ow + ox, ((fi * cg + ci) * g.kh + ky) * g.kw + kx,
                  ((n * g.c + c) * g.h + y) * g.w + x);
              }
}

}  // namespace

Vec conv_forward(const Vec& x, const Vec& w, const Vec* bias, const Conv& g) {
  Vec y(size_t(g.n * g.f * g.oh() * g.ow()), 0.0);
  conv_terms(g, [&](int64_t yi, int64_t wi, int64_t xi) { y[size_t(yi)] += x[size_t(xi)] * w[size_t(wi)]; });
  if (bias)
    for (size_t i = 0; i < y.size(); ++i) y[i] += (*bias)[(i / size_t(g.oh() * g.ow())) % size_t(g.f)];
  return y;
}

Vec conv_backward_data(const Vec& og, const Vec& w, const Conv& g) {
  Vec dx(size_t(g.n * g.c * g.h * g.w), 0.0);
  conv_terms(g, [&](int64_t yi, int64_t wi, int64_t xi) { dx[size_t(xi)] += og[size_t(yi)] * w[size_t(wi)]; });
  return dx;
}

Vec conv_backward_weight(const Vec& og, const Vec& x, const Conv& g) {
  Vec dw(size_t(g.f * (g.c / g.groups) * g.kh * g.kw), 0.0);
  conv_terms(g, [&](int64_t yi, int64_t wi, int64_t xi) { dw[size_t(wi)] += og[size_t(yi)] * x[size_t(xi)]; });
  return dw;
}

Vec deconv_forward(const Vec& x, const Vec& w, const Vec* bias, int64_t n, int64_t c_in, int64_t ih, int64_t iw,
                   int64_t f, int64_t oh, int64_t ow, const Conv& g) {
  const int64_t cg = c_in / g.groups, fg = f / g.groups;
  Vec y(size_t(n * f * oh * ow), 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < c_in; ++c)
      for (int64_t iy = 0; iy < ih; ++iy)
        for (int64_t ix = 0; ix < iw; ++ix)
          for (int64_t fo = 0; fo < fg; ++fo)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t oy = iy * g.sh - g.ph + ky * g.dh, ox = ix * g.sw - g.pw + kx * g.dw;
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                const int64_t fi = (c / cg) * fg + fo;
                y[size_t(((b * f + fi) * oh + oy) * ow + ox)] +=
                    x[size_t(((b * c_in + c) * ih + iy) * iw + ix)] * w[size_t(((c * fg + fo) * g.kh + ky) * g.kw + kx)];
              }
  if (bias)
    for (size_t i = 0; i < y.size(); ++i) y[i] += (*bias)[(i / size_t(oh * ow)) % size_t(f)];
  return y;
}

// ---------------------------------------------------------------- pooling

namespace {

struct Window {
  int64_t y0, y1, x0, x1, divisor;  // data rows [y0, y1), columns [x0, x1)
};

Window window(const Pool& g, int64_t oy, int64_t ox) {
  int64_t y0 = oy * g.sh - g.ph, x0 = ox * g.sw - g.pw;
  int64_t y1 = std::min(y0 + g.kh, g.h + g.ph), x1 = std::min(x0 + g.kw, g.w + g.pw);
  const int64_t padded = (y1 - y0) * (x1 - x0);
  y0 = std::max<int64_t>(y0, 0), x0 = std::max<int64_t>(x0, 0), y1 = std::min(y1, g.h), x1 = std::min(x1, g.w);
  return {y0, y1, x0, x1, g.include_pad ? padded : (y1 - y0) * (x1 - x0)};
}

}  // namespace

Vec pool_forward(const Vec& x, const Pool& g) {
  Vec y(size_t(g.planes * g.oh * g.ow));
  for (int64_t p = 0; p < g.planes; ++p)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const Window win = window(g, oy, ox);
        double acc = g.max ? -INFINITY : 0.0;
        for (int64_t a = win.y0; a < win.y1; ++a)
          for (int64_t b = win.x0; b < win.x1; ++b) {
            const double v = x[size_t((p * g.h + a) * g.w + b)];
            acc = g.max ? std::max(acc, v) : acc + v;
          }
        y[size_t((p * g.oh + oy) * g.ow + ox)] = g.max ? acc : acc / double(win.divisor);
      }
  return y;
}

Vec pool_backward(const Vec& og, const Vec& x, const Pool& g) {
  Vec dx(x.size(), 0.0);
  for (int64_t p = 0; p < g.planes; ++p)
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const Window win = window(g, oy, ox);
        const double gv = og[size_t((p * g.oh + oy) * g.ow + ox)];
        int64_t best = -1;
        for (int64_t a = win.y0; a < win.y1; ++a)
          for (int64_t b = win.x0; b < win.x1; ++b) {
            const int64_t i = (p * g.h + a) * g.w + b;
            if (!g.max) dx[size_t(i)] += gv / double(win.divisor);
            else if (best < 0 || x[size_t(i)] > x[size_t(best)]) best = i;
          }
        if (g.max && best >= 0) dx[size_t(best)] += gv;
      }
  return dx;
}

// ---------------------------------------------------------------- the rest

Vec matmul(const Vec& a, const Vec& b, int64_t m, int64_t k, int64_t n, bool ta, bool tb) {
  Vec c(size_t(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        c[size_t(i * n + j)] += a[size_t(ta ? p * m + i : i * k + p)] * b[size_t(tb ? j * k + p : p * n + j)];
  return c;
}

NormOut batch_norm(const Vec& x, const Vec& gamma, const Vec& beta, const Vec* mean, const Vec* var,
                        int64_t outer, int64_t c, int64_t inner, double eps, bool fix_gamma) {
  NormOut o{Vec(x.size()), Vec(size_t(c)), Vec(size_t(c))};
  const double count = double(outer * inner);
  for (int64_t ch = 0; ch < c; ++ch) {
    double mu = 0, v = 0;
    if (mean) {
      mu = (*mean)[size_t(ch)], v = (*var)[size_t(ch)];
    } else {
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t i = 0; i < inner; ++i) mu += x[size_t((a * c + ch) * inner + i)] / count;
      for (int64_t a = 0; a < outer; ++a)
        for (int64_t i = 0; i < inner; ++i) v += std::pow(x[size_t((a * c + ch) * inner + i)] - mu, 2) / count;
    }
    o.mean[size_t(ch)] = mu, o.dev[size_t(ch)] = v;
    const double scale = (fix_gamma ? 1.0 : gamma[size_t(ch)]) / std::sqrt(v + eps);
    for (int64_t a = 0; a < outer; ++a)
      for (int64_t i = 0; i < inner; ++i) {
        const size_t k = size_t((a * c + ch) * inner + i);
        o.y[k] = (x[k] - mu) * scale + beta[size_t(ch)];
      }
  }
  return o;
}

NormOut layer_norm(const Vec& x, const Vec& gamma, const Vec& beta, int64_t rows, int64_t width, double eps) {
  NormOut o{Vec(x.size()), Vec(size_t(rows)), Vec(size_t(rows))};
  for (int64_t r = 0; r < rows; ++r) {
    double mu = 0, v = 0;
    for (int64_t j = 0; j < width; ++j) mu += x[size_t(r * width + j)] / double(width);
    for (int64_t j = 0; j < width; ++j) v += std::pow(x[size_t(r * width + j)] - mu, 2) / double(width);
    const double sd = std::sqrt(v + eps);
    o.mean[size_t(r)] = mu, o.dev[size_t(r)] = sd;
    for (int64_t j = 0; j < width; ++j) {
      const size_t k = size_t(r * width + j);
      o.y[k] = (x[k] - mu) / sd * gamma[size_t(j)] + beta[size_t(j)];
    }
  }
  return o;
}

Vec softmax(const Vec& x, int64_t outer, int64_t n, int64_t inner, double t, bool log) {
  Vec y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t j) { return size_t((o * n + j) * inner + i); };
      double mx = -INFINITY, sum = 0;
      for (int64_t j = 0; j < n; ++j) mx = std::max(mx, x[at(j)] / t);
      for (int64_t j = 0; j < n; ++j) sum += std::exp(x[at(j)] / t - mx);
      for (int64_t j = 0; j < n; ++j) {
        const double z = x[at(j)] / t - mx;
        y[at(j)] = log ? z - std::log(sum) : std::exp(z) / sum;
      }
    }
  return y;
}

}  // namespace ref
