#include "resource/resource.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "storage/storage.h"

namespace mx::resource {
namespace {

class TempSpace final : public engine::WorkerData {
 public:
  explicit TempSpace(Device dev) : dev_(dev) {}
  ~TempSpace() override {
    if (block_.ptr) storage::pool(dev_).free(block_);
  }
  void* get(uint64_t bytes, void* stream) {
    if (bytes > block_.size) {
      // On an async device, work already enqueued on this worker's stream may still use the old
      // block: let it finish before the pool can hand the block to another stream.
      if (block_.ptr && stream) engine::device_streams()->stream_sync(dev_, stream);
      if (block_.ptr) storage::pool(dev_).free(block_);
      block_ = {};
      block_ = storage::pool(dev_).alloc(bytes);
    }
    return block_.ptr;
  }
  uint64_t capacity() const { return block_.size; }

 private:
  Device dev_;
  storage::Block block_;
};

TempSpace& temp_of(engine::RunContext& ctx) {
  auto& slot = *ctx.worker_data;
  if (!slot) slot = std::make_unique<TempSpace>(ctx.device);
  return static_cast<TempSpace&>(*slot);
}

uint64_t default_seed() {
  const char* env = std::getenv("MX_SEED");
  return env && *env ? std::strtoull(env, nullptr, 10) : 0x5eed0f3a1c0ffee5ULL;
}

struct Generator {
  uint64_t seed;
  uint64_t offset = 0;
};

std::mutex g_mu;
uint64_t g_seed = default_seed();
std::unordered_map<Device, Generator> g_gens;

// fork(): the generators' lock is held across it by the forking thread, so a child never
// inherits it held by a thread it lacks; the child keeps drawing the parent's streams.
void lock_gens_for_fork() { g_mu.lock(); }
void unlock_gens_after_fork() { g_mu.unlock(); }
[[maybe_unused]] const bool g_fork_hooks =
    (engine::add_fork_hooks({lock_gens_for_fork, unlock_gens_after_fork, unlock_gens_after_fork}), true);

}  // namespace

void* temp_space(engine::RunContext& ctx, uint64_t bytes) {
  if (bytes == 0) return nullptr;
  return temp_of(ctx).get(bytes, ctx.stream);
}

uint64_t temp_space_capacity(engine::RunContext& ctx) {
  return *ctx.worker_data ? temp_of(ctx).capacity() : 0;
}

RngDraw reserve_random(Device dev, uint64_t blocks) {
  std::lock_guard<std::mutex> lk(g_mu);
  auto it = g_gens.try_emplace(dev, Generator{g_seed}).first;
  RngDraw d{it->second.seed, it->second.offset};
  it->second.offset += blocks;
  return d;
}

void seed_all(uint64_t seed) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_seed = seed;
  g_gens.clear();
}

void seed_device(Device dev, uint64_t seed) {
  std::lock_guard<std::mutex> lk(g_mu);
  g_gens.insert_or_assign(dev, Generator{seed});
}

}  // namespace mx::resource
