// Helpers for tests that drive mx through its C API.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "mx/c_api.h"

#define EXPECT_MX_OK(call) EXPECT_EQ((call), 0) << #call << ": " << mx_get_last_error()
#define ASSERT_MX_OK(call) ASSERT_EQ((call), 0) << #call << ": " << mx_get_last_error()

namespace mx::test {

// Owning handle.
class Arr {
 public:
  Arr() = default;
  explicit Arr(mx_ndarray_t h) : h_(h) {}
  Arr(std::vector<int64_t> shape, int32_t dtype = MX_FLOAT32, int32_t dev_type = MX_DEVICE_CPU, int32_t dev_id = 0) {
    EXPECT_MX_OK(mx_ndarray_create(shape.data(), int32_t(shape.size()), dtype, dev_type, dev_id, &h_));
  }
  Arr(Arr&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  Arr& operator=(Arr&& o) noexcept {
    std::swap(h_, o.h_);
    return *this;
  }
  ~Arr() { mx_ndarray_free(h_); }
  mx_ndarray_t get() const { return h_; }
  mx_ndarray_t release() {
    mx_ndarray_t h = h_;
    h_ = nullptr;
    return h;
  }

  std::vector<int64_t> shape() const {
    int32_t nd = 0;
    const int64_t* s = nullptr;
    EXPECT_MX_OK(mx_ndarray_get_shape(h_, &nd, &s));
    return std::vector<int64_t>(s, s + nd);
  }
  template <typename T>
  std::vector<T> to_vector() const {
    int64_t n = 0;
    EXPECT_MX_OK(mx_ndarray_get_size(h_, &n));
    std::vector<T> v(static_cast<size_t>(n));
    EXPECT_MX_OK(mx_ndarray_copy_to_host(h_, v.data(), v.size() * sizeof(T)));
    return v;
  }
  // Raw contents, whatever the dtype.
  std::vector<uint8_t> to_bytes() const {
    int64_t n = 0;
    int32_t dt = 0, bytes = 0;
    EXPECT_MX_OK(mx_ndarray_get_size(h_, &n));
    EXPECT_MX_OK(mx_ndarray_get_dtype(h_, &dt));
    EXPECT_MX_OK(mx_dtype_size(dt, &bytes));
    std::vector<uint8_t> v(static_cast<size_t>(n * bytes));
    EXPECT_MX_OK(mx_ndarray_copy_to_host(h_, v.data(), v.size()));
    return v;
  }
  template <typename T>
  void set(const std::vector<T>& v) {
    EXPECT_MX_OK(mx_ndarray_copy_from_host(h_, v.data(), v.size() * sizeof(T)));
  }

 private:
  mx_ndarray_t h_ = nullptr;
};

// Runs a one-output op with fresh outputs.
inline Arr invoke1(const char* op, std::initializer_list<mx_ndarray_t> inputs, int n = 0, const char** keys = nullptr,
                   const char** vals = nullptr) {
  std::vector<mx_ndarray_t> in(inputs);
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  int rc = mx_imperative_invoke(op, int32_t(in.size()), in.data(), &nout, &outs, n, keys, vals);
  EXPECT_EQ(rc, 0) << op << ": " << mx_get_last_error();
  if (rc != 0 || nout != 1) return Arr();
  return Arr(outs[0]);
}

}  // namespace mx::test
