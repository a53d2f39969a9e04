// Cross-stream ordering on an asynchronous device, with the fake async plugin standing in for a
// GPU (tests/plugins/async_backend.cc): ops on two compute streams and a copy stream, each slow
// and only enqueued when the engine "completes" it, must still see each other's results; the
// engine orders them with events (device-side waits), not by blocking its workers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "engine/engine.h"
#include "test_util.h"

#ifndef MX_TEST_ASYNC_PLUGIN
#error "MX_TEST_ASYNC_PLUGIN must name the fake async backend"
#endif

namespace {

using mx::test::Arr;

Arr full_gpu(float v, int64_t n) {
  std::string shape = "(";  // built by appends: "(" + std::string&& trips GCC 12's -Wrestrict
  shape += std::to_string(n) + ",)";
  const std::string val = std::to_string(v);
  const char* k[] = {"shape", "value", "ctx"};
  const char* vals[] = {shape.c_str(), val.c_str(), "gpu(0)"};
  return mx::test::invoke1("_full", {}, 3, k, vals);
}

void full_into(Arr& out, float v) {
  std::string shape = "(";  // built by appends: "(" + std::string&& trips GCC 12's -Wrestrict
  shape += std::to_string(out.shape()[0]) + ",)";
  const std::string val = std::to_string(v);
  const char* k[] = {"shape", "value", "ctx"};
  const char* vals[] = {shape.c_str(), val.c_str(), "gpu(0)"};
  mx_ndarray_t o[] = {out.get()};
  mx_ndarray_t* op = o;
  int32_t n = 1;
  ASSERT_MX_OK(mx_imperative_invoke("_full", 0, nullptr, &n, &op, 3, k, vals));
}

class AsyncDevice : public ::testing::TestWithParam<const char*> {
 protected:
  static void SetUpTestSuite() {
    // Found before the CUDA plugin in discovery order, so it serves "gpu" in this process.
    setenv("MX_BACKEND_PATH", MX_TEST_ASYNC_PLUGIN, 1);
  }
  void SetUp() override {
    mx::engine::set_type(GetParam(), 1);
    int32_t n = 0;
    ASSERT_MX_OK(mx_device_count(MX_DEVICE_GPU, &n));
    ASSERT_EQ(n, 1) << "the fake async backend did not load";
  }
};

TEST_P(AsyncDevice, ChainsAcrossStreamsSeeEachOthersResults) {
  const int64_t n = 4096;
  Arr host({n});
  for (int r = 1; r <= 40; ++r) {
    Arr a = full_gpu(float(r), n);                       // compute stream X
    Arr b = mx::test::invoke1("elemwise_add", {a.get(), a.get()});  // 2r, maybe stream Y
    Arr c = mx::test::invoke1("elemwise_add", {b.get(), a.get()});  // 3r
    full_into(a, float(r + 1000));  // write after read: must wait for both reads of a
    Arr d({n}, MX_FLOAT32, MX_DEVICE_GPU);
    ASSERT_MX_OK(mx_ndarray_copy_to(c.get(), d.get()));     // copy stream
    ASSERT_MX_OK(mx_ndarray_copy_to(d.get(), host.get()));  // device -> host on the copy stream
    auto h = host.to_vector<float>();
    ASSERT_EQ(h.front(), 3.0f * r) << "round " << r;
    ASSERT_EQ(h.back(), 3.0f * r) << "round " << r;
    auto bb = b.to_vector<float>();
    ASSERT_EQ(bb[n / 2], 2.0f * r) << "b was computed from the overwritten a in round " << r;
    auto aa = a.to_vector<float>();
    ASSERT_EQ(aa[0], float(r + 1000));
  }
  ASSERT_MX_OK(mx_ndarray_wait_all());
}

TEST_P(AsyncDevice, HostToDeviceCopyWaitsBeforeTheHostOverwritesItsSource) {
  const int64_t n = 1024;
  Arr src({n}), dev({n}, MX_FLOAT32, MX_DEVICE_GPU);
  for (int r = 0; r < 20; ++r) {
    src.set(std::vector<float>(size_t(n), float(r)));
    ASSERT_MX_OK(mx_ndarray_copy_to(src.get(), dev.get()));  // enqueued, slow
    src.set(std::vector<float>(size_t(n), -1.0f));           // must wait for the copy to read src
    ASSERT_EQ(dev.to_vector<float>()[n - 1], float(r)) << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, AsyncDevice, ::testing::Values("threaded", "naive"));

}  // namespace
