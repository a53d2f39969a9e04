// get_symbol: the autograd tape behind an array, rebuilt as a Symbol (MXNet's
// mx.autograd.get_symbol), so a recorded imperative computation can be bound and run again.
#include <map>
#include <string>
#include <tuple>
#include <unordered_map>

#include "base/error.h"
#include "ndarray/autograd.h"
#include "symbol/symbol.h"

namespace mx::autograd {
namespace {

// The params worth writing: those that differ from the schema's default (the symbol fills the
// rest back in, as it does for a symbol built by hand).
std::vector<std::pair<std::string, std::string>> given_params(const op::OpSchema& op, const op::Attrs& attrs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, value] : attrs.kv) {
    bool is_default = false;
    for (const op::ParamSpec& p : op.params)
      if (p.name == key) is_default = !p.required && p.default_value == value;
    if (!is_default) out.emplace_back(key, value);
  }
  return out;
}

std::shared_ptr<sym::Node> variable(std::string name) {
  auto v = std::make_shared<sym::Node>();
  v->name = std::move(name);
  return v;
}

}  // namespace

sym::Symbol get_symbol(const NDArray& arr) {
  const AGEntry& head = arr.ag_entry();
  if (!head.node)
    fail(MX_ERR_INVALID_ARGUMENT, "get_symbol: the array ", shape_str(arr.shape()),
         " is not on the autograd tape (mark variables, then compute it while recording)");
  std::unordered_map<const Node*, std::shared_ptr<sym::Node>> made;
  // Arrays an op read that are not on the tape (constants) become variables, one per array.
  using ArrayKey = std::tuple<const Chunk*, uint64_t, std::string, int32_t>;
  std::map<ArrayKey, std::shared_ptr<sym::Node>> constants;
  size_t num_ops = 0;
  for (const std::shared_ptr<Node>& n : topo_order({&arr, 1})) {
    if (n->is_variable()) {
      made[n.get()] = variable("var" + std::to_string(n->var_id));
      continue;
    }
    if (n->is_function)
      fail(MX_ERR_UNSUPPORTED, "get_symbol: the graph holds an autograd.Function, which has no symbol form");
    if (n->freed)
      fail(MX_ERR_INVALID_ARGUMENT, "get_symbol: the graph through ", n->label(),
           " was freed by backward (record again, or pass retain_graph=True to backward)");
    auto s = std::make_shared<sym::Node>();
    s->op = n->op;
    s->name = "node_" + std::to_string(num_ops++);
    s->params = given_params(*n->op, n->attrs);
    for (const NDArray& in : n->inputs) {
      const AGEntry& e = in.ag_entry();
      if (e.node) {
        s->inputs.push_back(sym::Entry{made.at(e.node.get()), e.index});
        continue;
      }
      auto& c = constants[ArrayKey{in.chunk().get(), in.byte_offset(), shape_str(in.shape()), in.dtype()}];
      if (!c) c = variable("null" + std::to_string(constants.size() - 1));
      s->inputs.push_back(sym::Entry{c, 0});
    }
    made[n.get()] = std::move(s);
  }
  sym::Symbol out;
  out.outputs.push_back(sym::Entry{made.at(head.node.get()), head.index});
  return out;
}

}  // namespace mx::autograd
