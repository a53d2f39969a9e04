// Operator benchmarks, each beside its peer measured in the same run:
//  - elementwise add of 2^24 float32 into a preallocated output vs numpy's np.add(a, b, out=c)
//    (Debian's /usr/bin/python3, run as a child process);
//  - FullyConnected 128x800 -> 500 with bias vs raw OpenBLAS doing the same: the bias rows copied
//    into the output, then cblas_sgemm accumulating onto them (beta = 1), as mx's kernel does;
//  - Convolution forward + backward (data, weight and bias gradients) at LeNet shapes (batch 128:
//    1x28x28 -> 20x5x5, then 20x12x12 -> 50x5x5) vs PyTorch CPU doing the same when
//    python3-torch is installed, given every core (its default on Debian here is one thread),
//    as mx's pool has.
// Prints a table and one JSON line (prefix "JSON ").
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "mx/c_api.h"

namespace {

using bench::Clock;
using bench::make;
using bench::ok;
using bench::python_ms;

void invoke(const char* op, std::vector<mx_ndarray_t> in, mx_ndarray_t out, std::vector<const char*> k = {},
            std::vector<const char*> v = {}) {
  mx_ndarray_t* o = &out;
  int32_t n = 1;
  ok(mx_imperative_invoke(op, int32_t(in.size()), in.data(), &n, &o, int32_t(k.size()), k.data(), v.data()), op);
}

}  // namespace

int main() {
  // ---- the peer of FullyConnected first: raw sgemm with OpenBLAS's default threads (every core),
  // before mx loads its CPU backend, which sets the shared libopenblas to one thread (it splits
  // GEMMs on its own pool) and whose threads would then compete with OpenBLAS's spinning ones.
  // Ten calls per sample, divided by ten: back-to-back products, as in a model.
  constexpr int kBurst = 10;
  const int m = 128, k = 800, h = 500;
  std::vector<float> X(size_t(m) * k, 0.01f), W(size_t(h) * k, 0.02f), Bias(size_t(h), 0.1f), Y(size_t(m) * h);
  auto raw = [&] {
    for (int i = 0; i < kBurst; ++i) {
      for (int r = 0; r < m; ++r) std::memcpy(Y.data() + size_t(r) * h, Bias.data(), size_t(h) * sizeof(float));
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, h, k, 1.0f, X.data(), k, W.data(), k, 1.0f, Y.data(), h);
    }
  };
  const int blas_threads = openblas_get_num_threads();
  std::vector<double> tr;
  for (int r = 0; r < 21; ++r) {
    raw();
    tr.push_back(bench::median_time(1, raw));
  }
  std::sort(tr.begin(), tr.end());
  const double fc_blas = tr[tr.size() / 2] / kBurst;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // OpenBLAS's threads stop spinning

  // ---- elementwise add, 2^24 float32
  const int64_t n = int64_t(1) << 24;
  mx_ndarray_t a = make({n}, 1.5f), b = make({n}, 2.0f), c = make({n}, 0);
  invoke("elemwise_add", {a, b}, c);
  ok(mx_ndarray_wait_all(), "wait");
  const double add_mx = bench::median_time(15, [&] {
    invoke("elemwise_add", {a, b}, c);
    ok(mx_ndarray_wait_to_read(c), "wait");
  });
  const double add_np = python_ms(
      "import numpy as np, time\n"
      "a = np.full(1 << 24, 1.5, np.float32); b = np.full(1 << 24, 2.0, np.float32); c = np.empty_like(a)\n"
      "np.add(a, b, out=c); t = []\n"
      "for _ in range(15):\n"
      "    s = time.perf_counter(); np.add(a, b, out=c); t.append((time.perf_counter() - s) * 1e3)\n"
      "print(sorted(t)[7])");
  mx_ndarray_free(a);
  mx_ndarray_free(b);
  mx_ndarray_free(c);

  // ---- reductions of a 4096 x 4096 float32 array: rows (axis 1), columns (axis 0), everything
  struct Red {
    const char* axis;
    const char* np_axis;
    double mx = 0, np = 0;
  } reds[] = {{"(1,)", "1"}, {"(0,)", "0"}, {"None", "None"}};
  {
    const int64_t side = 4096;
    mx_ndarray_t r = make({side, side}, 0.5f), rows = make({side}, 0), all = make({1}, 0);
    for (Red& rd : reds) {
      mx_ndarray_t dst = std::strcmp(rd.axis, "None") == 0 ? all : rows;
      auto sum = [&] {
        invoke("sum", {r}, dst, {"axis"}, {rd.axis});
        ok(mx_ndarray_wait_to_read(dst), "wait");
      };
      sum();
      rd.mx = bench::median_time(15, sum);
      rd.np = python_ms(std::string("import numpy as np, time\n"
                                    "a = np.full((4096, 4096), 0.5, np.float32); a.sum(axis=") + rd.np_axis + "); t = []\n"
                        "for _ in range(15):\n"
                        "    s = time.perf_counter(); a.sum(axis=" + rd.np_axis + "); t.append((time.perf_counter() - s) * 1e3)\n"
                        "print(sorted(t)[7])");
    }
    for (auto hnd : {r, rows, all}) mx_ndarray_free(hnd);
  }

  // ---- FullyConnected 128x800 -> 500 (with bias) vs the raw bias + sgemm measured first
  mx_ndarray_t x = make({m, k}, 0.01f), w = make({h, k}, 0.02f), bias = make({h}, 0.1f), y = make({m, h}, 0);
  const char* fk[] = {"num_hidden"};
  const char* fv[] = {"500"};
  auto fc = [&] {
    for (int i = 0; i < kBurst; ++i) invoke("FullyConnected", {x, w, bias}, y, {fk[0]}, {fv[0]});
    ok(mx_ndarray_wait_to_read(y), "wait");
  };
  std::vector<double> tf;
  for (int r = 0; r < 21; ++r) {  // each timed burst follows a warm one, as for the peer
    fc();
    tf.push_back(bench::median_time(1, fc));
  }
  std::sort(tf.begin(), tf.end());
  const double fc_mx = tf[tf.size() / 2] / kBurst;
  for (auto hnd : {x, w, bias, y}) mx_ndarray_free(hnd);

  // ---- LeNet convolutions, forward + backward (data, weight and bias gradients, as autograd
  // emits them: the bias gradient is a sum over every axis but the channel)
  struct ConvShape {
    int c, hw, f;
  } convs[] = {{1, 28, 20}, {20, 12, 50}};
  double conv_mx = 0;
  for (const ConvShape& s : convs) {
    const int oh = s.hw - 4;
    mx_ndarray_t d = make({128, s.c, s.hw, s.hw}, 0.1f), wt = make({s.f, s.c, 5, 5}, 0.01f), bs = make({s.f}, 0),
                 out = make({128, s.f, oh, oh}, 0), og = make({128, s.f, oh, oh}, 1.0f),
                 dd = make({128, s.c, s.hw, s.hw}, 0), dw = make({s.f, s.c, 5, 5}, 0), db = make({s.f}, 0);
    const std::string nf = std::to_string(s.f);
    std::vector<const char*> ck = {"kernel", "num_filter"}, cv = {"(5,5)", nf.c_str()};
    auto step = [&] {
      invoke("Convolution", {d, wt, bs}, out, ck, cv);
      invoke("_conv_backward_data", {og, wt, d}, dd, ck, cv);
      invoke("_conv_backward_weight", {og, d}, dw, ck, cv);
      invoke("sum", {og}, db, {"axis", "exclude"}, {"(1,)", "True"});
      ok(mx_ndarray_wait_all(), "wait");
    };
    step();
    conv_mx += bench::median_time(7, step);
    for (auto hnd : {d, wt, bs, out, og, dd, dw, db}) mx_ndarray_free(hnd);
  }
  const double conv_torch = python_ms(
      "import torch, time, os\n"
      "torch.set_num_threads(os.cpu_count()); torch.manual_seed(0); t = []\n"
      "xs = [torch.full((128, 1, 28, 28), 0.1, requires_grad=True), torch.full((128, 20, 12, 12), 0.1, requires_grad=True)]\n"
      "cs = [torch.nn.Conv2d(1, 20, 5), torch.nn.Conv2d(20, 50, 5)]\n"
      "gs = [torch.ones(128, 20, 24, 24), torch.ones(128, 50, 8, 8)]\n"
      "def step():\n"
      "    for x, c, g in zip(xs, cs, gs):\n"
      "        x.grad = None; c.zero_grad(set_to_none=True)\n"  // write the gradients, as mx does, not add
      "        y = c(x); y.backward(g)\n"
      "step()\n"
      "for _ in range(7):\n"
      "    s = time.perf_counter(); step(); t.append((time.perf_counter() - s) * 1e3)\n"
      "print(sorted(t)[3])");

  std::printf("%-52s %10s %10s %8s\n", "benchmark (median ms)", "mx", "peer", "peer/mx");
  std::printf("%-52s %10.3f %10.3f %8.3f\n", "elemwise_add 2^24 float32 (peer: numpy np.add out=)", add_mx, add_np,
              add_np > 0 ? add_np / add_mx : 0.0);
  for (const Red& rd : reds)
    std::printf("%-52s %10.3f %10.3f %8.3f\n", (std::string("sum 4096x4096 axis=") + rd.np_axis + " (peer: numpy)").c_str(),
                rd.mx, rd.np, rd.np > 0 ? rd.np / rd.mx : 0.0);
  std::printf("%-52s %10.3f %10.3f %8.3f\n",
              (std::string("FullyConnected 128x800->500 (peer: bias+sgemm, ") + std::to_string(blas_threads) + " thr)").c_str(),
              fc_mx, fc_blas, fc_blas / fc_mx);
  if (conv_torch > 0)
    std::printf("%-52s %10.3f %10.3f %8.3f\n", "LeNet conv fwd+bwd b128 (peer: PyTorch, all cores)", conv_mx, conv_torch,
                conv_torch / conv_mx);
  else
    std::printf("%-52s %10.3f %10s %8s\n", "LeNet conv fwd+bwd batch 128 (PyTorch not installed)", conv_mx, "-", "-");
  std::printf(
      "JSON {\"bench\":\"ops\",\"add_2p24_ms\":%.4f,\"numpy_add_2p24_ms\":%.4f,\"fc_ms\":%.4f,\"sgemm_fc_ms\":%.4f,"
      "\"lenet_conv_fwd_bwd_ms\":%.3f,\"torch_lenet_conv_fwd_bwd_ms\":%.3f,\"sum_rows_ms\":%.4f,\"numpy_sum_rows_ms\":%.4f,"
      "\"sum_cols_ms\":%.4f,\"numpy_sum_cols_ms\":%.4f,\"sum_all_ms\":%.4f,\"numpy_sum_all_ms\":%.4f,"
      "\"sgemm_threads\":%d}\n",
      add_mx, add_np, fc_mx, fc_blas, conv_mx, conv_torch, reds[0].mx, reds[0].np, reds[1].mx, reds[1].np, reds[2].mx,
      reds[2].np, blas_threads);
  return 0;
}
