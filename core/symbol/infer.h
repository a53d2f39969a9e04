// Shape and dtype inference over a symbol, complete or partial (MXNet 1.x's InferShape pass).
// Shapes may be partially known per dim (base/partial_shape.h: kUnknownDim, as a 0 a user writes):
// sweeps go forward and backward over the graph until nothing more is learned. A node whose inputs
// are complete runs its op's infer_shape; before that, its op's rules for partial shapes
// (infer_input_shapes on the complete inputs, in-place pairs, infer_shape_partial) refine its
// inputs and outputs in both directions. Contradictions are errors naming the node, its op, the
// input or output and both shapes. Shapes that enter here (given by name, or a variable's
// __shape__, whose dims <= 0 are unknown) have their known dims checked with check_shape, naming
// the variable. Dtypes are known or not, and flow forward (weights follow data).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "symbol/symbol.h"

namespace mx::sym {

template <typename T>
struct Inferred {
  // Complete values only (std::nullopt where not fully known): what binding may allocate. In
  // list_arguments / list_outputs / aux order.
  std::vector<std::optional<T>> arguments, outputs, aux;
  bool complete = false;
  // Every entry of the graph inferred over (IndexedGraph's entry ids, hidden outputs included),
  // complete values only: the executor sizes its buffers from these.
  std::vector<std::optional<T>> entries;
  // What is known, partially known shapes included (kUnknownDim dims): what infer_shape_partial
  // reports. For dtypes the same as the complete lists.
  std::vector<std::optional<T>> partial_arguments, partial_outputs, partial_aux;
};

// Known shapes by argument (or auxiliary state) name, kUnknownDim for a dim not known; variables'
// __shape__ attributes count too. Without `partial`, anything left incomplete is an error naming
// it and what is known of it.
Inferred<Shape> infer_shapes(const IndexedGraph& g, const std::map<std::string, Shape>& known, bool partial);
// Known dtypes by name (and __dtype__ attributes); unknown inputs of an op take the dtype of its
// first known input (weights follow data).
Inferred<int32_t> infer_types(const IndexedGraph& g, const std::map<std::string, int32_t>& known, bool partial);

// The same over a symbol not indexed yet.
inline Inferred<Shape> infer_shapes(const Symbol& s, const std::map<std::string, Shape>& known, bool partial) {
  return infer_shapes(IndexedGraph(s), known, partial);
}
inline Inferred<int32_t> infer_types(const Symbol& s, const std::map<std::string, int32_t>& known, bool partial) {
  return infer_types(IndexedGraph(s), known, partial);
}

}  // namespace mx::sym
