// Data IO throughput, one JSON line:
//  - MNISTIter over Fashion-MNIST's 60,000 training images (batch 128, shuffled, prefetched) in
//    batches/s, beside the same epoch done by numpy in the same run (shuffled fancy-index gather of
//    the uint8 images scaled to float32) as the peer;
//  - ImageRecordIter at 224x224 (rand_crop + rand_mirror from 256x256 JPEGs, batch 32) in images/s
//    with 1 and 2 preprocess threads, beside a peer doing the same work by hand with OpenCV on the
//    same JPEG bytes held in memory, with as many threads: decode, random 224x224 crop, random
//    mirror, BGR bytes to RGB float planes of a (32, 3, 224, 224) batch. Both are timed on a
//    second pass (warm caches, allocations and pages). The peer reads no record file and makes
//    no batch objects: it is a ceiling.
#include <cstdio>
#include <cstring>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <opencv2/imgproc.hpp>

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

// Writes n random-textured 256x256 JPEGs (quality 90) into path as image records.
std::vector<std::vector<uint8_t>> make_rec(const std::string& path, int n) {
  std::mt19937 rng(1);
  std::vector<std::vector<uint8_t>> jpegs;
  mx_recordio_writer_t w = nullptr;
  ok(mx_recordio_writer_create(path.c_str(), nullptr, &w), "writer");
  for (int i = 0; i < n; ++i) {
    cv::Mat img(256, 256, CV_8UC3);
    cv::randu(img, cv::Scalar::all(0), cv::Scalar::all(255));
    cv::Mat smooth;
    cv::blur(img, smooth, cv::Size(5, 5));  // photo-like: compresses to tens of kB, not hundreds
    std::vector<uint8_t> jpg;
    cv::imencode(".jpg", smooth, jpg, {cv::IMWRITE_JPEG_QUALITY, 90});
    std::string rec(24, '\0');  // image record header: flag 0, label, id
    const float label = float(i % 10);
    const uint64_t id = uint64_t(i);
    std::memcpy(rec.data() + 4, &label, 4);
    std::memcpy(rec.data() + 8, &id, 8);
    rec.append(jpg.begin(), jpg.end());
    ok(mx_recordio_writer_write(w, rec.data(), rec.size()), "write");
    jpegs.push_back(std::move(jpg));
  }
  ok(mx_recordio_writer_free(w), "close");
  return jpegs;
}

// Images per second of one ImageRecordIter epoch (after a warm-up epoch).
double image_rec_rate(const std::string& path, const char* threads) {
  const char* k[] = {"path_imgrec", "data_shape", "batch_size", "rand_crop", "rand_mirror", "preprocess_threads"};
  const char* v[] = {path.c_str(), "(3,224,224)", "32", "True", "True", threads};
  mx_dataiter_t it = nullptr;
  ok(mx_dataiter_create("ImageRecordIter", 6, k, v, &it), "ImageRecordIter");
  auto epoch = [&] {
    int images = 0, has = 0;
    for (;;) {
      ok(mx_dataiter_next(it, &has), "next");
      if (!has) break;
      images += 32;
    }
    ok(mx_dataiter_reset(it), "reset");
    return images;
  };
  epoch();
  const auto t0 = bench::Clock::now();
  const int n = epoch();
  const double s = std::chrono::duration<double>(bench::Clock::now() - t0).count();
  mx_dataiter_free(it);
  return n / s;
}

// Images per second of the peer: the iterator's per-image work done directly, `threads` threads
// sharing each batch of 32, one warm pass then a timed one.
double opencv_rate(const std::vector<std::vector<uint8_t>>& jpegs, int threads) {
  constexpr int kBatch = 32, kSide = 224;
  constexpr size_t kPlane = size_t(kSide) * kSide;
  std::vector<float> batch(kBatch * 3 * kPlane);
  auto one = [&](size_t i, float* out) {
    const cv::Mat img = cv::imdecode(jpegs[i], cv::IMREAD_COLOR);
    if (img.empty()) std::exit(1);
    std::mt19937_64 rng(i);
    const int x = int(rng() % uint64_t(img.cols - kSide + 1)), y = int(rng() % uint64_t(img.rows - kSide + 1));
    cv::Mat crop = img(cv::Rect(x, y, kSide, kSide));
    if (rng() & 1) {
      cv::Mat f;
      cv::flip(crop, f, 1);
      crop = f;
    }
    for (int r = 0; r < kSide; ++r) {
      const uint8_t* row = crop.ptr<uint8_t>(r);
      float* red = out + size_t(r) * kSide;
      float* green = red + kPlane;
      float* blue = green + kPlane;
      for (int c = 0; c < kSide; ++c) {
        red[c] = float(row[3 * c + 2]);
        green[c] = float(row[3 * c + 1]);
        blue[c] = float(row[3 * c]);
      }
    }
  };
  auto pass = [&] {
    for (size_t b = 0; b < jpegs.size(); b += kBatch) {
      const size_t n = std::min<size_t>(kBatch, jpegs.size() - b);
      std::vector<std::thread> pool;
      auto work = [&](int t) {
        for (size_t i = size_t(t); i < n; i += size_t(threads)) one(b + i, batch.data() + i * 3 * kPlane);
      };
      for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
      work(0);
      for (auto& th : pool) th.join();
    }
  };
  pass();
  const auto t0 = bench::Clock::now();
  pass();
  return jpegs.size() / std::chrono::duration<double>(bench::Clock::now() - t0).count();
}

}  // namespace

int main() {
  // ---- ImageRecordIter
  const std::string rec = "/tmp/mx_bench_io_" + std::to_string(::getpid()) + ".rec";
  const auto jpegs = make_rec(rec, 320);
  // mx and the peer alternate, so that the shared machine's drift falls on both
  const double peer1 = opencv_rate(jpegs, 1), rate1 = image_rec_rate(rec, "1");
  const double peer2 = opencv_rate(jpegs, 2), rate2 = image_rec_rate(rec, "2");
  std::remove(rec.c_str());

  std::printf("%-52s %10s %10s %8s\n", "benchmark", "mx", "peer", "mx/peer");
  std::printf("%-52s %10.0f %10.0f %8.2f\n", "ImageRecordIter img/s 224, 1 thread (peer: OpenCV)", rate1, peer1,
              rate1 / peer1);
  std::printf("%-52s %10.0f %10.0f %8.2f\n", "ImageRecordIter img/s 224, 2 threads (peer: OpenCV)", rate2, peer2,
              rate2 / peer2);

  // ---- MNISTIter
  std::FILE* probe = std::fopen((kDir + "train-images-idx3-ubyte.gz").c_str(), "rb");
  if (!probe) {
    std::printf("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): no MNISTIter figure\n");
    std::printf("JSON {\"bench\":\"io\",\"imagerec_1thread_img_per_s\":%.1f,\"imagerec_2threads_img_per_s\":%.1f,"
                "\"opencv_1thread_img_per_s\":%.1f,\"opencv_2threads_img_per_s\":%.1f}\n", rate1, rate2, peer1, peer2);
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
  std::printf("%-52s %10.0f %10.0f %8.2f\n", "MNISTIter batches/s, b128 shuffled (peer: numpy)", mx_bps, np_bps,
              np_bps > 0 ? mx_bps / np_bps : 0.0);
  std::printf("JSON {\"bench\":\"io\",\"mnist_batches_per_s\":%.1f,\"numpy_mnist_batches_per_s\":%.1f,\"mnist_batches\":%d,"
              "\"imagerec_1thread_img_per_s\":%.1f,\"imagerec_2threads_img_per_s\":%.1f,\"opencv_1thread_img_per_s\":%.1f,"
              "\"opencv_2threads_img_per_s\":%.1f}\n",
              mx_bps, np_bps, n, rate1, rate2, peer1, peer2);
  return 0;
}
