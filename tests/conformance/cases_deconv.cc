// Conformance cases for Deconvolution. The reference scatters each input pixel through the
// kernel into the output (the definition), independent of the kernels' im2col formulation.
// Also the conv family's gradient ops run directly (_conv_backward_data, _conv_backward_weight,
// _pooling_backward): the gradient checks run in float64 only, these check every dtype, the
// 16-bit ones included (cuDNN's pseudo-half backward paths and the 16-bit pooling gradient).
#include "harness.h"

namespace conformance {
namespace {

struct Geo {
  int64_t n, c, h, w;    // data
  int64_t f, kh, kw;     // filters, kernel
  int64_t s, p, d, groups;
  int64_t oh, ow;        // output
};

// y[n, g*fg + fo, iy*s - p + ky*d, ix*s - p + kx*d] += x[n, c, iy, ix] * w[c, fo, ky, kx] (+ bias)
Vec naive_deconv(const Vec& x, const Vec& w, const Vec* b, const Geo& g) {
  const int64_t cg = g.c / g.groups, fg = g.f / g.groups;
  Vec y(size_t(g.n * g.f * g.oh * g.ow), 0.0);
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t iy = 0; iy < g.h; ++iy)
        for (int64_t ix = 0; ix < g.w; ++ix)
          for (int64_t fo = 0; fo < fg; ++fo)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                const int64_t oy = iy * g.s - (g.kh > 1 ? g.p : 0) + ky * g.d, ox = ix * g.s - g.p + kx * g.d;
                if (oy < 0 || oy >= g.oh || ox < 0 || ox >= g.ow) continue;
                const int64_t f = (c / cg) * fg + fo;
                y[size_t(((n * g.f + f) * g.oh + oy) * g.ow + ox)] +=
                    x[size_t(((n * g.c + c) * g.h + iy) * g.w + ix)] * w[size_t(((c * fg + fo) * g.kh + ky) * g.kw + kx)];
              }
  if (b)
    for (int64_t n = 0; n < g.n; ++n)
      for (int64_t f = 0; f < g.f; ++f)
        for (int64_t i = 0; i < g.oh * g.ow; ++i) y[size_t((n * g.f + f) * g.oh * g.ow + i)] += (*b)[size_t(f)];
  return y;
}

// dw[f, c, ky, kx] = sum over n, oy, ox of og[n, f, oy, ox] * x[n, c, oy*s - p + ky*d, ox*s - p + kx*d]
// (one group, 2-d); g as for naive_deconv of the convolution: data (n, c, h, w), f filters, output (oh, ow).
Vec naive_conv_weight_grad(const Vec& og, const Vec& x, const Geo& g) {
  Vec dw(size_t(g.f * g.c * g.kh * g.kw), 0.0);
  for (int64_t f = 0; f < g.f; ++f)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          double acc = 0;
          for (int64_t n = 0; n < g.n; ++n)
            for (int64_t oy = 0; oy < g.oh; ++oy)
              for (int64_t ox = 0; ox < g.ow; ++ox) {
                const int64_t y = oy * g.s - g.p + ky * g.d, xx = ox * g.s - g.p + kx * g.d;
                if (y < 0 || y >= g.h || xx < 0 || xx >= g.w) continue;
                acc += og[size_t(((n * g.f + f) * g.oh + oy) * g.ow + ox)] * x[size_t(((n * g.c + c) * g.h + y) * g.w + xx)];
              }
          dw[size_t(((f * g.c + c) * g.kh + ky) * g.kw + kx)] = acc;
        }
  return dw;
}

// The gradient of max / avg (count_include_pad) pooling over planes of (h, w), kernel k, stride s,
// pad p: each output's gradient goes to its window's first maximum, or is shared by the k*k window.
Vec naive_pool_grad(const Vec& og, const Vec& x, int64_t planes, int64_t h, int64_t w, int64_t k, int64_t s,
                    int64_t p, int64_t oh, int64_t ow, bool max) {
  Vec dx(x.size(), 0.0);
  for (int64_t q = 0; q < planes; ++q)
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const double gv = og[size_t((q * oh + oy) * ow + ox)];
        int64_t best = -1;
        for (int64_t y = oy * s - p; y < oy * s - p + k; ++y)
          for (int64_t xx = ox * s - p; xx < ox * s - p + k; ++xx) {
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            const size_t i = size_t((q * h + y) * w + xx);
            if (!max) dx[i] += gv / double(k * k);
            else if (best < 0 || x[i] > x[size_t(best)]) best = int64_t(i);
          }
        if (max && best >= 0) dx[size_t(best)] += gv;
      }
  return dx;
}

}  // namespace

std::vector<Case> deconv_cases() {
  return {
      // stride 2, pad 1, adj 1, bias: out = 2*(3-1) + 3 - 2 + 1 = 6
      Case{"Deconvolution",
           {{"kernel", "(3,3)"}, {"num_filter", "2"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"adj", "(1,1)"},
            {"no_bias", "False"}},
           {{{2, 3, 3, 3}}, {{3, 2, 3, 3}}, {{2}}},
           [](const std::vector<Vec>& in) { return naive_deconv(in[0], in[1], &in[2], {2, 3, 3, 3, 2, 3, 3, 2, 1, 1, 1, 6, 6}); }},
      // groups and dilation, no bias (the default): out = (4-1) + 2*(2-1) + 1 = 6
      Case{"Deconvolution", {{"kernel", "(2,2)"}, {"num_filter", "4"}, {"dilate", "(2,2)"}, {"num_group", "2"}},
           {{{1, 4, 4, 4}}, {{4, 2, 2, 2}}},
           [](const std::vector<Vec>& in) { return naive_deconv(in[0], in[1], nullptr, {1, 4, 4, 4, 4, 2, 2, 1, 0, 2, 2, 6, 6}); }},
      // 1-d with target_shape: full = 2*(4-1) + 3 = 9, target 8 -> pad 1, adj 1
      Case{"Deconvolution", {{"kernel", "(3,)"}, {"num_filter", "2"}, {"stride", "(2,)"}, {"target_shape", "(8,)"}},
           {{{2, 3, 4}}, {{3, 2, 3}}},
           [](const std::vector<Vec>& in) { return naive_deconv(in[0], in[1], nullptr, {2, 3, 1, 4, 2, 1, 3, 2, 1, 1, 1, 1, 8}); }},
      // The gradient ops of Convolution(kernel 3x3, stride 2, pad 1, 4 filters) on data (2, 3, 6, 5),
      // output (2, 4, 3, 3). The data gradient is the deconvolution of the output gradient
      // (filters f -> channels c); input 2 of _conv_backward_data gives the shape only.
      Case{"_conv_backward_data", {{"kernel", "(3,3)"}, {"num_filter", "4"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}},
           {{{2, 4, 3, 3}}, {{4, 3, 3, 3}}, {{2, 3, 6, 5}}},
           [](const std::vector<Vec>& in) { return naive_deconv(in[0], in[1], nullptr, {2, 4, 3, 3, 3, 3, 3, 2, 1, 1, 1, 6, 5}); },
           false},
      Case{"_conv_backward_weight", {{"kernel", "(3,3)"}, {"num_filter", "4"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}},
           {{{2, 4, 3, 3}}, {{2, 3, 6, 5}}},
           [](const std::vector<Vec>& in) { return naive_conv_weight_grad(in[0], in[1], {2, 3, 6, 5, 4, 3, 3, 2, 1, 1, 1, 3, 3}); },
           false},
      // Pooling's gradient: avg 3x3 stride 2 pad 1 on (1, 2, 5, 5) (every padded window has 9
      // cells), and max 2x2 stride 2 on (2, 2, 4, 6) (first maximum; the reference sees the same
      // rounded values as the op, so 16-bit ties resolve alike). Input 2 (the output) is unused.
      Case{"_pooling_backward", {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"pool_type", "avg"}},
           {{{1, 2, 3, 3}}, {{1, 2, 5, 5}}, {{1, 2, 3, 3}}},
           [](const std::vector<Vec>& in) { return naive_pool_grad(in[0], in[1], 2, 5, 5, 3, 2, 1, 3, 3, false); }, false},
      Case{"_pooling_backward", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}, {"pool_type", "max"}},
           {{{2, 2, 2, 3}}, {{2, 2, 4, 6}}, {{2, 2, 2, 3}}},
           [](const std::vector<Vec>& in) { return naive_pool_grad(in[0], in[1], 4, 4, 6, 2, 2, 0, 2, 3, true); }, false},
  };
}

}  // namespace conformance
