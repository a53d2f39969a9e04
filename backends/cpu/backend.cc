// libmx_backend_cpu.so: host memory, copies, and the CPU kernels. Work is synchronous (the
// engine's CPU workers call run() directly), so streams and events are trivial.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <thread>

#include <unistd.h>

#include "cpu_backend.h"
#include "gemm.h"

namespace mxcpu {
namespace {

// ---------------------------------------------------------------- devices and memory

// cpu(0) … cpu(7) are logical devices over the same host memory, as MXNet's cpu(i): each gets its
// own engine worker pool (a separate stream of work), which is what data parallelism over several
// CPU contexts needs. Kernels and memory are the same for all of them.
constexpr int32_t kLogicalDevices = 8;

int device_count(int32_t* out, const char** reason) {
  *out = kLogicalDevices;
  if (reason) *reason = "";
  return 0;
}

uint64_t meminfo(const char* key) {
  std::ifstream f("/proc/meminfo");
  std::string k;
  uint64_t v;
  std::string unit;
  while (f >> k >> v >> unit)
    if (k == key) return v * 1024;
  return 0;
}

int device_props(int32_t id, mx_device_props* out) {
  if (id < 0 || id >= kLogicalDevices)
    return error(MX_ERR_NOT_FOUND, "cpu backend has " + std::to_string(kLogicalDevices) + " logical devices, asked for " +
                                       std::to_string(id));
  mx_device_props p{};
  p.struct_size = sizeof(p);
  std::snprintf(p.name, sizeof(p.name), "cpu (%u threads)", std::thread::hardware_concurrency());
  p.total_memory = meminfo("MemTotal:");
  p.free_memory = meminfo("MemAvailable:");
  p.supports_async = 0;
  p.supports_events = 0;
  p.supports_pinned = 0;
  write_sized(out, p);
  return 0;
}

int alloc(int32_t, uint64_t bytes, uint64_t alignment, void** out) {
  if (alignment < 64) alignment = 64;
  const uint64_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded ? rounded : alignment);
  if (!p) return error(MX_ERR_OUT_OF_MEMORY, "cpu: aligned_alloc of " + std::to_string(bytes) + " bytes failed");
  *out = p;
  return 0;
}

void release(int32_t, void* p) { std::free(p); }

int copy(const DLTensor* src, DLTensor* dst, mx_stream_t) {
  if (src->device.device_type != kDLCPU || dst->device.device_type != kDLCPU)
    return error(MX_ERR_UNSUPPORTED, "cpu backend copies only between host tensors");
  const int64_t n = numel(*src), bytes = n * ((src->dtype.bits * src->dtype.lanes + 7) / 8);
  if (numel(*dst) != n || src->dtype.bits != dst->dtype.bits)
    return error(MX_ERR_SHAPE_MISMATCH, "cpu copy: source and destination sizes differ");
  if (src->strides || dst->strides) return error(MX_ERR_UNSUPPORTED, "cpu copy: strided tensors are not supported");
  std::memmove(data_of(*dst), data_of(*src), size_t(bytes));
  return 0;
}

// Synchronous device: a stream is a token, an event is always complete.
int stream_create(int32_t, mx_stream_t* out) {
  *out = new char(0);
  return 0;
}
int stream_destroy(mx_stream_t s) {
  delete static_cast<char*>(s);
  return 0;
}
int noop_stream(mx_stream_t) { return 0; }
int event_create(int32_t, mx_event_t* out) {
  *out = new char(0);
  return 0;
}
int event_destroy(mx_event_t e) {
  delete static_cast<char*>(e);
  return 0;
}
int event_record(mx_event_t, mx_stream_t) { return 0; }
int stream_wait_event(mx_stream_t, mx_event_t) { return 0; }
int event_query(mx_event_t, int32_t* done) {
  *done = 1;
  return 0;
}
int noop_event(mx_event_t) { return 0; }

}  // namespace
}  // namespace mxcpu

namespace mxcpu {

// The backend's slots; backend_init (backends/common/plugin.h) presets identity, ABI version and
// the kernel slots (the registry every kernels/*.cc file adds its table to).
int fill(mx_backend_api* api) {
  gemm_init();
  api->name = "cpu";
  api->device_type = kDLCPU;
  api->version = MX_VERSION_STRING " (OpenBLAS)";
  api->device_count = device_count;
  api->device_props = device_props;
  api->alloc = alloc;
  api->free = release;
  api->copy = copy;
  api->stream_create = stream_create;
  api->stream_destroy = stream_destroy;
  api->stream_sync = noop_stream;
  api->event_create = event_create;
  api->event_destroy = event_destroy;
  api->event_record = event_record;
  api->stream_wait_event = stream_wait_event;
  api->event_query = event_query;
  api->event_sync = noop_event;
  return 0;
}

}  // namespace mxcpu

MX_BACKEND_ENTRY(mxcpu::fill)
