// What every op of this library shares: attribute lookup on the host's argument structs, the
// guard that turns a C++ exception into host->set_error and -1 (no exception may cross the C
// border), shape formatting for messages, and a typed front for the gradient builder.
// Depends on the installed mx headers only (mx/extension.h, mx/plugin.h).
#pragma once

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "mx/extension.h"
#include "mx/plugin.h"

namespace example_ops {

// A failure with its MX_ERR_* category; guarded() reports it to the host.
struct Failure : std::runtime_error {
  int32_t code;
  Failure(int32_t c, const std::string& message) : std::runtime_error(message), code(c) {}
};
[[noreturn]] inline void fail(int32_t code, const std::string& message) { throw Failure(code, message); }

// The host already recorded why (a gradient builder call failed): return -1, keep its message.
struct AlreadyReported {};

// Runs body() (which returns 0) and turns whatever it throws into -1 plus the host's error.
template <typename Body>
int guarded(const char* op_name, Body&& body) noexcept {
  try {
    return body();
  } catch (const Failure& e) {
    return mx_impl::error(e.code, e.what());
  } catch (const AlreadyReported&) {
    return -1;
  } catch (const std::exception& e) {
    return mx_impl::error(MX_ERR_INTERNAL, std::string(op_name) + ": " + e.what());
  } catch (...) {
    return mx_impl::error(MX_ERR_INTERNAL, std::string(op_name) + ": unknown C++ exception");
  }
}

// The canonical attributes the host passes (every param, defaults filled in: "True", "-1", "1e-06").
class Attrs {
 public:
  template <typename Args>
  explicit Attrs(const Args* a) : n_(a->num_attrs), keys_(a->attr_keys), vals_(a->attr_vals) {}

  const char* str(const char* key) const {
    for (int32_t i = 0; i < n_; ++i)
      if (std::string(keys_[i]) == key) return vals_[i];
    fail(MX_ERR_INTERNAL, std::string("the host passed no attribute '") + key + "'");
  }
  int64_t i64(const char* key) const { return std::stoll(str(key)); }
  double f64(const char* key) const { return std::stod(str(key)); }
  bool flag(const char* key) const { return std::string(str(key)) == "True"; }

  int32_t size() const { return n_; }
  const char* const* keys() const { return keys_; }
  const char* const* vals() const { return vals_; }

 private:
  int32_t n_;
  const char* const* keys_;
  const char* const* vals_;
};

// "(2,3,4)", as mx prints shapes.
inline std::string shape_str(int32_t ndim, const int64_t* dims) {
  std::string s = "(";
  for (int32_t i = 0; i < ndim; ++i) s += std::to_string(dims[i]) + (i + 1 < ndim || ndim == 1 ? "," : "");
  return s + ")";
}

// A number as an attribute value, with every digit a double holds.
inline std::string number_str(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Emits op calls into the host's gradient graph. Values are the int32 handles of mx_ext_grad_args.
class GradGraph {
 public:
  explicit GradGraph(const mx_ext_grad_args* a) : b_(a->builder) {}

  using KeyVals = std::initializer_list<std::pair<const char*, std::string>>;
  int32_t op(const char* name, std::initializer_list<int32_t> inputs, KeyVals attrs = {}) {
    std::vector<const char*> keys, vals;
    for (const auto& [k, v] : attrs) {
      keys.push_back(k);
      vals.push_back(v.c_str());
    }
    return call(name, inputs, int32_t(keys.size()), keys.data(), vals.data());
  }
  // Same call with attributes handed over as the host gave them (a backward op's params).
  int32_t op(const char* name, std::initializer_list<int32_t> inputs, const Attrs& attrs) {
    return call(name, inputs, attrs.size(), attrs.keys(), attrs.vals());
  }
  int32_t scalar(const char* name, int32_t x, double s) { return op(name, {x}, {{"scalar", number_str(s)}}); }
  int32_t mul(int32_t a, int32_t b) { return op("elemwise_mul", {a, b}); }
  int32_t add(int32_t a, int32_t b) { return op("elemwise_add", {a, b}); }

 private:
  int32_t call(const char* name, std::initializer_list<int32_t> inputs, int32_t n, const char* const* keys,
               const char* const* vals) {
    const int32_t v = b_->call(b_->self, name, int32_t(inputs.size()), inputs.begin(), n, keys, vals);
    if (v == MX_EXT_NO_GRAD) throw AlreadyReported{};
    return v;
  }
  const mx_ext_grad_builder* b_;
};

// The op definitions this library registers (each defined in its op's file).
const mx_ext_op* gelu_op();
const mx_ext_op* rms_norm_op();
const mx_ext_op* rms_norm_backward_data_op();
const mx_ext_op* rms_norm_backward_gamma_op();

}  // namespace example_ops
