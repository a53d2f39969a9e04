// Plugin loading: every broken plugin is reported with its file, the failed step and the
// reason, the process survives, and the good backends keep working afterwards.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "test_util.h"

#ifndef MX_TEST_PLUGIN_DIR
#error "MX_TEST_PLUGIN_DIR must point at the broken test plugins"
#endif

namespace {

using mx::test::Arr;

mx_backend_info info_of(const std::string& path_suffix, bool must_exist = true) {
  int32_t n = 0;
  EXPECT_MX_OK(mx_backend_count(&n));
  for (int32_t i = 0; i < n; ++i) {
    mx_backend_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    EXPECT_MX_OK(mx_backend_get_info(i, &info));
    const std::string p = info.path;
    if (p.size() >= path_suffix.size() && p.compare(p.size() - path_suffix.size(), path_suffix.size(), path_suffix) == 0)
      return info;
  }
  if (must_exist) ADD_FAILURE() << "no backend record for " << path_suffix;
  return mx_backend_info{};
}

struct Broken {
  const char* file;
  int32_t step;
  const char* reason;
};

TEST(Plugins, CpuBackendIsFoundNextToTheLibrary) {
  mx_backend_info cpu = info_of("libmx_backend_cpu.so");
  EXPECT_EQ(cpu.failed_step, MX_BACKEND_OK);
  EXPECT_STREQ(cpu.name, "cpu");
  EXPECT_EQ(cpu.num_devices, 1);
  int32_t n = 0;
  EXPECT_MX_OK(mx_device_count(MX_DEVICE_CPU, &n));
  EXPECT_EQ(n, 1);
}

TEST(Plugins, BrokenPluginsAreReportedAndOthersKeepWorking) {
  const Broken cases[] = {
      {"libmx_backend_broken_symbol.so", MX_BACKEND_STEP_SYMBOL, "mx_backend_init"},
      {"libmx_backend_broken_abi.so", MX_BACKEND_STEP_ABI_VERSION, "built for backend ABI 99.0"},
      {"libmx_backend_broken_init.so", MX_BACKEND_STEP_INIT, "libfoo.so.3 not found"},
      {"libmx_backend_broken_throws.so", MX_BACKEND_STEP_INIT, "simulated C++ exception"},
      {"libmx_backend_broken_nodev.so", MX_BACKEND_STEP_NO_DEVICE, "no accelerator attached"},
      {"libmx_backend_missing.so", MX_BACKEND_STEP_OPEN, "no such file"},
  };
  for (const Broken& c : cases) {
    const std::string path = std::string(MX_TEST_PLUGIN_DIR) + "/" + c.file;
    EXPECT_EQ(mx_backend_load(path.c_str()), -1) << c.file;
    const std::string msg = mx_get_last_error();
    EXPECT_NE(msg.find(c.file), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << msg;
    mx_backend_info info = info_of(c.file);
    EXPECT_EQ(info.failed_step, c.step) << c.file << ": " << info.message;
    EXPECT_NE(std::string(info.message).find(c.reason), std::string::npos) << info.message;
  }
  // Not a shared library at all.
  const std::string junk = ::testing::TempDir() + "/libmx_backend_junk.so";
  FILE* f = std::fopen(junk.c_str(), "w");
  std::fputs("not an ELF file", f);
  std::fclose(f);
  EXPECT_EQ(mx_backend_load(junk.c_str()), -1);
  EXPECT_EQ(info_of("libmx_backend_junk.so").failed_step, MX_BACKEND_STEP_OPEN);
  EXPECT_NE(std::string(mx_get_last_error()).find("step 'open'"), std::string::npos) << mx_get_last_error();

  // The cpu backend still computes.
  Arr a({3});
  a.set(std::vector<float>{1, 2, 3});
  EXPECT_EQ(mx::test::invoke1("elemwise_add", {a.get(), a.get()}).to_vector<float>(), (std::vector<float>{2, 4, 6}));
}

TEST(Plugins, CudaBackendLoadsWithDevicesOrSaysWhyNot) {
  mx_backend_info cuda = info_of("libmx_backend_cuda.so", /*must_exist=*/false);
  if (cuda.path == nullptr) GTEST_SKIP() << "built without the CUDA backend (MX_WITH_CUDA=OFF)";
  EXPECT_STREQ(cuda.name, "cuda");
  if (cuda.failed_step == MX_BACKEND_STEP_NO_DEVICE) {
    EXPECT_EQ(cuda.num_devices, 0);
    EXPECT_GT(std::strlen(cuda.message), 0u) << "zero devices must come with a reason";
    int32_t n = -1;
    EXPECT_MX_OK(mx_device_count(MX_DEVICE_GPU, &n));
    EXPECT_EQ(n, 0);
    mx_ndarray_t h = nullptr;
    int64_t shape[] = {2};
    EXPECT_EQ(mx_ndarray_create(shape, 1, MX_FLOAT32, MX_DEVICE_GPU, 0, &h), -1);
    EXPECT_NE(std::string(mx_get_last_error()).find(cuda.message), std::string::npos) << mx_get_last_error();
  } else {
    EXPECT_EQ(cuda.failed_step, MX_BACKEND_OK) << cuda.message;
    EXPECT_GT(cuda.num_devices, 0);
  }
}

}  // namespace
