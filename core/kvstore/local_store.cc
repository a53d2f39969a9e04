// local and device: several devices of one process. Values are merged into one buffer on the
// store's device (add_n; 2bit-compressed values are dequantised into it), the updater folds the
// merge into the stored value once per key, and pulls copy the stored value out.
#include <vector>

#include "base/dtype.h"
#include "base/error.h"
#include "kvstore/compression.h"
#include "kvstore/store_ops.h"
#include "kvstore/stores.h"

namespace mx::kv {

void push_compressed_merge(const std::vector<NDArray>& values, const std::vector<NDArray>& residuals,
                           const NDArray& merged, float threshold, int priority) {
  std::vector<engine::Var*> reads, writes{merged.var()};
  for (const NDArray& v : values) reads.push_back(v.var());
  for (const NDArray& r : residuals) writes.push_back(r.var());
  engine::PushOptions opts;
  opts.priority = priority;
  opts.name = "kvstore 2bit merge";
  opts.category = profiler::kKVStore;
  engine::get().push(
      [values, residuals, merged, threshold](engine::RunContext&) {
        const int64_t n = merged.size();
        std::vector<uint32_t> packed(size_t(packed_words_2bit(n)));
        auto* out = static_cast<float*>(merged.data());
        for (size_t i = 0; i < values.size(); ++i) {
          quantize_2bit(static_cast<const float*>(values[i].data()), static_cast<float*>(residuals[i].data()), n,
                        threshold, packed.data());
          dequantize_2bit(packed.data(), n, threshold, out, i > 0);
        }
      },
      merged.device(), reads, writes, opts);
}

namespace {

class LocalStore : public KVStore {
 public:
  explicit LocalStore(const std::string& type) : KVStore(type) {}

 protected:
  struct Entry {
    NDArray stored, merged;
    std::vector<NDArray> residuals;  // 2bit: one per pushed value slot
    std::vector<NDArray> staging;    // values of another device, copied to the store's device
  };

  void init_key(const std::string& key, const NDArray& value) override {
    const Device dev = type_ == "device" ? value.device() : cpu();
    Entry e;
    e.stored = NDArray(value.shape(), value.dtype(), dev);
    e.merged = NDArray(value.shape(), value.dtype(), dev);
    copy(value, e.stored);
    entries_[key] = std::move(e);
  }

  void push_key(const std::string& key, std::span<const NDArray> values, int priority) override {
    Entry& e = entries_.at(key);
    const Device dev = e.stored.device();
    std::vector<NDArray> local;  // the values, on the store's device (so the merge, the updater and
                                 // the optimizer see arrays of one device, as in MXNet)
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i].device() == dev) {
        local.push_back(values[i]);
        continue;
      }
      if (e.staging.size() <= i) e.staging.resize(i + 1);
      if (!e.staging[i].defined()) e.staging[i] = NDArray(values[i].shape(), values[i].dtype(), dev);
      copy(values[i], e.staging[i], priority);
      local.push_back(e.staging[i]);
    }
    if (compression_threshold_ > 0) {
      if (e.merged.dtype() != MX_FLOAT32 || !dev.is_cpu())
        fail(MX_ERR_UNSUPPORTED, "kvstore ", type_, ": 2bit compression of key '", key, "' needs float32 host arrays, got ",
             dtype_info(e.merged.dtype()).name, " on ", dev.str());
      while (e.residuals.size() < local.size()) e.residuals.push_back(zeros_like(e.merged, dev));
      std::vector<NDArray> residuals(e.residuals.begin(), e.residuals.begin() + ptrdiff_t(local.size()));
      push_compressed_merge(local, residuals, e.merged, compression_threshold_, priority);
      apply_update(key, e.merged, e.stored, priority);
    } else if (local.size() == 1) {
      apply_update(key, local[0], e.stored, priority);  // nothing to merge: the value itself
    } else {
      push_op("add_n", {{"num_args", std::to_string(local.size())}}, local, {e.merged}, priority);
      apply_update(key, e.merged, e.stored, priority);
    }
  }

  void pull_key(const std::string& key, std::span<const NDArray> outs, int priority) override {
    const Entry& e = entries_.at(key);
    for (const NDArray& o : outs) copy(e.stored, o, priority);
  }

 private:
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace

std::unique_ptr<KVStore> make_local_store(const std::string& type) { return std::make_unique<LocalStore>(type); }

}  // namespace mx::kv
