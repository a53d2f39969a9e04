// CUDA backend against the CPU reference. Skips with the backend's own reason without a GPU.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

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

}  // namespace
