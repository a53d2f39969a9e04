// Operator conformance: every case below runs on every loaded backend that has a kernel for it
// (the CUDA backend joins as soon as it has devices and kernels). A backend lacking a kernel that
// the CPU backend has fails the suite unless the op is on its list in missing_kernels.h, and every
// schema needs a case here or an entry in the dedicated-test tables (Coverage tests below).
// Each backend under test is forced ahead of the other plugins of its device type for its cases;
// a kernel-only plugin (the oneDNN one, sharing the CPU's memory) runs the cases of the ops it has
// kernels for and has no coverage rule (its create() hands dtypes it does not serve back).
//  - forward, float32 and float64, against a naive float64 reference written in this file;
//  - gradient, float64, against central finite differences of sum(w * op(x));
//  - gradient of the gradient for ops whose derivative is smooth, against finite differences of
//    the first gradient.
// Only the C API is used.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "../unit/test_util.h"
#include "harness.h"
#include "missing_kernels.h"
#include "mx/philox.h"

namespace {

using mx::test::Arr;
using namespace conformance;

Vec map1(const Vec& x, double (*f)(double)) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = f(x[i]);
  return y;
}

Case unary(const char* op, double (*f)(double), double lo, double hi, bool grad2 = false) {
  return Case{op, {}, {{{3, 5}, lo, hi}}, [f](const std::vector<Vec>& in) { return map1(in[0], f); }, true, grad2};
}

Case binary(const char* op, double (*f)(double, double), double lo = -2, double hi = 2, bool grad2 = false) {
  return Case{op,
              {},
              {{{4, 3}, lo, hi}, {{4, 3}, lo, hi}},
              [f](const std::vector<Vec>& in) {
                Vec y(in[0].size());
                for (size_t i = 0; i < y.size(); ++i) y[i] = f(in[0][i], in[1][i]);
                return y;
              },
              true,
              grad2};
}

Case scalar_op(const char* op, double s, double (*f)(double, double), double lo = -2, double hi = 2) {
  return Case{op, {{"scalar", std::to_string(s)}}, {{{2, 7}, lo, hi}}, [f, s](const std::vector<Vec>& in) {
                Vec y(in[0].size());
                for (size_t i = 0; i < y.size(); ++i) y[i] = f(in[0][i], s);
                return y;
              }};
}

// Binary op on values drawn from {-1, 0, 1}.
Case int_binary(const char* op, double (*f)(double, double), bool grad) {
  Case c = binary(op, f, -1, 2);
  for (InputSpec& s : c.inputs) s.integers = true;
  c.grad = grad;
  return c;
}

// Scalar op on values drawn from {-1, 0, 1} (the scalar ops on logical values have no gradient).
Case int_scalar(const char* op, double s, double (*f)(double, double)) {
  Case c = scalar_op(op, s, f, -1, 2);
  c.inputs[0].integers = true;
  c.grad = false;
  return c;
}

Case dot_case(bool ta, bool tb) {
  const int64_t m = 4, k = 5, n = 3;
  return Case{"dot",
              {{"transpose_a", ta ? "True" : "False"}, {"transpose_b", tb ? "True" : "False"}},
              {{ta ? Shape{k, m} : Shape{m, k}}, {tb ? Shape{n, k} : Shape{k, n}}},
              [=](const std::vector<Vec>& in) {
                Vec c(size_t(m * n), 0.0);
                for (int64_t i = 0; i < m; ++i)
                  for (int64_t j = 0; j < n; ++j)
                    for (int64_t p = 0; p < k; ++p)
                      c[size_t(i * n + j)] += (ta ? in[0][size_t(p * m + i)] : in[0][size_t(i * k + p)]) *
                                              (tb ? in[1][size_t(j * k + p)] : in[1][size_t(p * n + j)]);
                return c;
              },
              true,
              true};
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }
double relu(double x) { return x > 0 ? x : 0; }
double softsign(double x) { return x / (1 + std::fabs(x)); }
double rsqrt(double x) { return 1 / std::sqrt(x); }
double square(double x) { return x * x; }
double sign(double x) { return double((x > 0) - (x < 0)); }
double negative(double x) { return -x; }
double reciprocal(double x) { return 1 / x; }


// ---- naive references for broadcasting and reductions (independent of the kernels)

// Flat index in `s` (right-aligned, size-1 dims pinned to 0) of output coordinate c.
int64_t index_in(const std::vector<int64_t>& c, const Shape& s) {
  int64_t idx = 0;
  const size_t off = c.size() - s.size();
  for (size_t d = 0; d < s.size(); ++d) idx = idx * s[d] + (s[d] == 1 ? 0 : c[d + off]);
  return idx;
}

Case bcast(const char* op, Shape a, Shape b, Shape out, double (*f)(double, double), double lo = -2, double hi = 2,
           bool grad = true) {
  return Case{op, {}, {{a, lo, hi}, {b, lo, hi}}, [=](const std::vector<Vec>& in) {
                Vec y(static_cast<size_t>(numel(out)));
                for (int64_t i = 0; i < numel(out); ++i) {
                  auto c = unravel(i, out);
                  y[size_t(i)] = f(in[0][size_t(index_in(c, a))], in[1][size_t(index_in(c, b))]);
                }
                return y;
              }, grad};
}

// Reduce `x` of shape s over `axes` with combine/finish; output in row-major of the kept dims.
Vec naive_reduce(const Vec& x, const Shape& s, std::vector<int> axes, double init,
                 double (*combine)(double, double), double (*finish)(double, double)) {
  std::vector<bool> red(s.size(), axes.empty());
  for (int a : axes) red[size_t(a < 0 ? a + int(s.size()) : a)] = true;
  Shape kept;
  int64_t count = 1;
  for (size_t d = 0; d < s.size(); ++d) {
    if (red[d]) count *= s[d];
    else kept.push_back(s[d]);
  }
  Vec y(static_cast<size_t>(numel(kept)), init);
  for (int64_t i = 0; i < numel(s); ++i) {
    auto c = unravel(i, s);
    int64_t o = 0;
    for (size_t d = 0, k = 0; d < s.size(); ++d)
      if (!red[d]) o = o * kept[k++] + c[d];
    y[size_t(o)] = combine(y[size_t(o)], x[size_t(i)]);
  }
  for (double& v : y) v = finish(v, double(count));
  return y;
}

Case reduce_case(const char* op, std::string axis, std::vector<int> axes, double init, double (*combine)(double, double),
                 double (*finish)(double, double), bool keepdims = false, double lo = -2, double hi = 2) {
  Shape s{3, 4, 2};
  std::vector<std::pair<std::string, std::string>> attrs{{"axis", axis}};
  if (keepdims) attrs.push_back({"keepdims", "True"});
  return Case{op, attrs, {{s, lo, hi}}, [=](const std::vector<Vec>& in) {
                return naive_reduce(in[0], s, axes, init, combine, finish);
              }};
}


Vec naive_softmax(const Vec& x, int64_t outer, int64_t n, int64_t inner, double t, bool log) {
  Vec y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double mx = -1e300, sum = 0;
      for (int64_t j = 0; j < n; ++j) mx = std::max(mx, x[size_t((o * n + j) * inner + i)] / t);
      for (int64_t j = 0; j < n; ++j) sum += std::exp(x[size_t((o * n + j) * inner + i)] / t - mx);
      for (int64_t j = 0; j < n; ++j) {
        const double z = x[size_t((o * n + j) * inner + i)] / t - mx;
        y[size_t((o * n + j) * inner + i)] = log ? z - std::log(sum) : std::exp(z) / sum;
      }
    }
  return y;
}

Vec naive_fc(const Vec& x, const Vec& w, const Vec* b, int64_t m, int64_t k, int64_t h) {
  Vec y(static_cast<size_t>(m * h), 0.0);
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < h; ++c) {
      double s = b ? (*b)[size_t(c)] : 0.0;
      for (int64_t p = 0; p < k; ++p) s += x[size_t(r * k + p)] * w[size_t(c * k + p)];
      y[size_t(r * h + c)] = s;
    }
  return y;
}


// Direct convolution: data (N,C,H,W), weight (F,C/G,KH,KW); 1-d callers pass H = KH = 1.
Vec naive_conv(const Vec& x, const Vec& w, const Vec* b, int64_t N, int64_t C, int64_t H, int64_t W, int64_t F,
               int64_t KH, int64_t KW, int64_t S, int64_t P, int64_t D, int64_t G, int64_t OH, int64_t OW, bool one_d) {
  Vec y(static_cast<size_t>(N * F * OH * OW), 0.0);
  const int64_t cg = C / G, fg = F / G;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          double s = b ? (*b)[size_t(f)] : 0.0;
          const int64_t g = f / fg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t yy = one_d ? 0 : oy * S - P + i * D, xx = ox * S - P + j * D;
                if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
                s += x[size_t(((n * C + g * cg + c) * H + yy) * W + xx)] * w[size_t(((f * cg + c) * KH + i) * KW + j)];
              }
          y[size_t(((n * F + f) * OH + oy) * OW + ox)] = s;
        }
  return y;
}

// Direct pooling over (P planes, H, W) with MXNet's window rules.
Vec naive_pool(const Vec& x, int64_t planes, int64_t H, int64_t W, int64_t K, int64_t S, int64_t Pd, int64_t OH,
               int64_t OW, int type, bool include_pad, int64_t KH) {
  Vec y(static_cast<size_t>(planes * OH * OW));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t ph = KH == 1 ? 0 : Pd, sh = KH == 1 ? 1 : S;
        int64_t y0 = oy * sh - ph, x0 = ox * S - Pd;
        int64_t y1 = std::min(y0 + KH, H + ph), x1 = std::min(x0 + K, W + Pd);
        const int64_t padded = (y1 - y0) * (x1 - x0);
        y0 = std::max<int64_t>(y0, 0), x0 = std::max<int64_t>(x0, 0), y1 = std::min(y1, H), x1 = std::min(x1, W);
        double acc = type == 0 ? -1e300 : 0;
        for (int64_t a = y0; a < y1; ++a)
          for (int64_t c = x0; c < x1; ++c) {
            const double v = x[size_t((p * H + a) * W + c)];
            acc = type == 0 ? std::max(acc, v) : acc + v;
          }
        if (type == 1) acc /= double(include_pad ? padded : (y1 - y0) * (x1 - x0));
        y[size_t((p * OH + oy) * OW + ox)] = acc;
      }
  return y;
}

double add2(double a, double b) { return a + b; }
double keep(double v, double) { return v; }

std::vector<Case> all_cases() {
  std::vector<Case> c = {
      unary("relu", relu, -2, 2),
      unary("sigmoid", sigmoid, -3, 3, true),
      unary("tanh", static_cast<double (*)(double)>(std::tanh), -2, 2, true),
      unary("softsign", softsign, -3, 3),
      unary("exp", static_cast<double (*)(double)>(std::exp), -2, 2, true),
      unary("log", static_cast<double (*)(double)>(std::log), 0.5, 3, true),
      unary("log1p", static_cast<double (*)(double)>(std::log1p), -0.5, 2, true),
      unary("expm1", static_cast<double (*)(double)>(std::expm1), -2, 2, true),
      unary("sqrt", static_cast<double (*)(double)>(std::sqrt), 0.5, 4, true),
      unary("rsqrt", rsqrt, 0.5, 4, true),
      unary("square", square, -2, 2, true),
      unary("abs", static_cast<double (*)(double)>(std::fabs), -2, 2),
      unary("sign", sign, -2, 2),
      unary("negative", negative, -2, 2),  // constant derivative: no second order
      unary("reciprocal", reciprocal, 0.5, 3, true),
      unary("floor", static_cast<double (*)(double)>(std::floor), -3, 3),
      unary("ceil", static_cast<double (*)(double)>(std::ceil), -3, 3),
      unary("round", static_cast<double (*)(double)>(std::round), -3, 3),
      unary("sin", static_cast<double (*)(double)>(std::sin), -3, 3, true),
      unary("cos", static_cast<double (*)(double)>(std::cos), -3, 3, true),
      unary("erf", static_cast<double (*)(double)>(std::erf), -2, 2, true),
      binary("elemwise_add", [](double a, double b) { return a + b; }),
      binary("elemwise_sub", [](double a, double b) { return a - b; }),
      binary("elemwise_mul", [](double a, double b) { return a * b; }, -2, 2, true),
      binary("elemwise_div", [](double a, double b) { return a / b; }, 0.5, 2, true),
      scalar_op("_plus_scalar", 2.5, [](double x, double s) { return x + s; }),
      scalar_op("_minus_scalar", 2.5, [](double x, double s) { return x - s; }),
      scalar_op("_rminus_scalar", 2.5, [](double x, double s) { return s - x; }),
      scalar_op("_mul_scalar", 2.5, [](double x, double s) { return x * s; }),
      scalar_op("_div_scalar", 2.5, [](double x, double s) { return x / s; }),
      scalar_op("_rdiv_scalar", 2.5, [](double x, double s) { return s / x; }, 0.5, 2),
      scalar_op("_greater_scalar", 0.25, [](double x, double s) { return double(x > s); }),
      scalar_op("_greater_equal_scalar", 0.25, [](double x, double s) { return double(x >= s); }),
      scalar_op("_lesser_scalar", 0.25, [](double x, double s) { return double(x < s); }),
      scalar_op("_lesser_equal_scalar", 0.25, [](double x, double s) { return double(x <= s); }),
      scalar_op("_equal_scalar", 1.0, [](double x, double s) { return double(x == s); }, 0, 3),
      scalar_op("_not_equal_scalar", 1.0, [](double x, double s) { return double(x != s); }, 0, 3),
      Case{"_copy", {}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      Case{"zeros_like", {}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return Vec(in[0].size(), 0.0); }},
      Case{"ones_like", {}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return Vec(in[0].size(), 1.0); }},
      dot_case(false, false), dot_case(true, false), dot_case(false, true), dot_case(true, true),
      // broadcasting: same shape, row, column, scalar-like and rank-extending operands
      bcast("broadcast_add", {3, 4}, {1, 4}, {3, 4}, [](double a, double b) { return a + b; }),
      bcast("broadcast_sub", {3, 1}, {1, 4}, {3, 4}, [](double a, double b) { return a - b; }),
      bcast("broadcast_mul", {2, 3, 4}, {4}, {2, 3, 4}, [](double a, double b) { return a * b; }),
      bcast("broadcast_div", {2, 3}, {2, 3}, {2, 3}, [](double a, double b) { return a / b; }, 0.5, 2),
      bcast("broadcast_mod", {3, 4}, {1, 1}, {3, 4}, [](double a, double b) {
              double r = std::fmod(a, b);
              return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
            }, 0.3, 3),
      bcast("broadcast_power", {3, 4}, {3, 1}, {3, 4}, [](double a, double b) { return std::pow(a, b); }, 0.5, 2),
      bcast("broadcast_maximum", {2, 1, 3}, {4, 1}, {2, 4, 3}, [](double a, double b) { return a >= b ? a : b; }),
      bcast("broadcast_minimum", {4, 3}, {3}, {4, 3}, [](double a, double b) { return a <= b ? a : b; }),
      bcast("broadcast_equal", {3, 4}, {3, 4}, {3, 4}, [](double a, double b) { return double(a == b); }),
      bcast("broadcast_not_equal", {3, 4}, {1, 4}, {3, 4}, [](double a, double b) { return double(a != b); }),
      bcast("broadcast_greater", {3, 4}, {3, 1}, {3, 4}, [](double a, double b) { return double(a > b); }),
      bcast("broadcast_greater_equal", {3, 4}, {4}, {3, 4}, [](double a, double b) { return double(a >= b); }),
      bcast("broadcast_lesser", {2, 3}, {2, 1}, {2, 3}, [](double a, double b) { return double(a < b); }),
      bcast("broadcast_lesser_equal", {2, 3}, {1, 3}, {2, 3}, [](double a, double b) { return double(a <= b); }),
      bcast("broadcast_logical_and", {3, 4}, {3, 4}, {3, 4}, [](double a, double b) { return double(a != 0 && b != 0); }, -1, 1, false),
      bcast("broadcast_logical_or", {3, 4}, {1, 4}, {3, 4}, [](double a, double b) { return double(a != 0 || b != 0); }, -1, 1, false),
      bcast("broadcast_logical_xor", {3, 4}, {3, 1}, {3, 4}, [](double a, double b) { return double((a != 0) != (b != 0)); }, -1, 1, false),
      Case{"broadcast_like", {}, {{{1, 4}}, {{3, 4}}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (int r = 0; r < 3; ++r) y.insert(y.end(), in[0].begin(), in[0].end());
             return y;
           }},
      Case{"_sum_to_like", {}, {{{3, 4}}, {{1, 4}}}, [](const std::vector<Vec>& in) {
             Vec y(4, 0.0);
             for (size_t i = 0; i < 12; ++i) y[i % 4] += in[0][i];
             return y;
           }},
      // reductions
      reduce_case("sum", "None", {}, 0, add2, keep),
      reduce_case("sum", "(1,)", {1}, 0, add2, keep, true),
      reduce_case("sum", "(0,2)", {0, 2}, 0, add2, keep),
      reduce_case("mean", "(-1,)", {-1}, 0, add2, [](double v, double n) { return v / n; }),
      reduce_case("prod", "(1,)", {1}, 1, [](double a, double b) { return a * b; }, keep, false, 0.5, 1.5),
      reduce_case("max", "(0,)", {0}, -1e300, [](double a, double b) { return a > b ? a : b; }, keep),
      reduce_case("min", "(2,)", {2}, 1e300, [](double a, double b) { return a < b ? a : b; }, keep),
      reduce_case("nansum", "(1,2)", {1, 2}, 0, add2, keep),
      Case{"norm", {{"axis", "(1,)"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return naive_reduce(in[0], {3, 4}, {1}, 0, [](double a, double b) { return a + b * b; },
                                 [](double v, double) { return std::sqrt(v); });
           }},
      Case{"norm", {{"ord", "1"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return naive_reduce(in[0], {3, 4}, {}, 0, [](double a, double b) { return a + std::fabs(b); }, keep);
           }},
      Case{"argmax", {{"axis", "1"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             Vec y(3);
             for (int r = 0; r < 3; ++r)
               y[size_t(r)] = double(std::max_element(in[0].begin() + r * 4, in[0].begin() + r * 4 + 4) - (in[0].begin() + r * 4));
             return y;
           }, false},
      Case{"argmin", {}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return Vec{double(std::min_element(in[0].begin(), in[0].end()) - in[0].begin())};
           }, false},
      Case{"Reshape", {{"shape", "(-1,0)"}}, {{{2, 3, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      Case{"Reshape", {{"shape", "(-4,1,2,-2)"}}, {{{2, 3, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      // same-shape binary forms, scalar forms, where, clip
      binary("_mod", [](double a, double b) {
        double r = std::fmod(a, b);
        return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
      }, 0.3, 3),
      binary("_power", [](double a, double b) { return std::pow(a, b); }, 0.5, 2),
      binary("_maximum", [](double a, double b) { return a >= b ? a : b; }),
      binary("_minimum", [](double a, double b) { return a <= b ? a : b; }),
      binary("_greater", [](double a, double b) { return double(a > b); }),
      binary("_lesser_equal", [](double a, double b) { return double(a <= b); }),
      binary("_not_equal", [](double a, double b) { return double(a != b); }),
      binary("_logical_or", [](double a, double b) { return double(a != 0 || b != 0); }),
      // comparisons and logical ops on small integers, so that ties and zeros occur (on random
      // reals `==` is never true and logical ops never see a 0); ordered comparisons jump at
      // ties, where finite differences lie, hence no gradient check for them
      int_binary("_equal", [](double a, double b) { return double(a == b); }, true),
      int_binary("_greater_equal", [](double a, double b) { return double(a >= b); }, false),
      int_binary("_lesser", [](double a, double b) { return double(a < b); }, false),
      int_binary("_logical_and", [](double a, double b) { return double(a != 0 && b != 0); }, true),
      int_binary("_logical_xor", [](double a, double b) { return double((a != 0) != (b != 0)); }, true),
      int_binary("_logical_or", [](double a, double b) { return double(a != 0 || b != 0); }, true),
      int_scalar("_logical_or_scalar", 0, [](double x, double s) { return double(x != 0 || s != 0); }),
      int_scalar("_logical_xor_scalar", 1, [](double x, double s) { return double((x != 0) != (s != 0)); }),
      int_scalar("_logical_and_scalar", 1, [](double x, double s) { return double(x != 0 && s != 0); }),
      Case{"_cast_like", {}, {{{3, 4}}, {{2, 2}}}, [](const std::vector<Vec>& in) { return in[0]; }, true, false, {1}},
      scalar_op("_mod_scalar", 0.75, [](double x, double s) {
        double r = std::fmod(x, s);
        return r != 0 && ((r < 0) != (s < 0)) ? r + s : r;
      }),
      scalar_op("_rmod_scalar", 2.5, [](double x, double s) {
        double r = std::fmod(s, x);
        return r != 0 && ((r < 0) != (x < 0)) ? r + x : r;
      }, 0.6, 2),
      scalar_op("_power_scalar", 2.5, [](double x, double s) { return std::pow(x, s); }, 0.5, 2),
      scalar_op("_rpower_scalar", 2.5, [](double x, double s) { return std::pow(s, x); }),
      scalar_op("_maximum_scalar", 0.25, [](double x, double s) { return x >= s ? x : s; }),
      scalar_op("_minimum_scalar", 0.25, [](double x, double s) { return x <= s ? x : s; }),
      scalar_op("_logical_and_scalar", 1.0, [](double x, double s) { return double(x != 0 && s != 0); }),
      Case{"where", {}, {{{3, 4}, 0, 2, true}, {{3, 4}}, {{3, 4}}}, [](const std::vector<Vec>& in) {
             Vec y(12);
             for (size_t i = 0; i < 12; ++i) y[i] = in[0][i] != 0 ? in[1][i] : in[2][i];
             return y;
           }},
      Case{"clip", {{"a_min", "-0.5"}, {"a_max", "0.75"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return map1(in[0], [](double x) { return std::min(0.75, std::max(-0.5, x)); });
           }},
      // shape and indexing
      Case{"Cast", {{"dtype", "float64"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      Case{"BlockGrad", {}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }, false},
      Case{"add_n", {{"num_args", "3"}}, {{{2, 3}}, {{2, 3}}, {{2, 3}}}, [](const std::vector<Vec>& in) {
             Vec y(6);
             for (size_t i = 0; i < 6; ++i) y[i] = in[0][i] + in[1][i] + in[2][i];
             return y;
           }},
      Case{"squeeze", {{"axis", "(1,)"}}, {{{3, 1, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      Case{"Concat", {{"num_args", "2"}, {"dim", "1"}}, {{{2, 3}}, {{2, 2}}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (int r = 0; r < 2; ++r) {
               y.insert(y.end(), in[0].begin() + r * 3, in[0].begin() + r * 3 + 3);
               y.insert(y.end(), in[1].begin() + r * 2, in[1].begin() + r * 2 + 2);
             }
             return y;
           }},
      Case{"slice_axis", {{"axis", "1"}, {"begin", "1"}, {"end", "-1"}}, {{{2, 5, 2}}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (int r = 0; r < 2; ++r) y.insert(y.end(), in[0].begin() + r * 10 + 2, in[0].begin() + r * 10 + 8);
             return y;
           }},
      Case{"stack", {{"num_args", "2"}, {"axis", "1"}}, {{{2, 3}}, {{2, 3}}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (int r = 0; r < 2; ++r)
               for (int k = 0; k < 2; ++k) y.insert(y.end(), in[size_t(k)].begin() + r * 3, in[size_t(k)].begin() + r * 3 + 3);
             return y;
           }},
      Case{"one_hot", {{"depth", "4"}, {"on_value", "2"}, {"off_value", "-1"}}, {{{5}, 0, 4, true}},
           [](const std::vector<Vec>& in) {
             Vec y;
             for (double k : in[0])
               for (int j = 0; j < 4; ++j) y.push_back(int(k) == j ? 2.0 : -1.0);
             return y;
           }, false},
      Case{"take", {{"axis", "1"}}, {{{2, 4, 3}}, {{5}, -2, 6, true}}, [](const std::vector<Vec>& in) {
             Vec y;  // clip mode
             for (int o = 0; o < 2; ++o)
               for (double v : in[1]) {
                 const int k = std::min(3, std::max(0, int(v)));
                 y.insert(y.end(), in[0].begin() + (o * 4 + k) * 3, in[0].begin() + (o * 4 + k) * 3 + 3);
               }
             return y;
           }, true, false, {1}},
      Case{"take", {{"mode", "wrap"}}, {{{4, 2}}, {{3}, -5, 9, true}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (double v : in[1]) {
               const int k = ((int(v) % 4) + 4) % 4;
               y.insert(y.end(), in[0].begin() + k * 2, in[0].begin() + k * 2 + 2);
             }
             return y;
           }, true, false, {1}},
      Case{"Embedding", {{"input_dim", "5"}, {"output_dim", "3"}}, {{{2, 3}, 0, 5, true}, {{5, 3}}},
           [](const std::vector<Vec>& in) {
             Vec y;
             for (double v : in[0]) y.insert(y.end(), in[1].begin() + int(v) * 3, in[1].begin() + int(v) * 3 + 3);
             return y;
           }, true, false, {0}},
      Case{"tile", {{"reps", "(2,1,3)"}}, {{{2, 3}}}, [](const std::vector<Vec>& in) {
             Vec y;  // out (2, 2, 9): rank-aligned reps
             for (int a = 0; a < 2; ++a)
               for (int i = 0; i < 2; ++i)
                 for (int j = 0; j < 9; ++j) y.push_back(in[0][size_t(i * 3 + j % 3)]);
             return y;
           }},
      Case{"repeat", {{"repeats", "2"}, {"axis", "1"}}, {{{2, 3}}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (int i = 0; i < 2; ++i)
               for (int j = 0; j < 3; ++j)
                 for (int r = 0; r < 2; ++r) y.push_back(in[0][size_t(i * 3 + j)]);
             return y;
           }},
      Case{"repeat", {{"repeats", "3"}}, {{{2, 2}}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (double v : in[0])
               for (int r = 0; r < 3; ++r) y.push_back(v);
             return y;
           }},
      Case{"pick", {}, {{{3, 4}}, {{3}, -1, 5, true}}, [](const std::vector<Vec>& in) {
             Vec y;
             for (int r = 0; r < 3; ++r) y.push_back(in[0][size_t(r * 4 + std::min(3, std::max(0, int(in[1][size_t(r)]))))]);
             return y;
           }, true, false, {1}},
      Case{"pick", {{"axis", "0"}, {"keepdims", "True"}, {"mode", "wrap"}}, {{{3, 2}}, {{2}, -3, 6, true}},
           [](const std::vector<Vec>& in) {
             Vec y;
             for (int c = 0; c < 2; ++c) y.push_back(in[0][size_t((((int(in[1][size_t(c)]) % 3) + 3) % 3) * 2 + c)]);
             return y;
           }, true, false, {1}},
      Case{"batch_dot", {{"transpose_b", "True"}}, {{{2, 3, 4}}, {{2, 5, 4}}}, [](const std::vector<Vec>& in) {
             Vec y(30, 0.0);
             for (int b = 0; b < 2; ++b)
               for (int i = 0; i < 3; ++i)
                 for (int j = 0; j < 5; ++j)
                   for (int k = 0; k < 4; ++k) y[size_t((b * 3 + i) * 5 + j)] += in[0][size_t((b * 3 + i) * 4 + k)] * in[1][size_t((b * 5 + j) * 4 + k)];
             return y;
           }, true, true},
      Case{"batch_dot", {{"transpose_a", "True"}}, {{{2, 4, 3}}, {{2, 4, 2}}}, [](const std::vector<Vec>& in) {
             Vec y(12, 0.0);
             for (int b = 0; b < 2; ++b)
               for (int i = 0; i < 3; ++i)
                 for (int j = 0; j < 2; ++j)
                   for (int k = 0; k < 4; ++k) y[size_t((b * 3 + i) * 2 + j)] += in[0][size_t((b * 4 + k) * 3 + i)] * in[1][size_t((b * 4 + k) * 2 + j)];
             return y;
           }},
      // neural-network ops
      Case{"FullyConnected", {{"num_hidden", "3"}}, {{{4, 2, 3}}, {{3, 6}}, {{3}}}, [](const std::vector<Vec>& in) {
             return naive_fc(in[0], in[1], &in[2], 4, 6, 3);
           }, true, true},
      Case{"FullyConnected", {{"num_hidden", "2"}, {"no_bias", "True"}, {"flatten", "False"}}, {{{2, 3, 4}}, {{2, 4}}},
           [](const std::vector<Vec>& in) { return naive_fc(in[0], in[1], nullptr, 6, 4, 2); }},
      Case{"Activation", {{"act_type", "relu"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return map1(in[0], relu); }},
      Case{"Activation", {{"act_type", "sigmoid"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return map1(in[0], sigmoid); }, true, true},
      Case{"Activation", {{"act_type", "tanh"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return map1(in[0], static_cast<double (*)(double)>(std::tanh)); }, true, true},
      Case{"Activation", {{"act_type", "softrelu"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return map1(in[0], [](double x) { return std::log1p(std::exp(x)); }); }, true, true},
      Case{"Activation", {{"act_type", "softsign"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return map1(in[0], softsign); }},
      Case{"LeakyReLU", {{"slope", "0.1"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return map1(in[0], [](double x) { return x > 0 ? x : 0.1 * x; }); }},
      Case{"LeakyReLU", {{"act_type", "elu"}, {"slope", "0.7"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return map1(in[0], [](double x) { return x > 0 ? x : 0.7 * (std::exp(x) - 1); }); }},
      Case{"LeakyReLU", {{"act_type", "selu"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return map1(in[0], [](double x) { return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1)); }); }},
      Case{"LeakyReLU", {{"act_type", "gelu"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return map1(in[0], [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }); }, true, true},
      Case{"LeakyReLU", {{"act_type", "prelu"}}, {{{2, 3, 4}}, {{3}, 0.1, 0.5}}, [](const std::vector<Vec>& in) {
             Vec y(24);
             for (size_t i = 0; i < 24; ++i) {
               const double x = in[0][i], g = in[1][(i / 4) % 3];
               y[i] = x > 0 ? x : g * x;
             }
             return y;
           }},
      Case{"LayerNorm", {}, {{{3, 5}}, {{5}, 0.5, 1.5}, {{5}}}, [](const std::vector<Vec>& in) {
             Vec y(15);
             for (int r = 0; r < 3; ++r) {
               double mu = 0, v = 0;
               for (int j = 0; j < 5; ++j) mu += in[0][size_t(r * 5 + j)] / 5;
               for (int j = 0; j < 5; ++j) v += std::pow(in[0][size_t(r * 5 + j)] - mu, 2) / 5;
               for (int j = 0; j < 5; ++j)
                 y[size_t(r * 5 + j)] = (in[0][size_t(r * 5 + j)] - mu) / std::sqrt(v + 1e-5) * in[1][size_t(j)] + in[2][size_t(j)];
             }
             return y;
           }},
      Case{"LayerNorm", {{"axis", "1"}, {"eps", "0.01"}}, {{{2, 3, 2}}, {{3}, 0.5, 1.5}, {{3}}}, [](const std::vector<Vec>& in) {
             Vec y(12);
             for (int o = 0; o < 2; ++o)
               for (int i = 0; i < 2; ++i) {
                 double mu = 0, v = 0;
                 for (int j = 0; j < 3; ++j) mu += in[0][size_t((o * 3 + j) * 2 + i)] / 3;
                 for (int j = 0; j < 3; ++j) v += std::pow(in[0][size_t((o * 3 + j) * 2 + i)] - mu, 2) / 3;
                 for (int j = 0; j < 3; ++j) {
                   const size_t k = size_t((o * 3 + j) * 2 + i);
                   y[k] = (in[0][k] - mu) / std::sqrt(v + 0.01) * in[1][size_t(j)] + in[2][size_t(j)];
                 }
               }
             return y;
           }},
      Case{"softmax_cross_entropy", {}, {{{4, 3}}, {{4}, 0, 3, true}}, [](const std::vector<Vec>& in) {
             double total = 0;
             const Vec p = naive_softmax(in[0], 4, 3, 1, 1, false);
             for (int r = 0; r < 4; ++r) total -= std::log(p[size_t(r * 3 + int(in[1][size_t(r)]))]);
             return Vec{total};
           }, true, false, {1}},
      Case{"softmax", {}, {{{3, 5}}}, [](const std::vector<Vec>& in) { return naive_softmax(in[0], 3, 5, 1, 1, false); }, true, true},
      Case{"softmax", {{"axis", "0"}, {"temperature", "2.5"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) {
             return naive_softmax(in[0], 1, 3, 4, 2.5, false); }},
      Case{"log_softmax", {{"axis", "1"}}, {{{2, 3, 4}}}, [](const std::vector<Vec>& in) {
             return naive_softmax(in[0], 2, 3, 4, 1, true); }, true, true},
      Case{"SoftmaxOutput", {}, {{{4, 5}}, {{4}, 0, 5, true}}, [](const std::vector<Vec>& in) {
             return naive_softmax(in[0], 4, 5, 1, 1, false); }, false},
      Case{"Flatten", {}, {{{2, 3, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      Case{"expand_dims", {{"axis", "-1"}}, {{{2, 3}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      Case{"transpose", {{"axes", "(1,2,0)"}}, {{{2, 3, 4}}}, [](const std::vector<Vec>& in) {
             Vec y(24);  // out[j][k][i] = in[i][j][k], out shape (3,4,2)
             for (int i = 0; i < 2; ++i)
               for (int j = 0; j < 3; ++j)
                 for (int k = 0; k < 4; ++k) y[size_t((j * 4 + k) * 2 + i)] = in[0][size_t((i * 3 + j) * 4 + k)];
             return y;
           }},
      // convolution: 2-d with stride and padding, 2-d dilated with groups and no bias, 1-d
      Case{"Convolution", {{"kernel", "(3,3)"}, {"num_filter", "4"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}},
           {{{2, 3, 6, 5}}, {{4, 3, 3, 3}}, {{4}}}, [](const std::vector<Vec>& in) {
             return naive_conv(in[0], in[1], &in[2], 2, 3, 6, 5, 4, 3, 3, 2, 1, 1, 1, 3, 3, false);
           }},
      Case{"Convolution", {{"kernel", "(2,2)"}, {"num_filter", "4"}, {"dilate", "(2,2)"}, {"num_group", "2"}, {"no_bias", "True"}},
           {{{1, 4, 5, 5}}, {{4, 2, 2, 2}}}, [](const std::vector<Vec>& in) {
             return naive_conv(in[0], in[1], nullptr, 1, 4, 5, 5, 4, 2, 2, 1, 0, 2, 2, 3, 3, false);
           }},
      Case{"Convolution", {{"kernel", "(3,)"}, {"num_filter", "2"}, {"pad", "(1,)"}},
           {{{2, 3, 7}}, {{2, 3, 3}}, {{2}}}, [](const std::vector<Vec>& in) {
             return naive_conv(in[0], in[1], &in[2], 2, 3, 1, 7, 2, 1, 3, 1, 1, 1, 1, 1, 7, true);
           }},
      // pooling
      Case{"Pooling", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}, {"pool_type", "max"}}, {{{2, 2, 4, 6}}},
           [](const std::vector<Vec>& in) { return naive_pool(in[0], 4, 4, 6, 2, 2, 0, 2, 3, 0, true, 2); }},
      Case{"Pooling", {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"pool_type", "avg"}}, {{{1, 2, 5, 5}}},
           [](const std::vector<Vec>& in) { return naive_pool(in[0], 2, 5, 5, 3, 2, 1, 3, 3, 1, true, 3); }},
      Case{"Pooling", {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"pool_type", "avg"}, {"count_include_pad", "False"}},
           {{{1, 2, 5, 5}}}, [](const std::vector<Vec>& in) { return naive_pool(in[0], 2, 5, 5, 3, 2, 1, 3, 3, 1, false, 3); }},
      Case{"Pooling", {{"kernel", "(2,2)"}, {"stride", "(2,2)"}, {"pool_type", "sum"}, {"pooling_convention", "full"}},
           {{{1, 1, 5, 5}}}, [](const std::vector<Vec>& in) { return naive_pool(in[0], 1, 5, 5, 2, 2, 0, 3, 3, 2, true, 2); }},
      Case{"Pooling", {{"global_pool", "True"}, {"pool_type", "avg"}}, {{{2, 3, 4, 4}}},
           [](const std::vector<Vec>& in) { return naive_pool(in[0], 6, 4, 4, 4, 1, 0, 1, 1, 1, true, 4); }},
      Case{"Pooling", {{"kernel", "(3,)"}, {"stride", "(2,)"}, {"pool_type", "max"}}, {{{2, 2, 9}}},
           [](const std::vector<Vec>& in) { return naive_pool(in[0], 4, 1, 9, 3, 2, 0, 1, 4, 0, true, 1); }},
      Case{"transpose", {}, {{{3, 5}}}, [](const std::vector<Vec>& in) {
             Vec y(15);
             for (int i = 0; i < 3; ++i)
               for (int j = 0; j < 5; ++j) y[size_t(j * 3 + i)] = in[0][size_t(i * 5 + j)];
             return y;
           }},
  };
  for (auto* family : {slicing_cases, sorting_cases, deconv_cases, conv3d_cases, conv_fast_path_cases, dot_cases})
    for (Case& k : family()) c.push_back(std::move(k));
  for (const Family& f : all_families())
    for (const Case& k : f.cases) c.push_back(k);
  return c;
}

}  // namespace

const std::vector<Family>& conformance::all_families() {
  static const std::vector<Family> families = {math_family(),   axes_family(),    layers_family(), vision_family(),
                                               rnn_family(),    contrib_family(), random_family(), linalg_family(),
                                               multi_update_family(), activation_family()};
  return families;
}

namespace {

// ---------------------------------------------------------------- backends under test

struct Backend {
  std::string name;
  int32_t device_type;
  bool kernels_only;        // runs on another plugin's memory (the oneDNN plugin on the CPU's)
  int32_t kernel_priority;  // as loaded (declared, or MX_BACKEND_PRIORITY's)
};

std::vector<Backend> usable_backends() {
  std::vector<Backend> out;
  int32_t n = 0;
  EXPECT_MX_OK(mx_backend_count(&n));
  for (int32_t i = 0; i < n; ++i) {
    mx_backend_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    EXPECT_MX_OK(mx_backend_get_info(i, &info));
    if (info.failed_step == MX_BACKEND_OK && (info.device_type == MX_DEVICE_CPU || info.device_type == MX_DEVICE_GPU))
      out.push_back({info.name, info.device_type, info.kernels_only != 0, info.kernel_priority});
  }
  return out;
}

// Several plugins may serve one device type (the built-in CPU backend and a kernel-only one): while
// this lives, `b` outranks them all, so each op it has a kernel for runs on it (unless its create()
// hands the call back, e.g. for a dtype it does not serve); its own priority comes back after.
class ForcedFirst {
 public:
  explicit ForcedFirst(const Backend& b) : b_(b) { EXPECT_MX_OK(mx_backend_set_priority(b.name.c_str(), 1 << 30)); }
  ~ForcedFirst() { EXPECT_MX_OK(mx_backend_set_priority(b_.name.c_str(), b_.kernel_priority)); }
  ForcedFirst(const ForcedFirst&) = delete;
  ForcedFirst& operator=(const ForcedFirst&) = delete;

 private:
  const Backend& b_;
};

// The canonical name of an op or alias ("" if there is no such op).
std::string canonical(const std::string& op) {
  mx_op_info info;
  std::memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (mx_op_get_info(op.c_str(), &info) != 0) return "";
  return info.name;
}

bool has_kernel(const std::string& op, const std::string& backend) {
  mx_op_info info;
  std::memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  EXPECT_MX_OK(mx_op_get_info(op.c_str(), &info));
  for (uint32_t i = 0; i < info.num_backends; ++i)
    if (backend == info.backends[i]) return true;
  return false;
}

// ---------------------------------------------------------------- helpers over the C API

Arr make(const Shape& s, const Vec& v, int32_t dtype, int32_t dev) {
  Arr a(s, dtype, dev);
  if (dtype == MX_FLOAT64) a.set(v);
  else a.set(std::vector<float>(v.begin(), v.end()));
  return a;
}

Arr cast(const Arr& a, int32_t dtype) {
  const char* k[] = {"dtype"};
  const char* name = nullptr;
  EXPECT_MX_OK(mx_dtype_name(dtype, &name));
  const char* v[] = {name};
  return mx::test::invoke1("Cast", {a.get()}, 1, k, v);
}

// Values of `a` as float64, whatever its dtype (float32 / float64); `dtype` is only a hint that
// the harness's callers keep for readability.
Vec read(const Arr& a, int32_t /*dtype*/) {
  int32_t dtype = 0;
  EXPECT_MX_OK(mx_ndarray_get_dtype(a.get(), &dtype));
  Arr host;
  int32_t dt = 0, id = 0;
  EXPECT_MX_OK(mx_ndarray_get_device(a.get(), &dt, &id));
  const Arr* src = &a;
  if (dt != MX_DEVICE_CPU) {
    host = Arr(a.shape(), dtype);
    EXPECT_MX_OK(mx_ndarray_copy_to(a.get(), host.get()));
    src = &host;
  }
  auto widen = [](const auto& v) { return Vec(v.begin(), v.end()); };
  if (dtype == MX_FLOAT16 || dtype == MX_BFLOAT16) return read(cast(*src, MX_FLOAT32), MX_FLOAT32);
  switch (dtype) {
    case MX_INT8: return widen(src->to_vector<int8_t>());
    case MX_FLOAT64: return src->to_vector<double>();
    case MX_INT32: return widen(src->to_vector<int32_t>());
    case MX_INT64: return widen(src->to_vector<int64_t>());
    case MX_UINT8: return widen(src->to_vector<uint8_t>());
    default: return widen(src->to_vector<float>());
  }
}

Arr run(const Case& c, const std::vector<mx_ndarray_t>& in) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : c.attrs) {
    k.push_back(key.c_str());
    v.push_back(val.c_str());
  }
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  int rc = mx_imperative_invoke(c.op.c_str(), int32_t(in.size()), in.data(), &nout, &outs, int32_t(k.size()),
                                k.data(), v.data());
  EXPECT_EQ(rc, 0) << c.label() << ": " << mx_get_last_error();
  if (rc != 0) return Arr();
  EXPECT_LT(c.output, size_t(nout)) << c.label();
  Arr picked;
  for (int32_t i = 0; i < nout; ++i) {
    Arr o(outs[i]);  // frees the outputs not checked
    if (size_t(i) == c.output) picked = std::move(o);
  }
  return picked;
}

std::vector<Vec> random_inputs(const Case& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Vec> xs;
  for (const InputSpec& s : c.inputs) {
    int64_t n = 1;
    for (int64_t d : s.shape) n *= d;
    std::uniform_real_distribution<double> u(s.lo, s.hi);
    if (!s.values.empty()) {
      EXPECT_EQ(int64_t(s.values.size()), n) << c.label() << ": fixed input values do not fill the shape";
      xs.push_back(s.values);
      continue;
    }
    Vec x(static_cast<size_t>(n));
    for (double& e : x) {
      e = u(rng);
      if (s.integers) {
        e = std::floor(e);
        continue;
      }
      // Keep away from kinks and jumps (relu, abs, floor, comparisons) where differences lie.
      if (std::fabs(e - std::round(e)) < 1e-3) e += 0.01;
      if (std::fabs(e - std::round(e * 2) / 2) < 1e-3) e += 0.01;
    }
    xs.push_back(std::move(x));
  }
  return xs;
}

// sum(w * op(x)) evaluated without recording.
double loss(const Case& c, const std::vector<Vec>& xs, const Vec& w, int32_t dev) {
  std::vector<Arr> arrs;
  std::vector<mx_ndarray_t> h;
  for (size_t i = 0; i < xs.size(); ++i) {
    arrs.push_back(make(c.inputs[i].shape, xs[i], MX_FLOAT64, dev));
    h.push_back(arrs.back().get());
  }
  Vec y = read(run(c, h), MX_FLOAT64);
  double l = 0;
  for (size_t i = 0; i < y.size(); ++i) l += w[i] * y[i];
  return l;
}

// Autograd gradient of sum(w * op(x)) with respect to every input (optionally keeping the graph).
std::vector<Vec> autograd_grads(const Case& c, const std::vector<Vec>& xs, const Vec& w, int32_t dev) {
  std::vector<Arr> vars, grads;
  std::vector<mx_ndarray_t> hv, hg;
  std::vector<int32_t> reqs;
  for (size_t i = 0; i < xs.size(); ++i) {
    vars.push_back(make(c.inputs[i].shape, xs[i], MX_FLOAT64, dev));
    grads.push_back(make(c.inputs[i].shape, Vec(xs[i].size(), -7.0), MX_FLOAT64, dev));
    hv.push_back(vars.back().get());
    hg.push_back(grads.back().get());
    reqs.push_back(MX_GRAD_WRITE);
  }
  EXPECT_MX_OK(mx_autograd_mark_variables(uint32_t(hv.size()), hv.data(), reqs.data(), hg.data()));
  int32_t prev = 0;
  EXPECT_MX_OK(mx_autograd_set_recording(1, &prev));
  Arr y = run(c, hv);
  EXPECT_MX_OK(mx_autograd_set_recording(prev, nullptr));
  Arr head = make(y.shape(), w, MX_FLOAT64, dev);
  mx_ndarray_t heads[] = {y.get()}, head_grads[] = {head.get()};
  EXPECT_MX_OK(mx_autograd_backward(1, heads, head_grads, 0, 0, 1));
  std::vector<Vec> out;
  for (auto& g : grads) out.push_back(read(g, MX_FLOAT64));
  return out;
}

void expect_close(const Vec& got, const Vec& want, double rtol, double atol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) continue;
    ASSERT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << what << " at element " << i;
  }
}

class Conformance : public ::testing::TestWithParam<Case> {};

TEST_P(Conformance, ForwardAndGradientOnEveryBackend) {
  const Case& c = GetParam();
  int tested = 0;
  for (const Backend& b : usable_backends()) {
    if (!has_kernel(c.op, b.name)) {
      if (b.kernels_only) continue;  // serves some ops by design; the owner of the device runs the rest
      const auto lists = known_missing_kernels();
      const auto it = lists.find(b.name);
      const bool listed = it != lists.end() && it->second.count(canonical(c.op));
      if (listed) std::printf("[ known  ] %s: no kernel on backend %s (listed in missing_kernels.h)\n", c.op.c_str(), b.name.c_str());
      else ADD_FAILURE() << c.op << ": no kernel on backend " << b.name << ", and the op is not on its list in missing_kernels.h";
      continue;
    }
    ++tested;
    const std::string where = c.label() + " on " + b.name;
    const ForcedFirst forced(b);
    const char* serving = nullptr;
    ASSERT_MX_OK(mx_op_get_backend(c.op.c_str(), b.device_type, &serving));
    ASSERT_STREQ(serving, b.name.c_str()) << where << ": forced first, yet another plugin serves the op";
    const auto xs = random_inputs(c, 17);
    const Vec ref = c.ref(xs);
    for (int32_t dtype : {MX_FLOAT32, MX_FLOAT64}) {
      std::vector<Arr> arrs;
      std::vector<mx_ndarray_t> h;
      for (size_t i = 0; i < xs.size(); ++i) {
        arrs.push_back(make(c.inputs[i].shape, xs[i], dtype, b.device_type));
        h.push_back(arrs.back().get());
      }
      // Reference from the values the op actually sees (float32 rounding of the inputs).
      std::vector<Vec> seen;
      for (auto& a : arrs) seen.push_back(read(a, dtype));
      const Vec want = dtype == MX_FLOAT64 ? ref : c.ref(seen);
      expect_close(read(run(c, h), dtype), want, dtype == MX_FLOAT64 ? 1e-12 : 2e-6, dtype == MX_FLOAT64 ? 1e-12 : 2e-6,
                   where + (dtype == MX_FLOAT64 ? " float64 forward" : " float32 forward"));
    }
    // 16-bit floats, computed in float32 (natively or by the core's promotion): against the
    // reference on the values the op sees, within a few units in the last place of the output.
    for (int32_t dtype : {MX_FLOAT16, MX_BFLOAT16}) {
      if (!c.half) break;
      std::vector<Arr> arrs;
      std::vector<mx_ndarray_t> h;
      std::vector<Vec> seen;
      for (size_t i = 0; i < xs.size(); ++i) {
        arrs.push_back(cast(make(c.inputs[i].shape, xs[i], MX_FLOAT32, b.device_type), dtype));
        h.push_back(arrs.back().get());
        seen.push_back(read(arrs.back(), dtype));
      }
      const Vec want = c.ref(seen);
      double scale = 0;
      for (double v : want) scale = std::max(scale, std::fabs(v));
      const double rtol = dtype == MX_FLOAT16 ? 2e-3 : 1.6e-2;
      expect_close(read(run(c, h), dtype), want, rtol, 0.1 * rtol * scale + 1e-6,
                   where + (dtype == MX_FLOAT16 ? " float16 forward" : " bfloat16 forward"));
    }
    if (!c.grad) continue;
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(-1, 1);
    Vec w(ref.size());
    for (double& e : w) e = u(rng);
    const auto grads = autograd_grads(c, xs, w, b.device_type);
    const double eps = 1e-6;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (std::find(c.no_fd.begin(), c.no_fd.end(), i) != c.no_fd.end()) continue;
      Vec fd(xs[i].size());
      for (size_t j = 0; j < xs[i].size(); ++j) {
        auto plus = xs, minus = xs;
        plus[i][j] += eps;
        minus[i][j] -= eps;
        fd[j] = (loss(c, plus, w, b.device_type) - loss(c, minus, w, b.device_type)) / (2 * eps);
      }
      expect_close(grads[i], fd, 1e-6, 1e-7, where + " gradient of input " + std::to_string(i));
    }
    if (!c.grad2) continue;
    // d/dx sum(v * dL/dx) against finite differences of the autograd gradient itself.
    Vec v(xs[0].size());
    for (double& e : v) e = u(rng);
    auto first = [&](const std::vector<Vec>& x) { return autograd_grads(c, x, w, b.device_type)[0]; };
    std::vector<Arr> vars, gbuf;
    std::vector<mx_ndarray_t> hv, hg;
    std::vector<int32_t> reqs;
    for (size_t i = 0; i < xs.size(); ++i) {
      vars.push_back(make(c.inputs[i].shape, xs[i], MX_FLOAT64, b.device_type));
      gbuf.push_back(make(c.inputs[i].shape, Vec(xs[i].size(), 0.0), MX_FLOAT64, b.device_type));
      hv.push_back(vars.back().get());
      hg.push_back(gbuf.back().get());
      reqs.push_back(MX_GRAD_WRITE);
    }
    ASSERT_MX_OK(mx_autograd_mark_variables(uint32_t(hv.size()), hv.data(), reqs.data(), hg.data()));
    ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
    Arr y = run(c, hv);
    Arr head = make(y.shape(), w, MX_FLOAT64, b.device_type);
    mx_ndarray_t heads[] = {y.get()}, head_grads[] = {head.get()};
    mx_ndarray_t* g = nullptr;
    ASSERT_MX_OK(mx_autograd_grad(1, heads, head_grads, 1, hv.data(), 1, 1, 1, &g));
    Arr g0(g[0]);
    ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
    Arr vh = make(c.inputs[0].shape, v, MX_FLOAT64, b.device_type);
    mx_ndarray_t gh[] = {g0.get()}, vgh[] = {vh.get()};
    ASSERT_MX_OK(mx_autograd_backward(1, gh, vgh, 0, 0, 1));
    const Vec second = read(gbuf[0], MX_FLOAT64);
    Vec fd2(xs[0].size());
    for (size_t j = 0; j < xs[0].size(); ++j) {
      auto plus = xs, minus = xs;
      plus[0][j] += eps;
      minus[0][j] -= eps;
      const Vec gp = first(plus), gm = first(minus);
      double s = 0;
      for (size_t k = 0; k < v.size(); ++k) s += v[k] * (gp[k] - gm[k]) / (2 * eps);
      fd2[j] = s;
    }
    expect_close(second, fd2, 1e-5, 1e-6, where + " second-order gradient");
  }
  EXPECT_GT(tested, 0) << c.op << " has a kernel on no loaded backend";
}

INSTANTIATE_TEST_SUITE_P(Ops, Conformance, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.op + "_" + std::to_string(info.index);
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// ---------------------------------------------------------------- coverage of the schemas

// Entries of the coverage tables for the ops of this file (Dedicated, GradientOf: harness.h).
const Dedicated kDedicated[] = {
    {"BatchNorm", "conformance/conformance_test.cc:BatchNorm.TrainingStatisticsMovingUpdateInferenceAndGradients"},
    {"Dropout", "conformance/conformance_test.cc:Dropout.FollowsTheTrainingFlagAndPhiloxAndBackpropagatesThroughItsMask"},
    {"sgd_update", "conformance/conformance_test.cc:Optimizers.UpdatesMatchTheirFormulasAndMutateState"},
    {"sgd_mom_update", "conformance/conformance_test.cc:Optimizers.UpdatesMatchTheirFormulasAndMutateState"},
    {"adam_update", "conformance/conformance_test.cc:Optimizers.UpdatesMatchTheirFormulasAndMutateState"},
    {"rmsprop_update", "conformance/conformance_test.cc:Optimizers.UpdatesMatchTheirFormulasAndMutateState"},
    {"_zeros", "unit/ndarray_test.cc:Ops.FillOps"},
    {"_ones", "unit/ndarray_test.cc:Ops.FillOps"},
    {"_full", "unit/ndarray_test.cc:Ops.FillOps"},
    {"_random_uniform", "unit/resource_test.cc:Random.MatchesPhiloxReferenceAndDistribution"},
    {"_random_normal", "unit/resource_test.cc:Random.MatchesPhiloxReferenceAndDistribution"},
};

const GradientOf kGradientOnly[] = {
    {"_conv_backward_data", "Convolution", nullptr},
    {"_conv_backward_weight", "Convolution", nullptr},
    {"_pooling_backward", "Pooling", nullptr},
    {"_slice_backward", "slice", nullptr},
    {"_slice_axis_grad", "slice_axis", nullptr},
    {"_take_grad", "take", nullptr},
    {"_pick_grad", "pick", nullptr},
    {"_backward_gather_nd", "gather_nd", nullptr},
    {"_topk_backward", "topk", nullptr},
    {"_softmax_output_grad", "SoftmaxOutput", "conformance/conformance_test.cc:SoftmaxOutput.GradientIsSoftmaxMinusOneHotScaled"},
};

// The source text of TEST(Suite, Name) (or TEST_F / TEST_P) in tests/<file>, up to the next
// top-level test; "" if the file or the test is not there.
std::string test_body(const std::string& file, const std::string& suite, const std::string& name) {
  // __FILE__ is absolute, or relative to the build tree's root, which holds bin/<this test>.
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path here = fs::path(__FILE__).is_absolute()
                            ? fs::path(__FILE__)
                            : fs::canonical("/proc/self/exe", ec).parent_path().parent_path() / __FILE__;
  std::ifstream in(here.parent_path().parent_path() / file);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  for (const char* macro : {"TEST(", "TEST_F(", "TEST_P("}) {
    const size_t at = text.find(std::string(macro) + suite + ", " + name + ")");
    if (at == std::string::npos) continue;
    const size_t next = text.find("\nTEST", at + 1);
    return text.substr(at, next == std::string::npos ? std::string::npos : next - at);
  }
  return "";
}

TEST(Coverage, EveryLoadedBackendHasTheCpuKernelsOrListsTheMissingOnes) {
  for (const Backend& b : usable_backends()) {
    if (b.name == "cpu") continue;  // the reference
    if (b.kernels_only) {  // accelerates some ops by design: no coverage rule, the count is reported
      size_t cases = 0, total = 0;
      for (const Case& c : all_cases()) ++total, cases += has_kernel(c.op, b.name);
      std::printf("[ known  ] backend %s (kernels only, priority %d): %zu op(s) with kernels, %zu of %zu conformance "
                  "cases run on it\n", b.name.c_str(), b.kernel_priority, ops_with_kernel(b.name).size(), cases, total);
      continue;
    }
    const KernelGap gap = kernel_gap(b.name);
    std::printf("[ known  ] backend %s: %zu kernel(s) of the CPU backend missing and listed in missing_kernels.h: %s\n",
                b.name.c_str(), gap.listed.size(), join(gap.listed).c_str());
    EXPECT_TRUE(gap.unlisted.empty()) << "backend " << b.name << " lacks kernels the CPU backend has, not on its list in "
                                      << "missing_kernels.h: " << join(gap.unlisted);
    EXPECT_TRUE(gap.stale.empty()) << "backend " << b.name << " has kernels for ops on its list in missing_kernels.h "
                                   << "(remove them from the list): " << join(gap.stale);
  }
}

TEST(Coverage, EverySchemaHasACaseOrANamedDedicatedTest) {
  uint32_t n = 0;
  const char** names = nullptr;
  ASSERT_MX_OK(mx_op_list(&n, &names));
  std::map<std::string, std::vector<std::string>> aliases;  // canonical -> every listed name
  for (uint32_t i = 0; i < n; ++i) aliases[canonical(names[i])].push_back(names[i]);

  std::set<std::string> with_case, with_gradient_check;
  for (const Case& c : all_cases()) {
    with_case.insert(canonical(c.op));
    if (c.grad) with_gradient_check.insert(canonical(c.op));
  }
  std::set<std::string> covered;
  std::string untested, bad_entries;
  // "" if `test` exists and names `op` (or one of its aliases), else what is wrong.
  auto check_test = [&](const std::string& test, const std::string& op) -> std::string {
    const size_t colon = test.find(':'), dot = test.find('.', colon);
    if (colon == std::string::npos || dot == std::string::npos) return "not <file>:<Suite>.<Name>";
    const std::string body = test_body(test.substr(0, colon), test.substr(colon + 1, dot - colon - 1), test.substr(dot + 1));
    if (body.empty()) return "no such test";
    for (const std::string& a : aliases[op])
      if (body.find("\"" + a + "\"") != std::string::npos) return "";
    return "the test never names " + op;
  };
  std::vector<Dedicated> dedicated(std::begin(kDedicated), std::end(kDedicated));
  std::vector<GradientOf> gradient_only(std::begin(kGradientOnly), std::end(kGradientOnly));
  for (const Family& f : all_families()) {
    dedicated.insert(dedicated.end(), f.dedicated.begin(), f.dedicated.end());
    gradient_only.insert(gradient_only.end(), f.gradient_only.begin(), f.gradient_only.end());
  }
  for (const Dedicated& d : dedicated) {
    const std::string op = canonical(d.op);
    const std::string why = op.empty() ? "no such op" : check_test(d.test, op);
    if (why.empty()) covered.insert(op);
    else bad_entries += std::string("\n  ") + d.op + " -> " + d.test + ": " + why;
  }
  for (const GradientOf& g : gradient_only) {
    const std::string op = canonical(g.op), fwd = canonical(g.forward);
    std::string why = op.empty() ? "no such op" : fwd.empty() ? "no such forward op" : "";
    if (why.empty() && g.test) why = check_test(g.test, fwd);
    else if (why.empty() && !with_gradient_check.count(fwd)) why = "no conformance case checks its gradient";
    if (why.empty()) covered.insert(op);
    else bad_entries += std::string("\n  ") + g.op + " -> gradient of " + g.forward + ": " + why;
  }
  int count = 0;
  for (const auto& [op, names_of_op] : aliases)
    if (!with_case.count(op) && !covered.count(op)) {
      untested += " " + op;
      ++count;
    }
  EXPECT_TRUE(bad_entries.empty()) << "entries of the dedicated-test tables that do not hold:" << bad_entries;
  EXPECT_EQ(count, 0) << count << " op(s) with neither a conformance case nor a named dedicated test:" << untested;
}

// ---------------------------------------------------------------- autograd semantics

TEST(Autograd, GradReqAddAccumulatesAndNullSkips) {
  Arr x({3}, MX_FLOAT64), gx({3}, MX_FLOAT64), z({3}, MX_FLOAT64), gz({3}, MX_FLOAT64);
  x.set(Vec{1, 2, 3});
  z.set(Vec{4, 5, 6});
  gx.set(Vec{10, 10, 10});
  gz.set(Vec{-1, -1, -1});
  mx_ndarray_t vars[] = {x.get(), z.get()}, grads[] = {gx.get(), gz.get()};
  int32_t reqs[] = {MX_GRAD_ADD, MX_GRAD_NULL};
  ASSERT_MX_OK(mx_autograd_mark_variables(2, vars, reqs, grads));
  for (int rep = 0; rep < 2; ++rep) {
    ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
    Arr y = mx::test::invoke1("elemwise_mul", {x.get(), z.get()});  // dy/dx = z
    ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
    mx_ndarray_t heads[] = {y.get()};
    ASSERT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
  }
  EXPECT_EQ(gx.to_vector<double>(), (Vec{18, 20, 22}));  // 10 + 2 * z
  EXPECT_EQ(gz.to_vector<double>(), (Vec{-1, -1, -1}));
  mx_ndarray_t got = nullptr;
  ASSERT_MX_OK(mx_ndarray_get_grad(x.get(), &got));
  Arr g(got);
  EXPECT_EQ(g.to_vector<double>(), (Vec{18, 20, 22}));
}

TEST(Autograd, SharedSubexpressionsAccumulateAndGraphIsFreed) {
  Arr x({2}, MX_FLOAT64), gx({2}, MX_FLOAT64);
  x.set(Vec{3, -1});
  mx_ndarray_t vars[] = {x.get()}, grads[] = {gx.get()};
  int32_t reqs[] = {MX_GRAD_WRITE};
  ASSERT_MX_OK(mx_autograd_mark_variables(1, vars, reqs, grads));
  ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
  Arr s = mx::test::invoke1("square", {x.get()});
  Arr y = mx::test::invoke1("elemwise_add", {s.get(), x.get()});  // x^2 + x
  Arr z = mx::test::invoke1("elemwise_mul", {y.get(), s.get()});  // (x^2 + x) x^2
  ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
  mx_ndarray_t heads[] = {z.get()};
  ASSERT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
  // d/dx (x^4 + x^3) = 4x^3 + 3x^2
  EXPECT_EQ(gx.to_vector<double>(), (Vec{4 * 27 + 3 * 9, -4 + 3}));
  EXPECT_EQ(mx_autograd_backward(1, heads, nullptr, 0, 0, 1), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("retain_graph"), std::string::npos) << mx_get_last_error();
}

TEST(Autograd, ErrorsAreSpecific) {
  Arr x({2}), y({2});
  mx_ndarray_t heads[] = {x.get()};
  EXPECT_EQ(mx_autograd_backward(1, heads, nullptr, 0, 0, 1), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("not on the autograd tape"), std::string::npos);
  mx_ndarray_t vars[] = {x.get()}, grads[] = {y.get()};
  int32_t bad[] = {2};
  EXPECT_EQ(mx_autograd_mark_variables(1, vars, bad, grads), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("grad_req 2"), std::string::npos);
  Arr wrong({3});
  mx_ndarray_t wrong_grads[] = {wrong.get()};
  int32_t w[] = {MX_GRAD_WRITE};
  EXPECT_EQ(mx_autograd_mark_variables(1, vars, w, wrong_grads), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
  // In-place update of a recorded input.
  ASSERT_MX_OK(mx_autograd_mark_variables(1, vars, w, grads));
  ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
  mx_ndarray_t in[] = {x.get(), x.get()}, o[] = {x.get()};
  mx_ndarray_t* op = o;
  int32_t n = 1;
  EXPECT_EQ(mx_imperative_invoke("elemwise_add", 2, in, &n, &op, 0, nullptr, nullptr), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("in place"), std::string::npos) << mx_get_last_error();
  ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
}


// ---------------------------------------------------------------- loss layer and optimizers

TEST(SoftmaxOutput, GradientIsSoftmaxMinusOneHotScaled) {
  const Vec x = {0.1, -0.5, 2.0, 0.3, 1.0, 0.0, -1.0, 0.5, 0.2};  // 3 samples, 3 classes
  const Vec label = {2, 0, 1};
  for (std::string norm : {"null", "batch", "valid"}) {
    Arr data = make({3, 3}, x, MX_FLOAT64, MX_DEVICE_CPU), lab = make({3}, label, MX_FLOAT64, MX_DEVICE_CPU);
    Arr g({3, 3}, MX_FLOAT64);
    mx_ndarray_t vars[] = {data.get()}, grads[] = {g.get()};
    int32_t reqs[] = {MX_GRAD_WRITE};
    ASSERT_MX_OK(mx_autograd_mark_variables(1, vars, reqs, grads));
    const char* k[] = {"grad_scale", "normalization", "use_ignore", "ignore_label"};
    const char* v[] = {"2", norm.c_str(), "True", "1"};  // sample 2 (label 1) is ignored
    ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
    Arr y = mx::test::invoke1("SoftmaxOutput", {data.get(), lab.get()}, 4, k, v);
    ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
    mx_ndarray_t heads[] = {y.get()};
    ASSERT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
    const Vec p = naive_softmax(x, 3, 3, 1, 1, false);
    const double scale = 2.0 / (norm == "batch" ? 3.0 : norm == "valid" ? 2.0 : 1.0);
    Vec want(9);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c)
        want[size_t(r * 3 + c)] = r == 2 ? 0.0 : (p[size_t(r * 3 + c)] - (int(label[size_t(r)]) == c)) * scale;
    expect_close(g.to_vector<double>(), want, 1e-12, 1e-12, "SoftmaxOutput gradient, normalization=" + norm);
  }
}

TEST(Optimizers, UpdatesMatchTheirFormulasAndMutateState) {
  const Vec w0 = {1.0, -2.0, 0.5, 3.0}, g = {0.5, 4.0, -0.25, -8.0};
  const double lr = 0.1, wd = 0.01, rescale = 0.5, clip = 1.5;
  auto clipped = [&](double x) { return std::max(-clip, std::min(clip, rescale * x)); };
  auto run_update = [&](const char* op, std::vector<Arr*> state, std::vector<std::pair<std::string, std::string>> extra) {
    Arr w = make({4}, w0, MX_FLOAT64, MX_DEVICE_CPU), gr = make({4}, g, MX_FLOAT64, MX_DEVICE_CPU);
    std::vector<mx_ndarray_t> in = {w.get(), gr.get()};
    for (Arr* a : state) in.push_back(a->get());
    std::vector<std::pair<std::string, std::string>> attrs = {
        {"lr", "0.1"}, {"wd", "0.01"}, {"rescale_grad", "0.5"}, {"clip_gradient", "1.5"}};
    attrs.insert(attrs.end(), extra.begin(), extra.end());
    std::vector<const char*> k, v;
    for (auto& [a, b] : attrs) {
      k.push_back(a.c_str());
      v.push_back(b.c_str());
    }
    mx_ndarray_t o[] = {w.get()};  // in place, as MXNet's optimizers call it
    mx_ndarray_t* op_out = o;
    int32_t n = 1;
    EXPECT_MX_OK(mx_imperative_invoke(op, int32_t(in.size()), in.data(), &n, &op_out, int32_t(k.size()), k.data(), v.data()));
    return w.to_vector<double>();
  };
  {
    auto w = run_update("sgd_update", {}, {});
    for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(w[i], w0[i] - lr * (clipped(g[i]) + wd * w0[i]), 1e-15);
  }
  {
    Arr mom = make({4}, Vec{0.1, 0.2, 0.3, 0.4}, MX_FLOAT64, MX_DEVICE_CPU);
    auto w = run_update("sgd_mom_update", {&mom}, {{"momentum", "0.9"}});
    auto m = mom.to_vector<double>();
    const Vec m0 = {0.1, 0.2, 0.3, 0.4};
    for (size_t i = 0; i < 4; ++i) {
      const double mi = 0.9 * m0[i] - lr * (clipped(g[i]) + wd * w0[i]);
      EXPECT_NEAR(m[i], mi, 1e-15);
      EXPECT_NEAR(w[i], w0[i] + mi, 1e-15);
    }
  }
  {
    Arr mean = make({4}, Vec(4, 0.05), MX_FLOAT64, MX_DEVICE_CPU), var = make({4}, Vec(4, 0.2), MX_FLOAT64, MX_DEVICE_CPU);
    auto w = run_update("adam_update", {&mean, &var}, {{"beta1", "0.8"}, {"beta2", "0.9"}, {"epsilon", "1e-6"}});
    auto m = mean.to_vector<double>(), s = var.to_vector<double>();
    for (size_t i = 0; i < 4; ++i) {
      const double gi = clipped(g[i]) + wd * w0[i];
      const double mi = 0.8 * 0.05 + 0.2 * gi, vi = 0.9 * 0.2 + 0.1 * gi * gi;
      EXPECT_NEAR(m[i], mi, 1e-15);
      EXPECT_NEAR(s[i], vi, 1e-15);
      EXPECT_NEAR(w[i], w0[i] - lr * mi / (std::sqrt(vi) + 1e-6), 1e-14);
    }
  }
  {
    Arr nacc = make({4}, Vec(4, 0.3), MX_FLOAT64, MX_DEVICE_CPU);
    auto w = run_update("rmsprop_update", {&nacc}, {{"gamma1", "0.9"}, {"epsilon", "1e-6"}, {"clip_weights", "2.5"}});
    auto nn = nacc.to_vector<double>();
    for (size_t i = 0; i < 4; ++i) {
      const double gi = clipped(g[i]) + wd * w0[i];
      const double ni = 0.1 * gi * gi + 0.9 * 0.3;
      EXPECT_NEAR(nn[i], ni, 1e-15);
      EXPECT_NEAR(w[i], std::max(-2.5, std::min(2.5, w0[i] - lr * gi / std::sqrt(ni + 1e-6))), 1e-14);
    }
  }
}

// ---------------------------------------------------------------- training

// A 2-layer MLP (FullyConnected -> relu -> FullyConnected -> SoftmaxOutput) on a synthetic
// 3-class problem: its parameter gradients match finite differences of the cross-entropy, and
// a few steps of sgd_mom_update reduce the loss.
struct Mlp {
  Arr w1, b1, w2, b2;
  Arr gw1, gb1, gw2, gb2;
  Arr m1, mb1, m2, mb2;
};

Vec uniform(size_t n, double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Vec v(n);
  for (double& x : v) x = u(rng);
  return v;
}

double cross_entropy(const Vec& probs, const Vec& label, int classes) {
  double l = 0;
  for (size_t r = 0; r < label.size(); ++r) l -= std::log(probs[r * size_t(classes) + size_t(label[r])]);
  return l / double(label.size());
}

Vec mlp_forward(Mlp& net, const Arr& x, const Arr& y, bool record) {
  if (record) {
    EXPECT_MX_OK(mx_autograd_set_recording(1, nullptr));
  }
  const char* k1[] = {"num_hidden"};
  const char* v1[] = {"16"};
  const char* v2[] = {"3"};
  const char* ka[] = {"act_type"};
  const char* va[] = {"relu"};
  const char* ks[] = {"normalization"};
  const char* vs[] = {"batch"};
  Arr h = mx::test::invoke1("FullyConnected", {x.get(), net.w1.get(), net.b1.get()}, 1, k1, v1);
  Arr a = mx::test::invoke1("Activation", {h.get()}, 1, ka, va);
  Arr o = mx::test::invoke1("FullyConnected", {a.get(), net.w2.get(), net.b2.get()}, 1, k1, v2);
  Arr p = mx::test::invoke1("SoftmaxOutput", {o.get(), y.get()}, 1, ks, vs);
  if (record) {
    EXPECT_MX_OK(mx_autograd_set_recording(0, nullptr));
    mx_ndarray_t heads[] = {p.get()};
    EXPECT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
  }
  return p.to_vector<double>();
}

TEST(Training, MlpGradientsMatchFiniteDifferencesAndSgdMomentumReducesLoss) {
  const int n = 32, d = 4, classes = 3;
  // Labels from a fixed random linear rule, so the problem is learnable.
  Vec xs = uniform(size_t(n * d), -1, 1, 1), ys(n);
  Vec rule = uniform(size_t(d * classes), -1, 1, 2);
  for (int r = 0; r < n; ++r) {
    int best = 0;
    double bv = -1e300;
    for (int c = 0; c < classes; ++c) {
      double s = 0;
      for (int j = 0; j < d; ++j) s += xs[size_t(r * d + j)] * rule[size_t(c * d + j)];
      if (s > bv) bv = s, best = c;
    }
    ys[size_t(r)] = best;
  }
  Arr x = make({n, d}, xs, MX_FLOAT64, MX_DEVICE_CPU), y = make({n}, ys, MX_FLOAT64, MX_DEVICE_CPU);
  Mlp net{make({16, d}, uniform(16 * d, -0.5, 0.5, 3), MX_FLOAT64, MX_DEVICE_CPU),
          make({16}, Vec(16, 0.1), MX_FLOAT64, MX_DEVICE_CPU),
          make({classes, 16}, uniform(16 * classes, -0.5, 0.5, 4), MX_FLOAT64, MX_DEVICE_CPU),
          make({classes}, Vec(classes, 0.0), MX_FLOAT64, MX_DEVICE_CPU),
          Arr({16, d}, MX_FLOAT64), Arr({16}, MX_FLOAT64), Arr({classes, 16}, MX_FLOAT64), Arr({classes}, MX_FLOAT64),
          make({16, d}, Vec(16 * d, 0.0), MX_FLOAT64, MX_DEVICE_CPU), make({16}, Vec(16, 0.0), MX_FLOAT64, MX_DEVICE_CPU),
          make({classes, 16}, Vec(16 * classes, 0.0), MX_FLOAT64, MX_DEVICE_CPU),
          make({classes}, Vec(classes, 0.0), MX_FLOAT64, MX_DEVICE_CPU)};
  Arr* params[] = {&net.w1, &net.b1, &net.w2, &net.b2};
  Arr* grads[] = {&net.gw1, &net.gb1, &net.gw2, &net.gb2};
  Arr* moms[] = {&net.m1, &net.mb1, &net.m2, &net.mb2};
  auto mark = [&] {
    mx_ndarray_t v[4], g[4];
    int32_t reqs[4] = {MX_GRAD_WRITE, MX_GRAD_WRITE, MX_GRAD_WRITE, MX_GRAD_WRITE};
    for (int i = 0; i < 4; ++i) {
      v[i] = params[i]->get();
      g[i] = grads[i]->get();
    }
    ASSERT_MX_OK(mx_autograd_mark_variables(4, v, reqs, g));
  };

  // Gradients: SoftmaxOutput(normalization=batch) backpropagates d(mean cross-entropy).
  mark();
  mlp_forward(net, x, y, true);
  const double eps = 1e-6;
  for (int pi = 0; pi < 4; ++pi) {
    const Vec analytic = grads[pi]->to_vector<double>();
    Vec base = params[pi]->to_vector<double>();
    for (size_t j = 0; j < base.size(); j += 3) {  // every third entry keeps the test fast
      Vec plus = base, minus = base;
      plus[j] += eps;
      minus[j] -= eps;
      params[pi]->set(plus);
      const double lp = cross_entropy(mlp_forward(net, x, y, false), ys, classes);
      params[pi]->set(minus);
      const double lm = cross_entropy(mlp_forward(net, x, y, false), ys, classes);
      params[pi]->set(base);
      EXPECT_NEAR(analytic[j], (lp - lm) / (2 * eps), 1e-6) << "parameter " << pi << " entry " << j;
    }
  }

  // Training: 30 steps of sgd_mom_update.
  const double loss0 = cross_entropy(mlp_forward(net, x, y, false), ys, classes);
  for (int step = 0; step < 30; ++step) {
    mark();
    mlp_forward(net, x, y, true);
    for (int i = 0; i < 4; ++i) {
      mx_ndarray_t in[] = {params[i]->get(), grads[i]->get(), moms[i]->get()};
      mx_ndarray_t o[] = {params[i]->get()};
      mx_ndarray_t* op = o;
      int32_t nout = 1;
      const char* k[] = {"lr", "momentum"};
      const char* v[] = {"0.5", "0.9"};
      ASSERT_MX_OK(mx_imperative_invoke("sgd_mom_update", 3, in, &nout, &op, 2, k, v));
    }
  }
  const double loss1 = cross_entropy(mlp_forward(net, x, y, false), ys, classes);
  EXPECT_LT(loss1, 0.5 * loss0) << "loss went from " << loss0 << " to " << loss1;
}


// A small conv net: Convolution(4 3x3, pad 1) -> relu -> max Pooling 2x2 -> FullyConnected(2) ->
// SoftmaxOutput, on images whose class is the side (left/right) of a bright 3x3 blob.
TEST(Training, ConvNetGradientsMatchFiniteDifferencesAndSgdMomentumReducesLoss) {
  const int n = 16, hw = 8;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> noise(-0.3, 0.3);
  Vec xs(size_t(n * hw * hw)), ys(n);
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < hw * hw; ++p) xs[size_t(i * hw * hw + p)] = noise(rng);
    const int label = i % 2, top = int(rng() % 6), left = label ? 4 + int(rng() % 2) : int(rng() % 2);
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) xs[size_t(i * hw * hw + (top + a) * hw + left + b)] += 1.0;
    ys[size_t(i)] = label;
  }
  Arr x = make({n, 1, hw, hw}, xs, MX_FLOAT64, MX_DEVICE_CPU), y = make({n}, ys, MX_FLOAT64, MX_DEVICE_CPU);
  Arr wc = make({4, 1, 3, 3}, uniform(36, -0.5, 0.5, 5), MX_FLOAT64, MX_DEVICE_CPU),
      bc = make({4}, Vec(4, 0.0), MX_FLOAT64, MX_DEVICE_CPU),
      wf = make({2, 64}, uniform(128, -0.2, 0.2, 6), MX_FLOAT64, MX_DEVICE_CPU),
      bf = make({2}, Vec(2, 0.0), MX_FLOAT64, MX_DEVICE_CPU);
  Arr* params[] = {&wc, &bc, &wf, &bf};
  std::vector<Arr> grads, moms;
  for (Arr* p : params) {
    grads.emplace_back(p->shape(), MX_FLOAT64);
    int64_t size = 1;
    for (int64_t d : p->shape()) size *= d;
    moms.push_back(make(p->shape(), Vec(size_t(size), 0.0), MX_FLOAT64, MX_DEVICE_CPU));
  }
  auto forward = [&](bool record) {
    if (record) {
      mx_ndarray_t v[4], g[4];
      int32_t reqs[4] = {MX_GRAD_WRITE, MX_GRAD_WRITE, MX_GRAD_WRITE, MX_GRAD_WRITE};
      for (int i = 0; i < 4; ++i) v[i] = params[i]->get(), g[i] = grads[size_t(i)].get();
      EXPECT_MX_OK(mx_autograd_mark_variables(4, v, reqs, g));
      EXPECT_MX_OK(mx_autograd_set_recording(1, nullptr));
    }
    const char* kc[] = {"kernel", "num_filter", "pad"};
    const char* vc[] = {"(3,3)", "4", "(1,1)"};
    const char* ka[] = {"act_type"};
    const char* va[] = {"relu"};
    const char* kp[] = {"kernel", "stride", "pool_type"};
    const char* vp[] = {"(2,2)", "(2,2)", "max"};
    const char* kf[] = {"num_hidden"};
    const char* vf[] = {"2"};
    const char* ks[] = {"normalization"};
    const char* vs[] = {"batch"};
    Arr c = mx::test::invoke1("Convolution", {x.get(), wc.get(), bc.get()}, 3, kc, vc);
    Arr r = mx::test::invoke1("Activation", {c.get()}, 1, ka, va);
    Arr p = mx::test::invoke1("Pooling", {r.get()}, 3, kp, vp);
    Arr f = mx::test::invoke1("FullyConnected", {p.get(), wf.get(), bf.get()}, 1, kf, vf);
    Arr out = mx::test::invoke1("SoftmaxOutput", {f.get(), y.get()}, 1, ks, vs);
    if (record) {
      EXPECT_MX_OK(mx_autograd_set_recording(0, nullptr));
      mx_ndarray_t heads[] = {out.get()};
      EXPECT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
    }
    return cross_entropy(out.to_vector<double>(), ys, 2);
  };

  forward(true);
  const double eps = 1e-6;
  for (int pi = 0; pi < 4; ++pi) {
    const Vec analytic = grads[size_t(pi)].to_vector<double>();
    Vec base = params[pi]->to_vector<double>();
    for (size_t j = 0; j < base.size(); j += 5) {
      Vec plus = base, minus = base;
      plus[j] += eps;
      minus[j] -= eps;
      params[pi]->set(plus);
      const double lp = forward(false);
      params[pi]->set(minus);
      const double lm = forward(false);
      params[pi]->set(base);
      EXPECT_NEAR(analytic[j], (lp - lm) / (2 * eps), 1e-6) << "parameter " << pi << " entry " << j;
    }
  }

  const double loss0 = forward(false);
  for (int step = 0; step < 25; ++step) {
    forward(true);
    for (int i = 0; i < 4; ++i) {
      mx_ndarray_t in[] = {params[i]->get(), grads[size_t(i)].get(), moms[size_t(i)].get()};
      mx_ndarray_t o[] = {params[i]->get()};
      mx_ndarray_t* op = o;
      int32_t nout = 1;
      const char* k[] = {"lr", "momentum"};
      const char* v[] = {"0.2", "0.9"};
      ASSERT_MX_OK(mx_imperative_invoke("sgd_mom_update", 3, in, &nout, &op, 2, k, v));
    }
  }
  const double loss1 = forward(false);
  EXPECT_LT(loss1, 0.5 * loss0) << "loss went from " << loss0 << " to " << loss1;
}

TEST(Autograd, BlockGradStopsTheGradient) {
  Arr x({3}, MX_FLOAT64), gx({3}, MX_FLOAT64);
  x.set(Vec{1, 2, 3});
  mx_ndarray_t v[] = {x.get()}, g[] = {gx.get()};
  int32_t reqs[] = {MX_GRAD_WRITE};
  ASSERT_MX_OK(mx_autograd_mark_variables(1, v, reqs, g));
  ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
  Arr b = mx::test::invoke1("BlockGrad", {x.get()});
  Arr y = mx::test::invoke1("elemwise_mul", {b.get(), x.get()});  // d/dx = b (b treated as constant)
  ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
  mx_ndarray_t heads[] = {y.get()};
  ASSERT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
  EXPECT_EQ(gx.to_vector<double>(), (Vec{1, 2, 3}));
}

// float16 / bfloat16 are stored 16-bit and computed exactly as float32 (the optimizer step in
// float, the norms' statistics in double from float loads): on the same values, a 16-bit result is
// the float32 result rounded to 16 bits, bit for bit — states and moving statistics included.
TEST(HalfPrecision, OptimizersAndNormsAreTheRoundedFloat32Results) {
  struct Op {
    const char* name;
    std::vector<Shape> shapes;
    std::vector<std::pair<std::string, std::string>> attrs;
    bool in_place, train;  // in_place: out = input 0 (the optimizers' call)
  };
  const std::vector<Op> ops = {
      {"sgd_update", {{37}, {37}}, {{"lr", "0.1"}, {"wd", "0.01"}, {"clip_gradient", "0.7"}}, true, false},
      {"sgd_mom_update", {{37}, {37}, {37}}, {{"lr", "0.1"}, {"momentum", "0.9"}, {"wd", "0.01"}}, true, false},
      {"adam_update", {{37}, {37}, {37}, {37}}, {{"lr", "0.01"}, {"rescale_grad", "0.5"}}, true, false},
      {"rmsprop_update", {{37}, {37}, {37}}, {{"lr", "0.01"}, {"clip_weights", "0.8"}}, true, false},
      {"BatchNorm", {{4, 3, 5}, {3}, {3}, {3}, {3}}, {{"fix_gamma", "False"}}, false, true},
      {"BatchNorm", {{4, 3, 5}, {3}, {3}, {3}, {3}}, {{"fix_gamma", "False"}}, false, false},
      {"LayerNorm", {{4, 3, 5}, {5}, {5}}, {}, false, false},
      {"softmax_cross_entropy", {{6, 5}, {6}}, {}, false, false},
  };
  for (int32_t dt : {MX_FLOAT16, MX_BFLOAT16})
    for (const Op& op : ops) {
      const std::string what = std::string(op.name) + (dt == MX_FLOAT16 ? " float16" : " bfloat16");
      // 16-bit inputs, and float32 arrays holding exactly their values (variances kept positive).
      std::vector<Arr> h, f;
      for (size_t i = 0; i < op.shapes.size(); ++i) {
        size_t n = 1;
        for (int64_t d : op.shapes[i]) n *= size_t(d);
        const bool label = std::strcmp(op.name, "softmax_cross_entropy") == 0 && i == 1;
        const bool positive = (std::strcmp(op.name, "BatchNorm") == 0 && i == 4) ||
                              (std::strcmp(op.name, "adam_update") == 0 && i == 3) ||
                              (std::strcmp(op.name, "rmsprop_update") == 0 && i == 2);
        Vec v = uniform(n, label ? 0 : positive ? 0.1 : -2, label ? 4.99 : 2, 40 + i);
        if (label)
          for (double& e : v) e = std::floor(e);
        h.push_back(cast(make(op.shapes[i], v, MX_FLOAT32, MX_DEVICE_CPU), dt));
        f.push_back(cast(h.back(), MX_FLOAT32));
      }
      std::vector<const char*> k, val;
      for (auto& [a, b] : op.attrs) k.push_back(a.c_str()), val.push_back(b.c_str());
      auto run = [&](std::vector<Arr>& in) {
        std::vector<mx_ndarray_t> hs;
        for (auto& a : in) hs.push_back(a.get());
        EXPECT_MX_OK(mx_autograd_set_training(op.train, nullptr));
        Arr y;
        if (op.in_place) {
          mx_ndarray_t o[] = {in[0].get()};
          mx_ndarray_t* po = o;
          int32_t n = 1;
          EXPECT_MX_OK(mx_imperative_invoke(op.name, int32_t(hs.size()), hs.data(), &n, &po, int32_t(k.size()), k.data(),
                                            val.data()));
        } else {
          int32_t n = 0;
          mx_ndarray_t* outs = nullptr;
          EXPECT_MX_OK(mx_imperative_invoke(op.name, int32_t(hs.size()), hs.data(), &n, &outs, int32_t(k.size()), k.data(),
                                            val.data()));
          y = Arr(outs[0]);
          for (int32_t j = 1; j < n; ++j) mx_ndarray_free(outs[j]);
        }
        EXPECT_MX_OK(mx_autograd_set_training(0, nullptr));
        return y;
      };
      Arr yh = run(h), yf = run(f);
      if (!op.in_place) {
        EXPECT_EQ(read(yh, dt), read(cast(yf, dt), dt)) << what << " output";
      }
      // The mutated inputs (weights and states; BatchNorm's moving statistics) and the rest alike.
      for (size_t i = 0; i < h.size(); ++i) EXPECT_EQ(read(h[i], dt), read(cast(f[i], dt), dt)) << what << " input " << i;
    }
}

TEST(Dropout, FollowsTheTrainingFlagAndPhiloxAndBackpropagatesThroughItsMask) {
  const int64_t n = 100000;
  Vec xs = uniform(size_t(n), 0.5, 1.5, 9);  // non-zero, so a dropped element is exactly 0
  Arr x = make({n}, xs, MX_FLOAT64, MX_DEVICE_CPU);
  const char* k[] = {"p"};
  const char* v[] = {"0.3"};
  // Predicting: the identity.
  ASSERT_MX_OK(mx_autograd_set_training(0, nullptr));
  EXPECT_EQ(mx::test::invoke1("Dropout", {x.get()}, 1, k, v).to_vector<double>(), xs);
  // mode=always drops even when predicting.
  const char* ka[] = {"p", "mode"};
  const char* va[] = {"0.3", "always"};
  auto always = mx::test::invoke1("Dropout", {x.get()}, 2, ka, va).to_vector<double>();
  EXPECT_GT(std::count(always.begin(), always.end(), 0.0), n / 4);

  // Training, recorded: drop rate ~ p, survivors scaled by 1/(1-p), mask from Philox at offset 0.
  ASSERT_MX_OK(mx_random_seed(77));
  Arr gx({n}, MX_FLOAT64);
  mx_ndarray_t vars[] = {x.get()}, grads[] = {gx.get()};
  int32_t reqs[] = {MX_GRAD_WRITE};
  ASSERT_MX_OK(mx_autograd_mark_variables(1, vars, reqs, grads));
  ASSERT_MX_OK(mx_autograd_set_training(1, nullptr));
  ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
  Arr y = mx::test::invoke1("Dropout", {x.get()}, 1, k, v);
  ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
  ASSERT_MX_OK(mx_autograd_set_training(0, nullptr));
  const Vec out = y.to_vector<double>();
  int64_t dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    const mx_philox_u32x4 r = mx_philox_block(77, uint64_t(i / 4));
    const bool drop = float(r.v[i % 4] >> 8) / 16777216.0f < 0.3f;
    dropped += drop;
    ASSERT_NEAR(out[size_t(i)], drop ? 0.0 : xs[size_t(i)] / 0.7, 1e-12) << i;
  }
  EXPECT_NEAR(double(dropped) / double(n), 0.3, 0.01);
  mx_ndarray_t heads[] = {y.get()};
  ASSERT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
  const Vec g = gx.to_vector<double>();
  for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(g[size_t(i)], out[size_t(i)] / xs[size_t(i)], 1e-12) << i;
}

TEST(BatchNorm, TrainingStatisticsMovingUpdateInferenceAndGradients) {
  const int64_t n = 4, c = 3, hw = 5;  // data (4, 3, 5), channel axis 1
  const Vec xs = uniform(size_t(n * c * hw), -2, 2, 31), gs = {0.5, 1.5, -1.0}, bs = {0.1, -0.2, 0.3};
  const Vec mm0 = {0.2, -0.1, 0.0}, mv0 = {1.0, 2.0, 0.5};
  const double eps = 1e-3, mom = 0.9;
  auto naive = [&](const Vec& x, const Vec& g, const Vec& b, bool use_batch, Vec* mean_out, Vec* var_out) {
    Vec y(x.size());
    for (int64_t ch = 0; ch < c; ++ch) {
      double mu = mm0[size_t(ch)], v = mv0[size_t(ch)];
      if (use_batch) {
        mu = v = 0;
        for (int64_t o = 0; o < n; ++o)
          for (int64_t i = 0; i < hw; ++i) mu += x[size_t((o * c + ch) * hw + i)];
        mu /= double(n * hw);
        for (int64_t o = 0; o < n; ++o)
          for (int64_t i = 0; i < hw; ++i) v += std::pow(x[size_t((o * c + ch) * hw + i)] - mu, 2);
        v /= double(n * hw);
      }
      if (mean_out) (*mean_out)[size_t(ch)] = mu, (*var_out)[size_t(ch)] = v;
      for (int64_t o = 0; o < n; ++o)
        for (int64_t i = 0; i < hw; ++i) {
          const size_t k = size_t((o * c + ch) * hw + i);
          y[k] = (x[k] - mu) / std::sqrt(v + eps) * g[size_t(ch)] + b[size_t(ch)];
        }
    }
    return y;
  };
  auto run = [&](const Vec& x, const Vec& g, const Vec& b, bool train, Arr* mm, Arr* mv, Arr* gx, Arr* gg, Arr* gb,
                 const Vec* w) {
    Arr xa = make({n, c, hw}, x, MX_FLOAT64, MX_DEVICE_CPU), ga = make({c}, g, MX_FLOAT64, MX_DEVICE_CPU),
        ba = make({c}, b, MX_FLOAT64, MX_DEVICE_CPU);
    if (gx) {
      mx_ndarray_t v[] = {xa.get(), ga.get(), ba.get()}, gr[] = {gx->get(), gg->get(), gb->get()};
      int32_t reqs[] = {MX_GRAD_WRITE, MX_GRAD_WRITE, MX_GRAD_WRITE};
      EXPECT_MX_OK(mx_autograd_mark_variables(3, v, reqs, gr));
      EXPECT_MX_OK(mx_autograd_set_recording(1, nullptr));
    }
    EXPECT_MX_OK(mx_autograd_set_training(train, nullptr));
    const char* k[] = {"eps", "momentum", "fix_gamma"};
    const char* vv[] = {"0.001", "0.9", "False"};
    Arr y = mx::test::invoke1("BatchNorm", {xa.get(), ga.get(), ba.get(), mm->get(), mv->get()}, 3, k, vv);
    EXPECT_MX_OK(mx_autograd_set_training(0, nullptr));
    if (gx) {
      EXPECT_MX_OK(mx_autograd_set_recording(0, nullptr));
      Arr head = make({n, c, hw}, *w, MX_FLOAT64, MX_DEVICE_CPU);
      mx_ndarray_t heads[] = {y.get()}, hg[] = {head.get()};
      EXPECT_MX_OK(mx_autograd_backward(1, heads, hg, 0, 0, 1));
    }
    return y.to_vector<double>();
  };
  // Training: batch statistics, moving statistics updated with momentum.
  Arr mm = make({c}, mm0, MX_FLOAT64, MX_DEVICE_CPU), mv = make({c}, mv0, MX_FLOAT64, MX_DEVICE_CPU);
  Vec bmean(3), bvar(3);
  expect_close(run(xs, gs, bs, true, &mm, &mv, nullptr, nullptr, nullptr, nullptr), naive(xs, gs, bs, true, &bmean, &bvar),
               1e-12, 1e-12, "BatchNorm training forward");
  Vec want_mm(3), want_mv(3);
  for (size_t ch = 0; ch < 3; ++ch) {
    want_mm[ch] = mm0[ch] * mom + bmean[ch] * (1 - mom);
    want_mv[ch] = mv0[ch] * mom + bvar[ch] * (1 - mom);
  }
  expect_close(mm.to_vector<double>(), want_mm, 1e-12, 1e-12, "moving_mean update");
  expect_close(mv.to_vector<double>(), want_mv, 1e-12, 1e-12, "moving_var update");
  // Inference: the moving statistics, which stay untouched.
  Arr mm2 = make({c}, mm0, MX_FLOAT64, MX_DEVICE_CPU), mv2 = make({c}, mv0, MX_FLOAT64, MX_DEVICE_CPU);
  expect_close(run(xs, gs, bs, false, &mm2, &mv2, nullptr, nullptr, nullptr, nullptr), naive(xs, gs, bs, false, nullptr, nullptr),
               1e-12, 1e-12, "BatchNorm inference forward");
  EXPECT_EQ(mm2.to_vector<double>(), mm0);
  // Gradients in training mode against finite differences of sum(w * BN(x)).
  const Vec w = uniform(xs.size(), -1, 1, 32);
  Arr gx({n, c, hw}, MX_FLOAT64), gg({c}, MX_FLOAT64), gb({c}, MX_FLOAT64);
  run(xs, gs, bs, true, &mm, &mv, &gx, &gg, &gb, &w);
  auto loss = [&](const Vec& x, const Vec& g, const Vec& b) {
    const Vec y = naive(x, g, b, true, nullptr, nullptr);
    double l = 0;
    for (size_t i = 0; i < y.size(); ++i) l += w[i] * y[i];
    return l;
  };
  const double e = 1e-6;
  const std::vector<const Vec*> bases = {&xs, &gs, &bs};
  const Vec got[] = {gx.to_vector<double>(), gg.to_vector<double>(), gb.to_vector<double>()};
  for (size_t which = 0; which < 3; ++which)
    for (size_t j = 0; j < bases[which]->size(); ++j) {
      Vec args[3] = {xs, gs, bs}, args2[3] = {xs, gs, bs};
      args[which][j] += e;
      args2[which][j] -= e;
      const double fd = (loss(args[0], args[1], args[2]) - loss(args2[0], args2[1], args2[2])) / (2 * e);
      EXPECT_NEAR(got[which][j], fd, 1e-6) << "input " << which << " entry " << j;
    }
}

TEST(OpInfo, ReportsSchemaAndKernels) {
  mx_op_info info;
  std::memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  ASSERT_MX_OK(mx_op_get_info("_PlusScalar", &info));
  EXPECT_STREQ(info.name, "_plus_scalar");
  ASSERT_EQ(info.num_inputs, 1u);
  EXPECT_STREQ(info.input_names[0], "data");
  ASSERT_GE(info.num_params, 1u);
  EXPECT_STREQ(info.param_names[0], "scalar");
  EXPECT_STREQ(info.param_types[0], "float");
  EXPECT_EQ(info.has_gradient, 1);
  ASSERT_GE(info.num_backends, 1u);
  EXPECT_STREQ(info.backends[0], "cpu");
  ASSERT_MX_OK(mx_op_get_info("dot", &info));
  EXPECT_STREQ(info.param_types[2], "{None, default}");
  EXPECT_EQ(mx_op_get_info("nope", &info), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
}

}  // namespace
