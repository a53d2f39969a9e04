// KVStore dist_sync against raw MPI, in one run under mpirun (bench/README: `tools/launch.py -n 4
// build/release/bin/bench_kvstore`):
//   pushpull of 4 x 25 MB float32 (4 keys, gradients -> weights) through mx_kvstore_* vs MPI_Allreduce of
//   the same buffers: gradients as send buffers, weights as receive buffers (what pushpull does: the
//   gradients stay as they were), and in place (the gradients overwritten: less work than pushpull);
//   the latency of one tiny key (1 float) through the store vs a 1-float MPI_Allreduce.
// Rank 0 prints both figures, the ratio, and one JSON line.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"

using bench::ok;

namespace {

double median_ms(int reps, const std::function<void()>& f) {
  std::vector<double> t;
  for (int i = 0; i < reps; ++i) {
    MPI_Barrier(MPI_COMM_WORLD);  // every rank starts together, as in a training step
    const double t0 = MPI_Wtime();
    f();
    t.push_back((MPI_Wtime() - t0) * 1e3);
  }
  std::sort(t.begin(), t.end());
  double mid = t[t.size() / 2];
  MPI_Bcast(&mid, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);  // rank 0's median speaks for the job
  return mid;
}

}  // namespace

int main(int argc, char** argv) {
  mx_kvstore_t kv;
  ok(mx_kvstore_create("dist_sync", &kv), "create dist_sync");  // joins the job (MPI_Init in the transport)
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    std::fprintf(stderr, "bench_kvstore: MPI is not initialised after creating the store\n");
    return 1;
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int64_t n = 25 * 1024 * 1024 / 4;  // 25 MB of float32
  const int keys = 4, reps = argc > 1 ? std::atoi(argv[1]) : 10;

  std::vector<mx_ndarray_t> grads, weights;
  std::vector<std::string> names;
  for (int k = 0; k < keys; ++k) {
    grads.push_back(bench::make({n}, 1.f));
    weights.push_back(bench::make({n}, 0.f));
    names.push_back(std::to_string(k));
  }
  std::vector<const char*> key_ptrs;
  for (auto& s : names) key_ptrs.push_back(s.c_str());
  ok(mx_kvstore_init(kv, keys, key_ptrs.data(), weights.data()), "init");
  auto pushpull = [&] {
    ok(mx_kvstore_pushpull(kv, keys, key_ptrs.data(), grads.data(), keys, key_ptrs.data(), weights.data(), 0),
       "pushpull");
    for (auto w : weights) ok(mx_ndarray_wait_to_read(w), "wait");
  };
  pushpull();  // warm-up: pools, first allreduce
  const double ours = median_ms(reps, pushpull);

  std::vector<std::vector<float>> raw(size_t(keys), std::vector<float>(size_t(n), 1.f));
  std::vector<std::vector<float>> raw_out(size_t(keys), std::vector<float>(size_t(n), 0.f));
  auto allreduce = [&] {
    for (int k = 0; k < keys; ++k)
      MPI_Allreduce(raw[size_t(k)].data(), raw_out[size_t(k)].data(), int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  };
  auto allreduce_in_place = [&] {
    for (auto& b : raw) MPI_Allreduce(MPI_IN_PLACE, b.data(), int(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
  };
  allreduce();
  allreduce_in_place();
  const double peer = median_ms(reps, allreduce);
  const double peer_in_place = median_ms(reps, allreduce_in_place);

  // Tiny key: one float.
  mx_ndarray_t tg = bench::make({1}, 1.f), tw = bench::make({1}, 0.f);
  const char* tiny = "tiny";
  mx_kvstore_t skv;
  ok(mx_kvstore_create("dist_sync", &skv), "create");
  ok(mx_kvstore_init(skv, 1, &tiny, &tw), "init tiny");
  auto tiny_pp = [&] {
    ok(mx_kvstore_pushpull(skv, 1, &tiny, &tg, 1, &tiny, &tw, 0), "pushpull tiny");
    ok(mx_ndarray_wait_to_read(tw), "wait");
  };
  for (int i = 0; i < 20; ++i) tiny_pp();
  const double tiny_ours = median_ms(200, tiny_pp) * 1e3;
  float one = 1.f;
  const double tiny_peer = median_ms(200, [&] { MPI_Allreduce(MPI_IN_PLACE, &one, 1, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); }) * 1e3;

  if (rank == 0) {
    std::printf("pushpull 4 x 25 MB float32 on %d processes: mx %.1f ms, MPI_Allreduce %.1f ms: %.2fx MPI's speed "
                "(in place, overwriting the gradients: %.1f ms, %.2fx)\n",
                size, ours, peer, peer / ours, peer_in_place, peer_in_place / ours);
    std::printf("tiny key (1 float) round trip: mx %.1f us, MPI_Allreduce %.1f us\n", tiny_ours, tiny_peer);
    std::printf("{\"bench\":\"kvstore\",\"processes\":%d,\"pushpull_4x25MB_ms\":%.2f,\"mpi_allreduce_ms\":%.2f,"
                "\"ratio\":%.3f,\"mpi_in_place_ms\":%.2f,\"ratio_in_place\":%.3f,\"tiny_us\":%.1f,\"tiny_mpi_us\":%.1f}\n",
                size, ours, peer, peer / ours, peer_in_place, peer_in_place / ours, tiny_ours, tiny_peer);
  }
  for (auto h : grads) mx_ndarray_free(h);
  for (auto h : weights) mx_ndarray_free(h);
  mx_ndarray_free(tg);
  mx_ndarray_free(tw);
  mx_kvstore_free(skv);
  mx_kvstore_free(kv);
  return 0;
}
