// Cross-stream ordering on an asynchronous device, with the fake async plugin standing in for a
// GPU (tests/plugins/async_backend.cc): ops on two compute streams and a copy stream, each slow
// and only enqueued when the engine "completes" it, must still see each other's results; the
// engine orders them with events (device-side waits), not by blocking its workers.
#include <dlfcn.h>
#include <dlpack/dlpack.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

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

// A device -> host copy finishes on the stream (later); a host -> device copy of that host array
// reads it at the call (pageable memory, as CUDA): the second must wait on the host for the first.
TEST_P(AsyncDevice, HostToDeviceCopyOfAHostArrayWaitsForTheDeviceToHostCopyWritingIt) {
  const int64_t n = 1024;
  Arr host({n}), back({n}, MX_FLOAT32, MX_DEVICE_GPU);
  for (int r = 1; r <= 20; ++r) {
    host.set(std::vector<float>(size_t(n), -1.0f));
    Arr a = full_gpu(float(r), n);
    ASSERT_MX_OK(mx_ndarray_copy_to(a.get(), host.get()));  // enqueued after the slow fill
    ASSERT_MX_OK(mx_ndarray_copy_to(host.get(), back.get()));
    ASSERT_EQ(back.to_vector<float>()[n - 1], float(r)) << "the host -> device copy read stale bytes, round " << r;
  }
}

// The fake device's stand-ins for another framework's streams (tests/plugins/async_backend.cc).
struct NativeStreams {
  uint64_t (*create)();
  void (*copy)(uint64_t, const float*, float*, int64_t, int);
  void (*sync)(uint64_t);
  void (*free)(uint64_t);
};
NativeStreams native_streams() {
  void* lib = dlopen(MX_TEST_ASYNC_PLUGIN, RTLD_NOW | RTLD_NOLOAD);
  EXPECT_NE(lib, nullptr) << "the fake async backend is not loaded";
  NativeStreams n{};
  if (!lib) return n;
  n.create = reinterpret_cast<uint64_t (*)()>(dlsym(lib, "mx_fake_native_stream_new"));
  n.copy = reinterpret_cast<void (*)(uint64_t, const float*, float*, int64_t, int)>(
      dlsym(lib, "mx_fake_native_stream_copy"));
  n.sync = reinterpret_cast<void (*)(uint64_t)>(dlsym(lib, "mx_fake_native_stream_sync"));
  n.free = reinterpret_cast<void (*)(uint64_t)>(dlsym(lib, "mx_fake_native_stream_free"));
  return n;
}

// DLPack export to a consumer stream: the consumer's stream (not the host) waits for mx's pending
// write, so what it reads there is the final value.
TEST_P(AsyncDevice, DlpackExportOrdersTheConsumersStream) {
  const NativeStreams ns = native_streams();
  ASSERT_TRUE(ns.create && ns.copy && ns.sync && ns.free);
  const int64_t n = 4096;
  const uint64_t consumer = ns.create();
  for (int r = 1; r <= 10; ++r) {
    Arr a = full_gpu(1.0f, n);
    full_into(a, float(r + 100));  // slow, pending when exported
    DLManagedTensor* t = nullptr;
    ASSERT_MX_OK(mx_ndarray_to_dlpack_stream(a.get(), int64_t(consumer), &t));
    std::vector<float> seen(size_t(n), 0.0f);
    ns.copy(consumer, static_cast<const float*>(t->dl_tensor.data), seen.data(), n, 0);
    ns.sync(consumer);
    EXPECT_EQ(seen[0], float(r + 100)) << "the consumer's stream read before mx's write, round " << r;
    EXPECT_EQ(seen[size_t(n) - 1], float(r + 100));
    t->deleter(t);
  }
  // -1: no ordering asked (and no crash); 0 is ambiguous in DLPack.
  Arr a = full_gpu(3.0f, n);
  DLManagedTensor* t = nullptr;
  ASSERT_MX_OK(mx_ndarray_to_dlpack_stream(a.get(), -1, &t));
  t->deleter(t);
  EXPECT_EQ(mx_ndarray_to_dlpack_stream(a.get(), 0, &t), -1);
  EXPECT_NE(std::string(mx_get_last_error()).find("ambiguous"), std::string::npos) << mx_get_last_error();
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ns.free(consumer);
}

// DLPack import from a producer stream: mx's ops on the array wait for the producer's point of its
// stream (the data is written there later, slowly).
TEST_P(AsyncDevice, DlpackImportWaitsForTheProducersStream) {
  const NativeStreams ns = native_streams();
  ASSERT_TRUE(ns.create && ns.copy && ns.sync && ns.free);
  const int64_t n = 1024;
  const uint64_t producer = ns.create();
  static std::vector<float> fives(size_t(n), 5.0f);
  for (int r = 0; r < 5; ++r) {
    // "Device" memory of the fake device is host memory: the producer fills it on its stream.
    auto* buf = static_cast<float*>(std::calloc(size_t(n), sizeof(float)));
    ns.copy(producer, fives.data(), buf, n, 20);  // lands 20 ms from now
    struct Owned {
      DLManagedTensor m{};
      int64_t shape[1];
    };
    auto* o = new Owned();
    o->shape[0] = n;
    o->m.dl_tensor.data = buf;
    o->m.dl_tensor.device = DLDevice{kDLCUDA, 0};
    o->m.dl_tensor.ndim = 1;
    o->m.dl_tensor.dtype = DLDataType{kDLFloat, 32, 1};
    o->m.dl_tensor.shape = o->shape;
    o->m.manager_ctx = o;
    o->m.deleter = [](DLManagedTensor* self) {
      auto* own = static_cast<Owned*>(self->manager_ctx);
      std::free(own->m.dl_tensor.data);
      delete own;
    };
    mx_ndarray_t h = nullptr;
    ASSERT_MX_OK(mx_ndarray_from_dlpack_stream(&o->m, int64_t(producer), &h));
    Arr x(h);
    Arr y = mx::test::invoke1("elemwise_add", {x.get(), x.get()});
    const auto v = y.to_vector<float>();
    EXPECT_EQ(v[0], 10.0f) << "mx read the producer's memory before its stream wrote it, round " << r;
    EXPECT_EQ(v[size_t(n) - 1], 10.0f);
  }
  ns.sync(producer);
  ASSERT_MX_OK(mx_ndarray_wait_all());
  ns.free(producer);
}

INSTANTIATE_TEST_SUITE_P(Engines, AsyncDevice, ::testing::Values("threaded", "naive"));

}  // namespace
