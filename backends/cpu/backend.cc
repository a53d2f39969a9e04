// libmx_backend_cpu.so: host memory, copies, and the CPU kernels. Work is synchronous (the
// engine's CPU workers call run() directly), so streams and events are trivial.
#include <cstdlib>
#include <fstream>
#include <map>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "cpu_backend.h"
#include "gemm.h"

namespace mxcpu {

const mx_host_api* g_host = nullptr;

int error(int32_t code, const std::string& message) {
  if (g_host && g_host->set_error) g_host->set_error(code, message.c_str());
  return -1;
}

const char* attr(const mx_kernel_args* args, const char* key) {
  for (int32_t i = 0; i < args->num_attrs; ++i)
    if (std::strcmp(args->attr_keys[i], key) == 0) return args->attr_vals[i];
  return "";
}
double attr_float(const mx_kernel_args* args, const char* key) { return std::strtod(attr(args, key), nullptr); }
bool attr_bool(const mx_kernel_args* args, const char* key) { return std::strcmp(attr(args, key), "True") == 0; }

std::vector<int64_t> attr_ints(const char* s) {
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

int64_t numel(const DLTensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}

int32_t dtype_flag(DLDataType t) {
  if (t.lanes != 1) return -1;
  switch (t.code) {
    case kDLFloat: return t.bits == 32 ? MX_FLOAT32 : t.bits == 64 ? MX_FLOAT64 : t.bits == 16 ? MX_FLOAT16 : -1;
    case kDLBfloat: return t.bits == 16 ? MX_BFLOAT16 : -1;
    case kDLInt: return t.bits == 8 ? MX_INT8 : t.bits == 32 ? MX_INT32 : t.bits == 64 ? MX_INT64 : -1;
    case kDLUInt: return t.bits == 8 ? MX_UINT8 : -1;
    case 6: return t.bits == 8 ? MX_BOOL : -1;  // kDLBool
  }
  return -1;
}

float half_to_float(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
  if (exp == 0) {
    if (man == 0) {
      u = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(man & 0x400u)) {
        man <<= 1;
        --exp;
      }
      u = sign | (exp << 23) | ((man & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    u = sign | 0x7f800000u | (man << 13);
  } else {
    u = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t float_to_half(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  const uint16_t sign = uint16_t((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return uint16_t(sign | 0x7e00u);  // NaN
  if (abs >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // overflow -> inf
  if (abs < 0x38800000u) {                                   // subnormal or zero in half
    if (abs < 0x33000000u) return sign;
    const uint32_t exp = abs >> 23, man = (abs & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126 - exp;  // 14..24
    uint32_t v = man >> shift;
    const uint32_t rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (v & 1u))) ++v;
    return uint16_t(sign | v);
  }
  uint32_t v = abs - 0x38000000u;  // rebias exponent
  v = (v + 0xfffu + ((v >> 13) & 1u)) >> 13;
  return uint16_t(sign | v);
}

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
  const uint32_t n = out->struct_size < sizeof(p) ? out->struct_size : uint32_t(sizeof(p));
  std::memcpy(reinterpret_cast<char*>(out) + 4, reinterpret_cast<char*>(&p) + 4, n - 4);
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

// ---------------------------------------------------------------- kernels

const std::map<std::string, const mx_kernel*>& kernel_index() {
  static const auto* index = [] {
    auto* m = new std::map<std::string, const mx_kernel*>();
    for (const mx_kernel* table : {kElemwiseKernels, kInitKernels, kRandomKernels, kDotKernels, kUnaryKernels,
                                     kBroadcastKernels, kReduceKernels, kNNKernels, kOptimizerKernels,
                                     kConvKernels, kIndexingKernels, kSlicingKernels,
                                     kSortingKernels, kGatherKernels})
      for (const mx_kernel* k = table; k->op_name; ++k) (*m)[k->op_name] = k;
    return m;
  }();
  return *index;
}

const mx_kernel* find_kernel(const char* name) {
  auto& idx = kernel_index();
  auto it = idx.find(name);
  return it == idx.end() ? nullptr : it->second;
}

int list_kernels(int32_t* n, const char* const** names) {
  static const std::vector<const char*>* v = [] {
    auto* out = new std::vector<const char*>();
    for (auto& [name, k] : kernel_index()) out->push_back(k->op_name);
    return out;
  }();
  *n = int32_t(v->size());
  *names = v->data();
  return 0;
}

}  // namespace
}  // namespace mxcpu

extern "C" __attribute__((visibility("default"))) int mx_backend_init(const mx_host_api* host, mx_backend_api* out) {
  using namespace mxcpu;
  g_host = host;
  gemm_init();
  mx_backend_api api{};
  api.struct_size = sizeof(api);
  api.abi_major = MX_BACKEND_ABI_MAJOR;
  api.abi_minor = MX_BACKEND_ABI_MINOR;
  api.name = "cpu";
  api.device_type = kDLCPU;
  api.version = MX_VERSION_STRING " (OpenBLAS)";
  api.device_count = device_count;
  api.device_props = device_props;
  api.alloc = alloc;
  api.free = release;
  api.copy = copy;
  api.stream_create = stream_create;
  api.stream_destroy = stream_destroy;
  api.stream_sync = noop_stream;
  api.event_create = event_create;
  api.event_destroy = event_destroy;
  api.event_record = event_record;
  api.stream_wait_event = stream_wait_event;
  api.event_query = event_query;
  api.event_sync = noop_event;
  api.find_kernel = find_kernel;
  api.list_kernels = list_kernels;
  // Never write past what the host said it can read.
  const uint32_t n = out->struct_size < sizeof(api) ? out->struct_size : uint32_t(sizeof(api));
  std::memcpy(out, &api, n);
  out->struct_size = n;
  return 0;
}
