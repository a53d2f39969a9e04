#include "kvstore/optimizer.h"

#include <cmath>
#include <cstdlib>

#include "base/error.h"
#include "kvstore/store_ops.h"
#include "ndarray/serialize.h"

namespace mx::kv {
namespace {

double parse_number(const std::string& opt, const std::string& key, const std::string& value) {
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v))
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore optimizer ", opt, ": ", key, "=", value, " is not a finite number");
  return v;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

}  // namespace

std::unique_ptr<Optimizer> Optimizer::create(const std::string& name, const OptimizerParams& params) {
  if (name != "sgd" && name != "adam")
    fail(MX_ERR_INVALID_ARGUMENT, "kvstore optimizer: unknown optimizer '", name, "' (known: sgd, adam)");
  auto o = std::unique_ptr<Optimizer>(new Optimizer());
  o->name_ = name;
  o->params_ = params;
  if (name == "adam") o->lr_ = 0.001;
  for (auto& [k, v] : params) {
    const double x = parse_number(name, k, v);
    if (k == "learning_rate" || k == "lr") o->lr_ = x;
    else if (k == "wd") o->wd_ = x;
    else if (k == "momentum" && name == "sgd") o->momentum_ = x;
    else if (k == "rescale_grad") o->rescale_ = x;
    else if (k == "clip_gradient") o->clip_ = x;
    else if (k == "beta1" && name == "adam") o->beta1_ = x;
    else if (k == "beta2" && name == "adam") o->beta2_ = x;
    else if (k == "epsilon" && name == "adam") o->eps_ = x;
    else fail(MX_ERR_INVALID_ARGUMENT, "kvstore optimizer ", name, ": unknown parameter '", k, "'");
  }
  return o;
}

void Optimizer::update(const std::string& key, const NDArray& weight, const NDArray& grad, int priority) {
  State& st = states_[key];
  const size_t n_states = name_ == "adam" ? 2 : momentum_ != 0 ? 1 : 0;
  if (st.arrays.size() != n_states) {
    st.arrays.clear();
    for (size_t i = 0; i < n_states; ++i) st.arrays.push_back(zeros_like(weight, weight.device()));
  }
  ++st.t;
  AttrList attrs{{"wd", num(wd_)}, {"rescale_grad", num(rescale_)}, {"clip_gradient", num(clip_)}};
  std::vector<NDArray> in{weight, grad};
  for (const NDArray& s : st.arrays) in.push_back(s);
  if (name_ == "adam") {
    const double t = double(st.t);
    const double lr = lr_ * std::sqrt(1 - std::pow(beta2_, t)) / (1 - std::pow(beta1_, t));
    attrs.insert(attrs.end(), {{"lr", num(lr)}, {"beta1", num(beta1_)}, {"beta2", num(beta2_)}, {"epsilon", num(eps_)}});
    push_op("adam_update", attrs, std::move(in), {weight}, priority);
  } else if (momentum_ != 0) {
    attrs.insert(attrs.end(), {{"lr", num(lr_)}, {"momentum", num(momentum_)}});
    push_op("sgd_mom_update", attrs, std::move(in), {weight}, priority);
  } else {
    attrs.push_back({"lr", num(lr_)});
    push_op("sgd_update", attrs, std::move(in), {weight}, priority);
  }
}

void Optimizer::save_states(const std::string& path) {
  std::vector<NDArray> arrays;
  std::vector<std::string> names;
  states_as_arrays(arrays, names);
  save_params(path, arrays, names);
}

std::string Optimizer::save_states() {
  std::vector<NDArray> arrays;
  std::vector<std::string> names;
  states_as_arrays(arrays, names);
  return save_params(arrays, names);
}

void Optimizer::load_states(const std::string& path) {
  std::vector<NDArray> arrays;
  std::vector<std::string> names;
  load_params(path, arrays, names);
  take_states(arrays, names, path);
}

void Optimizer::load_states(const void* data, size_t size, const std::string& name) {
  std::vector<NDArray> arrays;
  std::vector<std::string> names;
  load_params(data, size, name, arrays, names);
  take_states(arrays, names, name);
}

void Optimizer::states_as_arrays(std::vector<NDArray>& arrays, std::vector<std::string>& names) {
  for (auto& [key, st] : states_) {
    for (size_t i = 0; i < st.arrays.size(); ++i) {
      arrays.push_back(st.arrays[i]);
      names.push_back(key + ":" + std::to_string(i));
    }
    NDArray t(Shape{1}, MX_INT64, cpu());
    t.copy_from_host(&st.t, sizeof(int64_t));
    arrays.push_back(t);
    names.push_back(key + ":t");
  }
}

void Optimizer::take_states(std::vector<NDArray>& arrays, std::vector<std::string>& names, const std::string& path) {
  if (names.size() != arrays.size())
    fail(MX_ERR_IO, "kvstore optimizer states ", path, ": arrays without names (not a states file)");
  std::unordered_map<std::string, State> loaded;
  for (size_t i = 0; i < arrays.size(); ++i) {
    const std::string& n = names[i];
    const size_t colon = n.rfind(':');
    if (colon == std::string::npos) fail(MX_ERR_IO, "kvstore optimizer states ", path, ": unexpected entry '", n, "'");
    State& st = loaded[n.substr(0, colon)];
    const std::string what = n.substr(colon + 1);
    if (what == "t") {
      if (arrays[i].dtype() != MX_INT64 || arrays[i].size() != 1)
        fail(MX_ERR_IO, "kvstore optimizer states ", path, ": ", n, " is not one int64");
      arrays[i].copy_to_host(&st.t, sizeof(int64_t));
    } else {
      const size_t idx = size_t(std::strtoul(what.c_str(), nullptr, 10));
      if (idx > 8) fail(MX_ERR_IO, "kvstore optimizer states ", path, ": unexpected entry '", n, "'");
      if (st.arrays.size() <= idx) st.arrays.resize(idx + 1);
      st.arrays[idx] = arrays[i];
    }
  }
  states_ = std::move(loaded);
}

}  // namespace mx::kv
