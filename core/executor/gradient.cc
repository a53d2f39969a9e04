#include "executor/gradient.h"

#include <unordered_set>

#include "base/error.h"

namespace mx::exec {
namespace {

// Emits gradient ops as symbol nodes.
class SymbolBuilder final : public op::GradBuilder {
 public:
  std::vector<sym::Entry> values;
  std::string prefix;  // names the nodes after the forward node they differentiate
  int counter = 0;
  std::unordered_set<const sym::Node*> created;

  op::GradValue add(sym::Entry e) {
    values.push_back(std::move(e));
    return op::GradValue(values.size() - 1);
  }
  op::GradValue call(const std::string& name, std::vector<op::GradValue> inputs,
                     std::vector<std::pair<std::string, std::string>> attrs) override {
    return add(make(name, inputs, attrs));
  }
  sym::Entry make(const std::string& name, const std::vector<op::GradValue>& inputs,
                  const std::vector<std::pair<std::string, std::string>>& attrs) {
    auto n = std::make_shared<sym::Node>();
    n->op = &op::registry().get(name);
    n->name = prefix + std::to_string(counter++);
    n->params = attrs;
    n->full_params();  // validates now: a bad gradient definition names its op here, not at run time
    for (op::GradValue v : inputs) n->inputs.push_back(values.at(size_t(v)));
    created.insert(n.get());
    return sym::Entry{std::move(n), 0};
  }
};

struct EntryKey {
  const sym::Node* node;
  uint32_t index;
  bool operator==(const EntryKey&) const = default;
};
struct EntryHash {
  size_t operator()(const EntryKey& k) const { return std::hash<const void*>()(k.node) * 31 + k.index; }
};

}  // namespace

GradientGraph build_gradient(const sym::Symbol& forward, const std::vector<int32_t>& grad_reqs,
                             const std::unordered_map<const sym::Node*, std::vector<Shape>>& shapes) {
  const auto order = forward.topo_order();
  const std::vector<std::string> args = forward.list_arguments();
  GradientGraph g;
  g.full.outputs = forward.outputs;
  g.num_forward_outputs = forward.outputs.size();
  g.grad_output.assign(args.size(), -1);

  std::unordered_map<std::string, size_t> arg_index;
  for (size_t i = 0; i < args.size(); ++i) arg_index[args[i]] = i;
  std::unordered_map<const sym::Node*, size_t> var_of;  // argument variables that want a gradient
  for (const auto& n : order)
    if (n->is_variable())
      if (auto it = arg_index.find(n->name); it != arg_index.end() && grad_reqs.at(it->second) != autograd::kNull)
        var_of[n.get()] = it->second;

  // Which nodes lie on a path from a variable that wants a gradient.
  std::unordered_set<const sym::Node*> needs;
  for (const auto& n : order) {
    if (n->is_variable()) {
      if (var_of.count(n.get())) needs.insert(n.get());
      continue;
    }
    for (const sym::Entry& e : n->inputs)
      if (needs.count(e.node.get())) {
        needs.insert(n.get());
        break;
      }
  }

  SymbolBuilder b;
  std::unordered_map<EntryKey, std::vector<sym::Entry>, EntryHash> contrib;
  for (size_t i = 0; i < forward.outputs.size(); ++i) {
    const std::string name = "__head_grad_" + std::to_string(i);
    g.head_grad_names.push_back(name);
    const sym::Entry& e = forward.outputs[i];
    if (needs.count(e.node.get())) contrib[{e.node.get(), e.index}].push_back(sym::Symbol::variable(name).outputs[0]);
  }
  // Sum of the contributions to one entry.
  auto total = [&](std::vector<sym::Entry>& parts) -> sym::Entry {
    if (parts.size() == 1) return parts[0];
    std::vector<op::GradValue> in;
    for (auto& p : parts) in.push_back(b.add(p));
    return b.make("add_n", in, {{"num_args", std::to_string(parts.size())}});
  };

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const sym::Node& n = **it;
    if (n.is_variable() || !needs.count(&n)) continue;
    bool reached = false;
    for (uint32_t k = 0; k < n.num_outputs(); ++k) reached |= contrib.count({&n, k}) > 0;
    if (!reached) continue;
    if (!n.op->gradient)
      fail(MX_ERR_UNSUPPORTED, "gradient: node '", n.name, "' (", n.op->name, ") has no gradient, but an argument's ",
           "gradient flows through it; set that argument's grad_req to null or cut the path with BlockGrad");
    b.values.clear();
    b.prefix = "_backward_" + n.name + "_";
    b.counter = 0;
    const op::Attrs attrs = n.full_params();
    std::vector<Shape> in_shapes;
    for (const sym::Entry& e : n.inputs) in_shapes.push_back(shapes.at(e.node.get()).at(e.index));
    op::GradArgs ga{b, attrs, {}, {}, {}, in_shapes, true};
    for (const sym::Entry& e : n.inputs) ga.inputs.push_back(b.add(e));
    for (uint32_t k = 0; k < n.num_outputs(); ++k) ga.outputs.push_back(b.add(sym::Entry{*it, k}));
    for (uint32_t k = 0; k < n.num_outputs(); ++k) {
      auto c = contrib.find({&n, k});
      if (c == contrib.end()) {
        ga.out_grads.push_back(b.call("zeros_like", {ga.outputs[k]}, {}));
      } else {
        ga.out_grads.push_back(b.add(total(c->second)));
      }
    }
    const std::vector<op::GradValue> in_grads = n.op->gradient(ga);
    for (size_t i = 0; i < n.inputs.size() && i < in_grads.size(); ++i) {
      if (in_grads[i] == op::kNoGrad || !needs.count(n.inputs[i].node.get())) continue;
      contrib[{n.inputs[i].node.get(), n.inputs[i].index}].push_back(b.values.at(size_t(in_grads[i])));
    }
  }

  // One gradient output per argument that wants one.
  std::unordered_set<const sym::Node*> used;  // entries already handed to an argument (or a variable)
  for (const auto& np : order) {
    auto v = var_of.find(np.get());
    if (v == var_of.end()) continue;
    const size_t ai = v->second;
    b.values.clear();
    b.prefix = "_grad_" + np->name + "_";
    b.counter = 0;
    sym::Entry grad;
    if (auto c = contrib.find({np.get(), 0}); c != contrib.end()) {
      grad = total(c->second);
      // Each gradient array is written by a gradient node of its own: copy an entry that is not
      // one (a head gradient passed straight through, a forward value) or is already some other
      // argument's gradient.
      if (!b.created.count(grad.node.get()) || !used.insert(grad.node.get()).second)
        grad = b.make("_copy", {b.add(grad)}, {});
    } else {
      grad = b.make("zeros_like", {b.add(sym::Entry{np, 0})}, {});  // the outputs do not depend on it
    }
    if (grad_reqs.at(ai) == autograd::kAdd) {
      const std::string acc = "__grad_accumulate_" + np->name;
      g.accumulate_names[np->name] = acc;
      const op::GradValue prev = b.add(sym::Symbol::variable(acc).outputs[0]), now = b.add(grad);
      grad = b.make("elemwise_add", {prev, now}, {});
    }
    g.grad_output[ai] = int32_t(g.full.outputs.size());
    g.full.outputs.push_back(grad);
  }
  return g;
}

}  // namespace mx::exec
