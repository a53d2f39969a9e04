// Pooled device memory. One pool per device sits on the backend's alloc/free: requests are
// rounded to size classes (4 per power of two, at least 256 B, so waste stays under 25 %), freed
// blocks wait in per-class free lists for reuse, and a request past the device's memory or the
// configured limit first returns every pooled block to the device, then retries, then fails
// with MX_ERR_OUT_OF_MEMORY naming the device and the sizes involved.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/device.h"

namespace mx::storage {

// Raw device memory; alloc returns nullptr when the device is out of memory.
class DeviceAllocator {
 public:
  virtual ~DeviceAllocator() = default;
  virtual void* alloc(uint64_t bytes, uint64_t alignment) = 0;
  virtual void free(void* ptr) = 0;
  virtual uint64_t alignment() const = 0;  // 64 on hosts, 256 on GPUs
};

struct Block {
  void* ptr = nullptr;
  uint64_t size = 0;  // the size class actually reserved
  Device dev;
};

struct Stats {
  uint64_t in_use = 0;
  uint64_t pooled = 0;
  uint64_t peak_in_use = 0;
  uint64_t device_allocs = 0;
  uint64_t limit = 0;
};

// The size class a request of `bytes` is served from.
uint64_t size_class(uint64_t bytes);

class Pool {
 public:
  Pool(Device dev, DeviceAllocator* device);
  ~Pool();
  Block alloc(uint64_t bytes);
  void free(const Block& b);
  void empty_cache();
  Stats stats();
  void set_limit(uint64_t bytes);
  Device device() const { return dev_; }
  // Held across fork() by the forking thread (see engine::add_fork_hooks).
  void lock_for_fork() { mu_.lock(); }
  void unlock_after_fork() { mu_.unlock(); }

 private:
  void release_all_locked();

  Device dev_;
  DeviceAllocator* device_;
  std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<void*>> free_;  // size class -> blocks
  Stats stats_;
};

// Supplies the allocator of a device (the plugin layer); nullptr if no backend serves it.
using AllocatorProvider = std::function<DeviceAllocator*(Device)>;
void set_allocator_provider(AllocatorProvider provider);

// The pool of a device, created on first use; throws MX_ERR_NOT_FOUND if no backend serves it.
Pool& pool(Device dev);

}  // namespace mx::storage
