// CUDA backend against the CPU reference. Skips with the backend's own reason without a GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using mx::test::Arr;

class Cuda : public ::testing::Test {
 protected:
  void SetUp() override {
    int32_t n = 0;
    ASSERT_MX_OK(mx_backend_count(&n));
    std::string why = "no CUDA backend plugin was found";
    for (int32_t i = 0; i < n; ++i) {
      mx_backend_info info;
      std::memset(&info, 0, sizeof(info));
      info.struct_size = sizeof(info);
      ASSERT_MX_OK(mx_backend_get_info(i, &info));
      if (std::string(info.name) == "cuda")
        why = info.failed_step == MX_BACKEND_OK ? "" : std::string("cuda backend: ") + info.message;
    }
    if (!why.empty()) GTEST_SKIP() << why;
  }
};

TEST_F(Cuda, DeviceInfo) {
  mx_device_info d;
  std::memset(&d, 0, sizeof(d));
  d.struct_size = sizeof(d);
  ASSERT_MX_OK(mx_device_get_info(MX_DEVICE_GPU, 0, &d));
  EXPECT_GT(d.total_memory, 0u);
  EXPECT_TRUE(d.supports_async);
  EXPECT_TRUE(d.supports_events);
}

TEST_F(Cuda, HostDeviceRoundTripsMatchHostData) {
  std::vector<float> x(100003);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i) * 0.5f - 7.0f;
  Arr g({100003}, MX_FLOAT32, MX_DEVICE_GPU), g2({100003}, MX_FLOAT32, MX_DEVICE_GPU), c({100003});
  g.set(x);
  ASSERT_MX_OK(mx_ndarray_copy_to(g.get(), g2.get()));  // device -> device on the copy stream
  ASSERT_MX_OK(mx_ndarray_copy_to(g2.get(), c.get()));  // device -> host
  EXPECT_EQ(c.to_vector<float>(), x);
  EXPECT_EQ(g2.to_vector<float>(), x);
}

TEST_F(Cuda, FillsMatchTheCpuBackendAcrossStreams) {
  // Compute stream writes, copy stream reads, host reads: 50 rounds of alternating values would
  // expose any missing event between the streams.
  for (const char* dt : {"float32", "float64", "float16", "int32", "int8", "bfloat16"}) {
    const char* k[] = {"shape", "value", "dtype", "ctx"};
    const char* vg[] = {"(4099)", "3.25", dt, "gpu(0)"};
    const char* vc[] = {"(4099)", "3.25", dt, "cpu(0)"};
    Arr cpu = mx::test::invoke1("_full", {}, 4, k, vc);
    Arr gpu = mx::test::invoke1("_full", {}, 4, k, vg);
    EXPECT_EQ(gpu.to_bytes(), cpu.to_bytes()) << dt;
  }
  Arr a({1 << 20}, MX_FLOAT32, MX_DEVICE_GPU), b({1 << 20}, MX_FLOAT32, MX_DEVICE_GPU), h({1 << 20});
  for (int r = 0; r < 50; ++r) {
    std::string val = std::to_string(r);
    const char* k[] = {"shape", "value", "ctx"};
    const char* v[] = {"(1048576)", val.c_str(), "gpu(0)"};
    mx_ndarray_t o[] = {a.get()};
    mx_ndarray_t* op = o;
    int32_t n = 1;
    ASSERT_MX_OK(mx_imperative_invoke("_full", 0, nullptr, &n, &op, 3, k, v));
    ASSERT_MX_OK(mx_ndarray_copy_to(a.get(), b.get()));
    ASSERT_MX_OK(mx_ndarray_copy_to(b.get(), h.get()));
    auto got = h.to_vector<float>();
    ASSERT_EQ(got.front(), float(r));
    ASSERT_EQ(got.back(), float(r));
  }
}

TEST_F(Cuda, StoragePoolAndOutOfMemory) {
  mx_storage_stats s;
  std::memset(&s, 0, sizeof(s));
  s.struct_size = sizeof(s);
  { Arr a({1 << 20}, MX_FLOAT32, MX_DEVICE_GPU); }
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ASSERT_MX_OK(mx_storage_stats_get(MX_DEVICE_GPU, 0, &s));
  EXPECT_GE(s.pooled_bytes, 4u << 20);
  int64_t huge[] = {int64_t(1) << 40};  // 4 TiB
  mx_ndarray_t h = nullptr;
  EXPECT_EQ(mx_ndarray_create(huge, 1, MX_FLOAT32, MX_DEVICE_GPU, 0, &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_OUT_OF_MEMORY);
  ASSERT_MX_OK(mx_storage_empty_cache(MX_DEVICE_GPU, 0));
}

// ---------------------------------------------------------------- GPU results against the CPU backend

// The same host data as a CPU and a GPU array.
struct Pair {
  Arr cpu, gpu;
};
template <typename T>
Pair pair_of(std::vector<int64_t> shape, int32_t dtype, const std::vector<T>& v) {
  Pair p{Arr(shape, dtype, MX_DEVICE_CPU), Arr(shape, dtype, MX_DEVICE_GPU)};
  p.cpu.set(v);
  p.gpu.set(v);
  return p;
}

// Runs op and keeps its first output (hidden outputs, such as Dropout's mask, are freed).
Arr invoke_first(const char* op, std::vector<mx_ndarray_t> in, std::vector<const char*> keys,
                 std::vector<const char*> vals, const char* where) {
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  const int rc = mx_imperative_invoke(op, int32_t(in.size()), in.data(), &nout, &outs, int32_t(keys.size()), keys.data(),
                                      vals.data());
  EXPECT_EQ(rc, 0) << op << " on " << where << ": " << mx_get_last_error();
  if (rc != 0 || nout < 1) return Arr();
  for (int32_t k = 1; k < nout; ++k) mx_ndarray_free(outs[k]);
  return Arr(outs[0]);
}

// Runs op on the CPU inputs and on the GPU inputs with the same attributes.
Pair run_both(const char* op, std::initializer_list<const Pair*> in, const std::vector<const char*>& keys,
              const std::vector<const char*>& vals) {
  std::vector<mx_ndarray_t> c, g;
  for (const Pair* p : in) {
    c.push_back(p->cpu.get());
    g.push_back(p->gpu.get());
  }
  return Pair{invoke_first(op, c, keys, vals, "cpu"), invoke_first(op, g, keys, vals, "gpu")};
}

template <typename T>
void expect_near_all(const std::vector<T>& got, const std::vector<T>& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(double(got[i]), double(want[i]), tol * (1 + std::fabs(double(want[i])))) << what << " at " << i;
}

TEST_F(Cuda, RandomIsBitIdenticalToTheCpu) {
  // The same seed resets every device's Philox offset: both devices then draw the same blocks.
  // float16 / bfloat16 are the rounded float32 samples on both (backends/common/random.h).
  for (const char* op : {"_random_uniform", "_random_normal"})
    for (const char* dt : {"float32", "float64", "float16", "bfloat16"})
      for (int64_t n : {int64_t(1), int64_t(5), int64_t(1023), int64_t(1) << 20}) {
        std::string shape = std::to_string(n);
        shape.insert(shape.begin(), '(');
        shape.push_back(')');
        const bool normal = std::strcmp(op, "_random_normal") == 0;
        const char* k[] = {"shape", "dtype", "ctx", normal ? "loc" : "low", normal ? "scale" : "high"};
        const char* vc[] = {shape.c_str(), dt, "cpu(0)", normal ? "0.5" : "-2", normal ? "3" : "5"};
        const char* vg[] = {shape.c_str(), dt, "gpu(0)", normal ? "0.5" : "-2", normal ? "3" : "5"};
        ASSERT_MX_OK(mx_random_seed(1234));
        Arr cpu = mx::test::invoke1(op, {}, 5, k, vc);
        ASSERT_MX_OK(mx_random_seed(1234));
        Arr gpu = mx::test::invoke1(op, {}, 5, k, vg);
        const auto a = cpu.to_bytes(), b = gpu.to_bytes();
        ASSERT_EQ(a.size(), b.size());
        EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size()), 0) << op << " " << dt << " n=" << n;
      }
}

TEST_F(Cuda, DropoutMaskIsBitIdenticalToTheCpu) {
  // mode=always drops outside training too; with ones as data and p = 0.5 the output is the mask
  // times 2 exactly, so equal bytes mean equal masks.
  for (int64_t n : {int64_t(1), int64_t(5), int64_t(4099)}) {
    Pair x = pair_of<float>({n}, MX_FLOAT32, std::vector<float>(size_t(n), 1.0f));
    ASSERT_MX_OK(mx_random_seed(99));
    Arr cpu = invoke_first("Dropout", {x.cpu.get()}, {"p", "mode"}, {"0.5", "always"}, "cpu");
    ASSERT_MX_OK(mx_random_seed(99));
    Arr gpu = invoke_first("Dropout", {x.gpu.get()}, {"p", "mode"}, {"0.5", "always"}, "gpu");
    EXPECT_EQ(gpu.to_bytes(), cpu.to_bytes()) << "n=" << n;
  }
}

TEST_F(Cuda, TakeWithClipMatchesTheCpu) {
  std::vector<float> a(5 * 7);
  for (size_t i = 0; i < a.size(); ++i) a[i] = float(i) - 3.5f;
  Pair x = pair_of<float>({5, 7}, MX_FLOAT32, a);
  Pair idx = pair_of<float>({2, 3}, MX_FLOAT32, {-3.0f, 0.0f, 6.0f, 9.0f, 2.7f, 100.0f});
  for (const char* mode : {"clip", "wrap", "raise"}) {
    Pair y = run_both("take", {&x, &idx}, {"axis", "mode"}, {"1", mode});
    EXPECT_EQ(y.gpu.to_bytes(), y.cpu.to_bytes()) << mode;
    EXPECT_EQ(y.gpu.shape(), (std::vector<int64_t>{5, 2, 3}));
  }
}

TEST_F(Cuda, ScatterAddGradientsWithRepeatedIndicesMatchTheCpu) {
  // _take_grad: out_grad (6, 4) into a (5, 4) with indices repeating 1 and 3.
  std::vector<float> og(6 * 4);
  for (size_t i = 0; i < og.size(); ++i) og[i] = 0.25f * float(i) - 2.0f;
  Pair g = pair_of<float>({6, 4}, MX_FLOAT32, og);
  Pair idx = pair_of<int32_t>({6}, MX_INT32, {1, 3, 1, 1, 0, 3});
  Pair a = pair_of<float>({5, 4}, MX_FLOAT32, std::vector<float>(20, 0.0f));
  Pair t = run_both("_take_grad", {&g, &idx, &a}, {"axis", "mode"}, {"0", "clip"});
  expect_near_all(t.gpu.to_vector<float>(), t.cpu.to_vector<float>(), 1e-5, "_take_grad");
  // float16 accumulates in float32 and rounds once, as the CPU.
  std::vector<uint16_t> og16(og.size());
  for (size_t i = 0; i < og.size(); ++i) og16[i] = uint16_t(0x3c00 + 0x40 * (i % 7));  // 1 .. ~1.4
  Pair g16 = pair_of<uint16_t>({6, 4}, MX_FLOAT16, og16);
  Pair a16 = pair_of<uint16_t>({5, 4}, MX_FLOAT16, std::vector<uint16_t>(20, 0));
  Pair t16 = run_both("_take_grad", {&g16, &idx, &a16}, {"axis", "mode"}, {"0", "clip"});
  EXPECT_EQ(t16.gpu.to_bytes(), t16.cpu.to_bytes()) << "_take_grad float16";
  // _backward_gather_nd: 5 positions of a (3, 2) array: (1, 0) three times, (2, 1) twice (once as -1).
  Pair d = pair_of<float>({5}, MX_FLOAT32, {1.5f, -2.0f, 0.125f, 4.0f, 8.0f});
  Pair nd_idx = pair_of<int64_t>({2, 5}, MX_INT64, {1, 1, 2, 1, -1, 0, 0, 1, 0, 1});
  Pair like = pair_of<float>({3, 2}, MX_FLOAT32, std::vector<float>(6, 0.0f));
  Pair b = run_both("_backward_gather_nd", {&d, &nd_idx, &like}, {}, {});
  expect_near_all(b.gpu.to_vector<float>(), b.cpu.to_vector<float>(), 1e-5, "_backward_gather_nd");
}

TEST_F(Cuda, SliceWithNegativeStepMatchesTheCpu) {
  std::vector<int32_t> v(4 * 6 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = int32_t(i * 7 % 101);
  Pair x = pair_of<int32_t>({4, 6, 5}, MX_INT32, v);
  Pair y = run_both("slice", {&x}, {"begin", "end", "step"}, {"(None,-1,1)", "(None,None,None)", "(-1,-2,2)"});
  EXPECT_EQ(y.gpu.to_bytes(), y.cpu.to_bytes());
  EXPECT_EQ(y.gpu.shape(), (std::vector<int64_t>{4, 3, 2}));
  Pair back = run_both("_slice_backward", {&y, &x}, {"begin", "end", "step"}, {"(None,-1,1)", "(None,None,None)", "(-1,-2,2)"});
  EXPECT_EQ(back.gpu.to_bytes(), back.cpu.to_bytes());
}

TEST_F(Cuda, ConcatOfThreeMatchesTheCpu) {
  std::vector<double> a(2 * 1 * 3), b(2 * 4 * 3), c(2 * 2 * 3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = double(i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = 100.0 + double(i);
  for (size_t i = 0; i < c.size(); ++i) c[i] = -double(i);
  Pair pa = pair_of<double>({2, 1, 3}, MX_FLOAT64, a), pb = pair_of<double>({2, 4, 3}, MX_FLOAT64, b),
       pc = pair_of<double>({2, 2, 3}, MX_FLOAT64, c);
  Pair y = run_both("Concat", {&pa, &pb, &pc}, {"num_args", "dim"}, {"3", "1"});
  EXPECT_EQ(y.gpu.to_bytes(), y.cpu.to_bytes());
  EXPECT_EQ(y.gpu.shape(), (std::vector<int64_t>{2, 7, 3}));
}

TEST_F(Cuda, SgdMomentumStepMatchesTheCpu) {
  const size_t n = 1000;
  std::vector<float> w(n), g(n), m(n);
  for (size_t i = 0; i < n; ++i) {
    w[i] = std::sin(float(i));
    g[i] = std::cos(0.5f * float(i)) * 3.0f;
    m[i] = 0.01f * float(i % 13) - 0.05f;
  }
  Pair pw = pair_of<float>({int64_t(n)}, MX_FLOAT32, w), pg = pair_of<float>({int64_t(n)}, MX_FLOAT32, g),
       pm = pair_of<float>({int64_t(n)}, MX_FLOAT32, m);
  Pair y = run_both("sgd_mom_update", {&pw, &pg, &pm}, {"lr", "momentum", "wd", "rescale_grad", "clip_gradient"},
                    {"0.1", "0.9", "0.001", "0.5", "1"});
  expect_near_all(y.gpu.to_vector<float>(), y.cpu.to_vector<float>(), 1e-6, "weight");
  expect_near_all(pm.gpu.to_vector<float>(), pm.cpu.to_vector<float>(), 1e-6, "mom");
}

// float16 / bfloat16 (stored 16-bit, computed in float32 on both backends): BatchNorm (training,
// with its moving statistics), LayerNorm, softmax_cross_entropy and adam_update (weight and both
// states) agree with the CPU to an ulp or two of the 16-bit type (sums taken in another order).
TEST_F(Cuda, HalfNormsLossAndAdamMatchTheCpu) {
  auto cast = [](const Arr& a, const char* dt, const char* where) {
    return invoke_first("Cast", {a.get()}, {"dtype"}, {dt}, where);
  };
  auto f32 = [&](const Arr& a, const char* where) { return cast(a, "float32", where).to_vector<float>(); };
  for (const char* dt : {"float16", "bfloat16"}) {
    const double tol = std::strcmp(dt, "float16") == 0 ? 2e-3 : 1.6e-2;
    auto half = [&](std::vector<int64_t> shape, float scale, float shift) {
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      std::vector<float> v(static_cast<size_t>(n));
      for (size_t i = 0; i < v.size(); ++i) v[i] = shift + scale * std::sin(0.7f * float(i) + scale);
      Pair p = pair_of<float>(shape, MX_FLOAT32, v);
      return Pair{cast(p.cpu, dt, "cpu"), cast(p.gpu, dt, "gpu")};
    };
    auto expect_pair = [&](const Pair& p, const std::string& what) {
      expect_near_all(f32(p.gpu, "gpu"), f32(p.cpu, "cpu"), tol, what + " " + dt);
    };
    Pair x = half({4, 6, 5}, 2.0f, 0.5f), gamma = half({6}, 0.5f, 1.0f), beta = half({6}, 0.3f, 0.0f);
    Pair mm = half({6}, 0.1f, 0.0f), mv = half({6}, 0.2f, 1.0f);
    ASSERT_MX_OK(mx_autograd_set_training(1, nullptr));
    Pair bn = run_both("BatchNorm", {&x, &gamma, &beta, &mm, &mv}, {"fix_gamma"}, {"False"});
    ASSERT_MX_OK(mx_autograd_set_training(0, nullptr));
    expect_pair(bn, "BatchNorm");
    expect_pair(mm, "BatchNorm moving_mean");
    expect_pair(mv, "BatchNorm moving_var");
    Pair lg = half({5}, 0.5f, 1.0f), lb = half({5}, 0.3f, 0.0f);
    expect_pair(run_both("LayerNorm", {&x, &lg, &lb}, {}, {}), "LayerNorm");
    Pair logits = half({7, 9}, 3.0f, 0.0f), label = half({7}, 0.0f, 4.0f);
    expect_pair(run_both("softmax_cross_entropy", {&logits, &label}, {}, {}), "softmax_cross_entropy");
    Pair w = half({300}, 1.0f, 0.0f), g = half({300}, 2.0f, 0.1f), mean = half({300}, 0.1f, 0.0f),
         var = half({300}, 0.05f, 0.1f);
    Pair nw = run_both("adam_update", {&w, &g, &mean, &var}, {"lr", "wd", "rescale_grad"}, {"0.01", "0.001", "0.5"});
    expect_pair(nw, "adam_update weight");
    expect_pair(mean, "adam_update mean");
    expect_pair(var, "adam_update var");
  }
}

}  // namespace
