// libmx_backend_cuda.so: CUDA devices through the CUDA runtime. Includes abi/ and CUDA headers
// only. With no driver or no GPU it still loads and reports zero devices and the runtime's reason.
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "cuda_backend.h"

namespace mxcuda {

const mx_host_api* g_host = nullptr;

int error(int32_t code, const std::string& message) {
  if (g_host && g_host->set_error) g_host->set_error(code, message.c_str());
  return -1;
}

int check(cudaError_t e, const char* call) {
  if (e == cudaSuccess) return 0;
  cudaGetLastError();  // clear the sticky-free error state
  const int32_t code = e == cudaErrorMemoryAllocation ? MX_ERR_OUT_OF_MEMORY : MX_ERR_INTERNAL;
  return error(code, std::string(call) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

namespace {

int g_count = -1;
std::string g_reason;

int device_count(int32_t* out, const char** reason) {
  if (g_count < 0) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      g_reason = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
      cudaGetLastError();
      n = 0;
    } else if (n == 0) {
      g_reason = "the CUDA runtime found no GPU";
    }
    g_count = n;
  }
  *out = g_count;
  if (reason) *reason = g_reason.c_str();
  return 0;
}

int device_props(int32_t id, mx_device_props* out) {
  cudaDeviceProp p;
  if (check(cudaGetDeviceProperties(&p, id), "cudaGetDeviceProperties")) return -1;
  mx_device_props r{};
  r.struct_size = sizeof(r);
  std::snprintf(r.name, sizeof(r.name), "%.200s (sm_%d%d)", p.name, p.major, p.minor);
  size_t free_b = 0, total_b = 0;
  if (check(cudaSetDevice(id), "cudaSetDevice") || check(cudaMemGetInfo(&free_b, &total_b), "cudaMemGetInfo"))
    return -1;
  r.total_memory = total_b;
  r.free_memory = free_b;
  r.supports_async = 1;
  r.supports_events = 1;
  r.supports_pinned = 1;
  const uint32_t n = out->struct_size < sizeof(r) ? out->struct_size : uint32_t(sizeof(r));
  std::memcpy(reinterpret_cast<char*>(out) + 4, reinterpret_cast<char*>(&r) + 4, n - 4);
  return 0;
}

int alloc(int32_t dev, uint64_t bytes, uint64_t, void** out) {
  // cudaMalloc returns 256-byte aligned memory, which is what the host asks for.
  if (check(cudaSetDevice(dev), "cudaSetDevice")) return -1;
  return check(cudaMalloc(out, bytes ? bytes : 1), "cudaMalloc");
}

void release(int32_t dev, void* p) {
  cudaSetDevice(dev);
  cudaFree(p);
}

int alloc_pinned(uint64_t bytes, void** out) { return check(cudaMallocHost(out, bytes ? bytes : 1), "cudaMallocHost"); }
void free_pinned(void* p) { cudaFreeHost(p); }

int64_t nbytes(const DLTensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n * ((t.dtype.bits * t.dtype.lanes + 7) / 8);
}

int copy(const DLTensor* src, DLTensor* dst, mx_stream_t stream) {
  const int64_t n = nbytes(*src);
  if (n != nbytes(*dst)) return error(MX_ERR_SHAPE_MISMATCH, "cuda copy: source and destination sizes differ");
  if (src->strides || dst->strides) return error(MX_ERR_UNSUPPORTED, "cuda copy: strided tensors are not supported");
  const char* s = static_cast<const char*>(src->data) + src->byte_offset;
  char* d = static_cast<char*>(dst->data) + dst->byte_offset;
  const bool src_gpu = src->device.device_type == kDLCUDA, dst_gpu = dst->device.device_type == kDLCUDA;
  const int dev = dst_gpu ? dst->device.device_id : src->device.device_id;
  if (check(cudaSetDevice(dev), "cudaSetDevice")) return -1;
  cudaStream_t st = stream ? static_cast<Stream*>(stream)->s : nullptr;
  if (src_gpu && dst_gpu && src->device.device_id != dst->device.device_id) {
    if (check(cudaMemcpyPeerAsync(d, dst->device.device_id, s, src->device.device_id, size_t(n), st),
              "cudaMemcpyPeerAsync"))
      return -1;
  } else {
    // Unified addressing: the runtime knows where each pointer lives.
    if (check(cudaMemcpyAsync(d, s, size_t(n), cudaMemcpyDefault, st), "cudaMemcpyAsync")) return -1;
  }
  return stream ? 0 : check(cudaStreamSynchronize(st), "cudaStreamSynchronize");
}

int stream_create(int32_t dev, mx_stream_t* out) {
  if (check(cudaSetDevice(dev), "cudaSetDevice")) return -1;
  cudaStream_t s;
  if (check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate")) return -1;
  *out = new Stream{dev, s};
  return 0;
}
int stream_destroy(mx_stream_t p) {
  auto* s = static_cast<Stream*>(p);
  cudaSetDevice(s->dev);
  cudaStreamDestroy(s->s);
  delete s;
  return 0;
}
int stream_sync(mx_stream_t p) {
  auto* s = static_cast<Stream*>(p);
  return check(cudaStreamSynchronize(s->s), "cudaStreamSynchronize");
}
int event_create(int32_t dev, mx_event_t* out) {
  if (check(cudaSetDevice(dev), "cudaSetDevice")) return -1;
  cudaEvent_t e;
  if (check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreate")) return -1;
  *out = new Event{dev, e};
  return 0;
}
int event_destroy(mx_event_t p) {
  auto* e = static_cast<Event*>(p);
  cudaSetDevice(e->dev);
  cudaEventDestroy(e->e);
  delete e;
  return 0;
}
int event_record(mx_event_t e, mx_stream_t s) {
  auto* ev = static_cast<Event*>(e);
  if (check(cudaSetDevice(ev->dev), "cudaSetDevice")) return -1;
  return check(cudaEventRecord(ev->e, static_cast<Stream*>(s)->s), "cudaEventRecord");
}
int stream_wait_event(mx_stream_t s, mx_event_t e) {
  return check(cudaStreamWaitEvent(static_cast<Stream*>(s)->s, static_cast<Event*>(e)->e, 0), "cudaStreamWaitEvent");
}
int event_query(mx_event_t e, int32_t* done) {
  cudaError_t r = cudaEventQuery(static_cast<Event*>(e)->e);
  if (r == cudaErrorNotReady) {
    cudaGetLastError();
    *done = 0;
    return 0;
  }
  *done = 1;
  return check(r, "cudaEventQuery");
}
int event_sync(mx_event_t e) { return check(cudaEventSynchronize(static_cast<Event*>(e)->e), "cudaEventSynchronize"); }

const std::map<std::string, const mx_kernel*>& kernel_index() {
  static const auto* index = [] {
    auto* m = new std::map<std::string, const mx_kernel*>();
    for (const mx_kernel* k = kKernels; k->op_name; ++k) (*m)[k->op_name] = k;
    return m;
  }();
  return *index;
}

const mx_kernel* find_kernel(const char* name) {
  auto it = kernel_index().find(name);
  return it == kernel_index().end() ? nullptr : it->second;
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

std::string version_string() {
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%s (CUDA runtime %d.%d, driver %d.%d)", MX_VERSION_STRING, rt / 1000,
                (rt % 1000) / 10, drv / 1000, (drv % 1000) / 10);
  return buf;
}

}  // namespace
}  // namespace mxcuda

extern "C" __attribute__((visibility("default"))) int mx_backend_init(const mx_host_api* host, mx_backend_api* out) {
  using namespace mxcuda;
  g_host = host;
  static const std::string version = version_string();
  mx_backend_api api{};
  api.struct_size = sizeof(api);
  api.abi_major = MX_BACKEND_ABI_MAJOR;
  api.abi_minor = MX_BACKEND_ABI_MINOR;
  api.name = "cuda";
  api.device_type = kDLCUDA;
  api.version = version.c_str();
  api.device_count = device_count;
  api.device_props = device_props;
  api.alloc = alloc;
  api.free = release;
  api.alloc_pinned = alloc_pinned;
  api.free_pinned = free_pinned;
  api.copy = copy;
  api.stream_create = stream_create;
  api.stream_destroy = stream_destroy;
  api.stream_sync = stream_sync;
  api.event_create = event_create;
  api.event_destroy = event_destroy;
  api.event_record = event_record;
  api.stream_wait_event = stream_wait_event;
  api.event_query = event_query;
  api.event_sync = event_sync;
  api.find_kernel = find_kernel;
  api.list_kernels = list_kernels;
  const uint32_t n = out->struct_size < sizeof(api) ? out->struct_size : uint32_t(sizeof(api));
  std::memcpy(out, &api, n);
  out->struct_size = n;
  return 0;
}
