#include "executor/cached_op.h"

#include <algorithm>
#include <unordered_map>

#include "base/error.h"
#include "ndarray/autograd.h"

namespace mx::exec {
namespace {

bool flag_value(const std::string& key, const std::string& v) {
  if (v == "True" || v == "true" || v == "1") return true;
  if (v == "False" || v == "false" || v == "0") return false;
  fail(MX_ERR_INVALID_ARGUMENT, "CachedOp: flag ", key, " is '", v, "', expected True or False");
}

constexpr size_t kMaxSignatures = 16;

}  // namespace

CachedOp::CachedOp(sym::Symbol s, const std::vector<std::pair<std::string, std::string>>& flags)
    : symbol_(std::move(s)), inputs_(symbol_.list_inputs()) {
  for (const auto& [k, v] : flags) {
    if (k == "static_alloc") static_alloc_ = flag_value(k, v);
    else if (k == "static_shape") static_shape_ = flag_value(k, v);
    else fail(MX_ERR_INVALID_ARGUMENT, "CachedOp: unknown flag '", k, "' (flags: static_alloc, static_shape)");
  }
  const auto aux = symbol_.list_auxiliary_states();
  for (const auto& name : inputs_) is_aux_.push_back(std::find(aux.begin(), aux.end(), name) != aux.end());
}

std::vector<NDArray> CachedOp::run_imperative(std::span<const NDArray* const> inputs) {
  std::unordered_map<const sym::Node*, std::vector<NDArray>> values;
  std::unordered_map<std::string, const NDArray*> by_name;
  for (size_t i = 0; i < inputs_.size(); ++i) by_name[inputs_[i]] = inputs[i];
  for (const auto& n : symbol_.topo_order()) {
    if (n->is_variable()) {
      values[n.get()] = {*by_name.at(n->name)};
      continue;
    }
    std::vector<const NDArray*> in;
    for (const sym::Entry& e : n->inputs) in.push_back(&values.at(e.node.get()).at(e.index));
    std::vector<NDArray> out;
    try {
      invoke(*n->op, n->full_params(), in, out);
    } catch (const Error& e) {
      fail(e.code(), "CachedOp: node '", n->name, "' (", n->op->name, "): ", e.what());
    }
    values[n.get()] = std::move(out);
  }
  std::vector<NDArray> out;
  for (const sym::Entry& e : symbol_.outputs) out.push_back(values.at(e.node.get()).at(e.index));
  return out;
}

std::vector<NDArray> CachedOp::call(std::span<const NDArray* const> inputs) {
  if (inputs.size() != inputs_.size())
    fail(MX_ERR_INVALID_ARGUMENT, "CachedOp: the symbol has ", inputs_.size(), " inputs, ", inputs.size(), " given");
  for (size_t i = 0; i < inputs.size(); ++i)
    if (!inputs[i] || !inputs[i]->defined()) fail(MX_ERR_INVALID_ARGUMENT, "CachedOp: input '", inputs_[i], "' is empty");
  if (autograd::is_recording()) return run_imperative(inputs);

  const Device dev = inputs.empty() ? cpu() : inputs[0]->device();
  const std::vector<std::string> arg_names = symbol_.list_arguments(), aux_names = symbol_.list_auxiliary_states();
  std::unordered_map<std::string, const NDArray*> by_name;
  for (size_t i = 0; i < inputs_.size(); ++i) by_name[inputs_[i]] = inputs[i];
  const bool is_train = autograd::is_training();

  if (!static_alloc_) {
    std::vector<NDArray> args, aux;
    for (const auto& n : arg_names) args.push_back(*by_name.at(n));
    for (const auto& n : aux_names) aux.push_back(*by_name.at(n));
    auto ex = Executor::bind(symbol_, dev, std::move(args), {}, {}, std::move(aux));
    ex->forward(is_train);
    return ex->outputs();  // the outputs own their storage; the executor may go
  }

  std::string key = dev.str();
  for (const NDArray* a : inputs) key += shape_str(a->shape()) + std::to_string(a->dtype()) + ";";
  std::lock_guard<std::mutex> lk(mu_);
  auto it = bound_.find(key);
  if (it == bound_.end()) {
    // static_shape: the shapes do not change, so one signature is kept; else a few.
    if (static_shape_ || bound_.size() >= kMaxSignatures) bound_.clear();
    std::map<std::string, Shape> shapes;
    std::map<std::string, int32_t> dtypes;
    for (size_t i = 0; i < inputs_.size(); ++i) {
      shapes[inputs_[i]] = inputs[i]->shape();
      dtypes[inputs_[i]] = inputs[i]->dtype();
    }
    it = bound_.emplace(key, Executor::simple_bind(symbol_, dev, shapes, dtypes, autograd::kNull, {})).first;
  }
  Executor& ex = *it->second;
  for (size_t i = 0; i < arg_names.size(); ++i) copy(*by_name.at(arg_names[i]), ex.arg_arrays()[i]);
  for (size_t i = 0; i < aux_names.size(); ++i) copy(*by_name.at(aux_names[i]), ex.aux_arrays()[i]);
  ex.forward(is_train);
  if (is_train)  // moving statistics go back to the caller's arrays
    for (size_t i = 0; i < aux_names.size(); ++i) copy(ex.aux_arrays()[i], *by_name.at(aux_names[i]));
  std::vector<NDArray> out;
  for (const NDArray& o : ex.outputs()) {
    NDArray fresh(o.shape(), o.dtype(), o.device());
    copy(o, fresh);
    out.push_back(std::move(fresh));
  }
  return out;
}

}  // namespace mx::exec
