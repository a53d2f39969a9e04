// Spine benchmarks, through the C API only:
//  - tiny-op throughput: 1-element elemwise_add via mx_imperative_invoke (preallocated output),
//    on the threaded and the naive engine; "chain" writes one output (every op depends on the
//    previous), "spread" rotates over 64 outputs.
//  - dot at 1024^2 and 2048^2 float32 against a raw cblas_sgemm call in the same run, the peer
//    timed first at OpenBLAS's default thread count (mx's CPU backend sets it to one when it loads).
// Prints a table and one JSON line (prefix "JSON ").
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "mx/c_api.h"

namespace {

using bench::Clock;
using bench::make;
using bench::ok;



double tiny_ops_per_sec(const char* engine, int n_ops, int n_outputs) {
  ok(mx_engine_set_type(engine), "engine");
  mx_ndarray_t a = make({1}, 1), b = make({1}, 2);
  std::vector<mx_ndarray_t> outs;
  for (int i = 0; i < n_outputs; ++i) outs.push_back(make({1}, 0));
  mx_ndarray_t in[] = {a, b};
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    ok(mx_ndarray_wait_all(), "wait");
    auto t0 = Clock::now();
    for (int i = 0; i < n_ops; ++i) {
      mx_ndarray_t* o = &outs[size_t(i % n_outputs)];
      int32_t n = 1;
      if (mx_imperative_invoke("elemwise_add", 2, in, &n, &o, 0, nullptr, nullptr) != 0) ok(-1, "invoke");
    }
    ok(mx_ndarray_wait_all(), "wait");
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    best = std::max(best, n_ops / s);
  }
  float check = 0;
  ok(mx_ndarray_copy_to_host(outs[0], &check, 4), "read");
  if (check != 3.0f) {
    std::fprintf(stderr, "wrong result %f\n", check);
    std::exit(1);
  }
  for (auto h : outs) mx_ndarray_free(h);
  mx_ndarray_free(a);
  mx_ndarray_free(b);
  return best;
}


struct DotResult {
  int n;
  double mx_gflops, blas_gflops;
  int blas_threads;
};

double gflops(int n, double seconds) { return 2.0 * n * double(n) * n / seconds / 1e9; }

// The peer: raw cblas_sgemm at OpenBLAS's own default thread count. Timed before the first mx call,
// since loading mx's CPU backend sets the shared libopenblas to one thread (mx splits GEMMs over
// its own pool). Median of `reps` calls after a warm one; C keeps the product for the check.
DotResult blas_dot(int n, int reps, std::vector<float>& C) {
  std::vector<float> A(size_t(n) * n, 0.5f), B(size_t(n) * n, 0.25f);
  C.assign(size_t(n) * n, 0.0f);
  auto run_blas = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, A.data(), n, B.data(), n, 0.0f, C.data(), n);
  };
  run_blas();
  const double s = bench::median_time<std::ratio<1>>(reps, run_blas);
  return {n, 0, gflops(n, s), openblas_get_num_threads()};
}

// mx's dot on the same product, median of `reps` calls after a warm one.
void mx_dot(DotResult& d, int reps, const std::vector<float>& peer_C) {
  const int n = d.n;
  ok(mx_engine_set_type("threaded"), "engine");
  mx_ndarray_t a = make({n, n}, 0.5f), b = make({n, n}, 0.25f), c = make({n, n}, 0);
  mx_ndarray_t in[] = {a, b};
  auto run_mx = [&] {
    mx_ndarray_t* o = &c;
    int32_t k = 1;
    ok(mx_imperative_invoke("dot", 2, in, &k, &o, 0, nullptr, nullptr), "dot");
    ok(mx_ndarray_wait_to_read(c), "wait");
  };
  run_mx();
  d.mx_gflops = gflops(n, bench::median_time<std::ratio<1>>(reps, run_mx));
  std::vector<float> got(size_t(n) * n);
  ok(mx_ndarray_copy_to_host(c, got.data(), got.size() * 4), "read");  // every element: n * 0.125
  if (got.front() != float(n) * 0.125f || got.back() != peer_C.back()) {
    std::fprintf(stderr, "dot wrong: %f\n", got.front());
    std::exit(1);
  }
  mx_ndarray_free(a);
  mx_ndarray_free(b);
  mx_ndarray_free(c);
}

}  // namespace

int main(int argc, char** argv) {
  const int n_ops = argc > 1 ? std::atoi(argv[1]) : 300000;
  // The dot peers first, before mx touches OpenBLAS's threading; then a pause, so that OpenBLAS's
  // threads stop spinning before anything of mx's is timed.
  std::vector<float> c1, c2;
  DotResult d1 = blas_dot(1024, 15, c1);
  DotResult d2 = blas_dot(2048, 7, c2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const double thr_chain = tiny_ops_per_sec("threaded", n_ops, 1);
  const double thr_spread = tiny_ops_per_sec("threaded", n_ops, 64);
  const double naive_chain = tiny_ops_per_sec("naive", n_ops, 1);
  mx_dot(d1, 15, c1);
  mx_dot(d2, 7, c2);

  std::printf("%-44s %14s %14s %8s\n", "benchmark", "mx", "peer", "ratio");
  std::printf("%-44s %14.0f %14s %8s\n", "tiny add ops/s, threaded engine, chain", thr_chain, "-", "-");
  std::printf("%-44s %14.0f %14s %8s\n", "tiny add ops/s, threaded engine, 64 outputs", thr_spread, "-", "-");
  std::printf("%-44s %14.0f %14s %8s\n", "tiny add ops/s, naive engine, chain", naive_chain, "-", "-");
  for (const DotResult& d : {d1, d2})
    std::printf("dot %4dx%-4d GFLOP/s (peer: sgemm, %d thr) %13.1f %14.1f %8.3f\n", d.n, d.n, d.blas_threads,
                d.mx_gflops, d.blas_gflops, d.mx_gflops / d.blas_gflops);
  std::printf(
      "JSON {\"bench\":\"spine\",\"tiny_ops_per_s_threaded_chain\":%.0f,\"tiny_ops_per_s_threaded_spread\":%.0f,"
      "\"tiny_ops_per_s_naive_chain\":%.0f,\"dot1024_gflops\":%.2f,\"sgemm1024_gflops\":%.2f,\"dot2048_gflops\":%.2f,"
      "\"sgemm2048_gflops\":%.2f,\"dot2048_ratio\":%.4f,\"sgemm_threads\":%d}\n",
      thr_chain, thr_spread, naive_chain, d1.mx_gflops, d1.blas_gflops, d2.mx_gflops, d2.blas_gflops,
      d2.mx_gflops / d2.blas_gflops, d1.blas_threads);
  return 0;
}
