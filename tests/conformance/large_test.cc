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
        if (op == "max") acc = std::max(acc, v);
        else if (op == "norm") acc += v * v;
        else acc += v;
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
      {{1 << 17}, "None", 1, 1 << 17, 1},       // one output, blocks of R in parallel
      {{64, 4096}, "(1,)", 64, 4096, 1},        // rows
      {{16, 300, 20}, "(1,)", 16, 300, 20},     // (A, R, B), parallel over A
      {{2, 3000, 40}, "(1,)", 2, 3000, 40},     // small A: parallel over B
      {{3000, 64}, "(0,)", 1, 3000, 64},        // column sums (FullyConnected's bias gradient)
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
