// MNISTIter: idx files (plain or gzip), pixels scaled to [0, 1) (x / 256), labels as float32.
// MXNet's semantics: a final incomplete batch is dropped; shuffle reorders every epoch (seeded by
// seed and the epoch number); num_parts / part_index take a contiguous share of the samples.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>

#include "base/error.h"
#include "io/idx.h"
#include "io/iter.h"

namespace mx::io {
namespace {

class MnistSource : public BatchSource {
 public:
  explicit MnistSource(const op::Attrs& a)
      : batch_(a.i("batch_size")), flat_(a.b("flat")), shuffle_(a.b("shuffle")), seed_(uint64_t(a.i("seed"))) {
    const std::string ipath = a.str("image"), lpath = a.str("label");
    IdxFile im, lb;
    images_ = read_idx(ipath, 3, &im);
    labels_ = read_idx(lpath, 1, &lb);
    if (lb.dims[0] != im.dims[0])
      fail(MX_ERR_IO, "MNISTIter: ", lpath, " has ", lb.dims[0], " labels but ", ipath, " has ", im.dims[0], " images");
    rows_ = im.dims[1], cols_ = im.dims[2];
    img_off_ = im.offset, lbl_off_ = lb.offset;
    const int64_t n = im.dims[0], parts = a.i("num_parts"), part = a.i("part_index");
    if (part >= parts) fail(MX_ERR_INVALID_ARGUMENT, "MNISTIter: part_index ", part, " must be < num_parts ", parts);
    check_shape(flat_ ? Shape{batch_, rows_ * cols_} : Shape{batch_, 1, rows_, cols_}, "MNISTIter: a batch", 4);
    const int64_t begin = part_begin(n, part, parts);
    order_.resize(size_t(part_begin(n, part + 1, parts) - begin));
    std::iota(order_.begin(), order_.end(), uint64_t(begin));
    base_ = order_;
    shuffle_order();
    if (!a.b("silent"))
      std::fprintf(stderr, "MNISTIter: %s: %zu of %lld images (part %lld/%lld), %lldx%lld, batch %lld%s\n", ipath.c_str(),
                   order_.size(), static_cast<long long>(n), static_cast<long long>(part), static_cast<long long>(parts),
                   static_cast<long long>(rows_), static_cast<long long>(cols_), static_cast<long long>(batch_),
                   shuffle_ ? ", shuffled" : "");
  }

  bool next(HostBatch& out) override {
    if (pos_ + size_t(batch_) > order_.size()) return false;  // MXNet drops the incomplete tail
    const int64_t pixels = rows_ * cols_;
    out.allocate(flat_ ? Shape{batch_, pixels} : Shape{batch_, 1, rows_, cols_}, MX_FLOAT32, Shape{batch_}, MX_FLOAT32);
    auto* d = reinterpret_cast<float*>(out.data_ptr());
    auto* l = reinterpret_cast<float*>(out.label_ptr());
    out.index.resize(size_t(batch_));
    for (int64_t i = 0; i < batch_; ++i) {
      const uint64_t k = order_[pos_ + size_t(i)];
      const uint8_t* src = images_.data() + img_off_ + k * uint64_t(pixels);
      for (int64_t p = 0; p < pixels; ++p) d[i * pixels + p] = float(src[p]) * (1.0f / 256.0f);
      l[i] = float(labels_[lbl_off_ + k]);
      out.index[size_t(i)] = k;
    }
    out.pad = 0;
    pos_ += size_t(batch_);
    return true;
  }

  void reset() override {
    pos_ = 0;
    ++epoch_;
    shuffle_order();
  }

 private:
  void shuffle_order() {
    if (!shuffle_) return;
    order_ = base_;
    std::mt19937_64 rng(seed_ * 1000003u + epoch_);
    std::shuffle(order_.begin(), order_.end(), rng);
  }

  int64_t batch_;
  bool flat_, shuffle_;
  uint64_t seed_, epoch_ = 0;
  std::vector<uint8_t> images_, labels_;
  size_t img_off_ = 0, lbl_off_ = 0;
  int64_t rows_ = 0, cols_ = 0;
  std::vector<uint64_t> order_, base_;
  size_t pos_ = 0;
};

}  // namespace

void register_mnist(std::vector<IterSpec>& out) {
  IterSpec s;
  s.name = "MNISTIter";
  s.doc = "MNIST-format idx images and labels (plain or .gz); pixels scaled to [0, 1).";
  op::ParamSpec batch = op::param_int("batch_size", "128", "samples per batch");
  batch.min = 1;
  op::ParamSpec parts = op::param_int("num_parts", "1", "number of shards");
  parts.min = 1;
  op::ParamSpec part = op::param_int("part_index", "0", "which shard this iterator reads");
  part.min = 0;
  s.params = {op::param_string("image", "./train-images-idx3-ubyte", "idx3 image file (plain or .gz)"),
              op::param_string("label", "./train-labels-idx1-ubyte", "idx1 label file (plain or .gz)"),
              batch,
              op::param_bool("shuffle", "True", "shuffle the samples (again every epoch)"),
              op::param_bool("flat", "False", "(batch, 784) instead of (batch, 1, 28, 28)"),
              op::param_int("seed", "0", "shuffle seed"),
              op::param_bool("silent", "False", "do not print the summary line"),
              parts,
              part,
              op::param_shape("input_shape", "()", "accepted for compatibility")};
  for (auto& p : prefetch_params()) s.params.push_back(p);
  s.make_source = [](const op::Attrs& a) { return std::unique_ptr<BatchSource>(new MnistSource(a)); };
  out.push_back(std::move(s));
}

}  // namespace mx::io
