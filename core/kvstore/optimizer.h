// The store-side optimizer of KVStore::set_optimizer: applied where the weights live (in the store
// of local / device / dist_sync, on the servers of dist_async), through the fused update ops
// (sgd_update, sgd_mom_update, adam_update). States are created per key on first use and saved in
// the .params format.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ndarray/ndarray.h"

namespace mx::kv {

using OptimizerParams = std::vector<std::pair<std::string, std::string>>;

class Optimizer {
 public:
  // name: "sgd" (momentum > 0 for momentum) or "adam". params: learning_rate (or lr), wd, momentum,
  // rescale_grad, clip_gradient, beta1, beta2, epsilon. Unknown names and values are
  // MX_ERR_INVALID_ARGUMENT naming them.
  static std::unique_ptr<Optimizer> create(const std::string& name, const OptimizerParams& params);

  // weight <- step(weight, grad), pushed as engine ops on weight's device.
  void update(const std::string& key, const NDArray& weight, const NDArray& grad, int priority);

  // States as .params (arrays "<key>:<state>", update counts "<key>:t"); load replaces them.
  void save_states(const std::string& path);
  void load_states(const std::string& path);
  // The same in memory (a dist_async server's states travel to the worker that saves them).
  std::string save_states();
  void load_states(const void* data, size_t size, const std::string& name);

  const std::string& name() const { return name_; }
  // The parameters in a form create() takes back (what a server receives).
  const OptimizerParams& params() const { return params_; }

 private:
  struct State {
    std::vector<NDArray> arrays;  // sgd with momentum: mom; adam: mean, var
    int64_t t = 0;                // updates applied (adam's bias correction)
  };
  std::string name_;
  OptimizerParams params_;
  double lr_ = 0.01, wd_ = 0, momentum_ = 0, rescale_ = 1, clip_ = -1, beta1_ = 0.9, beta2_ = 0.999, eps_ = 1e-8;
  std::unordered_map<std::string, State> states_;

  void states_as_arrays(std::vector<NDArray>& arrays, std::vector<std::string>& names);
  void take_states(std::vector<NDArray>& arrays, std::vector<std::string>& names, const std::string& name);
};

}  // namespace mx::kv
