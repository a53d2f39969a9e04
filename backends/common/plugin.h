// The helpers every backend plugin needs, once: the host table and error reporting, attribute
// parsing, tensor facts, the struct_size-clamped copy, a self-registering kernel table and the
// mx_backend_init entry. Host code only (no device code); depends on abi/ alone. Each plugin is
// its own shared library built with hidden visibility, so these inline variables are per plugin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mx/backend.h"
#include "mx/c_api.h"

// True when the struct behind p (which starts with uint32_t struct_size) is big enough to hold f.
#define MX_HAS_FIELD(p, T, f) ((p)->struct_size >= offsetof(T, f) + sizeof(((T*)0)->f))

namespace mx_impl {

// DLPack's bool type code (kDLBool), which older dlpack headers lack.
constexpr uint8_t kDLBoolCode = 6;

// The host table given to mx_backend_init; valid for the plugin's lifetime.
inline const mx_host_api* g_host = nullptr;

// Reports an error to the host and returns -1 (what every failing slot returns).
inline int error(int32_t code, const std::string& message) {
  if (g_host && g_host->set_error) g_host->set_error(code, message.c_str());
  return -1;
}

// Copies v into *out, never past out->struct_size (what the reader knows), and records the size
// both sides understand.
template <typename T>
void write_sized(T* out, const T& v) {
  const uint32_t n = out->struct_size < sizeof(T) ? out->struct_size : uint32_t(sizeof(T));
  std::memcpy(reinterpret_cast<char*>(out) + sizeof(uint32_t), reinterpret_cast<const char*>(&v) + sizeof(uint32_t),
              n - sizeof(uint32_t));
  out->struct_size = n;
}

// ---------------------------------------------------------------- attributes
// A kernel's create() gets every schema param, validated and in canonical form ("True", "(2,-1)").

inline const char* attr(const mx_kernel_args* args, const char* key) {
  for (int32_t i = 0; i < args->num_attrs; ++i)
    if (std::strcmp(args->attr_keys[i], key) == 0) return args->attr_vals[i];
  return "";
}
inline double attr_float(const mx_kernel_args* args, const char* key) {
  return std::strtod(attr(args, key), nullptr);
}
inline int64_t attr_int(const mx_kernel_args* args, const char* key) {
  return std::strtoll(attr(args, key), nullptr, 10);
}
inline bool attr_bool(const mx_kernel_args* args, const char* key) {
  return std::strcmp(attr(args, key), "True") == 0;
}
// Integers of a canonical tuple: "(2,-1)" -> {2, -1}; "None" / "()" -> {}.
inline std::vector<int64_t> attr_ints(const char* s) {
  std::vector<int64_t> v;
  for (const char* p = s; *p;) {
    if ((*p >= '0' && *p <= '9') || (*p == '-' && p[1] >= '0' && p[1] <= '9')) {
      char* end;
      v.push_back(std::strtoll(p, &end, 10));
      p = end;
    } else {
      ++p;
    }
  }
  return v;
}

// ---------------------------------------------------------------- tensors

inline int64_t numel(const DLTensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}
inline int64_t elem_bytes(const DLTensor& t) { return (t.dtype.bits * t.dtype.lanes + 7) / 8; }
inline char* data_of(const DLTensor& t) { return static_cast<char*>(t.data) + t.byte_offset; }

// MX_* dtype flag of a DLPack type (-1 if none).
inline int32_t dtype_flag(DLDataType t) {
  if (t.lanes != 1) return -1;
  switch (t.code) {
    case kDLFloat: return t.bits == 32 ? MX_FLOAT32 : t.bits == 64 ? MX_FLOAT64 : t.bits == 16 ? MX_FLOAT16 : -1;
    case kDLBfloat: return t.bits == 16 ? MX_BFLOAT16 : -1;
    case kDLInt: return t.bits == 8 ? MX_INT8 : t.bits == 32 ? MX_INT32 : t.bits == 64 ? MX_INT64 : -1;
    case kDLUInt: return t.bits == 8 ? MX_UINT8 : -1;
    case kDLBoolCode: return t.bits == 8 ? MX_BOOL : -1;
  }
  return -1;
}

inline const char* dtype_name(int32_t flag) {
  switch (flag) {
    case MX_FLOAT32: return "float32";
    case MX_FLOAT64: return "float64";
    case MX_FLOAT16: return "float16";
    case MX_BFLOAT16: return "bfloat16";
    case MX_UINT8: return "uint8";
    case MX_INT8: return "int8";
    case MX_INT32: return "int32";
    case MX_INT64: return "int64";
    case MX_BOOL: return "bool";
  }
  return "unknown";
}

// ---------------------------------------------------------------- kernel tables

using CreateFn = int (*)(const mx_kernel_args*, void**);
using RunFn = int (*)(void*, const mx_kernel_ctx*, const DLTensor*, int32_t, DLTensor*, int32_t);
using DestroyFn = void (*)(void*);
using WorkspaceFn = uint64_t (*)(void*);

// One table entry with every slot this ABI has set (the rest NULL).
constexpr mx_kernel kernel(const char* op_name, CreateFn create, RunFn run, DestroyFn destroy,
                           WorkspaceFn workspace_bytes = nullptr) {
  mx_kernel k{};
  k.struct_size = sizeof(mx_kernel);
  k.op_name = op_name;
  k.create = create;
  k.run = run;
  k.destroy = destroy;
  k.workspace_bytes = workspace_bytes;
  return k;
}
// The entry that ends a table.
constexpr mx_kernel kEndOfTable{};

// ---------------------------------------------------------------- kernel registry
// Each kernels/<family> file ends with MX_REGISTER_KERNELS(table): its table joins the plugin's
// index when the library loads, so no list of families is kept by hand anywhere.

class KernelRegistry {
 public:
  static KernelRegistry& get() {
    static KernelRegistry* r = new KernelRegistry();  // never destroyed: tables outlive unload order
    return *r;
  }
  // A name registered twice keeps the first kernel and is reported by duplicates().
  void add(const mx_kernel* table) {
    for (const mx_kernel* k = table; k->op_name; ++k)
      if (!index_.emplace(k->op_name, k).second) duplicates_.push_back(k->op_name);
    names_.clear();
  }
  const mx_kernel* find(const char* name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
  }
  // Sorted names; built on first use after the last add (all adds run at load time).
  const std::vector<const char*>& names() {
    if (names_.empty())
      for (auto& [name, k] : index_) names_.push_back(k->op_name);
    return names_;
  }
  const std::vector<std::string>& duplicates() const { return duplicates_; }

 private:
  std::map<std::string, const mx_kernel*> index_;
  std::vector<const char*> names_;
  std::vector<std::string> duplicates_;
};

struct KernelTableRegistrar {
  explicit KernelTableRegistrar(const mx_kernel* table) { KernelRegistry::get().add(table); }
};

#define MX_REGISTER_KERNELS_CAT2(a, b) a##b
#define MX_REGISTER_KERNELS_CAT(a, b) MX_REGISTER_KERNELS_CAT2(a, b)
#define MX_REGISTER_KERNELS(table) \
  static const ::mx_impl::KernelTableRegistrar MX_REGISTER_KERNELS_CAT(mx_kernels_registrar_, __LINE__)(table)

inline const mx_kernel* find_kernel(const char* name) { return KernelRegistry::get().find(name); }
inline int list_kernels(int32_t* n, const char* const** names) {
  const auto& v = KernelRegistry::get().names();
  *n = int32_t(v.size());
  *names = v.data();
  return 0;
}

// ---------------------------------------------------------------- the entry point

// Runs fill(&api) on a zeroed table with the identity and kernel slots preset, refuses to start
// with duplicate kernels, and hands the host what it can read. fill must not throw.
inline int backend_init(const mx_host_api* host, mx_backend_api* out, int (*fill)(mx_backend_api*)) {
  g_host = host;
  const auto& dup = KernelRegistry::get().duplicates();
  if (!dup.empty()) return error(MX_ERR_INTERNAL, "backend registers a kernel twice: " + dup.front());
  mx_backend_api api{};
  api.struct_size = sizeof(api);
  api.abi_major = MX_BACKEND_ABI_MAJOR;
  api.abi_minor = MX_BACKEND_ABI_MINOR;
  api.find_kernel = find_kernel;
  api.list_kernels = list_kernels;
  if (fill(&api) != 0) return -1;
  write_sized(out, api);
  return 0;
}

}  // namespace mx_impl

#define MX_BACKEND_ENTRY(fill)                                                                     \
  extern "C" __attribute__((visibility("default"))) int mx_backend_init(const mx_host_api* host, \
                                                                         mx_backend_api* out) {  \
    return ::mx_impl::backend_init(host, out, fill);                                             \
  }
