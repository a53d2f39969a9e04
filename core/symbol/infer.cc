#include "symbol/infer.h"

#include <unordered_map>

#include "base/dtype.h"
#include "base/error.h"

namespace mx::sym {
namespace {

std::string node_desc(const Node& n) { return "node '" + n.name + "' (" + (n.op ? n.op->name : "variable") + ")"; }

// Per node, per output: what is known so far.
template <typename T>
using Table = std::unordered_map<const Node*, std::vector<std::optional<T>>>;

template <typename T>
std::string show(const T& v) {
  if constexpr (std::is_same_v<T, Shape>) return shape_str(v);
  else return dtype_info(v).name;
}

// Records a value for an entry; a different value already there is a contradiction.
template <typename T>
bool learn(Table<T>& t, const Entry& e, const T& v, const Node& by) {
  auto& slot = t[e.node.get()];
  if (slot.size() <= e.index) slot.resize(e.index + 1);
  if (slot[e.index]) {
    if (*slot[e.index] != v)
      fail(MX_ERR_SHAPE_MISMATCH, "infer: ", node_desc(by), " needs ", show(v), " for ", node_desc(*e.node),
           (e.node->is_variable() ? "" : " output " + std::to_string(e.index)), ", which is ", show(*slot[e.index]));
    return false;
  }
  slot[e.index] = v;
  return true;
}

template <typename T>
std::optional<T> lookup(const Table<T>& t, const Entry& e) {
  auto it = t.find(e.node.get());
  if (it == t.end() || it->second.size() <= e.index) return std::nullopt;
  return it->second[e.index];
}

// The op's own inference on complete inputs, with the node named in any error.
template <typename T>
std::vector<T> run_op(const Node& n, const op::Attrs& attrs, const std::vector<Shape>& shapes,
                      const std::vector<int32_t>& dtypes) {
  op::InferArgs ia{*n.op, attrs, shapes, dtypes};
  std::vector<T> out;
  try {
    if constexpr (std::is_same_v<T, Shape>) n.op->infer_shape(ia, out);
    else n.op->infer_type(ia, out);
  } catch (const Error& e) {
    fail(e.code(), "infer: ", node_desc(n), ": ", e.what());
  }
  return out;
}

template <typename T>
Inferred<T> infer(const Symbol& s, const std::map<std::string, T>& known, bool partial, const char* attr_key) {
  const auto order = s.topo_order();
  Table<T> t;
  // Seeds: given values, then variables' attributes.
  for (const auto& n : order) {
    if (!n->is_variable()) continue;
    const Entry e{n, 0};
    if (auto it = known.find(n->name); it != known.end()) learn(t, e, it->second, *n);
    if (auto it = n->attrs.find(attr_key); it != n->attrs.end()) {
      if constexpr (std::is_same_v<T, Shape>) {
        const Shape v = parse_shape(it->second, "variable '" + n->name + "' __shape__");
        bool any_zero = false;  // MXNet writes unknown dims as 0: treat the shape as unknown
        for (int64_t d : v) any_zero |= d == 0;
        if (!any_zero) learn(t, e, v, *n);
      } else {
        learn(t, e, dtype_from_name(it->second), *n);
      }
    }
  }
  // Sweeps until a fixed point.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& np : order) {
      const Node& n = *np;
      if (n.is_variable()) continue;
      const op::Attrs attrs = n.full_params();
      std::vector<std::optional<T>> in;
      for (const Entry& e : n.inputs) in.push_back(lookup(t, e));
      // fill unknown inputs from the known ones
      if constexpr (std::is_same_v<T, Shape>) {
        if (n.op->infer_input_shapes) {
          try {
            n.op->infer_input_shapes(attrs, in);
          } catch (const Error& e) {
            fail(e.code(), "infer: ", node_desc(n), ": ", e.what());
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
      for (size_t i = 0; i < in.size(); ++i)
        if (in[i] && !lookup(t, n.inputs[i])) changed |= learn(t, n.inputs[i], *in[i], n);
      // forward once every input is known
      bool all = true;
      for (auto& v : in) all &= bool(v);
      if (!all) continue;
      std::vector<Shape> shapes;
      std::vector<int32_t> dtypes;
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
      const std::vector<T> outs = run_op<T>(n, attrs, shapes, dtypes);
      for (size_t k = 0; k < outs.size(); ++k) changed |= learn(t, Entry{np, uint32_t(k)}, outs[k], n);
    }
  }
  // Results in list order.
  Inferred<T> r;
  std::unordered_map<std::string, std::optional<T>> by_name;
  for (const auto& n : order)
    if (n->is_variable()) by_name[n->name] = lookup(t, Entry{n, 0});
  for (const auto& name : s.list_arguments()) r.arguments.push_back(by_name[name]);
  for (const auto& name : s.list_auxiliary_states()) r.aux.push_back(by_name[name]);
  for (const Entry& e : s.outputs) r.outputs.push_back(lookup(t, e));
  r.complete = true;
  std::string missing;
  for (const auto& n : order)
    if (n->is_variable() && !lookup(t, Entry{n, 0})) {
      r.complete = false;
      missing += (missing.empty() ? "" : ", ") + n->name;
    }
  for (auto& o : r.outputs) r.complete &= bool(o);
  r.entries = std::move(t);
  if (!partial && !r.complete)
    fail(MX_ERR_SHAPE_MISMATCH, "infer: cannot infer the ", std::is_same_v<T, Shape> ? "shape" : "dtype", " of ",
         missing.empty() ? std::string("some outputs") : missing, " from what is given");
  return r;
}

}  // namespace

Inferred<Shape> infer_shapes(const Symbol& s, const std::map<std::string, Shape>& known, bool partial) {
  return infer<Shape>(s, known, partial, "__shape__");
}

Inferred<int32_t> infer_types(const Symbol& s, const std::map<std::string, int32_t>& known, bool partial) {
  return infer<int32_t>(s, known, partial, "__dtype__");
}

}  // namespace mx::sym
