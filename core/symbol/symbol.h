// Symbol: MXNet's static graph. A symbol is a list of output entries of a DAG of nodes; a node
// is a variable or an op with validated params, extra attributes (__shape__, lr_mult, ...) and
// input entries. Symbols are built by composing atomic symbols, saved and loaded as MXNet 1.x
// JSON, and (next) bound into executors.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "op/schema.h"

namespace mx::sym {

struct Node;

// One output of a node.
struct Entry {
  std::shared_ptr<Node> node;
  uint32_t index = 0;
};

struct Node {
  const op::OpSchema* op = nullptr;  // nullptr: a variable
  std::string name;
  // The op's params as given (validated against the schema, canonical values).
  std::vector<std::pair<std::string, std::string>> params;
  // Other attributes: __shape__, __dtype__, lr_mult, ... (variables and ops alike).
  std::map<std::string, std::string> attrs;
  std::vector<Entry> inputs;

  bool is_variable() const { return op == nullptr; }
  // Outputs the node has (hidden ones included) and those a user sees.
  uint32_t num_outputs() const;
  uint32_t num_visible_outputs() const;
  // The op's params completed with defaults (for inference and execution).
  op::Attrs full_params() const;
};

class Symbol {
 public:
  std::vector<Entry> outputs;

  static Symbol variable(const std::string& name);
  // An op with params and no inputs yet: compose() names it and connects them.
  static Symbol atomic(const std::string& op_name, int n, const char* const* keys, const char* const* vals);
  static Symbol group(const std::vector<Symbol>& symbols);

  // Names the (single, unconnected) op node (empty: an automatic name, e.g. fullyconnected0) and
  // connects inputs by position or by input name; missing inputs become variables named
  // "<node>_<input>" (fc1_weight).
  void compose(const std::string& name, const std::vector<Symbol>& positional,
               const std::vector<std::pair<std::string, Symbol>>& named);

  std::vector<std::string> list_arguments() const;
  std::vector<std::string> list_outputs() const;
  std::vector<std::string> list_auxiliary_states() const;
  std::vector<std::string> list_inputs() const;  // arguments and auxiliary states, in graph order

  Symbol get_internals() const;  // every output of every node
  Symbol get_children() const;   // the inputs of the output nodes
  Symbol get_output(size_t i) const;
  // The name of a single-output symbol's node ("" if it has several outputs).
  std::string name() const;

  // Attributes of the single output node.
  void set_attr(const std::string& key, const std::string& value);
  bool get_attr(const std::string& key, std::string& value) const;
  std::map<std::string, std::string> list_attr() const;

  std::string to_json() const;
  // Reads MXNet 1.x JSON (also the older `param` / `attr` node keys). Errors name the node.
  static Symbol from_json(const std::string& json);

  // Nodes reachable from the outputs, inputs before their users (a stable depth-first order).
  std::vector<std::shared_ptr<Node>> topo_order() const;
};

// "<node>_output" names of a node's visible outputs.
std::vector<std::string> output_names(const Node& n);

}  // namespace mx::sym
