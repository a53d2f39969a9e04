// Shape ops. Reshape follows MXNet's codes: 0 copies the input dim, -1 infers one dim, -2 copies
// all remaining dims, -3 merges two consecutive dims, -4 splits one dim into the next two values.
#include "base/error.h"
#include "op/defs/defs.h"

namespace mx::op {
namespace {

Shape reshape_target(const std::string& op, const Shape& in, const Shape& spec) {
  auto bad = [&](const std::string& why) -> Shape {
    fail(MX_ERR_SHAPE_MISMATCH, op, ": cannot reshape ", shape_str(in), " with shape=", shape_str(spec), ": ", why);
  };
  Shape out;
  int infer = -1;
  size_t src = 0;
  for (size_t i = 0; i < spec.size(); ++i) {
    const int64_t c = spec[i];
    if (c > 0) {
      out.push_back(c);
      ++src;
    } else if (c == 0) {
      if (src >= in.size()) return bad("0 refers past the input's dims");
      out.push_back(in[src++]);
    } else if (c == -1) {
      if (infer >= 0) return bad("more than one -1");
      infer = int(out.size());
      out.push_back(1);
      ++src;
    } else if (c == -2) {
      while (src < in.size()) out.push_back(in[src++]);
    } else if (c == -3) {
      if (src + 1 >= in.size()) return bad("-3 needs two input dims");
      out.push_back(dims_product(in, src, src + 2, op));
      src += 2;
    } else if (c == -4) {
      if (i + 2 >= spec.size() || src >= in.size()) return bad("-4 needs an input dim and two values");
      int64_t a = spec[i + 1], b = spec[i + 2];
      const int64_t d = in[src++];
      if (a == -1 && b > 0) a = d / b;
      if (b == -1 && a > 0) b = d / a;
      int64_t ab = 0;
      if (a <= 0 || b <= 0 || !mul_size(a, b, &ab) || ab != d) return bad("-4 split does not match the dim");
      out.push_back(a);
      out.push_back(b);
      i += 2;
    } else {
      return bad("unknown code");
    }
  }
  const int64_t total = shape_size(in);
  // Counted exactly: a product that wraps around must never pass for the input's count.
  int64_t known = 0;
  if (!exact_product(out, &known, infer))
    return bad(str_cat("the target has more than 2^63-1 elements, the input ", total));
  if (infer >= 0) {
    if (known == 0 || total % known != 0) return bad("-1 cannot be inferred");
    out[size_t(infer)] = total / known;
  } else if (known != total) {
    return bad(str_cat("sizes differ (", known, " vs ", total, ")"));
  }
  return out;
}

}  // namespace

void register_shape(Registry& r) {
  OpSchema s;
  s.name = "Reshape";
  s.aliases = {"reshape"};
  s.doc = "The same elements in another shape (codes 0, -1, -2, -3, -4 as in MXNet).";
  s.inputs = {"data"};
  ParamSpec shape = param_required(param_shape("shape", "", "target shape, with MXNet's special codes"));
  shape.min = -4;
  s.params = {shape, param_bool("reverse", "False", "accepted for compatibility; must be False")};
  s.infer_shape = [](const InferArgs& a, std::vector<Shape>& out) {
    if (a.attrs.b("reverse")) fail(MX_ERR_UNSUPPORTED, "Reshape: reverse=True is not supported yet");
    out = {reshape_target(a.op.name, a.in_shapes[0], a.attrs.shape("shape"))};
  };
  s.infer_type = [](const InferArgs& a, std::vector<int32_t>& out) { out = {a.in_dtypes[0]}; };
  s.gradient = [](const GradArgs& a) {
    return std::vector<GradValue>{Grad{a.g}.op("Reshape", {a.out_grads[0]}, {{"shape", shape_str(a.in_shapes[0])}})};
  };
  r.add(std::move(s));
}

}  // namespace mx::op
