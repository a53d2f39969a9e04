// Kernel coverage of the CUDA backend against the CPU backend, on any machine: both plugins are
// loaded directly (dlopen + mx_backend_init with a minimal host table, no libmx), which needs no
// GPU — the CUDA plugin lists its kernels with zero devices. Fails when the CUDA plugin lacks a
// kernel the CPU plugin has and the op is not on the CUDA list in missing_kernels.h (printed here
// with each reason), and when a listed op has a kernel after all.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>

#include "missing_kernels.h"
#include "mx/backend.h"

namespace {

std::string g_last_error;
void host_log(int32_t, const char*, const char*) {}
void host_set_error(int32_t, const char* m) { g_last_error = m ? m : ""; }
int32_t host_threads() { return 1; }
const mx_host_api kHost = {sizeof(mx_host_api), MX_BACKEND_ABI_MAJOR, MX_BACKEND_ABI_MINOR,
                           host_log, host_set_error, host_threads};

// Kernel names a plugin lists (empty with a test failure if it cannot be loaded).
std::set<std::string> plugin_kernels(const char* path) {
  void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    ADD_FAILURE() << "dlopen " << path << ": " << dlerror();
    return {};
  }
  auto init = reinterpret_cast<mx_backend_init_fn>(dlsym(lib, MX_BACKEND_ENTRY_SYMBOL));
  if (!init) {
    ADD_FAILURE() << path << " exports no " << MX_BACKEND_ENTRY_SYMBOL;
    return {};
  }
  mx_backend_api api{};
  api.struct_size = sizeof(api);
  if (init(&kHost, &api) != 0) {
    ADD_FAILURE() << path << ": mx_backend_init failed: " << g_last_error;
    return {};
  }
  int32_t n = 0;
  const char* const* names = nullptr;
  EXPECT_EQ(api.list_kernels(&n, &names), 0);
  std::set<std::string> out;
  for (int32_t i = 0; i < n; ++i) {
    out.insert(names[i]);
    EXPECT_EQ(api.find_kernel(names[i]), api.find_kernel(names[i])) << names[i];
    EXPECT_NE(api.find_kernel(names[i]), nullptr) << path << " lists " << names[i] << " but finds no kernel";
  }
  EXPECT_EQ(api.find_kernel("no_such_op"), nullptr);
  return out;  // the library stays loaded: its strings are referenced above
}

TEST(KernelCoverage, CudaBackendHasEveryCpuKernelOrListsWhyNot) {
  const std::set<std::string> cpu = plugin_kernels(MX_CPU_PLUGIN), cuda = plugin_kernels(MX_CUDA_PLUGIN);
  ASSERT_GT(cpu.size(), 100u);
  const conformance::MissingList& list = conformance::known_missing_kernels().at("cuda");
  const conformance::KernelGap gap = conformance::kernel_gap_of(cpu, cuda, conformance::names_of(list));
  std::printf("[ known  ] cuda backend: %zu of the CPU backend's %zu kernels, %zu missing and listed:\n",
              cpu.size() - gap.listed.size() - gap.unlisted.size(), cpu.size(), gap.listed.size());
  for (const std::string& op : gap.listed) std::printf("[ known  ]   %s: %s\n", op.c_str(), list.at(op).c_str());
  EXPECT_TRUE(gap.unlisted.empty()) << "the CUDA backend lacks kernels the CPU backend has, not on its list in "
                                       "missing_kernels.h: "
                                    << conformance::join(gap.unlisted);
  EXPECT_TRUE(gap.stale.empty()) << "listed in missing_kernels.h, yet the CUDA backend has them: "
                                 << conformance::join(gap.stale);
  for (const std::string& op : cuda)
    EXPECT_TRUE(cpu.count(op)) << "the CUDA backend has a kernel for " << op << ", which the CPU backend lacks";
}

}  // namespace
