// The lookup family: _ravel_multi_index / _unravel_index, batch_take, fill_element_0index,
// _onehot_encode, _histogram, moments (MXNet 1.9's index arithmetic, legacy row ops and
// statistics). choose_element_0index is pick's alias (core/op/defs/indexing.cc), as in MXNet.
// fill_element_0index's gradient is itself and pick; moments' is a graph of broadcast ops.
#include <cmath>
#include <cstdlib>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

Shape index_shape(const std::string& op, const Attrs& a) {
  const Shape s = a.shape("shape");
  if (s.empty()) fail(MX_ERR_INVALID_ARGUMENT, op, ": shape must not be empty");
  return s;
}

void register_ravel(Registry& r) {
  OpSchema s;
  s.name = "_ravel_multi_index";
  s.aliases = {"ravel_multi_index"};
  s.doc = "Flat indices into an array of `shape` from a (len(shape), N) array of coordinates (row-major).";
  s.inputs = {"data"};
  const std::vector<ParamSpec> params = {
      param_required(with_range(param_shape("shape", "", "shape of the indexed array"), 1, 9.2e18))};
  s.params = params;
  s.dtypes = numeric_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const Shape s = index_shape("_ravel_multi_index", a.attrs);
    if (d.size() != 2 || d[0] != int64_t(s.size()))
      fail(MX_ERR_SHAPE_MISMATCH, "_ravel_multi_index: data ", shape_str(d), " must be (", s.size(), ", N) for shape ",
           shape_str(s));
    out = {Shape{d[1]}};
  };
  s.infer_type = first_type;
  s.gradient = no_gradient;
  r.add(std::move(s));

  OpSchema u;
  u.name = "_unravel_index";
  u.aliases = {"unravel_index"};
  u.doc = "Coordinates (len(shape), N) in an array of `shape` of N flat indices (row-major).";
  u.inputs = {"data"};
  u.params = params;
  u.dtypes = numeric_dtypes();
  u.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    const Shape& d = a.in_shapes[0];
    const Shape s = index_shape("_unravel_index", a.attrs);
    if (d.size() != 1) fail(MX_ERR_SHAPE_MISMATCH, "_unravel_index: data must be 1-d, got ", shape_str(d));
    out = {Shape{int64_t(s.size()), d[0]}};
  };
  u.infer_type = first_type;
  u.gradient = no_gradient;
  r.add(std::move(u));
}

// Row length M of batch_take's data (..., M), checked against the indices.
void register_rows(Registry& r) {
  {
    OpSchema s;
    s.name = "batch_take";
    s.doc = "out[i] = a[i, indices[i]] over the rows of `a` (its last axis; indices clipped into the row).";
    s.inputs = {"a", "indices"};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape &d = a.in_shapes[0], &idx = a.in_shapes[1];
      if (d.size() < 2) fail(MX_ERR_SHAPE_MISMATCH, "batch_take: a must have at least 2 dims, got ", shape_str(d));
      if (d.back() == 0 || shape_size(d) / d.back() != shape_size(idx))
        fail(MX_ERR_SHAPE_MISMATCH, "batch_take: indices ", shape_str(idx), " must have one entry per row of a ",
             shape_str(d));
      out = {idx};
    };
    s.infer_type = first_type;
    s.gradient = no_gradient;  // MXNet registers none
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "fill_element_0index";
    s.doc = "lhs (N, M) with out[i, rhs[i]] = mhs[i] (rhs clipped into the row).";
    s.inputs = {"lhs", "mhs", "rhs"};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape &l = a.in_shapes[0], &m = a.in_shapes[1], &i = a.in_shapes[2];
      if (l.size() != 2 || m != Shape{l[0]} || i != Shape{l[0]})
        fail(MX_ERR_SHAPE_MISMATCH, "fill_element_0index: lhs ", shape_str(l), ", mhs ", shape_str(m), " and rhs ",
             shape_str(i), " must be (N, M), (N,) and (N,)");
      out = {l};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      if (a.in_dtypes[1] != a.in_dtypes[0])
        fail(MX_ERR_SHAPE_MISMATCH, "fill_element_0index: mhs is ", dtype_info(a.in_dtypes[1]).name, " but lhs is ",
             dtype_info(a.in_dtypes[0]).name);
      out = {a.in_dtypes[0]};
    };
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const GradValue og = a.out_grads[0];
      // lhs: everywhere but the filled positions; mhs: exactly those.
      const GradValue dl = d.op("fill_element_0index", {og, d.op("zeros_like", {a.inputs[1]}), a.inputs[2]});
      const GradValue dm = d.op("pick", {og, a.inputs[2]}, {{"axis", "1"}});
      return std::vector<GradValue>{dl, dm, kNoGrad};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_onehot_encode";
    s.aliases = {"onehot_encode"};
    s.doc = "One-hot rows (N, K) shaped like `out` from indices (N,) (legacy; K from out's shape).";
    s.inputs = {"lhs", "rhs"};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape &i = a.in_shapes[0], &o = a.in_shapes[1];
      if (o.size() != 2 || i != Shape{o[0]})
        fail(MX_ERR_SHAPE_MISMATCH, "_onehot_encode: indices ", shape_str(i), " and out ", shape_str(o),
             " must be (N,) and (N, K)");
      out = {o};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[1]}; };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
}

// histogram's `range`: "None" or "(lo, hi)" with lo <= hi, both finite.
bool histogram_range(const Attrs& a, double& lo, double& hi) {
  const std::string& s = a.str("range");
  if (s == "None") return false;
  const char* p = s.c_str();
  while (*p == '(' || *p == '[' || *p == ' ') ++p;
  char* end = nullptr;
  lo = std::strtod(p, &end);
  bool ok = end != p;
  p = end;
  while (ok && (*p == ',' || *p == ' ')) ++p;
  hi = std::strtod(p, &end);
  ok = ok && end != p;
  for (p = end; ok && *p; ++p) ok = *p == ')' || *p == ']' || *p == ' ' || *p == ',';
  if (!ok || !std::isfinite(lo) || !std::isfinite(hi) || lo > hi)
    fail(MX_ERR_INVALID_ARGUMENT, "_histogram: range ", s, " must be (lo, hi) with finite lo <= hi");
  return true;
}

void register_histogram(Registry& r) {
  OpSchema s;
  s.name = "_histogram";
  s.aliases = {"histogram"};
  s.doc = "Counts of data in bin_cnt equal bins over range, or in the bins given by the edges `bins`; also returns the "
          "edges.";
  s.inputs = {"data", "bins"};
  s.num_outputs = 2;
  s.params = {param_axes("bin_cnt", "None", "number of equal bins (with range), or None to use the bins input"),
              param_string("range", "None", "(lo, hi) of the equal bins; values outside are not counted")};
  s.dtypes = numeric_dtypes();
  s.num_inputs = [](const Attrs& a) { return size_t(a.is_none("bin_cnt") ? 2 : 1); };
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    double lo, hi;
    const bool has_range = histogram_range(a.attrs, lo, hi), has_cnt = !a.attrs.is_none("bin_cnt");
    if (has_range != has_cnt) fail(MX_ERR_INVALID_ARGUMENT, "_histogram: give bin_cnt and range together, or neither");
    if (has_cnt) {
      const Shape c = a.attrs.shape("bin_cnt");
      if (c.size() != 1 || c[0] < 1 || c[0] > kMaxExtent)
        fail(MX_ERR_INVALID_ARGUMENT, "_histogram: bin_cnt ", a.attrs.str("bin_cnt"), " must be one positive int");
      out = {Shape{c[0]}, Shape{c[0] + 1}};
      return;
    }
    const Shape& b = a.in_shapes[1];
    if (b.size() != 1 || b[0] < 2)
      fail(MX_ERR_SHAPE_MISMATCH, "_histogram: bins must be a 1-d array of at least 2 edges, got ", shape_str(b));
    out = {Shape{b[0] - 1}, b};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    if (a.in_dtypes.size() > 1 && a.in_dtypes[1] != a.in_dtypes[0])
      fail(MX_ERR_SHAPE_MISMATCH, "_histogram: bins is ", dtype_info(a.in_dtypes[1]).name, " but data is ",
           dtype_info(a.in_dtypes[0]).name);
    out = {MX_INT64, a.in_dtypes[0]};
  };
  s.gradient = no_gradient;
  r.add(std::move(s));
}

void register_moments(Registry& r) {
  OpSchema s;
  s.name = "moments";
  s.doc = "Mean and (population) variance of data over `axes` (None: all).";
  s.inputs = {"data"};
  s.num_outputs = 2;
  s.params = {param_axes("axes", "None", "axes to reduce (None: all; negative counts from the end)"),
              param_bool("keepdims", "False", "keep the reduced axes as 1")};
  s.dtypes = float_dtypes();
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    Attrs as_axis;  // reduced_axes reads `axis` / `exclude`
    as_axis.kv = {{"axis", a.attrs.str("axes")}, {"exclude", "False"}};
    const Shape o = reduce_shape(a.in_shapes[0], reduced_axes("moments", a.in_shapes[0], as_axis), a.attrs.b("keepdims"));
    out = {o, o};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0], a.in_dtypes[0]}; };
  // d/dx = dmean / n + dvar * 2 (x - mean) / n, with mean and the gradients at keepdims shape.
  s.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const Shape& x = a.in_shapes[0];
    Attrs as_axis;
    as_axis.kv = {{"axis", a.attrs.str("axes")}, {"exclude", "False"}};
    const auto mask = reduced_axes("moments", x, as_axis);
    const Shape kept = reduce_shape(x, mask, true);
    const double n = double(shape_size(x)) / double(shape_size(kept));
    const GradValue mean = d.op("mean", {a.inputs[0]}, {{"axis", a.attrs.str("axes")}, {"keepdims", "True"}});
    const GradValue gm = reshape_to(d, a.out_grads[0], kept),
                    gv = reshape_to(d, a.out_grads[1], kept);
    const GradValue centred = d.op("broadcast_sub", {a.inputs[0], mean});
    const GradValue from_var = d.op("broadcast_mul", {centred, d.scalar("_mul_scalar", gv, 2 / n)});
    return std::vector<GradValue>{d.op("broadcast_add", {from_var, d.scalar("_mul_scalar", gm, 1 / n)})};
  };
  r.add(std::move(s));
}

}  // namespace

void register_lookup(Registry& r) {
  register_ravel(r);
  register_rows(r);
  register_histogram(r);
  register_moments(r);
}

}  // namespace mx::op
