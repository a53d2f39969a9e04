// Data IO throughput. MNISTIter over Fashion-MNIST's 60,000 training images (batch 128, shuffled,
// prefetched) in batches/s, beside the same epoch done by numpy in the same run (shuffled
// fancy-index gather of the uint8 images, scaled to float32, per batch) as the peer. One JSON line.
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"

using bench::ok;

namespace {

const std::string kDir = "/usr/share/datasets/fashion-mnist/";

// Seconds for one epoch (after a warm-up epoch) and the number of batches in it.
std::pair<double, int> mnist_epoch(const char* prefetch) {
  const std::string img = kDir + "train-images-idx3-ubyte.gz", lbl = kDir + "train-labels-idx1-ubyte.gz";
  const char* k[] = {"image", "label", "batch_size", "shuffle", "silent", "prefetch_buffer"};
  const char* v[] = {img.c_str(), lbl.c_str(), "128", "True", "True", prefetch};
  mx_dataiter_t it = nullptr;
  ok(mx_dataiter_create("MNISTIter", 6, k, v, &it), "MNISTIter");
  auto epoch = [&] {
    int n = 0, has = 0;
    for (;;) {
      ok(mx_dataiter_next(it, &has), "next");
      if (!has) break;
      mx_ndarray_t d = nullptr;
      ok(mx_dataiter_get_data(it, &d), "get_data");
      ok(mx_ndarray_wait_to_read(d), "wait");
      mx_ndarray_free(d);
      ++n;
    }
    ok(mx_dataiter_reset(it), "reset");
    return n;
  };
  epoch();
  const auto t0 = bench::Clock::now();
  const int n = epoch();
  const double s = std::chrono::duration<double>(bench::Clock::now() - t0).count();
  mx_dataiter_free(it);
  return {s, n};
}

}  // namespace

int main() {
  std::FILE* probe = std::fopen((kDir + "train-images-idx3-ubyte.gz").c_str(), "rb");
  if (!probe) {
    std::printf("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist); nothing to measure\n");
    return 0;
  }
  std::fclose(probe);
  const auto [s, n] = mnist_epoch("4");
  const double np_ms = bench::python_ms(
      "import numpy as np, gzip, time\n"
      "d = '/usr/share/datasets/fashion-mnist/'\n"
      "x = np.frombuffer(gzip.open(d + 'train-images-idx3-ubyte.gz').read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)\n"
      "y = np.frombuffer(gzip.open(d + 'train-labels-idx1-ubyte.gz').read(), np.uint8, offset=8)\n"
      "def epoch():\n"
      "    p = np.random.permutation(len(x))\n"
      "    for i in range(0, len(x) - 127, 128):\n"
      "        b = p[i:i + 128]; xb = x[b].astype(np.float32) / 256; yb = y[b].astype(np.float32)\n"
      "epoch(); s = time.perf_counter(); epoch(); print((time.perf_counter() - s) * 1e3)");
  const double mx_bps = n / s, np_bps = np_ms > 0 ? 468.0 / (np_ms / 1e3) : 0;
  std::printf("%-52s %10s %10s %8s\n", "benchmark", "mx", "peer", "mx/peer");
  std::printf("%-52s %10.0f %10.0f %8.2f\n", "MNISTIter batches/s, b128 shuffled (peer: numpy)", mx_bps, np_bps,
              np_bps > 0 ? mx_bps / np_bps : 0.0);
  std::printf("JSON {\"bench\":\"io\",\"mnist_batches_per_s\":%.1f,\"numpy_mnist_batches_per_s\":%.1f,\"mnist_batches\":%d}\n",
              mx_bps, np_bps, n);
  return 0;
}
