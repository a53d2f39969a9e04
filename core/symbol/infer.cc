#include "symbol/infer.h"

#include <algorithm>

#include "base/dtype.h"
#include "base/error.h"
#include "base/partial_shape.h"

namespace mx::sym {
namespace {

std::string node_desc(const Node& n) { return "node '" + n.name + "' (" + (n.op ? n.op->name : "variable") + ")"; }

std::string entry_desc(const Entry& e) {
  return node_desc(*e.node) + (e.node->is_variable() ? "" : " output " + std::to_string(e.index));
}

// Input k of node `by`, for messages: its name in the op's schema and the entry feeding it.
std::string input_desc(const Node& by, size_t k) {
  const auto& names = by.op->inputs;
  const std::string name = names.empty() ? "data" : names[std::min(k, names.size() - 1)];
  return "input " + std::to_string(k) + " '" + name + "' (" + entry_desc(by.inputs[k]) + ")";
}

// Runs one of node n's op rules, naming the node in any error it throws.
template <typename F>
void as_node(const Node& n, F&& rule) {
  try {
    rule();
  } catch (const Error& e) {
    fail(e.code(), "infer: ", node_desc(n), ": ", e.what());
  }
}

// Calls learn(entry id, entry, value, variable, how) for each value given by name (how "") or by a
// variable's attribute (parsed by parse(variable, text); how names the attribute).
template <typename T, typename Parse, typename Learn>
void seed(const IndexedGraph& g, const std::map<std::string, T>& known, const char* attr_key, Parse parse, Learn learn) {
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& node = *g.nodes[i];
    if (!node.is_variable()) continue;
    const Entry e{g.nodes[i], 0};
    if (auto it = known.find(node.name); it != known.end()) learn(g.first_entry[i], e, it->second, node, "");
    if (auto it = node.attrs.find(attr_key); it != node.attrs.end())
      learn(g.first_entry[i], e, parse(node, it->second), node, std::string(" (") + attr_key + " attribute)");
  }
}

// Fills r from what is known of each entry, in list order; `complete` says whether a value is
// fully known and `show` how to name an incomplete one. Without `partial`, anything not complete
// is an error naming it.
template <typename T, typename Complete, typename Show>
void collect(const IndexedGraph& g, const std::vector<std::optional<T>>& entries, bool partial, const char* what,
             Complete complete, Show show, Inferred<T>& r) {
  auto of = [&](const Node* v) { return entries[g.first_entry[g.position.at(v)]]; };
  auto keep = [&](const std::optional<T>& v) { return complete(v) ? v : std::nullopt; };
  for (const Node* v : g.inputs.arguments) r.partial_arguments.push_back(of(v));
  for (const Node* v : g.inputs.aux) r.partial_aux.push_back(of(v));
  for (uint32_t id : g.output_entries) r.partial_outputs.push_back(entries[id]);
  for (const auto& v : r.partial_arguments) r.arguments.push_back(keep(v));
  for (const auto& v : r.partial_aux) r.aux.push_back(keep(v));
  for (const auto& v : r.partial_outputs) r.outputs.push_back(keep(v));
  for (const auto& v : entries) r.entries.push_back(keep(v));
  std::string missing;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (g.nodes[i]->is_variable() && !complete(entries[g.first_entry[i]]))
      missing += (missing.empty() ? "" : ", ") + show("'" + g.nodes[i]->name + "'", entries[g.first_entry[i]]);
  for (size_t k = 0; k < g.output_entries.size(); ++k)
    if (missing.empty() && !complete(entries[g.output_entries[k]])) {
      const uint32_t id = g.output_entries[k];
      const size_t pos = size_t(std::upper_bound(g.first_entry.begin(), g.first_entry.end(), id) - g.first_entry.begin()) - 1;
      missing = show(entry_desc(Entry{g.nodes[pos], id - g.first_entry[pos]}), entries[id]);
    }
  r.complete = missing.empty();
  if (!partial && !r.complete)
    fail(MX_ERR_SHAPE_MISMATCH, "infer: cannot infer the ", what, " of ", missing, " from what is given");
}

// ---- dtypes: an op's unknown inputs take the dtype of its first known input; forward once all
// inputs are known.

bool learn_type(std::vector<std::optional<int32_t>>& entries, uint32_t id, const Entry& e, int32_t v, const Node& by) {
  std::optional<int32_t>& slot = entries[id];
  if (slot) {
    if (*slot != v)
      fail(MX_ERR_SHAPE_MISMATCH, "infer: ", node_desc(by), " needs ", dtype_info(v).name, " for ", entry_desc(e),
           ", which is ", dtype_info(*slot).name);
    return false;
  }
  slot = v;
  return true;
}

// ---- shapes: partially known (base/partial_shape.h), refined to a fixed point.

class ShapePass {
 public:
  explicit ShapePass(const IndexedGraph& g) : g_(g), entries_(g.num_entries()), done_(g.nodes.size(), 0) {}

  // What entry id learns from node `by` (about its input or output k); a contradiction names
  // the node, the input or output, and both shapes.
  bool learn(uint32_t id, const PartialShape& v, const Node& by, size_t k, bool input) {
    const Merge m = merge(entries_[id], v);
    if (m == Merge::kConflict)
      fail(MX_ERR_SHAPE_MISMATCH, "infer: ", node_desc(by), " needs ", partial_str(v), " for ",
           by.is_variable() ? "it" : input ? "its " + input_desc(by, k) : "its output " + std::to_string(k), ", which is ",
           partial_str(entries_[id]));
    return m == Merge::kChanged;
  }

  // Sweeps forward and backward over the graph, as MXNet's InferShape pass, until nothing more is
  // learned (each change makes some shape strictly more known, so this ends).
  void run() {
    const size_t n = g_.nodes.size();
    for (bool changed = true, forward = true; changed; forward = !forward) {
      changed = false;
      for (size_t j = 0; j < n; ++j) {
        const size_t i = forward ? j : n - 1 - j;
        if (!g_.nodes[i]->is_variable() && !done_[i]) changed |= visit(i);
      }
    }
  }

  const std::vector<PartialShape>& entries() const { return entries_; }

 private:
  void read(size_t i) {
    for (size_t k = 0; k < in_.size(); ++k) in_[k] = entries_[g_.input_entry(i, k)];
    for (size_t k = 0; k < out_.size(); ++k) out_[k] = entries_[g_.first_entry[i] + k];
  }

  bool learn_all(size_t i) {
    const Node& node = *g_.nodes[i];
    bool changed = false;
    for (size_t k = 0; k < in_.size(); ++k) changed |= learn(g_.input_entry(i, k), in_[k], node, k, true);
    for (size_t k = 0; k < out_.size(); ++k) changed |= learn(g_.first_entry[i] + uint32_t(k), out_[k], node, k, false);
    return changed;
  }

  // One node: the op's own inference once its inputs are complete (then the node is done), else
  // each rule that works on partial shapes adds what it knows. Returns whether anything was learned.
  bool visit(size_t i) {
    const Node& node = *g_.nodes[i];
    const op::OpSchema& op = *node.op;
    const op::Attrs& attrs = node.full_params();
    in_.assign(node.inputs.size(), std::nullopt);
    out_.assign(g_.num_outputs(i), std::nullopt);
    read(i);
    bool changed = false;
    if (std::all_of(in_.begin(), in_.end(), [](const PartialShape& s) { return is_complete(s); })) {
      std::vector<Shape> shapes;
      for (const PartialShape& s : in_) shapes.push_back(*s);
      const std::vector<int32_t> dtypes(shapes.size(), MX_FLOAT32);
      const op::InferArgs ia{op, attrs, shapes, dtypes, /*symbolic=*/true};
      std::vector<Shape> outs;
      as_node(node, [&] { op::infer_shape_checked(ia, outs); });
      for (size_t k = 0; k < outs.size() && k < out_.size(); ++k)
        changed |= learn(g_.first_entry[i] + uint32_t(k), outs[k], node, k, false);
      done_[i] = 1;
      return changed;
    }
    if (op.infer_input_shapes) {  // deductions from complete inputs only
      std::vector<PartialShape> view(in_.size());
      for (size_t k = 0; k < in_.size(); ++k)
        if (is_complete(in_[k])) view[k] = in_[k];
      as_node(node, [&] { op.infer_input_shapes(attrs, view); });
      for (size_t k = 0; k < in_.size(); ++k)
        if (view[k] && !is_complete(in_[k])) changed |= learn(g_.input_entry(i, k), view[k], node, k, true);
      read(i);
    }
    if (!op.inplace.empty()) {
      as_node(node, [&] { same_as_inplace_inputs(op); });
      changed |= learn_all(i);
      read(i);
    }
    if (op.infer_shape_partial) {
      as_node(node, [&] { op.infer_shape_partial(op::PartialInferArgs{op, attrs, in_, out_}); });
      changed |= learn_all(i);
    }
    return changed;
  }

  // An in-place pair (input, output) runs the output over the input's memory: one shape for both.
  void same_as_inplace_inputs(const op::OpSchema& op) {
    for (size_t o = 0; o < out_.size(); ++o) {
      PartialShape s = out_[o];
      bool any = false;
      for (const auto& [i, oo] : op.inplace)
        if (oo == o && i < in_.size()) {
          unify(s, in_[i], op.name, "input '" + op.inputs[std::min(i, op.inputs.size() - 1)] + "'",
                "output " + std::to_string(o) + " (computed in place, one shape with it)");
          any = true;
        }
      if (!any) continue;
      out_[o] = s;
      for (const auto& [i, oo] : op.inplace)
        if (oo == o && i < in_.size()) in_[i] = s;
    }
  }

  const IndexedGraph& g_;
  std::vector<PartialShape> entries_;
  std::vector<char> done_;
  std::vector<PartialShape> in_, out_;  // the node being visited
};

}  // namespace

Inferred<Shape> infer_shapes(const IndexedGraph& g, const std::map<std::string, Shape>& known, bool partial) {
  ShapePass pass(g);
  // Shapes entering from outside are checked once here (their known dims), so everything
  // downstream may multiply dims freely.
  auto parse = [](const Node& var, const std::string& text) {
    // MXNet writes unknown dims as 0 (-1 in numpy mode)
    Shape s = parse_shape(text, "variable '" + var.name + "' __shape__");
    for (int64_t& d : s)
      if (d <= 0) d = kUnknownDim;
    return s;
  };
  seed(g, known, "__shape__", parse, [&](uint32_t id, const Entry&, const Shape& s, const Node& var, const std::string& how) {
    check_shape(known_dims(s), "infer: variable '" + var.name + "'" + how);
    pass.learn(id, s, var, 0, false);
  });
  pass.run();
  Inferred<Shape> r;
  collect(g, pass.entries(), partial, "shape", [](const PartialShape& s) { return is_complete(s); },
          [](const std::string& what, const PartialShape& s) {
            return s ? what + " (known so far: " + partial_str(s) + ", 0 marking an unknown dim)" : what;
          },
          r);
  return r;
}

Inferred<int32_t> infer_types(const IndexedGraph& g, const std::map<std::string, int32_t>& known, bool partial) {
  const std::vector<std::shared_ptr<Node>>& order = g.nodes;
  const size_t n = order.size();
  std::vector<std::optional<int32_t>> entries(g.num_entries());
  seed(g, known, "__dtype__", [](const Node&, const std::string& text) { return dtype_from_name(text); },
       [&](uint32_t id, const Entry& e, int32_t t, const Node& var, const std::string&) {
         learn_type(entries, id, e, t, var);
       });

  // Sweeps until a fixed point. A node whose inputs are all known has given all it can (its
  // outputs are recorded, and inputs never change once known): later sweeps skip it.
  std::vector<char> done(n, 0);
  std::vector<std::optional<int32_t>> in;
  std::vector<int32_t> dtypes;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      const Node& node = *order[i];
      if (node.is_variable() || done[i]) continue;
      const size_t num_in = node.inputs.size();
      in.assign(num_in, std::nullopt);
      for (size_t k = 0; k < num_in; ++k) in[k] = entries[g.input_entry(i, k)];
      std::optional<int32_t> first;  // unknown inputs follow the first known one
      for (auto& v : in)
        if (v && !first) first = v;
      for (size_t k = 0; k < num_in; ++k)
        if (first && !in[k]) {
          in[k] = first;
          if (!entries[g.input_entry(i, k)]) changed |= learn_type(entries, g.input_entry(i, k), node.inputs[k], *first, node);
        }
      if (!std::all_of(in.begin(), in.end(), [](const auto& v) { return bool(v); })) continue;
      dtypes.clear();
      for (auto& v : in) dtypes.push_back(*v);
      // dtype inference needs no shapes, but the op's infer_type may look at their count
      const std::vector<Shape> shapes(dtypes.size(), Shape{1});
      const op::InferArgs ia{*node.op, node.full_params(), shapes, dtypes};
      std::vector<int32_t> outs;
      as_node(node, [&] { node.op->infer_type(ia, outs); });
      for (size_t k = 0; k < outs.size() && k < g.num_outputs(i); ++k)
        changed |= learn_type(entries, g.first_entry[i] + uint32_t(k), Entry{order[i], uint32_t(k)}, outs[k], node);
      done[i] = 1;
    }
  }
  Inferred<int32_t> r;
  collect(g, entries, partial, "dtype", [](const std::optional<int32_t>& t) { return bool(t); },
          [](const std::string& what, const std::optional<int32_t>&) { return what; }, r);
  return r;
}

}  // namespace mx::sym
