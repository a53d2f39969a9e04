// The broadcast family: binary ops with numpy broadcasting (MXNet's broadcast_* and their _mod …
// _logical_xor names), where, and broadcast_like, which with _sum_to_like (reduce.cc) builds the
// gradients of broadcasting (each is the other's gradient).
#include "base/dtype.h"
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {

Shape broadcast_shapes(const std::string& op, const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out;
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i + a.size() >= n ? a[i + a.size() - n] : 1;
    const int64_t db = i + b.size() >= n ? b[i + b.size() - n] : 1;
    if (da != db && da != 1 && db != 1)
      fail(MX_ERR_SHAPE_MISMATCH, op, ": shapes ", shape_str(a), " and ", shape_str(b),
           " cannot be broadcast together (axis ", int(i) - int(n), ": ", da, " vs ", db, ")");
    out.push_back(da == 1 ? db : da);
  }
  return out;
}

namespace {

using GradFn = std::function<std::vector<GradValue>(const GradArgs&)>;

// Broadcasting on partially known shapes (both ranks known): an output dim is known where the
// known dims decide it (a known dim other than 1 wins), and an input's unknown dim is the output's
// where the other input's is 1 or the output's is 1.
void broadcast_partial(const PartialInferArgs& a) {
  if (!a.in[0] || !a.in[1]) return;
  const Shape &x = *a.in[0], &y = *a.in[1];
  const size_t n = std::max(x.size(), y.size());
  auto dim = [n](const Shape& s, size_t i) -> int64_t { return i + s.size() >= n ? s[i + s.size() - n] : 1; };
  Shape o;
  for (size_t i = 0; i < n; ++i) {
    const int64_t dx = dim(x, i), dy = dim(y, i);
    if (dx == kUnknownDim || dy == kUnknownDim) {
      const int64_t known = dx == kUnknownDim ? dy : dx;
      o.push_back(known == kUnknownDim || known == 1 ? kUnknownDim : known);
    } else if (dx != dy && dx != 1 && dy != 1) {
      fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": shapes ", partial_str(x), " and ", partial_str(y),
           " cannot be broadcast together (axis ", int(i) - int(n), ": ", dx, " vs ", dy, ")");
    } else {
      o.push_back(dx == 1 ? dy : dx);
    }
  }
  unify(a.out[0], PartialShape(o), a.op.name, "the broadcast of the inputs", "the output");
  const Shape& out = *a.out[0];
  for (size_t j = 0; j < 2; ++j) {
    Shape me = *a.in[j];
    const Shape& other = *a.in[1 - j];
    for (size_t k = 0; k < me.size(); ++k) {
      const size_t i = k + n - me.size();
      if (me[k] == kUnknownDim && out[i] != kUnknownDim && (out[i] == 1 || dim(other, i) == 1)) me[k] = out[i];
    }
    a.in[j] = me;
  }
}


// Gradient parts reduced back to each input's shape.
std::vector<GradValue> to_inputs(Grad& d, const GradArgs& a, GradValue gl, GradValue gr) {
  return {gl == kNoGrad ? kNoGrad : d.op("_sum_to_like", {gl, a.inputs[0]}),
          gr == kNoGrad ? kNoGrad : d.op("_sum_to_like", {gr, a.inputs[1]})};
}

void bin(Registry& r, const std::string& name, std::vector<std::string> aliases, const std::string& doc,
         const std::vector<int32_t>& dtypes, GradFn grad) {
  OpSchema s;
  s.name = name;
  s.aliases = std::move(aliases);
  s.doc = doc + " Inputs broadcast as in numpy.";
  s.inputs = {"lhs", "rhs"};
  s.dtypes = dtypes;
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    out = {broadcast_shapes(a.op.name, a.in_shapes[0], a.in_shapes[1])};
  };
  s.infer_shape_partial = broadcast_partial;
  s.infer_type = same_dtype;
  s.gradient = std::move(grad);
  r.add(std::move(s));
}

}  // namespace

void register_broadcast(Registry& r) {
  const auto& num = numeric_dtypes();
  bin(r, "broadcast_add", {"broadcast_plus"}, "lhs + rhs.", num, [](const GradArgs& a) {
    Grad d{a.g};
    return to_inputs(d, a, a.out_grads[0], a.out_grads[0]);
  });
  bin(r, "broadcast_sub", {"broadcast_minus"}, "lhs - rhs.", num, [](const GradArgs& a) {
    Grad d{a.g};
    return to_inputs(d, a, a.out_grads[0], d.neg(a.out_grads[0]));
  });
  bin(r, "broadcast_mul", {}, "lhs * rhs.", num, [](const GradArgs& a) {
    Grad d{a.g};
    const GradValue og = a.out_grads[0];
    return to_inputs(d, a, d.op("broadcast_mul", {og, a.inputs[1]}), d.op("broadcast_mul", {og, a.inputs[0]}));
  });
  bin(r, "broadcast_div", {}, "lhs / rhs.", num, [](const GradArgs& a) {
    Grad d{a.g};
    const GradValue og = a.out_grads[0];
    const GradValue gl = d.op("broadcast_div", {og, a.inputs[1]});
    return to_inputs(d, a, gl, d.neg(d.op("broadcast_div", {d.mul(og, a.outputs[0]), a.inputs[1]})));
  });
  bin(r, "broadcast_mod", {}, "lhs mod rhs, with the sign of rhs (as numpy and MXNet).", num, [](const GradArgs& a) {
    Grad d{a.g};  // lhs - floor(lhs / rhs) * rhs
    const GradValue og = a.out_grads[0];
    const GradValue q = d.op("floor", {d.op("broadcast_div", {a.inputs[0], a.inputs[1]})});
    return to_inputs(d, a, og, d.neg(d.mul(og, q)));
  });
  bin(r, "broadcast_power", {}, "lhs ** rhs.", float_dtypes(), [](const GradArgs& a) {
    Grad d{a.g};
    const GradValue og = a.out_grads[0], l = a.inputs[0], rr = a.inputs[1], y = a.outputs[0];
    // d/dl = r * y / l ; d/dr = y * log(l)
    const GradValue gl = d.mul(og, d.op("broadcast_div", {d.op("broadcast_mul", {y, rr}), l}));
    const GradValue gr = d.mul(og, d.op("broadcast_mul", {y, d.op("log", {l})}));
    return to_inputs(d, a, gl, gr);
  });
  auto pick = [](bool max) {
    return [max](const GradArgs& a) {
      Grad d{a.g};  // the gradient goes to the chosen side; ties go to lhs
      const GradValue og = a.out_grads[0];
      const GradValue ml = d.op(max ? "broadcast_greater_equal" : "broadcast_lesser_equal", {a.inputs[0], a.inputs[1]});
      const GradValue mr = d.scalar("_rminus_scalar", ml, 1);
      return to_inputs(d, a, d.op("broadcast_mul", {og, ml}), d.op("broadcast_mul", {og, mr}));
    };
  };
  bin(r, "broadcast_maximum", {}, "max(lhs, rhs).", num, pick(true));
  bin(r, "broadcast_minimum", {}, "min(lhs, rhs).", num, pick(false));
  const char* cmp[][2] = {{"broadcast_equal", "lhs == rhs"},          {"broadcast_not_equal", "lhs != rhs"},
                          {"broadcast_greater", "lhs > rhs"},         {"broadcast_greater_equal", "lhs >= rhs"},
                          {"broadcast_lesser", "lhs < rhs"},          {"broadcast_lesser_equal", "lhs <= rhs"},
                          {"broadcast_logical_and", "lhs and rhs"},   {"broadcast_logical_or", "lhs or rhs"},
                          {"broadcast_logical_xor", "lhs xor rhs"}};
  for (auto& c : cmp) bin(r, c[0], {}, std::string(c[1]) + ", as 1 or 0 in the inputs' dtype.", num, no_gradient);

  // Same-shape forms (MXNet's _mod, _power, _maximum, _equal, …): broadcast kernels with equal
  // shapes, and the broadcast forms' gradients.
  const char* same[][2] = {{"_mod", "broadcast_mod"},         {"_power", "broadcast_power"},
                           {"_maximum", "broadcast_maximum"}, {"_minimum", "broadcast_minimum"},
                           {"_equal", "broadcast_equal"},     {"_not_equal", "broadcast_not_equal"},
                           {"_greater", "broadcast_greater"}, {"_greater_equal", "broadcast_greater_equal"},
                           {"_lesser", "broadcast_lesser"},   {"_lesser_equal", "broadcast_lesser_equal"},
                           {"_logical_and", "broadcast_logical_and"}, {"_logical_or", "broadcast_logical_or"},
                           {"_logical_xor", "broadcast_logical_xor"}};
  for (auto& [name, bname] : same) {
    const OpSchema* b = r.find(bname);
    OpSchema s2;
    s2.name = name;
    s2.doc = b->doc.substr(0, b->doc.find(" Inputs broadcast")) + " Both inputs must have the same shape.";
    s2.inputs = {"lhs", "rhs"};
    s2.dtypes = b->dtypes;
    s2.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
      if (a.in_shapes[0] != a.in_shapes[1])
        fail(MX_ERR_SHAPE_MISMATCH, a.op.name, ": shapes of lhs ", shape_str(a.in_shapes[0]), " and rhs ",
             shape_str(a.in_shapes[1]), " differ (use broadcast_* ops to broadcast)");
      out = {a.in_shapes[0]};
    };
    s2.infer_shape_partial = same_shape_partial;
    s2.infer_type = same_dtype;
    s2.gradient = b->gradient;
    r.add(std::move(s2));
  }

  OpSchema where;
  where.name = "where";
  where.doc = "x where condition is non-zero, else y (all three of one shape).";
  where.inputs = {"condition", "x", "y"};
  where.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.in_shapes[1] != a.in_shapes[2] || a.in_shapes[0] != a.in_shapes[1])
      fail(MX_ERR_SHAPE_MISMATCH, "where: condition ", shape_str(a.in_shapes[0]), ", x ", shape_str(a.in_shapes[1]),
           " and y ", shape_str(a.in_shapes[2]), " must have one shape");
    out = {a.in_shapes[1]};
  };
  where.infer_shape_partial = same_shape_partial;
  where.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) {
    if (a.in_dtypes[1] != a.in_dtypes[2])
      fail(MX_ERR_SHAPE_MISMATCH, "where: x is ", dtype_info(a.in_dtypes[1]).name, " but y is ", dtype_info(a.in_dtypes[2]).name);
    out = {a.in_dtypes[1]};
  };
  where.gradient = [](const GradArgs& a) {
    Grad d{a.g};
    const GradValue og = a.out_grads[0], zero = d.op("zeros_like", {og});
    return std::vector<GradValue>{kNoGrad, d.op("where", {a.inputs[0], og, zero}), d.op("where", {a.inputs[0], zero, og})};
  };
  r.add(std::move(where));

  OpSchema like;
  like.name = "broadcast_like";
  like.doc = "Broadcasts lhs to the shape of rhs.";
  like.inputs = {"lhs", "rhs"};
  like.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (broadcast_shapes(a.op.name, a.in_shapes[0], a.in_shapes[1]) != a.in_shapes[1])
      fail(MX_ERR_SHAPE_MISMATCH, "broadcast_like: ", shape_str(a.in_shapes[0]), " does not broadcast to ",
           shape_str(a.in_shapes[1]));
    out = {a.in_shapes[1]};
  };
  like.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  like.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("_sum_to_like", {a.out_grads[0], a.inputs[0]}), kNoGrad};
  };
  r.add(std::move(like));
}

}  // namespace mx::op
