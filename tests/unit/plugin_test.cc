// Plugin loading: every broken plugin is reported with its file, the failed step and the
// reason, the process survives, and the good backends keep working afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "../conformance/missing_kernels.h"
#include "test_util.h"

#ifndef MX_TEST_PLUGIN_DIR
#error "MX_TEST_PLUGIN_DIR must point at the broken test plugins"
#endif

namespace {

using mx::test::Arr;
namespace fs = std::filesystem;

// Before discovery (the first mx call): two plugins named like the CPU backend, one failing its
// init and one without a device, in directories searched before the real one's.
const bool kShadowPathSet = [] {
  std::string path = std::string(MX_TEST_PLUGIN_DIR) + "/shadow_init:" + MX_TEST_PLUGIN_DIR + "/shadow_nodev";
  if (const char* old = std::getenv("MX_BACKEND_PATH"); old && *old) path += std::string(":") + old;
  return setenv("MX_BACKEND_PATH", path.c_str(), 1) == 0;
}();

// The real CPU backend, built next to libmx.so (MX_TEST_PLUGIN_DIR is <build>/test_plugins).
std::string real_cpu_path() {
  std::error_code ec;
  return fs::weakly_canonical(fs::path(MX_TEST_PLUGIN_DIR) / ".." / "lib" / "libmx_backend_cpu.so", ec).string();
}

std::vector<mx_backend_info> all_backends() {
  std::vector<mx_backend_info> out;
  int32_t n = 0;
  EXPECT_MX_OK(mx_backend_count(&n));
  for (int32_t i = 0; i < n; ++i) {
    mx_backend_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    EXPECT_MX_OK(mx_backend_get_info(i, &info));
    out.push_back(info);
  }
  return out;
}

bool contains(const char* haystack, const std::string& needle) {
  return haystack && std::string(haystack).find(needle) != std::string::npos;
}

mx_backend_info info_of(const std::string& path_suffix, bool must_exist = true) {
  for (const mx_backend_info& info : all_backends()) {
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
  ASSERT_TRUE(kShadowPathSet);
  mx_backend_info cpu = info_of(real_cpu_path());
  EXPECT_EQ(cpu.failed_step, MX_BACKEND_OK);
  EXPECT_STREQ(cpu.name, "cpu");
  EXPECT_EQ(cpu.num_devices, 8);  // logical devices cpu(0) … cpu(7) over one host memory
  int32_t n = 0;
  EXPECT_MX_OK(mx_device_count(MX_DEVICE_CPU, &n));
  EXPECT_EQ(n, 8);
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

TEST(Plugins, PluginsNamedLikeTheCpuBackendThatFailOrHaveNoDeviceDoNotReplaceIt) {
  const std::string shadow_init = std::string(MX_TEST_PLUGIN_DIR) + "/shadow_init/libmx_backend_cpu.so";
  const std::string shadow_nodev = std::string(MX_TEST_PLUGIN_DIR) + "/shadow_nodev/libmx_backend_cpu.so";
  // All three files of that name are reported, in discovery order, each with its fate.
  int init_at = -1, nodev_at = -1, real_at = -1, serving_cpu = 0;
  const auto all = all_backends();
  for (size_t i = 0; i < all.size(); ++i) {
    const mx_backend_info& b = all[i];
    if (b.path == shadow_init) {
      init_at = int(i);
      EXPECT_EQ(b.failed_step, MX_BACKEND_STEP_INIT) << b.message;
      EXPECT_TRUE(contains(b.message, "libfoo.so.3 not found")) << b.message;
    } else if (b.path == shadow_nodev) {
      nodev_at = int(i);
      EXPECT_EQ(b.failed_step, MX_BACKEND_STEP_NO_DEVICE) << b.message;
      EXPECT_EQ(b.device_type, MX_DEVICE_CPU);
    } else if (b.path == real_cpu_path()) {
      real_at = int(i);
    }
    if (b.failed_step == MX_BACKEND_OK && b.device_type == MX_DEVICE_CPU) {
      ++serving_cpu;
      EXPECT_EQ(std::string(b.path), real_cpu_path()) << "the plugin serving cpu";
    }
  }
  EXPECT_GE(init_at, 0) << "no record of " << shadow_init;
  EXPECT_GT(nodev_at, init_at) << "records follow discovery order";
  EXPECT_GT(real_at, nodev_at) << "the real cpu backend must be loaded and reported after the broken ones";
  EXPECT_EQ(serving_cpu, 1) << "exactly one plugin serves cpu";
  int32_t n = 0;
  EXPECT_MX_OK(mx_device_count(MX_DEVICE_CPU, &n));
  EXPECT_EQ(n, 8);  // the real backend's logical devices
  // Allocation and kernels come from the real backend.
  Arr a({4});
  a.set(std::vector<float>{1, 2, 3, 4});
  EXPECT_EQ(mx::test::invoke1("elemwise_mul", {a.get(), a.get()}).to_vector<float>(), (std::vector<float>{1, 4, 9, 16}));
}

TEST(Plugins, ALaterPluginForAServedDeviceIsReportedAsShadowed) {
  const std::string real = real_cpu_path();
  // A working second CPU plugin: loaded and initialised, then shadowed by the real one.
  const std::string cpu2 = std::string(MX_TEST_PLUGIN_DIR) + "/libmx_backend_cpu2.so";
  EXPECT_EQ(mx_backend_load(cpu2.c_str()), -1);
  EXPECT_TRUE(contains(mx_get_last_error(), "shadowed by " + real)) << mx_get_last_error();
  mx_backend_info info = info_of(cpu2);
  EXPECT_EQ(info.failed_step, MX_BACKEND_STEP_SHADOWED);
  EXPECT_STREQ(info.name, "cpu2");
  EXPECT_EQ(info.device_type, MX_DEVICE_CPU);
  EXPECT_TRUE(contains(info.message, "shadowed by " + real)) << info.message;
  // A copy of the real backend in another directory: same file name, so it is not even opened.
  const fs::path dir = fs::path(::testing::TempDir()) / "mx_plugin_copy";
  fs::create_directories(dir);
  const fs::path copy = dir / "libmx_backend_cpu.so";
  fs::copy_file(real, copy, fs::copy_options::overwrite_existing);
  EXPECT_EQ(mx_backend_load(copy.c_str()), -1);
  info = info_of(fs::weakly_canonical(copy).string());
  EXPECT_EQ(info.failed_step, MX_BACKEND_STEP_SHADOWED);
  EXPECT_TRUE(contains(info.message, "shadowed by " + real)) << info.message;
  EXPECT_TRUE(contains(info.message, "same file name")) << info.message;
  // cpu is still served by the real backend, and works.
  int serving = 0;
  for (const mx_backend_info& b : all_backends())
    if (b.failed_step == MX_BACKEND_OK && b.device_type == MX_DEVICE_CPU) {
      ++serving;
      EXPECT_EQ(std::string(b.path), real);
    }
  EXPECT_EQ(serving, 1);
  Arr a({2});
  a.set(std::vector<float>{5, 6});
  EXPECT_EQ(mx::test::invoke1("elemwise_add", {a.get(), a.get()}).to_vector<float>(), (std::vector<float>{10, 12}));
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

// Last in this file: it loads a GPU plugin, which the earlier tests must not see.
// The conformance suite's kernel-coverage check (tests/conformance/missing_kernels.h) on a
// backend with few kernels: the fake async device has _full and elemwise_add only.
TEST(Plugins, KernelCoverageCheckFlagsTheKernelsAFakeBackendLacks) {
  const std::string fake = std::string(MX_TEST_PLUGIN_DIR) + "/libmx_backend_fakeasync.so";
  if (mx_backend_load(fake.c_str()) != 0) {
    ASSERT_TRUE(contains(mx_get_last_error(), "shadowed by")) << mx_get_last_error();
    GTEST_SKIP() << "a real GPU backend serves gpu here: " << mx_get_last_error();
  }
  // No list: every CPU kernel but the two is flagged.
  conformance::KernelGap gap = conformance::kernel_gap("fakeasync", {});
  const auto flagged = [&](const std::string& op) {
    return std::find(gap.unlisted.begin(), gap.unlisted.end(), op) != gap.unlisted.end();
  };
  EXPECT_TRUE(flagged("relu"));
  EXPECT_TRUE(flagged("dot"));
  EXPECT_TRUE(flagged("elemwise_mul"));
  EXPECT_FALSE(flagged("elemwise_add"));
  EXPECT_FALSE(flagged("_full"));
  EXPECT_EQ(gap.unlisted.size() + 2, conformance::ops_with_kernel("cpu").size());
  // Listing them (and, wrongly, elemwise_add): nothing unlisted, elemwise_add stale.
  std::set<std::string> list(gap.unlisted.begin(), gap.unlisted.end());
  list.insert("elemwise_add");
  gap = conformance::kernel_gap("fakeasync", list);
  EXPECT_TRUE(gap.unlisted.empty()) << conformance::join(gap.unlisted);
  EXPECT_EQ(gap.listed.size(), list.size() - 1);
  EXPECT_EQ(gap.stale, std::vector<std::string>{"elemwise_add"});
}

}  // namespace
