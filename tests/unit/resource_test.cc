// Resources: Philox 4x32-10 against the Random123 known-answer vectors, per-worker temp space,
// and random ops that give the same numbers whatever the number of engine workers.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "engine/engine.h"
#include "mx/c_api.h"
#include "mx/philox.h"
#include "plugin/registry.h"
#include "resource/resource.h"
#include "test_util.h"

namespace mx {
namespace {

TEST(Philox, KnownAnswerVectors) {
  // Random123 kat_vectors: philox4x32 10 rounds.
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  } kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    mx_philox_u32x4 c = {{k.ctr[0], k.ctr[1], k.ctr[2], k.ctr[3]}};
    mx_philox_u32x4 r = mx_philox4x32_10(c, k.key[0], k.key[1]);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r.v[i], k.out[i]) << "lane " << i;
  }
}

TEST(TempSpace, GrowsAndIsReusedPerWorker) {
  plugin::runtime_init();
  engine::RunContext ctx;
  std::unique_ptr<engine::WorkerData> slot;
  ctx.device = cpu();
  ctx.worker_data = &slot;
  EXPECT_EQ(resource::temp_space_capacity(ctx), 0u);
  void* a = resource::temp_space(ctx, 1000);
  EXPECT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  EXPECT_EQ(resource::temp_space(ctx, 500), a) << "smaller requests reuse the buffer";
  const uint64_t cap = resource::temp_space_capacity(ctx);
  void* b = resource::temp_space(ctx, 100000);
  EXPECT_GE(resource::temp_space_capacity(ctx), 100000u);
  EXPECT_GT(resource::temp_space_capacity(ctx), cap);
  EXPECT_EQ(resource::temp_space(ctx, 1000), b) << "grow-only: never shrinks";
  slot.reset();  // returns the block to the pool
}

std::vector<float> draw(const char* op, int n, uint64_t seed) {
  EXPECT_MX_OK(mx_random_seed(seed));
  std::vector<float> out;
  // Several ops in a row: offsets must advance in push order, not run order.
  for (int rep = 0; rep < 3; ++rep) {
    std::string shape = "(";  // built by appends: "(" + std::string&& trips GCC 12's -Wrestrict
    shape += std::to_string(n) + ",)";
    const char* k[] = {"shape"};
    const char* v[] = {shape.c_str()};
    test::Arr a = test::invoke1(op, {}, 1, k, v);
    auto host = a.to_vector<float>();
    out.insert(out.end(), host.begin(), host.end());
  }
  return out;
}

TEST(Random, SameNumbersWhateverTheWorkerCount) {
  engine::set_type("threaded", 1);
  auto u1 = draw("_random_uniform", 1001, 7), n1 = draw("_random_normal", 999, 7);
  engine::set_type("threaded", 4);
  auto u4 = draw("_random_uniform", 1001, 7), n4 = draw("_random_normal", 999, 7);
  engine::set_type("naive");
  auto un = draw("_random_uniform", 1001, 7);
  engine::set_type("threaded", 1);
  EXPECT_EQ(u1, u4);
  EXPECT_EQ(n1, n4);
  EXPECT_EQ(u1, un);
  EXPECT_NE(draw("_random_uniform", 1001, 8), u1) << "another seed gives other numbers";
}

TEST(Random, MatchesPhiloxReferenceAndDistribution) {
  ASSERT_MX_OK(mx_random_seed(1234));
  const int n = 200000;
  const char* k[] = {"shape", "low", "high"};
  const char* v[] = {"(200000)", "-2", "3"};
  auto u = test::invoke1("_random_uniform", {}, 3, k, v).to_vector<float>();
  // Element i is lane i % 4 of Philox block (first offset + i / 4) under the seed: recompute the
  // first elements independently. The first draw after seeding starts at offset 0.
  for (int i = 0; i < 64; ++i) {
    mx_philox_u32x4 r = mx_philox_block(1234, uint64_t(i / 4));
    float expect = -2.0f + 5.0f * float(r.v[i % 4] >> 8) / 16777216.0f;
    EXPECT_FLOAT_EQ(u[size_t(i)], expect) << i;
  }
  double mean = 0, var = 0;
  for (float x : u) {
    ASSERT_GE(x, -2.0f);
    ASSERT_LT(x, 3.0f);
    mean += x;
  }
  mean /= n;
  for (float x : u) var += (x - mean) * (x - mean);
  var /= n;
  EXPECT_NEAR(mean, 0.5, 0.02);
  EXPECT_NEAR(var, 25.0 / 12.0, 0.03);

  const char* kn[] = {"shape", "loc", "scale", "dtype"};
  const char* vn[] = {"(200000)", "1.5", "2", "float64"};
  auto z = test::invoke1("_random_normal", {}, 4, kn, vn).to_vector<double>();
  mean = var = 0;
  for (double x : z) mean += x;
  mean /= n;
  for (double x : z) var += (x - mean) * (x - mean);
  var /= n;
  EXPECT_NEAR(mean, 1.5, 0.03);
  EXPECT_NEAR(var, 4.0, 0.06);
}

// n float32 uniforms in [0, 1) on dev: element i is lane i % 4 of Philox block (offset + i / 4).
std::vector<float> uniform_on(const char* dev, int n) {
  std::string shape = "(";  // appends, not "(" + std::string&& (GCC 12's -Wrestrict)
  shape += std::to_string(n) + ",)";
  const char* k[] = {"shape", "ctx"};
  const char* v[] = {shape.c_str(), dev};
  return test::invoke1("_random_uniform", {}, 2, k, v).to_vector<float>();
}

// What the first n uniforms drawn at counter block `offset` under `seed` must be, from Philox alone.
std::vector<float> philox_uniform(uint64_t seed, uint64_t offset, int n) {
  std::vector<float> out;
  for (int i = 0; i < n; ++i)
    out.push_back(float(mx_philox_block(seed, offset + uint64_t(i / 4)).v[i % 4] >> 8) / 16777216.0f);
  return out;
}

TEST(Random, SeedingOneDeviceLeavesTheOthersAlone) {
  const int n = 64;  // 16 Philox blocks a draw
  ASSERT_MX_OK(mx_random_seed(42));
  EXPECT_EQ(uniform_on("cpu(0)", n), philox_uniform(42, 0, n));
  ASSERT_MX_OK(mx_random_seed_device(MX_DEVICE_CPU, 1, 7));
  // cpu(0) goes on where it was (seed 42, block 16); cpu(1) starts over under its own seed
  EXPECT_EQ(uniform_on("cpu(0)", n), philox_uniform(42, 16, n));
  const auto first = uniform_on("cpu(1)", n), second = uniform_on("cpu(1)", n);
  EXPECT_EQ(first, philox_uniform(7, 0, n));
  EXPECT_EQ(second, philox_uniform(7, 16, n));
  // the same seed again repeats cpu(1)'s numbers, and still leaves cpu(0) alone
  ASSERT_MX_OK(mx_random_seed_device(MX_DEVICE_CPU, 1, 7));
  EXPECT_EQ(uniform_on("cpu(1)", n), first);
  EXPECT_EQ(uniform_on("cpu(1)", n), second);
  EXPECT_EQ(uniform_on("cpu(0)", n), philox_uniform(42, 32, n));
  // a later seed of every device overrides the per-device one
  ASSERT_MX_OK(mx_random_seed(5));
  EXPECT_EQ(uniform_on("cpu(1)", n), philox_uniform(5, 0, n));
  EXPECT_EQ(uniform_on("cpu(0)", n), philox_uniform(5, 0, n));
}

TEST(Random, SeedingAnUnknownDeviceFailsNamingIt) {
  auto fails_naming = [](int32_t type, int32_t id, const std::string& part) {
    EXPECT_EQ(mx_random_seed_device(type, id, 1), -1);
    const std::string msg = mx_get_last_error();
    EXPECT_NE(msg.find("mx_random_seed_device"), std::string::npos) << msg;
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND) << msg;
  };
  fails_naming(MX_DEVICE_CPU, 4096, "cpu(4096)");
  fails_naming(MX_DEVICE_CPU, -1, "cpu(-1)");
  fails_naming(MX_DEVICE_GPU, 4096, "gpu(4096)");
  fails_naming(77, 0, "device_type 77");
}

}  // namespace
}  // namespace mx
