// Sizes (issue 12): shapes whose element or byte count overflows int64, arrays of more than 32
// dims, shape arithmetic in op inference that could wrap around to a small positive shape, and
// op parameters outside their type's or meaning's range. Each must be an error naming what is
// wrong, and the process must keep working afterwards. Everything goes through the C API.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "../unit/test_util.h"

namespace {

using mx::test::Arr;

constexpr int64_t k2p62 = int64_t(1) << 62;
constexpr int64_t k2p40 = int64_t(1) << 40;
constexpr int64_t kMax = INT64_MAX;

std::string last_error() { return mx_get_last_error(); }

// Runs op on inputs with string attributes; on success *out gets the outputs.
int invoke(const char* op, std::initializer_list<mx_ndarray_t> inputs,
           std::initializer_list<std::pair<const char*, std::string>> attrs, std::vector<Arr>* out = nullptr) {
  std::vector<mx_ndarray_t> in(inputs);
  std::vector<const char*> keys, vals;
  for (const auto& [k, v] : attrs) {
    keys.push_back(k);
    vals.push_back(v.c_str());
  }
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  const int rc = mx_imperative_invoke(op, int32_t(in.size()), in.data(), &nout, &outs, int32_t(keys.size()),
                                      keys.data(), vals.data());
  if (rc == 0)
    for (int32_t i = 0; i < nout; ++i) {
      if (out)
        out->emplace_back(outs[i]);
      else
        mx_ndarray_free(outs[i]);
    }
  return rc;
}

// A small op still gives the right answer (checked against a sum computed here).
void expect_still_works() {
  Arr a({3}), b({3});
  a.set(std::vector<float>{1, 2, 3});
  b.set(std::vector<float>{10, 20, 30});
  std::vector<Arr> out;
  ASSERT_EQ(invoke("elemwise_add", {a.get(), b.get()}, {}, &out), 0) << last_error();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].to_vector<float>(), (std::vector<float>{11, 22, 33}));
}

// The last call failed with `code` and a message holding every one of `parts`.
#define EXPECT_MX_ERROR(call, code, ...)                                                                            \
  do {                                                                                                              \
    const int rc_ = (call);                                                                                         \
    EXPECT_EQ(rc_, -1) << #call << " succeeded";                                                                    \
    if (rc_ == -1) {                                                                                                \
      EXPECT_EQ(mx_get_last_error_code(), (code)) << last_error();                                                  \
      for (const char* part_ : std::initializer_list<const char*>{__VA_ARGS__})                                     \
        EXPECT_NE(last_error().find(part_), std::string::npos) << "'" << part_ << "' missing in: " << last_error(); \
    }                                                                                                               \
    expect_still_works();                                                                                           \
  } while (0)

int create(std::vector<int64_t> shape, mx_ndarray_t* out, int32_t dtype = MX_FLOAT32) {
  return mx_ndarray_create(shape.data(), int32_t(shape.size()), dtype, MX_DEVICE_CPU, 0, out);
}

// A zero-size array whose other dims are huge: legal (no element, no byte), and the way to reach
// large dims in inference without allocating anything.
Arr empty_with(std::vector<int64_t> shape, int32_t dtype = MX_FLOAT32) {
  mx_ndarray_t h = nullptr;
  EXPECT_EQ(create(shape, &h, dtype), 0) << last_error();
  return Arr(h);
}

std::vector<int64_t> shape_of(const Arr& a) { return a.shape(); }

// ---------------------------------------------------------------- creation

TEST(Sizes, CreateRejectsOverflowingElementAndByteCounts) {
  mx_ndarray_t h = nullptr;
  EXPECT_MX_ERROR(create({k2p62}, &h), MX_ERR_INVALID_ARGUMENT, "(4611686018427387904)", "bytes");
  EXPECT_MX_ERROR(create({int64_t(1) << 32, int64_t(1) << 32}, &h), MX_ERR_INVALID_ARGUMENT, "(4294967296,4294967296)");
  EXPECT_MX_ERROR(create({3, kMax}, &h), MX_ERR_INVALID_ARGUMENT, "elements");
  EXPECT_MX_ERROR(create({int64_t(1) << 61}, &h, MX_FLOAT64), MX_ERR_INVALID_ARGUMENT, "bytes");
  EXPECT_MX_ERROR(create({2, -3}, &h), MX_ERR_INVALID_ARGUMENT, "(2,-3)");
  EXPECT_EQ(h, nullptr);
}

TEST(Sizes, ZeroSizeArraysStayLegalWhateverTheirOtherDims) {
  Arr a = empty_with({0, k2p62, k2p62});
  int64_t n = -1;
  EXPECT_MX_OK(mx_ndarray_get_size(a.get(), &n));
  EXPECT_EQ(n, 0);
  EXPECT_EQ(shape_of(a), (std::vector<int64_t>{0, k2p62, k2p62}));
  Arr b = empty_with({kMax, 0});
  std::vector<Arr> out;
  ASSERT_EQ(invoke("relu", {b.get()}, {}, &out), 0) << last_error();
  EXPECT_EQ(shape_of(out[0]), (std::vector<int64_t>{kMax, 0}));
}

TEST(Sizes, ThirtyThreeDimsAreRejectedEverywhere) {
  mx_ndarray_t h = nullptr;
  std::vector<int64_t> ones33(33, 1), ones32(32, 1);
  EXPECT_MX_ERROR(create(ones33, &h), MX_ERR_INVALID_ARGUMENT, "32");
  Arr a32(ones32);
  EXPECT_EQ(shape_of(a32).size(), 32u);
  EXPECT_MX_ERROR(invoke("expand_dims", {a32.get()}, {{"axis", "0"}}), MX_ERR_INVALID_ARGUMENT, "expand_dims", "33");
  EXPECT_MX_ERROR(mx_ndarray_reshape(a32.get(), ones33.data(), 33, &h), MX_ERR_INVALID_ARGUMENT, "33");
  std::string spec = "(";
  for (int i = 0; i < 33; ++i) spec += "1,";
  spec += ")";
  EXPECT_MX_ERROR(invoke("Reshape", {a32.get()}, {{"shape", spec}}), MX_ERR_INVALID_ARGUMENT, "Reshape", "33");
  EXPECT_MX_ERROR(invoke("_zeros", {}, {{"shape", spec}}), MX_ERR_INVALID_ARGUMENT, "_zeros", "33");
  EXPECT_MX_ERROR(invoke("tile", {a32.get()}, {{"reps", spec}}), MX_ERR_INVALID_ARGUMENT, "tile", "33");
  // 32 is the limit, not beyond: expand_dims to exactly 32 works.
  Arr a31(std::vector<int64_t>(31, 1));
  std::vector<Arr> out;
  ASSERT_EQ(invoke("expand_dims", {a31.get()}, {{"axis", "-1"}}, &out), 0) << last_error();
  EXPECT_EQ(shape_of(out[0]).size(), 32u);
}

TEST(Sizes, CreationOpsCheckTheirShapeParam) {
  EXPECT_MX_ERROR(invoke("_zeros", {}, {{"shape", "(4611686018427387904,)"}}), MX_ERR_INVALID_ARGUMENT, "_zeros",
                  "(4611686018427387904)");
  EXPECT_MX_ERROR(invoke("_full", {}, {{"shape", "(4294967296,4294967296)"}, {"value", "1"}}), MX_ERR_INVALID_ARGUMENT,
                  "_full");
  EXPECT_MX_ERROR(invoke("_random_uniform", {}, {{"shape", "(2305843009213693952,)"}}), MX_ERR_INVALID_ARGUMENT,
                  "bytes");
  EXPECT_MX_ERROR(invoke("_ones", {}, {{"shape", "(99999999999999999999,)"}}), MX_ERR_INVALID_ARGUMENT, "_ones",
                  "shape");
  EXPECT_MX_ERROR(invoke("_zeros", {}, {{"shape", "(2,-1)"}}), MX_ERR_INVALID_ARGUMENT, "_zeros");
  std::vector<Arr> out;
  ASSERT_EQ(invoke("_zeros", {}, {{"shape", "(0,4611686018427387904)"}}, &out), 0) << last_error();
  EXPECT_EQ(shape_of(out[0]), (std::vector<int64_t>{0, k2p62}));
}

// ---------------------------------------------------------------- views

TEST(Sizes, ReshapeViewsCheckTheProductExactly) {
  Arr a({4});
  a.set(std::vector<float>{1, 2, 3, 4});
  mx_ndarray_t h = nullptr;
  // 4 * (2^62 + 1) wraps around to 4: it must not pass for a 4-element array.
  std::vector<int64_t> wraps{4, k2p62 + 1};
  EXPECT_MX_ERROR(mx_ndarray_reshape(a.get(), wraps.data(), 2, &h), MX_ERR_SHAPE_MISMATCH, "(4,4611686018427387905)");
  std::vector<int64_t> infer{-1, k2p62 + 1, 4};
  EXPECT_MX_ERROR(mx_ndarray_reshape(a.get(), infer.data(), 3, &h), MX_ERR_SHAPE_MISMATCH,
                  "(-1,4611686018427387905,4)");
  std::vector<int64_t> big{k2p62, k2p62, 0};  // zero elements, but not a's four
  EXPECT_MX_ERROR(mx_ndarray_reshape(a.get(), big.data(), 3, &h), MX_ERR_SHAPE_MISMATCH, "reshape");
  std::vector<int64_t> ok{2, -1};
  ASSERT_MX_OK(mx_ndarray_reshape(a.get(), ok.data(), 2, &h));
  Arr v(h);
  EXPECT_EQ(shape_of(v), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(v.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
  // A zero-size array reshapes to any zero-size shape, but -1 has nothing to infer from.
  Arr e = empty_with({0, 5});
  std::vector<int64_t> z{k2p62, 0, k2p62};
  ASSERT_MX_OK(mx_ndarray_reshape(e.get(), z.data(), 3, &h));
  mx_ndarray_free(h);
  std::vector<int64_t> zi{-1, 0};
  EXPECT_MX_ERROR(mx_ndarray_reshape(e.get(), zi.data(), 2, &h), MX_ERR_SHAPE_MISMATCH, "-1");
}

TEST(Sizes, SlicesOfZeroSizeArraysWithHugeRows) {
  Arr e = empty_with({3, k2p62, 0, k2p62});
  mx_ndarray_t h = nullptr;
  ASSERT_MX_OK(mx_ndarray_slice(e.get(), 1, 3, &h));
  Arr v(h);
  EXPECT_EQ(shape_of(v), (std::vector<int64_t>{2, k2p62, 0, k2p62}));
  EXPECT_MX_ERROR(mx_ndarray_slice(e.get(), 2, 4, &h), MX_ERR_INVALID_ARGUMENT, "slice");
  EXPECT_MX_ERROR(mx_ndarray_slice(e.get(), -1, 2, &h), MX_ERR_INVALID_ARGUMENT, "slice");
}

// ---------------------------------------------------------------- op shape inference

TEST(Sizes, ReshapeCodesCannotWrap) {
  Arr e = empty_with({0, k2p40, k2p40});
  // -3 merges 2^40 * 2^40 = 2^80: not representable, even though the array has no element.
  EXPECT_MX_ERROR(invoke("Reshape", {e.get()}, {{"shape", "(0,-3)"}}), MX_ERR_INVALID_ARGUMENT, "Reshape", "overflows");
  Arr a({6});
  // -4 splits 6 into a * b with a * b == 6 only modulo 2^64.
  int64_t fa = 0, fb = 0;
  for (uint64_t x = 3; fa == 0; x += 2) {
    uint64_t inv = x;  // Newton's iteration for the inverse of x modulo 2^64
    for (int i = 0; i < 6; ++i) inv *= 2 - x * inv;
    const uint64_t y = 6 * inv;
    if (y < uint64_t(kMax) && y > 6) fa = int64_t(x), fb = int64_t(y);
  }
  ASSERT_EQ(uint64_t(fa) * uint64_t(fb), 6u);
  const std::string spec = "(-4," + std::to_string(fa) + "," + std::to_string(fb) + ")";
  EXPECT_MX_ERROR(invoke("Reshape", {a.get()}, {{"shape", spec}}), MX_ERR_SHAPE_MISMATCH, "Reshape");
  EXPECT_MX_ERROR(invoke("Reshape", {a.get()}, {{"shape", "(-1,4611686018427387905,4)"}}), MX_ERR_SHAPE_MISMATCH,
                  "Reshape");
  std::vector<Arr> out;
  ASSERT_EQ(invoke("Reshape", {a.get()}, {{"shape", "(-4,2,-1)"}}, &out), 0) << last_error();
  EXPECT_EQ(shape_of(out[0]), (std::vector<int64_t>{2, 3}));
}

TEST(Sizes, TileAndRepeatCannotWrap) {
  Arr a({4});
  a.set(std::vector<float>{1, 2, 3, 4});
  // 4 * (2^62 + 1) == 4 modulo 2^64.
  EXPECT_MX_ERROR(invoke("tile", {a.get()}, {{"reps", "(4611686018427387905,)"}}), MX_ERR_INVALID_ARGUMENT, "tile");
  Arr e = empty_with({0, k2p40});
  EXPECT_MX_ERROR(invoke("tile", {e.get()}, {{"reps", "(1,16777216)"}}), MX_ERR_INVALID_ARGUMENT, "tile");
  // 2^40 * 2^30 = 2^70 == 64 modulo 2^64.
  EXPECT_MX_ERROR(invoke("repeat", {e.get()}, {{"repeats", "1073741824"}, {"axis", "1"}}), MX_ERR_INVALID_ARGUMENT,
                  "repeat");
  std::vector<Arr> out;
  ASSERT_EQ(invoke("tile", {a.get()}, {{"reps", "(2,)"}}, &out), 0) << last_error();
  EXPECT_EQ(out[0].to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 1, 2, 3, 4}));
}

TEST(Sizes, ConcatSumsCannotWrap) {
  // Four (0, 2^62) arrays joined on dim 1: 2^64 == 0 modulo 2^64.
  Arr e = empty_with({0, k2p62});
  EXPECT_MX_ERROR(invoke("Concat", {e.get(), e.get(), e.get(), e.get()}, {{"num_args", "4"}, {"dim", "1"}}),
                  MX_ERR_INVALID_ARGUMENT, "Concat");
  EXPECT_MX_ERROR(invoke("Concat", {e.get(), e.get()}, {{"num_args", "2"}, {"dim", "1"}}), MX_ERR_INVALID_ARGUMENT,
                  "Concat");
}

TEST(Sizes, FlattenAndFullyConnectedCannotWrap) {
  Arr e = empty_with({0, k2p40, k2p40});
  EXPECT_MX_ERROR(invoke("Flatten", {e.get()}, {}), MX_ERR_INVALID_ARGUMENT, "Flatten");
  Arr w = empty_with({3, 0});  // what a wrapped k of 2^80 would look like
  EXPECT_MX_ERROR(invoke("FullyConnected", {e.get(), w.get()}, {{"num_hidden", "3"}, {"no_bias", "True"}}),
                  MX_ERR_INVALID_ARGUMENT, "FullyConnected");
}

TEST(Sizes, SoftmaxOutputLabelCountCannotWrap) {
  // multi_output wants a label of (2^40, 2^40) elements for this data: it is not the empty one.
  Arr d = empty_with({k2p40, 0, k2p40}), l = empty_with({0});
  EXPECT_MX_ERROR(invoke("SoftmaxOutput", {d.get(), l.get()}, {{"multi_output", "True"}}), MX_ERR_INVALID_ARGUMENT,
                  "SoftmaxOutput");
}

TEST(Sizes, SymbolicInferenceCannotWrapEither) {
  mx_symbol_t x = nullptr, f = nullptr;
  ASSERT_MX_OK(mx_symbol_create_variable("x", &x));
  ASSERT_MX_OK(mx_symbol_create_atomic("Flatten", 0, nullptr, nullptr, &f));
  ASSERT_MX_OK(mx_symbol_compose(f, "flat", 1, nullptr, &x));
  const char* keys[] = {"x"};
  const uint32_t ndims[] = {3};
  const int64_t dims[] = {0, k2p40, k2p40};
  uint32_t na = 0, no = 0, nx = 0;
  const int32_t *an = nullptr, *on = nullptr, *xn = nullptr;
  const int64_t *const *ad = nullptr, *const *od = nullptr, *const *xd = nullptr;
  int32_t complete = 0;
  // A 0 dim given to infer_shape is unknown (MXNet 1.x), not a zero-size batch: the known dims
  // alone (2^40 * 2^40) already exceed int64 for any batch, and are refused where they enter.
  EXPECT_MX_ERROR(
      mx_symbol_infer_shape(f, 1, keys, ndims, dims, 0, &na, &an, &ad, &no, &on, &od, &nx, &xn, &xd, &complete),
      MX_ERR_INVALID_ARGUMENT, "'x'", "2^63-1");
  mx_symbol_free(f);
  mx_symbol_free(x);
}

TEST(Sizes, ConvolutionAndPoolingArithmeticCannotWrap) {
  Arr x({1, 1, 4}), w({1, 1, 5});
  // dilate * (kernel - 1) + 1 = 2^62 * 4 + 1 == 1 modulo 2^64: a "1-wide" kernel of 5 taps.
  EXPECT_MX_ERROR(
      invoke("Convolution", {x.get(), w.get()},
             {{"kernel", "(5,)"}, {"dilate", "(4611686018427387904,)"}, {"num_filter", "1"}, {"no_bias", "True"}}),
      MX_ERR_INVALID_ARGUMENT, "Convolution", "dilate");
  // data + 2 * pad past 2^63 on a zero-size batch.
  Arr big = empty_with({0, 1, kMax}), w1({1, 1, 1});
  EXPECT_MX_ERROR(invoke("Convolution", {big.get(), w1.get()},
                         {{"kernel", "(1,)"}, {"pad", "(1,)"}, {"num_filter", "1"}, {"no_bias", "True"}}),
                  MX_ERR_INVALID_ARGUMENT, "Convolution");
  EXPECT_MX_ERROR(invoke("Pooling", {big.get()}, {{"kernel", "(1,)"}, {"pad", "(1,)"}}), MX_ERR_INVALID_ARGUMENT,
                  "Pooling");
  // Deconvolution: stride * (data - 1) = 2^30 * (2^40 - 1) is past 2^63... only with a bigger stride.
  Arr dx = empty_with({0, 1, k2p40}), dw({1, 1, 1});
  EXPECT_MX_ERROR(invoke("Deconvolution", {dx.get(), dw.get()},
                         {{"kernel", "(1,)"}, {"stride", "(2147483647,)"}, {"num_filter", "1"}}),
                  MX_ERR_INVALID_ARGUMENT, "Deconvolution");
  // Geometry params stay in what kernels index with.
  EXPECT_MX_ERROR(invoke("Pooling", {x.get()}, {{"kernel", "(1,)"}, {"stride", "(9223372036854775807,)"}}),
                  MX_ERR_INVALID_ARGUMENT, "Pooling", "stride");
  EXPECT_MX_ERROR(
      invoke("Convolution", {x.get(), w.get()}, {{"kernel", "(0,)"}, {"num_filter", "1"}, {"no_bias", "True"}}),
      MX_ERR_INVALID_ARGUMENT, "Convolution", "kernel");
  // Pooling 'full' rounds up without overflow: ceil((4 - 1) / 2) + 1 = 3.
  std::vector<Arr> out;
  ASSERT_EQ(
      invoke("Pooling", {x.get()}, {{"kernel", "(1,)"}, {"stride", "(2,)"}, {"pooling_convention", "full"}}, &out), 0)
      << last_error();
  EXPECT_EQ(shape_of(out[0]), (std::vector<int64_t>{1, 1, 3}));
}

TEST(Sizes, OneHotEmbeddingStackAndDotWithHugeDims) {
  Arr idx = empty_with({k2p62, 0});
  std::vector<Arr> out;
  ASSERT_EQ(invoke("one_hot", {idx.get()}, {{"depth", "7"}}, &out), 0) << last_error();
  EXPECT_EQ(shape_of(out[0]), (std::vector<int64_t>{k2p62, 0, 7}));
  Arr i2 = empty_with({0, k2p62});
  EXPECT_MX_ERROR(invoke("one_hot", {i2.get()}, {{"depth", "3000000000"}}), MX_ERR_INVALID_ARGUMENT, "one_hot",
                  "depth");
  EXPECT_MX_ERROR(invoke("Embedding", {i2.get(), idx.get()}, {{"input_dim", "99999999999"}, {"output_dim", "2"}}),
                  MX_ERR_INVALID_ARGUMENT, "Embedding", "input_dim");
  // (0, 2^62) . (2^62, 2^62): the output (0, 2^62) is legal; (2^62, 0) . (0, 2^62) is not.
  Arr l = empty_with({k2p62, 0}), r = empty_with({0, k2p62});
  EXPECT_MX_ERROR(invoke("dot", {l.get(), r.get()}, {}), MX_ERR_INVALID_ARGUMENT, "dot");
  Arr bl = empty_with({0, k2p62, 2}), br = empty_with({0, 2, k2p62});
  out.clear();
  ASSERT_EQ(invoke("batch_dot", {bl.get(), br.get()}, {}, &out), 0) << last_error();
  EXPECT_EQ(shape_of(out[0]), (std::vector<int64_t>{0, k2p62, k2p62}));
}

TEST(Sizes, GradientOfZeroSizeDotIsZeroSize) {
  Arr a({2, 0}), b({0, 3});
  Arr ga({2, 0}), gb({0, 3});
  mx_ndarray_t vars[] = {a.get(), b.get()}, grads[] = {ga.get(), gb.get()};
  int32_t reqs[] = {MX_GRAD_WRITE, MX_GRAD_WRITE};
  ASSERT_MX_OK(mx_autograd_mark_variables(2, vars, reqs, grads));
  ASSERT_MX_OK(mx_autograd_set_recording(1, nullptr));
  std::vector<Arr> out;
  const int rc = invoke("dot", {a.get(), b.get()}, {}, &out);
  ASSERT_MX_OK(mx_autograd_set_recording(0, nullptr));
  ASSERT_EQ(rc, 0) << last_error();
  EXPECT_EQ(out[0].to_vector<float>(), std::vector<float>(6, 0.f));  // an empty sum is 0
  mx_ndarray_t head = out[0].get();
  ASSERT_MX_OK(mx_autograd_backward(1, &head, nullptr, 0, 0, 1));
  EXPECT_MX_OK(mx_ndarray_wait_all());
  EXPECT_EQ(shape_of(ga), (std::vector<int64_t>{2, 0}));
  expect_still_works();
}

// ---------------------------------------------------------------- op parameters

TEST(Sizes, IntParamsOutOfTheirTypeAreErrors) {
  Arr x({1, 1, 4}), w({1, 1, 3});
  EXPECT_MX_ERROR(invoke("Convolution", {x.get(), w.get()},
                         {{"kernel", "(3,)"}, {"num_filter", "99999999999999999999"}, {"no_bias", "True"}}),
                  MX_ERR_INVALID_ARGUMENT, "Convolution", "num_filter", "99999999999999999999");
  EXPECT_MX_ERROR(invoke("Convolution", {x.get(), w.get()},
                         {{"kernel", "(3,)"}, {"num_filter", "4294967297"}, {"no_bias", "True"}}),
                  MX_ERR_INVALID_ARGUMENT, "Convolution", "num_filter");
  EXPECT_MX_ERROR(invoke("Convolution", {x.get(), w.get()},
                         {{"kernel", "(99999999999999999999,)"}, {"num_filter", "1"}, {"no_bias", "True"}}),
                  MX_ERR_INVALID_ARGUMENT, "Convolution", "kernel");
  Arr d({2, 3});
  EXPECT_MX_ERROR(invoke("FullyConnected", {d.get(), w.get()}, {{"num_hidden", "-99999999999999999999"}}),
                  MX_ERR_INVALID_ARGUMENT, "FullyConnected", "num_hidden");
  EXPECT_MX_ERROR(invoke("slice_axis", {d.get()}, {{"axis", "0"}, {"begin", "99999999999999999999"}}),
                  MX_ERR_INVALID_ARGUMENT, "slice_axis", "begin");
  EXPECT_MX_ERROR(invoke("slice_axis", {d.get()}, {{"axis", "4294967296"}, {"begin", "0"}}), MX_ERR_INVALID_ARGUMENT,
                  "slice_axis", "axis");
  EXPECT_MX_ERROR(invoke("slice", {d.get()}, {{"begin", "(99999999999999999999,)"}, {"end", "(None,)"}}),
                  MX_ERR_INVALID_ARGUMENT, "slice", "begin");
  EXPECT_MX_ERROR(invoke("sum", {d.get()}, {{"axis", "(99999999999999999999,)"}}), MX_ERR_INVALID_ARGUMENT, "sum",
                  "axis");
  Arr e = empty_with({0, 3});  // zero-size, so that nothing huge is allocated if the check is missing
  EXPECT_MX_ERROR(invoke("repeat", {e.get()}, {{"repeats", "4294967296"}}), MX_ERR_INVALID_ARGUMENT, "repeat",
                  "repeats");
  EXPECT_MX_ERROR(invoke("topk", {d.get()}, {{"k", "1e3"}}), MX_ERR_INVALID_ARGUMENT, "topk", "k");
  EXPECT_MX_ERROR(invoke("expand_dims", {d.get()}, {{"axis", "1x"}}), MX_ERR_INVALID_ARGUMENT, "expand_dims", "axis");
  // In range still works, in the spellings MXNet's parser takes (sign, surrounding spaces).
  std::vector<Arr> out;
  ASSERT_EQ(invoke("expand_dims", {d.get()}, {{"axis", " -3 "}}, &out), 0) << last_error();
  ASSERT_EQ(invoke("expand_dims", {d.get()}, {{"axis", "+2"}}, &out), 0) << last_error();
  EXPECT_EQ(shape_of(out[0]), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(shape_of(out[1]), (std::vector<int64_t>{2, 3, 1}));
}

TEST(Sizes, FloatParamsRejectNonFiniteWhereMeaningless) {
  Arr wgt({3}), g({3});
  wgt.set(std::vector<float>{1, 2, 3});
  g.set(std::vector<float>{1, 1, 1});
  for (const char* bad : {"inf", "-inf", "nan", "1e999"})
    EXPECT_MX_ERROR(invoke("sgd_update", {wgt.get(), g.get()}, {{"lr", bad}}), MX_ERR_INVALID_ARGUMENT, "sgd_update",
                    "lr");
  Arr d({2});
  d.set(std::vector<float>{1, 2});
  EXPECT_MX_ERROR(invoke("Dropout", {d.get()}, {{"p", "nan"}}), MX_ERR_INVALID_ARGUMENT, "Dropout", "p");
  EXPECT_MX_ERROR(invoke("softmax", {d.get()}, {{"temperature", "inf"}}), MX_ERR_INVALID_ARGUMENT, "softmax");
  // Values, bounds and fill values keep MXNet's non-finite spellings.
  std::vector<Arr> out;
  ASSERT_EQ(invoke("clip", {d.get()}, {{"a_min", "-inf"}, {"a_max", "1.5"}}, &out), 0) << last_error();
  ASSERT_EQ(invoke("clip", {d.get()}, {{"a_min", "0"}, {"a_max", "inf"}}, &out), 0) << last_error();
  ASSERT_EQ(invoke("_plus_scalar", {d.get()}, {{"scalar", "inf"}}, &out), 0) << last_error();
  ASSERT_EQ(invoke("_full", {}, {{"shape", "(2,)"}, {"value", "nan"}}, &out), 0) << last_error();
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].to_vector<float>(), (std::vector<float>{1, 1.5}));
  EXPECT_EQ(out[1].to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_EQ(out[2].to_vector<float>()[0], INFINITY);
  EXPECT_TRUE(std::isnan(out[3].to_vector<float>()[1]));
}

// ---------------------------------------------------------------- declared output / input counts

TEST(Sizes, DeclaredCountsAreCapped) {
  mx_symbol_t s = nullptr;
  const char* k[] = {"num_outputs"};
  const char* v[] = {"2000000000"};
  EXPECT_MX_ERROR(mx_symbol_create_atomic("split", 1, k, v, &s), MX_ERR_INVALID_ARGUMENT, "split", "num_outputs");
  if (s) {  // never build two billion names: that is the failure this guards against
    ADD_FAILURE() << "split num_outputs=2000000000 was accepted";
    mx_symbol_free(s);
    s = nullptr;
  }
  EXPECT_MX_ERROR(mx_symbol_create_atomic("SliceChannel", 1, k, v, &s), MX_ERR_INVALID_ARGUMENT, "num_outputs");
  if (s) mx_symbol_free(std::exchange(s, nullptr));
  const char* ka[] = {"num_args"};
  for (const char* op : {"Concat", "stack", "add_n"}) {
    EXPECT_MX_ERROR(mx_symbol_create_atomic(op, 1, ka, v, &s), MX_ERR_INVALID_ARGUMENT, op, "num_args");
    if (s) mx_symbol_free(std::exchange(s, nullptr));
  }
  const char* json = R"({"nodes":[{"op":"null","name":"x","inputs":[]},)"
                     R"({"op":"split","name":"s","attrs":{"num_outputs":"2000000000"},"inputs":[[0,0,0]]}],)"
                     R"("arg_nodes":[0],"heads":[[1,0,0]]})";
  EXPECT_MX_ERROR(mx_symbol_from_json(json, &s), MX_ERR_INVALID_ARGUMENT, "split", "num_outputs");
  if (s) mx_symbol_free(std::exchange(s, nullptr));
  // A generous count is fine, and list_outputs names every output.
  const char* v3[] = {"3"};
  ASSERT_MX_OK(mx_symbol_create_atomic("split", 1, k, v3, &s));
  mx_symbol_t x = nullptr;
  ASSERT_MX_OK(mx_symbol_create_variable("x", &x));
  ASSERT_MX_OK(mx_symbol_compose(s, "sp", 1, nullptr, &x));
  uint32_t n = 0;
  const char** names = nullptr;
  ASSERT_MX_OK(mx_symbol_list_outputs(s, &n, &names));
  ASSERT_EQ(n, 3u);
  EXPECT_STREQ(names[2], "sp_output2");
  mx_symbol_free(s);
  mx_symbol_free(x);
}

}  // namespace
