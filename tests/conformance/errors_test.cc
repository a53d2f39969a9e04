// Bad arguments to the slicing, sorting, gather and deconvolution ops: each is an error whose
// message names the op and what is wrong, raised at the call (shapes, attributes) or at the next
// wait (index values, which only the kernel sees).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../unit/test_util.h"

namespace {

using mx::test::Arr;

// Calls op and returns the error message ("" on success).
std::string call_error(const char* op, std::vector<mx_ndarray_t> in, std::vector<std::pair<const char*, const char*>> attrs) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : attrs) {
    k.push_back(key);
    v.push_back(val);
  }
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  if (mx_imperative_invoke(op, int32_t(in.size()), in.data(), &nout, &outs, int32_t(k.size()), k.data(), v.data()) != 0)
    return mx_get_last_error();
  std::string msg;
  for (int32_t i = 0; i < nout; ++i) {
    if (mx_ndarray_wait_to_read(outs[i]) != 0 && msg.empty()) msg = mx_get_last_error();
    mx_ndarray_free(outs[i]);
  }
  return msg;
}

void expect_error(const std::string& msg, std::vector<std::string> parts) {
  EXPECT_FALSE(msg.empty()) << "expected an error mentioning " << parts[0];
  for (auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

TEST(OpErrors, SlicingSortingGatherDeconvolution) {
  Arr x({3, 4}), idx({2, 2});
  idx.set(std::vector<float>{0, 1, 5, 1});  // row 1 indexes axis 1 (length 4): 5 is outside
  expect_error(call_error("gather_nd", {x.get(), idx.get()}, {}), {"gather_nd", "index 5", "axis 1", "length 4"});
  Arr idx3({3, 1});
  expect_error(call_error("gather_nd", {x.get(), idx3.get()}, {}), {"gather_nd", "(3,1)"});
  expect_error(call_error("slice", {x.get()}, {{"begin", "(0,0)"}, {"end", "(2,2)"}, {"step", "(1,0)"}}), {"slice", "zero"});
  expect_error(call_error("slice", {x.get()}, {{"begin", "(0,x)"}, {"end", "(2,2)"}}), {"slice", "begin"});
  expect_error(call_error("split", {x.get()}, {{"num_outputs", "3"}}), {"split", "(3,4)", "3 equal parts"});
  expect_error(call_error("topk", {x.get()}, {{"k", "5"}}), {"topk", "k=5"});
  expect_error(call_error("topk", {x.get()}, {{"ret_typ", "values"}}), {"topk", "ret_typ"});
  expect_error(call_error("sort", {x.get()}, {{"axis", "2"}}), {"sort", "axis 2"});
  Arr like({5, 1});
  expect_error(call_error("slice_like", {x.get(), like.get()}, {}), {"slice_like", "(5,1)", "axis 0"});
  Arr d({1, 2, 3, 3}), w({2, 2, 3, 3});
  expect_error(call_error("Deconvolution", {d.get(), w.get()}, {{"kernel", "(3,3)"}, {"num_filter", "2"}, {"adj", "(1,1)"}}),
               {"Deconvolution", "adj", "stride"});
  expect_error(call_error("Deconvolution", {d.get(), w.get()}, {{"kernel", "(3,3)"}, {"num_filter", "3"}}),
               {"Deconvolution", "weight", "(2,2,3,3)"});
  expect_error(call_error("Deconvolution", {d.get(), w.get()}, {{"kernel", "(3,3)"}, {"num_filter", "2"}, {"target_shape", "(9,9)"}}),
               {"Deconvolution", "target_shape"});
  // the process and the engine carry on
  EXPECT_EQ(call_error("sort", {x.get()}, {}), "");
}

}  // namespace
