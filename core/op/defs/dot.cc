#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

// MXNet's dot on N-d arrays: lhs is seen as a matrix whose columns are its last axis (its first
// with transpose_a), rhs as one whose rows are its first axis (its last with transpose_b); the
// output shape is what remains of lhs followed by what remains of rhs.
void dot_shape(const InferArgs& a, std::vector<Shape>& out) {
  const Shape& l = a.in_shapes[0];
  const Shape& r = a.in_shapes[1];
  const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
  if (l.empty() || r.empty())
    fail(MX_ERR_SHAPE_MISMATCH, "dot: inputs must have at least one dimension, got lhs ", shape_str(l), " rhs ",
         shape_str(r));
  const int64_t kl = ta ? l.front() : l.back();
  const int64_t kr = tb ? r.back() : r.front();
  if (kl != kr)
    fail(MX_ERR_SHAPE_MISMATCH, "dot: reduction dimensions differ: lhs ", shape_str(l), (ta ? " (transposed)" : ""),
         " has ", kl, ", rhs ", shape_str(r), (tb ? " (transposed)" : ""), " has ", kr);
  Shape o;
  if (ta) o.append(l.begin() + 1, l.end());
  else o.append(l.begin(), l.end() - 1);
  if (tb) o.append(r.begin(), r.end() - 1);
  else o.append(r.begin() + 1, r.end());
  if (o.empty()) o = {1};  // vector . vector
  out = {o};
}

void dot_type(const InferArgs& a, std::vector<int32_t>& out) {
  if (a.in_dtypes[0] != a.in_dtypes[1])
    fail(MX_ERR_SHAPE_MISMATCH, "dot: dtypes of lhs (", dtype_info(a.in_dtypes[0]).name, ") and rhs (",
         dtype_info(a.in_dtypes[1]).name, ") differ");
  out = {a.in_dtypes[0]};
}

// C = op(A) op(B): each input's gradient is again a dot, with the transposes rearranged. N-d
// inputs take the 2-d route through their matrix views (the flattening of dot_shape).
std::vector<GradValue> dot_grad(const GradArgs& a) {
  Grad d{a.g};
  const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
  const Shape& ls = a.in_shapes[0];
  const Shape& rs = a.in_shapes[1];
  const bool plain = ls.size() == 2 && rs.size() == 2;
  auto matrix = [](const Shape& s, bool reduced_first) {  // the 2-d view dot uses
    // The other dims' product, exact even when k is 0 (a zero-size input has gradients too).
    const int64_t k = reduced_first ? s.front() : s.back();
    const int64_t n = reduced_first ? dims_product(s, 1, s.size(), "dot") : dims_product(s, 0, s.size() - 1, "dot");
    return reduced_first ? Shape{k, n} : Shape{n, k};
  };
  auto reshape = [&](GradValue v, const Shape& s) { return d.op("Reshape", {v}, {{"shape", shape_str(s)}}); };
  const Shape lm = matrix(ls, ta), rm = matrix(rs, !tb);
  const GradValue A = plain ? a.inputs[0] : reshape(a.inputs[0], lm);
  const GradValue B = plain ? a.inputs[1] : reshape(a.inputs[1], rm);
  const GradValue og = plain ? a.out_grads[0] : reshape(a.out_grads[0], Shape{ta ? lm[1] : lm[0], tb ? rm[0] : rm[1]});
  auto dot = [&](GradValue x, GradValue y, bool tx, bool ty) {
    return d.op("dot", {x, y}, {{"transpose_a", tx ? "True" : "False"}, {"transpose_b", ty ? "True" : "False"}});
  };
  std::vector<GradValue> g;
  if (!ta && !tb) g = {dot(og, B, false, true), dot(A, og, true, false)};
  else if (ta && !tb) g = {dot(B, og, false, true), dot(A, og, false, false)};
  else if (!ta && tb) g = {dot(og, B, false, false), dot(og, A, true, false)};
  else g = {dot(B, og, true, true), dot(og, A, true, true)};
  if (!plain) g = {reshape(g[0], ls), reshape(g[1], rs)};
  return g;
}

}  // namespace

void register_dot(Registry& r) {
  OpSchema s;
  s.name = "dot";
  s.doc = "Matrix product of lhs and rhs (BLAS GEMM); N-d inputs are flattened as in MXNet.";
  s.inputs = {"lhs", "rhs"};
  s.params = {param_bool("transpose_a", "False", "use the transpose of lhs"),
              param_bool("transpose_b", "False", "use the transpose of rhs"),
              {"forward_stype", ParamType::kEnum, "None", false, -1e308, 1e308, {"None", "default"},
               "storage type of the output (only dense is supported)"}};
  s.dtypes = {MX_FLOAT32, MX_FLOAT64};
  s.infer_shape = dot_shape;
  s.infer_type = dot_type;
  s.gradient = dot_grad;
  r.add(std::move(s));
}

}  // namespace mx::op
