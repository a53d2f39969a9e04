// Several plugins per device type (a kernel-only plugin, priorities, MX_ERR_UNSUPPORTED fallback)
// and ops defined at run time through mx/extension.h (mx_custom_op_register): registration checks,
// inference and kernel errors, gradients through the builder, and a kernel that issues ops of its
// own on the engine's only CPU worker. References: the same ops on the built-in backend, and
// formulas written out here.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "mx/extension.h"
#include "test_util.h"

#ifndef MX_TEST_PLUGIN_DIR
#error "MX_TEST_PLUGIN_DIR must point at the test plugins"
#endif

namespace {

using mx::test::Arr;
using mx::test::invoke1;

const std::string kKonly = std::string(MX_TEST_PLUGIN_DIR) + "/libmx_backend_konly.so";

int konly_runs() {
  void* h = dlopen(kKonly.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (!h) return -1;
  const int* n = static_cast<const int*>(dlsym(h, "konly_relu_runs"));
  const int v = n ? __atomic_load_n(n, __ATOMIC_RELAXED) : -1;
  dlclose(h);
  return v;
}

std::string backend_of(const char* op) {
  const char* name = nullptr;
  if (mx_op_get_backend(op, MX_DEVICE_CPU, &name) != 0) return std::string("error: ") + mx_get_last_error();
  return name;
}

template <typename T>
Arr filled(const std::vector<T>& v, int32_t dtype) {
  Arr a({int64_t(v.size())}, dtype);
  a.set(v);
  return a;
}

TEST(KernelOnlyPlugin, TakesItsOpsByPriorityAndFallsBackOnUnsupported) {
  ASSERT_MX_OK(mx_backend_load(kKonly.c_str()));
  int32_t n = 0;
  ASSERT_MX_OK(mx_backend_count(&n));
  bool seen = false;
  for (int32_t i = 0; i < n; ++i) {
    mx_backend_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    ASSERT_MX_OK(mx_backend_get_info(i, &info));
    if (std::string(info.name) != "konly") continue;
    seen = true;
    EXPECT_EQ(info.failed_step, MX_BACKEND_OK) << info.message;  // not shadowed by the cpu backend
    EXPECT_EQ(info.kernels_only, 1);
    EXPECT_EQ(info.kernel_priority, 50);
  }
  ASSERT_TRUE(seen);
  EXPECT_EQ(backend_of("relu"), "konly");
  EXPECT_EQ(backend_of("exp"), "cpu");  // ops it has no kernel for stay with the built-in backend

  const std::vector<float> x = {-2, -0.5f, 0, 0.25f, 3};
  const int before = konly_runs();
  ASSERT_GE(before, 0);
  Arr x32 = filled(x, MX_FLOAT32);
  EXPECT_EQ(invoke1("relu", {x32.get()}).to_vector<float>(), (std::vector<float>{0, 0, 0, 0.25f, 3}));
  EXPECT_EQ(konly_runs(), before + 1);

  // float64: konly declines with MX_ERR_UNSUPPORTED, the built-in kernel runs it
  Arr x64 = filled(std::vector<double>(x.begin(), x.end()), MX_FLOAT64);
  EXPECT_EQ(invoke1("relu", {x64.get()}).to_vector<double>(), (std::vector<double>{0, 0, 0, 0.25, 3}));
  EXPECT_EQ(konly_runs(), before + 1);

  // another failure is the op's error, not a reason to fall back
  mx_ndarray_t in[1] = {x32.get()};
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  EXPECT_NE(mx_imperative_invoke("Flatten", 1, in, &nout, &outs, 0, nullptr, nullptr), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("konly is broken on purpose"), std::string::npos)
      << mx_get_last_error();

  // a lower priority hands every op back; the kernel cache follows the change
  ASSERT_MX_OK(mx_backend_set_priority("konly", -1));
  EXPECT_EQ(backend_of("relu"), "cpu");
  EXPECT_EQ(invoke1("relu", {x32.get()}).to_vector<float>(), (std::vector<float>{0, 0, 0, 0.25f, 3}));
  EXPECT_EQ(konly_runs(), before + 1);
  EXPECT_EQ(invoke1("Flatten", {x32.get()}).to_vector<float>(), x);

  EXPECT_NE(mx_backend_set_priority("no_such_backend", 1), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
}

// ---------------------------------------------------------------- ops defined in C at run time

int same_shape(void*, mx_ext_infer_args* a) {
  a->out_ndims[0] = a->in_ndims[0];
  for (int32_t d = 0; d < a->in_ndims[0]; ++d) a->out_shapes[0][d] = a->in_shapes[0][d];
  return 0;
}

int64_t count(const DLTensor& t) {
  int64_t n = 1;
  for (int i = 0; i < t.ndim; ++i) n *= t.shape[i];
  return n;
}

int square_create(const mx_kernel_args* a, void** state) {
  *state = nullptr;
  if (a->inputs[0].dtype.code != kDLFloat || (a->inputs[0].dtype.bits != 32 && a->inputs[0].dtype.bits != 64)) {
    mx_custom_op_set_error(MX_ERR_UNSUPPORTED, "test_square: float32 and float64 only");
    return -1;
  }
  return 0;
}
int square_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const int64_t n = count(in[0]);
  if (in[0].dtype.bits == 32)
    for (int64_t i = 0; i < n; ++i) static_cast<float*>(out[0].data)[i] = static_cast<float*>(in[0].data)[i] * static_cast<float*>(in[0].data)[i];
  else
    for (int64_t i = 0; i < n; ++i) static_cast<double*>(out[0].data)[i] = static_cast<double*>(in[0].data)[i] * static_cast<double*>(in[0].data)[i];
  return 0;
}
void no_destroy(void*) {}

// d(x^2) = 2 x dy, as built-in ops
int square_gradient(void*, const mx_ext_grad_args* a) {
  const mx_ext_grad_builder* b = a->builder;
  const int32_t mul_in[2] = {a->out_grads[0], a->inputs[0]};
  const int32_t xdy = b->call(b->self, "elemwise_mul", 2, mul_in, 0, nullptr, nullptr);
  if (xdy < 0) return -1;
  const char* keys[] = {"scalar"};
  const char* vals[] = {"2"};
  a->in_grads[0] = b->call(b->self, "_mul_scalar", 1, &xdy, 1, keys, vals);
  return a->in_grads[0] < 0 ? -1 : 0;
}

mx_kernel kernel_of(const char* name, decltype(mx_kernel::create) c, decltype(mx_kernel::run) r) {
  mx_kernel k{};
  k.struct_size = sizeof(k);
  k.op_name = name;
  k.create = c;
  k.run = r;
  k.destroy = no_destroy;
  return k;
}

const char* const kDataInput[] = {"data"};

mx_ext_op op_def(const char* name, const mx_kernel* cpu) {
  mx_ext_op d{};
  d.struct_size = sizeof(d);
  d.name = name;
  d.doc = "test op";
  d.num_inputs = 1;
  d.input_names = kDataInput;
  d.num_outputs = 1;
  d.infer_shape = same_shape;
  d.cpu_kernel = cpu;
  return d;
}

const mx_kernel kSquare = kernel_of("test_square", square_create, square_run);

TEST(CustomOp, RegisteredFromCRunsWithGradientAndChecksDefinitions) {
  mx_ext_op sq = op_def("test_square", &kSquare);
  sq.gradient = square_gradient;
  ASSERT_MX_OK(mx_custom_op_register(&sq, "extension_test"));
  EXPECT_EQ(backend_of("test_square"), "extension_test");

  const std::vector<double> x = {-1.5, 0.5, 2, 3};
  Arr xa = filled(x, MX_FLOAT64);
  EXPECT_EQ(invoke1("test_square", {xa.get()}).to_vector<double>(), (std::vector<double>{2.25, 0.25, 4, 9}));
  // float16: the op's own kernel declines and no backend has one
  Arr h({4}, MX_FLOAT16);
  mx_ndarray_t hin[1] = {h.get()};
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  EXPECT_NE(mx_imperative_invoke("test_square", 1, hin, &nout, &outs, 0, nullptr, nullptr), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("float32 and float64 only"), std::string::npos) << mx_get_last_error();

  // autograd: d/dx sum(w * x^2) = 2 x w
  Arr g({4}, MX_FLOAT64);
  const int32_t req = 1;  // write
  mx_ndarray_t var = xa.get(), grad = g.get();
  ASSERT_MX_OK(mx_autograd_mark_variables(1, &var, &req, &grad));
  int32_t prev = 0;
  ASSERT_MX_OK(mx_autograd_set_recording(1, &prev));
  Arr y = invoke1("test_square", {xa.get()});
  ASSERT_MX_OK(mx_autograd_set_recording(prev, nullptr));
  const std::vector<double> w = {1, -2, 0.5, 3};
  Arr wa = filled(w, MX_FLOAT64);
  mx_ndarray_t head = y.get(), head_grad = wa.get();
  ASSERT_MX_OK(mx_autograd_backward(1, &head, &head_grad, 0, 0, 1));
  const std::vector<double> got = g.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_DOUBLE_EQ(got[i], 2 * x[i] * w[i]);

  // registration errors name the op and change nothing
  EXPECT_NE(mx_custom_op_register(&sq, "extension_test"), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("clashes with op test_square"), std::string::npos) << mx_get_last_error();
  mx_ext_op relu = op_def("relu", &kSquare);
  EXPECT_NE(mx_custom_op_register(&relu, "extension_test"), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("clashes with the built-in op relu"), std::string::npos);
  mx_ext_op bad = op_def("test_bad", &kSquare);
  bad.infer_shape = nullptr;
  EXPECT_NE(mx_custom_op_register(&bad, "extension_test"), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("infer_shape is required"), std::string::npos);
  bad = op_def("test_bad", nullptr);
  EXPECT_NE(mx_custom_op_register(&bad, "extension_test"), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("no kernel"), std::string::npos);
  bad = op_def("test_bad", &kSquare);
  bad.num_outputs = 0;
  EXPECT_NE(mx_custom_op_register(&bad, "extension_test"), 0);
  bad = op_def(nullptr, &kSquare);
  EXPECT_NE(mx_custom_op_register(&bad, "extension_test"), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  const char* none = nullptr;
  EXPECT_NE(mx_op_get_backend("test_bad", MX_DEVICE_CPU, &none), 0);  // none of them was registered
}

int refusing_infer(void*, mx_ext_infer_args* a) {
  mx_custom_op_set_error(MX_ERR_SHAPE_MISMATCH, (std::string(a->op_name) + ": wants 2 dims").c_str());
  return -1;
}

TEST(CustomOp, InferenceErrorsReachTheCaller) {
  mx_ext_op d = op_def("test_refuses", &kSquare);
  d.infer_shape = refusing_infer;
  ASSERT_MX_OK(mx_custom_op_register(&d, "extension_test"));
  Arr x({3});
  mx_ndarray_t in[1] = {x.get()};
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  EXPECT_NE(mx_imperative_invoke("test_refuses", 1, in, &nout, &outs, 0, nullptr, nullptr), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
  EXPECT_NE(std::string(mx_get_last_error()).find("test_refuses: wants 2 dims"), std::string::npos) << mx_get_last_error();
}

// A kernel that does its work with mx ops of its own (as a Python CustomOp's forward does): on
// the threaded engine's only CPU worker those ops must run inline, or the worker waits for itself.
int relu_via_ops_run(void*, const mx_kernel_ctx*, const DLTensor* in, int32_t, DLTensor* out, int32_t) {
  const int64_t n = count(in[0]);
  mx_ndarray_t tmp = nullptr;
  if (mx_ndarray_create(&n, 1, MX_FLOAT32, MX_DEVICE_CPU, 0, &tmp) != 0) return -1;
  int rc = mx_ndarray_copy_from_host(tmp, in[0].data, size_t(n) * 4);
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  if (rc == 0) rc = mx_imperative_invoke("relu", 1, &tmp, &nout, &outs, 0, nullptr, nullptr);
  if (rc == 0) {
    mx_ndarray_t r = outs[0];
    rc = mx_ndarray_copy_to_host(r, out[0].data, size_t(n) * 4);
    mx_ndarray_free(r);
  }
  if (rc != 0) mx_custom_op_set_error(MX_ERR_INTERNAL, mx_get_last_error());
  mx_ndarray_free(tmp);
  return rc;
}
int float32_only(const mx_kernel_args*, void** state) {
  *state = nullptr;
  return 0;
}
const mx_kernel kReluViaOps = kernel_of("test_relu_via_ops", float32_only, relu_via_ops_run);

TEST(CustomOp, KernelIssuingOpsRunsOnEitherEngine) {
  mx_ext_op d = op_def("test_relu_via_ops", &kReluViaOps);
  ASSERT_MX_OK(mx_custom_op_register(&d, "extension_test"));
  const std::vector<float> x = {-1, 2, -3, 4, 0.5f};
  for (const char* engine : {"threaded", "naive", "threaded"}) {
    ASSERT_MX_OK(mx_engine_set_type(engine));
    Arr xa = filled(x, MX_FLOAT32);
    Arr y = invoke1("test_relu_via_ops", {xa.get()});
    Arr z = invoke1("test_relu_via_ops", {y.get()});  // queued behind the first on the same worker
    EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{0, 2, 0, 4, 0.5f})) << engine;
  }
}

TEST(Library, LoadErrorsNameTheFile) {
  EXPECT_NE(mx_library_load("/nonexistent/libnothing.so", nullptr, nullptr), 0);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
  EXPECT_NE(std::string(mx_get_last_error()).find("/nonexistent/libnothing.so"), std::string::npos);
  // a backend plugin is not an extension library
  EXPECT_NE(mx_library_load(kKonly.c_str(), nullptr, nullptr), 0);
  EXPECT_NE(std::string(mx_get_last_error()).find("not an mx extension library"), std::string::npos)
      << mx_get_last_error();
}

}  // namespace
