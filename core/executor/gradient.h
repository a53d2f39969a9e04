// The gradient pass: extends a forward symbol with the nodes that compute the gradients of its
// arguments, built from each op's schema gradient (the same graphs autograd evaluates eagerly).
// Several contributions to one entry are summed with add_n; an output no gradient reaches gets
// zeros. Head gradients enter as variables, one per output.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ndarray/autograd.h"
#include "symbol/infer.h"
#include "symbol/symbol.h"

namespace mx::exec {

// grad_req values are autograd's (MXNet's OpReqType numbers): autograd::kNull, kWrite, kAdd.

struct GradientGraph {
  // The forward outputs, then one entry per argument whose grad_req is not null.
  sym::Symbol full;
  size_t num_forward_outputs = 0;
  // Per forward output: the variable its head gradient is bound to.
  std::vector<std::string> head_grad_names;
  // Per argument (list_arguments order): index into full.outputs, or -1 (grad_req null).
  std::vector<int32_t> grad_output;
  // Per argument with grad_req add: the variable bound to the gradient array the sum reads.
  std::unordered_map<std::string, std::string> accumulate_names;
};

// `graph`: the forward symbol indexed; `shapes`: its complete shape inference (the gradients of
// some ops, broadcasting and reshapes, depend on their input shapes). Throws naming the node whose
// op has no gradient when one is needed through it.
GradientGraph build_gradient(const sym::Symbol& forward, const std::vector<int32_t>& grad_reqs,
                             const sym::IndexedGraph& graph, const sym::Inferred<Shape>& shapes);

}  // namespace mx::exec
