// Conformance of the sampling family (core/op/defs/random.cc, sampling.cc).
//  - Cases: the densities _random_pdf_X against their formulas (std::lgamma / std::exp), their
//    gradients (through _backward_pdf_X) against float64 finite differences.
//  - Dedicated tests: every sampler follows the Philox contract (element i owns block offset + i,
//    checked bit for bit against mx/philox.h for the exponential and randint), gives the same
//    numbers on both engines and for any prefix of its output, and has the mean, variance and
//    distribution it should (moments within a few standard errors, a chi-square goodness-of-fit
//    test at a fixed seed against a pmf / cdf computed here); multinomial, shuffle, the errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "../unit/test_util.h"
#include "harness.h"
#include "mx/philox.h"

namespace conformance {
namespace {

using mx::test::Arr;
using Attrs = std::vector<std::pair<std::string, std::string>>;

// ---------------------------------------------------------------- density references
// log p(x | a, b) of each scalar distribution (gamma's b is a rate, as MXNet's pdf).
double lp_uniform(double x, double l, double h) { return x >= l && x <= h ? -std::log(h - l) : -HUGE_VAL; }
double lp_normal(double x, double m, double s) {
  return -0.5 * (x - m) * (x - m) / (s * s) - std::log(s * std::sqrt(2 * M_PI));
}
double lp_gamma(double x, double a, double b) { return a * std::log(b) + (a - 1) * std::log(x) - b * x - std::lgamma(a); }
double lp_exponential(double x, double l, double) { return std::log(l) - l * x; }
double lp_poisson(double x, double l, double) { return x * std::log(l) - l - std::lgamma(x + 1); }
double lp_negbin(double x, double k, double p) {
  return std::lgamma(x + k) - std::lgamma(k) - std::lgamma(x + 1) + k * std::log(p) + x * std::log(1 - p);
}
double lp_gen_negbin(double x, double mu, double alpha) { return lp_negbin(x, 1 / alpha, 1 / (1 + mu * alpha)); }

// A case of _random_pdf_<dist>: samples (2, 3) (two parameter sets of 3 samples) in [xlo, xhi).
Case pdf_case(const std::string& dist, double (*lp)(double, double, double), int nparams, double xlo, double xhi,
              double alo, double ahi, double blo, double bhi, bool is_log, bool counts = false) {
  std::vector<InputSpec> in = {{{2, 3}, xlo, xhi, counts}, {{2}, alo, ahi}};
  if (nparams > 1) in.push_back({{2}, blo, bhi});
  Case c{"_random_pdf_" + dist, {{"is_log", is_log ? "True" : "False"}}, in,
         [=](const std::vector<Vec>& v) {
           Vec y(6);
           for (size_t i = 0; i < 6; ++i) {
             const double l = lp(v[0][i], v[1][i / 3], nparams > 1 ? v[2][i / 3] : 0.0);
             y[i] = is_log ? l : std::exp(l);
           }
           return y;
         }};
  if (counts) c.no_fd = {0};  // counts have no derivative
  return c;
}

// Dirichlet: alpha (2, 4), samples (2, 3, 4) -> densities (2, 3).
Case dirichlet_case(bool is_log) {
  return Case{"_random_pdf_dirichlet", {{"is_log", is_log ? "True" : "False"}}, {{{2, 3, 4}, 0.1, 0.9}, {{2, 4}, 0.6, 3}},
              [=](const std::vector<Vec>& v) {
                Vec y(6);
                for (size_t i = 0; i < 6; ++i) {
                  const size_t p = i / 3;
                  double sum = 0, l = 0;
                  for (size_t j = 0; j < 4; ++j) {
                    const double a = v[1][p * 4 + j];
                    sum += a;
                    l += (a - 1) * std::log(v[0][i * 4 + j]) - std::lgamma(a);
                  }
                  l += std::lgamma(sum);
                  y[i] = is_log ? l : std::exp(l);
                }
                return y;
              }};
}

// ---------------------------------------------------------------- calling ops
// "(n,)", built by appends ("(" + std::string&& trips GCC 12's -Wrestrict).
std::string shape1(int64_t n) {
  std::string s = "(";
  s += std::to_string(n);
  s += ",)";
  return s;
}

std::vector<Arr> call(const std::string& op, std::vector<mx_ndarray_t> in, const Attrs& attrs) {
  std::vector<const char*> k, v;
  for (auto& [a, b] : attrs) k.push_back(a.c_str()), v.push_back(b.c_str());
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  EXPECT_EQ(mx_imperative_invoke(op.c_str(), int32_t(in.size()), in.data(), &nout, &outs, int32_t(k.size()), k.data(),
                                 v.data()),
            0)
      << op << ": " << mx_get_last_error();
  std::vector<Arr> r;
  for (int32_t i = 0; i < nout; ++i) r.emplace_back(outs[i]);
  return r;
}

// The values of any array as doubles.
Vec values(const Arr& a) {
  int32_t dt = 0;
  EXPECT_MX_OK(mx_ndarray_get_dtype(a.get(), &dt));
  Vec out;
  auto add = [&](auto v) { out.assign(v.begin(), v.end()); };
  switch (dt) {
    case MX_FLOAT64: add(a.to_vector<double>()); break;
    case MX_INT32: add(a.to_vector<int32_t>()); break;
    case MX_INT64: add(a.to_vector<int64_t>()); break;
    default: add(a.to_vector<float>()); break;  // float32 (the tests read no other dtype)
  }
  return out;
}

Arr filled(const Shape& s, const Vec& v) {
  Arr a(s, MX_FLOAT64);
  a.set(v);
  return a;
}

// `n` float64 samples of a _random_X op after seeding with `seed`.
Vec draw(const std::string& op, Attrs attrs, int64_t n, uint64_t seed) {
  EXPECT_MX_OK(mx_random_seed(seed));
  attrs.push_back({"shape", shape1(n)});
  if (op != "_random_randint") attrs.push_back({"dtype", "float64"});
  auto out = call(op, {}, attrs);
  return out.empty() ? Vec{} : values(out[0]);
}

// The samplers checked below: op, attributes, and the distribution's mean and variance.
struct Sampler {
  std::string op;
  Attrs attrs;
  double mean, var;
};
const std::vector<Sampler>& samplers() {
  static const std::vector<Sampler> s = {
      {"_random_exponential", {{"lam", "2.5"}}, 0.4, 0.16},
      {"_random_gamma", {{"alpha", "3.5"}, {"beta", "0.5"}}, 1.75, 0.875},
      {"_random_gamma", {{"alpha", "0.4"}, {"beta", "2"}}, 0.8, 1.6},  // alpha < 1: the boosted form
      {"_random_poisson", {{"lam", "3.5"}}, 3.5, 3.5},                // Knuth's product
      {"_random_poisson", {{"lam", "40"}}, 40, 40},                   // PTRS
      {"_random_negative_binomial", {{"k", "3"}, {"p", "0.4"}}, 4.5, 11.25},
      {"_random_generalized_negative_binomial", {{"mu", "2"}, {"alpha", "0.3"}}, 2, 3.2},
      {"_random_randint", {{"low", "-3"}, {"high", "7"}}, 1.5, 8.25},
  };
  return s;
}

// ---------------------------------------------------------------- goodness of fit
// Regularized lower incomplete gamma P(a, x) (series below a + 1, continued fraction above).
double gamma_p(double a, double x) {
  if (x <= 0) return 0;
  const double lg = std::lgamma(a);
  if (x < a + 1) {
    double term = 1 / a, sum = term;
    for (int n = 1; n < 1000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (term < sum * 1e-16) break;
    }
    return sum * std::exp(-x + a * std::log(x) - lg);
  }
  double b = x + 1 - a, c = 1e300, d = 1 / b, h = d;  // Lentz's continued fraction for Q
  for (int n = 1; n < 1000; ++n) {
    const double an = -n * (n - a);
    b += 2;
    d = an * d + b;
    d = std::fabs(d) < 1e-300 ? 1e-300 : d;
    c = b + an / c;
    c = std::fabs(c) < 1e-300 ? 1e-300 : c;
    d = 1 / d;
    h *= d * c;
    if (std::fabs(d * c - 1) < 1e-16) break;
  }
  return 1 - std::exp(-x + a * std::log(x) - lg) * h;
}

// Pearson's statistic of `x` against `cdf` over `bins` equiprobable bins found by bisection on
// [lo, hi] (continuous distributions).
double chi2_continuous(const Vec& x, const std::function<double(double)>& cdf, double lo, double hi, int bins) {
  std::vector<double> edges;
  for (int b = 1; b < bins; ++b) {
    double l = lo, h = hi;
    for (int it = 0; it < 200; ++it) {
      const double m = 0.5 * (l + h);
      (cdf(m) < double(b) / bins ? l : h) = m;
    }
    edges.push_back(0.5 * (l + h));
  }
  std::vector<double> count(size_t(bins), 0);
  for (double v : x) count[size_t(std::upper_bound(edges.begin(), edges.end(), v) - edges.begin())] += 1;
  const double e = double(x.size()) / bins;
  double chi2 = 0;
  for (double c : count) chi2 += (c - e) * (c - e) / e;
  return chi2;
}

// Pearson's statistic of integer samples against `pmf` over [lo, hi] (cells with expectation < 5
// pooled with their neighbours; the mass and the samples beyond the range go to the last cell);
// *df gets the degrees of freedom (cells - 1).
double chi2_discrete(const Vec& x, const std::function<double(int64_t)>& pmf, int64_t lo, int64_t hi, int* df) {
  std::map<int64_t, double> observed;
  for (double v : x) observed[int64_t(v)] += 1;
  const double n = double(x.size());
  std::vector<std::pair<double, double>> cells;  // (expected, observed)
  double pe = 0, po = 0, total_e = 0, total_o = 0;
  for (int64_t k = lo; k <= hi; ++k) {
    const double e = n * pmf(k), o = observed.count(k) ? observed[k] : 0.0;
    pe += e, po += o, total_e += e, total_o += o;
    if (pe >= 5) cells.push_back({pe, po}), pe = po = 0;
  }
  pe += std::max(0.0, n - total_e), po += n - total_o;
  if (pe >= 5 || cells.empty()) cells.push_back({pe, po});
  else cells.back().first += pe, cells.back().second += po;
  double chi2 = 0;
  for (auto& [e, o] : cells) chi2 += e > 0 ? (o - e) * (o - e) / e : (o > 0 ? HUGE_VAL : 0.0);
  *df = int(cells.size()) - 1;
  return chi2;
}

// A bound that Pearson's statistic with df degrees of freedom exceeds with probability < 1e-6
// (Wilson-Hilferty): a correct sampler at a fixed seed stays below it, a wrong one does not.
double chi2_bound(int df) {
  const double z = 4.75, k = df;
  const double t = 1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k));
  return k * t * t * t;
}

std::function<double(int64_t)> pmf_of(const Sampler& s) {
  auto a = [&](const char* name) {
    for (auto& [k, v] : s.attrs)
      if (k == name) return std::stod(v);
    return 0.0;
  };
  if (s.op == "_random_poisson")
    return [l = a("lam")](int64_t k) { return k < 0 ? 0.0 : std::exp(lp_poisson(double(k), l, 0)); };
  if (s.op == "_random_negative_binomial")
    return [k = a("k"), p = a("p")](int64_t x) { return x < 0 ? 0.0 : std::exp(lp_negbin(double(x), k, p)); };
  if (s.op == "_random_generalized_negative_binomial")
    return [m = a("mu"), al = a("alpha")](int64_t x) { return x < 0 ? 0.0 : std::exp(lp_gen_negbin(double(x), m, al)); };
  return [lo = a("low"), hi = a("high")](int64_t x) { return x >= lo && x < hi ? 1 / (hi - lo) : 0.0; };
}

}  // namespace

Family random_family() {
  Family f;
  for (bool lg : {false, true}) {
    f.cases.push_back(pdf_case("uniform", lp_uniform, 2, -1, 1, -3, -2, 2, 3, lg));
    f.cases.push_back(pdf_case("normal", lp_normal, 2, -2, 2, -1, 1, 0.5, 2, lg));
    f.cases.push_back(pdf_case("gamma", lp_gamma, 2, 0.5, 3, 1, 3, 0.5, 2, lg));
    f.cases.push_back(pdf_case("exponential", lp_exponential, 1, 0.1, 3, 0.5, 2, 0, 0, lg));
    f.cases.push_back(pdf_case("poisson", lp_poisson, 1, 0, 7, 0.5, 4, 0, 0, lg, true));
    f.cases.push_back(pdf_case("negative_binomial", lp_negbin, 2, 0, 7, 1, 4, 0.2, 0.8, lg, true));
    f.cases.push_back(pdf_case("generalized_negative_binomial", lp_gen_negbin, 2, 0, 7, 0.5, 3, 0.2, 1.5, lg, true));
    f.cases.push_back(dirichlet_case(lg));
  }
  const char* kContract = "conformance/cases_random.cc:RandomSamplers.FollowThePhiloxElementContract";
  const char* kRepro = "conformance/cases_random.cc:RandomSamplers.SameNumbersOnEitherEngineAndForAnyPrefix";
  for (const char* op : {"_random_exponential", "_random_randint"}) f.dedicated.push_back({op, kContract});
  for (const char* op : {"_random_gamma", "_random_poisson", "_random_negative_binomial",
                         "_random_generalized_negative_binomial"})
    f.dedicated.push_back({op, kRepro});
  for (const char* op : {"_sample_uniform", "_sample_normal", "_sample_gamma", "_sample_exponential", "_sample_poisson",
                         "_sample_negative_binomial", "_sample_generalized_negative_binomial"})
    f.dedicated.push_back({op, "conformance/cases_random.cc:SampleOps.OneDistributionPerParameterElement"});
  f.dedicated.push_back({"_sample_multinomial", "conformance/cases_random.cc:SampleOps.MultinomialFrequenciesLogProbsAndGradient"});
  f.dedicated.push_back({"_shuffle", "conformance/cases_random.cc:SampleOps.ShufflePermutesRowsUniformly"});
  f.gradient_only = {
      {"_backward_sample_multinomial", "_sample_multinomial",
       "conformance/cases_random.cc:SampleOps.MultinomialFrequenciesLogProbsAndGradient"},
      {"_backward_pdf_uniform", "_random_pdf_uniform", nullptr},
      {"_backward_pdf_normal", "_random_pdf_normal", nullptr},
      {"_backward_pdf_gamma", "_random_pdf_gamma", nullptr},
      {"_backward_pdf_exponential", "_random_pdf_exponential", nullptr},
      {"_backward_pdf_poisson", "_random_pdf_poisson", nullptr},
      {"_backward_pdf_negative_binomial", "_random_pdf_negative_binomial", nullptr},
      {"_backward_pdf_generalized_negative_binomial", "_random_pdf_generalized_negative_binomial", nullptr},
      {"_backward_pdf_dirichlet", "_random_pdf_dirichlet", nullptr},
  };
  return f;
}

// Element i of an element sampler draws from Philox block offset + i: its first two lanes make the
// 53-bit uniform of the exponential (-log(1 - U) / lam) and the 64 bits of randint.
TEST(RandomSamplers, FollowThePhiloxElementContract) {
  const uint64_t seed = 99;
  const Vec e = draw("_random_exponential", {{"lam", "2"}}, 64, seed);
  const Vec r = draw("_random_randint", {{"low", "-5"}, {"high", "1000000007"}, {"dtype", "int64"}}, 64, seed);
  ASSERT_EQ(e.size(), 64u);
  ASSERT_EQ(r.size(), 64u);
  for (uint64_t i = 0; i < 64; ++i) {
    const mx_philox_u32x4 b = mx_philox_block(seed, i);  // the first draw after seeding is at offset 0
    const double u = double((uint64_t(b.v[0]) << 32 | b.v[1]) >> 11) / 9007199254740992.0;
    EXPECT_NEAR(e[i], -std::log(1 - u) / 2, 1e-15 * (1 + e[i])) << i;
    EXPECT_EQ(r[i], double(-5 + int64_t((uint64_t(b.v[0]) << 32 | b.v[1]) % 1000000012u))) << i;
  }
  // The next call starts after the 64 blocks the randint call reserved (draw() seeded again before it).
  const auto next = call("_random_randint", {}, {{"low", "0"}, {"high", "1000"}, {"shape", "(4,)"}});
  ASSERT_EQ(next.size(), 1u);
  for (uint64_t i = 0; i < 4; ++i) {
    const mx_philox_u32x4 b = mx_philox_block(seed, 64 + i);
    EXPECT_EQ(values(next[0])[i], double((uint64_t(b.v[0]) << 32 | b.v[1]) % 1000)) << i;
  }
}

// The rejection samplers draw a variable number of uniforms per element, each from its own
// sub-stream: the threaded and naive engines agree, and the first k samples of a long call are
// those of a short one (no dependence on how the work is split between threads).
TEST(RandomSamplers, SameNumbersOnEitherEngineAndForAnyPrefix) {
  for (const char* op : {"_random_gamma", "_random_poisson", "_random_negative_binomial",
                         "_random_generalized_negative_binomial", "_random_exponential", "_random_randint"})
    EXPECT_TRUE(std::any_of(samplers().begin(), samplers().end(), [&](const Sampler& s) { return s.op == op; })) << op;
  for (const Sampler& s : samplers()) {
    const Vec threaded = draw(s.op, s.attrs, 5000, 7);
    ASSERT_MX_OK(mx_engine_set_type("naive"));
    const Vec naive = draw(s.op, s.attrs, 5000, 7);
    ASSERT_MX_OK(mx_engine_set_type("threaded"));
    EXPECT_EQ(threaded, naive) << s.op;
    // A shorter call splits its elements between the threads at other places: the same numbers.
    for (int64_t n : {37, 3001}) {
      const Vec prefix = draw(s.op, s.attrs, n, 7);
      EXPECT_TRUE(std::equal(prefix.begin(), prefix.end(), threaded.begin())) << s.op << " first " << n;
    }
    EXPECT_NE(draw(s.op, s.attrs, 5000, 8), threaded) << s.op << ": another seed, other numbers";
  }
  // float32 samples are the float64 samples rounded.
  const Vec g64 = draw("_random_gamma", {{"alpha", "2"}}, 100, 3);
  ASSERT_MX_OK(mx_random_seed(3));
  const auto g32 = call("_random_gamma", {}, {{"alpha", "2"}, {"shape", "(100,)"}});
  ASSERT_EQ(g32.size(), 1u);
  const Vec got = values(g32[0]);
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(got[i], double(float(g64[i]))) << i;
}

TEST(RandomSamplers, MomentsAndGoodnessOfFitAtAFixedSeed) {
  const int64_t n = 200000;
  for (const Sampler& s : samplers()) {
    const Vec x = draw(s.op, s.attrs, n, 2024);
    ASSERT_EQ(x.size(), size_t(n));
    double mean = 0;
    for (double v : x) mean += v;
    mean /= double(n);
    double m2 = 0, m4 = 0;
    for (double v : x) {
      const double d = v - s.mean;
      m2 += d * d, m4 += d * d * d * d;
    }
    m2 /= double(n), m4 /= double(n);
    // mean within 5 standard errors; the variance likewise (its standard error from the 4th moment)
    EXPECT_NEAR(mean, s.mean, 5 * std::sqrt(s.var / double(n))) << s.op;
    EXPECT_NEAR(m2, s.var, 5 * std::sqrt((m4 - s.var * s.var) / double(n))) << s.op;
    double chi2;
    int df;
    if (s.op == "_random_exponential") {
      df = 49;
      chi2 = chi2_continuous(x, [](double v) { return v <= 0 ? 0 : 1 - std::exp(-2.5 * v); }, 0, 50, 50);
    } else if (s.op == "_random_gamma") {
      const double a = std::stod(s.attrs[0].second), b = std::stod(s.attrs[1].second);
      df = 49;
      chi2 = chi2_continuous(x, [=](double v) { return gamma_p(a, v / b); }, 0, 200, 50);
    } else {
      chi2 = chi2_discrete(x, pmf_of(s), -10, 400, &df);
    }
    EXPECT_LT(chi2, chi2_bound(df)) << s.op << " " << s.attrs[0].second << ": chi-square " << chi2 << " on " << df
                                    << " degrees of freedom";
  }
}

TEST(SampleOps, OneDistributionPerParameterElement) {
  // Two parameter sets, 20000 samples each: output (2, 20000), row r drawn from set r.
  struct Multi {
    const char* op;
    Vec a, b;  // per-set parameters (b empty for one-parameter distributions)
    std::function<std::pair<double, double>(double, double)> moments;
  };
  const std::vector<Multi> ops = {
      {"_sample_uniform", {-1, 2}, {1, 10}, [](double l, double h) { return std::make_pair((l + h) / 2, (h - l) * (h - l) / 12); }},
      {"_sample_normal", {0, 5}, {1, 0.5}, [](double m, double s) { return std::make_pair(m, s * s); }},
      {"_sample_gamma", {0.5, 4}, {1, 2}, [](double a, double b) { return std::make_pair(a * b, a * b * b); }},
      {"_sample_exponential", {1, 4}, {}, [](double l, double) { return std::make_pair(1 / l, 1 / (l * l)); }},
      {"_sample_poisson", {2, 25}, {}, [](double l, double) { return std::make_pair(l, l); }},
      {"_sample_negative_binomial", {2, 5}, {0.5, 0.8},
       [](double k, double p) { return std::make_pair(k * (1 - p) / p, k * (1 - p) / (p * p)); }},
      {"_sample_generalized_negative_binomial", {1, 3}, {0.5, 0.2},
       [](double m, double a) { return std::make_pair(m, m + a * m * m); }},
  };
  const int64_t m = 20000;
  for (const Multi& o : ops) {
    Arr pa = filled({2}, o.a);
    Arr pb = o.b.empty() ? Arr() : filled({2}, o.b);
    std::vector<mx_ndarray_t> in = {pa.get()};
    if (!o.b.empty()) in.push_back(pb.get());
    ASSERT_MX_OK(mx_random_seed(11));
    auto out = call(o.op, in, {{"shape", shape1(m)}});
    ASSERT_EQ(out.size(), 1u) << o.op;
    EXPECT_EQ(out[0].shape(), (Shape{2, m})) << o.op;
    int32_t dt = 0;
    EXPECT_MX_OK(mx_ndarray_get_dtype(out[0].get(), &dt));
    EXPECT_EQ(dt, MX_FLOAT64) << o.op << ": the parameters' dtype";
    const Vec x = values(out[0]);
    for (size_t r = 0; r < 2; ++r) {
      const auto [mu, var] = o.moments(o.a[r], o.b.empty() ? 0 : o.b[r]);
      double mean = 0, m2 = 0;
      for (int64_t j = 0; j < m; ++j) mean += x[r * size_t(m) + size_t(j)];
      mean /= double(m);
      for (int64_t j = 0; j < m; ++j) m2 += (x[r * size_t(m) + size_t(j)] - mu) * (x[r * size_t(m) + size_t(j)] - mu);
      m2 /= double(m);
      EXPECT_NEAR(mean, mu, 5 * std::sqrt(var / double(m))) << o.op << " row " << r;
      EXPECT_NEAR(m2, var, 0.06 * var) << o.op << " row " << r;
    }
    // Reproducible on the naive engine too.
    ASSERT_MX_OK(mx_engine_set_type("naive"));
    ASSERT_MX_OK(mx_random_seed(11));
    auto again = call(o.op, in, {{"shape", shape1(m)}});
    ASSERT_MX_OK(mx_engine_set_type("threaded"));
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(values(again[0]), x) << o.op;
  }
}

TEST(SampleOps, MultinomialFrequenciesLogProbsAndGradient) {
  const Vec p = {0.1, 0.2, 0.3, 0.4, 0.25, 0.25, 0.5, 0};
  Arr data = filled({2, 4}, p);
  ASSERT_MX_OK(mx_random_seed(5));
  auto out = call("_sample_multinomial", {data.get()}, {{"shape", "(40000,)"}, {"get_prob", "True"}});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 40000}));
  int32_t dt = 0;
  EXPECT_MX_OK(mx_ndarray_get_dtype(out[0].get(), &dt));
  EXPECT_EQ(dt, MX_INT32);
  const Vec s = values(out[0]), lp = values(out[1]);
  for (size_t r = 0; r < 2; ++r) {
    Vec x(s.begin() + long(r * 40000), s.begin() + long((r + 1) * 40000));
    int df = 0;
    const double chi2 = chi2_discrete(x, [&](int64_t k) { return k >= 0 && k < 4 ? p[r * 4 + size_t(k)] : 0.0; }, 0, 3, &df);
    EXPECT_LT(chi2, chi2_bound(df)) << "row " << r;
    for (size_t j = 0; j < 40000; ++j) {
      ASSERT_NE(p[r * 4 + size_t(x[j])], 0.0) << "a category of probability 0 was drawn";
      ASSERT_NEAR(lp[r * 40000 + j], std::log(p[r * 4 + size_t(x[j])]), 1e-12);
    }
  }
  // d sum(w * log p[sample]) / d data = w / p[sample] at the sample, minus sum(w) / sum(row) everywhere
  // (the probabilities are normalised by their sum).
  Arr var = filled({1, 3}, {1, 2, 5}), grad = filled({1, 3}, {0, 0, 0});
  mx_ndarray_t hv = var.get(), hg = grad.get();
  int32_t req = MX_GRAD_WRITE, prev = 0;
  ASSERT_MX_OK(mx_autograd_mark_variables(1, &hv, &req, &hg));
  ASSERT_MX_OK(mx_autograd_set_recording(1, &prev));
  auto rec = call("_sample_multinomial", {hv}, {{"shape", "(6,)"}, {"get_prob", "True"}});
  ASSERT_MX_OK(mx_autograd_set_recording(prev, nullptr));
  ASSERT_EQ(rec.size(), 2u);
  const Vec w = {1, -2, 0.5, 3, 1, -1};
  Arr head = filled({1, 6}, w);
  mx_ndarray_t heads[] = {rec[1].get()}, head_grads[] = {head.get()};
  ASSERT_MX_OK(mx_autograd_backward(1, heads, head_grads, 0, 0, 1));
  const Vec smp = values(rec[0]), d = {1, 2, 5};
  Vec want(3, 0);
  for (size_t j = 0; j < 6; ++j) {
    want[size_t(smp[j])] += w[j] / d[size_t(smp[j])];
    for (double& g : want) g -= w[j] / 8;
  }
  const Vec got = values(grad);
  for (size_t j = 0; j < 3; ++j) EXPECT_NEAR(got[j], want[j], 1e-12) << j;
}

TEST(SampleOps, ShufflePermutesRowsUniformly) {
  Arr rows = filled({3, 2}, {0, 0.5, 1, 1.5, 2, 2.5});
  ASSERT_MX_OK(mx_random_seed(21));
  std::map<Vec, double> seen;
  for (int t = 0; t < 1200; ++t) {
    auto out = call("_shuffle", {rows.get()}, {});
    ASSERT_EQ(out.size(), 1u);
    const Vec v = values(out[0]);
    Vec order;
    for (size_t r = 0; r < 3; ++r) {
      ASSERT_EQ(v[2 * r + 1], v[2 * r] + 0.5) << "rows move whole";
      order.push_back(v[2 * r]);
    }
    Vec sorted = order;
    std::sort(sorted.begin(), sorted.end());
    ASSERT_EQ(sorted, (Vec{0, 1, 2})) << "a permutation of the rows";
    seen[order] += 1;
  }
  ASSERT_EQ(seen.size(), 6u);
  double chi2 = 0;
  for (auto& [k, c] : seen) chi2 += (c - 200) * (c - 200) / 200;
  EXPECT_LT(chi2, chi2_bound(5));
  // the same seed, the same permutation
  ASSERT_MX_OK(mx_random_seed(4));
  Arr big = filled({100}, [] {
    Vec v(100);
    for (size_t i = 0; i < 100; ++i) v[i] = double(i);
    return v;
  }());
  const Vec a = values(call("_shuffle", {big.get()}, {})[0]);
  ASSERT_MX_OK(mx_random_seed(4));
  EXPECT_EQ(values(call("shuffle", {big.get()}, {})[0]), a);
}

TEST(RandomSamplers, InvalidParametersAreSchemaErrors) {
  auto fails = [](const std::string& op, std::vector<mx_ndarray_t> in, const Attrs& attrs, const std::string& part) {
    std::vector<const char*> k, v;
    for (auto& [a, b] : attrs) k.push_back(a.c_str()), v.push_back(b.c_str());
    int32_t nout = 0;
    mx_ndarray_t* outs = nullptr;
    const int rc = mx_imperative_invoke(op.c_str(), int32_t(in.size()), in.data(), &nout, &outs, int32_t(k.size()),
                                        k.data(), v.data());
    EXPECT_NE(rc, 0) << op << " accepted invalid input";
    if (rc == 0) return;
    const std::string msg = mx_get_last_error();
    EXPECT_NE(msg.find(op), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << "'" << part << "' not in: " << msg;
  };
  fails("_random_exponential", {}, {{"lam", "0"}}, "lam");
  fails("_random_gamma", {}, {{"alpha", "-1"}}, "alpha");
  fails("_random_poisson", {}, {{"lam", "-1"}}, "lam");
  fails("_random_negative_binomial", {}, {{"p", "1.5"}}, "p");
  fails("_random_randint", {}, {{"low", "3"}, {"high", "3"}}, "low");
  fails("_random_randint", {}, {{"low", "0"}, {"high", "5"}, {"dtype", "float32"}}, "dtype");
  Arr a({2}, MX_FLOAT32), b({3}, MX_FLOAT32), x({3, 4}, MX_FLOAT32), i({2}, MX_INT32);
  fails("_sample_normal", {a.get(), b.get()}, {}, "(3)");
  fails("_sample_poisson", {i.get()}, {}, "int32");
  fails("_random_pdf_normal", {x.get(), a.get(), a.get()}, {}, "(3,4)");
  fails("_sample_multinomial", {x.get()}, {{"dtype", "int64"}}, "dtype");
}

}  // namespace conformance
