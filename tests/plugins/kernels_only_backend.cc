// A kernel-only CPU plugin (backend ABI 1.3) for plugin priority tests: no memory slots, priority
// 50, a `relu` kernel for float32 only (other dtypes: MX_ERR_UNSUPPORTED, so the call falls back to
// the built-in backend) and `Flatten` that always fails with another code (an op error, no
// fallback). It counts its relu runs in an exported variable the test reads.
#include <cstring>
#include <string>

#include "mx/backend.h"
#include "mx/c_api.h"

namespace {

const mx_host_api* g_host = nullptr;

int fail(int32_t code, const std::string& m) {
  g_host->set_error(code, m.c_str());
  return -1;
}

int relu_create(const mx_kernel_args* a, void** state) {
  if (a->inputs[0].dtype.code != kDLFloat || a->inputs[0].dtype.bits != 32)
    return fail(MX_ERR_UNSUPPORTED, "relu: konly serves float32 only");
  *state = nullptr;
  return 0;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int konly_relu_runs = 0;

namespace {

int relu_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  int64_t n = 1;
  for (int i = 0; i < in->ndim; ++i) n *= in->shape[i];
  const float* x = static_cast<const float*>(in->data);
  float* y = static_cast<float*>(out->data);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : 0.0f;
  __atomic_add_fetch(&konly_relu_runs, 1, __ATOMIC_RELAXED);
  return 0;
}

int flatten_create(const mx_kernel_args*, void**) { return fail(MX_ERR_INTERNAL, "Flatten: konly is broken on purpose"); }
int flatten_run(void*, const mx_kernel_ctx*, const DLTensor*, int32_t, DLTensor*, int32_t) { return -1; }
void no_destroy(void*) {}

mx_kernel make(const char* name, decltype(mx_kernel::create) c, decltype(mx_kernel::run) r) {
  mx_kernel k{};
  k.struct_size = sizeof(k);
  k.op_name = name;
  k.create = c;
  k.run = r;
  k.destroy = no_destroy;
  return k;
}
const mx_kernel kRelu = make("relu", relu_create, relu_run);
const mx_kernel kFlatten = make("Flatten", flatten_create, flatten_run);

const mx_kernel* find_kernel(const char* name) {
  if (std::strcmp(name, "relu") == 0) return &kRelu;
  if (std::strcmp(name, "Flatten") == 0) return &kFlatten;
  return nullptr;
}
int list_kernels(int32_t* n, const char* const** names) {
  static const char* const kNames[] = {"Flatten", "relu"};
  *n = 2;
  *names = kNames;
  return 0;
}
int device_count(int32_t* n, const char**) {
  *n = 1;
  return 0;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int mx_backend_init(const mx_host_api* host, mx_backend_api* out) {
  g_host = host;
  mx_backend_api api{};
  api.struct_size = sizeof(api);
  api.abi_major = MX_BACKEND_ABI_MAJOR;
  api.abi_minor = MX_BACKEND_ABI_MINOR;
  api.name = "konly";
  api.device_type = kDLCPU;
  api.version = "test";
  api.device_count = device_count;
  api.find_kernel = find_kernel;
  api.list_kernels = list_kernels;
  api.kernel_priority = 50;
  const uint32_t n = out->struct_size < sizeof(api) ? out->struct_size : uint32_t(sizeof(api));
  std::memcpy(reinterpret_cast<char*>(out) + 4, reinterpret_cast<char*>(&api) + 4, n - 4);
  out->struct_size = n;
  return 0;
}
