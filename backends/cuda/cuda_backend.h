// Internals of the CUDA backend plugin shared by its host code and its kernels.
#pragma once

#include <string>

#include <cuda_runtime_api.h>

#include "mx/backend.h"
#include "mx/c_api.h"

namespace mxcuda {

// What mx_stream_t / mx_event_t point to in this backend.
struct Stream {
  int dev;
  cudaStream_t s;
};
struct Event {
  int dev;
  cudaEvent_t e;
};

extern const mx_host_api* g_host;
int error(int32_t code, const std::string& message);
// 0 on cudaSuccess; otherwise reports "call: name (description)" to the host and returns -1.
int check(cudaError_t e, const char* call);

// Kernel table, terminated by an entry with op_name == nullptr.
extern const mx_kernel kKernels[];

}  // namespace mxcuda
