// Symbol: MXNet's static graph. A symbol is a list of output entries of a DAG of nodes; a node
// is a variable or an op with validated params, extra attributes (__shape__, lr_mult, ...) and
// input entries. Symbols are built by composing atomic symbols, saved and loaded as MXNet 1.x
// JSON, and (next) bound into executors.
#pragma once

#include <atomic>
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
  // The op's params as given (validated against the schema, canonical values). Set when the node
  // is made, before anything reads full_params().
  std::vector<std::pair<std::string, std::string>> params;
  // Other attributes: __shape__, __dtype__, lr_mult, ... (variables and ops alike).
  std::map<std::string, std::string> attrs;
  std::vector<Entry> inputs;

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  // Iterative: a chain of a million nodes must not take a stack frame per node to free.
  ~Node();

  bool is_variable() const { return op == nullptr; }
  // Outputs the node has (hidden ones included) and those a user sees.
  uint32_t num_outputs() const;
  uint32_t num_visible_outputs() const;
  // The op's params completed with defaults (for inference and execution), parsed once: a graph
  // of a million nodes is walked several times per bind.
  const op::Attrs& full_params() const;

 private:
  // Set once by the first full_params() (a compare-and-swap: symbols are shared between threads,
  // and std::call_once made a futex call per node).
  mutable std::atomic<const op::Attrs*> parsed_{nullptr};
};

// Node -> uint32_t (a position in a topological order), with open addressing: walks over a
// million-node graph (several per bind) spent most of their time allocating the nodes of a
// std::unordered_map.
class NodeIndex {
 public:
  // Inserts (n, v) unless n is there; returns the stored value and whether it was inserted.
  std::pair<uint32_t*, bool> insert(const Node* n, uint32_t v);
  const uint32_t* find(const Node* n) const;
  uint32_t at(const Node* n) const;  // MX_ERR_INTERNAL if n is absent
  bool contains(const Node* n) const { return find(n) != nullptr; }
  size_t size() const { return size_; }
  // Replaces every value v by to[v] (one sequential pass instead of a lookup per node).
  void map_values(const std::vector<uint32_t>& to);

 private:
  void grow();
  std::vector<std::pair<const Node*, uint32_t>> slots_;  // {nullptr, _}: empty
  size_t size_ = 0;
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
  // `positions`, if given (empty), receives each node's position in the result.
  std::vector<std::shared_ptr<Node>> topo_order(NodeIndex* positions = nullptr) const;
};

// "<node>_output" names of a node's visible outputs.
std::vector<std::string> output_names(const Node& n);

// Names of the inputs of `op` given its params (num_args for Concat / add_n, no_bias, ...):
// the schema's names where they apply, "arg<i>" otherwise.
std::vector<std::string> input_names(const op::OpSchema& op, const op::Attrs& a);

// The argument and auxiliary-state variables of a graph, in list_arguments /
// list_auxiliary_states order, from an order topo_order() gave (one walk serves both lists).
struct GraphInputs {
  std::vector<const Node*> arguments, aux;
};
GraphInputs graph_inputs(const std::vector<std::shared_ptr<Node>>& order);

// A symbol's graph numbered once, for the passes over the whole graph (inference, JSON, the
// gradient pass, binding): nodes in topo order, each node's outputs (hidden ones included) as
// consecutive entry ids, every input as its producer's position. One walk serves every pass, and
// no pass looks nodes up by pointer again (in a million-node graph each lookup is a cache miss).
struct IndexedGraph {
  std::vector<std::shared_ptr<Node>> nodes;  // topo order
  NodeIndex position;                        // node -> its position in `nodes`
  std::vector<uint32_t> first_entry;         // node i's outputs: [first_entry[i], first_entry[i + 1])
  std::vector<uint32_t> input_begin;         // node i's inputs: input_pos[input_begin[i] ..]
  std::vector<uint32_t> input_pos;           // producers' positions, in the order of Node::inputs
  std::vector<uint32_t> output_entries;      // the symbol's outputs
  GraphInputs inputs;                        // arguments and auxiliary states, in list order

  explicit IndexedGraph(const Symbol& s);
  size_t num_entries() const { return first_entry.back(); }
  uint32_t num_outputs(size_t i) const { return first_entry[i + 1] - first_entry[i]; }
  uint32_t entry_id(const Entry& e) const { return first_entry[position.at(e.node.get())] + e.index; }
  // Input k of node i: its producer's position and its entry id.
  uint32_t input_node(size_t i, size_t k) const { return input_pos[input_begin[i] + k]; }
  uint32_t input_entry(size_t i, size_t k) const {
    return first_entry[input_node(i, k)] + nodes[i]->inputs[k].index;
  }
};

}  // namespace mx::sym
