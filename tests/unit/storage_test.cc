// Storage pool: size classes, reuse, alignment, statistics and the out-of-memory path, over a
// fake device that counts its allocations and can run out of memory.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "base/error.h"
#include "storage/storage.h"

namespace mx::storage {
namespace {

class FakeDevice : public DeviceAllocator {
 public:
  explicit FakeDevice(uint64_t capacity) : capacity_(capacity) {}
  void* alloc(uint64_t bytes, uint64_t alignment) override {
    if (used_ + bytes > capacity_) return nullptr;
    used_ += bytes;
    ++allocs;
    void* p = std::aligned_alloc(alignment, bytes);
    sizes_[p] = bytes;
    return p;
  }
  void free(void* p) override {
    used_ -= sizes_[p];
    sizes_.erase(p);
    ++frees;
    std::free(p);
  }
  uint64_t alignment() const override { return 256; }
  uint64_t used() const { return used_; }
  int allocs = 0, frees = 0;

 private:
  uint64_t capacity_, used_ = 0;
  std::map<void*, uint64_t> sizes_;
};

TEST(SizeClass, RoundsUpWithBoundedWaste) {
  EXPECT_EQ(size_class(1), 256u);
  EXPECT_EQ(size_class(256), 256u);
  EXPECT_EQ(size_class(257), 320u);  // 256 < n <= 512 steps by 64
  EXPECT_EQ(size_class(1000), 1024u);
  EXPECT_EQ(size_class(1025), 1280u);
  for (uint64_t n = 1; n < (1u << 22); n = n * 3 / 2 + 1) {
    const uint64_t c = size_class(n);
    EXPECT_GE(c, n);
    EXPECT_LE(double(c), std::max(256.0, double(n) * 1.25)) << n;
    EXPECT_EQ(size_class(c), c) << "a class is its own class";
  }
}

TEST(Pool, ReusesFreedBlocksOfTheSameClass) {
  FakeDevice dev(1 << 20);
  Pool pool(cpu(), &dev);
  Block a = pool.alloc(1000);
  void* first = a.ptr;
  pool.free(a);
  Block b = pool.alloc(900);  // same 1024-byte class
  EXPECT_EQ(b.ptr, first);
  EXPECT_EQ(dev.allocs, 1);
  Block c = pool.alloc(5000);  // another class: a new device allocation
  EXPECT_EQ(dev.allocs, 2);
  pool.free(b);
  pool.free(c);
}

TEST(Pool, AlignmentAndStats) {
  FakeDevice dev(1 << 24);
  Pool pool(cpu(), &dev);
  std::vector<Block> blocks;
  for (uint64_t n : {1u, 100u, 4097u, 65536u, 1000000u}) {
    blocks.push_back(pool.alloc(n));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks.back().ptr) % 256, 0u);
  }
  uint64_t expect = 0;
  for (auto& b : blocks) expect += b.size;
  Stats s = pool.stats();
  EXPECT_EQ(s.in_use, expect);
  EXPECT_EQ(s.pooled, 0u);
  EXPECT_EQ(s.peak_in_use, expect);
  for (auto& b : blocks) pool.free(b);
  s = pool.stats();
  EXPECT_EQ(s.in_use, 0u);
  EXPECT_EQ(s.pooled, expect);
  EXPECT_EQ(s.peak_in_use, expect);
  EXPECT_EQ(dev.used(), expect);
  pool.empty_cache();
  EXPECT_EQ(pool.stats().pooled, 0u);
  EXPECT_EQ(dev.used(), 0u);
  EXPECT_EQ(dev.frees, 5);
}

TEST(Pool, OutOfMemoryReleasesPoolThenRetries) {
  FakeDevice dev(4096);
  Pool pool(cpu(), &dev);
  Block a = pool.alloc(2048);
  pool.free(a);  // 2048 pooled, device full-ish
  Block b = pool.alloc(3000);  // needs 3072: only fits once the pooled block is released
  EXPECT_NE(b.ptr, nullptr);
  EXPECT_EQ(pool.stats().pooled, 0u);
  try {
    pool.alloc(4096);
    FAIL() << "expected out of memory";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), MX_ERR_OUT_OF_MEMORY);
    EXPECT_NE(std::string(e.what()).find("cpu(0)"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("4096 bytes"), std::string::npos) << e.what();
  }
  pool.free(b);
}

TEST(Pool, ConfigurableLimit) {
  FakeDevice dev(1 << 30);
  Pool pool(cpu(), &dev);
  pool.set_limit(1 << 20);
  Block a = pool.alloc(600 << 10);
  EXPECT_THROW(pool.alloc(600 << 10), Error);
  pool.free(a);
  Block b = pool.alloc(600 << 10);  // reuses the pooled block
  EXPECT_EQ(b.ptr, a.ptr);
  pool.free(b);
  pool.set_limit(0);
  Block c = pool.alloc(600 << 10), d = pool.alloc(600 << 10);
  pool.free(c);
  pool.free(d);
}

}  // namespace
}  // namespace mx::storage
