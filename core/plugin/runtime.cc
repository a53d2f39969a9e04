// Connects the registry's backends to the core's services: storage gets each device's
// alloc/free, the engine gets streams and events for devices that run asynchronously.
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "base/error.h"
#include "engine/engine.h"
#include "plugin/registry.h"
#include "storage/storage.h"

namespace mx::plugin {
namespace {

class BackendAllocator final : public storage::DeviceAllocator {
 public:
  BackendAllocator(const Backend& b, int32_t id) : b_(b), id_(id) {}
  void* alloc(uint64_t bytes, uint64_t alignment) override {
    void* p = nullptr;
    if (b_.api.alloc(id_, bytes, alignment, &p) != 0) {
      take_backend_error(nullptr);  // reported by storage as out of memory
      return nullptr;
    }
    return p;
  }
  void free(void* p) override { b_.api.free(id_, p); }
  uint64_t alignment() const override { return b_.device_type == MX_DEVICE_CPU ? 64 : 256; }

 private:
  const Backend& b_;
  int32_t id_;
};

class BackendStreams final : public engine::DeviceStreams {
 public:
  bool is_async(Device dev) override {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = async_.find(dev);
    if (it != async_.end()) return it->second;
    const Backend* b = registry().for_type(dev.type);
    bool async = false;
    if (b && b->api.device_props && b->api.stream_create && b->api.event_record && b->api.stream_wait_event) {
      mx_device_props props{};
      props.struct_size = sizeof(props);
      if (b->api.device_props(dev.id, &props) == 0) async = props.supports_async && props.supports_events;
      else take_backend_error(nullptr);
    }
    return async_[dev] = async;
  }
  void* stream_create(Device dev) override {
    const Backend& b = registry().for_device(dev);
    mx_stream_t s = nullptr;
    check(b, b.api.stream_create(dev.id, &s), "stream_create");
    return s;
  }
  void stream_destroy(Device dev, void* s) override {
    const Backend& b = registry().for_device(dev);
    if (b.api.stream_destroy) b.api.stream_destroy(s);
  }
  void stream_sync(Device dev, void* s) override {
    const Backend& b = registry().for_device(dev);
    check(b, b.api.stream_sync(s), "stream_sync");
  }
  void* event_create(Device dev) override {
    const Backend& b = registry().for_device(dev);
    mx_event_t e = nullptr;
    check(b, b.api.event_create(dev.id, &e), "event_create");
    return e;
  }
  void event_destroy(Device dev, void* e) override {
    const Backend& b = registry().for_device(dev);
    if (b.api.event_destroy) b.api.event_destroy(e);
  }
  void event_record(Device dev, void* e, void* s) override {
    const Backend& b = registry().for_device(dev);
    check(b, b.api.event_record(e, s), "event_record");
  }
  void stream_wait_event(Device dev, void* s, void* e) override {
    const Backend& b = registry().for_device(dev);
    check(b, b.api.stream_wait_event(s, e), "stream_wait_event");
  }
  void event_sync(Device dev, void* e) override {
    const Backend& b = registry().for_device(dev);
    check(b, b.api.event_sync(e), "event_sync");
  }
  void* stream_from_native(Device dev, uint64_t native) override {
    const Backend& b = registry().for_device(dev);
    if (!b.api.stream_from_native)  // NULL also when the plugin's table ends before it
      fail(MX_ERR_UNSUPPORTED, "backend ", b.name, " cannot order ", dev.str(),
           " work with a foreign stream (no stream_from_native; built for an older backend ABI?)");
    mx_stream_t s = nullptr;
    check(b, b.api.stream_from_native(dev.id, native, &s), "stream_from_native");
    return s;
  }

 private:
  std::mutex mu_;
  std::unordered_map<Device, bool> async_;
};

}  // namespace

void runtime_init() {
  // Called on every C API entry that touches devices: an acquire load once initialised.
  static std::atomic<bool> done{false};
  if (done.load(std::memory_order_acquire)) return;
  static std::once_flag once;
  std::call_once(once, [] {
    engine::set_device_streams(new BackendStreams());  // lives until exit, like the workers using it
    storage::set_allocator_provider([](Device dev) -> storage::DeviceAllocator* {
      static std::mutex mu;
      static auto* allocators = new std::unordered_map<Device, std::unique_ptr<BackendAllocator>>();
      const Backend& b = registry().for_device(dev);  // throws a clear error if none
      std::lock_guard<std::mutex> lk(mu);
      auto& a = (*allocators)[dev];
      if (!a) a = std::make_unique<BackendAllocator>(b, dev.id);
      return a.get();
    });
    registry().discover();
    done.store(true, std::memory_order_release);
  });
}

}  // namespace mx::plugin
