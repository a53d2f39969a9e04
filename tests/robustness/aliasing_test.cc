// Aliasing between an op's outputs and its inputs, through the C API (issue 12). An output may be
// the same array as an input (`out=` an input) or a view overlapping one (mx_ndarray_slice /
// mx_ndarray_reshape share storage). Every op family must give numpy's answer, computed here
// naively from the original data: the core runs the kernel in place only for the exact-alias
// pairs the schema declares (`inplace`) and copies through a temporary otherwise. Two outputs
// overlapping each other, and executors bound over overlapping written arrays, are errors.
//
// Also: slice with extreme steps and bounds (step = ±(2^63 - 1), begin / end near ±2^63) against
// a naive implementation of Python's slice semantics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../unit/test_util.h"

namespace {

using mx::test::Arr;
using Params = std::vector<std::pair<std::string, std::string>>;
using Vec = std::vector<float>;

Arr from(std::vector<int64_t> shape, const Vec& v) {
  Arr a(std::move(shape));
  a.set(v);
  return a;
}
Arr view(const Arr& a, int64_t begin, int64_t end) {
  mx_ndarray_t h = nullptr;
  EXPECT_MX_OK(mx_ndarray_slice(a.get(), begin, end, &h));
  return Arr(h);
}
Arr reshaped(const Arr& a, std::vector<int64_t> shape) {
  mx_ndarray_t h = nullptr;
  EXPECT_MX_OK(mx_ndarray_reshape(a.get(), shape.data(), int32_t(shape.size()), &h));
  return Arr(h);
}
Vec get(const Arr& a) { return a.to_vector<float>(); }

// Distinct values of both signs, not symmetric (so a reversal or a shift shows).
Vec seq(size_t n, float scale = 0.5f) {
  Vec v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * float(i) - 1.75f + 0.01f * float(i * i);
  return v;
}

// Runs op into the given output handles; returns mx_imperative_invoke's status.
int run(const char* op, std::vector<mx_ndarray_t> in, std::vector<mx_ndarray_t> out, const Params& p = {}) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : p) {
    k.push_back(key.c_str());
    v.push_back(val.c_str());
  }
  int32_t n = int32_t(out.size());
  mx_ndarray_t* po = out.data();
  return mx_imperative_invoke(op, int32_t(in.size()), in.data(), &n, &po, int32_t(p.size()), k.data(), v.data());
}
#define RUN_OK(...) ASSERT_EQ(run(__VA_ARGS__), 0) << mx_get_last_error()

void expect_near(const Vec& got, const Vec& want, const std::string& what, float tol = 1e-5f) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol * std::max(1.0f, std::fabs(want[i]))) << what << " at " << i;
}

Vec map_vec(const Vec& x, float (*f)(float)) {
  Vec y(x.size());
  std::transform(x.begin(), x.end(), y.begin(), f);
  return y;
}

// Row-major naive matmul: (m, k) x (k, n).
Vec matmul(const Vec& a, const Vec& b, int m, int k, int n) {
  Vec c(size_t(m * n), 0.f);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int t = 0; t < k; ++t) s += double(a[size_t(i * k + t)]) * double(b[size_t(t * n + j)]);
      c[size_t(i * n + j)] = float(s);
    }
  return c;
}
Vec transpose2(const Vec& a, int m, int n) {
  Vec t(a.size());
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) t[size_t(j * m + i)] = a[size_t(i * n + j)];
  return t;
}

// ---------------------------------------------------------------- elementwise

TEST(Aliasing, UnaryExactAliasRunsInPlace) {
  const Vec x = seq(8);
  Arr a = from({8}, x);
  RUN_OK("negative", {a.get()}, {a.get()});
  expect_near(get(a), map_vec(x, [](float v) { return -v; }), "negative(A, out=A)");
  RUN_OK("square", {a.get()}, {a.get()});
  expect_near(get(a), map_vec(x, [](float v) { return v * v; }), "square(-A, out=-A)");
  Arr b = from({8}, x);
  RUN_OK("Activation", {b.get()}, {b.get()}, {{"act_type", "relu"}});
  expect_near(get(b), map_vec(x, [](float v) { return v > 0 ? v : 0.f; }), "Activation relu in place");
}

TEST(Aliasing, UnaryShiftedViewIsCopied) {
  const Vec x = seq(10);
  {  // output two elements ahead of the input: an in-place loop would read its own results
    Arr base = from({10}, x);
    Arr in = view(base, 0, 8), out = view(base, 2, 10);
    RUN_OK("negative", {in.get()}, {out.get()});
    Vec want = x;
    for (size_t i = 0; i < 8; ++i) want[i + 2] = -x[i];
    expect_near(get(base), want, "negative(base[0:8], out=base[2:10])");
  }
  {  // and behind it
    Arr base = from({10}, x);
    Arr in = view(base, 2, 10), out = view(base, 0, 8);
    RUN_OK("exp", {in.get()}, {out.get()});
    Vec want = x;
    for (size_t i = 0; i < 8; ++i) want[i] = std::exp(x[i + 2]);
    expect_near(get(base), want, "exp(base[2:10], out=base[0:8])");
  }
}

TEST(Aliasing, ScalarOps) {
  const Vec x = seq(10);
  Arr a = from({10}, x);
  RUN_OK("_plus_scalar", {a.get()}, {a.get()}, {{"scalar", "1.5"}});
  expect_near(get(a), map_vec(x, [](float v) { return v + 1.5f; }), "_plus_scalar(A, out=A)");
  Arr base = from({10}, x);
  Arr in = view(base, 0, 9), out = view(base, 1, 10);
  RUN_OK("_mul_scalar", {in.get()}, {out.get()}, {{"scalar", "3"}});
  Vec want = x;
  for (size_t i = 0; i < 9; ++i) want[i + 1] = 3 * x[i];
  expect_near(get(base), want, "_mul_scalar(base[0:9], out=base[1:10])");
  Arr c = from({10}, x);
  RUN_OK("clip", {c.get()}, {c.get()}, {{"a_min", "-1"}, {"a_max", "1"}});
  expect_near(get(c), map_vec(x, [](float v) { return std::min(1.f, std::max(-1.f, v)); }), "clip(A, out=A)");
}

TEST(Aliasing, BinaryElementwise) {
  const Vec x = seq(9), y = seq(8, -0.3f);
  {
    Arr a = from({8}, Vec(x.begin(), x.end() - 1));
    RUN_OK("elemwise_mul", {a.get(), a.get()}, {a.get()});
    Vec want(8);
    for (size_t i = 0; i < 8; ++i) want[i] = x[i] * x[i];
    expect_near(get(a), want, "elemwise_mul(A, A, out=A)");
  }
  {
    Arr a = from({8}, Vec(x.begin(), x.end() - 1)), b = from({8}, y);
    RUN_OK("elemwise_sub", {a.get(), b.get()}, {b.get()});
    Vec want(8);
    for (size_t i = 0; i < 8; ++i) want[i] = x[i] - y[i];
    expect_near(get(b), want, "elemwise_sub(A, B, out=B)");
  }
  {  // out is exactly input 1 (declared in place) but also overlaps input 0 shifted: copied
    Arr base = from({9}, x);
    Arr lhs = view(base, 0, 8), rhs = view(base, 1, 9);
    RUN_OK("elemwise_add", {lhs.get(), rhs.get()}, {rhs.get()});
    Vec want = x;
    for (size_t i = 0; i < 8; ++i) want[i + 1] = x[i] + x[i + 1];
    expect_near(get(base), want, "elemwise_add(base[0:8], base[1:9], out=base[1:9])");
  }
  {
    Arr base = from({9}, x), b = from({8}, y);
    Arr lhs = view(base, 0, 8), out = view(base, 1, 9);
    RUN_OK("elemwise_div", {lhs.get(), b.get()}, {out.get()});
    Vec want = x;
    for (size_t i = 0; i < 8; ++i) want[i + 1] = x[i] / y[i];
    expect_near(get(base), want, "elemwise_div(base[0:8], B, out=base[1:9])");
  }
}

TEST(Aliasing, BroadcastBinary) {
  const Vec x = seq(15), bias = {10.f, 20.f, 30.f};
  Arr bb = from({1, 3}, bias);
  {
    Arr a = from({5, 3}, x);
    RUN_OK("broadcast_add", {a.get(), bb.get()}, {a.get()});
    Vec want = x;
    for (size_t i = 0; i < 15; ++i) want[i] += bias[i % 3];
    expect_near(get(a), want, "broadcast_add(A, b, out=A)");
  }
  {
    Arr base = from({5, 3}, x);
    Arr lhs = view(base, 0, 4), out = view(base, 1, 5);
    RUN_OK("broadcast_mul", {lhs.get(), bb.get()}, {out.get()});
    Vec want = x;
    for (size_t i = 0; i < 12; ++i) want[i + 3] = x[i] * bias[i % 3];
    expect_near(get(base), want, "broadcast_mul(base[0:4], b, out=base[1:5])");
  }
}

// ---------------------------------------------------------------- reductions, linear algebra

TEST(Aliasing, Reductions) {
  const Vec x = seq(16);
  {  // row sums written over the last row, which is still to be summed
    Arr a = from({4, 4}, x);
    Arr flat = reshaped(a, {16});
    Arr out = view(flat, 12, 16);
    RUN_OK("sum", {a.get()}, {out.get()}, {{"axis", "1"}});
    Vec want = x;
    for (int r = 0; r < 4; ++r) want[size_t(12 + r)] = x[size_t(4 * r)] + x[size_t(4 * r + 1)] + x[size_t(4 * r + 2)] + x[size_t(4 * r + 3)];
    expect_near(get(a), want, "sum(A, axis=1, out=A[3])");
  }
  {  // column maxima over the first row
    Arr a = from({4, 4}, x);
    Arr flat = reshaped(a, {16});
    Arr out = view(flat, 0, 4);
    RUN_OK("max", {a.get()}, {out.get()}, {{"axis", "0"}});
    Vec want = x;
    for (int c = 0; c < 4; ++c) {
      float m = x[size_t(c)];
      for (int r = 1; r < 4; ++r) m = std::max(m, x[size_t(4 * r + c)]);
      want[size_t(c)] = m;
    }
    expect_near(get(a), want, "max(A, axis=0, out=A[0])");
  }
}

TEST(Aliasing, DotBatchDotFullyConnected) {
  const Vec b = seq(9), c = seq(9, -0.25f);
  {
    Arr B = from({3, 3}, b), C = from({3, 3}, c);
    RUN_OK("dot", {B.get(), C.get()}, {B.get()});
    expect_near(get(B), matmul(b, c, 3, 3, 3), "dot(B, C, out=B)");
  }
  {
    Arr B = from({3, 3}, b), C = from({3, 3}, c);
    RUN_OK("dot", {B.get(), C.get()}, {C.get()}, {{"transpose_a", "True"}});
    expect_near(get(C), matmul(transpose2(b, 3, 3), c, 3, 3, 3), "dot(B, C, transpose_a, out=C)");
  }
  {
    Arr B = from({3, 3}, b);
    RUN_OK("dot", {B.get(), B.get()}, {B.get()});
    expect_near(get(B), matmul(b, b, 3, 3, 3), "dot(B, B, out=B)");
  }
  {
    Vec bb = seq(18), cc = seq(18, 0.1f);
    Arr B = from({2, 3, 3}, bb), C = from({2, 3, 3}, cc);
    RUN_OK("batch_dot", {B.get(), C.get()}, {B.get()});
    Vec want;
    for (int k = 0; k < 2; ++k) {
      Vec p = matmul(Vec(bb.begin() + 9 * k, bb.begin() + 9 * k + 9), Vec(cc.begin() + 9 * k, cc.begin() + 9 * k + 9), 3, 3, 3);
      want.insert(want.end(), p.begin(), p.end());
    }
    expect_near(get(B), want, "batch_dot(B, C, out=B)");
  }
  {  // out = data @ weight.T + bias, written over data
    const Vec x = seq(16), w = seq(16, -0.2f), bias = {1.f, 2.f, 3.f, 4.f};
    Arr X = from({4, 4}, x), W = from({4, 4}, w), Bi = from({4}, bias);
    RUN_OK("FullyConnected", {X.get(), W.get(), Bi.get()}, {X.get()}, {{"num_hidden", "4"}});
    Vec want = matmul(x, transpose2(w, 4, 4), 4, 4, 4);
    for (size_t i = 0; i < 16; ++i) want[i] += bias[i % 4];
    expect_near(get(X), want, "FullyConnected(X, W, b, out=X)");
    Arr X2 = from({4, 4}, x), W2 = from({4, 4}, w);
    RUN_OK("FullyConnected", {X2.get(), W2.get(), Bi.get()}, {W2.get()}, {{"num_hidden", "4"}});
    expect_near(get(W2), want, "FullyConnected(X, W, b, out=W)");
  }
}

TEST(Aliasing, Transpose) {
  const Vec b = seq(16);
  Arr B = from({4, 4}, b);
  RUN_OK("transpose", {B.get()}, {B.get()});
  expect_near(get(B), transpose2(b, 4, 4), "transpose(B, out=B)");
  // (2, 2, 2) with axes (2, 0, 1), over the same storage
  const Vec c = seq(8);
  Arr C = from({2, 2, 2}, c);
  RUN_OK("transpose", {C.get()}, {C.get()}, {{"axes", "(2,0,1)"}});
  Vec want(8);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 2; ++k) want[size_t(k * 4 + i * 2 + j)] = c[size_t(i * 4 + j * 2 + k)];
  expect_near(get(C), want, "transpose(C, axes=(2,0,1), out=C)");
}

TEST(Aliasing, ReshapeAndFlatten) {
  const Vec x = seq(16);
  {  // the output is the input's bytes in another shape: nothing moves
    Arr a = from({4, 4}, x);
    Arr flat = reshaped(a, {16});
    RUN_OK("Reshape", {a.get()}, {flat.get()}, {{"shape", "(16,)"}});
    expect_near(get(a), x, "Reshape(A, out=A viewed flat)");
    Arr a3 = reshaped(a, {2, 2, 4}), a2 = reshaped(a, {2, 8});
    RUN_OK("Flatten", {a3.get()}, {a2.get()});
    expect_near(get(a), x, "Flatten(A, out=A viewed 2-D)");
  }
  {  // shifted by a row: a plain memcpy over overlapping bytes
    Arr a = from({16}, x);
    Arr in = view(a, 0, 12), out3 = reshaped(view(a, 4, 16), {3, 4});
    RUN_OK("Reshape", {in.get()}, {out3.get()}, {{"shape", "(3,4)"}});
    Vec want = x;
    for (size_t i = 0; i < 12; ++i) want[i + 4] = x[i];
    expect_near(get(a), want, "Reshape(A[0:12], out=A[4:16])");
  }
}

TEST(Aliasing, ConcatAndStack) {
  const Vec x = seq(12);
  Vec swapped(x.begin() + 6, x.end());
  swapped.insert(swapped.end(), x.begin(), x.begin() + 6);
  {
    Arr a = from({4, 3}, x);
    Arr top = view(a, 0, 2), bottom = view(a, 2, 4);
    RUN_OK("Concat", {bottom.get(), top.get()}, {a.get()}, {{"num_args", "2"}, {"dim", "0"}});
    expect_near(get(a), swapped, "Concat(A[2:4], A[0:2], out=A)");
  }
  {
    Arr a = from({4, 3}, x);
    Arr top = view(a, 0, 2), bottom = view(a, 2, 4), a3 = reshaped(a, {2, 2, 3});
    RUN_OK("stack", {bottom.get(), top.get()}, {a3.get()}, {{"num_args", "2"}, {"axis", "0"}});
    expect_near(get(a), swapped, "stack(A[2:4], A[0:2], out=A)");
  }
  {  // along axis 1: the pieces interleave with the output
    Arr a = from({4, 3}, x);
    Arr left = view(reshaped(a, {12}), 0, 6), l2 = reshaped(left, {2, 3});
    Arr right = view(reshaped(a, {12}), 6, 12), r2 = reshaped(right, {2, 3});
    Arr out = reshaped(a, {2, 6});
    RUN_OK("Concat", {l2.get(), r2.get()}, {out.get()}, {{"num_args", "2"}, {"dim", "1"}});
    Vec want;
    for (int r = 0; r < 2; ++r) {
      want.insert(want.end(), x.begin() + 3 * r, x.begin() + 3 * r + 3);
      want.insert(want.end(), x.begin() + 6 + 3 * r, x.begin() + 6 + 3 * r + 3);
    }
    expect_near(get(a), want, "Concat(A[0:2], A[2:4], dim=1, out=A)");
  }
}

TEST(Aliasing, SliceAndSliceAxis) {
  const Vec x = seq(15);
  {
    Arr a = from({5, 3}, x);
    RUN_OK("slice", {a.get()}, {a.get()}, {{"begin", "(None,)"}, {"end", "(None,)"}, {"step", "(-1,)"}});
    Vec want;
    for (int r = 4; r >= 0; --r) want.insert(want.end(), x.begin() + 3 * r, x.begin() + 3 * r + 3);
    expect_near(get(a), want, "slice(A, step=-1, out=A)");
  }
  {
    Arr a = from({5, 3}, x);
    Arr out = view(a, 1, 5);
    RUN_OK("slice_axis", {a.get()}, {out.get()}, {{"axis", "0"}, {"begin", "0"}, {"end", "4"}});
    Vec want = x;
    for (size_t i = 0; i < 12; ++i) want[i + 3] = x[i];
    expect_near(get(a), want, "slice_axis(A, 0, 0, 4, out=A[1:5])");
  }
  {
    Arr a = from({5, 3}, x);
    Arr out = view(a, 0, 4);
    RUN_OK("slice", {a.get()}, {out.get()}, {{"begin", "(1,)"}, {"end", "(5,)"}});
    Vec want = x;
    for (size_t i = 0; i < 12; ++i) want[i] = x[i + 3];
    expect_near(get(a), want, "slice(A, 1:5, out=A[0:4])");
  }
}

TEST(Aliasing, TakeGatherScatter) {
  const Vec x = seq(15);
  Vec reversed;
  for (int r = 4; r >= 0; --r) reversed.insert(reversed.end(), x.begin() + 3 * r, x.begin() + 3 * r + 3);
  {
    Arr a = from({5, 3}, x), idx = from({5}, {4, 3, 2, 1, 0});
    RUN_OK("take", {a.get(), idx.get()}, {a.get()});
    expect_near(get(a), reversed, "take(A, [4..0], out=A)");
  }
  {
    Arr a = from({5, 3}, x), idx = from({1, 5}, {4, 3, 2, 1, 0});
    RUN_OK("gather_nd", {a.get(), idx.get()}, {a.get()});
    expect_near(get(a), reversed, "gather_nd(A, [[4..0]], out=A)");
  }
  {
    Arr a = from({5, 3}, x), idx = from({1, 5}, {4, 3, 2, 1, 0});
    RUN_OK("scatter_nd", {a.get(), idx.get()}, {a.get()}, {{"shape", "(5,3)"}});
    expect_near(get(a), reversed, "scatter_nd(A, [[4..0]], out=A)");
  }
  {  // the indices themselves are overwritten by the result
    Arr base = from({5}, {1, 0, 3, 2, 4}), data = from({5}, {10, 11, 12, 13, 14});
    RUN_OK("take", {data.get(), base.get()}, {base.get()});
    expect_near(get(base), {11, 10, 13, 12, 14}, "take(D, I, out=I)");
  }
}

TEST(Aliasing, SortAndTopk) {
  const Vec x = {3, -1, 4, 1, -5, 9, 2, -6, 5, 3.5f};
  auto sorted_rows = [&](bool asc) {
    Vec w = x;
    for (int r = 0; r < 2; ++r) {
      auto b = w.begin() + 5 * r;
      if (asc) std::sort(b, b + 5);
      else std::sort(b, b + 5, std::greater<float>());
    }
    return w;
  };
  {
    Arr a = from({2, 5}, x);
    RUN_OK("sort", {a.get()}, {a.get()});
    expect_near(get(a), sorted_rows(true), "sort(A, out=A)");
  }
  {
    Arr a = from({2, 5}, x);
    RUN_OK("topk", {a.get()}, {a.get()}, {{"k", "5"}, {"ret_typ", "value"}});
    expect_near(get(a), sorted_rows(false), "topk(A, k=5, value, out=A)");
  }
  {
    Arr a = from({2, 5}, x);
    RUN_OK("argsort", {a.get()}, {a.get()});
    Vec want;
    for (int r = 0; r < 2; ++r) {
      std::vector<int> id(5);
      std::iota(id.begin(), id.end(), 0);
      std::stable_sort(id.begin(), id.end(), [&](int i, int j) { return x[size_t(5 * r + i)] < x[size_t(5 * r + j)]; });
      for (int i : id) want.push_back(float(i));
    }
    expect_near(get(a), want, "argsort(A, out=A)");
  }
  {  // values and indices: values written over the data, indices into a fresh array
    Arr a = from({2, 5}, x), idx({2, 5});
    RUN_OK("topk", {a.get()}, {a.get(), idx.get()}, {{"k", "5"}, {"ret_typ", "both"}});
    expect_near(get(a), sorted_rows(false), "topk(A, both, out=(A, I)) values");
  }
}

// ---------------------------------------------------------------- nn

TEST(Aliasing, Convolution) {
  const Vec x = seq(16), w = {0.1f, -0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, -0.9f};
  Arr X = from({1, 1, 4, 4}, x), W = from({1, 1, 3, 3}, w), B = from({1}, {0.25f});
  RUN_OK("Convolution", {X.get(), W.get(), B.get()}, {X.get()},
         {{"kernel", "(3,3)"}, {"pad", "(1,1)"}, {"num_filter", "1"}});
  Vec want(16);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double s = 0.25;
      for (int di = 0; di < 3; ++di)
        for (int dj = 0; dj < 3; ++dj) {
          const int r = i + di - 1, c = j + dj - 1;
          if (r >= 0 && r < 4 && c >= 0 && c < 4) s += double(x[size_t(r * 4 + c)]) * w[size_t(di * 3 + dj)];
        }
      want[size_t(i * 4 + j)] = float(s);
    }
  expect_near(get(X), want, "Convolution(X, W, b, out=X)");
}

TEST(Aliasing, Pooling) {
  const Vec x = seq(16, -0.7f);
  Arr X = from({1, 1, 4, 4}, x);
  RUN_OK("Pooling", {X.get()}, {X.get()}, {{"kernel", "(3,3)"}, {"stride", "(1,1)"}, {"pad", "(1,1)"}, {"pool_type", "max"}});
  Vec want(16);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      float m = -1e30f;
      for (int r = std::max(0, i - 1); r <= std::min(3, i + 1); ++r)
        for (int c = std::max(0, j - 1); c <= std::min(3, j + 1); ++c) m = std::max(m, x[size_t(r * 4 + c)]);
      want[size_t(i * 4 + j)] = m;
    }
  expect_near(get(X), want, "Pooling(X, max 3x3, out=X)");
}

TEST(Aliasing, Softmax) {
  const Vec x = seq(16);
  auto softmax_rows = [](const Vec& v, int rows) {
    Vec o(v.size());
    const size_t n = v.size() / size_t(rows);
    for (int r = 0; r < rows; ++r) {
      double m = -1e30, s = 0;
      for (size_t j = 0; j < n; ++j) m = std::max(m, double(v[r * n + j]));
      for (size_t j = 0; j < n; ++j) s += std::exp(double(v[r * n + j]) - m);
      for (size_t j = 0; j < n; ++j) o[r * n + j] = float(std::exp(double(v[r * n + j]) - m) / s);
    }
    return o;
  };
  {
    Arr a = from({4, 4}, x);
    RUN_OK("softmax", {a.get()}, {a.get()});
    expect_near(get(a), softmax_rows(x, 4), "softmax(A, out=A)");
  }
  {
    Arr a = from({4, 4}, x);
    Arr in = view(a, 0, 3), out = view(a, 1, 4);
    RUN_OK("softmax", {in.get()}, {out.get()});
    Vec want = x;
    Vec s = softmax_rows(Vec(x.begin(), x.begin() + 12), 3);
    std::copy(s.begin(), s.end(), want.begin() + 4);
    expect_near(get(a), want, "softmax(A[0:3], out=A[1:4])");
  }
}

TEST(Aliasing, OptimizerUpdatesMutateStateInPlace) {
  const Vec w = seq(6), g = seq(6, -0.3f), m0 = seq(6, 0.05f);
  const float lr = 0.1f, mom = 0.9f, wd = 0.01f;
  {
    Arr W = from({6}, w), G = from({6}, g);
    RUN_OK("sgd_update", {W.get(), G.get()}, {W.get()}, {{"lr", "0.1"}, {"wd", "0.01"}});
    Vec want(6);
    for (size_t i = 0; i < 6; ++i) want[i] = w[i] - lr * (g[i] + wd * w[i]);
    expect_near(get(W), want, "sgd_update(W, G, out=W)");
  }
  {
    Arr W = from({6}, w), G = from({6}, g), M = from({6}, m0);
    RUN_OK("sgd_mom_update", {W.get(), G.get(), M.get()}, {W.get()}, {{"lr", "0.1"}, {"wd", "0.01"}, {"momentum", "0.9"}});
    Vec wm(6), mm(6);
    for (size_t i = 0; i < 6; ++i) {
      mm[i] = mom * m0[i] - lr * (g[i] + wd * w[i]);
      wm[i] = w[i] + mm[i];
    }
    expect_near(get(W), wm, "sgd_mom_update weight");
    expect_near(get(M), mm, "sgd_mom_update momentum (mutated input)");
  }
  {
    Arr W = from({6}, w), G = from({6}, g), M = from({6}, m0), V = from({6}, map_vec(m0, [](float v) { return v * v; }));
    RUN_OK("adam_update", {W.get(), G.get(), M.get(), V.get()}, {W.get()}, {{"lr", "0.1"}});
    Vec wm(6), mm(6), vm(6);
    for (size_t i = 0; i < 6; ++i) {
      mm[i] = 0.9f * m0[i] + 0.1f * g[i];
      vm[i] = 0.999f * m0[i] * m0[i] + 0.001f * g[i] * g[i];
      wm[i] = w[i] - lr * mm[i] / (std::sqrt(vm[i]) + 1e-8f);
    }
    expect_near(get(W), wm, "adam_update weight", 1e-4f);
    expect_near(get(M), mm, "adam_update mean");
    expect_near(get(V), vm, "adam_update var");
  }
}

// ---------------------------------------------------------------- errors and the other paths

TEST(Aliasing, OverlappingOutputsAreAnError) {
  const Vec x = seq(8);
  Arr a = from({4, 2}, x), o = Arr({2, 2});
  EXPECT_NE(run("split", {a.get()}, {o.get(), o.get()}, {{"num_outputs", "2"}, {"axis", "0"}}), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mx_get_last_error()).find("split"), std::string::npos) << mx_get_last_error();
  EXPECT_NE(std::string(mx_get_last_error()).find("overlap"), std::string::npos) << mx_get_last_error();
  Arr base({3, 5});
  Arr v0 = view(base, 0, 2), v1 = view(base, 1, 3);
  Arr t = from({2, 5}, seq(10));
  EXPECT_NE(run("topk", {t.get()}, {v0.get(), v1.get()}, {{"k", "5"}, {"ret_typ", "both"}}), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  // the input is untouched and the process keeps working
  expect_near(get(a), x, "split's input after the error");
  Arr p({2, 2}), q({2, 2});
  RUN_OK("split", {a.get()}, {p.get(), q.get()}, {{"num_outputs", "2"}, {"axis", "0"}});
  expect_near(get(p), Vec(x.begin(), x.begin() + 4), "split part 0");
  expect_near(get(q), Vec(x.begin() + 4, x.end()), "split part 1");
}

TEST(Aliasing, AStateUpdatedInPlaceMustNotOverlapTheOtherArrays) {
  // sgd_mom_update writes its momentum while it reads the gradient: a momentum that is a shifted
  // view of the gradient (or of the output) would read half-updated values. An error, naming it.
  Arr base = from({7}, seq(7, 0.1f));
  Arr W = from({6}, seq(6)), G = view(base, 0, 6), M = view(base, 1, 7), Out = from({6}, seq(6));
  const std::vector<std::pair<std::string, std::string>> params = {{"lr", "0.1"}, {"momentum", "0.9"}};
  EXPECT_NE(run("sgd_mom_update", {W.get(), G.get(), M.get()}, {W.get()}, params), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mx_get_last_error()).find("'mom' (updated in place) overlaps input 'grad'"), std::string::npos)
      << mx_get_last_error();
  Arr wbase = from({7}, seq(7)), W2 = view(wbase, 0, 6), M2 = view(wbase, 1, 7), G2 = from({6}, seq(6));
  EXPECT_NE(run("sgd_mom_update", {W2.get(), G2.get(), M2.get()}, {W2.get()}, params), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("overlaps"), std::string::npos) << mx_get_last_error();
  // separate arrays still update as before
  Arr M3 = from({6}, seq(6, 0.05f));
  RUN_OK("sgd_mom_update", {W.get(), G2.get(), M3.get()}, {Out.get()}, params);
}

TEST(Aliasing, AutogradRecordsTheUsersOutput) {
  // c = x * c, recorded: the output is computed into a temporary and copied into c, and the
  // tape's output is the caller's c, so backward from c reaches x.
  const Vec x = seq(3), c = {2.f, -3.f, 0.5f};
  Arr X = from({1, 3}, x), C = from({1, 3}, c), G({1, 3});
  mx_ndarray_t vars[] = {X.get()}, grads[] = {G.get()};
  int32_t reqs[] = {1};
  ASSERT_MX_OK(mx_autograd_mark_variables(1, vars, reqs, grads));
  int32_t prev = 0;
  ASSERT_MX_OK(mx_autograd_set_recording(1, &prev));
  const int rc = run("broadcast_mul", {X.get(), C.get()}, {C.get()});
  ASSERT_MX_OK(mx_autograd_set_recording(prev, nullptr));
  ASSERT_EQ(rc, 0) << mx_get_last_error();
  Vec want(3);
  for (size_t i = 0; i < 3; ++i) want[i] = x[i] * c[i];
  expect_near(get(C), want, "broadcast_mul(X, C, out=C)");
  mx_ndarray_t heads[] = {C.get()};
  ASSERT_MX_OK(mx_autograd_backward(1, heads, nullptr, 0, 0, 1));
  expect_near(get(G), c, "d(x * c)/dx");
}

// A two-input symbol op(lhs, rhs) with arguments "x" and "w".
struct Sym {
  mx_symbol_t s = nullptr;
  explicit Sym(const char* op, Params p = {}) {
    std::vector<const char*> k, v;
    for (auto& [key, val] : p) {
      k.push_back(key.c_str());
      v.push_back(val.c_str());
    }
    mx_symbol_t x = nullptr, w = nullptr;
    EXPECT_MX_OK(mx_symbol_create_variable("x", &x));
    EXPECT_MX_OK(mx_symbol_create_variable("w", &w));
    EXPECT_MX_OK(mx_symbol_create_atomic(op, uint32_t(p.size()), k.data(), v.data(), &s));
    mx_symbol_t args[] = {x, w};
    EXPECT_MX_OK(mx_symbol_compose(s, "f", 2, nullptr, args));
    mx_symbol_free(x);
    mx_symbol_free(w);
  }
  ~Sym() { mx_symbol_free(s); }
};

int bind(const Sym& s, std::vector<mx_ndarray_t> args, std::vector<mx_ndarray_t> grads, std::vector<int32_t> reqs,
         mx_executor_t* ex, std::vector<mx_ndarray_t> aux = {}) {
  return mx_executor_bind(s.s, MX_DEVICE_CPU, 0, uint32_t(args.size()), args.data(), grads.data(), reqs.data(),
                          uint32_t(aux.size()), aux.data(), ex);
}

TEST(Aliasing, ExecutorRejectsOverlappingBoundArrays) {
  Sym s("dot");
  const Vec x = seq(4), w = seq(4, -0.4f);
  Arr X = from({2, 2}, x), W = from({2, 2}, w), GX({2, 2}), GW({2, 2});
  mx_executor_t ex = nullptr;
  auto expect_rejected = [&](int rc, const char* what) {
    EXPECT_NE(rc, 0) << what;
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << what;
    EXPECT_NE(std::string(mx_get_last_error()).find("overlap"), std::string::npos) << what << ": " << mx_get_last_error();
  };
  // a gradient bound to its own argument: backward would overwrite w before dx reads it
  expect_rejected(bind(s, {X.get(), W.get()}, {GX.get(), W.get()}, {1, 1}, &ex), "grad of w = w");
  // a gradient over another argument
  expect_rejected(bind(s, {X.get(), W.get()}, {W.get(), GW.get()}, {1, 1}, &ex), "grad of x = w");
  // two gradients in one array
  expect_rejected(bind(s, {X.get(), W.get()}, {GX.get(), GX.get()}, {1, 1}, &ex), "grad of x = grad of w");
  // a gradient over part of an argument (a view)
  Arr both = from({4, 2}, seq(8));
  Arr top = view(both, 0, 2), bottom = view(both, 1, 3);
  expect_rejected(bind(s, {top.get(), W.get()}, {bottom.get(), GW.get()}, {1, 1}, &ex), "grad of x overlaps x");
  // grad_req null: the array is not written, so sharing is fine; arguments may share freely
  ASSERT_MX_OK(bind(s, {X.get(), X.get()}, {X.get(), nullptr}, {0, 0}, &ex));
  ASSERT_MX_OK(mx_executor_forward(ex, 0));
  uint32_t n = 0;
  mx_ndarray_t* outs = nullptr;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &n, &outs));
  Arr out(outs[0]);
  expect_near(get(out), matmul(x, x, 2, 2, 2), "dot(x, x) with x bound twice");
  mx_executor_free(ex);
  // a correct bind after the errors
  ASSERT_MX_OK(bind(s, {X.get(), W.get()}, {GX.get(), GW.get()}, {1, 1}, &ex));
  ASSERT_MX_OK(mx_executor_forward(ex, 1));
  ASSERT_MX_OK(mx_executor_backward(ex, 0, nullptr));
  // d sum(x @ w) / dx = ones @ w.T
  expect_near(get(GX), matmul(Vec(4, 1.f), transpose2(w, 2, 2), 2, 2, 2), "dx");
  mx_executor_free(ex);
}

TEST(Aliasing, ExecutorRejectsAuxOverlappingAnArgument) {
  // BatchNorm's moving statistics are written in training: one bound over gamma is rejected.
  mx_symbol_t data = nullptr, bn = nullptr;
  ASSERT_MX_OK(mx_symbol_create_variable("data", &data));
  ASSERT_MX_OK(mx_symbol_create_atomic("BatchNorm", 0, nullptr, nullptr, &bn));
  ASSERT_MX_OK(mx_symbol_compose(bn, "bn", 1, nullptr, &data));
  Arr X = from({2, 3}, seq(6)), gamma = from({3}, {1, 1, 1}), beta = from({3}, {0, 0, 0}), var = from({3}, {1, 1, 1});
  mx_ndarray_t args[] = {X.get(), gamma.get(), beta.get()};
  mx_ndarray_t aux[] = {gamma.get(), var.get()};
  mx_executor_t ex = nullptr;
  EXPECT_NE(mx_executor_bind(bn, MX_DEVICE_CPU, 0, 3, args, nullptr, nullptr, 2, aux, &ex), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mx_get_last_error()).find("overlap"), std::string::npos) << mx_get_last_error();
  // the CachedOp's bind-per-call path goes through the same check
  mx_cached_op_t op = nullptr;
  ASSERT_MX_OK(mx_cached_op_create(bn, 0, nullptr, nullptr, &op));
  mx_ndarray_t inputs[] = {X.get(), gamma.get(), beta.get(), gamma.get(), var.get()};
  uint32_t n = 0;
  mx_ndarray_t* outs = nullptr;
  int32_t prev = 0;
  ASSERT_MX_OK(mx_autograd_set_training(1, &prev));
  EXPECT_NE(mx_cached_op_invoke(op, 5, inputs, &n, &outs), 0);
  ASSERT_MX_OK(mx_autograd_set_training(prev, nullptr));
  EXPECT_NE(std::string(mx_get_last_error()).find("overlap"), std::string::npos) << mx_get_last_error();
  mx_cached_op_free(op);
  mx_symbol_free(bn);
  mx_symbol_free(data);
}

// ---------------------------------------------------------------- slicing with extreme steps

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
using Opt = std::optional<int64_t>;

// Python's slice(start, stop, step).indices(n) (PySlice_Unpack + PySlice_AdjustIndices), with
// values already clamped to Py_ssize_t as Python clamps them; returns the selected indices.
std::vector<int64_t> py_slice(int64_t n, Opt start, Opt stop, Opt step_in) {
  int64_t step = step_in.value_or(1);
  if (step < -kMax) step = -kMax;  // CPython: guards `-step` against overflow
  int64_t b = start ? *start : (step < 0 ? kMax : 0);
  int64_t e = stop ? *stop : (step < 0 ? kMin : kMax);
  auto adjust = [&](int64_t& v) {
    if (v < 0) {
      v += n;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= n) {
      v = step < 0 ? n - 1 : n;
    }
  };
  adjust(b);
  adjust(e);
  int64_t len = 0;
  if (step < 0) {
    if (e < b) len = (b - e - 1) / (-step) + 1;
  } else if (b < e) {
    len = (e - b - 1) / step + 1;
  }
  std::vector<int64_t> idx;
  for (int64_t i = 0; i < len; ++i) idx.push_back(b + i * step);  // i * step stays in [-n, n] here
  return idx;
}

std::string opt_str(Opt v) { return v ? std::to_string(*v) : "None"; }

// slice's begin / end / step for one sliced axis (0 or 1) of a 2-D array, or of a 1-D one.
struct SliceAttrs {
  std::string v[3];
  mutable const char* keys[3] = {"begin", "end", "step"};
  mutable const char* vals[3];
  SliceAttrs(Opt b, Opt e, Opt s, int axis, int ndim) {
    const Opt in[3] = {b, e, s};
    for (int i = 0; i < 3; ++i) {
      std::string& t = v[i];
      t.assign(1, '(');
      if (axis == 1) t += "None,";
      t += opt_str(in[i]);
      if (ndim == 2 && axis == 0) t += ",None";
      t += ndim == 1 ? ",)" : ")";
      vals[i] = t.c_str();
    }
  }
  Arr run(const char* op, std::initializer_list<mx_ndarray_t> in) const { return mx::test::invoke1(op, in, 3, keys, vals); }
};

TEST(SliceExtremeSteps, NaiveReferenceIsPythons) {
  // spot checks of the reference against values printed by CPython
  EXPECT_EQ(py_slice(5, {}, {}, kMax), (std::vector<int64_t>{0}));
  EXPECT_EQ(py_slice(5, {}, {}, -kMax), (std::vector<int64_t>{4}));
  EXPECT_EQ(py_slice(5, {}, {}, -2), (std::vector<int64_t>{4, 2, 0}));
  EXPECT_EQ(py_slice(5, kMin, kMax, 2), (std::vector<int64_t>{0, 2, 4}));
  EXPECT_EQ(py_slice(5, -7, 3, 1), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(py_slice(5, 10, -10, -3), (std::vector<int64_t>{4, 1}));
  EXPECT_EQ(py_slice(0, {}, {}, -kMax), (std::vector<int64_t>{}));
}

TEST(SliceExtremeSteps, SliceMatchesPythonSemantics) {
  const std::vector<Opt> bounds = {std::nullopt, 0, 1, 2, -1, -2, 4, 5, 6, -5, -6, kMax, kMin, kMax - 1, kMin + 1};
  const std::vector<Opt> steps = {std::nullopt, 1, 2, 3, -1, -2, -3, kMax, -kMax, kMin, kMax - 1, kMin + 1};
  for (int64_t n : {int64_t(0), int64_t(1), int64_t(5)}) {
    Vec data(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) data[size_t(i)] = float(i + 1);
    // 1-D; 2-D sliced on axis 0 (rows of 3, so the row stride multiplies the step); 2-D on axis 1
    Arr a1 = from({n}, data);
    Vec rows(size_t(n * 3)), cols(size_t(n * 3));
    for (int64_t i = 0; i < n * 3; ++i) rows[size_t(i)] = float(i + 1), cols[size_t(i)] = float(i + 1);
    Arr a2 = from({n, 3}, rows), a3 = from({3, n}, cols);
    for (Opt b : bounds)
      for (Opt e : bounds)
        for (Opt s : steps) {
          const std::vector<int64_t> idx = py_slice(n, b, e, s);
          std::ostringstream label;  // (string operator+ here trips a false -Wrestrict in GCC 12)
          label << "n=" << n << " [" << opt_str(b) << ":" << opt_str(e) << ":" << opt_str(s) << "]";
          const std::string what = label.str();
          Arr o1 = SliceAttrs(b, e, s, 0, 1).run("slice", {a1.get()});
          ASSERT_TRUE(o1.get()) << what;
          ASSERT_EQ(o1.shape(), (std::vector<int64_t>{int64_t(idx.size())})) << what;
          Vec want1;
          for (int64_t i : idx) want1.push_back(data[size_t(i)]);
          ASSERT_EQ(get(o1), want1) << what;

          const SliceAttrs on_rows(b, e, s, 0, 2);
          Arr o2 = on_rows.run("slice", {a2.get()});
          ASSERT_TRUE(o2.get()) << what << " rows";
          Vec want2;
          for (int64_t i : idx)
            for (int64_t j = 0; j < 3; ++j) want2.push_back(rows[size_t(i * 3 + j)]);
          ASSERT_EQ(get(o2), want2) << what << " rows";

          Arr o3 = SliceAttrs(b, e, s, 1, 2).run("slice", {a3.get()});
          ASSERT_TRUE(o3.get()) << what << " cols";
          Vec want3;
          for (int64_t r = 0; r < 3; ++r)
            for (int64_t i : idx) want3.push_back(cols[size_t(r * n + i)]);
          ASSERT_EQ(get(o3), want3) << what << " cols";

          // the gradient scatters back to the same positions
          if (idx.empty()) continue;
          Arr og = from({int64_t(idx.size()), 3}, Vec(idx.size() * 3, 1.f));
          Arr gx = on_rows.run("_slice_backward", {og.get(), a2.get()});
          ASSERT_TRUE(gx.get()) << what << " backward";
          Vec want_g(size_t(n * 3), 0.f);
          for (int64_t i : idx)
            for (int64_t j = 0; j < 3; ++j) want_g[size_t(i * 3 + j)] = 1.f;
          ASSERT_EQ(get(gx), want_g) << what << " backward";
        }
  }
}

TEST(SliceExtremeSteps, BeyondInt64IsAnErrorNotAWrap) {
  // Python clamps bounds past Py_ssize_t; the attribute parser refuses them instead (a binding
  // clamps before it calls). Either way nothing wraps around into a wrong slice.
  Arr a = from({5}, {1, 2, 3, 4, 5});
  const char* k[] = {"begin", "end", "step"};
  const char* v[] = {"(None,)", "(None,)", "(-99999999999999999999,)"};
  mx_ndarray_t in[] = {a.get()};
  int32_t n = 0;
  mx_ndarray_t* outs = nullptr;
  EXPECT_NE(mx_imperative_invoke("slice", 1, in, &n, &outs, 3, k, v), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << mx_get_last_error();
  const char* v2[] = {"(None,)", "(None,)", "(-9223372036854775808,)"};  // the lowest int64: acts as -(2^63 - 1)
  Arr r = mx::test::invoke1("slice", {a.get()}, 3, k, v2);
  ASSERT_TRUE(r.get());
  EXPECT_EQ(get(r), (Vec{5}));
}

TEST(SliceExtremeSteps, SliceAxisExtremeBoundsAreErrorsNotOverflows) {
  // slice_axis keeps MXNet's rule (an empty or out-of-range [begin, end) is an error) and must
  // not overflow on the way there.
  Arr a = from({5, 2}, seq(10));
  const std::string mn = std::to_string(kMin), mx = std::to_string(kMax);
  for (const auto& [b, e] : std::vector<std::pair<std::string, std::string>>{
           {mn, "None"}, {mx, "None"}, {"0", mx}, {"0", mn}, {mn, mx}, {"-1", mn}, {mx, mn}}) {
    const char* k[] = {"axis", "begin", "end"};
    const char* v[] = {"0", b.c_str(), e.c_str()};
    Arr o({1, 2});
    mx_ndarray_t outs[] = {o.get()};
    int32_t n = 1;
    mx_ndarray_t* po = outs;
    mx_ndarray_t in[] = {a.get()};
    EXPECT_NE(mx_imperative_invoke("slice_axis", 1, in, &n, &po, 3, k, v), 0) << b << ":" << e;
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << b << ":" << e << " " << mx_get_last_error();
  }
  const char* k[] = {"axis", "begin", "end"};
  const char* v[] = {"0", "-1", "None"};
  Arr last = mx::test::invoke1("slice_axis", {a.get()}, 3, k, v);
  ASSERT_TRUE(last.get());
  expect_near(get(last), {seq(10)[8], seq(10)[9]}, "slice_axis(A, 0, -1, None)");
}

}  // namespace
