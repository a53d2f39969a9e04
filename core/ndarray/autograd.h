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

namespace mx::autograd {

// grad_req values (MXNet's OpReqType numbers).
inline constexpr int32_t kNull = 0;
inline constexpr int32_t kWrite = 1;
inline constexpr int32_t kAdd = 3;

struct Node {
  const op::OpSchema* op = nullptr;  // nullptr: a variable (leaf)
  op::Attrs attrs;
  std::vector<NDArray> inputs;   // values (with their own entries) the gradient may use
  std::vector<NDArray> outputs;  // values without entries (an entry here would be a cycle)
  std::vector<Shape> in_shapes;
  size_t num_outputs = 1;
  bool freed = false;  // saved values dropped after a backward without retain_graph
  // leaves
  NDArray grad;
  int32_t grad_req = kWrite;

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Iterative: a tape of a million ops must not take a stack frame per node to free.
  ~Node();
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

// Gradients of sum(heads * head_grads) (head_grads[i] undefined: ones) into the marked variables'
// grad buffers, per their grad_req.
void backward(std::span<const NDArray> heads, std::span<const NDArray> head_grads, bool retain_graph,
              bool create_graph, bool is_train);
// The same gradients with respect to `vars`, returned as new arrays (on the tape if create_graph).
std::vector<NDArray> grad(std::span<const NDArray> heads, std::span<const NDArray> head_grads,
                          std::span<const NDArray> vars, bool retain_graph, bool create_graph, bool is_train);

}  // namespace mx::autograd
