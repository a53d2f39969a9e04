#include "symbol/infer.h"

#include "base/dtype.h"
#include "base/error.h"

namespace mx::sym {
namespace {

std::string node_desc(const Node& n) { return "node '" + n.name + "' (" + (n.op ? n.op->name : "variable") + ")"; }

template <typename T>
std::string show(const T& v) {
  if constexpr (std::is_same_v<T, Shape>) return shape_str(v);
  else return dtype_info(v).name;
}

// Records a value for entry `id` (entry e of the graph); a different value already there is a
// contradiction. Returns whether something was learned.
template <typename T>
bool learn(Inferred<T>& r, uint32_t id, const Entry& e, const T& v, const Node& by) {
  std::optional<T>& slot = r.entries[id];
  if (slot) {
    if (*slot != v)
      fail(MX_ERR_SHAPE_MISMATCH, "infer: ", node_desc(by), " needs ", show(v), " for ", node_desc(*e.node),
           (e.node->is_variable() ? "" : " output " + std::to_string(e.index)), ", which is ", show(*slot));
    return false;
  }
  slot = v;
  return true;
}

// The op's own inference on complete inputs, with the node named in any error.
template <typename T>
std::vector<T> run_op(const Node& n, const op::Attrs& attrs, const std::vector<Shape>& shapes,
                      const std::vector<int32_t>& dtypes) {
  op::InferArgs ia{*n.op, attrs, shapes, dtypes};
  std::vector<T> out;
  try {
    if constexpr (std::is_same_v<T, Shape>) op::infer_shape_checked(ia, out);
    else n.op->infer_type(ia, out);
  } catch (const Error& e) {
    fail(e.code(), "infer: ", node_desc(n), ": ", e.what());
  }
  return out;
}

// A shape entering from outside (given by name or a __shape__ attribute), checked once here so
// everything downstream may multiply its dims freely.
Shape entering_shape(const Shape& s, const Node& var, const char* how) {
  check_shape(s, "infer: variable '" + var.name + "'" + how);
  return s;
}

template <typename T>
Inferred<T> infer(const IndexedGraph& g, const std::map<std::string, T>& known, bool partial, const char* attr_key) {
  Inferred<T> r;
  const std::vector<std::shared_ptr<Node>>& order = g.nodes;
  const size_t n = order.size();
  r.entries.assign(g.num_entries(), std::nullopt);

  // Seeds: given values, then variables' attributes.
  for (size_t i = 0; i < n; ++i) {
    const Node& node = *order[i];
    if (!node.is_variable()) continue;
    const Entry e{order[i], 0};
    const uint32_t id = g.first_entry[i];
    if (auto it = known.find(node.name); it != known.end()) {
      if constexpr (std::is_same_v<T, Shape>) learn(r, id, e, entering_shape(it->second, node, ""), node);
      else learn(r, id, e, it->second, node);
    }
    if (auto it = node.attrs.find(attr_key); it != node.attrs.end()) {
      if constexpr (std::is_same_v<T, Shape>) {
        const Shape v = parse_shape(it->second, "variable '" + node.name + "' __shape__");
        bool unknown = false;  // MXNet writes unknown dims as 0 (-1 in numpy mode): the shape is unknown
        for (int64_t d : v) unknown |= d <= 0;
        if (!unknown) learn(r, id, e, entering_shape(v, node, " (__shape__ attribute)"), node);
      } else {
        learn(r, id, e, dtype_from_name(it->second), node);
      }
    }
  }

  // Sweeps until a fixed point. A node whose inputs are all known has given all it can (its
  // outputs are recorded, and inputs never change once known): later sweeps skip it.
  std::vector<char> done(n, 0);
  std::vector<std::optional<T>> in;
  std::vector<Shape> shapes;
  std::vector<int32_t> dtypes;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; ++i) {
      const Node& node = *order[i];
      if (node.is_variable() || done[i]) continue;
      const size_t num_in = node.inputs.size();
      in.assign(num_in, std::nullopt);
      for (size_t k = 0; k < num_in; ++k) in[k] = r.entries[g.input_entry(i, k)];
      // fill unknown inputs from the known ones
      if constexpr (std::is_same_v<T, Shape>) {
        if (node.op->infer_input_shapes) {
          try {
            node.op->infer_input_shapes(node.full_params(), in);
          } catch (const Error& e) {
            fail(e.code(), "infer: ", node_desc(node), ": ", e.what());
          }
        }
      } else {
        std::optional<T> first;
        for (auto& v : in)
          if (v && !first) first = v;
        if (first)
          for (auto& v : in)
            if (!v) v = first;
      }
      for (size_t k = 0; k < num_in; ++k) {
        const uint32_t id = g.input_entry(i, k);
        if (in[k] && !r.entries[id]) changed |= learn(r, id, node.inputs[k], *in[k], node);
      }
      // forward once every input is known
      bool all = true;
      for (auto& v : in) all &= bool(v);
      if (!all) continue;
      shapes.clear();
      dtypes.clear();
      for (auto& v : in) {
        if constexpr (std::is_same_v<T, Shape>) {
          shapes.push_back(*v);
          dtypes.push_back(MX_FLOAT32);
        } else {
          dtypes.push_back(*v);
        }
      }
      if constexpr (!std::is_same_v<T, Shape>) {
        // dtype inference needs no shapes, but the op's infer_type may look at their count
        shapes.assign(dtypes.size(), Shape{1});
      }
      const std::vector<T> outs = run_op<T>(node, node.full_params(), shapes, dtypes);
      for (size_t k = 0; k < outs.size() && k < g.num_outputs(i); ++k)
        changed |= learn(r, g.first_entry[i] + uint32_t(k), Entry{order[i], uint32_t(k)}, outs[k], node);
      done[i] = 1;
    }
  }

  // Results in list order.
  auto of = [&](const Node* v) { return r.entries[g.first_entry[g.position.at(v)]]; };
  for (const Node* v : g.inputs.arguments) r.arguments.push_back(of(v));
  for (const Node* v : g.inputs.aux) r.aux.push_back(of(v));
  for (uint32_t id : g.output_entries) r.outputs.push_back(r.entries[id]);
  r.complete = true;
  std::string missing;
  for (size_t i = 0; i < n; ++i)
    if (order[i]->is_variable() && !r.entries[g.first_entry[i]]) {
      r.complete = false;
      missing += (missing.empty() ? "" : ", ") + order[i]->name;
    }
  for (auto& o : r.outputs) r.complete &= bool(o);
  if (!partial && !r.complete)
    fail(MX_ERR_SHAPE_MISMATCH, "infer: cannot infer the ", std::is_same_v<T, Shape> ? "shape" : "dtype", " of ",
         missing.empty() ? std::string("some outputs") : missing, " from what is given");
  return r;
}

}  // namespace

Inferred<Shape> infer_shapes(const IndexedGraph& g, const std::map<std::string, Shape>& known, bool partial) {
  return infer<Shape>(g, known, partial, "__shape__");
}

Inferred<int32_t> infer_types(const IndexedGraph& g, const std::map<std::string, int32_t>& known, bool partial) {
  return infer<int32_t>(g, known, partial, "__dtype__");
}

}  // namespace mx::sym
