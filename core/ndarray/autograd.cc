#include "ndarray/autograd.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "base/dtype.h"
#include "base/error.h"
#include "ndarray/invoke.h"

namespace mx::autograd {
namespace {

thread_local bool t_recording = false;
thread_local bool t_training = false;
std::atomic<uint64_t> g_next_var_id{0};

// Restores the thread's flags when a backward pass ends, however it ends.
struct FlagScope {
  bool rec, train;
  FlagScope(bool r, bool t) : rec(set_recording(r)), train(set_training(t)) {}
  ~FlagScope() {
    set_recording(rec);
    set_training(train);
  }
};

std::vector<NDArray> call_all(const std::string& name, std::vector<const NDArray*> in,
                              const std::vector<std::pair<std::string, std::string>>& attrs) {
  const op::OpSchema& op = op::registry().get(name);
  std::vector<const char*> k, v;
  for (auto& [key, val] : attrs) {
    k.push_back(key.c_str());
    v.push_back(val.c_str());
  }
  const op::Attrs a = op::parse_attrs(op, int(k.size()), k.data(), v.data());
  std::vector<NDArray> out;
  invoke(op, a, in, out);
  return out;
}

NDArray call(const std::string& name, std::vector<const NDArray*> in,
             const std::vector<std::pair<std::string, std::string>>& attrs = {}) {
  return call_all(name, std::move(in), attrs).at(0);
}

// Evaluates gradient graphs on NDArrays, lazily: call() only notes the op, and value() runs it
// (after its inputs) when a gradient that is wanted depends on it. The gradient of an input that
// is not on the tape (the data of a network's first layer: a GEMM as large as its weight's
// gradient) is thus never computed. call_all() runs at once: its output count is the op's.
class ArrayBuilder final : public op::GradBuilder {
 public:
  struct Pending {
    std::string name;
    std::vector<op::GradValue> inputs;
    std::vector<std::pair<std::string, std::string>> attrs;
  };
  op::GradValue add(NDArray a) {
    values_.push_back(std::move(a));
    pending_.emplace_back();
    return op::GradValue(values_.size() - 1);
  }
  op::GradValue call(const std::string& name, std::vector<op::GradValue> inputs,
                     std::vector<std::pair<std::string, std::string>> attrs) override {
    for (op::GradValue i : inputs) check(i);
    values_.emplace_back();
    pending_.emplace_back(Pending{name, std::move(inputs), std::move(attrs)});
    return op::GradValue(values_.size() - 1);
  }
  size_t num_values() const override { return values_.size(); }
  std::vector<op::GradValue> call_all(const std::string& name, std::vector<op::GradValue> inputs,
                                      std::vector<std::pair<std::string, std::string>> attrs) override {
    std::vector<const NDArray*> in;
    for (op::GradValue i : inputs) in.push_back(&value(i));
    std::vector<op::GradValue> out;
    for (NDArray& a : autograd::call_all(name, in, attrs)) out.push_back(add(std::move(a)));
    return out;
  }
  // Value v, running the ops it depends on that have not run yet (iteratively: a long chain of
  // pending ops must not recurse once per op).
  const NDArray& value(op::GradValue v) {
    check(v);
    std::vector<size_t> stack{size_t(v)};
    while (!stack.empty()) {
      const size_t top = stack.back();
      if (!pending_[top]) {
        stack.pop_back();
        continue;
      }
      bool ready = true;
      for (op::GradValue i : pending_[top]->inputs)
        if (pending_[size_t(i)]) {
          stack.push_back(size_t(i));
          ready = false;
        }
      if (!ready) continue;
      std::vector<const NDArray*> in;
      for (op::GradValue i : pending_[top]->inputs) in.push_back(&values_[size_t(i)]);
      values_[top] = autograd::call(pending_[top]->name, in, pending_[top]->attrs);
      pending_[top].reset();
      stack.pop_back();
    }
    return values_[size_t(v)];
  }
  // Value v computed straight into `target` (a variable's gradient buffer: no fresh array and no
  // copy into it afterwards) when v is a pending single-output op whose result fits it; otherwise
  // as value(). Returns the array holding v.
  const NDArray& value_into(op::GradValue v, const NDArray& target) {
    check(v);
    const std::optional<Pending>& p = pending_[size_t(v)];
    if (!p) return values_[size_t(v)];
    const op::OpSchema& op = op::registry().get(p->name);
    if (op.output_count || op.num_outputs != 1) return value(v);
    std::vector<const NDArray*> in;
    for (op::GradValue i : p->inputs) in.push_back(&value(i));
    std::vector<const char*> k, val;
    for (auto& [key, x] : p->attrs) {
      k.push_back(key.c_str());
      val.push_back(x.c_str());
    }
    const op::Attrs attrs = op::parse_attrs(op, int(k.size()), k.data(), val.data());
    std::vector<NDArray> out{target};
    try {
      invoke(op, attrs, in, out);
    } catch (const Error&) {
      return value(v);  // the result's shape or dtype is not the buffer's: a fresh array, as before
    }
    values_[size_t(v)] = target;
    pending_[size_t(v)].reset();
    return values_[size_t(v)];
  }

 private:
  void check(op::GradValue v) const {
    if (v < 0 || size_t(v) >= values_.size())
      fail(MX_ERR_INTERNAL, "backward: gradient value ", v, " out of range (", values_.size(), " values)");
  }
  std::deque<NDArray> values_;  // a deque: references from value() stay valid while values are added
  std::deque<std::optional<Pending>> pending_;
};

[[noreturn]] void freed_error(const Node& n) {
  fail(MX_ERR_INVALID_ARGUMENT, "backward: the graph through ", n.label(),
       " was freed by an earlier backward; pass retain_graph=True to backward through it twice");
}

// Adds g into the gradient slot of output `index` of node n.
void accumulate_into(std::unordered_map<Node*, std::vector<NDArray>>& grads, Node* n, uint32_t index,
                     const NDArray& g);

void accumulate(NDArray& slot, const NDArray& g) {
  slot = slot.defined() ? call("elemwise_add", {&slot, &g}) : g;
}

void accumulate_into(std::unordered_map<Node*, std::vector<NDArray>>& grads, Node* n, uint32_t index,
                     const NDArray& g) {
  auto& slots = grads[n];
  if (slots.size() < n->num_outputs) slots.resize(n->num_outputs);
  accumulate(slots.at(index), g);
}

// Input gradients of an op's node from its schema's gradient graph (undefined: none, or not
// wanted: only the inputs on the tape get theirs computed).
// A variable whose only consumer is this node, with grad_req 'write', gets its gradient computed
// into its buffer (writable: those variables, from backward(); empty from grad()).
std::vector<NDArray> op_input_grads(const std::shared_ptr<Node>& node, const std::vector<NDArray>& out_grads,
                                    bool create_graph, bool is_train, const std::unordered_set<Node*>& writable) {
  const Node& n = *node;
  if (!n.op->gradient) fail(MX_ERR_UNSUPPORTED, "backward: op ", n.op->name, " has no gradient");
  ArrayBuilder b;
  op::GradArgs args{b, n.attrs, {}, {}, {}, n.in_shapes, is_train};
  for (const NDArray& x : n.inputs) args.inputs.push_back(b.add(x));
  for (size_t k = 0; k < n.outputs.size(); ++k) {
    NDArray y = n.outputs[k];
    // For higher-order gradients the saved output is this node's output again.
    if (create_graph) y.set_ag_entry(AGEntry{node, uint32_t(k)});
    args.outputs.push_back(b.add(y));
  }
  for (const NDArray& g : out_grads) args.out_grads.push_back(b.add(g));
  const std::vector<op::GradValue> in_grads = n.op->gradient(args);
  std::vector<NDArray> out(n.inputs.size());
  for (size_t i = 0; i < out.size() && i < in_grads.size(); ++i)
    if (in_grads[i] == op::kNoGrad) continue;
    else if (Node* in = n.inputs[i].ag_entry().node.get(); in && writable.count(in)) out[i] = b.value_into(in_grads[i], in->grad);
    else if (in) out[i] = b.value(in_grads[i]);
  return out;
}

// Input gradients of a user function's node: its hook's, checked against the inputs.
std::vector<NDArray> function_input_grads(const Node& n, const std::vector<NDArray>& out_grads, bool create_graph) {
  if (create_graph)  // its backward runs outside the tape, so nothing could differentiate it again
    fail(MX_ERR_UNSUPPORTED, "backward: create_graph is not supported through an autograd.Function (as in MXNet)");
  std::vector<NDArray> g = n.function->backward(out_grads);
  for (NDArray& a : g) a.set_ag_entry({});  // a value only: it may be an array of the tape (a saved output)
  if (g.size() != n.inputs.size())
    fail(MX_ERR_INVALID_ARGUMENT, "backward: autograd.Function gave ", g.size(), " gradient(s) for its ",
         n.inputs.size(), " input(s)");
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i].defined() && (g[i].shape() != n.in_shapes[i] || g[i].dtype() != n.inputs[i].dtype()))
      fail(MX_ERR_SHAPE_MISMATCH, "backward: autograd.Function's gradient ", i, " is ", shape_str(g[i].shape()), " ",
           dtype_info(g[i].dtype()).name, " but input ", i, " is ", shape_str(n.in_shapes[i]), " ",
           dtype_info(n.inputs[i].dtype()).name);
  return g;
}

// The core pass: gradient of every leaf reached, keyed by leaf node.
std::unordered_map<Node*, NDArray> run_backward(std::span<const NDArray> heads, std::span<const NDArray> head_grads,
                                                bool retain_graph, bool create_graph, bool is_train,
                                                bool write_leaves = false) {
  if (!head_grads.empty() && head_grads.size() != heads.size())
    fail(MX_ERR_INVALID_ARGUMENT, "backward: ", heads.size(), " heads but ", head_grads.size(), " head gradients");
  retain_graph |= create_graph;  // a gradient graph refers back to the nodes it came from
  FlagScope flags(create_graph, is_train);
  std::unordered_map<Node*, std::vector<NDArray>> grads;
  for (size_t i = 0; i < heads.size(); ++i) {
    const AGEntry& e = heads[i].ag_entry();
    if (!e.node)
      fail(MX_ERR_INVALID_ARGUMENT, "backward: head ", i, " ", shape_str(heads[i].shape()),
           " is not on the autograd tape (mark variables, then compute it while recording)");
    NDArray g = !head_grads.empty() && head_grads[i].defined() ? head_grads[i] : call("ones_like", {&heads[i]});
    if (g.shape() != heads[i].shape())
      fail(MX_ERR_SHAPE_MISMATCH, "backward: head gradient ", i, " is ", shape_str(g.shape()), " but the head is ",
           shape_str(heads[i].shape()));
    if (e.node->freed) freed_error(*e.node);
    accumulate_into(grads, e.node.get(), e.index, g);
  }
  const std::vector<std::shared_ptr<Node>> order = topo_order(heads);
  // Variables (grad_req 'write') that exactly one op input of the tape consumes (not a head): the
  // gradient computed for that input is theirs, so it can be written into their buffer directly.
  std::unordered_set<Node*> writable;
  if (write_leaves && !create_graph) {
    std::unordered_map<Node*, int> uses;
    for (const NDArray& h : heads) uses[h.ag_entry().node.get()] += 2;
    for (const auto& n : order)
      for (const NDArray& a : n->inputs)
        if (Node* in = a.ag_entry().node.get(); in && in->is_variable()) ++uses[in];
    // A buffer the tape itself reads (an op's input or saved output) keeps its old value until the
    // pass ends: its variable's gradient is copied in at the end, as any other.
    std::unordered_set<const engine::Var*> read;
    for (const auto& n : order) {
      for (const NDArray& a : n->inputs) read.insert(a.var());
      for (const NDArray& a : n->outputs) read.insert(a.var());
    }
    for (auto& [in, count] : uses)
      if (count == 1 && in->is_variable() && in->grad_req == kWrite && in->grad.defined() && !read.count(in->grad.var()))
        writable.insert(in);
  }
  std::unordered_map<Node*, NDArray> leaf_grads;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = it->get();
    auto found = grads.find(n);
    if (found == grads.end()) continue;
    if (n->is_variable()) {
      if (!found->second.empty() && found->second[0].defined()) leaf_grads[n] = found->second[0];
      continue;
    }
    if (n->freed) freed_error(*n);
    auto& og = found->second;
    og.resize(n->num_outputs);
    for (size_t k = 0; k < og.size(); ++k)
      if (!og[k].defined()) og[k] = call("zeros_like", {&n->outputs[k]});
    const std::vector<NDArray> in_grads =
        n->function ? function_input_grads(*n, og, create_graph) : op_input_grads(*it, og, create_graph, is_train, writable);
    for (size_t i = 0; i < n->inputs.size(); ++i) {
      const AGEntry& e = n->inputs[i].ag_entry();
      if (!in_grads[i].defined() || !e.node) continue;
      accumulate_into(grads, e.node.get(), e.index, in_grads[i]);
    }
    grads.erase(n);  // consumed: a long tape keeps only the gradients still flowing
  }
  // Variables in the graph that no gradient reached (piecewise-constant paths) get zeros.
  for (const auto& n : order)
    if (n->is_variable() && n->grad.defined() && !leaf_grads.count(n.get())) leaf_grads[n.get()] = call("zeros_like", {&n->grad});
  if (!retain_graph)
    for (const auto& n : order)
      if (!n->is_variable()) {
        n->inputs.clear();
        n->outputs.clear();
        n->freed = true;
        n->function.reset();  // a user function's state goes now, not with the last array
      }
  return leaf_grads;
}

}  // namespace

// Post-order DFS over the tape from the heads: inputs before the nodes that consumed them.
std::vector<std::shared_ptr<Node>> topo_order(std::span<const NDArray> heads) {
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> seen;
  std::vector<std::pair<std::shared_ptr<Node>, size_t>> stack;
  for (const NDArray& h : heads) {
    const auto& root = h.ag_entry().node;
    if (!root || !seen.insert(root.get()).second) continue;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next < n->inputs.size()) {
        const auto& child = n->inputs[next++].ag_entry().node;
        if (child && seen.insert(child.get()).second) stack.push_back({child, 0});
      } else {
        order.push_back(n);
        stack.pop_back();
      }
    }
  }
  return order;
}

// The tape is a chain node -> input array -> its entry's node -> ...; releasing the last
// reference to an input's node from here would recurse once per node. Nodes this one holds the
// last reference to are moved onto a local stack and destroyed one at a time instead.
Node::~Node() {
  std::vector<std::shared_ptr<Node>> dying;
  auto release = [&dying](Node& n) {
    for (NDArray& a : n.inputs) {
      std::shared_ptr<Node> in = a.ag_entry().node;
      if (!in) continue;
      a.set_ag_entry({});
      if (in.use_count() == 1) dying.push_back(std::move(in));
    }
    n.inputs.clear();
  };
  release(*this);
  while (!dying.empty()) {
    std::shared_ptr<Node> n = std::move(dying.back());
    dying.pop_back();
    release(*n);
  }  // n goes here, its inputs already moved off
}

const char* Node::label() const { return op ? op->name.c_str() : is_function ? "autograd.Function" : "variable"; }

bool set_recording(bool on) { return std::exchange(t_recording, on); }
bool set_training(bool on) { return std::exchange(t_training, on); }
bool is_recording() { return t_recording; }
bool is_training() { return t_training; }

void mark_variables(std::span<NDArray* const> vars, std::span<const int32_t> reqs, std::span<const NDArray> grads) {
  if (reqs.size() != vars.size() || grads.size() != vars.size())
    fail(MX_ERR_INVALID_ARGUMENT, "mark_variables: ", vars.size(), " variables, ", reqs.size(), " grad_reqs, ",
         grads.size(), " gradient buffers");
  for (size_t i = 0; i < vars.size(); ++i) {
    if (reqs[i] != kNull && reqs[i] != kWrite && reqs[i] != kAdd)
      fail(MX_ERR_INVALID_ARGUMENT, "mark_variables: grad_req ", reqs[i], " of variable ", i,
           " is not null (0), write (1) or add (3)");
    if (reqs[i] != kNull && (grads[i].shape() != vars[i]->shape() || grads[i].dtype() != vars[i]->dtype()))
      fail(MX_ERR_SHAPE_MISMATCH, "mark_variables: gradient buffer ", i, " is ", shape_str(grads[i].shape()),
           " but the variable is ", shape_str(vars[i]->shape()));
    auto leaf = std::make_shared<Node>();
    leaf->grad = grads[i];
    leaf->grad_req = reqs[i];
    leaf->var_id = g_next_var_id.fetch_add(1, std::memory_order_relaxed);
    vars[i]->set_ag_entry(AGEntry{std::move(leaf), 0});
  }
}

namespace {

bool any_on_tape(std::span<const NDArray* const> inputs) {
  for (const NDArray* a : inputs)
    if (a->ag_entry().node) return true;
  return false;
}

// Hangs node between its inputs (kept with their entries) and its outputs: each output array
// points at the node, which keeps an entry-less copy (an entry there would be a cycle).
template <class OutputAt>
void link(const std::shared_ptr<Node>& node, std::span<const NDArray* const> inputs, size_t num_outputs,
          OutputAt output_at) {
  for (const NDArray* a : inputs) {
    node->inputs.push_back(*a);
    node->in_shapes.push_back(a->shape());
  }
  node->num_outputs = num_outputs;
  for (size_t i = 0; i < num_outputs; ++i) {
    NDArray& out = output_at(i);
    NDArray plain = out;
    plain.set_ag_entry({});
    node->outputs.push_back(std::move(plain));
    out.set_ag_entry(AGEntry{node, uint32_t(i)});
  }
}

}  // namespace

void record(const op::OpSchema& op, const op::Attrs& attrs, std::span<const NDArray* const> inputs,
            std::vector<NDArray>& outputs) {
  if (!t_recording || !op.gradient) return;  // optimizer updates and the like are never on the tape
  if (!any_on_tape(inputs)) return;
  for (const NDArray* a : inputs)
    for (const NDArray& o : outputs)
      if (a->ag_entry().node && a->var() == o.var())
        fail(MX_ERR_INVALID_ARGUMENT, op.name,
             ": writing in place into an input is not supported while recording for autograd");
  auto node = std::make_shared<Node>();
  node->op = &op;
  node->attrs = attrs;
  link(node, inputs, outputs.size(), [&](size_t i) -> NDArray& { return outputs[i]; });
}

void record_function(std::span<const NDArray* const> inputs, std::span<NDArray* const> outputs,
                     std::shared_ptr<FunctionHook> hook) {
  for (size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i]->ag_entry().node)  // MXNet's check too: the array would leave the graph it is in
      fail(MX_ERR_INVALID_ARGUMENT, "autograd.Function: output ", i, " ", shape_str(outputs[i]->shape()),
           " is already on the autograd tape (an input returned as it is?); return a new array, e.g. x.copy()");
  if (!t_recording || !any_on_tape(inputs)) return;
  auto node = std::make_shared<Node>();
  node->function = std::move(hook);
  node->is_function = true;
  link(node, inputs, outputs.size(), [&](size_t i) -> NDArray& { return *outputs[i]; });
}

void backward(std::span<const NDArray> heads, std::span<const NDArray> head_grads, bool retain_graph,
              bool create_graph, bool is_train) {
  auto leaf_grads = run_backward(heads, head_grads, retain_graph, create_graph, is_train, true);
  for (auto& [leaf, g] : leaf_grads) {
    if (leaf->grad_req == kNull) continue;
    leaf->fresh_grad = true;
    if (leaf->grad_req == kAdd) {
      std::vector<NDArray> out{leaf->grad};
      const NDArray* in[] = {&leaf->grad, &g};
      const op::OpSchema& add = op::registry().get("elemwise_add");
      invoke(add, op::parse_attrs(add, 0, nullptr, nullptr), in, out);
    } else if (g.var() != leaf->grad.var()) {  // not already computed into it
      copy(g, leaf->grad);
    }
  }
}

std::vector<NDArray> grad(std::span<const NDArray> heads, std::span<const NDArray> head_grads,
                          std::span<const NDArray> vars, bool retain_graph, bool create_graph, bool is_train) {
  auto leaf_grads = run_backward(heads, head_grads, retain_graph, create_graph, is_train);
  std::vector<NDArray> out;
  for (size_t i = 0; i < vars.size(); ++i) {
    Node* leaf = vars[i].ag_entry().node.get();
    if (!leaf || !leaf->is_variable()) fail(MX_ERR_INVALID_ARGUMENT, "grad: variable ", i, " was not marked with mark_variables");
    auto it = leaf_grads.find(leaf);
    if (it != leaf_grads.end()) {
      out.push_back(it->second);
    } else {
      FlagScope flags(false, is_train);
      out.push_back(call("zeros_like", {&vars[i]}));  // the heads do not depend on it
    }
  }
  return out;
}

}  // namespace mx::autograd
