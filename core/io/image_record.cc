// ImageRecordIter: image records (MXNet's header + JPEG / PNG bytes) from a .rec file, decoded
// and augmented by preprocess_threads workers per batch. Each sample's random generator is
// seeded from (seed, epoch, its position in the epoch), so the same seed gives the same
// augmentations whatever the thread count. num_parts / part_index take a contiguous share of the
// records; shuffle reorders them every epoch; round_batch completes the last batch from the start.
// Decoding and augmentation run in the image part (libmx_image.so, on OpenCV), loaded when the first
// iterator is created: without it creating one fails with MX_ERR_NOT_FOUND naming the files tried.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

#include "base/error.h"
#include "io/augment.h"
#include "io/image/loader.h"
#include "io/iter.h"
#include "io/recordio.h"

namespace mx::io {
namespace {

class ImageRecordSource : public BatchSource {
 public:
  explicit ImageRecordSource(const op::Attrs& a)
      : path_(a.str("path_imgrec")),
        reader_(path_),
        batch_(a.i("batch_size")),
        label_width_(a.i("label_width")),
        threads_(int(a.i("preprocess_threads"))),
        shuffle_(a.b("shuffle")),
        round_(a.b("round_batch")),
        seed_(uint64_t(a.i("seed"))) {
    const Shape ds = a.shape("data_shape");
    if (ds.size() != 3 || ds[0] != 3)
      fail(MX_ERR_INVALID_ARGUMENT, "ImageRecordIter: data_shape ", shape_str(ds), " must be (3, height, width)");
    check_shape(Shape{batch_, 3, ds[1], ds[2]}, "ImageRecordIter: data_shape with batch_size", 4);
    check_shape(Shape{batch_, label_width_}, "ImageRecordIter: label_width with batch_size", 4);
    aug_ = augment_from(a, ds[1], ds[2]);
    try {  // before the scan of a large file: a missing part fails fast
      image_ = &image_part();
    } catch (const Error& e) {
      fail(e.code(), "ImageRecordIter: ", e.what());
    }
    // Record offsets: from the index when given, else one scan of the file.
    std::vector<uint64_t> all;
    const std::string idx = a.str("path_imgidx");
    if (!idx.empty()) {
      for (const IndexEntry& e : read_index(idx)) {
        if (e.offset >= reader_.size())
          fail(MX_ERR_IO, "ImageRecordIter: ", idx, " points at byte ", e.offset, " past the end of ", path_);
        all.push_back(e.offset);
      }
    } else {
      std::string rec;
      for (uint64_t at = reader_.tell(); reader_.read(rec); at = reader_.tell()) all.push_back(at);
    }
    const int64_t n = int64_t(all.size()), parts = a.i("num_parts"), part = a.i("part_index");
    if (part >= parts) fail(MX_ERR_INVALID_ARGUMENT, "ImageRecordIter: part_index ", part, " must be < num_parts ", parts);
    offsets_.assign(all.begin() + part_begin(n, part, parts), all.begin() + part_begin(n, part + 1, parts));
    if (offsets_.empty()) fail(MX_ERR_IO, "ImageRecordIter: part ", part, " of ", path_, " has no records");
    if (round_ && int64_t(offsets_.size()) < batch_)
      fail(MX_ERR_INVALID_ARGUMENT, "ImageRecordIter: round_batch needs at least batch_size (", batch_, ") records, ",
           path_, " part ", part, " has ", offsets_.size());
    order_.resize(offsets_.size());
    reset_order();
  }

  bool next(HostBatch& out) override {
    const int64_t n = int64_t(order_.size());
    if (pos_ >= n) return false;
    const int64_t take = std::min(batch_, n - pos_);
    const int64_t filled = round_ ? batch_ : take;  // slots with a sample (the rest stay zero)
    const int64_t plane = aug_.height * aug_.width;
    Shape ls{batch_};
    if (label_width_ > 1) ls.push_back(label_width_);
    out.allocate(Shape{batch_, 3, aug_.height, aug_.width}, MX_FLOAT32, ls, MX_FLOAT32);
    auto* data = reinterpret_cast<float*>(out.data_ptr());
    auto* label = reinterpret_cast<float*>(out.label_ptr());
    // only padding slots (no sample) need zeros: every other slot is written in full
    std::memset(data + filled * 3 * plane, 0, size_t((batch_ - filled) * 3 * plane) * sizeof(float));
    std::memset(label, 0, size_t(batch_ * label_width_) * sizeof(float));
    // Raw records, read in order on this thread; decoding and augmentation on the workers.
    std::vector<std::string> recs(static_cast<size_t>(filled));
    std::vector<uint64_t> ids(static_cast<size_t>(filled)), offs(static_cast<size_t>(filled));
    for (int64_t i = 0; i < filled; ++i) {
      const int64_t slot = i < take ? pos_ + i : i - take;  // wrap to the start of the epoch
      offs[size_t(i)] = offsets_[order_[size_t(slot)]];
      ids[size_t(i)] = uint64_t(slot);
      reader_.seek(offs[size_t(i)]);
      if (!reader_.read(recs[size_t(i)]))
        fail(MX_ERR_IO, "ImageRecordIter: no record at byte ", offs[size_t(i)], " of ", path_);
    }
    std::vector<uint64_t> image_ids(static_cast<size_t>(filled));
    std::atomic<int64_t> next_sample{0};
    std::string error;
    std::mutex error_mu;
    auto work = [&] {
      for (int64_t i; (i = next_sample.fetch_add(1)) < filled;) {
        try {
          decode_one(recs[size_t(i)], offs[size_t(i)], ids[size_t(i)], data + i * 3 * plane, label + i * label_width_,
                     image_ids[size_t(i)]);
        } catch (const std::exception& e) {
          std::lock_guard<std::mutex> lk(error_mu);
          if (error.empty()) error = e.what();
        }
      }
    };
    std::vector<std::thread> helpers;
    for (int t = 1; t < std::min<int64_t>(threads_, filled); ++t) helpers.emplace_back(work);
    work();
    for (auto& t : helpers) t.join();
    if (!error.empty()) fail(MX_ERR_IO, error);
    out.index = image_ids;
    out.pad = int32_t(batch_ - take);
    pos_ += take;
    if (take < batch_ && round_) overflow_ = batch_ - take;
    return true;
  }

  void reset() override {
    pos_ = round_ ? overflow_ : 0;
    overflow_ = 0;
    ++epoch_;
    reset_order();
  }

 private:
  // Decodes and augments one record into its slot; `slot` (the sample's position in the epoch)
  // seeds its random generator.
  void decode_one(const std::string& rec, uint64_t offset, uint64_t slot, float* data, float* label,
                  uint64_t& image_id) const {
    ImageRecordHeader h;
    std::vector<float> labels;
    const char* payload = nullptr;
    size_t n = 0;
    try {
      unpack_image_record(rec, h, labels, payload, n);
    } catch (const Error& e) {
      fail(MX_ERR_IO, "ImageRecordIter: ", path_, " byte ", offset, ": ", e.what());
    }
    if (int64_t(labels.size()) < label_width_)
      fail(MX_ERR_IO, "ImageRecordIter: ", path_, " byte ", offset, " (image id ", h.id, ") has ", labels.size(),
           " label(s), label_width is ", label_width_);
    for (int64_t j = 0; j < label_width_; ++j) label[j] = labels[size_t(j)];
    // The sample's generator seed (the part draws from std::mt19937_64(seed)).
    const uint64_t rng_seed = seed_ * 0x9E3779B97F4A7C15ull ^ (epoch_ << 40) ^ slot;
    char err[512] = "";
    const int rc = image_->decode_augment(payload, n, &aug_, rng_seed, data, err, sizeof(err));
    if (rc == MX_IMAGE_UNDECODABLE)
      fail(MX_ERR_IO, "ImageRecordIter: ", path_, " byte ", offset, " (image id ", h.id, "): cannot decode the ", n,
           "-byte image");
    if (rc != 0)
      fail(MX_ERR_IO, "ImageRecordIter: ", path_, " byte ", offset, " (image id ", h.id, "): ",
           *err ? err : "the image part failed");
    image_id = h.id;
  }

  void reset_order() {
    std::iota(order_.begin(), order_.end(), size_t(0));
    if (shuffle_) {
      std::mt19937_64 rng(seed_ * 0x9E3779B97F4A7C15ull + epoch_);
      std::shuffle(order_.begin(), order_.end(), rng);
    }
  }

  std::string path_;
  RecordReader reader_;
  int64_t batch_, label_width_;
  int threads_;
  bool shuffle_, round_;
  uint64_t seed_, epoch_ = 0;
  AugmentParams aug_;
  const mx_image_api* image_ = nullptr;
  std::vector<uint64_t> offsets_;
  std::vector<size_t> order_;
  int64_t pos_ = 0, overflow_ = 0;
};

}  // namespace

void register_image_record(std::vector<IterSpec>& out) {
  IterSpec s;
  s.name = "ImageRecordIter";
  s.doc = "Images (JPEG, PNG) from a RecordIO .rec file, decoded and augmented on worker threads, as float32 "
          "(batch, 3, height, width) RGB.";
  op::ParamSpec batch = op::param_required(op::param_int("batch_size", "", "samples per batch"));
  batch.min = 1;
  op::ParamSpec lw = op::param_int("label_width", "1", "labels per image");
  lw.min = 1;
  op::ParamSpec threads = op::param_int("preprocess_threads", "4", "decoding / augmentation threads");
  threads.min = 1;
  op::ParamSpec parts = op::param_int("num_parts", "1", "number of shards");
  parts.min = 1;
  op::ParamSpec part = op::param_int("part_index", "0", "which shard this iterator reads");
  part.min = 0;
  s.params = {op::param_required(op::param_string("path_imgrec", "", "the .rec file")),
              op::param_string("path_imgidx", "", "its .idx file (optional: else the .rec is scanned once)"),
              op::param_required(op::param_shape("data_shape", "", "(3, height, width) of the output images")),
              batch,
              lw,
              op::param_bool("shuffle", "False", "shuffle the records every epoch"),
              op::param_int("seed", "0", "seed of the shuffle and of the augmentations"),
              threads,
              parts,
              part,
              op::param_bool("round_batch", "True", "complete the last batch from the start (else with zeros)"),
              op::param_bool("verbose", "True", "accepted for compatibility")};
  for (auto& p : augment_params()) s.params.push_back(p);
  for (auto& p : prefetch_params()) s.params.push_back(p);
  s.make_source = [](const op::Attrs& a) { return std::unique_ptr<BatchSource>(new ImageRecordSource(a)); };
  out.push_back(std::move(s));
}

}  // namespace mx::io
