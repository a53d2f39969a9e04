// Conformance cases for the 3-d (NCDHW) conv family: Convolution, Deconvolution and Pooling, and
// (conv_fast_path_cases) 2-d shapes that take the CPU kernels' fast paths: several samples per GEMM,
// tiling pooling windows, the 64-window max lanes, the general 2-d pooling loop.
// The references are the definitions as direct loops over (depth, height, width) — a gather for
// Convolution and Pooling, a scatter for Deconvolution — independent of the kernels' im2col and
// window walks. Gradients are checked by the harness's float64 finite differences.
#include <algorithm>

#include "harness.h"

namespace conformance {
namespace {

struct Geo3 {
  int64_t n, c, f, groups;  // batch, input channels, output channels, groups
  int64_t in[3], k[3], s[3], p[3], d[3], out[3];
};

int64_t vol(const int64_t (&e)[3]) { return e[0] * e[1] * e[2]; }

// y[n, f, o] = sum over the group's channels c and taps t of x[n, c, o*s - p + t*d] * w[f, c', t] (+ b[f])
Vec naive_conv3d(const Vec& x, const Vec& w, const Vec* b, const Geo3& g) {
  const int64_t cg = g.c / g.groups, fg = g.f / g.groups;
  Vec y(size_t(g.n * g.f * vol(g.out)), 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t f = 0; f < g.f; ++f)
      for (int64_t oz = 0; oz < g.out[0]; ++oz)
        for (int64_t oy = 0; oy < g.out[1]; ++oy)
          for (int64_t ox = 0; ox < g.out[2]; ++ox) {
            double acc = b ? (*b)[size_t(f)] : 0.0;
            for (int64_t ci = 0; ci < cg; ++ci)
              for (int64_t a = 0; a < g.k[0]; ++a)
                for (int64_t i = 0; i < g.k[1]; ++i)
                  for (int64_t j = 0; j < g.k[2]; ++j) {
                    const int64_t z = oz * g.s[0] - g.p[0] + a * g.d[0], y0 = oy * g.s[1] - g.p[1] + i * g.d[1],
                                  x0 = ox * g.s[2] - g.p[2] + j * g.d[2];
                    if (z < 0 || z >= g.in[0] || y0 < 0 || y0 >= g.in[1] || x0 < 0 || x0 >= g.in[2]) continue;
                    const int64_t c = (f / fg) * cg + ci;
                    acc += x[size_t((((n * g.c + c) * g.in[0] + z) * g.in[1] + y0) * g.in[2] + x0)] *
                           w[size_t((((f * cg + ci) * g.k[0] + a) * g.k[1] + i) * g.k[2] + j)];
                  }
            y[size_t((((n * g.f + f) * g.out[0] + oz) * g.out[1] + oy) * g.out[2] + ox)] = acc;
          }
  return y;
}

// Each input cell x[n, c, i] adds x * w[c, f', t] to y[n, g*fg + f', i*s - p + t*d] (+ b[f]).
Vec naive_deconv3d(const Vec& x, const Vec& w, const Vec* b, const Geo3& g) {
  const int64_t cg = g.c / g.groups, fg = g.f / g.groups;
  Vec y(size_t(g.n * g.f * vol(g.out)), 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t iz = 0; iz < g.in[0]; ++iz)
        for (int64_t iy = 0; iy < g.in[1]; ++iy)
          for (int64_t ix = 0; ix < g.in[2]; ++ix)
            for (int64_t fo = 0; fo < fg; ++fo)
              for (int64_t a = 0; a < g.k[0]; ++a)
                for (int64_t i = 0; i < g.k[1]; ++i)
                  for (int64_t j = 0; j < g.k[2]; ++j) {
                    const int64_t oz = iz * g.s[0] - g.p[0] + a * g.d[0], oy = iy * g.s[1] - g.p[1] + i * g.d[1],
                                  ox = ix * g.s[2] - g.p[2] + j * g.d[2];
                    if (oz < 0 || oz >= g.out[0] || oy < 0 || oy >= g.out[1] || ox < 0 || ox >= g.out[2]) continue;
                    const int64_t f = (c / cg) * fg + fo;
                    y[size_t((((n * g.f + f) * g.out[0] + oz) * g.out[1] + oy) * g.out[2] + ox)] +=
                        x[size_t((((n * g.c + c) * g.in[0] + iz) * g.in[1] + iy) * g.in[2] + ix)] *
                        w[size_t((((c * fg + fo) * g.k[0] + a) * g.k[1] + i) * g.k[2] + j)];
                  }
  if (b)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t f = 0; f < g.f; ++f)
        for (int64_t o = 0; o < vol(g.out); ++o) y[size_t((n * g.f + f) * vol(g.out) + o)] += (*b)[size_t(f)];
  return y;
}

// Max or average (count_include_pad) over each window of the zero-padded planes (valid convention).
Vec naive_pool3d(const Vec& x, const Geo3& g, bool max, bool include_pad) {
  Vec y(size_t(g.n * g.c * vol(g.out)));
  for (int64_t pl = 0; pl < g.n * g.c; ++pl)
    for (int64_t oz = 0; oz < g.out[0]; ++oz)
      for (int64_t oy = 0; oy < g.out[1]; ++oy)
        for (int64_t ox = 0; ox < g.out[2]; ++ox) {
          double acc = max ? -1e300 : 0.0;
          int64_t count = 0;
          for (int64_t a = 0; a < g.k[0]; ++a)
            for (int64_t i = 0; i < g.k[1]; ++i)
              for (int64_t j = 0; j < g.k[2]; ++j) {
                const int64_t z = oz * g.s[0] - g.p[0] + a, yy = oy * g.s[1] - g.p[1] + i, xx = ox * g.s[2] - g.p[2] + j;
                if (z < 0 || z >= g.in[0] || yy < 0 || yy >= g.in[1] || xx < 0 || xx >= g.in[2]) continue;
                const double v = x[size_t(((pl * g.in[0] + z) * g.in[1] + yy) * g.in[2] + xx)];
                acc = max ? std::max(acc, v) : acc + v;
                ++count;
              }
          if (!max) acc /= double(include_pad ? g.k[0] * g.k[1] * g.k[2] : count);
          y[size_t(((pl * g.out[0] + oz) * g.out[1] + oy) * g.out[2] + ox)] = acc;
        }
  return y;
}

}  // namespace

std::vector<Case> conv3d_cases() {
  // Convolution: data (1, 4, 4, 3, 4), 2 groups, kernel (2, 2, 3), stride (2, 1, 1), pad (1, 0, 1),
  // dilate (2, 2, 1): out ((4+2-3)/2+1, (3-3)+1, (4+2-3)+1) = (2, 1, 4).
  const Geo3 conv{1, 4, 2, 2, {4, 3, 4}, {2, 2, 3}, {2, 1, 1}, {1, 0, 1}, {2, 2, 1}, {2, 1, 4}};
  // Deconvolution: data (1, 2, 2, 3, 2) -> 4 filters in 2 groups, kernel (2, 3, 2), stride (2, 1, 2),
  // dilate (2, 1, 1), pad (0, 1, 1), adj (1, 0, 0): out (2*1+3+1, 2+3-2, 2*1+2-2) = (6, 3, 2).
  const Geo3 deconv{1, 2, 4, 2, {2, 3, 2}, {2, 3, 2}, {2, 1, 2}, {0, 1, 1}, {2, 1, 1}, {6, 3, 2}};
  // Pooling: data (1, 2, 5, 4, 5), kernel (3, 2, 3), stride (2, 2, 2), pad (1, 0, 1): out (3, 2, 3).
  const Geo3 pool{1, 2, 2, 1, {5, 4, 5}, {3, 2, 3}, {2, 2, 2}, {1, 0, 1}, {1, 1, 1}, {3, 2, 3}};
  const std::vector<std::pair<std::string, std::string>> pool_geo = {
      {"kernel", "(3,2,3)"}, {"stride", "(2,2,2)"}, {"pad", "(1,0,1)"}};
  auto with = [](auto kv, std::vector<std::pair<std::string, std::string>> more) {
    kv.insert(kv.end(), more.begin(), more.end());
    return kv;
  };
  return {
      Case{"Convolution",
           {{"kernel", "(2,2,3)"}, {"stride", "(2,1,1)"}, {"pad", "(1,0,1)"}, {"dilate", "(2,2,1)"},
            {"num_filter", "2"}, {"num_group", "2"}},
           {{{1, 4, 4, 3, 4}}, {{2, 2, 2, 2, 3}}, {{2}}},
           [conv](const std::vector<Vec>& in) { return naive_conv3d(in[0], in[1], &in[2], conv); }},
      Case{"Deconvolution",
           {{"kernel", "(2,3,2)"}, {"stride", "(2,1,2)"}, {"dilate", "(2,1,1)"}, {"pad", "(0,1,1)"}, {"adj", "(1,0,0)"},
            {"num_filter", "4"}, {"num_group", "2"}, {"no_bias", "False"}},
           {{{1, 2, 2, 3, 2}}, {{2, 2, 2, 3, 2}}, {{4}}},
           [deconv](const std::vector<Vec>& in) { return naive_deconv3d(in[0], in[1], &in[2], deconv); }},
      // max: 16-bit rounding can make ties, where the gradient's first maximum differs (half off)
      Case{"Pooling", with(pool_geo, {{"pool_type", "max"}}), {{{1, 2, 5, 4, 5}}},
           [pool](const std::vector<Vec>& in) { return naive_pool3d(in[0], pool, true, true); }, true, false, {}, 0,
           false},
      Case{"Pooling", with(pool_geo, {{"pool_type", "avg"}}), {{{1, 2, 5, 4, 5}}},
           [pool](const std::vector<Vec>& in) { return naive_pool3d(in[0], pool, false, true); }},
      Case{"Pooling", with(pool_geo, {{"pool_type", "avg"}, {"count_include_pad", "False"}}), {{{1, 2, 5, 4, 5}}},
           [pool](const std::vector<Vec>& in) { return naive_pool3d(in[0], pool, false, false); }},
  };
}

// 2-d data as 3-d with depth 1: the same references serve.
std::vector<Case> conv_fast_path_cases() {
  auto g2 = [](int64_t n, int64_t c, int64_t f, int64_t groups, int64_t h, int64_t w, int64_t k, int64_t s, int64_t p) {
    const int64_t oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
    return Geo3{n, c, f, groups, {1, h, w}, {1, k, k}, {1, s, s}, {0, p, p}, {1, 1, 1}, {1, oh, ow}};
  };
  // Narrow output planes (4x4): several samples share one GEMM (LeNet's conv2 path).
  const Geo3 batched = g2(5, 4, 6, 1, 6, 6, 3, 1, 0);
  const Geo3 grouped = g2(3, 4, 4, 2, 7, 7, 3, 2, 1);
  const Geo3 lanes = g2(1, 2, 0, 1, 4, 140, 2, 2, 0);   // 70 windows a row: 64-window lanes + 6
  const Geo3 tile3 = g2(2, 3, 0, 1, 7, 8, 3, 3, 0);     // 3x3/3: the last row and columns uncovered
  const Geo3 avg2 = g2(2, 2, 0, 1, 6, 6, 2, 2, 0);
  const Geo3 general = g2(1, 3, 0, 1, 9, 9, 3, 2, 1);   // overlapping, padded: the general 2-d loop
  auto pool = [](const Geo3& g, const char* type, bool max) {
    const std::string k = std::to_string(g.k[1]), s = std::to_string(g.s[1]), p = std::to_string(g.p[1]);
    return Case{"Pooling",
                {{"kernel", "(" + k + "," + k + ")"}, {"stride", "(" + s + "," + s + ")"}, {"pad", "(" + p + "," + p + ")"},
                 {"pool_type", type}},
                {{{g.n, g.c, g.in[1], g.in[2]}}},
                [g, max](const std::vector<Vec>& in) { return naive_pool3d(in[0], g, max, true); }, true, false, {}, 0,
                !max};
  };
  return {
      Case{"Convolution", {{"kernel", "(3,3)"}, {"num_filter", "6"}},
           {{{5, 4, 6, 6}}, {{6, 4, 3, 3}}, {{6}}},
           [batched](const std::vector<Vec>& in) { return naive_conv3d(in[0], in[1], &in[2], batched); }},
      Case{"Convolution", {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"num_filter", "4"}, {"num_group", "2"}},
           {{{3, 4, 7, 7}}, {{4, 2, 3, 3}}, {{4}}},
           [grouped](const std::vector<Vec>& in) { return naive_conv3d(in[0], in[1], &in[2], grouped); }},
      pool(lanes, "max", true),
      pool(tile3, "max", true),
      pool(avg2, "avg", false),
      pool(general, "max", true),
      pool(general, "avg", false),
  };
}

}  // namespace conformance
