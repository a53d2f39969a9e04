// Autograd for NDArray (MXNet's mx.autograd): while recording, every op whose inputs take part in
// a gradient leaves a node on a tape hanging off its output arrays. backward() walks the tape from
// the heads in reverse order and evaluates each op's gradient graph (its schema's `gradient`)
// with ordinary op calls — recorded again when create_graph is set, so gradients of gradients
// come for free wherever the gradient ops are differentiable.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "ndarray/ndarray.h"
#include "op/schema.h"

namespace mx::sym {
class Symbol;
}

namespace mx::autograd {

// grad_req values (MXNet's OpReqType numbers).
inline constexpr int32_t kNull = 0;
inline constexpr int32_t kWrite = 1;
inline constexpr int32_t kAdd = 3;

// A gradient the user computes (mx.autograd.Function): recorded as one node, called by backward
// instead of an op's gradient graph. Destroyed with its node (after a backward that frees the
// graph, or when the arrays it produced are gone): a subclass releases its caller's state there.
class FunctionHook {
 public:
  virtual ~FunctionHook() = default;
  // One gradient per input (an undefined array: none) from one per output. Called on the thread
  // that runs backward, with recording off.
  virtual std::vector<NDArray> backward(std::span<const NDArray> out_grads) = 0;
};

struct Node {
  const op::OpSchema* op = nullptr;  // nullptr: a variable (leaf) unless `function` is set
  std::shared_ptr<FunctionHook> function;  // set: a user function's node (op stays nullptr)
  op::Attrs attrs;
  std::vector<NDArray> inputs;   // values (with their own entries) the gradient may use
  std::vector<NDArray> outputs;  // values without entries (an entry here would be a cycle)
  std::vector<Shape> in_shapes;
  size_t num_outputs = 1;
  bool freed = false;  // saved values dropped after a backward without retain_graph
  bool is_function = false;  // a user function's node; survives the reset of `function` when freed
  // leaves
  NDArray grad;
  int32_t grad_req = kWrite;
  uint64_t var_id = 0;      // names the leaf "var<id>" in get_symbol (a process-wide count, as MXNet)
  bool fresh_grad = false;  // set by backward() when it writes grad (MXNet's fresh_out_grad)

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Iterative: a tape of a million ops must not take a stack frame per node to free.
  ~Node();

  bool is_variable() const { return !op && !is_function; }
  const char* label() const;  // the op's name, or "autograd.Function"
};

// Thread-local switches, as in MXNet. Each returns the previous value.
bool set_recording(bool on);
bool set_training(bool on);
bool is_recording();
bool is_training();

// Makes each var a leaf whose gradient backward() writes (or adds) into grads[i].
void mark_variables(std::span<NDArray* const> vars, std::span<const int32_t> reqs, std::span<const NDArray> grads);

// Called by invoke after pushing op: records a node if recording and an input is on the tape.
void record(const op::OpSchema& op, const op::Attrs& attrs, std::span<const NDArray* const> inputs,
            std::vector<NDArray>& outputs);

// Records a user function: outputs (computed from inputs while not recording) become outputs of
// one node whose gradient is hook->backward. Does nothing (dropping the hook) unless recording
// and an input is on the tape.
void record_function(std::span<const NDArray* const> inputs, std::span<NDArray* const> outputs,
                     std::shared_ptr<FunctionHook> hook);

// Gradients of sum(heads * head_grads) (head_grads[i] undefined: ones) into the marked variables'
// grad buffers, per their grad_req.
void backward(std::span<const NDArray> heads, std::span<const NDArray> head_grads, bool retain_graph,
              bool create_graph, bool is_train);
// The same gradients with respect to `vars`, returned as new arrays (on the tape if create_graph).
std::vector<NDArray> grad(std::span<const NDArray> heads, std::span<const NDArray> head_grads,
                          std::span<const NDArray> vars, bool retain_graph, bool create_graph, bool is_train);

// Tape nodes reachable from the heads, inputs before the nodes that consumed them.
std::vector<std::shared_ptr<Node>> topo_order(std::span<const NDArray> heads);

// The recorded graph that computed arr as a Symbol (MXNet's get_symbol): marked variables are
// "var<id>", arrays used but not on the tape "null<k>", ops "node_<k>".
sym::Symbol get_symbol(const NDArray& arr);

}  // namespace mx::autograd
