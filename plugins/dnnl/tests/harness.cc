#include "harness.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace harness {
namespace {

thread_local HostError t_error;

void host_log(int32_t level, const char* backend, const char* message) {
  if (level >= MX_LOG_WARNING) std::fprintf(stderr, "[%s] %s\n", backend ? backend : "?", message ? message : "");
}
void host_set_error(int32_t code, const char* message) { t_error = {code, message ? message : ""}; }
int32_t host_threads() { return 2; }

const mx_host_api kHost = {sizeof(mx_host_api), MX_BACKEND_ABI_MAJOR, MX_BACKEND_ABI_MINOR, host_log, host_set_error,
                           host_threads};
mx_backend_api g_api;

DLDataType dl_type(int32_t dtype) {
  switch (dtype) {
    case MX_FLOAT64: return {kDLFloat, 64, 1};
    case MX_FLOAT16: return {kDLFloat, 16, 1};
    case MX_BFLOAT16: return {kDLBfloat, 16, 1};
  }
  return {kDLFloat, 32, 1};
}

struct Built {
  Attrs attrs;
  std::vector<DLTensor> in, out;
  std::vector<const char*> keys, vals;
  mx_kernel_args args{};
  const mx_kernel* kernel = nullptr;
};

// The schemas' defaults (core/op/defs): the host hands a kernel every param, defaulted.
Attrs with_defaults(const std::string& op, const Attrs& given) {
  static const Attrs conv = {{"stride", "()"}, {"dilate", "()"}, {"pad", "()"}, {"num_group", "1"}, {"no_bias", "False"},
                             {"workspace", "1024"}, {"cudnn_tune", "None"}, {"cudnn_off", "False"}, {"layout", "None"}};
  static const Attrs pool = {{"kernel", "()"}, {"pool_type", "max"}, {"global_pool", "False"},
                             {"pooling_convention", "valid"}, {"stride", "()"}, {"pad", "()"},
                             {"count_include_pad", "True"}, {"cudnn_off", "False"}, {"layout", "None"}};
  Attrs all;
  if (op == "Convolution" || op == "_conv_backward_data" || op == "_conv_backward_weight") all = conv;
  if (op == "Deconvolution") {
    all = conv;
    all[4].second = "True";  // no_bias
    all.push_back({"adj", "()"});
    all.push_back({"target_shape", "()"});
  }
  if (op == "Pooling" || op == "_pooling_backward") all = pool;
  if (op == "FullyConnected") all = {{"no_bias", "False"}, {"flatten", "True"}};
  if (op == "dot" || op == "batch_dot") all = {{"transpose_a", "False"}, {"transpose_b", "False"}, {"forward_stype", "None"}};
  if (op == "BatchNorm")
    all = {{"eps", "0.001"}, {"momentum", "0.9"}, {"fix_gamma", "True"}, {"use_global_stats", "False"},
           {"output_mean_var", "False"}, {"axis", "1"}, {"cudnn_off", "False"}};
  if (op == "LayerNorm") all = {{"axis", "-1"}, {"eps", "1e-05"}, {"output_mean_var", "False"}};
  if (op == "softmax" || op == "log_softmax") all = {{"axis", "-1"}, {"temperature", "1"}};
  for (auto& [k, v] : given) {
    bool found = false;
    for (auto& [k2, v2] : all)
      if (k2 == k) v2 = v, found = true;
    if (!found) all.push_back({k, v});
  }
  return all;
}

void build(Built& b, const std::string& op, const Attrs& given, std::vector<Tensor>& in, std::vector<Tensor>& out) {
  b.attrs = with_defaults(op, given);
  for (auto& t : in) b.in.push_back(t.dl());
  for (auto& t : out) b.out.push_back(t.dl());
  for (auto& [k, v] : b.attrs) b.keys.push_back(k.c_str()), b.vals.push_back(v.c_str());
  b.args = {sizeof(mx_kernel_args), op.c_str(), int32_t(b.attrs.size()), b.keys.data(), b.vals.data(),
            int32_t(b.in.size()), b.in.data(), int32_t(b.out.size()), b.out.data(), 0};
  b.kernel = g_api.find_kernel(op.c_str());
}

}  // namespace

const mx_backend_api& api() { return g_api; }

HostError last_error() { return t_error; }

Tensor::Tensor(Shape s, int32_t dt, const Vec& values) : shape(std::move(s)), dtype(dt) {
  const int64_t bytes = size() * (dt == MX_FLOAT64 ? 8 : dt == MX_FLOAT32 ? 4 : 2);
  storage.assign(size_t(bytes + 7) / 8, 0);
  for (size_t i = 0; i < values.size() && int64_t(i) < size(); ++i) {
    char* p = reinterpret_cast<char*>(storage.data());
    const double v = values[i];
    if (dt == MX_FLOAT64) reinterpret_cast<double*>(p)[i] = v;
    else if (dt == MX_FLOAT32) reinterpret_cast<float*>(p)[i] = float(v);
    else if (dt == MX_BFLOAT16) reinterpret_cast<uint16_t*>(p)[i] = ref::bf16_bits(v);
    else reinterpret_cast<uint16_t*>(p)[i] = 0;  // float16: only used to see it refused
  }
}

Tensor random(const Shape& s, int32_t dtype, double lo, double hi, uint64_t seed) {
  Tensor t(s, dtype);
  return Tensor(s, dtype, ref::uniform(size_t(t.size()), lo, hi, seed));
}

int64_t Tensor::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Vec Tensor::values() const {
  Vec v(static_cast<size_t>(size()));
  const char* p = reinterpret_cast<const char*>(storage.data());
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == MX_FLOAT64) v[i] = reinterpret_cast<const double*>(p)[i];
    else if (dtype == MX_FLOAT32) v[i] = reinterpret_cast<const float*>(p)[i];
    else v[i] = ref::from_bf16_bits(reinterpret_cast<const uint16_t*>(p)[i]);
  }
  return v;
}

DLTensor Tensor::dl() {
  DLTensor t{};
  t.data = storage.data();
  t.device = {kDLCPU, 0};
  t.ndim = int32_t(shape.size());
  t.dtype = dl_type(dtype);
  t.shape = shape.data();
  return t;
}

int try_run(const std::string& op, const Attrs& attrs, std::vector<Tensor>& in, std::vector<Tensor>& out, bool train) {
  Built b;
  build(b, op, attrs, in, out);
  if (!b.kernel) {
    t_error = {MX_ERR_NOT_FOUND, "the plugin has no kernel " + op};
    return -1;
  }
  void* state = nullptr;
  // create() sees shapes only, as from the host.
  std::vector<DLTensor> shapes_in = b.in, shapes_out = b.out;
  for (auto& t : shapes_in) t.data = nullptr;
  for (auto& t : shapes_out) t.data = nullptr;
  mx_kernel_args args = b.args;
  args.inputs = shapes_in.data();
  args.outputs = shapes_out.data();
  if (b.kernel->create(&args, &state) != 0) return -1;
  const uint64_t ws = b.kernel->workspace_bytes ? b.kernel->workspace_bytes(state) : 0;
  std::vector<uint64_t> temp(size_t(ws + 7) / 8 + 1);
  mx_kernel_ctx ctx{};
  ctx.struct_size = sizeof(ctx);
  ctx.temp_space = temp.data();
  ctx.temp_bytes = ws;
  ctx.is_train = train;
  const int rc = b.kernel->run(state, &ctx, b.in.data(), int32_t(b.in.size()), b.out.data(), int32_t(b.out.size()));
  b.kernel->destroy(state);
  EXPECT_EQ(rc, 0) << op << ": run failed: " << t_error.message;
  return 0;
}

void run(const std::string& op, const Attrs& attrs, std::vector<Tensor>& in, std::vector<Tensor>& out, bool train) {
  ASSERT_EQ(try_run(op, attrs, in, out, train), 0) << op << ": create failed: " << t_error.message;
}

void expect_unsupported(const std::string& op, const Attrs& attrs, std::vector<Tensor> in, std::vector<Tensor> out) {
  std::string what = op;
  for (auto& [k, v] : attrs) what += " " + k + "=" + v;
  ASSERT_EQ(try_run(op, attrs, in, out), -1) << what << " should be refused";
  EXPECT_EQ(t_error.code, MX_ERR_UNSUPPORTED) << what << ": " << t_error.message;
  EXPECT_NE(t_error.message.find(op), std::string::npos) << t_error.message;
}

void expect_close(const Vec& got, const Vec& want, int32_t dtype, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  const double rtol = dtype == MX_BFLOAT16 ? 1.6e-2 : 1e-5, atol = (dtype == MX_BFLOAT16 ? 1.6e-3 : 1e-5) * scale;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << what << " at element " << i << " of " << got.size();
}

std::string tuple(std::initializer_list<int64_t> v) {
  std::string s = "(";
  for (int64_t x : v) s += std::to_string(x) + ",";
  if (v.size() > 1) s.pop_back();
  return s + ")";
}

}  // namespace harness

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <path of libmx_backend_dnnl.so>\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    std::fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
    return 2;
  }
  auto init = reinterpret_cast<mx_backend_init_fn>(dlsym(lib, MX_BACKEND_ENTRY_SYMBOL));
  std::memset(&harness::g_api, 0, sizeof(harness::g_api));
  harness::g_api.struct_size = sizeof(harness::g_api);
  if (!init || init(&harness::kHost, &harness::g_api) != 0) {
    std::fprintf(stderr, "%s: mx_backend_init failed: %s\n", argv[1], harness::t_error.message.c_str());
    return 2;
  }
  return RUN_ALL_TESTS();
}
