// Executor: a symbol bound to arrays (MXNet's GraphExecutor). Binding runs shape and dtype
// inference, the gradient pass and memory planning once, prepares every node's kernel call over
// its planned buffer, and groups the nodes into segments of up to MX_EXEC_BULK_SIZE ops (default
// 15), each pushed to the engine as one op: a graph of small ops pays the scheduling cost once per
// segment. forward / backward then only push.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "executor/gradient.h"
#include "ndarray/invoke.h"
#include "ndarray/ndarray.h"
#include "symbol/symbol.h"

namespace mx::exec {

struct MemoryStats {
  uint64_t planned_bytes = 0;    // internal buffers after planning
  uint64_t unplanned_bytes = 0;  // the same entries with one buffer each
  uint64_t external_bytes = 0;   // outputs the executor owns (arguments and gradients are the caller's)
  uint32_t inplace_count = 0;
  uint32_t num_buffers = 0;
  uint32_t num_segments = 0;     // engine ops one forward + backward pushes
};

class Executor {
 public:
  // args / aux in list_arguments / list_auxiliary_states order; grads[i] may be undefined where
  // reqs[i] is null. Errors name the argument and both shapes.
  static std::unique_ptr<Executor> bind(const sym::Symbol& s, Device dev, std::vector<NDArray> args,
                                        std::vector<NDArray> grads, std::vector<int32_t> reqs, std::vector<NDArray> aux,
                                        const Executor* share_with = nullptr);
  // Allocates (zeroed) arguments, gradients and auxiliary states from the given shapes and dtypes
  // (the rest inferred). reqs by argument name; others take default_req.
  static std::unique_ptr<Executor> simple_bind(const sym::Symbol& s, Device dev, const std::map<std::string, Shape>& shapes,
                                               const std::map<std::string, int32_t>& dtypes, int32_t default_req,
                                               const std::map<std::string, int32_t>& reqs);
  ~Executor();

  void forward(bool is_train);
  // head_grads: one per output (undefined or empty span: ones).
  void backward(std::span<const NDArray> head_grads);
  // A new executor for new argument shapes (batch size): arrays whose shape changed become views
  // of the old storage when they fit (else new ones, with allow_up_sizing), and internal buffers
  // are shared with this executor's where they fit.
  std::unique_ptr<Executor> reshape(const std::map<std::string, Shape>& shapes, bool allow_up_sizing) const;

  // Monitoring (MXNet's set_monitor_callback). While cb is set, forward and backward push one node
  // at a time and, right after each, call cb(name, value) on the calling thread for each visible
  // output, named as list_outputs names it ("fc1_output", "<node>_output<k>"); with monitor_all,
  // first each input as "<node>_<input name>" ("arg<i>" for variadic ops), a variable input also
  // under its own name. value is a copy pushed right after the node: later nodes reuse planned
  // buffers (in place too), so the node's own buffer would not keep its value. It is computed
  // asynchronously like any op. An empty cb stops monitoring: segments again, no cost.
  using MonitorCallback = std::function<void(const std::string& name, const NDArray& value)>;
  void set_monitor_callback(MonitorCallback cb, bool monitor_all);

  const std::vector<NDArray>& outputs() const { return outputs_; }
  const std::vector<NDArray>& arg_arrays() const { return args_; }
  const std::vector<NDArray>& grad_arrays() const { return grads_; }
  const std::vector<NDArray>& aux_arrays() const { return aux_; }
  const std::vector<int32_t>& grad_reqs() const { return reqs_; }
  const sym::Symbol& symbol() const { return symbol_; }
  MemoryStats memory_stats() const { return stats_; }

  struct Impl;

 private:
  Executor() = default;
  // bind over a symbol already indexed (simple_bind and reshape index it once for everything).
  static std::unique_ptr<Executor> bind_graph(const sym::Symbol& s, const sym::IndexedGraph& g, Device dev,
                                              std::vector<NDArray> args, std::vector<NDArray> grads,
                                              std::vector<int32_t> reqs, std::vector<NDArray> aux,
                                              const Executor* share_with);
  sym::Symbol symbol_;
  Device dev_;
  std::vector<NDArray> args_, grads_, aux_, outputs_;
  std::vector<int32_t> reqs_;
  MemoryStats stats_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mx::exec
