// The contrib family (MXNet's _contrib_* ops): index_copy, index_array, div_sqrt_dim, quadratic,
// the interleaved multi-head attention products (interleaved_matmul_selfatt_qk / _valatt,
// interleaved_matmul_encdec_qk / _valatt, each with a gradient-only _backward_ op), and
// boolean_mask, whose output size depends on the index's values (see below).
#include <cmath>
#include <string>

#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

ParamSpec heads_param() {
  return param_required(with_range(param_int("heads", "", "number of attention heads"), 1, double(kMaxExtent)));
}

// The interleaved products. Layouts (MXNet's): queries_keys_values (L, B, heads * 3 * D) with q, k, v
// interleaved per head; queries (Lq, B, heads * D); keys_values (Lk, B, heads * 2 * D); attention
// (B * heads, Lq, Lk), batch-major. `parts` is how many projections share the last axis.
int64_t head_dim(const InferArgs& a, const Shape& s, const char* input, int64_t parts) {
  const int64_t heads = a.attrs.i("heads");
  if (s.size() != 3)
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": ", input, " must be 3-d (seq_length, batch, proj), got ", shape_str(s));
  if (s[2] % (parts * heads) != 0)
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": ", input, " ", shape_str(s), ": the last axis must be a multiple of ", parts,
         " * heads = ", parts * heads);
  return s[2] / (parts * heads);
}

void check_attention(const InferArgs& a, const Shape& att, int64_t batch, int64_t lq, int64_t lk) {
  const Shape want{batch * a.attrs.i("heads"), lq, lk};
  if (att != want)
    fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": attention is ", shape_str(att), " but must be ", shape_str(want),
         " (batch * heads, query length, key length)");
}

OpSchema interleaved(const std::string& name, const std::string& doc, std::vector<std::string> inputs) {
  OpSchema s;
  s.name = "_contrib_interleaved_matmul_" + name;
  s.doc = doc;
  s.inputs = std::move(inputs);
  s.params = {heads_param()};
  // 16-bit inputs are computed in float32 by the core (promotion).
  s.dtypes = {MX_FLOAT32, MX_FLOAT64};
  s.infer_type = same_dtype;
  return s;
}

// The gradient-only op of an interleaved product: inputs (out_grad, the forward's inputs), one
// output per forward input, shaped like it.
OpSchema interleaved_backward(const std::string& name, std::vector<std::string> inputs) {
  OpSchema g;
  g.name = "_backward_interleaved_matmul_" + name;
  g.doc = "Gradient of _contrib_interleaved_matmul_" + name + " with respect to each of its inputs.";
  g.inputs = std::move(inputs);
  g.num_outputs = int(g.inputs.size()) - 1;
  g.params = {heads_param()};
  g.dtypes = {MX_FLOAT32, MX_FLOAT64};
  g.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    out.assign(a.in_shapes.begin() + 1, a.in_shapes.end());
  };
  g.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    out.assign(a.in_dtypes.begin() + 1, a.in_dtypes.end());
  };
  g.gradient = no_gradient;
  return g;
}

// Forward gradient: the backward op on (out_grad, inputs...), one gradient per input.
std::vector<GradValue> via_backward(const GradArgs& a, const std::string& name) {
  std::vector<GradValue> in = {a.out_grads[0]};
  in.insert(in.end(), a.inputs.begin(), a.inputs.end());
  return a.g.call_all("_backward_interleaved_matmul_" + name, in, {{"heads", a.attrs.str("heads")}});
}

void register_interleaved(Registry& r) {
  {
    OpSchema s = interleaved("selfatt_qk",
                             "Per (batch, head): q k^T / sqrt(head_dim) from interleaved (L, B, heads * 3 * D) "
                             "projections; output (B * heads, L, L).",
                             {"queries_keys_values"});
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& q = a.in_shapes[0];
      head_dim(a, q, "queries_keys_values", 3);
      out = {Shape{q[1] * a.attrs.i("heads"), q[0], q[0]}};
    };
    s.gradient = [](const GradArgs& a) { return via_backward(a, "selfatt_qk"); };
    r.add(std::move(s));
    r.add(interleaved_backward("selfatt_qk", {"out_grad", "queries_keys_values"}));
  }
  {
    OpSchema s = interleaved("selfatt_valatt",
                             "Per (batch, head): attention v, from interleaved (L, B, heads * 3 * D) projections and "
                             "attention (B * heads, L, L); output (L, B, heads * D).",
                             {"queries_keys_values", "attention"});
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& q = a.in_shapes[0];
      const int64_t d = head_dim(a, q, "queries_keys_values", 3);
      check_attention(a, a.in_shapes[1], q[1], q[0], q[0]);
      out = {Shape{q[0], q[1], a.attrs.i("heads") * d}};
    };
    s.gradient = [](const GradArgs& a) { return via_backward(a, "selfatt_valatt"); };
    r.add(std::move(s));
    r.add(interleaved_backward("selfatt_valatt", {"out_grad", "queries_keys_values", "attention"}));
  }
  {
    OpSchema s = interleaved("encdec_qk",
                             "Per (batch, head): q k^T / sqrt(head_dim), q from queries (Lq, B, heads * D), k from "
                             "interleaved keys_values (Lk, B, heads * 2 * D); output (B * heads, Lq, Lk).",
                             {"queries", "keys_values"});
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape &q = a.in_shapes[0], &kv = a.in_shapes[1];
      const int64_t d = head_dim(a, q, "queries", 1);
      if (head_dim(a, kv, "keys_values", 2) != d || kv[1] != q[1])
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": keys_values ", shape_str(kv), " does not match queries ", shape_str(q),
             " (same batch, last axis twice the queries')");
      out = {Shape{q[1] * a.attrs.i("heads"), q[0], kv[0]}};
    };
    s.gradient = [](const GradArgs& a) { return via_backward(a, "encdec_qk"); };
    r.add(std::move(s));
    r.add(interleaved_backward("encdec_qk", {"out_grad", "queries", "keys_values"}));
  }
  {
    OpSchema s = interleaved("encdec_valatt",
                             "Per (batch, head): attention v, v from interleaved keys_values (Lk, B, heads * 2 * D), "
                             "attention (B * heads, Lq, Lk); output (Lq, B, heads * D).",
                             {"keys_values", "attention"});
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape &kv = a.in_shapes[0], &att = a.in_shapes[1];
      const int64_t d = head_dim(a, kv, "keys_values", 2);
      if (att.size() != 3)
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": attention must be 3-d (batch * heads, Lq, Lk), got ", shape_str(att));
      check_attention(a, att, kv[1], att[1], kv[0]);
      out = {Shape{att[1], kv[1], a.attrs.i("heads") * d}};
    };
    s.gradient = [](const GradArgs& a) { return via_backward(a, "encdec_valatt"); };
    r.add(std::move(s));
    r.add(interleaved_backward("encdec_valatt", {"out_grad", "keys_values", "attention"}));
  }
}

}  // namespace

void register_contrib(Registry& r) {
  {
    OpSchema s;
    s.name = "_contrib_index_copy";
    s.doc = "A copy of old_tensor whose rows index_vector[i] are new_tensor[i] (indices must be in range).";
    s.inputs = {"old_tensor", "index_vector", "new_tensor"};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape &old = a.in_shapes[0], &idx = a.in_shapes[1], &nw = a.in_shapes[2];
      if (old.empty() || idx.size() != 1 || nw.size() != old.size() || nw[0] != idx[0] ||
          !std::equal(old.begin() + 1, old.end(), nw.begin() + 1))
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": old_tensor ", shape_str(old), ", index_vector ", shape_str(idx),
             ", new_tensor ", shape_str(nw), ": index_vector must be 1-d and new_tensor (len(index_vector),) + "
             "old_tensor.shape[1:]");
      out = {old};
    };
    s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
      if (a.in_dtypes[0] != a.in_dtypes[2])
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": old_tensor is ", dtype_info(a.in_dtypes[0]).name, " but new_tensor is ",
             dtype_info(a.in_dtypes[2]).name);
      if (a.in_dtypes[1] == MX_BOOL) fail(MX_ERR_UNSUPPORTED, a.op.name, ": index_vector must be numeric, not bool");
      out = {a.in_dtypes[0]};
    };
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const GradValue og = a.out_grads[0], idx = a.inputs[1];
      // Rows that were replaced get no gradient in old_tensor; new_tensor gets theirs.
      const GradValue d_old = d.op("_contrib_index_copy", {og, idx, d.op("zeros_like", {a.inputs[2]})});
      const GradValue d_new = d.op("take", {og, idx}, {{"axis", "0"}});
      return std::vector<GradValue>{d_old, kNoGrad, d_new};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_contrib_index_array";
    s.doc = "int64 array of shape data.shape + (k,): the coordinates of each element along `axes` (None: all k axes).";
    s.inputs = {"data"};
    s.params = {param_axes("axes", "None", "the axes whose coordinates are listed (negative counts from the end)")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      const Shape& d = a.in_shapes[0];
      Shape o = d;
      if (a.attrs.is_none("axes")) {
        o.push_back(int64_t(d.size()));
      } else {
        const Shape axes = a.attrs.shape("axes");
        for (int64_t ax : axes) axis_of(a.op.name, ax, d.size());
        o.push_back(int64_t(axes.size()));
      }
      out = {o};
    };
    s.infer_type = [](const InferArgs&, std::vector<int32_t>& out) { out = {MX_INT64}; };
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_contrib_div_sqrt_dim";
    s.doc = "data / sqrt(data.shape[-1]).";
    s.inputs = {"data"};
    s.dtypes = float_dtypes();
    s.inplace = {{0, 0}};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      if (a.in_shapes[0].empty()) fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": data must have at least one axis");
      out = {a.in_shapes[0]};
    };
    s.infer_type = first_type;
    // Linear: the gradient is the same scaling of out_grad (same shape).
    s.gradient = [](const GradArgs& a) {
      return std::vector<GradValue>{a.g.call("_contrib_div_sqrt_dim", {a.out_grads[0]})};
    };
    r.add(std::move(s));
  }
  {
    OpSchema s;
    s.name = "_contrib_quadratic";
    s.doc = "a * data^2 + b * data + c, elementwise.";
    s.inputs = {"data"};
    s.params = {param_float("a", "0", "coefficient of the quadratic term"),
                param_float("b", "0", "coefficient of the linear term"), param_float("c", "0", "constant term")};
    s.dtypes = float_dtypes();
    s.inplace = {{0, 0}};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) { out = {a.in_shapes[0]}; };
    s.infer_type = first_type;
    s.gradient = [](const GradArgs& a) {
      Grad d{a.g};
      const GradValue slope = d.scalar("_plus_scalar", d.scalar("_mul_scalar", a.inputs[0], 2 * a.attrs.f("a")), a.attrs.f("b"));
      return std::vector<GradValue>{d.mul(a.out_grads[0], slope)};
    };
    r.add(std::move(s));
  }
  {
    // The number of selected rows is known only once index's values are: the core infers shapes
    // from shapes alone (imperatively too), so the op reports that instead of guessing a size.
    OpSchema s;
    s.name = "_contrib_boolean_mask";
    s.doc = "The rows (along axis) of data where index is nonzero. Not supported: its output shape depends on "
            "index's values, which shape inference here never sees.";
    s.inputs = {"data", "index"};
    s.params = {param_axis("axis", "0", "the axis selected along")};
    s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      (void)out;
      fail(MX_ERR_UNSUPPORTED, a.op.name, ": the output shape depends on the values of 'index' (data ",
           shape_str(a.in_shapes[0]), ", index ", shape_str(a.in_shapes[1]),
           "), and shapes here are inferred before any value is known; select the rows with take(data, indices) "
           "using the indices of index's nonzero entries instead");
    };
    s.infer_type = first_type;
    s.gradient = no_gradient;
    r.add(std::move(s));
  }
  register_interleaved(r);
}

}  // namespace mx::op
