// Shape and dtype inference over a symbol, complete or partial: sweeps forward (each op's
// infer_shape once its inputs are known) and fills unknown inputs from the ops' deduction rules
// (infer_input_shapes: weights from data and params), repeating until nothing more is learned.
// Contradictions are errors naming the node, its op and both shapes. Shapes that enter here
// (given by name, or a variable's __shape__) are checked with check_shape, naming the variable.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "symbol/symbol.h"

namespace mx::sym {

template <typename T>
struct Inferred {
  std::vector<std::optional<T>> arguments, outputs, aux;  // in list_arguments / list_outputs / aux order
  bool complete = false;
  // Every entry of the graph inferred over (IndexedGraph's entry ids, hidden outputs included):
  // the executor sizes its buffers from these.
  std::vector<std::optional<T>> entries;
};

// Known shapes by argument (or auxiliary state) name; variables' __shape__ attributes count too.
// Without `partial`, anything left unknown is an error naming it.
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
