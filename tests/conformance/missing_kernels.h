// Kernels a backend is known to lack, against the CPU backend (the reference, which has a kernel
// for every schema). The conformance suite fails when a loaded backend lacks a kernel that the CPU
// backend has and the op is not on that backend's list here, and also when a listed op has a kernel
// after all (the list must shrink as kernels land); it prints every list it uses. Backends are
// named as mx_backend_info reports them. Header-only: conformance_test and plugin_test share it.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "mx/c_api.h"

namespace conformance {

// Per backend: op -> why it has no kernel there. Printed by the coverage tests.
using MissingList = std::map<std::string, std::string>;

inline const std::map<std::string, MissingList>& known_missing_kernels() {
  static const std::map<std::string, MissingList> lists = {
      // The CUDA backend has a kernel for every op of the CPU backend.
      {"cuda", {}},
  };
  return lists;
}

inline std::set<std::string> names_of(const MissingList& list) {
  std::set<std::string> s;
  for (const auto& [op, why] : list) s.insert(op);
  return s;
}

// Canonical names of the ops that have a kernel on the usable backend called `backend`.
inline std::set<std::string> ops_with_kernel(const std::string& backend) {
  std::set<std::string> out;
  uint32_t n = 0;
  const char** names = nullptr;
  if (mx_op_list(&n, &names) != 0) return out;
  for (uint32_t i = 0; i < n; ++i) {
    mx_op_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    if (mx_op_get_info(names[i], &info) != 0) continue;
    for (uint32_t b = 0; b < info.num_backends; ++b)
      if (backend == info.backends[b]) out.insert(info.name);
  }
  return out;
}

// How `backend`'s kernels compare with the CPU backend's and with the backend's list above.
struct KernelGap {
  std::vector<std::string> unlisted;  // the CPU backend has a kernel, this backend none, not listed: a failure
  std::vector<std::string> listed;    // lacking and listed: reported
  std::vector<std::string> stale;     // listed, yet the backend has the kernel: a failure
};

// The gap between a reference backend's kernels and another's, given that backend's list.
inline KernelGap kernel_gap_of(const std::set<std::string>& reference, const std::set<std::string>& have,
                               const std::set<std::string>& list) {
  KernelGap gap;
  for (const std::string& op : reference)
    if (!have.count(op)) (list.count(op) ? gap.listed : gap.unlisted).push_back(op);
  for (const std::string& op : list)
    if (have.count(op)) gap.stale.push_back(op);
  return gap;
}

inline KernelGap kernel_gap(const std::string& backend, const std::set<std::string>& list) {
  return kernel_gap_of(ops_with_kernel("cpu"), ops_with_kernel(backend), list);
}

inline KernelGap kernel_gap(const std::string& backend) {
  auto it = known_missing_kernels().find(backend);
  return kernel_gap(backend, it == known_missing_kernels().end() ? std::set<std::string>{} : names_of(it->second));
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

}  // namespace conformance
