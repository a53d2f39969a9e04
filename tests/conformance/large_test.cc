// Large inputs, where CPU kernels split work across threads: reductions along every (A, R, B)
// layout and sort rows, against naive float64 references.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../unit/test_util.h"
#include "harness.h"

namespace {

using conformance::numel;
using conformance::Shape;
using conformance::Vec;
using mx::test::Arr;

Vec naive(const Vec& x, int64_t A, int64_t R, int64_t B, const std::string& op) {
  Vec y(size_t(A * B));
  for (int64_t a = 0; a < A; ++a)
    for (int64_t b = 0; b < B; ++b) {
      double acc = op == "max" ? -1e300 : 0;
      for (int64_t r = 0; r < R; ++r) {
        const double v = x[size_t((a * R + r) * B + b)];
        if (op == "max")
          acc = std::max(acc, v);
        else if (op == "norm")
          acc += v * v;
        else
          acc += v;
      }
      if (op == "mean") acc /= double(R);
      if (op == "norm") acc = std::sqrt(acc);
      y[size_t(a * B + b)] = acc;
    }
  return y;
}

TEST(LargeInputs, ReductionsMatchNaiveOnEveryLayout) {
  struct Layout {
    Shape shape;
    const char* axis;
    int64_t A, R, B;
  };
  const std::vector<Layout> layouts = {
      {{1 << 17}, "None", 1, 1 << 17, 1},    // one output, blocks of R in parallel
      {{64, 4096}, "(1,)", 64, 4096, 1},     // rows
      {{16, 300, 20}, "(1,)", 16, 300, 20},  // (A, R, B), parallel over A
      {{2, 3000, 40}, "(1,)", 2, 3000, 40},  // small A: parallel over B
      {{3000, 64}, "(0,)", 1, 3000, 64},     // column sums (FullyConnected's bias gradient)
  };
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const Layout& l : layouts) {
    Vec x(size_t(numel(l.shape)));
    for (double& v : x) v = u(rng);
    Arr a(l.shape);
    a.set(std::vector<float>(x.begin(), x.end()));
    Vec xf;  // the float32 values the op sees
    for (float f : a.to_vector<float>()) xf.push_back(f);
    for (const char* op : {"sum", "mean", "max", "norm"}) {
      const char* k[] = {"axis"};
      const char* v[] = {l.axis};
      Arr y = mx::test::invoke1(op, {a.get()}, 1, k, v);
      const auto got = y.to_vector<float>();
      const Vec want = naive(xf, l.A, l.R, l.B, op);
      ASSERT_EQ(got.size(), want.size()) << op;
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << op << " axis " << l.axis << " at " << i;
    }
  }
}

TEST(LargeInputs, BroadcastingMatchesNaive) {
  struct C {
    Shape a, b, out;
  };
  const std::vector<C> cases = {{{512, 300}, {1, 300}, {512, 300}},
                                {{512, 1}, {1, 300}, {512, 300}},
                                {{1 << 17}, {1 << 17}, {1 << 17}},
                                {{3, 200, 70}, {200, 1}, {3, 200, 70}}};
  std::mt19937_64 rng(13);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const C& c : cases) {
    std::vector<float> xa(size_t(numel(c.a))), xb(size_t(numel(c.b)));
    for (float& v : xa) v = u(rng);
    for (float& v : xb) v = u(rng);
    Arr a(c.a), b(c.b);
    a.set(xa);
    b.set(xb);
    Arr y = mx::test::invoke1("broadcast_mul", {a.get(), b.get()});
    const auto got = y.to_vector<float>();
    ASSERT_EQ(int64_t(got.size()), numel(c.out));
    for (int64_t i = 0; i < numel(c.out); ++i) {
      const auto co = conformance::unravel(i, c.out);
      auto at = [&](const Shape& s) {  // right-aligned, size-1 dims broadcast
        std::vector<int64_t> k(s.size());
        for (size_t d = 0; d < s.size(); ++d) k[d] = s[d] == 1 ? 0 : co[d + co.size() - s.size()];
        return size_t(conformance::ravel(k, s));
      };
      ASSERT_EQ(got[size_t(i)], xa[at(c.a)] * xb[at(c.b)]) << "element " << i;
    }
  }
}

std::vector<float> random_floats(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(-2, 2);
  std::vector<float> v(n);
  for (float& e : v) e = u(rng);
  return v;
}

void expect_near_all(const std::vector<float>& got, const Vec& want, double tol, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " at " << i;
}

TEST(LargeInputs, SoftmaxLayerNormPoolingBatchNormMatchNaive) {
  // softmax over rows of 50: 4000 rows
  const int64_t rows = 4000, n = 50;
  const auto x = random_floats(size_t(rows * n), 21);
  Arr a({rows, n});
  a.set(x);
  Vec want(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -1e300, sum = 0;
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, double(x[size_t(r * n + j)]));
    for (int64_t j = 0; j < n; ++j) sum += std::exp(double(x[size_t(r * n + j)]) - mx);
    for (int64_t j = 0; j < n; ++j) want[size_t(r * n + j)] = std::exp(double(x[size_t(r * n + j)]) - mx) / sum;
  }
  expect_near_all(mx::test::invoke1("softmax", {a.get()}).to_vector<float>(), want, 1e-5, "softmax");

  // LayerNorm over the same rows, gamma 1 and beta 0
  Arr g({n}), b({n});
  g.set(std::vector<float>(size_t(n), 1.0f));
  b.set(std::vector<float>(size_t(n), 0.0f));
  for (int64_t r = 0; r < rows; ++r) {
    double mu = 0, var = 0;
    for (int64_t j = 0; j < n; ++j) mu += x[size_t(r * n + j)] / double(n);
    for (int64_t j = 0; j < n; ++j) var += std::pow(x[size_t(r * n + j)] - mu, 2) / double(n);
    for (int64_t j = 0; j < n; ++j) want[size_t(r * n + j)] = (x[size_t(r * n + j)] - mu) / std::sqrt(var + 1e-5);
  }
  expect_near_all(mx::test::invoke1("LayerNorm", {a.get(), g.get(), b.get()}).to_vector<float>(), want, 1e-4,
                  "LayerNorm");

  // 2x2 max pooling, stride 2, over 8 x 16 planes of 32 x 32
  const int64_t planes = 8 * 16, hw = 32, o = 16;
  const auto img = random_floats(size_t(planes * hw * hw), 22);
  Arr im({8, 16, hw, hw});
  im.set(img);
  Vec pooled(size_t(planes * o * o));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < o; ++y)
      for (int64_t xx = 0; xx < o; ++xx) {
        double m = -1e300;
        for (int64_t dy = 0; dy < 2; ++dy)
          for (int64_t dx = 0; dx < 2; ++dx)
            m = std::max(m, double(img[size_t((p * hw + 2 * y + dy) * hw + 2 * xx + dx)]));
        pooled[size_t((p * o + y) * o + xx)] = m;
      }
  const char* pk[] = {"kernel", "stride", "pool_type"};
  const char* pv[] = {"(2,2)", "(2,2)", "max"};
  expect_near_all(mx::test::invoke1("Pooling", {im.get()}, 3, pk, pv).to_vector<float>(), pooled, 0, "Pooling");

  // BatchNorm with global statistics over 16 channels of 8 x 32 x 32
  std::vector<float> mean(16), var(16), gamma(16), beta(16);
  for (int c = 0; c < 16; ++c)
    mean[size_t(c)] = 0.1f * float(c), var[size_t(c)] = 0.5f + 0.1f * float(c), gamma[size_t(c)] = 1.5f,
    beta[size_t(c)] = -0.25f;
  Arr mm({16}), mv({16}), ga({16}), be({16});
  mm.set(mean), mv.set(var), ga.set(gamma), be.set(beta);
  Vec normed(img.size());
  for (int64_t i = 0; i < int64_t(img.size()); ++i) {
    const size_t c = size_t((i / (hw * hw)) % 16);
    normed[size_t(i)] = (img[size_t(i)] - mean[c]) / std::sqrt(var[c] + 1e-3) * gamma[c] + beta[c];
  }
  const char* bk[] = {"use_global_stats", "fix_gamma"};
  const char* bv[] = {"True", "False"};
  std::vector<mx_ndarray_t> in = {im.get(), ga.get(), be.get(), mm.get(), mv.get()};
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  ASSERT_EQ(mx_imperative_invoke("BatchNorm", 5, in.data(), &nout, &outs, 2, bk, bv), 0) << mx_get_last_error();
  Arr y(outs[0]);
  for (int32_t i = 1; i < nout; ++i) mx_ndarray_free(outs[i]);
  expect_near_all(y.to_vector<float>(), normed, 1e-5, "BatchNorm");
}

TEST(LargeInputs, SortRowsMatchStdSort) {
  std::mt19937_64 rng(12);
  std::uniform_real_distribution<float> u(-1, 1);
  const int64_t rows = 300, len = 500;
  std::vector<float> x(size_t(rows * len));
  for (float& v : x) v = u(rng);
  Arr a({rows, len});
  a.set(x);
  Arr y = mx::test::invoke1("sort", {a.get()});
  auto got = y.to_vector<float>();
  for (int64_t r = 0; r < rows; ++r) std::sort(x.begin() + r * len, x.begin() + (r + 1) * len);
  EXPECT_EQ(got, x);
}

}  // namespace
