// The local and device KVStores through the C API (and the 2bit codec and engine ordering through
// the core's classes), each checked against a reference computed here: sums in plain loops, a model
// of MXNet's 2bit scheme with its residuals, SGD / Adam written out from MXNet's formulas.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "c_api/handles.h"
#include "engine/engine.h"
#include "kvstore/compression.h"
#include "ndarray/ndarray.h"
#include "test_util.h"

namespace mx {
namespace {

using test::Arr;
using Vals = std::vector<double>;

std::string last_error() { return mx_get_last_error(); }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------- helpers

// An array of dtype on cpu(dev) holding vals (converted).
Arr make(const std::vector<int64_t>& shape, int32_t dtype, int dev, const Vals& vals) {
  Arr a(shape, dtype, MX_DEVICE_CPU, dev);
  if (dtype == MX_FLOAT32) a.set(std::vector<float>(vals.begin(), vals.end()));
  else if (dtype == MX_FLOAT64) a.set(vals);
  else if (dtype == MX_INT32) {
    std::vector<int32_t> v;
    for (double x : vals) v.push_back(int32_t(x));
    a.set(v);
  } else {
    ADD_FAILURE() << "dtype " << dtype;
  }
  return a;
}

Vals read(const Arr& a) {
  int32_t dt = 0;
  EXPECT_MX_OK(mx_ndarray_get_dtype(a.get(), &dt));
  Vals out;
  if (dt == MX_FLOAT32) for (float x : a.to_vector<float>()) out.push_back(x);
  else if (dt == MX_FLOAT64) out = a.to_vector<double>();
  else if (dt == MX_INT32) for (int32_t x : a.to_vector<int32_t>()) out.push_back(x);
  else ADD_FAILURE() << "dtype " << dt;
  return out;
}

// n values of a dtype: integers for int32, else uniform in [lo, hi].
Vals random_vals(size_t n, int32_t dtype, uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::uniform_int_distribution<int> di(-50, 50);
  Vals v(n);
  for (auto& x : v) {
    if (dtype == MX_INT32) x = di(rng);
    else if (dtype == MX_FLOAT32) x = double(float(d(rng)));
    else x = d(rng);
  }
  return v;
}

double tolerance(int32_t dtype) { return dtype == MX_INT32 ? 0 : dtype == MX_FLOAT32 ? 2e-6 : 1e-13; }

void expect_near(const Vals& got, const Vals& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  size_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::fabs(got[i] - want[i]) <= tol * (1 + std::fabs(want[i]))) continue;
    if (++bad <= 3) ADD_FAILURE() << what << ": [" << i << "] got " << got[i] << " want " << want[i];
  }
  EXPECT_EQ(bad, 0u) << what;
}

Vals sum(const std::vector<Vals>& vs) {
  Vals s(vs.at(0).size(), 0.0);
  for (const Vals& v : vs)
    for (size_t i = 0; i < s.size(); ++i) s[i] += v[i];
  return s;
}

class Kv {
 public:
  explicit Kv(const char* type) { EXPECT_MX_OK(mx_kvstore_create(type, &h_)); }
  ~Kv() { EXPECT_MX_OK(mx_kvstore_free(h_)); }
  Kv(const Kv&) = delete;
  Kv& operator=(const Kv&) = delete;
  mx_kvstore_t get() const { return h_; }

 private:
  mx_kvstore_t h_ = nullptr;
};

std::vector<const char*> cstrs(const std::vector<std::string>& keys) {
  std::vector<const char*> out;
  for (auto& k : keys) out.push_back(k.c_str());
  return out;
}
std::vector<mx_ndarray_t> handles(const std::vector<const Arr*>& arrs) {
  std::vector<mx_ndarray_t> out;
  for (const Arr* a : arrs) out.push_back(a->get());
  return out;
}

int kv_init(const Kv& kv, const std::vector<std::string>& keys, const std::vector<const Arr*>& vals) {
  auto k = cstrs(keys);
  auto h = handles(vals);
  return mx_kvstore_init(kv.get(), int32_t(k.size()), k.data(), h.data());
}
int kv_push(const Kv& kv, const std::vector<std::string>& keys, const std::vector<const Arr*>& vals, int prio = 0) {
  auto k = cstrs(keys);
  auto h = handles(vals);
  return mx_kvstore_push(kv.get(), int32_t(k.size()), k.data(), h.data(), prio);
}
int kv_pull(const Kv& kv, const std::vector<std::string>& keys, const std::vector<const Arr*>& outs, int prio = 0) {
  auto k = cstrs(keys);
  auto h = handles(outs);
  return mx_kvstore_pull(kv.get(), int32_t(k.size()), k.data(), h.data(), prio);
}
int kv_pushpull(const Kv& kv, const std::vector<std::string>& vkeys, const std::vector<const Arr*>& vals,
                const std::vector<std::string>& okeys, const std::vector<const Arr*>& outs, int prio = 0) {
  auto vk = cstrs(vkeys), ok = cstrs(okeys);
  auto vh = handles(vals), oh = handles(outs);
  return mx_kvstore_pushpull(kv.get(), int32_t(vk.size()), vk.data(), vh.data(), int32_t(ok.size()), ok.data(),
                             oh.data(), prio);
}
int kv_broadcast(const Kv& kv, const std::vector<std::string>& vkeys, const std::vector<const Arr*>& vals,
                 const std::vector<std::string>& okeys, const std::vector<const Arr*>& outs) {
  auto vk = cstrs(vkeys), ok = cstrs(okeys);
  auto vh = handles(vals), oh = handles(outs);
  return mx_kvstore_broadcast(kv.get(), int32_t(vk.size()), vk.data(), vh.data(), int32_t(ok.size()), ok.data(),
                              oh.data(), 0);
}

std::vector<const Arr*> ptrs(const std::vector<Arr>& arrs) {
  std::vector<const Arr*> out;
  for (const Arr& a : arrs) out.push_back(&a);
  return out;
}

const char* dtype_name(int32_t dt) { return dt == MX_FLOAT32 ? "float32" : dt == MX_FLOAT64 ? "float64" : "int32"; }

class KVStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int32_t n = 0;
    ASSERT_MX_OK(mx_device_count(MX_DEVICE_CPU, &n));
    ASSERT_GE(n, 4) << "the tests use cpu(0) ... cpu(3)";
  }
};

// ---------------------------------------------------------------- merging

TEST_F(KVStoreTest, PushSumsOneValuePerContextAndPullFillsEveryOutput) {
  const std::vector<int64_t> shape{3, 5};
  uint64_t seed = 1;
  for (const char* type : {"local", "device"})
    for (int nctx = 1; nctx <= 4; ++nctx)
      for (int32_t dt : {MX_FLOAT32, MX_FLOAT64, MX_INT32}) {
        const std::string what = std::string(type) + " x" + std::to_string(nctx) + " " + dtype_name(dt);
        SCOPED_TRACE(what);
        Kv kv(type);
        const std::string key = dt == MX_FLOAT64 ? "weight" : std::to_string(3 + nctx);
        const Vals init = random_vals(15, dt, seed++);
        Arr a = make(shape, dt, nctx - 1, init);  // device merges where the init value lives
        ASSERT_MX_OK(kv_init(kv, {key}, {&a}));
        // Outputs on every context, and a second one on cpu(0).
        std::vector<Arr> outs;
        std::vector<std::string> okeys;
        for (int i = 0; i < nctx; ++i) outs.emplace_back(shape, dt, MX_DEVICE_CPU, i);
        outs.emplace_back(shape, dt, MX_DEVICE_CPU, 0);
        okeys.assign(outs.size(), key);
        ASSERT_MX_OK(kv_pull(kv, okeys, ptrs(outs)));
        for (const Arr& o : outs) expect_near(read(o), init, 0, what + " pull after init");
        // Two rounds: without an updater the stored value is each round's merge (not a running sum).
        for (int round = 0; round < 2; ++round) {
          std::vector<Vals> pushed;
          std::vector<Arr> vals;
          for (int i = 0; i < nctx; ++i) {
            pushed.push_back(random_vals(15, dt, seed++));
            vals.push_back(make(shape, dt, i, pushed.back()));
          }
          ASSERT_MX_OK(kv_push(kv, std::vector<std::string>(size_t(nctx), key), ptrs(vals)));
          ASSERT_MX_OK(kv_pull(kv, okeys, ptrs(outs)));
          const Vals want = sum(pushed);
          for (size_t o = 0; o < outs.size(); ++o) {
            int32_t dev = -1, id = -1;
            EXPECT_MX_OK(mx_ndarray_get_device(outs[o].get(), &dev, &id));
            EXPECT_EQ(id, o < size_t(nctx) ? int(o) : 0);
            expect_near(read(outs[o]), want, tolerance(dt), what + " round " + std::to_string(round));
          }
          // The pushed values are read, never written.
          for (int i = 0; i < nctx; ++i) expect_near(read(vals[size_t(i)]), pushed[size_t(i)], 0, "pushed value");
        }
      }
}

TEST_F(KVStoreTest, ManyKeysPerCallAndRepeatedKeys) {
  for (const char* type : {"local", "device"})
    for (bool int_keys : {true, false}) {
      SCOPED_TRACE(std::string(type) + (int_keys ? " int keys" : " str keys"));
      Kv kv(type);
      const std::vector<std::string> keys = int_keys ? std::vector<std::string>{"0", "12", "345"}
                                                     : std::vector<std::string>{"fc1_weight", "fc1_bias", "b"};
      const std::vector<std::vector<int64_t>> shapes{{4, 3}, {7}, {1}};
      const std::vector<size_t> sizes{12, 7, 1};
      std::vector<Arr> init;
      for (size_t k = 0; k < 3; ++k) init.push_back(make(shapes[k], MX_FLOAT32, int(k), Vals(sizes[k], 0.0)));
      ASSERT_MX_OK(kv_init(kv, keys, ptrs(init)));

      // A list of keys with a list of values per key: key k gets k + 2 values on cpu(0..).
      std::vector<std::string> pkeys;
      std::vector<Arr> vals;
      std::vector<Vals> want(3);
      uint64_t seed = 100;
      for (size_t k = 0; k < 3; ++k) {
        std::vector<Vals> per;
        for (size_t c = 0; c < k + 2; ++c) {
          per.push_back(random_vals(sizes[k], MX_FLOAT32, seed++));
          vals.push_back(make(shapes[k], MX_FLOAT32, int(c), per.back()));
          pkeys.push_back(keys[k]);
        }
        want[k] = sum(per);
      }
      ASSERT_MX_OK(kv_push(kv, pkeys, ptrs(vals)));
      std::vector<Arr> outs;
      std::vector<std::string> okeys;
      for (size_t k = 0; k < 3; ++k)
        for (int c = 0; c < 3; ++c) {
          outs.emplace_back(shapes[k], MX_FLOAT32, MX_DEVICE_CPU, c);
          okeys.push_back(keys[k]);
        }
      ASSERT_MX_OK(kv_pull(kv, okeys, ptrs(outs)));
      for (size_t i = 0; i < outs.size(); ++i) expect_near(read(outs[i]), want[i / 3], 2e-6, "list of lists");

      // Repeated keys scattered through one call are merged per key; a pull may repeat keys too.
      const std::vector<size_t> order{1, 0, 1, 2, 0, 1};
      std::vector<Arr> vals2;
      std::vector<std::string> pkeys2;
      std::vector<std::vector<Vals>> per(3);
      for (size_t j = 0; j < order.size(); ++j) {
        const size_t k = order[j];
        per[k].push_back(random_vals(sizes[k], MX_FLOAT32, seed++));
        vals2.push_back(make(shapes[k], MX_FLOAT32, int(j % 4), per[k].back()));
        pkeys2.push_back(keys[k]);
      }
      ASSERT_MX_OK(kv_push(kv, pkeys2, ptrs(vals2)));
      std::vector<Arr> outs2;
      const std::vector<size_t> pull_order{2, 1, 2, 0};
      std::vector<std::string> okeys2;
      for (size_t j = 0; j < pull_order.size(); ++j) {
        outs2.emplace_back(shapes[pull_order[j]], MX_FLOAT32, MX_DEVICE_CPU, int(j));
        okeys2.push_back(keys[pull_order[j]]);
      }
      ASSERT_MX_OK(kv_pull(kv, okeys2, ptrs(outs2)));
      for (size_t j = 0; j < pull_order.size(); ++j)
        expect_near(read(outs2[j]), sum(per[pull_order[j]]), 2e-6, "repeated keys, key " + keys[pull_order[j]]);
    }
}

TEST_F(KVStoreTest, OneElementAndLargeArrays) {
  for (const char* type : {"local", "device"}) {
    SCOPED_TRACE(type);
    Kv kv(type);
    // One element, shape (1,).
    Arr one = make({1}, MX_FLOAT32, 0, {0});
    ASSERT_MX_OK(kv_init(kv, {"1"}, {&one}));
    std::vector<Arr> v1;
    for (int i = 0; i < 4; ++i) v1.push_back(make({1}, MX_FLOAT32, i, {0.5 * (i + 1)}));
    ASSERT_MX_OK(kv_push(kv, {"1", "1", "1", "1"}, ptrs(v1)));
    Arr o1({1}, MX_FLOAT32, MX_DEVICE_CPU, 2);
    ASSERT_MX_OK(kv_pull(kv, {"1"}, {&o1}));
    EXPECT_EQ(read(o1), Vals{5.0});

    // 4M elements from four contexts; the values are multiples of 1/4 below 2^10 so float sums are exact.
    const int64_t n = int64_t(1) << 22;
    Arr big = make({n}, MX_FLOAT32, 0, Vals(size_t(n), 0.0));
    ASSERT_MX_OK(kv_init(kv, {"2"}, {&big}));
    std::vector<Arr> vals;
    std::vector<float> want(size_t(n), 0.f);
    for (int c = 0; c < 4; ++c) {
      std::vector<float> v(static_cast<size_t>(n));
      for (int64_t j = 0; j < n; ++j) v[size_t(j)] = float((j * (c + 3) + c) % 1000) * 0.25f - 100.f;
      for (int64_t j = 0; j < n; ++j) want[size_t(j)] += v[size_t(j)];
      vals.emplace_back(std::vector<int64_t>{n}, MX_FLOAT32, MX_DEVICE_CPU, c);
      vals.back().set(v);
    }
    ASSERT_MX_OK(kv_push(kv, {"2", "2", "2", "2"}, ptrs(vals)));
    Arr out({n}, MX_FLOAT32, MX_DEVICE_CPU, 3);
    ASSERT_MX_OK(kv_pull(kv, {"2"}, {&out}));
    const std::vector<float> got = out.to_vector<float>();
    EXPECT_EQ(got, want);
  }
}

TEST_F(KVStoreTest, PushPullAndBroadcast) {
  for (const char* type : {"local", "device"}) {
    SCOPED_TRACE(type);
    Kv kv(type);
    const std::vector<int64_t> shape{2, 3};
    Arr init = make(shape, MX_FLOAT64, 1, random_vals(6, MX_FLOAT64, 7));
    ASSERT_MX_OK(kv_init(kv, {"w"}, {&init}));
    // pushpull into separate outputs.
    std::vector<Vals> pushed;
    std::vector<Arr> vals, outs;
    for (int c = 0; c < 3; ++c) {
      pushed.push_back(random_vals(6, MX_FLOAT64, 20 + uint64_t(c)));
      vals.push_back(make(shape, MX_FLOAT64, c, pushed.back()));
      outs.emplace_back(shape, MX_FLOAT64, MX_DEVICE_CPU, 3 - c);
    }
    ASSERT_MX_OK(kv_pushpull(kv, {"w", "w", "w"}, ptrs(vals), {"w", "w", "w"}, ptrs(outs), 1));
    for (const Arr& o : outs) expect_near(read(o), sum(pushed), 1e-13, "pushpull");
    // pushpull in place (MXNet's allreduce idiom): every value becomes the sum.
    ASSERT_MX_OK(kv_pushpull(kv, {"w", "w", "w"}, ptrs(vals), {"w", "w", "w"}, ptrs(vals)));
    for (const Arr& v : vals) expect_near(read(v), sum(pushed), 1e-13, "pushpull in place");
    // pushpull without outputs is a push.
    std::vector<Arr> vals2;
    vals2.push_back(make(shape, MX_FLOAT64, 0, Vals(6, 1.5)));
    ASSERT_MX_OK(kv_pushpull(kv, {"w"}, ptrs(vals2), {}, {}));
    Arr o(shape, MX_FLOAT64, MX_DEVICE_CPU, 0);
    ASSERT_MX_OK(kv_pull(kv, {"w"}, {&o}));
    EXPECT_EQ(read(o), Vals(6, 1.5));

    // broadcast: init then pull into every output.
    const Vals b = random_vals(6, MX_FLOAT64, 99);
    Arr bv = make(shape, MX_FLOAT64, 2, b);
    std::vector<Arr> bouts;
    for (int c = 0; c < 4; ++c) bouts.emplace_back(shape, MX_FLOAT64, MX_DEVICE_CPU, c);
    ASSERT_MX_OK(kv_broadcast(kv, {"b"}, {&bv}, {"b", "b", "b", "b"}, ptrs(bouts)));
    for (const Arr& x : bouts) EXPECT_EQ(read(x), b);
    // An output of another shape or dtype is refused before anything is initialised.
    Arr wrong = make({3, 2}, MX_FLOAT64, 0, Vals(6, 0.0)), wrong_dt = make(shape, MX_FLOAT32, 0, Vals(6, 0.0));
    for (const Arr* bad : {&wrong, &wrong_dt}) {
      EXPECT_EQ(kv_broadcast(kv, {"c"}, {&bv}, {"c", "c"}, {&bouts[0], bad}), -1);
      EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
      EXPECT_TRUE(has(last_error(), "'c'") && has(last_error(), "(2,3) float64")) << last_error();
    }
    EXPECT_EQ(kv_broadcast(kv, {"c"}, {&bv}, {"never"}, {&bouts[0]}), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
    EXPECT_TRUE(has(last_error(), "'never'")) << last_error();
    ASSERT_MX_OK(kv_broadcast(kv, {"c"}, {&bv}, {"c"}, {&bouts[0]}));
    // Outputs of keys initialised before are pulled too.
    ASSERT_MX_OK(kv_broadcast(kv, {"e"}, {&bv}, {"e", "w"}, {&bouts[1], &bouts[2]}));
    EXPECT_EQ(read(bouts[2]), Vals(6, 1.5));
    // broadcast of a key already there is init twice.
    EXPECT_EQ(kv_broadcast(kv, {"b"}, {&bv}, {"b"}, {&bouts[0]}), -1);
    EXPECT_TRUE(has(last_error(), "'b' is already initialised")) << last_error();
    // The broadcast key takes pushes like any other.
    ASSERT_MX_OK(kv_push(kv, {"b", "b"}, {&bouts[0], &bouts[1]}));
    ASSERT_MX_OK(kv_pull(kv, {"b"}, {&bouts[2]}));
    Vals twice = b;
    for (double& x : twice) x *= 2;
    expect_near(read(bouts[2]), twice, 1e-13, "push after broadcast");
  }
}

// ---------------------------------------------------------------- updater

struct UpdaterLog {
  std::vector<std::string> keys;
  std::vector<std::thread::id> threads;
  int fail = 0;  // 1: return -1 with no message; 2: fail an mx call first, then return -1
};

// stored += 2 * received, through the C API; owns (frees) both handles.
int twice_updater(const char* key, mx_ndarray_t recv, mx_ndarray_t stored, void* user) {
  auto* log = static_cast<UpdaterLog*>(user);
  Arr r(recv), s(stored);
  log->keys.emplace_back(key);
  log->threads.push_back(std::this_thread::get_id());
  if (log->fail == 1) return -1;
  if (log->fail == 2) {
    int32_t n = 0;
    mx_ndarray_t* outs = nullptr;
    mx_ndarray_t in[] = {recv};
    mx_imperative_invoke("no_such_update_op", 1, in, &n, &outs, 0, nullptr, nullptr);
    return -1;
  }
  const char* k[] = {"scalar"};
  const char* v[] = {"2"};
  int32_t n = 0;
  mx_ndarray_t* outs = nullptr;
  mx_ndarray_t in1[] = {recv};
  if (mx_imperative_invoke("_mul_scalar", 1, in1, &n, &outs, 1, k, v) != 0) return -1;
  Arr tmp(outs[0]);
  mx_ndarray_t in2[] = {stored, tmp.get()};
  mx_ndarray_t out2[] = {stored};
  mx_ndarray_t* o2 = out2;
  n = 1;
  return mx_imperative_invoke("elemwise_add", 2, in2, &n, &o2, 0, nullptr, nullptr);
}

TEST_F(KVStoreTest, UpdaterRunsOncePerKeyPerPushWithTheMergedValue) {
  for (const char* type : {"local", "device"}) {
    SCOPED_TRACE(type);
    Kv kv(type);
    UpdaterLog log;
    ASSERT_MX_OK(mx_kvstore_set_updater(kv.get(), twice_updater, &log));
    const std::vector<int64_t> shape{5};
    Vals wa = random_vals(5, MX_FLOAT32, 1), wb = random_vals(5, MX_FLOAT32, 2);
    Arr ia = make(shape, MX_FLOAT32, 0, wa), ib = make(shape, MX_FLOAT32, 1, wb);
    ASSERT_MX_OK(kv_init(kv, {"a", "b"}, {&ia, &ib}));
    EXPECT_TRUE(log.keys.empty()) << "init does not update";
    uint64_t seed = 50;
    for (int step = 0; step < 3; ++step) {
      // b twice (two contexts), a three times, b once more: one call per key, b first.
      std::vector<std::vector<Vals>> per(2);
      std::vector<Arr> vals;
      const std::vector<int> order{1, 0, 1, 0, 0, 1};
      std::vector<std::string> keys;
      for (size_t j = 0; j < order.size(); ++j) {
        per[size_t(order[j])].push_back(random_vals(5, MX_FLOAT32, seed++));
        vals.push_back(make(shape, MX_FLOAT32, int(j % 4), per[size_t(order[j])].back()));
        keys.push_back(order[j] ? "b" : "a");
      }
      log.keys.clear();
      ASSERT_MX_OK(kv_push(kv, keys, ptrs(vals), step));
      EXPECT_EQ(log.keys, (std::vector<std::string>{"b", "a"}));
      for (auto t : log.threads) EXPECT_EQ(t, std::this_thread::get_id()) << "runs on the pushing thread";
      const Vals sa = sum(per[0]), sb = sum(per[1]);
      for (size_t i = 0; i < 5; ++i) {
        wa[i] += 2 * sa[i];
        wb[i] += 2 * sb[i];
      }
      Arr oa(shape, MX_FLOAT32, MX_DEVICE_CPU, 2), ob(shape, MX_FLOAT32, MX_DEVICE_CPU, 3);
      ASSERT_MX_OK(kv_pull(kv, {"a", "b"}, {&oa, &ob}));
      expect_near(read(oa), wa, 1e-5, "a step " + std::to_string(step));
      expect_near(read(ob), wb, 1e-5, "b step " + std::to_string(step));
    }
    // A single pushed value reaches the updater as itself (nothing to merge).
    Arr single = make(shape, MX_FLOAT32, 3, Vals(5, 0.25));
    log.keys.clear();
    ASSERT_MX_OK(kv_push(kv, {"a"}, {&single}));
    EXPECT_EQ(log.keys.size(), 1u);
    for (double& x : wa) x += 0.5;
    Arr oa(shape, MX_FLOAT32, MX_DEVICE_CPU, 0);
    ASSERT_MX_OK(kv_pull(kv, {"a"}, {&oa}));
    expect_near(read(oa), wa, 1e-5, "single value");
    EXPECT_EQ(read(single), Vals(5, 0.25));
  }
}

TEST_F(KVStoreTest, FailingUpdaterFailsThePushWithItsMessageAndTheStoreGoesOn) {
  Kv kv("device");
  UpdaterLog log;
  ASSERT_MX_OK(mx_kvstore_set_updater(kv.get(), twice_updater, &log));
  Arr w = make({3}, MX_FLOAT32, 0, {1, 2, 3});
  ASSERT_MX_OK(kv_init(kv, {"layer.w"}, {&w}));
  Arr g0 = make({3}, MX_FLOAT32, 0, {1, 1, 1}), g1 = make({3}, MX_FLOAT32, 1, {2, 2, 2});

  log.fail = 1;
  EXPECT_EQ(kv_push(kv, {"layer.w", "layer.w"}, {&g0, &g1}), -1);
  EXPECT_TRUE(has(last_error(), "updater failed for key 'layer.w'")) << last_error();
  log.fail = 2;
  EXPECT_EQ(kv_push(kv, {"layer.w"}, {&g0}), -1);
  EXPECT_TRUE(has(last_error(), "updater failed for key 'layer.w'")) << last_error();
  EXPECT_TRUE(has(last_error(), "no_such_update_op")) << "the callee's own message: " << last_error();
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND) << "the callee's category";

  // The store and the engine go on: the next push updates normally.
  log.fail = 0;
  ASSERT_MX_OK(kv_push(kv, {"layer.w", "layer.w"}, {&g0, &g1}));
  Arr o({3}, MX_FLOAT32, MX_DEVICE_CPU, 1);
  ASSERT_MX_OK(kv_pull(kv, {"layer.w"}, {&o}));
  EXPECT_EQ(read(o), (Vals{7, 8, 9}));
  EXPECT_MX_OK(mx_ndarray_wait_all());
}

// ---------------------------------------------------------------- store-side optimizer

struct OptCase {
  std::string name;
  std::vector<std::pair<std::string, std::string>> params;
};

int set_opt(const Kv& kv, const OptCase& c) {
  std::vector<const char*> k, v;
  for (auto& [a, b] : c.params) {
    k.push_back(a.c_str());
    v.push_back(b.c_str());
  }
  return mx_kvstore_set_optimizer(kv.get(), c.name.c_str(), int32_t(k.size()), k.data(), v.data());
}

// MXNet's update of one element (sgd_update, sgd_mom_update, adam_update with bias correction folded
// into lr), in double; states s1, s2 and the step count t live with the caller.
struct RefOpt {
  double lr = 0.01, wd = 0, mom = 0, rescale = 1, clip = -1, b1 = 0.9, b2 = 0.999, eps = 1e-8;
  bool adam = false;
  void step(std::vector<double>& w, const std::vector<double>& g, std::vector<double>& s1, std::vector<double>& s2,
            int64_t t) const {
    const double lr_t = adam ? lr * std::sqrt(1 - std::pow(b2, double(t))) / (1 - std::pow(b1, double(t))) : lr;
    for (size_t i = 0; i < w.size(); ++i) {
      double gr = rescale * g[i];
      if (clip >= 0) gr = std::max(-clip, std::min(clip, gr));
      if (adam) {
        gr += wd * w[i];
        s1[i] = b1 * s1[i] + (1 - b1) * gr;
        s2[i] = b2 * s2[i] + (1 - b2) * gr * gr;
        w[i] -= lr_t * s1[i] / (std::sqrt(s2[i]) + eps);
      } else if (mom != 0) {
        s1[i] = mom * s1[i] - lr * (gr + wd * w[i]);
        w[i] += s1[i];
      } else {
        w[i] -= lr * (gr + wd * w[i]);
      }
    }
  }
};

TEST_F(KVStoreTest, StoreOptimizersMatchSgdAndAdamOverSeveralSteps) {
  struct Case {
    OptCase opt;
    RefOpt ref;
  };
  std::vector<Case> cases;
  cases.push_back({{"sgd", {{"lr", "0.2"}, {"wd", "0.01"}}}, RefOpt{0.2, 0.01}});
  cases.push_back({{"sgd",
                    {{"learning_rate", "0.1"},
                     {"momentum", "0.9"},
                     {"wd", "0.01"},
                     {"rescale_grad", "0.5"},
                     {"clip_gradient", "0.3"}}},
                   RefOpt{0.1, 0.01, 0.9, 0.5, 0.3}});
  RefOpt adam{0.01, 0.001, 0, 1.0 / 3, 0.4, 0.8, 0.95, 1e-6, true};
  cases.push_back({{"adam",
                    {{"learning_rate", "0.01"},
                     {"wd", "0.001"},
                     {"rescale_grad", "0.33333333333333331"},
                     {"clip_gradient", "0.4"},
                     {"beta1", "0.8"},
                     {"beta2", "0.95"},
                     {"epsilon", "1e-6"}}},
                   adam});
  RefOpt adam_default;
  adam_default.adam = true;
  adam_default.lr = 0.001;  // adam's default learning rate
  cases.push_back({{"adam", {}}, adam_default});
  for (const char* type : {"local", "device"})
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(type) + " " + c.opt.name + " with " + std::to_string(c.opt.params.size()) + " params");
      Kv kv(type);
      ASSERT_MX_OK(set_opt(kv, c.opt));
      const size_t n = 200;
      std::vector<double> w = random_vals(n, MX_FLOAT32, 3), s1(n, 0), s2(n, 0);
      Arr wa = make({int64_t(n)}, MX_FLOAT32, 1, w);
      ASSERT_MX_OK(kv_init(kv, {"9"}, {&wa}));
      uint64_t seed = 1000;
      for (int64_t t = 1; t <= 5; ++t) {
        std::vector<Vals> per;
        std::vector<Arr> grads;
        for (int ctx = 0; ctx < 3; ++ctx) {
          per.push_back(random_vals(n, MX_FLOAT32, seed++));
          grads.push_back(make({int64_t(n)}, MX_FLOAT32, ctx, per.back()));
        }
        ASSERT_MX_OK(kv_push(kv, {"9", "9", "9"}, ptrs(grads)));
        c.ref.step(w, sum(per), s1, s2, t);
        Arr out({int64_t(n)}, MX_FLOAT32, MX_DEVICE_CPU, 2);
        ASSERT_MX_OK(kv_pull(kv, {"9"}, {&out}));
        expect_near(read(out), w, 2e-5, "step " + std::to_string(t));
      }
    }
}

TEST_F(KVStoreTest, OptimizerArgumentsAreChecked) {
  Kv kv("local");
  EXPECT_EQ(set_opt(kv, {"rmsprop_x", {}}), -1);
  EXPECT_TRUE(has(last_error(), "'rmsprop_x'")) << last_error();
  EXPECT_EQ(set_opt(kv, {"sgd", {{"beta1", "0.9"}}}), -1);
  EXPECT_TRUE(has(last_error(), "'beta1'")) << last_error();
  EXPECT_EQ(set_opt(kv, {"adam", {{"learning_rate", "fast"}}}), -1);
  EXPECT_TRUE(has(last_error(), "learning_rate=fast")) << last_error();
  EXPECT_EQ(set_opt(kv, {"sgd", {{"wd", "nan"}}}), -1);
  // No optimizer: nothing to save or load.
  const std::string path = (std::filesystem::temp_directory_path() / "mx_kvstore_test_none.states").string();
  EXPECT_EQ(mx_kvstore_save_optimizer_states(kv.get(), path.c_str()), -1);
  EXPECT_TRUE(has(last_error(), "no optimizer")) << last_error();
  EXPECT_EQ(mx_kvstore_load_optimizer_states(kv.get(), path.c_str()), -1);
  ASSERT_MX_OK(set_opt(kv, {"sgd", {{"momentum", "0.5"}}}));
  EXPECT_EQ(mx_kvstore_load_optimizer_states(kv.get(), "/nonexistent/dir/x.states"), -1);
  EXPECT_TRUE(has(last_error(), "/nonexistent/dir/x.states")) << last_error();
}

TEST_F(KVStoreTest, SavedOptimizerStatesLetAnotherStoreContinueExactly) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("mx_kvstore_test_" + std::to_string(::getpid()) + ".states")).string();
  const std::vector<OptCase> opts{
      {"adam", {{"learning_rate", "0.05"}, {"beta1", "0.7"}, {"wd", "0.01"}}},
      {"sgd", {{"learning_rate", "0.1"}, {"momentum", "0.8"}, {"rescale_grad", "0.5"}}}};
  for (const char* type : {"local", "device"})
    for (const OptCase& opt : opts) {
      SCOPED_TRACE(std::string(type) + " " + opt.name);
      const std::vector<std::string> keys{"w", "b"};
      const std::vector<int64_t> shape{16};
      auto grads = [&](uint64_t seed) {
        std::vector<Arr> g;
        for (int i = 0; i < 4; ++i) g.push_back(make(shape, MX_FLOAT32, i % 2, random_vals(16, MX_FLOAT32, seed + uint64_t(i))));
        return g;
      };
      const std::vector<std::string> pkeys{"w", "w", "b", "b"};
      Kv a(type);
      ASSERT_MX_OK(set_opt(a, opt));
      Arr w0 = make(shape, MX_FLOAT32, 0, random_vals(16, MX_FLOAT32, 1));
      Arr b0 = make(shape, MX_FLOAT32, 1, random_vals(16, MX_FLOAT32, 2));
      ASSERT_MX_OK(kv_init(a, keys, {&w0, &b0}));
      for (uint64_t s = 0; s < 3; ++s) ASSERT_MX_OK(kv_push(a, pkeys, ptrs(grads(10 * s))));
      ASSERT_MX_OK(mx_kvstore_save_optimizer_states(a.get(), path.c_str()));
      // b starts from a's weights and states with the same optimizer.
      Arr aw(shape, MX_FLOAT32, MX_DEVICE_CPU, 0), ab(shape, MX_FLOAT32, MX_DEVICE_CPU, 1);
      ASSERT_MX_OK(kv_pull(a, keys, {&aw, &ab}));
      Kv b(type);
      ASSERT_MX_OK(set_opt(b, opt));
      ASSERT_MX_OK(kv_init(b, keys, {&aw, &ab}));
      ASSERT_MX_OK(mx_kvstore_load_optimizer_states(b.get(), path.c_str()));
      // A third store with the same weights but fresh states: must differ (the states matter).
      Kv fresh(type);
      ASSERT_MX_OK(set_opt(fresh, opt));
      ASSERT_MX_OK(kv_init(fresh, keys, {&aw, &ab}));
      for (uint64_t s = 3; s < 6; ++s) {
        ASSERT_MX_OK(kv_push(a, pkeys, ptrs(grads(10 * s))));
        ASSERT_MX_OK(kv_push(b, pkeys, ptrs(grads(10 * s))));
        ASSERT_MX_OK(kv_push(fresh, pkeys, ptrs(grads(10 * s))));
      }
      for (const std::string& k : keys) {
        Arr oa(shape, MX_FLOAT32, MX_DEVICE_CPU, 0), ob(shape, MX_FLOAT32, MX_DEVICE_CPU, 0),
            of(shape, MX_FLOAT32, MX_DEVICE_CPU, 0);
        ASSERT_MX_OK(kv_pull(a, {k}, {&oa}));
        ASSERT_MX_OK(kv_pull(b, {k}, {&ob}));
        ASSERT_MX_OK(kv_pull(fresh, {k}, {&of}));
        EXPECT_EQ(oa.to_vector<float>(), ob.to_vector<float>()) << "key " << k;
        EXPECT_NE(oa.to_vector<float>(), of.to_vector<float>()) << "key " << k;
      }
      std::filesystem::remove(path);
    }
}

// ---------------------------------------------------------------- 2bit gradient compression

TEST(KVStoreCodec, TwoBitPackingIsMXNetsLayout) {
  // 37 values: three words, the last partly used. Codes: 11 for +t, 10 for -t, 00 otherwise; four
  // values per byte, the first in the top bits.
  const int64_t n = 37;
  const float t = 0.5f;
  std::vector<float> g(n), r(n, 0.f);
  for (int64_t i = 0; i < n; ++i) g[size_t(i)] = float(int(i % 5) - 2) * 0.3f;  // -0.6 -0.3 0 0.3 0.6
  std::vector<uint32_t> packed(size_t(kv::packed_words_2bit(n)), 0xffffffffu);
  ASSERT_EQ(packed.size(), 3u);
  kv::quantize_2bit(g.data(), r.data(), n, t, packed.data());
  std::vector<uint8_t> want_bytes(12, 0);
  std::vector<float> want_r(n);
  for (int64_t i = 0; i < n; ++i) {
    const float x = g[size_t(i)];
    const unsigned code = x >= t ? 3u : x <= -t ? 2u : 0u;
    want_bytes[size_t(i / 4)] |= uint8_t(code << (6 - 2 * (i % 4)));
    want_r[size_t(i)] = code == 3 ? x - t : code == 2 ? x + t : x;
  }
  EXPECT_EQ(std::memcmp(packed.data(), want_bytes.data(), 12), 0);
  EXPECT_EQ(r, want_r);
  std::vector<float> out(n, 1.f);
  kv::dequantize_2bit(packed.data(), n, t, out.data(), true);
  for (int64_t i = 0; i < n; ++i) {
    const unsigned code = (want_bytes[size_t(i / 4)] >> (6 - 2 * (i % 4))) & 3u;
    EXPECT_EQ(out[size_t(i)], 1.f + (code == 3 ? t : code == 2 ? -t : 0.f)) << i;
  }
}

// MXNet's 2bit scheme per context: r += g; send +t if r >= t, -t if r <= -t, else 0; r -= sent.
std::vector<float> model_2bit(const std::vector<std::vector<float>>& grads, std::vector<std::vector<float>>& resid,
                              float t) {
  std::vector<float> merged(grads[0].size(), 0.f);
  for (size_t c = 0; c < grads.size(); ++c)
    for (size_t i = 0; i < merged.size(); ++i) {
      const float r = resid[c][i] + grads[c][i];
      const float sent = r >= t ? t : r <= -t ? -t : 0.f;
      resid[c][i] = r - sent;
      merged[i] += sent;
    }
  return merged;
}

TEST_F(KVStoreTest, TwoBitCompressionOnDeviceMatchesTheModelWithResiduals) {
  for (int nctx = 2; nctx <= 4; ++nctx) {
    SCOPED_TRACE("contexts " + std::to_string(nctx));
    Kv kv("device");
    const float t = 0.5f;
    ASSERT_MX_OK(mx_kvstore_set_gradient_compression(kv.get(), "2bit", t));
    // Two keys (their residuals are separate), one not a multiple of 16 long.
    const std::vector<std::string> keys{"3", "4"};
    const std::vector<int64_t> sizes{37, 1000};
    std::vector<Arr> init;
    for (size_t k = 0; k < 2; ++k) init.push_back(make({sizes[k]}, MX_FLOAT32, 0, Vals(size_t(sizes[k]), 9.0)));
    ASSERT_MX_OK(kv_init(kv, keys, ptrs(init)));
    std::vector<std::vector<std::vector<float>>> resid(2);
    for (size_t k = 0; k < 2; ++k) resid[k].assign(size_t(nctx), std::vector<float>(size_t(sizes[k]), 0.f));
    std::mt19937 rng(static_cast<uint32_t>(nctx));
    std::uniform_real_distribution<float> d(-0.7f, 0.7f);
    for (int step = 0; step < 6; ++step) {
      std::vector<Arr> vals;
      std::vector<std::string> pkeys;
      std::vector<std::vector<float>> want(2);
      for (size_t k = 0; k < 2; ++k) {
        std::vector<std::vector<float>> grads;
        for (int c = 0; c < nctx; ++c) {
          std::vector<float> g(size_t(sizes[k]));
          for (float& x : g) x = d(rng);
          if (step == 0) g[0] = 0.5f;  // exactly the threshold is sent
          vals.emplace_back(std::vector<int64_t>{sizes[k]}, MX_FLOAT32, MX_DEVICE_CPU, c);
          vals.back().set(g);
          pkeys.push_back(keys[k]);
          grads.push_back(std::move(g));
        }
        want[k] = model_2bit(grads, resid[k], t);
      }
      ASSERT_MX_OK(kv_push(kv, pkeys, ptrs(vals)));
      for (size_t k = 0; k < 2; ++k) {
        Arr out({sizes[k]}, MX_FLOAT32, MX_DEVICE_CPU, nctx - 1);
        ASSERT_MX_OK(kv_pull(kv, {keys[k]}, {&out}));
        EXPECT_EQ(out.to_vector<float>(), want[k]) << "key " << keys[k] << " step " << step;
      }
    }
  }
}

TEST_F(KVStoreTest, TwoBitCompressionWithOneValueAndAnUpdater) {
  // One pushed value is compressed too (its residual carries), and the updater sees the dequantised merge.
  Kv kv("device");
  ASSERT_MX_OK(mx_kvstore_set_gradient_compression(kv.get(), "2bit", 1.0));
  UpdaterLog log;
  ASSERT_MX_OK(mx_kvstore_set_updater(kv.get(), twice_updater, &log));
  Arr w = make({4}, MX_FLOAT32, 1, {0, 0, 0, 0});
  ASSERT_MX_OK(kv_init(kv, {"k"}, {&w}));
  std::vector<std::vector<float>> resid{std::vector<float>(4, 0.f)};
  std::vector<float> weight(4, 0.f);
  const std::vector<std::vector<float>> steps{{0.6f, -0.6f, 1.2f, 0.1f}, {0.6f, -0.6f, 0.f, 0.1f}, {0.f, 0.f, -2.f, 0.9f}};
  for (const auto& g : steps) {
    Arr v({4}, MX_FLOAT32, MX_DEVICE_CPU, 1);
    v.set(g);
    ASSERT_MX_OK(kv_push(kv, {"k"}, {&v}));
    const std::vector<float> merged = model_2bit({g}, resid, 1.f);
    for (size_t i = 0; i < 4; ++i) weight[i] += 2 * merged[i];
    Arr o({4}, MX_FLOAT32, MX_DEVICE_CPU, 0);
    ASSERT_MX_OK(kv_pull(kv, {"k"}, {&o}));
    EXPECT_EQ(o.to_vector<float>(), weight);
  }
  EXPECT_EQ(weight, (std::vector<float>{2, -2, 0, 2}));  // the model itself, worked by hand
}

TEST_F(KVStoreTest, TwoBitCompressionIsRefusedWhereMXNetRefusesIt) {
  {
    Kv kv("local");
    EXPECT_EQ(mx_kvstore_set_gradient_compression(kv.get(), "2bit", 0.5), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED);
    EXPECT_TRUE(has(last_error(), "local")) << last_error();
    EXPECT_MX_OK(mx_kvstore_set_gradient_compression(kv.get(), "none", 0));
  }
  Kv kv("device");
  EXPECT_EQ(mx_kvstore_set_gradient_compression(kv.get(), "1bit", 0.5), -1);
  EXPECT_TRUE(has(last_error(), "'1bit'")) << last_error();
  for (double bad : {0.0, -0.5, double(NAN), double(INFINITY)}) {
    EXPECT_EQ(mx_kvstore_set_gradient_compression(kv.get(), "2bit", bad), -1) << bad;
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(has(last_error(), "threshold")) << last_error();
  }
  // Not for float64 values.
  {
    Kv kv64("device");
    ASSERT_MX_OK(mx_kvstore_set_gradient_compression(kv64.get(), "2bit", 0.5));
    Arr d = make({2}, MX_FLOAT64, 0, {1, 2});
    ASSERT_MX_OK(kv_init(kv64, {"d"}, {&d}));
    EXPECT_EQ(kv_push(kv64, {"d", "d"}, {&d, &d}), -1);
    EXPECT_TRUE(has(last_error(), "'d'") && has(last_error(), "float64")) << last_error();
  }
  // After the first init it is too late.
  Arr a = make({2}, MX_FLOAT32, 0, {1, 2});
  ASSERT_MX_OK(kv_init(kv, {"0"}, {&a}));
  EXPECT_EQ(mx_kvstore_set_gradient_compression(kv.get(), "2bit", 0.5), -1);
  EXPECT_TRUE(has(last_error(), "before the first init")) << last_error();
  // Uncompressed, the store still sums exactly.
  Arr b = make({2}, MX_FLOAT32, 1, {0.1, 0.2});
  ASSERT_MX_OK(kv_push(kv, {"0", "0"}, {&a, &b}));
  Arr o({2}, MX_FLOAT32, MX_DEVICE_CPU, 0);
  ASSERT_MX_OK(kv_pull(kv, {"0"}, {&o}));
  EXPECT_EQ(o.to_vector<float>(), (std::vector<float>{1.1f, 2.2f}));
}

// ---------------------------------------------------------------- errors

TEST_F(KVStoreTest, ErrorsNameTheKeyAndTheShapes) {
  for (const char* type : {"local", "device"}) {
    SCOPED_TRACE(type);
    Kv kv(type);
    Arr a = make({2, 3}, MX_FLOAT32, 0, Vals(6, 1.0));
    Arr wrong_shape = make({3, 2}, MX_FLOAT32, 1, Vals(6, 1.0));
    Arr wrong_dtype = make({2, 3}, MX_FLOAT64, 0, Vals(6, 1.0));
    // Never initialised.
    EXPECT_EQ(kv_push(kv, {"17"}, {&a}), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
    EXPECT_TRUE(has(last_error(), "'17'") && has(last_error(), "not initialised")) << last_error();
    EXPECT_EQ(kv_pull(kv, {"18"}, {&a}), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
    EXPECT_TRUE(has(last_error(), "'18'")) << last_error();
    ASSERT_MX_OK(kv_init(kv, {"5"}, {&a}));
    // Shape and dtype differ from init, in push, pull and pushpull; nothing of a failing call runs.
    for (const Arr* bad : {&wrong_shape, &wrong_dtype}) {
      EXPECT_EQ(kv_push(kv, {"5", "5"}, {&a, bad}), -1);
      EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
      const std::string e = last_error();
      EXPECT_TRUE(has(e, "'5'") && has(e, "(2,3) float32")) << e;
      EXPECT_TRUE(has(e, bad == &wrong_shape ? "(3,2) float32" : "(2,3) float64")) << e;
      EXPECT_EQ(kv_pull(kv, {"5"}, {bad}), -1);
      EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
      EXPECT_TRUE(has(last_error(), "'5'")) << last_error();
      EXPECT_EQ(kv_pushpull(kv, {"5"}, {&a}, {"5"}, {bad}), -1);
      EXPECT_EQ(mx_get_last_error_code(), MX_ERR_SHAPE_MISMATCH);
    }
    Arr o = make({2, 3}, MX_FLOAT32, 0, Vals(6, 0.0));
    ASSERT_MX_OK(kv_pull(kv, {"5"}, {&o}));
    EXPECT_EQ(read(o), Vals(6, 1.0)) << "the refused pushes changed nothing";
    // Init twice, also within one call; an int key in a store of int keys is fine, a string is not.
    EXPECT_EQ(kv_init(kv, {"5"}, {&a}), -1);
    EXPECT_TRUE(has(last_error(), "'5' is already initialised")) << last_error();
    EXPECT_EQ(kv_init(kv, {"6", "6"}, {&a, &a}), -1);
    EXPECT_TRUE(has(last_error(), "'6'")) << last_error();
    EXPECT_EQ(kv_init(kv, {"weight"}, {&a}), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
    EXPECT_TRUE(has(last_error(), "'weight'") && has(last_error(), "integers")) << last_error();
    EXPECT_EQ(kv_init(kv, {""}, {&a}), -1);
    EXPECT_MX_OK(kv_init(kv, {"6"}, {&a}));
  }
  {
    Kv s("local");
    Arr a = make({1}, MX_FLOAT32, 0, {1});
    // A refused init leaves nothing behind: not its keys, nor their kind.
    EXPECT_EQ(kv_init(s, {"bias", "2"}, {&a, &a}), -1);
    EXPECT_TRUE(has(last_error(), "'2'") && has(last_error(), "strings")) << last_error();
    ASSERT_MX_OK(kv_init(s, {"2"}, {&a}));
    EXPECT_EQ(kv_init(s, {"bias"}, {&a}), -1);
    EXPECT_TRUE(has(last_error(), "'bias'") && has(last_error(), "integers")) << last_error();
    EXPECT_EQ(kv_push(s, {"bias"}, {&a}), -1);
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
  }
  // Unknown type; GPU-only types name what they lack.
  mx_kvstore_t h = nullptr;
  EXPECT_EQ(mx_kvstore_create("locale", &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(has(last_error(), "'locale'")) << last_error();
  EXPECT_EQ(h, nullptr);
  EXPECT_EQ(mx_kvstore_create("dist_device_sync", &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_UNSUPPORTED);
}

TEST_F(KVStoreTest, DistWithoutTheTransportNamesIt) {
  const std::string missing = "/nonexistent/mx_kvstore_test/libmx_kvstore_mpi.so";
  const char* old = std::getenv("MX_KVSTORE_TRANSPORT");
  const std::string saved = old ? old : "";
  ASSERT_EQ(::setenv("MX_KVSTORE_TRANSPORT", missing.c_str(), 1), 0);
  for (const char* type : {"dist_sync", "dist_async", "dist"}) {
    mx_kvstore_t h = nullptr;
    EXPECT_EQ(mx_kvstore_create(type, &h), -1) << type;
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_NOT_FOUND);
    EXPECT_TRUE(has(last_error(), missing) && has(last_error(), "no such file")) << last_error();
  }
  if (old) ::setenv("MX_KVSTORE_TRANSPORT", saved.c_str(), 1);
  else ::unsetenv("MX_KVSTORE_TRANSPORT");
}

TEST_F(KVStoreTest, NullArgumentsAndFreedHandlesAreErrors) {
  mx_kvstore_t h = nullptr;
  EXPECT_EQ(mx_kvstore_create(nullptr, &h), -1);
  EXPECT_EQ(mx_kvstore_create("local", nullptr), -1);
  EXPECT_MX_OK(mx_kvstore_free(nullptr));
  Arr a = make({2}, MX_FLOAT32, 0, {1, 2});
  mx_ndarray_t ah = a.get();
  const char* key = "0";
  const char* null_key[] = {nullptr};
  mx_ndarray_t null_arr[] = {nullptr};
  const char* s = nullptr;
  int32_t i = 0;
  // A NULL store.
  EXPECT_EQ(mx_kvstore_init(nullptr, 1, &key, &ah), -1);
  EXPECT_EQ(mx_kvstore_push(nullptr, 1, &key, &ah, 0), -1);
  EXPECT_EQ(mx_kvstore_pull(nullptr, 1, &key, &ah, 0), -1);
  EXPECT_EQ(mx_kvstore_get_type(nullptr, &s), -1);
  EXPECT_EQ(mx_kvstore_get_rank(nullptr, &i), -1);
  EXPECT_EQ(mx_kvstore_barrier(nullptr), -1);
  EXPECT_EQ(mx_kvstore_set_updater(nullptr, twice_updater, nullptr), -1);

  ASSERT_MX_OK(mx_kvstore_create("device", &h));
  // NULL lists, NULL entries, negative counts, NULL outputs.
  EXPECT_EQ(mx_kvstore_init(h, 1, nullptr, &ah), -1);
  EXPECT_EQ(mx_kvstore_init(h, 1, &key, nullptr), -1);
  EXPECT_EQ(mx_kvstore_init(h, 1, null_key, &ah), -1);
  EXPECT_TRUE(has(last_error(), "keys[0]")) << last_error();
  EXPECT_EQ(mx_kvstore_init(h, 1, &key, null_arr), -1);
  EXPECT_TRUE(has(last_error(), "values[0]")) << last_error();
  EXPECT_EQ(mx_kvstore_init(h, -1, &key, &ah), -1);
  EXPECT_MX_OK(mx_kvstore_init(h, 0, nullptr, nullptr));
  ASSERT_MX_OK(mx_kvstore_init(h, 1, &key, &ah));
  EXPECT_EQ(mx_kvstore_push(h, 1, &key, null_arr, 0), -1);
  EXPECT_EQ(mx_kvstore_pull(h, 1, &key, nullptr, 0), -1);
  EXPECT_EQ(mx_kvstore_pushpull(h, 1, &key, &ah, 1, &key, nullptr, 0), -1);
  EXPECT_EQ(mx_kvstore_broadcast(h, 1, nullptr, &ah, 1, &key, &ah, 0), -1);
  EXPECT_EQ(mx_kvstore_get_type(h, nullptr), -1);
  EXPECT_EQ(mx_kvstore_get_rank(h, nullptr), -1);
  EXPECT_EQ(mx_kvstore_get_num_workers(h, nullptr), -1);
  EXPECT_EQ(mx_kvstore_set_updater(h, nullptr, nullptr), -1);
  EXPECT_EQ(mx_kvstore_set_optimizer(h, nullptr, 0, nullptr, nullptr), -1);
  const char* k1[] = {"lr"};
  EXPECT_EQ(mx_kvstore_set_optimizer(h, "sgd", 1, k1, nullptr), -1);
  EXPECT_EQ(mx_kvstore_set_gradient_compression(h, nullptr, 0.5), -1);
  EXPECT_EQ(mx_kvstore_save_optimizer_states(h, nullptr), -1);
  EXPECT_EQ(mx_kvstore_load_optimizer_states(h, nullptr), -1);
  ASSERT_MX_OK(mx_kvstore_get_type(h, &s));
  EXPECT_STREQ(s, "device");
  ASSERT_MX_OK(mx_kvstore_get_rank(h, &i));
  EXPECT_EQ(i, 0);
  ASSERT_MX_OK(mx_kvstore_get_num_workers(h, &i));
  EXPECT_EQ(i, 1);
  EXPECT_MX_OK(mx_kvstore_barrier(h));
  // A freed array in a list.
  mx_ndarray_t gone = nullptr;
  int64_t shape[] = {2};
  ASSERT_MX_OK(mx_ndarray_create(shape, 1, MX_FLOAT32, MX_DEVICE_CPU, 0, &gone));
  ASSERT_MX_OK(mx_ndarray_free(gone));
  EXPECT_EQ(mx_kvstore_push(h, 1, &key, &gone, 0), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_HANDLE);
  // The store still works, then a freed store is an invalid handle everywhere.
  EXPECT_MX_OK(mx_kvstore_push(h, 1, &key, &ah, 0));
  ASSERT_MX_OK(mx_kvstore_free(h));
  EXPECT_EQ(mx_kvstore_push(h, 1, &key, &ah, 0), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_HANDLE);
  EXPECT_EQ(mx_kvstore_get_type(h, &s), -1);
  EXPECT_EQ(mx_kvstore_free(h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_HANDLE);
  EXPECT_EQ(read(a), (Vals{1, 2}));
}

// ---------------------------------------------------------------- engine ordering

// Writes value into every element of a (float32) from an engine op that first sleeps.
void slow_fill(const Arr& a, float value, int ms) {
  const NDArray arr = capi::deref(a.get(), "test").arr;
  engine::Var* writes[] = {arr.var()};
  engine::get().push(
      [arr, value, ms](engine::RunContext&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        auto* p = static_cast<float*>(arr.data());
        for (int64_t i = 0; i < arr.size(); ++i) p[i] = value;
      },
      arr.device(), {}, writes);
}

TEST_F(KVStoreTest, PushReadsValuesOnlyAfterTheirProducersFinished) {
  for (const char* type : {"local", "device"}) {
    SCOPED_TRACE(type);
    Kv kv(type);
    const int64_t n = 1 << 16;
    Arr w({n}, MX_FLOAT32, MX_DEVICE_CPU, 0);
    w.set(std::vector<float>(size_t(n), 0.f));
    ASSERT_MX_OK(kv_init(kv, {"0", "1"}, {&w, &w}));
    // Key 0: three values still being written by slow ops on their devices.
    std::vector<Arr> vals;
    for (int c = 0; c < 3; ++c) {
      vals.emplace_back(std::vector<int64_t>{n}, MX_FLOAT32, MX_DEVICE_CPU, c + 1);
      vals.back().set(std::vector<float>(size_t(n), -1000.f));
      slow_fill(vals.back(), float(c + 1), 60);
    }
    // Key 1: one value at the end of a chain of 30 ops (x = x + 1, in place).
    Arr x({n}, MX_FLOAT32, MX_DEVICE_CPU, 2);
    x.set(std::vector<float>(size_t(n), 0.5f));
    slow_fill(x, 0.5f, 30);
    for (int i = 0; i < 30; ++i) {
      const char* k[] = {"scalar"};
      const char* v[] = {"1"};
      mx_ndarray_t in[] = {x.get()};
      mx_ndarray_t out[] = {x.get()};
      mx_ndarray_t* o = out;
      int32_t no = 1;
      ASSERT_MX_OK(mx_imperative_invoke("_plus_scalar", 1, in, &no, &o, 1, k, v));
    }
    ASSERT_MX_OK(kv_push(kv, {"0", "0", "0", "1"}, {&vals[0], &vals[1], &vals[2], &x}, 3));
    Arr o0({n}, MX_FLOAT32, MX_DEVICE_CPU, 3), o1({n}, MX_FLOAT32, MX_DEVICE_CPU, 0);
    ASSERT_MX_OK(kv_pull(kv, {"0", "1"}, {&o0, &o1}, -3));
    // Read the outputs' memory directly after waiting: the wait is what makes them ready.
    ASSERT_MX_OK(mx_ndarray_wait_to_read(o0.get()));
    ASSERT_MX_OK(mx_ndarray_wait_to_read(o1.get()));
    const auto* p0 = static_cast<const float*>(capi::deref(o0.get(), "test").arr.data());
    const auto* p1 = static_cast<const float*>(capi::deref(o1.get(), "test").arr.data());
    size_t bad0 = 0, bad1 = 0;
    for (int64_t i = 0; i < n; ++i) {
      bad0 += p0[i] != 6.f;
      bad1 += p1[i] != 30.5f;
    }
    EXPECT_EQ(bad0, 0u) << "first " << p0[0];
    EXPECT_EQ(bad1, 0u) << "first " << p1[0];
  }
}

TEST_F(KVStoreTest, PullReadsTheStoredValueBetweenPushes) {
  // push v1, pull, push v2 (whose producer is slow), pull: each pull sees its own push, whatever the
  // priorities.
  Kv kv("device");
  const int64_t n = 4096;
  Arr init({n}, MX_FLOAT32, MX_DEVICE_CPU, 1);
  init.set(std::vector<float>(size_t(n), 0.f));
  ASSERT_MX_OK(kv_init(kv, {"0"}, {&init}));
  std::vector<Arr> outs;
  for (int round = 0; round < 4; ++round) {
    Arr v0({n}, MX_FLOAT32, MX_DEVICE_CPU, 0), v1({n}, MX_FLOAT32, MX_DEVICE_CPU, 2);
    slow_fill(v0, float(round), 10 * (round % 2));
    slow_fill(v1, float(10 * round), 5);
    ASSERT_MX_OK(kv_push(kv, {"0", "0"}, {&v0, &v1}, round % 2 ? 10 : -10));
    outs.emplace_back(std::vector<int64_t>{n}, MX_FLOAT32, MX_DEVICE_CPU, round);
    ASSERT_MX_OK(kv_pull(kv, {"0"}, {&outs.back()}, round % 2 ? -10 : 10));
  }
  for (int round = 0; round < 4; ++round)
    EXPECT_EQ(outs[size_t(round)].to_vector<float>(), std::vector<float>(size_t(n), float(11 * round))) << round;
}

}  // namespace
}  // namespace mx
