// libmx_kvstore_nccl.so: the device_comm.h table over NCCL (one process, several GPUs) and the CUDA
// runtime. Sees core/kvstore/device_comm.h, abi/ and the CUDA backend's stream handle only.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "cuda_backend.h"  // mxcuda::Stream: what the engine's GPU stream handle points to
#include "device_comm.h"
#include "mx/c_api.h"

namespace mx::kvnccl {
namespace {

thread_local std::string t_error;

int fail(const std::string& msg) {
  t_error = "nccl: " + msg;
  return -1;
}
int cuda_fail(cudaError_t e, const char* call) {
  cudaGetLastError();  // clear it, as the CUDA backend does, so the next call starts clean
  return fail(std::string(call) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}
int nccl_fail(ncclResult_t r, const char* call) {
  std::string detail = ncclGetLastError(nullptr);
  return fail(std::string(call) + ": " + ncclGetErrorString(r) + (detail.empty() ? "" : " (" + detail + ")"));
}

#define CUDA_TRY(call)                                 \
  do {                                                 \
    cudaError_t e_ = (call);                           \
    if (e_ != cudaSuccess) return cuda_fail(e_, #call); \
  } while (0)
#define NCCL_TRY(call)                                  \
  do {                                                  \
    ncclResult_t r_ = (call);                           \
    if (r_ != ncclSuccess) return nccl_fail(r_, #call); \
  } while (0)

struct Comm {
  std::vector<int> devs;
  std::vector<ncclComm_t> comms;
  std::vector<cudaStream_t> streams;  // NCCL's own per-device streams, so the collective does not
                                      // serialise with other work queued on the engine's streams
  std::vector<cudaEvent_t> done;      // per device, recorded after the collective
  cudaEvent_t start = nullptr;        // on devs[0], recorded on the caller's stream
};

// Restores the calling thread's current device (the engine's workers share threads between ops).
struct DeviceGuard {
  int prev = -1;
  DeviceGuard() { cudaGetDevice(&prev); }
  ~DeviceGuard() {
    if (prev >= 0) cudaSetDevice(prev);
  }
};

bool nccl_type(int32_t dtype, ncclDataType_t* out) {
  switch (dtype) {
    case MX_FLOAT32: *out = ncclFloat32; return true;
    case MX_FLOAT64: *out = ncclFloat64; return true;
    case MX_FLOAT16: *out = ncclFloat16; return true;
    case MX_BFLOAT16: *out = ncclBfloat16; return true;
    case MX_INT32: *out = ncclInt32; return true;
    case MX_INT64: *out = ncclInt64; return true;
    case MX_INT8: *out = ncclInt8; return true;
    case MX_UINT8: *out = ncclUint8; return true;
    default: return false;
  }
}

// Frees whatever a (possibly half-built) comm holds; errors ignored: nothing can be done about them.
void release(Comm* c) {
  DeviceGuard guard;
  for (size_t i = 0; i < c->devs.size(); ++i) {
    cudaSetDevice(c->devs[i]);
    if (i < c->streams.size() && c->streams[i]) cudaStreamSynchronize(c->streams[i]);
    if (i < c->comms.size() && c->comms[i]) ncclCommDestroy(c->comms[i]);
    if (i < c->streams.size() && c->streams[i]) cudaStreamDestroy(c->streams[i]);
    if (i < c->done.size() && c->done[i]) cudaEventDestroy(c->done[i]);
  }
  if (c->start) {
    cudaSetDevice(c->devs[0]);
    cudaEventDestroy(c->start);
  }
  cudaGetLastError();
  delete c;
}

int build(Comm* c) {
  const int n = int(c->devs.size());
  c->comms.assign(size_t(n), nullptr);
  NCCL_TRY(ncclCommInitAll(c->comms.data(), n, c->devs.data()));
  c->streams.assign(size_t(n), nullptr);
  c->done.assign(size_t(n), nullptr);
  for (int i = 0; i < n; ++i) {
    CUDA_TRY(cudaSetDevice(c->devs[size_t(i)]));
    CUDA_TRY(cudaStreamCreateWithFlags(&c->streams[size_t(i)], cudaStreamNonBlocking));
    CUDA_TRY(cudaEventCreateWithFlags(&c->done[size_t(i)], cudaEventDisableTiming));
  }
  CUDA_TRY(cudaSetDevice(c->devs[0]));
  CUDA_TRY(cudaEventCreateWithFlags(&c->start, cudaEventDisableTiming));
  return 0;
}

int create(int32_t ndev, const int32_t* device_ids, void** out_comm) {
  if (!out_comm || !device_ids || ndev < 1) return fail("create: needs at least one device id");
  int count = 0;
  CUDA_TRY(cudaGetDeviceCount(&count));
  std::vector<int> devs(device_ids, device_ids + ndev);
  for (int32_t i = 0; i < ndev; ++i) {
    if (devs[size_t(i)] < 0 || devs[size_t(i)] >= count)
      return fail("create: gpu(" + std::to_string(devs[size_t(i)]) + ") does not exist (" + std::to_string(count) +
                  " GPUs)");
    if (std::count(devs.begin(), devs.end(), devs[size_t(i)]) > 1)
      return fail("create: gpu(" + std::to_string(devs[size_t(i)]) + ") is given twice (one rank per GPU)");
  }
  DeviceGuard guard;
  auto* c = new Comm();
  c->devs = std::move(devs);
  if (build(c) != 0) {
    const std::string why = t_error;
    release(c);
    t_error = why;
    return -1;
  }
  *out_comm = c;
  return 0;
}

int destroy(void* comm) {
  if (comm) release(static_cast<Comm*>(comm));
  return 0;
}

int allreduce(void* comm, int32_t n, void* const* bufs, int64_t count, int32_t dtype, void* caller_stream) {
  auto* c = static_cast<Comm*>(comm);
  if (!c || !bufs) return fail("allreduce: no comm or no buffers");
  if (n != int32_t(c->devs.size()))
    return fail("allreduce: " + std::to_string(n) + " buffers for a comm of " + std::to_string(c->devs.size()) +
                " GPUs");
  ncclDataType_t type;
  if (!nccl_type(dtype, &type)) return fail("allreduce: dtype code " + std::to_string(dtype) + " is not reducible");
  if (count <= 0) return 0;
  cudaStream_t caller = nullptr;
  if (caller_stream) {
    const auto* s = static_cast<const mxcuda::Stream*>(caller_stream);
    if (s->dev != c->devs[0])
      return fail("allreduce: the caller's stream is on gpu(" + std::to_string(s->dev) + "), the comm's first GPU is gpu(" +
                  std::to_string(c->devs[0]) + ")");
    caller = s->s;
  }
  DeviceGuard guard;
  // NCCL's streams start after what the caller queued before (the merge buffers' copies).
  if (caller) {
    CUDA_TRY(cudaSetDevice(c->devs[0]));
    CUDA_TRY(cudaEventRecord(c->start, caller));
    for (int32_t i = 0; i < n; ++i) CUDA_TRY(cudaStreamWaitEvent(c->streams[size_t(i)], c->start, 0));
  }
  // One thread drives every rank: the calls must be one group, or the first would wait forever.
  NCCL_TRY(ncclGroupStart());
  for (int32_t i = 0; i < n; ++i) {
    const ncclResult_t r =
        ncclAllReduce(bufs[i], bufs[i], size_t(count), type, ncclSum, c->comms[size_t(i)], c->streams[size_t(i)]);
    if (r != ncclSuccess) {
      ncclGroupEnd();
      return nccl_fail(r, "ncclAllReduce");
    }
  }
  NCCL_TRY(ncclGroupEnd());
  // The caller's stream continues after every rank finished: its next event covers the sum.
  for (int32_t i = 0; i < n; ++i) {
    CUDA_TRY(cudaSetDevice(c->devs[size_t(i)]));
    if (caller) {
      CUDA_TRY(cudaEventRecord(c->done[size_t(i)], c->streams[size_t(i)]));
      CUDA_TRY(cudaStreamWaitEvent(caller, c->done[size_t(i)], 0));
    } else {
      CUDA_TRY(cudaStreamSynchronize(c->streams[size_t(i)]));
    }
  }
  return 0;
}

const char* last_error() { return t_error.c_str(); }

std::string version_text() {
  int v = 0, rt = 0;
  ncclGetVersion(&v);
  cudaRuntimeGetVersion(&rt);
  // NCCL >= 2.9 encodes major*10000 + minor*100 + patch.
  return "NCCL " + std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100) +
         " (CUDA runtime " + std::to_string(rt) + ")";
}

}  // namespace
}  // namespace mx::kvnccl

// The host sets out->struct_size to the size it knows; at most that much is written.
extern "C" __attribute__((visibility("default"))) int mx_kv_device_comm_init(mx_kv_device_comm* out) {
  namespace k = mx::kvnccl;
  if (!out || out->struct_size < offsetof(mx_kv_device_comm, last_error)) return -1;
  static const std::string version = k::version_text();
  mx_kv_device_comm t;
  std::memset(&t, 0, sizeof t);
  t.struct_size = sizeof(mx_kv_device_comm);
  t.abi_major = MX_KV_DEVICE_COMM_ABI_MAJOR;
  t.abi_minor = MX_KV_DEVICE_COMM_ABI_MINOR;
  t.name = "nccl";
  t.version = version.c_str();
  t.last_error = k::last_error;
  t.create = k::create;
  t.destroy = k::destroy;
  t.allreduce = k::allreduce;
  const uint32_t host_size = out->struct_size;
  std::memcpy(out, &t, std::min<size_t>(host_size, sizeof t));
  out->struct_size = std::min<uint32_t>(host_size, uint32_t(sizeof t));
  return 0;
}
