// The plugin's table and the rest of its kernels, float32 and bfloat16: FullyConnected, dot and
// batch_dot; BatchNorm (batch statistics and the moving update in training, the moving statistics
// otherwise) and LayerNorm; Activation, softmax and log_softmax; what they hand back; and one
// state run from several threads at once.
#include <cmath>
#include <cstring>
#include <set>
#include <thread>

#include "harness.h"

namespace {

using namespace harness;

TEST(Table, IsAKernelOnlyCpuPluginWithPriority100) {
  const mx_backend_api& a = api();
  EXPECT_STREQ(a.name, "dnnl");
  EXPECT_EQ(a.device_type, kDLCPU);
  EXPECT_EQ(a.abi_major, MX_BACKEND_ABI_MAJOR);
  ASSERT_GE(a.struct_size, offsetof(mx_backend_api, kernel_priority) + sizeof(int32_t));
  EXPECT_EQ(a.kernel_priority, 100);
  EXPECT_NE(std::string(a.version).find("oneDNN 2."), std::string::npos) << a.version;
  // Kernel-only: memory, copies, streams and events belong to the built-in CPU backend.
  EXPECT_EQ(a.alloc, nullptr);
  EXPECT_EQ(a.free, nullptr);
  EXPECT_EQ(a.copy, nullptr);
  EXPECT_EQ(a.stream_create, nullptr);
  EXPECT_EQ(a.event_create, nullptr);
  int32_t devices = 0;
  const char* reason = nullptr;
  ASSERT_EQ(a.device_count(&devices, &reason), 0);
  EXPECT_EQ(devices, 1) << reason;
  int32_t n = 0;
  const char* const* names = nullptr;
  ASSERT_EQ(a.list_kernels(&n, &names), 0);
  std::set<std::string> got(names, names + n);
  const std::set<std::string> want = {"Activation", "BatchNorm", "Convolution", "Deconvolution", "FullyConnected",
                                      "LayerNorm", "Pooling", "_conv_backward_data", "_conv_backward_weight",
                                      "_pooling_backward", "batch_dot", "dot", "log_softmax", "softmax"};
  EXPECT_EQ(got, want);
  for (const std::string& op : want) EXPECT_NE(a.find_kernel(op.c_str()), nullptr) << op;
  EXPECT_EQ(a.find_kernel("elemwise_add"), nullptr);
}

TEST(FullyConnected, IsDataTimesWeightTransposedPlusBias) {
  for (int32_t dt : served()) {
    // flatten: (4, 2, 3) -> (4, 6); LeNet's fc1 shape; flatten=False over the last axis, no bias
    struct Case {
      Shape x, w, y;
      Attrs attrs;
      int64_t m;  // rows of data's matrix view
      bool bias;
    };
    const Case cases[] = {{{4, 2, 3}, {3, 6}, {4, 3}, {{"num_hidden", "3"}}, 4, true},
                          {{8, 800}, {500, 800}, {8, 500}, {{"num_hidden", "500"}}, 8, true},
                          {{2, 3, 4}, {2, 4}, {2, 3, 2}, {{"num_hidden", "2"}, {"no_bias", "True"}, {"flatten", "False"}}, 6, false}};
    for (const Case& c : cases) {
      const int64_t h = c.w[0], k = c.w[1];
      const Tensor x = random(c.x, dt, -1, 1, 11), w = random(c.w, dt, -1, 1, 12), b = random({h}, dt, -1, 1, 13);
      std::vector<Tensor> in = {x, w}, out = {Tensor(c.y, dt)};
      if (c.bias) in.push_back(b);
      run("FullyConnected", c.attrs, in, out);
      Vec want = ref::matmul(x.values(), w.values(), c.m, k, h, false, true);
      if (c.bias)
        for (size_t i = 0; i < want.size(); ++i) want[i] += b.values()[i % size_t(h)];
      expect_close(out[0].values(), want, dt, std::string("FullyConnected ") + name(dt) + " k=" + std::to_string(k));
    }
  }
}

TEST(Dot, EveryTransposeAndTheBatchedForm) {
  for (int32_t dt : served())
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int64_t m = 4, k = 5, n = 3;
        const Tensor a = random(ta ? Shape{k, m} : Shape{m, k}, dt, -1, 1, 14),
                     b = random(tb ? Shape{n, k} : Shape{k, n}, dt, -1, 1, 15);
        const Attrs attrs = {{"transpose_a", ta ? "True" : "False"}, {"transpose_b", tb ? "True" : "False"}};
        std::vector<Tensor> in = {a, b}, out = {Tensor({m, n}, dt)};
        run("dot", attrs, in, out);
        expect_close(out[0].values(), ref::matmul(a.values(), b.values(), m, k, n, ta, tb), dt,
                     std::string("dot ") + name(dt) + (ta ? " ta" : "") + (tb ? " tb" : ""));
        // batch_dot over 2 batches of the same products
        const Tensor ba = random(ta ? Shape{2, k, m} : Shape{2, m, k}, dt, -1, 1, 16),
                     bb = random(tb ? Shape{2, n, k} : Shape{2, k, n}, dt, -1, 1, 17);
        std::vector<Tensor> bin = {ba, bb}, bout = {Tensor({2, m, n}, dt)};
        run("batch_dot", attrs, bin, bout);
        Vec want;
        for (int64_t i = 0; i < 2; ++i) {
          const Vec va = ba.values(), vb = bb.values();
          const Vec c = ref::matmul(Vec(va.begin() + i * m * k, va.begin() + (i + 1) * m * k),
                                    Vec(vb.begin() + i * k * n, vb.begin() + (i + 1) * k * n), m, k, n, ta, tb);
          want.insert(want.end(), c.begin(), c.end());
        }
        expect_close(bout[0].values(), want, dt, std::string("batch_dot ") + name(dt));
      }
  // N-d dot: (2, 3, 4) . (4, 5) -> (2, 3, 5) over the 6 x 4 view of lhs
  const Tensor l = random({2, 3, 4}, MX_FLOAT32, -1, 1, 18), r = random({4, 5}, MX_FLOAT32, -1, 1, 19);
  std::vector<Tensor> in = {l, r}, out = {Tensor({2, 3, 5}, MX_FLOAT32)};
  run("dot", {{"transpose_a", "False"}, {"transpose_b", "False"}}, in, out);
  expect_close(out[0].values(), ref::matmul(l.values(), r.values(), 6, 4, 5, false, false), MX_FLOAT32, "N-d dot");
}

// BatchNorm's five inputs and three outputs for data `shape` with channels on `axis`.
struct BatchNormCall {
  std::vector<Tensor> in, out;
  int64_t outer = 1, c, inner = 1;
  BatchNormCall(const Shape& shape, int axis, int32_t dt) {
    c = shape[size_t(axis)];
    for (int d = 0; d < axis; ++d) outer *= shape[size_t(d)];
    for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
    in = {random(shape, dt, -2, 2, 20), random({c}, dt, 0.5, 1.5, 21), random({c}, dt, -0.5, 0.5, 22),
          random({c}, dt, -0.2, 0.2, 23), random({c}, dt, 0.5, 2, 24)};
    out = {Tensor(shape, dt), Tensor({c}, dt), Tensor({c}, dt)};
  }
};

TEST(BatchNorm, BatchStatisticsAndMovingUpdateInTrainingMovingStatisticsOtherwise) {
  const double eps = 1e-3;
  struct Case {
    Shape shape;
    int axis;
    Attrs attrs;
    bool fix_gamma;
    double momentum;
  };
  const Case cases[] = {{{4, 3, 5}, 1, {{"fix_gamma", "False"}}, false, 0.9},
                        {{2, 3, 4, 4}, 1, {}, true, 0.9},  // fix_gamma defaults to True
                        {{2, 3, 4}, 2, {{"axis", "-1"}, {"fix_gamma", "False"}}, false, 0.9},
                        {{8, 6}, 1, {{"fix_gamma", "False"}, {"momentum", "0.5"}}, false, 0.5}};
  for (int32_t dt : served())
    for (const Case& c : cases) {
      Attrs attrs = {{"eps", "0.001"}, {"momentum", "0.9"}, {"fix_gamma", "True"}, {"use_global_stats", "False"}, {"axis", "1"}};
      for (auto& [k, v] : c.attrs)
        for (auto& [k2, v2] : attrs)
          if (k2 == k) v2 = v;
      const double mom = c.momentum;
      const std::string what = "BatchNorm " + std::string(name(dt)) + " axis " + std::to_string(c.axis);
      // training: batch statistics, moving statistics updated in place
      BatchNormCall t(c.shape, c.axis, dt);
      const Vec x = t.in[0].values(), gamma = t.in[1].values(), beta = t.in[2].values(), mm = t.in[3].values(),
                mv = t.in[4].values();
      run("BatchNorm", attrs, t.in, t.out, /*train=*/true);
      const ref::NormOut want = ref::batch_norm(x, gamma, beta, nullptr, nullptr, t.outer, t.c, t.inner, eps, c.fix_gamma);
      expect_close(t.out[0].values(), want.y, dt, what + " training output");
      expect_close(t.out[1].values(), want.mean, dt, what + " batch mean");
      expect_close(t.out[2].values(), want.dev, dt, what + " batch variance");
      Vec want_mm(mm.size()), want_mv(mv.size());
      for (size_t i = 0; i < mm.size(); ++i) {
        want_mm[i] = mm[i] * mom + want.mean[i] * (1 - mom);
        want_mv[i] = mv[i] * mom + want.dev[i] * (1 - mom);
      }
      expect_close(t.in[3].values(), want_mm, dt, what + " moving_mean update");
      expect_close(t.in[4].values(), want_mv, dt, what + " moving_var update");
      // inference: the moving statistics, left untouched
      BatchNormCall i(c.shape, c.axis, dt);
      run("BatchNorm", attrs, i.in, i.out, /*train=*/false);
      const ref::NormOut inf = ref::batch_norm(x, gamma, beta, &mm, &mv, i.outer, i.c, i.inner, eps, c.fix_gamma);
      expect_close(i.out[0].values(), inf.y, dt, what + " inference output");
      EXPECT_EQ(i.in[3].values(), mm) << what;
      EXPECT_EQ(i.out[1].values(), mm) << what << " mean output in inference";
      // use_global_stats: the moving statistics even in training
      BatchNormCall gs(c.shape, c.axis, dt);
      Attrs global = attrs;
      for (auto& [k, v] : global)
        if (k == "use_global_stats") v = "True";
      run("BatchNorm", global, gs.in, gs.out, /*train=*/true);
      expect_close(gs.out[0].values(), inf.y, dt, what + " use_global_stats output");
      EXPECT_EQ(gs.in[4].values(), mv) << what;
    }
}

TEST(LayerNorm, NormalisesTheLastAxisAndOutputsMeanAndStd) {
  struct Case {
    Shape s;
    double eps;
    const char* eps_attr;
  };
  for (int32_t dt : served())
    for (const Case& c : {Case{{3, 5}, 1e-5, "1e-05"}, Case{{2, 3, 64}, 0.5, "0.5"}}) {
      const Shape& s = c.s;
      const int64_t width = s.back(), rows = Tensor(s, dt).size() / width;
      std::vector<Tensor> in = {random(s, dt, -2, 2, 25), random({width}, dt, 0.5, 1.5, 26), random({width}, dt, -1, 1, 27)};
      Shape stat = s;
      stat.back() = 1;
      std::vector<Tensor> out = {Tensor(s, dt), Tensor(stat, dt), Tensor(stat, dt)};
      run("LayerNorm", {{"axis", "-1"}, {"eps", c.eps_attr}}, in, out);
      const ref::NormOut want = ref::layer_norm(in[0].values(), in[1].values(), in[2].values(), rows, width, c.eps);
      const std::string what = std::string("LayerNorm ") + name(dt) + " width " + std::to_string(width);
      expect_close(out[0].values(), want.y, dt, what);
      expect_close(out[1].values(), want.mean, dt, what + " mean");
      expect_close(out[2].values(), want.dev, dt, what + " std");
    }
  // another axis than the last: left to the CPU backend
  expect_unsupported("LayerNorm", {{"axis", "1"}, {"eps", "0.01"}},
                     {Tensor({2, 3, 2}, MX_FLOAT32), Tensor({3}, MX_FLOAT32), Tensor({3}, MX_FLOAT32)},
                     {Tensor({2, 3, 2}, MX_FLOAT32), Tensor({2, 1, 2}, MX_FLOAT32), Tensor({2, 1, 2}, MX_FLOAT32)});
}

TEST(Activation, ReluSigmoidTanhSoftreluAndSoftsignHandedBack) {
  struct Fn {
    const char* act;
    double (*f)(double);
  };
  const Fn fns[] = {{"relu", [](double x) { return x > 0 ? x : 0.0; }},
                    {"sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }},
                    {"tanh", [](double x) { return std::tanh(x); }},
                    {"softrelu", [](double x) { return std::log1p(std::exp(x)); }}};
  for (int32_t dt : served())
    for (const Fn& fn : fns) {
      const Tensor x = random({3, 4, 5}, dt, -4, 4, 28);
      std::vector<Tensor> in = {x}, out = {Tensor({3, 4, 5}, dt)};
      run("Activation", {{"act_type", fn.act}}, in, out);
      Vec want = x.values();
      for (double& v : want) v = fn.f(v);
      expect_close(out[0].values(), want, dt, std::string("Activation ") + fn.act + " " + name(dt));
    }
  expect_unsupported("Activation", {{"act_type", "softsign"}}, {Tensor({3, 4}, MX_FLOAT32)}, {Tensor({3, 4}, MX_FLOAT32)});
}

TEST(Softmax, AnyAxisWithTemperatureAndLog) {
  struct Case {
    const char* op;
    Shape s;
    Attrs attrs;
    int64_t outer, n, inner;
    double t;
  };
  const Case cases[] = {{"softmax", {3, 5}, {{"axis", "-1"}, {"temperature", "1"}}, 3, 5, 1, 1},
                        {"softmax", {3, 4}, {{"axis", "0"}, {"temperature", "2.5"}}, 1, 3, 4, 2.5},
                        {"log_softmax", {2, 3, 4}, {{"axis", "1"}, {"temperature", "1"}}, 2, 3, 4, 1},
                        {"log_softmax", {4, 10}, {{"axis", "-1"}, {"temperature", "0.5"}}, 4, 10, 1, 0.5}};
  for (int32_t dt : served())
    for (const Case& c : cases) {
      const Tensor x = random(c.s, dt, -3, 3, 29);
      std::vector<Tensor> in = {x}, out = {Tensor(c.s, dt)};
      run(c.op, c.attrs, in, out);
      expect_close(out[0].values(), ref::softmax(x.values(), c.outer, c.n, c.inner, c.t, c.op[0] == 'l'), dt,
                   std::string(c.op) + " " + c.attrs[0].second + " t=" + c.attrs[1].second + " " + name(dt));
    }
}

TEST(Dtypes, OtherThanFloat32AndBfloat16AreHandedBack) {
  for (int32_t dt : {MX_FLOAT64, MX_FLOAT16}) {
    expect_unsupported("FullyConnected", {{"num_hidden", "2"}, {"no_bias", "True"}}, {Tensor({3, 4}, dt), Tensor({2, 4}, dt)},
                       {Tensor({3, 2}, dt)});
    expect_unsupported("Activation", {{"act_type", "relu"}}, {Tensor({3, 4}, dt)}, {Tensor({3, 4}, dt)});
    expect_unsupported("softmax", {{"axis", "-1"}, {"temperature", "1"}}, {Tensor({3, 4}, dt)}, {Tensor({3, 4}, dt)});
    expect_unsupported("BatchNorm", {{"eps", "0.001"}, {"axis", "1"}},
                       {Tensor({2, 3}, dt), Tensor({3}, dt), Tensor({3}, dt), Tensor({3}, dt), Tensor({3}, dt)},
                       {Tensor({2, 3}, dt), Tensor({3}, dt), Tensor({3}, dt)});
  }
  // mixed dtypes and empty tensors too
  expect_unsupported("dot", {}, {Tensor({3, 4}, MX_FLOAT32), Tensor({4, 2}, MX_BFLOAT16)}, {Tensor({3, 2}, MX_FLOAT32)});
  expect_unsupported("dot", {}, {Tensor({0, 4}, MX_FLOAT32), Tensor({4, 2}, MX_FLOAT32)}, {Tensor({0, 2}, MX_FLOAT32)});
}

TEST(Dtypes, Bfloat16IsRefusedWhereOneDnnHasNoKernelsForIt) {
  if (cpu_has_bfloat16_kernels()) GTEST_SKIP() << "this CPU has AVX-512: bfloat16 is served (the dtype loops test it)";
  // Refused at create with MX_ERR_UNSUPPORTED, so the host runs its own backend instead.
  expect_unsupported("Activation", {{"act_type", "relu"}}, {Tensor({2, 3}, MX_BFLOAT16)}, {Tensor({2, 3}, MX_BFLOAT16)});
  expect_unsupported("dot", {}, {Tensor({3, 4}, MX_BFLOAT16), Tensor({4, 2}, MX_BFLOAT16)}, {Tensor({3, 2}, MX_BFLOAT16)});
}

TEST(Threads, OneStateRunsConcurrentlyWithTheSameResults) {
  // The host may run one state from several workers at once: each call's buffers are its own.
  const mx_kernel* k = api().find_kernel("Convolution");
  Tensor w = random({8, 4, 3, 3}, MX_FLOAT32, -1, 1, 30);
  std::vector<Tensor> xs, ys, want;
  for (int i = 0; i < 4; ++i) {
    xs.push_back(random({2, 4, 9, 9}, MX_FLOAT32, -1, 1, 31 + uint64_t(i)));
    ys.push_back(Tensor({2, 8, 9, 9}, MX_FLOAT32));
  }
  std::vector<DLTensor> shapes = {xs[0].dl(), w.dl()}, out_shape = {ys[0].dl()};
  const char* keys[] = {"kernel", "pad", "stride", "dilate", "num_filter", "num_group", "no_bias"};
  const char* vals[] = {"(3,3)", "(1,1)", "()", "()", "8", "1", "True"};
  const mx_kernel_args args = {sizeof(mx_kernel_args), "Convolution", 7, keys, vals, 2, shapes.data(), 1, out_shape.data(), 0};
  void* state = nullptr;
  ASSERT_EQ(k->create(&args, &state), 0) << last_error().message;
  const uint64_t ws = k->workspace_bytes(state);
  auto call = [&](int i, Tensor& y) {
    std::vector<uint64_t> temp(size_t(ws / 8 + 1));
    mx_kernel_ctx ctx{};
    ctx.struct_size = sizeof(ctx);
    ctx.temp_space = temp.data();
    ctx.temp_bytes = ws;
    DLTensor in[] = {xs[size_t(i)].dl(), w.dl()}, out[] = {y.dl()};
    return k->run(state, &ctx, in, 2, out, 1);
  };
  for (int i = 0; i < 4; ++i) {
    want.push_back(Tensor({2, 8, 9, 9}, MX_FLOAT32));
    ASSERT_EQ(call(i, want.back()), 0);
  }
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      for (int rep = 0; rep < 20; ++rep) failures[size_t(i)] += call(i, ys[size_t(i)]) != 0;
    });
  for (auto& t : threads) t.join();
  k->destroy(state);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(failures[size_t(i)], 0);
    EXPECT_EQ(ys[size_t(i)].values(), want[size_t(i)].values()) << "thread " << i;
  }
}

}  // namespace
