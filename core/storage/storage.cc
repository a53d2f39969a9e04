#include "storage/storage.h"

#include <bit>
#include <memory>

#include "base/error.h"
#include "engine/engine.h"
#include "profiler/profiler.h"

namespace mx::storage {

uint64_t size_class(uint64_t bytes) {
  constexpr uint64_t kMin = 256;
  if (bytes <= kMin) return kMin;
  // Round up to a multiple of a quarter of the enclosing power of two.
  const int top = 63 - std::countl_zero(bytes - 1);  // 2^top < bytes <= 2^(top+1)
  const uint64_t step = (uint64_t(1) << top) / 4;
  return (bytes + step - 1) / step * step;
}

Pool::Pool(Device dev, DeviceAllocator* device) : dev_(dev), device_(device) {}

Pool::~Pool() {
  std::lock_guard<std::mutex> lk(mu_);
  release_all_locked();
}

Block Pool::alloc(uint64_t bytes) {
  const uint64_t size = size_class(bytes);
  std::lock_guard<std::mutex> lk(mu_);
  auto take = [&](void* p) {
    stats_.in_use += size;
    if (stats_.in_use > stats_.peak_in_use) stats_.peak_in_use = stats_.in_use;
    if (profiler::recording(profiler::kMemory)) profiler::record_memory(dev_, int64_t(size), stats_.in_use);
    return Block{p, size, dev_};
  };
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    void* p = it->second.back();
    it->second.pop_back();
    stats_.pooled -= size;
    return take(p);
  }
  auto within_limit = [&] { return stats_.limit == 0 || stats_.in_use + stats_.pooled + size <= stats_.limit; };
  void* p = nullptr;
  for (int attempt = 0; attempt < 2 && !p; ++attempt) {
    if (attempt == 1) release_all_locked();  // out of memory: give the pool back and retry once
    if (within_limit()) p = device_->alloc(size, device_->alignment());
  }
  if (!p) {
    fail(MX_ERR_OUT_OF_MEMORY, "out of memory on ", dev_.str(), ": cannot allocate ", bytes, " bytes (size class ",
         size, ") with ", stats_.in_use, " bytes in use",
         stats_.limit ? str_cat(" and a limit of ", stats_.limit, " bytes") : std::string(" (device memory exhausted)"));
  }
  ++stats_.device_allocs;
  return take(p);
}

void Pool::free(const Block& b) {
  if (!b.ptr) return;
  std::lock_guard<std::mutex> lk(mu_);
  stats_.in_use -= b.size;
  stats_.pooled += b.size;
  if (profiler::recording(profiler::kMemory)) profiler::record_memory(dev_, -int64_t(b.size), stats_.in_use);
  free_[b.size].push_back(b.ptr);
}

void Pool::empty_cache() {
  std::lock_guard<std::mutex> lk(mu_);
  release_all_locked();
}

void Pool::release_all_locked() {
  for (auto& [size, blocks] : free_) {
    for (void* p : blocks) device_->free(p);
    stats_.pooled -= size * blocks.size();
    blocks.clear();
  }
}

Stats Pool::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  return stats_;
}

void Pool::set_limit(uint64_t bytes) {
  std::lock_guard<std::mutex> lk(mu_);
  stats_.limit = bytes;
}

namespace {

std::mutex g_mu;
AllocatorProvider g_provider;
// Pools live for the process: arrays freed during static teardown still return memory here.
auto* g_pools = new std::unordered_map<Device, std::unique_ptr<Pool>>();

// fork(): no pool lock may be copied into the child held by a thread the child lacks, so the
// forking thread holds them all across it (after the engine has stopped its workers).
void lock_pools_for_fork() {
  g_mu.lock();
  for (auto& [dev, p] : *g_pools) p->lock_for_fork();
}
void unlock_pools_after_fork() {
  for (auto& [dev, p] : *g_pools) p->unlock_after_fork();
  g_mu.unlock();
}
[[maybe_unused]] const bool g_fork_hooks =
    (engine::add_fork_hooks({lock_pools_for_fork, unlock_pools_after_fork, unlock_pools_after_fork}), true);

}  // namespace

void set_allocator_provider(AllocatorProvider provider) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_provider = std::move(provider);
}

Pool& pool(Device dev) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_pools->find(dev);
  if (it != g_pools->end()) return *it->second;
  DeviceAllocator* a = g_provider ? g_provider(dev) : nullptr;
  if (!a) fail(MX_ERR_NOT_FOUND, "no backend serves device ", dev.str(), " (see mx_backend_list / mx-info)");
  return *g_pools->emplace(dev, std::make_unique<Pool>(dev, a)).first->second;
}

}  // namespace mx::storage
