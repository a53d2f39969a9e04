// DLPack (issue 12): an imported tensor is checked before it is trusted (NULL data with elements,
// absurd shapes, too many dims, vector or unknown dtypes, offsets past the address space, strides
// that are not the compact row-major ones), and a failed import leaves the tensor to its owner.
// Exports of views point at the view's first element (byte_offset 0), so consumers that ignore
// byte_offset read the right elements. Everything goes through the C API.
#include <dlpack/dlpack.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <numeric>
#include <string>
#include <vector>

#include "../unit/test_util.h"

namespace {

using mx::test::Arr;

std::string last_error() { return mx_get_last_error(); }

// A producer's tensor over a buffer of its own; counts deleter calls.
struct Producer {
  std::vector<float> buf;
  std::vector<int64_t> shape, strides;
  DLManagedTensor managed{};
  int deleted = 0;

  Producer(std::vector<int64_t> s, size_t elems) : buf(elems), shape(std::move(s)) {
    std::iota(buf.begin(), buf.end(), 0.f);
    DLTensor& t = managed.dl_tensor;
    t.data = buf.data();
    t.device = DLDevice{kDLCPU, 0};
    t.ndim = int32_t(shape.size());
    t.dtype = DLDataType{kDLFloat, 32, 1};
    t.shape = shape.data();
    t.strides = nullptr;
    t.byte_offset = 0;
    managed.manager_ctx = this;
    managed.deleter = [](DLManagedTensor* self) { ++static_cast<Producer*>(self->manager_ctx)->deleted; };
  }
  DLTensor& t() { return managed.dl_tensor; }
  void set_strides(std::vector<int64_t> s) {
    strides = std::move(s);
    t().strides = strides.data();
  }
};

// A small op still gives the right answer.
void expect_still_works() {
  Arr a({3});
  a.set(std::vector<float>{1, 2, 3});
  Arr out = mx::test::invoke1("_plus_scalar", {a.get()}, 1, std::vector<const char*>{"scalar"}.data(),
                              std::vector<const char*>{"10"}.data());
  EXPECT_EQ(out.to_vector<float>(), (std::vector<float>{11, 12, 13}));
}

// Importing p fails with `code` and a message holding each of `parts`; p is still the producer's.
void expect_rejected(Producer& p, int32_t code, std::initializer_list<const char*> parts) {
  mx_ndarray_t h = nullptr;
  EXPECT_EQ(mx_ndarray_from_dlpack(&p.managed, &h), -1) << "accepted";
  EXPECT_EQ(h, nullptr);
  EXPECT_EQ(mx_get_last_error_code(), code) << last_error();
  for (const char* part : parts)
    EXPECT_NE(last_error().find(part), std::string::npos) << part << " missing in: " << last_error();
  EXPECT_MX_OK(mx_ndarray_wait_all());
  EXPECT_EQ(p.deleted, 0) << "a rejected tensor must stay with its producer";
  expect_still_works();
}

// Imports p, checks shape and contents (p.buf read from byte_offset), frees: the deleter runs once.
void expect_imported(Producer& p, const std::vector<int64_t>& shape, size_t first_elem = 0) {
  mx_ndarray_t h = nullptr;
  ASSERT_MX_OK(mx_ndarray_from_dlpack(&p.managed, &h));
  {
    Arr a(h);
    EXPECT_EQ(a.shape(), shape);
    const std::vector<float> got = a.to_vector<float>();
    ASSERT_LE(first_elem + got.size(), p.buf.size());
    EXPECT_EQ(got, std::vector<float>(p.buf.begin() + long(first_elem), p.buf.begin() + long(first_elem + got.size())));
    EXPECT_EQ(p.deleted, 0);
  }
  EXPECT_MX_OK(mx_ndarray_wait_all());
  EXPECT_EQ(p.deleted, 1);
}

// ---------------------------------------------------------------- import

TEST(DLPackImport, NullTensorAndNullData) {
  mx_ndarray_t h = nullptr;
  EXPECT_EQ(mx_ndarray_from_dlpack(nullptr, &h), -1);
  EXPECT_EQ(mx_get_last_error_code(), MX_ERR_INVALID_ARGUMENT);
  Producer p({2, 3}, 6);
  p.t().data = nullptr;
  expect_rejected(p, MX_ERR_INVALID_ARGUMENT, {"NULL", "(2,3)"});
  Producer q({2, 3}, 6);
  q.t().shape = nullptr;
  expect_rejected(q, MX_ERR_INVALID_ARGUMENT, {"shape"});
}

TEST(DLPackImport, AbsurdShapesAndDims) {
  Producer huge({int64_t(1) << 62}, 4);
  expect_rejected(huge, MX_ERR_INVALID_ARGUMENT, {"(4611686018427387904)"});
  Producer wide({int64_t(1) << 32, int64_t(1) << 32}, 4);
  expect_rejected(wide, MX_ERR_INVALID_ARGUMENT, {"(4294967296,4294967296)"});
  Producer neg({2, -3}, 6);
  expect_rejected(neg, MX_ERR_INVALID_ARGUMENT, {"(2,-3)"});
  Producer deep(std::vector<int64_t>(40, 1), 1);
  expect_rejected(deep, MX_ERR_INVALID_ARGUMENT, {"ndim 40"});
  Producer negdim({2}, 2);
  negdim.t().ndim = -1;
  expect_rejected(negdim, MX_ERR_INVALID_ARGUMENT, {"ndim -1"});
  // 32 dims is the limit, not beyond it.
  Producer d32(std::vector<int64_t>(32, 1), 1);
  expect_imported(d32, std::vector<int64_t>(32, 1));
}

TEST(DLPackImport, DtypesMxCannotRepresent) {
  Producer lanes({4}, 16);
  lanes.t().dtype.lanes = 4;
  expect_rejected(lanes, MX_ERR_UNSUPPORTED, {"lanes"});
  Producer code({4}, 4);
  code.t().dtype.code = 99;
  expect_rejected(code, MX_ERR_UNSUPPORTED, {"code 99"});
  Producer bits({4}, 4);
  bits.t().dtype.bits = 24;
  expect_rejected(bits, MX_ERR_UNSUPPORTED, {"bits 24"});
}

TEST(DLPackImport, OffsetsAndAlignment) {
  Producer past({4}, 4);
  past.t().byte_offset = UINT64_MAX - 7;
  expect_rejected(past, MX_ERR_INVALID_ARGUMENT, {"byte_offset"});
  Producer odd({2}, 4);
  odd.t().byte_offset = 2;  // float32 elements at a 2-byte boundary
  expect_rejected(odd, MX_ERR_UNSUPPORTED, {"aligned"});
  Producer dev({4}, 4);
  dev.t().device = DLDevice{kDLVulkan, 0};
  expect_rejected(dev, MX_ERR_UNSUPPORTED, {"device type"});
  // A legitimate offset is honoured: elements 2.. of the buffer.
  Producer off({2, 2}, 8);
  off.t().byte_offset = 2 * sizeof(float);
  expect_imported(off, {2, 2}, 2);
}

TEST(DLPackImport, StridesMustBeCompactRowMajor) {
  Producer col({2, 3}, 6);
  col.set_strides({1, 2});  // column-major
  expect_rejected(col, MX_ERR_UNSUPPORTED, {"row-major", "(2,3)"});
  Producer gaps({2, 3}, 6);
  gaps.set_strides({100, 1});  // would read far outside a 6-element buffer
  expect_rejected(gaps, MX_ERR_UNSUPPORTED, {"row-major", "stride 100"});
  Producer negative({2, 3}, 6);
  negative.set_strides({-3, 1});
  expect_rejected(negative, MX_ERR_UNSUPPORTED, {"row-major"});
  // Size-1 axes may carry any stride (numpy and torch give various ones); compact ones are fine.
  Producer ones({2, 1, 3}, 6);
  ones.set_strides({3, 77, 1});
  expect_imported(ones, {2, 1, 3});
  Producer compact({2, 3}, 6);
  compact.set_strides({3, 1});
  expect_imported(compact, {2, 3});
}

TEST(DLPackImport, ZeroSizeTensorsWhateverTheirStridesAndData) {
  Producer torch_like({3, 0}, 0);
  torch_like.set_strides({1, 1});  // what torch gives for a (3, 0) tensor
  expect_imported(torch_like, {3, 0});
  Producer null_data({0, 5}, 0);
  null_data.t().data = nullptr;
  null_data.set_strides({-7, 12345});
  expect_imported(null_data, {0, 5});
  Producer huge_empty({0, int64_t(1) << 62, int64_t(1) << 62}, 0);
  expect_imported(huge_empty, {0, int64_t(1) << 62, int64_t(1) << 62});
}

TEST(DLPackImport, ImportIsZeroCopyAndOpsSeeTheData) {
  Producer p({2, 3}, 6);
  mx_ndarray_t h = nullptr;
  ASSERT_MX_OK(mx_ndarray_from_dlpack(&p.managed, &h));
  Arr a(h);
  Arr twice = mx::test::invoke1("_mul_scalar", {a.get()}, 1, std::vector<const char*>{"scalar"}.data(),
                                std::vector<const char*>{"2"}.data());
  EXPECT_EQ(twice.to_vector<float>(), (std::vector<float>{0, 2, 4, 6, 8, 10}));
  p.buf[5] = 50;  // the producer's memory is the array's
  EXPECT_EQ(a.to_vector<float>()[5], 50.f);
  a = Arr();
  EXPECT_MX_OK(mx_ndarray_wait_all());
  EXPECT_EQ(p.deleted, 1);
}

// ---------------------------------------------------------------- export

struct Exported {
  DLManagedTensor* m = nullptr;
  explicit Exported(mx_ndarray_t h) { EXPECT_MX_OK(mx_ndarray_to_dlpack(h, &m)); }
  ~Exported() {
    if (m && m->deleter) m->deleter(m);
  }
  const DLTensor& t() const { return m->dl_tensor; }
  // The elements a consumer that ignores byte_offset reads (torch 1.13 does).
  std::vector<float> read_ignoring_offset() const {
    int64_t n = 1;
    for (int i = 0; i < t().ndim; ++i) n *= t().shape[i];
    const float* p = static_cast<const float*>(t().data);
    return std::vector<float>(p, p + n);
  }
};

TEST(DLPackExport, ViewsPointAtTheirFirstElement) {
  Arr base({4, 3});
  std::vector<float> v(12);
  std::iota(v.begin(), v.end(), 0.f);
  base.set(v);
  Exported whole(base.get());
  ASSERT_NE(whole.m, nullptr);
  const char* base_ptr = static_cast<const char*>(whole.t().data) + whole.t().byte_offset;

  mx_ndarray_t h = nullptr;
  ASSERT_MX_OK(mx_ndarray_slice(base.get(), 1, 3, &h));
  Arr rows(h);
  Exported e(rows.get());
  ASSERT_NE(e.m, nullptr);
  EXPECT_EQ(e.t().byte_offset, 0u);
  EXPECT_EQ(static_cast<const char*>(e.t().data), base_ptr + 3 * sizeof(float));
  ASSERT_EQ(e.t().ndim, 2);
  EXPECT_EQ(e.t().shape[0], 2);
  EXPECT_EQ(e.t().shape[1], 3);
  ASSERT_NE(e.t().strides, nullptr);
  EXPECT_EQ(e.t().strides[0], 3);
  EXPECT_EQ(e.t().strides[1], 1);
  EXPECT_EQ(e.read_ignoring_offset(), (std::vector<float>{3, 4, 5, 6, 7, 8}));

  // A reshaped view of a slice, then back into mx through DLPack: still the same elements.
  std::vector<int64_t> flat{6};
  ASSERT_MX_OK(mx_ndarray_reshape(rows.get(), flat.data(), 1, &h));
  Arr r(h);
  mx_ndarray_t last = nullptr;
  ASSERT_MX_OK(mx_ndarray_slice(r.get(), 4, 6, &last));
  Arr tail(last);
  DLManagedTensor* m = nullptr;
  ASSERT_MX_OK(mx_ndarray_to_dlpack(tail.get(), &m));
  EXPECT_EQ(m->dl_tensor.byte_offset, 0u);
  mx_ndarray_t back = nullptr;
  ASSERT_MX_OK(mx_ndarray_from_dlpack(m, &back));  // takes m
  Arr b(back);
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{7, 8}));
}

TEST(DLPackExport, ZeroSizeViews) {
  mx_ndarray_t h = nullptr;
  std::vector<int64_t> shape{3, 0, int64_t(1) << 62};
  ASSERT_MX_OK(mx_ndarray_create(shape.data(), 3, MX_FLOAT32, MX_DEVICE_CPU, 0, &h));
  Arr a(h);
  ASSERT_MX_OK(mx_ndarray_slice(a.get(), 1, 2, &h));
  Arr v(h);
  Exported e(v.get());
  ASSERT_NE(e.m, nullptr);
  EXPECT_EQ(e.t().ndim, 3);
  EXPECT_EQ(e.t().shape[0], 1);
  EXPECT_EQ(e.t().shape[2], int64_t(1) << 62);
  EXPECT_EQ(e.t().byte_offset, 0u);
}

}  // namespace
