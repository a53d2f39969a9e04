// Deliberately broken backend plugins, one per failure the loader must report, and a redundant
// one (SECOND_CPU: a working CPU device without kernels, which must be reported as shadowed by the
// real CPU backend). Each is built from this file with one macro, against abi/ only.
#include <cstring>
#include <stdexcept>

#include "mx/backend.h"
#include "mx/c_api.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

// The api a plugin that initialises reports: these test plugins differ in name, type and hooks.
[[maybe_unused]] static int fill_api(mx_backend_api* out, const char* name, int32_t type,
                                     int (*count)(int32_t*, const char**), int (*alloc)(int32_t, uint64_t, uint64_t, void**),
                                     void (*release)(int32_t, void*), int (*copy)(const DLTensor*, DLTensor*, mx_stream_t)) {
  out->abi_major = MX_BACKEND_ABI_MAJOR;
  out->abi_minor = MX_BACKEND_ABI_MINOR;
  out->name = name;
  out->device_type = type;
  out->version = "0.0.1";
  out->device_count = count;
  out->alloc = alloc;
  out->free = release;
  out->copy = copy;
  return 0;
}

#if defined(BROKEN_MISSING_SYMBOL)
EXPORT int mx_backend_initialise(const mx_host_api*, mx_backend_api*) { return 0; }  // wrong name

#elif defined(BROKEN_WRONG_ABI)
EXPORT int mx_backend_init(const mx_host_api*, mx_backend_api* out) {
  out->abi_major = MX_BACKEND_ABI_MAJOR + 98;
  out->abi_minor = 0;
  return 0;
}

#elif defined(BROKEN_INIT_FAILS)
EXPORT int mx_backend_init(const mx_host_api* host, mx_backend_api* out) {
  out->abi_major = MX_BACKEND_ABI_MAJOR;
  host->set_error(MX_ERR_UNSUPPORTED, "simulated: vendor library libfoo.so.3 not found");
  return -1;
}

#elif defined(BROKEN_THROWS)
EXPORT int mx_backend_init(const mx_host_api*, mx_backend_api*) {
  throw std::runtime_error("simulated C++ exception escaping the plugin");
}

#elif defined(BROKEN_NO_DEVICE)
#ifndef NODEV_TYPE
#define NODEV_TYPE kDLExtDev  // NODEV_TYPE=kDLCPU: a CPU plugin without a device must not take cpu
#endif
static int count(int32_t* n, const char** reason) {
  *n = 0;
  *reason = "simulated: no accelerator attached";
  return 0;
}
static int alloc(int32_t, uint64_t, uint64_t, void**) { return -1; }
static void release(int32_t, void*) {}
static int copy(const DLTensor*, DLTensor*, mx_stream_t) { return -1; }
EXPORT int mx_backend_init(const mx_host_api*, mx_backend_api* out) {
  return fill_api(out, "nodev", NODEV_TYPE, count, alloc, release, copy);
}
#elif defined(SECOND_CPU)
#include <cstdlib>
static int count(int32_t* n, const char** reason) {
  *n = 1;
  *reason = "";
  return 0;
}
static int alloc(int32_t, uint64_t bytes, uint64_t align, void** out) {
  *out = std::aligned_alloc(align, (bytes + align - 1) / align * align);
  return *out ? 0 : -1;
}
static void release(int32_t, void* p) { std::free(p); }
static int copy(const DLTensor*, DLTensor*, mx_stream_t) { return -1; }
EXPORT int mx_backend_init(const mx_host_api*, mx_backend_api* out) {
  return fill_api(out, "cpu2", kDLCPU, count, alloc, release, copy);
}
#else
#error "define one BROKEN_* macro"
#endif
