#include "executor/gradient.h"

#include <unordered_set>

#include "base/error.h"

namespace mx::exec {
namespace {

// Emits gradient ops as symbol nodes.
class SymbolBuilder final : public op::GradBuilder {
 public:
  std::vector<sym::Entry> values;
  // Names the nodes after the forward node they differentiate: "<kind><node>_<counter>", built
  // only when a node is made (most gradients of a long chain pass their input through).
  const char* kind = "";
  const sym::Node* of = nullptr;
  int counter = 0;
  std::unordered_set<const sym::Node*> created;

  void start(const char* k, const sym::Node* n) {
    values.clear();
    kind = k;
    of = n;
    counter = 0;
  }
  op::GradValue add(sym::Entry e) {
    values.push_back(std::move(e));
    return op::GradValue(values.size() - 1);
  }
  op::GradValue call(const std::string& name, std::vector<op::GradValue> inputs,
                     std::vector<std::pair<std::string, std::string>> attrs) override {
    return add(make(name, inputs, attrs));
  }
  size_t num_values() const override { return values.size(); }
  std::vector<op::GradValue> call_all(const std::string& name, std::vector<op::GradValue> inputs,
                                      std::vector<std::pair<std::string, std::string>> attrs) override {
    sym::Entry first = make(name, inputs, attrs);
    std::vector<op::GradValue> out;
    const uint32_t n = first.node->num_outputs();
    for (uint32_t k = 0; k < n; ++k) out.push_back(add(sym::Entry{first.node, k}));
    return out;
  }
  sym::Entry make(const std::string& name, const std::vector<op::GradValue>& inputs,
                  const std::vector<std::pair<std::string, std::string>>& attrs) {
    auto n = std::make_shared<sym::Node>();
    n->op = &op::registry().get(name);
    n->name = kind + of->name + "_" + std::to_string(counter++);
    n->params = attrs;
    n->full_params();  // validates now: a bad gradient definition names its op here, not at run time
    for (op::GradValue v : inputs) n->inputs.push_back(values.at(size_t(v)));
    created.insert(n.get());
    return sym::Entry{std::move(n), 0};
  }
};

}  // namespace

GradientGraph build_gradient(const sym::Symbol& forward, const std::vector<int32_t>& grad_reqs,
                             const sym::IndexedGraph& graph, const sym::Inferred<Shape>& shapes) {
  // Everything is indexed by position in the forward order or by entry id (a million-node graph
  // passes here; hash maps keyed by node cost more than the gradient itself).
  const std::vector<std::shared_ptr<sym::Node>>& order = graph.nodes;
  const std::vector<const sym::Node*>& args = graph.inputs.arguments;
  GradientGraph g;
  g.full.outputs = forward.outputs;
  g.num_forward_outputs = forward.outputs.size();
  g.grad_output.assign(args.size(), -1);

  std::vector<int64_t> arg_of(order.size(), -1);  // argument variables that want a gradient
  for (size_t i = 0; i < args.size(); ++i)
    if (grad_reqs.at(i) != autograd::kNull) arg_of[graph.position.at(args[i])] = int64_t(i);

  // Which nodes lie on a path from a variable that wants a gradient.
  std::vector<char> needs(order.size(), 0);
  for (size_t pos = 0; pos < order.size(); ++pos) {
    const sym::Node& n = *order[pos];
    if (n.is_variable()) {
      needs[pos] = arg_of[pos] >= 0;
      continue;
    }
    for (size_t k = 0; k < n.inputs.size() && !needs[pos]; ++k) needs[pos] = needs[graph.input_node(pos, k)];
  }

  SymbolBuilder b;
  std::vector<std::vector<sym::Entry>> contrib(graph.num_entries());  // by entry id
  for (size_t i = 0; i < forward.outputs.size(); ++i) {
    const std::string name = "__head_grad_" + std::to_string(i);
    g.head_grad_names.push_back(name);
    const sym::Entry& e = forward.outputs[i];
    if (needs[graph.position.at(e.node.get())])
      contrib[graph.entry_id(e)].push_back(sym::Symbol::variable(name).outputs[0]);
  }
  // Sum of the contributions to one entry.
  auto total = [&](std::vector<sym::Entry>& parts) -> sym::Entry {
    if (parts.size() == 1) return parts[0];
    std::vector<op::GradValue> in;
    for (auto& p : parts) in.push_back(b.add(p));
    return b.make("add_n", in, {{"num_args", std::to_string(parts.size())}});
  };

  std::vector<Shape> in_shapes;
  for (size_t pos = order.size(); pos-- > 0;) {
    const std::shared_ptr<sym::Node>& np = order[pos];
    const sym::Node& n = *np;
    if (n.is_variable() || !needs[pos]) continue;
    const uint32_t first = graph.first_entry[pos], num_outputs = graph.num_outputs(pos);
    bool reached = false;
    for (uint32_t k = 0; k < num_outputs; ++k) reached |= !contrib[first + k].empty();
    if (!reached) continue;
    if (!n.op->gradient)
      fail(MX_ERR_UNSUPPORTED, "gradient: node '", n.name, "' (", n.op->name, ") has no gradient, but an argument's ",
           "gradient flows through it; set that argument's grad_req to null or cut the path with BlockGrad");
    b.start("_backward_", &n);
    in_shapes.clear();
    for (size_t k = 0; k < n.inputs.size(); ++k)
      in_shapes.push_back(shapes.entries[graph.input_entry(pos, k)].value_or(Shape{}));
    op::GradArgs ga{b, n.full_params(), {}, {}, {}, in_shapes, true};
    for (const sym::Entry& e : n.inputs) ga.inputs.push_back(b.add(e));
    for (uint32_t k = 0; k < num_outputs; ++k) ga.outputs.push_back(b.add(sym::Entry{np, k}));
    for (uint32_t k = 0; k < num_outputs; ++k) {
      std::vector<sym::Entry>& c = contrib[first + k];
      ga.out_grads.push_back(c.empty() ? b.call("zeros_like", {ga.outputs[k]}, {}) : b.add(total(c)));
      std::vector<sym::Entry>().swap(c);  // consumed: a long chain keeps only the live frontier
    }
    const std::vector<op::GradValue> in_grads = n.op->gradient(ga);
    for (size_t i = 0; i < n.inputs.size() && i < in_grads.size(); ++i) {
      if (in_grads[i] == op::kNoGrad || !needs[graph.input_node(pos, i)]) continue;
      contrib[graph.input_entry(pos, i)].push_back(b.values.at(size_t(in_grads[i])));
    }
  }

  // One gradient output per argument that wants one.
  std::unordered_set<const sym::Node*> used;  // entries already handed to an argument (or a variable)
  for (size_t pos = 0; pos < order.size(); ++pos) {
    if (arg_of[pos] < 0) continue;
    const std::shared_ptr<sym::Node>& np = order[pos];
    const size_t ai = size_t(arg_of[pos]);
    b.start("_grad_", np.get());
    sym::Entry grad;
    if (std::vector<sym::Entry>& c = contrib[graph.first_entry[pos]]; !c.empty()) {
      grad = total(c);
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
