// NDArray and the first operators through the C API, each checked against a naive reference
// written here; errors checked for their exact category and for naming what went wrong.
#include <gtest/gtest.h>

#include <dlpack/dlpack.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>

#include "base/error.h"
#include "c_api/handles.h"
#include "engine/engine.h"
#include "ndarray/ndarray.h"
#include "plugin/registry.h"
#include "storage/storage.h"
#include "test_util.h"

namespace mx {
namespace {

using test::Arr;
using test::invoke1;

template <typename T>
std::vector<T> random_values(size_t n, uint64_t seed, double lo = -5, double hi = 5) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = T(d(rng));
  return v;
}

std::string last_error() { return mx_get_last_error(); }

TEST(NDArray, CreateQueriesEveryDtype) {
  for (int32_t dt : {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16, MX_INT8, MX_INT32, MX_INT64, MX_UINT8, MX_BOOL}) {
    Arr a({2, 3, 4}, dt);
    int32_t got = -1, dev = 0, id = -1, bytes = 0;
    int64_t size = 0;
    EXPECT_MX_OK(mx_ndarray_get_dtype(a.get(), &got));
    EXPECT_EQ(got, dt);
    EXPECT_MX_OK(mx_ndarray_get_device(a.get(), &dev, &id));
    EXPECT_EQ(dev, MX_DEVICE_CPU);
    EXPECT_EQ(id, 0);
    EXPECT_MX_OK(mx_ndarray_get_size(a.get(), &size));
    EXPECT_EQ(size, 24);
    EXPECT_EQ(a.shape(), (std::vector<int64_t>{2, 3, 4}));
    EXPECT_MX_OK(mx_dtype_size(dt, &bytes));
    std::vector<uint8_t> host(static_cast<size_t>(24 * bytes));
    for (size_t i = 0; i < host.size(); ++i) host[i] = uint8_t(i * 7);
    a.set(host);
    EXPECT_EQ(a.to_bytes(), host);
  }
}

TEST(NDArray, BadCreateAndCopyArgumentsAreErrors) {
  mx_ndarray_t h = nullptr;
  int64_t shape[] = {2, -1};
  EXPECT_EQ(mx_ndarray_create(shape, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("(2,-1)"), std::string::npos) << last_error();
  int64_t ok[] = {2};
  EXPECT_EQ(mx_ndarray_create(ok, 1, 99, MX_DEVICE_CPU, 0, &h), -1);
  EXPECT_NE(last_error().find("dtype"), std::string::npos);
  EXPECT_EQ(mx_ndarray_create(ok, 1, MX_FLOAT32, MX_DEVICE_GPU, 7, &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
  EXPECT_NE(last_error().find("gpu(7)"), std::string::npos) << last_error();
  Arr a({2});
  float buf[3];
  EXPECT_EQ(mx_ndarray_copy_to_host(a.get(), buf, sizeof(buf)), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
  EXPECT_NE(last_error().find("12 bytes"), std::string::npos) << last_error();
  EXPECT_EQ(mx_ndarray_get_size(nullptr, nullptr), -1);
  EXPECT_MX_OK(mx_ndarray_free(nullptr));
}

template <typename T>
void check_binary(int32_t dt) {
  const size_t n = 1000;
  auto x = random_values<T>(n, 1), y = random_values<T>(n, 2);
  for (auto& v : y)
    if (v == T(0)) v = T(1);
  Arr a({10, 100}, dt), b({10, 100}, dt);
  a.set(x);
  b.set(y);
  struct Case {
    const char* op;
    T (*f)(T, T);
  } cases[] = {{"elemwise_add", [](T p, T q) { return T(p + q); }},
               {"elemwise_sub", [](T p, T q) { return T(p - q); }},
               {"elemwise_mul", [](T p, T q) { return T(p * q); }},
               {"elemwise_div", [](T p, T q) { return T(p / q); }},
               {"_plus", [](T p, T q) { return T(p + q); }}};
  for (const Case& c : cases) {
    auto out = invoke1(c.op, {a.get(), b.get()}).template to_vector<T>();
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(out[i], c.f(x[i], y[i])) << c.op << " at " << i;
  }
}

TEST(Ops, ElementwiseBinaryMatchesNaiveReference) {
  check_binary<float>(MX_FLOAT32);
  check_binary<double>(MX_FLOAT64);
  check_binary<int32_t>(MX_INT32);
  check_binary<int64_t>(MX_INT64);
}

TEST(Ops, LargeElementwiseLoopsSplitAcrossThreadsMatchNaiveReference) {
  // Above the CPU backend's parallel threshold (2^16): chunks run on its intra-op threads.
  const size_t n = (size_t(1) << 18) + 7;
  auto x = random_values<float>(n, 21), y = random_values<float>(n, 22);
  Arr a({int64_t(n)}), b({int64_t(n)});
  a.set(x);
  b.set(y);
  auto sum = invoke1("elemwise_add", {a.get(), b.get()}).to_vector<float>();
  const char* k[] = {"scalar"};
  const char* v[] = {"3"};
  auto scaled = invoke1("_mul_scalar", {a.get()}, 1, k, v).to_vector<float>();
  auto r = invoke1("relu", {a.get()}).to_vector<float>();
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(sum[i], x[i] + y[i]) << i;
    ASSERT_EQ(scaled[i], x[i] * 3.0f) << i;
    ASSERT_EQ(r[i], x[i] > 0 ? x[i] : 0.0f) << i;
  }
}

TEST(Ops, IntegerDivisionByZeroDoesNotTrap) {
  Arr a({3}, MX_INT32), b({3}, MX_INT32);
  a.set(std::vector<int32_t>{7, INT32_MIN, -9});
  b.set(std::vector<int32_t>{0, -1, 2});
  EXPECT_EQ(invoke1("elemwise_div", {a.get(), b.get()}).to_vector<int32_t>(),
            (std::vector<int32_t>{0, INT32_MIN, -4}));
}

TEST(Ops, HalfPrecisionComputesInFloat32) {
  // 1.5 + 2.25 = 3.75, exact in both formats.
  Arr h1({1}, MX_FLOAT16), h2({1}, MX_FLOAT16);
  h1.set(std::vector<uint16_t>{0x3E00});
  h2.set(std::vector<uint16_t>{0x4080});
  EXPECT_EQ(invoke1("elemwise_add", {h1.get(), h2.get()}).to_vector<uint16_t>()[0], 0x4380);
  Arr b1({1}, MX_BFLOAT16), b2({1}, MX_BFLOAT16);
  b1.set(std::vector<uint16_t>{0x3FC0});
  b2.set(std::vector<uint16_t>{0x4010});
  EXPECT_EQ(invoke1("elemwise_add", {b1.get(), b2.get()}).to_vector<uint16_t>()[0], 0x4070);
}

TEST(Ops, ScalarFormsMatchNaiveReference) {
  auto x = random_values<float>(257, 3, 0.5, 4);
  Arr a({257});
  a.set(x);
  struct Case {
    const char* op;
    float (*f)(float, float);
  } cases[] = {{"_plus_scalar", [](float p, float s) { return p + s; }},
               {"_minus_scalar", [](float p, float s) { return p - s; }},
               {"_rminus_scalar", [](float p, float s) { return s - p; }},
               {"_mul_scalar", [](float p, float s) { return p * s; }},
               {"_div_scalar", [](float p, float s) { return p / s; }},
               {"_rdiv_scalar", [](float p, float s) { return s / p; }}};
  const char* k[] = {"scalar"};
  const char* v[] = {"2.5"};
  for (const Case& c : cases) {
    auto out = invoke1(c.op, {a.get()}, 1, k, v).to_vector<float>();
    for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(out[i], c.f(x[i], 2.5f)) << c.op << " at " << i;
  }
  EXPECT_EQ(invoke1("_copy", {a.get()}).to_vector<float>(), x);
}

TEST(Ops, FillOps) {
  const char* k[] = {"shape", "dtype"};
  const char* v[] = {"(2,3)", "int32"};
  EXPECT_EQ(invoke1("_zeros", {}, 2, k, v).to_vector<int32_t>(), std::vector<int32_t>(6, 0));
  EXPECT_EQ(invoke1("_ones", {}, 2, k, v).to_vector<int32_t>(), std::vector<int32_t>(6, 1));
  const char* kf[] = {"shape", "value", "dtype", "ctx"};
  const char* vf[] = {"[4]", "-2.5", "float64", "cpu(0)"};
  Arr f = invoke1("_full", {}, 4, kf, vf);
  EXPECT_EQ(f.to_vector<double>(), std::vector<double>(4, -2.5));
  EXPECT_EQ(f.shape(), (std::vector<int64_t>{4}));
}

std::vector<double> naive_matmul(const std::vector<double>& A, const std::vector<double>& B, int64_t m, int64_t n,
                                 int64_t k, bool ta, bool tb) {
  std::vector<double> C(size_t(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0;
      for (int64_t p = 0; p < k; ++p) {
        const double a = ta ? A[size_t(p * m + i)] : A[size_t(i * k + p)];
        const double b = tb ? B[size_t(j * k + p)] : B[size_t(p * n + j)];
        s += a * b;
      }
      C[size_t(i * n + j)] = s;
    }
  return C;
}

TEST(Ops, DotMatchesNaiveMatmulForEveryTransposeAndDtype) {
  const int64_t m = 37, n = 23, k = 51;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      auto A = random_values<double>(size_t(m * k), 11), B = random_values<double>(size_t(k * n), 12);
      auto C = naive_matmul(A, B, m, n, k, ta, tb);
      const char* keys[] = {"transpose_a", "transpose_b"};
      const char* vals[] = {ta ? "True" : "False", tb ? "true" : "0"};
      // float64
      Arr a(ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k}, MX_FLOAT64);
      Arr b(tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n}, MX_FLOAT64);
      a.set(A);
      b.set(B);
      Arr c = invoke1("dot", {a.get(), b.get()}, 2, keys, vals);
      EXPECT_EQ(c.shape(), (std::vector<int64_t>{m, n}));
      auto got = c.to_vector<double>();
      for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], C[i], 1e-10) << ta << tb << i;
      // float32
      std::vector<float> Af(A.begin(), A.end()), Bf(B.begin(), B.end());
      Arr af(a.shape(), MX_FLOAT32), bf(b.shape(), MX_FLOAT32);
      af.set(Af);
      bf.set(Bf);
      auto gotf = invoke1("dot", {af.get(), bf.get()}, 2, keys, vals).to_vector<float>();
      for (size_t i = 0; i < gotf.size(); ++i) ASSERT_NEAR(gotf[i], C[i], 1e-3 * (1 + std::fabs(C[i])));
    }
}

TEST(Ops, DotOnNdArraysFlattensLikeMXNet) {
  // (2,3,4) . (4,5) -> (2,3,5); vector . vector -> (1,)
  auto A = random_values<double>(24, 5), B = random_values<double>(20, 6);
  Arr a({2, 3, 4}, MX_FLOAT64), b({4, 5}, MX_FLOAT64);
  a.set(A);
  b.set(B);
  Arr c = invoke1("dot", {a.get(), b.get()});
  EXPECT_EQ(c.shape(), (std::vector<int64_t>{2, 3, 5}));
  auto ref = naive_matmul(A, B, 6, 5, 4, false, false);
  auto got = c.to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ref[i], 1e-12);
  Arr u({4}, MX_FLOAT64), w({4}, MX_FLOAT64);
  u.set(std::vector<double>{1, 2, 3, 4});
  w.set(std::vector<double>{5, 6, 7, 8});
  Arr d = invoke1("dot", {u.get(), w.get()});
  EXPECT_EQ(d.shape(), (std::vector<int64_t>{1}));
  EXPECT_EQ(d.to_vector<double>()[0], 70.0);
}

TEST(Ops, ErrorsNameTheOpAttributeAndShapes) {
  Arr a({2, 3}), b({3, 2}), i({2, 3}, MX_BOOL);
  mx_ndarray_t in[] = {a.get(), b.get()};
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  EXPECT_EQ(mx_imperative_invoke("elemwise_add", 2, in, &nout, &outs, 0, nullptr, nullptr), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
  EXPECT_NE(last_error().find("elemwise_add"), std::string::npos);
  EXPECT_NE(last_error().find("(2,3)"), std::string::npos);
  EXPECT_NE(last_error().find("(3,2)"), std::string::npos);

  EXPECT_EQ(mx_imperative_invoke("no_such_op", 0, nullptr, &nout, &outs, 0, nullptr, nullptr), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
  EXPECT_NE(last_error().find("no_such_op"), std::string::npos);

  const char* k1[] = {"sclar"};
  const char* v1[] = {"1"};
  nout = 0;
  EXPECT_EQ(mx_imperative_invoke("_plus_scalar", 1, in, &nout, &outs, 1, k1, v1), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("unknown attribute 'sclar'"), std::string::npos) << last_error();
  EXPECT_NE(last_error().find("scalar"), std::string::npos);

  const char* k2[] = {"scalar"};
  const char* v2[] = {"abc"};
  EXPECT_EQ(mx_imperative_invoke("_plus_scalar", 1, in, &nout, &outs, 1, k2, v2), -1);
  EXPECT_NE(last_error().find("'abc'"), std::string::npos) << last_error();

  const char* k3[] = {"shape", "scale"};
  const char* v3[] = {"(2)", "-1"};
  EXPECT_EQ(mx_imperative_invoke("_random_normal", 0, nullptr, &nout, &outs, 2, k3, v3), -1);
  EXPECT_NE(last_error().find("must be in [0"), std::string::npos) << last_error();

  const char* k4[] = {"shape"};
  const char* v4[] = {"(2)"};
  EXPECT_EQ(mx_imperative_invoke("_full", 0, nullptr, &nout, &outs, 1, k4, v4), -1);
  EXPECT_NE(last_error().find("required attribute 'value'"), std::string::npos) << last_error();

  mx_ndarray_t bools[] = {i.get(), i.get()};
  EXPECT_EQ(mx_imperative_invoke("elemwise_mul", 2, bools, &nout, &outs, 0, nullptr, nullptr), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED);
  EXPECT_NE(last_error().find("bool"), std::string::npos);

  // dot with mismatched reduction dims
  EXPECT_EQ(mx_imperative_invoke("dot", 2, std::vector<mx_ndarray_t>{a.get(), a.get()}.data(), &nout, &outs, 0,
                                 nullptr, nullptr),
            -1);
  EXPECT_NE(last_error().find("dot: reduction dimensions differ"), std::string::npos) << last_error();

  // provided output of the wrong shape
  Arr wrong({6});
  mx_ndarray_t o[] = {wrong.get()};
  mx_ndarray_t* op = o;
  nout = 1;
  mx_ndarray_t same[] = {a.get(), a.get()};
  EXPECT_EQ(mx_imperative_invoke("elemwise_add", 2, same, &nout, &op, 0, nullptr, nullptr), -1);
  EXPECT_NE(last_error().find("output 0 is (6)"), std::string::npos) << last_error();
}

TEST(Ops, ProvidedOutputIsWrittenInPlace) {
  Arr a({4}), out({4});
  a.set(std::vector<float>{1, 2, 3, 4});
  mx_ndarray_t in[] = {a.get(), a.get()};
  mx_ndarray_t o[] = {out.get()};
  mx_ndarray_t* op = o;
  int32_t n = 1;
  ASSERT_MX_OK(mx_imperative_invoke("elemwise_mul", 2, in, &n, &op, 0, nullptr, nullptr));
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{1, 4, 9, 16}));
  // in place on an input: a = a + a, repeated, ordered by the engine
  mx_ndarray_t oa[] = {a.get()};
  mx_ndarray_t* opa = oa;
  for (int r = 0; r < 10; ++r) ASSERT_MX_OK(mx_imperative_invoke("elemwise_add", 2, in, &n, &opa, 0, nullptr, nullptr));
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{1024, 2048, 3072, 4096}));
}

TEST(NDArray, ViewsShareStorage) {
  Arr a({4, 3});
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[size_t(i)] = float(i);
  a.set(x);
  mx_ndarray_t s = nullptr;
  ASSERT_MX_OK(mx_ndarray_slice(a.get(), 1, 3, &s));
  Arr sl(s);
  EXPECT_EQ(sl.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(sl.to_vector<float>(), (std::vector<float>{3, 4, 5, 6, 7, 8}));
  sl.set(std::vector<float>(6, -1));
  auto after = a.to_vector<float>();
  EXPECT_EQ(after, (std::vector<float>{0, 1, 2, -1, -1, -1, -1, -1, -1, 9, 10, 11}));

  int64_t shp[] = {-1, 6};
  mx_ndarray_t r = nullptr;
  ASSERT_MX_OK(mx_ndarray_reshape(a.get(), shp, 2, &r));
  Arr re(r);
  EXPECT_EQ(re.shape(), (std::vector<int64_t>{2, 6}));
  // An op writing the reshaped view is ordered before a read of the original.
  const char* k[] = {"scalar"};
  const char* v[] = {"100"};
  mx_ndarray_t in[] = {re.get()};
  mx_ndarray_t* op = in;
  int32_t n = 1;
  ASSERT_MX_OK(mx_imperative_invoke("_plus_scalar", 1, in, &n, &op, 1, k, v));
  EXPECT_EQ(a.to_vector<float>()[0], 100.0f);
  // Slice of the whole then free the parent: the view keeps the memory alive.
  mx_ndarray_t keep = nullptr;
  ASSERT_MX_OK(mx_ndarray_slice(a.get(), 3, 4, &keep));
  a = Arr();
  Arr kept(keep);
  EXPECT_EQ(kept.to_vector<float>(), (std::vector<float>{109, 110, 111}));

  mx_ndarray_t bad = nullptr;
  EXPECT_EQ(mx_ndarray_slice(kept.get(), 0, 5, &bad), -1);
  EXPECT_NE(last_error().find("[0, 5)"), std::string::npos);
  int64_t bs[] = {4, 4};
  EXPECT_EQ(mx_ndarray_reshape(kept.get(), bs, 2, &bad), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
}

TEST(NDArray, AsyncCopyBetweenArrays) {
  Arr a({1000}), b({1000});
  auto x = random_values<float>(1000, 9);
  a.set(x);
  ASSERT_MX_OK(mx_ndarray_copy_to(a.get(), b.get()));
  EXPECT_EQ(b.to_vector<float>(), x);
  Arr c({999});
  EXPECT_EQ(mx_ndarray_copy_to(a.get(), c.get()), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
}

TEST(NDArray, AsyncErrorSurfacesAtWait) {
  Arr a({3});
  a.set(std::vector<float>{1, 2, 3});
  // Make an op on a's var fail at run time, as a kernel failure would.
  engine::Var* w[] = {capi::deref(a.get(), "test").arr.var()};
  engine::get().push([](engine::RunContext&) { throw Error(MX_ERR_INTERNAL, "kernel exploded"); }, cpu(), {}, w);
  Arr b = invoke1("_plus_scalar", {a.get()});  // depends on the failed write
  EXPECT_EQ(mx_ndarray_wait_to_read(b.get()), -1);
  EXPECT_EQ(last_error(), "kernel exploded");
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INTERNAL);
  EXPECT_EQ(mx_ndarray_wait_to_read(b.get()), -1) << "the error stays on b until b is written again";
  EXPECT_EQ(mx_ndarray_wait_to_read(a.get()), -1);
  EXPECT_MX_OK(mx_ndarray_wait_all());
}

TEST(NDArray, MemoryReturnsToPoolOnlyAfterPendingOps) {
  plugin::runtime_init();
  auto& pool = storage::pool(cpu());
  std::atomic<bool> release{false};
  uint64_t before;
  {
    NDArray big({1 << 20}, MX_FLOAT32, cpu());  // 4 MiB
    before = pool.stats().in_use;
    engine::Var* r[] = {big.var()};
    engine::get().push([&](engine::RunContext&) { while (!release) std::this_thread::yield(); }, cpu(), r, {});
  }  // the handle is gone, an op still reads it
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(pool.stats().in_use, before) << "memory must not return while an op still reads it";
  release = true;
  engine::get().wait_all();
  EXPECT_EQ(pool.stats().in_use, before - storage::size_class(4u << 20));
}

TEST(Storage, StatsLimitAndOutOfMemoryThroughCApi) {
  mx_storage_stats s;
  std::memset(&s, 0, sizeof(s));
  s.struct_size = sizeof(s);
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_storage_empty_cache(MX_DEVICE_CPU, 0));
  ASSERT_MX_OK(mx_storage_stats_get(MX_DEVICE_CPU, 0, &s));
  const uint64_t base = s.in_use_bytes;
  EXPECT_EQ(s.pooled_bytes, 0u);
  {
    Arr a({1000, 1000});
    ASSERT_MX_OK(mx_storage_stats_get(MX_DEVICE_CPU, 0, &s));
    EXPECT_GE(s.in_use_bytes, base + 4000000);
  }
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_storage_stats_get(MX_DEVICE_CPU, 0, &s));
  EXPECT_EQ(s.in_use_bytes, base);
  EXPECT_GE(s.pooled_bytes, 4000000u);
  EXPECT_GE(s.peak_in_use_bytes, base + 4000000);

  // 8 MiB is another size class than the pooled 4 MiB block: the pool must be released, and
  // even then the request stays over the limit.
  ASSERT_MX_OK(mx_storage_set_limit(MX_DEVICE_CPU, 0, base + (5 << 20)));
  int64_t shape[] = {2 << 20};
  mx_ndarray_t h = nullptr;
  EXPECT_EQ(mx_ndarray_create(shape, 1, MX_FLOAT32, MX_DEVICE_CPU, 0, &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_OUT_OF_MEMORY);
  EXPECT_NE(last_error().find("cpu(0)"), std::string::npos) << last_error();
  ASSERT_MX_OK(mx_storage_stats_get(MX_DEVICE_CPU, 0, &s));
  EXPECT_EQ(s.pooled_bytes, 0u) << "the pool is released before giving up";
  ASSERT_MX_OK(mx_storage_set_limit(MX_DEVICE_CPU, 0, 0));
  Arr ok({1 << 20});
}

// ---------------------------------------------------------------- .params

template <typename T>
void put(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

TEST(Params, ReadsAFileLaidOutAsMXNetWritesIt) {
  // Built byte by byte from MXNet's format: dict {"arg:w": float32 (2,2), "aux:b": int64 (3,)}.
  std::string f;
  put<uint64_t>(f, 0x112);
  put<uint64_t>(f, 0);
  put<uint64_t>(f, 2);
  put<uint32_t>(f, 0xF993fac9);
  put<int32_t>(f, 0);
  put<int32_t>(f, 2);
  put<int64_t>(f, 2);
  put<int64_t>(f, 2);
  put<int32_t>(f, 1);
  put<int32_t>(f, 0);
  put<int32_t>(f, 0);
  for (float v : {1.f, 2.f, 3.f, 4.f}) put<float>(f, v);
  put<uint32_t>(f, 0xF993fac9);
  put<int32_t>(f, 0);
  put<int32_t>(f, 1);
  put<int64_t>(f, 3);
  put<int32_t>(f, 2);  // saved from gpu(1): loads onto cpu(0)
  put<int32_t>(f, 1);
  put<int32_t>(f, 6);
  for (int64_t v : {7, 8, 9}) put<int64_t>(f, v);
  put<uint64_t>(f, 2);
  for (std::string k : {"arg:w", "aux:b"}) {
    put<uint64_t>(f, k.size());
    f += k;
  }
  const std::string path = ::testing::TempDir() + "/mxnet_layout.params";
  std::ofstream(path, std::ios::binary) << f;

  uint32_t n = 0, nk = 0;
  mx_ndarray_t* arrs = nullptr;
  const char** keys = nullptr;
  ASSERT_MX_OK(mx_ndarray_load(path.c_str(), &n, &arrs, &nk, &keys));
  ASSERT_EQ(n, 2u);
  ASSERT_EQ(nk, 2u);
  EXPECT_STREQ(keys[0], "arg:w");
  EXPECT_STREQ(keys[1], "aux:b");
  Arr w(arrs[0]), b(arrs[1]);
  EXPECT_EQ(w.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{7, 8, 9}));
  int32_t dev = 0, id = -1;
  EXPECT_MX_OK(mx_ndarray_get_device(b.get(), &dev, &id));
  EXPECT_EQ(dev, MX_DEVICE_CPU);

  // Saving the same dict writes the same bytes (device of origin aside: ours are on cpu).
  const std::string path2 = ::testing::TempDir() + "/roundtrip.params";
  mx_ndarray_t hs[] = {w.get(), b.get()};
  const char* ks[] = {"arg:w", "aux:b"};
  ASSERT_MX_OK(mx_ndarray_save(path2.c_str(), 2, hs, ks));
  std::ifstream in(path2, std::ios::binary);
  std::string saved((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string expect = f;
  const size_t dev_at = 8 * 3 + (4 + 4 + 4 + 16 + 4 + 4 + 4 + 16) + 4 + 4 + 4 + 8;
  std::memcpy(&expect[dev_at], "\x01\x00\x00\x00\x00\x00\x00\x00", 8);
  EXPECT_EQ(saved, expect);
}

TEST(Params, ListRoundTripAndMalformedFiles) {
  Arr a({3}, MX_FLOAT64), b({2, 2}, MX_UINT8);
  a.set(std::vector<double>{1.5, -2, 3});
  b.set(std::vector<uint8_t>{1, 2, 3, 4});
  const std::string path = ::testing::TempDir() + "/list.params";
  mx_ndarray_t hs[] = {a.get(), b.get()};
  ASSERT_MX_OK(mx_ndarray_save(path.c_str(), 2, hs, nullptr));
  uint32_t n = 0, nk = 0;
  mx_ndarray_t* arrs = nullptr;
  const char** keys = nullptr;
  ASSERT_MX_OK(mx_ndarray_load(path.c_str(), &n, &arrs, &nk, &keys));
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(nk, 0u);
  Arr la(arrs[0]), lb(arrs[1]);
  EXPECT_EQ(la.to_vector<double>(), (std::vector<double>{1.5, -2, 3}));
  EXPECT_EQ(lb.to_vector<uint8_t>(), (std::vector<uint8_t>{1, 2, 3, 4}));

  // Truncations at every length never crash and name the file and an offset.
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = ::testing::TempDir() + "/cut.params";
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::ofstream(cut, std::ios::binary | std::ios::trunc) << bytes.substr(0, len);
    ASSERT_EQ(mx_ndarray_load(cut.c_str(), &n, &arrs, &nk, &keys), -1) << len;
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_IO);
    EXPECT_NE(last_error().find("cut.params"), std::string::npos);
    EXPECT_NE(last_error().find("offset"), std::string::npos) << last_error();
  }
  std::string corrupt = bytes;
  corrupt[0] = 0x13;
  std::ofstream(cut, std::ios::binary | std::ios::trunc) << corrupt;
  EXPECT_EQ(mx_ndarray_load(cut.c_str(), &n, &arrs, &nk, &keys), -1);
  EXPECT_NE(last_error().find("magic"), std::string::npos);
  EXPECT_EQ(mx_ndarray_load("/nonexistent/x.params", &n, &arrs, &nk, &keys), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);  // as every reader reports a missing file
}

// ---------------------------------------------------------------- DLPack

TEST(DLPack, ExportIsZeroCopyAndKeepsMemoryAlive) {
  Arr a({2, 3});
  a.set(std::vector<float>{1, 2, 3, 4, 5, 6});
  DLManagedTensor* t = nullptr;
  ASSERT_MX_OK(mx_ndarray_to_dlpack(a.get(), &t));
  EXPECT_EQ(t->dl_tensor.ndim, 2);
  EXPECT_EQ(t->dl_tensor.shape[0], 2);
  EXPECT_EQ(t->dl_tensor.shape[1], 3);
  EXPECT_EQ(t->dl_tensor.dtype.code, kDLFloat);
  EXPECT_EQ(t->dl_tensor.dtype.bits, 32);
  EXPECT_EQ(t->dl_tensor.device.device_type, kDLCPU);
  a = Arr();  // the tensor still owns the memory
  const float* p = reinterpret_cast<const float*>(static_cast<char*>(t->dl_tensor.data) + t->dl_tensor.byte_offset);
  EXPECT_EQ(std::vector<float>(p, p + 6), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  t->deleter(t);
}

struct Foreign {
  std::vector<int32_t> data{10, 20, 30, 40};
  std::vector<int64_t> shape{2, 2};
  DLManagedTensor managed{};
  std::atomic<int>* deleted;
};

TEST(DLPack, ImportIsZeroCopyAndCallsTheDeleterOnce) {
  std::atomic<int> deleted{0};
  auto* f = new Foreign();
  f->deleted = &deleted;
  f->managed.dl_tensor = DLTensor{f->data.data(), {kDLCPU, 0}, 2, {kDLInt, 32, 1}, f->shape.data(), nullptr, 0};
  f->managed.manager_ctx = f;
  f->managed.deleter = [](DLManagedTensor* self) {
    auto* me = static_cast<Foreign*>(self->manager_ctx);
    ++*me->deleted;
    delete me;
  };
  int32_t* raw = f->data.data();
  mx_ndarray_t h = nullptr;
  ASSERT_MX_OK(mx_ndarray_from_dlpack(&f->managed, &h));
  Arr a(h);
  EXPECT_EQ(a.to_vector<int32_t>(), (std::vector<int32_t>{10, 20, 30, 40}));
  raw[0] = 11;  // shared memory: visible through mx
  EXPECT_EQ(a.to_vector<int32_t>()[0], 11);
  Arr b = invoke1("_plus_scalar", {a.get()});
  mx_ndarray_t out[] = {a.get()};
  mx_ndarray_t* op = out;
  int32_t n = 1;
  mx_ndarray_t in[] = {b.get(), b.get()};
  ASSERT_MX_OK(mx_imperative_invoke("elemwise_add", 2, in, &n, &op, 0, nullptr, nullptr));
  a = Arr();
  ASSERT_MX_OK(mx_ndarray_wait_all());
  EXPECT_EQ(deleted.load(), 1);

  DLTensor strided{nullptr, {kDLCPU, 0}, 2, {kDLFloat, 32, 1}, nullptr, nullptr, 0};
  int64_t shape[] = {2, 2}, strides[] = {1, 2};
  strided.shape = shape;
  strided.strides = strides;
  DLManagedTensor m{strided, nullptr, nullptr};
  EXPECT_EQ(mx_ndarray_from_dlpack(&m, &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED);
  EXPECT_NE(last_error().find("row-major"), std::string::npos);
}

// A user function through mx_autograd_record_function: y = exp(x), computed off the tape, with
// the gradient dy * exp(x) computed by the C callback from a saved view of y.
struct ExpFunction {
  mx_ndarray_t saved = nullptr;  // a second handle over y, released with the state
  int calls = 0, frees = 0;
  bool fail = false, wrong_shape = false;
};

int exp_backward(uint32_t num_ograds, const mx_ndarray_t* ograds, uint32_t num_igrads, mx_ndarray_t* igrads,
                 void* user_data) {
  auto* f = static_cast<ExpFunction*>(user_data);
  ++f->calls;
  Arr dy(ograds[0]);  // the output gradients are ours to free
  if (num_ograds != 1 || num_igrads != 1) return mx_custom_op_set_error(MX_ERR_INTERNAL, "exp_backward: counts"), -1;
  if (f->fail) return mx_custom_op_set_error(MX_ERR_INVALID_ARGUMENT, "exp_backward: deliberate"), -1;
  if (f->wrong_shape) {
    igrads[0] = Arr(std::vector<int64_t>{7}).release();
    return 0;
  }
  mx_ndarray_t in[] = {dy.get(), f->saved};
  int32_t n = 0;
  mx_ndarray_t* out = nullptr;
  if (mx_imperative_invoke("elemwise_mul", 2, in, &n, &out, 0, nullptr, nullptr) != 0) return -1;
  igrads[0] = out[0];  // the library takes this handle over
  return 0;
}

void exp_free(void* user_data) {
  auto* f = static_cast<ExpFunction*>(user_data);
  ++f->frees;
  mx_ndarray_free(f->saved);
  f->saved = nullptr;
}

class RecordFunction : public ::testing::Test {
 protected:
  const std::vector<float> xv{-1.f, 0.f, 0.5f, 2.f};
  Arr x{std::vector<int64_t>{4}}, gx{std::vector<int64_t>{4}};
  Arr y, z;  // the function's output and 3 * y, alive until the test drops them
  void SetUp() override {
    x.set(xv);
    mx_ndarray_t xh = x.get(), gh = gx.get();
    int32_t req = MX_GRAD_WRITE;
    ASSERT_MX_OK(mx_autograd_mark_variables(1, &xh, &req, &gh));
  }
  // Records y = f(x) and z = 3 * y, then backpropagates sum(z); returns backward's result.
  int record_and_backward(ExpFunction& f) {
    y = invoke1("exp", {x.get()});  // not recording: computed off the tape
    int64_t shape[] = {4};
    EXPECT_MX_OK(mx_ndarray_reshape(y.get(), shape, 1, &f.saved));
    int32_t was = 0;
    EXPECT_MX_OK(mx_autograd_set_recording(1, &was));
    mx_ndarray_t xh = x.get(), yh = y.get();
    EXPECT_MX_OK(mx_autograd_record_function(1, &xh, 1, &yh, exp_backward, exp_free, &f));
    const char* keys[] = {"scalar"};
    const char* vals[] = {"3"};
    z = invoke1("_mul_scalar", {yh}, 1, keys, vals);
    EXPECT_MX_OK(mx_autograd_set_recording(0, nullptr));
    mx_ndarray_t zh = z.get();
    return mx_autograd_backward(1, &zh, nullptr, 0, 0, 1);
  }
};

TEST_F(RecordFunction, GradientComesFromTheCallbackAndTheStateIsReleasedOnce) {
  ExpFunction f;
  ASSERT_MX_OK(record_and_backward(f));
  EXPECT_EQ(f.calls, 1);
  EXPECT_EQ(f.frees, 1);  // backward freed the graph, though y and z still live
  const std::vector<float> g = gx.to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(g[i], 3.0 * std::exp(double(xv[i])), 1e-5 * std::exp(2.0)) << i;
}

TEST_F(RecordFunction, CallbackErrorsAreReportedAndTheStateStillReleased) {
  ExpFunction failing;
  failing.fail = true;
  EXPECT_EQ(record_and_backward(failing), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_NE(last_error().find("exp_backward: deliberate"), std::string::npos) << last_error();
  EXPECT_EQ(failing.frees, 0);  // a failed backward keeps the graph ...
  z = Arr();
  EXPECT_EQ(failing.frees, 0);
  y = Arr();
  EXPECT_EQ(failing.frees, 1);  // ... until the last array on it goes

  ExpFunction misshapen;
  misshapen.wrong_shape = true;
  EXPECT_EQ(record_and_backward(misshapen), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
  EXPECT_NE(last_error().find("autograd.Function's gradient 0"), std::string::npos) << last_error();
  y = Arr();
  z = Arr();
  EXPECT_EQ(misshapen.frees, 1);
}

TEST_F(RecordFunction, NothingRecordedOrBadArgumentsReleaseTheStateAtOnce) {
  y = invoke1("exp", {x.get()});
  mx_ndarray_t xh = x.get(), yh = y.get();
  ExpFunction not_recording;
  EXPECT_MX_OK(mx_autograd_record_function(1, &xh, 1, &yh, exp_backward, exp_free, &not_recording));
  EXPECT_EQ(not_recording.frees, 1);

  ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
  ExpFunction no_callback, output_on_tape;
  EXPECT_EQ(mx_autograd_record_function(1, &xh, 1, &yh, nullptr, exp_free, &no_callback), -1);
  EXPECT_NE(last_error().find("backward callback is NULL"), std::string::npos) << last_error();
  EXPECT_EQ(no_callback.frees, 1);
  EXPECT_EQ(mx_autograd_record_function(1, &xh, 1, &xh, exp_backward, exp_free, &output_on_tape), -1);
  EXPECT_NE(last_error().find("already on the autograd tape"), std::string::npos) << last_error();
  EXPECT_EQ(output_on_tape.frees, 1);
  ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
  EXPECT_EQ(not_recording.calls + no_callback.calls + output_on_tape.calls, 0);
}

}  // namespace
}  // namespace mx
