// Conformance cases for Deconvolution. The reference scatters each input pixel through the
// kernel into the output (the definition), independent of the kernels' im2col formulation.
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
  };
}

}  // namespace conformance
