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

const Node& single_node(const Symbol& s, const char* what) {
  if (s.outputs.size() != 1) fail(MX_ERR_INVALID_ARGUMENT, "symbol ", what, ": the symbol has ", s.outputs.size(), " outputs, expected one");
  return *s.outputs[0].node;
}

}  // namespace

// Declared in symbol.h.
std::vector<std::string> input_names(const op::OpSchema& op, const op::Attrs& a) {
  const size_t n = op.num_inputs ? op.num_inputs(a) : op.inputs.size();
  std::vector<std::string> names;
  for (size_t i = 0; i < n; ++i)
    names.push_back(i < op.inputs.size() && !(op.num_inputs && op.inputs.size() == 1) ? op.inputs[i]
                                                                                       : "arg" + std::to_string(i));
  return names;
}

// ---------------------------------------------------------------- nodes

// Releasing the last reference to an input inside this destructor would destroy that input from
// here, and its inputs from there: one stack frame per node of a chain. Inputs this node holds
// the last reference to are moved onto a local stack instead and destroyed one at a time, each
// with its own inputs moved off first. (One at a time also handles an input held twice.)
Node::~Node() {
  delete parsed_.load(std::memory_order_acquire);
  std::vector<std::shared_ptr<Node>> dying;
  auto release = [&dying](std::vector<Entry>& in) {
    for (Entry& e : in) {
      if (e.node.use_count() == 1) dying.push_back(std::move(e.node));
      else e.node.reset();
    }
  };
  release(inputs);
  while (!dying.empty()) {
    std::shared_ptr<Node> n = std::move(dying.back());
    dying.pop_back();
    release(n->inputs);
  }  // n goes here, its inputs already moved off
}

const op::Attrs& Node::full_params() const {
  if (const op::Attrs* p = parsed_.load(std::memory_order_acquire)) return *p;
  const auto k = cstrs(params, true), v = cstrs(params, false);
  auto fresh = std::make_unique<op::Attrs>(op::parse_attrs(*op, int(k.size()), k.data(), v.data()));
  const op::Attrs* expected = nullptr;
  if (parsed_.compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel)) return *fresh.release();
  return *expected;  // another thread parsed it first
}

namespace {
size_t hash_ptr(const void* p) {  // a 64-bit finaliser (murmur3's): pointers share their low bits
  uint64_t x = uint64_t(reinterpret_cast<uintptr_t>(p));
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return size_t(x);
}
}  // namespace

std::pair<uint32_t*, bool> NodeIndex::insert(const Node* n, uint32_t v) {
  if ((size_ + 1) * 2 > slots_.size()) grow();  // at most half full: short probe runs
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash_ptr(n) & mask;; i = (i + 1) & mask) {
    auto& s = slots_[i];
    if (s.first == n) return {&s.second, false};
    if (!s.first) {
      s = {n, v};
      ++size_;
      return {&s.second, true};
    }
  }
}

const uint32_t* NodeIndex::find(const Node* n) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash_ptr(n) & mask;; i = (i + 1) & mask) {
    const auto& s = slots_[i];
    if (s.first == n) return &s.second;
    if (!s.first) return nullptr;
  }
}

uint32_t NodeIndex::at(const Node* n) const {
  const uint32_t* v = find(n);
  if (!v) fail(MX_ERR_INTERNAL, "node '", n->name, "' is not in the graph's index");
  return *v;
}

void NodeIndex::map_values(const std::vector<uint32_t>& to) {
  for (auto& s : slots_)
    if (s.first) s.second = to.at(s.second);
}

void NodeIndex::grow() {
  std::vector<std::pair<const Node*, uint32_t>> old(std::max<size_t>(64, slots_.size() * 2));
  old.swap(slots_);
  size_ = 0;
  for (const auto& s : old)
    if (s.first) insert(s.first, s.second);
}

uint32_t Node::num_outputs() const {
  if (!op) return 1;
  return uint32_t(op->output_count ? op->output_count(full_params()) : op->num_outputs);
}

uint32_t Node::num_visible_outputs() const {
  if (!op) return 1;
  return uint32_t(op::visible_outputs(*op, full_params(), num_outputs()));
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
    const bool is_param = std::any_of(op.params.begin(), op.params.end(), [&](const op::ParamSpec& p) { return p.name == key; });
    if (is_param) node->params.emplace_back(key, full.str(key));
    else node->attrs[key] = vals[i];  // a generic attribute (lr_mult, __layout__, ...): kept on the node, as MXNet
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
  // A node that an argument's graph already contains would become its own input: a cycle that
  // binds and runs wrong and is never freed. Only a node referenced from outside this symbol can
  // be in an argument's graph, so the usual compose of a fresh atomic symbol skips the walk.
  if (node.use_count() > long(outputs.size()) + 1) {
    NodeIndex seen;
    std::vector<const Node*> todo;
    for (const Entry& e : in)
      if (e.node) todo.push_back(e.node.get());
    while (!todo.empty()) {
      const Node* n = todo.back();
      todo.pop_back();
      if (n == node.get())
        fail(MX_ERR_INVALID_ARGUMENT, node->op->name, " ", node->name,
             ": an input already depends on this symbol (composing it would make a cycle)");
      if (!seen.insert(n, 0).second) continue;
      for (const Entry& e : n->inputs) todo.push_back(e.node.get());
    }
  }
  for (size_t i = 0; i < names.size(); ++i)
    if (!set[i]) in[i] = variable(node->name + "_" + names[i]).outputs[0];
  node->inputs = std::move(in);
}

// ---------------------------------------------------------------- queries

std::vector<std::shared_ptr<Node>> Symbol::topo_order(NodeIndex* positions) const {
  std::vector<std::shared_ptr<Node>> order;
  NodeIndex local;
  // Values are discovery numbers during the walk, turned into positions at the end: one lookup
  // per node and edge, none at emission.
  NodeIndex& seen = positions ? *positions : local;
  std::vector<uint32_t> position_of;  // by discovery number
  // Iterative post-order DFS (deep graphs must not overflow the stack). The stack holds the
  // entry a node was reached through and its discovery number; nothing is reference-counted
  // until it is emitted.
  struct Frame {
    const Entry* via;
    uint32_t discovered;
    size_t next = 0;
  };
  std::vector<Frame> stack;
  auto discover = [&](const Entry& e) {
    if (!seen.insert(e.node.get(), uint32_t(position_of.size())).second) return;
    stack.push_back({&e, uint32_t(position_of.size())});
    position_of.push_back(0);
  };
  for (const Entry& head : outputs) {
    discover(head);
    while (!stack.empty()) {
      Frame& f = stack.back();
      const Node& n = *f.via->node;
      if (f.next < n.inputs.size()) {
        discover(n.inputs[f.next++]);  // may reallocate the stack: f is not used after this
      } else {
        position_of[f.discovered] = uint32_t(order.size());
        order.push_back(f.via->node);
        stack.pop_back();
      }
    }
  }
  if (positions) seen.map_values(position_of);
  return order;
}

IndexedGraph::IndexedGraph(const Symbol& s) {
  nodes = s.topo_order(&position);
  const size_t n = nodes.size();
  first_entry.resize(n + 1);
  input_begin.resize(n + 1);
  uint32_t entries = 0;
  for (size_t i = 0; i < n; ++i) {
    first_entry[i] = entries;
    entries += nodes[i]->num_outputs();
    input_begin[i] = uint32_t(input_pos.size());
    for (const Entry& e : nodes[i]->inputs) input_pos.push_back(position.at(e.node.get()));
  }
  first_entry[n] = entries;
  input_begin[n] = uint32_t(input_pos.size());
  for (const Entry& e : s.outputs) output_entries.push_back(entry_id(e));
  inputs = graph_inputs(nodes);
}

GraphInputs graph_inputs(const std::vector<std::shared_ptr<Node>>& order) {
  // Auxiliary states are variables that feed an input their op mutates (BatchNorm's moving stats).
  std::unordered_set<const Node*> aux;
  for (const auto& n : order)
    if (n->op)
      for (size_t m : n->op->mutated_inputs)
        if (m < n->inputs.size() && n->inputs[m].node->is_variable()) aux.insert(n->inputs[m].node.get());
  GraphInputs r;
  for (const auto& n : order) {
    if (!n->is_variable()) continue;
    (aux.count(n.get()) ? r.aux : r.arguments).push_back(n.get());
  }
  return r;
}

namespace {

std::vector<std::string> names_of(const std::vector<const Node*>& nodes) {
  std::vector<std::string> out;
  out.reserve(nodes.size());
  for (const Node* n : nodes) out.push_back(n->name);
  return out;
}

}  // namespace

std::vector<std::string> Symbol::list_arguments() const { return names_of(graph_inputs(topo_order()).arguments); }

std::vector<std::string> Symbol::list_auxiliary_states() const { return names_of(graph_inputs(topo_order()).aux); }

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
