#include "symbol/symbol.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "base/error.h"

namespace mx::sym {
namespace {

// Process-wide counters behind automatic names (MXNet's default NameManager): "fullyconnected0".
std::string auto_name(const std::string& op) {
  static std::mutex mu;
  static std::unordered_map<std::string, int> counters;
  std::string base = op;
  std::transform(base.begin(), base.end(), base.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  std::lock_guard<std::mutex> lk(mu);
  return base + std::to_string(counters[base]++);
}

std::vector<const char*> cstrs(const std::vector<std::pair<std::string, std::string>>& kv, bool keys) {
  std::vector<const char*> out;
  for (auto& [k, v] : kv) out.push_back(keys ? k.c_str() : v.c_str());
  return out;
}

// Inputs of `op` given its params (num_args for Concat / add_n, no_bias, ...).
std::vector<std::string> input_names(const op::OpSchema& op, const op::Attrs& a) {
  const size_t n = op.num_inputs ? op.num_inputs(a) : op.inputs.size();
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i)
    names.push_back(i < op.inputs.size() && !(op.num_inputs && op.inputs.size() == 1) ? op.inputs[i]
                                                                                       : "arg" + std::to_string(i));
  return names;
}

const Node& single_node(const Symbol& s, const char* what) {
  if (s.outputs.size() != 1) fail(MX_ERR_INVALID_ARGUMENT, "symbol ", what, ": the symbol has ", s.outputs.size(), " outputs, expected one");
  return *s.outputs[0].node;
}

}  // namespace

// ---------------------------------------------------------------- nodes

op::Attrs Node::full_params() const {
  const auto k = cstrs(params, true), v = cstrs(params, false);
  return op::parse_attrs(*op, int(k.size()), k.data(), v.data());
}

uint32_t Node::num_outputs() const {
  if (!op) return 1;
  return uint32_t(op->output_count ? op->output_count(full_params()) : op->num_outputs);
}

uint32_t Node::num_visible_outputs() const {
  if (!op) return 1;
  return op->num_visible_outputs < 0 ? num_outputs() : uint32_t(op->num_visible_outputs);
}

std::vector<std::string> output_names(const Node& n) {
  const uint32_t k = n.num_visible_outputs();
  if (k == 1) return {n.is_variable() ? n.name : n.name + "_output"};
  std::vector<std::string> out;
  for (uint32_t i = 0; i < k; ++i) out.push_back(n.name + "_output" + std::to_string(i));
  return out;
}

// ---------------------------------------------------------------- construction

Symbol Symbol::variable(const std::string& name) {
  if (name.empty()) fail(MX_ERR_INVALID_ARGUMENT, "Variable: the name is empty");
  auto n = std::make_shared<Node>();
  n->name = name;
  return Symbol{{Entry{n, 0}}};
}

Symbol Symbol::atomic(const std::string& op_name, int n, const char* const* keys, const char* const* vals) {
  const op::OpSchema& op = op::registry().get(op_name);
  auto node = std::make_shared<Node>();
  node->op = &op;
  const op::Attrs full = op::parse_attrs(op, n, keys, vals);  // validates: unknown or bad params fail here
  for (int i = 0; i < n; ++i) {
    const std::string key = keys[i];
    if (key.rfind("__", 0) == 0) continue;  // parse_attrs rejected these already; kept for symmetry
    node->params.emplace_back(key, full.str(key));
  }
  Symbol s;
  for (uint32_t i = 0; i < node->num_visible_outputs(); ++i) s.outputs.push_back(Entry{node, i});
  return s;
}

Symbol Symbol::group(const std::vector<Symbol>& symbols) {
  Symbol g;
  for (const Symbol& s : symbols) g.outputs.insert(g.outputs.end(), s.outputs.begin(), s.outputs.end());
  return g;
}

void Symbol::compose(const std::string& name, const std::vector<Symbol>& positional,
                     const std::vector<std::pair<std::string, Symbol>>& named) {
  if (outputs.empty()) fail(MX_ERR_INVALID_ARGUMENT, "compose: the symbol is empty");
  const std::shared_ptr<Node> node = outputs[0].node;
  for (const Entry& e : outputs)
    if (e.node != node) fail(MX_ERR_INVALID_ARGUMENT, "compose: only an atomic symbol (one op) can be composed");
  if (node->is_variable() || !node->inputs.empty())
    fail(MX_ERR_INVALID_ARGUMENT, "compose: ", node->name.empty() ? "the symbol" : node->name,
         " is not an unconnected op (compose each atomic symbol once)");
  node->name = name.empty() ? auto_name(node->op->name) : name;
  const std::vector<std::string> names = input_names(*node->op, node->full_params());
  if (positional.size() > names.size())
    fail(MX_ERR_INVALID_ARGUMENT, node->op->name, " ", node->name, ": ", positional.size(), " inputs given, the op takes ",
         names.size());
  std::vector<Entry> in(names.size());
  std::vector<bool> set(names.size(), false);
  auto one = [&](const Symbol& s, const std::string& what) -> Entry {
    if (s.outputs.size() != 1)
      fail(MX_ERR_INVALID_ARGUMENT, node->op->name, " ", node->name, ": input ", what, " has ", s.outputs.size(),
           " outputs, expected one");
    return s.outputs[0];
  };
  for (size_t i = 0; i < positional.size(); ++i) {
    in[i] = one(positional[i], names[i]);
    set[i] = true;
  }
  for (const auto& [key, s] : named) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) {
      std::string list;
      for (auto& n : names) list += (list.empty() ? "" : ", ") + n;
      fail(MX_ERR_INVALID_ARGUMENT, node->op->name, " ", node->name, ": no input named '", key, "' (inputs: ", list, ")");
    }
    const size_t i = size_t(it - names.begin());
    if (set[i]) fail(MX_ERR_INVALID_ARGUMENT, node->op->name, " ", node->name, ": input '", key, "' given twice");
    in[i] = one(s, key);
    set[i] = true;
  }
  for (size_t i = 0; i < names.size(); ++i)
    if (!set[i]) in[i] = variable(node->name + "_" + names[i]).outputs[0];
  node->inputs = std::move(in);
}

// ---------------------------------------------------------------- queries

std::vector<std::shared_ptr<Node>> Symbol::topo_order() const {
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<const Node*> seen;
  // iterative post-order DFS (deep graphs must not overflow the stack)
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack;
  for (const Entry& head : outputs) {
    if (seen.count(head.node.get())) continue;
    stack.push_back({head.node, 0});
    seen.insert(head.node.get());
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next < n->inputs.size()) {
        const std::shared_ptr<Node>& child = n->inputs[next++].node;
        if (seen.insert(child.get()).second) stack.push_back({child, 0});
      } else {
        order.push_back(n);
        stack.pop_back();
      }
    }
  }
  return order;
}

namespace {

// Variables that feed an input an op mutates (BatchNorm's moving statistics).
std::unordered_set<const Node*> aux_variables(const std::vector<std::shared_ptr<Node>>& order) {
  std::unordered_set<const Node*> aux;
  for (const auto& n : order)
    if (n->op)
      for (size_t m : n->op->mutated_inputs)
        if (m < n->inputs.size() && n->inputs[m].node->is_variable()) aux.insert(n->inputs[m].node.get());
  return aux;
}

}  // namespace

std::vector<std::string> Symbol::list_arguments() const {
  const auto order = topo_order();
  const auto aux = aux_variables(order);
  std::vector<std::string> out;
  for (const auto& n : order)
    if (n->is_variable() && !aux.count(n.get())) out.push_back(n->name);
  return out;
}

std::vector<std::string> Symbol::list_auxiliary_states() const {
  const auto order = topo_order();
  const auto aux = aux_variables(order);
  std::vector<std::string> out;
  for (const auto& n : order)
    if (aux.count(n.get())) out.push_back(n->name);
  return out;
}

std::vector<std::string> Symbol::list_inputs() const {
  std::vector<std::string> out;
  for (const auto& n : topo_order())
    if (n->is_variable()) out.push_back(n->name);
  return out;
}

std::vector<std::string> Symbol::list_outputs() const {
  std::vector<std::string> out;
  for (const Entry& e : outputs) {
    const auto names = output_names(*e.node);
    out.push_back(e.index < names.size() ? names[e.index] : e.node->name + "_output" + std::to_string(e.index));
  }
  return out;
}

Symbol Symbol::get_internals() const {
  Symbol s;
  for (const auto& n : topo_order())
    for (uint32_t i = 0; i < n->num_visible_outputs(); ++i) s.outputs.push_back(Entry{n, i});
  return s;
}

Symbol Symbol::get_children() const {
  Symbol s;
  for (const Entry& e : outputs) s.outputs.insert(s.outputs.end(), e.node->inputs.begin(), e.node->inputs.end());
  return s;
}

Symbol Symbol::get_output(size_t i) const {
  if (i >= outputs.size())
    fail(MX_ERR_INVALID_ARGUMENT, "symbol get_output: index ", i, " is out of range for ", outputs.size(), " outputs");
  return Symbol{{outputs[i]}};
}

std::string Symbol::name() const { return outputs.size() == 1 ? outputs[0].node->name : std::string(); }

void Symbol::set_attr(const std::string& key, const std::string& value) {
  Node& n = const_cast<Node&>(single_node(*this, "set_attr"));
  if (n.op)
    for (const auto& p : n.op->params)
      if (p.name == key)
        fail(MX_ERR_INVALID_ARGUMENT, "symbol set_attr: '", key, "' is a parameter of ", n.op->name, " ", n.name,
             " (set it when creating the op)");
  n.attrs[key] = value;
}

bool Symbol::get_attr(const std::string& key, std::string& value) const {
  const Node& n = single_node(*this, "get_attr");
  if (auto it = n.attrs.find(key); it != n.attrs.end()) {
    value = it->second;
    return true;
  }
  for (const auto& [k, v] : n.params)
    if (k == key) {
      value = v;
      return true;
    }
  return false;
}

std::map<std::string, std::string> Symbol::list_attr() const {
  const Node& n = single_node(*this, "list_attr");
  std::map<std::string, std::string> out(n.attrs.begin(), n.attrs.end());
  for (const auto& [k, v] : n.params) out[k] = v;
  return out;
}

}  // namespace mx::sym
