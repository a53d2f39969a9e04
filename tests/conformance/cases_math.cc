// Conformance cases of the math and creation ops (core/op/defs/math.cc, creation.cc) and of
// log_sigmoid, mish and argmax_channel (unary.cc, reduce.cc): references
// from <cmath> and MXNet's documented definitions, written here independently of the kernels.
// Dedicated tests below check what a Case cannot: mixed-dtype AMP casts and their output dtypes,
// integer outputs of the creation ops, all_finite's init_output, and the schema errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "../unit/test_util.h"
#include "dedicated.h"
#include "harness.h"

namespace conformance {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;

template <typename F>
Vec map(const Vec& x, F f) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = f(x[i]);
  return y;
}

template <typename F>
Case un(const char* op, F f, double lo, double hi, bool grad2 = false, Attrs attrs = {}) {
  return Case{op, attrs, {{{3, 5}, lo, hi}}, [f](const std::vector<Vec>& in) { return map(in[0], f); }, true, grad2};
}

// A no-gradient op on fixed values.
template <typename F>
Case fixed(const char* op, Vec values, F f) {
  const int64_t n = int64_t(values.size());
  return Case{op, {}, {{{n}, 0, 0, false, values}}, [f](const std::vector<Vec>& in) { return map(in[0], f); }, false};
}

// Inverse of erf by bisection (monotone), independent of the kernel's approximation.
double erfinv_ref(double y) {
  double lo = -6, hi = 6;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (std::erf(mid) < y ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double rint_ref(double x) {  // MXNet: a half goes to the lower integer
  const double f = std::floor(x);
  return x - f <= 0.5 ? f : f + 1;
}

double smooth_l1_ref(double x, double sigma) {
  const double s2 = sigma * sigma;
  return std::fabs(x) < 1 / s2 ? 0.5 * s2 * x * x : std::fabs(x) - 0.5 / s2;
}

// softmin along the middle axis of (outer, n, inner), first `valid[row]` positions only.
Vec softmin_ref(const Vec& x, int64_t outer, int64_t n, int64_t inner, double t, const Vec* valid = nullptr) {
  Vec y(x.size(), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t len = valid ? int64_t((*valid)[size_t(o * inner + i)]) : n;
      double sum = 0;
      for (int64_t j = 0; j < len; ++j) sum += std::exp(-x[size_t((o * n + j) * inner + i)] / t);
      for (int64_t j = 0; j < len; ++j) {
        const size_t at = size_t((o * n + j) * inner + i);
        y[at] = std::exp(-x[at] / t) / sum;
      }
    }
  return y;
}

// Product over the axes in `red` of shape s, NaN skipped; output in row-major of the kept axes.
Vec nanprod_ref(const Vec& x, const Shape& s, const std::vector<bool>& red) {
  Shape kept;
  for (size_t d = 0; d < s.size(); ++d)
    if (!red[d]) kept.push_back(s[d]);
  Vec y(size_t(numel(kept)), 1.0);
  for (int64_t i = 0; i < numel(s); ++i) {
    const auto c = unravel(i, s);
    std::vector<int64_t> kc;
    for (size_t d = 0; d < s.size(); ++d)
      if (!red[d]) kc.push_back(c[d]);
    if (!std::isnan(x[size_t(i)])) y[size_t(ravel(kc, kept))] *= x[size_t(i)];
  }
  return y;
}

// numpy's diagonal(x, k, axis1, axis2) (other axes first, the diagonal last) of an n-d x.
Vec diagonal_ref(const Vec& x, const Shape& s, int64_t k, int a1, int a2) {
  Shape other;
  for (int d = 0; d < int(s.size()); ++d)
    if (d != a1 && d != a2) other.push_back(s[size_t(d)]);
  const int64_t len = std::max<int64_t>(0, k >= 0 ? std::min(s[size_t(a1)], s[size_t(a2)] - k) : std::min(s[size_t(a1)] + k, s[size_t(a2)]));
  Shape out = other;
  out.push_back(len);
  Vec y(size_t(numel(out)));
  for (int64_t i = 0; i < numel(out); ++i) {
    const auto c = unravel(i, out);
    std::vector<int64_t> ic(s.size());
    size_t o = 0;
    for (int d = 0; d < int(s.size()); ++d)
      if (d != a1 && d != a2) ic[size_t(d)] = c[o++];
    const int64_t j = c.back();
    ic[size_t(a1)] = j + (k < 0 ? -k : 0);
    ic[size_t(a2)] = j + (k > 0 ? k : 0);
    y[size_t(i)] = x[size_t(ravel(ic, s))];
  }
  return y;
}

// A no-input op: its output against `want`.
Case created(const char* op, Attrs attrs, Vec want) {
  return Case{op, attrs, {}, [want](const std::vector<Vec>&) { return want; }, false};
}

Vec nanprod_values() {  // (3, 4, 2) in [0.5, 1.5] with NaNs in two places
  Vec v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.55 + 0.9 * double((i * 7) % 24) / 23.0;
  v[3] = kNan;
  v[17] = kNan;
  return v;
}

std::vector<Case> unary_cases() {
  auto d = [](double (*f)(double)) { return f; };
  return {
      un("tan", d(std::tan), -1.2, 1.2, true),
      un("arcsin", d(std::asin), -0.9, 0.9, true),
      un("arccos", d(std::acos), -0.9, 0.9, true),
      un("arctan", d(std::atan), -2, 2, true),
      un("sinh", d(std::sinh), -2, 2, true),
      un("cosh", d(std::cosh), -2, 2, true),
      un("arcsinh", d(std::asinh), -2, 2, true),
      un("arccosh", d(std::acosh), 1.1, 3, true),
      un("arctanh", d(std::atanh), -0.9, 0.9, true),
      un("log10", d(std::log10), 0.5, 3, true),
      un("log2", d(std::log2), 0.5, 3, true),
      un("cbrt", d(std::cbrt), 0.3, 3, true),
      un("cbrt", d(std::cbrt), -3, -0.3),
      un("rcbrt", [](double x) { return 1 / std::cbrt(x); }, 0.3, 3, true),
      un("erfinv", erfinv_ref, -0.95, 0.95, true),
      un("gamma", d(std::tgamma), 0.3, 4),
      un("gamma", d(std::tgamma), -1.9, -1.1),  // negative, between the poles
      un("gammaln", d(std::lgamma), 0.3, 4),
      un("gammaln", d(std::lgamma), -2.9, -2.1),  // log |gamma|
      un("degrees", [](double x) { return x * 180 / kPi; }, -3, 3),
      un("radians", [](double x) { return x * kPi / 180; }, -200, 200),
      un("rint", rint_ref, -3, 3),
      un("fix", [](double x) { return x < 0 ? std::ceil(x) : std::floor(x); }, -3, 3),
      un("trunc", [](double x) { return x < 0 ? std::ceil(x) : std::floor(x); }, -3, 3),
      Case{"logical_not", {}, {{{3, 4}, -1, 2, true}}, [](const std::vector<Vec>& in) {
             return map(in[0], [](double x) { return x == 0 ? 1.0 : 0.0; });
           }, false},
      fixed("_contrib_isinf", {1, kInf, -kInf, kNan, 0, -2.5}, [](double x) { return double(std::isinf(x)); }),
      fixed("_contrib_isnan", {1, kInf, -kInf, kNan, 0, -2.5}, [](double x) { return double(std::isnan(x)); }),
      fixed("_contrib_isfinite", {1, kInf, -kInf, kNan, 0, -2.5}, [](double x) { return double(std::isfinite(x)); }),
      un("hard_sigmoid", [](double x) { return std::clamp(0.2 * x + 0.5, 0.0, 1.0); }, -4, 4),
      un("hard_sigmoid", [](double x) { return std::clamp(0.3 * x + 0.4, 0.0, 1.0); }, -4, 4, false,
         {{"alpha", "0.3"}, {"beta", "0.4"}}),
      un("smooth_l1", [](double x) { return smooth_l1_ref(x, 1); }, -3, 3),
      un("smooth_l1", [](double x) { return smooth_l1_ref(x, 2); }, -1, 1, false, {{"scalar", "2"}}),
      Case{"_hypot", {}, {{{4, 3}}, {{4, 3}}}, [](const std::vector<Vec>& in) {
             Vec y(in[0].size());
             for (size_t i = 0; i < y.size(); ++i) y[i] = std::sqrt(in[0][i] * in[0][i] + in[1][i] * in[1][i]);
             return y;
           }, true, true},
      un("_hypot_scalar", [](double x) { return std::sqrt(x * x + 2.25); }, -3, 3, true, {{"scalar", "1.5"}}),
  };
}

// The activations of the unary family, written naively in double as MXNet documents them: exp
// overflows only past |x| = 709, so the references hold at the large |x| below, where float32
// overflows e^|x| (past 88) unless the kernel avoids it.
double log_sigmoid_ref(double x) { return std::log(1 / (1 + std::exp(-x))); }
double mish_ref(double x) { return x * std::tanh(std::log(1 + std::exp(x))); }

// argmax over the last axis of rows of length n, the first index on ties.
Vec argmax_last_ref(const Vec& x, int64_t n) {
  Vec y;
  for (size_t row = 0; row < x.size(); row += size_t(n)) {
    int64_t best = 0;
    for (int64_t j = 1; j < n; ++j)
      if (x[row + size_t(j)] > x[row + size_t(best)]) best = j;
    y.push_back(double(best));
  }
  return y;
}

std::vector<Case> activation_cases() {
  const Vec big_neg{-500, -120, -90, -35}, big_pos{35, 90, 120, 500};
  auto at = [](const char* op, double (*f)(double), Vec values) {
    return Case{op, {}, {{{int64_t(values.size())}, 0, 0, false, values}},
                [f](const std::vector<Vec>& in) { return map(in[0], f); }};
  };
  auto channel = [](Shape s, Vec values = {}) {
    const int64_t n = s.back();
    return Case{"argmax_channel", {}, {{s, -2, 2, false, values}},
                [n](const std::vector<Vec>& in) { return argmax_last_ref(in[0], n); }, false};
  };
  return {
      un("log_sigmoid", log_sigmoid_ref, -6, 6, true),
      at("log_sigmoid", log_sigmoid_ref, big_neg),
      at("log_sigmoid", log_sigmoid_ref, big_pos),
      un("mish", mish_ref, -5, 5, true),
      at("mish", mish_ref, big_neg),
      at("mish", mish_ref, big_pos),
      channel({2, 3}, {0, 1, 2, 3, 4, 5}),  // MXNet's example: [2, 2]
      channel({3, 4}, {1, 3, 3, 2, 7, 7, 7, 7, -1, -5, -2, -1}),  // ties: the first index
      channel({2, 3, 5}),
      channel({6}),  // one axis: a (1,) result
  };
}

std::vector<Case> row_cases() {
  const Shape s{3, 4, 2};
  return {
      Case{"softmin", {}, {{{3, 5}}}, [](const std::vector<Vec>& in) { return softmin_ref(in[0], 3, 5, 1, 1); }, true, true},
      Case{"softmin", {{"axis", "0"}, {"temperature", "2.5"}}, {{{3, 4}}},
           [](const std::vector<Vec>& in) { return softmin_ref(in[0], 1, 3, 4, 2.5); }},
      Case{"softmin", {{"dtype", "float64"}}, {{{2, 3}}}, [](const std::vector<Vec>& in) { return softmin_ref(in[0], 2, 3, 1, 1); }},
      // lengths 2 and 4 of rows of 4 along axis 1 of (2, 4): the rest of a row is 0
      Case{"softmin", {{"axis", "1"}, {"use_length", "True"}}, {{{2, 4}}, {{2}, 0, 0, false, {2, 4}}},
           [](const std::vector<Vec>& in) { return softmin_ref(in[0], 2, 4, 1, 1, &in[1]); }, true, false, {1}},
      Case{"nanprod", {{"axis", "(1,)"}}, {{s, 0, 0, false, nanprod_values()}},
           [s](const std::vector<Vec>& in) { return nanprod_ref(in[0], s, {false, true, false}); }},
      Case{"nanprod", {{"keepdims", "True"}}, {{{2, 3}, 0.5, 1.5}},
           [](const std::vector<Vec>& in) { return nanprod_ref(in[0], {2, 3}, {true, true}); }},
      Case{"nanprod", {{"axis", "(1,)"}, {"exclude", "True"}}, {{s, 0, 0, false, nanprod_values()}},
           [s](const std::vector<Vec>& in) { return nanprod_ref(in[0], s, {true, false, true}); }},
      Case{"all_finite", {}, {{{2, 3}}}, [](const std::vector<Vec>&) { return Vec{1}; }, false},
      Case{"all_finite", {}, {{{4}, 0, 0, false, {1, 2, kInf, 3}}}, [](const std::vector<Vec>&) { return Vec{0}; }, false},
      Case{"multi_all_finite", {{"num_arrays", "2"}}, {{{2, 2}}, {{3}}}, [](const std::vector<Vec>&) { return Vec{1}; }, false},
      Case{"multi_all_finite", {{"num_arrays", "2"}}, {{{2}}, {{3}, 0, 0, false, {0, kNan, 1}}},
           [](const std::vector<Vec>&) { return Vec{0}; }, false},
      Case{"amp_cast", {{"dtype", "float64"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return in[0]; }, true, true},
      Case{"amp_multicast", {{"num_outputs", "2"}}, {{{2, 3}}, {{4}}}, [](const std::vector<Vec>& in) { return in[0]; }},
      Case{"amp_multicast", {{"num_outputs", "2"}, {"cast_narrow", "True"}}, {{{2, 3}}, {{4}}},
           [](const std::vector<Vec>& in) { return in[1]; }, true, false, {}, 1},
  };
}

std::vector<Case> creation_cases() {
  return {
      created("_arange", {{"start", "2"}, {"stop", "7.5"}, {"step", "1.5"}}, {2, 3.5, 5, 6.5}),  // ceil(5.5 / 1.5) = 4
      created("_arange", {{"start", "5"}}, {0, 1, 2, 3, 4}),
      created("arange", {{"start", "5"}, {"stop", "1"}, {"step", "-1.5"}, {"repeat", "2"}}, {5, 5, 3.5, 3.5, 2, 2}),
      created("_arange", {{"start", "1"}, {"stop", "10"}, {"step", "3"}, {"dtype", "int32"}}, {1, 4, 7}),
      created("_arange", {{"start", "-1"}, {"stop", "2"}, {"dtype", "int64"}}, {-1, 0, 1}),
      created("_linspace", {{"start", "0"}, {"stop", "1"}, {"num", "5"}}, {0, 0.25, 0.5, 0.75, 1}),
      created("_linspace", {{"start", "1"}, {"stop", "-1"}, {"num", "4"}, {"endpoint", "False"}, {"dtype", "float64"}},
              {1, 0.5, 0, -0.5}),
      created("_eye", {{"N", "3"}, {"M", "4"}, {"k", "1"}}, {0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}),
      created("_eye", {{"N", "3"}, {"k", "-1"}, {"dtype", "int32"}}, {0, 0, 0, 1, 0, 0, 0, 1, 0}),
      Case{"_contrib_arange_like", {{"start", "1"}, {"step", "0.5"}, {"repeat", "2"}}, {{{2, 3}}},
           [](const std::vector<Vec>&) { return Vec{1, 1, 1.5, 1.5, 2, 2}; }},
      Case{"_contrib_arange_like", {{"axis", "1"}}, {{{2, 3}}}, [](const std::vector<Vec>&) { return Vec{0, 1, 2}; }},
      // diag of a vector builds a matrix (gradient: _backward_diag extracts); of n-d extracts
      Case{"diag", {}, {{{4}}}, [](const std::vector<Vec>& in) {
             Vec y(16, 0.0);
             for (int i = 0; i < 4; ++i) y[size_t(i * 5)] = in[0][size_t(i)];
             return y;
           }, true, true},
      Case{"diag", {{"k", "-2"}}, {{{3}}}, [](const std::vector<Vec>& in) {
             Vec y(25, 0.0);  // (5, 5), x[i] at row i + 2, column i
             for (int i = 0; i < 3; ++i) y[size_t((i + 2) * 5 + i)] = in[0][size_t(i)];
             return y;
           }},
      Case{"diag", {{"k", "1"}}, {{{3, 4}}}, [](const std::vector<Vec>& in) { return diagonal_ref(in[0], {3, 4}, 1, 0, 1); },
           true, true},
      Case{"diag", {{"k", "-1"}, {"axis1", "2"}, {"axis2", "0"}}, {{{2, 3, 4}}},
           [](const std::vector<Vec>& in) { return diagonal_ref(in[0], {2, 3, 4}, -1, 2, 0); }},
  };
}

using mx::test::Arr;

Arr filled(const Shape& s, const Vec& v, int32_t dtype = MX_FLOAT64) {
  Arr a(s, dtype);
  if (dtype == MX_FLOAT64) a.set(v);
  else a.set(std::vector<float>(v.begin(), v.end()));
  return a;
}

}  // namespace

TEST(MathOps, AmpCastsFollowTheFloatWidthsAndPassIntegersThrough) {
  Arr h = filled({2}, {1.5, -2}, MX_FLOAT32), d = filled({3}, {0.25, 1, 2}), i({2}, MX_INT32);
  i.set(std::vector<int32_t>{7, -3});
  auto wide = call("amp_multicast", {h.get(), d.get(), i.get()}, {{"num_outputs", "3"}});
  ASSERT_EQ(wide.size(), 3u);
  EXPECT_EQ(dtype_of(wide[0]), MX_FLOAT64);
  EXPECT_EQ(dtype_of(wide[1]), MX_FLOAT64);
  EXPECT_EQ(dtype_of(wide[2]), MX_INT32);
  EXPECT_EQ(wide[0].to_vector<double>(), (Vec{1.5, -2}));
  EXPECT_EQ(wide[2].to_vector<int32_t>(), (std::vector<int32_t>{7, -3}));
  auto narrow = call("amp_multicast", {h.get(), d.get()}, {{"num_outputs", "2"}, {"cast_narrow", "True"}});
  ASSERT_EQ(narrow.size(), 2u);
  EXPECT_EQ(dtype_of(narrow[1]), MX_FLOAT32);
  EXPECT_EQ(narrow[1].to_vector<float>(), (std::vector<float>{0.25f, 1, 2}));
  auto half = call("amp_cast", {h.get()}, {{"dtype", "float16"}});
  ASSERT_EQ(half.size(), 1u);
  EXPECT_EQ(dtype_of(half[0]), MX_FLOAT16);
  auto same_int = call("amp_cast", {i.get()}, {{"dtype", "float16"}});
  ASSERT_EQ(same_int.size(), 1u);
  EXPECT_EQ(dtype_of(same_int[0]), MX_INT32);
  EXPECT_EQ(same_int[0].to_vector<int32_t>(), (std::vector<int32_t>{7, -3}));
}

TEST(MathOps, AllFiniteWithoutInitOutputKeepsTheOutput) {
  Arr good = filled({3}, {1, 2, 3}, MX_FLOAT32), bad = filled({2}, {kNan, 1}, MX_FLOAT32);
  Arr flag = filled({1}, {0.5}, MX_FLOAT32);
  mx_ndarray_t in[] = {good.get()}, in_bad[] = {bad.get()};
  mx_ndarray_t outs_arr[] = {flag.get()};
  mx_ndarray_t* outs = outs_arr;
  int32_t nout = 1;
  const char* k[] = {"init_output"};
  const char* v[] = {"False"};
  ASSERT_MX_OK(mx_imperative_invoke("all_finite", 1, in, &nout, &outs, 1, k, v));
  EXPECT_EQ(flag.to_vector<float>(), (std::vector<float>{0.5f}));  // finite: left as it was
  ASSERT_MX_OK(mx_imperative_invoke("all_finite", 1, in_bad, &nout, &outs, 1, k, v));
  EXPECT_EQ(flag.to_vector<float>(), (std::vector<float>{0.0f}));
  ASSERT_MX_OK(mx_imperative_invoke("all_finite", 1, in, &nout, &outs, 0, nullptr, nullptr));
  EXPECT_EQ(flag.to_vector<float>(), (std::vector<float>{1.0f}));
}

TEST(MathOps, CreationOpsInIntegerDtypes) {
  auto r = call("_arange", {}, {{"start", "1.7"}, {"stop", "6"}, {"step", "2"}, {"dtype", "int64"}});
  ASSERT_EQ(r.size(), 1u);  // ceil(4.3 / 2) = 3 values; an integer dtype truncates start and step first
  EXPECT_EQ(r[0].to_vector<int64_t>(), (std::vector<int64_t>{1, 3, 5}));
  auto e = call("_eye", {}, {{"N", "2"}, {"dtype", "uint8"}});
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].to_vector<uint8_t>(), (std::vector<uint8_t>{1, 0, 0, 1}));
  auto l = call("_linspace", {}, {{"start", "0"}, {"stop", "10"}, {"num", "4"}, {"dtype", "int32"}});
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].to_vector<int32_t>(), (std::vector<int32_t>{0, 3, 6, 10}));
  Arr iv({3}, MX_INT32);
  iv.set(std::vector<int32_t>{4, 5, 6});
  auto dm = call("diag", {iv.get()}, {{"k", "1"}});
  ASSERT_EQ(dm.size(), 1u);
  EXPECT_EQ(dm[0].shape(), (Shape{4, 4}));
  EXPECT_EQ(dm[0].to_vector<int32_t>(), (std::vector<int32_t>{0, 4, 0, 0, 0, 0, 5, 0, 0, 0, 0, 6, 0, 0, 0, 0}));
  auto al = call("_contrib_arange_like", {iv.get()}, {{"start", "2"}, {"step", "3"}});
  ASSERT_EQ(al.size(), 1u);
  EXPECT_EQ(al[0].to_vector<int32_t>(), (std::vector<int32_t>{2, 5, 8}));
}

TEST(MathOps, SchemaErrorsNameOpAndShapes) {
  Arr x({2, 3}, MX_FLOAT32), y({3, 2}, MX_FLOAT32), len({3}, MX_FLOAT32), v({4}, MX_FLOAT32);
  auto expect_error = [](const std::string& msg, std::vector<std::string> parts) {
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  };
  expect_error(error_of("_hypot", {x.get(), y.get()}, {}), {"_hypot", "(2,3)", "(3,2)"});
  expect_error(error_of("_arange", {}, {{"start", "1"}, {"step", "0"}}), {"_arange", "step"});
  expect_error(error_of("_arange", {}, {{"start", "1"}, {"stop", "abc"}}), {"_arange", "abc"});
  expect_error(error_of("_arange", {}, {{"start", "0"}, {"stop", "1e300"}, {"step", "1e-300"}}), {"_arange"});
  expect_error(error_of("diag", {x.get()}, {{"axis1", "1"}, {"axis2", "-1"}}), {"diag", "(2,3)"});
  expect_error(error_of("diag", {x.get()}, {{"axis1", "2"}}), {"diag", "2"});
  expect_error(error_of("softmin", {x.get(), len.get()}, {{"use_length", "True"}}), {"softmin", "(3)", "(2)"});
  expect_error(error_of("softmin", {x.get()}, {{"axis", "2"}}), {"softmin", "2"});
  expect_error(error_of("amp_cast", {x.get()}, {{"dtype", "int32"}}), {"amp_cast", "int32"});
  expect_error(error_of("smooth_l1", {x.get()}, {{"scalar", "0"}}), {"smooth_l1", "scalar"});
  expect_error(error_of("nanprod", {x.get()}, {{"axis", "(2,)"}}), {"nanprod", "(2,3)"});
  expect_error(error_of("_contrib_arange_like", {x.get()}, {{"axis", "(0,1)"}}), {"_contrib_arange_like", "axis"});
  expect_error(error_of("_eye", {}, {{"N", "-1"}}), {"_eye", "N"});
  expect_error(error_of("_linspace", {}, {{"start", "0"}, {"stop", "1"}}), {"_linspace", "num"});
  expect_error(error_of("tan", {v.get(), v.get()}, {}), {"tan"});
  Arr scalar(std::vector<int64_t>{}, MX_FLOAT32), ints({3}, MX_INT32);
  expect_error(error_of("argmax_channel", {scalar.get()}, {}), {"argmax_channel", "()"});
  expect_error(error_of("log_sigmoid", {ints.get()}, {}), {"log_sigmoid", "int32"});
  expect_error(error_of("mish", {x.get(), y.get()}, {}), {"mish"});
}

Family math_family() {
  Family f;
  f.cases = unary_cases();
  for (auto* more : {activation_cases, row_cases, creation_cases})
    for (Case& c : more()) f.cases.push_back(std::move(c));
  f.gradient_only = {
      {"_backward_gammaln", "gammaln", nullptr},
      {"_backward_diag", "diag", nullptr},
  };
  return f;
}

}  // namespace conformance
