// Helpers of the dedicated tests (what a Case cannot express: several outputs, integer outputs,
// error messages), shared by the cases_<family>.cc files that use them.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "../unit/test_util.h"
#include "mx/c_api.h"

namespace conformance {

using Attrs = std::vector<std::pair<std::string, std::string>>;

inline int32_t dtype_of(const mx::test::Arr& a) {
  int32_t dt = 0;
  EXPECT_MX_OK(mx_ndarray_get_dtype(a.get(), &dt));
  return dt;
}

// Every output of op on inputs; empty and a test failure on error.
inline std::vector<mx::test::Arr> call(const char* op, std::vector<mx_ndarray_t> in, const Attrs& attrs) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : attrs) k.push_back(key.c_str()), v.push_back(val.c_str());
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  const int rc = mx_imperative_invoke(op, int32_t(in.size()), in.data(), &nout, &outs, int32_t(k.size()), k.data(), v.data());
  EXPECT_EQ(rc, 0) << op << ": " << mx_get_last_error();
  std::vector<mx::test::Arr> r;
  for (int32_t i = 0; rc == 0 && i < nout; ++i) r.emplace_back(outs[i]);
  return r;
}

// The error message of a call expected to fail, at invoke or (for a kernel) when the result is
// read; "" and a test failure when it succeeds.
inline std::string error_of(const char* op, std::vector<mx_ndarray_t> in, const Attrs& attrs = {}) {
  std::vector<const char*> k, v;
  for (auto& [key, val] : attrs) k.push_back(key.c_str()), v.push_back(val.c_str());
  int32_t nout = 0;
  mx_ndarray_t* outs = nullptr;
  if (mx_imperative_invoke(op, int32_t(in.size()), in.data(), &nout, &outs, int32_t(k.size()), k.data(), v.data()) != 0)
    return mx_get_last_error();
  std::string msg;
  for (int32_t i = 0; i < nout; ++i) {
    if (msg.empty() && mx_ndarray_wait_to_read(outs[i]) != 0) msg = mx_get_last_error();
    mx_ndarray_free(outs[i]);
  }
  if (msg.empty()) ADD_FAILURE() << op << " accepted invalid input";
  return msg;
}

}  // namespace conformance
