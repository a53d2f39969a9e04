// libmx_backend_cuda.so: CUDA devices through the CUDA runtime, cuBLAS and cuDNN. Includes abi/,
// backends/common and CUDA headers only. With no driver or no GPU it still loads and reports zero
// devices and the runtime's reason; its kernels stay listed, so the coverage test runs anywhere.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_backend.h"

namespace mxcuda {

namespace {
std::string with_op(const char* op, const char* call, const std::string& reason) {
  return (op ? std::string(op) + ": " : std::string()) + call + ": " + reason;
}
}  // namespace

int check(cudaError_t e, const char* call, const char* op) {
  if (e == cudaSuccess) return 0;
  cudaGetLastError();  // clear the non-sticky error state
  const int32_t code = e == cudaErrorMemoryAllocation ? MX_ERR_OUT_OF_MEMORY : MX_ERR_INTERNAL;
  return error(code, with_op(op, call, std::string(cudaGetErrorName(e)) + " (" + cudaGetErrorString(e) + ")"));
}

int check_cublas(cublasStatus_t s, const char* call, const char* op) {
  if (s == CUBLAS_STATUS_SUCCESS) return 0;
  const int32_t code = s == CUBLAS_STATUS_ALLOC_FAILED ? MX_ERR_OUT_OF_MEMORY
                       : s == CUBLAS_STATUS_NOT_SUPPORTED ? MX_ERR_UNSUPPORTED
                                                          : MX_ERR_INTERNAL;
  return error(code, with_op(op, call, std::string("cuBLAS ") + cublasGetStatusName(s) + " (" +
                                           cublasGetStatusString(s) + ")"));
}

int check_cudnn(cudnnStatus_t s, const char* call, const char* op) {
  if (s == CUDNN_STATUS_SUCCESS) return 0;
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof(detail));
  const int32_t code = s == CUDNN_STATUS_ALLOC_FAILED ? MX_ERR_OUT_OF_MEMORY
                       : s == CUDNN_STATUS_NOT_SUPPORTED ? MX_ERR_UNSUPPORTED
                                                         : MX_ERR_INTERNAL;
  std::string reason = std::string("cuDNN ") + cudnnGetErrorString(s);
  if (detail[0]) reason += " (" + std::string(detail) + ")";
  return error(code, with_op(op, call, reason));
}

int launched(const char* op) { return check(cudaGetLastError(), "kernel launch", op); }

namespace {

int g_count = -1;
std::string g_reason;
std::once_flag g_count_once;

void count_devices() {
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

// Streams for calls made without one (per device, created on first use, never destroyed).
std::mutex g_default_mu;
std::vector<Stream*> g_default_streams;

}  // namespace

Stream* stream_of(const mx_kernel_ctx* ctx) {
  // Launches, cuBLAS and cuDNN work on the calling thread's current device: make it the call's
  // (one thread may drive several GPUs, e.g. the naive engine).
  int cur = -1;
  if (cudaGetDevice(&cur) != cudaSuccess || cur != ctx->device_id) cudaSetDevice(ctx->device_id);
  if (ctx->stream) return static_cast<Stream*>(ctx->stream);
  std::lock_guard<std::mutex> lk(g_default_mu);
  const int dev = ctx->device_id;
  if (int(g_default_streams.size()) <= dev) g_default_streams.resize(size_t(dev) + 1, nullptr);
  if (!g_default_streams[size_t(dev)]) {
    cudaSetDevice(dev);
    cudaStream_t s = nullptr;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    g_default_streams[size_t(dev)] = new Stream{dev, s};
  }
  return g_default_streams[size_t(dev)];
}

int finish(const mx_kernel_ctx* ctx, const char* op) {
  if (ctx->stream) return 0;
  return check(cudaStreamSynchronize(stream_of(ctx)->s), "cudaStreamSynchronize", op);
}

bool tensor_cores_allowed() {
  static const bool allowed = [] {
    for (const char* name : {"MX_CUDA_ALLOW_TENSOR_CORE", "MXNET_CUDA_ALLOW_TENSOR_CORE"}) {
      const char* v = std::getenv(name);
      if (v && *v) return std::strcmp(v, "1") == 0 || std::strcmp(v, "true") == 0 || std::strcmp(v, "True") == 0;
    }
    return false;
  }();
  return allowed;
}

cublasHandle_t cublas_of(const mx_kernel_ctx* ctx, const char* op) {
  Stream* s = stream_of(ctx);
  if (s->cublas) return s->cublas;
  if (check(cudaSetDevice(s->dev), "cudaSetDevice", op)) return nullptr;
  cublasHandle_t h = nullptr;
  if (check_cublas(cublasCreate(&h), "cublasCreate", op)) return nullptr;
  if (check_cublas(cublasSetStream(h, s->s), "cublasSetStream", op) ||
      // Default math keeps float32 GEMMs in float32 (TF32 only with CUBLAS_TF32_TENSOR_OP_MATH or a
      // FAST_TF32 compute type) while 16-bit GEMMs still get tensor cores (pedantic math would not).
      check_cublas(cublasSetMathMode(h, tensor_cores_allowed() ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
                   "cublasSetMathMode", op)) {
    cublasDestroy(h);
    return nullptr;
  }
  s->cublas = h;
  return h;
}

cudnnHandle_t cudnn_of(const mx_kernel_ctx* ctx, const char* op) {
  Stream* s = stream_of(ctx);
  if (s->cudnn) return s->cudnn;
  if (check(cudaSetDevice(s->dev), "cudaSetDevice", op)) return nullptr;
  cudnnHandle_t h = nullptr;
  if (check_cudnn(cudnnCreate(&h), "cudnnCreate", op)) return nullptr;
  if (check_cudnn(cudnnSetStream(h, s->s), "cudnnSetStream", op)) {
    cudnnDestroy(h);
    return nullptr;
  }
  s->cudnn = h;
  return h;
}

namespace {
std::mutex g_planning_mu;
std::vector<cudnnHandle_t> g_planning;  // per device, never destroyed
}  // namespace

cudnnHandle_t cudnn_planning(int dev, const char* op, std::unique_lock<std::mutex>& lock) {
  lock = std::unique_lock<std::mutex>(g_planning_mu);
  if (int(g_planning.size()) <= dev) g_planning.resize(size_t(dev) + 1, nullptr);
  if (g_planning[size_t(dev)]) return g_planning[size_t(dev)];
  if (check(cudaSetDevice(dev), "cudaSetDevice", op)) return nullptr;
  cudnnHandle_t h = nullptr;
  if (check_cudnn(cudnnCreate(&h), "cudnnCreate", op)) return nullptr;
  g_planning[size_t(dev)] = h;
  return h;
}

void release_handles(Stream* s) {
  if (s->cublas) cublasDestroy(s->cublas);
  if (s->cudnn) cudnnDestroy(s->cudnn);
  s->cublas = nullptr;
  s->cudnn = nullptr;
}

namespace {

int device_count(int32_t* out, const char** reason) {
  std::call_once(g_count_once, count_devices);
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
  const uint32_t keep = out->struct_size;
  write_sized(out, r);
  out->struct_size = keep;
  return 0;
}

int alloc(int32_t dev, uint64_t bytes, uint64_t, void** out) {
  // cudaMalloc returns 256-byte aligned memory, which is what the host asks for.
  if (check(cudaSetDevice(dev), "cudaSetDevice")) return -1;
  return check(cudaMalloc(out, bytes ? bytes : 1), ("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str());
}

void release(int32_t dev, void* p) {
  cudaSetDevice(dev);
  cudaFree(p);
}

int alloc_pinned(uint64_t bytes, void** out) { return check(cudaMallocHost(out, bytes ? bytes : 1), "cudaMallocHost"); }
void free_pinned(void* p) { cudaFreeHost(p); }

int64_t nbytes(const DLTensor& t) { return numel(t) * elem_bytes(t); }

// ---------------------------------------------------------------- host <-> device staging
// An asynchronous copy between pageable host memory and the device is not asynchronous at all in
// CUDA (the driver stages it and the host waits). Copies the engine enqueues on a stream therefore
// go through pinned chunks of a small per-device ring: H2D copies into a chunk on the host and
// enqueues chunk -> device; D2H enqueues device -> chunk and a host function chunk -> destination,
// so the engine worker returns at once and the engine's event (recorded after the copy) covers
// the whole transfer. A chunk is reused once the event recorded after its last use completes.

constexpr size_t kChunkBytes = size_t(8) << 20;
constexpr int kChunks = 4;

struct Chunk {
  std::mutex mu;  // held from "wait for the last use" to "recorded this use"
  void* host = nullptr;
  cudaEvent_t done = nullptr;
};

struct StagingRing {
  Chunk chunks[kChunks];
  std::atomic<unsigned> next{0};
};

std::mutex g_rings_mu;
std::map<int, StagingRing*> g_rings;  // per device, never freed (pinned memory lives with the process)

StagingRing& ring_of(int dev) {
  std::lock_guard<std::mutex> lk(g_rings_mu);
  StagingRing*& r = g_rings[dev];
  if (!r) r = new StagingRing();
  return *r;
}

bool is_pageable(const void* p) {
  cudaPointerAttributes a{};
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    cudaGetLastError();
    return true;
  }
  return a.type == cudaMemoryTypeUnregistered;
}

struct HostCopy {
  void* dst;
  const void* src;
  size_t n;
};
void CUDART_CB host_copy(void* arg) {
  auto* c = static_cast<HostCopy*>(arg);
  std::memcpy(c->dst, c->src, c->n);
  delete c;
}

// Copies n bytes between pageable host memory and device memory on stream, through the ring.
int staged_copy(int dev, char* dst, const char* src, size_t n, bool to_device, cudaStream_t stream) {
  StagingRing& ring = ring_of(dev);
  for (size_t off = 0; off < n; off += kChunkBytes) {
    const size_t len = std::min(kChunkBytes, n - off);
    Chunk& c = ring.chunks[ring.next.fetch_add(1) % kChunks];
    std::lock_guard<std::mutex> lk(c.mu);
    if (!c.host) {
      if (check(cudaEventCreateWithFlags(&c.done, cudaEventDisableTiming), "cudaEventCreate (staging)")) return -1;
      if (check(cudaMallocHost(&c.host, kChunkBytes), "cudaMallocHost (staging)")) {
        cudaEventDestroy(c.done);
        c.done = nullptr;
        c.host = nullptr;
        return -1;
      }
    } else if (check(cudaEventSynchronize(c.done), "cudaEventSynchronize (staging)")) {
      return -1;
    }
    // From here on the chunk may be in use by enqueued work: every exit records its event.
    auto fail = [&](int rc) {
      cudaEventRecord(c.done, stream);
      return rc;
    };
    if (to_device) {
      std::memcpy(c.host, src + off, len);
      if (check(cudaMemcpyAsync(dst + off, c.host, len, cudaMemcpyHostToDevice, stream), "cudaMemcpyAsync"))
        return fail(-1);
    } else {
      if (check(cudaMemcpyAsync(c.host, src + off, len, cudaMemcpyDeviceToHost, stream), "cudaMemcpyAsync"))
        return fail(-1);
      auto* hc = new HostCopy{dst + off, c.host, len};
      if (check(cudaLaunchHostFunc(stream, host_copy, hc), "cudaLaunchHostFunc")) {
        delete hc;
        return fail(-1);
      }
    }
    if (check(cudaEventRecord(c.done, stream), "cudaEventRecord (staging)")) {
      cudaStreamSynchronize(stream);  // the chunk must not be reused while the copy may run
      return -1;
    }
  }
  return 0;
}

int copy(const DLTensor* src, DLTensor* dst, mx_stream_t stream) {
  const int64_t n = nbytes(*src);
  if (n != nbytes(*dst)) return error(MX_ERR_SHAPE_MISMATCH, "cuda copy: source and destination sizes differ");
  if (src->strides || dst->strides) return error(MX_ERR_UNSUPPORTED, "cuda copy: strided tensors are not supported");
  if (n == 0) return 0;
  const char* s = data_of(*src);
  char* d = data_of(*dst);
  const bool src_gpu = src->device.device_type == kDLCUDA, dst_gpu = dst->device.device_type == kDLCUDA;
  const int dev = dst_gpu ? dst->device.device_id : src->device.device_id;
  if (check(cudaSetDevice(dev), "cudaSetDevice")) return -1;
  cudaStream_t st = stream ? static_cast<Stream*>(stream)->s : nullptr;
  if (src_gpu && dst_gpu && src->device.device_id != dst->device.device_id) {
    if (check(cudaMemcpyPeerAsync(d, dst->device.device_id, s, src->device.device_id, size_t(n), st),
              "cudaMemcpyPeerAsync"))
      return -1;
  } else if (stream && src_gpu != dst_gpu && is_pageable(src_gpu ? d : s)) {
    if (staged_copy(dev, d, s, size_t(n), dst_gpu, st)) return -1;
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
  if (s->owned) cudaStreamSynchronize(s->s);
  release_handles(s);
  if (s->owned) cudaStreamDestroy(s->s);
  delete s;
  return 0;
}
// DLPack's stream numbers are CUDA's: 1 = cudaStreamLegacy, 2 = cudaStreamPerThread, else a
// cudaStream_t's value.
int stream_from_native(int32_t dev, uint64_t native, mx_stream_t* out) {
  if (native == 0) return error(MX_ERR_INVALID_ARGUMENT, "cuda: native stream 0 is ambiguous (use 1 for the legacy default)");
  *out = new Stream{dev, reinterpret_cast<cudaStream_t>(uintptr_t(native)), nullptr, nullptr, false};
  return 0;
}
int stream_native(mx_stream_t p, uint64_t* out) {
  *out = uint64_t(uintptr_t(static_cast<Stream*>(p)->s));
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

std::string version_string() {
  int rt = 0, drv = 0;
  cudaRuntimeGetVersion(&rt);
  cudaDriverGetVersion(&drv);
  char buf[192];
  std::snprintf(buf, sizeof(buf), "%s (CUDA runtime %d.%d, driver %d.%d, cuBLAS %d, cuDNN %zu)", MX_VERSION_STRING,
                rt / 1000, (rt % 1000) / 10, drv / 1000, (drv % 1000) / 10, CUBLAS_VERSION, cudnnGetVersion());
  return buf;
}

int fill(mx_backend_api* api) {
  static const std::string version = version_string();
  api->name = "cuda";
  api->device_type = kDLCUDA;
  api->version = version.c_str();
  api->device_count = device_count;
  api->device_props = device_props;
  api->alloc = alloc;
  api->free = release;
  api->alloc_pinned = alloc_pinned;
  api->free_pinned = free_pinned;
  api->copy = copy;
  api->stream_create = stream_create;
  api->stream_destroy = stream_destroy;
  api->stream_sync = stream_sync;
  api->event_create = event_create;
  api->event_destroy = event_destroy;
  api->event_record = event_record;
  api->stream_wait_event = stream_wait_event;
  api->event_query = event_query;
  api->event_sync = event_sync;
  api->stream_from_native = stream_from_native;
  api->stream_native = stream_native;
  return 0;
}

}  // namespace
}  // namespace mxcuda

MX_BACKEND_ENTRY(mxcuda::fill)
