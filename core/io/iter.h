// Data iterators (MXNet's io module): a registry of named iterators with documented params, each
// producing batches of (data, label, pad, index). Sources fill host batches; the Prefetcher runs
// a source on a background thread, a bounded queue ahead of the consumer, and turns each host
// batch into NDArrays on the chosen device.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <istream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/device.h"
#include "ndarray/ndarray.h"
#include "op/schema.h"

namespace mx::io {

// One batch as a consumer sees it.
struct Batch {
  NDArray data, label;
  int32_t pad = 0;               // trailing samples that are padding (round_batch wrap or fill)
  std::vector<uint64_t> index;   // sample ids in the batch
};

// One batch as a source produces it: arrays in host memory that the source writes directly
// (allocate() then data_ptr / label_ptr), handed to the consumer without another copy.
struct HostBatch {
  NDArray data, label;
  int32_t pad = 0;
  std::vector<uint64_t> index;

  void allocate(const Shape& data_shape, int32_t data_dtype, const Shape& label_shape, int32_t label_dtype);
  char* data_ptr() const { return static_cast<char*>(data.data()); }
  char* label_ptr() const { return static_cast<char*>(label.data()); }
};

// Produces host batches in order; reset() starts the next epoch. Runs on the prefetch thread.
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual bool next(HostBatch& out) = 0;  // false at the end of the epoch
  virtual void reset() = 0;
};

class DataIter {
 public:
  virtual ~DataIter() = default;
  virtual void reset() = 0;
  virtual bool next() = 0;  // false at the end of the epoch; errors from the source surface here
  virtual const Batch& value() const = 0;
};

// Runs a source up to `capacity` batches ahead on its own thread. name (the iterator's, "MNISTIter")
// names its profiler events: "<name> produce" (a batch made, prefetch thread) and "<name> next".
class Prefetcher : public DataIter {
 public:
  Prefetcher(std::unique_ptr<BatchSource> source, size_t capacity, Device dev, const std::string& name = "DataIter");
  ~Prefetcher() override;
  void reset() override;
  bool next() override;
  const Batch& value() const override { return current_; }

 private:
  struct Item {
    HostBatch batch;
    bool end = false;
    std::string error;  // the source's failure, raised by next()
    int32_t error_code = 0;
  };
  void start();
  void stop();
  void produce();

  std::unique_ptr<BatchSource> source_;
  size_t capacity_;
  Device dev_;
  std::string produce_event_, next_event_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable can_put_, can_take_;
  std::deque<Item> queue_;
  bool stopping_ = false, finished_ = false;
  Batch current_;
};

struct IterSpec {
  std::string name, doc;
  std::vector<op::ParamSpec> params;
  // Makes the source from validated params (throws mx::Error naming file, line, offset).
  std::function<std::unique_ptr<BatchSource>(const op::Attrs&)> make_source;
};

// Every registered iterator (MNISTIter, CSVIter, ...), sorted by name.
const std::vector<IterSpec>& iterators();
// Validates params (as ops do) and starts the iterator; throws MX_ERR_NOT_FOUND for unknown names.
std::unique_ptr<DataIter> create_iter(const std::string& name, int n, const char* const* keys, const char* const* vals);

// The first of n samples in shard `part` of `parts`: MXNet's n * part / parts, exact for any int64.
inline int64_t part_begin(int64_t n, int64_t part, int64_t parts) { return int64_t(__int128(n) * part / parts); }

// Params every iterator takes: prefetch_buffer and ctx.
std::vector<op::ParamSpec> prefetch_params();

// Rows of CSV text as `width` numbers each, every one within the range of `dtype` (an integer
// dtype holds no NaN and nothing past its limits); errors name path, line and column (`what`
// describes the expected row, e.g. "data_shape (2,2)").
std::vector<double> parse_csv(std::istream& in, const std::string& path, int64_t width, const std::string& what,
                              int32_t dtype = MX_FLOAT32);

// Registration of each family (called by iterators()).
void register_mnist(std::vector<IterSpec>& out);
void register_csv(std::vector<IterSpec>& out);
void register_image_record(std::vector<IterSpec>& out);

}  // namespace mx::io
