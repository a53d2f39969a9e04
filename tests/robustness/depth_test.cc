// Depth: graphs and tapes of a million nodes, through the C API. A chain x -> +1 -> +1 -> ... is
// the deepest graph there is: every recursion over the graph (destruction of shared pointers,
// depth-first walks, JSON, inference, the gradient pass, planning, backward) would take one stack
// frame per node and overflow the default 8 MiB stack long before 10^6. The stack limit is left as
// it is on purpose. The values are checked against the closed form: x + n, gradient 1.
// Also: shapes entering at executor bind are overflow-checked and named.
//
// MX_TEST_DEPTH sets the chains' length; the default is 10^6 (less under sanitizers, below).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "mx/c_api.h"

#define ASSERT_MX_OK(call) ASSERT_EQ((call), 0) << #call << ": " << mx_get_last_error()
#define EXPECT_MX_OK(call) EXPECT_EQ((call), 0) << #call << ": " << mx_get_last_error()

namespace {

// Sanitizers take several times the memory and time; their larger stack frames overflow the stack
// sooner, so a smaller chain still catches any recursion.
#if defined(__SANITIZE_THREAD__)
#define MX_DEPTH_TSAN 1
#elif defined(__SANITIZE_ADDRESS__)
#define MX_DEPTH_ASAN 1
#elif defined(__has_feature)  // clang before 14 defines only these
#if __has_feature(thread_sanitizer)
#define MX_DEPTH_TSAN 1
#elif __has_feature(address_sanitizer)
#define MX_DEPTH_ASAN 1
#endif
#endif
#if defined(MX_DEPTH_TSAN)
constexpr size_t kDefaultDepth = 100000;
#elif defined(MX_DEPTH_ASAN)
constexpr size_t kDefaultDepth = 200000;
#else
constexpr size_t kDefaultDepth = 1000000;
#endif

size_t depth() {
  const char* v = std::getenv("MX_TEST_DEPTH");
  const long n = v ? std::strtol(v, nullptr, 10) : 0;
  return n > 0 ? size_t(n) : kDefaultDepth;
}

// Prints how long each phase of a case took (a regression to quadratic shows up here first).
// Wall time and the process's CPU time (the machine may be shared).
struct Clock {
  std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
  std::clock_t c = std::clock();
  void lap(const char* what) {
    const auto now = std::chrono::steady_clock::now();
    const std::clock_t cnow = std::clock();
    std::printf("  %-28s %8.3f s (cpu %.3f s)\n", what, std::chrono::duration<double>(now - t).count(),
                double(cnow - c) / CLOCKS_PER_SEC);
    std::fflush(stdout);
    t = now;
    c = cnow;
  }
};

std::vector<std::string> names(uint32_t n, const char** p) { return std::vector<std::string>(p, p + n); }

// x followed by n `_plus_scalar` (scalar 1) nodes, composed one at a time with automatic names.
mx_symbol_t plus_chain(size_t n) {
  mx_symbol_t s = nullptr;
  EXPECT_MX_OK(mx_symbol_create_variable("x", &s));
  const char* keys[] = {"scalar"};
  const char* vals[] = {"1"};
  for (size_t i = 0; i < n; ++i) {
    mx_symbol_t op = nullptr;
    if (mx_symbol_create_atomic("_plus_scalar", 1, keys, vals, &op) != 0 ||
        mx_symbol_compose(op, nullptr, 1, nullptr, &s) != 0) {
      ADD_FAILURE() << "node " << i << ": " << mx_get_last_error();
      mx_symbol_free(op);
      return s;
    }
    mx_symbol_free(s);
    s = op;
  }
  return s;
}

std::vector<float> host(mx_ndarray_t a, size_t n) {
  std::vector<float> v(n);
  EXPECT_MX_OK(mx_ndarray_copy_to_host(a, v.data(), n * sizeof(float)));
  return v;
}

mx_ndarray_t array(const std::vector<float>& v) {
  const int64_t shape[] = {int64_t(v.size())};
  mx_ndarray_t a = nullptr;
  EXPECT_MX_OK(mx_ndarray_create(shape, 1, MX_FLOAT32, MX_DEVICE_CPU, 0, &a));
  EXPECT_MX_OK(mx_ndarray_copy_from_host(a, v.data(), v.size() * sizeof(float)));
  return a;
}

// Values that stay exact in float32 after adding up to 10^6 (multiples of 1/4 below 2^21).
const std::vector<float> kX = {0.25f, -3.0f, 7.5f};

// simple_bind of s with the given shape for its argument x, every gradient written.
int simple_bind(mx_symbol_t s, std::vector<int64_t> shape, mx_executor_t* ex) {
  const char* keys[] = {"x"};
  const uint32_t ndims[] = {uint32_t(shape.size())};
  return mx_executor_simple_bind(s, MX_DEVICE_CPU, 0, 1, keys, ndims, shape.data(), 0, nullptr, nullptr, MX_GRAD_WRITE,
                                 0, nullptr, nullptr, ex);
}

// ------------------------------------------------------------------ symbols and executors

TEST(Depth, SymbolChainFree) {
  // Destroying a long chain of nodes (each holding its input) alone.
  const size_t n = depth() / 5;
  mx_symbol_t s = plus_chain(n);
  ASSERT_MX_OK(mx_symbol_free(s));
}

TEST(Depth, SymbolChainBuildInferJsonBindRun) {
  const size_t n = depth();
  Clock clock;
  mx_symbol_t s = plus_chain(n);
  ASSERT_NE(s, nullptr);
  clock.lap("compose");

  uint32_t num = 0;
  const char** out = nullptr;
  ASSERT_MX_OK(mx_symbol_list_arguments(s, &num, &out));
  EXPECT_EQ(names(num, out), std::vector<std::string>{"x"});
  ASSERT_MX_OK(mx_symbol_list_outputs(s, &num, &out));
  ASSERT_EQ(num, 1u);
  EXPECT_EQ(std::string(out[0]).rfind("_plus_scalar", 0), 0u) << out[0];  // an automatic name
  clock.lap("list_arguments / outputs");

  mx_symbol_t internals = nullptr;
  ASSERT_MX_OK(mx_symbol_get_internals(s, &internals));
  uint32_t num_internal = 0;
  ASSERT_MX_OK(mx_symbol_get_num_outputs(internals, &num_internal));
  EXPECT_EQ(num_internal, n + 1);
  ASSERT_MX_OK(mx_symbol_free(internals));
  clock.lap("get_internals");

  {
    const char* keys[] = {"x"};
    const uint32_t ndims[] = {1};
    const int64_t dims[] = {int64_t(kX.size())};
    uint32_t na, no, nx;
    const int32_t *and_, *ond, *xnd;
    const int64_t *const *ad, *const *od, *const *xd;
    int32_t complete = 0;
    ASSERT_MX_OK(
        mx_symbol_infer_shape(s, 1, keys, ndims, dims, 0, &na, &and_, &ad, &no, &ond, &od, &nx, &xnd, &xd, &complete));
    EXPECT_EQ(complete, 1);
    ASSERT_EQ(no, 1u);
    ASSERT_EQ(ond[0], 1);
    EXPECT_EQ(od[0][0], int64_t(kX.size()));
  }
  clock.lap("infer_shape");

  {
    const char* json = nullptr;
    ASSERT_MX_OK(mx_symbol_to_json(s, &json));
    const std::string text = json;
    clock.lap("to_json");
    mx_symbol_t back = nullptr;
    ASSERT_MX_OK(mx_symbol_from_json(text.c_str(), &back));
    clock.lap("from_json");
    ASSERT_MX_OK(mx_symbol_to_json(back, &json));
    EXPECT_TRUE(text == json) << "the JSON of the loaded symbol differs from the saved one";
    ASSERT_MX_OK(mx_symbol_list_arguments(back, &num, &out));
    EXPECT_EQ(names(num, out), std::vector<std::string>{"x"});
    ASSERT_MX_OK(mx_symbol_free(back));
    clock.lap("to_json again, free");
  }

  mx_executor_t ex = nullptr;
  ASSERT_MX_OK(simple_bind(s, {int64_t(kX.size())}, &ex));
  clock.lap("simple_bind");
  // The executor keeps what it needs: the symbol handle can go first.
  ASSERT_MX_OK(mx_symbol_free(s));
  clock.lap("free the symbol");

  uint32_t nargs = 0;
  mx_ndarray_t* handles = nullptr;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_ARGS, &nargs, &handles));
  ASSERT_EQ(nargs, 1u);
  mx_ndarray_t x = handles[0];
  ASSERT_MX_OK(mx_ndarray_copy_from_host(x, kX.data(), kX.size() * sizeof(float)));
  ASSERT_MX_OK(mx_executor_forward(ex, 1));
  ASSERT_MX_OK(mx_executor_backward(ex, 0, nullptr));
  ASSERT_MX_OK(mx_ndarray_wait_all());
  clock.lap("forward + backward");

  uint32_t nout = 0;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &nout, &handles));
  ASSERT_EQ(nout, 1u);
  mx_ndarray_t y = handles[0];
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_GRADS, &nout, &handles));
  ASSERT_EQ(nout, 1u);
  mx_ndarray_t gx = handles[0];
  const auto yv = host(y, kX.size()), gv = host(gx, kX.size());
  for (size_t i = 0; i < kX.size(); ++i) {
    EXPECT_EQ(yv[i], kX[i] + float(n)) << i;
    EXPECT_EQ(gv[i], 1.0f) << i;
  }
  for (mx_ndarray_t a : {x, y, gx}) EXPECT_MX_OK(mx_ndarray_free(a));
  ASSERT_MX_OK(mx_executor_free(ex));
  clock.lap("check, free the executor");
}

TEST(Depth, ChainWithAWeightPerNodeBindsRunsAndBackpropagates) {
  // y = x + w_1 + ... + w_n: n arguments, each with a gradient, so binding checks 2n + 1 arrays
  // (their overlap check was quadratic: 10^5 weights took about 40 s, 10^6 about an hour).
  const size_t n = depth() / 10;
  Clock clock;
  mx_symbol_t s = nullptr;
  ASSERT_MX_OK(mx_symbol_create_variable("x", &s));
  for (size_t i = 0; i < n; ++i) {
    mx_symbol_t op = nullptr, w = nullptr;
    char name[32];
    std::snprintf(name, sizeof name, "w%zu", i);
    ASSERT_MX_OK(mx_symbol_create_variable(name, &w));
    ASSERT_MX_OK(mx_symbol_create_atomic("elemwise_add", 0, nullptr, nullptr, &op));
    mx_symbol_t in[] = {s, w};
    ASSERT_MX_OK(mx_symbol_compose(op, nullptr, 2, nullptr, in));
    ASSERT_MX_OK(mx_symbol_free(s));
    ASSERT_MX_OK(mx_symbol_free(w));
    s = op;
  }
  clock.lap("compose");
  mx_executor_t ex = nullptr;
  ASSERT_MX_OK(simple_bind(s, {int64_t(kX.size())}, &ex));
  ASSERT_MX_OK(mx_symbol_free(s));
  clock.lap("simple_bind");
  uint32_t nargs = 0;
  mx_ndarray_t* handles = nullptr;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_ARGS, &nargs, &handles));
  ASSERT_EQ(nargs, n + 1);
  const std::vector<mx_ndarray_t> args(handles, handles + nargs);
  const std::vector<float> one(kX.size(), 1.0f);
  ASSERT_MX_OK(mx_ndarray_copy_from_host(args[0], kX.data(), kX.size() * sizeof(float)));
  for (size_t i = 1; i <= n; ++i) ASSERT_MX_OK(mx_ndarray_copy_from_host(args[i], one.data(), one.size() * sizeof(float)));
  ASSERT_MX_OK(mx_executor_forward(ex, 1));
  ASSERT_MX_OK(mx_executor_backward(ex, 0, nullptr));
  ASSERT_MX_OK(mx_ndarray_wait_all());
  clock.lap("forward + backward");
  uint32_t nout = 0;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &nout, &handles));
  ASSERT_EQ(nout, 1u);
  const auto y = host(handles[0], kX.size());
  ASSERT_MX_OK(mx_ndarray_free(handles[0]));
  for (size_t j = 0; j < kX.size(); ++j) EXPECT_EQ(y[j], kX[j] + float(n)) << j;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_GRADS, &nout, &handles));
  ASSERT_EQ(nout, n + 1);
  const std::vector<mx_ndarray_t> grads(handles, handles + nout);
  for (size_t i : {size_t(0), size_t(1), n / 2, n})
    EXPECT_EQ(host(grads[i], kX.size()), one) << "gradient of argument " << i;
  for (mx_ndarray_t a : args) EXPECT_MX_OK(mx_ndarray_free(a));
  for (mx_ndarray_t g : grads) EXPECT_MX_OK(mx_ndarray_free(g));
  ASSERT_MX_OK(mx_executor_free(ex));
  clock.lap("check, free");
}

TEST(Depth, ComposingASymbolIntoItsOwnGraphIsAnError) {
  // op(x, op) would make op its own input: a graph that binds and runs wrong and is never freed.
  mx_symbol_t x = nullptr, op = nullptr, y = nullptr, z = nullptr;
  ASSERT_MX_OK(mx_symbol_create_variable("x", &x));
  ASSERT_MX_OK(mx_symbol_create_atomic("elemwise_add", 0, nullptr, nullptr, &op));
  mx_symbol_t self[] = {x, op};
  EXPECT_EQ(mx_symbol_compose(op, "add", 2, nullptr, self), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mx_get_last_error()).find("cycle"), std::string::npos) << mx_get_last_error();
  // Through another node: y = relu(op), then op(x, y).
  ASSERT_MX_OK(mx_symbol_create_atomic("relu", 0, nullptr, nullptr, &y));
  ASSERT_MX_OK(mx_symbol_compose(y, "r", 1, nullptr, &op));
  mx_symbol_t via[] = {x, y};
  EXPECT_EQ(mx_symbol_compose(op, "add", 2, nullptr, via), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("cycle"), std::string::npos) << mx_get_last_error();
  // The process keeps working: op composes with proper inputs.
  ASSERT_MX_OK(mx_symbol_create_variable("z", &z));
  mx_symbol_t good[] = {x, z};
  ASSERT_MX_OK(mx_symbol_compose(op, "add", 2, nullptr, good));
  uint32_t num = 0;
  const char** names_out = nullptr;
  ASSERT_MX_OK(mx_symbol_list_arguments(op, &num, &names_out));
  EXPECT_EQ(names(num, names_out), (std::vector<std::string>{"x", "z"}));
  for (mx_symbol_t h : {x, op, y, z}) EXPECT_MX_OK(mx_symbol_free(h));
}

TEST(Depth, DeeplyNestedJsonIsAnError) {
  // Nesting where the document, a node and an attribute belong (deep enough for any recursive
  // parser or destructor to overflow the stack).
  const size_t n = depth() / 5;
  const std::string open(n, '['), close(n, ']');
  for (const std::string& text : {open + close, "{\"nodes\": " + open + close + ", \"heads\": [[0, 0, 0]]}",
                                  "{\"nodes\": [{\"op\": \"null\", \"name\": \"x\", \"attrs\": {\"a\": " + open +
                                      close + "}, \"inputs\": []}], \"heads\": [[0, 0, 0]]}"}) {
    mx_symbol_t s = nullptr;
    EXPECT_EQ(mx_symbol_from_json(text.c_str(), &s), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT) << mx_get_last_error();
    EXPECT_EQ(s, nullptr);
  }
}

TEST(Depth, CachedOpOnAChain) {
  // CachedOp binds an executor per call (no static_alloc) and, while recording, runs op by op.
  const size_t n = depth() / 5;
  mx_symbol_t s = plus_chain(n);
  mx_cached_op_t op = nullptr;
  ASSERT_MX_OK(mx_cached_op_create(s, 0, nullptr, nullptr, &op));
  ASSERT_MX_OK(mx_symbol_free(s));
  mx_ndarray_t x = array(kX);
  uint32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  ASSERT_MX_OK(mx_cached_op_invoke(op, 1, &x, &nout, &outs));
  ASSERT_EQ(nout, 1u);
  mx_ndarray_t y = outs[0];
  const auto yv = host(y, kX.size());
  for (size_t i = 0; i < kX.size(); ++i) EXPECT_EQ(yv[i], kX[i] + float(n)) << i;
  EXPECT_MX_OK(mx_ndarray_free(y));

  // Recorded: the tape gets n nodes; backward through them, then everything is freed.
  mx_ndarray_t gx = array(std::vector<float>(kX.size(), -1.0f));
  const int32_t req = MX_GRAD_WRITE;
  ASSERT_MX_OK(mx_autograd_mark_variables(1, &x, &req, &gx));
  ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
  const int rc = mx_cached_op_invoke(op, 1, &x, &nout, &outs);
  ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
  ASSERT_EQ(rc, 0) << mx_get_last_error();
  y = outs[0];
  ASSERT_MX_OK(mx_autograd_backward(1, &y, nullptr, 0, 0, 1));
  const auto gv = host(gx, kX.size());
  for (size_t i = 0; i < kX.size(); ++i) EXPECT_EQ(gv[i], 1.0f) << i;
  EXPECT_MX_OK(mx_ndarray_free(y));
  EXPECT_MX_OK(mx_cached_op_free(op));
  EXPECT_MX_OK(mx_ndarray_free(x));
  EXPECT_MX_OK(mx_ndarray_free(gx));
}

// ------------------------------------------------------------------ autograd tapes

// Records y = x + 1 + 1 + ... (n ops) with x marked; returns y (x and its gradient buffer out).
mx_ndarray_t record_chain(size_t n, mx_ndarray_t* x, mx_ndarray_t* gx) {
  *x = array(kX);
  *gx = array(std::vector<float>(kX.size(), -1.0f));
  const int32_t req = MX_GRAD_WRITE;
  EXPECT_MX_OK(mx_autograd_mark_variables(1, x, &req, gx));
  EXPECT_MX_OK(mx_autograd_set_recording(1, nullptr));
  const char* keys[] = {"scalar"};
  const char* vals[] = {"1"};
  mx_ndarray_t y = *x;
  for (size_t i = 0; i < n; ++i) {
    int32_t nout = 0;
    mx_ndarray_t* outs = nullptr;
    if (mx_imperative_invoke("_plus_scalar", 1, &y, &nout, &outs, 1, keys, vals) != 0) {
      ADD_FAILURE() << "op " << i << ": " << mx_get_last_error();
      break;
    }
    if (y != *x) mx_ndarray_free(y);  // the tape keeps what backward needs
    y = outs[0];
  }
  EXPECT_MX_OK(mx_autograd_set_recording(0, nullptr));
  return y;
}

TEST(Depth, TapeFreedWithoutBackward) {
  const size_t n = depth() / 5;
  mx_ndarray_t x, gx;
  mx_ndarray_t y = record_chain(n, &x, &gx);
  ASSERT_MX_OK(mx_ndarray_free(y));  // the last reference to the whole tape
  ASSERT_MX_OK(mx_ndarray_free(x));
  ASSERT_MX_OK(mx_ndarray_free(gx));
  ASSERT_MX_OK(mx_ndarray_wait_all());
}

TEST(Depth, TapeRecordBackwardFree) {
  const size_t n = depth();
  Clock clock;
  mx_ndarray_t x, gx;
  mx_ndarray_t y = record_chain(n, &x, &gx);
  clock.lap("record");
  // retain_graph: the tape stays whole, so freeing y below destroys all of it.
  ASSERT_MX_OK(mx_autograd_backward(1, &y, nullptr, 1, 0, 1));
  const auto gv = host(gx, kX.size()), yv = host(y, kX.size());
  clock.lap("backward");
  for (size_t i = 0; i < kX.size(); ++i) {
    EXPECT_EQ(yv[i], kX[i] + float(n)) << i;
    EXPECT_EQ(gv[i], 1.0f) << i;
  }
  // A second backward, this time freeing the graph's saved values as it goes.
  const std::vector<float> minus(kX.size(), -1.0f);
  ASSERT_MX_OK(mx_ndarray_copy_from_host(gx, minus.data(), minus.size() * sizeof(float)));
  ASSERT_MX_OK(mx_autograd_backward(1, &y, nullptr, 1, 0, 1));
  EXPECT_EQ(host(gx, kX.size()), std::vector<float>(kX.size(), 1.0f));
  clock.lap("backward again");
  ASSERT_MX_OK(mx_ndarray_free(y));
  ASSERT_MX_OK(mx_ndarray_free(x));
  ASSERT_MX_OK(mx_ndarray_free(gx));
  ASSERT_MX_OK(mx_ndarray_wait_all());
  clock.lap("free");
}

// ------------------------------------------------------------------ shapes entering at bind

void expect_error_naming(int rc, int32_t code, const std::string& what) {
  EXPECT_EQ(rc, -1);
  EXPECT_EQ(mx_get_last_error_code(), code) << mx_get_last_error();
  EXPECT_NE(std::string(mx_get_last_error()).find(what), std::string::npos) << mx_get_last_error();
}

mx_symbol_t relu_of_x() {
  mx_symbol_t x = nullptr, r = nullptr;
  EXPECT_MX_OK(mx_symbol_create_variable("x", &x));
  const char* keys[] = {"act_type"};
  const char* vals[] = {"relu"};
  EXPECT_MX_OK(mx_symbol_create_atomic("Activation", 1, keys, vals, &r));
  EXPECT_MX_OK(mx_symbol_compose(r, "act", 1, nullptr, &x));
  EXPECT_MX_OK(mx_symbol_free(x));
  return r;
}

TEST(Bind, OverflowingShapesAreErrorsNamingTheArgument) {
  mx_symbol_t s = relu_of_x();
  mx_executor_t ex = nullptr;
  const int64_t big = int64_t(1) << 32;
  expect_error_naming(simple_bind(s, {big, big}, &ex), MX_ERR_INVALID_ARGUMENT, "'x'");
  EXPECT_EQ(ex, nullptr);
  // Elements fit in int64 but bytes do not: (2^31, 2^31) float32 is 2^64 bytes.
  expect_error_naming(simple_bind(s, {int64_t(1) << 31, int64_t(1) << 31}, &ex), MX_ERR_INVALID_ARGUMENT, "'x'");
  expect_error_naming(simple_bind(s, std::vector<int64_t>(33, 1), &ex), MX_ERR_INVALID_ARGUMENT, "'x'");
  expect_error_naming(simple_bind(s, {2, -3}, &ex), MX_ERR_INVALID_ARGUMENT, "'x'");

  // A variable alone (no op whose inference would check its output).
  mx_symbol_t x = nullptr;
  ASSERT_MX_OK(mx_symbol_create_variable("x", &x));
  expect_error_naming(simple_bind(x, {big, big}, &ex), MX_ERR_INVALID_ARGUMENT, "'x'");

  // The same shape from a __shape__ attribute.
  ASSERT_MX_OK(mx_symbol_set_attr(x, "__shape__", "(4294967296,4294967296)"));
  expect_error_naming(mx_executor_simple_bind(x, MX_DEVICE_CPU, 0, 0, nullptr, nullptr, nullptr, 0, nullptr, nullptr,
                                              MX_GRAD_WRITE, 0, nullptr, nullptr, &ex),
                      MX_ERR_INVALID_ARGUMENT, "'x'");
  ASSERT_MX_OK(mx_symbol_free(x));

  // The process keeps working: a good bind right after.
  ASSERT_MX_OK(simple_bind(s, {2, 3}, &ex));
  mx_ndarray_t* arrs = nullptr;
  uint32_t num = 0;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_ARGS, &num, &arrs));
  mx_ndarray_t in = arrs[0];
  const std::vector<float> v = {-1, 2, -3, 4, -5, 6};
  ASSERT_MX_OK(mx_ndarray_copy_from_host(in, v.data(), v.size() * sizeof(float)));
  ASSERT_MX_OK(mx_executor_forward(ex, 0));
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &num, &arrs));
  mx_ndarray_t y = arrs[0];
  EXPECT_EQ(host(y, 6), (std::vector<float>{0, 2, 0, 4, 0, 6}));

  // reshape to an overflowing shape: an error naming the argument; the executor still works.
  mx_executor_t bigger = nullptr;
  const char* keys[] = {"x"};
  const uint32_t ndims[] = {2};
  const int64_t dims[] = {big, big};
  expect_error_naming(mx_executor_reshape(ex, 1, keys, ndims, dims, 1, &bigger), MX_ERR_INVALID_ARGUMENT, "'x'");
  ASSERT_MX_OK(mx_executor_forward(ex, 0));
  EXPECT_EQ(host(y, 6), (std::vector<float>{0, 2, 0, 4, 0, 6}));
  for (mx_ndarray_t a : {in, y}) EXPECT_MX_OK(mx_ndarray_free(a));
  ASSERT_MX_OK(mx_executor_free(ex));
  ASSERT_MX_OK(mx_symbol_free(s));
}

TEST(Bind, ArraysWhoseShapesDisagree) {
  // elemwise_add(a, b) bound with a (2,3) and b (3,2): an error naming both, then a good bind.
  mx_symbol_t a = nullptr, b = nullptr, add = nullptr;
  ASSERT_MX_OK(mx_symbol_create_variable("a", &a));
  ASSERT_MX_OK(mx_symbol_create_variable("b", &b));
  ASSERT_MX_OK(mx_symbol_create_atomic("elemwise_add", 0, nullptr, nullptr, &add));
  mx_symbol_t in[] = {a, b};
  ASSERT_MX_OK(mx_symbol_compose(add, "add", 2, nullptr, in));
  const int64_t s23[] = {2, 3}, s32[] = {3, 2};
  mx_ndarray_t args[2] = {};
  ASSERT_MX_OK(mx_ndarray_create(s23, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &args[0]));
  ASSERT_MX_OK(mx_ndarray_create(s32, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &args[1]));
  mx_executor_t ex = nullptr;
  const int rc = mx_executor_bind(add, MX_DEVICE_CPU, 0, 2, args, nullptr, nullptr, 0, nullptr, &ex);
  expect_error_naming(rc, MX_ERR_SHAPE_MISMATCH, "(3,2)");
  EXPECT_NE(std::string(mx_get_last_error()).find("(2,3)"), std::string::npos) << mx_get_last_error();
  ASSERT_MX_OK(mx_ndarray_free(args[1]));
  ASSERT_MX_OK(mx_ndarray_create(s23, 2, MX_FLOAT32, MX_DEVICE_CPU, 0, &args[1]));
  const std::vector<float> va = {1, 2, 3, 4, 5, 6}, vb = {10, 20, 30, 40, 50, 60};
  ASSERT_MX_OK(mx_ndarray_copy_from_host(args[0], va.data(), 24));
  ASSERT_MX_OK(mx_ndarray_copy_from_host(args[1], vb.data(), 24));
  ASSERT_MX_OK(mx_executor_bind(add, MX_DEVICE_CPU, 0, 2, args, nullptr, nullptr, 0, nullptr, &ex));
  ASSERT_MX_OK(mx_executor_forward(ex, 0));
  uint32_t num = 0;
  mx_ndarray_t* outs = nullptr;
  ASSERT_MX_OK(mx_executor_arrays(ex, MX_EXECUTOR_OUTPUTS, &num, &outs));
  mx_ndarray_t y = outs[0];
  EXPECT_EQ(host(y, 6), (std::vector<float>{11, 22, 33, 44, 55, 66}));
  EXPECT_MX_OK(mx_ndarray_free(y));
  EXPECT_MX_OK(mx_executor_free(ex));
  for (mx_ndarray_t h : args) EXPECT_MX_OK(mx_ndarray_free(h));
  for (mx_symbol_t h : {a, b, add}) EXPECT_MX_OK(mx_symbol_free(h));
}

}  // namespace
