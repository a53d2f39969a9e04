// The oneDNN plugin inside libmx (only the C API; run with MX_BACKEND_PATH naming the plugin):
// found as a kernel-only CPU plugin that outranks the built-in backend; priorities decide who
// serves an op; calls it serves give the references' values, float32 and bfloat16, forward and
// through autograd (the gradient ops it serves: _conv_backward_data / _weight, _pooling_backward,
// dot); calls it hands back (float64, sum pooling, softsign, LayerNorm on another axis) run on
// the built-in backend. That the plugin really ran is oneDNN's own word: its verbose log of
// executed primitives, switched on in this process.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <mx/c_api.h>

#include "reference.h"

namespace {

using ref::Vec;
using Shape = std::vector<int64_t>;
using Attrs = std::vector<std::pair<std::string, std::string>>;

#define ASSERT_MX(call) ASSERT_EQ((call), 0) << mx_get_last_error()
#define EXPECT_MX(call) EXPECT_EQ((call), 0) << mx_get_last_error()

// An owned NDArray on cpu(0).
class Array {
 public:
  Array() = default;
  explicit Array(mx_ndarray_t h) : h_(h) {}
  // float32 / float64 values; bfloat16 arrays are made by casting a float32 one.
  Array(const Shape& s, const Vec& v, int32_t dtype);
  Array(Array&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  Array& operator=(Array&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~Array() { mx_ndarray_free(h_); }
  mx_ndarray_t get() const { return h_; }
  Vec values() const;  // as float64, whatever the dtype

 private:
  mx_ndarray_t h_ = nullptr;
};

std::vector<Array> invoke(const std::string& op, const std::vector<const Array*>& in, const Attrs& attrs) {
  std::vector<mx_ndarray_t> h;
  for (const Array* a : in) h.push_back(a->get());
  std::vector<const char*> k, v;
  for (auto& [key, val] : attrs) k.push_back(key.c_str()), v.push_back(val.c_str());
  int32_t n = 0;
  mx_ndarray_t* outs = nullptr;
  std::vector<Array> result;
  if (mx_imperative_invoke(op.c_str(), int32_t(h.size()), h.data(), &n, &outs, int32_t(k.size()), k.data(), v.data()) != 0) {
    ADD_FAILURE() << op << ": " << mx_get_last_error();
    return result;
  }
  for (int32_t i = 0; i < n; ++i) result.emplace_back(outs[i]);
  return result;
}

Array invoke1(const std::string& op, const std::vector<const Array*>& in, const Attrs& attrs) {
  std::vector<Array> all = invoke(op, in, attrs);
  return all.empty() ? Array() : std::move(all[0]);
}

Array::Array(const Shape& s, const Vec& v, int32_t dtype) {
  const int32_t made = dtype == MX_FLOAT64 ? MX_FLOAT64 : MX_FLOAT32;
  EXPECT_MX(mx_ndarray_create(s.data(), int32_t(s.size()), made, MX_DEVICE_CPU, 0, &h_));
  if (made == MX_FLOAT64) {
    EXPECT_MX(mx_ndarray_copy_from_host(h_, v.data(), v.size() * sizeof(double)));
  } else {
    const std::vector<float> f(v.begin(), v.end());
    EXPECT_MX(mx_ndarray_copy_from_host(h_, f.data(), f.size() * sizeof(float)));
  }
  if (dtype == MX_BFLOAT16) *this = invoke1("Cast", {this}, {{"dtype", "bfloat16"}});
}

Vec Array::values() const {
  int32_t dtype = 0;
  int64_t n = 0;
  EXPECT_MX(mx_ndarray_get_dtype(h_, &dtype));
  EXPECT_MX(mx_ndarray_get_size(h_, &n));
  if (dtype == MX_FLOAT64) {
    Vec v(static_cast<size_t>(n));
    EXPECT_MX(mx_ndarray_copy_to_host(h_, v.data(), v.size() * sizeof(double)));
    return v;
  }
  if (dtype != MX_FLOAT32) return invoke1("Cast", {this}, {{"dtype", "float32"}}).values();
  std::vector<float> f(static_cast<size_t>(n));
  EXPECT_MX(mx_ndarray_copy_to_host(h_, f.data(), f.size() * sizeof(float)));
  return Vec(f.begin(), f.end());
}

Array random(const Shape& s, int32_t dtype, double lo, double hi, uint64_t seed) {
  size_t n = 1;
  for (int64_t d : s) n *= size_t(d);
  return Array(s, ref::uniform(n, lo, hi, seed), dtype);
}

void expect_close(const Vec& got, const Vec& want, int32_t dtype, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  const double rtol = dtype == MX_BFLOAT16 ? 1.6e-2 : dtype == MX_FLOAT32 ? 1e-5 : 1e-12;
  const double atol = (dtype == MX_BFLOAT16 ? 1.6e-3 : dtype == MX_FLOAT32 ? 1e-5 : 1e-12) * scale;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], atol + rtol * std::fabs(want[i])) << what << " at element " << i;
}

// ---------------------------------------------------------------- oneDNN's record of executions

// Captures this process's stdout while oneDNN's verbose mode prints one line per executed
// primitive ("onednn_verbose,exec,cpu,convolution,...,backward_data,...").
class DnnlLog {
 public:
  DnnlLog() {
    int32_t n = 0;
    EXPECT_MX(mx_backend_count(&n));  // loads the plugins, and with ours oneDNN
    void* lib = dlopen("libdnnl.so.2", RTLD_NOW | RTLD_NOLOAD);
    set_verbose_ = lib ? reinterpret_cast<int (*)(int)>(dlsym(lib, "dnnl_set_verbose")) : nullptr;
    EXPECT_NE(set_verbose_, nullptr) << "oneDNN is not loaded in this process: is the plugin?";
    std::fflush(stdout);
    saved_ = dup(STDOUT_FILENO);
    std::snprintf(path_, sizeof(path_), "/tmp/dnnl_host_test_XXXXXX");
    const int fd = mkstemp(path_);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    if (set_verbose_) set_verbose_(1);
  }
  // Everything oneDNN executed since construction (waits for the engine first).
  std::string stop() {
    EXPECT_MX(mx_ndarray_wait_all());
    if (set_verbose_) set_verbose_(0);
    std::fflush(stdout);
    dup2(saved_, STDOUT_FILENO);
    close(saved_);
    std::ifstream f(path_);
    std::stringstream ss;
    ss << f.rdbuf();
    std::remove(path_);
    return ss.str();
  }

 private:
  int (*set_verbose_)(int) = nullptr;
  int saved_ = -1;
  char path_[64];
};

// Whether the log shows an execution of `primitive` (a prefix: "pooling" covers "pooling_v2")
// with propagation kind `prop` ("forward_training", "backward_data", ...; "" for any).
bool executed(const std::string& log, const std::string& primitive, const std::string& prop = "") {
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("onednn_verbose,exec,cpu," + primitive, 0) == 0 &&
        (prop.empty() || line.find("," + prop + ",") != std::string::npos))
      return true;
  return false;
}

// oneDNN 2.x's bfloat16 kernels need AVX-512 (its avx512_core ISA); below it bfloat16 calls fall back
// to the built-in backend, so only float32 is expected on oneDNN there.
bool cpu_has_bfloat16_kernels() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
}
std::vector<int32_t> served() {
  if (cpu_has_bfloat16_kernels()) return {MX_FLOAT32, MX_BFLOAT16};
  return {MX_FLOAT32};
}
const char* name(int32_t dt) { return dt == MX_FLOAT32 ? "float32" : dt == MX_BFLOAT16 ? "bfloat16" : "float64"; }

// ---------------------------------------------------------------- registry

TEST(Registry, DnnlIsAKernelOnlyCpuPluginAheadOfTheBuiltInBackend) {
  int32_t n = 0;
  ASSERT_MX(mx_backend_count(&n));
  bool found = false;
  for (int32_t i = 0; i < n; ++i) {
    mx_backend_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    ASSERT_MX(mx_backend_get_info(i, &info));
    if (std::strcmp(info.name, "dnnl") != 0) continue;
    // Another copy of the plugin (the installed one, with MX_BACKEND_PATH naming the built one)
    // is shadowed by the first: same file name, same plugin.
    if (info.failed_step == MX_BACKEND_STEP_SHADOWED) continue;
    EXPECT_FALSE(found) << "two usable backends called dnnl";
    found = true;
    EXPECT_EQ(info.failed_step, MX_BACKEND_OK) << info.message;
    EXPECT_EQ(info.device_type, MX_DEVICE_CPU);
    EXPECT_EQ(info.kernels_only, 1);
    EXPECT_EQ(info.kernel_priority, 100);
    EXPECT_NE(std::string(info.version).find("oneDNN"), std::string::npos) << info.version;
  }
  ASSERT_TRUE(found) << "no backend called dnnl: set MX_BACKEND_PATH to libmx_backend_dnnl.so";
  for (const char* op : {"Convolution", "_conv_backward_data", "_conv_backward_weight", "Deconvolution", "Pooling",
                         "_pooling_backward", "FullyConnected", "dot", "batch_dot", "BatchNorm", "LayerNorm",
                         "Activation", "softmax", "log_softmax"}) {
    const char* who = nullptr;
    ASSERT_MX(mx_op_get_backend(op, MX_DEVICE_CPU, &who));
    EXPECT_STREQ(who, "dnnl") << op;
  }
  const char* who = nullptr;
  ASSERT_MX(mx_op_get_backend("elemwise_add", MX_DEVICE_CPU, &who));
  EXPECT_STREQ(who, "cpu");
}

TEST(Registry, PriorityDecidesWhoServes) {
  const Array x = random({2, 3, 8, 8}, MX_FLOAT32, -1, 1, 1), w = random({4, 3, 3, 3}, MX_FLOAT32, -1, 1, 2);
  const Attrs attrs = {{"kernel", "(3,3)"}, {"num_filter", "4"}, {"no_bias", "True"}};
  auto conv_log = [&] {
    DnnlLog log;
    Array y = invoke1("Convolution", {&x, &w}, attrs);
    return log.stop();
  };
  EXPECT_TRUE(executed(conv_log(), "convolution"));
  ASSERT_MX(mx_backend_set_priority("dnnl", -1));
  const char* who = nullptr;
  ASSERT_MX(mx_op_get_backend("Convolution", MX_DEVICE_CPU, &who));
  EXPECT_STREQ(who, "cpu");
  EXPECT_FALSE(executed(conv_log(), "convolution")) << "dnnl ran below the built-in backend's priority";
  ASSERT_MX(mx_backend_set_priority("dnnl", 100));
  ASSERT_MX(mx_op_get_backend("Convolution", MX_DEVICE_CPU, &who));
  EXPECT_STREQ(who, "dnnl");
  EXPECT_TRUE(executed(conv_log(), "convolution"));
}

// ---------------------------------------------------------------- forward

TEST(Forward, CallsDnnlServesMatchTheReferences) {
  for (int32_t dt : served()) {
    const std::string d = name(dt);
    DnnlLog log;
    // LeNet's second convolution and pooling
    const ref::Conv g{2, 20, 12, 12, 50, 5, 5};
    const Array x = random({2, 20, 12, 12}, dt, -1, 1, 3), w = random({50, 20, 5, 5}, dt, -0.2, 0.2, 4),
                b = random({50}, dt, -1, 1, 5);
    const Array y = invoke1("Convolution", {&x, &w, &b}, {{"kernel", "(5,5)"}, {"num_filter", "50"}});
    const Vec bias = b.values();
    expect_close(y.values(), ref::conv_forward(x.values(), w.values(), &bias, g), dt, "Convolution " + d);
    const Array p = invoke1("Pooling", {&y}, {{"kernel", "(2,2)"}, {"stride", "(2,2)"}, {"pool_type", "max"}});
    expect_close(p.values(), ref::pool_forward(y.values(), {100, 8, 8, 2, 2, 2, 2, 0, 0, 4, 4}), dt, "Pooling " + d);
    // FullyConnected on the pooled maps (flattened: 50 * 4 * 4 = 800), then softmax and relu
    const Array fw = random({10, 800}, dt, -0.1, 0.1, 6), fb = random({10}, dt, -1, 1, 7);
    const Array fc = invoke1("FullyConnected", {&p, &fw, &fb}, {{"num_hidden", "10"}});
    Vec want = ref::matmul(p.values(), fw.values(), 2, 800, 10, false, true);
    for (size_t i = 0; i < want.size(); ++i) want[i] += fb.values()[i % 10];
    expect_close(fc.values(), want, dt, "FullyConnected " + d);
    const Array sm = invoke1("softmax", {&fc}, {});
    expect_close(sm.values(), ref::softmax(fc.values(), 2, 10, 1, 1, false), dt, "softmax " + d);
    const Array r = invoke1("Activation", {&fc}, {{"act_type", "relu"}});
    Vec relu = fc.values();
    for (double& v : relu) v = v > 0 ? v : 0;
    expect_close(r.values(), relu, dt, "Activation " + d);
    const Array ln_g = random({10}, dt, 0.5, 1.5, 8), ln_b = random({10}, dt, -1, 1, 9);
    const Array ln = invoke1("LayerNorm", {&fc, &ln_g, &ln_b}, {});
    expect_close(ln.values(), ref::layer_norm(fc.values(), ln_g.values(), ln_b.values(), 2, 10, 1e-5).y, dt,
                 "LayerNorm " + d);
    const std::string executions = log.stop();
    for (const char* prim : {"convolution", "pooling", "matmul", "softmax", "eltwise", "layer_normalization"})
      EXPECT_TRUE(executed(executions, prim)) << prim << " did not run on oneDNN (" << d << ")";
  }
}

TEST(Forward, CallsHandedBackRunOnTheBuiltInBackend) {
  DnnlLog log;
  // float64: no dnnl kernel takes it; the built-in backend computes it in double
  const ref::Conv g{1, 2, 5, 5, 3, 3, 3};
  const Array x = random({1, 2, 5, 5}, MX_FLOAT64, -1, 1, 10), w = random({3, 2, 3, 3}, MX_FLOAT64, -1, 1, 11);
  const Array y = invoke1("Convolution", {&x, &w}, {{"kernel", "(3,3)"}, {"num_filter", "3"}, {"no_bias", "True"}});
  expect_close(y.values(), ref::conv_forward(x.values(), w.values(), nullptr, g), MX_FLOAT64, "float64 Convolution");
  // sum pooling, softsign, LayerNorm over a middle axis: attributes oneDNN has no algorithm for
  const Array xf = random({1, 2, 4, 4}, MX_FLOAT32, -1, 1, 12);
  const Array s = invoke1("Pooling", {&xf}, {{"kernel", "(2,2)"}, {"stride", "(2,2)"}, {"pool_type", "sum"}});
  Vec sum = ref::pool_forward(xf.values(), {2, 4, 4, 2, 2, 2, 2, 0, 0, 2, 2, false, true});
  for (double& v : sum) v *= 4;
  expect_close(s.values(), sum, MX_FLOAT32, "sum Pooling");
  const Array ss = invoke1("Activation", {&xf}, {{"act_type", "softsign"}});
  Vec soft = xf.values();
  for (double& v : soft) v = v / (1 + std::fabs(v));
  expect_close(ss.values(), soft, MX_FLOAT32, "softsign");
  const Array lg = random({2}, MX_FLOAT32, 0.5, 1.5, 13), lb = random({2}, MX_FLOAT32, -1, 1, 14);
  const Array ln = invoke1("LayerNorm", {&xf, &lg, &lb}, {{"axis", "1"}});
  EXPECT_EQ(ln.values().size(), 32u);
  const std::string executions = log.stop();
  for (const char* prim : {"convolution", "pooling", "eltwise", "layer_normalization"})
    EXPECT_FALSE(executed(executions, prim)) << prim << " ran on oneDNN although the plugin refused it";
}

// ---------------------------------------------------------------- autograd

// Marks `vars` (float32 / bfloat16 arrays) and returns their gradients of sum(head * f(vars)).
std::vector<Vec> gradients(const std::vector<const Array*>& vars, int32_t dt, const std::function<Array()>& f,
                           const Vec& head, bool train = true) {
  std::vector<Array> grads;
  std::vector<mx_ndarray_t> hv, hg;
  std::vector<int32_t> reqs;
  for (const Array* v : vars) {
    int64_t n = 0;
    int32_t nd = 0;
    const int64_t* shape = nullptr;
    EXPECT_MX(mx_ndarray_get_size(v->get(), &n));
    EXPECT_MX(mx_ndarray_get_shape(v->get(), &nd, &shape));
    grads.emplace_back(Shape(shape, shape + nd), Vec(size_t(n), 0.0), dt);
    hv.push_back(v->get());
    hg.push_back(grads.back().get());
    reqs.push_back(MX_GRAD_WRITE);
  }
  EXPECT_MX(mx_autograd_mark_variables(uint32_t(hv.size()), hv.data(), reqs.data(), hg.data()));
  EXPECT_MX(mx_autograd_set_recording(1, nullptr));
  EXPECT_MX(mx_autograd_set_training(train, nullptr));
  Array y = f();
  EXPECT_MX(mx_autograd_set_training(0, nullptr));
  EXPECT_MX(mx_autograd_set_recording(0, nullptr));
  int32_t nd = 0;
  const int64_t* shape = nullptr;
  EXPECT_MX(mx_ndarray_get_shape(y.get(), &nd, &shape));
  Array h(Shape(shape, shape + nd), head, dt);
  mx_ndarray_t heads[] = {y.get()}, head_grads[] = {h.get()};
  EXPECT_MX(mx_autograd_backward(1, heads, head_grads, 0, 0, train));
  std::vector<Vec> out;
  for (auto& g : grads) out.push_back(g.values());
  return out;
}

TEST(Autograd, ConvolutionPoolingAndFullyConnectedGradientsRunOnDnnl) {
  for (int32_t dt : served()) {
    const std::string d = name(dt);
    DnnlLog log;
    const ref::Conv g{2, 3, 7, 7, 4, 3, 3, 2, 2, 1, 1};  // output 4x4
    const Array x = random({2, 3, 7, 7}, dt, -1, 1, 20), w = random({4, 3, 3, 3}, dt, -1, 1, 21),
                b = random({4}, dt, -1, 1, 22);
    const Attrs attrs = {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"num_filter", "4"}};
    const Vec head = ref::uniform(2 * 4 * 4 * 4, -1, 1, 23);
    auto gr = gradients({&x, &w, &b}, dt, [&] { return invoke1("Convolution", {&x, &w, &b}, attrs); }, head);
    const Vec og = Array({2, 4, 4, 4}, head, dt).values();  // the head as the op sees it
    expect_close(gr[0], ref::conv_backward_data(og, w.values(), g), dt, "Convolution data gradient " + d);
    expect_close(gr[1], ref::conv_backward_weight(og, x.values(), g), dt, "Convolution weight gradient " + d);
    Vec db(4, 0.0);
    for (size_t i = 0; i < og.size(); ++i) db[(i / 16) % 4] += og[i];
    expect_close(gr[2], db, dt, "Convolution bias gradient " + d);

    const ref::Pool pg{6, 7, 7, 3, 3, 2, 2, 1, 1, 4, 4, true, true};
    const Vec phead = ref::uniform(6 * 16, -1, 1, 24);
    for (const char* type : {"max", "avg"}) {
      ref::Pool p = pg;
      p.max = std::strcmp(type, "max") == 0;
      auto pgr = gradients({&x}, dt, [&] {
        return invoke1("Pooling", {&x}, {{"kernel", "(3,3)"}, {"stride", "(2,2)"}, {"pad", "(1,1)"}, {"pool_type", type}});
      }, phead);
      expect_close(pgr[0], ref::pool_backward(Array({2, 3, 4, 4}, phead, dt).values(), x.values(), p), dt,
                   std::string(type) + " Pooling gradient " + d);
    }

    const Array fx = random({5, 2, 3}, dt, -1, 1, 25), fw = random({4, 6}, dt, -1, 1, 26);
    const Vec fhead = ref::uniform(20, -1, 1, 27);
    auto fgr = gradients({&fx, &fw}, dt, [&] {
      return invoke1("FullyConnected", {&fx, &fw}, {{"num_hidden", "4"}, {"no_bias", "True"}});
    }, fhead);
    const Vec fog = Array({5, 4}, fhead, dt).values();
    expect_close(fgr[0], ref::matmul(fog, fw.values(), 5, 4, 6, false, false), dt, "FullyConnected data gradient " + d);
    expect_close(fgr[1], ref::matmul(fog, fx.values(), 4, 5, 6, true, false), dt, "FullyConnected weight gradient " + d);

    const std::string executions = log.stop();
    EXPECT_TRUE(executed(executions, "convolution", "backward_data")) << "no data gradient on oneDNN " << d;
    EXPECT_TRUE(executed(executions, "convolution", "backward_weights")) << "no weight gradient on oneDNN " << d;
    EXPECT_TRUE(executed(executions, "pooling", "backward_data")) << "no pooling gradient on oneDNN " << d;
    EXPECT_TRUE(executed(executions, "matmul")) << "no dot on oneDNN " << d;
  }
}

TEST(Autograd, BatchNormTrainingOnDnnlUpdatesMovingStatisticsAndGivesTheGradients) {
  const int64_t n = 4, c = 3, hw = 5;
  const double eps = 1e-3, mom = 0.9;
  const Array x = random({n, c, hw}, MX_FLOAT32, -2, 2, 30), gamma = random({c}, MX_FLOAT32, 0.5, 1.5, 31),
              beta = random({c}, MX_FLOAT32, -1, 1, 32);
  const Vec mm0 = {0.2, -0.1, 0.0}, mv0 = {1.0, 2.0, 0.5};
  const Array mm({c}, mm0, MX_FLOAT32), mv({c}, mv0, MX_FLOAT32);
  const Vec head = ref::uniform(size_t(n * c * hw), -1, 1, 33);
  DnnlLog log;
  Vec y;
  auto gr = gradients({&x, &gamma, &beta}, MX_FLOAT32, [&] {
    Array out = invoke1("BatchNorm", {&x, &gamma, &beta, &mm, &mv}, {{"fix_gamma", "False"}, {"eps", "0.001"}});
    y = out.values();
    return out;
  }, head);
  EXPECT_TRUE(executed(log.stop(), "batch_normalization")) << "BatchNorm did not run on oneDNN";
  const Vec xs = x.values(), gs = gamma.values(), bs = beta.values();
  const ref::NormOut want = ref::batch_norm(xs, gs, bs, nullptr, nullptr, n, c, hw, eps, false);
  expect_close(y, want.y, MX_FLOAT32, "BatchNorm training output");
  Vec want_mm(3), want_mv(3);
  for (size_t i = 0; i < 3; ++i) {
    want_mm[i] = mm0[i] * mom + want.mean[i] * (1 - mom);
    want_mv[i] = mv0[i] * mom + want.dev[i] * (1 - mom);
  }
  expect_close(mm.values(), want_mm, MX_FLOAT32, "moving_mean");
  expect_close(mv.values(), want_mv, MX_FLOAT32, "moving_var");
  // dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / sigma, dxhat = og * gamma;
  // dgamma = sum(og * xhat), dbeta = sum(og), per channel.
  Vec dx(xs.size()), dg(3, 0.0), dbeta(3, 0.0);
  for (int64_t ch = 0; ch < c; ++ch) {
    const double sigma = std::sqrt(want.dev[size_t(ch)] + eps);
    double m1 = 0, m2 = 0;
    auto at = [&](int64_t o, int64_t i) { return size_t((o * c + ch) * hw + i); };
    for (int64_t o = 0; o < n; ++o)
      for (int64_t i = 0; i < hw; ++i) {
        const double xhat = (xs[at(o, i)] - want.mean[size_t(ch)]) / sigma, og = head[at(o, i)];
        m1 += og * gs[size_t(ch)] / double(n * hw);
        m2 += og * gs[size_t(ch)] * xhat / double(n * hw);
        dg[size_t(ch)] += og * xhat;
        dbeta[size_t(ch)] += og;
      }
    for (int64_t o = 0; o < n; ++o)
      for (int64_t i = 0; i < hw; ++i) {
        const double xhat = (xs[at(o, i)] - want.mean[size_t(ch)]) / sigma;
        dx[at(o, i)] = (head[at(o, i)] * gs[size_t(ch)] - m1 - xhat * m2) / sigma;
      }
  }
  expect_close(gr[0], dx, MX_FLOAT32, "BatchNorm data gradient");
  expect_close(gr[1], dg, MX_FLOAT32, "BatchNorm gamma gradient");
  expect_close(gr[2], dbeta, MX_FLOAT32, "BatchNorm beta gradient");
}

}  // namespace
