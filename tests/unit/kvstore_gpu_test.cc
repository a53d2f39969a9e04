// The device and nccl KVStores on GPUs through the C API, checked against the host values pushed
// (bit for bit where one value is pushed; exact small-integer sums across GPUs), and the nccl
// store's errors. ctest runs the two groups apart:
//   kvstore_gpu_test     KVStoreGpu.*: skip with the reason without a GPU (the binary then exits 77,
//                        reported as skipped, never passed)
//   kvstore_nccl_errors  KVStoreNcclErrors.*: need no GPU and always run
// The CUDA backend has no arithmetic kernels yet, so the stores run without updater (stored = the
// merged value: copies only) and every sum is NCCL's.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "test_util.h"

#ifndef MX_TEST_HAVE_NCCL_PLUGIN
#define MX_TEST_HAVE_NCCL_PLUGIN 0
#endif

namespace {

using mx::test::Arr;

std::string last_error() { return mx_get_last_error(); }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Sets (or unsets, value nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1);
    else unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

class Store {
 public:
  explicit Store(const char* type) { EXPECT_MX_OK(mx_kvstore_create(type, &h_)); }
  ~Store() { mx_kvstore_free(h_); }
  mx_kvstore_t get() const { return h_; }

 private:
  mx_kvstore_t h_ = nullptr;
};

struct DType {
  int32_t code;
  const char* name;
  int bytes;
};
const DType kDTypes[] = {{MX_FLOAT32, "float32", 4}, {MX_FLOAT64, "float64", 8}, {MX_FLOAT16, "float16", 2},
                         {MX_BFLOAT16, "bfloat16", 2}, {MX_INT32, "int32", 4},  {MX_INT64, "int64", 8},
                         {MX_INT8, "int8", 1},        {MX_UINT8, "uint8", 1}};

// n elements of dt with random bits, except the exponent's top bit of floats is cleared so no
// element is NaN or infinite (a one-rank sum must return the bits it was given).
std::vector<uint8_t> random_bytes(const DType& dt, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> v(size_t(n * dt.bytes));
  for (auto& b : v) b = uint8_t(rng());
  const bool is_float = dt.code == MX_FLOAT32 || dt.code == MX_FLOAT64 || dt.code == MX_FLOAT16 || dt.code == MX_BFLOAT16;
  if (is_float)
    for (int64_t i = 0; i < n; ++i) v[size_t((i + 1) * dt.bytes - 1)] &= 0xBF;  // little-endian: top byte
  return v;
}

Arr gpu_array(const std::vector<int64_t>& shape, int32_t dtype, int gpu, const std::vector<uint8_t>& bytes) {
  Arr a(shape, dtype, MX_DEVICE_GPU, gpu);
  if (!bytes.empty()) {
    EXPECT_MX_OK(mx_ndarray_copy_from_host(a.get(), bytes.data(), bytes.size()));
  }
  return a;
}

// "" when a GPU of the CUDA backend is usable, else why not; *n the GPU count.
std::string why_no_gpu(int32_t* n) {
  *n = 0;
  int32_t nb = 0;
  if (mx_backend_count(&nb) != 0) return "mx_backend_count failed: " + last_error();
  std::string why = "no CUDA backend plugin was found";
  for (int32_t i = 0; i < nb; ++i) {
    mx_backend_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    if (mx_backend_get_info(i, &info) != 0) return "mx_backend_get_info failed: " + last_error();
    if (std::string(info.name) == "cuda")
      why = info.failed_step == MX_BACKEND_OK ? "" : std::string("cuda backend: ") + info.message;
  }
  if (!why.empty()) return why;
  if (mx_device_count(MX_DEVICE_GPU, n) != 0) return "mx_device_count failed: " + last_error();
  return *n > 0 ? "" : "the cuda backend reports no GPU";
}

class KVStoreGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = why_no_gpu(&ngpu_);
    if (!why.empty()) GTEST_SKIP() << why;
    if (!MX_TEST_HAVE_NCCL_PLUGIN && std::string(test_info()->name()).rfind("Nccl", 0) == 0)
      GTEST_SKIP() << "libmx_kvstore_nccl.so was not built (no NCCL found at configure time)";
  }
  const ::testing::TestInfo* test_info() const { return ::testing::UnitTest::GetInstance()->current_test_info(); }
  int32_t ngpu_ = 0;
};

// init, pull, push one value, pull: the stored value is exactly what was pushed, on the GPU and
// back on the host, for every dtype NCCL sums.
void one_gpu_round_trips(const char* type) {
  Store kv(type);
  const std::vector<int64_t> shape{3, 1031};
  int key = 0;
  for (const DType& dt : kDTypes) {
    SCOPED_TRACE(std::string(type) + " " + dt.name);
    const std::string k = std::to_string(key++);
    const char* keys[] = {k.c_str()};
    const auto a = random_bytes(dt, 3 * 1031, 1 + uint32_t(key)), b = random_bytes(dt, 3 * 1031, 100 + uint32_t(key));
    Arr init = gpu_array(shape, dt.code, 0, a), out_gpu = gpu_array(shape, dt.code, 0, {});
    Arr out_cpu(shape, dt.code);
    mx_ndarray_t v[] = {init.get()};
    ASSERT_MX_OK(mx_kvstore_init(kv.get(), 1, keys, v));
    mx_ndarray_t o[] = {out_gpu.get()};
    ASSERT_MX_OK(mx_kvstore_pull(kv.get(), 1, keys, o, 0));
    EXPECT_EQ(out_gpu.to_bytes(), a);

    // Twice, so a second push reuses the merge buffer and the communicator.
    for (int round = 0; round < 2; ++round) {
      const auto c = round == 0 ? b : a;
      Arr push = gpu_array(shape, dt.code, 0, c);
      mx_ndarray_t p[] = {push.get()};
      ASSERT_MX_OK(mx_kvstore_push(kv.get(), 1, keys, p, 0));
      const char* keys2[] = {k.c_str(), k.c_str()};
      mx_ndarray_t o2[] = {out_gpu.get(), out_cpu.get()};
      ASSERT_MX_OK(mx_kvstore_pull(kv.get(), 2, keys2, o2, 0));
      EXPECT_EQ(out_gpu.to_bytes(), c) << "round " << round;
      EXPECT_EQ(out_cpu.to_bytes(), c) << "round " << round;
    }
  }
  EXPECT_MX_OK(mx_ndarray_wait_all());
}

TEST_F(KVStoreGpu, DeviceStoreOnOneGpuReturnsWhatWasPushed) { one_gpu_round_trips("device"); }

TEST_F(KVStoreGpu, NcclSingleRankIsTheIdentity) { one_gpu_round_trips("nccl"); }

TEST_F(KVStoreGpu, NcclRefusesTwoValuesOnOneGpu) {
  Store kv("nccl");
  const char* keys[] = {"w", "w"};
  Arr a = gpu_array({8}, MX_FLOAT32, 0, std::vector<uint8_t>(32, 0)), b = gpu_array({8}, MX_FLOAT32, 0, {});
  mx_ndarray_t v[] = {a.get(), b.get()};
  ASSERT_MX_OK(mx_kvstore_init(kv.get(), 1, keys, v));
  EXPECT_EQ(mx_kvstore_push(kv.get(), 2, keys, v, 0), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(has(last_error(), "gpu(0)") && has(last_error(), "one value per GPU")) << last_error();
}

// One value per GPU, summed by NCCL: small integers, so float32 sums are exact too. The stored
// value sits on the last GPU, and a second push leaves that GPU out (a staging copy then).
TEST_F(KVStoreGpu, NcclSumsOneValuePerGpu) {
  if (ngpu_ < 2) GTEST_SKIP() << "one GPU: the sum across GPUs needs two or more (single rank: NcclSingleRankIsTheIdentity)";
  Store kv("nccl");
  const int64_t n = 4099;
  for (const DType& dt : {kDTypes[0], kDTypes[4]}) {
    SCOPED_TRACE(dt.name);
    const std::string k = dt.name;
    auto bytes_of = [&](const std::vector<int32_t>& x) {
      std::vector<uint8_t> out(x.size() * 4);
      for (size_t i = 0; i < x.size(); ++i) {
        if (dt.code == MX_FLOAT32) {
          const float f = float(x[i]);
          std::memcpy(&out[i * 4], &f, 4);
        } else {
          std::memcpy(&out[i * 4], &x[i], 4);
        }
      }
      return out;
    };
    auto value = [&](int g) {
      std::vector<int32_t> x(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) x[size_t(i)] = int32_t((i % 97) - 48) * (g + 1) + g;
      return x;
    };
    std::vector<int32_t> sum(size_t(n), 0), sum_head(size_t(n), 0);
    std::vector<Arr> vals;
    for (int g = 0; g < ngpu_; ++g) {
      const auto x = value(g);
      for (int64_t i = 0; i < n; ++i) {
        sum[size_t(i)] += x[size_t(i)];
        if (g < ngpu_ - 1) sum_head[size_t(i)] += x[size_t(i)];
      }
      vals.push_back(gpu_array({n}, dt.code, g, bytes_of(x)));
    }
    const char* key1[] = {k.c_str()};
    mx_ndarray_t init[] = {vals.back().get()};
    ASSERT_MX_OK(mx_kvstore_init(kv.get(), 1, key1, init));

    std::vector<const char*> keys(size_t(ngpu_), k.c_str());
    std::vector<mx_ndarray_t> hs;
    for (auto& v : vals) hs.push_back(v.get());
    ASSERT_MX_OK(mx_kvstore_push(kv.get(), ngpu_, keys.data(), hs.data(), 0));
    std::vector<Arr> outs;
    for (int g = 0; g < ngpu_; ++g) outs.push_back(gpu_array({n}, dt.code, g, {}));
    outs.emplace_back(std::vector<int64_t>{n}, dt.code);
    std::vector<const char*> okeys(outs.size(), k.c_str());
    std::vector<mx_ndarray_t> os;
    for (auto& o : outs) os.push_back(o.get());
    ASSERT_MX_OK(mx_kvstore_pull(kv.get(), int32_t(os.size()), okeys.data(), os.data(), 0));
    for (size_t i = 0; i < outs.size(); ++i) EXPECT_EQ(outs[i].to_bytes(), bytes_of(sum)) << "output " << i;

    // Without the stored value's GPU among the values.
    ASSERT_MX_OK(mx_kvstore_push(kv.get(), ngpu_ - 1, keys.data(), hs.data(), 0));
    ASSERT_MX_OK(mx_kvstore_pull(kv.get(), int32_t(os.size()), okeys.data(), os.data(), 0));
    for (size_t i = 0; i < outs.size(); ++i) EXPECT_EQ(outs[i].to_bytes(), bytes_of(sum_head)) << "output " << i;
  }
  EXPECT_MX_OK(mx_ndarray_wait_all());
}

// ---------------------------------------------------------------- errors: no GPU needed

TEST(KVStoreNcclErrors, AMissingPluginIsNamed) {
  const std::string missing = "/nonexistent/kvstore_gpu_test/libmx_kvstore_nccl.so";
  ScopedEnv env("MX_KVSTORE_DEVICE_COMM", missing.c_str());
  mx_kvstore_t h = nullptr;
  EXPECT_EQ(mx_kvstore_create("nccl", &h), -1);
  EXPECT_EQ(h, nullptr);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
  EXPECT_TRUE(has(last_error(), missing + ": no such file")) << last_error();
  EXPECT_TRUE(has(last_error(), "MX_KVSTORE_DEVICE_COMM")) << last_error();
}

TEST(KVStoreNcclErrors, CpuValuesAreRefused) {
  // The plugin as discovery finds it (scripts/gpu-check.sh points MX_KVSTORE_DEVICE_COMM at it).
  mx_kvstore_t h = nullptr;
  if (!MX_TEST_HAVE_NCCL_PLUGIN) {  // built without NCCL: create says what is missing
    EXPECT_EQ(mx_kvstore_create("nccl", &h), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
    EXPECT_TRUE(has(last_error(), "libmx_kvstore_nccl.so")) << last_error();
    return;
  }
  ASSERT_MX_OK(mx_kvstore_create("nccl", &h));
  Arr cpu_value({4, 5});
  const char* keys[] = {"3"};
  mx_ndarray_t v[] = {cpu_value.get()};
  EXPECT_EQ(mx_kvstore_init(h, 1, keys, v), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED);
  EXPECT_TRUE(has(last_error(), "cpu(0)") && has(last_error(), "'device'")) << last_error();
  // A refused init leaves the key free; a push of it is then "not initialised".
  EXPECT_EQ(mx_kvstore_push(h, 1, keys, v, 0), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
  EXPECT_EQ(mx_kvstore_set_gradient_compression(h, "2bit", 0.5), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED);
  EXPECT_MX_OK(mx_kvstore_free(h));
}

TEST(KVStoreNcclErrors, DistDeviceSyncSaysWhatIsMissing) {
  mx_kvstore_t h = nullptr;
  EXPECT_EQ(mx_kvstore_create("dist_device_sync", &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED);
  EXPECT_TRUE(has(last_error(), "NCCL across processes")) << last_error();
}

}  // namespace
