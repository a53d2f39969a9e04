// libmx_backend_dnnl.so: a kernel-only CPU plugin (mx/backend.h, ABI 1.3). It leaves memory,
// copies, streams and events to the plugin that owns kDLCPU (the built-in CPU backend): its
// kernels run on that host memory with a NULL stream, synchronously on the calling thread. With
// kernel_priority 100 it serves the ops it has kernels for ahead of the built-in backend (priority
// 0); a create() failing with MX_ERR_UNSUPPORTED hands that call back to the built-in kernel.
// The kernels register themselves (MX_REGISTER_KERNELS in conv.cc, pooling.cc, matmul.cc,
// norm.cc, eltwise.cc).
#include <string>

#include "common.h"

namespace mxdnnl {
namespace {

// One device: the host's CPU. oneDNN's engine is created here, so a broken oneDNN shows up as a
// load failure with its reason instead of failing every kernel.
int device_count(int32_t* out, const char** reason) {
  static const std::string failure = [] {
    try {
      (void)engine();
      return std::string();
    } catch (const std::exception& e) {
      return std::string("oneDNN has no CPU engine: ") + e.what();
    }
  }();
  *out = failure.empty() ? 1 : 0;
  if (reason) *reason = failure.c_str();
  return 0;
}

int fill(mx_backend_api* api) {
  static const std::string version = std::string("0.1.0 (oneDNN ") + dnnl_description() + ")";
  api->name = "dnnl";
  api->device_type = kDLCPU;
  api->version = version.c_str();
  api->device_count = device_count;
  api->kernel_priority = 100;
  return 0;
}

}  // namespace
}  // namespace mxdnnl

MX_BACKEND_ENTRY(mxdnnl::fill)
