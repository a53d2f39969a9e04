// CachedOp: a symbol called like an op on NDArrays (MXNet's hybridize path). While autograd is
// recording, the graph runs op by op through invoke, so the tape records it and backward works
// as for any imperative code. Otherwise it runs through an executor bound for the inputs' shapes:
// with static_alloc the executor (its plan, buffers and kernel states) is kept per input
// signature and inputs are copied into it; without, an executor is bound over the inputs for the
// call. Inputs are in list_inputs order (arguments and auxiliary states); auxiliary states are
// updated in the caller's arrays.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "executor/executor.h"

namespace mx::exec {

class CachedOp {
 public:
  // flags: static_alloc, static_shape ("True" / "False"); others are an error naming them.
  CachedOp(sym::Symbol s, const std::vector<std::pair<std::string, std::string>>& flags);
  std::vector<NDArray> call(std::span<const NDArray* const> inputs);
  const sym::Symbol& symbol() const { return symbol_; }

 private:
  std::vector<NDArray> run_imperative(std::span<const NDArray* const> inputs);
  sym::Symbol symbol_;
  std::vector<std::string> inputs_;  // list_inputs
  std::vector<bool> is_aux_;
  bool static_alloc_ = false, static_shape_ = false;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<Executor>> bound_;  // by input signature (static_alloc)
};

}  // namespace mx::exec
