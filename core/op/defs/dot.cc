// The GEMM family: dot, batch_dot, FullyConnected.
#include <algorithm>

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

int64_t fc_k(const Shape& data, bool flatten) {
  if (!flatten) return data.back();
  return dims_product(data, 1, data.size(), "FullyConnected: flattened data");
}

// FullyConnected on partial shapes (MXNet's FullyConnectedShape): bias (h,) always; once data's
// rank is known, weight (h, K) with K from data's last dims where they are known, the output from
// data's batch (flatten) or leading dims, and back into data: its batch or leading dims from the
// output, K from a known weight (the one unknown dim of the flattened ones).
void fc_partial(const PartialInferArgs& a) {
  const char* op = "FullyConnected";
  const int64_t h = a.attrs.i("num_hidden");
  const bool flatten = a.attrs.b("flatten");
  if (a.in.size() > 2) unify(a.in[2], PartialShape(Shape{h}), op, "the bias that num_hidden=" + std::to_string(h) + " needs", "the bias");
  if (!a.in[0]) return;
  Shape d = *a.in[0];
  if (d.empty()) fail(MX_ERR_SHAPE_MISMATCH, op, ": data must have at least one dimension");
  const size_t first = flatten ? 1 : d.size() - 1;  // K = prod(d[first:]), 1 for 1-d data with flatten
  auto unknown_in_k = [&] {
    return size_t(std::count(d.begin() + ptrdiff_t(first), d.end(), kUnknownDim));
  };
  // back from the output: the batch (flatten) or every dim but the last
  if (const PartialShape& o = a.out[0]; o && o->size() == (flatten ? 2 : d.size())) {
    Shape from = d;
    for (size_t i = 0; i < (flatten ? 1 : d.size() - 1); ++i) from[i] = (*o)[i];
    PartialShape dd = d;
    unify(dd, PartialShape(from), op, "the data that output " + partial_str(o) + " needs", "the data");
    d = *dd;
  }
  // back from the weight: K, when one flattened dim is unknown
  if (const PartialShape& w = a.in[1]; w && w->size() == 2 && (*w)[1] != kUnknownDim && unknown_in_k() == 1) {
    int64_t rest = 1;
    size_t at = first;
    for (size_t i = first; i < d.size(); ++i)
      if (d[i] == kUnknownDim) at = i;
      else rest = checked_mul(rest, d[i], op);
    if (rest == 0 || (*w)[1] % rest != 0)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": weight ", partial_str(w), " does not fit data ", partial_str(Shape(d)));
    d[at] = (*w)[1] / rest;
  }
  a.in[0] = d;
  const int64_t k = unknown_in_k() ? kUnknownDim : (flatten ? dims_product(d, first, d.size(), op) : d.back());
  unify(a.in[1], PartialShape(Shape{h, k}), op,
        "the weight that data " + partial_str(Shape(d)) + " with num_hidden=" + std::to_string(h) + " needs", "the weight");
  Shape o;
  if (flatten) o = {d[0], h};
  else {
    o = Shape(d.begin(), d.end() - 1);
    o.push_back(h);
  }
  unify(a.out[0], PartialShape(o), op, "the output of data " + partial_str(Shape(d)), "the output");
}

void register_fc(Registry& r) {
  OpSchema s;
  s.name = "FullyConnected";
  s.doc = "out = data . weight^T + bias, data flattened to 2-d (flatten=True) or over its last axis.";
  s.inputs = {"data", "weight", "bias"};
  s.params = {param_required(with_range(param_int("num_hidden", "", "number of output units"), 1, double(kMaxExtent))),
              param_bool("no_bias", "False", "no bias input"),
              param_bool("flatten", "True", "flatten all but the first axis of data")};
  s.num_inputs = [](const Attrs& a) -> size_t { return a.b("no_bias") ? 2 : 3; };
  s.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  s.infer_shape_partial = fc_partial;
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    if (d.empty()) fail(MX_ERR_SHAPE_MISMATCH, "FullyConnected: data must have at least one dimension");
    const bool flatten = a.attrs.b("flatten");
    const int64_t h = a.attrs.i("num_hidden"), k = fc_k(d, flatten);
    if (a.in_shapes[1] != Shape{h, k})
      fail(MX_ERR_SHAPE_MISMATCH, "FullyConnected: weight is ", shape_str(a.in_shapes[1]), " but data ", shape_str(d),
           " with num_hidden=", h, " needs ", shape_str(Shape{h, k}));
    if (a.in_shapes.size() > 2 && a.in_shapes[2] != Shape{h})
      fail(MX_ERR_SHAPE_MISMATCH, "FullyConnected: bias is ", shape_str(a.in_shapes[2]), ", expected ", shape_str(Shape{h}));
    Shape o;
    if (flatten) o = {d[0], h};
    else {
      o = Shape(d.begin(), d.end() - 1);
      o.push_back(h);
    }
    out = {o};
  };
  s.infer_type = same_dtype;
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const bool flatten = a.attrs.b("flatten");
    const int64_t h = a.attrs.i("num_hidden"), k = fc_k(a.in_shapes[0], flatten);
    const GradValue x2 = d.op("Reshape", {a.inputs[0]}, {{"shape", shape_str(Shape{-1, k})}});
    const GradValue og2 = d.op("Reshape", {a.out_grads[0]}, {{"shape", shape_str(Shape{-1, h})}});
    std::vector<GradValue> g = {
        d.op("Reshape", {d.op("dot", {og2, a.inputs[1]})}, {{"shape", shape_str(a.in_shapes[0])}}),
        d.op("dot", {og2, x2}, {{"transpose_a", "True"}})};
    if (a.inputs.size() > 2) g.push_back(d.op("sum", {og2}, {{"axis", "(0,)"}}));
    return g;
  };
  r.add(std::move(s));
}

}  // namespace

void register_dot(Registry& r) {
  register_fc(r);
  OpSchema s;
  s.name = "dot";
  s.doc = "Matrix product of lhs and rhs (BLAS GEMM); N-d inputs are flattened as in MXNet.";
  s.inputs = {"lhs", "rhs"};
  s.params = {param_bool("transpose_a", "False", "use the transpose of lhs"),
              param_bool("transpose_b", "False", "use the transpose of rhs"),
              {"forward_stype", ParamType::kEnum, "None", false, -1e308, 1e308, {"None", "default"},
               "storage type of the output (only dense is supported)"}};
  s.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
  s.infer_shape = dot_shape;
  s.infer_type = dot_type;
  s.gradient = dot_grad;
  r.add(std::move(s));
  {
    OpSchema s;
    s.name = "batch_dot";
    s.doc = "Matrix products of matching batches: (B, M, K) . (B, K, N) -> (B, M, N).";
    s.inputs = {"lhs", "rhs"};
    s.params = {param_bool("transpose_a", "False", "use each lhs matrix transposed"),
                param_bool("transpose_b", "False", "use each rhs matrix transposed"),
                {"forward_stype", ParamType::kEnum, "None", false, -1e308, 1e308, {"None", "default"}, "dense only"}};
    s.dtypes = {MX_FLOAT32, MX_FLOAT64, MX_FLOAT16, MX_BFLOAT16};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& l = a.in_shapes[0];
      const Shape& r2 = a.in_shapes[1];
      const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
      if (l.size() != 3 || r2.size() != 3 || l[0] != r2[0] || (ta ? l[1] : l[2]) != (tb ? r2[2] : r2[1]))
        fail(MX_ERR_SHAPE_MISMATCH, "batch_dot: cannot multiply ", shape_str(l), (ta ? "^T" : ""), " by ", shape_str(r2),
             (tb ? "^T" : ""), " (expected (B, M, K) and (B, K, N))");
      out = {Shape{l[0], ta ? l[2] : l[1], tb ? r2[1] : r2[2]}};
    };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const bool ta = a.attrs.b("transpose_a"), tb = a.attrs.b("transpose_b");
      const GradValue A = a.inputs[0], B = a.inputs[1], og = a.out_grads[0];
      auto bd = [&](GradValue x, GradValue y, bool tx, bool ty) {
        return d.op("batch_dot", {x, y}, {{"transpose_a", tx ? "True" : "False"}, {"transpose_b", ty ? "True" : "False"}});
      };
      if (!ta && !tb) return std::vector<GradValue>{bd(og, B, false, true), bd(A, og, true, false)};
      if (ta && !tb) return std::vector<GradValue>{bd(B, og, false, true), bd(A, og, false, false)};
      if (!ta && tb) return std::vector<GradValue>{bd(og, B, false, false), bd(og, A, true, false)};
      return std::vector<GradValue>{bd(B, og, true, true), bd(og, A, true, true)};
    };
    r.add(std::move(s));
  }
}

}  // namespace mx::op
