#include "io/iter.h"

#include <algorithm>

#include "base/error.h"
#include "profiler/profiler.h"

namespace mx::io {

void HostBatch::allocate(const Shape& data_shape, int32_t data_dtype, const Shape& label_shape, int32_t label_dtype) {
  data = NDArray(data_shape, data_dtype, cpu());
  label = NDArray(label_shape, label_dtype, cpu());
}

// ---------------------------------------------------------------- prefetcher

Prefetcher::Prefetcher(std::unique_ptr<BatchSource> source, size_t capacity, Device dev, const std::string& name)
    : source_(std::move(source)),
      capacity_(std::max<size_t>(capacity, 1)),
      dev_(dev),
      produce_event_(name + " produce"),
      next_event_(name + " next") {
  start();
}

Prefetcher::~Prefetcher() { stop(); }

void Prefetcher::start() {
  stopping_ = finished_ = false;
  queue_.clear();
  thread_ = std::thread([this] { produce(); });
}

void Prefetcher::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopping_ = true;
  }
  can_put_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Prefetcher::produce() {
  for (;;) {
    Item item;
    try {
      profiler::HostSpan span(profiler::kIO, produce_event_.c_str());
      item.end = !source_->next(item.batch);
    } catch (const Error& e) {
      item.error = e.what();
      item.error_code = e.code();
    } catch (const std::exception& e) {
      item.error = e.what();
      item.error_code = MX_ERR_INTERNAL;
    }
    const bool last = item.end || !item.error.empty();
    std::unique_lock<std::mutex> lk(mu_);
    can_put_.wait(lk, [&] { return stopping_ || queue_.size() < capacity_; });
    if (stopping_) return;
    queue_.push_back(std::move(item));
    can_take_.notify_one();
    if (last) return;  // the epoch is over (or broken): wait for reset()
  }
}

void Prefetcher::reset() {
  stop();
  source_->reset();
  start();
}

bool Prefetcher::next() {
  profiler::HostSpan span(profiler::kIO, next_event_.c_str());
  Item item;
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (finished_) return false;
    can_take_.wait(lk, [&] { return !queue_.empty(); });
    item = std::move(queue_.front());
    queue_.pop_front();
    can_put_.notify_one();
    if (item.end || !item.error.empty()) finished_ = true;
  }
  if (!item.error.empty()) fail(item.error_code, item.error);
  if (item.end) return false;
  HostBatch& h = item.batch;
  Batch b;
  if (dev_.is_cpu()) {
    b.data = std::move(h.data);
    b.label = std::move(h.label);
  } else {  // asynchronous copies to the device, ordered by the engine
    b.data = NDArray(h.data.shape(), h.data.dtype(), dev_);
    b.label = NDArray(h.label.shape(), h.label.dtype(), dev_);
    copy(h.data, b.data);
    copy(h.label, b.label);
  }
  b.pad = h.pad;
  b.index = std::move(h.index);
  current_ = std::move(b);
  return true;
}

// ---------------------------------------------------------------- registry

std::vector<op::ParamSpec> prefetch_params() {
  op::ParamSpec buf = op::param_int("prefetch_buffer", "4", "batches prepared ahead of the consumer");
  buf.min = 1;
  return {buf, op::param_device("device of the output arrays (cpu(0), gpu(0), ...)")};
}

const std::vector<IterSpec>& iterators() {
  static const std::vector<IterSpec> all = [] {
    std::vector<IterSpec> v;
    register_mnist(v);
    register_csv(v);
    register_image_record(v);
    std::sort(v.begin(), v.end(), [](const IterSpec& a, const IterSpec& b) { return a.name < b.name; });
    return v;
  }();
  return all;
}

std::unique_ptr<DataIter> create_iter(const std::string& name, int n, const char* const* keys, const char* const* vals) {
  for (const IterSpec& s : iterators()) {
    if (s.name != name) continue;
    const op::Attrs attrs = op::parse_params(name, s.params, n, keys, vals);
    const std::string& ctx = attrs.str("ctx");
    const Device dev = ctx.empty() ? cpu() : Device::parse(ctx);
    return std::make_unique<Prefetcher>(s.make_source(attrs), size_t(attrs.i("prefetch_buffer")), dev, s.name);
  }
  std::string list;
  for (const IterSpec& s : iterators()) list += (list.empty() ? "" : ", ") + s.name;
  fail(MX_ERR_NOT_FOUND, "unknown data iterator '", name, "' (known: ", list, ")");
}

}  // namespace mx::io
