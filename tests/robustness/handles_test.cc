// Handle misuse through the C API: double frees, use after free, handles of the wrong kind and
// values mx never issued are MX_ERR_INVALID_HANDLE errors naming the handle, never crashes, and
// the library keeps working afterwards. (Before the handle table each of these crashed or
// corrupted the heap: glibc aborted with "free(): double free detected".)
//
// Only the C API is used, so this file also builds against an older libmx to show the failures.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "mx/c_api.h"

#ifndef MX_ERR_INVALID_HANDLE
#define MX_ERR_INVALID_HANDLE 8
#endif

namespace {

#define ASSERT_OK(call) ASSERT_EQ((call), 0) << #call << ": " << mx_get_last_error()

// The call failed with MX_ERR_INVALID_HANDLE and a message naming the API function.
#define EXPECT_BAD_HANDLE(call, fn)                                                            \
  do {                                                                                         \
    EXPECT_EQ((call), -1) << #call;                                                            \
    EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_HANDLE) << mx_get_last_error();         \
    EXPECT_NE(std::string(mx_get_last_error()).find(fn), std::string::npos) << mx_get_last_error(); \
  } while (0)

std::string last_error() { return mx_get_last_error(); }

mx_ndarray_t make(std::vector<int64_t> shape, float fill) {
  mx_ndarray_t h = nullptr;
  EXPECT_EQ(mx_ndarray_create(shape.data(), int32_t(shape.size()), MX_FLOAT32, MX_DEVICE_CPU, 0, &h), 0)
      << last_error();
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> v(size_t(n), fill);
  EXPECT_EQ(mx_ndarray_copy_from_host(h, v.data(), v.size() * sizeof(float)), 0) << last_error();
  return h;
}

float first(mx_ndarray_t h) {
  float v = -1;
  int64_t n = 0;
  EXPECT_EQ(mx_ndarray_get_size(h, &n), 0);
  std::vector<float> all(static_cast<size_t>(n));
  EXPECT_EQ(mx_ndarray_copy_to_host(h, all.data(), all.size() * sizeof(float)), 0) << last_error();
  if (!all.empty()) v = all[0];
  return v;
}

// A normal computation, to show the library still works after a misuse: 2 + 3 == 5.
void expect_still_working() {
  mx_ndarray_t a = make({4}, 2), b = make({4}, 3);
  mx_ndarray_t in[] = {a, b};
  int32_t n = 0;
  mx_ndarray_t* outs = nullptr;
  ASSERT_OK(mx_imperative_invoke("elemwise_add", 2, in, &n, &outs, 0, nullptr, nullptr));
  ASSERT_EQ(n, 1);
  mx_ndarray_t c = outs[0];
  EXPECT_EQ(first(c), 5.0f);
  EXPECT_EQ(mx_ndarray_free(c), 0);
  EXPECT_EQ(mx_ndarray_free(a), 0);
  EXPECT_EQ(mx_ndarray_free(b), 0);
}

mx_symbol_t relu_symbol() {
  mx_symbol_t x = nullptr, op = nullptr;
  EXPECT_EQ(mx_symbol_create_variable("x", &x), 0) << last_error();
  EXPECT_EQ(mx_symbol_create_atomic("relu", 0, nullptr, nullptr, &op), 0) << last_error();
  EXPECT_EQ(mx_symbol_compose(op, "r", 1, nullptr, &x), 0) << last_error();
  EXPECT_EQ(mx_symbol_free(x), 0);
  return op;
}

std::string temp_path(const char* name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/mx_handles_" + std::to_string(::getpid()) + "_" + name;
}

TEST(Handles, NDArrayDoubleFreeAndUseAfterFree) {
  mx_ndarray_t a = make({3}, 1);
  ASSERT_OK(mx_ndarray_free(a));
  EXPECT_BAD_HANDLE(mx_ndarray_free(a), "mx_ndarray_free");
  EXPECT_NE(last_error().find("freed"), std::string::npos) << last_error();
  int32_t nd = 0;
  const int64_t* shape = nullptr;
  EXPECT_BAD_HANDLE(mx_ndarray_get_shape(a, &nd, &shape), "mx_ndarray_get_shape");
  float buf[3];
  EXPECT_BAD_HANDLE(mx_ndarray_copy_to_host(a, buf, sizeof(buf)), "mx_ndarray_copy_to_host");
  EXPECT_BAD_HANDLE(mx_ndarray_wait_to_read(a), "mx_ndarray_wait_to_read");
  mx_ndarray_t view = nullptr;
  EXPECT_BAD_HANDLE(mx_ndarray_slice(a, 0, 1, &view), "mx_ndarray_slice");
  expect_still_working();
}

TEST(Handles, FreedArrayAsOpInputOrOutputNamesTheOp) {
  mx_ndarray_t a = make({3}, 1), b = make({3}, 2), dead = make({3}, 0);
  ASSERT_OK(mx_ndarray_free(dead));
  mx_ndarray_t in[] = {a, dead};
  int32_t n = 0;
  mx_ndarray_t* outs = nullptr;
  EXPECT_BAD_HANDLE(mx_imperative_invoke("elemwise_add", 2, in, &n, &outs, 0, nullptr, nullptr), "elemwise_add");
  EXPECT_NE(last_error().find("input 1"), std::string::npos) << last_error();
  mx_ndarray_t good_in[] = {a, b};
  mx_ndarray_t out_list[] = {dead};
  mx_ndarray_t* out_ptr = out_list;
  n = 1;
  EXPECT_BAD_HANDLE(mx_imperative_invoke("elemwise_add", 2, good_in, &n, &out_ptr, 0, nullptr, nullptr),
                    "elemwise_add");
  EXPECT_NE(last_error().find("output 0"), std::string::npos) << last_error();
  // Autograd and save take handles too.
  int32_t req = 1;
  EXPECT_BAD_HANDLE(mx_autograd_mark_variables(1, &dead, &req, &a), "mx_autograd_mark_variables");
  const char* key = "k";
  EXPECT_BAD_HANDLE(mx_ndarray_save(temp_path("x.params").c_str(), 1, &dead, &key), "mx_ndarray_save");
  EXPECT_EQ(first(a), 1.0f);  // the live arrays are untouched
  EXPECT_EQ(first(b), 2.0f);
  mx_ndarray_free(a);
  mx_ndarray_free(b);
  expect_still_working();
}

TEST(Handles, WrongKindIsNamed) {
  mx_symbol_t s = relu_symbol();
  int32_t nd = 0;
  const int64_t* shape = nullptr;
  // A symbol handle where an array handle is expected, and the reverse.
  EXPECT_BAD_HANDLE(mx_ndarray_get_shape(reinterpret_cast<mx_ndarray_t>(s), &nd, &shape), "mx_ndarray_get_shape");
  EXPECT_NE(last_error().find("symbol"), std::string::npos) << last_error();
  mx_ndarray_t a = make({2}, 1);
  uint32_t num = 0;
  const char** names = nullptr;
  EXPECT_BAD_HANDLE(mx_symbol_list_arguments(reinterpret_cast<mx_symbol_t>(a), &num, &names), "mx_symbol_list_arguments");
  EXPECT_BAD_HANDLE(mx_symbol_free(reinterpret_cast<mx_symbol_t>(a)), "mx_symbol_free");
  EXPECT_BAD_HANDLE(mx_executor_free(reinterpret_cast<mx_executor_t>(a)), "mx_executor_free");
  EXPECT_EQ(first(a), 1.0f);  // still alive after the failed wrong-kind free
  ASSERT_OK(mx_symbol_list_arguments(s, &num, &names));
  EXPECT_EQ(num, 1u);
  mx_ndarray_free(a);
  mx_symbol_free(s);
  expect_still_working();
}

TEST(Handles, ValuesNeverIssuedAreRejected) {
  int not_a_handle = 42;
  int32_t nd = 0;
  const int64_t* shape = nullptr;
  EXPECT_BAD_HANDLE(mx_ndarray_get_shape(reinterpret_cast<mx_ndarray_t>(&not_a_handle), &nd, &shape),
                    "mx_ndarray_get_shape");
  std::vector<char> heap(64, 0);
  EXPECT_BAD_HANDLE(mx_ndarray_free(reinterpret_cast<mx_ndarray_t>(heap.data())), "mx_ndarray_free");
  EXPECT_BAD_HANDLE(mx_symbol_free(reinterpret_cast<mx_symbol_t>(uintptr_t(0xdeadbeef))), "mx_symbol_free");
  // NULL stays an argument error, and freeing NULL is a no-op.
  EXPECT_EQ(mx_ndarray_get_shape(nullptr, &nd, &shape), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mx_ndarray_free(nullptr), 0);
  EXPECT_EQ(mx_symbol_free(nullptr), 0);
  expect_still_working();
}

TEST(Handles, StaleHandlesNeverReachNewObjects) {
  // Free many arrays, make as many new ones (their slots get reused): every old handle fails,
  // every new one works and keeps its own value.
  const int n = 3000;
  std::vector<mx_ndarray_t> old_h, new_h;
  for (int i = 0; i < n; ++i) old_h.push_back(make({1}, float(i)));
  for (auto h : old_h) ASSERT_OK(mx_ndarray_free(h));
  for (int i = 0; i < n; ++i) new_h.push_back(make({1}, float(n + i)));
  int64_t size = 0;
  for (int i = 0; i < n; ++i) {
    ASSERT_EQ(mx_ndarray_get_size(old_h[size_t(i)], &size), -1) << "stale handle " << i << " still works";
    ASSERT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_HANDLE);
  }
  for (int i = 0; i < n; ++i) ASSERT_EQ(first(new_h[size_t(i)]), float(n + i));
  for (auto h : new_h) ASSERT_OK(mx_ndarray_free(h));
}

TEST(Handles, ConcurrentDoubleFreeFreesOnce) {
  for (int round = 0; round < 50; ++round) {
    mx_ndarray_t a = make({8}, 1);
    std::atomic<int> ok{0}, bad{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        if (mx_ndarray_free(a) == 0) ++ok;
        else if (mx_get_last_error_code() == MX_ERR_INVALID_HANDLE) ++bad;
      });
    go = true;
    for (auto& t : threads) t.join();
    ASSERT_EQ(ok.load(), 1);
    ASSERT_EQ(bad.load(), 3);
  }
  expect_still_working();
}

TEST(Handles, SymbolExecutorCachedOp) {
  mx_symbol_t s = relu_symbol();
  const char* keys[] = {"x"};
  const uint32_t ndims[] = {1};
  const int64_t dims[] = {4};
  mx_executor_t ex = nullptr;
  ASSERT_OK(mx_executor_simple_bind(s, MX_DEVICE_CPU, 0, 1, keys, ndims, dims, 0, nullptr, nullptr, MX_GRAD_WRITE, 0,
                                    nullptr, nullptr, &ex));
  mx_cached_op_t cop = nullptr;
  ASSERT_OK(mx_cached_op_create(s, 0, nullptr, nullptr, &cop));

  ASSERT_OK(mx_symbol_free(s));
  EXPECT_BAD_HANDLE(mx_symbol_free(s), "mx_symbol_free");
  uint32_t num = 0;
  const char** names = nullptr;
  EXPECT_BAD_HANDLE(mx_symbol_list_outputs(s, &num, &names), "mx_symbol_list_outputs");
  mx_symbol_t composed = nullptr;
  ASSERT_OK(mx_symbol_create_atomic("relu", 0, nullptr, nullptr, &composed));
  EXPECT_BAD_HANDLE(mx_symbol_compose(composed, "r2", 1, nullptr, &s), "mx_symbol_compose");
  mx_symbol_free(composed);

  // The executor and the cached op hold their own graph: freeing the symbol does not affect them.
  ASSERT_OK(mx_executor_forward(ex, 0));
  ASSERT_OK(mx_executor_free(ex));
  EXPECT_BAD_HANDLE(mx_executor_forward(ex, 0), "mx_executor_forward");
  EXPECT_BAD_HANDLE(mx_executor_free(ex), "mx_executor_free");
  mx_executor_memory_stats st{};
  st.struct_size = sizeof(st);
  EXPECT_BAD_HANDLE(mx_executor_memory_stats_get(ex, &st), "mx_executor_memory_stats_get");

  mx_ndarray_t x = make({4}, -1);
  uint32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  ASSERT_OK(mx_cached_op_invoke(cop, 1, &x, &nout, &outs));
  ASSERT_EQ(nout, 1u);
  EXPECT_EQ(first(outs[0]), 0.0f);
  mx_ndarray_free(outs[0]);
  ASSERT_OK(mx_cached_op_free(cop));
  EXPECT_BAD_HANDLE(mx_cached_op_invoke(cop, 1, &x, &nout, &outs), "mx_cached_op_invoke");
  EXPECT_BAD_HANDLE(mx_cached_op_free(cop), "mx_cached_op_free");
  mx_ndarray_free(x);
  expect_still_working();
}

TEST(Handles, IteratorsAndRecordIO) {
  const std::string csv = temp_path("data.csv");
  {
    FILE* f = std::fopen(csv.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("1,2\n3,4\n", f);
    std::fclose(f);
  }
  const char* keys[] = {"data_csv", "data_shape", "batch_size"};
  const char* vals[] = {csv.c_str(), "(2,)", "1"};
  mx_dataiter_t it = nullptr;
  ASSERT_OK(mx_dataiter_create("CSVIter", 3, keys, vals, &it));
  int32_t has = 0;
  ASSERT_OK(mx_dataiter_next(it, &has));
  mx_ndarray_t batch = nullptr;
  ASSERT_OK(mx_dataiter_get_data(it, &batch));
  ASSERT_OK(mx_dataiter_free(it));
  EXPECT_BAD_HANDLE(mx_dataiter_next(it, &has), "mx_dataiter_next");
  EXPECT_BAD_HANDLE(mx_dataiter_free(it), "mx_dataiter_free");
  EXPECT_EQ(first(batch), 1.0f);  // a batch handed out outlives its iterator
  mx_ndarray_free(batch);
  std::remove(csv.c_str());

  const std::string rec = temp_path("x.rec");
  mx_recordio_writer_t w = nullptr;
  ASSERT_OK(mx_recordio_writer_create(rec.c_str(), nullptr, &w));
  ASSERT_OK(mx_recordio_writer_write(w, "abc", 3));
  ASSERT_OK(mx_recordio_writer_free(w));
  EXPECT_BAD_HANDLE(mx_recordio_writer_write(w, "abc", 3), "mx_recordio_writer_write");
  EXPECT_BAD_HANDLE(mx_recordio_writer_free(w), "mx_recordio_writer_free");
  mx_recordio_reader_t r = nullptr;
  ASSERT_OK(mx_recordio_reader_create(rec.c_str(), &r));
  // A reader is not a writer.
  EXPECT_BAD_HANDLE(mx_recordio_writer_free(reinterpret_cast<mx_recordio_writer_t>(r)), "mx_recordio_writer_free");
  const void* data = nullptr;
  uint64_t size = 0;
  ASSERT_OK(mx_recordio_reader_read(r, &data, &size));
  EXPECT_EQ(std::string(static_cast<const char*>(data), size), "abc");
  ASSERT_OK(mx_recordio_reader_free(r));
  EXPECT_BAD_HANDLE(mx_recordio_reader_read(r, &data, &size), "mx_recordio_reader_read");
  EXPECT_BAD_HANDLE(mx_recordio_reader_free(r), "mx_recordio_reader_free");
  std::remove(rec.c_str());
  expect_still_working();
}

}  // namespace
